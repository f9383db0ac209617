//! Proves that the simulated exchange and the position accounting do not allocate after
//! construction: a counting global allocator counts the allocations made by this test's own
//! thread while a busy market session is replayed.

use std::alloc::System;

use mia_exec::position::{Position, TradeRing};
use mia_exec::sim::{FillBuf, SimConfig, SimVenue};
use mia_model::contract::ContractSpec;
use mia_model::event::{flags, Event, EventKind, Side};
use mia_model::msg::{OrderIntent, OrderSide, OrderType};
use mia_runtime::alloc_count::CountingAlloc;

#[global_allocator]
static GLOBAL: CountingAlloc<System> = CountingAlloc::new(System);

/// Allocations made by this test's thread so far.
fn allocs() -> u64 {
    GLOBAL.thread_allocations()
}

const TICK: i64 = 250_000_000;

/// Feeds one event's fills to the position (the caller drains after every `on_market`).
fn drain(out: &FillBuf, pos: &mut Position, ring: &mut TradeRing, filled: &mut u64) {
    for f in out.fills() {
        *filled += u64::from(f.qty);
        if let Some(rt) = pos.on_fill(f) {
            ring.push(rt);
        }
    }
}

#[test]
fn replaying_a_session_does_not_allocate() {
    let mut sim = SimVenue::new(SimConfig::default(), ContractSpec::ES);
    let mut out = FillBuf::new();
    let mut pos = Position::new(ContractSpec::ES);
    let mut ring = TradeRing::new(16);
    let mut filled = 0u64;

    let before = allocs();
    let mut mid: i64 = 5_000_000_000_000;
    let mut id = 0u64;
    for step in 0..20_000u64 {
        let ts = 1_000_000 + step * 100_000;
        // A wandering mid, five levels a side, then a print and sometimes an order.
        mid += TICK * (((step * 7919) % 5) as i64 - 2);
        for d in 0..5u8 {
            let off = TICK * (i64::from(d) + 1);
            let f = if d == 4 { flags::LAST } else { 0 };
            for ev in [
                Event::level(ts, ts, Side::Bid, d, mid - off, 10 + u32::from(d), 3, 0),
                Event::level(ts, ts, Side::Ask, d, mid + off, 10 + u32::from(d), 3, f),
            ] {
                sim.on_market(&ev, &mut out);
                drain(&out, &mut pos, &mut ring, &mut filled);
            }
        }
        let side = if step.is_multiple_of(2) { Side::Bid } else { Side::Ask };
        let print =
            Event { seq: step, ..Event::trade(ts, ts, side, mid + side.sign() * 2 * TICK, 7, flags::LAST) };
        assert_eq!(print.kind, EventKind::Trade);
        sim.on_market(&print, &mut out);
        drain(&out, &mut pos, &mut ring, &mut filled);
        pos.mark(mid);
        if step.is_multiple_of(10) {
            id += 1;
            let (order_type, price) = match id % 4 {
                0 => (OrderType::Market, 0),
                3 => (OrderType::Stop, 0),
                _ => (OrderType::Limit, mid),
            };
            let intent = OrderIntent {
                client_order_id: id,
                seq: step,
                ts,
                price,
                qty: 1,
                instrument_id: 1,
                side: [OrderSide::Buy, OrderSide::Sell][(id % 2) as usize],
                order_type,
                trigger: if order_type == OrderType::Stop { mid } else { 0 },
                ..OrderIntent::default()
            };
            let _ = sim.submit(&intent);
            // Every 7th order cancels the previous one.
            if id.is_multiple_of(7) {
                let _ = sim.cancel(id - 1);
            }
        }
    }
    let during = allocs() - before;
    assert_eq!(during, 0, "the hot path allocated {during} times");
    // The replay really exercised the venue.
    assert!(filled > 1_000, "filled {filled}");
    assert!(pos.trips() > 10, "trips {}", pos.trips());
    assert_eq!(ring.len() as u64 + ring.overwritten(), pos.trips());
    assert_eq!(filled, sim.stats().filled_qty);
    assert_eq!(out.overflow(), 0);
}
