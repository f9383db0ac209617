//! A scripted fake DTC server for tests (feature `fake-dtc`, and this crate's own tests).
//!
//! [`FakeDtcServer::start`] listens on `127.0.0.1:0` and serves one client connection at a
//! time on its own thread (a new connection replaces the old one, as after a reconnect). It
//! speaks both encodings (the binary ENCODING_REQUEST picks JSON or binary), and:
//!
//! - accepts or refuses the logon ([`FakeConfig::logon`]), records every LOGON_REQUEST;
//! - sends heartbeats at the interval the client asked for, until
//!   [`set_heartbeats(false)`](FakeDtcServer::set_heartbeats);
//! - answers MARKET_DATA_REQUEST with a snapshot (or a reject, [`FakeConfig::reject_market_data`])
//!   and MARKET_DEPTH_REQUEST with a depth snapshot of its book; pushes trades, bid/ask and depth
//!   updates on command;
//! - handles orders: a single order is accepted (or rejected by
//!   [`reject_next_order`](FakeDtcServer::reject_next_order)); a parent (`IsParentOrder`) waits
//!   for its OCO pair, whose children stay `PENDING_CHILD` until the parent fills; a fill
//!   ([`fill`](FakeDtcServer::fill)) may be partial; a child that fills cancels its OCO sibling;
//!   cancels and cancel-replaces are applied; every fill moves the position and is followed by
//!   an unsolicited POSITION_UPDATE;
//! - answers OPEN_ORDERS_REQUEST, CURRENT_POSITIONS_REQUEST, HISTORICAL_ORDER_FILLS_REQUEST and
//!   TRADE_ACCOUNTS_REQUEST from its state;
//! - drops the connection on command ([`drop_connection`](FakeDtcServer::drop_connection)) and
//!   accepts the reconnect; what happens while no client is connected (a fill) is kept in its
//!   state and never sent, as a real server would;
//! - records every order message received ([`order_messages`](FakeDtcServer::order_messages)).
//!
//! Shared state sits behind a mutex: this is test code, not a hot path.

use std::collections::BTreeMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::config::Encoding;
use super::messages::*;

/// How the fake behaves.
#[derive(Clone, Debug)]
pub struct FakeConfig {
    /// Logon result sent (1 success, 2 error, 3 error, do not reconnect).
    pub logon: i32,
    /// `ResultText` of the logon response.
    pub logon_text: String,
    /// `ServerName`.
    pub server_name: String,
    /// `TradingIsSupported`.
    pub trading: bool,
    /// `BracketOrdersSupported` and `OCOOrdersSupported`.
    pub brackets: bool,
    /// Reject market-data subscriptions with this text.
    pub reject_market_data: Option<String>,
}

impl Default for FakeConfig {
    fn default() -> Self {
        Self {
            logon: values::LOGON_SUCCESS,
            logon_text: "welcome".into(),
            server_name: "FakeDTC".into(),
            trading: true,
            brackets: true,
            reject_market_data: None,
        }
    }
}

/// An order as the fake holds it.
#[derive(Clone, Debug, PartialEq)]
pub struct FakeOrder {
    /// `ClientOrderID`.
    pub client_id: String,
    /// `ServerOrderID` (`S1`, `S2`, …).
    pub server_id: String,
    /// 1 buy, 2 sell.
    pub buy_sell: i32,
    /// DTC order type.
    pub order_type: i32,
    /// Price1.
    pub price1: f64,
    /// Price2.
    pub price2: f64,
    /// Total quantity.
    pub qty: f64,
    /// Filled quantity.
    pub filled: f64,
    /// Average fill price.
    pub avg: f64,
    /// `OrderStatusEnum`.
    pub status: i32,
    /// Client id of the bracket parent (children only).
    pub parent: Option<String>,
    /// Client id of the OCO sibling.
    pub sibling: Option<String>,
    /// (execution id, quantity, price) of each fill.
    pub fills: Vec<(String, f64, f64)>,
}

impl FakeOrder {
    fn is_open(&self) -> bool {
        !matches!(self.status, values::STATUS_FILLED | values::STATUS_CANCELED | values::STATUS_REJECTED)
    }
}

