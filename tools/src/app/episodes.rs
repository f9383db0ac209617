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
//!   day, not scored;
//! - a detection without a direction (a spread anomaly, a pin between two equally near walls)
//!   makes no claim a directional label can check: it is counted per day
//!   (`directionless / day`), not scored;
//! - the generator's confluence-zone labels are candidates at its gamma wall (the pin and the
//!   return to it); [`confirm_zones`] keeps the stretch of each where at least
//!   [`ZONE_MIN_LEVELS`] levels of SIGNALS §5, recomputed from the session's own trades (not
//!   from the engine), lie within [`ZONE_TOLERANCE_TICKS`] ticks together with the wall.

use crate::app::config::Config;
use crate::app::input::Input;
use crate::app::session::{run_session_with, RunMode, SessionExtras, SessionOptions};
use anyhow::{anyhow, Context, Result};
use mia_feeds::dbn_source::Mbp10IterSource;
use mia_feeds::synth::{labels_csv, EpisodeLabel, EpisodePattern, EpisodesConfig, SynthConfig, SynthSession};
use mia_signal::strategy::registry::StrategyKind;
use std::collections::BTreeMap;
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
    /// Detections without a direction (not scored).
    pub directionless: u64,
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
            if d.dir == 0 {
                s.directionless += 1;
                continue;
            }
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

/// Least levels (the wall included) that make a zone episode (SIGNALS §4 `min_levels`).
pub const ZONE_MIN_LEVELS: usize = 3;
/// Span of a zone (SIGNALS §5 `tolerance_ticks`).
pub const ZONE_TOLERANCE_TICKS: i64 = 3;
const TICK: i64 = 250_000_000;

/// The levels of SIGNALS §5 that the session's trades define, recomputed here from the
/// trades alone (independent of the engine's `levels` and `zones` modules): the profile's
/// POC, value area (70 %, Dalton) and two HVNs (8 ticks apart), the session and overnight
/// high and low, VWAP ± 1σ and 2σ, and the 25- and 100-point round numbers. The previous
/// session's levels and the gamma flip are left out (a one-day run has no previous session;
/// only the wall is known to the labels), so the count is a lower bound.
#[derive(Default)]
struct TradeLevels {
    vol: BTreeMap<i64, u64>,
    hi: Option<i64>,
    lo: Option<i64>,
    overnight: Option<(i64, i64)>,
    sv: f64,
    svx: f64,
    svx2: f64,
}

impl TradeLevels {
    fn add(&mut self, ts: u64, tick: i64, size: u64, rth_open: u64) {
        *self.vol.entry(tick).or_default() += size;
        self.hi = Some(self.hi.map_or(tick, |h| h.max(tick)));
        self.lo = Some(self.lo.map_or(tick, |l| l.min(tick)));
        if ts < rth_open {
            self.overnight = Some(self.overnight.map_or((tick, tick), |(h, l)| (h.max(tick), l.min(tick))));
        }
        let (v, x) = (size as f64, tick as f64);
        self.sv += v;
        self.svx += v * x;
        self.svx2 += v * x * x;
    }

