//! The three Sierra bar patterns (SIGNALS.md §3.6, `[signal.sierra]`), evaluated on real
//! completed bars (departure 7): at each close the just-closed bar plays `[1]`, and earlier
//! bars are `[0]`, `[−1]` and `[−2]`, named `C`, `B`, `A` and `W`. The engine waits for the
//! real `[1]`; nothing is simulated.
//!
//! - **Long Down-Up Bar** (LDUB, bullish): `open_B < close_A`, `ticks(high_A − low_B) > L`,
//!   `open_C > close_B`, `ticks(high_C − low_B) > L`, `high_C > high_A`; score
//!   `0.7·min(span/(2L), 1) + 0.3·min(vol_B/(volume_norm_1m·m), 1)`, `span = ticks(high_C − low_B)`.
//! - **Long Up-Down Bar** (LUDB, bearish): the mirror, `span = ticks(high_B − low_C)`.
//! - **Color Down Setting** (CDS, bearish): `close_A < open_A`, `close_B > open_B`,
//!   `close_C < open_C`, `ticks(high_W − low_A) > K`, `ticks(high_B − low_C) > K`,
//!   `low_W > low_A > low_C`, `high_B < high_A`; score `0.8·min(ticks(high_A − low_C)/(2K), 1)`.
//!
//! `L = ldub_ticks`, `K = cds_ticks`. A pattern that does not match (or lacks its bars)
//! scores 0. The work is O(1) per close.

use crate::market::bars::BarRing;
use mia_model::bar::Bar;
use mia_model::price::Px;

/// `[signal.sierra]`.
#[derive(Clone, Copy, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SierraConfig {
    /// LDUB/LUDB range threshold `L` (ticks, strict `>`).
    pub ldub_ticks: u32,
    /// CDS range threshold `K` (ticks, strict `>`).
    pub cds_ticks: u32,
}

impl Default for SierraConfig {
    fn default() -> Self {
        Self { ldub_ticks: 8, cds_ticks: 12 }
    }
}

impl SierraConfig {
    /// Checks the section; the error names the key.
    ///
    /// # Errors
    /// `key: reason` for the first bad key.
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=1000).contains(&self.ldub_ticks) {
            return Err(format!("ldub_ticks: {} outside 1..=1000", self.ldub_ticks));
        }
        if !(1..=1000).contains(&self.cds_ticks) {
            return Err(format!("cds_ticks: {} outside 1..=1000", self.cds_ticks));
        }
        Ok(())
    }
}

/// The three scores of one close, each in [0, 1] (0 = no match).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SierraScores {
    /// Long Down-Up Bar (bullish).
    pub ldub: f64,
    /// Long Up-Down Bar (bearish).
    pub ludb: f64,
    /// Color Down Setting (bearish).
    pub cds: f64,
}

impl SierraScores {
    /// Mean of the three scores (used by `bn_confidence`, §3.5).
    #[inline]
    pub fn mean(&self) -> f64 {
        (self.ldub + self.ludb + self.cds) / 3.0
    }
}

#[inline]
fn ticks(x: Px, tick: Px) -> f64 {
    x as f64 / tick as f64
}

/// LDUB on `A`, `B`, `C` (oldest first); `vol_norm` = `volume_norm_1m·m`.
pub fn long_down_up(a: &Bar, b: &Bar, c: &Bar, cfg: &SierraConfig, tick: Px, vol_norm: f64) -> f64 {
    let l = cfg.ldub_ticks as i64 * tick;
    let ok =
        b.open < a.close && a.high - b.low > l && c.open > b.close && c.high - b.low > l && c.high > a.high;
    if !ok {
        return 0.0;
    }
    range_score(ticks(c.high - b.low, tick), cfg.ldub_ticks, b.volume, vol_norm)
}

/// LUDB on `A`, `B`, `C` (oldest first); `vol_norm` = `volume_norm_1m·m`.
pub fn long_up_down(a: &Bar, b: &Bar, c: &Bar, cfg: &SierraConfig, tick: Px, vol_norm: f64) -> f64 {
    let l = cfg.ldub_ticks as i64 * tick;
    let ok =
        b.open > a.close && b.high - a.low > l && c.open < b.close && b.high - c.low > l && c.low < a.low;
    if !ok {
        return 0.0;
    }
    range_score(ticks(b.high - c.low, tick), cfg.ldub_ticks, b.volume, vol_norm)
}

/// `0.7·min(span/(2L), 1) + 0.3·min(vol_B/vol_norm, 1)` (the volume term is 0 when
/// `vol_norm` is not positive).
fn range_score(span: f64, l: u32, vol_b: u32, vol_norm: f64) -> f64 {
    let v = if vol_norm > 0.0 { (vol_b as f64 / vol_norm).min(1.0) } else { 0.0 };
    (0.7 * (span / (2.0 * l as f64)).min(1.0) + 0.3 * v).clamp(0.0, 1.0)
}

