//! The pipeline runner: a source, a chain of [`Stage`]s and a [`Sink`], in one of two modes.
//!
//! - **Inline**: every stage is called in sequence on the caller's thread (backtests, tests).
//! - **Threaded**: the source runs on a feed thread, each stage on its own thread, joined by
//!   `rtrb` SPSC rings of [`Envelope`]s; the sink runs on the caller's thread. Threads are
//!   pinned with `core_affinity` to the configured core ids (taken modulo the machine's core
//!   count, so a 2-core machine runs a 4-thread pipeline). An idle thread spins briefly, then
//!   yields the CPU (`sched_yield`) — a syscall only when there is no work.
//!
//! Both modes feed every stage the same envelope sequence, so they make the same decisions.
//! The [`Sequencer`] (on the feed thread) merges the source with the side inputs (venue
//! reports, control), assigns `seq` (0, 1, 2, … over all inputs) and stamps `Envelope::t0`.
//!
//! A thread that panics ends the run with an error naming it ([`RunReport::thread_error`]);
//! nothing is reported as a clean, shorter run.
//!
//! Taps ([`tap`]): optional SPSC rings to a cold consumer (the journal writer). The input tap
//! receives every sequenced input, the output tap every envelope that reaches the sink. With
//! [`TapPolicy::Block`] a full tap waits (backtests: lose nothing); with [`TapPolicy::Drop`]
//! the envelope is dropped and counted (live: never stall the hot path).

pub mod tap;

use crate::clock::Clock;
use crate::latency::LatencyHist;
use crate::sequencer::{Sequencer, SideInput};
use crate::source::{EventSource, SourceError};
use crate::stage::{Outbox, Stage};
use mia_model::msg::{Envelope, Msg};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
#[cfg(doc)]
use tap::TapPolicy;
use tap::{Backoff, Tap, Taps};

/// How the stages are scheduled on threads (not the run mode: backtest, paper and live are
/// `RunMode`s of the assembly, each of which may run with either schedule).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Schedule {
    /// All stages on the calling thread.
    Inline,
    /// One pinned thread per stage plus a feed thread.
    Threaded,
}

/// Runner settings.
#[derive(Clone, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PipelineConfig {
    /// Inline or threaded.
    pub mode: Schedule,
    /// Capacity of each inter-stage ring (envelopes).
    pub ring_capacity: usize,
    /// Core ids to pin to: `[feed, stage 0, stage 1, …]`; empty = no pinning.
    pub cores: Vec<usize>,
    /// Record each stage's service time on every n-th envelope (1 = all).
    pub stage_sample_every: u32,
    /// Run consecutive stages pinned to the same core on one thread (an inline chain inside the
    /// thread) instead of one thread each: on a machine with fewer cores than stages this
    /// removes the hand-off between threads that can only take turns on the core.
    pub fuse_same_core: bool,
    /// Spins of an idle hot stage before it yields the CPU (lower is better when stages share
    /// a core, higher when each has its own); also the sequencer's while a live feed's ring
    /// is empty ([`Sequencer::set_idle_spins`]).
    pub idle_spins: u32,
    /// Feed pacing, events per second of wall time (0 = as fast as possible). When pacing,
    /// each event's `t0` is its *scheduled* send time, so a pipeline that falls behind shows
    /// the delay in its latency (no coordinated omission).
    pub pace_events_per_sec: u64,
    /// While a live feed is quiet, the sequencer inserts a `Control::Timer` input after this
    /// many milliseconds without any input (0 = never), so that event time, and with it the
    /// exec stage's timeouts (cancel retries, exits waiting for cancels, time exits, the risk
    /// manager's stale-feed guard), advances when the market does not
    /// ([`Sequencer::set_live_timer`]). Ignored by non-live sources.
    pub live_timer_ms: u64,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        Self {
            mode: Schedule::Inline,
            ring_capacity: 4096,
            cores: vec![0, 1, 1],
            stage_sample_every: 16,
            fuse_same_core: false,
            idle_spins: 16,
            pace_events_per_sec: 0,
            live_timer_ms: 100,
        }
    }
}

