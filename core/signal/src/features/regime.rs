//! F18, market regime by the efficiency ratio (SIGNALS.md §2 F18): for each timeframe
//! k ∈ {1, 5, 15}, `ER_k = (C_t − C_{t−n})/Σ|C_i − C_{i−1}|` with `n = er_bars` (signed; 0 when
//! the denominator is 0), computed at each close of k. F18 is the mean of the valid `ER_k`
//! (valid iff ≥ 1 timeframe has `er_bars + 1` bars). `ER_60` is computed too, for MTF only.

use super::Feature;
use crate::market::bars::{BarRing, Timeframe};
use crate::market::Market;
use mia_model::features::{FeatureId, FeatureVector};

/// `[features.regime]`.
#[derive(Clone, Copy, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RegimeConfig {
    /// n, the bars of the efficiency ratio.
    pub er_bars: usize,
}

impl Default for RegimeConfig {
    fn default() -> Self {
        Self { er_bars: 10 }
    }
}

/// The efficiency ratio of the newest `n + 1` closes of `ring`.
pub fn efficiency_ratio(ring: &BarRing, n: usize) -> Option<f64> {
    if n == 0 || ring.len() < n + 1 {
        return None;
    }
    let mut path = 0i64;
    for k in 0..n {
        let (a, b) = (ring.back(k)?, ring.back(k + 1)?);
        path += (a.close - b.close).abs();
    }
    let net = ring.back(0)?.close - ring.back(n)?.close;
    Some(if path == 0 { 0.0 } else { net as f64 / path as f64 })
}

/// F18 with the per-timeframe ratios.
#[derive(Clone, Debug)]
pub struct MarketRegime {
    n: usize,
    er: [Option<f64>; 4],
}

impl MarketRegime {
    /// The latest `ER` of a timeframe.
    pub fn er(&self, tf: Timeframe) -> Option<f64> {
        self.er[tf.index()]
    }
}

impl Feature for MarketRegime {
    type Config = RegimeConfig;

    fn new(cfg: &RegimeConfig, _tick: i64) -> Self {
        Self { n: cfg.er_bars, er: [None; 4] }
    }

    fn validate(cfg: &RegimeConfig) -> Result<(), String> {
        if cfg.er_bars == 0 {
            return Err("er_bars: must be ≥ 1".into());
        }
        Ok(())
    }

    fn lookback(cfg: &RegimeConfig) -> [usize; 4] {
        [cfg.er_bars + 1; 4]
    }

    fn on_bar_close(&mut self, m: &Market, tf: Timeframe, out: &mut FeatureVector) {
        self.er[tf.index()] = efficiency_ratio(&m.bars.series(tf).ring, self.n);
        if tf == Timeframe::M60 {
            return;
        }
        let (mut sum, mut k) = (0.0, 0u32);
        for e in self.er[..3].iter().flatten() {
            sum += e;
            k += 1;
        }
        if k > 0 {
            out.set(FeatureId::MarketRegime, (sum / k as f64) as f32);
        } else {
            out.invalidate(FeatureId::MarketRegime);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mia_model::bar::Bar;

    /// SIGNALS.md T7: closes 10, 13, 12, 13, 18, 19 with er_bars = 4 → 0.8 at index 4, 0.75 at 5.
    #[test]
    fn t7_efficiency_ratio() {
        let mut r = BarRing::new(16);
        let mut got = Vec::new();
        for c in [10, 13, 12, 13, 18, 19] {
            r.push(Bar { close: c, ..Bar::default() });
            got.push(efficiency_ratio(&r, 4));
        }
        assert_eq!(&got[..4], &[None, None, None, None]);
        assert!((got[4].unwrap_or(0.0) - 0.8).abs() < 1e-12);
        assert!((got[5].unwrap_or(0.0) - 0.75).abs() < 1e-12);
        let mut flat = BarRing::new(4);
        for _ in 0..3 {
            flat.push(Bar { close: 5, ..Bar::default() });
        }
        assert_eq!(efficiency_ratio(&flat, 2), Some(0.0), "zero path → 0");
    }
}
