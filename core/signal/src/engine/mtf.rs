//! MTF confluence (SIGNALS.md §6, `[signal.mtf]`): one definition over the real 1, 5, 15 and
//! 60-minute bars, recomputed whenever one of them closes, from per-timeframe components kept
//! from each timeframe's latest close.
//!
//! - `x_k = w_bn·clamp(S_k/0.5, −1, 1) + w_trend·ER_k` (Battle Navale signed score `S_k`,
//!   signed efficiency ratio `ER_k`).
//! - `c_k = clamp(g_k·(q_k + vc_k + |ER_k|)/3, 0, 1)`, `vc_k = min(v_t/v̄, 2)/2`,
//!   `g_k = golden_bonus` when the golden-rule direction agrees with `sgn(x_k)`.
//! - `base = Σ x·c·w / Σ w`; alignment `d̄ = Σ w c sgn(x) / Σ w c`; divergence over the pairs
//!   of timeframes with `w ≥ divergence_min_weight`.
//! - `M = sgn(base)·clamp(|base| + align − div, 0, 1)`: bonuses and penalties act on the
//!   magnitude (departure 8).
//!
//! The Battle Navale instances are another module's; their outputs come in as [`BnInput`].

use crate::features::volatility::VolClass;
use crate::market::bars::{BarRing, Timeframe, BAR_RING_CAP};
use mia_model::order::Direction;

/// `[signal.mtf]`.
#[derive(Clone, Copy, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MtfConfig {
    /// Weight of the Battle Navale score in `x_k`.
    pub w_bn: f64,
    /// Weight of the efficiency ratio in `x_k`.
    pub w_trend: f64,
    /// Confidence multiplier when the golden rule agrees with `sgn(x_k)`.
    pub golden_bonus: f64,
    /// Bars in the volume mean `v̄` (≤ `BAR_RING_CAP − 1`).
    pub vol_bars: usize,
    /// Weights (1, 5, 15, 60 min) when F15 is HIGH.
    pub weights_high: [f64; 4],
    /// Weights when F15 is NORMAL (or invalid).
    pub weights_normal: [f64; 4],
    /// Weights when F15 is LOW.
    pub weights_low: [f64; 4],
    /// `|d̄|` above this gives `align = 0.2|d̄|`.
    pub align_hi: f64,
    /// `|d̄|` above this gives `align = 0.1|d̄|`.
    pub align_lo: f64,
    /// A diverging pair has opposite `x` beyond ±`div_x`…
    pub div_x: f64,
    /// …with both `c > div_c`.
    pub div_c: f64,
    /// Timeframes with `w ≥ divergence_min_weight` form the divergence pairs.
    pub divergence_min_weight: f64,
    /// `|M| > elite` is ELITE.
    pub elite: f64,
    /// `|M| > standard` is STANDARD.
    pub standard: f64,
}

impl Default for MtfConfig {
    fn default() -> Self {
        Self {
            w_bn: 0.6,
            w_trend: 0.4,
            golden_bonus: 1.15,
            vol_bars: 20,
            weights_high: [0.7, 0.2, 0.1, 0.0],
            weights_normal: [0.5, 0.3, 0.15, 0.05],
            weights_low: [0.3, 0.3, 0.25, 0.15],
            align_hi: 0.8,
            align_lo: 0.6,
            div_x: 0.3,
            div_c: 0.6,
            divergence_min_weight: 0.05,
            elite: 0.75,
            standard: 0.35,
        }
    }
}

fn unit(key: &str, v: f64) -> Result<(), String> {
    if v.is_finite() && (0.0..=1.0).contains(&v) {
        Ok(())
    } else {
        Err(format!("{key}: must be in [0, 1], got {v}"))
    }
}

