//! MBO decode benchmark (issue 9: ≥ 30 M records/s; NautilusTrader publishes ~13 ns per MBO
//! record): the synthetic session written as individual orders (`mia gen --schema mbo`, here
//! generated in memory, before any measurement) applied record by record to the L3 book by
//! `MboNormalizer`, which keeps the order map, the price ladder and the top-10 view, and emits
//! MIA events (each record's raw `Mbo` event, then the derived `Level` / `Trade` / `Clear`
//! events). One iteration is one pass over the whole session from a fresh book (built in the
//! untimed setup); the timed loop is the decode alone (no clone, no collect).
//!
//! Rows, all in one run so the ratios are visible:
//! - `mbo_to_l3_book`: the normalizer as used (incremental top-10 view with its levels cached,
//!   run-hashed order map);
//! - `mbo_book_only`: the book updates and the top-10 diff without writing events (where the
//!   time goes: book vs event emission);
//! - `mbo_raw_events_only`: only the raw `Mbo` event of each record written (the floor of the
//!   contract's per-record write);
//! - `mbp10_to_book`: the MBP-10 normalizer on the session's MBP-10 records (per MBP record).
//!
//! Run: `CARGO_PROFILE_RELEASE_LTO=off CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 cargo bench -p
//! mia-benches --bench mbo -- --warm-up-time 1 --measurement-time 3` (LTO off on the shared
//! 2-core machine; the figures in docs/performance.md say which).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use mia_feeds::normalize::{side_from_dbn, EventBuf, MboNormalizer, Mbp10Normalizer};
use mia_feeds::synth::{SynthConfig, SynthSession};
use mia_feeds::synth_mbo::MboStream;
use mia_model::book::mbo::{MboAction, MboBook, MboConfig};
use mia_model::event::Event;

fn decode(c: &mut Criterion) {
    let cfg = SynthConfig { seed: 1, target_records: 300_000, ..SynthConfig::default() };
    let mbp: Vec<dbn::Mbp10Msg> = SynthSession::new(&cfg).collect();
    let mbo: Vec<dbn::MboMsg> = MboStream::new(mbp.clone().into_iter()).collect();
    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Elements(mbo.len() as u64));
    g.sample_size(10);
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
    g.bench_function("mbo_book_only", |b| {
        b.iter_batched_ref(
            || MboBook::new(MboConfig::default()),
            |book| {
                let mut changed = 0u64;
                for r in &mbo {
                    if let Some(a) = MboAction::from_dbn(r.action as u8) {
                        book.apply(a, side_from_dbn(r.side), r.order_id, r.price, r.size);
                    }
                    book.diff_top(|_, _, l| changed += u64::from(l.size));
                }
                black_box(changed)
            },
            BatchSize::LargeInput,
        );
    });
    g.bench_function("mbo_raw_events_only", |b| {
        b.iter_batched_ref(
            EventBuf::new,
            |out| {
                for r in &mbo {
                    out.clear();
                    out.push(Event {
                        instrument_id: r.hd.instrument_id,
                        ..Event::mbo(
                            r.hd.ts_event,
                            r.ts_recv,
                            r.action as u8,
                            side_from_dbn(r.side),
                            r.order_id,
                            r.price,
                            r.size,
                            r.flags.raw(),
                        )
                    });
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
