//! Training the logistic signal filter (off the hot path) and exporting it to [`FlatLogistic`].
//!
//! Features are standardised with the training data's mean and (population) standard
//! deviation, then `smartcore`'s `LogisticRegression` (L-BFGS, L2 penalty `alpha` on the
//! weights, intercept unpenalised) is fitted to the standardised data. The fit is
//! deterministic: same data, same model, bit for bit.

use smartcore::linalg::basic::arrays::{Array, Array2};
use smartcore::linalg::basic::matrix::DenseMatrix;
use smartcore::linear::logistic_regression::{LogisticRegression, LogisticRegressionParameters};
use smartcore::numbers::realnum::RealNumber;

use crate::flat::{FlatLogistic, ModelFormatError};

/// A standard deviation at or below this fraction of `max(1, |mean|)` marks a feature as
/// constant: it gets `inv_std = 0` and is ignored by the model.
const CONSTANT_REL_STD: f64 = 1e-12;

/// Training parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainConfig {
    /// L2 penalty `alpha` in `Σ loss_i + ½·alpha·‖w‖²` (smartcore's convention: the loss is
    /// summed, not averaged, over rows; the intercept is not penalised). Must be finite and
    /// ≥ 0; keep it > 0 so that separable data has a finite solution.
    pub alpha: f64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self { alpha: 1.0 }
    }
}

/// Why training failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TrainError {
    /// No rows.
    #[error("the training set is empty")]
    Empty,
    /// Feature rows and labels differ in count.
    #[error("{rows} feature rows but {labels} labels")]
    LengthMismatch {
        /// Feature rows.
        rows: usize,
        /// Labels.
        labels: usize,
    },
    /// A feature value is NaN or infinite.
    #[error("feature {col} of row {row} is {value}, not a finite number")]
    NonFinite {
        /// Row index.
        row: usize,
        /// Feature index.
        col: usize,
        /// The value.
        value: f64,
    },
    /// All labels are the same class.
    #[error("all {rows} labels are {label}: need both classes to train")]
    OneClass {
        /// Rows.
        rows: usize,
        /// The single label.
        label: bool,
    },
    /// The penalty is negative or non-finite.
    #[error("alpha {0} must be finite and >= 0")]
    BadAlpha(f64),
    /// The model has no features (`N == 0`).
    #[error("the model needs at least one feature")]
    NoFeatures,
    /// A training parameter is out of range.
    #[error("bad parameter: {0}")]
    BadParameter(String),
    /// The fitted model could not be exported to its flat form.
    #[error("export failed: {0}")]
    Export(String),
    /// smartcore failed (fitting or predicting).
    #[error("smartcore: {0}")]
    Smartcore(String),
    /// The fitted numbers are unusable (e.g. the fit diverged to NaN).
    #[error("fitted model is invalid: {0}")]
    BadModel(#[from] ModelFormatError),
}

/// Per-feature standardisation `z = (x − mean) · inv_std`, fitted on training data.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Standardizer<const N: usize> {
    /// Per-feature mean.
    pub mean: [f64; N],
    /// Per-feature `1 / std` (population std), 0 for a constant feature.
    pub inv_std: [f64; N],
}

impl<const N: usize> Standardizer<N> {
    /// Mean and population standard deviation of each feature over `x` (two-pass, so the
    /// variance does not suffer from cancellation). `x` must be non-empty and finite.
    pub fn fit(x: &[[f64; N]]) -> Result<Self, TrainError> {
        if x.is_empty() {
            return Err(TrainError::Empty);
        }
        check_rows(x)?;
        let n = x.len() as f64;
        let mut mean = [0.0; N];
        for row in x {
            for (m, v) in mean.iter_mut().zip(row) {
                *m += v;
            }
        }
        mean.iter_mut().for_each(|m| *m /= n);
        let mut var = [0.0; N];
        for row in x {
            for ((s, v), m) in var.iter_mut().zip(row).zip(&mean) {
                *s += (v - m) * (v - m);
            }
        }
        let mut inv_std = [0.0; N];
        for ((inv, s), m) in inv_std.iter_mut().zip(&var).zip(&mean) {
            let std = (s / n).sqrt();
            *inv = if std.is_finite() && std > CONSTANT_REL_STD * m.abs().max(1.0) { 1.0 / std } else { 0.0 };
        }
        Ok(Self { mean, inv_std })
    }

