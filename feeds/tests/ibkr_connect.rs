//! Handshake, server-version refusal, bad handshakes, contract resolution by MIA's roll rule,
//! and `check`, against the fake TWS.

mod ibkr_support;

use ibkr_support::{cfg, connect, ACCOUNT};
use mia_feeds::ibkr::check::{check_with, Verdict};
use mia_feeds::ibkr::fake::{FakeConfig, FakeFuture, FakeTws};
use mia_feeds::ibkr::{ConnectOptions, IbkrEdge, IbkrError, Secret};
use mia_model::time::calendar::Date;
use std::time::Duration;

fn d(y: i32, m: u8, day: u8) -> Date {
    Date::new(y, m, day).expect("date")
}

fn connect_on(fake: &FakeTws, today: Date) -> Result<IbkrEdge, IbkrError> {
    let dir = tempfile::tempdir().expect("tmp");
    let opts = ConnectOptions { account: Some(Secret::new(ACCOUNT)), today: Some(today) };
    IbkrEdge::connect_with(&cfg(fake.port()), dir.path(), opts)
}

#[test]
fn handshake_sends_the_client_id_and_reads_the_server_version() {
    let fake = FakeTws::start(FakeConfig::default()).expect("fake");
    let dir = tempfile::tempdir().expect("tmp");
    let edge = connect(&fake, &cfg(fake.port()), dir.path());
    assert_eq!(edge.server_version(), 226);
    assert_eq!(edge.contract().local_symbol, "ESZ6");
    let s = fake.snapshot();
    assert_eq!(s.start_api, vec![5], "StartApi carries the configured client id");
    assert_eq!(s.sessions, 1);
}

#[test]
fn a_server_below_213_is_refused_with_its_version() {
    let fake = FakeTws::start(FakeConfig { server_version: 187, ..FakeConfig::default() }).expect("fake");
    let err = connect_on(&fake, d(2026, 12, 1)).expect_err("refused");
    match &err {
        IbkrError::ServerVersion { found, need, .. } => assert_eq!((*found, *need), (187, 213)),
        other => panic!("expected a server-version error, got {other}"),
    }
    assert!(err.to_string().contains("187"), "{err}");
}

#[test]
fn garbage_instead_of_a_handshake_is_a_clear_error() {
    let garbage = b"\x00\x00\x00\x05\xff\xfe\xfd\xfc\xfb".to_vec();
    let fake =
        FakeTws::start(FakeConfig { handshake_reply: Some(garbage), ..FakeConfig::default() }).expect("fake");
    let err = connect_on(&fake, d(2026, 12, 1)).expect_err("garbage");
    assert!(
        matches!(
            err,
            IbkrError::Handshake { .. } | IbkrError::Timeout { .. } | IbkrError::ServerVersion { .. }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("127.0.0.1"), "names the address: {err}");
}

#[test]
fn a_bad_frame_length_in_the_handshake_is_a_clear_error() {
    // Length 0x7fffffff: beyond ibapi's 16 MiB frame limit.
    let bad = b"\x7f\xff\xff\xff226\x00".to_vec();
    let fake =
        FakeTws::start(FakeConfig { handshake_reply: Some(bad), ..FakeConfig::default() }).expect("fake");
    let err = connect_on(&fake, d(2026, 12, 1)).expect_err("bad length");
    assert!(err.to_string().contains("127.0.0.1"), "{err}");
}

#[test]
fn nothing_listening_is_unreachable() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let dir = tempfile::tempdir().expect("tmp");
    let err =
        IbkrEdge::connect_with(&cfg(port), dir.path(), ConnectOptions::default()).expect_err("nothing there");
    assert!(matches!(err, IbkrError::Unreachable { .. }), "{err}");
}

#[test]
fn contract_resolution_follows_the_roll_rule() {
    // ESZ6 expires 2026-12-18 and rolls 2026-12-10 (8 days before): from the roll date on,
    // the front month is ESH7.
    assert_eq!(mia_model::contract::roll_date(2026, 12), d(2026, 12, 10));
    let fake = FakeTws::start(FakeConfig::default()).expect("fake");
    for (day, want) in [
        (d(2026, 12, 9), "ESZ6"),
        (d(2026, 12, 10), "ESH7"),
        (d(2026, 12, 15), "ESH7"),
        (d(2026, 9, 9), "ESU6"),
    ] {
        let edge = connect_on(&fake, day).expect("connect");
        assert_eq!(edge.contract().local_symbol, want, "on {day:?}");
        assert_eq!(edge.contract().expiry.month % 3, 0);
    }
}

#[test]
fn no_matching_expiry_names_the_root_and_what_was_listed() {
    let futures = vec![FakeFuture {
        con_id: 1,
        symbol: "ES".into(),
        local_symbol: "ESH7".into(),
        expiry: "20270319".into(),
    }];
    let fake = FakeTws::start(FakeConfig { futures, ..FakeConfig::default() }).expect("fake");
    let err = connect_on(&fake, d(2026, 12, 1)).expect_err("no Z6");
    let s = err.to_string();
    assert!(s.contains("ES") && s.contains("2026-12") && s.contains("ESH7 2027-03-19"), "{s}");
}

#[test]
fn an_account_the_gateway_does_not_manage_is_refused_without_printing_it() {
    let fake = FakeTws::start(FakeConfig::default()).expect("fake");
    let dir = tempfile::tempdir().expect("tmp");
    let opts = ConnectOptions { account: Some(Secret::new("DU7654321")), today: Some(d(2026, 12, 1)) };
    let err = IbkrEdge::connect_with(&cfg(fake.port()), dir.path(), opts).expect_err("not managed");
    let s = err.to_string();
    assert!(matches!(err, IbkrError::Account(_)), "{s}");
    assert!(!s.contains("7654321") && !s.contains("1234567"), "{s}");
}

#[test]
fn check_reports_every_row() {
    let fake = FakeTws::start(FakeConfig { current_time: None, ..FakeConfig::default() }).expect("fake");
    let r = check_with(&cfg(fake.port()), Some(Secret::new(ACCOUNT)), d(2026, 12, 1));
    let text = r.to_string();
    assert!(r.ok(), "{text}");
    for name in ["config", "gateway reachable", "server version", "account", "contract", "clock skew"] {
        assert_eq!(r.row(name).map(|x| x.verdict), Some(Verdict::Pass), "{name}: {text}");
    }
    assert!(text.contains("ESZ6") && text.contains("DU…(9)"), "{text}");
    assert!(!text.contains(ACCOUNT), "the account is redacted: {text}");

    let skewed = FakeTws::start(FakeConfig { current_time: Some(1_000_000_000), ..FakeConfig::default() })
        .expect("fake");
    let r = check_with(&cfg(skewed.port()), None, d(2026, 12, 1));
    assert_eq!(r.row("clock skew").map(|x| x.verdict), Some(Verdict::Warn), "{r}");
    assert_eq!(r.row("account").map(|x| x.verdict), Some(Verdict::Warn), "unset account, one managed: {r}");

    let old = FakeTws::start(FakeConfig { server_version: 200, ..FakeConfig::default() }).expect("fake");
    let r = check_with(&cfg(old.port()), None, d(2026, 12, 1));
    assert_eq!(r.row("server version").map(|x| x.verdict), Some(Verdict::Fail), "{r}");
    assert!(!r.ok());
    let _ = fake.wait(Duration::from_millis(1), |_| true);
}
