//! The report's tables: one model ([`Table`]) rendered as aligned text for the terminal and as
//! HTML for `report.html`, built from the analysed runs ([`RunReport`]). Several runs compare
//! side by side: a column (or a group of columns) per run.

use super::analysis::{all_groups, daily_pnl, enrich, Enriched, Group};
use super::postmortem::{findings, PmConfig, PostMortem};
use super::run::RunData;
use super::stats::{daily_returns, ReturnStats, TradeStats};
use mia_model::time::calendar::Date;
use mia_signal::session::chicago_utc_offset_hours;
use std::fmt::Write as _;

/// A run with everything the report computes from it.
pub struct RunReport<'a> {
    /// The run.
    pub run: &'a RunData,
    /// Its trades, enriched, in exit order.
    pub trades: Vec<Enriched<'a>>,
    /// Statistics of all its trades.
    pub overall: TradeStats,
    /// Net P&L per session.
    pub daily: Vec<(u32, f64)>,
    /// Daily returns (net P&L over the equity at the session's start).
    pub returns: Vec<f64>,
    /// Their statistics.
    pub rstats: ReturnStats,
    /// Largest peak-to-trough fall of the cumulative net P&L, trade by trade (USD, ≤ 0).
    pub equity_drawdown_usd: f64,
    /// Per-group statistics.
    pub groups: Vec<(&'static str, Vec<Group>)>,
    /// Post-mortem findings over the last N trades.
    pub findings: Vec<String>,
}

impl<'a> RunReport<'a> {
    /// Analyses `run` with account equity `equity0` (USD) and the post-mortem settings.
    pub fn new(run: &'a RunData, equity0: f64, pm: &PmConfig) -> Self {
        let trades = enrich(run, pm);
        let overall = TradeStats::of(trades.iter().map(Enriched::pnl));
        let daily = daily_pnl(run, &trades);
        let pnl: Vec<f64> = daily.iter().map(|d| d.1).collect();
        let returns = daily_returns(&pnl, equity0);
        let rstats = ReturnStats::of(&returns);
        let (mut cum, mut peak, mut dd) = (0.0f64, 0.0f64, 0.0f64);
        for t in &trades {
            cum += t.trade.net_usd;
            peak = peak.max(cum);
            dd = dd.min(cum - peak);
        }
        let groups = all_groups(&trades);
        let pms: Vec<PostMortem> = trades.iter().map(|t| t.pm).collect();
        let findings = findings(&pms, pm);
        Self { run, trades, overall, daily, returns, rstats, equity_drawdown_usd: dd, groups, findings }
    }
}

/// A table: a title, column headers and rows of cells.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Table {
    /// Title.
    pub title: String,
    /// Column headers.
    pub header: Vec<String>,
    /// Rows.
    pub rows: Vec<Vec<String>>,
    /// A line under the table (conventions, what is missing).
    pub note: String,
}

impl Table {
    /// Aligned text: first column left-aligned, the others right-aligned.
    pub fn to_text(&self) -> String {
        let ncol = self.header.len().max(self.rows.iter().map(Vec::len).max().unwrap_or(0));
        let mut w = vec![0usize; ncol];
        for r in std::iter::once(&self.header).chain(&self.rows) {
            for (i, c) in r.iter().enumerate() {
                w[i] = w[i].max(c.chars().count());
            }
        }
        let mut s = format!("## {}\n", self.title);
        for r in std::iter::once(&self.header).chain(&self.rows) {
            let mut line = String::new();
            for (i, c) in r.iter().enumerate() {
                let pad = w[i].saturating_sub(c.chars().count());
                if i == 0 {
                    line.push_str(c);
                    line.push_str(&" ".repeat(pad));
                } else {
                    line.push_str("  ");
                    line.push_str(&" ".repeat(pad));
                    line.push_str(c);
                }
            }
            s.push_str(line.trim_end());
            s.push('\n');
        }
        if !self.note.is_empty() {
            let _ = writeln!(s, "({})", self.note);
        }
        s
    }

