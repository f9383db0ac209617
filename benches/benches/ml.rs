//! Hot-path ML inference benchmarks: `FlatLogistic::predict` for N = 8 and N = 18 features,
//! as a single call on one (black-boxed) input and as a sweep over 1024 distinct inputs
//! (per-call time = reported time / elements).
//!
//! Run: `cargo bench -p mia-benches --bench ml`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use mia_ml::FlatLogistic;

/// splitmix64 mapped to [-1, 1): deterministic bench inputs.
fn next(state: &mut u64) -> f64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
}

fn model<const N: usize>(seed: u64) -> FlatLogistic<N> {
    let mut s = seed;
    let w = std::array::from_fn(|_| next(&mut s));
    let mean = std::array::from_fn(|_| next(&mut s) * 10.0);
    let inv_std = std::array::from_fn(|_| 0.5 + next(&mut s).abs());
    match FlatLogistic::new(w, 0.1, mean, inv_std) {
        Ok(m) => m,
        Err(e) => panic!("bench model: {e}"),
    }
}

fn bench_predict<const N: usize>(c: &mut Criterion) {
    let m = model::<N>(N as u64);
    let mut s = 99;
    let xs: Vec<[f64; N]> = (0..1024).map(|_| std::array::from_fn(|_| next(&mut s) * 10.0)).collect();

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
