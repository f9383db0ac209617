//! The simulated exchange used by backtests and paper trading.
//!
//! [`SimVenue`] is the venue: it keeps its own L2 book replica from the market events it is
//! given and executes the orders submitted to it against that book, in **event time** (the
//! `ts_recv` of the market event being processed is "now"; the wall clock is never read), so a
//! replay is deterministic.
//!
//! Fill model (see `docs/execution.md` for its biases):
//! - **Latency** (`[sim.latency]`, [`LatencyModel`]): each new order draws its entry latency
//!   `L` from the configured model (constant + seeded jitter, or replayed intervals) in
//!   submission order, so the same seed gives the same arrival times. An order submitted with
//!   [`OrderIntent::ts`] = t reaches the venue at t + `L`; the first market event with
//!   `ts_recv` ≥ that instant activates it, *after* the event has been applied to the book —
//!   except on an MBO input, where a record's `Mbo` event activates the orders that arrived
//!   strictly before the record's instant, *before* the record is applied (so the market
//!   order it adds is behind them). On arrival the venue acknowledges it ([`Ack`]).
//! - **Market order**: walks the opposite side from the best level, filling each level's size at
//!   its price (one fill per level); quantity left when the visible depth ([`DEPTH`] levels) is
//!   exhausted is dropped and reported as an [`Expired`] notice (the order is done).
//! - **Limit order**: if marketable on arrival it walks the opposite side up to its limit price;
//!   the remainder rests (an IOC order's remainder expires instead). A resting order has a
//!   **queue position** from the configured L2 [`QueueModel`] (`[sim.queue]`): on joining, the
//!   size the replica shows at its price on its side is ahead of it (nothing when the price is
//!   empty or better than the best level; "unknown" — as much as the first size seen there —
//!   when it lies beyond the visible depth). Level updates at its price feed
//!   [`QueueModel::on_level`] once the book is consistent (at the record's `LAST` event, the
//!   next record's `Mbo` event or a print: in between, a level shifted by an insertion is
//!   missing from the replica) (under `risk_averse` a decrease only caps the queue ahead; the
//!   probabilistic models attribute part of a cancel to the queue ahead), prints at its price
//!   feed [`QueueModel::on_trade`]: they consume the queue ahead and fill the order with what is
//!   left of them (partial fills). A print **through** its price (below a resting buy, above a
//!   resting sell) fills it for at most the print's size whatever the queue. One print's size
//!   is shared by the resting orders it reaches: those it trades through first, most aggressive
//!   price first, then arrival order; then those at its price, in arrival order. Own orders do
//!   not count each other in their queues.
//! - **L3 FIFO** (`[sim.queue] model = "l3_fifo"` on an MBO input): every raw MBO record
//!   reaches the venue as an `Mbo` event ([`EventKind::Mbo`], sent before the events derived
//!   from it) and drives an [`L3Queue`]: a resting limit's position is the size of the market
//!   orders ahead of it in time priority at its price (known at any depth), cancels and
//!   modifies of orders ahead move it up, and a print at its price fills it once the orders
//!   ahead (and the own orders older than it there) have traded. The print's `Trade` event
//!   does the fills: through fills first (the rule above), then the L3 fills at the price
//!   from what is left of the print. A book clear (`R`) expires the orders with an L3
//!   position. On an input without MBO records, `l3_fifo` runs as `risk_averse` and
//!   [`SimVenue::describe`] says so.
//! - **Stop and stop-limit**: rest untriggered until a trade prints at or through the trigger
//!   (a buy stop: print ≥ trigger; a sell stop: print ≤ trigger), or on arrival when the last
//!   print is already there. A triggered stop walks the book like a market order; a triggered
//!   stop-limit walks up to its limit and rests (IOC: expires) with a queue position. Triggers
//!   are evaluated after the print has reached the resting limits, so a stop-limit triggered by
//!   a print does not fill from that print.
//! - **DAY** orders expire at the first event at or after the end of the session they arrived
//!   in ([`session_end_after`]: 16:00 CT); GTC orders never expire.
//! - **Depletion**: liquidity taken by an order is removed from the replica's level until the
//!   feed next updates that level, so two orders in the same instant cannot both take it.
//! - **Fees** (`[fees]`, [`FeeSchedule`]): the schedule of the contract's root (ES or MES; any
//!   other root uses the ES table) with a [`FeeMeter`] of the contracts filled in the UTC
//!   calendar month of each fill's event time: marginal commission tiers + exchange + clearing +
//!   NFA, in nano-USD on [`Fill::fee`].
//! - **Cancel and modify**: immediate (no cancel latency). A modify replaces the limit price,
//!   the trigger and the total quantity (which must stay above the filled quantity); an order
//!   whose price changes goes behind the others of its price, and a resting limit whose price
//!   changes or whose quantity grows loses its queue position (it rejoins at the back); a size
//!   decrease keeps it (CME's rule).
//!
//! Memory: the working-order table holds [`MAX_WORKING`] orders in a fixed array and
//! [`FillBuf`] is sized once in [`FillBuf::new`] for the worst case of one event, so nothing
//! allocates after construction.

use mia_model::book::{Book, DEPTH};
use mia_model::contract::ContractSpec;
use mia_model::event::{flags, Event, EventKind, Side};
use mia_model::msg::{ExecKind, Fill, OrderAction, OrderIntent, OrderSide, OrderType, TimeInForce};
use mia_model::price::{on_tick, Px, UNDEF_PX};
use mia_model::time::calendar::Date;

use crate::fees::{FeeConfig, FeeMeter, FeeSchedule};
use crate::latency_model::{LatencyConfig, LatencyModel};
use crate::queue::l3::{L3Event, L3Queue, L3_OWN_CAP};
use crate::queue::{level_qty_at, L2QueuePos, QueueConfig, QueueModel, QueueModelKind, QTY_SCALE};
use crate::risk::Approved;
use crate::venue::Venue;
use mia_model::book::mbo::{MboAction, MboConfig};
use mia_model::msg::ExecReport;

/// Capacity of the working-order table (also the size of the per-pass bit masks).
pub const MAX_WORKING: usize = 64;

const _: () = assert!(L3_OWN_CAP >= MAX_WORKING, "every working order fits the L3 own-order table");

/// Most fills one market event can cause: every working order walks [`DEPTH`] levels on
/// arrival (or on its trigger) and then trades through one print.
pub const FILL_BUF_CAP: usize = MAX_WORKING * (DEPTH + 1);

/// End of the CME ES trading session, Chicago time (hour, minute): DAY orders expire here.
pub const SESSION_END_CT: (u32, u32) = (16, 0);

/// The first session end (16:00 CT) strictly after `ts` (UTC ns): the expiry of a DAY order
/// that reaches the venue at `ts`. Exchange holidays are not modelled (a DAY order placed on
/// a holiday expires at that day's 16:00 CT). `u64::MAX` when out of the calendar's range.
pub fn session_end_after(ts: u64) -> u64 {
    let d = Date::from_unix_ns(ts);
    let (h, m) = SESSION_END_CT;
    match d.at_chicago_ns(h, m) {
        Some(t) if t > ts => t,
        _ => d.add_days(1).at_chicago_ns(h, m).unwrap_or(u64::MAX),
    }
}

/// Configuration of the simulated venue (`[sim]`): its models. Fees are the account's
/// (`[fees]`, [`FeeConfig`], given to [`SimVenue::with_fees`]).
#[derive(Clone, Debug, Default, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SimConfig {
    /// `[sim.latency]`: order-entry latency (default: constant 250 µs, no jitter).
    pub latency: LatencyConfig,
    /// `[sim.queue]`: queue position of resting limit orders (default: `risk_averse`).
    pub queue: QueueConfig,
}

impl SimConfig {
    /// A config with a constant entry latency of `entry_ns` and no jitter (tests, tools).
    pub fn with_entry_latency(entry_ns: u64) -> Self {
        Self { latency: LatencyConfig { entry_ns, ..LatencyConfig::default() }, ..Self::default() }
    }

    /// Checks the section; the error names the key.
    ///
    /// # Errors
    /// `sim.<table>.<key>: reason` for the first bad key.
    pub fn validate(&self) -> Result<(), String> {
        self.latency.validate()?;
        self.queue.validate()
    }
}

/// Why the venue refused an order at [`SimVenue::submit`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SubmitError {
    /// Quantity is zero.
    ZeroQty,
    /// A limit order's price is undefined or not positive.
    BadLimitPrice,
    /// A stop order's trigger is undefined or not positive.
    BadTrigger,
    /// A limit price or a trigger is not on the contract's tick grid.
    OffTick,
    /// An order with this client order id is still working.
    DuplicateId,
    /// The working-order table is full ([`MAX_WORKING`]).
    TableFull,
    /// A live venue's command ring is full or its edge thread is gone.
    VenueBusy,
    /// A modify or cancel of an order that is not working.
    NotWorking,
    /// A modify whose quantity is not above the filled quantity, or that changes the side or
    /// the order type.
    BadModify,
}

/// How an order ended without (full) execution, as reported by a venue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expired {
    /// The order.
    pub client_order_id: u64,
    /// Sequence number of the event (or report) at which it happened.
    pub seq: u64,
    /// Event time (ns).
    pub ts: u64,
    /// Quantity that will never fill.
    pub qty: u32,
    /// `Expired` (market remainder, IOC remainder, DAY at the session end), `Cancelled` or
    /// `Rejected` (from a live venue's reports).
    pub kind: ExecKind,
}

impl Default for Expired {
    fn default() -> Self {
        Self { client_order_id: 0, seq: 0, ts: 0, qty: 0, kind: ExecKind::Expired }
    }
}

/// A venue's acknowledgement: the order reached it and works.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Ack {
    /// The order.
    pub client_order_id: u64,
    /// Sequence number of the event (or report) at which it happened.
    pub seq: u64,
    /// Event time (ns).
    pub ts: u64,
}

/// Fixed-capacity output of [`SimVenue::on_market`]: the acknowledgements, fills and end
/// notices of one market event. Sized in [`FillBuf::new`] for the worst case, never grows.
#[derive(Clone, Debug)]
pub struct FillBuf {
    acks: Vec<Ack>,
    fills: Vec<Fill>,
    expired: Vec<Expired>,
    overflow: u64,
}

