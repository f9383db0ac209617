//! Price levels (SIGNALS.md §5, `[signal.levels]`): gamma walls and the gamma flip, the session
//! volume profile (POC, a 70 % value area and HVNs kept in a fixed per-tick histogram), the
//! previous session's profile, the session VWAP with its ±1σ/±2σ bands, the session and
//! overnight high/low, and round and psychological numbers.
//!
//! - **Per event** ([`Levels::on_trade`]): the histogram, its POC and the session/overnight
//!   extremes are updated in O(1), without allocation.
//! - **Per 1-minute close** ([`Levels::on_minute_close`]): the value area and the HVNs are
//!   recomputed (bounded O([`PROFILE_CAP`]) scans), every level is placed in its fixed slot,
//!   touches are counted on the closed bar, and the *active* levels with their weighted
//!   strengths are listed for the zone analyzer ([`Levels::active`]).
//! - **Per session** ([`Levels::on_session`]): the profile becomes the previous profile and
//!   the session state is cleared (a fill of the touched histogram range, not an allocation).
//!
//! `weighted strength ws = σ·max(0.1, 1 − age_min/1440)·min(2, 1 + 0.2·touches)`.

use crate::market::vwap::SessionVwap;
use mia_model::bar::Bar;
use mia_model::price::{round_to_tick, Px, PRICE_SCALE};

/// Levels held at once (fixed).
pub const LEVEL_CAP: usize = 48;
/// Ticks in the session volume profile (fixed); the first trade sits at the centre.
pub const PROFILE_CAP: usize = 2048;
/// Cap on `hvn_count`.
pub const HVN_CAP: usize = 8;

const CENTER: usize = PROFILE_CAP / 2;
/// Slots per block of the profile's block maxima (see [`VolumeProfile::hvns`]).
const BLOCK: usize = 16;
const _: () = assert!(PROFILE_CAP.is_multiple_of(BLOCK));
const NS_PER_MIN: f64 = 60e9;
const NS_PER_HOUR: f64 = 3600e9;
/// Round numbers: every 25 points within ±50 points (fixed) → at most 5 levels.
const ROUND_STEP: Px = 25 * PRICE_SCALE;
const ROUND_RADIUS: Px = 50 * PRICE_SCALE;
const ROUND_N: usize = 5;
/// Psychological numbers: every 100 points within ±100 points (fixed) → at most 3 levels.
const PSYCH_STEP: Px = 100 * PRICE_SCALE;
const PSYCH_RADIUS: Px = 100 * PRICE_SCALE;
const PSYCH_N: usize = 3;

/// The kind of a level (one enum for the concept; `repr(u8)`).
#[repr(u8)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum LevelKind {
    /// Call wall (gamma snapshot).
    CallWall,
    /// Put wall (gamma snapshot).
    PutWall,
    /// Gamma flip (zero gamma).
    GammaFlip,
    /// Session point of control.
    #[default]
    Poc,
    /// Session value-area high.
    Vah,
    /// Session value-area low.
    Val,
    /// Previous session's POC.
    Ppoc,
    /// Previous session's VAH.
    Pvah,
    /// Previous session's VAL.
    Pval,
    /// Session VWAP.
    Vwap,
    /// VWAP + 1σ.
    VwapUp1,
    /// VWAP − 1σ.
    VwapDown1,
    /// VWAP + 2σ.
    VwapUp2,
    /// VWAP − 2σ.
    VwapDown2,
    /// High-volume node of the session profile.
    Hvn,
    /// Session high.
    SessionHigh,
    /// Session low.
    SessionLow,
    /// Overnight high (active after 08:30 CT).
    OvernightHigh,
    /// Overnight low (active after 08:30 CT).
    OvernightLow,
    /// Multiple of 25 points.
    Round,
    /// Multiple of 100 points.
    Psychological,
}

/// Defines a per-kind table (one number per row of the SIGNALS §5 table) with its own
/// defaults, so a table given in part keeps the defaults of the rows it leaves out.
macro_rules! kind_table {
    ($(#[$doc:meta])* $name:ident, [$($field:ident = $def:expr, $what:literal;)+]) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
        #[serde(deny_unknown_fields, default)]
        pub struct $name {
            $(
                #[doc = concat!($what, " (default ", stringify!($def), ").")]
                pub $field: f64,
            )+
        }

        impl Default for $name {
            fn default() -> Self {
                Self { $($field: $def),+ }
            }
        }

        impl $name {
            /// The value of the row of `kind`.
            pub fn get(&self, kind: LevelKind) -> f64 {
                match kind {
                    LevelKind::CallWall | LevelKind::PutWall => self.wall,
                    LevelKind::GammaFlip => self.flip,
                    LevelKind::Poc => self.poc,
                    LevelKind::Vah | LevelKind::Val => self.value_area,
                    LevelKind::Ppoc => self.ppoc,
                    LevelKind::Pvah | LevelKind::Pval => self.prev_value_area,
                    LevelKind::Vwap => self.vwap,
                    LevelKind::VwapUp1 | LevelKind::VwapDown1 => self.vwap_1sd,
                    LevelKind::VwapUp2 | LevelKind::VwapDown2 => self.vwap_2sd,
                    LevelKind::Hvn => self.hvn,
                    LevelKind::SessionHigh | LevelKind::SessionLow => self.session,
                    LevelKind::OvernightHigh | LevelKind::OvernightLow => self.overnight,
                    LevelKind::Round => self.round,
                    LevelKind::Psychological => self.psych,
                }
            }

            fn check(&self, table: &str, max: f64) -> Result<(), String> {
                $(
                    if !(self.$field.is_finite() && (0.0..=max).contains(&self.$field)) {
                        return Err(format!(
                            "{}.{}: must be in [0, {max}], got {}", table, stringify!($field), self.$field
                        ));
                    }
                )+
                Ok(())
            }
        }
    };
}

kind_table!(
    /// `[signal.levels.weight]`: the type weight `W` of each row.
    LevelWeights,
    [
        wall = 1.0, "Call and put walls";
        flip = 0.9, "Gamma flip";
        poc = 0.9, "POC";
        value_area = 0.8, "VAH and VAL";
        ppoc = 0.7, "Previous POC";
        prev_value_area = 0.6, "Previous VAH and VAL";
        vwap = 0.8, "VWAP";
        vwap_1sd = 0.7, "VWAP ± 1σ";
        vwap_2sd = 0.6, "VWAP ± 2σ";
        hvn = 0.6, "HVN";
        session = 0.5, "Session high and low";
        overnight = 0.4, "Overnight high and low";
        round = 0.3, "Round numbers (25 points)";
        psych = 0.2, "Psychological numbers (100 points)";
    ]
);

kind_table!(
    /// `[signal.levels.strength]`: the strength `σ` of each row.
    LevelStrengths,
    [
        wall = 0.9, "Call and put walls";
        flip = 0.8, "Gamma flip";
        poc = 0.8, "POC";
        value_area = 0.7, "VAH and VAL";
        ppoc = 0.7, "Previous POC";
        prev_value_area = 0.6, "Previous VAH and VAL";
        vwap = 0.8, "VWAP";
        vwap_1sd = 0.7, "VWAP ± 1σ";
        vwap_2sd = 0.6, "VWAP ± 2σ";
        hvn = 0.6, "HVN";
        session = 0.5, "Session high and low";
        overnight = 0.4, "Overnight high and low";
        round = 0.3, "Round numbers (25 points)";
        psych = 0.3, "Psychological numbers (100 points)";
    ]
);

kind_table!(
    /// `[signal.levels.max_age_h]`: the maximum age in hours of each row. The VWAP family
    /// and the round numbers always have age 0, so their 0 means "no limit" in effect.
    LevelMaxAges,
    [
        wall = 8.0, "Call and put walls";
        flip = 12.0, "Gamma flip";
        poc = 24.0, "POC";
        value_area = 24.0, "VAH and VAL";
        ppoc = 24.0, "Previous POC";
        prev_value_area = 24.0, "Previous VAH and VAL";
        vwap = 0.0, "VWAP (age always 0)";
        vwap_1sd = 0.0, "VWAP ± 1σ (age always 0)";
        vwap_2sd = 0.0, "VWAP ± 2σ (age always 0)";
        hvn = 24.0, "HVN";
        session = 24.0, "Session high and low";
        overnight = 24.0, "Overnight high and low";
        round = 0.0, "Round numbers (age always 0)";
        psych = 0.0, "Psychological numbers (age always 0)";
    ]
);

/// `[signal.levels]`.
#[derive(Clone, Copy, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LevelsConfig {
    /// A level farther than this from the price (points) is not active.
    pub valid_points: f64,
    /// Share of the session volume in the value area.
    pub value_area: f64,
    /// HVNs kept (≤ [`HVN_CAP`]).
    pub hvn_count: usize,
    /// HVNs lie more than this many ticks from the POC and from each other.
    pub hvn_separation_ticks: u32,
    /// Type weights `W`.
    pub weight: LevelWeights,
    /// Strengths `σ`.
    pub strength: LevelStrengths,
    /// Maximum ages (hours).
    pub max_age_h: LevelMaxAges,
}

