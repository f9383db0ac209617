//! The confluence-zone analyzer (SIGNALS.md §5, `[signal.zones]`).
//!
//! At each 1-minute close the active levels are sorted by price (insertion sort, ≤
//! [`LEVEL_CAP`] items). Scanning upward, a zone starts at a level `f` and takes every later
//! level with `price − f.price ≤ tolerance_ticks`; the next zone starts at the first level not
//! taken. Bounds `[min − 1.5T, max + 1.5T]`, centre `(min + max)/2`,
//! `score = min(1, Σ ws·W / score_div)`, quality EXTREME (score ≥ 0.8 or n ≥ 7), STRONG
//! (≥ 0.6 or n ≥ 5), MODERATE (≥ 0.4 or n ≥ 3), otherwise WEAK; Support iff centre ≤ P.
//!
//! Queries ([`ZoneAnalyzer::confluence_at`], [`ZoneAnalyzer::proximity`]) cost
//! O([`ZONE_CAP`]) and run only at decision points.

use super::levels::{WeightedLevel, LEVEL_CAP};
use mia_model::price::Px;

/// Zones held at once (fixed).
pub const ZONE_CAP: usize = 48;

const _: () = assert!(LEVEL_CAP <= 64, "insertion sort on ≤ 64 items");

/// `[signal.zones]`.
#[derive(Clone, Copy, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ZonesConfig {
    /// Levels within this many ticks of a zone's first level join it.
    pub tolerance_ticks: u32,
    /// Divisor of `Σ ws·W` in the zone score.
    pub score_div: f64,
    /// Radius (ticks) of [`ZoneAnalyzer::confluence_at`].
    pub confluence_ticks: u32,
    /// Radius (ticks) of [`ZoneAnalyzer::proximity`].
    pub prox_ticks: u32,
}

impl Default for ZonesConfig {
    fn default() -> Self {
        Self { tolerance_ticks: 3, score_div: 8.0, confluence_ticks: 10, prox_ticks: 20 }
    }
}

impl ZonesConfig {
    /// Checks the section.
    ///
    /// # Errors
    /// A `key: reason` message for the first bad key.
    pub fn validate(&self) -> Result<(), String> {
        if self.tolerance_ticks > 400 {
            return Err(format!("tolerance_ticks: must be ≤ 400, got {}", self.tolerance_ticks));
        }
        if !(self.score_div.is_finite() && self.score_div > 0.0) {
            return Err(format!("score_div: must be finite and > 0, got {}", self.score_div));
        }
        if self.confluence_ticks == 0 || self.confluence_ticks > 400 {
            return Err(format!("confluence_ticks: must be in 1..=400, got {}", self.confluence_ticks));
        }
        if self.prox_ticks == 0 || self.prox_ticks > 400 {
            return Err(format!("prox_ticks: must be in 1..=400, got {}", self.prox_ticks));
        }
        Ok(())
    }
}

/// Quality class of a zone (ascending).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ZoneQuality {
    /// None of the below.
    #[default]
    Weak,
    /// Score ≥ 0.4 or n ≥ 3.
    Moderate,
    /// Score ≥ 0.6 or n ≥ 5.
    Strong,
    /// Score ≥ 0.8 or n ≥ 7.
    Extreme,
}

impl ZoneQuality {
    /// The class of a zone with `score` and `n` levels.
    pub fn of(score: f64, n: usize) -> Self {
        if score >= 0.8 || n >= 7 {
            ZoneQuality::Extreme
        } else if score >= 0.6 || n >= 5 {
            ZoneQuality::Strong
        } else if score >= 0.4 || n >= 3 {
            ZoneQuality::Moderate
        } else {
            ZoneQuality::Weak
        }
    }
}

/// Which side of the price a zone lies on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ZoneSide {
    /// Centre ≤ P.
    #[default]
    Support,
    /// Centre > P.
    Resistance,
}

