//! Import of a model saved by Python `xgboost` with `booster.save_model("m.json")` into the
//! flat tree format ([`crate::tree`]).
//!
//! Read from the JSON (XGBoost's documented model schema, `doc/model.schema` in its repository):
//! `learner.objective.name` (must be `binary:logistic`), `learner.learner_model_param`
//! (`base_score`, `num_feature`, `num_class`), `learner.gradient_booster` (`name` must be
//! `gbtree`; `model.trees[*]` with `left_children`, `right_children`, `split_indices`,
//! `split_conditions`, `default_left`, `split_type`, `base_weights`; `model.tree_info`), and
//! `learner.feature_names` when present. Unknown fields are ignored (the schema grows).
//!
//! Semantics reproduced (verified by `ml/tests/xgboost_parity.rs` against xgboost's own
//! predictions):
//! - xgboost converts inputs to `f32` and sends a row left iff `x_f32 < split_condition`;
//!   a NaN (missing) goes to `default_left`. MIA's features are `f64`, so each threshold `t`
//!   is replaced by the `f64` value `t'` for which `x < t'` ⇔ `(x as f32) < t` for every
//!   non-NaN `x` ([`f32_lt_threshold`]): the midpoint between `t` and the next `f32` below,
//!   adjusted by one `f64` ulp according to round-half-to-even.
//! - A leaf's output is its `split_conditions` entry (learning rate already applied).
//! - `base_score` is stored in probability space (xgboost ≥ 1.0; ≥ 3.0 writes it as a
//!   one-element list `"[4.92E-1]"`); the margin is `ln(p / (1 − p))`.
//! - The probability is `sigmoid(margin + Σ leaves)`. xgboost sums in `f32`, MIA in `f64`:
//!   the two agree to ~1e-7.
//!
//! Refused with the JSON path of the offending field: another objective or booster (e.g.
//! `dart`, whose tree weights are not applied here), multi-class, categorical splits, a
//! feature count other than the caller's, malformed or non-finite numbers.

use std::path::Path;

use serde_json::Value;

use crate::flat::{ModelFileError, ModelFileReason};
use crate::tree::{TreeModel, TreeModelSpec, TreeOutput, TreeSpec};

/// An XGBoost import error: the JSON path of the field and the problem.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("`{field}`: {problem}")]
pub struct XgbError {
    /// JSON path of the offending field, e.g. `learner.gradient_booster.model.trees[3].left_children[7]`.
    pub field: String,
    /// What is wrong.
    pub problem: String,
}

fn err(field: impl Into<String>, problem: impl Into<String>) -> XgbError {
    XgbError { field: field.into(), problem: problem.into() }
}

/// An imported XGBoost model: the tree model and the feature names xgboost recorded (empty if
/// it was trained without names).
#[derive(Debug, Clone, PartialEq)]
pub struct XgbModel {
    /// The trees in the flat format, output `sigmoid(base_margin + Σ leaves)`.
    pub spec: TreeModelSpec,
    /// `learner.feature_names` (may be empty).
    pub feature_names: Vec<String>,
}

/// The `f64` threshold equivalent to xgboost's `f32` split test: for every non-NaN `x`,
/// `x < f32_lt_threshold(t)` ⇔ `(x as f32) < t`. `t` must be finite.
pub fn f32_lt_threshold(t: f32) -> f64 {
    // (x as f32) < t  ⇔  (x as f32) <= p, p the f32 just below t  ⇔  x < m, or x == m when m
    // rounds down to p, with m the (exact in f64) midpoint of p and t. Round-half-to-even
    // sends m to whichever of p and t has an even significand.
    let p = t.next_down();
    let (p64, p_even) =
        if p.is_finite() { (f64::from(p), p.to_bits() & 1 == 0) } else { (-(2f64.powi(128)), true) };
    let m = (p64 + f64::from(t)) / 2.0;
    if p_even {
        m.next_up()
    } else {
        m
    }
}

