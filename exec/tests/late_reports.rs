//! The exec stage against a broker that executes at once and reports late.
//!
//! A live venue's reports trail what the broker did: a market entry can be filled at the
//! broker while the stage still sees it as submitted, and a cancel can arrive after the fill
//! it was meant to prevent. This is the race that once let a session stack entries to 6
//! contracts with `max_position = 2` (each new bracket was opened while the previous entry's
//! fill was still on the wire). The property test drives random signals, prices and report
//! delays through [`ExecStage`] with a [`LiveVenue`], and a small broker model that keeps the
//! *true* position: it never exceeds the limit, and after a flatten both sides agree on flat.

use mia_exec::exec_stage::{ExecStage, Trading};
use mia_exec::risk::RiskConfig;
use mia_exec::venue::LiveVenue;
use mia_model::contract::ContractSpec;
use mia_model::event::{flags, Event, Side};
use mia_model::money::NanoUsd;
use mia_model::msg::{
    Control, ControlKind, Direction, Envelope, ExecKind, ExecReport, Msg, OrderAction, OrderIntent,
    OrderSide, OrderType, Signal,
};
use mia_model::price::{Px, UNDEF_PX};
use mia_runtime::stage::{Outbox, Stage};
use proptest::prelude::*;
use std::collections::VecDeque;

const P: Px = 1_000_000_000;
const TICK: Px = 250_000_000;
const MAX_POSITION: i64 = 2;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Life {
    Live,
    Done,
}

#[derive(Clone, Copy, Debug)]
struct BrokerOrder {
    id: u64,
    side: OrderSide,
    ty: OrderType,
    qty: u32,
    filled: u32,
    price: Px,
    trigger: Px,
    /// The bracket entry this child belongs to (0 = none).
    parent: u64,
    life: Life,
}

/// Executes at once, reports in order but late (IB's socket keeps the order of its messages).
#[derive(Default)]
struct Broker {
    orders: Vec<BrokerOrder>,
    reports: VecDeque<ExecReport>,
    position: i64,
    max_abs: i64,
    px: Px,
    seq: u64,
    ts: u64,
}

impl Broker {
    fn report(&mut self, o: &BrokerOrder, kind: ExecKind, qty: u32, price: Px) {
        self.seq += 1;
        self.reports.push_back(ExecReport {
            client_order_id: o.id,
            seq: self.seq,
            ts: self.ts,
            price,
            fee: NanoUsd::ZERO,
            qty,
            leaves: o.qty - o.filled,
            side: o.side,
            kind,
            reason: 0,
        });
    }

    fn fill(&mut self, k: usize) {
        let px = self.px;
        let q = self.orders[k].qty - self.orders[k].filled;
        self.orders[k].filled += q;
        self.orders[k].life = Life::Done;
        self.position += self.orders[k].side.sign() * i64::from(q);
        self.max_abs = self.max_abs.max(self.position.abs());
        let o = self.orders[k];
        self.report(&o, ExecKind::Filled, q, px);
        if o.parent != 0 {
            // OCA: a filled child cancels its sibling.
            for j in 0..self.orders.len() {
                if j != k && self.orders[j].parent == o.parent && self.orders[j].life == Life::Live {
                    self.cancel_at(j);
                }
            }
        }
    }

    fn cancel_at(&mut self, k: usize) {
        self.orders[k].life = Life::Done;
        let o = self.orders[k];
        self.report(&o, ExecKind::Cancelled, o.qty - o.filled, 0);
        // Cancelling an unfilled parent cancels its children.
        if o.parent == 0 && o.filled == 0 {
            for j in 0..self.orders.len() {
                if self.orders[j].parent == o.id && self.orders[j].life == Life::Live {
                    self.cancel_at(j);
                }
            }
        }
    }

    fn find(&self, id: u64) -> Option<usize> {
        self.orders.iter().position(|o| o.id == id)
    }

    fn active(&self, o: &BrokerOrder) -> bool {
        o.life == Life::Live
            && (o.parent == 0
                || self.find(o.parent).is_some_and(|p| self.orders[p].filled == self.orders[p].qty))
    }

