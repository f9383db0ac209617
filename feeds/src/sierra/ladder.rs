//! A price-keyed depth book turned into MIA's depth-indexed `Level` events.
//!
//! Sierra Chart's depth sources (DTC `MARKET_DEPTH_UPDATE_LEVEL`, `.depth` recording files)
//! insert, update and delete levels *by price*; a MIA [`Event`] of kind `Level` *sets* the level
//! at a depth index. [`Ladder`] keeps every price level of both sides, and after each batch
//! [`Ladder::emit`] writes one `Level` event for every depth index `0..DEPTH` whose
//! (price, size, count) changed since the last emission (an insert shifts the levels below it,
//! so one update can produce several events). Only the last event of the batch carries
//! [`flags::LAST`]. A side holds at most [`MAX_LEVELS`] prices (the farthest are dropped).

use mia_model::book::{Level, DEPTH};
use mia_model::event::{flags, Event, EventKind, Side};
use mia_model::price::Px;

use crate::normalize::EventBuf;

/// Most price levels kept per side (far beyond what the book stage reads).
pub const MAX_LEVELS: usize = 1024;

/// Both sides of a price-keyed book plus the top levels as last emitted.
#[derive(Clone, Debug)]
pub struct Ladder {
    /// Bids best (highest) first, asks best (lowest) first.
    sides: [Vec<Level>; 2],
    emitted: [[Level; DEPTH]; 2],
    /// A `Clear` is owed at the next emission.
    cleared: bool,
}

impl Default for Ladder {
    fn default() -> Self {
        Self::new()
    }
}

fn index(side: Side) -> Option<usize> {
    match side {
        Side::Bid => Some(0),
        Side::Ask => Some(1),
        Side::None => None,
    }
}

impl Ladder {
    /// An empty book.
    pub fn new() -> Self {
        Self {
            sides: [Vec::with_capacity(64), Vec::with_capacity(64)],
            emitted: [[Level::EMPTY; DEPTH]; 2],
            cleared: false,
        }
    }

    /// Empties both sides; the next [`emit`](Self::emit) starts with a `Clear` event.
    pub fn clear(&mut self) {
        self.sides[0].clear();
        self.sides[1].clear();
        self.emitted = [[Level::EMPTY; DEPTH]; 2];
        self.cleared = true;
    }

    /// Position of `price` on a side: `Ok(i)` found, `Err(i)` insertion point.
    fn find(levels: &[Level], bid: bool, price: Px) -> Result<usize, usize> {
        if bid {
            levels.binary_search_by(|l| price.cmp(&l.price))
        } else {
            levels.binary_search_by(|l| l.price.cmp(&price))
        }
    }

    /// Inserts or updates the level at `price` (`size == 0` deletes it). `Side::None` is
    /// ignored.
    pub fn set(&mut self, side: Side, price: Px, size: u32, count: u32) {
        if size == 0 {
            self.delete(side, price);
            return;
        }
        let Some(s) = index(side) else { return };
        let levels = &mut self.sides[s];
        match Self::find(levels, s == 0, price) {
            Ok(i) => {
                if let Some(l) = levels.get_mut(i) {
                    l.size = size;
                    l.count = count;
                }
            }
            Err(i) => {
                if i >= MAX_LEVELS {
                    return;
                }
                if levels.len() >= MAX_LEVELS {
                    levels.pop();
                }
                levels.insert(i, Level { price, size, count });
            }
        }
    }

    /// Deletes the level at `price` (absent: nothing happens).
    pub fn delete(&mut self, side: Side, price: Px) {
        let Some(s) = index(side) else { return };
        let levels = &mut self.sides[s];
        if let Ok(i) = Self::find(levels, s == 0, price) {
            levels.remove(i);
        }
    }

    /// The level at depth `depth` of `side` (`Level::EMPTY` beyond the book).
    pub fn level(&self, side: Side, depth: usize) -> Level {
        index(side).and_then(|s| self.sides[s].get(depth).copied()).unwrap_or(Level::EMPTY)
    }

    /// Number of price levels on `side`.
    pub fn len(&self, side: Side) -> usize {
        index(side).map_or(0, |s| self.sides[s].len())
    }

