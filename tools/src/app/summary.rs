//! The result of a run: [`SessionSummary`], its text form, and the artefacts written beside it.

use anyhow::{anyhow, Context, Result};
use mia_exec::exec_stage::ExecCounters;
use mia_exec::risk::{KillSource, RejectReason};
use mia_model::feature_stats::FeatureStats;
use mia_model::features::FEATURE_IDS;
use mia_options::levels::GammaLevels;
use mia_perf::LatencyReport;
use mia_runtime::digest::DecisionDigest;
use mia_runtime::pipeline::{RunReport, Schedule};
use mia_runtime::stage::StageReport;
use mia_signal::sanity::SanityCounters;
use std::path::{Path, PathBuf};

/// The result of a run.
#[derive(Clone, Debug)]
pub struct SessionSummary {
    /// Input description.
    pub source: String,
    /// Pipeline mode used.
    pub mode: Schedule,
    /// Market events processed.
    pub events: u64,
    /// Inputs sequenced (market events + exec reports + control).
    pub inputs: u64,
    /// Order intents.
    pub orders: u64,
    /// Fills.
    pub fills: u64,
    /// Signals emitted by the strategy.
    pub signals: u64,
    /// Completed round trips.
    pub trades: u64,
    /// Net P&L (realized − fees + open position marked to the last trade), USD.
    pub net_pnl_usd: f64,
    /// Fees paid, USD.
    pub fees_usd: f64,
    /// Events per second of wall time.
    pub events_per_sec: f64,
    /// Wall time, seconds.
    pub elapsed_s: f64,
    /// Decision digest (hex).
    pub digest: String,
    /// Data-sanity counters of the signal stage.
    pub sanity: SanityCounters,
    /// The SPX chain the run used (None: no chain was found, the gamma gate was inactive).
    pub chain: Option<String>,
    /// Gamma levels the session opened with (None without a chain).
    pub gamma: Option<GammaLevels>,
    /// Entries vetoed by the gamma gate.
    pub gamma_vetoes: u64,
    /// Gate evaluations made on a stale gamma snapshot (nothing vetoed).
    pub gamma_stale: u64,
    /// Order-management counters.
    pub exec: ExecCounters,
    /// Tap envelopes dropped.
    pub tap_dropped: u64,
    /// Journal records written (0 without a journal).
    pub journal_records: u64,
    /// Latency histograms (stages + end to end).
    pub latency: LatencyReport,
    /// Risk state at the end (`Active`, `Reducing`, `Halted`), the stop in force and the event
    /// time (ns) of the first stop of the run (0 when none).
    pub risk: (String, Option<String>, u64),
    /// Where the kill in force came from (`file`, `signal`, `cli`, `control`), `None` without
    /// a kill.
    pub kill_source: Option<String>,
    /// Position at the end, contracts (signed).
    pub position: i64,
    /// Feature-vector statistics over the snapshots (validity share, min / mean / max).
    pub features: Option<FeatureStats>,
    /// Closed bars per timeframe (1, 5, 15, 60 min).
    pub bars: [u64; 4],
    /// Feature snapshots lost (tap full or consumer gone).
    pub snapshot_drops: u64,
    /// Bar closes the signal stage rehearsed in its idle time (`[signal] rehearse_lead_ms`).
    pub rehearsals: u64,
    /// Descriptive lines of the stages (`venue`: the venue and its queue, latency and fee
    /// models), printed as `key: text` after the mode.
    pub notes: Vec<(&'static str, String)>,
    /// What the stages warned about (never silent: also printed in the summary).
    pub warnings: Vec<String>,
    /// Where artefacts were written.
    pub out: Option<PathBuf>,
    /// The first [`SUMMARY_TRADES`] round trips of `trades.csv` (printed one per line).
    pub first_trades: Vec<crate::report::trades::Trade>,
}

/// Round trips the summary lists (the rest are in `trades.csv`; `mia report` has them all).
pub const SUMMARY_TRADES: usize = 5;

impl SessionSummary {
    /// Builds the summary from what the run and its stages reported.
    ///
    /// # Errors
    /// A latency histogram cannot be merged.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        report: &RunReport,
        r: &StageReport,
        digest: &DecisionDigest,
        source: String,
        chain: Option<String>,
        gamma: Option<GammaLevels>,
        mode: Schedule,
        journal_records: u64,
        out: Option<PathBuf>,
    ) -> Result<Self> {
        let mut latency = LatencyReport::new();
        for h in &report.stage_latency {
            latency.merge(h.name, &h.hist)?;
        }
        latency.merge(report.end_to_end.name, &report.end_to_end.hist)?;
        let elapsed_s = report.elapsed.as_secs_f64();
        Ok(Self {
            source,
            mode,
            events: report.events,
            inputs: report.inputs,
            orders: digest.intents,
            fills: digest.fills,
            signals: r.counter("signals"),
            trades: r.counter("round_trips"),
            net_pnl_usd: r.get_value("net_pnl_usd").unwrap_or(0.0),
            fees_usd: r.get_value("fees_usd").unwrap_or(0.0),
            events_per_sec: if elapsed_s > 0.0 { report.events as f64 / elapsed_s } else { 0.0 },
            elapsed_s,
            digest: digest.hex(),
            sanity: SanityCounters {
                off_tick: r.counter("sanity.off_tick"),
                zero_size_trades: r.counter("sanity.zero_size_trades"),
                ts_backwards: r.counter("sanity.ts_backwards"),
                crossed: r.counter("sanity.crossed"),
                rejected_levels: r.counter("sanity.rejected_levels"),
                bad_ticks: r.counter("sanity.bad_ticks"),
            },
            chain,
            gamma,
            gamma_vetoes: r.counter("gamma.vetoed_entries"),
            gamma_stale: r.counter("gamma.stale_evals"),
            exec: ExecCounters {
                intents: r.counter("exec.intents"),
                fills: r.counter("exec.fills"),
                risk_rejects: r.counter("exec.risk_rejects"),
                venue_rejects: r.counter("exec.venue_rejects"),
                expired_qty: r.counter("exec.expired_qty"),
                kills: r.counter("exec.kills"),
                brackets: r.counter("exec.brackets"),
                bracket_errors: r.counter("exec.bracket_errors"),
                ignored_signals: r.counter("exec.ignored_signals"),
                modifies: r.counter("exec.modifies"),
                cancels: r.counter("exec.cancels"),
                ignored_reports: r.counter("exec.ignored_reports"),
                adopted: r.counter("exec.adopted"),
                cancel_waits: r.counter("exec.cancel_waits"),
                cancel_wait_timeouts: r.counter("exec.cancel_wait_timeouts"),
                stale_signals: r.counter("exec.stale_signals"),
                cancel_retries: r.counter("exec.cancel_retries"),
                executed_by_tier: mia_exec::exec_stage::executed_by_tier(r),
            },
            tap_dropped: report.tap_dropped,
            journal_records,
            latency,
            risk: (
                match r.counter("risk.state") {
                    0 => "active",
                    1 => "reducing",
                    _ => "halted",
                }
                .to_string(),
                RejectReason::from_u8(r.counter("risk.reason") as u8).map(|x| x.name().to_string()),
                r.counter("risk.first_stop_ts"),
            ),
            kill_source: r
                .counter("risk.kill_source")
                .checked_sub(1)
                .map(|code| KillSource::from_arg(code).name().to_string()),
            position: r.get_value("position").unwrap_or(0.0) as i64,
            features: r.features,
            bars: [r.counter("bars.1m"), r.counter("bars.5m"), r.counter("bars.15m"), r.counter("bars.60m")],
            snapshot_drops: r.counter("features.snapshot_drops"),
            rehearsals: r.counter("signal.rehearsals"),
            notes: r.notes.clone(),
            warnings: r.warnings.clone(),
            out,
            first_trades: r
                .files
                .iter()
                .find(|f| f.0 == "trades.csv")
                .and_then(|f| crate::report::trades::parse_trades(&f.1, "trades.csv").ok())
                .map(|t| t.trades.into_iter().take(SUMMARY_TRADES).collect())
                .unwrap_or_default(),
        })
    }
}

