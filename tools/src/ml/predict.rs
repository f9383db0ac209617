//! `mia predict --model FILE --csv DATA.csv [--out P.csv]`: one probability per CSV row, for
//! an ensemble written by `mia train` or a model saved by Python xgboost
//! (`booster.save_model("m.json")`), so anyone can check parity with another tool.
//!
//! The model's inputs are taken by name from the CSV header, in the model's feature order (an
//! xgboost model saved without names reads columns `f0`, `f1`, …). An empty cell or `nan` is a
//! missing value (NaN: xgboost's missing; in an ensemble, trees follow the split's default
//! direction and the logistic member gives NaN).

use super::{column, number, read_csv, ML_N};
use anyhow::{anyhow, bail, Context, Result};
use mia_ml::{load_xgboost, FlatEnsemble, TreeModel};
use std::io::Write;
use std::path::Path;

/// A model `mia predict` can evaluate.
pub enum AnyModel {
    /// An ensemble of [`ML_N`] inputs.
    Ensemble(Box<FlatEnsemble<ML_N>>),
    /// An imported xgboost model.
    Xgboost(TreeModel),
}

impl AnyModel {
    /// The probability of one input row (in [`Self::names`] order).
    ///
    /// # Panics
    /// Never: an ensemble row has [`ML_N`] values (checked by [`predict_csv`]).
    pub fn predict(&self, x: &[f64]) -> f64 {
        match self {
            AnyModel::Ensemble(e) => {
                let mut a = [0.0; ML_N];
                a.copy_from_slice(&x[..ML_N]);
                e.predict(&a)
            }
            AnyModel::Xgboost(t) => t.predict(x),
        }
    }
}

/// Loads an ensemble (`"kind": "ensemble"`) or an xgboost JSON model, with its input names.
///
/// # Errors
/// Unreadable, malformed or unsupported (the error names the file and the field).
pub fn load_model(path: &Path) -> Result<(AnyModel, Vec<String>)> {
    let text = std::fs::read_to_string(path).with_context(|| format!("{}: cannot read", path.display()))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| anyhow!("{}: malformed JSON: {e}", path.display()))?;
    if v.get("kind").is_some() {
        let e = FlatEnsemble::<ML_N>::load(path).map_err(|e| anyhow!("{e}"))?;
        let names = e.feature_names().to_vec();
        return Ok((AnyModel::Ensemble(Box::new(e)), names));
    }
    let Some(nf) = v.pointer("/learner/learner_model_param/num_feature") else {
        bail!("{}: neither a MIA ensemble (`kind`) nor an xgboost model (`learner.learner_model_param.num_feature`)", path.display());
    };
    let n: usize = match nf {
        serde_json::Value::String(s) => s.parse().ok(),
        serde_json::Value::Number(n) => n.as_u64().map(|n| n as usize),
        _ => None,
    }
    .ok_or_else(|| {
        anyhow!("{}: `learner.learner_model_param.num_feature`: {nf} is not a count", path.display())
    })?;
    let (tree, mut names) = load_xgboost(path, n).map_err(|e| anyhow!("{e}"))?;
    if names.is_empty() {
        names = (0..n).map(|i| format!("f{i}")).collect();
    }
    Ok((AnyModel::Xgboost(tree), names))
}

/// The probabilities of every row of `csv`.
///
/// # Errors
/// See [`load_model`]; a model input has no column, or a cell is not a number.
pub fn predict_csv(model: &Path, csv: &Path) -> Result<Vec<f64>> {
    let (m, names) = load_model(model)?;
    let (h, rows) = read_csv(csv)?;
    let cols: Vec<usize> = names.iter().map(|n| column(&h, n, csv)).collect::<Result<_>>()?;
    let mut x = vec![0.0; cols.len()];
    let mut out = Vec::with_capacity(rows.len());
    for (i, r) in rows.iter().enumerate() {
        for (j, &c) in cols.iter().enumerate() {
            x[j] = number(&r[c], csv, i + 2, &names[j])?;
        }
        out.push(m.predict(&x));
    }
    Ok(out)
}

/// `mia predict`: prints (or writes to `out`) one probability per row, in row order.
///
/// # Errors
/// See [`predict_csv`]; `out` cannot be written.
pub fn run(model: &Path, csv: &Path, out: Option<&Path>) -> Result<()> {
    let p = predict_csv(model, csv)?;
    let mut text = String::with_capacity(p.len() * 20);
    for v in p {
        text.push_str(&format!("{v}\n"));
    }
    match out {
        Some(o) => std::fs::write(o, text).with_context(|| format!("{}: cannot write", o.display()))?,
        None => match std::io::stdout().lock().write_all(text.as_bytes()) {
            // A reader that stops early (`| head`) is not an error.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
            r => r.context("stdout")?,
        },
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> std::path::PathBuf {
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../ml/tests/fixtures")).join(name)
    }

    /// The committed xgboost fixtures (see `ml/tests/fixtures/make_xgb.py`): predictions by
    /// column name from the CSV equal xgboost's own to 1e-6 on every row.
    #[test]
    fn xgboost_predictions_match_python_by_column_name() {
        for m in ["xgb_depth1", "xgb_depth5"] {
            let got = predict_csv(&fixture(&format!("{m}.json")), &fixture("xgb_data.csv")).expect("predict");
            let want: Vec<f64> = std::fs::read_to_string(fixture(&format!("{m}_pred.csv")))
                .expect("predictions")
                .lines()
                .filter(|l| !l.is_empty())
                .map(|l| l.trim().parse().expect("number"))
                .collect();
            assert_eq!(got.len(), want.len(), "{m}");
            let worst = got.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
            assert!(worst <= 1e-6, "{m}: max |diff| {worst}");
        }
    }

    #[test]
    fn a_missing_column_is_named() {
        let d = tempfile::tempdir().expect("tmp");
        let csv = d.path().join("x.csv");
        std::fs::write(&csv, "f0,f1\n1,2\n").expect("write");
        let e = predict_csv(&fixture("xgb_depth1.json"), &csv).expect_err("f2 missing");
        assert!(e.to_string().contains("\"f2\""), "{e}");
    }
}
