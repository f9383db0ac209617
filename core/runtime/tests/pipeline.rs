//! The pipeline runner with toy stages: inline, threaded and fused runs feed every stage the
//! same envelope sequence; a stage may emit several outputs per input or drop inputs; a tap
//! under `Drop` loses (and counts) what a full ring cannot take without stalling the hot path,
//! under `Block` it loses nothing; a panicking stage ends the run with a thread error.

use mia_model::event::{flags, Event, Side};
use mia_model::msg::{Envelope, Msg, Signal};
use mia_runtime::pipeline::tap::{Tap, TapPolicy, Taps};
use mia_runtime::pipeline::{run, Inputs, PipelineConfig, Schedule, Sink};
use mia_runtime::source::{EventSource, SourceError};
use mia_runtime::stage::{Outbox, Stage};

/// An owning in-memory source.
struct VecSource {
    events: Vec<Event>,
    pos: usize,
}

impl EventSource for VecSource {
    fn describe(&self) -> &str {
        "toy events"
    }

    fn next_event(&mut self) -> Result<Option<Event>, SourceError> {
        let e = self.events.get(self.pos).copied();
        self.pos += usize::from(e.is_some());
        Ok(e)
    }
}

fn events(n: u64) -> Vec<Event> {
    (0..n)
        .map(|i| {
            Event::trade(
                i,
                i,
                Side::Bid,
                (4000 + (i % 7) as i64) * 1_000_000_000,
                1 + (i % 3) as u32,
                flags::LAST,
            )
        })
        .collect()
}

/// Forwards every input and adds a signal after each trade whose price is even (in points).
struct Emit;

impl Stage for Emit {
    fn name(&self) -> &'static str {
        "emit"
    }

    fn on_envelope(&mut self, env: &Envelope, out: &mut Outbox) {
        out.push(*env);
        if let Msg::Market(ev) = env.msg {
            if (ev.price / 1_000_000_000) % 2 == 0 {
                let s =
                    Signal { seq: ev.seq, ts: ev.ts_recv, confidence: ev.size as f32, ..Signal::default() };
                out.push(Envelope { t0: env.t0, msg: Msg::Signal(s) });
            }
        }
    }
}

/// Drops market events, forwards signals, keeps a running checksum of what it saw.
struct Filter {
    seen: u64,
}

impl Stage for Filter {
    fn name(&self) -> &'static str {
        "filter"
    }

    fn on_envelope(&mut self, env: &Envelope, out: &mut Outbox) {
        match env.msg {
            Msg::Market(ev) => self.seen = self.seen.wrapping_mul(31).wrapping_add(ev.seq),
            Msg::Signal(_) => {
                out.push(*env);
            }
            _ => {}
        }
    }
}

/// Panics at the n-th envelope.
struct Bomb {
    at: u64,
    n: u64,
}

impl Stage for Bomb {
    fn name(&self) -> &'static str {
        "bomb"
    }

    fn on_envelope(&mut self, env: &Envelope, out: &mut Outbox) {
        self.n += 1;
        assert!(self.n != self.at, "toy stage exploded on purpose");
        out.push(*env);
    }
}

#[derive(Default)]
struct Collect {
    out: Vec<(u64, f32)>,
}

impl Sink for Collect {
    fn on_output(&mut self, env: &Envelope) {
        if let Msg::Signal(s) = env.msg {
            self.out.push((s.seq, s.confidence));
        }
    }
}

fn cfg(mode: Schedule) -> PipelineConfig {
    PipelineConfig { mode, ring_capacity: 64, cores: Vec::new(), ..PipelineConfig::default() }
}

fn go(mode: Schedule, fuse: bool, n: u64, taps: Taps) -> (Vec<(u64, f32)>, mia_runtime::pipeline::RunReport) {
    let src = Box::new(VecSource { events: events(n), pos: 0 });
    let mut sink = Collect::default();
    let mut c = cfg(mode);
    if fuse {
        c.fuse_same_core = true;
        c.cores = vec![0, 1, 1];
    }
    let stages: Vec<Box<dyn Stage>> = vec![Box::new(Emit), Box::new(Filter { seen: 0 })];
    let r = run(Inputs::source(src), stages, &mut sink, taps, &c, &mut |_| {});
    (sink.out, r)
}

#[test]
fn inline_threaded_and_fused_give_the_same_outputs() {
    let n = 20_000;
    let (a, ra) = go(Schedule::Inline, false, n, Taps::default());
    let (b, rb) = go(Schedule::Threaded, false, n, Taps::default());
    let (c, rc) = go(Schedule::Threaded, true, n, Taps::default());
    // prices 4000..4006: even points are 4000, 4002, 4004, 4006 → 4 of every 7 events
    let expected = (0..n).filter(|i| ((4000 + i % 7) % 2) == 0).count();
    assert_eq!(a.len(), expected);
    assert_eq!(a, b, "threaded = inline");
    assert_eq!(a, c, "fused = inline");
    for r in [&ra, &rb, &rc] {
        assert_eq!((r.events, r.inputs, r.outbox_overflow), (n, n, 0));
        assert!(r.thread_error.is_none() && r.source_error.is_none());
        assert_eq!(r.stages.len(), 2, "stages are handed back");
    }
}

#[test]
fn drop_tap_loses_and_counts_but_never_stalls() {
    // A 4-slot input tap nobody drains: the run completes, the first 4 envelopes are in the
    // ring and every other one is counted as dropped.
    let (tx, rx) = rtrb::RingBuffer::<Envelope>::new(4);
    let taps = Taps { input: Some(Tap::new(tx, TapPolicy::Drop)), output: None };
    let n = 1_000;
    let (out, r) = go(Schedule::Inline, false, n, taps);
    assert_eq!(r.events, n);
    assert_eq!(r.tap_dropped, n - 4);
    assert_eq!(rx.slots(), 4);
    assert!(!out.is_empty(), "the decisions are unaffected by the tap");
}

#[test]
fn block_tap_loses_nothing() {
    let (tx, mut rx) = rtrb::RingBuffer::<Envelope>::new(8);
    let taps = Taps { input: None, output: Some(Tap::new(tx, TapPolicy::Block)) };
    let reader = std::thread::spawn(move || {
        let mut got = 0u64;
        loop {
            match rx.pop() {
                Ok(_) => got += 1,
                Err(_) if rx.is_abandoned() => break got,
                Err(_) => std::thread::yield_now(),
            }
        }
    });
    let (out, r) = go(Schedule::Threaded, false, 5_000, taps);
    let got = reader.join().unwrap_or(0);
    assert_eq!(r.tap_dropped, 0);
    assert_eq!(got, out.len() as u64, "every output reached the tap");
}

#[test]
fn a_panicking_stage_is_a_thread_error_not_a_short_clean_run() {
    let src = Box::new(VecSource { events: events(1_000), pos: 0 });
    let stages: Vec<Box<dyn Stage>> = vec![Box::new(Emit), Box::new(Bomb { at: 100, n: 0 })];
    let mut sink = Collect::default();
    let r =
        run(Inputs::source(src), stages, &mut sink, Taps::default(), &cfg(Schedule::Threaded), &mut |_| {});
    let err = r.thread_error.unwrap_or_default();
    assert!(err.contains("bomb") || err.contains("panick"), "names the failure: {err:?}");
}
