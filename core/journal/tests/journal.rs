//! Journal integration tests: round trips, roll-over, crash recovery, repair, bad input and
//! the journal thread.

use std::alloc::System;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use mia_journal::frame::{segment_file_name, SEGMENT_HEADER_LEN};
use mia_journal::{
    spawn_journal_writer, JournalConfig, JournalError, JournalReader, JournalRecord, JournalThreadConfig,
    JournalWriter, Note, SessionEnd, SessionMeta,
};
use mia_model::event::{flags, Event, EventKind, Side};
use mia_model::msg::{
    Control, ControlKind, Direction, Envelope, ExecKind, ExecReport, Fill, Msg, OrderIntent, OrderSide,
    OrderType, Signal,
};
use mia_runtime::alloc_count::CountingAlloc;

/// Counts heap allocations per thread (tests run on several threads at once).
#[global_allocator]
static GLOBAL: CountingAlloc<System> = CountingAlloc::new(System);

/// Allocations made so far by the calling thread.
fn allocs() -> u64 {
    GLOBAL.thread_allocations()
}

const SMALL: u64 = 4096;
/// Footprint of an event record: align8(8 + 1 + 56).
const EVENT_FOOTPRINT: u64 = 72;

fn ev(i: u64) -> Msg {
    Msg::Market(Event {
        ts_event: 1_700_000_000_000_000_000 + i,
        ts_recv: 1_700_000_000_000_000_500 + i,
        seq: i,
        price: 5_000_000_000_000 + (i as i64 % 40) * 250_000_000,
        order_id: i * 3,
        size: (i % 17) as u32 + 1,
        count: (i % 5) as u32,
        instrument_id: 1,
        kind: match i % 3 {
            0 => EventKind::Trade,
            _ => EventKind::Level,
        },
        side: match i & 1 {
            0 => Side::Bid,
            _ => Side::Ask,
        },
        depth: (i % 10) as u8,
        flags: match i & 3 {
            0 => flags::LAST,
            _ => 0,
        },
    })
}

fn meta() -> SessionMeta {
    SessionMeta {
        source: "synth:es".into(),
        seed: 42,
        mode: "backtest".into(),
        config_toml: "[journal]\nsegment_size = 4096\n".into(),
        created_unix_ns: 1_700_000_000_000_000_000,
        version: "0.1.0".into(),
    }
}

fn small() -> JournalConfig {
    JournalConfig::with_segment_size(SMALL)
}

fn seg(dir: &Path, i: u32) -> PathBuf {
    dir.join(segment_file_name(i))
}

/// Simulates `kill -9`: no destructor, no flush (the mapping's pages stay in the page cache).
fn crash(w: JournalWriter) {
    std::mem::forget(w);
}

fn msgs(recs: &[JournalRecord]) -> Vec<Msg> {
    recs.iter().filter_map(|r| if let JournalRecord::Msg(m) = r { Some(*m) } else { None }).collect()
}

/// Writes `meta` + `n` events and "crashes"; returns the end offset of the last record.
fn write_and_crash(dir: &Path, n: u64) -> (PathBuf, u64) {
    let mut w = JournalWriter::create(dir, small()).unwrap();
    w.append_meta(&meta()).unwrap();
    for i in 0..n {
        w.append_msg(&ev(i)).unwrap();
    }
    crash(w);
    let rec = JournalReader::scan(dir).unwrap();
    assert!(rec.is_clean(), "{rec:?}");
    assert_eq!(rec.records, n + 1);
    rec.end.unwrap()
}

/// Repairs, appends `more` events after the damage, finishes, and checks the whole journal.
fn repair_append_check(dir: &Path, kept_events: u64, more: u64) {
    let rep = JournalReader::repair(dir).unwrap();
    assert!(!rep.is_clean());
    assert!(JournalReader::scan(dir).unwrap().is_clean());
    let mut w = JournalWriter::open_append(dir, small()).unwrap();
    for i in 0..more {
        w.append_msg(&ev(1000 + i)).unwrap();
    }
    w.finish().unwrap();
    let (recs, rec) = JournalReader::read_all(dir).unwrap();
    assert!(rec.is_clean(), "{rec:?}");
    assert_eq!(recs[0], JournalRecord::Meta(meta()));
    let expected: Vec<Msg> = (0..kept_events).map(ev).chain((0..more).map(|i| ev(1000 + i))).collect();
    assert_eq!(msgs(&recs), expected);
}

