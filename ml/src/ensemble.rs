//! The flat ensemble signal filter: logistic regression + random forest + boosted trees
//! (trained here or imported from XGBoost), combined with fixed weights, and its one model
//! file format.
//!
//! `p(x) = Σ_m w_m · p_m(x)` over the members present, with the configured weights
//! renormalised over them (seed defaults: 0.5 random forest, 0.3 boosted, 0.2 logistic).
//! With a calibration ([`crate::calibrate::Platt`], fitted out of fold by `mia train`) the
//! ensemble's probability is `sigmoid(a · logit(p(x)) + b)`. A signal is approved iff the
//! (calibrated) probability is `>= threshold` (default 0.70); a NaN never approves.
//!
//! Missing members are not an error as long as one member is present: the weights are
//! renormalised and [`FlatEnsemble::missing`] names the absent ones, which the caller must
//! report. A file that cannot be loaded, or has no member at all, is an error: the caller then
//! runs with the filter **off** and says so — it never approves silently.
//!
//! [`FlatEnsemble::predict`] allocates nothing (proved by `ml/tests/no_alloc.rs`).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::calibrate::Platt;
use crate::flat::{FlatLogistic, ModelFileError, ModelFileReason, ModelFormatError};
use crate::tree::{TreeModel, TreeModelError, TreeModelSpec};

/// The `kind` tag of an ensemble model file.
pub const ENSEMBLE_KIND: &str = "ensemble";

/// The current (and only) version of the ensemble file format.
pub const ENSEMBLE_VERSION: u32 = 1;

/// The default approval threshold.
pub const DEFAULT_THRESHOLD: f64 = 0.70;

/// Member weights before renormalisation over the members present.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberWeights {
    /// Random forest weight.
    pub rf: f64,
    /// Boosted trees weight.
    pub boosted: f64,
    /// Logistic regression weight.
    pub lr: f64,
}

impl Default for MemberWeights {
    /// 0.5 random forest, 0.3 boosted, 0.2 logistic.
    fn default() -> Self {
        Self { rf: 0.5, boosted: 0.3, lr: 0.2 }
    }
}

/// An ensemble member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Member {
    /// Random forest.
    Rf,
    /// Boosted trees.
    Boosted,
    /// Logistic regression.
    Lr,
}

impl std::fmt::Display for Member {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Member::Rf => "rf",
            Member::Boosted => "boosted",
            Member::Lr => "lr",
        })
    }
}

/// Where the boosted member came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BoostedSource {
    /// [`crate::gbm::train_gbm`].
    Gbm,
    /// Imported from an XGBoost JSON model ([`crate::xgboost`]).
    Xgboost,
}

/// The logistic member in the file (per-feature arrays in `features` order).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogisticSpec {
    /// Weights over the standardised features.
    pub weights: Vec<f64>,
    /// Intercept.
    pub bias: f64,
    /// Per-feature means.
    pub mean: Vec<f64>,
    /// Per-feature reciprocal standard deviations (0 = ignored).
    pub inv_std: Vec<f64>,
}

/// The boosted member in the file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoostedSpec {
    /// Where it came from.
    pub source: BoostedSource,
    /// The trees.
    pub model: TreeModelSpec,
}

/// The on-disk (JSON) form of an ensemble; see `docs/ml.md`. Unknown fields are rejected;
/// an absent (or `null`) member is missing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnsembleFile {
    /// [`ENSEMBLE_KIND`].
    pub kind: String,
    /// [`ENSEMBLE_VERSION`].
    pub version: u32,
    /// Feature names in input-vector order.
    pub features: Vec<String>,
    /// Approval threshold in (0, 1).
    pub threshold: f64,
    /// Member weights (renormalised over the members present at load).
    pub weights: MemberWeights,
    /// Logistic member.
    #[serde(default)]
    pub lr: Option<LogisticSpec>,
    /// Random forest member.
    #[serde(default)]
    pub rf: Option<TreeModelSpec>,
    /// Boosted member.
    #[serde(default)]
    pub boosted: Option<BoostedSpec>,
    /// Platt scaling applied to the weighted mean (absent: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<Platt>,
}

/// Why an ensemble is invalid: the field (JSON path) and the problem.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("`{field}`: {problem}")]
pub struct EnsembleError {
    /// Path of the field, e.g. `rf.trees[3].left[5]`.
    pub field: String,
    /// What is wrong.
    pub problem: String,
}

