//! The hot-path gamma snapshot and the lock-free cell that carries it from the options cold
//! thread to the hot path.
//!
//! [`GammaLevels`] is a fixed-size `#[repr(C)]` POD: prices as `i64` 1e-9 fixed point
//! ([`crate::price::Px`], [`UNDEF_PX`] when a level does not exist), exposures and ratios as
//! `f64`, timestamps in UTC ns.
//!
//! [`SnapshotCell`] is a seqlock over two slots whose payload is stored as `AtomicU64` words, so
//! no read can race non-atomically with a write (no undefined behaviour, no `unsafe`). The
//! writer fills the slot that is *not* the latest, then publishes its index; a reader copies the
//! latest slot and validates it with the slot's sequence counter. Because the writer is always
//! busy on the other slot, a reader only has to retry if the writer has published twice during
//! its copy; reads never block and make a bounded number of attempts, falling back to the
//! previous complete snapshot.

use std::sync::atomic::{fence, AtomicBool, AtomicU64, Ordering};

use crate::price::{Px, UNDEF_PX};

/// Bit flags of [`GammaLevels::flags`].
#[derive(Clone, Copy, Debug)]
pub struct LevelFlags;

impl LevelFlags {
    /// The valuation date is in the week of the monthly expiration.
    pub const OPEX_WEEK: u32 = 1;
    /// The next monthly expiration is a quarterly one (quad witching cycle).
    pub const QUARTERLY_CYCLE: u32 = 1 << 1;
    /// The valuation date is a quad-witching day.
    pub const QUAD_WITCHING_DAY: u32 = 1 << 2;
    /// The valuation date is a monthly expiration day.
    pub const MONTHLY_OPEX_DAY: u32 = 1 << 3;
    /// Net GEX is negative (dealers short gamma).
    pub const NEGATIVE_GAMMA: u32 = 1 << 4;
}

/// Gamma levels for the hot path (one snapshot of the options analytics).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GammaLevels {
    /// When the cold thread computed this snapshot (UTC ns, event time of the computation).
    pub computed_at_ns: u64,
    /// Quote time of the chain the levels come from (UTC ns).
    pub valuation_ts_ns: u64,
    /// Index spot used (SPX points, 1e-9).
    pub spot: Px,
    /// Zero-gamma (flip) level, [`UNDEF_PX`] if none.
    pub zero_gamma: Px,
    /// Call wall strike, [`UNDEF_PX`] if none.
    pub call_wall: Px,
    /// Put wall strike, [`UNDEF_PX`] if none.
    pub put_wall: Px,
    /// Max-pain strike, [`UNDEF_PX`] if none.
    pub max_pain: Px,
    /// Net GEX, dollars per 1 % move.
    pub total_gex_usd_per_pct: f64,
    /// Put/call open-interest ratio (NaN if no call OI).
    pub put_call_oi_ratio: f64,
    /// Put/call volume ratio (NaN if no call volume).
    pub put_call_volume_ratio: f64,
    /// Share of |GEX| expiring at the next expiration, in [0, 1].
    pub zero_dte_share: f64,
    /// Dealer vanna exposure, $ delta per vol point.
    pub vanna_exposure: f64,
    /// Dealer charm exposure, $ delta per day.
    pub charm_exposure: f64,
    /// Calendar days to the next monthly OPEX.
    pub days_to_opex: u32,
    /// [`LevelFlags`] bits.
    pub flags: u32,
}

/// Number of 64-bit words of a [`GammaLevels`].
pub const GAMMA_LEVELS_WORDS: usize = 14;

const _: () = assert!(std::mem::size_of::<GammaLevels>() == GAMMA_LEVELS_WORDS * 8);
const _: () = assert!(std::mem::align_of::<GammaLevels>() == 8);

impl Default for GammaLevels {
    fn default() -> Self {
        GammaLevels {
            computed_at_ns: 0,
            valuation_ts_ns: 0,
            spot: UNDEF_PX,
            zero_gamma: UNDEF_PX,
            call_wall: UNDEF_PX,
            put_wall: UNDEF_PX,
            max_pain: UNDEF_PX,
            total_gex_usd_per_pct: 0.0,
            put_call_oi_ratio: f64::NAN,
            put_call_volume_ratio: f64::NAN,
            zero_dte_share: 0.0,
            vanna_exposure: 0.0,
            charm_exposure: 0.0,
            days_to_opex: 0,
            flags: 0,
        }
    }
}

impl GammaLevels {
    /// Age of the snapshot at `now_ns` (0 if `now_ns` is earlier).
    #[inline]
    pub fn age_ns(&self, now_ns: u64) -> u64 {
        now_ns.saturating_sub(self.computed_at_ns)
    }