    fn on_intent(&mut self, i: &OrderIntent) {
        match i.action {
            OrderAction::New => {
                let parent = if i.link != 0 { i.client_order_id - u64::from(i.link) } else { 0 };
                let o = BrokerOrder {
                    id: i.client_order_id,
                    side: i.side,
                    ty: i.order_type,
                    qty: i.qty,
                    filled: 0,
                    price: i.price,
                    trigger: i.trigger,
                    parent,
                    life: Life::Live,
                };
                self.orders.push(o);
                self.report(&o, ExecKind::Accepted, o.qty, 0);
                self.match_all();
            }
            OrderAction::Cancel => {
                // A done order's cancel is refused (IB error 10148): no report.
                if let Some(k) = self.find(i.client_order_id).filter(|&k| self.orders[k].life == Life::Live) {
                    self.cancel_at(k);
                }
            }
            OrderAction::Modify => {
                if let Some(k) = self.find(i.client_order_id).filter(|&k| self.orders[k].life == Life::Live) {
                    if i.qty > self.orders[k].filled {
                        self.orders[k].qty = i.qty;
                    }
                }
            }
        }
    }

    /// Executes every active order the current price reaches (market orders at once).
    fn match_all(&mut self) {
        for k in 0..self.orders.len() {
            let o = self.orders[k];
            if !self.active(&o) {
                continue;
            }
            let buy = o.side == OrderSide::Buy;
            let hit = match o.ty {
                OrderType::Market => true,
                OrderType::Limit => (buy && self.px <= o.price) || (!buy && self.px >= o.price),
                _ => (buy && self.px >= o.trigger) || (!buy && self.px <= o.trigger),
            };
            if hit {
                self.fill(k);
            }
        }
    }
}

struct Harness {
    stage: ExecStage<LiveVenue>,
    broker: Broker,
    out: Outbox,
    seq: u64,
}

impl Harness {
    fn new() -> Self {
        let risk = RiskConfig {
            max_position: MAX_POSITION,
            max_order_qty: 2,
            max_orders_per_sec: 64,
            max_daily_loss_usd: 1e9,
            ..RiskConfig::permissive()
        };
        let trading = Trading { contract: ContractSpec::ES, order_qty: 1, instrument_id: 7 };
        let mut h = Self {
            stage: ExecStage::new(&risk, LiveVenue::replay(), trading),
            broker: Broker { px: 4000 * P, ts: 1_000_000, ..Broker::default() },
            out: Outbox::new(),
            seq: 0,
        };
        h.market(0);
        h
    }

    /// Feeds `env` to the stage and every request it sends to the broker.
    fn send(&mut self, env: Envelope) {
        self.out.clear();
        self.stage.on_envelope(&env, &mut self.out);
        let sent: Vec<OrderIntent> = self
            .out
            .as_slice()
            .iter()
            .filter_map(|e| if let Msg::Intent(i) = e.msg { Some(i) } else { None })
            .collect();
        for i in &sent {
            self.broker.on_intent(i);
        }
    }

    fn step(&mut self, dt: u64) -> (u64, u64) {
        self.seq += 1;
        self.broker.ts += dt;
        (self.seq, self.broker.ts)
    }

    /// A trade `ticks` away from the last one, at the broker first, then on the feed.
    fn market(&mut self, ticks: i64) {
        let (seq, ts) = self.step(10_000_000);
        self.broker.px += ticks * TICK;
        self.broker.match_all();
        let px = self.broker.px;
        for (side, p, f) in [(Side::Bid, px - TICK, 0), (Side::Ask, px + TICK, 0)] {
            let e = Event { seq, ..Event::level(ts, ts, side, 0, p, 50, 5, f) };
            self.send(Envelope { t0: 0, msg: Msg::Market(e) });
        }
        let t = Event { seq, ..Event::trade(ts, ts, Side::None, px, 1, flags::LAST) };
        self.send(Envelope { t0: 0, msg: Msg::Market(t) });
    }

