//! Session VWAP and its volume-weighted σ (SIGNALS.md §2 F17), exact in integers: prices are
//! ticks `x` from the price `p₀` of the anchor's first trade, and the engine keeps `Σv`,
//! `Σv·x` (i64) and `Σv·x²` (i128). `VWAP = p₀ + T·Σvx/Σv`; `σ² = T²·(Σv·Σvx² − (Σvx)²)/Σv²`,
//! whose numerator is computed exactly in i128, so it is never negative.

use mia_model::price::Px;

/// VWAP accumulators since the anchor (session start, or 08:30 CT with the `rth` anchor).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SessionVwap {
    p0: Option<Px>,
    sv: i64,
    svx: i64,
    svx2: i128,
}

impl SessionVwap {
    /// Clears (a new anchor).
    #[inline]
    pub fn reset(&mut self) {
        *self = Self::default();
    }

    /// Adds a trade of `size` at `price` (tick `tick`).
    #[inline]
    pub fn add(&mut self, price: Px, size: u32, tick: Px) {
        let p0 = *self.p0.get_or_insert(price);
        let x = (price - p0) / tick;
        let v = size as i64;
        self.sv += v;
        self.svx += v * x;
        self.svx2 += v as i128 * (x as i128) * (x as i128);
    }

    /// Volume since the anchor.
    #[inline]
    pub fn volume(&self) -> i64 {
        self.sv
    }

    /// VWAP in ticks from `p₀`, and σ in ticks; `None` before the first trade.
    #[inline]
    pub fn ticks(&self) -> Option<(f64, f64)> {
        if self.sv <= 0 {
            return None;
        }
        let sv = self.sv as f64;
        let mean = self.svx as f64 / sv;
        let num = self.sv as i128 * self.svx2 - self.svx as i128 * self.svx as i128;
        let var = num.max(0) as f64 / (sv * sv);
        Some((mean, var.sqrt()))
    }

    /// The anchor's first price.
    #[inline]
    pub fn origin(&self) -> Option<Px> {
        self.p0
    }

    /// VWAP as a price in points (f64), `None` before the first trade.
    pub fn vwap_points(&self, tick: Px) -> Option<f64> {
        let (m, _) = self.ticks()?;
        let p0 = self.p0?;
        Some(mia_model::price::to_f64(p0) + m * mia_model::price::to_f64(tick))
    }

    /// `(p − VWAP)/σ` for a price `p`, `None` when σ = 0 or there is no trade.
    pub fn deviation(&self, p: Px, tick: Px) -> Option<f64> {
        let (m, s) = self.ticks()?;
        let p0 = self.p0?;
        let x = (p - p0) as f64 / tick as f64;
        (s > 0.0).then(|| (x - m) / s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Px = 250_000_000;
    const P: Px = 1_000_000_000;

    /// SIGNALS.md T6: VWAP 5000.625, σ 1.658312 ticks, deviation at 5001.00 = 0.904534.
    #[test]
    fn t6_vwap_deviation() {
        let mut v = SessionVwap::default();
        v.add(5000 * P, 10, T);
        v.add(5000 * P + 2 * T, 10, T);
        v.add(5001 * P, 20, T);
        assert!((v.vwap_points(T).unwrap_or(0.0) - 5000.625).abs() < 1e-9);
        let (_, s) = v.ticks().unwrap_or_default();
        assert!((s - 1.658312).abs() < 1e-6);
        assert!((v.deviation(5001 * P, T).unwrap_or(0.0) - 0.904534).abs() < 1e-5);
        v.reset();
        assert_eq!(v.ticks(), None);
    }

    proptest::proptest! {
        /// Exact integer accumulators = a naive f64 recomputation of the volume-weighted mean
        /// and population σ (tolerance 1e-9 ticks).
        #[test]
        fn equals_naive(trades in proptest::collection::vec((-40i64..40, 1u32..500), 1..300)) {
            let mut v = SessionVwap::default();
            for &(x, s) in &trades {
                v.add(5000 * P + x * T, s, T);
            }
            let x0 = trades[0].0 as f64;
            let sv: f64 = trades.iter().map(|t| t.1 as f64).sum();
            let m = trades.iter().map(|t| (t.0 as f64 - x0) * t.1 as f64).sum::<f64>() / sv;
            let var = trades.iter().map(|t| (t.0 as f64 - x0 - m).powi(2) * t.1 as f64).sum::<f64>() / sv;
            let (gm, gs) = v.ticks().unwrap_or((f64::NAN, f64::NAN));
            proptest::prop_assert!((gm - m).abs() < 1e-9 && (gs - var.sqrt()).abs() < 1e-6);
        }
    }

    #[test]
    fn single_price_has_no_sigma() {
        let mut v = SessionVwap::default();
        v.add(5000 * P, 10, T);
        v.add(5000 * P, 5, T);
        assert_eq!(v.deviation(5000 * P, T), None);
    }
}
