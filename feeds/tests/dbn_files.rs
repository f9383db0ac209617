//! DBN decoding on the real Databento test files in `shared/data/dbn` (GLBX.MDP3 ESH1,
//! instrument 5482, 2020-12-28), the MBP-10 writer round trip, and bad input.

use std::io::Write;
use std::path::{Path, PathBuf};

use dbn::{MboMsg, Mbp10Msg, Mbp1Msg, SType, Schema, TradeMsg};
use mia_feeds::dbn_source::{DbnFileSource, DbnOptions, DbnReader, Mbp10IterSource};
use mia_feeds::dbn_write::write_mbp10_dbn;
use mia_model::book::{Book, Level};
use mia_model::event::{flags, Event, EventKind, Side};
use mia_runtime::source::{EventSource, SourceError};

const IID: u32 = 5482;

fn data(name: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/dbn")).join(name)
}

fn all_events(src: &mut impl EventSource) -> Result<Vec<Event>, SourceError> {
    let mut v = Vec::new();
    while let Some(e) = src.next_event()? {
        v.push(e);
    }
    Ok(v)
}

fn file_events(path: &Path) -> Result<Vec<Event>, SourceError> {
    all_events(&mut DbnFileSource::open(path)?)
}

/// All records of an MBP-10 file, owned.
fn mbp10_records(path: &Path) -> Vec<Mbp10Msg> {
    let mut r = DbnReader::open(path).expect("open");
    let mut v = Vec::new();
    while let Some(rec) = r.next_record().expect("record") {
        if let Some(m) = rec.get::<Mbp10Msg>() {
            v.push(m.clone());
        }
    }
    v
}

fn px(points: f64) -> i64 {
    (points * 1e9).round() as i64
}

/// The book after applying `events`, checking at every `LAST` event that it equals the record
/// the event came from (records in order).
fn assert_book_tracks_records(events: &[Event], recs: &[Mbp10Msg]) {
    let mut book = Book::new();
    let mut i = 0;
    for e in events {
        book.apply(e);
        if e.is_last() {
            let rec = &recs[i];
            for d in 0..10 {
                let l = &rec.levels[d];
                let bid = if l.bid_sz == 0 {
                    Level::EMPTY
                } else {
                    Level { price: l.bid_px, size: l.bid_sz, count: l.bid_ct }
                };
                let ask = if l.ask_sz == 0 {
                    Level::EMPTY
                } else {
                    Level { price: l.ask_px, size: l.ask_sz, count: l.ask_ct }
                };
                assert_eq!(book.bid(d), bid, "record {i} bid depth {d}");
                assert_eq!(book.ask(d), ask, "record {i} ask depth {d}");
            }
            i += 1;
        }
    }
    assert_eq!(i, recs.len(), "every record ends with a LAST event");
}

#[test]
fn mbo_file_first_record_and_events() {
    let path = data("test_data.mbo.dbn");
    let mut r = DbnReader::open(&path).unwrap();
    assert_eq!(r.metadata().schema, Some(Schema::Mbo));
    assert_eq!(r.metadata().dataset, "GLBX.MDP3");
    let rec = r.next_record().unwrap().unwrap();
    let m = rec.get::<MboMsg>().unwrap();
    assert_eq!(m.ts_recv, 1_609_160_400_000_704_060);
    assert_eq!(m.action as u8, b'C');
    assert_eq!(m.side as u8, b'A');
    assert_eq!(m.price, 3_722_750_000_000);
    assert_eq!(m.size, 1);
    assert_eq!(m.order_id, 647_784_973_705);
    assert_eq!(m.flags.raw(), flags::LAST);
    assert_eq!(m.sequence, 1_170_352);
    assert_eq!(m.hd.instrument_id, IID);
    let mut n = 1;
    while r.next_record().unwrap().is_some() {
        n += 1;
    }
    assert_eq!(n, 2);

    // Through the source: the file starts mid-stream (no snapshot), so its cancels refer to
    // unknown orders: counted, no phantom level, no panic.
    let mut src = DbnFileSource::open(&path).unwrap();
    assert_eq!(src.schema(), Schema::Mbo);
    let events = all_events(&mut src).unwrap();
    assert_eq!(src.records_read(), 2);
    let stats = src.mbo_stats().unwrap();
    assert_eq!(stats.unknown_order, 2, "{stats:?}");
    assert_eq!(stats.errors(), 2, "{stats:?}");
    // Each record reaches the venue as its raw `Mbo` event; no derived (book) event.
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(events.iter().all(|e| e.kind == EventKind::Mbo && !e.is_last()), "{events:?}");
}

