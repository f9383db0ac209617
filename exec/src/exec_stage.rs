//! The last hot stage: risk + order management + venue.
//!
//! It turns [`Signal`](mia_model::msg::Signal)s into a target position (`direction ×
//! order_qty`), sends market orders for the difference between the target and the position,
//! passes every order through [`RiskManager::approve`], submits the [`Approved`] orders to its
//! [`Venue`], and feeds the venue every market event (the simulator fills in event time) and
//! every execution report (a live venue fills from reports). It emits the intents and fills
//! (with the causing input's `seq`) and forwards nothing else.
//!
//! Control inputs: `Kill` flattens and refuses new risk until `Resume`; `Flatten` sets the
//! target to flat.
//!
//! Safety rules kept here: no order bypasses `RiskManager::approve` (a venue takes only
//! [`Approved`] orders); at most one order works at a time (no duplicate orders while one is in
//! flight); when risk leaves `Active` (a daily stop: loss, drawdown, losses in a row, trades
//! per day), the stage flattens and stays flat. The risk manager sees every market event
//! (`on_market`: event time, last trade) and every fill (`on_fill`). After a
//! risk or venue refusal it retries the reconciliation no sooner than one second of event time
//! later.

use crate::fees::nano_to_usd;
use crate::position::{Position, TradeRing};
#[cfg(doc)]
use crate::risk::Approved;
use crate::risk::{RiskConfig, RiskManager, RiskState};
use crate::sim::FillBuf;
use crate::venue::Venue;
use mia_model::contract::ContractSpec;
use mia_model::event::EventKind;
use mia_model::msg::{ControlKind, Envelope, Msg, OrderIntent, OrderSide, OrderType};
use mia_model::price::Px;
use mia_runtime::stage::{Outbox, Stage, StageReport};

/// Capacity of the round-trip ring kept for the trades CSV.
pub const TRADE_RING_CAP: usize = 1 << 16;

const RETRY_NS: u64 = 1_000_000_000;

/// Counters of the stage.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExecCounters {
    /// Intents approved and sent.
    pub intents: u64,
    /// Fills received.
    pub fills: u64,
    /// Orders refused by risk.
    pub risk_rejects: u64,
    /// Orders refused by the venue.
    pub venue_rejects: u64,
    /// Market-order quantity dropped by the venue (book exhausted) or orders it ended unfilled.
    pub expired_qty: u64,
    /// Kill-switch commands received.
    pub kills: u64,
}

/// What is traded and how much per signal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Trading {
    /// The contract (tick and point value).
    pub contract: ContractSpec,
    /// Contracts per entry (target position = direction × this).
    pub order_qty: u32,
    /// Instrument id carried by every order (the feed's id of the traded contract); 0 takes
    /// the id of the market events the stage sees (a single-instrument feed).
    pub instrument_id: u32,
}

/// The order in flight: at most one at a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct WorkingOrder {
    client_order_id: u64,
    /// Signed quantity still to fill (+ buy, − sell).
    remaining: i64,
}

