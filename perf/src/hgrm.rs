//! HdrHistogram text outputs: the standard percentile distribution ("HGRM", as written by the
//! Java `Histogram.outputPercentileDistribution` and read by the HdrHistogram plotter) and a
//! compact summary table.
//!
//! Histograms hold nanoseconds; both outputs are scaled to **microseconds**
//! ([`NS_PER_US`] is the scaling ratio).
//!
//! HGRM layout (identical to the Java tool's, with `precision` = the histogram's significant
//! digits as the number of decimals):
//!
//! ```text
//!        Value     Percentile TotalCount 1/(1-Percentile)
//!
//!        1.000 0.000000000000          1           1.00
//!      ...
//!     1000.447 1.000000000000       1000
//! #[Mean    =      500.500, StdDeviation   =      288.675]
//! #[Max     =     1000.447, Total count    =         1000]
//! #[Buckets =           24, SubBuckets     =         2048]
//! ```
//!
//! A row's value is the highest value equivalent (within the histogram's resolution) to the
//! sample at that percentile, its `TotalCount` the number of samples up to and including that
//! value; rows are spaced [`TICKS_PER_HALF_DISTANCE`] per halving of the distance to 100%
//! (0%, 10%, … 50%, 55%, … 75%, 77.5%, …), the last row is at 100% and has no
//! `1/(1-Percentile)` column.

use std::fmt::Write as _;

use hdrhistogram::Histogram;

/// Scaling ratio from recorded nanoseconds to the printed microseconds.
pub const NS_PER_US: f64 = 1_000.0;

/// Percentile ticks per half distance to 100% (the Java tool's default).
pub const TICKS_PER_HALF_DISTANCE: u32 = 5;

/// Number of sub-buckets per bucket of a histogram with `sigfig` significant digits (what the
/// Java implementation calls `subBucketCount`; the Rust crate does not expose it).
pub fn sub_bucket_count(sigfig: u8) -> u64 {
    let largest_single_unit = 2 * 10u64.pow(u32::from(sigfig));
    // Smallest power of two >= largest_single_unit.
    largest_single_unit.next_power_of_two()
}

/// Writes the HGRM percentile distribution of `hist` (values in ns, printed in µs) with
/// [`TICKS_PER_HALF_DISTANCE`] ticks per half distance.
pub fn percentile_distribution(hist: &Histogram<u64>) -> String {
    percentile_distribution_with(hist, TICKS_PER_HALF_DISTANCE, NS_PER_US)
}

/// Writes the HGRM percentile distribution of `hist` with `ticks_per_half` (≥ 1; 0 is taken as 1)
/// ticks per half distance, dividing values by `scale` (e.g. [`NS_PER_US`]).
pub fn percentile_distribution_with(hist: &Histogram<u64>, ticks_per_half: u32, scale: f64) -> String {
    let prec = usize::from(hist.sigfig());
    let mut out = String::with_capacity(4096);
    // Writing to a String cannot fail; the write! results are ignored on purpose.
    let _ = write!(
        out,
        "{:>12} {:>14} {:>10} {:>14}\n\n",
        "Value", "Percentile", "TotalCount", "1/(1-Percentile)"
    );
    let mut total = 0u64;
    for v in hist.iter_quantiles(ticks_per_half.max(1)) {
        total += v.count_since_last_iteration();
        let value = v.value_iterated_to() as f64 / scale;
        let q = v.quantile_iterated_to();
        if q < 1.0 {
            let _ = writeln!(out, "{value:12.prec$} {q:2.12} {total:10} {:14.2}", 1.0 / (1.0 - q));
        } else {
            let _ = writeln!(out, "{value:12.prec$} {q:2.12} {total:10}");
        }
    }
    let _ = writeln!(
        out,
        "#[Mean    = {:12.prec$}, StdDeviation   = {:12.prec$}]",
        hist.mean() / scale,
        hist.stdev() / scale
    );
    let _ = writeln!(
        out,
        "#[Max     = {:12.prec$}, Total count    = {:12}]",
        hist.max() as f64 / scale,
        hist.len()
    );
    let _ = writeln!(
        out,
        "#[Buckets = {:12}, SubBuckets     = {:12}]",
        hist.buckets(),
        sub_bucket_count(hist.sigfig())
    );
    out
}

