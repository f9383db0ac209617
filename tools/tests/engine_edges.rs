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

/// `decisions.csv` rows as (ts_ns, regime, outcome).
fn decision_rows(out: &Path) -> Vec<(u64, String, String)> {
    let text = std::fs::read_to_string(out.join("decisions.csv")).expect("decisions.csv");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).expect(name);
    let (ts, regime, outcome) = (col("ts_ns"), col("regime"), col("outcome"));
    lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[ts].parse().expect("ts"), f[regime].to_string(), f[outcome].to_string())
        })
        .collect()
}

/// No bars yet: until the decision timeframe holds `[signal.regime] min_bars` (30) bars the
/// regime detector has no output, so the first 29 decisions of a run are "warmup" and wait
/// (RegimeWait), and the 30th has a regime. Nothing trades on an empty or short history.
#[test]
fn no_bars_yet_the_first_decisions_wait_for_the_regime() {
    let dir = tempfile::tempdir().expect("tmp");
    let (decisions, _) = run(Input::Synthetic { seed: 2, days: 1 }, dir.path());
    let rows = decision_rows(dir.path());
    assert_eq!(rows.len() as u64, decisions, "one trace row per decision");
    assert!(rows.len() > 30, "{} decisions", rows.len());
    for (i, r) in rows.iter().take(29).enumerate() {
        assert_eq!((r.1.as_str(), r.2.as_str()), ("warmup", "RegimeWait"), "decision {i}: {r:?}");
    }
    assert_ne!(rows[29].1, "warmup", "the 30th decision has a regime: {:?}", rows[29]);
    // The first decision closes the session's first 5-minute bar: 17:05 CDT = 22:05 UTC on
    // 2024-03-12, at the first event after the boundary (overnight events are seconds apart).
    let first = 1_710_281_100_000_000_000u64;
    assert!((first..first + 10_000_000_000).contains(&rows[0].0), "first decision at {}", rows[0].0);
}

/// First bar of a day: the last 5-minute bar of day 1 (15:10–15:15 CT) closes on the first
/// event of day 2 (17:00 CT; no event in the pause), so exactly one decision falls between
/// the two days, stamped at that event; neither it nor the first decision of day 2 (17:05 CT,
/// overnight phase) enters; and the regime history carries over the session change (SIGNALS
/// §1: bars, Battle Navale and the regime history are not reset), so day 2 has no warm-up.
#[test]
fn first_bar_of_a_day_decides_late_but_never_enters_and_keeps_the_regime() {
    let dir = tempfile::tempdir().expect("tmp");
    run(Input::Synthetic { seed: 5, days: 2 }, dir.path());
    let rows = decision_rows(dir.path());
    // 2024-03-13 15:15 CT = 20:15 UTC; day 2 starts at 17:00 CT = 22:00 UTC.
    let (day1_end, day2_start) = (1_710_360_900_000_000_000u64, 1_710_367_200_000_000_000u64);
    let between: Vec<_> = rows
        .iter()
        .enumerate()
        .filter(|(_, r)| r.0 >= day1_end && r.0 < day2_start + 300_000_000_000)
        .collect();
    assert_eq!(between.len(), 1, "one late close between the days: {between:?}");
    let (k, late) = between[0];
    assert!(
        late.0 >= day2_start && late.0 < day2_start + 60_000_000_000,
        "stamped at day 2's first event: {late:?}"
    );
    let next = &rows[k + 1];
    assert!(
        next.0 >= day2_start + 300_000_000_000 && next.0 < day2_start + 301_000_000_000,
        "17:05 CT: {next:?}"
    );
    for r in [late, next] {
        assert!(r.2 != "entry", "no entry across the break: {r:?}");
        assert_ne!(r.1, "warmup", "the regime history is not reset: {r:?}");
    }
}
