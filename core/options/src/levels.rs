//! The hot-path gamma snapshot: [`GammaLevels`] is a fixed-size `#[repr(C)]` POD: prices as
//! `i64` 1e-9 fixed point ([`mia_model::price::Px`], [`UNDEF_PX`] when a level does not exist),
//! exposures and ratios as `f64`, timestamps in UTC ns. It is carried from the options cold
//! thread to the hot path as [`Words`] (bit-exact `u64` words) through the runtime's seqlock
//! cells.

use mia_model::price::{Px, UNDEF_PX};
use mia_model::words::Words;

/// Bit flags of [`GammaLevels::flags`].
#[derive(Clone, Copy, Debug)]
pub struct LevelFlags;

impl LevelFlags {
    /// The valuation date is in the week of the monthly expiration.
    pub const OPEX_WEEK: u32 = 1;
    /// The next monthly expiration is a quarterly one (quad witching cycle).
    pub const QUARTERLY_CYCLE: u32 = 1 << 1;
    /// The valuation date is a quad-witching day.
    pub const QUAD_WITCHING_DAY: u32 = 1 << 2;
    /// The valuation date is a monthly expiration day.
    pub const MONTHLY_OPEX_DAY: u32 = 1 << 3;
    /// Net GEX is negative (dealers short gamma).
    pub const NEGATIVE_GAMMA: u32 = 1 << 4;
}

/// Gamma levels for the hot path (one snapshot of the options analytics).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GammaLevels {
    /// When the cold thread computed this snapshot (UTC ns, event time of the computation).
    pub computed_at_ns: u64,
    /// Quote time of the chain the levels come from (UTC ns).
    pub valuation_ts_ns: u64,
    /// Index spot used (SPX points, 1e-9).
    pub spot: Px,
    /// Zero-gamma (flip) level, [`UNDEF_PX`] if none.
    pub zero_gamma: Px,
    /// Call wall strike, [`UNDEF_PX`] if none.
    pub call_wall: Px,
    /// Put wall strike, [`UNDEF_PX`] if none.
    pub put_wall: Px,
    /// Max-pain strike, [`UNDEF_PX`] if none.
    pub max_pain: Px,
    /// Net GEX, dollars per 1 % move.
    pub total_gex_usd_per_pct: f64,
    /// Put/call open-interest ratio (NaN if no call OI).
    pub put_call_oi_ratio: f64,
    /// Put/call volume ratio (NaN if no call volume).
    pub put_call_volume_ratio: f64,
    /// Share of |GEX| expiring at the next expiration, in [0, 1].
    pub zero_dte_share: f64,
    /// Dealer vanna exposure, $ delta per vol point.
    pub vanna_exposure: f64,
    /// Dealer charm exposure, $ delta per day.
    pub charm_exposure: f64,
    /// Calendar days to the next monthly OPEX.
    pub days_to_opex: u32,
    /// [`LevelFlags`] bits.
    pub flags: u32,
}

/// Number of 64-bit words of a [`GammaLevels`].
pub const GAMMA_LEVELS_WORDS: usize = 14;

const _: () = assert!(std::mem::size_of::<GammaLevels>() == GAMMA_LEVELS_WORDS * 8);
const _: () = assert!(std::mem::align_of::<GammaLevels>() == 8);

impl Default for GammaLevels {
    fn default() -> Self {
        GammaLevels {
            computed_at_ns: 0,
            valuation_ts_ns: 0,
            spot: UNDEF_PX,
            zero_gamma: UNDEF_PX,
            call_wall: UNDEF_PX,
            put_wall: UNDEF_PX,
            max_pain: UNDEF_PX,
            total_gex_usd_per_pct: 0.0,
            put_call_oi_ratio: f64::NAN,
            put_call_volume_ratio: f64::NAN,
            zero_dte_share: 0.0,
            vanna_exposure: 0.0,
            charm_exposure: 0.0,
            days_to_opex: 0,
            flags: 0,
        }
    }
}

impl GammaLevels {
    /// Age of the snapshot at `now_ns` (0 if `now_ns` is earlier).
    #[inline]
    pub fn age_ns(&self, now_ns: u64) -> u64 {
        now_ns.saturating_sub(self.computed_at_ns)
    }

    /// Age of the underlying quotes at `now_ns`.
    #[inline]
    pub fn quote_age_ns(&self, now_ns: u64) -> u64 {
        now_ns.saturating_sub(self.valuation_ts_ns)
    }

    /// True when the flag bit(s) `f` are set.
    #[inline]
    pub fn has(&self, f: u32) -> bool {
        self.flags & f == f
    }
}

impl Words<GAMMA_LEVELS_WORDS> for GammaLevels {
    #[inline]
    fn to_words(&self) -> [u64; GAMMA_LEVELS_WORDS] {
        [
            self.computed_at_ns,
            self.valuation_ts_ns,
            self.spot as u64,
            self.zero_gamma as u64,
            self.call_wall as u64,
            self.put_wall as u64,
            self.max_pain as u64,
            self.total_gex_usd_per_pct.to_bits(),
            self.put_call_oi_ratio.to_bits(),
            self.put_call_volume_ratio.to_bits(),
            self.zero_dte_share.to_bits(),
            self.vanna_exposure.to_bits(),
            self.charm_exposure.to_bits(),
            u64::from(self.days_to_opex) | (u64::from(self.flags) << 32),
        ]
    }

    #[inline]
    fn from_words(w: &[u64; GAMMA_LEVELS_WORDS]) -> Self {
        GammaLevels {
            computed_at_ns: w[0],
            valuation_ts_ns: w[1],
            spot: w[2] as i64,
            zero_gamma: w[3] as i64,
            call_wall: w[4] as i64,
            put_wall: w[5] as i64,
            max_pain: w[6] as i64,
            total_gex_usd_per_pct: f64::from_bits(w[7]),
            put_call_oi_ratio: f64::from_bits(w[8]),
            put_call_volume_ratio: f64::from_bits(w[9]),
            zero_dte_share: f64::from_bits(w[10]),
            vanna_exposure: f64::from_bits(w[11]),
            charm_exposure: f64::from_bits(w[12]),
            days_to_opex: w[13] as u32,
            flags: (w[13] >> 32) as u32,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A snapshot whose every field is derived from `i`, so a torn copy is detectable.
    fn levels(i: u64) -> GammaLevels {
        GammaLevels {
            computed_at_ns: i,
            valuation_ts_ns: i.wrapping_mul(3),
            spot: i as i64,
            zero_gamma: -(i as i64),
            call_wall: (i as i64).wrapping_mul(7),
            put_wall: (i as i64).wrapping_add(11),
            max_pain: (i as i64) ^ 0x5555,
            total_gex_usd_per_pct: i as f64 * 0.5,
            put_call_oi_ratio: i as f64 + 0.25,
            put_call_volume_ratio: -(i as f64),
            zero_dte_share: (i % 1000) as f64 / 1000.0,
            vanna_exposure: i as f64 * 2.0,
            charm_exposure: i as f64 * 3.0,
            days_to_opex: (i % 31) as u32,
            flags: (i & 0x1f) as u32,
        }
    }

    #[test]
    fn word_round_trip() {
        for i in [0u64, 1, 12345, u64::MAX / 3] {
            assert_eq!(GammaLevels::from_words(&levels(i).to_words()), levels(i));
        }
        let d = GammaLevels::default();
        let back = GammaLevels::from_words(&d.to_words());
        assert_eq!(back.spot, UNDEF_PX);
        assert!(back.put_call_oi_ratio.is_nan());
    }
}