impl Default for FillBuf {
    fn default() -> Self {
        Self::new()
    }
}

impl FillBuf {
    /// An empty buffer with room for [`FILL_BUF_CAP`] fills and [`MAX_WORKING`] acks and notices.
    pub fn new() -> Self {
        Self {
            acks: Vec::with_capacity(MAX_WORKING),
            fills: Vec::with_capacity(FILL_BUF_CAP),
            expired: Vec::with_capacity(MAX_WORKING),
            overflow: 0,
        }
    }

    /// The acknowledgements, in arrival order.
    #[inline]
    pub fn acks(&self) -> &[Ack] {
        &self.acks
    }

    /// The fills, in execution order.
    #[inline]
    pub fn fills(&self) -> &[Fill] {
        &self.fills
    }

    /// Orders ended without (full) execution.
    #[inline]
    pub fn expired(&self) -> &[Expired] {
        &self.expired
    }

    /// Number of fills.
    #[inline]
    pub fn len(&self) -> usize {
        self.fills.len()
    }

    /// True when there is no ack, fill or notice.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.acks.is_empty() && self.fills.is_empty() && self.expired.is_empty()
    }

    /// Empties the buffer (keeps its capacity and the overflow count).
    #[inline]
    pub fn clear(&mut self) {
        self.acks.clear();
        self.fills.clear();
        self.expired.clear();
    }

    /// Entries dropped because the buffer was full (impossible when it is cleared before each
    /// event, as [`SimVenue::on_market`] does).
    #[inline]
    pub fn overflow(&self) -> u64 {
        self.overflow
    }

    /// Allocated room for fills (constant: [`FILL_BUF_CAP`]).
    #[inline]
    pub fn capacity(&self) -> usize {
        self.fills.capacity()
    }

    /// Adds an acknowledgement (counted in `overflow` when full).
    #[inline]
    pub fn push_ack(&mut self, a: Ack) {
        if self.acks.len() < self.acks.capacity() {
            self.acks.push(a);
        } else {
            self.overflow += 1;
        }
    }

    /// Adds a fill (counted in `overflow` when full).
    #[inline]
    pub fn push_fill(&mut self, f: Fill) {
        if self.fills.len() < self.fills.capacity() {
            self.fills.push(f);
        } else {
            self.overflow += 1;
        }
    }

    /// Adds an end notice (counted in `overflow` when full).
    #[inline]
    pub fn push_expired(&mut self, e: Expired) {
        if self.expired.len() < self.expired.capacity() {
            self.expired.push(e);
        } else {
            self.overflow += 1;
        }
    }
}

/// Counters of a simulation run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct SimStats {
    /// Orders accepted by `submit`.
    pub submitted: u64,
    /// Orders refused by `submit`.
    pub rejected: u64,
    /// Orders cancelled.
    pub cancelled: u64,
    /// Orders modified.
    pub modified: u64,
    /// Stop and stop-limit orders triggered.
    pub triggered: u64,
    /// Fills emitted.
    pub fills: u64,
    /// Contracts filled.
    pub filled_qty: u64,
    /// Contracts dropped unfilled: market (and triggered stop) remainders beyond the visible
    /// depth, IOC remainders and DAY orders at the session end.
    pub expired_qty: u64,
}

/// One working order.
#[derive(Clone, Copy, Debug, Default)]
struct Slot {
    intent: OrderIntent,
    /// Venue arrival instant (event time, ns).
    arrives: u64,
    /// DAY expiry instant (`u64::MAX` = none), set on arrival.
    expires: u64,
    /// Submission order, for deterministic tie-breaking.
    sub_seq: u64,
    remaining: u32,
    in_use: bool,
    /// Reached the venue (resting, or a stop waiting for its trigger).
    live: bool,
    /// A stop or stop-limit whose trigger has printed.
    triggered: bool,
    /// L2 queue position while resting as a limit (`None` before it rests, or under L3).
    queue: Option<L2QueuePos>,
    /// Resting with an L3 FIFO position in the venue's [`L3Queue`].
    l3: bool,
}

impl Slot {
    /// Rests as a limit order (a limit, or a triggered stop-limit).
    #[inline]
    fn rests_as_limit(&self) -> bool {
        self.live
            && match self.intent.order_type {
                OrderType::Limit => true,
                OrderType::StopLimit => self.triggered,
                OrderType::Market | OrderType::Stop => false,
            }
    }

    /// Waits for its trigger.
    #[inline]
    fn waits_trigger(&self) -> bool {
        self.live && self.intent.order_type.has_trigger() && !self.triggered
    }
}

/// The simulated venue; see the [module docs](self).
#[derive(Clone, Debug)]
pub struct SimVenue {
    cfg: SimConfig,
    contract: ContractSpec,
    book: Book,
    slots: [Slot; MAX_WORKING],
    /// Number of slots with `in_use` set (kept in step with every `in_use` change), so a
    /// market event with no working order costs only the book update.
    in_use: usize,
    next_sub_seq: u64,
    /// Earliest DAY expiry among the working orders (`u64::MAX` = none).
    next_expiry: u64,
    /// Last trade price seen (`UNDEF_PX` before the first).
    last_trade: Px,
    latency: LatencyModel,
    queue_model: QueueModel,
    /// The L3 FIFO tracker (`l3_fifo` only; allocated once, in [`SimVenue::new`]).
    l3: Option<Box<L3Queue>>,
    /// `Mbo` events seen: L3 positions are used once the first one has arrived.
    mbo_events: u64,
    /// Book sides (bit 0 bid, bit 1 ask) changed by `Level` events whose queue update waits for
    /// a consistent book: the end of the record (an event with `LAST`, or the next record's
    /// `Mbo` event) or a print. A record's `Level` events come one depth at a time, so in
    /// between, a level shifted by an insertion is missing from the replica.
    pending_queue_sides: u8,
    fees: FeeSchedule,
    fee_meter: FeeMeter,
    stats: SimStats,
}

#[inline]
fn is_buy(side: OrderSide) -> bool {
    side == OrderSide::Buy
}

/// The bit of `side` in [`SimVenue`]'s pending queue-update mask (0 for no side).
#[inline]
fn side_bit(side: Side) -> u8 {
    match side {
        Side::Bid => 1,
        Side::Ask => 2,
        Side::None => 0,
    }
}

/// True when a print at `px` reaches the trigger of a stop on `side`.
#[inline]
fn trigger_hit(side: OrderSide, trigger: Px, px: Px) -> bool {
    if is_buy(side) {
        px >= trigger
    } else {
        px <= trigger
    }
}

impl SimVenue {
    /// A venue for `contract` with an empty book and no working orders, the models of `cfg`
    /// (which should have passed [`SimConfig::validate`]) and the default fee schedules
    /// ([`FeeConfig::default`]: IBKR tiered; [`SimVenue::with_fees`] replaces them).
    pub fn new(cfg: SimConfig, contract: ContractSpec) -> Self {
        let latency = LatencyModel::new(&cfg.latency);
        let queue_model = QueueModel::new(&cfg.queue);
        let l3 = (cfg.queue.model == QueueModelKind::L3Fifo)
            .then(|| Box::new(L3Queue::new(MboConfig { tick: contract.tick, ..MboConfig::default() })));
        let mut v = Self {
            cfg,
            contract,
            book: Book::new(),
            slots: [Slot::default(); MAX_WORKING],
            in_use: 0,
            next_sub_seq: 0,
            next_expiry: u64::MAX,
            last_trade: UNDEF_PX,
            latency,
            queue_model,
            l3,
            mbo_events: 0,
            pending_queue_sides: 0,
            fees: FeeSchedule::new(&FeeConfig::default().es),
            fee_meter: FeeMeter::new(),
            stats: SimStats::default(),
        };
        v.set_fees(&FeeConfig::default());
        v
    }

    /// The venue with the fee schedules of `fees` (which should have passed
    /// [`FeeConfig::validate`]): the table of the contract's root, ES for an unknown root.
    #[must_use]
    pub fn with_fees(mut self, fees: &FeeConfig) -> Self {
        self.set_fees(fees);
        self
    }

    fn set_fees(&mut self, fees: &FeeConfig) {
        self.fees = FeeSchedule::new(fees.product(self.contract.root).unwrap_or(&fees.es));
    }

    /// The fee schedule in use.
    pub fn fee_schedule(&self) -> &FeeSchedule {
        &self.fees
    }

    /// One line naming the models in use, for the run summary, e.g. `sim (queue: risk_averse,
    /// latency: constant(250000+U[0,0] ns, …), fees: tiered ES …)`.
    pub fn describe(&self) -> String {
        let queue = match self.queue_model.kind() {
            QueueModelKind::L3Fifo if self.mbo_events > 0 => {
                format!("l3_fifo (from {} MBO records)", self.mbo_events)
            }
            QueueModelKind::L3Fifo => {
                "l3_fifo needs MBO input, this input has no MBO records: ran as risk_averse".to_string()
            }
            _ => self.queue_model.describe(),
        };
        format!(
            "sim (queue: {queue}, latency: {}, fees: {} {})",
            self.latency.describe(),
            self.contract.root,
            self.fees.describe()
        )
    }

    /// The configuration.
    pub fn config(&self) -> &SimConfig {
        &self.cfg
    }

    /// The venue's book replica (after depletion by simulated fills).
    pub fn book(&self) -> &Book {
        &self.book
    }

    /// Run counters.
    pub fn stats(&self) -> SimStats {
        self.stats
    }

    /// Number of working orders (in flight or resting).
    pub fn working(&self) -> usize {
        debug_assert_eq!(self.in_use, self.slots.iter().filter(|s| s.in_use).count());
        self.in_use
    }

    /// Remaining quantity of a working order, `None` if it is not working.
    pub fn remaining(&self, client_order_id: u64) -> Option<u32> {
        self.find(client_order_id).map(|i| self.slots[i].remaining)
    }

