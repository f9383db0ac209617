//! The health model: what the monitor computes from successive [`HealthSnapshot`]s and the
//! host's resources, and what the alert rules, `/metrics` and `status.json` read.
//!
//! - **feed age**: wall time since the latest market event was received;
//! - **data latency**: receive wall time − event time of the latest market event;
//! - **drops**: ring + tap drops, total and in the last minute;
//! - **gamma age**: event time of the latest market event − the adopted snapshot's
//!   computed-at time (the clock the risk manager's stale-gamma check uses);
//! - **journal lag**: inputs sequenced − journal records written;
//! - **feed connection**, **risk state**, **rejects in the last minute** (risk + venue +
//!   broker);
//! - **P&L**: daily P&L, session equity (realized + unrealized) and the drawdown from its peak;
//! - **host**: CPU load (`/proc/loadavg` 1-minute load ÷ cores), process RSS
//!   (`/proc/self/status`), system memory used (`/proc/meminfo`), free and used disk of the run
//!   directory (`fs4`).
//!
//! A quantity that cannot be known (no market event yet, no gamma snapshot, `/proc`
//! unreadable) is `None`, and rules over it hold their state.

use mia_runtime::metrics::{risk_code, HealthSnapshot};
use std::collections::VecDeque;
use std::path::Path;

const NS_PER_SEC: f64 = 1e9;
const NANO_PER_USD: f64 = 1e9;
/// Span of the "per minute" counts, ns.
const MINUTE_NS: u64 = 60_000_000_000;

/// The host's resources at one moment (each `None` when unreadable).
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct HostSample {
    /// 1-minute load average.
    pub load1: Option<f64>,
    /// Logical cores.
    pub cpus: u32,
    /// 1-minute load ÷ cores × 100.
    pub cpu_percent: Option<f64>,
    /// This process's resident set, bytes.
    pub rss_bytes: Option<u64>,
    /// System memory, bytes.
    pub mem_total_bytes: Option<u64>,
    /// System memory used (total − available) ÷ total × 100.
    pub memory_percent: Option<f64>,
    /// Free space of the run directory's file system, bytes.
    pub disk_free_bytes: Option<u64>,
    /// Used share of the run directory's file system × 100.
    pub disk_used_percent: Option<f64>,
}

impl HostSample {
    /// Reads `/proc` and the file system holding `run_dir` (the current directory when none).
    pub fn read(run_dir: Option<&Path>) -> Self {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
        let load1 = std::fs::read_to_string("/proc/loadavg").ok().and_then(|t| parse_loadavg(&t));
        let rss_bytes = std::fs::read_to_string("/proc/self/status").ok().and_then(|t| parse_status_rss(&t));
        let mem = std::fs::read_to_string("/proc/meminfo").ok().and_then(|t| parse_meminfo(&t));
        let dir = run_dir.unwrap_or(Path::new("."));
        let free = fs4::available_space(dir).ok();
        let total = fs4::total_space(dir).ok();
        Self::from_parts(load1, cpus, rss_bytes, mem, free.zip(total))
    }

    /// Assembles a sample from raw readings (`mem` = (total, available), `disk` = (free,
    /// total), bytes).
    pub fn from_parts(
        load1: Option<f64>,
        cpus: u32,
        rss_bytes: Option<u64>,
        mem: Option<(u64, u64)>,
        disk: Option<(u64, u64)>,
    ) -> Self {
        let cpus = cpus.max(1);
        Self {
            load1,
            cpus,
            cpu_percent: load1.map(|l| l / f64::from(cpus) * 100.0),
            rss_bytes,
            mem_total_bytes: mem.map(|m| m.0),
            memory_percent: mem
                .filter(|m| m.0 > 0)
                .map(|(t, a)| t.saturating_sub(a) as f64 / t as f64 * 100.0),
            disk_free_bytes: disk.map(|d| d.0),
            disk_used_percent: disk
                .filter(|d| d.1 > 0)
                .map(|(f, t)| t.saturating_sub(f) as f64 / t as f64 * 100.0),
        }
    }
}