impl Default for LevelsConfig {
    fn default() -> Self {
        Self {
            valid_points: 200.0,
            value_area: 0.70,
            hvn_count: 2,
            hvn_separation_ticks: 8,
            weight: LevelWeights::default(),
            strength: LevelStrengths::default(),
            max_age_h: LevelMaxAges::default(),
        }
    }
}

impl LevelsConfig {
    /// Checks the section against the caps and ranges.
    ///
    /// # Errors
    /// A `key: reason` message for the first bad key.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.valid_points.is_finite() && self.valid_points > 0.0 && self.valid_points <= 10_000.0) {
            return Err(format!("valid_points: must be in (0, 10000], got {}", self.valid_points));
        }
        if !(self.value_area.is_finite() && self.value_area > 0.0 && self.value_area <= 1.0) {
            return Err(format!("value_area: must be in (0, 1], got {}", self.value_area));
        }
        if self.hvn_count > HVN_CAP {
            return Err(format!("hvn_count: must be ≤ {HVN_CAP}, got {}", self.hvn_count));
        }
        if self.hvn_separation_ticks as usize >= PROFILE_CAP {
            return Err(format!("hvn_separation_ticks: must be < {PROFILE_CAP}"));
        }
        self.weight.check("weight", 1.0)?;
        self.strength.check("strength", 1.0)?;
        self.max_age_h.check("max_age_h", 24.0 * 365.0)?;
        Ok(())
    }
}

/// `ws = σ·max(0.1, 1 − age_min/1440)·min(2, 1 + 0.2·touches)`.
#[inline]
pub fn weighted_strength(sigma: f64, age_min: f64, touches: u16) -> f64 {
    sigma * (1.0 - age_min / 1440.0).max(0.1) * (1.0 + 0.2 * touches as f64).min(2.0)
}

/// One level (SIGNALS §5).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Level {
    /// ES price, on the tick grid.
    pub price: Px,
    /// Kind.
    pub kind: LevelKind,
    /// Strength σ.
    pub strength: f32,
    /// Age origin (ns).
    pub since_ns: u64,
    /// 1-minute closes that touched the level since its price last changed.
    pub touches: u16,
}

/// An active level with its type weight and weighted strength, as the zone analyzer reads it.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct WeightedLevel {
    /// The level.
    pub level: Level,
    /// Type weight `W`.
    pub weight: f64,
    /// Weighted strength `ws`.
    pub ws: f64,
}

impl WeightedLevel {
    /// `ws·W`, the level's contribution to a zone score.
    #[inline]
    pub fn mass(&self) -> f64 {
        self.ws * self.weight
    }
}

/// The gamma levels in ES prices, given to [`Levels::on_minute_close`] only while the
/// snapshot is fresh (the caller checks freshness).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GammaEs {
    /// Call wall (ES).
    pub call_wall: Option<Px>,
    /// Put wall (ES).
    pub put_wall: Option<Px>,
    /// Gamma flip / zero gamma (ES).
    pub flip: Option<Px>,
    /// The snapshot's `computed_at_ns`.
    pub computed_at_ns: u64,
}

/// POC, VAH and VAL of a closed session's profile.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProfileSummary {
    /// Point of control.
    pub poc: Px,
    /// Value-area high.
    pub vah: Px,
    /// Value-area low.
    pub val: Px,
    /// Session volume in the profile.
    pub volume: u64,
    /// Last trade of the session (ns): the age origin of the previous-session levels.
    pub end_ns: u64,
}

/// The session volume profile: a per-tick histogram of `PROFILE_CAP` slots, centred on the
/// session's first trade.
#[derive(Clone, Debug)]
pub struct VolumeProfile {
    vol: Box<[u64]>,
    /// `bmax[b]` = the largest volume of the slots `b·BLOCK .. (b+1)·BLOCK` (volumes only grow
    /// within a session, so a trade keeps it in O(1)); the HVN search scans blocks, not slots.
    bmax: Box<[u64]>,
    /// Tick index (price / tick) of the centre slot.
    origin: Option<i64>,
    lo: usize,
    hi: usize,
    poc: usize,
    total: u64,
    overflow: u64,
    last_ts: u64,
    tick: Px,
}

