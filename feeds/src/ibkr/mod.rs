//! The Interactive Brokers edge (`ibapi` 5.5.0, blocking client; TWS / IB Gateway with server
//! version ≥ 213). Nothing of `ibapi` leaks out of this module: the assembly sees MIA types
//! (`Event`, `FeedItem`, `OrderIntent`, `Msg::Exec(ExecReport)`, `Chain`) and the edge's own
//! config, status and reports. See `docs/ibkr.md`.
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use mia_feeds::ibkr::{IbkrConfig, IbkrEdge};
//! use mia_runtime::source::RingSource;
//! let edge = IbkrEdge::connect(&IbkrConfig::default(), std::path::Path::new("state"))?;
//! let (feed, source) = RingSource::pair(format!("ibkr {}", edge.contract().local_symbol), 1 << 16);
//! let md = edge.spawn_market_data(feed)?;
//! let (orders_tx, orders_rx) = rtrb::RingBuffer::new(256);
//! let (reports_tx, reports_rx) = rtrb::RingBuffer::new(256);
//! let ord = edge.spawn_orders(orders_rx, reports_tx)?;
//! // ... LiveVenue::new(orders_tx), side input reports_rx, source into the session ...
//! edge.shutdown();
//! # let _ = (source, orders_tx, reports_rx, md, ord); Ok(()) }
//! ```

pub mod chain;
pub mod check;
pub mod config;
pub mod contract;
pub mod errors;
#[cfg(any(test, feature = "fake-tws"))]
pub mod fake;
pub mod ids;
pub mod md;
pub mod orders;
#[cfg(feature = "latency-probe")]
pub mod probe;
pub mod reconcile;
pub mod status;

pub use check::{check, CheckReport, CheckRow, Verdict};
pub use config::{ChainConfig, Fuse, IbkrConfig, Idle, IdlePolicy, Secret, ACCOUNT_ENV};
pub use contract::{ContractError, ResolvedContract};
pub use orders::OrderEdgeSummary;
pub use reconcile::{BrokerPosition, StartupState};
pub use status::{FeedStatus, LinkState};

use ibapi::client::blocking::Client;
use mia_model::msg::{Msg, OrderIntent};
use mia_model::time::calendar::{self, Date};
use mia_options::chain::Chain;
use mia_runtime::source::{FeedItem, LivePoll};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// Why the edge could not start.
#[derive(Debug, thiserror::Error)]
pub enum IbkrError {
    /// The `[ibkr]` section is invalid (every problem listed).
    #[error("ibkr config: {}", .0.join("; "))]
    Config(Vec<String>),
    /// Nothing accepts connections at the address.
    #[error("ibkr: TWS/Gateway not reachable at {addr}: {reason} (is it running, with API socket clients enabled on this port?)")]
    Unreachable {
        /// `host:port`.
        addr: String,
        /// The socket error.
        reason: String,
    },
    /// The server is too old for ibapi 5.5 (protobuf only).
    #[error("ibkr: {addr} reports server version {found}; ibapi 5.5 needs >= {need} (TWS/Gateway 10.40+ \"latest\" or 10.45+ \"stable\")")]
    ServerVersion {
        /// `host:port`.
        addr: String,
        /// Version the server reported.
        found: i32,
        /// Version needed.
        need: i32,
    },
    /// The handshake failed (garbage, refused, client id in use…).
    #[error("ibkr: handshake with {addr} failed: {reason}")]
    Handshake {
        /// `host:port`.
        addr: String,
        /// What went wrong.
        reason: String,
    },
    /// No handshake answer in time.
    #[error("ibkr: {addr}: no handshake answer within {ms} ms")]
    Timeout {
        /// `host:port`.
        addr: String,
        /// The timeout.
        ms: u64,
    },
    /// The account from `MIA_IBKR_ACCOUNT` is not usable.
    #[error("ibkr account: {0}")]
    Account(String),
    /// The contract could not be resolved.
    #[error(transparent)]
    Contract(#[from] ContractError),
    /// The order-id high-water mark could not be read.
    #[error("ibkr order ids: {0}")]
    Ids(std::io::Error),
    /// A thread could not be started.
    #[error("ibkr: cannot start the {0} thread: {1}")]
    Spawn(&'static str, std::io::Error),
    /// A fused edge could not open its ibapi streams.
    #[error("{0}")]
    Streams(String),
    /// The start-up reconciliation (open orders, positions, cancels) failed.
    #[error("ibkr start-up reconciliation: {0}")]
    Startup(String),
}

/// The server version ibapi 5.5 requires (protobuf for every message).
pub const MIN_SERVER_VERSION: i32 = 213;

/// Options of [`IbkrEdge::connect_with`] (what [`IbkrEdge::connect`] takes from the
/// environment and the clock).
#[derive(Clone, Debug, Default)]
pub struct ConnectOptions {
    /// The account orders go to; `None` = [`account_from_env`](crate::ibkr::config::account_from_env), and when that is unset
    /// too, the Gateway's only managed account (several managed accounts then is an error).
    pub account: Option<Secret>,
    /// The date the roll rule is applied to; `None` = today in New York.
    pub today: Option<Date>,
}

/// A connected edge: one ibapi client shared by the market-data, order and chain threads.
pub struct IbkrEdge {
    client: Arc<Client>,
    cfg: IbkrConfig,
    contract: ResolvedContract,
    state_dir: PathBuf,
    status: Arc<FeedStatus>,
    stop: Arc<AtomicBool>,
    account: Secret,
    next_valid_id: i32,
    positions: Arc<Mutex<Vec<BrokerPosition>>>,
}

impl std::fmt::Debug for IbkrEdge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IbkrEdge")
            .field("address", &self.cfg.address())
            .field("contract", &self.contract)
            .field("account", &self.account)
            .finish_non_exhaustive()
    }
}