#[test]
fn round_trip_every_kind_and_meta() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("j");
    let all = vec![
        JournalRecord::Meta(meta()),
        JournalRecord::Msg(ev(1)),
        JournalRecord::Msg(Msg::Signal(Signal {
            seq: 1,
            ts: 2,
            entry: 5_000_000_000_000,
            direction: Direction::Long,
            confidence: 0.5,
            ..Signal::default()
        })),
        JournalRecord::Msg(Msg::Exec(ExecReport {
            client_order_id: 7,
            seq: 2,
            ts: 3,
            qty: 1,
            side: OrderSide::Buy,
            kind: ExecKind::Accepted,
            ..ExecReport::default()
        })),
        JournalRecord::Msg(Msg::Control(Control {
            seq: 3,
            ts: 3,
            arg: 1,
            kind: ControlKind::GammaPublished,
        })),
        JournalRecord::Msg(Msg::Intent(OrderIntent {
            client_order_id: 7,
            seq: 1,
            ts: 3,
            price: 5_000_250_000_000,
            qty: 1,
            instrument_id: 1,
            side: OrderSide::Buy,
            order_type: OrderType::Market,
            ..OrderIntent::default()
        })),
        JournalRecord::Msg(Msg::Fill(Fill {
            client_order_id: 7,
            seq: 2,
            ts: 4,
            price: 5_000_250_000_000,
            fee: mia_model::money::NanoUsd::from_nano(1_100_000_000),
            qty: 1,
            side: OrderSide::Buy,
            done: true,
            ..Fill::default()
        })),
        JournalRecord::Note(Note { unix_ns: 9, text: "operator: flat before close".into() }),
        JournalRecord::End(SessionEnd {
            events: 1,
            signals: 1,
            orders: 1,
            fills: 1,
            unix_ns: 10,
            reason: "eod".into(),
        }),
    ];
    let mut w = JournalWriter::create(&dir, JournalConfig::default()).unwrap();
    for r in &all {
        w.append(r).unwrap();
    }
    let stats = w.finish().unwrap();
    assert_eq!(
        (stats.records, stats.events, stats.signals, stats.intents, stats.fills, stats.side_inputs),
        (9, 1, 1, 1, 1, 2)
    );
    assert_eq!(stats.variable, 3);
    // finish truncates the 64 MiB segment to its used length.
    let len = fs::metadata(seg(&dir, 0)).unwrap().len();
    assert_eq!(len, SEGMENT_HEADER_LEN as u64 + stats.bytes);
    let (recs, rec) = JournalReader::read_all(&dir).unwrap();
    assert_eq!(recs, all);
    assert!(rec.is_clean());
    assert_eq!(rec.records, 9);
    assert_eq!(rec.end, Some((seg(&dir, 0), len)));
}

#[test]
fn rollover_across_segments_in_order() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let n = 500;
    let mut w = JournalWriter::create(dir, small()).unwrap();
    w.append_meta(&meta()).unwrap();
    for i in 0..n {
        w.append_msg(&ev(i)).unwrap();
    }
    let stats = w.finish().unwrap();
    // (4096 - 32) / 72 = 56 events per segment: 500 events + meta need 9 segments.
    assert_eq!(stats.segments_created, 9);
    for i in 0..9 {
        let len = fs::metadata(seg(dir, i)).unwrap().len();
        assert!(len <= SMALL && len & 7 == 0, "segment {i}: {len}");
    }
    assert!(!seg(dir, 9).exists());
    let (recs, rec) = JournalReader::read_all(dir).unwrap();
    assert!(rec.is_clean());
    assert_eq!(rec.segments, 9);
    assert_eq!(recs[0], JournalRecord::Meta(meta()));
    assert_eq!(msgs(&recs), (0..n).map(ev).collect::<Vec<_>>());
}

