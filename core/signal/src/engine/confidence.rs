//! The confidence formula, the elite bonuses, the tiers (SIGNALS.md §11) and the configs of
//! `[signal.confidence]`, `[signal.gates]` and `[signal.tiers]`.
//!
//! `conf₀ = Σ wᵢ·xᵢ / Σ wᵢ`; `conf₁ = min(1, conf₀·min(Π bonuses, max_bonus))`; the tier is
//! chosen on conf₁; `conf₂ = min(1, ultimate·conf₁)` for ULTIMATE_ELITE, conf₁ otherwise.
//! Pure arithmetic on a handful of floats: O(1), allocation-free.

use super::types::{dsign, MlInput, Source, StrategyId, Tier};
use crate::gamma_cycle::GammaPhase;
use mia_model::order::Direction;

/// MTF elite: `d·M >` this (fixed, §11).
pub const MTF_ELITE: f64 = 0.75;
/// Institutional: `(1 + d·SM)/2 >` this (fixed, §11).
pub const INSTITUTIONAL: f64 = 0.7;
/// SM/BN alignment: `|SM| >` this (fixed).
pub const SM_BN_SM: f64 = 0.3;
/// SM/BN alignment: `d·S >` this (fixed).
pub const SM_BN_S: f64 = 0.25;
/// High ML confidence: `ml_conf >` this (fixed).
pub const ML_HIGH: f64 = 0.85;
/// A plain tier is credited to Battle Navale when `d·S >` this (fixed).
pub const BN_SOURCE: f64 = 0.4;

fn finite_pos(key: &str, x: f64) -> Result<(), String> {
    if x.is_finite() && x > 0.0 {
        Ok(())
    } else {
        Err(format!("{key}: must be finite and > 0, got {x}"))
    }
}

fn unit(key: &str, x: f64) -> Result<(), String> {
    if x.is_finite() && (0.0..=1.0).contains(&x) {
        Ok(())
    } else {
        Err(format!("{key}: must be in [0, 1], got {x}"))
    }
}

/// `[signal.confidence]`.
#[derive(Clone, Copy, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConfidenceConfig {
    /// Weights of x1…x8 (strategy, BN, composite, regime, MTF, smart money, ML, gamma),
    /// divided by their sum.
    pub weights: [f64; 8],
    /// MTF elite bonus.
    pub mtf_elite: f64,
    /// SM/BN alignment bonus.
    pub sm_bn: f64,
    /// Institutional bonus slope: `1 + inst_k·inst`.
    pub inst_k: f64,
    /// ML bonus when `ml_conf > 0.85`.
    pub ml_high: f64,
    /// ML bonus when approved otherwise.
    pub ml_ok: f64,
    /// conf₂ factor of ULTIMATE_ELITE.
    pub ultimate: f64,
    /// Cap of the bonus product.
    pub max_bonus: f64,
    /// x1 slope of the best agreeing detected pattern's score.
    pub pattern_k: f64,
}

impl Default for ConfidenceConfig {
    fn default() -> Self {
        Self {
            weights: [0.15, 0.20, 0.15, 0.10, 0.15, 0.10, 0.10, 0.05],
            mtf_elite: 1.15,
            sm_bn: 1.15,
            inst_k: 0.12,
            ml_high: 1.08,
            ml_ok: 1.05,
            ultimate: 1.10,
            max_bonus: 1.5,
            pattern_k: 0.10,
        }
    }
}

impl ConfidenceConfig {
    /// Checks the section.
    ///
    /// # Errors
    /// A `key: reason` message for the first bad key.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(i) = self.weights.iter().position(|w| !(w.is_finite() && *w >= 0.0)) {
            return Err(format!("weights: element {i} must be finite and ≥ 0"));
        }
        if self.weights.iter().sum::<f64>() <= 0.0 {
            return Err("weights: the sum must be > 0".into());
        }
        for (k, v) in [
            ("mtf_elite", self.mtf_elite),
            ("sm_bn", self.sm_bn),
            ("ml_high", self.ml_high),
            ("ml_ok", self.ml_ok),
            ("ultimate", self.ultimate),
            ("max_bonus", self.max_bonus),
        ] {
            finite_pos(k, v)?;
        }
        if !(self.inst_k.is_finite() && self.inst_k >= 0.0) {
            return Err(format!("inst_k: must be finite and ≥ 0, got {}", self.inst_k));
        }
        unit("pattern_k", self.pattern_k)
    }
}

