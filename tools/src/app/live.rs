//! Sessions on live (or real-time) data: `mia paper`, `mia live`, `mia collect`.
//!
//! A mode is a choice of source × venue (`docs/architecture.md`): paper = live data × the
//! simulator, live = live data × a broker, collect = live data × no trading. The decision path
//! is the one backtests run; only the source, the venue and the journal's `mode` label change.
//!
//! - **Money is never at risk by accident**: [`live_guard`] lets `mia live` start only with
//!   `[live] enabled = true` in the config *and* `--live` on the command line; every order still
//!   passes the risk manager. Paper is the default everywhere outside backtests.
//! - **Ctrl-C** ([`StopOnInterrupt`]): the first SIGINT flattens (`[live] on_stop =
//!   "flatten"`, a sequenced `Control::Flatten`, journaled like any input) or leaves the
//!   position (`"leave"`), then ends the feed after `[live] stop_grace_ms` so the flatten can
//!   fill; a second SIGINT ends it at once. The journal is closed either way.
//! - `--source synthetic` runs the built-in session in event time at `--speed`× wall time
//!   ([`RealTimeSource`]) with no broker, so the paper path works on any machine.
//! - **Monitoring** ([`start_monitor`], `docs/monitoring.md`): with `[monitor] enabled` every
//!   session publishes into `LiveMetrics` and runs the monitor (health, rules, Discord,
//!   `/metrics`, `RUN_DIR/status.json`); the feed's connection state is copied from the broker
//!   edge. `--tui` ([`run_live_view`]) draws the `mia status` view in place while the run lasts;
//!   the session's notices then go to `RUN_DIR/session.log` so nothing interleaves with it.

use crate::app::config::Config;
use crate::app::gamma::{GammaPublisher, GAMMA_DIR};
use crate::app::input::Input;
use crate::app::session::{run_session_with, RunMode, SessionExtras, SessionOptions};
use crate::app::stages::VenueChoice;
use crate::app::startup::{reconcile_at_startup, DtcStartup, IbkrStartup};
use crate::app::summary::SessionSummary;
use crate::monitor::discord;
use crate::monitor::thread::MonitorReport;
use crate::monitor::Monitor;
use anyhow::{anyhow, bail, Context, Result};
use mia_feeds::ibkr::EdgeJoin;
use mia_model::msg::{Control, ControlKind, Msg};
use mia_options::gex::{compute_levels, GexConfig};
use mia_runtime::metrics::LiveMetrics;
use mia_runtime::source::{EventSource, LivePoll, RealTimeSource};
use mia_signal::gates::gamma::GammaBoard;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Where a paper, live or collect session's market data comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DataKind {
    /// The built-in synthetic session, in real time (no broker, no account).
    Synthetic,
    /// Interactive Brokers TWS / IB Gateway (`[ibkr]`).
    Ibkr,
    /// Sierra Chart's DTC server (`[dtc]`).
    Dtc,
    /// A Sierra Chart `.scid` file followed while Sierra Chart appends to it (`--follow FILE`).
    Scid,
}

impl DataKind {
    /// The label (`synthetic`, `ibkr`, `dtc`).
    pub fn label(self) -> &'static str {
        match self {
            DataKind::Synthetic => "synthetic",
            DataKind::Ibkr => "ibkr",
            DataKind::Dtc => "dtc",
            DataKind::Scid => "scid",
        }
    }

    /// Parses a command-line value.
    ///
    /// # Errors
    /// Not one of `synthetic`, `ibkr`, `dtc`, `scid`.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "synthetic" => Ok(DataKind::Synthetic),
            "ibkr" => Ok(DataKind::Ibkr),
            "dtc" => Ok(DataKind::Dtc),
            "scid" => Ok(DataKind::Scid),
            _ => Err(format!("{s:?} is not a data source (synthetic, ibkr, dtc, scid)")),
        }
    }
}

/// Where `mia live` sends real orders.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BrokerKind {
    /// Interactive Brokers.
    Ibkr,
    /// Sierra Chart DTC (with IBKR data this is the seed's mixed set-up).
    Dtc,
}

impl BrokerKind {
    /// The label (`ibkr`, `dtc`).
    pub fn label(self) -> &'static str {
        match self {
            BrokerKind::Ibkr => "ibkr",
            BrokerKind::Dtc => "dtc",
        }
    }

    /// Parses a command-line value.
    ///
    /// # Errors
    /// Not one of `ibkr`, `dtc`.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "ibkr" => Ok(BrokerKind::Ibkr),
            "dtc" => Ok(BrokerKind::Dtc),
            _ => Err(format!("{s:?} is not a broker venue (ibkr, dtc)")),
        }
    }
}

