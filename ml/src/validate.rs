//! Model validation: AUC, log loss, Brier score, a calibration table, precision and recall at
//! the approval threshold, permutation feature importance, and the export floors.
//!
//! [`validate`] takes any `Fn(&[f64; N]) -> f64` model (a `FlatEnsemble`, a single flat model,
//! a closure) and a held-out set; [`check_floors`] refuses a report below the configured
//! [`Floors`] so that a weak model is never exported.

use crate::rng::SplitMix64;

/// Probabilities are clipped to `[EPS, 1 − EPS]` in the log loss.
pub const LOG_LOSS_EPS: f64 = 1e-15;

/// Validation parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ValidateConfig {
    /// Approval threshold: a row is "approved" (predicted positive) iff `p >= threshold`.
    pub threshold: f64,
    /// Seed of the permutation-importance shuffles (deterministic).
    pub seed: u64,
    /// Shuffles per feature in permutation importance (0 = skip importance).
    pub permutation_repeats: usize,
}

impl Default for ValidateConfig {
    fn default() -> Self {
        Self { threshold: 0.70, seed: 0x5EED, permutation_repeats: 3 }
    }
}

/// One row of the calibration table: predictions in `[lo, hi)` (the last bin includes 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CalibrationBin {
    /// Lower edge of the predicted-probability bin.
    pub lo: f64,
    /// Upper edge.
    pub hi: f64,
    /// Rows whose prediction falls in the bin.
    pub count: usize,
    /// Mean prediction of those rows (`None` if the bin is empty).
    pub mean_predicted: Option<f64>,
    /// Fraction of those rows that are positive (`None` if the bin is empty).
    pub observed: Option<f64>,
}

/// Permutation importance of one feature.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FeatureImportance {
    /// Feature index.
    pub feature: usize,
    /// Mean AUC lost when the feature's column is shuffled (`None` if AUC is undefined).
    pub auc_drop: Option<f64>,
    /// Mean log loss gained when the feature's column is shuffled.
    pub log_loss_increase: f64,
}

/// The result of [`validate`].
#[derive(Debug, Clone, PartialEq)]
pub struct ValidationReport {
    /// Rows validated.
    pub samples: usize,
    /// Positive rows.
    pub positives: usize,
    /// Area under the ROC curve (`None` if only one class is present).
    pub auc: Option<f64>,
    /// Mean log loss (natural log, probabilities clipped to [`LOG_LOSS_EPS`]).
    pub log_loss: f64,
    /// Mean squared error of the probabilities (Brier score).
    pub brier: f64,
    /// Ten equal-width bins `[0, 0.1), …, [0.9, 1]`: mean predicted vs observed rate.
    pub calibration: Vec<CalibrationBin>,
    /// The approval threshold the next two figures use.
    pub threshold: f64,
    /// Positives among approved rows (`None` if nothing is approved).
    pub precision: Option<f64>,
    /// Approved among positive rows (`None` if there is no positive).
    pub recall: Option<f64>,
    /// Permutation importance per feature (empty if `permutation_repeats == 0`).
    pub importance: Vec<FeatureImportance>,
}

/// Why validation could not run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ValidateError {
    /// No rows.
    #[error("the validation set is empty")]
    Empty,
    /// Rows and labels differ in count.
    #[error("{rows} feature rows but {labels} labels")]
    LengthMismatch {
        /// Rows.
        rows: usize,
        /// Labels.
        labels: usize,
    },
    /// The model returned something that is not a probability.
    #[error("prediction for row {row} is {value}, not a probability in [0, 1]")]
    BadPrediction {
        /// Row index.
        row: usize,
        /// The prediction.
        value: f64,
    },
    /// The threshold is not in (0, 1).
    #[error("threshold {0} is not in (0, 1)")]
    BadThreshold(f64),
}