/// The 1-minute load of `/proc/loadavg` text (`"0.52 0.58 0.59 1/467 12345"`).
pub fn parse_loadavg(text: &str) -> Option<f64> {
    text.split_whitespace().next()?.parse::<f64>().ok().filter(|v| v.is_finite() && *v >= 0.0)
}

/// `VmRSS` of `/proc/self/status` text, bytes.
pub fn parse_status_rss(text: &str) -> Option<u64> {
    kib_field(text, "VmRSS:")
}

/// (`MemTotal`, `MemAvailable`) of `/proc/meminfo` text, bytes.
pub fn parse_meminfo(text: &str) -> Option<(u64, u64)> {
    Some((kib_field(text, "MemTotal:")?, kib_field(text, "MemAvailable:")?))
}

fn kib_field(text: &str, key: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with(key))?;
    let mut it = line[key.len()..].split_whitespace();
    let v: u64 = it.next()?.parse().ok()?;
    match it.next() {
        Some("kB") | None => v.checked_mul(1024),
        Some(_) => None,
    }
}

/// What the monitor knows about the session at one sample.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Health {
    /// Wall time of the sample, UTC ns.
    pub wall_ns: u64,
    /// Wall time since the latest market event was received, s (`None`: no event yet).
    pub feed_age_s: Option<f64>,
    /// Receive wall time − event time of the latest market event, ms (`None`: no event yet).
    pub data_latency_ms: Option<f64>,
    /// The feed (broker market-data connection) is up.
    pub feed_connected: bool,
    /// Feed reconnections so far.
    pub feed_reconnects: u64,
    /// Ring + tap drops so far.
    pub drops_total: u64,
    /// Ring + tap drops in the last minute.
    pub drops_last_min: u64,
    /// Age of the adopted gamma snapshot in event time, s (`None`: no snapshot).
    pub gamma_age_s: Option<f64>,
    /// Inputs not (yet) in the journal: inputs − journal records.
    pub journal_lag: u64,
    /// Risk state code ([`risk_code`]).
    pub risk_state: i64,
    /// Risk + venue + broker rejects so far.
    pub rejects_total: u64,
    /// Risk + venue + broker rejects in the last minute.
    pub rejects_last_min: u64,
    /// Daily P&L (the risk manager's), USD.
    pub daily_pnl_usd: f64,
    /// Session equity: realized + unrealized P&L, USD.
    pub equity_usd: f64,
    /// Highest session equity seen, USD (≥ 0: the session starts at 0).
    pub peak_equity_usd: f64,
    /// Peak equity − equity, USD (≥ 0).
    pub drawdown_usd: f64,
    /// Losing round trips in a row.
    pub consecutive_losses: u64,
    /// Host resources.
    pub host: HostSample,
}

impl Health {
    /// The risk state's name.
    pub fn risk_state_name(&self) -> &'static str {
        risk_state_name(self.risk_state)
    }
}

/// The name of a risk state code.
pub fn risk_state_name(code: i64) -> &'static str {
    match code {
        risk_code::ACTIVE => "active",
        risk_code::REDUCING => "reducing",
        risk_code::HALTED => "halted",
        _ => "unknown",
    }
}

/// Computes [`Health`] from successive snapshots (keeps the last minute of counters and the
/// equity peak).
#[derive(Debug, Default)]
pub struct HealthModel {
    /// (wall ns, drops total, rejects total), oldest first, spanning ≤ 1 minute + 1 sample.
    window: VecDeque<(u64, u64, u64)>,
    peak_equity_usd: f64,
}

impl HealthModel {
    /// A model with no history.
    pub fn new() -> Self {
        Self::default()
    }

