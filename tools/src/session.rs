//! Session assembly: picks the source, builds the stages from the config, runs the pipeline
//! with the journal writer on a cold thread, and writes the run's artefacts (journal, trades
//! CSV, latency histograms and plot, summary).

use crate::app::config::Config;
use crate::gamma::{chain_text, spawn_gamma_publisher, CHAIN_FILE};
use anyhow::{anyhow, bail, Context, Result};
use mia_exec::{ExecCounters, ExecStage, RoundTrip, SimConfig};
use mia_feeds::dbn_source::{DbnFileSource, Mbp10IterSource};
use mia_feeds::journal_source::JournalSource;
use mia_feeds::synth::{SynthConfig, SynthSession};
use mia_journal::{spawn_journal_writer, JournalConfig, JournalThreadConfig, JournalWriter, SessionMeta};
use mia_model::contract::ContractSpec;
use mia_model::msg::Envelope;
use mia_options::levels::GammaLevels;
use mia_perf::LatencyReport;
use mia_runtime::digest::DecisionDigest;
use mia_runtime::pipeline::{self, Mode, Sink, Tap, Taps};
use mia_runtime::source::EventSource;
use mia_runtime::stage::Stage;
use mia_signal::gates::gamma::GammaCell as SnapshotCell;
use mia_signal::stage::{MarketStage, SanityCounters};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// Where the market data comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// The built-in synthetic ES session with this seed.
    Synthetic {
        /// Generator seed.
        seed: u64,
    },
    /// A DBN file (mbo, mbp-1, mbp-10, tbbo, trades).
    Dbn(PathBuf),
    /// A journal directory written by an earlier run.
    Journal(PathBuf),
}

impl Input {
    /// Classifies a path given to `mia replay` / `--data`: a directory is a journal, a file is
    /// DBN. A missing path is an error naming it.
    pub fn from_path(path: &Path) -> Result<Self> {
        let meta = std::fs::metadata(path).with_context(|| format!("{}: cannot open", path.display()))?;
        Ok(if meta.is_dir() { Input::Journal(path.to_path_buf()) } else { Input::Dbn(path.to_path_buf()) })
    }

    fn seed(&self) -> u64 {
        match self {
            Input::Synthetic { seed } => *seed,
            _ => 0,
        }
    }
}

/// What to run.
#[derive(Clone, Debug)]
pub struct SessionOptions {
    /// The market data.
    pub input: Input,
    /// The configuration (the mode inside it may be overridden by `mode`).
    pub config: Config,
    /// Overrides `config.pipeline.mode`.
    pub mode: Option<Mode>,
    /// Output directory for the journal and reports; `None` writes nothing.
    pub out: Option<PathBuf>,
    /// Show a progress bar (only when stderr is a terminal).
    pub progress: bool,
    /// Mode label written in the journal ("backtest", "replay").
    pub label: &'static str,
    /// Overrides `config.pipeline.pace_events_per_sec` (feed pacing, 0 = flat out).
    pub pace: Option<u64>,
    /// Stop after this many market events (None = the whole input).
    pub max_events: Option<u64>,
    /// Called with the running event count every 65,536 events and at the end (tests hook
    /// allocation counters here; it must not allocate).
    pub on_progress: Option<fn(u64)>,
}

/// The result of a run.
#[derive(Clone, Debug)]
pub struct SessionSummary {
    /// Input description.
    pub source: String,
    /// Pipeline mode used.
    pub mode: Mode,
    /// Market events processed.
    pub events: u64,
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
    /// Data-sanity counters of the strategy stage.
    pub sanity: SanityCounters,
    /// Gamma levels used by the gate (None without a chain).
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
    /// Where artefacts were written.
    pub out: Option<PathBuf>,
}

struct DecisionSink {
    digest: DecisionDigest,
}

impl Sink for DecisionSink {
    #[inline]
    fn on_output(&mut self, env: &Envelope) {
        self.digest.msg(&env.msg);
    }
}

fn open_source(input: &Input) -> Result<Box<dyn EventSource>> {
    Ok(match input {
        Input::Synthetic { seed } => {
            let cfg = SynthConfig { seed: *seed, ..SynthConfig::default() };
            let session = SynthSession::try_new(&cfg).map_err(|e| anyhow!("{e}"))?;
            Box::new(Mbp10IterSource::from_producer(format!("synthetic ES session seed={seed}"), session))
        }
        Input::Dbn(p) => Box::new(DbnFileSource::open(p)?),
        Input::Journal(p) => {
            // One cold pass to learn how the journal ends, so a torn tail is reported first.
            let r = mia_journal::JournalReader::scan(p).map_err(|e| e.to_source_error())?;
            if let Some((seg, off)) = &r.torn_at {
                eprintln!(
                    "mia: warning: {}: the journal ends in a torn or damaged record at {} offset {off} ({}); \
                     replaying the {} complete records before it",
                    p.display(),
                    seg.display(),
                    r.reason.as_deref().unwrap_or("damaged"),
                    r.records
                );
            }
            Box::new(JournalSource::open(p)?)
        }
    })
}

