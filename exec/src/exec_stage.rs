//! The last hot stage: risk + order management + venue.
//!
//! It turns [`Signal`](mia_model::msg::Signal)s into a target position (`direction × order_qty`), sends market orders
//! for the difference between the target and the position plus working orders, passes every
//! order through [`RiskManager::check`], submits approved [`OrderIntent`]s to the simulated
//! venue, and feeds the venue every market event so that fills happen in event time. It emits
//! the intents and fills (with the causing event's `seq`) and forwards nothing else.
//!
//! Safety rules kept here: no order bypasses `RiskManager::check`; at most one order works at a
//! time (no duplicate orders while one is in flight); when the daily loss limit halts trading,
//! the stage flattens and stays flat. After a risk refusal it retries the reconciliation no
//! sooner than one second of event time later.

use crate::position::{Position, TradeRing};
use crate::risk::{RiskConfig, RiskManager, RiskState};
use crate::sim::{FillBuf, SimConfig, SimExchange};
use mia_model::contract::ContractSpec;
use mia_model::event::{EventKind, Side};
use mia_model::msg::{Envelope, Msg, OrderIntent, OrderType};
use mia_model::price::Px;
use mia_runtime::stage::{Outbox, Stage};

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
    /// Market-order quantity dropped by the venue (book exhausted).
    pub expired_qty: u64,
}

/// Risk + order management + simulated venue.
pub struct ExecStage {
    risk: RiskManager,
    venue: SimExchange,
    pos: Position,
    trades: TradeRing,
    fills: FillBuf,
    contract: ContractSpec,
    order_qty: i64,
    instrument_id: u32,
    next_id: u64,
    target: i64,
    /// The working order: (client id, signed remaining quantity); id 0 = none.
    working: (u64, i64),
    retry_after: u64,
    mark: Px,
    /// Counters.
    pub counters: ExecCounters,
}

