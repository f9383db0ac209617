//! `mia features RUN_DIR [--csv OUT]`: the feature snapshots of a run (its `features/`
//! journal, one snapshot per 1-minute bar close and per signal) as CSV with a header naming
//! every column, loadable by pandas or polars as is (an invalid feature is an empty cell), or,
//! without `--csv`, their statistics.

use crate::app::session::FEATURES_DIR;
use crate::app::summary::render_feature_stats;
use anyhow::{Context, Result};
use mia_journal::{JournalReader, JournalRecord};
use mia_model::feature_stats::FeatureStats;
use mia_model::features::{cycle_flags, FeatureSnapshot, SnapshotKind, FEATURE_IDS};
use mia_model::price::to_f64;
use std::io::Write;
use std::path::Path;

/// Reads every snapshot of the run directory `run` (or of a `features/` journal directory).
///
/// # Errors
/// No features journal, or a damaged one (the error names the file and the offset).
pub fn read_snapshots(run: &Path) -> Result<Vec<FeatureSnapshot>> {
    let dir = if run.join(FEATURES_DIR).is_dir() { run.join(FEATURES_DIR) } else { run.to_path_buf() };
    let mut reader = JournalReader::open(&dir).with_context(|| {
        format!("{}: no features journal (run `mia backtest` with the journal on)", dir.display())
    })?;
    let mut out = Vec::new();
    while let Some(rec) =
        reader.next_record().with_context(|| format!("{}: damaged journal", dir.display()))?
    {
        if let JournalRecord::Features(s) = rec {
            out.push(s);
        }
    }
    Ok(out)
}

/// The CSV header.
pub fn csv_header() -> String {
    let mut h = String::from(
        "seq,ts_ns,kind,session_date,phase,mid,cum_delta,bar_ts_start,bar_open,bar_high,bar_low,bar_close,bar_volume,bar_delta,gamma_phase,opex_week,zero_dte_share,valid_mask,flags",
    );
    for id in FEATURE_IDS {
        h.push(',');
        h.push_str(id.name());
    }
    h
}

/// One CSV row.
pub fn csv_row(s: &FeatureSnapshot) -> String {
    let kind = SnapshotKind::from_u32(s.kind).map_or("unknown", |k| k.name());
    let px = |p: i64| if p == 0 { String::new() } else { format!("{}", to_f64(p)) };
    let b = &s.bar;
    let zdte = if s.cycle_flags & cycle_flags::ZDTE_VALID != 0 {
        format!("{}", s.zero_dte_share)
    } else {
        String::new()
    };
    let mut r = format!(
        "{},{},{kind},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
        s.seq,
        s.ts,
        s.session_date,
        s.phase,
        px(s.mid),
        s.cum_delta,
        b.ts_start,
        px(b.open),
        px(b.high),
        px(b.low),
        px(b.close),
        b.volume,
        b.delta,
        s.gamma_phase,
        u8::from(s.cycle_flags & cycle_flags::OPEX_WEEK != 0),
        zdte,
        s.vector.valid,
        s.vector.flags
    );
    for id in FEATURE_IDS {
        r.push(',');
        if let Some(v) = s.vector.get(id) {
            r.push_str(&format!("{v}"));
        }
    }
    r
}

/// Runs the command.
///
/// # Errors
/// See [`read_snapshots`]; the CSV file cannot be written.
pub fn run(run_dir: &Path, csv: Option<&Path>) -> Result<()> {
    let snaps = read_snapshots(run_dir)?;
    match csv {
        Some(path) => {
            let f =
                std::fs::File::create(path).with_context(|| format!("{}: cannot create", path.display()))?;
            let mut w = std::io::BufWriter::new(f);
            let io = |e| anyhow::anyhow!("{}: cannot write: {e}", path.display());
            writeln!(w, "{}", csv_header()).map_err(io)?;
            for s in &snaps {
                writeln!(w, "{}", csv_row(s)).map_err(io)?;
            }
            w.flush().map_err(io)?;
            println!(
                "wrote {} snapshots ({} columns) to {}",
                snaps.len(),
                csv_header().split(',').count(),
                path.display()
            );
        }
        None => {
            let mut st = FeatureStats::default();
            for s in &snaps {
                st.sample(&s.vector);
            }
            print!("{}", render_feature_stats(&st, None));
        }
    }
    Ok(())
}
