//! The monitor thread: every `[monitor] interval_ms` it snapshots the [`LiveMetrics`], reads
//! the host, updates the [`HealthModel`], evaluates the rules, sends alerts (and trade and
//! signal notes) to Discord, keeps the `/metrics` page current and writes
//! `RUN_DIR/status.json` atomically (temp file + rename) for `mia status`.

use crate::monitor::discord::{self, Message, Notifier, NotifierStats, Webhooks};
use crate::monitor::health::{Health, HealthModel, HostSample};
use crate::monitor::prometheus::{render, MetricsServer, MonitorFigures};
use crate::monitor::rules::{Alert, AlertKind, Level, MonitorConfig, RuleEngine};
use anyhow::{Context, Result};
use crossbeam_channel::{bounded, RecvTimeoutError, Sender};
use mia_runtime::metrics::{risk_code, HealthSnapshot, LastSignal, LiveMetrics};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// Name of the status file in a run directory.
pub const STATUS_FILE: &str = "status.json";
/// Format version of [`StatusFile`].
pub const STATUS_VERSION: u32 = 1;
const RECENT_ALERTS: usize = 20;
const RECENT_SIGNALS: usize = 5;

/// An alert open now.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ActiveAlert {
    /// Rule name.
    pub rule: String,
    /// Its level.
    pub level: Level,
}

/// Discord counters in the status file.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NotifierCounts {
    /// Delivered.
    pub sent: u64,
    /// Dropped (full queue or stopped).
    pub dropped: u64,
    /// Given up.
    pub failed: u64,
    /// No webhook for the channel.
    pub skipped: u64,
}

/// `RUN_DIR/status.json`: what `mia status` shows.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StatusFile {
    /// Format version ([`STATUS_VERSION`]).
    pub version: u32,
    /// Wall time written, UTC ns.
    pub written_at_ns: u64,
    /// Writing process.
    pub pid: u32,
    /// Monitor samples so far.
    pub samples: u64,
    /// The cells.
    pub snapshot: HealthSnapshot,
    /// The health model.
    pub health: Health,
    /// Alerts open now.
    pub active_alerts: Vec<ActiveAlert>,
    /// The latest alerts (fired and resolved), oldest first.
    pub recent_alerts: Vec<Alert>,
    /// The latest signals seen, oldest first.
    pub recent_signals: Vec<LastSignal>,
    /// Discord counters.
    pub discord: NotifierCounts,
}

impl StatusFile {
    /// Reads `RUN_DIR/status.json` (or a path to the file).
    ///
    /// # Errors
    /// Missing or unreadable file, or JSON that is not a status file (file and reason named).
    pub fn load(path: &Path) -> Result<Self> {
        let p = if path.is_dir() { path.join(STATUS_FILE) } else { path.to_path_buf() };
        let text = std::fs::read_to_string(&p).with_context(|| format!("{}: cannot read", p.display()))?;
        serde_json::from_str(&text).with_context(|| format!("{}: not a MIA status file", p.display()))
    }

    /// Writes `dir/status.json` atomically (temp file + rename).
    ///
    /// # Errors
    /// The directory is not writable.
    pub fn write_atomic(&self, dir: &Path) -> Result<()> {
        let tmp = dir.join(format!(".{STATUS_FILE}.tmp"));
        let text = serde_json::to_vec_pretty(self).context("status.json: encode")?;
        std::fs::write(&tmp, text).with_context(|| format!("{}: cannot write", tmp.display()))?;
        let dst = dir.join(STATUS_FILE);
        std::fs::rename(&tmp, &dst).with_context(|| format!("{}: cannot rename into place", dst.display()))
    }
}

/// Wall clock, UTC ns (the runtime's one wall-clock reading).
pub use mia_runtime::clock::wall_ns;

