//! The market regime detector (SIGNALS.md §9, `[signal.regime]`): trend structure and
//! strength, range detection and quality, and the 9-value [`Regime`] with its confidence and
//! its implications (strategy family, size multiplier, allowed directions). It runs at
//! decision-bar closes once `min_bars` bars exist. The trend and range strategies read its
//! trend strength and range (departure 17); `TRANSITION` always waits. One enum for the
//! regime concept (departure 28); the momentum term saturates at 0.5 % (departure 20).
//!
//! Cost: O(structure_bars + range_bars²) per decision bar (insertion sorts of ≤ 64 values),
//! no allocation.

use crate::gates::Allow;
use crate::market::bars::{BarRing, BAR_RING_CAP};
use mia_model::bar::Bar;
use mia_model::order::Direction;
use mia_model::price::{Px, PRICE_SCALE};

/// Cap on `range_bars` and `structure_bars` (insertion sort on ≤ 64 items).
pub const RANGE_CAP: usize = 64;

/// The market regime (the one regime enum of the engine).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Regime {
    /// Strong up-trend.
    StrongTrendBullish,
    /// Strong down-trend.
    StrongTrendBearish,
    /// Weak up-trend.
    WeakTrendBullish,
    /// Weak down-trend.
    WeakTrendBearish,
    /// Range with a bullish bias.
    RangeBullishBias,
    /// Range with a bearish bias.
    RangeBearishBias,
    /// Range without bias.
    RangeNeutral,
    /// The last three outputs all differed.
    Transition,
    /// None of the above.
    Unclear,
}

/// Number of regimes.
pub const REGIME_COUNT: usize = 9;

/// Every regime, in declaration order (as an array).
pub const REGIMES: [Regime; REGIME_COUNT] = [
    Regime::StrongTrendBullish,
    Regime::StrongTrendBearish,
    Regime::WeakTrendBullish,
    Regime::WeakTrendBearish,
    Regime::RangeBullishBias,
    Regime::RangeBearishBias,
    Regime::RangeNeutral,
    Regime::Transition,
    Regime::Unclear,
];

impl Regime {
    /// Index 0..9 (declaration order).
    #[inline]
    pub const fn index(self) -> usize {
        self as usize
    }

    /// Config key (`implications.<key>`).
    pub const fn key(self) -> &'static str {
        match self {
            Regime::StrongTrendBullish => "strong_trend_bullish",
            Regime::StrongTrendBearish => "strong_trend_bearish",
            Regime::WeakTrendBullish => "weak_trend_bullish",
            Regime::WeakTrendBearish => "weak_trend_bearish",
            Regime::RangeBullishBias => "range_bullish_bias",
            Regime::RangeBearishBias => "range_bearish_bias",
            Regime::RangeNeutral => "range_neutral",
            Regime::Transition => "transition",
            Regime::Unclear => "unclear",
        }
    }

    /// The trend or range direction of the regime (`None` for neutral, transition, unclear).
    pub const fn direction(self) -> Option<Direction> {
        match self {
            Regime::StrongTrendBullish | Regime::WeakTrendBullish | Regime::RangeBullishBias => {
                Some(Direction::Long)
            }
            Regime::StrongTrendBearish | Regime::WeakTrendBearish | Regime::RangeBearishBias => {
                Some(Direction::Short)
            }
            _ => None,
        }
    }

    /// Upper-case name as in the spec.
    pub const fn name(self) -> &'static str {
        match self {
            Regime::StrongTrendBullish => "STRONG_TREND_BULLISH",
            Regime::StrongTrendBearish => "STRONG_TREND_BEARISH",
            Regime::WeakTrendBullish => "WEAK_TREND_BULLISH",
            Regime::WeakTrendBearish => "WEAK_TREND_BEARISH",
            Regime::RangeBullishBias => "RANGE_BULLISH_BIAS",
            Regime::RangeBearishBias => "RANGE_BEARISH_BIAS",
            Regime::RangeNeutral => "RANGE_NEUTRAL",
            Regime::Transition => "TRANSITION",
            Regime::Unclear => "UNCLEAR",
        }
    }

    /// A strong or weak trend.
    #[inline]
    pub const fn is_trend(self) -> bool {
        (self as u8) <= 3
    }

    /// A strong trend.
    #[inline]
    pub const fn is_strong_trend(self) -> bool {
        (self as u8) <= 1
    }

    /// A range (biased or neutral).
    #[inline]
    pub const fn is_range(self) -> bool {
        matches!(self, Regime::RangeBullishBias | Regime::RangeBearishBias | Regime::RangeNeutral)
    }

    /// TRANSITION or UNCLEAR: the selector waits.
    #[inline]
    pub const fn is_wait(self) -> bool {
        matches!(self, Regime::Transition | Regime::Unclear)
    }

    /// The size multiplier `m_regime` of the §9 implications table (defaults).
    pub const fn default_size_mult(self) -> f64 {
        match self {
            Regime::StrongTrendBullish | Regime::StrongTrendBearish => 1.3,
            Regime::WeakTrendBullish | Regime::WeakTrendBearish => 1.0,
            Regime::RangeBullishBias | Regime::RangeBearishBias | Regime::RangeNeutral => 0.9,
            Regime::Transition | Regime::Unclear => 0.5,
        }
    }

    /// The allowed directions of the §9 implications table (defaults).
    pub const fn default_allowed(self) -> Allow {
        match self {
            Regime::RangeNeutral => Allow::ALL,
            Regime::Transition | Regime::Unclear => Allow::NONE,
            _ => match self.direction() {
                Some(Direction::Long) => Allow::LONG,
                Some(Direction::Short) => Allow::SHORT,
                _ => Allow::NONE,
            },
        }
    }

    /// The strategy family of the regime.
    pub const fn strategy(self) -> RegimeStrategy {
        match self {
            Regime::StrongTrendBullish
            | Regime::StrongTrendBearish
            | Regime::WeakTrendBullish
            | Regime::WeakTrendBearish => RegimeStrategy::Trend,
            Regime::RangeBullishBias | Regime::RangeBearishBias | Regime::RangeNeutral => {
                RegimeStrategy::Range
            }
            Regime::Transition | Regime::Unclear => RegimeStrategy::Wait,
        }
    }
}

/// Which strategy family a regime calls for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RegimeStrategy {
    /// The trend strategy.
    Trend,
    /// The range strategy.
    Range,
    /// No entry.
    Wait,
}

/// What a regime implies for the strategies and the size.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Implication {
    /// Strategy family.
    pub strategy: RegimeStrategy,
    /// Size multiplier `m_regime`.
    pub size: f64,
    /// Allowed entry directions.
    pub allowed: Allow,
}

const LONG: Allow = Allow { long: true, short: false };
const SHORT: Allow = Allow { long: false, short: true };
const NONE: Allow = Allow { long: false, short: false };

impl Implication {
    /// The SIGNALS §9 default of `r`.
    pub const fn default_of(r: Regime) -> Self {
        let (size, allowed) = match r {
            Regime::StrongTrendBullish => (1.3, LONG),
            Regime::StrongTrendBearish => (1.3, SHORT),
            Regime::WeakTrendBullish => (1.0, LONG),
            Regime::WeakTrendBearish => (1.0, SHORT),
            Regime::RangeBullishBias => (0.9, LONG),
            Regime::RangeBearishBias => (0.9, SHORT),
            Regime::RangeNeutral => (0.9, Allow::ALL),
            Regime::Transition | Regime::Unclear => (0.5, NONE),
        };
        Self { strategy: r.strategy(), size, allowed }
    }
}

