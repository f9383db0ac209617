//! The option-chain model: one row per (expiration, root, strike) carrying the call and the put,
//! as in the Cboe quote table, plus the model quantities computed from it (implied volatility
//! recomputed from the mid where the source has none, BSM greeks).
//!
//! This is cold-path data (it owns a `Vec`); the per-option math it calls is allocation-free.

use super::bsm::{self, BsmInputs, Greeks, OptionKind};
use super::iv::implied_vol;
use mia_model::time::calendar::{self, Date};

/// Seconds per (365-day) year, the time unit of the model.
pub const SECS_PER_YEAR: f64 = 365.0 * 86_400.0;

/// How an option's final settlement value is determined.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Settlement {
    /// From the opening prints of the expiration day (Special Opening Quotation, SPX monthlies).
    Am,
    /// From the closing value of the expiration day (SPXW).
    Pm,
}

/// Option root symbol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Root {
    /// Standard monthly S&P 500 index options, AM-settled.
    Spx,
    /// S&P 500 weeklys/dailies, PM-settled.
    Spxw,
}

impl Root {
    /// Settlement style of the root.
    pub fn settlement(self) -> Settlement {
        match self {
            Root::Spx => Settlement::Am,
            Root::Spxw => Settlement::Pm,
        }
    }

    /// The root as it appears in option symbols (`SPX`, `SPXW`).
    pub fn as_str(self) -> &'static str {
        match self {
            Root::Spx => "SPX",
            Root::Spxw => "SPXW",
        }
    }

    /// Parses `SPX` or `SPXW`.
    pub fn parse(s: &str) -> Option<Root> {
        match s {
            "SPX" => Some(Root::Spx),
            "SPXW" => Some(Root::Spxw),
            _ => None,
        }
    }
}

impl Settlement {
    /// New York local time (hh, mm) at which the settlement value is fixed: 09:30 for AM
    /// settlement (the open), 16:00 for PM settlement (the close).
    pub fn eastern_time(self) -> (u32, u32) {
        match self {
            Settlement::Am => (9, 30),
            Settlement::Pm => (16, 0),
        }
    }
}

/// The quote of one option as read from the source, and what the model derived from it.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Quote {
    /// Last sale price.
    pub last: f64,
    /// Net change of the last sale.
    pub net: f64,
    /// Best bid.
    pub bid: f64,
    /// Best ask.
    pub ask: f64,
    /// Session volume (contracts).
    pub volume: u64,
    /// Open interest (contracts).
    pub open_interest: u64,
    /// Implied volatility given by the source (`None` when absent).
    pub iv_src: Option<f64>,
    /// Delta given by the source.
    pub delta_src: Option<f64>,
    /// Gamma given by the source (per index point).
    pub gamma_src: Option<f64>,
    /// Implied volatility used by the model: the source's when positive, otherwise solved from
    /// the mid; `None` when neither is available. Set by [`Chain::compute_model`].
    pub iv: Option<f64>,
    /// True when [`Quote::iv`] was solved from the mid.
    pub iv_from_mid: bool,
    /// BSM price and greeks at the chain's spot and valuation time with [`Quote::iv`].
    pub greeks: Option<Greeks>,
}

impl Quote {
    /// Mid price when both sides are quoted and not crossed.
    pub fn mid(&self) -> Option<f64> {
        (self.bid > 0.0 && self.ask > 0.0 && self.ask >= self.bid).then_some(0.5 * (self.bid + self.ask))
    }

    /// Gamma to use for exposure: the source's when given (and `prefer_source`), else the
    /// model's; 0 when neither exists.
    pub fn gamma_for_exposure(&self, prefer_source: bool) -> f64 {
        match (prefer_source, self.gamma_src, self.greeks) {
            (true, Some(g), _) if g.is_finite() => g,
            (_, _, Some(gr)) => gr.gamma,
            (false, Some(g), None) if g.is_finite() => g,
            _ => 0.0,
        }
    }
}

