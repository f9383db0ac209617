//! MIA machine learning: flat precomputed models for hot-path inference, and their training.
//!
//! - [`ensemble`]: [`FlatEnsemble`], the hot-path filter combining logistic, random forest and
//!   boosted members with renormalised weights and an approval threshold, and its file format.
//! - [`flat`]: [`FlatLogistic`], the allocation-free logistic signal filter evaluated on the
//!   hot path, and [`FlatModelFile`], its validated JSON file format.
//! - [`train`]: standardisation and logistic-regression fitting (`smartcore`), exported to
//!   [`FlatLogistic`].
//! - [`tree`]: the flat tree format shared by every tree model ([`TreeSpec`], [`FlatTrees`],
//!   [`TreeModel`]).
//! - [`forest`]: random forests trained with `smartcore`, exported to [`TreeModel`].
//! - [`xgboost`]: import of Python xgboost's saved JSON models into [`TreeModel`].
//! - [`gbm`]: gradient-boosted trees (own histogram trainer, logistic loss), exported to
//!   [`TreeModel`].
//! - [`validate`]: AUC, log loss, Brier, calibration, precision/recall, permutation
//!   importance, and the export floors.
//! - [`walk_forward`]: walk-forward train/test splits with a purge gap (in samples).
//! - [`purged`]: purged k-fold and purged walk-forward with an embargo, over label windows.
//!
//! See `docs/ml.md`.

#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod calibrate;
pub mod ensemble;
pub mod flat;
pub mod forest;
pub mod gbm;
pub mod purged;
mod rng;
pub mod train;
pub mod tree;
pub mod validate;
pub mod walk_forward;
pub mod xgboost;

pub use calibrate::{fit_platt, CalibrationError, Platt};
pub use ensemble::{
    BoostedSource, BoostedSpec, EnsembleError, EnsembleFile, FlatEnsemble, LogisticSpec, Member,
    MemberWeights, Members, DEFAULT_THRESHOLD, ENSEMBLE_KIND, ENSEMBLE_VERSION,
};
pub use flat::{FlatLogistic, FlatModelFile, ModelFileError, ModelFileReason, ModelFormatError};
pub use forest::{train_forest, ForestConfig, TrainedForest};
pub use gbm::{train_gbm, GbmConfig, TrainedGbm};
pub use purged::{purged_kfold, purged_walk_forward, PurgedSplit, SplitError};
pub use train::{train_logistic, Standardizer, TrainConfig, TrainError, TrainedLogistic};
pub use tree::{FlatTrees, TreeError, TreeModel, TreeModelError, TreeModelSpec, TreeOutput, TreeSpec};
pub use validate::{
    auc, brier, calibration, check_floors, log_loss, precision_recall, validate, CalibrationBin,
    FeatureImportance, Floors, ValidateConfig, ValidateError, ValidationReport,
};
pub use walk_forward::walk_forward_splits;
pub use xgboost::{load_xgboost, parse_xgboost_json, XgbError, XgbModel};