/// `allowed` as a string: `"long"`, `"short"`, `"both"` or `"none"`.
mod allow_key {
    use crate::gates::Allow;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn parse(s: &str) -> Option<Allow> {
        Some(match s {
            "long" => Allow { long: true, short: false },
            "short" => Allow { long: false, short: true },
            "both" => Allow::ALL,
            "none" => Allow { long: false, short: false },
            _ => return None,
        })
    }

    pub fn name(a: Allow) -> &'static str {
        match (a.long, a.short) {
            (true, true) => "both",
            (true, false) => "long",
            (false, true) => "short",
            (false, false) => "none",
        }
    }

    pub fn serialize<S: Serializer>(v: &Option<Allow>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(a) => s.serialize_str(name(*a)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Allow>, D::Error> {
        let s = String::deserialize(d)?;
        parse(&s).map(Some).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "allowed: expected \"long\", \"short\", \"both\" or \"none\", got {s:?}"
            ))
        })
    }
}

/// `implications.<regime> = {size, allowed}`; a key left out keeps the §9 default.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ImplicationOverride {
    /// Size multiplier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<f64>,
    /// Allowed directions: `"long"`, `"short"`, `"both"` or `"none"`.
    #[serde(with = "allow_key", skip_serializing_if = "Option::is_none")]
    pub allowed: Option<Allow>,
}

/// `[signal.regime.implications]`, one optional table per regime.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ImplicationsConfig {
    /// STRONG_TREND_BULLISH (1.3, long).
    pub strong_trend_bullish: ImplicationOverride,
    /// STRONG_TREND_BEARISH (1.3, short).
    pub strong_trend_bearish: ImplicationOverride,
    /// WEAK_TREND_BULLISH (1.0, long).
    pub weak_trend_bullish: ImplicationOverride,
    /// WEAK_TREND_BEARISH (1.0, short).
    pub weak_trend_bearish: ImplicationOverride,
    /// RANGE_BULLISH_BIAS (0.9, long).
    pub range_bullish_bias: ImplicationOverride,
    /// RANGE_BEARISH_BIAS (0.9, short).
    pub range_bearish_bias: ImplicationOverride,
    /// RANGE_NEUTRAL (0.9, both).
    pub range_neutral: ImplicationOverride,
    /// TRANSITION (0.5, none).
    pub transition: ImplicationOverride,
    /// UNCLEAR (0.5, none).
    pub unclear: ImplicationOverride,
}

impl ImplicationsConfig {
    fn get(&self, r: Regime) -> &ImplicationOverride {
        match r {
            Regime::StrongTrendBullish => &self.strong_trend_bullish,
            Regime::StrongTrendBearish => &self.strong_trend_bearish,
            Regime::WeakTrendBullish => &self.weak_trend_bullish,
            Regime::WeakTrendBearish => &self.weak_trend_bearish,
            Regime::RangeBullishBias => &self.range_bullish_bias,
            Regime::RangeBearishBias => &self.range_bearish_bias,
            Regime::RangeNeutral => &self.range_neutral,
            Regime::Transition => &self.transition,
            Regime::Unclear => &self.unclear,
        }
    }

    /// The implication of `r`: the §9 default with the configured keys applied.
    pub fn resolve(&self, r: Regime) -> Implication {
        let d = Implication::default_of(r);
        let o = self.get(r);
        Implication {
            strategy: d.strategy,
            size: o.size.unwrap_or(d.size),
            allowed: o.allowed.unwrap_or(d.allowed),
        }
    }
}

/// `[signal.regime]`.
#[derive(Clone, Copy, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RegimeDetectorConfig {
    /// Decision bars needed before the detector runs.
    pub min_bars: usize,
    /// Bars of the swing counts (≤ [`RANGE_CAP`]).
    pub structure_bars: usize,
    /// Bars on each side of a swing point.
    pub swing_width: usize,
    /// Bars of the VWAP slope.
    pub slope_bars: usize,
    /// Momentum saturates at this |ROC| blend, in percent.
    pub momentum_full_pct: f64,
    /// Bars of the range analysis (≤ [`RANGE_CAP`]).
    pub range_bars: usize,
    /// Smallest range size (ticks).
    pub range_min_ticks: f64,
    /// Largest range size (ticks).
    pub range_max_ticks: f64,
    /// Tests needed per side.
    pub min_tests: u32,
    /// Consecutive closes inside the range needed.
    pub min_duration: u32,
    /// Smallest respect.
    pub min_respect: f64,
    /// Candidate-level pick tolerance (ticks).
    pub pick_tol_ticks: f64,
    /// Test tolerance (ticks).
    pub test_tol_ticks: f64,
    /// Per-regime implications.
    pub implications: ImplicationsConfig,
}

impl Default for RegimeDetectorConfig {
    fn default() -> Self {
        Self {
            min_bars: 30,
            structure_bars: 30,
            swing_width: 2,
            slope_bars: 10,
            momentum_full_pct: 0.5,
            range_bars: 60,
            range_min_ticks: 12.0,
            range_max_ticks: 50.0,
            min_tests: 3,
            min_duration: 20,
            min_respect: 0.75,
            pick_tol_ticks: 2.0,
            test_tol_ticks: 1.5,
            implications: ImplicationsConfig::default(),
        }
    }
}

impl RegimeDetectorConfig {
    /// Checks the section against the caps.
    ///
    /// # Errors
    /// A `key: reason` message for the first bad key.
    pub fn validate(&self) -> Result<(), String> {
        if self.min_bars < 11 || self.min_bars > BAR_RING_CAP {
            return Err(format!(
                "min_bars: must be in 11..={BAR_RING_CAP} (ROC10 needs 11), got {}",
                self.min_bars
            ));
        }
        if self.structure_bars < 5 || self.structure_bars > RANGE_CAP {
            return Err(format!("structure_bars: must be in 5..={RANGE_CAP}, got {}", self.structure_bars));
        }
        if self.swing_width == 0 || 2 * self.swing_width + 1 > self.structure_bars {
            return Err(format!(
                "swing_width: must be in 1..=(structure_bars − 1)/2, got {}",
                self.swing_width
            ));
        }
        if self.slope_bars < 2 || self.slope_bars > RANGE_CAP {
            return Err(format!("slope_bars: must be in 2..={RANGE_CAP}, got {}", self.slope_bars));
        }
        if !(self.momentum_full_pct.is_finite() && self.momentum_full_pct > 0.0) {
            return Err(format!("momentum_full_pct: must be > 0, got {}", self.momentum_full_pct));
        }
        if self.range_bars < 2 || self.range_bars > RANGE_CAP {
            return Err(format!("range_bars: must be in 2..={RANGE_CAP}, got {}", self.range_bars));
        }
        if !(self.range_min_ticks.is_finite() && self.range_min_ticks > 0.0) {
            return Err(format!("range_min_ticks: must be > 0, got {}", self.range_min_ticks));
        }
        if !(self.range_max_ticks.is_finite() && self.range_max_ticks >= self.range_min_ticks) {
            return Err(format!("range_max_ticks: must be ≥ range_min_ticks, got {}", self.range_max_ticks));
        }
        if self.min_duration as usize > self.range_bars {
            return Err(format!("min_duration: must be ≤ range_bars, got {}", self.min_duration));
        }
        if !(self.min_respect.is_finite() && (0.0..=1.0).contains(&self.min_respect)) {
            return Err(format!("min_respect: must be in [0, 1], got {}", self.min_respect));
        }
        if !(self.pick_tol_ticks.is_finite() && self.pick_tol_ticks >= 0.0) {
            return Err(format!("pick_tol_ticks: must be ≥ 0, got {}", self.pick_tol_ticks));
        }
        if !(self.test_tol_ticks.is_finite() && self.test_tol_ticks >= 0.0) {
            return Err(format!("test_tol_ticks: must be ≥ 0, got {}", self.test_tol_ticks));
        }
        for r in REGIMES {
            if let Some(s) = self.implications.get(r).size {
                if !(s.is_finite() && (0.0..=3.0).contains(&s)) {
                    return Err(format!("implications.{}.size: must be in [0, 3], got {s}", r.key()));
                }
            }
        }
        Ok(())
    }

