//! F3, rolling delta (DESIGN §5 item 3, SIGNALS.md §2 F3): Σ signed aggressor volume
//! (buy-initiated +, sell-initiated −) over the 64-bucket event-time window of `window_ms`.
//! The aggressor comes from the shared classifier (feed side, else Lee–Ready); the session
//! cumulative delta `CD` is kept by the market state and recorded in each bar.
//! Valid iff the session has at least one classified trade.

use super::window::BucketWindow;
use super::Feature;
use crate::market::{Market, TradeTick};
use mia_model::features::{FeatureId, FeatureVector};

/// `[features.delta]`.
#[derive(Clone, Copy, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeltaConfig {
    /// Rolling window length in milliseconds of event time.
    pub window_ms: u64,
}

impl Default for DeltaConfig {
    fn default() -> Self {
        Self { window_ms: 5_000 }
    }
}

/// Incremental rolling delta.
#[derive(Clone, Debug)]
pub struct RollingDelta {
    window: BucketWindow<1>,
}

impl RollingDelta {
    /// Delta over the window (contracts), as of the last update.
    #[inline]
    pub fn window(&self) -> i64 {
        self.window.sums()[0]
    }

    fn publish(&self, m: &Market, out: &mut FeatureVector) {
        if m.session_trades > 0 {
            out.set(FeatureId::Delta, self.window() as f32);
        } else {
            out.invalidate(FeatureId::Delta);
        }
    }
}

impl Feature for RollingDelta {
    type Config = DeltaConfig;

    fn new(cfg: &DeltaConfig, _tick: i64) -> Self {
        Self { window: BucketWindow::new(cfg.window_ms) }
    }

    fn validate(cfg: &DeltaConfig) -> Result<(), String> {
        if cfg.window_ms == 0 {
            return Err("window_ms: must be > 0".into());
        }
        Ok(())
    }

    #[inline]
    fn on_trade(&mut self, m: &Market, t: &TradeTick, out: &mut FeatureVector) {
        self.window.add(t.ts, [t.signed()]);
        self.publish(m, out);
    }

    #[inline]
    fn on_last(&mut self, m: &Market, out: &mut FeatureVector) {
        if self.window.advance(m.now) {
            self.publish(m, out);
        }
    }

    fn on_session(&mut self, m: &Market, out: &mut FeatureVector) {
        self.publish(m, out);
    }
}
