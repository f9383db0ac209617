//! Options features F9–F14 (SIGNALS.md §2, `[features.options]`), from the adopted gamma
//! snapshot ([`GammaLevels`], the options cold thread's output) and the calendar.
//!
//! - **Freshness**: the snapshot is *fresh* at `now` iff its `spot` is defined,
//!   `computed_at_ns ≤ now` and `now − computed_at_ns ≤ max_age_s`. Otherwise `flags` gets
//!   [`OPT_NONE`] (nothing adopted, or a snapshot without a spot), [`OPT_FUTURE`] (computed
//!   after `now`) or [`OPT_STALE`] (too old), and F9–F13 are invalid.
//! - **Basis**: ES − SPX, fixed per snapshot: the ES mid minus `spot` at the first update with
//!   a mid while the snapshot is fresh, or `basis_points` when that is set. The levels are
//!   mapped to ES prices once, when the basis becomes known ([`spx_to_es`]: nearest ES tick,
//!   ties away from zero); each update then costs a few comparisons and subtractions.
//! - **F9** net GEX, `total_gex_usd_per_pct / 1e9` ($bn per 1 % move; + = dealers long gamma).
//! - **F10–F12** `clamp(ticks(level_ES − P), ±clip_ticks)` for the zero-gamma level, the call
//!   wall and the put wall, with `P` the ES mid, or the last trade when there is no mid.
//!   Invalid when the level is undefined, the basis is not known yet, or there is no price.
//! - **F13** `clamp(ratio, 0, 10)` of the put/call open-interest (`pc_source = "oi"`) or volume
//!   (`"volume"`) ratio; invalid when the ratio is not finite (no call OI / volume).
//! - **F14** trading days from the session date to the next monthly expiry, from the calendar
//!   ([`crate::gamma_cycle`]); always valid once a session date is known.

use crate::gamma_cycle::{gamma_cycle, GammaCycleConfig, GammaCycleState};
use mia_model::features::vector_flags::{OPT_FUTURE, OPT_NONE, OPT_STALE};
use mia_model::features::{FeatureId, FeatureVector};
use mia_model::price::{from_f64, Px, UNDEF_PX};
use mia_model::time::calendar::Date;
use mia_options::es_map::{basis, spx_to_es};
use mia_options::levels::GammaLevels;

const NS_PER_SEC: u64 = 1_000_000_000;
/// Largest accepted `basis_points` magnitude (index points).
const MAX_BASIS_POINTS: f64 = 1000.0;
/// Upper bound of F13.
const PC_MAX: f64 = 10.0;
/// The three snapshot flags this feature owns in [`FeatureVector::flags`].
const OPT_FLAGS: u32 = OPT_NONE | OPT_STALE | OPT_FUTURE;

/// Which put/call ratio F13 reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PcSource {
    /// `put_call_oi_ratio` (open interest).
    #[default]
    Oi,
    /// `put_call_volume_ratio`.
    Volume,
}

/// `[features.options]`.
#[derive(Clone, Copy, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct OptionsConfig {
    /// A snapshot older than this (seconds of event time) is stale (> 0).
    pub max_age_s: u64,
    /// F10–F12 are clipped to ±`clip_ticks` (> 0).
    pub clip_ticks: u32,
    /// The put/call ratio of F13.
    pub pc_source: PcSource,
    /// A fixed ES − SPX basis in index points; unset: measured per snapshot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub basis_points: Option<f64>,
}

impl Default for OptionsConfig {
    fn default() -> Self {
        Self { max_age_s: 86_400, clip_ticks: 2000, pc_source: PcSource::Oi, basis_points: None }
    }
}