/// Receives what leaves the last stage.
pub trait Sink {
    /// One output envelope, in order.
    fn on_output(&mut self, env: &Envelope);
}

/// What a run returns.
pub struct RunReport {
    /// Market events read from the source.
    pub events: u64,
    /// Wall-clock duration of the run.
    pub elapsed: Duration,
    /// Per-stage service-time histograms (sampled), in stage order.
    pub stage_latency: Vec<LatencyHist>,
    /// Decode → order intent out of the last stage, for every intent.
    pub end_to_end: LatencyHist,
    /// Tap envelopes dropped (input + output).
    pub tap_dropped: u64,
    /// Outputs lost because a stage emitted more than the outbox holds.
    pub outbox_overflow: u64,
    /// The stages, returned for end-of-run inspection.
    pub stages: Vec<Box<dyn Stage>>,
    /// A source error that ended the run early (everything before it was processed).
    pub source_error: Option<SourceError>,
    /// A pipeline thread that could not start or panicked (the run's results are incomplete).
    pub thread_error: Option<String>,
    /// Inputs sequenced (market events + side inputs).
    pub inputs: u64,
}

/// The inputs of a run: the market source and the side rings the sequencer merges with it.
pub struct Inputs {
    /// Market data (or a journal, which also yields recorded side inputs).
    pub source: Box<dyn EventSource>,
    /// Rings from other threads (venue reports, control).
    pub side: Vec<SideInput>,
    /// Live metrics the sequencer publishes into (`None`: nothing published).
    pub metrics: Option<std::sync::Arc<crate::metrics::LiveMetrics>>,
    /// Controls sequenced at event times ([`Sequencer::schedule`]).
    pub scheduled: Vec<(u64, mia_model::msg::Control)>,
    /// Broker edges run on the sequencer's thread ([`Sequencer::fuse`]). Meant for inline
    /// runs: a threaded run's sequencer (and so each edge's `finish`) ends on the feed thread
    /// before the stages have drained, so intents of the last envelopes would not be sent.
    pub polls: Vec<Box<dyn crate::source::LivePoll>>,
}

impl Inputs {
    /// A source with no side inputs.
    pub fn source(source: Box<dyn EventSource>) -> Self {
        Self { source, side: Vec::new(), metrics: None, scheduled: Vec::new(), polls: Vec::new() }
    }
}

/// Progress counter shared with a progress display (events read so far).
pub type Progress = AtomicU64;

const PROGRESS_EVERY: u64 = 1 << 16;
/// Inputs between two latency publications of a monitored inline run.
const LATENCY_EVERY: u64 = 1 << 14;

/// Runs `source` through `stages` into `sink` in `cfg.mode`.
///
/// `progress`, when given, is updated every 65,536 events and polled by `on_progress`, which
/// the caller's thread calls periodically (a terminal progress bar).
pub fn run(
    inputs: Inputs,
    stages: Vec<Box<dyn Stage>>,
    sink: &mut dyn Sink,
    mut taps: Taps,
    cfg: &PipelineConfig,
    on_progress: &mut dyn FnMut(u64),
) -> RunReport {
    Clock::init();
    let mut seq = Sequencer::new(inputs.source, inputs.side, taps.input.take(), cfg.pace_events_per_sec);
    seq.set_idle_spins(cfg.idle_spins);
    seq.set_live_timer(std::time::Duration::from_millis(cfg.live_timer_ms));
    seq.schedule(inputs.scheduled);
    seq.fuse(inputs.polls);
    let metrics = inputs.metrics;
    if let Some(m) = &metrics {
        seq.attach_metrics(std::sync::Arc::clone(m));
    }
    match cfg.mode {
        Schedule::Inline => run_inline(seq, stages, sink, taps, cfg, on_progress, metrics.as_deref()),
        Schedule::Threaded => run_threaded(seq, stages, sink, taps, cfg, on_progress),
    }
}

