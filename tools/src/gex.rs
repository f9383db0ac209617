//! `mia gex FILE.csv [--spot X] [--basis B] [--json] [--plot OUT.svg | --no-plot]`: gamma-exposure levels of
//! a Cboe option-chain download.
//!
//! Prints a table (spot, total GEX in $bn per 1 % move, zero gamma, call wall, put wall, max
//! pain, put/call ratios, 0DTE share, gamma-cycle features; each price level also in ES terms
//! when `--basis` = ES − SPX is given), or one JSON object with `--json`; `--plot` writes an SVG
//! with GEX by strike and total GEX against spot with the flip marked. A bad file gives an error
//! naming the file and line.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use mia_feeds::cboe::{self, ParsedChain};
use mia_model::price;
use mia_model::time::calendar::Date;
use mia_options::calendar;
use mia_options::es_map::spx_to_es;
use mia_options::gex::{compute_levels, GexConfig, GexReport};
use mia_perf::svg::Chart;
use serde_json::{json, Value};

/// Arguments of `mia gex`.
#[derive(clap::Args, Debug)]
pub struct GexArgs {
    /// Cboe delayed-quotes option-chain CSV (e.g. spx_quotedata.csv).
    pub file: PathBuf,
    /// Index spot to compute the levels at (default: the file's "Last"). With a spot other than
    /// the file's, exposure uses model (BSM) gamma instead of the file's Gamma column.
    #[arg(long)]
    pub spot: Option<f64>,
    /// ES − SPX basis in index points: also show every level as an ES price (rounded to 0.25).
    #[arg(long, allow_negative_numbers = true)]
    pub basis: Option<f64>,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Where to write the SVG plot (GEX by strike; total GEX vs spot with the zero-gamma flip);
    /// default: `<file stem>.gex.svg` in the current directory.
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// Do not write the plot.
    #[arg(long, conflicts_with = "plot")]
    pub no_plot: bool,
}

impl GexArgs {
    /// The plot path, `None` with `--no-plot`.
    pub fn plot_path(&self) -> Option<PathBuf> {
        if self.no_plot {
            return None;
        }
        Some(self.plot.clone().unwrap_or_else(|| {
            let stem = self.file.file_stem().and_then(|s| s.to_str()).unwrap_or("chain");
            PathBuf::from(format!("{stem}.gex.svg"))
        }))
    }
}

/// Runs `mia gex`.
pub fn run(args: &GexArgs) -> Result<()> {
    let (parsed, report) = compute(args)?;
    if args.json {
        println!("{}", render_json(args, &parsed, &report));
    } else {
        print!("{}", render_table(args, &parsed, &report));
    }
    if let Some(out) = args.plot_path() {
        write_plot(&out, &report)?;
        if !args.json {
            println!("plot: {}", out.display());
        }
    }
    Ok(())
}

/// Parses the file and computes the levels.
pub fn compute(args: &GexArgs) -> Result<(ParsedChain, GexReport)> {
    if let Some(s) = args.spot {
        if !(s.is_finite() && s > 0.0) {
            bail!("--spot must be a positive number, got {s}");
        }
    }
    if let Some(b) = args.basis {
        if !b.is_finite() || b.abs() > 1e6 {
            bail!("--basis must be a finite number of index points, got {b}");
        }
    }
    let parsed = cboe::parse_file(&args.file)?;
    let report = compute_levels(&parsed.chain, args.spot, &GexConfig::default());
    Ok((parsed, report))
}

/// A level as an ES price (points) given the basis in points.
fn es_level(level: Option<f64>, basis: f64) -> Option<f64> {
    let l = price::from_f64(level?)?;
    let b = price::from_f64(basis)?;
    Some(price::to_f64(spx_to_es(l, b)))
}

fn fmt_level(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.2}")).unwrap_or_else(|| "n/a".into())
}

fn fmt_ratio(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.3}")).unwrap_or_else(|| "n/a".into())
}

/// UTC time of a timestamp as `YYYY-MM-DDTHH:MM:SSZ`.
fn iso_utc(ts_ns: u64) -> String {
    let d = Date::from_unix_ns(ts_ns);
    let s = (ts_ns / 1_000_000_000) % 86_400;
    format!("{d}T{:02}:{:02}:{:02}Z", s / 3600, (s / 60) % 60, s % 60)
}

