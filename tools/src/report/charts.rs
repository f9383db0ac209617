//! The report's plots, as inline SVG from `mia_perf::svg::Chart` (`docs/report.md` § Plots):
//! equity curve, drawdown, daily P&L, P&L by group, MAE/MFE scatter, latency percentiles, and
//! the price chart of a session with VWAP bands, gamma levels and trade markers.

use super::run::{MinutePoint, RunData};
use super::tables::{date, RunReport};
use mia_perf::svg::Chart;

/// Most points of a price line (the minutes of a session are downsampled to this).
pub const MAX_PRICE_POINTS: usize = 600;

const GREEN: &str = "#2ca02c";
const RED: &str = "#d62728";
const DARK: &str = "#333333";

/// A chart id unique in the page.
fn uid(run: usize, name: &str) -> String {
    format!("r{run}-{name}")
}

/// A chart's SVG, sized for the page.
fn small(c: Chart) -> String {
    c.size(900, 420).render()
}

/// Cumulative net P&L by trade (from 0).
pub fn equity(r: &RunReport<'_>, run: usize) -> String {
    let mut cum = 0.0;
    let mut pts = vec![(0.0, 0.0)];
    for (i, t) in r.trades.iter().enumerate() {
        cum += t.trade.net_usd;
        pts.push(((i + 1) as f64, cum));
    }
    small(
        Chart::new(&format!("Equity curve: {}", r.run.label))
            .id(&uid(run, "equity"))
            .x_label("trade")
            .y_label("cumulative net P&L (USD)")
            .line("net P&L", &pts)
            .hline(0.0, ""),
    )
}

/// Drawdown of the cumulative net P&L by trade (USD, ≤ 0).
pub fn drawdown(r: &RunReport<'_>, run: usize) -> String {
    let (mut cum, mut peak) = (0.0f64, 0.0f64);
    let mut pts = vec![(0.0, 0.0)];
    for (i, t) in r.trades.iter().enumerate() {
        cum += t.trade.net_usd;
        peak = peak.max(cum);
        pts.push(((i + 1) as f64, cum - peak));
    }
    small(
        Chart::new(&format!("Drawdown: {}", r.run.label))
            .id(&uid(run, "drawdown"))
            .x_label("trade")
            .y_label("drawdown from the peak (USD)")
            .styled_line("drawdown", &pts, RED, false),
    )
}

/// Tick labels for categories 0..n, thinned to about 12.
fn category_ticks(names: &[String]) -> Vec<(f64, String)> {
    let step = names.len().div_ceil(12).max(1);
    names.iter().enumerate().filter(|(i, _)| i % step == 0).map(|(i, n)| (i as f64, n.clone())).collect()
}

fn bars(title: &str, id: &str, x_label: &str, names: &[String], values: &[f64]) -> String {
    let pts: Vec<(f64, f64)> = values.iter().enumerate().map(|(i, v)| (i as f64, *v)).collect();
    let ticks = category_ticks(names);
    let refs: Vec<(f64, &str)> = ticks.iter().map(|(x, s)| (*x, s.as_str())).collect();
    small(
        Chart::new(title)
            .id(id)
            .x_label(x_label)
            .y_label("net P&L (USD)")
            .bars("net P&L", &pts)
            .x_ticks(&refs),
    )
}

/// Net P&L per session.
pub fn daily(r: &RunReport<'_>, run: usize) -> String {
    let names: Vec<String> = r.daily.iter().map(|d| date(d.0)[5..].to_string()).collect();
    let values: Vec<f64> = r.daily.iter().map(|d| d.1).collect();
    bars(&format!("Daily net P&L: {}", r.run.label), &uid(run, "daily"), "session (mm-dd)", &names, &values)
}

/// Net P&L by the groups of grouping `index` (only groups with trades).
pub fn by_group(r: &RunReport<'_>, run: usize, index: usize) -> Option<String> {
    let (title, groups) = r.groups.get(index)?;
    let with: Vec<_> = groups.iter().filter(|g| g.stats.trades > 0).collect();
    let names: Vec<String> = with.iter().map(|g| g.name.clone()).collect();
    let values: Vec<f64> = with.iter().map(|g| g.stats.net_pnl).collect();
    Some(bars(
        &format!("Net P&L by {title}: {}", r.run.label),
        &uid(run, &format!("group{index}")),
        title,
        &names,
        &values,
    ))
}

/// MAE (x) against MFE (y), points per contract; winners green, losers red.
pub fn mae_mfe(r: &RunReport<'_>, run: usize) -> String {
    let (mut win, mut loss) = (Vec::new(), Vec::new());
    for t in &r.trades {
        let p = (t.trade.mae_points, t.trade.mfe_points);
        if t.trade.net_usd > 0.0 {
            win.push(p);
        } else {
            loss.push(p);
        }
    }
    small(
        Chart::new(&format!("MAE / MFE: {}", r.run.label))
            .id(&uid(run, "maemfe"))
            .x_label("MAE (points)")
            .y_label("MFE (points)")
            .points("winners", &win, GREEN)
            .points("losers and scratches", &loss, RED),
    )
}