impl IbkrEdge {
    /// Connects to the Gateway in `cfg`, checks the account (`MIA_IBKR_ACCOUNT`) and resolves
    /// the front month. `state_dir` keeps the order-id high-water mark.
    ///
    /// # Errors
    /// See [`IbkrError`].
    pub fn connect(cfg: &IbkrConfig, state_dir: &Path) -> Result<IbkrEdge, IbkrError> {
        Self::connect_with(cfg, state_dir, ConnectOptions::default())
    }

    /// [`connect`](Self::connect) with an explicit account and date.
    ///
    /// # Errors
    /// See [`IbkrError`].
    pub fn connect_with(
        cfg: &IbkrConfig,
        state_dir: &Path,
        opts: ConnectOptions,
    ) -> Result<IbkrEdge, IbkrError> {
        cfg.validate().map_err(IbkrError::Config)?;
        let client = Arc::new(open_client(cfg)?);
        let accounts: Vec<String> = client.handshake_managed_accounts().to_vec();
        let account = pick_account(opts.account.or_else(crate::ibkr::config::account_from_env), &accounts)?;
        let today = opts.today.unwrap_or_else(|| calendar::eastern_date(status::now_ns()));
        let contract = contract::resolve(&client, cfg.root, today)?;
        // Seeds ibapi's allocator value once; the edge allocates its own ids from it.
        let next_valid_id = client.next_order_id();
        // Fail now, not at the first order, when the id file is unreadable.
        ids::OrderIds::open(Some(state_dir), cfg.client_id, next_valid_id).map_err(IbkrError::Ids)?;
        tracing::info!(
            addr = %cfg.address(),
            server_version = client.server_version(),
            contract = %contract.local_symbol,
            con_id = contract.con_id,
            account = %account.redacted(),
            "ibkr: connected"
        );
        let status = Arc::new(FeedStatus::default());
        Ok(IbkrEdge {
            client,
            cfg: cfg.clone(),
            contract,
            state_dir: state_dir.to_path_buf(),
            status,
            stop: Arc::new(AtomicBool::new(false)),
            account,
            next_valid_id,
            positions: Arc::new(Mutex::new(Vec::new())),
        })
    }

    /// The contract traded (its `con_id` is the events' `instrument_id`).
    pub fn contract(&self) -> &ResolvedContract {
        &self.contract
    }

    /// The server version negotiated.
    pub fn server_version(&self) -> i32 {
        self.client.server_version()
    }

    /// Feed status for the stale-data guard and monitoring.
    pub fn status(&self) -> Arc<FeedStatus> {
        Arc::clone(&self.status)
    }

