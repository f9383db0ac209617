//! The flat tree format shared by every tree model (random forest, gradient boosting, XGBoost
//! import), and its allocation-free, recursion-free evaluation.
//!
//! A tree is described by a [`TreeSpec`]: parallel arrays indexed by node id, node 0 the root.
//! A split node `i` sends `x` left iff `x[feature[i]] < value[i]`; a NaN feature value goes
//! left iff `default_left[i]`. A leaf has `left[i] == right[i] == -1` and its output in
//! `value[i]`. Children always have a larger id than their parent (so a tree cannot loop),
//! and depth is at most [`MAX_DEPTH`].
//!
//! [`FlatTrees::new`] validates the specs and lays every tree of a model into **one**
//! contiguous `Vec` of 16-byte nodes, breadth-first with the two children of a split in
//! adjacent slots (so a node stores one child index and the step is `left + went_right`).
//! Leaves point to themselves, so each tree is walked for a fixed number of steps (its depth)
//! with no leaf test and no data-dependent branch: the CPU overlaps the walks of [`GROUP`]
//! trees evaluated side by side. Leaf values (a parallel array) are then added in tree order,
//! so the sum is the same as a naive per-tree loop, bit for bit.

use serde::{Deserialize, Serialize};

use crate::flat::sigmoid;

/// Deepest tree accepted (edges from the root to the deepest leaf).
pub const MAX_DEPTH: usize = 32;

/// Trees walked side by side in [`FlatTrees::sum`].
pub const GROUP: usize = 8;

/// The on-disk and builder form of one tree: parallel arrays indexed by node id (root = 0).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TreeSpec {
    /// Split feature index (ignored for a leaf; write 0).
    pub feature: Vec<u32>,
    /// Split threshold (go left iff `x < value`), or the leaf's output.
    pub value: Vec<f64>,
    /// Left child id, or -1 for a leaf.
    pub left: Vec<i32>,
    /// Right child id, or -1 for a leaf.
    pub right: Vec<i32>,
    /// Where a NaN feature value goes at a split: left if true.
    pub default_left: Vec<bool>,
}

impl TreeSpec {
    /// A single-leaf tree with output `value`.
    pub fn leaf(value: f64) -> Self {
        Self {
            feature: vec![0],
            value: vec![value],
            left: vec![-1],
            right: vec![-1],
            default_left: vec![false],
        }
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.value.len()
    }

    /// Whether the tree has no node (invalid; kept for clippy's `len_without_is_empty`).
    pub fn is_empty(&self) -> bool {
        self.value.is_empty()
    }

    /// Reference evaluation by walking the arrays (used by tests and cold paths; checks
    /// nothing, returns NaN on a malformed tree).
    pub fn eval(&self, x: &[f64]) -> f64 {
        self.leaf_of(x).and_then(|i| self.value.get(i).copied()).unwrap_or(f64::NAN)
    }

    /// The id of the leaf `x` reaches (cold paths: re-estimating leaf values from training
    /// rows); `None` on a malformed tree.
    pub fn leaf_of(&self, x: &[f64]) -> Option<usize> {
        let mut i = 0usize;
        for _ in 0..=MAX_DEPTH {
            let (&l, &r, &v) = (self.left.get(i)?, self.right.get(i)?, self.value.get(i)?);
            if l < 0 {
                return Some(i);
            }
            let f = self.feature.get(i).copied().unwrap_or(0) as usize;
            let xv = x.get(f).copied().unwrap_or(f64::NAN);
            let go_left =
                if xv.is_nan() { self.default_left.get(i).copied().unwrap_or(false) } else { xv < v };
            i = usize::try_from(if go_left { l } else { r }).ok()?;
        }
        None
    }
}

/// Why a tree is invalid: the tree, the node, the field, and the problem.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("trees[{tree}].{field}[{node}]: {problem}")]
pub struct TreeError {
    /// Tree index in the model.
    pub tree: usize,
    /// Node id within the tree.
    pub node: usize,
    /// The array field (`left`, `value`, ...).
    pub field: &'static str,
    /// What is wrong.
    pub problem: String,
}

/// One node of the flat layout (16 bytes). Children are adjacent (`left`, `left + 1`).
///
/// A leaf has `left` = itself, `threshold` = NaN and `default_left` = 1, so the step rule
/// below always stays on it, whatever the input (NaN and ±∞ included).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Node {
    /// Split threshold (`x < threshold` goes left); NaN for a leaf.
    threshold: f64,
    /// Left child (right child = `left + 1`); the node itself for a leaf.
    left: u32,
    /// Split feature (0 for a leaf).
    feature: u16,
    /// 1 if NaN goes left, else 0 (1 for a leaf).
    default_left: u16,
}

