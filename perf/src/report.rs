//! [`LatencyReport`]: the named latency histograms of a run (one per pipeline stage plus
//! `"end_to_end"`), merged across threads, saved to / loaded from a directory, summarised and
//! plotted.
//!
//! On-disk layout of a saved report directory:
//!
//! | file | content |
//! |---|---|
//! | `histograms.txt` | the histogram names, one per line, in report order |
//! | `<name>.hdr` | the histogram, HdrHistogram V2 binary encoding (uncompressed) |
//! | `<name>.hgrm` | its percentile distribution in µs ([`crate::hgrm`]) |
//! | `summary.txt` | [`LatencyReport::render_summary`] |
//! | `percentiles.svg` | [`LatencyReport::plot_svg`] |
//!
//! `load` reads the `.hdr` files only (the text files are for people and plotters); without a
//! `histograms.txt` it takes every `*.hdr` in the directory, sorted by name with
//! `end_to_end` last.

use std::fs;
use std::io::{BufReader, BufWriter, Write as _};
use std::path::{Path, PathBuf};

use hdrhistogram::serialization::{Deserializer, Serializer, V2Serializer};
use hdrhistogram::Histogram;

use mia_runtime::latency::{new_histogram, LatencyHist};

use crate::hgrm;
use crate::svg::Chart;

/// Name of the end-to-end histogram.
pub const END_TO_END: &str = "end_to_end";

/// Name of the manifest file listing the histograms of a saved report.
const MANIFEST: &str = "histograms.txt";

/// Errors of report I/O and merging.
#[derive(Debug, thiserror::Error)]
pub enum PerfError {
    /// A file or directory could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A histogram could not be encoded.
    #[error("histogram '{name}': cannot serialize: {reason}")]
    Serialize {
        /// Histogram name.
        name: String,
        /// What went wrong.
        reason: String,
    },
    /// A histogram file could not be decoded.
    #[error("{path}: not a valid V2 histogram: {reason}")]
    Deserialize {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// A histogram name that cannot be a file name (allowed: ASCII letters, digits, `_ - .`,
    /// not starting with `.`, at most 64 characters).
    #[error("invalid histogram name '{0}' (allowed: ASCII letters, digits, '_', '-', '.')")]
    InvalidName(String),
}

/// Adds every sample of `src` to `dst`. When `src` has values beyond `dst`'s range (histograms
/// recorded with other bounds) those samples are clamped into `dst`'s range instead of failing.
pub fn merge_into(dst: &mut Histogram<u64>, src: &Histogram<u64>) {
    if dst.add(src).is_err() {
        for v in src.iter_recorded() {
            dst.saturating_record_n(v.value_iterated_to(), v.count_at_value());
        }
    }
}

/// Checks that `name` can be used as a file stem.
fn check_name(name: &str) -> Result<(), PerfError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.');
    if ok {
        Ok(())
    } else {
        Err(PerfError::InvalidName(name.to_owned()))
    }
}

/// Named latency histograms (ns), in insertion order.
#[derive(Clone, Debug, Default)]
pub struct LatencyReport {
    hists: Vec<(String, Histogram<u64>)>,
}

impl LatencyReport {
    /// An empty report.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of histograms.
    pub fn len(&self) -> usize {
        self.hists.len()
    }

    /// True when the report has no histogram.
    pub fn is_empty(&self) -> bool {
        self.hists.is_empty()
    }