/// What the first Ctrl-C does to an open position.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OnStop {
    /// Flatten (cancel working orders, close the position), then stop.
    Flatten,
    /// Stop and leave the position and its broker-held brackets as they are.
    Leave,
}

/// What `mia live` does when the broker already holds orders or a position of this client at
/// start-up (an earlier process crashed or was killed, or someone traded by hand).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OnRestart {
    /// Cancel those orders, book the position (an `Adopted` report through the sequencer, so
    /// the journal replays it) and flatten it through risk, then trade.
    Flatten,
    /// Refuse to start and say what the broker holds (the operator decides).
    Refuse,
}

/// Paper, live and collect settings (`[live]`).
#[derive(Clone, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LiveConfig {
    /// Real orders are possible only when this is true AND `mia live` gets `--live`.
    pub enabled: bool,
    /// Market data of paper, live and collect sessions (`--source` overrides it).
    pub data: DataKind,
    /// The broker of `mia live` (`--venue` overrides it).
    pub venue: BrokerKind,
    /// What the first Ctrl-C does.
    pub on_stop: OnStop,
    /// What `mia live` does with orders and a position found at the broker at start-up.
    pub on_restart: OnRestart,
    /// Wall time between the first Ctrl-C and the end of the feed (lets a flatten fill), ms
    /// (0–60,000).
    pub stop_grace_ms: u64,
    /// Speed of the synthetic source in event time per wall time (1 = real time; `--speed`).
    pub speed: f64,
    /// Capacity of the ring from a feed's edge thread to the sequencer, events (≥ 1024).
    pub feed_ring: usize,
    /// Directory of state that outlives a run (broker order-id high-water marks), relative
    /// to the working directory.
    pub state_dir: PathBuf,
}

impl Default for LiveConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            data: DataKind::Ibkr,
            venue: BrokerKind::Ibkr,
            on_stop: OnStop::Flatten,
            on_restart: OnRestart::Flatten,
            stop_grace_ms: 3_000,
            speed: 1.0,
            feed_ring: 1 << 16,
            state_dir: PathBuf::from("state"),
        }
    }
}

impl LiveConfig {
    /// Checks the ranges.
    ///
    /// # Errors
    /// The first bad key, as `live.key: reason`.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.speed.is_finite() && self.speed > 0.0 && self.speed <= 1e6) {
            return Err(format!("live.speed: {} must be in (0, 1e6]", self.speed));
        }
        if self.stop_grace_ms > 60_000 {
            return Err(format!("live.stop_grace_ms: {} is above 60000", self.stop_grace_ms));
        }
        if self.feed_ring < 1024 {
            return Err(format!("live.feed_ring: {} is below 1024", self.feed_ring));
        }
        Ok(())
    }
}

/// The two keys to real orders: `[live] enabled = true` and the `--live` flag.
///
/// # Errors
/// Either is missing (the message says which and how to give it).
pub fn live_guard(cfg: &LiveConfig, flag: bool) -> Result<()> {
    match (cfg.enabled, flag) {
        (true, true) => Ok(()),
        (false, true) => bail!(
            "live trading is disabled in the config: set `[live] enabled = true` in your config file \
             (and pass --live) to send real orders; `mia paper` trades the same signals with simulated fills"
        ),
        (true, false) => bail!(
            "`mia live` sends real orders only with --live on the command line (the config enables \
             it, the flag confirms it); `mia paper` trades the same signals with simulated fills"
        ),
        (false, false) => bail!(
            "live trading needs `[live] enabled = true` in the config AND --live on the command line; \
             `mia paper` trades the same signals with simulated fills"
        ),
    }
}

/// Which live command runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LiveMode {
    /// Live data, simulated fills.
    Paper,
    /// Live data, real orders.
    Live,
    /// Live data recorded, no trading.
    Collect,
}

impl LiveMode {
    fn run_mode(self) -> RunMode {
        match self {
            LiveMode::Paper => RunMode::Paper,
            LiveMode::Live => RunMode::Live,
            LiveMode::Collect => RunMode::Collect,
        }
    }
}

/// A paper, live or collect session to run.
#[derive(Clone, Debug)]
pub struct LiveOptions {
    /// Which command.
    pub mode: LiveMode,
    /// The session options (config, output directory, profile, limits); `input` is used
    /// for the synthetic source and its chain.
    pub session: SessionOptions,
    /// Overrides `[live] data`.
    pub data: Option<DataKind>,
    /// Overrides `[live] venue` (`mia live`).
    pub venue: Option<BrokerKind>,
    /// Overrides `[live] speed` (synthetic source).
    pub speed: Option<f64>,
    /// `--live` was given.
    pub live_flag: bool,
}

