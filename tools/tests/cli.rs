//! The `mia` binary end to end: summary format, and bad input giving a clear error and a
//! non-zero exit, never a panic.

use std::path::Path;
use std::process::{Command, Output};

fn mia(args: &[&str], cwd: &Path) -> Output {
    match Command::new(env!("CARGO_BIN_EXE_mia")).args(args).current_dir(cwd).output() {
        Ok(o) => o,
        Err(e) => panic!("cannot run mia: {e}"),
    }
}

fn fails_naming(o: &Output, needle: &str) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "expected failure, got success; stderr: {err}");
    assert_eq!(o.status.code(), Some(1), "clean exit code, not a panic (101) or signal; stderr: {err}");
    assert!(err.contains(needle), "stderr should name {needle:?}: {err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn backtest_prints_the_summary_block() {
    let dir = tempfile::tempdir().expect("tempdir");
    let o = mia(&["backtest", "--seed", "5", "--out", "run"], dir.path());
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let tail: Vec<&str> = out.lines().rev().take(6).collect();
    for key in ["events: ", "orders: ", "fills: ", "net_pnl_usd: ", "events_per_sec: ", "digest: "] {
        assert!(tail.iter().any(|l| l.starts_with(key)), "missing {key} in {out}");
    }
    assert!(out.contains("\nvenue: sim (queue: risk_averse, latency: constant(250000+U[0,0] ns"), "{out}");
    assert!(out.contains("fees: ES tiered commission 0.85/0.65/0.45/0.25 USD"), "{out}");
    assert!(dir.path().join("run/trades.csv").is_file());
    assert!(dir.path().join("run/journal").is_dir());
    let p = mia(&["perf", "run"], dir.path());
    let perf = String::from_utf8_lossy(&p.stdout);
    assert!(p.status.success(), "{}", String::from_utf8_lossy(&p.stderr));
    assert!(perf.contains("end_to_end") && perf.contains("p99.9"), "{perf}");
    assert!(dir.path().join("run/latency/latency.svg").is_file());
}

#[test]
fn bad_inputs_fail_cleanly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    // missing file
    fails_naming(&mia(&["replay", "nope.dbn"], d), "nope.dbn");
    // garbage DBN
    std::fs::write(d.join("junk.dbn"), b"this is not a DBN file at all, just text").expect("write");
    fails_naming(&mia(&["replay", "junk.dbn", "--out", "o1"], d), "junk.dbn");
    // truncated DBN: a real file cut in the middle of its records
    let real = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/dbn/test_data.mbp-10.dbn");
    let bytes = std::fs::read(real).expect("read shared data");
    std::fs::write(d.join("cut.dbn"), &bytes[..bytes.len() - 100]).expect("write");
    fails_naming(&mia(&["replay", "cut.dbn", "--out", "o2"], d), "cut.dbn");
    fails_naming(&mia(&["replay", "cut.dbn", "--mode", "threaded", "--out", "o2t"], d), "cut.dbn");
    // What was decoded before the damage is journaled, not lost.
    for run in ["o2", "o2t"] {
        let rec = mia_journal::JournalReader::scan(d.join(run).join("journal")).expect("journal readable");
        assert!(rec.is_clean() && rec.records > 1, "{run}: {rec:?}");
    }
    // garbage journal directory
    std::fs::create_dir_all(d.join("badj")).expect("mkdir");
    std::fs::write(d.join("badj/seg-000000.mj"), vec![0x5au8; 4096]).expect("write");
    fails_naming(&mia(&["replay", "badj", "--out", "o3"], d), "badj");
    // config with an unknown key, and with a wrong type
    std::fs::write(d.join("bad.toml"), "[risk]\nmax_positon = 3\n").expect("write");
    fails_naming(&mia(&["backtest", "--config", "bad.toml"], d), "max_positon");
    std::fs::write(d.join("bad2.toml"), "[pipeline]\nring_capacity = \"x\"\n").expect("write");
    fails_naming(&mia(&["backtest", "--config", "bad2.toml"], d), "bad2.toml");
    fails_naming(&mia(&["backtest", "--config", "missing.toml"], d), "missing.toml");
}

