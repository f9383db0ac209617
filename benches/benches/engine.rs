//! The signal engine (`[signal] strategy = "elite"`) on the hot path:
//!
//! - `engine_event_inline/elite`: one market event through `SignalStage` (with the whole
//!   engine: levels per trade, bars, Battle Navale per timeframe, MTF, zones, regime, patterns,
//!   generator) + `ExecStage`, chained as the inline runner chains them;
//! - `engine_bar_close/decision_close`: the events that close a 5-minute decision bar (every
//!   timeframe's Battle Navale and MTF, the 1-minute levels and zones, and the decision:
//!   regime, the 6 patterns, `C(d)`, selector, gates, confidence), timed alone inside full
//!   passes over the events; criterion's throughput is per closing event;
//! - `engine_bar_close/minute_close`: the same for the events that close a 1-minute bar but
//!   not a decision bar (1-minute Battle Navale and MTF, levels, zones; no decision);
//! - `engine_bar_close/other_event`: the same for every other event of the pass (the
//!   per-event cost in the same run, for the ratio).
//!
//! The decision-closing event is the one that emits the engine's intents, so its service time
//! is the engine's tick-to-intent; `benches/examples/engine_tti.rs` prints its percentiles
//! over whole sessions.
//!
//! Inputs: the synthetic ES session from the RTH open (see `mia_benches`); the first decision
//! close of each pass comes from fresh stages (cold), as in a new session.
//! Run: `cargo bench -p mia-benches --bench engine -- --warm-up-time 1 --measurement-time 3`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use mia_benches::{synthetic_events, StageChain};
use mia_signal::strategy::registry::StrategyKind;
use mia_tools::app::config::Config;

/// Events pre-generated for the per-event bench (≈ the first 20 min of RTH, the busiest).
const EVENTS: usize = 200_000;
/// Events of one bar-close pass (≈ the first 2 h of RTH: a few dozen decision closes).
const CLOSE_EVENTS: usize = 1_000_000;
/// The decision timeframe, ns.
const BAR_NS: u64 = 300_000_000_000;
/// One minute, ns.
const MINUTE_NS: u64 = 60_000_000_000;

fn elite() -> Config {
    let mut cfg = Config::default();
    cfg.signal.strategy = StrategyKind::Elite;
    cfg
}

fn engine_event_inline(c: &mut Criterion) {
    let cfg = elite();
    let events = synthetic_events(EVENTS);
    let mut chain = StageChain::new(&cfg);
    let mut pos = 0usize;
    let mut g = c.benchmark_group("engine_event_inline");
    g.throughput(Throughput::Elements(1));
    g.bench_function("elite", |b| {
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

/// Which events of a pass each `engine_bar_close` row times.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Close {
    /// The first event of a new 5-minute bucket: closes the decision bar (and the 1-minute
    /// bar), so the engine decides on it.
    Decision,
    /// The first event of a new 1-minute bucket that is not a decision close (Battle Navale
    /// and MTF of 1 minute, levels, zones; no decision).
    Minute,
    /// Any other event.
    None,
}

fn engine_bar_close(c: &mut Criterion) {
    let cfg = elite();
    let events = synthetic_events(CLOSE_EVENTS);
    // The first event of each new bucket closes the bar of that timeframe (when one is open).
    let kinds: Vec<Close> = events
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let new = |ns: u64| i > 0 && e.ts_recv / ns > events[i - 1].ts_recv / ns;
            if new(BAR_NS) {
                Close::Decision
            } else if new(MINUTE_NS) {
                Close::Minute
            } else {
                Close::None
            }
        })
        .collect();
    let count = |k: Close| kinds.iter().filter(|&&x| x == k).count() as u64;
    let (n_dec, n_min, n_other) = (count(Close::Decision), count(Close::Minute), count(Close::None));
    eprintln!(
        "engine_bar_close: {n_dec} decision closes, {n_min} other 1-minute closes, {n_other} other events in {CLOSE_EVENTS} events per pass"
    );
    let mut g = c.benchmark_group("engine_bar_close");
    g.sample_size(10);
    for (name, which, n) in [
        ("decision_close", Close::Decision, n_dec),
        ("minute_close", Close::Minute, n_min),
        ("other_event", Close::None, n_other),
    ] {
        g.throughput(Throughput::Elements(n.max(1)));
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let mut chain = StageChain::new(&cfg);
                    for (ev, &k) in events.iter().zip(&kinds) {
                        if k == which {
                            let start = Instant::now();
                            black_box(chain.serve(black_box(ev)).outputs);
                            total += start.elapsed();
                            chain.idle();
                        } else {
                            black_box(chain.step(ev).outputs);
                        }
                    }
                }
                total
            })
        });
    }
    g.finish();
}

criterion_group!(benches, engine_event_inline, engine_bar_close);
criterion_main!(benches);
