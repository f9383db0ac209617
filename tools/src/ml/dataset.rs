//! `mia dataset RUN_DIR... --out FILE.csv`: one row per entry signal of each run, traded or
//! not — the feature snapshot journaled at the signal, the signal's fields, the trade's result
//! where it traded, and a triple-barrier label (López de Prado) computed from the recorded
//! trade prints after the signal.
//!
//! The run is read with the report's loader (`report::run::load_run`: `trades.csv`, the
//! journal, the features journal; signals are re-derived by replaying the journal's inputs
//! through a signal stage built from the journal's configuration, with no model, so every
//! candidate is there) and the report's trade ↔ signal join (`report::analysis::enrich`).
//!
//! Triple barrier of an entry at price `e` (the signal's entry) in direction `d`: the target
//! and stop are the signal's bracket, or `e ± [ml] label_target_points / label_stop_points`
//! when it has none; the time limit is `[ml] label_horizon_s` after the signal. Walking the
//! trade prints after the signal's input: the first print at or beyond the target gives label
//! `1`, at or beyond the stop `-1`; none before the time limit gives `0`. `y` = 1 iff the
//! target was touched first. The label window `[ts_ns, t_end_ns]` (signal to barrier touch or
//! time limit) is what `mia train` purges on.

use super::{MlConfig, ML_FEATURES};
use crate::report::analysis::enrich;
use crate::report::postmortem::PmConfig;
use crate::report::run::{load_run, RunData};
use anyhow::{bail, Context, Result};
use mia_journal::{JournalReader, JournalRecord};
use mia_model::event::EventKind;
use mia_model::features::{FeatureSnapshot, SnapshotKind, FEATURE_IDS};
use mia_model::msg::{Msg, Signal};
use mia_model::order::Direction;
use mia_model::price::{to_f64, Px, PRICE_SCALE, UNDEF_PX};
use std::io::Write;
use std::path::{Path, PathBuf};

/// A trade print `(seq, ts_ns, price)`.
pub type Print = (u64, u64, Px);

/// The outcome of one triple barrier.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Barrier {
    /// 1 target first, −1 stop first, 0 time limit.
    pub label: i8,
    /// Event time the label was decided (the touching print, or the time limit).
    pub t_end: u64,
    /// Signed move in the trade's favour at `t_end`, index points (the barrier price, or the
    /// last print before the time limit; 0 without one).
    pub ret_points: f64,
}

/// One entry's barriers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Entry {
    /// Input sequence number of the signal (prints after it count).
    pub seq: u64,
    /// Event time of the signal, ns.
    pub ts: u64,
    /// Direction of the entry.
    pub dir: Direction,
    /// Entry price.
    pub entry: Px,
    /// Stop price.
    pub stop: Px,
    /// Target price.
    pub target: Px,
    /// Time limit after `ts`, ns.
    pub horizon_ns: u64,
}

/// The triple barrier of an entry: prints must be in input order; only those after input
/// `e.seq` count.
pub fn triple_barrier(prints: &[Print], e: &Entry) -> Barrier {
    let Entry { seq, ts, dir, entry, stop, target, horizon_ns } = *e;
    let s = match dir {
        Direction::Long => 1,
        Direction::Short => -1,
        Direction::Flat => 0,
    };
    let limit = ts.saturating_add(horizon_ns);
    let start = prints.partition_point(|p| p.0 <= seq);
    let mut last = None;
    for &(_, t, px) in &prints[start..] {
        if t > limit {
            break;
        }
        if s * (px - target) >= 0 {
            return Barrier { label: 1, t_end: t, ret_points: to_f64(s * (target - entry)) };
        }
        if s * (stop - px) >= 0 {
            return Barrier { label: -1, t_end: t, ret_points: to_f64(s * (stop - entry)) };
        }
        last = Some(px);
    }
    Barrier { label: 0, t_end: limit, ret_points: last.map_or(0.0, |p| to_f64(s * (p - entry))) }
}

/// Every trade print of a journal, in input order.
///
/// # Errors
/// The journal cannot be opened or is damaged (named).
pub fn read_prints(journal: &Path) -> Result<Vec<Print>> {
    let mut r = JournalReader::open(journal).with_context(|| format!("{}: no journal", journal.display()))?;
    let mut out = Vec::new();
    while let Some(rec) =
        r.next_record().with_context(|| format!("{}: damaged journal", journal.display()))?
    {
        if let JournalRecord::Msg(Msg::Market(e)) = rec {
            if e.kind == EventKind::Trade && e.size > 0 && e.price > 0 {
                out.push((e.seq, e.ts_recv, e.price));
            }
        }
    }
    Ok(out)
}

