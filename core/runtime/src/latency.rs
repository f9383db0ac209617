//! Bounded latency histograms for the hot path: 1 ns .. 10 s at 3 significant digits,
//! allocated once at set-up, never resized (values above the bound are clamped and counted).
//! Each thread owns its own histograms; they are merged off the hot path.

use hdrhistogram::Histogram;

/// Lowest discernible value of every latency histogram (ns).
pub const HIST_LOW_NS: u64 = 1;
/// Highest trackable value of every latency histogram (10 s, in ns); larger values are
/// clamped by [`LatencyHist::record`].
pub const HIST_HIGH_NS: u64 = 10_000_000_000;
/// Significant digits of every latency histogram.
pub const HIST_SIGFIG: u8 = 3;

/// A new, empty latency histogram: [`HIST_LOW_NS`] .. [`HIST_HIGH_NS`] at [`HIST_SIGFIG`]
/// significant digits, auto-resize off. The one place these bounds become a histogram: the
/// hot-path recorders ([`LatencyHist`]) and the reports built from them use it.
///
/// # Panics
/// Never: the bounds are constants that satisfy `hdrhistogram`'s preconditions (low >= 1,
/// high >= 2 * low, sigfig <= 5), checked by a test.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(HIST_LOW_NS, HIST_HIGH_NS, HIST_SIGFIG)
        .expect("constant histogram bounds are valid")
}

/// One named latency histogram.
#[derive(Clone, Debug)]
pub struct LatencyHist {
    /// Stage or path name ("end_to_end", a stage name).
    pub name: &'static str,
    /// The histogram, values in ns.
    pub hist: Histogram<u64>,
    /// Values above [`HIST_HIGH_NS`] that were clamped.
    pub clamped: u64,
}

impl LatencyHist {
    /// An empty histogram (allocates once, here).
    pub fn new(name: &'static str) -> Self {
        Self { name, hist: new_histogram(), clamped: 0 }
    }

    /// Records one latency in ns without allocating.
    #[inline]
    pub fn record(&mut self, ns: u64) {
        let v = if ns > HIST_HIGH_NS {
            self.clamped += 1;
            HIST_HIGH_NS
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
        a.record(HIST_HIGH_NS * 2);
        assert_eq!(a.hist.len(), 3);
        assert_eq!(a.clamped, 1);
        assert_eq!(a.hist.min(), 1);
        let mut b = LatencyHist::new("b");
        b.record(5_000);
        b.merge(&a);
        assert_eq!(b.hist.len(), 4);
        assert_eq!(b.clamped, 1);
    }

    #[test]
    fn histogram_bounds() {
        let h = new_histogram();
        assert_eq!(h.low(), HIST_LOW_NS);
        assert!(h.high() >= HIST_HIGH_NS);
        assert_eq!(h.sigfig(), HIST_SIGFIG);
        assert!(!h.is_auto_resize());
    }
}