    /// Decision bars the ring must hold (`bars.ring_len` check).
    pub fn lookback(&self) -> usize {
        self.min_bars
            .max(self.range_bars)
            .max(self.structure_bars + self.swing_width)
            .max(self.slope_bars)
            .max(11)
    }
}

/// Trend strength class (ascending).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TrendClass {
    /// strength < 0.30.
    #[default]
    None,
    /// ≥ 0.30.
    Weak,
    /// ≥ 0.50.
    Moderate,
    /// ≥ 0.70.
    Strong,
    /// ≥ 0.85.
    VeryStrong,
}

impl TrendClass {
    /// The class of `strength`.
    pub fn of(strength: f64) -> Self {
        if strength >= 0.85 {
            TrendClass::VeryStrong
        } else if strength >= 0.70 {
            TrendClass::Strong
        } else if strength >= 0.50 {
            TrendClass::Moderate
        } else if strength >= 0.30 {
            TrendClass::Weak
        } else {
            TrendClass::None
        }
    }
}

/// The trend analysis of one decision bar.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct TrendInfo {
    /// Higher swing highs.
    pub hh: u32,
    /// Lower swing highs.
    pub lh: u32,
    /// Higher swing lows.
    pub hl: u32,
    /// Lower swing lows.
    pub ll: u32,
    /// `max(bull, bear)/(bull + bear)`, 0 with no pair (also the consistency).
    pub structure: f64,
    /// OLS slope of the session VWAP (or of the close) in ticks per bar.
    pub vwap_slope: f64,
    /// `min(|0.6·ROC5 + 0.4·ROC10|·100/momentum_full_pct, 1)`.
    pub momentum: f64,
    /// `0.4·structure + 0.35·min(|slope|/2, 1) + 0.25·momentum`.
    pub strength: f64,
    /// Class of the strength.
    pub class: TrendClass,
    /// `bull ≥ 3 ∨ bear ≥ 3`.
    pub intact: bool,
}

impl TrendInfo {
    /// `HH + HL`.
    #[inline]
    pub fn bull(&self) -> u32 {
        self.hh + self.hl
    }

    /// `LH + LL`.
    #[inline]
    pub fn bear(&self) -> u32 {
        self.lh + self.ll
    }
}

/// Range size type.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum RangeKind {
    /// [12, 20) ticks.
    #[default]
    Tight,
    /// [20, 35) ticks.
    Normal,
    /// [35, 50] ticks.
    Wide,
}

/// The range analysis of one decision bar (filled whether or not a range is detected).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RangeInfo {
    /// All detection rules hold.
    pub detected: bool,
    /// Support `S`.
    pub support: Px,
    /// Resistance `R`.
    pub resistance: Px,
    /// `(R − S)/T`.
    pub size_ticks: f64,
    /// Size type.
    pub kind: RangeKind,
    /// Tests of the resistance.
    pub tests_r: u32,
    /// Tests of the support.
    pub tests_s: u32,
    /// Touches (both sides).
    pub touches: u32,
    /// Violations (both sides).
    pub violations: u32,
    /// Consecutive latest closes inside `[S − T, R + T]`.
    pub duration: u32,
    /// `1 − violations/touches` (0 with no touch).
    pub respect: f64,
    /// Quality ∈ [0, 1].
    pub quality: f64,
    /// Bias (set by the classification; `None` without one).
    pub bias: Option<Direction>,
    /// `bias_strength = consistency`.
    pub bias_strength: f64,
}

/// The detector's output at one decision bar.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RegimeOutput {
    /// The regime.
    pub regime: Regime,
    /// Its confidence.
    pub confidence: f64,
    /// Trend analysis.
    pub trend: TrendInfo,
    /// Range analysis.
    pub range: RangeInfo,
    /// The regime's implication (config applied).
    pub implication: Implication,
}

/// The `k`-th bar in time order of the newest `n` bars (`k = 0` the oldest).
#[inline]
fn chrono(ring: &BarRing, n: usize, k: usize) -> Option<&Bar> {
    ring.back(n - 1 - k)
}

/// Swing counts over the newest `structure_bars` bars; a swing point needs `w` bars on each
/// side (the earlier ones may lie before the window).
fn swings(ring: &BarRing, structure_bars: usize, w: usize) -> (u32, u32, u32, u32) {
    let len = ring.len();
    let n = structure_bars.min(len);
    // The bars the test reads (the window and up to `w` before it), copied once into arrays
    // in time order: the same comparisons without a ring lookup per neighbour.
    let first = (len - n).saturating_sub(w);
    // Invariant: m ≤ structure_bars + swing_width ≤ SWING_COPY (both capped by the detector).
    let m = len - first;
    debug_assert!(m <= SWING_COPY, "swings over {m} bars");
    let (mut hs, mut ls) = ([0 as Px; SWING_COPY], [0 as Px; SWING_COPY]);
    for k in 0..m {
        (hs[k], ls[k]) = chrono(ring, len, first + k).map_or((0, 0), |b| (b.high, b.low));
    }
    swings_of(&hs[..m], &ls[..m], m - n, w, first)
}

/// Bars [`swings`] copies at most: `structure_bars` and `swing_width` are each capped at
/// [`RANGE_CAP`] by [`RegimeDetector::new`].
const SWING_COPY: usize = 2 * RANGE_CAP;

/// [`swings`] over the highs `hs` and lows `ls` (time order) of the bars from chronological
/// index `first` of the ring to its newest; the window starts at `hs[from]`.
fn swings_of(hs: &[Px], ls: &[Px], from: usize, w: usize, first: usize) -> (u32, u32, u32, u32) {
    let m = hs.len();
    let (mut hh, mut lh, mut hl, mut ll) = (0, 0, 0, 0);
    let (mut last_h, mut last_l): (Option<Px>, Option<Px>) = (None, None);
    for i in from..m {
        // chronological index first + i: it needs w bars before it in the ring and after it
        if first + i < w || i + w >= m {
            continue;
        }
        let (h, l) = (hs[i], ls[i]);
        // strictly above (below) the w bars on each side; stops at the first bar that is not
        let is_h = hs[i - w..i].iter().all(|&x| h > x) && hs[i + 1..=i + w].iter().all(|&x| h > x);
        let is_l = ls[i - w..i].iter().all(|&x| l < x) && ls[i + 1..=i + w].iter().all(|&x| l < x);
        if is_h {
            if let Some(p) = last_h {
                if h > p {
                    hh += 1;
                } else if h < p {
                    lh += 1;
                }
            }
            last_h = Some(h);
        }
        if is_l {
            if let Some(p) = last_l {
                if l > p {
                    hl += 1;
                } else if l < p {
                    ll += 1;
                }
            }
            last_l = Some(l);
        }
    }
    (hh, lh, hl, ll)
}

/// [`swings`] read from the ring directly (the newest `n` bars): the reference the copying
/// version is tested against.
#[cfg(test)]
fn swings_by_ring(ring: &BarRing, n: usize, w: usize) -> (u32, u32, u32, u32) {
    let len = ring.len();
    let (mut hh, mut lh, mut hl, mut ll) = (0, 0, 0, 0);
    let (mut last_h, mut last_l): (Option<Px>, Option<Px>) = (None, None);
    for i in len - n..len {
        if i < w || i + w >= len {
            continue;
        }
        let Some(b) = chrono(ring, len, i) else { continue };
        let (mut is_h, mut is_l) = (true, true);
        for j in (i - w..i).chain(i + 1..=i + w) {
            let Some(o) = chrono(ring, len, j) else { continue };
            is_h &= b.high > o.high;
            is_l &= b.low < o.low;
        }
        if is_h {
            if let Some(p) = last_h {
                if b.high > p {
                    hh += 1;
                } else if b.high < p {
                    lh += 1;
                }
            }
            last_h = Some(b.high);
        }
        if is_l {
            if let Some(p) = last_l {
                if b.low > p {
                    hl += 1;
                } else if b.low < p {
                    ll += 1;
                }
            }
            last_l = Some(b.low);
        }
    }
    (hh, lh, hl, ll)
}

