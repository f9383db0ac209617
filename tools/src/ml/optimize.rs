//! `mia optimize`: guarded walk-forward tuning of declared configuration parameters over
//! synthetic or recorded sessions (`docs/ml.md`, "Optimizer").
//!
//! **Sessions.** Synthetic: session `k` (0-based) is the synthetic market of seed `seed + k`
//! over `days` trading days. Recorded (`--data PATH...`): session `k` is the `k`-th path — a
//! run directory (its `journal/`), a journal directory, a DBN file or a `.scid` file — whose
//! market inputs are re-run through the candidate configuration (the recorded configuration is
//! not used). A *job* is one backtest: a parameter point on one session; its result is the
//! session's net P&L (USD, after fees) and round trips.
//!
//! **Parameters.** Any numeric key of the configuration, by its dotted path
//! (`signal.threshold.obi_entry`, an array element as `signal.confidence.weights[2]`), with
//! optional bounds (`path=lo..hi`); the short names `obi_entry`, `delta_entry`, `stop_points`,
//! `target_points` mean `signal.threshold.<name>`. A key holding a TOML integer is an integer
//! parameter. Each parameter moves on a multiplicative lattice: value = `start · 1.1^j`
//! (integer parameters rounded), so one lattice step is a 10 % change; a start value of 0
//! cannot move and is refused. A point outside a parameter's bounds, or that the
//! configuration's validation rejects, is not a candidate (and not in the plan).
//!
//! **Walk-forward with the seed's guardrails.** Fold `f` trains on sessions
//! `[f·test, f·test + train)` and tests on the `test` sessions after them. From the current
//! point `c`, the candidates are `c` and its axis neighbours `c ± e_p` (one parameter moved one
//! step: ≤ 10 % change per step; a candidate that changes a value by more, after rounding, or
//! that the config rejects is skipped). The best candidate on the training sessions (sum of net
//! P&L; ties keep the earlier, `c` first) is adopted only if, on the fold's test sessions, it
//! beats `c` by at least 2 % of `|c|`'s result (and strictly); otherwise the change is rolled
//! back and `c` stays.
//!
//! **Honest out-of-sample figure.** A fold's acceptance reads its test sessions, so the point
//! chosen there is not judged on them: the summary's walk-forward result is the sum over folds
//! of the test result of the point in force *before* the fold's decision (chosen on earlier
//! sessions only), against the start point on the same sessions.
//!
//! **Shards.** `--plan FILE` writes every job any walk-forward path can need (the points within
//! `f + 1` axis steps of the start for fold `f`, on that fold's sessions); `--shard I/N` runs the
//! jobs `i ≡ I (mod N)` as one ordinary process and writes `shard-I.csv`; `--merge DIR...` reads
//! the shard results and runs the same walk-forward over them. The report depends only on the
//! job results (printed as shortest round-trip decimals), so it is byte-identical to the single
//! process run. Single process: each fold's missing jobs run in parallel (`rayon`).

use crate::app::config::Config;
use crate::app::input::Input;
use crate::app::session::{run_session, RunMode, SessionOptions};
use anyhow::{anyhow, bail, Context, Result};
use mia_runtime::pipeline::Schedule;
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// A declared, tunable parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Param {
    /// Name on the command line and in the report.
    pub name: &'static str,
    /// Integer-valued.
    pub integer: bool,
}

/// Short names for `[signal.threshold]` keys (`obi_entry` = `signal.threshold.obi_entry`);
/// any other numeric key is declared by its dotted path.
pub const PARAMS: [Param; 4] = [
    Param { name: "obi_entry", integer: false },
    Param { name: "delta_entry", integer: true },
    Param { name: "stop_points", integer: false },
    Param { name: "target_points", integer: false },
];

/// Largest relative change per step.
pub const MAX_STEP: f64 = 0.10;
/// Least relative out-of-sample improvement to adopt a change.
pub const MIN_IMPROVEMENT: f64 = 0.02;

/// The dotted configuration path of a declared parameter (short names expanded).
pub fn param_path(name: &str) -> String {
    if PARAMS.iter().any(|p| p.name == name) {
        format!("signal.threshold.{name}")
    } else {
        name.to_string()
    }
}

/// One path segment: `key` or `key[i]`.
fn segment(seg: &str) -> Option<(&str, Option<usize>)> {
    match seg.split_once('[') {
        None => Some((seg, None)),
        Some((k, rest)) => Some((k, Some(rest.strip_suffix(']')?.parse().ok()?))),
    }
}

