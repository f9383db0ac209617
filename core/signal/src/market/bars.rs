//! Event-time bars (SIGNALS.md §1): 1, 5, 15 and 60-minute bars in UTC-aligned intervals
//! `[k·P, (k+1)·P)` (Chicago's offset is a whole number of hours, so these are Chicago clock
//! boundaries and no bar spans 16:00 CT), each with the current bar's footprint, in fixed rings
//! of the last `ring_len` closed bars.
//!
//! **Close rule**: an open bar with end `E` closes on the first event of any kind with
//! `now ≥ E`, *before* that event is applied, so a bar holds exactly the trades with
//! `ts_recv < E`. A bar opens on the first trade at or after its start. An interval with no
//! trade produces **no bar**: the gap shows as a jump in `ts_start` between consecutive bars
//! (no phantom bar is invented, and the previous close is not carried forward).

use super::footprint::Footprint;
use mia_model::bar::Bar;
use mia_model::price::Px;

/// Ring capacity cap per timeframe.
pub const BAR_RING_CAP: usize = 512;
/// Nanoseconds per minute.
const NS_PER_MIN: u64 = 60_000_000_000;

/// The four bar lengths (fixed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Timeframe {
    /// 1 minute.
    M1 = 0,
    /// 5 minutes.
    M5 = 1,
    /// 15 minutes.
    M15 = 2,
    /// 60 minutes.
    M60 = 3,
}

/// Every timeframe, in the order closes are processed.
pub const TIMEFRAMES: [Timeframe; 4] = [Timeframe::M1, Timeframe::M5, Timeframe::M15, Timeframe::M60];

impl Timeframe {
    /// Bar length in minutes.
    #[inline]
    pub const fn minutes(self) -> u64 {
        match self {
            Timeframe::M1 => 1,
            Timeframe::M5 => 5,
            Timeframe::M15 => 15,
            Timeframe::M60 => 60,
        }
    }

    /// Bar length in ns.
    #[inline]
    pub const fn ns(self) -> u64 {
        self.minutes() * NS_PER_MIN
    }

    /// Index 0..4.
    #[inline]
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The timeframe of `minutes` (1, 5, 15 or 60).
    pub fn from_minutes(minutes: u64) -> Option<Self> {
        TIMEFRAMES.into_iter().find(|t| t.minutes() == minutes)
    }
}

/// The last `cap` closed bars, newest last.
#[derive(Clone, Debug)]
pub struct BarRing {
    bars: Box<[Bar]>,
    /// Index of the next write.
    head: usize,
    len: usize,
    /// Bars ever pushed.
    pub total: u64,
}

impl BarRing {
    /// A ring of `cap` (1..=[`BAR_RING_CAP`]) bars (allocates once).
    pub fn new(cap: usize) -> Self {
        let cap = cap.clamp(1, BAR_RING_CAP);
        Self { bars: vec![Bar::default(); cap].into_boxed_slice(), head: 0, len: 0, total: 0 }
    }

    /// Appends, overwriting the oldest when full.
    #[inline]
    pub fn push(&mut self, b: Bar) {
        self.bars[self.head] = b;
        self.head += 1;
        if self.head == self.bars.len() {
            self.head = 0;
        }
        self.len = (self.len + 1).min(self.bars.len());
        self.total += 1;
    }

    /// Bars held.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when no bar is held.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The `k`-th newest bar (0 = the last closed).
    #[inline]
    pub fn back(&self, k: usize) -> Option<&Bar> {
        if k >= self.len {
            return None;
        }
        // head < n and k < len ≤ n, so head + n − 1 − k < 2n: one conditional subtraction
        // instead of a division (this is called hundreds of times per decision close)
        let n = self.bars.len();
        let mut i = self.head + n - 1 - k;
        if i >= n {
            i -= n;
        }
        self.bars.get(i)
    }

    /// The newest closed bar.
    #[inline]
    pub fn last(&self) -> Option<&Bar> {
        self.back(0)
    }
}

