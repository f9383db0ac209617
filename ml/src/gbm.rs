//! Gradient-boosted trees for the binary logistic loss, trained here (a small histogram-based
//! trainer; see `docs/ml.md` for why no crate is used), exported to the flat tree format.
//!
//! Training, per feature: up to `max_bins − 1` cut points at quantiles of the training
//! values (midpoints between neighbouring distinct values); a value's bin is the number of
//! cuts `≤ x`. Per round: gradients `g = p − y` and hessians `h = p(1 − p)` of the log loss at
//! the current margin; a tree grown depth-first to `max_depth`, each node split at the
//! (feature, cut) of largest gain `G_L²/(H_L+λ) + G_R²/(H_R+λ) − G²/(H+λ)` over the per-bin
//! gradient histograms, provided both sides keep hessian ≥ `min_child_hessian` and the gain
//! exceeds `min_gain`; leaf value `−η·G/(H+λ)`. The first margin is `ln(positives/negatives)`.
//!
//! Export: "bin ≤ k" is exactly "x < cut[k]", so a split on cut `k` becomes threshold
//! `cut[k]` with the flat rule `x < value`. A NaN (never seen in training: inputs must be
//! finite) goes to the child that had more hessian weight. Deterministic: no sampling.

use crate::train::{check_training_set, TrainError};
use crate::tree::{TreeModel, TreeModelSpec, TreeOutput, TreeSpec};

/// Boosting parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GbmConfig {
    /// Boosting rounds (trees).
    pub trees: usize,
    /// Maximum tree depth (≥ 1, ≤ [`crate::tree::MAX_DEPTH`]).
    pub max_depth: usize,
    /// Learning rate η in (0, 1].
    pub learning_rate: f64,
    /// L2 penalty λ on leaf values (≥ 0).
    pub lambda: f64,
    /// Minimum hessian sum in each child of a split (≥ 0).
    pub min_child_hessian: f64,
    /// Minimum gain to split (≥ 0).
    pub min_gain: f64,
    /// Bins per feature, 2..=256.
    pub max_bins: usize,
}

