//! The kill switch end to end (issue 9): by file, by POSIX signal, by `mia kill`, and at a
//! scheduled event time. Each run trades (threshold strategy, permissive risk), is killed
//! mid-run, and must end flat, Halted by `kill_switch` with the right source, with the
//! `Control::Kill` in its journal; the journal replays (inline and threaded) to the same
//! digest.
//!
//! The three live paths go through the session's control thread (wall-clock timing); the
//! progress hook, which runs on the sequencer's thread in inline mode, triggers the kill after
//! `TRIGGER` events and holds the feed long enough for the control thread to push it, so the
//! kill lands mid-run. Only the signal test installs signal handlers (the tests of this binary
//! run in parallel in one process).

mod common;
use mia_exec::kill::{kill_control, KillSource};
use mia_exec::risk::RiskConfig;
use mia_journal::{JournalReader, JournalRecord};
use mia_model::msg::{ControlKind, Msg};
use mia_runtime::pipeline::Schedule;
use mia_tools::app::config::Config;
use mia_tools::app::control::request_kill;
use mia_tools::app::input::Input;
use mia_tools::app::session::{run_session_with, RunMode, SessionExtras, SessionOptions};
use mia_tools::app::summary::SessionSummary;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

const EVENTS: u64 = 400_000;
/// The hook fires at the first progress call at or past this many events (mid-run).
const TRIGGER: u64 = 131_072;
/// How long the hook holds the feed after triggering (the control thread polls every 1 ms).
const HOLD: Duration = Duration::from_millis(300);

fn config(control_thread: bool, signals: bool) -> Config {
    let mut cfg = common::threshold_config();
    cfg.signal.threshold.delta_entry = 1;
    cfg.signal.threshold.cooldown_ms = 0;
    cfg.risk = RiskConfig::permissive();
    cfg.control.backtest = control_thread;
    cfg.control.poll_ms = 1;
    cfg.control.signals = signals;
    cfg
}

fn opts(
    input: Input,
    cfg: Config,
    mode: Schedule,
    out: Option<&Path>,
    hook: Option<fn(u64)>,
) -> SessionOptions {
    SessionOptions {
        input,
        config: cfg,
        mode: Some(mode),
        out: out.map(Path::to_path_buf),
        progress: false,
        run_mode: RunMode::Backtest,
        pace: None,
        max_events: Some(EVENTS),
        profile: None,
        on_progress: hook,
    }
}

fn synth() -> Input {
    Input::Synthetic { seed: 3, days: 1 }
}

fn run(o: &SessionOptions, extras: SessionExtras) -> SessionSummary {
    match run_session_with(o, extras) {
        Ok(s) => s,
        Err(e) => panic!("run failed: {e:#}"),
    }
}

/// The `Control::Kill` inputs in a journal.
fn journaled_kills(journal: &Path) -> Vec<KillSource> {
    let (records, rec) = match JournalReader::read_all(journal) {
        Ok(r) => r,
        Err(e) => panic!("{}: {e}", journal.display()),
    };
    assert!(rec.is_clean(), "{rec:?}");
    records
        .iter()
        .filter_map(|r| match r {
            JournalRecord::Msg(Msg::Control(c)) if c.kind == ControlKind::Kill => {
                Some(KillSource::from_arg(c.arg))
            }
            _ => None,
        })
        .collect()
}

/// Flat, Halted by the kill switch from `source`, the kill journaled, and the journal replays
/// to the same digest in both modes.
fn check_killed(s: &SessionSummary, out: &Path, source: KillSource, cfg: &Config) {
    assert!(s.orders > 0 && s.fills > 0, "the run traded ({} orders)", s.orders);
    assert_eq!(s.position, 0, "flat at the end");
    assert_eq!(
        (s.risk.0.as_str(), s.risk.1.as_deref(), s.kill_source.as_deref()),
        ("halted", Some("kill_switch"), Some(source.name())),
        "risk state"
    );
    assert!(s.risk.2 > 0, "the stop has a time");
    assert!(s.exec.kills >= 1);
    assert!(s.inputs > s.events, "the kill was sequenced as an input");
    let kills = journaled_kills(&out.join("journal"));
    assert_eq!(kills.first(), Some(&source), "the kill is journaled with its source: {kills:?}");
    let text = std::fs::read_to_string(out.join("summary.txt")).expect("summary.txt");
    assert!(text.contains(&format!("risk: halted (kill_switch, by {}", source.name())), "{text}");
    for mode in [Schedule::Inline, Schedule::Threaded] {
        let o = SessionOptions {
            run_mode: RunMode::Replay,
            max_events: None,
            ..opts(Input::Journal(out.join("journal")), cfg.clone(), mode, None, None)
        };
        let r = run(&o, SessionExtras::default());
        assert_eq!(
            (r.digest.as_str(), r.events, r.inputs, r.fills, r.position),
            (s.digest.as_str(), s.events, s.inputs, s.fills, 0),
            "replay {mode:?}"
        );
        assert_eq!((r.risk.0.as_str(), r.kill_source.as_deref()), ("halted", Some(source.name())));
    }
}

