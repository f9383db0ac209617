//! `mia check`: pre-flight checks before a paper or live session, as a pass / warn / fail
//! table with an exit code (any FAIL → non-zero).
//!
//! - **Config**: parses and validates (every problem listed, not only the first).
//! - **Journal disk**: the runs directory can be created and written, and has free space.
//! - **Secrets**: the account variables of the brokers in use are set (shown redacted).
//! - **Brokers**: each broker the config uses (`[live] data` and `[live] venue`) is probed by
//!   its adapter (reachability, server version, account, contract month, clock skew).
//! - **Host** (warnings only: a laptop is a valid paper machine): isolated cores for the pinned
//!   hot threads (`isolcpus`/`nohz_full` via `/sys/devices/system/cpu/isolated`), the CPU
//!   frequency governor of those cores, and clock synchronisation (chrony or systemd-timesyncd).
//!   `docs/deployment.md` explains each.

use crate::app::config::Config;
use crate::app::live::{BrokerKind, DataKind};
use mia_runtime::secret::Secret;
use std::fmt::Write as _;
use std::path::Path;

/// Outcome of one check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// Fine.
    Pass,
    /// Works, but not as a low-latency desk would run it.
    Warn,
    /// Blocks a session.
    Fail,
}

impl Status {
    fn label(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Warn => "WARN",
            Status::Fail => "FAIL",
        }
    }
}

/// One row of the report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// Outcome.
    pub status: Status,
    /// What was checked.
    pub name: String,
    /// What was found.
    pub detail: String,
}

/// The report of `mia check`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// The rows, in the order checked.
    pub rows: Vec<Row>,
}

impl CheckReport {
    /// Adds a row.
    pub fn push(&mut self, status: Status, name: impl Into<String>, detail: impl Into<String>) {
        self.rows.push(Row { status, name: name.into(), detail: detail.into() });
    }

    /// Number of failed checks.
    pub fn failures(&self) -> usize {
        self.rows.iter().filter(|r| r.status == Status::Fail).count()
    }

    /// True when a check failed.
    pub fn failed(&self) -> bool {
        self.failures() > 0
    }

    /// The table (`config` names the config checked).
    pub fn render(&self, config: &str) -> String {
        let mut s = format!("mia check (config: {config})\n");
        let w = self.rows.iter().map(|r| r.name.len()).max().unwrap_or(0).max(5);
        for r in &self.rows {
            let _ = writeln!(s, "{:<4}  {:<w$}  {}", r.status.label(), r.name, r.detail);
        }
        let warns = self.rows.iter().filter(|r| r.status == Status::Warn).count();
        let _ = writeln!(
            s,
            "{} checks: {} passed, {} warnings, {} failed",
            self.rows.len(),
            self.rows.len() - warns - self.failures(),
            warns,
            self.failures()
        );
        s
    }
}

/// Runs every check for the config at `config` (built-in defaults when `None`), with the
/// journal under `runs`.
pub fn run_checks(config: Option<&Path>, runs: &Path) -> CheckReport {
    let mut r = CheckReport::default();
    if let Err(e) = crate::app::secrets::load_dotenv() {
        r.push(Status::Fail, ".env", e.to_string());
    }
    let cfg = match config {
        None => {
            r.push(Status::Pass, "config", "built-in defaults (config/default.toml)");
            Config::default()
        }
        Some(p) => match load_all_problems(p) {
            Ok(cfg) => {
                r.push(Status::Pass, "config", format!("{} is valid", p.display()));
                cfg
            }
            Err(problems) => {
                for p in problems {
                    r.push(Status::Fail, "config", p);
                }
                return finish_host(r, &Config::default(), runs);
            }
        },
    };
    check_secrets(&mut r, &cfg);
    check_brokers(&mut r, &cfg);
    finish_host(r, &cfg, runs)
}

fn finish_host(mut r: CheckReport, cfg: &Config, runs: &Path) -> CheckReport {
    check_disk(&mut r, runs);
    check_host(&mut r, cfg, Path::new("/sys/devices/system/cpu"));
    if brokers_in_use(cfg).contains(&"ibkr") {
        check_idle(&mut r, &cfg.ibkr, mia_feeds::ibkr::config::online_cores());
    }
    check_clock(&mut r);
    r
}

