//! Event sources: anything that yields normalized [`Event`]s (synthetic market, DBN file,
//! journal, live feed edge). The pipeline assigns `Event::seq`; a source leaves it 0.

use mia_model::event::Event;
use mia_model::msg::Msg;

/// A decoding or I/O error that names the input, the place in it and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input}: {place}: {reason}")]
pub struct SourceError {
    /// The input (file path or feed name).
    pub input: String,
    /// Where in the input (byte offset, record index, line number).
    pub place: String,
    /// What is wrong.
    pub reason: String,
}

impl SourceError {
    /// Builds an error from its three parts.
    pub fn new(input: impl Into<String>, place: impl Into<String>, reason: impl Into<String>) -> Self {
        Self { input: input.into(), place: place.into(), reason: reason.into() }
    }
}

/// A stream of normalized market events.
pub trait EventSource: Send {
    /// Human-readable name of the input (used in errors and summaries).
    fn describe(&self) -> &str;

    /// The next event, `Ok(None)` at the end of the stream. Must not allocate per event once
    /// warmed up.
    ///
    /// # Errors
    /// A decoding or I/O error naming the input and the place.
    fn next_event(&mut self) -> Result<Option<Event>, SourceError>;

    /// The next decision input: a market event, or — for a source that recorded them, such as
    /// a journal — an execution report or control input at its recorded place. The default
    /// yields [`next_event`](EventSource::next_event) as `Msg::Market`.
    ///
    /// # Errors
    /// As [`next_event`](EventSource::next_event).
    #[inline]
    fn next_input(&mut self) -> Result<Option<Msg>, SourceError> {
        Ok(self.next_event()?.map(Msg::Market))
    }

    /// True when [`next_input`](EventSource::next_input) may yield more than market events (a
    /// journal). The sequencer then reads inputs; otherwise it takes the cheaper
    /// [`next_event`](EventSource::next_event) path.
    fn has_recorded_inputs(&self) -> bool {
        false
    }

    /// True for a source whose next event may not have arrived yet (a live feed's ring): the
    /// sequencer then polls it with [`poll_event`](EventSource::poll_event) and keeps
    /// sequencing the side inputs (reports, controls, a kill) while the feed is quiet or
    /// stalled. Files and generators are never pending.
    fn may_pend(&self) -> bool {
        false
    }

    /// The next event if one is available now: `Poll::Pending` when none has arrived yet (only
    /// a source with [`may_pend`](EventSource::may_pend)); otherwise as
    /// [`next_event`](EventSource::next_event). Never blocks.
    ///
    /// # Errors
    /// As [`next_event`](EventSource::next_event).
    #[inline]
    fn poll_event(&mut self) -> Result<std::task::Poll<Option<Event>>, SourceError> {
        self.next_event().map(std::task::Poll::Ready)
    }

    /// For a source that replays history on a wall-clock schedule ([`RealTimeSource`]): the
    /// wall time (UTC ns) at which an event of event time `ts_ns` was due, so the monitor
    /// measures the data latency against the schedule and not against a date in the past.
    /// `None` (the default) when the event time is the wall clock (a live feed). Wrappers
    /// forward it. Cold: called only by a monitored session's feed probe.
    fn scheduled_wall_ns(&self, _ts_ns: u64) -> Option<u64> {
        None
    }
}

/// Work a live session runs on the sequencer's own thread instead of a thread of its own: a
/// broker edge "fused" into the pipeline thread on a machine with too few cores for one
/// thread per edge (`[ibkr] fuse`). The sequencer calls [`poll`](LivePoll::poll) on each
/// poll of a live source (so before every market event, and while the feed is quiet), in
/// registration order, and [`finish`](LivePoll::finish) once when the stream has ended.
/// A poll must not block: it moves what is ready (a broker message into the feed ring, an
/// order intent onto the wire) and returns.
pub trait LivePoll: Send {
    /// One non-blocking round; true when it did something.
    fn poll(&mut self) -> bool;

    /// The stream has ended (nothing will be sequenced any more): last sends, then release.
    fn finish(&mut self) {}
}

/// An [`EventSource`] over an in-memory slice of events (tests, benches).
pub struct SliceSource<'a> {
    events: &'a [Event],
    pos: usize,
}

impl<'a> SliceSource<'a> {
    /// A source yielding `events` in order.
    pub fn new(events: &'a [Event]) -> Self {
        Self { events, pos: 0 }
    }
}

