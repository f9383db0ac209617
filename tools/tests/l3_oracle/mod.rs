//! An independent reference ("oracle") for the venue's L3 FIFO fills, used by
//! `tools/tests/l3_mbo.rs`.
//!
//! It shares no code with MIA's `MboBook`, `L3Queue` or `SimVenue`: it reads the MBO records
//! from the `.mbo.dbn` file with the `dbn` crate, keeps a naive book (per side, price → a
//! `VecDeque` of market orders in arrival order, with the simulated orders as markers in the
//! same queues), and replays the rules of `docs/execution.md` ("L3 FIFO at the venue", "Full-scale
//! check against an independent FIFO") for the limit orders MIA's run sent (the run's journal:
//! `Msg::Intent` with their `seq` and `ts`). From the journal it takes only those decisions and
//! the framing of the event stream (the `seq` of each record's `Mbo` event and of the first
//! event derived from it), which says *when* a decision reached the venue relative to the
//! records; every record's content is checked against the file.
//!
//! Rules replayed (the docs' wording):
//! - an order reaches the venue at `intent.ts + entry latency`: at a record's `Mbo` event if
//!   that instant is strictly before the record's `ts_recv` (it then joins before the record is
//!   applied), else at the first event derived from the first record whose `ts_recv` is ≥ it
//!   (after that record); several in (arrival, submission) order;
//! - it joins behind all the size resting at its price on its side (any depth);
//! - a removal (cancel, size decrease, modify that loses priority) of an order ahead moves it
//!   up by that size, first using up the size that prints at the price have already consumed
//!   ahead of it (the "credit"); a removal behind, or an add, does not move it;
//! - a print (a `T` record, at its derived `Trade` event) fills the orders it trades through
//!   (below a buy, above a sell) at their limit, most aggressive first then submission order,
//!   up to the print's size; what is left reaches the orders at the print's price on the side
//!   the aggressor hits (both sides for an unknown aggressor) in FIFO order: each consumes
//!   `min(q, ahead)` of its queue ahead (credit) and fills `clamp(q − ahead − R, 0,
//!   remaining)` from what is left (`R`: what the older own orders there had left);
//! - a cancel or modify decided at event `S` applies after the venue has processed `S`; a
//!   modify that changes the price or increases the open quantity rejoins at the back, a
//!   decrease keeps the place; a book clear (`R`) expires the resting orders.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::Path;

use dbn::decode::{DbnDecoder, DecodeRecord};
use dbn::MboMsg;
use mia_journal::{JournalReader, JournalRecord};
use mia_model::event::EventKind;
use mia_model::msg::{Fill, Msg, OrderAction, OrderIntent, OrderSide, OrderType, TimeInForce};

/// One MBO record as read from the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rec {
    /// `ts_recv` (ns).
    pub ts: u64,
    /// DBN action byte.
    pub action: u8,
    /// DBN side byte (`B`, `A`, `N`).
    pub side: u8,
    /// Order id.
    pub order_id: u64,
    /// Price (1e-9).
    pub price: i64,
    /// Size.
    pub size: u32,
}