/// Runs one session and writes its artefacts.
pub fn run_session(opts: &SessionOptions) -> Result<SessionSummary> {
    let cfg = &opts.config;
    let mut pcfg = cfg.pipeline.clone();
    if let Some(m) = opts.mode {
        pcfg.mode = m;
    }
    if let Some(p) = opts.pace {
        pcfg.pace_events_per_sec = p;
    }
    let contract = ContractSpec::by_root(&cfg.trading.instrument)
        .ok_or_else(|| anyhow!("unknown instrument {}", cfg.trading.instrument))?;
    let mut source = open_source(&opts.input)?;
    if let Some(n) = opts.max_events {
        source = Box::new(mia_runtime::source::TakeSource::new(source, n));
    }
    let source_desc = source.describe().to_string();

    // Options context: the cold side computes the levels once, before the first event, and
    // publishes them through the seqlock cell the hot stage reads.
    let chain = chain_text(&opts.input)?;
    let mut market = MarketStage::new(&cfg.strategy, contract.tick);
    let gamma = match &chain {
        Some((name, text)) => {
            let cell = Arc::new(SnapshotCell::new());
            // Backtests wait for the first snapshot so every run sees it from event 0.
            let levels = spawn_gamma_publisher(name.clone(), text.clone(), cell.clone())?
                .join()
                .map_err(|_| anyhow!("options analytics thread panicked"))??;
            market.attach_gamma(cell);
            Some(levels)
        }
        None => None,
    };
    let stages: Vec<Box<dyn Stage>> = vec![
        Box::new(market),
        Box::new(ExecStage::new(
            &cfg.risk,
            SimConfig {
                order_latency_ns: cfg.sim.order_latency_ns,
                commission_per_contract_usd: cfg.sim.commission_per_contract_usd,
                contract,
            },
            cfg.trading.order_qty,
            0,
        )),
    ];

    // Journal on a cold thread, fed by two taps.
    let mut taps = Taps::default();
    let stop = Arc::new(AtomicBool::new(false));
    let mut journal = None;
    if let Some(out) = &opts.out {
        std::fs::create_dir_all(out).with_context(|| format!("{}: cannot create", out.display()))?;
        if cfg.journal.enabled {
            let dir = out.join("journal");
            let mut writer =
                JournalWriter::create(&dir, JournalConfig::with_segment_size(cfg.journal.segment_bytes))?;
            if let Some((_, text)) = &chain {
                let p = dir.join(CHAIN_FILE);
                std::fs::write(&p, text).with_context(|| format!("{}: cannot write", p.display()))?;
            }
            let config_toml = toml::to_string(cfg).unwrap_or_default();
            writer.append_meta(&SessionMeta::now(
                &source_desc,
                opts.input.seed(),
                opts.label,
                config_toml,
            ))?;
            let (in_tx, in_rx) = rtrb::RingBuffer::new(cfg.journal.tap_capacity);
            let (out_tx, out_rx) = rtrb::RingBuffer::new(cfg.journal.tap_capacity);
            taps.input = Some(Tap::new(in_tx, cfg.journal.tap_policy));
            taps.output = Some(Tap::new(out_tx, cfg.journal.tap_policy));
            let h = spawn_journal_writer(
                writer,
                vec![in_rx, out_rx],
                stop.clone(),
                JournalThreadConfig::default(),
            )
            .context("cannot start the journal thread")?;
            journal = Some(h);
        }
    }

    let bar = progress_bar(opts.progress);
    let hook = opts.on_progress;
    let mut on_progress = |n: u64| {
        if let Some(b) = &bar {
            b.set_position(n);
        }
        if let Some(h) = hook {
            h(n);
        }
    };
    let mut sink = DecisionSink { digest: DecisionDigest::new() };
    let report = pipeline::run(source, stages, &mut sink, taps, &pcfg, &mut on_progress);
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    stop.store(true, std::sync::atomic::Ordering::Release);
    let journal_records = match journal {
        Some(h) => {
            let stats = h.join().map_err(|_| anyhow!("journal thread panicked"))??;
            stats.records
        }
        None => 0,
    };
    if let Some(e) = report.source_error {
        bail!("{e} (the {} events before it were processed and journaled)", report.events);
    }
    if report.outbox_overflow > 0 {
        bail!("internal: {} stage outputs overflowed the outbox", report.outbox_overflow);
    }

    let market = report.stages.first().and_then(|s| s.as_any().downcast_ref::<MarketStage>());
    let exec = report.stages.get(1).and_then(|s| s.as_any().downcast_ref::<ExecStage>());
    let (Some(market), Some(exec)) = (market, exec) else { bail!("internal: stages not returned") };

    let mut latency = LatencyReport::new();
    for h in &report.stage_latency {
        latency.merge(h.name, &h.hist)?;
    }
    latency.merge(report.end_to_end.name, &report.end_to_end.hist)?;

    let elapsed_s = report.elapsed.as_secs_f64();
    let summary = SessionSummary {
        source: source_desc,
        mode: pcfg.mode,
        events: report.events,
        orders: sink.digest.intents,
        fills: sink.digest.fills,
        signals: market.signals,
        trades: exec.position().trips(),
        net_pnl_usd: exec.net_pnl() as f64 / 1e9,
        fees_usd: exec.position().fees() as f64 / 1e9,
        events_per_sec: if elapsed_s > 0.0 { report.events as f64 / elapsed_s } else { 0.0 },
        elapsed_s,
        digest: sink.digest.hex(),
        sanity: market.sanity,
        gamma,
        gamma_vetoes: market.gamma_vetoes(),
        gamma_stale: market.gamma_gate().stale,
        exec: exec.counters,
        tap_dropped: report.tap_dropped,
        journal_records,
        latency,
        out: opts.out.clone(),
    };
    if let Some(out) = &opts.out {
        write_artifacts(out, &summary, exec.trades().iter())?;
    }
    Ok(summary)
}

