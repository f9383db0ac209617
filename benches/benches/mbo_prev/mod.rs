//! The MBO decode as of commit `c77d9f4` (the state before the third optimisation pass of
//! issue 9), frozen: `MboBook` (run-hashed order map, array ladder, incremental top-10 view
//! of scores) and `MboNormalizer::normalize`, copied from `core/model/src/book/mbo.rs` and
//! `feeds/src/normalize.rs` without their tests. It is the one bench-only reference kept so
//! that `benches/benches/mbo.rs` (rows `*_prev`) and `feeds/examples/mbo_profile.rs`
//! (variant `prev`) time the previous implementation in the same run as the current one, and
//! check that both write the same events. Do not use it elsewhere; do not optimise it.

// A verbatim copy: items the bench does not call stay as they were.
#![allow(dead_code, unused_imports, missing_docs, clippy::all)]

use dbn::MboMsg;
use mia_feeds::normalize::{side_from_dbn, EventBuf};
use mia_model::book::mbo::{MboAction, MboConfig, MboStats};
use mia_model::book::{Level, DEPTH};
use mia_model::contract::ContractSpec;
use mia_model::event::{flags, Event, EventKind, Side};
use mia_model::price::{Px, UNDEF_PX};

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
    shift: u32,
    /// [`RUN_BITS`], or 0 for the reference per-id hash ([`MboBook::new_per_id_hash`]).
    run_bits: u32,
    len: usize,
    max: usize,
    /// Number of stored orders not in their home slot. While it is 0 no probe run has a
    /// member that a removal could shift back, so [`Self::remove_at`] only vacates the slot.
    displaced: usize,
}

impl OrderMap {
    /// A map for `max_orders` orders hashing runs of `2^run_bits` consecutive ids together.
    fn new(max_orders: usize, run_bits: u32) -> Self {
        let max = max_orders.max(1);
        let cap = max.saturating_mul(2).next_power_of_two().max(2 << run_bits);
        let hashed_bits = cap.trailing_zeros() - run_bits;
        Self {
            slots: vec![Order::default(); cap].into_boxed_slice(),
            mask: cap - 1,
            shift: 64 - hashed_bits,
            run_bits,
            len: 0,
            max,
            displaced: 0,
        }
    }

    /// The home slot of `id`.
    #[inline]
    fn home(&self, id: u64) -> usize {
        let run = ((id >> self.run_bits).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> self.shift) as usize;
        (run << self.run_bits) | (id as usize & ((1 << self.run_bits) - 1))
    }

    #[inline]
    fn len(&self) -> usize {
        self.len
    }

    #[inline]
    fn is_full(&self) -> bool {
        self.len >= self.max
    }

    /// `Ok(slot)` holding `id`, or `Err(slot)`: the vacant slot where `id` would go.
    #[inline]
    fn probe(&self, id: u64) -> Result<usize, usize> {
        let mut i = self.home(id);
        loop {
            let s = self.slots[i & self.mask];
            if s.size == 0 {
                return Err(i & self.mask);
            }
            if s.id == id {
                return Ok(i & self.mask);
            }
            i = (i & self.mask) + 1;
        }
    }

    /// The slot holding `id`.
    #[inline]
    fn find(&self, id: u64) -> Option<usize> {
        self.probe(id).ok()
    }

    /// Stores `o` in the vacant slot `i` that [`Self::probe`] returned for `o.id` (no change
    /// to the map since). The caller checked [`Self::is_full`].
    #[inline]
    fn insert_at(&mut self, i: usize, o: Order) {
        debug_assert!(self.slots[i].size == 0 && !self.is_full());
        self.displaced += usize::from(i != self.home(o.id));
        self.slots[i] = o;
        self.len += 1;
    }