impl MtfConfig {
    /// Checks the section.
    ///
    /// # Errors
    /// A `key: reason` message for the first bad key.
    pub fn validate(&self) -> Result<(), String> {
        unit("w_bn", self.w_bn)?;
        unit("w_trend", self.w_trend)?;
        if self.w_bn + self.w_trend > 1.0 + 1e-12 {
            return Err("w_trend: w_bn + w_trend must be ≤ 1 (x_k ∈ [−1, 1])".into());
        }
        if !(self.golden_bonus.is_finite() && (1.0..=2.0).contains(&self.golden_bonus)) {
            return Err(format!("golden_bonus: must be in [1, 2], got {}", self.golden_bonus));
        }
        if self.vol_bars == 0 || self.vol_bars >= BAR_RING_CAP {
            return Err(format!("vol_bars: must be in 1..{BAR_RING_CAP}, got {}", self.vol_bars));
        }
        for (key, w) in [
            ("weights_high", self.weights_high),
            ("weights_normal", self.weights_normal),
            ("weights_low", self.weights_low),
        ] {
            for v in w {
                unit(key, v)?;
            }
            if w.iter().sum::<f64>() <= 0.0 {
                return Err(format!("{key}: the weights must not all be 0"));
            }
        }
        unit("align_hi", self.align_hi)?;
        unit("align_lo", self.align_lo)?;
        if self.align_lo > self.align_hi {
            return Err("align_lo: must be ≤ align_hi".into());
        }
        unit("div_x", self.div_x)?;
        unit("div_c", self.div_c)?;
        unit("divergence_min_weight", self.divergence_min_weight)?;
        unit("elite", self.elite)?;
        unit("standard", self.standard)?;
        if !(0.1 < self.standard && self.standard < self.elite) {
            return Err("standard: must be in (0.1, elite)".into());
        }
        Ok(())
    }

    /// The weights of the F15 class.
    pub fn weights(&self, class: VolClass) -> [f64; 4] {
        match class {
            VolClass::High => self.weights_high,
            VolClass::Normal => self.weights_normal,
            VolClass::Low => self.weights_low,
        }
    }
}

/// What one timeframe's Battle Navale instance reports at its close.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BnInput {
    /// Signed score `S_k` ∈ [−1, 1].
    pub score: f64,
    /// Quality `q_k` of the governing base (0 if none).
    pub base_quality: f64,
    /// Direction of the golden rule, if any.
    pub golden: Option<Direction>,
}

/// One timeframe's signal `x` and confidence `c`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct TfComponent {
    /// `x_k` ∈ [−1, 1].
    pub x: f64,
    /// `c_k` ∈ [0, 1].
    pub c: f64,
}

/// Class of |M|.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MtfClass {
    /// |M| ≤ 0.1.
    #[default]
    Neutral,
    /// 0.1 < |M| ≤ `standard`.
    Weak,
    /// `standard` < |M| ≤ `elite`.
    Standard,
    /// |M| > `elite`.
    Elite,
}

/// The MTF confluence.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct MtfOutput {
    /// `M` ∈ [−1, 1].
    pub m: f64,
    /// Class of |M|.
    pub class: MtfClass,
    /// `sgn(M)` (`None` when M = 0).
    pub direction: Option<Direction>,
    /// `Σ x·c·w / Σ w`.
    pub base: f64,
    /// Alignment bonus.
    pub align: f64,
    /// Divergence penalty.
    pub div: f64,
}

fn sgn(x: f64) -> f64 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// `vc = min(v_t/v̄, 2)/2` for the newest bar of `ring`, with `v̄` the mean volume of the up to
/// `vol_bars` bars before it; 0 when there is no earlier bar or `v̄ = 0`. `None` without bars.
pub fn volume_confirmation(ring: &BarRing, vol_bars: usize) -> Option<f64> {
    let vt = ring.last()?.volume as f64;
    let (mut sum, mut n) = (0u64, 0u64);
    for k in 1..=vol_bars {
        let Some(b) = ring.back(k) else { break };
        sum += b.volume as u64;
        n += 1;
    }
    if n == 0 || sum == 0 {
        return Some(0.0);
    }
    Some((vt / (sum as f64 / n as f64)).min(2.0) / 2.0)
}