#[derive(Default)]
struct State {
    cfg: FakeConfig,
    heartbeats: bool,
    connections: usize,
    connected: bool,
    drop_now: bool,
    outbox: Vec<Message>,
    logons: Vec<LogonRequest>,
    received: Vec<Message>,
    heartbeats_in: u64,
    orders: BTreeMap<String, FakeOrder>,
    order_seq: u64,
    exec_seq: u64,
    reject_next: Option<String>,
    position: f64,
    avg_price: f64,
    symbol: String,
    bid: (f64, f64),
    ask: (f64, f64),
    depth: Vec<(u16, f64, f64)>,
    hb_interval: Duration,
    account: String,
}

impl State {
    fn send(&mut self, m: impl Into<Message>) {
        if self.connected {
            self.outbox.push(m.into());
        }
    }

    fn update(&self, o: &FakeOrder, reason: i32) -> OrderUpdate {
        OrderUpdate {
            total_num_messages: 1,
            message_number: 1,
            symbol: self.symbol.clone(),
            server_order_id: o.server_id.clone(),
            client_order_id: o.client_id.clone(),
            order_status: o.status,
            order_update_reason: reason,
            order_type: o.order_type,
            buy_sell: o.buy_sell,
            price1: o.price1,
            price2: o.price2,
            order_quantity: o.qty,
            filled_quantity: o.filled,
            remaining_quantity: o.qty - o.filled,
            average_fill_price: o.avg,
            trade_account: self.account.clone(),
            parent_server_order_id: o
                .parent
                .as_ref()
                .and_then(|p| self.orders.get(p))
                .map(|p| p.server_id.clone())
                .unwrap_or_default(),
            oco_linked_order_server_order_id: o
                .sibling
                .as_ref()
                .and_then(|p| self.orders.get(p))
                .map(|p| p.server_id.clone())
                .unwrap_or_default(),
            ..Default::default()
        }
    }

    fn new_order(
        &mut self,
        client_id: &str,
        buy_sell: i32,
        order_type: i32,
        p1: f64,
        p2: f64,
        qty: f64,
    ) -> FakeOrder {
        self.order_seq += 1;
        FakeOrder {
            client_id: client_id.to_string(),
            server_id: format!("S{}", self.order_seq),
            buy_sell,
            order_type,
            price1: p1,
            price2: p2,
            qty,
            filled: 0.0,
            avg: 0.0,
            status: values::STATUS_OPEN,
            parent: None,
            sibling: None,
            fills: Vec::new(),
        }
    }

    fn set_status(&mut self, id: &str, status: i32, reason: i32) {
        if let Some(o) = self.orders.get_mut(id) {
            o.status = status;
            let o = o.clone();
            let u = self.update(&o, reason);
            self.send(u);
        }
    }

    fn position_update(&self, unsolicited: bool, request_id: i32) -> PositionUpdate {
        PositionUpdate {
            request_id,
            total_number_messages: 1,
            message_number: 1,
            symbol: self.symbol.clone(),
            quantity: self.position,
            average_price: self.avg_price,
            trade_account: self.account.clone(),
            no_positions: u8::from(self.position == 0.0 && !unsolicited),
            unsolicited: u8::from(unsolicited),
            ..Default::default()
        }
    }

    fn fill(&mut self, client_id: &str, qty: f64, price: f64) -> bool {
        let Some(o) = self.orders.get_mut(client_id) else { return false };
        if !o.is_open() || o.status == values::STATUS_PENDING_CHILD {
            return false;
        }
        let q = qty.min(o.qty - o.filled);
        if q <= 0.0 {
            return false;
        }
        self.exec_seq += 1;
        let exec = format!("E{}", self.exec_seq);
        o.avg = (o.avg * o.filled + price * q) / (o.filled + q);
        o.filled += q;
        o.fills.push((exec.clone(), q, price));
        let full = o.filled >= o.qty;
        o.status = if full { values::STATUS_FILLED } else { values::STATUS_PARTIALLY_FILLED };
        let sign = if o.buy_sell == values::BUY { 1.0 } else { -1.0 };
        let o = o.clone();
        let mut u =
            self.update(&o, if full { values::REASON_FILLED } else { values::REASON_FILLED_PARTIALLY });
        u.last_fill_price = price;
        u.last_fill_quantity = q;
        u.last_fill_execution_id = exec;
        self.send(u);
        let before = self.position;
        self.position += sign * q;
        self.avg_price = if self.position == 0.0 {
            0.0
        } else if before == 0.0 {
            price
        } else {
            self.avg_price
        };
        let p = self.position_update(true, 0);
        self.send(p);
        // A filled parent releases its children; a filled child cancels its OCO sibling.
        let children: Vec<String> = self
            .orders
            .values()
            .filter(|c| c.parent.as_deref() == Some(client_id) && c.status == values::STATUS_PENDING_CHILD)
            .map(|c| c.client_id.clone())
            .collect();
        for c in children {
            self.set_status(&c, values::STATUS_OPEN, values::REASON_GENERAL);
        }
        if full {
            if let Some(s) = o.sibling.clone() {
                if self.orders.get(&s).is_some_and(FakeOrder::is_open) {
                    self.set_status(&s, values::STATUS_CANCELED, values::REASON_CANCELED);
                }
            }
        }
        true
    }

