//! Sierra Chart `.depth` files as a session input: `mia replay FILE.depth`, and a `.depth`
//! merged in time with the `.scid` of the same day (`--depth FILE.depth` on `mia replay` and
//! `mia backtest --data`), on generated files: depth batches of several records, some at the
//! very timestamps of trade records (the depth batch goes first), some between them.

use mia_feeds::sierra::depth::{encode_depth_header, DepthRecord, DepthSource, FLAG_END_OF_BATCH};
use mia_feeds::sierra::scid::{unix_ns_to_sc_datetime, ScidHeader, ScidOptions, ScidRecord, ScidSource};
use mia_model::event::{flags, Event};
use mia_runtime::pipeline::Schedule;
use mia_runtime::source::EventSource;
use mia_tools::app::config::Config;
use mia_tools::app::input::Input;
use mia_tools::app::session::{run_session, RunMode, SessionOptions};
use std::path::Path;
use std::process::Command;

/// 2026-12-01 15:00 UTC.
const T0: u64 = 1_796_137_200_000_000_000;
const MS: u64 = 1_000_000;

/// Writes `day.scid` (a trade every 100 ms) and `day.depth` (a batch of 3 records every
/// 150 ms: at the time of every third trade, and between trades otherwise).
fn generate(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let scid = dir.join("day.scid");
    let depth = dir.join("day.depth");
    let mut s = ScidHeader::encode().to_vec();
    for k in 0..3_000u64 {
        let bid = 6000.0 + (k % 20) as f32 * 0.25;
        let up = k % 2 == 0;
        let r = ScidRecord {
            date_time: unix_ns_to_sc_datetime(T0 + k * 100 * MS),
            open: 0.0,
            high: bid + 0.25,
            low: bid,
            close: if up { bid + 0.25 } else { bid },
            num_trades: 1,
            total_volume: 1 + (k % 5) as u32,
            bid_volume: if up { 0 } else { 1 + (k % 5) as u32 },
            ask_volume: if up { 1 + (k % 5) as u32 } else { 0 },
        };
        s.extend_from_slice(&r.to_bytes());
    }
    std::fs::write(&scid, s).expect("write .scid");
    let mut d = encode_depth_header().to_vec();
    for j in 0..2_000u64 {
        let ts = unix_ns_to_sc_datetime(T0 + j * 150 * MS);
        let bid = 6000.0 + (j % 20) as f32 * 0.25;
        let recs = [
            DepthRecord {
                date_time: ts,
                command: 4,
                flags: 0,
                num_orders: 3,
                price: bid,
                quantity: 10 + (j % 7) as u32,
            },
            DepthRecord {
                date_time: ts,
                command: 4,
                flags: 0,
                num_orders: 2,
                price: bid - 0.25,
                quantity: 20,
            },
            DepthRecord {
                date_time: ts,
                command: 5,
                flags: FLAG_END_OF_BATCH,
                num_orders: 4,
                price: bid + 0.25,
                quantity: 12 + (j % 3) as u32,
            },
        ];
        for r in recs {
            d.extend_from_slice(&r.to_bytes());
        }
    }
    std::fs::write(&depth, d).expect("write .depth");
    (scid, depth)
}

fn drain(mut src: Box<dyn EventSource>) -> Vec<Event> {
    let mut v = Vec::new();
    while let Some(e) = src.next_event().expect("decode") {
        v.push(e);
    }
    v
}

