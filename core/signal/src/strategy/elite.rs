//! The signal engine as a strategy (SIGNALS.md §3–§13), `[signal] strategy = "elite"`.
//!
//! Per trade it feeds the price levels (volume profile, session and overnight extremes). At
//! each bar close, before the triggering event is applied, it runs Battle Navale on that
//! timeframe and feeds MTF; at a 1-minute close it refreshes the levels and the confluence
//! zones; at a close of the decision timeframe (the Battle Navale timeframe, 5 minutes) it
//! runs the regime detector, the elite patterns, the composite confluence `C(d)` and the
//! signal generator (selector → trend or range strategy → gates → confidence → tier → size)
//! and emits at most one signal: a special exit (direction `Flat`), or an entry with its
//! stop and target (a bracket for the order manager). All state is fixed-size; nothing here
//! allocates after construction.

use crate::engine::battle_navale::{BaseKind, BattleNavaleSet};
use crate::engine::confluence::{volume_close_corr, ConfluenceInputs};
use crate::engine::generator::{EngineConfig as GeneratorConfig, SignalGenerator};
use crate::engine::inputs::{
    BnView, EngineInputs, GoverningBase, LevelsView, RangeView, RegimeView, ZoneView,
};
use crate::engine::levels::{GammaEs, LevelKind, Levels};
use crate::engine::mtf::{BnInput, Mtf};
use crate::engine::patterns::{PatternHit, PatternInputs, PatternSet, ZoneInput};
use crate::engine::regime::RegimeDetector;
use crate::engine::strategies::SetupReject;
use crate::engine::types::{EntryType, MlInput, SignalKind};
use crate::engine::zones::{ZoneAnalyzer, ZoneSide, ZONE_CAP};
use crate::features::registry::FeatureSet;
use crate::market::bars::Timeframe;
use crate::market::{Market, TradeTick};
use crate::strategy::registry::EngineConfig;
use crate::strategy::{DecisionContext, Strategy};
use mia_model::features::{vector_flags, FeatureId, FeatureVector};
use mia_model::msg::{Signal, SignalSource};
use mia_model::order::{Direction, OrderType};
use mia_model::price::{to_f64, Px};

/// ES tick (the engine's sections are quoted in ES ticks; MES has the same tick).
const TICK: Px = 250_000_000;

/// `[signal.elite]`.
#[derive(Clone, Copy, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct EliteConfig {
    /// The decision timeframe (minutes); it must equal `[signal.battle_navale] timeframe_min`.
    pub decision_timeframe_min: u64,
}

impl Default for EliteConfig {
    fn default() -> Self {
        Self { decision_timeframe_min: 5 }
    }
}

/// Most pattern detections kept for `detections.csv` (later ones are counted, not kept).
pub const DETECTION_CAP: usize = 32_768;

/// One detected elite pattern at a decision (score above `[signal.patterns] detect`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Detection {
    /// Event time of the decision (the close that triggered it), UTC ns.
    pub ts: u64,
    /// SIGNALS §4 pattern id (1–6).
    pub id: u8,
    /// +1 long, −1 short, 0 none.
    pub dir: i8,
    /// The pattern's score.
    pub score: f32,
}

/// The detections as CSV: `ts_ns,pattern_id,dir,score`.
pub fn detections_csv(d: &[Detection]) -> String {
    use std::fmt::Write;
    let mut s = String::from("ts_ns,pattern_id,dir,score\n");
    for x in d {
        let _ = writeln!(s, "{},{},{},{:.4}", x.ts, x.id, x.dir, x.score);
    }
    s
}

/// Most decisions kept for `decisions.csv` (≈ 120 synthetic days; later ones are counted).
pub const DECISION_CAP: usize = 32_768;

