//! Platt scaling: a monotone map from a model's probability to a calibrated one,
//! `p' = sigmoid(a · logit(p) + b)`, fitted on out-of-fold predictions (never on the rows the
//! model was fitted on) and stored in the ensemble file.
//!
//! Fitting ([`fit_platt`]) minimises the log loss of `sigmoid(a·z + b)` over `z = logit(p)`
//! against Platt's smoothed targets (`(N₊ + 1)/(N₊ + 2)` for a positive,
//! `1/(N₋ + 2)` for a negative: the fit cannot run to 0 or 1 on a small set), by Newton's
//! method with step halving — two parameters, deterministic, no dependency.
//! [`Platt::apply`] is allocation-free (one `ln`, one `exp`).

use serde::{Deserialize, Serialize};

use crate::flat::sigmoid;

/// Probabilities are clipped to `[P_EPS, 1 − P_EPS]` before the logit (finite `z`).
pub const P_EPS: f64 = 1e-12;

/// A fitted Platt scaling `p' = sigmoid(a · logit(p) + b)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Platt {
    /// Slope on the logit (> 0: the map keeps the model's ranking).
    pub a: f64,
    /// Intercept.
    pub b: f64,
}

/// Why a Platt scaling could not be fitted or is invalid.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CalibrationError {
    /// No rows, or rows and labels differ in count.
    #[error("{rows} predictions and {labels} labels: need as many, at least one")]
    Rows {
        /// Predictions.
        rows: usize,
        /// Labels.
        labels: usize,
    },
    /// A prediction is NaN.
    #[error("prediction {0} is NaN")]
    NaN(usize),
    /// All labels are one class.
    #[error("all labels are one class")]
    OneClass,
    /// The slope is not > 0 or a number is not finite: the scores do not rank the label.
    #[error("slope {a}, intercept {b}: the slope must be finite and > 0 (the scores must rank the label)")]
    Slope {
        /// Slope.
        a: f64,
        /// Intercept.
        b: f64,
    },
}

/// `ln(p / (1 − p))` with `p` clipped to `[P_EPS, 1 − P_EPS]`.
#[inline]
pub fn logit(p: f64) -> f64 {
    let p = p.clamp(P_EPS, 1.0 - P_EPS);
    (p / (1.0 - p)).ln()
}

impl Platt {
    /// The identity map (`a = 1`, `b = 0`).
    pub const IDENTITY: Platt = Platt { a: 1.0, b: 0.0 };

    /// A checked scaling: `a` finite and > 0, `b` finite.
    pub fn new(a: f64, b: f64) -> Result<Self, CalibrationError> {
        if a.is_finite() && a > 0.0 && b.is_finite() {
            Ok(Self { a, b })
        } else {
            Err(CalibrationError::Slope { a, b })
        }
    }

    /// The calibrated probability of a model probability `p` (NaN stays NaN). Allocates
    /// nothing.
    #[inline]
    pub fn apply(&self, p: f64) -> f64 {
        if p.is_nan() {
            return p;
        }
        sigmoid(self.a * logit(p) + self.b)
    }
}