fn lookup_mut<'a>(v: &'a mut toml::Value, path: &str) -> Option<&'a mut toml::Value> {
    let mut cur = v;
    for seg in path.split('.') {
        let (k, i) = segment(seg)?;
        cur = cur.as_table_mut()?.get_mut(k)?;
        if let Some(i) = i {
            cur = cur.as_array_mut()?.get_mut(i)?;
        }
    }
    Some(cur)
}

/// The value of the numeric key `path` in `cfg` and whether it is an integer.
///
/// # Errors
/// The key does not exist or is not a number (named).
pub fn get_param(cfg: &Config, path: &str) -> Result<(f64, bool)> {
    let mut v = toml::Value::try_from(cfg).context("cannot represent the configuration")?;
    match lookup_mut(&mut v, path) {
        Some(toml::Value::Float(f)) => Ok((*f, false)),
        Some(toml::Value::Integer(i)) => Ok((*i as f64, true)),
        Some(other) => bail!("parameter {path}: is a {}, not a number", other.type_str()),
        None => bail!(
            "parameter {path}: no such key in the configuration (a dotted path like signal.threshold.obi_entry or signal.confidence.weights[2]; short names: {})",
            PARAMS.iter().map(|d| d.name).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// `cfg` with the numeric keys `paths` set to `values` (integers rounded); `None` when the
/// result is not a valid configuration.
fn set_params(cfg: &Config, paths: &[String], values: &[f64]) -> Option<Config> {
    let mut v = toml::Value::try_from(cfg).ok()?;
    for (path, &x) in paths.iter().zip(values) {
        let slot = lookup_mut(&mut v, path)?;
        *slot = match slot {
            toml::Value::Integer(_) => toml::Value::Integer(x.round() as i64),
            toml::Value::Float(_) => toml::Value::Float(x),
            _ => return None,
        };
    }
    let text = toml::to_string(&v).ok()?;
    let c = Config::from_toml(&text, "an optimize candidate").ok()?;
    c.validate().ok().map(|_| c)
}

/// What to optimize (written into the plan, so shards need nothing else).
#[derive(Clone, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// The base configuration (TOML).
    pub config_toml: String,
    /// Tuned parameters: short names ([`PARAMS`]) or dotted configuration paths.
    pub params: Vec<String>,
    /// Their start values (from the base configuration).
    pub start: Vec<f64>,
    /// Per parameter: integer-valued (absent: every parameter as in [`PARAMS`], else real).
    #[serde(default)]
    pub integer: Vec<bool>,
    /// Per parameter: inclusive bounds `[lo, hi]` (absent or `null`: unbounded).
    #[serde(default)]
    pub bounds: Vec<Option<[f64; 2]>>,
    /// Recorded sessions (paths, session `k` = `data[k]`); empty: synthetic sessions.
    #[serde(default)]
    pub data: Vec<String>,
    /// Seed of session 0.
    pub seed: u64,
    /// Sessions.
    pub sessions: usize,
    /// Trading days per session.
    pub days: u32,
    /// Training sessions per fold.
    pub train: usize,
    /// Test sessions per fold (and the step between folds).
    pub test: usize,
    /// Market events per backtest (None: whole sessions).
    pub max_events: Option<u64>,
}

/// A lattice point: one step count per parameter.
pub type Point = Vec<i32>;

/// One backtest's result.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct JobResult {
    /// Net P&L after fees, USD.
    pub net_usd: f64,
    /// Round trips.
    pub trades: u64,
}

impl Spec {
    /// Checks the spec and parses its configuration.
    ///
    /// # Errors
    /// Unknown parameter, bad session counts, invalid configuration.
    pub fn config(&self) -> Result<Config> {
        let cfg = Config::from_toml(&self.config_toml, "the optimize spec's configuration")?;
        if self.params.is_empty() || self.params.len() != self.start.len() {
            bail!("optimize: {} parameters, {} start values", self.params.len(), self.start.len());
        }
        for (i, p) in self.params.iter().enumerate() {
            let (v, _) = get_param(&cfg, &param_path(p)).map_err(|e| anyhow!("optimize: {e}"))?;
            if v == 0.0 {
                bail!("optimize: parameter {p}: its start value is 0, which a ×1.1 lattice cannot move");
            }
            if let Some(Some([lo, hi])) = self.bounds.get(i) {
                if !(lo <= hi && (*lo..=*hi).contains(&self.start[i])) {
                    bail!(
                        "optimize: parameter {p}: start value {} is outside its bounds {lo}..{hi}",
                        self.start[i]
                    );
                }
            }
        }
        if !self.data.is_empty() && self.data.len() != self.sessions {
            bail!("optimize: {} recorded sessions but sessions = {}", self.data.len(), self.sessions);
        }
        if self.train == 0 || self.test == 0 || self.sessions < self.train + self.test {
            bail!(
                "optimize: {} sessions cannot hold one fold of {} training + {} test sessions",
                self.sessions,
                self.train,
                self.test
            );
        }
        Ok(cfg)
    }

    /// Folds: `(train sessions, test sessions)`.
    pub fn folds(&self) -> Vec<(std::ops::Range<usize>, std::ops::Range<usize>)> {
        let mut out = Vec::new();
        let mut s = 0;
        while s + self.train + self.test <= self.sessions {
            out.push((s..s + self.train, s + self.train..s + self.train + self.test));
            s += self.test;
        }
        out
    }

    /// The parameter values of `p`, or `None` when a step changes a value by more than
    /// [`MAX_STEP`] after rounding or leaves the lattice's valid range.
    pub fn values(&self, p: &Point) -> Vec<f64> {
        self.params
            .iter()
            .zip(&self.start)
            .zip(p)
            .enumerate()
            .map(|(i, ((name, &s), &j))| {
                let v = s * 1.1f64.powi(j);
                let integer = match self.integer.get(i) {
                    Some(&b) => b,
                    None => PARAMS.iter().any(|d| d.name == name && d.integer),
                };
                if integer {
                    v.round()
                } else {
                    v
                }
            })
            .collect()
    }

    /// The configuration at `p` (`None`: a value is outside its bounds, or the configuration
    /// rejects it).
    pub fn config_at(&self, base: &Config, p: &Point) -> Option<Config> {
        let values = self.values(p);
        for (i, v) in values.iter().enumerate() {
            if let Some(Some([lo, hi])) = self.bounds.get(i) {
                if !(lo..=hi).contains(&v) {
                    return None;
                }
            }
        }
        let paths: Vec<String> = self.params.iter().map(|n| param_path(n)).collect();
        set_params(base, &paths, &values)
    }

    /// The input of session `k`: synthetic seed `seed + k`, or the `k`-th recorded path (a
    /// run directory means its `journal/`).
    pub fn session_input(&self, k: usize) -> Result<Input> {
        match self.data.get(k) {
            None => Ok(Input::Synthetic { seed: self.seed + k as u64, days: self.days }),
            Some(p) => {
                let p = Path::new(p);
                let journal = p.join("journal");
                Input::from_path(if journal.is_dir() { &journal } else { p })
            }
        }
    }

    /// Every job any walk-forward path can need, in a fixed order.
    pub fn plan(&self) -> Vec<(Point, usize)> {
        let n = self.params.len();
        let base = self.config().ok();
        let mut jobs = std::collections::BTreeSet::new();
        for (f, (tr, te)) in self.folds().into_iter().enumerate() {
            let radius = f as i32 + 1;
            for p in ball(n, radius) {
                if base.as_ref().is_some_and(|b| self.config_at(b, &p).is_none()) {
                    continue; // never a candidate
                }
                for s in tr.clone().chain(te.clone()) {
                    jobs.insert((p.clone(), s));
                }
            }
        }
        jobs.into_iter().collect()
    }
}

/// Lattice points within `r` axis steps (L1 norm) of the origin, in lexicographic order.
fn ball(n: usize, r: i32) -> Vec<Point> {
    let mut out = Vec::new();
    let mut cur = vec![0i32; n];
    fn rec(i: usize, left: i32, cur: &mut Point, out: &mut Vec<Point>) {
        if i == cur.len() {
            out.push(cur.clone());
            return;
        }
        for j in -left..=left {
            cur[i] = j;
            rec(i + 1, left - j.abs(), cur, out);
        }
        cur[i] = 0;
    }
    rec(0, r, &mut cur, &mut out);
    out
}

fn key(p: &Point) -> String {
    p.iter().map(|j| j.to_string()).collect::<Vec<_>>().join(";")
}

fn parse_key(s: &str) -> Result<Point> {
    s.split(';').map(|x| x.parse::<i32>().map_err(|_| anyhow!("bad lattice point {s:?}"))).collect()
}

/// Runs one job.
///
/// # Errors
/// The backtest failed.
pub fn run_job(spec: &Spec, base: &Config, p: &Point, session: usize) -> Result<JobResult> {
    let Some(cfg) = spec.config_at(base, p) else {
        bail!("point {} is not a valid configuration", key(p));
    };
    let opts = SessionOptions {
        input: spec.session_input(session)?,
        config: cfg,
        mode: Some(Schedule::Inline),
        out: None,
        progress: false,
        run_mode: RunMode::Backtest,
        pace: None,
        max_events: spec.max_events,
        profile: None,
        on_progress: None,
    };
    let s = run_session(&opts).with_context(|| format!("job {} on session {session}", key(p)))?;
    Ok(JobResult { net_usd: s.net_pnl_usd, trades: s.trades })
}

/// Where job results come from: computed (single process) or read (merge).
pub trait Jobs {
    /// The results of `jobs`, in order.
    ///
    /// # Errors
    /// A job failed or is missing.
    fn results(&mut self, jobs: &[(Point, usize)]) -> Result<Vec<JobResult>>;
}

/// Computes jobs in parallel (rayon), caching them, with a progress bar on a terminal.
pub struct Compute<'a> {
    spec: &'a Spec,
    base: Config,
    cache: BTreeMap<(Point, usize), JobResult>,
    bar: indicatif::ProgressBar,
}

