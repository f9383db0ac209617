//! Chicago local time and the session (trading) date (SIGNALS.md §1).
//!
//! Local time is `now + off`, with `off` = −6 h (CST) or −5 h (CDT). The session date is the
//! first trading day *after* the local date when the local clock reads 16:00 or later, and the
//! first trading day *on or after* the local date otherwise; trading days are those of the
//! exchange calendar ([`is_trading_day`]: weekends and NYSE/Cboe holidays). So the ETH session
//! of date `D` runs from 17:00 CT of the day before to 16:00 CT, and the 16:00–17:00 break
//! already belongs to the next session. All functions are pure and allocation-free.

use mia_model::time::calendar::{is_trading_day, next_trading_day, nth_weekday, Date, Weekday};

const NS_PER_SEC: u64 = 1_000_000_000;
const SECS_PER_DAY: i64 = 86_400;
/// 16:00, in minutes after local midnight: from here on, the clock belongs to the next session.
const SESSION_END_MIN: u32 = 16 * 60;

/// UTC offset of Chicago time (hours: −5 during US daylight saving time, else −6) at the UTC
/// instant `now_ns`. The changeovers are instants: 02:00 CST (08:00 UTC) of the 2nd Sunday of
/// March and 02:00 CDT (07:00 UTC) of the 1st Sunday of November, the rule of
/// [`ct_offset_hours`](mia_model::time::calendar::ct_offset_hours). Both fall on whole UTC hours, so the offset may be cached per UTC hour.
pub fn chicago_utc_offset_hours(now_ns: u64) -> i32 {
    let year = Date::from_unix_ns(now_ns).year;
    let start = nth_weekday(year, 3, Weekday::Sun, 2).at_offset_ns(2, 0, -6);
    let end = nth_weekday(year, 11, Weekday::Sun, 1).at_offset_ns(2, 0, -5);
    match (start, end) {
        (Some(s), Some(e)) if (s..e).contains(&now_ns) => -5,
        _ => -6,
    }
}

/// Chicago local seconds since 1970-01-01 00:00 local.
#[inline]
fn chicago_local_secs(now_ns: u64) -> i64 {
    (now_ns / NS_PER_SEC) as i64 + i64::from(chicago_utc_offset_hours(now_ns)) * 3600
}

/// Minutes after Chicago local midnight at `now_ns` (0…1439).
pub fn chicago_minute_of_day(now_ns: u64) -> u32 {
    (chicago_local_secs(now_ns).rem_euclid(SECS_PER_DAY) / 60) as u32
}

