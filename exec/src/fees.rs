//! Commissions and fees.
//!
//! Money in MIA's accounting is [`NanoUsd`] (1e-9 USD), like [`mia_model::msg::Fill::fee`]:
//! exact integer sums, no float drift over a session, ±9.2 billion USD of range.
//!
//! The **schedule** ([`FeeConfig`] `[fees]` → [`FeeSchedule`] + [`FeeMeter`]): IBKR's tiered
//! broker commission by monthly volume, plus the exchange, clearing and NFA regulatory fees per
//! contract, for ES and MES. The simulated venue ([`crate::sim::SimVenue`]) prices every fill
//! with it.
//!
//! Published figures (read 2026-12-01 from the pages below, which carry no date of their own;
//! they change, so every figure is a configurable default and a live account should set them
//! from the broker's current schedule):
//!
//! | item | ES | MES | source |
//! |---|---|---|---|
//! | IBKR tiered commission, ≤ 1,000 contracts/month | 0.85 | 0.25 | [IBKR futures commissions] |
//! | 1,001 – 10,000 | 0.65 | 0.20 | same |
//! | 10,001 – 20,000 | 0.45 | 0.15 | same |
//! | > 20,000 | 0.25 | 0.10 | same |
//! | CME Globex exchange fee (non-member) | 1.38 | 0.35 | [IBKR CME fees] |
//! | NFA regulatory fee | 0.02 | 0.02 | [IBKR CME fees] ("assessed by the NFA"), and the 0.02 of the other IBKR US futures fee pages |
//! | clearing fee | 0.02 | 0.02 | **not found** for CME on an authoritative page: 0.02 is IBKR's per-contract clearing fee on its Small Exchange page, kept as a configurable default |
//!
//! IBKR applies the tiers **marginally** within a calendar month, on the month's cumulative
//! volume summed across all futures (its example: 1,500 contracts in a month = 1,000 at the first
//! rate + 500 at the second), which is what [`FeeMeter`] does. With the defaults one ES contract
//! costs 0.85 + 1.38 + 0.02 + 0.02 = 2.27 USD per side in the first tier, one MES contract
//! 0.25 + 0.35 + 0.02 + 0.02 = 0.64 USD.
//!
//! [IBKR futures commissions]: https://www.interactivebrokers.com/en/pricing/commissions-futures.php
//! [IBKR CME fees]: https://www.interactivebrokers.com/en/accounts/fees/CME.php

use mia_model::money::NanoUsd;

/// Most commission tiers a schedule may have.
pub const FEE_TIERS_CAP: usize = 8;

/// Largest accepted per-contract amount in a schedule, USD (a sanity bound, not a real fee).
pub const MAX_FEE_USD: f64 = 1_000.0;

/// Fee schedule of one product (`[fees.es]`, `[fees.mes]`). When a product table is written in
/// the config, all of its keys are required, so that a partly written table cannot silently
/// take the other product's figures.
#[derive(Clone, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct ProductFees {
    /// Inclusive upper bounds of the monthly-volume tiers except the last, contracts, strictly
    /// increasing (ES and MES: `[1000, 10000, 20000]`).
    pub tier_max_contracts: Vec<u64>,
    /// Broker commission per contract of each tier, USD; one more entry than
    /// `tier_max_contracts` (ES: `[0.85, 0.65, 0.45, 0.25]`, MES: `[0.25, 0.20, 0.15, 0.10]`).
    pub commission_usd: Vec<f64>,
    /// Exchange fee per contract, USD (ES 1.38, MES 0.35).
    pub exchange_usd: f64,
    /// Clearing fee per contract, USD (0.02; see the module docs).
    pub clearing_usd: f64,
    /// NFA regulatory fee per contract, USD (0.02).
    pub nfa_usd: f64,
}

