//! The order edge against the fake TWS: single orders, native brackets on the wire, partial
//! fills, rejects, modify and cancel, a socket drop mid-bracket with reconciliation, the id
//! high-water mark across restarts, and the account id never logged or written.

mod ibkr_support;

use ibkr_support::{capture_logs, cfg, collect, connect, logs, ACCOUNT};
use mia_feeds::ibkr::errors::reason;
use mia_feeds::ibkr::fake::{FakeConfig, FakePosition, FakeTws, PlacedOrder};
use mia_feeds::ibkr::IbkrEdge;
use mia_model::msg::{
    ExecKind, ExecReport, Msg, OrderAction, OrderIntent, OrderSide, OrderType, TimeInForce,
};
use std::time::Duration;

const P: i64 = 1_000_000_000;
const WAIT: Duration = Duration::from_secs(20);

struct Rig {
    fake: FakeTws,
    edge: IbkrEdge,
    tx: rtrb::Producer<OrderIntent>,
    rx: rtrb::Consumer<Msg>,
    got: Vec<ExecReport>,
    thread: std::thread::JoinHandle<Result<mia_feeds::ibkr::OrderEdgeSummary, String>>,
    _dir: tempfile::TempDir,
}

fn rig() -> Rig {
    capture_logs();
    let fake = FakeTws::start(FakeConfig::default()).expect("fake");
    let dir = tempfile::tempdir().expect("tmp");
    let edge = connect(&fake, &cfg(fake.port()), dir.path());
    let (tx, orx) = rtrb::RingBuffer::new(64);
    let (rtx, rx) = rtrb::RingBuffer::new(256);
    let thread = edge.spawn_orders(orx, rtx).expect("orders thread");
    Rig { fake, edge, tx, rx, got: Vec::new(), thread, _dir: dir }
}

impl Rig {
    fn send(&mut self, i: OrderIntent) {
        self.tx.push(i).expect("room in the order ring");
    }

    fn wait_reports(&mut self, what: &str, pred: impl Fn(&[ExecReport]) -> bool) {
        if !collect(&mut self.rx, &mut self.got, WAIT, pred) {
            panic!("{what}: reports {:#?}\nfake {:#?}", self.got, self.fake.snapshot());
        }
    }

    fn wait_placed(&self, n: usize) -> Vec<PlacedOrder> {
        assert!(self.fake.wait(WAIT, |s| s.placed.len() >= n), "{:#?}", self.fake.snapshot());
        self.fake.snapshot().placed
    }

    fn of(&self, coid: u64, kind: ExecKind) -> Vec<ExecReport> {
        self.got.iter().filter(|r| r.client_order_id == coid && r.kind == kind).copied().collect()
    }

    fn finish(self) -> mia_feeds::ibkr::OrderEdgeSummary {
        drop(self.tx);
        let s = self.thread.join().expect("orders thread").expect("clean end");
        drop(self.edge);
        s
    }
}

fn intent(coid: u64, side: OrderSide, t: OrderType, qty: u32) -> OrderIntent {
    OrderIntent {
        client_order_id: coid,
        side,
        order_type: t,
        qty,
        tif: TimeInForce::Day,
        ..OrderIntent::default()
    }
}

fn has(r: &[ExecReport], coid: u64, kind: ExecKind) -> bool {
    r.iter().any(|x| x.client_order_id == coid && x.kind == kind)
}

/// Entry 100 (buy 2 limit 6000) with a stop child 101 at 5990 and a target child 102 at 6010.
fn bracket() -> [OrderIntent; 3] {
    let entry =
        OrderIntent { price: 6000 * P, children: 2, ..intent(100, OrderSide::Buy, OrderType::Limit, 2) };
    let stop = OrderIntent { trigger: 5990 * P, link: 1, ..intent(101, OrderSide::Sell, OrderType::Stop, 2) };
    let target =
        OrderIntent { price: 6010 * P, link: 2, ..intent(102, OrderSide::Sell, OrderType::Limit, 2) };
    [entry, stop, target]
}

