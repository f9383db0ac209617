//! The last hot stage: risk + order management + venue.
//!
//! Every order lives in the [`OrderManager`] (state machine, ids, brackets), passes
//! [`RiskManager::approve`] (new orders and modifies; a venue takes only [`Approved`] ones) and
//! goes to the stage's [`Venue`]. The stage feeds the venue every market event (the simulator
//! fills in event time) and every execution report (a live venue fills from reports), books
//! the fills the order manager accepts (a duplicate or refused report books nothing), and
//! emits the requests and fills (with the causing input's `seq`); it forwards nothing else.
//!
//! Two ways to trade a [`Signal`]:
//! - **Bracket** — a signal with a direction, a `stop` and a `target`: an entry (market, or a
//!   DAY limit at `entry` when the signal's `entry_type` is `Limit`) with a GTC stop and a GTC
//!   limit target that go live when the entry fills (OCO). Prices are put on the tick grid by
//!   SIGNALS §0 (a long's prices round down, a short's up: the stop away from the entry, the
//!   target towards it, the limit entry away from the market). Size: the signal's
//!   `size_hint` capped by [`Trading::order_qty`] (0 = `order_qty`). One bracket at a time: a
//!   same-direction signal while one is open is ignored; an opposite one exits (reason
//!   `signal`) and enters once flat. A bracket position still open at the session end
//!   ([`session_end_after`]) is flattened (reason `time`); a position left unprotected (a
//!   child refused or ended) is flattened (reason `flatten`).
//! - **Target position** — any other signal (the threshold strategy's): the target position is
//!   `direction × order_qty`, and a market order for the difference is sent when nothing is
//!   working (at most one such order at a time). Such a signal ends an open bracket first.
//!
//! Control inputs: `Kill` cancels every working order, flattens (reason `kill`), puts the risk
//! manager in its kill state ([`RiskManager::kill`] with [`RejectReason::KillSwitch`] and the
//! [`KillSource`] decoded from the control's `arg`: Reducing while a position is open, Halted
//! once flat) and refuses new risk until `Resume` ([`RiskManager::resume`]); `Flatten` cancels the bracket and flattens (reason `flatten`).
//! When the daily loss limit halts trading, the stage does as for `Kill` and stays flat. After
//! a risk or venue refusal of a target-position order it retries no sooner than one second of
//! event time later.
//!
//! Round trips ([`RoundTrip`](crate::position::RoundTrip)) carry the exit reason (the purpose
//! of the order whose fill closed them), the decision prices (the signal's `entry`, the stop
//! or target price, or the mark when a signal, a command or the clock decided the exit) and
//! the slippage against them.

use crate::oms::{Amend, Applied, Cmd, Cmds, OmsCounters, OrderManager, OrderSpec, Role};
use crate::position::{ExitReason, Position, TradeRing};
#[cfg(doc)]
use crate::risk::Approved;
use crate::risk::{KillSource, RejectReason, RiskConfig, RiskManager, RiskState};
use crate::sim::{session_end_after, FillBuf};
use crate::venue::{CancelOutcome, Venue};
use mia_model::contract::ContractSpec;
use mia_model::event::EventKind;
use mia_model::money::NanoUsd;
use mia_model::msg::{
    ControlKind, Direction, Envelope, ExecKind, ExecReport, Fill, Msg, OrderAction, OrderIntent, OrderSide,
    OrderType, Signal, TimeInForce,
};
use mia_model::price::{Px, UNDEF_PX};
use mia_runtime::metrics::{risk_code, LiveMetrics};
use mia_runtime::pipeline::tap::Tap;
use mia_runtime::stage::{Outbox, Stage, StageReport};
use std::sync::Arc;

/// Order-manager commands deferred to the end of one batch of fills.
const DEFERRED_CAP: usize = 16;

/// Capacity of the round-trip ring kept for the trades CSV.
pub const TRADE_RING_CAP: usize = 1 << 16;

const RETRY_NS: u64 = 1_000_000_000;

/// How long (event time) an exit waits for the venue to confirm the cancels of the orders on
/// its side before it is sent anyway.
pub const CANCEL_WAIT_NS: u64 = 2_000_000_000;

/// A cancel request the venue refused to take (the edge's ring full, the edge thread gone) is
/// sent again this long after (event time), and again until it is taken: a lost request must
/// not leave an order the venue may still execute counted as live forever, which would block
/// every new entry. (A request that was taken gets its answer as a report: a broker answers
/// every cancel, and a reconnect reconciles the open orders.)
pub const CANCEL_RETRY_NS: u64 = 100_000_000;

/// A bracket signal waiting for the previous position to close is dropped when it is older
/// than this (event time) by then: its decision is stale.
pub const PENDING_MAX_AGE_NS: u64 = 2_000_000_000;

/// Counters of the stage.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExecCounters {
    /// New orders approved and sent.
    pub intents: u64,
    /// Fills booked.
    pub fills: u64,
    /// Orders and modifies refused by risk.
    pub risk_rejects: u64,
    /// Orders and modifies refused by the venue.
    pub venue_rejects: u64,
    /// Contracts the venue ended unfilled (market remainders, IOC, DAY expiry).
    pub expired_qty: u64,
    /// Kill-switch commands received.
    pub kills: u64,
    /// Brackets entered (entry sent).
    pub brackets: u64,
    /// Bracket signals the order manager refused (bad prices, capacity).
    pub bracket_errors: u64,
    /// Bracket signals ignored (same direction as the open bracket, or while halted).
    pub ignored_signals: u64,
    /// Modifies sent.
    pub modifies: u64,
    /// Cancels requested.
    pub cancels: u64,
    /// Reports ignored as repeats, or refused by the order manager (see its counters).
    pub ignored_reports: u64,
    /// Broker positions adopted at start-up (and flattened).
    pub adopted: u64,
    /// Exits that waited for cancels of same-side orders to be confirmed.
    pub cancel_waits: u64,
    /// Of those, exits sent after [`CANCEL_WAIT_NS`] without the confirmations.
    pub cancel_wait_timeouts: u64,
    /// Pending bracket signals dropped as older than [`PENDING_MAX_AGE_NS`].
    pub stale_signals: u64,
    /// Cancel requests sent again after the venue refused them ([`CANCEL_RETRY_NS`]).
    pub cancel_retries: u64,
    /// Positions opened, by the opening signal's `tier` code (the signal engine's tier,
    /// SIGNALS §11: 0 ULTIMATE_ELITE … 9 REJECTED): the "executed" side of the engine's
    /// generated-vs-executed statistics, which only this stage can see.
    pub executed_by_tier: [u64; EXECUTED_TIERS],
}

/// Tier codes [`ExecCounters::executed_by_tier`] keeps (the signal engine's ten tiers).
pub const EXECUTED_TIERS: usize = 10;

/// Report keys of [`ExecCounters::executed_by_tier`], by tier code.
pub const EXECUTED_TIER_KEYS: [&str; EXECUTED_TIERS] = [
    "exec.executed_tier.0",
    "exec.executed_tier.1",
    "exec.executed_tier.2",
    "exec.executed_tier.3",
    "exec.executed_tier.4",
    "exec.executed_tier.5",
    "exec.executed_tier.6",
    "exec.executed_tier.7",
    "exec.executed_tier.8",
    "exec.executed_tier.9",
];

/// [`ExecCounters::executed_by_tier`] as the stage reported it ([`EXECUTED_TIER_KEYS`]).
pub fn executed_by_tier(r: &StageReport) -> [u64; EXECUTED_TIERS] {
    std::array::from_fn(|i| r.counter(EXECUTED_TIER_KEYS[i]))
}

/// A position event the stage sends to its trade tap ([`ExecStage::attach_trade_tap`]): the
/// fill that opened a position (entry) or closed a round trip (exit), with the risk manager's
/// state after it and the signal that opened the trade. A cold consumer joins it with the
/// feature snapshot in force and journals the trade snapshot (`docs/report.md`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct TradeMark {
    /// False at the entry, true at the exit.
    pub exit: bool,
    /// Round trip number, from 1.
    pub trade_no: u64,
    /// Input sequence number of the fill.
    pub seq: u64,
    /// Event time of the fill (ns).
    pub ts: u64,
    /// Fill price.
    pub price: Px,
    /// Signed position after the fill.
    pub position: i64,
    /// Net P&L of the round trip (exit), nano-USD; 0 at entry.
    pub net_pnl: i64,
    /// [`ExitReason`] code of the exit; 0 at entry.
    pub exit_reason: u8,
    /// Risk state code (`mia_runtime::metrics::risk_code`).
    pub risk_state: u8,
    /// [`RejectReason`] code of a risk stop in force (0 none).
    pub risk_reason: u8,
    /// The kill switch is in force.
    pub killed: bool,
    /// Losing round trips in a row.
    pub consecutive_losses: u32,
    /// Round trips today.
    pub trades_today: u32,
    /// The risk manager's daily P&L, nano-USD.
    pub day_pnl: i64,
    /// The signal that opened the trade (the latest one the stage acted on).
    pub signal: Option<Signal>,
}

/// What is traded and how much per signal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Trading {
    /// The contract (tick and point value).
    pub contract: ContractSpec,
    /// Contracts per entry (target position = direction × this; the cap of a bracket's size).
    pub order_qty: u32,
    /// Instrument id carried by every order (the feed's id of the traded contract); 0 takes
    /// the id of the market events the stage sees (a single-instrument feed).
    pub instrument_id: u32,
}

/// How the position is being managed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// Market orders towards `target`.
    Target,
    /// The bracket with this entry id manages the position.
    Bracket(u64),
}

/// Risk + order management + a venue.
pub struct ExecStage<V: Venue> {
    risk: RiskManager,
    venue: V,
    pos: Position,
    trades: TradeRing,
    fills: FillBuf,
    trading: Trading,
    oms: OrderManager,
    cmds: Cmds,
    mode: Mode,
    target: i64,
    /// The target-position order in flight.
    working: Option<u64>,
    /// A bracket signal waiting for the position to be flat.
    pending: Option<Signal>,
    /// Reason and decision price tagged on target-position orders.
    exit_reason: ExitReason,
    /// Decision price of the open trip's entry.
    entry_ref: Px,
    /// Session end of the open bracket position (`u64::MAX` = none).
    time_exit_at: u64,
    /// An exit or a bracket change asks for a reconciliation after the next fills.
    reconcile_due: bool,
    killed: bool,
    retry_after: u64,
    /// While an exit waits for cancel confirmations: when it goes anyway (0 = not waiting).
    exit_wait_until: u64,
    /// Event time at which the refused cancel requests are sent again ([`CANCEL_RETRY_NS`];
    /// `u64::MAX` = none lost).
    cancel_retry_at: u64,
    mark: Px,
    /// Counters.
    pub counters: ExecCounters,
    metrics: Option<Arc<LiveMetrics>>,
    trade_tap: Option<Tap<TradeMark>>,
    /// The latest signal acted on (a target position set, or a bracket entered).
    acted_signal: Option<Signal>,
    /// The signal of the open trade (carried to its exit mark).
    trade_signal: Option<Signal>,
    /// Broker reports that rejected an order.
    broker_rejects: u64,
    /// Rejected reports saying the edge could not reserve an order id (each halts).
    venue_no_id: u64,
    forward_signals: bool,
    last_fill_px: Px,
}

/// Rounds `px` to the tick: down for a long's prices, up for a short's (SIGNALS §0).
#[inline]
fn round_for(px: Px, tick: Px, side: OrderSide) -> Px {
    if tick <= 0 {
        return px;
    }
    let down = px.div_euclid(tick) * tick;
    if side == OrderSide::Buy || down == px {
        down
    } else {
        down + tick
    }
}