impl ProductFees {
    /// IBKR tiered, ES (the module docs give the sources).
    pub fn ibkr_es() -> Self {
        Self {
            tier_max_contracts: vec![1_000, 10_000, 20_000],
            commission_usd: vec![0.85, 0.65, 0.45, 0.25],
            exchange_usd: 1.38,
            clearing_usd: 0.02,
            nfa_usd: 0.02,
        }
    }

    /// IBKR tiered, MES (the module docs give the sources).
    pub fn ibkr_mes() -> Self {
        Self {
            tier_max_contracts: vec![1_000, 10_000, 20_000],
            commission_usd: vec![0.25, 0.20, 0.15, 0.10],
            exchange_usd: 0.35,
            clearing_usd: 0.02,
            nfa_usd: 0.02,
        }
    }

    fn validate(&self, section: &str) -> Result<(), String> {
        let ok_usd = |x: f64| x.is_finite() && (0.0..=MAX_FEE_USD).contains(&x);
        if self.tier_max_contracts.len() >= FEE_TIERS_CAP {
            return Err(format!("{section}.tier_max_contracts: at most {} bounds", FEE_TIERS_CAP - 1));
        }
        if self.tier_max_contracts.first() == Some(&0)
            || self.tier_max_contracts.windows(2).any(|w| w[0] >= w[1])
        {
            return Err(format!("{section}.tier_max_contracts: must be positive and strictly increasing"));
        }
        if self.commission_usd.len() != self.tier_max_contracts.len() + 1 {
            return Err(format!(
                "{section}.commission_usd: needs one rate per tier ({} = bounds + 1)",
                self.tier_max_contracts.len() + 1
            ));
        }
        if !self.commission_usd.iter().all(|&c| ok_usd(c)) {
            return Err(format!("{section}.commission_usd: every rate must be in [0, {MAX_FEE_USD}]"));
        }
        for (key, v) in [
            ("exchange_usd", self.exchange_usd),
            ("clearing_usd", self.clearing_usd),
            ("nfa_usd", self.nfa_usd),
        ] {
            if !ok_usd(v) {
                return Err(format!("{section}.{key}: must be in [0, {MAX_FEE_USD}]"));
            }
        }
        Ok(())
    }
}

/// The fee schedules (`[fees]`).
#[derive(Clone, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct FeeConfig {
    /// `[fees.es]`: E-mini S&P 500 (default [`ProductFees::ibkr_es`]).
    pub es: ProductFees,
    /// `[fees.mes]`: Micro E-mini S&P 500 (default [`ProductFees::ibkr_mes`]).
    pub mes: ProductFees,
}

impl Default for FeeConfig {
    /// IBKR tiered for both products.
    fn default() -> Self {
        Self { es: ProductFees::ibkr_es(), mes: ProductFees::ibkr_mes() }
    }
}

impl FeeConfig {
    /// Checks both product tables against [`FEE_TIERS_CAP`] and the bounds.
    ///
    /// # Errors
    /// `fees.<product>.<key>: reason` for the first bad key.
    pub fn validate(&self) -> Result<(), String> {
        self.es.validate("fees.es")?;
        self.mes.validate("fees.mes")
    }

    /// The table of a product root (`"ES"`, `"MES"`, as in
    /// [`mia_model::contract::ContractSpec::root`]).
    pub fn product(&self, root: &str) -> Option<&ProductFees> {
        match root {
            "ES" => Some(&self.es),
            "MES" => Some(&self.mes),
            _ => None,
        }
    }
}

/// The fees of one fill, nano-USD.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FeeBreakdown {
    /// Broker commission.
    pub commission: NanoUsd,
    /// Exchange fee.
    pub exchange: NanoUsd,
    /// Clearing fee.
    pub clearing: NanoUsd,
    /// NFA regulatory fee.
    pub nfa: NanoUsd,
}

impl FeeBreakdown {
    /// Sum of the four parts (what goes into [`mia_model::msg::Fill::fee`]).
    #[inline]
    pub fn total(&self) -> NanoUsd {
        self.commission + self.exchange + self.clearing + self.nfa
    }
}

