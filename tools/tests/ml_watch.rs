//! `[ml] watch` in a paper session (synthetic source, real-time pacing at high speed): the
//! session opens with a model approving every entry; mid-run the watched file is replaced
//! (atomically) by a model rejecting every entry, then overwritten with garbage. The good
//! replacement is journaled, announced and adopted (rejections appear, one swap); the corrupt
//! one is refused and named, and the session carries on to its end. A journal replay with no
//! `[ml]` settings gives the paper session's digest.

use mia_journal::{JournalReader, JournalRecord};
use mia_ml::{FlatEnsemble, FlatLogistic, MemberWeights, Members};
use mia_model::msg::{ControlKind, Msg};
use mia_tools::app::config::Config;
use mia_tools::app::input::Input;
use mia_tools::app::live::{run_live, DataKind, LiveMode, LiveOptions};
use mia_tools::app::session::{run_session, RunMode, SessionOptions};
use mia_tools::app::summary::SessionSummary;
use mia_tools::ml::{ML_FEATURES, ML_N, MODELS_DIR};
use std::path::Path;
use std::time::Duration;

const EVENTS: u64 = 400_000;

/// The default configuration with the threshold strategy (this test depends on its entries;
/// the default strategy may change).
fn threshold_config() -> Config {
    let mut c = Config::default();
    c.signal.strategy = mia_signal::strategy::registry::StrategyKind::Threshold;
    c
}

/// A logistic-only ensemble whose probability is `sigmoid(bias)` whatever the input.
fn constant_model(path: &Path, bias: f64) {
    let lr = FlatLogistic::<ML_N>::new([0.0; ML_N], bias, [0.0; ML_N], [0.0; ML_N]).expect("lr");
    let e = FlatEnsemble::new(
        ML_FEATURES,
        Members { lr: Some(lr), ..Members::default() },
        MemberWeights::default(),
        0.7,
    )
    .expect("ensemble");
    e.save(path).expect("save");
}

fn opts(input: Input, config: Config, run_mode: RunMode, out: &Path) -> SessionOptions {
    SessionOptions {
        input,
        config,
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

fn note(s: &SessionSummary, key: &str) -> String {
    s.notes.iter().find(|(k, _)| *k == key).map(|(_, v)| v.clone()).unwrap_or_else(|| panic!("{key} note"))
}

fn count(line: &str, key: &str) -> u64 {
    let i = line.find(key).unwrap_or_else(|| panic!("{key} in {line}")) + key.len();
    line[i..].split(|c: char| !c.is_ascii_digit()).find(|t| !t.is_empty()).expect("n").parse().expect("n")
}

/// Polls `f` every 10 ms while the session thread runs; panics if the session ends first.
fn wait_while_running(
    what: &str,
    session: &std::thread::JoinHandle<anyhow::Result<SessionSummary>>,
    f: impl Fn() -> bool,
) {
    while !f() {
        assert!(!session.is_finished(), "the paper session ended before {what}: make it longer");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn paper_session_adopts_a_replaced_model_refuses_a_corrupt_one_and_replays() {
    let dir = tempfile::tempdir().expect("tmp");
    let watched = dir.path().join("model.json");
    constant_model(&watched, 10.0); // approves everything
    let reject_all = dir.path().join("reject.json.tmp");
    constant_model(&reject_all, -10.0);
    let reject_bytes = std::fs::read(&reject_all).expect("bytes");

    let mut cfg = threshold_config();
    cfg.ml.model = watched.display().to_string();
    cfg.ml.watch = true;
    cfg.ml.watch_ms = 20;
    let out = dir.path().join("paper");
    let live = LiveOptions {
        mode: LiveMode::Paper,
        session: opts(Input::Synthetic { seed: 2, days: 1 }, cfg, RunMode::Paper, &out),
        data: Some(DataKind::Synthetic),
        venue: None,
        // Slow enough that the session outlives the replacements below by many polls.
        speed: Some(4_000.0),
        live_flag: false,
    };
    let session = std::thread::spawn(move || run_live(live));

    // The session has started once it has journaled its opening model.
    let models = out.join(MODELS_DIR);
    wait_while_running("its opening model was journaled", &session, || models.join("0.json").is_file());
    std::fs::rename(&reject_all, &watched).expect("replace the model atomically");
    wait_while_running("the replacement was published", &session, || models.join("1.json").is_file());
    // A corrupt replacement (written in place): refused, the reject-all model stays.
    std::fs::write(&watched, b"{\"kind\": \"ensemble\", \"version\": ").expect("corrupt");
    std::thread::sleep(Duration::from_millis(300)); // 15 polls
    assert!(!session.is_finished(), "the session must still run when the corrupt file is seen");
    let paper = session.join().expect("session thread").expect("paper session");

    assert_eq!(paper.events, EVENTS, "the session ran to its end");
    let ml = note(&paper, "ml");
    assert!(ml.contains("swaps: 1"), "{ml}");
    assert!(count(&ml, "rejected ") > 0, "the reject-all model was adopted: {ml}");
    let watch = note(&paper, "ml watch");
    assert!(watch.contains("published 1 (1), refused 1"), "{watch}");
    assert!(watch.contains("model.json"), "the refusal names the file: {watch}");
    assert_eq!(std::fs::read(models.join("1.json")).expect("journaled"), reject_bytes);
    assert!(!models.join("2.json").exists(), "the corrupt file was not journaled");

    // The announcement is a journaled input.
    let (recs, _) = JournalReader::read_all(out.join("journal")).expect("journal");
    let published: Vec<u64> = recs
        .iter()
        .filter_map(|r| match r {
            JournalRecord::Msg(Msg::Control(c)) if c.kind == ControlKind::ModelPublished => Some(c.arg),
            _ => None,
        })
        .collect();
    assert_eq!(published, vec![1]);

    // `mia replay` of the journal (no [ml] settings): the journaled models, the same digest.
    let mut r = opts(
        Input::Journal(out.join("journal")),
        threshold_config(),
        RunMode::Replay,
        &dir.path().join("replay"),
    );
    r.max_events = None;
    let replay = run_session(&r).expect("replay");
    assert_eq!(replay.digest, paper.digest, "replay = paper session");
    assert_eq!(count(&note(&replay, "ml"), "rejected "), count(&ml, "rejected "));
}