/// Where a session's notices (Ctrl-C, dropped gamma publications) go: stderr, or, while the
/// terminal view owns the terminal, `RUN_DIR/session.log`.
#[derive(Clone, Default)]
struct Notices(Option<Arc<Mutex<std::fs::File>>>);

impl Notices {
    fn to_file(path: &Path) -> Result<Self> {
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("{}: cannot open", path.display()))?;
        Ok(Self(Some(Arc::new(Mutex::new(f)))))
    }

    fn say(&self, msg: &str) {
        match &self.0 {
            Some(f) => {
                if let Ok(mut f) = f.lock() {
                    let _ = writeln!(f, "{msg}");
                }
            }
            None => eprintln!("{msg}"),
        }
    }
}

/// Name of the notices file of a session run with `--tui`.
pub const SESSION_LOG: &str = "session.log";

/// Runs a paper, live or collect session until its feed ends or Ctrl-C.
///
/// # Errors
/// The live guard refused, the data source or broker cannot be reached, or the session failed.
pub fn run_live(opts: LiveOptions) -> Result<SessionSummary> {
    run_live_view(opts, false)
}

/// [`run_live`], with the live terminal view (`--tui`) when `tui` is true: the `mia status`
/// frame redrawn in place on stdout while the session runs (it needs `[monitor] enabled` and
/// `status_file`, and an output directory).
///
/// # Errors
/// As [`run_live`]; `--tui` without a monitor, a status file or an output directory.
pub fn run_live_view(opts: LiveOptions, tui: bool) -> Result<SessionSummary> {
    let cfg = opts.session.config.clone();
    if opts.mode == LiveMode::Live {
        live_guard(&cfg.live, opts.live_flag)?;
    }
    if tui && !(cfg.monitor.enabled && cfg.monitor.status_file && opts.session.out.is_some()) {
        bail!(
            "--tui shows RUN_DIR/status.json: it needs `[monitor] enabled = true`, `status_file = true` and an output directory"
        );
    }
    let notices = match (&opts.session.out, tui) {
        (Some(out), true) => {
            std::fs::create_dir_all(out).with_context(|| format!("{}: cannot create", out.display()))?;
            Notices::to_file(&out.join(SESSION_LOG))?
        }
        _ => Notices::default(),
    };
    let monitored = start_monitor(&cfg, opts.session.out.as_deref())?;
    let metrics = monitored.as_ref().map(|(m, _)| Arc::clone(m));
    let view = match (&opts.session.out, tui) {
        (Some(out), true) => Some(TerminalView::start(out.clone())?),
        _ => None,
    };
    let mut opts = opts;
    if tui {
        opts.session.progress = false;
    }
    let result = run_live_inner(opts, metrics, &notices);
    if let Some(v) = view {
        v.stop();
    }
    if let Some((_, mon)) = monitored {
        let report = finish_monitor(mon, &result, None);
        if report.status_errors > 0 {
            notices.say(&format!("mia: monitor: {} status.json writes failed", report.status_errors));
        }
    }
    result
}

