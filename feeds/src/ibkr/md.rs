//! The market-data edge: tick-by-tick trades (`Last` or `AllLast`), tick-by-tick bid/ask and
//! market depth of the resolved contract become [`Event`]s pushed as [`FeedItem`]s into an
//! `rtrb` ring that a [`RingSource`](mia_runtime::source::RingSource) reads.
//!
//! Mapping (the pure part, [`Mapper`], is unit-tested):
//! - a trade → one `Trade` event with [`flags::LAST`]; the aggressor side is inferred from the
//!   last bid/ask (a print at or above the ask was buyer-initiated → `Side::Bid`; at or below
//!   the bid → `Side::Ask`; in between → `Side::None`); `ts_event` is IB's trade time (whole
//!   seconds on the protobuf API), `ts_recv` the local clock;
//! - a depth row (IB operations insert / update / delete *shift* rows) is applied to a local
//!   copy of the book and every row whose content moved becomes a `Level` event (size 0 for a
//!   row that emptied), the last of the batch with `LAST`; `ts_event = ts_recv` (IB gives no
//!   exchange time for depth); a depth reset (317) becomes a `Clear` event;
//! - a bid/ask tick sets depth 0 of both sides (`TOB`, `LAST` on the ask) **only when depth is
//!   off** (`depth_levels = 0`); with depth on, the book comes from depth alone and bid/ask only
//!   updates the aggressor reference (two sources for one level would fight).
//!
//! Prices go through [`mia_model::price::from_f64`]; a NaN, negative or absurd price or size is
//! dropped with a warning (counted in the log), never turned into an event.

use super::status::{now_ns, FeedStatus, LinkState};
use mia_model::event::{flags, Event, EventKind, Side};
use mia_model::price::{from_f64, Px};
use mia_runtime::source::FeedItem;
use std::sync::atomic::Ordering;

/// Converts an IB size to contracts: finite, ≥ 0, integral within 1e-6, ≤ `u32::MAX`.
pub fn size_of(v: f64) -> Option<u32> {
    if !v.is_finite() || v < 0.0 || v > f64::from(u32::MAX) {
        return None;
    }
    let r = v.round();
    ((v - r).abs() < 1e-6).then_some(r as u32)
}

/// Converts an IB price: finite and > 0.
pub fn price_of(v: f64) -> Option<Px> {
    if v <= 0.0 {
        return None;
    }
    from_f64(v)
}

/// One side of the local depth copy.
#[derive(Clone, Debug, Default)]
struct Rows {
    rows: Vec<(Px, u32)>,
}

/// The pure mapping from IB market data to events.
#[derive(Debug)]
pub struct Mapper {
    instrument_id: u32,
    max_rows: usize,
    bids: Rows,
    asks: Rows,
    best_bid: Px,
    best_ask: Px,
    /// Ticks dropped for a bad price or size.
    pub dropped: u64,
}

impl Mapper {
    /// A mapper for `instrument_id` keeping `max_rows` depth rows per side.
    pub fn new(instrument_id: u32, max_rows: usize) -> Self {
        Self {
            instrument_id,
            max_rows,
            bids: Rows::default(),
            asks: Rows::default(),
            best_bid: 0,
            best_ask: 0,
            dropped: 0,
        }
    }

    /// A trade at `price` × `size` at IB time `ts_event`.
    pub fn trade(&mut self, ts_event: u64, ts_recv: u64, price: f64, size: f64) -> Option<Event> {
        let (Some(px), Some(sz)) = (price_of(price), size_of(size)) else {
            self.dropped += 1;
            tracing::warn!(price, size, "ibkr: trade with a bad price or size dropped");
            return None;
        };
        let side = if self.best_ask > 0 && px >= self.best_ask {
            Side::Bid
        } else if self.best_bid > 0 && px <= self.best_bid {
            Side::Ask
        } else {
            Side::None
        };
        let mut e = Event::trade(ts_event, ts_recv, side, px, sz, flags::LAST);
        e.instrument_id = self.instrument_id;
        Some(e)
    }