#[test]
fn unfinished_journal_reads_back_and_appends_continue() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (path, end) = write_and_crash(dir, 100);
    assert_eq!(path, seg(dir, 1));
    // The last segment is still pre-sized (zero terminator after the data).
    assert_eq!(fs::metadata(&path).unwrap().len(), SMALL);
    assert!(end < SMALL);
    let mut w = JournalWriter::open_append(dir, small()).unwrap();
    for i in 100..200 {
        w.append_msg(&ev(i)).unwrap();
    }
    w.finish().unwrap();
    // A finished (truncated) journal can be reopened too.
    let mut w = JournalWriter::open_append(dir, small()).unwrap();
    for i in 200..210 {
        w.append_msg(&ev(i)).unwrap();
    }
    w.finish().unwrap();
    let (recs, rec) = JournalReader::read_all(dir).unwrap();
    assert!(rec.is_clean());
    assert_eq!(msgs(&recs), (0..210).map(ev).collect::<Vec<_>>());
}

#[test]
fn crash_a_truncated_mid_record() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (path, end) = write_and_crash(dir, 100);
    let last = end - EVENT_FOOTPRINT;
    let f = OpenOptions::new().write(true).open(&path).unwrap();
    f.set_len(last + 30).unwrap();
    drop(f);
    let (recs, rec) = JournalReader::read_all(dir).unwrap();
    assert_eq!(msgs(&recs), (0..99).map(ev).collect::<Vec<_>>());
    assert_eq!(rec.records, 100);
    assert_eq!(rec.torn_at, Some((path.clone(), last)));
    assert!(rec.reason.as_deref().unwrap().contains("runs past the end"), "{rec:?}");
    // Appending is refused until the tail is repaired.
    match JournalWriter::open_append(dir, small()) {
        Err(e @ JournalError::NeedsRepair { .. }) => {
            assert!(e.to_string().contains(&format!("offset {last}")), "{e}")
        }
        other => panic!("expected NeedsRepair, got {:?}", other.map(|_| ())),
    }
    repair_append_check(dir, 99, 50);
}

#[test]
fn crash_b_flipped_bytes_in_last_record() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (path, end) = write_and_crash(dir, 100);
    let last = end - EVENT_FOOTPRINT;
    let mut bytes = fs::read(&path).unwrap();
    bytes[last as usize + 20] ^= 0x5A;
    bytes[last as usize + 21] ^= 0xA5;
    fs::write(&path, &bytes).unwrap();
    let (recs, rec) = JournalReader::read_all(dir).unwrap();
    assert_eq!(msgs(&recs), (0..99).map(ev).collect::<Vec<_>>());
    assert_eq!(rec.torn_at, Some((path, last)));
    assert!(rec.reason.as_deref().unwrap().contains("crc mismatch"), "{rec:?}");
    repair_append_check(dir, 99, 50);
}

#[test]
fn crash_c_garbage_after_last_record() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (path, end) = write_and_crash(dir, 100);
    let mut bytes = fs::read(&path).unwrap();
    for (k, b) in bytes[end as usize..end as usize + 40].iter_mut().enumerate() {
        *b = 0xC3 ^ k as u8;
    }
    fs::write(&path, &bytes).unwrap();
    let (recs, rec) = JournalReader::read_all(dir).unwrap();
    assert_eq!(msgs(&recs), (0..100).map(ev).collect::<Vec<_>>());
    assert_eq!(rec.torn_at, Some((path, end)));
    repair_append_check(dir, 100, 50);
}

#[test]
fn garbage_appended_to_a_finished_journal_is_a_torn_tail() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut w = JournalWriter::create(dir, small()).unwrap();
    w.append_meta(&meta()).unwrap();
    for i in 0..10 {
        w.append_msg(&ev(i)).unwrap();
    }
    w.finish().unwrap();
    let path = seg(dir, 0);
    let end = fs::metadata(&path).unwrap().len();
    OpenOptions::new().append(true).open(&path).unwrap().write_all(b"\x10\0\0\0garbage!").unwrap();
    let (recs, rec) = JournalReader::read_all(dir).unwrap();
    assert_eq!(msgs(&recs).len(), 10);
    assert_eq!(rec.torn_at, Some((path, end)));
    repair_append_check(dir, 10, 5);
}

