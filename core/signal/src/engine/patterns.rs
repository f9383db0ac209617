//! The elite patterns (SIGNALS.md §4, `[signal.patterns.*]`): 1 BN base break, 2 gamma pin,
//! 3 headfake, 4 microstructure anomaly, 5 confluence zone, and the optional 6 liquidity
//! sweep (off by default). Each is evaluated at a decision-bar close with `P = close_t`, on the
//! completed bars of the decision ring, and yields a [`PatternHit`] (score in [0, 1] and a
//! [`Direction`], Flat = none). A pattern is *detected* iff its score > `detect`.
//!
//! Inputs owned by other modules are explicit arguments: the Battle Navale state
//! ([`BnState`]), the gamma walls already mapped to ES prices and the net GEX (F9, `None`
//! unless the snapshot is fresh), the zones of §5 ([`ZoneInput`]) and the OBI. Every
//! evaluation is O(lookback) at a bar close and allocates nothing.
//!
//! Decisions where the spec is silent:
//! - headfake: a bull and a bear break of equal excursion → no pattern; a window with zero
//!   mean volume has no spike;
//! - gamma pin: the low-volume multiplier needs the 5 previous bars;
//! - base break: the volume term is 0 when the base's mean volume is 0;
//! - liquidity sweep: both sides swept at once → no pattern; the bare `12T` of the score is
//!   `2·min_wick_ticks` (equal by default);
//! - no pattern filters its lookback by session (bars are not reset at a session change).
//!
//! Departures from SIGNALS §4 (issue 8 item 8; rule, reason and effect in docs/strategy.md
//! "Departures of the patterns"): the microstructure flow anomaly is a z-score of the signed
//! flow against its history (`flow_z`), not the band `[0.05, 0.6]` that flagged every balanced
//! bar; the imbalance anomaly also needs the closing OBI's z-score (`imb_z`); `spread_z` is
//! 3σ like volume; a headfake's break must reach `min_break_range` mean bar ranges, close back
//! at or inside the level (`rejection_ticks = 0`) and be confirmed by absorption or a delta
//! against it; the confluence zone's direction is the side price came from.

use super::battle_navale::{BaseKind, BnState, GoldenRule};
use crate::market::bars::{BarRing, BAR_RING_CAP};
use mia_model::bar::Bar;
use mia_model::order::Direction;
use mia_model::price::Px;

/// Cap of the headfake and sweep lookbacks and of the microstructure history.
pub const PATTERN_WINDOW_CAP: usize = 256;

/// Pattern ids (§4), as on the wire (`pattern_id` u8; 0 = none).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(u8)]
pub enum PatternId {
    /// No pattern.
    #[default]
    None = 0,
    /// BN base break.
    BaseBreak = 1,
    /// Gamma pin.
    GammaPin = 2,
    /// Headfake.
    Headfake = 3,
    /// Microstructure anomaly.
    Microstructure = 4,
    /// Confluence zone.
    ConfluenceZone = 5,
    /// Liquidity sweep (optional).
    LiquiditySweep = 6,
}

/// One pattern's result.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PatternHit {
    /// Which pattern.
    pub id: PatternId,
    /// Score in [0, 1] (0 = no match).
    pub score: f64,
    /// Direction (Flat = none).
    pub dir: Direction,
}

impl PatternHit {
    fn new(id: PatternId, score: f64, dir: Direction) -> Self {
        let score = if score.is_finite() { score.clamp(0.0, 1.0) } else { 0.0 };
        Self { id, score, dir }
    }

    fn none(id: PatternId) -> Self {
        Self { id, score: 0.0, dir: Direction::Flat }
    }

    /// Detected: `score > detect`.
    #[inline]
    pub fn detected(&self, detect: f64) -> bool {
        self.score > detect
    }
}

fn finite_in(key: &str, x: f64, lo: f64, hi: f64) -> Result<(), String> {
    if x.is_finite() && x >= lo && x <= hi {
        Ok(())
    } else {
        Err(format!("{key}: {x} must be finite and in [{lo}, {hi}]"))
    }
}

fn window(key: &str, n: usize, lo: usize) -> Result<(), String> {
    let hi = PATTERN_WINDOW_CAP.min(BAR_RING_CAP - 1);
    if (lo..=hi).contains(&n) {
        Ok(())
    } else {
        Err(format!("{key}: {n} outside {lo}..={hi}"))
    }
}

/// `[signal.patterns.base_break]`.
#[derive(Clone, Copy, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct BaseBreakConfig {
    /// Least base quality.
    pub min_base_quality: f64,
    /// Stop beyond the band (ticks).
    pub stop_offset_ticks: u32,
}

impl Default for BaseBreakConfig {
    fn default() -> Self {
        Self { min_base_quality: 0.6, stop_offset_ticks: 4 }
    }
}

/// `[signal.patterns.gamma_pin]`.
#[derive(Clone, Copy, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct GammaPinConfig {
    /// A wall pins within this distance (ticks).
    pub proximity_ticks: f64,
    /// Least net GEX ($bn per 1 %).
    pub min_gex_bn: f64,
    /// GEX of factor 1 ($bn).
    pub gex_ref_bn: f64,
    /// `v_t < ratio·mean(v_{t−5…t−1})` applies the low-volume multiplier.
    pub low_vol_ratio: f64,
    /// The low-volume multiplier.
    pub low_vol_mult: f64,
}

impl Default for GammaPinConfig {
    fn default() -> Self {
        Self { proximity_ticks: 5.0, min_gex_bn: 1.0, gex_ref_bn: 5.0, low_vol_ratio: 0.7, low_vol_mult: 1.2 }
    }
}

/// `[signal.patterns.headfake]`.
#[derive(Clone, Copy, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct HeadfakeConfig {
    /// Bars of the window, the current one included.
    pub lookback: usize,
    /// Volume spike threshold.
    pub min_spike: f64,
    /// `abs(delta)/(buy + sell)` below it, with a spike: absorption.
    pub max_delta_ratio: f64,
    /// The close must come back within this of the broken level (ticks; 0 = at or inside it).
    pub rejection_ticks: f64,
    /// Least excursion beyond the broken level, in mean bar ranges of the previous
    /// `lookback − 1` bars (at least one tick): a poke smaller than that is noise, not a
    /// breakout (departure from SIGNALS §4, docs/strategy.md).
    pub min_break_range: f64,
}

impl Default for HeadfakeConfig {
    fn default() -> Self {
        Self {
            lookback: 10,
            min_spike: 1.5,
            max_delta_ratio: 0.3,
            rejection_ticks: 0.0,
            min_break_range: 0.5,
        }
    }
}

/// `[signal.patterns.microstructure]`.
#[derive(Clone, Copy, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MicrostructureConfig {
    /// Decision bars before t in the history.
    pub hist_len: usize,
    /// Least history.
    pub min_hist: usize,
    /// Volume z-score threshold.
    pub vol_z: f64,
    /// Spread z-score threshold.
    pub spread_z: f64,
    /// Order-flow z-score threshold: the bar's signed flow `delta/v` against the same history
    /// (departure from SIGNALS §4's fixed band `[0.05, 0.6]`, docs/strategy.md).
    pub flow_z: f64,
    /// `abs(obi)` above it: an imbalance anomaly (with `imb_z`).
    pub imb: f64,
    /// The OBI's z-score against the history's closing OBIs must also exceed it: a book that
    /// closes one-sided on most bars is not anomalous when it does so again (departure).
    pub imb_z: f64,
}