    /// A bid/ask tick; emits depth-0 levels into `out` when `emit` (depth off).
    #[allow(clippy::too_many_arguments)]
    pub fn bid_ask(
        &mut self,
        ts_event: u64,
        ts_recv: u64,
        bid: f64,
        ask: f64,
        bid_size: f64,
        ask_size: f64,
        emit: bool,
        out: &mut Vec<Event>,
    ) {
        let (Some(b), Some(a), Some(bs), Some(asz)) =
            (price_of(bid), price_of(ask), size_of(bid_size), size_of(ask_size))
        else {
            self.dropped += 1;
            tracing::warn!(bid, ask, bid_size, ask_size, "ibkr: bid/ask with a bad price or size dropped");
            return;
        };
        self.best_bid = b;
        self.best_ask = a;
        if emit {
            let mut lb = Event::level(ts_event, ts_recv, Side::Bid, 0, b, bs, 0, flags::TOB);
            let mut la = Event::level(ts_event, ts_recv, Side::Ask, 0, a, asz, 0, flags::TOB | flags::LAST);
            lb.instrument_id = self.instrument_id;
            la.instrument_id = self.instrument_id;
            out.push(lb);
            out.push(la);
        }
    }

    /// A depth row: `operation` 0 insert / 1 update / 2 delete, `side` 0 ask / 1 bid. Emits the
    /// rows that changed into `out`.
    #[allow(clippy::too_many_arguments)]
    pub fn depth(
        &mut self,
        ts_recv: u64,
        position: i32,
        operation: i32,
        side: i32,
        price: f64,
        size: f64,
        out: &mut Vec<Event>,
    ) {
        let (book_side, rows) = match side {
            0 => (Side::Ask, &mut self.asks),
            1 => (Side::Bid, &mut self.bids),
            _ => {
                self.dropped += 1;
                tracing::warn!(side, "ibkr: depth row with an unknown side dropped");
                return;
            }
        };
        let max = self.max_rows;
        let pos = match usize::try_from(position) {
            Ok(p) if p < max => p,
            _ => {
                self.dropped += 1;
                tracing::warn!(position, max, "ibkr: depth row outside the subscribed rows dropped");
                return;
            }
        };
        let before = rows.rows.len();
        match operation {
            0 | 1 => {
                let (Some(px), Some(sz)) = (price_of(price), size_of(size)) else {
                    self.dropped += 1;
                    tracing::warn!(price, size, "ibkr: depth row with a bad price or size dropped");
                    return;
                };
                if operation == 0 {
                    let at = pos.min(rows.rows.len());
                    rows.rows.insert(at, (px, sz));
                    rows.rows.truncate(max);
                } else if pos < rows.rows.len() {
                    rows.rows[pos] = (px, sz);
                } else {
                    // An update past the end: IB sometimes sends it for a new row.
                    rows.rows.push((px, sz));
                }
            }
            2 => {
                if pos < rows.rows.len() {
                    rows.rows.remove(pos);
                }
            }
            _ => {
                self.dropped += 1;
                tracing::warn!(operation, "ibkr: depth row with an unknown operation dropped");
                return;
            }
        }
        let first = pos.min(rows.rows.len().max(before));
        let last = if operation == 1 { (pos + 1).min(rows.rows.len()) } else { rows.rows.len().max(before) };
        let start = out.len();
        for d in first..last {
            let (px, sz) = rows.rows.get(d).copied().unwrap_or((0, 0));
            let mut e = Event::level(ts_recv, ts_recv, book_side, d as u8, px, sz, 0, flags::MBP);
            e.instrument_id = self.instrument_id;
            out.push(e);
        }
        if let Some(e) = out.get_mut(start..).and_then(|s| s.last_mut()) {
            e.flags |= flags::LAST;
        }
        if let Some(&(px, _)) = self.bids.rows.first() {
            self.best_bid = px;
        }
        if let Some(&(px, _)) = self.asks.rows.first() {
            self.best_ask = px;
        }
    }