impl Default for GbmConfig {
    fn default() -> Self {
        Self {
            trees: 100,
            max_depth: 4,
            learning_rate: 0.1,
            lambda: 1.0,
            min_child_hessian: 1.0,
            min_gain: 0.0,
            max_bins: 64,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Node {
    /// Split feature (leaf: unused).
    feature: usize,
    /// Split: left iff bin ≤ `bin`.
    bin: usize,
    /// Children, `None` for a leaf.
    children: Option<(usize, usize)>,
    /// Leaf value.
    value: f64,
    /// NaN goes left (the heavier child).
    default_left: bool,
}

/// A boosted model trained by [`train_gbm`] over `N` features.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainedGbm<const N: usize> {
    cuts: Vec<Vec<f64>>,
    trees: Vec<Vec<Node>>,
    base_margin: f64,
    train_margins: Vec<f64>,
}

fn bin_of(cuts: &[f64], x: f64) -> usize {
    cuts.partition_point(|&c| c <= x)
}

fn make_cuts(values: &mut [f64], max_bins: usize) -> Vec<f64> {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    let mut cuts = Vec::new();
    let mut push = |a: f64, b: f64| {
        if a < b {
            let c = a + (b - a) / 2.0;
            if cuts.last().is_none_or(|&l| c > l) {
                cuts.push(c);
            }
        }
    };
    let mut distinct = values.to_vec();
    distinct.dedup();
    if distinct.len() <= max_bins {
        for w in distinct.windows(2) {
            push(w[0], w[1]);
        }
    } else {
        for q in 1..max_bins {
            let i = q * n / max_bins;
            if i > 0 && i < n {
                push(values[i - 1], values[i]);
            }
        }
    }
    cuts
}

/// Fits boosted trees to rows `x` with labels `y` (`true` = positive class).
///
/// Fails (never panics) on empty or mismatched input, non-finite features, a single class,
/// `N = 0`, or out-of-range parameters.
pub fn train_gbm<const N: usize>(
    x: &[[f64; N]],
    y: &[bool],
    cfg: &GbmConfig,
) -> Result<TrainedGbm<N>, TrainError> {
    check_training_set(x, y)?;
    let ok = cfg.trees > 0
        && (1..=crate::tree::MAX_DEPTH).contains(&cfg.max_depth)
        && cfg.learning_rate > 0.0
        && cfg.learning_rate <= 1.0
        && cfg.lambda >= 0.0
        && cfg.min_child_hessian >= 0.0
        && cfg.min_gain >= 0.0
        && cfg.lambda.is_finite()
        && cfg.min_child_hessian.is_finite()
        && cfg.min_gain.is_finite()
        && (2..=256).contains(&cfg.max_bins);
    if !ok {
        return Err(TrainError::BadParameter(format!("{cfg:?}")));
    }
    let n = x.len();
    let cuts: Vec<Vec<f64>> = (0..N)
        .map(|f| {
            let mut col: Vec<f64> = x.iter().map(|r| r[f]).collect();
            make_cuts(&mut col, cfg.max_bins)
        })
        .collect();
    // Column-major bins (u8: at most 256 bins).
    let bins: Vec<Vec<u8>> =
        (0..N).map(|f| x.iter().map(|r| bin_of(&cuts[f], r[f]) as u8).collect()).collect();
    let target: Vec<f64> = y.iter().map(|&l| f64::from(u8::from(l))).collect();
    let pos = target.iter().sum::<f64>();
    let base_margin = (pos / (n as f64 - pos)).ln();
    let mut margin = vec![base_margin; n];
    let mut grad = vec![0.0; n];
    let mut hess = vec![0.0; n];
    let mut rows: Vec<u32> = Vec::with_capacity(n);
    let mut trees = Vec::with_capacity(cfg.trees);
    let mut hist = vec![[0.0f64; 2]; 256 * N];
    for _ in 0..cfg.trees {
        for i in 0..n {
            let p = crate::flat::sigmoid(margin[i]);
            grad[i] = p - target[i];
            hess[i] = (p * (1.0 - p)).max(1e-16);
        }
        rows.clear();
        rows.extend(0..n as u32);
        let mut nodes: Vec<Node> = Vec::new();
        // (node id, rows range, depth); node ids grow, so children > parent.
        let mut stack = vec![(0usize, 0usize, n, 0usize)];
        nodes.push(Node { feature: 0, bin: 0, children: None, value: 0.0, default_left: false });
        while let Some((id, lo, hi, depth)) = stack.pop() {
            let part = &mut rows[lo..hi];
            let (g, h) =
                part.iter().fold((0.0, 0.0), |(g, h), &r| (g + grad[r as usize], h + hess[r as usize]));
            nodes[id].value = -cfg.learning_rate * g / (h + cfg.lambda);
            if depth >= cfg.max_depth || part.len() < 2 {
                continue;
            }
            let parent_score = g * g / (h + cfg.lambda);
            let mut best: Option<(f64, usize, usize, f64)> = None; // gain, feature, bin, left hessian
            for f in 0..N {
                let nb = cuts[f].len() + 1;
                let hf = &mut hist[f * 256..f * 256 + nb];
                hf.iter_mut().for_each(|b| *b = [0.0; 2]);
                for &r in part.iter() {
                    let b = &mut hf[bins[f][r as usize] as usize];
                    b[0] += grad[r as usize];
                    b[1] += hess[r as usize];
                }
                let (mut gl, mut hl) = (0.0, 0.0);
                for (k, b) in hf.iter().enumerate().take(nb - 1) {
                    gl += b[0];
                    hl += b[1];
                    let (gr, hr) = (g - gl, h - hl);
                    if hl < cfg.min_child_hessian || hr < cfg.min_child_hessian || hl <= 0.0 || hr <= 0.0 {
                        continue;
                    }
                    let gain = gl * gl / (hl + cfg.lambda) + gr * gr / (hr + cfg.lambda) - parent_score;
                    if gain > cfg.min_gain && best.is_none_or(|(bg, ..)| gain > bg) {
                        best = Some((gain, f, k, hl));
                    }
                }
            }
            let Some((_, f, k, hl)) = best else { continue };
            // Partition rows: bin ≤ k first.
            let mut split = 0;
            for i in 0..part.len() {
                if bins[f][part[i] as usize] as usize <= k {
                    part.swap(i, split);
                    split += 1;
                }
            }
            if split == 0 || split == part.len() {
                continue;
            }
            let (l, r) = (nodes.len(), nodes.len() + 1);
            for _ in 0..2 {
                nodes.push(Node { feature: 0, bin: 0, children: None, value: 0.0, default_left: false });
            }
            nodes[id].feature = f;
            nodes[id].bin = k;
            nodes[id].children = Some((l, r));
            nodes[id].default_left = hl >= h - hl;
            stack.push((r, lo + split, hi, depth + 1));
            stack.push((l, lo, lo + split, depth + 1));
        }
        for (i, m) in margin.iter_mut().enumerate() {
            *m += walk_bins(&nodes, |f| bins[f][i] as usize);
        }
        trees.push(nodes);
    }
    let trained = TrainedGbm { cuts, trees, base_margin, train_margins: margin };
    if !trained.base_margin.is_finite() {
        return Err(TrainError::Export("base margin is not finite".into()));
    }
    trained.to_flat()?;
    Ok(trained)
}

fn walk_bins(nodes: &[Node], bin: impl Fn(usize) -> usize) -> f64 {
    let mut i = 0;
    loop {
        let n = &nodes[i];
        match n.children {
            None => return n.value,
            Some((l, r)) => i = if bin(n.feature) <= n.bin { l } else { r },
        }
    }
}

impl<const N: usize> TrainedGbm<N> {
    /// Number of trees.
    pub fn len(&self) -> usize {
        self.trees.len()
    }

    /// Whether there is no tree (never true for a trained model).
    pub fn is_empty(&self) -> bool {
        self.trees.is_empty()
    }

    /// The margin of every training row after the last round (as accumulated in training).
    pub fn train_margins(&self) -> &[f64] {
        &self.train_margins
    }

    /// The initial margin `ln(positives / negatives)`.
    pub fn base_margin(&self) -> f64 {
        self.base_margin
    }

    /// Reference probability computed the way training routes rows (by bin), with leaf values
    /// added in tree order: the flat export must agree exactly. `x` must be finite.
    pub fn predict_reference(&self, x: &[f64; N]) -> f64 {
        let b: [usize; N] = std::array::from_fn(|f| bin_of(&self.cuts[f], x[f]));
        let mut s = 0.0;
        for t in &self.trees {
            s += walk_bins(t, |f| b[f]);
        }
        crate::flat::sigmoid(self.base_margin + s)
    }

    /// The model in the flat tree format.
    pub fn to_spec(&self) -> TreeModelSpec {
        let trees = self
            .trees
            .iter()
            .map(|nodes| {
                let n = nodes.len();
                let mut s = TreeSpec {
                    feature: vec![0; n],
                    value: vec![0.0; n],
                    left: vec![-1; n],
                    right: vec![-1; n],
                    default_left: vec![false; n],
                };
                for (i, node) in nodes.iter().enumerate() {
                    match node.children {
                        None => s.value[i] = node.value,
                        Some((l, r)) => {
                            s.feature[i] = node.feature as u32;
                            s.value[i] = self.cuts[node.feature][node.bin];
                            s.left[i] = l as i32;
                            s.right[i] = r as i32;
                            s.default_left[i] = node.default_left;
                        }
                    }
                }
                s
            })
            .collect();
        TreeModelSpec { output: TreeOutput::Logistic { base_margin: self.base_margin }, trees }
    }

    /// The hot-path model (validated flat trees).
    pub fn to_flat(&self) -> Result<TreeModel, TrainError> {
        TreeModel::new(self.to_spec(), N).map_err(|e| TrainError::Export(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;

    /// An XOR-like interaction a linear model cannot learn, plus a gridded feature.
    fn data(seed: u64, n: usize) -> (Vec<[f64; 4]>, Vec<bool>) {
        let mut rng = SplitMix64::new(seed);
        let mut x = Vec::new();
        let mut y = Vec::new();
        for _ in 0..n {
            let r = [
                rng.next_f64() * 2.0 - 1.0,
                rng.next_f64() * 2.0 - 1.0,
                (rng.next_f64() * 10.0).floor(),
                rng.next_f64(),
            ];
            let label = ((r[0] > 0.0) != (r[1] > 0.0) || r[2] >= 8.0) != (rng.next_f64() < 0.05);
            x.push(r);
            y.push(label);
        }
        (x, y)
    }

    #[test]
    fn learns_an_interaction_and_flat_equals_the_reference_exactly() {
        let (x, y) = data(1, 3000);
        let cfg = GbmConfig { trees: 60, max_depth: 3, learning_rate: 0.3, ..Default::default() };
        let m = train_gbm(&x[..2000], &y[..2000], &cfg).unwrap();
        assert_eq!(m.len(), 60);
        let flat = m.to_flat().unwrap();
        // Training margins (accumulated during boosting, from the base margin on, so in a
        // different summation order) agree with the reference routing.
        for (row, margin) in x[..2000].iter().zip(&m.train_margins) {
            assert!((m.predict_reference(row) - crate::flat::sigmoid(*margin)).abs() < 1e-12);
        }
        let mut hits = 0;
        for (row, &label) in x[2000..].iter().zip(&y[2000..]) {
            let p = flat.predict(row);
            assert_eq!(p, m.predict_reference(row), "{row:?}");
            hits += usize::from((p > 0.5) == label);
        }
        assert!(hits > 900, "held-out accuracy {hits}/1000");
        // Rows exactly on the cut points (where `<` vs `<=` matters).
        let mut rng = SplitMix64::new(9);
        for _ in 0..2000 {
            let row: [f64; 4] = std::array::from_fn(|f| {
                let c = &m.cuts[f];
                if c.is_empty() {
                    0.0
                } else {
                    c[rng.below(c.len())]
                }
            });
            assert_eq!(flat.predict(&row), m.predict_reference(&row), "{row:?}");
        }
    }

    #[test]
    fn cuts_bins_and_parameters() {
        let mut v = vec![3.0, 1.0, 2.0, 2.0, 1.0];
        assert_eq!(make_cuts(&mut v, 16), vec![1.5, 2.5]);
        assert_eq!((bin_of(&[1.5, 2.5], 1.0), bin_of(&[1.5, 2.5], 1.5), bin_of(&[1.5, 2.5], 9.0)), (0, 1, 2));
        let mut many: Vec<f64> = (0..1000).map(f64::from).collect();
        let c = make_cuts(&mut many, 4);
        assert_eq!(c, vec![249.5, 499.5, 749.5]);
        let (x, y) = data(2, 200);
        for bad in [
            GbmConfig { trees: 0, ..Default::default() },
            GbmConfig { max_depth: 0, ..Default::default() },
            GbmConfig { learning_rate: 0.0, ..Default::default() },
            GbmConfig { lambda: f64::NAN, ..Default::default() },
            GbmConfig { max_bins: 300, ..Default::default() },
        ] {
            assert!(matches!(train_gbm(&x, &y, &bad), Err(TrainError::BadParameter(_))), "{bad:?}");
        }
        assert!(matches!(
            train_gbm(&x, &[false; 200], &GbmConfig::default()),
            Err(TrainError::OneClass { .. })
        ));
        let a = train_gbm(&x, &y, &GbmConfig { trees: 5, ..Default::default() }).unwrap();
        let b = train_gbm(&x, &y, &GbmConfig { trees: 5, ..Default::default() }).unwrap();
        assert_eq!(a, b);
        // A constant feature is never split on.
        let xc: Vec<[f64; 4]> = x.iter().map(|r| [r[0], r[1], 7.0, r[3]]).collect();
        let m = train_gbm(&xc, &y, &GbmConfig { trees: 10, ..Default::default() }).unwrap();
        assert!(m.to_spec().trees.iter().all(|t| (0..t.len()).all(|i| t.left[i] < 0 || t.feature[i] != 2)));
    }
}