/// Writes the stages' artefacts (`trades.csv`, …), the latency histograms and `summary.txt`.
///
/// # Errors
/// A file cannot be written (the error names it).
pub fn write_artifacts(out: &Path, s: &SessionSummary, r: &StageReport) -> Result<()> {
    for (name, text) in &r.files {
        let path = out.join(name);
        std::fs::write(&path, text).with_context(|| format!("{}: cannot write", path.display()))?;
    }
    s.latency.save(&out.join("latency")).map_err(|e| anyhow!("{}: {e}", out.join("latency").display()))?;
    let path = out.join("summary.txt");
    std::fs::write(&path, render_summary(s)).with_context(|| format!("{}: cannot write", path.display()))?;
    Ok(())
}

/// The human-readable summary; its last lines are the machine-readable `key: value` block.
pub fn render_summary(s: &SessionSummary) -> String {
    let mode = match s.mode {
        Schedule::Inline => "inline",
        Schedule::Threaded => "threaded",
    };
    let mut t = String::new();
    t.push_str(&format!("source: {}\nmode: {mode}\n", s.source));
    for (k, v) in &s.notes {
        t.push_str(&format!("{k}: {v}\n"));
    }
    t.push_str(&format!(
        "signals: {}  round_trips: {}  fees_usd: {:.2}  risk_rejects: {}  venue_rejects: {}\n",
        s.signals, s.trades, s.fees_usd, s.exec.risk_rejects, s.exec.venue_rejects
    ));
    match &s.chain {
        Some(c) => t.push_str(&format!("chain: {c}\n")),
        None => t.push_str("chain: none found beside the input (gamma gate inactive)\n"),
    }
    if let Some(g) = &s.gamma {
        let p = |v: i64| {
            if v == mia_model::price::UNDEF_PX {
                "-".to_string()
            } else {
                format!("{:.2}", mia_model::price::to_f64(v))
            }
        };
        t.push_str(&format!(
            "gamma (SPX): spot {} zero_gamma {} call_wall {} put_wall {} max_pain {} net_gex_bn_per_pct {:.2}  vetoed_entries: {}  stale_evals: {}\n",
            p(g.spot),
            p(g.zero_gamma),
            p(g.call_wall),
            p(g.put_wall),
            p(g.max_pain),
            g.total_gex_usd_per_pct / 1e9,
            s.gamma_vetoes,
            s.gamma_stale
        ));
    }
    let z = &s.sanity;
    t.push_str(&format!(
        "sanity: off_tick={} zero_size_trades={} bad_ticks={} ts_backwards={} crossed={} rejected_levels={}\n",
        z.off_tick, z.zero_size_trades, z.bad_ticks, z.ts_backwards, z.crossed, z.rejected_levels
    ));
    let (state, reason, first_stop) = &s.risk;
    t.push_str(&format!("risk: {state}"));
    match (reason, &s.kill_source) {
        (Some(why), Some(src)) => {
            t.push_str(&format!(" ({why}, by {src}; {} kill command(s))", s.exec.kills))
        }
        (Some(why), None) => t.push_str(&format!(" ({why})")),
        _ => {}
    }
    if *first_stop != 0 {
        t.push_str(&format!(", first stop at {}", fmt_chicago(*first_stop)));
    }
    t.push_str(&format!(", position {}\n", s.position));
    for (i, tr) in s.first_trades.iter().enumerate() {
        t.push_str(&format_trade(i + 1, tr));
    }
    if s.trades as usize > s.first_trades.len() && !s.first_trades.is_empty() {
        t.push_str(&format!(
            "  … {} more round trips in trades.csv\n",
            s.trades as usize - s.first_trades.len()
        ));
    }
    if s.exec.adopted > 0 {
        t.push_str(&format!(
            "adopted: {} broker position(s) found at start-up, booked and flattened (docs/live.md)\n",
            s.exec.adopted
        ));
    }
    let x = &s.exec;
    if x.cancel_waits + x.stale_signals + x.cancel_retries > 0 {
        t.push_str(&format!(
            "order races: {} exit(s) waited for cancel confirmations ({} sent after {} s without them), {} bracket signal(s) dropped as stale, {} cancel request(s) sent again unanswered after {} s (docs/execution.md)\n",
            x.cancel_waits,
            x.cancel_wait_timeouts,
            mia_exec::exec_stage::CANCEL_WAIT_NS / 1_000_000_000,
            x.stale_signals,
            x.cancel_retries,
            mia_exec::exec_stage::CANCEL_RETRY_NS / 1_000_000_000,
        ));
    }
    if let Some(f) = &s.features {
        t.push_str(&render_feature_stats(f, Some((s.bars, s.snapshot_drops))));
    }
    if s.rehearsals > 0 {
        t.push_str(&format!(
            "rehearsed bar closes: {} (in idle time before they were due; docs/performance.md)\n",
            s.rehearsals
        ));
    }
    for w in &s.warnings {
        t.push_str(&format!("warning: {w}\n"));
    }
    if let Some(out) = &s.out {
        t.push_str(&format!(
            "out: {}  (journal records: {}, tap drops: {})\n",
            out.display(),
            s.journal_records,
            s.tap_dropped
        ));
    }
    t.push_str(&s.latency.render_summary());
    if !t.ends_with('\n') {
        t.push('\n');
    }
    t.push_str(&format!("elapsed_s: {:.3}\n", s.elapsed_s));
    t.push_str(&format!("events: {}\n", s.events));
    t.push_str(&format!("orders: {}\n", s.orders));
    t.push_str(&format!("fills: {}\n", s.fills));
    t.push_str(&format!("net_pnl_usd: {:.2}\n", s.net_pnl_usd));
    t.push_str(&format!("events_per_sec: {:.0}\n", s.events_per_sec));
    t.push_str(&format!("digest: {}\n", s.digest));
    t
}

