//! Start-up reconciliation of `mia live --venue dtc`, on the caller's thread, before the edge
//! thread starts (so before MIA can send an order).
//!
//! The edge's order table is empty at start-up: every open order the server lists for the
//! symbol and any position in it belong to an earlier process (one that crashed or was
//! killed) or to a person. [`DtcEdge::startup_state`] asks the server (OPEN_ORDERS_REQUEST,
//! CURRENT_POSITIONS_REQUEST); the assembly refuses to start or cancels those orders
//! ([`DtcEdge::cancel_startup_orders`]: CANCEL_ORDER each, then open-orders requests until the
//! server lists none of them) and adopts the position (`[live] on_restart`, `docs/live.md`).
//!
//! **Client order ids never repeat across runs** ([`DtcEdge::use_id_state`]): with an id
//! state, the `ClientOrderID` sent for an order is not the intent's id (each run's exec stage
//! counts from 1) but the next id of a durable high-water mark in the state directory (the
//! IBKR edge's allocator, `ibkr::ids::OrderIds`, over its own file), moved above every numeric
//! client order id the server lists at start-up as well (a lost state file cannot make an id
//! repeat an open order's).

use std::path::Path;
use std::time::{Duration, Instant};

use super::client::{DtcEdge, DtcError};
use super::messages::*;
use crate::ibkr::ids::OrderIds;

/// Name of the client-order-id high-water file in the state directory.
pub const ID_FILE: &str = "dtc-client-order-ids";

/// Request ids of the start-up requests (apart from the edge thread's, which count from 2).
const FIRST_REQUEST: i32 = 900_000;

/// An order the server lists as open at start-up.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DtcOpenOrder {
    /// `ServerOrderID`.
    pub server_order_id: String,
    /// `ClientOrderID` (as the earlier process or person sent it).
    pub client_order_id: String,
    /// `OrderStatusEnum` (open, pending child, partially filled…).
    pub status: i32,
}

/// What the server holds in the traded symbol before MIA trades.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DtcStartupState {
    /// Net position (signed contracts).
    pub position: i64,
    /// Average price of the position in index points (0 when flat).
    pub avg_price: f64,
    /// The open orders in the symbol, by server order id.
    pub open_orders: Vec<DtcOpenOrder>,
}

impl DtcStartupState {
    /// True when the server holds nothing in the symbol.
    pub fn is_clean(&self) -> bool {
        self.position == 0 && self.open_orders.is_empty()
    }
}

fn final_status(s: i32) -> bool {
    matches!(s, values::STATUS_FILLED | values::STATUS_CANCELED | values::STATUS_REJECTED)
}

impl DtcEdge {
    /// Sends the client order ids of this edge from the durable high-water mark
    /// `dir/dtc-client-order-ids` (created on the first order) instead of the intents' ids.
    ///
    /// # Errors
    /// The file exists but cannot be read or parsed (a corrupt mark is never guessed over).
    pub fn use_id_state(&mut self, dir: &Path) -> Result<(), DtcError> {
        let path = dir.join(ID_FILE);
        let ids = OrderIds::open_file(Some(path), 1)
            .map_err(|e| DtcError::IdState(format!("client order ids: {e}")))?;
        self.ids = Some(ids);
        Ok(())
    }

    /// The client order id the next new order gets on the wire (with an id state).
    pub fn next_client_order_id(&self) -> Option<u64> {
        self.ids.as_ref().and_then(|i| u64::try_from(i.peek()).ok())
    }

    fn symbol_matches(&self, symbol: &str) -> bool {
        symbol.is_empty() || symbol == self.symbol
    }