/// One decision point, as `decisions.csv` records it: what the regime detector saw, the
/// composite confluence both ways, the scores the gates read, and the outcome. This is the
/// trace a user reads to learn why the engine did or did not trade at a bar.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct DecisionRow {
    /// Event time of the decision (the close that triggered it), UTC ns.
    pub ts: u64,
    /// `Regime` code (`engine::regime::Regime`), 255 before the detector has `min_bars`.
    pub regime: u8,
    /// The regime's confidence.
    pub regime_conf: f32,
    /// Trend strength (§9).
    pub strength: f32,
    /// `HH + HL` and `LH + LL` swing-pair counts.
    pub bull: u8,
    /// See `bull`.
    pub bear: u8,
    /// VWAP (or close) slope, ticks per bar.
    pub vwap_slope: f32,
    /// A range was detected.
    pub range: bool,
    /// `C(long)`, `C(short)`.
    pub c: [f32; 2],
    /// Battle Navale score `S` (NaN when invalid).
    pub s: f32,
    /// MTF `M` (NaN when absent).
    pub m: f32,
    /// F16 session-phase multiplier.
    pub phase_mult: f32,
    /// 0 = an entry, 1 = a special exit, 2 + `RejectReason` code otherwise.
    pub outcome: u8,
    /// Direction of the signal emitted (+1, −1, 0).
    pub dir: i8,
    /// With outcome NoSetup: 1 + the strategy's `SetupReject` code (0 = none).
    pub setup_reject: u8,
    /// The decision bar's close `P`.
    pub close: Px,
    /// The range detector's support and resistance (0 when no range was measured).
    pub range_sr: [Px; 2],
}

/// The decision trace as CSV (header names the columns).
pub fn decisions_csv(d: &[DecisionRow]) -> String {
    use crate::engine::regime::REGIMES;
    use crate::engine::types::REJECT_REASONS;
    use std::fmt::Write;
    let mut s = String::from(
        "ts_ns,regime,regime_conf,trend_strength,bull,bear,vwap_slope,range,c_long,c_short,s,m,phase_mult,outcome,dir,setup_reject,close,range_support,range_resistance\n",
    );
    for x in d {
        let regime = REGIMES.get(usize::from(x.regime)).map_or("warmup", |r| r.key());
        let outcome = match x.outcome {
            0 => "entry",
            1 => "exit",
            k => REJECT_REASONS.get(usize::from(k - 2)).map_or("?", |r| r.name()),
        };
        let setup = match x.setup_reject {
            0 => "",
            k => SetupReject::ALL.get(usize::from(k - 1)).map_or("?", |r| r.name()),
        };
        let _ = writeln!(
            s,
            "{},{},{:.3},{:.3},{},{},{:.3},{},{:.4},{:.4},{:.4},{:.4},{:.2},{},{},{},{},{},{}",
            x.ts,
            regime,
            x.regime_conf,
            x.strength,
            x.bull,
            x.bear,
            x.vwap_slope,
            u8::from(x.range),
            x.c[0],
            x.c[1],
            x.s,
            x.m,
            x.phase_mult,
            outcome,
            x.dir,
            setup,
            to_f64(x.close),
            to_f64(x.range_sr[0]),
            to_f64(x.range_sr[1])
        );
    }
    s
}

/// The signal engine.
pub struct EliteStrategy {
    tf: Timeframe,
    bn: Box<BattleNavaleSet>,
    mtf: Box<Mtf>,
    regime: Box<RegimeDetector>,
    levels: Box<Levels>,
    zones: Box<ZoneAnalyzer>,
    generator: Box<SignalGenerator>,
    engine: Box<EngineConfig>,
    rth_seen: bool,
    zone_inputs: Box<[ZoneInput; ZONE_CAP]>,
    zone_views: Box<[ZoneView; ZONE_CAP]>,
    /// Decisions made (decision-timeframe closes).
    pub decisions: u64,
    vetoed: u64,
    detections: Box<[Detection]>,
    n_detections: usize,
    detections_lost: u64,
    trace: Box<[DecisionRow]>,
    n_trace: usize,
    trace_lost: u64,
    /// NoSetup decisions by the strategy's reason (`SetupReject` code order).
    setup_rejects: Box<[u64; SetupReject::ALL.len()]>,
}