fn at<'a>(v: &'a Value, path: &str, key: &str) -> Result<&'a Value, XgbError> {
    v.get(key).ok_or_else(|| err(format!("{path}.{key}"), "missing"))
}

fn str_at<'a>(v: &'a Value, path: &str, key: &str) -> Result<&'a str, XgbError> {
    at(v, path, key)?.as_str().ok_or_else(|| err(format!("{path}.{key}"), "not a string"))
}

/// A number written as a JSON number, a string (`"5E-1"`), or a one-element list in a string
/// (`"[5E-1]"`, xgboost ≥ 3.0).
fn number(v: &Value, field: &str) -> Result<f64, XgbError> {
    let parsed = match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => {
            let s = s.trim();
            let inner = s.strip_prefix('[').and_then(|s| s.strip_suffix(']')).unwrap_or(s);
            if inner.contains(',') {
                return Err(err(
                    field,
                    format!("{s:?} has several values (multi-target models are not supported)"),
                ));
            }
            inner.trim().parse::<f64>().ok()
        }
        _ => None,
    };
    match parsed {
        Some(x) if x.is_finite() => Ok(x),
        _ => Err(err(field, format!("{v} is not a finite number"))),
    }
}

fn array<'a>(tree: &'a Value, path: &str, key: &str) -> Result<&'a Vec<Value>, XgbError> {
    at(tree, path, key)?.as_array().ok_or_else(|| err(format!("{path}.{key}"), "not an array"))
}

fn ints(tree: &Value, path: &str, key: &str) -> Result<Vec<i64>, XgbError> {
    array(tree, path, key)?
        .iter()
        .enumerate()
        .map(|(i, v)| {
            v.as_i64().ok_or_else(|| err(format!("{path}.{key}[{i}]"), format!("{v} is not an integer")))
        })
        .collect()
}

/// Parses xgboost's saved JSON `text` for a caller with `n_features` features.
pub fn parse_xgboost_json(text: &str, n_features: usize) -> Result<XgbModel, XgbError> {
    let root: Value =
        serde_json::from_str(text).map_err(|e| err("(document)", format!("malformed JSON: {e}")))?;
    let learner =
        at(&root, "(root)", "learner").map_err(|_| err("learner", "missing: not an xgboost model"))?;
    let objective = str_at(at(learner, "learner", "objective")?, "learner.objective", "name")?;
    if objective != "binary:logistic" {
        return Err(err(
            "learner.objective.name",
            format!("{objective:?} is not supported (only binary:logistic)"),
        ));
    }
    let param = at(learner, "learner", "learner_model_param")?;
    let p = "learner.learner_model_param";
    let base_score = number(at(param, p, "base_score")?, &format!("{p}.base_score"))?;
    if !(base_score > 0.0 && base_score < 1.0) {
        return Err(err(format!("{p}.base_score"), format!("{base_score} is not a probability in (0, 1)")));
    }
    let base_margin = (base_score / (1.0 - base_score)).ln();
    if let Some(nc) = param.get("num_class") {
        let nc = number(nc, &format!("{p}.num_class"))?;
        if nc > 1.0 {
            return Err(err(
                format!("{p}.num_class"),
                format!("{nc} classes: only binary models are supported"),
            ));
        }
    }
    let nf = number(at(param, p, "num_feature")?, &format!("{p}.num_feature"))?;
    if nf != n_features as f64 {
        return Err(err(
            format!("{p}.num_feature"),
            format!("model has {nf} features, caller has {n_features}"),
        ));
    }
    let feature_names = match learner.get("feature_names") {
        Some(Value::Array(a)) => a
            .iter()
            .enumerate()
            .map(|(i, v)| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| err(format!("learner.feature_names[{i}]"), "not a string"))
            })
            .collect::<Result<Vec<_>, _>>()?,
        _ => Vec::new(),
    };

    let gb = at(learner, "learner", "gradient_booster")?;
    let booster = str_at(gb, "learner.gradient_booster", "name")?;
    if booster != "gbtree" {
        return Err(err(
            "learner.gradient_booster.name",
            format!("{booster:?} is not supported (only gbtree)"),
        ));
    }
    let model = at(gb, "learner.gradient_booster", "model")?;
    let mp = "learner.gradient_booster.model";
    if let Some(info) = model.get("tree_info") {
        for (i, g) in ints(model, mp, "tree_info").unwrap_or_default().iter().enumerate() {
            if *g != 0 {
                return Err(err(
                    format!("{mp}.tree_info[{i}]"),
                    format!("output group {g}: only one output is supported"),
                ));
            }
        }
        if !info.is_array() {
            return Err(err(format!("{mp}.tree_info"), "not an array"));
        }
    }
    let trees = array(model, mp, "trees")?;
    if trees.is_empty() {
        return Err(err(format!("{mp}.trees"), "the model has no tree"));
    }
    let mut specs = Vec::with_capacity(trees.len());
    for (t, tree) in trees.iter().enumerate() {
        specs.push(parse_tree(tree, &format!("{mp}.trees[{t}]"), n_features)?);
    }
    Ok(XgbModel {
        spec: TreeModelSpec { output: TreeOutput::Logistic { base_margin }, trees: specs },
        feature_names,
    })
}

