//! Proves that the [`LiveMetrics`] setters the hot threads call allocate nothing: a counting
//! global allocator counts this thread's allocations over a busy stream of setter calls.

use mia_runtime::alloc_count::CountingAlloc;
use mia_runtime::metrics::{risk_code, LiveMetrics};
use std::alloc::System;

#[global_allocator]
static GLOBAL: CountingAlloc<System> = CountingAlloc::new(System);

#[test]
fn setters_do_not_allocate() {
    let m = LiveMetrics::new();
    let (allocs, ()) = GLOBAL.count_during(|| {
        for i in 0..100_000u64 {
            let f = &m.feed;
            f.bump_inputs();
            f.on_market(i, i + 1);
            f.set_feed_connected(i % 2 == 0);
            f.set_ring_drops(i);
            f.set_tap_drops(i);
            f.set_feed_reconnects(i);
            m.signal.on_signal(i, 1, 2, 3, 4, 0.5);
            let e = &m.exec;
            e.set_intents(i);
            e.set_fills(i);
            e.set_risk_rejects(i);
            e.set_venue_rejects(i);
            e.set_order_rejects(i);
            e.set_working_orders(i);
            e.set_position(i as i64);
            e.set_pnl(i as i64, -(i as i64), 0);
            e.set_risk_state(risk_code::REDUCING);
            e.set_consecutive_losses(i);
            e.set_risk_reason(i);
            e.set_kills(i);
            e.set_mark(i as i64);
            e.set_prices(i as i64, 1);
            m.cold.set_gamma(i, 1, 2, 3);
            m.cold.set_gamma_spot(4);
            m.cold.set_journal_records(i);
            m.cold.set_latency((i % 4) as usize, i, i, i, i, i);
        }
    });
    assert_eq!(allocs, 0, "setters allocated {allocs} times");
    // the counter works: a snapshot is plain data, but a Vec allocates
    let (n, v) = GLOBAL.count_during(|| vec![m.snapshot()]);
    assert!(n >= 1 && v[0].inputs == 100_000, "{n}");
}
