//! Hot-path benchmarks of the decision pipeline, bottom up:
//!
//! - `ring_hop`: one [`Envelope`] through an `rtrb` SPSC ring — push + pop on one thread, and the
//!   per-hop time of a ping-pong between two threads (round trip / 2);
//! - `book_update`: [`Book::apply`] of one `Level` event;
//! - `normalize_mbp10`: [`Mbp10Normalizer::normalize`] of one MBP-10 record;
//! - `pipeline_event_inline`: one market event through `SignalStage` + `ExecStage`, chained as
//!   the inline runner chains them (no timestamps, no histograms);
//! - `pipeline_session_inline`: [`pipeline::run`] in inline mode over 100,000 events into a
//!   no-op sink (runner overhead included: `t0` stamping, sampled stage timing, histograms),
//!   and the same run with per-stage timing off.
//!
//! Inputs come from the synthetic ES session (see `mia_benches`), generated once before any
//! measurement, and are cycled through so that branch prediction sees a realistic mix.
//!
//! Run: `cargo bench -p mia-benches --bench pipeline` (add
//! `-- --warm-up-time 1 --measurement-time 3` for a quick run).

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use mia_benches::{
    level_events, stages, synthetic_events, synthetic_records, CountingSink, StageChain, VecSource,
};
use mia_feeds::normalize::{EventBuf, Mbp10Normalizer};
use mia_model::book::Book;
use mia_model::event::Event;
use mia_model::msg::{Envelope, Msg};
use mia_runtime::pipeline::tap::Taps;
use mia_runtime::pipeline::{self, Inputs, PipelineConfig, Schedule};
use mia_tools::app::config::Config;

/// Events pre-generated for `pipeline_event_inline`.
const INLINE_EVENTS: usize = 200_000;
/// Events per `pipeline_session_inline` run.
const SESSION_EVENTS: usize = 100_000;
/// `Level` events cycled through by `book_update` (a power of two).
const BOOK_EVENTS: usize = 1 << 16;
/// MBP-10 records cycled through by `normalize_mbp10` (a power of two; 368 B each).
const NORM_RECORDS: usize = 1 << 14;
/// Idle polls of the echo thread before it starts yielding the CPU.
const ECHO_SPIN: u32 = 1 << 20;

fn ring_hop(c: &mut Criterion) {
    let cap = Config::default().pipeline.ring_capacity;
    let env = match synthetic_events(1).first() {
        Some(ev) => Envelope { t0: 1, msg: Msg::Market(*ev) },
        None => Envelope { t0: 1, msg: Msg::Market(Event::default()) },
    };
    let mut g = c.benchmark_group("ring_hop");
    g.throughput(Throughput::Elements(1));

    // Both ends on this thread: the ring's own instruction cost, no cache-line transfer.
    let (mut tx, mut rx) = rtrb::RingBuffer::<Envelope>::new(cap);
    g.bench_function("push_pop_one_thread", |b| {
        b.iter(|| {
            let _ = tx.push(black_box(env));
            rx.pop().ok()
        })
    });
    drop((tx, rx));

    // Ping-pong: this thread sends, an echo thread sends the envelope back on a second ring.
    // One round trip is two hops; the reported time is per hop (round trip / 2). Dropping the
    // sending end after the bench makes the echo thread see an abandoned, empty ring and exit.
    let (mut tx, mut echo_rx) = rtrb::RingBuffer::<Envelope>::new(cap);
    let (mut echo_tx, mut rx) = rtrb::RingBuffer::<Envelope>::new(cap);
    let echo = std::thread::Builder::new()
        .name("bench-echo".into())
        .spawn(move || {
            let mut idle = 0u32;
            loop {
                match echo_rx.pop() {
                    Ok(e) => {
                        idle = 0;
                        // At most one envelope is in flight, so the ring is never full.
                        if echo_tx.push(e).is_err() {
                            break;
                        }
                    }
                    Err(_) if echo_rx.is_abandoned() => break,
                    Err(_) if idle < ECHO_SPIN => {
                        idle += 1;
                        std::hint::spin_loop();
                    }
                    Err(_) => std::thread::yield_now(),
                }
            }
        })
        .expect("cannot spawn the echo thread");
    g.bench_function("ping_pong_two_threads_per_hop", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                let _ = tx.push(black_box(env));
                loop {
                    match rx.pop() {
                        Ok(e) => {
                            black_box(e);
                            break;
                        }
                        Err(_) => {
                            assert!(!rx.is_abandoned(), "the echo thread exited");
                            std::hint::spin_loop();
                        }
                    }
                }
            }
            start.elapsed() / 2
        })
    });
    g.finish();
    drop(tx);
    echo.join().expect("echo thread panicked");
}