    /// The standardised form of `x`.
    #[inline]
    pub fn apply(&self, x: &[f64; N]) -> [f64; N] {
        let mut z = [0.0; N];
        for i in 0..N {
            z[i] = (x[i] - self.mean[i]) * self.inv_std[i];
        }
        z
    }
}

/// Checks a training set: `N > 0`, rows and labels of equal, non-zero count, every feature
/// finite, both classes present.
pub(crate) fn check_training_set<const N: usize>(x: &[[f64; N]], y: &[bool]) -> Result<(), TrainError> {
    if N == 0 {
        return Err(TrainError::NoFeatures);
    }
    if x.len() != y.len() {
        return Err(TrainError::LengthMismatch { rows: x.len(), labels: y.len() });
    }
    if x.is_empty() {
        return Err(TrainError::Empty);
    }
    check_rows(x)?;
    if let Some(&label) = y.first() {
        if y.iter().all(|&l| l == label) {
            return Err(TrainError::OneClass { rows: y.len(), label });
        }
    }
    Ok(())
}

pub(crate) fn check_rows<const N: usize>(x: &[[f64; N]]) -> Result<(), TrainError> {
    for (row, r) in x.iter().enumerate() {
        if let Some(col) = r.iter().position(|v| !v.is_finite()) {
            return Err(TrainError::NonFinite { row, col, value: r[col] });
        }
    }
    Ok(())
}

type Lr = LogisticRegression<f64, i32, DenseMatrix<f64>, Vec<i32>>;

/// A fitted logistic model: the smartcore model plus the standardisation it was fitted on.
///
/// [`TrainedLogistic::predict_proba`] evaluates the smartcore model itself (its coefficient
/// matrix, through smartcore's matrix product and sigmoid); [`TrainedLogistic::to_flat`] is
/// the hot-path export, which must agree with it.
#[derive(Debug)]
pub struct TrainedLogistic<const N: usize> {
    model: Lr,
    standardizer: Standardizer<N>,
    rows: usize,
}

/// Fits a logistic model to rows `x` with labels `y` (`true` = positive class).
///
/// Fails (never panics) on empty or mismatched input, non-finite features, a single class,
/// a bad `alpha`, or a fit that produces non-finite numbers.
pub fn train_logistic<const N: usize>(
    x: &[[f64; N]],
    y: &[bool],
    config: &TrainConfig,
) -> Result<TrainedLogistic<N>, TrainError> {
    if N == 0 {
        return Err(TrainError::NoFeatures);
    }
    if x.len() != y.len() {
        return Err(TrainError::LengthMismatch { rows: x.len(), labels: y.len() });
    }
    if !(config.alpha.is_finite() && config.alpha >= 0.0) {
        return Err(TrainError::BadAlpha(config.alpha));
    }
    let standardizer = Standardizer::fit(x)?;
    if let Some(&label) = y.first() {
        if y.iter().all(|&l| l == label) {
            return Err(TrainError::OneClass { rows: y.len(), label });
        }
    }
    let matrix = standardized_matrix(&standardizer, x)?;
    let labels: Vec<i32> = y.iter().map(|&l| i32::from(l)).collect();
    let params = LogisticRegressionParameters::default().with_alpha(config.alpha);
    let model = Lr::fit(&matrix, &labels, params).map_err(|e| TrainError::Smartcore(e.to_string()))?;
    let trained = TrainedLogistic { model, standardizer, rows: x.len() };
    trained.to_flat()?; // reject a diverged fit now rather than at export
    Ok(trained)
}

fn standardized_matrix<const N: usize>(
    s: &Standardizer<N>,
    x: &[[f64; N]],
) -> Result<DenseMatrix<f64>, TrainError> {
    let values: Vec<f64> = x.iter().flat_map(|r| s.apply(r)).collect();
    DenseMatrix::new(x.len(), N, values, false).map_err(|e| TrainError::Smartcore(e.to_string()))
}

impl<const N: usize> TrainedLogistic<N> {
    /// The standardisation fitted on the training data.
    pub fn standardizer(&self) -> &Standardizer<N> {
        &self.standardizer
    }

    /// Number of training rows.
    pub fn train_rows(&self) -> usize {
        self.rows
    }

    /// The weights (over standardised features) and the intercept, as fitted by smartcore.
    pub fn coefficients(&self) -> ([f64; N], f64) {
        let mut w = [0.0; N];
        for (j, wj) in w.iter_mut().enumerate() {
            *wj = *self.model.coefficients().get((0, j));
        }
        (w, *self.model.intercept().get((0, 0)))
    }

