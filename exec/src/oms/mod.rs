//! The order manager: every order's state machine, brackets with OCO children, unique and
//! idempotent client order ids, in fixed memory.
//!
//! [`OrderManager`] owns the orders; it never talks to a venue or to risk itself. Its methods
//! take what happened (an order was sent, acknowledged, filled, cancelled, expired, refused)
//! and move the order through [`OrderState`]; what the caller must do next (send a bracket's
//! children, resize them, cancel an OCO sibling) comes back as [`Cmd`]s in a fixed [`Cmds`]
//! buffer. The exec stage runs the commands through [`RiskManager::approve`] and the venue,
//! which keeps approval the only way to an order.
//!
//! - **State machine**: a transition outside [`OrderState::can_become`], or a report about an
//!   id the manager does not hold, is refused with an [`OmsError`], counted in
//!   [`OmsCounters`] and logged in a fixed ring ([`OrderManager::errors`]); nothing panics.
//! - **Late fills**: a fill of an order already reported cancelled, expired or rejected is
//!   recorded and returned as [`Applied::Late`] (the order keeps its end state): the venue's
//!   execution outranks its end report, and the caller books it.
//! - **Idempotency**: a repeated acknowledgement, or a repeated fill (recognised by its
//!   [`Fill::leaves`]: a fill that does not lower the order's leaves quantity is one already
//!   applied), returns [`Applied::Duplicate`] and changes nothing.
//! - **Brackets** ([`OrderManager::bracket`]): an entry order with a protective stop (a stop
//!   order) and a profit target (a limit order) on the other side, GTC. The children are
//!   created only when the entry fills, sized to the filled quantity; a further entry fill
//!   resizes them; a child fill cancels the entry's remainder and resizes or cancels its
//!   sibling (OCO: the two children together never cover more than the open quantity).
//! - **Native brackets** ([`OrderManager::bracket_native`]), for venues that hold a bracket
//!   themselves (IBKR parent + OCA children, DTC parent + OCO pair): both children are created
//!   with the entry, sized to its full quantity, and sent right after it (the entry's intent
//!   says `children = 2`, so the venue holds it until they arrive). The venue activates them as
//!   the entry fills and cancels the sibling when one fills; the manager still cancels a
//!   finished sibling itself (a harmless repeat when the venue did it first), and when the
//!   entry ends partly filled or unfilled it resizes or cancels the children
//!   ([`OrderManager::after_end`]).
//! - **Ids**: [`IdGen`] with a persistable high-water mark; see [`ids`].
//! - **Memory**: [`ORDERS_CAP`] order slots addressed by `id mod ORDERS_CAP` (ids increase, so
//!   a slot is reused only when the order ORDERS_CAP ids earlier is finished; every lookup is
//!   O(1)), [`BRACKETS_CAP`] brackets, [`LOG_CAP`] logged errors. Nothing allocates.
//!
//! [`RiskManager::approve`]: crate::risk::RiskManager::approve

pub mod ids;
pub mod state;

pub use ids::IdGen;
pub use state::{OrderState, STATES};

use mia_model::msg::{ExecKind, Fill, OrderAction, OrderIntent, OrderSide, OrderType, TimeInForce};
use mia_model::price::Px;

/// Order slots (a power of two: the slot of id `n` is `n mod ORDERS_CAP`).
pub const ORDERS_CAP: usize = 256;
const SLOT_MASK: u64 = ORDERS_CAP as u64 - 1;
const _: () = assert!(ORDERS_CAP.is_power_of_two());

/// Brackets that can be open at once.
pub const BRACKETS_CAP: usize = 8;

/// Errors kept in the log ring.
pub const LOG_CAP: usize = 32;

/// Most commands one call can produce (a child fill: cancel the entry, resize the sibling).
pub const CMDS_CAP: usize = 4;

const NO_BRACKET: u8 = u8::MAX;

#[inline]
fn side_index(side: OrderSide) -> usize {
    usize::from(side == OrderSide::Sell)
}

/// The slot of [`OrderManager::live`] order `o` counts in, and how much.
#[inline]
fn live_of(o: &Order) -> (usize, u64) {
    (side_index(o.side), if o.state.is_working() { u64::from(o.leaves()) } else { 0 })
}

/// What an order is for.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Role {
    /// A stand-alone order.
    #[default]
    Single = 0,
    /// The entry of a bracket.
    Entry = 1,
    /// A bracket's protective stop.
    Stop = 2,
    /// A bracket's profit target.
    Target = 3,
}

/// New terms of a working order (each 0 = unchanged).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Amend {
    /// New total quantity (filled included).
    pub qty: u32,
    /// New limit price.
    pub price: Px,
    /// New trigger price.
    pub trigger: Px,
}

