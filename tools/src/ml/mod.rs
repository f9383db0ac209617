//! The ML signal filter wired end to end (`docs/ml.md`):
//!
//! - [`MlConfig`]: the `[ml]` section (owned here: `mia-tools` loads the model and builds the
//!   datasets; the signal crate only receives an [`EntryModel`]);
//! - the model's input vector ([`ML_FEATURES`], [`model_input`]) and [`EnsembleFilter`], the
//!   [`EntryModel`] over `mia_ml::FlatEnsemble`;
//! - the session's models: the opening one and the hot-swapped publications, journaled to
//!   `RUN_DIR/models/` so a journal replay adopts the same models at the same inputs
//!   ([`SessionModels`], [`ModelPublisher`]);
//! - [`dataset`], [`train`], [`predict`], [`optimize`]: the `mia dataset`, `mia train`,
//!   `mia predict` and `mia optimize` commands.

pub mod dataset;
pub mod optimize;
pub mod predict;
pub mod train;
pub mod watch;

use anyhow::{anyhow, bail, Context, Result};
use mia_ml::FlatEnsemble;
use mia_model::features::{FeatureVector, FEATURE_IDS, N_FEATURES};
use mia_model::msg::{Control, ControlKind, Signal};
use mia_model::order::Direction;
use mia_signal::gates::ml::{EntryModel, ModelBoard};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Number of model inputs: the 18 features, then `direction`, `confidence`, `tier`.
pub const ML_N: usize = N_FEATURES + 3;

/// The model's input names, in input-vector order (the dataset's feature columns).
pub const ML_FEATURES: [&str; ML_N] = {
    let mut names = [""; ML_N];
    let mut i = 0;
    while i < N_FEATURES {
        names[i] = FEATURE_IDS[i].name();
        i += 1;
    }
    names[N_FEATURES] = "direction";
    names[N_FEATURES + 1] = "confidence";
    names[N_FEATURES + 2] = "tier";
    names
};

/// The model input of signal `sig` with features `v`: each feature's value (an invalid feature
/// is 0, in the dataset and here alike), the direction (+1 long, −1 short), the confidence and
/// the tier. Allocation-free.
#[inline]
pub fn model_input(v: &FeatureVector, sig: &Signal) -> [f64; ML_N] {
    let mut x = [0.0; ML_N];
    for (i, id) in FEATURE_IDS.iter().enumerate() {
        x[i] = f64::from(v.get(*id).unwrap_or(0.0));
    }
    x[N_FEATURES] = match sig.direction {
        Direction::Long => 1.0,
        Direction::Short => -1.0,
        Direction::Flat => 0.0,
    };
    x[N_FEATURES + 1] = f64::from(sig.confidence);
    x[N_FEATURES + 2] = f64::from(sig.tier);
    x
}

/// Subdirectory of a run holding the models it used: `0.json` (the opening model) and
/// `<n>.json` (publication `n`).
pub const MODELS_DIR: &str = "models";

/// Most model publications one session can adopt.
pub const MAX_PUBLICATIONS: usize = 1024;

