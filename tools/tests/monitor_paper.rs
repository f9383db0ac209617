//! The monitor wired into a running session, end to end through the `mia` binary: a paper
//! session on the synthetic source with the monitor on serves `/metrics` while it runs
//! (scraped over HTTP, checked by `promtool check metrics`), writes a fresh `status.json`,
//! sends its trades to a local Discord endpoint (a 127.0.0.1 HTTP server), and the webhook
//! URL appears in no file of the run and no output; `--tui` draws the live view in tmux.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const TOKEN: &str = "MONITOR-E2E-TOKEN-5f3a";

/// Requests a local server received: (path, body).
type Received = Arc<Mutex<Vec<(String, String)>>>;

/// A local "Discord": answers every request 204 and keeps (path, body).
fn discord_server() -> (String, Received) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    let got: Received = Arc::default();
    let g = Arc::clone(&got);
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            let mut r = BufReader::new(s);
            let mut line = String::new();
            if r.read_line(&mut line).is_err() {
                continue;
            }
            let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
            let mut len = 0usize;
            loop {
                let mut h = String::new();
                if r.read_line(&mut h).is_err() || h == "\r\n" || h.is_empty() {
                    break;
                }
                if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0u8; len];
            let _ = r.read_exact(&mut body);
            g.lock().expect("lock").push((path, String::from_utf8_lossy(&body).into_owned()));
            let mut s = r.into_inner();
            let _ = s.write_all(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    (format!("http://{addr}/api/webhooks/4242/{TOKEN}"), got)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

fn scrape(port: u16) -> Option<String> {
    let mut c = TcpStream::connect(("127.0.0.1", port)).ok()?;
    c.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(c, "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n").ok()?;
    let mut page = String::new();
    c.read_to_string(&mut page).ok()?;
    let body = page.split_once("\r\n\r\n")?.1.to_string();
    Some(body)
}

fn metric(page: &str, name: &str) -> Option<f64> {
    page.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

fn config(dir: &Path, metrics_addr: &str) -> std::path::PathBuf {
    let p = dir.join("mon.toml");
    std::fs::write(&p, format!("[signal]\nstrategy = \"threshold\"\n[monitor]\ninterval_ms = 200\nmetrics_addr = \"{metrics_addr}\"\n"))
        .expect("cfg");
    p
}

fn every_file_under(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).expect("dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            every_file_under(&p, out);
        } else {
            out.push(p);
        }
    }
}