/// Every MBO record of a DBN file.
pub fn read_mbo(path: &Path) -> Vec<Rec> {
    let mut dec = DbnDecoder::from_file(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = Vec::new();
    while let Some(m) = dec.decode_record::<MboMsg>().unwrap_or_else(|e| panic!("{}: {e}", path.display())) {
        out.push(Rec {
            ts: m.ts_recv,
            action: m.action as u8,
            side: m.side as u8,
            order_id: m.order_id,
            price: m.price,
            size: m.size,
        });
    }
    out
}

/// What the oracle reads from a run's journal.
#[derive(Debug, Default)]
pub struct Journal {
    /// `seq` of each record's `Mbo` event, in record order.
    pub mbo_seq: Vec<u64>,
    /// `seq` of the first event derived from each record (`u64::MAX`: none).
    pub first_derived: Vec<u64>,
    /// Every order intent, in journal (= submission) order.
    pub intents: Vec<OrderIntent>,
    /// Every fill, in journal order.
    pub fills: Vec<Fill>,
}

/// Reads the journal of the run in `run` and checks each `Mbo` event against `recs`.
pub fn read_journal(run: &Path, recs: &[Rec]) -> Journal {
    let dir = run.join("journal");
    let mut r = JournalReader::open(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut j = Journal::default();
    loop {
        match r.next_record() {
            Ok(Some(JournalRecord::Msg(Msg::Market(e)))) => {
                if e.kind == EventKind::Mbo {
                    let n = j.mbo_seq.len();
                    let rec =
                        recs.get(n).unwrap_or_else(|| panic!("journal has more Mbo events than the file"));
                    let got = (e.ts_recv, e.depth, e.order_id, e.price, e.size);
                    assert_eq!(got, (rec.ts, rec.action, rec.order_id, rec.price, rec.size), "record {n}");
                    j.mbo_seq.push(e.seq);
                    j.first_derived.push(u64::MAX);
                } else {
                    let last =
                        j.first_derived.last_mut().expect("a derived event before the first Mbo event");
                    if *last == u64::MAX {
                        *last = e.seq;
                    }
                }
            }
            Ok(Some(JournalRecord::Msg(Msg::Intent(i)))) => j.intents.push(i),
            Ok(Some(JournalRecord::Msg(Msg::Fill(f)))) => j.fills.push(f),
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(e) => panic!("{}: {e}", dir.display()),
        }
    }
    assert_eq!(j.mbo_seq.len(), recs.len(), "one Mbo event per record");
    j
}

/// A fill the oracle expects (or MIA made): order, event `seq`, event time, price, quantity.
pub type FillKey = (u64, u64, u64, i64, u32);

/// What the oracle found for one limit order.
#[derive(Clone, Copy, Debug, Default)]
pub struct Placement {
    /// Client order id.
    pub client_order_id: u64,
    /// Event time at which it joined the queue.
    pub ts: u64,
    /// Size resting at its price on its side when it joined (the L3 queue ahead).
    pub l3_ahead: u64,
    /// What an L2 model joins with: the size at the price if within the 10 visible levels,
    /// `Some(0)` for an empty price inside or better than them, `None` (unknown) beyond.
    pub l2_join: Option<u64>,
    /// The queue ahead at the end of the venue event at which it joined (a join before a
    /// record sees that record applied), `None` if it was no longer resting then.
    pub ahead_end: Option<u64>,
    /// Joined on arrival (not a modify that rejoined).
    pub on_arrival: bool,
}

/// The oracle's result.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Expected fills of the limit orders, in the order they happen.
    pub fills: Vec<FillKey>,
    /// Every limit order that joined a queue.
    pub placements: Vec<Placement>,
    /// Client order ids of every limit order sent.
    pub limit_ids: Vec<u64>,
    /// Limit orders marketable on arrival (walks against the L2 replica: not replayed; their
    /// fills are left out of the comparison).
    pub marketable: Vec<u64>,
    /// Prints with an unknown aggressor.
    pub unknown_aggressor_prints: u64,
}

/// A deliberate departure from the documented rules, to show that the comparison catches it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// The documented rules.
    Documented,
    /// Joins at the front of the queue (nothing ahead).
    JoinFront,
    /// Also advances when an order *behind* is cancelled.
    AdvanceOnCancelBehind,
}

#[derive(Clone, Copy, Debug)]
enum Q {
    Mkt { id: u64, size: u32 },
    Own(usize),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Pending,
    Resting,
    Done,
}

#[derive(Clone, Copy, Debug)]
struct Own {
    cid: u64,
    /// Book side: 0 bids (a buy), 1 asks (a sell).
    side: usize,
    price: i64,
    /// Total quantity (filled included).
    qty: u32,
    remaining: u32,
    arrives: u64,
    sub: u64,
    tif: TimeInForce,
    expires: u64,
    state: State,
    /// Size of the queue ahead that prints at the price have consumed and whose removal has not
    /// been seen yet.
    consumed: u64,
}

struct Oracle {
    rule: Rule,
    latency: u64,
    book: [BTreeMap<i64, VecDeque<Q>>; 2],
    at: HashMap<u64, (usize, i64)>,
    own: Vec<Own>,
    by_cid: HashMap<u64, usize>,
    next_sub: u64,
    /// Placements made during the current venue event: (placement index, own order).
    joined_now: Vec<(usize, usize)>,
    out: Outcome,
}