    /// The broker's positions as of the last reconciliation (the caller compares them with
    /// MIA's own position).
    pub fn broker_positions(&self) -> Vec<BrokerPosition> {
        self.positions.lock().map(|p| p.clone()).unwrap_or_default()
    }

    /// The broker's net position in the traded contract as of the last reconciliation
    /// (`None` before the first one).
    pub fn broker_position(&self) -> Option<i64> {
        let p = self.positions.lock().ok()?;
        if p.is_empty() {
            return None;
        }
        Some(p.iter().filter(|b| b.con_id == self.contract.con_id).map(|b| b.qty).sum())
    }

    /// What the broker holds for this client before MIA trades: its open orders and the
    /// position in the traded contract (see [`reconcile::StartupState`]). Call it before
    /// [`spawn_orders`](Self::spawn_orders).
    ///
    /// # Errors
    /// A request failed or timed out ([`IbkrError::Startup`]).
    pub fn startup_state(&self) -> Result<reconcile::StartupState, IbkrError> {
        let mult = self.cfg.root.spec().point_value_usd as f64;
        reconcile::startup_state(&self.client, self.cfg.request_timeout(), self.contract.con_id, mult)
            .map_err(IbkrError::Startup)
    }

    /// Cancels the open orders `ids` found by [`startup_state`](Self::startup_state) and waits
    /// until IB no longer lists them.
    ///
    /// # Errors
    /// A cancel failed or an order is still open after the request timeout.
    pub fn cancel_startup_orders(&self, ids: &[i32]) -> Result<(), IbkrError> {
        reconcile::cancel_and_wait(&self.client, ids, self.cfg.request_timeout()).map_err(IbkrError::Startup)
    }

    /// Starts the market-data thread (`mia-ibkr-md`): events into `feed`, `FeedItem::End` on
    /// [`shutdown`](Self::shutdown). The thread's result is `Err` when the connection is lost
    /// for good (no `End` is sent, so the source reports a dead feed).
    ///
    /// # Errors
    /// The thread cannot be started.
    pub fn spawn_market_data(
        &self,
        feed: rtrb::Producer<FeedItem>,
    ) -> Result<JoinHandle<Result<(), String>>, IbkrError> {
        let (client, cfg, contract, status, stop) = (
            Arc::clone(&self.client),
            self.cfg.clone(),
            self.contract.clone(),
            self.status(),
            Arc::clone(&self.stop),
        );
        std::thread::Builder::new()
            .name("mia-ibkr-md".into())
            .spawn(move || {
                pin_current("market data", cfg.md_core);
                md::run(client, cfg, contract, feed, status, stop)
            })
            .map_err(|e| IbkrError::Spawn("market data", e))
    }

    /// The order edge over this connection: its id allocator reads the state directory.
    fn order_edge(&self) -> Result<orders::OrderEdge, IbkrError> {
        orders::OrderEdge::new(
            Arc::clone(&self.client),
            self.cfg.clone(),
            self.contract.clone(),
            self.account.clone(),
            &self.state_dir,
            self.next_valid_id,
            self.status(),
            Arc::clone(&self.positions),
        )
        .map_err(IbkrError::Ids)
    }

    /// Starts the order thread (`mia-ibkr-orders`): intents from `orders`, reports into
    /// `reports`. It ends when `orders` is abandoned (the venue dropped) or on shutdown.
    ///
    /// # Errors
    /// The thread cannot be started.
    pub fn spawn_orders(
        &self,
        orders: rtrb::Consumer<OrderIntent>,
        reports: rtrb::Producer<Msg>,
    ) -> Result<JoinHandle<Result<OrderEdgeSummary, String>>, IbkrError> {
        let edge = self.order_edge()?;
        let stop = Arc::clone(&self.stop);
        let core = self.cfg.orders_core;
        std::thread::Builder::new()
            .name("mia-ibkr-orders".into())
            .spawn(move || {
                pin_current("orders", core);
                edge.run(orders, reports, stop)
            })
            .map_err(|e| IbkrError::Spawn("orders", e))
    }