/// One timeframe's component from its Battle Navale output, its ER and its volume
/// confirmation. `None` if an input is not finite.
pub fn tf_component(cfg: &MtfConfig, bn: &BnInput, er: f64, vc: f64) -> Option<TfComponent> {
    let x = cfg.w_bn * (bn.score / 0.5).clamp(-1.0, 1.0) + cfg.w_trend * er;
    let x = x.clamp(-1.0, 1.0);
    let agrees = bn.golden.is_some_and(|d| d != Direction::Flat && d.sign() as f64 == sgn(x));
    let g = if agrees { cfg.golden_bonus } else { 1.0 };
    let c = (g * (bn.base_quality + vc + er.abs()) / 3.0).clamp(0.0, 1.0);
    (x.is_finite() && c.is_finite()).then_some(TfComponent { x, c })
}

/// Combines the valid components with the class weights `w` (a `None` component has
/// weight 0). `None` when `Σ w = 0`.
pub fn combine(cfg: &MtfConfig, w: [f64; 4], comps: &[Option<TfComponent>; 4]) -> Option<MtfOutput> {
    let (mut sw, mut sxcw, mut swc, mut swcs) = (0.0, 0.0, 0.0, 0.0);
    for (c, w) in comps.iter().zip(w) {
        let Some(c) = c else { continue };
        sw += w;
        sxcw += c.x * c.c * w;
        swc += w * c.c;
        swcs += w * c.c * sgn(c.x);
    }
    if sw <= 0.0 {
        return None;
    }
    let base = sxcw / sw;
    let dbar = if swc > 0.0 { swcs / swc } else { 0.0 };
    let align = if dbar.abs() > cfg.align_hi {
        0.2 * dbar.abs()
    } else if dbar.abs() > cfg.align_lo {
        0.1 * dbar.abs()
    } else {
        0.0
    };
    // divergence over the pairs of timeframes with w ≥ divergence_min_weight
    let mut members = [TfComponent::default(); 4];
    let mut n = 0;
    for (c, w) in comps.iter().zip(w) {
        if let Some(c) = c {
            if w >= cfg.divergence_min_weight {
                members[n] = *c;
                n += 1;
            }
        }
    }
    let mut div = 0.0;
    if n >= 2 {
        let mut diverging = 0u32;
        for i in 0..n {
            for j in i + 1..n {
                let (a, b) = (members[i], members[j]);
                let opposite = (a.x > cfg.div_x && b.x < -cfg.div_x) || (a.x < -cfg.div_x && b.x > cfg.div_x);
                if opposite && a.c > cfg.div_c && b.c > cfg.div_c {
                    diverging += 1;
                }
            }
        }
        let ratio = diverging as f64 / (n * (n - 1) / 2) as f64;
        div = if ratio > 0.5 {
            0.3 * ratio
        } else if ratio > 0.3 {
            0.15 * ratio
        } else {
            0.0
        };
    }
    let m = sgn(base) * (base.abs() + align - div).clamp(0.0, 1.0);
    if !m.is_finite() {
        return None;
    }
    let a = m.abs();
    let class = if a > cfg.elite {
        MtfClass::Elite
    } else if a > cfg.standard {
        MtfClass::Standard
    } else if a > 0.1 {
        MtfClass::Weak
    } else {
        MtfClass::Neutral
    };
    let direction = if m > 0.0 {
        Some(Direction::Long)
    } else if m < 0.0 {
        Some(Direction::Short)
    } else {
        None
    };
    Some(MtfOutput { m, class, direction, base, align, div })
}

/// The per-timeframe components kept from each timeframe's latest close.
#[derive(Clone, Debug, Default)]
pub struct Mtf {
    cfg: MtfConfig,
    comps: [Option<TfComponent>; 4],
    nonfinite: u64,
}