fn run_live_inner(
    opts: LiveOptions,
    metrics: Option<Arc<LiveMetrics>>,
    notices: &Notices,
) -> Result<SessionSummary> {
    let cfg = opts.session.config.clone();
    let data = opts.data.unwrap_or(cfg.live.data);
    let speed = opts.speed.unwrap_or(cfg.live.speed);
    if !(speed.is_finite() && speed > 0.0 && speed <= 1e6) {
        bail!("--speed: {speed} must be in (0, 1e6]");
    }
    let stop = Arc::new(AtomicBool::new(false));
    let (ctl_tx, ctl_rx) = rtrb::RingBuffer::<Msg>::new(16);
    let mut extras = SessionExtras::default();
    extras.side.push(ctl_rx);
    extras.metrics = metrics.clone();
    let say = notices.clone();
    let model_watch =
        crate::ml::watch::ModelWatch::attach(&cfg.ml, opts.session.out.as_deref(), &mut extras, move |m| {
            say.say(m)
        })?;
    let mut link: Option<FeedLink> = None;
    let broker = (opts.mode == LiveMode::Live).then(|| opts.venue.unwrap_or(cfg.live.venue));
    let mut edges = Edges::default();
    // Whether the IBKR edges run on the pipeline's thread (`[ibkr] fuse`), decided once for
    // both edges.
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let fuse = cfg.ibkr.fused(cores, cfg.pipeline.mode == mia_runtime::pipeline::Schedule::Inline);
    let source: Box<dyn EventSource> = match data {
        DataKind::Synthetic => {
            let inner = opts.session.input.open()?;
            // no connection to lose: connected while the session runs
            link = Some(FeedLink::Always);
            Box::new(RealTimeSource::new(inner, speed, Arc::clone(&stop)))
        }
        DataKind::Ibkr => {
            let edge = edges.ibkr(&cfg)?;
            link = Some(FeedLink::Ibkr(edge.status()));
            let name = format!("ibkr {}", edge.contract().local_symbol);
            let (feed, src) = mia_runtime::source::RingSource::pair(name, cfg.live.feed_ring);
            if fuse {
                let (poll, join) =
                    edge.fused_market_data(feed).map_err(|e| anyhow!("ibkr market data: {e}"))?;
                edges.fused_md = Some(poll);
                edges.threads.push(join);
            } else {
                edges
                    .threads
                    .push(edge.spawn_market_data(feed).map_err(|e| anyhow!("ibkr market data: {e}"))?.into());
            }
            tracing::info!(
                fuse = cfg.ibkr.fuse.label(),
                cores,
                fused = fuse,
                "ibkr: edges {}",
                if fuse { "on the pipeline thread" } else { "on their own threads" }
            );
            // The SPX chain from IBKR, republished every `[ibkr.chain] refresh_secs`: each
            // publication journaled, put on the board, then announced through the sequencer.
            let board = Arc::new(GammaBoard::new(1024));
            let (gtx, grx) = rtrb::RingBuffer::new(64);
            extras.side.push(grx);
            let gdir = opts.session.out.as_ref().map(|o| o.join(GAMMA_DIR));
            let mut publisher = GammaPublisher::new(Arc::clone(&board), gtx, gdir.as_deref())?;
            let say = notices.clone();
            let every = Duration::from_secs(u64::from(cfg.ibkr.chain.refresh_secs.max(1)));
            let chain = edge
                .spawn_chain(every, move |chain| {
                    let report = compute_levels(&chain, None, &GexConfig::default());
                    let levels = report.to_gamma_levels(chain.valuation_ts_ns);
                    if let Err(e) = publisher.publish(&levels) {
                        say.say(&format!("mia: gamma publication dropped: {e:#}"));
                    }
                })
                .map_err(|e| anyhow!("ibkr chain: {e}"))?;
            edges.chain = Some(chain);
            extras.board = Some(board);
            extras.chain_from_feed = Some(format!(
                "SPX chain from IBKR every {} s (each publication journaled in gamma/; no gamma before the first)",
                every.as_secs()
            ));
            Box::new(src)
        }
        DataKind::Scid => {
            // Tails the file named by the session's input until Ctrl-C (the stop flag); the
            // chain beside the file, if any, is the session's.
            let Input::Scid(path) = &opts.session.input else {
                bail!("--source scid follows a .scid file: give it with --follow FILE.scid");
            };
            let follow = mia_feeds::sierra::scid_follow::ScidFollowSource::open(
                path,
                mia_feeds::sierra::scid_follow::FollowOptions::default(),
                Arc::clone(&stop),
            )?;
            Box::new(follow)
        }
        DataKind::Dtc => {
            let dcfg = edges.dtc_config(&cfg);
            let (feed, src) = mia_runtime::source::RingSource::pair(
                format!("dtc {}", dcfg.symbol_now()),
                cfg.live.feed_ring,
            );
            edges.dtc_feed = Some(feed);
            extras.chain_from_feed = Some("none: DTC carries no SPX chain (gamma gate inactive)".into());
            Box::new(src)
        }
    };
    // The order edge is fused only over a source that may pend (a live ring): another source
    // (a paced file) would hold intents back while it waits inside `next_event`.
    let pends = source.may_pend();
    extras.source = Some(source);
    extras.venue = Some(match (opts.mode, broker) {
        (LiveMode::Paper, _) => VenueChoice::Sim,
        (LiveMode::Collect, _) => VenueChoice::Off,
        (LiveMode::Live, Some(BrokerKind::Ibkr) | None) => {
            let edge = edges.ibkr(&cfg)?;
            let (otx, orx) = rtrb::RingBuffer::new(1024);
            let (mut rtx, rrx) = rtrb::RingBuffer::new(4096);
            if let Some(adopted) = reconcile_at_startup(&mut IbkrStartup(&edge), cfg.live.on_restart)? {
                rtx.push(Msg::Exec(adopted))
                    .map_err(|_| anyhow!("ibkr: the report ring is full at start-up"))?;
            }
            if pends && fuse {
                let (poll, join) = edge.fused_orders(orx, rtx).map_err(|e| anyhow!("ibkr orders: {e}"))?;
                edges.fused_orders = Some(poll);
                edges.orders = Some(join);
            } else {
                edges.orders =
                    Some(edge.spawn_orders(orx, rtx).map_err(|e| anyhow!("ibkr orders: {e}"))?.into());
            }
            extras.side.push(rrx);
            VenueChoice::Live(otx)
        }
        (LiveMode::Live, Some(BrokerKind::Dtc)) => {
            let (otx, orx) = rtrb::RingBuffer::new(1024);
            let (rtx, rrx) = rtrb::RingBuffer::new(4096);
            edges.dtc_orders = Some((orx, rtx));
            extras.side.push(rrx);
            VenueChoice::Live(otx)
        }
    });
    // One DTC connection carries its market data and its orders (whichever the session uses).
    if let Some(l) = edges.start_dtc(&cfg)? {
        link = Some(l);
    }
    // The order edge first: an intent of the last pass goes out before new data is read.
    extras.polls.extend(edges.fused_orders.take());
    extras.polls.extend(edges.fused_md.take());
    extras.live = true;
    // A broker feed ends when its edge is shut down: after Ctrl-C's grace period, or when the
    // session ends for another reason.
    let ibkr = edges.ibkr.clone();
    let dtc_stop = edges.dtc.as_ref().map(mia_feeds::sierra::dtc::DtcHandle::stop_flag);
    let feed_state = metrics.zip(link);
    let watcher = (ibkr.is_some() || dtc_stop.is_some() || feed_state.is_some()).then(|| {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            while !stop.load(Ordering::Acquire) {
                if let Some((m, l)) = &feed_state {
                    l.publish(m);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            if let Some((m, _)) = &feed_state {
                m.feed.set_feed_connected(false);
            }
            if let Some(e) = ibkr {
                e.shutdown();
            }
            if let Some(f) = dtc_stop {
                f.store(true, Ordering::Release);
            }
        })
    });
    let interrupt = StopOnInterrupt::install_with(
        Arc::clone(&stop),
        (opts.mode != LiveMode::Collect && cfg.live.on_stop == OnStop::Flatten).then_some(ctl_tx),
        Duration::from_millis(cfg.live.stop_grace_ms),
        notices.clone(),
    )?;
    let mut session = opts.session;
    session.run_mode = opts.mode.run_mode();
    let result = run_session_with(&session, extras);
    interrupt.stop();
    stop.store(true, Ordering::Release);
    if let Some(w) = watcher {
        let _ = w.join();
    }
    let closed = edges.close();
    let mut summary = result?;
    closed?;
    if let Some(w) = model_watch {
        summary.notes.push(("ml watch", w.stop_line()));
    }
    Ok(summary)
}

