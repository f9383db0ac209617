//! The DTC client: one edge thread per connection (`mia-dtc`) that owns the TCP socket and
//! speaks to the hot path only through SPSC rings.
//!
//! ```text
//!  DTC server ──TCP──▶ mia-dtc thread ──Producer<FeedItem>──▶ RingSource ─▶ sequencer
//!                        │   ▲
//!                        │   └── Consumer<OrderIntent> ◀── LiveVenue (ExecStage)
//!                        └────── Producer<Msg::Exec(ExecReport)> ─▶ sequencer side ring
//! ```
//!
//! - **Connect** ([`DtcEdge::connect`]): TCP connect (timeout), the binary ENCODING_REQUEST
//!   when configured (the answer chooses the encoding for the rest of the session), then
//!   LOGON_REQUEST (heartbeat interval, trade mode, client name, user name, password and trade
//!   account from the environment) and its LOGON_RESPONSE. A refused logon is an error naming
//!   the server's text. The connection is made on the caller's thread, so `mia check` and the
//!   assembly see a refusal at once.
//! - **Heartbeats** both ways: one HEARTBEAT every `heartbeat_secs`; no HEARTBEAT from the
//!   server for two intervals means the connection is lost.
//! - **Connection lost** (heartbeat silence, EOF, socket error, undecodable stream): the book
//!   is reset (a `Clear` event flagged `MAYBE_BAD_BOOK`), then the client reconnects with
//!   exponential back-off (`reconnect_initial_ms` doubling up to `reconnect_max_ms`), logs on
//!   again, resubscribes, and **reconciles**: OPEN_ORDERS_REQUEST and CURRENT_POSITIONS_REQUEST.
//!   No order is ever re-sent: an order the server still has is updated from its ORDER_UPDATE
//!   (fills made during the outage are reported from `FilledQuantity`); one it no longer lists
//!   has its fills asked for (HISTORICAL_ORDER_FILLS_REQUEST) and is then reported filled or
//!   ended ([`reason::ENDED_WHILE_DISCONNECTED`]); one it never acknowledged is
//!   [`reason::UNKNOWN_TO_SERVER`]. New orders that arrive while the link is down are rejected
//!   ([`reason::NOT_CONNECTED`]); cancels and modifies wait and are sent after the reconnect.
//! - **Orders**: `New` → SUBMIT_NEW_SINGLE_ORDER (client order id = the decimal intent id);
//!   a native bracket (an entry with `children = 2`, then its two children, whose
//!   `client_order_id − link` is the entry) → the entry with `IsParentOrder = 1` immediately
//!   followed by SUBMIT_NEW_OCO_ORDER with `ParentTriggerClientOrderID` = the entry; `Cancel` →
//!   CANCEL_ORDER; `Modify` → CANCEL_REPLACE_ORDER (new prices and total quantity).
//! - **Reports**: ORDER_UPDATE (solicited or not) → `Accepted` (once), `Filled` (one per
//!   increase of `FilledQuantity`: repeated updates are deduplicated, a fill is never
//!   reported twice nor lost), `Cancelled`, `Rejected`, with a [`reason`] code. Cancel and
//!   cancel-replace rejections change nothing (the order still works) and are only logged.
//!   POSITION_UPDATE has no `ExecReport` form: the server's position is compared with the
//!   position of the fills reported (a difference is counted and logged) and published in
//!   [`DtcHandle::server_position`].
//! - **Stop** ([`DtcHandle::stop`]): LOGOFF, `FeedItem::End` on the market-data ring, the
//!   thread returns its [`DtcStats`]. The thread also ends when every ring it feeds is
//!   abandoned by the other side.
//!
//! The trade account and the password are [`Secret`]s: never logged, never in an error.

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mia_model::event::Event;
use mia_model::msg::{
    ExecKind, ExecReport, Msg, OrderAction, OrderIntent, OrderSide, OrderType, TimeInForce,
};
use mia_model::price::to_f64;
use mia_runtime::source::FeedItem;

use super::config::{DtcConfig, Encoding, Secret, ACCOUNT_ENV, PASSWORD_ENV};
use super::market::MarketNormalizer;
use super::messages::*;
use super::{reason, CodecError};
use crate::ibkr::ids::OrderIds;
use crate::normalize::EventBuf;

/// `SymbolID` the client subscribes its one symbol with.
pub const SYMBOL_ID: u32 = 1;

/// Why the client could not connect or had to stop.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DtcError {
    /// The configuration is invalid (every problem listed).
    #[error("dtc config: {}", .0.join("; "))]
    Config(Vec<String>),
    /// A socket operation failed.
    #[error("DTC {peer}: {what}: {err}")]
    Io {
        /// `host:port`.
        peer: String,
        /// What was being done.
        what: String,
        /// The I/O error.
        err: String,
    },
    /// The stream could not be decoded.
    #[error("DTC {peer}: stream offset {offset}: {err}")]
    Codec {
        /// `host:port`.
        peer: String,
        /// Byte offset of the message in the received stream.
        offset: u64,
        /// The decoding error.
        err: CodecError,
    },
    /// The server refused the encoding.
    #[error("DTC {peer}: the server answered encoding {got} to a request for {want:?}")]
    EncodingRefused {
        /// `host:port`.
        peer: String,
        /// Requested.
        want: Encoding,
        /// Answered.
        got: i32,
    },
    /// The server refused the logon.
    #[error("DTC {peer}: logon refused (result {result}{}): {text}", if *.no_reconnect { ", do not reconnect" } else { "" })]
    LogonRejected {
        /// `host:port`.
        peer: String,
        /// `LogonStatusEnum`.
        result: i32,
        /// `ResultText`.
        text: String,
        /// The server asked not to reconnect.
        no_reconnect: bool,
    },
    /// No answer in time.
    #[error("DTC {peer}: timed out waiting for {what}")]
    Timeout {
        /// `host:port`.
        peer: String,
        /// The awaited message.
        what: String,
    },
    /// The server rejected the market-data or depth subscription.
    #[error("DTC {peer}: {what} for {symbol} rejected: {text}")]
    SubscriptionRejected {
        /// `host:port`.
        peer: String,
        /// "market data" or "market depth".
        what: String,
        /// The symbol.
        symbol: String,
        /// The server's text.
        text: String,
    },
    /// Reconnecting failed too many times in a row.
    #[error("DTC {peer}: gave up after {attempts} reconnect attempts: {last}")]
    GaveUp {
        /// `host:port`.
        peer: String,
        /// Attempts made.
        attempts: u32,
        /// The last error.
        last: String,
    },
    /// The edge thread could not start or panicked.
    #[error("DTC edge thread: {0}")]
    Thread(String),
    /// The client-order-id state (high-water mark in the state directory) is unusable.
    #[error("DTC state: {0}")]
    IdState(String),
}

/// What the server said at logon.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct SessionInfo {
    /// `ServerName`.
    pub server_name: String,
    /// `ResultText`.
    pub result_text: String,
    /// The encoding in use.
    pub encoding: Encoding,
    /// `TradingIsSupported` (Sierra Chart: "Allow Trading").
    pub trading_supported: bool,
    /// `OCOOrdersSupported`.
    pub oco_supported: bool,
    /// `BracketOrdersSupported`.
    pub brackets_supported: bool,
    /// `OrderCancelReplaceSupported`.
    pub cancel_replace_supported: bool,
    /// `MarketDataSupported`.
    pub market_data_supported: bool,
    /// `MarketDepthIsSupported`.
    pub depth_supported: bool,
}

