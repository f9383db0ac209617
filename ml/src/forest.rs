//! Random forest: trained with `smartcore`'s `RandomForestClassifier`, exported to the flat
//! tree format ([`crate::tree`]).
//!
//! smartcore 0.7 keeps its tree nodes private; with its `serde` feature the fitted forest
//! serializes them (`trees[t].nodes[i]`: `output`, `split_feature`, `split_value`,
//! `true_child`, `false_child`), and that is what the export reads. smartcore sends a row to
//! the *true* child iff `x <= split_value`; the flat format's rule is `x < value`, so the
//! exported threshold is `split_value.next_up()` (the next `f64`), which is the same test for
//! every non-NaN `x`. A NaN goes to the false child in smartcore (`NaN <= t` is false), so
//! `default_left` is false.
//!
//! Leaf values. smartcore's leaves hold only a class, so a vote forest's probability is the
//! share of trees voting 1 — a depth-limited forest pushes that toward the majority class
//! (badly calibrated). The exported model ([`TrainedForest::to_spec`]) therefore carries, in
//! each leaf, the **fraction of positive training rows that reach that leaf** (every training
//! row routed through the tree's exported splits, which route exactly as smartcore's), and the
//! forest's probability is the mean of those fractions ([`TreeOutput::Mean`]) — the usual
//! "mean of leaf class frequencies" of a probability forest. (smartcore does not record the
//! bootstrap multiplicities — `keep_samples` keeps only in/out flags — so the fractions are
//! over all training rows, in-bag and out-of-bag.) [`TrainedForest::to_vote_spec`] is the
//! vote form (leaf 1.0 for the positive class, else 0.0; class positive iff the mean vote
//! exceeds ½ — smartcore's majority rule, a tie goes to class 0), which the parity test
//! compares to smartcore's own `predict`.

use smartcore::ensemble::random_forest_classifier::{
    RandomForestClassifier, RandomForestClassifierParameters,
};
use smartcore::linalg::basic::matrix::DenseMatrix;

use crate::train::{check_rows, TrainError};
use crate::tree::{TreeModel, TreeModelSpec, TreeOutput, TreeSpec};

type Rf = RandomForestClassifier<f64, i32, DenseMatrix<f64>, Vec<i32>>;

/// Random forest training parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ForestConfig {
    /// Number of trees.
    pub trees: u16,
    /// Maximum tree depth.
    pub max_depth: u16,
    /// Minimum rows in a leaf.
    pub min_samples_leaf: usize,
    /// Minimum rows to split a node.
    pub min_samples_split: usize,
    /// Features tried per split; `None` = `floor(sqrt(N))` (smartcore's default).
    pub features_per_split: Option<usize>,
    /// Seed of the bootstrap and feature sampling (deterministic).
    pub seed: u64,
}

impl Default for ForestConfig {
    fn default() -> Self {
        Self {
            trees: 100,
            max_depth: 6,
            min_samples_leaf: 5,
            min_samples_split: 10,
            features_per_split: None,
            seed: 0,
        }
    }
}

/// A fitted smartcore random forest over `N` features.
#[derive(Debug)]
pub struct TrainedForest<const N: usize> {
    model: Rf,
    /// Per tree, per node: the positive fraction of the training rows reaching the leaf
    /// (unused at splits).
    fractions: Vec<Vec<f64>>,
}

fn matrix<const N: usize>(x: &[[f64; N]]) -> Result<DenseMatrix<f64>, TrainError> {
    let values: Vec<f64> = x.iter().flatten().copied().collect();
    DenseMatrix::new(x.len(), N, values, false).map_err(|e| TrainError::Smartcore(e.to_string()))
}