impl<V: Venue> ExecStage<V> {
    /// A flat stage trading through `venue`.
    pub fn new(risk: &RiskConfig, venue: V, trading: Trading) -> Self {
        Self {
            risk: RiskManager::new(risk),
            venue,
            pos: Position::new(trading.contract),
            trades: TradeRing::new(TRADE_RING_CAP),
            fills: FillBuf::new(),
            trading: Trading { order_qty: trading.order_qty.max(1), ..trading },
            oms: OrderManager::default(),
            cmds: Cmds::default(),
            mode: Mode::Target,
            target: 0,
            working: None,
            pending: None,
            exit_reason: ExitReason::Signal,
            entry_ref: 0,
            time_exit_at: u64::MAX,
            reconcile_due: false,
            killed: false,
            retry_after: 0,
            exit_wait_until: 0,
            cancel_retry_at: u64::MAX,
            mark: 0,
            counters: ExecCounters::default(),
            metrics: None,
            trade_tap: None,
            acted_signal: None,
            trade_signal: None,
            broker_rejects: 0,
            venue_no_id: 0,
            forward_signals: false,
            last_fill_px: 0,
        }
    }

    /// Passes every signal on to the output (ahead of the orders it causes), so the output
    /// tap journals the signals (record kind 2); the decision digest ignores them.
    pub fn forward_signals(&mut self, on: bool) {
        self.forward_signals = on;
    }

    /// Publishes the stage's live state into `metrics.exec` (`docs/monitoring.md`): after an
    /// input that produced outputs (or any non-market input) every cell; after a trade print
    /// only the mark, P&L and risk state. Without it the stage pays one branch per input.
    pub fn attach_metrics(&mut self, metrics: Arc<LiveMetrics>) {
        self.metrics = Some(metrics);
    }

    /// Sends a [`TradeMark`] into `tap` at every entry and exit fill (a cold consumer journals
    /// trade snapshots).
    pub fn attach_trade_tap(&mut self, tap: Tap<TradeMark>) {
        self.trade_tap = Some(tap);
    }

    fn risk_code(&self) -> i64 {
        match self.risk.state() {
            RiskState::Active => risk_code::ACTIVE,
            RiskState::Reducing => risk_code::REDUCING,
            RiskState::Halted => risk_code::HALTED,
        }
    }

    fn unrealized(&self) -> NanoUsd {
        if self.mark != 0 {
            self.pos.unrealized(self.mark)
        } else {
            NanoUsd::ZERO
        }
    }

    /// After a trade print: the mark, P&L and risk state.
    #[inline]
    fn publish_mark(&self, m: &LiveMetrics) {
        let e = &m.exec;
        e.set_mark(self.mark);
        e.set_pnl(self.pos.net_realized().nano(), self.unrealized().nano(), self.risk.day_pnl().nano());
        e.set_risk_state(self.risk_code());
    }

    /// Every cell.
    #[cold]
    fn publish_all(&self, m: &LiveMetrics) {
        let (e, c) = (&m.exec, &self.counters);
        e.set_intents(c.intents);
        e.set_fills(c.fills);
        e.set_risk_rejects(c.risk_rejects);
        e.set_venue_rejects(c.venue_rejects);
        e.set_order_rejects(self.broker_rejects);
        e.set_working_orders(self.oms.working() as u64);
        e.set_position(self.pos.qty());
        e.set_consecutive_losses(u64::from(self.risk.consecutive_losses()));
        e.set_risk_reason(self.risk.reason().map_or(0, |r| r as u64));
        e.set_kills(c.kills);
        e.set_trips(self.pos.trips());
        e.set_prices(self.pos.avg_entry_px().unwrap_or(0), self.last_fill_px);
        self.publish_mark(m);
    }

    /// Counts a position opened by the signal acted on, under its tier code.
    #[inline]
    fn count_executed(&mut self) {
        if let Some(s) = self.acted_signal {
            if let Some(n) = self.counters.executed_by_tier.get_mut(usize::from(s.tier)) {
                *n += 1;
            }
        }
    }

    /// Sends the trade mark of fill `f` (entry or exit).
    #[cold]
    fn send_mark(&mut self, exit: bool, f: &Fill, net_pnl: i64, reason: u8) {
        let signal = if exit { self.trade_signal } else { self.acted_signal };
        if !exit {
            self.trade_signal = signal;
        }
        let mark = TradeMark {
            exit,
            trade_no: if exit { self.pos.trips() } else { self.pos.trips() + 1 },
            seq: f.seq,
            ts: f.ts,
            price: f.price,
            position: self.pos.qty(),
            net_pnl,
            exit_reason: reason,
            risk_state: self.risk_code() as u8,
            risk_reason: self.risk.reason().map_or(0, |r| r as u8),
            killed: self.killed,
            consecutive_losses: self.risk.consecutive_losses(),
            trades_today: self.risk.trades_today(),
            day_pnl: self.risk.day_pnl().nano(),
            signal,
        };
        if let Some(t) = self.trade_tap.as_mut() {
            t.send(mark);
        }
    }

    /// Continues client order ids after `hwm`, the [`ExecStage::id_hwm`] persisted by a
    /// previous run (call before the first input), so no id is ever reused.
    pub fn resume_ids(&mut self, hwm: u64) {
        self.oms.resume_ids(hwm);
    }

    /// The high-water mark of the client order ids issued (persist it for
    /// [`ExecStage::resume_ids`]).
    pub fn id_hwm(&self) -> u64 {
        self.oms.id_hwm()
    }

    /// The position.
    pub fn position(&self) -> &Position {
        &self.pos
    }

    /// Completed round trips (most recent [`TRADE_RING_CAP`]).
    pub fn trades(&self) -> &TradeRing {
        &self.trades
    }

    /// The risk manager (state and rejection counters).
    pub fn risk(&self) -> &RiskManager {
        &self.risk
    }

    /// The order manager (orders, states, counters, logged refusals).
    pub fn oms(&self) -> &OrderManager {
        &self.oms
    }

    /// The venue.
    pub fn venue(&self) -> &V {
        &self.venue
    }

    /// Last trade price seen (the P&L mark).
    pub fn mark(&self) -> Px {
        self.mark
    }

    /// The entry id of the open bracket, if one manages the position.
    pub fn bracket(&self) -> Option<u64> {
        match self.mode {
            Mode::Bracket(e) => Some(e),
            Mode::Target => None,
        }
    }

    /// Net P&L (realized − fees + unrealized at the mark), nano-USD.
    pub fn net_pnl(&self) -> NanoUsd {
        let unreal = if self.mark != 0 { self.pos.unrealized(self.mark) } else { NanoUsd::ZERO };
        self.pos.net_realized() + unreal
    }

    /// True while no new risk may be taken: the kill switch is on or the daily loss halted
    /// trading (the stage then works towards flat).
    #[inline]
    fn halted(&self) -> bool {
        self.killed || self.risk.state() != RiskState::Active
    }

    /// Approves and sends order `id` (in `New`); true when the venue took it.
    fn send_new(&mut self, id: u64, seq: u64, ts: u64, t0: u64, out: &mut Outbox) -> bool {
        let Some(intent) = self.oms.intent(id, seq, ts, self.trading.instrument_id) else { return false };
        let working = self.oms.live_qty(intent.side);
        let approved = match self.risk.approve_working(intent, self.pos.qty(), working) {
            Ok(a) => a,
            Err(_reason) => {
                self.counters.risk_rejects += 1;
                let _ = self.oms.on_submit_failed(id, ts);
                return false;
            }
        };
        match self.venue.submit(approved) {
            Ok(()) => {
                let _ = self.oms.on_submitted(id, ts);
                self.counters.intents += 1;
                out.push(Envelope { t0, msg: Msg::Intent(intent) });
                true
            }
            Err(_) => {
                self.counters.venue_rejects += 1;
                let _ = self.oms.on_submit_failed(id, ts);
                false
            }
        }
    }

    /// Approves and sends a modify of order `id` to total quantity `qty`.
    fn send_modify(&mut self, id: u64, qty: u32, seq: u64, ts: u64, t0: u64, out: &mut Outbox) {
        let Ok(m) = self.oms.modify_intent(id, Amend::qty(qty), seq, ts, self.trading.instrument_id) else {
            return;
        };
        let Ok(approved) = self.risk.approve_modify(m, self.pos.qty()) else {
            self.counters.risk_rejects += 1;
            return;
        };
        if self.venue.submit(approved).is_ok() {
            let _ = self.oms.on_modified(&m);
            self.counters.modifies += 1;
            out.push(Envelope { t0, msg: Msg::Intent(m) });
        } else {
            self.counters.venue_rejects += 1;
        }
    }

    /// Cancels working order `id` (marks it pending if the caller has not).
    fn send_cancel(&mut self, id: u64, seq: u64, ts: u64, t0: u64, out: &mut Outbox) {
        let Some(o) = self.oms.get(id).copied() else { return };
        if !o.state.is_working() || self.oms.request_cancel(id, ts).is_err() {
            return;
        }
        self.counters.cancels += 1;
        let req = OrderIntent {
            client_order_id: id,
            seq,
            ts,
            qty: o.leaves(),
            instrument_id: self.trading.instrument_id,
            side: o.side,
            order_type: o.order_type,
            tif: o.tif,
            action: OrderAction::Cancel,
            ..OrderIntent::default()
        };
        out.push(Envelope { t0, msg: Msg::Intent(req) });
        match self.venue.cancel(id) {
            CancelOutcome::Done => {
                let _ = self.oms.on_end(id, mia_model::msg::ExecKind::Cancelled, ts);
            }
            CancelOutcome::Refused => {
                self.oms.cancel_lost(id, ts);
                self.cancel_retry_at = self.cancel_retry_at.min(ts.saturating_add(CANCEL_RETRY_NS));
            }
            // The answer comes as a report (or there is nothing to cancel).
            CancelOutcome::Requested | CancelOutcome::NotWorking => {}
        }
    }

    /// What event time alone triggers, at `ts`: the time exit of a bracket position, cancel
    /// retries, and (at a record boundary `boundary`) the reconciliation of a halted stage, a
    /// retry or an exit waiting for cancels. Runs on market events and on a live session's
    /// timers, so none of it waits for the market when the feed is quiet.
    #[inline(always)]
    fn on_time(&mut self, seq: u64, ts: u64, t0: u64, out: &mut Outbox, boundary: bool) {
        if ts >= self.time_exit_at && self.mode != Mode::Target {
            self.exit_all(ExitReason::Time, seq, ts, t0, out);
            self.reconcile(seq, ts, t0, out);
        }
        if ts >= self.cancel_retry_at {
            self.retry_cancels(seq, ts, t0, out);
        }
        if boundary && (self.halted() || self.retry_after != 0 || self.exit_wait_until != 0) {
            self.reconcile(seq, ts, t0, out);
        }
    }

    /// Sends again every cancel request the venue refused (a scan of the order table, only
    /// when one was refused [`CANCEL_RETRY_NS`] ago); a request refused again is due again
    /// [`CANCEL_RETRY_NS`] later.
    fn retry_cancels(&mut self, seq: u64, ts: u64, t0: u64, out: &mut Outbox) {
        self.cancel_retry_at = u64::MAX;
        for k in 0..self.oms.orders().len() {
            let o = self.oms.orders()[k];
            if o.id != 0 && o.state.is_working() && o.cancel_pending && o.cancel_lost {
                self.counters.cancel_retries += 1;
                self.send_cancel(o.id, seq, ts, t0, out);
            }
        }
    }

    /// Runs one order-manager command.
    fn run_cmd(&mut self, cmd: Cmd, seq: u64, ts: u64, t0: u64, out: &mut Outbox) {
        match cmd {
            Cmd::Submit(id) => {
                self.send_new(id, seq, ts, t0, out);
            }
            Cmd::Modify { id, qty } => self.send_modify(id, qty, seq, ts, t0, out),
            Cmd::Cancel(id) => self.send_cancel(id, seq, ts, t0, out),
        }
    }

    /// Cancels every working order except the target-position order (rare paths: exits,
    /// kill, flatten; a scan of the order table).
    fn cancel_all(&mut self, seq: u64, ts: u64, t0: u64, out: &mut Outbox) {
        for k in 0..self.oms.orders().len() {
            let o = self.oms.orders()[k];
            if o.id != 0 && o.state.is_working() && !o.cancel_pending && Some(o.id) != self.working {
                self.send_cancel(o.id, seq, ts, t0, out);
            }
        }
    }

    /// Leaves bracket mode: cancels the bracket's orders and works towards flat with `reason`.
    fn exit_all(&mut self, reason: ExitReason, seq: u64, ts: u64, t0: u64, out: &mut Outbox) {
        self.cancel_all(seq, ts, t0, out);
        self.mode = Mode::Target;
        self.target = 0;
        self.exit_reason = reason;
        self.time_exit_at = u64::MAX;
        self.retry_after = 0;
        self.reconcile_due = true;
    }

