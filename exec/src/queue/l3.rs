//! L3 FIFO queue position from market-by-order (MBO) records.
//!
//! [`L3Queue`] keeps every market order of the MBO stream in a preallocated open-addressing map
//! (order id → side, price, size, *priority stamp*) and the simulated ("own") resting orders in
//! a fixed table of [`L3_OWN_CAP`] slots. A stamp is a counter taken when an order gains time
//! priority, so "order X is ahead of own order O" is `X.side = O.side ∧ X.price = O.price ∧
//! X.stamp < O.stamp`.
//!
//! An own order's position `ahead` is the sum of the sizes of the market orders ahead of it at
//! its price in time priority:
//!
//! - **join**: `ahead` = the market's size at the price (every resting order is older), read
//!   from the queue's own full-depth aggregate of the same stream (an [`MboBook`]), so the
//!   position is known at any depth;
//! - **add** (`A`): a new order joins the back, behind every own order: no change;
//! - **cancel** (`C`) of `c` contracts of an order ahead: `ahead −= c`;
//! - **modify** (`M`) of an order ahead: a price change or a size increase loses priority (the
//!   order leaves the queue ahead: `ahead −= old size`, and rejoins at the back of its new
//!   price); a size decrease keeps priority (`ahead −= old − new`). This is CME's rule and the
//!   one hftbacktest's exchange applies to its own orders;
//! - **trade** (`T`) of `q` at the price (aggressor on the other side): it consumes from the
//!   front, so `take = min(q, ahead)` leaves the queue ahead. The own orders at the price are
//!   in the same FIFO (by stamp): own order `i` fills `clamp(q − ahead_i − R_i, 0,
//!   remaining_i)`, where `R_i` is what the own orders older than it had left before the
//!   print (partial fills; one print is never given twice). The project's MBO convention (see
//!   [`mia_model::book::mbo`]) sends the book change of a trade as the *cancels* that follow it,
//!   so `take` is also kept as a credit that those cancels of orders ahead use up before they
//!   reduce `ahead` again (no double count). [`L3Queue::trade_at`] is this step with a cap on
//!   the own fills (a venue that has already given part of the print to orders it traded
//!   through passes what is left);
//! - a trade **through** the price fills everything that remains ([`L3Queue::on_mbo`]; the
//!   simulated venue applies its own capped rule instead, see `sim.rs`);
//! - **fill** (`F`) and **none** (`N`) change nothing (the cancels that follow do);
//! - **clear** (`R`): queue positions cannot survive a book reset, so every own order is
//!   expired, as hftbacktest's L3 model does (`clear_orders`).
//!
//! An own order's `ahead` counts market orders only; the own orders older than it at its price
//! are ahead of it too, and a print reaches them first (the `R_i` term above). Each event costs
//! O(1) map work plus one pass over the active own orders (at most [`L3_OWN_CAP`]; a print at
//! a price with several own orders takes one pass per own order there); nothing allocates
//! after [`L3Queue::new`].
//!
//! Reference: hftbacktest's `L3FIFOQueueModel`
//! (<https://github.com/nkaz001/hftbacktest>, `hftbacktest/src/backtest/models/queue.rs`),
//! which keeps explicit per-level FIFO queues; this module keeps stamps instead, so it needs no
//! per-level containers.

use mia_model::book::mbo::{MboAction, MboBook, MboConfig};
use mia_model::event::Side;
use mia_model::id_map::{IdEntry, IdMap};
use mia_model::msg::OrderSide;
use mia_model::price::Px;

/// Capacity of the own-order table.
pub const L3_OWN_CAP: usize = 64;

/// What an MBO record did to an own order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum L3Event {
    /// A fill of `qty` at the own order's price; `remaining` is what is left after it.
    Fill {
        /// The own order.
        client_order_id: u64,
        /// Fill price (the order's limit price).
        price: Px,
        /// Contracts filled.
        qty: u32,
        /// Contracts left (0: the order is done and removed).
        remaining: u32,
    },
    /// The order was removed without a fill (book clear).
    Expired {
        /// The own order.
        client_order_id: u64,
        /// Contracts that were still open.
        remaining: u32,
    },
}