    /// Histogram names in report order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.hists.iter().map(|(n, _)| n.as_str())
    }

    /// (name, histogram) pairs in report order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Histogram<u64>)> {
        self.hists.iter().map(|(n, h)| (n.as_str(), h))
    }

    /// The histogram called `name`.
    pub fn get(&self, name: &str) -> Option<&Histogram<u64>> {
        self.hists.iter().find(|(n, _)| n == name).map(|(_, h)| h)
    }

    /// Sets the histogram called `name` (replacing any previous one, keeping its position).
    pub fn insert(&mut self, name: &str, hist: Histogram<u64>) -> Result<(), PerfError> {
        check_name(name)?;
        match self.hists.iter_mut().find(|(n, _)| n == name) {
            Some((_, h)) => *h = hist,
            None => self.hists.push((name.to_owned(), hist)),
        }
        Ok(())
    }

    /// Adds the samples of `hist` to the histogram called `name` (created empty with
    /// [`new_histogram`] if absent): how per-thread recorders are combined.
    pub fn merge(&mut self, name: &str, hist: &Histogram<u64>) -> Result<(), PerfError> {
        check_name(name)?;
        match self.hists.iter_mut().find(|(n, _)| n == name) {
            Some((_, h)) => merge_into(h, hist),
            None => {
                let mut h = new_histogram();
                merge_into(&mut h, hist);
                self.hists.push((name.to_owned(), h));
            }
        }
        Ok(())
    }

    /// Merges a hot-path recorder's histogram ([`LatencyHist`]) under its own name.
    pub fn merge_latency(&mut self, h: &LatencyHist) -> Result<(), PerfError> {
        self.merge(h.name, &h.hist)
    }

    /// Merges every histogram of `other` into this report (by name).
    pub fn merge_report(&mut self, other: &LatencyReport) {
        for (name, h) in &other.hists {
            // Names in `other` were validated when they were added.
            if let Some((_, mine)) = self.hists.iter_mut().find(|(n, _)| n == name) {
                merge_into(mine, h);
            } else {
                self.hists.push((name.clone(), h.clone()));
            }
        }
    }

    /// Writes the report into `dir` (created if needed); see the [module docs](self) for the
    /// files.
    pub fn save(&self, dir: &Path) -> Result<(), PerfError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| PerfError::Io { path, source }
        };
        fs::create_dir_all(dir).map_err(io(dir))?;
        let mut manifest = String::new();
        for (name, h) in &self.hists {
            check_name(name)?;
            let path = dir.join(format!("{name}.hdr"));
            let file = fs::File::create(&path).map_err(io(&path))?;
            let mut w = BufWriter::new(file);
            V2Serializer::new()
                .serialize(h, &mut w)
                .map_err(|e| PerfError::Serialize { name: name.clone(), reason: format!("{e:?}") })?;
            w.flush().map_err(io(&path))?;
            let hgrm_path = dir.join(format!("{name}.hgrm"));
            fs::write(&hgrm_path, hgrm::percentile_distribution(h)).map_err(io(&hgrm_path))?;
            manifest.push_str(name);
            manifest.push('\n');
        }
        let p = dir.join(MANIFEST);
        fs::write(&p, manifest).map_err(io(&p))?;
        let p = dir.join("summary.txt");
        fs::write(&p, self.render_summary()).map_err(io(&p))?;
        let p = dir.join("percentiles.svg");
        fs::write(&p, self.plot_svg("Latency by percentile")).map_err(io(&p))?;
        Ok(())
    }

    /// Reads a report written by [`LatencyReport::save`].
    pub fn load(dir: &Path) -> Result<Self, PerfError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| PerfError::Io { path, source }
        };
        let manifest_path = dir.join(MANIFEST);
        let names: Vec<String> = match fs::read_to_string(&manifest_path) {
            Ok(text) => text.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut names = Vec::new();
                for entry in fs::read_dir(dir).map_err(io(dir))? {
                    let path = entry.map_err(io(dir))?.path();
                    if path.extension().is_some_and(|e| e == "hdr") {
                        if let Some(stem) = path.file_stem().and_then(|s| s.to_str()) {
                            names.push(stem.to_owned());
                        }
                    }
                }
                names.sort_by(|a, b| (a == END_TO_END, a).cmp(&(b == END_TO_END, b)));
                names
            }
            Err(e) => return Err(PerfError::Io { path: manifest_path, source: e }),
        };
        let mut report = Self::new();
        for name in names {
            check_name(&name)?;
            let path = dir.join(format!("{name}.hdr"));
            let file = fs::File::open(&path).map_err(io(&path))?;
            let h: Histogram<u64> = Deserializer::new()
                .deserialize(&mut BufReader::new(file))
                .map_err(|e| PerfError::Deserialize { path: path.clone(), reason: format!("{e:?}") })?;
            report.insert(&name, h)?;
        }
        Ok(report)
    }

    /// The summary table (count, p50 … p99.99, max in µs), one row per histogram.
    pub fn render_summary(&self) -> String {
        hgrm::summary_table(self.iter())
    }

    /// Percentile-spectrum plot: x = 1/(1−p) on a log axis (labelled 0%, 50%, 90%, 99%, …),
    /// y = latency in µs, one line per histogram; the maximum is drawn at p = 1 − 1/count.
    pub fn plot_svg(&self, title: &str) -> String {
        let mut chart =
            Chart::new(title).x_label("percentile").y_label("latency (µs)").log_x(true).log_y(true);
        let mut max_x = 1.0f64;
        for (name, h) in self.iter() {
            let pts = spectrum(h);
            if let Some(p) = pts.last() {
                max_x = max_x.max(p.0);
            }
            chart = chart.line(name, &pts);
        }
        const LABELS: [(f64, &str); 10] = [
            (1.0, "0%"),
            (2.0, "50%"),
            (10.0, "90%"),
            (100.0, "99%"),
            (1e3, "99.9%"),
            (1e4, "99.99%"),
            (1e5, "99.999%"),
            (1e6, "99.9999%"),
            (1e7, "99.99999%"),
            (1e8, "99.999999%"),
        ];
        let ticks: Vec<(f64, &str)> = LABELS.iter().copied().filter(|(x, _)| *x <= max_x * 10.0).collect();
        chart.x_ticks(&ticks).render()
    }
}

