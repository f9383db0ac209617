//! A scripted fake TWS / IB Gateway on `127.0.0.1:0`, speaking the protobuf-era API (server
//! version ≥ 213) that `ibapi` 5.5 requires, for tests of the IBKR edge in this crate and of
//! the `mia` binary (`mia paper` against a fake Gateway).
//!
//! It is a plain `std::net::TcpListener` plus hand-written prost messages (module `proto`). One
//! client connection is served at a time; when the socket is dropped ([`FakeTws::drop_connection`])
//! the fake accepts the client's reconnect and runs the handshake again (with the
//! [`FakeTws::set_next_valid_id`] of the new session, to test ids that roll back).
//!
//! ```no_run
//! use mia_feeds::ibkr::fake::{FakeConfig, FakeTws};
//! let fake = FakeTws::start(FakeConfig::default()).expect("bind");
//! let port = fake.port();                       // point IbkrConfig { port, .. } here
//! // ... connect the edge, then script the market:
//! fake.wait(std::time::Duration::from_secs(5), |s| s.last_subs > 0);
//! fake.trade(6000.25, 2.0, 1_796_126_400);
//! // ... and look at what the client sent:
//! let orders = fake.snapshot().placed;
//! fake.stop();
//! ```
//!
//! What it answers: handshake (configurable server version, raw garbage instead of the reply),
//! `NextValidId`, managed accounts, current time, contract details (futures from
//! [`FakeConfig::futures`], the SPX index), tick-by-tick `Last`/`AllLast`/`BidAsk`, market depth,
//! sec-def option parameters and option/index quotes (deterministic synthetic values), place /
//! modify / cancel orders (recorded as [`PlacedOrder`]s, acknowledged unless told to reject),
//! fills ([`FakeTws::fill`], [`FakeTws::fill_offline`]), positions, open and completed orders,
//! executions with commissions on request.

mod proto;

use prost::Message;
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The protobuf message-id offset of the IB API: a frame with id > 200 carries a protobuf body
/// of message `id − 200`.
const PROTO: i32 = 200;

/// A futures contract the fake lists in contract details.
#[derive(Clone, Debug, PartialEq)]
pub struct FakeFuture {
    /// IB contract id.
    pub con_id: i32,
    /// Root symbol ("ES").
    pub symbol: String,
    /// Local symbol ("ESZ6").
    pub local_symbol: String,
    /// Last trade date `YYYYMMDD`.
    pub expiry: String,
}

/// How the fake starts.
#[derive(Clone, Debug)]
pub struct FakeConfig {
    /// Server version sent in the handshake (ibapi 5.5 refuses < 213).
    pub server_version: i32,
    /// `NextValidId` of the first session.
    pub next_valid_id: i32,
    /// Managed accounts list sent at the handshake (comma-separated).
    pub accounts: String,
    /// Server time (unix seconds) for `CurrentTime`; `None` = the local clock.
    pub current_time: Option<i64>,
    /// Futures listed by contract details (any symbol the client asks for is filtered from it).
    pub futures: Vec<FakeFuture>,
    /// Raw bytes sent instead of the handshake reply (garbage tests); `None` = a proper reply.
    pub handshake_reply: Option<Vec<u8>>,
    /// SPX spot for the index quote and the synthetic option quotes.
    pub spx_spot: f64,
    /// Keep the positions from the fills, like a real account (`avg_cost` = average price ×
    /// multiplier, IB's convention for futures); off = only [`FakeTws::set_positions`].
    pub track_positions: bool,
    /// Fill every market order in full the moment it is transmitted, at this price with a
    /// 2.25 USD commission (the fills follow its acknowledgement on the socket); `None` = only
    /// [`FakeTws::fill`]. Lets a latency run keep deciding without a test thread polling the
    /// fake's records.
    pub auto_fill_market: Option<f64>,
}

impl Default for FakeConfig {
    /// Server version 226, ids from 1000, account `DU1234567`, the ES and MES quarterlies of
    /// 2026–2027, SPX at 6000.
    fn default() -> Self {
        Self {
            server_version: 226,
            next_valid_id: 1000,
            accounts: "DU1234567".into(),
            current_time: None,
            futures: es_quarterlies(),
            handshake_reply: None,
            spx_spot: 6000.0,
            track_positions: false,
            auto_fill_market: None,
        }
    }
}

/// ES and MES quarterly contracts from 2026-03 to 2027-12 (third-Friday expiries).
pub fn es_quarterlies() -> Vec<FakeFuture> {
    let exp = [
        ("H6", "20260320"),
        ("M6", "20260618"),
        ("U6", "20260918"),
        ("Z6", "20261218"),
        ("H7", "20270319"),
        ("M7", "20270617"),
        ("U7", "20270917"),
        ("Z7", "20271217"),
    ];
    let mut v = Vec::new();
    for (k, root) in ["ES", "MES"].iter().enumerate() {
        for (i, (code, date)) in exp.iter().enumerate() {
            v.push(FakeFuture {
                con_id: 495_512_000 + (k as i32) * 100 + i as i32,
                symbol: (*root).into(),
                local_symbol: format!("{root}{code}"),
                expiry: (*date).into(),
            });
        }
    }
    v
}

/// One `PlaceOrder` the client sent, decoded.
#[derive(Clone, Debug, PartialEq)]
pub struct PlacedOrder {
    /// Session number (1 = first connection) it arrived on.
    pub session: u32,
    /// IB order id.
    pub order_id: i32,
    /// Parent order id (0 = none).
    pub parent_id: i32,
    /// OCA group name (empty = none).
    pub oca_group: String,
    /// OCA type (0 = none).
    pub oca_type: i32,
    /// The transmit flag (an absent field is false, as ibapi encodes it).
    pub transmit: bool,
    /// "BUY" / "SELL".
    pub action: String,
    /// "MKT", "LMT", "STP", "STP LMT".
    pub order_type: String,
    /// Limit price.
    pub lmt_price: Option<f64>,
    /// Aux (stop trigger) price.
    pub aux_price: Option<f64>,
    /// Quantity.
    pub qty: f64,
    /// Time in force.
    pub tif: String,
    /// Account field of the order.
    pub account: String,
    /// Local symbol of the contract.
    pub local_symbol: String,
    /// Contract id.
    pub con_id: i32,
    /// When the fake finished decoding it (latency measurements).
    pub received: Instant,
    /// When its bytes arrived at the fake's socket: the kernel's receive timestamp of the
    /// frame's first bytes (`SO_TIMESTAMPNS`), or when the fake read them if the kernel gave
    /// none. Always ≤ `received`.
    pub arrived: Instant,
    /// `arrived` is the kernel's timestamp (false: the fake's read time).
    pub kernel_stamped: bool,
}