impl Node {
    /// The next node for input `x`, by index arithmetic (no data-dependent branch):
    /// right = `x >= t` if NaN goes left, else `!(x < t)`; both comparisons are false for NaN.
    #[inline(always)]
    fn step(&self, x: &[f64]) -> u32 {
        let v = x[self.feature as usize];
        let ge = u32::from(v >= self.threshold);
        let lt = u32::from(v < self.threshold);
        let dl = u32::from(self.default_left);
        self.left + ((ge & dl) | ((1 ^ lt) & (1 ^ dl)))
    }

    /// [`Node::step`] for an input known to hold no NaN: one comparison (a leaf's NaN
    /// threshold makes `v >= t` false, so it still stays put).
    #[inline(always)]
    fn step_no_nan(&self, x: &[f64]) -> u32 {
        self.left + u32::from(x[self.feature as usize] >= self.threshold)
    }
}

/// Every tree of one model in one contiguous node array, ready for allocation-free evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct FlatTrees {
    nodes: Vec<Node>,
    /// Leaf output per node (0 for a split), read once per tree at the end of its walk.
    leaf: Vec<f64>,
    /// Root node index of each tree, padded with [`ZERO_LEAF`] to a multiple of [`GROUP`].
    roots: Vec<u32>,
    /// Steps to walk for each group of [`GROUP`] trees (the deepest of them).
    group_depth: Vec<u8>,
    trees: usize,
    n_features: usize,
}

/// Node 0 of every [`FlatTrees`]: a leaf with output 0, used to pad the last group.
const ZERO_LEAF: u32 = 0;

const LEAF_NODE: Node = Node { threshold: f64::NAN, left: 0, feature: 0, default_left: 1 };