    /// Removes the order at slot `i`, shifting later members of its probe run back (only
    /// displaced orders can move, so with none in the map there is nothing to scan).
    #[inline]
    fn remove_at(&mut self, i: usize) {
        self.displaced -= usize::from(i != self.home(self.slots[i].id));
        self.len -= 1;
        if self.displaced == 0 {
            self.slots[i] = Order::default();
            return;
        }
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

    fn clear(&mut self) {
        if self.len > 0 {
            self.slots.fill(Order::default());
            self.len = 0;
            self.displaced = 0;
        }
    }
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

    /// Adds one order of `qty` at `slot`.
    #[inline]
    fn add_order(&mut self, slot: usize, qty: u32) {
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
    }

    /// True when `slot` holds no order.
    #[inline]
    fn is_empty_at(&self, slot: usize) -> bool {
        self.cells[slot].count == 0
    }

    /// Removes one order of `qty` from `slot`.
    #[inline]
    fn remove_order(&mut self, slot: usize, qty: u32) {
        let c = &mut self.cells[slot];
        if c.count == 0 {
            return;
        }
        c.count -= 1;
        c.size = c.size.saturating_sub(u64::from(qty));
        if c.count == 0 {
            c.size = 0;
            self.bits[slot / 64] &= !(1 << (slot % 64));
            self.levels -= 1;
            if slot == self.best {
                self.best = self.next_below(slot).unwrap_or(0);
            }
        }
    }

    /// Changes the size of one order at `slot` from `old` to `new` (both > 0).
    #[inline]
    fn resize_order(&mut self, slot: usize, old: u32, new: u32) {
        let c = &mut self.cells[slot];
        c.size = (c.size + u64::from(new)).saturating_sub(u64::from(old));
    }

    /// The slot of an order already in the ladder (its score was placed by this ladder).
    #[inline]
    fn slot_of(&self, score: i64) -> Option<usize> {
        let off = score.wrapping_sub(self.base);
        (off >= 0 && (off as u64) < self.n() as u64).then_some(off as usize)
    }

    #[inline]
    fn level_at(&self, slot: usize, tick: Px) -> Level {
        Level {
            price: (self.base + slot as i64) * self.sign * tick,
            size: self.cells[slot].size.min(u64::from(u32::MAX)) as u32,
            count: self.cells[slot].count,
        }
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
    /// The current top-`DEPTH` view, kept incrementally (not in rescan mode).
    view: [TopView; 2],
    /// Reference mode: recompute the view by walking the ladder at each diff.
    rescan: bool,
    /// Score of the deepest published level when the view is full, else `i64::MIN`: a change
    /// strictly worse than it cannot alter the view.
    floor: [i64; 2],
    dirty: [bool; 2],
    stats: MboStats,
}

/// One side's current top-[`DEPTH`] levels as ladder scores, best first, and the depths changed
/// since the last diff. Scores are kept as `i32` (they are within ±[`MAX_TICKS`]), so the
/// searches compare four to a 128-bit register. Entries at `len..` are `i32::MIN` (no order has
/// that score), so searches run over the whole fixed-size array without a length bound and
/// without a data-dependent branch. The levels themselves are read from the ladder when the
/// view is diffed.
#[derive(Clone, Copy, Debug)]
struct TopView {
    score: [i32; DEPTH],
    len: usize,
    /// Bit `d`: depth `d` may differ from the published view.
    changed: u32,
}

impl TopView {
    const EMPTY: Self = Self { score: [i32::MIN; DEPTH], len: 0, changed: 0 };

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

    /// Inserts `score` at depth `d`, shifting the deeper entries down one (the last one falls
    /// out). Fixed trip count and selects: no call, no data-dependent branch.
    #[inline]
    fn insert(&mut self, d: usize, score: i32) {
        let old = self.score;
        for (k, x) in self.score.iter_mut().enumerate() {
            let prev = old[k.saturating_sub(1)];
            *x = if k < d {
                old[k]
            } else if k == d {
                score
            } else {
                prev
            };
        }
    }

    /// Removes depth `d`, shifting the deeper entries up one and putting `last` at the bottom.
    #[inline]
    fn remove(&mut self, d: usize, last: i32) {
        let old = self.score;
        for (k, x) in self.score.iter_mut().enumerate() {
            let next = if k + 1 < DEPTH { old[k + 1] } else { last };
            *x = if k < d { old[k] } else { next };
        }
    }

    /// Marks depths `from..to` changed (`to <= DEPTH`; nothing when `to <= from`).
    #[inline]
    fn mark(&mut self, from: usize, to: usize) {
        self.changed |= ((1u32 << to) - 1) & !((1u32 << from) - 1);
    }
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
            floor: [i64::MIN; 2],
            dirty: [false; 2],
            stats: MboStats::default(),
        }
    }