impl VolumeProfile {
    /// An empty profile for tick `tick` (allocates once).
    pub fn new(tick: Px) -> Self {
        Self {
            vol: vec![0u64; PROFILE_CAP].into_boxed_slice(),
            bmax: vec![0u64; PROFILE_CAP / BLOCK].into_boxed_slice(),
            origin: None,
            lo: 0,
            hi: 0,
            poc: 0,
            total: 0,
            overflow: 0,
            last_ts: 0,
            tick: tick.max(1),
        }
    }

    /// Clears the touched range (a fill, not an allocation).
    pub fn reset(&mut self) {
        if self.total > 0 {
            self.vol[self.lo..=self.hi].fill(0);
            self.bmax[self.lo / BLOCK..=self.hi / BLOCK].fill(0);
        }
        self.origin = None;
        self.lo = 0;
        self.hi = 0;
        self.poc = 0;
        self.total = 0;
        self.overflow = 0;
        self.last_ts = 0;
    }

    /// Adds a trade in O(1) and maintains the POC: the traded price becomes the POC if its
    /// volume is now greater than the POC's, or equal to it and nearer the mid-range
    /// `(high + low)/2` (the lower price when equally near). Returns false (and counts the
    /// trade in [`Self::overflow`]) when the price lies outside the slots.
    #[inline]
    pub fn add(&mut self, now: u64, price: Px, size: u32) -> bool {
        if size == 0 {
            return true;
        }
        let ix = price.div_euclid(self.tick);
        let origin = *self.origin.get_or_insert(ix);
        let off = ix - origin + CENTER as i64;
        if !(0..PROFILE_CAP as i64).contains(&off) {
            self.overflow += 1;
            return false;
        }
        let s = off as usize;
        if self.total == 0 {
            (self.lo, self.hi, self.poc) = (s, s, s);
        } else {
            self.lo = self.lo.min(s);
            self.hi = self.hi.max(s);
        }
        self.vol[s] += size as u64;
        let b = &mut self.bmax[s / BLOCK];
        *b = (*b).max(self.vol[s]);
        self.total += size as u64;
        self.last_ts = now;
        if s != self.poc {
            let (v, pv) = (self.vol[s], self.vol[self.poc]);
            let mid2 = (self.lo + self.hi) as i64;
            let ds = (2 * s as i64 - mid2).abs();
            let dp = (2 * self.poc as i64 - mid2).abs();
            if v > pv || (v == pv && (ds < dp || (ds == dp && s < self.poc))) {
                self.poc = s;
            }
        }
        true
    }

    /// Session volume in the slots.
    #[inline]
    pub fn volume(&self) -> u64 {
        self.total
    }

    /// Trades that fell outside the slots.
    #[inline]
    pub fn overflow(&self) -> u64 {
        self.overflow
    }

    /// The price of slot `s`.
    #[inline]
    fn price(&self, s: usize) -> Px {
        (self.origin.unwrap_or(0) + s as i64 - CENTER as i64) * self.tick
    }

    /// Volume at `price` (0 outside the slots).
    pub fn volume_at(&self, price: Px) -> u64 {
        let Some(origin) = self.origin else { return 0 };
        let off = price.div_euclid(self.tick) - origin + CENTER as i64;
        if (0..PROFILE_CAP as i64).contains(&off) {
            self.vol[off as usize]
        } else {
            0
        }
    }

    /// The POC, `None` before the first trade.
    #[inline]
    pub fn poc(&self) -> Option<Px> {
        (self.total > 0).then(|| self.price(self.poc))
    }

    /// The profile's low and high, `None` before the first trade.
    pub fn range(&self) -> Option<(Px, Px)> {
        (self.total > 0).then(|| (self.price(self.lo), self.price(self.hi)))
    }

    /// The value area `(VAL, VAH)` covering at least `share` of the volume (Dalton): from the
    /// POC, compare the next two prices above with the next two below, add the larger pair
    /// (above on ties; a side past the profile's high or low is never chosen), and repeat.
    /// O(range); `None` before the first trade.
    ///
    /// The walk of the spec (kept as `value_area_by_spec` in the tests, which check that this
    /// one returns the same on random profiles), in integers: `covered < share·total` holds
    /// exactly when `covered < ⌈share·total⌉`, because `covered` is a whole number of lots;
    /// while two prices remain on both sides, a step is two loads a side and one compare.
    pub fn value_area(&self, share: f64) -> Option<(Px, Px)> {
        if self.total == 0 {
            return None;
        }
        let target = share * self.total as f64;
        // ⌈target⌉ lots; a non-positive (or NaN) target needs nothing beyond the POC
        let need = if target > 0.0 { target.ceil() as u64 } else { 0 };
        let (lo, hi) = (self.lo, self.hi);
        // Invariant: lo ≤ dn ≤ poc ≤ up ≤ hi < vol.len().
        let vol = &self.vol[lo..=hi];
        let (mut up, mut dn) = (self.poc - lo, self.poc - lo);
        let top = hi - lo;
        let mut covered = vol[up];
        // both sides have two prices left: no edge checks
        while covered < need && up + 2 <= top && dn >= 2 {
            let a = vol[up + 1] + vol[up + 2];
            let b = vol[dn - 1] + vol[dn - 2];
            if a >= b {
                up += 2;
                covered += a;
            } else {
                dn -= 2;
                covered += b;
            }
        }
        // near an edge: the spec's steps, one or two prices a side
        while covered < need {
            let above = (up < top).then(|| {
                let n = (top - up).min(2);
                (vol[up + 1..=up + n].iter().sum::<u64>(), n)
            });
            let below = (dn > 0).then(|| {
                let n = dn.min(2);
                (vol[dn - n..dn].iter().sum::<u64>(), n)
            });
            match (above, below) {
                (Some((a, n)), Some((b, _))) if a >= b => {
                    up += n;
                    covered += a;
                }
                (_, Some((b, n))) => {
                    dn -= n;
                    covered += b;
                }
                (Some((a, n)), None) => {
                    up += n;
                    covered += a;
                }
                (None, None) => break,
            }
        }
        Some((self.price(lo + dn), self.price(lo + up)))
    }

