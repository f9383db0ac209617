//! Fixed-point prices: `i64` in 1e-9 units, the DBN convention (3722.75 = 3_722_750_000_000).

/// A price in 1e-9 units.
pub type Px = i64;

/// Number of price units in 1.0.
pub const PRICE_SCALE: i64 = 1_000_000_000;

/// DBN's sentinel for an undefined price (`i64::MAX`).
pub const UNDEF_PX: Px = i64::MAX;

/// Converts a fixed-point price to `f64` (for reports and float features only).
#[inline]
pub fn to_f64(px: Px) -> f64 {
    px as f64 / PRICE_SCALE as f64
}

/// Converts a float price to fixed point, rounding to the nearest unit.
///
/// Returns `None` for NaN, infinities and values outside the `i64` range, so an absurd input
/// never becomes a price silently.
#[inline]
pub fn from_f64(v: f64) -> Option<Px> {
    if !v.is_finite() {
        return None;
    }
    let scaled = (v * PRICE_SCALE as f64).round();
    if scaled.abs() >= i64::MAX as f64 {
        return None;
    }
    Some(scaled as i64)
}

/// Rounds `px` to the nearest multiple of `tick` (ties away from zero).
#[inline]
pub fn round_to_tick(px: Px, tick: Px) -> Px {
    debug_assert!(tick > 0);
    let half = tick / 2;
    if px >= 0 {
        ((px + half) / tick) * tick
    } else {
        -((-px + half) / tick) * tick
    }
}

/// True when `px` lies on the `tick` grid.
#[inline]
pub fn on_tick(px: Px, tick: Px) -> bool {
    px % tick == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dbn_convention() {
        assert_eq!(from_f64(3722.75), Some(3_722_750_000_000));
        assert_eq!(to_f64(3_722_750_000_000), 3722.75);
        assert_eq!(from_f64(f64::NAN), None);
        assert_eq!(from_f64(f64::INFINITY), None);
        assert_eq!(from_f64(1e300), None);
    }

    #[test]
    fn tick_rounding() {
        let tick = 250_000_000;
        assert_eq!(round_to_tick(3_722_800_000_000, tick), 3_722_750_000_000);
        assert_eq!(round_to_tick(3_722_880_000_000, tick), 3_723_000_000_000);
        assert_eq!(round_to_tick(-375_000_000, tick), -500_000_000);
        assert!(on_tick(3_722_750_000_000, tick));
        assert!(!on_tick(3_722_800_000_000, tick));
    }
}
