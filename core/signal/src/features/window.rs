//! The event-time window of F2 and F3 (SIGNALS.md §2): a ring of 64 buckets of
//! `window_ms / 64` each (`w = window_ms · 15 625` ns). An event falls in bucket `⌊now/w⌋`; the
//! window is the current bucket and the 63 before it; buckets skipped when `now` advances are
//! cleared. Each bucket holds `L` integer lanes, and the window sums are kept by add and
//! subtract, so they are exact and O(1) amortized.

/// Buckets per window (fixed).
pub const BUCKETS: usize = 64;

/// An event-time window of `L` integer sums.
#[derive(Clone, Debug)]
pub struct BucketWindow<const L: usize> {
    width_ns: u64,
    buckets: [[i64; L]; BUCKETS],
    sums: [i64; L],
    /// Bucket index `⌊now/w⌋` of the newest bucket.
    head: u64,
    /// Start of bucket `head + 1` (ns): `advance` does nothing before it.
    next_edge: u64,
}

impl<const L: usize> BucketWindow<L> {
    /// A window of `window_ms` (≥ 1) milliseconds.
    pub fn new(window_ms: u64) -> Self {
        let width_ns = window_ms.max(1) * 15_625;
        Self { width_ns, buckets: [[0; L]; BUCKETS], sums: [0; L], head: 0, next_edge: width_ns }
    }

    /// Moves the window to `now` (monotone); returns true when buckets were expired.
    #[inline]
    pub fn advance(&mut self, now: u64) -> bool {
        if now < self.next_edge {
            return false;
        }
        let idx = now / self.width_ns;
        self.next_edge = (idx + 1).saturating_mul(self.width_ns);
        let steps = (idx - self.head).min(BUCKETS as u64);
        for k in 1..=steps {
            let slot = ((self.head + k) % BUCKETS as u64) as usize;
            for (s, b) in self.sums.iter_mut().zip(self.buckets[slot].iter_mut()) {
                *s -= *b;
                *b = 0;
            }
        }
        self.head = idx;
        true
    }

    /// Adds `v` at `now` (advancing first).
    #[inline]
    pub fn add(&mut self, now: u64, v: [i64; L]) {
        self.advance(now);
        let slot = (self.head % BUCKETS as u64) as usize;
        for ((b, s), x) in self.buckets[slot].iter_mut().zip(self.sums.iter_mut()).zip(v) {
            *b += x;
            *s += x;
        }
    }

    /// The window sums.
    #[inline]
    pub fn sums(&self) -> [i64; L] {
        self.sums
    }

    /// Empties the window.
    pub fn clear(&mut self) {
        self.buckets = [[0; L]; BUCKETS];
        self.sums = [0; L];
    }

    /// Bucket width (ns).
    pub fn width_ns(&self) -> u64 {
        self.width_ns
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Incremental = recomputed: the window sums equal a naive sum over the events whose
        /// bucket lies in the current bucket or the 63 before it (exact, integers).
        #[test]
        fn incremental_equals_naive(steps in proptest::collection::vec((0u64..40_000_000, -50i64..50), 1..400)) {
            let mut w = BucketWindow::<1>::new(640); // 10 ms buckets
            let mut now = 0u64;
            let mut seen: Vec<(u64, i64)> = Vec::new();
            for (dt, v) in steps {
                now += dt;
                w.add(now, [v]);
                seen.push((now, v));
                let head = now / w.width_ns();
                let naive: i64 = seen
                    .iter()
                    .filter(|(t, _)| t / w.width_ns() + (BUCKETS as u64) > head)
                    .map(|(_, v)| v)
                    .sum();
                prop_assert_eq!(w.sums()[0], naive);
            }
        }
    }
}