    fn handle(&mut self, m: Message) {
        match &m {
            Message::SubmitNewSingleOrder(_)
            | Message::SubmitNewOcoOrder(_)
            | Message::CancelOrder(_)
            | Message::CancelReplaceOrder(_) => self.received.push(m.clone()),
            _ => {}
        }
        match m {
            Message::LogonRequest(l) => {
                self.hb_interval =
                    Duration::from_secs(u64::try_from(l.heartbeat_interval_in_seconds.max(1)).unwrap_or(1));
                self.account.clone_from(&l.trade_account);
                self.logons.push(l);
                let r = LogonResponse {
                    protocol_version: PROTOCOL_VERSION,
                    result: self.cfg.logon,
                    result_text: self.cfg.logon_text.clone(),
                    server_name: self.cfg.server_name.clone(),
                    trading_is_supported: u8::from(self.cfg.trading),
                    oco_orders_supported: u8::from(self.cfg.brackets),
                    bracket_orders_supported: u8::from(self.cfg.brackets),
                    order_cancel_replace_supported: 1,
                    market_data_supported: 1,
                    market_depth_is_supported: 1,
                    ..Default::default()
                };
                self.send(r);
                if self.cfg.logon != values::LOGON_SUCCESS {
                    self.drop_now = true;
                }
            }
            Message::Heartbeat(_) => self.heartbeats_in += 1,
            Message::Logoff(_) => self.drop_now = true,
            Message::MarketDataRequest(r) if r.request_action == values::SUBSCRIBE => {
                self.symbol.clone_from(&r.symbol);
                if let Some(text) = self.cfg.reject_market_data.clone() {
                    self.send(MarketDataReject { symbol_id: r.symbol_id, reject_text: text });
                    return;
                }
                let s = MarketDataSnapshot {
                    symbol_id: r.symbol_id,
                    bid_price: if self.bid.1 > 0.0 { self.bid.0 } else { f64::MAX },
                    bid_quantity: self.bid.1,
                    ask_price: if self.ask.1 > 0.0 { self.ask.0 } else { f64::MAX },
                    ask_quantity: self.ask.1,
                    session_settlement_price: f64::MAX,
                    ..Default::default()
                };
                self.send(s);
            }
            Message::MarketDepthRequest(r) if r.request_action == values::SUBSCRIBE => {
                let levels = self.depth.clone();
                let n = levels.len().max(1);
                for i in 0..n {
                    let (side, price, q) = levels.get(i).copied().unwrap_or((0, 0.0, 0.0));
                    self.send(MarketDepthSnapshotLevel {
                        symbol_id: r.symbol_id,
                        side,
                        price,
                        quantity: q,
                        level: (i + 1) as u16,
                        is_first_message_in_batch: u8::from(i == 0),
                        is_last_message_in_batch: u8::from(i + 1 == n),
                        ..Default::default()
                    });
                }
            }
            Message::SubmitNewSingleOrder(o) => {
                let mut ord = self.new_order(
                    &o.client_order_id,
                    o.buy_sell,
                    o.order_type,
                    o.price1,
                    o.price2,
                    o.quantity,
                );
                if let Some(text) = self.reject_next.take() {
                    ord.status = values::STATUS_REJECTED;
                    let mut u = self.update(&ord, values::REASON_NEW_ORDER_REJECTED);
                    u.info_text = text;
                    self.orders.insert(ord.client_id.clone(), ord);
                    self.send(u);
                    return;
                }
                if o.is_parent_order != 0 {
                    // Held until its OCO pair arrives.
                    ord.status = values::STATUS_PENDING_OPEN;
                    self.orders.insert(ord.client_id.clone(), ord);
                    return;
                }
                let u = self.update(&ord, values::REASON_NEW_ORDER_ACCEPTED);
                self.orders.insert(ord.client_id.clone(), ord);
                self.send(u);
            }
            Message::SubmitNewOcoOrder(o) => {
                let parent =
                    Some(o.parent_trigger_client_order_id.clone()).filter(|p| self.orders.contains_key(p));
                let mut a = self.new_order(
                    &o.client_order_id_1,
                    o.buy_sell_1,
                    o.order_type_1,
                    o.price1_1,
                    o.price2_1,
                    o.quantity_1,
                );
                let mut b = self.new_order(
                    &o.client_order_id_2,
                    o.buy_sell_2,
                    o.order_type_2,
                    o.price1_2,
                    o.price2_2,
                    o.quantity_2,
                );
                a.sibling = Some(b.client_id.clone());
                b.sibling = Some(a.client_id.clone());
                if let Some(p) = &parent {
                    a.parent = Some(p.clone());
                    b.parent = Some(p.clone());
                    a.status = values::STATUS_PENDING_CHILD;
                    b.status = values::STATUS_PENDING_CHILD;
                    self.set_status(p, values::STATUS_OPEN, values::REASON_NEW_ORDER_ACCEPTED);
                }
                for c in [a, b] {
                    let u = self.update(&c, values::REASON_NEW_ORDER_ACCEPTED);
                    self.orders.insert(c.client_id.clone(), c);
                    self.send(u);
                }
            }
            Message::CancelOrder(c) => {
                let id = if c.client_order_id.is_empty() {
                    self.orders
                        .values()
                        .find(|o| o.server_id == c.server_order_id)
                        .map(|o| o.client_id.clone())
                } else {
                    Some(c.client_order_id.clone())
                };
                let Some(id) = id.filter(|i| self.orders.get(i).is_some_and(FakeOrder::is_open)) else {
                    let u = OrderUpdate {
                        client_order_id: c.client_order_id,
                        order_update_reason: values::REASON_CANCEL_REJECTED,
                        info_text: "no such open order".into(),
                        ..Default::default()
                    };
                    self.send(u);
                    return;
                };
                self.set_status(&id, values::STATUS_CANCELED, values::REASON_CANCELED);
            }
            Message::CancelReplaceOrder(c) => {
                let Some(o) = self.orders.get_mut(&c.client_order_id).filter(|o| o.is_open()) else { return };
                if c.price1_is_set != 0 {
                    o.price1 = c.price1;
                }
                if c.price2_is_set != 0 {
                    o.price2 = c.price2;
                }
                if c.quantity > 0.0 {
                    o.qty = c.quantity;
                }
                let o = o.clone();
                let u = self.update(&o, values::REASON_CANCEL_REPLACE_COMPLETE);
                self.send(u);
            }
            Message::OpenOrdersRequest(r) => {
                let open: Vec<FakeOrder> = self.orders.values().filter(|o| o.is_open()).cloned().collect();
                if open.is_empty() {
                    self.send(OrderUpdate {
                        request_id: r.request_id,
                        total_num_messages: 1,
                        message_number: 1,
                        no_orders: 1,
                        ..Default::default()
                    });
                }
                let n = open.len() as i32;
                for (i, o) in open.iter().enumerate() {
                    let mut u = self.update(o, values::REASON_OPEN_ORDERS_RESPONSE);
                    u.request_id = r.request_id;
                    u.total_num_messages = n;
                    u.message_number = i as i32 + 1;
                    self.send(u);
                }
            }
            Message::CurrentPositionsRequest(r) => {
                let p = self.position_update(false, r.request_id);
                self.send(p);
            }
            Message::HistoricalOrderFillsRequest(r) => {
                let fills: Vec<(String, f64, f64, i32)> = self
                    .orders
                    .values()
                    .filter(|o| o.server_id == r.server_order_id)
                    .flat_map(|o| o.fills.iter().map(move |(e, q, p)| (e.clone(), *q, *p, o.buy_sell)))
                    .collect();
                if fills.is_empty() {
                    self.send(HistoricalOrderFillResponse {
                        request_id: r.request_id,
                        total_number_messages: 1,
                        message_number: 1,
                        no_order_fills: 1,
                        ..Default::default()
                    });
                }
                let n = fills.len() as i32;
                for (i, (e, q, p, bs)) in fills.into_iter().enumerate() {
                    self.send(HistoricalOrderFillResponse {
                        request_id: r.request_id,
                        total_number_messages: n,
                        message_number: i as i32 + 1,
                        symbol: self.symbol.clone(),
                        server_order_id: r.server_order_id.clone(),
                        buy_sell: bs,
                        price: p,
                        quantity: q,
                        unique_execution_id: e,
                        ..Default::default()
                    });
                }
            }
            Message::TradeAccountsRequest(r) => {
                let a = if self.account.is_empty() { "SIM1".to_string() } else { self.account.clone() };
                self.send(TradeAccountResponse {
                    total_number_messages: 1,
                    message_number: 1,
                    trade_account: a,
                    request_id: r.request_id,
                });
            }
            _ => {}
        }
    }
}

