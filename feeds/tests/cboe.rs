//! The Cboe parser and the GEX levels on the real SPX chain of 2022-02-05
//! (`shared/data/cboe/spx_quotedata_2022-02-05.csv`).

use std::path::PathBuf;
use std::time::Instant;

use mia_feeds::cboe;
use mia_model::time::calendar::Date;
use mia_options::bsm::OptionKind;
use mia_options::bsm::{self, BsmInputs};
use mia_options::chain::Root;
use mia_options::gex::{compute_levels, GexConfig};

fn real_file() -> Option<PathBuf> {
    let p = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/data/cboe/spx_quotedata_2022-02-05.csv"
    ));
    if p.exists() {
        Some(p)
    } else {
        eprintln!("note: {} not found; skipping the real-file test", p.display());
        None
    }
}

#[test]
fn parses_the_real_file() {
    let Some(path) = real_file() else { return };
    let t0 = Instant::now();
    let parsed = cboe::parse_file(&path).unwrap_or_else(|e| panic!("{e}"));
    let parse_ms = t0.elapsed().as_secs_f64() * 1e3;
    let chain = &parsed.chain;
    // Header: spot and quote time (2022-02-05 20:09 EST = 2022-02-06 01:09 UTC).
    assert_eq!(chain.spot, 4500.5298);
    assert_eq!(chain.valuation_ts_ns, 1_644_109_740_000_000_000);
    assert_eq!(chain.underlying, "Standard & Poors 500 Index");
    // Every data line is a row (the file has 10 261 lines, 4 of header).
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let data_lines = text.lines().skip(4).filter(|l| !l.trim().is_empty()).count();
    assert_eq!(chain.rows.len() + parsed.skipped.len(), data_lines);
    assert!(parsed.skipped.is_empty(), "{:?}", &parsed.skipped[..parsed.skipped.len().min(5)]);
    let spx = chain.rows.iter().filter(|r| r.root == Root::Spx).count();
    let spxw = chain.rows.iter().filter(|r| r.root == Root::Spxw).count();
    assert_eq!(spx, text.lines().filter(|l| l.contains(",SPX2")).count());
    assert_eq!(spxw, text.lines().filter(|l| l.contains(",SPXW2")).count());
    // The April monthly moved to Thursday because of Good Friday.
    let apr14 = Date { year: 2022, month: 4, day: 14 };
    assert!(chain.rows.iter().any(|r| r.expiry == apr14 && r.root == Root::Spx));
    println!(
        "parsed {} rows ({spx} SPX, {spxw} SPXW) in {parse_ms:.1} ms; {} IVs recomputed from mid",
        chain.rows.len(),
        parsed.iv_recomputed
    );
}

#[test]
fn levels_of_the_real_file() {
    let Some(path) = real_file() else { return };
    let t0 = Instant::now();
    let parsed = cboe::parse_file(&path).unwrap_or_else(|e| panic!("{e}"));
    let r = compute_levels(&parsed.chain, None, &GexConfig::default());
    let ms = t0.elapsed().as_secs_f64() * 1e3;
    let s = r.spot;
    println!(
        "spot {s} total GEX {:.3} $bn/1% zero gamma {:?} call wall {:?} put wall {:?} max pain {:?} \
         P/C OI {:?} P/C vol {:?} 0DTE share {:.3} next expiry {:?} vanna {:.3e} charm {:.3e} \
         ({} options, {} in profile) in {ms:.1} ms (unoptimised test build)",
        r.total_gex / 1e9,
        r.zero_gamma,
        r.call_wall,
        r.put_wall,
        r.max_pain,
        r.put_call_oi_ratio,
        r.put_call_volume_ratio,
        r.zero_dte_share,
        r.next_expiry,
        r.vanna_exposure,
        r.charm_exposure,
        r.options_used,
        r.options_in_profile,
    );
    // Structural checks (not the values themselves): levels exist, lie on listed strikes and
    // inside the sweep; the profile is consistent with the flip.
    let strikes: Vec<f64> = r.by_strike.iter().map(|e| e.strike).collect();
    for level in [r.call_wall, r.put_wall, r.max_pain] {
        let l = level.unwrap_or(f64::NAN);
        assert!(strikes.contains(&l), "{l}");
    }
    let z = r.zero_gamma.unwrap_or(f64::NAN);
    assert!(z > 0.8 * s && z < 1.2 * s, "{z}");
    let below = r.profile.iter().rfind(|p| p.0 <= z).map(|p| p.1).unwrap_or(f64::NAN);
    let above = r.profile.iter().find(|p| p.0 >= z).map(|p| p.1).unwrap_or(f64::NAN);
    assert!(below * above <= 0.0, "{below} {above}");
    assert_eq!(r.next_expiry, Some(Date { year: 2022, month: 2, day: 7 }));
    let sum: f64 = r.by_strike.iter().map(|e| e.net_gex()).sum();
    assert!((sum - r.total_gex).abs() <= 1e-9 * r.total_gex.abs().max(1.0));
    assert!(r.zero_dte_share > 0.0 && r.zero_dte_share < 1.0);
}