/// The fixed columns before the features.
pub const HEAD: [&str; 12] = [
    "run",
    "seq",
    "ts_ns",
    "t_end_ns",
    "session_date",
    "strategy",
    "pattern",
    "entry",
    "stop",
    "target",
    "stop_points",
    "target_points",
];
/// The outcome columns after the features.
pub const TAIL: [&str; 7] =
    ["traded", "trade_net_usd", "trade_exit_reason", "tb_label", "tb_return_points", "tb_return_usd", "y"];

/// The dataset header: [`HEAD`], the model inputs ([`ML_FEATURES`]), [`TAIL`].
pub fn header() -> String {
    HEAD.iter().chain(ML_FEATURES.iter()).chain(TAIL.iter()).copied().collect::<Vec<_>>().join(",")
}

/// What a dataset build produced.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DatasetStats {
    /// Rows written.
    pub rows: usize,
    /// Rows whose signal was traded.
    pub traded: usize,
    /// Rows labelled 1 (target first).
    pub positives: usize,
    /// Entry signals without a journaled snapshot (skipped).
    pub no_snapshot: usize,
    /// Runs read.
    pub runs: usize,
}

/// The entry signals of a run in order: a non-flat signal whose direction differs from the
/// previous signal's.
fn entries(signals: &[Signal]) -> Vec<Signal> {
    let mut pos = Direction::Flat;
    let mut out = Vec::new();
    for s in signals {
        if s.direction != Direction::Flat && s.direction != pos {
            out.push(*s);
        }
        pos = s.direction;
    }
    out
}

fn rows_of(
    run: &RunData,
    prints: &[Print],
    ml: &MlConfig,
    stats: &mut DatasetStats,
) -> Vec<(u64, u64, String)> {
    let trades = enrich(run, &PmConfig::default());
    let pv = run.contract.point_value_usd as f64;
    let mut snaps: Vec<&FeatureSnapshot> =
        run.snapshots.iter().filter(|s| s.kind == SnapshotKind::Signal as u32).collect();
    snaps.sort_by_key(|s| s.seq);
    let mut used = vec![false; snaps.len()];
    let horizon = ml.label_horizon_s.saturating_mul(1_000_000_000);
    let pts = |p: f64| (p * PRICE_SCALE as f64).round() as Px;
    let mut out = Vec::new();
    for sig in entries(&run.signals) {
        // The k-th signal snapshot at this input belongs to the k-th signal there.
        let a = snaps.partition_point(|s| s.seq < sig.seq);
        let Some(k) = (a..snaps.len()).take_while(|&i| snaps[i].seq == sig.seq).find(|&i| !used[i]) else {
            stats.no_snapshot += 1;
            continue;
        };
        used[k] = true;
        let snap = snaps[k];
        let s = if sig.direction == Direction::Long { 1 } else { -1 };
        let (stop, target) = if sig.stop != UNDEF_PX && sig.target != UNDEF_PX {
            (sig.stop, sig.target)
        } else {
            (sig.entry - s * pts(ml.label_stop_points), sig.entry + s * pts(ml.label_target_points))
        };
        let e = Entry {
            seq: sig.seq,
            ts: sig.ts,
            dir: sig.direction,
            entry: sig.entry,
            stop,
            target,
            horizon_ns: horizon,
        };
        let b = triple_barrier(prints, &e);
        let trade = trades
            .iter()
            .find(|t| t.signal.is_some_and(|x| x.seq == sig.seq && x.direction == sig.direction));
        let x = super::model_input(&snap.vector, &sig);
        let mut r = format!(
            "{},{},{},{},{},{},{},{},{},{},{},{}",
            run.label,
            sig.seq,
            sig.ts,
            b.t_end,
            snap.session_date,
            sig.source.strategy,
            sig.source.pattern,
            to_f64(sig.entry),
            to_f64(stop),
            to_f64(target),
            to_f64(s * (sig.entry - stop)),
            to_f64(s * (target - sig.entry)),
        );
        for v in x {
            r.push_str(&format!(",{v}"));
        }
        let (traded, net, reason) = match trade {
            Some(t) => (1, format!("{}", t.trade.net_usd), t.trade.exit_reason.clone()),
            None => (0, String::new(), String::new()),
        };
        let y = u8::from(b.label == 1);
        r.push_str(&format!(
            ",{traded},{net},{reason},{},{},{},{y}",
            b.label,
            b.ret_points,
            b.ret_points * pv
        ));
        stats.rows += 1;
        stats.traded += traded;
        stats.positives += usize::from(y);
        out.push((sig.ts, sig.seq, r));
    }
    out
}