/// `[ibkr] idle` on this host: a spinning edge thread needs a core of its own (warning when
/// the resolved policy spins on unpinned threads or on fewer than
/// [`mia_feeds::ibkr::config::SPIN_MIN_CORES`] cores).
pub fn check_idle(r: &mut CheckReport, ibkr: &mia_feeds::ibkr::IbkrConfig, cores: usize) {
    use mia_feeds::ibkr::config::SPIN_MIN_CORES;
    use mia_feeds::ibkr::IdlePolicy;
    let policy = ibkr.resolved_idle(cores);
    let shown = if ibkr.idle == IdlePolicy::Auto {
        format!("auto -> {}", policy.label())
    } else {
        policy.label().to_string()
    };
    let pinned = ibkr.md_core >= 0 && ibkr.orders_core >= 0;
    if policy == IdlePolicy::Spin && (!pinned || cores < SPIN_MIN_CORES) {
        r.push(
            Status::Warn,
            "edge idle",
            format!(
                "{shown} with {cores} core(s), md_core {} / orders_core {}: spinning edge threads without cores of their own \
                 slow the path they wait for (2-core VM: wire-to-order p50 2.1 ms with spin, 166 us with yield; \
                 docs/performance.md); use idle = \"auto\" or \"yield\", or pin them to isolated cores",
                ibkr.md_core, ibkr.orders_core
            ),
        );
    } else {
        r.push(
            Status::Pass,
            "edge idle",
            format!("{shown} ({cores} cores, md_core {}, orders_core {})", ibkr.md_core, ibkr.orders_core),
        );
    }
}

/// Parses the file; on failure every problem (the parse error, or each section's).
fn load_all_problems(path: &Path) -> Result<Config, Vec<String>> {
    let text =
        std::fs::read_to_string(path).map_err(|e| vec![format!("{}: cannot read: {e}", path.display())])?;
    let cfg: Config = toml::from_str(&text)
        .map_err(|e| vec![format!("{}: {}", path.display(), e.to_string().trim_end())])?;
    let problems = cfg.problems();
    if problems.is_empty() {
        Ok(cfg)
    } else {
        Err(problems.into_iter().map(|p| format!("{}: {p}", path.display())).collect())
    }
}

fn brokers_in_use(cfg: &Config) -> Vec<&'static str> {
    let mut v = Vec::new();
    match cfg.live.data {
        DataKind::Ibkr => v.push("ibkr"),
        DataKind::Dtc => v.push("dtc"),
        DataKind::Synthetic | DataKind::Scid => {}
    }
    let venue = match cfg.live.venue {
        BrokerKind::Ibkr => "ibkr",
        BrokerKind::Dtc => "dtc",
    };
    if cfg.live.enabled && !v.contains(&venue) {
        v.push(venue);
    }
    v
}

fn check_secrets(r: &mut CheckReport, cfg: &Config) {
    for b in brokers_in_use(cfg) {
        let var = if b == "ibkr" { "MIA_IBKR_ACCOUNT" } else { "MIA_DTC_ACCOUNT" };
        match Secret::from_env(var) {
            Ok(Some(s)) => r.push(Status::Pass, format!("{b} account"), format!("{var} is set ({s})")),
            Ok(None) if cfg.live.enabled => r.push(
                Status::Fail,
                format!("{b} account"),
                format!("{var} is not set (environment or .env)"),
            ),
            Ok(None) => r.push(
                Status::Warn,
                format!("{b} account"),
                format!("{var} is not set: paper and collect work, live orders need it"),
            ),
            Err(e) => r.push(Status::Fail, format!("{b} account"), e),
        }
    }
}

fn check_brokers(r: &mut CheckReport, cfg: &Config) {
    for b in brokers_in_use(cfg) {
        if b == "ibkr" {
            let mut icfg = cfg.ibkr.clone();
            icfg.root = cfg.trading.instrument;
            for row in mia_feeds::ibkr::check(&icfg).rows {
                let status = match row.verdict {
                    mia_feeds::ibkr::Verdict::Pass => Status::Pass,
                    mia_feeds::ibkr::Verdict::Warn => Status::Warn,
                    mia_feeds::ibkr::Verdict::Fail => Status::Fail,
                };
                r.push(status, format!("ibkr {}", row.name), row.detail);
            }
        } else {
            let mut dcfg = cfg.dtc.clone();
            dcfg.root = cfg.trading.instrument;
            let rep = mia_feeds::sierra::dtc::check(&dcfg);
            let ok = |b: bool| if b { Status::Pass } else { Status::Fail };
            r.push(
                ok(rep.reachable),
                "dtc server",
                format!("{}: {}", rep.peer, if rep.reachable { "reachable" } else { "unreachable" }),
            );
            if rep.reachable {
                r.push(ok(rep.logon_ok), "dtc logon", format!("{} ({})", rep.logon_text, rep.server_name));
                r.push(
                    ok(rep.trading_allowed),
                    "dtc trading",
                    format!("trading allowed: {}, brackets: {}", rep.trading_allowed, rep.brackets_supported),
                );
                // Market data over DTC matters only when DTC carries it: in the mixed set-up
                // (IBKR data, DTC orders) a refusal (Sierra Chart's CME licensing) is a warning.
                let carries_data = cfg.live.data == DataKind::Dtc;
                let sym = match rep.symbol_resolved {
                    Some(true) => Status::Pass,
                    Some(false) if carries_data => Status::Fail,
                    Some(false) | None => Status::Warn,
                };
                let note =
                    if carries_data { "" } else { " (orders only: the market data comes from elsewhere)" };
                r.push(sym, "dtc symbol", format!("{} {}{note}", rep.symbol, rep.market_data_text));
            }
        }
    }
    if brokers_in_use(cfg).is_empty() {
        r.push(Status::Pass, "brokers", "none in use ([live] data = \"synthetic\")");
    }
}

