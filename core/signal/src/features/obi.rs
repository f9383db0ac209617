//! Order-book imbalance (DESIGN §5 item 1):
//!
//! `obi = (Σ w_i·bid_i − Σ w_i·ask_i) / (Σ w_i·bid_i + Σ w_i·ask_i)` over the top `levels`
//! levels, with geometrically decaying weights `w_i = decay^i` (i = 0 at the top). The result
//! is in [−1, 1]; +1 means all weighted depth is on the bid.
//!
//! Incremental: the weighted sums are kept as exact integers (weights in 1/65536 units) and
//! adjusted by `w_d · (new_size − old_size)` whenever a level changes, so each update is O(1)
//! and the sums never drift.

use super::{EventView, Feature, FeatureId, FeatureVector};
use mia_model::book::DEPTH;
use mia_model::event::{EventKind, Side};

/// Configuration of [`BookImbalance`].
#[derive(Clone, Copy, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ObiConfig {
    /// Number of levels per side included (1..=10).
    pub levels: usize,
    /// Weight decay per level, in (0, 1].
    pub decay: f64,
}

impl Default for ObiConfig {
    fn default() -> Self {
        Self { levels: 5, decay: 0.6 }
    }
}

const WEIGHT_ONE: i64 = 1 << 16;

/// Incremental weighted book imbalance.
#[derive(Clone, Debug)]
pub struct BookImbalance {
    weights: [i64; DEPTH],
    bid_sum: i64,
    ask_sum: i64,
}

impl BookImbalance {
    /// A feature with the weights of `cfg` (levels clamped to 1..=DEPTH).
    pub fn new(cfg: &ObiConfig) -> Self {
        let n = cfg.levels.clamp(1, DEPTH);
        let mut weights = [0i64; DEPTH];
        let mut w = 1.0f64;
        for slot in weights.iter_mut().take(n) {
            *slot = (w * WEIGHT_ONE as f64).round().max(1.0) as i64;
            w *= cfg.decay;
        }
        Self { weights, bid_sum: 0, ask_sum: 0 }
    }

    /// Records that level `depth` of `side` went from `old_size` to `new_size`.
    #[inline]
    pub fn on_level(&mut self, side: Side, depth: usize, old_size: u32, new_size: u32) {
        let Some(&w) = self.weights.get(depth) else { return };
        let d = w * (new_size as i64 - old_size as i64);
        match side {
            Side::Bid => self.bid_sum += d,
            Side::Ask => self.ask_sum += d,
            Side::None => {}
        }
    }

    /// Resets to an empty book.
    pub fn clear(&mut self) {
        self.bid_sum = 0;
        self.ask_sum = 0;
    }

    /// Current imbalance in [−1, 1] (0 for an empty book).
    #[inline]
    pub fn value(&self) -> f64 {
        let tot = self.bid_sum + self.ask_sum;
        if tot <= 0 {
            0.0
        } else {
            (self.bid_sum - self.ask_sum) as f64 / tot as f64
        }
    }
}

impl Feature for BookImbalance {
    type Config = ObiConfig;

    fn new(cfg: &ObiConfig, _tick: i64) -> Self {
        BookImbalance::new(cfg)
    }

    fn validate(cfg: &ObiConfig) -> Result<(), String> {
        if !(1..=DEPTH).contains(&cfg.levels) {
            return Err(format!("levels: {} is outside 1..={DEPTH}", cfg.levels));
        }
        if !(cfg.decay > 0.0 && cfg.decay <= 1.0) {
            return Err(format!("decay: {} is outside (0, 1]", cfg.decay));
        }
        Ok(())
    }

    #[inline]
    fn on_event(&mut self, e: &EventView<'_>) {
        if e.ev.kind == EventKind::Level {
            self.on_level(e.ev.side, e.ev.depth as usize, e.prev_size, e.ev.size);
        }
    }

    fn on_clear(&mut self) {
        self.clear();
    }

    /// Always valid (0 on an empty book); the stricter validity rule of SIGNALS.md §2 comes
    /// with the features issue.
    #[inline]
    fn write(&self, out: &mut FeatureVector) {
        out.set(FeatureId::BookImbalance, self.value() as f32);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_imbalance() {
        // levels 2, decay 0.5: weights 1, 0.5
        let mut f = BookImbalance::new(&ObiConfig { levels: 2, decay: 0.5 });
        f.on_level(Side::Bid, 0, 0, 10);
        f.on_level(Side::Bid, 1, 0, 20);
        f.on_level(Side::Ask, 0, 0, 30);
        f.on_level(Side::Ask, 1, 0, 10);
        f.on_level(Side::Ask, 2, 0, 1000); // beyond `levels`: weight 0
                                           // bid = 10 + 10 = 20, ask = 30 + 5 = 35 → (20-35)/55
        assert!((f.value() - (-15.0 / 55.0)).abs() < 1e-12);
        // update: bid top 10 → 40: bid = 50 → (50-35)/85
        f.on_level(Side::Bid, 0, 10, 40);
        assert!((f.value() - (15.0 / 85.0)).abs() < 1e-12);
        f.clear();
        assert_eq!(f.value(), 0.0);
    }

    #[test]
    fn bounded_in_unit_interval() {
        let mut f = BookImbalance::new(&ObiConfig::default());
        f.on_level(Side::Bid, 0, 0, 5);
        assert_eq!(f.value(), 1.0);
        f.on_level(Side::Bid, 0, 5, 0);
        f.on_level(Side::Ask, 3, 0, 5);
        assert_eq!(f.value(), -1.0);
    }
}