impl EventSource for SliceSource<'_> {
    fn describe(&self) -> &str {
        "memory"
    }

    fn next_event(&mut self) -> Result<Option<Event>, SourceError> {
        let e = self.events.get(self.pos).copied();
        self.pos += e.is_some() as usize;
        Ok(e)
    }
}

/// An [`EventSource`] that stops after `limit` events of an inner source.
pub struct TakeSource {
    inner: Box<dyn EventSource>,
    left: u64,
}

impl TakeSource {
    /// Yields at most `limit` events of `inner`.
    pub fn new(inner: Box<dyn EventSource>, limit: u64) -> Self {
        Self { inner, left: limit }
    }
}

impl EventSource for TakeSource {
    fn describe(&self) -> &str {
        self.inner.describe()
    }

    #[inline]
    fn next_event(&mut self) -> Result<Option<Event>, SourceError> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        self.inner.next_event()
    }

    #[inline]
    fn next_input(&mut self) -> Result<Option<Msg>, SourceError> {
        if self.left == 0 {
            return Ok(None);
        }
        let m = self.inner.next_input()?;
        if matches!(m, Some(Msg::Market(_))) {
            self.left -= 1;
        }
        Ok(m)
    }

    fn has_recorded_inputs(&self) -> bool {
        self.inner.has_recorded_inputs()
    }

    // A live feed stays live under the cap: the sequencer keeps polling it (and the side
    // inputs, and any fused edge) instead of blocking in `next_event`.
    fn may_pend(&self) -> bool {
        self.inner.may_pend()
    }

    fn scheduled_wall_ns(&self, ts_ns: u64) -> Option<u64> {
        self.inner.scheduled_wall_ns(ts_ns)
    }

    #[inline]
    fn poll_event(&mut self) -> Result<std::task::Poll<Option<Event>>, SourceError> {
        if self.left == 0 {
            return Ok(std::task::Poll::Ready(None));
        }
        let p = self.inner.poll_event()?;
        if matches!(p, std::task::Poll::Ready(Some(_))) {
            self.left -= 1;
        }
        Ok(p)
    }
}

/// Replays a recorded or synthetic source in *event time* at `speed`× wall time (1.0 = real
/// time): event `k` is released once `(ts_recv[k] − ts_recv[0]) / speed` of wall time has
/// passed since the first. Timestamps are not rewritten, so the decisions are the same as a
/// flat-out run of the same input (`mia paper --source synthetic`). The stream ends early,
/// cleanly, when `stop` is set (Ctrl-C). A cold wrapper: it sleeps, so it is used only where
/// the feed would have waited anyway.
pub struct RealTimeSource {
    inner: Box<dyn EventSource>,
    speed: f64,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// (instant, wall clock UTC ns, event time) of the first event.
    origin: Option<(std::time::Instant, u64, u64)>,
}

impl RealTimeSource {
    /// Paces `inner` at `speed` (must be > 0 and finite; clamped to ≥ 1e-6), ending when
    /// `stop` is set.
    pub fn new(
        inner: Box<dyn EventSource>,
        speed: f64,
        stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    ) -> Self {
        let speed = if speed.is_finite() { speed.max(1e-6) } else { 1.0 };
        Self { inner, speed, stop, origin: None }
    }

    /// Wall time (ns) after the first event at which an event of event time `ts_ns` is due,
    /// `ts0` being the first event's.
    fn wall_offset_ns(&self, ts_ns: u64, ts0: u64) -> u64 {
        (ts_ns.saturating_sub(ts0) as f64 / self.speed).min(1e18) as u64
    }
}

impl EventSource for RealTimeSource {
    fn describe(&self) -> &str {
        self.inner.describe()
    }

    fn scheduled_wall_ns(&self, ts_ns: u64) -> Option<u64> {
        let (_, wall0, ts0) = self.origin?;
        Some(wall0.saturating_add(self.wall_offset_ns(ts_ns, ts0)))
    }

    fn next_event(&mut self) -> Result<Option<Event>, SourceError> {
        use std::sync::atomic::Ordering;
        if self.stop.load(Ordering::Acquire) {
            return Ok(None);
        }
        let Some(ev) = self.inner.next_event()? else { return Ok(None) };
        let (t0, _, ts0) =
            *self.origin.get_or_insert((std::time::Instant::now(), crate::clock::wall_ns(), ev.ts_recv));
        let due = t0 + std::time::Duration::from_nanos(self.wall_offset_ns(ev.ts_recv, ts0));
        loop {
            if self.stop.load(Ordering::Acquire) {
                return Ok(None);
            }
            let now = std::time::Instant::now();
            if now >= due {
                return Ok(Some(ev));
            }
            std::thread::sleep((due - now).min(std::time::Duration::from_millis(20)));
        }
    }
}

