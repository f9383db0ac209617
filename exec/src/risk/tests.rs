//! Unit tests of the risk manager: each check's refusal, the states, the day roll, Kelly.

use super::*;
use mia_model::msg::OrderSide;
use mia_model::time::calendar::Date;

const S: u64 = 1_000_000_000;
const P: i64 = 1_000_000_000;
const USD: NanoUsd = NanoUsd::from_whole_usd(1);

/// 2025-04-15 (Tuesday) `hh:mm` CDT, in UTC ns.
fn ct(hh: u32, mm: u32) -> u64 {
    Date::new(2025, 4, 15).and_then(|d| d.at_offset_ns(hh, mm, -5)).expect("valid")
}

fn rm(cfg: RiskConfig) -> RiskManager {
    RiskManager::new(&cfg)
}

fn base() -> RiskConfig {
    RiskConfig {
        max_position: 2,
        max_order_qty: 2,
        max_orders_per_sec: 3,
        max_daily_loss_usd: 100.0,
        ..RiskConfig::permissive()
    }
}

fn limit(ts: u64, side: OrderSide, qty: u32, price: Px) -> OrderIntent {
    OrderIntent { ts, side, qty, price, order_type: OrderType::Limit, ..OrderIntent::default() }
}

fn fill(ts: u64, side: OrderSide, qty: u32) -> Fill {
    Fill { ts, side, qty, price: 5000 * P, ..Fill::default() }
}

fn trip(net_usd: i64) -> RoundTrip {
    RoundTrip { pnl: net_usd * USD, ..RoundTrip::default() }
}

#[test]
fn position_and_size_limits() {
    let mut r = rm(base());
    let t = ct(9, 0);
    assert_eq!(r.check(t, 3, 0), Err(RejectReason::OrderSize));
    assert_eq!(r.check(t, 0, 0), Err(RejectReason::OrderSize));
    assert_eq!(r.check(t, 2, 1), Err(RejectReason::MaxPosition));
    assert_eq!(r.check(t, -2, -1), Err(RejectReason::MaxPosition));
    assert_eq!(r.check(t, 1, 1), Ok(()));
    assert_eq!(r.check(t, -2, 2), Ok(()), "reducing is fine");
    assert_eq!(r.rejected(RejectReason::OrderSize), 2);
    assert_eq!(r.rejected(RejectReason::MaxPosition), 2);
    assert_eq!(r.approved, 2);
}

#[test]
fn orders_that_add_risk_count_the_working_ones_exits_do_not() {
    let mut r = rm(base());
    let t = ct(9, 0);
    let mkt =
        |side, qty| OrderIntent { ts: t, side, qty, order_type: OrderType::Market, ..OrderIntent::default() };
    // Flat, one buy still working (its fill may be on the wire): a second buy of 2 could make 3.
    assert_eq!(r.approve_working(mkt(OrderSide::Buy, 2), 0, 1).map(|_| ()), Err(RejectReason::MaxPosition));
    assert!(r.approve_working(mkt(OrderSide::Buy, 1), 0, 1).is_ok(), "1 + 1 = the limit");
    // Long 1, a working buy of 1: nothing more on the buy side.
    assert_eq!(r.approve_working(mkt(OrderSide::Buy, 1), 1, 1).map(|_| ()), Err(RejectReason::MaxPosition));
    // An exit is decided on the filled position: long 2 with two working sells (a bracket's
    // stop and target) can still sell 2.
    assert!(r.approve_working(mkt(OrderSide::Sell, 2), 2, 2).is_ok());
    // A sell that opens a short counts the working sells.
    assert_eq!(r.approve_working(mkt(OrderSide::Sell, 1), 0, 2).map(|_| ()), Err(RejectReason::MaxPosition));
    assert_eq!(r.rejected(RejectReason::MaxPosition), 3);
}