/// One row of the chain: the call and the put of one expiration, root and strike.
#[derive(Clone, Debug, PartialEq)]
pub struct ChainRow {
    /// Expiration date.
    pub expiry: Date,
    /// Root symbol (which also gives the settlement style).
    pub root: Root,
    /// Strike in index points.
    pub strike: f64,
    /// The call.
    pub call: Quote,
    /// The put.
    pub put: Quote,
}

impl ChainRow {
    /// Settlement style.
    pub fn settlement(&self) -> Settlement {
        self.root.settlement()
    }

    /// UTC ns at which the options of this row settle.
    pub fn expiry_ts_ns(&self) -> Option<u64> {
        let (hh, mm) = self.settlement().eastern_time();
        self.expiry.at_eastern_ns(hh, mm)
    }

    /// The quote of one side.
    pub fn quote(&self, kind: OptionKind) -> &Quote {
        match kind {
            OptionKind::Call => &self.call,
            OptionKind::Put => &self.put,
        }
    }
}

/// Rates used by the chain model.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ModelParams {
    /// Risk-free rate (continuous, annual).
    pub rate: f64,
    /// Dividend yield (continuous, annual).
    pub div: f64,
    /// Smallest time to expiry used (years); options closer to settlement use this.
    pub min_t: f64,
}

impl Default for ModelParams {
    /// r = q = 0 (the convention of the public GEX tools), minimum time 1 minute.
    fn default() -> Self {
        ModelParams { rate: 0.0, div: 0.0, min_t: 60.0 / SECS_PER_YEAR }
    }
}

/// An option chain on one underlying at one valuation time.
#[derive(Clone, Debug, PartialEq)]
pub struct Chain {
    /// Name of the underlying as given by the source (e.g. "Standard & Poors 500 Index").
    pub underlying: String,
    /// Spot (index level) at valuation time.
    pub spot: f64,
    /// Valuation (quote) time, UTC ns.
    pub valuation_ts_ns: u64,
    /// Rows, in source order.
    pub rows: Vec<ChainRow>,
}

impl Chain {
    /// Time in years from valuation to the settlement of `row`, floored at `min_t`.
    pub fn time_to_expiry(&self, row: &ChainRow, min_t: f64) -> f64 {
        let exp = row.expiry_ts_ns().unwrap_or(0);
        let secs = (exp as f64 - self.valuation_ts_ns as f64) / 1e9;
        (secs / SECS_PER_YEAR).max(min_t)
    }

    /// Valuation date in New York time.
    pub fn valuation_date(&self) -> Date {
        calendar::eastern_date(self.valuation_ts_ns)
    }

    /// Fills [`Quote::iv`], [`Quote::iv_from_mid`] and [`Quote::greeks`] for every option:
    /// the source IV when positive, else the IV solved from the mid (bid/ask) price; greeks by
    /// BSM at the chain's spot with exact time to settlement (floored at `params.min_t`).
    /// Rows already expired at valuation time get no IV and no greeks. Returns the number of
    /// options whose IV was recomputed from the mid.
    pub fn compute_model(&mut self, params: &ModelParams) -> usize {
        let spot = self.spot;
        let val = self.valuation_ts_ns;
        let mut recomputed = 0;
        for row in &mut self.rows {
            let exp = row.expiry_ts_ns().unwrap_or(0);
            let alive = exp > val;
            let t = ((exp as f64 - val as f64) / 1e9 / SECS_PER_YEAR).max(params.min_t);
            let base =
                BsmInputs { spot, strike: row.strike, rate: params.rate, div: params.div, vol: 0.0, t };
            for kind in [OptionKind::Call, OptionKind::Put] {
                let q = match kind {
                    OptionKind::Call => &mut row.call,
                    OptionKind::Put => &mut row.put,
                };
                q.iv = None;
                q.iv_from_mid = false;
                q.greeks = None;
                if !alive || spot.is_nan() || spot <= 0.0 {
                    continue;
                }
                let iv = match q.iv_src {
                    Some(v) if v > 0.0 && v.is_finite() => Some(v),
                    _ => {
                        let solved = q.mid().and_then(|m| implied_vol(kind, m, &base).ok());
                        q.iv_from_mid = solved.is_some();
                        recomputed += usize::from(solved.is_some());
                        solved
                    }
                };
                q.iv = iv;
                q.greeks = iv.map(|vol| bsm::greeks(kind, &BsmInputs { vol, ..base }));
            }
        }
        recomputed
    }

