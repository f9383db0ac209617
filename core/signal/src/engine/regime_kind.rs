//! The 9-value market regime of SIGNALS.md §9 and its default implications.
//!
//! This is a minimal stand-in: the regime *detector* (§9) is written elsewhere, and when it
//! lands its own `Regime` enum (the same 9 values) should replace this one. The signal engine
//! only reads the regime class, its confidence, its trend strength and its range.

use mia_model::order::Direction;

/// Number of [`Regime`] values.
pub const REGIME_COUNT: usize = 9;

/// The market regime (SIGNALS.md §9), in the classification order of its table.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Regime {
    /// Strong up-trend.
    StrongTrendBullish = 0,
    /// Strong down-trend.
    StrongTrendBearish = 1,
    /// Weak up-trend.
    WeakTrendBullish = 2,
    /// Weak down-trend.
    WeakTrendBearish = 3,
    /// Range with a bullish bias.
    RangeBullishBias = 4,
    /// Range with a bearish bias.
    RangeBearishBias = 5,
    /// Range without bias.
    RangeNeutral = 6,
    /// The previous 3 outputs are pairwise different.
    Transition = 7,
    /// None of the above.
    #[default]
    Unclear = 8,
}

/// All regimes, in code order.
pub const REGIMES: [Regime; REGIME_COUNT] = [
    Regime::StrongTrendBullish,
    Regime::StrongTrendBearish,
    Regime::WeakTrendBullish,
    Regime::WeakTrendBearish,
    Regime::RangeBullishBias,
    Regime::RangeBearishBias,
    Regime::RangeNeutral,
    Regime::Transition,
    Regime::Unclear,
];

impl Regime {
    /// Index 0…8 (the `u8` code).
    #[inline]
    pub const fn index(self) -> usize {
        self as usize
    }

    /// Upper-case name as in the spec.
    pub const fn name(self) -> &'static str {
        match self {
            Regime::StrongTrendBullish => "STRONG_TREND_BULLISH",
            Regime::StrongTrendBearish => "STRONG_TREND_BEARISH",
            Regime::WeakTrendBullish => "WEAK_TREND_BULLISH",
            Regime::WeakTrendBearish => "WEAK_TREND_BEARISH",
            Regime::RangeBullishBias => "RANGE_BULLISH_BIAS",
            Regime::RangeBearishBias => "RANGE_BEARISH_BIAS",
            Regime::RangeNeutral => "RANGE_NEUTRAL",
            Regime::Transition => "TRANSITION",
            Regime::Unclear => "UNCLEAR",
        }
    }

    /// A strong or weak trend.
    #[inline]
    pub const fn is_trend(self) -> bool {
        (self as u8) <= 3
    }

    /// A strong trend.
    #[inline]
    pub const fn is_strong_trend(self) -> bool {
        (self as u8) <= 1
    }

    /// A range (biased or neutral).
    #[inline]
    pub const fn is_range(self) -> bool {
        matches!(self, Regime::RangeBullishBias | Regime::RangeBearishBias | Regime::RangeNeutral)
    }

    /// TRANSITION or UNCLEAR: the selector waits.
    #[inline]
    pub const fn is_wait(self) -> bool {
        matches!(self, Regime::Transition | Regime::Unclear)
    }

    /// The trend direction of a trend regime, the bias side of a biased range, else `None`.
    #[inline]
    pub const fn direction(self) -> Option<Direction> {
        match self {
            Regime::StrongTrendBullish | Regime::WeakTrendBullish | Regime::RangeBullishBias => {
                Some(Direction::Long)
            }
            Regime::StrongTrendBearish | Regime::WeakTrendBearish | Regime::RangeBearishBias => {
                Some(Direction::Short)
            }
            _ => None,
        }
    }

    /// The size multiplier `m_regime` of the §9 implications table (defaults).
    pub const fn default_size_mult(self) -> f64 {
        match self {
            Regime::StrongTrendBullish | Regime::StrongTrendBearish => 1.3,
            Regime::WeakTrendBullish | Regime::WeakTrendBearish => 1.0,
            Regime::RangeBullishBias | Regime::RangeBearishBias | Regime::RangeNeutral => 0.9,
            Regime::Transition | Regime::Unclear => 0.5,
        }
    }

    /// The allowed directions of the §9 implications table (defaults).
    pub const fn default_allowed(self) -> DirMask {
        match self {
            Regime::RangeNeutral => DirMask::BOTH,
            Regime::Transition | Regime::Unclear => DirMask::NONE,
            _ => match self.direction() {
                Some(Direction::Long) => DirMask::LONG,
                Some(Direction::Short) => DirMask::SHORT,
                _ => DirMask::NONE,
            },
        }
    }
}

/// A set of allowed directions: a 2-bit mask (bit 0 long, bit 1 short).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct DirMask(pub u8);

impl DirMask {
    /// No direction.
    pub const NONE: DirMask = DirMask(0);
    /// Long only.
    pub const LONG: DirMask = DirMask(1);
    /// Short only.
    pub const SHORT: DirMask = DirMask(2);
    /// Both directions.
    pub const BOTH: DirMask = DirMask(3);

    /// Whether `d` is allowed (`Flat` never is).
    #[inline]
    pub const fn allows(self, d: Direction) -> bool {
        match d {
            Direction::Long => self.0 & 1 != 0,
            Direction::Short => self.0 & 2 != 0,
            Direction::Flat => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn implications_table() {
        assert_eq!(Regime::StrongTrendBullish.default_allowed(), DirMask::LONG);
        assert_eq!(Regime::WeakTrendBearish.default_allowed(), DirMask::SHORT);
        assert_eq!(Regime::RangeBearishBias.default_allowed(), DirMask::SHORT);
        assert_eq!(Regime::RangeNeutral.default_allowed(), DirMask::BOTH);
        assert_eq!(Regime::Transition.default_allowed(), DirMask::NONE);
        assert_eq!(Regime::StrongTrendBearish.default_size_mult(), 1.3);
        assert_eq!(Regime::RangeNeutral.default_size_mult(), 0.9);
        assert_eq!(Regime::Unclear.default_size_mult(), 0.5);
        assert!(DirMask::BOTH.allows(Direction::Short));
        assert!(!DirMask::LONG.allows(Direction::Short));
        assert!(!DirMask::BOTH.allows(Direction::Flat));
        for (i, r) in REGIMES.iter().enumerate() {
            assert_eq!(r.index(), i);
        }
        assert_eq!(REGIMES.iter().filter(|r| r.is_trend()).count(), 4);
        assert_eq!(REGIMES.iter().filter(|r| r.is_range()).count(), 3);
    }
}