    /// Sends a market order for `desired − position` if nothing is working.
    #[inline]
    fn reconcile(&mut self, seq: u64, ts: u64, t0: u64, out: &mut Outbox) {
        if self.halted() && self.mode != Mode::Target {
            self.exit_all(ExitReason::Kill, seq, ts, t0, out);
        }
        if self.mode != Mode::Target || self.working.is_some() || ts < self.retry_after {
            return;
        }
        let desired = if self.halted() { 0 } else { self.target };
        let diff = desired - self.pos.qty();
        let Some(side) = OrderSide::of_signed(diff) else {
            self.reconcile_due = false;
            self.exit_wait_until = 0;
            self.open_pending(seq, ts, t0, out);
            return;
        };
        if self.oms.live_qty(side) > 0 {
            // Orders on this side are still at the venue (cancels sent, not yet confirmed:
            // only the bracket's old orders can be live here): one of them may still fill, so
            // wait for the confirmations (each report reconciles again) rather than send a
            // second order that could overfill; after CANCEL_WAIT_NS go anyway.
            if self.exit_wait_until == 0 {
                self.exit_wait_until = ts.saturating_add(CANCEL_WAIT_NS);
                self.counters.cancel_waits += 1;
            }
            if ts < self.exit_wait_until {
                return;
            }
            self.counters.cancel_wait_timeouts += 1;
        }
        self.exit_wait_until = 0;
        let reason = if self.halted() { ExitReason::Kill } else { self.exit_reason };
        // One order at most `max_order_qty` (risk refuses larger ones, exits included); the
        // rest follows when it has filled.
        let cap = u64::from(self.risk.config().max_order_qty.max(1));
        let qty = diff.unsigned_abs().min(cap).min(u64::from(u32::MAX)) as u32;
        let spec = OrderSpec::market(side, qty).with_tag(reason as u8, self.mark);
        let Ok(id) = self.oms.create(spec, ts) else {
            self.counters.venue_rejects += 1;
            self.retry_after = ts + RETRY_NS;
            return;
        };
        if self.send_new(id, seq, ts, t0, out) {
            self.working = Some(id);
        } else {
            self.retry_after = ts + RETRY_NS;
        }
    }

    /// Enters the pending bracket once flat with nothing working.
    /// Nothing may still execute: no order live at the venue (a cancelled order counts until
    /// the venue confirms it), so the next entry cannot stack on a late fill. A pending
    /// signal older than [`PENDING_MAX_AGE_NS`] is dropped (counted in `stale_signals`).
    fn open_pending(&mut self, seq: u64, ts: u64, t0: u64, out: &mut Outbox) {
        if self.pos.is_flat() && self.working.is_none() && !self.halted() && !self.oms.any_live() {
            if let Some(sig) = self.pending.take() {
                if ts.saturating_sub(sig.ts) > PENDING_MAX_AGE_NS {
                    self.counters.stale_signals += 1;
                    return;
                }
                self.open_bracket(&sig, seq, ts, t0, out);
            }
        }
    }

    /// Sends a bracket's entry for `sig`.
    fn open_bracket(&mut self, sig: &Signal, seq: u64, ts: u64, t0: u64, out: &mut Outbox) {
        let side = if sig.direction == Direction::Long { OrderSide::Buy } else { OrderSide::Sell };
        let tick = self.trading.contract.tick;
        let hint = if sig.size_hint > 0 {
            sig.size_hint.min(self.trading.order_qty)
        } else {
            self.trading.order_qty
        };
        let qty = if self.risk.config().kelly_sizing { self.risk.size(sig.confidence, hint) } else { hint };
        if qty == 0 {
            self.counters.bracket_errors += 1;
            return;
        }
        let decision = if sig.entry > 0 && sig.entry != UNDEF_PX { sig.entry } else { self.mark };
        let entry = if sig.entry_type == OrderType::Limit && sig.entry > 0 && sig.entry != UNDEF_PX {
            OrderSpec::limit(side, qty, round_for(sig.entry, tick, side)).with_tif(TimeInForce::Day)
        } else {
            OrderSpec::market(side, qty)
        };
        let entry = entry.with_tag(ExitReason::Signal as u8, decision);
        self.acted_signal = Some(*sig);
        let stop = round_for(sig.stop, tick, side);
        let target = round_for(sig.target, tick, side);
        if self.venue.native_brackets() {
            self.open_native_bracket(entry, stop, target, seq, ts, t0, out);
            return;
        }
        match self.oms.bracket(entry, stop, target, ts) {
            Ok(id) => {
                if self.send_new(id, seq, ts, t0, out) {
                    self.mode = Mode::Bracket(id);
                    self.counters.brackets += 1;
                }
            }
            Err(_) => self.counters.bracket_errors += 1,
        }
    }

    /// Sends a native bracket: the entry (`children = 2`) and both children in one batch.
    /// All three are approved before any is sent (the children as the exits of the position
    /// the entry opens), so the venue never holds a parent whose children will not come; if
    /// the venue refuses a child after the entry went, the entry is cancelled.
    #[allow(clippy::too_many_arguments)]
    fn open_native_bracket(
        &mut self,
        entry: OrderSpec,
        stop: Px,
        target: Px,
        seq: u64,
        ts: u64,
        t0: u64,
        out: &mut Outbox,
    ) {
        let Ok((e, s, t)) = self.oms.bracket_native(entry, stop, target, ts) else {
            self.counters.bracket_errors += 1;
            return;
        };
        let iid = self.trading.instrument_id;
        let (Some(ie), Some(is), Some(it)) = (
            self.oms.intent(e, seq, ts, iid),
            self.oms.intent(s, seq, ts, iid),
            self.oms.intent(t, seq, ts, iid),
        ) else {
            self.counters.bracket_errors += 1;
            return;
        };
        let pos = self.pos.qty();
        let after_entry = pos + entry.side.sign() * i64::from(entry.qty);
        let working = self.oms.live_qty(ie.side);
        let approved = self.risk.approve_working(ie, pos, working).and_then(|ae| {
            let a_s = self.risk.approve(is, after_entry)?;
            let a_t = self.risk.approve(it, after_entry)?;
            Ok((ae, a_s, a_t))
        });
        let Ok((ae, a_s, a_t)) = approved else {
            self.counters.risk_rejects += 1;
            for id in [e, s, t] {
                let _ = self.oms.on_submit_failed(id, ts);
            }
            return;
        };
        if self.venue.submit(ae).is_err() {
            self.counters.venue_rejects += 1;
            for id in [e, s, t] {
                let _ = self.oms.on_submit_failed(id, ts);
            }
            return;
        }
        let _ = self.oms.on_submitted(e, ts);
        self.counters.intents += 1;
        out.push(Envelope { t0, msg: Msg::Intent(ie) });
        self.mode = Mode::Bracket(e);
        self.counters.brackets += 1;
        for (id, a, i) in [(s, a_s, is), (t, a_t, it)] {
            if self.venue.submit(a).is_ok() {
                let _ = self.oms.on_submitted(id, ts);
                self.counters.intents += 1;
                out.push(Envelope { t0, msg: Msg::Intent(i) });
            } else {
                self.counters.venue_rejects += 1;
                let _ = self.oms.on_submit_failed(id, ts);
                self.send_cancel(e, seq, ts, t0, out);
            }
        }
    }

    /// After orders changed: close a finished bracket, flatten an unprotected or expired one.
    fn after_orders(&mut self, seq: u64, ts: u64, t0: u64, out: &mut Outbox) {
        if let Mode::Bracket(e) = self.mode {
            if !self.oms.bracket_open(e) {
                // Over: flat (a child filled) or left with a position nothing protects.
                self.mode = Mode::Target;
                self.target = 0;
                self.exit_reason = ExitReason::Flatten;
                self.time_exit_at = u64::MAX;
                self.reconcile_due = true;
            } else if !self.pos.is_flat() && !self.oms.bracket_protected(e) {
                self.exit_all(ExitReason::Flatten, seq, ts, t0, out);
            } else if !self.pos.is_flat() && self.time_exit_at == u64::MAX {
                self.time_exit_at = session_end_after(ts);
            }
        }
        // Target-position orders keep their historical rhythm (reconciled on signals, reports
        // and retries); exits and pending brackets are driven from here.
        if self.reconcile_due || self.pending.is_some() {
            self.reconcile(seq, ts, t0, out);
        }
    }

    /// Books what the venue put in `self.fills`, emits the fills and runs the order manager's
    /// commands; returns the (seq, ts) of the last entry, `None` when there was nothing.
    fn book_fills(&mut self, t0: u64, out: &mut Outbox) -> Option<(u64, u64)> {
        if self.fills.is_empty() {
            return None;
        }
        let (mut seq, mut ts) = (0, 0);
        for k in 0..self.fills.acks().len() {
            let a = self.fills.acks()[k];
            (seq, ts) = (a.seq, a.ts);
            if !matches!(self.oms.on_ack(a.client_order_id, a.ts), Ok(Applied::Changed(_))) {
                self.counters.ignored_reports += 1;
            }
        }
        let mut deferred = [(Cmd::Cancel(0), 0u64, 0u64); DEFERRED_CAP];
        let mut nd = 0;
        for k in 0..self.fills.fills().len() {
            let f = self.fills.fills()[k];
            (seq, ts) = (f.seq, f.ts);
            self.cmds.clear();
            if !matches!(self.oms.on_fill(&f, &mut self.cmds), Ok(Applied::Changed(_) | Applied::Late)) {
                self.counters.ignored_reports += 1;
                continue;
            }
            self.book_one(&f);
            out.push(Envelope { t0, msg: Msg::Fill(f) });
            // The order manager's commands (an OCO cancel, a child sized to the fill) run after
            // every fill of this batch is booked: a fill already in the batch happened at the
            // venue before any cancel we could send now.
            for c in self.cmds.as_slice() {
                if nd < DEFERRED_CAP {
                    deferred[nd] = (*c, f.seq, f.ts);
                    nd += 1;
                } else {
                    self.counters.bracket_errors += 1;
                }
            }
            self.cmds.clear();
        }
        for &(c, seq, ts) in &deferred[..nd] {
            self.run_cmd(c, seq, ts, t0, out);
        }
        for k in 0..self.fills.expired().len() {
            let x = self.fills.expired()[k];
            (seq, ts) = (x.seq, x.ts);
            match self.oms.on_end(x.client_order_id, x.kind, x.ts) {
                Ok(Applied::Changed(_)) => {
                    self.counters.expired_qty += u64::from(x.qty);
                    self.cmds.clear();
                    self.oms.after_end(x.client_order_id, x.ts, &mut self.cmds);
                    for k in 0..self.cmds.as_slice().len() {
                        let c = self.cmds.as_slice()[k];
                        self.run_cmd(c, x.seq, x.ts, t0, out);
                    }
                    self.cmds.clear();
                }
                _ => self.counters.ignored_reports += 1,
            }
            self.clear_working();
        }
        self.fills.clear();
        Some((seq, ts))
    }

    /// Books one accepted fill into the position and the round trips.
    fn book_one(&mut self, f: &Fill) {
        self.counters.fills += 1;
        self.last_fill_px = f.price;
        let o = self.oms.get(f.client_order_id).copied().unwrap_or_default();
        let was_flat = self.pos.is_flat();
        let trip = self.pos.on_fill(f);
        self.risk.on_fill(f, self.pos.qty(), trip.as_ref());
        if let Some(trip) = trip {
            let reason = match o.role {
                Role::Stop => ExitReason::Stop,
                Role::Target => ExitReason::Target,
                Role::Single | Role::Entry => ExitReason::from_u8(o.tag).unwrap_or_default(),
            };
            let exit_ref = o.ref_px;
            let pv = self.trading.contract.point_value_usd;
            self.trades.push(trip.with_decisions(reason, self.entry_ref, exit_ref, pv));
            if self.trade_tap.is_some() {
                self.send_mark(true, f, trip.net().nano(), reason as u8);
            }
            if !self.pos.is_flat() {
                self.entry_ref = o.ref_px;
                self.count_executed();
                if self.trade_tap.is_some() {
                    self.send_mark(false, f, 0, 0);
                }
            }
        } else if was_flat && !self.pos.is_flat() {
            self.entry_ref = o.ref_px;
            self.count_executed();
            if self.trade_tap.is_some() {
                self.send_mark(false, f, 0, 0);
            }
        }
        self.clear_working();
    }