#[test]
fn order_rate_window() {
    let mut r = rm(base());
    let t = ct(9, 0);
    for i in 0..3 {
        assert_eq!(r.check(t + i, 1, 0), Ok(()));
    }
    assert_eq!(r.check(t + 500_000_000, 1, 0), Err(RejectReason::OrderRate));
    assert_eq!(r.check(t + 500_000_000, -1, 1), Ok(()), "exits are not rate-limited");
    // the window holds the last 3 approvals: t+1, t+2, t+0.5 s; at t+1 s+2 only t+0.5 s is
    // younger than a second → room again
    assert_eq!(r.check(t + S + 2, 1, 0), Ok(()), "window slid past the first orders");
    assert_eq!(r.rejected(RejectReason::OrderRate), 1);
}

#[test]
fn modify_rate_window_is_separate() {
    let mut r = rm(RiskConfig { max_modifies_per_sec: 2, ..base() });
    let t = ct(9, 0);
    let o = |ts| OrderIntent { ts, side: OrderSide::Buy, qty: 1, ..OrderIntent::default() };
    assert!(r.approve_modify(o(t), 0).is_ok());
    assert!(r.approve_modify(o(t + 1), 0).is_ok());
    assert_eq!(r.approve_modify(o(t + 2), 0), Err(RejectReason::ModifyRate));
    assert!(r.approve(o(t + 3), 0).is_ok(), "new orders have their own window");
    assert!(r.approve_modify(o(t + S + 1), 0).is_ok());
    assert_eq!(r.rejected(RejectReason::ModifyRate), 1);
}

#[test]
fn price_band_and_invalid_price() {
    let mut r = rm(RiskConfig { price_band_ticks: 20, ..base() });
    let t = ct(9, 0);
    let last = 5000 * P;
    assert_eq!(
        r.approve(limit(t, OrderSide::Buy, 1, last), 0).map(|_| ()),
        Err(RejectReason::PriceBand),
        "no last trade"
    );
    r.on_market(t, last);
    // 20 ticks = 5 points
    assert!(r.approve(limit(t, OrderSide::Buy, 1, last + 5 * P), 0).is_ok());
    assert!(r.approve(limit(t, OrderSide::Sell, 1, last - 5 * P), 1).is_ok());
    assert_eq!(r.approve(limit(t, OrderSide::Buy, 1, last + 5 * P + TICK), 0), Err(RejectReason::PriceBand));
    assert_eq!(
        r.approve(limit(t, OrderSide::Sell, 1, last - 5 * P - TICK), 1),
        Err(RejectReason::PriceBand),
        "exits too"
    );
    assert_eq!(
        r.approve(limit(t, OrderSide::Buy, 1, last + 100_000_000), 0),
        Err(RejectReason::InvalidPrice)
    );
    assert_eq!(r.approve(limit(t, OrderSide::Buy, 1, 0), 0), Err(RejectReason::InvalidPrice));
    // a market order carries no price
    assert_eq!(r.check(t, 1, 0), Ok(()));
    // The passive side is not banded: a take-profit resting 10 points away is accepted (a
    // sell above the last trade, a buy below it cannot trade through the market).
    let t2 = ct(9, 1); // a new 1-second window for the order rate
    assert_eq!(
        r.approve(limit(t2, OrderSide::Sell, 1, last + 10 * P), 1).map(|_| ()),
        Ok(()),
        "passive sell far above"
    );
    assert_eq!(
        r.approve(limit(t2, OrderSide::Buy, 1, last - 10 * P), 0).map(|_| ()),
        Ok(()),
        "passive buy far below"
    );
}