impl ExecStage {
    /// A flat stage trading `order_qty` contracts per signal on `instrument_id`.
    pub fn new(risk: &RiskConfig, sim: SimConfig, order_qty: u32, instrument_id: u32) -> Self {
        Self {
            risk: RiskManager::new(risk),
            venue: SimExchange::new(sim),
            pos: Position::new(sim.contract),
            trades: TradeRing::new(TRADE_RING_CAP),
            fills: FillBuf::new(),
            contract: sim.contract,
            order_qty: i64::from(order_qty.max(1)),
            instrument_id,
            next_id: 1,
            target: 0,
            working: (0, 0),
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

    /// Last trade price seen (the P&L mark).
    pub fn mark(&self) -> Px {
        self.mark
    }

    /// The contract traded.
    pub fn contract(&self) -> ContractSpec {
        self.contract
    }

    /// Net P&L (realized − fees + unrealized at the mark), nano-USD.
    pub fn net_pnl(&self) -> i64 {
        let unreal = if self.mark != 0 { self.pos.unrealized(self.mark) } else { 0 };
        self.pos.net_realized().saturating_add(unreal)
    }

    /// Sends an order for `desired − (position + working)` if nothing is working.
    #[inline]
    fn reconcile(&mut self, seq: u64, ts: u64, t0: u64, out: &mut Outbox) {
        if self.working.0 != 0 || ts < self.retry_after {
            return;
        }
        let desired = if self.risk.state() == RiskState::Halted { 0 } else { self.target };
        let diff = desired - self.pos.qty();
        if diff == 0 {
            return;
        }
        if let Err(_reason) = self.risk.check(ts, diff, self.pos.qty()) {
            self.counters.risk_rejects += 1;
            self.retry_after = ts + RETRY_NS;
            return;
        }
        let intent = OrderIntent {
            client_order_id: self.next_id,
            seq,
            ts,
            price: 0,
            qty: diff.unsigned_abs() as u32,
            instrument_id: self.instrument_id,
            side: if diff > 0 { Side::Bid } else { Side::Ask },
            order_type: OrderType::Market,
        };
        self.next_id += 1;
        match self.venue.submit(&intent) {
            Ok(()) => {
                self.working = (intent.client_order_id, diff);
                self.counters.intents += 1;
                out.push(Envelope { t0, msg: Msg::Intent(intent) });
            }
            Err(_) => {
                self.counters.venue_rejects += 1;
                self.retry_after = ts + RETRY_NS;
            }
        }
    }
}

impl Stage for ExecStage {
    fn name(&self) -> &'static str {
        "risk_venue"
    }

    #[inline]
    fn on_envelope(&mut self, env: &Envelope, out: &mut Outbox) {
        match env.msg {
            Msg::Market(ev) => {
                self.venue.on_market(&ev, &mut self.fills);
                for f in self.fills.fills() {
                    self.counters.fills += 1;
                    if let Some(trip) = self.pos.on_fill(f) {
                        self.trades.push(trip);
                    }
                    if f.client_order_id == self.working.0 {
                        self.working.1 -= f.side.sign() * i64::from(f.qty);
                        if f.done {
                            self.working = (0, 0);
                        }
                    }
                    out.push(Envelope { t0: env.t0, msg: Msg::Fill(*f) });
                }
                for x in self.fills.expired() {
                    self.counters.expired_qty += u64::from(x.qty);
                    if x.client_order_id == self.working.0 {
                        self.working = (0, 0);
                    }
                }
                self.fills.clear();
                if ev.kind == EventKind::Trade && ev.size > 0 {
                    self.mark = ev.price;
                    self.pos.mark(ev.price);
                    self.risk.on_pnl(self.net_pnl());
                }
                if ev.is_last() && (self.risk.state() == RiskState::Halted || self.retry_after != 0) {
                    self.reconcile(ev.seq, ev.ts_recv, env.t0, out);
                }
            }
            Msg::Signal(sig) => {
                self.target = i64::from(sig.direction) * self.order_qty;
                self.retry_after = 0;
                self.reconcile(sig.seq, sig.ts, env.t0, out);
            }
            Msg::Intent(_) | Msg::Fill(_) => {}
        }
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mia_model::event::{flags, Event};
    use mia_model::msg::Signal;

    const P: i64 = 1_000_000_000;
    const TICK: i64 = 250_000_000;

    fn mkt(ev: Event) -> Envelope {
        Envelope { t0: 0, msg: Msg::Market(ev) }
    }

    fn book(st: &mut ExecStage, out: &mut Outbox, ts: u64) {
        st.on_envelope(&mkt(Event::level(ts, ts, Side::Bid, 0, 4000 * P, 50, 5, 0)), out);
        st.on_envelope(&mkt(Event::level(ts, ts, Side::Ask, 0, 4000 * P + TICK, 50, 5, flags::LAST)), out);
    }

    fn signal(dir: i8, seq: u64, ts: u64) -> Envelope {
        Envelope { t0: 0, msg: Msg::Signal(Signal { seq, ts, direction: dir, ..Default::default() }) }
    }

    fn risk() -> RiskConfig {
        RiskConfig { max_position: 2, max_order_qty: 2, max_orders_per_sec: 10, max_daily_loss_usd: 1000.0 }
    }

    #[test]
    fn signal_to_intent_to_fill_to_position() {
        let mut st = ExecStage::new(&risk(), SimConfig::default(), 1, 7);
        let mut out = Outbox::new();
        book(&mut st, &mut out, 1_000);
        assert!(out.is_empty(), "market events are not forwarded");
        st.on_envelope(&signal(1, 2, 1_000), &mut out);
        let Some(Envelope { msg: Msg::Intent(i), .. }) = out.get(0) else { panic!("no intent") };
        assert_eq!((i.side, i.qty, i.seq, i.instrument_id), (Side::Bid, 1, 2, 7));
        out.clear();
        // a second signal while the order works sends nothing (no duplicates)
        st.on_envelope(&signal(1, 3, 2_000), &mut out);
        assert!(out.is_empty());
        // the next market event after the latency fills it at the ask
        book(&mut st, &mut out, 1_000 + 250_000);
        let Some(Envelope { msg: Msg::Fill(f), .. }) = out.get(0) else { panic!("no fill") };
        assert_eq!((f.price, f.qty, f.done), (4000 * P + TICK, 1, true));
        assert_eq!(st.position().qty(), 1);
        out.clear();
        // flat signal → sell 1
        st.on_envelope(&signal(0, 9, 2_000_000), &mut out);
        assert!(
            matches!(out.get(0).map(|e| e.msg), Some(Msg::Intent(i)) if i.side == Side::Ask && i.qty == 1)
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
        let mut st = ExecStage::new(&cfg, SimConfig::default(), 1, 7);
        let mut out = Outbox::new();
        book(&mut st, &mut out, 1_000);
        st.on_envelope(&signal(-1, 2, 1_000), &mut out);
        assert!(out.is_empty());
        assert_eq!(st.counters.risk_rejects, 1);
        // retried no sooner than 1 s later
        book(&mut st, &mut out, 500_000_000);
        assert_eq!(st.counters.risk_rejects, 1);
        book(&mut st, &mut out, 1_100_000_000);
        assert_eq!(st.counters.risk_rejects, 2);
    }
}
