//! The first hot stage: sanity + book + features + gates + strategy → [`Signal`].
//!
//! For each market event it checks data sanity (see [`crate::sanity`]), updates the L2
//! [`Book`] and the [`FeatureSet`], and — on events that end a feed record (`LAST`), when the
//! book is consistent — refreshes the [`FeatureVector`], asks the gates what they allow and
//! lets the configured strategy decide. It forwards the market events that pass sanity (the
//! venue downstream needs them; a rejected event that ends its record is passed on as a
//! `Status` event so the record boundary survives), forwards every other input (exec reports,
//! control), and emits a [`Signal`] on each decision.
//!
//! A `Control::GammaPublished { arg: n }` input makes the stage adopt publication `n` from the
//! [`GammaBoard`]: gamma snapshots change decisions only at sequenced points.

use crate::features::engine::FeatureEngine;
use crate::features::registry::FeaturesConfig;
use crate::gates::gamma::{GammaBoard, GammaGate, GammaGateConfig};
use crate::gates::ml::{EntryModel, MlGate, ModelBoard};
use crate::gates::Allow;
use crate::market::bars::BarsConfig;
use crate::market::MarketConfig;
use crate::sanity::{SanityConfig, SanityCounters};
use crate::strategy::registry::{AnyStrategy, StrategiesConfig};
use crate::strategy::DecisionContext;
use mia_model::book::Book;
use mia_model::event::{Event, EventKind};
use mia_model::features::{FeatureSnapshot, FeatureVector, SnapshotKind};
use mia_model::msg::{Control, ControlKind, Envelope, Msg, Signal};
use mia_model::price::on_tick;
use mia_options::levels::GammaLevels;
use mia_runtime::metrics::LiveMetrics;
use mia_runtime::pipeline::tap::Tap;
use mia_runtime::stage::{Outbox, Stage, StageReport};
use std::sync::Arc;

/// The `[gates]` config.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct GatesConfig {
    /// Gamma-wall entry filter (`[gates.gamma]`).
    pub gamma: GammaGateConfig,
}

/// Everything the signal stage is built from (the `[sanity]`, `[features]`, `[signal]` and
/// `[gates]` sections).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SignalStageConfig {
    /// `[sanity]`.
    pub sanity: SanityConfig,
    /// `[bars]`.
    pub bars: BarsConfig,
    /// `[features]`.
    pub features: FeaturesConfig,
    /// `[signal]`.
    pub signal: StrategiesConfig,
    /// `[gates]`.
    pub gates: GatesConfig,
    /// The `[profile.<name>]` in force (SIGNALS §12; chosen by the run mode or `--profile`).
    pub profile: crate::engine::profiles::Profile,
}

impl SignalStageConfig {
    /// Checks every section this crate owns; the error names the key.
    ///
    /// # Errors
    /// The first bad key, as `section.key: reason`.
    pub fn validate(&self) -> Result<(), String> {
        self.bars.validate()?;
        self.features.validate()?;
        self.signal.validate()?;
        let need = self.features.lookback();
        for (tf, n) in crate::market::bars::TIMEFRAMES.iter().zip(need) {
            if n > self.bars.ring_len {
                return Err(format!(
                    "bars.ring_len: {} is shorter than the {n} {}-minute bars a feature looks back",
                    self.bars.ring_len,
                    tf.minutes()
                ));
            }
        }
        Ok(())
    }
}

/// Sanity + book + features + gates + strategy.
pub struct SignalStage {
    tick: i64,
    max_jump: i64,
    engine: FeatureEngine,
    strategy: AnyStrategy,
    gate: GammaGate,
    gate_enabled: bool,
    board: Option<Arc<GammaBoard>>,
    last_ts: u64,
    /// Gamma publications announced but no longer on the board (slot reused).
    pub gamma_missed: u64,
    /// The opening snapshot's computation time, announced to the next stage with the first
    /// envelope ([`ControlKind::GammaAdopted`]).
    announce_gamma: Option<u64>,
    /// Data-sanity counters.
    pub sanity: SanityCounters,
    /// Signals emitted.
    pub signals: u64,
    snapshot_tap: Option<Tap<FeatureSnapshot>>,
    metrics: Option<Arc<LiveMetrics>>,
    ml: MlGate,
    /// A second instance of the strategy that rehearses each bar close shortly before it is
    /// due (see [`Self::rehearse`]); `None` when rehearsal is off.
    understudy: Option<Box<AnyStrategy>>,
    rehearse_lead_ns: u64,
    /// The close (event time) last rehearsal was asked for.
    rehearsed_for: u64,
    /// The seq of the event that asked for the rehearsal of `rehearsed_for`, until it runs at
    /// the next [`Stage::on_idle`] (if that close is still ahead).
    pending_rehearsal: Option<u64>,
    /// Bar closes rehearsed.
    pub rehearsals: u64,
}

