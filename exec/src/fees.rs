//! Commissions and fees.
//!
//! Money in MIA's accounting is `i64` in 1e-9 USD ("nano-USD"), like [`mia_model::msg::Fill::fee`]:
//! exact integer sums, no float drift over a session, ±9.2 billion USD of range.
//!
//! The default all-in cost of one ES contract per side is [`DEFAULT_ES_PER_CONTRACT_USD`] =
//! 2.25 USD, the usual order of magnitude of an IBKR retail ES fill: broker commission
//! (IBKR tiered, ≤ 1,000 contracts a month, about 0.85) + CME Globex exchange fee for a
//! non-member (about 1.38) + clearing (about 0.02) + NFA regulatory fee (0.02) ≈ 2.27,
//! rounded to 2.25. These published figures change; the per-contract amount is configurable
//! ([`crate::sim::SimConfig::commission_per_contract_usd`]) and a live run should set it from the
//! broker's current schedule. MES costs far less in exchange fees (about 0.62 all-in).

/// Nano-USD in one USD.
pub const NANO_PER_USD: i64 = 1_000_000_000;

/// Default all-in commission + fees for one ES contract, one side, USD (see the module docs).
pub const DEFAULT_ES_PER_CONTRACT_USD: f64 = 2.25;

/// Converts a USD amount to nano-USD, rounding to the nearest unit (saturating; NaN → 0).
#[inline]
pub fn usd_to_nano(usd: f64) -> i64 {
    // `as` saturates for out-of-range floats and maps NaN to 0.
    (usd * NANO_PER_USD as f64).round() as i64
}

/// Converts nano-USD to USD (for reports).
#[inline]
pub fn nano_to_usd(nano: i64) -> f64 {
    nano as f64 / NANO_PER_USD as f64
}

/// Fee for `qty` contracts at `per_contract_usd` each, in nano-USD.
#[inline]
pub fn fee_nano(per_contract_usd: f64, qty: u32) -> i64 {
    usd_to_nano(per_contract_usd).saturating_mul(i64::from(qty))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fees_are_exact_in_nano_usd() {
        assert_eq!(fee_nano(DEFAULT_ES_PER_CONTRACT_USD, 1), 2_250_000_000);
        assert_eq!(fee_nano(DEFAULT_ES_PER_CONTRACT_USD, 4), 9_000_000_000);
        assert_eq!(fee_nano(0.62, 3), 1_860_000_000);
        assert_eq!(fee_nano(2.25, 0), 0);
        assert_eq!(usd_to_nano(f64::NAN), 0);
        assert_eq!(nano_to_usd(-1_500_000_000), -1.5);
    }
}
