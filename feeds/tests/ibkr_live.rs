//! Smoke test against a real paper TWS / IB Gateway. Skipped unless `MIA_IBKR_LIVE_TESTS=1`;
//! then it uses `MIA_IBKR_HOST` (127.0.0.1), `MIA_IBKR_PORT` (4002), `MIA_IBKR_CLIENT_ID` (91)
//! and `MIA_IBKR_ACCOUNT`. It places no order: check, connect, a few seconds of market data.

use mia_feeds::ibkr::{check, IbkrConfig, IbkrEdge};
use mia_runtime::source::RingSource;
use std::time::{Duration, Instant};

fn env_or<T: std::str::FromStr>(k: &str, d: T) -> T {
    std::env::var(k).ok().and_then(|v| v.parse().ok()).unwrap_or(d)
}

#[test]
fn live_paper_gateway_smoke() {
    if std::env::var("MIA_IBKR_LIVE_TESTS").as_deref() != Ok("1") {
        eprintln!("skipped: set MIA_IBKR_LIVE_TESTS=1 (and a paper Gateway) to run");
        return;
    }
    let cfg = IbkrConfig {
        host: env_or("MIA_IBKR_HOST", "127.0.0.1".to_string()),
        port: env_or("MIA_IBKR_PORT", 4002),
        client_id: env_or("MIA_IBKR_CLIENT_ID", 91),
        ..IbkrConfig::default()
    };
    let report = check(&cfg);
    println!("{report}");
    assert!(report.ok(), "{report}");
    let dir = tempfile::tempdir().expect("tmp");
    let edge = IbkrEdge::connect(&cfg, dir.path()).expect("connect");
    let (tx, _src) = RingSource::pair("ibkr live", 1 << 16);
    let md = edge.spawn_market_data(tx).expect("md");
    let status = edge.status();
    let deadline = Instant::now() + Duration::from_secs(30);
    while status.events.load(std::sync::atomic::Ordering::Relaxed) == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    println!(
        "{} events from {} (state {:?})",
        status.events.load(std::sync::atomic::Ordering::Relaxed),
        edge.contract().local_symbol,
        status.state()
    );
    edge.shutdown();
    let _ = md.join();
}
