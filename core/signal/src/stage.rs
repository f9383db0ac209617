//! The first hot stage: book + features + signal.
//!
//! For each market event it updates the L2 [`Book`], the incremental features (book
//! imbalance, cumulative delta) and — on events that end a feed record (`LAST`), when the book
//! is consistent — evaluates the [`ThresholdSignal`]. It forwards every market event (the
//! venue downstream needs them) and emits a [`Signal`](mia_model::msg::Signal) on each state change.
//!
//! Data sanity (DESIGN §10) is counted, not fatal: levels or trades off the tick grid, trades
//! with zero size, event time going backwards, and crossed/locked books (no signal is evaluated
//! on a crossed book).

use crate::features::delta::{CumDelta, DeltaConfig};
use crate::features::obi::{BookImbalance, ObiConfig};
use crate::gates::gamma::GammaCell;
use crate::gates::gamma::{GammaGate, GammaGateConfig};
use crate::gates::Allow;
use crate::strategy::threshold::{SignalConfig, ThresholdSignal};
use mia_model::book::{Book, BookChange};
use mia_model::event::{Event, EventKind, Side};
use mia_model::msg::{Envelope, Msg};
use mia_model::price::on_tick;
use mia_runtime::stage::{Outbox, Stage};
use std::sync::Arc;

/// Settings of the [`MarketStage`].
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct StrategyConfig {
    /// Book imbalance feature.
    pub obi: ObiConfig,
    /// Cumulative / rolling delta feature.
    pub delta: DeltaConfig,
    /// Threshold signal.
    pub signal: SignalConfig,
    /// Gamma-wall entry filter.
    pub gamma: GammaGateConfig,
    /// Data-sanity limits.
    pub sanity: SanityConfig,
}

/// Data-sanity limits of the [`MarketStage`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SanityConfig {
    /// A trade more than this many ticks away from the book mid (or, without a book, from the
    /// last accepted trade) is a bad tick: counted and dropped. 0 disables the check.
    pub max_jump_ticks: i64,
}

impl Default for SanityConfig {
    fn default() -> Self {
        Self { max_jump_ticks: 80 }
    }
}

/// Counters of suspicious input seen by the stage.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SanityCounters {
    /// Prices not on the contract's tick grid (ignored).
    pub off_tick: u64,
    /// Trades with zero size (ignored).
    pub zero_size_trades: u64,
    /// Events whose `ts_recv` went backwards (processed, counted).
    pub ts_backwards: u64,
    /// `LAST` events on a crossed or locked book (no signal evaluated).
    pub crossed: u64,
    /// Level events refused by the book (bad depth or side).
    pub rejected_levels: u64,
    /// Trades farther from the market than `max_jump_ticks` (dropped).
    pub bad_ticks: u64,
}

/// Book + features + signal stage.
pub struct MarketStage {
    tick: i64,
    max_jump: i64,
    book: Book,
    obi: BookImbalance,
    delta: CumDelta,
    signal: ThresholdSignal,
    gate: GammaGate,
    gate_enabled: bool,
    last_ts: u64,
    last_trade_px: i64,
    /// Data-sanity counters.
    pub sanity: SanityCounters,
    /// Signals emitted.
    pub signals: u64,
}

impl MarketStage {
    /// A stage for a contract with tick size `tick` (1e-9 units).
    pub fn new(cfg: &StrategyConfig, tick: i64) -> Self {
        Self {
            tick: tick.max(1),
            max_jump: cfg.sanity.max_jump_ticks.max(0).saturating_mul(tick.max(1)),
            book: Book::new(),
            obi: BookImbalance::new(&cfg.obi),
            delta: CumDelta::new(&cfg.delta),
            signal: ThresholdSignal::new(&cfg.signal),
            gate: GammaGate::new(&cfg.gamma, tick.max(1)),
            gate_enabled: cfg.gamma.enabled,
            last_ts: 0,
            last_trade_px: 0,
            sanity: SanityCounters::default(),
            signals: 0,
        }
    }

    /// Reads gamma levels from `cell` (published by the options cold thread) for the gate.
    pub fn attach_gamma(&mut self, cell: Arc<GammaCell>) {
        self.gate.attach(cell);
    }