/// One confluence zone.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Zone {
    /// Lowest level price.
    pub min: Px,
    /// Highest level price.
    pub max: Px,
    /// Lower bound `min − 1.5T`.
    pub lower: Px,
    /// Upper bound `max + 1.5T`.
    pub upper: Px,
    /// `(min + max)/2`.
    pub centre: Px,
    /// Levels in the zone.
    pub n: u16,
    /// `min(1, Σ ws·W / score_div)`.
    pub score: f64,
    /// Quality class.
    pub quality: ZoneQuality,
    /// Side relative to the price at the last update.
    pub side: ZoneSide,
}

/// The zones of the last 1-minute close, with the sorted levels they were built from.
#[derive(Clone, Debug)]
pub struct ZoneAnalyzer {
    cfg: ZonesConfig,
    tick: Px,
    levels: [WeightedLevel; LEVEL_CAP],
    n_levels: usize,
    zones: [Zone; ZONE_CAP],
    n_zones: usize,
}

impl ZoneAnalyzer {
    /// An empty analyzer for tick `tick`.
    pub fn new(cfg: &ZonesConfig, tick: Px) -> Self {
        Self {
            cfg: *cfg,
            tick: tick.max(1),
            levels: [WeightedLevel::default(); LEVEL_CAP],
            n_levels: 0,
            zones: [Zone::default(); ZONE_CAP],
            n_zones: 0,
        }
    }

    /// Rebuilds the zones from the active levels (at most [`LEVEL_CAP`] are read) at
    /// price `p`. O(LEVEL_CAP²) worst case for the insertion sort, no allocation.
    pub fn update(&mut self, active: &[WeightedLevel], p: Px) {
        let n = active.len().min(LEVEL_CAP);
        self.levels[..n].copy_from_slice(&active[..n]);
        self.n_levels = n;
        // insertion sort by price (stable: equal prices keep their slot order)
        for i in 1..n {
            let x = self.levels[i];
            let mut j = i;
            while j > 0 && self.levels[j - 1].level.price > x.level.price {
                self.levels[j] = self.levels[j - 1];
                j -= 1;
            }
            self.levels[j] = x;
        }
        let tol = self.cfg.tolerance_ticks as Px * self.tick;
        let pad = 3 * self.tick / 2;
        self.n_zones = 0;
        let mut i = 0;
        while i < n && self.n_zones < ZONE_CAP {
            let first = self.levels[i].level.price;
            let mut j = i;
            let mut mass = 0.0;
            while j < n && self.levels[j].level.price - first <= tol {
                mass += self.levels[j].mass();
                j += 1;
            }
            let (min, max) = (first, self.levels[j - 1].level.price);
            let score = (mass / self.cfg.score_div).min(1.0);
            let score = if score.is_finite() { score.max(0.0) } else { 0.0 };
            let centre = min + (max - min) / 2;
            let cnt = j - i;
            self.zones[self.n_zones] = Zone {
                min,
                max,
                lower: min - pad,
                upper: max + pad,
                centre,
                n: cnt as u16,
                score,
                quality: ZoneQuality::of(score, cnt),
                side: if centre <= p { ZoneSide::Support } else { ZoneSide::Resistance },
            };
            self.n_zones += 1;
            i = j;
        }
    }

    /// The zones, ascending by price.
    #[inline]
    pub fn zones(&self) -> &[Zone] {
        &self.zones[..self.n_zones]
    }

    /// The active levels of the last update, sorted by price.
    #[inline]
    pub fn levels(&self) -> &[WeightedLevel] {
        &self.levels[..self.n_levels]
    }