/// What a live feed's edge thread sends to a [`RingSource`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FeedItem {
    /// A normalized market event.
    Event(Event),
    /// The feed ended on purpose (shutdown, `Ctrl-C`, end of a scripted test): the source
    /// ends cleanly after the events before it.
    End,
}

/// An [`EventSource`] fed by a live feed's edge thread through an SPSC ring: the broker
/// client (IBKR, DTC) decodes on its own thread, pushes POD [`FeedItem`]s, and the sequencer
/// reads them here with [`EventSource::poll_event`] (never blocking, so it keeps sequencing
/// reports and controls while the ring is empty; it waits per `[pipeline] idle_spins`).
/// `next_event` spins 64 polls, then yields, while the ring is empty; the stream ends on [`FeedItem::End`], or with an error naming the feed when the
/// edge thread is gone without sending `End` (a crashed or disconnected feed thread is never
/// mistaken for the end of the session).
pub struct RingSource {
    name: String,
    rx: rtrb::Consumer<FeedItem>,
    ended: bool,
}

impl RingSource {
    /// A source named `name` (used in errors and the summary) reading `rx`.
    pub fn new(name: impl Into<String>, rx: rtrb::Consumer<FeedItem>) -> Self {
        Self { name: name.into(), rx, ended: false }
    }

    /// A ring pair: the producer for the edge thread and the source for the sequencer.
    pub fn pair(name: impl Into<String>, capacity: usize) -> (rtrb::Producer<FeedItem>, Self) {
        let (tx, rx) = rtrb::RingBuffer::new(capacity);
        (tx, Self::new(name, rx))
    }
}

impl EventSource for RingSource {
    fn describe(&self) -> &str {
        &self.name
    }

    fn next_event(&mut self) -> Result<Option<Event>, SourceError> {
        let mut backoff = crate::pipeline::tap::Backoff::hot(64);
        loop {
            if let std::task::Poll::Ready(e) = self.poll_event()? {
                return Ok(e);
            }
            backoff.snooze();
        }
    }

    fn may_pend(&self) -> bool {
        true
    }