impl OptionsConfig {
    /// Checks the section.
    ///
    /// # Errors
    /// `key: reason` for the first bad key (relative to `[features.options]`).
    pub fn validate(&self) -> Result<(), String> {
        if self.max_age_s == 0 {
            return Err("max_age_s: must be > 0".into());
        }
        if self.clip_ticks == 0 {
            return Err("clip_ticks: must be > 0".into());
        }
        if let Some(b) = self.basis_points {
            if !(b.is_finite() && b.abs() <= MAX_BASIS_POINTS) {
                return Err(format!("basis_points: {b} is not a finite number within ±{MAX_BASIS_POINTS}"));
            }
        }
        Ok(())
    }
}

/// Whether the adopted snapshot may be used at some `now`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SnapshotStatus {
    /// Nothing adopted, or a snapshot without a spot.
    None,
    /// Computed after `now`.
    Future,
    /// Older than `max_age_s`.
    Stale,
    /// Usable.
    Fresh,
}

impl SnapshotStatus {
    /// The [`FeatureVector::flags`] bit of this status (0 when fresh).
    #[inline]
    pub fn flag(self) -> u32 {
        match self {
            SnapshotStatus::None => OPT_NONE,
            SnapshotStatus::Future => OPT_FUTURE,
            SnapshotStatus::Stale => OPT_STALE,
            SnapshotStatus::Fresh => 0,
        }
    }
}

/// Features F9–F14 over the adopted gamma snapshot and the session date.
#[derive(Clone, Debug)]
pub struct OptionsFeatures {
    max_age_ns: u64,
    clip_px: Px,
    tick: Px,
    pc_source: PcSource,
    fixed_basis: Option<Px>,
    cycle_cfg: GammaCycleConfig,
    levels: Option<GammaLevels>,
    basis: Option<Px>,
    /// Zero gamma, call wall, put wall in ES prices ([`UNDEF_PX`] while the basis is unknown).
    es: [Px; 3],
    /// F9 of the snapshot (`None`: not finite).
    gex_bn: Option<f32>,
    /// F13 of the snapshot (`None`: not finite).
    pc: Option<f32>,
    cycle: Option<GammaCycleState>,
    adopted: u64,
    nonfinite: u64,
}

/// The F10–F12 slots, in the order of `OptionsFeatures::es`.
const LEVEL_IDS: [FeatureId; 3] =
    [FeatureId::ZeroGammaDistance, FeatureId::CallWallDistance, FeatureId::PutWallDistance];

impl OptionsFeatures {
    /// The features for a contract with tick `tick` (1e-9 units; ES and MES: 250 000 000),
    /// with the default `[signal.gamma_cycle]` (see [`Self::with_cycle_config`]). A config
    /// that fails [`OptionsConfig::validate`] is clamped to usable values (age and clip ≥ 1;
    /// a bad `basis_points` is ignored).
    pub fn new(cfg: &OptionsConfig, tick: Px) -> Self {
        let tick = tick.max(1);
        Self {
            max_age_ns: cfg.max_age_s.max(1).saturating_mul(NS_PER_SEC),
            clip_px: i64::from(cfg.clip_ticks.max(1)).saturating_mul(tick),
            tick,
            pc_source: cfg.pc_source,
            fixed_basis: cfg.basis_points.filter(|b| b.abs() <= MAX_BASIS_POINTS).and_then(from_f64),
            cycle_cfg: GammaCycleConfig::default(),
            levels: None,
            basis: None,
            es: [UNDEF_PX; 3],
            gex_bn: None,
            pc: None,
            cycle: None,
            adopted: 0,
            nonfinite: 0,
        }
    }

    /// Uses `cfg` (`[signal.gamma_cycle]`) for the phase of [`Self::on_session`].
    pub fn with_cycle_config(mut self, cfg: GammaCycleConfig) -> Self {
        self.cycle_cfg = cfg;
        self
    }