impl Default for MicrostructureConfig {
    fn default() -> Self {
        Self { hist_len: 30, min_hist: 10, vol_z: 3.0, spread_z: 3.0, flow_z: 3.0, imb: 0.8, imb_z: 3.0 }
    }
}

/// `[signal.patterns.confluence_zone]`.
#[derive(Clone, Copy, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConfluenceZoneConfig {
    /// Least levels in the zone.
    pub min_levels: u32,
    /// The centre within this of P also counts (ticks).
    pub near_ticks: f64,
}

impl Default for ConfluenceZoneConfig {
    fn default() -> Self {
        Self { min_levels: 3, near_ticks: 3.0 }
    }
}

/// `[signal.patterns.liquidity_sweep]`.
#[derive(Clone, Copy, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LiquiditySweepConfig {
    /// Off by default.
    pub enabled: bool,
    /// Previous bars whose extreme is swept.
    pub lookback: usize,
    /// Least wick (ticks).
    pub min_wick_ticks: u32,
    /// Least target distance (ticks).
    pub target_ticks: u32,
}

impl Default for LiquiditySweepConfig {
    fn default() -> Self {
        Self { enabled: false, lookback: 10, min_wick_ticks: 6, target_ticks: 8 }
    }
}

/// `[signal.patterns]`.
#[derive(Clone, Copy, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PatternsConfig {
    /// Detected iff score > detect.
    pub detect: f64,
    /// Pattern 1.
    pub base_break: BaseBreakConfig,
    /// Pattern 2.
    pub gamma_pin: GammaPinConfig,
    /// Pattern 3.
    pub headfake: HeadfakeConfig,
    /// Pattern 4.
    pub microstructure: MicrostructureConfig,
    /// Pattern 5.
    pub confluence_zone: ConfluenceZoneConfig,
    /// Pattern 6.
    pub liquidity_sweep: LiquiditySweepConfig,
}

impl Default for PatternsConfig {
    fn default() -> Self {
        Self {
            detect: 0.3,
            base_break: BaseBreakConfig::default(),
            gamma_pin: GammaPinConfig::default(),
            headfake: HeadfakeConfig::default(),
            microstructure: MicrostructureConfig::default(),
            confluence_zone: ConfluenceZoneConfig::default(),
            liquidity_sweep: LiquiditySweepConfig::default(),
        }
    }
}

impl PatternsConfig {
    /// Checks the section against the caps; the error names the key (`base_break.…` etc.).
    ///
    /// # Errors
    /// `key: reason` for the first bad key.
    pub fn validate(&self) -> Result<(), String> {
        finite_in("detect", self.detect, 0.0, 1.0)?;
        let b = &self.base_break;
        finite_in("base_break.min_base_quality", b.min_base_quality, 0.0, 1.0)?;
        if b.stop_offset_ticks > 1000 {
            return Err(format!("base_break.stop_offset_ticks: {} outside 0..=1000", b.stop_offset_ticks));
        }
        let g = &self.gamma_pin;
        finite_in("gamma_pin.proximity_ticks", g.proximity_ticks, 1e-9, 1000.0)?;
        finite_in("gamma_pin.min_gex_bn", g.min_gex_bn, 0.0, 1e6)?;
        finite_in("gamma_pin.gex_ref_bn", g.gex_ref_bn, 1e-9, 1e6)?;
        finite_in("gamma_pin.low_vol_ratio", g.low_vol_ratio, 0.0, 10.0)?;
        finite_in("gamma_pin.low_vol_mult", g.low_vol_mult, 0.0, 10.0)?;
        let h = &self.headfake;
        window("headfake.lookback", h.lookback, 2)?;
        finite_in("headfake.min_spike", h.min_spike, 0.0, 1e6)?;
        finite_in("headfake.max_delta_ratio", h.max_delta_ratio, 0.0, 1.0)?;
        finite_in("headfake.rejection_ticks", h.rejection_ticks, 0.0, 1000.0)?;
        finite_in("headfake.min_break_range", h.min_break_range, 0.0, 100.0)?;
        let m = &self.microstructure;
        window("microstructure.hist_len", m.hist_len, 2)?;
        if !(2..=m.hist_len).contains(&m.min_hist) {
            return Err(format!("microstructure.min_hist: {} outside 2..=hist_len", m.min_hist));
        }
        finite_in("microstructure.vol_z", m.vol_z, 0.0, 1e6)?;
        finite_in("microstructure.spread_z", m.spread_z, 0.0, 1e6)?;
        finite_in("microstructure.flow_z", m.flow_z, 0.0, 1e6)?;
        finite_in("microstructure.imb", m.imb, 0.5, 1.0)?;
        finite_in("microstructure.imb_z", m.imb_z, 0.0, 1e6)?;
        let z = &self.confluence_zone;
        if !(1..=48).contains(&z.min_levels) {
            return Err(format!("confluence_zone.min_levels: {} outside 1..=48", z.min_levels));
        }
        finite_in("confluence_zone.near_ticks", z.near_ticks, 0.0, 1000.0)?;
        let s = &self.liquidity_sweep;
        window("liquidity_sweep.lookback", s.lookback, 1)?;
        if !(1..=1000).contains(&s.min_wick_ticks) {
            return Err(format!("liquidity_sweep.min_wick_ticks: {} outside 1..=1000", s.min_wick_ticks));
        }
        if s.target_ticks > 1000 {
            return Err(format!("liquidity_sweep.target_ticks: {} outside 0..=1000", s.target_ticks));
        }
        Ok(())
    }

    /// The decision-ring bars the patterns need (the current bar included).
    pub fn lookback(&self) -> usize {
        self.headfake
            .lookback
            .max(self.microstructure.hist_len + 1)
            .max(self.liquidity_sweep.lookback + 1)
            .max(6)
    }
}

#[inline]
fn ticks(x: Px, tick: Px) -> f64 {
    x as f64 / tick.max(1) as f64
}

#[inline]
fn sgn_dir(x: f64) -> Direction {
    if x > 0.0 {
        Direction::Long
    } else if x < 0.0 {
        Direction::Short
    } else {
        Direction::Flat
    }
}

// ---------------------------------------------------------------- 1. base break

/// Pattern 1 and its bracket (§4, used in §10).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BaseBreak {
    /// The hit.
    pub hit: PatternHit,
    /// Entry = `close_t` (a marketable limit); 0 without a hit.
    pub entry: Px,
    /// `low_B − offset` (long) or `high_B + offset` (short).
    pub stop: Px,
    /// `entry ± 2·risk`.
    pub target: Px,
}

/// Pattern 1 at the close of `bar` from the Battle Navale state of that close: the governing
/// base was finalized at this close with `close_t > high_B` (Green ∧ Bullish) or
/// `close_t < low_B` (Red ∧ Bearish), and `q ≥ min_base_quality`. Score
/// `0.5q + 0.3·min(1, max(0, d·S)/0.5) + 0.2·min(1, v_t/(1.5·v̄_base))`.
pub fn base_break(cfg: &BaseBreakConfig, bn: &BnState, bar: &Bar, tick: Px) -> BaseBreak {
    let none = BaseBreak { hit: PatternHit::none(PatternId::BaseBreak), ..BaseBreak::default() };
    let Some(b) = bn.governing.filter(|_| bn.valid && bn.governing_finalized_now) else { return none };
    let dir = match (b.kind, bn.golden) {
        (BaseKind::Green, GoldenRule::Bullish) if bar.close > b.high => Direction::Long,
        (BaseKind::Red, GoldenRule::Bearish) if bar.close < b.low => Direction::Short,
        _ => return none,
    };
    if b.quality < cfg.min_base_quality {
        return none;
    }
    let d = dir.sign() as f64;
    let vol = if b.mean_volume > 0.0 { (bar.volume as f64 / (1.5 * b.mean_volume)).min(1.0) } else { 0.0 };
    let score = 0.5 * b.quality + 0.3 * ((d * bn.score).max(0.0) / 0.5).min(1.0) + 0.2 * vol;
    let off = cfg.stop_offset_ticks as i64 * tick;
    let entry = bar.close;
    let stop = if dir == Direction::Long { b.low - off } else { b.high + off };
    let target = entry + 2 * (entry - stop);
    BaseBreak { hit: PatternHit::new(PatternId::BaseBreak, score, dir), entry, stop, target }
}