    /// The health at wall time `wall_ns` given snapshot `s` and host sample `host`.
    pub fn update(&mut self, s: &HealthSnapshot, host: HostSample, wall_ns: u64) -> Health {
        let has_event = s.last_recv_wall_ns != 0;
        let feed_age_s = has_event.then(|| wall_ns.saturating_sub(s.last_recv_wall_ns) as f64 / NS_PER_SEC);
        // against the time the event was due: its event time live, its slot in a paced replay
        let due = if s.last_event_wall_ns != 0 { s.last_event_wall_ns } else { s.last_event_ts_ns };
        let data_latency_ms =
            (has_event && due != 0).then(|| (s.last_recv_wall_ns as i128 - due as i128) as f64 / 1e6);
        let gamma_age_s = (s.gamma_computed_at_ns != 0 && s.last_event_ts_ns != 0)
            .then(|| s.last_event_ts_ns.saturating_sub(s.gamma_computed_at_ns) as f64 / NS_PER_SEC);
        let drops_total = s.ring_drops.saturating_add(s.tap_drops);
        let rejects_total = s.risk_rejects.saturating_add(s.venue_rejects).saturating_add(s.order_rejects);
        // counts in the last minute: against the newest sample at least a minute old (or the
        // oldest one while the window is shorter)
        self.window.push_back((wall_ns, drops_total, rejects_total));
        while self.window.len() > 2 && self.window[1].0 + MINUTE_NS <= wall_ns {
            self.window.pop_front();
        }
        let (_, d0, r0) = self.window.front().copied().unwrap_or((wall_ns, drops_total, rejects_total));
        let only_one = self.window.len() == 1;
        let equity_usd = (s.realized_pnl_nano as f64 + s.unrealized_pnl_nano as f64) / NANO_PER_USD;
        self.peak_equity_usd = self.peak_equity_usd.max(equity_usd);
        Health {
            wall_ns,
            feed_age_s,
            data_latency_ms,
            feed_connected: s.feed_connected,
            feed_reconnects: s.feed_reconnects,
            drops_total,
            // the first sample counts everything since the start
            drops_last_min: if only_one { drops_total } else { drops_total.saturating_sub(d0) },
            gamma_age_s,
            journal_lag: s.inputs.saturating_sub(s.journal_records),
            risk_state: s.risk_state,
            rejects_total,
            rejects_last_min: if only_one { rejects_total } else { rejects_total.saturating_sub(r0) },
            daily_pnl_usd: s.daily_pnl_nano as f64 / NANO_PER_USD,
            equity_usd,
            peak_equity_usd: self.peak_equity_usd,
            drawdown_usd: (self.peak_equity_usd - equity_usd).max(0.0),
            consecutive_losses: s.consecutive_losses,
            host,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    #[test]
    fn proc_files_parse_and_bad_text_is_none() {
        assert_eq!(parse_loadavg("0.52 0.58 0.59 1/467 12345\n"), Some(0.52));
        assert_eq!(parse_loadavg("garbage"), None);
        assert_eq!(parse_loadavg(""), None);
        assert_eq!(parse_loadavg("-1 0 0"), None);
        let status = "Name:\tmia\nVmPeak:\t  9000 kB\nVmRSS:\t   20480 kB\nThreads: 4\n";
        assert_eq!(parse_status_rss(status), Some(20480 * 1024));
        assert_eq!(parse_status_rss("VmRSS: lots kB"), None);
        assert_eq!(parse_status_rss("VmRSS: 12 MB"), None);
        let mem = "MemTotal:       16000 kB\nMemFree: 1000 kB\nMemAvailable:    4000 kB\n";
        assert_eq!(parse_meminfo(mem), Some((16000 * 1024, 4000 * 1024)));
        assert_eq!(parse_meminfo("MemTotal: 1 kB\n"), None);
    }

    #[test]
    fn host_percentages() {
        let h = HostSample::from_parts(Some(1.0), 2, Some(5), Some((100, 25)), Some((10, 200)));
        assert_eq!(h.cpu_percent, Some(50.0));
        assert_eq!(h.memory_percent, Some(75.0));
        assert_eq!(h.disk_used_percent, Some(95.0));
        let none = HostSample::from_parts(None, 0, None, Some((0, 0)), None);
        assert_eq!((none.cpu_percent, none.memory_percent, none.disk_used_percent), (None, None, None));
        assert_eq!(none.cpus, 1);
    }

    #[test]
    fn the_real_host_is_readable() {
        let h = HostSample::read(None);
        assert!(h.rss_bytes.is_some_and(|r| r > 0), "{h:?}");
        assert!(h.disk_free_bytes.is_some(), "{h:?}");
        assert!(h.cpu_percent.is_some(), "{h:?}");
    }

    #[test]
    fn ages_latency_lag_and_drawdown() {
        let mut m = HealthModel::new();
        let mut s = HealthSnapshot::default();
        let h = m.update(&s, HostSample::default(), 10 * S);
        assert_eq!((h.feed_age_s, h.data_latency_ms, h.gamma_age_s), (None, None, None));
        s.last_event_ts_ns = 100 * S;
        s.last_recv_wall_ns = 100 * S + 3_000_000; // 3 ms after the event time
        s.gamma_computed_at_ns = 40 * S;
        s.inputs = 1_000;
        s.journal_records = 990;
        s.realized_pnl_nano = 500 * 1_000_000_000;
        let h = m.update(&s, HostSample::default(), 102 * S + 3_000_000);
        assert_eq!(h.feed_age_s, Some(2.0));
        assert!((h.data_latency_ms.unwrap_or(0.0) - 3.0).abs() < 1e-9, "{h:?}");
        assert_eq!(h.gamma_age_s, Some(60.0));
        // a paced replay of a past session: the latency is measured from the event's slot in
        // the schedule, not from its date; the gamma age stays in event time
        let mut r = s;
        r.last_event_ts_ns = 5 * S; // long ago
        r.last_event_wall_ns = 100 * S + 1_000_000; // due 2 ms before it arrived
        r.gamma_computed_at_ns = 4 * S;
        let hr = HealthModel::new().update(&r, HostSample::default(), 102 * S + 3_000_000);
        assert!((hr.data_latency_ms.unwrap_or(0.0) - 2.0).abs() < 1e-9, "{hr:?}");
        assert_eq!(hr.gamma_age_s, Some(1.0));
        assert_eq!(h.journal_lag, 10);
        assert_eq!((h.equity_usd, h.peak_equity_usd, h.drawdown_usd), (500.0, 500.0, 0.0));
        s.realized_pnl_nano = 200 * 1_000_000_000;
        s.unrealized_pnl_nano = -100 * 1_000_000_000;
        let h = m.update(&s, HostSample::default(), 103 * S);
        assert_eq!((h.equity_usd, h.peak_equity_usd, h.drawdown_usd), (100.0, 500.0, 400.0));
    }

    #[test]
    fn rejects_and_drops_count_over_the_last_minute() {
        let mut m = HealthModel::new();
        let mut s = HealthSnapshot { risk_rejects: 2, tap_drops: 1, ..HealthSnapshot::default() };
        let h = m.update(&s, HostSample::default(), 0);
        assert_eq!((h.rejects_last_min, h.drops_last_min), (2, 1), "first sample counts all");
        for t in 1..=60u64 {
            s.risk_rejects += 1;
            s.venue_rejects += u64::from(t % 10 == 0);
            let h = m.update(&s, HostSample::default(), t * S);
            assert_eq!(h.rejects_total, s.risk_rejects + s.venue_rejects);
            assert!(h.rejects_last_min <= 66, "{h:?}");
        }
        // 60 s of one reject per second (plus 6 venue rejects), then silence: the count decays
        let h = m.update(&s, HostSample::default(), 90 * S);
        assert_eq!(h.rejects_last_min, 30 + 3, "{h:?}");
        let h = m.update(&s, HostSample::default(), 200 * S);
        assert_eq!((h.rejects_last_min, h.drops_last_min), (0, 0), "{h:?}");
    }
}
