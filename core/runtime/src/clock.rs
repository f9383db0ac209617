//! The low-overhead monotonic clock used only for latency measurement (never for decisions),
//! and [`wall_ns`], the one reading of the wall clock for stamps taken at the edges.

use std::sync::OnceLock;
use std::time::Instant;

/// The wall clock, UTC ns since the UNIX epoch (0 before the epoch, saturating after year
/// 2554): the clock of a live feed's `ts_recv`, of a live session's `Timer` inputs, of journal
/// and status-file stamps. Never read by a decision (decisions read event time).
pub fn wall_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// Monotonic clock for latency measurement (never for decisions).
///
/// On x86_64 it reads the time-stamp counter (`rdtsc`, a few ns, no syscall) and converts ticks
/// to ns with a factor calibrated once against [`Instant`]; elsewhere it uses [`Instant`].
#[derive(Clone, Copy, Debug)]
pub struct Clock;

struct Calib {
    #[cfg_attr(target_arch = "x86_64", allow(dead_code))]
    base: Instant,
    ns_per_tick: f64,
}

fn calib() -> &'static Calib {
    static CAL: OnceLock<Calib> = OnceLock::new();
    CAL.get_or_init(|| {
        let base = Instant::now();
        #[cfg(target_arch = "x86_64")]
        {
            let t0 = raw_ticks();
            let i0 = Instant::now();
            // Spin ~5 ms to calibrate; happens once, at start-up.
            while i0.elapsed().as_millis() < 5 {
                std::hint::spin_loop();
            }
            let dt_ns = i0.elapsed().as_nanos() as f64;
            let dticks = raw_ticks().saturating_sub(t0) as f64;
            let ns_per_tick = if dticks > 0.0 { dt_ns / dticks } else { 1.0 };
            Calib { base, ns_per_tick }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            Calib { base, ns_per_tick: 1.0 }
        }
    })
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn raw_ticks() -> u64 {
    // SAFETY: `rdtsc` has no memory effects and is available on every x86_64 CPU.
    unsafe { core::arch::x86_64::_rdtsc() }
}

impl Clock {
    /// Calibrates the clock now (call once on a cold path before measuring).
    pub fn init() {
        let _ = calib();
    }

    /// Current instant in clock ticks.
    #[inline(always)]
    pub fn now() -> u64 {
        #[cfg(target_arch = "x86_64")]
        {
            raw_ticks()
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            calib().base.elapsed().as_nanos() as u64
        }
    }

    /// Converts nanoseconds to clock ticks (for schedules).
    #[inline]
    pub fn ns_to_ticks(ns: f64) -> f64 {
        ns / calib().ns_per_tick
    }

    /// Converts a tick difference to nanoseconds.
    #[inline]
    pub fn ticks_to_ns(ticks: u64) -> u64 {
        (ticks as f64 * calib().ns_per_tick) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_is_monotonic_and_calibrated() {
        Clock::init();
        let a = Clock::now();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = Clock::now();
        assert!(b > a);
        let ns = Clock::ticks_to_ns(b - a);
        // Slept at least 2 ms; allow any scheduling delay above.
        assert!(ns >= 1_500_000, "{ns}");
    }
}