/// Expected (price, size, count) levels, best first.
type Levels = &'static [(f64, u32, u32)];

/// An MBO file written with Databento's encoder: clear, snapshot adds, then a trade with its
/// fill and cancel, a modify and an unknown cancel; the L2 book follows by hand.
#[test]
fn mbo_encoded_file_builds_the_l2_book() {
    use dbn::encode::{DbnEncoder, EncodeRecord};
    use dbn::{rtype, FlagSet, RecordHeader};
    let mbo = |id: u64, action: u8, side: u8, price: f64, size: u32, fl: u8| MboMsg {
        hd: RecordHeader::new::<MboMsg>(rtype::MBO, 1, IID, 1_000 + id),
        order_id: id,
        price: px(price),
        size,
        flags: FlagSet::new(fl),
        action: action as std::ffi::c_char,
        side: side as std::ffi::c_char,
        ts_recv: 2_000 + id,
        ..MboMsg::default()
    };
    let l = flags::LAST;
    let s = flags::SNAPSHOT;
    let mut recs = [
        mbo(0, b'R', b'N', 0.0, 0, s),
        mbo(1, b'A', b'B', 3720.25, 10, s),
        mbo(2, b'A', b'B', 3720.25, 14, s),
        mbo(3, b'A', b'B', 3720.00, 5, s),
        mbo(4, b'A', b'A', 3720.50, 10, s | l),
        mbo(0, b'T', b'A', 3720.25, 4, 0),
        mbo(1, b'F', b'B', 3720.25, 4, 0),
        mbo(1, b'C', b'B', 3720.25, 4, l),
        mbo(4, b'M', b'A', 3720.75, 8, l),
        mbo(99, b'C', b'A', 3721.00, 1, l),
    ];
    for (i, r) in recs.iter_mut().enumerate() {
        r.hd.ts_event = 1_000 + i as u64;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("book.mbo.dbn");
    let meta = dbn::Metadata::builder()
        .dataset("GLBX.MDP3")
        .schema(Some(Schema::Mbo))
        .start(0)
        .stype_in(Some(SType::RawSymbol))
        .stype_out(SType::InstrumentId)
        .build();
    let mut enc = DbnEncoder::new(std::fs::File::create(&path).unwrap(), &meta).unwrap();
    for r in &recs {
        enc.encode_record(r).unwrap();
    }
    drop(enc);
    let mut src = DbnFileSource::open(&path).unwrap();
    let events = all_events(&mut src).unwrap();
    let mut book = Book::new();
    let mut checks = 0;
    for e in &events {
        book.apply(e);
        if !e.is_last() {
            continue;
        }
        let (bids, asks): (Levels, Levels) = match e.ts_event - 1_000 {
            4 => (&[(3720.25, 24, 2), (3720.00, 5, 1)], &[(3720.50, 10, 1)]),
            7 => (&[(3720.25, 20, 2), (3720.00, 5, 1)], &[(3720.50, 10, 1)]),
            8 => (&[(3720.25, 20, 2), (3720.00, 5, 1)], &[(3720.75, 8, 1)]),
            other => panic!("unexpected LAST event from record {other}"),
        };
        for d in 0..10 {
            let want = |v: &[(f64, u32, u32)]| {
                v.get(d).map_or(Level::EMPTY, |&(p, s, c)| Level { price: px(p), size: s, count: c })
            };
            assert_eq!(book.bid(d), want(bids), "bid {d} after {e:?}");
            assert_eq!(book.ask(d), want(asks), "ask {d} after {e:?}");
        }
        checks += 1;
    }
    // LAST events: end of snapshot, the cancel after the fill, the modify. The unknown cancel
    // closes nothing (no open exchange event) and emits nothing.
    assert_eq!(checks, 3);
    assert_eq!((events[0].kind, events[0].depth), (EventKind::Mbo, b'R'), "the raw record first");
    assert_eq!(events[1].kind, EventKind::Clear);
    assert_eq!(events.iter().filter(|e| e.kind == EventKind::Mbo).count(), recs.len());
    let trades: Vec<&Event> = events.iter().filter(|e| e.kind == EventKind::Trade).collect();
    assert_eq!(trades.len(), 1);
    assert_eq!((trades[0].side, trades[0].price, trades[0].size), (Side::Ask, px(3720.25), 4));
    assert_eq!(src.mbo_stats().unwrap().unknown_order, 1);
    assert_eq!(src.records_read(), recs.len() as u64);
}

#[test]
fn mbp10_file_first_record_and_book() {
    let path = data("test_data.mbp-10.dbn");
    let recs = mbp10_records(&path);
    assert_eq!(recs.len(), 2);
    let r0 = &recs[0];
    assert_eq!(r0.ts_recv, 1_609_160_400_000_704_060);
    assert_eq!((r0.levels[0].bid_px, r0.levels[0].bid_sz), (px(3720.25), 24));
    assert_eq!((r0.levels[0].ask_px, r0.levels[0].ask_sz), (px(3720.50), 10));

    let mut src = DbnFileSource::open(&path).unwrap();
    assert_eq!(src.schema(), Schema::Mbp10);
    assert_eq!(src.describe(), path.display().to_string());
    let events = all_events(&mut src).unwrap();
    // The first record sets all ten levels of each side: 20 level events, LAST on the 20th.
    let first: Vec<&Event> = events.iter().take_while(|e| !e.is_last()).collect();
    assert_eq!(first.len(), 19);
    let e20 = &events[19];
    assert!(e20.is_last());
    assert!(events[..20].iter().all(|e| e.kind == EventKind::Level
        && e.ts_event == r0.hd.ts_event
        && e.ts_recv == r0.ts_recv
        && e.instrument_id == IID
        && e.seq == 0));
    assert_eq!(events[0], {
        let mut e =
            Event::level(r0.hd.ts_event, r0.ts_recv, Side::Bid, 0, px(3720.25), 24, r0.levels[0].bid_ct, 0);
        e.instrument_id = IID;
        e
    });
    let mut book = Book::new();
    for e in &events[..20] {
        book.apply(e);
    }
    assert_eq!(book.bid(0).price, px(3720.25));
    assert_eq!(book.bid(0).size, 24);
    assert_eq!(book.ask(0).price, px(3720.50));
    assert_eq!(book.ask(0).size, 10);
    for d in 0..10 {
        assert!(!book.bid(d).is_empty() && !book.ask(d).is_empty(), "ten levels each side");
    }
    assert_book_tracks_records(&events, &recs);
}

#[test]
fn mbp1_and_tbbo_files() {
    for (name, schema) in [("test_data.mbp-1.dbn", Schema::Mbp1), ("test_data.tbbo.dbn", Schema::Tbbo)] {
        let path = data(name);
        let mut r = DbnReader::open(&path).unwrap();
        let rec = r.next_record().unwrap().unwrap();
        let m = rec.get::<Mbp1Msg>().unwrap().clone();
        let mut src = DbnFileSource::open(&path).unwrap();
        assert_eq!(src.schema(), schema);
        let events = all_events(&mut src).unwrap();
        assert_eq!(src.records_read(), 2, "{name}");
        // The first record sets the top of book from nothing.
        let lv = &m.levels[0];
        let bid = events.iter().find(|e| e.kind == EventKind::Level && e.side == Side::Bid).unwrap();
        let ask = events.iter().find(|e| e.kind == EventKind::Level && e.side == Side::Ask).unwrap();
        assert_eq!((bid.price, bid.size, bid.count, bid.depth), (lv.bid_px, lv.bid_sz, lv.bid_ct, 0));
        assert_eq!((ask.price, ask.size, ask.count, ask.depth), (lv.ask_px, lv.ask_sz, lv.ask_ct, 0));
        let trades = events.iter().filter(|e| e.kind == EventKind::Trade).count();
        if schema == Schema::Tbbo {
            // Per record: bid, ask (the BBO before the trade), then the trade.
            assert_eq!(trades, 2, "every TBBO record is a trade");
            assert_eq!(events.len(), 6);
            assert_eq!((events[2].price, events[2].size, events[2].side), (px(3720.25), 5, Side::Ask));
        } else {
            // Two book updates: the first sets both sides, the second one ask level.
            assert_eq!(trades, 0);
            assert_eq!(events.len(), 3);
        }
        assert!(events.iter().all(|e| e.instrument_id == IID && e.depth == 0));
        // Each record's events end with exactly one LAST when the record has LAST.
        assert!(events.last().unwrap().is_last());
    }
}

#[test]
fn trades_file_first_record() {
    let path = data("test_data.trades.dbn");
    let mut r = DbnReader::open(&path).unwrap();
    let rec = r.next_record().unwrap().unwrap();
    let t = rec.get::<TradeMsg>().unwrap().clone();
    let events = file_events(&path).unwrap();
    assert_eq!(events.len(), 2);
    let e = events[0];
    assert_eq!(e.kind, EventKind::Trade);
    assert_eq!(e.ts_recv, 1_609_160_400_099_150_057);
    assert_eq!(e.price, px(3720.25));
    assert_eq!(e.size, 5);
    assert_eq!(e.side, Side::Ask);
    assert_eq!(e.ts_event, t.hd.ts_event);
    assert_eq!(e.flags, t.flags.raw());
    assert_eq!(e.instrument_id, IID);
}

fn expect_err(res: Result<Vec<Event>, SourceError>, input: &Path, needle: &str) -> SourceError {
    let e = res.expect_err("must fail");
    assert_eq!(e.input, input.display().to_string(), "{e}");
    assert!(e.to_string().contains(needle), "{e} does not mention {needle:?}");
    e
}

#[test]
fn unsupported_schema_is_named() {
    let path = data("test_data.ohlcv-1m.dbn");
    let e = expect_err(file_events(&path), &path, "unsupported schema ohlcv-1m");
    assert_eq!(e.place, "metadata");
}

#[test]
fn missing_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope.dbn");
    let e = expect_err(file_events(&path), &path, "cannot open");
    assert_eq!(e.place, "open");
}