/// Fits a random forest to rows `x` with labels `y` (`true` = positive class).
///
/// Fails (never panics) on empty or mismatched input, non-finite features, a single class,
/// `N = 0`, zero trees or depth, or a smartcore failure.
pub fn train_forest<const N: usize>(
    x: &[[f64; N]],
    y: &[bool],
    config: &ForestConfig,
) -> Result<TrainedForest<N>, TrainError> {
    crate::train::check_training_set(x, y)?;
    if config.trees == 0 || config.max_depth == 0 {
        return Err(TrainError::BadParameter(format!(
            "trees {} and max_depth {} must be > 0",
            config.trees, config.max_depth
        )));
    }
    let labels: Vec<i32> = y.iter().map(|&l| i32::from(l)).collect();
    let params = RandomForestClassifierParameters {
        max_depth: Some(config.max_depth.min(crate::tree::MAX_DEPTH as u16)),
        min_samples_leaf: config.min_samples_leaf.max(1),
        min_samples_split: config.min_samples_split.max(2),
        n_trees: config.trees,
        m: config.features_per_split.map(|m| m.clamp(1, N)),
        keep_samples: false,
        seed: config.seed,
        ..Default::default()
    };
    let model = Rf::fit(&matrix(x)?, &labels, params).map_err(|e| TrainError::Smartcore(e.to_string()))?;
    let mut trained = TrainedForest { model, fractions: Vec::new() };
    let votes = trained.to_vote_spec()?; // an unexportable forest is an error now, not at export
    trained.fractions = leaf_fractions(&votes, x, y)?;
    trained.to_flat()?;
    Ok(trained)
}

/// The positive fraction of the rows `x` (labels `y`) reaching each leaf of each tree of
/// `spec`. A leaf no row reaches (impossible for a forest fitted on `x`: its bootstrap rows
/// come from `x` and the export routes exactly like smartcore) gets the overall positive
/// rate.
fn leaf_fractions<const N: usize>(
    spec: &TreeModelSpec,
    x: &[[f64; N]],
    y: &[bool],
) -> Result<Vec<Vec<f64>>, TrainError> {
    let base = y.iter().filter(|&&l| l).count() as f64 / y.len().max(1) as f64;
    spec.trees
        .iter()
        .enumerate()
        .map(|(t, tree)| {
            let mut pos = vec![0u64; tree.len()];
            let mut all = vec![0u64; tree.len()];
            for (row, &label) in x.iter().zip(y) {
                let leaf = tree.leaf_of(row).ok_or_else(|| bad(format_args!("trees[{t}] is malformed")))?;
                all[leaf] += 1;
                pos[leaf] += u64::from(label);
            }
            Ok(pos.iter().zip(&all).map(|(&p, &a)| if a == 0 { base } else { p as f64 / a as f64 }).collect())
        })
        .collect()
}

fn bad(what: impl std::fmt::Display) -> TrainError {
    TrainError::Export(format!("smartcore forest: {what}"))
}

fn get<'a>(v: &'a serde_json::Value, key: &str, at: &str) -> Result<&'a serde_json::Value, TrainError> {
    v.get(key).ok_or_else(|| bad(format_args!("{at}.{key} missing")))
}

fn as_index(v: &serde_json::Value, at: &str) -> Result<Option<usize>, TrainError> {
    match v {
        serde_json::Value::Null => Ok(None),
        v => v
            .as_u64()
            .and_then(|u| usize::try_from(u).ok())
            .map(Some)
            .ok_or_else(|| bad(format_args!("{at} is {v}"))),
    }
}

impl<const N: usize> TrainedForest<N> {
    /// Class labels from smartcore's own `predict` (the reference for the flat export).
    pub fn predict_labels(&self, x: &[[f64; N]]) -> Result<Vec<bool>, TrainError> {
        if x.is_empty() {
            return Ok(Vec::new());
        }
        check_rows(x)?;
        let y = self.model.predict(&matrix(x)?).map_err(|e| TrainError::Smartcore(e.to_string()))?;
        Ok(y.into_iter().map(|c| c == 1).collect())
    }

