use super::*;
use mia_model::msg::ExecKind;

const P: Px = 1_000_000_000;

fn fill(id: u64, side: OrderSide, qty: u32, leaves: u32) -> Fill {
    Fill {
        client_order_id: id,
        seq: 1,
        ts: 10,
        price: 4000 * P,
        fee: mia_model::money::NanoUsd::ZERO,
        qty,
        leaves,
        side,
        done: leaves == 0,
    }
}

/// An order of 3 contracts brought to `state` through the manager's own events.
fn order_in(state: OrderState) -> (OrderManager, u64) {
    let mut m = OrderManager::default();
    let id = m.create(OrderSpec::limit(OrderSide::Buy, 3, 4000 * P), 1).expect("created");
    let mut c = Cmds::default();
    use OrderState::*;
    match state {
        New => {}
        Rejected => {
            m.on_submit_failed(id, 1).expect("legal");
        }
        _ => {
            m.on_submitted(id, 1).expect("legal");
            match state {
                Accepted => {
                    m.on_ack(id, 2).expect("legal");
                }
                PartiallyFilled => {
                    m.on_fill(&fill(id, OrderSide::Buy, 1, 2), &mut c).expect("legal");
                }
                Filled => {
                    m.on_fill(&fill(id, OrderSide::Buy, 3, 0), &mut c).expect("legal");
                }
                Cancelled => {
                    m.on_end(id, ExecKind::Cancelled, 2).expect("legal");
                }
                Expired => {
                    m.on_end(id, ExecKind::Expired, 2).expect("legal");
                }
                _ => {}
            }
        }
    }
    assert_eq!(m.get(id).map(|o| o.state), Some(state));
    (m, id)
}

/// The event that asks for `to` (there is none for `New`).
fn ask(m: &mut OrderManager, id: u64, to: OrderState) -> Result<Applied, OmsError> {
    let mut c = Cmds::default();
    let leaves = m.get(id).map_or(0, |o| o.leaves());
    use OrderState::*;
    match to {
        New => unreachable!("no event leads to New"),
        Submitted => m.on_submitted(id, 5),
        Accepted => m.on_ack(id, 5),
        PartiallyFilled => m.on_fill(&fill(id, OrderSide::Buy, 1, leaves.saturating_sub(1).max(1)), &mut c),
        Filled => m.on_fill(&fill(id, OrderSide::Buy, leaves.max(1), 0), &mut c),
        Cancelled => m.on_end(id, ExecKind::Cancelled, 5),
        Rejected if m.get(id).is_some_and(|o| o.state == New) => m.on_submit_failed(id, 5),
        Rejected => m.on_end(id, ExecKind::Rejected, 5),
        Expired => m.on_end(id, ExecKind::Expired, 5),
    }
}

#[test]
fn every_transition_through_the_manager() {
    use OrderState::*;
    // Repeats that are recognised as such (nothing changes, not an error).
    let duplicates = [
        (Accepted, Accepted),
        (PartiallyFilled, Accepted),
        (Filled, Accepted),
        (Filled, PartiallyFilled),
        (Filled, Filled),
        (Cancelled, Cancelled),
        (Rejected, Rejected),
        (Expired, Expired),
    ];
    // A fill of an order the venue reported ended is booked all the same (`Applied::Late`).
    let late = |from: OrderState, to: OrderState| {
        matches!(from, Cancelled | Rejected | Expired) && matches!(to, PartiallyFilled | Filled)
    };
    let (mut legal, mut illegal, mut lates) = (0, 0, 0);
    for from in OrderState::ALL {
        for to in OrderState::ALL.into_iter().filter(|&t| t != New) {
            let (mut m, id) = order_in(from);
            let before = *m.get(id).expect("held");
            let r = ask(&mut m, id, to);
            if duplicates.contains(&(from, to)) {
                assert_eq!(r, Ok(Applied::Duplicate), "{from:?} → {to:?}");
                assert_eq!(m.get(id), Some(&before), "a duplicate changes nothing");
            } else if late(from, to) {
                assert_eq!(r, Ok(Applied::Late), "{from:?} → {to:?}");
                let after = m.get(id).copied().expect("held");
                assert_eq!(after.state, from, "the end state is kept");
                assert!(after.filled > before.filled, "the quantity is recorded");
                assert_eq!(m.counters().late_fills, 1);
                lates += 1;
            } else if from.can_become(to) {
                assert_eq!(r, Ok(Applied::Changed(to)), "{from:?} → {to:?}");
                assert_eq!(m.counters().transitions[from as usize][to as usize], 1);
                legal += 1;
            } else {
                assert_eq!(r, Err(OmsError::Illegal { id, from, to }), "{from:?} → {to:?}");
                assert_eq!(m.counters().illegal, 1, "counted");
                assert_eq!(m.errors().last().map(|e| e.error), r.err(), "logged");
                assert_eq!(m.get(id), Some(&before), "a refused event changes nothing");
                illegal += 1;
            }
        }
    }
    assert_eq!(legal, 16, "every legal transition exercised");
    assert_eq!(lates, 6);
    assert_eq!(illegal, 8 * 7 - 16 - duplicates.len() - lates);
}

