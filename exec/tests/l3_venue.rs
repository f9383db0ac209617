//! L3 FIFO at the simulated venue: hand-built MBO sequences, sent as an MBO feed sends them
//! (each record's raw `Mbo` event, then the `Level` / `Trade` / `Clear` events derived from it
//! by an [`MboBook`]), with known answers; and the same sequences under `risk_averse` to show
//! what the L3 model changes.

use mia_exec::queue::{QueueConfig, QueueModelKind};
use mia_exec::sim::{Expired, FillBuf, SimConfig, SimVenue};
use mia_model::book::mbo::{MboAction, MboBook, MboConfig};
use mia_model::contract::ContractSpec;
use mia_model::event::{flags, Event, Side};
use mia_model::msg::{Fill, OrderAction, OrderIntent, OrderSide, OrderType, TimeInForce};
use mia_model::price::Px;

const T: Px = 250_000_000;
const P: Px = 5_000 * 1_000_000_000;

/// A venue and an MBO feed in front of it; collects every fill and end notice.
struct Session {
    venue: SimVenue,
    book: MboBook,
    out: FillBuf,
    seq: u64,
    ts: u64,
    fills: Vec<Fill>,
    expired: Vec<Expired>,
}

impl Session {
    fn new(model: QueueModelKind) -> Self {
        let cfg = SimConfig {
            queue: QueueConfig { model, ..QueueConfig::default() },
            ..SimConfig::with_entry_latency(0)
        };
        Self {
            venue: SimVenue::new(cfg, ContractSpec::ES),
            book: MboBook::new(MboConfig { tick: T, ladder_ticks: 1024, max_orders: 4096 }),
            out: FillBuf::new(),
            seq: 0,
            ts: 1_000,
            fills: Vec::new(),
            expired: Vec::new(),
        }
    }

    fn send(&mut self, mut ev: Event) {
        ev.seq = self.seq;
        self.seq += 1;
        self.venue.on_market(&ev, &mut self.out);
        self.fills.extend_from_slice(self.out.fills());
        self.expired.extend_from_slice(self.out.expired());
    }

    /// One MBO record (one exchange event), as `MboNormalizer` turns it into events.
    fn rec(&mut self, action: u8, side: Side, id: u64, price: Px, size: u32) {
        self.ts += 1;
        let ts = self.ts;
        let mut evs = vec![Event::mbo(ts, ts, action, side, id, price, size, flags::LAST)];
        match MboAction::from_dbn(action) {
            Some(MboAction::Trade) => evs.push(Event::trade(ts, ts, side, price, size, 0)),
            Some(MboAction::Clear) => {
                self.book.clear();
                evs.push(Event {
                    ts_event: ts,
                    ts_recv: ts,
                    kind: mia_model::event::EventKind::Clear,
                    ..Event::default()
                });
            }
            Some(a) => self.book.apply(a, side, id, price, size),
            None => panic!("test record with an unknown action"),
        }
        self.book.diff_top(|s, d, l| evs.push(Event::level(ts, ts, s, d, l.price, l.size, l.count, 0)));
        if evs.len() == 1 {
            evs.push(Event {
                ts_event: ts,
                ts_recv: ts,
                kind: mia_model::event::EventKind::Status,
                ..Event::default()
            });
        }
        if let Some(e) = evs.last_mut() {
            e.flags |= flags::LAST;
        }
        for e in evs {
            self.send(e);
        }
    }

    fn add(&mut self, side: Side, id: u64, price: Px, size: u32) {
        self.rec(b'A', side, id, price, size);
    }

    fn cancel(&mut self, side: Side, id: u64, price: Px, size: u32) {
        self.rec(b'C', side, id, price, size);
    }

    /// A trade of `size` at `price` by an aggressor on `aggressor`, then the fill and the
    /// cancel of each resting order it took (`takes`: id, size), as CME MBO reports it.
    fn trade(&mut self, aggressor: Side, price: Px, size: u32, takes: &[(u64, u32)]) {
        self.rec(b'T', aggressor, 0, price, size);
        let passive = aggressor.opposite();
        for &(id, q) in takes {
            self.rec(b'F', passive, id, price, q);
            self.cancel(passive, id, price, q);
        }
    }

    /// A GTC limit order submitted now; it arrives (entry latency 0) at the next event.
    fn limit(&mut self, id: u64, side: OrderSide, price: Px, qty: u32) {
        self.submit_limit(id, side, price, qty);
        // A heartbeat activates it (arrivals happen on the events derived from records).
        self.ts += 1;
        let ts = self.ts;
        self.send(Event {
            ts_event: ts,
            ts_recv: ts,
            kind: mia_model::event::EventKind::Status,
            flags: flags::LAST,
            ..Event::default()
        });
    }

    /// A GTC limit order submitted now, with no event after it: it reaches the venue (entry
    /// latency 0) at this instant, before the next record.
    fn submit_limit(&mut self, id: u64, side: OrderSide, price: Px, qty: u32) {
        let o = OrderIntent {
            client_order_id: id,
            ts: self.ts,
            price,
            qty,
            instrument_id: 1,
            side,
            order_type: OrderType::Limit,
            tif: TimeInForce::Gtc,
            ..OrderIntent::default()
        };
        self.venue.submit(&o).expect("accepted");
    }

