//! Hot-path ML inference benchmarks: `FlatLogistic::predict` for N = 8 and N = 18 features,
//! as a single call on one (black-boxed) input and as a sweep over 1024 distinct inputs
//! (per-call time = reported time / elements).
//!
//! Run: `cargo bench -p mia-benches --bench ml`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use mia_ml::FlatLogistic;
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

criterion_group!(benches, bench_predict::<8>, bench_predict::<18>);
criterion_main!(benches);
