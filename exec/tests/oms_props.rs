//! Property: under random signal and market sequences through the exec stage and the
//! simulated venue, the order manager never attempts an illegal transition, never sees an
//! unknown id or a bad fill, never reuses a client order id, and the position equals the sum
//! of the fills the stage emitted.

use std::collections::BTreeSet;

use mia_exec::exec_stage::{ExecStage, Trading};
use mia_exec::risk::RiskConfig;
use mia_exec::sim::{SimConfig, SimVenue};
use mia_model::contract::ContractSpec;
use mia_model::event::{flags, Event, Side};
use mia_model::msg::{Control, ControlKind, Direction, Envelope, Msg, OrderAction, OrderType, Signal};
use mia_runtime::stage::{Outbox, Stage};
use proptest::prelude::*;

const TICK: i64 = 250_000_000;

#[derive(Clone, Debug)]
enum Step {
    /// Move the mid by this many ticks and refresh both best levels.
    Book(i8),
    /// A print this many ticks from the mid, of this size.
    Print(i8, u8),
    /// A bracket signal: long?, stop and target distances in ticks, limit entry offset (None =
    /// market).
    Bracket(bool, u8, u8, Option<i8>),
    /// A signal without stop/target.
    Plain(i8),
    /// Flatten, kill or resume.
    Control(u8),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (-2i8..=2).prop_map(Step::Book),
        4 => ((-6i8..=6), (1u8..=4)).prop_map(|(o, s)| Step::Print(o, s)),
        2 => (any::<bool>(), (1u8..=8), (1u8..=8), proptest::option::of(-2i8..=2))
            .prop_map(|(l, s, t, e)| Step::Bracket(l, s, t, e)),
        1 => (-1i8..=1).prop_map(Step::Plain),
        1 => (0u8..3).prop_map(Step::Control),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn the_order_manager_stays_legal(steps in proptest::collection::vec(step(), 1..120), qty in 1u32..=3, latency in 0u64..3) {
        let risk = RiskConfig { max_position: 3, max_order_qty: 6, max_orders_per_sec: 20, max_daily_loss_usd: 1e9, ..RiskConfig::permissive() };
        let sim = SimVenue::new(SimConfig::with_entry_latency(latency * 1_000), ContractSpec::ES);
        let mut st = ExecStage::new(&risk, sim, Trading { contract: ContractSpec::ES, order_qty: qty, instrument_id: 1 });
        let mut out = Outbox::new();
        let mut mid: i64 = 4000 * 1_000_000_000;
        let mut ts = 1_000_000u64;
        let mut ids = BTreeSet::new();
        let mut last_id = 0u64;
        let mut filled: i64 = 0;
        for (n, s) in steps.iter().enumerate() {
            ts += 1_000;
            let seq = n as u64 + 1;
            let envs: Vec<Msg> = match *s {
                Step::Book(d) => {
                    mid += i64::from(d) * TICK;
                    vec![
                        Msg::Market(Event { seq, ..Event::level(ts, ts, Side::Bid, 0, mid - TICK, 20, 1, 0) }),
                        Msg::Market(Event { seq, ..Event::level(ts, ts, Side::Ask, 0, mid + TICK, 20, 1, flags::LAST) }),
                    ]
                }
                Step::Print(o, size) => {
                    let p = mid + i64::from(o) * TICK;
                    vec![Msg::Market(Event { seq, ..Event::trade(ts, ts, Side::None, p, u32::from(size), flags::LAST) })]
                }
                Step::Bracket(long, sd, td, e) => {
                    let d = if long { 1 } else { -1 };
                    let (entry, ty) = match e {
                        Some(off) => (mid - d * i64::from(off.unsigned_abs()) * TICK, OrderType::Limit),
                        None => (mid, OrderType::Market),
                    };
                    vec![Msg::Signal(Signal {
                        seq,
                        ts,
                        entry,
                        stop: entry - d * (i64::from(sd) + 1) * TICK,
                        target: entry + d * (i64::from(td) + 1) * TICK,
                        direction: if long { Direction::Long } else { Direction::Short },
                        entry_type: ty,
                        ..Signal::default()
                    })]
                }
                Step::Plain(d) => {
                    let direction = match d { 1 => Direction::Long, -1 => Direction::Short, _ => Direction::Flat };
                    vec![Msg::Signal(Signal { seq, ts, direction, ..Signal::default() })]
                }
                Step::Control(k) => {
                    let kind = [ControlKind::Flatten, ControlKind::Kill, ControlKind::Resume][usize::from(k)];
                    vec![Msg::Control(Control { seq, ts, arg: 0, kind })]
                }
            };
            for msg in envs {
                out.clear();
                st.on_envelope(&Envelope { t0: 0, msg }, &mut out);
                prop_assert_eq!(out.overflow(), 0);
                for e in out.as_slice() {
                    match e.msg {
                        Msg::Intent(i) if i.action == OrderAction::New => {
                            prop_assert!(ids.insert(i.client_order_id), "id {} reused", i.client_order_id);
                            prop_assert!(i.client_order_id > last_id, "ids increase");
                            last_id = i.client_order_id;
                        }
                        Msg::Intent(i) => prop_assert!(ids.contains(&i.client_order_id), "modify/cancel of a known id"),
                        Msg::Fill(f) => filled += f.side.sign() * i64::from(f.qty),
                        _ => {}
                    }
                }
                let c = st.oms().counters();
                prop_assert_eq!((c.illegal, c.unknown, c.bad_fills), (0, 0, 0), "{:?}", st.oms().errors().collect::<Vec<_>>());
                prop_assert_eq!(st.position().qty(), filled, "position = Σ fills");
            }
        }
        prop_assert!(st.venue().working() <= st.oms().working(), "the venue works nothing the order manager does not");
    }
}