/// CDS on `W`, `A`, `B`, `C` (oldest first).
pub fn color_down_setting(w: &Bar, a: &Bar, b: &Bar, c: &Bar, cfg: &SierraConfig, tick: Px) -> f64 {
    let k = cfg.cds_ticks as i64 * tick;
    let ok = a.close < a.open
        && b.close > b.open
        && c.close < c.open
        && w.high - a.low > k
        && b.high - c.low > k
        && w.low > a.low
        && a.low > c.low
        && b.high < a.high;
    if !ok {
        return 0.0;
    }
    (0.8 * (ticks(a.high - c.low, tick) / (2.0 * cfg.cds_ticks as f64)).min(1.0)).clamp(0.0, 1.0)
}

/// The three scores at the close of `ring.back(0)` (= `C`). Missing bars give 0.
pub fn evaluate(ring: &BarRing, cfg: &SierraConfig, tick: Px, vol_norm: f64) -> SierraScores {
    let (Some(c), Some(b), Some(a)) = (ring.back(0), ring.back(1), ring.back(2)) else {
        return SierraScores::default();
    };
    let cds = ring.back(3).map_or(0.0, |w| color_down_setting(w, a, b, c, cfg, tick));
    SierraScores {
        ldub: long_down_up(a, b, c, cfg, tick, vol_norm),
        ludb: long_up_down(a, b, c, cfg, tick, vol_norm),
        cds,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Px = 250_000_000;

    /// A bar from prices in points (as f64, exact quarters) and a volume.
    fn bar(o: f64, h: f64, l: f64, c: f64, v: u32) -> Bar {
        let px = |x: f64| (x * 4.0).round() as Px * T;
        Bar { open: px(o), high: px(h), low: px(l), close: px(c), volume: v, ..Bar::default() }
    }

    fn ring(bars: &[Bar]) -> BarRing {
        let mut r = BarRing::new(8);
        for b in bars {
            r.push(*b);
        }
        r
    }

    /// SIGNALS.md T12: LDUB on 5-min bars (volume norm 7500): 0.7·min(38/16, 1) + 0.3·0.6 = 0.88.
    #[test]
    fn t12_long_down_up_bar() {
        let a = bar(5010.0, 5012.0, 5005.0, 5006.0, 1000);
        let b = bar(5005.5, 5006.5, 5003.0, 5004.0, 4500);
        let c = bar(5004.5, 5012.5, 5004.25, 5012.0, 2000);
        let cfg = SierraConfig::default();
        let s = long_down_up(&a, &b, &c, &cfg, T, 7500.0);
        assert!((s - 0.88).abs() < 1e-5, "{s}");
        let all = evaluate(&ring(&[a, b, c]), &cfg, T, 7500.0);
        assert!((all.ldub - 0.88).abs() < 1e-5);
        assert_eq!((all.ludb, all.cds), (0.0, 0.0), "bearish patterns do not match");
        // high_C = high_A fails the last strict condition
        let c2 = Bar { high: a.high, ..c };
        assert_eq!(long_down_up(&a, &b, &c2, &cfg, T, 7500.0), 0.0);
        // the range conditions are strict: high_A − low_B = 36 ticks is not > 36
        let tight = SierraConfig { ldub_ticks: 36, ..cfg };
        assert_eq!(long_down_up(&a, &b, &c, &tight, T, 7500.0), 0.0);
        // with L = 35: 0.7·min(38/70, 1) + 0.18 = 0.56
        let l35 = SierraConfig { ldub_ticks: 35, ..cfg };
        assert!((long_down_up(&a, &b, &c, &l35, T, 7500.0) - 0.56).abs() < 1e-9);
    }

    /// The LUDB mirror: A 5006/5011/5004/5010, B 5010.50/5013/5009/5012 (V 3000),
    /// C 5011/5011.5/5003/5003.5: open_B 5010.5 > close_A 5010; high_B − low_A = 36 > 8;
    /// open_C 5011 < close_B 5012; high_B − low_C = 40 > 8; low_C 5003 < low_A 5004.
    /// Score = 0.7·min(40/16, 1) + 0.3·3000/7500 = 0.82.
    #[test]
    fn long_up_down_mirror() {
        let a = bar(5006.0, 5011.0, 5004.0, 5010.0, 1000);
        let b = bar(5010.5, 5013.0, 5009.0, 5012.0, 3000);
        let c = bar(5011.0, 5011.5, 5003.0, 5003.5, 2000);
        let s = evaluate(&ring(&[a, b, c]), &SierraConfig::default(), T, 7500.0);
        assert!((s.ludb - 0.82).abs() < 1e-5, "{}", s.ludb);
        assert_eq!(s.ldub, 0.0);
        // a shorter span: A 5009/5010/5008/5009.50, B 5010/5011/5009.50/5010.75 (V 9000),
        // C 5010.50/5010.50/5007.50/5008: high_B − low_A = 12 > 8, high_B − low_C = 14 > 8,
        // low_C 5007.50 < low_A 5008 → 0.7·14/16 + 0.3·min(9000/7500, 1) = 0.9125
        let a2 = bar(5009.0, 5010.0, 5008.0, 5009.5, 1000);
        let b2 = bar(5010.0, 5011.0, 5009.5, 5010.75, 9000);
        let c2 = bar(5010.5, 5010.5, 5007.5, 5008.0, 2000);
        let cfg = SierraConfig::default();
        assert!((long_up_down(&a2, &b2, &c2, &cfg, T, 7500.0) - 0.9125).abs() < 1e-9);
        // low_C = low_A is not below it
        let c3 = bar(5010.5, 5010.5, 5008.0, 5008.25, 2000);
        assert_eq!(long_up_down(&a2, &b2, &c3, &cfg, T, 7500.0), 0.0);
    }

    /// CDS: W 5010/5012/5006/5007, A 5008/5011/5004/5005 (red), B 5005/5008/5004.5/5007.5
    /// (green), C 5007/5007.5/5002/5002.5 (red). high_W − low_A = 32 ticks and high_B − low_C
    /// = 24 ticks, both above 12; low_W 5006 > low_A 5004 > low_C 5002; high_B 5008 < high_A 5011.
    /// Score = 0.8·min((5011 − 5002)/0.25/24, 1) = 0.8·min(36/24, 1) = 0.8.
    #[test]
    fn color_down_setting_conditions() {
        let w = bar(5010.0, 5012.0, 5006.0, 5007.0, 1000);
        let a = bar(5008.0, 5011.0, 5004.0, 5005.0, 1000);
        let b = bar(5005.0, 5008.0, 5004.5, 5007.5, 1000);
        let c = bar(5007.0, 5007.5, 5002.0, 5002.5, 1000);
        let cfg = SierraConfig::default();
        assert!((color_down_setting(&w, &a, &b, &c, &cfg, T) - 0.8).abs() < 1e-9);
        // A high 5007.50: high_B 5008 < high_A fails → 0
        let a2 = bar(5007.0, 5007.5, 5004.0, 5005.0, 1000);
        assert_eq!(color_down_setting(&w, &a2, &b, &c, &cfg, T), 0.0);
        // C low 5003.50: high_B − low_C = 18 > 12, low_A 5004 > 5003.50, 30 ticks → 0.8
        let c3 = bar(5007.0, 5007.5, 5003.5, 5003.75, 1000);
        assert!((color_down_setting(&w, &a, &b, &c3, &cfg, T) - 0.8).abs() < 1e-9);
        // A high 5008.5, C low 5003: (5008.5 − 5003)/0.25 = 22 → 0.8·22/24 = 0.733333
        let a4 = bar(5008.0, 5008.5, 5004.0, 5005.0, 1000);
        let b4 = bar(5005.0, 5008.25, 5004.5, 5007.5, 1000);
        let c4 = bar(5007.0, 5007.5, 5003.0, 5003.25, 1000);
        let s4 = color_down_setting(&w, &a4, &b4, &c4, &cfg, T);
        assert!((s4 - 0.8 * 22.0 / 24.0).abs() < 1e-9, "{s4}");
        // a green C breaks the alternation
        let c5 = bar(5002.5, 5007.5, 5002.0, 5007.0, 1000);
        assert_eq!(color_down_setting(&w, &a, &b, &c5, &cfg, T), 0.0);
        // full evaluation on a ring
        let s = evaluate(&ring(&[w, a, b, c]), &cfg, T, 7500.0);
        assert!((s.cds - 0.8).abs() < 1e-9);
    }

    #[test]
    fn too_few_bars_and_dojis_score_zero() {
        let a = bar(5000.0, 5000.0, 5000.0, 5000.0, 10);
        let cfg = SierraConfig::default();
        assert_eq!(evaluate(&ring(&[a, a]), &cfg, T, 7500.0), SierraScores::default());
        assert_eq!(evaluate(&ring(&[a, a, a, a]), &cfg, T, 7500.0), SierraScores::default());
        assert!(cfg.validate().is_ok());
        assert_eq!(
            SierraConfig { ldub_ticks: 0, ..cfg }.validate(),
            Err("ldub_ticks: 0 outside 1..=1000".into())
        );
    }
}
