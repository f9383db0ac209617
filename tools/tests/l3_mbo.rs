//! L3 FIFO end to end: the synthetic session written as MBO (`mia gen --schema mbo`) and
//! backtested with `[sim.queue] model = "l3_fifo"`: the venue's queue runs from the raw MBO
//! records (the summary names it), the bracket targets rest and fill through it, and inline,
//! threaded and journal replay give the same digest. On MBP input the model falls back and the
//! summary says so.

use std::path::Path;

use mia_exec::queue::QueueModelKind;
use mia_runtime::pipeline::Schedule;
use mia_signal::strategy::registry::StrategyKind;
use mia_tools::app::config::Config;
use mia_tools::app::input::Input;
use mia_tools::app::session::{generate, run_session, GenSchema, RunMode, SessionOptions};
use mia_tools::app::summary::SessionSummary;

fn run(
    input: Input,
    mode: Schedule,
    out: Option<&Path>,
    config: Config,
    max_events: Option<u64>,
) -> SessionSummary {
    let opts = SessionOptions {
        input,
        config,
        mode: Some(mode),
        out: out.map(Path::to_path_buf),
        progress: false,
        run_mode: RunMode::Backtest,
        on_progress: None,
        max_events,
        pace: None,
        profile: None,
    };
    match run_session(&opts) {
        Ok(s) => s,
        Err(e) => panic!("run failed: {e:#}"),
    }
}

/// The random-entry baseline (brackets: a resting GTC limit target per trade) under `model`,
/// made to trade often.
fn config(model: QueueModelKind) -> Config {
    let mut c = Config::default();
    c.signal.strategy = StrategyKind::Random;
    // Many entries with near targets, and no risk stop: resting target limits that fill
    // through the queue model on any synthetic day (not only on a lucky one).
    c.signal.random.entry_probability = 0.3;
    c.signal.random.target_ticks = 6;
    c.risk = mia_exec::risk::RiskConfig::permissive();
    c.sim.queue.model = model;
    c
}

fn venue_note(s: &SessionSummary) -> &str {
    s.notes.iter().find(|(k, _)| *k == "venue").map_or("", |(_, v)| v.as_str())
}

#[test]
fn an_mbo_session_backtests_with_l3_fifo_at_the_venue_and_replays_the_same() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mbo = dir.path().join("s1.mbo.dbn");
    generate(1, 1, GenSchema::Mbo, &mbo).expect("gen --schema mbo");
    let out = dir.path().join("bt");
    let a = run(Input::Dbn(mbo.clone()), Schedule::Inline, Some(&out), config(QueueModelKind::L3Fifo), None);
    let note = venue_note(&a);
    assert!(note.contains("queue: l3_fifo (from ") && note.contains(" MBO records)"), "{note}");
    assert!(a.orders > 0 && a.fills > 0, "the baseline trades: {} orders", a.orders);
    let trades = std::fs::read_to_string(out.join("trades.csv")).expect("trades.csv");
    assert!(trades.lines().any(|l| l.ends_with(",target,") || l.contains(",target,")), "{trades}");

    let t = run(Input::Dbn(mbo.clone()), Schedule::Threaded, None, config(QueueModelKind::L3Fifo), None);
    assert_eq!((a.events, a.digest.as_str()), (t.events, t.digest.as_str()), "threaded = inline");
    let j = run(
        Input::Journal(out.join("journal")),
        Schedule::Inline,
        None,
        config(QueueModelKind::L3Fifo),
        None,
    );
    assert_eq!((a.events, a.digest.as_str()), (j.events, j.digest.as_str()), "journal replay = backtest");
    assert!(venue_note(&j).contains("queue: l3_fifo (from "), "the journal carries the raw MBO records");

    // The same input under risk_averse runs the L2 model (same events). On this session it now
    // gives the same fills as l3_fifo: the difference seen before came from a venue defect (a
    // level shift inside one record capped the L2 queue ahead to 0; fixed in exec/src/sim.rs,
    // see docs/execution.md, cross-check). What L3 changes is proven on hand-built books
    // (exec/tests/l3_venue.rs).
    let ra = run(Input::Dbn(mbo), Schedule::Inline, None, config(QueueModelKind::RiskAverse), None);
    assert_eq!(ra.events, a.events);
    assert!(venue_note(&ra).contains("queue: risk_averse"), "{}", venue_note(&ra));
}

#[test]
fn on_mbp_input_l3_fifo_falls_back_and_the_summary_says_so() {
    let s = run(
        Input::Synthetic { seed: 1, days: 1 },
        Schedule::Inline,
        None,
        config(QueueModelKind::L3Fifo),
        Some(50_000),
    );
    let note = venue_note(&s);
    assert!(
        note.contains("queue: l3_fifo needs MBO input, this input has no MBO records: ran as risk_averse"),
        "{note}"
    );
}