#[test]
fn daily_loss_reduces_then_halts() {
    let mut r = rm(base());
    let t = ct(9, 0);
    r.on_fill(&fill(t, OrderSide::Buy, 1), 1, None);
    r.on_pnl(-50 * USD);
    assert_eq!(r.state(), RiskState::Active);
    r.on_pnl(-100 * USD);
    assert_eq!((r.state(), r.reason()), (RiskState::Reducing, Some(RejectReason::DailyLoss)));
    assert_eq!(r.check(t, 1, 1), Err(RejectReason::ReduceOnly));
    assert_eq!(r.check(t, -2, 1), Err(RejectReason::ReduceOnly), "a flip is not a reduction");
    assert_eq!(r.check(t, -1, 1), Ok(()));
    r.on_fill(&fill(t + 1, OrderSide::Sell, 1), 0, Some(&trip(-100)));
    assert_eq!((r.state(), r.reason()), (RiskState::Halted, Some(RejectReason::DailyLoss)));
    assert_eq!(r.check(t + 2, 1, 0), Err(RejectReason::Halted));
    assert_eq!(r.check(t + 2, -1, 1), Err(RejectReason::Halted), "nothing passes while halted");
    let log: Vec<_> = r.transitions().map(|x| (x.from, x.to)).collect();
    assert_eq!(log, vec![(RiskState::Active, RiskState::Reducing), (RiskState::Reducing, RiskState::Halted)]);
    assert_eq!(r.transitions_total, 2);
}

#[test]
fn drawdown_from_the_days_peak() {
    let mut r = rm(RiskConfig { max_daily_loss_usd: 2000.0, max_drawdown_usd: 2500.0, ..base() });
    r.on_market(ct(9, 0), 5000 * P);
    r.on_pnl(1500 * USD);
    r.on_pnl(-900 * USD); // 2400 below the peak
    assert_eq!(r.state(), RiskState::Active);
    assert_eq!(r.day_peak(), 1500 * USD);
    r.on_pnl(-1000 * USD); // 2500 below the peak, only 1000 lost on the day
    assert_eq!((r.state(), r.reason()), (RiskState::Halted, Some(RejectReason::Drawdown)));
}

#[test]
fn consecutive_losses_stop_and_a_win_resets() {
    let mut r = rm(RiskConfig { max_consecutive_losses: 3, ..base() });
    let t = ct(9, 0);
    let round = |r: &mut RiskManager, i: u64, net: i64| {
        r.on_fill(&fill(t + i, OrderSide::Buy, 1), 1, None);
        r.on_fill(&fill(t + i + 1, OrderSide::Sell, 1), 0, Some(&trip(net)));
    };
    round(&mut r, 0, -10);
    round(&mut r, 2, -10);
    round(&mut r, 4, 5);
    assert_eq!(r.consecutive_losses(), 0, "a win resets the count");
    round(&mut r, 6, -10);
    round(&mut r, 8, -10);
    assert_eq!(r.state(), RiskState::Active);
    round(&mut r, 10, 0); // break-even counts as a non-loss
    assert_eq!(r.consecutive_losses(), 0);
    round(&mut r, 12, -1);
    round(&mut r, 14, -1);
    round(&mut r, 16, -1);
    assert_eq!((r.state(), r.reason()), (RiskState::Halted, Some(RejectReason::ConsecutiveLosses)));
}

#[test]
fn trades_per_day() {
    let mut r = rm(RiskConfig { max_trades_per_day: 2, ..base() });
    let t = ct(9, 0);
    r.on_fill(&fill(t, OrderSide::Buy, 1), 1, None);
    r.on_fill(&fill(t + 1, OrderSide::Sell, 1), 0, Some(&trip(5)));
    r.on_fill(&fill(t + 2, OrderSide::Buy, 1), 1, None);
    assert_eq!(r.trades_today(), 2);
    assert_eq!(r.check(t + 3, 1, 1), Ok(()), "adding is not a new trade");
    assert_eq!(r.check(t + 3, -2, 1), Err(RejectReason::TradesPerDay), "a flip opens a third trade");
    assert_eq!(r.state(), RiskState::Active);
    r.on_fill(&fill(t + 4, OrderSide::Sell, 1), 0, Some(&trip(5)));
    assert_eq!((r.state(), r.reason()), (RiskState::Halted, Some(RejectReason::TradesPerDay)));
}