/// Per-stage measurement state on the thread that runs a stage.
struct StageTimer {
    every: u32,
    countdown: u32,
}

impl StageTimer {
    fn new(every: u32) -> Self {
        Self { every: every.max(1), countdown: 0 }
    }

    /// True when this envelope should be timed.
    #[inline]
    fn sample(&mut self) -> bool {
        if self.countdown == 0 {
            self.countdown = self.every - 1;
            true
        } else {
            self.countdown -= 1;
            false
        }
    }
}

#[inline]
fn record_e2e(e2e: &mut LatencyHist, env: &Envelope) {
    if let Msg::Intent(_) = env.msg {
        if env.t0 != 0 {
            e2e.record(Clock::ticks_to_ns(Clock::now().saturating_sub(env.t0)));
        }
    }
}

/// One stage of the inline chain with its own outbox and measurement state.
struct Link {
    stage: Box<dyn Stage>,
    outbox: Outbox,
    timer: StageTimer,
    hist: LatencyHist,
    /// The stage's [`Stage::wants_idle`], asked once.
    idle: bool,
}

/// Where a chain's final outputs go: the sink (inline mode) or the next ring (a thread).
trait ChainOut {
    fn emit(&mut self, env: &Envelope);
}

/// Inline mode: the sink, and the output tap.
struct SinkOut<'a> {
    sink: &'a mut dyn Sink,
    out_tap: &'a mut Option<Tap>,
}

impl ChainOut for SinkOut<'_> {
    #[inline]
    fn emit(&mut self, env: &Envelope) {
        self.sink.on_output(env);
        if let Some(t) = self.out_tap.as_mut() {
            t.send(*env);
        }
    }
}

/// A stage thread: the ring to the next thread (or to the sink).
struct RingOut<'a>(&'a mut rtrb::Producer<Envelope>);

impl ChainOut for RingOut<'_> {
    #[inline]
    fn emit(&mut self, env: &Envelope) {
        push_blocking(self.0, *env);
    }
}

/// The end of a chain: where outputs go, and whether this chain ends the pipeline (then each
/// order intent's end-to-end latency is recorded as it leaves).
struct Tail<'a, O: ChainOut> {
    e2e: &'a mut LatencyHist,
    ends_pipeline: bool,
    out: O,
}

/// Runs `env` through `links` (recursively, by reference: envelopes are not copied between
/// stages) and hands the last stage's outputs to the tail.
#[inline]
fn drive<O: ChainOut>(links: &mut [Link], tail: &mut Tail<'_, O>, env: &Envelope) {
    let Some((link, rest)) = links.split_first_mut() else {
        tail.out.emit(env);
        return;
    };
    if link.timer.sample() {
        let a = Clock::now();
        link.stage.on_envelope(env, &mut link.outbox);
        link.hist.record(Clock::ticks_to_ns(Clock::now().saturating_sub(a)));
    } else {
        link.stage.on_envelope(env, &mut link.outbox);
    }
    drain(link, rest, tail);
}

#[inline]
fn drain<O: ChainOut>(link: &mut Link, rest: &mut [Link], tail: &mut Tail<'_, O>) {
    let last = rest.is_empty() && tail.ends_pipeline;
    for out in link.outbox.as_slice() {
        if last {
            record_e2e(tail.e2e, out);
        }
        drive(rest, tail, out);
    }
    link.outbox.clear();
}

/// The idle hook of the links whose stage uses it.
#[inline]
fn idle(links: &mut [Link]) {
    for link in links.iter_mut().filter(|l| l.idle) {
        link.stage.on_idle();
    }
}