/// Builds the dataset of `runs` into `out`; rows are in event-time order (then run, then seq).
///
/// # Errors
/// A run cannot be read (named), it has no journal or no features journal, or `out` cannot
/// be written.
pub fn build(runs: &[PathBuf], ml: &MlConfig, out: &Path) -> Result<DatasetStats> {
    if runs.is_empty() {
        bail!("mia dataset: give at least one run directory");
    }
    let mut stats = DatasetStats::default();
    let mut rows = Vec::new();
    for dir in runs {
        let run = load_run(dir, 0)?;
        if run.snapshots.is_empty() {
            bail!(
                "{}: no feature snapshots (run with the journal on: [journal] enabled = true)",
                dir.display()
            );
        }
        let prints = read_prints(&dir.join("journal"))?;
        for (i, id) in FEATURE_IDS.iter().enumerate() {
            debug_assert_eq!(ML_FEATURES[i], id.name());
        }
        let mut r = rows_of(&run, &prints, ml, &mut stats);
        rows.append(&mut r);
        stats.runs += 1;
    }
    rows.sort_by_key(|a| (a.0, a.1));
    if let Some(p) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(p).with_context(|| format!("{}: cannot create", p.display()))?;
    }
    let f = std::fs::File::create(out).with_context(|| format!("{}: cannot create", out.display()))?;
    let mut w = std::io::BufWriter::new(f);
    let io = |e: std::io::Error| anyhow::anyhow!("{}: cannot write: {e}", out.display());
    writeln!(w, "{}", header()).map_err(io)?;
    for (_, _, r) in &rows {
        writeln!(w, "{r}").map_err(io)?;
    }
    w.flush().map_err(io)?;
    Ok(stats)
}

/// `mia dataset`: builds the file and prints what it holds.
///
/// # Errors
/// See [`build`].
pub fn run(runs: &[PathBuf], ml: &MlConfig, out: &Path) -> Result<()> {
    let s = build(runs, ml, out)?;
    println!(
        "wrote {} rows ({} traded, {} labelled 1 = target first) from {} run(s) to {}{}",
        s.rows,
        s.traded,
        s.positives,
        s.runs,
        out.display(),
        if s.no_snapshot > 0 {
            format!("; {} entry signals had no journaled snapshot (skipped)", s.no_snapshot)
        } else {
            String::new()
        }
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: i64 = PRICE_SCALE;

    #[test]
    fn triple_barrier_takes_the_first_touch_after_the_signal() {
        // Long at 100, stop 98, target 103, horizon 10 s.
        let prints: Vec<Print> = vec![
            (1, 1, 90 * P),  // before the signal (seq 1 ≤ 2): ignored
            (3, 2, 101 * P), // inside
            (4, 3, 98 * P),  // stop
            (5, 4, 104 * P), // target after the stop: too late
        ];
        let long = Entry {
            seq: 2,
            ts: 1,
            dir: Direction::Long,
            entry: 100 * P,
            stop: 98 * P,
            target: 103 * P,
            horizon_ns: 10,
        };
        let b = triple_barrier(&prints, &long);
        assert_eq!(b, Barrier { label: -1, t_end: 3, ret_points: -2.0 });
        // Short: the 98 print is its target (2 points under), first.
        let short = Entry { dir: Direction::Short, stop: 103 * P, target: 98 * P, ..long };
        let b = triple_barrier(&prints, &short);
        assert_eq!(b, Barrier { label: 1, t_end: 3, ret_points: 2.0 });
        // The time limit ends it before any touch: label 0, return of the last print inside.
        let b = triple_barrier(&prints, &Entry { horizon_ns: 1, ..long });
        assert_eq!(b, Barrier { label: 0, t_end: 2, ret_points: 1.0 });
        // Nothing after the signal at all.
        let b = triple_barrier(&prints, &Entry { seq: 9, horizon_ns: 1, ..long });
        assert_eq!(b, Barrier { label: 0, t_end: 2, ret_points: 0.0 });
    }

    #[test]
    fn entries_skip_exits_and_repeats() {
        let s = |seq, d| Signal { seq, direction: d, ..Signal::default() };
        use Direction::{Flat, Long, Short};
        let got: Vec<u64> =
            entries(&[s(1, Long), s(2, Long), s(3, Flat), s(4, Short), s(5, Long), s(6, Flat)])
                .iter()
                .map(|x| x.seq)
                .collect();
        assert_eq!(got, [1, 4, 5]);
    }

    #[test]
    fn header_names_every_model_input() {
        let h = header();
        for n in ML_FEATURES {
            assert!(h.split(',').any(|c| c == n), "{n}");
        }
        assert_eq!(h.split(',').count(), HEAD.len() + ML_FEATURES.len() + TAIL.len());
    }
}