/// Completes the engine's part of a run's `report` with the entries the order manager
/// executed, by tier code (the exec stage's `executed_by_tier`): the `executed_tier` rows of
/// `engine_stats.csv` and "(N executed)" after the entries of the summary's `engine` line.
/// The engine runs upstream of the order manager and sees no fill, so this is done once the
/// stages' reports are gathered. Nothing happens in a run without the engine.
pub fn apply_executed(
    report: &mut mia_runtime::stage::StageReport,
    executed: &[u64; crate::engine::types::TIER_COUNT],
) {
    let Some(f) = report.files.iter_mut().find(|f| f.0 == "engine_stats.csv") else { return };
    f.1 = crate::engine::stats::with_executed(&f.1, executed);
    let n: u64 = executed.iter().sum();
    if let Some(line) = report.notes.iter_mut().find(|x| x.0 == "engine") {
        if let Some(at) = line.1.find(" entries, ") {
            line.1.insert_str(at + " entries".len(), &format!(" ({n} executed)"));
        }
    }
}

/// The generator's sections, from the `[signal.*]` engine sections.
pub fn generator_config(e: &EngineConfig) -> GeneratorConfig {
    GeneratorConfig {
        selector: e.selector,
        trend: e.trend,
        range: e.range,
        confidence: e.confidence,
        gates: e.gates,
        tiers: e.tiers,
        size: e.size,
    }
}

fn dir_of_kind(k: BaseKind) -> Option<Direction> {
    match k {
        BaseKind::Green => Some(Direction::Long),
        BaseKind::Red => Some(Direction::Short),
        BaseKind::Neutral => None,
    }
}

impl EliteStrategy {
    fn gamma_es(m: &Market, f: &FeatureSet) -> Option<GammaEs> {
        let [flip, call, put] = f.options.es_levels(m.now)?;
        let at = f.options.levels().map_or(0, |l| l.computed_at_ns);
        Some(GammaEs { call_wall: call, put_wall: put, flip, computed_at_ns: at })
    }

    #[allow(clippy::too_many_arguments)]
    fn record_decision(
        &mut self,
        ts: u64,
        r: Option<&crate::engine::regime::RegimeOutput>,
        c: [f64; 2],
        s: Option<f64>,
        m: Option<f64>,
        phase_mult: f64,
        d: &crate::engine::generator::Decision,
        close: Px,
    ) {
        let (outcome, dir) = match (d.exit, d.entry) {
            (Some(x), _) => (1, x.dir),
            (None, Ok(e)) => (0, e.dir),
            (None, Err(reason)) => (2 + reason as u8, Direction::Flat),
        };
        if let Some(c) = d.setup_reject.and_then(|r| self.setup_rejects.get_mut(r as usize)) {
            *c += 1;
        }
        if self.n_trace >= self.trace.len() {
            self.trace_lost += 1;
            return;
        }
        let mut row = DecisionRow {
            ts,
            regime: 255,
            c: [c[0] as f32, c[1] as f32],
            s: s.map_or(f32::NAN, |v| v as f32),
            m: m.map_or(f32::NAN, |v| v as f32),
            phase_mult: phase_mult as f32,
            outcome,
            setup_reject: d.setup_reject.map_or(0, |r| r as u8 + 1),
            close,
            dir: match dir {
                Direction::Long => 1,
                Direction::Short => -1,
                Direction::Flat => 0,
            },
            ..DecisionRow::default()
        };
        if let Some(r) = r {
            row.regime = r.regime as u8;
            row.regime_conf = r.confidence as f32;
            row.strength = r.trend.strength as f32;
            row.bull = r.trend.bull().min(255) as u8;
            row.bear = r.trend.bear().min(255) as u8;
            row.vwap_slope = r.trend.vwap_slope as f32;
            row.range = r.range.detected;
            row.range_sr = [r.range.support, r.range.resistance];
        }
        self.trace[self.n_trace] = row;
        self.n_trace += 1;
    }

