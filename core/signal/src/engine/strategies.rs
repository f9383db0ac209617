//! The trend and range strategies, the selector and the special exits (SIGNALS.md §10).
//!
//! Setups are built on decision-bar closes with P = `close_t`. All work is O(window) over the
//! bar ring and allocation-free. Every price of a long setup rounds down to the grid and every
//! price of a short setup rounds up (§0: stops away from the entry, targets toward it, limit
//! entries away from the market).

use super::inputs::{mean_volume_before, EngineInputs, RegimeView};
use super::patterns::PatternId;
use super::types::{at_least, dsign, round_for, EntryType, RejectReason, Setup, SetupTier, StrategyId};
use mia_model::order::Direction;
use mia_model::price::Px;

/// Longest bar lookback a strategy may configure (`ks_bars`, `h_bars`); the bar ring holds
/// more (`[bars] ring_len`, checked by its loader).
pub const STRATEGY_LOOKBACK_CAP: usize = 64;

/// Decision points the regime history keeps for the selector's cooldown.
pub const REGIME_HIST_CAP: usize = 32;

fn unit(key: &str, x: f64) -> Result<(), String> {
    if x.is_finite() && (0.0..=1.0).contains(&x) {
        Ok(())
    } else {
        Err(format!("{key}: must be in [0, 1], got {x}"))
    }
}

fn positive(key: &str, x: f64) -> Result<(), String> {
    if x.is_finite() && x > 0.0 {
        Ok(())
    } else {
        Err(format!("{key}: must be finite and > 0, got {x}"))
    }
}

fn lookback(key: &str, n: usize) -> Result<(), String> {
    if (1..=STRATEGY_LOOKBACK_CAP).contains(&n) {
        Ok(())
    } else {
        Err(format!("{key}: must be in 1..={STRATEGY_LOOKBACK_CAP}, got {n}"))
    }
}

/// Per-tier values of the trend strategy (`tier_conf.<tier>`, `tier_size.<tier>`).
#[derive(Clone, Copy, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct TrendTierValues {
    /// PREMIUM_PULLBACK.
    pub premium_pullback: f64,
    /// STRONG_PULLBACK.
    pub strong_pullback: f64,
    /// PREMIUM_BREAKOUT.
    pub premium_breakout: f64,
    /// STRONG_TREND.
    pub strong_trend: f64,
    /// WEAK_SIGNAL.
    pub weak_signal: f64,
}

impl TrendTierValues {
    /// The value of a trend tier (`None` for a range tier).
    pub fn get(&self, t: SetupTier) -> Option<f64> {
        match t {
            SetupTier::PremiumPullback => Some(self.premium_pullback),
            SetupTier::StrongPullback => Some(self.strong_pullback),
            SetupTier::PremiumBreakout => Some(self.premium_breakout),
            SetupTier::StrongTrend => Some(self.strong_trend),
            SetupTier::WeakSignal => Some(self.weak_signal),
            _ => None,
        }
    }

    fn check(&self, table: &str, max: f64) -> Result<(), String> {
        for (k, v) in [
            ("premium_pullback", self.premium_pullback),
            ("strong_pullback", self.strong_pullback),
            ("premium_breakout", self.premium_breakout),
            ("strong_trend", self.strong_trend),
            ("weak_signal", self.weak_signal),
        ] {
            if !(v.is_finite() && v > 0.0 && v <= max) {
                return Err(format!("{table}.{k}: must be in (0, {max}], got {v}"));
            }
        }
        Ok(())
    }
}

/// `[signal.trend]`.
#[derive(Clone, Copy, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrendConfig {
    /// Bars (bar t included) whose extreme is `KS`, the swing origin.
    pub ks_bars: usize,
    /// Bars (bar t included) whose extreme is `H`, the swing end.
    pub h_bars: usize,
    /// Minimum swing `H − KS` of a pullback, in ticks.
    pub min_swing_ticks: u32,
    /// Target at `target_rr` × risk.
    pub target_rr: f64,
    /// Minimum reward-to-risk of a setup.
    pub min_rr: f64,
    /// A risk above this (ticks) rejects the setup (departure 21).
    pub max_risk_ticks: u32,
    /// STRONG_TREND needs a trend strength ≥ this.
    pub min_trend_strength: f64,
    /// Decision bars a pullback limit entry rests.
    pub ttl_bars: u32,
    /// Stop distance (ticks) when `KS ∓ 2T` is not beyond the entry.
    pub fallback_stop_ticks: u32,
    /// `strategy_conf` per tier.
    pub tier_conf: TrendTierValues,
    /// `size_mult` per tier (recorded only).
    pub tier_size: TrendTierValues,
}

impl Default for TrendConfig {
    fn default() -> Self {
        Self {
            ks_bars: 10,
            h_bars: 5,
            min_swing_ticks: 8,
            target_rr: 2.0,
            min_rr: 1.2,
            max_risk_ticks: 15,
            min_trend_strength: 0.6,
            ttl_bars: 1,
            fallback_stop_ticks: 10,
            tier_conf: TrendTierValues {
                premium_pullback: 0.90,
                strong_pullback: 0.75,
                premium_breakout: 0.85,
                strong_trend: 0.70,
                weak_signal: 0.55,
            },
            tier_size: TrendTierValues {
                premium_pullback: 1.8,
                strong_pullback: 1.5,
                premium_breakout: 1.3,
                strong_trend: 1.0,
                weak_signal: 0.5,
            },
        }
    }
}

impl TrendConfig {
    /// Checks the section against the caps and ranges.
    ///
    /// # Errors
    /// A `key: reason` message for the first bad key.
    pub fn validate(&self) -> Result<(), String> {
        lookback("ks_bars", self.ks_bars)?;
        lookback("h_bars", self.h_bars)?;
        if self.min_swing_ticks == 0 {
            return Err("min_swing_ticks: must be > 0".into());
        }
        positive("target_rr", self.target_rr)?;
        positive("min_rr", self.min_rr)?;
        if self.max_risk_ticks == 0 {
            return Err("max_risk_ticks: must be > 0".into());
        }
        unit("min_trend_strength", self.min_trend_strength)?;
        if self.fallback_stop_ticks == 0 {
            return Err("fallback_stop_ticks: must be > 0".into());
        }
        self.tier_conf.check("tier_conf", 1.0)?;
        self.tier_size.check("tier_size", 10.0)
    }
}

/// Per-tier values of the range strategy (`tier_conf.<tier>`, `tier_size.<tier>`).
#[derive(Clone, Copy, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct RangeTierValues {
    /// PREMIUM_BOUNCE.
    pub premium_bounce: f64,
    /// STRONG_BOUNCE.
    pub strong_bounce: f64,
    /// WEAK_BOUNCE.
    pub weak_bounce: f64,
}

