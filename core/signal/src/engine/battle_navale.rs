//! Battle Navale (SIGNALS.md §3, `[signal.battle_navale]`): Vikings vs Défenseurs, bases with
//! a lifecycle and a quality, the golden rule ("rouge sous verte"), trend continuation, and
//! the signed score `S = 2(s − 0.5)` with the ±0.25 thresholds (departures 1–6).
//!
//! One [`BattleNavale`] instance runs per timeframe ([`BattleNavaleSet`] holds the four); the
//! one on `timeframe_min = 5` is *the* Battle Navale, the others feed MTF. An instance is
//! evaluated at each close of its timeframe, on completed bars only
//! ([`BattleNavale::on_bar_close`], O(window) and allocation-free), and is valid once
//! `min_bars` bars exist. Normalisers are quoted per 1-minute bar and multiplied by the bar
//! length `m` in minutes (departure 27). The state is not reset at a session change (§1).
//!
//! Decisions where the spec is silent:
//! - an open base holds at most [`BASE_BARS_CAP`] bars: a bar that would make it longer
//!   finalizes it instead (a fixed array, no allocation); the detection run is bounded the same way;
//! - the consolidation test needs at least 10 bars *(fixed)*, whatever `min_bars` is;
//! - a base's kind is taken from the closes available when fewer than 5 exist (≥ 3 of the
//!   differences up → Green, ≥ 3 down → Red);
//! - "qualifying" uses the bare `q > 0.5` of §3.3, independent of `history_min_quality`;
//! - the lifecycle runs from the first bar, but every output is invalid (zero) until
//!   `min_bars` bars exist.

use super::bar_patterns::{self, SierraConfig, SierraScores};
use crate::market::bars::{BarRing, Timeframe, BAR_RING_CAP, TIMEFRAMES};
use mia_model::bar::Bar;
use mia_model::order::Direction;
use mia_model::price::Px;

/// Bars an open base can hold (fixed).
pub const BASE_BARS_CAP: usize = 64;
/// Cap of `history_len`.
pub const BASE_HISTORY_CAP: usize = 32;
/// Cap of `lookback_bars` and `consolidation_window`.
pub const BN_WINDOW_CAP: usize = 64;
/// Bars the consolidation test needs at least (fixed).
pub const CONSOLIDATION_MIN_BARS: usize = 10;
/// Quality a base needs to qualify for the golden rule (fixed, §3.3).
pub const GOVERNING_MIN_QUALITY: f64 = 0.5;
/// Per-close records kept for the special exits (§10: the last 5 closes).
pub const BN_RECORDS: usize = 5;

/// `[signal.battle_navale]`.
#[derive(Clone, Copy, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct BattleNavaleConfig {
    /// The timeframe of *the* Battle Navale (1, 5, 15 or 60); it MUST equal the decision timeframe.
    pub timeframe_min: u64,
    /// Bars needed before an instance is valid.
    pub min_bars: usize,
    /// Bars of the Vikings vs Défenseurs window.
    pub lookback_bars: usize,
    /// Body ratio above which a body counts.
    pub body_ratio_min: f64,
    /// Weight of a body term.
    pub body_weight: f64,
    /// Weight of a volume term.
    pub volume_weight: f64,
    /// Volume normaliser per 1-minute bar.
    pub volume_norm_1m: f64,
    /// Cap of the normalised volume.
    pub volume_cap: f64,
    /// Weight of the latest bar's delta term.
    pub delta_weight: f64,
    /// Delta normaliser per 1-minute bar.
    pub delta_norm_1m: f64,
    /// Buy share above which the aggressor term goes to the Vikings.
    pub aggressor_hi: f64,
    /// Buy share below which the aggressor term goes to the Défenseurs.
    pub aggressor_lo: f64,
    /// Weight of the aggressor term.
    pub aggressor_weight: f64,
    /// Widest base band (ticks).
    pub max_base_size_ticks: u32,
    /// Finalized bases kept (≤ [`BASE_HISTORY_CAP`]).
    pub history_len: usize,
    /// Quality a finalized base needs (strictly more) to enter the history.
    pub history_min_quality: f64,
    /// Bars of the consolidation test (10..=[`BN_WINDOW_CAP`]).
    pub consolidation_window: usize,
    /// `std(close) < ratio·(max high − min low)` makes a consolidation.
    pub consolidation_std_ratio: f64,
    /// Shortest base (bars).
    pub min_base_bars: usize,
    /// Bars for a full duration factor.
    pub duration_full_bars: usize,
    /// Inner-band margin ρ of the respect factor (share of the base size).
    pub respect_margin: f64,
    /// Quality weight of the duration factor.
    pub w_duration: f64,
    /// Quality weight of the size factor.
    pub w_size: f64,
    /// Quality weight of the volume-stability factor.
    pub w_volume: f64,
    /// Quality weight of the respect factor.
    pub w_respect: f64,
    /// A base governs only if its last bar is among this many most recent bars.
    pub golden_rule_lookback: usize,
    /// A violating close lies more than this beyond the band (ticks).
    pub violation_tolerance_ticks: f64,
    /// `b` above which a holding Green base is StrongBullish.
    pub strong_bull_outcome: f64,
    /// `b` below which a holding Red base is StrongBearish.
    pub strong_bear_outcome: f64,
    /// Score weight of the battle outcome `b`.
    pub w_outcome: f64,
    /// Score weight of the trend continuation `c`.
    pub w_trend: f64,
    /// Score weight of the base term.
    pub w_base: f64,
    /// LONG when `S` is above it.
    pub long_threshold: f64,
    /// SHORT when `S` is below it.
    pub short_threshold: f64,
    /// `|S|` above it: a winning side.
    pub status_win: f64,
    /// `|S|` at most this: Balanced.
    pub status_balanced: f64,
}

impl Default for BattleNavaleConfig {
    fn default() -> Self {
        Self {
            timeframe_min: 5,
            min_bars: 10,
            lookback_bars: 5,
            body_ratio_min: 0.6,
            body_weight: 0.8,
            volume_weight: 0.2,
            volume_norm_1m: 1500.0,
            volume_cap: 2.0,
            delta_weight: 0.5,
            delta_norm_1m: 1000.0,
            aggressor_hi: 0.6,
            aggressor_lo: 0.4,
            aggressor_weight: 0.3,
            max_base_size_ticks: 10,
            history_len: 20,
            history_min_quality: 0.5,
            consolidation_window: 15,
            consolidation_std_ratio: 0.3,
            min_base_bars: 3,
            duration_full_bars: 10,
            respect_margin: 0.1,
            w_duration: 0.30,
            w_size: 0.20,
            w_volume: 0.25,
            w_respect: 0.25,
            golden_rule_lookback: 20,
            violation_tolerance_ticks: 0.5,
            strong_bull_outcome: 0.7,
            strong_bear_outcome: 0.3,
            w_outcome: 0.40,
            w_trend: 0.35,
            w_base: 0.25,
            long_threshold: 0.25,
            short_threshold: -0.25,
            status_win: 0.4,
            status_balanced: 0.2,
        }
    }
}

fn check_unit(key: &str, x: f64) -> Result<(), String> {
    if x.is_finite() && (0.0..=1.0).contains(&x) {
        Ok(())
    } else {
        Err(format!("{key}: {x} must be finite and in [0, 1]"))
    }
}