fn book_side(s: u8) -> Option<usize> {
    match s {
        b'B' => Some(0),
        b'A' => Some(1),
        _ => None,
    }
}

impl Oracle {
    fn mkt_size(q: &VecDeque<Q>) -> u64 {
        q.iter().map(|e| if let Q::Mkt { size, .. } = e { u64::from(*size) } else { 0 }).sum()
    }

    fn size_at(&self, side: usize, price: i64) -> u64 {
        self.book[side].get(&price).map_or(0, Self::mkt_size)
    }

    /// The visible (top-10) prices of a side with market size.
    fn visible(&self, side: usize) -> Vec<i64> {
        let live = |(p, q): (&i64, &VecDeque<Q>)| (Self::mkt_size(q) > 0).then_some(*p);
        if side == 0 {
            self.book[0].iter().rev().filter_map(live).take(10).collect()
        } else {
            self.book[1].iter().filter_map(live).take(10).collect()
        }
    }

    fn l2_join(&self, side: usize, price: i64) -> Option<u64> {
        let vis = self.visible(side);
        let (best, worst) = (*vis.first()?, *vis.last()?);
        if vis.contains(&price) {
            return Some(self.size_at(side, price));
        }
        let (inside, better) = if side == 0 {
            (price < best && price > worst, price > best)
        } else {
            (price > best && price < worst, price < best)
        };
        (inside || better).then_some(0)
    }

    fn marketable(&self, o: &Own) -> bool {
        let opp = 1 - o.side;
        let best = if opp == 1 {
            self.book[1].iter().find(|(_, q)| Self::mkt_size(q) > 0).map(|(p, _)| *p)
        } else {
            self.book[0].iter().rev().find(|(_, q)| Self::mkt_size(q) > 0).map(|(p, _)| *p)
        };
        match best {
            Some(b) if o.side == 0 => b <= o.price,
            Some(b) => b >= o.price,
            None => false,
        }
    }

    /// `c` lots of a market order left the queue at (`side`, `price`); the entries from index
    /// `behind` on were behind it: those own orders move up (after their credit).
    fn removed(&mut self, side: usize, price: i64, behind: usize, c: u64) {
        let Some(q) = self.book[side].get(&price) else { return };
        for (j, e) in q.iter().enumerate() {
            if let Q::Own(i) = *e {
                let o = &mut self.own[i];
                if j >= behind {
                    o.consumed -= c.min(o.consumed);
                } else if self.rule == Rule::AdvanceOnCancelBehind {
                    // The mutation: a cancel behind also moves the order up.
                    o.consumed += c;
                }
            }
        }
    }

    fn ahead_of(&self, i: usize) -> u64 {
        let o = self.own[i];
        let q = &self.book[o.side][&o.price];
        let mut sum = 0u64;
        for e in q {
            match *e {
                Q::Mkt { size, .. } => sum += u64::from(size),
                Q::Own(j) if j == i => break,
                Q::Own(_) => {}
            }
        }
        sum.saturating_sub(o.consumed)
    }

    fn remove_mkt(&mut self, id: u64, c: Option<u32>) -> Option<(usize, i64, u32)> {
        let &(side, price) = self.at.get(&id)?;
        let q = self.book[side].get_mut(&price)?;
        let k = q.iter().position(|e| matches!(e, Q::Mkt { id: x, .. } if *x == id))?;
        let Q::Mkt { size, .. } = q[k] else { return None };
        let take = c.map_or(size, |c| c.min(size));
        let behind = if take >= size {
            q.remove(k);
            self.at.remove(&id);
            k
        } else {
            if let Q::Mkt { size: s, .. } = &mut q[k] {
                *s -= take;
            }
            k + 1
        };
        self.removed(side, price, behind, u64::from(take));
        if self.book[side].get(&price).is_some_and(VecDeque::is_empty) {
            self.book[side].remove(&price);
        }
        Some((side, price, size))
    }

    fn add_mkt(&mut self, id: u64, side: usize, price: i64, size: u32) {
        if self.at.contains_key(&id) {
            self.remove_mkt(id, None);
        }
        self.book[side].entry(price).or_default().push_back(Q::Mkt { id, size });
        self.at.insert(id, (side, price));
    }