#[test]
fn interrupted_append_without_length_is_flagged() {
    // A kill between writing a record body and its length leaves len == 0 followed by bytes.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (path, end) = write_and_crash(dir, 20);
    let mut bytes = fs::read(&path).unwrap();
    bytes[end as usize + 4..end as usize + 20].fill(0x77);
    fs::write(&path, &bytes).unwrap();
    let (recs, rec) = JournalReader::read_all(dir).unwrap();
    assert_eq!(msgs(&recs).len(), 20);
    assert_eq!(rec.torn_at, Some((path, end)));
    assert!(rec.reason.as_deref().unwrap().contains("after the end marker"), "{rec:?}");
    repair_append_check(dir, 20, 3);
}

#[test]
fn mid_journal_corruption_stops_at_first_bad_record() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut w = JournalWriter::create(dir, small()).unwrap();
    for i in 0..200 {
        w.append_msg(&ev(i)).unwrap();
    }
    w.finish().unwrap();
    // Corrupt record 10 of segment 0 (valid records follow, in this and later segments).
    let path = seg(dir, 0);
    let at = SEGMENT_HEADER_LEN as u64 + 10 * EVENT_FOOTPRINT;
    let mut bytes = fs::read(&path).unwrap();
    bytes[at as usize + 12] ^= 1;
    fs::write(&path, &bytes).unwrap();
    let (recs, rec) = JournalReader::read_all(dir).unwrap();
    assert_eq!(msgs(&recs), (0..10).map(ev).collect::<Vec<_>>());
    assert_eq!(rec.torn_at, Some((path.clone(), at)));
    assert_eq!(rec.later_segments, 3);
    // Repair keeps the good prefix and sets the later segments aside.
    JournalReader::repair(dir).unwrap();
    assert_eq!(fs::metadata(&path).unwrap().len(), at);
    assert!(!seg(dir, 1).exists());
    assert!(dir.join("seg-000001.mj.orphan").exists());
    let (recs, rec) = JournalReader::read_all(dir).unwrap();
    assert!(rec.is_clean());
    assert_eq!(recs.len(), 10);
}

#[test]
fn interrupted_segment_creation_is_a_torn_tail() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut w = JournalWriter::create(dir, small()).unwrap();
    for i in 0..5 {
        w.append_msg(&ev(i)).unwrap();
    }
    w.finish().unwrap();
    fs::write(seg(dir, 1), vec![0u8; 4096]).unwrap();
    let (recs, rec) = JournalReader::read_all(dir).unwrap();
    assert_eq!(recs.len(), 5);
    assert_eq!(rec.torn_at, Some((seg(dir, 1), 0)));
    JournalReader::repair(dir).unwrap();
    assert!(!seg(dir, 1).exists());
    let (mut w, rep) = JournalWriter::open_or_create(dir, small()).unwrap();
    assert!(rep.unwrap().is_clean());
    w.append_msg(&ev(5)).unwrap();
    w.finish().unwrap();
    let (recs, _) = JournalReader::read_all(dir).unwrap();
    assert_eq!(msgs(&recs), (0..6).map(ev).collect::<Vec<_>>());
}

#[test]
fn open_or_create_repairs_after_crash() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("session");
    let (mut w, rep) = JournalWriter::open_or_create(&dir, small()).unwrap();
    assert!(rep.is_none());
    w.append_meta(&meta()).unwrap();
    for i in 0..30 {
        w.append_msg(&ev(i)).unwrap();
    }
    crash(w);
    let (path, end) = JournalReader::scan(&dir).unwrap().end.unwrap();
    OpenOptions::new().write(true).open(&path).unwrap().set_len(end - 10).unwrap();
    let (mut w, rep) = JournalWriter::open_or_create(&dir, small()).unwrap();
    assert_eq!(rep.unwrap().torn_at, Some((path, end - EVENT_FOOTPRINT)));
    w.append_msg(&ev(500)).unwrap();
    w.finish().unwrap();
    let (recs, rec) = JournalReader::read_all(&dir).unwrap();
    assert!(rec.is_clean());
    let expected: Vec<Msg> = (0..29).map(ev).chain([ev(500)]).collect();
    assert_eq!(msgs(&recs), expected);
}

