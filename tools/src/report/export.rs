//! The report's CSV exports (`docs/report.md` § CSV files): `trades_enriched.csv` (each trade
//! with its signal, phase, regime, risk context and post-mortem) and `trade_snapshots.csv`
//! (the feature vector and its context at the entry and the exit of every trade, for analysis
//! and ML training). Both start with a `run` column, so several runs share one file.

use super::analysis::Enriched;
use super::run::RunData;
use crate::features_export::{csv_header as snapshot_header, csv_row as snapshot_row};
use std::fmt::Write as _;

/// A CSV cell: commas, quotes and line breaks cannot appear (they become `_`).
fn cell(s: &str) -> String {
    s.chars().map(|c| if matches!(c, ',' | '"' | '\n' | '\r') { '_' } else { c }).collect()
}

fn opt(v: Option<f64>) -> String {
    v.filter(|x| x.is_finite()).map(|x| format!("{x}")).unwrap_or_default()
}

/// The columns the report adds to the trade columns of `trades.csv`.
pub const ENRICHED_COLUMNS: [&str; 29] = [
    "session_date",
    "entry_phase",
    "exit_phase",
    "signal_match",
    "signal_seq",
    "signal_ts",
    "strategy",
    "pattern",
    "tier",
    "confidence",
    "signal_entry",
    "signal_stop",
    "signal_target",
    "regime",
    "day_trade_no",
    "day_net_before_usd",
    "consecutive_losses_before",
    "kill_active",
    "pm_prints_after",
    "pm_best_after",
    "exit_efficiency",
    "left_on_table_points",
    "left_on_table_usd",
    "pm_reference_target",
    "stop_verdict",
    "target_verdict",
    "entry_snapshot_ts",
    "exit_snapshot_ts",
    "holding_s",
];

