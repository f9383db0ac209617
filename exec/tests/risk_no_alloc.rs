//! Proves that the risk manager allocates nothing after construction: a counting global
//! allocator counts this thread's allocations over a busy stream of market events, approvals,
//! fills, P&L updates, sizing calls, kills and day rolls.

use std::alloc::System;

use mia_exec::position::Position;
use mia_exec::risk::{KillSource, RejectReason, RiskConfig, RiskManager};
use mia_model::contract::ContractSpec;
use mia_model::msg::{Fill, OrderIntent, OrderSide, OrderType};
use mia_runtime::alloc_count::CountingAlloc;

#[global_allocator]
static GLOBAL: CountingAlloc<System> = CountingAlloc::new(System);

const P: i64 = 1_000_000_000;
const TICK: i64 = 250_000_000;

#[test]
fn risk_checks_do_not_allocate() {
    let cfg = RiskConfig { gamma_max_age_s: 900, max_trades_per_day: 0, ..RiskConfig::default() };
    let mut r = RiskManager::new(&cfg);
    let mut pos = Position::new(ContractSpec::ES);
    // 2025-04-15 13:00 UTC = 08:00 CDT, then 200,000 events 50 ms apart (~2.8 h, crossing hours)
    let mut ts: u64 = 1_744_722_000 * 1_000_000_000;
    let mut price = 5000 * P;
    let before = GLOBAL.thread_allocations();
    let mut approved = 0u64;
    for i in 0..200_000u64 {
        ts += 50_000_000;
        price += ((i * 7919) % 5) as i64 * TICK - 2 * TICK;
        r.on_market(ts, price);
        if i % 600 == 0 {
            r.on_gamma_age(ts, 1_000_000_000);
        }
        if i % 10 == 0 {
            let side = if (i / 10) % 3 == 0 { OrderSide::Sell } else { OrderSide::Buy };
            let order_type = if i % 20 == 0 { OrderType::Limit } else { OrderType::Market };
            let intent = OrderIntent { ts, side, qty: 1, price, order_type, ..OrderIntent::default() };
            if r.approve(intent, pos.qty()).is_ok() {
                approved += 1;
                let f = Fill {
                    ts,
                    side,
                    qty: 1,
                    price,
                    fee: mia_model::money::NanoUsd::from_nano(2_250_000_000),
                    done: true,
                    ..Fill::default()
                };
                let trip = pos.on_fill(&f);
                r.on_fill(&f, pos.qty(), trip.as_ref());
            }
            let _ = r.approve_modify(intent, pos.qty());
        }
        pos.mark(price);
        r.on_pnl(pos.net_realized() + pos.unrealized(price));
        std::hint::black_box(r.size(0.8, 2));
        if i == 150_000 {
            r.kill(RejectReason::KillSwitch, KillSource::Signal);
        }
        if i == 160_000 {
            r.resume();
        }
    }
    let after = GLOBAL.thread_allocations();
    assert!(approved > 100, "the stream exercised approvals ({approved})");
    assert_eq!(after - before, 0, "the risk manager allocated on the hot path");
}
