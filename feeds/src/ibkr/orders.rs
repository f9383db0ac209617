//! The order edge: pops approved [`OrderIntent`]s from the venue's ring, sends IB orders, and
//! pushes `Msg::Exec(ExecReport)`s back for the sequencer.
//!
//! - `New` with `link = 0, children = 0`: one order, `transmit = true`.
//! - `New` with `children = N` (a native bracket entry): sent as an IB parent with
//!   `transmit = false`; the next N intents must be its children (`link = child − entry`). Each
//!   child gets `parent_id` = the parent's IB id and the OCA group `mia-<entry id>`;
//!   `transmit = false` on all but the last child, whose `transmit = true` releases the set.
//!   If anything else arrives first, or the ring closes, the held parent (and the children
//!   sent so far) are cancelled before they were ever transmitted and reported `Rejected`
//!   with reason [`reason::BRACKET_INCOMPLETE`].
//! - `New` with `link ≠ 0` outside a held bracket (children sent after their entry filled):
//!   an OCA pair, group `mia-<entry id>`, OCA type 1 (cancel with block), each transmitted.
//! - `Modify`: the same IB id placed again with the new price, trigger and total quantity
//!   (parent and OCA group kept). `Cancel`: `cancelOrder`.
//!
//! Reports: `Accepted` once, on the first `Submitted`/`PreSubmitted` (status or open order);
//! `Filled` once per execution id, with the fee of its commission report. **Join rule:** an
//! execution waits for its `CommissionAndFeesReport` (same `exec_id`) up to
//! `commission_wait_ms`; it is then reported with fee 0 and counted in
//! [`FeedStatus::fills_without_fee`] (a later commission for it is logged and dropped). A
//! commission that arrives first is kept until its execution comes. Terminal statuses and
//! rejects first flush the order's waiting fills, so `leaves` always decreases in report
//! order. `Rejected`/`Cancelled` carry the IB code as `reason` (see the `errors` module).
//!
//! **Send path.** The edge keeps one `ibapi::orders::Order` ([`OrderSlot`]) whose constant
//! fields (the account, every field MIA leaves at its default) are set once; each order
//! overwrites only the fields an intent decides, in place (the strings keep their capacity),
//! so building an order allocates nothing. The contract is built once at start, the order
//! maps are pre-sized, and the OCA group is kept as the entry's client order id (the group
//! string is written when an order is built). What `submit_order` itself costs (ibapi's
//! encoder, one `write`) is measured by `feeds/examples/submit_cost.rs`
//! (`docs/performance.md`, "Wire-to-order on loopback").

use super::errors::{self, classify, reason, rejects_order, ErrorClass};
use super::ids::OrderIds;
use super::md::{price_of, size_of};
use super::reconcile::BrokerPosition;
use super::status::FeedStatus;
use super::{contract::ResolvedContract, IbkrConfig, Secret};
use crate::backoff::Backoff;
use ibapi::client::blocking::Client;
use ibapi::orders::{
    Action, CommissionReport, Execution, OcaType, Order as IbOrder, OrderStatusKind, OrderUpdate,
};
use ibapi::subscriptions::SubscriptionItem;
use mia_model::msg::{
    ExecKind, ExecReport, Msg, OrderAction, OrderIntent, OrderSide, OrderType, TimeInForce,
};
use mia_model::price::{to_f64, Px, UNDEF_PX};
use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt::Write as _;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the order thread did, returned when it ends.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OrderEdgeSummary {
    /// `PlaceOrder` messages sent (modifies included).
    pub placed: u64,
    /// `CancelOrder` messages sent.
    pub cancels: u64,
    /// Reports pushed.
    pub reports: u64,
    /// Unknown or duplicate execution reports dropped.
    pub dropped_reports: u64,
    /// Reconciliations run.
    pub reconciliations: u64,
}

/// Orders the edge's maps hold without growing (growth rehashes on the send path).
const ORDERS_PRESIZE: usize = 4_096;

/// One order the edge sent.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Sent {
    pub(crate) intent: OrderIntent,
    pub(crate) ib_id: i32,
    pub(crate) parent_ib: i32,
    /// The entry whose OCA group (`mia-<entry>`) the order is in, if any.
    pub(crate) oca_entry: Option<u64>,
    pub(crate) transmitted: bool,
    pub(crate) filled: u32,
    pub(crate) accepted: bool,
    pub(crate) done: bool,
    pub(crate) last_code: i32,
    pub(crate) perm_id: i64,
}

struct PendingFill {
    ib_id: i32,
    qty: u32,
    price: Px,
    at: Instant,
}

struct Held {
    entry_coid: u64,
    entry_ib: i32,
    expected: u8,
    children: Vec<i32>,
}

/// The IB order the edge sends, kept between orders: the constant fields (the account, the
/// fields MIA leaves at their defaults) are set once, and [`OrderSlot::fill`] overwrites the
/// fields an intent decides, in place. Once the strings have their capacity (reserved at
/// start), building an order allocates nothing.
pub(crate) struct OrderSlot {
    order: IbOrder,
}