impl RangeTierValues {
    /// The value of a range tier (`None` for a trend tier).
    pub fn get(&self, t: SetupTier) -> Option<f64> {
        match t {
            SetupTier::PremiumBounce => Some(self.premium_bounce),
            SetupTier::StrongBounce => Some(self.strong_bounce),
            SetupTier::WeakBounce => Some(self.weak_bounce),
            _ => None,
        }
    }

    fn check(&self, table: &str, max: f64) -> Result<(), String> {
        for (k, v) in [
            ("premium_bounce", self.premium_bounce),
            ("strong_bounce", self.strong_bounce),
            ("weak_bounce", self.weak_bounce),
        ] {
            if !(v.is_finite() && v > 0.0 && v <= max) {
                return Err(format!("{table}.{k}: must be in (0, {max}], got {v}"));
            }
        }
        Ok(())
    }
}

/// `[signal.range]`.
#[derive(Clone, Copy, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RangeConfig {
    /// A bounce needs P within this many ticks of the level.
    pub proximity_ticks: u32,
    /// Radius (ticks) of the level-confluence terms around P.
    pub level_tol_ticks: u32,
    /// Minimum reward-to-risk of a setup.
    pub min_rr: f64,
    /// Decision bars the limit entry rests (the spec's "Limit with `ttl_bars = 1`").
    pub ttl_bars: u32,
    /// Also emit the mirrored special exit (Exit(Long)); the seed had only Exit(Short).
    pub mirror_exit: bool,
    /// `strategy_conf` per tier (MIA's values).
    pub tier_conf: RangeTierValues,
    /// `size_mult` per tier (recorded only).
    pub tier_size: RangeTierValues,
}

impl Default for RangeConfig {
    fn default() -> Self {
        Self {
            proximity_ticks: 2,
            level_tol_ticks: 3,
            min_rr: 1.2,
            ttl_bars: 1,
            mirror_exit: false,
            tier_conf: RangeTierValues { premium_bounce: 0.85, strong_bounce: 0.72, weak_bounce: 0.55 },
            tier_size: RangeTierValues { premium_bounce: 1.5, strong_bounce: 1.0, weak_bounce: 0.5 },
        }
    }
}

impl RangeConfig {
    /// Checks the section against the ranges.
    ///
    /// # Errors
    /// A `key: reason` message for the first bad key.
    pub fn validate(&self) -> Result<(), String> {
        if self.proximity_ticks > 50 {
            return Err(format!("proximity_ticks: must be ≤ 50, got {}", self.proximity_ticks));
        }
        if self.level_tol_ticks > 50 {
            return Err(format!("level_tol_ticks: must be ≤ 50, got {}", self.level_tol_ticks));
        }
        positive("min_rr", self.min_rr)?;
        self.tier_conf.check("tier_conf", 1.0)?;
        self.tier_size.check("tier_size", 10.0)
    }
}

/// `[signal.selector]`.
#[derive(Clone, Copy, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SelectorConfig {
    /// A setup needs a regime confidence ≥ this.
    pub min_regime_conf: f64,
    /// The regime must be unchanged over the previous ⌈cooldown_min/decision_timeframe_min⌉
    /// decision points.
    pub cooldown_min: u32,
    /// A session phase whose F16 multiplier is below this emits no entries.
    pub min_phase_mult: f64,
}

impl Default for SelectorConfig {
    fn default() -> Self {
        Self { min_regime_conf: 0.60, cooldown_min: 5, min_phase_mult: 0.6 }
    }
}

impl SelectorConfig {
    /// Checks the section for the default 5-minute decision timeframe (the configured one is
    /// checked by [`Self::validate_for`] when the whole `[signal]` section is validated).
    ///
    /// # Errors
    /// A `key: reason` message for the first bad key.
    pub fn validate(&self) -> Result<(), String> {
        self.validate_for(5)
    }

    /// Checks the section; the cooldown is checked against [`REGIME_HIST_CAP`] for the
    /// decision timeframe `decision_timeframe_min` (> 0).
    ///
    /// # Errors
    /// A `key: reason` message for the first bad key.
    pub fn validate_for(&self, decision_timeframe_min: u32) -> Result<(), String> {
        unit("min_regime_conf", self.min_regime_conf)?;
        if decision_timeframe_min == 0 {
            return Err("decision_timeframe_min: must be > 0".into());
        }
        if self.cooldown_points(decision_timeframe_min) > REGIME_HIST_CAP {
            return Err(format!(
                "cooldown_min: at most {REGIME_HIST_CAP} decision points of {decision_timeframe_min} min, got {}",
                self.cooldown_min
            ));
        }
        if !(self.min_phase_mult.is_finite() && self.min_phase_mult >= 0.0) {
            return Err(format!("min_phase_mult: must be finite and ≥ 0, got {}", self.min_phase_mult));
        }
        Ok(())
    }

    /// ⌈cooldown_min/decision_timeframe_min⌉ (0 when the timeframe is 0).
    pub fn cooldown_points(&self, decision_timeframe_min: u32) -> usize {
        if decision_timeframe_min == 0 {
            0
        } else {
            self.cooldown_min.div_ceil(decision_timeframe_min) as usize
        }
    }
}

/// Why a strategy built no setup (all map to [`RejectReason::NoSetup`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetupReject {
    /// Fewer bars than the lookbacks need.
    NotEnoughBars,
    /// The NO_TRADE / NONE tier (C < 0.60).
    NoTier,
    /// Trend: risk above `max_risk_ticks`.
    RiskTooLarge,
    /// Reward-to-risk below the strategy's `min_rr` (a zero risk included).
    RiskReward,
    /// C below the tier's minimum.
    LowConfluence,
    /// Range: the detector found no range.
    NoRange,
    /// Range: quality class INVALID (< 0.4).
    RangeInvalid,
    /// Range: P is near neither level (or equally near both).
    NoBounce,
}

impl SetupReject {
    /// Every reason, in code order.
    pub const ALL: [SetupReject; 8] = [
        Self::NotEnoughBars,
        Self::NoTier,
        Self::RiskTooLarge,
        Self::RiskReward,
        Self::LowConfluence,
        Self::NoRange,
        Self::RangeInvalid,
        Self::NoBounce,
    ];

    /// Snake-case name (`decisions.csv`, the summary's `engine` line).
    pub const fn name(self) -> &'static str {
        match self {
            Self::NotEnoughBars => "not_enough_bars",
            Self::NoTier => "no_tier",
            Self::RiskTooLarge => "risk_too_large",
            Self::RiskReward => "risk_reward",
            Self::LowConfluence => "low_confluence",
            Self::NoRange => "no_range",
            Self::RangeInvalid => "range_invalid",
            Self::NoBounce => "no_bounce",
        }
    }
}