impl SignalStage {
    /// A stage for a contract with tick size `tick` (1e-9 units).
    pub fn new(cfg: &SignalStageConfig, tick: i64) -> Self {
        let tick = tick.max(1);
        Self {
            tick,
            max_jump: cfg.sanity.max_jump_ticks.max(0).saturating_mul(tick),
            engine: FeatureEngine::new(
                &MarketConfig { bars: cfg.bars, smart_money: cfg.signal.smart_money },
                &cfg.features,
                tick,
            ),
            strategy: AnyStrategy::new(&cfg.signal, cfg.profile),
            gate: GammaGate::new(&cfg.gates.gamma, tick),
            gate_enabled: cfg.gates.gamma.enabled,
            board: None,
            last_ts: 0,
            gamma_missed: 0,
            announce_gamma: None,
            sanity: SanityCounters::default(),
            signals: 0,
            snapshot_tap: None,
            metrics: None,
            ml: MlGate::new(),
            understudy: (cfg.signal.rehearse_lead_ms > 0)
                .then(|| Box::new(AnyStrategy::new(&cfg.signal, cfg.profile))),
            rehearse_lead_ns: cfg.signal.rehearse_lead_ms.saturating_mul(1_000_000),
            rehearsed_for: 0,
            pending_rehearsal: None,
            rehearsals: 0,
        }
    }

    /// Publishes each emitted signal (`metrics.signal.on_signal`) and each adopted gamma
    /// snapshot (`metrics.cold.set_gamma`, the stage being the one writer of those cells) into
    /// `metrics` (`docs/monitoring.md`).
    pub fn attach_metrics(&mut self, metrics: Arc<LiveMetrics>) {
        if let Some((l, _)) = self.gate.current() {
            publish_gamma(&metrics, &l);
        }
        self.metrics = Some(metrics);
    }

    #[inline]
    fn publish_signal(&self, sig: &Signal) {
        if let Some(m) = &self.metrics {
            m.signal.on_signal(
                sig.ts,
                sig.direction.sign() as i8,
                sig.tier,
                sig.source.strategy,
                sig.source.pattern,
                sig.confidence,
            );
        }
    }

    /// Filters entry signals with `model` from the first input on (see [`crate::gates::ml`]).
    pub fn set_model(&mut self, model: Arc<dyn EntryModel>) {
        self.ml.set_model(model);
    }

    /// Reads announced model publications (`ModelPublished`) from `board`.
    pub fn attach_model_board(&mut self, board: Arc<ModelBoard>) {
        self.ml.attach_board(board);
    }

    /// The ML entry filter.
    pub fn ml_gate(&self) -> &MlGate {
        &self.ml
    }

    /// Starts the session with `levels` (the snapshot known before the first input).
    pub fn open_with_gamma(&mut self, levels: GammaLevels) {
        self.gate.adopt(levels);
        self.engine.adopt_gamma(&levels);
        self.announce_gamma = Some(levels.computed_at_ns);
    }

    /// Reads announced gamma publications from `board`.
    pub fn attach_board(&mut self, board: Arc<GammaBoard>) {
        self.board = Some(board);
    }

    /// The gamma gate (snapshot in use and its basis).
    pub fn gamma_gate(&self) -> &GammaGate {
        &self.gate
    }

    /// Entries vetoed by the gates.
    pub fn gamma_vetoes(&self) -> u64 {
        self.strategy.vetoed()
    }

    /// The stage's book.
    pub fn book(&self) -> &Book {
        &self.engine.market.book
    }

    /// The feature engine (market state, features, vector, snapshots).
    pub fn engine(&self) -> &FeatureEngine {
        &self.engine
    }

    /// The latest feature vector.
    pub fn vector(&self) -> &FeatureVector {
        self.engine.vector()
    }

    /// Sends every feature snapshot (1-minute closes and signals) into `tap` (a cold consumer
    /// journals them).
    pub fn attach_snapshot_tap(&mut self, tap: Tap<FeatureSnapshot>) {
        self.engine.keep_snapshots = true;
        self.snapshot_tap = Some(tap);
    }