fn eerr(field: impl Into<String>, problem: impl std::fmt::Display) -> EnsembleError {
    EnsembleError { field: field.into(), problem: problem.to_string() }
}

fn tree_err(member: &str, e: TreeModelError) -> EnsembleError {
    match e {
        TreeModelError::Tree(t) => {
            eerr(format!("{member}.trees[{}].{}[{}]", t.tree, t.field, t.node), t.problem)
        }
        TreeModelError::NoTrees => eerr(format!("{member}.trees"), "no tree"),
        TreeModelError::LeafOutOfRange { tree, node, value } => eerr(
            format!("{member}.trees[{tree}].value[{node}]"),
            format!("leaf {value} of a mean model is not in [0, 1]"),
        ),
        TreeModelError::BaseMargin(v) => {
            eerr(format!("{member}.output.logistic.base_margin"), format!("{v} is not finite"))
        }
    }
}

/// The members of an ensemble, for [`FlatEnsemble::new`].
#[derive(Debug, Clone, Default)]
pub struct Members<const N: usize> {
    /// Logistic member.
    pub lr: Option<FlatLogistic<N>>,
    /// Random forest member.
    pub rf: Option<TreeModel>,
    /// Boosted member and its source.
    pub boosted: Option<(BoostedSource, TreeModel)>,
}

/// The hot-path ensemble over `N` features.
#[derive(Debug, Clone)]
pub struct FlatEnsemble<const N: usize> {
    lr: Option<FlatLogistic<N>>,
    rf: Option<TreeModel>,
    boosted: Option<(BoostedSource, TreeModel)>,
    /// Renormalised weights (0 for a missing member).
    w: MemberWeights,
    configured: MemberWeights,
    threshold: f64,
    features: Vec<String>,
    missing: Vec<Member>,
    calibration: Option<Platt>,
}

impl<const N: usize> FlatEnsemble<N> {
    /// An ensemble of `members` with feature names `features`, configured `weights` and
    /// approval `threshold`. Fails if no member is present, a weight is negative or non-finite,
    /// the present members' weights sum to 0, the threshold is not in (0, 1), a feature name
    /// is empty or repeated, or a tree model was validated for another feature count.
    pub fn new(
        features: [&str; N],
        members: Members<N>,
        weights: MemberWeights,
        threshold: f64,
    ) -> Result<Self, EnsembleError> {
        let features: Vec<String> = features.iter().map(|s| s.to_string()).collect();
        check_features(&features)?;
        for (name, t) in [("rf", members.rf.as_ref()), ("boosted", members.boosted.as_ref().map(|b| &b.1))] {
            if let Some(t) = t {
                if t.trees().n_features() != N {
                    return Err(eerr(
                        name,
                        format!("validated for {} features, ensemble has {N}", t.trees().n_features()),
                    ));
                }
            }
        }
        if !(threshold > 0.0 && threshold < 1.0) {
            return Err(eerr("threshold", format!("{threshold} is not in (0, 1)")));
        }
        let mut w = weights;
        let mut missing = Vec::new();
        for (m, name, v, present) in [
            (Member::Rf, "weights.rf", &mut w.rf, members.rf.is_some()),
            (Member::Boosted, "weights.boosted", &mut w.boosted, members.boosted.is_some()),
            (Member::Lr, "weights.lr", &mut w.lr, members.lr.is_some()),
        ] {
            if !(v.is_finite() && *v >= 0.0) {
                return Err(eerr(name, format!("{v} is not a finite weight >= 0")));
            }
            if !present {
                *v = 0.0;
                missing.push(m);
            }
        }
        if missing.len() == 3 {
            return Err(eerr("rf, boosted, lr", "no member is present: the filter must be off"));
        }
        let total = w.rf + w.boosted + w.lr;
        if total <= 0.0 {
            return Err(eerr("weights", "the members present have a total weight of 0"));
        }
        w.rf /= total;
        w.boosted /= total;
        w.lr /= total;
        Ok(Self {
            lr: members.lr,
            rf: members.rf,
            boosted: members.boosted,
            w,
            configured: weights,
            threshold,
            features,
            missing,
            calibration: None,
        })
    }

    /// This ensemble with Platt scaling `c` applied to its weighted mean.
    pub fn with_calibration(mut self, c: Option<Platt>) -> Self {
        self.calibration = c;
        self
    }