impl FlatTrees {
    /// Validates `specs` for inputs of `n_features` features and lays them out.
    ///
    /// Checks: at least one node per tree; equal array lengths; children both -1 (leaf) or
    /// both in `(i, len)`; no node with two parents; split features `< n_features` (and
    /// `< 65536`); every value finite; depth ≤ [`MAX_DEPTH`]; the total node count fits in
    /// `u32`. Nodes unreachable from the root are dropped. Each tree is laid out breadth-first
    /// with the two children of a split in adjacent slots.
    pub fn new(specs: &[TreeSpec], n_features: usize) -> Result<Self, TreeError> {
        let mut nodes = vec![LEAF_NODE];
        let mut leaf = vec![0.0];
        let mut roots = Vec::with_capacity(specs.len().div_ceil(GROUP) * GROUP);
        let mut depths = Vec::with_capacity(specs.len());
        let mut queue = std::collections::VecDeque::new();
        for (t, spec) in specs.iter().enumerate() {
            let err = |node: usize, field: &'static str, problem: String| TreeError {
                tree: t,
                node,
                field,
                problem,
            };
            let n = spec.value.len();
            if n == 0 {
                return Err(err(0, "value", "a tree needs at least one node".into()));
            }
            for (field, len) in [
                ("feature", spec.feature.len()),
                ("left", spec.left.len()),
                ("right", spec.right.len()),
                ("default_left", spec.default_left.len()),
            ] {
                if len != n {
                    return Err(err(0, field, format!("has {len} entries but `value` has {n}")));
                }
            }
            if nodes.len().checked_add(n).is_none_or(|end| end > u32::MAX as usize) {
                return Err(err(0, "value", "too many nodes".into()));
            }
            // Validate in id order.
            let mut depth = vec![0usize; n];
            let mut has_parent = vec![false; n];
            let mut max_depth = 0usize;
            for i in 0..n {
                let v = spec.value[i];
                if !v.is_finite() {
                    return Err(err(i, "value", format!("{v} is not a finite number")));
                }
                let (l, r) = (spec.left[i], spec.right[i]);
                if l == -1 && r == -1 {
                    continue;
                }
                for (field, c) in [("left", l), ("right", r)] {
                    if c <= i as i32 || c as usize >= n {
                        return Err(err(
                            i,
                            field,
                            format!("child {c} must be -1 (leaf, with its sibling) or in {}..{n}", i + 1),
                        ));
                    }
                    if std::mem::replace(&mut has_parent[c as usize], true) || l == r {
                        return Err(err(i, field, format!("child {c} already has a parent")));
                    }
                }
                let f = spec.feature[i];
                if f as usize >= n_features || f > u32::from(u16::MAX) {
                    return Err(err(
                        i,
                        "feature",
                        format!("feature {f} out of range (model has {n_features})"),
                    ));
                }
                let d = depth[i] + 1;
                if d > MAX_DEPTH {
                    return Err(err(i, "left", format!("tree deeper than {MAX_DEPTH}")));
                }
                depth[l as usize] = d;
                depth[r as usize] = d;
                max_depth = max_depth.max(d);
            }
            // Lay out breadth-first: (original id, new slot).
            let root = nodes.len();
            nodes.push(LEAF_NODE);
            leaf.push(0.0);
            queue.clear();
            queue.push_back((0usize, root));
            while let Some((i, slot)) = queue.pop_front() {
                let (l, r) = (spec.left[i], spec.right[i]);
                if l < 0 {
                    nodes[slot] = Node { left: slot as u32, ..LEAF_NODE };
                    leaf[slot] = spec.value[i];
                } else {
                    let c = nodes.len();
                    nodes.extend([LEAF_NODE; 2]);
                    leaf.extend([0.0; 2]);
                    nodes[slot] = Node {
                        threshold: spec.value[i],
                        left: c as u32,
                        feature: spec.feature[i] as u16,
                        default_left: u16::from(spec.default_left[i]),
                    };
                    queue.push_back((l as usize, c));
                    queue.push_back((r as usize, c + 1));
                }
            }
            roots.push(root as u32);
            depths.push(max_depth);
        }
        let trees = roots.len();
        while roots.len() % GROUP != 0 {
            roots.push(ZERO_LEAF);
            depths.push(0);
        }
        let group_depth = depths.chunks(GROUP).map(|c| c.iter().copied().max().unwrap_or(0) as u8).collect();
        Ok(Self { nodes, leaf, roots, group_depth, trees, n_features })
    }

    /// Number of trees.
    pub fn len(&self) -> usize {
        self.trees
    }

    /// Whether there is no tree.
    pub fn is_empty(&self) -> bool {
        self.trees == 0
    }

    /// Number of input features the trees were validated for.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// Total node count of the reachable nodes (excluding the padding leaf).
    pub fn node_count(&self) -> usize {
        self.nodes.len() - 1
    }

    /// The sum of every tree's leaf output for `x`, added in tree order. Allocation-free.
    ///
    /// `x` must have at least [`FlatTrees::n_features`] entries (a shorter slice panics on the
    /// bounds check: the caller's fixed-size array makes that impossible in practice).
    ///
    /// An input without NaN (the normal case, checked once per call) takes a one-comparison
    /// step; one with a NaN takes the step that honours each node's default direction.
    #[inline]
    pub fn sum(&self, x: &[f64]) -> f64 {
        if x[..self.n_features].iter().any(|v| v.is_nan()) {
            self.walk(x, Node::step)
        } else {
            self.walk(x, Node::step_no_nan)
        }
    }

    #[inline(always)]
    fn walk(&self, x: &[f64], step: impl Fn(&Node, &[f64]) -> u32) -> f64 {
        let nodes = &self.nodes[..];
        let mut total = 0.0;
        for (roots, &depth) in self.roots.chunks_exact(GROUP).zip(&self.group_depth) {
            let mut idx = [0u32; GROUP];
            idx.copy_from_slice(roots);
            for _ in 0..depth {
                for i in idx.iter_mut() {
                    *i = step(&nodes[*i as usize], x);
                }
            }
            for &i in &idx {
                total += self.leaf[i as usize];
            }
        }
        total
    }
}

/// How a tree model turns the sum of its trees' outputs into a probability.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum TreeOutput {
    /// `p = Σ leaf / trees` (a random forest whose leaves hold class-1 votes or fractions).
    Mean,
    /// `p = sigmoid(base_margin + Σ leaf)` (boosted trees with a logistic objective).
    Logistic {
        /// The margin (log-odds) every prediction starts from.
        base_margin: f64,
    },
}

/// The serialized form of a tree model: its output rule and its trees.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TreeModelSpec {
    /// How the tree sum becomes a probability.
    pub output: TreeOutput,
    /// The trees.
    pub trees: Vec<TreeSpec>,
}

