//! The signal generator (SIGNALS.md §11): at each decision point, the special exits, the
//! selector and a strategy's setup, the quality gates, the zone gate with its overrides, the
//! confidence and tier, the confidence and risk-reward gates, the size hint, and a
//! [`SignalMsg`]. The first failing check names the [`RejectReason`].
//!
//! Runs on decision-bar closes: O(window) over the bar ring, O(zones) for the zone gate,
//! allocation-free.

use super::confidence::{evaluate, Confidence, ConfidenceConfig, ConfidenceInputs, GatesConfig, TiersConfig};
use super::inputs::EngineInputs;
use super::profiles::Profile;
use super::size::{size_hint, SizeConfig, SizeFactors};
use super::stats::EngineStats;
use super::strategies::{
    range_setup, range_side, trend_setup, ExitRecord, RangeConfig, Selector, SelectorConfig, SetupReject,
    SpecialExits, TrendConfig,
};
use super::types::{
    at_least, dsign, EntryType, MlInput, RejectReason, Setup, SignalKind, Source, StrategyId, Tier,
};
use crate::gamma_cycle::GammaPhase;
use mia_model::order::Direction;
use mia_model::price::{on_tick, Px, PRICE_SCALE};

/// `SignalMsg::flags`: the zone gate passed through an override.
pub const FLAG_ZONE_OVERRIDE: u8 = 1;
/// `SignalMsg::flags`: the options snapshot was stale or missing.
pub const FLAG_OPTIONS_STALE: u8 = 2;
/// `SignalMsg::flags`: no ML model answered.
pub const FLAG_ML_ABSENT: u8 = 4;

/// Code of "none" in the `u8` fields of a [`SignalMsg`] (tier and setup tier of an exit).
pub const CODE_NONE: u8 = u8::MAX;

/// Confidence of a special exit (fixed, §10).
pub const EXIT_CONF: f64 = 0.8;

/// The message handed to risk (§11). `#[repr(C)]`, `Copy`, 96 bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SignalMsg {
    /// Sequence number of the triggering input.
    pub seq: u64,
    /// Decision time (ns).
    pub ts: u64,
    /// Entry price (P for an exit).
    pub entry: Px,
    /// Stop (0 for an exit).
    pub stop: Px,
    /// Target (0 for an exit).
    pub target: Px,
    /// Lifetime of a limit entry (ns), 0 for a marketable limit.
    pub ttl_ns: u64,
    /// conf₂.
    pub conf: f32,
    /// Size hint (contracts, an upper bound).
    pub size_hint: f32,
    /// BN signed score S (0 when invalid).
    pub s: f32,
    /// MTF score M (0 when invalid).
    pub m: f32,
    /// Smart-money score SM (0 when invalid).
    pub sm: f32,
    /// `C(d)`.
    pub c: f32,
    /// `ml_conf` (0 when absent).
    pub ml_conf: f32,
    /// Score of the best agreeing detected pattern (0 = none).
    pub pattern_score: f32,
    /// Entry or exit.
    pub kind: SignalKind,
    /// Direction (of the trade, or of the position an exit closes).
    pub dir: Direction,
    /// [`Tier`] code ([`CODE_NONE`] for an exit).
    pub tier: u8,
    /// [`Source`] code.
    pub source: u8,
    /// Id of the best agreeing detected pattern (0 = none).
    pub pattern_id: u8,
    /// [`StrategyId`] code.
    pub strategy: u8,
    /// [`super::types::SetupTier`] code ([`CODE_NONE`] for an exit).
    pub setup_tier: u8,
    /// [`super::regime::Regime`] code.
    pub regime: u8,
    /// [`GammaPhase::code`].
    pub gamma_phase: u8,
    /// [`EntryType`] code (0 for an exit).
    pub entry_type: u8,
    /// `FLAG_*` bits.
    pub flags: u8,
}

const _: () = assert!(core::mem::size_of::<SignalMsg>() <= 128);