/// The broker edges a live session opened, and their threads.
#[derive(Default)]
struct Edges {
    ibkr: Option<Arc<mia_feeds::ibkr::IbkrEdge>>,
    threads: Vec<EdgeJoin<()>>,
    chain: Option<JoinHandle<Result<u64, String>>>,
    orders: Option<EdgeJoin<mia_feeds::ibkr::OrderEdgeSummary>>,
    /// The IBKR edges run on the pipeline's thread (`[ibkr] fuse`): the order edge's poll,
    /// then the market data's, in the order the sequencer must poll them.
    fused_orders: Option<Box<dyn LivePoll>>,
    fused_md: Option<Box<dyn LivePoll>>,
    dtc: Option<mia_feeds::sierra::dtc::DtcHandle>,
    dtc_feed: Option<rtrb::Producer<mia_runtime::source::FeedItem>>,
    dtc_orders: Option<(rtrb::Consumer<mia_model::msg::OrderIntent>, rtrb::Producer<Msg>)>,
}

impl Edges {
    /// The IBKR edge, connected on first use (data and orders share one connection).
    fn ibkr(&mut self, cfg: &Config) -> Result<Arc<mia_feeds::ibkr::IbkrEdge>> {
        if let Some(e) = &self.ibkr {
            return Ok(Arc::clone(e));
        }
        let mut icfg = cfg.ibkr.clone();
        icfg.root = cfg.trading.instrument;
        let dir = cfg.live.state_dir.join("ibkr");
        let edge = mia_feeds::ibkr::IbkrEdge::connect(&icfg, &dir)
            .map_err(|e| anyhow!("ibkr {}: {e}", icfg.address()))?;
        let edge = Arc::new(edge);
        self.ibkr = Some(Arc::clone(&edge));
        Ok(edge)
    }

