//! The flat logistic signal filter for the hot path, and its JSON file format.
//!
//! [`FlatLogistic`] is a logistic-regression model reduced to plain arrays: per-feature
//! standardisation (`mean`, `inv_std`), weights over the standardised features and a bias.
//! [`FlatLogistic::predict`] is allocation-free, fixed-size (`N` is a const generic, so the
//! loops unroll) and branch-free apart from the sign split of the numerically stable sigmoid
//! (a two-way select between already computed values).
//!
//! [`FlatModelFile`] is the on-disk form (serde JSON, see `docs/ml.md`): a kind tag, a format
//! version, the feature names in input order, and the numbers. Loading validates everything
//! and reports the file and the reason; nothing read from disk can panic.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The `kind` tag of a flat logistic model file.
pub const LOGISTIC_KIND: &str = "logistic";

/// The current (and only) version of the flat model file format.
pub const FORMAT_VERSION: u32 = 1;

/// Number of independent accumulators in the dot product: lets the compiler use SIMD and
/// breaks the add-latency chain while keeping a fixed, deterministic summation order.
const LANES: usize = 4;

/// A logistic-regression model flattened for hot-path inference over `N` features.
///
/// `p(x) = sigmoid(bias + Σ weights[i] · (x[i] − mean[i]) · inv_std[i])`.
///
/// Standardisation is applied, not folded into the weights: folding would subtract two large
/// numbers (`w·x/σ` and `w·μ/σ`) for features with a large mean and a small spread (prices),
/// losing digits; applying it costs `N` subtractions that vectorise.
///
/// Every number is finite and every `inv_std` is ≥ 0 (checked by [`FlatLogistic::new`]); a
/// feature with `inv_std == 0` is ignored (it was constant in the training data).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FlatLogistic<const N: usize> {
    weights: [f64; N],
    bias: f64,
    mean: [f64; N],
    inv_std: [f64; N],
}

impl<const N: usize> FlatLogistic<N> {
    /// A model from its numbers; fails if any number is non-finite or an `inv_std` is negative.
    pub fn new(
        weights: [f64; N],
        bias: f64,
        mean: [f64; N],
        inv_std: [f64; N],
    ) -> Result<Self, ModelFormatError> {
        check_finite("weights", &weights)?;
        check_finite("bias", &[bias])?;
        check_finite("mean", &mean)?;
        check_finite("inv_std", &inv_std)?;
        if let Some(index) = inv_std.iter().position(|&s| s < 0.0) {
            return Err(ModelFormatError::NegativeInvStd { index, value: inv_std[index] });
        }
        Ok(Self { weights, bias, mean, inv_std })
    }

    /// The weights over the standardised features.
    pub fn weights(&self) -> &[f64; N] {
        &self.weights
    }

    /// The bias (intercept).
    pub fn bias(&self) -> f64 {
        self.bias
    }

    /// The per-feature means subtracted before weighting.
    pub fn mean(&self) -> &[f64; N] {
        &self.mean
    }

    /// The per-feature reciprocal standard deviations (0 for an ignored constant feature).
    pub fn inv_std(&self) -> &[f64; N] {
        &self.inv_std
    }

    /// The linear score (log-odds) of `x`: `bias + Σ weights[i] · (x[i] − mean[i]) · inv_std[i]`.
    #[inline]
    pub fn logit(&self, x: &[f64; N]) -> f64 {
        let mut acc = [0.0f64; LANES];
        let mut i = 0;
        while i < N {
            let z = (x[i] - self.mean[i]) * self.inv_std[i];
            acc[i % LANES] += self.weights[i] * z;
            i += 1;
        }
        self.bias + ((acc[0] + acc[1]) + (acc[2] + acc[3]))
    }

    /// The probability of the positive class for `x`, in `[0, 1]`.
    ///
    /// Allocation-free. A non-finite input gives a NaN (or 0/1 for ±∞) result: the caller
    /// feeds finite features.
    #[inline]
    pub fn predict(&self, x: &[f64; N]) -> f64 {
        sigmoid(self.logit(x))
    }
}