    /// Distinct expirations (sorted).
    pub fn expiries(&self) -> Vec<Date> {
        let mut v: Vec<Date> = self.rows.iter().map(|r| r.expiry).collect();
        v.sort_unstable();
        v.dedup();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain() -> Chain {
        let val = Date { year: 2022, month: 2, day: 7 }.at_eastern_ns(10, 0).unwrap_or(0);
        let q = |bid: f64, ask: f64, iv: Option<f64>| Quote { bid, ask, iv_src: iv, ..Quote::default() };
        Chain {
            underlying: "Test".into(),
            spot: 4500.0,
            valuation_ts_ns: val,
            rows: vec![
                ChainRow {
                    expiry: Date { year: 2022, month: 2, day: 18 },
                    root: Root::Spxw,
                    strike: 4500.0,
                    call: q(60.0, 61.0, Some(0.2)),
                    put: q(58.0, 59.0, None),
                },
                ChainRow {
                    expiry: Date { year: 2022, month: 2, day: 4 },
                    root: Root::Spxw,
                    strike: 4500.0,
                    call: q(1.0, 2.0, Some(0.2)),
                    put: q(1.0, 2.0, None),
                },
            ],
        }
    }

    #[test]
    fn model_fills_iv_from_mid() {
        let mut c = chain();
        let n = c.compute_model(&ModelParams::default());
        assert_eq!(n, 1);
        let r = &c.rows[0];
        assert_eq!(r.call.iv, Some(0.2));
        assert!(!r.call.iv_from_mid && r.put.iv_from_mid);
        let iv = r.put.iv.unwrap_or(f64::NAN);
        let g = r.put.greeks.unwrap_or_default();
        assert!((g.price - 58.5).abs() < 1e-6, "{g:?}");
        assert!(iv > 0.05 && iv < 0.5, "{iv}");
        // Expired row: nothing computed.
        assert!(c.rows[1].call.greeks.is_none() && c.rows[1].put.iv.is_none());
        // PM settlement at 16:00 ET: 11 days + 6 h from 10:00 ET.
        let t = c.time_to_expiry(&c.rows[0], 0.0);
        assert!((t * 365.0 - (11.0 + 6.0 / 24.0)).abs() < 1e-9, "{t}");
        assert_eq!(c.rows[0].settlement(), Settlement::Pm);
        assert_eq!(Root::Spx.settlement(), Settlement::Am);
        assert_eq!(Root::parse("SPXW"), Some(Root::Spxw));
        assert_eq!(Root::parse("NDX"), None);
    }

    #[test]
    fn exposure_gamma_preference() {
        let mut q = Quote { gamma_src: Some(0.002), ..Quote::default() };
        assert_eq!(q.gamma_for_exposure(true), 0.002);
        assert_eq!(q.gamma_for_exposure(false), 0.002);
        q.greeks = Some(Greeks { gamma: 0.003, ..Greeks::default() });
        assert_eq!(q.gamma_for_exposure(true), 0.002);
        assert_eq!(q.gamma_for_exposure(false), 0.003);
        q.gamma_src = None;
        assert_eq!(q.gamma_for_exposure(true), 0.003);
        assert_eq!(Quote::default().gamma_for_exposure(true), 0.0);
    }
}
