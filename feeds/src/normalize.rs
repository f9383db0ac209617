//! Normalizers from DBN records to MIA [`Event`]s, allocation-free.
//!
//! Rules (shared by every normalizer):
//! - a `Level` event *sets* book level (`side`, `depth`) to (`price`, `size`, `count`); an empty
//!   level is sent as `price = UNDEF_PX`, `size = 0`, `count = 0`;
//! - a `Trade` event carries the aggressor side (DBN convention: `B` = buy aggressor = `Bid`);
//! - `Clear` empties the book;
//! - every event copies the record's `ts_event`, `ts_recv`, `instrument_id` and `flags`; only the
//!   last event produced from a record keeps the record's [`flags::LAST`] bit. When a record with
//!   `LAST` produces no event although an earlier event of the same exchange event went out
//!   without `LAST`, a `Status` event carrying `LAST` closes the exchange event;
//! - `seq` is left 0 (the pipeline assigns it).
//!
//! Each normalizer clears the [`EventBuf`] it is given and writes the events of one record.

use std::ffi::c_char;

use dbn::{BidAskPair, MboMsg, Mbp10Msg, Mbp1Msg, RecordHeader, TradeMsg};
use mia_model::book::mbo::{MboAction, MboBook, MboConfig, MboStats};
use mia_model::book::Level;
use mia_model::event::{flags, Event, EventKind, Side};
use mia_model::fixed_vec::FixedVec;
use mia_model::price::Px;

/// Capacity of an [`EventBuf`]; one record yields at most 2 × 10 levels + clear + trade.
pub const EVENT_BUF_CAP: usize = 64;

const _: () = assert!(EVENT_BUF_CAP >= 2 * mia_model::book::DEPTH + 3);

/// A fixed-capacity buffer of events (no allocation); pushing beyond [`EVENT_BUF_CAP`]
/// returns false and counts the event in `overflow()`.
pub type EventBuf = FixedVec<Event, EVENT_BUF_CAP>;

/// DBN side character to [`Side`] (`B` bid / buy aggressor, `A` ask / sell aggressor, any
/// other byte `None`): one load from a 256-entry table.
#[inline]
pub fn side_from_dbn(c: c_char) -> Side {
    SIDE_OF_BYTE[c as u8 as usize]
}

/// [`side_from_dbn`]'s table.
static SIDE_OF_BYTE: [Side; 256] = {
    let mut t = [Side::None; 256];
    t[b'B' as usize] = Side::Bid;
    t[b'A' as usize] = Side::Ask;
    t
};

/// What every event of one record copies from it.
#[derive(Clone, Copy)]
struct Stamp {
    ts_event: u64,
    ts_recv: u64,
    instrument_id: u32,
    flags: u8,
}

impl Stamp {
    #[inline]
    fn new(hd: &RecordHeader, ts_recv: u64, flags: u8) -> Self {
        Self { ts_event: hd.ts_event, ts_recv, instrument_id: hd.instrument_id, flags }
    }

    /// An event of `kind` with the record's stamps and flags without `LAST`.
    #[inline]
    fn event(&self, kind: EventKind) -> Event {
        Event {
            ts_event: self.ts_event,
            ts_recv: self.ts_recv,
            instrument_id: self.instrument_id,
            kind,
            flags: self.flags & !flags::LAST,
            ..Event::default()
        }
    }

    #[inline]
    fn level(&self, side: Side, depth: usize, l: Level) -> Event {
        Event {
            side,
            depth: depth as u8,
            price: l.price,
            size: l.size,
            count: l.count,
            ..self.event(EventKind::Level)
        }
    }

    #[inline]
    fn trade(&self, side: c_char, price: Px, size: u32) -> Event {
        Event { side: side_from_dbn(side), price, size, ..self.event(EventKind::Trade) }
    }
}

/// Tracks whether an exchange event is open (events sent without `LAST`).
#[derive(Clone, Copy, Debug, Default)]
struct LastTracker {
    open: bool,
}

