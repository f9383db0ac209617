//! Loopback wire-to-order latency of the whole `mia live` pipeline against the fake TWS: the
//! fake writes a tick-by-tick trade that makes the threshold strategy decide; the time until
//! the resulting `PlaceOrder` is decoded by the fake covers the socket, ibapi's reader and
//! decoder, the market-data edge, the feed ring, the sequencer, the signal and exec stages
//! (features, strategy, risk, order manager), the order ring, the order edge, ibapi's encoder
//! and the socket back.
//!
//! ```text
//! cargo run --release -p mia-tools --example wire_to_order [TICKS]
//! ```
//!
//! Ticks are spaced 4 ms apart and the market alternates one-sided phases, so the strategy
//! enters and exits over and over; each order is attributed to the last trade written before
//! it arrived (exact while the latency stays under the spacing; an order arriving later than
//! that would be attributed to a later tick and understate the figure, so the spacing is
//! printed with the result). Figures go to docs/performance.md.

use mia_feeds::ibkr::fake::{FakeConfig, FakeTws};
use mia_tools::app::config::Config;
use mia_tools::app::input::Input;
use mia_tools::app::live::{run_live, BrokerKind, DataKind, LiveMode, LiveOptions};
use mia_tools::app::session::{RunMode, SessionOptions};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const ACCOUNT: &str = "DU1234567";
const SPACING: Duration = Duration::from_millis(4);
/// 2026-12-01 15:00 UTC: inside the default risk session window.
const T0: i64 = 1_796_137_200;

fn main() {
    let ticks: usize = std::env::args().nth(1).and_then(|v| v.parse().ok()).unwrap_or(3_000);
    std::env::set_var("MIA_IBKR_ACCOUNT", ACCOUNT);
    let fake = Arc::new(FakeTws::start(FakeConfig::default()).expect("fake TWS"));
    let dir = tempfile::tempdir().expect("tmp");
    let mut cfg = Config::default();
    cfg.live.enabled = true;
    cfg.live.data = DataKind::Ibkr;
    cfg.live.venue = BrokerKind::Ibkr;
    cfg.live.stop_grace_ms = 0;
    cfg.live.state_dir = dir.path().join("state");
    cfg.ibkr.port = fake.port();
    cfg.ibkr.depth_levels = 0;
    cfg.ibkr.connect_timeout_ms = 10_000;
    cfg.ibkr.request_timeout_ms = 10_000;
    cfg.ibkr.chain.refresh_secs = 3_600;
    cfg.signal.threshold.cooldown_ms = 1_000;
    // Orders are never filled here: keep risk from stopping the run on rates and trade counts.
    cfg.risk.max_orders_per_sec = 64;
    cfg.risk.max_trades_per_day = 0;
    cfg.risk.max_consecutive_losses = 0;
    cfg.risk.max_daily_loss_usd = 1e6;
    cfg.risk.max_drawdown_usd = 0.0;

    let sent: Arc<Mutex<Vec<Instant>>> = Arc::new(Mutex::new(Vec::with_capacity(ticks)));
    let feeder = {
        let (fake, sent) = (Arc::clone(&fake), Arc::clone(&sent));
        std::thread::spawn(move || {
            assert!(
                fake.wait(Duration::from_secs(30), |s| s.last_subs >= 1 && s.bid_ask_subs >= 1),
                "subscribed"
            );
            let (bid, ask) = (6010.00, 6010.25);
            for k in 0..ticks {
                let t = T0 + k as i64;
                // 12 ticks buying, 12 selling: entries, exits and reversals.
                if (k / 12) % 2 == 0 {
                    fake.bid_ask(bid, ask, 300.0, 20.0, t);
                    let at = Instant::now();
                    fake.trade(ask, 20.0, t);
                    sent.lock().expect("lock").push(at);
                } else {
                    fake.bid_ask(bid, ask, 20.0, 300.0, t);
                    let at = Instant::now();
                    fake.trade(bid, 20.0, t);
                    sent.lock().expect("lock").push(at);
                }
                std::thread::sleep(SPACING);
            }
        })
    };
    // A broker that fills every market order at once (a strategy whose orders never fill keeps
    // one order working and decides nothing new).
    let stop_filler = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let filler = {
        let (fake, stop) = (Arc::clone(&fake), Arc::clone(&stop_filler));
        std::thread::spawn(move || {
            let mut done = 0usize;
            while !stop.load(std::sync::atomic::Ordering::Acquire) {
                let placed = fake.snapshot().placed;
                for o in placed.iter().skip(done) {
                    if o.order_type == "MKT" {
                        let px = if o.action == "BUY" { 6010.25 } else { 6010.00 };
                        let _ = fake.fill(o.order_id, o.qty, px, 2.25);
                    }
                }
                done = placed.len();
                std::thread::sleep(Duration::from_micros(500));
            }
        })
    };
    let session = SessionOptions {
        input: Input::Synthetic { seed: 1, days: 1 },
        config: cfg,
        mode: None,
        out: Some(dir.path().join("run")),
        progress: false,
        run_mode: RunMode::Live,
        pace: None,
        max_events: Some(2 * ticks as u64 - 1),
        profile: None,
        on_progress: None,
    };
    let opts =
        LiveOptions { mode: LiveMode::Live, session, data: None, venue: None, speed: None, live_flag: true };
    let summary = run_live(opts).expect("mia live on the fake TWS");
    feeder.join().expect("feeder");
    stop_filler.store(true, std::sync::atomic::Ordering::Release);
    filler.join().expect("filler");

    let sent = sent.lock().expect("lock").clone();
    let placed = fake.snapshot().placed;
    let mut lat_us: Vec<f64> = Vec::new();
    let mut last_tick = usize::MAX;
    for o in &placed {
        // The last trade written before the order arrived.
        let Some(k) = sent.iter().rposition(|s| *s <= o.received) else { continue };
        if k == last_tick {
            continue; // a later order of the same decision (bracket children, cancels)
        }
        last_tick = k;
        lat_us.push(o.received.duration_since(sent[k]).as_secs_f64() * 1e6);
    }
    lat_us.sort_by(f64::total_cmp);
    let q = |p: f64| lat_us[((lat_us.len() as f64 - 1.0) * p).round() as usize];
    println!(
        "wire-to-order over {} decisions ({} PlaceOrders, {} ticks {} ms apart, {} orders in the summary)",
        lat_us.len(),
        placed.len(),
        ticks,
        SPACING.as_millis(),
        summary.orders
    );
    if lat_us.is_empty() {
        println!("no order reached the fake");
        return;
    }
    println!(
        "p50 {:.1} µs  p90 {:.1} µs  p99 {:.1} µs  max {:.1} µs",
        q(0.50),
        q(0.90),
        q(0.99),
        lat_us[lat_us.len() - 1]
    );
}