/// A `kill -9` in the middle of a journaled backtest loses nothing already written: the
/// replay recovers every complete record, reports the torn tail, and makes the same decisions
/// as the backtest did over the events it journaled.
#[test]
fn killed_run_journal_replays_after_crash() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    // Paced so that the process is surely mid-session when it is killed.
    let mut child = match Command::new(env!("CARGO_BIN_EXE_mia"))
        .args(["backtest", "--seed", "7", "--pace", "200000", "--out", "crash"])
        .current_dir(d)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => panic!("spawn: {e}"),
    };
    // Wait until the journal has data, then SIGKILL.
    let seg = d.join("crash/journal/seg-000000.mj");
    let start = std::time::Instant::now();
    loop {
        std::thread::sleep(std::time::Duration::from_millis(50));
        let n = mia_journal::JournalReader::scan(d.join("crash/journal")).map(|r| r.records).unwrap_or(0);
        if n > 50_000 || start.elapsed().as_secs() > 60 {
            break;
        }
    }
    assert!(seg.exists(), "journal segment created");
    let _ = child.kill(); // SIGKILL on Unix
    let _ = child.wait();
    let o = mia(&["replay", "crash/journal", "--out", "after"], d);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "replay after a crash: {}", String::from_utf8_lossy(&o.stderr));
    let events: u64 =
        out.lines().find_map(|l| l.strip_prefix("events: ")).and_then(|v| v.trim().parse().ok()).unwrap_or(0);
    assert!(events > 10_000, "recovered {events} events");
    // The recovered prefix replays to the same decisions as a backtest cut at that event.
    let b = mia(&["backtest", "--seed", "7", "--max-events", &events.to_string(), "--out", "prefix"], d);
    let bout = String::from_utf8_lossy(&b.stdout);
    let digest = |s: &str| s.lines().find_map(|l| l.strip_prefix("digest: ")).map(str::to_string);
    assert_eq!(digest(&out), digest(&bout), "replay of the crashed journal = backtest of the same prefix");
}

/// The README's first command, as it is (no seed, no config): the default strategy (the signal
/// engine) enters on the default session, the entry goes out as a bracket through risk and the
/// queue-model venue, and a child of the bracket (its stop or its target) closes it
/// (`app::input::DEFAULT_SEED`, docs/strategy.md "The default session").
#[test]
fn the_default_backtest_trades_an_engine_bracket() {
    let dir = tempfile::tempdir().expect("tempdir");
    let o = mia(&["backtest", "--out", "run"], dir.path());
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let line = |prefix: &str| {
        out.lines().find(|l| l.starts_with(prefix)).unwrap_or_else(|| panic!("{prefix} in {out}"))
    };
    let number_after = |text: &str, key: &str| -> u64 {
        let at = text.find(key).unwrap_or_else(|| panic!("{key} in {text}")) + key.len();
        text[at..].split(|c: char| !c.is_ascii_digit()).next().and_then(|n| n.parse().ok()).unwrap_or(0)
    };
    assert!(line("source: ").contains("seed=65"), "{out}");
    assert!(line("run: ").contains("profile backtest"), "{out}");
    let engine = line("engine: ");
    let entries = number_after(engine, "decisions, ");
    assert!(entries >= 1, "the engine entered: {engine}");
    assert_eq!(number_after(engine, "entries ("), entries, "every entry executed: {engine}");
    assert!(line("venue: ").contains("queue: risk_averse"), "{out}");
    let signals = line("signals: ");
    assert!(number_after(signals, "round_trips: ") >= 1, "{signals}");
    assert_eq!(number_after(signals, "risk_rejects: "), 0, "{signals}");
    // entry + its two OCO children at least
    assert!(number_after(&out, "\norders: ") >= 3, "{out}");
    assert!(line("risk: ").contains("position 0"), "flat at the end: {out}");
    // the round trip is listed in the summary, with its exit reason
    let t1 = line("trade 1: ");
    assert!(t1.contains(" CT → ") && (t1.contains("(stop)") || t1.contains("(target)")), "{t1}");
    // The engine's entry decision and the round trip it became.
    let decisions = std::fs::read_to_string(dir.path().join("run/decisions.csv")).expect("decisions.csv");
    let entry_ts: Vec<u64> = decisions
        .lines()
        .filter(|l| l.split(',').nth(13) == Some("entry"))
        .filter_map(|l| l.split(',').next()?.parse().ok())
        .collect();
    assert!(!entry_ts.is_empty(), "an entry row in decisions.csv");
    let trades = std::fs::read_to_string(dir.path().join("run/trades.csv")).expect("trades.csv");
    let header: Vec<&str> = trades.lines().next().expect("header").split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap_or_else(|| panic!("{name} column"));
    let (ets, reason) = (col("entry_ts"), col("exit_reason"));
    let rows: Vec<Vec<&str>> = trades.lines().skip(1).map(|l| l.split(',').collect()).collect();
    assert!(!rows.is_empty(), "a round trip in trades.csv");
    for r in &rows {
        let t: u64 = r[ets].parse().expect("entry_ts");
        // filled after the decision, within a second (250 µs order latency)
        assert!(
            entry_ts.iter().any(|&d| t >= d && t - d < 1_000_000_000),
            "entry {t} follows a decision {entry_ts:?}"
        );
        assert!(["target", "stop"].contains(&r[reason]), "closed by a bracket child: {r:?}");
    }
}