    /// The `[dtc]` section with the root of `[trading] instrument`.
    fn dtc_config(&self, cfg: &Config) -> mia_feeds::sierra::dtc::DtcConfig {
        let mut d = cfg.dtc.clone();
        d.root = cfg.trading.instrument;
        d
    }

    /// Connects the DTC edge when the session uses it (data, orders or both on one
    /// connection) and starts its thread. With orders, the client order ids come from the
    /// state directory (`state_dir/dtc`) and the start-up reconciliation runs first
    /// ([`reconcile_at_startup`]): its `Adopted` report goes on the report ring before any
    /// order can be sent. The feed link when it carries the market data.
    fn start_dtc(&mut self, cfg: &Config) -> Result<Option<FeedLink>> {
        if self.dtc_feed.is_none() && self.dtc_orders.is_none() {
            return Ok(None);
        }
        let dcfg = self.dtc_config(cfg);
        let peer = format!("{}:{}", dcfg.host, dcfg.port);
        let mut edge =
            mia_feeds::sierra::dtc::DtcEdge::connect(&dcfg).map_err(|e| anyhow!("dtc {peer}: {e}"))?;
        if let Some((_, reports)) = self.dtc_orders.as_mut() {
            edge.use_id_state(&cfg.live.state_dir.join("dtc")).map_err(|e| anyhow!("dtc: {e}"))?;
            if let Some(adopted) = reconcile_at_startup(&mut DtcStartup(&mut edge), cfg.live.on_restart)? {
                reports
                    .push(Msg::Exec(adopted))
                    .map_err(|_| anyhow!("dtc: the report ring is full at start-up"))?;
            }
        }
        let carries_data = self.dtc_feed.is_some();
        let handle = edge
            .spawn(self.dtc_feed.take(), self.dtc_orders.take())
            .map_err(|e| anyhow!("dtc {peer}: {e}"))?;
        let link = carries_data.then(|| FeedLink::Dtc(handle.link()));
        self.dtc = Some(handle);
        Ok(link)
    }

    /// Shuts the edges down and joins their threads; the first thread error is returned.
    fn close(self) -> Result<()> {
        if let Some(e) = &self.ibkr {
            e.shutdown();
        }
        let mut first: Option<String> = None;
        let mut note = |name: &str, r: std::thread::Result<Result<(), String>>| {
            let msg = match r {
                Ok(Ok(())) => return,
                Ok(Err(e)) => format!("{name}: {e}"),
                Err(_) => format!("{name}: the thread panicked"),
            };
            first.get_or_insert(msg);
        };
        for t in self.threads {
            note("market data", t.join());
        }
        if let Some(c) = self.chain {
            note("chain", c.join().map(|r| r.map(|_| ())));
        }
        if let Some(o) = self.orders {
            note("orders", o.join().map(|r| r.map(|_| ())));
        }
        if let Some(d) = self.dtc {
            note("dtc", Ok(d.join().map(|_| ()).map_err(|e| e.to_string())));
        }
        match first {
            Some(e) => bail!("{e}"),
            None => Ok(()),
        }
    }
}

/// Ctrl-C handling for live sessions: see the [module docs](self).
pub struct StopOnInterrupt {
    done: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
    id: Option<signal_hook::SigId>,
}

impl StopOnInterrupt {
    /// Installs the SIGINT handler and starts the watcher thread. With `flatten`, the first
    /// SIGINT pushes a `Control::Flatten` there; `stop` is set `grace` later (or at a second
    /// SIGINT).
    ///
    /// # Errors
    /// The handler cannot be installed or the thread cannot start.
    pub fn install(
        stop: Arc<AtomicBool>,
        flatten: Option<rtrb::Producer<Msg>>,
        grace: Duration,
    ) -> Result<Self> {
        Self::install_with(stop, flatten, grace, Notices::default())
    }

    fn install_with(
        stop: Arc<AtomicBool>,
        flatten: Option<rtrb::Producer<Msg>>,
        grace: Duration,
        notices: Notices,
    ) -> Result<Self> {
        let hit = Arc::new(AtomicBool::new(false));
        let id = signal_hook::flag::register(signal_hook::consts::SIGINT, Arc::clone(&hit))
            .context("cannot install the Ctrl-C handler")?;
        let done = Arc::new(AtomicBool::new(false));
        let done2 = Arc::clone(&done);
        let handle = std::thread::Builder::new()
            .name("mia-interrupt".into())
            .spawn(move || watch_interrupts(&hit, &stop, flatten, grace, &done2, &notices))
            .context("cannot start the Ctrl-C watcher thread")?;
        Ok(Self { done, handle: Some(handle), id: Some(id) })
    }

