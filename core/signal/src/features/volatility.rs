//! Volatility regime, feature F15 (SIGNALS §2): the percentile of the current 1-minute
//! realized volatility against the distribution of the last completed sessions.
//!
//! On each 1-minute close, `r = ln(close_t/close_{t−1})` when both bars are of the same
//! session. `rv = 1e4·sqrt(mean r²)` (bp per minute) over the last `window_bars` returns of
//! the session, summed oldest first from a fixed ring, so a value depends only on the returns
//! (bit-reproducible, no drifting running sum). Each `rv` sample goes into the session's
//! 64-bin log histogram (0.1–100 bp); at a session roll the session's histogram joins a ring
//! of completed sessions and the reference (the sum of the last `sessions` of them) is
//! rebuilt, O(sessions·64) once a day. `F15 = (Σ_{i<j} nᵢ + nⱼ/2)/N` for the current sample's
//! bin `j`.
//!
//! All state lives in fixed arrays; nothing allocates after [`VolatilityRegime::new`].

use super::Feature;
use crate::market::bars::{Timeframe, BAR_RING_CAP};
use crate::market::Market;
use mia_model::features::{FeatureId, FeatureVector};

/// Cap of `window_bars` (`BAR_RING_CAP − 1`).
pub const VOL_WINDOW_CAP: usize = BAR_RING_CAP - 1;

/// Cap of `sessions`: completed sessions kept.
pub const VOL_SESSION_CAP: usize = 64;

/// Histogram bins (fixed).
pub const VOL_BINS: usize = 64;

/// `[features.volatility]`.
#[derive(Clone, Copy, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct VolatilityConfig {
    /// Returns in the rv window (≤ [`VOL_WINDOW_CAP`]).
    pub window_bars: usize,
    /// Completed sessions in the reference (≤ [`VOL_SESSION_CAP`]).
    pub sessions: usize,
    /// Completed sessions with samples needed before F15 is valid (≤ `sessions`).
    pub min_sessions: usize,
    /// F15 at or below this is LOW.
    pub low_pct: f64,
    /// F15 above this is HIGH.
    pub high_pct: f64,
}

impl Default for VolatilityConfig {
    fn default() -> Self {
        Self { window_bars: 30, sessions: 20, min_sessions: 5, low_pct: 0.4, high_pct: 0.8 }
    }
}

impl VolatilityConfig {
    /// Checks the section against the caps and ranges.
    ///
    /// # Errors
    /// A `key: reason` message for the first bad key.
    pub fn validate(&self) -> Result<(), String> {
        if self.window_bars == 0 || self.window_bars > VOL_WINDOW_CAP {
            return Err(format!("window_bars: must be in 1..={VOL_WINDOW_CAP}, got {}", self.window_bars));
        }
        if self.sessions == 0 || self.sessions > VOL_SESSION_CAP {
            return Err(format!("sessions: must be in 1..={VOL_SESSION_CAP}, got {}", self.sessions));
        }
        if self.min_sessions == 0 || self.min_sessions > self.sessions {
            return Err(format!(
                "min_sessions: must be in 1..=sessions ({}), got {}",
                self.sessions, self.min_sessions
            ));
        }
        if !(self.low_pct.is_finite() && (0.0..=1.0).contains(&self.low_pct)) {
            return Err(format!("low_pct: must be in [0, 1], got {}", self.low_pct));
        }
        if !(self.high_pct.is_finite() && self.high_pct > self.low_pct && self.high_pct <= 1.0) {
            return Err(format!("high_pct: must be in (low_pct, 1], got {}", self.high_pct));
        }
        Ok(())
    }
}

/// Volatility class from F15.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VolClass {
    /// F15 ≤ `low_pct`.
    Low,
    /// `low_pct` < F15 ≤ `high_pct`, and whenever F15 is invalid.
    Normal,
    /// F15 > `high_pct`.
    High,
}

/// The histogram bin of an rv sample: `clamp(⌊64·log10(rv/0.1)/3⌋, 0, 63)`, 0 when
/// rv ≤ 0.1 bp.
#[inline]
pub fn vol_bin(rv: f64) -> usize {
    if rv.is_nan() || rv <= 0.1 {
        return 0;
    }
    let x = (64.0 * (rv / 0.1).log10() / 3.0).floor();
    if x >= (VOL_BINS - 1) as f64 {
        VOL_BINS - 1
    } else {
        x as usize
    }
}

