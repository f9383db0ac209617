//! Event time: timestamps are `u64` ns since the UNIX epoch (UTC), and the calendar that
//! turns dates and exchange wall times into them: [`calendar::Date`], weekdays, US exchange
//! holidays, trading days and the US Eastern / Central time offsets (built on the private
//! proleptic-Gregorian day-count algorithms of `civil`). (The latency clock is runtime, not
//! model: `mia_runtime::clock`.)

pub mod calendar;
mod civil;

/// Nanoseconds per second.
pub const NS_PER_SEC: u64 = 1_000_000_000;
/// Nanoseconds per millisecond.
pub const NS_PER_MS: u64 = 1_000_000;
/// Nanoseconds per microsecond.
pub const NS_PER_US: u64 = 1_000;
