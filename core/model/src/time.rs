//! Event time: timestamps are `u64` ns since the UNIX epoch (UTC), and the civil-calendar
//! helpers that turn dates and Chicago wall times into them. (The latency clock is runtime,
//! not model: `mia_runtime::clock`.)

/// Nanoseconds per second.
pub const NS_PER_SEC: u64 = 1_000_000_000;
/// Nanoseconds per millisecond.
pub const NS_PER_MS: u64 = 1_000_000;
/// Nanoseconds per microsecond.
pub const NS_PER_US: u64 = 1_000;

/// Civil-calendar helpers (proleptic Gregorian, no allocation, no time-zone database).
pub mod civil {
    /// Days since 1970-01-01 of the civil date (y, m 1..=12, d 1..=31) (H. Hinnant's algorithm).
    pub fn days_from_civil(y: i32, m: u32, d: u32) -> i64 {
        let y = if m <= 2 { y - 1 } else { y } as i64;
        let era = if y >= 0 { y } else { y - 399 } / 400;
        let yoe = y - era * 400;
        let m = m as i64;
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The civil date (y, m, d) of a day count since 1970-01-01.
    pub fn civil_from_days(z: i64) -> (i32, u32, u32) {
        let z = z + 719_468;
        let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let y = yoe + era * 400;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        ((if m <= 2 { y + 1 } else { y }) as i32, m, d)
    }

    /// True for a Gregorian leap year.
    #[inline]
    pub fn is_leap_year(y: i32) -> bool {
        (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
    }

    /// Number of days in month `m` (1–12) of year `y`; 0 for a month outside 1–12.
    #[inline]
    pub fn days_in_month(y: i32, m: u32) -> u32 {
        match m {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if is_leap_year(y) => 29,
            2 => 28,
            _ => 0,
        }
    }

    /// Day of week of a day count since 1970-01-01: 0 = Sunday … 6 = Saturday.
    pub fn weekday(days: i64) -> u32 {
        (days + 4).rem_euclid(7) as u32
    }

    /// Day count of the `n`-th (1-based) `wd` weekday (0 = Sunday) of month (y, m).
    pub fn nth_weekday(y: i32, m: u32, wd: u32, n: u32) -> i64 {
        let first = days_from_civil(y, m, 1);
        let offset = (wd + 7 - weekday(first)) % 7;
        first + offset as i64 + 7 * (n as i64 - 1)
    }

    /// True when US daylight-saving time is in force on civil date (y, m, d) at noon local
    /// time (second Sunday of March to first Sunday of November, the rule since 2007).
    pub fn us_dst(y: i32, m: u32, d: u32) -> bool {
        let day = days_from_civil(y, m, d);
        day >= nth_weekday(y, 3, 0, 2) && day < nth_weekday(y, 11, 0, 1)
    }

    /// UTC offset of America/Chicago on (y, m, d) in hours (−5 CDT or −6 CST).
    pub fn chicago_utc_offset_hours(y: i32, m: u32, d: u32) -> i64 {
        if us_dst(y, m, d) {
            -5
        } else {
            -6
        }
    }

    /// UNIX ns of a Chicago wall-clock time on (y, m, d).
    pub fn chicago_to_unix_ns(y: i32, m: u32, d: u32, hour: u32, minute: u32) -> u64 {
        let local = days_from_civil(y, m, d) * 86_400 + hour as i64 * 3600 + minute as i64 * 60;
        let utc = local - chicago_utc_offset_hours(y, m, d) * 3600;
        (utc.max(0) as u64) * super::NS_PER_SEC
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn civil_round_trip_and_weekdays() {
            assert_eq!(days_from_civil(1970, 1, 1), 0);
            assert_eq!(civil_from_days(days_from_civil(2024, 2, 29)), (2024, 2, 29));
            assert_eq!(weekday(days_from_civil(2024, 3, 15)), 5); // Friday
            assert_eq!(
                (days_in_month(2024, 2), days_in_month(2100, 2), days_in_month(2000, 2)),
                (29, 28, 29)
            );
            assert_eq!((days_in_month(2023, 4), days_in_month(2023, 13)), (30, 0));
            assert_eq!(civil_from_days(nth_weekday(2024, 3, 5, 3)), (2024, 3, 15));
            for z in (-800_000..800_000).step_by(997) {
                let (y, m, d) = civil_from_days(z);
                assert_eq!(days_from_civil(y, m, d), z);
            }
        }

        #[test]
        fn dst_and_chicago_time() {
            assert!(!us_dst(2024, 3, 9));
            assert!(us_dst(2024, 3, 10));
            assert!(us_dst(2024, 11, 2));
            assert!(!us_dst(2024, 11, 3));
            // 2024-03-13 08:30 CDT = 13:30 UTC
            assert_eq!(chicago_to_unix_ns(2024, 3, 13, 8, 30), 1_710_336_600 * 1_000_000_000);
            // 2020-12-28 08:30 CST = 14:30 UTC
            assert_eq!(chicago_to_unix_ns(2020, 12, 28, 8, 30), 1_609_165_800 * 1_000_000_000);
        }
    }
}