#[test]
fn unknown_ids_and_bad_fills_are_refused_and_counted() {
    let mut m = OrderManager::default();
    let mut c = Cmds::default();
    assert_eq!(m.on_ack(77, 3), Err(OmsError::UnknownId(77)));
    assert_eq!(m.on_fill(&fill(0, OrderSide::Buy, 1, 0), &mut c), Err(OmsError::UnknownId(0)));
    assert_eq!(m.counters().unknown, 2);
    assert_eq!(m.errors().count(), 2);
    let id = m.create(OrderSpec::market(OrderSide::Sell, 2), 1).expect("created");
    m.on_submitted(id, 1).expect("legal");
    assert_eq!(m.on_fill(&fill(id, OrderSide::Buy, 1, 1), &mut c), Err(OmsError::BadFill(id)), "wrong side");
    assert_eq!(
        m.on_fill(&fill(id, OrderSide::Sell, 0, 1), &mut c),
        Err(OmsError::BadFill(id)),
        "no quantity"
    );
    assert_eq!(m.on_fill(&fill(id, OrderSide::Sell, 3, 0), &mut c), Err(OmsError::BadFill(id)), "overfill");
    assert_eq!(m.counters().bad_fills, 3);
    assert_eq!(m.get(id).map(|o| (o.state, o.filled)), Some((OrderState::Submitted, 0)));
    assert_eq!(
        m.create(OrderSpec::market(OrderSide::Sell, 0), 1),
        Err(OmsError::BadOrder("qty: must be > 0"))
    );
    assert!(matches!(m.create(OrderSpec::limit(OrderSide::Sell, 1, 0), 1), Err(OmsError::BadOrder(_))));
    assert!(matches!(m.create(OrderSpec::stop(OrderSide::Sell, 1, -4), 1), Err(OmsError::BadOrder(_))));
}

#[test]
fn repeated_reports_change_nothing() {
    let mut m = OrderManager::default();
    let mut c = Cmds::default();
    let id = m.create(OrderSpec::limit(OrderSide::Buy, 3, 4000 * P), 1).expect("created");
    m.on_submitted(id, 1).expect("legal");
    assert_eq!(m.on_ack(id, 2), Ok(Applied::Changed(OrderState::Accepted)));
    assert_eq!(m.on_ack(id, 3), Ok(Applied::Duplicate));
    let f = fill(id, OrderSide::Buy, 2, 1);
    assert_eq!(m.on_fill(&f, &mut c), Ok(Applied::Changed(OrderState::PartiallyFilled)));
    assert_eq!(m.on_fill(&f, &mut c), Ok(Applied::Duplicate), "the same fill again");
    assert_eq!(m.get(id).map(|o| o.filled), Some(2));
    let last = fill(id, OrderSide::Buy, 1, 0);
    assert_eq!(m.on_fill(&last, &mut c), Ok(Applied::Changed(OrderState::Filled)));
    assert_eq!(m.on_fill(&last, &mut c), Ok(Applied::Duplicate));
    assert_eq!(m.on_fill(&f, &mut c), Ok(Applied::Duplicate), "an older fill replayed");
    assert_eq!(m.get(id).map(|o| (o.filled, o.state)), Some((3, OrderState::Filled)));
    assert_eq!(m.counters().duplicates, 4);
    assert_eq!(m.counters().illegal, 0);
    assert!(c.as_slice().is_empty());
}