impl Amend {
    /// A quantity change only.
    pub fn qty(qty: u32) -> Self {
        Self { qty, ..Self::default() }
    }
}

/// What to create: the order's terms plus two values the manager keeps for its caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderSpec {
    /// Buy or sell.
    pub side: OrderSide,
    /// Order type.
    pub order_type: OrderType,
    /// Time in force.
    pub tif: TimeInForce,
    /// Contracts (> 0).
    pub qty: u32,
    /// Limit price (`Limit`, `StopLimit`).
    pub price: Px,
    /// Trigger price (`Stop`, `StopLimit`).
    pub trigger: Px,
    /// Caller's tag (the exec stage stores the exit reason the order stands for).
    pub tag: u8,
    /// Caller's decision price (for slippage).
    pub ref_px: Px,
}

impl OrderSpec {
    /// A market order (DAY).
    pub fn market(side: OrderSide, qty: u32) -> Self {
        Self {
            side,
            order_type: OrderType::Market,
            tif: TimeInForce::Day,
            qty,
            price: 0,
            trigger: 0,
            tag: 0,
            ref_px: 0,
        }
    }

    /// A limit order at `price` (DAY).
    pub fn limit(side: OrderSide, qty: u32, price: Px) -> Self {
        Self { order_type: OrderType::Limit, price, ..Self::market(side, qty) }
    }

    /// A stop order triggered at `trigger` (DAY).
    pub fn stop(side: OrderSide, qty: u32, trigger: Px) -> Self {
        Self { order_type: OrderType::Stop, trigger, ..Self::market(side, qty) }
    }

    /// A stop-limit order: triggered at `trigger`, then a limit at `price` (DAY).
    pub fn stop_limit(side: OrderSide, qty: u32, trigger: Px, price: Px) -> Self {
        Self { order_type: OrderType::StopLimit, trigger, price, ..Self::market(side, qty) }
    }

    /// The same with time in force `tif`.
    pub fn with_tif(self, tif: TimeInForce) -> Self {
        Self { tif, ..self }
    }

    /// The same with the caller's tag and decision price.
    pub fn with_tag(self, tag: u8, ref_px: Px) -> Self {
        Self { tag, ref_px, ..self }
    }

    fn check(&self) -> Result<(), OmsError> {
        if self.qty == 0 {
            return Err(OmsError::BadOrder("qty: must be > 0"));
        }
        if self.order_type.has_limit() && self.price <= 0 {
            return Err(OmsError::BadOrder("price: a limit price must be > 0"));
        }
        if self.order_type.has_trigger() && self.trigger <= 0 {
            return Err(OmsError::BadOrder("trigger: a trigger price must be > 0"));
        }
        Ok(())
    }
}

/// One order as the manager knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Order {
    /// Client order id (0 = empty slot).
    pub id: u64,
    /// Buy or sell.
    pub side: OrderSide,
    /// Order type.
    pub order_type: OrderType,
    /// Time in force.
    pub tif: TimeInForce,
    /// Total quantity (after modifies).
    pub qty: u32,
    /// Quantity filled so far.
    pub filled: u32,
    /// Limit price.
    pub price: Px,
    /// Trigger price.
    pub trigger: Px,
    /// State.
    pub state: OrderState,
    /// Role in a bracket.
    pub role: Role,
    /// The bracket's entry id for a child (0 otherwise).
    pub parent: u64,
    /// A cancel was requested and not yet confirmed.
    pub cancel_pending: bool,
    /// The latest cancel request could not be handed to the venue
    /// ([`OrderManager::cancel_lost`]): it must be sent again.
    pub cancel_lost: bool,
    /// The caller's tag.
    pub tag: u8,
    /// The caller's decision price.
    pub ref_px: Px,
    /// Event time of creation (ns).
    pub created_ts: u64,
    bracket: u8,
}

impl Order {
    /// Quantity not yet filled.
    #[inline]
    pub fn leaves(&self) -> u32 {
        self.qty.saturating_sub(self.filled)
    }
}

/// Why the manager refused something.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OmsError {
    /// No order with this id is held (never created, or its slot was reused long after).
    UnknownId(u64),
    /// The transition is not in the state machine's table.
    Illegal {
        /// The order.
        id: u64,
        /// Its state.
        from: OrderState,
        /// The state the event asked for.
        to: OrderState,
    },
    /// A fill with no quantity, the wrong side, or more than the order's leaves quantity.
    BadFill(u64),
    /// The order's slot still holds an unfinished order ([`ORDERS_CAP`]).
    TableFull,
    /// [`BRACKETS_CAP`] brackets are open.
    BracketsFull,
    /// The order's terms are invalid (`"field: reason"`).
    BadOrder(&'static str),
    /// A cancel or modify of an order that is not working.
    NotWorking(u64),
    /// A fill arrived for an order already reported ended (booked all the same; see
    /// [`Applied::Late`]). Logged, not returned as an error.
    LateFill(u64),
}