    /// Age of the underlying quotes at `now_ns`.
    #[inline]
    pub fn quote_age_ns(&self, now_ns: u64) -> u64 {
        now_ns.saturating_sub(self.valuation_ts_ns)
    }

    /// True when the flag bit(s) `f` are set.
    #[inline]
    pub fn has(&self, f: u32) -> bool {
        self.flags & f == f
    }

    /// Encodes as words (bit-exact).
    #[inline]
    fn to_words(self) -> [u64; GAMMA_LEVELS_WORDS] {
        [
            self.computed_at_ns,
            self.valuation_ts_ns,
            self.spot as u64,
            self.zero_gamma as u64,
            self.call_wall as u64,
            self.put_wall as u64,
            self.max_pain as u64,
            self.total_gex_usd_per_pct.to_bits(),
            self.put_call_oi_ratio.to_bits(),
            self.put_call_volume_ratio.to_bits(),
            self.zero_dte_share.to_bits(),
            self.vanna_exposure.to_bits(),
            self.charm_exposure.to_bits(),
            u64::from(self.days_to_opex) | (u64::from(self.flags) << 32),
        ]
    }

    /// Decodes from [`GammaLevels::to_words`].
    #[inline]
    fn from_words(w: &[u64; GAMMA_LEVELS_WORDS]) -> Self {
        GammaLevels {
            computed_at_ns: w[0],
            valuation_ts_ns: w[1],
            spot: w[2] as i64,
            zero_gamma: w[3] as i64,
            call_wall: w[4] as i64,
            put_wall: w[5] as i64,
            max_pain: w[6] as i64,
            total_gex_usd_per_pct: f64::from_bits(w[7]),
            put_call_oi_ratio: f64::from_bits(w[8]),
            put_call_volume_ratio: f64::from_bits(w[9]),
            zero_dte_share: f64::from_bits(w[10]),
            vanna_exposure: f64::from_bits(w[11]),
            charm_exposure: f64::from_bits(w[12]),
            days_to_opex: w[13] as u32,
            flags: (w[13] >> 32) as u32,
        }
    }
}

/// One seqlock-protected copy.
#[repr(align(64))]
struct Slot {
    /// Even when stable, odd while being written.
    seq: AtomicU64,
    words: [AtomicU64; GAMMA_LEVELS_WORDS],
}

impl Slot {
    fn new() -> Self {
        Slot { seq: AtomicU64::new(0), words: std::array::from_fn(|_| AtomicU64::new(0)) }
    }

    /// One validated read attempt.
    #[inline]
    fn try_read(&self) -> Option<GammaLevels> {
        let s1 = self.seq.load(Ordering::Acquire);
        if s1 & 1 == 1 {
            return None;
        }
        let mut w = [0u64; GAMMA_LEVELS_WORDS];
        for (dst, src) in w.iter_mut().zip(&self.words) {
            *dst = src.load(Ordering::Relaxed);
        }
        // Orders the payload loads before the re-check of the sequence (seqlock reader side).
        fence(Ordering::Acquire);
        let s2 = self.seq.load(Ordering::Relaxed);
        (s1 == s2).then(|| GammaLevels::from_words(&w))
    }
}

/// Single-writer, multi-reader lock-free cell holding the latest [`GammaLevels`].
pub struct SnapshotCell {
    slots: [Slot; 2],
    /// Number of completed publications; the latest is in slot `(latest − 1) & 1`.
    latest: AtomicU64,
    /// Serialises writers (the design has one; a second concurrent writer waits, never tears).
    writing: AtomicBool,
}

impl Default for SnapshotCell {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for SnapshotCell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnapshotCell").field("published", &self.published()).finish()
    }
}

/// Read attempts before [`SnapshotCell::read`] gives up (each attempt copies 112 bytes).
const READ_ATTEMPTS: usize = 8;

impl SnapshotCell {
    /// An empty cell ([`SnapshotCell::read`] returns `None` until the first publish).
    pub fn new() -> Self {
        SnapshotCell {
            slots: [Slot::new(), Slot::new()],
            latest: AtomicU64::new(0),
            writing: AtomicBool::new(false),
        }
    }

    /// Number of snapshots published so far.
    pub fn published(&self) -> u64 {
        self.latest.load(Ordering::Acquire)
    }