/// Fits a Platt scaling of predictions `p` to labels `y`.
///
/// # Errors
/// Empty or mismatched input, a NaN prediction, one class, or a fit whose slope is not > 0
/// (the predictions do not rank the label: calibrating would invert them).
pub fn fit_platt(p: &[f64], y: &[bool]) -> Result<Platt, CalibrationError> {
    if p.is_empty() || p.len() != y.len() {
        return Err(CalibrationError::Rows { rows: p.len(), labels: y.len() });
    }
    if let Some(i) = p.iter().position(|v| v.is_nan()) {
        return Err(CalibrationError::NaN(i));
    }
    let pos = y.iter().filter(|&&l| l).count();
    let neg = y.len() - pos;
    if pos == 0 || neg == 0 {
        return Err(CalibrationError::OneClass);
    }
    let t_pos = (pos as f64 + 1.0) / (pos as f64 + 2.0);
    let t_neg = 1.0 / (neg as f64 + 2.0);
    let z: Vec<f64> = p.iter().map(|&v| logit(v)).collect();
    let t: Vec<f64> = y.iter().map(|&l| if l { t_pos } else { t_neg }).collect();
    // Cross-entropy against the soft targets (stable form: softplus(s) − t·s).
    let loss = |a: f64, b: f64| -> f64 {
        z.iter()
            .zip(&t)
            .map(|(&zi, &ti)| {
                let s = a * zi + b;
                s.max(0.0) + (-s.abs()).exp().ln_1p() - ti * s
            })
            .sum()
    };
    let (mut a, mut b) = (1.0, 0.0);
    let mut f = loss(a, b);
    for _ in 0..100 {
        let (mut ga, mut gb, mut haa, mut hab, mut hbb) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for (&zi, &ti) in z.iter().zip(&t) {
            let q = sigmoid(a * zi + b);
            let d = q - ti;
            let w = (q * (1.0 - q)).max(1e-12);
            ga += d * zi;
            gb += d;
            haa += w * zi * zi;
            hab += w * zi;
            hbb += w;
        }
        // A tiny ridge keeps the 2×2 Hessian invertible when every z is the same.
        let (haa, hbb) = (haa + 1e-9, hbb + 1e-9);
        let det = haa * hbb - hab * hab;
        if !(det.is_finite() && det > 0.0) {
            break;
        }
        let da = (hbb * ga - hab * gb) / det;
        let db = (haa * gb - hab * ga) / det;
        let mut step = 1.0;
        let mut improved = false;
        while step > 1e-10 {
            let (na, nb) = (a - step * da, b - step * db);
            let nf = loss(na, nb);
            if nf.is_finite() && nf <= f {
                improved = nf < f;
                (a, b, f) = (na, nb, nf);
                break;
            }
            step *= 0.5;
        }
        if !improved || (da.abs() + db.abs()) * step < 1e-12 {
            break;
        }
    }
    Platt::new(a, b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;
    use crate::validate::log_loss;

    /// True probabilities `q`, labels drawn from them, and a miscalibrated model
    /// `p = sigmoid((logit(q) − 0.8) / 2)` (too timid and biased low).
    fn data(seed: u64, n: usize) -> (Vec<f64>, Vec<f64>, Vec<bool>) {
        let mut rng = SplitMix64::new(seed);
        let (mut q, mut p, mut y) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..n {
            let z = rng.next_f64() * 6.0 - 3.0;
            let qi = sigmoid(z);
            q.push(qi);
            p.push(sigmoid((z - 0.8) / 2.0));
            y.push(rng.next_f64() < qi);
        }
        (q, p, y)
    }

    #[test]
    fn recovers_a_known_miscalibration_and_lowers_the_log_loss() {
        let (q, p, y) = data(5, 20_000);
        let c = fit_platt(&p, &y).unwrap();
        // logit(q) = 2·logit(p) + 0.8
        assert!((c.a - 2.0).abs() < 0.1 && (c.b - 0.8).abs() < 0.1, "{c:?}");
        let cal: Vec<f64> = p.iter().map(|&v| c.apply(v)).collect();
        let (raw, fixed, truth) = (log_loss(&p, &y), log_loss(&cal, &y), log_loss(&q, &y));
        assert!(fixed < raw - 0.01, "calibrated {fixed} raw {raw}");
        assert!(fixed < truth + 0.005, "calibrated {fixed} vs the true probabilities {truth}");
        // Monotone: the ranking (hence the AUC) is kept.
        assert!(c.apply(0.2) < c.apply(0.3) && c.apply(0.7) < c.apply(0.71));
        assert!(c.apply(f64::NAN).is_nan());
        assert_eq!(Platt::IDENTITY.apply(0.3), sigmoid(logit(0.3)));
        assert!((Platt::IDENTITY.apply(0.3) - 0.3).abs() < 1e-15);
    }

    #[test]
    fn a_calibrated_model_is_left_nearly_alone_and_fits_are_deterministic() {
        let (q, _, y) = data(8, 20_000);
        let c = fit_platt(&q, &y).unwrap();
        assert!((c.a - 1.0).abs() < 0.06 && c.b.abs() < 0.06, "{c:?}");
        assert_eq!(fit_platt(&q, &y).unwrap(), c);
    }

    #[test]
    fn bad_inputs_are_errors() {
        assert!(matches!(fit_platt(&[], &[]), Err(CalibrationError::Rows { .. })));
        assert!(matches!(fit_platt(&[0.5], &[true, false]), Err(CalibrationError::Rows { .. })));
        assert_eq!(fit_platt(&[0.2, f64::NAN], &[true, false]), Err(CalibrationError::NaN(1)));
        assert_eq!(fit_platt(&[0.2, 0.4], &[true, true]), Err(CalibrationError::OneClass));
        // Scores that rank the label backwards: the slope would be negative.
        let p: Vec<f64> = (0..200).map(|i| f64::from(i) / 200.0).collect();
        let y: Vec<bool> = (0..200).map(|i| i < 100).collect();
        assert!(matches!(fit_platt(&p, &y), Err(CalibrationError::Slope { .. })));
        assert!(Platt::new(0.0, 0.0).is_err() && Platt::new(1.0, f64::INFINITY).is_err());
    }
}
