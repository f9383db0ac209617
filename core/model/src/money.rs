//! Money: [`NanoUsd`], an `i64` count of 1e-9 USD.
//!
//! Every amount in MIA's accounting (fees, realized and unrealized P&L, MAE/MFE, risk limits)
//! is a `NanoUsd`: exact integer sums with no float drift over a session, ±9.2 billion USD of
//! range. Floats appear only at the edges, through [`NanoUsd::from_usd`] (config, broker
//! reports) and [`NanoUsd::to_usd`] (reports, metrics). This is the one place that converts.
//!
//! The type is `#[repr(transparent)]`, so a `NanoUsd` field has the bytes of an `i64` (wire
//! formats and journals are unchanged by its use). Arithmetic saturates: an absurd amount
//! pins at the bound instead of wrapping to the opposite sign.

use core::fmt;
use core::iter::Sum;
use core::ops::{Add, AddAssign, Mul, Neg, Sub, SubAssign};

/// An amount of money in 1e-9 USD.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
#[repr(transparent)]
pub struct NanoUsd(i64);

impl NanoUsd {
    /// Zero.
    pub const ZERO: NanoUsd = NanoUsd(0);
    /// Nano-USD in one USD.
    pub const PER_USD: i64 = 1_000_000_000;
    /// The largest amount.
    pub const MAX: NanoUsd = NanoUsd(i64::MAX);

    /// From a raw count of nano-USD (a journal field, a wire field).
    #[inline]
    pub const fn from_nano(nano: i64) -> Self {
        NanoUsd(nano)
    }

    /// From whole USD, exact.
    #[inline]
    pub const fn from_whole_usd(usd: i64) -> Self {
        NanoUsd(usd.saturating_mul(Self::PER_USD))
    }

    /// From a USD amount, rounded to the nearest nano-USD; saturating for out-of-range values
    /// and 0 for NaN (callers validate their inputs first: config checks reject non-finite
    /// amounts before they get here).
    #[inline]
    pub fn from_usd(usd: f64) -> Self {
        // `as` saturates for out-of-range floats and maps NaN to 0.
        NanoUsd((usd * Self::PER_USD as f64).round() as i64)
    }

    /// The raw count of nano-USD (for wire and journal fields).
    #[inline]
    pub const fn nano(self) -> i64 {
        self.0
    }

    /// In USD, for reports and metrics only (never for a decision).
    #[inline]
    pub fn to_usd(self) -> f64 {
        self.0 as f64 / Self::PER_USD as f64
    }

    /// `self × qty`, saturating.
    #[inline]
    pub const fn times(self, qty: i64) -> Self {
        NanoUsd(self.0.saturating_mul(qty))
    }

    /// The absolute amount (saturating at `MAX`).
    #[inline]
    pub const fn abs(self) -> Self {
        NanoUsd(self.0.saturating_abs())
    }

    /// True below zero.
    #[inline]
    pub const fn is_negative(self) -> bool {
        self.0 < 0
    }
}

impl Add for NanoUsd {
    type Output = NanoUsd;
    #[inline]
    fn add(self, rhs: NanoUsd) -> NanoUsd {
        NanoUsd(self.0.saturating_add(rhs.0))
    }
}

impl Sub for NanoUsd {
    type Output = NanoUsd;
    #[inline]
    fn sub(self, rhs: NanoUsd) -> NanoUsd {
        NanoUsd(self.0.saturating_sub(rhs.0))
    }
}

impl AddAssign for NanoUsd {
    #[inline]
    fn add_assign(&mut self, rhs: NanoUsd) {
        *self = *self + rhs;
    }
}

impl SubAssign for NanoUsd {
    #[inline]
    fn sub_assign(&mut self, rhs: NanoUsd) {
        *self = *self - rhs;
    }
}

impl Neg for NanoUsd {
    type Output = NanoUsd;
    #[inline]
    fn neg(self) -> NanoUsd {
        NanoUsd(self.0.saturating_neg())
    }
}