/// The human-readable table.
pub fn render_table(args: &GexArgs, parsed: &ParsedChain, r: &GexReport) -> String {
    let mut s = String::new();
    let d = r.valuation_date;
    let _ = writeln!(s, "file            {}", args.file.display());
    let _ = writeln!(
        s,
        "chain           {} rows ({} skipped), {} expirations, quote time {} (NY date {d})",
        parsed.chain.rows.len(),
        parsed.skipped.len(),
        parsed.chain.expiries().len(),
        iso_utc(r.valuation_ts_ns)
    );
    for sk in parsed.skipped.iter().take(5) {
        let _ = writeln!(s, "  skipped line {}: {}", sk.line, sk.reason);
    }
    let basis = args.basis;
    let header_es = if basis.is_some() { "         ES" } else { "" };
    let _ = writeln!(s, "\n{:<28}{:>12}{header_es}", "level", "SPX");
    let mut level = |name: &str, v: Option<f64>| {
        let es = basis.map(|b| format!("{:>11}", fmt_level(es_level(v, b)))).unwrap_or_default();
        let _ = writeln!(s, "{name:<28}{:>12}{es}", fmt_level(v));
    };
    level("spot", Some(r.spot));
    level("zero gamma (flip)", r.zero_gamma);
    level("call wall", r.call_wall);
    level("put wall", r.put_wall);
    level("max pain", r.max_pain);
    if let Some(b) = basis {
        let _ = writeln!(s, "{:<28}{:>12}", "basis (ES - SPX)", format!("{b:.2}"));
    }
    let _ = writeln!(s, "{:<28}{:>12.3}", "total GEX ($bn per 1%)", r.total_gex / 1e9);
    let _ = writeln!(s, "{:<28}{:>12.3}", "  calls ($bn per 1%)", r.call_gex / 1e9);
    let _ = writeln!(s, "{:<28}{:>12.3}", "  puts ($bn per 1%)", r.put_gex / 1e9);
    let _ = writeln!(s, "{:<28}{:>12}", "put/call OI ratio", fmt_ratio(r.put_call_oi_ratio));
    let _ = writeln!(s, "{:<28}{:>12}", "put/call volume ratio", fmt_ratio(r.put_call_volume_ratio));
    let next = r.next_expiry.map(|e| e.to_string()).unwrap_or_else(|| "n/a".into());
    let _ = writeln!(s, "{:<28}{:>12.3}  (next expiry {next})", "0DTE / next-expiry share", r.zero_dte_share);
    let _ = writeln!(s, "{:<28}{:>12.3}", "vanna exp. ($bn per vol pt)", r.vanna_exposure / 1e9);
    let _ = writeln!(s, "{:<28}{:>12.3}", "charm exp. ($bn per day)", r.charm_exposure / 1e9);
    let _ = writeln!(s, "{:<28}{:>12}", "days to monthly OPEX", calendar::days_to_monthly_opex(d));
    let _ = writeln!(s, "{:<28}{:>12}", "OPEX week", calendar::is_opex_week(d));
    let _ = writeln!(s, "{:<28}{:>12}", "quad witching day", calendar::is_quad_witching(d));
    s
}

/// The JSON object printed by `--json`.
pub fn render_json(args: &GexArgs, parsed: &ParsedChain, r: &GexReport) -> Value {
    let d = r.valuation_date;
    let mut v = json!({
        "file": args.file.display().to_string(),
        "valuation_utc": iso_utc(r.valuation_ts_ns),
        "valuation_ts_ns": r.valuation_ts_ns,
        "rows": parsed.chain.rows.len(),
        "skipped_rows": parsed.skipped.iter().map(|s| json!({"line": s.line, "reason": s.reason})).collect::<Vec<_>>(),
        "spot": r.spot,
        "total_gex_usd_per_pct": r.total_gex,
        "total_gex_bn_per_pct": r.total_gex / 1e9,
        "call_gex_usd_per_pct": r.call_gex,
        "put_gex_usd_per_pct": r.put_gex,
        "zero_gamma": r.zero_gamma,
        "call_wall": r.call_wall,
        "put_wall": r.put_wall,
        "max_pain": r.max_pain,
        "put_call_oi_ratio": r.put_call_oi_ratio,
        "put_call_volume_ratio": r.put_call_volume_ratio,
        "zero_dte_share": r.zero_dte_share,
        "next_expiry": r.next_expiry.map(|e| e.to_string()),
        "vanna_exposure_usd_per_vol_pt": r.vanna_exposure,
        "charm_exposure_usd_per_day": r.charm_exposure,
        "days_to_opex": calendar::days_to_monthly_opex(d),
        "opex_week": calendar::is_opex_week(d),
        "quad_witching": calendar::is_quad_witching(d),
    });
    if let (Some(b), Some(obj)) = (args.basis, v.as_object_mut()) {
        obj.insert(
            "es".into(),
            json!({
                "basis": b,
                "spot": es_level(Some(r.spot), b),
                "zero_gamma": es_level(r.zero_gamma, b),
                "call_wall": es_level(r.call_wall, b),
                "put_wall": es_level(r.put_wall, b),
                "max_pain": es_level(r.max_pain, b),
            }),
        );
    }
    v
}

