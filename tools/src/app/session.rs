//! Session assembly: [`prepare`] (config → source, cold options thread, stages, journal and
//! taps), [`execute`] (the pipeline run), [`collect`] (errors, the summary and the
//! artefacts). [`run_session`] does the three.

use crate::app::config::Config;
use crate::app::control::ControlThread;
use crate::app::gamma::spawn_gamma_thread;
use crate::app::input::{Input, CHAIN_FILE};
use crate::app::stages::{build_stages, StageParts, VenueChoice};
use crate::app::summary::{write_artifacts, SessionSummary};
use anyhow::{anyhow, bail, Context, Result};
use mia_journal::{spawn_journal_writer, JournalConfig, JournalThreadConfig, JournalWriter, SessionMeta};
use mia_model::msg::{Control, Envelope};
use mia_options::levels::GammaLevels;
use mia_runtime::digest::DecisionDigest;
use mia_runtime::metrics::{LiveMetrics, LATENCY_SLOTS};
use mia_runtime::pipeline::tap::{Tap, Taps};
use mia_runtime::pipeline::{self, Inputs, PipelineConfig, RunReport, Schedule, Sink};
use mia_runtime::sequencer::SideInput;
use mia_runtime::source::TakeSource;
use mia_runtime::stage::{Stage, StageReport};
use mia_signal::engine::profiles::ProfileName;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

/// What kind of run this is (written in the journal and the summary).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunMode {
    /// History through the simulator.
    Backtest,
    /// A journal or file replayed through the simulator.
    Replay,
    /// Live (or real-time synthetic) data, simulated fills.
    Paper,
    /// Live data, real orders.
    Live,
    /// Live data recorded, no trading.
    Collect,
}

