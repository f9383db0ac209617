//! The latent "fair value" process the synthetic book follows: GARCH(1,1) volatility on
//! 1-second steps, regime-switching drift (range / trend up / trend down), rare jumps, and the
//! intraday seasonality of activity and volatility.

use super::dist::{self, normal};
use super::rng::Rng;

/// Minutes in the 08:30–15:00 CT session.
pub(crate) const SESSION_MINUTES: usize = 390;

/// GARCH(1,1) ARCH coefficient (per 1-second step).
pub(crate) const GARCH_ALPHA: f64 = 0.035;
/// GARCH(1,1) persistence coefficient; α + β = 0.997 (variance half-life ≈ 3.8 min).
pub(crate) const GARCH_BETA: f64 = 0.962;
/// Unconditional variance of the 1-second fair-value move, ticks² (before seasonality).
pub(crate) const BASE_VARIANCE: f64 = 0.18;
/// How far ahead (seconds) informed aggressors see the fair value.
pub(crate) const LOOKAHEAD: usize = 15;
/// Ring length for the look-ahead path (power of two > `LOOKAHEAD`).
const RING: usize = 32;
/// Probability per second of switching regime (mean regime length 25 min).
const REGIME_SWITCH_P: f64 = 1.0 / 1500.0;
/// Mean-reversion speed towards the anchor in a ranging regime (per second).
const RANGE_KAPPA: f64 = 1.0 / 600.0;
/// Probability per second of a news-like jump.
const JUMP_P: f64 = 1.0 / 3000.0;
/// Standard deviation of a jump, ticks.
const JUMP_SD: f64 = 5.0;

/// Drift regime of the fair value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Regime {
    /// Mean-reverting around an anchor.
    Range,
    /// Positive drift.
    TrendUp,
    /// Negative drift.
    TrendDown,
}

/// Intraday multipliers per session minute.
#[derive(Clone, Debug)]
pub(crate) struct Seasonality {
    /// Event-rate multiplier (≈ 1 mid-morning).
    pub(crate) rate: [f64; SESSION_MINUTES],
    /// Volatility (standard deviation) multiplier.
    pub(crate) vol: [f64; SESSION_MINUTES],
}

impl Seasonality {
    /// Opening burst decaying over ~30 min, lunch lull 11:30–13:00 CT (with 15-minute ramps),
    /// rising activity into the close.
    pub(crate) fn new() -> Self {
        let mut rate = [0.0; SESSION_MINUTES];
        let mut vol = [0.0; SESSION_MINUTES];
        for m in 0..SESSION_MINUTES {
            let t = m as f64 + 0.5;
            // Lunch: minutes 180–270 after the open; 0 outside, 1 inside, linear ramps.
            let lunch = ((t - 165.0) / 15.0).clamp(0.0, 1.0) * ((285.0 - t) / 15.0).clamp(0.0, 1.0);
            let close = ((t - 345.0) / 45.0).clamp(0.0, 1.0);
            rate[m] = (1.0 + 1.6 * dist::exp(-t / 20.0)) * (1.0 - 0.5 * lunch) * (1.0 + 0.6 * close);
            vol[m] = (1.0 + 0.9 * dist::exp(-t / 25.0)) * (1.0 - 0.35 * lunch) * (1.0 + 0.3 * close);
        }
        Self { rate, vol }
    }
}

/// The latent fair value, in ticks relative to the opening best bid. The path is generated
/// [`LOOKAHEAD`] seconds ahead of the book so that informed flow can trade on where it goes.
#[derive(Clone, Debug)]
pub(crate) struct Latent {
    /// Fair value path, ring of per-second values; `head` is now, `head + LOOKAHEAD` the frontier.
    path: [f64; RING],
    head: usize,
    /// Newest generated value (before trade impact).
    frontier: f64,
    /// Accumulated permanent impact of trades, ticks.
    impact: f64,
    /// Current GARCH conditional variance of the standardized 1-second move, ticks².
    pub(crate) h: f64,
    /// Current regime.
    pub(crate) regime: Regime,
    drift: f64,
    anchor: f64,
    vol_scale: f64,
}

impl Latent {
    /// Starts at `fair` in a ranging regime at the unconditional variance.
    pub(crate) fn new(fair: f64, vol_scale: f64) -> Self {
        Self {
            path: [fair; RING],
            head: 0,
            frontier: fair,
            impact: 0.0,
            h: BASE_VARIANCE,
            regime: Regime::Range,
            drift: 0.0,
            anchor: fair,
            vol_scale,
        }
    }