    /// `min(1, Σ_{|ticks(L − P)| ≤ confluence_ticks} ws·W·(1 − d/confluence_ticks)/5)`.
    pub fn confluence_at(&self, p: Px) -> f64 {
        let r = self.cfg.confluence_ticks as f64;
        let mut sum = 0.0;
        for l in self.levels() {
            let d = (l.level.price - p).abs() as f64 / self.tick as f64;
            if d <= r {
                sum += l.mass() * (1.0 - d / r) / 5.0;
            }
        }
        if sum.is_finite() {
            sum.clamp(0.0, 1.0)
        } else {
            0.0
        }
    }

    /// `min(1, Σ_{STRONG/EXTREME zones, d ≤ prox_ticks} score·(1 − d/prox_ticks)·m)`, `d` the
    /// distance in ticks from `p` to the zone centre, `m` = 1.0 (EXTREME) or 0.8 (STRONG).
    pub fn proximity(&self, p: Px) -> f64 {
        let r = self.cfg.prox_ticks as f64;
        let mut sum = 0.0;
        for z in self.zones() {
            let m = match z.quality {
                ZoneQuality::Extreme => 1.0,
                ZoneQuality::Strong => 0.8,
                _ => continue,
            };
            let d = (z.centre - p).abs() as f64 / self.tick as f64;
            if d <= r {
                sum += z.score * (1.0 - d / r) * m;
            }
        }
        if sum.is_finite() {
            sum.clamp(0.0, 1.0)
        } else {
            0.0
        }
    }