    /// The summary's `engine` line: decisions, entries, exits, and the rejections by first
    /// failing check, largest first (NoSetup split by the strategy's reason), read from the
    /// generator's counters, so the line agrees with `engine_stats.csv`.
    fn summary_line(&self) -> String {
        use crate::engine::types::REJECT_REASONS;
        use std::fmt::Write;
        let st = self.generator.stats();
        let mut t = format!(
            "{} decisions, {} entries, {} exits; rejected:",
            self.decisions,
            st.by_kind[SignalKind::Entry as usize],
            st.by_kind[SignalKind::Exit as usize]
        );
        let mut rej: Vec<(usize, u64)> =
            (0..REJECT_REASONS.len()).map(|i| (i, st.rejections[i])).filter(|x| x.1 > 0).collect();
        rej.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        if rej.is_empty() {
            t.push_str(" none");
        }
        for (i, n) in rej {
            let r = REJECT_REASONS[i];
            let _ = write!(t, " {} {n}", r.name());
            if r == crate::engine::types::RejectReason::NoSetup {
                let parts: Vec<String> = SetupReject::ALL
                    .iter()
                    .zip(self.setup_rejects.iter().copied())
                    .filter(|x| x.1 > 0)
                    .map(|(k, v)| format!("{} {v}", k.name()))
                    .collect();
                if !parts.is_empty() {
                    let _ = write!(t, " ({})", parts.join(", "));
                }
            }
            t.push(',');
        }
        if t.ends_with(',') {
            t.pop();
        }
        t.push_str(" (engine_stats.csv, decisions.csv)");
        t
    }

