//! `mia train RUN_DIR... --out model.json` (or `--csv DATASET.csv`): dataset → purged k-fold
//! validation of the ensemble (logistic regression + random forest + boosted trees, each fold
//! fitted on its purged, embargoed training rows, folds in parallel) → out-of-fold report
//! against "no filter" → the `[ml]` floors → the ensemble fitted on every row, exported.
//!
//! Calibration (`[ml] calibrate`, default on): a Platt scaling of the ensemble's weighted mean
//! is fitted on the out-of-fold predictions and stored in the model. The figures the floors
//! judge are *cross-fitted*: fold k's out-of-fold predictions are calibrated by a scaling
//! fitted on the other folds' out-of-fold predictions only, so no row is calibrated with its
//! own label. The exported model carries the scaling fitted on every out-of-fold row.
//!
//! A model below a floor is not written (the command fails and lists the reasons); the report
//! is written either way (`<out>.report.txt`).

use super::{column, number, MlConfig, ML_FEATURES, ML_N};
use anyhow::{anyhow, bail, Context, Result};
use mia_ml::{
    brier, calibration, check_floors, fit_platt, log_loss, precision_recall, purged_kfold, train_forest,
    train_gbm, train_logistic, validate, BoostedSource, FlatEnsemble, Floors, ForestConfig, GbmConfig,
    MemberWeights, Members, Platt, TrainConfig, ValidateConfig, ValidationReport, DEFAULT_THRESHOLD,
};
use rayon::prelude::*;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// A loaded dataset (rows in event-time order).
#[derive(Clone, Debug, Default)]
pub struct Dataset {
    /// Model inputs, in [`ML_FEATURES`] order.
    pub x: Vec<[f64; ML_N]>,
    /// Labels (`y`: target first).
    pub y: Vec<bool>,
    /// Label windows `(ts_ns, t_end_ns)`.
    pub windows: Vec<(u64, u64)>,
    /// Triple-barrier outcome in USD per contract, before costs (`tb_return_usd`).
    pub ret_usd: Vec<f64>,
}

impl Dataset {
    /// Rows.
    pub fn len(&self) -> usize {
        self.y.len()
    }

    /// No rows.
    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }

    /// Reads a `mia dataset` CSV (columns by name); rows are put in event-time order.
    ///
    /// # Errors
    /// The file is unreadable, a column is missing, a cell is not a number, or a feature is
    /// not finite (file, line and column named).
    pub fn load(path: &Path) -> Result<Self> {
        use std::io::BufRead;
        let f = std::fs::File::open(path).with_context(|| format!("{}: cannot read", path.display()))?;
        let mut lines = std::io::BufReader::new(f).lines();
        let head = match lines.next() {
            Some(l) => l.with_context(|| format!("{}: cannot read", path.display()))?,
            None => bail!("{}: empty file (no header)", path.display()),
        };
        let h: Vec<String> = head.split(',').map(|s| s.trim().to_string()).collect();
        let fc: Vec<usize> = ML_FEATURES.iter().map(|n| column(&h, n, path)).collect::<Result<_>>()?;
        let (cy, cts, cend, cret) = (
            column(&h, "y", path)?,
            column(&h, "ts_ns", path)?,
            column(&h, "t_end_ns", path)?,
            column(&h, "tb_return_usd", path)?,
        );
        let mut rec = Vec::new();
        for (i, l) in lines.enumerate() {
            let line = i + 2;
            let l = l.with_context(|| format!("{}: line {line}: cannot read", path.display()))?;
            if l.trim().is_empty() {
                continue;
            }
            let r: Vec<&str> = l.split(',').map(str::trim).collect();
            if r.len() != h.len() {
                bail!("{}: line {line}: {} cells, the header has {}", path.display(), r.len(), h.len());
            }
            let mut x = [0.0; ML_N];
            for (j, &c) in fc.iter().enumerate() {
                x[j] = number(r[c], path, line, ML_FEATURES[j])?;
                if !x[j].is_finite() {
                    bail!("{}: line {line}: column {}: not a finite number", path.display(), ML_FEATURES[j]);
                }
            }
            let int = |c: usize, name: &str| -> Result<u64> {
                r[c].parse::<u64>().map_err(|_| {
                    anyhow!("{}: line {line}: column {name}: {:?} is not an integer", path.display(), r[c])
                })
            };
            let y = match r[cy] {
                "1" => true,
                "0" => false,
                v => bail!("{}: line {line}: column y: {v:?} is not 0 or 1", path.display()),
            };
            let (t0, t1) = (int(cts, "ts_ns")?, int(cend, "t_end_ns")?);
            let ret = number(r[cret], path, line, "tb_return_usd")?;
            rec.push((t0, t1, x, y, ret));
        }
        rec.sort_by_key(|r| r.0);
        let mut d = Dataset::default();
        for (t0, t1, x, y, ret) in rec {
            d.windows.push((t0, t1.max(t0)));
            d.x.push(x);
            d.y.push(y);
            d.ret_usd.push(ret);
        }
        Ok(d)
    }
}