/// OLS slope of `y` (ticks) over `0..n`.
fn ols_slope(y: &[f64]) -> f64 {
    let n = y.len();
    if n < 2 {
        return 0.0;
    }
    let xm = (n - 1) as f64 / 2.0;
    let ym = y.iter().sum::<f64>() / n as f64;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (i, v) in y.iter().enumerate() {
        let dx = i as f64 - xm;
        sxy += dx * (v - ym);
        sxx += dx * dx;
    }
    sxy / sxx
}

/// Nearest-rank percentile `p` (0–100) of the sorted values.
fn nearest_rank(sorted: &[Px], p: usize) -> Px {
    let n = sorted.len();
    let rank = (p * n).div_ceil(100).clamp(1, n);
    sorted[rank - 1]
}

/// A distance tolerance in 1e-9 units, tested as `|a − b| as f64 ≤ tol` (the spec's test)
/// with an integer compare: for a whole number `0 ≤ d < 2⁵³`, `d as f64 ≤ tol` holds exactly
/// when `d ≤ ⌊tol⌋` (`d as f64` is exact there). Price distances stay far below 2⁵³ (≈ 9·10¹⁵
/// units, 9 million index points), since every price passed the sanity band.
#[derive(Clone, Copy, Debug)]
struct Tol(i64);

impl Tol {
    fn new(tol: f64) -> Self {
        // a negative or NaN tolerance: nothing is within (−1 < every distance)
        Self(if tol >= 0.0 { tol.floor() as i64 } else { -1 })
    }

    /// `|a − b| as f64 ≤ tol`.
    #[inline]
    fn within(self, a: Px, b: Px) -> bool {
        (a - b).abs() <= self.0
    }
}

/// How many of the ascending `sorted` values lie within `tol` of `c`, by the same test as the
/// scan ([`Tol::within`]): that set is contiguous in sorted order (the test is monotone in
/// `|v − c|`), so two binary searches find it.
fn count_within_sorted(sorted: &[Px], c: Px, tol: Tol) -> usize {
    let within = |v: Px| tol.within(v, c);
    if !within(c) {
        return 0; // a negative or NaN tolerance: nothing is within
    }
    let lo = sorted.partition_point(|&v| v < c && !within(v));
    let hi = sorted.partition_point(|&v| v <= c || within(v));
    hi - lo
}

/// The highs and lows of the newest decision bars kept between closes, so a close updates the
/// range analysis' sorted arrays in O(n) (one value out, one in) instead of sorting them.
#[derive(Clone, Debug)]
struct RangeWindow {
    /// Bars in the window at the last sync.
    n: usize,
    /// Highs and lows, newest first.
    wh: [Px; RANGE_CAP],
    wl: [Px; RANGE_CAP],
    /// The same values, ascending.
    sh: [Px; RANGE_CAP],
    sl: [Px; RANGE_CAP],
}

impl Default for RangeWindow {
    fn default() -> Self {
        Self { n: 0, wh: [0; RANGE_CAP], wl: [0; RANGE_CAP], sh: [0; RANGE_CAP], sl: [0; RANGE_CAP] }
    }
}

/// Removes one `out` from and inserts `inp` into the ascending `v[..n]` (`out` is present).
fn replace_sorted(v: &mut [Px], n: usize, out: Option<Px>, inp: Px) {
    let mut len = n;
    if let Some(x) = out {
        let i = v[..len].partition_point(|&y| y < x);
        v.copy_within(i + 1..len, i);
        len -= 1;
    }
    let j = v[..len].partition_point(|&y| y <= inp);
    v.copy_within(j..len, j + 1);
    v[j] = inp;
}

impl RangeWindow {
    /// Makes the window hold the newest `n` (≥ 1, ≤ `ring.len()`) bars of `ring`. When the
    /// ring's bars `1..` are the window of the last sync shifted by one (checked value by
    /// value, so any other ring only costs a rebuild), the new bar goes in and the oldest out;
    /// otherwise the window is rebuilt and sorted. Either way the sorted arrays hold exactly
    /// the newest `n` highs and lows.
    fn sync(&mut self, ring: &BarRing, n: usize) {
        let prev = self.n;
        let shifted = (n == prev || n == prev + 1)
            && prev > 0
            && (0..n - 1)
                .all(|j| ring.back(j + 1).is_some_and(|b| b.high == self.wh[j] && b.low == self.wl[j]));
        let Some(newest) = ring.back(0) else { return };
        if shifted {
            let leaving = (n == prev).then(|| (self.wh[prev - 1], self.wl[prev - 1]));
            replace_sorted(&mut self.sh, prev, leaving.map(|x| x.0), newest.high);
            replace_sorted(&mut self.sl, prev, leaving.map(|x| x.1), newest.low);
            self.wh.copy_within(0..n - 1, 1);
            self.wl.copy_within(0..n - 1, 1);
            self.wh[0] = newest.high;
            self.wl[0] = newest.low;
        } else {
            for k in 0..n {
                let b = ring.back(k).copied().unwrap_or_default();
                self.wh[k] = b.high;
                self.wl[k] = b.low;
            }
            self.sh[..n].copy_from_slice(&self.wh[..n]);
            self.sl[..n].copy_from_slice(&self.wl[..n]);
            insertion_sort(&mut self.sh[..n]);
            insertion_sort(&mut self.sl[..n]);
        }
        self.n = n;
    }
}

fn insertion_sort(v: &mut [Px]) {
    for i in 1..v.len() {
        let x = v[i];
        let mut j = i;
        while j > 0 && v[j - 1] > x {
            v[j] = v[j - 1];
            j -= 1;
        }
        v[j] = x;
    }
}

/// The classification of SIGNALS §9 from the trend and range analyses and the previous three
/// outputs (oldest first; `None` where fewer exist). Fills the range bias.
pub fn classify(trend: &TrendInfo, range: &mut RangeInfo, prev: &[Option<Regime>; 3]) -> (Regime, f64) {
    let (bull, bear) = (trend.bull(), trend.bear());
    let cons = trend.structure;
    let s = trend.vwap_slope;
    if range.detected {
        range.bias_strength = cons;
        range.bias = None;
        if trend.class >= TrendClass::Strong {
            range.bias = match (bull > 4, bear > 4) {
                (true, true) if bull > bear => Some(Direction::Long),
                (true, true) if bear > bull => Some(Direction::Short),
                (true, false) => Some(Direction::Long),
                (false, true) => Some(Direction::Short),
                _ => None,
            };
        }
    }
    if trend.class >= TrendClass::Strong && trend.intact {
        let conf = 0.85 + (0.15 * cons).min(0.15);
        if bull >= 4 && bull > bear && s > 0.5 {
            return (Regime::StrongTrendBullish, conf);
        }
        if bear >= 4 && bear > bull && s < -0.5 {
            return (Regime::StrongTrendBearish, conf);
        }
    }
    if trend.class >= TrendClass::Moderate {
        let conf = 0.65 + (0.2 * cons).min(0.2);
        if bull >= 2 && bull > bear && s > 0.2 {
            return (Regime::WeakTrendBullish, conf);
        }
        if bear >= 2 && bear > bull && s < -0.2 {
            return (Regime::WeakTrendBearish, conf);
        }
    }
    if range.detected {
        match range.bias {
            Some(Direction::Long) if range.bias_strength > 0.5 => {
                return (Regime::RangeBullishBias, 0.70 + 0.2 * range.quality)
            }
            Some(Direction::Short) if range.bias_strength > 0.5 => {
                return (Regime::RangeBearishBias, 0.70 + 0.2 * range.quality)
            }
            _ => return (Regime::RangeNeutral, 0.60 + 0.25 * range.quality),
        }
    }
    if let [Some(a), Some(b), Some(c)] = *prev {
        if a != b && b != c && a != c {
            return (Regime::Transition, 0.50);
        }
    }
    (Regime::Unclear, 0.30)
}