    /// The exported forest: smartcore's splits, each leaf holding the positive fraction of
    /// the training rows reaching it, output = mean over trees (the forest's probability).
    pub fn to_spec(&self) -> Result<TreeModelSpec, TrainError> {
        let mut spec = self.to_vote_spec()?;
        if self.fractions.len() != spec.trees.len() {
            return Err(bad("leaf fractions were not estimated"));
        }
        for (tree, f) in spec.trees.iter_mut().zip(&self.fractions) {
            for (i, v) in tree.value.iter_mut().enumerate() {
                if tree.left[i] < 0 {
                    *v = f[i];
                }
            }
        }
        Ok(spec)
    }

    /// The vote form of the forest (leaf = 1.0 for a positive vote, output = mean): its
    /// class (mean > ½) is smartcore's `predict`.
    pub fn to_vote_spec(&self) -> Result<TreeModelSpec, TrainError> {
        let v = serde_json::to_value(&self.model).map_err(bad)?;
        let classes = get(&v, "classes", "forest")?;
        let classes: Vec<i64> = classes
            .as_array()
            .ok_or_else(|| bad("classes is not an array"))?
            .iter()
            .map(|c| c.as_i64().ok_or_else(|| bad(format_args!("class {c}"))))
            .collect::<Result<_, _>>()?;
        let trees = get(&v, "trees", "forest")?.as_array().ok_or_else(|| bad("trees is not an array"))?;
        let mut specs = Vec::with_capacity(trees.len());
        for (t, tree) in trees.iter().enumerate() {
            let at = format!("trees[{t}]");
            let nodes = get(tree, "nodes", &at)?.as_array().ok_or_else(|| bad(format_args!("{at}.nodes")))?;
            let n = nodes.len();
            let mut spec = TreeSpec {
                feature: vec![0; n],
                value: vec![0.0; n],
                left: vec![-1; n],
                right: vec![-1; n],
                default_left: vec![false; n],
            };
            for (i, node) in nodes.iter().enumerate() {
                let at = format!("{at}.nodes[{i}]");
                let t_child = as_index(get(node, "true_child", &at)?, &at)?;
                let f_child = as_index(get(node, "false_child", &at)?, &at)?;
                match (t_child, f_child) {
                    (None, None) => {
                        let out = as_index(get(node, "output", &at)?, &at)?
                            .ok_or_else(|| bad(format_args!("{at}.output")))?;
                        let class = classes
                            .get(out)
                            .ok_or_else(|| bad(format_args!("{at}.output {out} not a class")))?;
                        spec.value[i] = if *class == 1 { 1.0 } else { 0.0 };
                    }
                    (Some(l), Some(r)) => {
                        let split = get(node, "split_value", &at)?
                            .as_f64()
                            .ok_or_else(|| bad(format_args!("{at}.split_value missing on a split")))?;
                        let feature = as_index(get(node, "split_feature", &at)?, &at)?.unwrap_or(usize::MAX);
                        spec.feature[i] =
                            u32::try_from(feature).map_err(|_| bad(format_args!("{at}.split_feature")))?;
                        spec.value[i] = split.next_up();
                        spec.left[i] = i32::try_from(l).map_err(|_| bad(format_args!("{at}.true_child")))?;
                        spec.right[i] =
                            i32::try_from(r).map_err(|_| bad(format_args!("{at}.false_child")))?;
                    }
                    _ => return Err(bad(format_args!("{at} has one child"))),
                }
            }
            specs.push(spec);
        }
        Ok(TreeModelSpec { output: TreeOutput::Mean, trees: specs })
    }

    /// The hot-path model (validated flat trees, leaf fractions: [`Self::to_spec`]).
    pub fn to_flat(&self) -> Result<TreeModel, TrainError> {
        TreeModel::new(self.to_spec()?, N).map_err(|e| TrainError::Export(e.to_string()))
    }