/// The signal engine's config sections, named as under `[signal]`: `[signal.selector]`,
/// `[signal.trend]`, `[signal.range]`, `[signal.confidence]`, `[signal.gates]`,
/// `[signal.tiers]` and `[signal.size]`. The wiring code adds these fields to its `[signal]`
/// table.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineConfig {
    /// `[signal.selector]`.
    pub selector: SelectorConfig,
    /// `[signal.trend]`.
    pub trend: TrendConfig,
    /// `[signal.range]`.
    pub range: RangeConfig,
    /// `[signal.confidence]`.
    pub confidence: ConfidenceConfig,
    /// `[signal.gates]`.
    pub gates: GatesConfig,
    /// `[signal.tiers]`.
    pub tiers: TiersConfig,
    /// `[signal.size]`.
    pub size: SizeConfig,
}

impl EngineConfig {
    /// Checks every section; the message is `<section>.<key>: reason`.
    ///
    /// # Errors
    /// The first bad key.
    pub fn validate(&self, decision_timeframe_min: u32) -> Result<(), String> {
        fn p(s: &'static str) -> impl Fn(String) -> String {
            move |e| format!("{s}.{e}")
        }
        self.selector.validate_for(decision_timeframe_min).map_err(p("selector"))?;
        self.trend.validate().map_err(p("trend"))?;
        self.range.validate().map_err(p("range"))?;
        self.confidence.validate().map_err(p("confidence"))?;
        self.gates.validate().map_err(p("gates"))?;
        self.tiers.validate().map_err(p("tiers"))?;
        self.size.validate().map_err(p("size"))
    }
}

/// What one decision point produced.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Decision {
    /// A special exit, emitted before any entry.
    pub exit: Option<SignalMsg>,
    /// The entry, or why there is none.
    pub entry: Result<SignalMsg, RejectReason>,
    /// The setup, when one was built.
    pub setup: Option<Setup>,
    /// Why the strategy built no setup, when that was the outcome.
    pub setup_reject: Option<SetupReject>,
    /// The confidence computation, when reached.
    pub confidence: Option<Confidence>,
    /// The size factors, when reached.
    pub size: Option<SizeFactors>,
}

/// The signal generator.
#[derive(Clone, Debug)]
pub struct SignalGenerator {
    cfg: EngineConfig,
    profile: Profile,
    tick: Px,
    tf_ns: u64,
    selector: Selector,
    exits: SpecialExits,
    stats: EngineStats,
}

impl SignalGenerator {
    /// A generator for `profile`, decision bars of `decision_timeframe_min` minutes and the
    /// instrument's `tick` (ES: 250_000_000).
    ///
    /// # Errors
    /// A config or profile validation message, or a non-positive tick.
    pub fn new(
        cfg: &EngineConfig,
        profile: Profile,
        decision_timeframe_min: u32,
        tick: Px,
    ) -> Result<Self, String> {
        cfg.validate(decision_timeframe_min)?;
        profile.validate().map_err(|e| format!("profile.{e}"))?;
        if tick <= 0 {
            return Err(format!("tick: must be > 0, got {tick}"));
        }
        Ok(Self {
            cfg: *cfg,
            profile,
            tick,
            tf_ns: u64::from(decision_timeframe_min) * 60_000_000_000,
            selector: Selector::new(&cfg.selector, decision_timeframe_min)?,
            exits: SpecialExits::default(),
            stats: EngineStats::default(),
        })
    }

    /// The counters.
    pub fn stats(&self) -> &EngineStats {
        &self.stats
    }

    /// The counters, for [`EngineStats::record_executed`].
    pub fn stats_mut(&mut self) -> &mut EngineStats {
        &mut self.stats
    }

