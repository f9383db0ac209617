//! `mia report RUN_DIR... [--out DIR]`: statistics, a self-contained HTML report with plots,
//! the post-mortem of every trade, and the enriched trade and snapshot CSVs (`docs/report.md`).
//!
//! - [`trades`] reads `trades.csv`; [`run`] loads a run directory (one streaming pass over the
//!   journal, the features journal, the summary, the latency histograms);
//! - [`stats`]: trade and daily-return statistics (empyrical definitions);
//! - [`analysis`] joins each trade to its signal, phase, regime, snapshots, risk context;
//! - [`postmortem`]: exit efficiency, money left on the table, stop / target verdicts, findings;
//! - [`tables`], [`charts`], [`html`]: the text tables, the SVG plots and the page;
//! - [`export`]: `trades_enriched.csv` and `trade_snapshots.csv`.

pub mod analysis;
pub mod charts;
pub mod export;
pub mod html;
pub mod postmortem;
pub mod run;
pub mod stats;
pub mod tables;
pub mod trades;

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

/// `mia report` arguments.
#[derive(clap::Args, Debug, Clone)]
pub struct ReportArgs {
    /// Run directories written by `mia backtest` / `mia replay` (several compare side by side).
    #[arg(required = true)]
    pub runs: Vec<PathBuf>,
    /// Output directory for report.html and the CSVs (default: RUN_DIR/report of the first run).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Account equity (USD) that daily P&L is divided by to form daily returns.
    #[arg(long, default_value_t = 100_000.0)]
    pub equity: f64,
    /// Post-mortem window after each exit, minutes.
    #[arg(long, default_value_t = 15.0)]
    pub pm_window_min: f64,
    /// Recurring findings look at the last this many trades.
    #[arg(long, default_value_t = 10)]
    pub pm_last: usize,
    /// A target exit is too conservative when price ran beyond the target by this fraction of
    /// the planned move.
    #[arg(long, default_value_t = 0.5)]
    pub pm_run_beyond: f64,
    /// Price charts per run (the last sessions with trades).
    #[arg(long, default_value_t = 5)]
    pub price_charts: usize,
}

impl ReportArgs {
    /// The post-mortem settings.
    ///
    /// # Errors
    /// A window, share or count out of range.
    pub fn pm_config(&self) -> Result<postmortem::PmConfig> {
        if !(self.pm_window_min.is_finite() && self.pm_window_min >= 0.0 && self.pm_window_min <= 24.0 * 60.0)
        {
            bail!("--pm-window-min: {} must be in [0, 1440]", self.pm_window_min);
        }
        if !(self.pm_run_beyond.is_finite() && self.pm_run_beyond >= 0.0) {
            bail!("--pm-run-beyond: {} must be ≥ 0", self.pm_run_beyond);
        }
        if self.pm_last == 0 {
            bail!("--pm-last: must be ≥ 1");
        }
        Ok(postmortem::PmConfig {
            window_ns: (self.pm_window_min * 60e9) as u64,
            run_beyond_frac: self.pm_run_beyond,
            last_n: self.pm_last,
            ..postmortem::PmConfig::default()
        })
    }
}

/// What `mia report` wrote.
#[derive(Clone, Debug)]
pub struct Written {
    /// The output directory.
    pub dir: PathBuf,
    /// The text tables (also printed).
    pub text: String,
}

fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).with_context(|| format!("{}: cannot write", path.display()))
}

/// Builds the report of `args.runs` and writes `report.html`, `trades_enriched.csv` and
/// `trade_snapshots.csv` into the output directory.
///
/// # Errors
/// Bad arguments, a run directory without `trades.csv` or with a malformed one, or an output
/// file that cannot be written.
pub fn build(args: &ReportArgs) -> Result<Written> {
    if !(args.equity.is_finite() && args.equity > 0.0) {
        bail!("--equity: {} must be a positive amount of USD", args.equity);
    }
    let pm = args.pm_config()?;
    let Some(first) = args.runs.first() else { bail!("no run directory given") };
    let dir = args.out.clone().unwrap_or_else(|| first.join("report"));
    let runs: Vec<run::RunData> =
        args.runs.iter().map(|d| run::load_run(d, pm.window_ns)).collect::<Result<_>>()?;
    let reports: Vec<tables::RunReport<'_>> =
        runs.iter().map(|r| tables::RunReport::new(r, args.equity, &pm)).collect();
    std::fs::create_dir_all(&dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    let info = html::PageInfo {
        equity0: args.equity,
        window_min: args.pm_window_min,
        price_charts: args.price_charts,
        version: env!("CARGO_PKG_VERSION"),
    };
    write(&dir.join("report.html"), &html::render(&reports, &info))?;
    let pairs: Vec<(&run::RunData, Vec<analysis::Enriched<'_>>)> =
        reports.iter().map(|r| (r.run, r.trades.clone())).collect();
    write(&dir.join("trades_enriched.csv"), &export::trades_enriched_csv(&pairs))?;
    write(&dir.join("trade_snapshots.csv"), &export::trade_snapshots_csv(&pairs))?;
    Ok(Written { dir, text: tables::render_text(&reports, args.equity) })
}

/// Runs `mia report`: builds the report and prints the tables.
///
/// # Errors
/// See [`build`].
pub fn run(args: &ReportArgs) -> Result<()> {
    let w = build(args)?;
    print!("{}", w.text);
    println!("\nwrote {0}/report.html, {0}/trades_enriched.csv, {0}/trade_snapshots.csv", w.dir.display());
    Ok(())
}