    fn decide_now(
        &mut self,
        cx: &DecisionContext,
        m: &Market,
        f: &FeatureSet,
        v: &FeatureVector,
    ) -> Option<Signal> {
        self.decisions += 1;
        let ring = &m.bars.series(self.tf).ring;
        let bar = *ring.back(0)?;
        let p = bar.close;
        let regime_out = self.regime.on_bar_close(ring);
        let bn = *self.bn.get(self.tf).state();
        let gamma = Self::gamma_es(m, f);
        let net_gex = f.options.net_gex_bn(m.now);
        // zones for the patterns and the generator
        let zones = self.zones.zones();
        let nz = zones.len().min(ZONE_CAP);
        for (i, z) in zones.iter().take(nz).enumerate() {
            self.zone_inputs[i] = ZoneInput {
                low: z.lower,
                high: z.upper,
                center: z.centre,
                score: z.score,
                n_levels: u32::from(z.n),
            };
            self.zone_views[i] = ZoneView { centre: z.centre, support: z.side == ZoneSide::Support };
        }
        let obi = v.get(FeatureId::BookImbalance).map(f64::from);
        let pin = PatternInputs {
            net_gex_bn: net_gex,
            call_wall: gamma.and_then(|g| g.call_wall),
            put_wall: gamma.and_then(|g| g.put_wall),
            zones: &self.zone_inputs[..nz],
            obi,
        };
        let pats = PatternSet::evaluate(&self.engine.patterns, ring, &bn, &pin, TICK);
        let detect = self.engine.patterns.detect;
        let mut hits = [PatternHit::default(); 6];
        let mut nh = 0;
        for h in pats.hits() {
            if h.score > detect {
                hits[nh] = h;
                nh += 1;
                if self.n_detections < self.detections.len() {
                    let dir = match h.dir {
                        Direction::Long => 1,
                        Direction::Short => -1,
                        Direction::Flat => 0,
                    };
                    self.detections[self.n_detections] =
                        Detection { ts: cx.ts, id: h.id as u8, dir, score: h.score as f32 };
                    self.n_detections += 1;
                } else {
                    self.detections_lost += 1;
                }
            }
        }
        let vol_class = f.volatility.class();
        let mtf = self.mtf.output(vol_class).map(|o| o.m);
        let dist = |z: Option<&crate::engine::zones::Zone>| z.map(|z| (to_f64(z.centre) - to_f64(p)).abs());
        let (below, above) = self.zones.nearest(p);
        let nearest_zone = match (dist(below), dist(above)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let sm = m.smart_money.state(nearest_zone, to_f64(p));
        let s = bn.valid.then_some(bn.score);
        let vbar = crate::engine::inputs::mean_volume_before(ring, 10);
        let cin = ConfluenceInputs {
            price: p,
            tick: TICK,
            net_gex_bn: net_gex,
            put_wall: gamma.and_then(|g| g.put_wall),
            call_wall: gamma.and_then(|g| g.call_wall),
            flip: gamma.and_then(|g| g.flip),
            volume: vbar.map(|vb| (f64::from(bar.volume), f64::from(bar.delta), vb)),
            rho5: volume_close_corr((0..5).filter_map(|k| ring.back(k)), 5),
            vwap_slope: regime_out.map(|r| r.trend.vwap_slope),
            vwap_dev: v.get(FeatureId::VwapDeviation).map(f64::from),
            bn_s: s,
            sierra: (bn.sierra.ldub, bn.sierra.ludb.max(bn.sierra.cds)),
            mtf,
            sm: sm.sm,
            obi,
            pc: f.options.levels().and_then(|l| {
                let f13 = v.get(FeatureId::PutCallRatio)?;
                l.put_call_volume_ratio
                    .is_finite()
                    .then(|| (f64::from(f13), l.put_call_volume_ratio.clamp(0.0, 10.0)))
            }),
        };
        let confluence = [cin.score(Direction::Long), cin.score(Direction::Short)];
        let regime = match regime_out {
            Some(r) => RegimeView {
                regime: r.regime,
                confidence: r.confidence,
                trend_strength: r.trend.strength,
                range: r.range.detected.then_some(RangeView {
                    support: r.range.support,
                    resistance: r.range.resistance,
                    quality: r.range.quality,
                }),
                size_mult: r.implication.size,
                allowed: r.implication.allowed.and(cx.allow),
            },
            None => RegimeView::with_defaults(crate::engine::regime::Regime::Unclear, 0.0, 0.0),
        };
        let governing = bn.governing.and_then(|b| {
            Some(GoverningBase {
                kind: dir_of_kind(b.kind)?,
                high: b.high,
                low: b.low,
                size_ticks: b.size_ticks.max(0.0) as u32,
            })
        });
        let lv = |k: LevelKind| self.levels.get(k).map(|l| l.price);
        let gamma_state = f
            .options
            .cycle_at(m.now)
            .unwrap_or_else(|| crate::gamma_cycle::gamma_cycle(m.clock.day, &self.engine.gamma_cycle));
        let inputs = EngineInputs {
            seq: cx.seq,
            ts: cx.ts,
            bars: ring,
            regime,
            bn: BnView { s, ldub: bn.sierra.ldub, ludb: bn.sierra.ludb, cds: bn.sierra.cds, governing },
            patterns: &hits[..nh],
            base_break_stop_offset_ticks: self.engine.patterns.base_break.stop_offset_ticks,
            confluence,
            mtf,
            smart_money: Some(sm),
            ml: MlInput::Absent,
            gamma: gamma_state,
            zdte_high: self.engine.gamma_cycle.zdte_high,
            phase: m.clock.phase,
            phase_mult: f.session.multiplier(m),
            vol_class,
            levels: LevelsView {
                vwap: lv(LevelKind::Vwap),
                poc: lv(LevelKind::Poc),
                vah: lv(LevelKind::Vah),
                val: lv(LevelKind::Val),
                pvah: lv(LevelKind::Pvah),
                pval: lv(LevelKind::Pval),
                put_wall: gamma.and_then(|g| g.put_wall),
                call_wall: gamma.and_then(|g| g.call_wall),
            },
            zones: &self.zone_views[..nz],
            bn_long_threshold: self.engine.battle_navale.long_threshold,
            bn_short_threshold: self.engine.battle_navale.short_threshold,
            options_stale: v.flags
                & (vector_flags::OPT_NONE | vector_flags::OPT_STALE | vector_flags::OPT_FUTURE)
                != 0,
        };
        let d = self.generator.decide(&inputs);
        self.record_decision(
            cx.ts,
            regime_out.as_ref(),
            confluence,
            s,
            mtf,
            inputs.phase_mult,
            &d,
            bar.close,
        );
        let msg = match (d.exit, d.entry) {
            (Some(x), _) => x,
            (None, Ok(e)) => e,
            (None, Err(_)) => return None,
        };
        let source = SignalSource { strategy: Self::ID, pattern: msg.pattern_id };
        Some(match msg.kind {
            SignalKind::Exit => {
                Signal { seq: cx.seq, ts: cx.ts, confidence: msg.conf, source, ..Signal::default() }
            }
            SignalKind::Entry => {
                if !cx.allow.allows(msg.dir) {
                    self.vetoed += 1;
                    return None;
                }
                Signal {
                    seq: cx.seq,
                    ts: cx.ts,
                    entry: msg.entry,
                    stop: msg.stop,
                    target: msg.target,
                    confidence: msg.conf,
                    size_hint: msg.size_hint.max(0.0).round() as u32,
                    direction: msg.dir,
                    tier: msg.tier,
                    source,
                    entry_type: if msg.entry_type == EntryType::Limit as u8 {
                        OrderType::Limit
                    } else {
                        OrderType::Market
                    },
                }
            }
        })
    }
}

impl Strategy for EliteStrategy {
    type Config = EliteConfig;
    const ID: u8 = 2;