#[inline]
fn within(a: Option<Px>, p: Px, ticks: u32, tick: Px) -> bool {
    a.is_some_and(|x| (x - p).unsigned_abs() <= u64::from(ticks) * tick.unsigned_abs())
}

/// `⌊mult·risk/T⌋·T`: a multiple of the risk, rounded toward the entry onto the grid.
#[inline]
fn rr_offset(mult: f64, risk: Px, tick: Px) -> Px {
    let ticks = mult * (risk as f64 / tick as f64) + 1e-9;
    ticks.floor() as Px * tick
}

/// The Sierra input of `C(d)` (§11): `0.6·(1 + d·clamp(S/0.5, ±1))/2 + 0.4·p_d`, with
/// `p_d` = LDUB (long) or max(LUDB, CDS) (short); 0.5 when S is invalid.
pub fn sierra_input(inp: &EngineInputs<'_>, d: Direction) -> f64 {
    let Some(s) = inp.s() else { return 0.5 };
    let pd = if d == Direction::Short { inp.bn.ludb.max(inp.bn.cds) } else { inp.bn.ldub };
    0.6 * (1.0 + dsign(d) * (s / 0.5).clamp(-1.0, 1.0)) / 2.0 + 0.4 * pd
}

/// The measured quantities of a trend setup, for tests and the journal.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrendMeasure {
    /// `KS`: the swing origin (min low for a long, max high for a short).
    pub ks: Px,
    /// `H`: the swing end (max high for a long, min low for a short).
    pub h: Px,
    /// The pullback test passed.
    pub pullback: bool,
    /// Retracement `r`.
    pub r: f64,
    /// Pullback quality `pq`.
    pub pq: f64,
    /// Level confluence `lc`.
    pub lc: f64,
}

/// Measures KS, H, the pullback, `pq` and `lc` for direction `d` (§10 trend strategy).
///
/// # Errors
/// [`SetupReject::NotEnoughBars`] with fewer than `max(ks_bars, h_bars, 1)` bars.
pub fn trend_measure(
    cfg: &TrendConfig,
    inp: &EngineInputs<'_>,
    d: Direction,
    tick: Px,
) -> Result<TrendMeasure, SetupReject> {
    let bars = inp.bars;
    let need = cfg.ks_bars.max(cfg.h_bars).max(1);
    if bars.count() < need {
        return Err(SetupReject::NotEnoughBars);
    }
    let Some(bt) = bars.back(0) else { return Err(SetupReject::NotEnoughBars) };
    let p = bt.close;
    let long = d != Direction::Short;
    let mut ks = if long { Px::MAX } else { Px::MIN };
    for k in 0..cfg.ks_bars {
        if let Some(b) = bars.back(k) {
            ks = if long { ks.min(b.low) } else { ks.max(b.high) };
        }
    }
    let mut h = if long { Px::MIN } else { Px::MAX };
    // k of the latest bar at H (0 = bar t).
    let mut k_h = 0usize;
    for k in 0..cfg.h_bars {
        if let Some(b) = bars.back(k) {
            let x = if long { b.high } else { b.low };
            let better = if long { x > h } else { x < h };
            if better {
                h = x;
                k_h = k;
            }
        }
    }
    let sgn = dsign(d) as i64;
    let swing = sgn * (h - ks);
    let r = if swing > 0 { (sgn * (h - p)) as f64 / swing as f64 } else { f64::NAN };
    let pullback = swing >= i64::from(cfg.min_swing_ticks) * tick && (0.25..=0.80).contains(&r);
    let mut pq = 0.0;
    if pullback {
        pq += if (0.35..=0.65).contains(&r) { 0.4 } else { 0.2 };
    }
    if let Some(v10) = mean_volume_before(bars, 10) {
        if f64::from(bt.volume) > 1.1 * v10 {
            pq += 0.3;
        }
    }
    pq += if (2..=4).contains(&k_h) { 0.2 } else { 0.1 };
    let lv = &inp.levels;
    let wall = if long { lv.put_wall } else { lv.call_wall };
    let mut lc = 0.0;
    if within(lv.vwap, p, 2, tick) {
        lc += 0.3;
    }
    if within(lv.poc, p, 1, tick) {
        lc += 0.4;
    }
    if within(wall, p, 3, tick) {
        lc += 0.3;
    }
    Ok(TrendMeasure { ks, h, pullback, r: if r.is_finite() { r } else { 0.0 }, pq, lc: f64::min(lc, 1.0) })
}

/// The trend strategy (§10) in direction `d` (the regime's direction).
///
/// # Errors
/// The [`SetupReject`] that stopped it.
pub fn trend_setup(
    cfg: &TrendConfig,
    inp: &EngineInputs<'_>,
    d: Direction,
    tick: Px,
) -> Result<Setup, SetupReject> {
    let m = trend_measure(cfg, inp, d, tick)?;
    let Some(bt) = inp.bars.back(0) else { return Err(SetupReject::NotEnoughBars) };
    let p = bt.close;
    let c = inp.confluence_of(d);
    let strength = inp.regime.trend_strength;
    let tier = if !at_least(c, 0.60) {
        return Err(SetupReject::NoTier);
    } else if m.pullback && c >= 0.85 && m.pq >= 0.8 && m.lc >= 0.7 && strength >= 0.7 {
        SetupTier::PremiumPullback
    } else if m.pullback && c >= 0.70 && m.pq >= 0.6 && m.lc >= 0.5 {
        SetupTier::StrongPullback
    } else if !m.pullback
        && c >= 0.80
        && mean_volume_before(inp.bars, 20).is_some_and(|v20| f64::from(bt.volume) > 2.0 * v20)
        && sierra_input(inp, d) >= 0.8
        && strength >= 0.8
    {
        SetupTier::PremiumBreakout
    } else if c >= 0.70 && strength >= cfg.min_trend_strength {
        SetupTier::StrongTrend
    } else {
        SetupTier::WeakSignal
    };
    let sgn = dsign(d) as i64;
    let (mut entry, mut entry_type, mut ttl) = if tier.is_pullback() {
        // min(P, H − 0.5(H − KS)) for a long, max(P, L + 0.5(KS − L)) for a short.
        let mid = m.h - (m.h - m.ks) / 2;
        let e = if sgn > 0 { p.min(mid) } else { p.max(mid) };
        (round_for(d, e, tick), EntryType::Limit, cfg.ttl_bars)
    } else {
        (p, EntryType::MarketableLimit, 0)
    };
    let mut stop = round_for(d, m.ks - sgn * 2 * tick, tick);
    if sgn * (entry - stop) <= 0 {
        stop = entry - sgn * i64::from(cfg.fallback_stop_ticks) * tick;
    }
    // A BN base break in d replaces the entry and the stop on non-pullback tiers (§4 bracket).
    let base_break = inp.patterns.iter().any(|h| h.id == PatternId::BaseBreak && h.dir == d);
    if base_break && !tier.is_pullback() {
        if let Some(g) = inp.bn.governing {
            let off = i64::from(inp.base_break_stop_offset_ticks) * tick;
            let s = if sgn > 0 { g.low - off } else { g.high + off };
            if sgn * (p - s) > 0 {
                entry = p;
                entry_type = EntryType::MarketableLimit;
                ttl = 0;
                stop = round_for(d, s, tick);
            }
        }
    }
    let risk = (entry - stop).abs();
    let target = round_for(d, entry + sgn * rr_offset(cfg.target_rr, risk, tick), tick);
    let setup = Setup {
        strategy: StrategyId::Trend,
        tier,
        dir: d,
        entry,
        entry_type,
        ttl_bars: ttl,
        stop,
        target,
        strategy_conf: cfg.tier_conf.get(tier).unwrap_or(0.0),
        size_mult: cfg.tier_size.get(tier).unwrap_or(0.0),
        confluence: c,
    };
    if setup.risk_ticks(tick) > f64::from(cfg.max_risk_ticks) {
        return Err(SetupReject::RiskTooLarge);
    }
    if !at_least(setup.rr(tick), cfg.min_rr) {
        return Err(SetupReject::RiskReward);
    }
    if c < tier.min_confluence() {
        return Err(SetupReject::LowConfluence);
    }
    Ok(setup)
}