static FILE_TARGET: Mutex<Option<PathBuf>> = Mutex::new(None);

fn file_hook(n: u64) {
    if n < TRIGGER {
        return;
    }
    let target = FILE_TARGET.lock().map(|mut g| g.take()).unwrap_or(None);
    if let Some(p) = target {
        std::fs::write(&p, b"operator: stop\n").expect("write the kill file");
        std::thread::sleep(HOLD);
    }
}

#[test]
fn kill_by_file_flattens_halts_and_replays() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("run");
    // An extra kill file outside the run directory ([control] kill_file).
    let file = dir.path().join("STOP-ALL");
    let mut cfg = config(true, false);
    cfg.control.kill_file = Some(file.clone());
    *FILE_TARGET.lock().expect("lock") = Some(file);
    let s = run(
        &opts(synth(), cfg.clone(), Schedule::Inline, Some(&out), Some(file_hook)),
        SessionExtras::default(),
    );
    check_killed(&s, &out, KillSource::File, &cfg);
}

static SIGNAL_SENT: AtomicBool = AtomicBool::new(false);

fn signal_hook_fn(n: u64) {
    if n >= TRIGGER && !SIGNAL_SENT.swap(true, Ordering::AcqRel) {
        signal_hook::low_level::raise(signal_hook::consts::SIGUSR1).expect("raise SIGUSR1");
        std::thread::sleep(HOLD);
    }
}

#[test]
fn kill_by_signal_flattens_halts_and_replays() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("run");
    let cfg = config(true, true);
    let s = run(
        &opts(synth(), cfg.clone(), Schedule::Inline, Some(&out), Some(signal_hook_fn)),
        SessionExtras::default(),
    );
    check_killed(&s, &out, KillSource::Signal, &cfg);
}

static CLI_REACHED: AtomicBool = AtomicBool::new(false);
static CLI_DONE: AtomicBool = AtomicBool::new(false);

fn cli_hook(n: u64) {
    if n < TRIGGER || CLI_REACHED.swap(true, Ordering::AcqRel) {
        return;
    }
    // Hold the feed until the operator (the test thread) has run `mia kill`, then let the
    // control thread see the file.
    for _ in 0..10_000 {
        if CLI_DONE.load(Ordering::Acquire) {
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    std::thread::sleep(HOLD);
}

#[test]
fn kill_by_cli_flattens_halts_and_replays() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("run");
    let cfg = config(true, false);
    let o = opts(synth(), cfg.clone(), Schedule::Inline, Some(&out), Some(cli_hook));
    let session = std::thread::spawn(move || run(&o, SessionExtras::default()));
    while !CLI_REACHED.load(Ordering::Acquire) {
        assert!(!session.is_finished(), "the session ended before the kill");
        std::thread::sleep(Duration::from_millis(1));
    }
    // What `mia kill RUN_DIR` calls.
    let written = request_kill(&out).expect("mia kill");
    assert_eq!(written, out.join("KILL"));
    CLI_DONE.store(true, Ordering::Release);
    let s = session.join().expect("session thread");
    check_killed(&s, &out, KillSource::Cli, &cfg);
}

/// The deterministic path: a kill scheduled at an event time gives the same run every time,
/// and its journal replays to the same digest.
#[test]
fn a_scheduled_kill_is_deterministic_and_replays() {
    let dir = tempfile::tempdir().expect("tmp");
    let cfg = config(false, false);
    // Learn an event time mid-run from an unkilled run's journal.
    let base_out = dir.path().join("base");
    let base =
        run(&opts(synth(), cfg.clone(), Schedule::Inline, Some(&base_out), None), SessionExtras::default());
    let (records, _) = JournalReader::read_all(base_out.join("journal")).expect("journal");
    let ts = records
        .iter()
        .filter_map(|r| if let JournalRecord::Msg(Msg::Market(e)) = r { Some(e.ts_recv) } else { None })
        .nth(TRIGGER as usize)
        .expect("a mid-run event");
    let scheduled = || SessionExtras {
        scheduled: vec![(ts, kill_control(KillSource::File))],
        ..SessionExtras::default()
    };
    let mut digests = Vec::new();
    for (i, mode) in [Schedule::Inline, Schedule::Threaded].into_iter().enumerate() {
        let out = dir.path().join(format!("k{i}"));
        let s = run(&opts(synth(), cfg.clone(), mode, Some(&out), None), scheduled());
        check_killed(&s, &out, KillSource::File, &cfg);
        // The kill, plus the base run's own controls (the synthetic session's pre-RTH chain
        // publication when the window reaches 08:00 CT).
        assert_eq!(s.inputs, base.inputs + 1, "one more control input than the unkilled run");
        let trades = std::fs::read_to_string(out.join("trades.csv")).expect("trades.csv");
        assert!(trades.lines().any(|l| l.contains(",kill,")), "a round trip closed by the kill: {trades}");
        digests.push(s.digest);
    }
    assert_eq!(digests[0], digests[1], "inline = threaded");
    assert_ne!(digests[0], base.digest, "the kill changed the decisions");
}
