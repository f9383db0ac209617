//! The ML loop end to end on the synthetic market: a backtest → `mia dataset` (one row per
//! entry signal, journaled snapshot, triple-barrier label) → `mia train` (purged k-fold, floors,
//! export) → `mia backtest --model`: the filter in the signal stage scores exactly the
//! dataset's entries, and approves exactly those `mia predict` puts at or above the threshold.

use mia_runtime::pipeline::Schedule;
use mia_tools::app::config::Config;
use mia_tools::app::input::Input;
use mia_tools::app::session::{run_session, RunMode, SessionOptions};
use mia_tools::app::summary::SessionSummary;
use mia_tools::ml::{dataset, predict, read_csv, train, MlConfig};
use std::path::Path;

/// The default configuration with the threshold strategy (these tests depend on its trades;
/// the default strategy may change).
fn threshold_config() -> Config {
    let mut c = Config::default();
    c.signal.strategy = mia_signal::strategy::registry::StrategyKind::Threshold;
    c
}

const EVENTS: u64 = 1_500_000;

fn opts(cfg: Config, out: &Path) -> SessionOptions {
    SessionOptions {
        input: Input::Synthetic { seed: 4, days: 2 },
        config: cfg,
        mode: Some(Schedule::Inline),
        out: Some(out.to_path_buf()),
        progress: false,
        run_mode: RunMode::Backtest,
        pace: None,
        max_events: Some(EVENTS),
        profile: None,
        on_progress: None,
    }
}

fn counter(s: &SessionSummary, key: &str) -> u64 {
    let line = &s.notes.iter().find(|(k, _)| *k == "ml").expect("ml note").1;
    let i = line.find(key).unwrap_or_else(|| panic!("{key} in {line}")) + key.len();
    line[i..].split(|c: char| !c.is_ascii_digit()).find(|t| !t.is_empty()).expect("n").parse().expect("n")
}

#[test]
fn dataset_train_and_filtered_backtest_agree() {
    let dir = tempfile::tempdir().expect("tmp");
    let run = dir.path().join("base");
    let base = run_session(&opts(threshold_config(), &run)).expect("base run");
    assert!(base.trades > 0, "the base run traded");

    let ml = MlConfig {
        folds: 3,
        trees: 20,
        min_auc: 0.0,
        max_log_loss: 10.0,
        min_samples: 10,
        ..MlConfig::default()
    };
    let csv = dir.path().join("d.csv");
    let st = dataset::build(std::slice::from_ref(&run), &ml, &csv).expect("dataset");
    assert!(st.rows >= 20, "{st:?}");
    assert_eq!(st.no_snapshot, 0, "every entry has its journaled snapshot");
    assert!(st.traded > 0 && st.traded <= st.rows, "{st:?}");
    let (h, rows) = read_csv(&csv).expect("read");
    let col = |n: &str| h.iter().position(|c| c == n).expect(n);
    let horizon = ml.label_horizon_s * 1_000_000_000;
    for r in &rows {
        let (ts, end): (u64, u64) =
            (r[col("ts_ns")].parse().expect("ts"), r[col("t_end_ns")].parse().expect("end"));
        assert!(end >= ts && end <= ts + horizon, "label window inside the time limit");
        let label = r[col("tb_label")].as_str();
        assert!(matches!(label, "1" | "-1" | "0"));
        assert_eq!(r[col("y")] == "1", label == "1");
        if label == "0" {
            assert_eq!(end, ts + horizon, "a time-limit label ends at the limit");
        }
    }
    assert!(rows
        .windows(2)
        .all(|w| w[0][col("ts_ns")].parse::<u64>().ok() <= w[1][col("ts_ns")].parse::<u64>().ok()));

    let data = train::Dataset::load(&csv).expect("load");
    let o = train::train(&data, &ml).expect("train");
    assert!(o.failed.is_empty(), "{}", o.report);
    assert!(o.report.contains("against no filter"), "{}", o.report);
    // Calibrated by default: the scaling is in the exported model and named in the report;
    // or, when a fold's scores do not rank the label (slope ≤ 0 on this small set), the run
    // goes on uncalibrated and the report says why.
    match o.calibration {
        Some(c) => {
            assert!(o.report.contains(&format!("platt a {:.4}", c.a)), "{}", o.report);
            assert_eq!(o.model.as_ref().expect("exported").calibration(), Some(c));
        }
        None => {
            assert!(o.report.contains("calibration: refused ("), "{}", o.report);
            assert_eq!(o.model.as_ref().expect("exported").calibration(), None);
        }
    }
    let model = dir.path().join("model.json");
    o.model.expect("exported").save(&model).expect("save");

    // `mia predict` on the dataset: the probabilities the filter will compute at each entry.
    let p = predict::predict_csv(&model, &csv).expect("predict");
    assert_eq!(p.len(), rows.len());
    let mut sorted = p.clone();
    sorted.sort_by(f64::total_cmp);
    let thr = sorted[sorted.len() / 2];
    assert!(thr > 0.0 && thr < 1.0);
    let want_approved = p.iter().filter(|&&x| x >= thr).count() as u64;
    assert!(want_approved > 0 && (want_approved as usize) < rows.len(), "the median splits the entries");

    let mut cfg = threshold_config();
    cfg.ml.model = model.display().to_string();
    cfg.ml.threshold = thr;
    let f = run_session(&opts(cfg, &dir.path().join("filtered"))).expect("filtered run");
    let (approved, rejected) = (counter(&f, "approved "), counter(&f, "rejected "));
    assert_eq!(approved + rejected, rows.len() as u64, "the filter scores exactly the dataset's entries");
    assert_eq!(approved, want_approved, "and approves exactly what mia predict puts over the threshold");
    // (The round-trip count may not fall: `[risk] max_trades_per_day` caps both runs.)
    assert_ne!(f.digest, base.digest, "the filter changed the decisions");
}