fn check_disk(r: &mut CheckReport, runs: &Path) {
    if let Err(e) = std::fs::create_dir_all(runs) {
        r.push(Status::Fail, "journal disk", format!("{}: cannot create: {e}", runs.display()));
        return;
    }
    let probe = runs.join(".mia-check");
    if let Err(e) = std::fs::write(&probe, b"ok") {
        r.push(Status::Fail, "journal disk", format!("{}: cannot write: {e}", runs.display()));
        return;
    }
    let _ = std::fs::remove_file(&probe);
    match fs4::available_space(runs) {
        Ok(free) => {
            let gib = free as f64 / f64::from(1u32 << 30);
            // A busy RTH session journals ~2-4 GB of MBP-10 inputs (DESIGN §9).
            let status = if gib < 2.0 {
                Status::Fail
            } else if gib < 10.0 {
                Status::Warn
            } else {
                Status::Pass
            };
            r.push(
                status,
                "journal disk",
                format!("{}: {gib:.1} GiB free (need ≥ 2, want ≥ 10)", runs.display()),
            );
        }
        Err(e) => {
            r.push(Status::Warn, "journal disk", format!("{}: free space unknown: {e}", runs.display()))
        }
    }
}

/// Parses a Linux CPU list (`0-3,8,10-11`); one parser for the host checks and the IBKR
/// edge's `idle = "auto"`.
pub use mia_feeds::ibkr::config::parse_cpu_list;

/// The host checks against a sysfs CPU directory (a parameter, so tests use a fake tree).
pub fn check_host(r: &mut CheckReport, cfg: &Config, cpu_dir: &Path) {
    let n = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let hot: Vec<usize> = cfg.pipeline.cores.iter().map(|c| c % n.max(1)).collect();
    let isolated =
        std::fs::read_to_string(cpu_dir.join("isolated")).map(|s| parse_cpu_list(&s)).unwrap_or_default();
    if isolated.is_empty() {
        r.push(
            Status::Warn,
            "isolated cores",
            format!("none (pinned cores {hot:?} share the scheduler; see docs/deployment.md, isolcpus)"),
        );
    } else if hot.iter().all(|c| isolated.contains(c)) {
        r.push(Status::Pass, "isolated cores", format!("{isolated:?}; pinned cores {hot:?} are isolated"));
    } else {
        r.push(
            Status::Warn,
            "isolated cores",
            format!("{isolated:?} isolated but pinned cores are {hot:?} ([pipeline] cores)"),
        );
    }
    let mut govs = Vec::new();
    for c in &hot {
        let p = cpu_dir.join(format!("cpu{c}/cpufreq/scaling_governor"));
        if let Ok(g) = std::fs::read_to_string(&p) {
            govs.push((c, g.trim().to_string()));
        }
    }
    if govs.is_empty() {
        r.push(Status::Warn, "cpu governor", "unknown (no cpufreq in sysfs: a VM or a fixed-frequency host)");
    } else if govs.iter().all(|(_, g)| g == "performance") {
        r.push(Status::Pass, "cpu governor", "performance on every pinned core");
    } else {
        let list: Vec<String> = govs.iter().map(|(c, g)| format!("cpu{c}={g}")).collect();
        r.push(Status::Warn, "cpu governor", format!("{} (want performance)", list.join(", ")));
    }
}