/// The logistic function `1 / (1 + e^(−z))`, numerically stable for any `z`.
///
/// `e^(−|z|)` never overflows; for `z < 0` the result is `e^z / (1 + e^z)`, which keeps full
/// relative precision for tiny probabilities instead of computing `1 − (something near 1)`.
#[inline]
pub fn sigmoid(z: f64) -> f64 {
    let e = (-z.abs()).exp();
    let r = 1.0 / (1.0 + e);
    if z >= 0.0 {
        r
    } else {
        e * r
    }
}

fn check_finite(field: &'static str, values: &[f64]) -> Result<(), ModelFormatError> {
    match values.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(ModelFormatError::NonFinite { field, index, value: values[index] }),
        None => Ok(()),
    }
}

/// Why a model's contents are invalid (independent of where they came from).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelFormatError {
    /// The file is for a different kind of model.
    #[error("model kind is {found:?}, expected {expected:?}")]
    WrongKind {
        /// The expected kind.
        expected: &'static str,
        /// The kind in the file.
        found: String,
    },
    /// The file's format version is not supported.
    #[error("format version {found} is not supported (this build reads version {expected})")]
    BadVersion {
        /// The supported version.
        expected: u32,
        /// The version in the file.
        found: u32,
    },
    /// The model has a different number of features than the caller's input vector.
    #[error("model has {found} features, expected {expected}")]
    FeatureCount {
        /// The caller's feature count.
        expected: usize,
        /// The model's feature count.
        found: usize,
    },
    /// A per-feature array does not have one entry per feature name.
    #[error("`{field}` has {found} entries but there are {expected} feature names")]
    LengthMismatch {
        /// The array's field name.
        field: &'static str,
        /// The number of feature names.
        expected: usize,
        /// The array's length.
        found: usize,
    },
    /// A number is NaN or infinite.
    #[error("`{field}[{index}]` is {value}, not a finite number")]
    NonFinite {
        /// The field name.
        field: &'static str,
        /// Index within the field (0 for scalars).
        index: usize,
        /// The offending value.
        value: f64,
    },
    /// A reciprocal standard deviation is negative.
    #[error("`inv_std[{index}]` is {value}, must be >= 0")]
    NegativeInvStd {
        /// Feature index.
        index: usize,
        /// The offending value.
        value: f64,
    },
    /// A feature name is empty or repeated.
    #[error("feature name #{index} ({name:?}) is empty or repeated")]
    BadFeatureName {
        /// Feature index.
        index: usize,
        /// The name.
        name: String,
    },
    /// The feature names differ from the ones the caller computes, in order.
    #[error("feature #{index} is {found:?} in the model but {expected:?} in the caller")]
    FeatureNameMismatch {
        /// Feature index.
        index: usize,
        /// The caller's name.
        expected: String,
        /// The model's name.
        found: String,
    },
}

/// Why reading or writing a model file failed.
#[derive(Debug, thiserror::Error)]
pub enum ModelFileReason {
    /// The file could not be read or written.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The file is not valid JSON for the format (syntax, missing or unknown fields, types).
    #[error("malformed model JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The JSON is well-formed but its contents are invalid.
    #[error("{0}")]
    Format(#[from] ModelFormatError),
    /// A field's contents are invalid (used by the tree, XGBoost and ensemble formats).
    #[error("`{field}`: {problem}")]
    Field {
        /// Path of the field in the file, e.g. `rf.trees[3].left[5]`.
        field: String,
        /// What is wrong.
        problem: String,
    },
}

/// A model file error: the file and the reason.
#[derive(Debug, thiserror::Error)]
#[error("model file {}: {}", .path.display(), .reason)]
pub struct ModelFileError {
    /// The file.
    pub path: PathBuf,
    /// What went wrong.
    #[source]
    pub reason: ModelFileReason,
}

impl ModelFileError {
    fn new(path: &Path, reason: impl Into<ModelFileReason>) -> Self {
        Self { path: path.to_path_buf(), reason: reason.into() }
    }
}

/// The on-disk (JSON) form of a flat logistic model. See `docs/ml.md` for the format.
///
/// Per-feature arrays are in the order of `features`, which is the order of the input vector
/// given to [`FlatLogistic::predict`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlatModelFile {
    /// Model kind; [`LOGISTIC_KIND`].
    pub kind: String,
    /// Format version; [`FORMAT_VERSION`].
    pub version: u32,
    /// Feature names, in input-vector order; non-empty and unique.
    pub features: Vec<String>,
    /// Weights over the standardised features.
    pub weights: Vec<f64>,
    /// Bias (intercept).
    pub bias: f64,
    /// Per-feature means.
    pub mean: Vec<f64>,
    /// Per-feature reciprocal standard deviations (0 = feature ignored).
    pub inv_std: Vec<f64>,
}