/// `[signal.gates]` (not the foundation's top-level `[gates]`).
#[derive(Clone, Copy, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct GatesConfig {
    /// A detected pattern opposing the trade with a score ≥ this vetoes it.
    pub veto_pattern: f64,
    /// Zone gate radius around the nearest zone centre on the entry's side (points).
    pub zone_gate_points: f64,
    /// ML approval: `ml_conf >` this.
    pub ml_threshold: f64,
    /// Minimum risk (ticks).
    pub min_stop_ticks: u32,
    /// Maximum risk (ticks).
    pub max_stop_ticks: u32,
}

impl Default for GatesConfig {
    fn default() -> Self {
        Self {
            veto_pattern: 0.7,
            zone_gate_points: 3.0,
            ml_threshold: 0.70,
            min_stop_ticks: 2,
            max_stop_ticks: 20,
        }
    }
}

impl GatesConfig {
    /// Checks the section.
    ///
    /// # Errors
    /// A `key: reason` message for the first bad key.
    pub fn validate(&self) -> Result<(), String> {
        unit("veto_pattern", self.veto_pattern)?;
        if !(self.zone_gate_points.is_finite() && self.zone_gate_points >= 0.0) {
            return Err(format!("zone_gate_points: must be finite and ≥ 0, got {}", self.zone_gate_points));
        }
        unit("ml_threshold", self.ml_threshold)?;
        if self.max_stop_ticks < self.min_stop_ticks {
            return Err(format!(
                "max_stop_ticks: must be ≥ min_stop_ticks ({}), got {}",
                self.min_stop_ticks, self.max_stop_ticks
            ));
        }
        if self.max_stop_ticks > 1000 {
            return Err(format!("max_stop_ticks: must be ≤ 1000, got {}", self.max_stop_ticks));
        }
        Ok(())
    }
}

/// `[signal.tiers]`: the conf₁ floors of the plain tiers.
#[derive(Clone, Copy, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct TiersConfig {
    /// PREMIUM.
    pub premium: f64,
    /// STRONG.
    pub strong: f64,
    /// MODERATE.
    pub moderate: f64,
    /// WEAK (below: REJECTED).
    pub weak: f64,
}

impl Default for TiersConfig {
    fn default() -> Self {
        Self { premium: 0.85, strong: 0.75, moderate: 0.65, weak: 0.55 }
    }
}

impl TiersConfig {
    /// Checks the section: each floor in [0, 1], in decreasing order.
    ///
    /// # Errors
    /// A `key: reason` message for the first bad key.
    pub fn validate(&self) -> Result<(), String> {
        unit("premium", self.premium)?;
        unit("strong", self.strong)?;
        unit("moderate", self.moderate)?;
        unit("weak", self.weak)?;
        if self.strong > self.premium {
            return Err("strong: must be ≤ premium".into());
        }
        if self.moderate > self.strong {
            return Err("moderate: must be ≤ strong".into());
        }
        if self.weak > self.moderate {
            return Err("weak: must be ≤ moderate".into());
        }
        Ok(())
    }
}

/// The inputs of the confidence formula for one setup.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ConfidenceInputs {
    /// Trade direction d.
    pub d: Direction,
    /// The setup's strategy (for the source of the plain tiers).
    pub strategy: StrategyId,
    /// The tier's `strategy_conf`.
    pub strategy_conf: f64,
    /// The best agreeing detected pattern's score (0 = none).
    pub pattern_score: f64,
    /// BN signed score S.
    pub s: Option<f64>,
    /// `C(d)`.
    pub c: f64,
    /// Regime confidence.
    pub regime_conf: f64,
    /// MTF score M.
    pub m: Option<f64>,
    /// Smart-money score SM.
    pub sm: Option<f64>,
    /// ML answer.
    pub ml: MlInput,
    /// Gamma factor `f` (§8).
    pub gamma_factor: Option<f64>,
    /// Gamma phase (§8).
    pub phase: GammaPhase,
}

/// The elite conditions of §11 (shared with the size hint of §13).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Elite {
    /// `d·M` (0 when M is invalid).
    pub dm: f64,
    /// `inst = (1 + d·SM)/2` (0.5 when SM is invalid).
    pub inst: f64,
    /// `d·M > 0.75`.
    pub mtf_elite: bool,
    /// `inst > 0.7`.
    pub institutional: bool,
    /// `sgn(SM) = d ∧ |SM| > 0.3 ∧ d·S > 0.25`.
    pub sm_bn: bool,
    /// `ml_conf` when a model answered.
    pub ml_conf: Option<f64>,
    /// `ml_conf > ml_threshold`.
    pub ml_approved: bool,
    /// `ml_conf > 0.85`.
    pub ml_high: bool,
}

