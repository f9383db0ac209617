//! Reconciliation after every (re)connect (ibapi's transport reconnect `-8`, or TWS's 1101 /
//! 1102): the edge asks IB for this client's open orders, the completed orders, the day's
//! executions (with commissions) and the positions, and compares them with its own table.
//!
//! - Executions go through the normal execution path, which dedupes by `exec_id`: a fill that
//!   happened while the socket was down is reported exactly once, one that was already reported
//!   is counted and dropped.
//! - An order the edge considers working that IB lists as open stays; one IB lists as completed
//!   (cancelled / inactive) is reported `Cancelled` / `Rejected`; one IB knows neither way is
//!   reported `Rejected` with [`reason::UNKNOWN_AT_BROKER`]. Nothing is ever re-sent: IB keeps
//!   orders across an API disconnect, and a re-send would duplicate them.
//! - `NextValidId` is asked again and the id allocator only moves up.
//! - The positions are published ([`BrokerPosition`], `IbkrEdge::broker_positions`) for the
//!   caller to compare with MIA's; the account id is not kept.
//!
//! **Start-up** ([`startup_state`], `IbkrEdge::startup_state`) is different: the edge's table
//! is empty, so every open order of this client id and any position in the traded contract
//! belong to an earlier process (one that crashed or was killed) or to a person. The session
//! refuses to start, or cancels those orders and hands the position to the exec stage as an
//! `ExecKind::Adopted` report, which flattens it through risk (`[live] on_restart`,
//! docs/live.md). Either way nothing of the earlier process is re-sent.

use super::errors::reason;
use super::orders::OrderEdge;
use ibapi::accounts::PositionUpdate;
use ibapi::client::blocking::Client;
use ibapi::orders::{ExecutionFilter, Executions, OrderStatusKind, Orders};
use ibapi::subscriptions::SubscriptionItem;
use mia_model::msg::ExecKind;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

/// A broker position (no account id).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokerPosition {
    /// IB contract id.
    pub con_id: i32,
    /// Local symbol.
    pub local_symbol: String,
    /// Signed quantity (contracts).
    pub qty: i64,
}

/// Reads a subscription to its end (or the deadline), calling `$on` for each data item until
/// it returns false. (A macro: ibapi's decoder trait bound is private.)
macro_rules! drain {
    ($sub:expr, $timeout:expr, $what:expr, $on:expr) => {{
        let timeout: Duration = $timeout;
        let deadline = Instant::now() + timeout;
        let mut on = $on;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break Err(format!("{}: no end of the answer within {} ms", $what, timeout.as_millis()));
            }
            match $sub.next_timeout(left) {
                None if Instant::now() >= deadline => {
                    break Err(format!("{}: no end of the answer within {} ms", $what, timeout.as_millis()))
                }
                None => break Ok(()),
                Some(Ok(SubscriptionItem::Data(d))) => {
                    if !on(d) {
                        break Ok(());
                    }
                }
                Some(Ok(SubscriptionItem::Notice(n))) => {
                    tracing::info!(code = n.code, "ibkr reconcile {}: {}", $what, n.message)
                }
                Some(Err(e)) => break Err(format!("{}: {e}", $what)),
            }
        }
    }};
}

/// What the broker holds for this client before MIA trades.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StartupState {
    /// Net position in the traded contract (signed contracts).
    pub position: i64,
    /// Average price of that position in index points (IB's average cost ÷ multiplier; 0 when
    /// flat or unknown).
    pub avg_price: f64,
    /// Ids of this client's open orders (placed by an earlier process or by hand with this
    /// client id).
    pub open_orders: Vec<i32>,
}

impl StartupState {
    /// True when the broker holds nothing of this client: no position, no open order.
    pub fn is_clean(&self) -> bool {
        self.position == 0 && self.open_orders.is_empty()
    }
}