// ---------------------------------------------------------------- 2. gamma pin

/// Gamma-pin strength classes (§4 notes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum GammaPinStrength {
    /// ≥ 0.9.
    Extreme,
    /// ≥ 0.7.
    Strong,
    /// ≥ 0.5.
    Moderate,
    /// ≥ 0.3.
    Weak,
    /// Below 0.3.
    #[default]
    NoPin,
}

impl GammaPinStrength {
    /// The class of score `s`.
    pub fn of(s: f64) -> Self {
        if s >= 0.9 {
            Self::Extreme
        } else if s >= 0.7 {
            Self::Strong
        } else if s >= 0.5 {
            Self::Moderate
        } else if s >= 0.3 {
            Self::Weak
        } else {
            Self::NoPin
        }
    }
}

/// Pattern 2 at the close of `ring.back(0)`. `net_gex_bn` is F9, `None` unless the snapshot is
/// fresh; the walls are ES prices (`None` when undefined). Needs F9 ≥ `min_gex_bn`; per wall
/// within `proximity_ticks`, `sᵂ = 1 − dist/proximity_ticks`, the stronger kept, × the
/// continuous `min(F9/gex_ref_bn, 2)`, × `low_vol_mult` on low volume, capped at 1. Call wall
/// → Short, put wall → Long, a tie → none.
pub fn gamma_pin(
    cfg: &GammaPinConfig,
    ring: &BarRing,
    net_gex_bn: Option<f64>,
    call_wall: Option<Px>,
    put_wall: Option<Px>,
    tick: Px,
) -> PatternHit {
    let none = PatternHit::none(PatternId::GammaPin);
    let (Some(bar), Some(gex)) = (ring.back(0), net_gex_bn.filter(|g| g.is_finite())) else { return none };
    if gex < cfg.min_gex_bn {
        return none;
    }
    let p = bar.close;
    let s_of = |w: Option<Px>| {
        w.map(|w| ticks(p - w, tick).abs())
            .filter(|&d| d <= cfg.proximity_ticks)
            .map_or(0.0, |d| 1.0 - d / cfg.proximity_ticks)
    };
    let (sc, sp) = (s_of(call_wall), s_of(put_wall));
    let (s, dir) = if sc > sp {
        (sc, Direction::Short)
    } else if sp > sc {
        (sp, Direction::Long)
    } else {
        (sc, Direction::Flat)
    };
    if s <= 0.0 {
        return none;
    }
    let mut score = s * (gex / cfg.gex_ref_bn).min(2.0);
    let prev: Option<u64> = (1..=5).map(|k| ring.back(k).map(|b| b.volume as u64)).sum();
    if let Some(sum) = prev {
        if (bar.volume as f64) < cfg.low_vol_ratio * sum as f64 / 5.0 {
            score *= cfg.low_vol_mult;
        }
    }
    PatternHit::new(PatternId::GammaPin, score.min(1.0), dir)
}

// ---------------------------------------------------------------- 3. headfake

/// Headfake types (§4 notes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum HeadFakeType {
    /// A failed upside break, score ≥ 0.7.
    BullTrap,
    /// A failed downside break, score ≥ 0.7.
    BearTrap,
    /// Score ≥ 0.3.
    RangeFake,
    /// Otherwise.
    #[default]
    None,
}

/// Pattern 3 and its type.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Headfake {
    /// The hit (Short for a bull trap, Long for a bear trap).
    pub hit: PatternHit,
    /// The type.
    pub kind: HeadFakeType,
    /// The broken level (R or Sp), 0 without a break.
    pub level: Px,
}

/// Pattern 3 at the close of `ring.back(0)`: a break of the previous `lookback − 1` bars'
/// range by at least `max(1 tick, min_break_range × their mean bar range)`, **rejected** (the
/// close back within `rejection_ticks` of the level) and **confirmed** by absorption or by
/// a delta against the break; score `0.3 + 0.4·[spike > min_spike] + 0.6·[absorption]`,
/// capped at 1 (departure 10; the size and confirmation requirements depart from SIGNALS §4,
/// docs/strategy.md).
pub fn headfake(cfg: &HeadfakeConfig, ring: &BarRing, tick: Px) -> Headfake {
    let none = Headfake { hit: PatternHit::none(PatternId::Headfake), ..Headfake::default() };
    let n = cfg.lookback.saturating_sub(1);
    let Some(bar) = ring.back(0) else { return none };
    if n == 0 || ring.len() < n + 1 {
        return none;
    }
    let (mut r, mut sp, mut vsum, mut range_sum) = (Px::MIN, Px::MAX, 0u64, 0i128);
    for k in 1..=n {
        let Some(b) = ring.back(k) else { return none };
        r = r.max(b.high);
        sp = sp.min(b.low);
        vsum += b.volume as u64;
        range_sum += (b.high - b.low) as i128;
    }
    let up = bar.high - r;
    let down = sp - bar.low;
    let bull = if up > 0 && down > 0 {
        match up.cmp(&down) {
            std::cmp::Ordering::Greater => true,
            std::cmp::Ordering::Less => false,
            std::cmp::Ordering::Equal => return none,
        }
    } else if up > 0 {
        true
    } else if down > 0 {
        false
    } else {
        return none;
    };
    let min_break = (cfg.min_break_range * range_sum as f64 / n as f64).max(tick as f64);
    if ((if bull { up } else { down }) as f64) < min_break {
        return none;
    }
    let rej = cfg.rejection_ticks * tick as f64;
    let rejected = if bull { ((bar.close - r) as f64) <= rej } else { ((sp - bar.close) as f64) <= rej };
    if !rejected {
        return none;
    }
    let spike = if vsum > 0 { bar.volume as f64 * n as f64 / vsum as f64 } else { 0.0 };
    let bs = bar.buy_vol as u64 + bar.sell_vol as u64;
    let low_delta = bs > 0 && (bar.delta as f64).abs() / (bs as f64) < cfg.max_delta_ratio;
    let fp = if bull { bar.fp_babs > 0 } else { bar.fp_sabs > 0 };
    let absorption = (spike > cfg.min_spike && low_delta) || fp;
    let against = if bull { bar.delta < 0 } else { bar.delta > 0 };
    if !(absorption || against) {
        return none;
    }
    let spike_term: f64 = if spike > cfg.min_spike { 0.4 } else { 0.0 };
    let score = (0.3 + spike_term + if absorption { 0.6 } else { 0.0 }).min(1.0);
    let kind = if score >= 0.7 {
        if bull {
            HeadFakeType::BullTrap
        } else {
            HeadFakeType::BearTrap
        }
    } else if score >= 0.3 {
        HeadFakeType::RangeFake
    } else {
        HeadFakeType::None
    };
    let dir = if bull { Direction::Short } else { Direction::Long };
    Headfake { hit: PatternHit::new(PatternId::Headfake, score, dir), kind, level: if bull { r } else { sp } }
}