    fn signal(&mut self, dir: Direction, bracket: bool) {
        let (seq, ts) = self.step(1_000_000);
        let px = self.broker.px;
        let (stop, target) = match (bracket, dir) {
            (true, Direction::Long) => (px - 8 * TICK, px + 12 * TICK),
            (true, Direction::Short) => (px + 8 * TICK, px - 12 * TICK),
            _ => (UNDEF_PX, UNDEF_PX),
        };
        let sig = Signal {
            seq,
            ts,
            direction: dir,
            entry: px,
            stop,
            target,
            confidence: 0.8,
            entry_type: OrderType::Market,
            ..Signal::default()
        };
        self.send(Envelope { t0: 0, msg: Msg::Signal(sig) });
    }

    fn deliver(&mut self, n: usize) {
        for _ in 0..n {
            let Some(mut r) = self.broker.reports.pop_front() else { return };
            let (seq, ts) = self.step(100_000);
            (r.seq, r.ts) = (seq, ts);
            self.send(Envelope { t0: 0, msg: Msg::Exec(r) });
        }
    }

    fn control(&mut self, kind: ControlKind) {
        let (seq, ts) = self.step(1_000_000);
        self.send(Envelope { t0: 0, msg: Msg::Control(Control { seq, ts, arg: 0, kind }) });
    }
}

#[derive(Clone, Debug)]
enum Op {
    Move(i64),
    Signal(u8),
    Deliver(usize),
    Wait,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (-6i64..=6).prop_map(Op::Move),
        4 => (0u8..4).prop_map(Op::Signal),
        3 => (0usize..6).prop_map(Op::Deliver),
        1 => Just(Op::Wait),
    ]
}

fn run(ops: &[Op]) -> Result<Harness, TestCaseError> {
    let mut h = Harness::new();
    for o in ops {
        match *o {
            Op::Move(t) => h.market(t),
            Op::Signal(0) => h.signal(Direction::Long, true),
            Op::Signal(1) => h.signal(Direction::Short, true),
            Op::Signal(2) => h.signal(Direction::Flat, false),
            Op::Signal(_) => h.signal(Direction::Long, false),
            Op::Deliver(n) => h.deliver(n),
            Op::Wait => {
                h.step(3_000_000_000);
                h.market(0);
            }
        }
        prop_assert!(
            h.broker.max_abs <= MAX_POSITION,
            "the broker's position reached {} (limit {MAX_POSITION}) after {o:?}",
            h.broker.max_abs
        );
    }
    // Everything reported, then a flatten, until the stage has nothing more to do.
    h.control(ControlKind::Flatten);
    for _ in 0..20 {
        h.deliver(usize::MAX);
        h.step(1_000_000_000);
        h.market(0);
        h.deliver(usize::MAX);
    }
    prop_assert_eq!(h.stage.position().qty(), h.broker.position, "the stage's position is the broker's");
    prop_assert_eq!(h.broker.position, 0, "flat after the flatten");
    prop_assert!(h.broker.max_abs <= MAX_POSITION);
    Ok(h)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Reports late by any number of steps: the true position never passes `max_position`,
    /// and the stage and the broker agree on it once everything is reported.
    #[test]
    fn late_reports_never_stack_entries_past_the_limit(ops in proptest::collection::vec(op(), 1..60)) {
        run(&ops)?;
    }
}

/// The sequence of the wire-to-order session that stacked 6 contracts: long bracket, exit,
/// long bracket, exit…, every report held back until the end.
#[test]
fn brackets_and_exits_before_any_report_stay_within_the_limit() {
    let mut ops = Vec::new();
    for _ in 0..8 {
        ops.extend([Op::Signal(0), Op::Move(0), Op::Signal(2), Op::Move(0)]);
    }
    let h = run(&ops).unwrap_or_else(|e| panic!("{e}"));
    assert!(h.broker.max_abs <= 1, "one contract per bracket, one bracket at a time: {}", h.broker.max_abs);
}