fn check_pos(key: &str, x: f64) -> Result<(), String> {
    if x.is_finite() && x > 0.0 {
        Ok(())
    } else {
        Err(format!("{key}: {x} must be finite and > 0"))
    }
}

fn check_range(key: &str, x: usize, lo: usize, hi: usize) -> Result<(), String> {
    if (lo..=hi).contains(&x) {
        Ok(())
    } else {
        Err(format!("{key}: {x} outside {lo}..={hi}"))
    }
}

impl BattleNavaleConfig {
    /// Checks the section against the caps; the error names the key.
    ///
    /// # Errors
    /// `key: reason` for the first bad key.
    pub fn validate(&self) -> Result<(), String> {
        if Timeframe::from_minutes(self.timeframe_min).is_none() {
            return Err(format!("timeframe_min: {} is not one of 1, 5, 15, 60", self.timeframe_min));
        }
        check_range("min_bars", self.min_bars, 1, BAR_RING_CAP)?;
        check_range("lookback_bars", self.lookback_bars, 1, BN_WINDOW_CAP)?;
        check_unit("body_ratio_min", self.body_ratio_min)?;
        for (k, v) in [
            ("body_weight", self.body_weight),
            ("volume_weight", self.volume_weight),
            ("delta_weight", self.delta_weight),
            ("aggressor_weight", self.aggressor_weight),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(format!("{k}: {v} must be finite and ≥ 0"));
            }
        }
        check_pos("volume_norm_1m", self.volume_norm_1m)?;
        check_pos("volume_cap", self.volume_cap)?;
        check_pos("delta_norm_1m", self.delta_norm_1m)?;
        check_unit("aggressor_hi", self.aggressor_hi)?;
        check_unit("aggressor_lo", self.aggressor_lo)?;
        if self.aggressor_lo > self.aggressor_hi {
            return Err(format!("aggressor_lo: {} must be ≤ aggressor_hi", self.aggressor_lo));
        }
        if !(1..=1000).contains(&self.max_base_size_ticks) {
            return Err(format!("max_base_size_ticks: {} outside 1..=1000", self.max_base_size_ticks));
        }
        check_range("history_len", self.history_len, 1, BASE_HISTORY_CAP)?;
        check_unit("history_min_quality", self.history_min_quality)?;
        check_range(
            "consolidation_window",
            self.consolidation_window,
            CONSOLIDATION_MIN_BARS,
            BN_WINDOW_CAP,
        )?;
        check_pos("consolidation_std_ratio", self.consolidation_std_ratio)?;
        check_range("min_base_bars", self.min_base_bars, 2, BASE_BARS_CAP)?;
        check_range("duration_full_bars", self.duration_full_bars, 1, BASE_BARS_CAP)?;
        if !(self.respect_margin.is_finite() && (0.0..0.5).contains(&self.respect_margin)) {
            return Err(format!("respect_margin: {} must be in [0, 0.5)", self.respect_margin));
        }
        check_unit("w_duration", self.w_duration)?;
        check_unit("w_size", self.w_size)?;
        check_unit("w_volume", self.w_volume)?;
        check_unit("w_respect", self.w_respect)?;
        check_range("golden_rule_lookback", self.golden_rule_lookback, 1, BAR_RING_CAP - 1)?;
        if !(self.violation_tolerance_ticks.is_finite() && self.violation_tolerance_ticks >= 0.0) {
            return Err(format!(
                "violation_tolerance_ticks: {} must be finite and ≥ 0",
                self.violation_tolerance_ticks
            ));
        }
        check_unit("strong_bull_outcome", self.strong_bull_outcome)?;
        check_unit("strong_bear_outcome", self.strong_bear_outcome)?;
        check_unit("w_outcome", self.w_outcome)?;
        check_unit("w_trend", self.w_trend)?;
        check_unit("w_base", self.w_base)?;
        let w = self.w_outcome + self.w_trend + self.w_base;
        if (w - 1.0).abs() > 1e-9 {
            return Err(format!("w_outcome: w_outcome + w_trend + w_base = {w}, must be 1"));
        }
        if !(self.long_threshold.is_finite() && (0.0..1.0).contains(&self.long_threshold)) {
            return Err(format!("long_threshold: {} must be in [0, 1)", self.long_threshold));
        }
        if !(self.short_threshold.is_finite() && self.short_threshold > -1.0 && self.short_threshold <= 0.0) {
            return Err(format!("short_threshold: {} must be in (−1, 0]", self.short_threshold));
        }
        check_unit("status_win", self.status_win)?;
        check_unit("status_balanced", self.status_balanced)?;
        if self.status_balanced > self.status_win {
            return Err(format!("status_balanced: {} must be ≤ status_win", self.status_balanced));
        }
        Ok(())
    }

    /// The bars the ring of an instance's timeframe must hold.
    pub fn lookback(&self) -> usize {
        self.min_bars
            .max(self.lookback_bars)
            .max(self.consolidation_window)
            .max(self.golden_rule_lookback)
            .max(16) // ret15 needs close_{t−15}
    }
}

/// A base's kind (§3.2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BaseKind {
    /// ≥ 3 of the 4 close differences up.
    Green,
    /// ≥ 3 down.
    Red,
    /// Otherwise.
    #[default]
    Neutral,
}

impl BaseKind {
    /// +1 Green, −1 Red, 0 Neutral.
    #[inline]
    pub fn sign(self) -> i8 {
        match self {
            BaseKind::Green => 1,
            BaseKind::Red => -1,
            BaseKind::Neutral => 0,
        }
    }
}

/// The rating of a base quality (§3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BaseRating {
    /// q ≥ 0.8.
    Excellent,
    /// q ≥ 0.6.
    Good,
    /// q ≥ 0.4.
    Average,
    /// q ≥ 0.2.
    Poor,
    /// Below 0.2.
    Invalid,
}

impl BaseRating {
    /// The rating of quality `q`.
    pub fn of(q: f64) -> Self {
        if q >= 0.8 {
            Self::Excellent
        } else if q >= 0.6 {
            Self::Good
        } else if q >= 0.4 {
            Self::Average
        } else if q >= 0.2 {
            Self::Poor
        } else {
            Self::Invalid
        }
    }
}

/// A base: a consolidation band of consecutive bars (§3.2).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Base {
    /// Bars.
    pub n: u32,
    /// Band high.
    pub high: Px,
    /// Band low.
    pub low: Px,
    /// `ticks(high − low)`.
    pub size_ticks: f64,
    /// `ts_start` of its first bar.
    pub ts_start: u64,
    /// `ts_start` of its last bar.
    pub ts_end: u64,
    /// Sequence number of its first bar (`BarRing::total − 1` at that close).
    pub first_ix: u64,
    /// Sequence number of its last bar.
    pub last_ix: u64,
    /// Kind.
    pub kind: BaseKind,
    /// Quality `q` in [0, 1].
    pub quality: f64,
    /// Mean volume of its bars (`v̄_base` of pattern 1).
    pub mean_volume: f64,
}

impl Base {
    /// The rating of its quality.
    #[inline]
    pub fn rating(&self) -> BaseRating {
        BaseRating::of(self.quality)
    }
}

/// The golden-rule status (§3.3).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum GoldenRule {
    /// Green base holding.
    Bullish,
    /// Green base violated by a red close below it.
    ViolationBearish,
    /// Red base holding.
    Bearish,
    /// Red base violated by a green close above it.
    ViolationBullish,
    /// No governing base.
    #[default]
    Unclear,
}

