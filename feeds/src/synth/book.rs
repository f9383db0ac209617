//! The generator's own 10-level MBP book: contiguous price ladders (1 tick apart on each
//! side) with a variable spread, stored directly in DBN's level layout so that emitting a
//! record is a plain copy.

use dbn::BidAskPair;

/// Number of visible levels per side.
pub(crate) const DEPTH: usize = 10;

/// Book side index: 0 = bid, 1 = ask.
pub(crate) type SideIx = usize;
/// Bid side index.
pub(crate) const BID: SideIx = 0;
/// Ask side index.
pub(crate) const ASK: SideIx = 1;

/// Ten contiguous levels per side. `top[BID]` / `top[ASK]` are the best prices in ticks;
/// level `i` of the bid is `top[BID] − i`, of the ask `top[ASK] + i`.
#[derive(Clone, Debug)]
pub(crate) struct Book {
    /// Best bid and best ask price, in ticks.
    pub(crate) top: [i64; 2],
    /// The levels in DBN layout (prices in 1e-9 units).
    pub(crate) lv: [BidAskPair; DEPTH],
    /// Tick size in 1e-9 units.
    tick: i64,
}

impl Book {
    /// A book with best bid `bid_tick` and best ask one tick above; `level(side, depth)` gives
    /// each level's (size, count).
    pub(crate) fn new(bid_tick: i64, tick: i64, mut level: impl FnMut(SideIx, usize) -> (u32, u32)) -> Self {
        let lv = std::array::from_fn(|i| {
            let (bid_sz, bid_ct) = level(BID, i);
            let (ask_sz, ask_ct) = level(ASK, i);
            BidAskPair {
                bid_px: (bid_tick - i as i64) * tick,
                ask_px: (bid_tick + 1 + i as i64) * tick,
                bid_sz,
                ask_sz,
                bid_ct,
                ask_ct,
            }
        });
        Self { top: [bid_tick, bid_tick + 1], lv, tick }
    }

    /// Price in ticks of level `depth` on `side`.
    #[inline]
    pub(crate) fn price(&self, side: SideIx, depth: usize) -> i64 {
        if side == BID {
            self.top[BID] - depth as i64
        } else {
            self.top[ASK] + depth as i64
        }
    }

    /// Spread in ticks (≥ 1).
    #[inline]
    pub(crate) fn spread(&self) -> i64 {
        self.top[ASK] - self.top[BID]
    }

    /// (size, count) of level `depth` on `side`.
    #[inline]
    pub(crate) fn get(&self, side: SideIx, depth: usize) -> (u32, u32) {
        let l = &self.lv[depth];
        if side == BID {
            (l.bid_sz, l.bid_ct)
        } else {
            (l.ask_sz, l.ask_ct)
        }
    }

    /// Sets (size, count) of level `depth` on `side`.
    #[inline]
    pub(crate) fn set(&mut self, side: SideIx, depth: usize, size: u32, count: u32) {
        let l = &mut self.lv[depth];
        if side == BID {
            (l.bid_sz, l.bid_ct) = (size, count);
        } else {
            (l.ask_sz, l.ask_ct) = (size, count);
        }
    }

    /// Total size of the best `n` levels of `side`.
    #[inline]
    pub(crate) fn size_within(&self, side: SideIx, n: usize) -> u32 {
        self.lv[..n].iter().map(|l| if side == BID { l.bid_sz } else { l.ask_sz }).sum()
    }

    /// Removes the top level of `side`; the ladder shifts towards the touch and a new deepest
    /// level (`deep_size`, `deep_count`) appears one tick beyond the old deepest.
    #[inline]
    pub(crate) fn remove_top(&mut self, side: SideIx, deep_size: u32, deep_count: u32) {
        let lv = &mut self.lv;
        if side == BID {
            for i in 0..DEPTH - 1 {
                (lv[i].bid_px, lv[i].bid_sz, lv[i].bid_ct) =
                    (lv[i + 1].bid_px, lv[i + 1].bid_sz, lv[i + 1].bid_ct);
            }
            lv[DEPTH - 1].bid_px -= self.tick;
            self.top[BID] -= 1;
        } else {
            for i in 0..DEPTH - 1 {
                (lv[i].ask_px, lv[i].ask_sz, lv[i].ask_ct) =
                    (lv[i + 1].ask_px, lv[i + 1].ask_sz, lv[i + 1].ask_ct);
            }
            lv[DEPTH - 1].ask_px += self.tick;
            self.top[ASK] += 1;
        }
        self.set(side, DEPTH - 1, deep_size, deep_count);
    }

    /// Inserts a new best level one tick inside the spread on `side` (requires spread ≥ 2);
    /// the deepest level leaves the 10-level view.
    #[inline]
    pub(crate) fn insert_top(&mut self, side: SideIx, size: u32, count: u32) {
        debug_assert!(self.spread() >= 2);
        let lv = &mut self.lv;
        if side == BID {
            for i in (1..DEPTH).rev() {
                (lv[i].bid_px, lv[i].bid_sz, lv[i].bid_ct) =
                    (lv[i - 1].bid_px, lv[i - 1].bid_sz, lv[i - 1].bid_ct);
            }
            lv[0].bid_px += self.tick;
            self.top[BID] += 1;
        } else {
            for i in (1..DEPTH).rev() {
                (lv[i].ask_px, lv[i].ask_sz, lv[i].ask_ct) =
                    (lv[i - 1].ask_px, lv[i - 1].ask_sz, lv[i - 1].ask_ct);
            }
            lv[0].ask_px -= self.tick;
            self.top[ASK] -= 1;
        }
        self.set(side, 0, size, count);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn book() -> Book {
        Book::new(100, 250, |side, i| (if side == BID { 10 } else { 20 } + i as u32, 1))
    }

    #[test]
    fn remove_and_insert_shift_the_ladder() {
        let mut b = book();
        assert_eq!((b.lv[3].bid_px, b.lv[3].ask_px, b.lv[3].ask_sz), (97 * 250, 104 * 250, 23));
        b.remove_top(ASK, 99, 3);
        assert_eq!((b.top, b.spread()), ([100, 102], 2));
        assert_eq!(b.get(ASK, 0), (21, 1));
        assert_eq!(b.get(ASK, 9), (99, 3));
        assert_eq!((b.price(ASK, 9), b.lv[9].ask_px), (111, 111 * 250));
        assert_eq!(b.size_within(ASK, 2), 43);
        b.insert_top(BID, 5, 2);
        assert_eq!((b.top, b.spread()), ([101, 102], 1));
        let sizes: Vec<u32> = (0..3).map(|i| b.get(BID, i).0).collect();
        assert_eq!(sizes, [5, 10, 11]);
        assert_eq!(b.get(BID, 9).0, 18);
        assert_eq!((b.lv[0].bid_px, b.lv[0].ask_px, b.lv[9].bid_px), (101 * 250, 102 * 250, 92 * 250));
        for i in 0..DEPTH {
            assert_eq!(b.lv[i].bid_px, b.price(BID, i) * 250);
            assert_eq!(b.lv[i].ask_px, b.price(ASK, i) * 250);
        }
    }
}
