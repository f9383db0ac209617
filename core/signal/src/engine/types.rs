//! The enums and small records of the signal engine (SIGNALS.md §10–11), and the tick-grid
//! helpers of §0.

use mia_model::order::Direction;
use mia_model::price::Px;

/// `+1.0` for a long, `−1.0` for a short (`d` in the formulas), `0.0` for flat.
#[inline]
pub fn dsign(d: Direction) -> f64 {
    d.sign() as f64
}

/// `x ≥ min`, false when either is NaN (a gate written this way fails closed).
#[inline]
pub fn at_least(x: f64, min: f64) -> bool {
    x >= min
}

/// Index of a direction in two-slot arrays: 0 long, 1 short (flat counts as long).
#[inline]
pub fn dir_index(d: Direction) -> usize {
    usize::from(d == Direction::Short)
}

/// Rounds `px` down to the tick grid (`tick > 0`).
#[inline]
pub fn floor_tick(px: Px, tick: Px) -> Px {
    px.div_euclid(tick) * tick
}

/// Rounds `px` up to the tick grid (`tick > 0`).
#[inline]
pub fn ceil_tick(px: Px, tick: Px) -> Px {
    -((-px).div_euclid(tick) * tick)
}

/// Rounds a price *below* the entry for a long and *above* it for a short to the grid the way
/// §0 asks for every price a setup places on the far side of the market: a long's stop and a
/// long's limit entry round down; a short's round up. A long's target (above the entry) rounds
/// toward the entry, which is also down, and a short's target up: so all prices of a long
/// setup round down and all prices of a short setup round up.
#[inline]
pub fn round_for(d: Direction, px: Px, tick: Px) -> Px {
    match d {
        Direction::Short => ceil_tick(px, tick),
        _ => floor_tick(px, tick),
    }
}

/// The two strategies of §10.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StrategyId {
    /// The trend strategy (`[signal.trend]`).
    Trend = 1,
    /// The range strategy (`[signal.range]`).
    Range = 2,
}

impl StrategyId {
    /// Index 0 (trend) or 1 (range).
    #[inline]
    pub const fn index(self) -> usize {
        self as usize - 1
    }
}

/// Number of [`SetupTier`] values.
pub const SETUP_TIER_COUNT: usize = 8;

/// The tier of a strategy setup (§10; the NO_TRADE / NONE rows are "no setup").
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SetupTier {
    /// Trend: pullback with premium confluence, quality, levels and strength.
    PremiumPullback = 0,
    /// Trend: pullback with strong confluence.
    StrongPullback = 1,
    /// Trend: no pullback, breakout volume and a strong Sierra input.
    PremiumBreakout = 2,
    /// Trend: strong confluence and trend strength.
    StrongTrend = 3,
    /// Trend: the minimum confluence only.
    WeakSignal = 4,
    /// Range: premium bounce.
    PremiumBounce = 5,
    /// Range: strong bounce.
    StrongBounce = 6,
    /// Range: the minimum confluence only.
    WeakBounce = 7,
}

impl SetupTier {
    /// Index 0…7 (the `u8` code).
    #[inline]
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The minimum `C(d)` of the tier (fixed constants of the §10 tier tables).
    pub const fn min_confluence(self) -> f64 {
        match self {
            SetupTier::PremiumPullback | SetupTier::PremiumBounce => 0.85,
            SetupTier::PremiumBreakout => 0.80,
            SetupTier::StrongPullback | SetupTier::StrongTrend | SetupTier::StrongBounce => 0.70,
            SetupTier::WeakSignal | SetupTier::WeakBounce => 0.60,
        }
    }

    /// A pullback tier (limit entry at the retracement).
    #[inline]
    pub const fn is_pullback(self) -> bool {
        matches!(self, SetupTier::PremiumPullback | SetupTier::StrongPullback)
    }
}

/// How a setup enters.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EntryType {
    /// A limit order resting for `ttl_bars` decision bars.
    Limit = 1,
    /// A limit at the current price, meant to fill at once.
    MarketableLimit = 2,
}

