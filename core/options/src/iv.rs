//! Implied volatility: the Black–Scholes–Merton volatility that reproduces an option price.
//!
//! Method: the price is turned into the undiscounted time value (which, by put–call parity, is
//! the price of the *out-of-the-money* option at the same strike) and normalised by √(F·K), so
//! the problem becomes b(x, s) = β for an out-of-the-money call with log-moneyness
//! x = −|ln(F/K)| ≤ 0 and total volatility s = σ√T:
//!
//! b(x, s) = e^{x/2}·Φ(x/s + s/2) − e^{−x/2}·Φ(x/s − s/2).
//!
//! b is increasing in s, convex below the inflection point s_c = √(2|x|) and concave above it.
//! Below s_c the solver works on ln b (nearly linear there, so deep out-of-the-money and
//! minutes-to-expiry quotes converge in a few steps), above it on b itself; each step is a
//! Halley step (the second derivative of b is analytic), kept inside a bracket that every
//! evaluation narrows, with bisection when a step leaves the bracket. The result is checked by
//! repricing; anything outside the no-arbitrage bounds or not converged is an error, never a
//! number.
//!
//! Allocation-free; typically 3–6 iterations.

use super::bsm::{norm_cdf, norm_pdf, BsmInputs, OptionKind};

/// Why no implied volatility could be found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IvError {
    /// Spot, strike, time or price is not positive and finite (or the rates are not finite).
    #[error("invalid input (spot, strike, time and price must be positive and finite)")]
    InvalidInput,
    /// The price is at or below the discounted intrinsic value: no time value to explain.
    #[error("price at or below the no-arbitrage lower bound (intrinsic value)")]
    BelowIntrinsic,
    /// The price is at or above the no-arbitrage upper bound (S·e^{−qT} for a call, K·e^{−rT}
    /// for a put).
    #[error("price at or above the no-arbitrage upper bound")]
    AboveUpperBound,
    /// The solver did not reach the requested accuracy.
    #[error("implied volatility solver did not converge")]
    NoConvergence,
}

/// √(2π).
const SQRT_2PI: f64 = 2.506_628_274_631_000_5;

/// Largest number of solver iterations.
const MAX_ITER: u32 = 64;

/// Implied volatility of a European option with premium `price`, given the other inputs in
/// `i` (`i.vol` is ignored).
///
/// Returns the annualised volatility, or an [`IvError`] when the price violates the
/// no-arbitrage bounds (the time value must be strictly positive and the price below its upper
/// bound) or the solver fails. Works for deep in/out-of-the-money options and expiries down to
/// minutes; a result is always verified by repricing to a relative accuracy of 1e-9 on the
/// time value.
#[inline]
pub fn implied_vol(kind: OptionKind, price: f64, i: &BsmInputs) -> Result<f64, IvError> {
    solve(kind, price, i).map(|(v, _)| v)
}

/// [`implied_vol`] that also returns the number of iterations used (for tests and benches).
pub fn implied_vol_with_iterations(
    kind: OptionKind,
    price: f64,
    i: &BsmInputs,
) -> Result<(f64, u32), IvError> {
    solve(kind, price, i)
}

/// Normalised out-of-the-money call value b(x, s) and its first two derivatives in s.
#[inline]
fn black_normalised(x: f64, s: f64, ex2: f64) -> (f64, f64, f64) {
    let d1 = x / s + 0.5 * s;
    let d2 = d1 - s;
    let b = ex2 * norm_cdf(d1) - norm_cdf(d2) / ex2;
    let b1 = ex2 * norm_pdf(d1);
    let b2 = b1 * (x * x / (s * s * s) - 0.25 * s);
    (b, b1, b2)
}