    /// The levels in ticks (price / tick), as of now (`after_open`: the overnight extremes
    /// count only after the RTH open, as in §5).
    fn levels(&self, after_open: bool) -> Vec<i64> {
        let mut out = Vec::new();
        let (Some(hi), Some(lo)) = (self.hi, self.lo) else { return out };
        out.extend([hi, lo]);
        if after_open {
            if let Some((h, l)) = self.overnight {
                out.extend([h, l]);
            }
        }
        let prof: Vec<(i64, u64)> = (lo..=hi).map(|p| (p, self.vol.get(&p).copied().unwrap_or(0))).collect();
        let total: u64 = prof.iter().map(|x| x.1).sum();
        let Some(poc_ix) =
            prof.iter().enumerate().max_by(|a, b| a.1 .1.cmp(&b.1 .1).then(b.0.cmp(&a.0))).map(|x| x.0)
        else {
            return out;
        };
        out.push(prof[poc_ix].0);
        // value area: add the larger of the next two prices above / below (above on ties)
        let (mut a, mut b, mut cov) = (poc_ix, poc_ix, prof[poc_ix].1);
        while (cov as f64) < 0.7 * total as f64 && (a > 0 || b + 1 < prof.len()) {
            let up: u64 = prof.iter().skip(b + 1).take(2).map(|x| x.1).sum();
            let down: u64 = prof[..a].iter().rev().take(2).map(|x| x.1).sum();
            if b + 1 < prof.len() && (up >= down || a == 0) {
                let n = (prof.len() - 1 - b).min(2);
                b += n;
                cov += up;
            } else {
                let n = a.min(2);
                a -= n;
                cov += down;
            }
        }
        out.extend([prof[a].0, prof[b].0]);
        // two HVNs, 8 ticks from the POC and from each other, the larger volume first
        let mut by_vol: Vec<(i64, u64)> = prof.iter().copied().filter(|x| x.1 > 0).collect();
        by_vol.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(&y.0)));
        let mut taken = vec![prof[poc_ix].0];
        for (p, _) in by_vol {
            if taken.len() == 3 {
                break;
            }
            if taken.iter().all(|t| (p - t).abs() > 8) {
                taken.push(p);
                out.push(p);
            }
        }
        if self.sv > 0.0 {
            let m = self.svx / self.sv;
            let sd = (self.svx2 / self.sv - m * m).max(0.0).sqrt();
            for k in [-2.0, -1.0, 0.0, 1.0, 2.0] {
                out.push((m + k * sd).round() as i64);
            }
        }
        // 25-point and 100-point round numbers (a multiple of 100 points is both)
        let mid = (hi + lo) / 2;
        for step in [100, 400] {
            let base = mid.div_euclid(step) * step;
            out.extend((-3..=3).map(|k| base + k * step));
        }
        out
    }
}

/// Most levels (the wall's included) that lie, with the wall, within one
/// [`ZONE_TOLERANCE_TICKS`] span.
fn levels_with(wall: i64, levels: &[i64]) -> usize {
    (wall - ZONE_TOLERANCE_TICKS..=wall)
        .map(|s| 1 + levels.iter().filter(|&&l| s <= l && l <= s + ZONE_TOLERANCE_TICKS).count())
        .max()
        .unwrap_or(1)
}