impl LastTracker {
    /// Applies the `LAST` rule to the events of one record (all of `out`).
    #[inline]
    fn finish(&mut self, st: &Stamp, out: &mut EventBuf) {
        let last = st.flags & flags::LAST != 0;
        match out.as_mut_slice().last_mut() {
            Some(e) => {
                e.flags = st.flags;
                self.open = !last;
            }
            None if last && self.open => {
                let mut e = st.event(EventKind::Status);
                e.flags = st.flags;
                out.push(e);
                self.open = false;
            }
            None => {}
        }
    }
}

/// A DBN level pair's bid side as a [`Level`] (size 0 → `Level::EMPTY`).
#[inline]
fn bid_level(p: &BidAskPair) -> Level {
    if p.bid_sz == 0 {
        Level::EMPTY
    } else {
        Level { price: p.bid_px, size: p.bid_sz, count: p.bid_ct }
    }
}

/// A DBN level pair's ask side as a [`Level`] (size 0 → `Level::EMPTY`).
#[inline]
fn ask_level(p: &BidAskPair) -> Level {
    if p.ask_sz == 0 {
        Level::EMPTY
    } else {
        Level { price: p.ask_px, size: p.ask_sz, count: p.ask_ct }
    }
}

/// Market-by-price normalizer over `N` levels per side: keeps the previous record's levels and
/// emits a `Level` event for each (side, depth) whose (price, size, count) changed.
///
/// Actions: `T` also emits a `Trade` (after the levels: for TBBO the record's levels are the
/// book just before the trade), `R` emits `Clear` and then every non-empty level, `F` never
/// changes the book (its levels are not read); `A`, `C`, `M`, `N` only diff the levels.
#[derive(Clone, Debug)]
pub struct MbpNormalizer<const N: usize> {
    /// `[bids, asks]` as last emitted.
    prev: [[Level; N]; 2],
    /// The record levels `prev` was derived from: an unchanged depth is skipped with one
    /// 32-byte comparison.
    raw: [RawPair; N],
    last: LastTracker,
}

/// A copy of a DBN [`BidAskPair`] (which is not `Copy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct RawPair {
    bid_px: Px,
    ask_px: Px,
    bid_sz: u32,
    ask_sz: u32,
    bid_ct: u32,
    ask_ct: u32,
}

impl RawPair {
    /// The pair of two empty levels (what `prev` starts from).
    const EMPTY: Self = Self {
        bid_px: mia_model::price::UNDEF_PX,
        ask_px: mia_model::price::UNDEF_PX,
        bid_sz: 0,
        ask_sz: 0,
        bid_ct: 0,
        ask_ct: 0,
    };

    #[inline]
    fn of(p: &BidAskPair) -> Self {
        Self {
            bid_px: p.bid_px,
            ask_px: p.ask_px,
            bid_sz: p.bid_sz,
            ask_sz: p.ask_sz,
            bid_ct: p.bid_ct,
            ask_ct: p.ask_ct,
        }
    }
}

/// MBP-10 normalizer.
pub type Mbp10Normalizer = MbpNormalizer<10>;
/// MBP-1 normalizer.
pub type Mbp1Normalizer = MbpNormalizer<1>;
/// TBBO normalizer (TBBO records are MBP-1 records, every one a trade).
pub type TbboNormalizer = MbpNormalizer<1>;

impl<const N: usize> Default for MbpNormalizer<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> MbpNormalizer<N> {
    /// A normalizer with an empty book.
    pub const fn new() -> Self {
        Self { prev: [[Level::EMPTY; N]; 2], raw: [RawPair::EMPTY; N], last: LastTracker { open: false } }
    }

    /// The levels of `side` as last emitted (empty for `Side::None`).
    pub fn levels(&self, side: Side) -> [Level; N] {
        match side {
            Side::Bid => self.prev[0],
            Side::Ask => self.prev[1],
            Side::None => [Level::EMPTY; N],
        }
    }

    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn apply(
        &mut self,
        st: Stamp,
        action: c_char,
        side: c_char,
        price: Px,
        size: u32,
        levels: &[BidAskPair; N],
        out: &mut EventBuf,
    ) {
        out.clear();
        let action = action as u8;
        if action == b'R' {
            out.push(st.event(EventKind::Clear));
            self.prev = [[Level::EMPTY; N]; 2];
            self.raw = [RawPair::EMPTY; N];
        }
        if action != b'F' {
            for (d, p) in levels.iter().enumerate() {
                let r = RawPair::of(p);
                if r == self.raw[d] {
                    continue;
                }
                self.raw[d] = r;
                let b = bid_level(p);
                if b != self.prev[0][d] {
                    self.prev[0][d] = b;
                    out.push(st.level(Side::Bid, d, b));
                }
                let a = ask_level(p);
                if a != self.prev[1][d] {
                    self.prev[1][d] = a;
                    out.push(st.level(Side::Ask, d, a));
                }
            }
        }
        if action == b'T' {
            out.push(st.trade(side, price, size));
        }
        self.last.finish(&st, out);
    }
}

