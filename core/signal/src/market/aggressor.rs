//! The aggressor classifier shared by delta, momentum, smart money, the footprint and the
//! bars (SIGNALS.md §2 F3, departure 26): the feed's side when present; otherwise the quote
//! rule against the mid *before* the trade (above → buy, below → sell); at the mid, or with no
//! valid quote, the tick rule (up-tick → buy, down-tick → sell, zero tick → the previous
//! class). With nothing known the trade is unclassified (it counts in volume only).

use mia_model::event::Side;
use mia_model::price::Px;

/// How a trade's aggressor side was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SideSource {
    /// Not classified.
    #[default]
    Unknown,
    /// The feed's aggressor side.
    Feed,
    /// Quote rule (price against the mid before the trade).
    Quote,
    /// Tick rule (price against the previous trade).
    Tick,
}

/// A classified trade.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Aggressor {
    /// +1 buyer-initiated, −1 seller-initiated, 0 unclassified.
    pub sign: i8,
    /// Where the sign came from.
    pub source: SideSource,
}

impl Aggressor {
    /// True when the sign came from the feed.
    #[inline]
    pub fn from_feed(self) -> bool {
        self.source == SideSource::Feed
    }
}

/// Lee–Ready with the feed's side first. State: the previous trade price and class.
#[derive(Clone, Copy, Debug, Default)]
pub struct Classifier {
    last_px: Option<Px>,
    last_sign: i8,
}

impl Classifier {
    /// A classifier with no history.
    pub const fn new() -> Self {
        Self { last_px: None, last_sign: 0 }
    }

    /// Classifies a trade at `price` with feed side `side`, given the mid before the trade
    /// (`None` when the quote is not valid).
    #[inline]
    pub fn classify(&mut self, side: Side, price: Px, mid: Option<Px>) -> Aggressor {
        let a = match side {
            Side::Bid => Aggressor { sign: 1, source: SideSource::Feed },
            Side::Ask => Aggressor { sign: -1, source: SideSource::Feed },
            Side::None => match mid {
                Some(m) if price > m => Aggressor { sign: 1, source: SideSource::Quote },
                Some(m) if price < m => Aggressor { sign: -1, source: SideSource::Quote },
                _ => self.tick_rule(price),
            },
        };
        self.last_px = Some(price);
        if a.sign != 0 {
            self.last_sign = a.sign;
        }
        a
    }

    #[inline]
    fn tick_rule(&self, price: Px) -> Aggressor {
        let sign = match self.last_px {
            Some(p) if price > p => 1,
            Some(p) if price < p => -1,
            Some(_) => self.last_sign,
            None => 0,
        };
        let source = if sign == 0 { SideSource::Unknown } else { SideSource::Tick };
        Aggressor { sign, source }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: Px = 1_000_000_000;
    const T: Px = 250_000_000;

    /// SIGNALS.md T4: no feed side; +5 (above the mid), −3 (below), +4 (at the mid: up-tick).
    #[test]
    fn t4_lee_ready() {
        let mut c = Classifier::new();
        let mid1 = Some(5000 * P + T / 2);
        let a = c.classify(Side::None, 5000 * P + T, mid1);
        let b = c.classify(Side::None, 5000 * P, mid1);
        let mid2 = Some(5000 * P + T);
        let d = c.classify(Side::None, 5000 * P + T, mid2);
        assert_eq!((a.sign, b.sign, d.sign), (1, -1, 1));
        assert_eq!((a.source, d.source), (SideSource::Quote, SideSource::Tick));
        assert_eq!(5 * a.sign as i64 + 3 * b.sign as i64 + 4 * d.sign as i64, 6);
    }

    #[test]
    fn feed_side_wins_and_zero_tick_repeats() {
        let mut c = Classifier::new();
        assert_eq!(c.classify(Side::None, 100 * P, None).sign, 0, "nothing known");
        assert_eq!(c.classify(Side::Ask, 100 * P, Some(99 * P)).sign, -1, "feed beats quote");
        assert_eq!(c.classify(Side::None, 100 * P, None).sign, -1, "zero tick repeats");
        assert_eq!(c.classify(Side::None, 100 * P + T, None).sign, 1);
        assert_eq!(c.classify(Side::None, 100 * P + T, Some(100 * P + T)).source, SideSource::Tick);
    }
}