fn check_clock(r: &mut CheckReport) {
    // chrony first (what docs/deployment.md sets up), then systemd-timesyncd.
    if let Ok(out) = std::process::Command::new("chronyc").args(["-c", "tracking"]).output() {
        if out.status.success() {
            let text = String::from_utf8_lossy(&out.stdout);
            // CSV: ref id, name, stratum, ref time, system time offset (s), ...
            let f: Vec<&str> = text.trim().split(',').collect();
            if let Some(off) = f.get(4).and_then(|v| v.parse::<f64>().ok()) {
                let us = off.abs() * 1e6;
                let status = if us < 1_000.0 { Status::Pass } else { Status::Warn };
                r.push(status, "clock sync", format!("chrony: offset {us:.0} µs (want < 1000)"));
                return;
            }
        }
    }
    if let Ok(out) =
        std::process::Command::new("timedatectl").args(["show", "-p", "NTPSynchronized", "--value"]).output()
    {
        if out.status.success() {
            let synced = String::from_utf8_lossy(&out.stdout).trim() == "yes";
            let status = if synced { Status::Pass } else { Status::Warn };
            r.push(
                status,
                "clock sync",
                format!("systemd-timesyncd: synchronized = {synced} (offset not shown; chrony gives it)"),
            );
            return;
        }
    }
    r.push(
        Status::Warn,
        "clock sync",
        "unknown: neither chronyc nor timedatectl answered (see docs/deployment.md)",
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists_parse() {
        assert_eq!(parse_cpu_list("0-2,5,7-8\n"), vec![0, 1, 2, 5, 7, 8]);
        assert_eq!(parse_cpu_list(""), Vec::<usize>::new());
        assert_eq!(parse_cpu_list("x,3"), vec![3]);
    }

    #[test]
    fn host_checks_read_the_cpu_tree() {
        let dir = tempfile::tempdir().expect("tmp");
        let cfg = Config::default(); // cores [0, 1, 1]
        let mut r = CheckReport::default();
        check_host(&mut r, &cfg, dir.path());
        assert!(r.rows.iter().all(|row| row.status == Status::Warn), "nothing known: warnings {r:?}");
        std::fs::write(dir.path().join("isolated"), "0-1\n").expect("write");
        for c in 0..2 {
            let p = dir.path().join(format!("cpu{c}/cpufreq"));
            std::fs::create_dir_all(&p).expect("mkdir");
            std::fs::write(p.join("scaling_governor"), if c == 0 { "performance\n" } else { "powersave\n" })
                .expect("write");
        }
        let mut r = CheckReport::default();
        check_host(&mut r, &cfg, dir.path());
        let n = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        if n >= 2 {
            assert_eq!(r.rows[0].status, Status::Pass, "{r:?}");
            assert_eq!(r.rows[1].status, Status::Warn, "cpu1 is powersave: {r:?}");
            assert!(r.rows[1].detail.contains("cpu1=powersave"), "{r:?}");
        }
    }

    #[test]
    fn spinning_edge_threads_without_cores_of_their_own_are_a_warning() {
        use mia_feeds::ibkr::{IbkrConfig, IdlePolicy};
        let row = |ibkr: &IbkrConfig, cores: usize| {
            let mut r = CheckReport::default();
            check_idle(&mut r, ibkr, cores);
            (r.rows[0].status, r.rows[0].detail.clone())
        };
        let spin = IbkrConfig { idle: IdlePolicy::Spin, ..IbkrConfig::default() };
        let (st, detail) = row(&spin, 2);
        assert_eq!(st, Status::Warn, "{detail}");
        assert!(detail.contains("spin") && detail.contains("2 core"), "{detail}");
        let pinned = IbkrConfig { md_core: 2, orders_core: 3, ..spin.clone() };
        assert_eq!(row(&pinned, 2).0, Status::Warn, "pinned but too few cores");
        assert_eq!(row(&pinned, 8).0, Status::Pass);
        let (st, detail) = row(&IbkrConfig::default(), 2);
        assert_eq!(st, Status::Pass, "{detail}");
        assert!(detail.contains("auto -> yield"), "{detail}");
        let auto_pinned = IbkrConfig { md_core: 2, orders_core: 3, ..IbkrConfig::default() };
        assert!(row(&auto_pinned, 8).1.contains("auto -> spin"));
    }

    #[test]
    fn a_bad_config_lists_every_problem_and_fails() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = dir.path().join("bad.toml");
        std::fs::write(&p, "[trading]\norder_qty = 0\n[live]\nspeed = -1.0\n").expect("write");
        let r = run_checks(Some(&p), &dir.path().join("runs"));
        let cfg_rows: Vec<&Row> = r.rows.iter().filter(|row| row.name == "config").collect();
        assert_eq!(cfg_rows.len(), 2, "{r:?}");
        assert!(cfg_rows.iter().all(|row| row.status == Status::Fail));
        assert!(r.failed());
        let text = r.render("bad.toml");
        assert!(text.contains("trading.order_qty") && text.contains("live.speed"), "{text}");
    }

    #[test]
    fn a_synthetic_config_needs_no_broker() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = dir.path().join("paper.toml");
        std::fs::write(&p, "[live]\ndata = \"synthetic\"\n").expect("write");
        let r = run_checks(Some(&p), &dir.path().join("runs"));
        assert!(r.rows.iter().any(|row| row.name == "brokers" && row.status == Status::Pass), "{r:?}");
        assert!(!r.rows.iter().any(|row| row.name.starts_with("ibkr")), "{r:?}");
        assert!(r.rows.iter().any(|row| row.name == "journal disk"), "{r:?}");
    }
}