/// The `[ml]` section: the filter's model, the labels of `mia dataset`, the fitting and the
/// floors of `mia train`.
#[derive(Clone, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MlConfig {
    /// Ensemble file the entry filter uses (`mia train` output); "" = no model, filter off.
    pub model: String,
    /// Approval threshold; 0 = the model file's own.
    pub threshold: f64,
    /// Triple barrier: time limit after the signal, seconds.
    pub label_horizon_s: u64,
    /// Triple barrier for a signal without a bracket: stop distance, index points.
    pub label_stop_points: f64,
    /// Triple barrier for a signal without a bracket: target distance, index points.
    pub label_target_points: f64,
    /// Purged k-fold: folds.
    pub folds: usize,
    /// Purged k-fold: embargo after each test fold, seconds.
    pub embargo_s: u64,
    /// Floor: least out-of-fold AUC to export.
    pub min_auc: f64,
    /// Floor: largest out-of-fold log loss to export.
    pub max_log_loss: f64,
    /// Floor: fewest labelled signals to export.
    pub min_samples: usize,
    /// Member weight of the random forest.
    pub weight_rf: f64,
    /// Member weight of the boosted trees.
    pub weight_boosted: f64,
    /// Member weight of the logistic model.
    pub weight_lr: f64,
    /// Trees of the forest and of the boosted member.
    pub trees: usize,
    /// Seed of the forest and of the permutation importance.
    pub seed: u64,
    /// `mia train`: fit a Platt scaling on the out-of-fold predictions and store it in the
    /// model (the floors then judge the calibrated, cross-fitted out-of-fold predictions).
    pub calibrate: bool,
    /// `mia paper` / `mia live`: watch the `model` file and hot-swap it when it changes.
    pub watch: bool,
    /// Poll period of the model-file watch, milliseconds.
    pub watch_ms: u64,
}

impl Default for MlConfig {
    fn default() -> Self {
        Self {
            model: String::new(),
            threshold: 0.0,
            label_horizon_s: 900,
            label_stop_points: 2.0,
            label_target_points: 3.0,
            folds: 5,
            embargo_s: 300,
            min_auc: 0.55,
            max_log_loss: std::f64::consts::LN_2,
            min_samples: 500,
            weight_rf: 0.5,
            weight_boosted: 0.3,
            weight_lr: 0.2,
            trees: 100,
            seed: 0,
            calibrate: true,
            watch: false,
            watch_ms: 1000,
        }
    }
}

impl MlConfig {
    /// Checks every key; the error names it.
    ///
    /// # Errors
    /// `ml.<key>: reason` for the first bad key.
    pub fn validate(&self) -> Result<(), String> {
        let bad = |k: &str, why: String| Err(format!("ml.{k}: {why}"));
        if !(self.threshold == 0.0 || (self.threshold > 0.0 && self.threshold < 1.0)) {
            return bad("threshold", format!("{} is neither 0 (the model's) nor in (0, 1)", self.threshold));
        }
        if self.label_horizon_s == 0 || self.label_horizon_s > 86_400 {
            return bad("label_horizon_s", format!("{} is outside 1..=86400", self.label_horizon_s));
        }
        for (k, v) in
            [("label_stop_points", self.label_stop_points), ("label_target_points", self.label_target_points)]
        {
            if !(v.is_finite() && v > 0.0 && v <= 500.0) {
                return bad(k, format!("{v} is outside (0, 500]"));
            }
        }
        if !(2..=50).contains(&self.folds) {
            return bad("folds", format!("{} is outside 2..=50", self.folds));
        }
        if !(self.min_auc.is_finite() && (0.0..=1.0).contains(&self.min_auc)) {
            return bad("min_auc", format!("{} is outside [0, 1]", self.min_auc));
        }
        if !(self.max_log_loss.is_finite() && self.max_log_loss > 0.0) {
            return bad("max_log_loss", format!("{} is not a positive number", self.max_log_loss));
        }
        for (k, v) in [
            ("weight_rf", self.weight_rf),
            ("weight_boosted", self.weight_boosted),
            ("weight_lr", self.weight_lr),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return bad(k, format!("{v} is not a finite weight >= 0"));
            }
        }
        if self.weight_rf + self.weight_boosted + self.weight_lr <= 0.0 {
            return bad("weight_rf", "the three weights sum to 0".into());
        }
        if !(1..=2000).contains(&self.trees) {
            return bad("trees", format!("{} is outside 1..=2000", self.trees));
        }
        if !(10..=60_000).contains(&self.watch_ms) {
            return bad("watch_ms", format!("{} is outside 10..=60000", self.watch_ms));
        }
        if self.watch && self.model.is_empty() {
            return bad("watch", "true but ml.model is empty (no file to watch)".into());
        }
        Ok(())
    }
}

