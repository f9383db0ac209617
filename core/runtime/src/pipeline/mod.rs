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
//! The source thread assigns `Event::seq` (0, 1, 2, …) and stamps `Envelope::t0`.
//!
//! Taps: optional SPSC rings to a cold consumer (the journal writer). The input tap receives
//! every market event, the output tap every envelope that reaches the sink. With
//! [`TapPolicy::Block`] a full tap waits (backtests: lose nothing); with [`TapPolicy::Drop`]
//! the envelope is dropped and counted (live: never stall the hot path).

use crate::clock::Clock;
use crate::latency::LatencyHist;
use crate::source::{EventSource, SourceError};
use crate::stage::{Outbox, Stage};
use mia_model::msg::{Envelope, Msg};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Execution mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// All stages on the calling thread.
    Inline,
    /// One pinned thread per stage plus a feed thread.
    Threaded,
}

/// What to do when a tap ring is full.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TapPolicy {
    /// Wait for space (never lose a record).
    Block,
    /// Drop and count.
    Drop,
}

/// Runner settings.
#[derive(Clone, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PipelineConfig {
    /// Inline or threaded.
    pub mode: Mode,
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
    /// a core, higher when each has its own).
    pub idle_spins: u32,
    /// Feed pacing, events per second of wall time (0 = as fast as possible). When pacing,
    /// each event's `t0` is its *scheduled* send time, so a pipeline that falls behind shows
    /// the delay in its latency (no coordinated omission).
    pub pace_events_per_sec: u64,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        Self {
            mode: Mode::Inline,
            ring_capacity: 4096,
            cores: vec![0, 1, 1],
            stage_sample_every: 16,
            fuse_same_core: false,
            idle_spins: 16,
            pace_events_per_sec: 0,
        }
    }
}

/// Receives what leaves the last stage.
pub trait Sink {
    /// One output envelope, in order.
    fn on_output(&mut self, env: &Envelope);
}

/// A tap ring to a cold consumer.
pub struct Tap {
    /// Producer end.
    pub producer: rtrb::Producer<Envelope>,
    /// Full-ring policy.
    pub policy: TapPolicy,
    /// Envelopes dropped (policy `Drop`) or lost because the consumer went away.
    pub dropped: u64,
}

impl Tap {
    /// A tap over `producer`.
    pub fn new(producer: rtrb::Producer<Envelope>, policy: TapPolicy) -> Self {
        Self { producer, policy, dropped: 0 }
    }

    #[inline]
    fn send(&mut self, env: Envelope) {
        let mut item = env;
        let mut backoff = Backoff::new();
        loop {
            match self.producer.push(item) {
                Ok(()) => return,
                Err(rtrb::PushError::Full(back)) => {
                    if self.policy == TapPolicy::Drop || self.producer.is_abandoned() {
                        self.dropped += 1;
                        return;
                    }
                    item = back;
                    backoff.snooze();
                }
            }
        }
    }
}

/// The optional taps of a run.
#[derive(Default)]
pub struct Taps {
    /// Market events as they enter the first stage.
    pub input: Option<Tap>,
    /// Everything that reaches the sink.
    pub output: Option<Tap>,
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
}

/// Wait strategy for an idle ring: spin, then yield the CPU; a cold consumer (`sleepy`) then
/// sleeps, so it does not compete with the hot threads for cores.
struct Backoff {
    n: u32,
    spins: u32,
    sleepy: bool,
}

impl Backoff {
    fn new() -> Self {
        Self { n: 0, spins: 64, sleepy: false }
    }

    /// A hot-stage wait: spin `spins` times, then yield.
    fn hot(spins: u32) -> Self {
        Self { n: 0, spins, sleepy: false }
    }

    fn cold() -> Self {
        Self { n: 0, spins: 64, sleepy: true }
    }

    #[inline]
    fn snooze(&mut self) {
        if self.n < self.spins {
            std::hint::spin_loop();
        } else if !self.sleepy || self.n < self.spins + 64 {
            std::thread::yield_now();
        } else {
            std::thread::sleep(Duration::from_micros(500));
        }
        self.n = self.n.saturating_add(1);
    }

    #[inline]
    fn reset(&mut self) {
        self.n = 0;
    }
}

/// Progress counter shared with a progress display (events read so far).
pub type Progress = AtomicU64;