/// What an accepted event did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    /// The order moved to this state.
    Changed(OrderState),
    /// A repeat of something already applied: nothing changed.
    Duplicate,
    /// A fill of an order the venue had already reported ended (cancelled, expired or
    /// rejected): the venue executed it all the same, so the quantity is recorded (the order
    /// stays in its end state) and the caller books it. Counted in
    /// [`OmsCounters::late_fills`] and logged as [`OmsError::LateFill`].
    Late,
}

/// What the caller must do after an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmd {
    /// Send this new order (it is in `New`; report the outcome with
    /// [`OrderManager::on_submitted`] or [`OrderManager::on_submit_failed`]).
    Submit(u64),
    /// Change this working order's total quantity to `qty` (then [`OrderManager::on_modified`]).
    Modify {
        /// The order.
        id: u64,
        /// New total quantity (filled included).
        qty: u32,
    },
    /// Cancel this working order (its cancel is already marked pending).
    Cancel(u64),
}

/// Fixed-capacity command buffer.
#[derive(Clone, Copy, Debug)]
pub struct Cmds {
    buf: [Cmd; CMDS_CAP],
    len: usize,
    /// Commands dropped because the buffer was full (never, with the manager's own use).
    pub overflow: u64,
}

impl Default for Cmds {
    fn default() -> Self {
        Self { buf: [Cmd::Cancel(0); CMDS_CAP], len: 0, overflow: 0 }
    }
}

impl Cmds {
    /// The commands, in order.
    pub fn as_slice(&self) -> &[Cmd] {
        &self.buf[..self.len]
    }

    /// Empties the buffer.
    pub fn clear(&mut self) {
        self.len = 0;
    }

    fn push(&mut self, c: Cmd) {
        if self.len < CMDS_CAP {
            self.buf[self.len] = c;
            self.len += 1;
        } else {
            self.overflow += 1;
        }
    }
}

/// Counters of the manager.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct OmsCounters {
    /// Orders created.
    pub created: u64,
    /// Brackets created.
    pub brackets: u64,
    /// Legal transitions made, `[from][to]` by state code.
    pub transitions: [[u64; STATES]; STATES],
    /// Illegal transitions refused.
    pub illegal: u64,
    /// Events about unknown ids.
    pub unknown: u64,
    /// Fills refused ([`OmsError::BadFill`]).
    pub bad_fills: u64,
    /// Repeated reports ignored.
    pub duplicates: u64,
    /// Orders refused for lack of a slot.
    pub table_full: u64,
    /// Fills whose reported leaves quantity disagreed with the manager's (applied anyway).
    pub leaves_mismatch: u64,
    /// Fills of orders already reported ended, booked all the same ([`Applied::Late`]).
    pub late_fills: u64,
}

/// A logged refusal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogEntry {
    /// Event time (ns).
    pub ts: u64,
    /// What was refused.
    pub error: OmsError,
}

/// A bracket's orders.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Bracket {
    /// The entry order.
    pub entry: u64,
    /// The stop child (0 until the entry fills).
    pub stop: u64,
    /// The target child (0 until the entry fills).
    pub target: u64,
    /// Stop trigger price.
    pub stop_px: Px,
    /// Target limit price.
    pub target_px: Px,
    /// A native bracket: the children were created with the entry and live at the venue.
    pub native: bool,
    in_use: bool,
}

/// The order manager; see the [module docs](self).
#[derive(Clone, Debug)]
pub struct OrderManager {
    orders: [Order; ORDERS_CAP],
    brackets: [Bracket; BRACKETS_CAP],
    ids: IdGen,
    log: [LogEntry; LOG_CAP],
    log_len: usize,
    log_next: usize,
    counters: OmsCounters,
    /// Leaves of the orders the venue may still execute, `[buy, sell]` (every working order,
    /// cancel-pending ones included). Invariant: equals a scan of the table; every change of
    /// an order's state, filled or total quantity goes through [`OrderManager::unlive`] before
    /// and [`OrderManager::relive`] after.
    live: [u64; 2],
}

impl Default for OrderManager {
    fn default() -> Self {
        Self::new(IdGen::new())
    }
}

