//! F5, tick momentum (SIGNALS.md §2 F5): on each trade `Δ = clamp(ticks(p − p_prev),
//! ±max_step_ticks)` and `m ← m + α(Δ − m)` with `α = 2/(span_trades + 1)`. `m` resets to 0
//! at the session start, and the session's first trade only stores `p_prev`. Valid iff the
//! session has ≥ 2 trades. Range `[−max_step_ticks, max_step_ticks]`, + = up.

use super::Feature;
use crate::market::{Market, TradeTick};
use mia_model::features::{FeatureId, FeatureVector};
use mia_model::price::Px;

/// `[features.momentum]`.
#[derive(Clone, Copy, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MomentumConfig {
    /// EWMA span in trades.
    pub span_trades: u32,
    /// Step clip (ticks).
    pub max_step_ticks: i64,
}

impl Default for MomentumConfig {
    fn default() -> Self {
        Self { span_trades: 20, max_step_ticks: 8 }
    }
}

/// EWMA of tick-to-tick steps.
#[derive(Clone, Debug)]
pub struct TickMomentum {
    alpha: f64,
    max_step: i64,
    tick: Px,
    prev: Option<Px>,
    m: f64,
    trades: u64,
}

impl TickMomentum {
    /// Feeds one trade price; returns the value once valid.
    #[inline]
    pub fn trade(&mut self, price: Px) -> Option<f64> {
        self.trades += 1;
        if let Some(p) = self.prev {
            let step = ((price - p) / self.tick).clamp(-self.max_step, self.max_step);
            self.m += self.alpha * (step as f64 - self.m);
        }
        self.prev = Some(price);
        (self.trades >= 2).then_some(self.m)
    }

    /// Session reset.
    pub fn reset(&mut self) {
        self.prev = None;
        self.m = 0.0;
        self.trades = 0;
    }
}

impl Feature for TickMomentum {
    type Config = MomentumConfig;

    fn new(cfg: &MomentumConfig, tick: i64) -> Self {
        Self {
            alpha: 2.0 / (cfg.span_trades.max(1) as f64 + 1.0),
            max_step: cfg.max_step_ticks.max(1),
            tick: tick.max(1),
            prev: None,
            m: 0.0,
            trades: 0,
        }
    }

    fn validate(cfg: &MomentumConfig) -> Result<(), String> {
        if cfg.span_trades == 0 {
            return Err("span_trades: must be ≥ 1".into());
        }
        if cfg.max_step_ticks < 1 {
            return Err("max_step_ticks: must be ≥ 1".into());
        }
        Ok(())
    }

    #[inline]
    fn on_trade(&mut self, _m: &Market, t: &TradeTick, out: &mut FeatureVector) {
        if let Some(v) = self.trade(t.price) {
            out.set(FeatureId::TickMomentum, v as f32);
        }
    }

    fn on_session(&mut self, _m: &Market, out: &mut FeatureVector) {
        self.reset();
        out.invalidate(FeatureId::TickMomentum);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Px = 250_000_000;

    /// SIGNALS.md T5: span 3 (α = 0.5), ticks 0, 1, 1, 3, 2 → m = 0.0625.
    #[test]
    fn t5_tick_momentum() {
        let mut f = TickMomentum::new(&MomentumConfig { span_trades: 3, max_step_ticks: 8 }, T);
        let got: Vec<Option<f64>> = [0, 1, 1, 3, 2].iter().map(|x| f.trade(x * T)).collect();
        assert_eq!(got, [None, Some(0.5), Some(0.25), Some(1.125), Some(0.0625)]);
        f.reset();
        assert_eq!(f.trade(100 * T), None);
        assert_eq!(f.trade(200 * T), Some(0.5 * 8.0), "step clipped to 8");
    }
}