    /// An HTML `<table>` (escaped) with its title as a caption.
    pub fn to_html(&self) -> String {
        let mut s = String::from("<table>");
        let _ = write!(s, "<caption>{}</caption><thead><tr>", esc(&self.title));
        for h in &self.header {
            let _ = write!(s, "<th>{}</th>", esc(h));
        }
        s.push_str("</tr></thead><tbody>");
        for r in &self.rows {
            s.push_str("<tr>");
            for (i, c) in r.iter().enumerate() {
                let class = if i == 0 {
                    ""
                } else if c.starts_with('-') && c.len() > 1 {
                    " class=\"num neg\""
                } else {
                    " class=\"num\""
                };
                let _ = write!(s, "<td{class}>{}</td>", esc(c));
            }
            s.push_str("</tr>");
        }
        s.push_str("</tbody></table>");
        if !self.note.is_empty() {
            let _ = write!(s, "<p class=\"note\">{}</p>", esc(&self.note));
        }
        s
    }
}

/// HTML-escapes text.
pub fn esc(s: &str) -> String {
    mia_perf::svg::escape_xml(s)
}

/// A number with `d` decimals; `n/a` for NaN, `inf` / `-inf`.
pub fn num(x: f64, d: usize) -> String {
    if x.is_nan() {
        "n/a".into()
    } else if x == f64::INFINITY {
        "inf".into()
    } else if x == f64::NEG_INFINITY {
        "-inf".into()
    } else {
        format!("{x:.d$}")
    }
}

/// A fraction as a percentage with one decimal.
pub fn pct(x: f64) -> String {
    if x.is_finite() {
        format!("{:.1}%", x * 100.0)
    } else {
        num(x, 1)
    }
}

/// yyyymmdd as `yyyy-mm-dd`.
pub fn date(d: u32) -> String {
    format!("{:04}-{:02}-{:02}", d / 10_000, d / 100 % 100, d % 100)
}