/// A position the fake reports.
#[derive(Clone, Debug, PartialEq)]
pub struct FakePosition {
    /// Contract id.
    pub con_id: i32,
    /// Local symbol.
    pub local_symbol: String,
    /// Signed quantity.
    pub qty: f64,
    /// Average cost.
    pub avg_cost: f64,
}

/// What the fake has seen, for assertions.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// Connections accepted (handshakes started).
    pub sessions: u32,
    /// Client ids of the `StartApi` messages.
    pub start_api: Vec<i32>,
    /// Every frame's message id (protobuf ids without the +200 offset), in order.
    pub frames: Vec<i32>,
    /// Every `PlaceOrder`, in order (a modify is a second `PlaceOrder` with the same id).
    pub placed: Vec<PlacedOrder>,
    /// Order ids of every `CancelOrder`.
    pub cancels: Vec<i32>,
    /// Open tick-by-tick `Last`/`AllLast` subscriptions of the current session.
    pub last_subs: usize,
    /// Open tick-by-tick `BidAsk` subscriptions of the current session.
    pub bid_ask_subs: usize,
    /// Open depth subscriptions of the current session.
    pub depth_subs: usize,
    /// Market-data (quote) requests received, all sessions.
    pub market_data_reqs: usize,
    /// Requests for open orders, completed orders, executions and positions (all sessions).
    pub reconcile_reqs: usize,
    /// True while a client is connected.
    pub connected: bool,
}

#[derive(Clone, Debug)]
struct FakeOrder {
    placed: PlacedOrder,
    status: &'static str,
    filled: f64,
    transmitted: bool,
    perm_id: i64,
}

#[derive(Clone, Debug)]
struct FakeExec {
    exec_id: String,
    order_id: i32,
    shares: f64,
    price: f64,
    cum: f64,
    commission: f64,
    side: &'static str,
}

#[derive(Default)]
struct Session {
    last: Vec<i32>,
    bid_ask: Vec<i32>,
    depth: Vec<i32>,
}

struct State {
    cfg: FakeConfig,
    next_valid_id: i32,
    snap: Snapshot,
    session: Session,
    orders: BTreeMap<i32, FakeOrder>,
    execs: Vec<FakeExec>,
    positions: Vec<FakePosition>,
    reject_next: Option<(i32, String)>,
    exec_seq: u32,
}

struct Inner {
    state: Mutex<State>,
    changed: Condvar,
    writer: Mutex<Option<TcpStream>>,
    stop: AtomicBool,
    drop_now: AtomicBool,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A test thread that panicked while holding the lock leaves the state usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn send(&self, bytes: &[u8]) {
        let mut w = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = w.as_mut() {
            if s.write_all(bytes).is_err() {
                *w = None;
            }
        }
    }

    fn send_msg<M: Message>(&self, id: i32, m: &M) {
        self.send(&frame(id, m));
    }

    /// [`send`](Self::send), returning the instant just before the bytes were written
    /// (`None` when no client is connected).
    fn send_timed(&self, bytes: &[u8]) -> Option<Instant> {
        let mut w = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let s = w.as_mut()?;
        let at = Instant::now();
        if s.write_all(bytes).is_err() {
            *w = None;
            return None;
        }
        Some(at)
    }

    fn notify(&self) {
        self.changed.notify_all();
    }
}

/// Encodes one protobuf frame: `[u32 BE length][i32 BE id + 200][body]`.
pub fn frame<M: Message>(id: i32, m: &M) -> Vec<u8> {
    let body = m.encode_to_vec();
    let mut out = Vec::with_capacity(8 + body.len());
    out.extend_from_slice(&((body.len() + 4) as u32).to_be_bytes());
    out.extend_from_slice(&(id + PROTO).to_be_bytes());
    out.extend_from_slice(&body);
    out
}

/// A running fake TWS.
pub struct FakeTws {
    addr: SocketAddr,
    inner: Arc<Inner>,
    thread: Option<JoinHandle<()>>,
}

impl FakeTws {
    /// Binds `127.0.0.1:0` and serves connections on a thread.
    ///
    /// # Errors
    /// The listener cannot be bound.
    pub fn start(cfg: FakeConfig) -> io::Result<FakeTws> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let inner = Arc::new(Inner {
            state: Mutex::new(State {
                next_valid_id: cfg.next_valid_id,
                cfg,
                snap: Snapshot::default(),
                session: Session::default(),
                orders: BTreeMap::new(),
                execs: Vec::new(),
                positions: Vec::new(),
                reject_next: None,
                exec_seq: 0,
            }),
            changed: Condvar::new(),
            writer: Mutex::new(None),
            stop: AtomicBool::new(false),
            drop_now: AtomicBool::new(false),
        });
        let i2 = Arc::clone(&inner);
        let thread =
            std::thread::Builder::new().name("fake-tws".into()).spawn(move || accept_loop(&listener, &i2))?;
        Ok(FakeTws { addr, inner, thread: Some(thread) })
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// A copy of what the fake has seen.
    pub fn snapshot(&self) -> Snapshot {
        self.inner.lock().snap.clone()
    }