#[test]
fn ids_stay_unique_across_a_restart() {
    let mut seen = std::collections::BTreeSet::new();
    let hwm = {
        let mut a = OrderManager::default();
        for _ in 0..5 {
            assert!(seen.insert(a.create(OrderSpec::market(OrderSide::Buy, 1), 1).expect("created")));
        }
        a.id_hwm()
    };
    // The restarted process resumes from the persisted mark.
    let mut b = OrderManager::new(IdGen::resume(hwm));
    for _ in 0..5 {
        let id = b.create(OrderSpec::market(OrderSide::Buy, 1), 1).expect("created");
        assert!(id > hwm && seen.insert(id), "id {id} reused");
    }
    b.resume_ids(3);
    assert_eq!(b.id_hwm(), hwm + 5, "resume never moves back");
    assert_eq!(seen.len(), 10);
}

#[test]
fn a_full_slot_is_refused_not_overwritten() {
    let mut m = OrderManager::default();
    let first = m.create(OrderSpec::market(OrderSide::Buy, 1), 1).expect("created");
    m.on_submitted(first, 1).expect("legal");
    for _ in 1..ORDERS_CAP {
        let id = m.create(OrderSpec::market(OrderSide::Buy, 1), 1).expect("created");
        m.on_submit_failed(id, 1).expect("legal");
    }
    // Id ORDERS_CAP + 1 maps to the slot of the first order, still working.
    assert_eq!(m.create(OrderSpec::market(OrderSide::Buy, 1), 1), Err(OmsError::TableFull));
    assert_eq!(m.counters().table_full, 1);
    assert_eq!(m.get(first).map(|o| o.state), Some(OrderState::Submitted));
    // A finished order's slot is reused.
    let id = m.create(OrderSpec::market(OrderSide::Buy, 1), 1).expect("slot of id 2 reused");
    assert_eq!(id, ORDERS_CAP as u64 + 2);
    assert_eq!(m.get(2), None, "the old order is gone");
}

/// A long bracket of 2 at a 4000 limit, stop 3998, target 4004, entry accepted.
fn bracket() -> (OrderManager, u64) {
    let mut m = OrderManager::default();
    let e = m
        .bracket(OrderSpec::limit(OrderSide::Buy, 2, 4000 * P).with_tag(1, 4000 * P), 3998 * P, 4004 * P, 1)
        .expect("bracket");
    m.on_submitted(e, 1).expect("legal");
    m.on_ack(e, 2).expect("legal");
    (m, e)
}

fn send_all(m: &mut OrderManager, c: &Cmds) {
    for cmd in c.as_slice() {
        match *cmd {
            Cmd::Submit(id) => {
                m.on_submitted(id, 20).expect("legal");
                m.on_ack(id, 21).expect("legal");
            }
            Cmd::Modify { id, qty } => {
                let it = m.modify_intent(id, Amend::qty(qty), 1, 22, 1).expect("working");
                m.on_modified(&it).expect("working");
            }
            Cmd::Cancel(id) => {
                m.on_end(id, ExecKind::Cancelled, 23).expect("legal");
            }
        }
    }
}