    fn new(cfg: &EliteConfig, e: &EngineConfig) -> Self {
        let tf = Timeframe::from_minutes(cfg.decision_timeframe_min).unwrap_or(Timeframe::M5);
        let generator = SignalGenerator::new(&generator_config(e), e.profile, tf.minutes() as u32, TICK)
            .or_else(|_| SignalGenerator::new(&GeneratorConfig::default(), e.profile, 5, TICK));
        Self {
            tf,
            bn: Box::new(BattleNavaleSet::new(&e.battle_navale, &e.sierra, TICK)),
            mtf: Box::new(Mtf::new(&e.mtf)),
            levels: Box::new(Levels::new(&e.levels, TICK)),
            zones: Box::new(ZoneAnalyzer::new(&e.zones, TICK)),
            regime: Box::new(RegimeDetector::new(&e.regime, TICK)),
            // The config was validated (`check_engine`): the fallback is never taken.
            generator: Box::new(generator.unwrap_or_else(|e| panic!("signal engine config: {e}"))),
            engine: Box::new(e.clone()),
            rth_seen: false,
            zone_inputs: Box::new([ZoneInput::default(); ZONE_CAP]),
            zone_views: Box::new([ZoneView::default(); ZONE_CAP]),
            decisions: 0,
            vetoed: 0,
            detections: vec![Detection::default(); DETECTION_CAP].into_boxed_slice(),
            n_detections: 0,
            detections_lost: 0,
            trace: vec![DecisionRow::default(); DECISION_CAP].into_boxed_slice(),
            n_trace: 0,
            trace_lost: 0,
            setup_rejects: Box::new([0; SetupReject::ALL.len()]),
        }
    }