    #[cold]
    fn flush_snapshots(&mut self) {
        if let Some(tap) = self.snapshot_tap.as_mut() {
            self.engine.drain_snapshots(|s| tap.send(*s));
        }
    }

    /// Keeps feature snapshots for [`Self::drain_snapshots`] (off: only statistics).
    pub fn keep_snapshots(&mut self, on: bool) {
        self.engine.keep_snapshots = on;
    }

    /// Hands the snapshots taken since the last call to `f`.
    pub fn drain_snapshots(&mut self, f: impl FnMut(&FeatureSnapshot)) {
        self.engine.drain_snapshots(f);
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
                if !self.engine.level(ev) {
                    self.sanity.rejected_levels += 1;
                    return false;
                }
            }
            EventKind::Clear => self.engine.clear(),
            EventKind::Trade => {
                if ev.size == 0 {
                    self.sanity.zero_size_trades += 1;
                    return false;
                }
                if !on_tick(ev.price, self.tick) {
                    self.sanity.off_tick += 1;
                    return false;
                }
                if let Some(reference) = self.engine.market.reference_price() {
                    if self.max_jump > 0 && (ev.price - reference).abs() > self.max_jump {
                        self.sanity.bad_ticks += 1;
                        return false;
                    }
                }
                let t = self.engine.trade(ev);
                self.strategy.on_trade(&self.engine.market, &t);
                if let Some(u) = self.understudy.as_mut() {
                    u.on_trade(&self.engine.market, &t);
                }
            }
            EventKind::Status | EventKind::Mbo => {}
        }
        true
    }

    /// The decision at the end of a record.
    #[inline]
    fn decide(&mut self, ev: &Event) -> Option<Signal> {
        self.engine.end_record(ev);
        if self.engine.market.book.is_crossed_or_locked() {
            self.sanity.crossed += 1;
            return None;
        }
        let ref_price = self.engine.market.reference_price()?;
        let allow = if self.gate_enabled { self.gate.allow(ref_price, ev.ts_recv) } else { Allow::ALL };
        let cx = DecisionContext { seq: ev.seq, ts: ev.ts_recv, ref_price, allow };
        let sig = self.strategy.decide(&cx, self.engine.vector())?;
        self.engine.snapshot(SnapshotKind::Signal, ev.seq);
        self.ml.filter(sig, self.engine.vector())
    }

    /// Rehearses the bar closes due at `due` on the understudy, when the stage is next idle
    /// after the event `seq` (the first event within `[signal] rehearse_lead_ms` of them)
    /// asked for it: after that event and everything it caused have left the chain.
    ///
    /// A bar close runs once a minute, after thousands of per-event steps that use other
    /// code and data: by then its code has left the instruction cache and the branch
    /// predictors have forgotten it, and the closing event pays for that (measured in
    /// `docs/performance.md`). The understudy is a second instance of the same strategy, fed
    /// the same trades and sessions, that runs the same bar-close code on the current market
    /// state (reading the real bars, features and vector, which brings them into cache too)
    /// shortly before the real close. Its output is dropped and its own state (which drifts
    /// from the strategy's by the rehearsed closes) is never read by anything else: nothing
    /// it does can change a decision, an output or the digest.
    #[cold]
    #[inline(never)]
    fn rehearse(&mut self, seq: u64, due: u64) {
        let Some(u) = self.understudy.as_mut() else { return };
        let e = &self.engine;
        let Some(ref_price) = e.market.reference_price() else { return };
        let cx = DecisionContext { seq, ts: due, ref_price, allow: Allow::ALL };
        let closing = e.market.bars.closing_at(due);
        for tf in crate::market::bars::TIMEFRAMES {
            if closing & (1 << tf.index()) != 0 {
                std::hint::black_box(u.on_bar_close(&cx, &e.market, &e.features, e.vector(), tf));
            }
        }
        self.rehearsals += 1;
    }

    /// Bars closed before `ev` is applied: the strategy's bar-close decisions.
    #[cold]
    fn on_bars_closed(&mut self, closed: u8, ev: &Event, t0: u64, out: &mut Outbox) {
        let Some(ref_price) = self.engine.market.reference_price() else { return };
        let allow = if self.gate_enabled { self.gate.allow(ref_price, ev.ts_recv) } else { Allow::ALL };
        let cx = DecisionContext { seq: ev.seq, ts: ev.ts_recv, ref_price, allow };
        for tf in crate::market::bars::TIMEFRAMES {
            if closed & (1 << tf.index()) == 0 {
                continue;
            }
            let e = &self.engine;
            if let Some(sig) = self.strategy.on_bar_close(&cx, &e.market, &e.features, e.vector(), tf) {
                self.engine.snapshot(SnapshotKind::Signal, ev.seq);
                if let Some(sig) = self.ml.filter(sig, self.engine.vector()) {
                    self.signals += 1;
                    self.publish_signal(&sig);
                    out.push(Envelope { t0, msg: Msg::Signal(sig) });
                }
            }
        }
    }

    fn on_gamma_published(&mut self, n: u64) -> Option<u64> {
        match self.board.as_ref().and_then(|b| b.read(n)) {
            Some(levels) => {
                self.gate.adopt(levels);
                self.engine.adopt_gamma(&levels);
                if let Some(m) = &self.metrics {
                    publish_gamma(m, &levels);
                }
                Some(levels.computed_at_ns)
            }
            None => {
                self.gamma_missed += 1;
                None
            }
        }
    }

    /// Tells the next stage that a snapshot computed at `at` was adopted (see
    /// [`ControlKind::GammaAdopted`]).
    #[cold]
    fn push_adopted(at: u64, seq: u64, ts: u64, t0: u64, out: &mut Outbox) {
        let c = Control { kind: ControlKind::GammaAdopted, arg: at, seq, ts };
        out.push(Envelope { t0, msg: Msg::Control(c) });
    }
}

