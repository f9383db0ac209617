//! Gamma exposure (GEX) levels from an option chain.
//!
//! Convention of the public GEX tools (SqueezeMetrics' white paper "Gamma Exposure", 2017, and
//! the open-source calculators that follow it): dealers are assumed long the calls and short
//! the puts that customers hold, so per option
//!
//! GEX = Γ · OI · 100 · S² · 0.01   (dollars of delta change for a 1 % move of the index),
//!
//! positive for calls and negative for puts. Levels computed here:
//! - total GEX at spot (with the source's gamma where given), per strike and in total;
//! - call wall / put wall: the strike with the largest call GEX / largest |put GEX|, summed over
//!   expirations;
//! - max pain: the strike minimising Σ OI × intrinsic value paid to option holders (calls and
//!   puts, all expirations);
//! - zero gamma ("flip"): total GEX recomputed with BSM gamma at hypothetical spots from
//!   0.8·S to 1.2·S (each option's IV, r = q = 0, T = calendar days to expiry / 365 with a
//!   minimum of one day, expirations within 365 days); the crossing of zero nearest to spot,
//!   linearly interpolated between grid points;
//! - put/call open-interest and volume ratios, vanna and charm exposure, and the share of
//!   |GEX| expiring at the next expiration (0DTE share).
//!
//! This runs on a cold thread (it allocates the per-strike table and the profile).

use std::collections::BTreeMap;

use super::bsm::{self, BsmInputs, OptionKind};
use super::calendar;
use super::chain::Chain;
use crate::levels::{GammaLevels, LevelFlags};
use mia_model::price::{self, Px, UNDEF_PX};
use mia_model::time::calendar::Date;

/// 1 / sqrt(2π).
const INV_SQRT_2PI: f64 = 0.398_942_280_401_432_7;

/// Parameters of the level computation. [`Default`] gives the documented convention.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GexConfig {
    /// Index units per contract (100 for SPX).
    pub contract_multiplier: f64,
    /// Size of the move the exposure is quoted for (0.01 = 1 %).
    pub move_fraction: f64,
    /// Use the source's gamma column for exposure at spot where given (only when the spot is
    /// the chain's own); otherwise BSM gamma.
    pub prefer_source_gamma: bool,
    /// Lower end of the zero-gamma spot sweep, as a fraction of spot.
    pub sweep_lo: f64,
    /// Upper end of the zero-gamma spot sweep, as a fraction of spot.
    pub sweep_hi: f64,
    /// Number of grid points of the sweep (≥ 2).
    pub sweep_points: usize,
    /// Only expirations at most this many calendar days away enter the zero-gamma sweep.
    pub max_expiry_days: i64,
    /// Minimum time to expiry in calendar days for model greeks.
    pub min_days: f64,
    /// Day count of the year for model greeks.
    pub days_per_year: f64,
    /// Risk-free rate for model greeks.
    pub rate: f64,
    /// Dividend yield for model greeks.
    pub div: f64,
}

impl Default for GexConfig {
    fn default() -> Self {
        GexConfig {
            contract_multiplier: 100.0,
            move_fraction: 0.01,
            prefer_source_gamma: true,
            sweep_lo: 0.8,
            sweep_hi: 1.2,
            sweep_points: 201,
            max_expiry_days: 365,
            min_days: 1.0,
            days_per_year: 365.0,
            rate: 0.0,
            div: 0.0,
        }
    }
}

/// Exposure and open interest at one strike, summed over expirations and roots.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StrikeExposure {
    /// Strike.
    pub strike: f64,
    /// Call GEX, $ per 1 % move (≥ 0).
    pub call_gex: f64,
    /// Put GEX, $ per 1 % move (≤ 0).
    pub put_gex: f64,
    /// Call open interest.
    pub call_oi: u64,
    /// Put open interest.
    pub put_oi: u64,
}

impl StrikeExposure {
    /// Net GEX at the strike.
    pub fn net_gex(&self) -> f64 {
        self.call_gex + self.put_gex
    }
}

