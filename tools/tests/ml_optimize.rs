//! `mia optimize` sharded the way a batch engine runs it: `--plan` writes the job list, each
//! `--shard I/N` runs as its own process (the built binary), `--merge` combines the results;
//! the merged report is byte-identical to the single-process run.

use std::path::Path;
use std::process::Command;

const COMMON: [&str; 12] = [
    "--params",
    // A short name and a declared configuration path with bounds.
    "obi_entry,signal.threshold.stop_points=1.5..4",
    "--seed",
    "3",
    "--sessions",
    "3",
    "--train",
    "1",
    "--test",
    "1",
    "--max-events",
    "150000",
];

fn mia(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_mia")).args(args).output().expect("run mia");
    assert!(
        out.status.success(),
        "mia {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The threshold strategy, explicitly (the default strategy may change).
fn threshold_config(dir: &Path) -> String {
    let p = dir.join("threshold.toml");
    std::fs::write(&p, "[signal]\nstrategy = \"threshold\"\n").expect("config");
    p.display().to_string()
}

#[test]
fn shards_run_as_processes_merge_to_the_single_process_report() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = |n: &str| dir.path().join(n).display().to_string();
    let cfg = threshold_config(dir.path());
    let mut single = COMMON.to_vec();
    let single_out = d("single");
    single.extend(["--config", &cfg, "--out", &single_out]);
    let mut args = vec!["optimize"];
    args.extend(&single);
    mia(&args);

    let plan = d("plan.json");
    let mut args = vec!["optimize"];
    args.extend(COMMON);
    args.extend(["--config", &cfg, "--plan", &plan]);
    assert!(mia(&args).contains("jobs to"));

    let shards = ["0/3", "1/3", "2/3"];
    let outs: Vec<String> = (0..3).map(|i| d(&format!("shard{i}"))).collect();
    let children: Vec<_> = shards
        .iter()
        .zip(&outs)
        .map(|(s, o)| {
            Command::new(env!("CARGO_BIN_EXE_mia"))
                .args(["optimize", "--plan", &plan, "--shard", s, "--out", o])
                .spawn()
                .expect("spawn a shard")
        })
        .collect();
    for mut c in children {
        assert!(c.wait().expect("shard").success());
    }
    let merged = d("merged");
    let mut args = vec!["optimize", "--plan", &plan, "--out", &merged, "--merge"];
    args.extend(outs.iter().map(String::as_str));
    mia(&args);

    let (a, b) = (Path::new(&single_out), Path::new(&merged));
    let trials = read(&a.join("trials.csv"));
    assert_eq!(trials, read(&b.join("trials.csv")), "trials.csv byte for byte");
    assert_eq!(read(&a.join("summary.txt")), read(&b.join("summary.txt")), "summary byte for byte");
    // The sessions traded (a report of zeros would prove nothing).
    assert!(
        trials.lines().skip(1).any(|l| l.split(',').rev().nth(1).is_some_and(|t| t != "0")),
        "some trial has round trips: {trials}"
    );
    // A merge missing a shard refuses to report.
    let out = Command::new(env!("CARGO_BIN_EXE_mia"))
        .args(["optimize", "--plan", &plan, "--out", &d("partial"), "--merge", &outs[0]])
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("is in no shard result"));
}

/// Recorded sessions (`--data`): three backtests' run directories (seeds 3, 4, 5) re-run under
/// each candidate give exactly the trials of the synthetic sessions they recorded, and not
/// those of the `--seed` the command line names (which `--data` replaces).
#[test]
fn recorded_sessions_give_the_trials_of_the_sessions_they_recorded() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = |n: &str| dir.path().join(n).display().to_string();
    let cfg = threshold_config(dir.path());
    let runs: Vec<String> = (3..6).map(|s| d(&format!("run{s}"))).collect();
    for (s, out) in (3..6).zip(&runs) {
        let seed = s.to_string();
        mia(&["backtest", "--seed", &seed, "--max-events", "150000", "--config", &cfg, "--out", out]);
    }
    let opt = |seed: &str, extra: &[&str], out: &str| {
        let mut args = vec!["optimize"];
        // COMMON with another seed.
        for (i, a) in COMMON.iter().enumerate() {
            args.push(if i > 0 && COMMON[i - 1] == "--seed" { seed } else { a });
        }
        args.extend(["--config", &cfg, "--out", out]);
        args.extend(extra);
        mia(&args);
        read(&Path::new(out).join("trials.csv"))
    };
    let synthetic = opt("3", &[], &d("synthetic"));
    let mut data = vec!["--data"];
    data.extend(runs.iter().map(String::as_str));
    let recorded = opt("40", &data, &d("recorded"));
    assert_eq!(recorded, synthetic, "a recorded session re-runs to its synthetic session's results");
    let other = opt("40", &[], &d("seed40"));
    assert_ne!(other, synthetic, "another seed gives other trials (so the comparison can fail)");
    assert!(read(&dir.path().join("recorded/summary.txt")).contains("3 recorded sessions"));
}