/// Realized-volatility percentile against past sessions (F15).
#[derive(Clone, Debug)]
pub struct VolatilityRegime {
    cfg: VolatilityConfig,
    /// Returns of the current session, ring of `window_bars` slots; `head` is the next write.
    returns: [f64; VOL_WINDOW_CAP],
    head: usize,
    /// Returns this session (saturating at `window_bars`).
    n_ret: usize,
    /// Close of the previous bar of this session (0 = none).
    prev_close: i64,
    session: Option<u32>,
    /// The current session's histogram.
    cur: [u32; VOL_BINS],
    /// Completed sessions, ring of [`VOL_SESSION_CAP`]; `done_head` is the next write.
    done: [[u32; VOL_BINS]; VOL_SESSION_CAP],
    done_n: [u32; VOL_SESSION_CAP],
    done_head: usize,
    done_len: usize,
    /// Sum of the last `sessions` completed histograms, its count, and how many of those
    /// sessions had samples.
    reference: [u64; VOL_BINS],
    ref_n: u64,
    ref_sessions: usize,
    rv: Option<f64>,
    pct: Option<f64>,
    nonfinite: u64,
}

impl VolatilityRegime {
    /// A feature with the parameters of `cfg` (assumed validated).
    pub fn new(cfg: &VolatilityConfig) -> Self {
        let mut cfg = *cfg;
        cfg.window_bars = cfg.window_bars.clamp(1, VOL_WINDOW_CAP);
        cfg.sessions = cfg.sessions.clamp(1, VOL_SESSION_CAP);
        Self {
            cfg,
            returns: [0.0; VOL_WINDOW_CAP],
            head: 0,
            n_ret: 0,
            prev_close: 0,
            session: None,
            cur: [0; VOL_BINS],
            done: [[0; VOL_BINS]; VOL_SESSION_CAP],
            done_n: [0; VOL_SESSION_CAP],
            done_head: 0,
            done_len: 0,
            reference: [0; VOL_BINS],
            ref_n: 0,
            ref_sessions: 0,
            rv: None,
            pct: None,
            nonfinite: 0,
        }
    }

    /// Ends the current session: its histogram joins the completed ring and the reference is
    /// rebuilt from the last `sessions` completed sessions.
    fn roll_session(&mut self) {
        let n: u32 = self.cur.iter().sum();
        self.done[self.done_head] = self.cur;
        self.done_n[self.done_head] = n;
        self.done_head = (self.done_head + 1) % VOL_SESSION_CAP;
        self.done_len = (self.done_len + 1).min(VOL_SESSION_CAP);
        self.reference = [0; VOL_BINS];
        self.ref_n = 0;
        self.ref_sessions = 0;
        for i in 0..self.cfg.sessions.min(self.done_len) {
            let k = (self.done_head + VOL_SESSION_CAP - 1 - i) % VOL_SESSION_CAP;
            for (r, &c) in self.reference.iter_mut().zip(self.done[k].iter()) {
                *r += u64::from(c);
            }
            self.ref_n += u64::from(self.done_n[k]);
            self.ref_sessions += usize::from(self.done_n[k] > 0);
        }
        self.cur = [0; VOL_BINS];
        self.break_chain();
    }

    /// Forgets the previous close and the return window.
    fn break_chain(&mut self) {
        self.prev_close = 0;
        self.n_ret = 0;
        self.head = 0;
    }

    /// rv over the full window, summed oldest first.
    fn window_rv(&self) -> f64 {
        let w = self.cfg.window_bars;
        let mut s = 0.0f64;
        for i in 0..w {
            let r = self.returns[(self.head + i) % w];
            s += r * r;
        }
        1e4 * (s / w as f64).sqrt()
    }

    /// F15 of a sample in bin `j` against the reference (`None` when N = 0).
    fn percentile(&self, j: usize) -> Option<f64> {
        if self.ref_n == 0 {
            return None;
        }
        let below: u64 = self.reference[..j].iter().sum();
        Some((below as f64 + self.reference[j] as f64 / 2.0) / self.ref_n as f64)
    }