    fn validate(cfg: &EliteConfig) -> Result<(), String> {
        if Timeframe::from_minutes(cfg.decision_timeframe_min).is_none() {
            return Err(format!(
                "decision_timeframe_min: {} is not one of 1, 5, 15, 60",
                cfg.decision_timeframe_min
            ));
        }
        Ok(())
    }

    /// Decisions happen at bar closes only.
    fn decide(&mut self, _cx: &DecisionContext, _f: &FeatureVector) -> Option<Signal> {
        None
    }

    fn vetoed(&self) -> u64 {
        self.vetoed
    }

    #[inline]
    fn on_trade(&mut self, m: &Market, t: &TradeTick) {
        if m.clock.rth && !self.rth_seen {
            self.rth_seen = true;
            self.levels.on_rth_open();
        }
        self.levels.on_trade(t.ts, t.price, t.size, m.clock.rth);
    }

    fn on_session(&mut self, m: &Market) {
        self.rth_seen = false;
        self.levels.on_session(m.now);
    }

    fn on_bar_close(
        &mut self,
        cx: &DecisionContext,
        m: &Market,
        f: &FeatureSet,
        v: &FeatureVector,
        tf: Timeframe,
    ) -> Option<Signal> {
        let ring = &m.bars.series(tf).ring;
        let st = *self.bn.on_bar_close(tf, ring);
        let golden = match st.golden.direction() {
            1 => Some(Direction::Long),
            -1 => Some(Direction::Short),
            _ => None,
        };
        let bn_in = st.valid.then_some(BnInput { score: st.score, base_quality: st.q_g, golden });
        self.mtf.on_close(tf, ring, bn_in, f.regime.er(tf));
        if tf == Timeframe::M1 {
            if let Some(b) = ring.back(0) {
                let gamma = Self::gamma_es(m, f);
                self.levels.on_minute_close(m.now, b.close, Some(b), &m.vwap, gamma.as_ref());
                self.zones.update(self.levels.active(), b.close);
            }
        }
        if tf == self.tf {
            return self.decide_now(cx, m, f, v);
        }
        None
    }

    fn report(&self, r: &mut mia_runtime::stage::StageReport) {
        let st = self.generator.stats();
        r.count("engine.decisions", self.decisions);
        r.count("engine.generated", st.generated());
        r.files.push(("engine_stats.csv", st.to_csv()));
        r.count("engine.detections", self.n_detections as u64);
        r.count("engine.detections_lost", self.detections_lost);
        r.files.push(("detections.csv", detections_csv(&self.detections[..self.n_detections])));
        r.count("engine.decisions_untraced", self.trace_lost);
        r.notes.push(("engine", self.summary_line()));
        r.files.push(("decisions.csv", decisions_csv(&self.trace[..self.n_trace])));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::stats::EngineStats;
    use crate::engine::types::{Tier, TIER_COUNT};
    use mia_runtime::stage::StageReport;

    /// The exec stage's counts complete the engine's table and its summary line; a run
    /// without the engine is left alone.
    #[test]
    fn executed_entries_complete_the_engine_report() {
        let mut r = StageReport::default();
        r.note("engine", "266 decisions, 1 entries, 0 exits; rejected: none".to_string());
        r.files.push(("engine_stats.csv", EngineStats::default().to_csv()));
        let mut ex = [0u64; TIER_COUNT];
        ex[Tier::Institutional.index()] = 1;
        apply_executed(&mut r, &ex);
        assert_eq!(
            r.get_note("engine"),
            Some("266 decisions, 1 entries (1 executed), 0 exits; rejected: none")
        );
        assert!(r.files[0].1.contains("executed_tier,INSTITUTIONAL,1\n"));
        let mut other = StageReport::default();
        other.note("engine", "x entries, y".to_string());
        apply_executed(&mut other, &ex);
        assert_eq!(other.get_note("engine"), Some("x entries, y"), "no engine_stats.csv: not the engine");
    }
}