#[test]
fn a_market_order_is_placed_accepted_and_filled_with_its_commission() {
    let mut r = rig();
    r.send(intent(7, OrderSide::Buy, OrderType::Market, 1));
    let p = r.wait_placed(1);
    let o = &p[0];
    assert_eq!(
        (o.action.as_str(), o.order_type.as_str(), o.qty, o.transmit, o.parent_id),
        ("BUY", "MKT", 1.0, true, 0)
    );
    assert_eq!((o.tif.as_str(), o.account.as_str(), o.local_symbol.as_str()), ("DAY", ACCOUNT, "ESZ6"));
    assert!(o.order_id >= 1000, "ids start at NextValidId: {}", o.order_id);
    r.wait_reports("accepted", |g| has(g, 7, ExecKind::Accepted));
    r.fake.fill(o.order_id, 1.0, 6000.5, 2.25).expect("known order");
    r.wait_reports("filled", |g| has(g, 7, ExecKind::Filled));
    let f = r.of(7, ExecKind::Filled)[0];
    assert_eq!(
        (f.qty, f.leaves, f.price, f.fee.nano(), f.side),
        (1, 0, 6000 * P + P / 2, 2_250_000_000, OrderSide::Buy)
    );
    assert_eq!(r.of(7, ExecKind::Accepted).len(), 1, "accepted once");
    let s = r.finish();
    assert_eq!((s.placed, s.dropped_reports), (1, 0));
}

#[test]
fn a_native_bracket_goes_out_as_parent_and_children_with_one_oca_group() {
    let mut r = rig();
    for i in bracket() {
        r.send(i);
    }
    let p = r.wait_placed(3);
    let (e, s, t) = (&p[0], &p[1], &p[2]);
    assert_eq!(
        (e.order_type.as_str(), e.lmt_price, e.parent_id, e.transmit),
        ("LMT", Some(6000.0), 0, false)
    );
    assert_eq!(
        (s.order_type.as_str(), s.aux_price, s.parent_id, s.transmit),
        ("STP", Some(5990.0), e.order_id, false)
    );
    assert_eq!(
        (t.order_type.as_str(), t.lmt_price, t.parent_id, t.transmit),
        ("LMT", Some(6010.0), e.order_id, true)
    );
    assert_eq!((s.oca_group.as_str(), t.oca_group.as_str()), ("mia-100", "mia-100"));
    assert_eq!((s.action.as_str(), t.action.as_str()), ("SELL", "SELL"));
    assert!(e.order_id < s.order_id && s.order_id < t.order_id, "ids strictly increase");
    r.wait_reports("3 accepted", |g| [100, 101, 102].iter().all(|c| has(g, *c, ExecKind::Accepted)));
    r.fake.fill(e.order_id, 2.0, 6000.0, 4.5).expect("entry");
    r.wait_reports("entry filled", |g| has(g, 100, ExecKind::Filled));
    r.fake.fill(t.order_id, 2.0, 6010.0, 4.5).expect("target");
    r.wait_reports("target filled, stop cancelled", |g| {
        has(g, 102, ExecKind::Filled) && has(g, 101, ExecKind::Cancelled)
    });
    let f = r.of(100, ExecKind::Filled)[0];
    assert_eq!((f.qty, f.leaves, f.fee.nano()), (2, 0, 4_500_000_000));
    r.finish();
}

#[test]
fn a_partial_fill_reports_two_executions_with_their_leaves() {
    let mut r = rig();
    r.send(OrderIntent { price: 5999 * P, ..intent(9, OrderSide::Sell, OrderType::Limit, 3) });
    let id = r.wait_placed(1)[0].order_id;
    r.wait_reports("accepted", |g| has(g, 9, ExecKind::Accepted));
    r.fake.fill(id, 1.0, 5999.0, 1.0).expect("fill 1");
    r.fake.fill(id, 2.0, 5999.25, 2.0).expect("fill 2");
    r.wait_reports("two fills", |g| g.iter().filter(|x| x.kind == ExecKind::Filled).count() == 2);
    let f = r.of(9, ExecKind::Filled);
    assert_eq!((f[0].qty, f[0].leaves, f[0].price, f[0].fee.nano()), (1, 2, 5999 * P, P));
    assert_eq!((f[1].qty, f[1].leaves, f[1].price, f[1].fee.nano()), (2, 0, 5999 * P + P / 4, 2 * P));
    assert!(f.iter().all(|x| x.side == OrderSide::Sell));
    r.finish();
}

#[test]
fn a_reject_carries_the_ib_code() {
    let mut r = rig();
    r.fake.reject_next(201, "Order rejected - reason: insufficient margin");
    r.send(intent(11, OrderSide::Buy, OrderType::Market, 1));
    r.wait_reports("rejected", |g| has(g, 11, ExecKind::Rejected));
    let x = r.of(11, ExecKind::Rejected)[0];
    assert_eq!((x.reason, x.qty, x.leaves), (201, 1, 1));
    assert!(!has(&r.got, 11, ExecKind::Accepted));
    // An intent the edge cannot express never reaches IB.
    r.send(OrderIntent {
        price: mia_model::price::UNDEF_PX,
        ..intent(12, OrderSide::Buy, OrderType::Limit, 1)
    });
    r.wait_reports("refused", |g| has(g, 12, ExecKind::Rejected));
    assert_eq!(r.of(12, ExecKind::Rejected)[0].reason, reason::BAD_INTENT);
    assert_eq!(r.fake.snapshot().placed.len(), 1);
    r.finish();
}

