//! `mia paper` on IBKR data against the fake TWS: the session connects, resolves the front
//! month by MIA's roll rule, subscribes, turns the fake's ticks into events through the
//! sequencer, journals everything, and the journal replays to the same digest. The account
//! comes from the environment and never reaches the journal or the summary.

use mia_feeds::ibkr::fake::{FakeConfig, FakeTws};
use mia_feeds::ibkr::Fuse;
use mia_tools::app::config::Config;
use mia_tools::app::input::Input;
use mia_tools::app::live::{run_live, DataKind, LiveMode, LiveOptions};
use mia_tools::app::session::{run_session, RunMode, SessionOptions};
use std::path::Path;
use std::time::Duration;

mod common;
use common::grep_dir;

const ACCOUNT: &str = "DU1234567";
const EVENTS: u64 = 600;

fn opts(input: Input, cfg: Config, run_mode: RunMode, out: &Path) -> SessionOptions {
    SessionOptions {
        input,
        config: cfg,
        mode: None,
        out: Some(out.to_path_buf()),
        progress: false,
        run_mode,
        pace: None,
        max_events: Some(EVENTS),
        profile: None,
        on_progress: None,
    }
}

#[test]
fn paper_on_ibkr_data_runs_journals_and_replays() {
    // Edition 2021 `set_var`; this test binary has one test, so no other thread reads it.
    std::env::set_var("MIA_IBKR_ACCOUNT", ACCOUNT);
    // The market-data edge on a thread of its own, then fused into the pipeline's thread
    // (`[ibkr] fuse`): the same session either way.
    for fuse in [Fuse::Never, Fuse::Always] {
        paper_session(fuse);
    }
}

fn paper_session(fuse: Fuse) {
    let fake = std::sync::Arc::new(FakeTws::start(FakeConfig::default()).expect("fake TWS"));
    let dir = tempfile::tempdir().expect("tmp");
    let mut cfg = Config::default();
    cfg.live.data = DataKind::Ibkr;
    cfg.live.stop_grace_ms = 0;
    cfg.live.state_dir = dir.path().join("state");
    cfg.ibkr.port = fake.port();
    cfg.ibkr.connect_timeout_ms = 10_000;
    cfg.ibkr.request_timeout_ms = 10_000;
    cfg.ibkr.chain.refresh_secs = 3_600;
    // Polite on a 2-core CI box (the product default `spin` is for isolated cores).
    cfg.ibkr.idle = mia_feeds::ibkr::IdlePolicy::SleepUs;
    cfg.ibkr.fuse = fuse;
    let out = dir.path().join("paper");

    // The market: once subscribed, the fake streams quotes and trades until the session has
    // what it needs (the session stops after EVENTS market events).
    let feeder = {
        let fake = std::sync::Arc::clone(&fake);
        std::thread::spawn(move || {
            assert!(
                fake.wait(Duration::from_secs(30), |s| s.last_subs >= 1 && s.bid_ask_subs >= 1),
                "the session subscribed to tick-by-tick data"
            );
            let t0 = 1_796_126_400i64;
            for k in 0..2_000i64 {
                let mid = 6010.0 + ((k % 40) as f64 - 20.0) * 0.25;
                fake.bid_ask(mid - 0.125, mid + 0.125, 20.0 + (k % 7) as f64, 25.0, t0 + k);
                fake.trade(mid + 0.125, 1.0 + (k % 3) as f64, t0 + k);
                std::thread::sleep(Duration::from_micros(300));
            }
        })
    };
    let live = LiveOptions {
        mode: LiveMode::Paper,
        session: opts(Input::Synthetic { seed: 1, days: 1 }, cfg.clone(), RunMode::Paper, &out),
        data: None,
        venue: None,
        speed: None,
        live_flag: false,
    };
    let s = run_live(live).unwrap_or_else(|e| panic!("paper on IBKR, fuse {}: {e:#}", fuse.label()));
    feeder.join().expect("feeder");
    assert_eq!(s.events, EVENTS, "fuse {}", fuse.label());
    assert!(s.source.contains("ibkr ESZ6"), "front month by the roll rule: {}", s.source);
    let text = std::fs::read_to_string(out.join("summary.txt")).expect("summary");
    assert!(text.contains("run: paper"), "{text}");

    let replay = dir.path().join("replay");
    let r = run_session(&opts(Input::Journal(out.join("journal")), cfg, RunMode::Replay, &replay))
        .expect("replay");
    assert_eq!(r.digest, s.digest, "the paper session's journal replays to its digest");
    assert!(grep_dir(&out, ACCOUNT.as_bytes()).is_empty(), "the account id is in no file of the run");
}