    /// Adopts a new snapshot. The basis is measured again at the next fresh update with a mid,
    /// unless `basis_points` fixes it. Non-finite GEX counts in [`Self::nonfinite_count`].
    pub fn adopt(&mut self, levels: GammaLevels) {
        let gex = levels.total_gex_usd_per_pct / 1e9;
        self.gex_bn = (gex as f32).is_finite().then_some(gex as f32);
        if self.gex_bn.is_none() {
            self.nonfinite += 1;
        }
        let ratio = match self.pc_source {
            PcSource::Oi => levels.put_call_oi_ratio,
            PcSource::Volume => levels.put_call_volume_ratio,
        };
        self.pc = ratio.is_finite().then(|| ratio.clamp(0.0, PC_MAX) as f32);
        self.levels = Some(levels);
        self.adopted += 1;
        self.es = [UNDEF_PX; 3];
        self.basis = None;
        if let Some(b) = self.fixed_basis {
            self.set_basis(b);
        }
    }

    /// Fixes the basis of the current snapshot and maps its levels to ES prices (once).
    fn set_basis(&mut self, b: Px) {
        let Some(l) = &self.levels else { return };
        self.basis = Some(b);
        self.es = [spx_to_es(l.zero_gamma, b), spx_to_es(l.call_wall, b), spx_to_es(l.put_wall, b)];
    }

    /// The snapshot's status at event time `now`.
    #[inline]
    pub fn status(&self, now: u64) -> SnapshotStatus {
        match &self.levels {
            None => SnapshotStatus::None,
            Some(l) if l.spot == UNDEF_PX => SnapshotStatus::None,
            Some(l) if l.computed_at_ns > now => SnapshotStatus::Future,
            Some(l) if now - l.computed_at_ns > self.max_age_ns => SnapshotStatus::Stale,
            Some(_) => SnapshotStatus::Fresh,
        }
    }

    /// Refreshes F9–F13 (and F14 when a session date is known) into `out` and sets its
    /// `OPT_*` flag bits, on a `LAST` event at event time `now` with the ES mid `es_mid` and the
    /// last trade price `last_trade` (`None` or [`UNDEF_PX`]: not available). Other flag bits
    /// are left as they are. O(1), no allocation.
    #[inline]
    pub fn update(&mut self, now: u64, es_mid: Option<Px>, last_trade: Option<Px>, out: &mut FeatureVector) {
        if let Some(c) = &self.cycle {
            out.set(FeatureId::GammaCycle, c.n_to as f32);
        }
        out.flags &= !OPT_FLAGS;
        let status = self.status(now);
        if status != SnapshotStatus::Fresh {
            out.flags |= status.flag();
            for id in [FeatureId::NetGex, FeatureId::PutCallRatio].iter().chain(&LEVEL_IDS) {
                out.invalidate(*id);
            }
            return;
        }
        let mid = es_mid.filter(|&p| p != UNDEF_PX);
        if self.basis.is_none() {
            if let (Some(m), Some(l)) = (mid, &self.levels) {
                if let Some(b) = basis(m, l.spot) {
                    self.set_basis(b);
                }
            }
        }
        match self.gex_bn {
            Some(v) => out.set(FeatureId::NetGex, v),
            None => out.invalidate(FeatureId::NetGex),
        }
        match self.pc {
            Some(v) => out.set(FeatureId::PutCallRatio, v),
            None => out.invalidate(FeatureId::PutCallRatio),
        }
        let price = mid.or(last_trade.filter(|&p| p != UNDEF_PX));
        for (id, level) in LEVEL_IDS.into_iter().zip(self.es) {
            match price {
                Some(p) if level != UNDEF_PX => {
                    let d = level.saturating_sub(p).clamp(-self.clip_px, self.clip_px);
                    out.set(id, (d as f64 / self.tick as f64) as f32);
                }
                _ => out.invalidate(id),
            }
        }
    }

    /// Share of |GEX| expiring at the next expiration, `Some` iff the snapshot is fresh at
    /// `now` (and the share is finite).
    #[inline]
    pub fn zero_dte_share(&self, now: u64) -> Option<f64> {
        match &self.levels {
            Some(l) if self.status(now) == SnapshotStatus::Fresh => {
                Some(l.zero_dte_share).filter(|s| s.is_finite())
            }
            _ => None,
        }
    }