#[test]
fn modify_replaces_with_the_same_id_and_cancel_cancels() {
    let mut r = rig();
    r.send(OrderIntent { price: 5990 * P, ..intent(21, OrderSide::Buy, OrderType::Limit, 1) });
    let id = r.wait_placed(1)[0].order_id;
    r.wait_reports("accepted", |g| has(g, 21, ExecKind::Accepted));
    r.send(OrderIntent {
        price: 5991 * P,
        qty: 2,
        action: OrderAction::Modify,
        ..intent(21, OrderSide::Buy, OrderType::Limit, 2)
    });
    let p = r.wait_placed(2);
    assert_eq!((p[1].order_id, p[1].lmt_price, p[1].qty, p[1].transmit), (id, Some(5991.0), 2.0, true));
    r.send(OrderIntent {
        action: OrderAction::Cancel,
        ..OrderIntent { client_order_id: 21, ..OrderIntent::default() }
    });
    r.wait_reports("cancelled", |g| has(g, 21, ExecKind::Cancelled));
    assert_eq!(r.fake.snapshot().cancels, vec![id]);
    let c = r.of(21, ExecKind::Cancelled);
    assert_eq!(c.len(), 1, "one terminal report: {c:?}");
    assert_eq!((c[0].reason, c[0].leaves), (202, 2));
    assert_eq!(r.of(21, ExecKind::Accepted).len(), 1);
    r.finish();
}

#[test]
fn an_incomplete_bracket_is_cancelled_before_it_is_transmitted() {
    let mut r = rig();
    let [entry, stop, _] = bracket();
    r.send(entry);
    r.send(stop);
    r.wait_placed(2);
    drop(std::mem::replace(&mut r.tx, rtrb::RingBuffer::new(1).0)); // the ring closes
    r.wait_reports("both rejected", |g| has(g, 100, ExecKind::Rejected) && has(g, 101, ExecKind::Rejected));
    assert!(r.got.iter().all(|x| x.reason == reason::BRACKET_INCOMPLETE), "{:?}", r.got);
    let snap = r.fake.snapshot();
    assert!(snap.placed.iter().all(|o| !o.transmit), "nothing was transmitted: {:?}", snap.placed);
    assert_eq!(snap.cancels.len(), 2);
    let _ = r.thread.join();
}

#[test]
fn a_socket_drop_mid_bracket_is_reconciled_without_resending() {
    let mut r = rig();
    r.fake.set_positions(vec![FakePosition {
        con_id: 495_512_003,
        local_symbol: "ESZ6".into(),
        qty: 2.0,
        avg_cost: 300_000.0,
    }]);
    r.send(intent(50, OrderSide::Buy, OrderType::Market, 1));
    let m = r.wait_placed(1)[0].order_id;
    r.fake.fill(m, 1.0, 6000.0, 2.25).expect("market order");
    r.wait_reports("market filled", |g| has(g, 50, ExecKind::Filled));
    for i in bracket() {
        r.send(i);
    }
    let p = r.wait_placed(4);
    let (entry, stop, target) = (p[1].order_id, p[2].order_id, p[3].order_id);
    r.wait_reports("bracket accepted", |g| [100, 101, 102].iter().all(|c| has(g, *c, ExecKind::Accepted)));
    r.fake.drop_connection();
    // The entry fills while the client is away.
    r.fake.fill_offline(entry, 2.0, 6000.0, 4.5).expect("entry");
    assert!(r.fake.wait(WAIT, |s| s.sessions >= 2 && s.reconcile_reqs >= 4), "{:#?}", r.fake.snapshot());
    r.wait_reports("offline fill reported", |g| has(g, 100, ExecKind::Filled));
    std::thread::sleep(Duration::from_millis(300));
    r.wait_reports("drain", |_| true);
    assert_eq!(r.of(100, ExecKind::Filled).len(), 1, "exactly once: {:?}", r.got);
    assert_eq!(r.of(50, ExecKind::Filled).len(), 1, "the earlier fill is not reported again");
    let snap = r.fake.snapshot();
    assert_eq!(snap.placed.len(), 4, "no PlaceOrder was re-sent: {:?}", snap.placed);
    assert_eq!(r.edge.broker_position(), Some(2), "broker position published");
    // The children keep working on the new connection.
    r.fake.fill(stop, 2.0, 5990.0, 4.5).expect("stop");
    r.wait_reports("stop filled, target cancelled", |g| {
        has(g, 101, ExecKind::Filled) && has(g, 102, ExecKind::Cancelled)
    });
    let _ = target;
    let s = r.finish();
    assert!(s.reconciliations >= 1 && s.dropped_reports >= 1, "{s:?}");
    let text = logs();
    assert!(text.contains("ibkr: connected") && text.contains("reconciliation done"), "the capture works");
    assert!(!text.contains(ACCOUNT) && !text.contains("1234567"), "the account id leaked into the logs");
}