/// The detector: the analyses of the decision bars and the last three outputs.
#[derive(Clone, Debug)]
pub struct RegimeDetector {
    cfg: RegimeDetectorConfig,
    tick: Px,
    implications: [Implication; 9],
    history: [Option<Regime>; 3],
    last: Option<RegimeOutput>,
    nonfinite: u64,
    window: Box<RangeWindow>,
}

impl RegimeDetector {
    /// A detector for tick `tick`. A config that fails [`RegimeDetectorConfig::validate`] is
    /// clamped to the caps.
    pub fn new(cfg: &RegimeDetectorConfig, tick: Px) -> Self {
        let mut c = *cfg;
        c.structure_bars = c.structure_bars.clamp(1, RANGE_CAP);
        c.range_bars = c.range_bars.clamp(1, RANGE_CAP);
        c.slope_bars = c.slope_bars.clamp(2, RANGE_CAP);
        c.swing_width = c.swing_width.clamp(1, RANGE_CAP);
        c.min_bars = c.min_bars.max(1);
        let implications = REGIMES.map(|r| cfg.implications.resolve(r));
        Self {
            cfg: c,
            tick: tick.max(1),
            implications,
            history: [None; 3],
            last: None,
            nonfinite: 0,
            window: Box::default(),
        }
    }

    /// The implication of `r` (config applied).
    #[inline]
    pub fn implication(&self, r: Regime) -> Implication {
        self.implications[r.index()]
    }

    /// The trend analysis of the newest bars of `ring` (needs ≥ 1 bar).
    pub fn trend(&self, ring: &BarRing) -> TrendInfo {
        let (hh, lh, hl, ll) = swings(ring, self.cfg.structure_bars, self.cfg.swing_width);
        let (bull, bear) = (hh + hl, lh + ll);
        let structure = if bull + bear == 0 { 0.0 } else { bull.max(bear) as f64 / (bull + bear) as f64 };
        let vwap_slope = self.slope(ring);
        let momentum = self.momentum(ring);
        let strength = 0.4 * structure + 0.35 * (vwap_slope.abs() / 2.0).min(1.0) + 0.25 * momentum;
        TrendInfo {
            hh,
            lh,
            hl,
            ll,
            structure,
            vwap_slope,
            momentum,
            strength,
            class: TrendClass::of(strength),
            intact: bull >= 3 || bear >= 3,
        }
    }

    /// VWAP slope over `slope_bars` (ticks/bar); the close slope when VWAP is invalid on one
    /// of those bars or they span a session start.
    fn slope(&self, ring: &BarRing) -> f64 {
        let n = self.cfg.slope_bars.min(ring.len());
        if n < 2 {
            return 0.0;
        }
        let Some(first) = chrono(ring, n, 0).copied() else { return 0.0 };
        let mut use_vwap = true;
        for k in 0..n {
            let Some(b) = chrono(ring, n, k) else { return 0.0 };
            use_vwap &= b.vwap_session_close > 0.0
                && b.vwap_session_close.is_finite()
                && b.session_date == first.session_date;
        }
        let tick_pts = self.tick as f64 / PRICE_SCALE as f64;
        let mut y = [0.0f64; RANGE_CAP];
        for (k, v) in y.iter_mut().enumerate().take(n) {
            let Some(b) = chrono(ring, n, k) else { return 0.0 };
            *v = if use_vwap {
                (b.vwap_session_close - first.vwap_session_close) / tick_pts
            } else {
                (b.close - first.close) as f64 / self.tick as f64
            };
        }
        let s = ols_slope(&y[..n]);
        if s.is_finite() {
            s
        } else {
            0.0
        }
    }

    /// `min(|0.6·ROC5 + 0.4·ROC10|·100/momentum_full_pct, 1)`, 0 with fewer than 11 bars.
    fn momentum(&self, ring: &BarRing) -> f64 {
        let c = |k: usize| ring.back(k).map(|b| b.close as f64);
        let (Some(c0), Some(c5), Some(c10)) = (c(0), c(5), c(10)) else { return 0.0 };
        if c5 <= 0.0 || c10 <= 0.0 {
            return 0.0;
        }
        let roc = 0.6 * (c0 - c5) / c5 + 0.4 * (c0 - c10) / c10;
        let m = (roc.abs() * 100.0 / self.cfg.momentum_full_pct).min(1.0);
        if m.is_finite() {
            m
        } else {
            0.0
        }
    }

    /// The range analysis of the newest up to `range_bars` bars (bias left unset).
    pub fn range(&self, ring: &BarRing) -> RangeInfo {
        let n = self.cfg.range_bars.min(ring.len());
        if n == 0 {
            return RangeInfo::default();
        }
        let (mut highs, mut lows) = ([0 as Px; RANGE_CAP], [0 as Px; RANGE_CAP]);
        for k in 0..n {
            let b = ring.back(k).copied().unwrap_or_default();
            highs[k] = b.high;
            lows[k] = b.low;
        }
        insertion_sort(&mut highs[..n]);
        insertion_sort(&mut lows[..n]);
        self.range_sorted(ring, &highs[..n], &lows[..n])
    }

    /// [`Self::range`] with the window kept between closes ([`RangeWindow`]): the same
    /// result, without re-sorting the window at each close.
    fn range_incremental(&mut self, ring: &BarRing) -> RangeInfo {
        let n = self.cfg.range_bars.min(ring.len());
        if n == 0 {
            return RangeInfo::default();
        }
        self.window.sync(ring, n);
        self.range_sorted(ring, &self.window.sh[..n], &self.window.sl[..n])
    }

