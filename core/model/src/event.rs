//! The hot-path market event: one fixed-size, `Copy`, `#[repr(C)]` record per normalized
//! market-data change.
//!
//! Every feed (synthetic, DBN, journal, live brokers) normalizes to [`Event`]s before the book
//! stage: a `Level` event *sets* one level of the L2 book (side, depth, price, size, count), a
//! `Trade` event reports a print with its aggressor side, `Clear` empties the book and
//! `Status` carries heartbeats and session state. A feed record that changes several levels
//! becomes several events; only the last one carries [`flags::LAST`], and features and signals
//! are evaluated on `LAST` events only, when the book is consistent.
//!
//! An MBO feed also sends each raw record as an `Mbo` event ([`Event::mbo`]) *before* the
//! `Level` / `Trade` / `Clear` events derived from it: the simulated venue's L3 FIFO queue
//! model reads it; the book and the signal side ignore it. It never carries `LAST`.

use crate::price::Px;

/// Kind of a market [`Event`].
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum EventKind {
    /// Sets book level `depth` on `side` to (`price`, `size`, `count`); `size == 0` empties it.
    #[default]
    Level = 1,
    /// A trade print: `price`, `size`, aggressor `side` (`Bid` = buy-initiated).
    Trade = 2,
    /// Clears the whole book (start of a snapshot or a reset).
    Clear = 3,
    /// Heartbeat / session status; carries no book change.
    Status = 4,
    /// One raw market-by-order record, for consumers that track individual orders (the
    /// venue's L3 queue): `depth` holds the DBN action byte (`A`, `C`, `M`, `R`, `T`, `F`,
    /// `N`; see [`Event::mbo_action`]), `side`, `order_id`, `price` and `size` are the
    /// record's. Never changes the L2 book and never carries [`flags::LAST`].
    Mbo = 5,
}

impl EventKind {
    /// Decodes the wire byte, `None` if it is not a known kind.
    #[inline]
    pub fn from_u8(v: u8) -> Option<Self> {
        match v {
            1 => Some(Self::Level),
            2 => Some(Self::Trade),
            3 => Some(Self::Clear),
            4 => Some(Self::Status),
            5 => Some(Self::Mbo),
            _ => None,
        }
    }
}

/// Side of a book level or aggressor side of a trade (DBN's convention).
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Side {
    /// No side (e.g. a trade whose aggressor is unknown).
    #[default]
    None = 0,
    /// Bid side of the book; for a trade, a buy-initiated (buyer-aggressor) print.
    Bid = 1,
    /// Ask side of the book; for a trade, a sell-initiated (seller-aggressor) print.
    Ask = 2,
}

impl Side {
    /// Decodes the wire byte, `None` if it is not a known side.
    #[inline]
    pub fn from_u8(v: u8) -> Option<Self> {
        match v {
            0 => Some(Self::None),
            1 => Some(Self::Bid),
            2 => Some(Self::Ask),
            _ => None,
        }
    }

    /// +1 for `Bid` (buy), −1 for `Ask` (sell), 0 for `None`.
    #[inline]
    pub fn sign(self) -> i64 {
        match self {
            Self::Bid => 1,
            Self::Ask => -1,
            Self::None => 0,
        }
    }

    /// The opposite side (`None` stays `None`).
    #[inline]
    pub fn opposite(self) -> Self {
        match self {
            Self::Bid => Self::Ask,
            Self::Ask => Self::Bid,
            Self::None => Self::None,
        }
    }
}

/// Event flag bits (the DBN `flags` byte keeps its meaning).
pub mod flags {
    /// Last event of a feed record / exchange event: the book is consistent after it.
    pub const LAST: u8 = 1 << 7;
    /// Top-of-book message.
    pub const TOB: u8 = 1 << 6;
    /// Part of a snapshot (replay from a snapshot).
    pub const SNAPSHOT: u8 = 1 << 5;
    /// Aggregated price-level (MBP) message.
    pub const MBP: u8 = 1 << 4;
    /// The `ts_recv` is inaccurate (clock issue or reordering).
    pub const BAD_TS_RECV: u8 = 1 << 3;
    /// An unrecoverable gap was detected in the channel.
    pub const MAYBE_BAD_BOOK: u8 = 1 << 2;
}