    /// Runs `f` with the socket blocking (read timeouts), then makes it non-blocking again.
    fn blocking<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T, DtcError>) -> Result<T, DtcError> {
        let io = |peer: &str, e: std::io::Error| DtcError::Io {
            peer: peer.to_string(),
            what: "set blocking".into(),
            err: e.to_string(),
        };
        self.conn.stream.set_nonblocking(false).map_err(|e| io(&self.conn.peer, e))?;
        let r = f(self);
        self.conn.stream.set_nonblocking(true).map_err(|e| io(&self.conn.peer, e))?;
        r
    }

    fn timeout(&self) -> Duration {
        Duration::from_millis(self.cfg.connect_timeout_ms)
    }

    fn open_orders(&mut self, request_id: i32) -> Result<Vec<DtcOpenOrder>, DtcError> {
        let account = self.creds.account();
        self.conn.send(
            &OpenOrdersRequest {
                request_id,
                request_all_orders: 1,
                trade_account: account,
                ..Default::default()
            }
            .into(),
        )?;
        let deadline = Instant::now() + self.timeout();
        let mut open = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let u = self.conn.wait_for("the open-orders answer", left, |m| match m {
                Message::OrderUpdate(u) if u.request_id == request_id => Some(u),
                Message::OpenOrdersReject(r) => {
                    Some(OrderUpdate { request_id: -1, info_text: r.reject_text, ..Default::default() })
                }
                _ => None,
            })?;
            if u.request_id == -1 {
                return Err(DtcError::Io {
                    peer: self.conn.peer.clone(),
                    what: "open orders request".into(),
                    err: format!("rejected: {}", u.info_text),
                });
            }
            if u.no_orders == 0 && !final_status(u.order_status) && self.symbol_matches(&u.symbol) {
                open.push(DtcOpenOrder {
                    server_order_id: u.server_order_id.clone(),
                    client_order_id: u.client_order_id.clone(),
                    status: u.order_status,
                });
            }
            if u.no_orders != 0 || u.message_number >= u.total_num_messages {
                break;
            }
        }
        open.sort_by(|a, b| a.server_order_id.cmp(&b.server_order_id));
        open.dedup_by(|a, b| a.server_order_id == b.server_order_id);
        Ok(open)
    }

    fn position(&mut self, request_id: i32) -> Result<(i64, f64), DtcError> {
        let account = self.creds.account();
        self.conn.send(&CurrentPositionsRequest { request_id, trade_account: account }.into())?;
        let deadline = Instant::now() + self.timeout();
        let (mut qty, mut cost) = (0.0f64, 0.0f64);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let p = self.conn.wait_for("the positions answer", left, |m| match m {
                Message::PositionUpdate(p) if p.request_id == request_id => Some(Some(p)),
                Message::CurrentPositionsReject(r) if r.request_id == request_id => Some(None),
                _ => None,
            })?;
            let Some(p) = p else {
                return Err(DtcError::Io {
                    peer: self.conn.peer.clone(),
                    what: "positions request".into(),
                    err: "rejected".into(),
                });
            };
            if p.no_positions == 0
                && self.symbol_matches(&p.symbol)
                && p.quantity.is_finite()
                && p.average_price.is_finite()
            {
                qty += p.quantity;
                cost += p.quantity * p.average_price;
            }
            if p.no_positions != 0 || p.message_number >= p.total_number_messages {
                break;
            }
        }
        let position = qty.round() as i64;
        let avg = if position != 0 { cost / qty } else { 0.0 };
        Ok((position, avg))
    }

    /// Asks the server for the open orders and the position in the symbol. With an id state,
    /// the allocator moves above every numeric client order id listed.
    ///
    /// # Errors
    /// A request failed, was rejected or not answered within `connect_timeout_ms`.
    pub fn startup_state(&mut self) -> Result<DtcStartupState, DtcError> {
        let s = self.blocking(|e| {
            let open = e.open_orders(FIRST_REQUEST + 1)?;
            let (position, avg_price) = e.position(FIRST_REQUEST + 2)?;
            Ok(DtcStartupState { position, avg_price, open_orders: open })
        })?;
        if let Some(ids) = self.ids.as_mut() {
            let above = s
                .open_orders
                .iter()
                .filter_map(|o| o.client_order_id.trim().parse::<i32>().ok())
                .max()
                .map_or(1, |m| m.saturating_add(1));
            ids.reseed(above);
        }
        tracing::info!(orders = s.open_orders.len(), position = s.position, "DTC start-up state read");
        Ok(s)
    }

    /// Cancels `orders` (found by [`startup_state`](Self::startup_state)) and waits until the
    /// server lists none of them as open.
    ///
    /// # Errors
    /// A cancel could not be sent, or an order is still listed `connect_timeout_ms` later.
    pub fn cancel_startup_orders(&mut self, orders: &[DtcOpenOrder]) -> Result<(), DtcError> {
        let timeout = self.timeout();
        self.blocking(|e| {
            let account = e.creds.account();
            for o in orders {
                e.conn.send(
                    &CancelOrder {
                        server_order_id: o.server_order_id.clone(),
                        client_order_id: o.client_order_id.clone(),
                        trade_account: account.clone(),
                    }
                    .into(),
                )?;
            }
            let deadline = Instant::now() + timeout;
            let mut request = FIRST_REQUEST + 10;
            loop {
                request += 1;
                let mut still = e.open_orders(request)?;
                still.retain(|s| orders.iter().any(|o| o.server_order_id == s.server_order_id));
                if still.is_empty() {
                    return Ok(());
                }
                if Instant::now() >= deadline {
                    let ids: Vec<&str> = still.iter().map(|s| s.server_order_id.as_str()).collect();
                    return Err(DtcError::Timeout {
                        peer: e.conn.peer.clone(),
                        what: format!("the cancel of orders {ids:?} ({} ms)", timeout.as_millis()),
                    });
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    }
}