    /// The book in the reference mode: [`MboBook::diff_top`] recomputes the top-[`DEPTH`] view
    /// of each touched side by walking the ladder (the algorithm before the incremental view;
    /// same output, slower). For equivalence tests and the benchmark.
    pub fn new_rescan(cfg: MboConfig) -> Self {
        Self { rescan: true, ..Self::new(cfg) }
    }

    /// The book with the former order-map hash: each id placed by Fibonacci hashing on its
    /// own, so consecutive ids land on unrelated cache lines (same output, slower on
    /// sequential ids). For the benchmark's before/after.
    pub fn new_per_id_hash(cfg: MboConfig) -> Self {
        Self { orders: OrderMap::new(cfg.max_orders, 0), ..Self::new(cfg) }
    }

    /// The level of `score` on `side` changed size or order count and is still there. A
    /// level below a full view touches nothing: its rank is [`DEPTH`], the mark is empty.
    #[inline]
    fn level_changed(&mut self, side: usize, score: i64) {
        if self.rescan {
            return self.touch(side, score);
        }
        let v = &mut self.view[side];
        let s = score as i32;
        let d = v.rank(s);
        // The ladder holds the level, so a rank below DEPTH is its depth; the compare keeps
        // the mark exact even so. No branch: the bit is 0 when the level is not visible.
        let hit = d < DEPTH && v.score[d.min(DEPTH - 1)] == s;
        v.changed |= u32::from(hit) << d;
    }

    /// A level appeared at `score` on `side` (its first order).
    #[inline]
    fn level_added(&mut self, side: usize, score: i64) {
        if self.rescan {
            return self.touch(side, score);
        }
        let v = &mut self.view[side];
        let s = score as i32;
        // The entries past `len` are `i32::MIN`, below any score.
        let d = v.rank(s);
        if d >= DEPTH {
            return;
        }
        v.insert(d, s);
        v.len = (v.len + 1).min(DEPTH);
        let len = v.len;
        v.mark(d, len);
    }

