//! Market-by-order (MBO) to L2 aggregation without allocation after construction.
//!
//! [`MboBook`] keeps every resting order in a preallocated open-addressing map
//! (order id → side, price, size in 16 bytes; runs of 8 consecutive ids hashed together, so a
//! feed's increasing ids share cache lines; see `OrderMap`) and aggregates them into one price ladder per side: an array
//! indexed by tick offset from a movable base, with a bitset of non-empty slots so that the best
//! level and the next level below any slot are found with a few word scans. The ladder recenters
//! (moves its window) when an order arrives outside the window and everything still fits;
//! otherwise the order is dropped and counted.
//!
//! The book publishes a top-[`DEPTH`] view per side, which a normalizer turns into `Level`
//! events: [`MboBook::diff_top`] reports each (side, depth) whose level changed since the last
//! call. The view is kept **incrementally**: a record changes one level (two for a modify that
//! moves an order), and the view (the levels' scores and the levels themselves: price, size,
//! count) is edited in place — a size change at a visible level updates and marks one entry (a
//! change below a full view touches nothing), a new level shifts the deeper entries down, a
//! vanished level shifts them up and fetches one level from the ladder (one bitset scan) —
//! marking the depths it touched; the diff compares only those, against the view's own levels
//! (no ladder read at the diff). The reference mode ([`MboBook::new_rescan`], the former
//! algorithm, kept for the equivalence proof) walks the ladder's best 10 levels of both sides
//! at each diff instead.
//!
//! Action semantics follow Databento's MBO conventions: `A` adds, `C` cancels `size` contracts
//! (removing the order when nothing is left), `M` modifies price and/or size (an unknown order id
//! on modify is counted and then treated as an add, as Databento's reference book does), `R`
//! clears, and `T` (trade) and `F` (fill) **never** change the book: fills are followed by the
//! matching cancels, so applying them would double-count (phantom liquidity).

use crate::book::{Level, DEPTH};
use crate::contract::ContractSpec;
use crate::event::Side;
use crate::price::{Px, UNDEF_PX};

/// An MBO action (DBN `action` byte).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MboAction {
    /// `A`: a new order rests in the book.
    Add,
    /// `C`: (part of) an order is cancelled.
    Cancel,
    /// `M`: an order's price and/or size changes (it loses queue priority).
    Modify,
    /// `R`: the book is cleared.
    Clear,
    /// `T`: a trade print (aggressor side); never changes the book.
    Trade,
    /// `F`: a fill of a resting order; never changes the book.
    Fill,
    /// `N`: no action (e.g. a flags-only record).
    None,
}

impl MboAction {
    /// Decodes the DBN action character, `None` if unknown: one load from a 256-entry table
    /// (no jump table, no branch).
    #[inline]
    pub fn from_dbn(c: u8) -> Option<Self> {
        ACTION_OF_BYTE[c as usize]
    }
}

/// [`MboAction::from_dbn`]'s table: the action of each byte value (one byte per entry, the
/// whole table four cache lines).
static ACTION_OF_BYTE: [Option<MboAction>; 256] = {
    let mut t = [None; 256];
    t[b'A' as usize] = Some(MboAction::Add);
    t[b'C' as usize] = Some(MboAction::Cancel);
    t[b'M' as usize] = Some(MboAction::Modify);
    t[b'R' as usize] = Some(MboAction::Clear);
    t[b'T' as usize] = Some(MboAction::Trade);
    t[b'F' as usize] = Some(MboAction::Fill);
    t[b'N' as usize] = Some(MboAction::None);
    t
};

const _: () = assert!(std::mem::size_of::<Option<MboAction>>() == 1);

/// Sizing of an [`MboBook`]; everything is allocated once, in [`MboBook::new`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MboConfig {
    /// Price increment of the instrument (1e-9 units); orders off this grid are refused.
    pub tick: Px,
    /// Width of each side's price ladder in ticks (rounded up to a multiple of 64, at least 64).
    pub ladder_ticks: usize,
    /// Maximum number of resting orders; the map holds twice as many slots.
    pub max_orders: usize,
}

impl Default for MboConfig {
    /// ES: 0.25 tick, a 4096-point window per side, 262 144 resting orders.
    fn default() -> Self {
        Self { tick: ContractSpec::ES.tick, ladder_ticks: 16_384, max_orders: 1 << 18 }
    }
}

/// Counters of refused or inconsistent input (nothing here panics).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MboStats {
    /// Cancel or modify of an order id that is not in the book.
    pub unknown_order: u64,
    /// Add of an order id already in the book (the old order is replaced).
    pub duplicate_add: u64,
    /// Orders dropped because the order map was full.
    pub order_overflow: u64,
    /// Orders dropped because their price did not fit the ladder even after recentering.
    pub ladder_overflow: u64,
    /// Orders refused for a bad side, an undefined or off-grid price, or a zero size.
    pub invalid: u64,
    /// Number of times a ladder moved its window (not an error).
    pub recenters: u64,
}

impl MboStats {
    /// Sum of the error counters (everything but `recenters`).
    pub fn errors(&self) -> u64 {
        self.unknown_order + self.duplicate_add + self.order_overflow + self.ladder_overflow + self.invalid
    }
}

/// One resting order: 16 bytes, four to a cache line. `size == 0` marks a vacant map slot
/// (a resting order always has a size: a cancel or modify to zero removes it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Order {
    id: u64,
    /// `score << 1 | side` (side 0 bid, 1 ask); the score (see [`Ladder`]) fits 31 bits
    /// ([`MAX_TICKS`]).
    key: i32,
    size: u32,
}

const _: () = assert!(std::mem::size_of::<Order>() == 16);

/// Largest tick index (price / tick) an order may have; beyond it the order is refused as
/// invalid (the score must fit the 31 bits of [`Order::key`]). ±2²⁹ ticks is ±134 M points of
/// ES.
const MAX_TICKS: i64 = 1 << 29;

impl Order {
    #[inline]
    fn new(id: u64, side: usize, score: i64, size: u32) -> Self {
        debug_assert!(score.abs() <= MAX_TICKS && side < 2 && size > 0);
        Self { id, key: ((score as i32) << 1) | side as i32, size }
    }

    #[inline]
    fn side(&self) -> usize {
        (self.key & 1) as usize
    }

    #[inline]
    fn score(&self) -> i64 {
        i64::from(self.key >> 1)
    }
}

/// Division by the tick without a divide instruction (a 64-bit `idiv` is the slowest
/// instruction of an add): `magic = ⌊(2⁶⁴ − 1) / tick⌋`, and for `n ≤ 2⁶³` the high half of
/// `n · magic` is `⌊n / tick⌋` or one less (the error `n · (1 + tick) / (tick · 2⁶⁴)` is below
/// 1), which one compare corrects.
#[derive(Clone, Copy, Debug)]
struct TickDiv {
    tick: u64,
    magic: u64,
}

impl TickDiv {
    fn new(tick: Px) -> Self {
        let tick = tick.max(1) as u64;
        Self { tick, magic: u64::MAX / tick }
    }

    /// `(n / tick, n % tick)` for `n ≤ 2⁶³`.
    #[inline]
    fn div_rem(&self, n: u64) -> (u64, u64) {
        debug_assert!(n <= 1 << 63);
        let q = ((u128::from(n) * u128::from(self.magic)) >> 64) as u64;
        let r = n - q * self.tick;
        let carry = r >= self.tick;
        (q + u64::from(carry), if carry { r - self.tick } else { r })
    }
}

/// Consecutive ids in runs of `2^RUN_BITS` share one hashed run of slots (two cache lines):
/// exchange order ids are mostly increasing, so the orders of one burst sit together.
const RUN_BITS: u32 = 3;

/// The order map: open addressing, linear probing, backward-shift deletion, at most `max`
/// orders in `2·max` (power of two, ≥ 16) slots, allocated once. Invariant: every stored order
/// is reachable from its home slot without crossing a vacant slot, and at least half the slots
/// are vacant, so probes are short and terminate.
///
/// The hash keeps the low [`RUN_BITS`] bits of the id and places the run `id >> RUN_BITS` by
/// Fibonacci hashing (the top bits of `run · 2⁶⁴/φ`): sequential ids fill adjacent slots (one
/// cache miss per 8 new orders instead of one per order), strided or structured ids are still
/// spread over the whole table by the multiplication. Ids whose low bits are all equal use one
/// home slot per run, so their probes stay short at the capacity's load factor of ½.
#[derive(Clone, Debug)]
struct OrderMap {
    slots: Box<[Order]>,
    mask: usize,
    /// `64 − log2(capacity)`: the hash's top bits index the table.
    shift: u32,
    /// `2^run_bits − 1` ([`RUN_BITS`], or 0 for the reference per-id hash,
    /// [`MboBook::new_per_id_hash`]): the bits of an id that pick its slot within its run.
    low: usize,
    /// `mask & !low`: the bits of the hash that pick the run.
    run_mask: usize,
    /// `⌊2⁶⁴/φ⌋ >> run_bits` (see [`Self::home`]).
    mul: u64,
    len: usize,
    max: usize,
    /// Number of stored orders not in their home slot. While it is 0 no probe run has a
    /// member that a removal could shift back, so [`Self::remove_slot`] only vacates the slot.
    displaced: usize,
}

