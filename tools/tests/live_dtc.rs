//! `mia live --venue dtc` end to end: the real `mia` binary against the fake DTC server of the
//! test suite (market data and orders on one DTC connection, as `[live] data = "dtc"`).
//!
//! - `the_guard_refuses_without_both_keys`: without `[live] enabled = true` or without
//!   `--live` the binary refuses with a message naming the missing key, and sends nothing;
//! - `a_bracket_fills_and_ctrl_c_flattens_then_the_journal_replays`: a native bracket (parent +
//!   OCO pair) goes out, the parent fills, Ctrl-C flattens (`on_stop = "flatten"`: the children
//!   cancelled, a market order closing the position), the process exits cleanly, its journal
//!   replays to its digest, and the trade account from the environment is in no file or log;
//! - `sigterm_is_the_kill_switch_then_ctrl_c_ends_cleanly`: SIGTERM flattens and halts (the
//!   kill switch, `docs/risk.md`): the market sell goes out while the process keeps running,
//!   then Ctrl-C ends it cleanly and its journal replays to its digest;
//! - `mia_check_covers_the_dtc_server_alone_and_in_the_mixed_set_up`: `mia check` logs on to
//!   the DTC server (reachable, logon, trading, symbol) with DTC data and orders, and with IBKR
//!   data and DTC orders (a DTC market-data refusal is then only a warning);
//! - `kill_9_mid_bracket_then_restart_cancels_the_orphans_and_flattens`: kill -9 once the
//!   parent's fill is journaled; the journal of run 1 reads to its end; run 2 on the same
//!   state directory finds the two children open and the position at the server, cancels the
//!   children (and waits until the server no longer lists them), adopts the position (an
//!   `Adopted` report) and flattens it through risk; every client order id is sent once, those
//!   of run 2 above run 1's; run 2's journal replays to its digest; before run 2, a restart
//!   with `on_restart = "refuse"` exits naming the two orders and the position, sending nothing.

use mia_feeds::sierra::dtc::fake::{FakeConfig, FakeDtcServer, FakeOrder};
use mia_feeds::sierra::dtc::messages::values::{STATUS_CANCELED, STATUS_OPEN};
use mia_feeds::sierra::dtc::messages::{MarketDataUpdateBidAsk, MarketDataUpdateTrade, Message};
use mia_model::msg::{ExecKind, Msg};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod common;
use common::grep_dir;