/// Counters of an edge thread (a snapshot).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct DtcStats {
    /// Successful logons (the first one included).
    pub logons: u64,
    /// Connections lost.
    pub disconnects: u64,
    /// Heartbeats received.
    pub heartbeats_in: u64,
    /// Heartbeats sent.
    pub heartbeats_out: u64,
    /// Messages received.
    pub messages_in: u64,
    /// Messages of types the client does not read.
    pub unknown_messages: u64,
    /// Market messages dropped for a bad field.
    pub bad_market_messages: u64,
    /// Market events pushed.
    pub events: u64,
    /// Execution reports pushed.
    pub reports: u64,
    /// Order messages sent (new, OCO, cancel, cancel-replace).
    pub order_messages: u64,
    /// ORDER_UPDATEs for orders MIA did not send (ignored).
    pub foreign_updates: u64,
    /// Cancel or cancel-replace rejections (logged, the order still works).
    pub cancel_rejects: u64,
    /// POSITION_UPDATEs whose quantity differs from the position of the reported fills.
    pub position_mismatches: u64,
}

#[derive(Default)]
struct SharedStats {
    logons: AtomicU64,
    disconnects: AtomicU64,
    heartbeats_in: AtomicU64,
    heartbeats_out: AtomicU64,
    messages_in: AtomicU64,
    unknown_messages: AtomicU64,
    bad_market_messages: AtomicU64,
    events: AtomicU64,
    reports: AtomicU64,
    order_messages: AtomicU64,
    foreign_updates: AtomicU64,
    cancel_rejects: AtomicU64,
    position_mismatches: AtomicU64,
    server_position: AtomicI64,
    server_position_known: AtomicBool,
    connected: AtomicBool,
}

impl SharedStats {
    fn snapshot(&self) -> DtcStats {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        DtcStats {
            logons: g(&self.logons),
            disconnects: g(&self.disconnects),
            heartbeats_in: g(&self.heartbeats_in),
            heartbeats_out: g(&self.heartbeats_out),
            messages_in: g(&self.messages_in),
            unknown_messages: g(&self.unknown_messages),
            bad_market_messages: g(&self.bad_market_messages),
            events: g(&self.events),
            reports: g(&self.reports),
            order_messages: g(&self.order_messages),
            foreign_updates: g(&self.foreign_updates),
            cancel_rejects: g(&self.cancel_rejects),
            position_mismatches: g(&self.position_mismatches),
        }
    }
}

fn bump(a: &AtomicU64) {
    a.fetch_add(1, Ordering::Relaxed);
}

use mia_runtime::clock::wall_ns as now_ns;

/// The credentials sent at logon and with every order.
#[derive(Clone, Debug, Default)]
pub struct Credentials {
    /// Trade account (`MIA_DTC_ACCOUNT`).
    pub account: Option<Secret>,
    /// Logon password (`MIA_DTC_PASSWORD`).
    pub password: Option<Secret>,
}

impl Credentials {
    /// From the environment.
    pub fn from_env() -> Self {
        Self { account: Secret::from_env_exact(ACCOUNT_ENV), password: Secret::from_env_exact(PASSWORD_ENV) }
    }

    pub(super) fn account(&self) -> String {
        self.account.as_ref().map(|s| s.expose().to_string()).unwrap_or_default()
    }
}

/// One logged-on connection.
pub(super) struct Conn {
    pub(super) peer: String,
    pub(super) stream: TcpStream,
    enc: Encoding,
    rbuf: Vec<u8>,
    rstart: usize,
    /// Stream offset of `rbuf[rstart]`.
    offset: u64,
    wbuf: Vec<u8>,
}

impl Conn {
    fn io(&self, what: &str, e: &std::io::Error) -> DtcError {
        DtcError::Io { peer: self.peer.clone(), what: what.into(), err: e.to_string() }
    }

    pub(super) fn send(&mut self, m: &Message) -> Result<(), DtcError> {
        self.wbuf.clear();
        super::encode(self.enc, m, &mut self.wbuf).map_err(|err| DtcError::Codec {
            peer: self.peer.clone(),
            offset: 0,
            err,
        })?;
        let mut off = 0;
        let deadline = Instant::now() + Duration::from_secs(5);
        while off < self.wbuf.len() {
            match self.stream.write(&self.wbuf[off..]) {
                Ok(0) => return Err(self.io(&format!("send {}", m.name()), &ErrorKind::WriteZero.into())),
                Ok(n) => off += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::Interrupted => {
                    if Instant::now() > deadline {
                        return Err(self.io(&format!("send {}", m.name()), &e));
                    }
                    std::thread::yield_now();
                }
                Err(e) => return Err(self.io(&format!("send {}", m.name()), &e)),
            }
        }
        Ok(())
    }

    /// The next whole message already buffered.
    fn buffered(&mut self) -> Result<Option<Message>, DtcError> {
        let data = self.rbuf.get(self.rstart..).unwrap_or(&[]);
        match super::decode(self.enc, data) {
            Ok(Some((m, used))) => {
                self.rstart += used;
                self.offset += used as u64;
                if self.rstart == self.rbuf.len() {
                    self.rbuf.clear();
                    self.rstart = 0;
                } else if self.rstart > 64 * 1024 {
                    self.rbuf.drain(..self.rstart);
                    self.rstart = 0;
                }
                Ok(Some(m))
            }
            Ok(None) => Ok(None),
            Err(err) => Err(DtcError::Codec { peer: self.peer.clone(), offset: self.offset, err }),
        }
    }

    /// One message if one can be had without blocking (non-blocking socket) or within the
    /// read timeout (blocking socket).
    fn poll(&mut self) -> Result<Option<Message>, DtcError> {
        if let Some(m) = self.buffered()? {
            return Ok(Some(m));
        }
        let mut chunk = [0u8; 16 * 1024];
        match self.stream.read(&mut chunk) {
            Ok(0) => Err(self.io(
                "read",
                &std::io::Error::new(ErrorKind::UnexpectedEof, "the server closed the connection"),
            )),
            Ok(n) => {
                self.rbuf.extend_from_slice(&chunk[..n]);
                self.buffered()
            }
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(self.io("read", &e)),
        }
    }