/// What a stopped monitor reports.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct MonitorReport {
    /// Samples taken.
    pub samples: u64,
    /// Alerts fired.
    pub alerts_fired: u64,
    /// Discord counters.
    pub discord: NotifierCounts,
    /// status.json writes that failed.
    pub status_errors: u64,
}

#[derive(Default)]
struct Shared {
    samples: AtomicU64,
    alerts_fired: AtomicU64,
    status_errors: AtomicU64,
}

/// The running monitor.
pub struct Monitor {
    stop: Option<Sender<()>>,
    handle: Option<JoinHandle<()>>,
    server: Option<MetricsServer>,
    notifier: Option<Arc<Notifier>>,
    shared: Arc<Shared>,
    discord: Arc<NotifierStats>,
}

impl Monitor {
    /// Starts the monitor with the webhooks of the environment (`MIA_DISCORD_WEBHOOK_*`).
    ///
    /// # Errors
    /// A webhook variable is not Unicode, the metrics address cannot be bound, or a thread
    /// cannot start.
    pub fn spawn(cfg: &MonitorConfig, metrics: Arc<LiveMetrics>, run_dir: Option<PathBuf>) -> Result<Self> {
        let hooks = Webhooks::from_env().map_err(anyhow::Error::msg)?;
        Self::spawn_with(cfg, metrics, run_dir, hooks)
    }

    /// Starts the monitor with explicit webhooks.
    ///
    /// # Errors
    /// As [`Monitor::spawn`].
    pub fn spawn_with(
        cfg: &MonitorConfig,
        metrics: Arc<LiveMetrics>,
        run_dir: Option<PathBuf>,
        hooks: Webhooks,
    ) -> Result<Self> {
        let notifier = Arc::new(Notifier::spawn(&cfg.discord, hooks)?);
        let discord = notifier.stats_handle();
        let shared = Arc::new(Shared::default());
        let last: Arc<Mutex<(Health, MonitorFigures)>> = Arc::default();
        let server = if cfg.metrics_addr.is_empty() {
            None
        } else {
            let (m, l) = (Arc::clone(&metrics), Arc::clone(&last));
            let page: Arc<dyn Fn() -> String + Send + Sync> = Arc::new(move || {
                let (h, f) = l.lock().map(|g| *g).unwrap_or_default();
                render(&m.snapshot(), &h, &f)
            });
            Some(MetricsServer::spawn(&cfg.metrics_addr, page)?)
        };
        let (stop_tx, stop_rx) = bounded::<()>(1);
        let mut worker = Worker {
            metrics,
            run_dir: if cfg.status_file { run_dir.clone() } else { None },
            disk_dir: run_dir,
            model: HealthModel::new(),
            rules: RuleEngine::new(&cfg.rules),
            notifier: Arc::clone(&notifier),
            shared: Arc::clone(&shared),
            last,
            recent_alerts: VecDeque::new(),
            recent_signals: VecDeque::new(),
            prev: None,
        };
        let interval = Duration::from_millis(cfg.interval_ms.max(1));
        let dispatch = tracing::dispatcher::get_default(Clone::clone);
        let handle = std::thread::Builder::new()
            .name("mia-monitor".into())
            .spawn(move || {
                tracing::dispatcher::with_default(&dispatch, || loop {
                    worker.sample();
                    match stop_rx.recv_timeout(interval) {
                        Err(RecvTimeoutError::Timeout) => {}
                        Ok(()) | Err(RecvTimeoutError::Disconnected) => {
                            worker.sample();
                            break;
                        }
                    }
                })
            })
            .context("cannot start the monitor thread")?;
        notifier.notify(discord::system("MIA session started: monitor running"));
        Ok(Self {
            stop: Some(stop_tx),
            handle: Some(handle),
            server,
            notifier: Some(notifier),
            shared,
            discord,
        })
    }