const ACCOUNT: &str = "SIMDTC-7788991";
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
    fn start(cfg: &Path, out: &Path, log: &Path, live_flag: bool) -> Session {
        let stdout = log.with_extension("out");
        let (log_file, out_file) = (
            std::fs::File::create(log).expect("log file"),
            std::fs::File::create(&stdout).expect("stdout file"),
        );
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_mia"));
        cmd.arg("live");
        if live_flag {
            cmd.arg("--live");
        }
        let child = cmd
            .args(["--venue", "dtc", "--source", "dtc", "--config"])
            .arg(cfg)
            .arg("--out")
            .arg(out)
            .env("MIA_DTC_ACCOUNT", ACCOUNT)
            .env("RUST_LOG", "info")
            .stdout(out_file)
            .stderr(log_file)
            .spawn()
            .expect("start mia live");
        Session { child: Some(child), log: log.to_path_buf(), stdout }
    }

    fn signal(&self, sig: &str) {
        let pid = self.child.as_ref().expect("running").id().to_string();
        let _ = Command::new("kill").args([sig, &pid]).status();
    }

    /// Waits for the process to end (after a signal): its status and its summary.
    fn wait_exit(&mut self) -> (std::process::ExitStatus, String) {
        let mut c = self.child.take().expect("running");
        let status = c.wait().expect("session ends");
        (status, std::fs::read_to_string(&self.stdout).unwrap_or_default())
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits for `pred`; on a timeout (or a session error) the panic shows the log tail and
    /// the fake's orders.
    fn wait_for(&mut self, what: &str, fake: &FakeDtcServer, mut pred: impl FnMut() -> bool) {
        let end = Instant::now() + WAIT;
        while Instant::now() < end {
            if pred() {
                return;
            }
            if self.log_text().contains("mia: error")
                || self.child.as_mut().is_some_and(|c| c.try_wait().ok().flatten().is_some())
            {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.signal("-KILL");
        let (_, out) = self.wait_exit();
        let text = self.log_text();
        let tail: Vec<&str> = text.lines().rev().take(40).collect::<Vec<_>>().into_iter().rev().collect();
        panic!(
            "timed out waiting for {what}\n--- summary ---\n{out}\n--- log (tail) ---\n{}\n--- fake orders ---\n{:#?}",
            tail.join("\n"),
            fake.orders()
        );
    }
}

/// The fake server stamps its ticks with the wall clock, so risk's session window (16:00–17:00
/// CT closed by default) is opened all day: the tests must not depend on the time of day.
fn write_config(dir: &Path, port: u16, enabled: bool) -> PathBuf {
    let state = dir.join("state");
    let cfg = dir.join(format!("live-{enabled}.toml"));
    std::fs::write(
        &cfg,
        format!(
            "[live]\nenabled = {enabled}\ndata = \"dtc\"\nvenue = \"dtc\"\non_stop = \"flatten\"\non_restart = \"flatten\"\n\
             stop_grace_ms = 3000\nstate_dir = {state:?}\n\
             [dtc]\nport = {port}\ndepth_levels = 0\nconnect_timeout_ms = 10000\n\
             [signal]\nstrategy = \"threshold\"\n\
             [signal.threshold]\ncooldown_ms = 2000\n\
             [risk]\nsession_windows = [\"00:00-24:00\"]\n"
        ),
    )
    .expect("config");
    cfg
}

/// The market while a client is connected: phase 1 is one-sided (a deep bid, buyers lifting
/// the offer: the threshold strategy goes long), phase 2 balanced (no new entry). One event
/// second per tick, stamped by the server (DTC `DateTime`, UNIX seconds).
fn feeder(fake: Arc<FakeDtcServer>, phase: Arc<AtomicU8>, clock: Arc<AtomicI64>, done: Arc<AtomicBool>) {
    while !done.load(Ordering::Acquire) {
        if !fake.is_connected() {
            std::thread::sleep(Duration::from_millis(5));
            continue;
        }
        let t = clock.fetch_add(1, Ordering::AcqRel);
        let (bid, ask) = (6010.00, 6010.25);
        let one_sided = phase.load(Ordering::Acquire) == 1;
        let (bq, aq) = if one_sided { (300.0, 20.0) } else { (50.0, 50.0) };
        let secs = u32::try_from(t).expect("time fits DTC's u32");
        fake.send(MarketDataUpdateBidAsk {
            symbol_id: 1,
            bid_price: bid,
            bid_quantity: bq,
            ask_price: ask,
            ask_quantity: aq,
            date_time: secs,
        });
        let (px, at, vol) = if one_sided || t % 2 == 0 { (ask, 2, 20.0) } else { (bid, 1, 1.0) };
        let vol = if one_sided { vol } else { 1.0 };
        fake.send(MarketDataUpdateTrade {
            symbol_id: 1,
            at_bid_or_ask: at,
            price: px,
            volume: vol,
            date_time: t as f64,
        });
        std::thread::sleep(Duration::from_millis(4));
    }
}

/// Starts the feeder thread; returns its phase switch and a stopper.
struct Market {
    phase: Arc<AtomicU8>,
    done: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Market {
    fn start(fake: &Arc<FakeDtcServer>) -> Self {
        let (phase, clock, done) =
            (Arc::new(AtomicU8::new(1)), Arc::new(AtomicI64::new(T0)), Arc::new(AtomicBool::new(false)));
        let thread = {
            let (f, p, c, d) = (Arc::clone(fake), Arc::clone(&phase), clock, Arc::clone(&done));
            std::thread::spawn(move || feeder(f, p, c, d))
        };
        Self { phase, done, thread: Some(thread) }
    }

    fn balanced(&self) {
        self.phase.store(2, Ordering::Release);
    }
}

impl Drop for Market {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The bracket at the fake: (parent, children).
fn bracket(fake: &FakeDtcServer) -> Option<(FakeOrder, Vec<FakeOrder>)> {
    let orders = fake.orders();
    let kids: Vec<FakeOrder> = orders.values().filter(|o| o.parent.is_some()).cloned().collect();
    let parent = orders.get(kids.first()?.parent.as_ref()?)?.clone();
    (kids.len() == 2).then_some((parent, kids))
}

/// The client order ids of every new order the fake received (single orders and OCO legs).
fn sent_ids(fake: &FakeDtcServer) -> Vec<String> {
    let mut ids = Vec::new();
    for m in fake.order_messages() {
        match m {
            Message::SubmitNewSingleOrder(o) => ids.push(o.client_order_id),
            Message::SubmitNewOcoOrder(o) => ids.extend([o.client_order_id_1, o.client_order_id_2]),
            _ => {}
        }
    }
    ids
}

fn single_orders(fake: &FakeDtcServer) -> Vec<mia_feeds::sierra::dtc::messages::SubmitNewSingleOrder> {
    fake.order_messages()
        .into_iter()
        .filter_map(|m| match m {
            Message::SubmitNewSingleOrder(o) => Some(o),
            _ => None,
        })
        .collect()
}

fn cancels(fake: &FakeDtcServer) -> Vec<String> {
    fake.order_messages()
        .into_iter()
        .filter_map(|m| match m {
            Message::CancelOrder(c) => Some(c.client_order_id),
            _ => None,
        })
        .collect()
}

fn coid(s: &str) -> u64 {
    s.parse().unwrap_or_else(|_| panic!("numeric client order id: {s:?}"))
}

fn digest(s: &str) -> Option<String> {
    s.lines().find_map(|l| l.strip_prefix("digest: ")).map(str::to_string)
}

/// `mia replay` of a live journal gives the live digest.
fn assert_replays(run: &Path, out: &Path, live_stdout: &str) {
    let live_digest = digest(live_stdout).expect("digest line");
    let replay = Command::new(env!("CARGO_BIN_EXE_mia"))
        .arg("replay")
        .arg(run.join("journal"))
        .arg("--out")
        .arg(out)
        .output()
        .expect("mia replay");
    let rtext = String::from_utf8_lossy(&replay.stdout).to_string();
    assert!(replay.status.success(), "{rtext}{}", String::from_utf8_lossy(&replay.stderr));
    assert_eq!(digest(&rtext), Some(live_digest), "{rtext}");
}

fn assert_no_account(dir: &Path) {
    let hits = grep_dir(dir, ACCOUNT.as_bytes());
    assert!(hits.is_empty(), "the trade account leaked into {hits:?}");
}

#[test]
fn the_guard_refuses_without_both_keys() {
    let fake = FakeDtcServer::start(FakeConfig::default()).expect("fake DTC");
    let dir = tempfile::tempdir().expect("tmp");
    for (enabled, flag, needle) in [
        (false, true, "`[live] enabled = true`"),
        (true, false, "--live on the command line"),
        (false, false, "AND --live"),
    ] {
        let cfg = write_config(dir.path(), fake.port(), enabled);
        let log = dir.path().join(format!("guard-{enabled}-{flag}.log"));
        let mut s = Session::start(&cfg, &dir.path().join("run"), &log, flag);
        let (status, _) = s.wait_exit();
        let err = s.log_text();
        assert_eq!(status.code(), Some(1), "a clean refusal: {err}");
        assert!(err.contains(needle) && err.contains("mia paper"), "the message names the key: {err}");
    }
    assert_eq!(fake.connections(), 0, "a refused session never connects");
    assert!(fake.order_messages().is_empty());
}

#[test]
fn a_bracket_fills_and_ctrl_c_flattens_then_the_journal_replays() {
    let fake = Arc::new(FakeDtcServer::start(FakeConfig::default()).expect("fake DTC"));
    let dir = tempfile::tempdir().expect("tmp");
    let cfg = write_config(dir.path(), fake.port(), true);
    let market = Market::start(&fake);
    let run = dir.path().join("run");
    let log = dir.path().join("run.log");
    let mut s = Session::start(&cfg, &run, &log, true);
    s.wait_for("the bracket at the fake (parent + OCO pair)", &fake, || bracket(&fake).is_some());
    let (parent, kids) = bracket(&fake).expect("bracket");
    assert_eq!((parent.buy_sell, parent.qty), (1, 1.0), "a long entry of 1: {parent:?}");
    market.balanced();
    assert!(fake.fill(coid(&parent.client_id), 1.0, 6010.25), "the parent fills");
    s.wait_for("the fill in the journal", &fake, || {
        !common::filled_reports(&common::journal_msgs(&run).0).is_empty()
    });
    assert!(
        fake.orders().values().filter(|o| o.parent.is_some()).all(|o| o.status == STATUS_OPEN),
        "the children work once the parent filled: {:#?}",
        fake.orders()
    );
    let before = single_orders(&fake).len();
    // Ctrl-C: on_stop = flatten → the children are cancelled and a market order closes.
    s.signal("-INT");
    s.wait_for("the flattening order", &fake, || single_orders(&fake).len() > before);
    let flat = single_orders(&fake)[before].clone();
    assert_eq!((flat.buy_sell, flat.quantity, flat.order_type), (2, 1.0, 1), "a market sell of 1: {flat:?}");
    assert!(fake.fill(coid(&flat.client_order_id), 1.0, 6010.00), "the flatten fills");
    let (status, stdout) = s.wait_exit();
    drop(market);
    let text = s.log_text();
    assert!(status.success(), "clean exit after Ctrl-C: {status:?}\n{stdout}\n{text}");
    assert!(text.contains("Ctrl-C: flattening"), "{text}");
    let c = cancels(&fake);
    for k in &kids {
        assert!(c.contains(&k.client_id), "child {} cancelled: {c:?}", k.client_id);
    }
    assert!(fake.orders().values().filter(|o| o.parent.is_some()).all(|o| o.status == STATUS_CANCELED));
    assert_eq!(fake.position(), 0.0, "the server ends flat");
    assert!(stdout.contains("position 0"), "MIA ends flat: {stdout}");
    assert_eq!(
        common::filled_reports(&common::journal_msgs(&run).0).len(),
        2,
        "entry and flatten fills journaled"
    );
    assert_replays(&run, &dir.path().join("replay"), &stdout);
    assert_no_account(dir.path());
}

#[test]
fn kill_9_mid_bracket_then_restart_cancels_the_orphans_and_flattens() {
    let fake = Arc::new(FakeDtcServer::start(FakeConfig::default()).expect("fake DTC"));
    let dir = tempfile::tempdir().expect("tmp");
    let cfg = write_config(dir.path(), fake.port(), true);
    let market = Market::start(&fake);

    // 1. Run 1 enters a bracket; the parent fills; kill -9 once the fill is journaled.
    let run1 = dir.path().join("run1");
    let mut first = Session::start(&cfg, &run1, &dir.path().join("run1.log"), true);
    first.wait_for("the bracket at the fake", &fake, || bracket(&fake).is_some());
    let (parent, kids) = bracket(&fake).expect("bracket");
    market.balanced();
    assert!(fake.fill(coid(&parent.client_id), 1.0, 6010.25), "the parent fills");
    first.wait_for("the fill in the first journal", &fake, || {
        !common::filled_reports(&common::journal_msgs(&run1).0).is_empty()
    });
    first.signal("-KILL");
    let (status, _) = first.wait_exit();
    assert!(!status.success(), "SIGKILL ends the process abnormally: {status:?}");

    // 2. Run 1's journal reads to its end and holds the one fill.
    let (msgs1, read1) = common::journal_msgs(&run1);
    read1.expect("the killed session's journal reads to its end");
    let fills1 = common::filled_reports(&msgs1);
    assert_eq!(fills1.len(), 1, "{fills1:?}");
    assert_eq!((fills1[0].qty, fills1[0].price), (1, 6_010_250_000_000));
    assert_eq!(fake.position(), 1.0, "the server holds the position");
    let ids1 = sent_ids(&fake);
    let max1 = ids1.iter().map(|s| coid(s)).max().expect("ids");

    // 3a. With `on_restart = "refuse"` the restart exits, naming what the server holds, and
    //     touches nothing.
    let refuse = dir.path().join("refuse.toml");
    let text = std::fs::read_to_string(&cfg).expect("config");
    std::fs::write(&refuse, text.replace("on_restart = \"flatten\"", "on_restart = \"refuse\""))
        .expect("write");
    let sent = fake.order_messages().len();
    let mut refused =
        Session::start(&refuse, &dir.path().join("run-refused"), &dir.path().join("refused.log"), true);
    let (status, _) = refused.wait_exit();
    let err = refused.log_text();
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(
        err.contains("2 open order(s)") && err.contains("a position of 1") && err.contains("refuse"),
        "{err}"
    );
    assert_eq!(fake.order_messages().len(), sent, "refuse sends nothing");

    // 3b. Run 2 on the same state directory: cancel the orphans, adopt, flatten.
    let before = single_orders(&fake).len();
    let run2 = dir.path().join("run2");
    let mut second = Session::start(&cfg, &run2, &dir.path().join("run2.log"), true);
    second.wait_for("the flattening order", &fake, || single_orders(&fake).len() > before);
    let c = cancels(&fake);
    for k in &kids {
        assert!(c.contains(&k.client_id), "orphan {} cancelled: {c:?}", k.client_id);
        assert_eq!(
            fake.orders()[&k.client_id].status,
            STATUS_CANCELED,
            "{k:?}\n{:#?}",
            fake.order_messages()
        );
    }
    let flat = single_orders(&fake)[before].clone();
    assert_eq!((flat.buy_sell, flat.quantity, flat.order_type), (2, 1.0, 1), "a market sell of 1: {flat:?}");
    assert!(coid(&flat.client_order_id) > max1, "ids never roll back: {} after {max1}", flat.client_order_id);
    assert!(fake.fill(coid(&flat.client_order_id), 1.0, 6010.00), "the flatten fills");
    second.wait_for("the flatten fill in the second journal", &fake, || {
        !common::filled_reports(&common::journal_msgs(&run2).0).is_empty()
    });
    std::thread::sleep(Duration::from_millis(300));
    second.signal("-INT");
    let (status2, stdout) = second.wait_exit();
    drop(market);
    let log2 = second.log_text();
    assert!(status2.success(), "second session: {status2:?}\n{stdout}\n{log2}");
    assert!(log2.contains("cancelling the orders, flattening the position"), "{log2}");
    assert!(stdout.contains("adopted: 1"), "{stdout}");
    assert!(stdout.contains("position 0"), "MIA ends flat: {stdout}");
    assert_eq!(fake.position(), 0.0, "the server ends flat");

    // 4. Every client order id was sent once; run 2's are above run 1's.
    let all = sent_ids(&fake);
    let mut uniq = all.clone();
    uniq.sort_unstable();
    uniq.dedup();
    assert_eq!(uniq.len(), all.len(), "no client order id sent twice: {all:?}");
    assert!(all[ids1.len()..].iter().all(|s| coid(s) > max1), "{all:?}");

    // 5. The journal of run 1 is intact (read again after run 2), run 2's replays to its
    //    digest, and the account is in no file.
    let (again, read) = common::journal_msgs(&run1);
    read.expect("run 1's journal still reads");
    assert_eq!(again.len(), msgs1.len(), "run 2 did not touch run 1's journal");
    let (msgs2, read2) = common::journal_msgs(&run2);
    read2.expect("second journal");
    assert!(msgs2.iter().any(|m| matches!(m, Msg::Exec(r) if r.kind == ExecKind::Adopted && r.qty == 1)));
    assert_replays(&run2, &dir.path().join("replay2"), &stdout);
    assert_no_account(dir.path());
}

fn check_rows(cfg: &Path) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_mia"))
        .args(["check".as_ref(), "--config".as_ref(), cfg.as_os_str(), "--runs".as_ref()])
        .arg(cfg.with_extension("runs"))
        .env("MIA_DTC_ACCOUNT", ACCOUNT)
        .output()
        .expect("mia check");
    let text = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert!(!text.contains(ACCOUNT), "the account is never printed: {text}");
    text
}

fn row<'a>(text: &'a str, name: &str) -> &'a str {
    text.lines()
        .find(|l| l.get(6..).is_some_and(|r| r.starts_with(name)))
        .unwrap_or_else(|| panic!("no {name} row: {text}"))
}

#[test]
fn mia_check_covers_the_dtc_server_alone_and_in_the_mixed_set_up() {
    let refusing = FakeDtcServer::start(FakeConfig {
        reject_market_data: Some("CME data not licensed".into()),
        ..FakeConfig::default()
    })
    .expect("fake DTC");
    let dir = tempfile::tempdir().expect("tmp");
    // DTC data and orders: a market-data refusal fails the symbol row.
    let cfg = write_config(dir.path(), refusing.port(), true);
    let text = check_rows(&cfg);
    for name in ["dtc server", "dtc logon", "dtc trading"] {
        assert!(row(&text, name).starts_with("PASS"), "{text}");
    }
    assert!(row(&text, "dtc symbol").starts_with("FAIL") && text.contains("CME data not licensed"), "{text}");
    // The mixed set-up: IBKR data (the fake TWS), DTC orders; the refusal is a warning.
    let tws = mia_feeds::ibkr::fake::FakeTws::start(mia_feeds::ibkr::fake::FakeConfig::default())
        .expect("fake TWS");
    let mixed = dir.path().join("mixed.toml");
    let text = std::fs::read_to_string(&cfg).expect("config").replace("data = \"dtc\"", "data = \"ibkr\"");
    std::fs::write(&mixed, format!("{text}[ibkr]\nport = {}\nidle = \"sleep_us\"\n", tws.port()))
        .expect("mixed config");
    let text = check_rows(&mixed);
    assert!(
        row(&text, "dtc server").starts_with("PASS") && row(&text, "dtc logon").starts_with("PASS"),
        "{text}"
    );
    assert!(row(&text, "dtc symbol").starts_with("WARN") && text.contains("orders only"), "{text}");
    assert!(
        text.lines().any(|l| l.get(6..).is_some_and(|r| r.starts_with("ibkr "))),
        "IBKR checked too: {text}"
    );
}

#[test]
fn sigterm_is_the_kill_switch_then_ctrl_c_ends_cleanly() {
    let fake = Arc::new(FakeDtcServer::start(FakeConfig::default()).expect("fake DTC"));
    let dir = tempfile::tempdir().expect("tmp");
    let cfg = write_config(dir.path(), fake.port(), true);
    let market = Market::start(&fake);
    let run = dir.path().join("run");
    let mut s = Session::start(&cfg, &run, &dir.path().join("run.log"), true);
    s.wait_for("the bracket at the fake", &fake, || bracket(&fake).is_some());
    let (parent, _) = bracket(&fake).expect("bracket");
    market.balanced();
    assert!(fake.fill(coid(&parent.client_id), 1.0, 6010.25), "the parent fills");
    s.wait_for("the fill in the journal", &fake, || {
        !common::filled_reports(&common::journal_msgs(&run).0).is_empty()
    });
    let before = single_orders(&fake).len();
    s.signal("-TERM");
    s.wait_for("the kill switch's flattening order", &fake, || single_orders(&fake).len() > before);
    let flat = single_orders(&fake)[before].clone();
    assert_eq!((flat.buy_sell, flat.quantity, flat.order_type), (2, 1.0, 1), "{flat:?}");
    assert!(fake.fill(coid(&flat.client_order_id), 1.0, 6010.00), "the flatten fills");
    s.wait_for("the flatten fill in the journal", &fake, || {
        common::filled_reports(&common::journal_msgs(&run).0).len() == 2
    });
    assert!(s.child.as_mut().is_some_and(|c| c.try_wait().ok().flatten().is_none()), "halted, still running");
    s.signal("-INT");
    let (status, stdout) = s.wait_exit();
    drop(market);
    assert!(status.success(), "{status:?}\n{stdout}\n{}", s.log_text());
    assert!(stdout.contains("position 0"), "{stdout}");
    assert_eq!(fake.position(), 0.0);
    assert_replays(&run, &dir.path().join("replay"), &stdout);
    assert_no_account(dir.path());
}