/// A stream cut into exchange events (runs ending with `LAST`).
fn runs(events: &[Event]) -> Vec<Vec<Event>> {
    let mut out = Vec::new();
    let mut cur = Vec::new();
    for e in events {
        cur.push(*e);
        if e.flags & flags::LAST != 0 {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn mia(args: &[&std::ffi::OsStr]) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_mia")).args(args).output().expect("run mia");
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(o.status.success(), "mia {args:?}: {out}{}", String::from_utf8_lossy(&o.stderr));
    out
}

fn field(out: &str, key: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix(key))
        .unwrap_or_else(|| panic!("no {key} in {out}"))
        .trim()
        .to_string()
}

#[test]
fn a_depth_file_replays_and_merges_with_the_scid_of_the_day() {
    let dir = tempfile::tempdir().expect("tmp");
    let (scid, depth) = generate(dir.path());
    let trades = drain(Box::new(ScidSource::open(&scid).expect("scid")));
    let book = drain(Box::new(DepthSource::open(&depth, ScidOptions::default()).expect("depth")));
    assert!(trades.len() > 3_000 && book.len() > 2_000, "{} {}", trades.len(), book.len());

    // The merge against an independent oracle: each file's exchange events, stably sorted by
    // (time, depth before trades).
    let input = Input::from_path(&scid).expect("scid").with_depth(&depth).expect("with depth");
    let merged = drain(input.open().expect("open merged"));
    let mut oracle: Vec<(u64, u8, Vec<Event>)> =
        runs(&book).into_iter().map(|r| (r[0].ts_event, 0, r)).collect();
    oracle.extend(runs(&trades).into_iter().map(|r| (r[0].ts_event, 1, r)));
    oracle.sort_by_key(|(ts, lane, _)| (*ts, *lane));
    let expected: Vec<Event> = oracle.iter().flat_map(|(_, _, r)| r.iter().copied()).collect();
    assert_eq!(merged.len(), trades.len() + book.len(), "nothing lost or doubled");
    assert!(merged == expected, "the merge is the time order, depth first at equal times");
    assert!(merged.windows(2).all(|w| w[0].ts_event <= w[1].ts_event), "time-ordered");
    // At a shared timestamp (trade 3 = batch 2, 300 ms) the batch comes first.
    let at = T0 + 300 * MS;
    let first = merged.iter().position(|e| e.ts_event == at).expect("events at 300 ms");
    assert_eq!(merged[first], book[book.iter().position(|e| e.ts_event == at).expect("a batch at 300 ms")]);

    // Through the pipeline: inline and threaded give one digest.
    let run = |mode| {
        let opts = SessionOptions {
            input: input.clone(),
            config: Config::default(),
            mode: Some(mode),
            out: None,
            progress: false,
            run_mode: RunMode::Backtest,
            on_progress: None,
            max_events: None,
            pace: None,
            profile: None,
        };
        run_session(&opts).unwrap_or_else(|e| panic!("run failed: {e:#}"))
    };
    let (inline, threaded) = (run(Schedule::Inline), run(Schedule::Threaded));
    assert_eq!(inline.events, merged.len() as u64);
    assert_eq!(inline.digest, threaded.digest);

    // The command line: a .depth alone, and merged on replay and backtest.
    let o = |s: &str| dir.path().join(s).into_os_string();
    let alone = mia(&["replay".as_ref(), depth.as_os_str(), "--out".as_ref(), o("r1").as_os_str()]);
    assert_eq!(field(&alone, "events: "), book.len().to_string(), "{alone}");
    let rep = mia(&[
        "replay".as_ref(),
        scid.as_os_str(),
        "--depth".as_ref(),
        depth.as_os_str(),
        "--out".as_ref(),
        o("r2").as_os_str(),
    ]);
    let bt = mia(&[
        "backtest".as_ref(),
        "--data".as_ref(),
        scid.as_os_str(),
        "--depth".as_ref(),
        depth.as_os_str(),
        "--out".as_ref(),
        o("r3").as_os_str(),
    ]);
    for out in [&rep, &bt] {
        assert_eq!(field(out, "events: "), merged.len().to_string(), "{out}");
        assert!(field(out, "source: ").contains("day.scid + "), "{out}");
    }
    // --depth with anything but a .scid is a clear error.
    let e = Command::new(env!("CARGO_BIN_EXE_mia"))
        .args(["replay".as_ref(), depth.as_os_str(), "--depth".as_ref(), depth.as_os_str()])
        .output()
        .expect("run mia");
    let err = String::from_utf8_lossy(&e.stderr);
    assert_eq!(e.status.code(), Some(1), "{err}");
    assert!(err.contains("is not a .scid file"), "{err}");
}