    /// The calibration in use, if any.
    pub fn calibration(&self) -> Option<Platt> {
        self.calibration
    }

    /// The ensemble probability for `x`: the weighted mean of the members present, through
    /// the calibration when there is one. Allocates nothing. Non-finite features give NaN
    /// (or a meaningless value): feed finite features.
    #[inline]
    pub fn predict(&self, x: &[f64; N]) -> f64 {
        let p = self.predict_raw(x);
        match &self.calibration {
            Some(c) => c.apply(p),
            None => p,
        }
    }

    /// The weighted mean of the members present, before any calibration (what a calibration
    /// is fitted on). Allocates nothing.
    #[inline]
    pub fn predict_raw(&self, x: &[f64; N]) -> f64 {
        let mut p = 0.0;
        if let Some(rf) = &self.rf {
            p += self.w.rf * rf.predict(x);
        }
        if let Some((_, b)) = &self.boosted {
            p += self.w.boosted * b.predict(x);
        }
        if let Some(lr) = &self.lr {
            p += self.w.lr * lr.predict(x);
        }
        p
    }

    /// Whether the signal described by `x` is approved: `predict(x) >= threshold` (false for
    /// NaN). Allocates nothing.
    #[inline]
    pub fn approve(&self, x: &[f64; N]) -> bool {
        self.predict(x) >= self.threshold
    }

    /// The approval threshold.
    pub fn threshold(&self) -> f64 {
        self.threshold
    }

    /// The renormalised weights in use (0 for a missing member).
    pub fn weights(&self) -> MemberWeights {
        self.w
    }

    /// The members absent from the model: the caller must report them.
    pub fn missing(&self) -> &[Member] {
        &self.missing
    }

    /// Feature names in input-vector order.
    pub fn feature_names(&self) -> &[String] {
        &self.features
    }

    /// Checks that the model's feature names are exactly `expected`, in order.
    pub fn check_features(&self, expected: [&str; N]) -> Result<(), EnsembleError> {
        for (i, (want, got)) in expected.iter().zip(&self.features).enumerate() {
            if want != got {
                return Err(eerr(
                    format!("features[{i}]"),
                    format!("{got:?} in the model but {want:?} in the caller"),
                ));
            }
        }
        Ok(())
    }

    /// The file form of this ensemble (configured, not renormalised, weights).
    pub fn to_file(&self) -> EnsembleFile {
        EnsembleFile {
            kind: ENSEMBLE_KIND.to_string(),
            version: ENSEMBLE_VERSION,
            features: self.features.clone(),
            threshold: self.threshold,
            weights: self.configured,
            lr: self.lr.map(|m| LogisticSpec {
                weights: m.weights().to_vec(),
                bias: m.bias(),
                mean: m.mean().to_vec(),
                inv_std: m.inv_std().to_vec(),
            }),
            rf: self.rf.as_ref().map(|t| t.spec().clone()),
            boosted: self.boosted.as_ref().map(|(s, t)| BoostedSpec { source: *s, model: t.spec().clone() }),
            calibration: self.calibration,
        }
    }

    /// The validated ensemble described by `file` (see [`FlatEnsemble::new`] for the checks,
    /// plus kind, version, feature count `N`, every member's numbers finite and arrays sized).
    pub fn from_file(file: &EnsembleFile) -> Result<Self, EnsembleError> {
        if file.kind != ENSEMBLE_KIND {
            return Err(eerr("kind", format!("{:?}, expected {ENSEMBLE_KIND:?}", file.kind)));
        }
        if file.version != ENSEMBLE_VERSION {
            return Err(eerr(
                "version",
                format!("{} is not supported (this build reads version {ENSEMBLE_VERSION})", file.version),
            ));
        }
        if file.features.len() != N {
            return Err(eerr(
                "features",
                format!("model has {} features, expected {N}", file.features.len()),
            ));
        }
        check_features(&file.features)?;
        let lr = match &file.lr {
            None => None,
            Some(s) => Some(logistic::<N>(s)?),
        };
        let rf = match &file.rf {
            None => None,
            Some(s) => Some(TreeModel::new(s.clone(), N).map_err(|e| tree_err("rf", e))?),
        };
        let boosted = match &file.boosted {
            None => None,
            Some(b) => Some((
                b.source,
                TreeModel::new(b.model.clone(), N).map_err(|e| tree_err("boosted.model", e))?,
            )),
        };
        let calibration = match file.calibration {
            None => None,
            Some(c) => Some(Platt::new(c.a, c.b).map_err(|e| eerr("calibration", e))?),
        };
        let names: [&str; N] = std::array::from_fn(|i| file.features[i].as_str());
        Ok(Self::new(names, Members { lr, rf, boosted }, file.weights, file.threshold)?
            .with_calibration(calibration))
    }