    /// Waits (blocking) for the first message accepted by `want`, skipping heartbeats and
    /// other messages.
    pub(super) fn wait_for<T>(
        &mut self,
        what: &str,
        timeout: Duration,
        mut want: impl FnMut(Message) -> Option<T>,
    ) -> Result<T, DtcError> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(DtcError::Timeout { peer: self.peer.clone(), what: what.into() });
            }
            self.stream
                .set_read_timeout(Some(left.min(Duration::from_millis(100))))
                .map_err(|e| self.io("set timeout", &e))?;
            if let Some(m) = self.poll()? {
                if let Some(t) = want(m) {
                    return Ok(t);
                }
            }
        }
    }

    /// Connects, negotiates the encoding and logs on.
    fn open(cfg: &DtcConfig, creds: &Credentials) -> Result<(Conn, SessionInfo), DtcError> {
        let peer = format!("{}:{}", cfg.host, cfg.port);
        let io = |what: &str, e: std::io::Error| DtcError::Io {
            peer: peer.clone(),
            what: what.into(),
            err: e.to_string(),
        };
        let timeout = Duration::from_millis(cfg.connect_timeout_ms);
        let addr = (cfg.host.as_str(), cfg.port)
            .to_socket_addrs()
            .map_err(|e| io("resolve", e))?
            .next()
            .ok_or_else(|| io("resolve", ErrorKind::NotFound.into()))?;
        let stream = TcpStream::connect_timeout(&addr, timeout).map_err(|e| io("connect", e))?;
        stream.set_nodelay(true).map_err(|e| io("set nodelay", e))?;
        let mut c = Conn {
            peer: peer.clone(),
            stream,
            enc: Encoding::Binary,
            rbuf: Vec::with_capacity(64 * 1024),
            rstart: 0,
            offset: 0,
            wbuf: Vec::with_capacity(1024),
        };
        if cfg.encoding_request {
            c.send(
                &EncodingRequest {
                    protocol_version: PROTOCOL_VERSION,
                    encoding: cfg.encoding.dtc_value(),
                    protocol_type: "DTC".into(),
                }
                .into(),
            )?;
            let got = c.wait_for("ENCODING_RESPONSE", timeout, |m| match m {
                Message::EncodingResponse(r) => Some(r.encoding),
                _ => None,
            })?;
            if got != cfg.encoding.dtc_value() {
                return Err(DtcError::EncodingRefused { peer, want: cfg.encoding, got });
            }
        }
        c.enc = cfg.encoding;
        let logon = LogonRequest {
            protocol_version: PROTOCOL_VERSION,
            username: cfg.username.clone(),
            password: creds.password.as_ref().map(|p| p.expose().to_string()).unwrap_or_default(),
            heartbeat_interval_in_seconds: cfg.heartbeat_secs as i32,
            trade_mode: cfg.trade_mode.dtc_value(),
            trade_account: creds.account(),
            client_name: cfg.client_name.clone(),
            ..LogonRequest::default()
        };
        c.send(&logon.into())?;
        let r = c.wait_for("LOGON_RESPONSE", timeout, |m| match m {
            Message::LogonResponse(r) => Some(r),
            _ => None,
        })?;
        if r.result != values::LOGON_SUCCESS {
            return Err(DtcError::LogonRejected {
                peer,
                result: r.result,
                text: r.result_text,
                no_reconnect: r.result == values::LOGON_ERROR_NO_RECONNECT,
            });
        }
        c.stream.set_nonblocking(true).map_err(|e| io("set non-blocking", e))?;
        let info = SessionInfo {
            server_name: r.server_name,
            result_text: r.result_text,
            encoding: c.enc,
            trading_supported: r.trading_is_supported != 0,
            oco_supported: r.oco_orders_supported != 0,
            brackets_supported: r.bracket_orders_supported != 0,
            cancel_replace_supported: r.order_cancel_replace_supported != 0,
            market_data_supported: r.market_data_supported != 0,
            depth_supported: r.market_depth_is_supported != 0,
        };
        Ok((c, info))
    }
}

/// A connected, logged-on DTC client, not yet running its thread.
pub struct DtcEdge {
    pub(super) cfg: DtcConfig,
    pub(super) creds: Credentials,
    pub(super) symbol: String,
    pub(super) conn: Conn,
    pub(super) info: SessionInfo,
    /// Client order ids on the wire (`None`: the intent's own id).
    pub(super) ids: Option<OrderIds>,
}

impl std::fmt::Debug for DtcEdge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DtcEdge")
            .field("peer", &self.conn.peer)
            .field("symbol", &self.symbol)
            .field("server", &self.info.server_name)
            .field("account", &self.creds.account)
            .finish()
    }
}

impl DtcEdge {
    /// Validates `cfg`, reads the account and password from the environment, connects and
    /// logs on.
    ///
    /// # Errors
    /// An invalid config, an unreachable server, a refused encoding or logon, a timeout.
    pub fn connect(cfg: &DtcConfig) -> Result<Self, DtcError> {
        Self::connect_with(cfg, Credentials::from_env())
    }

    /// As [`connect`](Self::connect) with explicit credentials (tests).
    ///
    /// # Errors
    /// See [`connect`](Self::connect).
    pub fn connect_with(cfg: &DtcConfig, creds: Credentials) -> Result<Self, DtcError> {
        cfg.validate().map_err(DtcError::Config)?;
        let (conn, info) = Conn::open(cfg, &creds)?;
        tracing::info!(peer = %conn.peer, server = %info.server_name, encoding = ?info.encoding, trading = info.trading_supported, "DTC logon accepted");
        Ok(Self { symbol: cfg.symbol_now(), cfg: cfg.clone(), creds, conn, info, ids: None })
    }

    /// What the server said at logon.
    pub fn session(&self) -> &SessionInfo {
        &self.info
    }

    /// The symbol subscribed and traded.
    pub fn symbol(&self) -> &str {
        &self.symbol
    }

    /// Runs the edge thread for market data only.
    ///
    /// # Errors
    /// The thread cannot be started.
    pub fn spawn_market_data(self, feed: rtrb::Producer<FeedItem>) -> Result<DtcHandle, DtcError> {
        self.spawn(Some(feed), None)
    }

    /// Runs the edge thread for orders only.
    ///
    /// # Errors
    /// The thread cannot be started.
    pub fn spawn_orders(
        self,
        orders: rtrb::Consumer<OrderIntent>,
        reports: rtrb::Producer<Msg>,
    ) -> Result<DtcHandle, DtcError> {
        self.spawn(None, Some((orders, reports)))
    }

    /// Runs the edge thread with market data and/or orders on this one connection.
    ///
    /// # Errors
    /// The thread cannot be started.
    pub fn spawn(
        self,
        feed: Option<rtrb::Producer<FeedItem>>,
        orders: Option<(rtrb::Consumer<OrderIntent>, rtrb::Producer<Msg>)>,
    ) -> Result<DtcHandle, DtcError> {
        let stop = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(SharedStats::default());
        stats.logons.store(1, Ordering::Relaxed);
        stats.connected.store(true, Ordering::Relaxed);
        let tick = self.cfg.root.spec().tick;
        let depth = self.cfg.depth_levels > 0;
        let (orders, reports) = match orders {
            Some((o, r)) => (Some(o), Some(r)),
            None => (None, None),
        };
        let mut edge = Edge {
            market: MarketNormalizer::new(tick, self.cfg.instrument_id, depth),
            cfg: self.cfg,
            creds: self.creds,
            symbol: self.symbol,
            info: self.info,
            conn: Some(self.conn),
            stop: stop.clone(),
            stats: stats.clone(),
            feed,
            orders,
            reports,
            events: EventBuf::new(),
            table: HashMap::new(),
            ids: self.ids,
            by_wire: HashMap::new(),
            next_request: 1,
            open_orders: None,
            fill_queries: HashMap::new(),
            ended: Vec::new(),
            deferred: Vec::new(),
            last_hb_in: Instant::now(),
            last_hb_out: Instant::now(),
            position: 0,
        };
        let thread = std::thread::Builder::new()
            .name("mia-dtc".into())
            .spawn(move || edge.run())
            .map_err(|e| DtcError::Thread(e.to_string()))?;
        Ok(DtcHandle { stop, stats, thread: Some(thread) })
    }
}

/// Read-only connection state of a running DTC edge ([`DtcHandle::link`]).
#[derive(Clone)]
pub struct DtcLink(Arc<SharedStats>);

impl DtcLink {
    /// True while logged on.
    pub fn is_connected(&self) -> bool {
        self.0.connected.load(Ordering::Relaxed)
    }

    /// Connections lost so far.
    pub fn disconnects(&self) -> u64 {
        self.0.disconnects.load(Ordering::Relaxed)
    }
}

/// The running edge thread.
pub struct DtcHandle {
    stop: Arc<AtomicBool>,
    stats: Arc<SharedStats>,
    thread: Option<std::thread::JoinHandle<Result<(), DtcError>>>,
}