fn parse_tree(tree: &Value, path: &str, n_features: usize) -> Result<TreeSpec, XgbError> {
    let left = ints(tree, path, "left_children")?;
    let right = ints(tree, path, "right_children")?;
    let split_index = ints(tree, path, "split_indices")?;
    let cond = array(tree, path, "split_conditions")?;
    let default_left = array(tree, path, "default_left")?;
    let split_type = match tree.get("split_type") {
        Some(_) => ints(tree, path, "split_type")?,
        None => Vec::new(),
    };
    let n = left.len();
    if n == 0 {
        return Err(err(format!("{path}.left_children"), "a tree needs at least one node"));
    }
    for (key, len) in [
        ("right_children", right.len()),
        ("split_indices", split_index.len()),
        ("split_conditions", cond.len()),
        ("default_left", default_left.len()),
    ] {
        if len != n {
            return Err(err(format!("{path}.{key}"), format!("has {len} entries, left_children has {n}")));
        }
    }
    let mut spec = TreeSpec {
        feature: vec![0; n],
        value: vec![0.0; n],
        left: vec![-1; n],
        right: vec![-1; n],
        default_left: vec![false; n],
    };
    for i in 0..n {
        let c = number(&cond[i], &format!("{path}.split_conditions[{i}]"))?;
        let c32 = c as f32;
        if !c32.is_finite() {
            return Err(err(format!("{path}.split_conditions[{i}]"), format!("{c} overflows f32")));
        }
        if left[i] == -1 && right[i] == -1 {
            spec.value[i] = f64::from(c32);
            continue;
        }
        for (key, child) in [("left_children", left[i]), ("right_children", right[i])] {
            if child <= i as i64 || child >= n as i64 {
                return Err(err(
                    format!("{path}.{key}[{i}]"),
                    format!("child {child} out of range {}..{n}", i + 1),
                ));
            }
        }
        if split_type.get(i).is_some_and(|&s| s != 0) {
            return Err(err(format!("{path}.split_type[{i}]"), "categorical splits are not supported"));
        }
        let f = split_index[i];
        if f < 0 || f as u64 >= n_features as u64 {
            return Err(err(
                format!("{path}.split_indices[{i}]"),
                format!("feature {f} out of range 0..{n_features}"),
            ));
        }
        spec.feature[i] = f as u32;
        spec.value[i] = f32_lt_threshold(c32);
        spec.left[i] = left[i] as i32; // < n, checked above, and n fits: it is a JSON array length
        spec.right[i] = right[i] as i32;
        spec.default_left[i] = match &default_left[i] {
            Value::Bool(b) => *b,
            Value::Number(x) if x.as_u64() == Some(0) => false,
            Value::Number(x) if x.as_u64() == Some(1) => true,
            v => {
                return Err(err(format!("{path}.default_left[{i}]"), format!("{v} is not 0, 1 or a boolean")))
            }
        };
    }
    Ok(spec)
}

