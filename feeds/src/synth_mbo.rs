//! The synthetic session as individual orders: converts the MBP-10 stream of
//! [`SynthSession`](crate::synth::SynthSession) into Databento-style MBO records (`A` add, `C`
//! cancel, `T` trade, `F` fill) whose aggregated book equals the MBP-10 book after every record
//! (price and size of each of the 10 levels per side; the per-level order *count* is not
//! reproduced: the converter makes one order per size increase).
//!
//! Rules, applied per MBP-10 record against the converter's own order book (every level, not
//! only the visible 10):
//! - **Trade** (`T`): an MBO `T` record (aggressor side, `order_id` 0); the traded quantity
//!   becomes a *fill credit* at the passive side and price. The MBP-10 feed reports the queue's
//!   depletion in the records that follow; those decreases are filled **from the front** of the
//!   queue (an `F` fill record, then a `C` record removing the quantity, as CME MBO data does), so
//!   FIFO queue position is meaningful.
//! - **Size increase** at a visible price: a new order at the back of the queue (`A`).
//! - **Size decrease** not covered by a fill credit: cancels from the **back** (the newest
//!   orders leave first; partial cancel of the last one).
//! - **A price level inside the visible range that the MBP-10 book no longer shows**: every
//!   order there is cancelled (the level was removed). Levels beyond the 10th visible price are
//!   kept as they are (they may come back into view unchanged; if they changed meanwhile, the
//!   next record that shows them reconciles them).
//!
//! All records derived from one MBP-10 record share its `ts_event`/`ts_recv`; the last of them
//! carries the MBP-10 record's flags (`LAST`), the others none. Order ids are 1, 2, 3, … in
//! creation order. The converter allocates (a cold tool: `mia gen --schema mbo`).

use dbn::{rtype, FlagSet, MboMsg, Mbp10Msg, RecordHeader, UNDEF_PRICE};
use std::collections::{BTreeMap, VecDeque};
use std::os::raw::c_char;

/// One resting order of the converter's book.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Resting {
    id: u64,
    size: u32,
}

/// One side of the converter's book: price → FIFO queue.
type SideBook = BTreeMap<i64, VecDeque<Resting>>;

/// The MBP-10 → MBO converter; see the [module docs](self).
#[derive(Debug, Default)]
pub struct MbpToMbo {
    /// Index 0 = bids, 1 = asks.
    book: [SideBook; 2],
    next_id: u64,
    /// Fill credit from the last trade: (passive side index, price, quantity left).
    credit: Option<(usize, i64, u32)>,
    /// MBO records written.
    pub records: u64,
}

const BID: usize = 0;
const ASK: usize = 1;

fn side_char(s: usize) -> c_char {
    (if s == BID { b'B' } else { b'A' }) as c_char
}

impl MbpToMbo {
    /// An empty converter.
    pub fn new() -> Self {
        Self::default()
    }

    /// Total size resting at `price` on side `s` (0 = bids, 1 = asks).
    pub fn size_at(&self, s: usize, price: i64) -> u64 {
        self.book[s].get(&price).map_or(0, |q| q.iter().map(|o| u64::from(o.size)).sum())
    }

    /// Appends to `out` the MBO records equivalent to `rec` (see the module docs).
    pub fn convert(&mut self, rec: &Mbp10Msg, out: &mut Vec<MboMsg>) {
        let start = out.len();
        let base = MboMsg {
            hd: RecordHeader::new::<MboMsg>(
                rtype::MBO,
                rec.hd.publisher_id,
                rec.hd.instrument_id,
                rec.hd.ts_event,
            ),
            order_id: 0,
            price: UNDEF_PRICE,
            size: 0,
            flags: FlagSet::empty(),
            channel_id: 0,
            action: b'N' as c_char,
            side: b'N' as c_char,
            ts_recv: rec.ts_recv,
            ts_in_delta: rec.ts_in_delta,
            sequence: rec.sequence,
        };
        // A trade record carries the book as it stands (unchanged by the trade), so every
        // record first reconciles the book (this also builds the opening book).
        for s in [BID, ASK] {
            self.reconcile_side(s, rec, &base, out);
        }
        if rec.action as u8 == b'T' {
            let aggressor = if rec.side as u8 == b'A' { ASK } else { BID };
            out.push(MboMsg {
                action: b'T' as c_char,
                side: rec.side,
                price: rec.price,
                size: rec.size,
                ..base
            });
            let passive = 1 - aggressor;
            self.credit = match self.credit {
                Some((s, p, q)) if s == passive && p == rec.price => Some((s, p, q.saturating_add(rec.size))),
                _ => Some((passive, rec.price, rec.size)),
            };
        }
        self.records += (out.len() - start) as u64;
        if let Some(last) = out.get_mut(start..).and_then(|r| r.last_mut()) {
            last.flags = rec.flags;
        } else if rec.flags.is_last() {
            // Nothing changed (a record that only repeats the book): keep the LAST boundary with
            // a no-op record the MBO readers ignore.
            out.push(MboMsg { flags: rec.flags, ..base });
            self.records += 1;
        }
    }

