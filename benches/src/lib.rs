//! Shared helpers for the criterion benches and the instruction-count gate.
//!
//! Everything here is cold: inputs are generated once, before any measurement, from the
//! deterministic synthetic ES session ([`SynthSession`], default [`SynthConfig`] unless a seed
//! is given), so every bench sees the same realistic mix of book updates and trades and its
//! branch predictors are exercised as on a real session rather than on one repeated record.
//!
//! - [`synthetic_records`]: raw MBP-10 records (the normalizer's input);
//! - [`synthetic_events`]: normalized [`Event`]s with `seq` assigned (the stages' input);
//! - [`level_events`]: only the `Level` events (the book's input);
//! - [`stages`]: the decision path `[SignalStage, ExecStage]`, built by the binary's own
//!   assembly;
//! - [`VecSource`] and [`CountingSink`]: an owning in-memory source and a do-nothing sink for
//!   whole-pipeline runs through [`mia_runtime::pipeline::run`].

use std::sync::Arc;

use dbn::Mbp10Msg;
use mia_feeds::dbn_source::Mbp10IterSource;
use mia_feeds::synth::{SynthConfig, SynthSession};
use mia_model::event::{Event, EventKind};
use mia_model::msg::{Envelope, Msg};
use mia_runtime::pipeline::Sink;
use mia_runtime::source::{EventSource, SourceError};
use mia_runtime::stage::{Outbox, Stage};
use mia_tools::app::config::Config;
use mia_tools::app::stages::{build_stages, StageParts};

/// Seed of the synthetic session used by the benches (the generator's default seed).
pub const BENCH_SEED: u64 = 42;

/// The synthetic session the benches draw their inputs from.
fn session(seed: u64) -> SynthSession {
    SynthSession::new(&SynthConfig { seed, ..SynthConfig::default() })
}

/// The first `n` MBP-10 records of the synthetic session of [`BENCH_SEED`] (fewer if the
/// session is shorter: a default session has about 700,000 records).
pub fn synthetic_records(n: usize) -> Vec<Mbp10Msg> {
    session(BENCH_SEED).take(n).collect()
}

/// The first `n` market events from the RTH open (08:30 CT) of the synthetic session of `seed`, normalized by the MBP-10
/// normalizer exactly as the `mia` binary's synthetic source does, with `Event::seq` set to
/// the position in the stream (0, 1, 2, …) as the pipeline source would assign it.
///
/// Returns fewer than `n` events only if the session ends first (a default session yields
/// well over a million events).
pub fn synthetic_events_seeded(seed: u64, n: usize) -> Vec<Event> {
    let s = session(seed);
    // From the RTH open: the thin overnight segment of the synthetic day is not what a
    // per-event figure should describe (and the foundation's figures were RTH-only).
    let from = s.days().first().map_or(0, |d| d.rth_open_ns);
    let mut src = Mbp10IterSource::new("bench synthetic session", s);
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        // The synthetic source never fails; stop at its end (or at an error) either way.
        match src.next_event() {
            Ok(Some(ev)) if ev.ts_recv < from => {}
            Ok(Some(mut ev)) => {
                ev.seq = out.len() as u64;
                out.push(ev);
            }
            Ok(None) | Err(_) => break,
        }
    }
    out
}

/// [`synthetic_events_seeded`] for [`BENCH_SEED`].
pub fn synthetic_events(n: usize) -> Vec<Event> {
    synthetic_events_seeded(BENCH_SEED, n)
}

/// The first `n` `Level` events of the synthetic session of [`BENCH_SEED`], in stream order
/// (trades, clears and status events are skipped).
pub fn level_events(n: usize) -> Vec<Event> {
    let mut src = Mbp10IterSource::new("bench synthetic session", session(BENCH_SEED));
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        match src.next_event() {
            Ok(Some(ev)) if ev.kind == EventKind::Level => out.push(ev),
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => break,
        }
    }
    out
}

/// The decision path for `cfg`, built by the one assembly the `mia` binary uses
/// ([`mia_tools::app::stages::build_stages`], simulated venue, no chain).
pub fn stages(cfg: &Config) -> Vec<Box<dyn Stage>> {
    build_stages(cfg, StageParts::default())
}

