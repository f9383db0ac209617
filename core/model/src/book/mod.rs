//! The L2 order book: a fixed array of [`DEPTH`] price levels per side, updated in O(1) by
//! `Level` events (each sets one level), emptied by `Clear`. Trades and status events never
//! change it (MBO fills and trades are normalized to `Trade` events upstream, so they cannot
//! create phantom liquidity).
//!
//! Invariant: `bids[d]`/`asks[d]` hold exactly the last `Level` event for (side, d) since the
//! last `Clear`; an empty level has `size == 0` and `price == UNDEF_PX`. The book does not
//! re-sort: the feed normalizers emit a level for every depth whose content changed.

pub mod mbo;

use crate::event::{Event, EventKind, Side};
use crate::price::{Px, UNDEF_PX};

/// Levels kept per side.
pub const DEPTH: usize = 10;

/// One price level.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Level {
    /// Price (1e-9 units); `UNDEF_PX` when empty.
    pub price: Px,
    /// Aggregate size in contracts; 0 when empty.
    pub size: u32,
    /// Number of orders (0 when unknown).
    pub count: u32,
}

impl Level {
    /// The empty level.
    pub const EMPTY: Level = Level { price: UNDEF_PX, size: 0, count: 0 };

    /// True when the level holds no size.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.size == 0 || self.price == UNDEF_PX
    }
}

impl Default for Level {
    fn default() -> Self {
        Self::EMPTY
    }
}

/// What an applied event did to the book.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BookChange {
    /// The book changed.
    Changed,
    /// The event does not touch the book (trade, status).
    Unchanged,
    /// The event was refused (depth beyond [`DEPTH`], or no side); counted in `rejected`.
    Rejected,
}

/// Fixed-depth L2 book.
#[derive(Clone, Debug)]
pub struct Book {
    bids: [Level; DEPTH],
    asks: [Level; DEPTH],
    /// Events refused by [`Book::apply`].
    pub rejected: u64,
}

impl Default for Book {
    fn default() -> Self {
        Self::new()
    }
}

impl Book {
    /// An empty book.
    pub const fn new() -> Self {
        Self { bids: [Level::EMPTY; DEPTH], asks: [Level::EMPTY; DEPTH], rejected: 0 }
    }

    /// Applies one event in O(1).
    #[inline]
    pub fn apply(&mut self, ev: &Event) -> BookChange {
        match ev.kind {
            EventKind::Level => {
                let d = ev.depth as usize;
                let lvl = if ev.size == 0 {
                    Level::EMPTY
                } else {
                    Level { price: ev.price, size: ev.size, count: ev.count }
                };
                let slot = match ev.side {
                    Side::Bid => self.bids.get_mut(d),
                    Side::Ask => self.asks.get_mut(d),
                    Side::None => None,
                };
                match slot {
                    Some(s) => {
                        *s = lvl;
                        BookChange::Changed
                    }
                    None => {
                        self.rejected += 1;
                        BookChange::Rejected
                    }
                }
            }
            EventKind::Clear => {
                self.clear();
                BookChange::Changed
            }
            EventKind::Trade | EventKind::Status | EventKind::Mbo => BookChange::Unchanged,
        }
    }

    /// Empties both sides.
    pub fn clear(&mut self) {
        self.bids = [Level::EMPTY; DEPTH];
        self.asks = [Level::EMPTY; DEPTH];
    }

    /// Bid level at `depth` (EMPTY beyond [`DEPTH`]).
    #[inline]
    pub fn bid(&self, depth: usize) -> Level {
        self.bids.get(depth).copied().unwrap_or(Level::EMPTY)
    }

    /// Ask level at `depth` (EMPTY beyond [`DEPTH`]).
    #[inline]
    pub fn ask(&self, depth: usize) -> Level {
        self.asks.get(depth).copied().unwrap_or(Level::EMPTY)
    }

    /// All bid levels, best first.
    #[inline]
    pub fn bids(&self) -> &[Level; DEPTH] {
        &self.bids
    }

    /// All ask levels, best first.
    #[inline]
    pub fn asks(&self) -> &[Level; DEPTH] {
        &self.asks
    }

    /// Best bid, if any.
    #[inline]
    pub fn best_bid(&self) -> Option<Level> {
        let l = self.bids[0];
        (!l.is_empty()).then_some(l)
    }

    /// Best ask, if any.
    #[inline]
    pub fn best_ask(&self) -> Option<Level> {
        let l = self.asks[0];
        (!l.is_empty()).then_some(l)
    }

    /// Mid price (rounded down to the 1e-9 unit) when both sides exist.
    #[inline]
    pub fn mid(&self) -> Option<Px> {
        match (self.best_bid(), self.best_ask()) {
            (Some(b), Some(a)) => Some(b.price + (a.price - b.price) / 2),
            _ => None,
        }
    }

    /// Best ask − best bid when both sides exist.
    #[inline]
    pub fn spread(&self) -> Option<Px> {
        match (self.best_bid(), self.best_ask()) {
            (Some(b), Some(a)) => Some(a.price - b.price),
            _ => None,
        }
    }

    /// True when best bid ≥ best ask (crossed or locked): the book is not tradable.
    #[inline]
    pub fn is_crossed_or_locked(&self) -> bool {
        matches!(self.spread(), Some(s) if s <= 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::flags;

    fn lvl(side: Side, depth: u8, px: i64, size: u32) -> Event {
        Event::level(1, 1, side, depth, px, size, 1, flags::LAST)
    }

    #[test]
    fn sets_levels_and_reports_top() {
        let mut b = Book::new();
        assert_eq!(b.mid(), None);
        assert_eq!(b.apply(&lvl(Side::Bid, 0, 100, 5)), BookChange::Changed);
        assert_eq!(b.apply(&lvl(Side::Ask, 0, 104, 7)), BookChange::Changed);
        assert_eq!(b.apply(&lvl(Side::Bid, 1, 98, 9)), BookChange::Changed);
        assert_eq!(b.best_bid().map(|l| (l.price, l.size)), Some((100, 5)));
        assert_eq!(b.best_ask().map(|l| l.size), Some(7));
        assert_eq!(b.bid(1).price, 98);
        assert_eq!(b.mid(), Some(102));
        assert_eq!(b.spread(), Some(4));
        assert!(!b.is_crossed_or_locked());
        // size 0 empties the level
        b.apply(&lvl(Side::Bid, 1, 98, 0));
        assert!(b.bid(1).is_empty());
        assert_eq!(b.bid(1).price, UNDEF_PX);
    }

    #[test]
    fn trades_do_not_touch_book_and_bad_depth_is_rejected() {
        let mut b = Book::new();
        b.apply(&lvl(Side::Bid, 0, 100, 5));
        let before = b.clone();
        assert_eq!(b.apply(&Event::trade(1, 1, Side::Ask, 100, 5, 0)), BookChange::Unchanged);
        assert_eq!(b.bids(), before.bids());
        assert_eq!(b.apply(&lvl(Side::Bid, DEPTH as u8, 90, 1)), BookChange::Rejected);
        assert_eq!(b.apply(&lvl(Side::None, 0, 90, 1)), BookChange::Rejected);
        assert_eq!(b.rejected, 2);
    }

    #[test]
    fn crossed_and_clear() {
        let mut b = Book::new();
        b.apply(&lvl(Side::Bid, 0, 105, 5));
        b.apply(&lvl(Side::Ask, 0, 105, 5));
        assert!(b.is_crossed_or_locked());
        b.apply(&Event { kind: EventKind::Clear, ..Event::default() });
        assert!(b.best_bid().is_none() && b.best_ask().is_none());
    }
}