    /// The profile in force.
    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    fn blank(&self, inp: &EngineInputs<'_>) -> SignalMsg {
        SignalMsg {
            seq: inp.seq,
            ts: inp.ts,
            entry: inp.price().unwrap_or(0),
            stop: 0,
            target: 0,
            ttl_ns: 0,
            conf: 0.0,
            size_hint: 0.0,
            s: inp.s().unwrap_or(0.0) as f32,
            m: inp.m().unwrap_or(0.0) as f32,
            sm: inp.sm().unwrap_or(0.0) as f32,
            c: 0.0,
            ml_conf: inp.ml.conf().unwrap_or(0.0) as f32,
            pattern_score: 0.0,
            kind: SignalKind::Entry,
            dir: Direction::Flat,
            tier: CODE_NONE,
            source: Source::RangeStrategy as u8,
            pattern_id: 0,
            strategy: 0,
            setup_tier: CODE_NONE,
            regime: inp.regime.regime as u8,
            gamma_phase: inp.gamma.phase.code() as u8,
            entry_type: 0,
            flags: (if inp.options_stale { FLAG_OPTIONS_STALE } else { 0 })
                | (if matches!(inp.ml, MlInput::Absent) { FLAG_ML_ABSENT } else { 0 }),
        }
    }

    /// Runs one decision point (§11 steps 1–12).
    pub fn decide(&mut self, inp: &EngineInputs<'_>) -> Decision {
        let f = inp.gamma.factor;
        self.stats.record_decision(inp.s(), inp.m(), f, inp.gamma.phase == GammaPhase::GammaPeak);

        // Step 2: the special exits, on the BN timeframe (= the decision timeframe).
        let colour = inp.bars.back(0).map_or(0, |b| (b.close > b.open) as i8 - (b.close < b.open) as i8);
        self.exits.push(ExitRecord {
            cds: inp.bn.cds,
            ldub: inp.bn.ldub,
            s: inp.s().unwrap_or(0.0),
            colour,
            governing: inp.bn.governing.map(|g| g.kind),
        });
        let exit = self.exits.check(self.cfg.range.mirror_exit).map(|d| {
            self.stats.record_exit();
            SignalMsg {
                kind: SignalKind::Exit,
                dir: d,
                conf: EXIT_CONF as f32,
                strategy: StrategyId::Range as u8,
                ..self.blank(inp)
            }
        });

        let mut out = Decision {
            exit,
            entry: Err(RejectReason::NoSetup),
            setup: None,
            setup_reject: None,
            confidence: None,
            size: None,
        };
        let r = self.run(inp, &mut out);
        if let Err(reason) = r {
            self.stats.record_reject(reason);
        }
        out.entry = r;
        out
    }