impl<'a> Compute<'a> {
    /// A computer for `spec`.
    ///
    /// # Errors
    /// The spec's configuration is invalid.
    pub fn new(spec: &'a Spec) -> Result<Self> {
        Ok(Self { spec, base: spec.config()?, cache: BTreeMap::new(), bar: progress_bar(0) })
    }
}

fn progress_bar(len: u64) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    if let Ok(s) =
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} backtests  {elapsed} (eta {eta})")
    {
        bar.set_style(s);
    }
    bar
}

impl Jobs for Compute<'_> {
    fn results(&mut self, jobs: &[(Point, usize)]) -> Result<Vec<JobResult>> {
        let todo: Vec<&(Point, usize)> = {
            let mut seen = std::collections::BTreeSet::new();
            jobs.iter().filter(|j| !self.cache.contains_key(*j) && seen.insert((*j).clone())).collect()
        };
        self.bar.inc_length(todo.len() as u64);
        let (spec, base, bar) = (self.spec, &self.base, &self.bar);
        let done: Vec<Result<JobResult>> = todo
            .par_iter()
            .map(|(p, s)| {
                let r = run_job(spec, base, p, *s);
                bar.inc(1);
                r
            })
            .collect();
        for (j, r) in todo.into_iter().zip(done) {
            self.cache.insert(j.clone(), r?);
        }
        jobs.iter()
            .map(|j| {
                self.cache.get(j).copied().ok_or_else(|| anyhow!("internal: job {} not computed", key(&j.0)))
            })
            .collect()
    }
}