impl OrderManager {
    /// An empty manager issuing ids from `ids`.
    pub fn new(ids: IdGen) -> Self {
        Self {
            orders: [Order::default(); ORDERS_CAP],
            brackets: [Bracket::default(); BRACKETS_CAP],
            ids,
            log: [LogEntry { ts: 0, error: OmsError::TableFull }; LOG_CAP],
            log_len: 0,
            log_next: 0,
            counters: OmsCounters::default(),
            live: [0; 2],
        }
    }

    /// Contracts on `side` the venue may still execute: the leaves of every working order,
    /// including those whose cancel is requested but not confirmed (they can still fill).
    /// O(1). The exec stage adds this to the position for risk's worst case.
    #[inline]
    pub fn live_qty(&self, side: OrderSide) -> u64 {
        self.live[side_index(side)]
    }

    /// True while any order may still execute at the venue (see [`OrderManager::live_qty`]).
    #[inline]
    pub fn any_live(&self) -> bool {
        self.live != [0; 2]
    }

    #[inline]
    fn unlive(&mut self, i: usize) {
        let (s, q) = live_of(&self.orders[i]);
        self.live[s] = self.live[s].saturating_sub(q);
    }

    #[inline]
    fn relive(&mut self, i: usize) {
        let (s, q) = live_of(&self.orders[i]);
        self.live[s] += q;
    }

    /// Continues ids after `hwm` (a persisted [`IdGen::hwm`]); never moves the generator back.
    pub fn resume_ids(&mut self, hwm: u64) {
        if hwm > self.ids.hwm() {
            self.ids = IdGen::resume(hwm);
        }
    }

    /// The id generator's high-water mark (persist it to resume after a restart).
    pub fn id_hwm(&self) -> u64 {
        self.ids.hwm()
    }

    /// Counters.
    pub fn counters(&self) -> &OmsCounters {
        &self.counters
    }

    /// The order with id `id`, if held.
    #[inline]
    pub fn get(&self, id: u64) -> Option<&Order> {
        self.slot(id).map(|i| &self.orders[i])
    }

    /// Every slot (empty ones have id 0), for scans on rare paths (kill, reports).
    pub fn orders(&self) -> &[Order] {
        &self.orders
    }

    /// Number of working orders (a scan; for reports and tests).
    pub fn working(&self) -> usize {
        self.orders.iter().filter(|o| o.id != 0 && o.state.is_working()).count()
    }

    /// The bracket whose entry is `entry`, while it is open.
    pub fn bracket_of(&self, entry: u64) -> Option<&Bracket> {
        let o = self.get(entry)?;
        self.brackets.get(usize::from(o.bracket)).filter(|b| b.in_use && b.entry == entry)
    }

    /// The logged refusals, oldest first (the last [`LOG_CAP`]).
    pub fn errors(&self) -> impl Iterator<Item = &LogEntry> {
        let start = (self.log_next + LOG_CAP - self.log_len) % LOG_CAP;
        (0..self.log_len).map(move |k| &self.log[(start + k) % LOG_CAP])
    }

    #[inline]
    fn slot(&self, id: u64) -> Option<usize> {
        let i = (id & SLOT_MASK) as usize;
        (id != 0 && self.orders[i].id == id).then_some(i)
    }

    fn log(&mut self, ts: u64, error: OmsError) -> OmsError {
        self.log[self.log_next] = LogEntry { ts, error };
        self.log_next = (self.log_next + 1) % LOG_CAP;
        self.log_len = (self.log_len + 1).min(LOG_CAP);
        error
    }

    fn find(&mut self, id: u64, ts: u64) -> Result<usize, OmsError> {
        match self.slot(id) {
            Some(i) => Ok(i),
            None => {
                self.counters.unknown += 1;
                Err(self.log(ts, OmsError::UnknownId(id)))
            }
        }
    }

    /// Moves order `i` to `to` if the table allows it.
    fn go(&mut self, i: usize, to: OrderState, ts: u64) -> Result<Applied, OmsError> {
        let from = self.orders[i].state;
        if !from.can_become(to) {
            self.counters.illegal += 1;
            return Err(self.log(ts, OmsError::Illegal { id: self.orders[i].id, from, to }));
        }
        self.counters.transitions[from as usize][to as usize] += 1;
        self.unlive(i);
        self.orders[i].state = to;
        self.relive(i);
        if to.is_terminal() {
            self.orders[i].cancel_pending = false;
            self.close_bracket_if_done(i);
        }
        Ok(Applied::Changed(to))
    }

    /// Creates an order in `New` and returns its id.
    ///
    /// # Errors
    /// [`OmsError::BadOrder`] for invalid terms, [`OmsError::TableFull`] when the id's slot still
    /// holds an unfinished order.
    pub fn create(&mut self, spec: OrderSpec, ts: u64) -> Result<u64, OmsError> {
        self.create_as(spec, Role::Single, 0, NO_BRACKET, ts)
    }