/// The labels with each confluence-zone candidate confirmed from the session's trades
/// (`trades`, a fresh copy of the labelled session): the candidate's window is cut to start at
/// the first 5-minute bar whose end sees ≥ [`ZONE_MIN_LEVELS`] levels with the wall (the levels
/// of [`TradeLevels`] as of that bar end), and dropped when no bar does. Its direction is the
/// side price came from: the last trade before the window more than
/// [`ZONE_TOLERANCE_TICKS`] from the wall was above it → support → long, below → short (the
/// generator's wall-type direction when there is none). Other labels pass.
pub fn confirm_zones(labels: &[EpisodeLabel], trades: &mut SynthSession, rth_open: u64) -> Vec<EpisodeLabel> {
    let zones = || labels.iter().filter(|l| l.pattern == EpisodePattern::ConfluenceZone && l.level.is_some());
    let mut checks: Vec<u64> = zones()
        .flat_map(|l| (0..=(l.end_ns - l.start_ns) / BAR_NS).map(move |k| l.start_ns + k * BAR_NS))
        .collect();
    let walls: Vec<i64> = zones().filter_map(|l| l.level).map(|w| w.div_euclid(TICK)).collect();
    // per wall, the last traded price more than a zone's span away from it
    let mut far: Vec<Option<i64>> = vec![None; walls.len()];
    let mut far_at: BTreeMap<(u64, i64), Option<i64>> = BTreeMap::new();
    checks.sort_unstable();
    checks.dedup();
    let mut at: BTreeMap<u64, Vec<i64>> = BTreeMap::new();
    let mut lv = TradeLevels::default();
    let mut msg = dbn::Mbp10Msg::default();
    let mut next = checks.iter().copied().peekable();
    while next.peek().is_some() {
        let more = trades.next_into(&mut msg);
        let ts = if more { msg.hd.ts_event } else { u64::MAX };
        while let Some(c) = next.next_if(|&c| ts >= c) {
            at.insert(c, lv.levels(c >= rth_open));
            for (w, f) in walls.iter().zip(&far) {
                far_at.insert((c, *w), *f);
            }
        }
        if !more {
            break;
        }
        if msg.action as u8 == b'T' && msg.size > 0 {
            let p = msg.price.div_euclid(TICK);
            lv.add(ts, p, u64::from(msg.size), rth_open);
            for (w, f) in walls.iter().zip(far.iter_mut()) {
                if (p - w).abs() > ZONE_TOLERANCE_TICKS {
                    *f = Some(p);
                }
            }
        }
    }
    let mut out = Vec::with_capacity(labels.len());
    for l in labels {
        let Some(w) = l.level.filter(|_| l.pattern == EpisodePattern::ConfluenceZone) else {
            out.push(*l);
            continue;
        };
        let wall = w.div_euclid(TICK);
        let first = (1..=(l.end_ns - l.start_ns) / BAR_NS)
            .map(|k| l.start_ns + k * BAR_NS)
            .find(|e| at.get(e).is_some_and(|lv| levels_with(wall, lv) >= ZONE_MIN_LEVELS));
        if let Some(e) = first {
            let from = far_at.get(&(l.start_ns, wall)).copied().flatten();
            let dir = from.map_or(l.dir, |p| if p > wall { 1 } else { -1 });
            out.push(EpisodeLabel { start_ns: e - BAR_NS, dir, ..*l });
        }
    }
    out
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
    let mut trades = SynthSession::try_new(&synth).map_err(|e| anyhow!("{e}"))?;
    let rth_open = session.days().first().map_or(0, |d| d.rth_open_ns);
    let labels = confirm_zones(session.episode_labels(), &mut trades, rth_open);
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
        "| pattern | planted | found | recall | detections in windows | true positives | precision | unlabelled / day | directionless / day |\n\
         |---|---|---|---|---|---|---|---|---|\n",
    );
    for p in EpisodePattern::ALL {
        let x = &s.by_pattern[usize::from(p.id() - 1)];
        t.push_str(&format!(
            "| {} {} | {} | {} | {} | {} | {} | {} | {:.1} | {:.1} |\n",
            p.id(),
            p.name(),
            x.labels,
            x.found,
            f(x.recall()),
            x.in_windows,
            x.true_pos,
            f(x.precision()),
            x.background as f64 / s.days.max(1) as f64,
            x.directionless as f64 / s.days.max(1) as f64
        ));
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(pattern: EpisodePattern, dir: i8, a: u64, b: u64) -> EpisodeLabel {
        EpisodeLabel { pattern, dir, start_ns: a * BAR_NS, end_ns: b * BAR_NS, level: None }
    }

    /// Profile (ticks: volume) 0: 10, 1: 30, 2: 50, 3: 20, 4: 5, 20: 40 over one trade each,
    /// no overnight trade. Total 155; POC 2; the value area compares {3, 4} (25) with {0, 1}
    /// (40) and adds {0, 1} (90), then {3, 4} (115 ≥ 108.5) → [0, 4]. HVNs more than 8 ticks
    /// from the POC: 20 only.
    /// VWAP = (0·10 + 30 + 100 + 60 + 20 + 800)/155 = 6.516 → 7.
    #[test]
    fn trade_levels_and_zone_count() {
        let mut lv = TradeLevels::default();
        for (p, v) in [(0, 10), (1, 30), (2, 50), (3, 20), (4, 5), (20, 40)] {
            lv.add(10, p, v, 0);
        }
        let l = lv.levels(true);
        assert_eq!(&l[..5], &[20, 0, 2, 0, 4], "high, low, POC, VAL, VAH");
        assert_eq!(l[5], 20, "the one HVN");
        assert_eq!(l[8], 7, "VWAP");
        assert!(l.contains(&0) && l.contains(&400) && l.contains(&100), "round numbers");
        // a wall at 3: the span [0, 3] holds the low, the POC, VAL and VAH (and the round 0)
        assert_eq!(levels_with(3, &[0, 2, 0, 2, 20]), 5);
        // a wall at 10: nothing within 3 ticks
        assert_eq!(levels_with(10, &[0, 2, 20, 14]), 1);
        assert_eq!(levels_with(10, &[7, 13]), 2, "7 and 13 are 6 apart: one at a time");
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