/// The bounce side of the range strategy: Long when P is within `proximity_ticks` of the
/// support, Short near the resistance (the nearer one if both; none on a tie).
///
/// # Errors
/// NotEnoughBars, NoRange, RangeInvalid (quality < 0.4) or NoBounce.
pub fn range_side(cfg: &RangeConfig, inp: &EngineInputs<'_>, tick: Px) -> Result<Direction, SetupReject> {
    let Some(p) = inp.price() else { return Err(SetupReject::NotEnoughBars) };
    let Some(r) = inp.regime.range else { return Err(SetupReject::NoRange) };
    if !at_least(r.quality, 0.4) {
        return Err(SetupReject::RangeInvalid);
    }
    let tol = u64::from(cfg.proximity_ticks) * tick.unsigned_abs();
    let ds = (p - r.support).unsigned_abs();
    let dr = (r.resistance - p).unsigned_abs();
    match (ds <= tol, dr <= tol) {
        (true, false) => Ok(Direction::Long),
        (false, true) => Ok(Direction::Short),
        (true, true) if ds < dr => Ok(Direction::Long),
        (true, true) if dr < ds => Ok(Direction::Short),
        _ => Err(SetupReject::NoBounce),
    }
}

/// The measured quantities of a range setup.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RangeMeasure {
    /// The confirmation held.
    pub confirmed: bool,
    /// Pattern strength `ps`.
    pub ps: f64,
    /// `v_t > 1.1·v̄10`.
    pub volf: bool,
    /// Level confluence `lc`.
    pub lc: f64,
    /// Setup quality `sq`.
    pub sq: f64,
}

/// Measures the confirmation, `ps`, `volf`, `lc` and `sq` of a bounce in direction `d`.
pub fn range_measure(cfg: &RangeConfig, inp: &EngineInputs<'_>, d: Direction, tick: Px) -> RangeMeasure {
    let s = inp.s().unwrap_or(0.0);
    let bn = &inp.bn;
    let long = d != Direction::Short;
    let confirmed = if long { bn.ldub > 0.6 || s > 0.4 } else { bn.cds > 0.6 || bn.ludb > 0.6 || s < -0.4 };
    let ps = if long {
        bn.ldub.max((s / 0.5).clamp(0.0, 1.0))
    } else {
        bn.ludb.max(bn.cds).max((-s / 0.5).clamp(0.0, 1.0))
    };
    let volf = match (inp.bars.back(0), mean_volume_before(inp.bars, 10)) {
        (Some(b), Some(v10)) => f64::from(b.volume) > 1.1 * v10,
        _ => false,
    };
    let lv = &inp.levels;
    let p = inp.price().unwrap_or(0);
    let tol = cfg.level_tol_ticks;
    let terms = if long {
        [(lv.vwap, 0.25), (lv.val, 0.3), (lv.pval, 0.2), (lv.put_wall, 0.25)]
    } else {
        [(lv.vwap, 0.25), (lv.vah, 0.3), (lv.pvah, 0.2), (lv.call_wall, 0.25)]
    };
    let lc = terms.iter().filter(|(x, _)| within(*x, p, tol, tick)).map(|(_, w)| *w).sum::<f64>().min(1.0);
    let sq = 0.4 * ps * f64::from(u8::from(confirmed)) + 0.3 * f64::from(u8::from(volf)) + 0.3 * lc;
    RangeMeasure { confirmed, ps, volf, lc, sq }
}

/// The range strategy (§10) for a bounce in direction `d` (from [`range_side`]).
///
/// # Errors
/// The [`SetupReject`] that stopped it.
pub fn range_setup(
    cfg: &RangeConfig,
    inp: &EngineInputs<'_>,
    d: Direction,
    tick: Px,
) -> Result<Setup, SetupReject> {
    let Some(r) = inp.regime.range else { return Err(SetupReject::NoRange) };
    if !at_least(r.quality, 0.4) {
        return Err(SetupReject::RangeInvalid);
    }
    let m = range_measure(cfg, inp, d, tick);
    let c = inp.confluence_of(d);
    let tier = if !at_least(c, 0.60) {
        return Err(SetupReject::NoTier);
    } else if c >= 0.85 && m.sq >= 0.8 && m.ps >= 0.7 && r.quality >= 0.8 {
        SetupTier::PremiumBounce
    } else if c >= 0.70 && m.sq >= 0.6 && m.ps >= 0.5 {
        SetupTier::StrongBounce
    } else {
        SetupTier::WeakBounce
    };
    let sgn = dsign(d) as i64;
    let (level, far) = if sgn > 0 { (r.support, r.resistance) } else { (r.resistance, r.support) };
    let entry = round_for(d, level + sgn * tick, tick);
    let z = inp.bn.governing.map_or(0, |g| i64::from(g.size_ticks));
    let beyond = if z >= 4 { (z + 2).max(6) } else { 3 };
    let stop = round_for(d, level - sgn * beyond * tick, tick);
    let target = round_for(d, far - sgn * tick, tick);
    let mut setup = Setup {
        strategy: StrategyId::Range,
        tier,
        dir: d,
        entry,
        entry_type: EntryType::Limit,
        ttl_bars: cfg.ttl_bars,
        stop,
        target,
        strategy_conf: cfg.tier_conf.get(tier).unwrap_or(0.0),
        size_mult: cfg.tier_size.get(tier).unwrap_or(0.0),
        confluence: c,
    };
    let rr = setup.rr(tick);
    if rr < 1.5 {
        setup.size_mult *= 0.7;
    }
    if sgn * (target - entry) <= 0 || !at_least(rr, cfg.min_rr) {
        return Err(SetupReject::RiskReward);
    }
    if c < tier.min_confluence() {
        return Err(SetupReject::LowConfluence);
    }
    Ok(setup)
}