    fn create_as(
        &mut self,
        spec: OrderSpec,
        role: Role,
        parent: u64,
        bracket: u8,
        ts: u64,
    ) -> Result<u64, OmsError> {
        if let Err(e) = spec.check() {
            return Err(self.log(ts, e));
        }
        let id = self.ids.next_id();
        let i = (id & SLOT_MASK) as usize;
        let old = &self.orders[i];
        if old.id != 0 && !old.state.is_terminal() {
            self.counters.table_full += 1;
            return Err(self.log(ts, OmsError::TableFull));
        }
        self.orders[i] = Order {
            id,
            side: spec.side,
            order_type: spec.order_type,
            tif: spec.tif,
            qty: spec.qty,
            filled: 0,
            price: spec.price,
            trigger: spec.trigger,
            state: OrderState::New,
            role,
            parent,
            cancel_pending: false,
            cancel_lost: false,
            tag: spec.tag,
            ref_px: spec.ref_px,
            created_ts: ts,
            bracket,
        };
        self.counters.created += 1;
        Ok(id)
    }

    /// Creates a bracket: the entry `entry` (in `New`, to send now) with a stop child at
    /// `stop_px` and a target child at `target_px`, created when the entry fills. Returns the
    /// entry's id.
    ///
    /// # Errors
    /// [`OmsError::BadOrder`] when the prices are not on the right sides (a buy needs
    /// `stop_px < target_px`, and a limit entry between them; a sell the reverse),
    /// [`OmsError::BracketsFull`], or the errors of [`OrderManager::create`].
    pub fn bracket(
        &mut self,
        entry: OrderSpec,
        stop_px: Px,
        target_px: Px,
        ts: u64,
    ) -> Result<u64, OmsError> {
        let d = entry.side.sign();
        if stop_px <= 0 || target_px <= 0 || d * (target_px - stop_px) <= 0 {
            return Err(self.log(
                ts,
                OmsError::BadOrder("stop/target: the stop must be on the loss side of the target"),
            ));
        }
        if entry.order_type.has_limit()
            && (d * (entry.price - stop_px) <= 0 || d * (target_px - entry.price) <= 0)
        {
            return Err(
                self.log(ts, OmsError::BadOrder("price: a limit entry must lie between stop and target"))
            );
        }
        let Some(b) = self.brackets.iter().position(|b| !b.in_use) else {
            return Err(self.log(ts, OmsError::BracketsFull));
        };
        let id = self.create_as(entry, Role::Entry, 0, b as u8, ts)?;
        self.brackets[b] =
            Bracket { entry: id, stop: 0, target: 0, stop_px, target_px, native: false, in_use: true };
        self.counters.brackets += 1;
        Ok(id)
    }

    /// Creates a *native* bracket (see the [module docs](self)): the entry and both children,
    /// all in `New`, the children sized to the entry's full quantity. Send the entry first,
    /// then the stop, then the target, in one batch. Returns `(entry, stop, target)`.
    ///
    /// # Errors
    /// As [`OrderManager::bracket`]; when a child cannot be created the whole bracket is
    /// abandoned (its orders rejected) and the error returned.
    pub fn bracket_native(
        &mut self,
        entry: OrderSpec,
        stop_px: Px,
        target_px: Px,
        ts: u64,
    ) -> Result<(u64, u64, u64), OmsError> {
        let id = self.bracket(entry, stop_px, target_px, ts)?;
        let Some(i) = self.slot(id) else { return Err(OmsError::UnknownId(id)) };
        let b = usize::from(self.orders[i].bracket);
        self.brackets[b].native = true;
        let exit = if entry.side == OrderSide::Buy { OrderSide::Sell } else { OrderSide::Buy };
        let q = entry.qty;
        let stop = OrderSpec::stop(exit, q, stop_px).with_tif(TimeInForce::Gtc).with_tag(entry.tag, stop_px);
        let target =
            OrderSpec::limit(exit, q, target_px).with_tif(TimeInForce::Gtc).with_tag(entry.tag, target_px);
        let bi = b as u8;
        let made = self
            .create_as(stop, Role::Stop, id, bi, ts)
            .and_then(|s| self.create_as(target, Role::Target, id, bi, ts).map(|t| (s, t)));
        match made {
            Ok((s, t)) => {
                self.brackets[b].stop = s;
                self.brackets[b].target = t;
                Ok((id, s, t))
            }
            Err(e) => {
                for k in [id, self.brackets[b].stop] {
                    if let Some(j) = self.slot(k) {
                        let _ = self.go(j, OrderState::Rejected, ts);
                    }
                }
                self.brackets[b].in_use = false;
                Err(e)
            }
        }
    }

