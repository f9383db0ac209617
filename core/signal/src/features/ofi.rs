//! F2, order-flow imbalance (Cont, Kukanov & Stoikov 2014; SIGNALS.md §2 F2).
//!
//! Each `LAST` event after which the best bid/offer `(Pb, qb, Pa, qa)` differs from the stored
//! tuple is one observation `n`. For n ≥ 2 after a reset,
//! `e_n = 1{Pb_n ≥ Pb_{n−1}}·qb_n − 1{Pb_n ≤ Pb_{n−1}}·qb_{n−1} − 1{Pa_n ≤ Pa_{n−1}}·qa_n +
//! 1{Pa_n ≥ Pa_{n−1}}·qa_{n−1}`; the first has `e = 0`. Every observation adds `qb + qa` to
//! the depth sum. Over the 64-bucket window of `window_ms`, `D̄ = Σ(qb+qa)/(2·count)` and
//! `F2 = clamp(Σe/D̄, ±clip)`; valid iff the window holds ≥ 1 observation and `D̄ > 0`.
//! A Clear, an empty side or a bad book resets the stored tuple.

use super::window::BucketWindow;
use super::Feature;
use crate::market::{Bbo, Market};
use mia_model::features::{FeatureId, FeatureVector};

/// `[features.ofi]`.
#[derive(Clone, Copy, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct OfiConfig {
    /// Window length (ms of event time).
    pub window_ms: u64,
    /// Output clip (±).
    pub clip: f64,
}

impl Default for OfiConfig {
    fn default() -> Self {
        Self { window_ms: 5_000, clip: 10.0 }
    }
}

/// The CKS event of a BBO change from `p` to `n`.
#[inline]
pub fn cks_event(p: &Bbo, n: &Bbo) -> i64 {
    let mut e = 0i64;
    if n.bid_px >= p.bid_px {
        e += n.bid_sz as i64;
    }
    if n.bid_px <= p.bid_px {
        e -= p.bid_sz as i64;
    }
    if n.ask_px <= p.ask_px {
        e -= n.ask_sz as i64;
    }
    if n.ask_px >= p.ask_px {
        e += p.ask_sz as i64;
    }
    e
}

/// Incremental OFI over an event-time window.
#[derive(Clone, Debug)]
pub struct Ofi {
    clip: f64,
    prev: Option<Bbo>,
    /// Lanes: Σe, Σ(qb + qa), count.
    window: BucketWindow<3>,
}

impl Ofi {
    /// Records the BBO after a consistent record at `now`; `None` resets the stored tuple.
    #[inline]
    pub fn observe(&mut self, now: u64, bbo: Option<Bbo>) {
        let Some(n) = bbo else {
            self.prev = None;
            return;
        };
        if self.prev == Some(n) {
            return;
        }
        let e = self.prev.map_or(0, |p| cks_event(&p, &n));
        self.window.add(now, [e, n.bid_sz as i64 + n.ask_sz as i64, 1]);
        self.prev = Some(n);
    }

    /// The current value, `None` when invalid.
    #[inline]
    pub fn value(&self) -> Option<f64> {
        let [se, sd, n] = self.window.sums();
        if n <= 0 || sd <= 0 {
            return None;
        }
        let dbar = sd as f64 / (2.0 * n as f64);
        Some((se as f64 / dbar).clamp(-self.clip, self.clip))
    }

    fn publish(&self, out: &mut FeatureVector) {
        match self.value() {
            Some(v) => out.set(FeatureId::OrderFlowImbalance, v as f32),
            None => out.invalidate(FeatureId::OrderFlowImbalance),
        }
    }
}

impl Feature for Ofi {
    type Config = OfiConfig;

    fn new(cfg: &OfiConfig, _tick: i64) -> Self {
        Self { clip: cfg.clip, prev: None, window: BucketWindow::new(cfg.window_ms) }
    }

    fn validate(cfg: &OfiConfig) -> Result<(), String> {
        if cfg.window_ms == 0 {
            return Err("window_ms: must be > 0".into());
        }
        if !(cfg.clip > 0.0 && cfg.clip.is_finite()) {
            return Err(format!("clip: {} must be a positive number", cfg.clip));
        }
        Ok(())
    }

    fn on_clear(&mut self, _out: &mut FeatureVector) {
        self.prev = None;
    }

