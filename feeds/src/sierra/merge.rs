//! One time-ordered source from a `.depth` file and the `.scid` file of the same day
//! ([`MergedSource`]): `mia replay day.scid --depth day.depth`,
//! `mia backtest --data day.scid --depth day.depth`.
//!
//! Both sources deliver **exchange events**: runs of MIA events whose last one carries
//! `flags::LAST` (a `.scid` record or unbundled-trade group, a `.depth` batch). The merge never
//! splits one: it holds the next whole exchange event of each source and emits the one with
//! the earlier `ts_event`. At **equal timestamps the depth event goes first** (the book as it
//! stood when the trade printed, then the trade; and one fixed rule makes the merge
//! deterministic). Each source's own order is kept as it is (a file whose clock steps back
//! stays so; the sanity stage sees it as it would see the file alone). A source that ends
//! without a final `LAST` has its last events delivered as they are.
//!
//! No allocation per event once warm: the two pending runs are reused buffers.

use mia_model::event::{flags, Event};
use mia_runtime::source::{EventSource, SourceError};

/// The next whole exchange event of one source.
struct Lane {
    src: Box<dyn EventSource>,
    run: Vec<Event>,
    /// `run` holds a whole exchange event (or the source's unterminated tail).
    ready: bool,
    ended: bool,
}

impl Lane {
    fn new(src: Box<dyn EventSource>) -> Self {
        Self { src, run: Vec::with_capacity(64), ready: false, ended: false }
    }

    /// Makes `run` hold the next exchange event (empty when the source has ended).
    fn load(&mut self) -> Result<(), SourceError> {
        if self.ready || self.ended {
            return Ok(());
        }
        self.run.clear();
        loop {
            match self.src.next_event()? {
                Some(e) => {
                    self.run.push(e);
                    if e.flags & flags::LAST != 0 {
                        break;
                    }
                }
                None => {
                    self.ended = true;
                    break;
                }
            }
        }
        self.ready = !self.run.is_empty();
        Ok(())
    }

    fn ts(&self) -> Option<u64> {
        self.ready.then(|| self.run.first().map_or(0, |e| e.ts_event))
    }
}

/// A `.depth` source and a `.scid` (trades) source merged in time (see the module doc).
pub struct MergedSource {
    name: String,
    depth: Lane,
    trades: Lane,
    /// 0 depth, 1 trades: the lane being emitted.
    current: u8,
    pos: usize,
}

impl MergedSource {
    /// Merges `depth` (a `.depth` source) with `trades` (a `.scid` source).
    pub fn new(depth: Box<dyn EventSource>, trades: Box<dyn EventSource>) -> Self {
        let name = format!("{} + {}", trades.describe(), depth.describe());
        Self { name, depth: Lane::new(depth), trades: Lane::new(trades), current: 2, pos: 0 }
    }
}

impl EventSource for MergedSource {
    fn describe(&self) -> &str {
        &self.name
    }

    fn next_event(&mut self) -> Result<Option<Event>, SourceError> {
        loop {
            let lane = match self.current {
                0 => Some(&mut self.depth),
                1 => Some(&mut self.trades),
                _ => None,
            };
            if let Some(l) = lane {
                if let Some(e) = l.run.get(self.pos) {
                    self.pos += 1;
                    return Ok(Some(*e));
                }
                l.ready = false;
                self.current = 2;
            }
            self.depth.load()?;
            self.trades.load()?;
            self.pos = 0;
            self.current = match (self.depth.ts(), self.trades.ts()) {
                (None, None) => return Ok(None),
                (Some(_), None) => 0,
                (None, Some(_)) => 1,
                // Depth first at equal times.
                (Some(d), Some(t)) => u8::from(t < d),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mia_model::event::EventKind;
    use mia_runtime::source::SliceSource;

    fn ev(ts: u64, kind: EventKind, last: bool, tag: i64) -> Event {
        Event {
            ts_event: ts,
            ts_recv: ts,
            kind,
            price: tag,
            flags: if last { flags::LAST } else { 0 },
            ..Event::default()
        }
    }

    struct Owned(Vec<Event>, usize, String);
    impl EventSource for Owned {
        fn describe(&self) -> &str {
            &self.2
        }
        fn next_event(&mut self) -> Result<Option<Event>, SourceError> {
            let e = self.0.get(self.1).copied();
            self.1 += 1;
            Ok(e)
        }
    }

    fn drain(mut s: MergedSource) -> Vec<(u64, i64)> {
        let mut v = Vec::new();
        while let Some(e) = s.next_event().expect("no error") {
            v.push((e.ts_event, e.price));
        }
        v
    }

    #[test]
    fn runs_are_never_split_and_depth_goes_first_at_equal_times() {
        let depth = vec![
            ev(10, EventKind::Level, false, 1),
            ev(10, EventKind::Level, true, 2),
            ev(20, EventKind::Level, true, 3),
            ev(30, EventKind::Level, false, 4),
            ev(30, EventKind::Level, true, 5),
        ];
        let trades = vec![
            ev(5, EventKind::Trade, true, 100),
            ev(10, EventKind::Level, false, 101),
            ev(10, EventKind::Trade, true, 102),
            ev(25, EventKind::Trade, true, 103),
            ev(30, EventKind::Trade, true, 104),
            ev(40, EventKind::Trade, false, 105),
        ];
        let m = MergedSource::new(
            Box::new(Owned(depth, 0, "d.depth".into())),
            Box::new(Owned(trades, 0, "d.scid".into())),
        );
        assert_eq!(m.describe(), "d.scid + d.depth");
        let got: Vec<i64> = drain(m).into_iter().map(|(_, tag)| tag).collect();
        assert_eq!(got, [100, 1, 2, 101, 102, 3, 103, 4, 5, 104, 105]);
        // Either side empty: the other as it is.
        let only = vec![ev(1, EventKind::Trade, true, 7)];
        let m = MergedSource::new(Box::new(SliceSource::new(&[])), Box::new(Owned(only, 0, "x".into())));
        assert_eq!(drain(m), [(1, 7)]);
    }
}