    /// A 1-minute bar closed at `close` (Px) in session `session_date` (yyyymmdd). Updates
    /// rv, the session histogram and F15, writes F15 into `out` and returns it (`None` when
    /// invalid).
    pub fn on_minute_close(&mut self, session_date: u32, close: i64, out: &mut FeatureVector) -> Option<f64> {
        match self.session {
            Some(d) if d == session_date => {}
            Some(_) => {
                self.roll_session();
                self.session = Some(session_date);
            }
            None => self.session = Some(session_date),
        }
        self.rv = None;
        self.pct = None;
        if close <= 0 {
            // no price: the return chain restarts at the next positive close
            self.break_chain();
        } else {
            if self.prev_close > 0 {
                let r = (close as f64 / self.prev_close as f64).ln();
                if r.is_finite() {
                    let w = self.cfg.window_bars;
                    self.returns[self.head] = r;
                    self.head = (self.head + 1) % w;
                    self.n_ret = (self.n_ret + 1).min(w);
                } else {
                    self.nonfinite += 1;
                    self.n_ret = 0;
                    self.head = 0;
                }
            }
            self.prev_close = close;
        }
        if self.n_ret >= self.cfg.window_bars {
            let rv = self.window_rv();
            if rv.is_finite() {
                let j = vol_bin(rv);
                self.cur[j] += 1;
                self.rv = Some(rv);
                if self.ref_sessions >= self.cfg.min_sessions {
                    self.pct = self.percentile(j).filter(|p| p.is_finite());
                }
            } else {
                self.nonfinite += 1;
            }
        }
        self.write(out);
        self.pct
    }

    /// The last rv sample (bp/min), `None` when the last close did not fill the window.
    #[inline]
    pub fn rv(&self) -> Option<f64> {
        self.rv
    }

    /// The last F15 value, `None` when invalid.
    #[inline]
    pub fn value(&self) -> Option<f64> {
        self.pct
    }

    /// The class of the last F15 value (NORMAL while invalid).
    #[inline]
    pub fn class(&self) -> VolClass {
        match self.pct {
            Some(p) if p > self.cfg.high_pct => VolClass::High,
            Some(p) if p > self.cfg.low_pct => VolClass::Normal,
            Some(_) => VolClass::Low,
            None => VolClass::Normal,
        }
    }

    /// The reference histogram, its count N, and how many of its sessions had samples.
    #[inline]
    pub fn reference(&self) -> (&[u64; VOL_BINS], u64, usize) {
        (&self.reference, self.ref_n, self.ref_sessions)
    }

    /// The current session's histogram.
    #[inline]
    pub fn session_histogram(&self) -> &[u32; VOL_BINS] {
        &self.cur
    }

    /// Non-finite values met (returns or rv), each of which was dropped.
    #[inline]
    pub fn nonfinite_count(&self) -> u64 {
        self.nonfinite
    }

    /// Writes F15 into `out` (invalid when [`Self::value`] is `None`).
    #[inline]
    pub fn write(&self, out: &mut FeatureVector) {
        match self.pct {
            Some(p) => out.set(FeatureId::VolatilityRegime, p as f32),
            None => out.invalidate(FeatureId::VolatilityRegime),
        }
    }
}

impl Feature for VolatilityRegime {
    type Config = VolatilityConfig;

    fn new(cfg: &VolatilityConfig, _tick: i64) -> Self {
        VolatilityRegime::new(cfg)
    }

    fn validate(cfg: &VolatilityConfig) -> Result<(), String> {
        cfg.validate()
    }

    fn lookback(cfg: &VolatilityConfig) -> [usize; 4] {
        [cfg.window_bars + 1, 0, 0, 0]
    }