#[test]
fn bracket_children_live_only_after_the_entry_fills_and_follow_its_size() {
    let (mut m, e) = bracket();
    let b = *m.bracket_of(e).expect("open");
    assert_eq!((b.stop, b.target), (0, 0), "no child before a fill");
    assert_eq!(m.working(), 1);
    assert!(m.bracket_protected(e), "nothing to protect yet");
    // Partial entry fill: both children for 1 contract, on the other side, GTC.
    let mut c = Cmds::default();
    m.on_fill(&fill(e, OrderSide::Buy, 1, 1), &mut c).expect("legal");
    let b = *m.bracket_of(e).expect("open");
    assert_eq!(c.as_slice(), &[Cmd::Submit(b.stop), Cmd::Submit(b.target)]);
    let stop = *m.get(b.stop).expect("stop");
    let target = *m.get(b.target).expect("target");
    assert_eq!(
        (stop.order_type, stop.trigger, stop.qty, stop.side),
        (OrderType::Stop, 3998 * P, 1, OrderSide::Sell)
    );
    assert_eq!((target.order_type, target.price, target.qty), (OrderType::Limit, 4004 * P, 1));
    assert_eq!(
        (stop.tif, stop.role, stop.parent, target.role),
        (TimeInForce::Gtc, Role::Stop, e, Role::Target)
    );
    assert_eq!(m.intent(b.stop, 1, 1, 1).map(|i| i.link), Some((b.stop - e) as u16));
    assert!(!m.bracket_protected(e), "children not sent yet");
    send_all(&mut m, &c);
    assert!(m.bracket_protected(e));
    // The rest of the entry fills: both children grow to 2.
    c.clear();
    m.on_fill(&fill(e, OrderSide::Buy, 1, 0), &mut c).expect("legal");
    assert_eq!(c.as_slice(), &[Cmd::Modify { id: b.stop, qty: 2 }, Cmd::Modify { id: b.target, qty: 2 }]);
    send_all(&mut m, &c);
    assert_eq!(m.get(b.target).map(|o| o.qty), Some(2));
}

#[test]
fn one_child_filling_cancels_the_other_and_the_entry_rest() {
    let (mut m, e) = bracket();
    let mut c = Cmds::default();
    m.on_fill(&fill(e, OrderSide::Buy, 1, 1), &mut c).expect("legal");
    send_all(&mut m, &c);
    let b = *m.bracket_of(e).expect("open");
    // The target fills while one entry contract is still working: the entry's rest and the
    // stop are cancelled (OCO).
    c.clear();
    m.on_fill(&fill(b.target, OrderSide::Sell, 1, 0), &mut c).expect("legal");
    assert_eq!(c.as_slice(), &[Cmd::Cancel(e), Cmd::Cancel(b.stop)]);
    assert!(m.get(b.stop).is_some_and(|o| o.cancel_pending));
    send_all(&mut m, &c);
    assert_eq!(m.get(b.stop).map(|o| o.state), Some(OrderState::Cancelled));
    assert_eq!(m.get(e).map(|o| o.state), Some(OrderState::Cancelled));
    assert!(!m.bracket_open(e), "bracket closed once all its orders ended");
    assert_eq!(m.working(), 0);
}

#[test]
fn a_partial_stop_fill_shrinks_the_target() {
    let (mut m, e) = bracket();
    let mut c = Cmds::default();
    m.on_fill(&fill(e, OrderSide::Buy, 2, 0), &mut c).expect("legal");
    send_all(&mut m, &c);
    let b = *m.bracket_of(e).expect("open");
    c.clear();
    m.on_fill(&fill(b.stop, OrderSide::Sell, 1, 1), &mut c).expect("legal");
    assert_eq!(c.as_slice(), &[Cmd::Modify { id: b.target, qty: 1 }], "1 contract still open");
    send_all(&mut m, &c);
    c.clear();
    m.on_fill(&fill(b.stop, OrderSide::Sell, 1, 0), &mut c).expect("legal");
    assert_eq!(c.as_slice(), &[Cmd::Cancel(b.target)]);
    send_all(&mut m, &c);
    assert!(!m.bracket_open(e));
}

#[test]
fn an_unfilled_entry_that_ends_closes_its_bracket() {
    let (mut m, e) = bracket();
    m.on_end(e, ExecKind::Expired, 9).expect("legal");
    assert!(!m.bracket_open(e));
    assert_eq!(m.working(), 0);
}