    /// After the venue ended order `id` ([`OrderManager::on_end`]): for the entry of a native
    /// bracket, cancels the children when nothing filled and shrinks them to the filled
    /// quantity when part did (the venue sized them to the full entry).
    pub fn after_end(&mut self, id: u64, ts: u64, cmds: &mut Cmds) {
        let Some(o) = self.get(id).copied() else { return };
        let b = usize::from(o.bracket);
        if o.role != Role::Entry || b >= BRACKETS_CAP || !self.brackets[b].in_use || !self.brackets[b].native
        {
            return;
        }
        self.resize_children(b, ts, cmds);
    }

    /// The request to send for order `id` (new), `None` if it is unknown.
    pub fn intent(&self, id: u64, seq: u64, ts: u64, instrument_id: u32) -> Option<OrderIntent> {
        let o = self.get(id)?;
        Some(OrderIntent {
            client_order_id: id,
            seq,
            ts,
            price: if o.order_type.has_limit() { o.price } else { 0 },
            trigger: if o.order_type.has_trigger() { o.trigger } else { 0 },
            qty: o.qty,
            instrument_id,
            link: if o.parent != 0 { id.saturating_sub(o.parent).min(u64::from(u16::MAX)) as u16 } else { 0 },
            children: if o.role == Role::Entry
                && self.brackets.get(usize::from(o.bracket)).is_some_and(|b| b.in_use && b.native)
            {
                2
            } else {
                0
            },
            side: o.side,
            order_type: o.order_type,
            tif: o.tif,
            action: OrderAction::New,
        })
    }

    /// The order was sent (approved and taken by the venue): `New → Submitted`.
    ///
    /// # Errors
    /// Unknown id or illegal transition.
    pub fn on_submitted(&mut self, id: u64, ts: u64) -> Result<Applied, OmsError> {
        let i = self.find(id, ts)?;
        self.go(i, OrderState::Submitted, ts)
    }

    /// Risk or the venue refused to take the order: `New → Rejected`.
    ///
    /// # Errors
    /// Unknown id or illegal transition.
    pub fn on_submit_failed(&mut self, id: u64, ts: u64) -> Result<Applied, OmsError> {
        let i = self.find(id, ts)?;
        self.go(i, OrderState::Rejected, ts)
    }

    /// The venue acknowledged the order: `Submitted → Accepted`. An acknowledgement of an
    /// order already accepted or (partly) filled is a duplicate.
    ///
    /// # Errors
    /// Unknown id or illegal transition (an ack of an order never sent or already ended).
    pub fn on_ack(&mut self, id: u64, ts: u64) -> Result<Applied, OmsError> {
        let i = self.find(id, ts)?;
        if matches!(
            self.orders[i].state,
            OrderState::Accepted | OrderState::PartiallyFilled | OrderState::Filled
        ) {
            self.counters.duplicates += 1;
            return Ok(Applied::Duplicate);
        }
        self.go(i, OrderState::Accepted, ts)
    }

    /// A fill. A fill whose `leaves` is not below the order's leaves quantity was already
    /// applied (a duplicate). Bracket consequences are pushed to `cmds`.
    ///
    /// # Errors
    /// Unknown id, [`OmsError::BadFill`], or an illegal transition (a fill of an order never
    /// sent, or of one already cancelled, rejected or expired).
    pub fn on_fill(&mut self, f: &Fill, cmds: &mut Cmds) -> Result<Applied, OmsError> {
        let i = self.find(f.client_order_id, f.ts)?;
        let o = self.orders[i];
        if f.qty == 0 || f.side != o.side {
            self.counters.bad_fills += 1;
            return Err(self.log(f.ts, OmsError::BadFill(o.id)));
        }
        let leaves = o.leaves();
        if f.leaves >= leaves {
            self.counters.duplicates += 1;
            return Ok(Applied::Duplicate);
        }
        if f.qty > leaves {
            self.counters.bad_fills += 1;
            return Err(self.log(f.ts, OmsError::BadFill(o.id)));
        }
        if matches!(o.state, OrderState::Cancelled | OrderState::Expired | OrderState::Rejected) {
            // The venue's word on an execution outranks its earlier end report (a cancel
            // confirmed on one channel while the fill was on another, a "not found" answer
            // to a cancel of an order that had just filled): the position must follow every
            // fill. The order keeps its end state; its quantity records the fill so a repeat
            // is a duplicate. A terminal order counts nothing in the live quantities.
            self.orders[i].filled += f.qty;
            self.counters.late_fills += 1;
            self.log(f.ts, OmsError::LateFill(o.id));
            return Ok(Applied::Late);
        }
        let filled = o.filled + f.qty;
        let to = if filled == o.qty { OrderState::Filled } else { OrderState::PartiallyFilled };
        // Record the quantity first so a bracket closed by this transition sees it.
        self.unlive(i);
        self.orders[i].filled = filled;
        self.relive(i);
        if let Err(e) = self.go(i, to, f.ts) {
            self.unlive(i);
            self.orders[i].filled = o.filled;
            self.relive(i);
            return Err(e);
        }
        if f.leaves != self.orders[i].leaves() {
            self.counters.leaves_mismatch += 1;
        }
        let b = usize::from(o.bracket);
        if b < BRACKETS_CAP && self.brackets[b].in_use {
            self.bracket_after_fill(b, o.role, f.ts, cmds);
        }
        Ok(Applied::Changed(to))
    }