    /// The range analysis of the newest `highs.len()` bars of `ring`, given their highs and
    /// lows sorted ascending.
    fn range_sorted(&self, ring: &BarRing, highs: &[Px], lows: &[Px]) -> RangeInfo {
        let n = highs.len();
        let t = self.tick as f64;
        let (test_tol, touch_tol, pick_tol) =
            (Tol::new(self.cfg.test_tol_ticks * t), Tol::new(2.0 * t), Tol::new(self.cfg.pick_tol_ticks * t));
        // the bars whose high (low) lies within pick_tol of a candidate, counted on the sorted
        // highs (lows): the same multiset as the window's bars
        let count = |lvl: Px, side_high: bool| {
            count_within_sorted(if side_high { highs } else { lows }, lvl, pick_tol)
        };
        // candidates in tie order: middle, inner, outer
        let pick = |cands: [Px; 3], side_high: bool| {
            let mut best = (cands[0], count(cands[0], side_high));
            for &c in &cands[1..] {
                let k = count(c, side_high);
                if k > best.1 {
                    best = (c, k);
                }
            }
            best.0
        };
        let r = pick([nearest_rank(highs, 90), nearest_rank(highs, 85), nearest_rank(highs, 95)], true);
        let s = pick([nearest_rank(lows, 10), nearest_rank(lows, 15), nearest_rank(lows, 5)], false);
        let tick = self.tick;
        let (mut tests_r, mut tests_s, mut touches, mut violations) = (0u32, 0u32, 0u32, 0u32);
        let mut duration = 0u32;
        let mut inside_run = true;
        for k in 0..n {
            let Some(b) = ring.back(k) else { break };
            tests_r += test_tol.within(b.high, r) as u32;
            tests_s += test_tol.within(b.low, s) as u32;
            if touch_tol.within(b.high, r) {
                touches += 1;
                violations += (b.close > r + tick) as u32;
            }
            if touch_tol.within(b.low, s) {
                touches += 1;
                violations += (b.close < s - tick) as u32;
            }
            if inside_run && b.close >= s - tick && b.close <= r + tick {
                duration += 1;
            } else {
                inside_run = false;
            }
        }
        let respect = if touches == 0 { 0.0 } else { 1.0 - violations as f64 / touches as f64 };
        let size = (r - s) as f64 / t;
        let kind = if size < 20.0 {
            RangeKind::Tight
        } else if size < 35.0 {
            RangeKind::Normal
        } else {
            RangeKind::Wide
        };
        let detected = (self.cfg.range_min_ticks..=self.cfg.range_max_ticks).contains(&size)
            && tests_r >= self.cfg.min_tests
            && tests_s >= self.cfg.min_tests
            && duration >= self.cfg.min_duration
            && respect >= self.cfg.min_respect;
        let size_s = if (15.0..=30.0).contains(&size) {
            1.0
        } else if (12.0..=40.0).contains(&size) {
            0.7
        } else {
            0.3
        };
        let mean_v = |from: usize, to: usize| {
            let (mut sum, mut m) = (0u64, 0u64);
            for b in (from..to).filter_map(|k| ring.back(k)) {
                sum += b.volume as u64;
                m += 1;
            }
            (m > 0).then(|| sum as f64 / m as f64)
        };
        let quieter = match (mean_v(0, 10), mean_v(10, 30)) {
            (Some(a), Some(b)) => a < b,
            _ => false,
        };
        let tests = (tests_r + tests_s) as f64;
        let quality = 0.3 * (tests / 8.0).min(1.0)
            + 0.25 * respect
            + 0.2 * (duration as f64 / 60.0).min(1.0)
            + 0.15 * size_s
            + if quieter { 0.1 } else { 0.0 };
        RangeInfo {
            detected,
            support: s,
            resistance: r,
            size_ticks: size,
            kind,
            tests_r,
            tests_s,
            touches,
            violations,
            duration,
            respect,
            quality,
            bias: None,
            bias_strength: 0.0,
        }
    }

    /// At a decision-bar close: classifies the newest bars of `ring` (the decision
    /// timeframe's) and records the output. `None` (and no record) with fewer than
    /// `min_bars` bars.
    pub fn on_bar_close(&mut self, ring: &BarRing) -> Option<RegimeOutput> {
        if ring.len() < self.cfg.min_bars || ring.is_empty() {
            return None;
        }
        let trend = self.trend(ring);
        let mut range = self.range_incremental(ring);
        let (regime, confidence) = classify(&trend, &mut range, &self.history);
        if !(confidence.is_finite() && trend.strength.is_finite() && range.quality.is_finite()) {
            self.nonfinite += 1;
            return None;
        }
        self.history = [self.history[1], self.history[2], Some(regime)];
        let out = RegimeOutput { regime, confidence, trend, range, implication: self.implication(regime) };
        self.last = Some(out);
        Some(out)
    }

    /// The last output.
    #[inline]
    pub fn last(&self) -> Option<&RegimeOutput> {
        self.last.as_ref()
    }

    /// The last three regimes, oldest first.
    #[inline]
    pub fn history(&self) -> &[Option<Regime>; 3] {
        &self.history
    }

