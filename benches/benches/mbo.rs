//! MBO decode benchmark (issue 9: ≥ 30 M records/s; NautilusTrader publishes ~13 ns per MBO
//! record): the synthetic session written as individual orders (`mia gen --schema mbo`, here
//! generated in memory) applied record by record to the L3 book by `MboNormalizer`, which
//! keeps the order map, the price ladder and the top-10 view, and emits MIA events (each
//! record's raw `Mbo` event, then the derived `Level` / `Trade` / `Clear` events). Compared in
//! the same run with the same normalizer over the reference book (`MboBook::new_rescan`: the
//! top-10 view recomputed by walking the ladder, the algorithm before the incremental view) and
//! with the MBP-10 normalizer on the session's MBP-10 records.
//!
//! Run: `cargo bench -p mia-benches --bench mbo` (on the shared 2-core machine:
//! `CARGO_PROFILE_RELEASE_LTO=off CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16`).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use mia_feeds::normalize::{EventBuf, MboNormalizer, Mbp10Normalizer};
use mia_feeds::synth::{SynthConfig, SynthSession};
use mia_feeds::synth_mbo::MboStream;
use mia_model::book::mbo::{MboBook, MboConfig};

fn decode(c: &mut Criterion) {
    let cfg = SynthConfig { seed: 1, target_records: 300_000, ..SynthConfig::default() };
    let mbp: Vec<dbn::Mbp10Msg> = SynthSession::new(&cfg).collect();
    let mbo: Vec<dbn::MboMsg> = MboStream::new(mbp.clone().into_iter()).collect();
    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Elements(mbo.len() as u64));
    g.sample_size(10);
    g.bench_function("mbo_to_l3_book_rescan_top10", |b| {
        b.iter_batched_ref(
            || (MboNormalizer::with_book(MboBook::new_rescan(MboConfig::default())), EventBuf::new()),
            |(n, out)| {
                for r in &mbo {
                    n.normalize(r, out);
                    black_box(out.len());
                }
            },
            BatchSize::LargeInput,
        );
    });
    g.bench_function("mbo_to_l3_book", |b| {
        b.iter_batched_ref(
            || (MboNormalizer::new(MboConfig::default()), EventBuf::new()),
            |(n, out)| {
                for r in &mbo {
                    n.normalize(r, out);
                    black_box(out.len());
                }
            },
            BatchSize::LargeInput,
        );
    });
    g.throughput(Throughput::Elements(mbp.len() as u64));
    g.bench_function("mbp10_to_book", |b| {
        b.iter_batched_ref(
            || (Mbp10Normalizer::new(), EventBuf::new()),
            |(n, out)| {
                for r in &mbp {
                    n.normalize(r, out);
                    black_box(out.len());
                }
            },
            BatchSize::LargeInput,
        );
    });
    g.finish();
}

criterion_group!(benches, decode);
criterion_main!(benches);