    /// A position found at the broker at start-up (see [`ExecKind::Adopted`]): booked at its
    /// average price with no fee (the fees were paid by the run that opened it), then
    /// flattened through risk like a `Flatten` command. MIA never carries a position it did
    /// not open in this run: its stop and target died with the process that set them.
    fn adopt(&mut self, r: &ExecReport, t0: u64, out: &mut Outbox) {
        if r.client_order_id != 0 || r.qty == 0 || r.price <= 0 || r.price == UNDEF_PX {
            self.counters.ignored_reports += 1;
            return;
        }
        self.counters.adopted += 1;
        let f = Fill {
            client_order_id: 0,
            seq: r.seq,
            ts: r.ts,
            price: r.price,
            fee: NanoUsd::ZERO,
            qty: r.qty,
            leaves: 0,
            side: r.side,
            done: true,
        };
        let trip = self.pos.on_fill(&f);
        self.risk.on_fill(&f, self.pos.qty(), trip.as_ref());
        self.entry_ref = r.price;
        self.pending = None;
        self.exit_all(ExitReason::Flatten, r.seq, r.ts, t0, out);
        self.reconcile(r.seq, r.ts, t0, out);
    }

    /// Forgets the target-position order once it has ended.
    fn clear_working(&mut self) {
        if let Some(id) = self.working {
            if self.oms.get(id).is_none_or(|o| o.state.is_terminal()) {
                self.working = None;
            }
        }
    }

    fn on_signal(&mut self, sig: &Signal, t0: u64, out: &mut Outbox) {
        let (seq, ts) = (sig.seq, sig.ts);
        let defined = |p: Px| p > 0 && p != UNDEF_PX;
        let is_bracket = sig.direction != Direction::Flat && defined(sig.stop) && defined(sig.target);
        if !is_bracket {
            self.pending = None;
            if self.mode != Mode::Target {
                self.exit_all(ExitReason::Signal, seq, ts, t0, out);
            }
            self.exit_reason = ExitReason::Signal;
            self.target = sig.direction.sign() * i64::from(self.trading.order_qty);
            self.acted_signal = Some(*sig);
            self.retry_after = 0;
            self.reconcile(seq, ts, t0, out);
            return;
        }
        if self.halted() {
            self.counters.ignored_signals += 1;
            return;
        }
        let want = sig.direction.sign();
        let side_now = match self.mode {
            Mode::Bracket(e) => self.oms.get(e).map_or(0, |o| o.side.sign()),
            Mode::Target => self.pos.qty().signum(),
        };
        if side_now == want {
            self.counters.ignored_signals += 1;
            return;
        }
        self.pending = Some(*sig);
        self.target = 0;
        if self.mode != Mode::Target || !self.pos.is_flat() || self.working.is_some() {
            self.exit_all(ExitReason::Signal, seq, ts, t0, out);
        }
        self.exit_reason = ExitReason::Signal;
        self.reconcile(seq, ts, t0, out);
    }
}

impl<V: Venue> Stage for ExecStage<V> {
    fn name(&self) -> &'static str {
        "exec"
    }

    #[inline]
    fn on_envelope(&mut self, env: &Envelope, out: &mut Outbox) {
        let before = out.len();
        self.handle(env, out);
        if let Some(m) = &self.metrics {
            match env.msg {
                Msg::Market(ev) if out.len() == before => {
                    if ev.kind == EventKind::Trade && ev.size > 0 {
                        self.publish_mark(m);
                    }
                }
                _ => self.publish_all(m),
            }
        }
    }

    fn report(&self, r: &mut StageReport) {
        self.write_report(r);
    }
}

impl<V: Venue> ExecStage<V> {
    /// One input (see the [module docs](self)).
    #[inline]
    fn handle(&mut self, env: &Envelope, out: &mut Outbox) {
        match env.msg {
            Msg::Market(ev) => {
                if self.trading.instrument_id == 0 && ev.instrument_id != 0 {
                    self.trading.instrument_id = ev.instrument_id;
                }
                let trade_px = if ev.kind == EventKind::Trade && ev.size > 0 { ev.price } else { 0 };
                self.risk.on_market(ev.ts_recv, trade_px);
                self.venue.on_market(&ev, &mut self.fills);
                let booked = self.book_fills(env.t0, out);
                if ev.kind == EventKind::Trade && ev.size > 0 {
                    self.mark = ev.price;
                    self.pos.mark(ev.price);
                    self.risk.on_pnl(self.net_pnl());
                }
                if let Some((seq, ts)) = booked {
                    self.after_orders(seq, ts, env.t0, out);
                }
                self.on_time(ev.seq, ev.ts_recv, env.t0, out, ev.is_last());
            }
            Msg::Exec(r) if r.kind == ExecKind::Adopted => self.adopt(&r, env.t0, out),
            Msg::Exec(r) => {
                if r.kind == mia_model::msg::ExecKind::Rejected {
                    self.broker_rejects += 1;
                    if r.reason == mia_model::msg::REASON_NO_ORDER_ID {
                        // The edge can send nothing more: stop as a kill does (the flatten
                        // orders are tried; the edge refuses them too while it has no id).
                        self.venue_no_id += 1;
                        self.risk.kill(RejectReason::VenueNoOrderId, KillSource::Control);
                        self.pending = None;
                        if self.venue_no_id == 1 {
                            self.exit_all(ExitReason::Kill, r.seq, r.ts, env.t0, out);
                        }
                    }
                }
                self.venue.on_report(&r, &mut self.fills);
                if r.ts >= self.cancel_retry_at {
                    self.retry_cancels(r.seq, r.ts, env.t0, out);
                }
                if self.book_fills(env.t0, out).is_some() {
                    self.after_orders(r.seq, r.ts, env.t0, out);
                }
                self.reconcile(r.seq, r.ts, env.t0, out);
            }
            Msg::Signal(sig) => {
                if self.forward_signals {
                    // before the orders it causes, so the output tap journals it first
                    out.push(*env);
                }
                self.on_signal(&sig, env.t0, out)
            }
            Msg::Control(c) => match c.kind {
                ControlKind::Kill => {
                    self.counters.kills += 1;
                    self.killed = true;
                    self.risk.kill(RejectReason::KillSwitch, KillSource::from_arg(c.arg));
                    self.pending = None;
                    self.exit_all(ExitReason::Kill, c.seq, c.ts, env.t0, out);
                    self.reconcile(c.seq, c.ts, env.t0, out);
                }
                ControlKind::Flatten => {
                    self.pending = None;
                    self.exit_all(ExitReason::Flatten, c.seq, c.ts, env.t0, out);
                    self.reconcile(c.seq, c.ts, env.t0, out);
                }
                ControlKind::Resume => {
                    self.killed = false;
                    self.risk.resume();
                }
                // The signal stage adopted a snapshot computed at `arg`: it ages from there.
                ControlKind::GammaAdopted => self.risk.on_gamma_age(c.ts, c.ts.saturating_sub(c.arg)),
                // A quiet live feed's clock (`[pipeline] live_timer_ms`): the timeouts run on it.
                ControlKind::Timer => {
                    self.risk.on_clock(c.ts);
                    self.on_time(c.seq, c.ts, env.t0, out, true);
                }
                ControlKind::GammaPublished | ControlKind::ModelPublished => {}
            },
            Msg::Intent(_) | Msg::Fill(_) => {}
        }
    }