impl Elite {
    /// The elite conditions of `ci`, with `ml_threshold` from `[signal.gates]`.
    pub fn of(ci: &ConfidenceInputs, ml_threshold: f64) -> Self {
        let d = dsign(ci.d);
        let dm = ci.m.map_or(0.0, |m| d * m);
        let inst = ci.sm.map_or(0.5, |sm| (1.0 + d * sm) / 2.0);
        let ds = ci.s.map_or(0.0, |s| d * s);
        let sm_bn = ci.sm.is_some_and(|sm| sm * d > 0.0 && sm.abs() > SM_BN_SM) && ds > SM_BN_S;
        let ml_conf = ci.ml.conf();
        Self {
            dm,
            inst,
            mtf_elite: dm > MTF_ELITE,
            institutional: inst > INSTITUTIONAL,
            sm_bn,
            ml_conf,
            ml_approved: ml_conf.is_some_and(|c| c > ml_threshold),
            ml_high: ml_conf.is_some_and(|c| c > ML_HIGH),
        }
    }
}

/// The mapped inputs x1…x8 of §11.
pub fn mapped_inputs(cfg: &ConfidenceConfig, ci: &ConfidenceInputs) -> [f64; 8] {
    let d = dsign(ci.d);
    let agree = |v: Option<f64>| v.map_or(0.5, |v| ((1.0 + d * v) / 2.0).clamp(0.0, 1.0));
    [
        (ci.strategy_conf + cfg.pattern_k * ci.pattern_score).min(1.0),
        agree(ci.s),
        ci.c.clamp(0.0, 1.0),
        ci.regime_conf.clamp(0.0, 1.0),
        agree(ci.m),
        agree(ci.sm),
        ci.ml.conf().map_or(0.5, |c| c.clamp(0.0, 1.0)),
        ci.gamma_factor.filter(|f| f.is_finite()).map_or(0.5, |f| (f / 1.5).clamp(0.0, 1.0)),
    ]
}

/// `conf₀ = Σ wᵢ·xᵢ / Σ wᵢ`.
pub fn conf0(cfg: &ConfidenceConfig, x: &[f64; 8]) -> f64 {
    let sw: f64 = cfg.weights.iter().sum();
    let s: f64 = cfg.weights.iter().zip(x).map(|(w, x)| w * x).sum();
    if sw > 0.0 {
        s / sw
    } else {
        0.0
    }
}

/// The product of the applicable bonuses, capped at `max_bonus`.
pub fn bonus(cfg: &ConfidenceConfig, e: &Elite) -> f64 {
    let mut p = 1.0;
    if e.mtf_elite {
        p *= cfg.mtf_elite;
    }
    if e.institutional {
        p *= 1.0 + cfg.inst_k * e.inst;
    }
    if e.sm_bn {
        p *= cfg.sm_bn;
    }
    if e.ml_high {
        p *= cfg.ml_high;
    } else if e.ml_approved {
        p *= cfg.ml_ok;
    }
    p.min(cfg.max_bonus)
}

/// The tier and source of conf₁ (§11 table, checked in order); `ds` = `d·S` (0 when invalid).
pub fn classify_tier(
    tiers: &TiersConfig,
    conf: f64,
    e: &Elite,
    phase: GammaPhase,
    ds: f64,
    strategy: StrategyId,
) -> (Tier, Source) {
    let ml_ok = e.ml_approved && e.ml_high && e.mtf_elite && e.institutional;
    let peak = phase == GammaPhase::GammaPeak;
    if ml_ok && conf >= 0.80 && (peak || phase == GammaPhase::GammaModerate) {
        return (Tier::UltimateElite, Source::MlEnsembleValidated);
    }
    if ml_ok && conf >= 0.75 {
        return (Tier::MlValidated, Source::MlEnsembleValidated);
    }
    if peak && conf >= 0.70 {
        return (Tier::GammaOptimized, Source::GammaCycleOptimized);
    }
    if e.institutional && conf >= 0.70 {
        return (Tier::Institutional, Source::SmartMoneyInstitutional);
    }
    if e.mtf_elite && conf >= 0.80 {
        return (Tier::Elite, Source::MtfEliteConfluence);
    }
    let plain = if ds > BN_SOURCE {
        Source::BattleNavale
    } else if strategy == StrategyId::Range {
        Source::RangeStrategy
    } else {
        Source::TrendStrategy
    };
    if conf >= tiers.premium {
        (Tier::Premium, plain)
    } else if conf >= tiers.strong {
        (Tier::Strong, plain)
    } else if conf >= tiers.moderate {
        (Tier::Moderate, plain)
    } else if conf >= tiers.weak {
        (Tier::Weak, plain)
    } else {
        (Tier::Rejected, plain)
    }
}

