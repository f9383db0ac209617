//! F4, delta divergence (SIGNALS.md §2 F4), on closes of `timeframe_min`. Over bars
//! `t−N…t−1` (N = `lookback_bars`): `H` = max high, `L` = min low, `CDH`/`CDL` = max/min of
//! `cum_delta_close`, `ā = max(1, mean|delta|)`.
//! - bearish: `high_t > H ∧ CD_t < CDH`, `s_bear = min(1, (CDH − CD_t)/(2ā))`;
//! - bullish: `low_t < L ∧ CD_t > CDL`, `s_bull = min(1, (CD_t − CDL)/(2ā))`;
//! - `F4 = s_bull − s_bear` when one fires; when both fire, the larger with its sign (0 if equal).
//!
//! Valid iff the last N+1 bars belong to one session. Range [−1, 1], + = bullish.

use super::Feature;
use crate::market::bars::{BarRing, Timeframe};
use crate::market::Market;
use mia_model::bar::Bar;
use mia_model::features::{FeatureId, FeatureVector};

/// `[features.divergence]`.
#[derive(Clone, Copy, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DivergenceConfig {
    /// Bar length (1, 5, 15 or 60).
    pub timeframe_min: u64,
    /// N, the bars before the current one.
    pub lookback_bars: usize,
}

impl Default for DivergenceConfig {
    fn default() -> Self {
        Self { timeframe_min: 5, lookback_bars: 10 }
    }
}

/// F4 of the newest bar of `ring`, `None` when fewer than N+1 bars of one session exist.
pub fn divergence(ring: &BarRing, n: usize) -> Option<f64> {
    let cur: &Bar = ring.back(0)?;
    let (mut h, mut l) = (i64::MIN, i64::MAX);
    let (mut cdh, mut cdl) = (i64::MIN, i64::MAX);
    let mut abs_delta = 0f64;
    for k in 1..=n {
        let b = ring.back(k)?;
        if b.session_date != cur.session_date {
            return None;
        }
        h = h.max(b.high);
        l = l.min(b.low);
        cdh = cdh.max(b.cum_delta_close);
        cdl = cdl.min(b.cum_delta_close);
        abs_delta += (b.delta as f64).abs();
    }
    if n == 0 {
        return None;
    }
    let a = (abs_delta / n as f64).max(1.0);
    let cd = cur.cum_delta_close;
    let bear = (cur.high > h && cd < cdh).then(|| ((cdh - cd) as f64 / (2.0 * a)).min(1.0));
    let bull = (cur.low < l && cd > cdl).then(|| ((cd - cdl) as f64 / (2.0 * a)).min(1.0));
    Some(match (bull, bear) {
        (Some(u), None) => u,
        (None, Some(d)) => -d,
        (Some(u), Some(d)) if u > d => u,
        (Some(u), Some(d)) if d > u => -d,
        _ => 0.0,
    })
}

/// F4.
#[derive(Clone, Debug)]
pub struct DeltaDivergence {
    tf: Timeframe,
    n: usize,
}

impl Feature for DeltaDivergence {
    type Config = DivergenceConfig;

    fn new(cfg: &DivergenceConfig, _tick: i64) -> Self {
        Self { tf: Timeframe::from_minutes(cfg.timeframe_min).unwrap_or(Timeframe::M5), n: cfg.lookback_bars }
    }

    fn validate(cfg: &DivergenceConfig) -> Result<(), String> {
        if Timeframe::from_minutes(cfg.timeframe_min).is_none() {
            return Err(format!("timeframe_min: {} is not one of 1, 5, 15, 60", cfg.timeframe_min));
        }
        if cfg.lookback_bars == 0 {
            return Err("lookback_bars: must be ≥ 1".into());
        }
        Ok(())
    }

    fn lookback(cfg: &DivergenceConfig) -> [usize; 4] {
        let mut l = [0; 4];
        if let Some(tf) = Timeframe::from_minutes(cfg.timeframe_min) {
            l[tf.index()] = cfg.lookback_bars + 1;
        }
        l
    }

    fn on_bar_close(&mut self, m: &Market, tf: Timeframe, out: &mut FeatureVector) {
        if tf != self.tf {
            return;
        }
        match divergence(&m.bars.series(tf).ring, self.n) {
            Some(v) => out.set(FeatureId::DeltaDivergence, v as f32),
            None => out.invalidate(FeatureId::DeltaDivergence),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(high: i64, low: i64, cd: i64, delta: i32, session: u32) -> Bar {
        Bar { high, low, cum_delta_close: cd, delta, session_date: session, ..Bar::default() }
    }

    #[test]
    fn bearish_bullish_and_session_rule() {
        let mut r = BarRing::new(8);
        // two prior bars: highs 10, 12; lows 5, 6; CD 100, 140; |delta| 20, 40 → ā = 30
        r.push(bar(10, 5, 100, 20, 1));
        r.push(bar(12, 6, 140, -40, 1));
        assert_eq!(divergence(&r, 2), None, "needs N+1 bars");
        // new high 13 with CD 110 < CDH 140: s_bear = min(1, 30/60) = 0.5
        r.push(bar(13, 7, 110, -30, 1));
        assert_eq!(divergence(&r, 2), Some(-0.5));
        // new low 4 (< 6) with CD 200 > CDL 110 → bullish, capped at 1
        r.push(bar(12, 4, 200, 90, 1));
        assert_eq!(divergence(&r, 2), Some(1.0));
        // no new extreme → 0
        r.push(bar(11, 5, 150, -50, 1));
        assert_eq!(divergence(&r, 2), Some(0.0));
        // a bar of another session in the lookback → invalid
        r.push(bar(11, 5, 10, 10, 2));
        assert_eq!(divergence(&r, 2), None);
    }
}