/// Capacity reserved for the order type and OCA group strings (`"STP LMT"`, `mia-<u64>`).
const SLOT_STR: usize = 32;

impl OrderSlot {
    /// A slot for orders of `account`.
    pub(crate) fn new(account: &str) -> Self {
        let mut order = IbOrder { account: account.to_string(), ..IbOrder::default() };
        order.order_type.reserve(SLOT_STR);
        order.oca_group.reserve(SLOT_STR);
        Self { order }
    }

    /// Writes the order for intent `i` (IB id `ib`, parent `parent` or 0, OCA group of entry
    /// `oca_entry` with `oca_type`, `transmit`); `None`, the slot untouched, when a price or
    /// trigger its type needs is undefined. The slot has no `Debug`: it holds the account.
    pub(crate) fn fill(
        &mut self,
        i: &OrderIntent,
        ib: i32,
        parent: i32,
        oca_entry: Option<u64>,
        oca_type: OcaType,
        transmit: bool,
    ) -> Option<&IbOrder> {
        let limit = if i.order_type.has_limit() { Some(good_px(i.price)?) } else { None };
        let aux = if i.order_type.has_trigger() { Some(good_px(i.trigger)?) } else { None };
        let o = &mut self.order;
        o.order_id = ib;
        o.action = match i.side {
            OrderSide::Buy => Action::Buy,
            OrderSide::Sell => Action::Sell,
        };
        o.total_quantity = f64::from(i.qty);
        o.order_type.clear();
        o.order_type.push_str(ib_type(i.order_type));
        o.limit_price = limit;
        o.aux_price = aux;
        o.tif = ib_tif(i.tif);
        o.transmit = transmit;
        o.parent_id = parent;
        o.oca_group.clear();
        match oca_entry {
            Some(entry) => {
                // Writing to a String cannot fail.
                let _ = write!(o.oca_group, "mia-{entry}");
                o.oca_type = oca_type;
            }
            None => o.oca_type = OcaType::None,
        }
        Some(&self.order)
    }
}

/// The order edge's state (owned by its thread).
pub(crate) struct OrderEdge {
    pub(crate) client: Arc<Client>,
    pub(crate) cfg: IbkrConfig,
    contract: ibapi::contracts::Contract,
    slot: OrderSlot,
    pub(crate) ids: OrderIds,
    pub(crate) status: Arc<FeedStatus>,
    pub(crate) positions: Arc<Mutex<Vec<BrokerPosition>>>,
    pub(crate) orders: HashMap<i32, Sent>,
    by_coid: HashMap<u64, i32>,
    seen_execs: HashSet<String>,
    pending: HashMap<String, PendingFill>,
    early_fees: HashMap<String, i64>,
    held: Option<Held>,
    /// Bracket entries whose set was broken: their late children are refused, not sent.
    broken_entries: HashSet<u64>,
    out: VecDeque<ExecReport>,
    pub(crate) summary: OrderEdgeSummary,
}

fn ib_type(t: OrderType) -> &'static str {
    match t {
        OrderType::Market => "MKT",
        OrderType::Limit => "LMT",
        OrderType::Stop => "STP",
        OrderType::StopLimit => "STP LMT",
    }
}

fn ib_tif(t: TimeInForce) -> ibapi::orders::TimeInForce {
    match t {
        TimeInForce::Day => ibapi::orders::TimeInForce::Day,
        TimeInForce::Gtc => ibapi::orders::TimeInForce::GoodTillCanceled,
        TimeInForce::Ioc => ibapi::orders::TimeInForce::ImmediateOrCancel,
    }
}

fn good_px(p: Px) -> Option<f64> {
    (p != UNDEF_PX && p > 0).then(|| to_f64(p))
}

/// Fills a pre-sized map to its capacity once and clears it (the capacity stays), so its
/// memory is touched at start and the session's first orders take no page fault in it.
fn prefault<K: std::hash::Hash + Eq, V: Copy>(m: &mut HashMap<K, V>, key: impl Fn(usize) -> K, v: V) {
    for k in 0..m.capacity() {
        m.insert(key(k), v);
    }
    m.clear();
}

/// The OCA group of the children of entry `coid`.
pub fn oca_group(entry_coid: u64) -> String {
    format!("mia-{entry_coid}")
}

