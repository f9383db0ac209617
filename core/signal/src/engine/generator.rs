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
    range_setup, range_side, trend_setup, ExitRecord, RangeConfig, Selector, SelectorConfig, SpecialExits,
    TrendConfig,
};
use super::types::{dsign, EntryType, MlInput, RejectReason, Setup, SignalKind, Source, StrategyId, Tier};
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
    /// [`super::regime_kind::Regime`] code.
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
        self.selector.validate(decision_timeframe_min).map_err(p("selector"))?;
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

        let mut out =
            Decision { exit, entry: Err(RejectReason::NoSetup), setup: None, confidence: None, size: None };
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
            StrategyId::Range => range_side(&self.cfg.range, inp, tick).map_err(|_| RejectReason::NoSetup)?,
        };
        self.selector.admit(d, &inp.regime, inp.phase_mult)?;
        let setup = match sel.strategy {
            StrategyId::Trend => trend_setup(&self.cfg.trend, inp, d, tick),
            StrategyId::Range => range_setup(&self.cfg.range, inp, d, tick),
        }
        .map_err(|_| RejectReason::NoSetup)?;
        self.stats.record_setup(setup.strategy, setup.tier);
        out.setup = Some(setup);

        // Step 4: C(d).
        let c = inp.confluence_of(d);
        let sgn = dsign(d);

        // Step 6: quality gates.
        if !(c >= self.profile.min_confluence) {
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
            .any(|h| h.dir.is_some_and(|pd| pd != d) && h.score >= self.cfg.gates.veto_pattern);
        if opposing {
            return Err(RejectReason::OpposingPattern);
        }

        // Step 8 (computed here: the zone overrides read the elite conditions).
        let best = inp.patterns.iter().filter(|h| h.dir == Some(d) && h.score.is_finite()).fold(
            None::<(u8, f64)>,
            |acc, h| match acc {
                Some((_, sc)) if sc >= h.score => acc,
                _ => Some((h.id, h.score)),
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
        if conf.tier == Tier::Rejected || !(conf.conf2 >= self.profile.min_confidence) {
            return Err(RejectReason::LowConfidence);
        }

        // Step 10: risk-reward, stop range, grid and sides.
        if !(setup.rr(tick) >= self.profile.min_risk_reward) {
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