    fn filled(&self, id: u64) -> Vec<(Px, u32, u32)> {
        self.fills.iter().filter(|f| f.client_order_id == id).map(|f| (f.price, f.qty, f.leaves)).collect()
    }
}

/// Bids at P: order 1 (40) then order 2 (60), 100 lots; asks one tick above.
fn with_100_ahead(model: QueueModelKind) -> Session {
    let mut s = Session::new(model);
    s.add(Side::Ask, 900, P + T, 500);
    s.add(Side::Bid, 1, P, 40);
    s.add(Side::Bid, 2, P, 60);
    s.limit(77, OrderSide::Buy, P, 7);
    s
}

#[test]
fn an_order_behind_100_lots_fills_after_100_lots_trade_at_its_price() {
    let mut s = with_100_ahead(QueueModelKind::L3Fifo);
    assert_eq!(s.venue.queue_ahead(77), Some(100.0));
    // Orders joining later are behind it.
    s.add(Side::Bid, 3, P, 50);
    assert_eq!(s.venue.queue_ahead(77), Some(100.0));
    // 40 trade (seller aggressor): order 1 is filled and cancelled; the cancel is not counted
    // twice.
    s.trade(Side::Ask, P, 40, &[(1, 40)]);
    assert_eq!(s.venue.queue_ahead(77), Some(60.0));
    // 60 more: exactly 100 lots have traded, nothing filled yet.
    s.trade(Side::Ask, P, 60, &[(2, 60)]);
    assert_eq!(s.venue.queue_ahead(77), Some(0.0));
    assert!(s.fills.is_empty());
    // The next lots at the price are ours (in the data they take order 3): 3, then the rest.
    s.trade(Side::Ask, P, 3, &[(3, 3)]);
    assert_eq!(s.filled(77), vec![(P, 3, 4)]);
    s.trade(Side::Ask, P, 10, &[(3, 10)]);
    assert_eq!(s.filled(77), vec![(P, 3, 4), (P, 4, 0)]);
    assert!(s.fills.last().is_some_and(|f| f.done));
    assert_eq!(s.venue.working(), 0);
    assert!(s.venue.describe().contains("queue: l3_fifo (from "), "{}", s.venue.describe());
}

#[test]
fn an_order_that_arrives_before_a_record_is_ahead_of_the_order_the_record_adds() {
    // Order 78 reaches the venue between two records; the next record adds 50 at its price.
    // That order came later: it is behind ours, so 100 ahead (orders 1 and 2), not 150 (it
    // was 150 when the order arrived on the events derived from the add, after it).
    for model in [QueueModelKind::L3Fifo, QueueModelKind::RiskAverse] {
        let mut s = with_100_ahead(model);
        s.venue.cancel(77);
        s.submit_limit(78, OrderSide::Buy, P, 1);
        s.add(Side::Bid, 3, P, 50);
        assert_eq!(s.venue.queue_ahead(78), Some(100.0), "{model:?}");
        // 101 sold at P: the 100 ahead trade, then 1 lot is ours (in the data it takes order 3).
        s.trade(Side::Ask, P, 101, &[(1, 40), (2, 60), (3, 1)]);
        assert_eq!(s.filled(78), vec![(P, 1, 0)], "{model:?}");
    }
    // At the record's own instant the record comes first (hftbacktest's order too): the add is
    // ahead of an order that arrives at that instant.
    let mut s = with_100_ahead(QueueModelKind::L3Fifo);
    s.venue.cancel(77);
    let o = OrderIntent {
        client_order_id: 79,
        ts: s.ts + 1,
        price: P,
        qty: 1,
        instrument_id: 1,
        side: OrderSide::Buy,
        order_type: OrderType::Limit,
        tif: TimeInForce::Gtc,
        ..OrderIntent::default()
    };
    s.venue.submit(&o).expect("accepted");
    s.add(Side::Bid, 3, P, 50);
    assert_eq!(s.venue.queue_ahead(79), Some(150.0));
}

#[test]
fn cancels_ahead_advance_the_order_cancels_behind_do_not() {
    // 100 ahead, 50 behind; 40 ahead cancel (level 110), 50 behind cancel (level 60).
    let run = |model| {
        let mut s = with_100_ahead(model);
        s.add(Side::Bid, 3, P, 50);
        s.cancel(Side::Bid, 1, P, 40);
        let after_ahead = s.venue.queue_ahead(77);
        s.cancel(Side::Bid, 3, P, 50);
        let after_behind = s.venue.queue_ahead(77);
        // A print of 70: under L3 the 60 still ahead trade and 7 of ours fill.
        s.trade(Side::Ask, P, 70, &[(2, 60)]);
        (after_ahead, after_behind, s.filled(77))
    };
    assert_eq!(run(QueueModelKind::L3Fifo), (Some(60.0), Some(60.0), vec![(P, 7, 0)]));
    // risk_averse: the cancel ahead does not move the order (the level, 110, is above its
    // 100); the cancel behind does, through the cap (level 60).
    assert_eq!(run(QueueModelKind::RiskAverse), (Some(100.0), Some(60.0), vec![(P, 7, 0)]));
}

