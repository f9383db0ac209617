//! Reading a run's `trades.csv` (one line per round trip, written by the exec stage: see
//! `mia_exec::position::RoundTrip::CSV_HEADER`). Columns are found by name, so a file with
//! extra or reordered columns still reads; a missing column or a malformed value is an error
//! naming the file, the line and the column.

use anyhow::{bail, Context, Result};
use std::path::Path;

/// One round trip as recorded.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Trade {
    /// Event time of the first entry fill (ns since the epoch).
    pub entry_ts: u64,
    /// Event time of the fill that made the position flat (ns).
    pub exit_ts: u64,
    /// Long (true) or short.
    pub long: bool,
    /// Contracts.
    pub qty: u32,
    /// Average entry price (points).
    pub entry_px: f64,
    /// Average exit price (points).
    pub exit_px: f64,
    /// Gross P&L, USD.
    pub pnl_usd: f64,
    /// Fees, USD.
    pub fees_usd: f64,
    /// Net P&L, USD.
    pub net_usd: f64,
    /// Maximum adverse excursion, points per contract (≥ 0).
    pub mae_points: f64,
    /// Maximum favourable excursion, points per contract (≥ 0).
    pub mfe_points: f64,
    /// Maximum adverse excursion, USD (≥ 0).
    pub mae_usd: f64,
    /// Maximum favourable excursion, USD (≥ 0).
    pub mfe_usd: f64,
    /// Why the trip ended (`signal`, `target`, `stop`, `time`, `flatten`, `kill`).
    pub exit_reason: String,
    /// Slippage against the decision prices, USD (> 0 = cost).
    pub slippage_usd: f64,
    /// The line's cells, in the file's column order (copied into `trades_enriched.csv`).
    pub cells: Vec<String>,
}

impl Trade {
    /// +1 long, −1 short.
    pub fn dir(&self) -> f64 {
        if self.long {
            1.0
        } else {
            -1.0
        }
    }
}

/// The trades of a file, and its header (column names).
#[derive(Clone, Debug, Default)]
pub struct TradeFile {
    /// Column names in file order.
    pub header: Vec<String>,
    /// The round trips, in file (exit-time) order.
    pub trades: Vec<Trade>,
}

const REQUIRED: [&str; 15] = [
    "entry_ts",
    "exit_ts",
    "side",
    "qty",
    "entry_price",
    "exit_price",
    "pnl_usd",
    "fees_usd",
    "net_usd",
    "mae_points",
    "mfe_points",
    "mae_usd",
    "mfe_usd",
    "exit_reason",
    "slippage_usd",
];

/// Reads `path`.
///
/// # Errors
/// The file cannot be read, or a line is malformed (the error names file, line and column).
pub fn read_trades(path: &Path) -> Result<TradeFile> {
    let text = std::fs::read_to_string(path).with_context(|| format!("{}: cannot read", path.display()))?;
    parse_trades(&text, &path.display().to_string())
}