    /// Estimated contracts ahead of a resting limit order in its queue (`None` if it is not
    /// working or not resting as a limit yet); under L3 FIFO the exact market size ahead.
    pub fn queue_ahead(&self, client_order_id: u64) -> Option<f64> {
        let i = self.find(client_order_id)?;
        if self.slots[i].l3 {
            return self.l3.as_ref().and_then(|q| q.ahead(client_order_id)).map(|a| a as f64);
        }
        self.slots[i].queue.map(|q| q.ahead())
    }

    /// True while L3 FIFO positions are in use (`l3_fifo` configured and an MBO record seen).
    #[inline]
    fn l3_active(&self) -> bool {
        self.l3.is_some() && self.mbo_events > 0
    }

    /// True when the working order is a stop whose trigger has printed (`None` if not working).
    pub fn triggered(&self, client_order_id: u64) -> Option<bool> {
        self.find(client_order_id).map(|i| self.slots[i].triggered)
    }

    fn find(&self, client_order_id: u64) -> Option<usize> {
        self.slots.iter().position(|s| s.in_use && s.intent.client_order_id == client_order_id)
    }

    /// Checks the prices of a new or modified order.
    fn check_prices(&self, intent: &OrderIntent) -> Result<(), SubmitError> {
        if intent.qty == 0 {
            return Err(SubmitError::ZeroQty);
        }
        if intent.order_type.has_limit() {
            if intent.price <= 0 || intent.price == UNDEF_PX {
                return Err(SubmitError::BadLimitPrice);
            }
            if !on_tick(intent.price, self.contract.tick) {
                return Err(SubmitError::OffTick);
            }
        }
        if intent.order_type.has_trigger() {
            if intent.trigger <= 0 || intent.trigger == UNDEF_PX {
                return Err(SubmitError::BadTrigger);
            }
            if !on_tick(intent.trigger, self.contract.tick) {
                return Err(SubmitError::OffTick);
            }
        }
        Ok(())
    }

    /// Takes a request: a new order arrives at `intent.ts` + its drawn entry latency and is executed
    /// by the first [`SimVenue::on_market`] call at or after that instant; a modify or a cancel
    /// applies at once.
    ///
    /// # Errors
    /// The order is invalid, its id is working already, or the table is full; a modify or a
    /// cancel of an order that is not working, or a modify that is not possible.
    pub fn submit(&mut self, intent: &OrderIntent) -> Result<(), SubmitError> {
        let r = match intent.action {
            OrderAction::New => self.submit_new(intent),
            OrderAction::Modify => self.modify(intent),
            OrderAction::Cancel => {
                if self.cancel(intent.client_order_id) {
                    Ok(())
                } else {
                    Err(SubmitError::NotWorking)
                }
            }
        };
        if r.is_err() {
            self.stats.rejected += 1;
        }
        r
    }

    fn submit_new(&mut self, intent: &OrderIntent) -> Result<(), SubmitError> {
        self.check_prices(intent)?;
        if self.find(intent.client_order_id).is_some() {
            return Err(SubmitError::DuplicateId);
        }
        let i = self.slots.iter().position(|s| !s.in_use).ok_or(SubmitError::TableFull)?;
        self.slots[i] = Slot {
            intent: *intent,
            arrives: intent.ts.saturating_add(self.latency.next_latency().entry_ns),
            expires: u64::MAX,
            sub_seq: self.next_sub_seq,
            remaining: intent.qty,
            in_use: true,
            live: false,
            triggered: false,
            queue: None,
            l3: false,
        };
        self.in_use += 1;
        self.next_sub_seq += 1;
        self.stats.submitted += 1;
        Ok(())
    }

    /// Replaces the price, trigger and total quantity of a working order (immediately).
    fn modify(&mut self, m: &OrderIntent) -> Result<(), SubmitError> {
        let i = self.find(m.client_order_id).ok_or(SubmitError::NotWorking)?;
        self.check_prices(m)?;
        let s = &mut self.slots[i];
        let filled = s.intent.qty - s.remaining;
        if m.qty <= filled || m.side != s.intent.side || m.order_type != s.intent.order_type {
            return Err(SubmitError::BadModify);
        }
        let repriced = m.price != s.intent.price || m.trigger != s.intent.trigger;
        if repriced {
            s.sub_seq = self.next_sub_seq;
            self.next_sub_seq += 1;
        }
        // A price change or a size increase loses queue priority; a decrease keeps it.
        let queued = s.queue.is_some() || s.l3;
        let requeue = queued && (m.price != s.intent.price || m.qty - filled > s.remaining);
        s.intent.price = m.price;
        s.intent.trigger = m.trigger;
        s.intent.qty = m.qty;
        s.remaining = m.qty - filled;
        let (id, remaining, l3) = (s.intent.client_order_id, s.remaining, s.l3);
        if requeue {
            self.leave_l3(i);
            self.join_queue(i);
        } else if l3 {
            if let Some(q) = self.l3.as_mut() {
                q.set_remaining(id, remaining);
            }
        }
        self.stats.modified += 1;
        Ok(())
    }

    /// Cancels a working order immediately; false if no such order is working (already filled,
    /// expired, cancelled or unknown).
    pub fn cancel(&mut self, client_order_id: u64) -> bool {
        match self.find(client_order_id) {
            Some(i) => {
                self.release(i);
                self.stats.cancelled += 1;
                true
            }
            None => false,
        }
    }

    #[inline]
    fn release(&mut self, i: usize) {
        self.leave_l3(i);
        self.slots[i].in_use = false;
        self.in_use -= 1;
    }

    /// Takes order `i` out of the L3 queue (if it is there).
    #[inline]
    fn leave_l3(&mut self, i: usize) {
        if self.slots[i].l3 {
            self.slots[i].l3 = false;
            if let Some(q) = self.l3.as_mut() {
                q.cancel_own(self.slots[i].intent.client_order_id);
            }
        }
    }

    /// A raw MBO record: updates the L3 queue (a `T` record is applied by the `Trade` event
    /// that follows it; an `R` expires the orders with an L3 position first).
    fn on_mbo(&mut self, ev: &Event, out: &mut FillBuf) {
        let Some(action) = ev.mbo_action() else { return };
        match action {
            MboAction::Trade | MboAction::Fill | MboAction::None => {}
            MboAction::Clear => {
                for i in 0..MAX_WORKING {
                    if self.slots[i].in_use && self.slots[i].l3 {
                        self.end(i, ev, out, false);
                    }
                }
                if let Some(q) = self.l3.as_mut() {
                    q.on_mbo(action, ev.side, ev.order_id, ev.price, ev.size, |_| {});
                }
            }
            MboAction::Add | MboAction::Cancel | MboAction::Modify => {
                if let Some(q) = self.l3.as_mut() {
                    // Only `T` and `R` touch own orders; these records emit nothing.
                    q.on_mbo(action, ev.side, ev.order_id, ev.price, ev.size, |_| {});
                }
            }
        }
    }

    /// Applies one market event to the venue's book, then executes what became executable at
    /// `ev.ts_recv`: queue updates (a level event), DAY expiries, the resting limits a print
    /// reaches (through their price, then at it), arrivals (acks and walks), then the stops the
    /// print triggers. `out` is cleared first and receives this event's acks, fills and end
    /// notices.
    pub fn on_market(&mut self, ev: &Event, out: &mut FillBuf) {
        out.clear();
        if ev.kind == EventKind::Mbo {
            // A new record: the previous one is complete, so its level changes reach the queues.
            self.flush_queue_updates();
            self.mbo_events += 1;
            // An order that reached the venue strictly before this record's instant arrives
            // before the record: it joins the book (and the L3 queue) as they stood, so a
            // market order added after it is behind it. (At an equal instant the record comes
            // first, and the order arrives on the derived events.)
            if self.in_use > 0 && ev.ts_recv > 0 {
                self.arrivals(ev, ev.ts_recv - 1, out);
            }
            // The record itself moves L3 queues only: expiries and fills happen on the events
            // derived from it (the book replica is in step after those).
            if self.l3.is_some() {
                self.on_mbo(ev, out);
            }
            return;
        }
        self.book.apply(ev);
        let print = ev.kind == EventKind::Trade && ev.size > 0 && ev.price != UNDEF_PX;
        if self.in_use == 0 {
            if print {
                self.last_trade = ev.price;
            }
            self.pending_queue_sides = 0;
            return;
        }
        if ev.kind == EventKind::Level {
            self.pending_queue_sides |= side_bit(ev.side);
        }
        // The queues see the book only where it is consistent: after the record's last event,
        // and before a print reaches them (a print is a record of its own).
        if ev.flags & flags::LAST != 0 || ev.kind != EventKind::Level {
            self.flush_queue_updates();
        }
        let now = ev.ts_recv;
        if now >= self.next_expiry {
            self.expire_day(ev, out);
        }

        // A print reaches the orders that were resting before this event, before any arrival:
        // an order activated by the event does not fill from its print, and the fills of the
        // resting orders come first in `out` (so that a fill an arrival causes, and what the
        // order manager does about it, follows them).
        if print {
            let mut left = self.trade_through(ev, out);
            if self.l3_active() {
                left = self.trade_at_price_l3(ev, left, out);
            }
            self.trade_at_price(ev, left, out);
            self.last_trade = ev.price;
        }

        self.arrivals(ev, now, out);

        if print {
            self.trigger_stops(ev, out);
        }
    }

    /// Activates, in (arrival instant, submission) order, every order that has not reached the
    /// venue yet and whose arrival instant is ≤ `until`; `ev` stamps the acks and fills.
    fn arrivals(&mut self, ev: &Event, until: u64, out: &mut FillBuf) {
        let mut done_mask = 0u64;
        loop {
            let mut pick: Option<usize> = None;
            for (i, s) in self.slots.iter().enumerate() {
                if !s.in_use || s.live || s.arrives > until || done_mask & (1 << i) != 0 {
                    continue;
                }
                let better = match pick {
                    None => true,
                    Some(p) => (s.arrives, s.sub_seq) < (self.slots[p].arrives, self.slots[p].sub_seq),
                };
                if better {
                    pick = Some(i);
                }
            }
            let Some(i) = pick else { break };
            done_mask |= 1 << i;
            self.arrive(i, ev, out);
        }
    }