    /// The market-data edge as a [`LivePoll`] for the pipeline's sequencer to run on its own
    /// thread (`[ibkr] fuse`), instead of [`spawn_market_data`](Self::spawn_market_data)'s
    /// thread; the [`EdgeJoin`] gives what it ended with once the sequencer has finished.
    ///
    /// # Errors
    /// ibapi refuses the notice stream.
    pub fn fused_market_data(
        &self,
        feed: rtrb::Producer<FeedItem>,
    ) -> Result<(Box<dyn LivePoll>, EdgeJoin<()>), IbkrError> {
        let md = md::MdLoop::new(
            Arc::clone(&self.client),
            self.cfg.clone(),
            self.contract.clone(),
            feed,
            self.status(),
            Arc::clone(&self.stop),
        )
        .map_err(IbkrError::Streams)?;
        let slot = Arc::new(Mutex::new(None));
        Ok((Box::new(MdPoll { md: Some(md), slot: Arc::clone(&slot) }), EdgeJoin::Fused(slot)))
    }

    /// The order edge as a [`LivePoll`] for the pipeline's sequencer (`[ibkr] fuse`), instead
    /// of [`spawn_orders`](Self::spawn_orders)'s thread: the thread that decided an order
    /// writes it.
    ///
    /// # Errors
    /// The order-id state cannot be read, or ibapi refuses a stream.
    pub fn fused_orders(
        &self,
        orders: rtrb::Consumer<OrderIntent>,
        reports: rtrb::Producer<Msg>,
    ) -> Result<(Box<dyn LivePoll>, EdgeJoin<OrderEdgeSummary>), IbkrError> {
        let edge = self.order_edge()?;
        let l = orders::OrderLoop::new(edge, orders, reports, Arc::clone(&self.stop))
            .map_err(IbkrError::Streams)?;
        let slot = Arc::new(Mutex::new(None));
        Ok((Box::new(OrdersPoll { l, slot: Arc::clone(&slot), done: false }), EdgeJoin::Fused(slot)))
    }

    /// Starts the SPX chain thread (`mia-ibkr-chain`): every `every` it assembles a [`Chain`]
    /// (spot, strikes around it for the nearest expiries, quotes with greeks, IV and open
    /// interest) and hands it to `sink`. The caller sequences each publication.
    ///
    /// # Errors
    /// The thread cannot be started.
    pub fn spawn_chain(
        &self,
        every: Duration,
        sink: impl FnMut(Chain) + Send + 'static,
    ) -> Result<JoinHandle<Result<u64, String>>, IbkrError> {
        let (client, cfg, stop) = (Arc::clone(&self.client), self.cfg.clone(), Arc::clone(&self.stop));
        std::thread::Builder::new()
            .name("mia-ibkr-chain".into())
            .spawn(move || chain::run(&client, &cfg, every, sink, &stop))
            .map_err(|e| IbkrError::Spawn("chain", e))
    }

    /// One SPX chain now (what [`spawn_chain`](Self::spawn_chain) publishes).
    ///
    /// # Errors
    /// A request failed or the chain is empty.
    pub fn chain_once(&self) -> Result<Chain, String> {
        chain::fetch(&self.client, &self.cfg)
    }

    /// Asks every edge thread to stop: market data pushes `FeedItem::End`, the order thread
    /// returns its summary, the chain thread returns.
    pub fn shutdown(&self) {
        self.stop.store(true, Ordering::Release);
    }
}

impl Drop for IbkrEdge {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// How an edge's result is collected at the end: its thread's, or, fused, what the sequencer's
/// last poll left in the slot.
pub enum EdgeJoin<T> {
    /// The edge ran on its own thread.
    Thread(JoinHandle<Result<T, String>>),
    /// The edge ran on the pipeline's thread ([`IbkrEdge::fused_market_data`],
    /// [`IbkrEdge::fused_orders`]).
    Fused(Arc<Mutex<Option<Result<T, String>>>>),
}

impl<T> EdgeJoin<T> {
    /// Waits for the edge's thread, or reads the fused edge's result (an error if the
    /// sequencer never finished it: the pipeline is still running or was leaked).
    pub fn join(self) -> std::thread::Result<Result<T, String>> {
        match self {
            EdgeJoin::Thread(h) => h.join(),
            EdgeJoin::Fused(slot) => Ok(slot
                .lock()
                .ok()
                .and_then(|mut r| r.take())
                .unwrap_or_else(|| Err("the fused edge was never finished by its pipeline".into()))),
        }
    }
}

impl<T> From<JoinHandle<Result<T, String>>> for EdgeJoin<T> {
    fn from(h: JoinHandle<Result<T, String>>) -> Self {
        EdgeJoin::Thread(h)
    }
}

/// [`IbkrEdge::fused_market_data`]'s poll: [`md::MdLoop::step`] without blocking. When the loop
/// ends with an error, the loop (and with it the feed ring's producer) is dropped, so the
/// source reports a dead feed as it does when the edge's thread ends.
struct MdPoll {
    md: Option<md::MdLoop>,
    slot: Arc<Mutex<Option<Result<(), String>>>>,
}

impl MdPoll {
    fn end(&mut self, r: Result<(), String>) {
        self.md = None;
        if let Ok(mut s) = self.slot.lock() {
            s.get_or_insert(r);
        }
    }
}

impl LivePoll for MdPoll {
    fn poll(&mut self) -> bool {
        let Some(md) = self.md.as_mut() else { return false };
        match md.step(None) {
            md::Step::Busy => true,
            md::Step::Idle | md::Step::Waiting => false,
            md::Step::Done(r) => {
                self.end(r);
                false
            }
        }
    }