    /// A new session date `d`: recomputes the gamma-cycle state and writes F14 (`n_to`, always
    /// valid) into `out`.
    pub fn on_session(&mut self, d: Date, out: &mut FeatureVector) {
        let c = gamma_cycle(d, &self.cycle_cfg);
        out.set(FeatureId::GammaCycle, c.n_to as f32);
        self.cycle = Some(c);
    }

    /// The gamma-cycle state of the current session (`None` before the first
    /// [`Self::on_session`]); its 0DTE fields are unset (see [`Self::cycle_at`]).
    #[inline]
    pub fn cycle(&self) -> Option<GammaCycleState> {
        self.cycle
    }

    /// The gamma-cycle state with its 0DTE fields read from the snapshot at `now` (a decision
    /// point): `zdte_valid` iff the snapshot is fresh.
    #[inline]
    pub fn cycle_at(&self, now: u64) -> Option<GammaCycleState> {
        self.cycle.map(|c| c.with_zero_dte(self.zero_dte_share(now)))
    }

    /// Zero gamma, call wall and put wall mapped to ES prices, `Some` iff the snapshot is
    /// fresh at `now` and the basis is known (each level `None` when undefined).
    #[inline]
    pub fn es_levels(&self, now: u64) -> Option<[Option<Px>; 3]> {
        if self.status(now) != SnapshotStatus::Fresh || self.basis.is_none() {
            return None;
        }
        Some(self.es.map(|p| (p != UNDEF_PX).then_some(p)))
    }

    /// Net GEX in $bn per 1 % of the snapshot, `Some` iff fresh at `now` and finite.
    #[inline]
    pub fn net_gex_bn(&self, now: u64) -> Option<f64> {
        (self.status(now) == SnapshotStatus::Fresh).then_some(self.gex_bn).flatten().map(f64::from)
    }

    /// The adopted snapshot.
    #[inline]
    pub fn levels(&self) -> Option<&GammaLevels> {
        self.levels.as_ref()
    }

    /// The basis (ES − SPX, 1e-9) in use for the current snapshot, `None` until known.
    #[inline]
    pub fn basis(&self) -> Option<Px> {
        self.basis
    }

    /// Snapshots adopted.
    #[inline]
    pub fn adopted(&self) -> u64 {
        self.adopted
    }

    /// Snapshots whose F9 was not finite (made invalid).
    #[inline]
    pub fn nonfinite_count(&self) -> u64 {
        self.nonfinite
    }
}

impl super::Feature for OptionsFeatures {
    type Config = OptionsConfig;

    fn new(cfg: &OptionsConfig, tick: i64) -> Self {
        OptionsFeatures::new(cfg, tick)
    }

    fn validate(cfg: &OptionsConfig) -> Result<(), String> {
        cfg.validate()
    }

    #[inline]
    fn on_last(&mut self, m: &crate::market::Market, out: &mut FeatureVector) {
        self.update(m.now, m.mid(), m.last_trade.map(|t| t.price), out);
    }

    fn on_session(&mut self, m: &crate::market::Market, out: &mut FeatureVector) {
        self.on_session(m.clock.day, out);
    }