    /// A depth reset: the book is emptied (one `Clear` event).
    pub fn reset(&mut self, ts_recv: u64) -> Event {
        self.bids.rows.clear();
        self.asks.rows.clear();
        Event {
            ts_event: ts_recv,
            ts_recv,
            kind: EventKind::Clear,
            flags: flags::LAST,
            instrument_id: self.instrument_id,
            ..Event::default()
        }
    }
}

/// Converts IB's time to ns since the epoch (0 for times before the epoch).
pub(crate) fn ts_of(t: &time::OffsetDateTime) -> u64 {
    u64::try_from(t.unix_timestamp_nanos()).unwrap_or(0)
}

/// Pushes `e` into the ring; a full ring drops the event and counts it (the edge must not
/// block on a slow sequencer: the stale-data guard sees the count).
pub(crate) fn push(feed: &mut rtrb::Producer<FeedItem>, status: &FeedStatus, e: Event) {
    if feed.push(FeedItem::Event(e)).is_err() {
        status.ring_full.fetch_add(1, Ordering::Relaxed);
    } else {
        status.events.fetch_add(1, Ordering::Relaxed);
    }
}

pub(crate) use thread::{run, MdLoop, Step};

mod thread {
    use super::*;
    use crate::backoff::Backoff;
    use crate::ibkr::contract::ResolvedContract;
    use crate::ibkr::errors::{classify, ErrorClass};
    use crate::ibkr::IbkrConfig;
    use ibapi::client::blocking::Client;
    use ibapi::market_data::realtime::{BidAsk, MarketDepths, Trade};
    use ibapi::market_data::{IgnoreSize, SmartDepth};
    use ibapi::subscriptions::sync::Subscription;
    use ibapi::subscriptions::SubscriptionItem;
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    struct Subs {
        trades: Subscription<Trade>,
        quotes: Subscription<BidAsk>,
        depth: Option<Subscription<MarketDepths>>,
    }

    fn subscribe(client: &Client, cfg: &IbkrConfig, c: &ResolvedContract) -> Result<Subs, ibapi::Error> {
        let contract = crate::ibkr::contract::ib_contract(c);
        let trades = if cfg.all_last {
            client.tick_by_tick(&contract, 0).all_last()?
        } else {
            client.tick_by_tick(&contract, 0).last()?
        };
        let quotes = client.tick_by_tick(&contract, 0).bid_ask(IgnoreSize::No)?;
        let depth = if cfg.depth_levels > 0 {
            Some(
                client
                    .market_depth(&contract, i32::from(cfg.depth_levels))
                    .smart_depth(SmartDepth::No)
                    .subscribe()?,
            )
        } else {
            None
        };
        Ok(Subs { trades, quotes, depth })
    }

    enum Poll {
        Idle,
        Busy,
        Lost(String),
        Broken(String),
    }

    fn item<T>(r: Option<Result<SubscriptionItem<T>, ibapi::Error>>, on: impl FnOnce(T)) -> Poll {
        match r {
            None => Poll::Idle,
            Some(Ok(SubscriptionItem::Data(t))) => {
                on(t);
                Poll::Busy
            }
            Some(Ok(SubscriptionItem::Notice(n))) => {
                tracing::info!(code = n.code, msg = %n.message, "ibkr market data notice");
                Poll::Busy
            }
            Some(Err(e)) if e.is_connection_lost() => Poll::Lost(e.to_string()),
            Some(Err(e)) => Poll::Broken(e.to_string()),
        }
    }

    /// What one round of the market-data loop did.
    pub(crate) enum Step {
        /// Items were mapped and pushed (or a notice handled).
        Busy,
        /// Nothing arrived.
        Idle,
        /// No subscription to poll: a resubscription or a reconnection is pending (the thread
        /// form sleeps between such rounds).
        Waiting,
        /// The loop ended: `Ok` after pushing [`FeedItem::End`] on a requested stop (or when
        /// the ring's reader is gone); `Err` (without `End`, so the source reports a dead
        /// feed) when the client gave up reconnecting.
        Done(Result<(), String>),
    }