impl Mul<i64> for NanoUsd {
    type Output = NanoUsd;
    /// An amount times a count (contracts, whole units), saturating.
    #[inline]
    fn mul(self, rhs: i64) -> NanoUsd {
        self.times(rhs)
    }
}

impl Mul<NanoUsd> for i64 {
    type Output = NanoUsd;
    /// A count times an amount, saturating.
    #[inline]
    fn mul(self, rhs: NanoUsd) -> NanoUsd {
        rhs.times(self)
    }
}

impl Sum for NanoUsd {
    fn sum<I: Iterator<Item = NanoUsd>>(iter: I) -> NanoUsd {
        iter.fold(NanoUsd::ZERO, |a, b| a + b)
    }
}

impl fmt::Display for NanoUsd {
    /// Exact decimal USD with at least 2 decimals and no trailing zeros beyond them
    /// (`-1.50`, `2.27`, `0.000000001`), computed in integers (no float rounding).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let neg = self.0 < 0;
        let abs = self.0.unsigned_abs();
        let per = Self::PER_USD as u64;
        let (whole, mut frac) = (abs / per, abs % per);
        let mut digits = 9;
        while digits > 2 && frac % 10 == 0 {
            frac /= 10;
            digits -= 1;
        }
        write!(f, "{}{}.{:0width$}", if neg { "-" } else { "" }, whole, frac, width = digits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_are_exact_where_they_can_be() {
        assert_eq!(NanoUsd::from_usd(2.25).nano(), 2_250_000_000);
        assert_eq!(NanoUsd::from_usd(0.62).times(3).nano(), 1_860_000_000);
        assert_eq!(NanoUsd::from_usd(f64::NAN), NanoUsd::ZERO);
        assert_eq!(NanoUsd::from_usd(1e30), NanoUsd::MAX);
        assert_eq!(NanoUsd::from_nano(-1_500_000_000).to_usd(), -1.5);
        assert_eq!(NanoUsd::from_whole_usd(12), NanoUsd::from_nano(12_000_000_000));
    }

    #[test]
    fn arithmetic_saturates_instead_of_wrapping() {
        assert_eq!(NanoUsd::MAX + NanoUsd::from_nano(1), NanoUsd::MAX);
        assert_eq!(-NanoUsd::from_nano(i64::MIN), NanoUsd::MAX);
        assert_eq!(NanoUsd::from_nano(i64::MIN).abs(), NanoUsd::MAX);
        assert_eq!(NanoUsd::MAX.times(2), NanoUsd::MAX);
        let s: NanoUsd = [1, 2, 3].iter().map(|&n| NanoUsd::from_nano(n)).sum();
        assert_eq!(s.nano(), 6);
        let usd = NanoUsd::from_whole_usd(1);
        assert_eq!(3 * usd, usd * 3);
        assert_eq!((3 * usd).nano(), 3_000_000_000);
        let mut a = NanoUsd::from_whole_usd(5);
        a -= NanoUsd::from_whole_usd(7);
        assert!(a.is_negative());
        a += NanoUsd::from_whole_usd(2);
        assert_eq!(a, NanoUsd::ZERO);
    }

    #[test]
    fn display_is_exact_decimal_usd() {
        assert_eq!(NanoUsd::from_nano(-1_500_000_000).to_string(), "-1.50");
        assert_eq!(NanoUsd::from_usd(2.27).to_string(), "2.27");
        assert_eq!(NanoUsd::from_nano(1).to_string(), "0.000000001");
        assert_eq!(NanoUsd::from_nano(1_234_500_000).to_string(), "1.2345");
        assert_eq!(NanoUsd::ZERO.to_string(), "0.00");
        assert_eq!(NanoUsd::from_nano(i64::MIN).to_string(), "-9223372036.854775808");
    }

    #[test]
    fn has_the_bytes_of_an_i64() {
        assert_eq!(core::mem::size_of::<NanoUsd>(), 8);
        assert_eq!(core::mem::align_of::<NanoUsd>(), core::mem::align_of::<i64>());
    }
}