/// Why a tree model is invalid.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TreeModelError {
    /// A tree is malformed.
    #[error("{0}")]
    Tree(#[from] TreeError),
    /// The model has no tree.
    #[error("trees: the model has no tree")]
    NoTrees,
    /// A [`TreeOutput::Mean`] model has a leaf outside `[0, 1]` (its mean would not be a
    /// probability).
    #[error("trees[{tree}].value[{node}]: leaf {value} of a mean (vote) model is not in [0, 1]")]
    LeafOutOfRange {
        /// Tree index.
        tree: usize,
        /// Node id.
        node: usize,
        /// The leaf value.
        value: f64,
    },
    /// The base margin is NaN or infinite.
    #[error("output.logistic.base_margin: {0} is not a finite number")]
    BaseMargin(f64),
}

/// A validated tree model ready for hot-path inference: the flat trees plus the output rule.
#[derive(Debug, Clone, PartialEq)]
pub struct TreeModel {
    spec: TreeModelSpec,
    flat: FlatTrees,
    inv_trees: f64,
}

impl TreeModel {
    /// Validates `spec` for `n_features` inputs and builds the flat layout.
    pub fn new(spec: TreeModelSpec, n_features: usize) -> Result<Self, TreeModelError> {
        if spec.trees.is_empty() {
            return Err(TreeModelError::NoTrees);
        }
        if let TreeOutput::Logistic { base_margin } = spec.output {
            if !base_margin.is_finite() {
                return Err(TreeModelError::BaseMargin(base_margin));
            }
        }
        let flat = FlatTrees::new(&spec.trees, n_features)?;
        if spec.output == TreeOutput::Mean {
            for (tree, t) in spec.trees.iter().enumerate() {
                for node in 0..t.len() {
                    let value = t.value[node];
                    if t.left[node] < 0 && !(0.0..=1.0).contains(&value) {
                        return Err(TreeModelError::LeafOutOfRange { tree, node, value });
                    }
                }
            }
        }
        let inv_trees = 1.0 / flat.len() as f64;
        Ok(Self { spec, flat, inv_trees })
    }

    /// The serialized form.
    pub fn spec(&self) -> &TreeModelSpec {
        &self.spec
    }

    /// The flat trees.
    pub fn trees(&self) -> &FlatTrees {
        &self.flat
    }

    /// The raw score: the tree mean ([`TreeOutput::Mean`]) or the margin
    /// ([`TreeOutput::Logistic`]). Allocation-free.
    #[inline]
    pub fn score(&self, x: &[f64]) -> f64 {
        let s = self.flat.sum(x);
        match self.spec.output {
            TreeOutput::Mean => s * self.inv_trees,
            TreeOutput::Logistic { base_margin } => base_margin + s,
        }
    }