/// The entry filter over a flat ensemble (what the signal stage calls on each entry).
pub struct EnsembleFilter {
    ensemble: FlatEnsemble<ML_N>,
    threshold: f64,
    label: String,
}

impl EnsembleFilter {
    /// Wraps `ensemble`; `threshold` 0 keeps the file's; `label` names it in the summary.
    pub fn new(ensemble: FlatEnsemble<ML_N>, threshold: f64, label: String) -> Self {
        let threshold = if threshold > 0.0 { threshold } else { ensemble.threshold() };
        Self { ensemble, threshold, label }
    }

    /// Loads and checks an ensemble file (its features must be [`ML_FEATURES`], in order).
    ///
    /// # Errors
    /// The file is unreadable, malformed or for other features (the error names the file and
    /// the field).
    pub fn load(path: &Path, threshold: f64) -> Result<Self> {
        let bytes =
            std::fs::read(path).with_context(|| format!("model file {}: cannot read", path.display()))?;
        Self::from_bytes(&bytes, path, threshold)
    }

    /// [`Self::load`] from the bytes of a file read from `path` (named in errors and in the
    /// label).
    ///
    /// # Errors
    /// The bytes are malformed or for other features.
    pub fn from_bytes(bytes: &[u8], path: &Path, threshold: f64) -> Result<Self> {
        let e = FlatEnsemble::<ML_N>::from_bytes(bytes, path).map_err(|e| anyhow!("{e}"))?;
        e.check_features(ML_FEATURES).map_err(|err| anyhow!("model file {}: {err}", path.display()))?;
        let name =
            path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into());
        let missing: Vec<String> = e.missing().iter().map(|m| format!("{m:?}").to_lowercase()).collect();
        let label =
            if missing.is_empty() { name } else { format!("{name} (missing: {})", missing.join(", ")) };
        Ok(Self::new(e, threshold, label))
    }

    /// The ensemble.
    pub fn ensemble(&self) -> &FlatEnsemble<ML_N> {
        &self.ensemble
    }
}

impl EntryModel for EnsembleFilter {
    #[inline]
    fn probability(&self, v: &FeatureVector, sig: &Signal) -> f64 {
        self.ensemble.predict(&model_input(v, sig))
    }

    fn threshold(&self) -> f64 {
        self.threshold
    }

    fn label(&self) -> &str {
        &self.label
    }
}

/// The models a session runs with: the opening model and a board of publications.
#[derive(Default)]
pub struct SessionModels {
    /// The model the session opens with (none: the filter is off until a publication).
    pub opening: Option<Arc<dyn EntryModel>>,
    /// Publications adopted at `ModelPublished` inputs.
    pub board: Option<Arc<ModelBoard>>,
}

fn model_path(dir: &Path, n: u64) -> PathBuf {
    dir.join(MODELS_DIR).join(format!("{n}.json"))
}

fn copy_model(from: &Path, to: &Path) -> Result<()> {
    if let Some(p) = to.parent() {
        std::fs::create_dir_all(p).with_context(|| format!("{}: cannot create", p.display()))?;
    }
    std::fs::copy(from, to)
        .with_context(|| format!("{}: cannot copy to {}", from.display(), to.display()))?;
    Ok(())
}