/// The full confidence computation of one setup.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Confidence {
    /// x1…x8.
    pub x: [f64; 8],
    /// conf₀.
    pub conf0: f64,
    /// The capped bonus product.
    pub bonus: f64,
    /// conf₁.
    pub conf1: f64,
    /// The tier (on conf₁).
    pub tier: Tier,
    /// Its source.
    pub source: Source,
    /// conf₂, the emitted confidence.
    pub conf2: f64,
    /// The elite conditions.
    pub elite: Elite,
}

/// conf₀ → bonuses → conf₁ → tier → conf₂ (§11 step 8). A non-finite result gives 0.
pub fn evaluate(
    cfg: &ConfidenceConfig,
    tiers: &TiersConfig,
    ml_threshold: f64,
    ci: &ConfidenceInputs,
) -> Confidence {
    let x = mapped_inputs(cfg, ci);
    let elite = Elite::of(ci, ml_threshold);
    let c0 = conf0(cfg, &x);
    let c0 = if c0.is_finite() { c0 } else { 0.0 };
    let b = bonus(cfg, &elite);
    let c1 = (c0 * b).min(1.0);
    let ds = ci.s.map_or(0.0, |s| dsign(ci.d) * s);
    let (tier, source) = classify_tier(tiers, c1, &elite, ci.phase, ds, ci.strategy);
    let c2 = if tier == Tier::UltimateElite { (cfg.ultimate * c1).min(1.0) } else { c1 };
    Confidence { x, conf0: c0, bonus: b, conf1: c1, tier, source, conf2: c2, elite }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-5
    }

    /// T17's inputs: a long in STRONG_TREND, x1 = 0.75, S = 0.40, C = 0.72, regime conf 0.95,
    /// M = 0.60, SM = 0.35, no ML, GAMMA_PEAK (f = 1.3).
    pub(crate) fn t17() -> ConfidenceInputs {
        ConfidenceInputs {
            d: Direction::Long,
            strategy: StrategyId::Trend,
            strategy_conf: 0.75,
            pattern_score: 0.0,
            s: Some(0.40),
            c: 0.72,
            regime_conf: 0.85 + 0.15 * 2.0 / 3.0,
            m: Some(0.60),
            sm: Some(0.35),
            ml: MlInput::Absent,
            gamma_factor: Some(1.3),
            phase: GammaPhase::GammaPeak,
        }
    }

    #[test]
    fn t17_confidence_bonuses_tier() {
        let cfg = ConfidenceConfig::default();
        let ci = t17();
        let x = mapped_inputs(&cfg, &ci);
        let want = [0.75, 0.70, 0.72, 0.95, 0.80, 0.675, 0.5, 0.866667];
        for (a, b) in x.iter().zip(want) {
            assert!(close(*a, b), "{x:?}");
        }
        let c = evaluate(&cfg, &TiersConfig::default(), 0.70, &ci);
        assert!(close(c.conf0, 0.736333), "{}", c.conf0);
        assert!(c.elite.sm_bn && !c.elite.mtf_elite && !c.elite.institutional);
        assert!(close(c.bonus, 1.15));
        assert!(close(c.conf1, 0.846783), "{}", c.conf1);
        assert_eq!((c.tier, c.source), (Tier::GammaOptimized, Source::GammaCycleOptimized));
        assert_eq!(c.conf2, c.conf1);
    }

    fn elite(ml: Option<f64>, dm: f64, inst: f64) -> Elite {
        Elite {
            dm,
            inst,
            mtf_elite: dm > MTF_ELITE,
            institutional: inst > INSTITUTIONAL,
            sm_bn: false,
            ml_conf: ml,
            ml_approved: ml.is_some_and(|c| c > 0.70),
            ml_high: ml.is_some_and(|c| c > ML_HIGH),
        }
    }

    #[test]
    fn t18_tiers() {
        let t = TiersConfig::default();
        let tr = StrategyId::Trend;
        let e = elite(Some(0.90), 0.80, 0.75);
        assert_eq!(classify_tier(&t, 0.82, &e, GammaPhase::GammaPeak, 0.0, tr).0, Tier::UltimateElite);
        let cfg = ConfidenceConfig::default();
        assert!(close((cfg.ultimate * 0.82f64).min(1.0), 0.902));
        assert_eq!(classify_tier(&t, 0.82, &e, GammaPhase::Normal, 0.0, tr).0, Tier::MlValidated);
        let e = elite(None, 0.0, 0.75);
        assert_eq!(
            classify_tier(&t, 0.72, &e, GammaPhase::Normal, 0.0, tr),
            (Tier::Institutional, Source::SmartMoneyInstitutional)
        );
        let e = elite(None, 0.80, 0.60);
        assert_eq!(
            classify_tier(&t, 0.81, &e, GammaPhase::Normal, 0.0, tr),
            (Tier::Elite, Source::MtfEliteConfluence)
        );
        let e = elite(None, 0.0, 0.5);
        assert_eq!(classify_tier(&t, 0.68, &e, GammaPhase::Normal, 0.0, tr).0, Tier::Moderate);
        assert_eq!(classify_tier(&t, 0.54, &e, GammaPhase::Normal, 0.0, tr).0, Tier::Rejected);
    }

    #[test]
    fn t18_ultimate_conf2_through_evaluate() {
        // ML 0.90, d·M = 0.80, inst = 0.75 (SM = 0.5), PEAK; inputs chosen so conf₁ ≥ 0.80.
        let ci = ConfidenceInputs {
            ml: MlInput::Conf(0.90),
            m: Some(0.80),
            sm: Some(0.5),
            s: Some(0.6),
            c: 0.9,
            strategy_conf: 0.9,
            ..t17()
        };
        let c = evaluate(&ConfidenceConfig::default(), &TiersConfig::default(), 0.70, &ci);
        assert_eq!(c.tier, Tier::UltimateElite);
        assert!(close(c.conf2, (1.10 * c.conf1).min(1.0)));
        // All four bonuses: 1.15·(1 + 0.12·0.75)·1.15·1.08 = 1.5570… capped at 1.5.
        assert!(close(c.bonus, 1.5));
    }

    #[test]
    fn plain_tier_sources() {
        let t = TiersConfig::default();
        let e = elite(None, 0.0, 0.5);
        assert_eq!(
            classify_tier(&t, 0.86, &e, GammaPhase::Normal, 0.41, StrategyId::Range).1,
            Source::BattleNavale
        );
        assert_eq!(
            classify_tier(&t, 0.86, &e, GammaPhase::Normal, 0.40, StrategyId::Range).1,
            Source::RangeStrategy
        );
        assert_eq!(
            classify_tier(&t, 0.76, &e, GammaPhase::Normal, 0.0, StrategyId::Trend),
            (Tier::Strong, Source::TrendStrategy)
        );
        assert_eq!(classify_tier(&t, 0.86, &e, GammaPhase::Normal, 0.0, StrategyId::Trend).0, Tier::Premium);
        assert_eq!(classify_tier(&t, 0.56, &e, GammaPhase::Normal, 0.0, StrategyId::Trend).0, Tier::Weak);
    }

    #[test]
    fn ml_bonus_never_both_and_short_direction() {
        let cfg = ConfidenceConfig::default();
        let hi = Elite::of(&ConfidenceInputs { ml: MlInput::Conf(0.9), ..t17() }, 0.7);
        let ok = Elite::of(&ConfidenceInputs { ml: MlInput::Conf(0.8), ..t17() }, 0.7);
        // Both also carry the SM/BN bonus (1.15).
        assert!(close(bonus(&cfg, &hi), 1.15 * 1.08));
        assert!(close(bonus(&cfg, &ok), 1.15 * 1.05));
        // The same inputs read as a short: everything directional flips.
        let short = ConfidenceInputs { d: Direction::Short, ..t17() };
        let x = mapped_inputs(&cfg, &short);
        assert!(close(x[1], 0.30) && close(x[4], 0.20) && close(x[5], 0.325));
        assert!(!Elite::of(&short, 0.7).sm_bn);
    }

    #[test]
    fn configs_validate() {
        assert!(ConfidenceConfig::default().validate().is_ok());
        assert!(GatesConfig::default().validate().is_ok());
        assert!(TiersConfig::default().validate().is_ok());
        let e = ConfidenceConfig { weights: [0.0; 8], ..Default::default() }.validate().unwrap_err();
        assert!(e.starts_with("weights:"), "{e}");
        let e = GatesConfig { min_stop_ticks: 5, max_stop_ticks: 4, ..Default::default() }
            .validate()
            .unwrap_err();
        assert!(e.starts_with("max_stop_ticks:"), "{e}");
        let e = TiersConfig { weak: 0.7, ..Default::default() }.validate().unwrap_err();
        assert!(e.starts_with("weak:"), "{e}");
        let e = GatesConfig { veto_pattern: f64::NAN, ..Default::default() }.validate().unwrap_err();
        assert!(e.starts_with("veto_pattern:"), "{e}");
    }
}
