//! Edge cases of the signal engine on whole sessions: no gamma snapshot at all, and a session
//! break between two trading days (the first bars of the second day).

use mia_tools::app::config::Config;
use mia_tools::app::input::Input;
use mia_tools::app::session::{generate_dbn, run_session, RunMode, SessionOptions};
use std::path::Path;

fn run(input: Input, out: &Path) -> (u64, Vec<(u64, u8)>) {
    let mut config = Config::default();
    config.signal.strategy = mia_signal::strategy::registry::StrategyKind::Elite;
    config.journal.enabled = false;
    let opts = SessionOptions {
        input,
        config,
        mode: None,
        out: Some(out.to_path_buf()),
        progress: false,
        run_mode: RunMode::Backtest,
        on_progress: None,
        max_events: None,
        pace: None,
        profile: None,
    };
    run_session(&opts).expect("session");
    let stats = std::fs::read_to_string(out.join("engine_stats.csv")).expect("engine_stats.csv");
    let decisions = stats
        .lines()
        .find_map(|l| l.strip_prefix("total,decisions,"))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let det = std::fs::read_to_string(out.join("detections.csv")).expect("detections.csv");
    let det = det
        .lines()
        .skip(1)
        .filter_map(|l| {
            let mut f = l.split(',');
            Some((f.next()?.parse().ok()?, f.next()?.parse().ok()?))
        })
        .collect();
    (decisions, det)
}

/// A DBN file with no chain beside it: no gamma snapshot, so no gamma-pin detection, and the
/// engine still decides at every 5-minute close.
#[test]
fn no_gamma_snapshot_means_no_gamma_pin_and_decisions_go_on() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("day.dbn");
    generate_dbn(4, 1, &file).expect("gen");
    let chain = dir.path().join("day.chain.csv");
    if chain.exists() {
        std::fs::remove_file(&chain).expect("remove chain");
    }
    let (decisions, det) = run(Input::Dbn(file), &dir.path().join("run"));
    assert!((250..=270).contains(&decisions), "{decisions} decisions");
    assert!(!det.is_empty(), "other patterns are still detected");
    assert!(det.iter().all(|d| d.1 != 2), "a gamma pin without a snapshot: {det:?}");
}

/// Two trading days: the engine keeps deciding across the 15:15–17:00 CT pause and the session
/// change (bars, Battle Navale and the regime carry over, SIGNALS §1), one decision per
/// 5-minute bar of each day, and detections on both days.
#[test]
fn decisions_continue_across_the_session_break() {
    let dir = tempfile::tempdir().expect("tmp");
    let (decisions, det) = run(Input::Synthetic { seed: 5, days: 2 }, dir.path());
    assert!((500..=540).contains(&decisions), "{decisions} decisions over two days");
    // 2024-03-13 15:15 CT = 20:15 UTC: the first day's stream ends there.
    let day1_end = 1_710_360_900_000_000_000u64;
    assert!(det.iter().any(|d| d.0 < day1_end), "detections on day 1");
    assert!(det.iter().any(|d| d.0 > day1_end), "detections on day 2 (after the session break)");
}