    /// Fair value now, ticks.
    #[inline]
    pub(crate) fn fair(&self) -> f64 {
        self.path[self.head] + self.impact
    }

    /// Fair value [`LOOKAHEAD`] seconds ahead (what informed aggressors trade on), ticks.
    #[inline]
    pub(crate) fn fair_ahead(&self) -> f64 {
        self.path[(self.head + LOOKAHEAD) % RING] + self.impact
    }

    /// Adds a permanent price impact (ticks) to the whole path.
    #[inline]
    pub(crate) fn add_impact(&mut self, ticks: f64) {
        self.impact += ticks;
    }

    /// Advances one second: now moves one step along the path and a new frontier value is
    /// generated; `vol_mult` is the seasonal volatility multiplier at the frontier's time.
    pub(crate) fn step(&mut self, rng: &mut Rng, vol_mult: f64) {
        if rng.chance(REGIME_SWITCH_P) {
            let u = rng.next_f64();
            let speed = (0.008 + 0.022 * rng.next_f64()) * self.vol_scale;
            (self.regime, self.drift) = if u < 0.5 {
                (Regime::Range, 0.0)
            } else if u < 0.75 {
                (Regime::TrendUp, speed)
            } else {
                (Regime::TrendDown, -speed)
            };
            self.anchor = self.frontier;
        }
        let mut eps = self.h.sqrt() * normal(rng);
        if rng.chance(JUMP_P) {
            eps += JUMP_SD * normal(rng);
        }
        let regime_vol = if self.regime == Regime::Range { 0.9 } else { 1.15 };
        let mut r = self.vol_scale * vol_mult * regime_vol * eps + self.drift;
        if self.regime == Regime::Range {
            r += RANGE_KAPPA * (self.anchor - self.frontier);
        }
        self.frontier += r;
        self.head = (self.head + 1) % RING;
        self.path[(self.head + LOOKAHEAD) % RING] = self.frontier;
        let omega = BASE_VARIANCE * (1.0 - GARCH_ALPHA - GARCH_BETA);
        self.h = (omega + GARCH_ALPHA * eps * eps + GARCH_BETA * self.h)
            .clamp(0.1 * BASE_VARIANCE, 12.0 * BASE_VARIANCE);
    }

    /// Activity multiplier from the current volatility: busier markets when volatile.
    #[inline]
    pub(crate) fn activity(&self) -> f64 {
        (0.5 + 0.5 * (self.h / BASE_VARIANCE).sqrt()).clamp(0.6, 2.5)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seasonality_shape() {
        let s = Seasonality::new();
        let mean = |a: &[f64]| a.iter().sum::<f64>() / a.len() as f64;
        assert!(mean(&s.rate[..30]) > 1.5 * mean(&s.rate[180..270]));
        assert!(mean(&s.vol[..30]) > 1.3 * mean(&s.vol[180..270]));
        assert!(s.rate[389] > s.rate[300]);
    }

    #[test]
    fn garch_variance_clusters_and_stays_bounded() {
        let mut rng = Rng::new(11);
        let mut lat = Latent::new(0.0, 1.0);
        let n = 200_000;
        let mut prev = lat.fair();
        let mut abs = Vec::with_capacity(n);
        let mut path = Vec::with_capacity(n);
        let mut regimes = [0u32; 3];
        for _ in 0..n {
            lat.step(&mut rng, 1.0);
            let ahead = lat.fair_ahead();
            abs.push((lat.fair() - prev).abs());
            prev = lat.fair();
            path.push(ahead);
            if path.len() > LOOKAHEAD {
                assert_eq!(path[path.len() - 1 - LOOKAHEAD], lat.fair());
            }
            regimes[lat.regime as usize] += 1;
            assert!(lat.h >= 0.1 * BASE_VARIANCE && lat.h <= 12.0 * BASE_VARIANCE);
        }
        let m = abs.iter().sum::<f64>() / n as f64;
        let (mut c0, mut c1) = (0.0, 0.0);
        for i in 1..n {
            c0 += (abs[i] - m) * (abs[i] - m);
            c1 += (abs[i] - m) * (abs[i - 1] - m);
        }
        assert!(c1 / c0 > 0.02, "|r| autocorrelation {}", c1 / c0);
        assert!(regimes.iter().all(|&r| r > 0), "{regimes:?}");
    }
}