impl OrderMap {
    /// A map for `max_orders` orders hashing runs of `2^run_bits` consecutive ids together.
    fn new(max_orders: usize, run_bits: u32) -> Self {
        let max = max_orders.max(1);
        let cap = max.saturating_mul(2).next_power_of_two().max(2 << run_bits);
        let low = (1usize << run_bits) - 1;
        Self {
            slots: vec![Order::default(); cap].into_boxed_slice(),
            mask: cap - 1,
            shift: 64 - cap.trailing_zeros(),
            low,
            run_mask: (cap - 1) & !low,
            mul: 0x9E37_79B9_7F4A_7C15 >> run_bits,
            len: 0,
            max,
            displaced: 0,
        }
    }

    /// The home slot of `id`: the run `id >> run_bits` placed by Fibonacci hashing (the top
    /// bits of its product with 2⁶⁴/φ), the low bits of `id` kept as the offset within the
    /// run. Computed without shifting the id: `(id & !low) · (K >> b) = run · K'` with `K'`
    /// the golden multiplier rounded down to a multiple of `2^b`, so the product's top bits,
    /// with the run's offset bits masked off, are the run's hash already in place (one
    /// multiply, one shift, two masks).
    #[inline]
    fn home(&self, id: u64) -> usize {
        let h = (id & !(self.low as u64)).wrapping_mul(self.mul);
        ((h >> self.shift) as usize & self.run_mask) | (id as usize & self.low)
    }

    #[inline]
    fn len(&self) -> usize {
        self.len
    }

    #[inline]
    fn is_full(&self) -> bool {
        self.len >= self.max
    }

    /// `Ok(slot)` holding `id`, or `Err(slot)`: the vacant slot where `id` would go; either
    /// way with whether that slot is away from `id`'s home (so that inserting and removing
    /// keep [`Self::displaced`] without hashing the id again).
    #[inline]
    fn lookup(&self, id: u64) -> Result<MapSlot, MapSlot> {
        let home = self.home(id);
        let mut i = home;
        loop {
            let s = self.slots[i];
            if s.size == 0 {
                return Err(MapSlot { at: i, displaced: i != home });
            }
            if s.id == id {
                return Ok(MapSlot { at: i, displaced: i != home });
            }
            i = (i + 1) & self.mask;
        }
    }

    /// The slot holding `id`.
    #[inline]
    fn find_slot(&self, id: u64) -> Option<MapSlot> {
        self.lookup(id).ok()
    }

    /// Stores `o` in the vacant slot `i` that [`Self::lookup`] returned for `o.id` (no change
    /// to the map since). The caller checked [`Self::is_full`].
    #[inline]
    fn insert_slot(&mut self, i: MapSlot, o: Order) {
        debug_assert!(self.slots[i.at].size == 0 && !self.is_full());
        debug_assert_eq!(i.displaced, i.at != self.home(o.id));
        self.displaced += usize::from(i.displaced);
        self.slots[i.at] = o;
        self.len += 1;
    }

    /// Removes the order at slot `i` (as [`Self::lookup`] found it), shifting later members of
    /// its probe run back (only displaced orders can move, so with none in the map there is
    /// nothing to scan).
    #[inline(always)]
    fn remove_slot(&mut self, i: MapSlot) {
        debug_assert_eq!(i.displaced, i.at != self.home(self.slots[i.at].id));
        self.displaced -= usize::from(i.displaced);
        let i = i.at;
        self.len -= 1;
        if self.displaced == 0 {
            self.slots[i] = Order::default();
            return;
        }
        self.backshift(i);
    }

    /// Vacates slot `i` by backward-shift deletion: later members of its probe run that may
    /// live in it move back (out of line: with no displaced order it never runs).
    #[inline(never)]
    fn backshift(&mut self, i: usize) {
        let mut hole = i;
        let mut j = (i + 1) & self.mask;
        loop {
            let s = self.slots[j];
            if s.size == 0 {
                break;
            }
            let home = self.home(s.id);
            // Move slot j into the hole when its home is not in (hole, j] (cyclically).
            if (j.wrapping_sub(home) & self.mask) >= (j.wrapping_sub(hole) & self.mask) {
                self.slots[hole] = s;
                self.displaced -= usize::from(hole == home);
                hole = j;
            }
            j = (j + 1) & self.mask;
        }
        self.slots[hole] = Order::default();
    }

    /// [`Self::lookup`] as slot indices (for the map's tests).
    #[cfg(test)]
    fn probe(&self, id: u64) -> Result<usize, usize> {
        self.lookup(id).map(|s| s.at).map_err(|s| s.at)
    }

    /// [`Self::find_slot`] as a slot index (for the map's tests).
    #[cfg(test)]
    fn find(&self, id: u64) -> Option<usize> {
        self.find_slot(id).map(|s| s.at)
    }

    /// [`Self::insert_slot`] at slot index `i` (for the map's tests).
    #[cfg(test)]
    fn insert_at(&mut self, i: usize, o: Order) {
        self.insert_slot(MapSlot { at: i, displaced: i != self.home(o.id) }, o);
    }

    /// [`Self::remove_slot`] at slot index `i` (for the map's tests).
    #[cfg(test)]
    fn remove_at(&mut self, i: usize) {
        self.remove_slot(MapSlot { at: i, displaced: i != self.home(self.slots[i].id) });
    }

    fn clear(&mut self) {
        if self.len > 0 {
            self.slots.fill(Order::default());
            self.len = 0;
            self.displaced = 0;
        }
    }
}

/// A slot of the [`OrderMap`] as a probe found it: its index and whether it is away from the
/// home slot of the id probed for.
#[derive(Clone, Copy, Debug)]
struct MapSlot {
    at: usize,
    displaced: bool,
}

impl std::ops::Index<usize> for OrderMap {
    type Output = Order;
    #[inline]
    fn index(&self, i: usize) -> &Order {
        &self.slots[i]
    }
}

impl std::ops::IndexMut<usize> for OrderMap {
    #[inline]
    fn index_mut(&mut self, i: usize) -> &mut Order {
        &mut self.slots[i]
    }
}

/// One side's aggregated levels. Prices are mapped to a *score* where higher is better
/// (`score = tick_index` for bids, `-tick_index` for asks), so both sides share one code path;
/// slot `k` holds score `base + k`.
#[derive(Clone, Debug)]
struct Ladder {
    /// +1 for bids, −1 for asks.
    sign: i64,
    base: i64,
    /// Aggregate size and order count per slot, side by side (one cache line per access).
    cells: Vec<Cell>,
    bits: Vec<u64>,
    /// Number of non-empty slots.
    levels: usize,
    /// Highest non-empty slot (valid when `levels > 0`).
    best: usize,
}

/// One price slot of a [`Ladder`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Cell {
    size: u64,
    count: u32,
}

impl Cell {
    /// The level this slot publishes at `price` (the size saturates at `u32::MAX`).
    #[inline]
    fn level(&self, price: Px) -> Level {
        Level { price, size: self.size.min(u64::from(u32::MAX)) as u32, count: self.count }
    }
}

impl Ladder {
    fn new(sign: i64, n: usize) -> Self {
        Self { sign, base: 0, cells: vec![Cell::default(); n], bits: vec![0; n / 64], levels: 0, best: 0 }
    }

    #[inline]
    fn n(&self) -> usize {
        self.cells.len()
    }

    /// The slot of `score`, moving the window if needed; `None` when it cannot fit.
    #[inline]
    fn slot_or_recenter(&mut self, score: i64, stats: &mut MboStats) -> Option<usize> {
        let off = score.wrapping_sub(self.base);
        if off >= 0 && (off as u64) < self.n() as u64 {
            return Some(off as usize);
        }
        if self.levels == 0 {
            self.base = score - (self.n() / 2) as i64;
            return Some(self.n() / 2);
        }
        if self.recenter(score) {
            stats.recenters += 1;
            let off = score - self.base;
            return Some(off as usize);
        }
        None
    }