/// Fits the three members on `x`, `y` and assembles the ensemble.
///
/// # Errors
/// A member cannot be fitted (e.g. a single class).
pub fn fit(x: &[[f64; ML_N]], y: &[bool], ml: &MlConfig, threshold: f64) -> Result<FlatEnsemble<ML_N>> {
    fn e(what: &'static str) -> impl Fn(mia_ml::TrainError) -> anyhow::Error {
        move |err| anyhow!("{what}: {err}")
    }
    let lr = train_logistic(x, y, &TrainConfig::default()).map_err(e("logistic regression"))?;
    let trees = u16::try_from(ml.trees).map_err(|_| anyhow!("ml.trees: {} is too many", ml.trees))?;
    let rf = train_forest(x, y, &ForestConfig { trees, seed: ml.seed, ..ForestConfig::default() })
        .map_err(e("random forest"))?;
    let gbm = train_gbm(x, y, &GbmConfig { trees: ml.trees, ..GbmConfig::default() })
        .map_err(e("boosted trees"))?;
    let members = Members {
        lr: Some(lr.to_flat().map_err(|err| anyhow!("logistic regression: {err}"))?),
        rf: Some(rf.to_flat().map_err(e("random forest"))?),
        boosted: Some((BoostedSource::Gbm, gbm.to_flat().map_err(e("boosted trees"))?)),
    };
    let w = MemberWeights { rf: ml.weight_rf, boosted: ml.weight_boosted, lr: ml.weight_lr };
    FlatEnsemble::new(ML_FEATURES, members, w, threshold).map_err(|err| anyhow!("ensemble: {err}"))
}

/// One side of the "filter vs no filter" comparison over out-of-fold rows.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Side {
    /// Signals taken.
    pub n: usize,
    /// Share labelled 1 (target first).
    pub win_rate: f64,
    /// Mean triple-barrier outcome, USD per contract, before costs.
    pub mean_usd: f64,
}

fn side(idx: impl Iterator<Item = usize>, d: &Dataset) -> Side {
    let (mut n, mut w, mut s) = (0usize, 0usize, 0.0);
    for i in idx {
        n += 1;
        w += usize::from(d.y[i]);
        s += d.ret_usd[i];
    }
    if n == 0 {
        return Side::default();
    }
    Side { n, win_rate: w as f64 / n as f64, mean_usd: s / n as f64 }
}

/// What `mia train` found.
#[derive(Clone, Debug)]
pub struct TrainOutcome {
    /// Out-of-fold validation (every row predicted by a model that never saw it nor any row
    /// whose label window overlaps its fold), of the predictions the exported model would
    /// make: cross-fitted calibrated ones when `[ml] calibrate`, else the raw weighted mean.
    pub oof: ValidationReport,
    /// Out-of-fold log loss of the uncalibrated weighted mean.
    pub raw_log_loss: f64,
    /// Out-of-fold Brier score of the uncalibrated weighted mean.
    pub raw_brier: f64,
    /// The calibration stored in the model (fitted on every out-of-fold row).
    pub calibration: Option<Platt>,
    /// No filter: every out-of-fold row.
    pub unfiltered: Side,
    /// The filter: out-of-fold rows approved at the threshold.
    pub filtered: Side,
    /// Floors failed (empty: exported).
    pub failed: Vec<String>,
    /// The report text.
    pub report: String,
    /// The final ensemble (fitted on every row), when the floors passed.
    pub model: Option<FlatEnsemble<ML_N>>,
}