    fn write_report(&self, r: &mut StageReport) {
        let c = &self.counters;
        r.count("exec.intents", c.intents);
        r.count("exec.fills", c.fills);
        r.count("exec.risk_rejects", c.risk_rejects);
        r.count("exec.venue_rejects", c.venue_rejects);
        r.count("exec.expired_qty", c.expired_qty);
        r.count("exec.kills", c.kills);
        r.count("exec.brackets", c.brackets);
        r.count("exec.bracket_errors", c.bracket_errors);
        r.count("exec.modifies", c.modifies);
        r.count("exec.cancels", c.cancels);
        r.count("exec.ignored_signals", c.ignored_signals);
        r.count("exec.ignored_reports", c.ignored_reports);
        r.count("exec.adopted", c.adopted);
        r.count("exec.cancel_waits", c.cancel_waits);
        r.count("exec.cancel_wait_timeouts", c.cancel_wait_timeouts);
        r.count("exec.cancel_retries", c.cancel_retries);
        r.count("exec.stale_signals", c.stale_signals);
        r.count("exec.venue_no_order_id", self.venue_no_id);
        for (k, n) in EXECUTED_TIER_KEYS.iter().zip(c.executed_by_tier) {
            r.count(k, n);
        }
        let o: &OmsCounters = self.oms.counters();
        r.count("oms.illegal_transitions", o.illegal);
        r.count("oms.unknown_ids", o.unknown);
        r.count("oms.duplicate_reports", o.duplicates);
        r.count("oms.bad_fills", o.bad_fills);
        r.count("oms.late_fills", o.late_fills);
        r.count("oms.id_hwm", self.oms.id_hwm());
        r.count("round_trips", self.pos.trips());
        r.count("risk.state", self.risk.state() as u64);
        r.count("risk.reason", self.risk.reason().map_or(0, |x| x as u64));
        r.count("risk.transitions", self.risk.transitions().count() as u64);
        // 0 = no kill in force, else the `KillSource` code + 1.
        r.count("risk.kill_source", self.risk.kill_source().map_or(0, |k| k as u64 + 1));
        r.value("position", self.pos.qty() as f64);
        r.count(
            "risk.first_stop_ts",
            self.risk.transitions().find(|t| t.to != RiskState::Active).map_or(0, |t| t.ts),
        );
        r.value("net_pnl_usd", self.net_pnl().to_usd());
        r.value("fees_usd", self.pos.fees().to_usd());
        r.note("venue", self.venue.describe());
        for e in self.oms.errors() {
            if let crate::oms::OmsError::LateFill(id) = e.error {
                r.warnings.push(format!(
                    "order {id}: a fill arrived at ts {} after the venue had reported the order ended; booked (the position follows every fill)",
                    e.ts
                ));
            } else {
                r.warnings.push(format!("order manager refused at ts {}: {:?}", e.ts, e.error));
            }
        }
        let mut csv = String::new();
        if self.trades.write_csv(&mut csv).is_err() {
            r.warnings.push("trades.csv: formatting failed".into());
        }
        r.files.push(("trades.csv", csv));
        if self.trades.overwritten() > 0 {
            r.warnings.push(format!(
                "trades.csv holds the last {} round trips only: {} older ones were overwritten (ring capacity {})",
                self.trades.len(),
                self.trades.overwritten(),
                TRADE_RING_CAP
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oms::OrderState;
    use crate::sim::{SimConfig, SimVenue};
    use mia_model::event::{flags, Event, Side};
    use mia_model::msg::{Direction, Signal};

    const P: i64 = 1_000_000_000;
    const TICK: i64 = 250_000_000;

    fn mkt(ev: Event) -> Envelope {
        Envelope { t0: 0, msg: Msg::Market(ev) }
    }

    fn book(st: &mut ExecStage<SimVenue>, out: &mut Outbox, ts: u64) {
        st.on_envelope(&mkt(Event::level(ts, ts, Side::Bid, 0, 4000 * P, 50, 5, 0)), out);
        st.on_envelope(&mkt(Event::level(ts, ts, Side::Ask, 0, 4000 * P + TICK, 50, 5, flags::LAST)), out);
    }

    fn signal(dir: Direction, seq: u64, ts: u64) -> Envelope {
        Envelope { t0: 0, msg: Msg::Signal(Signal { seq, ts, direction: dir, ..Default::default() }) }
    }

    fn stage(r: &RiskConfig) -> ExecStage<SimVenue> {
        let venue = SimVenue::new(SimConfig::default(), ContractSpec::ES);
        ExecStage::new(r, venue, Trading { contract: ContractSpec::ES, order_qty: 1, instrument_id: 7 })
    }

    fn risk() -> RiskConfig {
        RiskConfig {
            max_position: 2,
            max_order_qty: 2,
            max_orders_per_sec: 10,
            max_daily_loss_usd: 1000.0,
            // The stage's logic is tested here; each risk check has its own tests in `risk`.
            ..RiskConfig::permissive()
        }
    }

    #[test]
    fn instrument_id_zero_takes_the_feeds_id() {
        let venue = SimVenue::new(SimConfig::default(), ContractSpec::ES);
        let mut st = ExecStage::new(
            &risk(),
            venue,
            Trading { contract: ContractSpec::ES, order_qty: 1, instrument_id: 0 },
        );
        let mut out = Outbox::new();
        let mut ev = Event::level(1, 1, Side::Ask, 0, 4000 * P + TICK, 50, 5, flags::LAST);
        ev.instrument_id = 4916;
        st.on_envelope(&mkt(Event { side: Side::Bid, price: 4000 * P, flags: 0, ..ev }), &mut out);
        st.on_envelope(&mkt(ev), &mut out);
        st.on_envelope(&signal(Direction::Long, 2, 1_000), &mut out);
        let Some(Envelope { msg: Msg::Intent(i), .. }) = out.get(0) else { panic!("no intent") };
        assert_eq!(i.instrument_id, 4916);
    }

    /// A monitored stage: signals are forwarded, the live cells follow the position and the
    /// counters, and the trade tap gets an entry and an exit mark carrying the opening signal.
    #[test]
    fn metrics_trade_marks_and_forwarded_signals() {
        let mut st = stage(&risk());
        let m = Arc::new(LiveMetrics::new());
        st.attach_metrics(Arc::clone(&m));
        st.forward_signals(true);
        let (tx, mut rx) = rtrb::RingBuffer::new(8);
        st.attach_trade_tap(Tap::new(tx, mia_runtime::pipeline::tap::TapPolicy::Block));
        let mut out = Outbox::new();
        book(&mut st, &mut out, 1_000);
        let long = Envelope {
            t0: 0,
            msg: Msg::Signal(Signal {
                seq: 2,
                ts: 1_000,
                direction: Direction::Long,
                tier: 3,
                ..Default::default()
            }),
        };
        st.on_envelope(&long, &mut out);
        assert!(matches!(out.get(0).map(|e| e.msg), Some(Msg::Signal(s)) if s.tier == 3), "forwarded first");
        assert!(matches!(out.get(1).map(|e| e.msg), Some(Msg::Intent(_))));
        assert_eq!(m.snapshot().intents, 1);
        out.clear();
        book(&mut st, &mut out, 1_000 + 250_000);
        let s = m.snapshot();
        assert_eq!((s.position, s.fills, s.working_orders), (1, 1, 0));
        st.on_envelope(&signal(Direction::Flat, 9, 2_000_000), &mut out);
        book(&mut st, &mut out, 3_000_000);
        st.on_envelope(
            &mkt(Event::trade(3_000_001, 3_000_001, Side::Bid, 4000 * P, 1, flags::LAST)),
            &mut out,
        );
        let s = m.snapshot();
        assert_eq!((s.position, s.fills, s.mark), (0, 2, 4000 * P));
        assert_eq!(s.realized_pnl_nano, st.position().net_realized().nano());
        let entry = rx.pop().expect("entry mark");
        let exit = rx.pop().expect("exit mark");
        assert!(rx.pop().is_err(), "two marks");
        assert_eq!((entry.exit, entry.trade_no, entry.position), (false, 1, 1));
        assert_eq!(entry.signal.map(|s| s.tier), Some(3), "the opening signal");
        assert_eq!((exit.exit, exit.trade_no, exit.position), (true, 1, 0));
        assert_eq!(exit.signal.map(|s| s.tier), Some(3), "the exit carries the opening signal");
        assert_eq!(exit.net_pnl, st.trades().iter().next().map_or(0, |t| t.net().nano()));
        assert_eq!(exit.exit_reason, ExitReason::Signal as u8);
        // the position it opened is counted as executed under the signal's tier, once
        let mut r = StageReport::default();
        st.report(&mut r);
        assert_eq!(r.counter(EXECUTED_TIER_KEYS[3]), 1);
        assert_eq!(EXECUTED_TIER_KEYS.iter().map(|k| r.counter(k)).sum::<u64>(), 1);
    }

    #[test]
    fn signal_to_intent_to_fill_to_position() {
        let mut st = stage(&risk());
        let mut out = Outbox::new();
        book(&mut st, &mut out, 1_000);
        assert!(out.is_empty(), "market events are not forwarded");
        st.on_envelope(&signal(Direction::Long, 2, 1_000), &mut out);
        let Some(Envelope { msg: Msg::Intent(i), .. }) = out.get(0) else { panic!("no intent") };
        assert_eq!((i.side, i.qty, i.seq, i.instrument_id), (OrderSide::Buy, 1, 2, 7));
        out.clear();
        // a second signal while the order works sends nothing (no duplicates)
        st.on_envelope(&signal(Direction::Long, 3, 2_000), &mut out);
        assert!(out.is_empty());
        // the next market event after the latency fills it at the ask
        book(&mut st, &mut out, 1_000 + 250_000);
        let Some(Envelope { msg: Msg::Fill(f), .. }) = out.get(0) else { panic!("no fill") };
        assert_eq!((f.price, f.qty, f.done), (4000 * P + TICK, 1, true));
        assert_eq!(st.position().qty(), 1);
        out.clear();
        // flat signal → sell 1
        st.on_envelope(&signal(Direction::Flat, 9, 2_000_000), &mut out);
        assert!(
            matches!(out.get(0).map(|e| e.msg), Some(Msg::Intent(i)) if i.side == OrderSide::Sell && i.qty == 1)
        );
        out.clear();
        book(&mut st, &mut out, 3_000_000);
        assert_eq!(st.position().qty(), 0);
        assert_eq!(st.trades().len(), 1);
        // bought at ask, sold at bid: −1 tick − fees (IBKR ES first tier, 2.27 USD a side)
        let fees = 2 * NanoUsd::from_nano(2_270_000_000);
        assert_eq!(st.net_pnl(), NanoUsd::from_nano(-12_500_000_000) - fees);
        assert_eq!(st.counters.intents, 2);
    }

    #[test]
    fn risk_refusal_blocks_orders_and_counts() {
        let cfg = RiskConfig { max_position: 0, ..risk() };
        let mut st = stage(&cfg);
        let mut out = Outbox::new();
        book(&mut st, &mut out, 1_000);
        st.on_envelope(&signal(Direction::Short, 2, 1_000), &mut out);
        assert!(out.is_empty());
        assert_eq!(st.counters.risk_rejects, 1);
        // retried no sooner than 1 s later
        book(&mut st, &mut out, 500_000_000);
        assert_eq!(st.counters.risk_rejects, 1);
        book(&mut st, &mut out, 1_100_000_000);
        assert_eq!(st.counters.risk_rejects, 2);
    }

    fn px(points: f64) -> Px {
        (points * P as f64).round() as Px
    }

    fn lvl<V: Venue>(st: &mut ExecStage<V>, out: &mut Outbox, ts: u64, bid: f64, ask: f64) {
        st.on_envelope(&mkt(Event::level(ts, ts, Side::Bid, 0, px(bid), 50, 5, 0)), out);
        st.on_envelope(&mkt(Event::level(ts, ts, Side::Ask, 0, px(ask), 50, 5, flags::LAST)), out);
    }

    fn print(st: &mut ExecStage<SimVenue>, out: &mut Outbox, ts: u64, p: f64, size: u32) {
        let e = Event { seq: ts, ..Event::trade(ts, ts, Side::None, px(p), size, flags::LAST) };
        st.on_envelope(&mkt(e), out);
    }

    fn bracket_signal(
        dir: Direction,
        ts: u64,
        entry: f64,
        stop: f64,
        target: f64,
        ty: OrderType,
    ) -> Envelope {
        let sig = Signal {
            seq: ts,
            ts,
            direction: dir,
            entry: px(entry),
            stop: px(stop),
            target: px(target),
            entry_type: ty,
            ..Default::default()
        };
        Envelope { t0: 0, msg: Msg::Signal(sig) }
    }

    fn intents(out: &Outbox) -> Vec<OrderIntent> {
        out.as_slice()
            .iter()
            .filter_map(|e| if let Msg::Intent(i) = e.msg { Some(i) } else { None })
            .collect()
    }

    fn stage_qty(qty: u32) -> ExecStage<SimVenue> {
        let venue = SimVenue::new(SimConfig::default(), ContractSpec::ES);
        ExecStage::new(
            &risk(),
            venue,
            Trading { contract: ContractSpec::ES, order_qty: qty, instrument_id: 7 },
        )
    }

    const LAT: u64 = 250_000;

    #[test]
    fn a_bracket_enters_then_its_target_exits_and_cancels_the_stop() {
        let mut st = stage_qty(1);
        let mut out = Outbox::new();
        lvl(&mut st, &mut out, 1_000, 4000.00, 4000.25);
        // Stop 3998.10 rounds down (away from a long entry) to 3998.00; target 4002.10 rounds
        // down (towards it) to 4002.00.
        st.on_envelope(
            &bracket_signal(Direction::Long, 1_000, 4000.00, 3998.10, 4002.10, OrderType::Market),
            &mut out,
        );
        let entry = intents(&out);
        assert_eq!(entry.len(), 1);
        assert_eq!(
            (entry[0].order_type, entry[0].side, entry[0].qty),
            (OrderType::Market, OrderSide::Buy, 1)
        );
        let e = entry[0].client_order_id;
        assert_eq!(st.bracket(), Some(e));
        assert_eq!(
            st.oms().bracket_of(e).map(|b| (b.stop, b.target)),
            Some((0, 0)),
            "no child before the fill"
        );
        out.clear();
        // The entry fills at the ask; the children go out at once.
        lvl(&mut st, &mut out, 1_000 + LAT, 4000.00, 4000.25);
        assert_eq!(st.position().qty(), 1);
        let kids = intents(&out);
        assert_eq!(kids.len(), 2);
        let (stop, target) = (kids[0], kids[1]);
        assert_eq!(
            (stop.order_type, stop.trigger, stop.side, stop.tif),
            (OrderType::Stop, px(3998.0), OrderSide::Sell, TimeInForce::Gtc)
        );
        assert_eq!((target.order_type, target.price, target.qty), (OrderType::Limit, px(4002.0), 1));
        assert_eq!(
            (stop.link as u64, target.link as u64),
            (stop.client_order_id - e, target.client_order_id - e)
        );
        out.clear();
        lvl(&mut st, &mut out, 1_000 + 2 * LAT, 4000.00, 4000.25);
        assert_eq!(st.oms().get(stop.client_order_id).map(|o| o.state), Some(OrderState::Accepted));
        print(&mut st, &mut out, 600_000, 4001.00, 1);
        print(&mut st, &mut out, 700_000, 3999.50, 1);
        assert!(out.is_empty(), "no stop at 3999.50");
        // A print through 4002.00 fills the target; the stop is cancelled (OCO).
        print(&mut st, &mut out, 800_000, 4002.25, 5);
        assert!(st.position().is_flat());
        let cancel = intents(&out);
        assert_eq!(cancel.len(), 1);
        assert_eq!(
            (cancel[0].action, cancel[0].client_order_id),
            (OrderAction::Cancel, stop.client_order_id)
        );
        assert_eq!(st.oms().get(stop.client_order_id).map(|o| o.state), Some(OrderState::Cancelled));
        assert_eq!(st.venue().working(), 0);
        assert_eq!(st.bracket(), None);
        let t = *st.trades().iter().next().expect("one round trip");
        assert_eq!(t.exit_reason, ExitReason::Target);
        assert_eq!(
            (t.entry_px, t.exit_px, t.pnl),
            (px(4000.25), px(4002.00), NanoUsd::from_nano(87_500_000_000))
        );
        // Excursions: the 3999.50 print is 0.75 below the entry (3 ticks, $37.50); the target
        // fill itself is the best mark, 1.75 above (7 ticks, $87.50).
        assert_eq!((t.mae_px, t.mfe_px), (px(0.75), px(1.75)));
        assert_eq!(
            (t.mae_usd, t.mfe_usd),
            (NanoUsd::from_nano(37_500_000_000), NanoUsd::from_nano(87_500_000_000))
        );
        // Slippage: bought 1 tick above the decision price, sold at the target: $12.50.
        assert_eq!(
            (t.entry_ref_px, t.exit_ref_px, t.slippage_usd),
            (px(4000.0), px(4002.0), NanoUsd::from_nano(12_500_000_000))
        );
        assert_eq!(st.oms().counters().illegal, 0);
    }

    #[test]
    fn a_partial_limit_entry_sizes_the_children_and_the_stop_exits() {
        let mut st = stage_qty(2);
        let mut out = Outbox::new();
        lvl(&mut st, &mut out, 1_000, 4000.00, 4000.25);
        // A short limit entry at 4000.60 rounds up (away from the market) to 4000.75.
        st.on_envelope(
            &bracket_signal(Direction::Short, 1_000, 4000.60, 4002.00, 3998.00, OrderType::Limit),
            &mut out,
        );
        let entry = intents(&out)[0];
        assert_eq!(
            (entry.order_type, entry.price, entry.qty, entry.tif),
            (OrderType::Limit, px(4000.75), 2, TimeInForce::Day)
        );
        out.clear();
        lvl(&mut st, &mut out, 1_000 + LAT, 4000.00, 4000.25);
        assert!(out.is_empty(), "rests");
        // One contract trades through it: children for 1.
        print(&mut st, &mut out, 400_000, 4001.00, 1);
        assert_eq!(st.position().qty(), -1);
        let kids = intents(&out);
        assert_eq!(kids.iter().map(|k| (k.side, k.qty)).collect::<Vec<_>>(), vec![(OrderSide::Buy, 1); 2]);
        out.clear();
        // The second contract: both children modified to 2.
        print(&mut st, &mut out, 500_000, 4001.00, 5);
        assert_eq!(st.position().qty(), -2);
        let mods = intents(&out);
        assert_eq!(
            mods.iter().map(|m| (m.action, m.qty)).collect::<Vec<_>>(),
            vec![(OrderAction::Modify, 2); 2]
        );
        assert_eq!(st.venue().remaining(kids[0].client_order_id), Some(2));
        out.clear();
        lvl(&mut st, &mut out, 1_000_000, 4001.75, 4002.25);
        // A print at 4002.00 triggers the buy stop: it lifts the ask at 4002.25.
        print(&mut st, &mut out, 1_100_000, 4002.00, 1);
        assert!(st.position().is_flat());
        assert_eq!(st.venue().working(), 0, "target cancelled");
        let t = *st.trades().iter().next().expect("round trip");
        assert_eq!(
            (t.exit_reason, t.qty, t.entry_px, t.exit_px),
            (ExitReason::Stop, 2, px(4000.75), px(4002.25))
        );
        assert_eq!(t.pnl, NanoUsd::from_nano(-150_000_000_000));
        // Per contract: entry 0.15 better than the decision (−0.15), exit 0.25 worse than the
        // stop (+0.25): 0.10 × 2 × $50 = $10.
        assert_eq!((t.slippage_px(), t.slippage_usd), (px(0.10), NanoUsd::from_nano(10_000_000_000)));
    }

    #[test]
    fn flatten_and_kill_cancel_the_children() {
        for (kind, reason) in
            [(ControlKind::Flatten, ExitReason::Flatten), (ControlKind::Kill, ExitReason::Kill)]
        {
            let mut st = stage_qty(1);
            let mut out = Outbox::new();
            lvl(&mut st, &mut out, 1_000, 4000.00, 4000.25);
            st.on_envelope(
                &bracket_signal(Direction::Long, 1_000, 4000.0, 3998.0, 4002.0, OrderType::Market),
                &mut out,
            );
            lvl(&mut st, &mut out, 1_000 + LAT, 4000.00, 4000.25);
            assert_eq!((st.position().qty(), st.oms().working()), (1, 2));
            out.clear();
            let c = mia_model::msg::Control { seq: 9, ts: 400_000, arg: 0, kind };
            st.on_envelope(&Envelope { t0: 0, msg: Msg::Control(c) }, &mut out);
            let reqs = intents(&out);
            assert_eq!(reqs.iter().filter(|r| r.action == OrderAction::Cancel).count(), 2, "{kind:?}");
            assert_eq!(reqs.last().map(|r| (r.action, r.side)), Some((OrderAction::New, OrderSide::Sell)));
            lvl(&mut st, &mut out, 400_000 + LAT, 4000.00, 4000.25);
            assert!(st.position().is_flat());
            assert_eq!((st.oms().working(), st.venue().working()), (0, 0));
            let t = *st.trades().iter().next().expect("round trip");
            assert_eq!(t.exit_reason, reason);
        }
    }

    #[test]
    fn kill_halts_the_risk_manager_with_its_source_and_resume_lifts_it() {
        use crate::risk::{KillSource, RejectReason};
        let mut st = stage(&risk());
        let mut out = Outbox::new();
        book(&mut st, &mut out, 1_000);
        st.on_envelope(&signal(Direction::Long, 2, 1_000), &mut out);
        book(&mut st, &mut out, 1_000 + 250_000);
        assert_eq!(st.position().qty(), 1);
        out.clear();
        let kill = mia_model::msg::Control { seq: 5, ts: 300_000, arg: 2, kind: ControlKind::Kill };
        st.on_envelope(&Envelope { t0: 0, msg: Msg::Control(kill) }, &mut out);
        assert_eq!(st.risk().state(), RiskState::Reducing, "a position is open");
        assert_eq!(
            (st.risk().reason(), st.risk().kill_source()),
            (Some(RejectReason::KillSwitch), Some(KillSource::Signal))
        );
        assert!(matches!(intents(&out).last(), Some(i) if i.side == OrderSide::Sell && i.qty == 1));
        book(&mut st, &mut out, 600_000);
        assert!(st.position().is_flat());
        assert_eq!(st.risk().state(), RiskState::Halted);
        assert_eq!(st.trades().iter().next().map(|t| t.exit_reason), Some(ExitReason::Kill));
        // Halted: a signal sends nothing.
        out.clear();
        st.on_envelope(&signal(Direction::Long, 7, 700_000), &mut out);
        book(&mut st, &mut out, 800_000);
        assert!(intents(&out).is_empty() && st.position().is_flat());
        let mut r = StageReport::default();
        st.report(&mut r);
        assert_eq!((r.counter("risk.kill_source"), r.get_value("position")), (3, Some(0.0)));
        // Resume lifts the kill: the next signal trades.
        let resume = mia_model::msg::Control { seq: 9, ts: 900_000, arg: 0, kind: ControlKind::Resume };
        st.on_envelope(&Envelope { t0: 0, msg: Msg::Control(resume) }, &mut out);
        assert_eq!(st.risk().state(), RiskState::Active);
        st.on_envelope(&signal(Direction::Long, 10, 1_000_000), &mut out);
        assert_eq!(intents(&out).len(), 1);
    }

    #[test]
    fn an_opposite_bracket_exits_then_enters() {
        let mut st = stage_qty(1);
        let mut out = Outbox::new();
        lvl(&mut st, &mut out, 1_000, 4000.00, 4000.25);
        st.on_envelope(
            &bracket_signal(Direction::Long, 1_000, 4000.0, 3998.0, 4002.0, OrderType::Market),
            &mut out,
        );
        lvl(&mut st, &mut out, 1_000 + LAT, 4000.00, 4000.25);
        out.clear();
        // Same direction: ignored.
        st.on_envelope(
            &bracket_signal(Direction::Long, 2_000, 4000.0, 3998.0, 4002.0, OrderType::Market),
            &mut out,
        );
        assert!(out.is_empty());
        assert_eq!(st.counters.ignored_signals, 1);
        // Opposite: cancel the children, sell the long, then the short bracket once flat.
        st.on_envelope(
            &bracket_signal(Direction::Short, 3_000, 4000.0, 4002.0, 3998.0, OrderType::Market),
            &mut out,
        );
        assert_eq!(intents(&out).len(), 3, "2 cancels + the exit");
        out.clear();
        lvl(&mut st, &mut out, 3_000 + LAT, 4000.00, 4000.25);
        assert!(st.position().is_flat());
        assert_eq!(st.trades().iter().next().map(|t| t.exit_reason), Some(ExitReason::Signal));
        let next = intents(&out);
        assert_eq!(next.len(), 1, "the short entry");
        assert_eq!((next[0].side, next[0].order_type), (OrderSide::Sell, OrderType::Market));
        assert_eq!(st.bracket(), Some(next[0].client_order_id));
        lvl(&mut st, &mut out, 3_000 + 2 * LAT, 4000.00, 4000.25);
        assert_eq!(st.position().qty(), -1);
    }

    #[test]
    fn a_bracket_still_open_at_the_session_end_exits_on_time() {
        // 2024-03-13 16:00 CT.
        let end = 1_710_363_600 * 1_000_000_000u64;
        let t = end - 60 * 1_000_000_000;
        let mut st = stage_qty(1);
        let mut out = Outbox::new();
        lvl(&mut st, &mut out, t, 4000.00, 4000.25);
        st.on_envelope(
            &bracket_signal(Direction::Long, t, 4000.0, 3998.0, 4002.0, OrderType::Market),
            &mut out,
        );
        lvl(&mut st, &mut out, t + LAT, 4000.00, 4000.25);
        assert_eq!(st.position().qty(), 1);
        out.clear();
        lvl(&mut st, &mut out, end - 1, 4000.00, 4000.25);
        assert!(out.is_empty());
        lvl(&mut st, &mut out, end, 4000.00, 4000.25);
        assert_eq!(intents(&out).iter().filter(|i| i.action == OrderAction::Cancel).count(), 2);
        lvl(&mut st, &mut out, end + LAT, 4000.00, 4000.25);
        assert!(st.position().is_flat());
        assert_eq!(st.trades().iter().next().map(|t| t.exit_reason), Some(ExitReason::Time));
    }

    #[test]
    fn a_threshold_signal_ends_a_bracket_and_trades_as_before() {
        let mut st = stage_qty(1);
        let mut out = Outbox::new();
        lvl(&mut st, &mut out, 1_000, 4000.00, 4000.25);
        st.on_envelope(
            &bracket_signal(Direction::Long, 1_000, 4000.0, 3998.0, 4002.0, OrderType::Market),
            &mut out,
        );
        lvl(&mut st, &mut out, 1_000 + LAT, 4000.00, 4000.25);
        out.clear();
        st.on_envelope(&signal(Direction::Short, 5, 400_000), &mut out);
        let reqs = intents(&out);
        assert_eq!(reqs.iter().filter(|r| r.action == OrderAction::Cancel).count(), 2);
        assert_eq!(reqs.last().map(|r| (r.side, r.qty)), Some((OrderSide::Sell, 2)), "to the target −1");
        lvl(&mut st, &mut out, 400_000 + LAT, 4000.00, 4000.25);
        assert_eq!(st.position().qty(), -1);
        assert_eq!(st.bracket(), None);
        assert_eq!(st.trades().iter().next().map(|t| t.exit_reason), Some(ExitReason::Signal));
    }

    #[test]
    fn a_repeated_live_report_books_nothing() {
        use crate::venue::LiveVenue;
        use mia_model::msg::{ExecKind, ExecReport};
        let mut st = ExecStage::new(
            &risk(),
            LiveVenue::replay(),
            Trading { contract: ContractSpec::ES, order_qty: 1, instrument_id: 7 },
        );
        let mut out = Outbox::new();
        st.on_envelope(&signal(Direction::Long, 1, 10), &mut out);
        let id = intents(&out)[0].client_order_id;
        let rep = |kind, leaves| ExecReport {
            client_order_id: id,
            seq: 2,
            ts: 20,
            price: 4000 * P,
            fee: NanoUsd::ZERO,
            qty: 1,
            leaves,
            side: OrderSide::Buy,
            kind,
            reason: 0,
        };
        for r in [
            rep(ExecKind::Accepted, 1),
            rep(ExecKind::Accepted, 1),
            rep(ExecKind::Filled, 0),
            rep(ExecKind::Filled, 0),
        ] {
            st.on_envelope(&Envelope { t0: 0, msg: Msg::Exec(r) }, &mut out);
        }
        assert_eq!(st.position().qty(), 1, "the repeated fill is not booked twice");
        assert_eq!(st.counters.fills, 1);
        assert_eq!(st.oms().counters().duplicates, 2);
        // A report about an id never issued is refused and counted.
        st.on_envelope(
            &Envelope {
                t0: 0,
                msg: Msg::Exec(ExecReport { client_order_id: 999, ..rep(ExecKind::Filled, 0) }),
            },
            &mut out,
        );
        assert_eq!((st.position().qty(), st.oms().counters().unknown), (1, 1));
        let mut r = StageReport::default();
        st.report(&mut r);
        assert_eq!(r.counter("oms.unknown_ids"), 1);
        assert!(r.warnings.iter().any(|w| w.contains("UnknownId(999)")));
    }

    #[test]
    fn ids_continue_after_a_restart() {
        let mut a = stage_qty(1);
        let mut out = Outbox::new();
        lvl(&mut a, &mut out, 1_000, 4000.00, 4000.25);
        a.on_envelope(
            &bracket_signal(Direction::Long, 1_000, 4000.0, 3998.0, 4002.0, OrderType::Market),
            &mut out,
        );
        lvl(&mut a, &mut out, 1_000 + LAT, 4000.00, 4000.25);
        let hwm = a.id_hwm();
        assert_eq!(hwm, 3, "entry + 2 children");
        let mut b = stage_qty(1);
        b.resume_ids(hwm);
        out.clear();
        lvl(&mut b, &mut out, 1_000, 4000.00, 4000.25);
        b.on_envelope(&signal(Direction::Long, 1, 2_000), &mut out);
        assert_eq!(intents(&out)[0].client_order_id, hwm + 1);
    }

    fn live_stage(qty: u32) -> ExecStage<crate::venue::LiveVenue> {
        ExecStage::new(
            &risk(),
            crate::venue::LiveVenue::replay(),
            Trading { contract: ContractSpec::ES, order_qty: qty, instrument_id: 7 },
        )
    }

    fn report(
        id: u64,
        kind: mia_model::msg::ExecKind,
        side: OrderSide,
        qty: u32,
        leaves: u32,
        px_: f64,
    ) -> Envelope {
        let r = mia_model::msg::ExecReport {
            client_order_id: id,
            seq: 50,
            ts: 50_000,
            price: px(px_),
            fee: NanoUsd::ZERO,
            qty,
            leaves,
            side,
            kind,
            reason: 0,
        };
        Envelope { t0: 0, msg: Msg::Exec(r) }
    }

    /// A live stage of `qty` contracts per entry, a long native bracket (entry `ty` at 4000,
    /// stop 3998, target 4002) sent at ts 1000: the stage, its outbox (cleared) and the three
    /// intents (entry, stop, target).
    fn native_long(
        qty: u32,
        ty: OrderType,
    ) -> (ExecStage<crate::venue::LiveVenue>, Outbox, [OrderIntent; 3]) {
        let mut st = live_stage(qty);
        let mut out = Outbox::new();
        lvl(&mut st, &mut out, 1_000, 4000.00, 4000.25);
        st.on_envelope(&bracket_signal(Direction::Long, 1_000, 4000.0, 3998.0, 4002.0, ty), &mut out);
        let sent = intents(&out);
        assert_eq!(sent.len(), 3, "entry, stop and target together: {sent:?}");
        out.clear();
        (st, out, [sent[0], sent[1], sent[2]])
    }

    #[test]
    fn an_adopted_broker_position_is_booked_and_flattened_through_risk() {
        use mia_model::msg::ExecKind;
        let mut st = live_stage(1);
        let mut out = Outbox::new();
        lvl(&mut st, &mut out, 1_000, 4000.00, 4000.25);
        out.clear();
        // The broker holds 2 long at 3999.50 from a crashed earlier run.
        st.on_envelope(&report(0, ExecKind::Adopted, OrderSide::Buy, 2, 0, 3999.50), &mut out);
        assert_eq!(st.position().qty(), 2, "booked");
        assert_eq!(st.position().avg_entry_px(), Some(px(3999.50)));
        let sent = intents(&out);
        assert_eq!(sent.len(), 1, "one flattening order");
        assert_eq!((sent[0].side, sent[0].qty, sent[0].order_type), (OrderSide::Sell, 2, OrderType::Market));
        let id = sent[0].client_order_id;
        out.clear();
        st.on_envelope(&report(id, ExecKind::Accepted, OrderSide::Sell, 2, 2, 0.0), &mut out);
        st.on_envelope(&report(id, ExecKind::Filled, OrderSide::Sell, 2, 0, 4000.00), &mut out);
        assert!(st.position().is_flat());
        assert!(intents(&out).is_empty(), "nothing more once flat");
        let trip = st.trades().iter().next().copied().expect("the adopted trip");
        assert_eq!((trip.exit_reason, trip.qty), (ExitReason::Flatten, 2));
        // +0.50 point × 2 × 50 USD, no fee on the adopted leg.
        assert_eq!(trip.pnl, NanoUsd::from_whole_usd(50));
        // A report that is not about a position (an order id, no quantity) changes nothing.
        st.on_envelope(&report(5, ExecKind::Adopted, OrderSide::Buy, 1, 0, 4000.0), &mut out);
        st.on_envelope(&report(0, ExecKind::Adopted, OrderSide::Buy, 0, 0, 4000.0), &mut out);
        assert!(st.position().is_flat());
        let mut r = StageReport::default();
        st.report(&mut r);
        assert_eq!(r.counter("exec.adopted"), 1);
    }

    /// A broker edge that cannot reserve an order id says so with the venue-neutral reason;
    /// the stage halts (a kill-like stop with its own reason), tries once to flatten, and
    /// sends no new entry afterwards.
    #[test]
    fn a_venue_without_order_ids_halts_the_session() {
        use mia_model::msg::{ExecKind, REASON_NO_ORDER_ID};
        let mut st = live_stage(1);
        let mut out = Outbox::new();
        lvl(&mut st, &mut out, 1_000, 4000.00, 4000.25);
        st.on_envelope(&report(0, ExecKind::Adopted, OrderSide::Buy, 1, 0, 4000.00), &mut out);
        let sent = intents(&out);
        assert_eq!(sent.len(), 1, "the adopted position's flatten order");
        let id = sent[0].client_order_id;
        out.clear();
        let mut rej = report(id, ExecKind::Rejected, OrderSide::Sell, 1, 0, 0.0);
        if let Msg::Exec(r) = &mut rej.msg {
            r.reason = REASON_NO_ORDER_ID;
        }
        st.on_envelope(&rej, &mut out);
        assert_eq!(st.risk().reason(), Some(crate::risk::RejectReason::VenueNoOrderId));
        let again = intents(&out);
        assert!(again.len() <= 1, "at most one flatten attempt: {again:?}");
        out.clear();
        // The same reject again: no new attempt is triggered by it.
        st.on_envelope(&rej, &mut out);
        assert!(intents(&out).is_empty(), "no ping-pong with an edge that has no id");
        let mut r = StageReport::default();
        st.report(&mut r);
        assert_eq!(r.counter("exec.venue_no_order_id"), 2);
    }

    #[test]
    fn a_live_venue_gets_a_native_bracket_in_one_batch() {
        use mia_model::msg::ExecKind;
        let (mut st, mut out, [e, s, t]) = native_long(2, OrderType::Market);
        assert_eq!((e.children, e.link, e.side, e.qty), (2, 0, OrderSide::Buy, 2));
        assert_eq!(
            (s.order_type, s.trigger, s.side, s.qty, s.link),
            (OrderType::Stop, px(3998.0), OrderSide::Sell, 2, 1)
        );
        assert_eq!(
            (t.order_type, t.price, t.side, t.qty, t.link),
            (OrderType::Limit, px(4002.0), OrderSide::Sell, 2, 2)
        );
        assert_eq!(st.bracket(), Some(e.client_order_id));
        out.clear();
        for i in [e, s, t] {
            st.on_envelope(
                &report(i.client_order_id, ExecKind::Accepted, i.side, i.qty, i.qty, 0.0),
                &mut out,
            );
        }
        // The entry fills in two parts: the children already cover it at the venue.
        st.on_envelope(&report(e.client_order_id, ExecKind::Filled, OrderSide::Buy, 1, 1, 4000.25), &mut out);
        st.on_envelope(&report(e.client_order_id, ExecKind::Filled, OrderSide::Buy, 1, 0, 4000.25), &mut out);
        assert_eq!(st.position().qty(), 2);
        assert!(intents(&out).is_empty(), "no child resized or re-sent: {:?}", intents(&out));
        // The target fills: the stop is cancelled (the venue's OCA does it too; a repeat is harmless).
        st.on_envelope(&report(t.client_order_id, ExecKind::Filled, OrderSide::Sell, 2, 0, 4002.0), &mut out);
        assert!(st.position().is_flat());
        let cancels: Vec<u64> = intents(&out)
            .iter()
            .filter(|i| i.action == OrderAction::Cancel)
            .map(|i| i.client_order_id)
            .collect();
        assert_eq!(cancels, vec![s.client_order_id]);
        st.on_envelope(&report(s.client_order_id, ExecKind::Cancelled, OrderSide::Sell, 0, 2, 0.0), &mut out);
        assert_eq!(st.bracket(), None, "the bracket is over");
        assert_eq!(st.trades().iter().next().map(|t| t.exit_reason), Some(ExitReason::Target));
    }

    /// An exit waits for the venue to confirm the cancels of the orders on its side (one of
    /// them could still fill), and goes without them after `CANCEL_WAIT_NS` of event time,
    /// also when the feed is silent and only a live session's timers advance it.
    #[test]
    fn an_exit_waits_for_its_sides_cancels_then_for_at_most_the_limit() {
        use mia_model::msg::ExecKind;
        for (confirm, silent_feed) in [(true, false), (false, false), (false, true)] {
            let (mut st, mut out, [e, s, t]) = native_long(1, OrderType::Market);
            st.on_envelope(
                &report(e.client_order_id, ExecKind::Filled, OrderSide::Buy, 1, 0, 4000.25),
                &mut out,
            );
            assert_eq!(st.position().qty(), 1);
            out.clear();
            st.on_envelope(&signal(Direction::Flat, 2, 2_000), &mut out);
            let sent = intents(&out);
            assert!(
                sent.iter().all(|i| i.action == OrderAction::Cancel),
                "cancels only, no exit yet: {sent:?}"
            );
            assert_eq!(sent.len(), 2, "the two children (the entry is done): {sent:?}");
            out.clear();
            lvl(&mut st, &mut out, 1_000_000, 4000.00, 4000.25);
            assert!(intents(&out).is_empty(), "still waiting");
            if confirm {
                st.on_envelope(
                    &report(s.client_order_id, ExecKind::Cancelled, OrderSide::Sell, 1, 1, 0.0),
                    &mut out,
                );
                assert!(intents(&out).is_empty(), "one of the two still live");
                st.on_envelope(
                    &report(t.client_order_id, ExecKind::Cancelled, OrderSide::Sell, 1, 1, 0.0),
                    &mut out,
                );
            } else if silent_feed {
                st.on_envelope(&timer(2_000 + CANCEL_WAIT_NS / 2), &mut out);
                assert!(intents(&out).is_empty(), "nothing due yet");
                st.on_envelope(&timer(2_000 + CANCEL_WAIT_NS), &mut out);
            } else {
                lvl(&mut st, &mut out, 2_000 + CANCEL_WAIT_NS, 4000.00, 4000.25);
            }
            let exit = intents(&out);
            assert_eq!(exit.len(), 1, "the exit (confirm = {confirm}): {exit:?}");
            assert_eq!(
                (exit[0].side, exit[0].order_type, exit[0].action),
                (OrderSide::Sell, OrderType::Market, OrderAction::New)
            );
            let mut r = StageReport::default();
            st.report(&mut r);
            assert_eq!(r.counter("exec.cancel_waits"), 1);
            assert_eq!(r.counter("exec.cancel_wait_timeouts"), u64::from(!confirm));
            assert_eq!(r.counter("exec.cancel_retries"), 0, "the venue took the requests");
        }
    }

    fn timer(ts: u64) -> Envelope {
        use mia_model::msg::{Control, ControlKind};
        Envelope { t0: 0, msg: Msg::Control(Control { kind: ControlKind::Timer, seq: 9, ts, arg: ts }) }
    }

    /// A cancel request the venue refused (the edge's ring full) is sent again
    /// `CANCEL_RETRY_NS` later, also on a timer while the feed is quiet, until the venue takes
    /// it; requests it took are never repeated (their answer comes as a report).
    #[test]
    fn a_refused_cancel_is_sent_again_until_the_venue_takes_it() {
        use mia_model::msg::ExecKind;
        // Room for the bracket's three orders only: the exit's cancels find the ring full.
        let (tx, mut rx) = rtrb::RingBuffer::new(3);
        let mut st = ExecStage::new(
            &risk(),
            crate::venue::LiveVenue::new(tx),
            Trading { contract: ContractSpec::ES, order_qty: 1, instrument_id: 7 },
        );
        let mut out = Outbox::new();
        lvl(&mut st, &mut out, 1_000, 4000.00, 4000.25);
        st.on_envelope(
            &bracket_signal(Direction::Long, 1_000, 4000.0, 3998.0, 4002.0, OrderType::Limit),
            &mut out,
        );
        let sent = intents(&out);
        assert_eq!(sent.len(), 3);
        out.clear();
        st.on_envelope(&signal(Direction::Flat, 2, 2_000), &mut out);
        assert_eq!(intents(&out).iter().filter(|i| i.action == OrderAction::Cancel).count(), 3);
        assert_eq!(st.venue().refused, 3, "the three cancels were lost");
        let drain = |rx: &mut rtrb::Consumer<OrderIntent>| {
            let mut v = Vec::new();
            while let Ok(i) = rx.pop() {
                v.push(i);
            }
            v
        };
        // The edge takes two orders off the ring: one cancel fits at the retry.
        assert!(rx.pop().is_ok() && rx.pop().is_ok());
        assert!(st.oms().any_live(), "nothing ended them: the venue may still execute them");
        lvl(&mut st, &mut out, 2_000 + CANCEL_RETRY_NS - 1, 4000.00, 4000.25);
        assert_eq!(drain(&mut rx).len(), 1, "nothing repeated before the retry time");
        // At it (a timer: the feed is quiet), the three go again; the ring takes all three now.
        st.on_envelope(&timer(2_000 + CANCEL_RETRY_NS), &mut out);
        let again = drain(&mut rx);
        assert!(again.iter().all(|i| i.action == OrderAction::Cancel), "{again:?}");
        let mut ids: Vec<u64> = again.iter().map(|i| i.client_order_id).collect();
        ids.sort_unstable();
        let mut want: Vec<u64> = sent.iter().map(|i| i.client_order_id).collect();
        want.sort_unstable();
        assert_eq!(ids, want);
        // Taken: never repeated, even unanswered; the answers end the orders.
        lvl(&mut st, &mut out, 2_000 + 5 * CANCEL_RETRY_NS, 4000.00, 4000.25);
        assert!(drain(&mut rx).is_empty(), "taken requests are not repeated");
        for i in &sent {
            st.on_envelope(&report(i.client_order_id, ExecKind::Cancelled, i.side, 1, 1, 0.0), &mut out);
        }
        assert!(!st.oms().any_live());
        let mut r = StageReport::default();
        st.report(&mut r);
        assert_eq!(r.counter("exec.cancel_retries"), 3);
        assert_eq!(st.venue().refused, 3);
    }

    /// An opposite bracket waits until the venue confirms the old bracket's cancels; a signal
    /// that waited longer than `PENDING_MAX_AGE_NS` is dropped.
    #[test]
    fn an_opposite_bracket_waits_for_the_old_one_to_end_and_goes_stale() {
        use mia_model::msg::ExecKind;
        for late in [false, true] {
            let (mut st, mut out, old) = native_long(1, OrderType::Market);
            st.on_envelope(
                &bracket_signal(Direction::Short, 2_000, 4000.0, 4002.0, 3998.0, OrderType::Market),
                &mut out,
            );
            let sent = intents(&out);
            assert!(sent.iter().all(|i| i.action == OrderAction::Cancel) && sent.len() == 3, "{sent:?}");
            out.clear();
            let at = if late { 2_000 + PENDING_MAX_AGE_NS + 1 } else { 3_000 };
            for i in old {
                let mut r = report(i.client_order_id, ExecKind::Cancelled, i.side, i.qty, i.qty, 0.0);
                if let Msg::Exec(x) = &mut r.msg {
                    x.ts = at;
                }
                st.on_envelope(&r, &mut out);
            }
            let entries: Vec<OrderIntent> =
                intents(&out).into_iter().filter(|i| i.action == OrderAction::New).collect();
            if late {
                assert!(entries.is_empty(), "a stale signal is dropped: {entries:?}");
                let mut r = StageReport::default();
                st.report(&mut r);
                assert_eq!(r.counter("exec.stale_signals"), 1);
            } else {
                assert_eq!(entries.len(), 3, "the short bracket once nothing is live: {entries:?}");
                assert_eq!(entries[0].side, OrderSide::Sell);
            }
        }
    }

    /// A venue that confirms a cancel and then reports a fill of the same order (e.g. IB's
    /// "order to cancel not found" for an order that had just filled): the fill is booked,
    /// and the position it leaves is flattened through risk.
    #[test]
    fn a_fill_after_the_venue_ended_the_order_is_booked_and_flattened() {
        use mia_model::msg::ExecKind;
        let (mut st, mut out, [e, s, t]) = native_long(1, OrderType::Market);
        // A flat signal: the stage cancels all three; the venue confirms every cancel…
        st.on_envelope(&signal(Direction::Flat, 2, 2_000), &mut out);
        for i in [e, s, t] {
            st.on_envelope(
                &report(i.client_order_id, ExecKind::Cancelled, i.side, i.qty, i.qty, 0.0),
                &mut out,
            );
        }
        assert!(st.position().is_flat() && st.oms().working() == 0);
        out.clear();
        // …and then reports that the entry had filled.
        st.on_envelope(&report(e.client_order_id, ExecKind::Filled, OrderSide::Buy, 1, 0, 4000.25), &mut out);
        assert_eq!(st.position().qty(), 1, "the position follows the fill");
        let exit = intents(&out);
        assert_eq!(exit.len(), 1, "one flattening order: {exit:?}");
        assert_eq!((exit[0].side, exit[0].qty, exit[0].order_type), (OrderSide::Sell, 1, OrderType::Market));
        // The same fill again is a duplicate: nothing more is booked or sent.
        out.clear();
        st.on_envelope(&report(e.client_order_id, ExecKind::Filled, OrderSide::Buy, 1, 0, 4000.25), &mut out);
        assert_eq!(st.position().qty(), 1);
        assert!(intents(&out).is_empty());
        let mut r = StageReport::default();
        st.report(&mut r);
        assert_eq!(r.counter("oms.late_fills"), 1);
        assert!(
            r.warnings.iter().any(|w| w.contains("after the venue had reported the order ended")),
            "{:?}",
            r.warnings
        );
    }

    #[test]
    fn a_native_entry_that_ends_partly_filled_shrinks_its_children() {
        use mia_model::msg::ExecKind;
        let (mut st, mut out, [e, s, t]) = native_long(2, OrderType::Limit);
        st.on_envelope(&report(e.client_order_id, ExecKind::Filled, OrderSide::Buy, 1, 1, 4000.0), &mut out);
        st.on_envelope(&report(e.client_order_id, ExecKind::Expired, OrderSide::Buy, 1, 1, 0.0), &mut out);
        let mods: Vec<(u64, u32)> = intents(&out)
            .iter()
            .filter(|i| i.action == OrderAction::Modify)
            .map(|i| (i.client_order_id, i.qty))
            .collect();
        assert_eq!(mods, vec![(s.client_order_id, 1), (t.client_order_id, 1)], "children sized to the fill");
        out.clear();
        // Another bracket whose entry never fills: its children are cancelled with it.
        let mut st = live_stage(1);
        lvl(&mut st, &mut out, 1_000, 4000.00, 4000.25);
        st.on_envelope(
            &bracket_signal(Direction::Short, 1_000, 4000.5, 4002.0, 3998.0, OrderType::Limit),
            &mut out,
        );
        let sent = intents(&out);
        out.clear();
        st.on_envelope(
            &report(sent[0].client_order_id, ExecKind::Cancelled, OrderSide::Sell, 0, 1, 0.0),
            &mut out,
        );
        let cancels: Vec<u64> = intents(&out)
            .iter()
            .filter(|i| i.action == OrderAction::Cancel)
            .map(|i| i.client_order_id)
            .collect();
        assert_eq!(cancels, vec![sent[1].client_order_id, sent[2].client_order_id]);
    }

    #[test]
    fn a_native_bracket_refused_by_risk_sends_nothing() {
        let cfg = RiskConfig { max_position: 0, ..risk() };
        let mut st = ExecStage::new(
            &cfg,
            crate::venue::LiveVenue::replay(),
            Trading { contract: ContractSpec::ES, order_qty: 1, instrument_id: 7 },
        );
        let mut out = Outbox::new();
        lvl(&mut st, &mut out, 1_000, 4000.00, 4000.25);
        st.on_envelope(
            &bracket_signal(Direction::Long, 1_000, 4000.0, 3998.0, 4002.0, OrderType::Market),
            &mut out,
        );
        assert!(intents(&out).is_empty(), "no parent is left waiting for children");
        assert_eq!(st.counters.risk_rejects, 1);
        assert_eq!(st.oms().working(), 0);
    }

    #[test]
    fn an_adopted_gamma_snapshot_ages_into_the_stale_gamma_check() {
        use mia_model::msg::{Control, ControlKind};
        let cfg = RiskConfig { gamma_max_age_s: 60, ..risk() };
        let mut st = stage(&cfg);
        let mut out = Outbox::new();
        let t = 1_000_000_000_000u64;
        book(&mut st, &mut out, t);
        // No snapshot adopted yet: entries are refused as stale gamma.
        st.on_envelope(&signal(Direction::Long, 2, t), &mut out);
        assert!(intents(&out).is_empty());
        assert_eq!(st.risk().rejected(RejectReason::StaleGamma), 1);
        let adopted = Control { kind: ControlKind::GammaAdopted, arg: t - 30 * 1_000_000_000, seq: 3, ts: t };
        st.on_envelope(&Envelope { t0: 0, msg: Msg::Control(adopted) }, &mut out);
        book(&mut st, &mut out, t + 2_000_000_000);
        st.on_envelope(&signal(Direction::Long, 4, t + 2_000_000_000), &mut out);
        assert_eq!(intents(&out).len(), 1, "a 32 s old snapshot passes a 60 s limit");
        out.clear();
        book(&mut st, &mut out, t + 3_000_000_000);
        // 40 s later the snapshot is 72 s old: a new entry is refused.
        book(&mut st, &mut out, t + 42_000_000_000);
        st.on_envelope(&signal(Direction::Short, 5, t + 42_000_000_000), &mut out);
        assert!(st.risk().rejected(RejectReason::StaleGamma) >= 2, "{:?}", intents(&out));
    }

    #[test]
    fn kelly_sizing_sizes_bracket_entries() {
        // 2 contracts per entry; Kelly has no trade history yet, so it sizes at min_size (1).
        for (kelly, want) in [(false, 2), (true, 1)] {
            let cfg = RiskConfig { kelly_sizing: kelly, min_size: 1, max_size: 2, ..risk() };
            let mut st = ExecStage::new(
                &cfg,
                SimVenue::new(SimConfig::default(), ContractSpec::ES),
                Trading { contract: ContractSpec::ES, order_qty: 2, instrument_id: 7 },
            );
            let mut out = Outbox::new();
            lvl(&mut st, &mut out, 1_000, 4000.00, 4000.25);
            st.on_envelope(
                &bracket_signal(Direction::Long, 1_000, 4000.0, 3998.0, 4002.0, OrderType::Market),
                &mut out,
            );
            assert_eq!(intents(&out).first().map(|i| i.qty), Some(want), "kelly_sizing = {kelly}");
        }
    }
}
