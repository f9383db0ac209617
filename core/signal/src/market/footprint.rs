//! The footprint of the current bar (SIGNALS.md §1, §2 F8): aggressor volume per price,
//! `FP_CAP` slots with the bar's first trade at slot `FP_CAP / 2`, and the diagonal
//! imbalance / absorption reading of it.
//!
//! Levels are slot indices `i` (one tick each). `ask(i)` is buy-aggressor volume, `bid(i)`
//! sell-aggressor volume. With the bar's `low`/`high` as slot indices:
//! - buy imbalance at `i`: `i − 1 ≥ low`, `ask(i) ≥ min_level`, `ask(i) ≥ ratio·max(bid(i−1), 1)`;
//! - sell imbalance at `i`: `i + 1 ≤ high`, `bid(i) ≥ min_level`, `bid(i) ≥ ratio·max(ask(i+1), 1)`;
//! - a buy imbalance is absorbed when `high ≤ i + 1`, a sell imbalance when `low ≥ i − 1`.
//!
//! `score = ((B − 2·B_abs) − (S − 2·S_abs)) / V`. [`Footprint::summary`] computes it by a scan
//! (bar close); [`ImbalanceTracker`] keeps it incrementally in O(1) per trade (the live F8).

/// Price slots of a footprint (fixed).
pub const FP_CAP: usize = 256;
/// Slot of the bar's first trade.
pub const FP_ORIGIN: i32 = (FP_CAP / 2) as i32;

/// Thresholds of the imbalance reading (`[features.absorption]`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ImbalanceParams {
    /// Diagonal ratio (3.0).
    pub ratio: f64,
    /// Minimum aggressor volume at the level (10).
    pub min_level: u32,
}

/// Per-price aggressor volume of one bar. Invariant: slots outside `[lo_touch, hi_touch]` are
/// zero, so a close clears only that range.
#[derive(Clone, Debug)]
pub struct Footprint {
    sell: [u32; FP_CAP],
    buy: [u32; FP_CAP],
    base_tick: i64,
    lo_touch: i32,
    hi_touch: i32,
    /// Trades that fell outside the slots (they still count in the bar's OHLCV).
    pub overflow: u32,
}

impl Default for Footprint {
    fn default() -> Self {
        Self {
            sell: [0; FP_CAP],
            buy: [0; FP_CAP],
            base_tick: 0,
            lo_touch: i32::MAX,
            hi_touch: i32::MIN,
            overflow: 0,
        }
    }
}

/// The imbalance reading of a footprint.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct FpSummary {
    /// Σ ask over buy-imbalance levels.
    pub b: u32,
    /// Σ ask over absorbed buy-imbalance levels.
    pub b_abs: u32,
    /// Σ bid over sell-imbalance levels.
    pub s: u32,
    /// Σ bid over absorbed sell-imbalance levels.
    pub s_abs: u32,
}

impl FpSummary {
    /// `((B − 2B_abs) − (S − 2S_abs)) / volume`, `None` when `volume` is 0.
    pub fn score(&self, volume: u64) -> Option<f64> {
        (volume > 0).then(|| {
            let b = self.b as f64 - 2.0 * self.b_abs as f64;
            let s = self.s as f64 - 2.0 * self.s_abs as f64;
            (b - s) / volume as f64
        })
    }
}

impl Footprint {
    /// Starts a new bar whose first trade is at tick index `tick_index` (price / tick).
    #[inline]
    pub fn reset(&mut self, tick_index: i64) {
        if self.lo_touch <= self.hi_touch {
            let (a, b) = (self.lo_touch as usize, self.hi_touch as usize + 1);
            self.sell[a..b].fill(0);
            self.buy[a..b].fill(0);
        }
        self.base_tick = tick_index;
        self.lo_touch = i32::MAX;
        self.hi_touch = i32::MIN;
        self.overflow = 0;
    }

    /// Slot index of tick index `tick_index` (may lie outside `0..FP_CAP`).
    #[inline]
    pub fn slot(&self, tick_index: i64) -> i32 {
        (tick_index - self.base_tick).clamp(-(1 << 20), 1 << 20) as i32 + FP_ORIGIN
    }

    /// Adds `size` of aggressor `sign` (+1 buy, −1 sell; 0 adds nothing) at slot `i`.
    /// Returns false (and counts an overflow) when `i` lies outside the slots.
    #[inline]
    pub fn add(&mut self, i: i32, sign: i8, size: u32) -> bool {
        if !(0..FP_CAP as i32).contains(&i) {
            self.overflow += 1;
            return false;
        }
        let u = i as usize;
        match sign {
            1 => self.buy[u] = self.buy[u].saturating_add(size),
            -1 => self.sell[u] = self.sell[u].saturating_add(size),
            _ => return true,
        }
        self.lo_touch = self.lo_touch.min(i);
        self.hi_touch = self.hi_touch.max(i);
        true
    }

