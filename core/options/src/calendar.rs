//! The SPX/VIX expiration calendar, on the civil dates and US exchange trading days of
//! [`mia_model::time::calendar`].
//!
//! Expirations: SPX monthly (AM-settled) on the 3rd Friday, moved to the Thursday before when
//! that Friday is a holiday; SPXW (PM-settled) on every trading day; quarterly months March,
//! June, September, December (quad witching); VIX on the Wednesday 30 days before the next
//! month's SPX monthly expiry, moved to the previous trading day when that Wednesday is a
//! holiday. All functions are allocation-free.

use mia_model::time::calendar::{is_trading_day, nth_weekday, previous_trading_day, Date, Weekday};

/// Standard monthly SPX (AM-settled) expiration of a month: the 3rd Friday, or the trading day
/// before it when that Friday is a holiday (e.g. Good Friday 2022-04-15 → 2022-04-14).
pub fn monthly_expiry(year: i32, month: u8) -> Date {
    let f = nth_weekday(year, month, Weekday::Fri, 3);
    if is_trading_day(f) {
        f
    } else {
        previous_trading_day(f)
    }
}

/// True for the quarterly (quad-witching) months March, June, September and December.
#[inline]
pub fn is_quarterly_month(month: u8) -> bool {
    matches!(month, 3 | 6 | 9 | 12)
}

/// True when `d` is the monthly expiry of a quarterly month (quad witching).
pub fn is_quad_witching(d: Date) -> bool {
    is_quarterly_month(d.month) && monthly_expiry(d.year, d.month) == d
}

/// True when `d` is its month's monthly SPX expiration.
pub fn is_monthly_expiry(d: Date) -> bool {
    monthly_expiry(d.year, d.month) == d
}

/// The first monthly expiration on or after `d`.
pub fn next_monthly_expiry(d: Date) -> Date {
    let this = monthly_expiry(d.year, d.month);
    if this >= d {
        this
    } else if d.month == 12 {
        monthly_expiry(d.year + 1, 1)
    } else {
        monthly_expiry(d.year, d.month + 1)
    }
}

/// Calendar days from `d` to the next monthly expiration (0 on the expiration day).
pub fn days_to_monthly_opex(d: Date) -> u32 {
    d.days_until(next_monthly_expiry(d)) as u32
}

/// True during OPEX week: `d` lies in the Monday–Friday week that contains its month's next
/// monthly expiration (the Monday before through the Friday of the 3rd week).
pub fn is_opex_week(d: Date) -> bool {
    let e = next_monthly_expiry(d);
    let friday = nth_weekday(e.year, e.month, Weekday::Fri, 3);
    let monday = friday.add_days(-4);
    d >= monday && d <= friday
}

/// True when `d` has SPXW (PM-settled) options expiring: every trading day.
pub fn is_spxw_expiry(d: Date) -> bool {
    is_trading_day(d)
}

/// VIX expiration for the VIX futures/options month `(year, month)`: the Wednesday 30 days
/// before the SPX monthly expiration of the following month (computed from the trading day
/// before the 3rd Friday when that Friday is a holiday); moved to the previous trading day if
/// that Wednesday is a holiday.
pub fn vix_expiry(year: i32, month: u8) -> Date {
    let (ny, nm) = if month == 12 { (year + 1, 1) } else { (year, month + 1) };
    let spx = monthly_expiry(ny, nm);
    let w = spx.add_days(-30);
    if is_trading_day(w) {
        w
    } else {
        previous_trading_day(w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u8, day: u8) -> Date {
        Date::new(y, m, day).expect("valid test date")
    }

    #[test]
    fn expirations() {
        assert_eq!(monthly_expiry(2022, 2), d(2022, 2, 18));
        // Good Friday 2022-04-15 → Thursday (the real file has "Thu Apr 14 2022").
        assert_eq!(monthly_expiry(2022, 4), d(2022, 4, 14));
        assert_eq!(monthly_expiry(2025, 4), d(2025, 4, 17));
        assert!(is_quad_witching(d(2022, 3, 18)));
        assert!(!is_quad_witching(d(2022, 2, 18)));
        assert!(!is_quad_witching(d(2022, 3, 17)));
        // VIX: Wed 30 days before the next month's SPX expiry.
        assert_eq!(vix_expiry(2022, 6), d(2022, 6, 15));
        assert_eq!(vix_expiry(2024, 1), d(2024, 1, 17));
        // March 2022: April's SPX expiry moved to Thu Apr 14 (Good Friday) → Tue Mar 15.
        assert_eq!(vix_expiry(2022, 3), d(2022, 3, 15));
        assert_eq!(vix_expiry(2021, 12), d(2021, 12, 22));
        // Gamma-cycle features.
        assert_eq!(days_to_monthly_opex(d(2022, 2, 5)), 13);
        assert_eq!(days_to_monthly_opex(d(2022, 2, 18)), 0);
        assert_eq!(next_monthly_expiry(d(2022, 2, 19)), d(2022, 3, 18));
        assert_eq!(next_monthly_expiry(d(2022, 12, 17)), d(2023, 1, 20));
        assert!(is_opex_week(d(2022, 2, 14)) && is_opex_week(d(2022, 2, 18)));
        assert!(!is_opex_week(d(2022, 2, 11)) && !is_opex_week(d(2022, 2, 21)));
        assert!(is_opex_week(d(2022, 4, 11)));
        assert!(is_spxw_expiry(d(2022, 2, 7)) && !is_spxw_expiry(d(2022, 2, 21)));
    }
}