/// The headline statistics of one histogram, in microseconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    /// Number of samples.
    pub count: u64,
    /// Median (µs).
    pub p50: f64,
    /// 90th percentile (µs).
    pub p90: f64,
    /// 99th percentile (µs).
    pub p99: f64,
    /// 99.9th percentile (µs).
    pub p999: f64,
    /// 99.99th percentile (µs).
    pub p9999: f64,
    /// Largest sample (µs, at the histogram's resolution).
    pub max: f64,
    /// Mean (µs).
    pub mean: f64,
}

impl Summary {
    /// Computes the summary of a histogram recorded in nanoseconds (all zeros when empty).
    pub fn of(hist: &Histogram<u64>) -> Self {
        let us = |ns: u64| ns as f64 / NS_PER_US;
        if hist.is_empty() {
            return Self {
                count: 0,
                p50: 0.0,
                p90: 0.0,
                p99: 0.0,
                p999: 0.0,
                p9999: 0.0,
                max: 0.0,
                mean: 0.0,
            };
        }
        Self {
            count: hist.len(),
            p50: us(hist.value_at_quantile(0.5)),
            p90: us(hist.value_at_quantile(0.9)),
            p99: us(hist.value_at_quantile(0.99)),
            p999: us(hist.value_at_quantile(0.999)),
            p9999: us(hist.value_at_quantile(0.9999)),
            max: us(hist.max()),
            mean: hist.mean() / NS_PER_US,
        }
    }
}