// ---------------------------------------------------------------- 4. microstructure

/// The anomaly kinds (one enum, departure 9), in tie-break order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AnomalyType {
    /// No anomaly.
    #[default]
    None,
    /// Volume z-score.
    Volume,
    /// Spread z-score.
    Spread,
    /// The signed flow `delta/v` far from its recent distribution (z-score).
    OrderFlow,
    /// `abs(obi)` beyond `imb`.
    Imbalance,
}

/// Pattern 4 and its parts.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Microstructure {
    /// The hit; its score is the strength `max(a_v, a_s, a_f, a_i)`.
    pub hit: PatternHit,
    /// The argmax (ties: Volume > Spread > OrderFlow > Imbalance).
    pub kind: AnomalyType,
    /// `mean(a_v, a_s, a_f, a_i)` (published only).
    pub anomaly_score: f64,
    /// The four parts (volume, spread, flow, imbalance).
    pub parts: [f64; 4],
}

/// The bar's signed order flow `delta/volume` (0 for an empty bar).
fn flow(b: &Bar) -> f64 {
    if b.volume > 0 {
        b.delta as f64 / b.volume as f64
    } else {
        0.0
    }
}

/// `abs(x − mean)/std` of `x` against `n` samples with sums `s`, `s2` (0 if std = 0).
fn zscore(x: f64, n: f64, s: f64, s2: f64) -> f64 {
    let mean = s / n;
    let var = (s2 / n - mean * mean).max(0.0);
    let std = var.sqrt();
    if std > 0.0 && std.is_finite() {
        (x - mean).abs() / std
    } else {
        0.0
    }
}

/// Pattern 4 at the close of `ring.back(0)`, against the `hist_len` bars before it (at least
/// `min_hist`). `obi` is the OBI at the close (`None` when invalid). Volume, spread, signed
/// flow `delta/v` and closing OBI are each z-scored against the history (the flow and the
/// OBI tests depart from SIGNALS §4, see the module doc).
pub fn microstructure(cfg: &MicrostructureConfig, ring: &BarRing, obi: Option<f64>) -> Microstructure {
    let none =
        Microstructure { hit: PatternHit::none(PatternId::Microstructure), ..Microstructure::default() };
    let Some(bar) = ring.back(0) else { return none };
    let n = cfg.hist_len.min(ring.len().saturating_sub(1));
    if n < cfg.min_hist || n == 0 {
        return none;
    }
    // volume sums exact in integers; the spread and the flow are ratios already
    let (mut vs, mut vs2, mut ss, mut ss2, mut fs, mut fs2) = (0u128, 0u128, 0f64, 0f64, 0f64, 0f64);
    let (mut os, mut os2) = (0f64, 0f64);
    for k in 1..=n {
        let Some(b) = ring.back(k) else { return none };
        let v = b.volume as u128;
        vs += v;
        vs2 += v * v;
        let sp = b.spread_mean_ticks as f64;
        ss += sp;
        ss2 += sp * sp;
        let f = flow(b);
        fs += f;
        fs2 += f * f;
        let o = if b.obi_close.is_finite() { b.obi_close as f64 } else { 0.0 };
        os += o;
        os2 += o * o;
    }
    let nf = n as f64;
    let v = bar.volume as u128;
    // z_v² = (n·x − Σ)² / (nΣ² − Σ²), exact numerator and denominator
    let num = (n as i128 * v as i128 - vs as i128).unsigned_abs() as f64;
    let den = ((n as u128 * vs2).saturating_sub(vs * vs) as f64).sqrt();
    let z_v = if den > 0.0 { num / den } else { 0.0 };
    let a_v = if z_v > cfg.vol_z { (z_v / 5.0).min(1.0) } else { 0.0 };
    let z_s = zscore(bar.spread_mean_ticks as f64, nf, ss, ss2);
    let a_s = if z_s > cfg.spread_z { (z_s / 4.0).min(1.0) } else { 0.0 };
    // departure: the flow is anomalous when it is far from its own recent distribution (the
    // same z-score test as volume, with the same scale), not when it is balanced
    let z_f = if bar.volume > 0 { zscore(flow(bar), nf, fs, fs2) } else { 0.0 };
    let a_f = if z_f > cfg.flow_z { (z_f / 5.0).min(1.0) } else { 0.0 };
    let obi = obi.filter(|o| o.is_finite()).unwrap_or(0.0);
    let z_i = zscore(obi, nf, os, os2);
    let a_i =
        if obi.abs() > cfg.imb && z_i > cfg.imb_z { ((obi.abs() - 0.5) / 0.5).clamp(0.0, 1.0) } else { 0.0 };
    let parts = [a_v, a_s, a_f, a_i];
    let kinds = [AnomalyType::Volume, AnomalyType::Spread, AnomalyType::OrderFlow, AnomalyType::Imbalance];
    let (mut best, mut kind) = (0.0, AnomalyType::None);
    for (a, k) in parts.iter().zip(kinds) {
        if *a > best {
            (best, kind) = (*a, k);
        }
    }
    let dir = match kind {
        AnomalyType::Volume | AnomalyType::OrderFlow => sgn_dir(bar.delta as f64),
        AnomalyType::Imbalance => sgn_dir(obi),
        AnomalyType::Spread | AnomalyType::None => Direction::Flat,
    };
    Microstructure {
        hit: PatternHit::new(PatternId::Microstructure, best, dir),
        kind,
        anomaly_score: parts.iter().sum::<f64>() / 4.0,
        parts,
    }
}

// ---------------------------------------------------------------- 5. confluence zone

/// A zone of §5, as the zone analyzer publishes it.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ZoneInput {
    /// Lower bound.
    pub low: Px,
    /// Upper bound.
    pub high: Px,
    /// Centre.
    pub center: Px,
    /// Zone score in [0, 1].
    pub score: f64,
    /// Levels in the zone.
    pub n_levels: u32,
}

/// Pattern 5: the nearest zone (by `|centre − P|`, the lower centre on a tie) with
/// `n_levels ≥ min_levels` contains P or has its centre within `near_ticks`; score = the
/// zone score. Direction (departure from SIGNALS §4, docs/strategy.md): the side price came
/// from, the most recent close of `ring` before the current bar outside the zone's bounds:
/// above → the zone is support → Long, below → resistance → Short; when every close of the
/// ring lies inside the zone, SIGNALS §4's rule (Long if centre ≤ P).
pub fn confluence_zone(
    cfg: &ConfluenceZoneConfig,
    zones: &[ZoneInput],
    ring: &BarRing,
    tick: Px,
) -> PatternHit {
    let none = PatternHit::none(PatternId::ConfluenceZone);
    let Some(p) = ring.back(0).map(|b| b.close) else { return none };
    let mut best: Option<&ZoneInput> = None;
    for z in zones.iter().filter(|z| z.n_levels >= cfg.min_levels) {
        let d = (z.center - p).unsigned_abs();
        let better = best.is_none_or(|b| {
            let bd = (b.center - p).unsigned_abs();
            d < bd || (d == bd && z.center < b.center)
        });
        if better {
            best = Some(z);
        }
    }
    let Some(z) = best else { return none };
    let inside = z.low <= p && p <= z.high;
    let near = ticks(z.center - p, tick).abs() <= cfg.near_ticks;
    if !(inside || near) {
        return none;
    }
    let came_from =
        (1..ring.len()).filter_map(|k| ring.back(k)).map(|b| b.close).find(|&c| c < z.low || c > z.high);
    let support = came_from.map_or(z.center <= p, |c| c > z.high);
    let dir = if support { Direction::Long } else { Direction::Short };
    PatternHit::new(PatternId::ConfluenceZone, z.score, dir)
}