/// The feature table of the summary: per feature, the share of snapshots in which it was
/// valid and the min / mean / max of its valid values.
/// `run` adds the run's bar counts and snapshot drops to the heading.
pub fn render_feature_stats(f: &FeatureStats, run: Option<([u64; 4], u64)>) -> String {
    let mut t = format!("features: {} snapshots (1-min closes + signals)", f.samples);
    if let Some((bars, drops)) = run {
        t.push_str(&format!(
            ", bars 1m/5m/15m/60m: {}/{}/{}/{}, snapshot drops: {drops}",
            bars[0], bars[1], bars[2], bars[3]
        ));
    }
    t.push('\n');
    t.push_str(&format!(
        "{:<4}{:<18}{:>8}{:>12}{:>12}{:>12}\n",
        "#", "feature", "valid%", "min", "mean", "max"
    ));
    for (i, id) in FEATURE_IDS.iter().enumerate() {
        let st = &f.slots[i];
        let num = |v: Option<f64>| v.map_or("-".to_string(), |x| format!("{x:.4}"));
        let (min, max) = if st.valid > 0 { (Some(st.min), Some(st.max)) } else { (None, None) };
        t.push_str(&format!(
            "{:<4}{:<18}{:>8.1}{:>12}{:>12}{:>12}\n",
            i + 1,
            id.name(),
            100.0 * f.validity(i),
            num(min),
            num(st.mean()),
            num(max)
        ));
    }
    for (i, id) in FEATURE_IDS.iter().enumerate() {
        if f.samples > 0 && f.slots[i].valid == 0 {
            t.push_str(&format!("note: {} was never valid; it needs {}\n", id.name(), id.valid_when()));
        }
    }
    t
}