/// Renders a fixed-width summary table (one row per named histogram, values in µs):
///
/// ```text
/// stage                   count     p50(us)     p90(us)     p99(us)   p99.9(us)  p99.99(us)     max(us)
/// end_to_end               1000     500.223     900.095     990.207     999.423    1000.447    1000.447
/// ```
pub fn summary_table<'a>(rows: impl IntoIterator<Item = (&'a str, &'a Histogram<u64>)>) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<20} {:>10} {:>11} {:>11} {:>11} {:>11} {:>11} {:>11}",
        "stage", "count", "p50(us)", "p90(us)", "p99(us)", "p99.9(us)", "p99.99(us)", "max(us)"
    );
    for (name, hist) in rows {
        let s = Summary::of(hist);
        let _ = writeln!(
            out,
            "{:<20} {:>10} {:>11.3} {:>11.3} {:>11.3} {:>11.3} {:>11.3} {:>11.3}",
            name, s.count, s.p50, s.p90, s.p99, s.p999, s.p9999, s.max
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 1 ns .. 10 s, 3 significant digits: the hot-path recorder's configuration.
    fn hist_1_to_1000_us() -> Histogram<u64> {
        let mut h = Histogram::<u64>::new_with_bounds(1, 10_000_000_000, 3).expect("valid bounds");
        for us in 1..=1000u64 {
            h.record(us * 1_000).expect("in range");
        }
        h
    }

    /// Parses the data rows of an HGRM text into (value, percentile, total count).
    fn rows(text: &str) -> Vec<(f64, f64, u64)> {
        text.lines()
            .skip(2)
            .take_while(|l| !l.starts_with('#'))
            .map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                (
                    f[0].parse().expect("value"),
                    f[1].parse().expect("percentile"),
                    f[2].parse().expect("count"),
                )
            })
            .collect()
    }

    #[test]
    fn sub_buckets_match_java() {
        assert_eq!(sub_bucket_count(3), 2048);
        assert_eq!(sub_bucket_count(2), 256);
        assert_eq!(sub_bucket_count(1), 32);
    }

    #[test]
    fn hgrm_of_uniform_1_to_1000_us() {
        let h = hist_1_to_1000_us();
        let text = percentile_distribution(&h);
        let header = text.lines().next().unwrap_or_default();
        assert_eq!(header, "       Value     Percentile TotalCount 1/(1-Percentile)");
        let r = rows(&text);
        // First row: the minimum, percentile 0.
        assert_eq!(r[0], (1.0, 0.0, 1));
        let at = |p: f64| r.iter().find(|row| (row.1 - p).abs() < 1e-12).copied();
        // 3 significant digits: values are exact to within 0.1%.
        let (v50, _, c50) = at(0.5).expect("50% row");
        assert!((500.0..=500.5).contains(&v50), "p50 = {v50}");
        assert_eq!(c50, 500);
        // The iterated-to quantile 0.5 + 8 × 0.05 lands one ulp above 0.9, so the row can show
        // the next sample (901 µs), as the Java tool does.
        let (v90, _, c90) = at(0.9).expect("90% row");
        assert!((900.0..=901.2).contains(&v90), "p90 = {v90}");
        assert!(c90 == 900 || c90 == 901, "count at p90 = {c90}");
        // Five ticks per half distance.
        for p in [0.1, 0.2, 0.3, 0.4, 0.55, 0.6, 0.65, 0.7, 0.775, 0.8, 0.9875] {
            assert!(at(p).is_some(), "missing {p} row");
        }
        assert!(at(0.15).is_none());
        // Last row: 100 %, all samples, no 1/(1-p) column.
        let last_line = text.lines().rfind(|l| !l.starts_with('#')).unwrap_or_default();
        assert_eq!(last_line.split_whitespace().count(), 3);
        let last = r.last().copied().expect("rows");
        assert_eq!((last.1, last.2), (1.0, 1000));
        assert!((1000.0..=1000.5).contains(&last.0));
        // Rows are monotone.
        assert!(r.windows(2).all(|w| w[0].0 <= w[1].0 && w[0].1 < w[1].1 && w[0].2 <= w[1].2));
        // Footer.
        // Mean and deviation use each bucket's median-equivalent value (as Java does): 500.505, not
        // the exact 500.5.
        assert!(text.contains("#[Mean    =      500.505, StdDeviation   =      288.676]"), "{text}");
        assert!(text.contains("#[Max     =     1000.447, Total count    =         1000]"), "{text}");
        assert!(text.contains(&format!("#[Buckets = {:12}, SubBuckets     =         2048]", h.buckets())));
        // 1/(1-p) at 90 %.
        let line90 = text.lines().find(|l| l.contains(" 0.900000000000 ")).unwrap_or_default();
        assert!(line90.trim_end().ends_with("10.00"), "{line90}");
    }

    #[test]
    fn summary_of_uniform() {
        let s = Summary::of(&hist_1_to_1000_us());
        assert_eq!(s.count, 1000);
        assert!((500.0..=500.5).contains(&s.p50));
        assert!((990.0..=990.5).contains(&s.p99));
        assert!((999.0..=999.5).contains(&s.p999));
        assert!((1000.0..=1000.5).contains(&s.p9999));
        assert!((1000.0..=1000.5).contains(&s.max));
        assert!((s.mean - 500.5).abs() < 0.5);
        let empty = Histogram::<u64>::new_with_bounds(1, 1_000, 3).expect("valid bounds");
        assert_eq!(Summary::of(&empty).count, 0);
    }

    #[test]
    fn summary_table_has_a_row_per_histogram() {
        let h = hist_1_to_1000_us();
        let t = summary_table([("decode", &h), ("end_to_end", &h)]);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("stage"));
        assert!(lines[2].starts_with("end_to_end"));
        assert!(lines[2].contains(" 1000 "));
    }

    #[test]
    fn empty_histogram_prints_footer_only() {
        let h = Histogram::<u64>::new_with_bounds(1, 1_000, 3).expect("valid bounds");
        let text = percentile_distribution(&h);
        assert!(rows(&text).is_empty());
        assert!(text.contains("Total count    =            0]"));
    }
}