fn progress_bar(wanted: bool) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if !wanted || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new_spinner();
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{spinner} {human_pos} events  {per_sec}  {elapsed}")
    {
        bar.set_style(style);
    }
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    Some(bar)
}

fn write_artifacts<'a>(
    out: &Path,
    s: &SessionSummary,
    trades: impl Iterator<Item = &'a RoundTrip>,
) -> Result<()> {
    let mut csv = String::from(RoundTrip::CSV_HEADER);
    csv.push('\n');
    for t in trades {
        t.write_csv(&mut csv).map_err(|_| anyhow!("formatting trades"))?;
        csv.push('\n');
    }
    let path = out.join("trades.csv");
    std::fs::write(&path, csv).with_context(|| format!("{}: cannot write", path.display()))?;
    let lat = out.join("latency");
    s.latency.save(&lat)?;
    let path = out.join("summary.txt");
    std::fs::write(&path, render_summary(s)).with_context(|| format!("{}: cannot write", path.display()))?;
    Ok(())
}

/// The human-readable summary; its last lines are the machine-readable `key: value` block.
pub fn render_summary(s: &SessionSummary) -> String {
    let mode = match s.mode {
        Mode::Inline => "inline",
        Mode::Threaded => "threaded",
    };
    let mut t = String::new();
    t.push_str(&format!("source: {}\nmode: {mode}\n", s.source));
    t.push_str(&format!(
        "signals: {}  round_trips: {}  fees_usd: {:.2}  risk_rejects: {}  venue_rejects: {}\n",
        s.signals, s.trades, s.fees_usd, s.exec.risk_rejects, s.exec.venue_rejects
    ));
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

/// A fresh output directory `runs/<label>-<unix seconds>[-n]`.
pub fn default_out_dir(label: &str) -> PathBuf {
    let secs =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let base = PathBuf::from("runs");
    let mut dir = base.join(format!("{label}-{secs}"));
    let mut n = 1;
    while dir.exists() {
        dir = base.join(format!("{label}-{secs}-{n}"));
        n += 1;
    }
    dir
}

/// `mia gen`: writes the synthetic session of `seed` as a standard DBN MBP-10 file.
pub fn generate_dbn(seed: u64, out: &Path) -> Result<()> {
    let cfg = SynthConfig { seed, ..SynthConfig::default() };
    let session = SynthSession::try_new(&cfg).map_err(|e| anyhow!("{e}"))?;
    let (start, end, id) = (session.start_ns(), session.end_ns(), session.instrument_id());
    let symbol = session.symbol().to_string();
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("{}: cannot create", parent.display()))?;
    }
    let n = mia_feeds::dbn_write::write_mbp10_dbn(out, "GLBX.MDP3", &symbol, id, start, end, session)?;
    println!("wrote {n} MBP-10 records ({symbol}, seed {seed}) to {}", out.display());
    if let Some((_, text)) = chain_text(&Input::Synthetic { seed })? {
        let p = out.with_extension("chain.csv");
        std::fs::write(&p, text).with_context(|| format!("{}: cannot write", p.display()))?;
        println!("wrote the session's SPX chain (Cboe layout) to {}", p.display());
    }
    Ok(())
}