/// A product's schedule in fixed arrays and nano-USD, ready for the fill path (no allocation,
/// O([`FEE_TIERS_CAP`]) per fill).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FeeSchedule {
    /// Inclusive upper bound of each tier; the last tier's is `u64::MAX`.
    bounds: [u64; FEE_TIERS_CAP],
    commission: [NanoUsd; FEE_TIERS_CAP],
    tiers: usize,
    exchange: NanoUsd,
    clearing: NanoUsd,
    nfa: NanoUsd,
}

impl FeeSchedule {
    /// The schedule of a validated product table (bounds beyond the cap are ignored).
    pub fn new(p: &ProductFees) -> Self {
        let mut bounds = [u64::MAX; FEE_TIERS_CAP];
        let mut commission = [NanoUsd::ZERO; FEE_TIERS_CAP];
        let tiers = p.commission_usd.len().clamp(1, FEE_TIERS_CAP);
        for (i, b) in p.tier_max_contracts.iter().take(tiers - 1).enumerate() {
            bounds[i] = *b;
        }
        for (i, c) in p.commission_usd.iter().take(tiers).enumerate() {
            commission[i] = NanoUsd::from_usd(*c);
        }
        Self {
            bounds,
            commission,
            tiers,
            exchange: NanoUsd::from_usd(p.exchange_usd),
            clearing: NanoUsd::from_usd(p.clearing_usd),
            nfa: NanoUsd::from_usd(p.nfa_usd),
        }
    }

    /// The schedule for the run summary, e.g. `tiered commission 0.85/0.65/0.45/0.25 USD
    /// (monthly contracts ≤1000/≤10000/≤20000/more) + exchange 1.38 + clearing 0.02 + NFA 0.02
    /// per contract per side`.
    pub fn describe(&self) -> String {
        // Cents when exact, else every digit.
        let usd = |n: NanoUsd| n.to_string();
        let rates: Vec<String> = self.commission[..self.tiers].iter().map(|&c| usd(c)).collect();
        let mut bounds: Vec<String> = self.bounds[..self.tiers - 1].iter().map(|b| format!("≤{b}")).collect();
        let tiers = if self.tiers > 1 {
            bounds.push("more".into());
            format!(" (monthly contracts {})", bounds.join("/"))
        } else {
            String::new()
        };
        format!(
            "{} commission {} USD{tiers} + exchange {} + clearing {} + NFA {} per contract per side",
            if self.tiers > 1 { "tiered" } else { "flat" },
            rates.join("/"),
            usd(self.exchange),
            usd(self.clearing),
            usd(self.nfa)
        )
    }

    /// Broker commission of the `k`-th contract of the month (1-based), nano-USD.
    pub fn commission_of(&self, k: u64) -> NanoUsd {
        let i = self.bounds[..self.tiers].iter().position(|&b| k <= b).unwrap_or(self.tiers - 1);
        self.commission[i]
    }

    /// Fees of `qty` contracts when `month_volume` contracts were already traded this month:
    /// contracts `month_volume + 1 … month_volume + qty`, each at the rate of its own tier
    /// (marginal tiers), plus the per-contract exchange, clearing and NFA fees.
    pub fn fee(&self, month_volume: u64, qty: u32) -> FeeBreakdown {
        let q = u64::from(qty);
        let first = month_volume.saturating_add(1);
        let last = month_volume.saturating_add(q);
        let mut commission = NanoUsd::ZERO;
        let mut lower = 0u64; // contracts below this tier
        for i in 0..self.tiers {
            let upper = self.bounds[i];
            let lo = first.max(lower.saturating_add(1));
            let hi = last.min(upper);
            if q > 0 && lo <= hi {
                let n = i64::try_from(hi - lo + 1).unwrap_or(i64::MAX);
                commission += self.commission[i].times(n);
            }
            if upper >= last {
                break;
            }
            lower = upper;
        }
        let n = i64::from(qty);
        FeeBreakdown {
            commission,
            exchange: self.exchange.times(n),
            clearing: self.clearing.times(n),
            nfa: self.nfa.times(n),
        }
    }
}