/// The bar being built for one timeframe.
#[derive(Clone, Debug)]
struct OpenBar {
    bar: Bar,
    /// Σ (price − open in ticks) · size, for the bar VWAP (exact).
    sum_xv: i64,
    spread_sum: f64,
    spread_n: u32,
}

/// One timeframe: its open bar, footprint and ring.
#[derive(Clone, Debug)]
pub struct BarSeries {
    tf: Timeframe,
    open: Option<OpenBar>,
    end_ns: u64,
    last_spread: f32,
    /// The open bar's footprint.
    pub footprint: Footprint,
    /// Closed bars.
    pub ring: BarRing,
}

impl BarSeries {
    fn new(tf: Timeframe, ring_len: usize) -> Self {
        Self {
            tf,
            open: None,
            end_ns: u64::MAX,
            last_spread: 0.0,
            footprint: Footprint::default(),
            ring: BarRing::new(ring_len),
        }
    }

    /// The timeframe.
    pub fn timeframe(&self) -> Timeframe {
        self.tf
    }

    /// The open bar so far (its footprint fields are not filled), `None` between bars.
    #[inline]
    pub fn current(&self) -> Option<&Bar> {
        self.open.as_ref().map(|o| &o.bar)
    }

    /// End of the open bar (`u64::MAX` when none is open).
    #[inline]
    pub fn end_ns(&self) -> u64 {
        self.end_ns
    }

    /// Slot indices of the open bar's low and high in its footprint.
    pub fn footprint_range(&self, tick: Px) -> Option<(i32, i32)> {
        let b = self.current()?;
        Some((self.footprint.slot(b.low / tick), self.footprint.slot(b.high / tick)))
    }

    /// Adds a trade (`sign` from the classifier). Returns the footprint slot and whether it
    /// opened the bar.
    #[inline]
    fn trade(
        &mut self,
        now: u64,
        price: Px,
        size: u32,
        sign: i8,
        tick: Px,
        session_date: u32,
    ) -> (i32, bool) {
        let tick_ix = price / tick;
        let opened = self.open.is_none();
        if opened {
            let start = now - now % self.tf.ns();
            self.end_ns = start + self.tf.ns();
            self.footprint.reset(tick_ix);
            self.open = Some(OpenBar {
                bar: Bar {
                    ts_start: start,
                    ts_first: now,
                    open: price,
                    high: price,
                    low: price,
                    session_date,
                    ..Bar::default()
                },
                sum_xv: 0,
                spread_sum: 0.0,
                spread_n: 0,
            });
        }
        if let Some(o) = self.open.as_mut() {
            let b = &mut o.bar;
            b.ts_last = now;
            b.high = b.high.max(price);
            b.low = b.low.min(price);
            b.close = price;
            b.volume = b.volume.saturating_add(size);
            b.trades += 1;
            match sign {
                1 => b.buy_vol = b.buy_vol.saturating_add(size),
                -1 => b.sell_vol = b.sell_vol.saturating_add(size),
                _ => b.unk_vol = b.unk_vol.saturating_add(size),
            }
            o.sum_xv += (price - b.open) / tick * size as i64;
        }
        let slot = self.footprint.slot(tick_ix);
        self.footprint.add(slot, sign, size);
        (slot, opened)
    }

    #[inline]
    fn bbo(&mut self, spread_ticks: f32) {
        self.last_spread = spread_ticks;
        if let Some(o) = self.open.as_mut() {
            o.spread_sum += spread_ticks as f64;
            o.spread_n += 1;
        }
    }

