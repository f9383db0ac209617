//! Hot-path ML inference benchmarks: `FlatLogistic::predict` for N = 8 and N = 18 features,
//! and `FlatEnsemble::predict` for 100 full trees of depth 6 + a logistic model on 18
//! features (as 100 boosted trees, and as 50 forest + 50 boosted trees), each as a single call
//! on one (black-boxed) input and as a sweep over 1024 distinct inputs (per-call time =
//! reported time / elements).
//!
//! Run: `cargo bench -p mia-benches --bench ml`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use mia_ml::{
    BoostedSource, FlatEnsemble, FlatLogistic, MemberWeights, Members, TreeModel, TreeModelSpec, TreeOutput,
    TreeSpec, DEFAULT_THRESHOLD,
};
use mia_model::rng::SplitMix64;

/// A deterministic bench model (SplitMix64 weights in [-1, 1)).
fn model<const N: usize>(seed: u64) -> FlatLogistic<N> {
    let mut s = SplitMix64::new(seed);
    let w = std::array::from_fn(|_| s.next_signed_f64());
    let mean = std::array::from_fn(|_| s.next_signed_f64() * 10.0);
    let inv_std = std::array::from_fn(|_| 0.5 + s.next_signed_f64().abs());
    match FlatLogistic::new(w, 0.1, mean, inv_std) {
        Ok(m) => m,
        Err(e) => panic!("bench model: {e}"),
    }
}

fn bench_predict<const N: usize>(c: &mut Criterion) {
    let m = model::<N>(N as u64);
    let mut s = SplitMix64::new(99);
    let xs: Vec<[f64; N]> = (0..1024).map(|_| std::array::from_fn(|_| s.next_signed_f64() * 10.0)).collect();

    let mut g = c.benchmark_group("flat_logistic");
    g.bench_function(BenchmarkId::new("predict", N), |b| b.iter(|| black_box(&m).predict(black_box(&xs[0]))));
    g.throughput(Throughput::Elements(xs.len() as u64));
    g.bench_function(BenchmarkId::new("predict_sweep_1024", N), |b| {
        b.iter(|| {
            let m = black_box(&m);
            let mut sum = 0.0;
            for x in &xs {
                sum += m.predict(black_box(x));
            }
            sum
        })
    });
    g.finish();
}

/// A full binary tree of `depth` (2^depth − 1 splits) over 18 features, thresholds in
/// [-1, 1) (the inputs' range, so every path is taken), leaves `leaf(value)`.
fn full_tree(s: &mut SplitMix64, depth: u32, leaf: impl Fn(f64) -> f64) -> TreeSpec {
    let splits = (1usize << depth) - 1;
    let n = 2 * splits + 1;
    let mut t = TreeSpec {
        feature: vec![0; n],
        value: vec![0.0; n],
        left: vec![-1; n],
        right: vec![-1; n],
        default_left: vec![false; n],
    };
    for i in 0..n {
        if i < splits {
            t.feature[i] = (s.next_u64() % 18) as u32;
            t.value[i] = s.next_signed_f64();
            t.left[i] = (2 * i + 1) as i32;
            t.right[i] = (2 * i + 2) as i32;
            t.default_left[i] = s.next_u64().is_multiple_of(2);
        } else {
            t.value[i] = leaf(s.next_f64());
        }
    }
    t
}

fn tree_model(s: &mut SplitMix64, trees: usize, output: TreeOutput) -> TreeModel {
    let leaf = |u: f64| match output {
        TreeOutput::Mean => (u > 0.5) as u8 as f64,
        TreeOutput::Logistic { .. } => (u - 0.5) * 0.2,
    };
    let trees = (0..trees).map(|_| full_tree(s, 6, leaf)).collect();
    match TreeModel::new(TreeModelSpec { output, trees }, 18) {
        Ok(m) => m,
        Err(e) => panic!("bench tree model: {e}"),
    }
}

fn bench_ensemble(c: &mut Criterion) {
    let mut s = SplitMix64::new(6);
    let names: [String; 18] = std::array::from_fn(|i| format!("f{i}"));
    let names: [&str; 18] = std::array::from_fn(|i| names[i].as_str());
    let lr = model::<18>(18);
    let boosted = |s: &mut SplitMix64, n| {
        (BoostedSource::Gbm, tree_model(s, n, TreeOutput::Logistic { base_margin: 0.1 }))
    };
    let configs = [
        ("boosted100_lr", Members { lr: Some(lr), rf: None, boosted: Some(boosted(&mut s, 100)) }),
        (
            "rf50_boosted50_lr",
            Members {
                lr: Some(lr),
                rf: Some(tree_model(&mut s, 50, TreeOutput::Mean)),
                boosted: Some(boosted(&mut s, 50)),
            },
        ),
    ];
    // The last configuration again with the Platt scaling `mia train` stores by default (one
    // ln and one exp more per call).
    let platt = mia_ml::Platt { a: 1.45, b: 0.115 };
    let calibrated = ("rf50_boosted50_lr_platt", configs[1].1.clone(), Some(platt));
    let configs =
        [(configs[0].0, configs[0].1.clone(), None), (configs[1].0, configs[1].1.clone(), None), calibrated];
    let xs: Vec<[f64; 18]> = (0..1024).map(|_| std::array::from_fn(|_| s.next_signed_f64())).collect();
    let mut g = c.benchmark_group("flat_ensemble_depth6_18f");
    for (name, members, cal) in configs {
        let e = match FlatEnsemble::new(names, members, MemberWeights::default(), DEFAULT_THRESHOLD) {
            Ok(e) => e.with_calibration(cal),
            Err(err) => panic!("bench ensemble: {err}"),
        };
        g.throughput(Throughput::Elements(1));
        g.bench_function(BenchmarkId::new("predict", name), |b| {
            b.iter(|| black_box(&e).predict(black_box(&xs[0])))
        });
        g.throughput(Throughput::Elements(xs.len() as u64));
        g.bench_function(BenchmarkId::new("predict_sweep_1024", name), |b| {
            b.iter(|| {
                let e = black_box(&e);
                let mut sum = 0.0;
                for x in &xs {
                    sum += e.predict(black_box(x));
                }
                sum
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench_predict::<8>, bench_predict::<18>, bench_ensemble);
criterion_main!(benches);
