//! `mia`: backtest, replay, generate and profile the MIA trading pipeline; `mia kill` stops a
//! running session.

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use mia_runtime::pipeline::Schedule;
use mia_tools::app::config::Config;
use mia_tools::app::input::Input;
use mia_tools::app::live::{run_live_view, BrokerKind, DataKind, LiveMode, LiveOptions};
use mia_tools::app::session::{default_out_dir, run_session, GenSchema, RunMode, SessionOptions};
use mia_tools::app::summary::render_summary;
use std::path::PathBuf;
use std::process::ExitCode;

#[cfg(feature = "count-alloc")]
#[global_allocator]
static GLOBAL: mia_tools::alloc::CountingAlloc = mia_tools::alloc::counting_mimalloc();

#[cfg(not(feature = "count-alloc"))]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// MIA — automated ES futures trading: order flow + SPX options positioning.
#[derive(Parser, Debug)]
#[command(name = "mia", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum ScheduleArg {
    Inline,
    Threaded,
}

impl From<ScheduleArg> for Schedule {
    fn from(m: ScheduleArg) -> Self {
        match m {
            ScheduleArg::Inline => Schedule::Inline,
            ScheduleArg::Threaded => Schedule::Threaded,
        }
    }
}

/// Options shared by the commands that run the pipeline.
#[derive(Args, Debug)]
struct RunArgs {
    /// Pipeline mode (default: the config's, inline).
    #[arg(long, value_enum)]
    mode: Option<ScheduleArg>,
    /// Output directory (default: a new folder under runs/).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Configuration file (default: built-in defaults = config/default.toml).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Stop after this many market events.
    #[arg(long)]
    max_events: Option<u64>,
    /// Pace the feed at this many events per second of wall time (latency measurement).
    #[arg(long)]
    pace: Option<u64>,
    /// Signal-engine profile: backtest (default for backtest/replay), paper (paper, collect) or
    /// production (live).
    #[arg(long)]
    profile: Option<String>,
}