    /// Moves the window so that all non-empty slots and `score` fit, centred. False when the
    /// span is wider than the ladder.
    #[cold]
    fn recenter(&mut self, score: i64) -> bool {
        let n = self.n() as i64;
        let Some(lo) = self.lowest() else {
            return false;
        };
        let lo_score = self.base + lo as i64;
        let hi_score = self.base + self.best as i64;
        let new_min = lo_score.min(score);
        let new_max = hi_score.max(score);
        let span = new_max - new_min + 1;
        if span > n {
            return false;
        }
        let new_base = new_min - (n - span) / 2;
        let delta = self.base - new_base; // new_slot = old_slot + delta
        let len = self.n();
        if delta > 0 {
            let d = delta as usize;
            self.cells.copy_within(0..len - d, d);
            self.cells[..d].fill(Cell::default());
        } else if delta < 0 {
            let d = (-delta) as usize;
            self.cells.copy_within(d..len, 0);
            self.cells[len - d..].fill(Cell::default());
        }
        self.bits.fill(0);
        for (k, c) in self.cells.iter().enumerate() {
            if c.count != 0 {
                self.bits[k / 64] |= 1 << (k % 64);
            }
        }
        self.best = (self.best as i64 + delta) as usize;
        self.base = new_base;
        true
    }

    /// Lowest non-empty slot.
    fn lowest(&self) -> Option<usize> {
        self.bits
            .iter()
            .enumerate()
            .find(|(_, &w)| w != 0)
            .map(|(i, &w)| i * 64 + w.trailing_zeros() as usize)
    }

    /// Highest non-empty slot strictly below `slot`.
    #[inline]
    fn next_below(&self, slot: usize) -> Option<usize> {
        if slot == 0 {
            return None;
        }
        let i = slot - 1;
        let mut w = i / 64;
        let mut word = self.bits[w] & (u64::MAX >> (63 - (i % 64)));
        loop {
            if word != 0 {
                return Some(w * 64 + 63 - word.leading_zeros() as usize);
            }
            if w == 0 {
                return None;
            }
            w -= 1;
            word = self.bits[w];
        }
    }

    /// Adds one order of `qty` at `slot`; returns the slot's new state (a count of 1: the
    /// level is new).
    #[inline]
    fn add_order(&mut self, slot: usize, qty: u32) -> Cell {
        let c = &mut self.cells[slot];
        if c.count == 0 {
            self.bits[slot / 64] |= 1 << (slot % 64);
            if self.levels == 0 || slot > self.best {
                self.best = slot;
            }
            self.levels += 1;
        }
        c.count += 1;
        c.size += u64::from(qty);
        *c
    }

    /// Removes one order of `qty` from `slot`; returns the slot's new state (a count of 0:
    /// the level vanished), `None` when the slot held no order (nothing changed).
    #[inline(always)]
    fn remove_order(&mut self, slot: usize, qty: u32) -> Option<Cell> {
        let c = &mut self.cells[slot];
        if c.count == 0 {
            return None;
        }
        c.count -= 1;
        c.size = c.size.saturating_sub(u64::from(qty));
        let after = if c.count == 0 { Cell::default() } else { *c };
        if after.count == 0 {
            self.cells[slot].size = 0;
            self.bits[slot / 64] &= !(1 << (slot % 64));
            self.levels -= 1;
            if slot == self.best {
                self.best = self.next_below(slot).unwrap_or(0);
            }
        }
        Some(after)
    }

    /// Changes the size of one order at `slot` from `old` to `new` (both > 0); returns the
    /// slot's new state.
    #[inline]
    fn resize_order(&mut self, slot: usize, old: u32, new: u32) -> Cell {
        let c = &mut self.cells[slot];
        c.size = (c.size + u64::from(new)).saturating_sub(u64::from(old));
        *c
    }

    /// The slot of an order already in the ladder (its score was placed by this ladder).
    #[inline]
    fn slot_of(&self, score: i64) -> Option<usize> {
        let off = score.wrapping_sub(self.base);
        (off >= 0 && (off as u64) < self.n() as u64).then_some(off as usize)
    }

    #[inline]
    fn level_at(&self, slot: usize, tick: Px) -> Level {
        self.cells[slot].level((self.base + slot as i64) * self.sign * tick)
    }

    /// Fills `out` with the best `DEPTH` levels; returns the score of the deepest one filled
    /// when all `DEPTH` are filled, `i64::MIN` otherwise.
    #[inline]
    fn top(&self, tick: Px, out: &mut [Level; DEPTH]) -> i64 {
        *out = [Level::EMPTY; DEPTH];
        if self.levels == 0 {
            return i64::MIN;
        }
        let mut slot = self.best;
        for (d, lvl) in out.iter_mut().enumerate() {
            *lvl = self.level_at(slot, tick);
            if d == DEPTH - 1 {
                return self.base + slot as i64;
            }
            match self.next_below(slot) {
                Some(s) => slot = s,
                None => break,
            }
        }
        i64::MIN
    }

    fn clear(&mut self) {
        if self.levels > 0 {
            self.cells.fill(Cell::default());
            self.bits.fill(0);
            self.levels = 0;
            self.best = 0;
        }
    }
}

/// An L2 aggregator over MBO orders; see the [module docs](self).
#[derive(Clone)]
pub struct MboBook {
    tick: Px,
    /// Division by `tick` (see [`TickDiv`]).
    div: TickDiv,
    orders: OrderMap,
    /// `[bids, asks]`.
    ladders: [Ladder; 2],
    /// Last published top-`DEPTH` view, `[bids, asks]`.
    published: [[Level; DEPTH]; 2],
    /// The current top-`DEPTH` view, kept incrementally (in rescan mode too; there the diff
    /// ignores it).
    view: [TopView; 2],
    /// Reference mode: recompute the view by walking the ladder at each diff.
    rescan: bool,
    stats: MboStats,
}

/// One side's current top-[`DEPTH`] levels, best first: their ladder scores and their levels
/// (price, size, count) as the diff publishes them, and the depths changed since the last
/// diff. Scores are kept as `i32` (they are within ±[`MAX_TICKS`]), so the searches compare
/// four to a 128-bit register. Entries at `len..` are `i32::MIN` (no order has that score) and
/// [`Level::EMPTY`], so searches run over the whole fixed-size array without a length bound,
/// and the diff reads a depth's level without a length check and without going back to the
/// ladder (no slot lookup, no price multiplication per published level).
#[derive(Clone, Copy, Debug)]
struct TopView {
    score: [i32; DEPTH],
    level: [Level; DEPTH],
    len: usize,
    /// Bit `d`: depth `d` may differ from the published view.
    changed: u32,
}

impl TopView {
    const EMPTY: Self = Self { score: [i32::MIN; DEPTH], level: [Level::EMPTY; DEPTH], len: 0, changed: 0 };

    /// Number of view entries better than `score`: its depth if it is in the view, the depth
    /// it would take if it entered, [`DEPTH`] if it is below a full view. Branch-free.
    #[inline]
    fn rank(&self, score: i32) -> usize {
        self.score.iter().map(|&x| usize::from(x > score)).sum()
    }

    /// Depth of the level of `score`, if it is in the view.
    #[inline]
    fn find(&self, score: i32) -> Option<usize> {
        let d = self.rank(score);
        (d < DEPTH && self.score[d.min(DEPTH - 1)] == score).then_some(d)
    }

    /// Depth of the level of `score`, if it is in the view, for a level the ladder holds (so
    /// not better than the view's best). A level below a full view is one compare; in a dense
    /// book (every tick between the best and the level occupied) the depth is the distance in
    /// ticks from the best, checked by one compare; otherwise [`Self::find`].
    #[inline]
    fn depth_of(&self, score: i32) -> Option<usize> {
        if score < self.score[DEPTH - 1] {
            return None;
        }
        let g = i64::from(self.score[0]).wrapping_sub(i64::from(score)) as u64;
        if g < DEPTH as u64 && self.score[g as usize] == score {
            return Some(g as usize);
        }
        self.find(score)
    }

    /// Inserts `score` and its level at depth `d < DEPTH`, shifting the deeper entries down one
    /// (the last one falls out): one loop over the moved entries only, score and level
    /// together.
    #[inline]
    fn insert(&mut self, d: usize, score: i32, level: Level) {
        let d = d.min(DEPTH - 1);
        let mut k = DEPTH - 1;
        while k > d {
            self.score[k] = self.score[k - 1];
            self.level[k] = self.level[k - 1];
            k -= 1;
        }
        self.score[d] = score;
        self.level[d] = level;
    }

