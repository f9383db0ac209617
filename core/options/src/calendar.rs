//! Civil dates, US exchange holidays and the SPX/VIX expiration calendar.
//!
//! Holidays follow the NYSE/Cboe rules (valid for 2020–2035 and, by rule, for nearby years):
//! New Year's Day, Martin Luther King Jr. Day (3rd Monday of January), Washington's Birthday
//! (3rd Monday of February), Good Friday, Memorial Day (last Monday of May), Juneteenth (June 19,
//! from 2022), Independence Day, Labor Day (1st Monday of September), Thanksgiving (4th Thursday
//! of November) and Christmas. A fixed-date holiday falling on a Sunday is observed on the
//! Monday and on a Saturday on the Friday before, except New Year's Day on a Saturday, which
//! is not observed (the exchange stays open on December 31). One-off closures (national days of
//! mourning, weather) are not rules and are not included.
//!
//! Expirations: SPX monthly (AM-settled) on the 3rd Friday, moved to the Thursday before when
//! that Friday is a holiday; SPXW (PM-settled) on every trading day; quarterly months March,
//! June, September, December (quad witching); VIX on the Wednesday 30 days before the next
//! month's SPX monthly expiry, moved to the previous trading day when that Wednesday is a
//! holiday.
//!
//! Also the Eastern-time offset rule (US DST since 2007) used to place quote and settlement
//! times in UTC. All functions are allocation-free.

use mia_model::time::civil;
use std::fmt;

/// Seconds per day.
const SECS_PER_DAY: i64 = 86_400;

/// Day of the week.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Weekday {
    /// Monday.
    Mon,
    /// Tuesday.
    Tue,
    /// Wednesday.
    Wed,
    /// Thursday.
    Thu,
    /// Friday.
    Fri,
    /// Saturday.
    Sat,
    /// Sunday.
    Sun,
}

impl Weekday {
    /// 0 = Monday … 6 = Sunday.
    #[inline]
    pub fn index(self) -> u32 {
        self as u32
    }

    fn from_index(i: u32) -> Weekday {
        match i % 7 {
            0 => Weekday::Mon,
            1 => Weekday::Tue,
            2 => Weekday::Wed,
            3 => Weekday::Thu,
            4 => Weekday::Fri,
            5 => Weekday::Sat,
            _ => Weekday::Sun,
        }
    }
}

/// A proleptic-Gregorian calendar date.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Date {
    /// Year (e.g. 2024).
    pub year: i32,
    /// Month 1–12.
    pub month: u8,
    /// Day of month 1–31.
    pub day: u8,
}

/// True for a Gregorian leap year.
#[inline]
pub fn is_leap_year(y: i32) -> bool {
    civil::is_leap_year(y)
}

/// Number of days in month `m` (1–12) of year `y`.
#[inline]
pub fn days_in_month(y: i32, m: u8) -> u8 {
    civil::days_in_month(y, u32::from(m)) as u8
}

impl Date {
    /// The date, or `None` when it does not exist.
    pub fn new(year: i32, month: u8, day: u8) -> Option<Date> {
        if (1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month) {
            Some(Date { year, month, day })
        } else {
            None
        }
    }

    /// Days since 1970-01-01 (negative before).
    pub fn days_since_epoch(self) -> i64 {
        civil::days_from_civil(self.year, u32::from(self.month), u32::from(self.day))
    }

    /// The date `days` days after 1970-01-01.
    pub fn from_days_since_epoch(days: i64) -> Date {
        let (year, month, day) = civil::civil_from_days(days);
        Date { year, month: month as u8, day: day as u8 }
    }

    /// The UTC date of a timestamp in ns since the UNIX epoch.
    pub fn from_unix_ns(ts_ns: u64) -> Date {
        Date::from_days_since_epoch((ts_ns / 1_000_000_000) as i64 / SECS_PER_DAY)
    }

    /// This date shifted by `n` days.
    pub fn add_days(self, n: i64) -> Date {
        Date::from_days_since_epoch(self.days_since_epoch() + n)
    }

    /// Signed number of days from `self` to `other`.
    pub fn days_until(self, other: Date) -> i64 {
        other.days_since_epoch() - self.days_since_epoch()
    }

    /// Day of the week.
    pub fn weekday(self) -> Weekday {
        // 1970-01-01 was a Thursday (index 3).
        Weekday::from_index((self.days_since_epoch() + 3).rem_euclid(7) as u32)
    }

    /// True on Saturday and Sunday.
    pub fn is_weekend(self) -> bool {
        matches!(self.weekday(), Weekday::Sat | Weekday::Sun)
    }