fn finish_links<O: ChainOut>(links: &mut [Link], tail: &mut Tail<'_, O>) {
    for i in 0..links.len() {
        let (head, rest) = links.split_at_mut(i + 1);
        let link = &mut head[i];
        link.stage.finish(&mut link.outbox);
        drain(link, rest, tail);
    }
}

/// Wraps stages into links (set-up, allocates).
fn make_links(stages: Vec<Box<dyn Stage>>, sample_every: u32) -> Vec<Link> {
    stages
        .into_iter()
        .map(|stage| Link {
            hist: LatencyHist::new(stage.name()),
            idle: stage.wants_idle(),
            stage,
            outbox: Outbox::new(),
            timer: StageTimer::new(sample_every),
        })
        .collect()
}

/// Splits links back into stages and their histograms (after a run).
fn unlink(links: Vec<Link>) -> (Vec<Box<dyn Stage>>, Vec<LatencyHist>, u64) {
    let overflow = links.iter().map(|l| l.outbox.overflow()).sum();
    let mut stages = Vec::with_capacity(links.len());
    let mut hists = Vec::with_capacity(links.len());
    for l in links {
        stages.push(l.stage);
        hists.push(l.hist);
    }
    (stages, hists, overflow)
}

/// The latency percentiles so far into `m`'s latency slots (signal, exec, end to end): every
/// 16,384 inputs of an inline run (a walk over each histogram's buckets, no allocation).
#[cold]
fn publish_latency(m: &crate::metrics::LiveMetrics, links: &[Link], e2e: &LatencyHist) {
    for h in links.iter().map(|l| &l.hist).chain(std::iter::once(e2e)) {
        let slot = match h.name {
            "signal" => 0,
            "exec" => 1,
            "end_to_end" => 3,
            _ => continue,
        };
        let n = h.hist.len();
        if n > 0 {
            let q = |p: f64| h.hist.value_at_quantile(p);
            let sum = (h.hist.mean() * n as f64) as u64;
            m.cold.set_latency(slot, n, sum, q(0.5), q(0.99), q(0.999));
        }
    }
}

fn run_inline(
    mut feed: Sequencer,
    stages: Vec<Box<dyn Stage>>,
    sink: &mut dyn Sink,
    mut taps: Taps,
    cfg: &PipelineConfig,
    on_progress: &mut dyn FnMut(u64),
    metrics: Option<&crate::metrics::LiveMetrics>,
) -> RunReport {
    let mut links = make_links(stages, cfg.stage_sample_every);
    let mut e2e = LatencyHist::new("end_to_end");
    let started = Instant::now();
    {
        let out = SinkOut { sink, out_tap: &mut taps.output };
        let mut tail = Tail { e2e: &mut e2e, ends_pipeline: true, out };
        // Progress at every PROGRESS_EVERY-th market event (once each: control inputs do not
        // shift the reports off the multiples).
        let mut reported = 0;
        while let Some(env) = feed.next_input() {
            drive(&mut links, &mut tail, &env);
            // The input and everything it caused have left the chain: this thread is the
            // chain's idle time.
            idle(&mut links);
            let events = feed.events();
            if events.is_multiple_of(PROGRESS_EVERY) && events != reported {
                reported = events;
                on_progress(events);
            }
            if let Some(m) = metrics {
                if feed.inputs().is_multiple_of(LATENCY_EVERY) {
                    publish_latency(m, &links, tail.e2e);
                }
            }
        }
        finish_links(&mut links, &mut tail);
    }
    on_progress(feed.events());
    let tap_dropped = feed.tap_dropped() + taps.output.as_ref().map_or(0, |t| t.dropped);
    let elapsed = started.elapsed();
    let (stages_back, stage_latency, outbox_overflow) = unlink(links);
    RunReport {
        events: feed.events(),
        inputs: feed.inputs(),
        elapsed,
        stage_latency,
        end_to_end: e2e,
        tap_dropped,
        outbox_overflow,
        stages: stages_back,
        source_error: feed.error.take(),
        thread_error: None,
    }
}

