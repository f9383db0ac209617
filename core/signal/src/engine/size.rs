//! The position-size hint (SIGNALS.md §13, `[signal.size]`):
//! `clamp(base·m_conf·m_elite·g_size·m_regime·m_vol·m_phase, min_size, profile.max_size)`,
//! each factor applied exactly once (departure 19: the setup's tier `size_mult` is recorded,
//! never multiplied in). An upper bound for the risk manager, in contracts.

use super::confidence::Elite;
use crate::features::volatility::VolClass;

/// `[signal.size]`.
#[derive(Clone, Copy, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SizeConfig {
    /// Base size (contracts).
    pub base: f64,
    /// conf₂ steps of `m_conf`, decreasing.
    pub conf_steps: [f64; 3],
    /// `m_conf` at or above each step, and below the last.
    pub conf_mults: [f64; 4],
    /// MTF elite factor.
    pub mtf: f64,
    /// Institutional factor.
    pub inst: f64,
    /// SM/BN alignment factor.
    pub sm_bn: f64,
    /// `ml_conf > 0.85` factor.
    pub ml: f64,
    /// Cap of `m_elite`.
    pub max_elite: f64,
    /// `m_vol` when the F15 class is HIGH.
    pub high_vol: f64,
    /// Lower clamp (contracts).
    pub min_size: f64,
}

impl Default for SizeConfig {
    fn default() -> Self {
        Self {
            base: 1.0,
            conf_steps: [0.85, 0.75, 0.65],
            conf_mults: [1.5, 1.0, 0.75, 0.5],
            mtf: 1.25,
            inst: 1.20,
            sm_bn: 1.10,
            ml: 1.15,
            max_elite: 2.0,
            high_vol: 0.75,
            min_size: 0.5,
        }
    }
}

impl SizeConfig {
    /// Checks the section.
    ///
    /// # Errors
    /// A `key: reason` message for the first bad key.
    pub fn validate(&self) -> Result<(), String> {
        let pos = |k: &str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(format!("{k}: must be finite and > 0, got {v}"))
            }
        };
        pos("base", self.base)?;
        if self.conf_steps.iter().any(|s| !(s.is_finite() && (0.0..=1.0).contains(s)))
            || self.conf_steps.windows(2).any(|w| w[1] > w[0])
        {
            return Err("conf_steps: must be in [0, 1] and decreasing".into());
        }
        if let Some(i) = self.conf_mults.iter().position(|m| !(m.is_finite() && *m > 0.0)) {
            return Err(format!("conf_mults: element {i} must be finite and > 0"));
        }
        pos("mtf", self.mtf)?;
        pos("inst", self.inst)?;
        pos("sm_bn", self.sm_bn)?;
        pos("ml", self.ml)?;
        pos("max_elite", self.max_elite)?;
        pos("high_vol", self.high_vol)?;
        pos("min_size", self.min_size)
    }
}

/// The factors of one size hint, for the journal and tests.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SizeFactors {
    /// `m_conf`.
    pub m_conf: f64,
    /// `m_elite` (capped).
    pub m_elite: f64,
    /// `g_size` (with the 0DTE cap).
    pub g_size: f64,
    /// `m_regime`.
    pub m_regime: f64,
    /// `m_vol`.
    pub m_vol: f64,
    /// `m_phase`.
    pub m_phase: f64,
    /// The product before the clamp.
    pub raw: f64,
    /// The clamped hint.
    pub hint: f64,
}

/// `m_conf` of conf₂.
pub fn m_conf(cfg: &SizeConfig, conf2: f64) -> f64 {
    match cfg.conf_steps.iter().position(|s| conf2 >= *s) {
        Some(i) => cfg.conf_mults[i],
        None => cfg.conf_mults[3],
    }
}

/// `m_elite`: the product of the applicable elite factors (the §11 conditions), capped.
pub fn m_elite(cfg: &SizeConfig, e: &Elite) -> f64 {
    let mut p = 1.0;
    if e.mtf_elite {
        p *= cfg.mtf;
    }
    if e.institutional {
        p *= cfg.inst;
    }
    if e.sm_bn {
        p *= cfg.sm_bn;
    }
    if e.ml_high {
        p *= cfg.ml;
    }
    p.min(cfg.max_elite)
}