    /// UTC ns of `hh:mm` local time on this date at a fixed UTC offset (hours, e.g. −5).
    /// `None` before 1970 or after 2554.
    pub fn at_offset_ns(self, hh: u32, mm: u32, offset_hours: i32) -> Option<u64> {
        let secs = self.days_since_epoch() * SECS_PER_DAY + i64::from(hh) * 3600 + i64::from(mm) * 60
            - i64::from(offset_hours) * 3600;
        u64::try_from(secs).ok()?.checked_mul(1_000_000_000)
    }

    /// UTC ns of `hh:mm` New York time on this date (EST/EDT by [`et_offset_hours`]).
    pub fn at_eastern_ns(self, hh: u32, mm: u32) -> Option<u64> {
        self.at_offset_ns(hh, mm, et_offset_hours(self, hh))
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// The `n`-th (1-based) `wd` of a month.
pub fn nth_weekday(year: i32, month: u8, wd: Weekday, n: u32) -> Date {
    let first = Date { year, month, day: 1 };
    let shift = (wd.index() + 7 - first.weekday().index()) % 7;
    Date { year, month, day: (1 + shift + 7 * (n - 1)) as u8 }
}

/// The last `wd` of a month.
pub fn last_weekday(year: i32, month: u8, wd: Weekday) -> Date {
    let last = Date { year, month, day: days_in_month(year, month) };
    let back = (last.weekday().index() + 7 - wd.index()) % 7;
    Date { year, month, day: last.day - back as u8 }
}

/// Easter Sunday (Gregorian), by the anonymous Gregorian algorithm (Meeus/Jones/Butcher).
pub fn easter_sunday(year: i32) -> Date {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    Date { year, month: month as u8, day: day as u8 }
}

/// Observed day of a fixed-date holiday: Saturday → Friday, Sunday → Monday.
fn observed(d: Date) -> Date {
    match d.weekday() {
        Weekday::Sat => d.add_days(-1),
        Weekday::Sun => d.add_days(1),
        _ => d,
    }
}

/// US exchange holidays of a year, as observed, in date order (9 or 10 dates; unused tail slots
/// are `None`).
pub fn us_exchange_holidays(year: i32) -> [Option<Date>; 10] {
    let mut out = [None; 10];
    let mut n = 0;
    let mut push = |d: Date| {
        if d.year == year && n < out.len() {
            out[n] = Some(d);
            n += 1;
        }
    };
    let new_year = Date { year, month: 1, day: 1 };
    // New Year's Day on a Saturday is not observed (no Friday-Dec-31 closure).
    if new_year.weekday() != Weekday::Sat {
        push(observed(new_year));
    }
    push(nth_weekday(year, 1, Weekday::Mon, 3));
    push(nth_weekday(year, 2, Weekday::Mon, 3));
    push(easter_sunday(year).add_days(-2));
    push(last_weekday(year, 5, Weekday::Mon));
    if year >= 2022 {
        push(observed(Date { year, month: 6, day: 19 }));
    }
    push(observed(Date { year, month: 7, day: 4 }));
    push(nth_weekday(year, 9, Weekday::Mon, 1));
    push(nth_weekday(year, 11, Weekday::Thu, 4));
    push(observed(Date { year, month: 12, day: 25 }));
    out
}

/// True when `d` is a US exchange holiday (as observed).
pub fn is_holiday(d: Date) -> bool {
    us_exchange_holidays(d.year).iter().flatten().any(|&h| h == d)
}

/// True on weekdays that are not exchange holidays.
pub fn is_trading_day(d: Date) -> bool {
    !d.is_weekend() && !is_holiday(d)
}

/// The first trading day strictly after `d`.
pub fn next_trading_day(d: Date) -> Date {
    let mut x = d.add_days(1);
    while !is_trading_day(x) {
        x = x.add_days(1);
    }
    x
}

/// The last trading day strictly before `d`.
pub fn previous_trading_day(d: Date) -> Date {
    let mut x = d.add_days(-1);
    while !is_trading_day(x) {
        x = x.add_days(-1);
    }
    x
}

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

/// UTC offset (hours) of New York time on `d` at local hour `hh`: −4 during US daylight saving
/// time (2nd Sunday of March 02:00 to 1st Sunday of November 02:00, the 2007 rule), else −5.
pub fn et_offset_hours(d: Date, hh: u32) -> i32 {
    let start = nth_weekday(d.year, 3, Weekday::Sun, 2);
    let end = nth_weekday(d.year, 11, Weekday::Sun, 1);
    let after_start = d > start || (d == start && hh >= 2);
    let before_end = d < end || (d == end && hh < 2);
    if after_start && before_end {
        -4
    } else {
        -5
    }
}

/// New York local date of a UTC timestamp.
pub fn eastern_date(ts_ns: u64) -> Date {
    let utc = Date::from_unix_ns(ts_ns);
    let secs_of_day = (ts_ns / 1_000_000_000) % SECS_PER_DAY as u64;
    // Use the offset in force on the UTC date (exact except within the 2 AM changeover hour).
    let off = et_offset_hours(utc, (secs_of_day / 3600) as u32);
    let local_secs = (ts_ns / 1_000_000_000) as i64 + i64::from(off) * 3600;
    Date::from_days_since_epoch(local_secs.div_euclid(SECS_PER_DAY))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u8, day: u8) -> Date {
        Date::new(y, m, day).expect("valid test date")
    }

    #[test]
    fn civil_round_trip_and_weekday() {
        assert_eq!(d(1970, 1, 1).days_since_epoch(), 0);
        assert_eq!(d(2000, 3, 1).days_since_epoch(), 11_017);
        assert_eq!(d(2022, 2, 5).weekday(), Weekday::Sat);
        assert_eq!(d(2024, 2, 29).weekday(), Weekday::Thu);
        let mut x = d(1999, 12, 25);
        for _ in 0..20_000 {
            let n = x.days_since_epoch();
            assert_eq!(Date::from_days_since_epoch(n), x);
            let y = x.add_days(1);
            assert_eq!(y.days_since_epoch(), n + 1);
            assert!(y > x);
            assert!(Date::new(y.year, y.month, y.day).is_some());
            x = y;
        }
        assert!(Date::new(2023, 2, 29).is_none());
        assert!(Date::new(2023, 13, 1).is_none());
    }

    #[test]
    fn known_holidays() {
        // Good Friday 2024.
        assert!(is_holiday(d(2024, 3, 29)));
        assert_eq!(easter_sunday(2024), d(2024, 3, 31));
        assert_eq!(easter_sunday(2022), d(2022, 4, 17));
        assert_eq!(easter_sunday(2025), d(2025, 4, 20));
        // Juneteenth 2022 fell on a Sunday: observed Monday June 20; none before 2022.
        assert!(is_holiday(d(2022, 6, 20)));
        assert!(!is_holiday(d(2021, 6, 18)));
        // Christmas 2022 on a Sunday: observed Monday Dec 26.
        assert!(is_holiday(d(2022, 12, 26)));
        // New Year 2022 on a Saturday: not observed (Dec 31 2021 was a trading day).
        assert!(!is_holiday(d(2021, 12, 31)));
        assert!(is_trading_day(d(2021, 12, 31)));
        // Independence Day 2020 on a Saturday: observed Friday July 3.
        assert!(is_holiday(d(2020, 7, 3)));
        // New Year 2023 on a Sunday: observed Monday Jan 2.
        assert!(is_holiday(d(2023, 1, 2)));
        // Fixed-rule days.
        assert!(is_holiday(d(2024, 1, 15)) && is_holiday(d(2024, 2, 19)) && is_holiday(d(2024, 5, 27)));
        assert!(is_holiday(d(2024, 9, 2)) && is_holiday(d(2024, 11, 28)));
        assert!(!is_trading_day(d(2024, 3, 30)));
        for y in 2020..=2035 {
            let n = us_exchange_holidays(y).iter().flatten().count();
            let expected_min = if y >= 2022 { 9 } else { 8 };
            assert!(n >= expected_min && n <= 10, "{y}: {n}");
            for h in us_exchange_holidays(y).iter().flatten() {
                assert!(!h.is_weekend(), "{h}");
            }
        }
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
        assert_eq!(next_trading_day(d(2022, 2, 18)), d(2022, 2, 22));
    }

    #[test]
    fn eastern_time() {
        // 2022-02-05 20:09 EST = 2022-02-06 01:09 UTC.
        let ts = d(2022, 2, 5).at_eastern_ns(20, 9).expect("in range");
        assert_eq!(ts, 1_644_109_740 * 1_000_000_000);
        assert_eq!(eastern_date(ts), d(2022, 2, 5));
        assert_eq!(et_offset_hours(d(2022, 6, 11), 20), -4);
        assert_eq!(et_offset_hours(d(2022, 3, 13), 1), -5);
        assert_eq!(et_offset_hours(d(2022, 3, 13), 3), -4);
        assert_eq!(et_offset_hours(d(2022, 11, 6), 3), -5);
        assert_eq!(Date::from_unix_ns(ts), d(2022, 2, 6));
    }
}