    /// Buy-aggressor volume at slot `i` (0 outside).
    #[inline]
    pub fn ask(&self, i: i32) -> u32 {
        if (0..FP_CAP as i32).contains(&i) {
            self.buy[i as usize]
        } else {
            0
        }
    }

    /// Sell-aggressor volume at slot `i` (0 outside).
    #[inline]
    pub fn bid(&self, i: i32) -> u32 {
        if (0..FP_CAP as i32).contains(&i) {
            self.sell[i as usize]
        } else {
            0
        }
    }

    /// The ask volume counted in `B` at `i` (0 when `i` is not a buy imbalance).
    #[inline]
    pub fn buy_imbalance(&self, i: i32, low: i32, p: &ImbalanceParams) -> u32 {
        let a = self.ask(i);
        let ok = i > low && a >= p.min_level && a as f64 >= p.ratio * self.bid(i - 1).max(1) as f64;
        if ok {
            a
        } else {
            0
        }
    }

    /// The bid volume counted in `S` at `i` (0 when `i` is not a sell imbalance).
    #[inline]
    pub fn sell_imbalance(&self, i: i32, high: i32, p: &ImbalanceParams) -> u32 {
        let b = self.bid(i);
        let ok = i < high && b >= p.min_level && b as f64 >= p.ratio * self.ask(i + 1).max(1) as f64;
        if ok {
            b
        } else {
            0
        }
    }

    /// The imbalance reading over `[low, high]` (slot indices) by a full scan.
    pub fn summary(&self, low: i32, high: i32, p: &ImbalanceParams) -> FpSummary {
        let mut out = FpSummary::default();
        let (a, b) = (low.max(0), high.min(FP_CAP as i32 - 1));
        for i in a..=b {
            let bi = self.buy_imbalance(i, low, p);
            let si = self.sell_imbalance(i, high, p);
            out.b += bi;
            out.s += si;
            if high <= i + 1 {
                out.b_abs += bi;
            }
            if low >= i - 1 {
                out.s_abs += si;
            }
        }
        out
    }
}

/// The F8 reading of one footprint, kept in O(1) per trade: a trade at slot `i` re-evaluates
/// `i − 1`, `i`, `i + 1`, and a new high (low) re-evaluates the old high (low); `B` and `S` are
/// updated by differences. `B_abs`/`S_abs` involve only the two top (bottom) slots.
#[derive(Clone, Debug)]
pub struct ImbalanceTracker {
    buy_c: [u32; FP_CAP],
    sell_c: [u32; FP_CAP],
    b: u64,
    s: u64,
    low: i32,
    high: i32,
    /// Slots with a nonzero contribution lie in `[lo_set, hi_set]`.
    lo_set: i32,
    hi_set: i32,
}

impl Default for ImbalanceTracker {
    fn default() -> Self {
        Self {
            buy_c: [0; FP_CAP],
            sell_c: [0; FP_CAP],
            b: 0,
            s: 0,
            low: 0,
            high: -1,
            lo_set: i32::MAX,
            hi_set: i32::MIN,
        }
    }
}

impl ImbalanceTracker {
    /// Clears for a new bar.
    pub fn reset(&mut self) {
        if self.lo_set <= self.hi_set {
            let (a, b) = (self.lo_set as usize, self.hi_set as usize + 1);
            self.buy_c[a..b].fill(0);
            self.sell_c[a..b].fill(0);
        }
        // field by field: a struct update through `Self::default()` would build (and copy)
        // two zeroed FP_CAP arrays at every bar
        self.b = 0;
        self.s = 0;
        self.low = 0;
        self.high = -1;
        self.lo_set = i32::MAX;
        self.hi_set = i32::MIN;
    }

    #[inline]
    fn reeval(&mut self, fp: &Footprint, i: i32, p: &ImbalanceParams) {
        if !(0..FP_CAP as i32).contains(&i) {
            return;
        }
        let u = i as usize;
        let nb = fp.buy_imbalance(i, self.low, p);
        let ns = fp.sell_imbalance(i, self.high, p);
        self.b = self.b + nb as u64 - self.buy_c[u] as u64;
        self.s = self.s + ns as u64 - self.sell_c[u] as u64;
        self.buy_c[u] = nb;
        self.sell_c[u] = ns;
        if nb | ns != 0 {
            self.lo_set = self.lo_set.min(i);
            self.hi_set = self.hi_set.max(i);
        }
    }