#[test]
fn garbage_and_empty_files() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.dbn");
    std::fs::write(&garbage, b"this is not a DBN file at all, just some text\n").unwrap();
    expect_err(file_events(&garbage), &garbage, "not a DBN file");
    let empty = dir.path().join("empty.dbn");
    std::fs::write(&empty, b"").unwrap();
    expect_err(file_events(&empty), &empty, "not a DBN file");
    let short = dir.path().join("short.dbn");
    std::fs::write(&short, b"DBN\x03\x10").unwrap();
    expect_err(file_events(&short), &short, "truncated DBN header");
}

#[test]
fn truncated_file_names_the_offset() {
    let src = data("test_data.mbp-10.dbn");
    let bytes = std::fs::read(&src).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.dbn");
    // The last record is 368 bytes: cutting 10 bytes leaves it incomplete.
    let rec_len = std::mem::size_of::<Mbp10Msg>();
    std::fs::write(&path, &bytes[..bytes.len() - 10]).unwrap();
    let e = expect_err(file_events(&path), &path, "truncated record");
    let last_start = bytes.len() - rec_len;
    assert!(e.place.contains(&format!("byte offset {last_start}")), "{e}");
    assert!(e.reason.contains(&format!("{} bytes into a record of {rec_len}", rec_len - 10)), "{e}");

    // Every possible cut: an error or a clean shorter stream, never a panic; cuts inside a
    // record always fail.
    let meta_end = bytes.len() - 2 * rec_len;
    for cut in 0..bytes.len() {
        std::fs::write(&path, &bytes[..cut]).unwrap();
        let res = file_events(&path);
        let into_records = cut.saturating_sub(meta_end) % rec_len;
        let on_boundary = cut >= meta_end && into_records == 0;
        assert_eq!(res.is_ok(), on_boundary, "cut at {cut}: {res:?}");
        if let Err(e) = res {
            assert_eq!(e.input, path.display().to_string());
        }
    }
}