/// The (1/(1−p), µs) points of a histogram's percentile spectrum.
fn spectrum(h: &Histogram<u64>) -> Vec<(f64, f64)> {
    let mut pts: Vec<(f64, f64)> = Vec::new();
    if h.is_empty() {
        return pts;
    }
    for v in h.iter_quantiles(hgrm::TICKS_PER_HALF_DISTANCE) {
        let q = v.quantile_iterated_to();
        if q < 1.0 {
            pts.push((1.0 / (1.0 - q), v.value_iterated_to() as f64 / hgrm::NS_PER_US));
        }
    }
    let x_max = h.len() as f64;
    if pts.last().is_none_or(|p| p.0 < x_max) {
        pts.push((x_max, h.max() as f64 / hgrm::NS_PER_US));
    }
    pts
}

#[cfg(test)]
mod tests {
    use super::*;
    use mia_runtime::latency::HIST_HIGH_NS;

    fn uniform(lo_us: u64, hi_us: u64) -> Histogram<u64> {
        let mut h = new_histogram();
        for us in lo_us..=hi_us {
            h.record(us * 1_000).expect("in range");
        }
        h
    }

    #[test]
    fn histogram_config_matches_recorder() {
        let h = new_histogram();
        assert_eq!((h.low(), h.sigfig(), h.is_auto_resize()), (1, 3, false));
        assert!(h.high() >= HIST_HIGH_NS);
    }