    /// Expires the DAY orders whose session has ended, then recomputes the next expiry.
    fn expire_day(&mut self, ev: &Event, out: &mut FillBuf) {
        let now = ev.ts_recv;
        let mut next = u64::MAX;
        for i in 0..MAX_WORKING {
            let s = self.slots[i];
            if !s.in_use {
                continue;
            }
            if s.expires <= now {
                self.end(i, ev, out, false);
            } else {
                next = next.min(s.expires);
            }
        }
        self.next_expiry = next;
    }

    /// Ends order `i` with its remainder expired; `mark_last_fill` sets `done` on the order's
    /// fill just emitted (a walk that left a remainder).
    fn end(&mut self, i: usize, ev: &Event, out: &mut FillBuf, mark_last_fill: bool) {
        let s = self.slots[i];
        self.release(i);
        self.stats.expired_qty += u64::from(s.remaining);
        if mark_last_fill {
            if let Some(f) = out.fills.last_mut().filter(|f| f.client_order_id == s.intent.client_order_id) {
                f.done = true;
            }
        }
        out.push_expired(Expired {
            client_order_id: s.intent.client_order_id,
            seq: ev.seq,
            ts: ev.ts_recv,
            qty: s.remaining,
            kind: ExecKind::Expired,
        });
    }

    /// Executes an order that has just reached the venue.
    fn arrive(&mut self, i: usize, ev: &Event, out: &mut FillBuf) {
        let intent = self.slots[i].intent;
        out.push_ack(Ack { client_order_id: intent.client_order_id, seq: ev.seq, ts: ev.ts_recv });
        self.slots[i].live = true;
        if intent.tif == TimeInForce::Day {
            let exp = session_end_after(ev.ts_recv);
            self.slots[i].expires = exp;
            self.next_expiry = self.next_expiry.min(exp);
        }
        match intent.order_type {
            OrderType::Market => self.execute(i, None, ev, out),
            OrderType::Limit => self.execute(i, Some(intent.price), ev, out),
            OrderType::Stop | OrderType::StopLimit => {
                if self.last_trade != UNDEF_PX && trigger_hit(intent.side, intent.trigger, self.last_trade) {
                    self.trigger(i, ev, out);
                }
            }
        }
    }

    /// Walks order `i` (up to `limit` if given) and settles what is left: a market order's
    /// remainder and an IOC remainder expire, a limit rests.
    fn execute(&mut self, i: usize, limit: Option<Px>, ev: &Event, out: &mut FillBuf) {
        let first_fill = out.fills.len();
        self.walk(i, limit, ev, out);
        let s = self.slots[i];
        if s.remaining == 0 {
            self.release(i);
            return;
        }
        if limit.is_none() || s.intent.tif == TimeInForce::Ioc {
            self.end(i, ev, out, out.fills.len() > first_fill);
        } else {
            self.join_queue(i);
        }
    }

    /// Order `i` (now resting as a limit) joins the back of the queue at its price: what the
    /// replica shows there is ahead of it (`u32::MAX`, i.e. "as much as the first size seen",
    /// when the price is beyond the visible depth or its side is empty).
    fn join_queue(&mut self, i: usize) {
        if self.l3_active() {
            let s = self.slots[i];
            let joined = self.l3.as_mut().is_some_and(|q| {
                q.join(s.intent.client_order_id, s.intent.side, s.intent.price, s.remaining).is_ok()
            });
            if joined {
                self.slots[i].l3 = true;
                self.slots[i].queue = None;
                return;
            }
            // The L3 table holds every working order (asserted above) and ids are unique among
            // working orders, so a join does not fail; the L2 model is the fallback all the same.
        }
        let s = &self.slots[i];
        let own = if is_buy(s.intent.side) { Side::Bid } else { Side::Ask };
        let level = level_qty_at(&self.book, own, s.intent.price).unwrap_or(u32::MAX);
        let q = self.queue_model.join(s.intent.side, s.intent.price, s.remaining, level);
        self.slots[i].queue = Some(q);
    }

    /// Runs the queue updates the `Level` events since the last consistent book asked for.
    #[inline]
    fn flush_queue_updates(&mut self) {
        let sides = std::mem::take(&mut self.pending_queue_sides);
        if sides & side_bit(Side::Bid) != 0 {
            self.update_queues(Side::Bid);
        }
        if sides & side_bit(Side::Ask) != 0 {
            self.update_queues(Side::Ask);
        }
    }

    /// A level event on `side`: every resting order on that side whose price level now shows
    /// a different size gets [`QueueModel::on_level`] (an unchanged size is not an update, so
    /// the trades counted since the last change still explain the next decrease).
    fn update_queues(&mut self, side: Side) {
        let own = match side {
            Side::Bid => OrderSide::Buy,
            Side::Ask => OrderSide::Sell,
            Side::None => return,
        };
        for s in self.slots.iter_mut() {
            if !s.in_use || s.intent.side != own {
                continue;
            }
            let Some(q) = s.queue.as_mut() else { continue };
            if let Some(n) = level_qty_at(&self.book, side, s.intent.price) {
                if n != q.level_qty() {
                    self.queue_model.on_level(q, n);
                }
            }
        }
    }

    /// Triggers stop `i`: a stop walks as a market order, a stop-limit as a limit.
    fn trigger(&mut self, i: usize, ev: &Event, out: &mut FillBuf) {
        self.slots[i].triggered = true;
        self.stats.triggered += 1;
        let s = self.slots[i];
        let limit = (s.intent.order_type == OrderType::StopLimit).then_some(s.intent.price);
        self.execute(i, limit, ev, out);
    }

    /// Triggers the stops that the print `ev` reaches, in submission order.
    fn trigger_stops(&mut self, ev: &Event, out: &mut FillBuf) {
        let mut seen = 0u64;
        loop {
            let mut pick: Option<usize> = None;
            for (i, s) in self.slots.iter().enumerate() {
                if !s.in_use || !s.waits_trigger() || seen & (1 << i) != 0 {
                    continue;
                }
                if !trigger_hit(s.intent.side, s.intent.trigger, ev.price) {
                    continue;
                }
                if pick.is_none_or(|p| s.sub_seq < self.slots[p].sub_seq) {
                    pick = Some(i);
                }
            }
            let Some(i) = pick else { break };
            seen |= 1 << i;
            self.trigger(i, ev, out);
        }
    }

    /// Walks the side opposite to order `i` from the best level, up to `limit` if given.
    fn walk(&mut self, i: usize, limit: Option<Px>, ev: &Event, out: &mut FillBuf) {
        let side = self.slots[i].intent.side;
        let buy = is_buy(side);
        let book_side = side.book_side_hit();
        for d in 0..DEPTH {
            if self.slots[i].remaining == 0 {
                break;
            }
            let lvl = if buy { self.book.ask(d) } else { self.book.bid(d) };
            if lvl.is_empty() {
                continue;
            }
            if let Some(lim) = limit {
                if (buy && lvl.price > lim) || (!buy && lvl.price < lim) {
                    break;
                }
            }
            let qty = self.slots[i].remaining.min(lvl.size);
            // Depletion: the taken size is gone from the replica until the feed updates it.
            let rest = Event::level(
                ev.ts_event,
                ev.ts_recv,
                book_side,
                d as u8,
                lvl.price,
                lvl.size - qty,
                lvl.count,
                0,
            );
            self.book.apply(&rest);
            self.fill(i, lvl.price, qty, ev, out);
        }
    }

    /// Fills resting limit orders that the print `ev` trades through; returns the part of the
    /// print's size they did not take.
    fn trade_through(&mut self, ev: &Event, out: &mut FillBuf) -> u32 {
        let mut avail = ev.size;
        let mut seen = 0u64;
        while avail > 0 {
            // Most aggressive eligible order first (distance of its limit beyond the print),
            // then arrival order.
            let mut pick: Option<(usize, Px, u64)> = None;
            for (i, s) in self.slots.iter().enumerate() {
                if !s.in_use || !s.rests_as_limit() || seen & (1 << i) != 0 {
                    continue;
                }
                let through =
                    if is_buy(s.intent.side) { s.intent.price - ev.price } else { ev.price - s.intent.price };
                if through <= 0 {
                    continue;
                }
                let better = match pick {
                    None => true,
                    Some((_, t, q)) => through > t || (through == t && s.sub_seq < q),
                };
                if better {
                    pick = Some((i, through, s.sub_seq));
                }
            }
            let Some((i, _, _)) = pick else { break };
            seen |= 1 << i;
            let qty = self.slots[i].remaining.min(avail);
            avail -= qty;
            let px = self.slots[i].intent.price;
            self.fill(i, px, qty, ev, out);
            if self.slots[i].remaining == 0 {
                self.release(i);
            }
        }
        avail
    }

    /// The print `ev` at the price of resting limit orders: each one's queue model consumes
    /// its queue ahead with the whole print (the market's orders traded all of it). What the
    /// own orders may fill is what is left of `avail` (the print's size not taken by
    /// trade-through fills) after the queue ahead of the earliest of them; it is shared in
    /// arrival order (an earlier own order is ahead of a later one), each taking at most what
    /// its model fills.
    fn trade_at_price(&mut self, ev: &Event, avail: u32, out: &mut FillBuf) {
        let mut seen = 0u64;
        let mut budget: Option<u32> = None;
        loop {
            let mut pick: Option<usize> = None;
            for (i, s) in self.slots.iter().enumerate() {
                if !s.in_use
                    || !s.rests_as_limit()
                    || s.queue.is_none()
                    || s.intent.price != ev.price
                    || seen & (1 << i) != 0
                {
                    continue;
                }
                if pick.is_none_or(|p| s.sub_seq < self.slots[p].sub_seq) {
                    pick = Some(i);
                }
            }
            let Some(i) = pick else { break };
            seen |= 1 << i;
            let remaining = self.slots[i].remaining;
            let Some(q) = self.slots[i].queue.as_mut() else { continue };
            let left = *budget.get_or_insert_with(|| {
                let ahead = (q.ahead_units().max(0) + QTY_SCALE / 2) / QTY_SCALE;
                let ahead = u32::try_from(ahead).unwrap_or(u32::MAX);
                avail.saturating_sub(ahead)
            });
            q.set_remaining(remaining);
            let model_fill = self.queue_model.on_trade(q, ev.side, ev.price, ev.size);
            let qty = model_fill.min(left);
            // What the print could not give (taken by earlier orders) waits at the front.
            q.set_remaining(remaining - qty);
            if qty == 0 {
                continue;
            }
            budget = Some(left - qty);
            let px = self.slots[i].intent.price;
            self.fill(i, px, qty, ev, out);
            if self.slots[i].remaining == 0 {
                self.release(i);
            }
        }
    }