    /// Finishes the open bar (its extras filled by `fill`) and pushes it into the ring.
    fn close(&mut self, tick: Px, fill: &mut impl FnMut(Timeframe, &Footprint, &mut Bar)) {
        let Some(o) = self.open.take() else { return };
        let mut b = o.bar;
        b.delta = (b.buy_vol as i64 - b.sell_vol as i64).clamp(i32::MIN as i64, i32::MAX as i64) as i32;
        b.vwap_bar = if b.volume > 0 {
            mia_model::price::to_f64(b.open)
                + (o.sum_xv as f64 / b.volume as f64) * mia_model::price::to_f64(tick)
        } else {
            mia_model::price::to_f64(b.close)
        };
        b.spread_mean_ticks =
            if o.spread_n > 0 { (o.spread_sum / o.spread_n as f64) as f32 } else { self.last_spread };
        b.fp_overflow = self.footprint.overflow;
        fill(self.tf, &self.footprint, &mut b);
        self.end_ns = u64::MAX;
        self.ring.push(b);
    }
}

/// `[bars]` config.
#[derive(Clone, Copy, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct BarsConfig {
    /// Closed bars kept per timeframe (≤ [`BAR_RING_CAP`]).
    pub ring_len: usize,
}

impl Default for BarsConfig {
    fn default() -> Self {
        Self { ring_len: 120 }
    }
}

impl BarsConfig {
    /// Checks the section; the error names the key.
    ///
    /// # Errors
    /// `bars.ring_len: reason`.
    pub fn validate(&self) -> Result<(), String> {
        if !(2..=BAR_RING_CAP).contains(&self.ring_len) {
            return Err(format!("bars.ring_len: {} outside 2..={BAR_RING_CAP}", self.ring_len));
        }
        Ok(())
    }
}

/// The four bar series.
#[derive(Clone, Debug)]
pub struct Bars {
    series: [BarSeries; 4],
    next_close: u64,
    tick: Px,
}

impl Bars {
    /// Empty series for a contract with tick `tick`.
    pub fn new(cfg: &BarsConfig, tick: Px) -> Self {
        let s = |tf| BarSeries::new(tf, cfg.ring_len);
        Self {
            series: [s(Timeframe::M1), s(Timeframe::M5), s(Timeframe::M15), s(Timeframe::M60)],
            next_close: u64::MAX,
            tick: tick.max(1),
        }
    }

    /// One timeframe.
    #[inline]
    pub fn series(&self, tf: Timeframe) -> &BarSeries {
        &self.series[tf.index()]
    }

    /// The earliest close due (event time, ns; `u64::MAX` before the first trade).
    #[inline]
    pub fn next_close(&self) -> u64 {
        self.next_close
    }

    /// The timeframes whose open bar ends at `at` (bitmask by [`Timeframe::index`]).
    pub fn closing_at(&self, at: u64) -> u8 {
        self.series.iter().filter(|s| s.end_ns == at).fold(0, |m, s| m | 1 << s.tf.index())
    }

    /// True when an event at `now` closes at least one bar.
    #[inline]
    pub fn due(&self, now: u64) -> bool {
        now >= self.next_close
    }

    /// Closes the bars due at `now`, in ascending timeframe order; `fill` completes each bar's
    /// extras before it enters its ring. Returns a bitmask of the closed timeframes
    /// (bit = [`Timeframe::index`]).
    pub fn close_due(&mut self, now: u64, mut fill: impl FnMut(Timeframe, &Footprint, &mut Bar)) -> u8 {
        let mut mask = 0u8;
        for s in self.series.iter_mut() {
            if now >= s.end_ns {
                s.close(self.tick, &mut fill);
                mask |= 1 << s.tf.index();
            }
        }
        self.next_close = self.series.iter().map(|s| s.end_ns).min().unwrap_or(u64::MAX);
        mask
    }

    /// Adds a trade to every open bar (opening bars as needed). Returns, per timeframe, the
    /// footprint slot and whether the trade opened the bar.
    #[inline]
    pub fn trade(&mut self, now: u64, price: Px, size: u32, sign: i8, session_date: u32) -> [(i32, bool); 4] {
        let mut out = [(0, false); 4];
        for (o, s) in out.iter_mut().zip(self.series.iter_mut()) {
            *o = s.trade(now, price, size, sign, self.tick, session_date);
        }
        self.next_close = self.next_close.min(self.series[0].end_ns);
        out
    }