impl RunMode {
    /// The label (`backtest`, `replay`).
    pub fn label(self) -> &'static str {
        match self {
            RunMode::Backtest => "backtest",
            RunMode::Replay => "replay",
            RunMode::Paper => "paper",
            RunMode::Live => "live",
            RunMode::Collect => "collect",
        }
    }

    /// The mode of a [`label`](Self::label) (a journal's recorded mode).
    pub fn from_label(s: &str) -> Option<RunMode> {
        [RunMode::Backtest, RunMode::Replay, RunMode::Paper, RunMode::Live, RunMode::Collect]
            .into_iter()
            .find(|m| m.label() == s)
    }

    /// The signal-engine profile a run of this mode uses unless `--profile` says otherwise
    /// (SIGNALS §12: backtest for history, paper for paper and collect, production for live).
    pub fn default_profile(self) -> ProfileName {
        match self {
            RunMode::Backtest | RunMode::Replay => ProfileName::Backtest,
            RunMode::Paper | RunMode::Collect => ProfileName::Paper,
            RunMode::Live => ProfileName::Production,
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
    pub mode: Option<Schedule>,
    /// Output directory for the journal and reports; `None` writes nothing.
    pub out: Option<PathBuf>,
    /// Show a progress bar (only when stderr is a terminal).
    pub progress: bool,
    /// Backtest or replay.
    pub run_mode: RunMode,
    /// Overrides `config.pipeline.pace_events_per_sec` (feed pacing, 0 = flat out).
    pub pace: Option<u64>,
    /// Stop after this many market events (None = the whole input).
    pub max_events: Option<u64>,
    /// The signal-engine profile (`None`: the run mode's, `backtest` for backtests and replays).
    pub profile: Option<ProfileName>,
    /// Called with the running event count every 65,536 events and at the end (tests hook
    /// allocation counters here; it must not allocate).
    pub on_progress: Option<fn(u64)>,
}

/// Parts of a session that are not plain options: a venue on another thread and the rings
/// its reports (or other side inputs) come back on.
#[derive(Default)]
pub struct SessionExtras {
    /// The venue (default: the simulator).
    pub venue: Option<VenueChoice>,
    /// Side inputs merged by the sequencer.
    pub side: Vec<SideInput>,
    /// Broker edges fused into the pipeline's thread (`[ibkr] fuse`), polled by the sequencer.
    pub polls: Vec<Box<dyn mia_runtime::source::LivePoll>>,
    /// A source to read instead of opening `SessionOptions::input` (a live feed's ring, a
    /// real-time synthetic session); the input still names the chain.
    pub source: Option<Box<dyn mia_runtime::source::EventSource>>,
    /// A live session (paper, live, collect): the control thread runs whatever the venue.
    pub live: bool,
    /// The board a live session's gamma publisher writes (`GammaPublisher`); a journal replay
    /// loads its run's publications instead.
    pub board: Option<Arc<mia_signal::gates::gamma::GammaBoard>>,
    /// The session's gamma comes from its feed's own publications (an IBKR SPX chain), or not
    /// at all: the input names no chain (the live commands' input is only a placeholder for
    /// the synthetic source). The text is what the summary's `chain:` line says.
    pub chain_from_feed: Option<String>,
    /// Controls injected at event times `(ts_ns, control)`: each enters right after the first
    /// market event with `ts_recv ≥ ts_ns` (`Sequencer::schedule`), so the run stays a function
    /// of its input (deterministic kill-switch tests; a journal records them like any input).
    pub scheduled: Vec<(u64, Control)>,
    /// The chain publications (name, Cboe text) to adopt after the opening snapshot, when the
    /// caller's `source` is not the input's own stream (e.g. a synthetic session with planted
    /// episodes); `None`: [`Input::chain_publications`] of the input.
    pub publications: Option<Vec<(String, String)>>,
    /// Live metrics the sequencer, the stages and the journal publish into (a monitored
    /// session, `docs/monitoring.md`); `None`: nothing is published.
    pub metrics: Option<Arc<LiveMetrics>>,
    /// The board a session's model publisher writes (`crate::ml::ModelPublisher`); a journal
    /// replay loads its run's models instead.
    pub model_board: Option<Arc<mia_signal::gates::ml::ModelBoard>>,
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

/// A session ready to run.
pub struct Prepared {
    inputs: Inputs,
    stages: Vec<Box<dyn Stage>>,
    taps: Taps,
    pcfg: PipelineConfig,
    source_desc: String,
    chain: Option<String>,
    gamma: Option<GammaLevels>,
    journal: Option<JournalThread>,
    features_journal: Option<JournalThread>,
    control: Option<ControlThread>,
    stop: Arc<AtomicBool>,
    run: String,
    metrics: Option<Arc<LiveMetrics>>,
}

type JournalThread = JoinHandle<std::result::Result<mia_journal::JournalStats, mia_journal::JournalError>>;

/// Subdirectory of a run holding the features journal.
pub const FEATURES_DIR: &str = "features";
/// Capacity of the snapshot tap (snapshots come once a minute and per signal).
const SNAPSHOT_TAP_CAPACITY: usize = 4096;
/// Capacity of the trade-mark tap (two marks per round trip).
const TRADE_TAP_CAPACITY: usize = 1024;

fn pipeline_config(opts: &SessionOptions) -> PipelineConfig {
    let mut pcfg = opts.config.pipeline.clone();
    if let Some(m) = opts.mode {
        pcfg.mode = m;
    }
    if let Some(p) = opts.pace {
        pcfg.pace_events_per_sec = p;
    }
    pcfg
}

/// Opens the input, computes the opening gamma snapshot on the options thread, builds the
/// stages and starts the journal.
///
/// # Errors
/// A bad input, chain, output directory or journal (each error names it).
pub fn prepare(opts: &SessionOptions, extras: SessionExtras) -> Result<Prepared> {
    let cfg = &opts.config;
    let pcfg = pipeline_config(opts);
    let mut extras = extras;
    let mut source = match extras.source.take() {
        Some(s) => s,
        None => opts.input.open()?,
    };
    if let Some(n) = opts.max_events {
        source = Box::new(TakeSource::new(source, n));
    }
    // Options context: the cold side computes the levels before the first input; the session
    // opens with them (every run sees them from input 0).
    let feed_chain = extras.chain_from_feed.take();
    let chain = if feed_chain.is_some() { None } else { opts.input.chain()? };
    let gamma = match &chain {
        Some((name, text)) => Some(
            spawn_gamma_thread(name.clone(), text.clone(), None)?
                .join()
                .map_err(|_| anyhow!("mia-options: the options analytics thread panicked"))??,
        ),
        None => None,
    };
    // The input's later chain publications (the synthetic session's pre-RTH snapshots, or the
    // numbered chain files beside a file): adopted at their valuation times, journaled to
    // `RUN_DIR/gamma/` for the replay. A session whose board belongs to a live chain publisher
    // (`extras.board`) takes its snapshots from that publisher only.
    let publications = if chain.is_some() && extras.board.is_none() {
        let gdir =
            opts.out.as_ref().filter(|_| cfg.journal.enabled).map(|o| o.join(crate::app::gamma::GAMMA_DIR));
        let opening_ts = gamma.map(|g| g.valuation_ts_ns);
        let pubs = match extras.publications.take() {
            Some(p) => p,
            None => opts.input.chain_publications()?,
        };
        crate::app::gamma::schedule_publications(&pubs, opening_ts, gdir.as_deref())?
    } else {
        None
    };
    let mut scheduled = std::mem::take(&mut extras.scheduled);
    let mut publication_times = Vec::new();
    if let Some(p) = publications {
        scheduled.extend(p.schedule);
        publication_times = p.times;
        extras.board = Some(p.board);
    }
    let source_desc = source.describe().to_string();
    let mut taps = Taps::default();
    let stop = Arc::new(AtomicBool::new(false));
    let mut journal = None;
    let mut features_journal = None;
    let mut snapshot_tap = None;
    let mut trade_tap = None;
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
            let config_toml = toml::to_string(cfg).context("cannot serialize the config for the journal")?;
            writer.append_meta(&SessionMeta::now(
                &source_desc,
                opts.input.seed(),
                opts.run_mode.label(),
                config_toml,
            ))?;
            let (in_tx, in_rx) = rtrb::RingBuffer::new(cfg.journal.tap_capacity);
            let (out_tx, out_rx) = rtrb::RingBuffer::new(cfg.journal.tap_capacity);
            taps.input = Some(Tap::new(in_tx, cfg.journal.tap_policy));
            taps.output = Some(Tap::new(out_tx, cfg.journal.tap_policy));
            let jcfg =
                JournalThreadConfig { metrics: extras.metrics.clone(), ..JournalThreadConfig::default() };
            let h = spawn_journal_writer(writer, vec![in_rx, out_rx], stop.clone(), jcfg)
                .context("cannot start the journal thread")?;
            journal = Some(h);
            // The features journal: a snapshot at every 1-minute close and every signal, and a
            // trade snapshot at every entry and exit (`app::trade_snapshots`).
            let fdir = out.join(FEATURES_DIR);
            let fwriter =
                JournalWriter::create(&fdir, JournalConfig::with_segment_size(cfg.journal.segment_bytes))?;
            let (f_tx, f_rx) = rtrb::RingBuffer::new(SNAPSHOT_TAP_CAPACITY);
            snapshot_tap = Some(Tap::new(f_tx, cfg.journal.tap_policy));
            let (m_tx, m_rx) = rtrb::RingBuffer::new(TRADE_TAP_CAPACITY);
            trade_tap = Some(Tap::new(m_tx, cfg.journal.tap_policy));
            features_journal = Some(
                crate::app::trade_snapshots::spawn_features_journal(fwriter, f_rx, m_rx, stop.clone())
                    .context("cannot start the features journal thread")?,
            );
        }
    }
    // The control thread (kill files, signals): live sessions, and backtests that ask for it;
    // never a journal replay (its controls are in the journal).
    let live = extras.live || matches!(extras.venue, Some(VenueChoice::Live(_)));
    let mut side = extras.side;
    let mut control = None;
    if (live || cfg.control.backtest) && !source.has_recorded_inputs() {
        let files = cfg.control.kill_files(opts.out.as_deref());
        let poll = std::time::Duration::from_millis(cfg.control.poll_ms);
        let (t, rx) = ControlThread::spawn(files, cfg.control.signals, poll)?;
        side.push(rx);
        control = Some(t);
    }
    // A live session's journal replays against its recorded broker reports, not the simulator.
    let venue = extras.venue.unwrap_or_else(|| match opts.input.recorded_mode() {
        Some(RunMode::Live) => VenueChoice::LiveReplay,
        _ => VenueChoice::Sim,
    });
    // A journal replay puts the run's gamma publications back on a board, so each
    // `GammaPublished` in the journal adopts the levels the live session adopted.
    let board = match (&opts.input, extras.board.take()) {
        (_, Some(b)) => Some(b),
        (Input::Journal(dir), None) => crate::app::gamma::load_publications(dir)?.map(|(b, _)| b),
        _ => None,
    };
    let journal_in = match &opts.input {
        Input::Journal(dir) => Some(dir.as_path()),
        _ => None,
    };
    let mut models = crate::ml::session_models(&cfg.ml, journal_in, opts.out.as_deref())?;
    if let Some(b) = extras.model_board.take() {
        models.board = Some(b);
    }
    let profile = opts.profile.unwrap_or(opts.run_mode.default_profile());
    let run = format!("{} (profile {})", opts.run_mode.label(), profile.as_str());
    let metrics = extras.metrics.take();
    let stages = build_stages(
        cfg,
        StageParts {
            gamma_open: gamma,
            board,
            venue,
            instrument_id: 0,
            snapshot_tap,
            profile,
            metrics: metrics.clone(),
            trade_tap,
            models,
        },
    );
    Ok(Prepared {
        inputs: Inputs { source, side, metrics: metrics.clone(), scheduled, polls: extras.polls },
        stages,
        taps,
        pcfg,
        source_desc,
        chain: chain.map(|c| describe_chain(&c.0, &publication_times)).or(feed_chain),
        gamma,
        journal,
        features_journal,
        control,
        stop,
        run,
        metrics,
    })
}

