//! Execution benchmarks (issue 9 targets: < 100 ns each, no allocation):
//!
//! - `risk/approve`: one `RiskManager::approve` of a market order (every check of the default
//!   `[risk]` with a position and a price: rate window, position, size, band, session window,
//!   stale feed, margin, state);
//! - `oms/order_lifecycle`: one order through the order manager — create, submitted, ack,
//!   fill (four state transitions and their bookkeeping), divided by 4 per step in the report.
//!
//! Run: `cargo bench -p mia-benches --bench exec` (add
//! `-- --warm-up-time 1 --measurement-time 3` for a quick run).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use mia_exec::oms::{Cmds, IdGen, OrderManager, OrderSpec};
use mia_exec::risk::{RiskConfig, RiskManager};
use mia_model::msg::{Fill, OrderIntent};
use mia_model::order::{OrderSide, OrderType};

const P: i64 = 1_000_000_000;
/// 2024-03-13 10:00 CT in ns (inside the default session window).
const T0: u64 = 1_710_342_000_000_000_000;

fn risk(c: &mut Criterion) {
    let mut g = c.benchmark_group("risk");
    g.throughput(Throughput::Elements(1));
    let mut r = RiskManager::new(&RiskConfig { max_orders_per_sec: 64, ..RiskConfig::default() });
    let mut ts = T0;
    r.on_market(ts, 5000 * P);
    g.bench_function("approve", |b| {
        b.iter(|| {
            ts += 20_000_000; // 50 orders per second of event time: under the rate limit
            r.on_market(ts, 5000 * P);
            let intent = OrderIntent {
                ts,
                qty: 1,
                side: OrderSide::Buy,
                order_type: OrderType::Market,
                ..OrderIntent::default()
            };
            black_box(r.approve(black_box(intent), 0).is_ok())
        })
    });
    g.finish();
}

fn oms(c: &mut Criterion) {
    let mut g = c.benchmark_group("oms");
    g.throughput(Throughput::Elements(4));
    let mut m = OrderManager::new(IdGen::new());
    let mut cmds = Cmds::default();
    let mut ts = T0;
    let mut refused = 0u64;
    g.bench_function("order_lifecycle", |b| {
        b.iter(|| {
            ts += 1_000;
            let Ok(id) = m.create(OrderSpec::market(OrderSide::Buy, 1), ts) else {
                refused += 1;
                return;
            };
            let _ = m.on_submitted(id, ts);
            let _ = m.on_ack(id, ts);
            let f = Fill {
                client_order_id: id,
                ts,
                price: 5000 * P,
                qty: 1,
                leaves: 0,
                side: OrderSide::Buy,
                done: true,
                ..Fill::default()
            };
            cmds.clear();
            black_box(m.on_fill(&f, &mut cmds).is_ok());
        })
    });
    g.finish();
    // The bench must measure whole lifecycles, not refusals.
    assert_eq!(refused, 0, "the order table refused {refused} creates");
}

criterion_group!(benches, risk, oms);
criterion_main!(benches);