    fn on_gamma(&mut self, _m: &crate::market::Market, levels: &GammaLevels, _out: &mut FeatureVector) {
        self.adopt(*levels);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gamma_cycle::GammaPhase;
    use mia_model::features::vector_flags::BOOK_BAD;

    const P: i64 = 1_000_000_000;
    const TICK: i64 = 250_000_000;
    const HOUR: u64 = 3_600 * NS_PER_SEC;
    /// Snapshot time and the default age limit.
    const T0: u64 = 100 * HOUR;
    const DAY: u64 = 86_400 * NS_PER_SEC;

    /// Prices in points with up to 3 decimals (exact in 1e-9 units).
    fn px(milli: i64) -> Px {
        milli * 1_000_000
    }

    /// SPX spot 4980, zero gamma 4970, call wall 4990, put wall 4950; GEX +2.5 $bn;
    /// P/C OI 1.25, volume 0.8; 0DTE share 0.3.
    fn snapshot() -> GammaLevels {
        GammaLevels {
            computed_at_ns: T0,
            valuation_ts_ns: T0 - HOUR,
            spot: 4980 * P,
            zero_gamma: 4970 * P,
            call_wall: 4990 * P,
            put_wall: 4950 * P,
            max_pain: 4975 * P,
            total_gex_usd_per_pct: 2.5e9,
            put_call_oi_ratio: 1.25,
            put_call_volume_ratio: 0.8,
            zero_dte_share: 0.3,
            ..GammaLevels::default()
        }
    }

    fn feats(cfg: OptionsConfig) -> OptionsFeatures {
        let mut f = OptionsFeatures::new(&cfg, TICK);
        f.adopt(snapshot());
        f
    }

    fn all_options_invalid(v: &FeatureVector) -> bool {
        [FeatureId::NetGex, FeatureId::PutCallRatio].iter().chain(&LEVEL_IDS).all(|&id| v.get(id).is_none())
    }

    #[test]
    fn fresh_snapshot_with_measured_basis() {
        let mut f = feats(OptionsConfig::default());
        let mut v = FeatureVector::default();
        // ES mid 5000.125 → basis 20.125; zero gamma 4990.125 → 4990.25 (tie away from zero),
        // call wall 5010.125 → 5010.25, put wall 4970.125 → 4970.25.
        f.update(T0 + HOUR, Some(px(5_000_125)), None, &mut v);
        assert_eq!(f.basis(), Some(px(20_125)));
        assert_eq!(v.flags, 0);
        assert_eq!(v.get(FeatureId::NetGex), Some(2.5));
        assert_eq!(v.get(FeatureId::PutCallRatio), Some(1.25));
        assert_eq!(v.get(FeatureId::ZeroGammaDistance), Some(-39.5)); // (4990.25 − 5000.125)/0.25
        assert_eq!(v.get(FeatureId::CallWallDistance), Some(40.5)); // (5010.25 − 5000.125)/0.25
        assert_eq!(v.get(FeatureId::PutWallDistance), Some(-119.5)); // (4970.25 − 5000.125)/0.25
                                                                     // The basis is kept: mid 5001.00 only moves the price.
        f.update(T0 + 2 * HOUR, Some(5001 * P), Some(5003 * P), &mut v);
        assert_eq!(f.basis(), Some(px(20_125)));
        assert_eq!(v.get(FeatureId::ZeroGammaDistance), Some(-43.0));
        assert_eq!(v.get(FeatureId::CallWallDistance), Some(37.0));
        // No mid: P is the last trade, 4990.00.
        f.update(T0 + 2 * HOUR, None, Some(4990 * P), &mut v);
        assert_eq!(v.get(FeatureId::ZeroGammaDistance), Some(1.0));
        assert_eq!(v.get(FeatureId::PutWallDistance), Some(-79.0));
        // Neither: the distances are invalid, F9 and F13 stay valid.
        f.update(T0 + 2 * HOUR, Some(UNDEF_PX), None, &mut v);
        assert!(LEVEL_IDS.iter().all(|&id| v.get(id).is_none()));
        assert_eq!(v.get(FeatureId::NetGex), Some(2.5));
        assert_eq!(f.zero_dte_share(T0 + 2 * HOUR), Some(0.3));
    }

    #[test]
    fn new_snapshot_measures_the_basis_again() {
        let mut f = feats(OptionsConfig::default());
        let mut v = FeatureVector::default();
        // Only a last trade before the first mid: no basis yet, so no distances.
        f.update(T0, None, Some(5000 * P), &mut v);
        assert_eq!(f.basis(), None);
        assert!(v.get(FeatureId::CallWallDistance).is_none());
        assert_eq!(v.get(FeatureId::NetGex), Some(2.5));
        f.update(T0, Some(5000 * P), None, &mut v);
        assert_eq!(f.basis(), Some(20 * P));
        assert_eq!(v.get(FeatureId::CallWallDistance), Some(40.0)); // (5010 − 5000)/0.25
                                                                    // A new snapshot (spot 4990, call wall 5000): the basis is measured at the next mid,
                                                                    // 5012.50 → 22.50; the call wall maps to 5022.50.
        f.adopt(GammaLevels { spot: 4990 * P, call_wall: 5000 * P, ..snapshot() });
        assert_eq!((f.basis(), f.adopted()), (None, 2));
        f.update(T0, Some(px(5_012_500)), None, &mut v);
        assert_eq!(f.basis(), Some(px(22_500)));
        assert_eq!(v.get(FeatureId::CallWallDistance), Some(40.0)); // (5022.50 − 5012.50)/0.25
    }

    #[test]
    fn fixed_basis_points() {
        let cfg = OptionsConfig { basis_points: Some(-3.3), ..OptionsConfig::default() };
        let mut f = feats(cfg);
        assert_eq!(f.basis(), Some(px(-3_300)), "fixed at adoption");
        let mut v = FeatureVector::default();
        // Call wall 4990 − 3.3 = 4986.70 → 4986.75; from the last trade 4980.00: 27 ticks.
        f.update(T0, None, Some(4980 * P), &mut v);
        assert_eq!(v.get(FeatureId::CallWallDistance), Some(27.0));
        // A mid never replaces a fixed basis: 4986.75 − 4900.00 = 347 ticks.
        f.update(T0, Some(4900 * P), None, &mut v);
        assert_eq!(f.basis(), Some(px(-3_300)));
        assert_eq!(v.get(FeatureId::CallWallDistance), Some(347.0));
        f.adopt(snapshot());
        assert_eq!(f.basis(), Some(px(-3_300)));
    }

    #[test]
    fn stale_future_and_none() {
        let mut f = OptionsFeatures::new(&OptionsConfig::default(), TICK);
        let mut v = FeatureVector { flags: BOOK_BAD, ..FeatureVector::default() };
        f.update(T0, Some(5000 * P), None, &mut v);
        assert_eq!(v.flags, BOOK_BAD | OPT_NONE, "nothing adopted; other bits kept");
        assert!(all_options_invalid(&v));
        assert_eq!(f.zero_dte_share(T0), None);
        f.adopt(snapshot());
        // Exactly max_age_s old: still fresh.
        f.update(T0 + DAY, Some(5000 * P), None, &mut v);
        assert_eq!(v.flags, BOOK_BAD);
        assert_eq!(v.get(FeatureId::NetGex), Some(2.5));
        // 1 ns older: stale, and the previous values are gone.
        f.update(T0 + DAY + 1, Some(5000 * P), None, &mut v);
        assert_eq!(v.flags, BOOK_BAD | OPT_STALE);
        assert!(all_options_invalid(&v));
        assert_eq!(v.v[FeatureId::NetGex.slot()], 0.0);
        assert_eq!(f.zero_dte_share(T0 + DAY + 1), None);
        // Computed after now.
        f.update(T0 - 1, Some(5000 * P), None, &mut v);
        assert_eq!(v.flags, BOOK_BAD | OPT_FUTURE);
        assert!(all_options_invalid(&v));
        assert_eq!(f.status(T0 - 1), SnapshotStatus::Future);
        // A snapshot without a spot counts as none.
        f.adopt(GammaLevels { spot: UNDEF_PX, ..snapshot() });
        f.update(T0, Some(5000 * P), None, &mut v);
        assert_eq!(v.flags, BOOK_BAD | OPT_NONE);
        assert!(all_options_invalid(&v));
        assert_eq!(f.basis(), None);
        // A shorter limit.
        let mut g = feats(OptionsConfig { max_age_s: 60, ..OptionsConfig::default() });
        assert_eq!(g.status(T0 + 60 * NS_PER_SEC), SnapshotStatus::Fresh);
        assert_eq!(g.status(T0 + 61 * NS_PER_SEC), SnapshotStatus::Stale);
        g.update(T0 + 61 * NS_PER_SEC, Some(5000 * P), None, &mut v);
        assert_eq!(g.basis(), None, "no basis is measured against a stale snapshot");
    }

    #[test]
    fn undefined_levels_and_clip() {
        let cfg = OptionsConfig { clip_ticks: 100, ..OptionsConfig::default() };
        let mut f = OptionsFeatures::new(&cfg, TICK);
        f.adopt(GammaLevels { zero_gamma: UNDEF_PX, ..snapshot() });
        let mut v = FeatureVector::default();
        f.update(T0, Some(px(5_000_125)), None, &mut v);
        assert_eq!(v.get(FeatureId::ZeroGammaDistance), None, "no zero-gamma level");
        assert_eq!(v.get(FeatureId::CallWallDistance), Some(40.5));
        assert_eq!(v.get(FeatureId::PutWallDistance), Some(-100.0), "−119.5 clipped to −100");
        f.update(T0, Some(4900 * P), None, &mut v);
        assert_eq!(v.get(FeatureId::CallWallDistance), Some(100.0), "+441 clipped to +100");
    }

    #[test]
    fn put_call_source_and_non_finite_values() {
        let mut v = FeatureVector::default();
        let mut f = feats(OptionsConfig { pc_source: PcSource::Volume, ..OptionsConfig::default() });
        f.update(T0, Some(5000 * P), None, &mut v);
        assert_eq!(v.get(FeatureId::PutCallRatio), Some(0.8));
        let mut f = OptionsFeatures::new(&OptionsConfig::default(), TICK);
        for (ratio, want) in [(12.0, Some(10.0)), (-0.5, Some(0.0)), (f64::NAN, None), (f64::INFINITY, None)]
        {
            f.adopt(GammaLevels { put_call_oi_ratio: ratio, put_call_volume_ratio: 1.0, ..snapshot() });
            f.update(T0, Some(5000 * P), None, &mut v);
            assert_eq!(v.get(FeatureId::PutCallRatio), want, "{ratio}");
            assert_eq!(v.v[FeatureId::PutCallRatio.slot()], want.unwrap_or(0.0));
        }
        assert_eq!(f.nonfinite_count(), 0, "a NaN ratio is the snapshot's 'no call OI'");
        // Non-finite GEX: F9 invalid, counted once per snapshot, the rest stays valid.
        f.adopt(GammaLevels { total_gex_usd_per_pct: f64::NAN, ..snapshot() });
        f.update(T0, Some(5000 * P), None, &mut v);
        f.update(T0, Some(5000 * P), None, &mut v);
        assert_eq!(v.get(FeatureId::NetGex), None);
        assert_eq!(v.get(FeatureId::PutCallRatio), Some(1.25));
        assert_eq!(f.nonfinite_count(), 1);
        // Negative GEX (dealers short gamma), −1.75 $bn.
        f.adopt(GammaLevels { total_gex_usd_per_pct: -1.75e9, ..snapshot() });
        f.update(T0, Some(5000 * P), None, &mut v);
        assert_eq!(v.get(FeatureId::NetGex), Some(-1.75));
        // A non-finite 0DTE share is never handed out.
        f.adopt(GammaLevels { zero_dte_share: f64::NAN, ..snapshot() });
        assert_eq!(f.zero_dte_share(T0), None);
    }

    #[test]
    fn f14_and_cycle_on_a_t13_date() {
        let mut f = OptionsFeatures::new(&OptionsConfig::default(), TICK);
        let mut v = FeatureVector::default();
        assert_eq!(f.cycle(), None);
        f.update(T0, None, None, &mut v);
        assert_eq!(v.get(FeatureId::GammaCycle), None, "no session date yet");
        // T13: 2025-04-10 → n_to 5 (Good Friday skipped), GAMMA_PEAK; valid with no snapshot.
        let d = Date::new(2025, 4, 10).expect("valid date");
        f.on_session(d, &mut v);
        assert_eq!(v.get(FeatureId::GammaCycle), Some(5.0));
        let c = f.cycle().expect("session set");
        // The Thursday before OPEX week (04-14…04-18), so not in it.
        assert_eq!((c.n_to, c.n_since, c.phase, c.opex_week), (5, 14, GammaPhase::GammaPeak, false));
        // update keeps F14 in the vector even when the snapshot is missing.
        let mut w = FeatureVector::default();
        f.update(T0, None, None, &mut w);
        assert_eq!((w.get(FeatureId::GammaCycle), w.flags), (Some(5.0), OPT_NONE));
        assert_eq!(f.cycle_at(T0).map(|c| c.zdte_valid), Some(false));
        // With a fresh snapshot the decision-point state carries its 0DTE share.
        f.adopt(snapshot());
        let c = f.cycle_at(T0).expect("session set");
        assert!(c.zdte_valid && c.zero_dte_share == 0.3);
        assert_eq!(f.cycle_at(T0 + DAY + 1).map(|c| c.zdte_valid), Some(false));
        // A non-default cycle config changes the phase, not F14.
        let cfg = GammaCycleConfig { peak_max: 4, ..GammaCycleConfig::default() };
        let mut g = OptionsFeatures::new(&OptionsConfig::default(), TICK).with_cycle_config(cfg);
        g.on_session(d, &mut v);
        assert_eq!(g.cycle().map(|c| c.phase), Some(GammaPhase::GammaModerate));
        assert_eq!(v.get(FeatureId::GammaCycle), Some(5.0));
    }

    #[test]
    fn config_parse_and_validate() {
        let cfg: OptionsConfig = toml::from_str("pc_source = \"volume\"\nbasis_points = 20.5\n")
            .unwrap_or_else(|e| panic!("parse: {e}"));
        assert_eq!(cfg.pc_source, PcSource::Volume);
        assert_eq!(cfg.basis_points, Some(20.5));
        assert_eq!((cfg.max_age_s, cfg.clip_ticks), (86_400, 2000));
        let d: OptionsConfig = toml::from_str("").unwrap_or_else(|e| panic!("parse: {e}"));
        assert_eq!(d, OptionsConfig::default());
        assert_eq!(d.basis_points, None);
        assert!(toml::from_str::<OptionsConfig>("pc_source = \"Volume\"").is_err(), "lowercase only");
        assert!(toml::from_str::<OptionsConfig>("max_age = 5").is_err(), "unknown key");
        assert_eq!(d.validate(), Ok(()));
        let bad = OptionsConfig { max_age_s: 0, ..d };
        assert_eq!(bad.validate(), Err("max_age_s: must be > 0".to_string()));
        let bad = OptionsConfig { clip_ticks: 0, ..d };
        assert_eq!(bad.validate(), Err("clip_ticks: must be > 0".to_string()));
        let bad = OptionsConfig { basis_points: Some(f64::NAN), ..d };
        assert!(bad.validate().is_err_and(|e| e.starts_with("basis_points: ")));
        let bad = OptionsConfig { basis_points: Some(1500.0), ..d };
        assert!(bad.validate().is_err_and(|e| e.starts_with("basis_points: ")));
        // Serialization round trip (an unset basis is left out).
        let s = toml::to_string(&d).unwrap_or_else(|e| panic!("serialize: {e}"));
        assert!(!s.contains("basis_points") && s.contains("pc_source = \"oi\""), "{s}");
        assert_eq!(toml::from_str::<OptionsConfig>(&s).ok(), Some(d));
    }
}
