//! DTC market data and depth messages → MIA [`Event`]s.
//!
//! - `MARKET_DATA_UPDATE_TRADE` (and `_COMPACT`) → one `Trade` with `LAST`; `AtBidOrAsk = AT_BID`
//!   (a print on the bid: the seller was the aggressor) → side `Ask`, `AT_ASK` → `Bid`, unset →
//!   `None`. `DateTime` (UNIX seconds) → `ts_event`; 0 → `ts_recv`.
//! - Top of book, when depth is **not** subscribed: `MARKET_DATA_UPDATE_BID_ASK` (and
//!   `_COMPACT`) and the bid/ask of `MARKET_DATA_SNAPSHOT` set depth 0 of each side (only the
//!   sides that changed; an unset price — `DBL_MAX`, `FLT_MAX` in the compact messages — or 0
//!   empties that side, as the DTC
//!   documentation says to leave it unset when there is no price).
//! - Depth, when subscribed: `MARKET_DEPTH_SNAPSHOT_LEVEL` (the first of a batch clears the
//!   book; the last emits it) and `MARKET_DEPTH_UPDATE_LEVEL` (insert/update or delete *by
//!   price*) go through a [`Ladder`], which emits depth-indexed `Level` events. Bid/ask updates
//!   are then ignored for the book (the depth stream carries the best levels), so two sources
//!   never fight over depth 0.
//! - Prices must be finite, positive, not `DBL_MAX`; they are rounded to the tick. A bad price
//!   or quantity drops that message with an error naming the message type and the field.

use mia_model::event::{flags, Event, EventKind, Side};
use mia_model::price::{round_to_tick, Px, UNDEF_PX};

use super::messages::{values, Message};
use crate::normalize::EventBuf;
use crate::sierra::ladder::Ladder;

/// Largest price accepted (anything above is a sentinel or garbage).
const MAX_PRICE: f64 = 1.0e7;

/// Converts the market messages of one symbol into events.
#[derive(Clone, Debug)]
pub struct MarketNormalizer {
    tick: Px,
    instrument_id: u32,
    depth: bool,
    ladder: Ladder,
    /// Top of book as last emitted (without depth): (price, size) per side.
    top: [(Px, u32); 2],
}

/// UNIX seconds (with fraction) to ns, rounded to the microsecond (a double holds no more
/// precision at today's dates); `None` for 0, negative, non-finite or sentinel values.
#[inline]
fn secs_to_ns(s: f64) -> Option<u64> {
    (s.is_finite() && s > 0.0 && s < 7.0e9).then(|| (s * 1e6).round() as u64 * 1000)
}

impl MarketNormalizer {
    /// A normalizer rounding to `tick`, stamping `instrument_id`, reading depth messages when
    /// `depth` (else top of book from bid/ask updates).
    pub fn new(tick: Px, instrument_id: u32, depth: bool) -> Self {
        Self { tick: tick.max(1), instrument_id, depth, ladder: Ladder::new(), top: [(UNDEF_PX, 0); 2] }
    }

    /// The price of `field`, checked and rounded; `Ok(None)` when unset (`DBL_MAX` or 0) and
    /// `unset_ok`.
    #[inline]
    fn price(&self, v: f64, field: &str, unset_ok: bool) -> Result<Option<Px>, String> {
        // Unset: DBL_MAX (FLT_MAX in the compact float messages) or 0.
        if unset_ok && (v == 0.0 || v >= f64::from(f32::MAX)) {
            return Ok(None);
        }
        if !v.is_finite() || v <= 0.0 || v >= MAX_PRICE {
            return Err(format!("field {field}: {v} is not a valid price"));
        }
        let px =
            mia_model::price::from_f64(v).ok_or_else(|| format!("field {field}: {v} is out of range"))?;
        Ok(Some(round_to_tick(px, self.tick)))
    }

    #[inline]
    fn qty(v: f64, field: &str) -> Result<u32, String> {
        if !v.is_finite() || !(0.0..=4.0e9).contains(&v) {
            return Err(format!("field {field}: {v} is not a valid quantity"));
        }
        Ok(v.round() as u32)
    }