/// The selector's choice (§10).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Selection {
    /// The strategy.
    pub strategy: StrategyId,
    /// Selection confidence (informational: nothing reads it).
    pub confidence: f64,
}

/// The selector: strategy choice, regime confidence, cooldown, direction and phase checks.
/// Keeps the regimes of the last [`REGIME_HIST_CAP`] decision points (fixed array).
#[derive(Clone, Debug)]
pub struct Selector {
    cfg: SelectorConfig,
    points: usize,
    hist: [super::regime::Regime; REGIME_HIST_CAP],
    head: usize,
    len: usize,
}

impl Selector {
    /// A selector for a decision timeframe of `decision_timeframe_min` minutes.
    ///
    /// # Errors
    /// The config's validation message.
    pub fn new(cfg: &SelectorConfig, decision_timeframe_min: u32) -> Result<Self, String> {
        cfg.validate_for(decision_timeframe_min)?;
        Ok(Self {
            cfg: *cfg,
            points: cfg.cooldown_points(decision_timeframe_min),
            hist: [super::regime::Regime::Unclear; REGIME_HIST_CAP],
            head: 0,
            len: 0,
        })
    }

    /// The config.
    pub fn config(&self) -> &SelectorConfig {
        &self.cfg
    }

    /// The selection for `regime`, without any check: trend for trends, range for ranges.
    pub fn choose(regime: &RegimeView) -> Option<Selection> {
        let r = regime.regime;
        let c = regime.confidence;
        if r.is_strong_trend() {
            Some(Selection { strategy: StrategyId::Trend, confidence: (c + 0.1).min(1.0) })
        } else if r.is_trend() {
            Some(Selection { strategy: StrategyId::Trend, confidence: 0.8 * c })
        } else if r == super::regime::Regime::RangeNeutral {
            Some(Selection { strategy: StrategyId::Range, confidence: 0.9 * c })
        } else if r.is_range() {
            Some(Selection { strategy: StrategyId::Range, confidence: c })
        } else {
            None
        }
    }

    /// Runs once per decision point: records the regime and returns the selection, or
    /// [`RejectReason::RegimeWait`] (TRANSITION / UNCLEAR, confidence below
    /// `min_regime_conf`, or a regime change within the cooldown; fewer recorded decision
    /// points than the cooldown needs also waits).
    ///
    /// # Errors
    /// `RegimeWait`.
    pub fn on_decision(&mut self, regime: &RegimeView) -> Result<Selection, RejectReason> {
        let stable = self.len >= self.points
            && (1..=self.points)
                .all(|k| self.hist[(self.head + REGIME_HIST_CAP - k) % REGIME_HIST_CAP] == regime.regime);
        self.hist[self.head] = regime.regime;
        self.head = (self.head + 1) % REGIME_HIST_CAP;
        self.len = (self.len + 1).min(REGIME_HIST_CAP);
        let sel = Self::choose(regime).ok_or(RejectReason::RegimeWait)?;
        if !at_least(regime.confidence, self.cfg.min_regime_conf) || !stable {
            return Err(RejectReason::RegimeWait);
        }
        Ok(sel)
    }

    /// The direction and phase checks of a candidate direction `d`.
    ///
    /// # Errors
    /// `DirectionNotAllowed` or `PhaseDisabled`.
    pub fn admit(&self, d: Direction, regime: &RegimeView, phase_mult: f64) -> Result<(), RejectReason> {
        if !regime.allowed.allows(d) {
            return Err(RejectReason::DirectionNotAllowed);
        }
        if !at_least(phase_mult, self.cfg.min_phase_mult) {
            return Err(RejectReason::PhaseDisabled);
        }
        Ok(())
    }
}

/// One BN-timeframe close as the special exits read it.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct ExitRecord {
    /// Color Down Setting score.
    pub cds: f64,
    /// Long Down-Up Bar score.
    pub ldub: f64,
    /// Signed BN score S (0 when invalid).
    pub s: f64,
    /// Bar colour: +1 green (close > open), −1 red, 0 doji.
    pub colour: i8,
    /// Governing base kind (Long = Green, Short = Red), `None` when none.
    pub governing: Option<Direction>,
}

/// The last 5 closes' records and the special exits of §10.
#[derive(Clone, Debug, Default)]
pub struct SpecialExits {
    ring: [ExitRecord; 5],
    head: usize,
    len: usize,
}

impl SpecialExits {
    /// Records bar t's record (call once per BN close, before [`Self::check`]).
    pub fn push(&mut self, r: ExitRecord) {
        self.ring[self.head] = r;
        self.head = (self.head + 1) % 5;
        self.len = (self.len + 1).min(5);
    }

    /// The record `k` closes back (0 = bar t).
    fn back(&self, k: usize) -> Option<&ExitRecord> {
        (k < self.len).then(|| &self.ring[(self.head + 5 - 1 - k) % 5])
    }