fn pin(cfg: &PipelineConfig, slot: usize) {
    let Some(&want) = cfg.cores.get(slot) else { return };
    if let Some(ids) = core_affinity::get_core_ids() {
        if !ids.is_empty() {
            let _ = core_affinity::set_for_current(ids[want % ids.len()]);
        }
    }
}

/// Pushes with back-pressure; returns false if the consumer is gone.
#[inline]
fn push_blocking(p: &mut rtrb::Producer<Envelope>, env: Envelope) -> bool {
    let mut item = env;
    let mut backoff = Backoff::new();
    loop {
        match p.push(item) {
            Ok(()) => return true,
            Err(rtrb::PushError::Full(back)) => {
                if p.is_abandoned() {
                    return false;
                }
                item = back;
                backoff.snooze();
            }
        }
    }
}

struct StageResult {
    stages: Vec<Box<dyn Stage>>,
    hists: Vec<LatencyHist>,
    e2e: LatencyHist,
    overflow: u64,
}

/// A stage thread: runs its group of consecutive stages (one, unless
/// [`PipelineConfig::fuse_same_core`] grouped several) on every envelope from `rx`.
fn stage_thread(
    group: Vec<Box<dyn Stage>>,
    mut rx: rtrb::Consumer<Envelope>,
    mut tx: rtrb::Producer<Envelope>,
    ends_pipeline: bool,
    sample_every: u32,
    idle_spins: u32,
) -> StageResult {
    let mut links = make_links(group, sample_every);
    let mut e2e = LatencyHist::new("end_to_end");
    let mut backoff = Backoff::hot(idle_spins);
    // Whether the stages were told of the current spell of an empty ring (once per spell).
    let mut idled = false;
    {
        let mut tail = Tail { e2e: &mut e2e, ends_pipeline, out: RingOut(&mut tx) };
        loop {
            match rx.pop() {
                Ok(env) => {
                    backoff.reset();
                    idled = false;
                    drive(&mut links, &mut tail, &env);
                }
                Err(_) => {
                    if rx.is_abandoned() && rx.is_empty() {
                        break;
                    }
                    if !idled {
                        idled = true;
                        idle(&mut links);
                        continue;
                    }
                    backoff.snooze();
                }
            }
        }
        finish_links(&mut links, &mut tail);
    }
    let (stages, hists, overflow) = unlink(links);
    StageResult { stages, hists, e2e, overflow }
}

/// Groups consecutive stages into threads: one stage per thread, or, with `fuse`, every run of
/// consecutive stages pinned to the same core (after taking ids modulo the core count) in one
/// thread. Returns `(core slot of the group's first stage, stages)`.
fn group_stages(stages: Vec<Box<dyn Stage>>, cfg: &PipelineConfig) -> Vec<(usize, Vec<Box<dyn Stage>>)> {
    let ncores = core_affinity::get_core_ids().map_or(1, |v| v.len().max(1));
    let core_of = |slot: usize| cfg.cores.get(slot).map(|c| c % ncores);
    let mut groups: Vec<(usize, Vec<Box<dyn Stage>>)> = Vec::new();
    for (i, stage) in stages.into_iter().enumerate() {
        let slot = i + 1;
        match groups.last_mut() {
            Some((first, g))
                if cfg.fuse_same_core && core_of(*first).is_some() && core_of(*first) == core_of(slot) =>
            {
                g.push(stage)
            }
            _ => groups.push((slot, vec![stage])),
        }
    }
    groups
}