impl FlatModelFile {
    /// The file form of `model`, with the given feature names.
    pub fn from_logistic<const N: usize>(model: &FlatLogistic<N>, features: [&str; N]) -> Self {
        Self {
            kind: LOGISTIC_KIND.to_string(),
            version: FORMAT_VERSION,
            features: features.iter().map(|s| s.to_string()).collect(),
            weights: model.weights.to_vec(),
            bias: model.bias,
            mean: model.mean.to_vec(),
            inv_std: model.inv_std.to_vec(),
        }
    }

    /// Checks kind, version, feature names, array lengths and that every number is finite.
    pub fn validate(&self) -> Result<(), ModelFormatError> {
        if self.kind != LOGISTIC_KIND {
            return Err(ModelFormatError::WrongKind { expected: LOGISTIC_KIND, found: self.kind.clone() });
        }
        if self.version != FORMAT_VERSION {
            return Err(ModelFormatError::BadVersion { expected: FORMAT_VERSION, found: self.version });
        }
        for (index, name) in self.features.iter().enumerate() {
            if name.trim().is_empty() || self.features[..index].contains(name) {
                return Err(ModelFormatError::BadFeatureName { index, name: name.clone() });
            }
        }
        let n = self.features.len();
        for (field, v) in [("weights", &self.weights), ("mean", &self.mean), ("inv_std", &self.inv_std)] {
            if v.len() != n {
                return Err(ModelFormatError::LengthMismatch { field, expected: n, found: v.len() });
            }
            check_finite(field, v)?;
        }
        check_finite("bias", &[self.bias])?;
        if let Some(index) = self.inv_std.iter().position(|&s| s < 0.0) {
            return Err(ModelFormatError::NegativeInvStd { index, value: self.inv_std[index] });
        }
        Ok(())
    }

    /// The hot-path model for inputs of `N` features (validates first).
    pub fn to_logistic<const N: usize>(&self) -> Result<FlatLogistic<N>, ModelFormatError> {
        self.validate()?;
        if self.features.len() != N {
            return Err(ModelFormatError::FeatureCount { expected: N, found: self.features.len() });
        }
        let arr = |v: &[f64]| -> [f64; N] {
            let mut a = [0.0; N];
            a.copy_from_slice(v);
            a
        };
        FlatLogistic::new(arr(&self.weights), self.bias, arr(&self.mean), arr(&self.inv_std))
    }

    /// Like [`FlatModelFile::to_logistic`], and also checks that the model's feature names are
    /// exactly `expected`, in order (the caller's feature vector layout).
    pub fn to_logistic_checked<const N: usize>(
        &self,
        expected: [&str; N],
    ) -> Result<FlatLogistic<N>, ModelFormatError> {
        let model = self.to_logistic::<N>()?;
        for (index, (want, got)) in expected.iter().zip(&self.features).enumerate() {
            if want != got {
                return Err(ModelFormatError::FeatureNameMismatch {
                    index,
                    expected: want.to_string(),
                    found: got.clone(),
                });
            }
        }
        Ok(model)
    }

    /// Writes the model as pretty JSON (validated first) via a temporary file and a rename,
    /// so a reader never sees a half-written model.
    pub fn save(&self, path: &Path) -> Result<(), ModelFileError> {
        self.validate().map_err(|e| ModelFileError::new(path, e))?;
        let mut json = serde_json::to_vec_pretty(self).map_err(|e| ModelFileError::new(path, e))?;
        json.push(b'\n');
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        std::fs::write(&tmp, &json).map_err(|e| ModelFileError::new(&tmp, e))?;
        std::fs::rename(&tmp, path).map_err(|e| ModelFileError::new(path, e))
    }

