//! The sequencer makes a live session replayable: a venue on another thread answers orders
//! after random wall-clock delays, its reports enter through the sequencer, and the journal
//! of that run replays (inline and threaded) to the same digest.

mod common;
use mia_model::msg::{ExecKind, ExecReport, Msg, OrderIntent};
use mia_runtime::pipeline::Schedule;
use mia_tools::app::input::Input;
use mia_tools::app::session::{run_session_with, RunMode, SessionExtras, SessionOptions};
use mia_tools::app::stages::VenueChoice;
use mia_tools::app::summary::SessionSummary;
use std::path::Path;
use std::time::Duration;

const EVENTS: u64 = 500_000;

/// A broker stand-in: fills every order in full at 4000.00 after 0–400 µs of wall time.
fn spawn_venue(
    mut orders: rtrb::Consumer<OrderIntent>,
    mut reports: rtrb::Producer<Msg>,
    seed: u64,
) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let mut x = seed | 1;
        let mut answered = 0;
        loop {
            match orders.pop() {
                Ok(o) => {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    std::thread::sleep(Duration::from_micros(x % 400));
                    let r = ExecReport {
                        client_order_id: o.client_order_id,
                        price: 4_000_000_000_000,
                        fee: mia_model::money::NanoUsd::from_nano(2_250_000_000) * i64::from(o.qty),
                        qty: o.qty,
                        leaves: 0,
                        side: o.side,
                        kind: ExecKind::Filled,
                        ..ExecReport::default()
                    };
                    while reports.push(Msg::Exec(r)).is_err() {
                        std::thread::yield_now();
                    }
                    answered += 1;
                }
                Err(_) if orders.is_abandoned() => return answered,
                Err(_) => std::thread::sleep(Duration::from_micros(50)),
            }
        }
    })
}

fn opts(input: Input, mode: Schedule, out: Option<&Path>) -> SessionOptions {
    SessionOptions {
        input,
        config: common::threshold_config(),
        mode: Some(mode),
        out: out.map(Path::to_path_buf),
        progress: false,
        run_mode: RunMode::Replay,
        pace: None,
        profile: None,
        max_events: Some(EVENTS),
        on_progress: None,
    }
}

fn live(mode: Schedule, out: &Path, seed: u64) -> SessionSummary {
    let (otx, orx) = rtrb::RingBuffer::new(64);
    let (rtx, rrx) = rtrb::RingBuffer::new(64);
    let venue = spawn_venue(orx, rtx, seed);
    let extras =
        SessionExtras { venue: Some(VenueChoice::Live(otx)), side: vec![rrx], ..SessionExtras::default() };
    let s = match run_session_with(&opts(Input::Synthetic { seed: 1, days: 1 }, mode, Some(out)), extras) {
        Ok(s) => s,
        Err(e) => panic!("live run failed: {e:#}"),
    };
    let answered = venue.join().expect("venue thread");
    assert!(answered > 0, "the venue answered orders");
    s
}

fn replay(journal: &Path, mode: Schedule) -> SessionSummary {
    let extras =
        SessionExtras { venue: Some(VenueChoice::LiveReplay), side: Vec::new(), ..SessionExtras::default() };
    match run_session_with(&opts(Input::Journal(journal.to_path_buf()), mode, None), extras) {
        Ok(s) => s,
        Err(e) => panic!("replay failed: {e:#}"),
    }
}

#[test]
fn a_live_session_with_asynchronous_reports_replays_to_its_digest() {
    let dir = tempfile::tempdir().expect("tmp");
    for (i, mode) in [Schedule::Inline, Schedule::Threaded].into_iter().enumerate() {
        let out = dir.path().join(format!("live{i}"));
        let l = live(mode, &out, 7 + i as u64);
        assert!(l.orders > 0 && l.fills > 0, "{mode:?}: traded ({} orders, {} fills)", l.orders, l.fills);
        assert!(l.inputs > l.events, "{mode:?}: the reports were sequenced as inputs");
        for rmode in [Schedule::Inline, Schedule::Threaded] {
            let r = replay(&out.join("journal"), rmode);
            assert_eq!(
                (r.digest.as_str(), r.events, r.inputs, r.fills),
                (l.digest.as_str(), l.events, l.inputs, l.fills),
                "live {mode:?} replayed {rmode:?}"
            );
        }
    }
}
