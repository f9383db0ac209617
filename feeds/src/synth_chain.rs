//! Synthetic SPX option chains, and a writer of the Cboe quote-table layout.
//!
//! [`generate_chain`] builds a chain coherent with a given spot: expirations from the
//! calendar (SPXW dailies for the next five trading days including 0DTE, the next three
//! monthlies and the next four quarterlies with both the AM-settled SPX and the PM-settled SPXW
//! series, plus the December of next year), strikes every 5 points near the money and every 25
//! further out, a volatility smile with put skew, quotes from BSM on a 0.05/0.10 tick grid, and
//! open interest clustered at round strikes (multiples of 50 and 100), heavier in puts below
//! spot and calls above, so walls and a flip level exist. Deterministic for a seed.
//!
//! [`write_cboe_csv`] writes a chain in the layout [`crate::cboe`] parses; parsing the file
//! gives back an equal chain (the values the generator produces are already at the file's
//! precision: prices in cents, IV and delta to 4 decimals, gamma to 7).

use std::fmt::Write as _;
use std::path::Path;

use mia_model::rng::SplitMix64;
use mia_model::time::calendar::{self, Date};
use mia_options::bsm::OptionKind;
use mia_options::bsm::{self, BsmInputs};
use mia_options::calendar::{is_quarterly_month, monthly_expiry};
use mia_options::chain::SECS_PER_YEAR;
use mia_options::chain::{Chain, ChainRow, ModelParams, Quote, Root};

use crate::cboe::HEADER;

/// Standard normal (Box–Muller) from two SplitMix64 uniforms.
fn normal(rng: &mut SplitMix64) -> f64 {
    let u1 = rng.next_f64().max(1e-300);
    let u2 = rng.next_f64();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// Kind of expiration, which sets the open-interest scale.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Series {
    Daily,
    Monthly,
    Quarterly,
}

/// Rounds to `decimals` decimal places (so the value prints back exactly).
fn round_dp(v: f64, decimals: i32) -> f64 {
    let p = 10f64.powi(decimals);
    (v * p).round() / p
}

/// Rounds a price to the SPX option tick (0.05 below 3.00, 0.10 above), down or up.
fn to_tick(v: f64, up: bool) -> f64 {
    let tick_cents = if v < 3.0 { 5.0 } else { 10.0 };
    let steps = v * 100.0 / tick_cents;
    let steps = if up { (steps - 1e-9).ceil() } else { (steps + 1e-9).floor() };
    (steps.max(0.0) * tick_cents).round() / 100.0
}

/// Strikes of one expiration: every 5 points within the inner band around spot, every 25 out
/// to the outer band, all on the 5-point grid.
fn strikes(spot: f64, t: f64) -> Vec<f64> {
    let inner = spot * (0.03 + 0.15 * t.sqrt()).min(0.12);
    let outer = spot * (0.10 + 0.60 * t.sqrt()).min(0.60);
    let lo = ((spot - outer) / 25.0).floor() * 25.0;
    let hi = ((spot + outer) / 25.0).ceil() * 25.0;
    let mut v = Vec::new();
    let mut k = lo.max(25.0);
    while k <= hi {
        v.push(k);
        k += if (k - spot).abs() < inner { 5.0 } else { 25.0 };
        if (k - spot).abs() < inner {
            // Re-align on the 5-point grid when entering the inner band.
            k = (k / 5.0).round() * 5.0;
        }
    }
    v
}