impl DtcHandle {
    /// Asks the thread to log off and end.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Release);
    }

    /// The stop flag (for a control thread).
    pub fn stop_flag(&self) -> Arc<AtomicBool> {
        self.stop.clone()
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> DtcStats {
        self.stats.snapshot()
    }

    /// True while logged on.
    pub fn is_connected(&self) -> bool {
        self.stats.connected.load(Ordering::Relaxed)
    }

    /// A read-only view of the connection state that outlives borrows of the handle (for a
    /// monitor thread).
    pub fn link(&self) -> DtcLink {
        DtcLink(Arc::clone(&self.stats))
    }

    /// The server's last reported position in the symbol (contracts, + long), if any.
    pub fn server_position(&self) -> Option<i64> {
        self.stats
            .server_position_known
            .load(Ordering::Acquire)
            .then(|| self.stats.server_position.load(Ordering::Acquire))
    }

    /// True once the thread has ended.
    pub fn is_finished(&self) -> bool {
        self.thread.as_ref().is_none_or(|t| t.is_finished())
    }

    /// Stops the thread and waits for it.
    ///
    /// # Errors
    /// The thread ended on an error (a logon refused on reconnect, reconnects exhausted, a
    /// rejected subscription) or panicked.
    pub fn join(mut self) -> Result<DtcStats, DtcError> {
        self.stop();
        let r = match self.thread.take() {
            Some(t) => t.join().map_err(|_| DtcError::Thread("the DTC edge thread panicked".into()))?,
            None => Ok(()),
        };
        r.map(|()| self.stats.snapshot())
    }
}