    /// The nearest zone strictly below-or-at `p` (Support) and strictly above (Resistance).
    pub fn nearest(&self, p: Px) -> (Option<&Zone>, Option<&Zone>) {
        let below = self.zones().iter().rev().find(|z| z.centre <= p);
        let above = self.zones().iter().find(|z| z.centre > p);
        (below, above)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::levels::{weighted_strength, Level, LevelKind};
    use mia_model::price::PRICE_SCALE;

    const T: Px = 250_000_000;
    const P: Px = PRICE_SCALE;

    fn lvl(price: Px, kind: LevelKind, sigma: f64, w: f64) -> WeightedLevel {
        WeightedLevel {
            level: Level { price, kind, strength: sigma as f32, since_ns: 0, touches: 0 },
            weight: w,
            ws: weighted_strength(sigma, 0.0, 0),
        }
    }

    /// SIGNALS.md T16: POC 5000.00 (σ 0.8, W 0.9), put wall 5000.25 (0.9, 1.0), VWAP 5000.50
    /// (0.8, 0.8), age 0, no touches → one zone, n = 3, score (0.72 + 0.9 + 0.64)/8 = 0.2825,
    /// MODERATE, bounds [4999.625, 5000.875], centre 5000.25.
    #[test]
    fn t16_zone() {
        let mut z = ZoneAnalyzer::new(&ZonesConfig::default(), T);
        // given out of order: the analyzer sorts
        let levels = [
            lvl(5000 * P + 2 * T, LevelKind::Vwap, 0.8, 0.8),
            lvl(5000 * P, LevelKind::Poc, 0.8, 0.9),
            lvl(5000 * P + T, LevelKind::PutWall, 0.9, 1.0),
        ];
        z.update(&levels, 5001 * P);
        assert_eq!(z.zones().len(), 1);
        let zone = z.zones()[0];
        assert_eq!(zone.n, 3);
        assert!((zone.score - 0.2825).abs() < 1e-5, "{}", zone.score);
        assert_eq!(zone.quality, ZoneQuality::Moderate);
        assert_eq!((zone.lower, zone.upper), (4999 * P + 625_000_000, 5000 * P + 875_000_000));
        assert_eq!(zone.centre, 5000 * P + T);
        assert_eq!(zone.side, ZoneSide::Support);
        assert_eq!(z.levels().iter().map(|l| l.level.kind).collect::<Vec<_>>()[0], LevelKind::Poc);
    }

    /// A level 4 ticks above a zone's first level starts a new zone (tolerance 3, measured
    /// from the first level, not chained); a lone level is a zone with n = 1.
    #[test]
    fn grouping_from_first_level() {
        let mut z = ZoneAnalyzer::new(&ZonesConfig::default(), T);
        let levels = [
            lvl(5000 * P, LevelKind::Poc, 0.8, 0.9),
            lvl(5000 * P + 3 * T, LevelKind::Vah, 0.7, 0.8),
            lvl(5000 * P + 4 * T, LevelKind::Vwap, 0.8, 0.8),
            lvl(5010 * P, LevelKind::Round, 0.3, 0.3),
        ];
        z.update(&levels, 5001 * P);
        let zs = z.zones();
        assert_eq!(zs.iter().map(|z| z.n).collect::<Vec<_>>(), vec![2, 1, 1]);
        assert_eq!(
            (zs[1].side, zs[2].side),
            (ZoneSide::Support, ZoneSide::Resistance),
            "centre ≤ P is support"
        );
        assert!((zs[2].score - 0.09 / 8.0).abs() < 1e-12);
        assert_eq!(zs[2].quality, ZoneQuality::Weak);
    }

    #[test]
    fn quality_classes() {
        assert_eq!(ZoneQuality::of(0.8, 1), ZoneQuality::Extreme);
        assert_eq!(ZoneQuality::of(0.1, 7), ZoneQuality::Extreme);
        assert_eq!(ZoneQuality::of(0.6, 1), ZoneQuality::Strong);
        assert_eq!(ZoneQuality::of(0.0, 5), ZoneQuality::Strong);
        assert_eq!(ZoneQuality::of(0.4, 2), ZoneQuality::Moderate);
        assert_eq!(ZoneQuality::of(0.39, 2), ZoneQuality::Weak);
    }

    /// Queries: confluence 5 ticks from the T16 levels, proximity of a STRONG zone.
    #[test]
    fn queries() {
        let mut z = ZoneAnalyzer::new(&ZonesConfig::default(), T);
        assert_eq!((z.confluence_at(5000 * P), z.proximity(5000 * P)), (0.0, 0.0), "no level");
        let levels = [
            lvl(5000 * P, LevelKind::Poc, 0.8, 0.9),
            lvl(5000 * P + T, LevelKind::PutWall, 0.9, 1.0),
            lvl(5000 * P + 2 * T, LevelKind::Vwap, 0.8, 0.8),
        ];
        z.update(&levels, 5000 * P);
        // at 5001.25 (5, 4, 3 ticks away): (0.72·0.5 + 0.9·0.6 + 0.64·0.7)/5 = 1.348/5
        assert!((z.confluence_at(5001 * P + T) - 1.348 / 5.0).abs() < 1e-12);
        assert_eq!(z.proximity(5000 * P), 0.0, "a MODERATE zone does not count");
        // 5 levels at one price: STRONG (n ≥ 5), score 5·0.72/8 = 0.45
        let five = [lvl(5000 * P, LevelKind::Poc, 0.8, 0.9); 5];
        z.update(&five, 5000 * P);
        assert_eq!(z.zones()[0].quality, ZoneQuality::Strong);
        // 10 ticks from the centre: 0.45·0.5·0.8
        assert!((z.proximity(5000 * P + 10 * T) - 0.18).abs() < 1e-12);
        assert_eq!(z.proximity(5000 * P + 21 * T), 0.0);
        assert_eq!(z.nearest(5000 * P).0.map(|z| z.n), Some(5));
    }

    #[test]
    fn config() {
        let c: ZonesConfig = toml::from_str("tolerance_ticks = 4").unwrap_or_default();
        assert_eq!((c.tolerance_ticks, c.score_div, c.prox_ticks), (4, 8.0, 20));
        assert_eq!(c.validate(), Ok(()));
        let bad = ZonesConfig { score_div: 0.0, ..ZonesConfig::default() };
        assert!(bad.validate().is_err_and(|e| e.starts_with("score_div:")));
        assert!(toml::from_str::<ZonesConfig>("x = 1").is_err());
    }
}