/// Options of the live commands (paper, live, collect).
#[derive(Args, Debug)]
struct LiveArgs {
    /// Market data: synthetic, ibkr or dtc (default: `[live] data`).
    #[arg(long)]
    source: Option<String>,
    /// Synthetic source: event time per wall time (1 = real time; default `[live] speed`).
    #[arg(long)]
    speed: Option<f64>,
    /// Synthetic source: seed.
    #[arg(long, default_value_t = mia_tools::app::input::DEFAULT_SEED)]
    seed: u64,
    /// Synthetic source: trading days.
    #[arg(long, default_value_t = 1)]
    days: u32,
    /// Show the live terminal view (the `mia status` frame) while the session runs; notices go
    /// to RUN_DIR/session.log.
    #[arg(long)]
    tui: bool,
    /// Follow this Sierra Chart `.scid` file while it grows (implies `--source scid`).
    #[arg(long)]
    follow: Option<PathBuf>,
    /// ML entry filter from this ensemble file, hot-swapped whenever the file changes
    /// (sets `[ml] model` and `[ml] watch = true`; docs/ml.md).
    #[arg(long)]
    watch_model: Option<PathBuf>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Backtest the decision path on the built-in synthetic session (default) or a data file.
    Backtest {
        /// A DBN file, a journal directory, a Sierra Chart `.scid` or `.depth` file; default:
        /// the synthetic ES session.
        #[arg(long)]
        data: Option<PathBuf>,
        /// A Sierra Chart `.depth` file merged in time with the `.scid` file of `--data`.
        #[arg(long)]
        depth: Option<PathBuf>,
        /// Seed of the synthetic session.
        #[arg(long, default_value_t = mia_tools::app::input::DEFAULT_SEED)]
        seed: u64,
        /// Trading days of the synthetic session (1–60; weekends and holidays skipped).
        #[arg(long, default_value_t = 1)]
        days: u32,
        /// Run the monitor as a live session does (`[monitor]`: /metrics, Discord, status.json).
        #[arg(long)]
        monitor: bool,
        /// ML entry filter: an ensemble written by `mia train` (overrides `[ml] model`).
        #[arg(long)]
        model: Option<PathBuf>,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Replay a journal directory or a DBN file through the same pipeline.
    Replay {
        /// Journal directory, DBN file, Sierra Chart `.scid` or `.depth` file.
        path: PathBuf,
        /// A Sierra Chart `.depth` file merged in time with the `.scid` file replayed.
        #[arg(long)]
        depth: Option<PathBuf>,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Write the synthetic session as a standard DBN file (MBP-10, or MBO with `--schema mbo`).
    Gen {
        /// Seed of the synthetic session.
        #[arg(long, default_value_t = mia_tools::app::input::DEFAULT_SEED)]
        seed: u64,
        /// Trading days of the synthetic session (1–60; weekends and holidays skipped).
        #[arg(long, default_value_t = 1)]
        days: u32,
        /// Output DBN file.
        #[arg(long)]
        out: PathBuf,
        /// Schema: mbp-10 (default) or mbo (individual orders whose 10-level view equals the
        /// MBP-10 session).
        #[arg(long, default_value = "mbp-10")]
        schema: String,
    },
    /// Recall and precision of the signal engine's pattern detectors on planted, labelled
    /// episodes of the synthetic market (one trading day per seed; docs/strategy.md).
    Episodes {
        /// Seeds, `A-B` or one number.
        #[arg(long, default_value = "1-20")]
        seeds: String,
        /// Configuration file (default: built-in defaults = config/default.toml).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Output directory (default: a new folder under runs/); one `seed-N` folder per seed.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Latency percentiles and plot of a run directory (or its latency/ folder).
    Perf {
        /// A run directory written by backtest/replay, or its latency/ folder.
        path: PathBuf,
    },
    /// The feature snapshots of a run (1-minute closes and signals): statistics, or CSV.
    Features {
        /// A run directory written by backtest/replay (or its features/ folder).
        run_dir: PathBuf,
        /// Write the snapshots as CSV (header names every feature; invalid = empty cell).
        #[arg(long)]
        csv: Option<PathBuf>,
    },
    /// Gamma-exposure levels of a Cboe option-chain CSV: zero gamma, walls, max pain, P/C.
    Gex(mia_tools::gex::GexArgs),
    /// Paper trading: live data (or the synthetic session in real time), simulated fills,
    /// everything journaled. Ctrl-C flattens (per `[live] on_stop`) and stops.
    Paper {
        #[command(flatten)]
        live: LiveArgs,
    },
    /// Live trading: real orders through a broker. Needs `[live] enabled = true` in the config
    /// AND `--live`.
    Live {
        /// Confirms real orders (the config must enable them too).
        #[arg(long)]
        live: bool,
        /// Broker for orders: ibkr or dtc (default: `[live] venue`).
        #[arg(long)]
        venue: Option<String>,
        #[command(flatten)]
        args: LiveArgs,
    },
    /// Record live data (and the chain) to the journal with trading off.
    Collect {
        #[command(flatten)]
        live: LiveArgs,
    },
    /// Pre-flight checks: config, broker reachability and version, account, contract month,
    /// clock, disk, and the host's low-latency set-up; a pass/fail table and exit code.
    Check {
        /// Configuration file (default: built-in defaults).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Run directory root whose disk is checked.
        #[arg(long, default_value = "runs")]
        runs: PathBuf,
    },
    /// Statistics, post-mortem and a self-contained HTML report of run directories (side by
    /// side when several), with trades_enriched.csv and trade_snapshots.csv.
    Report(mia_tools::report::ReportArgs),
    /// Copy run directories into a timestamped folder with a SHA256SUMS manifest; rotate old
    /// backups; verify checksums and every journal frame.
    Backup(mia_tools::backup::BackupArgs),
    /// Live status of a running session (RUN_DIR/status.json, written by its monitor): position,
    /// P&L, risk, orders, signals, gamma, feed health, latency. Refreshes every second.
    Status {
        /// The session's run directory (default: the newest directory under runs/).
        run_dir: Option<PathBuf>,
        /// Print one frame and exit.
        #[arg(long)]
        once: bool,
    },
    /// ML dataset: one row per entry signal of each run (traded or not): the journaled feature
    /// snapshot, the signal, the trade's result, a triple-barrier label.
    Dataset {
        /// Run directories written by backtest/replay.
        #[arg(required = true)]
        runs: Vec<PathBuf>,
        /// Output CSV.
        #[arg(long)]
        out: PathBuf,
        /// Configuration file for the `[ml]` label keys (default: built-in defaults).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Train the ML entry filter (LR + random forest + boosted trees): dataset, purged k-fold
    /// validation, floors, export of the flat ensemble; prints and writes the report.
    Train {
        /// Run directories (their dataset is built first).
        runs: Vec<PathBuf>,
        /// A dataset CSV from `mia dataset` instead of run directories.
        #[arg(long)]
        csv: Option<PathBuf>,
        /// Output model file (the report goes to OUT.report.txt).
        #[arg(long)]
        out: PathBuf,
        /// Configuration file for `[ml]` (default: built-in defaults).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// One probability per CSV row for a MIA ensemble or an xgboost JSON model (columns by name).
    Predict {
        /// Model file: `mia train` output or xgboost `save_model("m.json")`.
        #[arg(long)]
        model: PathBuf,
        /// Input CSV with a header naming the model's features.
        #[arg(long)]
        csv: PathBuf,
        /// Write the probabilities here instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Guarded walk-forward tuning of strategy parameters over synthetic sessions; shardable
    /// (`--plan`, `--shard I/N`, `--merge DIR...`).
    Optimize(OptimizeArgs),
    /// Kill switch: writes RUN_DIR/KILL; the session running there flattens and halts.
    Kill {
        /// The running session's run directory (default: the newest directory under runs/).
        run_dir: Option<PathBuf>,
    },
}

/// `mia optimize` options.
#[derive(Args, Debug)]
struct OptimizeArgs {
    /// Base configuration (default: built-in defaults).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Parameters to tune, comma-separated: any numeric config key by dotted path
    /// (signal.threshold.stop_points, signal.confidence.weights[2]), optionally bounded
    /// (path=lo..hi); short names obi_entry, delta_entry, stop_points, target_points.
    #[arg(long, default_value = "obi_entry,delta_entry,stop_points,target_points")]
    params: String,
    /// Recorded sessions instead of synthetic ones: run directories, journals, DBN or .scid
    /// files (session k = the k-th path; --sessions, --seed and --days are then unused).
    #[arg(long, num_args = 1..)]
    data: Vec<PathBuf>,
    /// Seed of session 0 (session k uses seed + k).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Sessions.
    #[arg(long, default_value_t = 6)]
    sessions: usize,
    /// Trading days per session.
    #[arg(long, default_value_t = 1)]
    days: u32,
    /// Training sessions per fold.
    #[arg(long, default_value_t = 2)]
    train: usize,
    /// Test sessions per fold.
    #[arg(long, default_value_t = 1)]
    test: usize,
    /// Market events per backtest (default: whole sessions).
    #[arg(long)]
    max_events: Option<u64>,
    /// Report directory (trials.csv, summary.txt), or the shard's result directory.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Write the job list here (without --shard/--merge), or read it (with them).
    #[arg(long)]
    plan: Option<PathBuf>,
    /// Run one slice I/N of the plan's jobs.
    #[arg(long)]
    shard: Option<String>,
    /// Combine the shard results in these directories.
    #[arg(long, num_args = 1..)]
    merge: Vec<PathBuf>,
}

fn optimize(a: OptimizeArgs) -> Result<()> {
    use mia_tools::ml::optimize as opt;
    let need_out =
        || a.out.clone().ok_or_else(|| anyhow::anyhow!("mia optimize: --out DIR is required here"));
    if !a.merge.is_empty() || a.shard.is_some() {
        let plan_path = a
            .plan
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("mia optimize: --shard/--merge need --plan FILE"))?;
        let plan = opt::read_plan(plan_path)?;
        let out = need_out()?;
        if let Some(s) = &a.shard {
            let n = opt::run_shard(&plan, opt::parse_shard(s)?, &out)?;
            println!("shard {s}: {n} jobs written to {}", out.display());
        } else {
            let r = opt::merge(&plan, &a.merge, &out)?;
            print!("{}", r.summary);
            println!("report: {}", out.display());
        }
        return Ok(());
    }
    let cfg = load_config(a.config.as_ref())?;
    let spec =
        opt::spec_from(&cfg, &a.params, a.seed, a.sessions, a.days, a.train, a.test, a.max_events, &a.data)?;
    if let Some(p) = &a.plan {
        let n = opt::write_plan(&spec, p)?;
        println!("wrote {n} jobs to {}", p.display());
        return Ok(());
    }
    let out = need_out()?;
    let r = opt::run_single(&spec, &out)?;
    print!("{}", r.summary);
    println!("report: {}", out.display());
    Ok(())
}

fn load_config(path: Option<&PathBuf>) -> Result<Config> {
    Ok(match path {
        Some(p) => Config::load(p)?,
        None => Config::default(),
    })
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Backtest { data, depth, seed, days, monitor, model, run } => {
            let input = match data {
                Some(p) => Input::from_path(&p)?,
                None => Input::Synthetic { seed, days },
            };
            let input = match depth {
                Some(d) => input.with_depth(&d)?,
                None => input,
            };
            let mut opts = session_options(input, run, RunMode::Backtest)?;
            if let Some(m) = model {
                opts.config.ml.model = m.display().to_string();
            }
            let summary =
                if monitor { mia_tools::app::live::run_monitored(&opts)? } else { run_session(&opts)? };
            print!("{}", render_summary(&summary));
            Ok(())
        }
        Command::Dataset { runs, out, config } => {
            mia_tools::ml::dataset::run(&runs, &load_config(config.as_ref())?.ml, &out)
        }
        Command::Train { runs, csv, out, config } => {
            if runs.is_empty() && csv.is_none() {
                anyhow::bail!("mia train: give run directories or --csv DATASET.csv");
            }
            mia_tools::ml::train::run(&runs, csv.as_deref(), &load_config(config.as_ref())?.ml, &out)
        }
        Command::Predict { model, csv, out } => mia_tools::ml::predict::run(&model, &csv, out.as_deref()),
        Command::Optimize(a) => optimize(a),
        Command::Replay { path, depth, run } => {
            let input = Input::from_path(&path)?;
            let input = match depth {
                Some(d) => input.with_depth(&d)?,
                None => input,
            };
            session(input, run, RunMode::Replay)
        }
        Command::Gen { seed, days, out, schema } => {
            mia_tools::app::session::generate(seed, days, GenSchema::parse(&schema)?, &out)
        }
        Command::Episodes { seeds, config, out } => {
            let seeds = parse_seeds(&seeds)?;
            let config = load_config(config.as_ref())?;
            let out = out.unwrap_or_else(|| default_out_dir("episodes"));
            let scores = mia_tools::app::episodes::run(seeds.clone(), &config, &out)?;
            let table = mia_tools::app::episodes::render(&scores);
            let path = out.join("episodes_score.md");
            std::fs::write(&path, &table).with_context(|| format!("{}: cannot write", path.display()))?;
            println!(
                "seeds {}-{}, {} trading days, runs in {}\n",
                seeds.start(),
                seeds.end(),
                scores.days,
                out.display()
            );
            print!("{table}");
            Ok(())
        }
        Command::Perf { path } => perf(&path),
        Command::Features { run_dir, csv } => mia_tools::features_export::run(&run_dir, csv.as_deref()),
        Command::Gex(args) => mia_tools::gex::run(&args),
        Command::Report(args) => mia_tools::report::run(&args),
        Command::Backup(args) => mia_tools::backup::run(&args),
        Command::Kill { run_dir } => kill(run_dir),
        Command::Status { run_dir, once } => {
            let dir = match run_dir {
                Some(d) => d,
                None => mia_tools::app::control::latest_run_dir(std::path::Path::new("runs"))?,
            };
            mia_tools::monitor::status_view::run(&dir, once)
        }
        Command::Paper { live } => live_session(LiveMode::Paper, live, None, false),
        Command::Live { live, venue, args } => live_session(LiveMode::Live, args, venue, live),
        Command::Collect { live } => live_session(LiveMode::Collect, live, None, false),
        Command::Check { config, runs } => {
            let cfg_text = config.as_ref().map(|p| p.display().to_string());
            let report = mia_tools::app::check::run_checks(config.as_deref(), &runs);
            print!("{}", report.render(cfg_text.as_deref().unwrap_or("<built-in defaults>")));
            if report.failed() {
                anyhow::bail!("{} check(s) failed", report.failures());
            }
            Ok(())
        }
    }
}

/// `A-B` or `N` → an inclusive seed range.
fn parse_seeds(s: &str) -> Result<std::ops::RangeInclusive<u64>> {
    let bad = || anyhow::anyhow!("--seeds {s:?}: expected A-B or N (A <= B)");
    let (a, b) = match s.split_once('-') {
        Some((a, b)) => (a.trim().parse().map_err(|_| bad())?, b.trim().parse().map_err(|_| bad())?),
        None => {
            let n = s.trim().parse().map_err(|_| bad())?;
            (n, n)
        }
    };
    if a > b {
        return Err(bad());
    }
    Ok(a..=b)
}

fn kill(run_dir: Option<PathBuf>) -> Result<()> {
    use mia_tools::app::control::{latest_run_dir, request_kill};
    let dir = match run_dir {
        Some(d) => d,
        None => latest_run_dir(std::path::Path::new("runs"))?,
    };
    let path = request_kill(&dir)?;
    println!(
        "wrote {}: the session running in {} flattens and halts at its next poll ([control] poll_ms); \
         the kill is journaled and shown in its summary (risk: halted (kill_switch, by cli)). \
         Remove the file before starting another session in that directory.",
        path.display(),
        dir.display()
    );
    Ok(())
}

fn live_session(mode: LiveMode, args: LiveArgs, venue: Option<String>, live_flag: bool) -> Result<()> {
    mia_tools::app::secrets::load_dotenv()?;
    let LiveArgs { source, speed, seed, days, tui, follow, watch_model, run } = args;
    let mut data =
        source.as_deref().map(DataKind::parse).transpose().map_err(|e| anyhow::anyhow!("--source: {e}"))?;
    if follow.is_some() {
        if data.is_some_and(|d| d != DataKind::Scid) {
            anyhow::bail!(
                "--follow reads a .scid file: it cannot be combined with --source {}",
                source.unwrap_or_default()
            );
        }
        data = Some(DataKind::Scid);
    }
    let venue =
        venue.as_deref().map(BrokerKind::parse).transpose().map_err(|e| anyhow::anyhow!("--venue: {e}"))?;
    let run_mode = match mode {
        LiveMode::Paper => RunMode::Paper,
        LiveMode::Live => RunMode::Live,
        LiveMode::Collect => RunMode::Collect,
    };
    let input = match follow {
        Some(p) => Input::Scid(p),
        None => Input::Synthetic { seed, days },
    };
    let mut session = session_options(input, run, run_mode)?;
    if let Some(m) = watch_model {
        session.config.ml.model = m.display().to_string();
        session.config.ml.watch = true;
    }
    let summary = run_live_view(LiveOptions { mode, session, data, venue, speed, live_flag }, tui)?;
    print!("{}", render_summary(&summary));
    Ok(())
}

fn session(input: Input, run: RunArgs, run_mode: RunMode) -> Result<()> {
    let opts = session_options(input, run, run_mode)?;
    let summary = run_session(&opts)?;
    print!("{}", render_summary(&summary));
    Ok(())
}

fn session_options(input: Input, run: RunArgs, run_mode: RunMode) -> Result<SessionOptions> {
    let RunArgs { mode, out, config, max_events, pace, profile } = run;
    let profile = match profile.as_deref() {
        None => None,
        Some(p) => Some(
            mia_signal::engine::profiles::ProfileName::parse(p)
                .map_err(|e| anyhow::anyhow!("--profile: {e}"))?,
        ),
    };
    // A journal replays with the config and profile it was recorded with (same decisions,
    // same digest) unless --config / --profile say otherwise.
    let recorded = if config.is_none() { input.recorded() } else { None };
    let config = match &recorded {
        Some(meta) if !meta.config_toml.is_empty() => {
            eprintln!("mia: config: the one recorded in the journal (--config to replace it)");
            Config::from_toml(&meta.config_toml, "the journal's recorded config")?
        }
        _ => load_config(config.as_ref())?,
    };
    let profile = profile.or_else(|| {
        recorded.as_ref().and_then(|m| RunMode::from_label(&m.mode)).map(RunMode::default_profile)
    });
    let out = out.unwrap_or_else(|| default_out_dir(run_mode.label()));
    let opts = SessionOptions {
        input,
        config,
        mode: mode.map(Schedule::from),
        out: Some(out),
        progress: true,
        run_mode,
        on_progress: None,
        max_events,
        pace,
        profile,
    };
    Ok(opts)
}

fn perf(path: &std::path::Path) -> Result<()> {
    let dir = if path.join("latency").is_dir() { path.join("latency") } else { path.to_path_buf() };
    let report = mia_perf::LatencyReport::load(&dir)?;
    print!("{}", report.render_summary());
    for (name, hist) in report.iter() {
        println!("\n# {name} (HGRM, µs)");
        print!("{}", mia_perf::hgrm::percentile_distribution(hist));
    }
    let svg = dir.join("latency.svg");
    std::fs::write(&svg, report.plot_svg("MIA latency percentiles"))
        .with_context(|| format!("{}: cannot write", svg.display()))?;
    println!("\nplot: {}", svg.display());
    Ok(())
}

/// Logs (`tracing`) to stderr: level from `MIA_LOG` (error, warn, info, debug, trace), by
/// default `info` for the live commands (connections, reconciliation, adoption) and `warn`
/// otherwise. Secrets never reach a log: they are `Secret`s, printed as `***`.
fn init_logging(cmd: &Command) {
    let live = matches!(cmd, Command::Paper { .. } | Command::Live { .. } | Command::Collect { .. });
    let level = std::env::var("MIA_LOG")
        .ok()
        .and_then(|v| v.trim().parse::<tracing::Level>().ok())
        .unwrap_or(if live { tracing::Level::INFO } else { tracing::Level::WARN });
    // A second subscriber (tests calling main twice) is not an error worth stopping for.
    let _ = tracing_subscriber::fmt().with_writer(std::io::stderr).with_max_level(level).try_init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli.command);
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mia: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