/// Rank-based AUC (Mann–Whitney U), tied predictions sharing their average rank. `None` if
/// either class is absent or the lengths differ.
pub fn auc(p: &[f64], y: &[bool]) -> Option<f64> {
    if p.len() != y.len() {
        return None;
    }
    let pos = y.iter().filter(|&&l| l).count();
    let neg = y.len() - pos;
    if pos == 0 || neg == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..p.len()).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let mut rank_sum_pos = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i + 1;
        while j < order.len() && p[order[j]] == p[order[i]] {
            j += 1;
        }
        // Ranks i+1 ..= j share their mean.
        let mean_rank = (i + 1 + j) as f64 / 2.0;
        rank_sum_pos += mean_rank * order[i..j].iter().filter(|&&k| y[k]).count() as f64;
        i = j;
    }
    let u = rank_sum_pos - (pos * (pos + 1)) as f64 / 2.0;
    Some(u / (pos as f64 * neg as f64))
}

/// Mean log loss with probabilities clipped to `[LOG_LOSS_EPS, 1 − LOG_LOSS_EPS]` (NaN if empty).
pub fn log_loss(p: &[f64], y: &[bool]) -> f64 {
    let s: f64 = p
        .iter()
        .zip(y)
        .map(|(&q, &l)| {
            let q = q.clamp(LOG_LOSS_EPS, 1.0 - LOG_LOSS_EPS);
            if l {
                -q.ln()
            } else {
                -(1.0 - q).ln()
            }
        })
        .sum();
    s / p.len() as f64
}

/// Mean squared error of the probabilities against 0/1 labels (NaN if empty).
pub fn brier(p: &[f64], y: &[bool]) -> f64 {
    let s: f64 = p.iter().zip(y).map(|(&q, &l)| (q - f64::from(u8::from(l))).powi(2)).sum();
    s / p.len() as f64
}

/// The ten-bin calibration table (see [`ValidationReport::calibration`]).
pub fn calibration(p: &[f64], y: &[bool]) -> Vec<CalibrationBin> {
    let mut sum = [0.0f64; 10];
    let mut hits = [0usize; 10];
    let mut count = [0usize; 10];
    for (&q, &l) in p.iter().zip(y) {
        let b = ((q * 10.0).floor().max(0.0) as usize).min(9);
        sum[b] += q;
        count[b] += 1;
        hits[b] += usize::from(l);
    }
    (0..10)
        .map(|b| CalibrationBin {
            lo: b as f64 / 10.0,
            hi: (b + 1) as f64 / 10.0,
            count: count[b],
            mean_predicted: (count[b] > 0).then(|| sum[b] / count[b] as f64),
            observed: (count[b] > 0).then(|| hits[b] as f64 / count[b] as f64),
        })
        .collect()
}

/// Precision and recall of "approve iff `p >= threshold`".
pub fn precision_recall(p: &[f64], y: &[bool], threshold: f64) -> (Option<f64>, Option<f64>) {
    let (mut tp, mut fp, mut fneg) = (0usize, 0usize, 0usize);
    for (&q, &l) in p.iter().zip(y) {
        match (q >= threshold, l) {
            (true, true) => tp += 1,
            (true, false) => fp += 1,
            (false, true) => fneg += 1,
            (false, false) => {}
        }
    }
    let precision = (tp + fp > 0).then(|| tp as f64 / (tp + fp) as f64);
    let recall = (tp + fneg > 0).then(|| tp as f64 / (tp + fneg) as f64);
    (precision, recall)
}

fn predictions<const N: usize>(
    model: &impl Fn(&[f64; N]) -> f64,
    x: &[[f64; N]],
) -> Result<Vec<f64>, ValidateError> {
    x.iter()
        .enumerate()
        .map(|(row, r)| {
            let v = model(r);
            if (0.0..=1.0).contains(&v) {
                Ok(v)
            } else {
                Err(ValidateError::BadPrediction { row, value: v })
            }
        })
        .collect()
}