    /// Up to `out.len()` HVNs: the largest-volume prices more than `sep` ticks from the POC
    /// and from each other, picked greedily (ties to the lower price). Writes them into `out`
    /// and returns how many were found. O(`out.len()`·(range/16 + 16)) with the block maxima.
    pub fn hvns(&self, sep: u32, out: &mut [Px]) -> usize {
        if self.total == 0 {
            return 0;
        }
        let sep = sep as usize;
        // Each pick is the largest nonzero volume (the lowest price on a tie) among the slots
        // more than `sep` from the POC and from every earlier pick: the slots of [lo, hi]
        // outside the blocked bands [c − sep, c + sep], scanned gap by gap in ascending order
        // with `max_in` (block maxima), so a pick costs O(range/BLOCK + BLOCK), not O(range).
        let mut centres = [0usize; HVN_CAP + 1];
        centres[0] = self.poc;
        let mut n = 0;
        while n < out.len().min(HVN_CAP) {
            let mut best: Option<(u64, usize)> = None;
            let mut consider = |a: usize, b: usize| {
                let (v, s) = self.max_in(a, b);
                if v > 0 && best.is_none_or(|(bv, _)| v > bv) {
                    best = Some((v, s));
                }
            };
            let mut a = self.lo;
            for &c in &centres[..=n] {
                // centres are kept ascending
                if c > sep && a + sep < c {
                    consider(a, (c - sep - 1).min(self.hi));
                }
                a = a.max(c + sep + 1);
            }
            if a <= self.hi {
                consider(a, self.hi);
            }
            let Some((_, b)) = best else { break };
            out[n] = self.price(b);
            n += 1;
            // insert b into the ascending centres
            let mut j = n;
            while j > 0 && centres[j - 1] > b {
                centres[j] = centres[j - 1];
                j -= 1;
            }
            centres[j] = b;
        }
        n
    }

    /// The largest volume in the slots `a..=b` and its lowest slot (`(0, a)` when all are
    /// empty).
    fn max_in(&self, a: usize, b: usize) -> (u64, usize) {
        let (mut bv, mut bs) = (0u64, a);
        let mut s = a;
        while s <= b && !s.is_multiple_of(BLOCK) {
            if self.vol[s] > bv {
                (bv, bs) = (self.vol[s], s);
            }
            s += 1;
        }
        while s + BLOCK - 1 <= b {
            let m = self.bmax[s / BLOCK];
            if m > bv {
                let off = self.vol[s..s + BLOCK].iter().position(|&x| x == m);
                (bv, bs) = (m, off.map_or(s, |o| s + o));
            }
            s += BLOCK;
        }
        while s <= b {
            if self.vol[s] > bv {
                (bv, bs) = (self.vol[s], s);
            }
            s += 1;
        }
        (bv, bs)
    }

    /// POC, VAH and VAL with the value-area share `share`, `None` before the first trade.
    pub fn summary(&self, share: f64) -> Option<ProfileSummary> {
        let poc = self.poc()?;
        let (val, vah) = self.value_area(share)?;
        Some(ProfileSummary { poc, vah, val, volume: self.total, end_ns: self.last_ts })
    }
}

/// Fixed slots of the level array (one per identity).
mod slot {
    use super::{HVN_CAP, PSYCH_N, ROUND_N};
    pub const CALL_WALL: usize = 0;
    pub const PUT_WALL: usize = 1;
    pub const FLIP: usize = 2;
    pub const POC: usize = 3;
    pub const VAH: usize = 4;
    pub const VAL: usize = 5;
    pub const PPOC: usize = 6;
    pub const PVAH: usize = 7;
    pub const PVAL: usize = 8;
    pub const VWAP: usize = 9;
    pub const VWAP_UP1: usize = 10;
    pub const VWAP_DN1: usize = 11;
    pub const VWAP_UP2: usize = 12;
    pub const VWAP_DN2: usize = 13;
    pub const SESSION_HIGH: usize = 14;
    pub const SESSION_LOW: usize = 15;
    pub const ON_HIGH: usize = 16;
    pub const ON_LOW: usize = 17;
    pub const HVN: usize = 18;
    pub const ROUND: usize = HVN + HVN_CAP;
    pub const PSYCH: usize = ROUND + ROUND_N;
    pub const N: usize = PSYCH + PSYCH_N;
}

const _: () = assert!(slot::N <= LEVEL_CAP);

/// How a slot's age origin is set.
#[derive(Clone, Copy)]
enum Since {
    /// The time of the last price change.
    PriceChange,
    /// A given time (refreshed at every update).
    At(u64),
}

#[derive(Clone, Copy, Debug, Default)]
struct Slot {
    level: Level,
    present: bool,
}

/// A running extreme with the time it was set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Extremes {
    high: Option<(Px, u64)>,
    low: Option<(Px, u64)>,
}

impl Extremes {
    #[inline]
    fn add(&mut self, now: u64, p: Px) {
        if self.high.is_none_or(|(h, _)| p > h) {
            self.high = Some((p, now));
        }
        if self.low.is_none_or(|(l, _)| p < l) {
            self.low = Some((p, now));
        }
    }
}

/// Every level of SIGNALS §5 in fixed slots, with the session profile they come from.
#[derive(Clone, Debug)]
pub struct Levels {
    cfg: LevelsConfig,
    tick: Px,
    profile: VolumeProfile,
    prev: Option<ProfileSummary>,
    session: Extremes,
    overnight: Extremes,
    rth_started: bool,
    session_start_ns: u64,
    slots: [Slot; slot::N],
    active: [WeightedLevel; LEVEL_CAP],
    n_active: usize,
    nonfinite: u64,
}

impl Levels {
    /// Levels for a contract with tick `tick` (allocates the profile once). A config that
    /// fails [`LevelsConfig::validate`] is clamped (`hvn_count` ≤ [`HVN_CAP`]).
    pub fn new(cfg: &LevelsConfig, tick: Px) -> Self {
        let mut cfg = *cfg;
        cfg.hvn_count = cfg.hvn_count.min(HVN_CAP);
        Self {
            cfg,
            tick: tick.max(1),
            profile: VolumeProfile::new(tick),
            prev: None,
            session: Extremes::default(),
            overnight: Extremes::default(),
            rth_started: false,
            session_start_ns: 0,
            slots: [Slot::default(); slot::N],
            active: [WeightedLevel::default(); LEVEL_CAP],
            n_active: 0,
            nonfinite: 0,
        }
    }

    /// A trade of `size` at `price` at event time `now`; `rth` is true inside 08:30–15:00 CT.
    /// Trades before the session's first RTH trade are overnight. O(1), no allocation.
    #[inline]
    pub fn on_trade(&mut self, now: u64, price: Px, size: u32, rth: bool) {
        self.profile.add(now, price, size);
        self.session.add(now, price);
        if rth {
            self.rth_started = true;
        } else if !self.rth_started {
            self.overnight.add(now, price);
        }
    }