/// The summary's `chain:` text: the opening chain's name, and the later publications.
fn describe_chain(name: &str, times: &[u64]) -> String {
    match (times.first(), times.last()) {
        (Some(a), Some(b)) => format!(
            "{name}; {} later publication(s), {} … {}",
            times.len(),
            crate::app::summary::fmt_chicago(*a),
            crate::app::summary::fmt_chicago(*b)
        ),
        _ => name.to_string(),
    }
}

/// The outcome of [`execute`]: the pipeline's report, the digest, the journal's count, and
/// what [`prepare`] learned that the summary needs.
pub struct Executed {
    report: RunReport,
    digest: DecisionDigest,
    journal_records: u64,
    source_desc: String,
    chain: Option<String>,
    gamma: Option<GammaLevels>,
    mode: Schedule,
    run: String,
}

/// Runs the pipeline and stops the journal.
///
/// # Errors
/// The journal thread failed.
pub fn execute(p: Prepared, progress: bool, hook: Option<fn(u64)>) -> Result<Executed> {
    let Prepared {
        inputs,
        stages,
        taps,
        pcfg,
        source_desc,
        chain,
        gamma,
        journal,
        features_journal,
        control,
        stop,
        run,
        metrics,
    } = p;
    let bar = progress_bar(progress);
    let mut on_progress = |n: u64| {
        if let Some(b) = &bar {
            b.set_position(n);
        }
        if let Some(h) = hook {
            h(n);
        }
    };
    let mut sink = DecisionSink { digest: DecisionDigest::new() };
    let report = pipeline::run(inputs, stages, &mut sink, taps, &pcfg, &mut on_progress);
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    stop.store(true, Ordering::Release);
    if let Some(c) = control {
        c.stop()?;
    }
    let journal_records = match journal {
        Some(h) => h.join().map_err(|_| anyhow!("mia-journal: the journal thread panicked"))??.records,
        None => 0,
    };
    if let Some(h) = features_journal {
        h.join().map_err(|_| anyhow!("mia-journal: the features journal thread panicked"))??;
    }
    if let Some(m) = &metrics {
        publish_latency(m, &report);
    }
    Ok(Executed {
        report,
        digest: sink.digest,
        journal_records,
        source_desc,
        chain,
        gamma,
        mode: pcfg.mode,
        run,
    })
}