    /// A BBO change with spread `spread_ticks`.
    #[inline]
    pub fn bbo(&mut self, spread_ticks: f32) {
        for s in self.series.iter_mut() {
            s.bbo(spread_ticks);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Px = 250_000_000;
    const P: Px = 1_000_000_000;
    const MIN: u64 = NS_PER_MIN;

    /// SIGNALS.md T19: a trade 1 ns before 08:35 CT belongs to [08:30, 08:35); the first event
    /// at 08:35 closes it before it is applied; 08:30 lies inside the 60-min bar 08:00–09:00.
    #[test]
    fn t19_bar_close() {
        let open_830 = 1_710_336_600 * 1_000_000_000u64;
        let mut bars = Bars::new(&BarsConfig::default(), T);
        bars.trade(open_830, 5000 * P, 1, 1, 20240313);
        let just_before = 1_710_336_899_999_999_999u64;
        assert!(bars.due(just_before), "the 08:30 1-minute bar is due");
        assert_eq!(bars.close_due(just_before, |_, _, _| {}), 0b0001, "only the 1-minute bar");
        bars.trade(just_before, 5000 * P + T, 2, 1, 20240313);
        let boundary = 1_710_336_900_000_000_000u64;
        assert!(bars.due(boundary));
        let mask = bars.close_due(boundary, |_, _, _| {});
        assert_eq!(mask, 0b0011, "the 1-min and 5-min bars close, not the 15 or 60");
        let b5 = bars.series(Timeframe::M5).ring.last().copied().unwrap_or_default();
        assert_eq!((b5.ts_start, b5.volume, b5.close), (open_830, 3, 5000 * P + T));
        assert_eq!(
            bars.series(Timeframe::M60).current().map(|b| b.ts_start),
            Some(open_830 - 1800 * 1_000_000_000)
        );
    }

    #[test]
    fn ohlcv_delta_vwap_and_no_phantom_bar() {
        let mut bars = Bars::new(&BarsConfig { ring_len: 4 }, T);
        let t0 = 100 * MIN;
        bars.trade(t0, 5000 * P, 10, 1, 1);
        bars.bbo(1.0);
        bars.trade(t0 + 1, 5000 * P + 2 * T, 10, -1, 1);
        bars.bbo(3.0);
        bars.trade(t0 + 2, 5000 * P + 4 * T, 20, 0, 1);
        bars.close_due(t0 + MIN, |_, _, _| {});
        let b = bars.series(Timeframe::M1).ring.last().copied().unwrap_or_default();
        assert_eq!((b.open, b.high, b.low, b.close), (5000 * P, 5001 * P, 5000 * P, 5001 * P));
        assert_eq!((b.volume, b.trades, b.buy_vol, b.sell_vol, b.unk_vol, b.delta), (40, 3, 10, 10, 20, 0));
        assert!((b.vwap_bar - 5000.625).abs() < 1e-9, "T6 figures: VWAP 5000.625");
        assert!((b.spread_mean_ticks - 2.0).abs() < 1e-6);
        // 3 empty minutes, then a trade: the next bar starts 4 minutes later, no bar between
        bars.trade(t0 + 4 * MIN + 5, 5001 * P, 1, 1, 1);
        bars.close_due(t0 + 5 * MIN, |_, _, _| {});
        let r = &bars.series(Timeframe::M1).ring;
        assert_eq!(r.len(), 2);
        assert_eq!(r.back(0).map(|b| b.ts_start), Some(t0 + 4 * MIN));
        assert_eq!(r.back(1).map(|b| b.ts_start), Some(t0));
    }

    #[test]
    fn ring_overwrites_oldest() {
        let mut r = BarRing::new(3);
        for i in 0..5u64 {
            r.push(Bar { ts_start: i, ..Bar::default() });
        }
        assert_eq!((r.len(), r.total), (3, 5));
        assert_eq!(
            (r.back(0).map(|b| b.ts_start), r.back(2).map(|b| b.ts_start), r.back(3)),
            (Some(4), Some(2), None)
        );
    }
}