/// Results read from shard files.
pub struct Table(pub BTreeMap<(Point, usize), JobResult>);

impl Jobs for Table {
    fn results(&mut self, jobs: &[(Point, usize)]) -> Result<Vec<JobResult>> {
        jobs.iter()
            .map(|j| {
                self.0.get(j).copied().ok_or_else(|| {
                    anyhow!(
                        "job {} on session {} is in no shard result (run every shard of the plan)",
                        key(&j.0),
                        j.1
                    )
                })
            })
            .collect()
    }
}

/// The walk-forward's report: `trials.csv` (every trial) and `summary.txt`.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// One line per trial.
    pub trials_csv: String,
    /// The decisions and the out-of-sample comparison.
    pub summary: String,
    /// The point in force at the end.
    pub final_point: Point,
}

/// Runs the guarded walk-forward over `jobs`.
///
/// # Errors
/// A job failed, or the spec is invalid.
pub fn walk_forward(spec: &Spec, jobs: &mut dyn Jobs) -> Result<Report> {
    let base = spec.config()?;
    let n = spec.params.len();
    let mut trials = format!("fold,role,point,{},sessions,net_usd,trades,decision\n", spec.params.join(","));
    let mut summary = String::new();
    let start: Point = vec![0; n];
    let mut cur = start.clone();
    let (mut wf_oos, mut static_oos) = (0.0, 0.0);
    let fmt_vals = |p: &Point| spec.values(p).iter().map(|v| format!("{v}")).collect::<Vec<_>>().join(",");
    let sessions = if spec.data.is_empty() {
        format!("{} sessions (seed {}.., {} day(s) each)", spec.sessions, spec.seed, spec.days)
    } else {
        format!("{} recorded sessions ({})", spec.sessions, spec.data.join(" "))
    };
    let _ = writeln!(
        summary,
        "optimize: {sessions}, folds of {} train + {} test sessions, params {} from {}",
        spec.train,
        spec.test,
        spec.params.join(","),
        fmt_vals(&start)
    );
    for (f, (tr, te)) in spec.folds().into_iter().enumerate() {
        let cur_vals = spec.values(&cur);
        let mut cands = vec![cur.clone()];
        for i in 0..n {
            for d in [1, -1] {
                let mut p = cur.clone();
                p[i] += d;
                let v = spec.values(&p);
                let step_ok =
                    v.iter().zip(&cur_vals).all(|(a, b)| (a - b).abs() <= MAX_STEP * b.abs() + 1e-12);
                if step_ok && spec.config_at(&base, &p).is_some() {
                    cands.push(p);
                }
            }
        }
        let train_jobs: Vec<(Point, usize)> =
            cands.iter().flat_map(|p| tr.clone().map(move |s| (p.clone(), s))).collect();
        let res = jobs.results(&train_jobs)?;
        let mut scores = Vec::with_capacity(cands.len());
        for (ci, p) in cands.iter().enumerate() {
            let r = &res[ci * tr.len()..(ci + 1) * tr.len()];
            let net: f64 = r.iter().map(|x| x.net_usd).sum();
            let trades: u64 = r.iter().map(|x| x.trades).sum();
            scores.push(net);
            let _ = writeln!(
                trials,
                "{f},train,{},{},{}-{},{net},{trades},",
                key(p),
                fmt_vals(p),
                tr.start,
                tr.end - 1
            );
        }
        let mut best = 0;
        for (i, &s) in scores.iter().enumerate() {
            if s > scores[best] {
                best = i;
            }
        }
        let test_points: Vec<Point> = if best == 0 {
            vec![cur.clone(), start.clone()]
        } else {
            vec![cur.clone(), cands[best].clone(), start.clone()]
        };
        let test_jobs: Vec<(Point, usize)> =
            test_points.iter().flat_map(|p| te.clone().map(move |s| (p.clone(), s))).collect();
        let tres = jobs.results(&test_jobs)?;
        let sum = |k: usize| -> (f64, u64) {
            let r = &tres[k * te.len()..(k + 1) * te.len()];
            (r.iter().map(|x| x.net_usd).sum(), r.iter().map(|x| x.trades).sum())
        };
        let (cur_t, cur_n) = sum(0);
        let (start_t, _) = sum(test_points.len() - 1);
        wf_oos += cur_t;
        static_oos += start_t;
        let decision = if best == 0 {
            let _ = writeln!(
                trials,
                "{f},test,{},{},{}-{},{cur_t},{cur_n},keep",
                key(&cur),
                fmt_vals(&cur),
                te.start,
                te.end - 1
            );
            "keep (no candidate beat the current point on the training sessions)".to_string()
        } else {
            let (best_t, best_n) = sum(1);
            let accept = best_t > cur_t && best_t - cur_t >= MIN_IMPROVEMENT * cur_t.abs();
            let _ = writeln!(
                trials,
                "{f},test,{},{},{}-{},{cur_t},{cur_n},current",
                key(&cur),
                fmt_vals(&cur),
                te.start,
                te.end - 1
            );
            let p = cands[best].clone();
            let _ = writeln!(
                trials,
                "{f},test,{},{},{}-{},{best_t},{best_n},{}",
                key(&p),
                fmt_vals(&p),
                te.start,
                te.end - 1,
                if accept { "adopted" } else { "rolled_back" }
            );
            if accept {
                cur = p;
                format!("adopted {} (test {best_t:.2} vs {cur_t:.2} USD)", fmt_vals(&cur))
            } else {
                format!("rolled back {} (test {best_t:.2} vs {cur_t:.2} USD: < +2 %)", fmt_vals(&p))
            }
        };
        let _ = writeln!(
            summary,
            "fold {f}: train {}-{}, test {}-{}: {decision}",
            tr.start,
            tr.end - 1,
            te.start,
            te.end - 1
        );
    }
    let _ = writeln!(summary, "final: {} = {}", spec.params.join(","), fmt_vals(&cur));
    let _ = writeln!(
        summary,
        "out of sample (each fold's test sessions, point chosen before the fold): walk-forward {wf_oos:.2} USD, start point {static_oos:.2} USD"
    );
    Ok(Report { trials_csv: trials, summary, final_point: cur })
}