/// The fake server (see the module doc). Dropping it stops its thread.
pub struct FakeDtcServer {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeDtcServer {
    /// Starts a server on `127.0.0.1:0`.
    ///
    /// # Errors
    /// The listener cannot be bound.
    pub fn start(cfg: FakeConfig) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(State {
            cfg,
            heartbeats: true,
            hb_interval: Duration::from_secs(1),
            ..State::default()
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let (st, sp) = (state.clone(), stop.clone());
        let thread =
            std::thread::Builder::new().name("fake-dtc".into()).spawn(move || serve(&listener, &st, &sp))?;
        Ok(Self { addr, state, stop, thread: Some(thread) })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The listening port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Sends heartbeats (on by default) or stops sending them.
    pub fn set_heartbeats(&self, on: bool) {
        self.lock().heartbeats = on;
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.lock().connections
    }

    /// True while a client is connected.
    pub fn is_connected(&self) -> bool {
        self.lock().connected
    }

    /// Every LOGON_REQUEST received.
    pub fn logons(&self) -> Vec<LogonRequest> {
        self.lock().logons.clone()
    }

    /// Heartbeats received from clients.
    pub fn heartbeats_received(&self) -> u64 {
        self.lock().heartbeats_in
    }

    /// Every order message received (new, OCO, cancel, cancel-replace), in order.
    pub fn order_messages(&self) -> Vec<Message> {
        self.lock().received.clone()
    }

    /// The orders, by client id.
    pub fn orders(&self) -> BTreeMap<String, FakeOrder> {
        self.lock().orders.clone()
    }

    /// The position (contracts, + long).
    pub fn position(&self) -> f64 {
        self.lock().position
    }

    /// The next new single order is rejected with `text`.
    pub fn reject_next_order(&self, text: &str) {
        self.lock().reject_next = Some(text.to_string());
    }

    /// Fills `qty` of the order with client id `client_order_id` at `price` (partial fills
    /// allowed). False when there is no such open, released order.
    pub fn fill(&self, client_order_id: u64, qty: f64, price: f64) -> bool {
        self.lock().fill(&client_order_id.to_string(), qty, price)
    }

    /// Sends an unsolicited POSITION_UPDATE of `qty` at `avg` (and keeps it as the position).
    pub fn send_position(&self, qty: f64, avg: f64) {
        let mut s = self.lock();
        s.position = qty;
        s.avg_price = avg;
        let p = s.position_update(true, 0);
        s.send(p);
    }

    /// Sets the top of book answered in snapshots.
    pub fn set_quote(&self, bid: f64, bid_qty: f64, ask: f64, ask_qty: f64) {
        let mut s = self.lock();
        s.bid = (bid, bid_qty);
        s.ask = (ask, ask_qty);
    }

    /// Sets the depth book answered in depth snapshots: (side 1 bid / 2 ask, price, qty).
    pub fn set_depth(&self, levels: &[(u16, f64, f64)]) {
        self.lock().depth = levels.to_vec();
    }

    /// Sends any message to the connected client.
    pub fn send(&self, m: impl Into<Message>) {
        self.lock().send(m);
    }

    /// Sends a trade (`at_bid_or_ask`: 1 at bid, 2 at ask) stamped `date_time` (UNIX s).
    pub fn send_trade(&self, price: f64, volume: f64, at_bid_or_ask: u16, date_time: f64) {
        self.send(MarketDataUpdateTrade { symbol_id: 1, at_bid_or_ask, price, volume, date_time });
    }

    /// Sends a bid/ask update.
    pub fn send_bid_ask(&self, bid: f64, bid_qty: f32, ask: f64, ask_qty: f32) {
        self.send(MarketDataUpdateBidAsk {
            symbol_id: 1,
            bid_price: bid,
            bid_quantity: bid_qty,
            ask_price: ask,
            ask_quantity: ask_qty,
            date_time: 0,
        });
    }

    /// Sends a depth update (`update_type` 1 insert/update, 2 delete).
    pub fn send_depth_update(&self, side: u16, price: f64, qty: f64, update_type: u8) {
        self.send(MarketDepthUpdateLevel {
            symbol_id: 1,
            side,
            price,
            quantity: qty,
            update_type,
            ..Default::default()
        });
    }

    /// Closes the client's connection (the client should reconnect). From this call on,
    /// nothing more is sent on that connection: what happens next (a fill) is only kept in
    /// the state, until the client reconnects and asks.
    pub fn drop_connection(&self) {
        let mut s = self.lock();
        s.drop_now = true;
        s.connected = false;
        s.outbox.clear();
    }

    /// Waits up to `timeout` for `cond` on the server's view; true when it held.
    pub fn wait_until(&self, timeout: Duration, mut cond: impl FnMut(&FakeDtcServer) -> bool) -> bool {
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            if cond(self) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        cond(self)
    }
}

impl Drop for FakeDtcServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn lock(s: &Mutex<State>) -> MutexGuard<'_, State> {
    s.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn serve(listener: &TcpListener, state: &Mutex<State>, stop: &AtomicBool) {
    let mut conn: Option<Connection> = None;
    while !stop.load(Ordering::Acquire) {
        if let Ok((s, _)) = listener.accept() {
            if s.set_nonblocking(true).is_ok() {
                let _ = s.set_nodelay(true);
                let mut st = lock(state);
                st.connections += 1;
                st.connected = true;
                st.drop_now = false;
                st.outbox.clear();
                conn = Some(Connection {
                    stream: s,
                    enc: Encoding::Binary,
                    rbuf: Vec::new(),
                    last_hb: Instant::now(),
                });
            }
        }
        let Some(c) = conn.as_mut() else {
            std::thread::sleep(Duration::from_millis(1));
            continue;
        };
        if !c.pump(state) {
            conn = None;
            let mut st = lock(state);
            st.connected = false;
            st.outbox.clear();
        }
        std::thread::sleep(Duration::from_micros(500));
    }
}

struct Connection {
    stream: TcpStream,
    enc: Encoding,
    rbuf: Vec<u8>,
    last_hb: Instant,
}

impl Connection {
    fn write(&mut self, m: &Message, enc: Encoding) -> bool {
        let mut b = Vec::new();
        if super::encode(enc, m, &mut b).is_err() {
            return true;
        }
        let mut off = 0;
        let end = Instant::now() + Duration::from_secs(2);
        while off < b.len() {
            match self.stream.write(&b[off..]) {
                Ok(0) => return false,
                Ok(n) => off += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock && Instant::now() < end => {
                    std::thread::yield_now()
                }
                Err(_) => return false,
            }
        }
        true
    }

    /// Reads, handles, writes. False when the connection is over.
    fn pump(&mut self, state: &Mutex<State>) -> bool {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => return false,
                Ok(n) => self.rbuf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
        }
        loop {
            let decoded = super::decode(self.enc, &self.rbuf);
            let (m, used) = match decoded {
                Ok(Some(x)) => x,
                Ok(None) => break,
                Err(_) => return false,
            };
            self.rbuf.drain(..used);
            if let Message::EncodingRequest(r) = &m {
                let enc = Encoding::from_dtc(r.encoding).unwrap_or(Encoding::Binary);
                let resp = EncodingResponse {
                    protocol_version: PROTOCOL_VERSION,
                    encoding: enc.dtc_value(),
                    protocol_type: "DTC".into(),
                };
                if !self.write(&resp.into(), Encoding::Binary) {
                    return false;
                }
                self.enc = enc;
                continue;
            }
            lock(state).handle(m);
        }
        let (out, drop_now, hb) = {
            let mut st = lock(state);
            let hb = st.heartbeats && self.last_hb.elapsed() >= st.hb_interval && !st.logons.is_empty();
            (std::mem::take(&mut st.outbox), st.drop_now, hb)
        };
        for m in &out {
            if !self.write(m, self.enc) {
                return false;
            }
        }
        if hb {
            self.last_hb = Instant::now();
            if !self.write(&Heartbeat::default().into(), self.enc) {
                return false;
            }
        }
        if drop_now {
            let _ = self.stream.shutdown(std::net::Shutdown::Both);
            return false;
        }
        true
    }
}