/// A strategy's proposed trade (§10). Prices are on the tick grid.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Setup {
    /// The strategy that built it.
    pub strategy: StrategyId,
    /// Its tier.
    pub tier: SetupTier,
    /// Trade direction.
    pub dir: Direction,
    /// Entry price.
    pub entry: Px,
    /// Entry order type.
    pub entry_type: EntryType,
    /// Decision bars a `Limit` entry rests (0 for a marketable limit).
    pub ttl_bars: u32,
    /// Protective stop (on the losing side).
    pub stop: Px,
    /// Profit target (on the winning side).
    pub target: Px,
    /// The tier's strategy confidence (input x1 of §11).
    pub strategy_conf: f64,
    /// The tier's size multiplier: recorded, never multiplied into the size (departure 19).
    pub size_mult: f64,
    /// `C(d)` the tiers were chosen with.
    pub confluence: f64,
}

impl Setup {
    /// Risk in ticks: `ticks(|entry − stop|)`.
    #[inline]
    pub fn risk_ticks(&self, tick: Px) -> f64 {
        (self.entry - self.stop).unsigned_abs() as f64 / tick as f64
    }

    /// Reward-to-risk: `ticks(|target − entry|)/risk`, 0 when the risk is 0.
    #[inline]
    pub fn rr(&self, tick: Px) -> f64 {
        let risk = self.risk_ticks(tick);
        if risk == 0.0 {
            0.0
        } else {
            (self.target - self.entry).unsigned_abs() as f64 / tick as f64 / risk
        }
    }
}

/// Highest pattern id.
pub const PATTERN_MAX_ID: u8 = 6;

/// The ML filter's answer at a decision point (§11; departure 18).
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub enum MlInput {
    /// No model loaded: no ML gate, x7 = 0.5.
    #[default]
    Absent,
    /// The ensemble probability `ml_conf`.
    Conf(f64),
    /// The model failed: the signal is rejected (fail closed).
    Error,
}

impl MlInput {
    /// `ml_conf` when a model answered with a finite value.
    #[inline]
    pub fn conf(self) -> Option<f64> {
        match self {
            MlInput::Conf(c) if c.is_finite() => Some(c),
            _ => None,
        }
    }
}

/// Number of [`Tier`] values.
pub const TIER_COUNT: usize = 10;

/// The signal tier of §11, in the order the rules are checked.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Tier {
    /// ML, MTF, smart money and a PEAK or MODERATE gamma phase agree.
    UltimateElite = 0,
    /// ML, MTF and smart money agree.
    MlValidated = 1,
    /// GAMMA_PEAK with conf ≥ 0.70.
    GammaOptimized = 2,
    /// Institutional smart money with conf ≥ 0.70.
    Institutional = 3,
    /// MTF elite with conf ≥ 0.80.
    Elite = 4,
    /// conf ≥ `premium`.
    Premium = 5,
    /// conf ≥ `strong`.
    Strong = 6,
    /// conf ≥ `moderate`.
    Moderate = 7,
    /// conf ≥ `weak`.
    Weak = 8,
    /// conf < `weak`.
    Rejected = 9,
}

/// All tiers, in code order.
pub const TIERS: [Tier; TIER_COUNT] = [
    Tier::UltimateElite,
    Tier::MlValidated,
    Tier::GammaOptimized,
    Tier::Institutional,
    Tier::Elite,
    Tier::Premium,
    Tier::Strong,
    Tier::Moderate,
    Tier::Weak,
    Tier::Rejected,
];

impl Tier {
    /// Index 0…9 (the `u8` code).
    #[inline]
    pub const fn index(self) -> usize {
        self as usize
    }

