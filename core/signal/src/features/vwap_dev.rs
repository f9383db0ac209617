//! F17, VWAP deviation in σ bands (SIGNALS.md §2 F17): `clamp((p_last − VWAP)/σ, ±clip)` with
//! the session VWAP and its volume-weighted σ (exact integer accumulators, see
//! [`crate::market::vwap`]). With the `eth` anchor it reads the market's session VWAP; with
//! `rth` it keeps its own, reset at 08:30 CT, and is invalid before 08:30. Valid iff the
//! anchor's volume ≥ `min_volume` and σ ≥ `min_sigma_ticks`. + = above VWAP.

use super::Feature;
use crate::market::clock::SessionPhase;
use crate::market::vwap::SessionVwap;
use crate::market::{Market, TradeTick};
use mia_model::features::{FeatureId, FeatureVector};

/// Where the VWAP starts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VwapAnchor {
    /// The session start (17:00 CT the day before).
    #[default]
    Eth,
    /// The RTH open (08:30 CT).
    Rth,
}

/// `[features.vwap]`.
#[derive(Clone, Copy, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct VwapConfig {
    /// Anchor.
    pub anchor: VwapAnchor,
    /// Minimum volume since the anchor.
    pub min_volume: i64,
    /// Minimum σ (ticks).
    pub min_sigma_ticks: f64,
    /// Output clip (±σ).
    pub clip: f64,
}

impl Default for VwapConfig {
    fn default() -> Self {
        Self { anchor: VwapAnchor::Eth, min_volume: 500, min_sigma_ticks: 1.0, clip: 5.0 }
    }
}

/// F17.
#[derive(Clone, Debug)]
pub struct VwapDeviation {
    cfg: VwapConfig,
    tick: i64,
    rth: SessionVwap,
    rth_open: bool,
}

impl VwapDeviation {
    /// The VWAP accumulators in use.
    pub fn vwap<'a>(&'a self, m: &'a Market) -> Option<&'a SessionVwap> {
        match self.cfg.anchor {
            VwapAnchor::Eth => Some(&m.vwap),
            VwapAnchor::Rth => self.rth_open.then_some(&self.rth),
        }
    }
}

impl Feature for VwapDeviation {
    type Config = VwapConfig;

    fn new(cfg: &VwapConfig, tick: i64) -> Self {
        Self { cfg: *cfg, tick: tick.max(1), rth: SessionVwap::default(), rth_open: false }
    }

    fn validate(cfg: &VwapConfig) -> Result<(), String> {
        if cfg.min_volume < 0 {
            return Err("min_volume: must be ≥ 0".into());
        }
        if !(cfg.min_sigma_ticks >= 0.0 && cfg.min_sigma_ticks.is_finite()) {
            return Err("min_sigma_ticks: must be ≥ 0".into());
        }
        if !(cfg.clip > 0.0 && cfg.clip.is_finite()) {
            return Err("clip: must be > 0".into());
        }
        Ok(())
    }

    #[inline]
    fn on_trade(&mut self, m: &Market, t: &TradeTick, out: &mut FeatureVector) {
        if self.cfg.anchor == VwapAnchor::Rth && self.rth_open {
            self.rth.add(t.price, t.size, self.tick);
        }
        let Some(v) = self.vwap(m) else { return };
        let ok = v.volume() >= self.cfg.min_volume
            && v.ticks().is_some_and(|(_, s)| s >= self.cfg.min_sigma_ticks);
        match v.deviation(t.price, self.tick) {
            Some(d) if ok => out.set(FeatureId::VwapDeviation, d.clamp(-self.cfg.clip, self.cfg.clip) as f32),
            _ => out.invalidate(FeatureId::VwapDeviation),
        }
    }

    fn on_phase(&mut self, m: &Market, _out: &mut FeatureVector) {
        if m.clock.phase == SessionPhase::OpenDrive && !self.rth_open {
            self.rth.reset();
            self.rth_open = true;
        }
    }

    fn on_session(&mut self, _m: &Market, out: &mut FeatureVector) {
        self.rth.reset();
        self.rth_open = false;
        out.invalidate(FeatureId::VwapDeviation);
    }
}