// ---------------------------------------------------------------- 6. liquidity sweep

/// Pattern 6 and its bracket.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LiquiditySweep {
    /// The hit (Short when a high was swept, Long for a low).
    pub hit: PatternHit,
    /// The bar's swept extreme (its high or low), 0 without a hit.
    pub extreme: Px,
}

impl LiquiditySweep {
    /// The bracket from `entry`: stop = extreme ± 1T; target = the larger of `target_ticks`
    /// and `min_rr × risk`, rounded toward the entry. `None` without a hit.
    pub fn bracket(&self, cfg: &LiquiditySweepConfig, entry: Px, min_rr: f64, tick: Px) -> Option<(Px, Px)> {
        let d = self.hit.dir.sign();
        if d == 0 || self.hit.score <= 0.0 || !min_rr.is_finite() {
            return None;
        }
        let stop = self.extreme + d * -tick;
        let risk = (entry - stop).abs();
        let rr_ticks = (min_rr * risk as f64 / tick as f64).floor() as i64;
        let t = (cfg.target_ticks as i64).max(rr_ticks);
        Some((stop, entry + d * t * tick))
    }
}

/// Pattern 6 at the close of `ring.back(0)` (`None`-hit unless `enabled`): a swept extreme of
/// the previous `lookback` bars with a wick ≥ `min_wick_ticks`, the close back inside, a delta
/// flip against the sweep and footprint absorption on the swept side. Score
/// `0.65 + 0.35·min(1, wick/(2·min_wick_ticks·T))`.
pub fn liquidity_sweep(cfg: &LiquiditySweepConfig, ring: &BarRing, tick: Px) -> LiquiditySweep {
    let none = LiquiditySweep { hit: PatternHit::none(PatternId::LiquiditySweep), extreme: 0 };
    if !cfg.enabled || cfg.lookback == 0 || ring.len() < cfg.lookback + 1 {
        return none;
    }
    let (Some(bar), Some(prev)) = (ring.back(0), ring.back(1)) else { return none };
    let (mut hi, mut lo) = (Px::MIN, Px::MAX);
    for k in 1..=cfg.lookback {
        let Some(b) = ring.back(k) else { return none };
        hi = hi.max(b.high);
        lo = lo.min(b.low);
    }
    let min_wick = cfg.min_wick_ticks as i64 * tick;
    let up_wick = bar.high - bar.open.max(bar.close);
    let dn_wick = bar.open.min(bar.close) - bar.low;
    let high_swept = bar.high > hi
        && up_wick >= min_wick
        && bar.close < hi
        && bar.delta < 0
        && prev.delta > 0
        && bar.fp_babs > 0;
    let low_swept = bar.low < lo
        && dn_wick >= min_wick
        && bar.close > lo
        && bar.delta > 0
        && prev.delta < 0
        && bar.fp_sabs > 0;
    let (wick, dir, extreme) = match (high_swept, low_swept) {
        (true, false) => (up_wick, Direction::Short, bar.high),
        (false, true) => (dn_wick, Direction::Long, bar.low),
        _ => return none,
    };
    let score = 0.65 + 0.35 * (wick as f64 / (2 * min_wick) as f64).min(1.0);
    LiquiditySweep { hit: PatternHit::new(PatternId::LiquiditySweep, score, dir), extreme }
}

// ---------------------------------------------------------------- all six

/// The inputs of one decision close that the patterns take from other modules.
#[derive(Clone, Copy, Debug, Default)]
pub struct PatternInputs<'a> {
    /// F9 ($bn per 1 %), `None` unless the snapshot is fresh.
    pub net_gex_bn: Option<f64>,
    /// Call wall as an ES price.
    pub call_wall: Option<Px>,
    /// Put wall as an ES price.
    pub put_wall: Option<Px>,
    /// The zones of §5.
    pub zones: &'a [ZoneInput],
    /// OBI at the close (`None` when invalid).
    pub obi: Option<f64>,
}

/// Every pattern of one decision close.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PatternSet {
    /// Pattern 1.
    pub base_break: BaseBreak,
    /// Pattern 2.
    pub gamma_pin: PatternHit,
    /// Pattern 3.
    pub headfake: Headfake,
    /// Pattern 4.
    pub microstructure: Microstructure,
    /// Pattern 5.
    pub confluence_zone: PatternHit,
    /// Pattern 6.
    pub liquidity_sweep: LiquiditySweep,
}

impl PatternSet {
    /// Evaluates the six patterns at the close of `ring.back(0)` (the decision ring), with the
    /// Battle Navale state of that close.
    pub fn evaluate(
        cfg: &PatternsConfig,
        ring: &BarRing,
        bn: &BnState,
        inp: &PatternInputs<'_>,
        tick: Px,
    ) -> Self {
        let Some(bar) = ring.back(0) else { return Self::default() };
        Self {
            base_break: base_break(&cfg.base_break, bn, bar, tick),
            gamma_pin: gamma_pin(&cfg.gamma_pin, ring, inp.net_gex_bn, inp.call_wall, inp.put_wall, tick),
            headfake: headfake(&cfg.headfake, ring, tick),
            microstructure: microstructure(&cfg.microstructure, ring, inp.obi),
            confluence_zone: confluence_zone(&cfg.confluence_zone, inp.zones, ring, tick),
            liquidity_sweep: liquidity_sweep(&cfg.liquidity_sweep, ring, tick),
        }
    }

    /// The six hits, by id (index = id − 1).
    pub fn hits(&self) -> [PatternHit; 6] {
        [
            self.base_break.hit,
            self.gamma_pin,
            self.headfake.hit,
            self.microstructure.hit,
            self.confluence_zone,
            self.liquidity_sweep.hit,
        ]
    }