/// Validates `model` on rows `x` with labels `y` (a held-out set).
pub fn validate<const N: usize>(
    model: impl Fn(&[f64; N]) -> f64,
    x: &[[f64; N]],
    y: &[bool],
    cfg: &ValidateConfig,
) -> Result<ValidationReport, ValidateError> {
    if x.len() != y.len() {
        return Err(ValidateError::LengthMismatch { rows: x.len(), labels: y.len() });
    }
    if x.is_empty() {
        return Err(ValidateError::Empty);
    }
    if !(cfg.threshold > 0.0 && cfg.threshold < 1.0) {
        return Err(ValidateError::BadThreshold(cfg.threshold));
    }
    let p = predictions(&model, x)?;
    let base_auc = auc(&p, y);
    let base_ll = log_loss(&p, y);
    let (precision, recall) = precision_recall(&p, y, cfg.threshold);
    let mut importance = Vec::new();
    if cfg.permutation_repeats > 0 {
        let mut rng = SplitMix64::new(cfg.seed);
        let mut shuffled = x.to_vec();
        let mut column: Vec<f64> = Vec::with_capacity(x.len());
        for f in 0..N {
            let (mut auc_sum, mut ll_sum) = (0.0, 0.0);
            for _ in 0..cfg.permutation_repeats {
                column.clear();
                column.extend(x.iter().map(|r| r[f]));
                rng.shuffle(&mut column);
                for (r, &v) in shuffled.iter_mut().zip(&column) {
                    r[f] = v;
                }
                let q = predictions(&model, &shuffled)?;
                auc_sum += auc(&q, y).unwrap_or(f64::NAN);
                ll_sum += log_loss(&q, y);
            }
            for (r, orig) in shuffled.iter_mut().zip(x) {
                r[f] = orig[f];
            }
            let reps = cfg.permutation_repeats as f64;
            importance.push(FeatureImportance {
                feature: f,
                auc_drop: base_auc.map(|a| a - auc_sum / reps),
                log_loss_increase: ll_sum / reps - base_ll,
            });
        }
    }
    Ok(ValidationReport {
        samples: x.len(),
        positives: y.iter().filter(|&&l| l).count(),
        auc: base_auc,
        log_loss: base_ll,
        brier: brier(&p, y),
        calibration: calibration(&p, y),
        threshold: cfg.threshold,
        precision,
        recall,
        importance,
    })
}

/// Minimum quality for a model to be exported.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Floors {
    /// Minimum AUC (an undefined AUC fails).
    pub min_auc: f64,
    /// Maximum log loss.
    pub max_log_loss: f64,
    /// Minimum validation rows.
    pub min_samples: usize,
}

impl Default for Floors {
    /// AUC ≥ 0.55, log loss ≤ ln 2 (no worse than a coin), ≥ 500 rows.
    fn default() -> Self {
        Self { min_auc: 0.55, max_log_loss: std::f64::consts::LN_2, min_samples: 500 }
    }
}