    /// The market-data loop's state, stepped by its own thread ([`run`]) or, fused into the
    /// pipeline thread, by the sequencer between inputs ([`super::MdPoll`]). One round never
    /// blocks unless the caller allows it (`sleep_us` idle on the edge's own thread).
    pub(crate) struct MdLoop {
        client: Arc<Client>,
        cfg: IbkrConfig,
        contract: ResolvedContract,
        feed: rtrb::Producer<FeedItem>,
        status: Arc<FeedStatus>,
        stop: Arc<AtomicBool>,
        notices: ibapi::subscriptions::NoticeStream,
        map: Mapper,
        out: Vec<Event>,
        subs: Option<Subs>,
        backoff: Backoff,
        retry_at: Instant,
        lost: bool,
        // When the last connection loss was seen, and when the live subscriptions were made.
        lost_at: Option<Instant>,
        subscribed_at: Instant,
        depth_on: bool,
        /// A thread blocked in ibapi's `wait_connected` while the client reconnects.
        waiter: Option<std::thread::JoinHandle<Result<(), ibapi::Error>>>,
    }

    impl MdLoop {
        /// The loop over `client`'s subscriptions of `contract`, pushing into `feed`.
        ///
        /// # Errors
        /// ibapi refuses the notice stream.
        pub(crate) fn new(
            client: Arc<Client>,
            cfg: IbkrConfig,
            contract: ResolvedContract,
            feed: rtrb::Producer<FeedItem>,
            status: Arc<FeedStatus>,
            stop: Arc<AtomicBool>,
        ) -> Result<Self, String> {
            let notices =
                client.notice_stream().map_err(|e| format!("ibkr market data: notice stream: {e}"))?;
            let map = Mapper::new(u32::try_from(contract.con_id).unwrap_or(0), usize::from(cfg.depth_levels));
            let backoff = cfg.backoff();
            let depth_on = cfg.depth_levels > 0;
            Ok(Self {
                client,
                cfg,
                contract,
                feed,
                status,
                stop,
                notices,
                map,
                out: Vec::with_capacity(64),
                subs: None,
                backoff,
                retry_at: Instant::now(),
                lost: false,
                lost_at: None,
                subscribed_at: Instant::now(),
                depth_on,
                waiter: None,
            })
        }

        /// Connectivity notices.
        fn on_notices(&mut self) {
            while let Some(n) = self.notices.try_next() {
                match (n.code, classify(n.code)) {
                    (ibapi::TRANSPORT_RECONNECT_CODE, _)
                        if self.subs.is_some() && self.lost_at.is_some_and(|l| self.subscribed_at > l) =>
                    {
                        // The streams already failed with the drop and were reopened on the new
                        // connection: nothing to redo.
                        tracing::debug!("ibkr market data: reconnect notice after resubscribing");
                    }
                    (ibapi::TRANSPORT_RECONNECT_CODE, _) | (_, ErrorClass::RestoredDataLost) => {
                        tracing::warn!(code = n.code, "ibkr market data: resubscribing after a reconnect");
                        self.subs = None;
                        self.retry_at = Instant::now();
                    }
                    (_, ErrorClass::ConnectivityLost) => {
                        tracing::warn!(code = n.code, "ibkr: TWS lost its connection to IB");
                        self.status.set_state(LinkState::Lost);
                        self.lost = true;
                    }
                    (_, ErrorClass::RestoredDataKept) => {
                        tracing::info!(code = n.code, "ibkr: connection to IB restored, data kept");
                        self.status.set_state(LinkState::Restored);
                        self.lost = false;
                    }
                    (_, ErrorClass::Pacing) => {
                        self.status.pacing.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(code = n.code, msg = %n.message, "ibkr: pacing violation");
                    }
                    (_, ErrorClass::Informational) => {
                        tracing::debug!(code = n.code, msg = %n.message, "ibkr notice")
                    }
                    _ => tracing::warn!(code = n.code, msg = %n.message, "ibkr notice"),
                }
            }
        }

