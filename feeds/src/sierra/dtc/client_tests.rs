//! The DTC client against the fake server: logon, heartbeats and reconnects, market data and
//! depth through a `RingSource`, native brackets, rejects, positions, reconciliation after a
//! reconnect, and the trade account kept out of the logs. Both encodings.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use mia_model::event::{EventKind, Side};
use mia_model::msg::{
    ExecKind, ExecReport, Msg, OrderAction, OrderIntent, OrderSide, OrderType, TimeInForce,
};
use mia_runtime::source::{EventSource, RingSource};

use super::client::{check_with, Credentials, DtcEdge, DtcError, DtcHandle};
use super::config::{DtcConfig, Encoding, Secret};
use super::fake::{FakeConfig, FakeDtcServer};
use super::messages::{values, Message};
use super::reason;

const ACCOUNT: &str = "ACCT-7731-SECRET";
const WAIT: Duration = Duration::from_secs(10);

/// Every log line of this test binary (a global subscriber: the edge threads log there).
fn logs() -> Arc<Mutex<Vec<u8>>> {
    static BUF: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    BUF.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let b = buf.clone();
        let sub = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || LogWriter(b.clone()))
            .finish();
        let _ = tracing::subscriber::set_global_default(sub);
        buf
    })
    .clone()
}

struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogWriter {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn cfg(port: u16, encoding: Encoding) -> DtcConfig {
    logs();
    DtcConfig {
        port,
        encoding,
        heartbeat_secs: 1,
        connect_timeout_ms: 2000,
        reconnect_initial_ms: 20,
        reconnect_max_ms: 200,
        symbol: "ESZ25_FUT_CME".into(),
        bracket_wait_ms: 500,
        ..DtcConfig::default()
    }
}

fn creds() -> Credentials {
    Credentials { account: Some(Secret::new(ACCOUNT)), password: Some(Secret::new("pw")) }
}

fn server(cfg: FakeConfig) -> FakeDtcServer {
    FakeDtcServer::start(cfg).expect("fake server")
}

/// Orders in, reports out.
struct Orders {
    tx: rtrb::Producer<OrderIntent>,
    rx: rtrb::Consumer<Msg>,
    handle: DtcHandle,
}

impl Orders {
    fn start(c: &DtcConfig) -> Self {
        let edge = DtcEdge::connect_with(c, creds()).expect("logon");
        let (tx, orx) = rtrb::RingBuffer::new(64);
        let (rtx, rx) = rtrb::RingBuffer::new(256);
        let handle = edge.spawn_orders(orx, rtx).expect("spawn");
        Self { tx, rx, handle }
    }

    fn send(&mut self, o: OrderIntent) {
        self.tx.push(o).expect("room");
    }

    /// The next report, or a panic after `WAIT`.
    fn next(&mut self) -> ExecReport {
        let end = Instant::now() + WAIT;
        loop {
            match self.rx.pop() {
                Ok(Msg::Exec(r)) => return r,
                Ok(other) => panic!("not a report: {other:?}"),
                Err(_) if Instant::now() > end => panic!("no report within {WAIT:?}"),
                Err(_) => std::thread::sleep(Duration::from_millis(1)),
            }
        }
    }

    /// True when no report arrives within `d`.
    fn quiet_for(&mut self, d: Duration) -> bool {
        std::thread::sleep(d);
        self.rx.is_empty()
    }
}

fn intent(
    id: u64,
    side: OrderSide,
    order_type: OrderType,
    price: f64,
    trigger: f64,
    qty: u32,
) -> OrderIntent {
    OrderIntent {
        client_order_id: id,
        price: (price * 1e9) as i64,
        trigger: (trigger * 1e9) as i64,
        qty,
        side,
        order_type,
        tif: TimeInForce::Gtc,
        action: OrderAction::New,
        ..OrderIntent::default()
    }
}

/// Entry 100 (buy 2 limit 4000), stop 101 (sell stop 3990), target 102 (sell limit 4010).
fn bracket() -> [OrderIntent; 3] {
    let mut entry = intent(100, OrderSide::Buy, OrderType::Limit, 4000.0, 0.0, 2);
    entry.children = 2;
    let mut stop = intent(101, OrderSide::Sell, OrderType::Stop, 0.0, 3990.0, 2);
    stop.link = 1;
    let mut target = intent(102, OrderSide::Sell, OrderType::Limit, 4010.0, 0.0, 2);
    target.link = 2;
    [entry, stop, target]
}

fn kinds(r: &ExecReport) -> (u64, ExecKind, u32, u32, u16) {
    (r.client_order_id, r.kind, r.qty, r.leaves, r.reason)
}

fn px(v: f64) -> i64 {
    (v * 1e9) as i64
}

fn count_submits(s: &FakeDtcServer) -> (usize, usize) {
    let m = s.order_messages();
    (
        m.iter().filter(|m| matches!(m, Message::SubmitNewSingleOrder(_))).count(),
        m.iter().filter(|m| matches!(m, Message::SubmitNewOcoOrder(_))).count(),
    )
}

#[test]
fn logon_is_accepted_or_refused_in_both_encodings() {
    for enc in [Encoding::Binary, Encoding::Json] {
        let s = server(FakeConfig::default());
        let edge = DtcEdge::connect_with(&cfg(s.port(), enc), creds()).expect("logon");
        assert_eq!(edge.session().server_name, "FakeDTC");
        assert_eq!(edge.session().encoding, enc);
        assert!(edge.session().trading_supported && edge.session().brackets_supported);
        let l = s.logons();
        assert_eq!(l.len(), 1);
        assert_eq!((l[0].heartbeat_interval_in_seconds, l[0].client_name.as_str()), (1, "MIA"));
        assert_eq!(
            (l[0].trade_account.as_str(), l[0].password.as_str(), l[0].trade_mode),
            (ACCOUNT, "pw", 2)
        );
        assert!(!format!("{edge:?}").contains(ACCOUNT), "Debug hides the account");

        let s = server(FakeConfig {
            logon: values::LOGON_ERROR,
            logon_text: "bad password".into(),
            ..FakeConfig::default()
        });
        let e = DtcEdge::connect_with(&cfg(s.port(), enc), creds()).expect_err("refused");
        assert!(matches!(&e, DtcError::LogonRejected { result: 2, no_reconnect: false, .. }), "{e}");
        assert!(e.to_string().contains("bad password") && !e.to_string().contains(ACCOUNT), "{e}");
    }
    let e =
        DtcEdge::connect_with(&DtcConfig { port: 0, ..DtcConfig::default() }, creds()).expect_err("config");
    assert!(matches!(e, DtcError::Config(_)));
}

#[test]
fn heartbeat_loss_means_reconnect_and_the_client_beats_too() {
    let s = server(FakeConfig::default());
    let mut o = Orders::start(&cfg(s.port(), Encoding::Binary));
    assert!(s.wait_until(WAIT, |s| s.heartbeats_received() >= 1), "the client sends heartbeats");
    assert!(s.wait_until(WAIT, |_| o.handle.stats().heartbeats_in >= 1), "and reads the server's");
    s.set_heartbeats(false);
    assert!(s.wait_until(WAIT, |s| s.connections() >= 2), "no server heartbeat for 2 intervals: reconnect");
    s.set_heartbeats(true);
    assert!(s.wait_until(WAIT, |_| o.handle.stats().logons >= 2));
    let st = o.handle.stats();
    assert!(st.disconnects >= 1 && st.logons >= 2, "{st:?}");
    assert!(o.quiet_for(Duration::from_millis(20)), "a reconnect without orders reports nothing");
    let stats = o.handle.join().expect("clean stop");
    assert!(stats.heartbeats_in >= 1 && stats.heartbeats_out >= 1, "{stats:?}");
}

#[test]
fn market_data_and_depth_become_events_through_a_ring_source() {
    for enc in [Encoding::Binary, Encoding::Json] {
        let s = server(FakeConfig::default());
        s.set_depth(&[(1, 4000.0, 10.0), (1, 3999.75, 5.0), (2, 4000.25, 7.0)]);
        let edge = DtcEdge::connect_with(&cfg(s.port(), enc), creds()).expect("logon");
        let (tx, mut src) = RingSource::pair("dtc ESZ25", 1024);
        let h = edge.spawn_market_data(tx).expect("spawn");
        let stop = h.stop_flag();
        let watchdog = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs(20));
            stop.store(true, std::sync::atomic::Ordering::Release);
        });
        let mut next = || src.next_event().expect("feed").expect("an event");
        let snap: Vec<_> =
            (0..4).map(|_| next()).map(|e| (e.kind, e.side, e.depth, e.price, e.size)).collect();
        assert_eq!(
            snap,
            vec![
                (EventKind::Clear, Side::None, 0, 0, 0),
                (EventKind::Level, Side::Bid, 0, px(4000.0), 10),
                (EventKind::Level, Side::Bid, 1, px(3999.75), 5),
                (EventKind::Level, Side::Ask, 0, px(4000.25), 7),
            ],
            "{enc:?}"
        );
        s.send_trade(4000.25, 3.0, values::AT_ASK, 1_700_000_000.25);
        let t = next();
        assert_eq!(
            (t.kind, t.side, t.price, t.size, t.ts_event),
            (EventKind::Trade, Side::Bid, px(4000.25), 3, 1_700_000_000_250_000_000)
        );
        assert!(t.is_last() && t.ts_recv > 0);
        s.send_depth_update(1, 4000.0, 0.0, values::DEPTH_DELETE);
        let a = next();
        let b = next();
        assert_eq!((a.depth, a.price, a.size, a.is_last()), (0, px(3999.75), 5, false));
        assert_eq!((b.depth, b.size, b.is_last()), (1, 0, true));
        // A bad price is dropped and counted, the stream goes on.
        s.send_trade(f64::MAX, 1.0, 1, 0.0);
        s.send_trade(4000.5, 1.0, values::AT_BID, 0.0);
        let t = next();
        assert_eq!((t.price, t.side), (px(4000.5), Side::Ask));
        assert_eq!(h.stats().bad_market_messages, 1);
        h.stop();
        let mut rest = 0;
        while src.next_event().expect("clean end").is_some() {
            rest += 1;
        }
        assert_eq!(rest, 0, "the stream ends on FeedItem::End");
        h.join().expect("stopped");
        drop(watchdog);
    }
}