fn run_threaded(
    mut feeder: Sequencer,
    stages: Vec<Box<dyn Stage>>,
    sink: &mut dyn Sink,
    mut taps: Taps,
    cfg: &PipelineConfig,
    on_progress: &mut dyn FnMut(u64),
) -> RunReport {
    let cap = cfg.ring_capacity.max(2);
    let progress = Progress::new(0);
    let started = Instant::now();
    let n = stages.len();
    let mut out_tap = taps.output.take();
    std::thread::scope(|scope| {
        // Rings: feed → s0 → s1 → … → sink.
        let (feed_tx, mut rx) = rtrb::RingBuffer::<Envelope>::new(cap);
        let groups = group_stages(stages, cfg);
        let ngroups = groups.len();
        let mut handles = Vec::with_capacity(ngroups);
        let mut thread_error: Option<String> = None;
        for (gi, (slot, group)) in groups.into_iter().enumerate() {
            let (tx, next_rx) = rtrb::RingBuffer::<Envelope>::new(cap);
            let stage_rx = std::mem::replace(&mut rx, next_rx);
            let last = gi + 1 == ngroups;
            let every = cfg.stage_sample_every;
            let spins = cfg.idle_spins;
            let name = format!("mia-stage-{gi}");
            match std::thread::Builder::new().name(name.clone()).spawn_scoped(scope, move || {
                pin(cfg, slot);
                stage_thread(group, stage_rx, tx, last, every, spins)
            }) {
                Ok(h) => handles.push((name, h)),
                Err(e) => thread_error = Some(format!("{name}: cannot start: {e}")),
            }
        }
        let progress_ref = &progress;
        let feed = std::thread::Builder::new().name("mia-feed".into()).spawn_scoped(scope, move || {
            pin(cfg, 0);
            let mut tx = feed_tx;
            while let Some(env) = feeder.next_input() {
                if !push_blocking(&mut tx, env) {
                    break;
                }
                let events = feeder.events();
                if events.is_multiple_of(PROGRESS_EVERY) {
                    progress_ref.store(events, Ordering::Relaxed);
                }
            }
            progress_ref.store(feeder.events(), Ordering::Relaxed);
            (feeder.events(), feeder.inputs(), feeder.error.take(), feeder.tap_dropped())
        });
        // Sink loop on this thread (cold: sleeps when idle).
        let mut backoff = Backoff::cold();
        let mut last_progress = 0;
        let mut out = SinkOut { sink, out_tap: &mut out_tap };
        loop {
            match rx.pop() {
                Ok(env) => {
                    backoff.reset();
                    out.emit(&env);
                }
                Err(_) => {
                    if rx.is_abandoned() && rx.is_empty() {
                        break;
                    }
                    let p = progress.load(Ordering::Relaxed);
                    if p != last_progress {
                        last_progress = p;
                        on_progress(p);
                    }
                    backoff.snooze();
                }
            }
        }
        let (events, inputs, source_error, in_dropped) = match feed.map(|h| h.join()) {
            Ok(Ok(r)) => r,
            Ok(Err(_)) => {
                thread_error = Some("mia-feed: the feed thread panicked".into());
                (0, 0, None, 0)
            }
            Err(e) => {
                thread_error = Some(format!("mia-feed: cannot start: {e}"));
                (0, 0, None, 0)
            }
        };
        on_progress(events);
        let mut e2e = LatencyHist::new("end_to_end");
        let mut stage_latency = Vec::with_capacity(n);
        let mut stages_back = Vec::with_capacity(n);
        let mut overflow = 0;
        for (name, h) in handles {
            match h.join() {
                Ok(r) => {
                    e2e.merge(&r.e2e);
                    stage_latency.extend(r.hists);
                    stages_back.extend(r.stages);
                    overflow += r.overflow;
                }
                Err(_) => thread_error = Some(format!("{name}: the stage thread panicked")),
            }
        }
        let tap_dropped = in_dropped + out_tap.as_ref().map_or(0, |t| t.dropped);
        RunReport {
            events,
            inputs,
            elapsed: started.elapsed(),
            stage_latency,
            end_to_end: e2e,
            tap_dropped,
            outbox_overflow: overflow,
            stages: stages_back,
            source_error,
            thread_error,
        }
    })
}