    /// The vote form as a hot-path model ([`Self::to_vote_spec`]).
    pub fn to_vote_flat(&self) -> Result<TreeModel, TrainError> {
        TreeModel::new(self.to_vote_spec()?, N).map_err(|e| TrainError::Export(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;

    /// A nonlinear problem (an interaction and a threshold) with label noise; values rounded
    /// to a grid so that many test values fall exactly on training values (and thresholds'
    /// neighbours), which exercises the `<=` → `<` conversion.
    fn data<const N: usize>(seed: u64, n: usize) -> (Vec<[f64; N]>, Vec<bool>) {
        let mut rng = SplitMix64::new(seed);
        let mut x = Vec::with_capacity(n);
        let mut y = Vec::with_capacity(n);
        for _ in 0..n {
            let r: [f64; N] = std::array::from_fn(|_| ((rng.next_f64() * 8.0 - 4.0) * 4.0).round() / 4.0);
            let label = (r[0] * r[1] > 0.5 || r[2] > 2.0) != (rng.next_f64() < 0.1);
            x.push(r);
            y.push(label);
        }
        (x, y)
    }

    #[test]
    fn flat_export_predicts_exactly_what_smartcore_predicts() {
        let (x, y) = data::<6>(1, 3000);
        let cfg = ForestConfig { trees: 40, max_depth: 6, seed: 3, ..Default::default() };
        let trained = train_forest(&x[..2000], &y[..2000], &cfg).unwrap();
        let flat = trained.to_vote_flat().unwrap();
        assert_eq!(flat.trees().len(), 40);
        let test = &x[2000..];
        let reference = trained.predict_labels(test).unwrap();
        let mut positives = 0;
        for (row, want) in test.iter().zip(&reference) {
            let p = flat.predict(row);
            assert!((0.0..=1.0).contains(&p));
            assert_eq!(p > 0.5, *want, "row {row:?}: flat p {p}, smartcore {want}");
            positives += usize::from(*want);
        }
        // The comparison is not vacuous: both classes are predicted, and the forest learned.
        assert!(positives > 100 && positives < 900, "{positives}");
        let acc = test.iter().zip(&y[2000..]).filter(|(r, &l)| (flat.predict(&r[..]) > 0.5) == l).count();
        assert!(acc as f64 / 1000.0 > 0.8, "accuracy {acc}/1000");
        assert!(flat.spec().trees.iter().all(|t| t.default_left.iter().all(|d| !d)));

        // Rows whose values sit exactly on smartcore's split values (`x <= t` is true there,
        // `x < t` would be false): the `next_up` conversion must keep them on the true side.
        // (Split values read from smartcore's own serialized nodes, not from the export.)
        let mut splits: Vec<Vec<f64>> = vec![Vec::new(); 6];
        let raw = serde_json::to_value(&trained.model).unwrap();
        for tree in raw["trees"].as_array().unwrap() {
            for node in tree["nodes"].as_array().unwrap() {
                if let Some(v) = node["split_value"].as_f64() {
                    splits[node["split_feature"].as_u64().unwrap() as usize].push(v);
                }
            }
        }
        assert!(splits.iter().all(|s| !s.is_empty()));
        let mut rng = SplitMix64::new(17);
        let on_split: Vec<[f64; 6]> =
            (0..1000).map(|_| std::array::from_fn(|f| splits[f][rng.below(splits[f].len())])).collect();
        let reference = trained.predict_labels(&on_split).unwrap();
        for (row, want) in on_split.iter().zip(&reference) {
            assert_eq!(flat.predict(row) > 0.5, *want, "on-split row {row:?}");
        }
        assert!(reference.iter().any(|&l| l) && reference.iter().any(|&l| !l));
    }

    /// smartcore's serialized nodes walked with smartcore's own rule (`x <= split_value` →
    /// true child), independently of the export: the leaf id each row reaches in tree `t`.
    fn smartcore_leaf(raw: &serde_json::Value, t: usize, row: &[f64]) -> usize {
        let nodes = raw["trees"][t]["nodes"].as_array().unwrap();
        let mut i = 0;
        loop {
            let n = &nodes[i];
            match (n["true_child"].as_u64(), n["false_child"].as_u64()) {
                (Some(l), Some(r)) => {
                    let f = n["split_feature"].as_u64().unwrap() as usize;
                    i = if row[f] <= n["split_value"].as_f64().unwrap() { l } else { r } as usize;
                }
                _ => return i,
            }
        }
    }

    #[test]
    fn exported_leaves_are_the_training_class_fractions_of_smartcores_leaves() {
        let (x, y) = data::<6>(4, 3000);
        let cfg = ForestConfig { trees: 30, max_depth: 5, seed: 9, ..Default::default() };
        let (tx, ty) = (&x[..2000], &y[..2000]);
        let trained = train_forest(tx, ty, &cfg).unwrap();
        let flat = trained.to_flat().unwrap();
        let raw = serde_json::to_value(&trained.model).unwrap();
        // Reference: per tree, per smartcore leaf, the positive share of the training rows.
        let counts: Vec<std::collections::HashMap<usize, (u32, u32)>> = (0..30)
            .map(|t| {
                let mut m = std::collections::HashMap::new();
                for (row, &l) in tx.iter().zip(ty) {
                    let e = m.entry(smartcore_leaf(&raw, t, row)).or_insert((0, 0));
                    e.0 += u32::from(l);
                    e.1 += 1;
                }
                m
            })
            .collect();
        let reference = |row: &[f64; 6]| -> f64 {
            let s: f64 = (0..30)
                .map(|t| {
                    let (p, a) = counts[t][&smartcore_leaf(&raw, t, row)];
                    f64::from(p) / f64::from(a)
                })
                .sum();
            s / 30.0
        };
        // Held-out rows, and rows made of smartcore's split values (where `<=` vs `<` matters).
        let mut splits: Vec<Vec<f64>> = vec![Vec::new(); 6];
        for tree in raw["trees"].as_array().unwrap() {
            for node in tree["nodes"].as_array().unwrap() {
                if let Some(v) = node["split_value"].as_f64() {
                    splits[node["split_feature"].as_u64().unwrap() as usize].push(v);
                }
            }
        }
        let mut rng = SplitMix64::new(23);
        let on_split: Vec<[f64; 6]> = (0..500)
            .map(|_| {
                std::array::from_fn(|f| {
                    if splits[f].is_empty() {
                        0.0
                    } else {
                        splits[f][rng.below(splits[f].len())]
                    }
                })
            })
            .collect();
        let mut fractional = 0;
        for row in x[2000..].iter().chain(&on_split) {
            let (p, want) = (flat.predict(row), reference(row));
            assert!((p - want).abs() <= 1e-12, "row {row:?}: flat {p}, reference {want}");
            fractional += usize::from(p > 0.0 && p < 1.0 && (p * 30.0).fract().abs() > 1e-9);
        }
        assert!(fractional > 100, "leaves are fractions, not votes ({fractional})");
        // And the point of it: held-out log loss is better than the vote forest's.
        let votes = trained.to_vote_flat().unwrap();
        let ll = |m: &TreeModel| -> f64 {
            let p: Vec<f64> = x[2000..].iter().map(|r| m.predict(r)).collect();
            crate::validate::log_loss(&p, &y[2000..])
        };
        assert!(ll(&flat) < ll(&votes), "fractions {} votes {}", ll(&flat), ll(&votes));
    }

    #[test]
    fn training_is_deterministic_and_errors_are_reported() {
        let (x, y) = data::<3>(2, 400);
        let cfg = ForestConfig { trees: 8, ..Default::default() };
        let a = train_forest(&x, &y, &cfg).unwrap().to_spec().unwrap();
        let b = train_forest(&x, &y, &cfg).unwrap().to_spec().unwrap();
        assert_eq!(a, b);
        assert!(matches!(
            train_forest(&x, &y, &ForestConfig { trees: 0, ..cfg }),
            Err(TrainError::BadParameter(_))
        ));
        assert_eq!(train_forest::<3>(&[], &[], &cfg).unwrap_err(), TrainError::Empty);
        let mut bad_x = x.clone();
        bad_x[7][1] = f64::NAN;
        assert!(matches!(train_forest(&bad_x, &y, &cfg), Err(TrainError::NonFinite { row: 7, col: 1, .. })));
        assert!(matches!(train_forest(&x, &vec![true; 400], &cfg), Err(TrainError::OneClass { .. })));
    }
}