/// Parses the text of a trades file; `name` names it in errors.
///
/// # Errors
/// A missing column, a line with the wrong number of cells, or a value that is not a number
/// (or a side other than `long` / `short`).
pub fn parse_trades(text: &str, name: &str) -> Result<TradeFile> {
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    let Some((_, head)) = lines.next() else {
        return Ok(TradeFile::default());
    };
    let header: Vec<String> = head.split(',').map(|s| s.trim().to_string()).collect();
    let mut idx = [0usize; REQUIRED.len()];
    for (k, col) in REQUIRED.iter().enumerate() {
        match header.iter().position(|h| h == col) {
            Some(i) => idx[k] = i,
            None => bail!("{name}: line 1: missing column `{col}`"),
        }
    }
    let mut trades = Vec::new();
    for (n, line) in lines {
        let lineno = n + 1;
        let cells: Vec<String> = line.split(',').map(|s| s.trim().to_string()).collect();
        if cells.len() != header.len() {
            bail!("{name}: line {lineno}: {} cells, the header has {}", cells.len(), header.len());
        }
        let cell = |k: usize| cells[idx[k]].as_str();
        let num = |k: usize| -> Result<f64> {
            let v: f64 = cell(k).parse().map_err(|_| {
                anyhow::anyhow!(
                    "{name}: line {lineno}: column `{}`: not a number: {:?}",
                    REQUIRED[k],
                    cell(k)
                )
            })?;
            if !v.is_finite() {
                bail!("{name}: line {lineno}: column `{}`: not finite", REQUIRED[k]);
            }
            Ok(v)
        };
        let int = |k: usize| -> Result<u64> {
            cell(k).parse().map_err(|_| {
                anyhow::anyhow!(
                    "{name}: line {lineno}: column `{}`: not an unsigned integer: {:?}",
                    REQUIRED[k],
                    cell(k)
                )
            })
        };
        let long = match cell(2) {
            "long" => true,
            "short" => false,
            other => bail!("{name}: line {lineno}: column `side`: {other:?} is neither long nor short"),
        };
        let qty = u32::try_from(int(3)?)
            .map_err(|_| anyhow::anyhow!("{name}: line {lineno}: column `qty`: out of range"))?;
        let t = Trade {
            entry_ts: int(0)?,
            exit_ts: int(1)?,
            long,
            qty,
            entry_px: num(4)?,
            exit_px: num(5)?,
            pnl_usd: num(6)?,
            fees_usd: num(7)?,
            net_usd: num(8)?,
            mae_points: num(9)?,
            mfe_points: num(10)?,
            mae_usd: num(11)?,
            mfe_usd: num(12)?,
            exit_reason: cell(13).to_string(),
            slippage_usd: num(14)?,
            cells: Vec::new(),
        };
        if t.exit_ts < t.entry_ts {
            bail!("{name}: line {lineno}: exit_ts {} is before entry_ts {}", t.exit_ts, t.entry_ts);
        }
        trades.push(Trade { cells, ..t });
    }
    Ok(TradeFile { header, trades })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "entry_ts,exit_ts,side,qty,max_qty,entry_price,exit_price,pnl_usd,fees_usd,net_usd,mae_points,mfe_points,mae_ticks,mfe_ticks,mae_usd,mfe_usd,exit_reason,entry_ref_price,exit_ref_price,slippage_ticks,slippage_usd";

    #[test]
    fn reads_the_exec_stage_format() {
        let text = format!(
            "{HEAD}\n1710296906260291125,1710296995305012368,short,1,1,5013.25,5012.75,25.00,4.54,20.46,0.00,0.75,0.00,3.00,0.00,37.50,signal,5013.25,5012.50,1.00,12.50\n"
        );
        let f = parse_trades(&text, "t.csv").expect("parses");
        assert_eq!(f.trades.len(), 1);
        let t = &f.trades[0];
        assert!(!t.long);
        assert_eq!((t.entry_px, t.exit_px, t.net_usd, t.mfe_points), (5013.25, 5012.75, 20.46, 0.75));
        assert_eq!(t.exit_reason, "signal");
        assert_eq!(t.cells.len(), f.header.len());
        // The header names the exec stage's columns (one format, one place).
        assert_eq!(HEAD, mia_exec::position::RoundTrip::CSV_HEADER);
    }

    #[test]
    fn bad_lines_name_file_line_and_column() {
        let e = parse_trades("entry_ts,side\n1,long\n", "a.csv").expect_err("missing columns");
        assert!(e.to_string().contains("a.csv: line 1: missing column `exit_ts`"), "{e}");
        let bad = format!("{HEAD}\n1,2,long,1,1,x,1,1,1,1,1,1,1,1,1,1,stop,1,1,1,1\n");
        let e = parse_trades(&bad, "b.csv").expect_err("bad number");
        assert!(e.to_string().contains("b.csv: line 2: column `entry_price`"), "{e}");
        let bad = format!("{HEAD}\n1,2,sideways,1,1,1,1,1,1,1,1,1,1,1,1,1,stop,1,1,1,1\n");
        assert!(parse_trades(&bad, "c.csv").is_err());
        let bad = format!("{HEAD}\n1,2,long\n");
        let e = parse_trades(&bad, "d.csv").expect_err("short line");
        assert!(e.to_string().contains("d.csv: line 2: 3 cells"), "{e}");
        let bad = format!("{HEAD}\n5,2,long,1,1,1,1,1,1,1,1,1,1,1,1,1,stop,1,1,1,1\n");
        assert!(parse_trades(&bad, "e.csv").is_err(), "exit before entry");
        assert!(parse_trades("", "empty.csv").expect("empty is no trades").trades.is_empty());
    }
}