#[test]
fn a_monitored_paper_session_serves_metrics_alerts_discord_and_writes_status() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (url, got) = discord_server();
    let port = free_port();
    let cfg = config(tmp.path(), &format!("127.0.0.1:{port}"));
    let out = tmp.path().join("run");
    let started_ns = mia_tools::monitor::thread::wall_ns();
    let mut child = Command::new(env!("CARGO_BIN_EXE_mia"))
        .args(["paper", "--source", "synthetic", "--seed", "2", "--speed", "6000", "--max-events", "400000"])
        .arg("--config")
        .arg(&cfg)
        .arg("--out")
        .arg(&out)
        .env("MIA_DISCORD_WEBHOOK_TRADES", &url)
        .env_remove("MIA_DISCORD_WEBHOOK_ALERTS")
        .env_remove("MIA_DISCORD_WEBHOOK_SYSTEM")
        .env_remove("MIA_DISCORD_WEBHOOK_SIGNALS")
        .env_remove("MIA_DISCORD_WEBHOOK_PERFORMANCE")
        .current_dir(tmp.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run mia paper");
    // scrape while the session runs: live counters, and a page promtool accepts
    let mut live_page = None;
    let mut live_status = None;
    for _ in 0..600 {
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        if let Some(p) = scrape(port) {
            if metric(&p, "mia_market_events_total").is_some_and(|v| v > 0.0) {
                live_page = Some(p);
            }
        }
        if let Ok(s) = mia_tools::monitor::thread::StatusFile::load(&out) {
            if s.snapshot.market_events > 0 {
                live_status = Some(s);
            }
        }
        if live_page.is_some() && live_status.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let o = child.wait_with_output().expect("mia paper output");
    let (stdout, stderr) = (String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert!(o.status.success(), "mia paper failed:\n{stdout}\n{stderr}");
    let page = live_page.unwrap_or_else(|| panic!("/metrics never served live counters\n{stderr}"));
    for name in
        ["mia_inputs_total", "mia_market_events_total", "mia_feed_connected", "mia_position_contracts"]
    {
        assert!(metric(&page, name).is_some(), "{name} missing from\n{page}");
    }
    assert_eq!(metric(&page, "mia_feed_connected"), Some(1.0), "the synthetic feed is connected");
    match Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(mut p) => {
            p.stdin.take().expect("stdin").write_all(page.as_bytes()).expect("feed promtool");
            let r = p.wait_with_output().expect("promtool");
            assert!(
                r.status.success(),
                "promtool: {}{}",
                String::from_utf8_lossy(&r.stdout),
                String::from_utf8_lossy(&r.stderr)
            );
        }
        Err(e) => {
            panic!("promtool is not installed ({e}): run .ci/install-tools (Debian package prometheus)")
        }
    }
    // status.json during the run, and its last sample after it
    let live = live_status.expect("status.json while running");
    assert!(
        live.written_at_ns >= started_ns && live.samples >= 1,
        "fresh: {} vs {started_ns}",
        live.written_at_ns
    );
    let last = mia_tools::monitor::thread::StatusFile::load(&out).expect("final status.json");
    assert!(last.written_at_ns >= live.written_at_ns);
    assert_eq!(last.snapshot.market_events, 400_000, "every market event was counted");
    assert!(last.snapshot.fills > 0 && last.snapshot.signals > 0, "{:?}", last.snapshot);
    assert!(last.snapshot.journal_records > 0, "the journal thread publishes its progress");
    assert!(last.snapshot.latency[0].count > 0, "stage latency published");
    // The data latency of a paced replay of a 2024 session is measured against its schedule
    // (how far the feed runs behind it), not against 2024.
    let s = &last.snapshot;
    let lag_ns = s.last_recv_wall_ns as i128 - s.last_event_wall_ns as i128;
    assert!(s.last_event_wall_ns > s.last_event_ts_ns, "due on the wall clock, not in 2024: {s:?}");
    assert!(lag_ns.abs() < 60_000_000_000, "data latency {lag_ns} ns against the schedule");
    assert!(last.discord.sent >= 1, "{:?}", last.discord);

    // Discord got trade messages on the trades webhook
    let msgs = got.lock().expect("lock").clone();
    assert!(
        msgs.iter().any(|(path, body)| path.ends_with(TOKEN)
            && (body.contains("Trade opened") || body.contains("Trade closed"))),
        "no trade message: {msgs:?}"
    );
    // the webhook URL (its token) is in no file of the run and in no output
    let mut files = Vec::new();
    every_file_under(&out, &mut files);
    assert!(files.iter().any(|p| p.ends_with("status.json")));
    for p in files {
        let bytes = std::fs::read(&p).expect("read");
        let hit = bytes.windows(TOKEN.len()).any(|w| w == TOKEN.as_bytes())
            || bytes.windows(13).any(|w| w == b"/api/webhooks");
        assert!(!hit, "the webhook URL is in {}", p.display());
    }
    assert!(!stdout.contains(TOKEN) && !stderr.contains(TOKEN), "the webhook URL was printed");
}

/// The trade snapshots of the session are in its features journal (entry and exit of every
/// round trip), and `mia report` exports them from there.
#[test]
fn a_paper_session_journals_its_signals_and_trade_snapshots() {
    use mia_journal::{JournalReader, JournalRecord, Moment};
    let tmp = tempfile::tempdir().expect("tmp");
    let cfg = config(tmp.path(), "");
    let out = tmp.path().join("run");
    let o = Command::new(env!("CARGO_BIN_EXE_mia"))
        .args(["paper", "--source", "synthetic", "--seed", "2", "--speed", "30000", "--max-events", "400000"])
        .arg("--config")
        .arg(&cfg)
        .arg("--out")
        .arg(&out)
        .current_dir(tmp.path())
        .output()
        .expect("run mia paper");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let trades = mia_tools::report::trades::read_trades(&out.join("trades.csv")).expect("trades.csv").trades;
    assert!(!trades.is_empty(), "the window trades");
    let mut snaps = Vec::new();
    for r in JournalReader::open(out.join("features")).expect("features journal") {
        if let JournalRecord::Trade(t) = r.expect("record") {
            snaps.push(t);
        }
    }
    assert_eq!(snaps.len(), 2 * trades.len(), "an entry and an exit per round trip");
    for (k, t) in trades.iter().enumerate() {
        let (e, x) = (&snaps[2 * k], &snaps[2 * k + 1]);
        assert_eq!((e.moment, x.moment), (Moment::Entry, Moment::Exit));
        assert_eq!((e.trade_no, x.trade_no), (k as u64 + 1, k as u64 + 1));
        assert_eq!((e.ts, x.ts), (t.entry_ts, t.exit_ts), "trade {k}");
        assert!(e.signal().is_some(), "the opening signal is recorded");
        assert!((x.net_pnl_nano as f64 / 1e9 - t.net_usd).abs() < 1e-6, "trade {k}: net");
        if let Some(f) = e.features() {
            assert!(f.seq <= e.seq, "the snapshot in force at the fill");
        }
    }
    let mut signals = 0;
    for r in JournalReader::open(out.join("journal")).expect("journal") {
        if let JournalRecord::Msg(mia_model::msg::Msg::Signal(_)) = r.expect("record") {
            signals += 1;
        }
    }
    assert!(signals > 0, "signals are journaled");
    let r = Command::new(env!("CARGO_BIN_EXE_mia")).arg("report").arg(&out).output().expect("mia report");
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let text = String::from_utf8_lossy(&r.stdout);
    assert!(text.contains("signals: journaled"), "{text}");
    let csv = std::fs::read_to_string(out.join("report/trade_snapshots.csv")).expect("csv");
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    assert_eq!(rows.len(), 2 * trades.len());
    assert!(rows[0].contains(",entry,") && rows[1].contains(",exit,"), "{}", &csv[..csv.len().min(600)]);
}

fn tmux(args: &[&str]) -> std::process::Output {
    Command::new("tmux").args(args).output().expect("tmux")
}

#[test]
fn paper_tui_draws_the_live_view_in_tmux() {
    if Command::new("tmux").arg("-V").output().is_err() {
        assert!(std::env::var_os("CI").is_none(), "tmux is not installed: run .ci/install-tools");
        eprintln!("tmux not installed: --tui test skipped (run .ci/install-tools)");
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let cfg = config(tmp.path(), "");
    let out = tmp.path().join("run");
    let session = format!("mia-tui-test-{}", std::process::id());
    // fast enough that signals and trades come within seconds; the view refreshes in place
    let cmd = format!(
        "cd {} && {} paper --source synthetic --seed 2 --speed 900 --config {} --out {} --tui",
        tmp.path().display(),
        env!("CARGO_BIN_EXE_mia"),
        cfg.display(),
        out.display()
    );
    let o = tmux(&["new-session", "-d", "-s", &session, "-x", "200", "-y", "40", &cmd]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let capture =
        || String::from_utf8_lossy(&tmux(&["capture-pane", "-p", "-t", &session]).stdout).to_string();
    let mut screen = String::new();
    for _ in 0..600 {
        screen = capture();
        if screen.contains(" tier ") && screen.contains("latency (us): signal p50") {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = tmux(&["kill-session", "-t", &session]);
    for needle in [
        "MIA status",
        "[live]",
        "position: ",
        "working orders: ",
        "risk: ACTIVE",
        "pnl (USD): realized",
        "feed: CONNECTED",
        "gamma: zero ",
        "| ES: zero ",
        "latency (us): signal p50",
        " tier ",
    ] {
        assert!(screen.contains(needle), "missing {needle:?} in the --tui screen:\n{screen}");
    }
    // one frame on screen: the header line appears once (redrawn in place, not scrolled)
    assert_eq!(screen.matches("MIA status").count(), 1, "{screen}");
}