impl OrderEdge {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        client: Arc<Client>,
        cfg: IbkrConfig,
        contract: ResolvedContract,
        account: Secret,
        state_dir: &Path,
        next_valid_id: i32,
        status: Arc<FeedStatus>,
        positions: Arc<Mutex<Vec<BrokerPosition>>>,
    ) -> std::io::Result<Self> {
        let ids = OrderIds::open(Some(state_dir), cfg.client_id, next_valid_id)?;
        let mut orders = HashMap::with_capacity(ORDERS_PRESIZE);
        let mut by_coid = HashMap::with_capacity(ORDERS_PRESIZE);
        let blank = Sent {
            intent: OrderIntent::default(),
            ib_id: 0,
            parent_ib: 0,
            oca_entry: None,
            transmitted: false,
            filled: 0,
            accepted: false,
            done: false,
            last_code: 0,
            perm_id: 0,
        };
        prefault(&mut orders, |k| -(k as i32) - 1, blank);
        prefault(&mut by_coid, |k| k as u64, 0);
        Ok(Self {
            client,
            contract: super::contract::ib_contract(&contract),
            slot: OrderSlot::new(account.expose()),
            cfg,
            ids,
            status,
            positions,
            orders,
            by_coid,
            seen_execs: HashSet::new(),
            pending: HashMap::new(),
            early_fees: HashMap::new(),
            held: None,
            broken_entries: HashSet::new(),
            out: VecDeque::new(),
            summary: OrderEdgeSummary::default(),
        })
    }

    /// The order thread's body: [`OrderLoop::step`] until it ends, waiting between empty
    /// rounds as `[ibkr] idle` says.
    pub(crate) fn run(
        self,
        orders: rtrb::Consumer<OrderIntent>,
        reports: rtrb::Producer<Msg>,
        stop: Arc<AtomicBool>,
    ) -> Result<OrderEdgeSummary, String> {
        let mut idle = self.cfg.idle_wait();
        let mut l = OrderLoop::new(self, orders, reports, stop)?;
        loop {
            match l.step() {
                OrderStep::Busy => idle.busy(),
                OrderStep::Idle => idle.wait(),
                OrderStep::Done => return Ok(l.finish()),
            }
        }
    }

    /// Extends the persisted id reservation when it runs low ([`OrderIds::top_up`]); a
    /// failure is logged and left to `allocate`, which then refuses the order it cannot cover.
    fn top_up_ids(&mut self) {
        if let Err(e) = self.ids.top_up() {
            tracing::warn!(error = %e, "ibkr orders: cannot extend the order-id reservation");
        }
    }

    fn flush_out(&mut self, reports: &mut rtrb::Producer<Msg>) -> bool {
        let mut any = false;
        while let Some(r) = self.out.front().copied() {
            if reports.push(Msg::Exec(r)).is_err() {
                if reports.is_abandoned() {
                    tracing::warn!(
                        left = self.out.len(),
                        "ibkr orders: report ring abandoned; reports dropped"
                    );
                    self.out.clear();
                }
                break;
            }
            self.out.pop_front();
            self.summary.reports += 1;
            any = true;
        }
        any
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn report(
        &mut self,
        ib: i32,
        kind: ExecKind,
        qty: u32,
        leaves: u32,
        price: Px,
        fee: i64,
        reason: u16,
    ) {
        let Some(o) = self.orders.get(&ib) else { return };
        let r = ExecReport {
            client_order_id: o.intent.client_order_id,
            price,
            fee: mia_model::money::NanoUsd::from_nano(fee),
            qty,
            leaves,
            side: o.intent.side,
            kind,
            reason,
            ..ExecReport::default()
        };
        tracing::debug!(coid = r.client_order_id, ib, kind = ?kind, qty, leaves, reason, "ibkr report");
        self.out.push_back(r);
    }

    /// Reports an intent the edge refuses before it reaches IB.
    fn refuse(&mut self, i: &OrderIntent, why: u16, what: &str) {
        tracing::warn!(coid = i.client_order_id, reason = why, "ibkr orders: intent refused: {what}");
        self.out.push_back(ExecReport {
            client_order_id: i.client_order_id,
            qty: i.qty,
            leaves: i.qty,
            side: i.side,
            kind: ExecKind::Rejected,
            reason: why,
            ..ExecReport::default()
        });
    }

    fn on_intent(&mut self, i: OrderIntent) {
        match i.action {
            OrderAction::New => {
                if let Some(h) = self.held.as_ref() {
                    let is_child =
                        i.link != 0 && i.client_order_id.wrapping_sub(u64::from(i.link)) == h.entry_coid;
                    if !is_child {
                        self.break_held("another intent arrived before all of the bracket's children");
                    }
                }
                if let Some(h) = self.held.as_ref() {
                    let (entry_ib, entry_coid) = (h.entry_ib, h.entry_coid);
                    let last = h.children.len() + 1 == usize::from(h.expected);
                    if let Some(ib) =
                        self.send_new(&i, entry_ib, Some(entry_coid), OcaType::CancelWithBlock, last)
                    {
                        if let Some(h) = self.held.as_mut() {
                            h.children.push(ib);
                        }
                        if last {
                            // The last child transmitted the whole set.
                            let h = self.held.take();
                            if let Some(h) = h {
                                for id in std::iter::once(h.entry_ib).chain(h.children) {
                                    if let Some(o) = self.orders.get_mut(&id) {
                                        o.transmitted = true;
                                    }
                                }
                            }
                        }
                    } else {
                        self.break_held("a bracket child could not be sent");
                    }
                } else if i.children > 0 {
                    if let Some(ib) = self.send_new(&i, 0, None, OcaType::None, false) {
                        self.held = Some(Held {
                            entry_coid: i.client_order_id,
                            entry_ib: ib,
                            expected: i.children,
                            children: Vec::new(),
                        });
                    }
                } else if i.link != 0
                    && self.broken_entries.contains(&i.client_order_id.wrapping_sub(u64::from(i.link)))
                {
                    self.refuse(&i, reason::BRACKET_INCOMPLETE, "child of a bracket whose set was cancelled");
                } else if i.link != 0 {
                    let entry = i.client_order_id.wrapping_sub(u64::from(i.link));
                    if !self.by_coid.contains_key(&entry) {
                        tracing::warn!(
                            coid = i.client_order_id,
                            entry,
                            "ibkr orders: OCA child of an entry this edge never sent"
                        );
                    }
                    self.send_new(&i, 0, Some(entry), OcaType::CancelWithBlock, true);
                } else {
                    self.send_new(&i, 0, None, OcaType::None, true);
                }
            }
            OrderAction::Modify => self.modify(i),
            OrderAction::Cancel => self.cancel(i.client_order_id),
        }
    }

    /// Sends a new order; returns its IB id, or reports a reject and returns `None`.
    fn send_new(
        &mut self,
        i: &OrderIntent,
        parent: i32,
        oca_entry: Option<u64>,
        oca_type: OcaType,
        transmit: bool,
    ) -> Option<i32> {
        if i.qty == 0 {
            self.refuse(i, reason::BAD_INTENT, "zero quantity");
            return None;
        }
        if self.by_coid.contains_key(&i.client_order_id) {
            self.refuse(i, reason::BAD_INTENT, "client order id already used");
            return None;
        }
        let ib = match self.ids.allocate() {
            Ok(id) => id,
            Err(e) => {
                tracing::error!(error = %e, "ibkr orders: no order id");
                self.refuse(i, reason::NO_ORDER_ID, "no IB order id");
                return None;
            }
        };
        if self.slot.fill(i, ib, parent, oca_entry, oca_type, transmit).is_none() {
            self.refuse(i, reason::BAD_INTENT, "price or trigger undefined for the order type");
            return None;
        }
        self.orders.insert(
            ib,
            Sent {
                intent: *i,
                ib_id: ib,
                parent_ib: parent,
                oca_entry,
                transmitted: transmit,
                filled: 0,
                accepted: false,
                done: false,
                last_code: 0,
                perm_id: 0,
            },
        );
        self.by_coid.insert(i.client_order_id, ib);
        #[cfg(feature = "latency-probe")]
        super::probe::order_submitting();
        match self.client.submit_order(ib, &self.contract, &self.slot.order) {
            Ok(()) => {
                #[cfg(feature = "latency-probe")]
                super::probe::order_sent(ib);
                self.summary.placed += 1;
                tracing::debug!(
                    coid = i.client_order_id,
                    ib,
                    parent,
                    oca_entry,
                    transmit,
                    "ibkr: order placed"
                );
                Some(ib)
            }
            Err(e) => {
                tracing::warn!(coid = i.client_order_id, ib, error = %e, "ibkr orders: place failed");
                self.report(ib, ExecKind::Rejected, i.qty, i.qty, 0, 0, reason::SEND_FAILED);
                if let Some(o) = self.orders.get_mut(&ib) {
                    o.done = true;
                }
                None
            }
        }
    }

    fn modify(&mut self, i: OrderIntent) {
        let Some(&ib) = self.by_coid.get(&i.client_order_id) else {
            tracing::warn!(
                coid = i.client_order_id,
                "ibkr orders: modify of an order this edge never sent; ignored"
            );
            return;
        };
        let Some(&o) = self.orders.get(&ib) else { return };
        if o.done {
            tracing::info!(coid = i.client_order_id, "ibkr orders: modify of a finished order; ignored");
            return;
        }
        let mut next = o.intent;
        next.price = i.price;
        next.trigger = i.trigger;
        next.qty = i.qty;
        if next.qty < o.filled || next.qty == 0 {
            tracing::warn!(
                coid = i.client_order_id,
                qty = next.qty,
                filled = o.filled,
                "ibkr orders: modify below the filled quantity; ignored"
            );
            return;
        }
        if self.slot.fill(&next, ib, o.parent_ib, o.oca_entry, OcaType::CancelWithBlock, true).is_none() {
            tracing::warn!(coid = i.client_order_id, "ibkr orders: modify with an undefined price; ignored");
            return;
        }
        #[cfg(feature = "latency-probe")]
        super::probe::order_submitting();
        match self.client.submit_order(ib, &self.contract, &self.slot.order) {
            Ok(()) => {
                #[cfg(feature = "latency-probe")]
                super::probe::order_sent(ib);
                self.summary.placed += 1;
                if let Some(s) = self.orders.get_mut(&ib) {
                    s.intent = next;
                    s.transmitted = true;
                }
            }
            Err(e) => {
                tracing::warn!(coid = i.client_order_id, error = %e, "ibkr orders: modify failed to send")
            }
        }
    }

    fn cancel(&mut self, coid: u64) {
        let Some(&ib) = self.by_coid.get(&coid) else {
            tracing::warn!(coid, "ibkr orders: cancel of an order this edge never sent; ignored");
            return;
        };
        if self.orders.get(&ib).is_none_or(|o| o.done) {
            return;
        }
        self.send_cancel(ib);
    }

    fn send_cancel(&mut self, ib: i32) {
        match self.client.cancel_order(ib, "") {
            // The answer comes on the order update stream; the per-request stream is not read.
            Ok(_) => self.summary.cancels += 1,
            Err(e) => tracing::warn!(ib, error = %e, "ibkr orders: cancel failed to send"),
        }
    }

    /// Cancels a held (never transmitted) bracket and reports its orders rejected.
    fn break_held(&mut self, why: &str) {
        let Some(h) = self.held.take() else { return };
        self.broken_entries.insert(h.entry_coid);
        tracing::warn!(
            entry = h.entry_coid,
            "ibkr orders: native bracket incomplete: {why}; parent cancelled"
        );
        for id in std::iter::once(h.entry_ib).chain(h.children) {
            let Some(o) = self.orders.get_mut(&id) else { continue };
            if o.done {
                continue;
            }
            o.done = true;
            let q = o.intent.qty;
            self.send_cancel(id);
            self.report(id, ExecKind::Rejected, q, q, 0, 0, reason::BRACKET_INCOMPLETE);
        }
    }

    fn on_update(&mut self, u: OrderUpdate) {
        match u {
            OrderUpdate::OrderStatus(s) => {
                if let Some(o) = self.orders.get_mut(&s.order_id) {
                    if s.perm_id != 0 {
                        o.perm_id = s.perm_id;
                    }
                }
                self.on_status(s.order_id, &s.status);
            }
            OrderUpdate::OpenOrder(d) => {
                if let Some(o) = self.orders.get_mut(&d.order_id) {
                    if d.order.perm_id != 0 {
                        o.perm_id = d.order.perm_id;
                    }
                }
                self.on_status(d.order_id, &d.order_state.status);
            }
            OrderUpdate::ExecutionData(e) => self.on_execution(&e.execution),
            OrderUpdate::CommissionReport(c) => self.on_commission(&c),
            OrderUpdate::OrderBound(_) => {}
        }
    }

    pub(crate) fn on_status(&mut self, ib: i32, st: &OrderStatusKind) {
        let Some(o) = self.orders.get(&ib) else {
            tracing::debug!(ib, status = ?st, "ibkr orders: status of an order this edge did not send");
            return;
        };
        if o.done {
            return;
        }
        let (qty, filled, code) = (o.intent.qty, o.filled, o.last_code);
        match st {
            OrderStatusKind::Submitted | OrderStatusKind::PreSubmitted if !o.accepted => {
                if let Some(o) = self.orders.get_mut(&ib) {
                    o.accepted = true;
                    o.transmitted = true;
                }
                self.report(ib, ExecKind::Accepted, qty, qty.saturating_sub(filled), 0, 0, 0);
            }
            OrderStatusKind::Cancelled | OrderStatusKind::ApiCancelled => {
                let reason = if code != 0 {
                    errors::reason_of(code)
                } else {
                    errors::reason_of(ibapi::ORDER_CANCELLED_CODE)
                };
                let kind = if rejects_order(code) { ExecKind::Rejected } else { ExecKind::Cancelled };
                self.finish(ib, kind, reason);
            }
            OrderStatusKind::Inactive => {
                let kind =
                    if code == 0 || rejects_order(code) { ExecKind::Rejected } else { ExecKind::Cancelled };
                self.finish(ib, kind, errors::reason_of(code));
            }
            _ => {}
        }
    }

    /// Ends an order with a terminal report (its waiting fills first).
    pub(crate) fn finish(&mut self, ib: i32, kind: ExecKind, reason: u16) {
        self.flush_pending_of(ib);
        let Some(o) = self.orders.get_mut(&ib) else { return };
        if o.done {
            return;
        }
        o.done = true;
        let left = o.intent.qty.saturating_sub(o.filled);
        self.report(ib, kind, left, left, 0, 0, reason);
        if self.held.as_ref().is_some_and(|h| h.entry_ib == ib || h.children.contains(&ib)) {
            // A held bracket member was refused: the rest of the set cannot go either.
            self.break_held("a member of the set was refused");
        }
    }

    fn on_order_notice(&mut self, ib: i32, code: i32, msg: &str) {
        let class = classify(code);
        if let Some(o) = self.orders.get_mut(&ib) {
            o.last_code = code;
        }
        match class {
            ErrorClass::DuplicateId => {
                tracing::error!(ib, code, "ibkr orders: duplicate order id; allocator moved past it");
                self.ids.skip_past(ib);
                self.finish(ib, ExecKind::Rejected, errors::reason_of(code));
            }
            ErrorClass::Cancelled => self.finish(ib, ExecKind::Cancelled, errors::reason_of(code)),
            ErrorClass::CancelUnknown => self.finish(ib, ExecKind::Cancelled, errors::reason_of(code)),
            ErrorClass::CancelRefused => tracing::info!(ib, code, "ibkr orders: cancel refused: {msg}"),
            ErrorClass::Pacing => {
                self.status.pacing.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(ib, code, "ibkr orders: pacing violation");
            }
            _ if rejects_order(code) => {
                tracing::warn!(ib, code, "ibkr orders: order rejected: {msg}");
                self.finish(ib, ExecKind::Rejected, errors::reason_of(code));
            }
            ErrorClass::Informational => tracing::debug!(ib, code, "ibkr: {msg}"),
            ErrorClass::Other if self.orders.get(&ib).is_some_and(|o| !o.accepted && !o.done) => {
                tracing::warn!(ib, code, "ibkr orders: order refused before acceptance: {msg}");
                self.finish(ib, ExecKind::Rejected, errors::reason_of(code));
            }
            _ => tracing::warn!(ib, code, "ibkr orders: notice: {msg}"),
        }
    }

    fn drop_report(&mut self, what: &str, exec_id: &str, ib: i32) {
        self.summary.dropped_reports += 1;
        self.status.dropped_reports.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(exec_id, ib, "ibkr orders: {what} execution report dropped");
    }

    pub(crate) fn on_execution(&mut self, e: &Execution) {
        if self.seen_execs.contains(&e.execution_id) {
            self.drop_report("duplicate", &e.execution_id, e.order_id);
            return;
        }
        if !self.orders.contains_key(&e.order_id) {
            self.drop_report("unknown", &e.execution_id, e.order_id);
            return;
        }
        let (Some(qty), Some(price)) = (size_of(e.shares), price_of(e.price)) else {
            self.drop_report("malformed (shares/price)", &e.execution_id, e.order_id);
            return;
        };
        self.seen_execs.insert(e.execution_id.clone());
        let f = PendingFill { ib_id: e.order_id, qty, price, at: Instant::now() };
        match self.early_fees.remove(&e.execution_id) {
            Some(fee) => self.emit_fill(&f, fee),
            None => {
                self.pending.insert(e.execution_id.clone(), f);
            }
        }
    }

    pub(crate) fn on_commission(&mut self, c: &CommissionReport) {
        let fee = mia_model::price::from_f64(c.commission).unwrap_or(0);
        if let Some(f) = self.pending.remove(&c.execution_id) {
            self.emit_fill(&f, fee);
        } else if self.seen_execs.contains(&c.execution_id) {
            tracing::info!(exec_id = %c.execution_id, "ibkr orders: commission after its fill was reported (or repeated); dropped");
        } else if self.early_fees.len() < 10_000 {
            self.early_fees.insert(c.execution_id.clone(), fee);
        }
    }

    fn emit_fill(&mut self, f: &PendingFill, fee: i64) {
        let Some(o) = self.orders.get_mut(&f.ib_id) else { return };
        o.filled = o.filled.saturating_add(f.qty);
        o.accepted = true;
        let leaves = o.intent.qty.saturating_sub(o.filled);
        if leaves == 0 {
            o.done = true;
        }
        self.report(f.ib_id, ExecKind::Filled, f.qty, leaves, f.price, fee, 0);
    }

    fn flush_pending_of(&mut self, ib: i32) {
        let ids: Vec<String> =
            self.pending.iter().filter(|(_, f)| f.ib_id == ib).map(|(k, _)| k.clone()).collect();
        for id in ids {
            if let Some(f) = self.pending.remove(&id) {
                self.status.fills_without_fee.fetch_add(1, Ordering::Relaxed);
                self.emit_fill(&f, 0);
            }
        }
    }

    /// Reports fills whose commission did not come within `commission_wait_ms` (all when
    /// `all`).
    pub(crate) fn expire_pending(&mut self, all: bool) {
        if self.pending.is_empty() {
            return;
        }
        let wait = Duration::from_millis(self.cfg.commission_wait_ms);
        let mut late: Vec<(Instant, String)> = self
            .pending
            .iter()
            .filter(|(_, f)| all || f.at.elapsed() >= wait)
            .map(|(k, f)| (f.at, k.clone()))
            .collect();
        late.sort();
        for (_, id) in late {
            if let Some(f) = self.pending.remove(&id) {
                tracing::warn!(exec_id = %id, "ibkr orders: no commission report in time; fill reported with fee 0");
                self.status.fills_without_fee.fetch_add(1, Ordering::Relaxed);
                self.emit_fill(&f, 0);
            }
        }
    }

    /// Orders that are not finished and were transmitted (reconciliation checks these).
    pub(crate) fn working(&self) -> Vec<i32> {
        let held: Vec<i32> = self
            .held
            .as_ref()
            .map(|h| std::iter::once(h.entry_ib).chain(h.children.iter().copied()).collect())
            .unwrap_or_default();
        let mut v: Vec<i32> = self
            .orders
            .values()
            .filter(|o| !o.done && o.transmitted && !held.contains(&o.ib_id))
            .map(|o| o.ib_id)
            .collect();
        v.sort_unstable();
        v
    }
}