#[test]
fn corrupted_header_bytes() {
    let src = data("test_data.mbp-10.dbn");
    let bytes = std::fs::read(&src).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.dbn");

    let mut b = bytes.clone();
    b[0] = b'X';
    std::fs::write(&path, &b).unwrap();
    expect_err(file_events(&path), &path, "not a DBN file");

    let mut b = bytes.clone();
    b[3] = 9;
    std::fs::write(&path, &b).unwrap();
    expect_err(file_events(&path), &path, "unsupported DBN version 9");

    let mut b = bytes.clone();
    b[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
    std::fs::write(&path, &b).unwrap();
    let e = expect_err(file_events(&path), &path, "metadata length");
    assert_eq!(e.place, "byte offset 4");

    // A record whose length byte is 0 cannot be framed.
    let meta_end = bytes.len() - 2 * std::mem::size_of::<Mbp10Msg>();
    let mut b = bytes.clone();
    b[meta_end] = 0;
    std::fs::write(&path, &b).unwrap();
    let e = expect_err(file_events(&path), &path, "corrupt record");
    assert!(e.place.contains(&format!("byte offset {meta_end}")), "{e}");

    // Every metadata byte, set to a few values: an error or a decode, never a panic.
    for i in 0..meta_end {
        for v in [0x00u8, 0x01, 0x7f, 0x80, 0xff] {
            let mut b = bytes.clone();
            b[i] = v;
            std::fs::write(&path, &b).unwrap();
            if let Err(e) = file_events(&path) {
                assert_eq!(e.input, path.display().to_string());
            }
        }
    }
    // Every record byte too (headers decide framing; bodies are data).
    for i in meta_end..bytes.len() {
        let mut b = bytes.clone();
        b[i] ^= 0xff;
        std::fs::write(&path, &b).unwrap();
        let _ = file_events(&path);
    }
}

#[test]
fn write_then_read_round_trip() {
    let src = data("test_data.mbp-10.dbn");
    let recs = mbp10_records(&src);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.mbp-10.dbn");
    let start = recs[0].hd.ts_event;
    let end = recs[1].hd.ts_event + 1;
    let n = write_mbp10_dbn(&path, "GLBX.MDP3", "ESH1", IID, start, end, recs.clone().into_iter()).unwrap();
    assert_eq!(n, 2);

    let original = file_events(&src).unwrap();
    let written = file_events(&path).unwrap();
    assert_eq!(written, original);

    let r = DbnReader::open(&path).unwrap();
    let m = r.metadata();
    assert_eq!(m.version, dbn::DBN_VERSION);
    assert_eq!(m.schema, Some(Schema::Mbp10));
    assert_eq!(m.stype_in, Some(SType::RawSymbol));
    assert_eq!(m.stype_out, SType::InstrumentId);
    assert_eq!(m.dataset, "GLBX.MDP3");
    assert_eq!(m.symbols, vec!["ESH1".to_string()]);
    assert_eq!(m.start, start);
    assert_eq!(m.end.map(|e| e.get()), Some(end));
    assert_eq!(m.mappings.len(), 1);
    assert_eq!(m.mappings[0].raw_symbol, "ESH1");
    assert_eq!(m.mappings[0].intervals[0].symbol, IID.to_string());
    assert_eq!(m.mappings[0].intervals[0].start_date.to_string(), "2020-12-28");
    assert_eq!(m.mappings[0].intervals[0].end_date.to_string(), "2020-12-29");
    // Databento's own decoder reads it back to identical records.
    let mut dec = dbn::decode::DbnDecoder::from_file(&path).unwrap();
    use dbn::decode::DecodeRecord;
    let mut back = Vec::new();
    while let Some(rec) = dec.decode_record::<Mbp10Msg>().unwrap() {
        back.push(rec.clone());
    }
    assert_eq!(back, recs);
}

#[test]
fn zstd_compressed_file_reads_like_the_plain_one() {
    let src = data("test_data.mbp-10.dbn");
    let bytes = std::fs::read(&src).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.mbp-10.dbn.zst");
    {
        let f = std::fs::File::create(&path).unwrap();
        let mut w = dbn::encode::DynWriter::new(f, dbn::Compression::Zstd).unwrap();
        w.write_all(&bytes).unwrap();
        w.flush().unwrap();
    }
    assert_ne!(std::fs::read(&path).unwrap()[..4], bytes[..4], "really compressed");
    let r = DbnReader::open(&path).unwrap();
    assert!(r.is_compressed());
    assert_eq!(file_events(&path).unwrap(), file_events(&src).unwrap());
}

#[test]
fn mbp10_iter_source_matches_file_source() {
    let src = data("test_data.mbp-10.dbn");
    let recs = mbp10_records(&src);
    let mut it = Mbp10IterSource::new("synthetic", recs.into_iter());
    assert_eq!(it.describe(), "synthetic");
    assert_eq!(all_events(&mut it).unwrap(), file_events(&src).unwrap());
}

#[test]
fn second_instrument_is_an_error_unless_filtered() {
    let recs = mbp10_records(&data("test_data.mbp-10.dbn"));
    let mut other = recs[1].clone();
    other.hd.instrument_id = 777;
    let mixed = vec![recs[0].clone(), other, recs[1].clone()];
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mixed.dbn");
    write_mbp10_dbn(&path, "GLBX.MDP3", "ESH1", IID, 1, 2, mixed.into_iter()).unwrap();
    let e = expect_err(file_events(&path), &path, "second instrument");
    let rec_len = std::mem::size_of::<Mbp10Msg>();
    let second = std::fs::metadata(&path).unwrap().len() as usize - 2 * rec_len;
    assert_eq!(e.place, format!("record 1 at byte offset {second}"), "{e}");

    let mut f =
        DbnFileSource::open_with(&path, DbnOptions { instrument_id: Some(IID), ..DbnOptions::default() })
            .unwrap();
    let events = all_events(&mut f).unwrap();
    assert_eq!(f.skipped_records(), 1);
    assert!(events.iter().all(|e| e.instrument_id == IID));
    assert_eq!(events, file_events(&data("test_data.mbp-10.dbn")).unwrap());
}

#[test]
fn writer_rejects_malformed_records() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.dbn");
    let mut bad = mbp10_records(&data("test_data.mbp-10.dbn"))[0].clone();
    bad.hd.rtype = dbn::rtype::MBP_1;
    let e = write_mbp10_dbn(&path, "GLBX.MDP3", "ESH1", IID, 0, 1, vec![bad].into_iter()).unwrap_err();
    assert_eq!(e.place, "record 0");
    assert!(e.reason.contains("not an MBP-10 record"), "{e}");
    let e = write_mbp10_dbn(&path, "GLBX.MDP3", "ESH1", IID, 5, 1, std::iter::empty()).unwrap_err();
    assert!(e.reason.contains("before start"), "{e}");
    let e = write_mbp10_dbn(
        dir.path().join("no/such/dir.dbn"),
        "GLBX.MDP3",
        "ESH1",
        IID,
        0,
        1,
        std::iter::empty(),
    )
    .unwrap_err();
    assert_eq!(e.place, "create");
}

/// Inputs found by `cargo fuzz` (fuzz/fuzz_targets/dbn_file.rs) that once panicked inside the
/// `dbn` crate's v2→v3 record upgrade: they must now decode to events or a clean error.
#[test]
fn fuzz_regressions_do_not_panic() {
    for name in ["fuzz-v2-short-instrument-def.dbn", "fuzz-crash-2.dbn"] {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
        assert!(path.is_file(), "{name}");
        if let Ok(mut src) = DbnFileSource::open(&path) {
            let mut n = 0;
            while let Ok(Some(_)) = src.next_event() {
                n += 1;
                assert!(n < 1_000_000, "{name}: runaway");
            }
        }
    }
}
