//! Deterministic math and sampling helpers.
//!
//! Platform `libm` functions (`ln`, `exp`, `powf`) may differ in the last bit between
//! platforms, which would break bit-exact reproducibility of a seeded session. Everything here
//! uses only IEEE-754 basic operations (+, −, ×, ÷, `sqrt`, `round`), which are correctly
//! rounded everywhere. Per-record sampling uses precomputed inverse-CDF tables.

use super::rng::Rng;

const LN2: f64 = std::f64::consts::LN_2;

/// Natural logarithm from basic operations only (relative error ~1e-15). `x` must be > 0 and
/// finite.
pub(crate) fn ln(x: f64) -> f64 {
    debug_assert!(x > 0.0 && x.is_finite());
    let (mut x, mut e) = (x, 0i64);
    if x < f64::MIN_POSITIVE {
        x *= (1u64 << 54) as f64;
        e = -54;
    }
    let bits = x.to_bits();
    e += ((bits >> 52) & 0x7ff) as i64 - 1023;
    let mut m = f64::from_bits((bits & ((1u64 << 52) - 1)) | (1023u64 << 52));
    if m > std::f64::consts::SQRT_2 {
        m *= 0.5;
        e += 1;
    }
    // ln(m) = 2·atanh(s), s = (m−1)/(m+1), |s| ≤ 0.172.
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let mut term = s;
    let mut sum = 0.0;
    let mut k = 1.0;
    for _ in 0..16 {
        sum += term / k;
        term *= s2;
        k += 2.0;
    }
    e as f64 * LN2 + 2.0 * sum
}

/// Exponential from basic operations only (relative error ~1e-15); clamps to the finite range.
pub(crate) fn exp(x: f64) -> f64 {
    let x = x.clamp(-700.0, 700.0);
    let k = (x / LN2).round();
    let r = x - k * LN2;
    let mut term = 1.0;
    let mut sum = 1.0;
    for n in 1..=22 {
        term *= r / n as f64;
        sum += term;
    }
    sum * f64::from_bits(((k as i64 + 1023) as u64) << 52)
}

/// `x^y` for `x > 0`.
pub(crate) fn pow(x: f64, y: f64) -> f64 {
    exp(y * ln(x))
}

/// A standard normal variate (Marsaglia's polar method).
pub(crate) fn normal(rng: &mut Rng) -> f64 {
    loop {
        let u = 2.0 * rng.next_f64() - 1.0;
        let v = 2.0 * rng.next_f64() - 1.0;
        let s = u * u + v * v;
        if s > 0.0 && s < 1.0 {
            return u * (-2.0 * ln(s) / s).sqrt();
        }
    }
}

const BUCKETS: usize = 1024;

/// Two-tier inverse-CDF table: 1023 equiprobable body buckets plus the last bucket split into
/// another 1024, so tail quantiles down to ~1e-6 are resolved with 2 × 1024 entries.
#[derive(Clone, Debug)]
pub(crate) struct QuantileTable<T> {
    body: Box<[T]>,
    tail: Box<[T]>,
}

impl<T: Copy> QuantileTable<T> {
    /// Builds the table from the quantile function `q: (0,1) → T`.
    pub(crate) fn build(q: impl Fn(f64) -> T) -> Self {
        let n = BUCKETS as f64;
        let tail: Box<[T]> = (0..BUCKETS).map(|j| q((n - 1.0 + (j as f64 + 0.5) / n) / n)).collect();
        let body: Box<[T]> =
            (0..BUCKETS).map(|i| if i + 1 < BUCKETS { q((i as f64 + 0.5) / n) } else { tail[0] }).collect();
        Self { body, tail }
    }

    /// Draws one value using 20 random bits of `r`.
    #[inline]
    pub(crate) fn sample(&self, r: u64) -> T {
        let i = (r >> 54) as usize;
        if i + 1 < BUCKETS {
            self.body[i]
        } else {
            self.tail[((r >> 44) & (BUCKETS as u64 - 1)) as usize]
        }
    }
}

/// Standard exponential quantile −ln(1 − u).
pub(crate) fn exp_quantile(u: f64) -> f64 {
    -ln(1.0 - u)
}

/// Quantile of a discrete power law on `1..=max`: `floor(Y)` with `Y` Pareto(`alpha`) truncated
/// to `[1, max + 1)`, so `P(Q ≥ x) ≈ x^-alpha`.
pub(crate) fn power_law_quantile(u: f64, alpha: f64, max: u32) -> u32 {
    let top = pow(max as f64 + 1.0, -alpha);
    let y = pow(1.0 - u * (1.0 - top), -1.0 / alpha);
    (y as u32).clamp(1, max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ln_exp_match_libm() {
        for &x in &[1e-300, 1e-9, 0.001, 0.3, 0.5, 0.999, 1.0, 1.5, 2.0, 10.0, 12345.678, 1e300] {
            assert!((ln(x) - x.ln()).abs() <= 1e-13 * x.ln().abs().max(1.0), "ln {x}");
        }
        for &x in &[-50.0, -3.2, -0.1, 0.0, 0.1, 1.0, 2.5, 40.0] {
            assert!((exp(x) / x.exp() - 1.0).abs() < 1e-13, "exp {x}");
        }
        assert!((pow(2.0, 10.0) - 1024.0).abs() < 1e-9);
    }

    #[test]
    fn normal_moments() {
        let mut rng = Rng::new(7);
        let n = 100_000;
        let (mut s1, mut s2, mut s4) = (0.0, 0.0, 0.0);
        for _ in 0..n {
            let z = normal(&mut rng);
            s1 += z;
            s2 += z * z;
            s4 += z * z * z * z;
        }
        let (m, v) = (s1 / n as f64, s2 / n as f64);
        assert!(m.abs() < 0.02 && (v - 1.0).abs() < 0.02, "{m} {v}");
        assert!((s4 / n as f64 / (v * v) - 3.0).abs() < 0.15);
    }

    #[test]
    fn tables_reproduce_distributions() {
        let mut rng = Rng::new(3);
        let expo = QuantileTable::build(exp_quantile);
        let sizes = QuantileTable::build(|u| power_law_quantile(u, 1.3, 500));
        let n = 400_000;
        let (mut sum, mut ones, mut big, mut max) = (0.0, 0u32, 0u32, 0u32);
        for _ in 0..n {
            sum += expo.sample(rng.next_u64());
            let q = sizes.sample(rng.next_u64());
            ones += (q == 1) as u32;
            big += (q >= 100) as u32;
            max = max.max(q);
        }
        assert!((sum / n as f64 - 1.0).abs() < 0.01);
        let p1 = ones as f64 / n as f64;
        assert!((p1 - (1.0 - 2f64.powf(-1.3))).abs() < 0.01, "{p1}");
        let p100 = big as f64 / n as f64;
        assert!(p100 > 0.0015 && p100 < 0.0035, "{p100}");
        assert!(max > 400 && max <= 500);
    }
}