        /// True once the client is connected; while it is not, ibapi's blocking
        /// `wait_connected` runs on a helper thread (started once per outage) and this returns
        /// at once. `Err` when ibapi gave up reconnecting (or shut down).
        fn connected(&mut self) -> Result<bool, String> {
            if let Some(w) = self.waiter.take() {
                if !w.is_finished() {
                    self.waiter = Some(w);
                    return Ok(false);
                }
                return match w.join() {
                    Ok(Ok(())) => Ok(true),
                    Ok(Err(e)) => Err(e.to_string()),
                    Err(_) => Err("the wait thread panicked".into()),
                };
            }
            if self.client.is_connected() {
                return Ok(true);
            }
            let c = Arc::clone(&self.client);
            let waiter = std::thread::Builder::new()
                .name("mia-ibkr-wait".into())
                .spawn(move || c.wait_connected())
                .map_err(|e| format!("cannot start a wait thread: {e}"))?;
            self.waiter = Some(waiter);
            Ok(false)
        }

        /// (Re)subscribes when due: `Busy` on success, `Waiting` otherwise.
        fn resubscribe(&mut self) -> Step {
            if Instant::now() < self.retry_at {
                return Step::Waiting;
            }
            if !self.client.is_connected() || self.waiter.is_some() {
                if self.status.state().is_up() {
                    self.status.set_state(LinkState::Lost);
                    self.lost = true;
                }
                match self.connected() {
                    Ok(true) => {}
                    Ok(false) => return Step::Waiting,
                    Err(e) => {
                        self.status.set_state(LinkState::Stopped);
                        return Step::Done(Err(format!("ibkr market data: reconnect gave up: {e}")));
                    }
                }
            }
            match subscribe(&self.client, &self.cfg, &self.contract) {
                Ok(s) => {
                    self.subs = Some(s);
                    self.subscribed_at = Instant::now();
                    self.backoff.reset();
                    if matches!(self.status.state(), LinkState::Connecting) && !self.lost {
                        self.status.set_state(LinkState::Connected);
                    } else {
                        self.status.set_state(LinkState::Restored);
                    }
                    self.lost = false;
                    // The local depth copy describes the old subscription.
                    if self.depth_on {
                        let e = self.map.reset(now_ns());
                        push(&mut self.feed, &self.status, e);
                    }
                    Step::Busy
                }
                Err(e) => {
                    let wait = self.backoff.failed();
                    tracing::warn!(error = %e, backoff_ms = wait.as_millis() as u64, "ibkr market data: subscribe failed");
                    self.retry_at = Instant::now() + wait;
                    Step::Waiting
                }
            }
        }