    /// Non-finite analyses met (no output was recorded).
    #[inline]
    pub fn nonfinite_count(&self) -> u64 {
        self.nonfinite
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Px = 250_000_000;
    const P: Px = PRICE_SCALE;

    fn px(ticks: i64) -> Px {
        5000 * P + ticks * T
    }

    fn bar(high: i64, low: i64, close: i64, vwap_ticks: f64, volume: u32) -> Bar {
        Bar {
            open: px(low),
            high: px(high),
            low: px(low),
            close: px(close),
            volume,
            vwap_session_close: 5000.0 + vwap_ticks * 0.25,
            session_date: 20240313,
            ..Bar::default()
        }
    }

    fn ring(bars: impl IntoIterator<Item = Bar>) -> BarRing {
        let mut r = BarRing::new(120);
        for b in bars {
            r.push(b);
        }
        r
    }

    /// Highs `y_i = 8i + w(i mod 4)` ticks, `w = (0, 12, 24, 12)`, lows 4 ticks below, close
    /// 2 below the high. Swing highs at i ≡ 2 (mod 4), swing lows at i ≡ 0.
    fn zigzag(n: usize, sign: i64, vwap_step: f64) -> BarRing {
        ring((0..n as i64).map(|i| {
            let y = 8 * i + [0, 12, 24, 12][(i % 4) as usize];
            if sign > 0 {
                bar(y, y - 4, y - 2, vwap_step * i as f64, 1000)
            } else {
                bar(-y + 4, -y, -y + 2, -vwap_step * i as f64, 1000)
            }
        }))
    }

    /// 40 bars, window = bars 10…39: swing highs 10, 14, …, 34 (38 is not yet known) → 6 HH;
    /// swing lows 12, …, 36 → 6 HL. VWAP +3 ticks/bar. Closes 5080.50, 5073.50 (t−5),
    /// 5060.50 (t−10): momentum = |0.6·7/5073.5 + 0.4·20/5060.5|·200 = 0.481740; strength =
    /// 0.4 + 0.35 + 0.25·0.481740 = 0.870435 → VERY STRONG; STRONG_TREND_BULLISH, confidence
    /// 0.85 + 0.15 = 1.0.
    /// The range analysis kept between closes equals the one sorted from scratch: bars pushed
    /// one at a time into rings shorter and longer than `range_bars` (many equal highs and
    /// lows), with now and then a call on another ring (a rebuild) or a repeated call.
    #[test]
    fn incremental_range_matches_sorted() {
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move |m: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % m) as i64
        };
        for cap in [12usize, 60, 61, 120] {
            for tol in [0.0, 2.0, 5.5, -1.0] {
                let cfg = RegimeDetectorConfig { pick_tol_ticks: tol, ..RegimeDetectorConfig::default() };
                let mut d = RegimeDetector::new(&cfg, T);
                let mut r = BarRing::new(cap);
                let other = zigzag(40, 1, 1.0);
                let mut c = 0i64;
                for i in 0..200 {
                    c += next(9) - 4;
                    let (h, l) = (c + next(4), c - next(4));
                    r.push(bar(h, l, l + next((h - l + 1) as u64), 0.0, 1 + next(50) as u32));
                    assert_eq!(d.range_incremental(&r), d.range(&r), "cap {cap} tol {tol} bar {i}");
                    if i % 37 == 5 {
                        assert_eq!(d.range_incremental(&other), d.range(&other));
                    }
                    if i % 23 == 3 {
                        assert_eq!(d.range_incremental(&r), d.range(&r), "repeated call");
                    }
                }
            }
        }
    }

    /// The integer tolerance test is the float one, on every kind of tolerance (whole, half,
    /// tiny, negative, NaN, infinite, beyond 2⁵³) and distance (zero, at the tolerance, around
    /// it, huge).
    #[test]
    fn integer_tolerance_is_the_float_test() {
        let tols = [
            0.0,
            0.25,
            1.0,
            1.5,
            2.0,
            2.5e8,
            3.75e8,
            5e8,
            1.5e9,
            2e9,
            -1.0,
            -0.0,
            f64::NAN,
            f64::INFINITY,
            9.007_199_254_740_992e15,
            1e17,
            1e-300,
        ];
        let mut x: u64 = 0x1234_5678_9abc_def1;
        for &tol in &tols {
            let t = Tol::new(tol);
            let base = 5_000_000_000_000i64;
            let mut ds: Vec<i64> = vec![0, 1, 2, 249_999_999, 250_000_000, 250_000_001, 1_500_000_000];
            if tol.is_finite() && tol.abs() < 1e15 {
                let f = tol.floor() as i64;
                ds.extend([f - 1, f, f + 1]);
            }
            for _ in 0..200 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                ds.push((x % 4_000_000_000) as i64);
            }
            for d in ds {
                for (a, b) in [(base + d, base), (base, base + d), (base - d, base)] {
                    assert_eq!(t.within(a, b), ((a - b).abs() as f64) <= tol, "tol {tol} a {a} b {b}");
                }
            }
        }
    }

    /// The swing counts from the copied arrays equal the ones read from the ring, for short
    /// and long rings, windows and swing widths (equal highs and lows included).
    #[test]
    fn swings_from_arrays_match_ring() {
        let mut x: u64 = 0x1234_5678_9abc_def1;
        let mut next = move |m: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % m) as i64
        };
        for cap in [3usize, 20, 64, 200] {
            let mut r = BarRing::new(cap);
            let mut c = 0i64;
            for _ in 0..250 {
                c += next(7) - 3;
                r.push(bar(c + next(3), c - next(3), c, 0.0, 10));
                for n in [5usize, 30, 64] {
                    for w in [1usize, 2, 4, 40] {
                        let got = swings(&r, n, w);
                        assert_eq!(got, swings_by_ring(&r, n.min(r.len()), w), "cap {cap} n {n} w {w}");
                    }
                }
            }
        }
    }

    #[test]
    fn strong_trend_bullish() {
        let mut d = RegimeDetector::new(&RegimeDetectorConfig::default(), T);
        let o = d.on_bar_close(&zigzag(40, 1, 3.0));
        let o = o.expect("40 bars ≥ min_bars");
        assert_eq!((o.trend.hh, o.trend.hl, o.trend.lh, o.trend.ll), (6, 6, 0, 0));
        assert!((o.trend.vwap_slope - 3.0).abs() < 1e-6);
        assert!((o.trend.momentum - 0.481740).abs() < 1e-5);
        assert!((o.trend.strength - 0.870435).abs() < 1e-5);
        assert_eq!(o.trend.class, TrendClass::VeryStrong);
        assert!(o.trend.intact && !o.range.detected);
        assert_eq!(o.regime, Regime::StrongTrendBullish);
        assert!((o.confidence - 1.0).abs() < 1e-12);
        assert_eq!(o.implication, Implication { strategy: RegimeStrategy::Trend, size: 1.3, allowed: LONG });
    }

    #[test]
    fn strong_trend_bearish() {
        let mut d = RegimeDetector::new(&RegimeDetectorConfig::default(), T);
        let o = d.on_bar_close(&zigzag(40, -1, 3.0)).expect("enough bars");
        assert_eq!((o.trend.lh, o.trend.ll, o.trend.hh, o.trend.hl), (6, 6, 0, 0));
        assert!((o.trend.vwap_slope + 3.0).abs() < 1e-6);
        assert_eq!((o.regime, o.implication.allowed), (Regime::StrongTrendBearish, SHORT));
    }

    /// Same structure, VWAP +0.3 ticks/bar: strength = 0.4 + 0.35·0.15 + 0.25·0.481740 =
    /// 0.572935 → MODERATE; WEAK_TREND_BULLISH with confidence 0.65 + 0.2 = 0.85.
    #[test]
    fn weak_trend_bullish() {
        let mut d = RegimeDetector::new(&RegimeDetectorConfig::default(), T);
        let o = d.on_bar_close(&zigzag(40, 1, 0.3)).expect("enough bars");
        assert!((o.trend.strength - 0.572935).abs() < 1e-5);
        assert_eq!(o.trend.class, TrendClass::Moderate);
        assert_eq!(o.regime, Regime::WeakTrendBullish);
        assert!((o.confidence - 0.85).abs() < 1e-12);
        let o = d.on_bar_close(&zigzag(40, -1, 0.3)).expect("enough bars");
        assert_eq!(o.regime, Regime::WeakTrendBearish);
    }

    /// A 6-bar cycle between 5000.00 and 5005.00 (ticks: high/low/close = 8/0/6, 14/6/12,
    /// 20/12/14, 16/10/12, 12/4/6, 8/2/4), 60 bars. Percentiles: highs 85/90/95 → 20, lows
    /// 5/10/15 → 0. Tests 10 + 10; touches 10 (R) + 20 (S, lows 0 and 2), no violation;
    /// duration 60; size 20 → NORMAL, size_s 1. quality = 0.3 + 0.25 + 0.2 + 0.15 + 0 = 0.9 →
    /// RANGE_NEUTRAL, 0.60 + 0.225 = 0.825. Quieter last 10 bars → quality 1.0 → 0.85.
    #[test]
    fn range_neutral() {
        let cycle = [(8, 0, 6), (14, 6, 12), (20, 12, 14), (16, 10, 12), (12, 4, 6), (8, 2, 4)];
        let series = |quiet: bool| {
            ring((0..60).map(|i| {
                let (h, l, c) = cycle[i % 6];
                bar(h, l, c, 10.0, if quiet && i >= 50 { 500 } else { 1000 })
            }))
        };
        let mut d = RegimeDetector::new(&RegimeDetectorConfig::default(), T);
        let o = d.on_bar_close(&series(false)).expect("enough bars");
        let r = o.range;
        assert_eq!((r.support, r.resistance, r.size_ticks, r.kind), (px(0), px(20), 20.0, RangeKind::Normal));
        assert_eq!((r.tests_r, r.tests_s, r.touches, r.violations, r.duration), (10, 10, 30, 0, 60));
        assert!(r.detected && (r.respect - 1.0).abs() < 1e-12 && (r.quality - 0.9).abs() < 1e-12);
        assert_eq!((o.trend.bull(), o.trend.bear(), o.trend.class), (0, 0, TrendClass::None));
        assert_eq!(o.regime, Regime::RangeNeutral);
        assert!((o.confidence - 0.825).abs() < 1e-12);
        assert_eq!(o.implication.allowed, Allow::ALL);
        let o = d.on_bar_close(&series(true)).expect("enough bars");
        assert!((o.range.quality - 1.0).abs() < 1e-12 && (o.confidence - 0.85).abs() < 1e-12);
        // bar 20 (an R bar) closes at 22 > R + 1 tick: one violation among the 30 touches
        // → respect 1 − 1/30; the run of closes inside [S − T, R + T] is bars 21…59 = 39
        let mut bars: Vec<Bar> = (0..60)
            .map(|i| {
                let (h, l, c) = cycle[i % 6];
                bar(h, l, c, 10.0, 1000)
            })
            .collect();
        bars[20] = bar(20, 12, 22, 10.0, 1000);
        let o = d.on_bar_close(&ring(bars)).expect("enough bars");
        assert_eq!((o.range.violations, o.range.touches, o.range.duration), (1, 30, 39));
        assert!((o.range.respect - (1.0 - 1.0 / 30.0)).abs() < 1e-12);
    }

    /// Flat (one-price) bars: no swing, size 0 → UNCLEAR 0.30; no bars / too few → None.
    #[test]
    fn unclear_and_edges() {
        let mut d = RegimeDetector::new(&RegimeDetectorConfig::default(), T);
        assert_eq!(d.on_bar_close(&BarRing::new(8)), None, "no bars");
        let flat = |n| ring((0..n).map(|_| bar(0, 0, 0, 0.0, 0)));
        assert_eq!(d.on_bar_close(&flat(29)), None, "29 < min_bars");
        assert_eq!(d.history(), &[None, None, None]);
        let o = d.on_bar_close(&flat(30)).expect("30 bars");
        assert_eq!((o.regime, o.confidence, o.range.detected), (Regime::Unclear, 0.30, false));
        assert_eq!((o.trend.structure, o.trend.vwap_slope, o.trend.momentum), (0.0, 0.0, 0.0));
        assert_eq!(o.implication, Implication { strategy: RegimeStrategy::Wait, size: 0.5, allowed: NONE });
    }

    /// VWAP invalid on one bar → the close slope is used (closes +1 tick/bar → slope 1).
    #[test]
    fn close_slope_fallback() {
        let d = RegimeDetector::new(&RegimeDetectorConfig::default(), T);
        let mut bars: Vec<Bar> = (0..12).map(|i| bar(i, i, i, 5.0 * i as f64, 1)).collect();
        assert!((d.trend(&ring(bars.clone())).vwap_slope - 5.0).abs() < 1e-9);
        bars[8].vwap_session_close = 0.0;
        assert!((d.trend(&ring(bars.clone())).vwap_slope - 1.0).abs() < 1e-9);
        bars[8].vwap_session_close = 5010.0;
        bars[11].session_date = 20240314;
        assert!((d.trend(&ring(bars)).vwap_slope - 1.0).abs() < 1e-9, "a session start");
    }

    /// TRANSITION through the detector: STRONG_TREND_BULLISH, RANGE_NEUTRAL, UNCLEAR, then
    /// the next flat bar sees three different outputs (TRANSITION), the one after sees
    /// (RANGE_NEUTRAL, UNCLEAR, TRANSITION), again all different, and only then UNCLEAR.
    #[test]
    fn transition_through_history() {
        let mut d = RegimeDetector::new(&RegimeDetectorConfig::default(), T);
        let cycle = [(8, 0, 6), (14, 6, 12), (20, 12, 14), (16, 10, 12), (12, 4, 6), (8, 2, 4)];
        let range = ring((0..60).map(|i| {
            let (h, l, c) = cycle[i % 6];
            bar(h, l, c, 10.0, 1000)
        }));
        let flat = ring((0..30).map(|_| bar(0, 0, 0, 0.0, 0)));
        let seq: Vec<Regime> = [&zigzag(40, 1, 3.0), &range, &flat, &flat, &flat, &flat]
            .into_iter()
            .filter_map(|r| d.on_bar_close(r).map(|o| o.regime))
            .collect();
        assert_eq!(
            seq,
            vec![
                Regime::StrongTrendBullish,
                Regime::RangeNeutral,
                Regime::Unclear,
                Regime::Transition,
                Regime::Transition,
                Regime::Unclear
            ]
        );
        assert_eq!(d.last().map(|o| o.confidence), Some(0.30));
    }

    /// Range bias (pure classification): class ≥ strong with HH + HL = 6 > 4, but the VWAP
    /// falls (no bullish trend rule holds) → RANGE_BULLISH_BIAS, 0.70 + 0.2·q.
    #[test]
    fn range_bias_classification() {
        let trend = TrendInfo {
            hh: 3,
            hl: 3,
            structure: 1.0,
            vwap_slope: -2.0,
            strength: 0.75,
            class: TrendClass::Strong,
            intact: true,
            ..TrendInfo::default()
        };
        let mut range = RangeInfo { detected: true, quality: 0.5, ..RangeInfo::default() };
        let (r, c) = classify(&trend, &mut range, &[None; 3]);
        assert_eq!((r, range.bias), (Regime::RangeBullishBias, Some(Direction::Long)));
        assert!((c - 0.8).abs() < 1e-12);
        let bear = TrendInfo { hh: 0, hl: 0, lh: 3, ll: 3, vwap_slope: 2.0, ..trend };
        assert_eq!(classify(&bear, &mut range, &[None; 3]).0, Regime::RangeBearishBias);
        // equal counts → no bias → neutral; weak consistency → neutral
        let even = TrendInfo { lh: 3, ll: 2, hh: 3, hl: 2, structure: 0.5, vwap_slope: 0.1, ..trend };
        assert_eq!(classify(&even, &mut range, &[None; 3]).0, Regime::RangeNeutral);
        assert_eq!(range.bias, None);
        // no range, pairwise different history → TRANSITION; one repeat → UNCLEAR
        let mut none = RangeInfo::default();
        let h = [Some(Regime::RangeNeutral), Some(Regime::Unclear), Some(Regime::WeakTrendBullish)];
        assert_eq!(classify(&TrendInfo::default(), &mut none, &h), (Regime::Transition, 0.50));
        let h = [Some(Regime::Unclear), Some(Regime::RangeNeutral), Some(Regime::Unclear)];
        assert_eq!(classify(&TrendInfo::default(), &mut none, &h), (Regime::Unclear, 0.30));
    }

    #[test]
    fn config_and_implications() {
        let src = "min_bars = 40\n[implications.range_neutral]\nsize = 0.8\n[implications.unclear]\nallowed = \"long\"";
        let c: RegimeDetectorConfig = toml::from_str(src).unwrap_or_default();
        assert_eq!((c.min_bars, c.range_bars), (40, 60));
        assert_eq!(c.validate(), Ok(()));
        let n = c.implications.resolve(Regime::RangeNeutral);
        assert_eq!((n.size, n.allowed, n.strategy), (0.8, Allow::ALL, RegimeStrategy::Range));
        let u = c.implications.resolve(Regime::Unclear);
        assert_eq!((u.size, u.allowed), (0.5, LONG));
        assert!(toml::from_str::<RegimeDetectorConfig>("[implications.unclear]\nallowed = \"up\"").is_err());
        assert!(toml::from_str::<RegimeDetectorConfig>("bogus = 1").is_err());
        let bad = RegimeDetectorConfig { range_bars: 65, ..RegimeDetectorConfig::default() };
        assert!(bad.validate().is_err_and(|e| e.starts_with("range_bars:")));
        let mut bad = RegimeDetectorConfig::default();
        bad.implications.transition.size = Some(-1.0);
        assert!(bad.validate().is_err_and(|e| e.starts_with("implications.transition.size:")));
        assert_eq!(RegimeDetectorConfig::default().lookback(), 60);
        for r in REGIMES {
            assert_eq!(Implication::default_of(r).strategy, r.strategy());
        }
    }

    /// The four sections load under `[signal]` with the `signal.<section>.` error prefix and
    /// survive a TOML round trip.
    #[test]
    fn sections_under_signal() {
        use crate::strategy::registry::StrategiesConfig;
        let src = "[regime.implications.transition]\nallowed = \"none\"\nsize = 0.25\n[levels]\nvalue_area = 0.68\n";
        let c: StrategiesConfig = toml::from_str(src).unwrap_or_default();
        assert_eq!(
            (c.levels.value_area, c.regime.implications.resolve(Regime::Transition).size),
            (0.68, 0.25)
        );
        assert_eq!(c.validate(), Ok(()));
        let text = toml::to_string(&c).unwrap_or_default();
        assert_eq!(toml::from_str::<StrategiesConfig>(&text).ok(), Some(c.clone()));
        let mut bad = c;
        bad.mtf.elite = 0.2;
        assert!(bad.validate().is_err_and(|e| e.starts_with("signal.mtf.standard:")));
        bad.mtf.elite = 0.75;
        bad.zones.prox_ticks = 0;
        assert!(bad.validate().is_err_and(|e| e.starts_with("signal.zones.prox_ticks:")));
    }
}