fn solve(kind: OptionKind, price: f64, i: &BsmInputs) -> Result<(f64, u32), IvError> {
    let (s0, k, t) = (i.spot, i.strike, i.t);
    let finite = s0.is_finite() && k.is_finite() && t.is_finite() && price.is_finite();
    if !finite || !i.rate.is_finite() || !i.div.is_finite() || s0 <= 0.0 || k <= 0.0 || t <= 0.0 {
        return Err(IvError::InvalidInput);
    }
    if price <= 0.0 {
        return Err(IvError::BelowIntrinsic);
    }
    let df = (-i.rate * t).exp();
    let fwd = s0 * ((i.rate - i.div) * t).exp();
    let undiscounted = price / df;
    let (intrinsic, upper) = match kind {
        OptionKind::Call => ((fwd - k).max(0.0), fwd),
        OptionKind::Put => ((k - fwd).max(0.0), k),
    };
    if undiscounted >= upper {
        return Err(IvError::AboveUpperBound);
    }
    // Time value = price of the out-of-the-money option at this strike (put–call parity).
    let time_value = undiscounted - intrinsic;
    if time_value <= 0.0 {
        return Err(IvError::BelowIntrinsic);
    }
    let sqrt_fk = (fwd * k).sqrt();
    let beta = time_value / sqrt_fk;
    let x = -(fwd / k).ln().abs();
    let ex2 = (0.5 * x).exp();
    if beta >= ex2 {
        return Err(IvError::AboveUpperBound);
    }
    let ln_beta = beta.ln();
    let s_c = (2.0 * x.abs()).sqrt();
    let b_c = if s_c > 0.0 { black_normalised(x, s_c, ex2).0 } else { 0.0 };
    let low_branch = beta < b_c;

    // Initial guess: left of the root in both branches, where Newton/Halley on a concave
    // objective converges monotonically.
    let mut s = if low_branch {
        // Far from the money ln b ≈ −x²/(2s²); near it b ≈ s/√(2π). Both guesses are below
        // the root, so take the larger.
        let tail = x.abs() / (-2.0 * ln_beta).sqrt();
        tail.max(beta * SQRT_2PI).clamp(s_c * 1e-3, s_c)
    } else {
        s_c.max(beta * SQRT_2PI)
    };
    let mut lo = 0.0f64;
    let mut hi = f64::INFINITY;
    let mut iter = 0;
    while iter < MAX_ITER {
        iter += 1;
        let (b, b1, b2) = black_normalised(x, s, ex2);
        // Objective f (increasing in s) with its first two derivatives.
        let (f, f1, f2) = if low_branch {
            if b <= 0.0 {
                (f64::NEG_INFINITY, 0.0, 0.0)
            } else {
                let r = b1 / b;
                (b.ln() - ln_beta, r, b2 / b - r * r)
            }
        } else {
            (b - beta, b1, b2)
        };
        if f == 0.0 {
            return verify(x, s, ex2, beta, t, iter);
        }
        if f > 0.0 {
            hi = hi.min(s);
        } else {
            lo = lo.max(s);
        }
        let newton = -f / f1;
        let halley_den = 1.0 + 0.5 * newton * f2 / f1;
        let step = if halley_den.is_finite() && halley_den > 0.5 { newton / halley_den } else { newton };
        let mut next = s + step;
        if !next.is_finite() || next <= lo || next >= hi {
            next = if hi.is_finite() {
                0.5 * (lo + hi)
            } else if f < 0.0 {
                2.0 * s
            } else {
                0.5 * s
            };
        }
        // Halley converges cubically: once a step is below 1e-11·s the next iterate is exact to
        // rounding (and the objective itself is only known to ~1e-13 near the money).
        if (next - s).abs() <= 1e-11 * s || (hi.is_finite() && hi - lo <= 1e-14 * hi) {
            return verify(x, next, ex2, beta, t, iter);
        }
        s = next;
    }
    Err(IvError::NoConvergence)
}

/// Accepts `s` if it reprices the normalised time value `beta`, and converts it to σ.
#[inline]
fn verify(x: f64, s: f64, ex2: f64, beta: f64, t: f64, iter: u32) -> Result<(f64, u32), IvError> {
    if !(s.is_finite() && s > 0.0) {
        return Err(IvError::NoConvergence);
    }
    let b = black_normalised(x, s, ex2).0;
    if (b - beta).abs() <= 1e-9 * beta {
        Ok((s / t.sqrt(), iter))
    } else {
        Err(IvError::NoConvergence)
    }
}

#[cfg(test)]
mod tests {
    use super::super::bsm::price;
    use super::*;

    fn inp(s: f64, k: f64, r: f64, q: f64, t: f64) -> BsmInputs {
        BsmInputs { spot: s, strike: k, rate: r, div: q, vol: 0.0, t }
    }

    #[test]
    fn hull_round_trip() {
        let i = inp(42.0, 40.0, 0.10, 0.0, 0.5);
        let c = price(OptionKind::Call, &BsmInputs { vol: 0.2, ..i });
        let v = implied_vol(OptionKind::Call, c, &i).expect("solvable");
        assert!((v - 0.2).abs() < 1e-12, "{v}");
    }