    /// Reads and validates an ensemble file; errors name the file and the field.
    pub fn load(path: &Path) -> Result<Self, ModelFileError> {
        let bytes = std::fs::read(path).map_err(|e| file_error(path, ModelFileReason::Io(e)))?;
        Self::from_bytes(&bytes, path)
    }

    /// Parses and validates the bytes of an ensemble file read from `path` (named in errors):
    /// a caller that must keep exactly the bytes it validated (a hot swap journaling them)
    /// reads the file once and calls this.
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<Self, ModelFileError> {
        let file: EnsembleFile =
            serde_json::from_slice(bytes).map_err(|e| file_error(path, ModelFileReason::Json(e)))?;
        Self::from_file(&file).map_err(|e| field_error(path, e))
    }

    /// [`FlatEnsemble::load`], then checks the feature names are exactly `expected`.
    pub fn load_checked(path: &Path, expected: [&str; N]) -> Result<Self, ModelFileError> {
        let e = Self::load(path)?;
        e.check_features(expected).map_err(|err| field_error(path, err))?;
        Ok(e)
    }

    /// Writes the ensemble as pretty JSON via a temporary file and a rename (a reader never
    /// sees a partial file).
    pub fn save(&self, path: &Path) -> Result<(), ModelFileError> {
        let mut json = serde_json::to_vec_pretty(&self.to_file())
            .map_err(|e| file_error(path, ModelFileReason::Json(e)))?;
        json.push(b'\n');
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        std::fs::write(&tmp, &json).map_err(|e| file_error(&tmp, ModelFileReason::Io(e)))?;
        std::fs::rename(&tmp, path).map_err(|e| file_error(path, ModelFileReason::Io(e)))
    }
}

fn file_error(path: &Path, reason: ModelFileReason) -> ModelFileError {
    ModelFileError { path: path.to_path_buf(), reason }
}

fn field_error(path: &Path, e: EnsembleError) -> ModelFileError {
    file_error(path, ModelFileReason::Field { field: e.field, problem: e.problem })
}

fn check_features(features: &[String]) -> Result<(), EnsembleError> {
    for (i, name) in features.iter().enumerate() {
        if name.trim().is_empty() || features[..i].contains(name) {
            return Err(eerr(format!("features[{i}]"), format!("{name:?} is empty or repeated")));
        }
    }
    Ok(())
}