    /// True when both sides are empty.
    pub fn is_empty(&self) -> bool {
        self.sides[0].is_empty() && self.sides[1].is_empty()
    }

    /// Appends to `out` the events that bring a consumer's book from the last emission to
    /// this state (a `Clear` first after [`clear`](Self::clear), then every changed depth
    /// index), stamped with `ts_event`/`ts_recv`/`instrument_id` and `base_flags`. When
    /// `last`, the final event carries [`flags::LAST`] (a `Status` event is added when
    /// nothing changed, so the batch is still closed). Returns the number of events added.
    pub fn emit(
        &mut self,
        ts_event: u64,
        ts_recv: u64,
        instrument_id: u32,
        base_flags: u8,
        last: bool,
        out: &mut EventBuf,
    ) -> usize {
        let before = out.len();
        let stamp =
            Event { ts_event, ts_recv, instrument_id, flags: base_flags & !flags::LAST, ..Event::default() };
        if self.cleared {
            out.push(Event { kind: EventKind::Clear, ..stamp });
            self.cleared = false;
        }
        for (s, side) in [(0usize, Side::Bid), (1, Side::Ask)] {
            for d in 0..DEPTH {
                let now = self.sides[s].get(d).copied().unwrap_or(Level::EMPTY);
                let slot = &mut self.emitted[s][d];
                if *slot != now {
                    *slot = now;
                    out.push(Event {
                        kind: EventKind::Level,
                        side,
                        depth: d as u8,
                        price: now.price,
                        size: now.size,
                        count: now.count,
                        ..stamp
                    });
                }
            }
        }
        if last {
            if out.len() == before {
                out.push(Event { kind: EventKind::Status, ..stamp });
            }
            if let Some(e) = out.as_mut_slice().last_mut() {
                e.flags |= flags::LAST;
            }
        }
        out.len() - before
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mia_model::price::UNDEF_PX;

    #[test]
    fn an_insert_above_the_best_shifts_every_level_down() {
        let mut l = Ladder::new();
        let mut out = EventBuf::new();
        l.set(Side::Bid, 100, 5, 1);
        l.set(Side::Bid, 99, 7, 2);
        assert_eq!(l.emit(1, 1, 0, 0, true, &mut out), 2);
        out.clear();
        l.set(Side::Bid, 101, 3, 1);
        l.emit(2, 2, 0, 0, true, &mut out);
        let got: Vec<_> = out.iter().map(|e| (e.depth, e.price, e.size)).collect();
        assert_eq!(got, vec![(0, 101, 3), (1, 100, 5), (2, 99, 7)]);
        assert!(out.as_slice()[2].is_last() && !out.as_slice()[1].is_last());
    }

    #[test]
    fn deletes_shift_up_and_empty_the_tail_and_clear_comes_first() {
        let mut l = Ladder::new();
        let mut out = EventBuf::new();
        l.set(Side::Ask, 10, 1, 0);
        l.set(Side::Ask, 11, 2, 0);
        l.set(Side::Ask, 9, 3, 0);
        assert_eq!(l.level(Side::Ask, 0).price, 9);
        l.emit(0, 0, 0, 0, true, &mut out);
        out.clear();
        l.delete(Side::Ask, 9);
        l.emit(0, 0, 0, 0, true, &mut out);
        let got: Vec<_> = out.iter().map(|e| (e.depth, e.price, e.size)).collect();
        assert_eq!(got, vec![(0, 10, 1), (1, 11, 2), (2, UNDEF_PX, 0)]);
        out.clear();
        l.clear();
        l.set(Side::Bid, 5, 1, 0);
        l.emit(0, 0, 0, 0, true, &mut out);
        assert_eq!(out.as_slice()[0].kind, EventKind::Clear);
        assert_eq!(out.len(), 2, "clear + the one new level (the consumer's book is empty)");
        out.clear();
        assert_eq!(l.emit(0, 0, 0, 0, true, &mut out), 1, "nothing changed: a Status closes the batch");
        assert_eq!(out.as_slice()[0].kind, EventKind::Status);
        l.set(Side::None, 1, 1, 1);
        assert_eq!(l.len(Side::Bid), 1);
    }
}