    /// Removes depth `d`, shifting the deeper entries up one and putting `last` (score and
    /// level) at the bottom: one loop over the moved entries only.
    #[inline]
    fn remove(&mut self, d: usize, last: (i32, Level)) {
        for k in d..DEPTH - 1 {
            self.score[k] = self.score[k + 1];
            self.level[k] = self.level[k + 1];
        }
        self.score[DEPTH - 1] = last.0;
        self.level[DEPTH - 1] = last.1;
    }

    /// Marks depths `from..to` changed (`to <= DEPTH`; nothing when `to <= from`).
    #[inline]
    fn mark(&mut self, from: usize, to: usize) {
        self.changed |= ((1u32 << to) - 1) & !((1u32 << from) - 1);
    }
}

/// True when two levels are equal: one test of the fields' differences or-ed together (no
/// branch per field; size and count compared as one 64-bit word).
#[inline]
fn same_level(a: &Level, b: &Level) -> bool {
    let pack = |l: &Level| u64::from(l.size) | u64::from(l.count) << 32;
    ((a.price ^ b.price) as u64 | (pack(a) ^ pack(b))) == 0
}

/// `Bid` → 0, `Ask` → 1 (`Side`'s discriminants minus one: no branch on the side).
#[inline]
fn side_index(side: Side) -> Option<usize> {
    let i = (side as usize).wrapping_sub(1);
    (i < 2).then_some(i)
}

const SIDES: [Side; 2] = [Side::Bid, Side::Ask];

impl MboBook {
    /// An empty book; allocates the order map and both ladders once.
    pub fn new(cfg: MboConfig) -> Self {
        let n = cfg.ladder_ticks.max(64).div_ceil(64) * 64;
        Self {
            tick: cfg.tick.max(1),
            div: TickDiv::new(cfg.tick),
            orders: OrderMap::new(cfg.max_orders, RUN_BITS),
            ladders: [Ladder::new(1, n), Ladder::new(-1, n)],
            published: [[Level::EMPTY; DEPTH]; 2],
            view: [TopView::EMPTY; 2],
            rescan: false,
            stats: MboStats::default(),
        }
    }

    /// The book in the reference mode: [`MboBook::diff_top`] recomputes the top-[`DEPTH`] view
    /// of both sides by walking the ladder at every call (the algorithm before the incremental
    /// view; same output, slower). For the equivalence tests.
    pub fn new_rescan(cfg: MboConfig) -> Self {
        Self { rescan: true, ..Self::new(cfg) }
    }

    /// The book with the former order-map hash: each id placed by Fibonacci hashing on its
    /// own, so consecutive ids land on unrelated cache lines (same output, slower on
    /// sequential ids). For the equivalence test of the map.
    pub fn new_per_id_hash(cfg: MboConfig) -> Self {
        Self { orders: OrderMap::new(cfg.max_orders, 0), ..Self::new(cfg) }
    }

    /// The level of `score` on `side` changed size or order count (its slot is now `cell`) and
    /// is still there. A level below a full view touches nothing of the view (one compare).
    #[inline]
    fn level_changed(&mut self, side: usize, score: i64, cell: Cell) {
        let v = &mut self.view[side];
        if let Some(d) = v.depth_of(score as i32) {
            let l = &mut v.level[d];
            *l = cell.level(l.price);
            v.changed |= 1 << d;
        }
    }

    /// A level appeared at `score` on `side` (its first order; its slot is now `cell`).
    #[inline]
    fn level_added(&mut self, side: usize, score: i64, cell: Cell) {
        let v = &mut self.view[side];
        let s = score as i32;
        // The entries past `len` are `i32::MIN`, below any score.
        let d = v.rank(s);
        if d >= DEPTH {
            return;
        }
        let price = score * self.ladders[side].sign * self.tick;
        v.insert(d, s, cell.level(price));
        v.len = (v.len + 1).min(DEPTH);
        let len = v.len;
        v.mark(d, len);
    }

    /// The level of `score` on `side` vanished (its last order left; the ladder is updated).
    #[inline]
    fn level_removed(&mut self, side: usize, score: i64) {
        let Some(d) = self.view[side].find(score as i32) else { return };
        let old_len = self.view[side].len;
        // The level that enters the view at the bottom when it was full: the next one below
        // the deepest (the removed level is already gone from the ladder).
        let refill = if old_len == DEPTH {
            let l = &self.ladders[side];
            l.slot_of(i64::from(self.view[side].score[DEPTH - 1]))
                .and_then(|s| l.next_below(s))
                .map(|s| ((l.base + s as i64) as i32, l.level_at(s, self.tick)))
        } else {
            None
        };
        let v = &mut self.view[side];
        v.remove(d, refill.unwrap_or((i32::MIN, Level::EMPTY)));
        if refill.is_none() {
            v.len -= 1;
        }
        v.mark(d, old_len);
    }

    /// The error and recentering counters.
    pub fn stats(&self) -> &MboStats {
        &self.stats
    }

    /// Number of resting orders.
    pub fn order_count(&self) -> usize {
        self.orders.len()
    }

    /// Ladder score of a price on `side`, `None` when undefined, off the tick grid or beyond
    /// ±[`MAX_TICKS`] ticks.
    #[inline]
    fn score(&self, side: usize, price: Px) -> Option<i64> {
        // A multiplication, not a division (`TickDiv`); the sign is applied after.
        let (q, r) = self.div.div_rem(price.unsigned_abs());
        if price == UNDEF_PX || r != 0 || q > MAX_TICKS as u64 {
            return None;
        }
        let q = if price < 0 { -(q as i64) } else { q as i64 };
        Some(q * self.ladders[side].sign)
    }

    /// Places a new order (id known to be absent); counts and drops it when it cannot fit.
    #[inline]
    fn place(&mut self, order_id: u64, side: usize, score: i64, size: u32) {
        debug_assert!(self.orders.find_slot(order_id).is_none());
        let (Ok(at) | Err(at)) = self.orders.lookup(order_id);
        self.place_at(at, order_id, side, score, size);
    }

    /// Places a new order in map slot `at`, the vacant slot a probe for `order_id` returned.
    #[inline(always)]
    fn place_at(&mut self, at: MapSlot, order_id: u64, side: usize, score: i64, size: u32) {
        if self.orders.is_full() {
            self.stats.order_overflow += 1;
            return;
        }
        let Some(slot) = self.ladders[side].slot_or_recenter(score, &mut self.stats) else {
            self.stats.ladder_overflow += 1;
            return;
        };
        self.orders.insert_slot(at, Order::new(order_id, side, score, size));
        let cell = self.ladders[side].add_order(slot, size);
        if cell.count == 1 {
            self.level_added(side, score, cell);
        } else {
            self.level_changed(side, score, cell);
        }
    }

    /// Removes the order in map slot `i` from its level and from the map.
    #[inline(always)]
    fn unplace(&mut self, i: MapSlot) {
        let o = self.orders[i.at];
        let (side, score) = (o.side(), o.score());
        self.orders.remove_slot(i);
        let Some(slot) = self.ladders[side].slot_of(score) else { return };
        let Some(cell) = self.ladders[side].remove_order(slot, o.size) else { return };
        if cell.count == 0 {
            self.level_removed(side, score);
        } else {
            self.level_changed(side, score, cell);
        }
    }

    /// `A`: adds a resting order. A duplicate id is counted and replaces the old order.
    #[inline(always)]
    pub fn add(&mut self, order_id: u64, side: Side, price: Px, size: u32) {
        let Some(s) = side_index(side) else {
            self.stats.invalid += 1;
            return;
        };
        let Some(score) = self.score(s, price) else {
            self.stats.invalid += 1;
            return;
        };
        if size == 0 {
            self.stats.invalid += 1;
            return;
        }
        match self.orders.lookup(order_id) {
            Err(at) => self.place_at(at, order_id, s, score, size),
            Ok(i) => {
                self.stats.duplicate_add += 1;
                self.unplace(i);
                self.place(order_id, s, score, size);
            }
        }
    }

    /// `C`: cancels `size` contracts of an order, removing it when nothing is left. Unknown ids
    /// are counted.
    #[inline]
    pub fn cancel(&mut self, order_id: u64, size: u32) {
        let Some(i) = self.orders.find_slot(order_id) else {
            self.stats.unknown_order += 1;
            return;
        };
        let o = self.orders[i.at];
        if size >= o.size {
            self.unplace(i);
            return;
        }
        let (side, score) = (o.side(), o.score());
        let rest = o.size - size;
        self.orders[i.at].size = rest;
        if let Some(slot) = self.ladders[side].slot_of(score) {
            let cell = self.ladders[side].resize_order(slot, o.size, rest);
            self.level_changed(side, score, cell);
        }
    }

