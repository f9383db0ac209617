//! The Prometheus `/metrics` endpoint: a std `TcpListener` on its own thread serving the text
//! exposition format 0.0.4 (`# HELP`, `# TYPE`, samples), every metric named `mia_…` with its
//! unit in the name. The page is rendered at each scrape from the latest [`HealthSnapshot`] and
//! [`Health`] by [`render`]; `docs/monitoring.md` tables every metric.

use crate::monitor::health::Health;
use anyhow::{Context, Result};
use mia_model::price::UNDEF_PX;
use mia_runtime::metrics::{HealthSnapshot, LATENCY_STAGES};
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// The exposition format's content type.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Extra monitor figures for the page.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct MonitorFigures {
    /// Alerts fired so far.
    pub alerts_fired: u64,
    /// Alerts open now.
    pub alerts_active: u64,
    /// Discord messages delivered.
    pub discord_sent: u64,
    /// Discord messages dropped (full queue).
    pub discord_dropped: u64,
    /// Discord messages given up.
    pub discord_failed: u64,
}

struct Page(String);

impl Page {
    fn head(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {help}");
        let _ = writeln!(self.0, "# TYPE {name} {kind}");
    }
    fn sample(&mut self, name: &str, labels: &str, v: f64) {
        let v = if v.is_nan() {
            "NaN".to_string()
        } else if v.is_infinite() {
            if v > 0.0 { "+Inf" } else { "-Inf" }.to_string()
        } else {
            format!("{v}")
        };
        if labels.is_empty() {
            let _ = writeln!(self.0, "{name} {v}");
        } else {
            let _ = writeln!(self.0, "{name}{{{labels}}} {v}");
        }
    }
    fn counter(&mut self, name: &str, help: &str, v: u64) {
        self.head(name, "counter", help);
        self.sample(name, "", v as f64);
    }
    fn gauge(&mut self, name: &str, help: &str, v: f64) {
        self.head(name, "gauge", help);
        self.sample(name, "", v);
    }
}

fn px_points(p: i64) -> f64 {
    if p == UNDEF_PX {
        f64::NAN
    } else {
        p as f64 / 1e9
    }
}