/// All levels computed from one chain.
#[derive(Clone, Debug, PartialEq)]
pub struct GexReport {
    /// Spot used.
    pub spot: f64,
    /// Valuation time of the chain (UTC ns).
    pub valuation_ts_ns: u64,
    /// Valuation date (New York).
    pub valuation_date: Date,
    /// Net GEX at spot, $ per 1 % move.
    pub total_gex: f64,
    /// Call part of [`GexReport::total_gex`].
    pub call_gex: f64,
    /// Put part of [`GexReport::total_gex`].
    pub put_gex: f64,
    /// Zero-gamma (flip) level, or `None` when the profile does not cross zero in the sweep.
    pub zero_gamma: Option<f64>,
    /// Strike with the largest call GEX.
    pub call_wall: Option<f64>,
    /// Strike with the largest |put GEX|.
    pub put_wall: Option<f64>,
    /// Max-pain strike.
    pub max_pain: Option<f64>,
    /// Σ put OI / Σ call OI.
    pub put_call_oi_ratio: Option<f64>,
    /// Σ put volume / Σ call volume.
    pub put_call_volume_ratio: Option<f64>,
    /// Dealer vanna exposure: $ of delta change for a +1 vol-point move (calls +, puts −).
    pub vanna_exposure: f64,
    /// Dealer charm exposure: $ of delta change per calendar day (calls +, puts −).
    pub charm_exposure: f64,
    /// Share of Σ|GEX| in options of the next expiration.
    pub zero_dte_share: f64,
    /// The next expiration (on or after the valuation date).
    pub next_expiry: Option<Date>,
    /// Per-strike exposures, sorted by strike.
    pub by_strike: Vec<StrikeExposure>,
    /// Total model GEX at each sweep spot: (spot, $ per 1 %).
    pub profile: Vec<(f64, f64)>,
    /// Options (calls + puts) that entered the total (alive, OI > 0).
    pub options_used: usize,
    /// Options of the zero-gamma sweep.
    pub options_in_profile: usize,
    /// Options whose exposure at spot came from the model because the source had no gamma.
    pub model_gamma_fallbacks: usize,
}

/// One option's precomputed terms for fast gamma evaluation at many spots:
/// GEX(S) = coef · S · exp(−½·d1²), d1 = ln S · inv_s + c0.
#[derive(Clone, Copy)]
struct ProfileTerm {
    inv_s: f64,
    c0: f64,
    coef: f64,
}

impl ProfileTerm {
    #[inline]
    fn gex(&self, ln_s: f64, s: f64) -> f64 {
        let d1 = ln_s * self.inv_s + self.c0;
        self.coef * s * (-0.5 * d1 * d1).exp()
    }
}

/// Strike key with 1e-3 point resolution for aggregation.
#[inline]
fn strike_key(k: f64) -> i64 {
    (k * 1000.0).round() as i64
}