/// One round trip of the summary: `trade N: side qty @ entry (time) → exit (time, reason),
/// net USD`, the times in Chicago.
fn format_trade(n: usize, tr: &crate::report::trades::Trade) -> String {
    let side = if tr.long { "long" } else { "short" };
    let exit_time = fmt_chicago(tr.exit_ts);
    // the exit's clock time only when it is on the entry's date
    let entry_time = fmt_chicago(tr.entry_ts);
    let exit_shown = match (entry_time.get(..10), exit_time.get(..10)) {
        (Some(a), Some(b)) if a == b => exit_time.get(11..).unwrap_or(&exit_time).to_string(),
        _ => exit_time.clone(),
    };
    format!(
        "trade {n}: {side} {} @ {:.2} {entry_time} → {:.2} {exit_shown} ({}), net {:.2} USD (fees {:.2}, MAE {:.2} / MFE {:.2} pts)\n",
        tr.qty, tr.entry_px, tr.exit_px, tr.exit_reason, tr.net_usd, tr.fees_usd, tr.mae_points, tr.mfe_points
    )
}

/// `yyyy-mm-dd hh:mm:ss CT` of an event time (ns, UTC).
pub fn fmt_chicago(ts_ns: u64) -> String {
    let off = i64::from(mia_signal::session::chicago_utc_offset_hours(ts_ns)) * 3600;
    let local = (ts_ns / 1_000_000_000) as i64 + off;
    let d = mia_model::time::calendar::Date::from_days_since_epoch(local.div_euclid(86_400));
    let s = local.rem_euclid(86_400);
    format!("{d} {:02}:{:02}:{:02} CT", s / 3600, (s / 60) % 60, s % 60)
}