    /// The best detected hit in `dir` (the highest score, the lower id on a tie).
    pub fn best_agreeing(&self, dir: Direction, detect: f64) -> Option<PatternHit> {
        self.hits().into_iter().filter(|h| h.dir == dir && dir != Direction::Flat && h.detected(detect)).fold(
            None,
            |b: Option<PatternHit>, h| if b.is_some_and(|b| b.score >= h.score) { b } else { Some(h) },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::bar_patterns::SierraConfig;
    use crate::engine::battle_navale::{BattleNavale, BattleNavaleConfig};
    use crate::market::bars::Timeframe;

    const T: Px = 250_000_000;
    const BASE: Px = 5000 * 1_000_000_000;

    fn close(x: f64, y: f64) -> bool {
        (x - y).abs() < 1e-5
    }

    /// Points (exact quarters) to Px.
    fn px(x: f64) -> Px {
        (x * 4.0).round() as Px * T
    }

    fn bar(o: f64, h: f64, l: f64, c: f64, v: u32) -> Bar {
        Bar { open: px(o), high: px(h), low: px(l), close: px(c), volume: v, ..Bar::default() }
    }

    fn ring(bars: &[Bar]) -> BarRing {
        let mut r = BarRing::new(64);
        for b in bars {
            r.push(*b);
        }
        r
    }

    /// A bar in ticks above 5000.00 (as in T11).
    fn bt(o: i64, h: i64, l: i64, c: i64, v: u32) -> Bar {
        Bar {
            open: BASE + o * T,
            high: BASE + h * T,
            low: BASE + l * T,
            close: BASE + c * T,
            volume: v,
            buy_vol: v / 2,
            sell_vol: v / 2,
            ..Bar::default()
        }
    }

    fn t11_bars() -> [Bar; 10] {
        [
            bt(0, 6, -1, 5, 6000),
            bt(5, 11, 4, 10, 6600),
            bt(10, 16, 9, 15, 7200),
            bt(15, 21, 13, 20, 7800),
            bt(20, 23, 20, 22, 6000),
            bt(22, 24, 21, 21, 5400),
            bt(21, 23, 20, 22, 6000),
            bt(22, 24, 21, 24, 6600),
            bt(23, 24, 21, 22, 5400),
            bt(22, 24, 21, 23, 6600),
        ]
    }

    /// Pattern 1 on the T11 base broken upward by bar 11 = 23 28 22 27 V 9000 (buy/sell
    /// 6000/3000). V/D over bars 7–11: V = 0.16 + 0.709333 + 0.176 + (0.533333 + 0.24 + 0.3 +
    /// 0.3) = 2.418667, D = 0.144, b = 0.943808; Bullish with b > 0.7 → c = 0.8;
    /// s = 0.377523 + 0.28 + 0.227240 = 0.884764, S = 0.769528. Score = 0.5·0.817921 +
    /// 0.3·min(1, 0.769528/0.5) + 0.2·min(1, 9000/(1.5·6000)) = 0.908960. Bracket: entry 27,
    /// stop 20 − 4 = 16, target 27 + 2·11 = 49 (ticks).
    #[test]
    fn base_break_on_t11() {
        let mut bn =
            BattleNavale::new(&BattleNavaleConfig::default(), &SierraConfig::default(), Timeframe::M5, T);
        let mut r = BarRing::new(64);
        for b in t11_bars() {
            r.push(b);
            bn.on_bar_close(&r);
        }
        let mut b11 = bt(23, 28, 22, 27, 9000);
        (b11.buy_vol, b11.sell_vol, b11.delta) = (6000, 3000, 3000);
        r.push(b11);
        let st = *bn.on_bar_close(&r);
        assert!(close(st.outcome, 0.943808), "b = {}", st.outcome);
        assert!(close(st.score, 0.769528), "S = {}", st.score);
        let cfg = BaseBreakConfig::default();
        let bb = base_break(&cfg, &st, &b11, T);
        assert_eq!((bb.hit.id, bb.hit.dir), (PatternId::BaseBreak, Direction::Long));
        assert!(close(bb.hit.score, 0.908960), "{}", bb.hit.score);
        assert_eq!((bb.entry, bb.stop, bb.target), (BASE + 27 * T, BASE + 16 * T, BASE + 49 * T));
        // a stricter quality floor rejects it
        let strict = BaseBreakConfig { min_base_quality: 0.9, ..cfg };
        assert_eq!(base_break(&strict, &st, &b11, T).hit.score, 0.0);
        // the next close: the base was not finalized at it
        let b12 = bt(27, 30, 26, 29, 5000);
        r.push(b12);
        let st12 = *bn.on_bar_close(&r);
        assert_eq!(base_break(&cfg, &st12, &b12, T).hit.score, 0.0);
    }

    /// The T11 violation (a Green base broken *downward*) is not a base break.
    #[test]
    fn base_break_needs_the_right_side() {
        let mut bn =
            BattleNavale::new(&BattleNavaleConfig::default(), &SierraConfig::default(), Timeframe::M5, T);
        let mut r = BarRing::new(64);
        for b in t11_bars() {
            r.push(b);
            bn.on_bar_close(&r);
        }
        let mut b11 = bt(22, 22, 15, 16, 12000);
        (b11.buy_vol, b11.sell_vol, b11.delta) = (4000, 8000, -4000);
        r.push(b11);
        let st = *bn.on_bar_close(&r);
        assert!(st.governing_finalized_now);
        assert_eq!(base_break(&BaseBreakConfig::default(), &st, &b11, T).hit.dir, Direction::Flat);
    }

    /// Pattern 2: P = 5000.00, call wall 5000.50 (2 ticks → 0.6), put wall 4999.00 (4 ticks →
    /// 0.2); F9 = 4 → ×0.8 = 0.48; v_t 600 < 0.7·1000 → ×1.2 = 0.576 (Moderate), Short.
    #[test]
    fn gamma_pin_scores() {
        let cfg = GammaPinConfig::default();
        let prev = bar(5000.0, 5000.5, 4999.5, 5000.0, 1000);
        let mut bars = [prev; 6];
        bars[5] = bar(5000.0, 5000.25, 4999.75, 5000.0, 600);
        let r = ring(&bars);
        let (cw, pw) = (Some(px(5000.5)), Some(px(4999.0)));
        let h = gamma_pin(&cfg, &r, Some(4.0), cw, pw, T);
        assert_eq!((h.id, h.dir), (PatternId::GammaPin, Direction::Short));
        assert!(close(h.score, 0.576), "{}", h.score);
        assert_eq!(GammaPinStrength::of(h.score), GammaPinStrength::Moderate);
        // no low-volume multiplier at v_t = 800
        bars[5].volume = 800;
        let r8 = ring(&bars);
        assert!(close(gamma_pin(&cfg, &r8, Some(4.0), cw, pw, T).score, 0.48));
        // F9 below 1 $bn, or no fresh snapshot → none; a large F9 caps at 1 (×2, ×1.2)
        assert_eq!(gamma_pin(&cfg, &r, Some(0.5), cw, pw, T).score, 0.0);
        assert_eq!(gamma_pin(&cfg, &r, None, cw, pw, T).score, 0.0);
        assert_eq!(gamma_pin(&cfg, &r, Some(12.0), cw, pw, T).score, 1.0);
        // the put wall alone → Long: 0.2·0.8·1.2 = 0.192
        let h = gamma_pin(&cfg, &r, Some(4.0), None, pw, T);
        assert!(close(h.score, 0.192) && h.dir == Direction::Long);
        // equally close walls → no direction
        let h = gamma_pin(&cfg, &r, Some(5.0), Some(px(5000.25)), Some(px(4999.75)), T);
        assert!(close(h.score, 0.96) && h.dir == Direction::Flat);
        // walls farther than 5 ticks → none
        assert_eq!(gamma_pin(&cfg, &r, Some(5.0), Some(px(5002.0)), None, T).score, 0.0);
    }

    fn range9() -> [Bar; 9] {
        let mut b = bar(5002.0, 5005.0, 5000.0, 5003.0, 1000);
        b.delta = 0;
        [b; 9]
    }

    /// Pattern 3: R = 5005, Sp = 5000 over the previous 9 bars (volume 1000 each, range 20
    /// ticks, so a break must reach 0.5 × 20 = 10 ticks beyond the level).
    #[test]
    fn headfake_traps() {
        let cfg = HeadfakeConfig::default();
        let mut cur = bar(5004.0, 5008.0, 5003.0, 5004.75, 2000);
        (cur.buy_vol, cur.sell_vol, cur.delta) = (1100, 900, 200);
        let mk = |c: Bar| {
            let mut v = range9().to_vec();
            v.push(c);
            ring(&v)
        };
        // 12 ticks beyond R, close 5004.75 ≤ 5005: rejected; spike 2 > 1.5 and
        // |200|/2000 < 0.3: absorbed
        let h = headfake(&cfg, &mk(cur), T);
        assert_eq!((h.hit.dir, h.kind, h.level), (Direction::Short, HeadFakeType::BullTrap, px(5005.0)));
        assert_eq!(h.hit.score, 1.0);
        // a close above the broken level is no rejection; SIGNALS §4's 2-tick allowance accepts it
        let above = Bar { close: px(5005.25), ..cur };
        assert_eq!(headfake(&cfg, &mk(above), T).hit.score, 0.0);
        let spec = HeadfakeConfig { rejection_ticks: 2.0, ..cfg };
        assert_eq!(headfake(&spec, &mk(above), T).hit.score, 1.0);
        // no rejection at all → none (departure 10)
        assert_eq!(headfake(&spec, &mk(Bar { close: px(5006.0), ..cur }), T).hit.score, 0.0);
        // an 8-tick poke (< 10) is not a breakout; without the size rule (SIGNALS §4) it is
        let poke = Bar { high: px(5007.0), ..cur };
        assert_eq!(headfake(&cfg, &mk(poke), T).hit.score, 0.0);
        let any = HeadfakeConfig { min_break_range: 0.0, ..cfg };
        assert_eq!(headfake(&any, &mk(poke), T).hit.score, 1.0);
        // no spike and a delta with the break: unconfirmed → none; against it → 0.3, RangeFake,
        // not detected
        let quiet = Bar { volume: 1000, ..cur };
        assert_eq!(headfake(&cfg, &mk(quiet), T).hit.score, 0.0);
        let h = headfake(&cfg, &mk(Bar { delta: -200, buy_vol: 400, sell_vol: 600, ..quiet }), T);
        assert!(close(h.hit.score, 0.3) && h.kind == HeadFakeType::RangeFake && !h.hit.detected(0.3));
        // footprint absorption on the broken side: 0.3 + 0.6
        let h = headfake(&cfg, &mk(Bar { fp_babs: 5, ..quiet }), T);
        assert!(close(h.hit.score, 0.9) && h.kind == HeadFakeType::BullTrap);
        // a spike with a one-sided delta: with the break → unconfirmed; against it → 0.3 + 0.4
        let with = Bar { delta: 1000, buy_vol: 1500, sell_vol: 500, ..cur };
        assert_eq!(headfake(&cfg, &mk(with), T).hit.score, 0.0);
        let h = headfake(&cfg, &mk(Bar { delta: -1000, buy_vol: 500, sell_vol: 1500, ..cur }), T);
        assert!(close(h.hit.score, 0.7));
        // bear trap: low 4997 (12 ticks under Sp), close 5000.25 ≥ 5000 → Long
        let mut bear = bar(5001.0, 5001.5, 4997.0, 5000.25, 2000);
        (bear.buy_vol, bear.sell_vol, bear.delta) = (900, 1100, -200);
        let h = headfake(&cfg, &mk(bear), T);
        assert_eq!((h.hit.dir, h.kind), (Direction::Long, HeadFakeType::BearTrap));
        // no break → none; fewer than 10 bars → none
        assert_eq!(headfake(&cfg, &mk(bar(5002.0, 5004.0, 5001.0, 5003.0, 5000)), T).hit.score, 0.0);
        assert_eq!(headfake(&cfg, &ring(&range9()[..8]), T).hit.score, 0.0);
    }

    /// Pattern 4: 10 history bars with volumes 900/1100 (mean 1000, std 100), spreads 1.0.
    #[test]
    fn microstructure_anomalies() {
        let cfg = MicrostructureConfig::default();
        let mut hist = [Bar::default(); 10];
        for (i, b) in hist.iter_mut().enumerate() {
            *b = Bar {
                volume: if i % 2 == 0 { 900 } else { 1100 },
                spread_mean_ticks: 1.0,
                obi_close: if i % 2 == 0 { 0.1 } else { -0.1 },
                ..Bar::default()
            };
        }
        let mk = |h: &[Bar], c: Bar| {
            let mut v = h.to_vec();
            v.push(c);
            ring(&v)
        };
        // volume 1400: z = 4 → a_v = 0.8; flow 700/1400 = 0.5 against a flat history (std 0,
        // no z); obi 0.9 against closing OBIs ±0.1 (z = 9) → a_i = 0.8; the tie goes to
        // Volume, direction sgn(delta) = Long; mean = 1.6/4 = 0.4
        let cur = Bar { volume: 1400, delta: 700, spread_mean_ticks: 1.0, ..Bar::default() };
        let m = microstructure(&cfg, &mk(&hist, cur), Some(0.9));
        assert_eq!((m.kind, m.hit.dir), (AnomalyType::Volume, Direction::Long));
        assert!(close(m.hit.score, 0.8) && close(m.anomaly_score, 0.4));
        assert!(close(m.parts[3], 0.8));
        // OBI −0.95 alone: a_i = 0.9 → Imbalance, Short
        let m = microstructure(&cfg, &mk(&hist, Bar { volume: 1000, delta: 300, ..cur }), Some(-0.95));
        assert_eq!((m.kind, m.hit.dir), (AnomalyType::Imbalance, Direction::Short));
        assert!(close(m.hit.score, 0.9));
        // a book that closed one-sided on every history bar (OBI ±0.9, mean 0, std 0.9):
        // OBI 0.95 has z = 1.06, no anomaly (SIGNALS §4's rule gives a_i = 0.9)
        let mut sided = hist;
        for (i, b) in sided.iter_mut().enumerate() {
            b.obi_close = if i % 2 == 0 { 0.9 } else { -0.9 };
        }
        let m = microstructure(&cfg, &mk(&sided, Bar { volume: 1000, delta: 300, ..cur }), Some(0.95));
        assert_eq!((m.kind, m.hit.score), (AnomalyType::None, 0.0));
        // a balanced bar (r = 0, SIGNALS §4's a_f = 0.714286) is no anomaly against a
        // balanced history
        let m = microstructure(&cfg, &mk(&hist, Bar { volume: 1000, delta: 0, ..cur }), None);
        assert_eq!((m.kind, m.hit.score), (AnomalyType::None, 0.0));
        // flows ±0.1 (mean 0, std 0.1): r = −0.45 → z = 4.5 → a_f = 0.9, Short; r = 0.25 (z =
        // 2.5) is inside the distribution
        let mut flows = hist;
        for (i, b) in flows.iter_mut().enumerate() {
            b.delta = if i % 2 == 0 { 90 } else { -110 };
        }
        let m = microstructure(&cfg, &mk(&flows, Bar { volume: 1000, delta: -450, ..cur }), None);
        assert_eq!((m.kind, m.hit.dir), (AnomalyType::OrderFlow, Direction::Short));
        assert!(close(m.hit.score, 0.9), "{}", m.hit.score);
        let m = microstructure(&cfg, &mk(&flows, Bar { volume: 1000, delta: 250, ..cur }), None);
        assert_eq!((m.kind, m.hit.score), (AnomalyType::None, 0.0));
        // spreads 1/2 alternating (mean 1.5, std 0.5): 3.0 (z = 3) is not beyond spread_z = 3
        // (SIGNALS §4's 2 would flag it); 3.25: z = 3.5 → a_s = 0.875, no direction
        for (i, b) in hist.iter_mut().enumerate() {
            b.spread_mean_ticks = if i % 2 == 0 { 1.0 } else { 2.0 };
        }
        let m = microstructure(
            &cfg,
            &mk(&hist, Bar { volume: 1000, delta: 300, spread_mean_ticks: 3.0, ..cur }),
            None,
        );
        assert_eq!(m.kind, AnomalyType::None);
        let m = microstructure(
            &cfg,
            &mk(&hist, Bar { volume: 1000, delta: 300, spread_mean_ticks: 3.25, ..cur }),
            None,
        );
        assert_eq!((m.kind, m.hit.dir), (AnomalyType::Spread, Direction::Flat));
        assert!(close(m.hit.score, 0.875));
        // nothing abnormal → None
        let m = microstructure(
            &cfg,
            &mk(&hist, Bar { volume: 1000, delta: 300, spread_mean_ticks: 1.5, ..cur }),
            Some(0.1),
        );
        assert_eq!((m.kind, m.hit.score), (AnomalyType::None, 0.0));
        // fewer than min_hist bars → none
        assert_eq!(microstructure(&cfg, &ring(&hist[..5]), Some(0.9)).hit.score, 0.0);
    }

    /// Pattern 5 on the T16 zone: bounds [4999.625, 5000.875] (off-grid bounds are kept as
    /// given), centre 5000.25, score 0.2825, n = 3.
    #[test]
    fn confluence_zone_t16() {
        let cfg = ConfluenceZoneConfig::default();
        let z = ZoneInput {
            low: BASE - T / 2 - T,
            high: BASE + 3 * T + T / 2,
            center: BASE + T,
            score: 0.2825,
            n_levels: 3,
        };
        let weak = ZoneInput { n_levels: 2, center: px(5000.5), score: 0.9, ..z };
        let zs = [weak, z];
        let at = |c: f64| ring(&[bar(c, c, c, c, 10)]);
        // a ring holding only the current bar: SIGNALS §4's side rule
        let h = confluence_zone(&cfg, &zs, &at(5000.5), T);
        assert_eq!((h.id, h.dir), (PatternId::ConfluenceZone, Direction::Long), "inside, centre ≤ P");
        assert!(close(h.score, 0.2825), "the n = 2 zone is skipped");
        // outside the bounds but the centre 3 ticks away → near, centre > P → Short
        let h = confluence_zone(&cfg, &zs, &at(4999.5), T);
        assert_eq!(h.dir, Direction::Short);
        // 4 ticks away and outside → none
        assert_eq!(confluence_zone(&cfg, &zs, &at(5001.25), T).score, 0.0);
        // the nearest zone wins
        let far = ZoneInput { center: px(5010.0), low: px(5009.5), high: px(5010.5), score: 0.9, ..z };
        assert!(close(confluence_zone(&cfg, &[far, z], &at(5000.5), T).score, 0.2825));
        assert_eq!(confluence_zone(&cfg, &[], &at(5000.5), T).score, 0.0);
        assert_eq!(confluence_zone(&cfg, &zs, &BarRing::new(4), T).score, 0.0);
        // the side price came from: P = 5000.50 is above the centre, but the last close outside
        // the zone (5002.00, before two closes inside) was above it → support → Long; from
        // 4998.00 below → resistance → Short, although the centre ≤ P
        let path = |from: f64| {
            ring(&[
                bar(from, from, from, from, 10),
                bar(5000.0, 5000.0, 5000.0, 5000.0, 10),
                bar(5000.5, 5000.5, 5000.5, 5000.5, 10),
            ])
        };
        assert_eq!(confluence_zone(&cfg, &zs, &path(5002.0), T).dir, Direction::Long);
        assert_eq!(confluence_zone(&cfg, &zs, &path(4998.0), T).dir, Direction::Short);
        let above = ring(&[bar(5002.0, 5002.0, 5002.0, 5002.0, 10), bar(5000.0, 5000.0, 5000.0, 5000.0, 10)]);
        assert_eq!(
            confluence_zone(&cfg, &zs, &above, T).dir,
            Direction::Long,
            "from above, P under the centre"
        );
    }

    /// Pattern 6: previous 10 bars H 5005 / L 5000 with delta +100.
    #[test]
    fn liquidity_sweep_off_by_default_and_scores() {
        let mut prev = bar(5002.0, 5005.0, 5000.0, 5003.0, 1000);
        prev.delta = 100;
        let mut cur = bar(5003.0, 5005.75, 5002.5, 5003.5, 2000);
        (cur.delta, cur.fp_babs) = (-200, 10);
        let mut v = vec![prev; 10];
        v.push(cur);
        let r = ring(&v);
        let off = LiquiditySweepConfig::default();
        assert_eq!(liquidity_sweep(&off, &r, T).hit.score, 0.0, "off by default");
        let cfg = LiquiditySweepConfig { enabled: true, ..off };
        // wick 5005.75 − 5003.50 = 9 ticks ≥ 6: 0.65 + 0.35·9/12 = 0.9125, Short
        let s = liquidity_sweep(&cfg, &r, T);
        assert_eq!((s.hit.dir, s.extreme), (Direction::Short, px(5005.75)));
        assert!(close(s.hit.score, 0.9125));
        // bracket from 5003.50: stop 5006.00 (10 ticks), target max(8, 1.5·10) = 15 ticks → 4999.75
        assert_eq!(s.bracket(&cfg, px(5003.5), 1.5, T), Some((px(5006.0), px(4999.75))));
        assert_eq!(s.bracket(&cfg, px(5003.5), 0.5, T), Some((px(5006.0), px(5001.5))), "8 ticks floor");
        // no delta flip → none; no absorption → none
        let mut v2 = v.clone();
        v2[9].delta = -5;
        assert_eq!(liquidity_sweep(&cfg, &ring(&v2), T).hit.score, 0.0);
        let mut v3 = v.clone();
        v3[10].fp_babs = 0;
        assert_eq!(liquidity_sweep(&cfg, &ring(&v3), T).hit.score, 0.0);
    }

    #[test]
    fn set_best_agreeing_and_config() {
        let cfg = PatternsConfig::default();
        assert_eq!(cfg.validate(), Ok(()));
        assert_eq!(cfg.lookback(), 31);
        let bad = PatternsConfig {
            microstructure: MicrostructureConfig { min_hist: 40, ..cfg.microstructure },
            ..cfg
        };
        assert!(bad.validate().is_err_and(|e| e.starts_with("microstructure.min_hist:")));
        let bad = PatternsConfig { headfake: HeadfakeConfig { lookback: 1000, ..cfg.headfake }, ..cfg };
        assert!(bad.validate().is_err_and(|e| e.starts_with("headfake.lookback:")));
        let bad = PatternsConfig { detect: f64::INFINITY, ..cfg };
        assert!(bad.validate().is_err_and(|e| e.starts_with("detect:")));
        let t: PatternsConfig =
            toml::from_str("detect = 0.4\n[gamma_pin]\nmin_gex_bn = 2.0\n[liquidity_sweep]\nenabled = true")
                .unwrap_or_default();
        assert_eq!((t.detect, t.gamma_pin.min_gex_bn, t.gamma_pin.proximity_ticks), (0.4, 2.0, 5.0));
        assert!(t.liquidity_sweep.enabled);
        assert!(toml::from_str::<PatternsConfig>("[headfake]\nbogus = 1").is_err());

        let set = PatternSet {
            gamma_pin: PatternHit { id: PatternId::GammaPin, score: 0.5, dir: Direction::Short },
            confluence_zone: PatternHit { id: PatternId::ConfluenceZone, score: 0.6, dir: Direction::Short },
            ..PatternSet::default()
        };
        assert_eq!(set.best_agreeing(Direction::Short, 0.3).map(|h| h.id), Some(PatternId::ConfluenceZone));
        assert_eq!(set.best_agreeing(Direction::Long, 0.3), None);
        assert_eq!(set.best_agreeing(Direction::Short, 0.6).map(|h| h.id), None);
        // a full evaluation on too little data gives nothing
        let r = ring(&[bar(5000.0, 5001.0, 4999.0, 5000.5, 10)]);
        let all = PatternSet::evaluate(&cfg, &r, &BnState::default(), &PatternInputs::default(), T);
        assert!(all.hits().iter().all(|h| h.score == 0.0));
    }
}