    /// Upper-case name as in the spec.
    pub const fn name(self) -> &'static str {
        match self {
            Tier::UltimateElite => "ULTIMATE_ELITE",
            Tier::MlValidated => "ML_VALIDATED",
            Tier::GammaOptimized => "GAMMA_OPTIMIZED",
            Tier::Institutional => "INSTITUTIONAL",
            Tier::Elite => "ELITE",
            Tier::Premium => "PREMIUM",
            Tier::Strong => "STRONG",
            Tier::Moderate => "MODERATE",
            Tier::Weak => "WEAK",
            Tier::Rejected => "REJECTED",
        }
    }
}

/// Number of [`Source`] values.
pub const SOURCE_COUNT: usize = 9;

/// Who a signal is credited to (`SignalSource` of §11).
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    /// Battle Navale (`d·S > 0.4` on a plain tier; also the special exits).
    BattleNavale = 0,
    /// The trend strategy.
    TrendStrategy = 1,
    /// The range strategy.
    RangeStrategy = 2,
    /// An ML prediction (reserved: no rule of §11 produces it).
    MlPrediction = 3,
    /// A manual override (reserved).
    ManualOverride = 4,
    /// The ELITE tier.
    MtfEliteConfluence = 5,
    /// The INSTITUTIONAL tier.
    SmartMoneyInstitutional = 6,
    /// The ULTIMATE_ELITE and ML_VALIDATED tiers.
    MlEnsembleValidated = 7,
    /// The GAMMA_OPTIMIZED tier.
    GammaCycleOptimized = 8,
}

impl Source {
    /// Index 0…8 (the `u8` code).
    #[inline]
    pub const fn index(self) -> usize {
        self as usize
    }

    /// Upper-case name as in the spec.
    pub const fn name(self) -> &'static str {
        match self {
            Source::BattleNavale => "BATTLE_NAVALE",
            Source::TrendStrategy => "TREND_STRATEGY",
            Source::RangeStrategy => "RANGE_STRATEGY",
            Source::MlPrediction => "ML_PREDICTION",
            Source::ManualOverride => "MANUAL_OVERRIDE",
            Source::MtfEliteConfluence => "MTF_ELITE_CONFLUENCE",
            Source::SmartMoneyInstitutional => "SMART_MONEY_INSTITUTIONAL",
            Source::MlEnsembleValidated => "ML_ENSEMBLE_VALIDATED",
            Source::GammaCycleOptimized => "GAMMA_CYCLE_OPTIMIZED",
        }
    }
}

/// All sources, in code order.
pub const SOURCES: [Source; SOURCE_COUNT] = [
    Source::BattleNavale,
    Source::TrendStrategy,
    Source::RangeStrategy,
    Source::MlPrediction,
    Source::ManualOverride,
    Source::MtfEliteConfluence,
    Source::SmartMoneyInstitutional,
    Source::MlEnsembleValidated,
    Source::GammaCycleOptimized,
];

/// Number of [`RejectReason`] values.
pub const REJECT_COUNT: usize = 14;

/// Why a decision emitted no entry (§11 step 12: the first failing check names it).
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RejectReason {
    /// No setup, or the strategy's own validation failed.
    NoSetup = 0,
    /// TRANSITION or UNCLEAR, regime confidence below `min_regime_conf`, or the cooldown.
    RegimeWait = 1,
    /// The setup's direction is not allowed by the regime.
    DirectionNotAllowed = 2,
    /// The session-phase multiplier is below `min_phase_mult`.
    PhaseDisabled = 3,
    /// `C(d) < profile.min_confluence`.
    LowConfluence = 4,
    /// The Battle Navale score does not pass in the trade's direction.
    BnWeak = 5,
    /// The ML model did not approve.
    MlRejected = 6,
    /// The ML model failed (fail closed).
    MlError = 7,
    /// A detected pattern opposes the trade with score ≥ `veto_pattern`.
    OpposingPattern = 8,
    /// The entry is too far from the nearest zone on its side, and no override applies.
    ZoneFar = 9,
    /// Tier REJECTED, or `conf₂ < profile.min_confidence`.
    LowConfidence = 10,
    /// `rr < profile.min_risk_reward`.
    RiskReward = 11,
    /// Risk out of `[min_stop_ticks, max_stop_ticks]`, a price off the grid or on the wrong side.
    StopRange = 12,
    /// Reserved: no step produces it.
    StaleOptions = 13,
}