/// Risk + order management + a venue.
pub struct ExecStage<V: Venue> {
    risk: RiskManager,
    venue: V,
    pos: Position,
    trades: TradeRing,
    fills: FillBuf,
    trading: Trading,
    next_id: u64,
    target: i64,
    working: Option<WorkingOrder>,
    killed: bool,
    retry_after: u64,
    mark: Px,
    /// Counters.
    pub counters: ExecCounters,
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
            next_id: 1,
            target: 0,
            working: None,
            killed: false,
            retry_after: 0,
            mark: 0,
            counters: ExecCounters::default(),
        }
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

    /// The venue.
    pub fn venue(&self) -> &V {
        &self.venue
    }

    /// Last trade price seen (the P&L mark).
    pub fn mark(&self) -> Px {
        self.mark
    }

    /// Net P&L (realized − fees + unrealized at the mark), nano-USD.
    pub fn net_pnl(&self) -> i64 {
        let unreal = if self.mark != 0 { self.pos.unrealized(self.mark) } else { 0 };
        self.pos.net_realized().saturating_add(unreal)
    }

    /// True while no new risk may be taken: the kill switch is on or the daily loss halted
    /// trading (the stage then works towards flat).
    #[inline]
    fn halted(&self) -> bool {
        self.killed || self.risk.state() != RiskState::Active
    }

    /// Sends an order for `desired − position` if nothing is working.
    #[inline]
    fn reconcile(&mut self, seq: u64, ts: u64, t0: u64, out: &mut Outbox) {
        if self.working.is_some() || ts < self.retry_after {
            return;
        }
        let desired = if self.halted() { 0 } else { self.target };
        let diff = desired - self.pos.qty();
        let Some(side) = OrderSide::of_signed(diff) else { return };
        let intent = OrderIntent {
            client_order_id: self.next_id,
            seq,
            ts,
            price: 0,
            qty: diff.unsigned_abs().min(u64::from(u32::MAX)) as u32,
            instrument_id: self.trading.instrument_id,
            side,
            order_type: OrderType::Market,
        };
        let approved = match self.risk.approve(intent, self.pos.qty()) {
            Ok(a) => a,
            Err(_reason) => {
                self.counters.risk_rejects += 1;
                self.retry_after = ts + RETRY_NS;
                return;
            }
        };
        self.next_id += 1;
        match self.venue.submit(approved) {
            Ok(()) => {
                self.working =
                    Some(WorkingOrder { client_order_id: intent.client_order_id, remaining: diff });
                self.counters.intents += 1;
                out.push(Envelope { t0, msg: Msg::Intent(intent) });
            }
            Err(_) => {
                self.counters.venue_rejects += 1;
                self.retry_after = ts + RETRY_NS;
            }
        }
    }

    /// Books what the venue put in `self.fills` and emits the fills.
    #[inline]
    fn book_fills(&mut self, t0: u64, out: &mut Outbox) {
        for f in self.fills.fills() {
            self.counters.fills += 1;
            let trip = self.pos.on_fill(f);
            self.risk.on_fill(f, self.pos.qty(), trip.as_ref());
            if let Some(trip) = trip {
                self.trades.push(trip);
            }
            if let Some(w) = self.working.as_mut().filter(|w| w.client_order_id == f.client_order_id) {
                w.remaining -= f.side.sign() * i64::from(f.qty);
                if f.done {
                    self.working = None;
                }
            }
            out.push(Envelope { t0, msg: Msg::Fill(*f) });
        }
        for x in self.fills.expired() {
            self.counters.expired_qty += u64::from(x.qty);
            if self.working.is_some_and(|w| w.client_order_id == x.client_order_id) {
                self.working = None;
            }
        }
        self.fills.clear();
    }
}

impl<V: Venue> Stage for ExecStage<V> {
    fn name(&self) -> &'static str {
        "exec"
    }

    #[inline]
    fn on_envelope(&mut self, env: &Envelope, out: &mut Outbox) {
        match env.msg {
            Msg::Market(ev) => {
                if self.trading.instrument_id == 0 && ev.instrument_id != 0 {
                    self.trading.instrument_id = ev.instrument_id;
                }
                let trade_px = if ev.kind == EventKind::Trade && ev.size > 0 { ev.price } else { 0 };
                self.risk.on_market(ev.ts_recv, trade_px);
                self.venue.on_market(&ev, &mut self.fills);
                self.book_fills(env.t0, out);
                if ev.kind == EventKind::Trade && ev.size > 0 {
                    self.mark = ev.price;
                    self.pos.mark(ev.price);
                    self.risk.on_pnl(self.net_pnl());
                }
                if ev.is_last() && (self.halted() || self.retry_after != 0) {
                    self.reconcile(ev.seq, ev.ts_recv, env.t0, out);
                }
            }
            Msg::Exec(r) => {
                self.venue.on_report(&r, &mut self.fills);
                self.book_fills(env.t0, out);
                self.reconcile(r.seq, r.ts, env.t0, out);
            }
            Msg::Signal(sig) => {
                self.target = sig.direction.sign() * i64::from(self.trading.order_qty);
                self.retry_after = 0;
                self.reconcile(sig.seq, sig.ts, env.t0, out);
            }
            Msg::Control(c) => match c.kind {
                ControlKind::Kill => {
                    self.counters.kills += 1;
                    self.killed = true;
                    self.retry_after = 0;
                    self.reconcile(c.seq, c.ts, env.t0, out);
                }
                ControlKind::Flatten => {
                    self.target = 0;
                    self.retry_after = 0;
                    self.reconcile(c.seq, c.ts, env.t0, out);
                }
                ControlKind::Resume => self.killed = false,
                ControlKind::GammaPublished | ControlKind::Timer => {}
            },
            Msg::Intent(_) | Msg::Fill(_) => {}
        }
    }

    fn report(&self, r: &mut StageReport) {
        let c = &self.counters;
        r.count("exec.intents", c.intents);
        r.count("exec.fills", c.fills);
        r.count("exec.risk_rejects", c.risk_rejects);
        r.count("exec.venue_rejects", c.venue_rejects);
        r.count("exec.expired_qty", c.expired_qty);
        r.count("exec.kills", c.kills);
        r.count("round_trips", self.pos.trips());
        r.value("net_pnl_usd", nano_to_usd(self.net_pnl()));
        r.value("fees_usd", nano_to_usd(self.pos.fees()));
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
            ..RiskConfig::default()
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
        // bought at ask, sold at bid: −1 tick − fees
        let fees = 2 * 2_250_000_000i64;
        assert_eq!(st.net_pnl(), -12_500_000_000 - fees);
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
}
