//! Bounded latency histograms for the hot path: 1 ns .. 10 s at 3 significant digits,
//! allocated once at set-up, never resized (values above the bound are clamped and counted).
//! Each thread owns its own histograms; they are merged off the hot path.

use hdrhistogram::Histogram;

/// Largest recordable latency (10 s, in ns); larger values are clamped.
pub const MAX_NS: u64 = 10_000_000_000;

/// One named latency histogram.
#[derive(Clone, Debug)]
pub struct LatencyHist {
    /// Stage or path name ("end_to_end", a stage name).
    pub name: &'static str,
    /// The histogram, values in ns.
    pub hist: Histogram<u64>,
    /// Values above [`MAX_NS`] that were clamped.
    pub clamped: u64,
}

impl LatencyHist {
    /// An empty histogram (allocates once, here).
    pub fn new(name: &'static str) -> Self {
        // Constant, valid bounds: this cannot fail.
        let hist = Histogram::new_with_bounds(1, MAX_NS, 3).expect("constant histogram bounds are valid");
        Self { name, hist, clamped: 0 }
    }

    /// Records one latency in ns without allocating.
    #[inline]
    pub fn record(&mut self, ns: u64) {
        let v = if ns > MAX_NS {
            self.clamped += 1;
            MAX_NS
        } else {
            ns.max(1)
        };
        // Within bounds by construction, so recording cannot fail or resize.
        let _ = self.hist.record(v);
    }

    /// Adds another histogram's counts into this one (off the hot path).
    pub fn merge(&mut self, other: &LatencyHist) {
        let _ = self.hist.add(&other.hist);
        self.clamped += other.clamped;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_clamps_and_merges() {
        let mut a = LatencyHist::new("a");
        a.record(0);
        a.record(1_000);
        a.record(MAX_NS * 2);
        assert_eq!(a.hist.len(), 3);
        assert_eq!(a.clamped, 1);
        assert_eq!(a.hist.min(), 1);
        let mut b = LatencyHist::new("b");
        b.record(5_000);
        b.merge(&a);
        assert_eq!(b.hist.len(), 4);
        assert_eq!(b.clamped, 1);
    }
}
