//! `mia episodes`: the signal engine's detectors against planted, labelled episodes.
//!
//! For each seed, a one-day synthetic session with the planted episodes
//! (`mia_feeds::synth::episodes`) runs through the ordinary backtest assembly with
//! `[signal] strategy = "elite"`; the engine writes every pattern detection of its decisions
//! (`detections.csv`), the generator's labels are written beside them (`episodes.csv`), and
//! [`score`] matches the two:
//!
//! - a detection belongs to a label when the decision bar it was taken on (the 5-minute bar
//!   that ends at or just before its event time) ends inside the label's window
//!   (`start < bar end ≤ end`);
//! - a planted episode is *found* (recall) when at least one detection of its pattern with its
//!   direction belongs to it;
//! - precision counts the detections of a pattern that belong to *any* label's window (the
//!   stretches where the ground truth is known): those with a label of the same pattern and
//!   direction are true positives, the others false positives. Detections outside every
//!   window are unlabelled (the free market makes patterns too) and are reported as a rate per
//!   day, not scored.

use crate::app::config::Config;
use crate::app::input::Input;
use crate::app::session::{run_session_with, RunMode, SessionExtras, SessionOptions};
use anyhow::{anyhow, Context, Result};
use mia_feeds::dbn_source::Mbp10IterSource;
use mia_feeds::synth::{labels_csv, EpisodeLabel, EpisodePattern, EpisodesConfig, SynthConfig, SynthSession};
use mia_signal::strategy::registry::StrategyKind;
use std::path::Path;

/// Decision-bar length the windows are matched on (the engine's 5-minute decision timeframe).
const BAR_NS: u64 = 300_000_000_000;

/// One detection read back from `detections.csv`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Detected {
    /// Event time of the decision, UTC ns.
    pub ts: u64,
    /// Pattern id (1–6).
    pub id: u8,
    /// +1 long, −1 short, 0 none.
    pub dir: i8,
}

/// The score of one pattern over the seeds.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PatternScore {
    /// Planted episodes.
    pub labels: u64,
    /// Planted episodes found.
    pub found: u64,
    /// Detections inside some label's window.
    pub in_windows: u64,
    /// Of those, the ones matching a label of this pattern and direction.
    pub true_pos: u64,
    /// Detections outside every window.
    pub background: u64,
}

impl PatternScore {
    /// found / labels (None without a label).
    pub fn recall(&self) -> Option<f64> {
        (self.labels > 0).then(|| self.found as f64 / self.labels as f64)
    }

    /// true positives / detections in windows (None without a detection there).
    pub fn precision(&self) -> Option<f64> {
        (self.in_windows > 0).then(|| self.true_pos as f64 / self.in_windows as f64)
    }
}

/// The five planted patterns' scores, indexed by `id − 1`, and the days scored.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct EpisodeScores {
    /// Per pattern (ids 1–5).
    pub by_pattern: [PatternScore; 5],
    /// Trading days scored.
    pub days: u64,
}

fn bar_end(ts: u64) -> u64 {
    ts - ts % BAR_NS
}

fn covers(l: &EpisodeLabel, ts: u64) -> bool {
    let e = bar_end(ts);
    l.start_ns < e && e <= l.end_ns
}

/// Adds one session's labels and detections to `acc`.
pub fn score(labels: &[EpisodeLabel], detections: &[Detected], days: u64, acc: &mut EpisodeScores) {
    acc.days += days;
    for p in EpisodePattern::ALL {
        let s = &mut acc.by_pattern[usize::from(p.id() - 1)];
        let mine = || detections.iter().filter(|d| d.id == p.id());
        for l in labels.iter().filter(|l| l.pattern == p) {
            s.labels += 1;
            s.found += u64::from(mine().any(|d| d.dir == l.dir && covers(l, d.ts)));
        }
        for d in mine() {
            if labels.iter().any(|l| covers(l, d.ts)) {
                s.in_windows += 1;
                s.true_pos +=
                    u64::from(labels.iter().any(|l| l.pattern == p && l.dir == d.dir && covers(l, d.ts)));
            } else {
                s.background += 1;
            }
        }
    }
}

/// Parses `detections.csv` (`ts_ns,pattern_id,dir,score`).
///
/// # Errors
/// A malformed line (named with its file and line number).
pub fn parse_detections(text: &str, file: &Path) -> Result<Vec<Detected>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        let bad = || anyhow!("{}:{}: malformed detection line {line:?}", file.display(), i + 1);
        let mut f = line.split(',');
        let ts = f.next().and_then(|x| x.parse().ok()).ok_or_else(bad)?;
        let id = f.next().and_then(|x| x.parse().ok()).ok_or_else(bad)?;
        let dir = f.next().and_then(|x| x.parse().ok()).ok_or_else(bad)?;
        out.push(Detected { ts, id, dir });
    }
    Ok(out)
}