/// The run's latency histograms (known at its end: the stages record them on their own
/// threads) into the metrics' latency slots, and the tap drops of both taps.
fn publish_latency(m: &LiveMetrics, report: &RunReport) {
    let hists = report.stage_latency.iter().chain(std::iter::once(&report.end_to_end));
    for h in hists {
        let slot = match h.name {
            "signal" => 0,
            "exec" => 1,
            "end_to_end" => 3,
            _ => continue,
        };
        if slot < LATENCY_SLOTS && !h.hist.is_empty() {
            let q = |p: f64| h.hist.value_at_quantile(p);
            let sum = (h.hist.mean() * h.hist.len() as f64) as u64;
            m.cold.set_latency(slot, h.hist.len(), sum, q(0.5), q(0.99), q(0.999));
        }
    }
    m.feed.set_tap_drops(report.tap_dropped);
}

/// Turns a run into its summary (errors first: nothing incomplete passes as a result) and
/// writes the artefacts.
///
/// # Errors
/// A thread failed, the source failed, the outbox overflowed, or an artefact cannot be written.
pub fn collect(e: Executed, out: Option<PathBuf>) -> Result<SessionSummary> {
    let Executed { report, digest, journal_records, source_desc, chain, gamma, mode, run } = e;
    if let Some(t) = &report.thread_error {
        bail!("{t}; the run is incomplete ({} events were processed)", report.events);
    }
    if let Some(err) = &report.source_error {
        bail!("{err} (the {} events before it were processed and journaled)", report.events);
    }
    if report.outbox_overflow > 0 {
        bail!("internal: {} stage outputs overflowed the outbox", report.outbox_overflow);
    }
    if report.stages.is_empty() {
        bail!("internal: stages not returned");
    }
    let mut stage_report = StageReport::default();
    stage_report.note("run", run);
    for s in &report.stages {
        s.report(&mut stage_report);
    }
    // The engine's executed entries: only the exec stage saw the fills.
    let executed = mia_exec::exec_stage::executed_by_tier(&stage_report);
    mia_signal::strategy::elite::apply_executed(&mut stage_report, &executed);
    let summary = SessionSummary::new(
        &report,
        &stage_report,
        &digest,
        source_desc,
        chain,
        gamma,
        mode,
        journal_records,
        out,
    )?;
    if let Some(dir) = &summary.out {
        write_artifacts(dir, &summary, &stage_report)?;
    }
    Ok(summary)
}