impl GoldenRule {
    /// `d_g`: +1 Bullish / ViolationBullish, −1 Bearish / ViolationBearish, 0 Unclear.
    #[inline]
    pub fn direction(self) -> i8 {
        match self {
            GoldenRule::Bullish | GoldenRule::ViolationBullish => 1,
            GoldenRule::Bearish | GoldenRule::ViolationBearish => -1,
            GoldenRule::Unclear => 0,
        }
    }
}

/// The trend-continuation class and its `c` (§3.4).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Continuation {
    /// Green base violated: c = 0.2.
    ViolationBearish,
    /// Red base violated: c = 0.8.
    ViolationBullish,
    /// Bullish with `b > strong_bull_outcome`: c = 0.8.
    StrongBullish,
    /// Bullish otherwise: c = 0.6.
    WeakBullish,
    /// Bearish with `b < strong_bear_outcome`: c = 0.2.
    StrongBearish,
    /// Bearish otherwise: c = 0.4.
    WeakBearish,
    /// No governing base: c = 0.5.
    #[default]
    Unclear,
}

impl Continuation {
    /// `c`.
    pub fn value(self) -> f64 {
        match self {
            Continuation::ViolationBearish | Continuation::StrongBearish => 0.2,
            Continuation::ViolationBullish | Continuation::StrongBullish => 0.8,
            Continuation::WeakBullish => 0.6,
            Continuation::WeakBearish => 0.4,
            Continuation::Unclear => 0.5,
        }
    }
}

/// The battle status of the signed score (§3.5; the one status enum, departure 28).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BattleStatus {
    /// `S > status_win`.
    VikingsWinning,
    /// `S < −status_win`.
    DefendersWinning,
    /// `|S| ≤ status_balanced`.
    Balanced,
    /// Otherwise (and while invalid).
    #[default]
    NoBattle,
}

/// What an instance publishes at a close (§3.1–3.6). All zero / neutral while `valid` is false.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BnState {
    /// `min_bars` bars exist.
    pub valid: bool,
    /// `ts_start` of the bar this state was computed at.
    pub ts: u64,
    /// Vikings sum V.
    pub v_sum: f64,
    /// Défenseurs sum D.
    pub d_sum: f64,
    /// Battle outcome `b = V/(V + D)` (0.5 when V + D = 0); also `vikings`.
    pub outcome: f64,
    /// `1 − b`.
    pub defenders: f64,
    /// Golden-rule status.
    pub golden: GoldenRule,
    /// The governing base, if any.
    pub governing: Option<Base>,
    /// The governing base is open (not finalized).
    pub governing_open: bool,
    /// The governing base was finalized at this close (the base-break pattern reads it).
    pub governing_finalized_now: bool,
    /// `q_g` (0 without a governing base).
    pub q_g: f64,
    /// Trend-continuation class (`c` = [`Continuation::value`]).
    pub continuation: Continuation,
    /// The blended score `s` in [0, 1].
    pub s: f64,
    /// Signed score `S = clamp(2(s − 0.5), −1, 1)`.
    pub score: f64,
    /// LONG / SHORT by the thresholds, Flat otherwise.
    pub signal: Direction,
    /// `min(4(|S| − 0.25), 1)` when a signal fires, else 0.
    pub strength: f64,
    /// `|S|`.
    pub battle_strength: f64,
    /// Battle status.
    pub status: BattleStatus,
    /// True exactly when a side is winning.
    pub battle_won: bool,
    /// `mean(q_g, mean Sierra score, |c − 0.5|·2, |S|)`.
    pub bn_confidence: f64,
    /// The Sierra bar patterns of this close.
    pub sierra: SierraScores,
    /// `close_t/close_{t−5} − 1`, `None` without that bar.
    pub ret5: Option<f64>,
    /// `close_t/close_{t−15} − 1`, `None` without that bar.
    pub ret15: Option<f64>,
}

impl BnState {
    /// `c`.
    #[inline]
    pub fn c(&self) -> f64 {
        self.continuation.value()
    }

    /// `vikings` (= `b`).
    #[inline]
    pub fn vikings(&self) -> f64 {
        self.outcome
    }
}

/// One close's record for the special exits (§10).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BnRecord {
    /// The state was valid.
    pub valid: bool,
    /// CDS score.
    pub cds: f64,
    /// LDUB score.
    pub ldub: f64,
    /// LUDB score.
    pub ludb: f64,
    /// `S`.
    pub score: f64,
    /// Bar colour: +1 green, −1 red, 0 doji.
    pub colour: i8,
    /// Kind of the governing base, if any.
    pub governing: Option<BaseKind>,
}

/// The open base and the closes and volumes of its bars.
#[derive(Clone, Debug)]
struct OpenBase {
    base: Base,
    closes: [Px; BASE_BARS_CAP],
    vols: [u32; BASE_BARS_CAP],
}

/// One Battle Navale instance (one timeframe).
#[derive(Clone, Debug)]
pub struct BattleNavale {
    cfg: BattleNavaleConfig,
    sierra_cfg: SierraConfig,
    tf: Timeframe,
    tick: Px,
    vol_norm: f64,
    delta_norm: f64,
    open: Option<OpenBase>,
    history: [Base; BASE_HISTORY_CAP],
    hist_head: usize,
    hist_len: usize,
    last_final_ix: Option<u64>,
    state: BnState,
    records: [BnRecord; BN_RECORDS],
    rec_head: usize,
    rec_len: usize,
}

#[inline]
fn ticks(x: Px, tick: Px) -> f64 {
    x as f64 / tick as f64
}

impl BattleNavale {
    /// An instance on `tf` for a contract with tick `tick` (the config is assumed valid).
    pub fn new(cfg: &BattleNavaleConfig, sierra: &SierraConfig, tf: Timeframe, tick: Px) -> Self {
        let m = tf.minutes() as f64;
        Self {
            cfg: *cfg,
            sierra_cfg: *sierra,
            tf,
            tick: tick.max(1),
            vol_norm: cfg.volume_norm_1m * m,
            delta_norm: cfg.delta_norm_1m * m,
            open: None,
            history: [Base::default(); BASE_HISTORY_CAP],
            hist_head: 0,
            hist_len: 0,
            last_final_ix: None,
            state: BnState::default(),
            records: [BnRecord::default(); BN_RECORDS],
            rec_head: 0,
            rec_len: 0,
        }
    }

    /// The timeframe.
    #[inline]
    pub fn timeframe(&self) -> Timeframe {
        self.tf
    }

    /// The state of the latest close.
    #[inline]
    pub fn state(&self) -> &BnState {
        &self.state
    }

    /// The open base, if any.
    #[inline]
    pub fn open_base(&self) -> Option<&Base> {
        self.open.as_ref().map(|o| &o.base)
    }