fn logistic<const N: usize>(s: &LogisticSpec) -> Result<FlatLogistic<N>, EnsembleError> {
    let arr = |field: &str, v: &[f64]| -> Result<[f64; N], EnsembleError> {
        <[f64; N]>::try_from(v)
            .map_err(|_| eerr(format!("lr.{field}"), format!("has {} entries, expected {N}", v.len())))
    };
    FlatLogistic::new(arr("weights", &s.weights)?, s.bias, arr("mean", &s.mean)?, arr("inv_std", &s.inv_std)?)
        .map_err(|e| match e {
            ModelFormatError::NonFinite { field, index, value } => {
                eerr(format!("lr.{field}[{index}]"), format!("{value} is not a finite number"))
            }
            ModelFormatError::NegativeInvStd { index, value } => {
                eerr(format!("lr.inv_std[{index}]"), format!("{value} < 0"))
            }
            other => eerr("lr", other),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::{TreeOutput, TreeSpec};

    fn stump(feature: u32, t: f64, lo: f64, hi: f64) -> TreeSpec {
        TreeSpec {
            feature: vec![feature, 0, 0],
            value: vec![t, lo, hi],
            left: vec![1, -1, -1],
            right: vec![2, -1, -1],
            default_left: vec![false; 3],
        }
    }

    fn members() -> Members<2> {
        let rf = TreeModel::new(
            TreeModelSpec {
                output: TreeOutput::Mean,
                trees: vec![stump(0, 0.0, 0.0, 1.0), stump(1, 0.0, 0.0, 1.0)],
            },
            2,
        )
        .unwrap();
        let boosted = TreeModel::new(
            TreeModelSpec {
                output: TreeOutput::Logistic { base_margin: 0.0 },
                trees: vec![stump(0, 0.0, -2.0, 2.0)],
            },
            2,
        )
        .unwrap();
        let lr = FlatLogistic::new([1.0, 1.0], 0.0, [0.0; 2], [1.0; 2]).unwrap();
        Members { lr: Some(lr), rf: Some(rf), boosted: Some((BoostedSource::Gbm, boosted)) }
    }

    /// Compile-time check: the ensemble can be handed to another thread (hot-swap).
    #[test]
    fn ensemble_is_send_and_sync() {
        fn check<T: Send + Sync + 'static>() {}
        check::<FlatEnsemble<18>>();
    }

    #[test]
    fn weighted_mean_of_members_and_approval() {
        let e =
            FlatEnsemble::new(["a", "b"], members(), MemberWeights::default(), DEFAULT_THRESHOLD).unwrap();
        assert!(e.missing().is_empty());
        let x = [1.0, 1.0];
        let want = 0.5 * 1.0 + 0.3 * crate::flat::sigmoid(2.0) + 0.2 * crate::flat::sigmoid(2.0);
        assert!((e.predict(&x) - want).abs() < 1e-15);
        assert!(e.approve(&x));
        let x = [1.0, -1.0]; // rf 0.5, boosted σ(2), lr σ(0)
        let p = 0.25 + 0.3 * crate::flat::sigmoid(2.0) + 0.1;
        assert!((e.predict(&x) - p).abs() < 1e-15);
        assert_eq!(e.approve(&x), p >= 0.7);
        assert!(!e.approve(&[f64::NAN, f64::NAN]), "NaN never approves");
    }

    #[test]
    fn calibration_maps_the_weighted_mean_and_survives_the_file() {
        let e = FlatEnsemble::new(["a", "b"], members(), MemberWeights::default(), 0.7).unwrap();
        let c = Platt::new(2.0, -0.5).unwrap();
        let cal = e.clone().with_calibration(Some(c));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cal.json");
        cal.save(&path).unwrap();
        let back = FlatEnsemble::<2>::load(&path).unwrap();
        assert_eq!(back.calibration(), Some(c));
        for x in [[1.0, -1.0], [-0.5, 0.5], [2.0, 2.0]] {
            let raw = e.predict(&x);
            assert_eq!(cal.predict_raw(&x), raw);
            let want = crate::flat::sigmoid(2.0 * crate::calibrate::logit(raw) - 0.5);
            assert_eq!(cal.predict(&x), want);
            assert_eq!(back.predict(&x), want);
            assert_eq!(cal.approve(&x), want >= 0.7);
        }
        // An uncalibrated file has no `calibration` key (older readers still load it).
        e.save(&path).unwrap();
        assert!(!std::fs::read_to_string(&path).unwrap().contains("calibration"));
        assert_eq!(FlatEnsemble::<2>::load(&path).unwrap().calibration(), None);
    }

    #[test]
    fn missing_members_are_reported_and_weights_renormalised() {
        let mut m = members();
        m.rf = None;
        let e = FlatEnsemble::new(["a", "b"], m, MemberWeights::default(), 0.7).unwrap();
        assert_eq!(e.missing(), &[Member::Rf]);
        let w = e.weights();
        assert_eq!(w.rf, 0.0);
        assert!((w.boosted - 0.6).abs() < 1e-15 && (w.lr - 0.4).abs() < 1e-15);
        let e = FlatEnsemble::new(["a", "b"], Members::default(), MemberWeights::default(), 0.7).unwrap_err();
        assert!(e.problem.contains("filter must be off"), "{e}");
        let mut m = members();
        m.rf = None;
        let e = FlatEnsemble::new(["a", "b"], m, MemberWeights { rf: 1.0, boosted: 0.0, lr: 0.0 }, 0.7)
            .unwrap_err();
        assert_eq!(e.field, "weights");
        let e =
            FlatEnsemble::new(["a", "b"], members(), MemberWeights { lr: -1.0, ..Default::default() }, 0.7)
                .unwrap_err();
        assert_eq!(e.field, "weights.lr");
        let e = FlatEnsemble::new(["a", "b"], members(), MemberWeights::default(), 1.0).unwrap_err();
        assert_eq!(e.field, "threshold");
        let e = FlatEnsemble::new(["a", "a"], members(), MemberWeights::default(), 0.7).unwrap_err();
        assert_eq!(e.field, "features[1]");
    }

    #[test]
    fn file_round_trip_is_exact_and_bad_files_name_file_and_field() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ens.json");
        let e = FlatEnsemble::new(["a", "b"], members(), MemberWeights::default(), 0.7).unwrap();
        e.save(&path).unwrap();
        let back = FlatEnsemble::<2>::load_checked(&path, ["a", "b"]).unwrap();
        assert_eq!(back.to_file(), e.to_file());
        for x in [[0.5, -0.5], [-3.0, 2.0], [0.0, 0.0]] {
            assert_eq!(back.predict(&x), e.predict(&x));
        }
        assert!(!dir.path().join("ens.json.tmp").exists());

        let good = serde_json::to_value(e.to_file()).unwrap();
        let bad = |edit: &dyn Fn(&mut serde_json::Value), want: &str| {
            let mut v = good.clone();
            edit(&mut v);
            let p = dir.path().join("bad_ens.json");
            std::fs::write(&p, v.to_string()).unwrap();
            let msg = FlatEnsemble::<2>::load(&p).unwrap_err().to_string();
            assert!(msg.contains("bad_ens.json") && msg.contains(want), "{msg} lacks {want}");
        };
        bad(&|v| v["extra"] = 1.into(), "unknown field `extra`");
        bad(&|v| v["rf"]["trees"][0]["oops"] = 1.into(), "unknown field `oops`");
        bad(&|v| v["version"] = 2.into(), "`version`: 2 is not supported");
        bad(&|v| v["kind"] = "logistic".into(), "`kind`");
        bad(&|v| v["features"] = serde_json::json!(["a"]), "model has 1 features, expected 2");
        bad(&|v| v["threshold"] = 1.5.into(), "`threshold`");
        bad(&|v| v["weights"]["rf"] = (-0.5).into(), "`weights.rf`");
        bad(&|v| v["lr"]["weights"][1] = serde_json::Value::Null, "malformed");
        bad(&|v| v["lr"]["mean"] = serde_json::json!([0.0]), "`lr.mean`: has 1 entries");
        bad(&|v| v["lr"]["inv_std"][0] = (-1.0).into(), "`lr.inv_std[0]`");
        bad(&|v| v["rf"]["trees"][1]["left"][0] = 7.into(), "`rf.trees[1].left[0]`");
        bad(&|v| v["rf"]["trees"][0]["value"][2] = 3.0.into(), "`rf.trees[0].value[2]`: leaf 3");
        bad(
            &|v| v["boosted"]["model"]["trees"][0]["feature"][0] = 2.into(),
            "`boosted.model.trees[0].feature[0]`",
        );
        bad(&|v| v["boosted"]["model"]["output"]["logistic"]["base_margin"] = "x".into(), "malformed");
        bad(&|v| v["boosted"]["source"] = "lightgbm".into(), "malformed");
        bad(&|v| v["calibration"] = serde_json::json!({ "a": -1.0, "b": 0.0 }), "`calibration`: slope -1");
        bad(&|v| v["calibration"] = serde_json::json!({ "a": 1.0 }), "missing field `b`");
        // Text replacement: a number that overflows to infinity is refused by the parser.
        let p = dir.path().join("inf.json");
        std::fs::write(&p, good.to_string().replace("0.7", "1e999")).unwrap();
        assert!(FlatEnsemble::<2>::load(&p).unwrap_err().to_string().contains("inf.json"));
        // A missing member in the file is reported, not an error.
        let mut v = good.clone();
        v.as_object_mut().unwrap().remove("boosted");
        std::fs::write(&path, v.to_string()).unwrap();
        assert_eq!(FlatEnsemble::<2>::load(&path).unwrap().missing(), &[Member::Boosted]);
        let e = FlatEnsemble::<2>::load_checked(&path, ["a", "c"]).unwrap_err().to_string();
        assert!(e.contains("features[1]"), "{e}");
        let e = FlatEnsemble::<2>::load(&dir.path().join("nope.json")).unwrap_err().to_string();
        assert!(e.contains("nope.json"), "{e}");
    }
}