/// The latency percentile plot of the run, or `None` when it recorded none.
pub fn latency(run_data: &RunData, run: usize) -> Option<String> {
    let rep = run_data.latency.as_ref()?;
    let svg = rep.plot_svg(&format!("Latency percentiles: {}", run_data.label));
    // `LatencyReport::plot_svg` uses the default clip id; give it one unique in the page.
    let id = uid(run, "latency");
    Some(
        svg.replace("id=\"plot-area\"", &format!("id=\"{id}\""))
            .replace("url(#plot-area)", &format!("url(#{id})")),
    )
}

/// Sessions to draw price charts for: the last `max` sessions with trades (all sessions with
/// prices when none had trades, the last `max` of them).
pub fn price_sessions(r: &RunReport<'_>, max: usize) -> (Vec<u32>, usize) {
    let with_prices: Vec<u32> =
        r.run.sessions.iter().copied().filter(|d| r.run.minutes.iter().any(|m| m.session == *d)).collect();
    let traded: Vec<u32> =
        with_prices.iter().copied().filter(|d| r.trades.iter().any(|t| t.session == *d)).collect();
    let pool = if traded.is_empty() { with_prices } else { traded };
    let skip = pool.len().saturating_sub(max);
    (pool[skip..].to_vec(), skip)
}

/// The price chart of one session: last price, session VWAP ±1σ/±2σ, the gamma levels (ES
/// prices) that fall inside the price range, and the trade entries and exits. Returns the SVG
/// and a caption listing what is not drawn.
pub fn price(r: &RunReport<'_>, run: usize, session: u32) -> (String, String) {
    let minutes: Vec<&MinutePoint> = r.run.minutes.iter().filter(|m| m.session == session).collect();
    let Some(first) = minutes.first() else {
        return (String::new(), "no prices recorded for this session".into());
    };
    let t0 = first.ts;
    let hours = |ts: u64| ts.saturating_sub(t0) as f64 / 3.6e12;
    let step = minutes.len().div_ceil(MAX_PRICE_POINTS).max(1);
    let sampled: Vec<&MinutePoint> = minutes.iter().copied().step_by(step).collect();
    let line = |f: &dyn Fn(&MinutePoint) -> f64| -> Vec<(f64, f64)> {
        sampled.iter().map(|m| (hours(m.ts), f(m))).collect()
    };
    let (lo, hi) = minutes.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), m| {
        (lo.min(m.last).min(m.vwap - 2.0 * m.sigma), hi.max(m.last).max(m.vwap + 2.0 * m.sigma))
    });
    let mut c = Chart::new(&format!("{} session {}", r.run.label, date(session)))
        .id(&uid(run, &format!("price{session}")))
        .x_label("hours since the session's first print")
        .y_label("ES (points)")
        .line("last", &line(&|m| m.last))
        .styled_line("VWAP", &line(&|m| m.vwap), "#ff7f0e", false)
        .styled_line("VWAP ±1σ", &line(&|m| m.vwap + m.sigma), GREEN, true)
        .styled_line("", &line(&|m| m.vwap - m.sigma), GREEN, true)
        .styled_line("VWAP ±2σ", &line(&|m| m.vwap + 2.0 * m.sigma), "#7f7f7f", true)
        .styled_line("", &line(&|m| m.vwap - 2.0 * m.sigma), "#7f7f7f", true);
    let mut caption = Vec::new();
    match r.run.gamma.es_levels(session) {
        None => caption.push("gamma levels: not recorded for this session".to_string()),
        Some(levels) => {
            for (name, l) in ["zero gamma", "call wall", "put wall"].iter().zip(levels) {
                match l {
                    Some(p) if p >= lo - 2.0 && p <= hi + 2.0 => c = c.hline(p, &format!("{name} {p:.2}")),
                    Some(p) => caption.push(format!("{name} {p:.2} (outside the chart)")),
                    None => caption.push(format!("{name}: not recorded")),
                }
            }
        }
    }
    let (mut le, mut se, mut ex) = (Vec::new(), Vec::new(), Vec::new());
    let end = minutes.last().map_or(t0, |m| m.ts);
    for t in r.trades.iter().map(|e| e.trade) {
        if (t0..=end).contains(&t.entry_ts) {
            if t.long {
                le.push((hours(t.entry_ts), t.entry_px));
            } else {
                se.push((hours(t.entry_ts), t.entry_px));
            }
        }
        if (t0..=end).contains(&t.exit_ts) {
            ex.push((hours(t.exit_ts), t.exit_px));
        }
    }
    c = c.points("long entry", &le, GREEN).points("short entry", &se, RED).points("exit", &ex, DARK);
    if step > 1 {
        caption.push(format!("{} minutes drawn every {step}", minutes.len()));
    }
    (c.size(900, 460).render(), caption.join("; "))
}