    /// The venue ended the order: `kind` is `Cancelled`, `Expired` or `Rejected` (any other
    /// kind is treated as `Expired`). Repeating the order's current end state is a duplicate.
    ///
    /// # Errors
    /// Unknown id or illegal transition.
    pub fn on_end(&mut self, id: u64, kind: ExecKind, ts: u64) -> Result<Applied, OmsError> {
        let i = self.find(id, ts)?;
        let to = match kind {
            ExecKind::Cancelled => OrderState::Cancelled,
            ExecKind::Rejected => OrderState::Rejected,
            _ => OrderState::Expired,
        };
        if self.orders[i].state == to {
            self.counters.duplicates += 1;
            return Ok(Applied::Duplicate);
        }
        self.go(i, to, ts)
    }

    /// Marks a cancel of working order `id` as requested (idempotent). The caller then asks
    /// the venue and reports the answer with [`OrderManager::on_end`].
    ///
    /// # Errors
    /// Unknown id, or [`OmsError::NotWorking`].
    pub fn request_cancel(&mut self, id: u64, ts: u64) -> Result<(), OmsError> {
        let i = self.find(id, ts)?;
        if !self.orders[i].state.is_working() {
            return Err(OmsError::NotWorking(id));
        }
        self.orders[i].cancel_pending = true;
        self.orders[i].cancel_lost = false;
        Ok(())
    }

    /// The cancel request of `id` never reached the venue (refused on the way): it is still
    /// pending, to be sent again. Unknown ids are ignored.
    pub fn cancel_lost(&mut self, id: u64, ts: u64) {
        if let Ok(i) = self.find(id, ts) {
            self.orders[i].cancel_lost = self.orders[i].cancel_pending;
        }
    }

    /// The modify request for working order `id` with the new terms `amend`.
    ///
    /// # Errors
    /// Unknown id, [`OmsError::NotWorking`], or [`OmsError::BadOrder`] when the new quantity is
    /// not above the filled quantity.
    pub fn modify_intent(
        &mut self,
        id: u64,
        amend: Amend,
        seq: u64,
        ts: u64,
        instrument_id: u32,
    ) -> Result<OrderIntent, OmsError> {
        let Amend { qty, price, trigger } = amend;
        let i = self.find(id, ts)?;
        let o = self.orders[i];
        if !o.state.is_working() || o.cancel_pending {
            return Err(OmsError::NotWorking(id));
        }
        if qty != 0 && qty <= o.filled {
            return Err(self.log(ts, OmsError::BadOrder("qty: a modify must leave quantity to fill")));
        }
        let mut it = self.intent(id, seq, ts, instrument_id).ok_or(OmsError::UnknownId(id))?;
        it.action = OrderAction::Modify;
        if qty != 0 {
            it.qty = qty;
        }
        if price != 0 && o.order_type.has_limit() {
            it.price = price;
        }
        if trigger != 0 && o.order_type.has_trigger() {
            it.trigger = trigger;
        }
        Ok(it)
    }

    /// The venue took the modify `m` (from [`OrderManager::modify_intent`]): the order's terms
    /// change; its state does not.
    ///
    /// # Errors
    /// Unknown id, or [`OmsError::NotWorking`].
    pub fn on_modified(&mut self, m: &OrderIntent) -> Result<(), OmsError> {
        let i = self.find(m.client_order_id, m.ts)?;
        let o = self.orders[i];
        if !o.state.is_working() || m.qty <= o.filled {
            return Err(OmsError::NotWorking(m.client_order_id));
        }
        self.unlive(i);
        let o = &mut self.orders[i];
        o.qty = m.qty;
        o.price = m.price;
        o.trigger = m.trigger;
        self.relive(i);
        Ok(())
    }