    /// Reads and validates a model file.
    pub fn load(path: &Path) -> Result<Self, ModelFileError> {
        let bytes = std::fs::read(path).map_err(|e| ModelFileError::new(path, e))?;
        let file: Self = serde_json::from_slice(&bytes).map_err(|e| ModelFileError::new(path, e))?;
        file.validate().map_err(|e| ModelFileError::new(path, e))?;
        Ok(file)
    }

    /// Reads a model file into a hot-path model whose feature names must be `expected`.
    pub fn load_logistic<const N: usize>(
        path: &Path,
        expected: [&str; N],
    ) -> Result<FlatLogistic<N>, ModelFileError> {
        Self::load(path)?.to_logistic_checked(expected).map_err(|e| ModelFileError::new(path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model3() -> FlatLogistic<3> {
        FlatLogistic::new([0.5, -1.25, 2.0], 0.1, [10.0, 0.0, -3.0], [0.5, 2.0, 0.0]).unwrap()
    }

    fn naive(m: &FlatLogistic<3>, x: &[f64; 3]) -> f64 {
        let mut z = m.bias();
        for (i, xi) in x.iter().enumerate() {
            z += m.weights()[i] * (xi - m.mean()[i]) * m.inv_std()[i];
        }
        1.0 / (1.0 + (-z).exp())
    }

    #[test]
    fn predict_matches_the_formula() {
        let m = model3();
        for x in [[10.0, 0.0, -3.0], [12.0, 0.3, 100.0], [-5.0, -1.0, 7.0], [40.0, -2.0, 0.0]] {
            let p = m.predict(&x);
            assert!((p - naive(&m, &x)).abs() < 1e-15, "{x:?}: {p} vs {}", naive(&m, &x));
        }
        // At the mean only the bias remains; the third feature is ignored (inv_std 0).
        assert!((m.logit(&[10.0, 0.0, 1e9]) - 0.1).abs() < 1e-15);
    }

    #[test]
    fn predict_with_more_features_than_lanes() {
        let mut w = [0.0; 9];
        for (i, v) in w.iter_mut().enumerate() {
            *v = i as f64 - 4.0;
        }
        let m = FlatLogistic::new(w, -0.5, [1.0; 9], [0.25; 9]).unwrap();
        let x = [3.0, -1.0, 2.0, 0.5, 7.0, 1.0, -2.0, 4.0, 0.0];
        let z: f64 = -0.5 + (0..9).map(|i| w[i] * (x[i] - 1.0) * 0.25).sum::<f64>();
        assert!((m.logit(&x) - z).abs() < 1e-12);
    }

    #[test]
    fn sigmoid_is_stable_at_the_extremes() {
        assert_eq!(sigmoid(0.0), 0.5);
        assert_eq!(sigmoid(1000.0), 1.0);
        assert_eq!(sigmoid(-1000.0), 0.0);
        assert_eq!(sigmoid(f64::INFINITY), 1.0);
        assert_eq!(sigmoid(f64::NEG_INFINITY), 0.0);
        // Tiny probabilities keep their relative precision (1 − r would round to 0 here).
        let p = sigmoid(-700.0);
        assert!(p > 0.0 && ((p.ln() + 700.0).abs() < 1e-9), "{p}");
        // Symmetry: σ(−z) = 1 − σ(z).
        for z in [-30.0, -2.5, -0.1, 0.1, 2.5, 30.0] {
            assert!((sigmoid(-z) - (1.0 - sigmoid(z))).abs() < 1e-15);
        }
        assert!(sigmoid(f64::NAN).is_nan());
    }

    #[test]
    fn new_rejects_bad_numbers() {
        let e = FlatLogistic::new([f64::NAN, 0.0], 0.0, [0.0; 2], [1.0; 2]).unwrap_err();
        assert!(matches!(e, ModelFormatError::NonFinite { field: "weights", index: 0, .. }));
        let e = FlatLogistic::new([0.0; 2], f64::INFINITY, [0.0; 2], [1.0; 2]).unwrap_err();
        assert!(matches!(e, ModelFormatError::NonFinite { field: "bias", .. }));
        let e = FlatLogistic::new([0.0; 2], 0.0, [0.0; 2], [1.0, -1.0]).unwrap_err();
        assert_eq!(e, ModelFormatError::NegativeInvStd { index: 1, value: -1.0 });
    }

    #[test]
    fn save_load_round_trip_is_exact() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.json");
        let m = model3();
        let names = ["obi", "delta", "spread"];
        FlatModelFile::from_logistic(&m, names).save(&path).unwrap();
        let back = FlatModelFile::load_logistic::<3>(&path, names).unwrap();
        assert_eq!(back, m);
        assert!(!dir.path().join("m.json.tmp").exists());
    }

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    fn good_json() -> serde_json::Value {
        serde_json::json!({
            "kind": "logistic", "version": 1, "features": ["a", "b"],
            "weights": [1.0, 2.0], "bias": 0.5, "mean": [0.0, 1.0], "inv_std": [1.0, 0.5]
        })
    }

    fn load_err(v: &serde_json::Value) -> String {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "bad.json", &v.to_string());
        let e = FlatModelFile::load_logistic::<2>(&p, ["a", "b"]).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("bad.json"), "error does not name the file: {msg}");
        msg
    }

