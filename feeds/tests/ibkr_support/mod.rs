//! Shared helpers of the `ibkr_*` tests: a config pointing at a fake TWS, a connected edge, a
//! report collector and a log capture.

#![allow(dead_code)]

use mia_feeds::ibkr::fake::FakeTws;
use mia_feeds::ibkr::{ConnectOptions, IbkrConfig, IbkrEdge, IdlePolicy, Secret};
use mia_model::msg::{ExecReport, Msg};
use mia_model::time::calendar::Date;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The account the fake manages.
pub const ACCOUNT: &str = "DU1234567";

/// A config for the fake on `port` with short timeouts.
pub fn cfg(port: u16) -> IbkrConfig {
    IbkrConfig {
        port,
        client_id: 5,
        depth_levels: 10,
        connect_timeout_ms: 10_000,
        request_timeout_ms: 10_000,
        reconnect_initial_ms: 50,
        reconnect_max_ms: 1_000,
        commission_wait_ms: 2_000,
        // Polite on a 2-core CI box (the product default `spin` is for isolated cores).
        idle: IdlePolicy::SleepUs,
        ..IbkrConfig::default()
    }
}

/// 2026-12-01 (front month ESZ6).
pub fn today() -> Date {
    Date::new(2026, 12, 1).expect("date")
}

/// Connects an edge to `fake` with the fake's account.
pub fn connect(fake: &FakeTws, cfg: &IbkrConfig, state: &Path) -> IbkrEdge {
    let opts = ConnectOptions { account: Some(Secret::new(ACCOUNT)), today: Some(today()) };
    match IbkrEdge::connect_with(cfg, state, opts) {
        Ok(e) => e,
        Err(e) => panic!("connect to the fake on {}: {e}", fake.port()),
    }
}

/// Pops reports until `pred` holds for the list (true) or `timeout` passes (false).
pub fn collect(
    rx: &mut rtrb::Consumer<Msg>,
    got: &mut Vec<ExecReport>,
    timeout: Duration,
    pred: impl Fn(&[ExecReport]) -> bool,
) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        while let Ok(m) = rx.pop() {
            if let Msg::Exec(r) = m {
                got.push(r);
            }
        }
        if pred(got) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[derive(Clone)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().map_err(|_| std::io::Error::other("poisoned"))?.extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();

/// Installs (once per test binary) a global `tracing` subscriber at TRACE writing into a buffer.
pub fn capture_logs() {
    LOGS.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let b2 = Arc::clone(&buf);
        let sub = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || Buf(Arc::clone(&b2)))
            .finish();
        tracing::subscriber::set_global_default(sub).expect("one global subscriber");
        buf
    });
}

/// Everything logged so far.
pub fn logs() -> String {
    LOGS.get()
        .map(|b| String::from_utf8_lossy(&b.lock().map(|v| v.clone()).unwrap_or_default()).into_owned())
        .unwrap_or_default()
}