    /// Waits until `pred` holds for the snapshot (true) or `timeout` passes (false).
    pub fn wait(&self, timeout: Duration, pred: impl Fn(&Snapshot) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        let mut st = self.inner.lock();
        loop {
            if pred(&st.snap) {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            st = match self.inner.changed.wait_timeout(st, left.min(Duration::from_millis(50))) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
    }

    /// Sends a tick-by-tick trade to every `Last`/`AllLast` subscription (time in unix s).
    /// Returns when the last frame's write began (`None`: no subscription or no client).
    pub fn trade(&self, price: f64, size: f64, time_s: i64) -> Option<Instant> {
        let subs = self.inner.lock().session.last.clone();
        let mut at = None;
        for req in subs {
            let m = proto::TickByTickData {
                req_id: Some(req),
                tick_type: Some(1),
                last: Some(proto::HistoricalTickLast {
                    time: Some(time_s),
                    price: Some(price),
                    size: Some(fmt_qty(size)),
                    exchange: Some("CME".into()),
                }),
                bid_ask: None,
            };
            at = self.inner.send_timed(&frame(99, &m));
        }
        at
    }

    /// Sends a tick-by-tick bid/ask to every `BidAsk` subscription. Returns when the last
    /// frame's write began (`None`: no subscription or no client).
    pub fn bid_ask(&self, bid: f64, ask: f64, bid_size: f64, ask_size: f64, time_s: i64) -> Option<Instant> {
        let subs = self.inner.lock().session.bid_ask.clone();
        let mut at = None;
        for req in subs {
            let m = proto::TickByTickData {
                req_id: Some(req),
                tick_type: Some(3),
                last: None,
                bid_ask: Some(proto::HistoricalTickBidAsk {
                    time: Some(time_s),
                    price_bid: Some(bid),
                    price_ask: Some(ask),
                    size_bid: Some(fmt_qty(bid_size)),
                    size_ask: Some(fmt_qty(ask_size)),
                }),
            };
            at = self.inner.send_timed(&frame(99, &m));
        }
        at
    }

    /// Sends a depth row to every depth subscription: `operation` 0 insert / 1 update /
    /// 2 delete, `side` 0 ask / 1 bid.
    pub fn depth(&self, position: i32, operation: i32, side: i32, price: f64, size: f64) {
        let subs = self.inner.lock().session.depth.clone();
        for req in subs {
            let m = proto::MarketDepth {
                req_id: Some(req),
                market_depth_data: Some(proto::MarketDepthData {
                    position: Some(position),
                    operation: Some(operation),
                    side: Some(side),
                    price: Some(price),
                    size: Some(fmt_qty(size)),
                }),
            };
            self.inner.send_msg(12, &m);
        }
    }

    /// Executes `qty` of order `order_id` at `price` and reports it now: `ExecutionDetails`
    /// (unsolicited), `OrderStatus` and `CommissionAndFeesReport` with `commission` USD.
    /// Returns the execution id, `None` when the order is unknown.
    pub fn fill(&self, order_id: i32, qty: f64, price: f64, commission: f64) -> Option<String> {
        let (msgs, id) = {
            let mut st = self.inner.lock();
            let (ex, cancelled) = record_fill(&mut st, order_id, qty, price, commission)?;
            let o = st.orders.get(&order_id)?.clone();
            let mut v = Vec::new();
            v.push(frame(11, &exec_details(-1, &o, &ex)));
            v.push(frame(3, &order_status(&o)));
            v.push(frame(59, &commission_report(&ex)));
            for id in cancelled {
                if let Some(c) = st.orders.get(&id) {
                    v.push(frame(3, &order_status(c)));
                }
            }
            (v, ex.exec_id)
        };
        for m in msgs {
            self.inner.send(&m);
        }
        self.inner.notify();
        Some(id)
    }

    /// Like [`fill`](Self::fill), but sends nothing: the execution is only in the fake's
    /// records (a fill that happened while the client was disconnected), visible to the
    /// client's executions / completed-orders requests.
    pub fn fill_offline(&self, order_id: i32, qty: f64, price: f64, commission: f64) -> Option<String> {
        let mut st = self.inner.lock();
        record_fill(&mut st, order_id, qty, price, commission).map(|(e, _)| e.exec_id)
    }

    /// Rejects the next `PlaceOrder` with error `code` (no acknowledgement is sent).
    pub fn reject_next(&self, code: i32, msg: &str) {
        self.inner.lock().reject_next = Some((code, msg.to_string()));
    }

    /// Sends an error frame (`id` = request or order id, −1 for none).
    pub fn error(&self, id: i32, code: i32, msg: &str) {
        self.inner.send_msg(4, &error_msg(id, code, msg));
    }

    /// Sends raw bytes to the connected client (garbage, bad frame lengths, unknown ids).
    pub fn send_raw(&self, bytes: &[u8]) {
        self.inner.send(bytes);
    }

    /// The positions the fake reports now.
    pub fn positions(&self) -> Vec<FakePosition> {
        self.inner.lock().positions.clone()
    }

    /// Positions reported on request.
    pub fn set_positions(&self, positions: Vec<FakePosition>) {
        self.inner.lock().positions = positions;
    }

    /// `NextValidId` sent at the next handshake.
    pub fn set_next_valid_id(&self, id: i32) {
        self.inner.lock().next_valid_id = id;
    }

    /// Closes the client's socket now; the fake keeps listening and accepts the reconnect.
    pub fn drop_connection(&self) {
        self.inner.drop_now.store(true, Ordering::SeqCst);
        let mut w = self.inner.writer.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = w.take() {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
    }

    /// Stops the fake (also done on drop).
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.inner.stop.store(true, Ordering::SeqCst);
        self.drop_connection();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for FakeTws {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn fmt_qty(q: f64) -> String {
    if q.fract() == 0.0 {
        format!("{}", q as i64)
    } else {
        format!("{q}")
    }
}

fn error_msg(id: i32, code: i32, msg: &str) -> proto::ErrorMessage {
    proto::ErrorMessage {
        id: Some(id),
        error_time: Some(now_s() * 1000),
        error_code: Some(code),
        error_msg: Some(msg.to_string()),
    }
}

fn now_s() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn record_fill(
    st: &mut State,
    order_id: i32,
    qty: f64,
    price: f64,
    commission: f64,
) -> Option<(FakeExec, Vec<i32>)> {
    st.exec_seq += 1;
    let seq = st.exec_seq;
    let o = st.orders.get_mut(&order_id)?;
    o.filled += qty;
    o.status = if o.filled + 1e-9 >= o.placed.qty { "Filled" } else { "Submitted" };
    let side = if o.placed.action == "BUY" { "BOT" } else { "SLD" };
    let ex = FakeExec {
        exec_id: format!("0000e1a7.{:04}.01", seq),
        order_id,
        shares: qty,
        price,
        cum: o.filled,
        commission,
        side,
    };
    let filled = o.status == "Filled";
    let group = o.placed.oca_group.clone();
    let (con_id, local_symbol, signed) =
        (o.placed.con_id, o.placed.local_symbol.clone(), if side == "BOT" { qty } else { -qty });
    if st.cfg.track_positions {
        book_position(&mut st.positions, con_id, &local_symbol, signed, price);
    }
    st.execs.push(ex.clone());
    // A filled OCA member cancels the other members of its group.
    let mut cancelled = Vec::new();
    if filled && !group.is_empty() {
        for (id, other) in st.orders.iter_mut() {
            if *id != order_id && other.placed.oca_group == group && other.status == "Submitted" {
                other.status = "Cancelled";
                cancelled.push(*id);
            }
        }
    }
    Some((ex, cancelled))
}

/// Books a fill of `signed` contracts at `price` into `positions` (average cost kept like IB:
/// price × multiplier; a reduction keeps the average, a flip starts a new one at `price`).
fn book_position(
    positions: &mut Vec<FakePosition>,
    con_id: i32,
    local_symbol: &str,
    signed: f64,
    price: f64,
) {
    let mult = if local_symbol.starts_with("MES") { 5.0 } else { 50.0 };
    let i = match positions.iter().position(|p| p.con_id == con_id) {
        Some(i) => i,
        None => {
            positions.push(FakePosition {
                con_id,
                local_symbol: local_symbol.into(),
                qty: 0.0,
                avg_cost: 0.0,
            });
            positions.len() - 1
        }
    };
    let p = &mut positions[i];
    let after = p.qty + signed;
    if p.qty == 0.0 || p.qty.signum() == signed.signum() {
        p.avg_cost = (p.avg_cost * p.qty.abs() + price * mult * signed.abs()) / after.abs();
    } else if after != 0.0 && after.signum() != p.qty.signum() {
        p.avg_cost = price * mult;
    }
    p.qty = after;
    if p.qty == 0.0 {
        p.avg_cost = 0.0;
    }
}

fn contract_of(o: &PlacedOrder) -> proto::Contract {
    proto::Contract {
        con_id: Some(o.con_id),
        symbol: Some(
            o.local_symbol
                .trim_end_matches(|c: char| c.is_ascii_digit())
                .trim_end_matches(['H', 'M', 'U', 'Z'])
                .to_string(),
        ),
        sec_type: Some("FUT".into()),
        exchange: Some("CME".into()),
        currency: Some("USD".into()),
        local_symbol: Some(o.local_symbol.clone()),
        ..Default::default()
    }
}

fn order_proto(o: &FakeOrder) -> proto::Order {
    proto::Order {
        client_id: None,
        order_id: Some(o.placed.order_id),
        perm_id: Some(o.perm_id),
        parent_id: (o.placed.parent_id != 0).then_some(o.placed.parent_id),
        action: Some(o.placed.action.clone()),
        total_quantity: Some(fmt_qty(o.placed.qty)),
        order_type: Some(o.placed.order_type.clone()),
        lmt_price: o.placed.lmt_price,
        aux_price: o.placed.aux_price,
        tif: Some(o.placed.tif.clone()),
        account: None,
        oca_group: (!o.placed.oca_group.is_empty()).then(|| o.placed.oca_group.clone()),
        oca_type: None,
        transmit: Some(true),
    }
}

fn open_order(o: &FakeOrder) -> proto::OpenOrder {
    proto::OpenOrder {
        order_id: Some(o.placed.order_id),
        contract: Some(contract_of(&o.placed)),
        order: Some(order_proto(o)),
        order_state: Some(proto::OrderState { status: Some(o.status.to_string()) }),
    }
}

fn order_status(o: &FakeOrder) -> proto::OrderStatus {
    proto::OrderStatus {
        order_id: Some(o.placed.order_id),
        status: Some(o.status.to_string()),
        filled: Some(fmt_qty(o.filled)),
        remaining: Some(fmt_qty((o.placed.qty - o.filled).max(0.0))),
        avg_fill_price: None,
        perm_id: Some(o.perm_id),
        parent_id: Some(o.placed.parent_id),
        last_fill_price: None,
        client_id: None,
    }
}

fn exec_details(req_id: i32, o: &FakeOrder, e: &FakeExec) -> proto::ExecutionDetails {
    proto::ExecutionDetails {
        req_id: Some(req_id),
        contract: Some(contract_of(&o.placed)),
        execution: Some(proto::Execution {
            order_id: Some(e.order_id),
            exec_id: Some(e.exec_id.clone()),
            time: Some("20261201 12:00:00".into()),
            acct_number: Some(o.placed.account.clone()),
            exchange: Some("CME".into()),
            side: Some(e.side.into()),
            shares: Some(fmt_qty(e.shares)),
            price: Some(e.price),
            perm_id: Some(o.perm_id),
            client_id: None,
            cum_qty: Some(fmt_qty(e.cum)),
            avg_price: Some(e.price),
        }),
    }
}

fn commission_report(e: &FakeExec) -> proto::CommissionAndFeesReport {
    proto::CommissionAndFeesReport {
        exec_id: Some(e.exec_id.clone()),
        commission_and_fees: Some(e.commission),
        currency: Some("USD".into()),
    }
}

fn accept_loop(listener: &TcpListener, inner: &Arc<Inner>) {
    while !inner.stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((stream, _)) => {
                let _ = stream.set_nonblocking(false);
                let _ = stream.set_nodelay(true);
                inner.drop_now.store(false, Ordering::SeqCst);
                serve(stream, inner);
                let mut st = inner.lock();
                st.snap.connected = false;
                st.session = Session::default();
                st.snap.last_subs = 0;
                st.snap.bid_ask_subs = 0;
                st.snap.depth_subs = 0;
                drop(st);
                *inner.writer.lock().unwrap_or_else(|p| p.into_inner()) = None;
                inner.notify();
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::sleep(Duration::from_millis(2)),
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

/// When the first bytes of a read arrived: the kernel's receive timestamp (see
/// [`recv_stamped`]), or, when the kernel gave none, the time they were read.
#[derive(Clone, Copy, Debug)]
struct Arrival {
    at: Instant,
    /// `at` is the kernel's timestamp.
    kernel: bool,
}

/// Reads exactly `buf.len()` bytes, tolerating read timeouts, and says when the first of
/// them arrived; `None` when the peer closed, the fake is stopping or the test dropped the
/// connection.
fn read_full(s: &mut TcpStream, buf: &mut [u8], inner: &Inner) -> Option<Arrival> {
    let mut got = 0;
    let mut first = None;
    while got < buf.len() {
        if inner.stop.load(Ordering::SeqCst) || inner.drop_now.load(Ordering::SeqCst) {
            return None;
        }
        match recv_stamped(s, &mut buf[got..]) {
            Ok((0, _)) => return None,
            Ok((n, at)) => {
                first.get_or_insert_with(|| Arrival {
                    at: at.unwrap_or_else(Instant::now),
                    kernel: at.is_some(),
                });
                got += n;
            }
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
    Some(first.unwrap_or(Arrival { at: Instant::now(), kernel: false }))
}

/// One length-prefixed frame and when the bytes carrying its length prefix arrived.
struct Frame {
    body: Vec<u8>,
    arrived: Arrival,
}

/// Reads one length-prefixed frame.
fn read_frame(s: &mut TcpStream, inner: &Inner) -> Option<Frame> {
    let mut len = [0u8; 4];
    let arrived = read_full(s, &mut len, inner)?;
    let n = u32::from_be_bytes(len) as usize;
    if n > 16 << 20 {
        return None;
    }
    let mut body = vec![0u8; n];
    read_full(s, &mut body, inner).map(|_| Frame { body, arrived })
}

/// One `recvmsg` into `buf`: the byte count and, when the socket has `SO_TIMESTAMPNS` on, the
/// kernel's receive time of the data read (mapped onto [`Instant`]). On loopback the kernel
/// stamps the data when the sender's `write` hands it to the receiving socket, so this is
/// when the bytes arrived, independent of when this thread was scheduled to read them.
fn recv_stamped(s: &TcpStream, buf: &mut [u8]) -> io::Result<(usize, Option<Instant>)> {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
    use std::os::fd::AsRawFd;
    let mut iov = [io::IoSliceMut::new(buf)];
    let mut space = nix::cmsg_space!(nix::sys::time::TimeSpec);
    let msg = recvmsg::<()>(s.as_raw_fd(), &mut iov, Some(&mut space), MsgFlags::empty())
        .map_err(io::Error::from)?;
    let mut at = None;
    for c in msg.cmsgs().map_err(io::Error::from)? {
        if let ControlMessageOwned::ScmTimestampns(ts) = c {
            at = Some(kernel_time_to_instant(ts.tv_sec(), ts.tv_nsec()));
        }
    }
    Ok((msg.bytes, at))
}

/// Maps a `CLOCK_REALTIME` reading (seconds, nanoseconds) onto [`Instant`] through its age
/// now; a reading in the future (a clock step) maps to now.
fn kernel_time_to_instant(sec: i64, nsec: i64) -> Instant {
    let (now, wall) = (Instant::now(), std::time::SystemTime::now());
    let (Ok(sec), Ok(nsec)) = (u64::try_from(sec), u32::try_from(nsec)) else { return now };
    let stamped = std::time::UNIX_EPOCH + Duration::new(sec, nsec);
    match wall.duration_since(stamped) {
        Ok(age) => now.checked_sub(age).unwrap_or(now),
        Err(_) => now,
    }
}

fn serve(mut s: TcpStream, inner: &Arc<Inner>) {
    let _ = s.set_read_timeout(Some(Duration::from_millis(20)));
    // Kernel receive timestamps: a placed order records when its bytes arrived.
    let _ = nix::sys::socket::setsockopt(&s, nix::sys::socket::sockopt::ReceiveTimestampns, &true);
    // "API\0" then the version range frame (a TCP probe that sends nothing is not a session).
    let mut magic = [0u8; 4];
    if read_full(&mut s, &mut magic, inner).is_none() || &magic != b"API\0" {
        return;
    }
    {
        let mut st = inner.lock();
        st.snap.sessions += 1;
        st.snap.connected = true;
        st.session = Session::default();
    }
    inner.notify();
    if read_frame(&mut s, inner).is_none() {
        return;
    }
    let (reply, version) = {
        let st = inner.lock();
        (st.cfg.handshake_reply.clone(), st.cfg.server_version)
    };
    match s.try_clone() {
        Ok(w) => *inner.writer.lock().unwrap_or_else(|p| p.into_inner()) = Some(w),
        Err(_) => return,
    }
    if let Some(raw) = reply {
        inner.send(&raw);
    } else {
        let text = format!("{version}\0{}\0", "20261201 08:00:00 EST");
        let mut out = (text.len() as u32).to_be_bytes().to_vec();
        out.extend_from_slice(text.as_bytes());
        inner.send(&out);
    }
    let session = inner.lock().snap.sessions;
    while let Some(Frame { body: f, arrived }) = read_frame(&mut s, inner) {
        if f.len() < 4 {
            continue;
        }
        let raw_id = i32::from_be_bytes([f[0], f[1], f[2], f[3]]);
        let body = &f[4..];
        let id = if raw_id > PROTO { raw_id - PROTO } else { raw_id };
        {
            let mut st = inner.lock();
            st.snap.frames.push(id);
        }
        handle(inner, session, id, body, arrived);
        inner.notify();
    }
    let _ = s.shutdown(std::net::Shutdown::Both);
}

fn handle(inner: &Arc<Inner>, session: u32, id: i32, body: &[u8], arrived: Arrival) {
    match id {
        71 => {
            let m = proto::StartApiRequest::decode(body).unwrap_or_default();
            let (nvid, accounts) = {
                let mut st = inner.lock();
                st.snap.start_api.push(m.client_id.unwrap_or(0));
                (st.next_valid_id, st.cfg.accounts.clone())
            };
            inner.send_msg(9, &proto::NextValidId { order_id: Some(nvid) });
            inner.send_msg(15, &proto::ManagedAccounts { accounts_list: Some(accounts) });
            inner.send_msg(4, &error_msg(-1, 2104, "Market data farm connection is OK:usfuture"));
        }
        9 => contract_details(inner, body),
        49 => {
            let t = inner.lock().cfg.current_time.unwrap_or_else(now_s);
            inner.send_msg(49, &proto::CurrentTime { current_time: Some(t) });
        }
        17 => {
            let a = inner.lock().cfg.accounts.clone();
            inner.send_msg(15, &proto::ManagedAccounts { accounts_list: Some(a) });
        }
        8 => {
            let n = inner.lock().next_valid_id;
            inner.send_msg(9, &proto::NextValidId { order_id: Some(n) });
        }
        97 => {
            let m = proto::TickByTickRequest::decode(body).unwrap_or_default();
            let req = m.req_id.unwrap_or(0);
            let mut st = inner.lock();
            match m.tick_type.as_deref() {
                Some("BidAsk") => st.session.bid_ask.push(req),
                _ => st.session.last.push(req),
            }
            st.snap.last_subs = st.session.last.len();
            st.snap.bid_ask_subs = st.session.bid_ask.len();
        }
        98 => {
            let m = proto::ReqIdOnly::decode(body).unwrap_or_default();
            let req = m.req_id.unwrap_or(0);
            let mut st = inner.lock();
            st.session.last.retain(|r| *r != req);
            st.session.bid_ask.retain(|r| *r != req);
            st.snap.last_subs = st.session.last.len();
            st.snap.bid_ask_subs = st.session.bid_ask.len();
        }
        10 => {
            let m = proto::MarketDepthRequest::decode(body).unwrap_or_default();
            let mut st = inner.lock();
            st.session.depth.push(m.req_id.unwrap_or(0));
            st.snap.depth_subs = st.session.depth.len();
        }
        11 => {
            let m = proto::ReqIdOnly::decode(body).unwrap_or_default();
            let req = m.req_id.unwrap_or(0);
            let mut st = inner.lock();
            st.session.depth.retain(|r| *r != req);
            st.snap.depth_subs = st.session.depth.len();
        }
        1 => market_data(inner, body),
        78 => sec_def_opt_params(inner, body),
        3 => place_order(inner, session, body, arrived),
        4 => cancel_order(inner, body),
        5 | 16 => {
            let msgs: Vec<Vec<u8>> = {
                let mut st = inner.lock();
                st.snap.reconcile_reqs += 1;
                st.orders
                    .values()
                    .filter(|o| o.transmitted && matches!(o.status, "Submitted" | "PreSubmitted"))
                    .flat_map(|o| [frame(5, &open_order(o)), frame(3, &order_status(o))])
                    .collect()
            };
            for m in msgs {
                inner.send(&m);
            }
            inner.send_msg(53, &proto::Empty {});
        }
        99 => {
            let msgs: Vec<Vec<u8>> = {
                let mut st = inner.lock();
                st.snap.reconcile_reqs += 1;
                st.orders
                    .values()
                    .filter(|o| matches!(o.status, "Filled" | "Cancelled" | "Inactive"))
                    .map(|o| {
                        let mut order = order_proto(o);
                        order.order_id = Some(o.placed.order_id);
                        frame(
                            101,
                            &proto::CompletedOrder {
                                contract: Some(contract_of(&o.placed)),
                                order: Some(order),
                                order_state: Some(proto::OrderState { status: Some(o.status.to_string()) }),
                            },
                        )
                    })
                    .collect()
            };
            for m in msgs {
                inner.send(&m);
            }
            inner.send_msg(102, &proto::Empty {});
        }
        7 => {
            let req = decode_req_id(body);
            let msgs: Vec<Vec<u8>> = {
                let mut st = inner.lock();
                st.snap.reconcile_reqs += 1;
                st.execs
                    .iter()
                    .filter_map(|e| {
                        let o = st.orders.get(&e.order_id)?;
                        Some([frame(11, &exec_details(req, o, e)), frame(59, &commission_report(e))])
                    })
                    .flatten()
                    .collect()
            };
            for m in msgs {
                inner.send(&m);
            }
            inner.send_msg(55, &proto::ReqIdOnly { req_id: Some(req) });
        }
        61 => {
            let (msgs, acct) = {
                let mut st = inner.lock();
                st.snap.reconcile_reqs += 1;
                let acct = st.cfg.accounts.split(',').next().unwrap_or("").to_string();
                let v: Vec<Vec<u8>> = st
                    .positions
                    .iter()
                    .map(|p| {
                        frame(
                            61,
                            &proto::Position {
                                account: Some(acct.clone()),
                                contract: Some(proto::Contract {
                                    con_id: Some(p.con_id),
                                    sec_type: Some("FUT".into()),
                                    local_symbol: Some(p.local_symbol.clone()),
                                    exchange: Some("CME".into()),
                                    currency: Some("USD".into()),
                                    ..Default::default()
                                }),
                                position: Some(fmt_qty(p.qty)),
                                avg_cost: Some(p.avg_cost),
                            },
                        )
                    })
                    .collect();
                (v, acct)
            };
            let _ = acct;
            for m in msgs {
                inner.send(&m);
            }
            inner.send_msg(62, &proto::Empty {});
        }
        _ => {}
    }
}

fn decode_req_id(body: &[u8]) -> i32 {
    proto::ReqIdOnly::decode(body).ok().and_then(|m| m.req_id).unwrap_or(0)
}

fn contract_details(inner: &Arc<Inner>, body: &[u8]) {
    let m = proto::ContractDataRequest::decode(body).unwrap_or_default();
    let req = m.req_id.unwrap_or(0);
    let c = m.contract.unwrap_or_default();
    let sym = c.symbol.clone().unwrap_or_default();
    let sec = c.sec_type.clone().unwrap_or_default();
    let (futs, spot_con) = {
        let st = inner.lock();
        (st.cfg.futures.clone(), 416_904)
    };
    if sec == "IND" {
        let d = proto::ContractData {
            req_id: Some(req),
            contract: Some(proto::Contract {
                con_id: Some(spot_con),
                symbol: Some(sym.clone()),
                sec_type: Some("IND".into()),
                exchange: Some("CBOE".into()),
                currency: Some("USD".into()),
                local_symbol: Some(sym.clone()),
                ..Default::default()
            }),
            contract_details: Some(proto::ContractDetails {
                long_name: Some("S&P 500 Stock Index".into()),
                min_tick: Some("0.01".into()),
                ..Default::default()
            }),
        };
        inner.send_msg(10, &d);
    } else if sec == "OPT" {
        // Echo the option contract with a synthetic con id.
        let d = proto::ContractData {
            req_id: Some(req),
            contract: Some(proto::Contract { con_id: Some(700_000_000), ..c }),
            contract_details: Some(proto::ContractDetails::default()),
        };
        inner.send_msg(10, &d);
    } else {
        for f in futs.iter().filter(|f| f.symbol == sym) {
            let d = proto::ContractData {
                req_id: Some(req),
                contract: Some(proto::Contract {
                    con_id: Some(f.con_id),
                    symbol: Some(f.symbol.clone()),
                    sec_type: Some("FUT".into()),
                    last_trade_date_or_contract_month: Some(f.expiry.clone()),
                    multiplier: Some(if f.symbol == "MES" { 5.0 } else { 50.0 }),
                    exchange: Some("CME".into()),
                    currency: Some("USD".into()),
                    local_symbol: Some(f.local_symbol.clone()),
                    trading_class: Some(f.symbol.clone()),
                    last_trade_date: Some(f.expiry.clone()),
                    ..Default::default()
                }),
                contract_details: Some(proto::ContractDetails {
                    market_name: Some(f.symbol.clone()),
                    min_tick: Some("0.25".into()),
                    long_name: Some("E-mini S&P 500".into()),
                    contract_month: Some(f.expiry[..6].to_string()),
                    time_zone_id: Some("US/Central".into()),
                    real_expiration_date: Some(f.expiry.clone()),
                }),
            };
            inner.send_msg(10, &d);
        }
    }
    inner.send_msg(52, &proto::ReqIdOnly { req_id: Some(req) });
}

fn sec_def_opt_params(inner: &Arc<Inner>, body: &[u8]) {
    let m = proto::SecDefOptParamsRequest::decode(body).unwrap_or_default();
    let req = m.req_id.unwrap_or(0);
    let spot = inner.lock().cfg.spx_spot;
    let base = (spot / 5.0).round() * 5.0;
    let strikes: Vec<f64> = (-40..=40).map(|k| base + 5.0 * f64::from(k)).collect();
    // Expiries relative to the local date (New York), so the edge always finds near ones.
    let today = mia_model::time::calendar::eastern_date(u64::try_from(now_s()).unwrap_or(0) * 1_000_000_000);
    let ib = |n: i64| {
        let d = today.add_days(n);
        format!("{:04}{:02}{:02}", d.year, d.month, d.day)
    };
    for (class, exps) in [("SPXW", vec![ib(1), ib(2), ib(3)]), ("SPX", vec![ib(17)])] {
        let p = proto::SecDefOptParameter {
            req_id: Some(req),
            exchange: Some("SMART".into()),
            underlying_con_id: m.underlying_con_id,
            trading_class: Some(class.into()),
            multiplier: Some("100".into()),
            expirations: exps,
            strikes: strikes.clone(),
        };
        inner.send_msg(75, &p);
    }
    inner.send_msg(76, &proto::ReqIdOnly { req_id: Some(req) });
}

fn market_data(inner: &Arc<Inner>, body: &[u8]) {
    let m = proto::MarketDataRequest::decode(body).unwrap_or_default();
    let req = m.req_id.unwrap_or(0);
    let c = m.contract.unwrap_or_default();
    let spot = {
        let mut st = inner.lock();
        st.snap.market_data_reqs += 1;
        st.cfg.spx_spot
    };
    let price = |tick: i32, p: f64| proto::TickPrice {
        req_id: Some(req),
        tick_type: Some(tick),
        price: Some(p),
        size: Some("1".into()),
        attr_mask: Some(0),
    };
    let size = |tick: i32, s: f64| proto::TickSize {
        req_id: Some(req),
        tick_type: Some(tick),
        size: Some(fmt_qty(s)),
    };
    if c.sec_type.as_deref() == Some("OPT") {
        let k = c.strike.unwrap_or(spot);
        let call = c.right.as_deref().map(|r| r.starts_with('C')).unwrap_or(true);
        let intrinsic = if call { (spot - k).max(0.0) } else { (k - spot).max(0.0) };
        let bid = intrinsic + 2.0;
        inner.send_msg(1, &price(1, bid));
        inner.send_msg(1, &price(2, bid + 0.2));
        inner.send_msg(2, &size(8, 100.0 + (k % 50.0)));
        inner.send_msg(2, &size(if call { 27 } else { 28 }, 1000.0 + k - spot));
        let g = proto::TickOptionComputation {
            req_id: Some(req),
            tick_type: Some(13),
            tick_attrib: Some(1),
            implied_vol: Some(0.15 + (k - spot).abs() / 10_000.0),
            delta: Some(if call { 0.5 } else { -0.5 }),
            opt_price: Some(bid + 0.1),
            pv_dividend: Some(0.0),
            gamma: Some(0.002),
            vega: Some(1.0),
            theta: Some(-1.0),
            und_price: Some(spot),
        };
        inner.send_msg(21, &g);
    } else {
        inner.send_msg(1, &price(4, spot));
        inner.send_msg(1, &price(9, spot - 10.0));
    }
    if m.snapshot == Some(true) {
        inner.send_msg(57, &proto::ReqIdOnly { req_id: Some(req) });
    }
}

fn place_order(inner: &Arc<Inner>, session: u32, body: &[u8], arrived: Arrival) {
    let Ok(m) = proto::PlaceOrderRequest::decode(body) else { return };
    let o = m.order.unwrap_or_default();
    let c = m.contract.unwrap_or_default();
    let order_id = m.order_id.or(o.order_id).unwrap_or(0);
    let received = Instant::now();
    let placed = PlacedOrder {
        session,
        order_id,
        parent_id: o.parent_id.unwrap_or(0),
        oca_group: o.oca_group.clone().unwrap_or_default(),
        oca_type: o.oca_type.unwrap_or(0),
        transmit: o.transmit.unwrap_or(false),
        action: o.action.clone().unwrap_or_default(),
        order_type: o.order_type.clone().unwrap_or_default(),
        lmt_price: o.lmt_price,
        aux_price: o.aux_price,
        qty: o.total_quantity.as_deref().and_then(|q| q.parse().ok()).unwrap_or(0.0),
        tif: o.tif.clone().unwrap_or_default(),
        account: o.account.clone().unwrap_or_default(),
        local_symbol: c.local_symbol.clone().unwrap_or_default(),
        con_id: c.con_id.unwrap_or(0),
        received,
        arrived: arrived.at.min(received),
        kernel_stamped: arrived.kernel,
    };
    let mut out: Vec<Vec<u8>> = Vec::new();
    {
        let mut st = inner.lock();
        st.snap.placed.push(placed.clone());
        if let Some((code, msg)) = st.reject_next.take() {
            let perm = 9_000_000 + i64::from(order_id);
            st.orders.insert(
                order_id,
                FakeOrder {
                    placed: placed.clone(),
                    status: "Inactive",
                    filled: 0.0,
                    transmitted: true,
                    perm_id: perm,
                },
            );
            out.push(frame(4, &error_msg(order_id, code, &msg)));
        } else if let Some(existing) = st.orders.get_mut(&order_id) {
            // A modify: same id, new fields.
            existing.placed = PlacedOrder { session, ..placed.clone() };
            if existing.transmitted {
                out.push(frame(5, &open_order(existing)));
                out.push(frame(3, &order_status(existing)));
            }
        } else {
            let perm = 9_000_000 + i64::from(order_id);
            st.orders.insert(
                order_id,
                FakeOrder {
                    placed: placed.clone(),
                    status: "Submitted",
                    filled: 0.0,
                    transmitted: false,
                    perm_id: perm,
                },
            );
            if placed.transmit {
                // Transmitting a child transmits its parent and its siblings (IB's bracket rule).
                let parent = placed.parent_id;
                let ids: Vec<i32> = st
                    .orders
                    .iter()
                    .filter(|(id, o)| {
                        !o.transmitted
                            && (**id == order_id
                                || (parent != 0 && (**id == parent || o.placed.parent_id == parent)))
                    })
                    .map(|(id, _)| *id)
                    .collect();
                for &id in &ids {
                    if let Some(o) = st.orders.get_mut(&id) {
                        o.transmitted = true;
                        o.status = "Submitted";
                        out.push(frame(5, &open_order(o)));
                        out.push(frame(3, &order_status(o)));
                    }
                }
                if let Some(px) = st.cfg.auto_fill_market {
                    for id in ids {
                        let qty = match st.orders.get(&id) {
                            Some(o) if o.placed.order_type == "MKT" => o.placed.qty,
                            _ => continue,
                        };
                        let Some((ex, cancelled)) = record_fill(&mut st, id, qty, px, 2.25) else { continue };
                        let Some(o) = st.orders.get(&id) else { continue };
                        out.push(frame(11, &exec_details(-1, o, &ex)));
                        out.push(frame(3, &order_status(o)));
                        out.push(frame(59, &commission_report(&ex)));
                        for c in cancelled {
                            if let Some(c) = st.orders.get(&c) {
                                out.push(frame(3, &order_status(c)));
                            }
                        }
                    }
                }
            }
        }
    }
    for f in out {
        inner.send(&f);
    }
}

fn cancel_order(inner: &Arc<Inner>, body: &[u8]) {
    let m = proto::CancelOrderRequest::decode(body).unwrap_or_default();
    let id = m.order_id.unwrap_or(0);
    let out = {
        let mut st = inner.lock();
        st.snap.cancels.push(id);
        match st.orders.get_mut(&id) {
            None => vec![frame(
                4,
                &error_msg(id, 10147, &format!("OrderId {id} that needs to be cancelled is not found.")),
            )],
            Some(o) if matches!(o.status, "Filled" | "Cancelled" | "Inactive") => vec![frame(
                4,
                &error_msg(
                    id,
                    10148,
                    &format!(
                        "OrderId {id} that needs to be cancelled cannot be cancelled, state: {}.",
                        o.status
                    ),
                ),
            )],
            Some(o) => {
                o.status = "Cancelled";
                vec![frame(3, &order_status(o)), frame(4, &error_msg(id, 202, "Order Canceled - reason:"))]
            }
        }
    };
    for f in out {
        inner.send(&f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::net::TcpListener;

    /// The arrival stamp is the kernel's, taken when the bytes reached the socket: data left
    /// unread for 20 ms is stamped before the read, not at it. (Linux turns receive stamping
    /// on a moment after the first socket asks for it, so the first few writes may arrive
    /// unstamped: the test writes until one is stamped.)
    #[test]
    fn recv_stamped_gives_the_kernel_arrival_time() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let mut tx = TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
        let (rx, _) = listener.accept().expect("accept");
        nix::sys::socket::setsockopt(&rx, nix::sys::socket::sockopt::ReceiveTimestampns, &true)
            .expect("SO_TIMESTAMPNS");
        for _ in 0..50 {
            let before_write = Instant::now();
            tx.write_all(b"abcd").expect("write");
            std::thread::sleep(Duration::from_millis(20));
            let before_read = Instant::now();
            let mut buf = [0u8; 4];
            let (n, at) = recv_stamped(&rx, &mut buf).expect("recv");
            assert_eq!((n, &buf), (4, b"abcd"));
            let Some(at) = at else { continue };
            // 1 ms of slack for mapping the realtime stamp onto Instant.
            assert!(at + Duration::from_millis(1) >= before_write, "stamped before the write");
            assert!(at + Duration::from_millis(10) < before_read, "stamped at the read, not at arrival");
            return;
        }
        panic!("50 writes, none stamped by the kernel with SO_TIMESTAMPNS on");
    }

    /// Without the option there is no stamp, and the frame reader falls back to its read time.
    #[test]
    fn recv_stamped_without_the_option_gives_none() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let mut tx = TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
        let (rx, _) = listener.accept().expect("accept");
        tx.write_all(b"x").expect("write");
        let mut buf = [0u8; 1];
        let (n, at) = recv_stamped(&rx, &mut buf).expect("recv");
        assert_eq!((n, at), (1, None));
    }

    #[test]
    fn a_kernel_time_in_the_future_maps_to_now() {
        let before = Instant::now();
        let far = kernel_time_to_instant(i64::from(u32::MAX) * 2, 0);
        assert!(far >= before);
        assert!(kernel_time_to_instant(-1, 0) >= before);
    }
}