    /// The RTH open (08:30 CT) was crossed: overnight levels become active even before the
    /// first RTH trade.
    pub fn on_rth_open(&mut self) {
        self.rth_started = true;
    }

    /// A new session starts at `now`: the current profile becomes the previous profile (if
    /// it holds volume), and the profile, session and overnight extremes are cleared. Costs
    /// one O(range) value-area scan.
    pub fn on_session(&mut self, now: u64) {
        if let Some(s) = self.profile.summary(self.cfg.value_area) {
            self.prev = Some(s);
        }
        self.profile.reset();
        self.session = Extremes::default();
        self.overnight = Extremes::default();
        self.rth_started = false;
        self.session_start_ns = now;
    }

    /// At a 1-minute close at `now` with reference price `p`: recomputes the value area and
    /// the HVNs, places every level (gamma levels from `gamma`, given only while the
    /// snapshot is fresh; VWAP bands from `vwap`), counts touches on `bar` (the closed
    /// 1-minute bar, `None` to count none) and lists the active levels. Bounded
    /// O([`PROFILE_CAP`]) work, no allocation.
    pub fn on_minute_close(
        &mut self,
        now: u64,
        p: Px,
        bar: Option<&Bar>,
        vwap: &SessionVwap,
        gamma: Option<&GammaEs>,
    ) {
        let since_snap = gamma.map(|g| g.computed_at_ns.max(self.session_start_ns)).unwrap_or(0);
        let g = gamma.copied().unwrap_or_default();
        self.place(slot::CALL_WALL, LevelKind::CallWall, g.call_wall, Since::At(since_snap), now);
        self.place(slot::PUT_WALL, LevelKind::PutWall, g.put_wall, Since::At(since_snap), now);
        self.place(slot::FLIP, LevelKind::GammaFlip, g.flip, Since::At(since_snap), now);

        let va = self.profile.value_area(self.cfg.value_area);
        self.place(slot::POC, LevelKind::Poc, self.profile.poc(), Since::PriceChange, now);
        self.place(slot::VAH, LevelKind::Vah, va.map(|v| v.1), Since::PriceChange, now);
        self.place(slot::VAL, LevelKind::Val, va.map(|v| v.0), Since::PriceChange, now);
        let mut hvn = [0 as Px; HVN_CAP];
        let n_hvn = self.profile.hvns(self.cfg.hvn_separation_ticks, &mut hvn[..self.cfg.hvn_count]);
        for (k, h) in hvn.iter().enumerate() {
            self.place(slot::HVN + k, LevelKind::Hvn, (k < n_hvn).then_some(*h), Since::PriceChange, now);
        }

        let prev = self.prev;
        let pe = Since::At(prev.map_or(0, |s| s.end_ns));
        self.place(slot::PPOC, LevelKind::Ppoc, prev.map(|s| s.poc), pe, now);
        self.place(slot::PVAH, LevelKind::Pvah, prev.map(|s| s.vah), pe, now);
        self.place(slot::PVAL, LevelKind::Pval, prev.map(|s| s.val), pe, now);

        let bands = self.vwap_bands(vwap);
        let kinds = [
            (slot::VWAP, LevelKind::Vwap),
            (slot::VWAP_UP1, LevelKind::VwapUp1),
            (slot::VWAP_DN1, LevelKind::VwapDown1),
            (slot::VWAP_UP2, LevelKind::VwapUp2),
            (slot::VWAP_DN2, LevelKind::VwapDown2),
        ];
        for ((s, k), b) in kinds.into_iter().zip(bands) {
            self.place(s, k, b, Since::At(now), now);
        }

        let (sess, on) = (self.session, self.overnight);
        let at = |e: Option<(Px, u64)>| Since::At(e.map_or(0, |x| x.1));
        self.place(slot::SESSION_HIGH, LevelKind::SessionHigh, sess.high.map(|x| x.0), at(sess.high), now);
        self.place(slot::SESSION_LOW, LevelKind::SessionLow, sess.low.map(|x| x.0), at(sess.low), now);
        let on_ok = self.rth_started;
        let onh = on.high.filter(|_| on_ok);
        let onl = on.low.filter(|_| on_ok);
        self.place(slot::ON_HIGH, LevelKind::OvernightHigh, onh.map(|x| x.0), at(onh), now);
        self.place(slot::ON_LOW, LevelKind::OvernightLow, onl.map(|x| x.0), at(onl), now);

        self.place_grid(slot::ROUND, ROUND_N, LevelKind::Round, ROUND_STEP, ROUND_RADIUS, p, now);
        self.place_grid(slot::PSYCH, PSYCH_N, LevelKind::Psychological, PSYCH_STEP, PSYCH_RADIUS, p, now);

        if let Some(b) = bar {
            for s in self.slots.iter_mut().filter(|s| s.present) {
                let price = s.level.price;
                if b.low - self.tick <= price && price <= b.high + self.tick {
                    s.level.touches = s.level.touches.saturating_add(1);
                }
            }
        }
        self.list_active(now, p);
    }

    /// VWAP, +1σ, −1σ, +2σ, −2σ on the tick grid (nearest tick); the bands are `None` when
    /// σ = 0, everything is `None` before the first trade.
    fn vwap_bands(&mut self, vwap: &SessionVwap) -> [Option<Px>; 5] {
        let (Some((m, sd)), Some(p0)) = (vwap.ticks(), vwap.origin()) else { return [None; 5] };
        if !(m.is_finite() && sd.is_finite()) {
            self.nonfinite += 1;
            return [None; 5];
        }
        let tick = self.tick;
        let at = |x: f64| round_to_tick(p0 + (x * tick as f64).round() as Px, tick);
        let band = |k: f64| (sd > 0.0).then(|| at(m + k * sd));
        [Some(at(m)), band(1.0), band(-1.0), band(2.0), band(-2.0)]
    }

    /// Multiples of `step` within `radius` of `p`, ascending, in `n` slots from `first`. A
    /// number already held keeps its touches.
    #[allow(clippy::too_many_arguments)]
    fn place_grid(&mut self, first: usize, n: usize, kind: LevelKind, step: Px, radius: Px, p: Px, now: u64) {
        let mut old = [Slot::default(); ROUND_N];
        old[..n].copy_from_slice(&self.slots[first..first + n]);
        let mut price = (p - radius).div_euclid(step) * step;
        if price < p - radius {
            price += step;
        }
        let sigma = self.cfg.strength.get(kind) as f32;
        for k in 0..n {
            let s = &mut self.slots[first + k];
            if price <= p + radius {
                let touches = old[..n]
                    .iter()
                    .find(|o| o.present && o.level.price == price)
                    .map_or(0, |o| o.level.touches);
                *s = Slot {
                    level: Level { price, kind, strength: sigma, since_ns: now, touches },
                    present: true,
                };
                price += step;
            } else {
                s.present = false;
            }
        }
    }