    /// The `/metrics` address (None: endpoint off).
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.server.as_ref().map(MetricsServer::addr)
    }

    /// Samples taken so far.
    pub fn samples(&self) -> u64 {
        self.shared.samples.load(Ordering::Relaxed)
    }

    /// Queues a Discord message (never blocks; see [`Notifier::notify`]).
    pub fn notify(&self, msg: Message) -> bool {
        self.notifier.as_ref().is_some_and(|n| n.notify(msg))
    }

    /// Takes a last sample (status.json reflects the end), stops the metrics endpoint, sends
    /// what Discord has queued, and joins every thread.
    pub fn stop(mut self) -> MonitorReport {
        self.shutdown();
        // the worker has gone: this is the last handle, so the notifier drains and joins here
        if let Some(n) = self.notifier.take() {
            match Arc::try_unwrap(n) {
                Ok(n) => drop(n.stop()),
                Err(n) => drop(n),
            }
        }
        MonitorReport {
            samples: self.shared.samples.load(Ordering::Relaxed),
            alerts_fired: self.shared.alerts_fired.load(Ordering::Relaxed),
            discord: counts(&self.discord),
            status_errors: self.shared.status_errors.load(Ordering::Relaxed),
        }
    }

    fn shutdown(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            if h.join().is_err() {
                tracing::error!("monitor: the monitor thread panicked");
            }
        }
        if let Some(s) = self.server.take() {
            s.stop();
        }
        if let Some(n) = &self.notifier {
            n.notify(discord::system("MIA session stopped"));
        }
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        if self.handle.is_some() {
            self.shutdown();
        }
    }
}

fn counts(s: &NotifierStats) -> NotifierCounts {
    NotifierCounts {
        sent: NotifierStats::get(&s.sent),
        dropped: NotifierStats::get(&s.dropped),
        failed: NotifierStats::get(&s.failed),
        skipped: NotifierStats::get(&s.skipped),
    }
}

struct Worker {
    metrics: Arc<LiveMetrics>,
    run_dir: Option<PathBuf>,
    disk_dir: Option<PathBuf>,
    model: HealthModel,
    rules: RuleEngine,
    notifier: Arc<Notifier>,
    shared: Arc<Shared>,
    last: Arc<Mutex<(Health, MonitorFigures)>>,
    recent_alerts: VecDeque<Alert>,
    recent_signals: VecDeque<LastSignal>,
    prev: Option<HealthSnapshot>,
}

impl Worker {
    fn sample(&mut self) {
        let snap = self.metrics.snapshot();
        let now = wall_ns();
        let health = self.model.update(&snap, HostSample::read(self.disk_dir.as_deref()), now);
        for a in self.rules.evaluate(&health, now) {
            match (a.kind, a.level) {
                (AlertKind::Firing, Level::Critical) => tracing::error!("monitor: {}", a.message()),
                (AlertKind::Firing, _) => tracing::warn!("monitor: {}", a.message()),
                (AlertKind::Resolved, _) => tracing::info!("monitor: {}", a.message()),
            }
            if a.kind == AlertKind::Firing {
                self.shared.alerts_fired.fetch_add(1, Ordering::Relaxed);
            }
            self.notifier.notify(discord::alert(&a));
            if self.recent_alerts.len() == RECENT_ALERTS {
                self.recent_alerts.pop_front();
            }
            self.recent_alerts.push_back(a);
        }
        self.trades_and_signals(&snap);
        self.prev = Some(snap);
        let samples = self.shared.samples.fetch_add(1, Ordering::Relaxed) + 1;
        let discord = counts(self.notifier.stats());
        let active = self.rules.active();
        let figures = MonitorFigures {
            alerts_fired: self.shared.alerts_fired.load(Ordering::Relaxed),
            alerts_active: active.len() as u64,
            discord_sent: discord.sent,
            discord_dropped: discord.dropped,
            discord_failed: discord.failed,
        };
        if let Ok(mut g) = self.last.lock() {
            *g = (health, figures);
        }
        if let Some(dir) = &self.run_dir {
            let status = StatusFile {
                version: STATUS_VERSION,
                written_at_ns: now,
                pid: std::process::id(),
                samples,
                snapshot: snap,
                health,
                active_alerts: active.into_iter().map(|(rule, level)| ActiveAlert { rule, level }).collect(),
                recent_alerts: self.recent_alerts.iter().cloned().collect(),
                recent_signals: self.recent_signals.iter().copied().collect(),
                discord,
            };
            if let Err(e) = status.write_atomic(dir) {
                if self.shared.status_errors.fetch_add(1, Ordering::Relaxed) == 0 {
                    tracing::warn!("monitor: {e:#}");
                }
            }
        }
    }

