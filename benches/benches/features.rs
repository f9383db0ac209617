//! Feature benchmarks (ns per market event), on the synthetic ES session:
//!
//! - `features/market_only`: the shared market state alone (clock, book, classifier, bars
//!   with footprints, VWAP, smart-money prints): the baseline every feature pays once;
//! - `features/<feature>`: the market state plus one feature's hooks, in the engine's order
//!   (bar closes before the event, then the event, then the record end); the feature's own
//!   cost is the difference to `market_only`. Grouped by family: order flow F1–F8, options
//!   F9–F14 (with a fresh gamma snapshot adopted), context F15–F18;
//! - `features/engine_all`: the [`FeatureEngine`] with all 18 features, as the signal stage
//!   runs it.
//!
//! Run: `cargo bench -p mia-benches --bench features` (add
//! `-- --warm-up-time 1 --measurement-time 3` for a quick run).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use mia_benches::synthetic_events;
use mia_model::event::{Event, EventKind, Side};
use mia_model::features::FeatureVector;
use mia_model::price::PRICE_SCALE;
use mia_options::levels::GammaLevels;
use mia_signal::features::engine::FeatureEngine;
use mia_signal::features::registry::FeaturesConfig;
use mia_signal::features::{Feature, NoConfig};
use mia_signal::market::bars::TIMEFRAMES;
use mia_signal::market::{Market, MarketConfig};

const EVENTS: usize = 200_000;
const TICK: i64 = 250_000_000;

/// The baseline: a feature that does nothing.
struct Nothing;

impl Feature for Nothing {
    type Config = NoConfig;
    fn new(_: &NoConfig, _: i64) -> Self {
        Nothing
    }
}

/// One event through the market state and one feature, in the engine's order.
#[inline]
fn drive<F: Feature>(m: &mut Market, f: &mut F, out: &mut FeatureVector, ev: &Event) {
    let ch = m.advance(ev.ts_recv);
    if m.bars.due(m.now) {
        let mask = m.bars.close_due(m.now, |_, _, _| {});
        for tf in TIMEFRAMES {
            if mask & (1 << tf.index()) != 0 {
                f.on_bar_close(m, tf, out);
            }
        }
    }
    if ch.new_session {
        m.reset_session();
        f.on_session(m, out);
    }
    if ch.new_phase {
        f.on_phase(m, out);
    }
    m.before_event();
    match ev.kind {
        EventKind::Level => {
            let d = ev.depth as usize;
            let prev = match ev.side {
                Side::Bid => m.book.bid(d).size,
                Side::Ask => m.book.ask(d).size,
                Side::None => 0,
            };
            m.book.apply(ev);
            f.on_level(m, ev, prev);
        }
        EventKind::Trade => {
            let t = m.trade(ev);
            f.on_trade(m, &t, out);
        }
        EventKind::Clear => {
            m.book.clear();
            f.on_clear(out);
        }
        EventKind::Status | EventKind::Mbo => {}
    }
    if ev.is_last() {
        m.end_record(ev);
        f.on_last(m, out);
    }
}

fn gamma(at: u64) -> GammaLevels {
    GammaLevels {
        computed_at_ns: at,
        valuation_ts_ns: at,
        spot: 4980 * PRICE_SCALE,
        zero_gamma: 4950 * PRICE_SCALE,
        call_wall: 5000 * PRICE_SCALE,
        put_wall: 4900 * PRICE_SCALE,
        total_gex_usd_per_pct: 5e9,
        put_call_oi_ratio: 1.0,
        put_call_volume_ratio: 1.1,
        ..GammaLevels::default()
    }
}

fn bench_one<F: Feature>(
    c: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    cfg: &F::Config,
    events: &[Event],
) {
    let t0 = events.first().map_or(0, |e| e.ts_recv);
    c.bench_function(name, |b| {
        b.iter_batched(
            || {
                let m = Market::new(&MarketConfig::default(), TICK);
                let mut f = F::new(cfg, TICK);
                let mut out = FeatureVector::default();
                f.on_gamma(&m, &gamma(t0), &mut out);
                (m, f, out)
            },
            |(mut m, mut f, mut out)| {
                for ev in events {
                    drive(&mut m, &mut f, &mut out, ev);
                }
                black_box(out)
            },
            BatchSize::PerIteration,
        )
    });
}

fn features(c: &mut Criterion) {
    let events = synthetic_events(EVENTS);
    let fc = FeaturesConfig::default();
    let mut g = c.benchmark_group("features");
    g.throughput(Throughput::Elements(events.len() as u64));
    g.sample_size(10);
    bench_one::<Nothing>(&mut g, "market_only", &NoConfig {}, &events);
    use mia_signal::features as f;
    // order flow
    bench_one::<f::obi::BookImbalance>(&mut g, "f01_obi", &fc.obi, &events);
    bench_one::<f::ofi::Ofi>(&mut g, "f02_ofi", &fc.ofi, &events);
    bench_one::<f::delta::RollingDelta>(&mut g, "f03_delta", &fc.delta, &events);
    bench_one::<f::divergence::DeltaDivergence>(&mut g, "f04_divergence", &fc.divergence, &events);
    bench_one::<f::momentum::TickMomentum>(&mut g, "f05_momentum", &fc.momentum, &events);
    bench_one::<f::microprice::Microprice>(&mut g, "f06_microprice", &fc.microprice, &events);
    bench_one::<f::smart_money::SmartMoneyFlow>(&mut g, "f07_smart_money", &fc.smart_money, &events);
    bench_one::<f::absorption::Absorption>(&mut g, "f08_absorption", &fc.absorption, &events);
    // options (F9–F14 are one type)
    bench_one::<f::options::OptionsFeatures>(&mut g, "f09_f14_options", &fc.options, &events);
    // context
    bench_one::<f::volatility::VolatilityRegime>(&mut g, "f15_volatility", &fc.volatility, &events);
    bench_one::<f::session_phase::SessionPhaseFeature>(&mut g, "f16_session", &fc.session, &events);
    bench_one::<f::vwap_dev::VwapDeviation>(&mut g, "f17_vwap", &fc.vwap, &events);
    bench_one::<f::regime::MarketRegime>(&mut g, "f18_regime", &fc.regime, &events);
    // the whole engine
    let t0 = events.first().map_or(0, |e| e.ts_recv);
    g.bench_function("engine_all", |b| {
        b.iter_batched(
            || {
                let mut e = FeatureEngine::new(&MarketConfig::default(), &fc, TICK);
                e.adopt_gamma(&gamma(t0));
                e
            },
            |mut e| {
                for ev in &events {
                    e.begin(ev.ts_recv, ev.seq);
                    match ev.kind {
                        EventKind::Level => {
                            e.level(ev);
                        }
                        EventKind::Trade => {
                            e.trade(ev);
                        }
                        EventKind::Clear => e.clear(),
                        EventKind::Status | EventKind::Mbo => {}
                    }
                    if ev.is_last() {
                        e.end_record(ev);
                    }
                }
                black_box(*e.vector())
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(benches, features);
criterion_main!(benches);