    /// The print `ev` at its price under L3 FIFO: [`L3Queue::trade_at`] consumes the queues and
    /// fills the orders with an L3 position there, in time priority, from `avail` (what the
    /// trade-through fills left of the print). Returns what is left of `avail`.
    fn trade_at_price_l3(&mut self, ev: &Event, avail: u32, out: &mut FillBuf) -> u32 {
        let Some(q) = self.l3.as_mut() else { return avail };
        if q.own_orders() == 0 {
            return avail;
        }
        let mut got = [(0u64, 0u32); L3_OWN_CAP];
        let mut n = 0;
        q.trade_at(ev.side, ev.price, ev.size, avail, |e| {
            if let L3Event::Fill { client_order_id, qty, .. } = e {
                got[n] = (client_order_id, qty);
                n += 1;
            }
        });
        let mut left = avail;
        for &(id, qty) in &got[..n] {
            let Some(i) = self.find(id) else { continue };
            left = left.saturating_sub(qty);
            let px = self.slots[i].intent.price;
            self.fill(i, px, qty, ev, out);
            if self.slots[i].remaining == 0 {
                self.release(i);
            }
        }
        left
    }

    /// Emits one fill of `qty` at `px` for order `i` and updates its remaining quantity.
    fn fill(&mut self, i: usize, px: Px, qty: u32, ev: &Event, out: &mut FillBuf) {
        let d = Date::from_unix_ns(ev.ts_recv);
        let month = u32::try_from(d.year).unwrap_or(0).saturating_mul(100) + u32::from(d.month);
        let fee = self.fee_meter.charge(&self.fees, month, qty).total();
        let slot = &mut self.slots[i];
        slot.remaining -= qty;
        if slot.l3 {
            if let Some(q) = self.l3.as_mut() {
                q.set_remaining(slot.intent.client_order_id, slot.remaining);
            }
            slot.l3 = slot.remaining > 0;
        }
        self.stats.fills += 1;
        self.stats.filled_qty += u64::from(qty);
        out.push_fill(Fill {
            client_order_id: slot.intent.client_order_id,
            seq: ev.seq,
            ts: ev.ts_recv,
            price: px,
            fee,
            qty,
            leaves: slot.remaining,
            side: slot.intent.side,
            done: slot.remaining == 0,
        });
    }
}