/// The ids of this client's open orders at IB (sorted, each once).
///
/// # Errors
/// The request failed or its answer did not end within `timeout`.
fn open_order_ids(client: &Client, timeout: Duration) -> Result<Vec<i32>, String> {
    let mut ids: Vec<i32> = Vec::new();
    let sub = client.open_orders().map_err(|e| format!("open orders: {e}"))?;
    drain!(sub, timeout, "open orders", |o| {
        ids.push(match o {
            Orders::OrderData(d) => d.order_id,
            Orders::OrderStatus(s) => s.order_id,
        });
        true
    })?;
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

/// Asks IB for this client's open orders and the positions, and keeps what concerns the
/// contract `con_id` (`multiplier` = its point value).
///
/// # Errors
/// A request failed or timed out.
pub(crate) fn startup_state(
    client: &Client,
    timeout: Duration,
    con_id: i32,
    multiplier: f64,
) -> Result<StartupState, String> {
    let open = open_order_ids(client, timeout)?;
    let (mut qty, mut cost) = (0.0f64, 0.0f64);
    let sub = client.positions().map_err(|e| format!("positions: {e}"))?;
    drain!(sub, timeout, "positions", |p| match p {
        PositionUpdate::Position(p) => {
            if p.contract.contract_id == con_id && p.position.is_finite() && p.average_cost.is_finite() {
                qty += p.position;
                cost += p.position * p.average_cost;
            }
            true
        }
        PositionUpdate::PositionEnd => false,
    })?;
    let position = qty.round() as i64;
    let avg_price = if position != 0 && multiplier > 0.0 { (cost / qty) / multiplier } else { 0.0 };
    Ok(StartupState { position, avg_price, open_orders: open })
}

/// Cancels `ids` and waits until IB lists none of them as open (or `timeout` passes).
///
/// # Errors
/// A cancel could not be sent, or an order is still open at the deadline.
pub(crate) fn cancel_and_wait(client: &Client, ids: &[i32], timeout: Duration) -> Result<(), String> {
    for &id in ids {
        // The answer (order status Cancelled) is checked below through the open-orders list.
        let _answer = client.cancel_order(id, "").map_err(|e| format!("cancel order {id}: {e}"))?;
    }
    let deadline = Instant::now() + timeout;
    loop {
        let mut still = open_order_ids(client, timeout)?;
        still.retain(|id| ids.contains(id));
        if still.is_empty() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "orders {still:?} are still open {} ms after their cancel",
                timeout.as_millis()
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Re-reads the positions into the shared table.
pub(crate) fn refresh_positions(edge: &mut OrderEdge) -> Result<(), String> {
    let sub = edge.client.positions().map_err(|e| format!("positions: {e}"))?;
    let mut v = Vec::new();
    drain!(sub, edge.cfg.request_timeout(), "positions", |p| match p {
        PositionUpdate::Position(p) => {
            if p.position.is_finite() {
                v.push(BrokerPosition {
                    con_id: p.contract.contract_id,
                    local_symbol: p.contract.local_symbol.clone(),
                    qty: p.position.round() as i64,
                });
            }
            true
        }
        PositionUpdate::PositionEnd => false,
    })?;
    if let Ok(mut shared) = edge.positions.lock() {
        *shared = v;
    }
    Ok(())
}

/// One reconciliation pass.
///
/// # Errors
/// A request failed or timed out (the caller retries with back-off).
pub(crate) fn reconcile(edge: &mut OrderEdge) -> Result<(), String> {
    edge.summary.reconciliations += 1;
    let timeout = edge.cfg.request_timeout();
    match edge.client.next_valid_order_id() {
        Ok(id) => edge.ids.reseed(id),
        Err(e) => return Err(format!("next valid id: {e}")),
    }
    // Open orders of this client.
    let open: HashSet<i32> = open_order_ids(&edge.client, timeout)?.into_iter().collect();
    // Completed orders (by perm id: completed orders carry no API order id).
    let mut completed: HashMap<i64, OrderStatusKind> = HashMap::new();
    let sub = edge.client.completed_orders(false).map_err(|e| format!("completed orders: {e}"))?;
    drain!(sub, timeout, "completed orders", |o| {
        if let Orders::OrderData(d) = o {
            completed.insert(d.order.perm_id, d.order_state.status.clone());
        }
        true
    })?;
    // Executions and their commissions.
    let mut execs = Vec::new();
    let mut fees = Vec::new();
    let sub = edge.client.executions(ExecutionFilter::default()).map_err(|e| format!("executions: {e}"))?;
    drain!(sub, timeout, "executions", |x| {
        match x {
            Executions::ExecutionData(e) => execs.push(e.execution),
            Executions::CommissionReport(c) => fees.push(c),
        }
        true
    })?;
    drop(sub);
    for e in &execs {
        if edge.orders.contains_key(&e.order_id) {
            edge.on_execution(e);
        }
    }
    for c in &fees {
        edge.on_commission(c);
    }
    // Fills whose commission did not come with the answer are reported now.
    edge.expire_pending(true);
    for ib in edge.working() {
        if open.contains(&ib) {
            continue;
        }
        let Some(o) = edge.orders.get(&ib) else { continue };
        let (perm, done) = (o.perm_id, o.done);
        if done {
            continue;
        }
        match completed.get(&perm).filter(|_| perm != 0) {
            Some(OrderStatusKind::Cancelled | OrderStatusKind::ApiCancelled) => {
                edge.finish(ib, ExecKind::Cancelled, super::errors::reason_of(ibapi::ORDER_CANCELLED_CODE));
            }
            Some(OrderStatusKind::Inactive) => edge.finish(ib, ExecKind::Rejected, reason::UNKNOWN_AT_BROKER),
            Some(OrderStatusKind::Filled) => {
                tracing::warn!(ib, "ibkr reconcile: IB says filled but not every execution was seen");
            }
            Some(other) => {
                tracing::info!(ib, status = ?other, "ibkr reconcile: completed order in a non-final state")
            }
            None => {
                tracing::warn!(
                    ib,
                    "ibkr reconcile: IB knows neither an open nor a completed order; reported rejected"
                );
                edge.finish(ib, ExecKind::Rejected, reason::UNKNOWN_AT_BROKER);
            }
        }
    }
    refresh_positions(edge)?;
    tracing::info!(
        open = open.len(),
        completed = completed.len(),
        executions = execs.len(),
        "ibkr: reconciliation done"
    );
    Ok(())
}
