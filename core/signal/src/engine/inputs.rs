//! What the signal engine reads at a decision point (SIGNALS.md §11), as one explicit input
//! record filled by the wiring code from the modules that produce each field. Every field
//! names the section that produces it.

use super::patterns::PatternHit;
use super::regime::Regime;
use super::types::MlInput;
use crate::features::smart_money::SmartMoneyState;
use crate::features::volatility::VolClass;
use crate::gamma_cycle::GammaCycleState;
use crate::gates::Allow;
use crate::market::bars::BarRing;
use crate::market::clock::SessionPhase;
use mia_model::bar::Bar;
use mia_model::order::Direction;
use mia_model::price::Px;

/// Read access to the completed bars of the decision timeframe, newest first.
pub trait BarHistory {
    /// Bars held.
    fn count(&self) -> usize;
    /// The `k`-th newest completed bar (0 = bar t, the one that just closed).
    fn back(&self, k: usize) -> Option<&Bar>;
}

impl BarHistory for BarRing {
    #[inline]
    fn count(&self) -> usize {
        self.len()
    }
    #[inline]
    fn back(&self, k: usize) -> Option<&Bar> {
        BarRing::back(self, k)
    }
}

/// A slice of bars, oldest first (newest last).
#[derive(Clone, Copy, Debug)]
pub struct BarSlice<'a>(pub &'a [Bar]);

impl BarHistory for BarSlice<'_> {
    #[inline]
    fn count(&self) -> usize {
        self.0.len()
    }
    #[inline]
    fn back(&self, k: usize) -> Option<&Bar> {
        self.0.len().checked_sub(k + 1).and_then(|i| self.0.get(i))
    }
}

/// A vector of bars, oldest first (newest last).
impl BarHistory for Vec<Bar> {
    #[inline]
    fn count(&self) -> usize {
        self.len()
    }
    #[inline]
    fn back(&self, k: usize) -> Option<&Bar> {
        self.len().checked_sub(k + 1).and_then(|i| self.get(i))
    }
}

/// The mean volume of the `n` bars before bar t (`v̄n`, §0), over those that exist; `None`
/// when none does.
pub fn mean_volume_before(bars: &dyn BarHistory, n: usize) -> Option<f64> {
    let mut sum = 0u64;
    let mut k = 0usize;
    while k < n {
        match bars.back(k + 1) {
            Some(b) => sum += u64::from(b.volume),
            None => break,
        }
        k += 1;
    }
    (k > 0).then(|| sum as f64 / k as f64)
}

/// The detector's range (§9), read by the range strategy.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RangeView {
    /// Support `S_r` (on the grid).
    pub support: Px,
    /// Resistance `R_r` (on the grid).
    pub resistance: Px,
    /// Range quality in [0, 1].
    pub quality: f64,
}

/// The regime detector's output (§9) with its implications.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RegimeView {
    /// The class.
    pub regime: Regime,
    /// Its confidence (the table's confidence column), in [0, 1].
    pub confidence: f64,
    /// Trend `strength` in [0, 1].
    pub trend_strength: f64,
    /// The detected range, `None` when no range is detected.
    pub range: Option<RangeView>,
    /// `m_regime` from `[signal.regime] implications.<regime>.size`.
    pub size_mult: f64,
    /// Allowed directions from `implications.<regime>.allowed`.
    pub allowed: Allow,
}

impl RegimeView {
    /// A view with the default implications of `regime` and no range.
    pub fn with_defaults(regime: Regime, confidence: f64, trend_strength: f64) -> Self {
        Self {
            regime,
            confidence,
            trend_strength,
            range: None,
            size_mult: regime.default_size_mult(),
            allowed: regime.default_allowed(),
        }
    }
}

/// The governing Battle Navale base (§3.3).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GoverningBase {
    /// Its kind as a direction: Green = Long, Red = Short (a Neutral base never governs).
    pub kind: Direction,
    /// `high_B`.
    pub high: Px,
    /// `low_B`.
    pub low: Px,
    /// `size = ticks(high_B − low_B)`.
    pub size_ticks: u32,
}

/// Battle Navale and the Sierra bar patterns of the BN timeframe (§3).
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct BnView {
    /// The signed score `S` (§3.5); `None` while the instance is not valid.
    pub s: Option<f64>,
    /// Long Down-Up Bar score (§3.6), 0 when it does not match.
    pub ldub: f64,
    /// Long Up-Down Bar score, 0 when it does not match.
    pub ludb: f64,
    /// Color Down Setting score, 0 when it does not match.
    pub cds: f64,
    /// The governing base, `None` when there is none.
    pub governing: Option<GoverningBase>,
}

