//! The gamma gate: options positioning (DESIGN §5 items 10–12) applied to the order-flow
//! signal. Dealers hedging a large call (put) wall sell into rallies toward it (buy dips
//! toward it), so a long entry just below the call wall, or a short entry just above the put
//! wall, is vetoed.
//!
//! The gate never reads shared memory on its own: it *adopts* a snapshot when the stage
//! is given one, either the session's opening snapshot at assembly, or publication `n` when
//! the sequencer delivers a `Control::GammaPublished { arg: n }` input (the stage then reads
//! slot `n` of the [`GammaBoard`]). A new snapshot therefore becomes visible at a sequenced
//! point of the input stream, and a journal replay sees it at the same event. A snapshot older
//! than `max_age_hours` of event time is stale: the gate then vetoes nothing. Levels are SPX
//! points; they are mapped to ES prices with the basis (ES mid − SPX spot) measured at the
//! first evaluation after each adoption, rounded to the ES tick.

use crate::gates::Allow;
use mia_model::price::{Px, UNDEF_PX};
use mia_options::es_map::spx_to_es;
use mia_options::levels::{GammaLevels, GAMMA_LEVELS_WORDS};
use mia_runtime::sync::SeqCell;
use std::sync::atomic::{AtomicU64, Ordering};

/// A seqlock cell carrying one [`GammaLevels`].
pub type GammaCell = SeqCell<GammaLevels, GAMMA_LEVELS_WORDS>;

/// Publications of gamma snapshots, by number: the options cold thread writes snapshot `n`
/// into slot `n mod capacity`, then sends `GammaPublished { arg: n }` through the sequencer;
/// the signal stage reads slot `n` when that input reaches it. A slot that has been reused
/// for a later publication reads as `None` (counted by the stage, never a wrong snapshot).
pub struct GammaBoard {
    cells: Box<[GammaCell]>,
    /// Publication number held by each slot (0 = empty, `u64::MAX` = being written).
    stamps: Box<[AtomicU64]>,
}

impl std::fmt::Debug for GammaBoard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GammaBoard").field("capacity", &self.cells.len()).finish()
    }
}

impl GammaBoard {
    /// A board with room for `capacity` (≥ 1) publications in flight (allocates once).
    pub fn new(capacity: usize) -> Self {
        let n = capacity.max(1);
        Self {
            cells: (0..n).map(|_| GammaCell::new()).collect(),
            stamps: (0..n).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// Writes publication `n` (≥ 1) (one writer: the options cold thread, or a replay's
    /// assembly).
    pub fn publish(&self, n: u64, levels: &GammaLevels) {
        let i = (n % self.cells.len() as u64) as usize;
        self.stamps[i].store(u64::MAX, Ordering::SeqCst);
        self.cells[i].publish(levels);
        self.stamps[i].store(n, Ordering::SeqCst);
    }

    /// Publication `n`, `None` if its slot holds another one.
    pub fn read(&self, n: u64) -> Option<GammaLevels> {
        let i = (n % self.cells.len() as u64) as usize;
        if self.stamps[i].load(Ordering::SeqCst) != n {
            return None;
        }
        let v = self.cells[i].read();
        (self.stamps[i].load(Ordering::SeqCst) == n).then_some(v).flatten()
    }
}

/// Settings of the [`GammaGate`].
#[derive(Clone, Copy, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct GammaGateConfig {
    /// Apply the gate when a snapshot is available.
    pub enabled: bool,
    /// Veto an entry this many ES ticks (or fewer) in front of the wall it runs into.
    pub wall_buffer_ticks: i64,
    /// A snapshot older than this (event time minus the snapshot's `computed_at_ns`) is stale:
    /// the gate then vetoes nothing and counts the evaluation. 0 disables the limit. A snapshot
    /// computed after the event time is always stale.
    pub max_age_hours: u64,
}

impl Default for GammaGateConfig {
    fn default() -> Self {
        Self { enabled: true, wall_buffer_ticks: 8, max_age_hours: 24 }
    }
}

/// Wall-proximity entry filter over the adopted gamma snapshot.
pub struct GammaGate {
    levels: Option<GammaLevels>,
    basis: Option<Px>,
    buffer: Px,
    max_age_ns: u64,
    /// Evaluations made while the snapshot was stale (nothing vetoed).
    pub stale: u64,
    /// Snapshots adopted.
    pub adopted: u64,
}

impl GammaGate {
    /// A gate for a contract with tick `tick`; inactive until a snapshot is adopted.
    pub fn new(cfg: &GammaGateConfig, tick: Px) -> Self {
        Self {
            levels: None,
            basis: None,
            buffer: cfg.wall_buffer_ticks.max(0).saturating_mul(tick),
            max_age_ns: cfg.max_age_hours.saturating_mul(3_600_000_000_000),
            stale: 0,
            adopted: 0,
        }
    }

