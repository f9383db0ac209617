//! Property tests: random orders, fills, prices, kills and day rolls against the invariants of
//! issue 9 (position limit, daily-loss halt, nothing while Halted, only exits while Reducing).

use super::*;
use crate::position::Position;
use mia_model::contract::ContractSpec;
use mia_model::msg::OrderSide;
use mia_model::time::calendar::Date;
use proptest::prelude::*;

const P: i64 = 1_000_000_000;
const FEE: NanoUsd = NanoUsd::from_nano(2_250_000_000);
const MAX_STEP_TICKS: i64 = 8;

#[derive(Clone, Debug)]
enum Op {
    /// Move the last trade by this many ticks.
    Price(i64),
    /// A market order (+ buy, − sell), filled at once at the last trade if approved.
    Order(i64),
    /// A limit order `qty` at `offset` ticks from the last trade (not filled).
    Limit(i64, i64),
    Kill,
    Resume,
    DayRoll,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (-MAX_STEP_TICKS..=MAX_STEP_TICKS).prop_map(Op::Price),
        4 => (-3i64..=3).prop_map(Op::Order),
        1 => ((-3i64..=3), (-30i64..=30)).prop_map(|(q, o)| Op::Limit(q, o)),
        1 => Just(Op::Kill),
        1 => Just(Op::Resume),
        1 => Just(Op::DayRoll),
    ]
}

fn cfg() -> RiskConfig {
    RiskConfig {
        max_position: 2,
        max_order_qty: 3,
        price_band_ticks: 20,
        max_daily_loss_usd: 300.0,
        max_drawdown_usd: 400.0,
        max_consecutive_losses: 3,
        max_trades_per_day: 6,
        ..RiskConfig::permissive()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn invariants_under_random_sequences(ops in proptest::collection::vec(op(), 1..300)) {
        let c = cfg();
        let mut r = RiskManager::new(&c);
        let mut pos = Position::new(ContractSpec::ES);
        let mut ts = Date::new(2025, 4, 15).and_then(|d| d.at_offset_ns(9, 0, -5)).expect("valid");
        let mut price = 5000 * P;
        let mut date = 20_250_415u32;
        let limit = NanoUsd::from_usd(c.max_daily_loss_usd);
        // one order's worth: the largest position over the largest price step, plus the fees
        // of the largest order
        let one_order = NanoUsd::from_nano(c.max_position * MAX_STEP_TICKS * 12_500_000_000) + i64::from(c.max_order_qty) * FEE;
        r.on_market(ts, price);
        for op in ops {
            ts += 100_000_000;
            let was = r.state();
            match op {
                Op::Price(d) => {
                    price = (price + d * TICK).max(100 * P);
                    r.on_market(ts, price);
                    pos.mark(price);
                }
                Op::Order(q) => {
                    let Some(side) = OrderSide::of_signed(q) else { continue };
                    let intent = OrderIntent { ts, side, qty: q.unsigned_abs() as u32, ..OrderIntent::default() };
                    let before = pos.qty();
                    let res = r.approve(intent, before);
                    if was == RiskState::Halted {
                        prop_assert_eq!(res.map(|_| ()), Err(RejectReason::Halted));
                    }
                    if res.is_ok() {
                        let after = before + q;
                        if was == RiskState::Reducing {
                            prop_assert!(after.abs() < before.abs() && after.signum() * before.signum() >= 0,
                                "only exits while Reducing: {before} → {after}");
                        }
                        let f = Fill { ts, side, qty: intent.qty, price, fee: FEE * i64::from(intent.qty), done: true, ..Fill::default() };
                        let trip = pos.on_fill(&f);
                        r.on_fill(&f, pos.qty(), trip.as_ref());
                    }
                }
                Op::Limit(q, off) => {
                    let Some(side) = OrderSide::of_signed(q) else { continue };
                    let intent = OrderIntent { ts, side, qty: q.unsigned_abs() as u32, price: price + off * TICK, order_type: OrderType::Limit, ..OrderIntent::default() };
                    let res = r.approve(intent, pos.qty());
                    if was == RiskState::Halted {
                        prop_assert!(res.is_err());
                    }
                    // Priced more than the band *through* the last trade: never approved.
                    if off * q.signum() > 20 {
                        prop_assert!(res.is_err(), "through the band");
                    }
                }
                Op::Kill => r.kill(RejectReason::KillSwitch, KillSource::Cli),
                Op::Resume => { r.resume(); }
                Op::DayRoll => {
                    date += 1;
                    r.roll_day(date);
                }
            }
            let net = pos.net_realized() + pos.unrealized(price);
            let stop_before = r.day_stop();
            r.on_pnl(net);
            prop_assert!(pos.qty().abs() <= c.max_position, "position {} over the limit", pos.qty());
            if r.day_pnl() <= -limit {
                prop_assert!(r.state() != RiskState::Active, "loss {} past the limit while Active", r.day_pnl());
            }
            if stop_before.is_none() && r.day_stop() == Some(RejectReason::DailyLoss) {
                prop_assert!(-r.day_pnl() - limit <= one_order,
                    "the halt fired {} past the limit", -r.day_pnl() - limit);
            }
            if r.state() == RiskState::Halted {
                prop_assert_eq!(r.position(), 0);
            }
        }
    }
}