    /// The gamma gate (snapshot in use and its basis).
    pub fn gamma_gate(&self) -> &GammaGate {
        &self.gate
    }

    /// Entries vetoed by the gamma gate.
    pub fn gamma_vetoes(&self) -> u64 {
        self.signal.vetoed
    }

    /// The stage's book.
    pub fn book(&self) -> &Book {
        &self.book
    }

    /// Current book imbalance.
    pub fn obi(&self) -> f64 {
        self.obi.value()
    }

    /// Session cumulative delta.
    pub fn session_delta(&self) -> i64 {
        self.delta.session()
    }
    /// Applies one market event to the book and features; false when data sanity rejects it
    /// (counted; the event must then not reach the venue).
    #[inline]
    fn accept(&mut self, ev: &Event) -> bool {
        match ev.kind {
            EventKind::Level => {
                if ev.size != 0 && !on_tick(ev.price, self.tick) {
                    self.sanity.off_tick += 1;
                    return false;
                }
                let d = ev.depth as usize;
                let old = match ev.side {
                    Side::Bid => self.book.bid(d).size,
                    Side::Ask => self.book.ask(d).size,
                    Side::None => 0,
                };
                if self.book.apply(ev) == BookChange::Rejected {
                    self.sanity.rejected_levels += 1;
                    return false;
                }
                self.obi.on_level(ev.side, d, old, ev.size);
            }
            EventKind::Clear => {
                self.book.clear();
                self.obi.clear();
            }
            EventKind::Trade => {
                if ev.size == 0 {
                    self.sanity.zero_size_trades += 1;
                    return false;
                }
                if !on_tick(ev.price, self.tick) {
                    self.sanity.off_tick += 1;
                    return false;
                }
                let reference = self.book.mid().unwrap_or(self.last_trade_px);
                if self.max_jump > 0 && reference != 0 && (ev.price - reference).abs() > self.max_jump {
                    self.sanity.bad_ticks += 1;
                    return false;
                }
                self.delta.on_trade(ev.ts_recv, ev.side, ev.price, ev.size);
                self.last_trade_px = ev.price;
            }
            EventKind::Status => {}
        }
        true
    }
}