/// Validates and fits on `d`.
///
/// # Errors
/// Too few rows for the folds, or a fit fails.
pub fn train(d: &Dataset, ml: &MlConfig) -> Result<TrainOutcome> {
    let threshold = if ml.threshold > 0.0 { ml.threshold } else { DEFAULT_THRESHOLD };
    let splits = purged_kfold(&d.windows, ml.folds, ml.embargo_s.saturating_mul(1_000_000_000))
        .map_err(|e| anyhow!("purged k-fold over {} rows: {e}", d.len()))?;
    let vcfg = ValidateConfig { threshold, seed: ml.seed, permutation_repeats: 3 };
    let folds: Vec<Result<(Vec<f64>, Option<ValidationReport>)>> = splits
        .par_iter()
        .enumerate()
        .map(|(k, s)| {
            let xt: Vec<[f64; ML_N]> = s.train.iter().map(|&i| d.x[i]).collect();
            let yt: Vec<bool> = s.train.iter().map(|&i| d.y[i]).collect();
            let m = fit(&xt, &yt, ml, threshold).map_err(|e| anyhow!("fold {k}: {e}"))?;
            let p: Vec<f64> = s.test.clone().map(|i| m.predict(&d.x[i])).collect();
            // Permutation importance on the last fold's held-out rows (out of sample).
            let imp = if k + 1 == splits.len() {
                validate(|x| m.predict(x), &d.x[s.test.clone()], &d.y[s.test.clone()], &vcfg).ok()
            } else {
                None
            };
            Ok((p, imp))
        })
        .collect();
    let mut raw = vec![f64::NAN; d.len()];
    let mut importance = Vec::new();
    for (s, f) in splits.iter().zip(folds) {
        let (p, imp) = f?;
        for (i, v) in s.test.clone().zip(p) {
            raw[i] = v;
        }
        if let Some(r) = imp {
            importance = r.importance;
        }
    }
    // Rows no test fold covers (none with purged k-fold's contiguous folds) are left out.
    let covered: Vec<usize> = (0..d.len()).filter(|&i| !raw[i].is_nan()).collect();
    // A fold whose Platt slope comes out ≤ 0 (the scores do not rank the label there) makes
    // the calibration unusable: the run goes on uncalibrated and the report says why.
    let cross_fit = || -> Result<(Vec<f64>, Platt), String> {
        let mut oof = raw.clone();
        for s in &splits {
            let (p, y): (Vec<f64>, Vec<bool>) =
                covered.iter().filter(|i| !s.test.contains(i)).map(|&i| (raw[i], d.y[i])).unzip();
            let c = fit_platt(&p, &y)
                .map_err(|e| format!("rows {}..{} held out: {e}", s.test.start, s.test.end))?;
            for i in s.test.clone() {
                oof[i] = c.apply(raw[i]);
            }
        }
        let (p, y): (Vec<f64>, Vec<bool>) = covered.iter().map(|&i| (raw[i], d.y[i])).unzip();
        Ok((oof, fit_platt(&p, &y).map_err(|e| format!("all rows: {e}"))?))
    };
    let (oof, cal, refused) = if ml.calibrate {
        match cross_fit() {
            Ok((oof, c)) => (oof, Some(c), None),
            Err(e) => (raw.clone(), None, Some(e)),
        }
    } else {
        (raw.clone(), None, None)
    };
    let (precision, recall) = precision_recall(&oof, &d.y, threshold);
    let report = ValidationReport {
        samples: d.len(),
        positives: d.y.iter().filter(|&&y| y).count(),
        auc: mia_ml::auc(&oof, &d.y),
        log_loss: log_loss(&oof, &d.y),
        brier: brier(&oof, &d.y),
        calibration: calibration(&oof, &d.y),
        threshold,
        precision,
        recall,
        importance,
    };
    let unfiltered = side(0..d.len(), d);
    let filtered = side((0..d.len()).filter(|&i| oof[i] >= threshold), d);
    let floors = Floors { min_auc: ml.min_auc, max_log_loss: ml.max_log_loss, min_samples: ml.min_samples };
    let failed = check_floors(&report, &floors).err().unwrap_or_default();
    let model =
        if failed.is_empty() { Some(fit(&d.x, &d.y, ml, threshold)?.with_calibration(cal)) } else { None };
    let (raw_log_loss, raw_brier) = (log_loss(&raw, &d.y), brier(&raw, &d.y));
    let mut text = render(&report, &unfiltered, &filtered, &failed, ml);
    let line = match cal {
        Some(c) => format!(
            "calibration: platt a {:.4} b {:.4} (fitted out of fold; figures above cross-fitted); uncalibrated out of fold: log_loss {raw_log_loss:.4} brier {raw_brier:.4}\n",
            c.a, c.b
        ),
        None => match &refused {
            Some(e) => format!("calibration: refused ({e}); figures and model uncalibrated\n"),
            None => "calibration: none ([ml] calibrate = false)\n".to_string(),
        },
    };
    text.insert_str(text.find('\n').map_or(0, |i| i + 1), &line);
    Ok(TrainOutcome {
        oof: report,
        raw_log_loss,
        raw_brier,
        calibration: cal,
        unfiltered,
        filtered,
        failed,
        report: text,
        model,
    })
}

