//! Calendar helpers for the synthetic session: civil dates ↔ days since the epoch, the US
//! daylight-saving rule for America/Chicago, RTH bounds in UTC and the ES front month.

/// Nanoseconds per second.
pub(crate) const NS_PER_SEC: u64 = 1_000_000_000;

/// Days since 1970-01-01 of the proleptic Gregorian date (`m` 1–12, `d` 1–31).
pub(crate) fn days_from_civil(y: i32, m: u32, d: u32) -> i64 {
    let y = i64::from(y) - i64::from(m <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400; // [0, 399]
    let mp = i64::from((m + 9) % 12); // March = 0
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1; // [0, 365]
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // [0, 146096]
    era * 146_097 + doe - 719_468
}

/// Day of week of a day number: 0 = Sunday … 6 = Saturday.
pub(crate) fn weekday(days: i64) -> u32 {
    (days + 4).rem_euclid(7) as u32 // 1970-01-01 was a Thursday
}

fn is_leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

/// Number of days in month `m` of year `y`.
pub(crate) fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Day of month of the `n`-th (1-based) `wd` (0 = Sunday) of month `m`.
pub(crate) fn nth_weekday(y: i32, m: u32, wd: u32, n: u32) -> u32 {
    let first = weekday(days_from_civil(y, m, 1));
    1 + (wd + 7 - first) % 7 + 7 * (n - 1)
}

/// True when US daylight-saving time is in effect at 08:30 local on the date: from the second
/// Sunday of March to the day before the first Sunday of November (the switches happen at
/// 02:00 local, before the RTH open).
pub(crate) fn is_us_dst(y: i32, m: u32, d: u32) -> bool {
    let start = (3, nth_weekday(y, 3, 0, 2));
    let end = (11, nth_weekday(y, 11, 0, 1));
    (m, d) >= start && (m, d) < end
}

/// UTC offset of America/Chicago in hours on the date (−5 CDT, −6 CST).
pub(crate) fn chicago_utc_offset_hours(y: i32, m: u32, d: u32) -> i64 {
    if is_us_dst(y, m, d) {
        -5
    } else {
        -6
    }
}

/// UTC ns since the epoch of `hh:mm` America/Chicago on the date.
pub(crate) fn chicago_time_ns(y: i32, m: u32, d: u32, hh: u32, mm: u32) -> u64 {
    let local_secs = days_from_civil(y, m, d) * 86_400 + i64::from(hh * 3600 + mm * 60);
    let utc_secs = local_secs - chicago_utc_offset_hours(y, m, d) * 3600;
    utc_secs as u64 * NS_PER_SEC
}

/// The ES front-month symbol on the date, e.g. `"ESM4"`: the first quarterly contract
/// (H, M, U, Z) whose roll date (8 days before its 3rd-Friday expiry) is after the date.
pub(crate) fn es_front_month(y: i32, m: u32, d: u32) -> String {
    let today = days_from_civil(y, m, d);
    for year in y..=y + 1 {
        for (month, code) in [(3, 'H'), (6, 'M'), (9, 'U'), (12, 'Z')] {
            let expiry = days_from_civil(year, month, nth_weekday(year, month, 5, 3));
            if expiry - 8 > today {
                return format!("ES{code}{}", year.rem_euclid(10));
            }
        }
    }
    unreachable!("a quarterly roll date always lies within 13 months")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_days_and_weekdays() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(2024, 3, 13), 19_795);
        assert_eq!(weekday(days_from_civil(2024, 3, 13)), 3); // Wednesday
        assert_eq!(weekday(days_from_civil(1969, 12, 31)), 3);
        assert_eq!(days_in_month(2024, 2), 29);
        assert_eq!(days_in_month(2100, 2), 28);
        assert_eq!(nth_weekday(2024, 3, 0, 2), 10);
        assert_eq!(nth_weekday(2024, 11, 0, 1), 3);
        assert_eq!(nth_weekday(2024, 6, 5, 3), 21);
    }

    #[test]
    fn dst_rule_and_session_bounds() {
        assert!(!is_us_dst(2024, 3, 9));
        assert!(is_us_dst(2024, 3, 10));
        assert!(is_us_dst(2024, 11, 2));
        assert!(!is_us_dst(2024, 11, 3));
        assert!(!is_us_dst(2023, 3, 11));
        assert!(is_us_dst(2023, 3, 12));
        // 2024-03-13 08:30 CDT = 13:30 UTC = 1_710_336_600 s.
        assert_eq!(chicago_time_ns(2024, 3, 13, 8, 30), 1_710_336_600 * NS_PER_SEC);
        // 2024-01-10 08:30 CST = 14:30 UTC.
        assert_eq!(chicago_time_ns(2024, 1, 10, 8, 30), (1_704_844_800 + 14 * 3600 + 1800) * NS_PER_SEC);
    }

    #[test]
    fn front_month_rolls_eight_days_before_expiry() {
        assert_eq!(es_front_month(2024, 3, 6), "ESH4");
        assert_eq!(es_front_month(2024, 3, 7), "ESM4"); // roll date itself: already rolled
        assert_eq!(es_front_month(2024, 3, 13), "ESM4");
        assert_eq!(es_front_month(2024, 6, 12), "ESM4");
        assert_eq!(es_front_month(2024, 6, 13), "ESU4");
        assert_eq!(es_front_month(2024, 12, 12), "ESH5");
        assert_eq!(es_front_month(2024, 12, 11), "ESZ4");
        assert_eq!(es_front_month(2029, 12, 31), "ESH0");
    }
}