#[test]
fn a_cancel_ahead_lets_a_small_print_fill_only_under_l3() {
    let run = |model| {
        let mut s = with_100_ahead(model);
        s.add(Side::Bid, 3, P, 200); // a big order behind keeps the level above 100
        s.cancel(Side::Bid, 1, P, 40); // ahead: 60 left under L3; level 260
        s.trade(Side::Ask, P, 65, &[(2, 60), (3, 5)]);
        s.filled(77)
    };
    assert_eq!(run(QueueModelKind::L3Fifo), vec![(P, 5, 2)], "60 ahead, 5 of the 65 are ours");
    assert_eq!(run(QueueModelKind::RiskAverse), vec![], "risk_averse still sees 100 ahead");
}

#[test]
fn modifies_of_the_order_and_of_orders_ahead_follow_cme_priority() {
    let mut s = with_100_ahead(QueueModelKind::L3Fifo);
    // Order 2 (ahead) shrinks 60 → 50: keeps its place, 10 fewer ahead.
    s.rec(b'M', Side::Bid, 2, P, 50);
    assert_eq!(s.venue.queue_ahead(77), Some(90.0));
    // Order 1 (ahead) grows 40 → 45: goes to the back, behind us.
    s.rec(b'M', Side::Bid, 1, P, 45);
    assert_eq!(s.venue.queue_ahead(77), Some(50.0));
    // Our own size decrease keeps priority; a price change loses it.
    let m = |qty: u32, price: Px| OrderIntent {
        client_order_id: 77,
        price,
        qty,
        instrument_id: 1,
        side: OrderSide::Buy,
        order_type: OrderType::Limit,
        tif: TimeInForce::Gtc,
        action: OrderAction::Modify,
        ..OrderIntent::default()
    };
    s.venue.submit(&m(5, P)).expect("modify");
    assert_eq!(s.venue.queue_ahead(77), Some(50.0));
    s.venue.submit(&m(5, P - T)).expect("modify");
    assert_eq!(s.venue.queue_ahead(77), Some(0.0), "nothing rests at the new price");
    s.add(Side::Bid, 4, P - T, 8); // behind us
    s.venue.submit(&m(5, P)).expect("modify");
    assert_eq!(s.venue.queue_ahead(77), Some(95.0), "back at P: behind all 95 lots there");
}

#[test]
fn a_print_through_the_price_fills_up_to_its_size_and_a_clear_expires() {
    let mut s = with_100_ahead(QueueModelKind::L3Fifo);
    s.add(Side::Bid, 5, P - T, 10);
    // A sell print one tick below: the whole level at P went; ours fills for up to the
    // print's size (the venue's trade-through rule), whatever the queue.
    s.trade(Side::Ask, P - T, 4, &[(5, 4)]);
    assert_eq!(s.filled(77), vec![(P, 4, 3)]);
    assert_eq!(s.venue.remaining(77), Some(3));
    // A book reset expires the rest (a queue position cannot survive it).
    s.rec(b'R', Side::None, 0, 0, 0);
    assert_eq!(s.expired.len(), 1);
    assert_eq!((s.expired[0].client_order_id, s.expired[0].qty), (77, 3));
    assert_eq!(s.venue.working(), 0);
}

#[test]
fn on_l2_input_l3_fifo_falls_back_to_risk_averse_and_says_so() {
    // The same book as Level events only (an MBP feed): no Mbo event ever arrives.
    let mut v = SimVenue::new(
        SimConfig {
            queue: QueueConfig { model: QueueModelKind::L3Fifo, ..QueueConfig::default() },
            ..SimConfig::with_entry_latency(0)
        },
        ContractSpec::ES,
    );
    let mut out = FillBuf::new();
    v.on_market(&Event::level(1, 1, Side::Bid, 0, P, 100, 2, flags::LAST), &mut out);
    let o = OrderIntent {
        client_order_id: 9,
        ts: 1,
        price: P,
        qty: 2,
        instrument_id: 1,
        side: OrderSide::Buy,
        order_type: OrderType::Limit,
        tif: TimeInForce::Gtc,
        ..OrderIntent::default()
    };
    v.submit(&o).expect("accepted");
    v.on_market(&Event::level(2, 2, Side::Bid, 0, P, 100, 2, flags::LAST), &mut out);
    assert_eq!(v.queue_ahead(9), Some(100.0));
    // A cancel (level 100 → 60) does not advance a risk-averse order beyond the cap.
    v.on_market(&Event::level(3, 3, Side::Bid, 0, P, 60, 1, flags::LAST), &mut out);
    assert_eq!(v.queue_ahead(9), Some(60.0));
    let d = v.describe();
    assert!(
        d.contains("queue: l3_fifo needs MBO input, this input has no MBO records: ran as risk_averse"),
        "{d}"
    );
}