#[test]
fn session_windows_block_entries_not_exits() {
    let w = SessionWindows::parse(&["08:30-15:00"]).expect("valid");
    let mut r = rm(RiskConfig { session_windows: w, ..base() });
    assert_eq!(r.check(ct(8, 29), 1, 0), Err(RejectReason::OutsideSession));
    assert_eq!(r.check(ct(8, 30), 1, 0), Ok(()));
    assert_eq!(r.check(ct(14, 59), 1, 0), Ok(()));
    assert_eq!(r.check(ct(15, 0), 1, 1), Err(RejectReason::OutsideSession));
    assert_eq!(r.check(ct(15, 0), -1, 1), Ok(()), "exits are allowed outside the windows");
    // winter time (CST): 2025-01-21 08:30 CST = 14:30 UTC (a fresh manager: event time only
    // moves forward)
    let mut r = rm(RiskConfig { session_windows: w, ..base() });
    let jan = Date::new(2025, 1, 21).and_then(|d| d.at_offset_ns(8, 30, -6)).expect("valid");
    assert_eq!(r.check(jan - 60 * S, 1, 0), Err(RejectReason::OutsideSession));
    assert_eq!(r.check(jan, 1, 0), Ok(()));
}

#[test]
fn stale_feed_guard() {
    let mut r = rm(RiskConfig { feed_max_age_ms: 2000, ..base() });
    let t = ct(9, 0);
    assert_eq!(r.check(t, 1, 0), Err(RejectReason::StaleFeed), "no market data yet");
    r.on_market(t, 0);
    assert_eq!(r.check(t + 2 * S, 1, 0), Ok(()), "2 s old is within the limit");
    assert_eq!(r.check(t + 2 * S + 1_000_000, 1, 0), Err(RejectReason::StaleFeed));
    assert_eq!(r.check(t + 10 * S, -1, 1), Ok(()), "exits pass on stale data");
}

#[test]
fn stale_gamma_guard() {
    let mut r = rm(RiskConfig { gamma_max_age_s: 900, ..base() });
    let t = ct(9, 0);
    assert_eq!(r.check(t, 1, 0), Err(RejectReason::StaleGamma), "no snapshot yet");
    r.on_gamma_age(t, 100 * S); // computed at t − 100 s
    assert_eq!(r.check(t + 800 * S, 1, 0), Ok(()), "900 s old: at the limit");
    assert_eq!(r.check(t + 800 * S + 1, 1, 0), Err(RejectReason::StaleGamma));
}

#[test]
fn margin_against_equity() {
    let cfg = RiskConfig {
        max_position: 10,
        max_order_qty: 10,
        account_equity_usd: 50_000.0,
        initial_margin_usd: 13_200.0,
        max_daily_loss_usd: 1e9,
        ..base()
    };
    let mut r = rm(cfg);
    let t = ct(9, 0);
    assert_eq!(r.check(t, 3, 0), Ok(())); // 39,600 ≤ 50,000
    assert_eq!(r.check(t, 4, 0), Err(RejectReason::Margin)); // 52,800 > 50,000
    assert_eq!(r.check(t, 1, 3), Err(RejectReason::Margin));
    r.on_pnl(-10_401 * USD); // equity 39,599 < 39,600
    assert_eq!(r.equity(), 39_599 * USD);
    assert_eq!(r.check(t, 3, 0), Err(RejectReason::Margin));
    assert_eq!(r.check(t, 2, 0), Ok(()));
    assert_eq!(r.check(t, -1, 5), Ok(()), "exits free margin");
}