/// The plan file: the spec and its job list.
#[derive(Clone, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// What to optimize.
    pub spec: Spec,
    /// `(point, session)` jobs; a shard `I/N` runs those with index `≡ I (mod N)`.
    pub jobs: Vec<(Point, usize)>,
}

/// Writes the report into `out` (`trials.csv`, `summary.txt`).
///
/// # Errors
/// The directory or a file cannot be written.
pub fn write_report(r: &Report, out: &Path) -> Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("{}: cannot create", out.display()))?;
    for (name, text) in [("trials.csv", &r.trials_csv), ("summary.txt", &r.summary)] {
        let p = out.join(name);
        std::fs::write(&p, text).with_context(|| format!("{}: cannot write", p.display()))?;
    }
    Ok(())
}

/// One `--params` entry: `name` or `name=lo..hi` → (name, bounds).
///
/// # Errors
/// Malformed bounds (the entry named).
pub fn parse_param(entry: &str) -> Result<(String, Option<[f64; 2]>)> {
    let Some((name, b)) = entry.split_once('=') else { return Ok((entry.trim().to_string(), None)) };
    let bad = || anyhow!("--params: {entry:?}: bounds are written name=lo..hi (numbers, lo <= hi)");
    let (lo, hi) = b.split_once("..").ok_or_else(bad)?;
    let (lo, hi): (f64, f64) = (lo.trim().parse().map_err(|_| bad())?, hi.trim().parse().map_err(|_| bad())?);
    if !(lo.is_finite() && hi.is_finite() && lo <= hi) {
        return Err(bad());
    }
    Ok((name.trim().to_string(), Some([lo, hi])))
}