/// Why [`L3Queue::join`] refused an order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JoinError {
    /// Quantity zero.
    ZeroQty,
    /// An own order with this id is resting.
    DuplicateId,
    /// The own-order table is full ([`L3_OWN_CAP`]).
    TableFull,
}

/// Counters of inconsistent input (nothing panics).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct L3Stats {
    /// Cancel of an order id that is not in the map.
    pub unknown_order: u64,
    /// Add of an id already present (the old order is replaced).
    pub duplicate_add: u64,
    /// Orders dropped because the map was full.
    pub order_overflow: u64,
    /// Records with no side where one is needed, or a zero size on add.
    pub invalid: u64,
}

#[derive(Clone, Copy, Debug, Default)]
struct MarketOrder {
    id: u64,
    price: Px,
    stamp: u64,
    size: u32,
    /// 0 empty, 1 bid, 2 ask.
    side: u8,
}

#[derive(Clone, Copy, Debug, Default)]
struct OwnOrder {
    client_order_id: u64,
    price: Px,
    stamp: u64,
    ahead: u64,
    /// Contracts taken from the queue ahead by trades whose cancels have not arrived yet.
    credit: u64,
    remaining: u32,
    /// 0 empty, 1 bid, 2 ask (the book side the order rests on).
    side: u8,
}

fn side_code(s: Side) -> u8 {
    match s {
        Side::Bid => 1,
        Side::Ask => 2,
        Side::None => 0,
    }
}

impl IdEntry for MarketOrder {
    #[inline]
    fn id(&self) -> u64 {
        self.id
    }
    #[inline]
    fn is_vacant(&self) -> bool {
        self.side == 0
    }
}

/// L3 FIFO queue positions of simulated resting orders (see the module docs).
#[derive(Clone)]
pub struct L3Queue {
    orders: IdMap<MarketOrder>,
    /// Full-depth L2 aggregate of the same records: the size at a price when an own order joins.
    book: MboBook,
    own: [OwnOrder; L3_OWN_CAP],
    own_len: usize,
    next_stamp: u64,
    stats: L3Stats,
}