/// `Ok` if `report` meets every floor, else one message per failed floor.
pub fn check_floors(report: &ValidationReport, floors: &Floors) -> Result<(), Vec<String>> {
    let mut failed = Vec::new();
    if report.samples < floors.min_samples {
        failed.push(format!("{} validation samples, need at least {}", report.samples, floors.min_samples));
    }
    match report.auc {
        Some(a) if a >= floors.min_auc => {}
        Some(a) => failed.push(format!("AUC {a:.4} is below the floor {}", floors.min_auc)),
        None => failed.push("AUC is undefined (the validation set has one class)".to_string()),
    }
    if report.log_loss.is_nan() || report.log_loss > floors.max_log_loss {
        failed.push(format!("log loss {:.4} is above the ceiling {}", report.log_loss, floors.max_log_loss));
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(failed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_of_perfect_inverted_tied_and_hand_computed_rankings() {
        let y = [false, false, true, true];
        assert_eq!(auc(&[0.1, 0.2, 0.8, 0.9], &y), Some(1.0));
        assert_eq!(auc(&[0.9, 0.8, 0.2, 0.1], &y), Some(0.0));
        assert_eq!(auc(&[0.5; 4], &y), Some(0.5));
        // Pairs (pos, neg): (0.8 vs 0.1, 0.8 vs 0.8 tie, 0.3 vs 0.1, 0.3 vs 0.8) = 1 + ½ + 1 + 0.
        assert_eq!(auc(&[0.1, 0.8, 0.8, 0.3], &y), Some(2.5 / 4.0));
        assert_eq!(auc(&[0.1, 0.2], &[true, true]), None);
        assert_eq!(auc(&[0.1], &[true, false]), None);
    }

    #[test]
    fn log_loss_brier_and_calibration_of_known_probabilities() {
        let ll = log_loss(&[0.8, 0.4], &[true, false]);
        assert!((ll - (-(0.8f64.ln()) - 0.6f64.ln()) / 2.0).abs() < 1e-15);
        assert!((log_loss(&[0.5; 3], &[true, false, true]) - std::f64::consts::LN_2).abs() < 1e-15);
        // Clipped, not infinite.
        assert!((log_loss(&[0.0], &[true]) + LOG_LOSS_EPS.ln()).abs() < 1e-9);
        assert!((brier(&[0.8, 0.4], &[true, false]) - (0.04 + 0.16) / 2.0).abs() < 1e-15);
        let c = calibration(&[0.05, 0.15, 0.15, 0.95, 1.0], &[false, true, false, true, true]);
        assert_eq!(c.len(), 10);
        assert_eq!((c[0].count, c[1].count, c[9].count, c[5].count), (1, 2, 2, 0));
        assert_eq!(c[1].observed, Some(0.5));
        assert!((c[1].mean_predicted.unwrap() - 0.15).abs() < 1e-15);
        assert_eq!(c[9].mean_predicted, Some(0.975));
        assert_eq!(c[5].mean_predicted, None);
    }

    #[test]
    fn precision_recall_at_the_threshold() {
        let p = [0.9, 0.7, 0.69, 0.2, 0.75];
        let y = [true, false, true, false, true];
        // Approved: 0.9 (TP), 0.7 (FP), 0.75 (TP); missed positive 0.69.
        assert_eq!(precision_recall(&p, &y, 0.7), (Some(2.0 / 3.0), Some(2.0 / 3.0)));
        assert_eq!(precision_recall(&[0.1], &[true], 0.7), (None, Some(0.0)));
    }

    #[test]
    fn validate_reports_and_importance_finds_the_informative_feature() {
        let mut rng = SplitMix64::new(4);
        let x: Vec<[f64; 3]> = (0..2000).map(|_| [rng.next_f64(), rng.next_f64(), rng.next_f64()]).collect();
        let y: Vec<bool> = x.iter().map(|r| r[1] > 0.5).collect();
        let model = |r: &[f64; 3]| 0.05 + 0.9 * r[1];
        let cfg = ValidateConfig::default();
        let rep = validate(model, &x, &y, &cfg).unwrap();
        assert_eq!(rep.auc, Some(1.0));
        assert_eq!(rep.samples, 2000);
        assert!(rep.importance[1].auc_drop.unwrap() > 0.3);
        assert_eq!(rep.importance[0].auc_drop, Some(0.0));
        assert!(rep.importance[2].log_loss_increase.abs() < 1e-12);
        assert!(rep.importance[1].log_loss_increase > 0.1);
        assert_eq!(validate(model, &x, &y, &cfg).unwrap(), rep, "deterministic");
        assert!(check_floors(&rep, &Floors::default()).is_ok());

        let bad = validate(|_: &[f64; 3]| 1.5, &x, &y, &cfg).unwrap_err();
        assert_eq!(bad, ValidateError::BadPrediction { row: 0, value: 1.5 });
        assert_eq!(validate(model, &x[..0], &y[..0], &cfg).unwrap_err(), ValidateError::Empty);
        assert!(matches!(validate(model, &x, &y[..3], &cfg), Err(ValidateError::LengthMismatch { .. })));
    }

    #[test]
    fn floors_refuse_a_weak_model_listing_every_reason() {
        let y: Vec<bool> = (0..100).map(|i| i % 2 == 0).collect();
        let x: Vec<[f64; 1]> = (0..100).map(|i| [i as f64]).collect();
        // Confidently wrong.
        let rep = validate(
            |r: &[f64; 1]| if (r[0] as usize).is_multiple_of(2) { 0.1 } else { 0.9 },
            &x,
            &y,
            &ValidateConfig::default(),
        )
        .unwrap();
        let errs = check_floors(&rep, &Floors::default()).unwrap_err();
        assert_eq!(errs.len(), 3, "{errs:?}");
        assert!(errs[0].contains("100 validation samples"));
        assert!(errs[1].contains("AUC 0.0000"));
        assert!(errs[2].contains("log loss"));
        let one_class = validate(|_: &[f64; 1]| 0.5, &x, &[true; 100], &ValidateConfig::default()).unwrap();
        let errs =
            check_floors(&one_class, &Floors { min_samples: 10, max_log_loss: 1.0, ..Default::default() })
                .unwrap_err();
        assert_eq!(errs, vec!["AUC is undefined (the validation set has one class)".to_string()]);
    }
}