/// All reject reasons, in code order.
pub const REJECT_REASONS: [RejectReason; REJECT_COUNT] = [
    RejectReason::NoSetup,
    RejectReason::RegimeWait,
    RejectReason::DirectionNotAllowed,
    RejectReason::PhaseDisabled,
    RejectReason::LowConfluence,
    RejectReason::BnWeak,
    RejectReason::MlRejected,
    RejectReason::MlError,
    RejectReason::OpposingPattern,
    RejectReason::ZoneFar,
    RejectReason::LowConfidence,
    RejectReason::RiskReward,
    RejectReason::StopRange,
    RejectReason::StaleOptions,
];

impl RejectReason {
    /// Index 0…13 (the `u8` code).
    #[inline]
    pub const fn index(self) -> usize {
        self as usize
    }

    /// Name as in the spec.
    pub const fn name(self) -> &'static str {
        match self {
            RejectReason::NoSetup => "NoSetup",
            RejectReason::RegimeWait => "RegimeWait",
            RejectReason::DirectionNotAllowed => "DirectionNotAllowed",
            RejectReason::PhaseDisabled => "PhaseDisabled",
            RejectReason::LowConfluence => "LowConfluence",
            RejectReason::BnWeak => "BnWeak",
            RejectReason::MlRejected => "MlRejected",
            RejectReason::MlError => "MlError",
            RejectReason::OpposingPattern => "OpposingPattern",
            RejectReason::ZoneFar => "ZoneFar",
            RejectReason::LowConfidence => "LowConfidence",
            RejectReason::RiskReward => "RiskReward",
            RejectReason::StopRange => "StopRange",
            RejectReason::StaleOptions => "StaleOptions",
        }
    }
}

/// Entry or exit.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SignalKind {
    /// Open a position.
    Entry = 0,
    /// Close a matching open position (the OMS ignores it otherwise).
    Exit = 1,
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Px = 250_000_000;

    #[test]
    fn tick_rounding() {
        assert_eq!(floor_tick(5000 * 1_000_000_000 + 100_000_000, T), 5000 * 1_000_000_000);
        assert_eq!(ceil_tick(5000 * 1_000_000_000 + 100_000_000, T), 5000 * 1_000_000_000 + T);
        assert_eq!(ceil_tick(5000 * 1_000_000_000, T), 5000 * 1_000_000_000);
        assert_eq!(floor_tick(-100_000_000, T), -T);
        assert_eq!(ceil_tick(-100_000_000, T), 0);
        assert_eq!(round_for(Direction::Long, 3 * T + 1, T), 3 * T);
        assert_eq!(round_for(Direction::Short, 3 * T + 1, T), 4 * T);
    }

    #[test]
    fn rr_and_risk() {
        let s = Setup {
            strategy: StrategyId::Trend,
            tier: SetupTier::StrongTrend,
            dir: Direction::Long,
            entry: 100 * T,
            entry_type: EntryType::MarketableLimit,
            ttl_bars: 0,
            stop: 96 * T,
            target: 110 * T,
            strategy_conf: 0.7,
            size_mult: 1.0,
            confluence: 0.7,
        };
        assert_eq!(s.risk_ticks(T), 4.0);
        assert_eq!(s.rr(T), 2.5);
        let z = Setup { stop: s.entry, ..s };
        assert_eq!(z.rr(T), 0.0);
    }

    #[test]
    fn codes_are_dense() {
        for (i, t) in TIERS.iter().enumerate() {
            assert_eq!(t.index(), i);
        }
        for (i, s) in SOURCES.iter().enumerate() {
            assert_eq!(s.index(), i);
        }
        for (i, r) in REJECT_REASONS.iter().enumerate() {
            assert_eq!(r.index(), i);
        }
    }
}