    /// A trade was added to `fp` at slot `i` (`first` for the bar's first trade).
    #[inline]
    pub fn on_trade(&mut self, fp: &Footprint, i: i32, first: bool, p: &ImbalanceParams) {
        let (old_low, old_high) = (self.low, self.high);
        if first {
            self.low = i;
            self.high = i;
        } else {
            self.low = self.low.min(i);
            self.high = self.high.max(i);
        }
        self.reeval(fp, i - 1, p);
        self.reeval(fp, i, p);
        self.reeval(fp, i + 1, p);
        if !first && self.high != old_high {
            self.reeval(fp, old_high, p);
        }
        if !first && self.low != old_low {
            self.reeval(fp, old_low, p);
        }
    }

    /// The current reading.
    #[inline]
    pub fn summary(&self) -> FpSummary {
        let c =
            |arr: &[u32; FP_CAP], i: i32| if (0..FP_CAP as i32).contains(&i) { arr[i as usize] } else { 0 };
        FpSummary {
            b: self.b as u32,
            s: self.s as u32,
            b_abs: c(&self.buy_c, self.high - 1) + c(&self.buy_c, self.high),
            s_abs: c(&self.sell_c, self.low) + c(&self.sell_c, self.low + 1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PARAMS: ImbalanceParams = ImbalanceParams { ratio: 3.0, min_level: 10 };

    fn feed(fp: &mut Footprint, tr: &mut ImbalanceTracker, trades: &[(i64, i8, u32)], first: &mut bool) {
        for &(t, sign, size) in trades {
            if *first {
                fp.reset(t);
                tr.reset();
            }
            let i = fp.slot(t);
            fp.add(i, sign, size);
            tr.on_trade(fp, i, *first, &PARAMS);
            *first = false;
        }
    }

    /// SIGNALS.md T8: F8 = 14/145, then a buy of 20 one tick higher gives 86/165.
    #[test]
    fn t8_footprint() {
        let (mut fp, mut tr, mut first) = (Footprint::default(), ImbalanceTracker::default(), true);
        // (tick, sign, size): p0 (bid 50, ask 5), p1 (10, 15), p2 (8, 36), p3 (12, 9)
        let trades =
            [(0, -1, 50), (0, 1, 5), (1, -1, 10), (1, 1, 15), (2, -1, 8), (2, 1, 36), (3, -1, 12), (3, 1, 9)];
        feed(&mut fp, &mut tr, &trades, &mut first);
        let (lo, hi) = (fp.slot(0), fp.slot(3));
        let scan = fp.summary(lo, hi, &PARAMS);
        assert_eq!(scan, FpSummary { b: 36, b_abs: 36, s: 50, s_abs: 50 });
        assert_eq!(tr.summary(), scan);
        assert!((scan.score(145).unwrap_or(f64::NAN) - 14.0 / 145.0).abs() < 1e-12);
        feed(&mut fp, &mut tr, &[(4, 1, 20)], &mut first);
        let scan = fp.summary(lo, fp.slot(4), &PARAMS);
        assert_eq!(scan, FpSummary { b: 36, b_abs: 0, s: 50, s_abs: 50 });
        assert_eq!(tr.summary(), scan);
        assert!((scan.score(165).unwrap_or(f64::NAN) - 86.0 / 165.0).abs() < 1e-12);
    }

    proptest::proptest! {
        /// Incremental = recomputed: after every trade of a random bar, the O(1) tracker's
        /// reading equals a full scan of the footprint (exact, integers).
        #[test]
        fn tracker_equals_scan(trades in proptest::collection::vec((-12i64..12, proptest::bool::ANY, 1u32..60), 1..300)) {
            let (mut fp, mut tr, mut first) = (Footprint::default(), ImbalanceTracker::default(), true);
            let (mut lo, mut hi) = (i64::MAX, i64::MIN);
            for (t, buy, size) in trades {
                feed(&mut fp, &mut tr, &[(t, if buy { 1 } else { -1 }, size)], &mut first);
                lo = lo.min(t);
                hi = hi.max(t);
                let scan = fp.summary(fp.slot(lo), fp.slot(hi), &PARAMS);
                proptest::prop_assert_eq!(tr.summary(), scan);
            }
        }
    }

    #[test]
    fn overflow_and_reset_clear_only_touched() {
        let mut fp = Footprint::default();
        fp.reset(1000);
        assert!(!fp.add(fp.slot(1000 + 200), 1, 5) && fp.overflow == 1);
        assert!(fp.add(fp.slot(1003), 1, 5));
        fp.reset(2000);
        assert_eq!((fp.ask(FP_ORIGIN + 3), fp.overflow), (0, 0));
        assert_eq!(fp.summary(0, FP_CAP as i32 - 1, &PARAMS), FpSummary::default());
    }
}