impl MbpNormalizer<10> {
    /// Clears `out` and writes the events of one MBP-10 record.
    #[inline]
    pub fn normalize(&mut self, rec: &Mbp10Msg, out: &mut EventBuf) {
        let st = Stamp::new(&rec.hd, rec.ts_recv, rec.flags.raw());
        self.apply(st, rec.action, rec.side, rec.price, rec.size, &rec.levels, out);
    }
}

impl MbpNormalizer<1> {
    /// Clears `out` and writes the events of one MBP-1 or TBBO record.
    #[inline]
    pub fn normalize(&mut self, rec: &Mbp1Msg, out: &mut EventBuf) {
        let st = Stamp::new(&rec.hd, rec.ts_recv, rec.flags.raw());
        self.apply(st, rec.action, rec.side, rec.price, rec.size, &rec.levels, out);
    }
}

/// Trades-schema normalizer: one `Trade` event per trade record.
#[derive(Clone, Debug, Default)]
pub struct TradeNormalizer {
    last: LastTracker,
}

impl TradeNormalizer {
    /// A new normalizer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Clears `out` and writes the events of one trade record (records whose action is not `T`
    /// produce no trade).
    #[inline]
    pub fn normalize(&mut self, rec: &TradeMsg, out: &mut EventBuf) {
        out.clear();
        let st = Stamp::new(&rec.hd, rec.ts_recv, rec.flags.raw());
        if rec.action as u8 == b'T' {
            out.push(st.trade(rec.side, rec.price, rec.size));
        }
        self.last.finish(&st, out);
    }
}

/// MBO normalizer: applies each record to an [`MboBook`] and emits, first, the raw record as an
/// [`EventKind::Mbo`] event ([`Event::mbo`]: action, side, order id, price, size; never `LAST`;
/// the venue's L3 FIFO queue model reads it, the book and the signal side skip it), then
/// `Level` events for the top-10 levels that changed (`T` → `Trade`, `R` → `Clear`, `F` and
/// `N` → nothing; `F` and `T` never change the book). Events derived from an MBO record carry
/// its `order_id`. The `LAST` rule applies to the derived events only: a record with `LAST`
/// whose only event is its `Mbo` event closes an open exchange event with a `Status`, as a
/// record with no event did before. A record with an unknown action sends no `Mbo` event.
pub struct MboNormalizer {
    book: MboBook,
    last: LastTracker,
    unknown_actions: u64,
}

impl MboNormalizer {
    /// A normalizer whose book is sized by `cfg` (all allocation happens here).
    pub fn new(cfg: MboConfig) -> Self {
        Self::with_book(MboBook::new(cfg))
    }

    /// A normalizer over a given (empty) book, e.g. [`MboBook::new_rescan`] (the reference
    /// top-10 algorithm, for the benchmark's before/after).
    pub fn with_book(book: MboBook) -> Self {
        Self { book, last: LastTracker::default(), unknown_actions: 0 }
    }

    /// The underlying order book.
    pub fn book(&self) -> &MboBook {
        &self.book
    }

    /// The book's error counters.
    pub fn stats(&self) -> &MboStats {
        self.book.stats()
    }

    /// Records whose action character is not a known MBO action (ignored).
    pub fn unknown_actions(&self) -> u64 {
        self.unknown_actions
    }

