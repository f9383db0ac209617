//! Loopback latency of the IBKR edge against the fake TWS (documented in `docs/ibkr.md`,
//! "Latency"):
//!
//! - decode path: the fake writes a tick-by-tick trade → the `Event` pops from the
//!   `RingSource` (socket, ibapi's reader and decoder, the edge's mapping, the ring);
//! - order path: an `OrderIntent` is pushed into the order ring → the fake has decoded its
//!   `PlaceOrder` (ring, the edge, ibapi's encoder, the socket, the fake's decoder).
//!
//! `cargo run --release -p mia-feeds --example ibkr_latency [iterations]`

use hdrhistogram::Histogram;
use mia_feeds::ibkr::fake::{FakeConfig, FakeTws};
use mia_feeds::ibkr::{ConnectOptions, IbkrConfig, IbkrEdge, Secret};
use mia_model::msg::{OrderIntent, OrderSide, OrderType};
use mia_model::time::calendar::Date;
use mia_runtime::source::{EventSource, RingSource};
use std::time::{Duration, Instant};

fn print(name: &str, h: &Histogram<u64>) {
    println!(
        "{name:<8} n={:<6} p50={:>7.1} µs  p90={:>7.1} µs  p99={:>7.1} µs  max={:>8.1} µs",
        h.len(),
        h.value_at_quantile(0.50) as f64 / 1e3,
        h.value_at_quantile(0.90) as f64 / 1e3,
        h.value_at_quantile(0.99) as f64 / 1e3,
        h.max() as f64 / 1e3
    );
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(2000);
    let fake = FakeTws::start(FakeConfig::default())?;
    let dir = tempfile::tempdir()?;
    let cfg = IbkrConfig { port: fake.port(), client_id: 3, depth_levels: 0, ..IbkrConfig::default() };
    let opts = ConnectOptions { account: Some(Secret::new("DU1234567")), today: Date::new(2026, 12, 1) };
    let edge = IbkrEdge::connect_with(&cfg, dir.path(), opts)?;

    // Decode path.
    let (tx, mut src) = RingSource::pair("ibkr", 1 << 12);
    let _md = edge.spawn_market_data(tx)?;
    if !fake.wait(Duration::from_secs(10), |s| s.last_subs == 1) {
        return Err("no tick-by-tick subscription".into());
    }
    let mut h = Histogram::<u64>::new_with_bounds(1, 10_000_000_000, 3)?;
    for i in 0..n + 100 {
        let t0 = Instant::now();
        fake.trade(6000.0 + (i % 8) as f64 * 0.25, 1.0, 1_796_126_400);
        loop {
            match src.next_event()? {
                Some(e) if e.kind == mia_model::event::EventKind::Trade => break,
                Some(_) => {}
                None => return Err("feed ended".into()),
            }
        }
        if i >= 100 {
            h.record(t0.elapsed().as_nanos() as u64)?;
        }
    }
    print("decode", &h);

    // Order path.
    let (mut otx, orx) = rtrb::RingBuffer::new(1024);
    let (rtx, mut rrx) = rtrb::RingBuffer::new(1 << 14);
    let _ord = edge.spawn_orders(orx, rtx)?;
    let mut h = Histogram::<u64>::new_with_bounds(1, 10_000_000_000, 3)?;
    for i in 0..n + 100 {
        let i_u = i as u64;
        let intent = OrderIntent {
            client_order_id: 1_000 + i_u,
            side: if i % 2 == 0 { OrderSide::Buy } else { OrderSide::Sell },
            order_type: OrderType::Market,
            qty: 1,
            ..OrderIntent::default()
        };
        let t0 = Instant::now();
        otx.push(intent).map_err(|_| "order ring full")?;
        if !fake.wait(Duration::from_secs(10), |s| s.placed.len() > i) {
            return Err("PlaceOrder not seen".into());
        }
        let received = fake.snapshot().placed[i].received;
        if i >= 100 {
            h.record(received.saturating_duration_since(t0).as_nanos() as u64)?;
        }
        while rrx.pop().is_ok() {}
    }
    print("order", &h);
    edge.shutdown();
    Ok(())
}