    fn on_bar_close(&mut self, m: &Market, tf: Timeframe, out: &mut FeatureVector) {
        if tf != Timeframe::M1 {
            return;
        }
        if let Some(b) = m.bars.series(tf).ring.last() {
            self.on_minute_close(b.session_date, b.close, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const PT: i64 = 1_000_000_000;
    const C0: i64 = 5000 * PT;

    fn cfg(window_bars: usize, sessions: usize, min_sessions: usize) -> VolatilityConfig {
        VolatilityConfig { window_bars, sessions, min_sessions, ..Default::default() }
    }

    #[test]
    fn config_validation() {
        assert_eq!(VolatilityConfig::default().validate(), Ok(()));
        assert_eq!(cfg(511, 64, 64).validate(), Ok(()));
        assert!(cfg(512, 20, 5).validate().unwrap_err().starts_with("window_bars:"));
        assert!(cfg(0, 20, 5).validate().unwrap_err().starts_with("window_bars:"));
        assert!(cfg(30, 65, 5).validate().unwrap_err().starts_with("sessions:"));
        assert!(cfg(30, 4, 5).validate().unwrap_err().starts_with("min_sessions:"));
        let c = VolatilityConfig { low_pct: 0.8, high_pct: 0.8, ..Default::default() };
        assert!(c.validate().unwrap_err().starts_with("high_pct:"));
    }

    #[test]
    fn rv_hand_computed_short_window() {
        let mut v = VolatilityRegime::new(&cfg(3, 20, 5));
        let mut out = FeatureVector::default();
        for c in [100, 101, 100] {
            v.on_minute_close(20240313, c * PT, &mut out);
            assert_eq!(v.rv(), None, "window not full");
        }
        v.on_minute_close(20240313, 102 * PT, &mut out);
        // r = ln 1.01, ln(100/101), ln 1.02; rv = 1e4·sqrt(Σr²/3)
        let rv = v.rv().unwrap();
        assert!((rv - 140.257_170_5).abs() < 1e-6, "{rv}");
        assert_eq!(vol_bin(rv), 63);
        // the next close drops ln 1.01: r = ln(100/101), ln 1.02, ln(103/102)
        v.on_minute_close(20240313, 103 * PT, &mut out);
        let rv = v.rv().unwrap();
        assert!((rv - 139.801_774_1).abs() < 1e-6, "{rv}");
        assert_eq!(v.session_histogram()[63], 2);
        assert_eq!(out.get(FeatureId::VolatilityRegime), None, "no reference yet");
        assert_eq!(v.class(), VolClass::Normal);
    }

    #[test]
    fn bin_edges() {
        assert_eq!(vol_bin(0.0), 0);
        assert_eq!(vol_bin(0.1), 0);
        assert_eq!(vol_bin(0.11), 0);
        assert_eq!(vol_bin(100.0), 63);
        assert_eq!(vol_bin(99.0), 63); // 64·log10(990)/3 = 63.91
        assert_eq!(vol_bin(1e6), 63);
        assert_eq!(vol_bin(1.0), 21); // 64/3 = 21.33
        assert_eq!(vol_bin(10.0), 42); // 128/3 = 42.67
        let e1 = 0.1 * 10f64.powf(3.0 / 64.0); // lower edge of bin 1
        assert_eq!((vol_bin(e1 * 0.9999), vol_bin(e1 * 1.0001)), (0, 1));
        let e40 = 0.1 * 10f64.powf(40.0 * 3.0 / 64.0);
        assert_eq!((vol_bin(e40 * 0.9999), vol_bin(e40 * 1.0001)), (39, 40));
        assert_eq!(vol_bin(f64::NAN), 0);
    }

    /// `window_bars = 1`, so rv = 1e4·|r|: a move of 0.5 pt from 5000 is ≈ 1 bp (bin 21),
    /// 1.5 pt ≈ 3 bp (bin 31) and 5 pt ≈ 10 bp (bin 42).
    #[test]
    fn percentile_against_hand_built_reference() {
        let mut v = VolatilityRegime::new(&cfg(1, 3, 2));
        let mut out = FeatureVector::default();
        let half = PT / 2;
        // session 1: two samples in bin 21
        for c in [C0, C0 + half, C0] {
            v.on_minute_close(20240311, c, &mut out);
        }
        assert_eq!(v.session_histogram()[21], 2);
        // session 2: one sample in bin 21, one in bin 42; one completed session < min 2
        for c in [C0, C0 + half, C0 + half + 5 * PT] {
            assert_eq!(v.on_minute_close(20240312, c, &mut out), None);
            assert_eq!(v.class(), VolClass::Normal);
        }
        assert_eq!(v.session_histogram()[42], 1);
        assert_eq!(v.reference().1, 2);
        // session 3: reference = bins {21: 3, 42: 1}, N = 4, 2 sessions
        assert_eq!(v.on_minute_close(20240313, C0, &mut out), None, "first bar: no return");
        let (r, n, s) = v.reference();
        assert_eq!((r[21], r[42], n, s), (3, 1, 4, 2));
        let p = v.on_minute_close(20240313, C0 + half, &mut out).unwrap();
        assert_eq!((p, v.class()), (0.375, VolClass::Low)); // (0 + 3/2)/4
        assert_eq!(out.get(FeatureId::VolatilityRegime), Some(0.375));
        let p = v.on_minute_close(20240313, C0 + half + 3 * half, &mut out).unwrap();
        assert_eq!(vol_bin(v.rv().unwrap()), 31);
        assert_eq!((p, v.class()), (0.75, VolClass::Normal)); // (3 + 0)/4
        let p = v.on_minute_close(20240313, C0 + 2 * PT + 5 * PT, &mut out).unwrap();
        assert_eq!((p, v.class()), (0.875, VolClass::High)); // (3 + 1/2)/4
        let p = v.on_minute_close(20240313, C0 + 7 * PT, &mut out).unwrap();
        assert_eq!((p, v.class()), (0.0, VolClass::Low)); // rv = 0 → bin 0, empty
                                                          // sessions = 3: after two more sessions, session 1 leaves the reference
        v.on_minute_close(20240314, C0, &mut out); // session 3 completes (4 samples)
        v.on_minute_close(20240315, C0, &mut out); // session 4 completes with no sample
        let (r, n, s) = v.reference();
        assert_eq!((r[21], r[42], r[0], n, s), (2, 2, 1, 6, 2), "sessions 2, 3 and the empty 4");
    }

    #[test]
    fn invalid_before_min_sessions() {
        let mut v = VolatilityRegime::new(&cfg(2, 20, 5));
        let mut out = FeatureVector::default();
        for d in 0..6u32 {
            for i in 0..5i64 {
                let p = v.on_minute_close(20240301 + d, C0 + (i % 2) * PT, &mut out);
                if d < 5 {
                    assert_eq!(p, None, "session {d}: {} completed", d);
                    assert_eq!(v.class(), VolClass::Normal);
                } else if i >= 2 {
                    // 5 completed sessions, all samples in one bin: F15 = 0.5
                    assert_eq!(p, Some(0.5));
                }
            }
        }
        assert_eq!(v.reference().2, 5);
    }

    #[test]
    fn returns_across_a_session_boundary_are_not_used() {
        let mut v = VolatilityRegime::new(&cfg(2, 20, 1));
        let mut out = FeatureVector::default();
        v.on_minute_close(20240312, 100 * PT, &mut out);
        v.on_minute_close(20240312, 101 * PT, &mut out);
        v.on_minute_close(20240312, 100 * PT, &mut out);
        assert!(v.rv().is_some());
        v.on_minute_close(20240313, 200 * PT, &mut out);
        assert_eq!(v.rv(), None, "the 100 → 200 jump is not a return");
        v.on_minute_close(20240313, 202 * PT, &mut out);
        assert_eq!(v.rv(), None, "one return of the new session only");
        v.on_minute_close(20240313, 200 * PT, &mut out);
        let (a, b) = ((1.01f64).ln(), (200.0f64 / 202.0).ln());
        let want = 1e4 * ((a * a + b * b) / 2.0).sqrt();
        assert_eq!(v.rv(), Some(want));
        assert!((want - 99.503_308_5).abs() < 1e-6, "{want}"); // hand value ≈ 1e4·0.00995
                                                               // a non-positive close breaks the chain without storing a non-finite value
        v.on_minute_close(20240313, 0, &mut out);
        v.on_minute_close(20240313, 200 * PT, &mut out);
        assert_eq!(v.rv(), None);
    }

    // ---- property test: windowed rv and F15 vs a naive recomputation ----

    proptest! {
        /// Exact (bit) equality: the naive model keeps every close per session in a `Vec`,
        /// recomputes each rv from the session's last `window_bars` returns (oldest first)
        /// and each F15 from the raw samples of the last `sessions` completed sessions.
        #[test]
        fn rv_and_percentile_match_naive(
            steps in proptest::collection::vec((0u8..20, -8i64..=8), 1..400),
            w in 1usize..6,
            sessions in 1usize..4,
        ) {
            let c = cfg(w, sessions, 1);
            let mut v = VolatilityRegime::new(&c);
            let mut out = FeatureVector::default();
            let mut date = 20240101u32;
            let mut px = C0;
            let mut closes: Vec<i64> = Vec::new();
            let mut samples: Vec<f64> = Vec::new();
            let mut done: Vec<Vec<f64>> = Vec::new();
            for (roll, dticks) in steps {
                if roll == 0 {
                    date += 1;
                    done.push(std::mem::take(&mut samples));
                    closes.clear();
                }
                px += dticks * PT / 4;
                closes.push(px);
                let got = v.on_minute_close(date, px, &mut out);
                let rets: Vec<f64> = closes.windows(2).map(|p| (p[1] as f64 / p[0] as f64).ln()).collect();
                let want_rv = (rets.len() >= w).then(|| {
                    let mut s = 0.0f64;
                    for r in &rets[rets.len() - w..] {
                        s += r * r;
                    }
                    1e4 * (s / w as f64).sqrt()
                });
                prop_assert_eq!(v.rv(), want_rv);
                let refs = &done[done.len().saturating_sub(sessions)..];
                let n: usize = refs.iter().map(|s| s.len()).sum();
                let want = want_rv.and_then(|rv| {
                    samples.push(rv);
                    let j = vol_bin(rv);
                    let below = refs.iter().flatten().filter(|&&x| vol_bin(x) < j).count();
                    let at = refs.iter().flatten().filter(|&&x| vol_bin(x) == j).count();
                    (n > 0).then(|| (below as f64 + at as f64 / 2.0) / n as f64)
                });
                prop_assert_eq!(got, want);
                prop_assert_eq!(out.get(FeatureId::VolatilityRegime), want.map(|p| p as f32));
            }
        }
    }
}