/// Computes every level of [`GexReport`] from `chain`, at the chain's spot or at `spot`.
///
/// Each option's volatility is its model IV ([`super::chain::Quote::iv`], filled by
/// [`Chain::compute_model`]) or, when that was not run, the source IV. Options already expired
/// at the valuation date are ignored.
pub fn compute_levels(chain: &Chain, spot: Option<f64>, cfg: &GexConfig) -> GexReport {
    let spot_used = spot.filter(|s| s.is_finite() && *s > 0.0).unwrap_or(chain.spot);
    let own_spot = (spot_used - chain.spot).abs() <= 1e-9 * chain.spot.abs().max(1.0);
    let use_src_gamma = cfg.prefer_source_gamma && own_spot;
    let val_date = chain.valuation_date();
    let scale = cfg.contract_multiplier * cfg.move_fraction;
    let next_expiry = chain.rows.iter().map(|r| r.expiry).filter(|e| *e >= val_date).min();

    let mut per_strike: BTreeMap<i64, StrikeExposure> = BTreeMap::new();
    let mut terms: Vec<ProfileTerm> = Vec::with_capacity(chain.rows.len() * 2);
    let (mut call_gex, mut put_gex) = (0.0, 0.0);
    let (mut call_oi, mut put_oi, mut call_vol, mut put_vol) = (0u64, 0u64, 0u64, 0u64);
    let (mut vanna_x, mut charm_x) = (0.0, 0.0);
    let (mut abs_all, mut abs_next) = (0.0, 0.0);
    let (mut used, mut fallbacks) = (0usize, 0usize);

    for row in &chain.rows {
        let days = val_date.days_until(row.expiry);
        if days < 0 {
            continue;
        }
        let t = (days as f64).max(cfg.min_days) / cfg.days_per_year;
        let entry = per_strike
            .entry(strike_key(row.strike))
            .or_insert(StrikeExposure { strike: row.strike, ..StrikeExposure::default() });
        for kind in [OptionKind::Call, OptionKind::Put] {
            let q = row.quote(kind);
            let sign = kind.sign();
            match kind {
                OptionKind::Call => {
                    call_oi += q.open_interest;
                    call_vol += q.volume;
                    entry.call_oi += q.open_interest;
                }
                OptionKind::Put => {
                    put_oi += q.open_interest;
                    put_vol += q.volume;
                    entry.put_oi += q.open_interest;
                }
            }
            if q.open_interest == 0 {
                continue;
            }
            used += 1;
            let oi = q.open_interest as f64;
            let vol = q.iv.or(q.iv_src).filter(|v| *v > 0.0 && v.is_finite());
            let inputs = vol.map(|vol| BsmInputs {
                spot: spot_used,
                strike: row.strike,
                rate: cfg.rate,
                div: cfg.div,
                vol,
                t,
            });
            let model = inputs.map(|i| bsm::greeks(kind, &i));
            let gamma = match (use_src_gamma, q.gamma_src, model) {
                (true, Some(g), _) if g.is_finite() => g,
                (_, _, Some(m)) => {
                    fallbacks += usize::from(use_src_gamma);
                    m.gamma
                }
                (_, Some(g), None) if g.is_finite() => g,
                _ => 0.0,
            };
            let gex = sign * gamma * oi * scale * spot_used * spot_used;
            match kind {
                OptionKind::Call => {
                    call_gex += gex;
                    entry.call_gex += gex;
                }
                OptionKind::Put => {
                    put_gex += gex;
                    entry.put_gex += gex;
                }
            }
            abs_all += gex.abs();
            if Some(row.expiry) == next_expiry {
                abs_next += gex.abs();
            }
            if let Some(m) = model {
                let notional = oi * cfg.contract_multiplier * spot_used;
                vanna_x += sign * m.vanna * 0.01 * notional;
                charm_x += sign * m.charm / cfg.days_per_year * notional;
            }
            if let (Some(i), true) = (inputs, days <= cfg.max_expiry_days) {
                let s = i.vol * t.sqrt();
                let c0 = (-row.strike.ln() + (cfg.rate - cfg.div) * t) / s + 0.5 * s;
                let coef = sign * oi * scale * (-cfg.div * t).exp() * INV_SQRT_2PI / s;
                terms.push(ProfileTerm { inv_s: 1.0 / s, c0, coef });
            }
        }
    }

    let by_strike: Vec<StrikeExposure> = per_strike.into_values().collect();
    let call_wall = by_strike
        .iter()
        .filter(|e| e.call_gex > 0.0)
        .max_by(|a, b| a.call_gex.total_cmp(&b.call_gex))
        .map(|e| e.strike);
    let put_wall = by_strike
        .iter()
        .filter(|e| e.put_gex < 0.0)
        .max_by(|a, b| a.put_gex.abs().total_cmp(&b.put_gex.abs()))
        .map(|e| e.strike);
    let max_pain = max_pain(&by_strike);
    let profile = gex_profile(&terms, spot_used, cfg);
    let zero_gamma = zero_crossing(&profile, spot_used);
    let ratio = |num: u64, den: u64| (den > 0).then(|| num as f64 / den as f64);

    GexReport {
        spot: spot_used,
        valuation_ts_ns: chain.valuation_ts_ns,
        valuation_date: val_date,
        total_gex: call_gex + put_gex,
        call_gex,
        put_gex,
        zero_gamma,
        call_wall,
        put_wall,
        max_pain,
        put_call_oi_ratio: ratio(put_oi, call_oi),
        put_call_volume_ratio: ratio(put_vol, call_vol),
        vanna_exposure: vanna_x,
        charm_exposure: charm_x,
        zero_dte_share: if abs_all > 0.0 { abs_next / abs_all } else { 0.0 },
        next_expiry,
        by_strike,
        profile,
        options_used: used,
        options_in_profile: terms.len(),
        model_gamma_fallbacks: fallbacks,
    }
}