/// The `/metrics` page for snapshot `s`, health `h` and monitor figures `m`.
pub fn render(s: &HealthSnapshot, h: &Health, m: &MonitorFigures) -> String {
    let mut p = Page(String::with_capacity(8 << 10));
    p.counter("mia_inputs_total", "Inputs sequenced (market, exec reports, controls).", s.inputs);
    p.counter("mia_market_events_total", "Market events sequenced.", s.market_events);
    p.counter("mia_signals_total", "Signals emitted by the signal stage.", s.signals);
    p.counter("mia_intents_total", "Order intents emitted by the exec stage.", s.intents);
    p.counter("mia_fills_total", "Fills.", s.fills);
    p.head("mia_rejects_total", "counter", "Orders rejected, by who rejected them.");
    p.sample("mia_rejects_total", "source=\"risk\"", s.risk_rejects as f64);
    p.sample("mia_rejects_total", "source=\"venue\"", s.venue_rejects as f64);
    p.sample("mia_rejects_total", "source=\"broker\"", s.order_rejects as f64);
    p.head("mia_drops_total", "counter", "Envelopes lost: hot rings and drop-policy taps.");
    p.sample("mia_drops_total", "where=\"ring\"", s.ring_drops as f64);
    p.sample("mia_drops_total", "where=\"tap\"", s.tap_drops as f64);
    p.counter("mia_feed_reconnects_total", "Market-data feed reconnections.", s.feed_reconnects);
    p.counter("mia_journal_records_total", "Journal records written.", s.journal_records);
    p.gauge(
        "mia_feed_connected",
        "1 when the market-data feed is connected.",
        f64::from(u8::from(s.feed_connected)),
    );
    p.gauge(
        "mia_feed_age_seconds",
        "Wall time since the last market event was received (NaN: none yet).",
        h.feed_age_s.unwrap_or(f64::NAN),
    );
    p.gauge(
        "mia_data_latency_seconds",
        "Receive wall time minus event time of the last market event.",
        h.data_latency_ms.map_or(f64::NAN, |v| v / 1e3),
    );
    p.gauge(
        "mia_last_event_timestamp_seconds",
        "Event time of the last market event, UNIX seconds.",
        s.last_event_ts_ns as f64 / 1e9,
    );
    p.gauge("mia_position_contracts", "Signed position, contracts.", s.position as f64);
    p.gauge("mia_working_orders", "Orders working at the venue.", s.working_orders as f64);
    p.gauge("mia_realized_pnl_usd", "Realized P&L of the session, USD.", s.realized_pnl_nano as f64 / 1e9);
    p.gauge(
        "mia_unrealized_pnl_usd",
        "Unrealized P&L of the open position, USD.",
        s.unrealized_pnl_nano as f64 / 1e9,
    );
    p.gauge("mia_daily_pnl_usd", "Daily P&L the risk stops use, USD.", s.daily_pnl_nano as f64 / 1e9);
    p.gauge("mia_drawdown_usd", "Session equity below its peak, USD.", h.drawdown_usd);
    p.gauge("mia_risk_state", "Risk state: 0 active, 1 reducing, 2 halted.", s.risk_state as f64);
    p.gauge("mia_consecutive_losses", "Losing round trips in a row.", s.consecutive_losses as f64);
    p.gauge(
        "mia_gamma_age_seconds",
        "Age of the adopted gamma snapshot in event time (NaN: none).",
        h.gamma_age_s.unwrap_or(f64::NAN),
    );
    p.head(
        "mia_gamma_level_points",
        "gauge",
        "Gamma levels of the adopted snapshot, index points (NaN: none).",
    );
    p.sample("mia_gamma_level_points", "level=\"zero_gamma\"", px_points(s.gamma_zero));
    p.sample("mia_gamma_level_points", "level=\"call_wall\"", px_points(s.gamma_call_wall));
    p.sample("mia_gamma_level_points", "level=\"put_wall\"", px_points(s.gamma_put_wall));
    p.gauge("mia_journal_lag_records", "Inputs not yet in the journal.", h.journal_lag as f64);
    p.head("mia_stage_latency_seconds", "summary", "Per-stage latency.");
    for (i, name) in LATENCY_STAGES.iter().enumerate() {
        let c = s.latency[i];
        for (q, v) in [("0.5", c.p50_ns), ("0.99", c.p99_ns), ("0.999", c.p999_ns)] {
            p.sample(
                "mia_stage_latency_seconds",
                &format!("stage=\"{name}\",quantile=\"{q}\""),
                v as f64 / 1e9,
            );
        }
        p.sample("mia_stage_latency_seconds_sum", &format!("stage=\"{name}\""), c.sum_ns as f64 / 1e9);
        p.sample("mia_stage_latency_seconds_count", &format!("stage=\"{name}\""), c.count as f64);
    }
    let host = &h.host;
    p.gauge("mia_host_load1", "1-minute load average.", host.load1.unwrap_or(f64::NAN));
    p.gauge(
        "mia_host_cpu_ratio",
        "1-minute load divided by the cores.",
        host.cpu_percent.map_or(f64::NAN, |v| v / 100.0),
    );
    p.gauge(
        "mia_process_resident_memory_bytes",
        "Resident set of the mia process.",
        host.rss_bytes.map_or(f64::NAN, |v| v as f64),
    );
    p.gauge(
        "mia_host_memory_used_ratio",
        "System memory in use.",
        host.memory_percent.map_or(f64::NAN, |v| v / 100.0),
    );
    p.gauge(
        "mia_disk_free_bytes",
        "Free space of the run directory's file system.",
        host.disk_free_bytes.map_or(f64::NAN, |v| v as f64),
    );
    p.gauge(
        "mia_disk_used_ratio",
        "Used share of the run directory's file system.",
        host.disk_used_percent.map_or(f64::NAN, |v| v / 100.0),
    );
    p.counter("mia_alerts_fired_total", "Alerts fired by the rules.", m.alerts_fired);
    p.gauge("mia_alerts_active", "Alerts open now.", m.alerts_active as f64);
    p.head("mia_discord_messages_total", "counter", "Discord messages by outcome.");
    p.sample("mia_discord_messages_total", "outcome=\"sent\"", m.discord_sent as f64);
    p.sample("mia_discord_messages_total", "outcome=\"dropped\"", m.discord_dropped as f64);
    p.sample("mia_discord_messages_total", "outcome=\"failed\"", m.discord_failed as f64);
    p.0
}

/// The endpoint's thread.
pub struct MetricsServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    served: Arc<AtomicU64>,
    handle: Option<JoinHandle<()>>,
}