impl Mtf {
    /// Empty components.
    pub fn new(cfg: &MtfConfig) -> Self {
        Self { cfg: *cfg, comps: [None; 4], nonfinite: 0 }
    }

    /// At the close of `tf`: its Battle Navale output `bn` and its `ER` (`None` while not
    /// valid, which gives the timeframe weight 0), with the volume confirmation read from
    /// `ring` (that timeframe's bars). O(vol_bars).
    pub fn on_close(&mut self, tf: Timeframe, ring: &BarRing, bn: Option<BnInput>, er: Option<f64>) {
        let vc = volume_confirmation(ring, self.cfg.vol_bars).unwrap_or(0.0);
        let comp = match (bn, er) {
            (Some(bn), Some(er)) => {
                let c = tf_component(&self.cfg, &bn, er, vc);
                if c.is_none() {
                    self.nonfinite += 1;
                }
                c
            }
            _ => None,
        };
        self.comps[tf.index()] = comp;
    }

    /// Sets one timeframe's component directly (`None`: not valid).
    pub fn set(&mut self, tf: Timeframe, comp: Option<TfComponent>) {
        self.comps[tf.index()] = comp;
    }

    /// The components (1, 5, 15, 60 min).
    pub fn components(&self) -> &[Option<TfComponent>; 4] {
        &self.comps
    }

    /// M with the weights of the F15 class `class`; `None` when no weighted timeframe is valid.
    pub fn output(&self, class: VolClass) -> Option<MtfOutput> {
        combine(&self.cfg, self.cfg.weights(class), &self.comps)
    }