    /// True when the bracket of `entry` leaves no open quantity unprotected: nothing filled
    /// yet, nothing open, or both children working.
    pub fn bracket_protected(&self, entry: u64) -> bool {
        let Some(b) = self.bracket_of(entry) else { return false };
        let f = |id: u64| self.get(id).map_or(0, |o| o.filled);
        let open = i64::from(f(b.entry)) - i64::from(f(b.stop)) - i64::from(f(b.target));
        let working = |id: u64| self.get(id).is_some_and(|o| o.state.is_working() && !o.cancel_pending);
        f(b.entry) == 0 || open <= 0 || (working(b.stop) && working(b.target))
    }

    /// Pushes the bracket consequences of a fill of one of its orders.
    fn bracket_after_fill(&mut self, b: usize, role: Role, ts: u64, cmds: &mut Cmds) {
        let br = self.brackets[b];
        let Some(entry) = self.get(br.entry).copied() else { return };
        match role {
            Role::Entry if br.stop == 0 => {
                let exit = if entry.side == OrderSide::Buy { OrderSide::Sell } else { OrderSide::Buy };
                let q = entry.filled;
                let stop = OrderSpec::stop(exit, q, br.stop_px).with_tif(TimeInForce::Gtc);
                let target = OrderSpec::limit(exit, q, br.target_px).with_tif(TimeInForce::Gtc);
                let bi = b as u8;
                if let Ok(id) =
                    self.create_as(stop.with_tag(entry.tag, br.stop_px), Role::Stop, entry.id, bi, ts)
                {
                    self.brackets[b].stop = id;
                    cmds.push(Cmd::Submit(id));
                }
                if let Ok(id) =
                    self.create_as(target.with_tag(entry.tag, br.target_px), Role::Target, entry.id, bi, ts)
                {
                    self.brackets[b].target = id;
                    cmds.push(Cmd::Submit(id));
                }
                if self.brackets[b].stop == 0 && self.brackets[b].target == 0 {
                    // No child could be created: the bracket is over, its position unprotected
                    // (the caller flattens it).
                    self.brackets[b].in_use = false;
                }
            }
            // A native bracket's children cover the whole entry at the venue, which activates
            // them as the entry fills; they are resized only if the entry ends early.
            Role::Entry if br.native => {}
            Role::Entry => self.resize_children(b, ts, cmds),
            Role::Stop | Role::Target => {
                if entry.state.is_working()
                    && !entry.cancel_pending
                    && self.request_cancel(entry.id, ts).is_ok()
                {
                    cmds.push(Cmd::Cancel(entry.id));
                }
                self.resize_children(b, ts, cmds);
            }
            Role::Single => {}
        }
    }

    /// Sizes each working child to cover the open quantity (entry filled − children filled),
    /// cancelling it when nothing is open.
    fn resize_children(&mut self, b: usize, ts: u64, cmds: &mut Cmds) {
        let br = self.brackets[b];
        let f = |s: &Self, id: u64| s.get(id).map_or(0, |o| o.filled);
        let open = f(self, br.entry).saturating_sub(f(self, br.stop)).saturating_sub(f(self, br.target));
        for id in [br.stop, br.target] {
            let Some(c) = self.get(id).copied() else { continue };
            if !c.state.is_working() || c.cancel_pending {
                continue;
            }
            if open == 0 {
                if self.request_cancel(id, ts).is_ok() {
                    cmds.push(Cmd::Cancel(id));
                }
            } else if c.filled + open != c.qty {
                cmds.push(Cmd::Modify { id, qty: c.filled + open });
            }
        }
    }

    /// Frees order `i`'s bracket when all its orders have ended.
    fn close_bracket_if_done(&mut self, i: usize) {
        let b = usize::from(self.orders[i].bracket);
        if b >= BRACKETS_CAP || !self.brackets[b].in_use {
            return;
        }
        let br = self.brackets[b];
        let ended = |id: u64| id == 0 || self.get(id).is_none_or(|o| o.state.is_terminal());
        let entry = self.get(br.entry).copied().unwrap_or_default();
        let children_due = entry.filled > 0;
        if ended(br.entry)
            && (!children_due || (br.stop != 0 || br.target != 0))
            && ended(br.stop)
            && ended(br.target)
        {
            self.brackets[b].in_use = false;
        }
    }

    /// True while the bracket of `entry` is open (some of its orders may still execute).
    pub fn bracket_open(&self, entry: u64) -> bool {
        self.bracket_of(entry).is_some()
    }
}

#[cfg(test)]
mod tests;