    fn run(&mut self, inp: &EngineInputs<'_>, out: &mut Decision) -> Result<SignalMsg, RejectReason> {
        let tick = self.tick;
        // Steps 1 and 3: selector, direction, phase, setup.
        let sel = self.selector.on_decision(&inp.regime)?;
        let d = match sel.strategy {
            StrategyId::Trend => inp.regime.regime.direction().ok_or(RejectReason::RegimeWait)?,
            StrategyId::Range => range_side(&self.cfg.range, inp, tick).map_err(|e| {
                out.setup_reject = Some(e);
                RejectReason::NoSetup
            })?,
        };
        self.selector.admit(d, &inp.regime, inp.phase_mult)?;
        let setup = match sel.strategy {
            StrategyId::Trend => trend_setup(&self.cfg.trend, inp, d, tick),
            StrategyId::Range => range_setup(&self.cfg.range, inp, d, tick),
        }
        .map_err(|e| {
            out.setup_reject = Some(e);
            RejectReason::NoSetup
        })?;
        self.stats.record_setup(setup.strategy, setup.tier);
        out.setup = Some(setup);

        // Step 4: C(d).
        let c = inp.confluence_of(d);
        let sgn = dsign(d);

        // Step 6: quality gates.
        if !at_least(c, self.profile.min_confluence) {
            return Err(RejectReason::LowConfluence);
        }
        let s = inp.s();
        let bn_ok = match (s, d) {
            (Some(s), Direction::Long) => s > inp.bn_long_threshold,
            (Some(s), Direction::Short) => s < inp.bn_short_threshold,
            _ => false,
        };
        if !bn_ok {
            return Err(RejectReason::BnWeak);
        }
        match inp.ml {
            MlInput::Absent => {}
            MlInput::Error => {
                self.stats.ml_error += 1;
                return Err(RejectReason::MlError);
            }
            MlInput::Conf(v) => {
                if !v.is_finite() {
                    self.stats.ml_error += 1;
                    return Err(RejectReason::MlError);
                }
                self.stats.ml_high += u64::from(v > super::confidence::ML_HIGH);
                if v > self.cfg.gates.ml_threshold {
                    self.stats.ml_approved += 1;
                } else {
                    return Err(RejectReason::MlRejected);
                }
            }
        }
        let opposing = inp
            .patterns
            .iter()
            .any(|h| h.dir != Direction::Flat && h.dir != d && h.score >= self.cfg.gates.veto_pattern);
        if opposing {
            return Err(RejectReason::OpposingPattern);
        }

        // Step 8 (computed here: the zone overrides read the elite conditions).
        let best = inp.patterns.iter().filter(|h| h.dir == d && h.score.is_finite()).fold(
            None::<(u8, f64)>,
            |acc, h| match acc {
                Some((_, sc)) if sc >= h.score => acc,
                _ => Some((h.id as u8, h.score)),
            },
        );
        let ci = ConfidenceInputs {
            d,
            strategy: setup.strategy,
            strategy_conf: setup.strategy_conf,
            pattern_score: best.map_or(0.0, |b| b.1),
            s,
            c,
            regime_conf: inp.regime.confidence,
            m: inp.m(),
            sm: inp.sm(),
            ml: inp.ml,
            gamma_factor: Some(inp.gamma.factor).filter(|f| f.is_finite()),
            phase: inp.gamma.phase,
        };
        let conf = evaluate(&self.cfg.confidence, &self.cfg.tiers, self.cfg.gates.ml_threshold, &ci);
        out.confidence = Some(conf);
        self.stats.sm_institutional += u64::from(conf.elite.institutional);

        // Step 7: zone gate.
        let support = d == Direction::Long;
        let nearest = inp
            .zones
            .iter()
            .filter(|z| z.support == support)
            .map(|z| (z.centre - setup.entry).unsigned_abs())
            .min();
        let radius = self.cfg.gates.zone_gate_points * PRICE_SCALE as f64;
        let mut flags = 0u8;
        if let Some(dist) = nearest {
            if dist as f64 > radius {
                let overridden =
                    conf.elite.mtf_elite || conf.elite.sm_bn || inp.gamma.phase == GammaPhase::GammaPeak;
                if !overridden {
                    return Err(RejectReason::ZoneFar);
                }
                flags |= FLAG_ZONE_OVERRIDE;
            }
        }

        // Step 9: confidence gates.
        if conf.tier == Tier::Rejected || !at_least(conf.conf2, self.profile.min_confidence) {
            return Err(RejectReason::LowConfidence);
        }

        // Step 10: risk-reward, stop range, grid and sides.
        if !at_least(setup.rr(tick), self.profile.min_risk_reward) {
            return Err(RejectReason::RiskReward);
        }
        let risk = setup.risk_ticks(tick);
        let g = &self.cfg.gates;
        let on_grid = on_tick(setup.entry, tick) && on_tick(setup.stop, tick) && on_tick(setup.target, tick);
        let sides = sgn * ((setup.entry - setup.stop) as f64) > 0.0
            && sgn * ((setup.target - setup.entry) as f64) > 0.0;
        if risk < f64::from(g.min_stop_ticks) || risk > f64::from(g.max_stop_ticks) || !on_grid || !sides {
            return Err(RejectReason::StopRange);
        }

        // Step 11: size.
        let sz = size_hint(
            &self.cfg.size,
            conf.conf2,
            &conf.elite,
            inp.gamma.g_size(inp.zdte_high),
            inp.regime.size_mult,
            inp.vol_class,
            inp.phase_mult,
            self.profile.max_size,
        );
        out.size = Some(sz);

        // Step 12: emit.
        let pattern_id = best.map_or(0, |b| b.0);
        self.stats.record_entry(conf.tier, conf.source, inp.regime.regime, d, pattern_id, inp.phase);
        let base = self.blank(inp);
        Ok(SignalMsg {
            entry: setup.entry,
            stop: setup.stop,
            target: setup.target,
            ttl_ns: if setup.entry_type == EntryType::Limit {
                u64::from(setup.ttl_bars) * self.tf_ns
            } else {
                0
            },
            conf: conf.conf2 as f32,
            size_hint: sz.hint as f32,
            c: c as f32,
            pattern_score: best.map_or(0.0, |b| b.1) as f32,
            kind: SignalKind::Entry,
            dir: d,
            tier: conf.tier as u8,
            source: conf.source as u8,
            pattern_id,
            strategy: setup.strategy as u8,
            setup_tier: setup.tier as u8,
            entry_type: setup.entry_type as u8,
            flags: base.flags | flags,
            ..base
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::inputs::{EngineInputs, ZoneView};
    use super::super::patterns::{PatternHit, PatternId};
    use super::super::profiles::{Profile, Profiles};
    use super::super::regime::Regime;
    use super::super::testkit::{bar, normal, sm_state, tk, Fixture, T};
    use super::super::types::SetupTier;
    use super::*;
    use crate::gates::Allow;

    fn generator(cfg: &EngineConfig, profile: Profile) -> SignalGenerator {
        SignalGenerator::new(cfg, profile, 5, T).expect("generator")
    }

    /// Runs `inp` twice (the first decision point waits for the cooldown) and returns the
    /// second decision.
    fn run(g: &mut SignalGenerator, inp: &EngineInputs<'_>) -> Decision {
        let first = g.decide(inp);
        assert_eq!(first.entry, Err(RejectReason::RegimeWait));
        g.decide(inp)
    }

    fn entry_with(
        profile: Profile,
        cfg: &EngineConfig,
        inp: &EngineInputs<'_>,
    ) -> Result<SignalMsg, RejectReason> {
        run(&mut generator(cfg, profile), inp).entry
    }

    fn reject(inp: &EngineInputs<'_>) -> Result<SignalMsg, RejectReason> {
        entry_with(Profile::PAPER, &EngineConfig::default(), inp)
    }

    #[test]
    fn t17_end_to_end() {
        let fx = Fixture::t17();
        let inp = fx.inputs();
        let mut g = generator(&EngineConfig::default(), Profiles::default().paper);
        let d = run(&mut g, &inp);
        let setup = d.setup.expect("setup");
        assert_eq!(setup.tier, SetupTier::StrongPullback);
        let c = d.confidence.expect("confidence");
        assert!((c.conf0 - 0.736333).abs() < 1e-5, "{}", c.conf0);
        assert!((c.conf1 - 0.846783).abs() < 1e-5, "{}", c.conf1);
        assert_eq!(c.tier, Tier::GammaOptimized);
        let sz = d.size.expect("size");
        assert!((sz.raw - 2.0592).abs() < 1e-9, "{}", sz.raw);
        let m = d.entry.expect("emitted");
        assert_eq!(m.kind, SignalKind::Entry);
        assert_eq!(m.dir, Direction::Long);
        assert_eq!(m.tier, Tier::GammaOptimized as u8);
        assert_eq!(m.source, Source::GammaCycleOptimized as u8);
        assert_eq!(m.size_hint, 2.0);
        assert!((f64::from(m.conf) - 0.846783).abs() < 1e-5);
        assert_eq!((m.entry, m.stop, m.target), (tk(8), tk(-2), tk(28)));
        assert_eq!(m.ttl_ns, 300_000_000_000);
        assert_eq!(m.entry_type, EntryType::Limit as u8);
        assert_eq!(m.setup_tier, SetupTier::StrongPullback as u8);
        assert_eq!(m.regime, Regime::StrongTrendBullish as u8);
        assert_eq!(m.gamma_phase, GammaPhase::GammaPeak.code() as u8);
        assert_eq!(m.flags, FLAG_ML_ABSENT);
        assert_eq!((m.seq, m.ts, m.pattern_id), (7, 1_000, 0));
        let st = g.stats();
        assert_eq!(st.decisions, 2);
        assert_eq!(st.rejections[RejectReason::RegimeWait.index()], 1);
        assert_eq!(st.by_tier[Tier::GammaOptimized.index()], 1);
        assert_eq!(st.setups[0][SetupTier::StrongPullback.index()], 1);
        assert_eq!((st.gamma_peak, st.gamma_optimized, st.n_bn_25, st.n_bn_35), (2, 1, 2, 2));
        assert_eq!(core::mem::size_of::<SignalMsg>(), 96);
    }

    #[test]
    fn regime_direction_and_phase_rejections() {
        let fx = Fixture::t17();
        let mut inp = fx.inputs();
        inp.regime = super::super::inputs::RegimeView::with_defaults(Regime::Transition, 0.5, 0.0);
        assert_eq!(reject(&inp).err(), Some(RejectReason::RegimeWait));
        let mut inp = fx.inputs();
        inp.regime.confidence = 0.55;
        assert_eq!(reject(&inp).err(), Some(RejectReason::RegimeWait));
        let mut inp = fx.inputs();
        inp.regime.allowed = Allow::SHORT;
        assert_eq!(reject(&inp), Err(RejectReason::DirectionNotAllowed));
        let mut inp = fx.inputs();
        inp.phase_mult = 0.5;
        assert_eq!(reject(&inp), Err(RejectReason::PhaseDisabled));
        let mut inp = fx.inputs();
        inp.confluence = [0.5, 0.5];
        assert_eq!(reject(&inp), Err(RejectReason::NoSetup));
    }

    #[test]
    fn range_bounce_against_bias_is_not_allowed() {
        let mut bars: Vec<_> = (0..11).map(|_| bar(8, 10, 6, 8, 1000)).collect();
        bars.push(bar(19, 20, 18, 19, 2000));
        let fx = Fixture { bars, ..Fixture::t17() };
        let mut inp = fx.inputs();
        inp.regime = super::super::inputs::RegimeView::with_defaults(Regime::RangeBullishBias, 0.8, 0.2);
        inp.regime.range =
            Some(super::super::inputs::RangeView { support: tk(0), resistance: tk(20), quality: 0.7 });
        assert_eq!(reject(&inp), Err(RejectReason::DirectionNotAllowed));
        // The same bounce in a neutral range is a short.
        inp.regime.regime = Regime::RangeNeutral;
        inp.regime.allowed = Allow::ALL;
        inp.bn.s = Some(-0.5);
        inp.smart_money = Some(sm_state(-0.35));
        inp.mtf = Some(-0.6);
        let m = reject(&inp).expect("short bounce");
        assert_eq!((m.dir, m.entry, m.stop, m.target), (Direction::Short, tk(19), tk(23), tk(1)));
        assert_eq!(m.strategy, StrategyId::Range as u8);
    }

    #[test]
    fn quality_gate_rejections() {
        let fx = Fixture::t17();
        let inp = fx.inputs();
        let strict = Profile { min_confluence: 0.75, ..Profile::PAPER };
        assert_eq!(entry_with(strict, &EngineConfig::default(), &inp), Err(RejectReason::LowConfluence));
        let mut weak = fx.inputs();
        weak.bn.s = Some(0.25);
        assert_eq!(reject(&weak), Err(RejectReason::BnWeak));
        weak.bn.s = None;
        assert_eq!(reject(&weak), Err(RejectReason::BnWeak));
        let mut ml = fx.inputs();
        ml.ml = MlInput::Conf(0.70);
        assert_eq!(reject(&ml), Err(RejectReason::MlRejected));
        ml.ml = MlInput::Error;
        assert_eq!(reject(&ml), Err(RejectReason::MlError));
        ml.ml = MlInput::Conf(0.71);
        let m = reject(&ml).expect("approved");
        assert_eq!(m.flags & FLAG_ML_ABSENT, 0);
    }

    #[test]
    fn opposing_pattern_vetoes_at_threshold() {
        let mut fx = Fixture::t17();
        fx.patterns.push(PatternHit { id: PatternId::Headfake, score: 0.69, dir: Direction::Short });
        assert!(reject(&fx.inputs()).is_ok());
        fx.patterns[0].score = 0.70;
        assert_eq!(reject(&fx.inputs()), Err(RejectReason::OpposingPattern));
        // An agreeing pattern is credited: x1 = min(1, 0.75 + 0.1·0.8).
        let fx = Fixture {
            patterns: vec![PatternHit { id: PatternId::GammaPin, score: 0.8, dir: Direction::Long }],
            ..Fixture::t17()
        };
        let d = run(&mut generator(&EngineConfig::default(), Profile::PAPER), &fx.inputs());
        assert!((d.confidence.expect("conf").x[0] - 0.83).abs() < 1e-12);
        let m = d.entry.expect("emitted");
        assert_eq!((m.pattern_id, m.pattern_score), (2, 0.8));
    }

    #[test]
    fn zone_gate_and_overrides() {
        // A support zone 7 points below the entry.
        let far = Fixture { zones: vec![ZoneView { centre: tk(-20), support: true }], ..Fixture::t17() };
        // No override: not PEAK, SM 0.2 (no SM/BN alignment), M 0.6 (not elite).
        let mut inp = far.inputs();
        inp.gamma = normal();
        inp.smart_money = Some(sm_state(0.2));
        assert_eq!(reject(&inp), Err(RejectReason::ZoneFar));
        // A resistance zone does not gate a long.
        let res = Fixture { zones: vec![ZoneView { centre: tk(-20), support: false }], ..Fixture::t17() };
        let mut i2 = res.inputs();
        i2.gamma = normal();
        i2.smart_money = Some(sm_state(0.2));
        assert_ne!(reject(&i2), Err(RejectReason::ZoneFar));
        // Within 3 points passes without a flag.
        let near = Fixture { zones: vec![ZoneView { centre: tk(-4), support: true }], ..Fixture::t17() };
        let m = reject(&near.inputs()).expect("near");
        assert_eq!(m.flags & FLAG_ZONE_OVERRIDE, 0);
        // Each override lets the far zone pass, flagged.
        let mut peak = far.inputs();
        peak.smart_money = Some(sm_state(0.2));
        assert_eq!(reject(&peak).map(|m| m.flags & FLAG_ZONE_OVERRIDE), Ok(FLAG_ZONE_OVERRIDE));
        let mut mtf = inp;
        mtf.mtf = Some(0.8);
        assert_eq!(reject(&mtf).map(|m| m.flags & FLAG_ZONE_OVERRIDE), Ok(FLAG_ZONE_OVERRIDE));
        let mut smbn = inp;
        smbn.smart_money = Some(sm_state(0.35));
        assert_eq!(reject(&smbn).map(|m| m.flags & FLAG_ZONE_OVERRIDE), Ok(FLAG_ZONE_OVERRIDE));
    }

    #[test]
    fn confidence_rr_and_stop_gates() {
        let fx = Fixture::t17();
        let inp = fx.inputs();
        let cfg = EngineConfig::default();
        let picky = Profile { min_confidence: 0.85, ..Profile::PAPER };
        assert_eq!(entry_with(picky, &cfg, &inp), Err(RejectReason::LowConfidence));
        let greedy = Profile { min_risk_reward: 2.5, ..Profile::PAPER };
        assert_eq!(entry_with(greedy, &cfg, &inp), Err(RejectReason::RiskReward));
        let mut tight = EngineConfig::default();
        tight.gates.max_stop_ticks = 8;
        assert_eq!(entry_with(Profile::PAPER, &tight, &inp), Err(RejectReason::StopRange));
        let mut wide = EngineConfig::default();
        wide.gates.min_stop_ticks = 11;
        wide.gates.max_stop_ticks = 20;
        assert_eq!(entry_with(Profile::PAPER, &wide, &inp), Err(RejectReason::StopRange));
        // Tier REJECTED: a weak confluence everywhere gives conf₁ < 0.55.
        let mut low = fx.inputs();
        low.gamma = normal();
        low.mtf = Some(-0.9);
        low.smart_money = Some(sm_state(-0.9));
        low.bn.s = Some(0.26);
        low.regime.confidence = 0.6;
        let backtest = Profile { min_confidence: 0.0, ..Profile::BACKTEST };
        let d = run(&mut generator(&cfg, backtest), &low);
        assert_eq!(d.confidence.map(|c| c.tier), Some(Tier::Rejected));
        assert_eq!(d.entry, Err(RejectReason::LowConfidence));
    }

    #[test]
    fn special_exit_emitted_before_entry_logic() {
        // Five closes: a red-base CDS bar, then two green bars with S > 0.2, in TRANSITION.
        let fx = Fixture::t17();
        let mut g = generator(&EngineConfig::default(), Profile::PAPER);
        let red = super::super::inputs::GoverningBase {
            kind: Direction::Short,
            high: tk(4),
            low: tk(0),
            size_ticks: 4,
        };
        let steps: [(f64, f64, i64, i64); 5] =
            [(0.0, 0.0, 0, 0), (0.0, 0.0, 0, 0), (0.8, -0.3, 2, 1), (0.0, 0.3, 1, 2), (0.0, 0.3, 1, 2)];
        let mut last = None;
        for (i, (cds, s, o, c)) in steps.into_iter().enumerate() {
            let mut bars = fx.bars.clone();
            bars.push(bar(o, 3, 0, c, 1000));
            let f = Fixture { bars, ..Fixture::t17() };
            let mut inp = f.inputs();
            inp.regime = super::super::inputs::RegimeView::with_defaults(Regime::Transition, 0.5, 0.0);
            inp.bn.cds = cds;
            inp.bn.s = Some(s);
            inp.bn.governing = Some(red);
            let d = g.decide(&inp);
            assert_eq!(d.entry, Err(RejectReason::RegimeWait));
            if i < 4 {
                assert!(d.exit.is_none(), "step {i}");
            }
            last = d.exit;
        }
        let m = last.expect("exit");
        assert_eq!((m.kind, m.dir, m.conf), (SignalKind::Exit, Direction::Short, 0.8));
        assert_eq!(g.stats().by_kind[SignalKind::Exit as usize], 1);
    }

    #[test]
    fn engine_config_parses_and_validates() {
        let toml_text = r#"
[selector]
min_regime_conf = 0.65
[trend]
max_risk_ticks = 12
[gates]
zone_gate_points = 2.5
[size]
min_size = 1.0
"#;
        let c: EngineConfig = toml::from_str(toml_text).expect("parses");
        assert_eq!(c.selector.min_regime_conf, 0.65);
        assert_eq!(c.trend.max_risk_ticks, 12);
        assert_eq!(c.trend.ks_bars, 10);
        assert_eq!(c.gates.zone_gate_points, 2.5);
        assert!(c.validate(5).is_ok());
        assert!(toml::from_str::<EngineConfig>("[gates]\nveto = 0.5\n").is_err());
        let mut bad = EngineConfig::default();
        bad.gates.ml_threshold = 2.0;
        assert!(bad.validate(5).unwrap_err().starts_with("gates.ml_threshold:"));
        let mut bad = EngineConfig::default();
        bad.size.max_elite = -1.0;
        assert!(bad.validate(5).unwrap_err().starts_with("size.max_elite:"));
        assert!(SignalGenerator::new(&EngineConfig::default(), Profile::PAPER, 5, 0).is_err());
        let bad_profile = Profile { max_size: 0.0, ..Profile::PAPER };
        assert!(SignalGenerator::new(&EngineConfig::default(), bad_profile, 5, T)
            .err()
            .is_some_and(|e| e.starts_with("profile.max_size:")));
    }
}