/// The size hint. `g_size` is [`crate::gamma_cycle::GammaCycleState::g_size`], `m_regime`
/// the regime's implication, `phase_mult` the F16 multiplier, `max_size` the profile's.
/// A non-finite product gives `min_size`.
#[allow(clippy::too_many_arguments)]
pub fn size_hint(
    cfg: &SizeConfig,
    conf2: f64,
    e: &Elite,
    g_size: f64,
    m_regime: f64,
    vol: VolClass,
    phase_mult: f64,
    max_size: f64,
) -> SizeFactors {
    let m_conf = m_conf(cfg, conf2);
    let m_elite = m_elite(cfg, e);
    let m_vol = if vol == VolClass::High { cfg.high_vol } else { 1.0 };
    let raw = cfg.base * m_conf * m_elite * g_size * m_regime * m_vol * phase_mult;
    let hi = max_size.max(cfg.min_size);
    let hint = if raw.is_finite() { raw.clamp(cfg.min_size, hi) } else { cfg.min_size };
    SizeFactors { m_conf, m_elite, g_size, m_regime, m_vol, m_phase: phase_mult, raw, hint }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn elite(mtf: bool, inst: bool, sm_bn: bool, ml_high: bool) -> Elite {
        Elite {
            dm: 0.0,
            inst: 0.5,
            mtf_elite: mtf,
            institutional: inst,
            sm_bn,
            ml_conf: None,
            ml_approved: ml_high,
            ml_high,
        }
    }

    #[test]
    fn t17_size() {
        // conf₂ 0.846783 (< 0.85 → 1.0), SM/BN 1.10, PEAK 1.2, STRONG_TREND 1.3, NORMAL vol,
        // Morning 1.2, paper max 2.0.
        let f = size_hint(
            &SizeConfig::default(),
            0.846783,
            &elite(false, false, true, false),
            1.2,
            1.3,
            VolClass::Normal,
            1.2,
            2.0,
        );
        assert_eq!(f.m_conf, 1.0);
        assert!((f.m_elite - 1.10).abs() < 1e-12);
        assert!((f.raw - 2.0592).abs() < 1e-9, "{}", f.raw);
        assert_eq!(f.hint, 2.0);
    }

    #[test]
    fn steps_caps_and_clamps() {
        let c = SizeConfig::default();
        assert_eq!(m_conf(&c, 0.85), 1.5);
        assert_eq!(m_conf(&c, 0.75), 1.0);
        assert_eq!(m_conf(&c, 0.70), 0.75);
        assert_eq!(m_conf(&c, 0.64), 0.5);
        // 1.25·1.2·1.1·1.15 = 1.8975; all four stay under the cap.
        assert!((m_elite(&c, &elite(true, true, true, true)) - 1.8975).abs() < 1e-12);
        let tight = SizeConfig { max_elite: 1.5, ..c };
        assert_eq!(m_elite(&tight, &elite(true, true, true, true)), 1.5);
        // HIGH volatility, lunch and a weak confidence clamp up to min_size.
        let f = size_hint(&c, 0.6, &elite(false, false, false, false), 0.8, 0.5, VolClass::High, 0.7, 3.0);
        assert!((f.raw - 0.5 * 0.8 * 0.5 * 0.75 * 0.7).abs() < 1e-12);
        assert_eq!(f.hint, 0.5);
        let f =
            size_hint(&c, 0.9, &elite(false, false, false, false), f64::NAN, 1.0, VolClass::Low, 1.0, 3.0);
        assert_eq!(f.hint, 0.5);
    }

    #[test]
    fn validate_names_key() {
        assert!(SizeConfig::default().validate().is_ok());
        let e = SizeConfig { conf_steps: [0.65, 0.75, 0.85], ..Default::default() }.validate().unwrap_err();
        assert!(e.starts_with("conf_steps:"), "{e}");
        let e = SizeConfig { min_size: 0.0, ..Default::default() }.validate().unwrap_err();
        assert!(e.starts_with("min_size:"), "{e}");
    }
}