#[test]
fn kill_switch_flattens_then_halts_until_resume() {
    let mut r = rm(base());
    let t = ct(9, 0);
    r.on_market(t, 5000 * P);
    r.on_fill(&fill(t, OrderSide::Buy, 1), 1, None);
    r.kill(RejectReason::KillSwitch, KillSource::File);
    assert_eq!(
        (r.state(), r.reason(), r.kill_source()),
        (RiskState::Reducing, Some(RejectReason::KillSwitch), Some(KillSource::File))
    );
    assert_eq!(r.check(t + 1, 1, 1), Err(RejectReason::ReduceOnly));
    assert_eq!(r.check(t + 1, -1, 1), Ok(()), "the flatten order passes");
    r.on_fill(&fill(t + 2, OrderSide::Sell, 1), 0, Some(&trip(-3)));
    assert_eq!(r.state(), RiskState::Halted);
    // a second kill keeps the first source; a day roll does not lift a kill
    r.kill(RejectReason::KillSwitch, KillSource::Cli);
    assert_eq!((r.kills, r.kill_source()), (2, Some(KillSource::File)));
    r.roll_day(20_250_416);
    assert_eq!(r.state(), RiskState::Halted);
    // a late fill reopens a position: Reducing again, so it can be flattened
    r.on_fill(&fill(t + 3, OrderSide::Buy, 1), 1, None);
    assert_eq!(r.state(), RiskState::Reducing);
    r.on_fill(&fill(t + 4, OrderSide::Sell, 1), 0, Some(&trip(-3)));
    assert_eq!(r.state(), RiskState::Halted);
    assert!(r.resume());
    assert_eq!((r.state(), r.reason()), (RiskState::Active, None));
    assert!(!r.resume());
    // a kill while flat halts at once
    r.kill(RejectReason::KillSwitch, KillSource::Signal);
    assert_eq!(r.state(), RiskState::Halted);
    assert_eq!(KillSource::from_arg(2), KillSource::Signal);
    assert_eq!(KillSource::from_arg(0), KillSource::Control);
    assert_eq!(KillSource::from_arg(99), KillSource::Control);
}

#[test]
fn resume_keeps_a_daily_stop() {
    let mut r = rm(base());
    r.on_market(ct(9, 0), 5000 * P);
    r.on_pnl(-100 * USD);
    r.kill(RejectReason::KillSwitch, KillSource::Cli);
    assert_eq!(r.reason(), Some(RejectReason::KillSwitch), "the kill is reported first");
    r.resume();
    assert_eq!((r.state(), r.reason()), (RiskState::Halted, Some(RejectReason::DailyLoss)));
}

#[test]
fn day_roll_resets_the_daily_counters() {
    let mut r = rm(RiskConfig { max_trades_per_day: 5, ..base() });
    let t = ct(9, 0);
    r.on_market(t, 5000 * P);
    assert_eq!(r.session_date(), 20_250_415);
    r.on_fill(&fill(t, OrderSide::Buy, 1), 1, None);
    r.on_fill(&fill(t + 1, OrderSide::Sell, 1), 0, Some(&trip(-150)));
    r.on_pnl(-150 * USD);
    assert_eq!((r.state(), r.trades_today(), r.consecutive_losses()), (RiskState::Halted, 1, 1));
    // 16:00 CDT belongs to the next session: the roll comes from the event time
    r.on_market(ct(16, 0), 5000 * P);
    assert_eq!((r.session_date(), r.day_rolls), (20_250_416, 1));
    assert_eq!((r.state(), r.reason()), (RiskState::Active, None));
    assert_eq!(
        (r.trades_today(), r.consecutive_losses(), r.day_pnl(), r.day_peak()),
        (0, 0, NanoUsd::ZERO, NanoUsd::ZERO)
    );
    // the new day's P&L is measured from the roll: the run is still at −150
    r.on_pnl(-150 * USD);
    assert_eq!((r.day_pnl(), r.state()), (NanoUsd::ZERO, RiskState::Active));
    r.on_pnl(-249 * USD);
    assert_eq!(r.state(), RiskState::Active);
    r.on_pnl(-250 * USD);
    assert_eq!(r.state(), RiskState::Halted);
    // equity counts the whole run
    assert_eq!(r.equity(), NanoUsd::from_usd(r.config().account_equity_usd) - 250 * USD);
    // the same date again changes nothing
    r.roll_day(20_250_416);
    assert_eq!(r.day_rolls, 1);
}