/// What one round of the order loop did.
pub(crate) enum OrderStep {
    /// An intent was sent, a broker update handled or a report pushed.
    Busy,
    /// Nothing to do.
    Idle,
    /// Shutdown was requested, or the venue dropped its end of the order ring: call
    /// [`OrderLoop::finish`].
    Done,
}

/// The order edge with its streams and rings, stepped by its own thread ([`OrderEdge::run`])
/// or, fused into the pipeline thread, by the sequencer between inputs ([`super::OrdersPoll`]).
/// A round never blocks.
pub(crate) struct OrderLoop {
    edge: OrderEdge,
    orders: rtrb::Consumer<OrderIntent>,
    reports: rtrb::Producer<Msg>,
    stop: Arc<AtomicBool>,
    updates: Option<ibapi::subscriptions::sync::Subscription<OrderUpdate>>,
    notices: ibapi::subscriptions::NoticeStream,
    reconcile_at: Option<Instant>,
    backoff: Backoff,
    finished: bool,
}

impl OrderLoop {
    /// Opens the order-update and notice streams and runs the first positions request.
    ///
    /// # Errors
    /// ibapi refuses a stream.
    pub(crate) fn new(
        mut edge: OrderEdge,
        orders: rtrb::Consumer<OrderIntent>,
        reports: rtrb::Producer<Msg>,
        stop: Arc<AtomicBool>,
    ) -> Result<Self, String> {
        let updates = Some(
            edge.client
                .order_update_stream()
                .map_err(|e| format!("ibkr orders: order update stream: {e}"))?,
        );
        let notices = edge.client.notice_stream().map_err(|e| format!("ibkr orders: notice stream: {e}"))?;
        if let Err(e) = super::reconcile::refresh_positions(&mut edge) {
            tracing::warn!(error = %e, "ibkr orders: initial positions request failed");
        }
        let backoff = edge.cfg.backoff();
        edge.top_up_ids();
        Ok(Self {
            edge,
            orders,
            reports,
            stop,
            updates,
            notices,
            reconcile_at: None,
            backoff,
            finished: false,
        })
    }