    /// Clears `out` and writes the events of one MBO record.
    ///
    /// Per record: one table load decodes the action byte ([`MboAction::from_dbn`]), one
    /// `match` dispatches it; the `Mbo` event is written once as a whole value and every
    /// derived event is a copy of it ([`FixedVec::push_copy_of`]: a few wide moves, no
    /// per-field restamping) with its own kind and level fields written over; the `LAST` rule
    /// is a few selects and one rare branch (the closing `Status`).
    #[inline]
    pub fn normalize(&mut self, rec: &MboMsg, out: &mut EventBuf) {
        out.clear();
        let fl = rec.flags.raw();
        let Some(action) = MboAction::from_dbn(rec.action as u8) else {
            // No `Mbo` event, no book change (the view was diffed after the previous record).
            self.unknown_actions += 1;
            self.last_rule(fl, rec, out);
            return;
        };
        let side = side_from_dbn(rec.side);
        out.push(Event {
            ts_event: rec.hd.ts_event,
            ts_recv: rec.ts_recv,
            seq: 0,
            price: rec.price,
            order_id: rec.order_id,
            size: rec.size,
            count: 0,
            instrument_id: rec.hd.instrument_id,
            kind: EventKind::Mbo,
            side,
            depth: rec.action as u8,
            flags: fl & !flags::LAST,
        });
        match action {
            MboAction::Add => self.book.add(rec.order_id, side, rec.price, rec.size),
            MboAction::Cancel => self.book.cancel(rec.order_id, rec.size),
            MboAction::Modify => self.book.modify(rec.order_id, side, rec.price, rec.size),
            MboAction::Trade => {
                if let Some(e) = out.push_copy_of(0) {
                    (e.kind, e.depth) = (EventKind::Trade, 0);
                }
            }
            MboAction::Clear => {
                self.book.clear();
                if let Some(e) = out.push_copy_of(0) {
                    (e.kind, e.side, e.depth, e.price, e.size) = (EventKind::Clear, Side::None, 0, 0, 0);
                }
            }
            MboAction::Fill | MboAction::None => {}
        }
        self.book.diff_top(|side, depth, l| {
            if let Some(e) = out.push_copy_of(0) {
                (e.kind, e.side, e.depth) = (EventKind::Level, side, depth);
                (e.price, e.size, e.count) = (l.price, l.size, l.count);
            }
        });
        self.last_rule(fl, rec, out);
    }

