//! MIA machine learning: flat precomputed models for hot-path inference, and their training.
//!
//! - [`flat`]: [`FlatLogistic`], the allocation-free logistic signal filter evaluated on the
//!   hot path, and [`FlatModelFile`], its validated JSON file format.
//! - [`train`]: standardisation and logistic-regression fitting (`smartcore`), exported to
//!   [`FlatLogistic`].
//! - [`walk_forward`]: walk-forward train/test splits with a purge gap.
//!
//! See `docs/ml.md`.

#![warn(missing_docs)]

pub mod flat;
pub mod train;
pub mod walk_forward;

pub use flat::{FlatLogistic, FlatModelFile, ModelFileError, ModelFileReason, ModelFormatError};
pub use train::{train_logistic, Standardizer, TrainConfig, TrainError, TrainedLogistic};
pub use walk_forward::walk_forward_splits;