    fn apply(&mut self, r: &Rec) {
        match r.action {
            b'A' => {
                if let (Some(s), true) = (book_side(r.side), r.size > 0) {
                    self.add_mkt(r.order_id, s, r.price, r.size);
                }
            }
            b'C' => {
                self.remove_mkt(r.order_id, Some(r.size));
            }
            b'M' => {
                let Some(&(old_side, old_price)) = self.at.get(&r.order_id) else {
                    if let (Some(s), true) = (book_side(r.side), r.size > 0) {
                        self.add_mkt(r.order_id, s, r.price, r.size);
                    }
                    return;
                };
                let old_size = self.book[old_side][&old_price]
                    .iter()
                    .find_map(|e| match *e {
                        Q::Mkt { id, size } if id == r.order_id => Some(size),
                        _ => None,
                    })
                    .unwrap_or(0);
                let side = book_side(r.side).unwrap_or(old_side);
                if r.size == 0 {
                    self.remove_mkt(r.order_id, None);
                } else if side != old_side || r.price != old_price || r.size > old_size {
                    self.remove_mkt(r.order_id, None);
                    self.add_mkt(r.order_id, side, r.price, r.size);
                } else {
                    self.remove_mkt(r.order_id, Some(old_size - r.size));
                }
            }
            b'R' => {
                for i in 0..self.own.len() {
                    if self.own[i].state == State::Resting {
                        self.own[i].state = State::Done;
                    }
                }
                self.book = [BTreeMap::new(), BTreeMap::new()];
                self.at.clear();
            }
            _ => {}
        }
    }

    fn take_marker(&mut self, i: usize) {
        let o = self.own[i];
        if let Some(q) = self.book[o.side].get_mut(&o.price) {
            q.retain(|e| !matches!(e, Q::Own(j) if *j == i));
            if q.is_empty() {
                self.book[o.side].remove(&o.price);
            }
        }
    }

    fn join(&mut self, i: usize, ts: u64, on_arrival: bool) {
        let o = self.own[i];
        let l3_ahead = self.size_at(o.side, o.price);
        let l2_join = self.l2_join(o.side, o.price);
        self.joined_now.push((self.out.placements.len(), i));
        self.out.placements.push(Placement {
            client_order_id: o.cid,
            ts,
            l3_ahead,
            l2_join,
            ahead_end: None,
            on_arrival,
        });
        let q = self.book[o.side].entry(o.price).or_default();
        if self.rule == Rule::JoinFront {
            q.push_front(Q::Own(i));
        } else {
            q.push_back(Q::Own(i));
        }
        self.own[i].consumed = 0;
        self.own[i].state = State::Resting;
    }

    /// Orders whose arrival instant is ≤ `until` reach the venue at event (`seq`, `ts`).
    fn arrivals(&mut self, until: u64, ts: u64) {
        let mut due: Vec<usize> = (0..self.own.len())
            .filter(|&i| self.own[i].state == State::Pending && self.own[i].arrives <= until)
            .collect();
        due.sort_by_key(|&i| (self.own[i].arrives, self.own[i].sub));
        for i in due {
            let o = self.own[i];
            if self.marketable(&o) {
                self.out.marketable.push(o.cid);
                self.own[i].state = State::Done;
                continue;
            }
            match o.tif {
                TimeInForce::Ioc => self.own[i].state = State::Done,
                TimeInForce::Day => {
                    self.own[i].expires = mia_exec::sim::session_end_after(ts);
                    self.join(i, ts, true);
                }
                _ => self.join(i, ts, true),
            }
        }
    }

    fn fill(&mut self, i: usize, qty: u32, seq: u64, ts: u64) {
        let o = &mut self.own[i];
        o.remaining -= qty;
        self.out.fills.push((o.cid, seq, ts, o.price, qty));
        if o.remaining == 0 {
            o.state = State::Done;
            self.take_marker(i);
        }
    }