impl Drop for DtcHandle {
    fn drop(&mut self) {
        self.stop();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// What the client knows of one order it sent.
#[derive(Clone, Debug)]
struct OrderState {
    side: OrderSide,
    qty: u32,
    filled: u32,
    avg: f64,
    server_id: String,
    accepted: bool,
    done: bool,
    cancel_requested: bool,
    sibling: Option<u64>,
    /// Seen in the open-orders answer of the current reconciliation.
    listed: bool,
    /// The `ClientOrderID` on the wire.
    wire: u64,
}

/// A HISTORICAL_ORDER_FILLS query for an order missing after a reconnect.
#[derive(Clone, Debug, Default)]
struct FillQuery {
    coid: u64,
    qty: f64,
    notional: f64,
}

struct Edge {
    cfg: DtcConfig,
    creds: Credentials,
    symbol: String,
    info: SessionInfo,
    conn: Option<Conn>,
    stop: Arc<AtomicBool>,
    stats: Arc<SharedStats>,
    feed: Option<rtrb::Producer<FeedItem>>,
    orders: Option<rtrb::Consumer<OrderIntent>>,
    reports: Option<rtrb::Producer<Msg>>,
    market: MarketNormalizer,
    events: EventBuf,
    table: HashMap<u64, OrderState>,
    /// Allocator of wire client order ids (`None`: the intent's id is sent as is).
    ids: Option<OrderIds>,
    /// Wire client order id → intent id.
    by_wire: HashMap<u64, u64>,
    next_request: i32,
    /// The open-orders request of the current reconciliation.
    open_orders: Option<i32>,
    fill_queries: HashMap<i32, FillQuery>,
    /// Orders found ended after a reconnect, reported once every fills query is answered.
    ended: Vec<u64>,
    /// Cancels and modifies received while disconnected.
    deferred: Vec<OrderIntent>,
    last_hb_in: Instant,
    last_hb_out: Instant,
    /// Position from the fills reported.
    position: i64,
}

fn dtc_side(s: OrderSide) -> i32 {
    match s {
        OrderSide::Buy => values::BUY,
        OrderSide::Sell => values::SELL,
    }
}

/// DTC order type, Price1, Price2 of an intent.
fn dtc_prices(o: &OrderIntent) -> (i32, f64, f64) {
    match o.order_type {
        OrderType::Market => (values::ORDER_TYPE_MARKET, 0.0, 0.0),
        OrderType::Limit => (values::ORDER_TYPE_LIMIT, to_f64(o.price), 0.0),
        OrderType::Stop => (values::ORDER_TYPE_STOP, to_f64(o.trigger), 0.0),
        OrderType::StopLimit => (values::ORDER_TYPE_STOP_LIMIT, to_f64(o.trigger), to_f64(o.price)),
    }
}

fn dtc_tif(t: TimeInForce) -> i32 {
    match t {
        TimeInForce::Day => values::TIF_DAY,
        TimeInForce::Gtc => values::TIF_GTC,
        TimeInForce::Ioc => values::TIF_IOC,
    }
}

fn qty_of(v: f64) -> u32 {
    if v.is_finite() && v > 0.0 {
        v.round().min(f64::from(u32::MAX)) as u32
    } else {
        0
    }
}

fn valid_price(v: f64) -> bool {
    v.is_finite() && v > 0.0 && v < 1.0e7
}

impl Edge {
    fn peer(&self) -> String {
        format!("{}:{}", self.cfg.host, self.cfg.port)
    }

    fn run(&mut self) -> Result<(), DtcError> {
        let r = self.run_inner();
        if let Some(c) = self.conn.as_mut() {
            let _ = c.send(&Logoff { reason: "MIA stopping".into(), do_not_reconnect: 0 }.into());
        }
        self.conn = None;
        self.stats.connected.store(false, Ordering::Relaxed);
        if r.is_ok() {
            if let Some(f) = self.feed.as_mut() {
                let _ = push_retry(f, FeedItem::End, &self.stop, true);
            }
        }
        match &r {
            Ok(()) => tracing::info!(peer = %self.peer(), "DTC client stopped"),
            Err(e) => tracing::error!(error = %e, "DTC client ended on an error"),
        }
        r
    }

    fn abandoned(&self) -> bool {
        let feed_gone = self.feed.as_ref().is_none_or(|f| f.is_abandoned());
        let orders_gone = self.orders.as_ref().is_none_or(|o| o.is_abandoned());
        feed_gone && orders_gone
    }

    fn run_inner(&mut self) -> Result<(), DtcError> {
        // Subscriptions and reconciliation after each logon; a send that fails there is a
        // lost connection like any other.
        let mut fresh = true;
        loop {
            if self.stop.load(Ordering::Acquire) || self.abandoned() {
                return Ok(());
            }
            if self.conn.is_none() {
                self.reconnect()?;
                fresh = self.conn.is_some();
                continue;
            }
            if fresh {
                fresh = false;
                if let Err(e) = self.on_connected() {
                    self.lost(&e.to_string());
                    continue;
                }
            }
            match self.step() {
                Ok(busy) => {
                    if !busy {
                        std::thread::sleep(Duration::from_micros(200));
                    }
                }
                Err(e) => {
                    if let DtcError::SubscriptionRejected { .. } = e {
                        return Err(e);
                    }
                    self.lost(&e.to_string());
                }
            }
        }
    }

    /// One pass: messages, orders, heartbeats. True when something was done.
    fn step(&mut self) -> Result<bool, DtcError> {
        let mut busy = false;
        for _ in 0..256 {
            let Some(c) = self.conn.as_mut() else { return Ok(busy) };
            match c.poll()? {
                Some(m) => {
                    busy = true;
                    self.on_message(m)?;
                }
                None => break,
            }
        }
        busy |= self.poll_orders()?;
        let hb = Duration::from_secs(u64::from(self.cfg.heartbeat_secs));
        if self.last_hb_out.elapsed() >= hb {
            self.send(
                &Heartbeat { num_dropped_messages: 0, current_date_time: (now_ns() / 1_000_000_000) as i64 }
                    .into(),
            )?;
            self.last_hb_out = Instant::now();
            bump(&self.stats.heartbeats_out);
        }
        if self.last_hb_in.elapsed() > 2 * hb {
            return Err(DtcError::Timeout {
                peer: self.peer(),
                what: format!("a server heartbeat ({} s without one)", 2 * self.cfg.heartbeat_secs),
            });
        }
        Ok(busy)
    }

    fn send(&mut self, m: &Message) -> Result<(), DtcError> {
        match self.conn.as_mut() {
            Some(c) => c.send(m),
            None => Err(DtcError::Io {
                peer: self.peer(),
                what: format!("send {}", m.name()),
                err: "not connected".into(),
            }),
        }
    }

    fn lost(&mut self, why: &str) {
        tracing::warn!(peer = %self.peer(), reason = why, "DTC connection lost");
        self.conn = None;
        self.stats.connected.store(false, Ordering::Relaxed);
        bump(&self.stats.disconnects);
        self.open_orders = None;
        self.fill_queries.clear();
        self.ended.clear();
        if self.feed.is_some() {
            self.events.clear();
            self.market.reset(now_ns(), &mut self.events);
            self.flush_events();
        }
    }

    fn reconnect(&mut self) -> Result<(), DtcError> {
        let mut backoff = crate::backoff::Backoff::new(
            Duration::from_millis(self.cfg.reconnect_initial_ms),
            Duration::from_millis(self.cfg.reconnect_max_ms),
        );
        let mut delay = backoff.failed();
        let mut attempts = 0u32;
        loop {
            if !self.sleep_offline(delay) {
                return Ok(());
            }
            attempts += 1;
            match Conn::open(&self.cfg, &self.creds) {
                Ok((c, info)) => {
                    tracing::info!(peer = %c.peer, attempts, "DTC reconnected");
                    self.conn = Some(c);
                    self.info = info;
                    self.stats.connected.store(true, Ordering::Relaxed);
                    bump(&self.stats.logons);
                    return Ok(());
                }
                Err(e @ (DtcError::LogonRejected { no_reconnect: true, .. } | DtcError::Config(_))) => {
                    return Err(e)
                }
                Err(e) => {
                    // the wait before the next attempt (the log used to name the one just spent)
                    delay = backoff.failed();
                    tracing::warn!(error = %e, attempts, next_ms = delay.as_millis() as u64, "DTC reconnect failed");
                    if self.cfg.max_reconnect_attempts > 0 && attempts >= self.cfg.max_reconnect_attempts {
                        return Err(DtcError::GaveUp { peer: self.peer(), attempts, last: e.to_string() });
                    }
                }
            }
        }
    }

    /// Sleeps `d` while disconnected, answering the order ring meanwhile (new orders are
    /// refused, cancels and modifies kept for the reconnect). False when stopped.
    fn sleep_offline(&mut self, d: Duration) -> bool {
        let end = Instant::now() + d;
        loop {
            if self.stop.load(Ordering::Acquire) || self.abandoned() {
                return false;
            }
            while let Some(o) = self.orders.as_mut().and_then(|rx| rx.pop().ok()) {
                // Not connected: `on_intent` refuses news and defers the rest; it cannot fail.
                let _ = self.on_intent(o);
            }
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return true;
            }
            std::thread::sleep(left.min(Duration::from_millis(5)));
        }
    }

    fn request_id(&mut self) -> i32 {
        self.next_request = self.next_request.wrapping_add(1).max(1);
        self.next_request
    }

    /// After every logon: subscriptions, reconciliation, deferred cancels and modifies.
    fn on_connected(&mut self) -> Result<(), DtcError> {
        self.last_hb_in = Instant::now();
        self.last_hb_out = Instant::now();
        if self.feed.is_some() {
            let req = MarketDataRequest {
                request_action: values::SUBSCRIBE,
                symbol_id: SYMBOL_ID,
                symbol: self.symbol.clone(),
                exchange: self.cfg.exchange.clone(),
                ..Default::default()
            };
            self.send(&req.into())?;
            if self.cfg.depth_levels > 0 {
                let req = MarketDepthRequest {
                    request_action: values::SUBSCRIBE,
                    symbol_id: SYMBOL_ID,
                    symbol: self.symbol.clone(),
                    exchange: self.cfg.exchange.clone(),
                    num_levels: self.cfg.depth_levels as i32,
                };
                self.send(&req.into())?;
            }
        }
        if self.orders.is_some() {
            for st in self.table.values_mut() {
                st.listed = false;
            }
            let id = self.request_id();
            self.open_orders = Some(id);
            let account = self.creds.account();
            self.send(
                &OpenOrdersRequest {
                    request_id: id,
                    request_all_orders: 1,
                    trade_account: account.clone(),
                    ..Default::default()
                }
                .into(),
            )?;
            let id = self.request_id();
            self.send(&CurrentPositionsRequest { request_id: id, trade_account: account }.into())?;
            for o in std::mem::take(&mut self.deferred) {
                self.on_intent(o)?;
            }
        }
        Ok(())
    }

    fn flush_events(&mut self) {
        let Some(f) = self.feed.as_mut() else { return };
        for e in self.events.iter() {
            if push_retry(f, FeedItem::Event(*e), &self.stop, false) {
                bump(&self.stats.events);
            }
        }
        self.events.clear();
    }

    fn report(&mut self, r: ExecReport) {
        let Some(tx) = self.reports.as_mut() else { return };
        if push_retry(tx, Msg::Exec(r), &self.stop, false) {
            bump(&self.stats.reports);
        }
        if r.kind == ExecKind::Filled {
            self.position += r.side.sign() * i64::from(r.qty);
        }
    }

    fn reject(&mut self, o: &OrderIntent, code: u16) {
        tracing::warn!(
            client_order_id = o.client_order_id,
            reason = reason::describe(code),
            "order rejected by the DTC client"
        );
        self.report(ExecReport {
            client_order_id: o.client_order_id,
            qty: o.qty,
            side: o.side,
            kind: ExecKind::Rejected,
            reason: code,
            ..ExecReport::default()
        });
    }

    fn on_message(&mut self, m: Message) -> Result<(), DtcError> {
        bump(&self.stats.messages_in);
        match &m {
            Message::Heartbeat(_) => {
                self.last_hb_in = Instant::now();
                bump(&self.stats.heartbeats_in);
                return Ok(());
            }
            Message::OrderUpdate(u) => {
                self.on_order_update(u);
                return Ok(());
            }
            Message::PositionUpdate(p) => {
                self.on_position(p);
                return Ok(());
            }
            Message::HistoricalOrderFillResponse(f) => {
                self.on_fill_response(f);
                return Ok(());
            }
            Message::HistoricalOrderFillsReject(r) => {
                if let Some(q) = self.fill_queries.remove(&r.request_id) {
                    tracing::warn!(text = %r.reject_text, "historical fills request rejected");
                    self.finish_fill_query(q);
                }
                return Ok(());
            }
            Message::OpenOrdersReject(r) => {
                tracing::error!(text = %r.reject_text, "open orders request rejected: orders cannot be reconciled");
                self.open_orders = None;
                return Ok(());
            }
            Message::CurrentPositionsReject(r) => {
                tracing::warn!(text = %r.reject_text, "positions request rejected");
                return Ok(());
            }
            Message::Logoff(l) => {
                return Err(DtcError::Io {
                    peer: self.peer(),
                    what: "logoff from the server".into(),
                    err: l.reason.clone(),
                });
            }
            Message::MarketDataReject(r) if self.feed.is_some() => {
                return Err(DtcError::SubscriptionRejected {
                    peer: self.peer(),
                    what: "market data".into(),
                    symbol: self.symbol.clone(),
                    text: r.reject_text.clone(),
                });
            }
            Message::MarketDepthReject(r) if self.feed.is_some() => {
                return Err(DtcError::SubscriptionRejected {
                    peer: self.peer(),
                    what: "market depth".into(),
                    symbol: self.symbol.clone(),
                    text: r.reject_text.clone(),
                });
            }
            Message::Unknown { .. } => {
                bump(&self.stats.unknown_messages);
                return Ok(());
            }
            _ => {}
        }
        if self.feed.is_none() {
            return Ok(());
        }
        self.events.clear();
        match self.market.on_message(&m, now_ns(), &mut self.events) {
            Ok(_) => self.flush_events(),
            Err(why) => {
                bump(&self.stats.bad_market_messages);
                tracing::warn!(message = m.name(), msg_type = m.msg_type(), reason = %why, "DTC market message dropped");
            }
        }
        Ok(())
    }

    // ----- orders out -----

    fn poll_orders(&mut self) -> Result<bool, DtcError> {
        let Some(rx) = self.orders.as_mut() else { return Ok(false) };
        let Ok(o) = rx.pop() else { return Ok(false) };
        self.on_intent(o)?;
        Ok(true)
    }

    fn on_intent(&mut self, o: OrderIntent) -> Result<(), DtcError> {
        match o.action {
            OrderAction::New if o.children > 0 => self.submit_bracket(o),
            OrderAction::New => self.submit_single(&o, false),
            OrderAction::Modify | OrderAction::Cancel if self.conn.is_none() => {
                self.deferred.push(o);
                Ok(())
            }
            OrderAction::Modify => self.modify(&o),
            OrderAction::Cancel => self.cancel(&o),
        }
    }

    /// Refuses a new order when it cannot be sent; true when refused.
    fn refuse_new(&mut self, o: &OrderIntent) -> bool {
        let code = if self.conn.is_none() {
            reason::NOT_CONNECTED
        } else if !self.info.trading_supported {
            reason::TRADING_NOT_SUPPORTED
        } else if o.qty == 0
            || (o.order_type.has_limit() && o.price <= 0)
            || (o.order_type.has_trigger() && o.trigger <= 0)
        {
            reason::BAD_INTENT
        } else {
            return false;
        };
        self.reject(o, code);
        true
    }

    /// The wire client order id of a new order: the next id above every earlier run's (its
    /// high-water mark durable before the id is used) or, without an id state, the intent's.
    fn wire_id(&mut self, o: &OrderIntent) -> Option<u64> {
        let Some(ids) = self.ids.as_mut() else { return Some(o.client_order_id) };
        match ids.allocate() {
            Ok(id) => u64::try_from(id).ok(),
            Err(e) => {
                tracing::error!(error = %e, "DTC client order id not reserved");
                None
            }
        }
    }

    fn track(&mut self, o: &OrderIntent, sibling: Option<u64>, wire: u64) {
        self.by_wire.insert(wire, o.client_order_id);
        self.table.insert(
            o.client_order_id,
            OrderState {
                side: o.side,
                qty: o.qty,
                filled: 0,
                avg: 0.0,
                server_id: String::new(),
                accepted: false,
                done: false,
                cancel_requested: false,
                sibling,
                listed: true,
                wire,
            },
        );
    }

    fn single_order(&self, o: &OrderIntent, wire: u64, parent: bool) -> SubmitNewSingleOrder {
        let (order_type, price1, price2) = dtc_prices(o);
        SubmitNewSingleOrder {
            symbol: self.symbol.clone(),
            exchange: self.cfg.exchange.clone(),
            trade_account: self.creds.account(),
            client_order_id: wire.to_string(),
            order_type,
            buy_sell: dtc_side(o.side),
            price1,
            price2,
            quantity: f64::from(o.qty),
            time_in_force: dtc_tif(o.tif),
            is_automated_order: 1,
            is_parent_order: u8::from(parent),
            ..Default::default()
        }
    }

    fn submit_single(&mut self, o: &OrderIntent, parent: bool) -> Result<(), DtcError> {
        if self.refuse_new(o) {
            return Ok(());
        }
        let Some(wire) = self.wire_id(o) else {
            self.reject(o, reason::ID_NOT_RESERVED);
            return Ok(());
        };
        let m = self.single_order(o, wire, parent);
        self.track(o, None, wire);
        bump(&self.stats.order_messages);
        self.send(&m.into())
    }

    /// An entry with `children` children: waits for them in the ring, then sends the parent
    /// and the OCO pair.
    fn submit_bracket(&mut self, entry: OrderIntent) -> Result<(), DtcError> {
        let want = usize::from(entry.children);
        let deadline = Instant::now() + Duration::from_millis(self.cfg.bracket_wait_ms);
        let mut kids: Vec<OrderIntent> = Vec::with_capacity(want);
        let mut stray = None;
        while kids.len() < want {
            let Some(rx) = self.orders.as_mut() else { break };
            match rx.pop() {
                Ok(k)
                    if k.action == OrderAction::New
                        && k.link != 0
                        && k.client_order_id.wrapping_sub(u64::from(k.link)) == entry.client_order_id =>
                {
                    kids.push(k)
                }
                Ok(other) => {
                    stray = Some(other);
                    break;
                }
                Err(_) if Instant::now() > deadline || rx.is_abandoned() => break,
                Err(_) => std::thread::yield_now(),
            }
        }
        let code = if kids.len() != want || want != 2 {
            Some(reason::BRACKET_MALFORMED)
        } else if self.conn.is_some()
            && self.info.trading_supported
            && !(self.info.brackets_supported && self.info.oco_supported)
        {
            Some(reason::BRACKETS_NOT_SUPPORTED)
        } else {
            None
        };
        if let Some(code) = code {
            self.reject(&entry, code);
            for k in &kids {
                self.reject(k, code);
            }
        } else if self.refuse_new(&entry) {
            for k in &kids {
                let code =
                    if self.conn.is_none() { reason::NOT_CONNECTED } else { reason::TRADING_NOT_SUPPORTED };
                self.reject(k, code);
            }
        } else {
            let (a, b) = (kids[0], kids[1]);
            if [a, b].iter().any(|k| k.qty == 0) {
                for x in [&entry, &a, &b] {
                    self.reject(x, reason::BAD_INTENT);
                }
            } else if let Some((we, wa, wb)) = self.bracket_wires(&entry, &a, &b) {
                let parent = self.single_order(&entry, we, true);
                let (t1, p11, p21) = dtc_prices(&a);
                let (t2, p12, p22) = dtc_prices(&b);
                let oco = SubmitNewOcoOrder {
                    symbol: self.symbol.clone(),
                    exchange: self.cfg.exchange.clone(),
                    client_order_id_1: wa.to_string(),
                    order_type_1: t1,
                    buy_sell_1: dtc_side(a.side),
                    price1_1: p11,
                    price2_1: p21,
                    quantity_1: f64::from(a.qty),
                    client_order_id_2: wb.to_string(),
                    order_type_2: t2,
                    buy_sell_2: dtc_side(b.side),
                    price1_2: p12,
                    price2_2: p22,
                    quantity_2: f64::from(b.qty),
                    time_in_force: dtc_tif(a.tif),
                    trade_account: self.creds.account(),
                    is_automated_order: 1,
                    parent_trigger_client_order_id: we.to_string(),
                    ..Default::default()
                };
                self.track(&entry, None, we);
                self.track(&a, Some(b.client_order_id), wa);
                self.track(&b, Some(a.client_order_id), wb);
                self.stats.order_messages.fetch_add(2, Ordering::Relaxed);
                self.send(&parent.into())?;
                self.send(&oco.into())?;
            } else {
                for x in [&entry, &a, &b] {
                    self.reject(x, reason::ID_NOT_RESERVED);
                }
            }
        }
        match stray {
            Some(s) => self.on_intent(s),
            None => Ok(()),
        }
    }

    /// The wire ids of a bracket's entry and children (all three or none).
    fn bracket_wires(
        &mut self,
        e: &OrderIntent,
        a: &OrderIntent,
        b: &OrderIntent,
    ) -> Option<(u64, u64, u64)> {
        Some((self.wire_id(e)?, self.wire_id(a)?, self.wire_id(b)?))
    }

    fn cancel(&mut self, o: &OrderIntent) -> Result<(), DtcError> {
        let Some(st) = self.table.get_mut(&o.client_order_id) else {
            tracing::warn!(
                client_order_id = o.client_order_id,
                "cancel of an order the DTC client did not send: ignored"
            );
            return Ok(());
        };
        if st.done {
            return Ok(());
        }
        st.cancel_requested = true;
        let m = CancelOrder {
            server_order_id: st.server_id.clone(),
            client_order_id: st.wire.to_string(),
            trade_account: self.creds.account(),
        };
        bump(&self.stats.order_messages);
        self.send(&m.into())
    }

    fn modify(&mut self, o: &OrderIntent) -> Result<(), DtcError> {
        let Some(st) = self.table.get_mut(&o.client_order_id) else {
            tracing::warn!(
                client_order_id = o.client_order_id,
                "modify of an order the DTC client did not send: ignored"
            );
            return Ok(());
        };
        if st.done {
            return Ok(());
        }
        let (_, p1, p2) = dtc_prices(o);
        st.qty = o.qty.max(st.filled);
        let m = CancelReplaceOrder {
            server_order_id: st.server_id.clone(),
            client_order_id: st.wire.to_string(),
            price1: p1,
            price2: p2,
            quantity: f64::from(o.qty),
            price1_is_set: u8::from(o.order_type != OrderType::Market),
            price2_is_set: u8::from(o.order_type == OrderType::StopLimit),
            time_in_force: dtc_tif(o.tif),
            trade_account: self.creds.account(),
            ..Default::default()
        };
        bump(&self.stats.order_messages);
        self.send(&m.into())
    }

    // ----- reports in -----

    fn base(coid: u64, st: &OrderState, kind: ExecKind) -> ExecReport {
        ExecReport {
            client_order_id: coid,
            side: st.side,
            kind,
            leaves: st.qty.saturating_sub(st.filled),
            ..ExecReport::default()
        }
    }

    /// Reports a fill taking the order's cumulative filled quantity to `filled` at an
    /// average price `avg`, from the last fill's price and quantity when they match.
    fn fill_to(&mut self, coid: u64, filled: u32, avg: f64, last_px: f64, last_qty: u32) {
        let Some(st) = self.table.get_mut(&coid) else { return };
        if filled <= st.filled {
            return;
        }
        let delta = filled - st.filled;
        let px = if last_qty == delta && valid_price(last_px) {
            last_px
        } else if valid_price(avg) {
            let v = (avg * f64::from(filled) - st.avg * f64::from(st.filled)) / f64::from(delta);
            if valid_price(v) {
                v
            } else {
                avg
            }
        } else {
            last_px
        };
        st.filled = filled;
        st.avg = if valid_price(avg) { avg } else { px };
        st.qty = st.qty.max(filled);
        let price = mia_model::price::from_f64(px).unwrap_or(0);
        let need_ack = !st.accepted;
        st.accepted = true;
        let ack = ExecReport { qty: st.qty, ..Self::base(coid, st, ExecKind::Accepted) };
        let r = ExecReport { qty: delta, price, ..Self::base(coid, st, ExecKind::Filled) };
        if r.leaves == 0 {
            st.done = true;
        }
        if need_ack {
            self.report(ack);
        }
        self.report(r);
    }

    fn on_order_update(&mut self, u: &OrderUpdate) {
        let solicited = self.open_orders.is_some_and(|id| id == u.request_id);
        let coid = u.client_order_id.trim().parse::<u64>().ok().and_then(|w| self.by_wire.get(&w).copied());
        match coid.filter(|c| self.table.contains_key(c)) {
            Some(coid) => self.apply_update(coid, u, solicited),
            None if u.no_orders == 0 && !u.client_order_id.is_empty() => {
                bump(&self.stats.foreign_updates);
                tracing::debug!(server_order_id = %u.server_order_id, "ORDER_UPDATE for an order MIA did not send");
            }
            None => {}
        }
        if solicited && (u.no_orders != 0 || u.message_number >= u.total_num_messages) {
            self.open_orders = None;
            self.finish_reconcile();
        }
    }

    fn apply_update(&mut self, coid: u64, u: &OrderUpdate, solicited: bool) {
        let Some(st) = self.table.get_mut(&coid) else { return };
        if solicited {
            st.listed = true;
        }
        if !u.server_order_id.is_empty() {
            st.server_id.clone_from(&u.server_order_id);
        }
        let oq = qty_of(u.order_quantity);
        if oq > 0 && u.order_update_reason == values::REASON_CANCEL_REPLACE_COMPLETE {
            st.qty = oq.max(st.filled);
        }
        match u.order_update_reason {
            values::REASON_CANCEL_REJECTED | values::REASON_CANCEL_REPLACE_REJECTED => {
                bump(&self.stats.cancel_rejects);
                tracing::warn!(client_order_id = coid, text = %u.info_text, "cancel or replace rejected by the DTC server: the order still works");
                return;
            }
            _ => {}
        }
        // Fills first: every status may carry a higher FilledQuantity.
        let filled = qty_of(u.filled_quantity);
        self.fill_to(coid, filled, u.average_fill_price, u.last_fill_price, qty_of(u.last_fill_quantity));
        let sibling_filled = self
            .table
            .get(&coid)
            .and_then(|st| st.sibling)
            .and_then(|s| self.table.get(&s))
            .is_some_and(|s| s.filled > 0);
        let Some(st) = self.table.get_mut(&coid) else { return };
        let report = match u.order_status {
            values::STATUS_OPEN
            | values::STATUS_PENDING_CHILD
            | values::STATUS_PARTIALLY_FILLED
            | values::STATUS_PENDING_CANCEL
            | values::STATUS_PENDING_CANCEL_REPLACE
                if !st.accepted && !st.done =>
            {
                st.accepted = true;
                Some(ExecReport { qty: st.qty, ..Self::base(coid, st, ExecKind::Accepted) })
            }
            values::STATUS_CANCELED if !st.done => {
                st.done = true;
                let code = if sibling_filled {
                    reason::OCO_SIBLING_FILLED
                } else if st.cancel_requested {
                    reason::NONE
                } else {
                    reason::CANCELLED_BY_SERVER
                };
                let r = Self::base(coid, st, ExecKind::Cancelled);
                Some(ExecReport { qty: r.leaves, reason: code, ..r })
            }
            values::STATUS_REJECTED if !st.done => {
                st.done = true;
                tracing::warn!(client_order_id = coid, text = %u.info_text, "order rejected by the DTC server");
                Some(ExecReport {
                    qty: st.qty,
                    leaves: 0,
                    reason: reason::SERVER_REJECTED,
                    ..Self::base(coid, st, ExecKind::Rejected)
                })
            }
            _ => None,
        };
        if let Some(r) = report {
            self.report(r);
        }
    }

    /// After the open-orders answer: orders the server no longer lists.
    fn finish_reconcile(&mut self) {
        let mut missing: Vec<(u64, String, bool)> = self
            .table
            .iter()
            .filter(|(_, s)| !s.done && !s.listed)
            .map(|(c, s)| (*c, s.server_id.clone(), s.accepted))
            .collect();
        missing.sort_unstable();
        for (coid, server_id, _) in missing {
            if server_id.is_empty() {
                let r = self.table.get_mut(&coid).map(|st| {
                    st.done = true;
                    ExecReport {
                        qty: st.qty,
                        leaves: 0,
                        reason: reason::UNKNOWN_TO_SERVER,
                        ..Self::base(coid, st, ExecKind::Rejected)
                    }
                });
                if let Some(r) = r {
                    self.report(r);
                }
                continue;
            }
            let id = self.request_id();
            self.fill_queries.insert(id, FillQuery { coid, ..FillQuery::default() });
            let req = HistoricalOrderFillsRequest {
                request_id: id,
                server_order_id: server_id,
                number_of_days: 1,
                trade_account: self.creds.account(),
                ..Default::default()
            };
            if let Err(e) = self.send(&req.into()) {
                tracing::warn!(error = %e, "historical fills request not sent");
            }
        }
    }

    fn on_fill_response(&mut self, f: &HistoricalOrderFillResponse) {
        let Some(q) = self.fill_queries.get_mut(&f.request_id) else { return };
        if f.no_order_fills == 0 && f.quantity.is_finite() && f.quantity > 0.0 && valid_price(f.price) {
            q.qty += f.quantity;
            q.notional += f.quantity * f.price;
        }
        if f.no_order_fills != 0 || f.message_number >= f.total_number_messages {
            if let Some(q) = self.fill_queries.remove(&f.request_id) {
                self.finish_fill_query(q);
            }
        }
    }

    fn finish_fill_query(&mut self, q: FillQuery) {
        let total = qty_of(q.qty);
        if total > 0 {
            let avg = q.notional / q.qty;
            self.fill_to(q.coid, total, avg, 0.0, 0);
        }
        self.ended.push(q.coid);
        if !self.fill_queries.is_empty() {
            return;
        }
        // Every answer is in: an order still not done ended during the outage (its OCO
        // sibling's fill, when there is one, is the reason).
        self.ended.sort_unstable();
        for coid in std::mem::take(&mut self.ended) {
            let sibling_filled = self
                .table
                .get(&coid)
                .and_then(|st| st.sibling)
                .and_then(|s| self.table.get(&s))
                .is_some_and(|s| s.filled > 0);
            let Some(st) = self.table.get_mut(&coid) else { continue };
            if st.done {
                continue;
            }
            st.done = true;
            let code =
                if sibling_filled { reason::OCO_SIBLING_FILLED } else { reason::ENDED_WHILE_DISCONNECTED };
            let r = Self::base(coid, st, ExecKind::Cancelled);
            let r = ExecReport { qty: r.leaves, reason: code, ..r };
            self.report(r);
        }
    }

    fn on_position(&mut self, p: &PositionUpdate) {
        if p.no_positions == 0 && !p.symbol.is_empty() && p.symbol != self.symbol {
            return;
        }
        let q = if p.no_positions != 0 || !p.quantity.is_finite() { 0 } else { p.quantity.round() as i64 };
        self.stats.server_position.store(q, Ordering::Release);
        self.stats.server_position_known.store(true, Ordering::Release);
        if q != self.position {
            bump(&self.stats.position_mismatches);
            tracing::warn!(
                server = q,
                mia = self.position,
                unsolicited = p.unsolicited != 0,
                "DTC position differs from the fills reported"
            );
        }
    }
}

/// Pushes into a ring, waiting while it is full; false when the consumer is gone or the
/// stop flag is set (unless `ignore_stop`).
fn push_retry<T: Copy>(tx: &mut rtrb::Producer<T>, v: T, stop: &AtomicBool, ignore_stop: bool) -> bool {
    let mut spins = 0u32;
    loop {
        if tx.is_abandoned() {
            return false;
        }
        if tx.push(v).is_ok() {
            return true;
        }
        if !ignore_stop && stop.load(Ordering::Relaxed) {
            return false;
        }
        spins += 1;
        if spins > 1000 {
            std::thread::sleep(Duration::from_micros(50));
        } else {
            std::thread::yield_now();
        }
    }
}

/// What `mia check` reports about the DTC server.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct CheckReport {
    /// `host:port`.
    pub peer: String,
    /// The TCP connection succeeded.
    pub reachable: bool,
    /// The logon was accepted.
    pub logon_ok: bool,
    /// The logon answer text, or the error.
    pub logon_text: String,
    /// `ServerName`.
    pub server_name: String,
    /// Trading is allowed.
    pub trading_allowed: bool,
    /// Native brackets (and OCO) are supported.
    pub brackets_supported: bool,
    /// The symbol asked for.
    pub symbol: String,
    /// `Some(true)`: a snapshot came for the symbol; `Some(false)`: rejected; `None`: no
    /// answer in time or not asked.
    pub symbol_resolved: Option<bool>,
    /// The market-data rejection text, if any (for CME data, Sierra Chart may refuse to relay
    /// it to a DTC client; see `docs/sierra.md`).
    pub market_data_text: String,
}

