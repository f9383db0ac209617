//! `mia status [RUN_DIR]`: a live terminal view over `RUN_DIR/status.json`, refreshed every
//! second. Plain ANSI, so it works over SSH and in tmux: the screen is cleared once at start,
//! then each frame moves the cursor home and rewrites every line followed by "clear to end of
//! line", and clears below the last line (no full-screen clear per frame, so no flicker).
//! `--once` prints one frame without escape codes and exits.

use crate::monitor::health::risk_state_name;
use crate::monitor::rules::AlertKind;
use crate::monitor::thread::{pattern_name, wall_ns, StatusFile, STATUS_FILE};
use anyhow::Result;
use mia_model::price::UNDEF_PX;
use mia_runtime::metrics::LATENCY_STAGES;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

/// A status file older than this is shown as stale.
const STALE_S: f64 = 5.0;

fn px(p: i64) -> String {
    if p == UNDEF_PX {
        "-".into()
    } else {
        format!("{:.2}", p as f64 / 1e9)
    }
}

fn usd(nano: i64) -> String {
    format!("{:+.2}", nano as f64 / 1e9)
}

fn opt(v: Option<f64>, unit: &str) -> String {
    v.map_or("-".into(), |v| format!("{v:.1}{unit}"))
}

fn us(ns: u64) -> String {
    format!("{:.1}", ns as f64 / 1e3)
}