    #[inline]
    fn poll_event(&mut self) -> Result<std::task::Poll<Option<Event>>, SourceError> {
        use std::task::Poll;
        if self.ended {
            return Ok(Poll::Ready(None));
        }
        let item = match self.rx.pop() {
            Ok(item) => item,
            Err(_) if !self.rx.is_abandoned() => return Ok(Poll::Pending),
            // Abandoned, but the producer may have pushed its last items (its `End`) between
            // the failed pop and the check: everything it pushed before it was dropped is
            // visible now, so pop once more before calling the stream broken.
            Err(_) => match self.rx.pop() {
                Ok(item) => item,
                Err(_) => {
                    self.ended = true;
                    return Err(SourceError::new(
                        self.name.clone(),
                        "feed thread",
                        "the feed's edge thread stopped without ending the stream",
                    ));
                }
            },
        };
        match item {
            FeedItem::Event(e) => Ok(Poll::Ready(Some(e))),
            FeedItem::End => {
                self.ended = true;
                Ok(Poll::Ready(None))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn take_stops_at_limit() {
        static EVENTS: [Event; 3] = [<Event as mia_model::fixed_vec::Blank>::BLANK; 3];
        let mut t = TakeSource::new(Box::new(SliceSource::new(&EVENTS)), 2);
        assert!(matches!(t.next_event(), Ok(Some(_))));
        assert!(matches!(t.next_event(), Ok(Some(_))));
        assert!(matches!(t.next_event(), Ok(None)));
        assert_eq!(t.describe(), "memory");
    }

    #[test]
    fn take_keeps_a_live_feed_live() {
        let ev = <Event as mia_model::fixed_vec::Blank>::BLANK;
        let (mut tx, src) = RingSource::pair("ibkr ESZ6", 8);
        let mut t = TakeSource::new(Box::new(src), 2);
        assert!(t.may_pend(), "a capped live feed still pends");
        assert_eq!(t.poll_event(), Ok(std::task::Poll::Pending), "an empty ring does not count");
        for _ in 0..3 {
            tx.push(FeedItem::Event(ev)).expect("room");
        }
        assert_eq!(t.poll_event(), Ok(std::task::Poll::Ready(Some(ev))));
        assert_eq!(t.poll_event(), Ok(std::task::Poll::Ready(Some(ev))));
        assert_eq!(t.poll_event(), Ok(std::task::Poll::Ready(None)), "the cap ends the stream");
        assert!(!TakeSource::new(Box::new(SliceSource::new(&[])), 1).may_pend());
    }

    #[test]
    fn ring_source_ends_on_end_and_errors_when_the_feed_dies() {
        let ev = <Event as mia_model::fixed_vec::Blank>::BLANK;
        let (mut tx, mut src) = RingSource::pair("ibkr ESZ6", 8);
        tx.push(FeedItem::Event(ev)).expect("room");
        tx.push(FeedItem::End).expect("room");
        assert_eq!(src.next_event(), Ok(Some(ev)));
        assert_eq!(src.next_event(), Ok(None));
        assert_eq!(src.next_event(), Ok(None), "stays ended");

        let (mut tx, mut src) = RingSource::pair("ibkr ESZ6", 8);
        tx.push(FeedItem::Event(ev)).expect("room");
        drop(tx);
        assert_eq!(src.next_event(), Ok(Some(ev)), "what was sent before the crash is kept");
        let err = src.next_event().expect_err("a dead feed is an error");
        assert!(err.to_string().contains("ibkr ESZ6"), "{err}");
    }

    #[test]
    fn real_time_source_keeps_events_and_stops_on_the_flag() {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::Arc;
        static EVENTS: std::sync::OnceLock<Vec<Event>> = std::sync::OnceLock::new();
        let evs = EVENTS.get_or_init(|| {
            (0..4u64)
                .map(|k| Event {
                    ts_recv: 1_000 + k * 1_000_000,
                    ..<Event as mia_model::fixed_vec::Blank>::BLANK
                })
                .collect()
        });
        let stop = Arc::new(AtomicBool::new(false));
        // 1 ms of event time between events at speed 1000: 1 µs of wall time each.
        let mut src = RealTimeSource::new(Box::new(SliceSource::new(evs)), 1000.0, stop.clone());
        assert_eq!(src.scheduled_wall_ns(1_000), None, "no schedule before the first event");
        let before = crate::clock::wall_ns();
        for e in evs.iter().take(2) {
            assert_eq!(src.next_event(), Ok(Some(*e)), "events pass unchanged");
        }
        // the schedule: the first event at the wall time it was read, then 1 µs per ms
        let first = src.scheduled_wall_ns(1_000).expect("scheduled");
        assert!(first >= before && first <= crate::clock::wall_ns(), "{before} {first}");
        assert_eq!(src.scheduled_wall_ns(1_000 + 3_000_000), Some(first + 3_000));
        let take = TakeSource::new(Box::new(src), 10);
        assert_eq!(take.scheduled_wall_ns(1_000), Some(first), "a wrapper forwards the schedule");
        let mut src = take;
        stop.store(true, Ordering::Release);
        assert_eq!(src.next_event(), Ok(None), "the stop flag ends the stream");
    }

    /// A feed that pushes its last events and `End` and then drops its end of the ring, while
    /// the reader polls: the end is always clean (the `End` pushed between a failed pop and
    /// the abandonment check is still read).
    #[test]
    fn an_end_pushed_just_before_the_feed_drops_is_never_lost() {
        let ev = <Event as mia_model::fixed_vec::Blank>::BLANK;
        for _ in 0..500 {
            let (mut tx, mut src) = RingSource::pair("racy", 8);
            let t = std::thread::spawn(move || {
                for _ in 0..3 {
                    std::hint::spin_loop();
                }
                tx.push(FeedItem::Event(ev)).expect("room");
                tx.push(FeedItem::End).expect("room");
            });
            let mut got = 0;
            loop {
                match src.poll_event() {
                    Ok(std::task::Poll::Ready(Some(_))) => got += 1,
                    Ok(std::task::Poll::Ready(None)) => break,
                    Ok(std::task::Poll::Pending) => std::hint::spin_loop(),
                    Err(e) => panic!("a clean end read as a broken feed: {e}"),
                }
            }
            assert_eq!(got, 1);
            t.join().expect("feed thread");
        }
    }

    #[test]
    fn ring_source_waits_for_a_slow_feed() {
        let ev = <Event as mia_model::fixed_vec::Blank>::BLANK;
        let (mut tx, mut src) = RingSource::pair("slow", 8);
        let t = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(20));
            tx.push(FeedItem::Event(ev)).expect("room");
            tx.push(FeedItem::End).expect("room");
        });
        assert_eq!(src.next_event(), Ok(Some(ev)));
        assert_eq!(src.next_event(), Ok(None));
        t.join().expect("feed thread");
    }
}