#[test]
fn garbage_file_and_bad_magic_are_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let path = seg(dir, 0);
    fs::write(&path, b"this is definitely not a journal segment, just some text\n").unwrap();
    let err = JournalReader::read_all(dir).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("seg-000000.mj") && msg.contains("offset 0") && msg.contains("magic"), "{msg}");
    assert_eq!(err.offset(), Some(0));
    assert_eq!(err.path(), Some(path.as_path()));
    // Repair refuses to touch a foreign file.
    assert!(JournalReader::repair(dir).is_err());
    assert!(path.exists());

    // A real journal whose magic was damaged.
    let tmp2 = tempfile::tempdir().unwrap();
    let dir2 = tmp2.path();
    let mut w = JournalWriter::create(dir2, small()).unwrap();
    w.append_msg(&ev(0)).unwrap();
    w.finish().unwrap();
    let mut bytes = fs::read(seg(dir2, 0)).unwrap();
    bytes[1] = b'?';
    fs::write(seg(dir2, 0), &bytes).unwrap();
    let msg = JournalReader::read_all(dir2).unwrap_err().to_string();
    assert!(msg.contains("bad magic"), "{msg}");
    // A corrupted header field (index) fails the header CRC.
    bytes[1] = b'I';
    bytes[12] = 3;
    fs::write(seg(dir2, 0), &bytes).unwrap();
    let msg = JournalReader::read_all(dir2).unwrap_err().to_string();
    assert!(msg.contains("checksum"), "{msg}");
    // A short non-zero file.
    fs::write(seg(dir2, 0), b"MIAJ").unwrap();
    let msg = JournalReader::read_all(dir2).unwrap_err().to_string();
    assert!(msg.contains("shorter than"), "{msg}");
}

#[test]
fn missing_dir_empty_dir_and_gaps_are_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nope");
    let err = JournalReader::open(&missing).err().unwrap();
    assert!(matches!(err, JournalError::Io { .. }));
    assert!(err.to_string().contains("nope"), "{err}");
    let err = JournalReader::open(tmp.path()).err().unwrap();
    assert!(matches!(err, JournalError::NoSegments { .. }), "{err}");

    let mut w = JournalWriter::create(tmp.path(), small()).unwrap();
    for i in 0..200 {
        w.append_msg(&ev(i)).unwrap();
    }
    w.finish().unwrap();
    fs::remove_file(seg(tmp.path(), 1)).unwrap();
    let err = JournalReader::open(tmp.path()).err().unwrap();
    assert!(
        err.to_string().contains("missing segment") && err.to_string().contains("seg-000001.mj"),
        "{err}"
    );
    // A segment renamed out of place: the header index disagrees with the file name.
    fs::rename(seg(tmp.path(), 2), seg(tmp.path(), 1)).unwrap();
    fs::rename(seg(tmp.path(), 3), seg(tmp.path(), 2)).unwrap();
    let err = JournalReader::read_all(tmp.path()).unwrap_err();
    assert!(err.to_string().contains("header says segment 2"), "{err}");
}

#[test]
fn create_refuses_existing_and_oversized_records_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let mut w = JournalWriter::create(tmp.path(), small()).unwrap();
    let big = SessionMeta { config_toml: "x".repeat(5000), ..meta() };
    assert!(matches!(w.append_meta(&big), Err(JournalError::RecordTooLarge { .. })));
    // The writer is still usable after refusing a record.
    w.append_msg(&ev(1)).unwrap();
    w.finish().unwrap();
    assert!(matches!(JournalWriter::create(tmp.path(), small()), Err(JournalError::AlreadyExists { .. })));
    assert!(matches!(
        JournalWriter::create(tmp.path().join("x"), JournalConfig::with_segment_size(100)),
        Err(JournalError::Config { .. })
    ));
    let (recs, _) = JournalReader::read_all(tmp.path()).unwrap();
    assert_eq!(msgs(&recs), vec![ev(1)]);
}

fn producer_event(producer: u32, i: u64) -> Msg {
    let Msg::Market(mut e) = ev(i) else { unreachable!() };
    e.instrument_id = producer;
    Msg::Market(e)
}

