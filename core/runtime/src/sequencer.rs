//! The sequencer: the one door of the hot path. Every decision input — market events from
//! the source, execution reports from venue edge threads, control inputs (kill switch,
//! flatten, gamma publications, timers) — passes here, gets the next `seq` (0, 1, 2, … over
//! all inputs), an event time, its `t0` stamp, and a copy on the input tap (the journal). So
//! the journal holds the exact input stream the stages saw, and replaying it reproduces every
//! decision, whatever the timing of the threads that produced the side inputs.
//!
//! Order: before each market event the side rings are polled once each, in registration
//! order; a side input is stamped with the event time of the latest market event (decisions
//! read event time only). When the source ends, side inputs already waiting are still
//! sequenced; later ones are not (the run is over).

use crate::clock::Clock;
use crate::metrics::LiveMetrics;
use crate::pipeline::tap::Tap;
use crate::source::{EventSource, LivePoll, SourceError};
use mia_model::msg::{Control, ControlKind, Envelope, Msg};
use std::sync::Arc;

/// Feed pacing: market event `k` is due at `start + k · interval` clock ticks.
pub(crate) struct Pacer {
    start: u64,
    interval_ticks: f64,
}

impl Pacer {
    pub(crate) fn new(events_per_sec: u64) -> Option<Self> {
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

/// A ring of inputs produced on another thread (a venue's reports, operator commands, the
/// options thread's publications).
pub type SideInput = rtrb::Consumer<Msg>;

/// The sequencer's live-metrics writer: per input one counter store; per market event its
/// event time and the wall time it was sequenced (derived from the `t0` clock reading the
/// sequencer takes anyway, anchored to the wall clock once at attachment: no clock syscall
/// per event); the input tap's drops when they change.
struct FeedProbe {
    m: Arc<LiveMetrics>,
    anchor_ticks: u64,
    anchor_wall_ns: u64,
    tap_drops: u64,
}

impl FeedProbe {
    fn new(m: Arc<LiveMetrics>) -> Self {
        Clock::init();
        let anchor_ticks = Clock::now();
        let anchor_wall_ns = crate::clock::wall_ns();
        Self { m, anchor_ticks, anchor_wall_ns, tap_drops: 0 }
    }

    #[inline]
    fn publish(&mut self, env: &Envelope, tap_drops: u64, source: &dyn EventSource) {
        let f = &self.m.feed;
        f.bump_inputs();
        if let Msg::Market(e) = &env.msg {
            let wall = self.anchor_wall_ns + Clock::ticks_to_ns(env.t0.saturating_sub(self.anchor_ticks));
            match source.scheduled_wall_ns(e.ts_event) {
                Some(due) => f.on_replayed_market(e.ts_event, wall, due),
                None => f.on_market(e.ts_event, wall),
            }
        }
        if tap_drops != self.tap_drops {
            self.tap_drops = tap_drops;
            f.set_tap_drops(tap_drops);
        }
    }
}

impl Drop for Sequencer {
    /// The stream is over (the pipeline drops its sequencer after the last envelope): the
    /// fused edges send what the last passes left for them and release their resources.
    fn drop(&mut self) {
        for p in self.polls.iter_mut() {
            p.finish();
        }
    }
}

/// What a live wait produced.
enum Next {
    Source(Result<Option<Msg>, SourceError>),
    Side(Msg),
}

/// Merges the source and the side inputs into one sequenced stream of envelopes.
pub struct Sequencer {
    source: Box<dyn EventSource>,
    side: Vec<SideInput>,
    pacer: Option<Pacer>,
    tap: Option<Tap>,
    seq: u64,
    events: u64,
    last_ts: u64,
    source_done: bool,
    probe: Option<FeedProbe>,
    /// The source may yield recorded side inputs (a journal): read `next_input`.
    recorded: bool,
    /// The source may be pending (a live ring): poll it and the side rings in turn.
    live: bool,
    /// Polls of a pending live source spun through before each further poll yields the core.
    idle_spins: u32,
    /// A quiet live source gets a `Timer` input after this long without input (None: never).
    live_timer: Option<std::time::Duration>,
    /// Edges fused into this thread ([`Sequencer::fuse`]), polled with a live source.
    polls: Vec<Box<dyn LivePoll>>,
    /// Controls scheduled at event times (see [`Sequencer::schedule`]), in time order.
    schedule: Vec<(u64, Control)>,
    /// Index of the next scheduled control.
    next_due: usize,
    /// Its time (`u64::MAX` when none is left): one compare per market event.
    due_ts: u64,
    /// A market event at or after `due_ts` was sequenced: the control goes next.
    due_now: bool,
    /// The source error that ended the stream, if any (everything before it was sequenced).
    pub error: Option<SourceError>,
}

impl Sequencer {
    /// A sequencer over `source` and `side` rings, copying every input to `tap`, pacing market
    /// events at `pace_events_per_sec` (0 = flat out).
    pub fn new(
        source: Box<dyn EventSource>,
        side: Vec<SideInput>,
        tap: Option<Tap>,
        pace_events_per_sec: u64,
    ) -> Self {
        Self {
            recorded: source.has_recorded_inputs(),
            live: source.may_pend(),
            idle_spins: 64,
            live_timer: None,
            source,
            side,
            pacer: Pacer::new(pace_events_per_sec),
            tap,
            seq: 0,
            events: 0,
            last_ts: 0,
            source_done: false,
            probe: None,
            error: None,
            polls: Vec::new(),
            schedule: Vec::new(),
            next_due: 0,
            due_ts: u64::MAX,
            due_now: false,
        }
    }

    /// Schedules controls at event times `(ts_ns, control)`: each is sequenced right after the
    /// first market event with `ts_recv ≥ ts_ns` (stable for equal times; before that event's
    /// successors and after the side inputs waiting then); those still due when the source
    /// ends are not sequenced. The sequence is a function of the input alone, so such a run
    /// is deterministic, and the input tap records the controls like any input (a journal
    /// replays them at their place). Costs one compare per market event.
    pub fn schedule(&mut self, mut schedule: Vec<(u64, Control)>) {
        schedule.sort_by_key(|(ts, _)| *ts);
        self.due_ts = schedule.first().map_or(u64::MAX, |d| d.0);
        self.schedule = schedule;
        self.next_due = 0;
        self.due_now = false;
    }

    /// Publishes inputs, market events (event time, wall time sequenced) and input-tap drops
    /// into `metrics.feed` (`docs/monitoring.md`); without it the sequencer pays one branch.
    pub fn attach_metrics(&mut self, metrics: Arc<LiveMetrics>) {
        self.probe = Some(FeedProbe::new(metrics));
    }

    /// Inputs sequenced so far.
    pub fn inputs(&self) -> u64 {
        self.seq
    }

    /// Market events sequenced so far.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Envelopes the input tap dropped.
    pub fn tap_dropped(&self) -> u64 {
        self.tap.as_ref().map_or(0, |t| t.dropped)
    }

    /// A live source that has been quiet for `period` gets a [`ControlKind::Timer`] input
    /// whose `arg` is the wall clock (UTC ns since the epoch, the clock of a live feed's
    /// `ts_recv`); sequencing it advances event time to `arg` if that is later (here and in a
    /// replay of its journal, so the run stays deterministic). `Duration::ZERO` turns it off.
    pub fn set_live_timer(&mut self, period: std::time::Duration) {
        self.live_timer = (!period.is_zero()).then_some(period);
    }

    /// A side input (or a recorded one) about to be sequenced: a `Timer` advances event time
    /// to its wall clock (never back). Kept off the market-event path.
    #[inline]
    fn side(&mut self, msg: Msg, t0: u64) -> Envelope {
        if let Msg::Control(c) = &msg {
            if c.kind == ControlKind::Timer {
                // Event time follows the wall clock while the feed is quiet.
                self.last_ts = self.last_ts.max(c.arg);
            }
        }
        self.emit(msg, t0)
    }

    #[inline(always)]
    fn emit(&mut self, mut msg: Msg, t0: u64) -> Envelope {
        msg.stamp_input(self.seq, self.last_ts);
        self.seq += 1;
        let env = Envelope { t0, msg };
        if let Some(t) = self.tap.as_mut() {
            t.send(env);
        }
        if let Some(p) = self.probe.as_mut() {
            p.publish(&env, self.tap.as_ref().map_or(0, |t| t.dropped), self.source.as_ref());
        }
        env
    }

    /// Runs `polls` on this thread: each is polled before every poll of a live source and
    /// finished when the stream ends (see [`LivePoll`]). A sequencer with fused edges always
    /// takes the polling path (a source that never pends is then read one event per poll),
    /// so an edge is never starved by a source that blocks; a recorded source (a journal
    /// replay) has no broker edge and ignores them.
    pub fn fuse(&mut self, polls: Vec<Box<dyn LivePoll>>) {
        self.polls.extend(polls);
        self.live |= !self.polls.is_empty();
    }

    /// While a live source has nothing, spin `spins` polls, then yield the core between polls
    /// (`[pipeline] idle_spins`: small on a shared machine, large on isolated cores).
    pub fn set_idle_spins(&mut self, spins: u32) {
        self.idle_spins = spins;
    }

    /// Waits for a live source's next event, sequencing the side inputs that arrive
    /// meanwhile: a report, a control or a kill is never held behind a quiet or stalled feed.
    #[cold]
    fn wait_live(&mut self) -> Next {
        let mut backoff = crate::pipeline::tap::Backoff::hot(self.idle_spins);
        // When this wait found the source empty first (read lazily: no clock read per input).
        let mut quiet_since: Option<std::time::Instant> = None;
        loop {
            // Fused edges first: an intent of the last pass goes out, then what the broker
            // sent is mapped into the feed ring the source reads.
            for p in self.polls.iter_mut() {
                p.poll();
            }
            match self.source.poll_event() {
                Ok(std::task::Poll::Ready(o)) => return Next::Source(Ok(o.map(Msg::Market))),
                Err(e) => return Next::Source(Err(e)),
                Ok(std::task::Poll::Pending) => {
                    if let Some(m) = self.poll_side() {
                        return Next::Side(m);
                    }
                    if let Some(period) = self.live_timer {
                        // The idle path only: a clock read per empty poll.
                        let now = std::time::Instant::now();
                        if now.duration_since(*quiet_since.get_or_insert(now)) >= period {
                            let timer = Control {
                                kind: ControlKind::Timer,
                                arg: crate::clock::wall_ns(),
                                ..Control::default()
                            };
                            return Next::Side(Msg::Control(timer));
                        }
                    }
                    backoff.snooze();
                }
            }
        }
    }

    #[inline]
    fn poll_side(&mut self) -> Option<Msg> {
        for rx in self.side.iter_mut() {
            if let Ok(m) = rx.pop() {
                return Some(m);
            }
        }
        None
    }

    /// The next input; `None` at the end of the source (after the side inputs waiting then)
    /// or at its first error (kept in [`Sequencer::error`]).
    #[inline(always)]
    pub fn next_input(&mut self) -> Option<Envelope> {
        if let Some(m) = self.poll_side() {
            return Some(self.side(m, Clock::now()));
        }
        if self.due_now {
            let c = self.schedule[self.next_due].1;
            self.next_due += 1;
            self.due_ts = self.schedule.get(self.next_due).map_or(u64::MAX, |d| d.0);
            self.due_now = self.last_ts >= self.due_ts;
            return Some(self.emit(Msg::Control(c), Clock::now()));
        }
        if self.source_done {
            return None;
        }
        let next = if self.recorded {
            self.source.next_input()
        } else if self.live {
            match self.wait_live() {
                Next::Side(m) => return Some(self.side(m, Clock::now())),
                Next::Source(r) => r,
            }
        } else {
            self.source.next_event().map(|o| o.map(Msg::Market))
        };
        match next {
            Ok(Some(Msg::Market(e))) => {
                let mut t0 = Clock::now();
                self.last_ts = e.ts_recv;
                self.due_now = e.ts_recv >= self.due_ts;
                if let Some(p) = &self.pacer {
                    t0 = p.wait(self.events);
                }
                self.events += 1;
                Some(self.emit(Msg::Market(e), t0))
            }
            // A recorded side input (a journal replay).
            Ok(Some(m)) => Some(self.side(m, Clock::now())),
            Ok(None) => {
                self.source_done = true;
                self.poll_side().map(|m| self.side(m, Clock::now()))
            }
            Err(e) => {
                self.error = Some(e);
                self.source_done = true;
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SliceSource;
    use mia_model::event::{Event, Side};
    use mia_model::msg::{Control, ControlKind};

    fn events(n: u64) -> Vec<Event> {
        (0..n).map(|i| Event::trade(10 + i, 10 + i, Side::Bid, 1, 1, 0)).collect()
    }

    #[test]
    fn scheduled_controls_follow_the_first_event_at_or_after_their_time() {
        let ev: &'static [Event] = Box::leak(
            (0..4).map(|i| Event::trade(10 * i, 10 * i, Side::Bid, 1, 1, 0)).collect::<Vec<_>>().into(),
        );
        let kill = Control { kind: ControlKind::Kill, ..Control::default() };
        let flat = Control { kind: ControlKind::Flatten, ..kill };
        let mut s = Sequencer::new(Box::new(SliceSource::new(ev)), Vec::new(), None, 0);
        s.schedule(vec![(15, flat), (12, kill), (99, kill)]);
        let mut seen = Vec::new();
        while let Some(env) = s.next_input() {
            seen.push(match env.msg {
                Msg::Market(e) => format!("m{}", e.ts_recv),
                Msg::Control(c) => format!("{:?}@{}#{}", c.kind, c.ts, c.seq),
                _ => "?".into(),
            });
        }
        assert_eq!(seen, ["m0", "m10", "m20", "Kill@20#3", "Flatten@20#4", "m30"]);
        assert_eq!(s.inputs(), 6, "the one due past the end is not sequenced");
    }

    /// A fused edge that is the feed itself: it pushes the next event into the ring the
    /// source reads when polled, and counts its polls and finishes.
    struct FeedPoll {
        feed: rtrb::Producer<crate::source::FeedItem>,
        next: u64,
        polls: std::sync::Arc<std::sync::atomic::AtomicU64>,
        finished: std::sync::Arc<std::sync::atomic::AtomicU64>,
    }

    impl LivePoll for FeedPoll {
        fn poll(&mut self) -> bool {
            self.polls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            self.next += 1;
            self.feed
                .push(crate::source::FeedItem::Event(Event::trade(self.next, self.next, Side::Bid, 1, 1, 0)))
                .is_ok()
        }

        fn finish(&mut self) {
            self.finished.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// The fused feed runs on the sequencer's thread: behind a capped source (a session with
    /// `max_events`) and behind a source that never pends alike, the sequencer polls it and
    /// finishes it once when it is dropped.
    #[test]
    fn fused_edges_are_polled_on_the_sequencer_thread_and_finished_once() {
        use std::sync::atomic::{AtomicU64, Ordering};
        let polls = std::sync::Arc::new(AtomicU64::new(0));
        let finished = std::sync::Arc::new(AtomicU64::new(0));
        let (feed, src) = crate::source::RingSource::pair("fused", 4);
        let capped = crate::source::TakeSource::new(Box::new(src), 50);
        let mut s = Sequencer::new(Box::new(capped), Vec::new(), None, 0);
        let edge = FeedPoll { feed, next: 0, polls: polls.clone(), finished: finished.clone() };
        s.fuse(vec![Box::new(edge)]);
        let mut ts = Vec::new();
        while let Some(env) = s.next_input() {
            if let Msg::Market(e) = env.msg {
                ts.push(e.ts_recv);
            }
        }
        assert_eq!(ts, (1..=50).collect::<Vec<_>>(), "every event the edge mapped, in order, up to the cap");
        assert!(polls.load(Ordering::Relaxed) >= 50);
        assert_eq!(finished.load(Ordering::Relaxed), 0, "not before the sequencer is dropped");
        drop(s);
        assert_eq!(finished.load(Ordering::Relaxed), 1);

        let evs: &'static [Event] = Box::leak(events(3).into_boxed_slice());
        let (feed, _unused) = crate::source::RingSource::pair("unused", 4);
        let mut s = Sequencer::new(Box::new(SliceSource::new(evs)), Vec::new(), None, 0);
        let polls = std::sync::Arc::new(AtomicU64::new(0));
        s.fuse(vec![Box::new(FeedPoll { feed, next: 0, polls: polls.clone(), finished: finished.clone() })]);
        let mut n = 0;
        while s.next_input().is_some() {
            n += 1;
        }
        assert_eq!(n, 3);
        assert!(polls.load(Ordering::Relaxed) >= 3, "a source that never pends still polls the edge");
    }

    /// A sequencer on its own thread over a live ring source and one side ring; every
    /// sequenced message comes out of `done_rx`.
    struct LiveRig {
        feed: rtrb::Producer<crate::source::FeedItem>,
        side: rtrb::Producer<Msg>,
        done_rx: std::sync::mpsc::Receiver<Msg>,
        worker: std::thread::JoinHandle<()>,
    }

    fn live_rig(timer: Option<std::time::Duration>) -> LiveRig {
        let (feed, src) = crate::source::RingSource::pair("live", 8);
        let (side, rx) = rtrb::RingBuffer::<Msg>::new(8);
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        let worker = std::thread::spawn(move || {
            let mut s = Sequencer::new(Box::new(src), vec![rx], None, 0);
            s.set_idle_spins(16);
            if let Some(p) = timer {
                s.set_live_timer(p);
            }
            while let Some(env) = s.next_input() {
                if done_tx.send(env.msg).is_err() {
                    break;
                }
            }
        });
        LiveRig { feed, side, done_rx, worker }
    }

    /// A live feed that has gone quiet (its edge thread alive, its ring empty) must not hold
    /// a control or a report back: a kill is sequenced while no market event comes.
    #[test]
    fn a_quiet_live_feed_does_not_hold_back_side_inputs() {
        use crate::source::FeedItem;
        let LiveRig { mut feed, mut side, done_rx, worker } = live_rig(None);
        // Let the sequencer reach its wait on the empty feed first (with a blocking wait the
        // kill pushed now would never be seen).
        std::thread::sleep(std::time::Duration::from_millis(200));
        let kill = Control { kind: ControlKind::Kill, arg: 7, ..Control::default() };
        side.push(Msg::Control(kill)).expect("room");
        let got = done_rx.recv_timeout(std::time::Duration::from_secs(20));
        assert!(
            matches!(got, Ok(Msg::Control(c)) if c.kind == ControlKind::Kill && c.arg == 7),
            "the kill is sequenced with no market event: {got:?}"
        );
        let ev = Event::trade(5, 5, Side::Bid, 1, 1, 0);
        feed.push(FeedItem::Event(ev)).expect("room");
        feed.push(FeedItem::End).expect("room");
        let m = done_rx.recv_timeout(std::time::Duration::from_secs(20));
        assert!(matches!(m, Ok(Msg::Market(e)) if e.ts_recv == 5), "{m:?}");
        worker.join().expect("the sequencer thread ends at the feed's End");
        drop(feed);
    }

    /// A quiet live feed gets `Timer` inputs carrying the wall clock, and event time (the
    /// stamp of the following side inputs) advances to it; without the timer it stays at the
    /// last market event.
    #[test]
    fn a_quiet_live_feed_gets_timers_that_advance_event_time() {
        use crate::source::FeedItem;
        for timer in [true, false] {
            let period = timer.then_some(std::time::Duration::from_millis(20));
            let LiveRig { mut feed, mut side, done_rx, worker } = live_rig(period);
            feed.push(FeedItem::Event(Event::trade(5, 5, Side::Bid, 1, 1, 0))).expect("room");
            let first = done_rx.recv_timeout(std::time::Duration::from_secs(20));
            assert!(matches!(first, Ok(Msg::Market(e)) if e.ts_recv == 5), "{first:?}");
            let before = crate::clock::wall_ns();
            std::thread::sleep(std::time::Duration::from_millis(100));
            side.push(Msg::Control(Control { kind: ControlKind::Kill, ..Control::default() })).expect("room");
            let mut timers = Vec::new();
            let kill_ts = loop {
                match done_rx.recv_timeout(std::time::Duration::from_secs(20)) {
                    Ok(Msg::Control(c)) if c.kind == ControlKind::Timer => {
                        assert_eq!(c.ts, c.arg, "the timer's own stamp is its wall time");
                        timers.push(c.arg);
                    }
                    Ok(Msg::Control(c)) if c.kind == ControlKind::Kill => break c.ts,
                    other => panic!("{other:?}"),
                }
            };
            if timer {
                assert!(!timers.is_empty(), "100 ms quiet with a 20 ms timer");
                assert!(timers.windows(2).all(|w| w[0] <= w[1]));
                assert!(timers[0] >= before, "wall clock, not the last event's time");
                assert_eq!(kill_ts, *timers.last().unwrap_or(&0), "event time advanced to the last timer");
            } else {
                assert!(timers.is_empty());
                assert_eq!(kill_ts, 5, "event time stays at the last market event");
            }
            feed.push(FeedItem::End).expect("room");
            // Drain what came after (timers) until the sequencer ends.
            while done_rx.recv_timeout(std::time::Duration::from_secs(20)).is_ok() {}
            worker.join().expect("ends at the feed's End");
            drop(feed);
        }
    }

    /// A journaled timer advances event time in a replay as it did live.
    #[test]
    fn a_sequenced_timer_advances_event_time_for_what_follows() {
        let ev: &'static [Event] = Box::leak(events(2).into_boxed_slice());
        let (mut tx, rx) = rtrb::RingBuffer::<Msg>::new(8);
        let mut s = Sequencer::new(Box::new(SliceSource::new(ev)), vec![rx], None, 0);
        assert!(matches!(s.next_input().map(|e| e.msg), Some(Msg::Market(e)) if e.ts_recv == 10));
        tx.push(Msg::Control(Control { kind: ControlKind::Timer, arg: 500, ..Control::default() })).unwrap();
        tx.push(Msg::Control(Control { kind: ControlKind::Kill, ..Control::default() })).unwrap();
        // A timer older than event time does not move it back.
        tx.push(Msg::Control(Control { kind: ControlKind::Timer, arg: 3, ..Control::default() })).unwrap();
        let ts: Vec<u64> = (0..3)
            .map(|_| match s.next_input().map(|e| e.msg) {
                Some(Msg::Control(c)) => c.ts,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(ts, [500, 500, 500]);
    }

    #[test]
    fn one_seq_over_all_inputs_with_event_time_for_side_inputs() {
        let ev: &'static [Event] = Box::leak(events(3).into_boxed_slice());
        let (mut tx, rx) = rtrb::RingBuffer::<Msg>::new(8);
        let mut s = Sequencer::new(Box::new(SliceSource::new(ev)), vec![rx], None, 0);
        let a = s.next_input().map(|e| e.msg);
        assert!(matches!(a, Some(Msg::Market(e)) if e.seq == 0));
        tx.push(Msg::Control(Control { kind: ControlKind::Kill, ..Control::default() })).unwrap();
        match s.next_input().map(|e| e.msg) {
            Some(Msg::Control(c)) => assert_eq!((c.seq, c.ts, c.kind), (1, 10, ControlKind::Kill)),
            other => panic!("{other:?}"),
        }
        assert!(
            matches!(s.next_input().map(|e| e.msg), Some(Msg::Market(e)) if e.seq == 2 && e.ts_recv == 11)
        );
        assert!(matches!(s.next_input().map(|e| e.msg), Some(Msg::Market(e)) if e.seq == 3));
        // after the source ends, inputs already waiting are still sequenced
        tx.push(Msg::Control(Control { kind: ControlKind::Flatten, ..Control::default() })).unwrap();
        assert!(matches!(s.next_input().map(|e| e.msg), Some(Msg::Control(c)) if c.seq == 4 && c.ts == 12));
        assert!(s.next_input().is_none());
        assert_eq!((s.inputs(), s.events()), (5, 3));
    }

    #[test]
    fn attached_metrics_count_inputs_and_market_events() {
        let ev: &'static [Event] = Box::leak(events(3).into_boxed_slice());
        let (mut tx, rx) = rtrb::RingBuffer::<Msg>::new(8);
        let mut s = Sequencer::new(Box::new(SliceSource::new(ev)), vec![rx], None, 0);
        let m = Arc::new(LiveMetrics::new());
        s.attach_metrics(Arc::clone(&m));
        let wall = crate::clock::wall_ns;
        let before = wall();
        tx.push(Msg::Control(Control { kind: ControlKind::Kill, ..Control::default() })).unwrap();
        while s.next_input().is_some() {}
        let after = wall();
        let snap = m.snapshot();
        assert_eq!((snap.inputs, snap.market_events, snap.last_event_ts_ns), (4, 3, 12));
        // the wall time of the last market event lies between the readings around the loop
        // (1 ms slack for the clock anchoring)
        let w = snap.last_recv_wall_ns;
        assert!(w + 1_000_000 >= before && w <= after + 1_000_000, "{before} <= {w} <= {after}");
    }
}