#[test]
fn order_ids_never_roll_back_across_a_restart() {
    capture_logs();
    let fake = FakeTws::start(FakeConfig::default()).expect("fake");
    let dir = tempfile::tempdir().expect("tmp");
    let first = {
        let edge = connect(&fake, &cfg(fake.port()), dir.path());
        let (mut tx, orx) = rtrb::RingBuffer::new(8);
        let (rtx, _rx) = rtrb::RingBuffer::new(8);
        let t = edge.spawn_orders(orx, rtx).expect("orders");
        tx.push(intent(1, OrderSide::Buy, OrderType::Market, 1)).expect("room");
        assert!(fake.wait(WAIT, |s| s.placed.len() == 1));
        drop(tx);
        t.join().expect("thread").expect("clean");
        fake.snapshot().placed[0].order_id
    };
    // The Gateway restarts and hands out a lower NextValidId.
    fake.set_next_valid_id(500);
    fake.drop_connection();
    let edge = connect(&fake, &cfg(fake.port()), dir.path());
    let (mut tx, orx) = rtrb::RingBuffer::new(8);
    let (rtx, _rx) = rtrb::RingBuffer::new(8);
    let t = edge.spawn_orders(orx, rtx).expect("orders");
    tx.push(intent(2, OrderSide::Buy, OrderType::Market, 1)).expect("room");
    assert!(fake.wait(WAIT, |s| s.placed.len() == 2));
    let second = fake.snapshot().placed[1].order_id;
    assert!(second > first, "{second} > {first}");
    drop(tx);
    t.join().expect("thread").expect("clean");
    for f in std::fs::read_dir(dir.path()).expect("state dir") {
        let text = std::fs::read_to_string(f.expect("entry").path()).unwrap_or_default();
        assert!(!text.contains(ACCOUNT), "the account id was written to a file");
    }
}

#[test]
fn the_fake_can_fill_market_orders_by_itself() {
    capture_logs();
    let fake = FakeTws::start(FakeConfig { auto_fill_market: Some(6010.25), ..FakeConfig::default() })
        .expect("fake");
    let dir = tempfile::tempdir().expect("tmp");
    let edge = connect(&fake, &cfg(fake.port()), dir.path());
    let (tx, orx) = rtrb::RingBuffer::new(64);
    let (rtx, rx) = rtrb::RingBuffer::new(256);
    let thread = edge.spawn_orders(orx, rtx).expect("orders thread");
    let mut r = Rig { fake, edge, tx, rx, got: Vec::new(), thread, _dir: dir };
    r.send(intent(1, OrderSide::Buy, OrderType::Market, 2));
    let mut lmt = intent(2, OrderSide::Sell, OrderType::Limit, 1);
    lmt.price = 6020 * P;
    r.send(lmt);
    // The fake handles orders in turn: a fill of the limit order would come before this one's.
    r.send(intent(3, OrderSide::Sell, OrderType::Market, 2));
    r.wait_reports("market orders filled", |g| has(g, 1, ExecKind::Filled) && has(g, 3, ExecKind::Filled));
    let fills = r.of(1, ExecKind::Filled);
    assert_eq!(
        fills.iter().map(|f| (f.qty, f.leaves, f.price)).collect::<Vec<_>>(),
        [(2, 0, 6010 * P + P / 4)]
    );
    assert_eq!(fills[0].fee.to_usd(), 2.25, "the commission report joined");
    assert!(has(&r.got, 2, ExecKind::Accepted), "the limit order works: {:?}", r.got);
    assert!(r.of(2, ExecKind::Filled).is_empty(), "a limit order is not auto-filled: {:?}", r.got);
    r.finish();
}
