//! Mapping of SPX levels to ES futures prices with the live basis.
//!
//! basis = ES mid − SPX spot (both fixed point); an SPX level L maps to the ES price L + basis
//! rounded to the nearest ES tick (0.25 index points = 250 000 000 in 1e-9 units, ties away
//! from zero).

use crate::levels::GammaLevels;
use mia_model::contract::ContractSpec;
use mia_model::price::{round_to_tick, Px, UNDEF_PX};

/// The ES/SPX basis: ES mid − SPX spot. `None` when either price is undefined.
#[inline]
pub fn basis(es_mid: Px, spx_spot: Px) -> Option<Px> {
    (es_mid != UNDEF_PX && spx_spot != UNDEF_PX).then(|| es_mid.saturating_sub(spx_spot))
}

/// An SPX level as an ES price on the tick grid ([`UNDEF_PX`] stays undefined).
#[inline]
pub fn spx_to_es(level: Px, basis: Px) -> Px {
    if level == UNDEF_PX {
        UNDEF_PX
    } else {
        round_to_tick(level.saturating_add(basis), ContractSpec::ES.tick)
    }
}

/// The price levels of a [`GammaLevels`] expressed in ES prices.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EsLevels {
    /// Basis used (ES − SPX).
    pub basis: Px,
    /// SPX spot in ES terms.
    pub spot: Px,
    /// Zero gamma in ES terms.
    pub zero_gamma: Px,
    /// Call wall in ES terms.
    pub call_wall: Px,
    /// Put wall in ES terms.
    pub put_wall: Px,
    /// Max pain in ES terms.
    pub max_pain: Px,
}

impl GammaLevels {
    /// The levels mapped to ES prices with `basis` (ES mid − SPX spot).
    #[inline]
    pub fn to_es(&self, basis: Px) -> EsLevels {
        EsLevels {
            basis,
            spot: spx_to_es(self.spot, basis),
            zero_gamma: spx_to_es(self.zero_gamma, basis),
            call_wall: spx_to_es(self.call_wall, basis),
            put_wall: spx_to_es(self.put_wall, basis),
            max_pain: spx_to_es(self.max_pain, basis),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mia_model::price::from_f64;

    fn px(v: f64) -> Px {
        from_f64(v).unwrap_or(UNDEF_PX)
    }

    #[test]
    fn maps_and_rounds() {
        // ES 4512.50 vs SPX 4500.5298: basis 11.9702.
        let b = basis(px(4512.5), px(4500.5298)).unwrap_or(0);
        assert_eq!(b, px(11.9702));
        // 4480.0 + 11.9702 = 4491.9702 → 4492.00.
        assert_eq!(spx_to_es(px(4480.0), b), px(4492.0));
        // 4600.1 + 11.9702 = 4612.0702 → 4612.00; 4600.2 → 4612.1702 → 4612.25.
        assert_eq!(spx_to_es(px(4600.1), b), px(4612.0));
        assert_eq!(spx_to_es(px(4600.2), b), px(4612.25));
        // Negative basis.
        assert_eq!(spx_to_es(px(4400.0), px(-3.3)), px(4396.75));
        assert_eq!(spx_to_es(UNDEF_PX, b), UNDEF_PX);
        assert_eq!(basis(UNDEF_PX, px(1.0)), None);
        let g = GammaLevels { spot: px(4500.5298), call_wall: px(4600.0), ..GammaLevels::default() };
        let es = g.to_es(b);
        assert_eq!(es.spot, px(4512.5));
        assert_eq!(es.call_wall, px(4612.0));
        assert_eq!(es.zero_gamma, UNDEF_PX);
        assert_eq!(es.spot % ContractSpec::ES.tick, 0);
    }
}