const PROGRESS_EVERY: u64 = 1 << 16;

/// Runs `source` through `stages` into `sink` in `cfg.mode`.
///
/// `progress`, when given, is updated every 65,536 events and polled by `on_progress`, which
/// the caller's thread calls periodically (a terminal progress bar).
pub fn run(
    source: Box<dyn EventSource>,
    stages: Vec<Box<dyn Stage>>,
    sink: &mut dyn Sink,
    taps: Taps,
    cfg: &PipelineConfig,
    on_progress: &mut dyn FnMut(u64),
) -> RunReport {
    Clock::init();
    match cfg.mode {
        Mode::Inline => run_inline(source, stages, sink, taps, cfg, on_progress),
        Mode::Threaded => run_threaded(source, stages, sink, taps, cfg, on_progress),
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

#[inline]
fn stamp(ev: &mut mia_model::event::Event, seq: u64) -> Envelope {
    ev.seq = seq;
    Envelope { t0: Clock::now(), msg: Msg::Market(*ev) }
}

/// Feed pacing: event `k` is due at `start + k · interval` clock ticks.
struct Pacer {
    start: u64,
    interval_ticks: f64,
}

impl Pacer {
    fn new(events_per_sec: u64) -> Option<Self> {
        (events_per_sec > 0).then(|| Self {
            start: Clock::now(),
            interval_ticks: Clock::ns_to_ticks(1e9 / events_per_sec as f64),
        })
    }

    /// Waits (spinning) until event `k` is due and returns its scheduled instant.
    #[inline]
    fn wait(&self, k: u64) -> u64 {
        let due = self.start + (k as f64 * self.interval_ticks) as u64;
        while Clock::now() < due {
            std::hint::spin_loop();
        }
        due
    }
}

/// The feed side of a run, shared by both modes: reads the source, assigns `seq`, stamps
/// `t0` (or the paced schedule), and copies each event to the input tap.
struct Feeder {
    source: Box<dyn EventSource>,
    pacer: Option<Pacer>,
    tap: Option<Tap>,
    seq: u64,
    error: Option<SourceError>,
}

impl Feeder {
    fn new(source: Box<dyn EventSource>, tap: Option<Tap>, cfg: &PipelineConfig) -> Self {
        Self { source, pacer: Pacer::new(cfg.pace_events_per_sec), tap, seq: 0, error: None }
    }

    /// The next envelope; `None` at the end of the source or at its first error (kept in
    /// `error`).
    #[inline(always)]
    fn next(&mut self) -> Option<Envelope> {
        match self.source.next_event() {
            Ok(Some(mut ev)) => {
                let mut env = stamp(&mut ev, self.seq);
                if let Some(p) = &self.pacer {
                    env.t0 = p.wait(self.seq);
                }
                self.seq += 1;
                if let Some(t) = self.tap.as_mut() {
                    t.send(env);
                }
                Some(env)
            }
            Ok(None) => None,
            Err(e) => {
                self.error = Some(e);
                None
            }
        }
    }

    /// True when a progress report is due after the latest envelope.
    #[inline]
    fn progress_due(&self) -> bool {
        self.seq.is_multiple_of(PROGRESS_EVERY)
    }

    fn tap_dropped(&self) -> u64 {
        self.tap.as_ref().map_or(0, |t| t.dropped)
    }
}

/// One stage of the inline chain with its own outbox and measurement state.
struct Link {
    stage: Box<dyn Stage>,
    outbox: Outbox,
    timer: StageTimer,
    hist: LatencyHist,
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

fn run_inline(
    source: Box<dyn EventSource>,
    stages: Vec<Box<dyn Stage>>,
    sink: &mut dyn Sink,
    mut taps: Taps,
    cfg: &PipelineConfig,
    on_progress: &mut dyn FnMut(u64),
) -> RunReport {
    let mut links = make_links(stages, cfg.stage_sample_every);
    let mut e2e = LatencyHist::new("end_to_end");
    let started = Instant::now();
    let mut feed = Feeder::new(source, taps.input.take(), cfg);
    {
        let out = SinkOut { sink, out_tap: &mut taps.output };
        let mut tail = Tail { e2e: &mut e2e, ends_pipeline: true, out };
        while let Some(env) = feed.next() {
            drive(&mut links, &mut tail, &env);
            if feed.progress_due() {
                on_progress(feed.seq);
            }
        }
        finish_links(&mut links, &mut tail);
    }
    on_progress(feed.seq);
    let tap_dropped = feed.tap_dropped() + taps.output.as_ref().map_or(0, |t| t.dropped);
    let elapsed = started.elapsed();
    let (stages_back, stage_latency, outbox_overflow) = unlink(links);
    RunReport {
        events: feed.seq,
        elapsed,
        stage_latency,
        end_to_end: e2e,
        tap_dropped,
        outbox_overflow,
        stages: stages_back,
        source_error: feed.error,
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
    {
        let mut tail = Tail { e2e: &mut e2e, ends_pipeline, out: RingOut(&mut tx) };
        loop {
            match rx.pop() {
                Ok(env) => {
                    backoff.reset();
                    drive(&mut links, &mut tail, &env);
                }
                Err(_) => {
                    if rx.is_abandoned() && rx.is_empty() {
                        break;
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
    source: Box<dyn EventSource>,
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
    let in_tap = taps.input.take();
    std::thread::scope(|scope| {
        // Rings: feed → s0 → s1 → … → sink.
        let (feed_tx, mut rx) = rtrb::RingBuffer::<Envelope>::new(cap);
        let groups = group_stages(stages, cfg);
        let ngroups = groups.len();
        let mut handles = Vec::with_capacity(ngroups);
        for (gi, (slot, group)) in groups.into_iter().enumerate() {
            let (tx, next_rx) = rtrb::RingBuffer::<Envelope>::new(cap);
            let stage_rx = std::mem::replace(&mut rx, next_rx);
            let last = gi + 1 == ngroups;
            let every = cfg.stage_sample_every;
            let spins = cfg.idle_spins;
            let name = format!("mia-stage-{gi}");
            let h = std::thread::Builder::new().name(name).spawn_scoped(scope, move || {
                pin(cfg, slot);
                stage_thread(group, stage_rx, tx, last, every, spins)
            });
            handles.push(h);
        }
        let progress_ref = &progress;
        let mut feeder = Feeder::new(source, in_tap, cfg);
        let feed = std::thread::Builder::new().name("mia-feed".into()).spawn_scoped(scope, move || {
            pin(cfg, 0);
            let mut tx = feed_tx;
            while let Some(env) = feeder.next() {
                if !push_blocking(&mut tx, env) {
                    break;
                }
                if feeder.progress_due() {
                    progress_ref.store(feeder.seq, Ordering::Relaxed);
                }
            }
            progress_ref.store(feeder.seq, Ordering::Relaxed);
            (feeder.seq, feeder.error.take(), feeder.tap_dropped())
        });
        // Sink loop on this thread (cold: sleeps when idle).
        let mut backoff = Backoff::cold();
        let mut last_progress = 0;
        loop {
            match rx.pop() {
                Ok(env) => {
                    backoff.reset();
                    sink.on_output(&env);
                    if let Some(t) = out_tap.as_mut() {
                        t.send(env);
                    }
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
        let (events, source_error, in_dropped) = match feed {
            Ok(h) => h.join().unwrap_or((0, None, 0)),
            Err(e) => (0, Some(SourceError::new("pipeline", "feed thread", e.to_string())), 0),
        };
        on_progress(events);
        let mut e2e = LatencyHist::new("end_to_end");
        let mut stage_latency = Vec::with_capacity(n);
        let mut stages_back = Vec::with_capacity(n);
        let mut overflow = 0;
        let mut spawn_error = None;
        for h in handles {
            match h {
                Ok(h) => {
                    if let Ok(r) = h.join() {
                        e2e.merge(&r.e2e);
                        stage_latency.extend(r.hists);
                        stages_back.extend(r.stages);
                        overflow += r.overflow;
                    }
                }
                Err(e) => spawn_error = Some(SourceError::new("pipeline", "stage thread", e.to_string())),
            }
        }
        let tap_dropped = in_dropped + out_tap.as_ref().map_or(0, |t| t.dropped);
        RunReport {
            events,
            elapsed: started.elapsed(),
            stage_latency,
            end_to_end: e2e,
            tap_dropped,
            outbox_overflow: overflow,
            stages: stages_back,
            source_error: source_error.or(spawn_error),
        }
    })
}