#[cold]
fn publish_gamma(m: &LiveMetrics, l: &GammaLevels) {
    m.cold.set_gamma(l.computed_at_ns, l.zero_gamma, l.call_wall, l.put_wall);
    m.cold.set_gamma_spot(l.spot);
}

impl Stage for SignalStage {
    fn name(&self) -> &'static str {
        "signal"
    }

    #[inline]
    fn on_envelope(&mut self, env: &Envelope, out: &mut Outbox) {
        if let Some(at) = self.announce_gamma.take() {
            let (seq, ts) = match env.msg {
                Msg::Market(e) => (e.seq, e.ts_recv),
                _ => (0, at),
            };
            Self::push_adopted(at, seq, ts, env.t0, out);
        }
        let ev = match env.msg {
            // A raw MBO record is for the venue's L3 queue; the book and features read the
            // events derived from it.
            Msg::Market(ev) if ev.kind == EventKind::Mbo => {
                out.push(*env);
                return;
            }
            Msg::Market(ev) => ev,
            Msg::Control(c) => {
                let adopted =
                    if c.kind == ControlKind::GammaPublished { self.on_gamma_published(c.arg) } else { None };
                if c.kind == ControlKind::ModelPublished {
                    self.ml.on_published(c.arg);
                }
                out.push(*env);
                if let Some(at) = adopted {
                    Self::push_adopted(at, c.seq, c.ts, env.t0, out);
                }
                return;
            }
            _ => {
                out.push(*env);
                return;
            }
        };
        if ev.ts_recv < self.last_ts {
            self.sanity.ts_backwards += 1;
        } else {
            self.last_ts = ev.ts_recv;
        }
        let (closed, new_session) = self.engine.begin(ev.ts_recv, ev.seq);
        if new_session {
            self.strategy.on_session(&self.engine.market);
            if let Some(u) = self.understudy.as_mut() {
                u.on_session(&self.engine.market);
            }
        }
        if closed != 0 {
            self.on_bars_closed(closed, &ev, env.t0, out);
        }
        if self.accept(&ev) {
            out.push(*env);
        } else if ev.is_last() {
            // The rejected event ends its record: pass the record boundary on as a status event.
            let status = Event { kind: EventKind::Status, size: 0, ..ev };
            out.push(Envelope { t0: env.t0, msg: Msg::Market(status) });
        }
        if ev.is_last() {
            if let Some(sig) = self.decide(&ev) {
                self.signals += 1;
                self.publish_signal(&sig);
                out.push(Envelope { t0: env.t0, msg: Msg::Signal(sig) });
            }
        }
        if self.engine.has_snapshots() && self.snapshot_tap.is_some() {
            self.flush_snapshots();
        }
        let due = self.engine.market.bars.next_close();
        if self.understudy.is_some()
            && ev.ts_recv < due
            && ev.ts_recv.saturating_add(self.rehearse_lead_ns) >= due
            && self.rehearsed_for != due
        {
            self.rehearsed_for = due;
            self.pending_rehearsal = Some(ev.seq);
        }
    }

    fn wants_idle(&self) -> bool {
        self.understudy.is_some()
    }

    /// Runs the rehearsal asked for since the last input, unless the close it prepares has
    /// happened meanwhile (a threaded stage may be idle only after more inputs).
    fn on_idle(&mut self) {
        if let Some(seq) = self.pending_rehearsal.take() {
            let due = self.rehearsed_for;
            if self.engine.market.bars.next_close() == due {
                self.rehearse(seq, due);
            }
        }
    }

    fn report(&self, r: &mut StageReport) {
        r.count("signals", self.signals);
        r.count("signal.rehearsals", self.rehearsals);
        r.count("gamma.vetoed_entries", self.gamma_vetoes());
        r.count("gamma.stale_evals", self.gate.stale);
        r.count("gamma.adopted", self.gate.adopted);
        r.count("gamma.missed", self.gamma_missed);
        self.sanity.report(r);
        let m = &self.engine.market;
        for tf in crate::market::bars::TIMEFRAMES {
            const KEYS: [&str; 4] = ["bars.1m", "bars.5m", "bars.15m", "bars.60m"];
            r.count(KEYS[tf.index()], m.bars.series(tf).ring.total);
        }
        r.count("session.break_events", m.clock.break_events);
        r.count("features.snapshots", self.engine.stats.samples);
        r.count(
            "features.snapshot_drops",
            self.engine.snapshots_dropped + self.snapshot_tap.as_ref().map_or(0, |t| t.dropped),
        );
        r.count("features.options_nonfinite", self.engine.features.options.nonfinite_count());
        r.count("features.volatility_nonfinite", self.engine.features.volatility.nonfinite_count());
        r.features = Some(self.engine.stats);
        let ml = &self.ml.counters;
        r.count("ml.approved", ml.approved);
        r.count("ml.rejected", ml.rejected);
        r.count("ml.swaps", ml.swaps);
        r.note("ml", self.ml.describe());
        self.strategy.report(r);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::threshold::ThresholdConfig;
    use mia_model::event::{flags, Side};
    use mia_model::features::FeatureId;
    use mia_model::msg::Direction;

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

    /// The rehearsal is asked for by the first event within the lead of a close and runs at
    /// the next idle call, once per close, and not at all once that close has happened.
    #[test]
    fn rehearsal_runs_when_idle_once_per_close() {
        let cfg = SignalStageConfig::default();
        assert!(cfg.signal.rehearse_lead_ms > 0, "rehearsal is on by default");
        let lead = cfg.signal.rehearse_lead_ms * 1_000_000;
        let mut st = SignalStage::new(&cfg, TICK);
        let mut out = Outbox::new();
        let px = 4000 * 1_000_000_000;
        // a book and a first trade at 10 s: the 1-minute bar [0, 60 s) is open
        let mut feed = |st: &mut SignalStage, ts: u64| {
            for e in book_events(ts, 50, 50) {
                st.on_envelope(&env(e), &mut out);
            }
            st.on_envelope(&env(Event::trade(ts, ts, Side::Bid, px + TICK, 1, flags::LAST)), &mut out);
            out.clear();
        };
        feed(&mut st, 10 * S);
        let due = st.engine().market.bars.next_close();
        assert_eq!(due, 60 * S);
        st.on_idle();
        assert_eq!(st.rehearsals, 0, "far from the close: nothing to rehearse");
        // inside the lead: asked for, run at the next idle call only
        feed(&mut st, due - lead / 2);
        assert_eq!(st.rehearsals, 0, "not on the event itself");
        st.on_idle();
        assert_eq!(st.rehearsals, 1);
        st.on_idle();
        feed(&mut st, due - lead / 4);
        st.on_idle();
        assert_eq!(st.rehearsals, 1, "once per close");
        // the next close is asked for, but its closing event comes before any idle time
        feed(&mut st, due + 1);
        let due2 = st.engine().market.bars.next_close();
        assert!(due2 > due);
        feed(&mut st, due2 - lead / 2);
        feed(&mut st, due2);
        st.on_idle();
        assert_eq!(st.rehearsals, 1, "a close already made is not rehearsed");
        let mut r = StageReport::default();
        st.report(&mut r);
        assert_eq!(r.counter("signal.rehearsals"), 1);
    }

    #[test]
    fn imbalance_plus_buying_fires_long_signal() {
        let mut cfg = SignalStageConfig::default();
        cfg.signal.strategy = crate::strategy::registry::StrategyKind::Threshold;
        cfg.signal.threshold = ThresholdConfig {
            obi_entry: 0.5,
            delta_entry: 10,
            obi_exit: 0.2,
            delta_exit: 5,
            cooldown_ms: 0,
            ..ThresholdConfig::default()
        };
        let mut st = SignalStage::new(&cfg, TICK);
        let metrics = Arc::new(LiveMetrics::new());
        st.attach_metrics(Arc::clone(&metrics));
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
            Some(Msg::Signal(s)) => assert_eq!(s.direction, Direction::Long),
            other => panic!("expected a signal, got {other:?}"),
        }
        assert_eq!(st.engine().market.cum_delta, 12);
        let live = metrics.snapshot();
        assert_eq!((live.signals, live.last_signal.ts_ns, live.last_signal.direction), (1, 10 * S + 1, 1));
        assert!((st.engine().features.obi.value() - 0.8).abs() < 1e-9);
        assert_eq!(st.vector().get(FeatureId::Delta), Some(12.0));
    }

    #[test]
    fn adopted_snapshots_are_announced_to_the_next_stage() {
        let mut st = SignalStage::new(&SignalStageConfig::default(), TICK);
        let open = GammaLevels { computed_at_ns: 7 * S, ..GammaLevels::default() };
        st.open_with_gamma(open);
        let board = Arc::new(GammaBoard::new(4));
        board.publish(1, &GammaLevels { computed_at_ns: 9 * S, ..GammaLevels::default() });
        st.attach_board(board);
        let adopted = |out: &Outbox| -> Vec<(u64, u64)> {
            out.as_slice()
                .iter()
                .filter_map(|e| match e.msg {
                    Msg::Control(c) if c.kind == ControlKind::GammaAdopted => Some((c.arg, c.ts)),
                    _ => None,
                })
                .collect()
        };
        let mut out = Outbox::new();
        let [a, b] = book_events(10 * S, 5, 5);
        st.on_envelope(&env(a), &mut out);
        assert_eq!(adopted(&out), vec![(7 * S, 10 * S)], "the opening snapshot, once, before input 0");
        out.clear();
        st.on_envelope(&env(b), &mut out);
        assert!(adopted(&out).is_empty());
        let c = Control { kind: ControlKind::GammaPublished, arg: 1, seq: 3, ts: 11 * S };
        st.on_envelope(&Envelope { t0: 0, msg: Msg::Control(c) }, &mut out);
        assert_eq!(adopted(&out), vec![(9 * S, 11 * S)], "publication 1 at its announcement");
        out.clear();
        let missing = Control { arg: 2, ..c };
        st.on_envelope(&Envelope { t0: 0, msg: Msg::Control(missing) }, &mut out);
        assert!(adopted(&out).is_empty(), "nothing adopted, nothing announced");
        assert_eq!(st.gamma_missed, 1);
    }

    #[test]
    fn crossed_and_off_tick_are_counted_not_traded() {
        let mut st = SignalStage::new(&SignalStageConfig::default(), TICK);
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
        assert_eq!(st.engine().market.cum_delta, 0);
    }

    #[test]
    fn bad_ticks_are_dropped_not_forwarded() {
        let cfg = SignalStageConfig { sanity: SanityConfig { max_jump_ticks: 8 }, ..Default::default() };
        let mut st = SignalStage::new(&cfg, TICK);
        let mut out = Outbox::new();
        for e in book_events(S, 10, 10) {
            st.on_envelope(&env(e), &mut out);
        }
        out.clear();
        // mid = 4000.125: a print 7.5 ticks away is fine, 9.5 ticks is not
        let px = 4000 * 1_000_000_000;
        st.on_envelope(&env(Event::trade(S, S, Side::Bid, px + 8 * TICK, 3, 0)), &mut out);
        assert_eq!((out.len(), st.sanity.bad_ticks, st.engine().market.cum_delta), (1, 0, 3));
        out.clear();
        st.on_envelope(&env(Event::trade(S, S, Side::Bid, px + 10 * TICK, 3, 0)), &mut out);
        assert_eq!(
            (out.len(), st.sanity.bad_ticks, st.engine().market.cum_delta),
            (0, 1, 3),
            "dropped, counted"
        );
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
