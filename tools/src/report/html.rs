//! `report.html`: one self-contained page (inline CSS, inline SVG, no script, no font, no
//! external resource of any kind). Tables compare the runs in columns; the plots sit in a grid
//! with a column per run.

use super::charts;
use super::tables::{daily_table, esc, group_table, overview, postmortem_table, returns_table, RunReport};
use std::fmt::Write as _;

const CSS: &str = "body{font-family:sans-serif;margin:20px;color:#222;background:#fff}\
h1{font-size:22px}h2{font-size:18px;margin-top:28px;border-bottom:1px solid #ccc}\
table{border-collapse:collapse;margin:10px 0;font-size:13px}caption{text-align:left;font-weight:bold;padding:4px 0}\
th,td{border:1px solid #ccc;padding:3px 8px;white-space:nowrap}th{background:#f0f0f0}td.num{text-align:right;font-variant-numeric:tabular-nums}\
td.neg{color:#b00}p.note{font-size:12px;color:#555;margin:2px 0 10px}\
.grid{display:grid;gap:12px;align-items:start}.cell{border:1px solid #eee;padding:4px}\
.cell svg{max-width:min(100%, 1000px);height:auto;display:block}.cap{font-size:12px;color:#555}\
ul.findings li{margin:3px 0}.finding{font-weight:bold;color:#8a4b00}.scroll{max-height:480px;overflow:auto}";

/// Settings shown in the page header.
pub struct PageInfo<'a> {
    /// Account equity used for the daily returns, USD.
    pub equity0: f64,
    /// Post-mortem window, minutes.
    pub window_min: f64,
    /// Price charts per run.
    pub price_charts: usize,
    /// The program version.
    pub version: &'a str,
}

fn grid(cols: usize, cells: &[String]) -> String {
    let mut s = format!(
        "<div class=\"grid\" style=\"grid-template-columns:repeat({}, minmax(0, 1fr))\">",
        cols.max(1)
    );
    for c in cells {
        let _ = write!(s, "<div class=\"cell\">{c}</div>");
    }
    s.push_str("</div>");
    s
}

/// The whole page.
pub fn render(reports: &[RunReport<'_>], info: &PageInfo<'_>) -> String {
    let n = reports.len();
    let mut s = String::with_capacity(1 << 20);
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>MIA report</title><style>{CSS}</style></head><body>\n"
    );
    let _ = write!(s, "<h1>MIA report</h1><p>mia {} — ", esc(info.version));
    for (i, r) in reports.iter().enumerate() {
        let _ = write!(
            s,
            "{}<b>{}</b> ({})",
            if i > 0 { ", " } else { "" },
            esc(&r.run.label),
            esc(&r.run.dir.display().to_string())
        );
    }
    let _ = writeln!(
        s,
        ". Account equity for daily returns: {:.0} USD; post-mortem window {} min after each exit.</p>",
        info.equity0, info.window_min
    );
    for r in reports {
        for note in &r.run.notes {
            let _ = write!(s, "<p class=\"note\">{}: {}</p>", esc(&r.run.label), esc(note));
        }
        if let Some(g) = (!r.run.gamma.spx.is_empty()).then_some(&r.run.gamma.spx) {
            let line: Vec<String> = g.iter().take(6).map(|(k, v)| format!("{k} {v:.2}")).collect();
            let _ = write!(
                s,
                "<p class=\"note\">{}: gamma (SPX, summary.txt): {}</p>",
                esc(&r.run.label),
                esc(&line.join(", "))
            );
        } else {
            let _ = write!(s, "<p class=\"note\">{}: gamma levels: not recorded</p>", esc(&r.run.label));
        }
    }

    s.push_str("<h2>Statistics</h2>");
    s.push_str(&overview(reports).to_html());
    s.push_str(&returns_table(reports, info.equity0).to_html());

    s.push_str("<h2>Equity and drawdown</h2>");
    let cells: Vec<String> = reports.iter().enumerate().map(|(i, r)| charts::equity(r, i)).collect();
    s.push_str(&grid(n, &cells));
    let cells: Vec<String> = reports.iter().enumerate().map(|(i, r)| charts::drawdown(r, i)).collect();
    s.push_str(&grid(n, &cells));

    s.push_str("<h2>Per day</h2>");
    let cells: Vec<String> = reports.iter().enumerate().map(|(i, r)| charts::daily(r, i)).collect();
    s.push_str(&grid(n, &cells));
    let cells: Vec<String> =
        reports.iter().map(|r| format!("<div class=\"scroll\">{}</div>", daily_table(r).to_html())).collect();
    s.push_str(&grid(n, &cells));

    s.push_str("<h2>By session phase, pattern, tier, regime</h2>");
    for gi in 0..reports.first().map_or(0, |r| r.groups.len()) {
        if let Some(t) = group_table(reports, gi) {
            s.push_str(&t.to_html());
        }
        if gi < 4 {
            let cells: Vec<String> = reports
                .iter()
                .enumerate()
                .map(|(i, r)| charts::by_group(r, i, gi).unwrap_or_default())
                .collect();
            s.push_str(&grid(n, &cells));
        }
    }

    s.push_str("<h2>Price, VWAP bands, gamma levels and trades</h2>");
    let cells: Vec<String> = reports
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let (sessions, skipped) = charts::price_sessions(r, info.price_charts);
            let mut c = String::new();
            if sessions.is_empty() {
                c.push_str("<p class=\"cap\">no prices recorded (no journal market data)</p>");
            }
            for d in sessions {
                let (svg, cap) = charts::price(r, i, d);
                let _ = write!(c, "{svg}<p class=\"cap\">{}</p>", esc(&cap));
            }
            if skipped > 0 {
                let _ =
                    write!(c, "<p class=\"cap\">{skipped} earlier sessions not drawn (--price-charts)</p>");
            }
            c
        })
        .collect();
    s.push_str(&grid(n, &cells));

    s.push_str("<h2>MAE / MFE</h2>");
    let cells: Vec<String> = reports.iter().enumerate().map(|(i, r)| charts::mae_mfe(r, i)).collect();
    s.push_str(&grid(n, &cells));

    s.push_str("<h2>Post-mortem</h2>");
    let cells: Vec<String> = reports
        .iter()
        .map(|r| {
            let mut c = format!("<p><b>{}</b>: findings</p><ul class=\"findings\">", esc(&r.run.label));
            for f in &r.findings {
                let class = if f.starts_with("FINDING") { " class=\"finding\"" } else { "" };
                let _ = write!(c, "<li{class}>{}</li>", esc(f));
            }
            c.push_str("</ul>");
            let _ = write!(c, "<div class=\"scroll\">{}</div>", postmortem_table(r, 500).to_html());
            c
        })
        .collect();
    s.push_str(&grid(n, &cells));

    s.push_str("<h2>Latency</h2>");
    let cells: Vec<String> = reports
        .iter()
        .enumerate()
        .map(|(i, r)| {
            charts::latency(r.run, i).unwrap_or_else(|| "<p class=\"cap\">latency: not recorded</p>".into())
        })
        .collect();
    s.push_str(&grid(n, &cells));
    s.push_str("\n</body></html>\n");
    s
}