    /// `two_green_after_red_base` → `Some(Short)` (exit a short); with `mirror`, the
    /// symmetric case → `Some(Long)`. Needs 5 records.
    pub fn check(&self, mirror: bool) -> Option<Direction> {
        if self.len < 5 {
            return None;
        }
        let (Some(t), Some(t1)) = (self.back(0), self.back(1)) else { return None };
        let setup = |pred: &dyn Fn(&ExitRecord) -> bool| (2..=4).filter_map(|k| self.back(k)).any(pred);
        let two_green = [t, t1].iter().all(|r| r.colour > 0 && r.s > 0.2);
        if two_green && setup(&|r| r.cds > 0.7 && r.s < -0.2 && r.governing == Some(Direction::Short)) {
            return Some(Direction::Short);
        }
        let two_red = [t, t1].iter().all(|r| r.colour < 0 && r.s < -0.2);
        if mirror && two_red && setup(&|r| r.ldub > 0.7 && r.s > 0.2 && r.governing == Some(Direction::Long))
        {
            return Some(Direction::Long);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::super::inputs::{GoverningBase, LevelsView, RangeView};
    use super::super::patterns::PatternHit;
    use super::super::regime::Regime;
    use super::super::testkit::{bar, mirror, tk, Fixture, T};
    use super::*;
    use crate::gates::Allow;

    #[test]
    fn trend_strong_pullback_long() {
        let fx = Fixture::t17();
        let inp = fx.inputs();
        let m = trend_measure(&TrendConfig::default(), &inp, Direction::Long, T).expect("bars");
        assert_eq!((m.ks, m.h), (tk(0), tk(16)));
        assert!(m.pullback);
        assert_eq!(m.r, 0.5);
        // 0.4 (r in [0.35, 0.65]) + 0.3 (2000 > 1.1·1000) + 0.2 (H 3 bars back).
        assert!((m.pq - 0.9).abs() < 1e-12);
        // VWAP 1 tick away (0.3) + POC at P (0.4).
        assert!((m.lc - 0.7).abs() < 1e-12);
        let s = trend_setup(&TrendConfig::default(), &inp, Direction::Long, T).expect("setup");
        assert_eq!(s.tier, SetupTier::StrongPullback);
        assert_eq!(s.entry_type, EntryType::Limit);
        assert_eq!(s.ttl_bars, 1);
        // min(P, H − 0.5(H − KS)) = min(5002.00, 5002.00).
        assert_eq!(s.entry, tk(8));
        // KS − 2T.
        assert_eq!(s.stop, tk(-2));
        // 10 ticks of risk, target 2R.
        assert_eq!(s.target, tk(28));
        assert_eq!(s.rr(T), 2.0);
        assert_eq!((s.strategy_conf, s.size_mult), (0.75, 1.5));
    }

    #[test]
    fn trend_strong_pullback_short_mirrors() {
        let fx = Fixture { bars: mirror(&Fixture::t17().bars), ..Fixture::t17() };
        let mut inp = fx.inputs();
        inp.regime = RegimeView::with_defaults(Regime::StrongTrendBearish, 0.95, 0.8);
        inp.levels = LevelsView { vwap: Some(tk(-9)), poc: Some(tk(-8)), ..LevelsView::default() };
        let s = trend_setup(&TrendConfig::default(), &inp, Direction::Short, T).expect("setup");
        assert_eq!(s.tier, SetupTier::StrongPullback);
        assert_eq!((s.entry, s.stop, s.target), (tk(-8), tk(2), tk(-28)));
    }

    #[test]
    fn trend_limit_entry_rounds_away_from_market() {
        // KS at −1 tick: H − 0.5·17 ticks = 7.5 ticks, rounded down to 7 for a long.
        let mut fx = Fixture::t17();
        fx.bars[2] = bar(4, 6, -1, 2, 1000);
        let s = trend_setup(&TrendConfig::default(), &fx.inputs(), Direction::Long, T).expect("setup");
        assert_eq!(s.tier, SetupTier::StrongPullback);
        assert_eq!(s.entry, tk(7));
        assert_eq!(s.stop, tk(-3));
        assert_eq!(s.target, tk(27));
    }

    #[test]
    fn trend_without_levels_is_strong_trend_at_market() {
        let fx = Fixture::t17();
        let mut inp = fx.inputs();
        inp.levels = LevelsView::default();
        let s = trend_setup(&TrendConfig::default(), &inp, Direction::Long, T).expect("setup");
        assert_eq!(s.tier, SetupTier::StrongTrend);
        assert_eq!((s.entry_type, s.ttl_bars), (EntryType::MarketableLimit, 0));
        assert_eq!((s.entry, s.stop, s.target), (tk(8), tk(-2), tk(28)));
        // Weak strength: WEAK_SIGNAL.
        inp.regime.trend_strength = 0.5;
        let s = trend_setup(&TrendConfig::default(), &inp, Direction::Long, T).expect("setup");
        assert_eq!((s.tier, s.strategy_conf), (SetupTier::WeakSignal, 0.55));
    }

    #[test]
    fn trend_rejects_risk_above_15_ticks() {
        // KS at −8 ticks: r = 8/24 (pullback, pq 0.7) but no levels → STRONG_TREND at P,
        // stop −10: risk 18 ticks.
        let mut fx = Fixture::t17();
        fx.bars[2] = bar(4, 6, -8, 2, 1000);
        let mut inp = fx.inputs();
        inp.levels = LevelsView::default();
        assert_eq!(
            trend_setup(&TrendConfig::default(), &inp, Direction::Long, T),
            Err(SetupReject::RiskTooLarge)
        );
        // 18 ticks pass with a larger cap.
        let cfg = TrendConfig { max_risk_ticks: 18, ..TrendConfig::default() };
        assert_eq!(trend_setup(&cfg, &inp, Direction::Long, T).map(|s| s.stop), Ok(tk(-10)));
    }

    #[test]
    fn trend_rejects_low_rr_and_low_confluence() {
        let fx = Fixture::t17();
        let cfg = TrendConfig { target_rr: 1.0, ..TrendConfig::default() };
        assert_eq!(trend_setup(&cfg, &fx.inputs(), Direction::Long, T), Err(SetupReject::RiskReward));
        let mut inp = fx.inputs();
        inp.confluence = [0.59, 0.9];
        assert_eq!(trend_setup(&TrendConfig::default(), &inp, Direction::Long, T), Err(SetupReject::NoTier));
        let short = Fixture { bars: fx.bars[..4].to_vec(), ..Fixture::t17() };
        assert_eq!(
            trend_setup(&TrendConfig::default(), &short.inputs(), Direction::Long, T),
            Err(SetupReject::NotEnoughBars)
        );
    }

    #[test]
    fn trend_base_break_bracket_replaces_entry_and_stop() {
        let mut fx = Fixture::t17();
        fx.patterns.push(PatternHit { id: PatternId::BaseBreak, score: 0.8, dir: Direction::Long });
        let mut inp = fx.inputs();
        inp.levels = LevelsView::default();
        inp.bn.governing =
            Some(GoverningBase { kind: Direction::Long, high: tk(8), low: tk(4), size_ticks: 4 });
        let s = trend_setup(&TrendConfig::default(), &inp, Direction::Long, T).expect("setup");
        assert_eq!(s.tier, SetupTier::StrongTrend);
        // Stop low_B − 4T = 5000.00; risk 8 ticks, target 16 ticks above.
        assert_eq!((s.entry, s.stop, s.target), (tk(8), tk(0), tk(24)));
        // A pullback tier keeps its own bracket.
        let inp = Fixture { patterns: fx.patterns.clone(), ..Fixture::t17() };
        let mut i2 = inp.inputs();
        i2.bn.governing =
            Some(GoverningBase { kind: Direction::Long, high: tk(8), low: tk(4), size_ticks: 4 });
        assert_eq!(trend_setup(&TrendConfig::default(), &i2, Direction::Long, T).map(|s| s.stop), Ok(tk(-2)));
    }

    fn range_fixture(close: i64, vol_t: u32) -> Fixture {
        let mut bars: Vec<_> = (0..11).map(|_| bar(8, 10, 6, 8, 1000)).collect();
        bars.push(bar(2, 3, 0, close, vol_t));
        Fixture { bars, patterns: Vec::new(), zones: Vec::new() }
    }

    fn range_inputs(fx: &Fixture, regime: Regime, s: f64) -> EngineInputs<'_> {
        let mut inp = fx.inputs();
        inp.regime = RegimeView::with_defaults(regime, 0.8, 0.2);
        inp.regime.range = Some(RangeView { support: tk(0), resistance: tk(20), quality: 0.7 });
        inp.bn.s = Some(s);
        inp.levels = LevelsView { val: Some(tk(0)), ..LevelsView::default() };
        inp
    }

    #[test]
    fn range_long_bounce() {
        let fx = range_fixture(1, 2000);
        let inp = range_inputs(&fx, Regime::RangeNeutral, 0.5);
        let cfg = RangeConfig::default();
        assert_eq!(range_side(&cfg, &inp, T), Ok(Direction::Long));
        let m = range_measure(&cfg, &inp, Direction::Long, T);
        assert!(m.confirmed && m.volf);
        assert_eq!(m.ps, 1.0);
        assert!((m.lc - 0.3).abs() < 1e-12);
        // 0.4·1 + 0.3 + 0.3·0.3.
        assert!((m.sq - 0.79).abs() < 1e-12);
        let s = range_setup(&cfg, &inp, Direction::Long, T).expect("setup");
        assert_eq!(s.tier, SetupTier::StrongBounce);
        assert_eq!((s.strategy_conf, s.size_mult), (0.72, 1.0));
        // S_r + T, 3 ticks beyond the level (no base), R_r − T.
        assert_eq!((s.entry, s.stop, s.target), (tk(1), tk(-3), tk(19)));
        assert_eq!((s.entry_type, s.ttl_bars), (EntryType::Limit, 1));
        assert_eq!(s.rr(T), 4.5);
        // Without volume the quality falls to 0.49: WEAK_BOUNCE.
        let fx = range_fixture(1, 1000);
        let s = range_setup(&cfg, &range_inputs(&fx, Regime::RangeNeutral, 0.5), Direction::Long, T)
            .expect("setup");
        assert_eq!(s.tier, SetupTier::WeakBounce);
    }

    #[test]
    fn range_stop_uses_base_size_and_rr_rejects() {
        let fx = range_fixture(1, 2000);
        let mut inp = range_inputs(&fx, Regime::RangeNeutral, 0.5);
        inp.bn.governing =
            Some(GoverningBase { kind: Direction::Long, high: tk(5), low: tk(0), size_ticks: 5 });
        let cfg = RangeConfig::default();
        // z = 5 ≥ 4: max(6, 7) = 7 ticks beyond.
        let s = range_setup(&cfg, &inp, Direction::Long, T).expect("setup");
        assert_eq!(s.stop, tk(-7));
        assert_eq!(s.rr(T), 18.0 / 8.0);
        // z = 4: max(6, 6) = 6.
        inp.bn.governing =
            Some(GoverningBase { kind: Direction::Long, high: tk(4), low: tk(0), size_ticks: 4 });
        assert_eq!(range_setup(&cfg, &inp, Direction::Long, T).map(|s| s.stop), Ok(tk(-6)));
        // A narrow range and a 10-tick base: risk 13, reward 10 → rr < 1.2.
        inp.regime.range = Some(RangeView { support: tk(0), resistance: tk(12), quality: 0.7 });
        inp.bn.governing =
            Some(GoverningBase { kind: Direction::Long, high: tk(10), low: tk(0), size_ticks: 10 });
        assert_eq!(range_setup(&cfg, &inp, Direction::Long, T), Err(SetupReject::RiskReward));
        // Risk 8 (z = 5 → 7 beyond), reward 13 ticks: rr 1.625 ≥ 1.5.
        inp.regime.range = Some(RangeView { support: tk(0), resistance: tk(15), quality: 0.7 });
        inp.bn.governing =
            Some(GoverningBase { kind: Direction::Long, high: tk(5), low: tk(0), size_ticks: 5 });
        let s = range_setup(&cfg, &inp, Direction::Long, T).expect("setup");
        assert!((s.rr(T) - 13.0 / 8.0).abs() < 1e-12);
        assert_eq!(s.size_mult, 1.0);
        inp.regime.range = Some(RangeView { support: tk(0), resistance: tk(12), quality: 0.7 });
        inp.bn.governing = None;
        // Risk 4, reward 10: rr 2.5 → kept.
        let s = range_setup(&cfg, &inp, Direction::Long, T).expect("setup");
        assert_eq!(s.size_mult, 1.0);
        inp.bn.governing =
            Some(GoverningBase { kind: Direction::Long, high: tk(4), low: tk(0), size_ticks: 4 });
        // Risk 7, reward 10: rr 1.43 → size 1.0·0.7.
        let s = range_setup(&cfg, &inp, Direction::Long, T).expect("setup");
        assert!((s.size_mult - 0.7).abs() < 1e-12);
    }

    #[test]
    fn range_short_side_and_invalid_quality() {
        let mut bars: Vec<_> = (0..11).map(|_| bar(8, 10, 6, 8, 1000)).collect();
        bars.push(bar(19, 20, 18, 19, 2000));
        let fx = Fixture { bars, patterns: Vec::new(), zones: Vec::new() };
        let mut inp = range_inputs(&fx, Regime::RangeNeutral, -0.5);
        let cfg = RangeConfig::default();
        assert_eq!(range_side(&cfg, &inp, T), Ok(Direction::Short));
        let s = range_setup(&cfg, &inp, Direction::Short, T).expect("setup");
        assert_eq!((s.entry, s.stop, s.target), (tk(19), tk(23), tk(1)));
        inp.regime.range = Some(RangeView { support: tk(0), resistance: tk(20), quality: 0.39 });
        assert_eq!(range_side(&cfg, &inp, T), Err(SetupReject::RangeInvalid));
        inp.regime.range = None;
        assert_eq!(range_side(&cfg, &inp, T), Err(SetupReject::NoRange));
        let far = range_fixture(10, 1000);
        assert_eq!(
            range_side(&cfg, &range_inputs(&far, Regime::RangeNeutral, 0.0), T),
            Err(SetupReject::NoBounce)
        );
    }

    #[test]
    fn selector_waits_and_checks() {
        let mut sel = Selector::new(&SelectorConfig::default(), 5).expect("selector");
        let trend = RegimeView::with_defaults(Regime::StrongTrendBullish, 0.95, 0.8);
        // No previous decision point yet: the cooldown waits.
        assert_eq!(sel.on_decision(&trend), Err(RejectReason::RegimeWait));
        let s = sel.on_decision(&trend).expect("selected");
        assert_eq!(s.strategy, StrategyId::Trend);
        assert!((s.confidence - 1.0).abs() < 1e-12);
        // TRANSITION and UNCLEAR always wait.
        let tr = RegimeView::with_defaults(Regime::Transition, 0.5, 0.0);
        assert_eq!(sel.on_decision(&tr), Err(RejectReason::RegimeWait));
        assert_eq!(sel.on_decision(&tr), Err(RejectReason::RegimeWait));
        // A change of regime waits one decision point (cooldown 5 min / 5 min bars).
        let range = RegimeView::with_defaults(Regime::RangeNeutral, 0.8, 0.2);
        assert_eq!(sel.on_decision(&range), Err(RejectReason::RegimeWait));
        let s = sel.on_decision(&range).expect("selected");
        assert_eq!(s.strategy, StrategyId::Range);
        assert!((s.confidence - 0.72).abs() < 1e-12);
        // Low regime confidence waits.
        let weak = RegimeView { confidence: 0.59, ..range };
        assert_eq!(sel.on_decision(&weak), Err(RejectReason::RegimeWait));
        // Direction and phase.
        assert_eq!(sel.admit(Direction::Short, &trend, 1.2), Err(RejectReason::DirectionNotAllowed));
        assert_eq!(sel.admit(Direction::Long, &trend, 0.5), Err(RejectReason::PhaseDisabled));
        assert_eq!(sel.admit(Direction::Long, &trend, 0.6), Ok(()));
        let masked = RegimeView { allowed: Allow::NONE, ..trend };
        assert_eq!(sel.admit(Direction::Long, &masked, 1.2), Err(RejectReason::DirectionNotAllowed));
        // Weak trend and biased range confidences.
        let wt = RegimeView::with_defaults(Regime::WeakTrendBearish, 0.75, 0.5);
        assert!((Selector::choose(&wt).map_or(0.0, |s| s.confidence) - 0.6).abs() < 1e-12);
        let rb = RegimeView::with_defaults(Regime::RangeBullishBias, 0.8, 0.5);
        assert_eq!(Selector::choose(&rb).map(|s| (s.strategy, s.confidence)), Some((StrategyId::Range, 0.8)));
    }

    #[test]
    fn selector_cooldown_spans_points() {
        // 15-minute cooldown on 5-minute bars: the previous 3 points must agree.
        let cfg = SelectorConfig { cooldown_min: 15, ..SelectorConfig::default() };
        let mut sel = Selector::new(&cfg, 5).expect("selector");
        let trend = RegimeView::with_defaults(Regime::StrongTrendBullish, 0.95, 0.8);
        for _ in 0..3 {
            assert_eq!(sel.on_decision(&trend), Err(RejectReason::RegimeWait));
        }
        assert!(sel.on_decision(&trend).is_ok());
        let e =
            SelectorConfig { cooldown_min: 5 * 33, ..SelectorConfig::default() }.validate_for(5).unwrap_err();
        assert!(e.starts_with("cooldown_min:"), "{e}");
        assert!(SelectorConfig::default().validate_for(0).is_err());
    }

    fn rec(cds: f64, ldub: f64, s: f64, colour: i8, governing: Option<Direction>) -> ExitRecord {
        ExitRecord { cds, ldub, s, colour, governing }
    }

    #[test]
    fn two_green_after_red_base() {
        let mut ex = SpecialExits::default();
        let red = Some(Direction::Short);
        ex.push(rec(0.0, 0.0, 0.0, 0, red));
        ex.push(rec(0.0, 0.0, 0.0, 0, red));
        // j = t−2: CDS 0.8, S −0.3, Red governing base.
        ex.push(rec(0.8, 0.0, -0.3, -1, red));
        ex.push(rec(0.0, 0.0, 0.3, 1, red));
        assert_eq!(ex.check(false), None, "needs 5 records");
        ex.push(rec(0.0, 0.0, 0.25, 1, red));
        assert_eq!(ex.check(false), Some(Direction::Short));
        // The next close is red: no exit (bars t−1 and t must both be green).
        ex.push(rec(0.0, 0.0, 0.3, -1, red));
        assert_eq!(ex.check(false), None);
        // S ≤ 0.2 on a green bar does not count.
        let mut ex = SpecialExits::default();
        for r in [
            rec(0.8, 0.0, -0.3, -1, red),
            rec(0.0, 0.0, 0.0, 0, red),
            rec(0.0, 0.0, 0.0, 0, red),
            rec(0.0, 0.0, 0.3, 1, red),
            rec(0.0, 0.0, 0.2, 1, red),
        ] {
            ex.push(r);
        }
        assert_eq!(ex.check(false), None);
    }

    #[test]
    fn mirror_exit_only_when_enabled() {
        let green = Some(Direction::Long);
        let mut ex = SpecialExits::default();
        for r in [
            rec(0.0, 0.9, 0.3, 1, green),
            rec(0.0, 0.0, 0.0, 0, green),
            rec(0.0, 0.0, 0.0, 0, green),
            rec(0.0, 0.0, -0.3, -1, green),
            rec(0.0, 0.0, -0.3, -1, green),
        ] {
            ex.push(r);
        }
        assert_eq!(ex.check(false), None);
        assert_eq!(ex.check(true), Some(Direction::Long));
    }

    #[test]
    fn configs_validate_and_parse() {
        assert!(TrendConfig::default().validate().is_ok());
        assert!(RangeConfig::default().validate().is_ok());
        let e = TrendConfig { ks_bars: 65, ..TrendConfig::default() }.validate().unwrap_err();
        assert!(e.starts_with("ks_bars:"), "{e}");
        let mut t = TrendConfig::default();
        t.tier_conf.weak_signal = 1.2;
        assert!(t.validate().unwrap_err().starts_with("tier_conf.weak_signal:"));
        let r: RangeConfig = toml::from_str(
            "mirror_exit = true\n[tier_conf]\npremium_bounce = 0.9\nstrong_bounce = 0.7\nweak_bounce = 0.5\n",
        )
        .expect("range parses");
        assert!(r.mirror_exit && r.tier_conf.premium_bounce == 0.9 && r.proximity_ticks == 2);
        assert!(toml::from_str::<TrendConfig>("max_risk = 3\n").is_err());
        let s: SelectorConfig = toml::from_str("min_phase_mult = 0.8\n").expect("selector parses");
        assert_eq!((s.min_phase_mult, s.cooldown_min), (0.8, 5));
    }
}