    /// One round: intents onto the wire, then broker updates and notices, a due
    /// reconciliation, fills whose commission is overdue, and the reports out.
    pub(crate) fn step(&mut self) -> OrderStep {
        if self.finished || self.stop.load(Ordering::Acquire) {
            return OrderStep::Done;
        }
        let mut busy = false;
        // Intents.
        while let Ok(i) = self.orders.pop() {
            busy = true;
            #[cfg(feature = "latency-probe")]
            super::probe::order_popped();
            self.edge.on_intent(i);
        }
        if busy {
            // After the orders are on the wire: the id reservation's fsync is never on
            // the path of the next order (unless a burst outruns half a block).
            self.edge.top_up_ids();
        }
        if self.orders.is_abandoned() && self.orders.is_empty() {
            return OrderStep::Done;
        }
        // Broker updates.
        if let Some(u) = self.updates.as_ref() {
            loop {
                match u.try_next() {
                    None => break,
                    Some(Ok(SubscriptionItem::Data(d))) => {
                        busy = true;
                        self.edge.on_update(d);
                    }
                    Some(Ok(SubscriptionItem::Notice(n))) => {
                        busy = true;
                        self.edge.on_order_notice(n.request_id.unwrap_or(-1), n.code, &n.message);
                    }
                    Some(Err(e)) => {
                        tracing::warn!(error = %e, "ibkr orders: order update stream ended; reopening");
                        self.updates = None;
                        self.reconcile_at = Some(Instant::now());
                        break;
                    }
                }
            }
        } else if self.edge.client.is_connected() {
            match self.edge.client.order_update_stream() {
                Ok(u) => self.updates = Some(u),
                Err(e) => {
                    tracing::warn!(error = %e, "ibkr orders: cannot reopen the order update stream")
                }
            }
        }
        while let Some(n) = self.notices.try_next() {
            match (n.code, classify(n.code)) {
                (ibapi::TRANSPORT_RECONNECT_CODE, _)
                | (_, ErrorClass::RestoredDataLost)
                | (_, ErrorClass::RestoredDataKept) => {
                    tracing::warn!(code = n.code, "ibkr orders: reconnected; reconciling");
                    self.reconcile_at = Some(Instant::now());
                }
                (_, ErrorClass::Pacing) => {
                    self.edge.status.pacing.fetch_add(1, Ordering::Relaxed);
                }
                _ => {}
            }
        }
        if let Some(at) = self.reconcile_at {
            if Instant::now() >= at && self.edge.client.is_connected() {
                match super::reconcile::reconcile(&mut self.edge) {
                    Ok(()) => {
                        self.reconcile_at = None;
                        self.backoff.reset();
                    }
                    Err(e) => {
                        let wait = self.backoff.failed();
                        tracing::warn!(error = %e, backoff_ms = wait.as_millis() as u64, "ibkr orders: reconciliation failed; retrying");
                        self.reconcile_at = Some(Instant::now() + wait);
                    }
                }
            }
        }
        self.edge.expire_pending(false);
        busy |= self.edge.flush_out(&mut self.reports);
        if busy {
            OrderStep::Busy
        } else {
            OrderStep::Idle
        }
    }