/// One normalized market-data change. 64 bytes, `Copy`, no pointers.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Event {
    /// Exchange (matching-engine) timestamp, ns since the UNIX epoch.
    pub ts_event: u64,
    /// Local receive timestamp, ns since the UNIX epoch. Decisions use this as "now".
    pub ts_recv: u64,
    /// Position of the event in its stream, assigned by the pipeline source (0-based).
    pub seq: u64,
    /// Price in 1e-9 units (level price or trade price).
    pub price: Px,
    /// Order id for MBO-derived events (0 otherwise).
    pub order_id: u64,
    /// Level size or trade size, in contracts.
    pub size: u32,
    /// Number of orders at the level (0 when unknown).
    pub count: u32,
    /// Exchange instrument id.
    pub instrument_id: u32,
    /// [`EventKind`] as a byte.
    pub kind: EventKind,
    /// [`Side`] of the level or aggressor side of the trade.
    pub side: Side,
    /// Book depth (0 = top) for `Level` events.
    pub depth: u8,
    /// [`flags`] bits.
    pub flags: u8,
}

const _: () = assert!(core::mem::size_of::<Event>() <= 64);
const _: () = assert!(core::mem::size_of::<Event>() == 56);

impl crate::fixed_vec::Blank for Event {
    const BLANK: Event = Event {
        ts_event: 0,
        ts_recv: 0,
        seq: 0,
        price: 0,
        order_id: 0,
        size: 0,
        count: 0,
        instrument_id: 0,
        kind: EventKind::Status,
        side: Side::None,
        depth: 0,
        flags: 0,
    };
}

impl Event {
    /// A `Level` event.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    pub fn level(
        ts_event: u64,
        ts_recv: u64,
        side: Side,
        depth: u8,
        price: Px,
        size: u32,
        count: u32,
        flags: u8,
    ) -> Self {
        Self {
            ts_event,
            ts_recv,
            side,
            depth,
            price,
            size,
            count,
            flags,
            kind: EventKind::Level,
            ..Self::default()
        }
    }

    /// A `Trade` event with aggressor `side`.
    #[inline]
    pub fn trade(ts_event: u64, ts_recv: u64, side: Side, price: Px, size: u32, flags: u8) -> Self {
        Self { ts_event, ts_recv, side, price, size, flags, kind: EventKind::Trade, ..Self::default() }
    }

    /// An `Mbo` event: the raw MBO record (`action` is its DBN action byte, kept in `depth`).
    /// `LAST` is cleared from `flags`: the events derived from the record carry it.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    pub fn mbo(
        ts_event: u64,
        ts_recv: u64,
        action: u8,
        side: Side,
        order_id: u64,
        price: Px,
        size: u32,
        flags: u8,
    ) -> Self {
        Self {
            ts_event,
            ts_recv,
            side,
            depth: action,
            order_id,
            price,
            size,
            flags: flags & !flags::LAST,
            kind: EventKind::Mbo,
            ..Self::default()
        }
    }

    /// The MBO action of an `Mbo` event (`None` for other kinds or an unknown action byte).
    #[inline]
    pub fn mbo_action(&self) -> Option<crate::book::mbo::MboAction> {
        if self.kind == EventKind::Mbo {
            crate::book::mbo::MboAction::from_dbn(self.depth)
        } else {
            None
        }
    }

    /// True when the book is consistent after this event.
    #[inline]
    pub fn is_last(&self) -> bool {
        self.flags & flags::LAST != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for k in [EventKind::Level, EventKind::Trade, EventKind::Clear, EventKind::Status, EventKind::Mbo] {
            assert_eq!(EventKind::from_u8(k as u8), Some(k));
        }
        assert_eq!(EventKind::from_u8(0), None);
        for s in [Side::None, Side::Bid, Side::Ask] {
            assert_eq!(Side::from_u8(s as u8), Some(s));
        }
        assert_eq!(Side::from_u8(9), None);
        assert_eq!(Side::Bid.opposite(), Side::Ask);
        assert_eq!(Side::Ask.sign(), -1);
    }

    #[test]
    fn constructors_set_kind_and_last() {
        let e = Event::trade(1, 2, Side::Bid, 5, 3, flags::LAST);
        assert_eq!(e.kind, EventKind::Trade);
        assert!(e.is_last());
        let l = Event::level(1, 2, Side::Ask, 3, 7, 9, 2, 0);
        assert_eq!((l.kind, l.depth, l.size, l.count), (EventKind::Level, 3, 9, 2));
        assert!(!l.is_last());
        let m = Event::mbo(1, 2, b'C', Side::Bid, 77, 5, 3, flags::LAST | flags::SNAPSHOT);
        assert_eq!((m.kind, m.order_id, m.size, m.flags), (EventKind::Mbo, 77, 3, flags::SNAPSHOT));
        assert_eq!(m.mbo_action(), Some(crate::book::mbo::MboAction::Cancel));
        assert_eq!(l.mbo_action(), None, "only Mbo events carry an action");
        assert_eq!(Event { depth: b'?', ..m }.mbo_action(), None);
    }
}