/// How well the file's (4-decimal) Gamma column agrees with BSM gamma recomputed from the
/// file's IV, at the file's spot and the exact time to settlement.
///
/// Cboe prints the same gamma for the call and the put of a strike (10 240 of 10 257 rows)
/// while their IV columns differ, so its gamma comes from one volatility per strike, not from
/// each side's IV: the agreement is therefore approximate. It is closest with the IV of the
/// out-of-the-money side.
#[test]
fn file_gamma_agrees_with_bsm() {
    let Some(path) = real_file() else { return };
    let parsed = cboe::parse_file(&path).unwrap_or_else(|e| panic!("{e}"));
    let chain = &parsed.chain;
    let same = chain.rows.iter().filter(|r| r.call.gamma_src == r.put.gamma_src).count();
    let mut own = Vec::new();
    let mut otm_side = Vec::new();
    for row in &chain.rows {
        let t = chain.time_to_expiry(row, 60.0 / (365.0 * 86_400.0));
        let otm_iv = if row.strike >= chain.spot { row.call.iv_src } else { row.put.iv_src };
        for kind in [OptionKind::Call, OptionKind::Put] {
            let q = row.quote(kind);
            let (Some(g_file), Some(iv)) = (q.gamma_src, q.iv_src) else { continue };
            // Enough digits in the file to compare (4 decimals → ≥ 5e-4 keeps the rounding
            // error ≤ 10 %), and some open interest.
            if q.open_interest == 0 || g_file < 5e-4 || iv <= 0.0 {
                continue;
            }
            let g = |vol: f64| {
                bsm::gamma(&BsmInputs { spot: chain.spot, strike: row.strike, rate: 0.0, div: 0.0, vol, t })
            };
            own.push((g(iv) - g_file).abs() / g_file);
            if let Some(v) = otm_iv.filter(|v| *v > 0.0) {
                otm_side.push((g(v) - g_file).abs() / g_file);
            }
        }
    }
    let stats = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        (v[v.len() / 2], v[v.len() * 9 / 10])
    };
    let (med_own, p90_own) = stats(&mut own);
    let (med_otm, p90_otm) = stats(&mut otm_side);
    println!(
        "file vs BSM gamma over {} options with OI > 0 and file gamma >= 5e-4: own-side IV median rel. \
         error {med_own:.4} (p90 {p90_own:.4}); OTM-side IV median {med_otm:.4} (p90 {p90_otm:.4}); \
         rows with call gamma == put gamma: {same}/{}",
        own.len(),
        chain.rows.len()
    );
    assert!(own.len() > 1000);
    assert!(same * 10 > chain.rows.len() * 9);
    assert!(med_own < 0.15, "median relative error {med_own}");
    assert!(med_otm < 0.10, "median relative error {med_otm}");
}