    fn print(&mut self, r: &Rec, seq: u64) {
        let (q, p) = (r.size, r.price);
        let mut avail = q;
        // Through: most aggressive first, then submission order.
        let mut through: Vec<(i64, u64, usize)> = (0..self.own.len())
            .filter(|&i| self.own[i].state == State::Resting)
            .filter_map(|i| {
                let o = self.own[i];
                let d = if o.side == 0 { o.price - p } else { p - o.price };
                (d > 0).then_some((-d, o.sub, i))
            })
            .collect();
        through.sort_unstable();
        for (_, _, i) in through {
            if avail == 0 {
                break;
            }
            let qty = self.own[i].remaining.min(avail);
            avail -= qty;
            self.fill(i, qty, seq, r.ts);
        }
        // At the price, on the side(s) the aggressor hits.
        let sides: &[usize] = match r.side {
            b'A' => &[0],
            b'B' => &[1],
            _ => {
                self.out.unknown_aggressor_prints += 1;
                &[0, 1]
            }
        };
        for &s in sides {
            let Some(queue) = self.book[s].get(&p) else { continue };
            let mine: Vec<usize> =
                queue.iter().filter_map(|e| if let Q::Own(i) = *e { Some(i) } else { None }).collect();
            let mut older = 0u64;
            for i in mine {
                let ahead = self.ahead_of(i);
                let rem = self.own[i].remaining;
                self.own[i].consumed += u64::from(q).min(ahead);
                let reach = u64::from(q).saturating_sub(ahead).saturating_sub(older);
                older += u64::from(rem);
                let qty = reach.min(u64::from(rem)).min(u64::from(avail)) as u32;
                if qty > 0 {
                    avail -= qty;
                    self.fill(i, qty, seq, r.ts);
                }
            }
        }
    }

    /// The venue event is over: the orders placed during it get their queue ahead.
    fn end_event(&mut self) {
        for (p, i) in std::mem::take(&mut self.joined_now) {
            self.out.placements[p].ahead_end =
                (self.own[i].state == State::Resting).then(|| self.ahead_of(i));
        }
    }

    fn expire_day(&mut self, ts: u64) {
        for i in 0..self.own.len() {
            if self.own[i].state == State::Resting && self.own[i].expires <= ts {
                self.own[i].state = State::Done;
                self.take_marker(i);
            }
        }
    }

    fn intent(&mut self, it: &OrderIntent) {
        match it.action {
            OrderAction::New => {
                assert_ne!(it.order_type, OrderType::StopLimit, "stop-limit orders are not replayed");
                if it.order_type != OrderType::Limit {
                    return;
                }
                let i = self.own.len();
                self.own.push(Own {
                    cid: it.client_order_id,
                    side: if it.side == OrderSide::Buy { 0 } else { 1 },
                    price: it.price,
                    qty: it.qty,
                    remaining: it.qty,
                    arrives: it.ts + self.latency,
                    sub: self.next_sub,
                    tif: it.tif,
                    expires: u64::MAX,
                    state: State::Pending,
                    consumed: 0,
                });
                self.next_sub += 1;
                self.by_cid.insert(it.client_order_id, i);
                self.out.limit_ids.push(it.client_order_id);
            }
            OrderAction::Cancel => {
                let Some(&i) = self.by_cid.get(&it.client_order_id) else { return };
                if self.own[i].state == State::Resting {
                    self.take_marker(i);
                }
                self.own[i].state = State::Done;
            }
            OrderAction::Modify => {
                let Some(&i) = self.by_cid.get(&it.client_order_id) else { return };
                let o = self.own[i];
                if o.state == State::Done {
                    return;
                }
                let filled = o.qty - o.remaining;
                if it.qty <= filled {
                    // The venue refuses a modify to no more than what has filled.
                    return;
                }
                let remaining = it.qty - filled;
                let repriced = it.price != o.price;
                let requeue = o.state == State::Resting && (repriced || remaining > o.remaining);
                if repriced {
                    self.own[i].sub = self.next_sub;
                    self.next_sub += 1;
                }
                if requeue {
                    self.take_marker(i);
                }
                self.own[i].price = it.price;
                self.own[i].qty = it.qty;
                self.own[i].remaining = remaining;
                if requeue {
                    self.join(i, it.ts, false);
                }
            }
        }
    }
}