    #[inline]
    fn on_last(&mut self, m: &Market, out: &mut FeatureVector) {
        let expired = self.window.advance(m.now);
        if m.book_bad || !m.bbo.is_valid() {
            self.prev = None;
        } else if m.bbo_changed || self.prev.is_none() {
            self.observe(m.now, Some(m.bbo));
            self.publish(out);
            return;
        }
        if expired {
            self.publish(out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: i64 = 1_000_000_000;
    const T: i64 = 250_000_000;

    fn bbo(b: i64, bs: u32, a: i64, as_: u32) -> Bbo {
        Bbo { bid_px: b, bid_sz: bs, ask_px: a, ask_sz: as_ }
    }

    /// SIGNALS.md T2: e = 0, 8, 8, 11; Σe = 27, D̄ = 7.375, F2 = 3.661017.
    #[test]
    fn t2_ofi() {
        let mut f = Ofi::new(&OfiConfig::default(), T);
        let obs = [
            bbo(100 * P, 10, 100 * P + T, 8),
            bbo(100 * P, 15, 100 * P + T, 5),
            bbo(100 * P + T, 3, 100 * P + 2 * T, 7),
            bbo(100 * P + T, 9, 100 * P + 2 * T, 2),
        ];
        let es: Vec<i64> = obs.windows(2).map(|w| cks_event(&w[0], &w[1])).collect();
        assert_eq!(es, [8, 8, 11]);
        for (i, o) in obs.iter().enumerate() {
            f.observe(1_000 + i as u64, Some(*o));
        }
        assert!((f.value().unwrap_or(0.0) - 3.661017).abs() < 1e-5);
        // a repeated tuple is not an observation
        f.observe(2_000, Some(obs[3]));
        assert!((f.value().unwrap_or(0.0) - 3.661017).abs() < 1e-5);
    }

    proptest::proptest! {
        /// Incremental = recomputed: F2 equals Σe/D̄ recomputed from the list of observations
        /// whose bucket lies in the window (tolerance 1e-9 relative; the sums are exact).
        #[test]
        fn incremental_equals_naive(obs in proptest::collection::vec((0u64..400_000_000, -2i64..3, 1u32..50, -2i64..3, 1u32..50), 1..200)) {
            let cfg = OfiConfig { window_ms: 640, clip: 1e9 };
            let mut f = Ofi::new(&cfg, T);
            let width = f.window.width_ns();
            let (mut now, mut seen, mut prev): (u64, Vec<(u64, i64, i64)>, Option<Bbo>) = (0, Vec::new(), None);
            for (dt, b, bs, a, as_) in obs {
                now += dt;
                let n = bbo(100 * P + b * T, bs, 101 * P + a * T, as_);
                f.window.advance(now); // as `on_last` does on every record
                f.observe(now, Some(n));
                if prev != Some(n) {
                    let e = prev.map_or(0, |p| cks_event(&p, &n));
                    seen.push((now, e, bs as i64 + as_ as i64));
                    prev = Some(n);
                }
                let head = now / width;
                let live: Vec<_> = seen.iter().filter(|(t, _, _)| t / width + 64 > head).collect();
                let se: i64 = live.iter().map(|x| x.1).sum();
                let sd: i64 = live.iter().map(|x| x.2).sum();
                let naive = (sd > 0).then(|| se as f64 / (sd as f64 / (2.0 * live.len() as f64)));
                match (f.value(), naive) {
                    (Some(x), Some(y)) => proptest::prop_assert!((x - y).abs() <= 1e-9 * y.abs().max(1.0)),
                    (x, y) => proptest::prop_assert_eq!(x, y),
                }
            }
        }
    }

    #[test]
    fn reset_window_expiry_and_clip() {
        let mut f = Ofi::new(&OfiConfig { window_ms: 640, clip: 1.0 }, T);
        assert_eq!(f.value(), None, "empty window");
        f.observe(0, Some(bbo(100 * P, 10, 100 * P + T, 10)));
        assert_eq!(f.value(), Some(0.0));
        f.observe(1, None); // reset: the next observation is a first one (e = 0)
        f.observe(2, Some(bbo(100 * P + T, 50, 100 * P + 2 * T, 1)));
        assert_eq!(f.value(), Some(0.0));
        f.observe(3, Some(bbo(100 * P + T, 90, 100 * P + 2 * T, 1)));
        assert_eq!(f.value(), Some(1.0), "clipped");
        f.window.advance(10_000_000_000);
        assert_eq!(f.value(), None, "expired");
    }
}
