//! `mia paper`, `mia collect` and the live guard on the synthetic source (no broker): the
//! paper path runs the backtest's decision code (same digest), collect trades nothing, `mia
//! live` refuses without both keys, and Ctrl-C flattens, stops and leaves a journal that
//! replays to the same digest.

mod common;
use mia_tools::app::input::Input;
use mia_tools::app::live::{run_live, LiveMode, LiveOptions};
use mia_tools::app::session::{run_session, RunMode, SessionOptions};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const EVENTS: u64 = 400_000;

fn opts(run_mode: RunMode, out: Option<&Path>) -> SessionOptions {
    SessionOptions {
        input: Input::Synthetic { seed: 2, days: 1 },
        config: common::threshold_config(),
        mode: None,
        out: out.map(Path::to_path_buf),
        progress: false,
        run_mode,
        pace: None,
        max_events: Some(EVENTS),
        profile: Some(mia_signal::engine::profiles::ProfileName::Paper),
        on_progress: None,
    }
}

fn live(mode: LiveMode, out: Option<&Path>, live_flag: bool) -> LiveOptions {
    let run_mode = match mode {
        LiveMode::Paper => RunMode::Paper,
        LiveMode::Live => RunMode::Live,
        LiveMode::Collect => RunMode::Collect,
    };
    LiveOptions {
        mode,
        session: opts(run_mode, out),
        data: Some(mia_tools::app::live::DataKind::Synthetic),
        venue: None,
        // ~8 h of event time per wall second: the test takes a few seconds.
        speed: Some(30_000.0),
        live_flag,
    }
}

#[test]
fn paper_on_the_synthetic_source_makes_the_backtests_decisions() {
    let dir = tempfile::tempdir().expect("tmp");
    let bt = run_session(&opts(RunMode::Backtest, None)).expect("backtest");
    let paper = run_live(live(LiveMode::Paper, Some(&dir.path().join("paper")), false)).expect("paper");
    assert_eq!(paper.events, EVENTS);
    assert!(bt.orders > 0, "the window trades (else the comparison says little)");
    assert_eq!((paper.digest.as_str(), paper.orders), (bt.digest.as_str(), bt.orders), "same decisions");
    assert!(dir.path().join("paper/journal").is_dir(), "everything journaled");
    let text = std::fs::read_to_string(dir.path().join("paper/summary.txt")).expect("summary");
    assert!(text.contains("run: paper (profile paper)"), "{text}");
}

#[test]
fn collect_records_and_trades_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = run_live(live(LiveMode::Collect, Some(&dir.path().join("c")), false)).expect("collect");
    assert_eq!(s.events, EVENTS);
    assert_eq!((s.orders, s.fills), (0, 0), "trading is off");
    assert!(s.signals > 0, "the signal stage still runs (features and snapshots are recorded)");
    assert!(dir.path().join("c/journal").is_dir() && dir.path().join("c/features").is_dir());
}

#[test]
fn live_refuses_without_the_config_key_and_the_flag() {
    for (enabled, flag) in [(false, false), (false, true), (true, false)] {
        let mut o = live(LiveMode::Live, None, flag);
        o.session.config.live.enabled = enabled;
        let e = run_live(o).expect_err("refused");
        assert!(e.to_string().contains("live"), "{e}");
    }
}

/// The binary: Ctrl-C during `mia paper` flattens, stops within the grace period, prints the
/// summary and exits 0; the journal it closed replays to the same digest.
#[test]
fn ctrl_c_stops_paper_cleanly_and_the_journal_replays() {
    let dir = tempfile::tempdir().expect("tmp");
    let cfg = dir.path().join("paper.toml");
    std::fs::write(&cfg, "[live]\ndata = \"synthetic\"\nstop_grace_ms = 300\n").expect("config");
    let out = dir.path().join("run");
    let mut child = Command::new(env!("CARGO_BIN_EXE_mia"))
        .args(["paper", "--speed", "3000", "--config"])
        .arg(&cfg)
        .arg("--out")
        .arg(&out)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn mia paper");
    // Let it trade for a while of event time (3000× wall time).
    std::thread::sleep(Duration::from_millis(2500));
    let pid = child.id().to_string();
    let sent = Command::new("kill").args(["-INT", &pid]).status().expect("kill -INT");
    assert!(sent.success());
    let started = Instant::now();
    let output = loop {
        if let Some(_status) = child.try_wait().expect("wait") {
            break child.wait_with_output().expect("output");
        }
        assert!(started.elapsed() < Duration::from_secs(60), "mia paper did not stop after Ctrl-C");
        std::thread::sleep(Duration::from_millis(50));
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "exit {:?}\n{stdout}\n{stderr}", output.status);
    assert!(stderr.contains("Ctrl-C: flattening"), "{stderr}");
    assert!(stdout.contains("run: paper"), "{stdout}");
    let digest = |text: &str| {
        text.lines().find_map(|l| l.strip_prefix("digest: ")).map(str::to_string).expect("digest line")
    };
    let replay = Command::new(env!("CARGO_BIN_EXE_mia"))
        .arg("replay")
        .arg(out.join("journal"))
        .arg("--out")
        .arg(dir.path().join("replay"))
        .output()
        .expect("mia replay");
    let rtext = String::from_utf8_lossy(&replay.stdout);
    assert!(replay.status.success(), "{rtext}\n{}", String::from_utf8_lossy(&replay.stderr));
    assert_eq!(digest(&rtext), digest(&stdout), "the journal replays to the paper session's digest");
}
