//! Chicago clock time and the session date from event time, cached per UTC hour.
//!
//! The Chicago UTC offset changes only on whole UTC hours (the US DST changeovers are 08:00 and
//! 07:00 UTC), and the session date (SIGNALS.md §1: the first trading day *after* the local
//! date from 16:00 CT on, the first trading day *on or after* it before) changes only at local
//! 16:00 or midnight, also whole UTC hours. So both are computed once per UTC hour (calendar
//! arithmetic, cold) and every other call is O(1): one division and a compare.

use mia_model::time::calendar::{is_trading_day, next_trading_day, nth_weekday, Date, Weekday};

const NS_PER_SEC: u64 = 1_000_000_000;
const NS_PER_HOUR: u64 = 3_600 * NS_PER_SEC;
const SECS_PER_DAY: i64 = 86_400;

/// Cached Chicago offset and session date of the current UTC hour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChicagoClock {
    /// UTC hour (`ts / 1 h`) the cache is for; `u64::MAX` before the first call.
    hour: u64,
    /// Chicago UTC offset, seconds (−6 h or −5 h).
    offset_s: i64,
    /// Session date of the hour, `yyyymmdd`.
    session: u32,
}

impl Default for ChicagoClock {
    fn default() -> Self {
        Self { hour: u64::MAX, offset_s: -6 * 3600, session: 0 }
    }
}

/// UTC offset of Chicago time (hours) at the UTC instant `ts`: −5 from 02:00 CST of the 2nd
/// Sunday of March to 02:00 CDT of the 1st Sunday of November, −6 otherwise.
fn offset_hours(ts: u64) -> i32 {
    let year = Date::from_unix_ns(ts).year;
    let start = nth_weekday(year, 3, Weekday::Sun, 2).at_offset_ns(2, 0, -6);
    let end = nth_weekday(year, 11, Weekday::Sun, 1).at_offset_ns(2, 0, -5);
    match (start, end) {
        (Some(s), Some(e)) if (s..e).contains(&ts) => -5,
        _ => -6,
    }
}

/// `yyyymmdd` of a date.
#[inline]
pub fn yyyymmdd(d: Date) -> u32 {
    (d.year.max(0) as u32) * 10_000 + u32::from(d.month) * 100 + u32::from(d.day)
}

impl ChicagoClock {
    /// Brings the cache to the UTC hour of `ts` (calendar work once per hour).
    #[inline]
    pub fn advance(&mut self, ts: u64) {
        let hour = ts / NS_PER_HOUR;
        if hour != self.hour {
            self.recompute(ts, hour);
        }
    }

    #[cold]
    fn recompute(&mut self, ts: u64, hour: u64) {
        self.hour = hour;
        self.offset_s = i64::from(offset_hours(ts)) * 3600;
        let secs = (ts / NS_PER_SEC) as i64 + self.offset_s;
        let local = Date::from_days_since_epoch(secs.div_euclid(SECS_PER_DAY));
        let minute = secs.rem_euclid(SECS_PER_DAY) / 60;
        let date = if minute >= 16 * 60 || !is_trading_day(local) { next_trading_day(local) } else { local };
        self.session = yyyymmdd(date);
    }

    /// Minutes after Chicago midnight at `ts` (0…1439), with the offset of the cached hour
    /// (call [`ChicagoClock::advance`] with `ts` first).
    #[inline]
    pub fn minute_of_day(&self, ts: u64) -> u16 {
        (((ts / NS_PER_SEC) as i64 + self.offset_s).rem_euclid(SECS_PER_DAY) / 60) as u16
    }

    /// Session date (`yyyymmdd`) of the cached hour; 0 before the first [`ChicagoClock::advance`].
    #[inline]
    pub fn session_date(&self) -> u32 {
        self.session
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ct(y: i32, m: u8, d: u8, hh: u32, mm: u32, off: i32) -> u64 {
        Date::new(y, m, d).and_then(|d| d.at_offset_ns(hh, mm, off)).expect("valid")
    }

    #[test]
    fn session_dates_and_minutes() {
        let mut c = ChicagoClock::default();
        // 2025-04-16 17:30 CDT → Thursday 04-17's session, minute 1050.
        let t = ct(2025, 4, 16, 17, 30, -5);
        c.advance(t);
        assert_eq!((c.session_date(), c.minute_of_day(t)), (20_250_417, 17 * 60 + 30));
        // 2025-04-17 16:30 CDT → Good Friday and the weekend skipped: Monday 04-21.
        let t = ct(2025, 4, 17, 16, 30, -5);
        c.advance(t);
        assert_eq!(c.session_date(), 20_250_421);
        // 15:59 is still the 17th.
        let t = ct(2025, 4, 17, 15, 59, -5);
        c.advance(t);
        assert_eq!((c.session_date(), c.minute_of_day(t)), (20_250_417, 959));
        // Winter: 2025-01-21 09:00 CST.
        let t = ct(2025, 1, 21, 9, 0, -6);
        c.advance(t);
        assert_eq!((c.session_date(), c.minute_of_day(t)), (20_250_121, 540));
    }
}