/// The lines of one frame for `status` read at wall time `now_ns` (`Err`: why there is no
/// status to show).
pub fn render_frame(dir: &Path, status: &Result<StatusFile>, now_ns: u64) -> Vec<String> {
    let mut l = Vec::new();
    let s = match status {
        Ok(s) => s,
        Err(e) => {
            l.push(format!("MIA status  {}", dir.display()));
            l.push(format!("waiting for {}: {e:#}", dir.join(STATUS_FILE).display()));
            return l;
        }
    };
    let age = now_ns.saturating_sub(s.written_at_ns) as f64 / 1e9;
    let (sn, h) = (&s.snapshot, &s.health);
    let fresh = if age > STALE_S {
        format!("STALE ({age:.0} s old: is the session running?)")
    } else {
        "live".into()
    };
    l.push(format!("MIA status  {}  [{fresh}]  pid {}  sample {}", dir.display(), s.pid, s.samples));
    l.push(format!(
        "position: {:+} contracts   working orders: {}   risk: {}   consecutive losses: {}",
        sn.position,
        sn.working_orders,
        risk_state_name(sn.risk_state).to_uppercase(),
        sn.consecutive_losses
    ));
    l.push(format!(
        "pnl (USD): realized {}  unrealized {}  daily {}  drawdown {:.2}",
        usd(sn.realized_pnl_nano),
        usd(sn.unrealized_pnl_nano),
        usd(sn.daily_pnl_nano),
        h.drawdown_usd
    ));
    l.push(format!(
        "orders: intents {}  fills {}  rejects risk {} / venue {} / broker {} ({} in the last min)",
        sn.intents, sn.fills, sn.risk_rejects, sn.venue_rejects, sn.order_rejects, h.rejects_last_min
    ));
    l.push(format!(
        "feed: {}  age {}  data latency {}  reconnects {}  events {}  drops {} ({} last min)  journal lag {}",
        if sn.feed_connected { "CONNECTED" } else { "DISCONNECTED" },
        opt(h.feed_age_s, " s"),
        opt(h.data_latency_ms, " ms"),
        sn.feed_reconnects,
        sn.market_events,
        h.drops_total,
        h.drops_last_min,
        h.journal_lag
    ));
    // ES terms: the index level plus the basis (futures mark − the snapshot's index spot)
    let es = |level: i64| {
        if level == UNDEF_PX || sn.gamma_spot == UNDEF_PX || sn.gamma_spot == 0 || sn.mark == 0 {
            "-".to_string()
        } else {
            px(level + (sn.mark - sn.gamma_spot))
        }
    };
    l.push(format!(
        "gamma: zero {}  call wall {}  put wall {}  age {}  | ES: zero {}  call {}  put {}",
        px(sn.gamma_zero),
        px(sn.gamma_call_wall),
        px(sn.gamma_put_wall),
        opt(h.gamma_age_s, " s"),
        es(sn.gamma_zero),
        es(sn.gamma_call_wall),
        es(sn.gamma_put_wall)
    ));
    let lat: Vec<String> = LATENCY_STAGES
        .iter()
        .zip(sn.latency.iter())
        .filter(|(_, c)| c.count > 0)
        .map(|(n, c)| format!("{n} p50 {} p99 {} p99.9 {}", us(c.p50_ns), us(c.p99_ns), us(c.p999_ns)))
        .collect();
    l.push(format!("latency (us): {}", if lat.is_empty() { "-".into() } else { lat.join(" | ") }));
    let sig: Vec<String> = s
        .recent_signals
        .iter()
        .rev()
        .map(|g| {
            let d = match g.direction.signum() {
                1 => "LONG",
                -1 => "SHORT",
                _ => "FLAT",
            };
            format!("{d} tier {} {} conf {:.2}", g.tier, pattern_name(g.pattern), g.confidence)
        })
        .collect();
    l.push(format!(
        "signals ({} total): {}",
        sn.signals,
        if sig.is_empty() { "-".into() } else { sig.join(" | ") }
    ));
    let host = &h.host;
    l.push(format!(
        "host: cpu {}  memory {}  rss {}  disk used {}",
        opt(host.cpu_percent, " %"),
        opt(host.memory_percent, " %"),
        host.rss_bytes.map_or("-".into(), |b| format!("{:.0} MiB", b as f64 / 1048576.0)),
        opt(host.disk_used_percent, " %")
    ));
    let active: Vec<String> =
        s.active_alerts.iter().map(|a| format!("{} {}", a.level.label(), a.rule)).collect();
    l.push(format!("alerts active: {}", if active.is_empty() { "none".into() } else { active.join(", ") }));
    for a in s.recent_alerts.iter().rev().take(3) {
        let tag = if a.kind == AlertKind::Resolved { "resolved" } else { "fired" };
        l.push(format!("  {tag}: {}", a.message()));
    }
    l.push(format!(
        "discord: sent {}  dropped {}  failed {}  no webhook {}",
        s.discord.sent, s.discord.dropped, s.discord.failed, s.discord.skipped
    ));
    l
}