    #[test]
    fn load_reports_file_and_reason() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "ok.json", &good_json().to_string());
        let m = FlatModelFile::load_logistic::<2>(&p, ["a", "b"]).unwrap();
        assert_eq!(m.weights(), &[1.0, 2.0]);

        let mut v = good_json();
        v["version"] = 2.into();
        assert!(load_err(&v).contains("format version 2"));

        let mut v = good_json();
        v["kind"] = "trees".into();
        assert!(load_err(&v).contains("kind"));

        let mut v = good_json();
        v["weights"][1] = serde_json::Value::Null; // how serde_json writes NaN
        assert!(load_err(&v).contains("malformed"));

        // An out-of-range number (would be +inf) is rejected by the JSON parser.
        let text = good_json().to_string().replace("2.0", "1e400");
        let p = write(dir.path(), "huge.json", &text);
        let e = FlatModelFile::load(&p).unwrap_err();
        assert!(matches!(e.reason, ModelFileReason::Json(_)) && e.to_string().contains("huge.json"), "{e}");

        let mut v = good_json();
        v["mean"] = serde_json::json!([0.0]);
        assert!(load_err(&v).contains("`mean` has 1 entries"));

        let mut v = good_json();
        v["features"] = serde_json::json!(["a", "a"]);
        assert!(load_err(&v).contains("repeated"));

        let mut v = good_json();
        v["features"] = serde_json::json!(["a", "c"]);
        assert!(load_err(&v).contains("\"c\" in the model but \"b\""));

        let mut v = good_json();
        v["extra"] = 1.into();
        assert!(load_err(&v).contains("unknown field"));

        let mut v = good_json();
        v["inv_std"][0] = (-1.0).into();
        assert!(load_err(&v).contains(">= 0"));

        // Wrong feature count for the caller's N.
        let p = write(dir.path(), "three.json", &good_json().to_string());
        let e = FlatModelFile::load_logistic::<3>(&p, ["a", "b", "c"]).unwrap_err();
        assert!(e.to_string().contains("2 features, expected 3"), "{e}");

        // Not JSON at all, and a missing file.
        let p = write(dir.path(), "garbage.json", "{ not json");
        let e = FlatModelFile::load(&p).unwrap_err();
        assert!(matches!(e.reason, ModelFileReason::Json(_)) && e.to_string().contains("garbage.json"));
        let e = FlatModelFile::load(&dir.path().join("missing.json")).unwrap_err();
        assert!(matches!(e.reason, ModelFileReason::Io(_)) && e.to_string().contains("missing.json"));
    }

    #[test]
    fn save_refuses_invalid_models() {
        let dir = tempfile::tempdir().unwrap();
        let mut f = FlatModelFile::from_logistic(&model3(), ["a", "b", "c"]);
        f.weights[0] = f64::NAN;
        let path = dir.path().join("nan.json");
        let e = f.save(&path).unwrap_err();
        assert!(e.to_string().contains("weights[0]") && e.to_string().contains("nan.json"), "{e}");
        assert!(!path.exists());
    }
}