/// Strike minimising the total intrinsic value paid to holders if the index settled there.
fn max_pain(by_strike: &[StrikeExposure]) -> Option<f64> {
    let mut best: Option<(f64, f64)> = None;
    for cand in by_strike {
        let p = cand.strike;
        let mut pain = 0.0;
        for e in by_strike {
            pain += e.call_oi as f64 * (p - e.strike).max(0.0) + e.put_oi as f64 * (e.strike - p).max(0.0);
        }
        if best.is_none_or(|(_, b)| pain < b) {
            best = Some((p, pain));
        }
    }
    let any_oi = by_strike.iter().any(|e| e.call_oi + e.put_oi > 0);
    best.filter(|_| any_oi).map(|(k, _)| k)
}

/// Total model GEX on the sweep grid.
fn gex_profile(terms: &[ProfileTerm], spot: f64, cfg: &GexConfig) -> Vec<(f64, f64)> {
    let n = cfg.sweep_points.max(2);
    let lo = cfg.sweep_lo * spot;
    let hi = cfg.sweep_hi * spot;
    (0..n)
        .map(|j| {
            let s = lo + (hi - lo) * j as f64 / (n - 1) as f64;
            let ln_s = s.ln();
            let total: f64 = terms.iter().map(|t| t.gex(ln_s, s)).sum();
            (s, total)
        })
        .collect()
}

/// Zero crossing of a profile nearest to `spot`, linearly interpolated.
fn zero_crossing(profile: &[(f64, f64)], spot: f64) -> Option<f64> {
    let mut best: Option<f64> = None;
    for w in profile.windows(2) {
        let ((x0, y0), (x1, y1)) = (w[0], w[1]);
        let crosses = (y0 < 0.0 && y1 >= 0.0) || (y0 > 0.0 && y1 <= 0.0) || (y0 == 0.0 && y1 != 0.0);
        if !crosses {
            continue;
        }
        let x = if y1 == y0 { x0 } else { x0 - y0 * (x1 - x0) / (y1 - y0) };
        if best.is_none_or(|b| (x - spot).abs() < (b - spot).abs()) {
            best = Some(x);
        }
    }
    best
}

/// Converts an optional float level to fixed point ([`UNDEF_PX`] when absent).
fn px_or_undef(v: Option<f64>) -> Px {
    v.and_then(price::from_f64).unwrap_or(UNDEF_PX)
}