    /// Publishes a new snapshot (cold thread). Wait-free for a single writer.
    pub fn publish(&self, levels: &GammaLevels) {
        while self.writing.swap(true, Ordering::Acquire) {
            std::hint::spin_loop();
        }
        let n = self.latest.load(Ordering::Relaxed);
        // Write into the slot that does not hold the latest snapshot.
        let slot = &self.slots[(n & 1) as usize];
        let s = slot.seq.load(Ordering::Relaxed);
        slot.seq.store(s + 1, Ordering::Relaxed);
        // Orders the odd sequence before the payload stores (seqlock writer side).
        fence(Ordering::Release);
        for (dst, src) in slot.words.iter().zip(levels.to_words()) {
            dst.store(src, Ordering::Relaxed);
        }
        slot.seq.store(s + 2, Ordering::Release);
        self.latest.store(n + 1, Ordering::Release);
        self.writing.store(false, Ordering::Release);
    }

    /// The latest complete snapshot, or the previous one if the latest is being overwritten;
    /// `None` before the first publish or (practically never) when the writer published on
    /// every attempt. Never blocks.
    #[inline]
    pub fn read(&self) -> Option<GammaLevels> {
        for _ in 0..READ_ATTEMPTS {
            let n = self.latest.load(Ordering::Acquire);
            if n == 0 {
                return None;
            }
            let newest = &self.slots[((n - 1) & 1) as usize];
            if let Some(v) = newest.try_read() {
                return Some(v);
            }
            if n >= 2 {
                if let Some(v) = self.slots[(n & 1) as usize].try_read() {
                    return Some(v);
                }
            }
            std::hint::spin_loop();
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;

    /// A snapshot whose every field is derived from `i`, so a torn copy is detectable.
    fn levels(i: u64) -> GammaLevels {
        GammaLevels {
            computed_at_ns: i,
            valuation_ts_ns: i.wrapping_mul(3),
            spot: i as i64,
            zero_gamma: -(i as i64),
            call_wall: (i as i64).wrapping_mul(7),
            put_wall: (i as i64).wrapping_add(11),
            max_pain: (i as i64) ^ 0x5555,
            total_gex_usd_per_pct: i as f64 * 0.5,
            put_call_oi_ratio: i as f64 + 0.25,
            put_call_volume_ratio: -(i as f64),
            zero_dte_share: (i % 1000) as f64 / 1000.0,
            vanna_exposure: i as f64 * 2.0,
            charm_exposure: i as f64 * 3.0,
            days_to_opex: (i % 31) as u32,
            flags: (i & 0x1f) as u32,
        }
    }

    #[test]
    fn word_round_trip() {
        for i in [0u64, 1, 12345, u64::MAX / 3] {
            assert_eq!(GammaLevels::from_words(&levels(i).to_words()), levels(i));
        }
        let d = GammaLevels::default();
        let back = GammaLevels::from_words(&d.to_words());
        assert_eq!(back.spot, UNDEF_PX);
        assert!(back.put_call_oi_ratio.is_nan());
    }

    #[test]
    fn empty_then_latest() {
        let c = SnapshotCell::new();
        assert_eq!(c.read(), None);
        c.publish(&levels(1));
        assert_eq!(c.read(), Some(levels(1)));
        c.publish(&levels(2));
        c.publish(&levels(3));
        assert_eq!(c.read(), Some(levels(3)));
        assert_eq!(c.published(), 3);
        let l = levels(1_000);
        assert_eq!(l.age_ns(1_500), 500);
        assert_eq!(l.age_ns(10), 0);
        assert!(levels(3).has(3));
    }

    #[test]
    fn stress_no_torn_reads() {
        let cell = Arc::new(SnapshotCell::new());
        let stop = Arc::new(AtomicBool::new(false));
        let reads = Arc::new(AtomicUsize::new(0));
        const WRITES: u64 = 300_000;
        let readers: Vec<_> = (0..3)
            .map(|_| {
                let (cell, stop, reads) = (cell.clone(), stop.clone(), reads.clone());
                std::thread::spawn(move || {
                    let mut local = 0usize;
                    let mut max_seen = 0;
                    while !stop.load(Ordering::Relaxed) {
                        if let Some(v) = cell.read() {
                            let i = v.computed_at_ns;
                            assert_eq!(v, levels(i), "torn read at {i}");
                            max_seen = max_seen.max(i);
                            local += 1;
                        }
                    }
                    reads.fetch_add(local, Ordering::Relaxed);
                    max_seen
                })
            })
            .collect();
        for i in 1..=WRITES {
            cell.publish(&levels(i));
        }
        stop.store(true, Ordering::Relaxed);
        for r in readers {
            let max_seen = r.join().expect("reader thread");
            assert!(max_seen <= WRITES);
        }
        assert!(reads.load(Ordering::Relaxed) > 0);
        assert_eq!(cell.read(), Some(levels(WRITES)));
    }
}