    /// Places one level in its slot: a new or moved price resets the touches (and, for
    /// [`Since::PriceChange`], the age origin).
    fn place(&mut self, ix: usize, kind: LevelKind, price: Option<Px>, since: Since, now: u64) {
        let sigma = self.cfg.strength.get(kind) as f32;
        let s = &mut self.slots[ix];
        let Some(price) = price else {
            s.present = false;
            return;
        };
        let moved = !s.present || s.level.price != price || s.level.kind != kind;
        if moved {
            s.level = Level { price, kind, strength: sigma, since_ns: now, touches: 0 };
            s.present = true;
        }
        if let Since::At(t) = since {
            s.level.since_ns = t;
        }
    }

    fn list_active(&mut self, now: u64, p: Px) {
        let valid = (self.cfg.valid_points * PRICE_SCALE as f64).round();
        self.n_active = 0;
        for s in self.slots.iter().filter(|s| s.present) {
            let l = s.level;
            let age_ns = now.saturating_sub(l.since_ns) as f64;
            if ((l.price - p).abs() as f64) > valid || age_ns > self.cfg.max_age_h.get(l.kind) * NS_PER_HOUR {
                continue;
            }
            // σ from the config (f64): the stored f32 copy is for reading only
            let ws = weighted_strength(self.cfg.strength.get(l.kind), age_ns / NS_PER_MIN, l.touches);
            let weight = self.cfg.weight.get(l.kind);
            if !(ws.is_finite() && weight.is_finite()) {
                self.nonfinite += 1;
                continue;
            }
            self.active[self.n_active] = WeightedLevel { level: l, weight, ws };
            self.n_active += 1;
        }
    }

    /// The active levels at the last 1-minute close (slot order, not sorted).
    #[inline]
    pub fn active(&self) -> &[WeightedLevel] {
        &self.active[..self.n_active]
    }

    /// The level of `kind` currently placed (active or not); for kinds with several levels
    /// (HVN, round numbers) the first.
    pub fn get(&self, kind: LevelKind) -> Option<Level> {
        self.slots.iter().find(|s| s.present && s.level.kind == kind).map(|s| s.level)
    }

    /// The session volume profile.
    #[inline]
    pub fn profile(&self) -> &VolumeProfile {
        &self.profile
    }

    /// The previous session's POC/VAH/VAL, `None` before the first roll with volume.
    #[inline]
    pub fn previous(&self) -> Option<ProfileSummary> {
        self.prev
    }

    /// Session high and low.
    pub fn session_high_low(&self) -> Option<(Px, Px)> {
        Some((self.session.high?.0, self.session.low?.0))
    }

    /// Overnight high and low (trades before the session's RTH open).
    pub fn overnight_high_low(&self) -> Option<(Px, Px)> {
        Some((self.overnight.high?.0, self.overnight.low?.0))
    }