    /// Makes side `s` equal the record's visible levels.
    fn reconcile_side(&mut self, s: usize, rec: &Mbp10Msg, base: &MboMsg, out: &mut Vec<MboMsg>) {
        let mut visible: [(i64, u32); 10] = [(UNDEF_PRICE, 0); 10];
        let mut n = 0;
        for lvl in &rec.levels {
            let (px, sz) = if s == BID { (lvl.bid_px, lvl.bid_sz) } else { (lvl.ask_px, lvl.ask_sz) };
            if px != UNDEF_PRICE && sz > 0 {
                visible[n] = (px, sz);
                n += 1;
            }
        }
        let visible = &visible[..n];
        // Levels inside the visible range that are gone.
        let full = n == 10;
        let edge = visible.last().map(|v| v.0);
        let gone: Vec<i64> = self.book[s]
            .keys()
            .copied()
            .filter(|p| {
                let inside = match (full, edge) {
                    (true, Some(e)) => {
                        if s == BID {
                            *p >= e
                        } else {
                            *p <= e
                        }
                    }
                    _ => true,
                };
                inside && !visible.iter().any(|v| v.0 == *p)
            })
            .collect();
        for p in gone {
            let have = self.size_at(s, p);
            self.reduce(s, p, have, base, out);
        }
        for &(px, sz) in visible {
            let have = self.size_at(s, px);
            let want = u64::from(sz);
            if want > have {
                self.next_id += 1;
                let id = self.next_id;
                let add = (want - have) as u32;
                self.book[s].entry(px).or_default().push_back(Resting { id, size: add });
                out.push(MboMsg {
                    order_id: id,
                    price: px,
                    size: add,
                    action: b'A' as c_char,
                    side: side_char(s),
                    ..*base
                });
            } else if want < have {
                self.reduce(s, px, have - want, base, out);
            }
        }
    }

    /// Removes `qty` from the queue at `price`: first what a trade filled (from the front),
    /// then cancels from the back.
    fn reduce(&mut self, s: usize, price: i64, qty: u64, base: &MboMsg, out: &mut Vec<MboMsg>) {
        let mut left = qty;
        let mut fill = match self.credit {
            Some((cs, cp, cq)) if cs == s && cp == price => u64::from(cq).min(left),
            _ => 0,
        };
        if let Some((cs, cp, cq)) = self.credit {
            if cs == s && cp == price {
                let rest = u64::from(cq) - fill;
                self.credit = (rest > 0).then_some((cs, cp, rest as u32));
            }
        }
        let Some(q) = self.book[s].get_mut(&price) else { return };
        let side = side_char(s);
        while fill > 0 {
            let Some(front) = q.front_mut() else { break };
            let take = u64::from(front.size).min(fill) as u32;
            out.push(MboMsg { order_id: front.id, price, size: take, action: b'F' as c_char, side, ..*base });
            out.push(MboMsg { order_id: front.id, price, size: take, action: b'C' as c_char, side, ..*base });
            front.size -= take;
            if front.size == 0 {
                q.pop_front();
            }
            fill -= u64::from(take);
            left -= u64::from(take);
        }
        while left > 0 {
            let Some(back) = q.back_mut() else { break };
            let take = u64::from(back.size).min(left) as u32;
            out.push(MboMsg { order_id: back.id, price, size: take, action: b'C' as c_char, side, ..*base });
            back.size -= take;
            if back.size == 0 {
                q.pop_back();
            }
            left -= u64::from(take);
        }
        if q.is_empty() {
            self.book[s].remove(&price);
        }
    }
}

/// An iterator of MBO records over an iterator of MBP-10 records (`mia gen --schema mbo`).
pub struct MboStream<I: Iterator<Item = Mbp10Msg>> {
    inner: I,
    conv: MbpToMbo,
    buf: Vec<MboMsg>,
    pos: usize,
}

impl<I: Iterator<Item = Mbp10Msg>> MboStream<I> {
    /// Converts `inner` record by record.
    pub fn new(inner: I) -> Self {
        Self { inner, conv: MbpToMbo::new(), buf: Vec::with_capacity(64), pos: 0 }
    }
}