/// Expirations (date, root, series) alive at `val_ts`, in date order (SPX before SPXW).
fn expirations(val_ts: u64) -> Vec<(Date, Root, Series)> {
    let today = calendar::eastern_date(val_ts);
    let alive = |d: Date, root: Root| {
        let (hh, mm) = root.settlement().eastern_time();
        d.at_eastern_ns(hh, mm).is_some_and(|ts| ts > val_ts)
    };
    let mut out = Vec::new();
    // SPXW dailies: the next five trading days (today's if still open).
    let mut d = if calendar::is_trading_day(today) { today } else { calendar::next_trading_day(today) };
    while out.len() < 5 {
        if alive(d, Root::Spxw) {
            out.push((d, Root::Spxw, Series::Daily));
        }
        d = calendar::next_trading_day(d);
    }
    // Monthlies (three) and quarterlies (four), both roots; plus next year's December.
    let (mut y, mut m) = (today.year, today.month);
    let (mut monthlies, mut quarterlies) = (0, 0);
    while quarterlies < 4 {
        let e = monthly_expiry(y, m);
        let series = if is_quarterly_month(m) { Series::Quarterly } else { Series::Monthly };
        let wanted = (series == Series::Quarterly && quarterlies < 4) || monthlies < 3;
        if wanted && alive(e, Root::Spx) {
            out.push((e, Root::Spx, series));
            out.push((e, Root::Spxw, series));
            monthlies += 1;
            quarterlies += usize::from(series == Series::Quarterly);
        }
        (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    }
    let dec = monthly_expiry(today.year + 1, 12);
    out.push((dec, Root::Spx, Series::Quarterly));
    out.push((dec, Root::Spxw, Series::Quarterly));
    out.sort_by_key(|&(d, r, s)| (d, r, s));
    out.dedup_by_key(|e| (e.0, e.1));
    out
}

/// Generates a synthetic SPX chain around `spot` valued at `valuation_ts_ns` (truncated to the
/// whole minute, the Cboe layout's resolution). Deterministic for a given `seed`. The model
/// quantities are computed with [`ModelParams::default`] (as the Cboe parser does).
pub fn generate_chain(seed: u64, spot: f64, valuation_ts_ns: u64) -> Chain {
    let val_ts = valuation_ts_ns - valuation_ts_ns % 60_000_000_000;
    let mut rng = SplitMix64::new(seed ^ 0x6d69_615f_6368_6169);
    let base_vol = 0.14 + 0.08 * rng.next_f64();
    let mut rows = Vec::new();
    for (expiry, root, series) in expirations(val_ts) {
        let (hh, mm) = root.settlement().eastern_time();
        let exp_ts = expiry.at_eastern_ns(hh, mm).unwrap_or(val_ts);
        let t = ((exp_ts.saturating_sub(val_ts)) as f64 / 1e9 / SECS_PER_YEAR).max(60.0 / SECS_PER_YEAR);
        // Term structure: short expirations a little richer.
        let atm = base_vol * (1.0 + 0.25 * (-t * 20.0).exp());
        // Peak open interest per strike by series, scaled so that the chain's total call and
        // put GEX land in the tens of $bn per 1 % like the real SPX chain (e.g. the Cboe file in
        // shared/data: calls +63, puts −82 $bn).
        let oi_scale = match (series, root) {
            (Series::Daily, _) => 150.0,
            (Series::Monthly, Root::Spx) => 750.0,
            (Series::Monthly, Root::Spxw) => 312.5,
            (Series::Quarterly, Root::Spx) => 1_250.0,
            (Series::Quarterly, Root::Spxw) => 437.5,
        };
        let volume_frac = if series == Series::Daily && t < 2.0 / 365.0 { 0.8 } else { 0.1 };
        for k in strikes(spot, t) {
            let z = ((k / spot).ln() / (atm * t.sqrt())).clamp(-6.0, 6.0);
            let vol = (atm * (1.0 - 0.12 * z + 0.02 * z * z)).clamp(0.4 * atm, 3.0 * atm);
            let iv = round_dp(vol, 4);
            let roundness = if k % 100.0 == 0.0 {
                4.0
            } else if k % 50.0 == 0.0 {
                2.2
            } else if k % 25.0 == 0.0 {
                1.3
            } else {
                1.0
            };
            let dist = (-0.5 * (z / 1.8) * (z / 1.8)).exp();
            let i = BsmInputs { spot, strike: k, rate: 0.0, div: 0.0, vol: iv, t };
            let side = |kind: OptionKind, rng: &mut SplitMix64| {
                let g = bsm::greeks(kind, &i);
                let tilt = match (kind, k < spot) {
                    (OptionKind::Put, true) | (OptionKind::Call, false) => 2.0,
                    _ => 0.4,
                };
                let noise = (0.35 * normal(rng)).exp();
                let oi = (oi_scale * dist * roundness * tilt * noise).round() as u64;
                let volume = (oi as f64 * volume_frac * rng.next_f64() * 2.0).round() as u64;
                let half = (0.01 * g.price).max(0.025);
                let bid = if g.price < 0.05 { 0.0 } else { to_tick(g.price - half, false) };
                let ask = to_tick(g.price + half, true).max(0.05);
                let last = if volume > 0 { to_tick(g.price, rng.next_f64() < 0.5) } else { 0.0 };
                let net = if volume > 0 { round_dp(g.price * 0.05 * normal(rng), 2) } else { 0.0 };
                Quote {
                    last,
                    net,
                    bid,
                    ask,
                    volume,
                    open_interest: oi,
                    iv_src: Some(iv),
                    delta_src: Some(round_dp(g.delta, 4)),
                    gamma_src: Some(round_dp(g.gamma, 7)),
                    ..Quote::default()
                }
            };
            let call = side(OptionKind::Call, &mut rng);
            let put = side(OptionKind::Put, &mut rng);
            rows.push(ChainRow { expiry, root, strike: k, call, put });
        }
    }
    let mut chain =
        Chain { underlying: "Standard & Poors 500 Index".into(), spot, valuation_ts_ns: val_ts, rows };
    chain.compute_model(&ModelParams::default());
    chain
}

/// Option symbol in the Cboe/OCC form used by the quote table (`SPXW220207C02400000`).
pub fn option_symbol(root: Root, expiry: Date, kind: OptionKind, strike: f64) -> String {
    let cp = match kind {
        OptionKind::Call => 'C',
        OptionKind::Put => 'P',
    };
    format!(
        "{}{:02}{:02}{:02}{cp}{:08}",
        root.as_str(),
        expiry.year.rem_euclid(100),
        expiry.month,
        expiry.day,
        (strike * 1000.0).round() as u64
    )
}

/// Formats an optional number (empty when absent).
fn opt(v: Option<f64>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

fn side_fields(out: &mut String, q: &Quote) {
    let _ = write!(
        out,
        "{},{},{},{},{},{},{},{},{}",
        q.last,
        q.net,
        q.bid,
        q.ask,
        q.volume,
        opt(q.iv_src),
        opt(q.delta_src),
        opt(q.gamma_src),
        q.open_interest
    );
}

/// Renders `chain` in the Cboe quote-table layout with `spot` on the index line.
pub fn to_cboe_csv(chain: &Chain, spot: f64) -> String {
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    let ts = chain.valuation_ts_ns;
    let local_date = calendar::eastern_date(ts);
    let secs = ts / 1_000_000_000;
    let off = calendar::et_offset_hours(local_date, ((secs % 86_400) / 3600) as u32);
    let local = secs as i64 + i64::from(off) * 3600;
    let (hh, mm) = ((local.rem_euclid(86_400) / 3600) as u32, (local.rem_euclid(3600) / 60) as u32);
    let (h12, ampm) = match hh {
        0 => (12, "AM"),
        1..=11 => (hh, "AM"),
        12 => (12, "PM"),
        _ => (hh - 12, "PM"),
    };
    let zone = if off == -4 { "EDT" } else { "EST" };
    let mut out = String::with_capacity(200 + chain.rows.len() * 170);
    let _ = writeln!(out);
    let _ = writeln!(out, "{},Last: {spot},Change: 0", chain.underlying);
    let _ = writeln!(
        out,
        "\"Date: {} {}, {} at {h12}:{mm:02} {ampm} {zone}\",Bid: {spot},Ask: {spot},Size: 1*1,Volume: 0",
        MONTHS[usize::from(local_date.month - 1)],
        local_date.day,
        local_date.year
    );
    let _ = writeln!(out, "{}", HEADER.join(","));
    for r in &chain.rows {
        let e = r.expiry;
        let _ = write!(
            out,
            "{} {} {:02} {},{},",
            WEEKDAYS[e.weekday().index() as usize],
            &MONTHS[usize::from(e.month - 1)][..3],
            e.day,
            e.year,
            option_symbol(r.root, e, OptionKind::Call, r.strike)
        );
        side_fields(&mut out, &r.call);
        let _ = write!(out, ",{:.2},{},", r.strike, option_symbol(r.root, e, OptionKind::Put, r.strike));
        side_fields(&mut out, &r.put);
        out.push('\n');
    }
    out
}

/// Writes `chain` to `path` in the Cboe quote-table layout (see [`to_cboe_csv`]).
pub fn write_cboe_csv(chain: &Chain, spot: f64, path: &Path) -> std::io::Result<()> {
    std::fs::write(path, to_cboe_csv(chain, spot))
        .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use mia_options::gex::{compute_levels, GexConfig};

    fn val_ts() -> u64 {
        // Wednesday 2024-01-10 10:15:27 ET.
        Date::new(2024, 1, 10).and_then(|d| d.at_eastern_ns(10, 15)).unwrap_or(0) + 27_000_000_000
    }

    #[test]
    fn deterministic_and_coherent() {
        let a = generate_chain(7, 4780.0, val_ts());
        let b = generate_chain(7, 4780.0, val_ts());
        let c = generate_chain(8, 4780.0, val_ts());
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.valuation_ts_ns % 60_000_000_000, 0);
        let exps = a.expiries();
        let today = Date { year: 2024, month: 1, day: 10 };
        assert_eq!(exps[0], today, "0DTE present");
        assert!(exps.contains(&Date { year: 2024, month: 1, day: 19 }));
        assert!(exps.contains(&Date { year: 2024, month: 3, day: 15 }));
        assert!(exps.contains(&Date { year: 2025, month: 12, day: 19 }));
        assert!(a.rows.iter().any(|r| r.root == Root::Spx) && a.rows.iter().any(|r| r.root == Root::Spxw));
        // Every option has an IV, greeks and a sane quote.
        for r in &a.rows {
            for q in [&r.call, &r.put] {
                assert!(q.iv.is_some() && q.greeks.is_some());
                assert!(q.ask >= q.bid && q.ask > 0.0);
                assert_eq!(r.strike % 5.0, 0.0);
            }
        }
        // Skew: OTM puts richer than OTM calls at the same distance.
        let row = |k: f64| a.rows.iter().find(|r| r.expiry == exps[6] && r.strike == k);
        let (lo, hi) = (row(4500.0), row(5050.0));
        if let (Some(lo), Some(hi)) = (lo, hi) {
            assert!(lo.put.iv_src > hi.call.iv_src);
        } else {
            panic!("strikes 4500/5050 missing at {}", exps[6]);
        }
        // Walls at round strikes on the expected sides; a flip level exists.
        let r = compute_levels(&a, None, &GexConfig::default());
        let cw = r.call_wall.unwrap_or(0.0);
        let pw = r.put_wall.unwrap_or(0.0);
        assert!(cw % 50.0 == 0.0 && cw >= 4780.0, "call wall {cw}");
        assert!(pw % 50.0 == 0.0 && pw <= 4780.0, "put wall {pw}");
        assert!(r.zero_gamma.is_some());
        assert!(r.put_call_oi_ratio.unwrap_or(0.0) > 0.5);
    }

    #[test]
    fn csv_round_trip() {
        let chain = generate_chain(42, 4781.37, val_ts());
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("synthetic.csv");
        write_cboe_csv(&chain, chain.spot, &path).unwrap_or_else(|e| panic!("{e}"));
        let parsed = crate::cboe::parse_file(&path).unwrap_or_else(|e| panic!("{e}"));
        assert!(parsed.skipped.is_empty(), "{:?}", &parsed.skipped[..parsed.skipped.len().min(3)]);
        assert_eq!(parsed.chain.rows.len(), chain.rows.len());
        for (a, b) in parsed.chain.rows.iter().zip(&chain.rows) {
            assert_eq!(a, b);
        }
        assert_eq!(parsed.chain, chain);
        // A summer date writes EDT and still round-trips.
        let summer = Date::new(2024, 7, 17).and_then(|d| d.at_eastern_ns(15, 59)).unwrap_or(0);
        let chain = generate_chain(1, 5600.0, summer);
        let text = to_cboe_csv(&chain, chain.spot);
        assert!(text.contains("at 3:59 PM EDT"), "{}", &text[..200]);
        let parsed =
            crate::cboe::parse_str("mem", &text, &ModelParams::default()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(parsed.chain, chain);
    }

    #[test]
    fn symbols() {
        let d = Date { year: 2022, month: 2, day: 7 };
        assert_eq!(option_symbol(Root::Spxw, d, OptionKind::Call, 2400.0), "SPXW220207C02400000");
        assert_eq!(option_symbol(Root::Spx, d, OptionKind::Put, 4512.5), "SPX220207P04512500");
        assert_eq!(to_tick(2.97, true), 3.0);
        assert_eq!(to_tick(3.04, false), 3.0);
        assert_eq!(to_tick(3.04, true), 3.1);
    }
}
