//! The latent "fair value" process the synthetic book follows: GARCH(1,1) volatility on
//! 1-second steps, regime-switching drift (range / trend up / trend down), rare jumps, and the
//! intraday seasonality of activity and volatility over one trading day's stream
//! (17:00 CT the evening before to 15:15 CT).

use super::dist::{self, normal};
use super::rng::Rng;

/// Minutes in the 08:30–15:00 CT regular session.
pub(crate) const SESSION_MINUTES: usize = 390;
/// Minutes of the overnight segment, 17:00 CT (the evening before) to 08:00 CT.
pub(crate) const OVERNIGHT_MINUTES: usize = 900;
/// Minutes of the pre-open segment, 08:00–08:30 CT.
pub(crate) const PRE_OPEN_MINUTES: usize = 30;
/// Minutes of the post-close segment, 15:00–15:15 CT.
pub(crate) const POST_CLOSE_MINUTES: usize = 15;
/// Index of the RTH open (08:30 CT) in the day profile.
pub(crate) const RTH_OFFSET: usize = OVERNIGHT_MINUTES + PRE_OPEN_MINUTES;
/// Minutes of one trading day's stream, 17:00 CT the evening before to 15:15 CT.
pub(crate) const DAY_MINUTES: usize = RTH_OFFSET + SESSION_MINUTES + POST_CLOSE_MINUTES;

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
/// Trend waves: a trend moves in impulse legs of `WAVE_IMPULSE_S` + U(0, same) seconds at
/// `WAVE_IMPULSE` × its speed, and pullback legs of `WAVE_PULLBACK_S` + U(0, same) seconds at
/// `WAVE_PULLBACK` × its speed (≈ 40 % of the impulse retraced; the mean speed stays ≈ the
/// trend's). Swing highs and lows with HH/HL (LH/LL) structure on 5-minute bars come from
/// these legs, as in a real trending market, where a constant drift under noise would make
/// few swing points.
const WAVE_IMPULSE_S: u32 = 900;
/// See [`WAVE_IMPULSE_S`].
const WAVE_PULLBACK_S: u32 = 600;
/// See [`WAVE_IMPULSE_S`].
const WAVE_IMPULSE: f64 = 2.0;
/// See [`WAVE_IMPULSE_S`].
const WAVE_PULLBACK: f64 = -1.1;
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

/// Intraday multipliers per minute of the day profile (index 0 = 17:00 CT the evening before,
/// [`RTH_OFFSET`] = 08:30 CT).
#[derive(Clone, Debug)]
pub(crate) struct Seasonality {
    /// Event-rate multiplier (≈ 1 mid-morning).
    pub(crate) rate: [f64; DAY_MINUTES],
    /// Volatility (standard deviation) multiplier.
    pub(crate) vol: [f64; DAY_MINUTES],
    /// Drift multiplier (1 in RTH, slower trends in the thin hours).
    pub(crate) drift: [f64; DAY_MINUTES],
}