    /// The end: intents still in the ring are sent (unless shutting down), a bracket held
    /// for its children is cancelled before it was ever transmitted, and the reports left
    /// are pushed. Idempotent; returns what the edge did.
    pub(crate) fn finish(&mut self) -> OrderEdgeSummary {
        if !self.finished {
            self.finished = true;
            if !self.stop.load(Ordering::Acquire) {
                while let Ok(i) = self.orders.pop() {
                    self.edge.on_intent(i);
                }
            }
            let why = if self.stop.load(Ordering::Acquire) {
                "the edge is shutting down"
            } else {
                "the order ring closed before the bracket's children arrived"
            };
            self.edge.break_held(why);
            self.edge.flush_out(&mut self.reports);
        }
        self.edge.summary.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ib_vocabulary() {
        assert_eq!(ib_type(OrderType::StopLimit), "STP LMT");
        assert_eq!(ib_type(OrderType::Market), "MKT");
        assert_eq!(ib_tif(TimeInForce::Ioc), ibapi::orders::TimeInForce::ImmediateOrCancel);
        assert_eq!(oca_group(42), "mia-42");
        assert_eq!(good_px(UNDEF_PX), None);
        assert_eq!(good_px(0), None);
        assert_eq!(good_px(6_000_250_000_000), Some(6000.25));
    }

    /// What the edge built per order before the slot: a fresh order with only the intent's
    /// fields set (the reference the kept slot must match field for field).
    fn fresh(i: &OrderIntent, ib: i32, parent: i32, oca: Option<u64>, transmit: bool) -> IbOrder {
        IbOrder {
            order_id: ib,
            action: if i.side == OrderSide::Buy { Action::Buy } else { Action::Sell },
            total_quantity: f64::from(i.qty),
            order_type: ib_type(i.order_type).to_string(),
            limit_price: i.order_type.has_limit().then(|| to_f64(i.price)),
            aux_price: i.order_type.has_trigger().then(|| to_f64(i.trigger)),
            tif: ib_tif(i.tif),
            account: "DU1234567".to_string(),
            transmit,
            parent_id: parent,
            oca_group: oca.map(oca_group).unwrap_or_default(),
            oca_type: if oca.is_some() { OcaType::CancelWithBlock } else { OcaType::None },
            ..IbOrder::default()
        }
    }

    #[test]
    fn the_kept_order_is_rewritten_whole_and_without_allocating() {
        let mut slot = OrderSlot::new("DU1234567");
        let (type_at, oca_at) = (slot.order.order_type.as_ptr(), slot.order.oca_group.as_ptr());
        let px = 6_000_250_000_000;
        let stop_limit = OrderIntent {
            client_order_id: 7,
            side: OrderSide::Sell,
            order_type: OrderType::StopLimit,
            price: px - 250_000_000,
            trigger: px,
            qty: 3,
            tif: TimeInForce::Gtc,
            ..OrderIntent::default()
        };
        let market = OrderIntent {
            client_order_id: 8,
            side: OrderSide::Buy,
            order_type: OrderType::Market,
            qty: 1,
            ..OrderIntent::default()
        };
        let limit = OrderIntent { order_type: OrderType::Limit, price: px, ..market };
        // Each order after another with more fields set: nothing of the previous one stays.
        let steps = [
            (stop_limit, 1001, 1000, Some(u64::MAX), false),
            (market, 1002, 0, None, true),
            (limit, 1003, 0, Some(5), true),
            (market, 1004, 0, None, true),
        ];
        for (i, ib, parent, oca, transmit) in steps {
            let oca_type = if oca.is_some() { OcaType::CancelWithBlock } else { OcaType::None };
            let got = slot.fill(&i, ib, parent, oca, oca_type, transmit).cloned();
            assert_eq!(got, Some(fresh(&i, ib, parent, oca, transmit)), "order {ib}");
        }
        assert_eq!(
            (slot.order.order_type.as_ptr(), slot.order.oca_group.as_ptr()),
            (type_at, oca_at),
            "the strings were written in place (the longest group, mia-u64::MAX, fits the reserve)"
        );
        // A limit order without a price is refused.
        assert!(slot
            .fill(&OrderIntent { price: UNDEF_PX, ..limit }, 1005, 0, None, OcaType::None, true)
            .is_none());
    }
}
