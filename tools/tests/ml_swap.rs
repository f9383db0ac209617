//! The ML entry filter in a backtest, and its hot swap as a sequenced input: a session opens
//! with a model that approves every entry, and a second model that rejects every entry is
//! published mid-run (journaled to `RUN_DIR/models/`, announced by a scheduled
//! `ModelPublished` input). Decisions differ before and after the swap, a journal replay with
//! no `[ml]` settings gives the same digest, and without the journaled model the replay
//! differs (so the test can fail).

use mia_journal::{JournalReader, JournalRecord};
use mia_ml::{FlatEnsemble, FlatLogistic, MemberWeights, Members};
use mia_model::msg::Msg;
use mia_runtime::pipeline::Schedule;
use mia_tools::app::config::Config;
use mia_tools::app::input::Input;
use mia_tools::app::session::{run_session, run_session_with, RunMode, SessionExtras, SessionOptions};
use mia_tools::app::summary::SessionSummary;
use mia_tools::ml::{ModelPublisher, ML_FEATURES, ML_N, MODELS_DIR};
use std::path::{Path, PathBuf};

/// The default configuration with the threshold strategy (these tests depend on its trades;
/// the default strategy may change).
fn threshold_config() -> Config {
    let mut c = Config::default();
    c.signal.strategy = mia_signal::strategy::registry::StrategyKind::Threshold;
    c
}

const EVENTS: u64 = 400_000;

/// A logistic-only ensemble whose probability is `sigmoid(bias)` whatever the input.
fn constant_model(dir: &Path, name: &str, bias: f64) -> PathBuf {
    let lr = FlatLogistic::<ML_N>::new([0.0; ML_N], bias, [0.0; ML_N], [0.0; ML_N]).expect("lr");
    let e = FlatEnsemble::new(
        ML_FEATURES,
        Members { lr: Some(lr), ..Members::default() },
        MemberWeights::default(),
        0.7,
    )
    .expect("ensemble");
    let p = dir.join(name);
    e.save(&p).expect("save");
    p
}

fn opts(input: Input, cfg: Config, run_mode: RunMode, out: &Path) -> SessionOptions {
    SessionOptions {
        input,
        config: cfg,
        mode: Some(Schedule::Inline),
        out: Some(out.to_path_buf()),
        progress: false,
        run_mode,
        pace: None,
        max_events: Some(EVENTS),
        profile: None,
        on_progress: None,
    }
}

fn ml_line(s: &SessionSummary) -> String {
    s.notes.iter().find(|(k, _)| *k == "ml").map(|(_, v)| v.clone()).expect("an ml note")
}

/// `approved N rejected M` from the summary's ml line.
fn counts(line: &str) -> (u64, u64) {
    let num = |key: &str| -> u64 {
        let i = line.find(key).unwrap_or_else(|| panic!("{key} in {line}")) + key.len();
        line[i..]
            .split(|c: char| !c.is_ascii_digit())
            .find(|t| !t.is_empty())
            .expect("a count")
            .parse()
            .expect("n")
    };
    (num("approved "), num("rejected "))
}

#[test]
fn no_model_means_filter_off_and_the_summary_says_so() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = run_session(&opts(
        Input::Synthetic { seed: 2, days: 1 },
        threshold_config(),
        RunMode::Backtest,
        dir.path(),
    ))
    .expect("run");
    let line = ml_line(&s);
    assert!(line.starts_with("off (no model)"), "{line}");
    assert!(mia_tools::app::summary::render_summary(&s).contains("ml: off (no model)"));
}

#[test]
fn a_swapped_model_changes_decisions_and_the_replay_matches() {
    let dir = tempfile::tempdir().expect("tmp");
    let approve_all = constant_model(dir.path(), "all.json", 10.0);
    let reject_all = constant_model(dir.path(), "none.json", -10.0);
    let input = Input::Synthetic { seed: 2, days: 1 };
    let mut cfg = threshold_config();
    cfg.ml.model = approve_all.display().to_string();

    // Without a swap: the approve-all model lets every entry through.
    let base_out = dir.path().join("base");
    let base =
        run_session(&opts(input.clone(), cfg.clone(), RunMode::Backtest, &base_out)).expect("base run");
    let (approved_all, rejected_none) = counts(&ml_line(&base));
    assert!(approved_all >= 4, "enough entries to swap in the middle: {}", ml_line(&base));
    assert_eq!(rejected_none, 0);

    // The swap lands at the event time of the middle entry's input.
    let (recs, _) = JournalReader::read_all(base_out.join("journal")).expect("journal");
    let intents: Vec<u64> = recs
        .iter()
        .filter_map(|r| if let JournalRecord::Msg(Msg::Intent(i)) = r { Some(i.ts) } else { None })
        .collect();
    assert!(!intents.is_empty(), "the base run traded");
    let swap_ts = intents[intents.len() / 2];

    let run_out = dir.path().join("swap");
    let mut publisher = ModelPublisher::new(Some(&run_out), 0.0);
    let control = publisher.publish(&reject_all).expect("publish");
    let extras = SessionExtras {
        scheduled: vec![(swap_ts, control)],
        model_board: Some(publisher.board()),
        ..SessionExtras::default()
    };
    let s = run_session_with(&opts(input, cfg, RunMode::Backtest, &run_out), extras).expect("swap run");
    let line = ml_line(&s);
    let (approved, rejected) = counts(&line);
    assert!(line.contains("swaps: 1"), "{line}");
    assert!(approved > 0 && approved < approved_all, "entries approved before the swap only: {line}");
    assert!(rejected > 0, "entries rejected after the swap: {line}");
    assert_ne!(s.digest, base.digest, "the swap changed the decisions");
    assert!(
        run_out.join(MODELS_DIR).join("0.json").is_file()
            && run_out.join(MODELS_DIR).join("1.json").is_file()
    );

    // `mia replay` of the journal, default config: the journaled models, the same digest.
    let replay = |out: &str| {
        let mut o = opts(
            Input::Journal(run_out.join("journal")),
            threshold_config(),
            RunMode::Replay,
            &dir.path().join(out),
        );
        o.max_events = None;
        run_session(&o)
    };
    let r = replay("replay").expect("replay");
    assert_eq!(r.digest, s.digest, "replay = recorded run");
    assert_eq!(counts(&ml_line(&r)), (approved, rejected));

    // Without the published model the replay cannot adopt it: different decisions.
    std::fs::remove_file(run_out.join(MODELS_DIR).join("1.json")).expect("rm");
    let r2 = replay("replay2").expect("replay without the model");
    assert_ne!(r2.digest, s.digest, "the journaled model is what makes the replay match");
    assert!(ml_line(&r2).contains("missed: 1"), "{}", ml_line(&r2));
}