/// The session date of an event at UTC `now_ns` (SIGNALS.md §1).
pub fn session_date(now_ns: u64) -> Date {
    let secs = chicago_local_secs(now_ns);
    let local = Date::from_days_since_epoch(secs.div_euclid(SECS_PER_DAY));
    let minute = (secs.rem_euclid(SECS_PER_DAY) / 60) as u32;
    if minute >= SESSION_END_MIN || !is_trading_day(local) {
        next_trading_day(local)
    } else {
        local
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mia_model::time::calendar::ct_offset_hours;

    fn d(y: i32, m: u8, day: u8) -> Date {
        Date::new(y, m, day).expect("valid test date")
    }

    /// UTC ns of a Chicago clock time given with its offset explicitly (hand-checked).
    fn ct(day: Date, hh: u32, mm: u32, off: i32) -> u64 {
        day.at_offset_ns(hh, mm, off).expect("in range")
    }

    #[test]
    fn t13_session_dates() {
        // 2025-04-16 17:30 CDT = 22:30 UTC → the next trading day, Thursday 04-17.
        let t = ct(d(2025, 4, 16), 17, 30, -5);
        assert_eq!(t, 1_744_842_600 * NS_PER_SEC);
        assert_eq!(session_date(t), d(2025, 4, 17));
        assert_eq!(chicago_minute_of_day(t), 17 * 60 + 30);
        // 2025-04-17 16:30 CDT → after Thursday: Good Friday 04-18 and the weekend are skipped.
        assert_eq!(session_date(ct(d(2025, 4, 17), 16, 30, -5)), d(2025, 4, 21));
        // 15:59 on the 17th is still the 17th; 16:00 sharp is the next session.
        assert_eq!(session_date(ct(d(2025, 4, 17), 15, 59, -5)), d(2025, 4, 17));
        assert_eq!(session_date(ct(d(2025, 4, 17), 16, 0, -5)), d(2025, 4, 21));
    }

    #[test]
    fn weekends_and_midnight() {
        // Saturday 2025-04-12 10:00 CDT and Sunday 17:00 CDT (Globex open) → Monday 04-14.
        assert_eq!(session_date(ct(d(2025, 4, 12), 10, 0, -5)), d(2025, 4, 14));
        assert_eq!(session_date(ct(d(2025, 4, 13), 17, 0, -5)), d(2025, 4, 14));
        // Friday 2025-04-11 18:00 CDT → Monday.
        assert_eq!(session_date(ct(d(2025, 4, 11), 18, 0, -5)), d(2025, 4, 14));
        // Tuesday 00:30 CDT (05:30 UTC, already Tuesday in UTC and in Chicago) → Tuesday.
        assert_eq!(session_date(ct(d(2025, 4, 15), 0, 30, -5)), d(2025, 4, 15));
        // Monday 23:30 CDT = Tuesday 04:30 UTC: the local date is Monday, after 16:00 → Tuesday.
        let t = ct(d(2025, 4, 14), 23, 30, -5);
        assert_eq!(Date::from_unix_ns(t), d(2025, 4, 15));
        assert_eq!(session_date(t), d(2025, 4, 15));
        assert_eq!(chicago_minute_of_day(t), 23 * 60 + 30);
        // Christmas Eve 2024 (Tue) 16:30 CST → Christmas is a holiday → Thursday 12-26.
        assert_eq!(session_date(ct(d(2024, 12, 24), 16, 30, -6)), d(2024, 12, 26));
        // Winter: 2025-01-21 15:00 UTC = 09:00 CST.
        let t = ct(d(2025, 1, 21), 9, 0, -6);
        assert_eq!(t, 1_737_471_600 * NS_PER_SEC);
        assert_eq!((chicago_minute_of_day(t), session_date(t)), (9 * 60, d(2025, 1, 21)));
    }

    #[test]
    fn dst_changes() {
        // Spring forward: Sunday 2025-03-09, 02:00 CST = 08:00 UTC becomes 03:00 CDT.
        let change = ct(d(2025, 3, 9), 2, 0, -6);
        assert_eq!(change, 1_741_507_200 * NS_PER_SEC);
        assert_eq!(chicago_utc_offset_hours(change - 1), -6);
        assert_eq!(chicago_utc_offset_hours(change), -5);
        assert_eq!(chicago_minute_of_day(change - NS_PER_SEC), 2 * 60 - 1, "01:59:59 CST");
        assert_eq!(chicago_minute_of_day(change), 3 * 60, "03:00 CDT");
        // The Sunday evening Globex open, 17:00 CDT = 22:00 UTC, is Monday 03-10's session; at
        // the CST offset it would read 16:00, still the session after Sunday: Monday too. 15:30
        // CDT on that Sunday (20:30 UTC) is Monday's session as well (Sunday is no trading day).
        assert_eq!(session_date(ct(d(2025, 3, 9), 17, 0, -5)), d(2025, 3, 10));
        assert_eq!(chicago_minute_of_day(ct(d(2025, 3, 9), 17, 0, -5)), 17 * 60);
        // Friday 2025-03-07 15:30 CST (21:30 UTC) → Friday; 16:00 CST → Monday 03-10. Monday
        // 15:59 CDT (20:59 UTC; 14:59 at CST) → Monday, 16:00 CDT (21:00 UTC) → Tuesday.
        assert_eq!(session_date(ct(d(2025, 3, 7), 15, 30, -6)), d(2025, 3, 7));
        assert_eq!(session_date(ct(d(2025, 3, 7), 16, 0, -6)), d(2025, 3, 10));
        assert_eq!(session_date(ct(d(2025, 3, 10), 15, 59, -5)), d(2025, 3, 10));
        assert_eq!(session_date(ct(d(2025, 3, 10), 16, 0, -5)), d(2025, 3, 11));
        // Fall back: Sunday 2025-11-02, 02:00 CDT = 07:00 UTC becomes 01:00 CST.
        let back = ct(d(2025, 11, 2), 2, 0, -5);
        assert_eq!(back, 1_762_066_800 * NS_PER_SEC);
        assert_eq!(chicago_utc_offset_hours(back - 1), -5);
        assert_eq!(chicago_utc_offset_hours(back), -6);
        assert_eq!(chicago_minute_of_day(back), 60, "01:00 CST, the second time");
        // Monday 2025-11-03 16:00 CST = 22:00 UTC (it would be 17:00 at CDT) → Tuesday;
        // 15:59 CST → Monday.
        assert_eq!(session_date(ct(d(2025, 11, 3), 16, 0, -6)), d(2025, 11, 4));
        assert_eq!(session_date(ct(d(2025, 11, 3), 15, 59, -6)), d(2025, 11, 3));
        assert_eq!(chicago_utc_offset_hours(ct(d(2025, 11, 3), 15, 59, -6)), -6);
    }

    #[test]
    fn offset_agrees_with_the_local_clock_rule() {
        // Every UTC hour of 2024 and 2025: the local clock obtained with the offset gives the
        // same offset under `ct_offset_hours` (which takes a local date and hour), except in
        // the repeated 01:00 hour of the fall-back Sunday, where the local clock is ambiguous.
        let mut t = d(2024, 1, 1).at_offset_ns(0, 0, 0).expect("in range");
        let end = d(2026, 1, 1).at_offset_ns(0, 0, 0).expect("in range");
        let mut dst_hours = 0;
        while t < end {
            let off = chicago_utc_offset_hours(t);
            let secs = (t / NS_PER_SEC) as i64 + i64::from(off) * 3600;
            let local = Date::from_days_since_epoch(secs.div_euclid(SECS_PER_DAY));
            let hh = (secs.rem_euclid(SECS_PER_DAY) / 3600) as u32;
            let fall_back = nth_weekday(local.year, 11, Weekday::Sun, 1);
            if !(local == fall_back && hh == 1 && off == -6) {
                assert_eq!(ct_offset_hours(local, hh), off, "{local} {hh}:00");
            }
            dst_hours += u32::from(off == -5);
            t += 3600 * NS_PER_SEC;
        }
        // DST lasts 238 days minus the lost hour each year in 2024 and 2025 (Mar 10 → Nov 3,
        // Mar 9 → Nov 2): 238·24 − 1 = 5711 hours.
        assert_eq!(dst_hours, 2 * 5711);
    }
}