fn opt(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.4}"))
}

/// The validation report.
pub fn render(r: &ValidationReport, un: &Side, fi: &Side, failed: &[String], ml: &MlConfig) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "validation: purged {}-fold, embargo {} s, out of fold ({} rows, {} positive = target first)",
        ml.folds, ml.embargo_s, r.samples, r.positives
    );
    let _ = writeln!(
        t,
        "auc {}  log_loss {:.4}  brier {:.4}  threshold {:.2}: precision {} recall {}",
        opt(r.auc),
        r.log_loss,
        r.brier,
        r.threshold,
        opt(r.precision),
        opt(r.recall)
    );
    let _ = writeln!(t, "calibration (predicted bin: rows, mean predicted, observed):");
    for b in &r.calibration {
        let _ = writeln!(
            t,
            "  [{:.1}, {:.1}): {:>6}  {}  {}",
            b.lo,
            b.hi,
            b.count,
            opt(b.mean_predicted),
            opt(b.observed)
        );
    }
    let _ =
        writeln!(t, "against no filter (out of fold; triple-barrier outcome per contract, before costs):");
    for (name, s) in [("no filter", un), ("filter", fi)] {
        let _ = writeln!(
            t,
            "  {name:<9}  signals {:>6}  win_rate {:.4}  mean_usd {:.2}",
            s.n, s.win_rate, s.mean_usd
        );
    }
    if !r.importance.is_empty() {
        let _ =
            writeln!(t, "permutation importance (last fold's held-out rows, uncalibrated fold model; AUC drop, log-loss increase):");
        let mut imp = r.importance.clone();
        imp.sort_by(|a, b| b.auc_drop.unwrap_or(0.0).total_cmp(&a.auc_drop.unwrap_or(0.0)));
        for i in imp {
            let _ = writeln!(
                t,
                "  {:<22} {}  {:.5}",
                ML_FEATURES[i.feature],
                opt(i.auc_drop),
                i.log_loss_increase
            );
        }
    }
    if failed.is_empty() {
        let _ = writeln!(
            t,
            "floors: passed (min_auc {}, max_log_loss {:.4}, min_samples {})",
            ml.min_auc, ml.max_log_loss, ml.min_samples
        );
    } else {
        let _ = writeln!(t, "floors: FAILED, model not exported: {}", failed.join("; "));
    }
    t
}

/// Where the report of a model written to `out` goes.
pub fn report_path(out: &Path) -> PathBuf {
    out.with_extension("report.txt")
}

/// `mia train`: from run directories (through `mia dataset`) or a dataset CSV.
///
/// # Errors
/// The dataset cannot be built or read, training fails, a floor fails (the report is written
/// first), or the model cannot be written.
pub fn run(runs: &[PathBuf], csv: Option<&Path>, ml: &MlConfig, out: &Path) -> Result<()> {
    let data_path = match csv {
        Some(p) => p.to_path_buf(),
        None => {
            let p = out.with_extension("dataset.csv");
            super::dataset::run(runs, ml, &p)?;
            p
        }
    };
    let d = Dataset::load(&data_path)?;
    let t0 = std::time::Instant::now();
    let o = train(&d, ml)?;
    let rp = report_path(out);
    std::fs::write(&rp, &o.report).map_err(|e| anyhow!("{}: cannot write: {e}", rp.display()))?;
    print!("{}", o.report);
    eprintln!("trained in {:.1} s", t0.elapsed().as_secs_f64());
    match o.model {
        Some(m) => {
            m.save(out).map_err(|e| anyhow!("{e}"))?;
            println!("wrote {} (report: {})", out.display(), rp.display());
            Ok(())
        }
        None => bail!("model not exported: {} (report: {})", o.failed.join("; "), rp.display()),
    }
}