    /// Uses `levels` from now on (the basis is measured again at the next evaluation).
    pub fn adopt(&mut self, levels: GammaLevels) {
        self.levels = Some(levels);
        self.basis = None;
        self.adopted += 1;
    }

    /// The snapshot in use and the basis measured for it.
    pub fn current(&self) -> Option<(GammaLevels, Option<Px>)> {
        self.levels.map(|l| (l, self.basis))
    }

    /// Entries allowed at ES mid `mid` and event time `now_ns`.
    #[inline]
    pub fn allow(&mut self, mid: Px, now_ns: u64) -> Allow {
        let Some(l) = &self.levels else { return Allow::ALL };
        if l.spot == UNDEF_PX {
            return Allow::ALL;
        }
        // A snapshot from after `now` (a replay joined with a later chain) is as unusable as an
        // old one.
        if now_ns < l.computed_at_ns || (self.max_age_ns > 0 && l.age_ns(now_ns) > self.max_age_ns) {
            self.stale += 1;
            return Allow::ALL;
        }
        let basis = *self.basis.get_or_insert(mid - l.spot);
        let mut allow = Allow::ALL;
        if l.call_wall != UNDEF_PX {
            let wall = spx_to_es(l.call_wall, basis);
            allow.long = !(wall >= mid && wall - mid <= self.buffer);
        }
        if l.put_wall != UNDEF_PX {
            let wall = spx_to_es(l.put_wall, basis);
            allow.short = !(wall <= mid && mid - wall <= self.buffer);
        }
        allow
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: i64 = 1_000_000_000;
    const TICK: i64 = 250_000_000;
    const NOW: u64 = 10 * 3_600_000_000_000;

    #[test]
    fn vetoes_entries_into_walls_with_basis() {
        let mut g =
            GammaGate::new(&GammaGateConfig { enabled: true, wall_buffer_ticks: 8, max_age_hours: 24 }, TICK);
        assert_eq!(g.allow(5000 * P, NOW), Allow::ALL, "nothing adopted");
        let levels = GammaLevels {
            spot: 4980 * P,
            call_wall: 4990 * P, // ES 5010 with basis 20
            put_wall: 4950 * P,  // ES 4970
            ..GammaLevels::default()
        };
        g.adopt(levels);
        // First read fixes the basis at 5000 − 4980 = 20.
        assert_eq!(g.allow(5000 * P, NOW), Allow::ALL, "10 points from the call wall");
        assert_eq!(g.current().and_then(|c| c.1), Some(20 * P));
        assert_eq!(
            g.allow(5008 * P, NOW),
            Allow { long: false, short: true },
            "2 points under the call wall"
        );
        assert_eq!(g.allow(5011 * P, NOW), Allow::ALL, "above the wall");
        assert_eq!(g.allow(4971 * P, NOW), Allow { long: true, short: false }, "1 point over the put wall");
        assert_eq!(g.allow(4969 * P, NOW), Allow::ALL);
        // 25 hours after the snapshot was computed (at t = 0) it is stale: nothing is vetoed.
        assert_eq!(g.allow(5008 * P, 25 * 3_600_000_000_000), Allow::ALL);
        assert_eq!(g.stale, 1);
        // A snapshot from the future is stale too.
        g.adopt(GammaLevels { computed_at_ns: 2 * NOW, ..levels });
        assert_eq!(g.allow(5008 * P, NOW), Allow::ALL);
        assert_eq!(g.stale, 2);
    }

    #[test]
    fn board_returns_a_publication_until_its_slot_is_reused() {
        let b = GammaBoard::new(2);
        let l = |n: i64| GammaLevels { spot: n * P, ..GammaLevels::default() };
        assert_eq!(b.read(1), None);
        b.publish(1, &l(1));
        b.publish(2, &l(2));
        assert_eq!(b.read(1).map(|x| x.spot), Some(P));
        assert_eq!(b.read(2).map(|x| x.spot), Some(2 * P));
        b.publish(3, &l(3));
        assert_eq!(b.read(1), None, "slot reused by publication 3");
        assert_eq!(b.read(3).map(|x| x.spot), Some(3 * P));
    }
}
