//! Proof of "no heap allocation per event": after warm-up, a full synthetic session (≥ 1 M
//! events) runs through the whole decision path — synthetic feed, normalizer, book, features,
//! signal, risk, simulated venue, position, digest sink — without a single allocation, in both
//! pipeline modes. Needs the `count-alloc` feature (the counting allocator around mimalloc).
#![cfg(feature = "count-alloc")]

use mia_runtime::pipeline::Schedule;
use mia_tools::alloc::CountingAlloc;
use mia_tools::app::config::Config;
use mia_tools::app::input::Input;
use mia_tools::app::session::{run_session, RunMode, SessionOptions};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

#[global_allocator]
static ALLOC: CountingAlloc = mia_tools::alloc::counting_mimalloc();

static WARM: AtomicU64 = AtomicU64::new(u64::MAX);
static LAST: AtomicU64 = AtomicU64::new(0);
static WARM_AT: AtomicU64 = AtomicU64::new(0);
static LAST_AT: AtomicU64 = AtomicU64::new(0);
// The counters are process-wide: run the modes one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

const WARM_UP_EVENTS: u64 = 1 << 17;

/// Progress hook: the periodic reports (every 65,536 events) bracket the measured window; the
/// final report, made while threads wind down and hand their results back, is not part of it.
fn hook(n: u64) {
    if !n.is_multiple_of(1 << 16) {
        return;
    }
    if n >= WARM_UP_EVENTS && WARM.load(Ordering::Relaxed) == u64::MAX {
        WARM.store(ALLOC.allocations(), Ordering::Relaxed);
        WARM_AT.store(n, Ordering::Relaxed);
    }
    LAST.store(ALLOC.allocations(), Ordering::Relaxed);
    LAST_AT.store(n, Ordering::Relaxed);
}

/// The pipeline with the threshold strategy, which trades all day (≈ 20 round trips of
/// brackets on seed 1), so the order path runs often; the engine has its own test below.
fn check(mode: Schedule) {
    let mut cfg = Config::default();
    cfg.signal.strategy = mia_signal::strategy::registry::StrategyKind::Threshold;
    check_with(mode, cfg, 1);
}

fn check_with(mode: Schedule, config: Config, seed: u64) {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    WARM.store(u64::MAX, Ordering::Relaxed);
    let opts = SessionOptions {
        input: Input::Synthetic { seed, days: 1 },
        config,
        mode: Some(mode),
        out: None,
        progress: false,
        run_mode: RunMode::Backtest,
        on_progress: Some(hook),
        max_events: None,
        pace: None,
        profile: None,
    };
    let s = match run_session(&opts) {
        Ok(s) => s,
        Err(e) => panic!("{e:#}"),
    };
    let (warm, last) = (WARM.load(Ordering::Relaxed), LAST.load(Ordering::Relaxed));
    let counted = LAST_AT.load(Ordering::Relaxed) - WARM_AT.load(Ordering::Relaxed);
    assert!(s.events >= 1_000_000, "{} events", s.events);
    assert!(s.orders > 0, "the decision path must have traded");
    // All 18 features ran: every one was valid at some snapshot, except the volatility
    // percentile (F15), which needs 5 completed sessions (a 1-day run has none).
    let f = s.features.expect("feature statistics");
    for i in (0..18).filter(|&i| i != 14) {
        assert!(f.slots[i].valid > 0, "feature {} never valid", i + 1);
    }
    assert!(counted >= 1_500_000, "measured over {counted} events");
    assert_ne!(warm, u64::MAX, "warm-up point reached");
    assert_eq!(last - warm, 0, "{mode:?}: {} allocations over {counted} events after warm-up", last - warm);
}

#[test]
fn inline_pipeline_allocates_nothing_per_event() {
    check(Schedule::Inline);
}

#[test]
fn threaded_pipeline_allocates_nothing_per_event() {
    check(Schedule::Threaded);
}

/// The signal engine (`strategy = "elite"`: Battle Navale, levels, zones, MTF, regime, patterns,
/// the generator at every 5-minute close) allocates nothing per event either, on the default
/// day (seed 65), where its entry becomes a bracket that trades.
#[test]
fn signal_engine_allocates_nothing_per_event() {
    let mut cfg = Config::default();
    cfg.signal.strategy = mia_signal::strategy::registry::StrategyKind::Elite;
    check_with(Schedule::Inline, cfg, mia_tools::app::input::DEFAULT_SEED);
}