impl MetricsServer {
    /// Binds `addr` (port 0: any free port) and serves `GET /metrics` with `page()`; any other
    /// path is 404.
    ///
    /// # Errors
    /// The address cannot be bound (named) or the thread cannot start.
    pub fn spawn(addr: &str, page: Arc<dyn Fn() -> String + Send + Sync>) -> Result<Self> {
        let listener =
            TcpListener::bind(addr).with_context(|| format!("monitor.metrics_addr {addr}: cannot listen"))?;
        let addr = listener.local_addr().context("metrics listener address")?;
        listener.set_nonblocking(true).context("metrics listener: non-blocking")?;
        let stop = Arc::new(AtomicBool::new(false));
        let served = Arc::new(AtomicU64::new(0));
        let (stop2, served2) = (Arc::clone(&stop), Arc::clone(&served));
        let handle = std::thread::Builder::new()
            .name("mia-metrics".into())
            .spawn(move || {
                while !stop2.load(Ordering::Acquire) {
                    match listener.accept() {
                        Ok((s, _)) => {
                            if serve(s, page.as_ref()) {
                                served2.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(20)),
                    }
                }
            })
            .context("cannot start the metrics thread")?;
        Ok(Self { addr, stop, served, handle: Some(handle) })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Pages served.
    pub fn served(&self) -> u64 {
        self.served.load(Ordering::Relaxed)
    }

    /// Stops and joins the thread.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Answers one connection; `true` when it served the page.
fn serve(mut s: TcpStream, page: &(dyn Fn() -> String + Send + Sync)) -> bool {
    let _ = s.set_nonblocking(false);
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = s.set_write_timeout(Some(Duration::from_secs(2)));
    let mut buf = [0u8; 2048];
    let mut n = 0;
    while n < buf.len() {
        match s.read(&mut buf[n..]) {
            Ok(0) | Err(_) => break,
            Ok(k) => {
                n += k;
                if buf[..n].windows(4).any(|w| w == b"\r\n\r\n") {
                    break;
                }
            }
        }
    }
    let head = String::from_utf8_lossy(&buf[..n]);
    let mut first = head.lines().next().unwrap_or("").split_whitespace();
    let (method, path) = (first.next().unwrap_or(""), first.next().unwrap_or(""));
    let path = path.split('?').next().unwrap_or("");
    let (status, ctype, body, ok) = if method == "GET" && (path == "/metrics" || path == "/") {
        ("200 OK", CONTENT_TYPE, page(), true)
    } else {
        ("404 Not Found", "text/plain", "not found: try /metrics\n".to_string(), false)
    };
    let resp = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = s.write_all(resp.as_bytes()).and_then(|_| s.write_all(body.as_bytes()));
    ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::health::{HealthModel, HostSample};
    use mia_runtime::metrics::LiveMetrics;

    fn scrape(addr: SocketAddr, path: &str) -> String {
        let mut s = TcpStream::connect(addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
        write!(s, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").expect("write");
        let mut out = String::new();
        s.read_to_string(&mut out).expect("read");
        out
    }

    fn demo() -> (HealthSnapshot, Health) {
        let m = LiveMetrics::new();
        m.feed.on_market(1_000_000_000_000, 1_000_002_000_000);
        m.feed.set_feed_connected(true);
        m.exec.set_position(-2);
        m.exec.set_pnl(150_000_000_000, -25_500_000_000, 124_500_000_000);
        m.exec.set_risk_rejects(3);
        m.cold.set_gamma(999_000_000_000, 5_000_250_000_000, 5_100 * 1_000_000_000, UNDEF_PX);
        m.cold.set_latency(0, 10, 10_000, 800, 1_900, 2_500);
        let s = m.snapshot();
        let h = HealthModel::new().update(&s, HostSample::read(None), 1_000_003_000_000);
        (s, h)
    }

    #[test]
    fn every_family_has_help_type_and_a_unit_suffix() {
        let (s, h) = demo();
        let page = render(&s, &h, &MonitorFigures::default());
        let mut families = Vec::new();
        for line in page.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let mut it = rest.split(' ');
                let (name, kind) = (it.next().unwrap_or(""), it.next().unwrap_or(""));
                assert!(name.starts_with("mia_"), "{name}");
                if kind == "counter" {
                    assert!(name.ends_with("_total"), "{name}");
                }
                assert!(page.contains(&format!("# HELP {name} ")), "{name} has HELP");
                families.push(name.to_string());
            } else if !line.starts_with('#') {
                let name = line.split(['{', ' ']).next().unwrap_or("");
                assert!(
                    families.iter().any(|f| name.starts_with(f.as_str())),
                    "sample {name} under its family"
                );
            }
        }
        assert!(families.len() >= 30, "{}", families.len());
        assert!(page.contains("mia_position_contracts -2\n"), "{page}");
        assert!(page.contains("mia_unrealized_pnl_usd -25.5\n"), "{page}");
        assert!(page.contains("mia_rejects_total{source=\"risk\"} 3\n"), "{page}");
        assert!(page.contains("mia_gamma_level_points{level=\"zero_gamma\"} 5000.25\n"), "{page}");
        assert!(page.contains("mia_gamma_level_points{level=\"put_wall\"} NaN\n"), "{page}");
        assert!(
            page.contains("mia_stage_latency_seconds{stage=\"signal\",quantile=\"0.99\"} 0.0000019\n"),
            "{page}"
        );
        assert!(
            page.contains("mia_feed_age_seconds 0.001\n")
                && page.contains("mia_data_latency_seconds 0.002\n"),
            "{page}"
        );
    }

    #[test]
    fn serves_metrics_over_http_and_promtool_accepts_it() {
        let (s, h) = demo();
        let page: Arc<dyn Fn() -> String + Send + Sync> =
            Arc::new(move || render(&s, &h, &MonitorFigures::default()));
        let srv = MetricsServer::spawn("127.0.0.1:0", page).expect("spawn");
        let resp = scrape(srv.addr(), "/metrics");
        assert!(resp.starts_with("HTTP/1.1 200 OK\r\n"), "{resp}");
        assert!(resp.contains("Content-Type: text/plain; version=0.0.4"), "{resp}");
        let body = resp.split_once("\r\n\r\n").map(|x| x.1).unwrap_or("").to_string();
        assert!(body.contains("# TYPE mia_fills_total counter"), "{body}");
        let nf = scrape(srv.addr(), "/nope");
        assert!(nf.starts_with("HTTP/1.1 404"), "{nf}");
        assert_eq!(srv.served(), 1);
        srv.stop();
        promtool_check(&body);
    }

    /// `promtool check metrics` on `body`. promtool must be installed (`.ci/install-tools`
    /// installs Debian's `prometheus`): a missing promtool fails the test.
    fn promtool_check(body: &str) {
        use std::process::{Command, Stdio};
        let child = Command::new("promtool")
            .args(["check", "metrics"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn();
        let mut child = match child {
            Ok(c) => c,
            Err(e) => panic!(
                "promtool not found ({e}): install it with .ci/install-tools (Debian package `prometheus`) \
                 to check the /metrics exposition format"
            ),
        };
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(body.as_bytes()).expect("promtool stdin");
        }
        let out = child.wait_with_output().expect("promtool");
        assert!(
            out.status.success(),
            "promtool check metrics failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    #[test]
    fn the_grafana_dashboard_reads_only_served_metrics() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/grafana-dashboard.json");
        let text = std::fs::read_to_string(path).expect("config/grafana-dashboard.json");
        let dash: serde_json::Value = serde_json::from_str(&text).expect("dashboard JSON");
        let (s, h) = demo();
        let page = render(&s, &h, &MonitorFigures::default());
        let mut n = 0;
        for panel in dash["panels"].as_array().expect("panels") {
            for t in panel["targets"].as_array().expect("targets") {
                let expr = t["expr"].as_str().expect("expr");
                let mut rest = expr;
                while let Some(i) = rest.find("mia_") {
                    let name: String =
                        rest[i..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                    assert!(
                        page.contains(&format!("# TYPE {name} ")),
                        "{}: {name} is not served",
                        panel["title"]
                    );
                    n += 1;
                    rest = &rest[i + name.len()..];
                }
            }
        }
        assert!(n >= 20, "{n} metric references");
    }

    #[test]
    fn a_taken_port_is_a_named_error() {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = l.local_addr().expect("addr").to_string();
        let page: Arc<dyn Fn() -> String + Send + Sync> = Arc::new(String::new);
        let e = MetricsServer::spawn(&addr, page).err().expect("taken");
        assert!(format!("{e:#}").contains(&addr), "{e:#}");
    }
}