fn book_update(c: &mut Criterion) {
    let events = level_events(BOOK_EVENTS);
    assert_eq!(events.len(), BOOK_EVENTS);
    let mut book = Book::new();
    let mut i = 0usize;
    let mut g = c.benchmark_group("book_update");
    g.throughput(Throughput::Elements(1));
    g.bench_function("level", |b| {
        b.iter(|| {
            let ev = &events[i];
            i = (i + 1) & (BOOK_EVENTS - 1);
            book.apply(black_box(ev))
        })
    });
    g.finish();
}

fn normalize_mbp10(c: &mut Criterion) {
    let records = synthetic_records(NORM_RECORDS);
    assert_eq!(records.len(), NORM_RECORDS);
    let mut norm = Mbp10Normalizer::new();
    let mut buf = EventBuf::new();
    let produced: usize = records
        .iter()
        .map(|r| {
            norm.normalize(r, &mut buf);
            buf.len()
        })
        .sum();
    eprintln!(
        "normalize_mbp10: {NORM_RECORDS} records -> {produced} events ({:.2} per record)",
        produced as f64 / NORM_RECORDS as f64
    );
    let mut i = 0usize;
    let mut g = c.benchmark_group("normalize_mbp10");
    g.throughput(Throughput::Elements(1));
    g.bench_function("record", |b| {
        b.iter(|| {
            norm.normalize(black_box(&records[i]), &mut buf);
            i = (i + 1) & (NORM_RECORDS - 1);
            buf.len()
        })
    });
    g.finish();
}

fn pipeline_event_inline(c: &mut Criterion) {
    let cfg = Config::default();
    let events = synthetic_events(INLINE_EVENTS);
    assert_eq!(events.len(), INLINE_EVENTS);
    // One untimed pass: what the chain decides on these events (each timed pass repeats it).
    let mut chain = StageChain::new(&cfg);
    let outputs: usize = events.iter().map(|e| chain.step(e).outputs).sum();
    eprintln!("pipeline_event_inline: {INLINE_EVENTS} events -> {outputs} intents + fills per pass");

    // Every pass over the events starts from fresh stages (time would otherwise jump back at the
    // wrap and the risk windows and signal cooldowns would see a different history); the
    // rebuild is not timed.
    let mut chain = StageChain::new(&cfg);
    let mut pos = 0usize;
    let mut g = c.benchmark_group("pipeline_event_inline");
    g.throughput(Throughput::Elements(1));
    g.bench_function("market_exec", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut left = iters;
            while left > 0 {
                if pos == events.len() {
                    chain = StageChain::new(&cfg);
                    pos = 0;
                }
                let k = (events.len() - pos).min(usize::try_from(left).unwrap_or(usize::MAX));
                let start = Instant::now();
                let mut n = 0usize;
                for ev in &events[pos..pos + k] {
                    n += chain.step(black_box(ev)).outputs;
                }
                total += start.elapsed();
                black_box(n);
                pos += k;
                left -= k as u64;
            }
            total
        })
    });
    g.finish();
}

fn pipeline_session_inline(c: &mut Criterion) {
    let cfg = Config::default();
    let mut pcfg = cfg.pipeline.clone();
    pcfg.mode = Schedule::Inline;
    let events: Arc<[Event]> = synthetic_events(SESSION_EVENTS).into();
    assert_eq!(events.len(), SESSION_EVENTS);
    let mut g = c.benchmark_group("pipeline_session_inline");
    g.throughput(Throughput::Elements(SESSION_EVENTS as u64));
    g.sample_size(10);
    // The configured runner, then the same run with per-stage service timing (two clock reads
    // and a histogram record per stage on every `stage_sample_every`-th envelope) switched off.
    let untimed = PipelineConfig { stage_sample_every: u32::MAX, ..pcfg.clone() };
    for (name, pcfg) in [("run_100k", &pcfg), ("run_100k_no_stage_timing", &untimed)] {
        g.bench_function(name, |b| {
            b.iter_batched(
                || (VecSource::new(events.clone()), stages(&cfg)),
                |(source, stages)| {
                    let mut sink = CountingSink::default();
                    let report = pipeline::run(
                        Inputs::source(Box::new(source)),
                        stages,
                        &mut sink,
                        Taps::default(),
                        pcfg,
                        &mut |_| {},
                    );
                    (report, sink)
                },
                BatchSize::PerIteration,
            )
        });
    }
    g.finish();
}

criterion_group!(
    benches,
    ring_hop,
    book_update,
    normalize_mbp10,
    pipeline_event_inline,
    pipeline_session_inline
);
criterion_main!(benches);