    /// `M`: sets an order's side, price and size (a size of 0 removes it). An unknown id is
    /// counted, then added (Databento's reference behaviour).
    #[inline]
    pub fn modify(&mut self, order_id: u64, side: Side, price: Px, size: u32) {
        let Some(i) = self.orders.find_slot(order_id) else {
            self.stats.unknown_order += 1;
            if size > 0 {
                self.add(order_id, side, price, size);
            }
            return;
        };
        if size == 0 {
            self.unplace(i);
            return;
        }
        let Some(s) = side_index(side) else {
            self.stats.invalid += 1;
            return;
        };
        let Some(score) = self.score(s, price) else {
            self.stats.invalid += 1;
            return;
        };
        let o = self.orders[i.at];
        if o.side() == s && o.score() == score {
            self.orders[i.at].size = size;
            if let Some(slot) = self.ladders[s].slot_of(score) {
                let cell = self.ladders[s].resize_order(slot, o.size, size);
                self.level_changed(s, score, cell);
            }
        } else {
            self.unplace(i);
            self.place(order_id, s, score, size);
        }
    }

    /// `R`: empties the book, and the published view with it (the consumer sees a `Clear`, so
    /// no level differences are reported for the emptied levels).
    pub fn clear(&mut self) {
        self.orders.clear();
        for l in &mut self.ladders {
            l.clear();
        }
        self.published = [[Level::EMPTY; DEPTH]; 2];
        self.view = [TopView::EMPTY; 2];
    }

    /// Applies one MBO action. `Trade`, `Fill` and `None` never change the book.
    #[inline]
    pub fn apply(&mut self, action: MboAction, side: Side, order_id: u64, price: Px, size: u32) {
        match action {
            MboAction::Add => self.add(order_id, side, price, size),
            MboAction::Cancel => self.cancel(order_id, size),
            MboAction::Modify => self.modify(order_id, side, price, size),
            MboAction::Clear => self.clear(),
            MboAction::Trade | MboAction::Fill | MboAction::None => {}
        }
    }

    /// The current level at `depth` on `side` (computed from the ladder; `Level::EMPTY` beyond
    /// the book or for `Side::None`).
    pub fn level(&self, side: Side, depth: usize) -> Level {
        let Some(s) = side_index(side) else {
            return Level::EMPTY;
        };
        let l = &self.ladders[s];
        if l.levels == 0 {
            return Level::EMPTY;
        }
        let mut slot = l.best;
        for _ in 0..depth {
            match l.next_below(slot) {
                Some(x) => slot = x,
                None => return Level::EMPTY,
            }
        }
        l.level_at(slot, self.tick)
    }

    /// Total size resting at `price` on `side`, at any depth (0 for an empty or unknown price,
    /// `Side::None` or a price off the tick grid). O(1).
    #[inline]
    pub fn size_at(&self, side: Side, price: Px) -> u64 {
        let Some(s) = side_index(side) else {
            return 0;
        };
        let Some(score) = self.score(s, price) else {
            return 0;
        };
        self.ladders[s].slot_of(score).map_or(0, |slot| self.ladders[s].cells[slot].size)
    }

    /// The last published top-[`DEPTH`] view of `side` (empty for `Side::None`).
    pub fn published(&self, side: Side) -> &[Level; DEPTH] {
        match side_index(side) {
            Some(s) => &self.published[s],
            None => &[Level::EMPTY; DEPTH],
        }
    }

    /// Calls `emit(side, depth, level)` for each level of the top-[`DEPTH`] view that differs
    /// from the published view (bids first, shallow to deep), and publishes the new view. Only
    /// the depths the records since the last call touched are compared, each against the
    /// view's cached level (in rescan mode: the whole view of both sides, recomputed from the
    /// ladder).
    #[inline]
    pub fn diff_top(&mut self, mut emit: impl FnMut(Side, u8, Level)) {
        if self.rescan {
            return self.diff_top_rescan(emit);
        }
        for (s, side) in SIDES.into_iter().enumerate() {
            let v = &mut self.view[s];
            let mut m = v.changed;
            v.changed = 0;
            while m != 0 {
                let d = m.trailing_zeros() as usize;
                m &= m - 1;
                let cur = v.level[d];
                let p = &mut self.published[s][d];
                if !same_level(&cur, p) {
                    *p = cur;
                    emit(side, d as u8, cur);
                }
            }
        }
    }