impl Stage for MarketStage {
    fn name(&self) -> &'static str {
        "book_signal"
    }

    #[inline]
    fn on_envelope(&mut self, env: &Envelope, out: &mut Outbox) {
        let Msg::Market(ev) = env.msg else {
            out.push(*env);
            return;
        };
        if ev.ts_recv < self.last_ts {
            self.sanity.ts_backwards += 1;
        } else {
            self.last_ts = ev.ts_recv;
        }
        if self.accept(&ev) {
            out.push(*env);
        } else if ev.is_last() {
            // The rejected event ends its record: pass the record boundary on as a status event.
            let status = Event { kind: EventKind::Status, size: 0, ..ev };
            out.push(Envelope { t0: env.t0, msg: Msg::Market(status) });
        }
        if ev.is_last() {
            if self.book.is_crossed_or_locked() {
                self.sanity.crossed += 1;
                return;
            }
            self.delta.advance(ev.ts_recv);
            let ref_px = self.book.mid().unwrap_or(self.last_trade_px);
            if ref_px == 0 {
                return;
            }
            let allow = if self.gate_enabled { self.gate.allow(ref_px, ev.ts_recv) } else { Allow::ALL };
            if let Some(sig) =
                self.signal.evaluate(ev.seq, ev.ts_recv, ref_px, self.obi.value(), self.delta.window(), allow)
            {
                self.signals += 1;
                out.push(Envelope { t0: env.t0, msg: Msg::Signal(sig) });
            }
        }
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mia_model::event::flags;

    const TICK: i64 = 250_000_000;
    const S: u64 = 1_000_000_000;

    fn env(ev: Event) -> Envelope {
        Envelope { t0: 0, msg: Msg::Market(ev) }
    }

    fn book_events(ts: u64, bid_sz: u32, ask_sz: u32) -> [Event; 2] {
        [
            Event::level(ts, ts, Side::Bid, 0, 4000 * 1_000_000_000, bid_sz, 1, 0),
            Event::level(ts, ts, Side::Ask, 0, 4000 * 1_000_000_000 + TICK, ask_sz, 1, flags::LAST),
        ]
    }

    #[test]
    fn imbalance_plus_buying_fires_long_signal() {
        let cfg = StrategyConfig {
            signal: SignalConfig {
                obi_entry: 0.5,
                delta_entry: 10,
                obi_exit: 0.2,
                delta_exit: 5,
                cooldown_ms: 0,
            },
            ..Default::default()
        };
        let mut st = MarketStage::new(&cfg, TICK);
        let mut out = Outbox::new();
        for e in book_events(10 * S, 90, 10) {
            st.on_envelope(&env(e), &mut out);
        }
        // forwarded, no signal yet: no delta
        assert_eq!(out.len(), 2);
        assert!(out.get(0).is_some_and(|e| matches!(e.msg, Msg::Market(_))));
        out.clear();
        let t = Event::trade(10 * S + 1, 10 * S + 1, Side::Bid, 4000 * 1_000_000_000 + TICK, 12, flags::LAST);
        st.on_envelope(&env(t), &mut out);
        assert_eq!(out.len(), 2);
        match out.get(1).map(|e| e.msg) {
            Some(Msg::Signal(s)) => assert_eq!(s.direction, 1),
            other => panic!("expected a signal, got {other:?}"),
        }
        assert_eq!(st.session_delta(), 12);
        assert!((st.obi() - 0.8).abs() < 1e-9);
    }

    #[test]
    fn crossed_and_off_tick_are_counted_not_traded() {
        let mut st = MarketStage::new(&StrategyConfig::default(), TICK);
        let mut out = Outbox::new();
        st.on_envelope(&env(Event::level(1, 1, Side::Bid, 0, 4001 * 1_000_000_000, 5, 1, 0)), &mut out);
        st.on_envelope(
            &env(Event::level(1, 1, Side::Ask, 0, 4000 * 1_000_000_000, 5, 1, flags::LAST)),
            &mut out,
        );
        assert_eq!(st.sanity.crossed, 1);
        st.on_envelope(&env(Event::trade(2, 2, Side::Bid, 4000 * 1_000_000_000 + 1, 5, 0)), &mut out);
        st.on_envelope(&env(Event::trade(1, 1, Side::Bid, 4000 * 1_000_000_000, 0, 0)), &mut out);
        assert_eq!(st.sanity.off_tick, 1);
        assert_eq!(st.sanity.zero_size_trades, 1);
        assert_eq!(st.sanity.ts_backwards, 1);
        assert_eq!(st.session_delta(), 0);
    }

    #[test]
    fn bad_ticks_are_dropped_not_forwarded() {
        let cfg = StrategyConfig { sanity: SanityConfig { max_jump_ticks: 8 }, ..Default::default() };
        let mut st = MarketStage::new(&cfg, TICK);
        let mut out = Outbox::new();
        for e in book_events(S, 10, 10) {
            st.on_envelope(&env(e), &mut out);
        }
        out.clear();
        // mid = 4000.125: a print 7.5 ticks away is fine, 9.5 ticks is not
        let px = 4000 * 1_000_000_000;
        st.on_envelope(&env(Event::trade(S, S, Side::Bid, px + 8 * TICK, 3, 0)), &mut out);
        assert_eq!((out.len(), st.sanity.bad_ticks, st.session_delta()), (1, 0, 3));
        out.clear();
        st.on_envelope(&env(Event::trade(S, S, Side::Bid, px + 10 * TICK, 3, 0)), &mut out);
        assert_eq!((out.len(), st.sanity.bad_ticks, st.session_delta()), (0, 1, 3), "dropped, counted");
        // a rejected event that ends its record passes the boundary on as a status event
        st.on_envelope(&env(Event::trade(S, S, Side::Bid, px + 10 * TICK, 3, flags::LAST)), &mut out);
        match out.get(0).map(|e| e.msg) {
            Some(Msg::Market(e)) => assert!(e.kind == EventKind::Status && e.is_last() && e.size == 0),
            other => panic!("expected a status event, got {other:?}"),
        }
        out.clear();
        // off-grid levels are dropped too, so the venue's replica never sees them
        st.on_envelope(&env(Event::level(S, S, Side::Bid, 1, px + 1, 5, 1, 0)), &mut out);
        assert_eq!((out.len(), st.sanity.off_tick), (0, 1));
    }
}