#[test]
fn thread_drains_two_producers() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let n: u64 = 20_000;
    let w = JournalWriter::create(dir, JournalConfig::with_segment_size(256 * 1024)).unwrap();
    let (p1, c1) = rtrb::RingBuffer::<Envelope>::new(64);
    let (p2, c2) = rtrb::RingBuffer::<Envelope>::new(64);
    let stop = Arc::new(AtomicBool::new(false));
    let h = spawn_journal_writer(w, vec![c1, c2], stop.clone(), JournalThreadConfig::default()).unwrap();
    let producers: Vec<_> = [(1u32, p1), (2u32, p2)]
        .into_iter()
        .map(|(id, mut p)| {
            std::thread::spawn(move || {
                for i in 0..n {
                    let mut env = Envelope { t0: i, msg: producer_event(id, i) };
                    // Block on a full ring in the test (the hot path would count a drop instead).
                    while let Err(rtrb::PushError::Full(back)) = p.push(env) {
                        env = back;
                        std::thread::yield_now();
                    }
                }
                // Keep the producer alive so the thread must exit through the stop flag.
                p
            })
        })
        .collect();
    let kept: Vec<_> = producers.into_iter().map(|t| t.join().unwrap()).collect();
    stop.store(true, Ordering::Release);
    let stats = h.join().unwrap().unwrap();
    drop(kept);
    assert_eq!(stats.per_tap, vec![n, n]);
    assert_eq!(stats.events, 2 * n);
    assert!(stats.segments_created > 1, "{stats:?}");
    let (recs, rec) = JournalReader::read_all(dir).unwrap();
    assert!(rec.is_clean());
    assert_eq!(recs.len() as u64, 2 * n + 1);
    for id in [1u32, 2] {
        let got: Vec<Msg> = msgs(&recs)
            .into_iter()
            .filter(|m| matches!(m, Msg::Market(e) if e.instrument_id == id))
            .collect();
        assert_eq!(got, (0..n).map(|i| producer_event(id, i)).collect::<Vec<_>>(), "producer {id}");
    }
    match recs.last() {
        Some(JournalRecord::End(end)) => {
            assert_eq!((end.events, end.fills), (2 * n, 0));
            assert_eq!(end.reason, "stop requested");
        }
        other => panic!("expected a session end, got {other:?}"),
    }
}

#[test]
fn thread_stops_when_producers_are_gone() {
    let tmp = tempfile::tempdir().unwrap();
    let w = JournalWriter::create(tmp.path(), small()).unwrap();
    let (mut p, c) = rtrb::RingBuffer::<Envelope>::new(1024);
    for i in 0..500 {
        p.push(Envelope { t0: 0, msg: ev(i) }).unwrap();
    }
    drop(p);
    let stop = Arc::new(AtomicBool::new(false));
    let cfg = JournalThreadConfig { write_session_end: false, ..JournalThreadConfig::default() };
    let stats = spawn_journal_writer(w, vec![c], stop, cfg).unwrap().join().unwrap().unwrap();
    assert_eq!(stats.per_tap, vec![500]);
    let (recs, _) = JournalReader::read_all(tmp.path()).unwrap();
    assert_eq!(msgs(&recs), (0..500).map(ev).collect::<Vec<_>>());
    assert!(!recs.iter().any(|r| matches!(r, JournalRecord::End(_))));
}

#[test]
fn fixed_size_records_do_not_allocate() {
    let tmp = tempfile::tempdir().unwrap();
    let n = 10_000;
    let mut w = JournalWriter::create(tmp.path(), JournalConfig::with_segment_size(1 << 20)).unwrap();
    w.append_meta(&meta()).unwrap();
    let msgs_in: Vec<Msg> = (0..n).map(ev).collect();
    let before = allocs();
    for m in &msgs_in {
        w.append_msg(m).unwrap();
    }
    assert_eq!(allocs() - before, 0, "allocations while appending {n} events");
    w.finish().unwrap();

    let mut r = JournalReader::open(tmp.path()).unwrap();
    // The first call loads the segment (buffer) and decodes the metadata (strings): it does
    // allocate, which also proves the counter works.
    let before = allocs();
    assert!(matches!(r.next_record().unwrap(), Some(JournalRecord::Meta(_))));
    assert!(allocs() > before);
    let before = allocs();
    let mut count = 0;
    while let Some(JournalRecord::Msg(_)) = r.next_record().unwrap() {
        count += 1;
    }
    assert_eq!(allocs() - before, 0, "allocations while reading {count} events");
    assert_eq!(count, n);
}