    /// Stops the watcher and restores the default SIGINT action.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.done.store(true, Ordering::Release);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
        if let Some(id) = self.id.take() {
            signal_hook::low_level::unregister(id);
        }
    }
}

impl Drop for StopOnInterrupt {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn watch_interrupts(
    hit: &AtomicBool,
    stop: &AtomicBool,
    mut flatten: Option<rtrb::Producer<Msg>>,
    grace: Duration,
    done: &AtomicBool,
    notices: &Notices,
) {
    let mut deadline: Option<Instant> = None;
    while !done.load(Ordering::Acquire) && !stop.load(Ordering::Acquire) {
        if hit.swap(false, Ordering::AcqRel) {
            if deadline.is_some() {
                notices.say("mia: second Ctrl-C: stopping now");
                stop.store(true, Ordering::Release);
                break;
            }
            match flatten.as_mut() {
                Some(tx) => {
                    let c = Control { kind: ControlKind::Flatten, ..Control::default() };
                    if tx.push(Msg::Control(c)).is_err() {
                        notices.say("mia: Ctrl-C: the control ring is full; stopping without a flatten");
                    } else {
                        notices.say(&format!(
                            "mia: Ctrl-C: flattening, stopping in {} ms (Ctrl-C again to stop now)",
                            grace.as_millis()
                        ));
                    }
                }
                None => notices.say(&format!(
                    "mia: Ctrl-C: stopping in {} ms, positions left as they are",
                    grace.as_millis()
                )),
            }
            deadline = Some(Instant::now() + grace);
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            stop.store(true, Ordering::Release);
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Where the feed's connection state is read (the monitor's `feed_connected` and reconnects).
enum FeedLink {
    /// No connection (the synthetic source): connected while the session runs.
    Always,
    /// The IBKR edge's link state.
    Ibkr(Arc<mia_feeds::ibkr::FeedStatus>),
    /// The DTC edge's logon state.
    Dtc(mia_feeds::sierra::dtc::DtcLink),
}

impl FeedLink {
    fn publish(&self, m: &LiveMetrics) {
        let (up, reconnects) = match self {
            FeedLink::Always => (true, 0),
            FeedLink::Ibkr(s) => (s.state().is_up(), s.restores.load(Ordering::Relaxed)),
            FeedLink::Dtc(l) => (l.is_connected(), l.disconnects()),
        };
        m.feed.set_feed_connected(up);
        m.feed.set_feed_reconnects(reconnects);
    }
}

/// Starts the monitor of a session when `[monitor] enabled` (webhooks from the environment or
/// `.env`): the metrics cells to hand to the session ([`SessionExtras::metrics`]) and the
/// running monitor writing `out/status.json`.
///
/// # Errors
/// `.env` is unreadable, a webhook variable is not Unicode, or `[monitor] metrics_addr`
/// cannot be bound.
pub fn start_monitor(cfg: &Config, out: Option<&Path>) -> Result<Option<(Arc<LiveMetrics>, Monitor)>> {
    if !cfg.monitor.enabled {
        return Ok(None);
    }
    crate::app::secrets::load_dotenv()?;
    if let Some(o) = out {
        std::fs::create_dir_all(o).with_context(|| format!("{}: cannot create", o.display()))?;
    }
    let metrics = Arc::new(LiveMetrics::new());
    let dir = out.map(Path::to_path_buf);
    let mon = match Monitor::spawn(&cfg.monitor, Arc::clone(&metrics), dir.clone()) {
        Ok(m) => m,
        // A taken metrics port (another session on this host) must not stop trading: the run
        // goes on without /metrics, and says so.
        Err(e) if !cfg.monitor.metrics_addr.is_empty() => {
            eprintln!("mia: monitor: {e:#}; /metrics is off for this run (status.json and Discord run)");
            let off = crate::monitor::MonitorConfig { metrics_addr: String::new(), ..cfg.monitor.clone() };
            Monitor::spawn(&off, Arc::clone(&metrics), dir).context("cannot start the monitor")?
        }
        Err(e) => return Err(e.context("cannot start the monitor")),
    };
    Ok(Some((metrics, mon)))
}

/// Ends a monitored session: Discord gets the session's daily summary (trades, win rate, net
/// P&L and the trade-by-trade drawdown of `trades.csv`) or its error, then the monitor takes
/// its last sample and stops. `out` overrides the summary's output directory.
pub fn finish_monitor(mon: Monitor, result: &Result<SessionSummary>, out: Option<&Path>) -> MonitorReport {
    match result {
        Ok(s) => {
            let dir = out.map(Path::to_path_buf).or_else(|| s.out.clone());
            let trades = dir
                .and_then(|d| crate::report::trades::read_trades(&d.join("trades.csv")).ok())
                .map(|f| f.trades);
            let (mut wins, mut cum, mut peak, mut dd) = (0u64, 0.0f64, 0.0f64, 0.0f64);
            let mut last_exit = 0u64;
            for t in trades.iter().flatten() {
                wins += u64::from(t.net_usd > 0.0);
                cum += t.net_usd;
                peak = peak.max(cum);
                dd = dd.max(peak - cum);
                last_exit = last_exit.max(t.exit_ts);
            }
            let date = if last_exit > 0 {
                crate::report::run::session_yyyymmdd(last_exit).to_string()
            } else {
                "no trades".into()
            };
            mon.notify(discord::daily_summary(&date, s.trades, wins, s.net_pnl_usd, dd));
        }
        Err(e) => {
            mon.notify(discord::error(&format!("session failed: {e:#}")));
        }
    }
    mon.stop()
}

/// `mia backtest --monitor`: a backtest (or replay) with the monitor running, as a live
/// session has it (`[monitor]`; `/metrics`, Discord, `status.json` while it runs).
///
/// # Errors
/// As [`start_monitor`] and [`run_session_with`].
pub fn run_monitored(opts: &SessionOptions) -> Result<SessionSummary> {
    let Some((metrics, mon)) = start_monitor(&opts.config, opts.out.as_deref())? else {
        bail!("--monitor: the monitor is off in the config (`[monitor] enabled = false`)");
    };
    metrics.feed.set_feed_connected(true);
    let extras = SessionExtras { metrics: Some(Arc::clone(&metrics)), ..SessionExtras::default() };
    let result = run_session_with(opts, extras);
    metrics.feed.set_feed_connected(false);
    finish_monitor(mon, &result, None);
    result
}

/// The `--tui` view: a thread redrawing the `mia status` frame of `RUN_DIR/status.json`.
struct TerminalView {
    done: Arc<AtomicBool>,
    handle: JoinHandle<()>,
}

impl TerminalView {
    fn start(dir: PathBuf) -> Result<Self> {
        let done = Arc::new(AtomicBool::new(false));
        let d = Arc::clone(&done);
        let handle = std::thread::Builder::new()
            .name("mia-tui".into())
            .spawn(move || {
                let _ = crate::monitor::status_view::run_until(&dir, &d, Duration::from_millis(500));
            })
            .context("cannot start the terminal view thread")?;
        Ok(Self { done, handle })
    }

    fn stop(self) {
        self.done.store(true, Ordering::Release);
        let _ = self.handle.join();
    }
}

/// The default output directory of a live command (`runs/paper-…`, `runs/live-…`,
/// `runs/collect-…`).
pub fn live_out_dir(mode: LiveMode) -> PathBuf {
    crate::app::session::default_out_dir(mode.run_mode().label())
}

/// The synthetic input of `mia paper --source synthetic` (seed, days).
pub fn synthetic_input(seed: u64, days: u32) -> Input {
    Input::Synthetic { seed, days }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_needs_both_keys() {
        let mut cfg = LiveConfig::default();
        for (enabled, flag) in [(false, false), (false, true), (true, false)] {
            cfg.enabled = enabled;
            let e = live_guard(&cfg, flag).expect_err("refused");
            assert!(e.to_string().contains("mia paper"), "the message points to paper: {e}");
        }
        cfg.enabled = true;
        assert!(live_guard(&cfg, true).is_ok());
    }

    #[test]
    fn validate_names_the_key() {
        let bad = LiveConfig { speed: 0.0, ..LiveConfig::default() };
        assert!(bad.validate().is_err_and(|e| e.contains("live.speed")));
        let bad = LiveConfig { feed_ring: 10, ..LiveConfig::default() };
        assert!(bad.validate().is_err_and(|e| e.contains("live.feed_ring")));
        assert!(LiveConfig::default().validate().is_ok());
    }

    #[test]
    fn parse_values() {
        assert_eq!(DataKind::parse("dtc"), Ok(DataKind::Dtc));
        assert!(DataKind::parse("csv").is_err());
        assert_eq!(BrokerKind::parse("ibkr"), Ok(BrokerKind::Ibkr));
        assert!(BrokerKind::parse("sim").is_err());
    }
}