impl CheckReport {
    /// One line per fact, for `mia check`.
    pub fn lines(&self) -> Vec<String> {
        vec![
            format!("dtc server {}: {}", self.peer, if self.reachable { "reachable" } else { "unreachable" }),
            format!("dtc logon: {} {}", if self.logon_ok { "accepted" } else { "refused" }, self.logon_text),
            format!("dtc server name: {}", self.server_name),
            format!("dtc trading allowed: {}, brackets: {}", self.trading_allowed, self.brackets_supported),
            format!(
                "dtc symbol {}: {}",
                self.symbol,
                match self.symbol_resolved {
                    Some(true) => "resolved".to_string(),
                    Some(false) => format!("rejected ({})", self.market_data_text),
                    None => "no answer".to_string(),
                }
            ),
        ]
    }
}

/// Connects, logs on, asks for the symbol's market data, and logs off: what works.
pub fn check(cfg: &DtcConfig) -> CheckReport {
    check_with(cfg, Credentials::from_env())
}

/// As [`check`] with explicit credentials (tests).
pub fn check_with(cfg: &DtcConfig, creds: Credentials) -> CheckReport {
    let mut rep = CheckReport {
        peer: format!("{}:{}", cfg.host, cfg.port),
        symbol: cfg.symbol_now(),
        ..CheckReport::default()
    };
    if let Err(e) = cfg.validate() {
        rep.logon_text = e.join("; ");
        return rep;
    }
    let (mut c, info) = match Conn::open(cfg, &creds) {
        Ok(x) => x,
        Err(e) => {
            rep.reachable =
                !matches!(&e, DtcError::Io { what, .. } if what == "connect" || what == "resolve");
            rep.logon_text = e.to_string();
            return rep;
        }
    };
    rep.reachable = true;
    rep.logon_ok = true;
    rep.logon_text = info.result_text.clone();
    rep.server_name = info.server_name.clone();
    rep.trading_allowed = info.trading_supported;
    rep.brackets_supported = info.brackets_supported && info.oco_supported;
    let req = MarketDataRequest {
        request_action: values::SUBSCRIBE,
        symbol_id: SYMBOL_ID,
        symbol: rep.symbol.clone(),
        exchange: cfg.exchange.clone(),
        ..Default::default()
    };
    if c.stream.set_nonblocking(false).is_ok() && c.send(&req.into()).is_ok() {
        let got =
            c.wait_for("market data", Duration::from_millis(cfg.connect_timeout_ms.min(3000)), |m| match m {
                Message::MarketDataSnapshot(_) => Some((true, String::new())),
                Message::MarketDataReject(r) => Some((false, r.reject_text)),
                _ => None,
            });
        if let Ok((ok, text)) = got {
            rep.symbol_resolved = Some(ok);
            rep.market_data_text = text;
        }
        let _ = c.send(
            &MarketDataRequest {
                request_action: values::UNSUBSCRIBE,
                symbol_id: SYMBOL_ID,
                ..Default::default()
            }
            .into(),
        );
    }
    let _ = c.send(&Logoff { reason: "mia check".into(), do_not_reconnect: 0 }.into());
    rep
}

/// Decodes a received byte stream into events the way the edge thread does (benches, fuzz
/// targets): every whole message of `buf` in `enc` goes through a [`MarketNormalizer`].
/// Returns the bytes consumed.
///
/// # Errors
/// The first undecodable message.
pub fn decode_market_stream(
    enc: Encoding,
    buf: &[u8],
    norm: &mut MarketNormalizer,
    ts_recv: u64,
    sink: &mut impl FnMut(Event),
) -> Result<usize, CodecError> {
    let mut off = 0;
    let mut out = EventBuf::new();
    while let Some((m, used)) = super::decode(enc, buf.get(off..).unwrap_or(&[]))? {
        off += used;
        out.clear();
        if norm.on_message(&m, ts_recv, &mut out).is_ok() {
            for e in out.iter() {
                sink(*e);
            }
        }
    }
    Ok(off)
}