    /// Finalized bases of the history, newest first.
    pub fn history(&self) -> impl Iterator<Item = &Base> + '_ {
        let cap = self.cfg.history_len.clamp(1, BASE_HISTORY_CAP);
        (0..self.hist_len).map(move |k| &self.history[(self.hist_head + cap - 1 - k) % cap])
    }

    /// The `k`-th newest per-close record (0 = this close), up to [`BN_RECORDS`] back.
    pub fn record(&self, k: usize) -> Option<&BnRecord> {
        (k < self.rec_len).then(|| &self.records[(self.rec_head + BN_RECORDS - 1 - k) % BN_RECORDS])
    }

    /// Runs the close of `ring.back(0)` (a bar of this instance's timeframe): the base
    /// lifecycle, the golden rule, the battle and the score. O(window), no allocation.
    pub fn on_bar_close(&mut self, ring: &BarRing) -> &BnState {
        let Some(bar) = ring.back(0).copied() else {
            return &self.state;
        };
        let t_ix = ring.total.saturating_sub(1);
        let finalized = self.lifecycle(ring, &bar, t_ix);
        self.state = if ring.len() >= self.cfg.min_bars {
            self.evaluate(ring, &bar, t_ix, finalized)
        } else {
            BnState { ts: bar.ts_start, ..BnState::default() }
        };
        let st = &self.state;
        let rec = BnRecord {
            valid: st.valid,
            cds: st.sierra.cds,
            ldub: st.sierra.ldub,
            ludb: st.sierra.ludb,
            score: st.score,
            colour: (bar.close - bar.open).signum() as i8,
            governing: st.governing.map(|b| b.kind),
        };
        self.records[self.rec_head] = rec;
        self.rec_head = (self.rec_head + 1) % BN_RECORDS;
        self.rec_len = (self.rec_len + 1).min(BN_RECORDS);
        &self.state
    }

    /// §3.2 steps 1–3. Returns the last bar index of a base finalized at this close.
    fn lifecycle(&mut self, ring: &BarRing, bar: &Bar, t_ix: u64) -> Option<u64> {
        let max_band = self.cfg.max_base_size_ticks as i64 * self.tick;
        let mut finalized = None;
        if let Some(o) = self.open.as_mut() {
            let hi = o.base.high.max(bar.high);
            let lo = o.base.low.min(bar.low);
            let inside = bar.close >= o.base.low && bar.close <= o.base.high;
            let n = o.base.n as usize;
            if inside && hi - lo <= max_band && n < BASE_BARS_CAP {
                o.closes[n] = bar.close;
                o.vols[n] = bar.volume;
                o.base.n += 1;
                o.base.high = hi;
                o.base.low = lo;
                o.base.ts_end = bar.ts_start;
                o.base.last_ix = t_ix;
                refresh(o, &self.cfg, self.tick, base_kind(ring, 0));
            } else {
                // its kind and quality were computed at its last bar (the previous close)
                let b = o.base;
                self.open = None;
                self.last_final_ix = Some(b.last_ix);
                finalized = Some(b.last_ix);
                if b.quality > self.cfg.history_min_quality {
                    self.push_history(b);
                }
            }
        }
        if self.open.is_none() {
            self.detect(ring, t_ix, max_band);
        }
        finalized
    }

    /// Step 3: a new base from the longest recent run, if the window consolidates.
    fn detect(&mut self, ring: &BarRing, t_ix: u64, max_band: i64) {
        let w = self.cfg.consolidation_window.min(ring.len());
        if w < CONSOLIDATION_MIN_BARS {
            return;
        }
        let Some(ref_close) = ring.back(0).map(|b| b.close) else { return };
        let (mut hi, mut lo) = (Px::MIN, Px::MAX);
        let (mut s, mut s2) = (0i128, 0i128);
        for j in 0..w {
            let Some(b) = ring.back(j) else { return };
            hi = hi.max(b.high);
            lo = lo.min(b.low);
            let x = (b.close - ref_close) as i128;
            s += x;
            s2 += x * x;
        }
        if hi <= lo {
            return; // zero range: no base
        }
        let n = w as i128;
        let std = (((n * s2 - s * s).max(0)) as f64).sqrt() / w as f64;
        if std >= self.cfg.consolidation_std_ratio * (hi - lo) as f64 {
            return;
        }
        // the longest run ending at t, after the last finalized base, with a narrow band
        let (mut rh, mut rl, mut k) = (Px::MIN, Px::MAX, 0usize);
        for j in 0..ring.len().min(BASE_BARS_CAP) {
            let ix = t_ix.saturating_sub(j as u64);
            if self.last_final_ix.is_some_and(|l| ix <= l) {
                break;
            }
            let Some(b) = ring.back(j) else { break };
            let (h, l) = (rh.max(b.high), rl.min(b.low));
            if h - l > max_band {
                break;
            }
            (rh, rl, k) = (h, l, k + 1);
        }
        if k < self.cfg.min_base_bars {
            return;
        }
        let mut o = OpenBase {
            base: Base {
                n: k as u32,
                high: rh,
                low: rl,
                first_ix: t_ix + 1 - k as u64,
                last_ix: t_ix,
                ..Base::default()
            },
            closes: [0; BASE_BARS_CAP],
            vols: [0; BASE_BARS_CAP],
        };
        for i in 0..k {
            // oldest first
            let Some(b) = ring.back(k - 1 - i) else { return };
            o.closes[i] = b.close;
            o.vols[i] = b.volume;
            if i == 0 {
                o.base.ts_start = b.ts_start;
            }
            o.base.ts_end = b.ts_start;
        }
        refresh(&mut o, &self.cfg, self.tick, base_kind(ring, 0));
        self.open = Some(o);
    }

    fn push_history(&mut self, b: Base) {
        let cap = self.cfg.history_len.clamp(1, BASE_HISTORY_CAP);
        self.history[self.hist_head] = b;
        self.hist_head = (self.hist_head + 1) % cap;
        self.hist_len = (self.hist_len + 1).min(cap);
    }

    /// The governing base (§3.3): the open one if it qualifies, else the newest qualifying
    /// finalized one within the lookback. Returns it and whether it is open.
    fn governing(&self, t_ix: u64) -> Option<(Base, bool)> {
        let qualifies = |b: &Base| b.quality > GOVERNING_MIN_QUALITY && b.kind != BaseKind::Neutral;
        if let Some(o) = self.open.as_ref().filter(|o| qualifies(&o.base)) {
            return Some((o.base, true));
        }
        let lb = self.cfg.golden_rule_lookback as u64;
        for b in self.history() {
            if t_ix - b.last_ix.min(t_ix) >= lb {
                break; // older ones end earlier still
            }
            if qualifies(b) {
                return Some((*b, false));
            }
        }
        None
    }

    /// §3.1, 3.3–3.5 at the close of `bar` (index `t_ix`).
    fn evaluate(&self, ring: &BarRing, bar: &Bar, t_ix: u64, finalized: Option<u64>) -> BnState {
        let cfg = &self.cfg;
        let (v, d) = self.vikings_defenders(ring);
        let outcome = if v + d > 0.0 { v / (v + d) } else { 0.5 };
        let gov = self.governing(t_ix);
        let golden = match gov {
            None => GoldenRule::Unclear,
            Some((b, open)) => {
                let violated = !open && self.violated(ring, &b, t_ix);
                match (b.kind, violated) {
                    (BaseKind::Green, false) => GoldenRule::Bullish,
                    (BaseKind::Green, true) => GoldenRule::ViolationBearish,
                    (BaseKind::Red, false) => GoldenRule::Bearish,
                    (BaseKind::Red, true) => GoldenRule::ViolationBullish,
                    (BaseKind::Neutral, _) => GoldenRule::Unclear,
                }
            }
        };
        let continuation = match golden {
            GoldenRule::ViolationBearish => Continuation::ViolationBearish,
            GoldenRule::ViolationBullish => Continuation::ViolationBullish,
            GoldenRule::Bullish if outcome > cfg.strong_bull_outcome => Continuation::StrongBullish,
            GoldenRule::Bullish => Continuation::WeakBullish,
            GoldenRule::Bearish if outcome < cfg.strong_bear_outcome => Continuation::StrongBearish,
            GoldenRule::Bearish => Continuation::WeakBearish,
            GoldenRule::Unclear => Continuation::Unclear,
        };
        let c = continuation.value();
        let q_g = gov.map_or(0.0, |(b, _)| b.quality);
        let d_g = golden.direction() as f64;
        let (s, score) = signed_score(cfg, outcome, c, q_g, d_g);
        let signal = signal_of(cfg, score);
        let abs = score.abs();
        let strength = if signal == Direction::Flat { 0.0 } else { (4.0 * (abs - 0.25)).clamp(0.0, 1.0) };
        let status = if score > cfg.status_win {
            BattleStatus::VikingsWinning
        } else if score < -cfg.status_win {
            BattleStatus::DefendersWinning
        } else if abs <= cfg.status_balanced {
            BattleStatus::Balanced
        } else {
            BattleStatus::NoBattle
        };
        let sierra = bar_patterns::evaluate(ring, &self.sierra_cfg, self.tick, self.vol_norm);
        let bn_confidence = (q_g + sierra.mean() + (c - 0.5).abs() * 2.0 + abs) / 4.0;
        let ret =
            |k: usize| ring.back(k).filter(|b| b.close > 0).map(|b| bar.close as f64 / b.close as f64 - 1.0);
        let st = BnState {
            valid: true,
            ts: bar.ts_start,
            v_sum: v,
            d_sum: d,
            outcome,
            defenders: 1.0 - outcome,
            golden,
            governing: gov.map(|(b, _)| b),
            governing_open: gov.is_some_and(|(_, o)| o),
            governing_finalized_now: gov.is_some_and(|(b, o)| !o && finalized == Some(b.last_ix)),
            q_g,
            continuation,
            s,
            score,
            signal,
            strength,
            battle_strength: abs,
            status,
            battle_won: matches!(status, BattleStatus::VikingsWinning | BattleStatus::DefendersWinning),
            bn_confidence,
            sierra,
            ret5: ret(5),
            ret15: ret(15),
        };
        let finite =
            [st.v_sum, st.d_sum, st.outcome, st.s, st.score, st.bn_confidence].iter().all(|x| x.is_finite());
        if finite {
            st
        } else {
            BnState { ts: bar.ts_start, ..BnState::default() }
        }
    }

    /// §3.1 over the last `lookback_bars` bars: (V, D).
    fn vikings_defenders(&self, ring: &BarRing) -> (f64, f64) {
        let cfg = &self.cfg;
        let (mut v, mut d) = (0.0, 0.0);
        for j in 0..cfg.lookback_bars.min(ring.len()) {
            let Some(b) = ring.back(j) else { break };
            let range = b.high - b.low;
            let br = if range > 0 { (b.close - b.open).abs() as f64 / range as f64 } else { 0.0 };
            let vol = cfg.volume_weight * (b.volume as f64 / self.vol_norm).min(cfg.volume_cap);
            let body = if br > cfg.body_ratio_min { cfg.body_weight * br } else { 0.0 };
            match b.close.cmp(&b.open) {
                std::cmp::Ordering::Greater => v += body + vol,
                std::cmp::Ordering::Less => d += body + vol,
                std::cmp::Ordering::Equal => {
                    v += vol / 2.0;
                    d += vol / 2.0;
                }
            }
        }
        if let Some(b) = ring.back(0) {
            let t = cfg.delta_weight * ((b.delta as f64).abs() / self.delta_norm).min(1.0);
            if b.delta > 0 {
                v += t;
            } else if b.delta < 0 {
                d += t;
            }
            let bs = b.buy_vol as u64 + b.sell_vol as u64;
            if bs > 0 {
                let r = b.buy_vol as f64 / bs as f64;
                if r > cfg.aggressor_hi {
                    v += cfg.aggressor_weight;
                } else if r < cfg.aggressor_lo {
                    d += cfg.aggressor_weight;
                }
            }
        }
        (v, d)
    }

    /// A finalized base is violated by a close after its last bar (§3.3).
    fn violated(&self, ring: &BarRing, b: &Base, t_ix: u64) -> bool {
        let tol = self.cfg.violation_tolerance_ticks * self.tick as f64;
        let after = t_ix.saturating_sub(b.last_ix) as usize;
        (0..after.min(ring.len())).filter_map(|j| ring.back(j)).any(|x| match b.kind {
            BaseKind::Green => x.close < x.open && ((b.low - x.close) as f64) > tol,
            BaseKind::Red => x.close > x.open && ((x.close - b.high) as f64) > tol,
            BaseKind::Neutral => false,
        })
    }
}

