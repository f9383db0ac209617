//! # mia-perf
//!
//! Latency reporting, off the hot path. The hot stages record per-stage and end-to-end
//! latencies (ns) into bounded `hdrhistogram::Histogram<u64>`s (1 ns .. 10 s, 3 significant
//! digits, no auto-resize); this crate turns them into artefacts:
//!
//! - [`svg`]: a small dependency-free SVG chart writer (line / bar charts, log axes, markers),
//!   shared by the latency plots and other reports (GEX by strike, equity curves);
//! - [`hgrm`]: HdrHistogram's standard percentile-distribution text ("HGRM", µs) and a summary
//!   table (p50, p90, p99, p99.9, p99.99, max, count);
//! - [`report`]: [`LatencyReport`], named histograms merged across threads, saved to and loaded
//!   from a directory (V2-serialized `.hdr` + `.hgrm` + summary + SVG plot).

pub mod hgrm;
pub mod report;
pub mod svg;

pub use report::{LatencyReport, PerfError};
pub use svg::Chart;