/// Builds a spec from a configuration and the command line. `params` is a comma-separated
/// list of [`parse_param`] entries; with `data` (recorded sessions), `sessions` is their
/// count and `seed`/`days` are unused.
///
/// # Errors
/// Unknown or non-numeric parameters, bad bounds, bad session counts.
#[allow(clippy::too_many_arguments)]
pub fn spec_from(
    cfg: &Config,
    params: &str,
    seed: u64,
    sessions: usize,
    days: u32,
    train: usize,
    test: usize,
    max_events: Option<u64>,
    data: &[PathBuf],
) -> Result<Spec> {
    let mut names = Vec::new();
    let mut bounds = Vec::new();
    let mut start = Vec::new();
    let mut integer = Vec::new();
    for entry in params.split(',').filter(|s| !s.trim().is_empty()) {
        let (n, b) = parse_param(entry)?;
        let (v, int) = get_param(cfg, &param_path(&n)).map_err(|e| anyhow!("--params: {e}"))?;
        names.push(n);
        bounds.push(b);
        start.push(v);
        integer.push(int);
    }
    for d in data {
        if !d.exists() {
            bail!("--data: {}: no such file or directory", d.display());
        }
    }
    let sessions = if data.is_empty() { sessions } else { data.len() };
    let spec = Spec {
        config_toml: toml::to_string(cfg).context("cannot serialize the configuration")?,
        params: names,
        start,
        integer,
        bounds,
        data: data.iter().map(|p| p.display().to_string()).collect(),
        seed,
        sessions,
        days,
        train,
        test,
        max_events,
    };
    spec.config()?;
    Ok(spec)
}

/// `mia optimize` in one process.
///
/// # Errors
/// See [`walk_forward`]; the report cannot be written.
pub fn run_single(spec: &Spec, out: &Path) -> Result<Report> {
    let mut c = Compute::new(spec)?;
    let r = walk_forward(spec, &mut c)?;
    c.bar.finish_and_clear();
    write_report(&r, out)?;
    Ok(r)
}

/// `--plan FILE`: writes the plan.
///
/// # Errors
/// The file cannot be written.
pub fn write_plan(spec: &Spec, path: &Path) -> Result<usize> {
    let plan = Plan { spec: spec.clone(), jobs: spec.plan() };
    let text = serde_json::to_string_pretty(&plan).context("cannot serialize the plan")?;
    std::fs::write(path, text + "\n").with_context(|| format!("{}: cannot write", path.display()))?;
    Ok(plan.jobs.len())
}

/// Reads a plan file.
///
/// # Errors
/// Unreadable or malformed (named).
pub fn read_plan(path: &Path) -> Result<Plan> {
    let text = std::fs::read_to_string(path).with_context(|| format!("{}: cannot read", path.display()))?;
    serde_json::from_str(&text).map_err(|e| anyhow!("{}: not a plan: {e}", path.display()))
}