    /// Trade and signal notes from what changed since the previous sample.
    fn trades_and_signals(&mut self, s: &HealthSnapshot) {
        let Some(p) = self.prev else { return };
        if s.signals > p.signals && s.last_signal.ts_ns != 0 {
            let ls = s.last_signal;
            if self.recent_signals.len() == RECENT_SIGNALS {
                self.recent_signals.pop_front();
            }
            self.recent_signals.push_back(ls);
            self.notifier.notify(discord::signal(
                ls.direction,
                ls.tier,
                pattern_name(ls.pattern),
                ls.confidence,
            ));
        }
        let px = |v: i64| if v != 0 && v != mia_model::price::UNDEF_PX { v as f64 / 1e9 } else { f64::NAN };
        // Trades are counted, not inferred from two position samples: a whole trade between
        // two samples (a fast replay, a busy machine) is still reported.
        let opened = |x: &HealthSnapshot| x.trips + u64::from(x.position != 0);
        let closed = s.trips.saturating_sub(p.trips);
        if closed > 0 {
            let realized = (s.realized_pnl_nano - p.realized_pnl_nano) as f64 / 1e9;
            let (entry, exit) = (px(p.entry_px), px(s.last_fill_px));
            let side = if p.position != 0 { p.position } else { s.position };
            self.notifier.notify(discord::trade_closed("ES", side, entry, exit, realized));
        }
        if opened(s) > opened(&p) && s.position != 0 {
            let (stop, target) = (f64::NAN, f64::NAN);
            self.notifier.notify(discord::trade_opened("ES", s.position, px(s.entry_px), stop, target));
        }
        if s.kills > p.kills {
            self.notifier.notify(discord::kill_switch("kill-switch input"));
        }
        if s.risk_state == risk_code::HALTED && p.risk_state != risk_code::HALTED {
            let reason = u8::try_from(s.risk_reason)
                .ok()
                .and_then(mia_exec::risk::RejectReason::from_u8)
                .map_or("unknown", |r| r.name());
            self.notifier.notify(discord::risk_halt(reason, s.daily_pnl_nano as f64 / 1e9));
        }
    }
}