/// Chicago local time of `ts` as `yyyy-mm-dd hh:mm:ss CT`.
pub fn ct_time(ts: u64) -> String {
    let secs = (ts / 1_000_000_000) as i64 + i64::from(chicago_utc_offset_hours(ts)) * 3600;
    let day = Date::from_days_since_epoch(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!("{day} {:02}:{:02}:{:02} CT", s / 3600, s / 60 % 60, s % 60)
}

/// Rows of trade statistics: (label, value of a run).
fn trade_rows(s: &TradeStats) -> Vec<(&'static str, String)> {
    vec![
        ("trades", s.trades.to_string()),
        ("wins / losses / scratches", format!("{} / {} / {}", s.wins, s.losses, s.scratches)),
        ("win rate", pct(s.win_rate)),
        ("profit factor", num(s.profit_factor, 2)),
        ("expectancy (USD/trade)", num(s.expectancy, 2)),
        ("average win (USD)", num(s.avg_win, 2)),
        ("average loss (USD)", num(s.avg_loss, 2)),
        ("payoff ratio", num(s.payoff_ratio, 2)),
        ("largest win (USD)", num(s.largest_win, 2)),
        ("largest loss (USD)", num(s.largest_loss, 2)),
        ("max consecutive wins", s.max_consecutive_wins.to_string()),
        ("max consecutive losses", s.max_consecutive_losses.to_string()),
        ("gross P&L (USD)", num(s.gross_pnl, 2)),
        ("fees (USD)", num(s.fees, 2)),
        ("net P&L (USD)", num(s.net_pnl, 2)),
    ]
}

/// A statistics table with a row per statistic and a column per run.
fn by_run(
    title: &str,
    reports: &[RunReport<'_>],
    rows: impl Fn(&RunReport<'_>) -> Vec<(&'static str, String)>,
) -> Table {
    let mut header = vec!["statistic".to_string()];
    header.extend(reports.iter().map(|r| r.run.label.clone()));
    let per: Vec<Vec<(&'static str, String)>> = reports.iter().map(&rows).collect();
    let n = per.first().map_or(0, Vec::len);
    let rows = (0..n)
        .map(|i| {
            let mut row = vec![per[0][i].0.to_string()];
            row.extend(per.iter().map(|p| p.get(i).map(|c| c.1.clone()).unwrap_or_default()));
            row
        })
        .collect();
    Table { title: title.into(), header, rows, note: String::new() }
}

/// The overall trade statistics.
pub fn overview(reports: &[RunReport<'_>]) -> Table {
    let mut t = by_run("Trades (net of fees)", reports, |r| {
        let mut rows = trade_rows(&r.overall);
        rows.push(("max drawdown, trade by trade (USD)", num(r.equity_drawdown_usd, 2)));
        rows
    });
    t.note = "win rate = wins / (wins + losses); a trade with net 0 is a scratch".into();
    t
}

/// The daily-return statistics.
pub fn returns_table(reports: &[RunReport<'_>], equity0: f64) -> Table {
    let mut t = by_run("Daily returns (empyrical definitions, 252 days a year, risk-free 0)", reports, |r| {
        let s = &r.rstats;
        vec![
            ("sessions", s.days.to_string()),
            ("cumulative return", pct(s.cum_return)),
            ("annual return", pct(s.annual_return)),
            ("annual volatility", pct(s.annual_volatility)),
            ("Sharpe ratio", num(s.sharpe, 3)),
            ("Sortino ratio", num(s.sortino, 3)),
            ("downside risk (annual)", pct(s.downside_risk)),
            ("max drawdown", pct(s.max_drawdown)),
            ("Calmar ratio", num(s.calmar, 3)),
        ]
    });
    t.note = format!(
        "daily return = session net P&L / (equity {equity0:.0} USD + net P&L of the earlier sessions); every session of the run counts, 0 without trades"
    );
    t
}

/// The per-day table of one run.
pub fn daily_table(r: &RunReport<'_>) -> Table {
    let header = ["session", "trades", "win rate", "net (USD)", "fees (USD)", "profit factor", "return"];
    let rows = r
        .daily
        .iter()
        .zip(&r.returns)
        .map(|(&(d, _), &ret)| {
            let s = TradeStats::of(r.trades.iter().filter(|t| t.session == d).map(Enriched::pnl));
            vec![
                date(d),
                if s.trades == 0 { "no trades".into() } else { s.trades.to_string() },
                pct(s.win_rate),
                num(s.net_pnl, 2),
                num(s.fees, 2),
                num(s.profit_factor, 2),
                pct(ret),
            ]
        })
        .collect();
    Table {
        title: format!("Per day: {}", r.run.label),
        header: header.iter().map(|s| (*s).to_string()).collect(),
        rows,
        note: if r.daily.is_empty() { "no session recorded".into() } else { String::new() },
    }
}

/// A grouping (phase, pattern, …) of every run: per run, trades, win rate, net, profit factor
/// and expectancy; a group without trades says `no trades`.
pub fn group_table(reports: &[RunReport<'_>], index: usize) -> Option<Table> {
    let title = reports.first()?.groups.get(index)?.0;
    let mut names: Vec<String> = Vec::new();
    for r in reports {
        for g in &r.groups.get(index)?.1 {
            if !names.contains(&g.name) {
                names.push(g.name.clone());
            }
        }
    }
    let mut header = vec![title.to_string()];
    for r in reports {
        let p = if reports.len() > 1 { format!("{}: ", r.run.label) } else { String::new() };
        for c in ["trades", "win rate", "net (USD)", "PF", "expectancy"] {
            header.push(format!("{p}{c}"));
        }
    }
    let rows = names
        .iter()
        .map(|n| {
            let mut row = vec![n.clone()];
            for r in reports {
                let g = r.groups.get(index).and_then(|g| g.1.iter().find(|g| &g.name == n));
                match g.map(|g| &g.stats).filter(|s| s.trades > 0) {
                    None => row.extend(["no trades".into(), "-".into(), "-".into(), "-".into(), "-".into()]),
                    Some(s) => row.extend([
                        s.trades.to_string(),
                        pct(s.win_rate),
                        num(s.net_pnl, 2),
                        num(s.profit_factor, 2),
                        num(s.expectancy, 2),
                    ]),
                }
            }
            row
        })
        .collect();
    let note = match title {
        "tier" => "tier: the signal engine's (elite strategy); `none` = a strategy that sets no tier".into(),
        "regime (F18 at entry)" => format!(
            "regime: efficiency ratio F18 of the snapshot at entry, |ER| ≥ {} = trend; the engine's 9-value regime is not journaled",
            super::analysis::TREND_ER
        ),
        "pattern" => "pattern: SignalSource.pattern of the opening signal (0 = none)".into(),
        _ => String::new(),
    };
    Some(Table { title: format!("By {title}"), header, rows, note })
}

/// The per-trade post-mortem table of one run (the last `limit` trades).
pub fn postmortem_table(r: &RunReport<'_>, limit: usize) -> Table {
    let header = [
        "#",
        "entry",
        "side",
        "phase",
        "pattern",
        "tier",
        "exit",
        "net (USD)",
        "exit eff.",
        "left (USD)",
        "stop",
        "target",
    ];
    let skip = r.trades.len().saturating_sub(limit);
    let rows = r.trades[skip..]
        .iter()
        .map(|e| {
            let t = e.trade;
            vec![
                e.no.to_string(),
                ct_time(t.entry_ts),
                if t.long { "long".into() } else { "short".into() },
                e.phase.key().into(),
                e.pattern(),
                e.tier(),
                t.exit_reason.clone(),
                num(t.net_usd, 2),
                e.pm.exit_efficiency.map_or_else(|| "-".into(), pct),
                e.pm.left_usd.map_or_else(|| "no data".into(), |x| num(x, 2)),
                e.pm.stop.name().to_string(),
                e.pm.target.name().to_string(),
            ]
        })
        .collect();
    Table {
        title: format!(
            "Post-mortem: {}{}",
            r.run.label,
            if skip > 0 { format!(" (last {limit} trades)") } else { String::new() }
        ),
        header: header.iter().map(|s| (*s).to_string()).collect(),
        rows,
        note: String::new(),
    }
}

/// Every table of the text output.
pub fn render_text(reports: &[RunReport<'_>], equity0: f64) -> String {
    let mut s = String::new();
    for r in reports {
        let _ = writeln!(s, "run: {}", super::run::describe(r.run));
        for n in &r.run.notes {
            let _ = writeln!(s, "  note: {n}");
        }
    }
    s.push('\n');
    s.push_str(&overview(reports).to_text());
    s.push('\n');
    s.push_str(&returns_table(reports, equity0).to_text());
    for i in 0..reports.first().map_or(0, |r| r.groups.len()) {
        if let Some(t) = group_table(reports, i) {
            s.push('\n');
            s.push_str(&t.to_text());
        }
    }
    for r in reports {
        s.push('\n');
        s.push_str(&daily_table(r).to_text());
        let _ = writeln!(s, "\n## Post-mortem findings: {}", r.run.label);
        for f in &r.findings {
            let _ = writeln!(s, "- {f}");
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_html_tables() {
        let t = Table {
            title: "T & t".into(),
            header: vec!["a".into(), "bb".into()],
            rows: vec![vec!["x".into(), "-1.00".into()], vec!["long name".into(), "2".into()]],
            note: "n".into(),
        };
        assert_eq!(t.to_text(), "## T & t\na             bb\nx          -1.00\nlong name      2\n(n)\n");
        let h = t.to_html();
        assert!(h.contains("<caption>T &amp; t</caption>"));
        assert!(h.contains("<td class=\"num neg\">-1.00</td>"));
    }

    #[test]
    fn formats() {
        assert_eq!(
            (num(f64::NAN, 2), num(f64::INFINITY, 2), num(1.005, 1)),
            ("n/a".into(), "inf".into(), "1.0".into())
        );
        assert_eq!(pct(0.1234), "12.3%");
        assert_eq!(date(20240313), "2024-03-13");
        // 2024-03-13 13:31:12 UTC = 08:31:12 CDT.
        assert_eq!(ct_time(1_710_336_672_000_000_000), "2024-03-13 08:31:12 CT");
    }
}
