//! The ML entry filter allocates nothing per event: a full synthetic session runs through the
//! decision path with a trained 21-input ensemble (logistic + forest + boosted trees) scoring
//! every entry, and the counting allocator sees no allocation after warm-up. Needs the
//! `count-alloc` feature.
#![cfg(feature = "count-alloc")]

use mia_runtime::pipeline::Schedule;
use mia_tools::alloc::CountingAlloc;
use mia_tools::app::config::Config;
use mia_tools::app::input::Input;
use mia_tools::app::session::{run_session, RunMode, SessionOptions};
use mia_tools::ml::{train, MlConfig, ML_N};
use std::sync::atomic::{AtomicU64, Ordering};

/// The default configuration with the threshold strategy (these tests depend on its trades;
/// the default strategy may change).
fn threshold_config() -> Config {
    let mut c = Config::default();
    c.signal.strategy = mia_signal::strategy::registry::StrategyKind::Threshold;
    c
}

#[global_allocator]
static ALLOC: CountingAlloc = mia_tools::alloc::counting_mimalloc();

static WARM: AtomicU64 = AtomicU64::new(u64::MAX);
static LAST: AtomicU64 = AtomicU64::new(0);
static WARM_AT: AtomicU64 = AtomicU64::new(0);
static LAST_AT: AtomicU64 = AtomicU64::new(0);

fn hook(n: u64) {
    if !n.is_multiple_of(1 << 16) {
        return;
    }
    if n >= 1 << 17 && WARM.load(Ordering::Relaxed) == u64::MAX {
        WARM.store(ALLOC.allocations(), Ordering::Relaxed);
        WARM_AT.store(n, Ordering::Relaxed);
    }
    LAST.store(ALLOC.allocations(), Ordering::Relaxed);
    LAST_AT.store(n, Ordering::Relaxed);
}

#[test]
fn filtered_pipeline_allocates_nothing_per_event() {
    // A small ensemble that depends on the book imbalance (input 0) and the direction.
    let mut s = 0x9E37_79B9_7F4A_7C15u64;
    let mut rnd = || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    };
    let x: Vec<[f64; ML_N]> = (0..2000)
        .map(|_| {
            let mut r = [0.0; ML_N];
            for v in r.iter_mut() {
                *v = rnd();
            }
            r[ML_N - 3] = if rnd() > 0.0 { 1.0 } else { -1.0 };
            r
        })
        .collect();
    let y: Vec<bool> = x.iter().map(|r| r[0] * r[ML_N - 3] > 0.0).collect();
    let ml = MlConfig { trees: 30, ..MlConfig::default() };
    let model = train::fit(&x, &y, &ml, 0.5).expect("fit");
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("m.json");
    model.save(&path).expect("save");

    let mut config = threshold_config();
    config.ml.model = path.display().to_string();
    let opts = SessionOptions {
        input: Input::Synthetic { seed: 1, days: 1 },
        config,
        mode: Some(Schedule::Inline),
        out: None,
        progress: false,
        run_mode: RunMode::Backtest,
        on_progress: Some(hook),
        max_events: None,
        pace: None,
        profile: None,
    };
    let s = run_session(&opts).unwrap_or_else(|e| panic!("{e:#}"));
    let line = &s.notes.iter().find(|(k, _)| *k == "ml").expect("ml note").1;
    assert!(line.starts_with("model m.json"), "{line}");
    assert!(!line.contains("approved 0 rejected 0"), "the filter scored entries: {line}");
    let (warm, last) = (WARM.load(Ordering::Relaxed), LAST.load(Ordering::Relaxed));
    let counted = LAST_AT.load(Ordering::Relaxed) - WARM_AT.load(Ordering::Relaxed);
    assert!(counted >= 1_000_000, "measured over {counted} events");
    assert_ne!(warm, u64::MAX, "warm-up point reached");
    assert_eq!(last - warm, 0, "{} allocations over {counted} events after warm-up", last - warm);
}
