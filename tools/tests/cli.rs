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
