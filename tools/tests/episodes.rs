//! The signal engine's pattern detectors against the synthetic market's planted, labelled
//! episodes (`mia episodes`, docs/strategy.md "Ground truth"): seeds 1–3, one day each, must
//! reach each pattern's recall and precision floor. The floors sit above what a detector
//! firing at its own unlabelled rate, blind to the episodes, would score (docs/strategy.md
//! gives that chance level per pattern), and below the 20-seed figures, so the test fails
//! when a detector stops seeing its episode or starts firing at random in the windows.

use mia_feeds::synth::EpisodePattern;
use mia_tools::app::config::Config;
use mia_tools::app::episodes::{render, run};

/// (pattern, recall floor, precision floor). The confluence zone is not gated: over seeds 1–20
/// it finds 7 of its 14 planted episodes (recall 0.50, precision 0.33, docs/strategy.md), and
/// on seeds 1–3 (two planted, none found) a floor would either fail on a correct detector or
/// sit at zero; the test only checks that it is planted and fires.
const FLOORS: [(EpisodePattern, f64, f64); 4] = [
    (EpisodePattern::BaseBreak, 0.6, 0.6),
    (EpisodePattern::GammaPin, 0.8, 0.8),
    (EpisodePattern::Headfake, 0.6, 0.3),
    (EpisodePattern::Microstructure, 0.6, 0.1),
];

#[test]
fn planted_episodes_are_detected_above_their_floors() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = run(1..=3, &Config::default(), dir.path()).expect("episode runs");
    let table = render(&s);
    assert_eq!(s.days, 3, "{table}");
    for (p, recall, precision) in FLOORS {
        let x = s.by_pattern[usize::from(p.id() - 1)];
        assert!(x.labels >= 3, "{}: {} labels\n{table}", p.name(), x.labels);
        let r = x.recall().unwrap_or(0.0);
        let q = x.precision().unwrap_or(0.0);
        assert!(r >= recall, "{}: recall {r:.2} < floor {recall}\n{table}", p.name());
        assert!(q >= precision, "{}: precision {q:.2} < floor {precision}\n{table}", p.name());
    }
    let zone = s.by_pattern[usize::from(EpisodePattern::ConfluenceZone.id() - 1)];
    assert!(zone.labels >= 2, "zone labels\n{table}");
    assert!(zone.background + zone.in_windows > 0, "the zone detector never fires\n{table}");
    // Every seed's run folder holds the labels beside the detections.
    for seed in 1..=3 {
        let d = dir.path().join(format!("seed-{seed}"));
        for f in ["episodes.csv", "detections.csv", "engine_stats.csv"] {
            assert!(d.join(f).is_file(), "{} missing", d.join(f).display());
        }
    }
}