#[test]
fn bracket_prices_must_be_on_their_sides() {
    let mut m = OrderManager::default();
    let buy = OrderSpec::limit(OrderSide::Buy, 1, 4000 * P);
    assert!(matches!(m.bracket(buy, 4004 * P, 3998 * P, 1), Err(OmsError::BadOrder(_))), "stop above target");
    assert!(matches!(m.bracket(buy, 4001 * P, 4004 * P, 1), Err(OmsError::BadOrder(_))), "limit below stop");
    let sell = OrderSpec::market(OrderSide::Sell, 1);
    assert!(m.bracket(sell, 4004 * P, 3998 * P, 1).is_ok());
    for _ in 1..BRACKETS_CAP {
        assert!(m.bracket(sell, 4004 * P, 3998 * P, 1).is_ok());
    }
    assert_eq!(m.bracket(sell, 4004 * P, 3998 * P, 1), Err(OmsError::BracketsFull));
}

#[test]
fn modify_and_cancel_requests() {
    let mut m = OrderManager::default();
    let mut c = Cmds::default();
    let id = m.create(OrderSpec::stop_limit(OrderSide::Sell, 3, 3999 * P, 3998 * P), 1).expect("created");
    assert_eq!(m.request_cancel(id, 1), Err(OmsError::NotWorking(id)), "not sent yet");
    m.on_submitted(id, 1).expect("legal");
    m.on_fill(&fill(id, OrderSide::Sell, 1, 2), &mut c).expect("legal");
    assert!(matches!(m.modify_intent(id, Amend::qty(1), 1, 2, 1), Err(OmsError::BadOrder(_))), "≤ filled");
    let it =
        m.modify_intent(id, Amend { qty: 2, price: 3997 * P, trigger: 3998 * P }, 4, 2, 9).expect("working");
    assert_eq!(
        (it.action, it.qty, it.price, it.trigger, it.seq),
        (OrderAction::Modify, 2, 3997 * P, 3998 * P, 4)
    );
    m.on_modified(&it).expect("working");
    assert_eq!(m.get(id).map(|o| (o.qty, o.leaves(), o.price)), Some((2, 1, 3997 * P)));
    assert_eq!(m.request_cancel(id, 3), Ok(()));
    assert_eq!(m.request_cancel(id, 3), Ok(()), "idempotent");
    assert!(
        matches!(m.modify_intent(id, Amend::qty(3), 1, 2, 1), Err(OmsError::NotWorking(_))),
        "cancel pending"
    );
    assert_eq!(m.on_end(id, ExecKind::Cancelled, 4), Ok(Applied::Changed(OrderState::Cancelled)));
    assert_eq!(m.on_end(id, ExecKind::Cancelled, 4), Ok(Applied::Duplicate));
    assert_eq!(m.request_cancel(id, 5), Err(OmsError::NotWorking(id)));
}

#[test]
fn a_fill_after_the_end_report_is_recorded_once() {
    for end in [ExecKind::Cancelled, ExecKind::Expired, ExecKind::Rejected] {
        let (mut m, id) = order_in(OrderState::Submitted);
        m.on_end(id, end, 3).expect("legal");
        let mut c = Cmds::default();
        assert_eq!(m.on_fill(&fill(id, OrderSide::Buy, 2, 1), &mut c), Ok(Applied::Late), "{end:?}");
        let o = m.get(id).copied().expect("held");
        assert!(o.state.is_terminal() && o.filled == 2, "end state kept, quantity recorded: {o:?}");
        assert_eq!(m.on_fill(&fill(id, OrderSide::Buy, 2, 1), &mut c), Ok(Applied::Duplicate), "a repeat");
        assert!(
            matches!(m.on_fill(&fill(id, OrderSide::Buy, 2, 0), &mut c), Err(OmsError::BadFill(_))),
            "overfill"
        );
        assert_eq!(m.on_fill(&fill(id, OrderSide::Buy, 1, 0), &mut c), Ok(Applied::Late), "the rest");
        assert_eq!(m.counters().late_fills, 2);
        assert!(!m.any_live(), "an ended order is not live");
        assert!(c.as_slice().is_empty(), "no bracket command for a single order");
    }
}

/// The live quantities by a scan of the table (what [`OrderManager::live_qty`] keeps in O(1)).
fn live_scan(m: &OrderManager) -> [u64; 2] {
    let mut v = [0u64; 2];
    for o in m.orders().iter().filter(|o| o.id != 0 && o.state.is_working()) {
        v[usize::from(o.side == OrderSide::Sell)] += u64::from(o.leaves());
    }
    v
}

