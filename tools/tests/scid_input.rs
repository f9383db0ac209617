//! Sierra Chart `.scid` files as a session input: `mia replay FILE.scid` and
//! `mia backtest --data FILE.scid` run the same pipeline over a synthesized tick file.

use mia_feeds::sierra::scid::{unix_ns_to_sc_datetime, ScidHeader, ScidRecord, ScidSource};
use mia_model::event::{EventKind, Side};
use mia_model::price::{to_f64, UNDEF_PX};
use mia_runtime::pipeline::Schedule;
use mia_runtime::source::EventSource;
use mia_tools::app::config::Config;
use mia_tools::app::input::Input;
use mia_tools::app::session::{run_session, RunMode, SessionOptions};
use mia_tools::app::summary::SessionSummary;
use std::path::Path;
use std::process::Command;

/// A tick-by-tick `.scid` file built from the synthetic session's trades and top of book:
/// the trades of one synthetic ES day with the bid and ask in force at each.
fn synthesize(path: &Path) -> u64 {
    let mut src = Input::Synthetic { seed: 11, days: 1 }.open().expect("synthetic session");
    let mut bytes = ScidHeader::encode().to_vec();
    let (mut bid, mut ask) = (UNDEF_PX, UNDEF_PX);
    let mut n = 0u64;
    while let Some(e) = src.next_event().expect("synthetic events") {
        match e.kind {
            EventKind::Level if e.depth == 0 && e.side == Side::Bid => bid = e.price,
            EventKind::Level if e.depth == 0 && e.side == Side::Ask => ask = e.price,
            EventKind::Trade if bid != UNDEF_PX && ask != UNDEF_PX && e.size > 0 => {
                let (bv, av) = if e.side == Side::Bid { (0, e.size) } else { (e.size, 0) };
                let r = ScidRecord {
                    date_time: unix_ns_to_sc_datetime(e.ts_event),
                    open: 0.0,
                    high: to_f64(ask) as f32,
                    low: to_f64(bid) as f32,
                    close: to_f64(e.price) as f32,
                    num_trades: 1,
                    total_volume: e.size,
                    bid_volume: bv,
                    ask_volume: av,
                };
                bytes.extend_from_slice(&r.to_bytes());
                n += 1;
            }
            _ => {}
        }
    }
    std::fs::write(path, bytes).expect("write .scid");
    n
}

fn run(input: Input, mode: Schedule) -> SessionSummary {
    let opts = SessionOptions {
        input,
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
    match run_session(&opts) {
        Ok(s) => s,
        Err(e) => panic!("run failed: {e:#}"),
    }
}

#[test]
fn a_scid_file_runs_a_session_in_both_modes_and_from_the_cli() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("ESZ5_FUT_CME.scid");
    let records = synthesize(&path);
    assert!(records > 10_000, "the synthetic day has trades: {records}");

    let mut src = ScidSource::open(&path).expect("open");
    let mut events = 0u64;
    while src.next_event().expect("decode").is_some() {
        events += 1;
    }
    assert_eq!(src.records_read(), records);

    let input = Input::from_path(&path).expect("exists");
    assert_eq!(input, Input::Scid(path.clone()));
    let inline = run(input.clone(), Schedule::Inline);
    assert_eq!(inline.events, events, "every decoded event reaches the pipeline");
    assert!(inline.source.contains("ESZ5_FUT_CME.scid"), "{}", inline.source);
    let threaded = run(input, Schedule::Threaded);
    assert_eq!((threaded.digest.as_str(), threaded.events), (inline.digest.as_str(), inline.events));

    for args in [vec!["replay", "ESZ5_FUT_CME.scid"], vec!["backtest", "--data", "ESZ5_FUT_CME.scid"]] {
        let o = Command::new(env!("CARGO_BIN_EXE_mia"))
            .args(&args)
            .current_dir(dir.path())
            .output()
            .expect("run mia");
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
        assert!(out.contains(&format!("events: {events}")), "{args:?}: {out}");
        assert!(out.contains(&format!("digest: {}", inline.digest)), "{args:?}: {out}");
    }

    // A damaged file fails naming it and the record.
    let bytes = std::fs::read(&path).expect("read");
    std::fs::write(dir.path().join("cut.scid"), &bytes[..bytes.len() - 3]).expect("write");
    let o = Command::new(env!("CARGO_BIN_EXE_mia"))
        .args(["replay", "cut.scid"])
        .current_dir(dir.path())
        .output()
        .expect("run mia");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("cut.scid") && err.contains(&format!("record {}", records - 1)), "{err}");
}