/// Recomputes the size, quality and kind of an open base.
fn refresh(o: &mut OpenBase, cfg: &BattleNavaleConfig, tick: Px, kind: BaseKind) {
    let n = o.base.n as usize;
    let b = &mut o.base;
    b.size_ticks = ticks(b.high - b.low, tick);
    b.kind = kind;
    let (sum, sum2) =
        o.vols[..n].iter().fold((0u128, 0u128), |(s, s2), &v| (s + v as u128, s2 + v as u128 * v as u128));
    b.mean_volume = if n > 0 { sum as f64 / n as f64 } else { 0.0 };
    let dur = (n as f64 / cfg.duration_full_bars as f64).min(1.0);
    let size_f = if (2.0..=6.0).contains(&b.size_ticks) {
        1.0
    } else if (1.0..=8.0).contains(&b.size_ticks) {
        0.7
    } else {
        0.3
    };
    // std/mean = sqrt(nΣv² − (Σv)²)/Σv, exact in integers
    let vol_f = if sum > 0 {
        let num = (n as u128 * sum2).saturating_sub(sum * sum);
        (1.0 - (num as f64).sqrt() / sum as f64).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let margin = cfg.respect_margin * (b.high - b.low) as f64;
    let inner = o.closes[..n]
        .iter()
        .filter(|&&c| (c - b.low) as f64 >= margin && (b.high - c) as f64 >= margin)
        .count();
    let resp = if n > 0 { inner as f64 / n as f64 } else { 0.0 };
    let q = cfg.w_duration * dur + cfg.w_size * size_f + cfg.w_volume * vol_f + cfg.w_respect * resp;
    b.quality = if q.is_finite() { q.clamp(0.0, 1.0) } else { 0.0 };
}

/// §3.5: `s = w_outcome·b + w_trend·c + w_base·(0.5 + 0.5·q_g·d_g)` and the signed score
/// `S = clamp(2(s − 0.5), −1, 1)`. Returns `(s, S)`.
pub fn signed_score(cfg: &BattleNavaleConfig, b: f64, c: f64, q_g: f64, d_g: f64) -> (f64, f64) {
    let s = cfg.w_outcome * b + cfg.w_trend * c + cfg.w_base * (0.5 + 0.5 * q_g * d_g);
    (s, (2.0 * (s - 0.5)).clamp(-1.0, 1.0))
}

/// LONG if `S > long_threshold`, SHORT if `S < short_threshold`, Flat otherwise.
pub fn signal_of(cfg: &BattleNavaleConfig, score: f64) -> Direction {
    if score > cfg.long_threshold {
        Direction::Long
    } else if score < cfg.short_threshold {
        Direction::Short
    } else {
        Direction::Flat
    }
}

/// The kind from the 5 closes ending at `ring.back(j0)`.
fn base_kind(ring: &BarRing, j0: usize) -> BaseKind {
    let (mut up, mut down) = (0, 0);
    for j in j0..j0 + 4 {
        let (Some(new), Some(old)) = (ring.back(j), ring.back(j + 1)) else { break };
        match new.close.cmp(&old.close) {
            std::cmp::Ordering::Greater => up += 1,
            std::cmp::Ordering::Less => down += 1,
            std::cmp::Ordering::Equal => {}
        }
    }
    if up >= 3 {
        BaseKind::Green
    } else if down >= 3 {
        BaseKind::Red
    } else {
        BaseKind::Neutral
    }
}

/// The four instances, one per timeframe (index = [`Timeframe::index`]).
#[derive(Clone, Debug)]
pub struct BattleNavaleSet {
    inst: [BattleNavale; 4],
    main: Timeframe,
}

impl BattleNavaleSet {
    /// Four instances; *the* Battle Navale is the one on `cfg.timeframe_min`.
    pub fn new(cfg: &BattleNavaleConfig, sierra: &SierraConfig, tick: Px) -> Self {
        Self {
            inst: TIMEFRAMES.map(|tf| BattleNavale::new(cfg, sierra, tf, tick)),
            main: Timeframe::from_minutes(cfg.timeframe_min).unwrap_or(Timeframe::M5),
        }
    }

    /// Runs the close of a `tf` bar (`ring` is that timeframe's ring).
    pub fn on_bar_close(&mut self, tf: Timeframe, ring: &BarRing) -> &BnState {
        self.inst[tf.index()].on_bar_close(ring)
    }

    /// The instance of `tf`.
    #[inline]
    pub fn get(&self, tf: Timeframe) -> &BattleNavale {
        &self.inst[tf.index()]
    }

    /// *The* Battle Navale (the instance on `timeframe_min`).
    #[inline]
    pub fn main(&self) -> &BattleNavale {
        self.get(self.main)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Px = 250_000_000;
    const BASE: Px = 5000 * 1_000_000_000;

    /// A bar from prices in points (exact quarters), with volume and buy/sell split.
    fn bar_pts(o: f64, h: f64, l: f64, c: f64, v: u32, buy: u32, sell: u32) -> Bar {
        let px = |x: f64| (x * 4.0).round() as Px * T;
        Bar {
            open: px(o),
            high: px(h),
            low: px(l),
            close: px(c),
            volume: v,
            buy_vol: buy,
            sell_vol: sell,
            delta: buy as i32 - sell as i32,
            ..Bar::default()
        }
    }

    /// A bar in ticks above 5000.00 (T11), with a neutral buy/sell split.
    fn bar_ticks(i: u64, o: i64, h: i64, l: i64, c: i64, v: u32) -> Bar {
        Bar {
            ts_start: i * 300_000_000_000,
            open: BASE + o * T,
            high: BASE + h * T,
            low: BASE + l * T,
            close: BASE + c * T,
            volume: v,
            buy_vol: v / 2,
            sell_vol: v / 2,
            session_date: 20250415,
            ..Bar::default()
        }
    }

    fn close(x: f64, y: f64) -> bool {
        (x - y).abs() < 1e-5
    }

    /// SIGNALS.md T9 on 1-minute bars: V = 3.177778, D = 0.16, b = 0.952064.
    #[test]
    fn t9_vikings_vs_defenders() {
        let cfg = BattleNavaleConfig { min_bars: 5, ..BattleNavaleConfig::default() };
        let mut bn = BattleNavale::new(&cfg, &SierraConfig::default(), Timeframe::M1, T);
        let mut r = BarRing::new(32);
        for b in [
            bar_pts(5000.00, 5002.00, 4999.75, 5001.75, 1200, 600, 600),
            bar_pts(5001.75, 5002.25, 5000.75, 5001.00, 900, 450, 450),
            bar_pts(5001.00, 5003.00, 5000.75, 5002.75, 3000, 1500, 1500),
            bar_pts(5002.75, 5003.25, 5002.25, 5002.75, 600, 300, 300),
            bar_pts(5002.75, 5004.00, 5002.50, 5003.75, 1500, 1050, 450),
        ] {
            r.push(b);
            bn.on_bar_close(&r);
        }
        let s = bn.state();
        assert!(s.valid);
        assert!(close(s.v_sum, 3.177778), "V = {}", s.v_sum);
        assert!(close(s.d_sum, 0.16), "D = {}", s.d_sum);
        assert!(close(s.outcome, 0.952064), "b = {}", s.outcome);
        assert!(close(s.defenders, 1.0 - 0.952064));
    }

    /// SIGNALS.md T10, every row, through the same code path as the instance: the
    /// continuation values of the statuses and the thresholds.
    #[test]
    fn t10_signed_score_table() {
        let cfg = BattleNavaleConfig::default();
        // (b, c class, q, status, s, S, signal)
        let rows = [
            (0.50, Continuation::Unclear, 0.0, GoldenRule::Unclear, 0.5, 0.0, Direction::Flat),
            (
                0.30,
                Continuation::ViolationBearish,
                0.6,
                GoldenRule::ViolationBearish,
                0.24,
                -0.52,
                Direction::Short,
            ),
            (0.25, Continuation::StrongBearish, 0.8, GoldenRule::Bearish, 0.195, -0.61, Direction::Short),
            (0.80, Continuation::StrongBullish, 0.7, GoldenRule::Bullish, 0.8125, 0.625, Direction::Long),
        ];
        for (b, cont, q, golden, s_exp, big_s, sig) in rows {
            let c = cont.value();
            // the c column of T10 is the class's value
            let (s, sc) = signed_score(&cfg, b, c, q, golden.direction() as f64);
            assert!(close(s, s_exp), "s {s} vs {s_exp}");
            assert!(close(sc, big_s), "S {sc} vs {big_s}");
            assert_eq!(signal_of(&cfg, sc), sig);
            // the seed: unsigned s with a bullish-only base term, read by its ±0.25 rule
            let seed = 0.4 * b + 0.35 * c + 0.25 * (0.5 + 0.5 * q);
            assert!(seed > 0.25, "the seed read every row as LONG ({seed})");
        }
        // row 2's c = 0.2 is the violated green base; row 3's is red holding with b < 0.3
        assert_eq!(Continuation::ViolationBearish.value(), 0.2);
        assert_eq!(Continuation::StrongBearish.value(), 0.2);
        assert_eq!(Continuation::StrongBullish.value(), 0.8);
    }

    fn t11_bars() -> [Bar; 10] {
        [
            bar_ticks(1, 0, 6, -1, 5, 6000),
            bar_ticks(2, 5, 11, 4, 10, 6600),
            bar_ticks(3, 10, 16, 9, 15, 7200),
            bar_ticks(4, 15, 21, 13, 20, 7800),
            bar_ticks(5, 20, 23, 20, 22, 6000),
            bar_ticks(6, 22, 24, 21, 21, 5400),
            bar_ticks(7, 21, 23, 20, 22, 6000),
            bar_ticks(8, 22, 24, 21, 24, 6600),
            bar_ticks(9, 23, 24, 21, 22, 5400),
            bar_ticks(10, 22, 24, 21, 23, 6600),
        ]
    }

    fn t11_run(bar11: Option<Bar>) -> (BattleNavale, BarRing, Vec<BnState>) {
        let mut bn =
            BattleNavale::new(&BattleNavaleConfig::default(), &SierraConfig::default(), Timeframe::M5, T);
        let mut r = BarRing::new(120);
        let mut states = Vec::new();
        for b in t11_bars().into_iter().chain(bar11) {
            r.push(b);
            states.push(*bn.on_bar_close(&r));
        }
        (bn, r, states)
    }

    /// SIGNALS.md T11: at the close of bar 10, the base k = 6, band [20, 24], size 4, Green,
    /// q = 0.817921 (EXCELLENT).
    #[test]
    fn t11_base_detection() {
        let (bn, _, states) = t11_run(None);
        assert!(states[..9].iter().all(|s| !s.valid && s.score == 0.0), "invalid before min_bars");
        let st = states[9];
        assert!(st.valid);
        let Some(b) = bn.open_base().copied() else { panic!("a base at bar 10") };
        assert_eq!(b.n, 6);
        assert_eq!((b.low, b.high), (BASE + 20 * T, BASE + 24 * T));
        assert_eq!(b.size_ticks, 4.0);
        assert_eq!(b.kind, BaseKind::Green);
        assert!(close(b.quality, 0.817921), "q = {}", b.quality);
        assert_eq!(b.rating(), BaseRating::Excellent);
        assert_eq!((b.ts_start, b.ts_end), (5 * 300_000_000_000, 10 * 300_000_000_000));
        assert!(close(b.mean_volume, 6000.0));
        // the open Green base governs and holds
        assert_eq!(st.golden, GoldenRule::Bullish);
        assert!(st.governing_open);
        assert!(close(st.q_g, 0.817921));
    }

    /// SIGNALS.md T11 at bar 11: finalized, ViolationBearish, b = 0.361076, S = −0.525619 SHORT.
    #[test]
    fn t11_violation_and_score() {
        let mut b11 = bar_ticks(11, 22, 22, 15, 16, 12000);
        (b11.buy_vol, b11.sell_vol, b11.delta) = (4000, 8000, -4000);
        let (bn, _, states) = t11_run(Some(b11));
        let st = states[10];
        assert!(bn.open_base().is_none(), "the close 16 is outside [20, 24]");
        let hist: Vec<Base> = bn.history().copied().collect();
        assert_eq!(hist.len(), 1, "0.818 > 0.5 enters the history");
        assert_eq!(hist[0].n, 6);
        assert_eq!(st.golden, GoldenRule::ViolationBearish);
        assert_eq!(st.golden.direction(), -1);
        assert!(close(st.c(), 0.2));
        assert!(close(st.v_sum, 1.045333), "V = {}", st.v_sum);
        assert!(close(st.d_sum, 1.849714), "D = {}", st.d_sum);
        assert!(close(st.outcome, 0.361076), "b = {}", st.outcome);
        assert!(close(st.s, 0.237190), "s = {}", st.s);
        assert!(close(st.score, -0.525619), "S = {}", st.score);
        assert_eq!(st.signal, Direction::Short);
        assert_eq!(st.status, BattleStatus::DefendersWinning);
        assert!(st.battle_won);
        assert!(close(st.strength, 1.0), "min(4·(0.525619 − 0.25), 1) = 1");
        assert!(st.governing_finalized_now && !st.governing_open);
        // bn_confidence = mean(q_g, Sierra mean, |c − 0.5|·2, |S|)
        // no Sierra pattern at bar 11 (LDUB/LUDB: open_B 22 = close_A; CDS: high_W − low_A = 3)
        assert_eq!(st.sierra, SierraScores::default());
        assert!(close(st.bn_confidence, (0.817921 + 0.0 + 0.6 + 0.525619) / 4.0));
        // the seed's unsigned score would be 0.4417 (read as LONG); the bullish-only base term
        let seed = 0.4 * 0.361076 + 0.35 * 0.2 + 0.25 * (0.5 + 0.5 * 0.817921);
        assert!(close(seed, 0.441671) && seed > 0.25);
        // records for the special exits: this close and the previous one
        let r0 = bn.record(0).copied().unwrap_or_default();
        assert_eq!((r0.colour, r0.governing), (-1, Some(BaseKind::Green)));
        assert!(close(r0.score, -0.525619));
        assert!(bn.record(4).is_some() && bn.record(5).is_none());
    }

    /// T11's control case: bar 11 closing at 20 (red, O 22) violates nothing and extends the
    /// base to 7 bars (band [15, 24]).
    #[test]
    fn t11_control_case() {
        let mut b11 = bar_ticks(11, 22, 22, 15, 20, 12000);
        (b11.buy_vol, b11.sell_vol, b11.delta) = (4000, 8000, -4000);
        let (bn, _, states) = t11_run(Some(b11));
        let st = states[10];
        let Some(b) = bn.open_base().copied() else { panic!("still open") };
        assert_eq!(b.n, 7);
        assert_eq!((b.low, b.high), (BASE + 15 * T, BASE + 24 * T));
        assert_eq!(bn.history().count(), 0);
        assert_ne!(st.golden, GoldenRule::ViolationBearish);
        // closes 22, 24, 22, 23, 20 → +, −, +, −: the extended base is Neutral, so nothing governs
        assert_eq!(b.kind, BaseKind::Neutral);
        assert_eq!(st.golden, GoldenRule::Unclear);
    }

    /// Red base violated by a green close above it → ViolationBullish, c = 0.8, d_g = +1.
    #[test]
    fn red_base_violation_is_bullish() {
        // mirror T11 around 0: prices negated (open ↔ close roles kept by negation)
        let mut bn =
            BattleNavale::new(&BattleNavaleConfig::default(), &SierraConfig::default(), Timeframe::M5, T);
        let mut r = BarRing::new(120);
        let neg = |b: Bar| Bar {
            open: 2 * BASE - b.open,
            close: 2 * BASE - b.close,
            high: 2 * BASE - b.low,
            low: 2 * BASE - b.high,
            ..b
        };
        for b in t11_bars() {
            r.push(neg(b));
            bn.on_bar_close(&r);
        }
        let b = bn.open_base().copied().unwrap_or_default();
        assert_eq!((b.n, b.kind), (6, BaseKind::Red));
        assert!(close(b.quality, 0.817921), "symmetric quality");
        assert_eq!(bn.state().golden, GoldenRule::Bearish);
        let mut b11 = neg(bar_ticks(11, 22, 22, 15, 16, 12000));
        (b11.buy_vol, b11.sell_vol, b11.delta) = (8000, 4000, 4000);
        r.push(b11);
        let st = *bn.on_bar_close(&r);
        assert_eq!(st.golden, GoldenRule::ViolationBullish);
        assert!(close(st.c(), 0.8));
        // the mirror of T11: b' = 1 − 0.361076, S' = +0.525619
        assert!(close(st.outcome, 1.0 - 0.361076));
        assert!(close(st.score, 0.525619), "S = {}", st.score);
        assert_eq!(st.signal, Direction::Long);
        assert_eq!(st.status, BattleStatus::VikingsWinning);
    }

    /// Fewer than `min_bars` bars: invalid, zero; an empty ring changes nothing.
    #[test]
    fn fewer_than_min_bars_is_invalid() {
        let mut bn =
            BattleNavale::new(&BattleNavaleConfig::default(), &SierraConfig::default(), Timeframe::M5, T);
        let r = BarRing::new(16);
        assert!(!bn.on_bar_close(&r).valid);
        let mut r = BarRing::new(16);
        for b in t11_bars().into_iter().take(9) {
            r.push(b);
            let s = bn.on_bar_close(&r);
            assert!(!s.valid);
            assert_eq!((s.score, s.outcome, s.signal), (0.0, 0.0, Direction::Flat));
        }
    }

    /// Dojis split their volume half and half and carry no body; all-doji bars with no
    /// delta give V = D and b = 0.5; a flat window (zero range) makes no base.
    #[test]
    fn dojis_and_flat_bars() {
        let cfg = BattleNavaleConfig { min_bars: 1, ..BattleNavaleConfig::default() };
        let mut bn = BattleNavale::new(&cfg, &SierraConfig::default(), Timeframe::M1, T);
        let mut r = BarRing::new(32);
        for i in 0..12 {
            r.push(Bar { ts_start: i, ..bar_pts(5000.0, 5000.0, 5000.0, 5000.0, 750, 0, 0) });
            bn.on_bar_close(&r);
        }
        let s = bn.state();
        // 5 bars × 0.2·750/1500 = 0.5, half each
        assert!(close(s.v_sum, 0.25) && close(s.d_sum, 0.25) && close(s.outcome, 0.5));
        assert!(bn.open_base().is_none(), "zero range → no base");
        assert_eq!(s.golden, GoldenRule::Unclear);
        // S = 2(0.4·0.5 + 0.35·0.5 + 0.25·0.5 − 0.5) = 0 → Balanced, no signal
        assert!(close(s.score, 0.0));
        assert_eq!((s.status, s.signal, s.battle_won), (BattleStatus::Balanced, Direction::Flat, false));
        // no bars with volume at all: b = 0.5
        let mut bn = BattleNavale::new(&cfg, &SierraConfig::default(), Timeframe::M1, T);
        let mut r = BarRing::new(4);
        r.push(bar_pts(5000.0, 5000.0, 5000.0, 5000.0, 0, 0, 0));
        assert!(close(bn.on_bar_close(&r).outcome, 0.5));
    }

    /// A session change inside the lookback resets nothing (§1: bars and Battle Navale
    /// state are not reset): T11 with bars 8–10 in the next session gives the same base.
    #[test]
    fn session_change_does_not_reset() {
        let mut bn =
            BattleNavale::new(&BattleNavaleConfig::default(), &SierraConfig::default(), Timeframe::M5, T);
        let mut r = BarRing::new(120);
        for (i, mut b) in t11_bars().into_iter().enumerate() {
            if i >= 7 {
                b.session_date = 20250416;
            }
            r.push(b);
            bn.on_bar_close(&r);
        }
        let b = bn.open_base().copied().unwrap_or_default();
        assert_eq!((b.n, b.kind), (6, BaseKind::Green));
        assert!(close(b.quality, 0.817921));
    }

    /// A base stays governing for `golden_rule_lookback` bars after its last bar, then not.
    #[test]
    fn golden_rule_lookback_expires() {
        let cfg = BattleNavaleConfig { golden_rule_lookback: 3, ..BattleNavaleConfig::default() };
        let mut bn = BattleNavale::new(&cfg, &SierraConfig::default(), Timeframe::M5, T);
        let mut r = BarRing::new(120);
        for b in t11_bars() {
            r.push(b);
            bn.on_bar_close(&r);
        }
        // a breakout far above: finalizes the base (last bar 10), holding → Bullish
        let up = |i: u64, x: i64| bar_ticks(i, x, x + 4, x - 1, x + 3, 6000);
        r.push(up(11, 30));
        assert_eq!(bn.on_bar_close(&r).golden, GoldenRule::Bullish);
        assert!(bn.state().governing_finalized_now);
        r.push(up(12, 40));
        assert_eq!(bn.on_bar_close(&r).golden, GoldenRule::Bullish);
        assert!(!bn.state().governing_finalized_now);
        // bar 13 is the 3rd bar after bar 10: bar 10 is no longer among the last 3
        r.push(up(13, 50));
        assert_eq!(bn.on_bar_close(&r).golden, GoldenRule::Unclear);
    }

    /// A long base is bounded by [`BASE_BARS_CAP`]: the bar after it finalizes the base.
    #[test]
    fn base_length_cap() {
        let cfg = BattleNavaleConfig::default();
        let mut bn = BattleNavale::new(&cfg, &SierraConfig::default(), Timeframe::M5, T);
        let mut r = BarRing::new(120);
        for i in 0..(BASE_BARS_CAP as u64 + 20) {
            let c = if i % 2 == 0 { 2 } else { 1 };
            r.push(bar_ticks(i, 1, 3, 0, c, 1000));
            bn.on_bar_close(&r);
            assert!(bn.open_base().map_or(0, |b| b.n as usize) <= BASE_BARS_CAP);
        }
        assert!(bn.open_base().is_some_and(|b| b.n < BASE_BARS_CAP as u32));
        assert_eq!(bn.history().count(), 1, "the capped base was finalized");
    }

    #[test]
    fn config_defaults_validate_and_errors() {
        let cfg = BattleNavaleConfig::default();
        assert_eq!(cfg.validate(), Ok(()));
        assert_eq!(cfg.lookback(), 20);
        let bad = BattleNavaleConfig { history_len: 33, ..cfg };
        assert_eq!(bad.validate(), Err("history_len: 33 outside 1..=32".into()));
        let bad = BattleNavaleConfig { consolidation_window: 65, ..cfg };
        assert!(bad.validate().is_err_and(|e| e.starts_with("consolidation_window:")));
        let bad = BattleNavaleConfig { w_base: 0.3, ..cfg };
        assert!(bad.validate().is_err_and(|e| e.starts_with("w_outcome:")));
        let bad = BattleNavaleConfig { timeframe_min: 3, ..cfg };
        assert!(bad.validate().is_err_and(|e| e.starts_with("timeframe_min:")));
        let bad = BattleNavaleConfig { volume_norm_1m: f64::NAN, ..cfg };
        assert!(bad.validate().is_err_and(|e| e.starts_with("volume_norm_1m:")));
        let t: BattleNavaleConfig = toml::from_str("min_bars = 12\nlong_threshold = 0.3").unwrap_or_default();
        assert_eq!((t.min_bars, t.long_threshold, t.short_threshold), (12, 0.3, -0.25));
        assert!(toml::from_str::<BattleNavaleConfig>("nope = 1").is_err());
    }

    #[test]
    fn set_routes_by_timeframe() {
        let mut set = BattleNavaleSet::new(&BattleNavaleConfig::default(), &SierraConfig::default(), T);
        let mut r = BarRing::new(120);
        for b in t11_bars() {
            r.push(b);
            set.on_bar_close(Timeframe::M5, &r);
        }
        assert_eq!(set.main().timeframe(), Timeframe::M5);
        assert!(set.main().state().valid);
        assert!(!set.get(Timeframe::M1).state().valid);
    }
}
