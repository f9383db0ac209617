//! Options math benchmarks: BSM greeks, implied volatility (near/deep, 0DTE), and the full
//! Cboe-file → gamma-levels path on the real 10 257-row SPX chain (when the file is present)
//! and on a synthetic chain.
//!
//! Run: `cargo bench -p mia-benches --bench options`.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use mia_feeds::{cboe, synth_chain};
use mia_model::time::calendar::Date;
use mia_options::bsm::{self, BsmInputs, OptionKind};
use mia_options::gex::{compute_levels, GexConfig};
use mia_options::iv::implied_vol;

const MINUTE: f64 = 1.0 / (365.0 * 24.0 * 60.0);

fn inputs(strike: f64, vol: f64, t: f64) -> BsmInputs {
    BsmInputs { spot: 4500.0, strike, rate: 0.02, div: 0.013, vol, t }
}

fn bench_greeks(c: &mut Criterion) {
    let mut g = c.benchmark_group("bsm");
    let atm = inputs(4500.0, 0.18, 30.0 / 365.0);
    let otm = inputs(4200.0, 0.25, 7.0 / 365.0);
    g.bench_function("greeks_call_atm", |b| b.iter(|| bsm::greeks(OptionKind::Call, black_box(&atm))));
    g.bench_function("greeks_put_otm", |b| b.iter(|| bsm::greeks(OptionKind::Put, black_box(&otm))));
    g.bench_function("price_call", |b| b.iter(|| bsm::price(OptionKind::Call, black_box(&atm))));
    g.bench_function("gamma", |b| b.iter(|| bsm::gamma(black_box(&atm))));
    g.finish();
}

fn bench_iv(c: &mut Criterion) {
    let mut g = c.benchmark_group("implied_vol");
    let cases = [
        ("atm_30d", OptionKind::Call, inputs(4500.0, 0.18, 30.0 / 365.0)),
        ("otm_put_7d", OptionKind::Put, inputs(4200.0, 0.28, 7.0 / 365.0)),
        ("deep_itm_call_90d", OptionKind::Call, inputs(3600.0, 0.35, 90.0 / 365.0)),
        ("deep_otm_call_1y", OptionKind::Call, inputs(6000.0, 0.14, 1.0)),
        ("0dte_5min_near", OptionKind::Call, inputs(4505.0, 0.12, 5.0 * MINUTE)),
        ("0dte_5min_otm_put", OptionKind::Put, inputs(4485.0, 0.2, 5.0 * MINUTE)),
    ];
    for (name, kind, i) in cases {
        let p = bsm::price(kind, &i);
        g.bench_function(name, |b| b.iter(|| implied_vol(kind, black_box(p), black_box(&i))));
    }
    // A grid across moneyness and expiry (per-solve time = reported time / elements).
    let mut grid = Vec::new();
    for t in [5.0 * MINUTE, 1.0 / 365.0, 7.0 / 365.0, 30.0 / 365.0, 0.5, 2.0] {
        for m in [0.8, 0.9, 0.95, 0.99, 1.0, 1.01, 1.05, 1.1, 1.2] {
            for kind in [OptionKind::Call, OptionKind::Put] {
                let i = inputs(4500.0 * m, 0.2, t);
                let p = bsm::price(kind, &i);
                if implied_vol(kind, p, &i).is_ok() {
                    grid.push((kind, p, i));
                }
            }
        }
    }
    g.throughput(Throughput::Elements(grid.len() as u64));
    g.bench_function("grid", |b| {
        b.iter(|| {
            let mut acc = 0.0;
            for (kind, p, i) in &grid {
                acc += implied_vol(*kind, black_box(*p), i).unwrap_or(0.0);
            }
            acc
        })
    });
    g.finish();
}

fn bench_levels(c: &mut Criterion) {
    let mut g = c.benchmark_group("gex");
    g.sample_size(20);
    let real = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/data/cboe/spx_quotedata_2022-02-05.csv"
    ));
    if real.exists() {
        g.bench_function("real_file_parse_and_levels", |b| {
            b.iter(|| {
                let parsed = cboe::parse_file(black_box(&real)).ok();
                parsed.map(|p| compute_levels(&p.chain, None, &GexConfig::default()).total_gex)
            })
        });
        if let Ok(p) = cboe::parse_file(&real) {
            g.bench_function("real_file_levels_only", |b| {
                b.iter(|| compute_levels(black_box(&p.chain), None, &GexConfig::default()).total_gex)
            });
        }
    } else {
        eprintln!("note: {} absent; real-file benches skipped", real.display());
    }
    let ts = Date { year: 2024, month: 1, day: 10 }.at_eastern_ns(10, 0).unwrap_or(0);
    let chain = synth_chain::generate_chain(1, 4780.0, ts);
    g.bench_function("synthetic_levels", |b| {
        b.iter(|| compute_levels(black_box(&chain), None, &GexConfig::default()).total_gex)
    });
    g.finish();
}

criterion_group!(benches, bench_greeks, bench_iv, bench_levels);
criterion_main!(benches);
