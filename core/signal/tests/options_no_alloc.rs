//! Proves that `OptionsFeatures::update` (the per-`LAST` hot path of F9–F13) and
//! `on_session` allocate nothing, under a counting global allocator (per-thread counter); a
//! control shows the counter sees a deliberate allocation.

use std::alloc::System;
use std::hint::black_box;

use mia_model::features::{FeatureId, FeatureVector};
use mia_model::time::calendar::Date;
use mia_options::levels::GammaLevels;
use mia_runtime::alloc_count::CountingAlloc;
use mia_signal::features::options::{OptionsConfig, OptionsFeatures};

#[global_allocator]
static GLOBAL: CountingAlloc<System> = CountingAlloc::new(System);

const P: i64 = 1_000_000_000;

#[test]
fn counter_sees_a_deliberate_allocation() {
    let (n, b) = GLOBAL.count_during(|| black_box(Box::new(black_box(7u64))));
    assert_eq!(n, 1);
    drop(b);
}

#[test]
fn update_and_session_allocate_nothing() {
    let mut f = OptionsFeatures::new(&OptionsConfig::default(), 250_000_000);
    let levels = GammaLevels {
        computed_at_ns: 1_000,
        spot: 4980 * P,
        zero_gamma: 4970 * P,
        call_wall: 4990 * P,
        put_wall: 4950 * P,
        total_gex_usd_per_pct: 2.5e9,
        put_call_oi_ratio: 1.25,
        ..GammaLevels::default()
    };
    let day = Date::new(2025, 4, 10).expect("valid date");
    let mut v = FeatureVector::default();
    let (n, sum) = GLOBAL.count_during(|| {
        let mut sum = 0.0f32;
        f.on_session(black_box(day), &mut v);
        for i in 0..100_000i64 {
            if i % 10_000 == 0 {
                f.adopt(black_box(levels));
            }
            let mid = (i % 7 == 0).then_some(5000 * P + (i % 40) * 250_000_000);
            f.update(black_box(2_000 + i as u64), black_box(mid), Some(5000 * P), &mut v);
            sum += v.get(FeatureId::CallWallDistance).unwrap_or(0.0);
        }
        sum
    });
    assert_eq!(n, 0, "allocations on the options hot path");
    assert!(sum.is_finite());
    assert_eq!(v.get(FeatureId::GammaCycle), Some(5.0));
}
