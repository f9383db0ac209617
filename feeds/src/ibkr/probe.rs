//! Per-hop timestamps of the wire-to-order path, for `tools/examples/wire_to_order.rs` only.
//!
//! Compiled only with the `latency-probe` feature (off by default, never in the product): the
//! edge threads then stamp, on a monotonic clock shared with the example, when the
//! market-data thread got an item (trade or bid/ask) from ibapi, when it had pushed that
//! item's events into the feed ring, when the order thread popped an intent, and when
//! `submit_order` returned (the bytes were written to the socket). The example joins these
//! with its own write times and the fake TWS's decode times.
//!
//! Storage is static: fixed arrays of atomics indexed by a counter (wrapping at [`CAP`]), one
//! writer per array (the market-data thread writes the item arrays, the order thread the
//! order arrays), relaxed stores published by a release store of the counter. No allocation,
//! no lock; a stamp is one `Instant::now()` (vDSO, no syscall).

use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

/// Entries kept per array (older ones are overwritten).
pub const CAP: usize = 1 << 14;

static BASE: OnceLock<Instant> = OnceLock::new();

static ITEMS: AtomicU64 = AtomicU64::new(0);
static PUSHED: AtomicU64 = AtomicU64::new(0);
static ITEM_RX: [AtomicU64; CAP] = [const { AtomicU64::new(0) }; CAP];
static ITEM_PUSH: [AtomicU64; CAP] = [const { AtomicU64::new(0) }; CAP];

static ORDERS: AtomicU64 = AtomicU64::new(0);
static POP_AT: AtomicU64 = AtomicU64::new(0);
static POP_ITEM: AtomicU64 = AtomicU64::new(0);
static SUBMIT_AT: AtomicU64 = AtomicU64::new(0);
static ORDER_IB: [AtomicI32; CAP] = [const { AtomicI32::new(0) }; CAP];
static ORDER_ITEM: [AtomicU64; CAP] = [const { AtomicU64::new(0) }; CAP];
static ORDER_POP: [AtomicU64; CAP] = [const { AtomicU64::new(0) }; CAP];
static ORDER_SUBMIT: [AtomicU64; CAP] = [const { AtomicU64::new(0) }; CAP];
static ORDER_SENT: [AtomicU64; CAP] = [const { AtomicU64::new(0) }; CAP];

/// The clock's origin (set by the first call of [`now`] or [`ns_of`]).
fn base() -> Instant {
    *BASE.get_or_init(Instant::now)
}

/// Nanoseconds since the probe's origin.
#[inline]
pub fn now() -> u64 {
    ns_of(Instant::now())
}

/// `t` in nanoseconds since the probe's origin (0 for an instant before it).
pub fn ns_of(t: Instant) -> u64 {
    u64::try_from(t.saturating_duration_since(base()).as_nanos()).unwrap_or(u64::MAX)
}

/// The market-data thread got one item (a trade or a bid/ask) from ibapi.
#[inline]
pub(crate) fn md_received() {
    let i = ITEMS.load(Ordering::Relaxed);
    ITEM_RX[(i as usize) % CAP].store(now(), Ordering::Relaxed);
    ITEMS.store(i + 1, Ordering::Release);
}

/// The market-data thread pushed the events of every item received so far.
#[inline]
pub(crate) fn md_pushed() {
    let (from, to) = (PUSHED.load(Ordering::Relaxed), ITEMS.load(Ordering::Relaxed));
    if from == to {
        return;
    }
    let t = now();
    for i in from..to {
        ITEM_PUSH[(i as usize) % CAP].store(t, Ordering::Relaxed);
    }
    PUSHED.store(to, Ordering::Release);
}

/// The order thread popped an intent: the time, and the last market-data item received (the
/// one that caused it while items arrive far apart).
#[inline]
pub(crate) fn order_popped() {
    POP_AT.store(now(), Ordering::Relaxed);
    POP_ITEM.store(ITEMS.load(Ordering::Acquire).saturating_sub(1), Ordering::Relaxed);
}

/// The order thread is about to call ibapi's `submit_order` (the IB order is built).
#[inline]
pub(crate) fn order_submitting() {
    SUBMIT_AT.store(now(), Ordering::Relaxed);
}