    #[test]
    fn save_load_round_trip() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut r = LatencyReport::new();
        r.insert("decode", uniform(1, 10)).expect("name");
        r.insert("risk", uniform(5, 500)).expect("name");
        r.insert(END_TO_END, uniform(1, 1000)).expect("name");
        r.save(dir.path()).expect("save");
        for f in ["decode.hdr", "decode.hgrm", "end_to_end.hgrm", "summary.txt", "percentiles.svg", MANIFEST]
        {
            assert!(dir.path().join(f).is_file(), "missing {f}");
        }
        let back = LatencyReport::load(dir.path()).expect("load");
        assert_eq!(back.names().collect::<Vec<_>>(), vec!["decode", "risk", END_TO_END]);
        for (name, h) in r.iter() {
            let b = back.get(name).expect("loaded");
            assert_eq!(b, h, "{name} differs after round trip");
            assert_eq!(b.len(), h.len());
            assert_eq!(b.value_at_quantile(0.99), h.value_at_quantile(0.99));
        }
        assert_eq!(back.render_summary(), r.render_summary());
        // Without the manifest: sorted, end_to_end last.
        fs::remove_file(dir.path().join(MANIFEST)).expect("rm");
        let back = LatencyReport::load(dir.path()).expect("load");
        assert_eq!(back.names().collect::<Vec<_>>(), vec!["decode", "risk", END_TO_END]);
    }

    #[test]
    fn load_reports_corrupt_and_missing_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::write(dir.path().join(MANIFEST), "x\n").expect("write");
        fs::write(dir.path().join("x.hdr"), b"definitely not a histogram").expect("write");
        let err = LatencyReport::load(dir.path()).expect_err("corrupt");
        assert!(matches!(err, PerfError::Deserialize { .. }), "{err}");
        assert!(err.to_string().contains("x.hdr"));
        fs::write(dir.path().join(MANIFEST), "y\n").expect("write");
        let err = LatencyReport::load(dir.path()).expect_err("missing");
        assert!(matches!(err, PerfError::Io { .. }), "{err}");
        fs::write(dir.path().join(MANIFEST), "../evil\n").expect("write");
        assert!(matches!(LatencyReport::load(dir.path()), Err(PerfError::InvalidName(_))));
    }

    #[test]
    fn merge_adds_counts() {
        let mut r = LatencyReport::new();
        r.merge("features", &uniform(1, 100)).expect("name");
        r.merge("features", &uniform(1, 100)).expect("name");
        r.merge("features", &uniform(101, 200)).expect("name");
        let h = r.get("features").expect("present");
        assert_eq!(h.len(), 300);
        assert_eq!(h.count_at(50_000), 2);
        assert_eq!(h.count_at(150_000), 1);
        let mut other = LatencyReport::new();
        other.merge("features", &uniform(1, 1)).expect("name");
        other.merge("risk", &uniform(1, 1)).expect("name");
        r.merge_report(&other);
        assert_eq!(r.get("features").map(Histogram::len), Some(301));
        assert_eq!(r.get("risk").map(Histogram::len), Some(1));
        // Per-thread recorders of the hot path.
        let mut a = LatencyHist::new(END_TO_END);
        let mut b = LatencyHist::new(END_TO_END);
        a.record(1_500);
        b.record(2_500);
        b.record(3_500);
        r.merge_latency(&a).expect("name");
        r.merge_latency(&b).expect("name");
        assert_eq!(r.get(END_TO_END).map(Histogram::len), Some(3));
    }

    #[test]
    fn merge_clamps_out_of_range_samples() {
        let mut small = Histogram::<u64>::new_with_bounds(1, 1_000_000, 3).expect("bounds");
        let mut wide = Histogram::<u64>::new_with_bounds(1, 100_000_000_000, 3).expect("bounds");
        wide.record(50_000_000_000).expect("in range");
        wide.record(10).expect("in range");
        merge_into(&mut small, &wide);
        assert_eq!(small.len(), 2);
        assert!(small.max() >= 1_000_000 && small.max() < 1_002_000);
    }

    #[test]
    fn rejects_names_that_are_not_file_stems() {
        let mut r = LatencyReport::new();
        for bad in ["", "a/b", "..", ".hidden", "a b"] {
            assert!(matches!(r.insert(bad, new_histogram()), Err(PerfError::InvalidName(_))), "{bad:?}");
        }
        assert!(r.is_empty());
    }

    #[test]
    fn plot_has_one_line_per_histogram() {
        let mut r = LatencyReport::new();
        r.insert("book", uniform(1, 50)).expect("name");
        r.insert(END_TO_END, uniform(1, 1000)).expect("name");
        let svg = r.plot_svg("latency <test>");
        assert!(svg.starts_with("<svg"));
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(svg.contains("book") && svg.contains(END_TO_END));
        assert!(svg.contains(">99.9%</text>"));
        assert!(svg.contains("latency &lt;test&gt;"));
        let h = r.get(END_TO_END).expect("present");
        let pts = spectrum(h);
        let last = pts.last().copied().unwrap_or_default();
        assert!(last.0 >= 1000.0);
        assert_eq!(last.1, h.max() as f64 / 1000.0);
        assert!(pts.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1));
    }
}