    /// Non-finite values met (their levels were left out).
    #[inline]
    pub fn nonfinite_count(&self) -> u64 {
        self.nonfinite
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Px = 250_000_000;
    const P: Px = PRICE_SCALE;
    const MIN: u64 = 60_000_000_000;

    fn px(ticks: i64) -> Px {
        5000 * P + ticks * T
    }

    fn profile(vols: &[(i64, u32)]) -> VolumeProfile {
        let mut p = VolumeProfile::new(T);
        for (i, &(t, v)) in vols.iter().enumerate() {
            p.add(i as u64, px(t), v);
        }
        p
    }

    /// Hand-built distribution, ticks 0…6 = [5, 10, 20, 40, 15, 5, 5] (100 lots): POC tick 3;
    /// from 40, above (4, 5) = 20 < below (2, 1) = 30 → 70 ≥ 70 % → VA = [tick 1, tick 3].
    #[test]
    fn value_area_dalton() {
        let p = profile(&[(3, 40), (0, 5), (1, 10), (2, 20), (4, 15), (5, 5), (6, 5)]);
        assert_eq!(p.poc(), Some(px(3)));
        assert_eq!(p.value_area(0.70), Some((px(1), px(3))));
        // 80 %: from 70, above (4, 5) = 20 > below (0) = 5 → 90 ≥ 80 → [tick 1, tick 5].
        assert_eq!(p.value_area(0.80), Some((px(1), px(5))));
        assert_eq!(p.range(), Some((px(0), px(6))));
        assert_eq!(p.volume(), 100);
    }

    /// Ties go above: [10, 10, 40, 10, 10], 70 % of 80 = 56: 40 + above pair 20 = 60.
    #[test]
    fn value_area_tie_goes_above() {
        let p = profile(&[(2, 40), (0, 10), (1, 10), (3, 10), (4, 10)]);
        assert_eq!(p.value_area(0.70), Some((px(2), px(4))));
        // One-sided: everything above the POC; the exhausted low side is never chosen.
        let q = profile(&[(0, 50), (1, 20), (2, 20), (3, 10)]);
        assert_eq!(q.value_area(0.70), Some((px(0), px(2))));
        assert_eq!(VolumeProfile::new(T).value_area(0.7), None, "no trade");
    }

    /// POC ties are settled against the mid-range when they arise.
    #[test]
    fn poc_tie_rule() {
        let mut p = VolumeProfile::new(T);
        p.add(0, px(1), 10);
        p.add(1, px(3), 10); // mid 2: equally near → lower price stays
        assert_eq!(p.poc(), Some(px(1)));
        p.add(2, px(5), 10); // mid 3: |5−3| = |1−3| → lower stays
        assert_eq!(p.poc(), Some(px(1)));
        p.add(3, px(2), 10); // mid 3: 2 is nearer than 1 → POC 2
        assert_eq!(p.poc(), Some(px(2)));
        p.add(4, px(4), 10); // |4−3| = |2−3| → lower stays
        assert_eq!(p.poc(), Some(px(2)));
        p.add(5, px(5), 1); // 11 > 10
        assert_eq!(p.poc(), Some(px(5)));
    }

    #[test]
    fn overflow_is_counted() {
        let mut p = VolumeProfile::new(T);
        assert!(p.add(0, px(0), 1));
        assert!(p.add(1, px(1023), 1));
        assert!(!p.add(2, px(1024), 1), "slot 2048 is outside");
        assert!(p.add(3, px(-1024), 1));
        assert!(!p.add(4, px(-1025), 1));
        assert_eq!((p.overflow(), p.volume()), (2, 3));
        p.reset();
        assert_eq!((p.volume(), p.poc(), p.volume_at(px(0))), (0, None, 0));
    }

    /// HVNs: POC 0 (100); +5 (50) is within 8 ticks; −10 and +10 (40 each) tie → −10 first;
    /// +12 (30) is within 8 of +10.
    /// The greedy HVN search as SIGNALS §5 states it (a full scan per pick), to check the
    /// block-maxima search against.
    fn hvns_by_scan(p: &VolumeProfile, sep: u32, k: usize) -> Vec<Px> {
        let sep = sep as usize;
        let far = |a: usize, b: usize| a.abs_diff(b) > sep;
        let mut picked: Vec<usize> = Vec::new();
        while picked.len() < k && p.total > 0 {
            let mut best: Option<usize> = None;
            for s in p.lo..=p.hi {
                let v = p.vol[s];
                if v == 0 || !far(s, p.poc) || !picked.iter().all(|&q| far(s, q)) {
                    continue;
                }
                if best.is_none_or(|b| v > p.vol[b]) {
                    best = Some(s);
                }
            }
            let Some(b) = best else { break };
            picked.push(b);
        }
        picked.into_iter().map(|s| p.price(s)).collect()
    }

    /// The value area walk as SIGNALS §5 states it (float comparison, one step at a time,
    /// edge checks at every step): the reference of [`VolumeProfile::value_area`].
    fn value_area_by_spec(p: &VolumeProfile, share: f64) -> Option<(Px, Px)> {
        if p.total == 0 {
            return None;
        }
        let target = share * p.total as f64;
        let (mut up, mut dn) = (p.poc, p.poc);
        let mut covered = p.vol[p.poc];
        while (covered as f64) < target {
            let above = (up < p.hi).then(|| {
                let n = (p.hi - up).min(2);
                (p.vol[up + 1..=up + n].iter().sum::<u64>(), n)
            });
            let below = (dn > p.lo).then(|| {
                let n = (dn - p.lo).min(2);
                (p.vol[dn - n..dn].iter().sum::<u64>(), n)
            });
            match (above, below) {
                (Some((a, n)), Some((b, _))) if a >= b => {
                    up += n;
                    covered += a;
                }
                (_, Some((b, n))) => {
                    dn -= n;
                    covered += b;
                }
                (Some((a, n)), None) => {
                    up += n;
                    covered += a;
                }
                (None, None) => break,
            }
        }
        Some((p.price(dn), p.price(up)))
    }

    /// Random profiles (ties, gaps, one-sided, wide and narrow, POC at an edge) and shares:
    /// the integer walk returns exactly the spec's value area.
    #[test]
    fn value_area_matches_the_spec_walk() {
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut p = VolumeProfile::new(T);
        for round in 0..2000 {
            p.reset();
            let width = 1 + (next() % 300) as i64;
            let trades = 1 + next() % 400;
            let skew = round % 4; // 0: centred, 1: all above the first trade, 2: all below, 3: gaps
            for _ in 0..trades {
                let mut off = (next() % width as u64) as i64;
                off = match skew {
                    0 => off - width / 2,
                    1 => off,
                    2 => -off,
                    _ => (off - width / 2) * 3,
                };
                let size = 1 + (next() % 5) as u32 * if round % 2 == 0 { 1 } else { 13 };
                p.add(0, px(off), size);
            }
            for share in [0.0, 0.01, 0.5, 0.68, 0.70, 0.7000001, 0.95, 1.0] {
                assert_eq!(p.value_area(share), value_area_by_spec(&p, share), "round {round} share {share}");
            }
        }
    }

    /// Random profiles (ties, gaps, wide and narrow ranges, a reset in between): the block
    /// search picks exactly what the full scan picks.
    #[test]
    fn hvn_block_search_matches_full_scan() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut p = VolumeProfile::new(T);
        for round in 0..300 {
            p.reset();
            let width = 1 + (next() % 400) as i64;
            let trades = 1 + next() % 600;
            for _ in 0..trades {
                let off = (next() % width as u64) as i64 - width / 2;
                // few distinct sizes → many ties
                let size = 1 + (next() % 4) as u32 * if round % 3 == 0 { 1 } else { 7 };
                p.add(0, px(off), size);
            }
            for sep in [0u32, 1, 3, 8, 20] {
                for k in [1usize, 2, 5, HVN_CAP] {
                    let mut out = [0 as Px; HVN_CAP];
                    let n = p.hvns(sep, &mut out[..k]);
                    assert_eq!(out[..n].to_vec(), hvns_by_scan(&p, sep, k), "round {round} sep {sep} k {k}");
                }
            }
        }
    }

    #[test]
    fn hvn_greedy() {
        let p = profile(&[(0, 100), (5, 50), (10, 40), (-10, 40), (12, 30)]);
        let mut out = [0; 3];
        assert_eq!(p.hvns(8, &mut out), 2);
        assert_eq!(&out[..2], &[px(-10), px(10)]);
    }

    fn bar(lo: i64, hi: i64) -> Bar {
        Bar { low: px(lo), high: px(hi), open: px(lo), close: px(hi), volume: 1, ..Bar::default() }
    }

    /// The previous-session roll: the closing profile's POC/VAH/VAL become PPOC/PVAH/PVAL with
    /// age origin at the last trade; the session state is cleared.
    #[test]
    fn previous_session_roll() {
        let cfg = LevelsConfig::default();
        let mut l = Levels::new(&cfg, T);
        let t0 = 1000 * MIN;
        for (i, &(t, v)) in [(3, 40), (0, 5), (1, 10), (2, 20), (4, 15), (5, 5), (6, 5)].iter().enumerate() {
            l.on_trade(t0 + i as u64, px(t), v, true);
        }
        assert_eq!(l.previous(), None);
        let roll = t0 + 60 * MIN;
        l.on_session(roll);
        let prev = l.previous().unwrap_or_default();
        assert_eq!((prev.poc, prev.vah, prev.val, prev.end_ns), (px(3), px(3), px(1), t0 + 6));
        assert_eq!((l.profile().volume(), l.session_high_low()), (0, None));
        // the new session's first minute
        l.on_trade(roll + 1, px(20), 7, false);
        let now = roll + MIN;
        l.on_minute_close(now, px(20), Some(&bar(20, 20)), &SessionVwap::default(), None);
        let ppoc = l.get(LevelKind::Ppoc).unwrap_or_default();
        assert_eq!((ppoc.price, ppoc.since_ns), (px(3), t0 + 6));
        let a = l.active().iter().find(|w| w.level.kind == LevelKind::Ppoc).copied().unwrap_or_default();
        // age = 60 min + 1 min − 6 ns ≈ 61 min: ws = 0.7·(1 − 61/1440)
        let age_min = (now - (t0 + 6)) as f64 / 60e9;
        assert!((a.ws - 0.7 * (1.0 - age_min / 1440.0)).abs() < 1e-12 && a.weight == 0.7);
        assert_eq!(l.get(LevelKind::Poc).map(|x| x.price), Some(px(20)));
        // an empty session does not overwrite the previous profile
        l.on_session(now + 1);
        l.on_session(now + 2);
        assert_eq!(l.previous().map(|s| s.poc), Some(px(20)));
        // past 24 h the previous-session levels are no longer active
        l.on_minute_close(now + 25 * 60 * MIN, px(20), None, &SessionVwap::default(), None);
        assert!(l.active().iter().all(|w| w.level.kind != LevelKind::Ppoc));
    }