    #[test]
    fn round_trip_grid() {
        const MIN: f64 = 1.0 / (365.0 * 24.0 * 60.0);
        let expiries = [5.0 * MIN, 30.0 * MIN, 1.0 / 365.0, 7.0 / 365.0, 0.1, 0.5, 1.0, 3.0];
        let moneyness = [0.5, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0, 1.01, 1.05, 1.1, 1.25, 1.5, 2.0];
        let vols = [0.05, 0.12, 0.2, 0.4, 0.8, 1.5];
        let (spot, r, q) = (4500.0, 0.03, 0.013);
        let mut solved = 0;
        let mut max_iter = 0;
        for t in expiries {
            for m in moneyness {
                for v in vols {
                    for kind in [OptionKind::Call, OptionKind::Put] {
                        let i = inp(spot, spot * m, r, q, t);
                        let p = price(kind, &BsmInputs { vol: v, ..i });
                        // Time value (in undiscounted terms) the quote carries.
                        let df = (-r * t).exp();
                        let fwd = spot * ((r - q) * t).exp();
                        let intr = match kind {
                            OptionKind::Call => (fwd - i.strike).max(0.0),
                            OptionKind::Put => (i.strike - fwd).max(0.0),
                        };
                        let tv = p / df - intr;
                        let res = implied_vol_with_iterations(kind, p, &i);
                        match res {
                            Ok((iv, n)) => {
                                max_iter = max_iter.max(n);
                                // Never garbage: the result reprices the quote.
                                let back = price(kind, &BsmInputs { vol: iv, ..i });
                                assert!(
                                    (back - p).abs() <= 1e-8 * tv.max(1e-300) + 1e-12 * p,
                                    "{kind:?} t={t} m={m} v={v}: {p} vs {back}"
                                );
                                // With a meaningful time value the vol itself is recovered.
                                if tv > 1e-9 * spot {
                                    assert!((iv - v).abs() < 1e-7 * v, "{kind:?} t={t} m={m} v={v}: iv={iv}");
                                }
                                solved += 1;
                            }
                            Err(e) => {
                                // Only acceptable when the time value is lost in rounding.
                                assert!(tv <= 1e-12 * spot, "{kind:?} t={t} m={m} v={v} tv={tv}: {e}");
                            }
                        }
                    }
                }
            }
        }
        assert!(solved > 600, "{solved}");
        assert!(max_iter <= 10, "max iterations {max_iter}");
    }

    #[test]
    fn zero_dte_five_minutes() {
        let t = 5.0 / (365.0 * 24.0 * 60.0);
        for (k, v) in [(4490.0, 0.15), (4500.0, 0.12), (4505.0, 0.10), (4520.0, 0.3)] {
            let i = inp(4500.0, k, 0.0, 0.0, t);
            for kind in [OptionKind::Call, OptionKind::Put] {
                let p = price(kind, &BsmInputs { vol: v, ..i });
                let iv = implied_vol(kind, p, &i).expect("0DTE solvable");
                assert!((iv - v).abs() < 1e-8, "{kind:?} {k}: {iv} vs {v}");
            }
        }
    }

    #[test]
    fn refuses_arbitrage_and_bad_input() {
        let i = inp(100.0, 90.0, 0.0, 0.0, 0.5);
        // Below intrinsic / at intrinsic.
        assert_eq!(implied_vol(OptionKind::Call, 9.0, &i), Err(IvError::BelowIntrinsic));
        assert_eq!(implied_vol(OptionKind::Call, 10.0, &i), Err(IvError::BelowIntrinsic));
        assert_eq!(implied_vol(OptionKind::Put, 0.0, &i), Err(IvError::BelowIntrinsic));
        // Above the upper bound.
        assert_eq!(implied_vol(OptionKind::Call, 100.0, &i), Err(IvError::AboveUpperBound));
        assert_eq!(implied_vol(OptionKind::Put, 95.0, &i), Err(IvError::AboveUpperBound));
        // Bad inputs.
        assert_eq!(implied_vol(OptionKind::Call, f64::NAN, &i), Err(IvError::InvalidInput));
        assert_eq!(
            implied_vol(OptionKind::Call, 12.0, &BsmInputs { t: 0.0, ..i }),
            Err(IvError::InvalidInput)
        );
        assert_eq!(
            implied_vol(OptionKind::Call, 12.0, &BsmInputs { spot: -1.0, ..i }),
            Err(IvError::InvalidInput)
        );
        // Just inside the bounds is solvable (very high and very low vol).
        assert!(implied_vol(OptionKind::Call, 99.0, &i).is_ok());
        assert!(implied_vol(OptionKind::Call, 10.000_01, &i).is_ok());
    }
}