/// The models of a session: for a journal replay, those the recorded run used
/// (`RUN_DIR/models/` beside the journal: its opening model and every publication); otherwise
/// the `[ml] model` file. With an output directory, the opening model is copied to
/// `OUT/models/0.json` (and a replay's publications to `OUT/models/<n>.json`), so the run can
/// itself be replayed.
///
/// # Errors
/// A model file is unreadable or invalid (named).
pub fn session_models(ml: &MlConfig, journal: Option<&Path>, out: Option<&Path>) -> Result<SessionModels> {
    let recorded = journal.and_then(|j| j.parent()).map(|r| r.join(MODELS_DIR)).filter(|d| d.is_dir());
    let mut models = SessionModels::default();
    if let Some(dir) = recorded {
        let run = dir.parent().unwrap_or(&dir).to_path_buf();
        let opening = model_path(&run, 0);
        if opening.is_file() {
            models.opening = Some(Arc::new(EnsembleFilter::load(&opening, ml.threshold)?));
            if let Some(o) = out {
                copy_model(&opening, &model_path(o, 0))?;
            }
        }
        let board = ModelBoard::new(MAX_PUBLICATIONS);
        let mut any = false;
        for n in 1..=MAX_PUBLICATIONS as u64 {
            let p = model_path(&run, n);
            if !p.is_file() {
                continue;
            }
            board.publish(n, Arc::new(EnsembleFilter::load(&p, ml.threshold)?)).map_err(|e| anyhow!(e))?;
            if let Some(o) = out {
                copy_model(&p, &model_path(o, n))?;
            }
            any = true;
        }
        if any {
            models.board = Some(Arc::new(board));
        }
        return Ok(models);
    }
    if !ml.model.is_empty() {
        let path = Path::new(&ml.model);
        models.opening = Some(Arc::new(EnsembleFilter::load(path, ml.threshold)?));
        if let Some(o) = out {
            copy_model(path, &model_path(o, 0))?;
        }
    }
    Ok(models)
}

/// Publishes models during a session, replayably: each model is copied to
/// `RUN_DIR/models/<n>.json`, then put on the board, then announced by a sequenced
/// `ModelPublished { arg: n }` (in that order, so a journal replay finds every announced
/// model). A live session sends the announcement through a control ring ([`Self::announce`]);
/// a backtest schedules it at an event time (`SessionExtras::scheduled`).
pub struct ModelPublisher {
    board: Arc<ModelBoard>,
    run_dir: Option<PathBuf>,
    threshold: f64,
    next: u64,
}

impl ModelPublisher {
    /// A publisher onto a new board, journaling into `run_dir` (none: not recorded).
    pub fn new(run_dir: Option<&Path>, threshold: f64) -> Self {
        Self {
            board: Arc::new(ModelBoard::new(MAX_PUBLICATIONS)),
            run_dir: run_dir.map(Path::to_path_buf),
            threshold,
            next: 1,
        }
    }

    /// The board the signal stage reads.
    pub fn board(&self) -> Arc<ModelBoard> {
        self.board.clone()
    }

    /// Loads `path`, journals it and puts it on the board; returns the control input that
    /// makes it visible (send it through the sequencer).
    ///
    /// # Errors
    /// The model is invalid or cannot be journaled (nothing is published then).
    pub fn publish(&mut self, path: &Path) -> Result<Control> {
        let n = self.next;
        // Read once: the bytes journaled are exactly the bytes validated, even if the file
        // is replaced again meanwhile.
        let bytes =
            std::fs::read(path).with_context(|| format!("model file {}: cannot read", path.display()))?;
        let model = EnsembleFilter::from_bytes(&bytes, path, self.threshold)?;
        if let Some(d) = &self.run_dir {
            let to = model_path(d, n);
            if let Some(p) = to.parent() {
                std::fs::create_dir_all(p).with_context(|| format!("{}: cannot create", p.display()))?;
            }
            std::fs::write(&to, &bytes).with_context(|| format!("{}: cannot write", to.display()))?;
        }
        self.board.publish(n, Arc::new(model)).map_err(|e| anyhow!(e))?;
        self.next += 1;
        Ok(Control { kind: ControlKind::ModelPublished, arg: n, ..Control::default() })
    }

    /// [`Self::publish`], then pushes the announcement onto a control ring (live sessions).
    ///
    /// # Errors
    /// See [`Self::publish`]; the ring is full.
    pub fn announce(&mut self, path: &Path, ring: &mut rtrb::Producer<mia_model::msg::Msg>) -> Result<u64> {
        let c = self.publish(path)?;
        ring.push(mia_model::msg::Msg::Control(c)).map_err(|_| anyhow!("the control ring is full"))?;
        Ok(c.arg)
    }
}