/// What one event did in a [`StageChain`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Step {
    /// Signals the signal stage emitted (each becomes the exec stage's intents).
    pub signals: usize,
    /// Outputs of the last stage.
    pub outputs: usize,
}

/// `SignalStage` → `ExecStage` driven as the inline runner drives them, minus its timing and
/// taps: the one harness of the benches and examples that step the decision path by hand.
pub struct StageChain {
    stages: Vec<Box<dyn Stage>>,
    mid: Outbox,
    out: Outbox,
}

impl StageChain {
    /// The decision path of `cfg` ([`stages`]).
    pub fn new(cfg: &Config) -> Self {
        Self { stages: stages(cfg), mid: Outbox::new(), out: Outbox::new() }
    }

    /// One market event through both stages, then their idle hook, as the inline runner
    /// does ([`Self::serve`] then [`Self::idle`]).
    #[inline]
    pub fn step(&mut self, ev: &Event) -> Step {
        let s = self.serve(ev);
        self.idle();
        s
    }

    /// The stages' idle hook ([`Stage::on_idle`]: the signal stage's rehearsal runs here).
    #[inline]
    pub fn idle(&mut self) {
        for s in &mut self.stages {
            s.on_idle();
        }
    }

    /// One market event through both stages, without the idle hook: its service time alone.
    #[inline]
    pub fn serve(&mut self, ev: &Event) -> Step {
        let env = Envelope { t0: 1, msg: Msg::Market(*ev) };
        let [market, exec] = &mut self.stages[..] else { unreachable!("two stages") };
        market.on_envelope(&env, &mut self.mid);
        let mut signals = 0;
        for k in 0..self.mid.len() {
            if let Some(e) = self.mid.get(k) {
                signals += usize::from(matches!(e.msg, Msg::Signal(_)));
                exec.on_envelope(&e, &mut self.out);
            }
        }
        self.mid.clear();
        let outputs = self.out.len();
        self.out.clear();
        Step { signals, outputs }
    }
}

/// An [`EventSource`] that owns its events (shared, so building one per run does not copy
/// them); `mia_runtime::pipeline::run` needs a `'static` source, which a borrowing
/// [`mia_runtime::source::SliceSource`] is not.
#[derive(Clone, Debug)]
pub struct VecSource {
    events: Arc<[Event]>,
    pos: usize,
}

impl VecSource {
    /// A source yielding `events` from the start.
    pub fn new(events: Arc<[Event]>) -> Self {
        Self { events, pos: 0 }
    }
}

impl EventSource for VecSource {
    fn describe(&self) -> &str {
        "bench events"
    }

    #[inline]
    fn next_event(&mut self) -> Result<Option<Event>, SourceError> {
        let e = self.events.get(self.pos).copied();
        self.pos += usize::from(e.is_some());
        Ok(e)
    }
}

/// A [`Sink`] that only counts what reaches it (a no-op sink that the optimizer cannot remove).
#[derive(Clone, Copy, Debug, Default)]
pub struct CountingSink {
    /// Envelopes received.
    pub outputs: u64,
}

impl Sink for CountingSink {
    #[inline]
    fn on_output(&mut self, _env: &Envelope) {
        self.outputs += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_are_deterministic_and_sequenced() {
        let a = synthetic_events(2_000);
        let b = synthetic_events(2_000);
        assert_eq!(a.len(), 2_000);
        assert_eq!(a, b);
        assert!(a.iter().enumerate().all(|(i, e)| e.seq == i as u64));
        assert!(a.iter().any(|e| e.kind == EventKind::Trade));
        let l = level_events(500);
        assert_eq!(l.len(), 500);
        assert!(l.iter().all(|e| e.kind == EventKind::Level));
        assert_eq!(synthetic_records(300).len(), 300);
    }

    #[test]
    fn stages_are_the_binarys() {
        let s = stages(&Config::default());
        assert_eq!(s.iter().map(|s| s.name()).collect::<Vec<_>>(), ["signal", "exec"]);
    }
}
