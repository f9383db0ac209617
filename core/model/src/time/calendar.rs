//! Civil dates ([`Date`], [`Weekday`]), US exchange holidays, trading days and the US
//! Eastern / Central time offsets that place exchange wall-clock times in UTC. The expiration
//! rules built on these (SPX monthly/SPXW/quarterly, VIX, OPEX week) live in
//! `mia_options::calendar`; the CME futures calendar in [`crate::contract`].
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
//! Time zones: the US DST rule since 2007 (2nd Sunday of March 02:00 local to 1st Sunday of
//! November 02:00 local), for New York (EST/EDT) and Chicago (CST/CDT). All functions are
//! allocation-free.

use super::civil;
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
        // civil::weekday counts from Sunday (0), Weekday from Monday (0).
        Weekday::from_index((civil::weekday(self.days_since_epoch()) + 6) % 7)
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

    /// UTC ns of `hh:mm` Chicago time on this date (CST/CDT by [`ct_offset_hours`]), e.g. the
    /// CME RTH session 08:30–15:00. `None` before 1970 or after 2554.
    pub fn at_chicago_ns(self, hh: u32, mm: u32) -> Option<u64> {
        self.at_offset_ns(hh, mm, ct_offset_hours(self, hh))
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

/// UTC offset (hours) of Chicago time on `d` at local hour `hh`: −5 during US daylight saving
/// time (same 2007 rule and 02:00 local changeover as [`et_offset_hours`]), else −6.
pub fn ct_offset_hours(d: Date, hh: u32) -> i32 {
    et_offset_hours(d, hh) - 1
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
        assert_eq!(nth_weekday(2024, 3, Weekday::Fri, 3), d(2024, 3, 15));
        assert_eq!(d(2024, 3, 15).weekday(), Weekday::Fri);
        assert_eq!((days_in_month(2024, 2), days_in_month(2100, 2), is_leap_year(2000)), (29, 28, true));
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
    fn trading_days() {
        assert_eq!(next_trading_day(d(2022, 2, 18)), d(2022, 2, 22));
        assert_eq!(previous_trading_day(d(2022, 2, 22)), d(2022, 2, 18));
        assert!(is_trading_day(d(2022, 2, 7)) && !is_trading_day(d(2022, 2, 21)));
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

    #[test]
    fn chicago_time() {
        // DST in Chicago from Sun 2024-03-10 to Sun 2024-11-03 (02:00 local changeovers).
        assert_eq!(ct_offset_hours(d(2024, 3, 9), 12), -6);
        assert_eq!(ct_offset_hours(d(2024, 3, 10), 12), -5);
        assert_eq!(ct_offset_hours(d(2024, 11, 2), 12), -5);
        assert_eq!(ct_offset_hours(d(2024, 11, 3), 12), -6);
        // 2024-03-13 08:30 CDT = 13:30 UTC
        assert_eq!(d(2024, 3, 13).at_chicago_ns(8, 30), Some(1_710_336_600 * 1_000_000_000));
        // 2020-12-28 08:30 CST = 14:30 UTC
        assert_eq!(d(2020, 12, 28).at_chicago_ns(8, 30), Some(1_609_165_800 * 1_000_000_000));
    }
}
