//! F8, footprint imbalance / absorption on the current bar of `timeframe_min` (SIGNALS.md §2
//! F8; the reading itself is in [`crate::market::footprint`]). Updated on every trade in O(1)
//! by the [`ImbalanceTracker`]; absorption is provisional until the bar closes. Valid iff the
//! current bar's volume ≥ `min_bar_volume`. Range [−1, 1], + = bullish.

use super::Feature;
use crate::market::bars::Timeframe;
use crate::market::footprint::{ImbalanceParams, ImbalanceTracker};
use crate::market::{Market, TradeTick};
use mia_model::features::{FeatureId, FeatureVector};

/// `[features.absorption]`.
#[derive(Clone, Copy, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AbsorptionConfig {
    /// Bar length (1, 5, 15 or 60).
    pub timeframe_min: u64,
    /// Diagonal imbalance ratio.
    pub ratio: f64,
    /// Minimum aggressor volume at an imbalance level.
    pub min_level_volume: u32,
    /// Minimum bar volume for a valid value.
    pub min_bar_volume: u32,
}

impl Default for AbsorptionConfig {
    fn default() -> Self {
        Self { timeframe_min: 5, ratio: 3.0, min_level_volume: 10, min_bar_volume: 50 }
    }
}

impl AbsorptionConfig {
    /// The imbalance thresholds.
    pub fn params(&self) -> ImbalanceParams {
        ImbalanceParams { ratio: self.ratio, min_level: self.min_level_volume }
    }
}

/// F8 on one timeframe.
#[derive(Clone, Debug)]
pub struct Absorption {
    tf: Timeframe,
    params: ImbalanceParams,
    min_bar_volume: u32,
    tracker: Box<ImbalanceTracker>,
}

impl Absorption {
    /// The timeframe read.
    pub fn timeframe(&self) -> Timeframe {
        self.tf
    }

    /// The incremental reading of the current bar.
    pub fn tracker(&self) -> &ImbalanceTracker {
        &self.tracker
    }
}

impl Feature for Absorption {
    type Config = AbsorptionConfig;

    fn new(cfg: &AbsorptionConfig, _tick: i64) -> Self {
        Self {
            tf: Timeframe::from_minutes(cfg.timeframe_min).unwrap_or(Timeframe::M5),
            params: cfg.params(),
            min_bar_volume: cfg.min_bar_volume,
            tracker: Box::default(),
        }
    }

    fn validate(cfg: &AbsorptionConfig) -> Result<(), String> {
        if Timeframe::from_minutes(cfg.timeframe_min).is_none() {
            return Err(format!("timeframe_min: {} is not one of 1, 5, 15, 60", cfg.timeframe_min));
        }
        if !(cfg.ratio >= 1.0 && cfg.ratio.is_finite()) {
            return Err(format!("ratio: {} must be ≥ 1", cfg.ratio));
        }
        Ok(())
    }

    #[inline]
    fn on_trade(&mut self, m: &Market, t: &TradeTick, out: &mut FeatureVector) {
        let s = m.bars.series(self.tf);
        let (slot, opened) = t.slots[self.tf.index()];
        if opened {
            self.tracker.reset();
        }
        self.tracker.on_trade(&s.footprint, slot, opened, &self.params);
        let volume = s.current().map_or(0, |b| b.volume);
        if volume >= self.min_bar_volume {
            match self.tracker.summary().score(volume as u64) {
                Some(v) => out.set(FeatureId::Absorption, v as f32),
                None => out.invalidate(FeatureId::Absorption),
            }
        } else {
            out.invalidate(FeatureId::Absorption);
        }
    }

    fn on_bar_close(&mut self, _m: &Market, tf: Timeframe, out: &mut FeatureVector) {
        if tf == self.tf {
            self.tracker.reset();
            out.invalidate(FeatureId::Absorption);
        }
    }
}
