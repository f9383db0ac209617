//! Order-book imbalance (DESIGN §5 item 1):
//!
//! `obi = (Σ w_i·bid_i − Σ w_i·ask_i) / (Σ w_i·bid_i + Σ w_i·ask_i)` over the top `levels`
//! levels, with geometrically decaying weights `w_i = decay^i` (i = 0 at the top). The result
//! is in [−1, 1]; +1 means all weighted depth is on the bid.
//!
//! Incremental: the weighted sums are kept as exact integers (weights in 1/65536 units) and
//! adjusted by `w_d · (new_size − old_size)` whenever a level changes, so each update is O(1)
//! and the sums never drift.

use super::Feature;
use crate::market::Market;
use mia_model::book::DEPTH;
use mia_model::event::{Event, Side};
use mia_model::features::{FeatureId, FeatureVector};

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
        Self { levels: 5, decay: 0.8 }
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
    pub fn apply_level(&mut self, side: Side, depth: usize, old_size: u32, new_size: u32) {
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
    fn on_level(&mut self, _m: &Market, ev: &Event, prev_size: u32) {
        self.apply_level(ev.side, ev.depth as usize, prev_size, ev.size);
    }

    fn on_clear(&mut self, out: &mut FeatureVector) {
        self.clear();
        out.invalidate(FeatureId::BookImbalance);
    }

    /// Valid iff both best levels are present, the weighted sum is positive and the book is
    /// not bad (SIGNALS.md §2 row 1).
    #[inline]
    fn on_last(&mut self, m: &Market, out: &mut FeatureVector) {
        if m.book_bad || !m.bbo.is_valid() || self.bid_sum + self.ask_sum <= 0 {
            out.invalidate(FeatureId::BookImbalance);
        } else {
            out.set(FeatureId::BookImbalance, self.value() as f32);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_imbalance() {
        // levels 2, decay 0.5: weights 1, 0.5
        let mut f = BookImbalance::new(&ObiConfig { levels: 2, decay: 0.5 });
        f.apply_level(Side::Bid, 0, 0, 10);
        f.apply_level(Side::Bid, 1, 0, 20);
        f.apply_level(Side::Ask, 0, 0, 30);
        f.apply_level(Side::Ask, 1, 0, 10);
        f.apply_level(Side::Ask, 2, 0, 1000); // beyond `levels`: weight 0
                                              // bid = 10 + 10 = 20, ask = 30 + 5 = 35 → (20-35)/55
        assert!((f.value() - (-15.0 / 55.0)).abs() < 1e-12);
        // update: bid top 10 → 40: bid = 50 → (50-35)/85
        f.apply_level(Side::Bid, 0, 10, 40);
        assert!((f.value() - (15.0 / 85.0)).abs() < 1e-12);
        f.clear();
        assert_eq!(f.value(), 0.0);
    }

    /// SIGNALS.md T1: levels 3, decay 0.8; bids 10, 20, 40; asks 30, 10, 20 → 0.0078125
    /// (0.00781267 with 1/65536 weights).
    #[test]
    fn t1_obi() {
        let mut f = BookImbalance::new(&ObiConfig { levels: 3, decay: 0.8 });
        for (d, (b, a)) in [(10, 30), (20, 10), (40, 20)].into_iter().enumerate() {
            f.apply_level(Side::Bid, d, 0, b);
            f.apply_level(Side::Ask, d, 0, a);
        }
        assert!((f.value() - 0.0078125).abs() < 1e-5);
        assert!((f.value() - 0.00781267).abs() < 1e-7);
    }

    proptest::proptest! {
        /// Incremental = recomputed: after every random level update, the O(1) sums give the
        /// same imbalance as a recomputation from the book's levels with the same fixed-point
        /// weights (exact: both are integer sums).
        #[test]
        fn incremental_equals_book_recomputation(ups in proptest::collection::vec((proptest::bool::ANY, 0u8..10, 0u32..500), 1..300)) {
            use mia_model::book::Book;
            use mia_model::event::Event;
            let cfg = ObiConfig { levels: 5, decay: 0.8 };
            let mut f = BookImbalance::new(&cfg);
            let mut book = Book::new();
            for (bid, d, size) in ups {
                let side = if bid { Side::Bid } else { Side::Ask };
                let old = if bid { book.bid(d as usize).size } else { book.ask(d as usize).size };
                let px = if bid { 5000 - d as i64 } else { 5001 + d as i64 } * 1_000_000_000;
                book.apply(&Event::level(1, 1, side, d, px, size, 1, 0));
                f.apply_level(side, d as usize, old, size);
                let (mut b, mut a) = (0i64, 0i64);
                for i in 0..DEPTH {
                    b += f.weights[i] * book.bid(i).size as i64;
                    a += f.weights[i] * book.ask(i).size as i64;
                }
                proptest::prop_assert_eq!((f.bid_sum, f.ask_sum), (b, a));
            }
        }
    }

    #[test]
    fn bounded_in_unit_interval() {
        let mut f = BookImbalance::new(&ObiConfig::default());
        f.apply_level(Side::Bid, 0, 0, 5);
        assert_eq!(f.value(), 1.0);
        f.apply_level(Side::Bid, 0, 5, 0);
        f.apply_level(Side::Ask, 3, 0, 5);
        assert_eq!(f.value(), -1.0);
    }
}