impl Venue for SimVenue {
    fn name(&self) -> &'static str {
        "sim"
    }

    fn describe(&self) -> String {
        SimVenue::describe(self)
    }

    #[inline]
    fn submit(&mut self, order: Approved<OrderIntent>) -> Result<(), SubmitError> {
        SimVenue::submit(self, order.get())
    }

    fn cancel(&mut self, client_order_id: u64) -> crate::venue::CancelOutcome {
        if SimVenue::cancel(self, client_order_id) {
            crate::venue::CancelOutcome::Done
        } else {
            crate::venue::CancelOutcome::NotWorking
        }
    }

    #[inline]
    fn on_market(&mut self, ev: &Event, out: &mut FillBuf) {
        SimVenue::on_market(self, ev, out);
    }

    /// The simulator produces its own fills; reports from elsewhere are not for it.
    fn on_report(&mut self, _r: &ExecReport, out: &mut FillBuf) {
        out.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mia_model::event::flags;
    use mia_model::event::Side;
    use mia_model::price::PRICE_SCALE;

    /// Price in points → fixed point (test helper; exact for quarter points).
    fn px(points: f64) -> Px {
        (points * PRICE_SCALE as f64) as Px
    }

    fn level(ts: u64, side: Side, depth: u8, p: f64, size: u32) -> Event {
        Event::level(ts, ts, side, depth, px(p), size, 1, flags::LAST)
    }

    fn trade(ts: u64, aggressor: Side, p: f64, size: u32) -> Event {
        let mut e = Event::trade(ts, ts, aggressor, px(p), size, flags::LAST);
        e.seq = ts;
        e
    }

    fn status(ts: u64) -> Event {
        Event { ts_event: ts, ts_recv: ts, seq: ts, kind: EventKind::Status, ..Event::default() }
    }

    fn order(id: u64, ts: u64, side: OrderSide, order_type: OrderType, p: f64, qty: u32) -> OrderIntent {
        OrderIntent {
            client_order_id: id,
            seq: 0,
            ts,
            price: if order_type.has_limit() { px(p) } else { 0 },
            trigger: if order_type.has_trigger() { px(p) } else { 0 },
            qty,
            instrument_id: 1,
            side,
            order_type,
            tif: TimeInForce::Gtc,
            ..OrderIntent::default()
        }
    }

    /// Asks 10@100.00, 15@100.25, 20@100.50; bids 12@99.75, 8@99.50 — all at ts 1.
    fn venue(latency: u64) -> SimVenue {
        venue_with(SimVenue::new(SimConfig::with_entry_latency(latency), ContractSpec::ES))
    }

    /// `sim` with the book of [`venue`].
    fn venue_with(mut sim: SimVenue) -> SimVenue {
        let mut out = FillBuf::new();
        for ev in [
            level(1, Side::Ask, 0, 100.00, 10),
            level(1, Side::Ask, 1, 100.25, 15),
            level(1, Side::Ask, 2, 100.50, 20),
            level(1, Side::Bid, 0, 99.75, 12),
            level(1, Side::Bid, 1, 99.50, 8),
        ] {
            sim.on_market(&ev, &mut out);
        }
        sim
    }

    fn fills_of(out: &FillBuf) -> Vec<(Px, u32, bool)> {
        out.fills().iter().map(|f| (f.price, f.qty, f.done)).collect()
    }

    #[test]
    fn market_buy_walks_the_asks() {
        let mut sim = venue(0);
        let mut out = FillBuf::new();
        sim.submit(&order(7, 10, OrderSide::Buy, OrderType::Market, 0.0, 30)).expect("accepted");
        sim.on_market(&status(10), &mut out);
        assert_eq!(
            fills_of(&out),
            vec![(px(100.00), 10, false), (px(100.25), 15, false), (px(100.50), 5, true)]
        );
        for f in out.fills() {
            assert_eq!((f.client_order_id, f.seq, f.ts, f.side), (7, 10, 10, OrderSide::Buy));
            // IBKR ES first tier: 0.85 + 1.38 + 0.02 + 0.02 USD per contract.
            assert_eq!(f.fee, i64::from(f.qty) * mia_model::money::NanoUsd::from_nano(2_270_000_000));
        }
        assert_eq!(sim.working(), 0);
        // Depleted replica: 15 left at 100.50, the first two levels are gone.
        assert!(sim.book().ask(0).is_empty() && sim.book().ask(1).is_empty());
        assert_eq!(sim.book().ask(2).size, 15);
        assert_eq!(sim.stats().filled_qty, 30);
    }

    #[test]
    fn market_sell_beyond_visible_depth_expires_the_rest() {
        let mut sim = venue(0);
        let mut out = FillBuf::new();
        sim.submit(&order(3, 5, OrderSide::Sell, OrderType::Market, 0.0, 25)).expect("accepted");
        sim.on_market(&status(5), &mut out);
        assert_eq!(fills_of(&out), vec![(px(99.75), 12, false), (px(99.50), 8, true)]);
        assert_eq!(
            out.expired(),
            &[Expired { client_order_id: 3, seq: 5, ts: 5, qty: 5, kind: ExecKind::Expired }]
        );
        assert_eq!(sim.stats().expired_qty, 5);
        // Against an empty side: no fill, only the notice.
        sim.submit(&order(4, 6, OrderSide::Sell, OrderType::Market, 0.0, 2)).expect("accepted");
        sim.on_market(&status(6), &mut out);
        assert!(out.fills().is_empty());
        assert_eq!(out.expired().len(), 1);
        assert_eq!(sim.working(), 0);
    }

    #[test]
    fn orders_wait_for_their_latency_in_event_time() {
        let mut sim = venue(250_000);
        let mut out = FillBuf::new();
        sim.submit(&order(1, 1_000, OrderSide::Buy, OrderType::Market, 0.0, 1)).expect("accepted");
        // Arrives at 251_000: an event one ns earlier does not fill it.
        sim.on_market(&status(250_999), &mut out);
        assert!(out.is_empty());
        assert!(out.acks().is_empty());
        assert_eq!(sim.remaining(1), Some(1));
        sim.on_market(&status(251_000), &mut out);
        assert_eq!(fills_of(&out), vec![(px(100.00), 1, true)]);
        assert_eq!(out.fills()[0].ts, 251_000);
    }

    #[test]
    fn arrival_sees_the_book_after_the_event() {
        let mut sim = venue(100);
        let mut out = FillBuf::new();
        sim.submit(&order(1, 0, OrderSide::Buy, OrderType::Market, 0.0, 4)).expect("accepted");
        // The event that activates the order moves the best ask first.
        sim.on_market(&level(100, Side::Ask, 0, 100.00, 3), &mut out);
        assert_eq!(fills_of(&out), vec![(px(100.00), 3, false), (px(100.25), 1, true)]);
    }

    #[test]
    fn marketable_limit_walks_to_its_price_and_rests() {
        let mut sim = venue(0);
        let mut out = FillBuf::new();
        sim.submit(&order(9, 2, OrderSide::Buy, OrderType::Limit, 100.25, 40)).expect("accepted");
        sim.on_market(&status(2), &mut out);
        assert_eq!(fills_of(&out), vec![(px(100.00), 10, false), (px(100.25), 15, false)]);
        assert_eq!(sim.remaining(9), Some(15));
        // Resting at 100.25: a print at 100.00 trades through it, for the print's size.
        sim.on_market(&trade(3, Side::Ask, 100.00, 6), &mut out);
        assert_eq!(fills_of(&out), vec![(px(100.25), 6, false)]);
        sim.on_market(&trade(4, Side::Ask, 99.75, 50), &mut out);
        assert_eq!(fills_of(&out), vec![(px(100.25), 9, true)]);
        assert_eq!(sim.working(), 0);
    }

    #[test]
    fn resting_limit_fills_only_when_traded_through() {
        let mut sim = venue(0);
        let mut out = FillBuf::new();
        sim.submit(&order(1, 2, OrderSide::Buy, OrderType::Limit, 99.50, 5)).expect("accepted");
        sim.submit(&order(2, 2, OrderSide::Sell, OrderType::Limit, 100.50, 5)).expect("accepted");
        sim.on_market(&status(2), &mut out);
        assert!(out.fills().is_empty() && out.expired().is_empty());
        assert_eq!(
            out.acks().iter().map(|a| a.client_order_id).collect::<Vec<_>>(),
            vec![1, 2],
            "both acknowledged"
        );
        // Prints at the limit prices that only consume the queue ahead (8 bid at 99.50, 20
        // offered at 100.50): no fill.
        sim.on_market(&trade(3, Side::Ask, 99.50, 8), &mut out);
        assert!(out.is_empty());
        sim.on_market(&trade(4, Side::Bid, 100.50, 20), &mut out);
        assert!(out.is_empty());
        assert_eq!((sim.remaining(1), sim.remaining(2)), (Some(5), Some(5)));
        // Through the buy: a print at 99.25 fills it at 99.50 (its limit), for ≤ the print's size.
        sim.on_market(&trade(5, Side::Ask, 99.25, 3), &mut out);
        assert_eq!(fills_of(&out), vec![(px(99.50), 3, false)]);
        assert_eq!(out.fills()[0].client_order_id, 1);
        assert_eq!(out.fills()[0].seq, 5);
        // Through the sell: a print at 100.75 fills it at 100.50.
        sim.on_market(&trade(6, Side::Bid, 100.75, 9), &mut out);
        assert_eq!(fills_of(&out), vec![(px(100.50), 5, true)]);
        assert_eq!(sim.remaining(1), Some(2));
        assert_eq!(sim.remaining(2), None);
    }

    #[test]
    fn one_print_is_shared_by_price_then_arrival() {
        let mut sim = venue(0);
        let mut out = FillBuf::new();
        sim.submit(&order(1, 2, OrderSide::Buy, OrderType::Limit, 99.25, 4)).expect("accepted");
        sim.submit(&order(2, 2, OrderSide::Buy, OrderType::Limit, 99.50, 4)).expect("accepted");
        sim.submit(&order(3, 2, OrderSide::Buy, OrderType::Limit, 99.25, 4)).expect("accepted");
        sim.on_market(&status(2), &mut out);
        sim.on_market(&trade(3, Side::Ask, 99.00, 7), &mut out);
        let got: Vec<(u64, u32)> = out.fills().iter().map(|f| (f.client_order_id, f.qty)).collect();
        assert_eq!(got, vec![(2, 4), (1, 3)]);
    }

    #[test]
    fn cancel_removes_a_working_order() {
        let mut sim = venue(1_000);
        let mut out = FillBuf::new();
        sim.submit(&order(5, 10, OrderSide::Buy, OrderType::Market, 0.0, 1)).expect("accepted");
        assert!(sim.cancel(5));
        assert!(!sim.cancel(5));
        sim.on_market(&status(5_000), &mut out);
        assert!(out.is_empty());
        // A resting limit too (GTC, so the session end cannot be what removes it).
        sim.submit(&order(6, 10, OrderSide::Buy, OrderType::Limit, 99.00, 1)).expect("accepted");
        sim.on_market(&status(5_000), &mut out);
        assert_eq!(sim.remaining(6), Some(1));
        assert!(sim.cancel(6));
        sim.on_market(&trade(6_000, Side::Ask, 98.00, 10), &mut out);
        assert!(out.is_empty());
        assert_eq!(sim.stats().cancelled, 2);
    }

    #[test]
    fn submit_validates() {
        let mut sim = venue(0);
        let ok = order(1, 0, OrderSide::Buy, OrderType::Limit, 99.00, 1);
        assert_eq!(sim.submit(&OrderIntent { qty: 0, ..ok }), Err(SubmitError::ZeroQty));
        assert_eq!(sim.submit(&OrderIntent { price: 0, ..ok }), Err(SubmitError::BadLimitPrice));
        assert_eq!(sim.submit(&OrderIntent { price: px(99.10), ..ok }), Err(SubmitError::OffTick));
        let stop = order(1, 0, OrderSide::Sell, OrderType::Stop, 99.00, 1);
        assert_eq!(sim.submit(&OrderIntent { trigger: 0, ..stop }), Err(SubmitError::BadTrigger));
        assert_eq!(sim.submit(&OrderIntent { trigger: px(98.9), ..stop }), Err(SubmitError::OffTick));
        assert_eq!(sim.submit(&ok), Ok(()));
        assert_eq!(sim.submit(&ok), Err(SubmitError::DuplicateId));
        for id in 2..=MAX_WORKING as u64 {
            assert_eq!(sim.submit(&OrderIntent { client_order_id: id, ..ok }), Ok(()));
        }
        assert_eq!(sim.submit(&OrderIntent { client_order_id: 999, ..ok }), Err(SubmitError::TableFull));
        assert_eq!(sim.stats().rejected, 7);
        assert_eq!(sim.working(), MAX_WORKING);
    }

    #[test]
    fn fill_buffer_never_grows() {
        let mut sim = SimVenue::new(SimConfig::with_entry_latency(0), ContractSpec::ES);
        let mut out = FillBuf::new();
        let cap = out.capacity();
        assert_eq!(cap, FILL_BUF_CAP);
        // A deep book, then the table full of market orders that each walk all levels.
        for d in 0..DEPTH as u8 {
            sim.on_market(&level(1, Side::Ask, d, 100.0 + f64::from(d) * 0.25, 1_000), &mut out);
        }
        for id in 0..MAX_WORKING as u64 {
            sim.submit(&order(id, 2, OrderSide::Buy, OrderType::Market, 0.0, 150)).expect("accepted");
        }
        sim.on_market(&status(2), &mut out);
        assert!(out.len() > MAX_WORKING);
        assert_eq!(out.fills().iter().map(|f| u64::from(f.qty)).sum::<u64>(), 150 * MAX_WORKING as u64);
        assert_eq!(out.fills().iter().filter(|f| f.done).count(), MAX_WORKING);
        assert_eq!(out.overflow(), 0);
        assert_eq!(out.capacity(), cap);
        assert!(out.expired().is_empty());
    }

    #[test]
    fn stops_trigger_on_prints_and_walk_the_book() {
        let mut sim = venue(0);
        let mut out = FillBuf::new();
        // A sell stop at 99.75 and a buy stop at 100.25 (asks 100.00 / 100.25 / 100.50).
        sim.submit(&order(1, 2, OrderSide::Sell, OrderType::Stop, 99.75, 3)).expect("accepted");
        sim.submit(&order(2, 2, OrderSide::Buy, OrderType::Stop, 100.25, 12)).expect("accepted");
        sim.on_market(&status(2), &mut out);
        assert!(out.fills().is_empty() && out.acks().len() == 2, "resting untriggered");
        // A print at 100.00 reaches neither trigger.
        sim.on_market(&trade(3, Side::Bid, 100.00, 1), &mut out);
        assert!(out.is_empty());
        assert_eq!(sim.triggered(2), Some(false));
        // A print at 100.25 triggers the buy stop: a market order walking the asks.
        sim.on_market(&trade(4, Side::Bid, 100.25, 1), &mut out);
        assert_eq!(fills_of(&out), vec![(px(100.00), 10, false), (px(100.25), 2, true)]);
        assert!(out.fills().iter().all(|f| f.client_order_id == 2));
        assert_eq!(out.fills()[1].leaves, 0);
        // A print at 99.75 (at the trigger) triggers the sell stop: it sells into the bids.
        sim.on_market(&trade(5, Side::Ask, 99.75, 1), &mut out);
        assert_eq!(fills_of(&out), vec![(px(99.75), 3, true)]);
        assert_eq!((sim.stats().triggered, sim.working()), (2, 0));
    }

    #[test]
    fn a_stop_already_through_on_arrival_triggers_at_once() {
        let mut sim = venue(0);
        let mut out = FillBuf::new();
        sim.on_market(&trade(2, Side::Ask, 99.50, 1), &mut out);
        sim.submit(&order(1, 3, OrderSide::Sell, OrderType::Stop, 99.75, 2)).expect("accepted");
        sim.on_market(&status(3), &mut out);
        assert_eq!(fills_of(&out), vec![(px(99.75), 2, true)]);
    }

    #[test]
    fn stop_limit_rests_at_its_limit_once_triggered() {
        let mut sim = venue(0);
        let mut out = FillBuf::new();
        // Sell stop-limit: trigger 99.50, limit 99.75 (the bid at 99.75 is depleted first).
        let mut o = order(1, 2, OrderSide::Sell, OrderType::StopLimit, 99.50, 20);
        o.price = px(99.75);
        sim.submit(&o).expect("accepted");
        sim.on_market(&status(2), &mut out);
        sim.on_market(&trade(3, Side::Ask, 99.50, 1), &mut out);
        // Triggered: sells 12 at 99.75 (the bid), stops at its limit, 8 rest at 99.75.
        assert_eq!(fills_of(&out), vec![(px(99.75), 12, false)]);
        assert_eq!((sim.remaining(1), sim.triggered(1)), (Some(8), Some(true)));
        // Resting as a limit: a print through it (> 99.75) fills it.
        sim.on_market(&trade(4, Side::Bid, 100.00, 5), &mut out);
        assert_eq!(fills_of(&out), vec![(px(99.75), 5, false)]);
        assert_eq!(out.fills()[0].leaves, 3);
    }

    #[test]
    fn ioc_remainder_expires() {
        let mut sim = venue(0);
        let mut out = FillBuf::new();
        let ioc = OrderIntent {
            tif: TimeInForce::Ioc,
            ..order(1, 2, OrderSide::Buy, OrderType::Limit, 100.25, 40)
        };
        sim.submit(&ioc).expect("accepted");
        sim.on_market(&status(2), &mut out);
        assert_eq!(fills_of(&out), vec![(px(100.00), 10, false), (px(100.25), 15, true)]);
        assert_eq!(out.fills()[1].leaves, 15, "done, with 15 never to fill");
        assert_eq!(
            out.expired(),
            &[Expired { client_order_id: 1, seq: 2, ts: 2, qty: 15, kind: ExecKind::Expired }]
        );
        assert_eq!((sim.working(), sim.stats().expired_qty), (0, 15));
        // Not marketable at all: expires whole.
        let ioc2 =
            OrderIntent { client_order_id: 2, ..order(2, 3, OrderSide::Buy, OrderType::Limit, 99.00, 1) };
        sim.submit(&OrderIntent { tif: TimeInForce::Ioc, ..ioc2 }).expect("accepted");
        sim.on_market(&status(3), &mut out);
        assert!(out.fills().is_empty());
        assert_eq!(out.expired().len(), 1);
    }

    #[test]
    fn day_orders_expire_at_the_session_end_gtc_stay() {
        // 2024-03-13 (CDT): 16:00 CT = 21:00 UTC.
        let d = Date::new(2024, 3, 13).expect("date");
        let end = d.at_chicago_ns(16, 0).expect("in range");
        assert_eq!(end, 1_710_363_600 * 1_000_000_000);
        let t0 = end - 3_600 * 1_000_000_000;
        assert_eq!(session_end_after(t0), end);
        assert_eq!(session_end_after(end), end + 86_400 * 1_000_000_000, "16:00 itself is the next session");
        let mut sim = venue(0);
        let mut out = FillBuf::new();
        let day =
            OrderIntent { tif: TimeInForce::Day, ..order(1, t0, OrderSide::Buy, OrderType::Limit, 99.00, 2) };
        let gtc =
            OrderIntent { client_order_id: 2, ..order(2, t0, OrderSide::Buy, OrderType::Limit, 99.00, 2) };
        sim.submit(&day).expect("accepted");
        sim.submit(&gtc).expect("accepted");
        sim.on_market(&status(t0), &mut out);
        sim.on_market(&status(end - 1), &mut out);
        assert!(out.is_empty());
        sim.on_market(&status(end), &mut out);
        assert_eq!(
            out.expired(),
            &[Expired { client_order_id: 1, seq: end, ts: end, qty: 2, kind: ExecKind::Expired }]
        );
        assert_eq!((sim.remaining(1), sim.remaining(2)), (None, Some(2)));
    }

    #[test]
    fn modify_changes_price_and_quantity_now() {
        let mut sim = venue(0);
        let mut out = FillBuf::new();
        let o = order(1, 2, OrderSide::Buy, OrderType::Limit, 99.00, 4);
        sim.submit(&o).expect("accepted");
        sim.on_market(&status(2), &mut out);
        sim.on_market(&trade(3, Side::Ask, 98.75, 1), &mut out);
        assert_eq!(sim.remaining(1), Some(3));
        let m = OrderIntent { action: OrderAction::Modify, qty: 2, price: px(99.25), ..o };
        assert_eq!(sim.submit(&OrderIntent { qty: 1, ..m }), Err(SubmitError::BadModify), "not above filled");
        assert_eq!(sim.submit(&OrderIntent { side: OrderSide::Sell, ..m }), Err(SubmitError::BadModify));
        assert_eq!(sim.submit(&m), Ok(()));
        assert_eq!(sim.remaining(1), Some(1), "total 2, 1 filled");
        // The new price: a print at 99.00 now trades through it.
        sim.on_market(&trade(4, Side::Ask, 99.00, 5), &mut out);
        assert_eq!(fills_of(&out), vec![(px(99.25), 1, true)]);
        let gone = OrderIntent { client_order_id: 9, ..m };
        assert_eq!(sim.submit(&gone), Err(SubmitError::NotWorking));
        let cancel = OrderIntent { action: OrderAction::Cancel, ..gone };
        assert_eq!(sim.submit(&cancel), Err(SubmitError::NotWorking));
        assert_eq!(sim.stats().modified, 1);
    }

    fn with_queue(model: QueueModelKind) -> SimVenue {
        let cfg =
            SimConfig { queue: QueueConfig { model, power_n: 2.0 }, ..SimConfig::with_entry_latency(0) };
        venue_with(SimVenue::new(cfg, ContractSpec::ES))
    }

    #[test]
    fn a_buy_behind_100_lots_fills_only_after_100_trade_at_its_price() {
        let mut sim = with_queue(QueueModelKind::RiskAverse);
        let mut out = FillBuf::new();
        sim.on_market(&level(2, Side::Bid, 0, 99.75, 100), &mut out);
        sim.submit(&order(1, 3, OrderSide::Buy, OrderType::Limit, 99.75, 5)).expect("accepted");
        sim.on_market(&status(3), &mut out);
        assert_eq!(sim.queue_ahead(1), Some(100.0));
        // A buy-aggressor print at the price is on the order's own side: nothing.
        sim.on_market(&trade(4, Side::Bid, 99.75, 30), &mut out);
        assert_eq!(sim.queue_ahead(1), Some(100.0));
        // 60 sold at 99.75, then the feed shows the level down by those 60 (no cancel).
        sim.on_market(&trade(5, Side::Ask, 99.75, 60), &mut out);
        assert!(out.fills().is_empty());
        sim.on_market(&level(6, Side::Bid, 0, 99.75, 40), &mut out);
        assert_eq!(sim.queue_ahead(1), Some(40.0));
        // The last 40 ahead trade: the queue is exhausted, still no fill.
        sim.on_market(&trade(7, Side::Ask, 99.75, 40), &mut out);
        assert!(out.fills().is_empty());
        assert_eq!((sim.queue_ahead(1), sim.remaining(1)), (Some(0.0), Some(5)));
        // 3 more: a partial fill of 3 at the limit, then 10 fill the last 2.
        sim.on_market(&trade(8, Side::Ask, 99.75, 3), &mut out);
        assert_eq!(fills_of(&out), vec![(px(99.75), 3, false)]);
        assert_eq!(out.fills()[0].leaves, 2);
        sim.on_market(&trade(9, Side::Ask, 99.75, 10), &mut out);
        assert_eq!(fills_of(&out), vec![(px(99.75), 2, true)]);
        assert_eq!(sim.working(), 0);
    }

    /// Joins behind 100, 50 more join behind it (150), then 50 are cancelled with no trade
    /// (100): front = 100, back = 50, chg = 50.
    fn cancel_behind_and_ahead(sim: &mut SimVenue) {
        let mut out = FillBuf::new();
        sim.on_market(&level(2, Side::Bid, 0, 99.75, 100), &mut out);
        sim.submit(&order(1, 3, OrderSide::Buy, OrderType::Limit, 99.75, 5)).expect("accepted");
        sim.on_market(&status(3), &mut out);
        sim.on_market(&level(4, Side::Bid, 0, 99.75, 150), &mut out);
        assert_eq!(sim.queue_ahead(1), Some(100.0), "growth is behind the order");
        sim.on_market(&level(5, Side::Bid, 0, 99.75, 100), &mut out);
    }

    #[test]
    fn cancels_advance_the_queue_only_as_the_model_says() {
        // risk_averse: a cancel is never ahead; only the level size caps the queue.
        let mut ra = with_queue(QueueModelKind::RiskAverse);
        cancel_behind_and_ahead(&mut ra);
        assert_eq!(ra.queue_ahead(1), Some(100.0));
        // power(n=2): p = 50²/(50² + 100²) = 0.2 behind, so 0.8·50 = 40 of it was ahead.
        let mut pw = with_queue(QueueModelKind::Power);
        cancel_behind_and_ahead(&mut pw);
        assert_eq!(pw.queue_ahead(1), Some(60.0));
        // So 65 contracts traded at the price fill 5 under power and nothing under risk_averse.
        let mut out = FillBuf::new();
        pw.on_market(&trade(6, Side::Ask, 99.75, 65), &mut out);
        assert_eq!(fills_of(&out), vec![(px(99.75), 5, true)]);
        ra.on_market(&trade(6, Side::Ask, 99.75, 65), &mut out);
        assert!(out.fills().is_empty());
        assert_eq!(ra.queue_ahead(1), Some(35.0));
        // A print through the price still fills whatever the queue (for ≤ the print's size).
        ra.on_market(&trade(7, Side::Ask, 99.50, 4), &mut out);
        assert_eq!(fills_of(&out), vec![(px(99.75), 4, false)]);
    }

    #[test]
    fn a_level_shift_inside_one_record_does_not_touch_the_queue() {
        // The order rests behind 12 at the best bid 99.75 (bids 12@99.75, 8@99.50).
        let mut sim = with_queue(QueueModelKind::RiskAverse);
        let mut out = FillBuf::new();
        sim.submit(&order(1, 2, OrderSide::Buy, OrderType::Limit, 99.75, 1)).expect("accepted");
        sim.on_market(&status(2), &mut out);
        assert_eq!(sim.queue_ahead(1), Some(12.0));
        // One record inserts a better bid 100.00: every bid level shifts down one depth, one
        // `Level` event per depth, `LAST` on the last. After the first event 99.75 is missing
        // from the replica (100.00, 99.50); that transient state is not a size of 0 at 99.75.
        let shift = |d: u8, p: f64, size: u32, f: u8| Event::level(3, 3, Side::Bid, d, px(p), size, 1, f);
        sim.on_market(&shift(0, 100.00, 1, 0), &mut out);
        sim.on_market(&shift(1, 99.75, 12, 0), &mut out);
        sim.on_market(&shift(2, 99.50, 8, flags::LAST), &mut out);
        assert_eq!(sim.queue_ahead(1), Some(12.0), "the level still holds 12 ahead of the order");
        // So a 10-lot print at 99.75 does not fill it (it did when the transient 0 capped the queue).
        sim.on_market(&trade(4, Side::Ask, 99.75, 10), &mut out);
        assert!(out.fills().is_empty());
        assert_eq!(sim.queue_ahead(1), Some(2.0));
        // A record that really removes 99.75 (the levels shift back up) empties the queue ahead.
        sim.on_market(&shift(1, 99.50, 8, 0), &mut out);
        sim.on_market(&Event::level(5, 5, Side::Bid, 2, UNDEF_PX, 0, 0, flags::LAST), &mut out);
        assert_eq!(sim.queue_ahead(1), Some(0.0));
    }

    #[test]
    fn a_record_without_last_reaches_the_queues_at_the_next_print_or_mbo_record() {
        let mut sim = with_queue(QueueModelKind::RiskAverse);
        let mut out = FillBuf::new();
        sim.submit(&order(1, 2, OrderSide::Buy, OrderType::Limit, 99.75, 1)).expect("accepted");
        sim.on_market(&status(2), &mut out);
        // 99.75 drops to 3 in a record of an open exchange event (no LAST yet).
        sim.on_market(&Event::level(3, 3, Side::Bid, 0, px(99.75), 3, 1, 0), &mut out);
        assert_eq!(sim.queue_ahead(1), Some(12.0), "not applied mid exchange event");
        // The print that follows sees the capped queue: 4 sold at 99.75 fill the order.
        sim.on_market(&Event::trade(3, 3, Side::Ask, px(99.75), 4, 0), &mut out);
        assert_eq!(fills_of(&out), vec![(px(99.75), 1, true)]);
        // The next MBO record also closes the previous one.
        sim.submit(&order(2, 4, OrderSide::Buy, OrderType::Limit, 99.50, 1)).expect("accepted");
        sim.on_market(&status(4), &mut out);
        assert_eq!(sim.queue_ahead(2), Some(8.0));
        sim.on_market(&Event::level(5, 5, Side::Bid, 1, px(99.50), 2, 1, 0), &mut out);
        assert_eq!(sim.queue_ahead(2), Some(8.0));
        sim.on_market(&Event::mbo(6, 6, b'A', Side::Ask, 7, px(101.0), 1, 0), &mut out);
        assert_eq!(sim.queue_ahead(2), Some(2.0));
    }

    #[test]
    fn a_price_beyond_the_visible_depth_waits_for_its_first_size() {
        let mut sim = with_queue(QueueModelKind::RiskAverse);
        let mut out = FillBuf::new();
        // 99.00 is below the worst visible bid (99.50): its size is unknown.
        sim.submit(&order(1, 2, OrderSide::Buy, OrderType::Limit, 99.00, 1)).expect("accepted");
        sim.on_market(&status(2), &mut out);
        sim.on_market(&trade(3, Side::Ask, 99.00, 50), &mut out);
        assert!(out.fills().is_empty(), "unknown queue: a print at the price does not fill");
        // The level comes into view with 7: that is the queue ahead.
        sim.on_market(&level(4, Side::Bid, 2, 99.00, 7), &mut out);
        assert_eq!(sim.queue_ahead(1), Some(7.0));
        sim.on_market(&trade(5, Side::Ask, 99.00, 8), &mut out);
        assert_eq!(fills_of(&out), vec![(px(99.00), 1, true)]);
    }

    #[test]
    fn a_modify_keeps_priority_on_a_decrease_and_loses_it_on_a_reprice() {
        let mut sim = with_queue(QueueModelKind::RiskAverse);
        let mut out = FillBuf::new();
        let o = order(1, 2, OrderSide::Buy, OrderType::Limit, 99.50, 4);
        sim.submit(&o).expect("accepted");
        sim.on_market(&status(2), &mut out);
        sim.on_market(&trade(3, Side::Ask, 99.50, 6), &mut out);
        assert_eq!(sim.queue_ahead(1), Some(2.0), "8 ahead, 6 traded");
        sim.submit(&OrderIntent { action: OrderAction::Modify, qty: 3, ..o }).expect("modified");
        assert_eq!(sim.queue_ahead(1), Some(2.0), "a decrease keeps the place");
        sim.submit(&OrderIntent { action: OrderAction::Modify, qty: 3, price: px(99.75), ..o })
            .expect("modified");
        assert_eq!(sim.queue_ahead(1), Some(12.0), "a new price: the back of its queue");
    }

    #[test]
    fn one_print_at_the_price_is_shared_in_arrival_order() {
        let mut sim = with_queue(QueueModelKind::RiskAverse);
        let mut out = FillBuf::new();
        // 99.25 is empty and inside no visible level: placed below the worst bid, so first put
        // a level there (2 lots) and let both orders join behind it.
        sim.on_market(&level(2, Side::Bid, 2, 99.25, 2), &mut out);
        sim.submit(&order(1, 3, OrderSide::Buy, OrderType::Limit, 99.25, 3)).expect("accepted");
        sim.submit(&order(2, 3, OrderSide::Buy, OrderType::Limit, 99.25, 3)).expect("accepted");
        sim.on_market(&status(3), &mut out);
        // 6 trade: 2 for the queue, 4 left: 3 to the first order, 1 to the second.
        sim.on_market(&trade(4, Side::Ask, 99.25, 6), &mut out);
        let got: Vec<(u64, u32)> = out.fills().iter().map(|f| (f.client_order_id, f.qty)).collect();
        assert_eq!(got, vec![(1, 3), (2, 1)]);
        // The second stays at the front: the next 2 fill it.
        sim.on_market(&trade(5, Side::Ask, 99.25, 2), &mut out);
        assert_eq!(fills_of(&out), vec![(px(99.25), 2, true)]);
    }

    /// Fill instants of 8 market orders submitted 10 µs apart under `cfg`.
    fn arrival_times(cfg: SimConfig) -> Vec<u64> {
        let mut sim = venue_with(SimVenue::new(cfg, ContractSpec::ES));
        let mut out = FillBuf::new();
        for id in 0..8u64 {
            sim.submit(&order(id, 10 + id * 10_000, OrderSide::Buy, OrderType::Market, 0.0, 1))
                .expect("accepted");
        }
        let mut times = vec![0; 8];
        for t in (0..2_000_000u64).step_by(1_000) {
            sim.on_market(&status(t), &mut out);
            for f in out.fills() {
                times[f.client_order_id as usize] = f.ts;
            }
        }
        times
    }

    #[test]
    fn jittered_latency_is_deterministic_by_seed() {
        let cfg = |seed| SimConfig {
            latency: LatencyConfig {
                entry_ns: 250_000,
                jitter_ns: 500_000,
                seed,
                ..LatencyConfig::default()
            },
            ..SimConfig::default()
        };
        let a = arrival_times(cfg(7));
        assert_eq!(a, arrival_times(cfg(7)), "same seed, same fill times");
        assert_ne!(a, arrival_times(cfg(8)), "another seed, other times");
        for (id, t) in a.iter().enumerate() {
            let sent = 10 + id as u64 * 10_000;
            assert!(*t >= sent + 250_000 && *t <= sent + 750_000 + 1_000, "order {id}: {t}");
        }
        // No jitter: exactly the constant (rounded up to the next event, 1 µs apart).
        let c = arrival_times(SimConfig::with_entry_latency(250_000));
        assert_eq!(c[0], 251_000);
        assert_eq!(c[3], 281_000);
    }

    #[test]
    fn fills_pay_the_tier_schedule_by_month() {
        use crate::fees::ProductFees;
        let es = ProductFees {
            tier_max_contracts: vec![10],
            commission_usd: vec![1.0, 0.5],
            exchange_usd: 0.1,
            clearing_usd: 0.0,
            nfa_usd: 0.0,
        };
        let fees = FeeConfig { es, ..FeeConfig::default() };
        let sim = SimVenue::new(SimConfig::with_entry_latency(0), ContractSpec::ES).with_fees(&fees);
        let mut sim = venue_with(sim);
        let mut out = FillBuf::new();
        // 15 contracts: 10 at 100.00 (tier 1: 1.1 each), 5 at 100.25 (tier 2: 0.6 each).
        sim.submit(&order(1, 2, OrderSide::Buy, OrderType::Market, 0.0, 15)).expect("accepted");
        sim.on_market(&status(2), &mut out);
        let fees_of = |out: &FillBuf| out.fills().iter().map(|f| f.fee.nano()).collect::<Vec<_>>();
        assert_eq!(fees_of(&out), vec![11_000_000_000, 3_000_000_000]);
        // Still January 1970: tier 2.
        sim.submit(&order(2, 3, OrderSide::Sell, OrderType::Market, 0.0, 1)).expect("accepted");
        sim.on_market(&status(3), &mut out);
        assert_eq!(fees_of(&out), vec![600_000_000]);
        // February 1970 (day 40): the month restarts in tier 1.
        let feb = 40 * 86_400 * 1_000_000_000;
        sim.submit(&order(3, feb, OrderSide::Sell, OrderType::Market, 0.0, 1)).expect("accepted");
        sim.on_market(&status(feb), &mut out);
        assert_eq!(fees_of(&out), vec![1_100_000_000]);
        // MES uses its own table by default: 0.25 + 0.35 + 0.02 + 0.02.
        let mut mes = venue_with(SimVenue::new(SimConfig::with_entry_latency(0), ContractSpec::MES));
        mes.submit(&order(1, 2, OrderSide::Buy, OrderType::Market, 0.0, 2)).expect("accepted");
        mes.on_market(&status(2), &mut out);
        assert_eq!(fees_of(&out), vec![1_280_000_000]);
    }

    #[test]
    fn the_description_names_the_models() {
        let d = SimVenue::new(SimConfig::default(), ContractSpec::ES).describe();
        assert_eq!(
            d,
            "sim (queue: risk_averse, latency: constant(250000+U[0,0] ns, response 250000 ns, seed 1), \
             fees: ES tiered commission 0.85/0.65/0.45/0.25 USD (monthly contracts \
             ≤1000/≤10000/≤20000/more) + exchange 1.38 + clearing 0.02 + NFA 0.02 per contract per side)"
        );
        let d = with_queue(QueueModelKind::Power).describe();
        assert!(d.starts_with("sim (queue: power(n=2), latency: constant("), "{d}");
        let d = with_queue(QueueModelKind::L3Fifo).describe();
        assert!(
            d.contains("l3_fifo needs MBO input, this input has no MBO records: ran as risk_averse"),
            "{d}"
        );
        assert_eq!(
            Venue::describe(&with_queue(QueueModelKind::Log)),
            with_queue(QueueModelKind::Log).describe()
        );
    }
}