/// Parses `I/N`.
///
/// # Errors
/// Not `I/N` with `I < N`.
pub fn parse_shard(s: &str) -> Result<(usize, usize)> {
    let (i, n) = s.split_once('/').ok_or_else(|| anyhow!("--shard {s:?}: expected I/N"))?;
    let (i, n): (usize, usize) = (
        i.parse().map_err(|_| anyhow!("--shard {s:?}: I"))?,
        n.parse().map_err(|_| anyhow!("--shard {s:?}: N"))?,
    );
    if n == 0 || i >= n {
        bail!("--shard {s:?}: need 0 <= I < N");
    }
    Ok((i, n))
}

/// `--shard I/N`: runs the shard's jobs (in parallel) and writes `OUT/shard-I.csv`.
///
/// # Errors
/// A job failed; the file cannot be written.
pub fn run_shard(plan: &Plan, shard: (usize, usize), out: &Path) -> Result<usize> {
    let base = plan.spec.config()?;
    let mine: Vec<&(Point, usize)> =
        plan.jobs.iter().enumerate().filter(|(k, _)| k % shard.1 == shard.0).map(|(_, j)| j).collect();
    let bar = progress_bar(mine.len() as u64);
    let res: Vec<Result<JobResult>> = mine
        .par_iter()
        .map(|(p, s)| {
            let r = run_job(&plan.spec, &base, p, *s);
            bar.inc(1);
            r
        })
        .collect();
    bar.finish_and_clear();
    let mut text = String::from("point,session,net_usd,trades\n");
    for (j, r) in mine.iter().zip(res) {
        let r = r?;
        let _ = writeln!(text, "{},{},{},{}", key(&j.0), j.1, r.net_usd, r.trades);
    }
    std::fs::create_dir_all(out).with_context(|| format!("{}: cannot create", out.display()))?;
    let p = out.join(format!("shard-{}.csv", shard.0));
    std::fs::write(&p, text).with_context(|| format!("{}: cannot write", p.display()))?;
    Ok(mine.len())
}