/// Reads a CSV file with a header: (column names, rows of cells). Cells are split on commas
/// (MIA's CSVs carry no quoted commas).
///
/// # Errors
/// The file is unreadable or empty, or a row has a different number of cells (line named).
pub fn read_csv(path: &Path) -> Result<(Vec<String>, Vec<Vec<String>>)> {
    let text = std::fs::read_to_string(path).with_context(|| format!("{}: cannot read", path.display()))?;
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    let Some((_, head)) = lines.next() else { bail!("{}: empty file (no header)", path.display()) };
    let header: Vec<String> = head.split(',').map(|s| s.trim().to_string()).collect();
    let mut rows = Vec::new();
    for (i, l) in lines {
        let cells: Vec<String> = l.split(',').map(|s| s.trim().to_string()).collect();
        if cells.len() != header.len() {
            bail!(
                "{}: line {}: {} cells, the header has {}",
                path.display(),
                i + 1,
                cells.len(),
                header.len()
            );
        }
        rows.push(cells);
    }
    Ok((header, rows))
}

/// Index of column `name` in `header`.
///
/// # Errors
/// The column is missing (file named).
pub fn column(header: &[String], name: &str, file: &Path) -> Result<usize> {
    header.iter().position(|h| h == name).ok_or_else(|| {
        anyhow!("{}: no column {name:?} (the header has {})", file.display(), header.join(","))
    })
}

/// Parses a numeric cell: empty or `nan` (any case) is NaN.
///
/// # Errors
/// Not a number (file, line and column named).
pub fn number(cell: &str, file: &Path, line: usize, col: &str) -> Result<f64> {
    if cell.is_empty() || cell.eq_ignore_ascii_case("nan") {
        return Ok(f64::NAN);
    }
    cell.parse::<f64>()
        .map_err(|_| anyhow!("{}: line {line}: column {col}: {cell:?} is not a number", file.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use mia_model::features::FeatureId;

    #[test]
    fn names_and_input_follow_the_feature_order() {
        assert_eq!(ML_FEATURES[0], FeatureId::BookImbalance.name());
        assert_eq!(ML_FEATURES[ML_N - 3..], ["direction", "confidence", "tier"]);
        let mut v = FeatureVector::default();
        v.set(FeatureId::Delta, 12.0);
        let s = Signal { direction: Direction::Short, confidence: 0.5, tier: 2, ..Signal::default() };
        let x = model_input(&v, &s);
        assert_eq!(x[FeatureId::Delta.slot()], 12.0);
        assert_eq!(x[FeatureId::BookImbalance.slot()], 0.0, "invalid = 0");
        assert_eq!(x[ML_N - 3..], [-1.0, 0.5, 2.0]);
    }

    #[test]
    fn config_is_validated_by_key() {
        assert_eq!(MlConfig::default().validate(), Ok(()));
        let e = MlConfig { threshold: 1.5, ..MlConfig::default() }.validate().unwrap_err();
        assert!(e.starts_with("ml.threshold"), "{e}");
        let e = MlConfig { folds: 1, ..MlConfig::default() }.validate().unwrap_err();
        assert!(e.starts_with("ml.folds"), "{e}");
        let e = MlConfig { watch_ms: 0, ..MlConfig::default() }.validate().unwrap_err();
        assert!(e.starts_with("ml.watch_ms"), "{e}");
        let e = MlConfig { watch: true, ..MlConfig::default() }.validate().unwrap_err();
        assert!(e.starts_with("ml.watch:"), "{e}");
        let e = MlConfig { weight_rf: 0.0, weight_boosted: 0.0, weight_lr: 0.0, ..MlConfig::default() }
            .validate()
            .unwrap_err();
        assert!(e.contains("sum to 0"), "{e}");
    }
}