/// The name of a pattern id (SIGNALS.md §4; 0 = none).
pub fn pattern_name(id: u8) -> &'static str {
    match id {
        0 => "none",
        1 => "base_break",
        2 => "gamma_pin",
        3 => "headfake",
        4 => "microstructure",
        5 => "confluence_zone",
        6 => "liquidity_sweep",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::discord::Channel;
    use crate::monitor::rules::{Metric, Op, RuleConfig};
    use mia_runtime::secret::Secret;

    fn cfg() -> MonitorConfig {
        MonitorConfig {
            interval_ms: 100,
            metrics_addr: "127.0.0.1:0".into(),
            rules: vec![RuleConfig {
                name: "halted".into(),
                metric: Metric::RiskHalted,
                op: Op::Ge,
                threshold: 1.0,
                level: Level::Critical,
                cooldown_s: 0,
            }],
            ..MonitorConfig::default()
        }
    }

    fn wait_for(mut f: impl FnMut() -> bool) -> bool {
        for _ in 0..300 {
            if f() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    #[test]
    fn writes_status_json_serves_metrics_and_alerts() {
        let dir = tempfile::tempdir().expect("tmp");
        let m = Arc::new(LiveMetrics::new());
        m.exec.set_position(2);
        m.feed.set_feed_connected(true);
        // a webhook that refuses connections: the URL must not end up in any file
        let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/api/webhooks/1/FILE-TOKEN-xyz", closed.local_addr().expect("addr"));
        drop(closed);
        let hooks = Webhooks::default().with(Channel::Alerts, Secret::new(url));
        let mon = Monitor::spawn_with(&cfg(), Arc::clone(&m), Some(dir.path().to_path_buf()), hooks)
            .expect("spawn");
        let status = dir.path().join(STATUS_FILE);
        assert!(wait_for(|| StatusFile::load(&status).is_ok_and(|s| s.snapshot.position == 2)));
        m.exec.set_risk_state(risk_code::HALTED);
        m.signal.on_signal(7, 1, 1, 2, 3, 0.9);
        assert!(wait_for(|| StatusFile::load(dir.path()).is_ok_and(|s| s.active_alerts.len() == 1)));
        let s = StatusFile::load(dir.path()).expect("status");
        assert_eq!(s.version, STATUS_VERSION);
        assert_eq!(s.active_alerts[0], ActiveAlert { rule: "halted".into(), level: Level::Critical });
        assert_eq!(s.recent_alerts.last().map(|a| a.kind), Some(AlertKind::Firing));
        assert!(wait_for(|| StatusFile::load(dir.path()).is_ok_and(|s| s.recent_signals.len() == 1)));
        // the metrics endpoint reads the live cells
        let addr = mon.metrics_addr().expect("endpoint");
        let mut c = std::net::TcpStream::connect(addr).expect("connect");
        use std::io::{Read, Write};
        write!(c, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").expect("write");
        let mut page = String::new();
        c.read_to_string(&mut page).expect("read");
        assert!(page.contains("mia_position_contracts 2\n") && page.contains("mia_risk_state 2\n"), "{page}");
        assert!(page.contains("mia_alerts_active 1\n"), "{page}");
        m.exec.set_risk_state(risk_code::ACTIVE);
        let report = mon.stop();
        assert!(report.samples >= 2 && report.alerts_fired == 1, "{report:?}");
        let s = StatusFile::load(dir.path()).expect("final status");
        assert!(s.active_alerts.is_empty(), "the final sample resolved it");
        assert_eq!(s.recent_alerts.last().map(|a| a.kind), Some(AlertKind::Resolved));
        for e in std::fs::read_dir(dir.path()).expect("dir") {
            let p = e.expect("entry").path();
            let text = std::fs::read_to_string(&p).unwrap_or_default();
            assert!(!text.contains("FILE-TOKEN") && !text.contains("/api/webhooks/"), "{}", p.display());
        }
        assert!(!dir.path().join(format!(".{STATUS_FILE}.tmp")).exists(), "temp renamed away");
    }

    #[test]
    fn bad_status_files_are_named_errors() {
        let dir = tempfile::tempdir().expect("tmp");
        let e = StatusFile::load(dir.path()).expect_err("missing");
        assert!(format!("{e:#}").contains("status.json"), "{e:#}");
        std::fs::write(dir.path().join(STATUS_FILE), "{\"version\": 1").expect("write");
        let e = StatusFile::load(dir.path()).expect_err("torn");
        assert!(format!("{e:#}").contains("not a MIA status file"), "{e:#}");
    }

    #[test]
    fn no_run_dir_and_no_endpoint() {
        let c = MonitorConfig { metrics_addr: String::new(), ..cfg() };
        let mon =
            Monitor::spawn_with(&c, Arc::new(LiveMetrics::new()), None, Webhooks::default()).expect("spawn");
        assert!(mon.metrics_addr().is_none());
        assert!(wait_for(|| mon.samples() >= 1));
        let r = mon.stop();
        assert!(r.samples >= 2 && r.discord.sent == 0, "{r:?}");
    }
}