/// The SVG plot: GEX by strike (bars, strikes within ±12 % of spot) above total GEX against
/// spot with the zero-gamma flip marked.
pub fn render_svg(r: &GexReport) -> String {
    let near: Vec<(f64, f64)> = r
        .by_strike
        .iter()
        .filter(|e| (e.strike - r.spot).abs() <= 0.12 * r.spot && e.net_gex() != 0.0)
        .map(|e| (e.strike, e.net_gex() / 1e9))
        .collect();
    let mut bars = Chart::new("Net GEX by strike ($bn per 1% move)")
        .x_label("strike")
        .y_label("$bn per 1%")
        .bars("net GEX", &near)
        .vline(r.spot, "spot");
    for (v, label) in [(r.call_wall, "call wall"), (r.put_wall, "put wall")] {
        if let Some(x) = v {
            bars = bars.vline(x, label);
        }
    }
    let profile: Vec<(f64, f64)> = r.profile.iter().map(|&(s, g)| (s, g / 1e9)).collect();
    let mut curve = Chart::new("Total GEX vs spot (model gamma)")
        .x_label("SPX spot")
        .y_label("$bn per 1%")
        .line("total GEX", &profile)
        .hline(0.0, "0")
        .vline(r.spot, "spot");
    if let Some(z) = r.zero_gamma {
        curve = curve.vline(z, &format!("zero gamma {z:.0}"));
    }
    let top = bars.size(1000, 480).render();
    let bottom = curve.size(1000, 480).render().replacen("<svg ", "<svg y=\"480\" ", 1);
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"1000\" height=\"960\" viewBox=\"0 0 1000 960\">\n\
         {top}{bottom}</svg>\n"
    )
}

fn write_plot(path: &Path, r: &GexReport) -> Result<()> {
    std::fs::write(path, render_svg(r)).with_context(|| format!("{}: cannot write the plot", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn real_file() -> Option<PathBuf> {
        let p = PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/data/cboe/spx_quotedata_2022-02-05.csv"
        ));
        p.exists().then_some(p)
    }

    fn args(file: PathBuf) -> GexArgs {
        GexArgs { file, spot: None, basis: None, json: false, plot: None, no_plot: true }
    }

    #[test]
    fn synthetic_file_table_json_and_plot() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let csv = dir.path().join("chain.csv");
        let ts = Date { year: 2024, month: 3, day: 5 }.at_eastern_ns(11, 0).unwrap_or(0);
        let chain = mia_feeds::synth_chain::generate_chain(3, 5100.0, ts);
        mia_feeds::synth_chain::write_cboe_csv(&chain, 5100.0, &csv).unwrap_or_else(|e| panic!("{e}"));
        let plot = dir.path().join("gex.svg");
        let a = GexArgs { basis: Some(12.3), plot: Some(plot.clone()), no_plot: false, ..args(csv) };
        run(&a).unwrap_or_else(|e| panic!("{e}"));
        let svg = std::fs::read_to_string(&plot).unwrap_or_default();
        assert!(svg.starts_with("<svg") && svg.contains("zero gamma") && svg.contains("call wall"));
        let (parsed, report) = compute(&a).unwrap_or_else(|e| panic!("{e}"));
        let v = render_json(&a, &parsed, &report);
        for key in [
            "spot",
            "total_gex_usd_per_pct",
            "zero_gamma",
            "call_wall",
            "put_wall",
            "max_pain",
            "put_call_oi_ratio",
        ] {
            assert!(v.get(key).is_some(), "{key}");
        }
        assert_eq!(v["spot"].as_f64(), Some(5100.0));
        // ES levels are the SPX levels + basis on the 0.25 grid.
        let cw = report.call_wall.unwrap_or(0.0);
        let es_cw = v["es"]["call_wall"].as_f64().unwrap_or(0.0);
        assert!((es_cw - (cw + 12.3)).abs() <= 0.125 + 1e-9 && (es_cw * 4.0).fract() == 0.0, "{es_cw}");
        let table = render_table(&a, &parsed, &report);
        assert!(table.contains("zero gamma") && table.contains("ES") && table.contains("max pain"));
    }

    #[test]
    fn real_file_json() {
        let Some(file) = real_file() else {
            eprintln!("note: real Cboe file absent; skipped");
            return;
        };
        let a = GexArgs { json: true, basis: Some(-2.5), ..args(file) };
        let (parsed, report) = compute(&a).unwrap_or_else(|e| panic!("{e}"));
        let v = render_json(&a, &parsed, &report);
        let text = v.to_string();
        let back: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back["spot"].as_f64(), Some(4500.5298));
        assert_eq!(back["rows"].as_u64(), Some(parsed.chain.rows.len() as u64));
        assert!(back["total_gex_usd_per_pct"].as_f64().is_some_and(|g| g == report.total_gex));
    }

    #[test]
    fn bad_inputs_are_errors_not_panics() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let bad = dir.path().join("bad.csv");
        std::fs::write(&bad, "\nSomething,Last: 1,Change: 0\nnot a date line\n")
            .unwrap_or_else(|e| panic!("{e}"));
        let e = run(&args(bad.clone())).err().map(|e| format!("{e:#}")).unwrap_or_default();
        assert!(e.contains(&format!("{}:3:", bad.display())), "{e}");
        let missing = run(&args(dir.path().join("missing.csv"))).err().map(|e| format!("{e:#}"));
        assert!(missing.is_some_and(|m| m.contains("missing.csv")));
        let neg = GexArgs { spot: Some(-1.0), ..args(bad) };
        assert!(run(&neg).is_err());
    }
}
