//! The SPX/VIX expiration calendar, on the civil dates and US exchange trading days of
//! [`mia_model::time::calendar`].
//!
//! Expirations: SPX monthly (AM-settled) on the 3rd Friday, moved to the Thursday before when
//! that Friday is a holiday; SPXW (PM-settled) on every trading day; quarterly months March,
//! June, September, December (quad witching); VIX on the Wednesday 30 days before the next
//! month's SPX monthly expiry, moved to the previous trading day when that Wednesday is a
//! holiday. All functions are allocation-free.

use mia_model::time::calendar::{
    is_trading_day, nth_weekday, previous_trading_day, us_exchange_holidays, Date, Weekday,
};

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

/// The last monthly expiration strictly before `d` (on an expiration day, the previous
/// month's).
pub fn previous_monthly_expiry(d: Date) -> Date {
    let this = monthly_expiry(d.year, d.month);
    if this < d {
        this
    } else if d.month == 1 {
        monthly_expiry(d.year - 1, 12)
    } else {
        monthly_expiry(d.year, d.month - 1)
    }
}

/// Weekdays (Monday–Friday) in the day numbers `(.., z]`, up to a constant: the difference of
/// two values counts the weekdays in a half-open range. Day 0 (1970-01-01) is a Thursday, so
/// `z + 3` counts days from Monday 1969-12-29.
fn weekday_rank(z: i64) -> i64 {
    let k = z + 3;
    5 * k.div_euclid(7) + (k.rem_euclid(7) + 1).min(5)
}

/// Number of trading days in `(a, b]` (0 when `b ≤ a`): weekdays minus the exchange holidays
/// in the range (holidays always fall on weekdays). Cost: O(years spanned), no allocation.
pub fn trading_days_between(a: Date, b: Date) -> u32 {
    if b <= a {
        return 0;
    }
    let weekdays = weekday_rank(b.days_since_epoch()) - weekday_rank(a.days_since_epoch());
    let mut holidays = 0i64;
    for y in a.year..=b.year {
        holidays += us_exchange_holidays(y).iter().flatten().filter(|&&h| h > a && h <= b).count() as i64;
    }
    u32::try_from(weekdays - holidays).unwrap_or(u32::MAX)
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

    /// Brute-force count of trading days in (a, b], one day at a time.
    fn count_slow(a: Date, b: Date) -> u32 {
        let mut n = 0;
        let mut x = a.add_days(1);
        while x <= b {
            n += u32::from(is_trading_day(x));
            x = x.add_days(1);
        }
        n
    }

    #[test]
    fn trading_day_counts() {
        // T13 (SIGNALS §14): Good Friday 2025-04-18 is skipped, so (04-10, 04-17] holds 5.
        assert_eq!(trading_days_between(d(2025, 4, 10), d(2025, 4, 17)), 5);
        assert_eq!(trading_days_between(d(2025, 4, 10), d(2025, 4, 18)), 5, "the holiday adds no day");
        assert_eq!(trading_days_between(d(2025, 4, 15), d(2025, 4, 17)), 2);
        // Presidents' Day 2025-02-17: Jan 22–31 (8) + Feb 3–21 without the 17th (14).
        assert_eq!(trading_days_between(d(2025, 1, 21), d(2025, 2, 21)), 22);
        // MLK Day 2025-01-20 and the weekend: (Fri 01-17, Tue 01-21] = {01-21}.
        assert_eq!(trading_days_between(d(2025, 1, 17), d(2025, 1, 21)), 1);
        // Juneteenth 2024-06-19: (06-13, 06-21] = 14, 17, 18, 20, 21.
        assert_eq!(trading_days_between(d(2024, 6, 13), d(2024, 6, 21)), 5);
        // Empty and reversed ranges, a weekend, a year boundary (New Year 2025 on a Wednesday).
        assert_eq!(trading_days_between(d(2025, 4, 17), d(2025, 4, 17)), 0);
        assert_eq!(trading_days_between(d(2025, 4, 17), d(2025, 4, 10)), 0);
        assert_eq!(trading_days_between(d(2025, 4, 18), d(2025, 4, 20)), 0);
        assert_eq!(trading_days_between(d(2024, 12, 30), d(2025, 1, 3)), 3);
        // Cross-check against the day-by-day count over ranges of every length up to 60 days,
        // starting on each day of 2019–2026 (covers every weekday offset and holiday rule).
        let mut a = d(2019, 1, 1);
        while a < d(2027, 1, 1) {
            for len in [0i64, 1, 2, 3, 6, 7, 8, 13, 30, 45, 60] {
                let b = a.add_days(len);
                assert_eq!(trading_days_between(a, b), count_slow(a, b), "{a} → {b}");
            }
            a = a.add_days(1);
        }
        // A range spanning several years: 2024 had 252 trading days, 2023 had 250.
        assert_eq!(trading_days_between(d(2023, 12, 31), d(2024, 12, 31)), 252);
        assert_eq!(trading_days_between(d(2022, 12, 31), d(2024, 12, 31)), 502);
    }

    #[test]
    fn previous_expiries() {
        // T13: E_prev of 2025-04-10 is 2025-03-21; of 2025-01-21 it is 2025-01-17.
        assert_eq!(previous_monthly_expiry(d(2025, 4, 10)), d(2025, 3, 21));
        assert_eq!(previous_monthly_expiry(d(2025, 1, 21)), d(2025, 1, 17));
        // On the expiry day itself: the previous month's (strictly before).
        assert_eq!(previous_monthly_expiry(d(2025, 4, 17)), d(2025, 3, 21));
        assert_eq!(previous_monthly_expiry(d(2025, 4, 18)), d(2025, 4, 17));
        // January before the expiry: December of the previous year.
        assert_eq!(previous_monthly_expiry(d(2025, 1, 10)), d(2024, 12, 20));
        assert_eq!(next_monthly_expiry(d(2025, 4, 10)), d(2025, 4, 17));
        assert_eq!(next_monthly_expiry(d(2025, 10, 20)), d(2025, 11, 21));
    }
}