        /// One round: notices, (re)subscription, then every stream polled once. With
        /// `block_for` (the edge's own thread, `sleep_us` idle, idle long enough) the trade
        /// stream is waited on that long instead of polled.
        pub(crate) fn step(&mut self, block_for: Option<Duration>) -> Step {
            if self.stop.load(Ordering::Acquire) || self.feed.is_abandoned() {
                let _ = self.feed.push(FeedItem::End);
                self.status.set_state(LinkState::Stopped);
                return Step::Done(Ok(()));
            }
            self.on_notices();
            let Some(s) = self.subs.as_ref() else { return self.resubscribe() };
            let mut busy = false;
            let mut fault: Option<Poll> = None;
            let now = now_ns();
            let (map, out, depth_on) = (&mut self.map, &mut self.out, self.depth_on);
            out.clear();
            let next_trade = match block_for {
                Some(d) => s.trades.next_timeout(d),
                None => s.trades.try_next(),
            };
            match item(next_trade, |t: Trade| {
                #[cfg(feature = "latency-probe")]
                crate::ibkr::probe::md_received();
                if let Some(e) = map.trade(ts_of(&t.time), now, t.price, t.size) {
                    out.push(e);
                }
            }) {
                Poll::Busy => busy = true,
                Poll::Idle => {}
                p => fault = Some(p),
            }
            match item(s.quotes.try_next(), |q: BidAsk| {
                #[cfg(feature = "latency-probe")]
                crate::ibkr::probe::md_received();
                map.bid_ask(
                    ts_of(&q.time),
                    now,
                    q.bid_price,
                    q.ask_price,
                    q.bid_size,
                    q.ask_size,
                    !depth_on,
                    out,
                )
            }) {
                Poll::Busy => busy = true,
                Poll::Idle => {}
                p => fault = fault.or(Some(p)),
            }
            if let Some(d) = s.depth.as_ref() {
                match item(d.try_next(), |m: MarketDepths| match m {
                    MarketDepths::MarketDepth(r) => {
                        map.depth(now, r.position, r.operation, r.side, r.price, r.size, out)
                    }
                    MarketDepths::MarketDepthL2(r) => {
                        map.depth(now, r.position, r.operation, r.side, r.price, r.size, out)
                    }
                    MarketDepths::Reset => out.push(map.reset(now)),
                }) {
                    Poll::Busy => busy = true,
                    Poll::Idle => {}
                    p => fault = fault.or(Some(p)),
                }
            }
            for e in self.out.drain(..) {
                push(&mut self.feed, &self.status, e);
            }
            #[cfg(feature = "latency-probe")]
            crate::ibkr::probe::md_pushed();
            if busy {
                self.status.touch(now);
            }
            match fault {
                Some(Poll::Lost(why)) => {
                    tracing::warn!(reason = %why, "ibkr market data: connection lost");
                    self.status.set_state(LinkState::Lost);
                    self.lost = true;
                    self.lost_at = Some(Instant::now());
                    self.subs = None;
                    self.retry_at = Instant::now();
                }
                Some(Poll::Broken(why)) => {
                    let wait = self.backoff.failed();
                    tracing::warn!(reason = %why, backoff_ms = wait.as_millis() as u64, "ibkr market data: subscription ended; resubscribing");
                    self.subs = None;
                    self.retry_at = Instant::now() + wait;
                }
                _ => {}
            }
            if busy {
                Step::Busy
            } else {
                Step::Idle
            }
        }
    }