    fn stamp(&self, ts_event: Option<u64>, ts_recv: u64) -> Event {
        Event {
            ts_event: ts_event.unwrap_or(ts_recv),
            ts_recv,
            instrument_id: self.instrument_id,
            ..Event::default()
        }
    }

    fn trade(
        &self,
        price: f64,
        volume: f64,
        at: u16,
        ts: Option<u64>,
        ts_recv: u64,
        out: &mut EventBuf,
    ) -> Result<(), String> {
        let price = self.price(price, "Price", false)?.unwrap_or(UNDEF_PX);
        let size = Self::qty(volume, "Volume")?;
        let side = match at {
            values::AT_BID => Side::Ask,
            values::AT_ASK => Side::Bid,
            _ => Side::None,
        };
        out.push(Event {
            kind: EventKind::Trade,
            side,
            price,
            size,
            flags: flags::LAST,
            ..self.stamp(ts, ts_recv)
        });
        Ok(())
    }

    /// Top-of-book update without depth: emits the sides that changed.
    #[allow(clippy::too_many_arguments)]
    fn top(
        &mut self,
        bid: f64,
        bid_qty: f64,
        ask: f64,
        ask_qty: f64,
        ts: Option<u64>,
        ts_recv: u64,
        extra: u8,
        out: &mut EventBuf,
    ) -> Result<(), String> {
        if self.depth {
            return Ok(());
        }
        let b = self.price(bid, "BidPrice", true)?;
        let a = self.price(ask, "AskPrice", true)?;
        let bq = Self::qty(bid_qty, "BidQuantity")?;
        let aq = Self::qty(ask_qty, "AskQuantity")?;
        let before = out.len();
        let st = self.stamp(ts, ts_recv);
        for (i, side, px, q) in [(0usize, Side::Bid, b, bq), (1, Side::Ask, a, aq)] {
            let now = match px {
                Some(p) if q > 0 => (p, q),
                _ => (UNDEF_PX, 0),
            };
            if self.top[i] != now {
                self.top[i] = now;
                out.push(Event {
                    kind: EventKind::Level,
                    side,
                    price: now.0,
                    size: now.1,
                    flags: extra,
                    ..st
                });
            }
        }
        if out.len() > before {
            if let Some(e) = out.as_mut_slice().last_mut() {
                e.flags |= flags::LAST;
            }
        }
        Ok(())
    }

    fn side(v: u16) -> Result<Side, String> {
        match v {
            1 => Ok(Side::Bid),
            2 => Ok(Side::Ask),
            _ => Err(format!("field Side: {v} is neither 1 (bid) nor 2 (ask)")),
        }
    }

    /// The book is stale (connection lost): empties it and emits a `Clear` flagged
    /// `MAYBE_BAD_BOOK | LAST`.
    pub fn reset(&mut self, ts_recv: u64, out: &mut EventBuf) {
        self.ladder = Ladder::new();
        self.top = [(UNDEF_PX, 0); 2];
        out.push(Event {
            kind: EventKind::Clear,
            flags: flags::MAYBE_BAD_BOOK | flags::LAST,
            ..self.stamp(None, ts_recv)
        });
    }

