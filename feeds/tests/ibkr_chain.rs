//! The SPX chain from the fake TWS: option parameters, spot, quotes with greeks, IV and open
//! interest assembled into a `Chain`.

mod ibkr_support;

use ibkr_support::{cfg, connect};
use mia_feeds::ibkr::fake::{FakeConfig, FakeTws};
use mia_feeds::ibkr::{ChainConfig, IbkrConfig};
use mia_options::chain::Root;
use std::time::Duration;

#[test]
fn the_chain_has_the_strikes_around_spot_with_quotes_and_greeks() {
    let fake = FakeTws::start(FakeConfig { spx_spot: 6002.0, ..FakeConfig::default() }).expect("fake");
    let dir = tempfile::tempdir().expect("tmp");
    let c = IbkrConfig {
        chain: ChainConfig {
            strikes_each_side: 3,
            expiries: 2,
            refresh_secs: 10,
            quote_wait_secs: 5,
            max_lines: 7,
        },
        ..cfg(fake.port())
    };
    let edge = connect(&fake, &c, dir.path());
    let chain = edge.chain_once().expect("chain");
    assert_eq!(chain.spot, 6002.0);
    // The fake lists SPXW today+1..+3 and SPX today+17: the 2 nearest are SPXW.
    assert_eq!(chain.expiries().len(), 2);
    assert!(chain.rows.iter().all(|r| r.root == Root::Spxw));
    let strikes: std::collections::BTreeSet<i64> = chain.rows.iter().map(|r| r.strike as i64).collect();
    assert_eq!(strikes.len(), 6, "3 each side: {strikes:?}");
    assert!(strikes.iter().filter(|k| **k as f64 <= 6002.0).count() == 3);
    for r in &chain.rows {
        assert!(r.call.bid > 0.0 && r.call.ask > r.call.bid, "{r:?}");
        assert!(r.put.open_interest > 0 && r.call.open_interest > 0, "{r:?}");
        assert!(r.call.iv_src.is_some() && r.put.gamma_src == Some(0.002), "{r:?}");
    }
    assert!(chain.valuation_ts_ns > 0);
    // 6 strikes × 2 rights × expiries, in batches of 7 lines.
    assert_eq!(chain.rows.len(), 12);
    assert_eq!(fake.snapshot().market_data_reqs, 1 + chain.rows.len() * 2);
    assert!(chain.rows.iter().all(|r| r.call.greeks.is_some()), "compute_model ran");

    // The thread publishes through the sink.
    let (tx, rx) = std::sync::mpsc::channel();
    let t = edge.spawn_chain(Duration::from_secs(3600), move |c| {
        let _ = tx.send(c.rows.len());
    });
    let t = t.expect("chain thread");
    assert_eq!(rx.recv_timeout(Duration::from_secs(30)).ok(), Some(chain.rows.len()));
    edge.shutdown();
    assert_eq!(t.join().expect("thread"), Ok(1));
}
