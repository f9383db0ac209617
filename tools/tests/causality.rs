//! Causality of the signal engine (issue 8 proofs): feeding the same stream with its future
//! truncated never changes a decision output already produced. Every decision of the engine
//! (`decisions.csv`: regime, scores, `C(d)`, outcome, the entry of the default day included)
//! and every pattern detection (`detections.csv`) made before the truncation point must be in
//! the truncated run, identical, and nothing else before that point. The day is the default
//! session (seed 65), on which the engine enters once (docs/strategy.md "The default
//! session").

use mia_tools::app::config::Config;
use mia_tools::app::input::Input;
use mia_tools::app::session::{run_session, RunMode, SessionOptions};
use proptest::prelude::*;
use std::path::Path;
use std::sync::OnceLock;

/// Market events of the reference run (one synthetic day, seed 65: ≈ 2.07 M events).
const FULL: u64 = 2_500_000;

/// Rows of a run-folder CSV keyed by their first column (ns).
fn rows(out: &Path, file: &str) -> Vec<(u64, String)> {
    let text = std::fs::read_to_string(out.join(file)).expect(file);
    text.lines()
        .skip(1)
        .map(|l| {
            let ts = l.split(',').next().and_then(|x| x.parse().ok()).expect("ts");
            (ts, l.to_string())
        })
        .collect()
}

/// The decisions and the detections of a run of the first `max_events` market events.
fn outputs(max_events: Option<u64>, out: &Path) -> [Vec<(u64, String)>; 2] {
    let mut config = Config::default();
    config.signal.strategy = mia_signal::strategy::registry::StrategyKind::Elite;
    config.journal.enabled = false;
    let opts = SessionOptions {
        input: Input::Synthetic { seed: 65, days: 1 },
        config,
        mode: None,
        out: Some(out.to_path_buf()),
        progress: false,
        run_mode: RunMode::Backtest,
        on_progress: None,
        max_events,
        pace: None,
        profile: None,
    };
    run_session(&opts).expect("session");
    [rows(out, "decisions.csv"), rows(out, "detections.csv")]
}

fn full() -> &'static [Vec<(u64, String)>; 2] {
    static FULL_RUN: OnceLock<[Vec<(u64, String)>; 2]> = OnceLock::new();
    FULL_RUN.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tmp");
        outputs(Some(FULL), dir.path())
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4, ..ProptestConfig::default() })]

    #[test]
    fn truncating_the_future_never_changes_past_decisions(k in 200_000u64..FULL) {
        let [decisions, detections] = full();
        // one decision per 5-minute bar (266), one of them the day's entry; ≈ 30 detections
        prop_assert!(decisions.len() > 250, "the reference run decides at every decision bar");
        prop_assert!(decisions.iter().any(|d| d.1.contains(",entry,")), "and enters once");
        prop_assert!(detections.len() > 20, "the reference run detects patterns");
        let dir = tempfile::tempdir().expect("tmp");
        let [cut_dec, cut_det] = outputs(Some(k), dir.path());
        // The truncated run ends at some event time; everything it emitted must be the
        // reference run's output up to that time, in the same order.
        let end = cut_dec.last().map_or(0, |x| x.0);
        for (all, cut) in [(decisions, &cut_dec), (detections, &cut_det)] {
            let before: Vec<_> = all.iter().filter(|x| x.0 <= end).cloned().collect();
            prop_assert_eq!(cut, &before);
        }
    }
}