/// `submit_order` of IB order `ib` returned Ok (a new order or a modify).
#[inline]
pub(crate) fn order_sent(ib: i32) {
    let j = ORDERS.load(Ordering::Relaxed);
    let k = (j as usize) % CAP;
    ORDER_IB[k].store(ib, Ordering::Relaxed);
    ORDER_ITEM[k].store(POP_ITEM.load(Ordering::Relaxed), Ordering::Relaxed);
    ORDER_POP[k].store(POP_AT.load(Ordering::Relaxed), Ordering::Relaxed);
    ORDER_SUBMIT[k].store(SUBMIT_AT.load(Ordering::Relaxed), Ordering::Relaxed);
    ORDER_SENT[k].store(now(), Ordering::Relaxed);
    ORDERS.store(j + 1, Ordering::Release);
}

/// One market-data item's stamps (ns since the origin).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ItemStamps {
    /// The market-data thread got it from ibapi.
    pub received: u64,
    /// Its events were in the feed ring.
    pub pushed: u64,
}

/// One `PlaceOrder`'s stamps, in the order the order thread sent them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderStamps {
    /// IB order id.
    pub ib: i32,
    /// Index of the last market-data item received when its intent was popped.
    pub item: u64,
    /// The order thread popped its intent.
    pub popped: u64,
    /// `submit_order` was called (the IB order built).
    pub submitting: u64,
    /// `submit_order` returned.
    pub sent: u64,
}

/// Every item stamped so far (the last [`CAP`] of them), oldest first, with the index of the
/// first one returned.
pub fn items() -> (u64, Vec<ItemStamps>) {
    let n = PUSHED.load(Ordering::Acquire);
    let from = n.saturating_sub(CAP as u64);
    let v = (from..n)
        .map(|i| {
            let k = (i as usize) % CAP;
            ItemStamps {
                received: ITEM_RX[k].load(Ordering::Relaxed),
                pushed: ITEM_PUSH[k].load(Ordering::Relaxed),
            }
        })
        .collect();
    (from, v)
}

/// Every `PlaceOrder` stamped so far (the last [`CAP`]), oldest first, with the index of the
/// first one returned.
pub fn orders() -> (u64, Vec<OrderStamps>) {
    let n = ORDERS.load(Ordering::Acquire);
    let from = n.saturating_sub(CAP as u64);
    let v = (from..n)
        .map(|j| {
            let k = (j as usize) % CAP;
            OrderStamps {
                ib: ORDER_IB[k].load(Ordering::Relaxed),
                item: ORDER_ITEM[k].load(Ordering::Relaxed),
                popped: ORDER_POP[k].load(Ordering::Relaxed),
                submitting: ORDER_SUBMIT[k].load(Ordering::Relaxed),
                sent: ORDER_SENT[k].load(Ordering::Relaxed),
            }
        })
        .collect();
    (from, v)
}

/// Forgets every stamp (between two measured sessions; no edge thread may be running).
pub fn reset() {
    let _ = base();
    for c in [&ITEMS, &PUSHED, &ORDERS, &POP_AT, &POP_ITEM, &SUBMIT_AT] {
        c.store(0, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_join_items_and_orders() {
        reset();
        md_received();
        md_pushed();
        md_received();
        md_received();
        md_pushed();
        order_popped();
        order_submitting();
        order_sent(1001);
        order_submitting();
        order_sent(1002);
        let (from, items) = items();
        assert_eq!((from, items.len()), (0, 3));
        assert!(items.iter().all(|i| i.pushed >= i.received));
        assert_eq!(items[1].pushed, items[2].pushed, "one push stamp for the batch");
        assert!(items[0].pushed <= items[1].received);
        let (_, orders) = orders();
        assert_eq!(orders.iter().map(|o| (o.ib, o.item)).collect::<Vec<_>>(), [(1001, 2), (1002, 2)]);
        let o = orders[0];
        assert!(o.sent >= o.submitting && o.submitting >= o.popped && o.popped >= items[2].pushed);
        reset();
        assert!(super::items().1.is_empty() && super::orders().1.is_empty());
    }
}