/// Runs one session with the simulator and writes its artefacts.
///
/// # Errors
/// See [`prepare`], [`execute`] and [`collect`].
pub fn run_session(opts: &SessionOptions) -> Result<SessionSummary> {
    run_session_with(opts, SessionExtras::default())
}

/// Runs one session with a chosen venue and side inputs.
///
/// # Errors
/// See [`prepare`], [`execute`] and [`collect`].
pub fn run_session_with(opts: &SessionOptions, extras: SessionExtras) -> Result<SessionSummary> {
    let p = prepare(opts, extras)?;
    let e = execute(p, opts.progress, opts.on_progress)?;
    collect(e, opts.out.clone())
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

/// What `mia gen` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GenSchema {
    /// MBP-10: one record per book action with the 10 levels after it (the generator's own form).
    Mbp10,
    /// MBO: individual orders (adds, cancels, trades, fills) whose 10-level view equals the
    /// MBP-10 session (`mia_feeds::synth_mbo`).
    Mbo,
}

impl GenSchema {
    /// Parses `mbp-10` or `mbo`.
    ///
    /// # Errors
    /// Any other name.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "mbp-10" | "mbp10" => Ok(GenSchema::Mbp10),
            "mbo" => Ok(GenSchema::Mbo),
            _ => bail!("--schema {s:?}: expected mbp-10 or mbo"),
        }
    }
}

/// `mia gen`: writes the synthetic session of `seed` over `days` trading days as a standard
/// DBN file (MBP-10, or MBO with `schema`), and its SPX chain (one snapshot at the start)
/// beside it as `STEM.chain.csv`.
///
/// # Errors
/// `days` is outside 1–60, or the file cannot be written.
pub fn generate_dbn(seed: u64, days: u32, out: &std::path::Path) -> Result<()> {
    generate(seed, days, GenSchema::Mbp10, out)
}

/// [`generate_dbn`] in the chosen schema.
///
/// # Errors
/// As [`generate_dbn`].
pub fn generate(seed: u64, days: u32, schema: GenSchema, out: &std::path::Path) -> Result<()> {
    use mia_feeds::synth::{SynthConfig, SynthSession};
    let cfg = SynthConfig { seed, days, ..SynthConfig::default() };
    let session = SynthSession::try_new(&cfg).map_err(|e| anyhow!("{e}"))?;
    let (start, end, id) = (session.start_ns(), session.end_ns(), session.instrument_id());
    let symbol = session.symbol().to_string();
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("{}: cannot create", parent.display()))?;
    }
    let (n, kind) = match schema {
        GenSchema::Mbp10 => (
            mia_feeds::dbn_write::write_mbp10_dbn(out, "GLBX.MDP3", &symbol, id, start, end, session)?,
            "MBP-10",
        ),
        GenSchema::Mbo => {
            let stream = mia_feeds::synth_mbo::MboStream::new(session);
            (mia_feeds::dbn_write::write_mbo_dbn(out, "GLBX.MDP3", &symbol, id, start, end, stream)?, "MBO")
        }
    };
    println!("wrote {n} {kind} records ({symbol}, seed {seed}, {days} day(s)) to {}", out.display());
    let input = Input::Synthetic { seed, days };
    if let Some((_, text)) = input.chain()? {
        let p = out.with_extension("chain.csv");
        std::fs::write(&p, text).with_context(|| format!("{}: cannot write", p.display()))?;
        println!("wrote the session's SPX chain (Cboe layout) to {}", p.display());
        let pubs = input.chain_publications()?;
        for (n, (_, text)) in pubs.iter().enumerate() {
            let q = crate::app::input::publication_path(&p, n + 1);
            std::fs::write(&q, text).with_context(|| format!("{}: cannot write", q.display()))?;
        }
        if !pubs.is_empty() {
            println!(
                "wrote its {} pre-RTH publication(s) beside it ({})",
                pubs.len(),
                crate::app::input::publication_path(&p, 1).display()
            );
        }
    }
    Ok(())
}