#[test]
fn a_native_bracket_goes_out_as_parent_plus_oco_and_reports_every_state() {
    for enc in [Encoding::Binary, Encoding::Json] {
        let s = server(FakeConfig::default());
        let mut o = Orders::start(&cfg(s.port(), enc));
        for i in bracket() {
            o.send(i);
        }
        let acks: Vec<_> = (0..3).map(|_| kinds(&o.next())).collect();
        assert_eq!(
            acks,
            vec![
                (100, ExecKind::Accepted, 2, 2, 0),
                (101, ExecKind::Accepted, 2, 2, 0),
                (102, ExecKind::Accepted, 2, 2, 0)
            ],
            "{enc:?}"
        );
        let msgs = s.order_messages();
        let Message::SubmitNewSingleOrder(p) = &msgs[0] else { panic!("parent first: {msgs:?}") };
        assert_eq!(
            (p.client_order_id.as_str(), p.is_parent_order, p.order_type, p.buy_sell, p.price1, p.quantity),
            ("100", 1, 2, 1, 4000.0, 2.0)
        );
        assert_eq!(
            (p.symbol.as_str(), p.exchange.as_str(), p.trade_account.as_str(), p.time_in_force),
            ("ESZ25_FUT_CME", "CME", ACCOUNT, 2)
        );
        let Message::SubmitNewOcoOrder(c) = &msgs[1] else { panic!("then the OCO pair: {msgs:?}") };
        assert_eq!(c.parent_trigger_client_order_id, "100");
        assert_eq!(
            (c.client_order_id_1.as_str(), c.order_type_1, c.price1_1, c.buy_sell_1),
            ("101", 3, 3990.0, 2)
        );
        assert_eq!(
            (c.client_order_id_2.as_str(), c.order_type_2, c.price1_2, c.quantity_2),
            ("102", 2, 4010.0, 2.0)
        );
        assert_eq!(s.orders()["101"].status, values::STATUS_PENDING_CHILD);

        assert!(s.fill(100, 1.0, 4000.0));
        let r = o.next();
        assert_eq!((kinds(&r), r.price), ((100, ExecKind::Filled, 1, 1, 0), px(4000.0)), "partial fill");
        assert!(s.fill(100, 1.0, 4000.0));
        assert_eq!(kinds(&o.next()), (100, ExecKind::Filled, 1, 0, 0), "filled");
        assert!(s.wait_until(WAIT, |s| s.orders()["101"].status == values::STATUS_OPEN), "children released");
        assert!(s.fill(102, 2.0, 4010.0));
        let r = o.next();
        assert_eq!(
            (kinds(&r), r.price, r.side),
            ((102, ExecKind::Filled, 2, 0, 0), px(4010.0), OrderSide::Sell)
        );
        assert_eq!(kinds(&o.next()), (101, ExecKind::Cancelled, 2, 2, reason::OCO_SIBLING_FILLED));
        assert!(o.quiet_for(Duration::from_millis(50)), "repeated and position updates add no report");
        assert!(s.wait_until(WAIT, |_| o.handle.server_position() == Some(0)));
        let st = o.handle.stats();
        assert_eq!((st.position_mismatches, st.order_messages), (0, 2), "{st:?}");
        o.handle.join().expect("stop");
    }
}