#[test]
fn transition_log_keeps_the_last_entries() {
    let mut r = rm(base());
    r.on_market(ct(9, 0), 5000 * P);
    for _ in 0..40 {
        r.kill(RejectReason::KillSwitch, KillSource::Cli);
        r.resume();
    }
    assert_eq!(r.transitions_total, 80);
    let log: Vec<_> = r.transitions().collect();
    assert_eq!(log.len(), TRANSITION_LOG_CAP);
    assert_eq!((log[0].to, log[31].to), (RiskState::Halted, RiskState::Active));
    assert_eq!(log[0].reason, Some(RejectReason::KillSwitch));
}

#[test]
fn reason_codes_are_stable() {
    for (i, r) in RejectReason::ALL.iter().enumerate() {
        assert_eq!(*r as usize, i + 1);
        assert_eq!(RejectReason::from_u8(*r as u8), Some(*r));
    }
    assert_eq!(RejectReason::from_u8(0), None);
    assert_eq!(RejectReason::from_u8(19), None);
    let mut names: Vec<_> = RejectReason::ALL.iter().map(|r| r.name()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), REJECT_REASONS);
}

// ---- sizing --------------------------------------------------------------------------------

fn sizing(max_size: u32) -> RiskManager {
    rm(RiskConfig {
        kelly_window: 10,
        kelly_min_trades: 10,
        kelly_fraction: 0.25,
        kelly_risk_per_contract_usd: 500.0,
        account_equity_usd: 50_000.0,
        min_size: 1,
        max_size,
        ..base()
    })
}

fn close_trips(r: &mut RiskManager, nets: &[i64]) {
    let t = ct(9, 0);
    for (i, &n) in nets.iter().enumerate() {
        r.on_fill(&fill(t + i as u64, OrderSide::Sell, 1), 0, Some(&trip(n)));
    }
}

#[test]
fn kelly_falls_back_to_the_minimum_with_few_trades() {
    let mut r = sizing(10);
    close_trips(&mut r, &[200, 200, 200, 200, 200, 200, -100, -100, -100]);
    assert_eq!(r.kelly().len(), 9);
    assert_eq!(r.size(1.0, 0), 1, "9 < kelly_min_trades = 10");
    assert_eq!(r.size(1.0, 0), r.config().min_size);
}

#[test]
fn kelly_hand_computed() {
    let mut r = sizing(10);
    // p = 0.6, b = 200/100 = 2 → f* = 0.6 − 0.4/2 = 0.4; × 0.25 = 0.1 of 50,000 USD = 5,000
    // USD at risk / 500 per contract = 10 contracts at full confidence.
    close_trips(&mut r, &[200, -100, 200, 200, -100, 200, -100, 200, -100, 200]);
    assert_eq!(r.size(1.0, 0), 10);
    assert_eq!(r.size(0.5, 0), 5);
    assert_eq!(r.size(0.55, 0), 5, "5.5 rounds down");
    assert_eq!(r.size(0.5, 3), 3, "the hint is an upper bound");
    assert_eq!(r.size(0.05, 0), 1, "0.5 contract → min_size");
    assert_eq!(r.size(f32::NAN, 0), 1, "non-finite confidence → min_size");
    assert_eq!(r.size(2.0, 0), 10, "confidence clamps to 1");
    let capped = {
        let mut r = sizing(4);
        close_trips(&mut r, &[200, -100, 200, 200, -100, 200, -100, 200, -100, 200]);
        r.size(1.0, 0)
    };
    assert_eq!(capped, 4, "max_size caps");
}

#[test]
fn kelly_without_edge_uses_the_minimum() {
    let mut r = sizing(10);
    // p = 0.4, b = 1 → f* = 0.4 − 0.6 = −0.2
    close_trips(&mut r, &[100, -100, 100, -100, 100, -100, 100, -100, -100, -100]);
    assert!(r.kelly().estimate().is_some_and(|e| (e.f_star + 0.2).abs() < 1e-12));
    assert_eq!(r.size(1.0, 0), 1);
}