    /// All kinds in place: walls (age from the snapshot, active while given), VWAP bands,
    /// session/overnight extremes (overnight only after the RTH open), round numbers and
    /// touches.
    #[test]
    fn levels_and_touches() {
        let mut l = Levels::new(&LevelsConfig::default(), T);
        let t0 = 2000 * MIN;
        l.on_session(t0);
        let mut vw = SessionVwap::default();
        for (i, (t, v)) in [(0i64, 10u32), (2, 10), (4, 20)].into_iter().enumerate() {
            l.on_trade(t0 + i as u64, px(t), v, false);
            vw.add(px(t), v, T);
        }
        let g = GammaEs {
            call_wall: Some(px(40)),
            put_wall: Some(px(-40)),
            flip: None,
            computed_at_ns: t0 - 10 * MIN,
        };
        let now = t0 + MIN;
        l.on_minute_close(now, px(4), Some(&bar(0, 4)), &vw, Some(&g));
        let cw = l.get(LevelKind::CallWall).unwrap_or_default();
        assert_eq!((cw.price, cw.since_ns, cw.touches), (px(40), t0, 0), "since = max(snapshot, session)");
        assert_eq!(l.get(LevelKind::GammaFlip), None);
        // T6 figures: VWAP 2.5 ticks → 3 ticks (nearest, ties away), σ 1.658 → +1σ 4.16 → 4
        assert_eq!(l.get(LevelKind::Vwap).map(|x| x.price), Some(px(3)));
        assert_eq!(l.get(LevelKind::VwapUp1).map(|x| x.price), Some(px(4)));
        assert_eq!(l.get(LevelKind::VwapDown2).map(|x| x.price), Some(px(-1)));
        assert_eq!(l.session_high_low(), Some((px(4), px(0))));
        assert_eq!(l.overnight_high_low(), Some((px(4), px(0))));
        assert_eq!(l.get(LevelKind::OvernightHigh), None, "not before 08:30");
        // round numbers within ±50 of 5001: 4975, 5000, 5025, 5050; psychological 5000, 5100
        let rounds: Vec<Px> =
            l.active().iter().filter(|w| w.level.kind == LevelKind::Round).map(|w| w.level.price).collect();
        assert_eq!(rounds, vec![4975 * P, 5000 * P, 5025 * P, 5050 * P]);
        let psych: Vec<Px> = l
            .active()
            .iter()
            .filter(|w| w.level.kind == LevelKind::Psychological)
            .map(|w| w.level.price)
            .collect();
        assert_eq!(psych, vec![5000 * P, 5100 * P], "5100 ≤ 5001 + 100");
        // touches: the bar [0, 4] ± 1 tick touched the POC (tick 4), 5000.00, VWAP; not the walls
        assert_eq!(l.get(LevelKind::Poc).map(|x| (x.price, x.touches)), Some((px(4), 1)));
        assert_eq!(l.get(LevelKind::Round).map(|x| (x.price, x.touches)), Some((4975 * P, 0)));
        // RTH: overnight levels appear; a second touch of the same POC
        l.on_trade(now + 1, px(4), 1, true);
        l.on_minute_close(now + MIN, px(4), Some(&bar(3, 5)), &vw, None);
        assert_eq!(l.get(LevelKind::OvernightHigh).map(|x| x.price), Some(px(4)));
        assert_eq!(l.get(LevelKind::Poc).map(|x| x.touches), Some(2));
        assert_eq!(l.get(LevelKind::CallWall), None, "no fresh snapshot, no wall");
        // a 5000.00 round level keeps its touches while P moves
        let r5000 = l.active().iter().find(|w| w.level.price == 5000 * P && w.level.kind == LevelKind::Round);
        assert_eq!(r5000.map(|w| w.level.touches), Some(1));
        // the POC moves: its touches reset
        l.on_trade(now + MIN + 1, px(2), 30, true);
        l.on_minute_close(now + 2 * MIN, px(4), Some(&bar(8, 9)), &vw, None);
        let poc = l.get(LevelKind::Poc).unwrap_or_default();
        assert_eq!((poc.price, poc.touches, poc.since_ns), (px(2), 0, now + 2 * MIN));
        assert_eq!(l.nonfinite_count(), 0);
    }

    #[test]
    fn weighted_strength_formula() {
        assert!((weighted_strength(0.8, 0.0, 0) - 0.8).abs() < 1e-12);
        assert!((weighted_strength(0.8, 720.0, 3) - 0.8 * 0.5 * 1.6).abs() < 1e-12);
        assert!((weighted_strength(0.5, 5000.0, 9) - 0.5 * 0.1 * 2.0).abs() < 1e-12);
    }

    #[test]
    fn config_defaults_and_validation() {
        let c: LevelsConfig = toml::from_str("hvn_count = 3\n[weight]\nwall = 0.95").unwrap_or_default();
        assert_eq!((c.hvn_count, c.weight.wall, c.weight.flip, c.max_age_h.wall), (3, 0.95, 0.9, 8.0));
        assert_eq!(c.validate(), Ok(()));
        assert!(toml::from_str::<LevelsConfig>("bogus = 1").is_err());
        let bad = LevelsConfig { hvn_count: 9, ..LevelsConfig::default() };
        assert!(bad.validate().is_err_and(|e| e.starts_with("hvn_count:")));
        let mut bad = LevelsConfig::default();
        bad.strength.round = 1.5;
        assert!(bad.validate().is_err_and(|e| e.starts_with("strength.round:")));
        let bad = LevelsConfig { value_area: 0.0, ..LevelsConfig::default() };
        assert!(bad.validate().is_err_and(|e| e.starts_with("value_area:")));
    }
}
