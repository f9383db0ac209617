//! `mia paper --source dtc` against the fake DTC server: logon, market data into the pipeline
//! through the sequencer, everything journaled, and the journal replays to the same digest.

use mia_feeds::sierra::dtc::fake::{FakeConfig, FakeDtcServer};
use mia_tools::app::config::Config;
use mia_tools::app::input::Input;
use mia_tools::app::live::{run_live, DataKind, LiveMode, LiveOptions};
use mia_tools::app::session::{run_session, RunMode, SessionOptions};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

const EVENTS: u64 = 400;

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
fn paper_on_dtc_data_runs_journals_and_replays() {
    // Edition 2021 `set_var`; this test binary has one test.
    std::env::set_var("MIA_DTC_ACCOUNT", "SIM-TEST-1");
    let fake = Arc::new(FakeDtcServer::start(FakeConfig::default()).expect("fake DTC"));
    let dir = tempfile::tempdir().expect("tmp");
    let mut cfg = Config::default();
    cfg.live.data = DataKind::Dtc;
    cfg.live.stop_grace_ms = 0;
    cfg.live.state_dir = dir.path().join("state");
    cfg.dtc.port = fake.port();
    let out = dir.path().join("paper");
    let feeder = {
        let fake = Arc::clone(&fake);
        std::thread::spawn(move || {
            assert!(fake.wait_until(Duration::from_secs(30), |f| f.is_connected()), "logged on");
            std::thread::sleep(Duration::from_millis(500));
            // SCDateTime days since 1899-12-30: 2026-12-01 15:00 UTC.
            let t0 = 46_357.625;
            for k in 0..3_000u32 {
                let mid = 6010.0 + f64::from(k % 40) * 0.25 - 5.0;
                fake.send_bid_ask(mid - 0.125, 20.0, mid + 0.125, 25.0);
                fake.send_trade(mid + 0.125, 1.0 + f64::from(k % 3), 2, t0 + f64::from(k) / 86_400.0);
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
    let s = run_live(live).expect("paper on DTC");
    feeder.join().expect("feeder");
    assert_eq!(s.events, EVENTS);
    assert!(s.source.starts_with("dtc "), "{}", s.source);
    let replay = dir.path().join("replay");
    let r = run_session(&opts(Input::Journal(out.join("journal")), cfg, RunMode::Replay, &replay))
        .expect("replay");
    assert_eq!(r.digest, s.digest, "the paper session's journal replays to its digest");
}