impl Seasonality {
    /// RTH: opening burst decaying over ~30 min, lunch lull 11:30–13:00 CT (with 15-minute
    /// ramps), rising activity into the close. Extended hours are thin: overnight at 2.5 % of
    /// the mid-morning rate (5.5 % around the European open 02:00–04:00 CT and 7.5 % after the
    /// 07:30 CT data releases), pre-open 20 %, post-close 15 %.
    pub(crate) fn new() -> Self {
        let mut rate = [0.0; DAY_MINUTES];
        let mut vol = [0.0; DAY_MINUTES];
        let mut drift = [0.0; DAY_MINUTES];
        for i in 0..DAY_MINUTES {
            let (r, v, d) = if i < OVERNIGHT_MINUTES {
                // Minutes after 17:00 CT: 540–660 is 02:00–04:00, 870–900 is 07:30–08:00.
                if (540..660).contains(&i) {
                    (0.055, 0.6, 0.4)
                } else if i >= 870 {
                    (0.075, 0.8, 0.5)
                } else {
                    (0.025, 0.45, 0.3)
                }
            } else if i < RTH_OFFSET {
                (0.2, 0.7, 0.6)
            } else if i < RTH_OFFSET + SESSION_MINUTES {
                let t = (i - RTH_OFFSET) as f64 + 0.5;
                // Lunch: minutes 180–270 after the open; 0 outside, 1 inside, linear ramps.
                let lunch = ((t - 165.0) / 15.0).clamp(0.0, 1.0) * ((285.0 - t) / 15.0).clamp(0.0, 1.0);
                let close = ((t - 345.0) / 45.0).clamp(0.0, 1.0);
                (
                    (1.0 + 1.6 * dist::exp(-t / 20.0)) * (1.0 - 0.5 * lunch) * (1.0 + 0.6 * close),
                    (1.0 + 0.9 * dist::exp(-t / 25.0)) * (1.0 - 0.35 * lunch) * (1.0 + 0.3 * close),
                    1.0,
                )
            } else {
                (0.15, 0.5, 0.4)
            };
            (rate[i], vol[i], drift[i]) = (r, v, d);
        }
        Self { rate, vol, drift }
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
    /// Steps left during which no random regime switch happens (after a forced regime).
    hold: u32,
    /// Seconds left in the current trend wave leg (0 outside trends).
    wave_left: u32,
    /// The current leg is an impulse (else a pullback).
    impulse: bool,
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
            hold: 0,
            wave_left: 0,
            impulse: false,
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

    /// Forces `regime` now (trend speed `speed` ticks/s before `vol_scale`, sign from the
    /// regime) and keeps it for at least `hold` steps.
    pub(crate) fn force_regime(&mut self, regime: Regime, speed: f64, hold: u32) {
        let speed = speed * self.vol_scale;
        self.drift = match regime {
            Regime::Range => 0.0,
            Regime::TrendUp => speed,
            Regime::TrendDown => -speed,
        };
        self.regime = regime;
        self.anchor = self.frontier;
        self.hold = hold;
    }

    /// Keeps the current regime for at least `steps` more steps.
    pub(crate) fn hold_regime(&mut self, steps: u32) {
        self.hold = self.hold.max(steps);
    }

    /// Shifts the whole fair-value path by `ticks` (an overnight gap); unlike
    /// [`Latent::add_impact`] it also moves the range anchor.
    pub(crate) fn shift(&mut self, ticks: f64) {
        self.impact += ticks;
        self.anchor += ticks;
    }

    /// Advances one second: now moves one step along the path and a new frontier value is
    /// generated; `vol_mult` is the volatility multiplier (seasonal × day level) at the
    /// frontier's time, `drift_mult` the multiplier of the trend speed.
    pub(crate) fn step(&mut self, rng: &mut Rng, vol_mult: f64, drift_mult: f64) {
        if self.hold > 0 {
            self.hold -= 1;
        } else if rng.chance(REGIME_SWITCH_P) {
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
        let wave = self.wave(rng);
        let mut r = self.vol_scale * vol_mult * regime_vol * eps + self.drift * drift_mult * wave;
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

    /// The drift multiplier of the current trend wave leg (1 in a range), advancing the leg.
    fn wave(&mut self, rng: &mut Rng) -> f64 {
        if self.regime == Regime::Range {
            // The next trend starts with an impulse.
            self.wave_left = 0;
            self.impulse = false;
            return 1.0;
        }
        if self.wave_left == 0 {
            self.impulse = !self.impulse;
            let base = if self.impulse { WAVE_IMPULSE_S } else { WAVE_PULLBACK_S };
            self.wave_left = base + rng.below(base);
        }
        self.wave_left -= 1;
        if self.impulse {
            WAVE_IMPULSE
        } else {
            WAVE_PULLBACK
        }
    }

    /// Advances one second along a planted episode's script: the new frontier closes the
    /// share `kappa` of its gap to `target` (ticks, the fair value including impact) plus a
    /// noise of standard deviation `noise`; the regime is held and the GARCH variance kept.
    pub(crate) fn step_scripted(&mut self, rng: &mut Rng, target: f64, kappa: f64, noise: f64) {
        let tgt = target - self.impact;
        self.frontier += kappa * (tgt - self.frontier) + noise * normal(rng);
        self.head = (self.head + 1) % RING;
        self.path[(self.head + LOOKAHEAD) % RING] = self.frontier;
        self.anchor = self.frontier;
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
        let (rate, vol) = (&s.rate[RTH_OFFSET..], &s.vol[RTH_OFFSET..]);
        assert!(mean(&rate[..30]) > 1.5 * mean(&rate[180..270]));
        assert!(mean(&vol[..30]) > 1.3 * mean(&vol[180..270]));
        assert!(rate[389] > rate[300]);
        // Extended hours are thin: at most ~10 % of the day's activity.
        let rth: f64 = rate[..SESSION_MINUTES].iter().sum();
        let all: f64 = s.rate.iter().sum();
        assert!((all - rth) / all > 0.05 && (all - rth) / all < 0.11, "{}", (all - rth) / all);
        assert!(s.rate[..OVERNIGHT_MINUTES].iter().all(|&r| r < 0.1));
    }

    /// Without noise, a forced trend climbs in impulse legs of 15–30 min and falls back in
    /// pullbacks of 10–20 min that retrace about 40 % of the impulse; the mean speed stays
    /// close to the trend's.
    #[test]
    fn trends_move_in_impulse_and_pullback_waves() {
        let mut rng = Rng::new(5);
        let mut lat = Latent::new(0.0, 1.0);
        let speed = 0.01;
        let secs = 6 * 3600;
        lat.force_regime(Regime::TrendUp, speed, secs);
        let mut legs: Vec<(bool, u32, f64)> = Vec::new();
        let mut prev = lat.frontier;
        for _ in 0..secs {
            lat.step(&mut rng, 0.0, 1.0);
            let up = lat.frontier > prev;
            match legs.last_mut() {
                Some(l) if l.0 == up => {
                    l.1 += 1;
                    l.2 += lat.frontier - prev;
                }
                _ => legs.push((up, 1, lat.frontier - prev)),
            }
            prev = lat.frontier;
        }
        // Whole legs only (the first and the last may be cut).
        let whole = &legs[1..legs.len() - 1];
        assert!(whole.len() >= 8, "{} legs", whole.len());
        for l in whole {
            let (lo, hi) = if l.0 {
                (WAVE_IMPULSE_S, 2 * WAVE_IMPULSE_S)
            } else {
                (WAVE_PULLBACK_S, 2 * WAVE_PULLBACK_S)
            };
            assert!((lo..hi).contains(&l.1), "leg {l:?}");
        }
        let gain: f64 = whole.iter().filter(|l| l.0).map(|l| l.2).sum();
        let loss: f64 = -whole.iter().filter(|l| !l.0).map(|l| l.2).sum::<f64>();
        let retrace = loss / gain;
        assert!((0.2..0.6).contains(&retrace), "retracement {retrace}");
        let mean_speed = lat.frontier / f64::from(secs);
        assert!(mean_speed > 0.5 * speed && mean_speed < 1.5 * speed, "mean speed {mean_speed}");
        // A range has no waves.
        lat.force_regime(Regime::Range, 0.0, 10);
        assert_eq!(lat.wave(&mut rng), 1.0);
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
            lat.step(&mut rng, 1.0, 1.0);
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