impl<I: Iterator<Item = Mbp10Msg>> Iterator for MboStream<I> {
    type Item = MboMsg;

    fn next(&mut self) -> Option<MboMsg> {
        while self.pos >= self.buf.len() {
            let rec = self.inner.next()?;
            self.buf.clear();
            self.pos = 0;
            self.conv.convert(&rec, &mut self.buf);
        }
        let m = self.buf[self.pos].clone();
        self.pos += 1;
        Some(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::{SynthConfig, SynthSession};
    use mia_model::book::mbo::{MboAction, MboBook, MboConfig};
    use mia_model::event::Side;

    fn apply(book: &mut MboBook, m: &MboMsg) {
        let side = if m.side as u8 == b'B' { Side::Bid } else { Side::Ask };
        if let Some(a) = MboAction::from_dbn(m.action as u8) {
            if !matches!(a, MboAction::Trade | MboAction::Fill | MboAction::None) {
                book.apply(a, side, m.order_id, m.price, m.size);
            }
        }
    }

    /// The MBO stream's book equals the MBP-10 book (price and size of 10 levels a side)
    /// after every record of a synthetic session, and trades are filled from the front.
    #[test]
    fn the_l2_view_of_the_mbo_stream_equals_the_mbp10_session() {
        let cfg = SynthConfig { target_records: 60_000, ..SynthConfig::default() };
        let mut conv = MbpToMbo::new();
        let mut book = MboBook::new(MboConfig::default());
        let mut out = Vec::new();
        let (mut records, mut fills, mut trades) = (0u64, 0u64, 0u64);
        for rec in SynthSession::new(&cfg) {
            out.clear();
            conv.convert(&rec, &mut out);
            for m in &out {
                apply(&mut book, m);
                fills += u64::from(m.action as u8 == b'F');
                trades += u64::from(m.action as u8 == b'T');
            }
            assert_eq!(out.last().map(|m| m.flags), Some(rec.flags), "the LAST boundary is kept");
            for (d, lvl) in rec.levels.iter().enumerate() {
                for (side, px, sz) in
                    [(Side::Bid, lvl.bid_px, lvl.bid_sz), (Side::Ask, lvl.ask_px, lvl.ask_sz)]
                {
                    let got = book.level(side, d);
                    if px == UNDEF_PRICE || sz == 0 {
                        assert_eq!(
                            got.size, 0,
                            "record {records}: {side:?} level {d} should be empty: {got:?}"
                        );
                    } else {
                        assert_eq!((got.price, got.size), (px, sz), "record {records}: {side:?} level {d}");
                    }
                }
            }
            records += 1;
        }
        assert!(records > 50_000 && trades > 1_000, "{records} records, {trades} trades");
        assert!(fills >= trades, "every trade fills resting orders from the front ({fills} fills)");
        assert_eq!(book.stats().errors(), 0, "{:?}", book.stats());
    }

    #[test]
    fn a_trade_fills_the_front_and_a_cancel_takes_the_back() {
        let mut c = MbpToMbo::new();
        let mut out = Vec::new();
        let mut rec = Mbp10Msg { action: b'A' as c_char, ..Default::default() };
        rec.levels[0].bid_px = 100;
        rec.levels[0].bid_sz = 5;
        c.convert(&rec, &mut out); // order 1: 5
        rec.levels[0].bid_sz = 8;
        c.convert(&rec, &mut out); // order 2: 3
        out.clear();
        // A sell of 4 at 100: order 1 (front) fills 4.
        let mut t = rec.clone();
        t.action = b'T' as c_char;
        t.side = b'A' as c_char;
        t.price = 100;
        t.size = 4;
        c.convert(&t, &mut out);
        rec.levels[0].bid_sz = 4;
        rec.action = b'M' as c_char;
        c.convert(&rec, &mut out);
        let fills: Vec<(u64, u32)> =
            out.iter().filter(|m| m.action as u8 == b'F').map(|m| (m.order_id, m.size)).collect();
        assert_eq!(fills, vec![(1, 4)]);
        out.clear();
        // A plain decrease of 2 cancels from the back: order 2 (3 → 1).
        rec.levels[0].bid_sz = 2;
        c.convert(&rec, &mut out);
        let cancels: Vec<(u64, u32)> =
            out.iter().filter(|m| m.action as u8 == b'C').map(|m| (m.order_id, m.size)).collect();
        assert_eq!(cancels, vec![(2, 2)]);
        assert_eq!(c.size_at(0, 100), 2);
    }
}