    /// Appends the events of `m` to `out`. Returns false for a message that is not market
    /// data (nothing appended).
    ///
    /// # Errors
    /// A bad price, quantity or side: the reason names the field (nothing is appended).
    pub fn on_message(&mut self, m: &Message, ts_recv: u64, out: &mut EventBuf) -> Result<bool, String> {
        match m {
            Message::MarketDataUpdateTrade(t) => {
                self.trade(t.price, t.volume, t.at_bid_or_ask, secs_to_ns(t.date_time), ts_recv, out)?
            }
            Message::MarketDataUpdateTradeCompact(t) => self.trade(
                f64::from(t.price),
                f64::from(t.volume),
                t.at_bid_or_ask,
                secs_to_ns(f64::from(t.date_time)),
                ts_recv,
                out,
            )?,
            Message::MarketDataUpdateBidAsk(q) => self.top(
                q.bid_price,
                f64::from(q.bid_quantity),
                q.ask_price,
                f64::from(q.ask_quantity),
                secs_to_ns(f64::from(q.date_time)),
                ts_recv,
                0,
                out,
            )?,
            Message::MarketDataUpdateBidAskCompact(q) => self.top(
                f64::from(q.bid_price),
                f64::from(q.bid_quantity),
                f64::from(q.ask_price),
                f64::from(q.ask_quantity),
                secs_to_ns(f64::from(q.date_time)),
                ts_recv,
                0,
                out,
            )?,
            Message::MarketDataSnapshot(s) => {
                let bq = if s.bid_quantity == f64::MAX { 0.0 } else { s.bid_quantity };
                let aq = if s.ask_quantity == f64::MAX { 0.0 } else { s.ask_quantity };
                self.top(
                    s.bid_price,
                    bq,
                    s.ask_price,
                    aq,
                    secs_to_ns(s.bid_ask_date_time),
                    ts_recv,
                    flags::SNAPSHOT,
                    out,
                )?
            }
            Message::MarketDepthSnapshotLevel(l) => {
                if !self.depth {
                    return Ok(true);
                }
                if l.is_first_message_in_batch != 0 {
                    self.ladder.clear();
                }
                // An empty book is sent as one level with no price.
                if l.price != 0.0 || l.quantity != 0.0 {
                    let side = Self::side(l.side)?;
                    let p = self.price(l.price, "Price", false)?.unwrap_or(UNDEF_PX);
                    let q = Self::qty(l.quantity, "Quantity")?;
                    self.ladder.set(side, p, q, l.num_orders);
                }
                if l.is_last_message_in_batch != 0 {
                    let st = self.stamp(secs_to_ns(l.date_time), ts_recv);
                    self.ladder.emit(st.ts_event, ts_recv, self.instrument_id, flags::SNAPSHOT, true, out);
                }
            }
            Message::MarketDepthUpdateLevel(l) => {
                if !self.depth {
                    return Ok(true);
                }
                let side = Self::side(l.side)?;
                let p = self.price(l.price, "Price", false)?.unwrap_or(UNDEF_PX);
                match l.update_type {
                    values::DEPTH_INSERT_UPDATE => {
                        let q = Self::qty(l.quantity, "Quantity")?;
                        self.ladder.set(side, p, q, l.num_orders);
                    }
                    values::DEPTH_DELETE => self.ladder.delete(side, p),
                    other => return Err(format!("field UpdateType: {other} is neither 1 nor 2")),
                }
                let st = self.stamp(secs_to_ns(l.date_time), ts_recv);
                self.ladder.emit(st.ts_event, ts_recv, self.instrument_id, 0, true, out);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::super::messages::*;
    use super::*;

    const TICK: Px = 250_000_000;
    fn px(v: f64) -> Px {
        (v * 1e9) as Px
    }

    #[test]
    fn trades_and_top_of_book_without_depth() {
        let mut n = MarketNormalizer::new(TICK, 7, false);
        let mut out = EventBuf::new();
        let t = MarketDataUpdateTrade {
            symbol_id: 1,
            at_bid_or_ask: 1,
            price: 4000.25,
            volume: 2.0,
            date_time: 1_700_000_000.5,
        };
        assert_eq!(n.on_message(&t.into(), 99, &mut out), Ok(true));
        let e = out.as_slice()[0];
        assert_eq!(
            (e.kind, e.side, e.price, e.size, e.ts_event, e.ts_recv, e.instrument_id),
            (EventKind::Trade, Side::Ask, px(4000.25), 2, 1_700_000_000_500_000_000, 99, 7)
        );
        assert!(e.is_last());
        out.clear();
        let q = MarketDataUpdateBidAsk {
            bid_price: 4000.0,
            bid_quantity: 5.0,
            ask_price: 4000.25,
            ask_quantity: 6.0,
            ..Default::default()
        };
        n.on_message(&q.clone().into(), 5, &mut out).expect("ok");
        assert_eq!(out.len(), 2);
        assert_eq!((out.as_slice()[0].ts_event, out.as_slice()[1].is_last()), (5, true));
        out.clear();
        n.on_message(&q.into(), 6, &mut out).expect("ok");
        assert!(out.is_empty(), "unchanged: nothing");
        let q = MarketDataUpdateBidAskCompact {
            bid_price: 4000.0,
            bid_quantity: 5.0,
            ask_price: f32::MAX,
            ask_quantity: 0.0,
            ..Default::default()
        };
        n.on_message(&q.into(), 7, &mut out).expect("ok");
        assert_eq!(out.len(), 1, "only the ask changed");
        assert_eq!(
            (out.as_slice()[0].side, out.as_slice()[0].size, out.as_slice()[0].price),
            (Side::Ask, 0, UNDEF_PX)
        );
        out.clear();
        let bad = MarketDataUpdateTrade { price: f64::NAN, ..Default::default() };
        let e = n.on_message(&bad.into(), 8, &mut out).expect_err("NaN");
        assert!(e.contains("Price"), "{e}");
        let bad = MarketDataUpdateTrade { price: f64::MAX, volume: 1.0, ..Default::default() };
        assert!(n.on_message(&bad.into(), 8, &mut out).is_err(), "DBL_MAX is not a trade price");
        assert!(out.is_empty());
        assert_eq!(n.on_message(&Heartbeat::default().into(), 8, &mut out), Ok(false));
    }

    #[test]
    fn depth_snapshot_and_updates_become_levels() {
        let mut n = MarketNormalizer::new(TICK, 0, true);
        let mut out = EventBuf::new();
        let lvl = |side, price, q, first, last| MarketDepthSnapshotLevel {
            side,
            price,
            quantity: q,
            level: 1,
            is_first_message_in_batch: first,
            is_last_message_in_batch: last,
            ..Default::default()
        };
        n.on_message(&lvl(1, 4000.0, 10.0, 1, 0).into(), 1, &mut out).expect("ok");
        n.on_message(&lvl(1, 3999.75, 20.0, 0, 0).into(), 1, &mut out).expect("ok");
        assert!(out.is_empty(), "nothing before the last level of the snapshot");
        n.on_message(&lvl(2, 4000.25, 5.0, 0, 1).into(), 1, &mut out).expect("ok");
        let got: Vec<_> = out.iter().map(|e| (e.kind, e.side, e.depth, e.size)).collect();
        assert_eq!(
            got,
            vec![
                (EventKind::Clear, Side::None, 0, 0),
                (EventKind::Level, Side::Bid, 0, 10),
                (EventKind::Level, Side::Bid, 1, 20),
                (EventKind::Level, Side::Ask, 0, 5),
            ]
        );
        assert!(out.iter().all(|e| e.flags & flags::SNAPSHOT != 0) && out.as_slice()[3].is_last());
        out.clear();
        let up = MarketDepthUpdateLevel { side: 1, price: 4000.0, update_type: 2, ..Default::default() };
        n.on_message(&up.into(), 2, &mut out).expect("ok");
        let got: Vec<_> = out.iter().map(|e| (e.depth, e.price, e.size, e.is_last())).collect();
        assert_eq!(got, vec![(0, px(3999.75), 20, false), (1, UNDEF_PX, 0, true)]);
        out.clear();
        // Bid/ask updates do not touch the book when depth is on.
        let q = MarketDataUpdateBidAsk { bid_price: 1.0, bid_quantity: 1.0, ..Default::default() };
        assert_eq!(n.on_message(&q.into(), 3, &mut out), Ok(true));
        assert!(out.is_empty());
        let bad = MarketDepthUpdateLevel { side: 3, price: 4000.0, update_type: 1, ..Default::default() };
        assert!(n.on_message(&bad.into(), 3, &mut out).expect_err("side").contains("Side"));
        n.reset(4, &mut out);
        assert_eq!(
            (out.as_slice()[0].kind, out.as_slice()[0].flags),
            (EventKind::Clear, flags::MAYBE_BAD_BOOK | flags::LAST)
        );
    }
}