/// Runs `mia status`: one plain frame with `once`, else a live view until interrupted.
///
/// # Errors
/// The terminal cannot be written.
pub fn run(dir: &Path, once: bool) -> Result<()> {
    let mut out = std::io::stdout().lock();
    if once {
        let status = StatusFile::load(dir);
        for line in render_frame(dir, &status, wall_ns()) {
            writeln!(out, "{line}")?;
        }
        if let Err(e) = status {
            return Err(e.context("no status to show"));
        }
        return Ok(());
    }
    write!(out, "\x1b[2J")?;
    loop {
        draw(&mut out, dir)?;
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// One in-place frame: cursor home, each line then clear-to-end-of-line, clear below.
fn draw(out: &mut impl Write, dir: &Path) -> Result<()> {
    let frame = render_frame(dir, &StatusFile::load(dir), wall_ns());
    let mut buf = String::from("\x1b[H");
    for line in frame {
        buf.push_str(&line);
        buf.push_str("\x1b[K\r\n");
    }
    buf.push_str("\x1b[J");
    out.write_all(buf.as_bytes())?;
    out.flush()?;
    Ok(())
}

/// The live view of a session running in this process (`mia paper --tui`): the same frames
/// as `mia status`, every `every`, until `done` is set; then one last frame (the session's
/// final sample), and the cursor is left below it for what the command prints next.
///
/// # Errors
/// The terminal cannot be written.
pub fn run_until(dir: &Path, done: &std::sync::atomic::AtomicBool, every: Duration) -> Result<()> {
    use std::sync::atomic::Ordering;
    let mut out = std::io::stdout().lock();
    write!(out, "\x1b[2J")?;
    while !done.load(Ordering::Acquire) {
        draw(&mut out, dir)?;
        let mut slept = Duration::ZERO;
        while slept < every && !done.load(Ordering::Acquire) {
            std::thread::sleep(Duration::from_millis(20));
            slept += Duration::from_millis(20);
        }
    }
    draw(&mut out, dir)?;
    writeln!(out)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::health::{Health, HealthModel, HostSample};
    use crate::monitor::thread::{ActiveAlert, NotifierCounts, STATUS_VERSION};
    use mia_runtime::metrics::{risk_code, LiveMetrics};

    /// A status file as a running session would write it.
    pub(crate) fn demo_status(now: u64) -> StatusFile {
        let m = LiveMetrics::new();
        m.feed.on_market(now - 2_000_000_000, now - 1_500_000_000);
        m.feed.set_feed_connected(true);
        m.exec.set_position(-1);
        m.exec.set_working_orders(2);
        m.exec.set_pnl(312_500_000_000, -62_500_000_000, 250_000_000_000);
        m.exec.set_risk_state(risk_code::REDUCING);
        m.cold.set_gamma(now - 60_000_000_000, 5_012_250_000_000, 5_100_000_000_000, 4_950_000_000_000);
        m.cold.set_gamma_spot(5_000_000_000_000);
        m.exec.set_mark(5_020_000_000_000);
        m.cold.set_latency(3, 100, 1_000_000, 4_200, 9_800, 15_000);
        m.signal.on_signal(now, -1, 1, 2, 3, 0.82);
        let snap = m.snapshot();
        let health: Health = HealthModel::new().update(&snap, HostSample::read(None), now);
        StatusFile {
            version: STATUS_VERSION,
            written_at_ns: now,
            pid: 4242,
            samples: 17,
            snapshot: snap,
            health,
            active_alerts: vec![ActiveAlert {
                rule: "drawdown".into(),
                level: crate::monitor::rules::Level::Warning,
            }],
            recent_alerts: vec![],
            recent_signals: vec![snap.last_signal],
            discord: NotifierCounts::default(),
        }
    }

    #[test]
    fn a_frame_shows_every_field() {
        let now = wall_ns();
        let s = demo_status(now);
        let text = render_frame(Path::new("runs/x"), &Ok(s), now).join("\n");
        for needle in [
            "[live]",
            "position: -1 contracts",
            "working orders: 2",
            "risk: REDUCING",
            "realized +312.50",
            "unrealized -62.50",
            "daily +250.00",
            "feed: CONNECTED",
            "age 1.5 s",
            "data latency 500.0 ms",
            "gamma: zero 5012.25  call wall 5100.00  put wall 4950.00  age 58.0 s",
            "ES: zero 5032.25  call 5120.00  put 4970.00",
            "end_to_end p50 4.2 p99 9.8 p99.9 15.0",
            "SHORT tier 1 headfake conf 0.82",
            "alerts active: WARNING drawdown",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in\n{text}");
        }
        assert!(!text.contains('\x1b'));
    }

    #[test]
    fn old_and_missing_files_say_so() {
        let now = wall_ns();
        let s = demo_status(now - 60_000_000_000);
        let text = render_frame(Path::new("d"), &Ok(s), now).join("\n");
        assert!(text.contains("STALE (60 s old"), "{text}");
        let e = StatusFile::load(Path::new("/nonexistent/run"));
        let text = render_frame(Path::new("/nonexistent/run"), &e, now).join("\n");
        assert!(text.contains("waiting for /nonexistent/run/status.json"), "{text}");
    }
}