/// `trades_enriched.csv` of several runs: `run,trade_no`, the union of the runs' trade
/// columns (in order of appearance), then [`ENRICHED_COLUMNS`].
pub fn trades_enriched_csv(runs: &[(&RunData, Vec<Enriched<'_>>)]) -> String {
    let mut trade_cols: Vec<String> = Vec::new();
    for (r, _) in runs {
        for h in &r.trades.header {
            if !trade_cols.contains(h) {
                trade_cols.push(h.clone());
            }
        }
    }
    let mut out = String::from("run,trade_no");
    for h in trade_cols.iter().map(String::as_str).chain(ENRICHED_COLUMNS) {
        out.push(',');
        out.push_str(&cell(h));
    }
    out.push('\n');
    for (r, trades) in runs {
        let map: Vec<Option<usize>> =
            trade_cols.iter().map(|c| r.trades.header.iter().position(|h| h == c)).collect();
        for e in trades {
            let t = e.trade;
            let _ = write!(out, "{},{}", cell(&r.label), e.no);
            for m in &map {
                out.push(',');
                if let Some(v) = m.and_then(|i| t.cells.get(i)) {
                    out.push_str(&cell(v));
                }
            }
            let sig = e.signal;
            let cols: [String; 29] = [
                e.session.to_string(),
                e.phase.key().into(),
                super::analysis::phase_of(t.exit_ts).key().into(),
                e.signal_match.name().into(),
                sig.map(|s| s.seq.to_string()).unwrap_or_default(),
                sig.map(|s| s.ts.to_string()).unwrap_or_default(),
                e.strategy(),
                e.pattern(),
                e.tier(),
                opt(sig.map(|s| f64::from(s.confidence))),
                opt(sig.map(|s| mia_model::price::to_f64(s.entry)).filter(|p| *p != 0.0)),
                opt(e.signal_stop()),
                opt(e.signal_target()),
                e.regime.into(),
                e.risk.day_trade_no.to_string(),
                format!("{:.2}", e.risk.day_net_before),
                e.risk.consecutive_losses_before.to_string(),
                u8::from(e.risk.kill_active).to_string(),
                e.pm.prints_after.to_string(),
                opt(e.pm.best_after),
                opt(e.pm.exit_efficiency),
                opt(e.pm.left_points),
                opt(e.pm.left_usd),
                opt(e.pm.reference_target),
                e.pm.stop.name().into(),
                e.pm.target.name().into(),
                e.entry_snap.map(|s| s.ts.to_string()).unwrap_or_default(),
                e.exit_snap.map(|s| s.ts.to_string()).unwrap_or_default(),
                format!("{:.3}", t.exit_ts.saturating_sub(t.entry_ts) as f64 / 1e9),
            ];
            for c in cols {
                out.push(',');
                out.push_str(&cell(&c));
            }
            out.push('\n');
        }
    }
    out
}

/// The context columns of `trade_snapshots.csv`, before the snapshot's own columns
/// (`crate::features_export::csv_header`: `seq,ts_ns,kind,…` and the 18 features by their
/// `mia_model::features` names).
pub const SNAPSHOT_CONTEXT: [&str; 18] = [
    "run",
    "trade_no",
    "moment",
    "event_ts",
    "side",
    "strategy",
    "pattern",
    "tier",
    "confidence",
    "day_trade_no",
    "day_net_before_usd",
    "consecutive_losses_before",
    "kill_active",
    "zero_gamma_es",
    "call_wall_es",
    "put_wall_es",
    "snapshot_age_ms",
    "net_usd",
];

/// The columns after the snapshot's own: where the row comes from (`journal`: the session's
/// trade snapshot, record kind 8; `rebuilt`: joined here from the feature snapshots, for a run
/// made before trade snapshots were journaled) and the risk manager's state at the fill
/// (journal rows only).
pub const SNAPSHOT_TAIL: [&str; 7] = [
    "source",
    "fill_price",
    "position_after",
    "risk_state",
    "risk_reason",
    "risk_consecutive_losses",
    "risk_day_pnl_usd",
];

/// The header of `trade_snapshots.csv`.
pub fn snapshots_header() -> String {
    format!("{},{},{}", SNAPSHOT_CONTEXT.join(","), snapshot_header(), SNAPSHOT_TAIL.join(","))
}

fn risk_state_name(code: u8) -> &'static str {
    match code {
        0 => "active",
        1 => "reducing",
        2 => "halted",
        _ => "unknown",
    }
}

/// `trade_snapshots.csv` of several runs: two rows per trade (`moment` = `entry`, `exit`).
/// A run that journaled its trade snapshots gives them as they were taken (the signal that
/// opened the trade, the feature snapshot in force at the fill, the risk state); an older run
/// gets the latest feature snapshot at or before that instant (empty snapshot cells when there
/// is none).
pub fn trade_snapshots_csv(runs: &[(&RunData, Vec<Enriched<'_>>)]) -> String {
    let header = snapshots_header();
    let snap_cols = snapshot_header().split(',').count();
    let mut out = header;
    out.push('\n');
    for (r, trades) in runs {
        for e in trades {
            let t = e.trade;
            let levels = r.gamma.es_levels(e.session).unwrap_or([None; 3]);
            let moments = [
                (mia_journal::Moment::Entry, t.entry_ts, e.entry_snap),
                (mia_journal::Moment::Exit, t.exit_ts, e.exit_snap),
            ];
            for (m, ts, rebuilt) in moments {
                let moment = m.as_str();
                let journaled = r.trade_snapshot(m, ts);
                let (sig, snap) = match journaled {
                    Some(j) => (j.signal().copied().or(e.signal), j.features().copied()),
                    None => (e.signal, rebuilt),
                };
                let ctx: [String; 18] = [
                    cell(&r.label),
                    e.no.to_string(),
                    moment.into(),
                    ts.to_string(),
                    if t.long { "long".into() } else { "short".into() },
                    super::analysis::strategy_name(sig),
                    super::analysis::pattern_name(sig),
                    super::analysis::tier_name(sig),
                    opt(sig.map(|s| f64::from(s.confidence))),
                    e.risk.day_trade_no.to_string(),
                    format!("{:.2}", e.risk.day_net_before),
                    e.risk.consecutive_losses_before.to_string(),
                    u8::from(e.risk.kill_active).to_string(),
                    opt(levels[0]),
                    opt(levels[1]),
                    opt(levels[2]),
                    snap.map(|s| format!("{:.3}", ts.saturating_sub(s.ts) as f64 / 1e6)).unwrap_or_default(),
                    format!("{:.2}", t.net_usd),
                ];
                out.push_str(&ctx.join(","));
                out.push(',');
                match snap {
                    Some(s) => out.push_str(&snapshot_row(&s)),
                    None => out.push_str(&",".repeat(snap_cols - 1)),
                }
                match journaled {
                    Some(j) => {
                        let _ = write!(
                            out,
                            ",journal,{},{},{},{},{},{:.2}",
                            mia_model::price::to_f64(j.price),
                            j.position,
                            risk_state_name(j.risk_state),
                            mia_exec::risk::RejectReason::from_u8(j.risk_reason).map_or("none", |r| r.name()),
                            j.consecutive_losses,
                            j.day_pnl_nano as f64 / 1e9
                        );
                    }
                    None => out.push_str(",rebuilt,,,,,,"),
                }
                out.push('\n');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::postmortem::PmConfig;
    use crate::report::trades::parse_trades;
    use mia_model::features::{FeatureId, FeatureSnapshot, FEATURE_IDS};

    fn run() -> RunData {
        let text = format!(
            "{}\n1710340200000000010,1710340200000000020,long,1,1,5000.00,5001.00,50.00,4.54,45.46,0.00,1.00,0.00,4.00,0.00,50.00,signal,5000.00,5001.00,0.00,0.00\n",
            mia_exec::position::RoundTrip::CSV_HEADER
        );
        let mut r = RunData {
            label: "run,a".into(),
            trades: parse_trades(&text, "t").expect("parse"),
            ..RunData::default()
        };
        let mut s =
            FeatureSnapshot { ts: 1_710_340_200_000_000_005, seq: 9, kind: 1, ..FeatureSnapshot::default() };
        s.vector.set(FeatureId::BookImbalance, 0.25);
        r.snapshots.push(s);
        r
    }

    #[test]
    fn enriched_rows_have_every_column() {
        let r = run();
        let e = crate::report::analysis::enrich(&r, &PmConfig::default());
        let csv = trades_enriched_csv(&[(&r, e)]);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 2);
        let n = lines[0].split(',').count();
        assert_eq!(n, 2 + 21 + ENRICHED_COLUMNS.len());
        assert_eq!(lines[1].split(',').count(), n);
        assert!(lines[1].starts_with("run_a,1,1710340200000000010,"), "{}", lines[1]);
        assert!(lines[0].contains(",exit_efficiency,left_on_table_points,left_on_table_usd,"));
    }

    #[test]
    fn snapshot_rows_name_features_and_fill_missing_snapshots() {
        let r = run();
        let e = crate::report::analysis::enrich(&r, &PmConfig::default());
        let csv = trade_snapshots_csv(&[(&r, e)]);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 3, "entry and exit rows");
        let head: Vec<&str> = lines[0].split(',').collect();
        for id in FEATURE_IDS {
            assert!(head.contains(&id.name()), "{} is a column", id.name());
        }
        for l in &lines[1..] {
            assert_eq!(l.split(',').count(), head.len(), "{l}");
        }
        let obi = head.iter().position(|h| *h == "obi").expect("obi column");
        let row: Vec<&str> = lines[1].split(',').collect();
        assert_eq!(row[obi], "0.25");
        assert_eq!(row[2], "entry");
        let age = head.iter().position(|h| *h == "snapshot_age_ms").expect("age");
        assert_eq!(row[age], "0.000");
        // A trade before any snapshot: empty snapshot cells, same width.
        let mut early = run();
        early.snapshots[0].ts = u64::MAX;
        let e = crate::report::analysis::enrich(&early, &PmConfig::default());
        let csv = trade_snapshots_csv(&[(&early, e)]);
        let row = csv.lines().nth(1).expect("row");
        assert_eq!(row.split(',').count(), head.len());
        assert_eq!(row.split(',').nth(obi), Some(""));
    }
}