/// Replays the documented L3 rules (or a mutation of them) for the limit orders of `j` over
/// the records `recs`, with a constant entry latency of `latency_ns`.
pub fn replay(recs: &[Rec], j: &Journal, latency_ns: u64, rule: Rule) -> Outcome {
    let mut o = Oracle {
        rule,
        latency: latency_ns,
        book: [BTreeMap::new(), BTreeMap::new()],
        at: HashMap::new(),
        own: Vec::new(),
        by_cid: HashMap::new(),
        next_sub: 0,
        joined_now: Vec::new(),
        out: Outcome::default(),
    };
    let mut next_intent = 0;
    let n = recs.len();
    for (r, rec) in recs.iter().enumerate() {
        let mbo = j.mbo_seq[r];
        let end = if r + 1 < n { j.mbo_seq[r + 1] } else { u64::MAX };
        if rec.ts > 0 {
            o.arrivals(rec.ts - 1, rec.ts);
        }
        o.apply(rec);
        o.end_event();
        while next_intent < j.intents.len() && j.intents[next_intent].seq <= mbo {
            o.intent(&j.intents[next_intent]);
            next_intent += 1;
        }
        let d = j.first_derived[r];
        if d == u64::MAX {
            continue;
        }
        o.expire_day(rec.ts);
        if rec.action == b'T' && rec.size > 0 && rec.price != dbn::UNDEF_PRICE {
            o.print(rec, d);
        }
        o.arrivals(rec.ts, rec.ts);
        o.end_event();
        while next_intent < j.intents.len() && j.intents[next_intent].seq < end {
            o.intent(&j.intents[next_intent]);
            next_intent += 1;
        }
    }
    o.out
}

/// Scripted limit orders over the whole session, independent of any strategy: every 4,000th
/// record (that has a derived event) sends a 5-lot GTC limit, alternately a buy 1–12 ticks
/// below and a sell 1–12 ticks above the last print (every fifth time two orders at that
/// price); 12,000 records later a third of them decrease to 3 lots (keeps the place) and a
/// third move one tick closer (rejoins at the back); 60,000 records after placement each is
/// cancelled. Client ids from 1,000,000.
pub fn scripted(recs: &[Rec], j: &Journal) -> Vec<OrderIntent> {
    const TICK: i64 = 250_000_000;
    const EVERY: usize = 4_000;
    let at = |r: usize| {
        let r = r.min(recs.len() - 1);
        let seq = if j.first_derived[r] == u64::MAX { j.mbo_seq[r] } else { j.first_derived[r] };
        (seq, recs[r].ts)
    };
    let mut out = Vec::new();
    let mut last_trade = None;
    let mut cid = 1_000_000u64;
    for (r, rec) in recs.iter().enumerate() {
        if rec.action == b'T' && rec.price != dbn::UNDEF_PRICE {
            last_trade = Some(rec.price);
        }
        let Some(px) = last_trade else { continue };
        if !r.is_multiple_of(EVERY) || j.first_derived[r] == u64::MAX {
            continue;
        }
        let step = r / EVERY;
        let k = 1 + (step % 12) as i64;
        let buy = step.is_multiple_of(2);
        let (side, price) =
            if buy { (OrderSide::Buy, px - k * TICK) } else { (OrderSide::Sell, px + k * TICK) };
        let (seq, ts) = at(r);
        for _ in 0..if step.is_multiple_of(5) { 2 } else { 1 } {
            cid += 1;
            let new = OrderIntent {
                client_order_id: cid,
                seq,
                ts,
                price,
                qty: 5,
                side,
                order_type: OrderType::Limit,
                tif: TimeInForce::Gtc,
                action: OrderAction::New,
                ..OrderIntent::default()
            };
            out.push(new);
            let (seq, ts) = at(r + 3 * EVERY);
            match cid % 3 {
                0 => out.push(OrderIntent { seq, ts, qty: 3, action: OrderAction::Modify, ..new }),
                1 => {
                    let closer = if buy { price + TICK } else { price - TICK };
                    out.push(OrderIntent { seq, ts, price: closer, action: OrderAction::Modify, ..new });
                }
                _ => {}
            }
            let (seq, ts) = at(r + 15 * EVERY);
            out.push(OrderIntent { seq, ts, action: OrderAction::Cancel, ..new });
        }
    }
    out.sort_by_key(|i| i.seq);
    out
}
