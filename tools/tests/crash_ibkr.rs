//! kill -9 of a `mia live` session trading against the fake TWS (an IB paper account on
//! loopback), then a restart with the same state directory:
//!
//! 1. the first process enters a native bracket (parent + OCA stop and target), the parent
//!    fills, the fill is journaled, and the process is killed with SIGKILL;
//! 2. its journal recovers: every record reads back, the fill the fake executed is in it;
//! 3. the second process finds the stop and target working and the position at the broker,
//!    cancels the orders, adopts the position (an `Adopted` report through the sequencer) and
//!    flattens it through risk: MIA's position and the fake's are both flat at the end;
//! 4. no order is sent twice and no order id is reused (the high-water mark in the state
//!    directory survives the crash);
//! 5. the second journal replays to the second session's digest, and the account id is in
//!    no file of either run.

use mia_feeds::ibkr::fake::{FakeConfig, FakeTws};
use mia_model::msg::{ExecKind, Msg};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod common;
use common::grep_dir;

const ACCOUNT: &str = "DU7654321";
const WAIT: Duration = Duration::from_secs(60);
/// 2026-12-01 15:00 UTC (09:00 in Chicago, inside the default risk session window).
const T0: i64 = 1_796_137_200;

/// A running `mia live`; killed if the test fails before it ends.
struct Session {
    child: Option<Child>,
    log: PathBuf,
    stdout: PathBuf,
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Some(c) = self.child.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Session {
    /// SIGINT, then the exit status and what it printed.
    fn interrupt(&mut self) -> (std::process::ExitStatus, String) {
        let mut c = self.child.take().expect("running");
        let pid = c.id().to_string();
        let _ = Command::new("kill").args(["-INT", &pid]).status();
        let status = c.wait().expect("session ends");
        (status, std::fs::read_to_string(&self.stdout).unwrap_or_default())
    }

    /// Waits for `pred`; on a timeout the panic shows the session's summary, its log and the
    /// fake's state.
    fn wait_for(&mut self, what: &str, fake: &FakeTws, mut pred: impl FnMut() -> bool) {
        let end = Instant::now() + WAIT;
        while Instant::now() < end {
            if pred() {
                return;
            }
            if std::fs::read_to_string(&self.log).is_ok_and(|t| t.contains("mia: error")) {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let (_, out) = self.interrupt();
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(40).collect::<Vec<_>>().into_iter().rev().collect();
        let mut snap = fake.snapshot();
        snap.frames.clear();
        panic!(
            "timed out waiting for {what}\n--- summary ---\n{out}\n--- log (tail) ---\n{}\n--- fake ---\n{snap:#?}",
            tail.join("\n")
        );
    }
}

fn mia(cfg: &Path, out: &Path, log: &Path) -> Session {
    let stdout = log.with_extension("out");
    let (log_file, out_file) =
        (std::fs::File::create(log).expect("log file"), std::fs::File::create(&stdout).expect("stdout file"));
    let child = Command::new(env!("CARGO_BIN_EXE_mia"))
        .args(["live", "--live", "--config"])
        .arg(cfg)
        .arg("--out")
        .arg(out)
        .env("MIA_IBKR_ACCOUNT", ACCOUNT)
        .env("RUST_LOG", "info")
        .stdout(out_file)
        .stderr(log_file)
        .spawn()
        .expect("start mia live");
    Session { child: Some(child), log: log.to_path_buf(), stdout }
}

/// The market while a session is subscribed: phase 1 is one-sided (a deep bid, buyers lifting
/// the offer: the threshold strategy goes long), phase 2 is balanced (no new entry).
fn feeder(fake: Arc<FakeTws>, phase: Arc<AtomicU8>, clock: Arc<AtomicI64>, done: Arc<AtomicBool>) {
    while !done.load(Ordering::Acquire) {
        let s = fake.snapshot();
        if !(s.connected && s.last_subs >= 1 && s.bid_ask_subs >= 1) {
            std::thread::sleep(Duration::from_millis(5));
            continue;
        }
        let t = clock.fetch_add(1, Ordering::AcqRel);
        let (bid, ask) = (6010.00, 6010.25);
        if phase.load(Ordering::Acquire) == 1 {
            fake.bid_ask(bid, ask, 300.0, 20.0, t);
            fake.trade(ask, 20.0, t);
        } else {
            fake.bid_ask(bid, ask, 50.0, 50.0, t);
            fake.trade(if t % 2 == 0 { ask } else { bid }, 1.0, t);
        }
        std::thread::sleep(Duration::from_millis(3));
    }
}

#[test]
fn kill_9_then_restart_recovers_the_journal_and_reconciles_without_duplicates() {
    let fake = Arc::new(
        FakeTws::start(FakeConfig {
            track_positions: true,
            accounts: ACCOUNT.into(),
            ..FakeConfig::default()
        })
        .expect("fake"),
    );
    let dir = tempfile::tempdir().expect("tmp");
    let state = dir.path().join("state");
    // The fake stamps its ticks with the wall clock: risk's session window (16:00–17:00 CT
    // closed by default) must not make the test depend on the time of day.
    let cfg = dir.path().join("live.toml");
    std::fs::write(
        &cfg,
        format!(
            "[live]\nenabled = true\ndata = \"ibkr\"\nvenue = \"ibkr\"\nstop_grace_ms = 500\nstate_dir = {state:?}\n\
             [ibkr]\nport = {}\nidle = \"sleep_us\"\nfuse = \"always\"\ndepth_levels = 0\nconnect_timeout_ms = 10000\nrequest_timeout_ms = 10000\n\
             [ibkr.chain]\nrefresh_secs = 3600\n\
             [signal]\nstrategy = \"threshold\"\n[signal.threshold]\ncooldown_ms = 2000\n\
             [risk]\nsession_windows = [\"00:00-24:00\"]\n",
            fake.port()
        ),
    )
    .expect("config");
    let (phase, clock, done) =
        (Arc::new(AtomicU8::new(1)), Arc::new(AtomicI64::new(T0)), Arc::new(AtomicBool::new(false)));
    let feed = {
        let (f, p, c, d) = (Arc::clone(&fake), Arc::clone(&phase), Arc::clone(&clock), Arc::clone(&done));
        std::thread::spawn(move || feeder(f, p, c, d))
    };

    // 1. The first process enters a bracket; the parent fills; kill -9 once it is journaled.
    let run1: PathBuf = dir.path().join("run1");
    let log1 = dir.path().join("run1.log");
    let mut first = mia(&cfg, &run1, &log1);
    first.wait_for("the bracket at the fake (parent, stop, target)", &fake, || {
        fake.snapshot().placed.len() >= 3
    });
    let placed1 = fake.snapshot().placed;
    let parent = placed1.iter().find(|o| o.parent_id == 0).expect("a parent order").clone();
    let children: Vec<i32> =
        placed1.iter().filter(|o| o.parent_id == parent.order_id).map(|o| o.order_id).collect();
    assert_eq!(children.len(), 2, "stop and target: {placed1:#?}");
    assert_eq!((parent.action.as_str(), parent.order_type.as_str()), ("BUY", "MKT"), "{parent:?}");
    phase.store(2, Ordering::Release);
    fake.fill(parent.order_id, parent.qty, 6010.25, 2.25).expect("the parent fills");
    first.wait_for("the fill in the first journal", &fake, || {
        !common::filled_reports(&common::journal_msgs(&run1).0).is_empty()
    });
    // Both edges ran on the pipeline's thread (`fuse = "always"`; `paper_ibkr` covers the
    // edge threads): the bracket went out and the fill came back through the fused polls.
    let text1 = std::fs::read_to_string(&log1).unwrap_or_default();
    assert!(text1.contains("ibkr: edges on the pipeline thread"), "{text1}");
    let mut killed = first.child.take().expect("running");
    killed.kill().expect("kill -9");
    let status = killed.wait().expect("reaped");
    assert!(!status.success(), "SIGKILL ends the process abnormally: {status:?}");

    // 2. The journal of the killed process recovers and holds the fill the broker executed.
    let (msgs1, read1) = common::journal_msgs(&run1);
    read1.expect("the killed session's journal reads to its end");
    let fills1 = common::filled_reports(&msgs1);
    assert_eq!(fills1.len(), 1, "exactly the one execution: {fills1:?}");
    assert_eq!((fills1[0].qty, fills1[0].price), (1, 6_010_250_000_000));
    let broker = fake.positions();
    assert_eq!(broker.iter().map(|p| p.qty).sum::<f64>(), 1.0, "the fake holds the position: {broker:?}");

    // 3. Restart with the same state directory: cancel, adopt, flatten.
    let before_restart = fake.snapshot().placed.len();
    let max_id1 = fake.snapshot().placed.iter().map(|o| o.order_id).max().expect("ids");
    let run2 = dir.path().join("run2");
    let log2 = dir.path().join("run2.log");
    let mut second = mia(&cfg, &run2, &log2);
    second.wait_for("the flattening order", &fake, || fake.snapshot().placed.len() > before_restart);
    let snap = fake.snapshot();
    for c in &children {
        assert!(snap.cancels.contains(c), "the orphaned child {c} was cancelled: {:?}", snap.cancels);
    }
    let flatten = snap.placed[before_restart].clone();
    assert_eq!((flatten.action.as_str(), flatten.order_type.as_str(), flatten.qty), ("SELL", "MKT", 1.0));
    assert!(flatten.order_id > max_id1, "ids never roll back: {} after {max_id1}", flatten.order_id);
    fake.fill(flatten.order_id, 1.0, 6010.00, 2.25).expect("the flatten fills");
    second.wait_for("the flatten fill in the second journal", &fake, || {
        !common::filled_reports(&common::journal_msgs(&run2).0).is_empty()
    });
    std::thread::sleep(Duration::from_millis(500));
    let (status2, stdout) = second.interrupt();
    done.store(true, Ordering::Release);
    feed.join().expect("feeder");
    let log2 = std::fs::read_to_string(&log2).unwrap_or_default();
    assert!(status2.success(), "second session: {status2:?}\n{stdout}\n{log2}");
    assert!(stdout.contains("adopted: 1"), "{stdout}");
    assert!(stdout.contains("position 0"), "MIA ends flat: {stdout}");
    let broker = fake.positions();
    assert_eq!(broker.iter().map(|p| p.qty).sum::<f64>(), 0.0, "the fake ends flat: {broker:?}");

    // 4. No order was sent twice, no id reused.
    let placed = fake.snapshot().placed;
    let mut ids: Vec<i32> = placed.iter().map(|o| o.order_id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), placed.len(), "every PlaceOrder has its own id: {placed:#?}");
    assert!(placed.iter().filter(|o| o.session >= 2).all(|o| o.order_id > max_id1));

    // 5. The second journal replays to its digest; the account id is nowhere.
    let (msgs2, read2) = common::journal_msgs(&run2);
    read2.expect("second journal");
    assert!(msgs2.iter().any(|m| matches!(m, Msg::Exec(r) if r.kind == ExecKind::Adopted && r.qty == 1)));
    let digest = |s: &str| s.lines().find_map(|l| l.strip_prefix("digest: ")).map(str::to_string);
    let live_digest = digest(&stdout).expect("digest line");
    let replay = Command::new(env!("CARGO_BIN_EXE_mia"))
        .arg("replay")
        .arg(run2.join("journal"))
        .arg("--out")
        .arg(dir.path().join("replay2"))
        .output()
        .expect("mia replay");
    let rtext = String::from_utf8_lossy(&replay.stdout).to_string();
    assert!(replay.status.success(), "{rtext}{}", String::from_utf8_lossy(&replay.stderr));
    assert_eq!(digest(&rtext), Some(live_digest), "{rtext}");
    for run in [&run1, &run2] {
        assert!(grep_dir(run, ACCOUNT.as_bytes()).is_empty(), "the account id leaked into {run:?}");
    }
    for log in ["run1.log", "run2.log"] {
        let text = std::fs::read_to_string(dir.path().join(log)).unwrap_or_default();
        assert!(!text.contains(ACCOUNT), "the account id leaked into {log}");
    }
}