    /// The probability of the positive class for `x`. Allocation-free.
    #[inline]
    pub fn predict(&self, x: &[f64]) -> f64 {
        let s = self.score(x);
        match self.spec.output {
            TreeOutput::Mean => s,
            TreeOutput::Logistic { .. } => sigmoid(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// x0 < 1 ? (x1 < 5 ? 10 : 20) : 30, NaN in x0 goes right, NaN in x1 goes left.
    fn stump2() -> TreeSpec {
        TreeSpec {
            feature: vec![0, 1, 0, 0, 0],
            value: vec![1.0, 5.0, 30.0, 10.0, 20.0],
            left: vec![1, 3, -1, -1, -1],
            right: vec![2, 4, -1, -1, -1],
            default_left: vec![false, true, false, false, false],
        }
    }

    #[test]
    fn evaluation_follows_the_split_convention() {
        let flat = FlatTrees::new(&[stump2()], 2).unwrap();
        assert_eq!(std::mem::size_of::<Node>(), 16);
        for (x, want) in [
            ([0.0, 0.0], 10.0),
            ([0.0, 5.0], 20.0), // 5 < 5 is false: right
            ([0.0, 4.999], 10.0),
            ([1.0, 0.0], 30.0), // 1 < 1 is false: right
            ([f64::NAN, 0.0], 30.0),
            ([0.0, f64::NAN], 10.0),
            ([f64::NEG_INFINITY, f64::INFINITY], 20.0),
        ] {
            assert_eq!(flat.sum(&x), want, "{x:?}");
            assert_eq!(stump2().eval(&x), want, "{x:?}");
        }
    }

    #[test]
    fn many_trees_of_mixed_depth_sum_in_order() {
        // 7 trees (not a multiple of GROUP), depths 0..2.
        let specs: Vec<TreeSpec> =
            (0..7).map(|k| if k % 3 == 0 { TreeSpec::leaf(k as f64 * 0.1) } else { stump2() }).collect();
        let flat = FlatTrees::new(&specs, 2).unwrap();
        assert_eq!(flat.len(), 7);
        assert_eq!(flat.node_count(), 3 + 4 * 5);
        for x in
            [[0.0, 0.0], [2.0, 1.0], [0.5, 7.0], [f64::NAN, f64::NAN], [f64::INFINITY, f64::NEG_INFINITY]]
        {
            let mut want = 0.0;
            for s in &specs {
                want += s.eval(&x);
            }
            assert_eq!(flat.sum(&x), want);
        }
    }

    #[test]
    fn malformed_trees_are_rejected_with_their_place() {
        let check = |mutate: &dyn Fn(&mut TreeSpec), want: &str| {
            let mut s = stump2();
            mutate(&mut s);
            let e = FlatTrees::new(&[TreeSpec::leaf(0.0), s], 2).unwrap_err();
            assert!(e.to_string().contains(want), "{e} lacks {want}");
            assert_eq!(e.tree, 1);
        };
        check(&|s| s.left[0] = 0, "trees[1].left[0]: child 0");
        check(&|s| s.right[1] = 9, "trees[1].right[1]: child 9");
        check(&|s| s.left[1] = -1, "trees[1].left[1]: child -1");
        check(&|s| s.feature[1] = 2, "trees[1].feature[1]: feature 2 out of range");
        check(
            &|s| {
                s.left[2] = 3;
                s.right[2] = 4;
            },
            "trees[1].left[2]: child 3 already has a parent",
        );
        check(&|s| s.value[3] = f64::NAN, "trees[1].value[3]: NaN");
        check(&|s| s.value[0] = f64::INFINITY, "trees[1].value[0]: inf");
        check(&|s| s.default_left.pop().map(drop).unwrap_or(()), "trees[1].default_left[0]: has 4 entries");
        let e = FlatTrees::new(
            &[TreeSpec { feature: vec![], value: vec![], left: vec![], right: vec![], default_left: vec![] }],
            1,
        )
        .unwrap_err();
        assert!(e.to_string().contains("at least one node"));
        // A chain deeper than MAX_DEPTH.
        let n = MAX_DEPTH + 2;
        let mut deep = TreeSpec {
            feature: vec![0; n * 2 + 1],
            value: vec![0.0; n * 2 + 1],
            left: vec![-1; n * 2 + 1],
            right: vec![-1; n * 2 + 1],
            default_left: vec![false; n * 2 + 1],
        };
        for i in 0..n {
            deep.left[2 * i] = (2 * i + 1) as i32;
            deep.right[2 * i] = (2 * i + 2) as i32;
        }
        let e = FlatTrees::new(&[deep], 1).unwrap_err();
        assert!(e.to_string().contains("deeper than"), "{e}");
    }

    #[test]
    fn tree_model_outputs() {
        let mean = TreeModel::new(
            TreeModelSpec {
                output: TreeOutput::Mean,
                trees: vec![
                    TreeSpec::leaf(1.0),
                    TreeSpec::leaf(0.0),
                    TreeSpec::leaf(1.0),
                    TreeSpec::leaf(1.0),
                ],
            },
            1,
        )
        .unwrap();
        assert_eq!(mean.predict(&[0.0]), 0.75);
        assert_eq!(
            TreeModel::new(
                TreeModelSpec {
                    output: TreeOutput::Mean,
                    trees: vec![TreeSpec::leaf(0.5), TreeSpec::leaf(1.5)]
                },
                1
            )
            .unwrap_err(),
            TreeModelError::LeafOutOfRange { tree: 1, node: 0, value: 1.5 }
        );
        let logistic = TreeModel::new(
            TreeModelSpec {
                output: TreeOutput::Logistic { base_margin: 0.5 },
                trees: vec![TreeSpec::leaf(-0.25), TreeSpec::leaf(-0.25)],
            },
            1,
        )
        .unwrap();
        assert_eq!(logistic.score(&[0.0]), 0.0);
        assert_eq!(logistic.predict(&[0.0]), 0.5);
        assert_eq!(
            TreeModel::new(TreeModelSpec { output: TreeOutput::Mean, trees: vec![] }, 1).unwrap_err(),
            TreeModelError::NoTrees
        );
        assert!(matches!(
            TreeModel::new(
                TreeModelSpec {
                    output: TreeOutput::Logistic { base_margin: f64::NAN },
                    trees: vec![TreeSpec::leaf(0.0)]
                },
                1
            ),
            Err(TreeModelError::BaseMargin(_))
        ));
    }
}
