//! The signal engine (`[signal] strategy = "elite"`) on the hot path:
//!
//! - `engine_event_inline/elite`: one market event through `SignalStage` (with the whole
//!   engine: levels per trade, bars, Battle Navale per timeframe, MTF, zones, regime, patterns,
//!   generator) + `ExecStage`, chained as the inline runner chains them;
//! - `engine_bar_close/decision_close`: the events that close a 5-minute decision bar (every
//!   timeframe's Battle Navale and MTF, the 1-minute levels and zones, and the decision:
//!   regime, the 6 patterns, `C(d)`, selector, gates, confidence), timed alone inside full
//!   passes over the events; criterion's throughput is per closing event.
//!
//! Inputs: the synthetic ES session from the RTH open (see `mia_benches`); the first decision
//! close of each pass comes from fresh stages (cold), as in a new session.
//! Run: `cargo bench -p mia-benches --bench engine -- --warm-up-time 1 --measurement-time 3`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use mia_benches::{stages, synthetic_events};
use mia_model::event::Event;
use mia_model::msg::{Envelope, Msg};
use mia_runtime::stage::{Outbox, Stage};
use mia_signal::strategy::registry::StrategyKind;
use mia_tools::app::config::Config;

/// Events pre-generated for the per-event bench (≈ the first 20 min of RTH, the busiest).
const EVENTS: usize = 200_000;
/// Events of one bar-close pass (≈ the first 2 h of RTH: a few dozen decision closes).
const CLOSE_EVENTS: usize = 1_000_000;
/// The decision timeframe, ns.
const BAR_NS: u64 = 300_000_000_000;

struct Chain {
    stages: Vec<Box<dyn Stage>>,
    mid: Outbox,
    out: Outbox,
}

impl Chain {
    fn new(cfg: &Config) -> Self {
        Self { stages: stages(cfg), mid: Outbox::new(), out: Outbox::new() }
    }

    #[inline]
    fn step(&mut self, ev: &Event) -> usize {
        let env = Envelope { t0: 1, msg: Msg::Market(*ev) };
        let [market, exec] = &mut self.stages[..] else { unreachable!("two stages") };
        market.on_envelope(&env, &mut self.mid);
        for k in 0..self.mid.len() {
            if let Some(e) = self.mid.get(k) {
                exec.on_envelope(&e, &mut self.out);
            }
        }
        self.mid.clear();
        let n = self.out.len();
        self.out.clear();
        n
    }
}

fn elite() -> Config {
    let mut cfg = Config::default();
    cfg.signal.strategy = StrategyKind::Elite;
    cfg
}

fn engine_event_inline(c: &mut Criterion) {
    let cfg = elite();
    let events = synthetic_events(EVENTS);
    let mut chain = Chain::new(&cfg);
    let mut pos = 0usize;
    let mut g = c.benchmark_group("engine_event_inline");
    g.throughput(Throughput::Elements(1));
    g.bench_function("elite", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut left = iters;
            while left > 0 {
                if pos == events.len() {
                    chain = Chain::new(&cfg);
                    pos = 0;
                }
                let k = (events.len() - pos).min(usize::try_from(left).unwrap_or(usize::MAX));
                let start = Instant::now();
                let mut n = 0usize;
                for ev in &events[pos..pos + k] {
                    n += chain.step(black_box(ev));
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

fn engine_bar_close(c: &mut Criterion) {
    let cfg = elite();
    let events = synthetic_events(CLOSE_EVENTS);
    // The first event of each new 5-minute bucket closes the decision bar (when one is open).
    let closes: Vec<bool> = events
        .iter()
        .enumerate()
        .map(|(i, e)| i > 0 && e.ts_recv / BAR_NS > events[i - 1].ts_recv / BAR_NS)
        .collect();
    let n_closes = closes.iter().filter(|&&x| x).count() as u64;
    eprintln!("engine_bar_close: {n_closes} decision closes in {CLOSE_EVENTS} events per pass");
    let mut g = c.benchmark_group("engine_bar_close");
    g.sample_size(10);
    g.throughput(Throughput::Elements(n_closes.max(1)));
    g.bench_function("decision_close", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let mut chain = Chain::new(&cfg);
                for (ev, &close) in events.iter().zip(&closes) {
                    if close {
                        let start = Instant::now();
                        black_box(chain.step(black_box(ev)));
                        total += start.elapsed();
                    } else {
                        black_box(chain.step(ev));
                    }
                }
            }
            total
        })
    });
    g.finish();
}

criterion_group!(benches, engine_event_inline, engine_bar_close);
criterion_main!(benches);