mod live_props {
    use super::*;
    use proptest::prelude::*;

    #[derive(Clone, Debug)]
    enum Op {
        New(bool, u32),
        Bracket(bool, u32, bool),
        Submit(usize),
        Ack(usize),
        Fill(usize, u32),
        Cancel(usize),
        End(usize, u8),
        Modify(usize, u32),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (any::<bool>(), 1u32..4).prop_map(|(b, q)| Op::New(b, q)),
            (any::<bool>(), 1u32..4, any::<bool>()).prop_map(|(b, q, n)| Op::Bracket(b, q, n)),
            (0usize..16).prop_map(Op::Submit),
            (0usize..16).prop_map(Op::Ack),
            (0usize..16, 1u32..4).prop_map(|(k, q)| Op::Fill(k, q)),
            (0usize..16).prop_map(Op::Cancel),
            (0usize..16, 0u8..3).prop_map(|(k, e)| Op::End(k, e)),
            (0usize..16, 1u32..6).prop_map(|(k, q)| Op::Modify(k, q)),
        ]
    }

    proptest! {
        /// Whatever the sequence of events (legal or not), the O(1) live quantities equal a
        /// scan of the table after every step.
        #[test]
        fn live_quantities_follow_every_event(ops in proptest::collection::vec(op(), 1..80)) {
            let mut m = OrderManager::default();
            let mut ids: Vec<u64> = Vec::new();
            let mut c = Cmds::default();
            let pick = |ids: &[u64], k: usize| ids.get(k % ids.len().max(1)).copied().unwrap_or(0);
            for (t, o) in ops.into_iter().enumerate() {
                let ts = t as u64 + 1;
                let side = |b: bool| if b { OrderSide::Buy } else { OrderSide::Sell };
                match o {
                    Op::New(b, q) => {
                        if let Ok(id) = m.create(OrderSpec::market(side(b), q), ts) {
                            ids.push(id);
                        }
                    }
                    Op::Bracket(b, q, native) => {
                        let (stop, target) = if b { (3990 * P, 4010 * P) } else { (4010 * P, 3990 * P) };
                        let e = OrderSpec::market(side(b), q);
                        if native {
                            if let Ok((e, s, t)) = m.bracket_native(e, stop, target, ts) {
                                ids.extend([e, s, t]);
                            }
                        } else if let Ok(id) = m.bracket(e, stop, target, ts) {
                            ids.push(id);
                        }
                    }
                    Op::Submit(k) => { let _ = m.on_submitted(pick(&ids, k), ts); }
                    Op::Ack(k) => { let _ = m.on_ack(pick(&ids, k), ts); }
                    Op::Fill(k, q) => {
                        let id = pick(&ids, k);
                        if let Some(o) = m.get(id).copied() {
                            let q = q.min(o.leaves()).max(1);
                            c.clear();
                            let _ = m.on_fill(&fill(id, o.side, q, o.leaves().saturating_sub(q)), &mut c);
                            for cmd in c.as_slice() {
                                if let Cmd::Submit(id) = cmd {
                                    ids.push(*id);
                                    let _ = m.on_submitted(*id, ts);
                                }
                            }
                        }
                    }
                    Op::Cancel(k) => { let _ = m.request_cancel(pick(&ids, k), ts); }
                    Op::End(k, e) => {
                        let kind = [ExecKind::Cancelled, ExecKind::Expired, ExecKind::Rejected][usize::from(e)];
                        let _ = m.on_end(pick(&ids, k), kind, ts);
                    }
                    Op::Modify(k, q) => {
                        if let Ok(i) = m.modify_intent(pick(&ids, k), Amend::qty(q), 1, ts, 1) {
                            let _ = m.on_modified(&i);
                        }
                    }
                }
                let scan = live_scan(&m);
                prop_assert_eq!([m.live_qty(OrderSide::Buy), m.live_qty(OrderSide::Sell)], scan);
                prop_assert_eq!(m.any_live(), scan != [0, 0]);
            }
        }
    }
}
