//! F6, microprice deviation (SIGNALS.md §2 F6): `micro = (Pa·Qb + Pb·Qa)/(Qb + Qa)` (the
//! size-weighted mid), `F6 = ticks(micro − (Pa + Pb)/2)`, in `[−spread/2, +spread/2]` ticks
//! (positive: bid-heavy). Valid iff both best levels are present and the book is not bad. Updated on
//! BBO changes. (Stoikov's refined microprice is not part of the spec.)

use super::{Feature, NoConfig};
use crate::market::{Bbo, Market};
use mia_model::features::{FeatureId, FeatureVector};
use mia_model::price::Px;

/// Microprice minus mid, in ticks, for a valid BBO.
#[inline]
pub fn deviation_ticks(b: &Bbo, tick: Px) -> f64 {
    let (qb, qa) = (b.bid_sz as f64, b.ask_sz as f64);
    // In ticks from the bid: mid = s/2, micro = s·qb/(qb + qa), s = spread in ticks.
    let s = (b.ask_px - b.bid_px) as f64 / tick as f64;
    s * qb / (qb + qa) - s / 2.0
}

/// F6 (no state besides the tick).
#[derive(Clone, Debug)]
pub struct Microprice {
    tick: Px,
}

impl Feature for Microprice {
    type Config = NoConfig;

    fn new(_cfg: &NoConfig, tick: i64) -> Self {
        Self { tick: tick.max(1) }
    }

    #[inline]
    fn on_last(&mut self, m: &Market, out: &mut FeatureVector) {
        if m.book_bad || !m.bbo.is_valid() {
            out.invalidate(FeatureId::MicropriceDeviation);
        } else if m.bbo_changed || out.get(FeatureId::MicropriceDeviation).is_none() {
            out.set(FeatureId::MicropriceDeviation, deviation_ticks(&m.bbo, self.tick) as f32);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SIGNALS.md T3: bid 5000.00×30, ask 5000.25×10 → +0.25 ticks.
    #[test]
    fn t3_microprice() {
        let p = 1_000_000_000i64;
        let t = 250_000_000i64;
        let b = Bbo { bid_px: 5000 * p, bid_sz: 30, ask_px: 5000 * p + t, ask_sz: 10 };
        assert!((deviation_ticks(&b, t) - 0.25).abs() < 1e-12);
        let wide = Bbo { ask_px: 5000 * p + 4 * t, ask_sz: 0, ..b };
        assert!(
            (deviation_ticks(&Bbo { ask_sz: 1_000_000, ..wide }, t) + 2.0).abs() < 1e-3,
            "bounded by spread/2"
        );
    }
}