#[test]
fn rejects_cancels_and_modifies() {
    let s = server(FakeConfig::default());
    let mut o = Orders::start(&cfg(s.port(), Encoding::Binary));
    s.reject_next_order("insufficient margin");
    o.send(intent(1, OrderSide::Buy, OrderType::Market, 0.0, 0.0, 1));
    assert_eq!(kinds(&o.next()), (1, ExecKind::Rejected, 1, 0, reason::SERVER_REJECTED));
    // A bracket with one child only.
    let [mut entry, stop, _] = bracket();
    entry.client_order_id = 200;
    let mut stop = OrderIntent { client_order_id: 201, ..stop };
    stop.link = 1;
    o.send(entry);
    o.send(stop);
    assert_eq!(kinds(&o.next()), (200, ExecKind::Rejected, 2, 0, reason::BRACKET_MALFORMED));
    assert_eq!(kinds(&o.next()), (201, ExecKind::Rejected, 2, 0, reason::BRACKET_MALFORMED));
    // Modify then cancel a working limit order.
    o.send(intent(3, OrderSide::Sell, OrderType::Limit, 4010.0, 0.0, 1));
    assert_eq!(kinds(&o.next()).1, ExecKind::Accepted);
    o.send(OrderIntent {
        action: OrderAction::Modify,
        ..intent(3, OrderSide::Sell, OrderType::Limit, 4011.0, 0.0, 2)
    });
    assert!(s.wait_until(WAIT, |s| s.orders()["3"].price1 == 4011.0 && s.orders()["3"].qty == 2.0));
    o.send(OrderIntent { client_order_id: 3, action: OrderAction::Cancel, ..OrderIntent::default() });
    assert_eq!(kinds(&o.next()), (3, ExecKind::Cancelled, 2, 2, reason::NONE));
    assert!(
        matches!(s.order_messages().last(), Some(Message::CancelOrder(c)) if c.client_order_id == "3" && c.server_order_id.starts_with('S'))
    );
    o.handle.join().expect("stop");

    // No trading, no brackets.
    let s = server(FakeConfig { trading: false, ..FakeConfig::default() });
    let mut o = Orders::start(&cfg(s.port(), Encoding::Binary));
    o.send(intent(5, OrderSide::Buy, OrderType::Market, 0.0, 0.0, 1));
    assert_eq!(kinds(&o.next()), (5, ExecKind::Rejected, 1, 0, reason::TRADING_NOT_SUPPORTED));
    let s = server(FakeConfig { brackets: false, ..FakeConfig::default() });
    let mut o = Orders::start(&cfg(s.port(), Encoding::Json));
    for i in bracket() {
        o.send(i);
    }
    for id in [100, 101, 102] {
        assert_eq!(kinds(&o.next()), (id, ExecKind::Rejected, 2, 0, reason::BRACKETS_NOT_SUPPORTED));
    }
    assert!(s.order_messages().is_empty(), "nothing reached the server");
}

#[test]
fn an_unsolicited_position_update_is_published_and_checked() {
    let s = server(FakeConfig::default());
    let o = Orders::start(&cfg(s.port(), Encoding::Json));
    assert!(s.wait_until(WAIT, |_| o.handle.server_position() == Some(0)), "the positions request at logon");
    s.send_position(3.0, 4000.0);
    assert!(s.wait_until(WAIT, |_| o.handle.server_position() == Some(3)));
    assert_eq!(o.handle.stats().position_mismatches, 1, "MIA reported no fill: the difference is counted");
}