impl std::fmt::Debug for L3Queue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("L3Queue")
            .field("market_orders", &self.orders.len())
            .field("own_orders", &self.own_len)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl L3Queue {
    /// A queue tracker for the instrument and sizes of `cfg` (its tick, ladder width and
    /// `max_orders` market orders); everything is allocated here, once.
    pub fn new(cfg: MboConfig) -> Self {
        Self {
            orders: IdMap::new(cfg.max_orders),
            book: MboBook::new(cfg),
            own: [OwnOrder::default(); L3_OWN_CAP],
            own_len: 0,
            next_stamp: 1,
            stats: L3Stats::default(),
        }
    }

    /// The market's size resting at `price` on `side` (any depth), from the records so far.
    #[inline]
    pub fn level_qty(&self, side: Side, price: Px) -> u64 {
        self.book.size_at(side, price)
    }

    /// Input counters.
    pub fn stats(&self) -> &L3Stats {
        &self.stats
    }

    /// Market orders in the map.
    pub fn market_orders(&self) -> usize {
        self.orders.len()
    }

    /// Resting own orders.
    pub fn own_orders(&self) -> usize {
        self.own_len
    }

    #[inline]
    fn stamp(&mut self) -> u64 {
        let s = self.next_stamp;
        self.next_stamp += 1;
        s
    }

    /// An own order joins the back of the queue at `price`: the market's whole size there
    /// ([`Self::level_qty`]) is ahead of it.
    ///
    /// # Errors
    /// [`JoinError`] for a zero quantity, a duplicate id or a full table.
    pub fn join(
        &mut self,
        client_order_id: u64,
        side: OrderSide,
        price: Px,
        qty: u32,
    ) -> Result<(), JoinError> {
        let book_side = match side {
            OrderSide::Buy => Side::Bid,
            OrderSide::Sell => Side::Ask,
        };
        let level_qty = self.level_qty(book_side, price);
        if qty == 0 {
            return Err(JoinError::ZeroQty);
        }
        if self.slot_of(client_order_id).is_some() {
            return Err(JoinError::DuplicateId);
        }
        let Some(free) = self.own.iter().position(|o| o.side == 0) else {
            return Err(JoinError::TableFull);
        };
        let stamp = self.stamp();
        self.own[free] = OwnOrder {
            client_order_id,
            price,
            stamp,
            ahead: level_qty,
            credit: 0,
            remaining: qty,
            side: match side {
                OrderSide::Buy => 1,
                OrderSide::Sell => 2,
            },
        };
        self.own_len += 1;
        Ok(())
    }

    fn slot_of(&self, client_order_id: u64) -> Option<usize> {
        self.own.iter().position(|o| o.side != 0 && o.client_order_id == client_order_id)
    }

    /// Sets the contracts of a resting own order not filled yet (a venue that filled it by
    /// another rule, or a size decrease, which keeps priority); 0 removes it. False if it is
    /// not resting.
    pub fn set_remaining(&mut self, client_order_id: u64, remaining: u32) -> bool {
        match self.slot_of(client_order_id) {
            Some(_) if remaining == 0 => self.cancel_own(client_order_id),
            Some(i) => {
                self.own[i].remaining = remaining;
                true
            }
            None => false,
        }
    }

    /// Removes an own order; false if it is not resting.
    pub fn cancel_own(&mut self, client_order_id: u64) -> bool {
        match self.slot_of(client_order_id) {
            Some(i) => {
                self.own[i] = OwnOrder::default();
                self.own_len -= 1;
                true
            }
            None => false,
        }
    }

    /// Contracts ahead of an own order, `None` if it is not resting.
    pub fn ahead(&self, client_order_id: u64) -> Option<u64> {
        self.slot_of(client_order_id).map(|i| self.own[i].ahead)
    }

    /// Contracts of an own order not filled yet, `None` if it is not resting.
    pub fn remaining(&self, client_order_id: u64) -> Option<u32> {
        self.slot_of(client_order_id).map(|i| self.own[i].remaining)
    }

    /// `c` contracts of a market order with priority `stamp` at (`side`, `price`) left the
    /// book (cancel, modify): own orders behind it move up.
    fn remove_ahead(&mut self, side: u8, price: Px, stamp: u64, c: u64) {
        if self.own_len == 0 || c == 0 {
            return;
        }
        for o in self.own.iter_mut().filter(|o| o.side == side && o.price == price && stamp < o.stamp) {
            let absorbed = c.min(o.credit);
            o.credit -= absorbed;
            o.ahead = o.ahead.saturating_sub(c - absorbed);
        }
    }

    /// Applies one MBO record (Databento action semantics, as [`mia_model::book::mbo::MboBook`]
    /// reads them) and reports what it did to own orders through `emit`.
    pub fn on_mbo(
        &mut self,
        action: MboAction,
        side: Side,
        order_id: u64,
        price: Px,
        size: u32,
        mut emit: impl FnMut(L3Event),
    ) {
        self.book.apply(action, side, order_id, price, size);
        match action {
            MboAction::Add => self.add(order_id, side, price, size),
            MboAction::Cancel => self.cancel(order_id, size),
            MboAction::Modify => self.modify(order_id, side, price, size),
            MboAction::Clear => {
                self.orders.clear();
                for o in self.own.iter_mut().filter(|o| o.side != 0) {
                    emit(L3Event::Expired { client_order_id: o.client_order_id, remaining: o.remaining });
                    *o = OwnOrder::default();
                }
                self.own_len = 0;
            }
            MboAction::Trade => {
                self.trade_through(side, price, &mut emit);
                self.trade_at(side, price, size, size, emit);
            }
            MboAction::Fill | MboAction::None => {}
        }
    }

    fn add(&mut self, order_id: u64, side: Side, price: Px, size: u32) {
        let code = side_code(side);
        if code == 0 || size == 0 {
            self.stats.invalid += 1;
            return;
        }
        if let Some(i) = self.orders.find(order_id) {
            self.stats.duplicate_add += 1;
            let old = self.orders[i];
            self.orders.remove_at(i);
            self.remove_ahead(old.side, old.price, old.stamp, u64::from(old.size));
        }
        let stamp = self.stamp();
        if !self.orders.insert_new(MarketOrder { id: order_id, price, stamp, size, side: code }) {
            self.stats.order_overflow += 1;
        }
    }

    fn cancel(&mut self, order_id: u64, size: u32) {
        let Some(i) = self.orders.find(order_id) else {
            self.stats.unknown_order += 1;
            return;
        };
        let o = self.orders[i];
        let c = size.min(o.size);
        if c >= o.size {
            self.orders.remove_at(i);
        } else {
            self.orders[i].size -= c;
        }
        self.remove_ahead(o.side, o.price, o.stamp, u64::from(c));
    }

    fn modify(&mut self, order_id: u64, side: Side, price: Px, size: u32) {
        let Some(i) = self.orders.find(order_id) else {
            // As Databento's reference book: an unknown id on modify is an add.
            self.stats.unknown_order += 1;
            self.add(order_id, side, price, size);
            return;
        };
        let old = self.orders[i];
        if size == 0 {
            self.orders.remove_at(i);
            self.remove_ahead(old.side, old.price, old.stamp, u64::from(old.size));
            return;
        }
        let new_side = match side_code(side) {
            0 => old.side,
            s => s,
        };
        if new_side != old.side || price != old.price || size > old.size {
            // Loses priority: leaves the queue and rejoins at the back.
            self.remove_ahead(old.side, old.price, old.stamp, u64::from(old.size));
            let stamp = self.stamp();
            self.orders[i] = MarketOrder { id: order_id, price, stamp, size, side: new_side };
        } else {
            self.remove_ahead(old.side, old.price, old.stamp, u64::from(old.size - size));
            self.orders[i].size = size;
        }
    }

    /// A print with `aggressor` at `price` reaches the own orders resting on the other side.
    #[inline]
    fn reached(o: &OwnOrder, aggr: u8) -> bool {
        // A resting bid (1) is hit by sell aggressors (2), a resting ask by buyers; an unknown
        // aggressor (0) reaches both.
        o.side != 0 && aggr != o.side
    }

    /// A print **through** the price of own orders (below a resting buy, above a resting sell)
    /// fills everything they have left.
    fn trade_through(&mut self, aggressor: Side, price: Px, emit: &mut impl FnMut(L3Event)) {
        if self.own_len == 0 {
            return;
        }
        let aggr = side_code(aggressor);
        let mut freed = 0;
        for o in self.own.iter_mut() {
            if !Self::reached(o, aggr) {
                continue;
            }
            let through = if o.side == 1 { price < o.price } else { price > o.price };
            if !through {
                continue;
            }
            o.ahead = 0;
            let qty = o.remaining;
            o.remaining = 0;
            emit(L3Event::Fill { client_order_id: o.client_order_id, price: o.price, qty, remaining: 0 });
            *o = OwnOrder::default();
            freed += 1;
        }
        self.own_len -= freed;
    }

    /// A print of `size` at `price` with `aggressor`: it consumes the queue ahead of the own
    /// orders resting at `price` on the other side and fills them in FIFO order (own order `i`:
    /// `clamp(size − ahead_i − R_i, 0, remaining_i)`, `R_i` = what the older own orders there
    /// had left before the print), giving them `avail` contracts at most in all. The print's
    /// own record is not applied to the book (a trade never changes it: the cancels that
    /// follow do). Fills go to `emit` in FIFO order.
    pub fn trade_at(
        &mut self,
        aggressor: Side,
        price: Px,
        size: u32,
        avail: u32,
        mut emit: impl FnMut(L3Event),
    ) {
        if self.own_len == 0 || size == 0 {
            return;
        }
        let aggr = side_code(aggressor);
        let q = u64::from(size);
        let mut budget = u64::from(avail);
        // Own orders older than the current one at this price: their remaining before the print.
        let mut older: u64 = 0;
        let mut last_stamp = 0u64;
        let mut freed = 0;
        loop {
            // The next own order at the price, in stamp (time priority) order.
            let mut pick: Option<usize> = None;
            for (i, o) in self.own.iter().enumerate() {
                if !Self::reached(o, aggr) || o.price != price || o.stamp <= last_stamp {
                    continue;
                }
                if pick.is_none_or(|p| o.stamp < self.own[p].stamp) {
                    pick = Some(i);
                }
            }
            let Some(i) = pick else { break };
            let o = &mut self.own[i];
            last_stamp = o.stamp;
            let remaining = o.remaining;
            let take = q.min(o.ahead);
            let reach = q.saturating_sub(o.ahead).saturating_sub(older);
            o.ahead -= take;
            o.credit = o.credit.saturating_add(take);
            older = older.saturating_add(u64::from(remaining));
            let qty = reach.min(u64::from(remaining)).min(budget);
            if qty == 0 {
                continue;
            }
            budget -= qty;
            // qty ≤ remaining, a u32.
            let qty = qty as u32;
            o.remaining -= qty;
            emit(L3Event::Fill {
                client_order_id: o.client_order_id,
                price: o.price,
                qty,
                remaining: o.remaining,
            });
            if o.remaining == 0 {
                *o = OwnOrder::default();
                freed += 1;
            }
        }
        self.own_len -= freed;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Px = 250_000_000;
    const P: Px = 5_000 * 1_000_000_000;

    fn queue(max_orders: usize) -> L3Queue {
        L3Queue::new(MboConfig { tick: T, ladder_ticks: 1024, max_orders })
    }

    fn run(q: &mut L3Queue, action: MboAction, side: Side, id: u64, price: Px, size: u32) -> Vec<L3Event> {
        let mut out = Vec::new();
        q.on_mbo(action, side, id, price, size, |e| out.push(e));
        out
    }

    fn fill(id: u64, qty: u32, remaining: u32) -> L3Event {
        L3Event::Fill { client_order_id: id, price: P, qty, remaining }
    }

    /// Bids at P: order 1 (40 lots) then order 2 (60 lots) = 100 lots; own buy 7 joins.
    fn book_with_100_ahead() -> L3Queue {
        let mut q = queue(1024);
        run(&mut q, MboAction::Add, Side::Bid, 1, P, 40);
        run(&mut q, MboAction::Add, Side::Bid, 2, P, 60);
        q.join(77, OrderSide::Buy, P, 7).expect("joins");
        assert_eq!(q.ahead(77), Some(100), "the level's size at the price is ahead");
        q
    }

    #[test]
    fn an_order_behind_100_lots_fills_after_100_lots_trade_at_its_price() {
        let mut q = book_with_100_ahead();
        // Orders joining later are behind: no change.
        run(&mut q, MboAction::Add, Side::Bid, 3, P, 50);
        assert_eq!(q.ahead(77), Some(100));
        // 40 trade (sell aggressor), then the cancel removing the filled order 1.
        assert!(run(&mut q, MboAction::Trade, Side::Ask, 0, P, 40).is_empty());
        assert!(run(&mut q, MboAction::Fill, Side::Bid, 1, P, 40).is_empty());
        assert!(run(&mut q, MboAction::Cancel, Side::Bid, 1, P, 40).is_empty());
        assert_eq!(q.ahead(77), Some(60), "the trade's cancel is not counted twice");
        // 60 more: exactly 100 have traded, the queue ahead is gone, nothing filled yet.
        assert!(run(&mut q, MboAction::Trade, Side::Ask, 0, P, 60).is_empty());
        run(&mut q, MboAction::Cancel, Side::Bid, 2, P, 60);
        assert_eq!(q.ahead(77), Some(0));
        assert_eq!(q.remaining(77), Some(7));
        // The next lots at the price are ours: a partial fill, then the rest.
        assert_eq!(run(&mut q, MboAction::Trade, Side::Ask, 0, P, 3), vec![fill(77, 3, 4)]);
        assert_eq!(run(&mut q, MboAction::Trade, Side::Ask, 0, P, 10), vec![fill(77, 4, 0)]);
        assert_eq!(q.own_orders(), 0);
        assert_eq!(q.ahead(77), None);
    }

    #[test]
    fn one_print_larger_than_the_queue_fills_the_excess() {
        let mut q = book_with_100_ahead();
        assert_eq!(run(&mut q, MboAction::Trade, Side::Ask, 0, P, 103), vec![fill(77, 3, 4)]);
        run(&mut q, MboAction::Cancel, Side::Bid, 1, P, 40);
        run(&mut q, MboAction::Cancel, Side::Bid, 2, P, 60);
        assert_eq!(q.ahead(77), Some(0));
        assert_eq!(q.remaining(77), Some(4));
    }

    #[test]
    fn cancels_ahead_reduce_the_position_cancels_behind_do_not() {
        let mut q = book_with_100_ahead();
        run(&mut q, MboAction::Add, Side::Bid, 3, P, 50);
        run(&mut q, MboAction::Cancel, Side::Bid, 2, P, 25); // partial, ahead
        assert_eq!(q.ahead(77), Some(75));
        run(&mut q, MboAction::Cancel, Side::Bid, 3, P, 50); // behind
        assert_eq!(q.ahead(77), Some(75));
        run(&mut q, MboAction::Cancel, Side::Bid, 1, P, 40); // all of order 1
        assert_eq!(q.ahead(77), Some(35));
        // Other prices and the other side do not matter.
        run(&mut q, MboAction::Add, Side::Bid, 4, P - T, 9);
        run(&mut q, MboAction::Cancel, Side::Bid, 4, P - T, 9);
        run(&mut q, MboAction::Add, Side::Ask, 5, P, 9);
        run(&mut q, MboAction::Cancel, Side::Ask, 5, P, 9);
        assert_eq!(q.ahead(77), Some(35));
        assert_eq!(q.stats().unknown_order, 0);
        run(&mut q, MboAction::Cancel, Side::Bid, 999, P, 1);
        assert_eq!(q.stats().unknown_order, 1);
    }

    #[test]
    fn modifies_keep_or_lose_priority() {
        let mut q = book_with_100_ahead();
        // Size decrease keeps priority: 60 → 50 removes 10 from ahead.
        run(&mut q, MboAction::Modify, Side::Bid, 2, P, 50);
        assert_eq!(q.ahead(77), Some(90));
        // Size increase loses priority: order 1 (40) goes behind us.
        run(&mut q, MboAction::Modify, Side::Bid, 1, P, 45);
        assert_eq!(q.ahead(77), Some(50));
        // … so cancelling it later does not move us.
        run(&mut q, MboAction::Cancel, Side::Bid, 1, P, 45);
        assert_eq!(q.ahead(77), Some(50));
        // A price change leaves the queue; moving back to P puts it behind.
        run(&mut q, MboAction::Modify, Side::Bid, 2, P - T, 50);
        assert_eq!(q.ahead(77), Some(0));
        run(&mut q, MboAction::Modify, Side::Bid, 2, P, 50);
        assert_eq!(q.ahead(77), Some(0));
        assert_eq!(run(&mut q, MboAction::Trade, Side::Ask, 0, P, 2), vec![fill(77, 2, 5)]);
    }

    #[test]
    fn through_prints_fill_all_same_side_prints_nothing() {
        let mut q = book_with_100_ahead();
        assert!(run(&mut q, MboAction::Trade, Side::Bid, 0, P, 500).is_empty(), "buyer at our bid");
        assert!(run(&mut q, MboAction::Trade, Side::Ask, 0, P + T, 500).is_empty(), "above our bid");
        assert_eq!(run(&mut q, MboAction::Trade, Side::Ask, 0, P - T, 1), vec![fill(77, 7, 0)]);
    }

    #[test]
    fn a_sell_order_queues_on_the_ask() {
        let mut q = queue(16);
        run(&mut q, MboAction::Add, Side::Ask, 10, P, 5);
        q.join(1, OrderSide::Sell, P, 2).expect("joins");
        assert_eq!(q.ahead(1), Some(5));
        assert!(run(&mut q, MboAction::Trade, Side::Ask, 0, P, 9).is_empty(), "seller does not hit an ask");
        assert_eq!(
            run(&mut q, MboAction::Trade, Side::Bid, 0, P, 6),
            vec![L3Event::Fill { client_order_id: 1, price: P, qty: 1, remaining: 1 }]
        );
    }

    #[test]
    fn clear_expires_own_orders_and_join_errors() {
        let mut q = book_with_100_ahead();
        assert_eq!(q.join(77, OrderSide::Buy, P, 1), Err(JoinError::DuplicateId));
        assert_eq!(q.join(78, OrderSide::Buy, P, 0), Err(JoinError::ZeroQty));
        assert_eq!(
            run(&mut q, MboAction::Clear, Side::None, 0, 0, 0),
            vec![L3Event::Expired { client_order_id: 77, remaining: 7 }]
        );
        assert_eq!((q.own_orders(), q.market_orders()), (0, 0));
        for id in 0..L3_OWN_CAP as u64 {
            q.join(id, OrderSide::Sell, P, 1).expect("room");
        }
        assert_eq!(q.join(1_000, OrderSide::Sell, P, 1), Err(JoinError::TableFull));
        assert!(q.cancel_own(3));
        assert!(!q.cancel_own(3));
        assert_eq!(q.own_orders(), L3_OWN_CAP - 1);
    }

    #[test]
    fn the_order_map_survives_many_adds_and_removes() {
        // Deterministic churn through the map (backward-shift deletion keeps every id findable).
        let mut q = queue(64);
        let mut rng = mia_model::rng::SplitMix64::new(9);
        let mut live = [false; 200];
        for _ in 0..20_000 {
            let id = rng.next_u64() % 200;
            if live[id as usize] {
                run(&mut q, MboAction::Cancel, Side::Bid, id, P, 1);
                live[id as usize] = false;
            } else if q.market_orders() < 64 {
                run(&mut q, MboAction::Add, Side::Bid, id, P, 1);
                live[id as usize] = true;
            }
            assert_eq!(q.market_orders(), live.iter().filter(|&&l| l).count());
        }
        assert_eq!((q.stats().unknown_order, q.stats().order_overflow), (0, 0));
    }
    #[test]
    fn own_orders_at_one_price_share_a_print_in_time_priority() {
        let mut q = book_with_100_ahead(); // own 77 (7 lots) behind 100
        run(&mut q, MboAction::Add, Side::Bid, 3, P, 10); // 10 behind 77
        q.join(78, OrderSide::Buy, P, 5).expect("joins");
        assert_eq!(q.ahead(78), Some(110), "market orders ahead only");
        // Merged queue: 100 market, own 77 (7), 10 market (order 3), own 78 (5). A print of
        // 112 takes the 100, fills all of 77 and 5 of order 3: 78 gets nothing (without the
        // R_i term it would fill 2 from lots already given to 77).
        assert_eq!(run(&mut q, MboAction::Trade, Side::Ask, 0, P, 112), vec![fill(77, 7, 0)]);
        // The data's 112 lots consumed all 110 market lots ahead of 78 (their cancels follow):
        // nothing is ahead of it any more, so the next print fills it.
        assert_eq!(q.ahead(78), Some(0));
        assert_eq!(run(&mut q, MboAction::Trade, Side::Ask, 0, P, 12), vec![fill(78, 5, 0)]);
        // One print over two own orders with nothing between them: FIFO split.
        let mut q = queue(64);
        run(&mut q, MboAction::Add, Side::Ask, 1, P, 4);
        q.join(1, OrderSide::Sell, P, 3).expect("joins");
        q.join(2, OrderSide::Sell, P, 3).expect("joins");
        assert_eq!(
            run(&mut q, MboAction::Trade, Side::Bid, 0, P, 8),
            vec![
                L3Event::Fill { client_order_id: 1, price: P, qty: 3, remaining: 0 },
                L3Event::Fill { client_order_id: 2, price: P, qty: 1, remaining: 2 },
            ]
        );
        // trade_at caps the own fills at `avail` (what a venue's through fills left).
        let mut got = Vec::new();
        q.trade_at(Side::Bid, P, 50, 1, |e| got.push(e));
        assert_eq!(got, vec![L3Event::Fill { client_order_id: 2, price: P, qty: 1, remaining: 1 }]);
        assert!(q.set_remaining(2, 0));
        assert_eq!(q.own_orders(), 0);
    }

    #[test]
    fn the_level_size_at_join_is_known_at_any_depth() {
        let mut q = queue(256);
        // 15 ask levels, the deepest 14 ticks away; an own sell joins the deepest.
        for i in 0..15 {
            run(&mut q, MboAction::Add, Side::Ask, 10 + i, P + i as Px * T, 2 + i as u32);
        }
        run(&mut q, MboAction::Add, Side::Ask, 99, P + 14 * T, 1);
        assert_eq!(q.level_qty(Side::Ask, P + 14 * T), 17);
        q.join(5, OrderSide::Sell, P + 14 * T, 1).expect("joins");
        assert_eq!(q.ahead(5), Some(17));
        run(&mut q, MboAction::Cancel, Side::Ask, 99, P + 14 * T, 1);
        assert_eq!((q.ahead(5), q.level_qty(Side::Ask, P + 14 * T)), (Some(16), 16));
        assert!(q.set_remaining(5, 1) && !q.set_remaining(6, 1));
    }
}
