//! The session clock: the Chicago session date and session phase (SIGNALS.md §1, §2 F16) of
//! event time, recomputed only when `now` crosses a UTC half hour (every session and phase
//! boundary is a Chicago :00 or :30, and Chicago's offset is a whole number of hours), so the
//! per-event cost is one comparison.

use crate::session::{chicago_minute_of_day, session_date};
use mia_model::time::calendar::Date;

const HALF_HOUR_NS: u64 = 1_800_000_000_000;

/// The session phases of F16, with their codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Hash)]
pub enum SessionPhase {
    /// 15:00–08:00 CT, including the 16:00–17:00 break.
    #[default]
    Overnight = 0,
    /// 08:00–08:30 CT.
    PreOpen = 1,
    /// 08:30–09:00 CT.
    OpenDrive = 2,
    /// 09:00–10:00 CT.
    Morning = 3,
    /// 10:00–13:00 CT.
    Lunch = 4,
    /// 13:00–14:30 CT.
    Afternoon = 5,
    /// 14:30–15:00 CT.
    Close = 6,
}

/// Every phase, by code.
pub const PHASES: [SessionPhase; 7] = [
    SessionPhase::Overnight,
    SessionPhase::PreOpen,
    SessionPhase::OpenDrive,
    SessionPhase::Morning,
    SessionPhase::Lunch,
    SessionPhase::Afternoon,
    SessionPhase::Close,
];

impl SessionPhase {
    /// The phase of a Chicago clock time (minutes since local midnight).
    pub fn of_minute(m: u32) -> Self {
        match m {
            480..=509 => SessionPhase::PreOpen,
            510..=539 => SessionPhase::OpenDrive,
            540..=599 => SessionPhase::Morning,
            600..=779 => SessionPhase::Lunch,
            780..=869 => SessionPhase::Afternoon,
            870..=899 => SessionPhase::Close,
            _ => SessionPhase::Overnight,
        }
    }

    /// Config key of the phase.
    pub fn key(self) -> &'static str {
        match self {
            SessionPhase::Overnight => "overnight",
            SessionPhase::PreOpen => "pre_open",
            SessionPhase::OpenDrive => "open_drive",
            SessionPhase::Morning => "morning",
            SessionPhase::Lunch => "lunch",
            SessionPhase::Afternoon => "afternoon",
            SessionPhase::Close => "close",
        }
    }
}

/// What [`SessionClock::advance`] found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClockChange {
    /// The session date changed (a new session starts with this event).
    pub new_session: bool,
    /// The phase changed.
    pub new_phase: bool,
    /// The RTH open (08:30 CT) was crossed in the current session.
    pub rth_open: bool,
}

/// Session date, phase and RTH state of event time.
#[derive(Clone, Copy, Debug)]
pub struct SessionClock {
    next_check: u64,
    /// Session date as yyyymmdd (0 before the first event).
    pub date: u32,
    /// Session date.
    pub day: Date,
    /// Phase.
    pub phase: SessionPhase,
    /// Inside 08:30–15:00 CT.
    pub rth: bool,
    /// Events seen in the 16:00–17:00 CT break (they belong to the next session).
    pub break_events: u64,
    in_break: bool,
}

impl Default for SessionClock {
    fn default() -> Self {
        Self {
            next_check: 0,
            date: 0,
            day: Date { year: 1970, month: 1, day: 1 },
            phase: SessionPhase::Overnight,
            rth: false,
            break_events: 0,
            in_break: false,
        }
    }
}

impl SessionClock {
    /// Moves the clock to `now` (monotone event time).
    #[inline]
    pub fn advance(&mut self, now: u64) -> ClockChange {
        if now < self.next_check {
            if self.in_break {
                self.break_events += 1;
            }
            return ClockChange::default();
        }
        self.recompute(now)
    }

    #[cold]
    fn recompute(&mut self, now: u64) -> ClockChange {
        self.next_check = now - now % HALF_HOUR_NS + HALF_HOUR_NS;
        let d = session_date(now);
        let date = d.year as u32 * 10_000 + d.month as u32 * 100 + d.day as u32;
        let minute = chicago_minute_of_day(now);
        let phase = SessionPhase::of_minute(minute);
        let rth = (510..900).contains(&minute);
        self.in_break = (960..1020).contains(&minute);
        if self.in_break {
            self.break_events += 1;
        }
        let change = ClockChange {
            new_session: date != self.date,
            new_phase: phase != self.phase || self.date == 0,
            rth_open: rth && !self.rth,
        };
        self.date = date;
        self.day = d;
        self.phase = phase;
        self.rth = rth;
        change
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ct(y: i32, m: u8, d: u8, hh: u32, mm: u32) -> u64 {
        Date::new(y, m, d).and_then(|d| d.at_chicago_ns(hh, mm)).unwrap_or(0)
    }

    #[test]
    fn phases_and_session_roll() {
        let mut c = SessionClock::default();
        let ch = c.advance(ct(2024, 3, 13, 8, 29));
        assert!(ch.new_session && ch.new_phase);
        assert_eq!((c.date, c.phase, c.rth), (20240313, SessionPhase::PreOpen, false));
        let ch = c.advance(ct(2024, 3, 13, 8, 30));
        assert!(ch.new_phase && ch.rth_open && !ch.new_session);
        assert_eq!(c.phase, SessionPhase::OpenDrive);
        for (hh, mm, p) in [
            (9, 0, SessionPhase::Morning),
            (12, 59, SessionPhase::Lunch),
            (13, 0, SessionPhase::Afternoon),
            (14, 30, SessionPhase::Close),
            (15, 0, SessionPhase::Overnight),
        ] {
            c.advance(ct(2024, 3, 13, hh, mm));
            assert_eq!(c.phase, p, "{hh}:{mm:02}");
        }
        assert!(!c.advance(ct(2024, 3, 13, 15, 59)).new_session);
        let ch = c.advance(ct(2024, 3, 13, 16, 5));
        assert!(ch.new_session, "the break belongs to the next session");
        assert_eq!(c.date, 20240314);
        c.advance(ct(2024, 3, 13, 16, 6));
        assert_eq!(c.break_events, 2);
        // Friday after 16:00 → Monday
        c.advance(ct(2024, 3, 15, 17, 0));
        assert_eq!(c.date, 20240318);
    }
}