    fn finish(&mut self) {
        if self.md.is_some() {
            self.end(Ok(()));
        }
    }
}

/// [`IbkrEdge::fused_orders`]'s poll: [`orders::OrderLoop::step`]; at the end (or on
/// shutdown) the loop's `finish`, whose summary goes to the slot.
struct OrdersPoll {
    l: orders::OrderLoop,
    slot: Arc<Mutex<Option<Result<OrderEdgeSummary, String>>>>,
    done: bool,
}

impl OrdersPoll {
    fn end(&mut self) {
        self.done = true;
        let summary = self.l.finish();
        if let Ok(mut s) = self.slot.lock() {
            *s = Some(Ok(summary));
        }
    }
}

impl LivePoll for OrdersPoll {
    fn poll(&mut self) -> bool {
        if self.done {
            return false;
        }
        match self.l.step() {
            orders::OrderStep::Busy => true,
            orders::OrderStep::Idle => false,
            orders::OrderStep::Done => {
                self.end();
                false
            }
        }
    }

    fn finish(&mut self) {
        if !self.done {
            self.end();
        }
    }
}

impl Drop for OrdersPoll {
    /// Dropped without the sequencer's finish (the session failed before or while running):
    /// the same end as the thread's, so a held bracket is never left half sent.
    fn drop(&mut self) {
        LivePoll::finish(self);
    }
}

/// Connects the ibapi client, with a TCP probe first (a clear "not reachable") and the
/// handshake on a helper thread (a clear timeout).
pub(crate) fn open_client(cfg: &IbkrConfig) -> Result<Client, IbkrError> {
    let addr = cfg.address();
    let sock: std::net::SocketAddr = addr.parse().map_err(|e| IbkrError::Unreachable {
        addr: addr.clone(),
        reason: format!("not an IP address and port: {e}"),
    })?;
    std::net::TcpStream::connect_timeout(&sock, cfg.connect_timeout())
        .map_err(|e| IbkrError::Unreachable { addr: addr.clone(), reason: e.to_string() })?;
    let (tx, rx) = std::sync::mpsc::channel();
    let (a2, id, attempts, timeout, reader_core) =
        (addr.clone(), cfg.client_id, cfg.reconnect_attempts, cfg.request_timeout(), cfg.reader_core);
    std::thread::Builder::new()
        .name("mia-ibkr-connect".into())
        .spawn(move || {
            // ibapi starts its socket reader (dispatcher) thread from this one: it inherits
            // this affinity, and ibapi reconnects on that same thread.
            pin_current("ibapi reader", reader_core);
            let mut b =
                Client::builder().address(a2).client_id(id).tcp_no_delay(true).one_shot_timeout(timeout);
            b = if attempts == 0 { b.reconnect_forever() } else { b.max_reconnect_attempts(attempts) };
            let _ = tx.send(b.connect());
        })
        .map_err(|e| IbkrError::Spawn("connect", e))?;
    match rx.recv_timeout(cfg.connect_timeout()) {
        Ok(Ok(c)) => Ok(c),
        Ok(Err(ibapi::Error::ServerVersion(need, found, _))) => {
            Err(IbkrError::ServerVersion { addr, found, need })
        }
        Ok(Err(e)) => Err(IbkrError::Handshake { addr, reason: e.to_string() }),
        Err(_) => Err(IbkrError::Timeout { addr, ms: cfg.connect_timeout_ms }),
    }
}

/// Pins the calling thread to core `core`; −1 leaves it unpinned. The core is taken as
/// given first, so a thread can be pinned outside the mask the process was started with
/// (`taskset -c 2-4` for the process, `reader_core = 5` for ibapi's reader); a core that
/// cannot be set (absent, or outside the cgroup's cpuset) falls back to `core` modulo the
/// cores the thread may run on. A core that cannot be set at all is a warning (the thread runs
/// unpinned), not an error.
fn pin_current(what: &str, core: i32) {
    match pin_to(core) {
        None => {}
        Some(Ok(id)) => tracing::info!(thread = what, core = id, "ibkr: thread pinned"),
        Some(Err(why)) => tracing::warn!(thread = what, core, "ibkr: thread not pinned: {why}"),
    }
}

/// [`pin_current`]'s work: `None` for −1, else the core the thread is now on, or why not.
fn pin_to(core: i32) -> Option<Result<usize, String>> {
    let want = usize::try_from(core).ok()?;
    // Linux's cpu_set_t holds 1,024 cores (core_affinity indexes it without a check).
    if want < 1024 && core_affinity::set_for_current(core_affinity::CoreId { id: want }) {
        return Some(Ok(want));
    }
    let ids = core_affinity::get_core_ids().unwrap_or_default();
    let Some(&id) = ids.get(want % ids.len().max(1)) else {
        return Some(Err("no core list".into()));
    };
    Some(if core_affinity::set_for_current(id) {
        Ok(id.id)
    } else {
        Err(format!("cannot set core {}", id.id))
    })
}

/// The account to trade: the configured one when the Gateway manages it, else the only managed
/// account. Errors never print the id.
fn pick_account(want: Option<Secret>, managed: &[String]) -> Result<Secret, IbkrError> {
    match want {
        Some(a) if managed.iter().any(|m| m == a.expose()) => Ok(a),
        Some(a) => Err(IbkrError::Account(format!(
            "{} ({}) is not among the {} account(s) this Gateway manages",
            config::ACCOUNT_ENV,
            a.redacted(),
            managed.len()
        ))),
        None => match managed {
            [one] => {
                tracing::warn!(
                    "ibkr: {} is unset; using the Gateway's only managed account",
                    config::ACCOUNT_ENV
                );
                Ok(Secret::new(one.clone()))
            }
            _ => Err(IbkrError::Account(format!(
                "{} is unset and the Gateway manages {} accounts: set it to the one to trade",
                config::ACCOUNT_ENV,
                managed.len()
            ))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cores the calling thread may run on.
    fn mask() -> Vec<usize> {
        core_affinity::get_core_ids().unwrap_or_default().into_iter().map(|c| c.id).collect()
    }

    #[test]
    fn a_thread_is_pinned_to_the_core_asked_even_outside_its_mask() {
        let all = mask();
        if all.len() < 2 {
            eprintln!("skipped: needs 2 cores, this host gives {}", all.len());
            return;
        }
        let (first, last) = (all[0], all[all.len() - 1]);
        let got = std::thread::spawn(move || {
            // The thread starts confined to the first core, as under `taskset -c <first>`.
            assert!(core_affinity::set_for_current(core_affinity::CoreId { id: first }));
            let confined = mask();
            let pinned = pin_to(last as i32);
            (confined, pinned, mask())
        })
        .join()
        .expect("thread");
        assert_eq!(got.0, [first]);
        assert_eq!(got.1, Some(Ok(last)), "core {last} as given, not modulo the mask");
        assert_eq!(got.2, [last]);
        assert_eq!(pin_to(-1), None, "-1 leaves the thread alone");
    }

    #[test]
    fn a_core_that_does_not_exist_falls_back_to_modulo_the_mask() {
        let got = std::thread::spawn(|| {
            let before = mask();
            (before.clone(), pin_to(1_000_000), mask())
        })
        .join()
        .expect("thread");
        let (before, pinned, after) = got;
        let expect = before[1_000_000 % before.len()];
        assert_eq!(pinned, Some(Ok(expect)));
        assert_eq!(after, [expect]);
    }
}