    /// The hot-path model; fails only if the fit produced non-finite numbers.
    pub fn to_flat(&self) -> Result<FlatLogistic<N>, ModelFormatError> {
        let (w, b) = self.coefficients();
        FlatLogistic::new(w, b, self.standardizer.mean, self.standardizer.inv_std)
    }

    /// Positive-class probabilities from the smartcore model (reference path, allocates).
    pub fn predict_proba(&self, x: &[[f64; N]]) -> Result<Vec<f64>, TrainError> {
        if x.is_empty() {
            return Ok(Vec::new());
        }
        check_rows(x)?;
        let m = standardized_matrix(&self.standardizer, x)?;
        let scores = m.ab(false, self.model.coefficients(), true);
        let b = *self.model.intercept().get((0, 0));
        Ok((0..x.len()).map(|i| RealNumber::sigmoid(*scores.get((i, 0)) + b)).collect())
    }

    /// Class labels from smartcore's own `predict` (probability > ½).
    pub fn predict_labels(&self, x: &[[f64; N]]) -> Result<Vec<bool>, TrainError> {
        if x.is_empty() {
            return Ok(Vec::new());
        }
        check_rows(x)?;
        let m = standardized_matrix(&self.standardizer, x)?;
        let y = self.model.predict(&m).map_err(|e| TrainError::Smartcore(e.to_string()))?;
        Ok(y.into_iter().map(|c| c == 1).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mia_model::rng::SplitMix64;

    /// Approximately standard normal (Irwin–Hall, 12 uniforms).
    fn normal(rng: &mut SplitMix64) -> f64 {
        (0..12).map(|_| rng.next_f64()).sum::<f64>() - 6.0
    }

    /// Linearly separable data (up to `flip` label noise) with features on very different
    /// scales and offsets, so standardisation matters.
    fn synthetic<const N: usize>(seed: u64, n: usize, flip: f64) -> (Vec<[f64; N]>, Vec<bool>) {
        let mut rng = SplitMix64::new(seed);
        let scale: [f64; N] = std::array::from_fn(|i| 10f64.powi(i as i32 % 5 - 2));
        let offset: [f64; N] = std::array::from_fn(|i| 4500.0 * (i % 2) as f64 - 3.0 * i as f64);
        let truth: [f64; N] = std::array::from_fn(|i| if i % 3 == 2 { 0.0 } else { 1.0 - 0.35 * i as f64 });
        let mut x = Vec::with_capacity(n);
        let mut y = Vec::with_capacity(n);
        for _ in 0..n {
            let z: [f64; N] = std::array::from_fn(|_| normal(&mut rng));
            let score: f64 = z.iter().zip(&truth).map(|(a, b)| a * b).sum::<f64>() + 0.3;
            let label = (score > 0.0) != (rng.next_f64() < flip);
            x.push(std::array::from_fn(|i| offset[i] + scale[i] * z[i]));
            y.push(label);
        }
        (x, y)
    }

    fn accuracy<const N: usize>(m: &FlatLogistic<N>, x: &[[f64; N]], y: &[bool]) -> f64 {
        let hits = x.iter().zip(y).filter(|(r, &l)| (m.predict(r) > 0.5) == l).count();
        hits as f64 / x.len() as f64
    }

    #[test]
    fn learns_a_separable_problem_and_flat_matches_smartcore() {
        let (x, y) = synthetic::<8>(7, 3000, 0.0);
        let (train_x, test_x) = x.split_at(2000);
        let (train_y, test_y) = y.split_at(2000);
        let trained = train_logistic(train_x, train_y, &TrainConfig::default()).unwrap();
        assert_eq!(trained.train_rows(), 2000);
        let flat = trained.to_flat().unwrap();

        let acc = accuracy(&flat, test_x, test_y);
        assert!(acc > 0.9, "held-out accuracy {acc}");

        let reference = trained.predict_proba(test_x).unwrap();
        let labels = trained.predict_labels(test_x).unwrap();
        for ((row, p), l) in test_x.iter().zip(&reference).zip(&labels) {
            let q = flat.predict(row);
            assert!((p - q).abs() <= 1e-9, "{row:?}: smartcore {p} flat {q}");
            if (q - 0.5).abs() > 1e-9 {
                assert_eq!(q > 0.5, *l, "label disagrees at {row:?}");
            }
        }
        // Feature 2 carries no signal in the generator; the model should mostly ignore it.
        let (w, _) = trained.coefficients();
        assert!(w[2].abs() < 0.2 * w[0].abs(), "{w:?}");
    }

    #[test]
    fn noisy_problem_with_18_features_is_still_learned() {
        let (x, y) = synthetic::<18>(11, 4000, 0.05);
        let trained = train_logistic(&x[..3000], &y[..3000], &TrainConfig { alpha: 0.5 }).unwrap();
        let flat = trained.to_flat().unwrap();
        let acc = accuracy(&flat, &x[3000..], &y[3000..]);
        assert!(acc > 0.85, "held-out accuracy {acc}");
        let reference = trained.predict_proba(&x[3000..]).unwrap();
        for (row, p) in x[3000..].iter().zip(reference) {
            assert!((p - flat.predict(row)).abs() <= 1e-9);
        }
    }

    #[test]
    fn trained_model_round_trips_through_a_file_exactly() {
        let (x, y) = synthetic::<4>(9, 600, 0.1);
        let flat = train_logistic(&x, &y, &TrainConfig::default()).unwrap().to_flat().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lr.json");
        let names = ["a", "b", "c", "d"];
        crate::FlatModelFile::from_logistic(&flat, names).save(&path).unwrap();
        assert_eq!(crate::FlatModelFile::load_logistic::<4>(&path, names).unwrap(), flat);
    }

    #[test]
    fn training_is_deterministic() {
        let (x, y) = synthetic::<4>(3, 500, 0.1);
        let a = train_logistic(&x, &y, &TrainConfig::default()).unwrap().to_flat().unwrap();
        let b = train_logistic(&x, &y, &TrainConfig::default()).unwrap().to_flat().unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn standardizer_mean_std_and_constant_feature() {
        let x = [[1.0, 4500.0, 7.0], [3.0, 4500.0, 7.0], [5.0, 4500.0, 7.0], [7.0, 4500.0, 7.0]];
        let s = Standardizer::fit(&x).unwrap();
        assert_eq!(s.mean, [4.0, 4500.0, 7.0]);
        // population std of 1,3,5,7 = sqrt(5)
        assert!((s.inv_std[0] - 1.0 / 5f64.sqrt()).abs() < 1e-15);
        assert_eq!(&s.inv_std[1..], &[0.0, 0.0]);
        assert_eq!(s.apply(&[6.0, 1.0, 2.0]), [2.0 / 5f64.sqrt(), 0.0, 0.0]);
    }

    #[test]
    fn constant_feature_is_ignored_by_the_trained_model() {
        let (mut x, y) = synthetic::<3>(5, 400, 0.0);
        x.iter_mut().for_each(|r| r[1] = 42.0);
        let flat = train_logistic(&x, &y, &TrainConfig::default()).unwrap().to_flat().unwrap();
        assert_eq!(flat.inv_std()[1], 0.0);
        let a = flat.predict(&[x[0][0], 42.0, x[0][2]]);
        let b = flat.predict(&[x[0][0], -1e6, x[0][2]]);
        assert_eq!(a, b);
    }

    #[test]
    fn bad_inputs_are_errors() {
        let cfg = TrainConfig::default();
        assert_eq!(train_logistic::<2>(&[], &[], &cfg).unwrap_err(), TrainError::Empty);
        let x = [[0.0, 1.0], [1.0, 0.0], [2.0, 2.0]];
        assert_eq!(
            train_logistic(&x, &[true, false], &cfg).unwrap_err(),
            TrainError::LengthMismatch { rows: 3, labels: 2 }
        );
        assert_eq!(
            train_logistic(&x, &[true, true, true], &cfg).unwrap_err(),
            TrainError::OneClass { rows: 3, label: true }
        );
        let bad = [[0.0, 1.0], [f64::NAN, 0.0]];
        assert!(matches!(
            train_logistic(&bad, &[true, false], &cfg).unwrap_err(),
            TrainError::NonFinite { row: 1, col: 0, .. }
        ));
        assert_eq!(
            train_logistic(&x, &[true, false, true], &TrainConfig { alpha: -1.0 }).unwrap_err(),
            TrainError::BadAlpha(-1.0)
        );
        assert_eq!(train_logistic::<0>(&[[]], &[true], &cfg).unwrap_err(), TrainError::NoFeatures);
        let trained = train_logistic(&x, &[true, false, true], &cfg).unwrap();
        assert!(matches!(trained.predict_proba(&bad).unwrap_err(), TrainError::NonFinite { .. }));
        assert_eq!(trained.predict_proba(&[]).unwrap(), Vec::<f64>::new());
    }
}