/// `--merge DIR...`: reads every `shard-*.csv` and runs the walk-forward over them.
///
/// # Errors
/// A file is malformed, two shards disagree on a job, or a needed job is missing.
pub fn merge(plan: &Plan, dirs: &[PathBuf], out: &Path) -> Result<Report> {
    let mut table = BTreeMap::new();
    for d in dirs {
        let mut files: Vec<PathBuf> = std::fs::read_dir(d)
            .with_context(|| format!("{}: cannot read", d.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("shard-"))
                    && p.extension().is_some_and(|x| x == "csv")
            })
            .collect();
        files.sort();
        for f in files {
            let text =
                std::fs::read_to_string(&f).with_context(|| format!("{}: cannot read", f.display()))?;
            for (i, line) in text.lines().enumerate().skip(1) {
                let c: Vec<&str> = line.split(',').collect();
                let bad =
                    || anyhow!("{}: line {}: expected point,session,net_usd,trades", f.display(), i + 1);
                if c.len() != 4 {
                    return Err(bad());
                }
                let job = (parse_key(c[0]).map_err(|_| bad())?, c[1].parse::<usize>().map_err(|_| bad())?);
                let r = JobResult {
                    net_usd: c[2].parse().map_err(|_| bad())?,
                    trades: c[3].parse().map_err(|_| bad())?,
                };
                if let Some(old) = table.insert(job.clone(), r) {
                    if old != r {
                        bail!(
                            "{}: job {} on session {} disagrees with another shard",
                            f.display(),
                            key(&job.0),
                            job.1
                        );
                    }
                }
            }
        }
    }
    let r = walk_forward(&plan.spec, &mut Table(table))?;
    write_report(&r, out)?;
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(sessions: usize) -> Spec {
        spec_from(&Config::default(), "obi_entry,stop_points", 1, sessions, 1, 1, 1, Some(1), &[])
            .expect("spec")
    }

    #[test]
    fn any_numeric_key_is_a_parameter_with_bounds() {
        let cfg = Config::default();
        assert_eq!(param_path("obi_entry"), "signal.threshold.obi_entry");
        let (w, int) = get_param(&cfg, "signal.confidence.weights[2]").expect("array element");
        assert_eq!((w, int), (cfg.signal.confidence.weights[2], false));
        assert!(get_param(&cfg, "signal.threshold.delta_entry").expect("int").1);
        assert!(get_param(&cfg, "signal.threshold.nope").unwrap_err().to_string().contains("no such key"));
        assert!(get_param(&cfg, "signal.strategy").unwrap_err().to_string().contains("not a number"));
        assert_eq!(parse_param("a.b=1..2.5").expect("bounds"), ("a.b".into(), Some([1.0, 2.5])));
        assert!(parse_param("a.b=3..2").is_err() && parse_param("a.b=x").is_err());

        let spec = spec_from(
            &cfg,
            "obi_entry,signal.confidence.weights[2],signal.threshold.delta_entry=100..180",
            1,
            3,
            1,
            1,
            1,
            Some(1),
            &[],
        )
        .expect("spec");
        let base = spec.config().expect("base");
        // One step up on each axis sets exactly those keys (the integer one rounded).
        let c = spec.config_at(&base, &vec![1, 1, 1]).expect("valid");
        let t = &c.signal.threshold;
        assert_eq!(t.obi_entry, cfg.signal.threshold.obi_entry * 1.1);
        assert_eq!(c.signal.confidence.weights[2], cfg.signal.confidence.weights[2] * 1.1);
        assert_eq!(t.delta_entry, (cfg.signal.threshold.delta_entry as f64 * 1.1).round() as i64);
        assert_eq!(c.signal.confidence.weights[1], cfg.signal.confidence.weights[1], "others untouched");
        // Outside the bounds: not a candidate, and not in the plan.
        let far = vec![0, 0, 3];
        assert!(spec.values(&far)[2] > 180.0 && spec.config_at(&base, &far).is_none());
        assert!(spec.plan().iter().all(|(p, _)| spec.config_at(&base, p).is_some()));
        let e = spec_from(&cfg, "signal.threshold.obi_entry=0.9..1", 1, 3, 1, 1, 1, None, &[]).unwrap_err();
        assert!(e.to_string().contains("outside its bounds"), "{e}");
    }

    #[test]
    fn ball_counts_and_folds() {
        assert_eq!(ball(2, 1).len(), 5);
        assert_eq!(ball(2, 2).len(), 13);
        assert_eq!(ball(4, 2).len(), 1 + 8 + 32);
        let s = spec(4);
        assert_eq!(s.folds(), vec![(0..1, 1..2), (1..2, 2..3), (2..3, 3..4)]);
        // Fold f needs points within f + 1 steps on its two sessions.
        let plan = s.plan();
        assert!(plan.contains(&(vec![0, 3], 2)) && plan.contains(&(vec![0, 3], 3)));
        assert!(!plan.contains(&(vec![0, 3], 1)) && plan.contains(&(vec![0, 2], 1)));
    }

    /// A synthetic objective: the walk-forward climbs towards the optimum one ≤ 10 % step per
    /// fold, and rolls a change back when the test sessions do not confirm it by 2 %.
    struct Fake(fn(&Point, usize) -> f64);
    impl Jobs for Fake {
        fn results(&mut self, jobs: &[(Point, usize)]) -> Result<Vec<JobResult>> {
            Ok(jobs.iter().map(|(p, s)| JobResult { net_usd: (self.0)(p, *s), trades: 1 }).collect())
        }
    }

    #[test]
    fn guardrails_step_and_rollback() {
        let s = spec(5);
        // Better with more obi steps, on every session: adopted each fold, one step at a time.
        let r = walk_forward(&s, &mut Fake(|p, _| 100.0 + 10.0 * f64::from(p[0]))).expect("wf");
        assert_eq!(r.final_point, vec![4, 0]);
        assert_eq!(r.trials_csv.matches(",adopted").count(), 4);
        // Better on training sessions (even) only: every change is rolled back.
        let r = walk_forward(
            &s,
            &mut Fake(|p, s| if s % 2 == 0 { 100.0 + f64::from(p[0]) } else { 100.0 - f64::from(p[0]) }),
        )
        .expect("wf");
        assert!(r.trials_csv.contains(",rolled_back"), "{}", r.trials_csv);
        // A gain under 2 % out of sample is not enough.
        let r = walk_forward(&s, &mut Fake(|p, _| 1000.0 + f64::from(p[0]))).expect("wf");
        assert_eq!(r.final_point, vec![0, 0], "{}", r.summary);
        let vals = s.values(&vec![1, -1]);
        assert!((vals[0] - 0.55).abs() < 1e-12 && (vals[1] - 2.0 / 1.1).abs() < 1e-12, "{vals:?}");
    }
}