impl GexReport {
    /// The hot-path snapshot of this report, stamped `computed_at_ns`, with the gamma-cycle
    /// features of the valuation date.
    pub fn to_gamma_levels(&self, computed_at_ns: u64) -> GammaLevels {
        let d = self.valuation_date;
        let mut flags = 0;
        if calendar::is_opex_week(d) {
            flags |= LevelFlags::OPEX_WEEK;
        }
        if calendar::is_quad_witching(calendar::next_monthly_expiry(d)) {
            flags |= LevelFlags::QUARTERLY_CYCLE;
        }
        if calendar::is_quad_witching(d) {
            flags |= LevelFlags::QUAD_WITCHING_DAY;
        }
        if calendar::is_monthly_expiry(d) {
            flags |= LevelFlags::MONTHLY_OPEX_DAY;
        }
        if self.total_gex < 0.0 {
            flags |= LevelFlags::NEGATIVE_GAMMA;
        }
        GammaLevels {
            computed_at_ns,
            valuation_ts_ns: self.valuation_ts_ns,
            spot: px_or_undef(Some(self.spot)),
            zero_gamma: px_or_undef(self.zero_gamma),
            call_wall: px_or_undef(self.call_wall),
            put_wall: px_or_undef(self.put_wall),
            max_pain: px_or_undef(self.max_pain),
            total_gex_usd_per_pct: self.total_gex,
            put_call_oi_ratio: self.put_call_oi_ratio.unwrap_or(f64::NAN),
            put_call_volume_ratio: self.put_call_volume_ratio.unwrap_or(f64::NAN),
            zero_dte_share: self.zero_dte_share,
            vanna_exposure: self.vanna_exposure,
            charm_exposure: self.charm_exposure,
            days_to_opex: calendar::days_to_monthly_opex(d),
            flags,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::chain::{ChainRow, ModelParams, Quote, Root};
    use super::*;

    fn quote(oi: u64, vol: u64, iv: f64, gamma: Option<f64>) -> Quote {
        Quote { open_interest: oi, volume: vol, iv_src: Some(iv), gamma_src: gamma, ..Quote::default() }
    }

    fn row(exp: Date, k: f64, call: Quote, put: Quote) -> ChainRow {
        ChainRow { expiry: exp, root: Root::Spxw, strike: k, call, put }
    }

    fn base_chain(rows: Vec<ChainRow>) -> Chain {
        let val = Date { year: 2022, month: 2, day: 7 }.at_eastern_ns(10, 0).unwrap_or(0);
        Chain { underlying: "T".into(), spot: 100.0, valuation_ts_ns: val, rows }
    }

    #[test]
    fn hand_computed_levels() {
        let e1 = Date { year: 2022, month: 2, day: 7 };
        let e2 = Date { year: 2022, month: 3, day: 18 };
        let old = Date { year: 2022, month: 1, day: 21 };
        let chain = base_chain(vec![
            row(e1, 90.0, quote(10, 5, 0.2, Some(0.01)), quote(500, 50, 0.3, Some(0.02))),
            row(e1, 100.0, quote(200, 30, 0.2, Some(0.05)), quote(100, 20, 0.2, Some(0.05))),
            row(e2, 110.0, quote(400, 10, 0.2, Some(0.02)), quote(0, 0, 0.2, Some(0.01))),
            row(e2, 100.0, quote(100, 0, 0.2, None), quote(50, 0, 0.2, Some(0.03))),
            // Expired: ignored everywhere.
            row(old, 95.0, quote(9999, 9999, 0.2, Some(1.0)), quote(9999, 9999, 0.2, Some(1.0))),
        ]);
        let cfg = GexConfig::default();
        let r = compute_levels(&chain, None, &cfg);
        let unit = 100.0 * 0.01 * 100.0 * 100.0; // multiplier · 1 % · S²
                                                 // The e2/100 call has no source gamma: its model gamma (T = 39 days / 365) is used.
        let g_model = bsm::gamma(&BsmInputs {
            spot: 100.0,
            strike: 100.0,
            rate: 0.0,
            div: 0.0,
            vol: 0.2,
            t: 39.0 / 365.0,
        });
        let calls = (0.01 * 10.0 + 0.05 * 200.0 + 0.02 * 400.0 + g_model * 100.0) * unit;
        let puts = -(0.02 * 500.0 + 0.05 * 100.0 + 0.03 * 50.0) * unit;
        assert!((r.call_gex - calls).abs() < 1e-6 * calls, "{} {calls}", r.call_gex);
        assert!((r.put_gex - puts).abs() < 1e-9 * puts.abs());
        assert!((r.total_gex - (calls + puts)).abs() < 1e-6 * calls);
        assert_eq!(r.model_gamma_fallbacks, 1);
        // Walls: call GEX per strike: 90 → 0.1, 100 → 10 + 100·g_model, 110 → 8.
        assert_eq!(r.call_wall, Some(100.0));
        // |put GEX|: 90 → 10, 100 → 5 + 1.5.
        assert_eq!(r.put_wall, Some(90.0));
        // Max pain over strikes 90/100/110: pain(90) = 0 calls + puts(100: 150·10) = 1500;
        // pain(100) = calls(90: 10·10) + puts(0) = 100;
        // pain(110) = calls(90: 10·20 + 100: 300·10) = 3200. → 100.
        assert_eq!(r.max_pain, Some(100.0));
        // Ratios: puts OI 650 / calls 710; volume 70 / 45.
        assert!((r.put_call_oi_ratio.unwrap_or(0.0) - 650.0 / 710.0).abs() < 1e-12);
        assert!((r.put_call_volume_ratio.unwrap_or(0.0) - 70.0 / 45.0).abs() < 1e-12);
        // 0DTE share: |GEX| of e1 over all.
        let next = (0.01 * 10.0 + 0.05 * 200.0 + 0.02 * 500.0 + 0.05 * 100.0) * unit;
        let all = calls - puts;
        assert!((r.zero_dte_share - next / all).abs() < 1e-9);
        assert_eq!(r.next_expiry, Some(e1));
        assert_eq!(r.by_strike.len(), 3);
        assert_eq!(r.options_used, 7);
    }

    #[test]
    fn zero_gamma_of_a_two_strike_book() {
        // Short puts at 95 and long calls at 105, same OI and IV: total model GEX is
        // antisymmetric in log-space around √(95·105) only approximately, so compare with a
        // brute-force root of the same function instead.
        let e = Date { year: 2022, month: 3, day: 18 };
        let mut chain = base_chain(vec![
            row(e, 95.0, quote(0, 0, 0.2, None), quote(1000, 0, 0.2, None)),
            row(e, 105.0, quote(1000, 0, 0.2, None), quote(0, 0, 0.2, None)),
        ]);
        chain.compute_model(&ModelParams::default());
        let cfg = GexConfig { sweep_points: 401, ..GexConfig::default() };
        let r = compute_levels(&chain, None, &cfg);
        let t = 39.0 / 365.0;
        let total = |s: f64| {
            let g = |k: f64| bsm::gamma(&BsmInputs { spot: s, strike: k, rate: 0.0, div: 0.0, vol: 0.2, t });
            1000.0 * (g(105.0) - g(95.0)) * s * s
        };
        let (mut lo, mut hi) = (95.0, 105.0);
        for _ in 0..100 {
            let mid = 0.5 * (lo + hi);
            if total(mid) < 0.0 {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        let z = r.zero_gamma.unwrap_or(f64::NAN);
        assert!((z - lo).abs() < 0.05, "{z} vs {lo}");
        // The profile agrees with direct BSM evaluation.
        for &(s, g) in r.profile.iter().step_by(50) {
            assert!((g - total(s)).abs() <= 1e-9 * total(s).abs().max(1.0), "{s}");
        }
        // A book with only long calls never crosses.
        let calls_only = base_chain(vec![row(e, 105.0, quote(1000, 0, 0.2, None), quote(0, 0, 0.2, None))]);
        assert_eq!(compute_levels(&calls_only, None, &cfg).zero_gamma, None);
    }

    #[test]
    fn snapshot_conversion() {
        let e = Date { year: 2022, month: 2, day: 18 };
        let chain =
            base_chain(vec![row(e, 100.0, quote(10, 1, 0.2, Some(0.05)), quote(30, 3, 0.2, Some(0.05)))]);
        let r = compute_levels(&chain, None, &GexConfig::default());
        let g = r.to_gamma_levels(42);
        assert_eq!(g.computed_at_ns, 42);
        assert_eq!(g.spot, 100_000_000_000);
        assert_eq!(g.max_pain, 100_000_000_000);
        assert_eq!(g.days_to_opex, 11);
        assert!(g.flags & LevelFlags::OPEX_WEEK == 0);
        assert!(g.flags & LevelFlags::NEGATIVE_GAMMA != 0);
        assert!((g.put_call_oi_ratio - 3.0).abs() < 1e-12);
    }
}