#[test]
fn a_reconnect_mid_bracket_is_reconciled_without_a_duplicate_order() {
    for enc in [Encoding::Binary, Encoding::Json] {
        let s = server(FakeConfig::default());
        let mut o = Orders::start(&DtcConfig { reconnect_initial_ms: 150, ..cfg(s.port(), enc) });
        for i in bracket() {
            o.send(i);
        }
        for _ in 0..3 {
            assert_eq!(o.next().kind, ExecKind::Accepted);
        }
        assert!(s.fill(100, 2.0, 4000.0));
        assert_eq!(kinds(&o.next()), (100, ExecKind::Filled, 2, 0, 0));

        // 1. A drop with nothing happening meanwhile: the children are listed again, nothing
        //    is re-sent, nothing is reported.
        s.drop_connection();
        assert!(s.wait_until(WAIT, |s| s.connections() == 2 && s.logons().len() == 2));
        assert!(o.quiet_for(Duration::from_millis(100)), "{enc:?}: reconciled silently");
        assert_eq!(count_submits(&s), (1, 1), "no duplicate order on the wire");

        // 2. The target fills while the link is down (the server cancels the stop): both come
        //    back from the reconnect's open-orders and fills queries.
        s.drop_connection();
        assert!(s.fill(102, 2.0, 4010.0), "the fake fills while no client is connected");
        assert!(s.wait_until(WAIT, |s| s.logons().len() == 3));
        let a = o.next();
        let b = o.next();
        let mut got = [a, b];
        got.sort_by_key(|r| r.client_order_id);
        assert_eq!(kinds(&got[0]), (101, ExecKind::Cancelled, 2, 2, reason::OCO_SIBLING_FILLED), "{enc:?}");
        assert_eq!((kinds(&got[1]), got[1].price), ((102, ExecKind::Filled, 2, 0, 0), px(4010.0)));
        assert!(o.quiet_for(Duration::from_millis(100)), "each report once");
        assert_eq!(count_submits(&s), (1, 1), "still no duplicate");
        assert!(s.wait_until(WAIT, |_| o.handle.server_position() == Some(0)));
        // With the server gone, an order is refused at once (not queued for later).
        drop(s);
        let end = Instant::now() + WAIT;
        while o.handle.is_connected() && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(2));
        }
        o.send(intent(300, OrderSide::Buy, OrderType::Market, 0.0, 0.0, 1));
        assert_eq!(kinds(&o.next()), (300, ExecKind::Rejected, 1, 0, reason::NOT_CONNECTED));
        let st = o.handle.stats();
        assert!(st.disconnects >= 2 && st.logons >= 3, "{st:?}");
    }
}

#[test]
fn check_reports_what_works_and_the_account_never_reaches_the_logs() {
    let buf = logs();
    let s = server(FakeConfig {
        reject_market_data: Some("CME data not available to DTC clients".into()),
        ..FakeConfig::default()
    });
    let rep = check_with(&cfg(s.port(), Encoding::Binary), creds());
    assert!(rep.reachable && rep.logon_ok && rep.trading_allowed && rep.brackets_supported, "{rep:?}");
    assert_eq!(
        (rep.server_name.as_str(), rep.symbol.as_str(), rep.symbol_resolved),
        ("FakeDTC", "ESZ25_FUT_CME", Some(false))
    );
    assert!(rep.lines().iter().any(|l| l.contains("CME data not available")), "{:?}", rep.lines());
    let down = check_with(&cfg(1, Encoding::Binary), creds());
    assert!(!down.reachable && !down.logon_ok, "{down:?}");

    // A session that logs: logon, orders, a reject, a reconnect.
    let mut o = Orders::start(&cfg(s.port(), Encoding::Json));
    s.reject_next_order("rejected for the test");
    o.send(intent(9, OrderSide::Buy, OrderType::Market, 0.0, 0.0, 1));
    assert_eq!(o.next().kind, ExecKind::Rejected);
    s.drop_connection();
    assert!(s.wait_until(WAIT, |s| s.logons().len() >= 3));
    o.handle.join().expect("stop");
    assert!(s.logons().iter().all(|l| l.trade_account == ACCOUNT), "the account was sent to the server");
    let text =
        String::from_utf8_lossy(&buf.lock().unwrap_or_else(std::sync::PoisonError::into_inner)).into_owned();
    assert!(
        text.contains("DTC logon accepted") && text.contains("DTC connection lost"),
        "logs were captured: {text}"
    );
    assert!(!text.contains(ACCOUNT), "the account appears in the logs");
    assert!(!text.contains("pw\""), "the password appears in the logs");
}