/// The month's cumulative contract volume, shared by every product of the account (IBKR sums
/// all futures for its tiers), which prices each fill on its [`FeeSchedule`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FeeMeter {
    month: u32,
    volume: u64,
}

impl FeeMeter {
    /// A meter with no volume.
    pub const fn new() -> Self {
        Self { month: 0, volume: 0 }
    }

    /// Contracts counted in the current month.
    pub fn volume(&self) -> u64 {
        self.volume
    }

    /// The fees of a fill of `qty` contracts in calendar month `month` (e.g. `yyyymm`); the
    /// volume restarts from 0 when the month changes. The fill's contracts are then counted.
    pub fn charge(&mut self, schedule: &FeeSchedule, month: u32, qty: u32) -> FeeBreakdown {
        if month != self.month {
            self.month = month;
            self.volume = 0;
        }
        let f = schedule.fee(self.volume, qty);
        self.volume = self.volume.saturating_add(u64::from(qty));
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NANO: i64 = NanoUsd::PER_USD;

    #[test]
    fn es_first_contract_costs_the_published_all_in_figure() {
        let es = FeeSchedule::new(&ProductFees::ibkr_es());
        let f = es.fee(0, 1);
        assert_eq!(
            f,
            FeeBreakdown {
                commission: NanoUsd::from_nano(850_000_000),
                exchange: NanoUsd::from_nano(1_380_000_000),
                clearing: NanoUsd::from_nano(20_000_000),
                nfa: NanoUsd::from_nano(20_000_000)
            }
        );
        assert_eq!(f.total().nano(), 2_270_000_000);
        let mes = FeeSchedule::new(&ProductFees::ibkr_mes());
        assert_eq!(mes.fee(0, 1).total().nano(), 640_000_000);
        assert_eq!(mes.fee(0, 10).total().nano(), 6_400_000_000);
        assert_eq!(es.fee(5, 0), FeeBreakdown::default());
    }

    #[test]
    fn the_schedule_describes_itself() {
        assert_eq!(
            FeeSchedule::new(&ProductFees::ibkr_es()).describe(),
            "tiered commission 0.85/0.65/0.45/0.25 USD (monthly contracts ≤1000/≤10000/≤20000/more) \
             + exchange 1.38 + clearing 0.02 + NFA 0.02 per contract per side"
        );
        let flat =
            ProductFees { tier_max_contracts: vec![], commission_usd: vec![1.0], ..ProductFees::ibkr_mes() };
        assert_eq!(
            FeeSchedule::new(&flat).describe(),
            "flat commission 1.00 USD + exchange 0.35 + clearing 0.02 + NFA 0.02 per contract per side"
        );
    }

    #[test]
    fn commission_tiers_are_marginal_by_monthly_volume() {
        let es = FeeSchedule::new(&ProductFees::ibkr_es());
        assert_eq!(es.commission_of(1).nano(), 850_000_000);
        assert_eq!(es.commission_of(1_000).nano(), 850_000_000);
        assert_eq!(es.commission_of(1_001).nano(), 650_000_000);
        assert_eq!(es.commission_of(10_001).nano(), 450_000_000);
        assert_eq!(es.commission_of(20_000).nano(), 450_000_000);
        assert_eq!(es.commission_of(20_001).nano(), 250_000_000);
        assert_eq!(es.commission_of(u64::MAX).nano(), 250_000_000);
        // IBKR's own example: 1,500 contracts in a month = 1,000 × 0.85 + 500 × 0.65 = 1,175.
        assert_eq!(es.fee(0, 1_500).commission.nano(), 1_175 * NANO);
        // Straddling a bound: contracts 1,000 (0.85) and 1,001, 1,002 (0.65) = 2.15.
        assert_eq!(es.fee(999, 3).commission.nano(), 2_150_000_000);
        // Across every tier at once: 1000·0.85 + 9000·0.65 + 10000·0.45 + 5·0.25.
        assert_eq!(
            es.fee(0, 20_005).commission.nano(),
            850 * NANO + 5_850 * NANO + 4_500 * NANO + 1_250_000_000
        );
        let mes = FeeSchedule::new(&ProductFees::ibkr_mes());
        assert_eq!(mes.fee(25_000, 4).commission.nano(), 400_000_000);
    }

    #[test]
    fn the_meter_sums_products_and_restarts_each_month() {
        let es = FeeSchedule::new(&ProductFees::ibkr_es());
        let mes = FeeSchedule::new(&ProductFees::ibkr_mes());
        let mut m = FeeMeter::new();
        assert_eq!(m.charge(&es, 202_612, 1_000).commission.nano(), 850 * NANO);
        // The month's 1,001st contract is an MES: second MES tier (0.20).
        assert_eq!(m.charge(&mes, 202_612, 1).commission.nano(), 200_000_000);
        assert_eq!(m.volume(), 1_001);
        // A new month starts again in the first tier.
        assert_eq!(m.charge(&es, 202_701, 1).commission.nano(), 850_000_000);
        assert_eq!(m.volume(), 1);
    }

    #[test]
    fn fee_config_defaults_lookup_and_validation() {
        let c = FeeConfig::default();
        assert_eq!(c.validate(), Ok(()));
        assert_eq!(c.product("MES"), Some(&ProductFees::ibkr_mes()));
        assert_eq!(c.product("NQ"), None);
        let key = |c: FeeConfig| c.validate().unwrap_err().split(':').next().unwrap_or("").to_string();
        let mut bad = FeeConfig::default();
        bad.es.tier_max_contracts = vec![1_000, 1_000, 20_000];
        assert_eq!(key(bad), "fees.es.tier_max_contracts");
        let mut bad = FeeConfig::default();
        bad.es.tier_max_contracts = vec![0, 10, 20];
        assert_eq!(key(bad), "fees.es.tier_max_contracts");
        let mut bad = FeeConfig::default();
        bad.mes.tier_max_contracts = (1..=FEE_TIERS_CAP as u64).collect();
        bad.mes.commission_usd = vec![0.1; FEE_TIERS_CAP + 1];
        assert_eq!(key(bad), "fees.mes.tier_max_contracts");
        let mut bad = FeeConfig::default();
        bad.mes.commission_usd.pop();
        assert_eq!(key(bad), "fees.mes.commission_usd");
        let mut bad = FeeConfig::default();
        bad.es.commission_usd[2] = f64::NAN;
        assert_eq!(key(bad), "fees.es.commission_usd");
        let mut bad = FeeConfig::default();
        bad.mes.exchange_usd = -0.01;
        assert_eq!(key(bad), "fees.mes.exchange_usd");
        let mut bad = FeeConfig::default();
        bad.es.clearing_usd = f64::INFINITY;
        assert_eq!(key(bad), "fees.es.clearing_usd");
        let mut bad = FeeConfig::default();
        bad.es.nfa_usd = 2_000.0;
        assert_eq!(key(bad), "fees.es.nfa_usd");
        // A single flat tier is a valid schedule.
        let flat =
            ProductFees { tier_max_contracts: vec![], commission_usd: vec![1.0], ..ProductFees::ibkr_es() };
        assert_eq!(FeeConfig { es: flat.clone(), ..FeeConfig::default() }.validate(), Ok(()));
        assert_eq!(FeeSchedule::new(&flat).fee(123_456, 2).commission.nano(), 2 * NANO);
    }
}
