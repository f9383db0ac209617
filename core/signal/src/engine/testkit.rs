//! Hand-built inputs shared by the engine's tests (test-only).

use super::inputs::{BnView, EngineInputs, LevelsView, RegimeView, ZoneView};
use super::patterns::PatternHit;
use super::regime::Regime;
use super::types::MlInput;
use crate::features::smart_money::{Behaviour, SmClass, SmartMoneyState};
use crate::features::volatility::VolClass;
use crate::gamma_cycle::{gamma_cycle, GammaCycleConfig, GammaCycleState};
use crate::market::clock::SessionPhase;
use mia_model::bar::Bar;
use mia_model::price::Px;
use mia_model::time::calendar::Date;

/// ES tick.
pub const T: Px = 250_000_000;
/// 5000.00.
pub const BASE: Px = 5_000_000_000_000;

/// 5000.00 + `n` ticks.
pub fn tk(n: i64) -> Px {
    BASE + n * T
}

/// A bar in ticks above 5000.00.
pub fn bar(o: i64, h: i64, l: i64, c: i64, v: u32) -> Bar {
    Bar { open: tk(o), high: tk(h), low: tk(l), close: tk(c), volume: v, ..Bar::default() }
}

/// The T17 trend pullback (long): KS = 5000.00 (bar 2), H = 5004.00 (bar 8, 3 bars back),
/// P = 5002.00, r = 0.5, v_t = 2000 against 1000 before.
pub fn pullback_bars() -> Vec<Bar> {
    let rows = [
        (4, 6, 2, 4),
        (4, 6, 2, 4),
        (4, 6, 0, 2),
        (2, 5, 1, 4),
        (4, 7, 3, 6),
        (6, 9, 5, 8),
        (8, 11, 7, 10),
        (10, 14, 9, 13),
        (13, 16, 12, 15),
        (15, 15, 11, 12),
        (12, 13, 9, 10),
        (10, 11, 7, 8),
    ];
    let n = rows.len();
    rows.iter()
        .enumerate()
        .map(|(i, &(o, h, l, c))| bar(o, h, l, c, if i + 1 == n { 2000 } else { 1000 }))
        .collect()
}

/// The mirror image of `bars` around 5000.00 (a short setup from a long one).
pub fn mirror(bars: &[Bar]) -> Vec<Bar> {
    let m = |p: Px| 2 * BASE - p;
    bars.iter()
        .map(|b| Bar { open: m(b.open), close: m(b.close), high: m(b.low), low: m(b.high), ..*b })
        .collect()
}

/// A smart-money state with score `sm`.
pub fn sm_state(sm: f64) -> SmartMoneyState {
    SmartMoneyState {
        net_flow: 0.0,
        intensity: 0.0,
        persistence: 0.5,
        alignment: 0.0,
        behaviour: Behaviour::Aggressive,
        class: SmClass::Neutral,
        conf: 0.0,
        sm: Some(sm),
    }
}

/// GAMMA_PEAK (T13: 2025-04-10, n_to = 5).
pub fn peak() -> GammaCycleState {
    let d = Date::new(2025, 4, 10).expect("date");
    gamma_cycle(d, &GammaCycleConfig::default()).with_zero_dte(Some(0.3))
}

/// NORMAL (T13: 2024-03-27).
pub fn normal() -> GammaCycleState {
    let d = Date::new(2024, 3, 27).expect("date");
    gamma_cycle(d, &GammaCycleConfig::default()).with_zero_dte(None)
}

/// The owned parts of an [`EngineInputs`].
pub struct Fixture {
    /// Decision bars, oldest first.
    pub bars: Vec<Bar>,
    /// Detected patterns.
    pub patterns: Vec<PatternHit>,
    /// Zones.
    pub zones: Vec<ZoneView>,
}

impl Fixture {
    /// The T17 long: STRONG_TREND_BULLISH (conf 0.95, strength 0.8), S = 0.40, C = 0.72,
    /// M = 0.60, SM = 0.35, no ML, GAMMA_PEAK, Morning (1.2), NORMAL volatility, VWAP one tick
    /// above P and the POC at P (lc = 0.7).
    pub fn t17() -> Self {
        Self { bars: pullback_bars(), patterns: Vec::new(), zones: Vec::new() }
    }

    /// The inputs, with the T17 defaults.
    pub fn inputs(&self) -> EngineInputs<'_> {
        EngineInputs {
            seq: 7,
            ts: 1_000,
            bars: &self.bars,
            regime: RegimeView::with_defaults(Regime::StrongTrendBullish, 0.85 + 0.15 * 2.0 / 3.0, 0.8),
            bn: BnView { s: Some(0.40), ..BnView::default() },
            patterns: &self.patterns,
            base_break_stop_offset_ticks: 4,
            confluence: [0.72, 0.72],
            mtf: Some(0.60),
            smart_money: Some(sm_state(0.35)),
            ml: MlInput::Absent,
            gamma: peak(),
            zdte_high: 0.5,
            phase: SessionPhase::Morning,
            phase_mult: 1.2,
            vol_class: VolClass::Normal,
            levels: LevelsView { vwap: Some(tk(9)), poc: Some(tk(8)), ..LevelsView::default() },
            zones: &self.zones,
            bn_long_threshold: 0.25,
            bn_short_threshold: -0.25,
            options_stale: false,
        }
    }
}