/// The price levels the strategies' level-confluence terms read (§5, ES prices on the grid),
/// each `None` when not active or not defined.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct LevelsView {
    /// Session VWAP.
    pub vwap: Option<Px>,
    /// Session POC.
    pub poc: Option<Px>,
    /// Value-area high.
    pub vah: Option<Px>,
    /// Value-area low.
    pub val: Option<Px>,
    /// Previous session's VAH.
    pub pvah: Option<Px>,
    /// Previous session's VAL.
    pub pval: Option<Px>,
    /// Put wall (fresh snapshot).
    pub put_wall: Option<Px>,
    /// Call wall (fresh snapshot).
    pub call_wall: Option<Px>,
}

/// A confluence zone (§5), as the zone gate reads it.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ZoneView {
    /// Centre `(min + max)/2`.
    pub centre: Px,
    /// Side: `true` = Support (centre ≤ P), `false` = Resistance.
    pub support: bool,
}

/// Everything the engine reads at one decision point (a decision-timeframe close, §11), with
/// all features frozen as they were before the triggering event.
#[derive(Clone, Copy)]
pub struct EngineInputs<'a> {
    /// Sequence number of the triggering input.
    pub seq: u64,
    /// Decision time `now` (ns).
    pub ts: u64,
    /// Completed bars of the decision timeframe (§1); bar t is `back(0)` and P = its close.
    pub bars: &'a dyn BarHistory,
    /// Regime and implications (§9).
    pub regime: RegimeView,
    /// Battle Navale `S`, Sierra scores, governing base (§3).
    pub bn: BnView,
    /// The *detected* elite patterns of this close (§4: score > `detect`), any order.
    pub patterns: &'a [PatternHit],
    /// `[signal.patterns.base_break] stop_offset_ticks` (§4 bracket).
    pub base_break_stop_offset_ticks: u32,
    /// Composite confluence `C(d)` (§11), index 0 = long, 1 = short.
    pub confluence: [f64; 2],
    /// MTF score `M` (§6), `None` when invalid.
    pub mtf: Option<f64>,
    /// Smart-money state (§7, [`crate::features::smart_money::SmartMoney::state`]); `None`
    /// or `sm = None` when invalid.
    pub smart_money: Option<SmartMoneyState>,
    /// ML filter (§11).
    pub ml: MlInput,
    /// Gamma-cycle state with its 0DTE fields set (§8).
    pub gamma: GammaCycleState,
    /// `[signal.gamma_cycle] zdte_high` (§8, the 0DTE cap of `g_size`).
    pub zdte_high: f64,
    /// Session phase (F16, §2).
    pub phase: SessionPhase,
    /// The F16 multiplier of `phase` (`[features.session] mult`).
    pub phase_mult: f64,
    /// The F15 class (§2).
    pub vol_class: VolClass,
    /// Levels for the strategies (§5).
    pub levels: LevelsView,
    /// Active confluence zones (§5).
    pub zones: &'a [ZoneView],
    /// `[signal.battle_navale] long_threshold` (§3.5, +0.25).
    pub bn_long_threshold: f64,
    /// `[signal.battle_navale] short_threshold` (§3.5, −0.25).
    pub bn_short_threshold: f64,
    /// The options snapshot is stale or missing (F9–F13 neutral; a flag only).
    pub options_stale: bool,
}

impl EngineInputs<'_> {
    /// P = close of bar t, `None` with no bar.
    #[inline]
    pub fn price(&self) -> Option<Px> {
        self.bars.back(0).map(|b| b.close)
    }

    /// `C(d)`.
    #[inline]
    pub fn confluence_of(&self, d: Direction) -> f64 {
        self.confluence[super::types::dir_index(d)]
    }

    /// SM, `None` when invalid.
    #[inline]
    pub fn sm(&self) -> Option<f64> {
        self.smart_money.and_then(|s| s.sm).filter(|v| v.is_finite())
    }

    /// S, `None` when invalid.
    #[inline]
    pub fn s(&self) -> Option<f64> {
        self.bn.s.filter(|v| v.is_finite())
    }

    /// M, `None` when invalid.
    #[inline]
    pub fn m(&self) -> Option<f64> {
        self.mtf.filter(|v| v.is_finite())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slice_history_and_mean_volume() {
        let mut bars = [Bar::default(); 4];
        for (i, b) in bars.iter_mut().enumerate() {
            b.volume = 100 * (i as u32 + 1);
        }
        let h = &BarSlice(&bars);
        assert_eq!(h.count(), 4);
        assert_eq!(h.back(0).map(|b| b.volume), Some(400));
        assert_eq!(h.back(3).map(|b| b.volume), Some(100));
        assert!(h.back(4).is_none());
        // The 2 bars before t: 300, 200.
        assert_eq!(mean_volume_before(h, 2), Some(250.0));
        // Only 3 exist before t.
        assert_eq!(mean_volume_before(h, 10), Some(200.0));
        assert_eq!(mean_volume_before(&BarSlice(&bars[..1]), 10), None);
    }
}