/// Runs one seed (one trading day with the planted episodes) with the elite engine into
/// `out` (`episodes.csv`, `detections.csv` and the usual artefacts, no journal) and returns
/// its labels and detections.
///
/// # Errors
/// The session fails or its artefacts cannot be written or read back.
pub fn run_seed(seed: u64, config: &Config, out: &Path) -> Result<(Vec<EpisodeLabel>, Vec<Detected>)> {
    let synth = SynthConfig { seed, episodes: EpisodesConfig { enabled: true }, ..SynthConfig::default() };
    let session = SynthSession::try_new(&synth).map_err(|e| anyhow!("{e}"))?;
    let labels = session.episode_labels().to_vec();
    let mut config = config.clone();
    config.signal.strategy = StrategyKind::Elite;
    config.journal.enabled = false;
    std::fs::create_dir_all(out).with_context(|| format!("{}: cannot create", out.display()))?;
    let path = out.join("episodes.csv");
    std::fs::write(&path, labels_csv(&labels))
        .with_context(|| format!("{}: cannot write", path.display()))?;
    let opts = SessionOptions {
        input: Input::Synthetic { seed, days: 1 },
        config,
        mode: None,
        out: Some(out.to_path_buf()),
        progress: false,
        run_mode: RunMode::Backtest,
        pace: None,
        max_events: None,
        profile: None,
        on_progress: None,
    };
    let name = format!("synthetic ES session seed={seed} with planted episodes");
    let extras = SessionExtras {
        source: Some(Box::new(Mbp10IterSource::from_producer(name, session))),
        publications: Some(crate::app::input::synthetic_publications(&synth)?),
        ..Default::default()
    };
    run_session_with(&opts, extras)?;
    let path = out.join("detections.csv");
    let text = std::fs::read_to_string(&path).with_context(|| format!("{}: cannot read", path.display()))?;
    Ok((labels, parse_detections(&text, &path)?))
}

/// Scores the seeds `seeds` (one run folder each under `out`, `seed-N`).
///
/// # Errors
/// A seed's session fails.
pub fn run(seeds: std::ops::RangeInclusive<u64>, config: &Config, out: &Path) -> Result<EpisodeScores> {
    let mut acc = EpisodeScores::default();
    for seed in seeds {
        let (labels, det) = run_seed(seed, config, &out.join(format!("seed-{seed}")))?;
        score(&labels, &det, 1, &mut acc);
    }
    Ok(acc)
}

/// The table: per pattern, planted, found, recall, detections in windows, precision, and the
/// unlabelled detections per day.
pub fn render(s: &EpisodeScores) -> String {
    let f = |x: Option<f64>| x.map_or("—".to_string(), |v| format!("{v:.2}"));
    let mut t = String::from(
        "| pattern | planted | found | recall | detections in windows | true positives | precision | unlabelled / day |\n\
         |---|---|---|---|---|---|---|---|\n",
    );
    for p in EpisodePattern::ALL {
        let x = &s.by_pattern[usize::from(p.id() - 1)];
        t.push_str(&format!(
            "| {} {} | {} | {} | {} | {} | {} | {} | {:.1} |\n",
            p.id(),
            p.name(),
            x.labels,
            x.found,
            f(x.recall()),
            x.in_windows,
            x.true_pos,
            f(x.precision()),
            x.background as f64 / s.days.max(1) as f64
        ));
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(pattern: EpisodePattern, dir: i8, a: u64, b: u64) -> EpisodeLabel {
        EpisodeLabel { pattern, dir, start_ns: a * BAR_NS, end_ns: b * BAR_NS }
    }

    #[test]
    fn matching_counts_direction_window_and_background() {
        let labels =
            [label(EpisodePattern::Headfake, -1, 10, 11), label(EpisodePattern::BaseBreak, 1, 20, 22)];
        let d = |bar: u64, id: u8, dir: i8| Detected { ts: bar * BAR_NS + 1_000, id, dir };
        let det = [
            d(11, 3, -1), // the close that ends the headfake window: true positive
            d(10, 3, -1), // the close before the window: unlabelled
            d(21, 1, -1), // base break, wrong direction: false positive
            d(22, 3, 1),  // a headfake inside the base-break window: false positive
            d(50, 1, 1),  // unlabelled
        ];
        let mut s = EpisodeScores::default();
        score(&labels, &det, 1, &mut s);
        let hf = s.by_pattern[2];
        assert_eq!((hf.labels, hf.found, hf.in_windows, hf.true_pos, hf.background), (1, 1, 2, 1, 1));
        let bb = s.by_pattern[0];
        assert_eq!((bb.labels, bb.found, bb.in_windows, bb.true_pos, bb.background), (1, 0, 1, 0, 1));
        assert_eq!(bb.recall(), Some(0.0));
        assert_eq!(hf.precision(), Some(0.5));
        assert_eq!(s.by_pattern[3].recall(), None);
    }
}