    /// Non-finite components met (left invalid).
    pub fn nonfinite_count(&self) -> u64 {
        self.nonfinite
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mia_model::bar::Bar;

    fn comps(x: [f64; 4], c: [f64; 4]) -> [Option<TfComponent>; 4] {
        std::array::from_fn(|k| Some(TfComponent { x: x[k], c: c[k] }))
    }

    /// SIGNALS.md T14: NORMAL weights, x = (+0.8, +0.6, +0.4, −0.2), c = (0.9, 0.8, 0.7, 0.5):
    /// base 0.541, d̄ = 0.77/0.82 → align 0.187805, no divergence → M = 0.728805, STANDARD.
    #[test]
    fn t14_mtf() {
        let cfg = MtfConfig::default();
        let mut mtf = Mtf::new(&cfg);
        for (tf, c) in crate::market::bars::TIMEFRAMES
            .into_iter()
            .zip(comps([0.8, 0.6, 0.4, -0.2], [0.9, 0.8, 0.7, 0.5]))
        {
            mtf.set(tf, c);
        }
        let o = mtf.output(VolClass::Normal).unwrap_or_default();
        assert!((o.base - 0.541).abs() < 1e-12);
        assert!((o.align - 0.2 * 0.77 / 0.82).abs() < 1e-12);
        assert_eq!(o.div, 0.0);
        assert!((o.m - 0.728805).abs() < 1e-5, "{}", o.m);
        assert_eq!((o.class, o.direction), (MtfClass::Standard, Some(Direction::Long)));
    }

    /// Departure 8: on a bearish base the bonus increases the magnitude (M more negative).
    /// Divergence: 1m +0.8 vs 5m −0.7, both c > 0.6; 15m and 60m invalid → one pair of one:
    /// ratio 1 → div 0.3. base = (0.8·0.9·0.5 − 0.7·0.9·0.3)/0.8 = 0.213750; d̄ = 0.18/0.72 =
    /// 0.25 → no bonus; M = 0.21375 + 0 − 0.3 → clamped 0.
    #[test]
    fn bearish_and_divergence() {
        let cfg = MtfConfig::default();
        let w = cfg.weights(VolClass::Normal);
        let o = combine(&cfg, w, &comps([-0.8, -0.6, -0.4, 0.2], [0.9, 0.8, 0.7, 0.5])).unwrap_or_default();
        assert!((o.m + 0.728805).abs() < 1e-5);
        assert_eq!(o.direction, Some(Direction::Short));
        let c = [Some(TfComponent { x: 0.8, c: 0.9 }), Some(TfComponent { x: -0.7, c: 0.9 }), None, None];
        let o = combine(&cfg, w, &c).unwrap_or_default();
        assert!((o.base - 0.21375).abs() < 1e-12);
        assert!((o.div - 0.3).abs() < 1e-12 && o.align == 0.0);
        assert_eq!((o.m, o.class, o.direction), (0.0, MtfClass::Neutral, None));
    }

    /// No valid timeframe, or only the 60m one under HIGH weights (w = 0) → invalid.
    #[test]
    fn invalid_without_weight() {
        let cfg = MtfConfig::default();
        assert_eq!(Mtf::new(&cfg).output(VolClass::Normal), None);
        let c = [None, None, None, Some(TfComponent { x: 0.9, c: 0.9 })];
        assert_eq!(combine(&cfg, cfg.weights(VolClass::High), &c), None);
        assert!(combine(&cfg, cfg.weights(VolClass::Low), &c).is_some());
    }

    /// x and c from the parts: S = 0.3 → clamp(0.6) = 0.6; ER 0.5 → x = 0.36 + 0.2 = 0.56;
    /// q 0.8, vc 0.5 (v_t = v̄), golden Long agrees → c = 1.15·1.8/3 = 0.69.
    #[test]
    fn component_from_parts() {
        let cfg = MtfConfig::default();
        let bn = BnInput { score: 0.3, base_quality: 0.8, golden: Some(Direction::Long) };
        let c = tf_component(&cfg, &bn, 0.5, 0.5).unwrap_or_default();
        assert!((c.x - 0.56).abs() < 1e-12 && (c.c - 0.69).abs() < 1e-12);
        let bn = BnInput { golden: Some(Direction::Short), ..bn };
        let c = tf_component(&cfg, &bn, 0.5, 0.5).unwrap_or_default();
        assert!((c.c - 0.6).abs() < 1e-12, "no bonus against the direction");
        assert_eq!(tf_component(&cfg, &BnInput { score: f64::NAN, ..bn }, 0.5, 0.5), None);
        // volume confirmation: 3 bars of 100 then 300 → min(3, 2)/2 = 1; one bar → 0
        let mut r = BarRing::new(8);
        assert_eq!(volume_confirmation(&r, 20), None);
        r.push(Bar { volume: 100, ..Bar::default() });
        assert_eq!(volume_confirmation(&r, 20), Some(0.0));
        r.push(Bar { volume: 100, ..Bar::default() });
        r.push(Bar { volume: 50, ..Bar::default() });
        assert_eq!(volume_confirmation(&r, 20), Some(0.25));
        r.push(Bar { volume: 300, ..Bar::default() });
        assert_eq!(volume_confirmation(&r, 1), Some(1.0));
        let mut m = Mtf::new(&cfg);
        m.on_close(Timeframe::M1, &r, Some(bn), Some(0.5));
        m.on_close(Timeframe::M5, &r, Some(bn), None);
        assert!(m.components()[0].is_some() && m.components()[1].is_none());
    }

    #[test]
    fn config() {
        let c: MtfConfig = toml::from_str("weights_high = [0.6, 0.3, 0.1, 0.0]").unwrap_or_default();
        assert_eq!((c.weights_high[0], c.elite), (0.6, 0.75));
        assert_eq!(MtfConfig::default().validate(), Ok(()));
        let bad = MtfConfig { w_bn: 0.7, ..MtfConfig::default() };
        assert!(bad.validate().is_err_and(|e| e.starts_with("w_trend:")));
        let bad = MtfConfig { vol_bars: 0, ..MtfConfig::default() };
        assert!(bad.validate().is_err_and(|e| e.starts_with("vol_bars:")));
        assert!(toml::from_str::<MtfConfig>("nope = 1").is_err());
    }
}