/// Reads an xgboost JSON model file into a validated hot-path [`TreeModel`] for `n_features`
/// inputs; errors name the file and the field.
pub fn load_xgboost(path: &Path, n_features: usize) -> Result<(TreeModel, Vec<String>), ModelFileError> {
    let file_err = |reason: ModelFileReason| ModelFileError { path: path.to_path_buf(), reason };
    let text = std::fs::read_to_string(path).map_err(|e| file_err(ModelFileReason::Io(e)))?;
    let model = parse_xgboost_json(&text, n_features)
        .map_err(|e| file_err(ModelFileReason::Field { field: e.field, problem: e.problem }))?;
    let tree = TreeModel::new(model.spec, n_features).map_err(|e| {
        file_err(ModelFileReason::Field {
            field: "learner.gradient_booster.model".into(),
            problem: e.to_string(),
        })
    })?;
    Ok((tree, model.feature_names))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;

    #[test]
    fn threshold_reproduces_f32_comparison() {
        let mut rng = SplitMix64::new(3);
        let specials = [
            0.0f32,
            -0.0,
            1.0,
            -1.0,
            0.1,
            197.29344,
            -836.06696,
            f32::MIN_POSITIVE,
            1e-40,
            -f32::MAX,
            f32::MAX,
        ];
        let mut checked = 0;
        for k in 0..20_000 {
            let t = if k < specials.len() { specials[k] } else { ((rng.next_f64() - 0.5) * 2000.0) as f32 };
            let tt = f32_lt_threshold(t);
            let p = f64::from(t.next_down());
            let m = (p + f64::from(t)) / 2.0;
            // Around the midpoint, around t, and random nearby values.
            let mut probes = vec![
                m,
                m.next_up(),
                m.next_down(),
                f64::from(t),
                f64::from(t).next_up(),
                f64::from(t).next_down(),
                p,
            ];
            probes.push(f64::from(t) + (rng.next_f64() - 0.5) * 1e-5 * f64::from(t).abs().max(1e-30));
            for x in probes {
                if x.is_finite() {
                    assert_eq!(x < tt, (x as f32) < t, "t {t:e} x {x:e} t' {tt:e}");
                    checked += 1;
                }
            }
        }
        assert!(checked > 100_000);
    }

    fn tiny() -> serde_json::Value {
        serde_json::json!({"learner": {
            "objective": {"name": "binary:logistic"},
            "learner_model_param": {"base_score": "[5E-1]", "num_feature": "2", "num_class": "0"},
            "feature_names": ["a", "b"],
            "gradient_booster": {"name": "gbtree", "model": {"tree_info": [0], "trees": [{
                "left_children": [1, -1, -1], "right_children": [2, -1, -1], "split_indices": [1, 0, 0],
                "split_conditions": [0.5, -0.25, 0.75], "default_left": [1, 0, 0], "split_type": [0, 0, 0],
                "base_weights": [0.0, -0.25, 0.75]
            }]}}
        }})
    }

    #[test]
    fn parses_a_hand_written_model() {
        let m = parse_xgboost_json(&tiny().to_string(), 2).unwrap();
        assert_eq!(m.feature_names, ["a", "b"]);
        let model = TreeModel::new(m.spec, 2).unwrap();
        assert_eq!(model.score(&[0.0, 0.4]), -0.25);
        assert_eq!(model.score(&[0.0, 0.5]), 0.75);
        assert_eq!(model.score(&[0.0, f64::NAN]), -0.25); // default left
        assert_eq!(model.predict(&[9.0, 0.0]), crate::flat::sigmoid(-0.25));
    }

    #[test]
    fn refuses_what_it_cannot_reproduce_naming_the_field() {
        let check = |edit: &dyn Fn(&mut serde_json::Value), field: &str, problem: &str| {
            let mut v = tiny();
            edit(&mut v);
            let e = parse_xgboost_json(&v.to_string(), 2).unwrap_err();
            assert_eq!(e.field, field, "{e}");
            assert!(e.problem.contains(problem), "{e}");
        };
        check(
            &|v| v["learner"]["objective"]["name"] = "reg:squarederror".into(),
            "learner.objective.name",
            "not supported",
        );
        check(
            &|v| v["learner"]["gradient_booster"]["name"] = "dart".into(),
            "learner.gradient_booster.name",
            "only gbtree",
        );
        check(
            &|v| v["learner"]["learner_model_param"]["num_feature"] = "3".into(),
            "learner.learner_model_param.num_feature",
            "caller has 2",
        );
        check(
            &|v| v["learner"]["learner_model_param"]["base_score"] = "[1E0]".into(),
            "learner.learner_model_param.base_score",
            "probability",
        );
        check(
            &|v| v["learner"]["learner_model_param"]["base_score"] = "nan".into(),
            "learner.learner_model_param.base_score",
            "finite",
        );
        check(
            &|v| v["learner"]["learner_model_param"]["num_class"] = "3".into(),
            "learner.learner_model_param.num_class",
            "binary",
        );
        let t = "learner.gradient_booster.model.trees[0]";
        check(
            &|v| v["learner"]["gradient_booster"]["model"]["trees"][0]["split_type"][0] = 1.into(),
            &format!("{t}.split_type[0]"),
            "categorical",
        );
        check(
            &|v| v["learner"]["gradient_booster"]["model"]["trees"][0]["split_indices"][0] = 5.into(),
            &format!("{t}.split_indices[0]"),
            "out of range",
        );
        check(
            &|v| v["learner"]["gradient_booster"]["model"]["trees"][0]["left_children"][0] = 0.into(),
            &format!("{t}.left_children[0]"),
            "out of range",
        );
        check(
            &|v| {
                v["learner"]["gradient_booster"]["model"]["trees"][0]["split_conditions"][2] =
                    serde_json::Value::Null
            },
            &format!("{t}.split_conditions[2]"),
            "finite",
        );
        check(
            &|v| v["learner"]["gradient_booster"]["model"]["trees"][0]["split_conditions"][0] = 1e300.into(),
            &format!("{t}.split_conditions[0]"),
            "overflows f32",
        );
        check(
            &|v| v["learner"]["gradient_booster"]["model"]["trees"][0]["default_left"][0] = 2.into(),
            &format!("{t}.default_left[0]"),
            "not 0, 1",
        );
        check(
            &|v| {
                v["learner"]["gradient_booster"]["model"]["trees"][0]["right_children"] =
                    serde_json::json!([2, -1])
            },
            &format!("{t}.right_children"),
            "has 2 entries",
        );
        check(
            &|v| v["learner"]["gradient_booster"]["model"]["tree_info"][0] = 1.into(),
            "learner.gradient_booster.model.tree_info[0]",
            "one output",
        );
        check(
            &|v| v["learner"]["gradient_booster"]["model"]["trees"] = serde_json::json!([]),
            "learner.gradient_booster.model.trees",
            "no tree",
        );
        let e = parse_xgboost_json("{", 2).unwrap_err();
        assert!(e.problem.contains("malformed"));
        let e = parse_xgboost_json("{}", 2).unwrap_err();
        assert_eq!(e.field, "learner");
    }

    #[test]
    fn load_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad_xgb.json");
        std::fs::write(&p, "{\"learner\": {}}").unwrap();
        let e = load_xgboost(&p, 2).unwrap_err().to_string();
        assert!(e.contains("bad_xgb.json") && e.contains("learner.objective"), "{e}");
        let p = dir.path().join("ok.json");
        std::fs::write(&p, tiny().to_string()).unwrap();
        let (m, names) = load_xgboost(&p, 2).unwrap();
        assert_eq!((m.trees().len(), names.len()), (1, 2));
    }
}