    /// The `LAST` rule on the events of one MBO record (all of `out`; a leading `Mbo` event
    /// never carries `LAST`): the last derived event gets the record's flags; with no derived
    /// event, a record with `LAST` closes an open exchange event with a `Status`.
    #[inline]
    fn last_rule(&mut self, fl: u8, rec: &MboMsg, out: &mut EventBuf) {
        let n = out.len();
        let last = fl & flags::LAST != 0;
        let derived = n > 1;
        if let Some(e) = out.as_mut_slice().last_mut() {
            e.flags |= if derived { fl & flags::LAST } else { 0 };
        }
        let close = !derived && last && self.last.open;
        self.last.open = if derived { !last } else { self.last.open && !last };
        if close {
            out.push(Event {
                ts_event: rec.hd.ts_event,
                ts_recv: rec.ts_recv,
                instrument_id: rec.hd.instrument_id,
                kind: EventKind::Status,
                flags: fl,
                ..Event::default()
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dbn::{rtype, FlagSet, UNDEF_PRICE};
    use mia_model::price::UNDEF_PX;

    const IID: u32 = 5482;
    const T: Px = 250_000_000;

    fn px(points: f64) -> Px {
        (points * 1e9).round() as Px
    }

    fn ch(c: u8) -> c_char {
        c as c_char
    }

    fn pair(bid: (f64, u32, u32), ask: (f64, u32, u32)) -> BidAskPair {
        let p = |(x, s, _): (f64, u32, u32)| if s == 0 { UNDEF_PRICE } else { px(x) };
        BidAskPair {
            bid_px: p(bid),
            ask_px: p(ask),
            bid_sz: bid.1,
            ask_sz: ask.1,
            bid_ct: bid.2,
            ask_ct: ask.2,
        }
    }

    const E: (f64, u32, u32) = (0.0, 0, 0);

    fn mbp10(
        ts: u64,
        action: u8,
        side: u8,
        price: f64,
        size: u32,
        fl: u8,
        levels: &[BidAskPair],
    ) -> Mbp10Msg {
        let mut m = Mbp10Msg {
            hd: RecordHeader::new::<Mbp10Msg>(rtype::MBP_10, 1, IID, ts),
            price: px(price),
            size,
            action: ch(action),
            side: ch(side),
            flags: FlagSet::new(fl),
            ts_recv: ts + 7,
            ..Mbp10Msg::default()
        };
        for (d, l) in levels.iter().enumerate() {
            m.levels[d] = l.clone();
        }
        m
    }

    fn lvl(price: f64, size: u32, count: u32) -> Level {
        Level { price: px(price), size, count }
    }

    /// (kind, side, depth, price, size, count, flags) of each event, for compact assertions.
    fn summary(out: &EventBuf) -> Vec<(EventKind, Side, u8, Px, u32, u32, u8)> {
        out.iter().map(|e| (e.kind, e.side, e.depth, e.price, e.size, e.count, e.flags)).collect()
    }

    const L: u8 = flags::LAST;

    #[test]
    fn event_buf_is_bounded() {
        let mut b = EventBuf::new();
        assert!(b.is_empty());
        for i in 0..EVENT_BUF_CAP {
            assert!(b.push(Event { size: i as u32, ..Event::default() }));
        }
        assert!(!b.push(Event::default()), "a full buffer refuses");
        assert_eq!(b.len(), EVENT_BUF_CAP);
        assert_eq!(b.get(3).map(|e| e.size), Some(3));
        assert_eq!(b.get(EVENT_BUF_CAP), None);
        b.clear();
        assert!(b.is_empty());
        assert_eq!(b.iter().count(), 0);
    }

    #[test]
    fn mbp10_first_record_emits_every_level_and_stamps() {
        let mut n = Mbp10Normalizer::new();
        let mut out = EventBuf::new();
        let rec =
            mbp10(100, b'A', b'B', 10.0, 5, L, &[pair((10.0, 5, 1), (10.25, 4, 2)), pair((9.75, 3, 1), E)]);
        n.normalize(&rec, &mut out);
        assert_eq!(
            summary(&out),
            vec![
                (EventKind::Level, Side::Bid, 0, px(10.0), 5, 1, 0),
                (EventKind::Level, Side::Ask, 0, px(10.25), 4, 2, 0),
                (EventKind::Level, Side::Bid, 1, px(9.75), 3, 1, L),
            ]
        );
        for e in out.iter() {
            assert_eq!((e.ts_event, e.ts_recv, e.instrument_id, e.seq, e.order_id), (100, 107, IID, 0, 0));
        }
        assert_eq!(n.levels(Side::Bid)[1], lvl(9.75, 3, 1));
        assert_eq!(n.levels(Side::Ask)[1], Level::EMPTY);
    }

    #[test]
    fn mbp10_insertion_shifts_levels_and_deletion_shifts_back() {
        let mut n = Mbp10Normalizer::new();
        let mut out = EventBuf::new();
        let a = (10.25, 4, 2);
        n.normalize(
            &mbp10(1, b'A', b'B', 10.0, 5, L, &[pair((10.0, 5, 1), a), pair((9.75, 3, 1), E)]),
            &mut out,
        );
        // A new best bid at 10.125 is not on a 0.25 grid here on purpose: MBP passes prices
        // through. Every bid level shifts down one depth.
        let ins = mbp10(
            2,
            b'A',
            b'B',
            10.125,
            1,
            L,
            &[pair((10.125, 1, 1), a), pair((10.0, 5, 1), E), pair((9.75, 3, 1), E)],
        );
        n.normalize(&ins, &mut out);
        assert_eq!(
            summary(&out),
            vec![
                (EventKind::Level, Side::Bid, 0, px(10.125), 1, 1, 0),
                (EventKind::Level, Side::Bid, 1, px(10.0), 5, 1, 0),
                (EventKind::Level, Side::Bid, 2, px(9.75), 3, 1, L),
            ]
        );
        // Cancel of the best bid: levels shift back up, depth 2 becomes empty.
        let del = mbp10(3, b'C', b'B', 10.125, 1, L, &[pair((10.0, 5, 1), a), pair((9.75, 3, 1), E)]);
        n.normalize(&del, &mut out);
        assert_eq!(
            summary(&out),
            vec![
                (EventKind::Level, Side::Bid, 0, px(10.0), 5, 1, 0),
                (EventKind::Level, Side::Bid, 1, px(9.75), 3, 1, 0),
                (EventKind::Level, Side::Bid, 2, UNDEF_PX, 0, 0, L),
            ]
        );
    }

    #[test]
    fn mbp10_trade_leaves_book_and_fill_is_silent() {
        let mut n = Mbp10Normalizer::new();
        let mut out = EventBuf::new();
        let lv = [pair((10.0, 5, 1), (10.25, 4, 2))];
        n.normalize(&mbp10(1, b'A', b'A', 10.25, 4, L, &lv), &mut out);
        n.normalize(&mbp10(2, b'T', b'A', 10.0, 2, L, &lv), &mut out);
        assert_eq!(summary(&out), vec![(EventKind::Trade, Side::Ask, 0, px(10.0), 2, 0, L)]);
        // Even a fill record whose levels differ does not touch the book.
        n.normalize(&mbp10(3, b'F', b'B', 10.0, 2, L, &[pair((10.0, 3, 1), (10.25, 4, 2))]), &mut out);
        assert!(out.is_empty());
        assert_eq!(n.levels(Side::Bid)[0], lvl(10.0, 5, 1));
    }

    #[test]
    fn mbp10_clear_then_snapshot_levels() {
        let mut n = Mbp10Normalizer::new();
        let mut out = EventBuf::new();
        let lv = [pair((10.0, 5, 1), (10.25, 4, 2))];
        n.normalize(&mbp10(1, b'A', b'A', 10.25, 4, L, &lv), &mut out);
        n.normalize(&mbp10(2, b'R', b'N', 0.0, 0, L, &lv), &mut out);
        assert_eq!(
            summary(&out),
            vec![
                (EventKind::Clear, Side::None, 0, 0, 0, 0, 0),
                (EventKind::Level, Side::Bid, 0, px(10.0), 5, 1, 0),
                (EventKind::Level, Side::Ask, 0, px(10.25), 4, 2, L),
            ]
        );
    }

    #[test]
    fn last_flag_moves_to_the_last_event_and_status_closes_an_open_event() {
        let mut n = Mbp10Normalizer::new();
        let mut out = EventBuf::new();
        let snap = flags::SNAPSHOT;
        // No LAST: every event carries the record's flags without LAST.
        n.normalize(&mbp10(1, b'A', b'B', 10.0, 5, snap, &[pair((10.0, 5, 1), E)]), &mut out);
        assert_eq!(summary(&out), vec![(EventKind::Level, Side::Bid, 0, px(10.0), 5, 1, snap)]);
        // LAST with no book change: a Status event carries LAST.
        n.normalize(&mbp10(2, b'A', b'B', 10.0, 5, snap | L, &[pair((10.0, 5, 1), E)]), &mut out);
        assert_eq!(summary(&out), vec![(EventKind::Status, Side::None, 0, 0, 0, 0, snap | L)]);
        assert_eq!((out.as_slice()[0].ts_event, out.as_slice()[0].instrument_id), (2, IID));
        // LAST again with nothing open: no event at all.
        n.normalize(&mbp10(3, b'A', b'B', 10.0, 5, L, &[pair((10.0, 5, 1), E)]), &mut out);
        assert!(out.is_empty());
    }

    fn mbp1(action: u8, side: u8, price: f64, size: u32, fl: u8, l: BidAskPair) -> Mbp1Msg {
        Mbp1Msg {
            hd: RecordHeader::new::<Mbp1Msg>(rtype::MBP_1, 1, IID, 9),
            price: px(price),
            size,
            action: ch(action),
            side: ch(side),
            flags: FlagSet::new(fl),
            ts_recv: 10,
            levels: [l],
            ..Mbp1Msg::default()
        }
    }

    #[test]
    fn mbp1_and_tbbo_levels_then_trade() {
        let mut n = TbboNormalizer::new();
        let mut out = EventBuf::new();
        // TBBO: the levels are the BBO before the trade; then the trade.
        n.normalize(&mbp1(b'T', b'B', 10.25, 3, L, pair((10.0, 5, 1), (10.25, 4, 2))), &mut out);
        assert_eq!(
            summary(&out),
            vec![
                (EventKind::Level, Side::Bid, 0, px(10.0), 5, 1, 0),
                (EventKind::Level, Side::Ask, 0, px(10.25), 4, 2, 0),
                (EventKind::Trade, Side::Bid, 0, px(10.25), 3, 0, L),
            ]
        );
        n.normalize(&mbp1(b'T', b'B', 10.25, 1, L, pair((10.0, 5, 1), (10.25, 1, 1))), &mut out);
        assert_eq!(
            summary(&out),
            vec![
                (EventKind::Level, Side::Ask, 0, px(10.25), 1, 1, 0),
                (EventKind::Trade, Side::Bid, 0, px(10.25), 1, 0, L),
            ]
        );
        let mut m = Mbp1Normalizer::new();
        m.normalize(&mbp1(b'C', b'A', 10.25, 4, L, pair((10.0, 5, 1), E)), &mut out);
        assert_eq!(summary(&out), vec![(EventKind::Level, Side::Bid, 0, px(10.0), 5, 1, L)]);
    }

    #[test]
    fn trades_schema() {
        let mut n = TradeNormalizer::new();
        let mut out = EventBuf::new();
        let t = TradeMsg {
            hd: RecordHeader::new::<TradeMsg>(rtype::MBP_0, 1, IID, 5),
            price: px(3720.25),
            size: 5,
            action: ch(b'T'),
            side: ch(b'A'),
            flags: FlagSet::new(0),
            ts_recv: 6,
            ..TradeMsg::default()
        };
        n.normalize(&t, &mut out);
        assert_eq!(summary(&out), vec![(EventKind::Trade, Side::Ask, 0, px(3720.25), 5, 0, 0)]);
        let t2 = TradeMsg { flags: FlagSet::new(L), action: ch(b'N'), ..t.clone() };
        n.normalize(&t2, &mut out);
        assert_eq!(summary(&out), vec![(EventKind::Status, Side::None, 0, 0, 0, 0, L)]);
    }

    fn mbo(id: u64, action: u8, side: u8, price: f64, size: u32, fl: u8) -> MboMsg {
        MboMsg {
            hd: RecordHeader::new::<MboMsg>(rtype::MBO, 1, IID, 1),
            order_id: id,
            price: px(price),
            size,
            flags: FlagSet::new(fl),
            action: ch(action),
            side: ch(side),
            ts_recv: 2,
            ..MboMsg::default()
        }
    }

    fn mbo_normalizer() -> MboNormalizer {
        MboNormalizer::new(MboConfig { tick: T, ladder_ticks: 256, max_orders: 64 })
    }

    /// The events derived from an MBO record (its leading `Mbo` event left out).
    fn derived(out: &EventBuf) -> Vec<(EventKind, Side, u8, Px, u32, u32, u8)> {
        out.iter()
            .filter(|e| e.kind != EventKind::Mbo)
            .map(|e| (e.kind, e.side, e.depth, e.price, e.size, e.count, e.flags))
            .collect()
    }

    #[test]
    fn every_known_mbo_record_is_sent_first_as_a_raw_mbo_event() {
        let mut n = mbo_normalizer();
        let mut out = EventBuf::new();
        let snap = flags::SNAPSHOT;
        for (id, action, side, price, size, fl) in [
            (1, b'A', b'B', 100.0, 5, L | snap),
            (1, b'M', b'B', 100.25, 4, L),
            (0, b'T', b'A', 100.25, 2, 0),
            (1, b'F', b'B', 100.25, 2, 0),
            (1, b'C', b'B', 100.25, 2, L),
            (0, b'R', b'N', 0.0, 0, L),
        ] {
            n.normalize(&mbo(id, action, side, price, size, fl), &mut out);
            let m = out.as_slice()[0];
            assert_eq!(m.kind, EventKind::Mbo, "{}", action as char);
            assert_eq!(
                (
                    m.depth,
                    m.side,
                    m.order_id,
                    m.price,
                    m.size,
                    m.flags,
                    m.ts_event,
                    m.ts_recv,
                    m.instrument_id
                ),
                (action, side_from_dbn(ch(side)), id, px(price), size, fl & !L, 1, 2, IID),
                "{}",
                action as char
            );
            assert_eq!(m.mbo_action(), MboAction::from_dbn(action));
            assert_eq!(out.iter().filter(|e| e.kind == EventKind::Mbo).count(), 1);
            assert!(out.iter().skip(1).all(|e| !e.is_last() || e.kind != EventKind::Mbo));
        }
        // A deep add that changes nothing in the top 10 still reaches the venue as its record.
        let mut deep = mbo_normalizer();
        for i in 0..11u64 {
            deep.normalize(&mbo(10 + i, b'A', b'A', 200.0 + i as f64 * 0.25, 1, L), &mut out);
        }
        deep.normalize(&mbo(99, b'A', b'A', 210.0, 3, L), &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!((out.as_slice()[0].kind, out.as_slice()[0].order_id), (EventKind::Mbo, 99));
        // Unknown action: no event at all.
        deep.normalize(&mbo(0, b'?', b'N', 0.0, 0, 0), &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn mbo_add_cancel_modify_fill_trade_sequence() {
        let mut n = mbo_normalizer();
        let mut out = EventBuf::new();
        n.normalize(&mbo(1, b'A', b'B', 100.0, 5, L), &mut out);
        assert_eq!(derived(&out), vec![(EventKind::Level, Side::Bid, 0, px(100.0), 5, 1, L)]);
        assert_eq!(out.as_slice()[1].order_id, 1, "derived events carry the record's order id");
        n.normalize(&mbo(2, b'A', b'B', 100.0, 3, L), &mut out);
        assert_eq!(derived(&out), vec![(EventKind::Level, Side::Bid, 0, px(100.0), 8, 2, L)]);
        n.normalize(&mbo(3, b'A', b'A', 100.25, 4, L), &mut out);
        assert_eq!(derived(&out), vec![(EventKind::Level, Side::Ask, 0, px(100.25), 4, 1, L)]);
        // Aggressive sell of 4 at 100.00: trade, fills (silent), then the resting side's cancels.
        n.normalize(&mbo(0, b'T', b'A', 100.0, 4, 0), &mut out);
        assert_eq!(derived(&out), vec![(EventKind::Trade, Side::Ask, 0, px(100.0), 4, 0, 0)]);
        n.normalize(&mbo(1, b'F', b'B', 100.0, 4, 0), &mut out);
        assert!(derived(&out).is_empty(), "a fill emits nothing but its Mbo event");
        n.normalize(&mbo(1, b'C', b'B', 100.0, 4, L), &mut out);
        assert_eq!(derived(&out), vec![(EventKind::Level, Side::Bid, 0, px(100.0), 4, 2, L)]);
        // Modify order 2 up one tick: it leaves 100.00 (now only order 1, size 1).
        n.normalize(&mbo(2, b'M', b'B', 100.25, 3, L), &mut out);
        assert_eq!(
            derived(&out),
            vec![
                (EventKind::Level, Side::Bid, 0, px(100.25), 3, 1, 0),
                (EventKind::Level, Side::Bid, 1, px(100.0), 1, 1, L),
            ]
        );
        assert_eq!(n.book().level(Side::Ask, 0), lvl(100.25, 4, 1));
        // Unknown cancel: counted, and with LAST but nothing open, no event.
        n.normalize(&mbo(77, b'C', b'A', 100.5, 1, L), &mut out);
        assert!(derived(&out).is_empty());
        assert_eq!(n.stats().unknown_order, 1);
        // Clear.
        n.normalize(&mbo(0, b'R', b'N', 0.0, 0, L), &mut out);
        assert_eq!(derived(&out), vec![(EventKind::Clear, Side::None, 0, 0, 0, 0, L)]);
        assert_eq!(n.book().order_count(), 0);
        n.normalize(&mbo(0, b'?', b'N', 0.0, 0, 0), &mut out);
        assert_eq!(n.unknown_actions(), 1);
    }

    #[test]
    fn mbo_multi_record_event_closes_with_status() {
        let mut n = mbo_normalizer();
        let mut out = EventBuf::new();
        n.normalize(&mbo(1, b'A', b'A', 10.0, 1, 0), &mut out);
        assert_eq!(out.len(), 2, "the Mbo event, then the level");
        assert!(!out.as_slice()[1].is_last());
        // The closing record is a fill: no book change, so a Status carries LAST.
        n.normalize(&mbo(1, b'F', b'A', 10.0, 1, L), &mut out);
        assert_eq!(derived(&out), vec![(EventKind::Status, Side::None, 0, 0, 0, 0, L)]);
    }
}