    /// The market-data thread's body: [`MdLoop::step`] until it ends, waiting between empty
    /// rounds as `[ibkr] idle` says. Returns what the loop ended with.
    pub(crate) fn run(
        client: Arc<Client>,
        cfg: IbkrConfig,
        contract: ResolvedContract,
        feed: rtrb::Producer<FeedItem>,
        status: Arc<FeedStatus>,
        stop: Arc<AtomicBool>,
    ) -> Result<(), String> {
        let mut idle = cfg.idle_wait();
        let mut md = MdLoop::new(client, cfg, contract, feed, status, stop)?;
        loop {
            // `idle = "sleep_us"` only: once idle long enough, block on the trade stream (it
            // wakes at once on a trade) instead of sleeping; quotes and depth then wait at most
            // `idle_sleep_us`. `spin` and `yield` never block here.
            let blocked = idle.may_block();
            match md.step(blocked.then(|| idle.sleep())) {
                Step::Busy => idle.busy(),
                Step::Idle if blocked => idle.count_empty(),
                Step::Idle => idle.wait(),
                Step::Waiting => std::thread::sleep(Duration::from_millis(5)),
                Step::Done(r) => return r,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: i64 = 1_000_000_000;

    #[test]
    fn sizes_and_prices_are_checked() {
        assert_eq!(size_of(3.0), Some(3));
        assert_eq!(size_of(2.5), None);
        assert_eq!(size_of(-1.0), None);
        assert_eq!(size_of(f64::NAN), None);
        assert_eq!(size_of(1e12), None);
        assert_eq!(price_of(6000.25), Some(6000 * P + P / 4));
        assert_eq!(price_of(0.0), None);
        assert_eq!(price_of(f64::INFINITY), None);
    }

    #[test]
    fn trades_take_their_aggressor_from_the_quote() {
        let mut m = Mapper::new(7, 0);
        let mut out = Vec::new();
        m.bid_ask(1, 2, 6000.0, 6000.25, 5.0, 6.0, true, &mut out);
        assert_eq!(out.len(), 2);
        assert_eq!((out[0].side, out[0].depth, out[0].price, out[0].size), (Side::Bid, 0, 6000 * P, 5));
        assert_eq!((out[1].side, out[1].size), (Side::Ask, 6));
        assert!(!out[0].is_last() && out[1].is_last());
        let buy = m.trade(10, 11, 6000.25, 2.0).expect("trade");
        assert_eq!((buy.kind, buy.side, buy.size, buy.instrument_id), (EventKind::Trade, Side::Bid, 2, 7));
        assert!(buy.is_last());
        assert_eq!(m.trade(10, 11, 6000.0, 1.0).map(|e| e.side), Some(Side::Ask));
        assert_eq!(m.trade(10, 11, 6000.1, 1.0).map(|e| e.side), Some(Side::None));
        assert!(m.trade(10, 11, f64::NAN, 1.0).is_none());
        assert_eq!(m.dropped, 1);
        out.clear();
        m.bid_ask(1, 2, 6000.0, 6000.25, 5.0, 6.0, false, &mut out);
        assert!(out.is_empty(), "with depth on, bid/ask only moves the reference");
    }

    #[test]
    fn depth_inserts_and_deletes_shift_rows() {
        let mut m = Mapper::new(1, 10);
        let mut out = Vec::new();
        m.depth(5, 0, 0, 1, 6000.0, 3.0, &mut out); // bid row 0
        assert_eq!(out.len(), 1);
        assert_eq!((out[0].side, out[0].depth, out[0].price, out[0].size), (Side::Bid, 0, 6000 * P, 3));
        assert!(out[0].is_last());
        out.clear();
        m.depth(5, 0, 0, 1, 6000.25, 1.0, &mut out); // insert above: old row 0 moves to 1
        assert_eq!(
            out.iter().map(|e| (e.depth, e.price)).collect::<Vec<_>>(),
            [(0, 6000 * P + P / 4), (1, 6000 * P)]
        );
        assert!(!out[0].is_last() && out[1].is_last());
        out.clear();
        m.depth(5, 0, 1, 1, 6000.25, 4.0, &mut out); // update row 0 only
        assert_eq!(out.iter().map(|e| (e.depth, e.size)).collect::<Vec<_>>(), [(0, 4)]);
        out.clear();
        m.depth(5, 0, 2, 1, 0.0, 0.0, &mut out); // delete row 0: row 1 moves up, row 1 empties
        assert_eq!(
            out.iter().map(|e| (e.depth, e.price, e.size)).collect::<Vec<_>>(),
            [(0, 6000 * P, 3), (1, 0, 0)]
        );
        out.clear();
        m.depth(5, 0, 0, 0, 6000.5, 2.0, &mut out); // ask row 0
        assert_eq!((out[0].side, out[0].depth), (Side::Ask, 0));
        out.clear();
        m.depth(5, 10, 0, 0, 6001.0, 2.0, &mut out); // outside the 10 rows
        m.depth(5, 0, 7, 0, 6001.0, 2.0, &mut out); // unknown operation
        m.depth(5, 0, 0, 3, 6001.0, 2.0, &mut out); // unknown side
        assert!(out.is_empty());
        assert_eq!(m.dropped, 3);
        let c = m.reset(9);
        assert_eq!((c.kind, c.is_last()), (EventKind::Clear, true));
    }

    #[test]
    fn the_book_keeps_at_most_the_subscribed_rows() {
        let mut m = Mapper::new(1, 2);
        let mut out = Vec::new();
        for px in [6000.0, 6000.25, 6000.5] {
            m.depth(1, 0, 0, 1, px, 1.0, &mut out);
        }
        assert_eq!(m.bids.rows.len(), 2);
        assert_eq!(m.bids.rows[0].0, 6000 * P + P / 2);
    }
}