    /// The level of `score` on `side` vanished (its last order left; the ladder is updated).
    #[inline]
    fn level_removed(&mut self, side: usize, score: i64) {
        if self.rescan {
            return self.touch(side, score);
        }
        let Some(d) = self.view[side].find(score as i32) else { return };
        let old_len = self.view[side].len;
        // The level that enters the view at the bottom when it was full: the next one below
        // the deepest (the removed level is already gone from the ladder).
        let refill = if old_len == DEPTH {
            let l = &self.ladders[side];
            l.slot_of(i64::from(self.view[side].score[DEPTH - 1]))
                .and_then(|s| l.next_below(s))
                .map(|s| (l.base + s as i64) as i32)
        } else {
            None
        };
        let v = &mut self.view[side];
        v.remove(d, refill.unwrap_or(i32::MIN));
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

    #[inline]
    fn touch(&mut self, side: usize, score: i64) {
        if score >= self.floor[side] {
            self.dirty[side] = true;
        }
    }

    /// Places a new order (id known to be absent); counts and drops it when it cannot fit.
    #[inline]
    fn place(&mut self, order_id: u64, side: usize, score: i64, size: u32) {
        debug_assert!(self.orders.find(order_id).is_none());
        let (Ok(at) | Err(at)) = self.orders.probe(order_id);
        self.place_at(at, order_id, side, score, size);
    }

    /// Places a new order in map slot `at`, the vacant slot a probe for `order_id` returned.
    #[inline]
    fn place_at(&mut self, at: usize, order_id: u64, side: usize, score: i64, size: u32) {
        if self.orders.is_full() {
            self.stats.order_overflow += 1;
            return;
        }
        let Some(slot) = self.ladders[side].slot_or_recenter(score, &mut self.stats) else {
            self.stats.ladder_overflow += 1;
            return;
        };
        self.orders.insert_at(at, Order::new(order_id, side, score, size));
        let new_level = self.ladders[side].is_empty_at(slot);
        self.ladders[side].add_order(slot, size);
        if new_level {
            self.level_added(side, score);
        } else {
            self.level_changed(side, score);
        }
    }

    /// Removes the order in map slot `i` from its level and from the map.
    #[inline]
    fn unplace(&mut self, i: usize) {
        let o = self.orders[i];
        let (side, score) = (o.side(), o.score());
        self.orders.remove_at(i);
        let Some(slot) = self.ladders[side].slot_of(score) else { return };
        if self.ladders[side].is_empty_at(slot) {
            return;
        }
        self.ladders[side].remove_order(slot, o.size);
        if self.ladders[side].is_empty_at(slot) {
            self.level_removed(side, score);
        } else {
            self.level_changed(side, score);
        }
    }

    /// `A`: adds a resting order. A duplicate id is counted and replaces the old order.
    #[inline]
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
        match self.orders.probe(order_id) {
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
        let Some(i) = self.orders.find(order_id) else {
            self.stats.unknown_order += 1;
            return;
        };
        let o = self.orders[i];
        if size >= o.size {
            self.unplace(i);
            return;
        }
        let (side, score) = (o.side(), o.score());
        let rest = o.size - size;
        self.orders[i].size = rest;
        if let Some(slot) = self.ladders[side].slot_of(score) {
            self.ladders[side].resize_order(slot, o.size, rest);
            self.level_changed(side, score);
        }
    }

    /// `M`: sets an order's side, price and size (a size of 0 removes it). An unknown id is
    /// counted, then added (Databento's reference behaviour).
    #[inline]
    pub fn modify(&mut self, order_id: u64, side: Side, price: Px, size: u32) {
        let Some(i) = self.orders.find(order_id) else {
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
        let o = self.orders[i];
        if o.side() == s && o.score() == score {
            self.orders[i].size = size;
            if let Some(slot) = self.ladders[s].slot_of(score) {
                self.ladders[s].resize_order(slot, o.size, size);
                self.level_changed(s, score);
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
        self.floor = [i64::MIN; 2];
        self.dirty = [false; 2];
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
    /// the depths the records since the last call touched are compared (in rescan mode: the
    /// whole view of each touched side, recomputed from the ladder).
    #[inline]
    pub fn diff_top(&mut self, mut emit: impl FnMut(Side, u8, Level)) {
        if self.rescan {
            return self.diff_top_rescan(emit);
        }
        for (s, side) in SIDES.into_iter().enumerate() {
            let v = &mut self.view[s];
            let mut m = v.changed;
            v.changed = 0;
            let l = &self.ladders[s];
            while m != 0 {
                let d = m.trailing_zeros() as usize;
                m &= m - 1;
                let cur = match l.slot_of(i64::from(v.score[d])) {
                    Some(slot) if d < v.len => l.level_at(slot, self.tick),
                    _ => Level::EMPTY,
                };
                let p = &mut self.published[s][d];
                if cur != *p {
                    *p = cur;
                    emit(side, d as u8, cur);
                }
            }
        }
    }

    /// [`Self::diff_top`] of the reference mode: walks the ladder of each touched side.
    #[inline]
    fn diff_top_rescan(&mut self, mut emit: impl FnMut(Side, u8, Level)) {
        for (s, side) in SIDES.into_iter().enumerate() {
            if !self.dirty[s] {
                continue;
            }
            self.dirty[s] = false;
            let mut cur = [Level::EMPTY; DEPTH];
            self.floor[s] = self.ladders[s].top(self.tick, &mut cur);
            for (d, (c, p)) in cur.iter().zip(self.published[s].iter_mut()).enumerate() {
                if c != p {
                    *p = *c;
                    emit(side, d as u8, *c);
                }
            }
        }
    }
}

/// Tracks whether an exchange event is open (events sent without `LAST`).
#[derive(Clone, Copy, Debug, Default)]
struct LastTracker {
    open: bool,
}

/// MBO normalizer: applies each record to an [`MboBook`] and emits, first, the raw record as an
/// [`EventKind::Mbo`] event ([`Event::mbo`]: action, side, order id, price, size; never `LAST`;
/// the venue's L3 FIFO queue model reads it, the book and the signal side skip it), then
/// `Level` events for the top-10 levels that changed (`T` → `Trade`, `R` → `Clear`, `F` and
/// `N` → nothing; `F` and `T` never change the book). Events derived from an MBO record carry
/// its `order_id`. The `LAST` rule applies to the derived events only: a record with `LAST`
/// whose only event is its `Mbo` event closes an open exchange event with a `Status`, as a
/// record with no event did before. A record with an unknown action sends no `Mbo` event.
pub struct MboNormalizer {
    book: MboBook,
    last: LastTracker,
    unknown_actions: u64,
}

impl MboNormalizer {
    /// A normalizer whose book is sized by `cfg` (all allocation happens here).
    pub fn new(cfg: MboConfig) -> Self {
        Self::with_book(MboBook::new(cfg))
    }

    /// A normalizer over a given (empty) book, e.g. [`MboBook::new_rescan`] (the reference
    /// top-10 algorithm, for the benchmark's before/after).
    pub fn with_book(book: MboBook) -> Self {
        Self { book, last: LastTracker::default(), unknown_actions: 0 }
    }

    /// The underlying order book.
    pub fn book(&self) -> &MboBook {
        &self.book
    }

    /// The book's error counters.
    pub fn stats(&self) -> &MboStats {
        self.book.stats()
    }

    /// Records whose action character is not a known MBO action (ignored).
    pub fn unknown_actions(&self) -> u64 {
        self.unknown_actions
    }

    /// Clears `out` and writes the events of one MBO record.
    ///
    /// Per record: one table load decodes the action byte ([`MboAction::from_dbn`]), one
    /// `match` dispatches it; the `Mbo` event is built once as a whole value and every derived
    /// event is that value with its own kind and level fields (no per-event stamping); the
    /// `LAST` rule is a few selects and one rare branch (the closing `Status`).
    #[inline]
    pub fn normalize(&mut self, rec: &MboMsg, out: &mut EventBuf) {
        out.clear();
        let fl = rec.flags.raw();
        let Some(action) = MboAction::from_dbn(rec.action as u8) else {
            // No `Mbo` event, no book change (the view was diffed after the previous record).
            self.unknown_actions += 1;
            self.last_rule(fl, rec, out);
            return;
        };
        let raw = Event {
            ts_event: rec.hd.ts_event,
            ts_recv: rec.ts_recv,
            seq: 0,
            price: rec.price,
            order_id: rec.order_id,
            size: rec.size,
            count: 0,
            instrument_id: rec.hd.instrument_id,
            kind: EventKind::Mbo,
            side: side_from_dbn(rec.side),
            depth: rec.action as u8,
            flags: fl & !flags::LAST,
        };
        out.push(raw);
        match action {
            MboAction::Add => self.book.add(rec.order_id, raw.side, rec.price, rec.size),
            MboAction::Cancel => self.book.cancel(rec.order_id, rec.size),
            MboAction::Modify => self.book.modify(rec.order_id, raw.side, rec.price, rec.size),
            MboAction::Trade => {
                out.push(Event { kind: EventKind::Trade, depth: 0, ..raw });
            }
            MboAction::Clear => {
                self.book.clear();
                out.push(Event {
                    kind: EventKind::Clear,
                    side: Side::None,
                    depth: 0,
                    price: 0,
                    size: 0,
                    ..raw
                });
            }
            MboAction::Fill | MboAction::None => {}
        }
        self.book.diff_top(|side, depth, l| {
            out.push(Event {
                kind: EventKind::Level,
                side,
                depth,
                price: l.price,
                size: l.size,
                count: l.count,
                ..raw
            });
        });
        self.last_rule(fl, rec, out);
    }

    /// The `LAST` rule on the events of one MBO record (all of `out`; a leading `Mbo` event
    /// never carries `LAST`): the last derived event gets the record's flags; with no derived
    /// event, a record with `LAST` closes an open exchange event with a `Status`.
    #[inline]
    fn last_rule(&mut self, fl: u8, rec: &MboMsg, out: &mut EventBuf) {
        let n = out.len();
        let last = fl & flags::LAST != 0;
        let derived = n > 1;
        if let Some(e) = out.as_mut_slice().last_mut() {
            e.flags |= if derived { fl & flags::LAST } else { 0 };
        }
        let close = !derived && last && self.last.open;
        self.last.open = if derived { !last } else { self.last.open && !last };
        if close {
            out.push(Event {
                ts_event: rec.hd.ts_event,
                ts_recv: rec.ts_recv,
                instrument_id: rec.hd.instrument_id,
                kind: EventKind::Status,
                flags: fl,
                ..Event::default()
            });
        }
    }
}