    /// [`Self::diff_top`] of the reference mode: walks the ladder of both sides.
    #[inline(never)]
    fn diff_top_rescan(&mut self, mut emit: impl FnMut(Side, u8, Level)) {
        for (s, side) in SIDES.into_iter().enumerate() {
            self.view[s].changed = 0;
            let mut cur = [Level::EMPTY; DEPTH];
            self.ladders[s].top(self.tick, &mut cur);
            for (d, (c, p)) in cur.iter().zip(self.published[s].iter_mut()).enumerate() {
                if c != p {
                    *p = *c;
                    emit(side, d as u8, *c);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::{BTreeMap, HashMap};

    const T: Px = 250_000_000;

    fn px(points: f64) -> Px {
        (points * 1e9).round() as Px
    }

    fn book() -> MboBook {
        MboBook::new(MboConfig { tick: T, ladder_ticks: 256, max_orders: 64 })
    }

    fn lv(price: f64, size: u32, count: u32) -> Level {
        Level { price: px(price), size, count }
    }

    /// Collects the reported differences.
    fn diff(b: &mut MboBook) -> Vec<(Side, u8, Level)> {
        let mut v = Vec::new();
        b.diff_top(|s, d, l| v.push((s, d, l)));
        v
    }

    #[test]
    fn actions_decode() {
        for (c, a) in [
            (b'A', MboAction::Add),
            (b'C', MboAction::Cancel),
            (b'M', MboAction::Modify),
            (b'R', MboAction::Clear),
            (b'T', MboAction::Trade),
            (b'F', MboAction::Fill),
            (b'N', MboAction::None),
        ] {
            assert_eq!(MboAction::from_dbn(c), Some(a));
        }
        assert_eq!(MboAction::from_dbn(b'X'), None);
    }

    #[test]
    fn add_aggregates_and_orders_levels() {
        let mut b = book();
        b.add(1, Side::Bid, px(100.0), 5);
        b.add(2, Side::Bid, px(100.0), 3);
        b.add(3, Side::Bid, px(99.75), 7);
        b.add(4, Side::Ask, px(100.5), 2);
        b.add(5, Side::Ask, px(100.25), 4);
        assert_eq!(b.level(Side::Bid, 0), lv(100.0, 8, 2));
        assert_eq!(b.level(Side::Bid, 1), lv(99.75, 7, 1));
        assert_eq!(b.level(Side::Bid, 2), Level::EMPTY);
        assert_eq!(b.level(Side::Ask, 0), lv(100.25, 4, 1));
        assert_eq!(b.level(Side::Ask, 1), lv(100.5, 2, 1));
        assert_eq!(b.size_at(Side::Bid, px(100.0)), 8);
        assert_eq!(b.size_at(Side::Bid, px(100.5)), 0, "empty price");
        assert_eq!(b.size_at(Side::Ask, px(100.0)), 0, "the other side");
        assert_eq!(b.size_at(Side::None, px(100.0)), 0);
        assert_eq!(b.size_at(Side::Bid, px(100.1)), 0, "off the grid");
        let d = diff(&mut b);
        assert_eq!(
            d,
            vec![
                (Side::Bid, 0, lv(100.0, 8, 2)),
                (Side::Bid, 1, lv(99.75, 7, 1)),
                (Side::Ask, 0, lv(100.25, 4, 1)),
                (Side::Ask, 1, lv(100.5, 2, 1)),
            ]
        );
        assert!(diff(&mut b).is_empty(), "no change, no difference");
        // A better bid shifts every level down by one.
        b.add(6, Side::Bid, px(100.25), 1);
        assert_eq!(
            diff(&mut b),
            vec![
                (Side::Bid, 0, lv(100.25, 1, 1)),
                (Side::Bid, 1, lv(100.0, 8, 2)),
                (Side::Bid, 2, lv(99.75, 7, 1)),
            ]
        );
        assert_eq!(b.order_count(), 6);
        assert_eq!(b.stats().errors(), 0);
    }

    #[test]
    fn cancel_partial_full_and_unknown() {
        let mut b = book();
        b.add(1, Side::Ask, px(10.0), 5);
        b.add(2, Side::Ask, px(10.25), 5);
        diff(&mut b);
        b.cancel(1, 2);
        assert_eq!(diff(&mut b), vec![(Side::Ask, 0, lv(10.0, 3, 1))]);
        b.cancel(1, 3);
        assert_eq!(diff(&mut b), vec![(Side::Ask, 0, lv(10.25, 5, 1)), (Side::Ask, 1, Level::EMPTY)]);
        b.cancel(1, 1);
        b.cancel(99, 1);
        assert_eq!(b.stats().unknown_order, 2);
        assert!(diff(&mut b).is_empty());
        assert_eq!(b.order_count(), 1);
    }

    #[test]
    fn modify_price_size_and_unknown() {
        let mut b = book();
        b.add(1, Side::Bid, px(50.0), 4);
        b.add(2, Side::Bid, px(50.0), 6);
        diff(&mut b);
        // Size only.
        b.modify(1, Side::Bid, px(50.0), 1);
        assert_eq!(diff(&mut b), vec![(Side::Bid, 0, lv(50.0, 7, 2))]);
        // Price change: leaves 50.00, joins 50.25.
        b.modify(2, Side::Bid, px(50.25), 6);
        assert_eq!(diff(&mut b), vec![(Side::Bid, 0, lv(50.25, 6, 1)), (Side::Bid, 1, lv(50.0, 1, 1))]);
        // Unknown id: counted, then added.
        b.modify(7, Side::Bid, px(49.75), 2);
        assert_eq!(b.stats().unknown_order, 1);
        assert_eq!(diff(&mut b), vec![(Side::Bid, 2, lv(49.75, 2, 1))]);
        // Modify to size 0 removes.
        b.modify(7, Side::Bid, px(49.75), 0);
        assert_eq!(diff(&mut b), vec![(Side::Bid, 2, Level::EMPTY)]);
        assert_eq!(b.order_count(), 2);
    }

    #[test]
    fn trade_and_fill_never_change_the_book() {
        let mut b = book();
        b.apply(MboAction::Add, Side::Ask, 1, px(20.0), 3);
        diff(&mut b);
        b.apply(MboAction::Trade, Side::Bid, 0, px(20.0), 3);
        b.apply(MboAction::Fill, Side::Ask, 1, px(20.0), 3);
        b.apply(MboAction::None, Side::None, 0, UNDEF_PX, 0);
        assert!(diff(&mut b).is_empty());
        assert_eq!(b.level(Side::Ask, 0), lv(20.0, 3, 1));
        // The cancel that follows the fill removes it.
        b.apply(MboAction::Cancel, Side::Ask, 1, px(20.0), 3);
        assert_eq!(diff(&mut b), vec![(Side::Ask, 0, Level::EMPTY)]);
        assert_eq!(b.order_count(), 0);
    }

    #[test]
    fn clear_resets_view_without_differences() {
        let mut b = book();
        b.add(1, Side::Bid, px(1.0), 1);
        b.add(2, Side::Ask, px(1.25), 1);
        diff(&mut b);
        b.apply(MboAction::Clear, Side::None, 0, 0, 0);
        assert!(diff(&mut b).is_empty());
        assert_eq!(b.published(Side::Bid)[0], Level::EMPTY);
        assert_eq!(b.order_count(), 0);
        b.add(1, Side::Bid, px(1.0), 2);
        assert_eq!(diff(&mut b), vec![(Side::Bid, 0, lv(1.0, 2, 1))]);
    }

    #[test]
    fn invalid_input_is_counted() {
        let mut b = book();
        b.add(1, Side::None, px(1.0), 1);
        b.add(2, Side::Bid, px(1.1), 1); // off the 0.25 grid
        b.add(3, Side::Bid, UNDEF_PX, 1);
        b.add(4, Side::Bid, px(1.0), 0);
        assert_eq!(b.stats().invalid, 4);
        b.add(5, Side::Bid, px(1.0), 1);
        b.add(5, Side::Bid, px(1.25), 2);
        assert_eq!(b.stats().duplicate_add, 1);
        assert_eq!(b.level(Side::Bid, 0), lv(1.25, 2, 1));
        assert_eq!(b.level(Side::Bid, 1), Level::EMPTY);
        assert_eq!(b.order_count(), 1);
    }

    #[test]
    fn order_map_overflow_is_counted() {
        let mut b = MboBook::new(MboConfig { tick: T, ladder_ticks: 64, max_orders: 3 });
        for id in 0..5 {
            b.add(id, Side::Bid, px(1.0), 1);
        }
        assert_eq!(b.order_count(), 3);
        assert_eq!(b.stats().order_overflow, 2);
        assert_eq!(b.level(Side::Bid, 0), lv(1.0, 3, 3));
    }

    #[test]
    fn ladder_recenters_and_counts_overflow() {
        let mut b = MboBook::new(MboConfig { tick: T, ladder_ticks: 64, max_orders: 16 });
        b.add(1, Side::Bid, px(100.0), 1); // window centred on 100.00: 92.00 ..= 107.75
        b.add(2, Side::Bid, px(110.0), 1); // outside: the window moves, both fit
        assert_eq!(b.stats().recenters, 1);
        assert_eq!(b.level(Side::Bid, 0), lv(110.0, 1, 1));
        assert_eq!(b.level(Side::Bid, 1), lv(100.0, 1, 1));
        b.add(3, Side::Bid, px(200.0), 1); // 100 points = 400 ticks > 64: refused
        assert_eq!(b.stats().ladder_overflow, 1);
        b.cancel(2, 1);
        b.cancel(1, 1);
        b.add(4, Side::Ask, px(3000.0), 5); // the ask ladder is independent
        b.add(5, Side::Bid, px(2999.75), 5); // empty bid ladder: free rebase, no recenter
        assert_eq!(b.stats().recenters, 1);
        assert_eq!(b.level(Side::Ask, 0), lv(3000.0, 5, 1));
        assert_eq!(b.level(Side::Bid, 0), lv(2999.75, 5, 1));
    }

    #[test]
    fn deep_book_view_keeps_ten_levels() {
        let mut b = book();
        for i in 0..15u64 {
            b.add(i, Side::Ask, px(100.0) + i as i64 * T, 1 + i as u32);
        }
        let d = diff(&mut b);
        assert_eq!(d.len(), DEPTH);
        assert_eq!(b.published(Side::Ask)[9], Level { price: px(100.0) + 9 * T, size: 10, count: 1 });
        // A change beyond the 10th level does not alter the view.
        b.cancel(14, 15);
        assert!(diff(&mut b).is_empty());
        // Removing the best level pulls level 11 into view.
        b.cancel(0, 1);
        let d = diff(&mut b);
        assert_eq!(d.len(), DEPTH);
        assert_eq!(d[9], (Side::Ask, 9, Level { price: px(100.0) + 10 * T, size: 11, count: 1 }));
    }

    /// The incremental view and the reference rescan report exactly the same differences after
    /// every operation, on a ladder small enough to recenter and a book deeper than 10 levels.
    #[test]
    fn incremental_view_equals_the_rescan_after_every_operation() {
        let cfg = MboConfig { tick: T, ladder_ticks: 64, max_orders: 512 };
        let (mut inc, mut re) = (MboBook::new(cfg), MboBook::new_rescan(cfg));
        let mut rng = 0x0bad_cafe_1234_5678_u64;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let mut reported = 0;
        for step in 0..50_000 {
            let r = next();
            let id = r % 200;
            let side = if (r >> 20) & 1 == 0 { Side::Bid } else { Side::Ask };
            // Mostly near the touch, sometimes far: levels enter and leave the top 10.
            let off = if (r >> 60) == 0 { ((r >> 24) % 60) as i64 } else { ((r >> 24) % 14) as i64 };
            let price = if side == Side::Bid { px(4000.0) - off * T } else { px(4000.25) + off * T };
            let size = 1 + ((r >> 40) % 9) as u32;
            let action = match (r >> 50) % 16 {
                0..=6 => MboAction::Add,
                7..=11 => MboAction::Cancel,
                12..=14 => MboAction::Modify,
                _ if step % 500 == 0 => MboAction::Clear,
                _ => MboAction::Fill,
            };
            for b in [&mut inc, &mut re] {
                b.apply(action, side, id, price, size);
            }
            let (a, b) = (diff(&mut inc), diff(&mut re));
            assert_eq!(a, b, "step {step}: {action:?} {side:?} id {id} off {off} size {size}");
            reported += a.len();
            if step % 101 == 0 {
                for sd in [Side::Bid, Side::Ask] {
                    assert_eq!(inc.published(sd), re.published(sd), "step {step}");
                }
            }
        }
        assert!(reported > 20_000, "the sequence must move the view: {reported} differences");
        assert!(inc.stats().recenters > 0 && inc.stats() == re.stats());
    }

    /// Displacement of every stored order from its home slot: (mean, max).
    fn displacement(m: &OrderMap) -> (f64, usize) {
        let (mut sum, mut max, mut n) = (0usize, 0usize, 0usize);
        for (i, o) in m.slots.iter().enumerate() {
            if o.size != 0 {
                let d = i.wrapping_sub(m.home(o.id)) & m.mask;
                sum += d;
                max = max.max(d);
                n += 1;
            }
        }
        let displaced = m.slots.iter().enumerate().filter(|&(i, o)| o.size != 0 && i != m.home(o.id)).count();
        assert_eq!(m.displaced, displaced, "the map's count of displaced orders");
        (sum as f64 / n.max(1) as f64, max)
    }

    /// The order map does not degrade on the id patterns exchanges produce: dense sequential
    /// ids (from 1 and from a CME-like 13-digit base), ids with a stride (low bits constant:
    /// 8, 1024, 2²⁰) and pseudo-random ids, each filled to the map's full capacity (load ½),
    /// keep probe runs short; and a sliding window of live orders (add the newest, cancel the
    /// oldest) over ten times the capacity leaves no clustering behind (backward-shift
    /// deletion, no tombstones). A masked identity hash fails the strided cases (every id on
    /// one slot); a plain per-id hash passes but loses the sequential locality measured by the
    /// bench.
    #[test]
    fn order_map_probes_stay_short_on_dense_strided_and_random_ids() {
        const MAX: usize = 1 << 14;
        let mut rng = 0x9e37_79b9_u64;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let random: Vec<u64> = (0..MAX).map(|_| next()).collect();
        type Pattern = (&'static str, Box<dyn Fn(u64) -> u64>);
        let patterns: [Pattern; 6] = [
            ("sequential", Box::new(|k| k + 1)),
            ("sequential from 6.4e12", Box::new(|k| 6_400_000_000_000 + k)),
            ("stride 8", Box::new(|k| k * 8)),
            ("stride 1024", Box::new(|k| k << 10)),
            ("stride 2^20", Box::new(|k| (k << 20) | 5)),
            ("random", Box::new(move |k| random[k as usize])),
        ];
        for (name, id) in &patterns {
            let mut m = OrderMap::new(MAX, RUN_BITS);
            for k in 0..MAX as u64 {
                let o = Order::new(id(k), 0, 7, 1);
                match m.probe(o.id) {
                    Err(at) => m.insert_at(at, o),
                    Ok(_) => panic!("{name}: id {} found before insertion", o.id),
                }
            }
            assert!(m.is_full(), "{name}");
            let (mean, max) = displacement(&m);
            // Linear probing at load ½ with a uniform hash: mean displacement ≈ 0.5. Ids whose
            // low 3 bits are constant use one home per run of 8 (load 4 per home): ≈ 4.
            let bound = if name.starts_with("stride") { 6.0 } else { 1.0 };
            assert!(mean < bound && max < 128, "{name}: mean displacement {mean:.2}, max {max}");
            for k in 0..MAX as u64 {
                assert_eq!(m.find(id(k)).map(|i| m[i].id), Some(id(k)), "{name}");
            }
        }
        // Sliding window: 4096 live orders, 10 × capacity ids through the map.
        let mut m = OrderMap::new(MAX, RUN_BITS);
        let w = 4096u64;
        for k in 0..10 * MAX as u64 {
            if let Err(at) = m.probe(k) {
                m.insert_at(at, Order::new(k, 1, -3, 2));
            }
            if k >= w {
                let i = m.find(k - w).unwrap_or(usize::MAX);
                assert!(i < m.slots.len(), "live id {} lost", k - w);
                m.remove_at(i);
            }
        }
        assert_eq!(m.len(), w as usize);
        let (mean, max) = displacement(&m);
        assert!(mean < 0.5 && max < 64, "window: mean displacement {mean:.2}, max {max}");
        // Sequential ids sit in adjacent slots: 8 consecutive ids span at most 2 cache lines.
        let run: Vec<usize> = (160_000u64..160_008).map(|id| m.home(id)).collect();
        assert!(run.windows(2).all(|p| p[1] == p[0] + 1), "a run of 8 ids is contiguous: {run:?}");
    }

    /// The reciprocal division equals `/` and `%` for every tick and numerator class: small,
    /// around multiples of the tick, at 2⁶³ (|i64::MIN|) and pseudo-random, for ticks from 1
    /// to 2⁶³ (an estimate that is off by one and not corrected fails at once).
    #[test]
    fn tick_division_by_multiplication_is_exact() {
        let mut rng = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let ticks =
            [1u64, 2, 3, 7, 10, 250_000_000, 1_000_000_000, (1 << 31) + 1, 1 << 62, i64::MAX as u64, 1 << 63];
        for &t in &ticks {
            let d = TickDiv::new(t.min(i64::MAX as u64) as Px);
            let t = d.tick;
            let mut ns = vec![0u64, 1, t - 1, t, t + 1, 1 << 63, (1 << 63) - 1, (1 << 63) - t];
            for k in [2u64, 3, 1000, 16_000, 1 << 20] {
                if let Some(m) = t.checked_mul(k).filter(|&m| m <= 1 << 63) {
                    ns.extend([m - 1, m, m + 1]);
                }
            }
            ns.extend((0..20_000).map(|_| next() >> 1));
            ns.extend((0..2_000).map(|_| (next() % 4_000_000) * t.min(1 << 40)));
            for n in ns.into_iter().filter(|&n| n <= 1 << 63) {
                assert_eq!(d.div_rem(n), (n / t, n % t), "{n} / {t}");
            }
        }
    }

    /// The 16-byte order slot round-trips side and score at the limits of the price range, and
    /// prices beyond it are refused as invalid.
    #[test]
    fn order_slot_packs_side_and_score_and_far_prices_are_invalid() {
        for side in [0, 1] {
            for score in [0, 1, -1, MAX_TICKS, -MAX_TICKS, 16_000, -16_000] {
                let o = Order::new(42, side, score, 9);
                assert_eq!((o.side(), o.score(), o.size, o.id), (side, score, 9, 42));
            }
        }
        let mut b = book();
        b.add(1, Side::Bid, MAX_TICKS * T, 1);
        b.add(2, Side::Ask, -MAX_TICKS * T, 1);
        assert_eq!(b.stats().invalid, 0);
        b.cancel(1, 1);
        b.cancel(2, 1);
        b.add(3, Side::Bid, (MAX_TICKS + 1) * T, 1);
        b.add(4, Side::Ask, -(MAX_TICKS + 1) * T, 1);
        b.add(5, Side::Bid, i64::MAX - i64::MAX % T, 1);
        assert_eq!((b.stats().invalid, b.order_count()), (3, 0));
    }

    /// The naive reference the property test checks the book against: a `BTreeMap` of orders
    /// and the expected error counters, with the action semantics written out plainly.
    #[derive(Default)]
    struct Model {
        orders: BTreeMap<u64, (Side, Px, u32)>,
        stats: MboStats,
        max_orders: usize,
    }

    impl Model {
        fn valid_px(p: Px) -> bool {
            p != UNDEF_PX && p % T == 0
        }

        fn add(&mut self, id: u64, side: Side, price: Px, size: u32) {
            if side == Side::None || !Self::valid_px(price) || size == 0 {
                self.stats.invalid += 1;
                return;
            }
            if self.orders.remove(&id).is_some() {
                self.stats.duplicate_add += 1;
            }
            if self.orders.len() >= self.max_orders {
                self.stats.order_overflow += 1;
                return;
            }
            self.orders.insert(id, (side, price, size));
        }

        fn apply(&mut self, action: MboAction, side: Side, id: u64, price: Px, size: u32) {
            match action {
                MboAction::Add => self.add(id, side, price, size),
                MboAction::Cancel => match self.orders.get_mut(&id) {
                    None => self.stats.unknown_order += 1,
                    Some(o) if size >= o.2 => {
                        self.orders.remove(&id);
                    }
                    Some(o) => o.2 -= size,
                },
                MboAction::Modify => match self.orders.get_mut(&id) {
                    None => {
                        self.stats.unknown_order += 1;
                        if size > 0 {
                            self.add(id, side, price, size);
                        }
                    }
                    Some(_) if size == 0 => {
                        self.orders.remove(&id);
                    }
                    Some(_) if side == Side::None || !Self::valid_px(price) => self.stats.invalid += 1,
                    Some(o) => *o = (side, price, size),
                },
                MboAction::Clear => self.orders.clear(),
                MboAction::Trade | MboAction::Fill | MboAction::None => {}
            }
        }

        /// Every level of `side`, best first.
        fn levels(&self, side: Side) -> Vec<Level> {
            let mut agg: BTreeMap<Px, (u64, u32)> = BTreeMap::new();
            for &(_, p, q) in self.orders.values().filter(|o| o.0 == side) {
                let a = agg.entry(p).or_default();
                a.0 += u64::from(q);
                a.1 += 1;
            }
            let mut v: Vec<Level> = agg
                .into_iter()
                .map(|(price, (size, count))| Level { price, size: size as u32, count })
                .collect();
            if side == Side::Bid {
                v.reverse();
            }
            v
        }
    }

    /// One generated operation: (action selector, id, side selector, price offset, size).
    type RawOp = (u8, u64, u8, i64, u32);

    fn op_strategy(ids: Vec<u64>) -> impl Strategy<Value = RawOp> {
        (0u8..100, proptest::sample::select(ids), 0u8..20, 0i64..48, 0u32..12)
    }

    fn decode_op(&(a, id, s, off, size): &RawOp) -> (MboAction, Side, u64, Px, u32) {
        let action = match a {
            0..=39 => MboAction::Add,
            40..=69 => MboAction::Cancel,
            70..=89 => MboAction::Modify,
            90..=94 => MboAction::Fill,
            95..=97 => MboAction::Trade,
            _ => MboAction::Clear,
        };
        let side = match s {
            0 => Side::None,
            1..=10 => Side::Bid,
            _ => Side::Ask,
        };
        // A 64-tick ladder over 48 ticks a side: the windows move but everything fits. One
        // price in 48 is off the grid or undefined (refused and counted).
        let price = match (side, off) {
            (_, 47) if size % 2 == 0 => UNDEF_PX,
            (_, 47) => px(4000.1),
            (Side::Ask, _) => px(4000.25) + off * T,
            _ => px(4000.0) - off * T,
        };
        (action, side, id, price, size)
    }

    /// Ids for the property test: a small dense range (reuse after cancel), a strided set, ids
    /// near `u64::MAX` and 0, and ids that share a home slot of the order map (they collide).
    fn test_ids(book: &MboBook) -> Vec<u64> {
        let mut ids: Vec<u64> = (1..=24).collect();
        ids.extend((1..=6).map(|k| k * 1024));
        ids.extend([0, u64::MAX, u64::MAX - 1, 1 << 63]);
        let target = book.orders.home(7);
        ids.extend((25u64..1_000_000).filter(|&id| book.orders.home(id) == target).take(10));
        ids
    }

    const PROP_CFG: MboConfig = MboConfig { tick: T, ladder_ticks: 64, max_orders: 40 };

    proptest! {
        #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

        /// On random add / cancel / modify / fill / trade / clear sequences over reused,
        /// colliding and extreme ids (with map overflow, invalid input and recentering), after
        /// every operation: the incremental book reports exactly the differences of the
        /// reference rescan book and of the book with the per-id hash; its published view equals the naive model's top 10; every
        /// level (past the top 10 too), the size at every price, the order count and the
        /// error counters equal the model's.
        #[test]
        fn book_equals_the_naive_model_and_the_rescan_book(seed_ops in proptest::collection::vec(op_strategy(test_ids(&MboBook::new(PROP_CFG))), 1..600)) {
            let mut inc = MboBook::new(PROP_CFG);
            let mut re = MboBook::new_rescan(PROP_CFG);
            let mut per_id = MboBook::new_per_id_hash(PROP_CFG);
            let mut model = Model { max_orders: PROP_CFG.max_orders, ..Model::default() };
            let mut mirror = [[Level::EMPTY; DEPTH]; 2];
            for (step, raw) in seed_ops.iter().enumerate() {
                let (action, side, id, price, size) = decode_op(raw);
                inc.apply(action, side, id, price, size);
                re.apply(action, side, id, price, size);
                per_id.apply(action, side, id, price, size);
                model.apply(action, side, id, price, size);
                if action == MboAction::Clear {
                    mirror = [[Level::EMPTY; DEPTH]; 2];
                }
                let (a, b) = (diff(&mut inc), diff(&mut re));
                prop_assert_eq!(&a, &b, "step {}: {:?}", step, raw);
                prop_assert_eq!(&a, &diff(&mut per_id), "per-id hash, step {}", step);
                for (s, d, l) in a {
                    mirror[(s == Side::Ask) as usize][d as usize] = l;
                }
                for (si, sd) in [Side::Bid, Side::Ask].into_iter().enumerate() {
                    let want = model.levels(sd);
                    for d in 0..DEPTH + 4 {
                        let w = want.get(d).copied().unwrap_or(Level::EMPTY);
                        prop_assert_eq!(inc.level(sd, d), w, "step {} {:?} depth {}", step, sd, d);
                        if let (Some(m), Some(p)) = (mirror[si].get(d), inc.published(sd).get(d)) {
                            prop_assert_eq!(*m, w, "published, step {} {:?} depth {}", step, sd, d);
                            prop_assert_eq!(*p, w);
                        }
                    }
                    for l in &want {
                        prop_assert_eq!(inc.size_at(sd, l.price), u64::from(l.size));
                    }
                }
                prop_assert_eq!(inc.order_count(), model.orders.len());
                let st = *inc.stats();
                prop_assert_eq!(
                    (st.unknown_order, st.duplicate_add, st.order_overflow, st.invalid, st.ladder_overflow),
                    (model.stats.unknown_order, model.stats.duplicate_add, model.stats.order_overflow, model.stats.invalid, 0),
                    "step {}", step
                );
            }
        }
    }

    /// The ids of `test_ids` really collide: ten distinct ids share one home slot.
    #[test]
    fn the_property_test_ids_collide() {
        let b = MboBook::new(PROP_CFG);
        let ids = test_ids(&b);
        let target = b.orders.home(7);
        assert!(ids.iter().filter(|&&id| id != 7 && b.orders.home(id) == target).count() >= 10);
    }

    /// Random operations checked against a naive model (std HashMap + full re-aggregation).
    #[test]
    fn matches_naive_model_under_random_operations() {
        // A 64-tick ladder over a 80-tick price range: the windows must move (both ways).
        let mut b = MboBook::new(MboConfig { tick: T, ladder_ticks: 64, max_orders: 512 });
        let mut model: HashMap<u64, (Side, Px, u32)> = HashMap::new();
        let mut rng = 0x1234_5678_9abc_def0_u64;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let mut published: [[Level; DEPTH]; 2] = [[Level::EMPTY; DEPTH]; 2];
        for step in 0..20_000 {
            let r = next();
            let id = r % 300;
            let side = if (r >> 20) & 1 == 0 { Side::Bid } else { Side::Ask };
            let off = ((r >> 24) % 40) as i64;
            let price = if side == Side::Bid { px(4000.0) - off * T } else { px(4000.25) + off * T };
            let size = 1 + ((r >> 40) % 20) as u32;
            match (r >> 50) % 4 {
                0 | 1 => {
                    if let std::collections::hash_map::Entry::Vacant(v) = model.entry(id) {
                        b.add(id, side, price, size);
                        v.insert((side, price, size));
                    }
                }
                2 => {
                    b.cancel(id, size);
                    if let Some(o) = model.get_mut(&id) {
                        if size >= o.2 {
                            model.remove(&id);
                        } else {
                            o.2 -= size;
                        }
                    }
                }
                _ => {
                    b.modify(id, side, price, size);
                    model.insert(id, (side, price, size));
                }
            }
            b.diff_top(|s, d, l| published[(s == Side::Ask) as usize][d as usize] = l);
            if step % 97 == 0 || step > 19_900 {
                for (si, side) in [Side::Bid, Side::Ask].into_iter().enumerate() {
                    let mut agg: Vec<(Px, u32, u32)> = Vec::new();
                    for &(s, p, q) in model.values() {
                        if s != side {
                            continue;
                        }
                        match agg.iter_mut().find(|a| a.0 == p) {
                            Some(a) => {
                                a.1 += q;
                                a.2 += 1;
                            }
                            None => agg.push((p, q, 1)),
                        }
                    }
                    agg.sort_by_key(|a| if side == Side::Bid { -a.0 } else { a.0 });
                    for (d, got) in published[si].iter().enumerate() {
                        let want = agg
                            .get(d)
                            .map(|a| Level { price: a.0, size: a.1, count: a.2 })
                            .unwrap_or(Level::EMPTY);
                        assert_eq!(b.level(side, d), want, "step {step} side {side:?} depth {d}");
                        assert_eq!(*got, want, "published, step {step} depth {d}");
                    }
                }
                assert_eq!(b.order_count(), model.len());
            }
        }
        assert_eq!(b.stats().ladder_overflow + b.stats().order_overflow + b.stats().invalid, 0);
        assert!(b.stats().recenters > 0);
    }
}
