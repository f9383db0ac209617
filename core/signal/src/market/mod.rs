//! The market state every feature reads (SIGNALS.md §1–2): monotone event time, the session
//! clock, the L2 book and its best bid/offer, the aggressor classifier with the session
//! cumulative delta, the session VWAP, and the event-time bars with their footprints.
//!
//! It is one concrete type, not a seam: features, and later Battle Navale, patterns and
//! levels, all read the same bars and the same classified trades, so each is computed once.
//! The [`crate::features::engine::FeatureEngine`] drives it; features never mutate it.

pub mod aggressor;
pub mod bars;
pub mod clock;
pub mod footprint;
pub mod vwap;

use crate::features::smart_money::{SmartMoney, SmartMoneyConfig};
use aggressor::{Aggressor, Classifier};
use bars::{Bars, BarsConfig};
use clock::{ClockChange, SessionClock};
use mia_model::book::Book;
use mia_model::event::Event;
use mia_model::price::Px;
use vwap::SessionVwap;

/// One classified trade (the event being applied).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct TradeTick {
    /// Event time (monotone `ts_recv`).
    pub ts: u64,
    /// Price.
    pub price: Px,
    /// Contracts.
    pub size: u32,
    /// Aggressor.
    pub aggressor: Aggressor,
    /// Per timeframe: footprint slot of the trade and whether it opened the bar.
    pub slots: [(i32, bool); 4],
}

impl TradeTick {
    /// `sign · size`.
    #[inline]
    pub fn signed(&self) -> i64 {
        self.aggressor.sign as i64 * self.size as i64
    }
}

/// Best bid and offer (price, size); prices `UNDEF_PX` when a side is empty.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Bbo {
    /// Best bid price.
    pub bid_px: Px,
    /// Best bid size.
    pub bid_sz: u32,
    /// Best ask price.
    pub ask_px: Px,
    /// Best ask size.
    pub ask_sz: u32,
}

impl Bbo {
    /// True when both sides hold size and bid < ask.
    #[inline]
    pub fn is_valid(&self) -> bool {
        self.bid_sz > 0 && self.ask_sz > 0 && self.bid_px < self.ask_px
    }
}

/// What the market state is built from (`[bars]`, `[signal.smart_money]`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct MarketConfig {
    /// `[bars]`.
    pub bars: BarsConfig,
    /// `[signal.smart_money]`.
    pub smart_money: SmartMoneyConfig,
}

/// The shared market state.
#[derive(Clone, Debug)]
pub struct Market {
    /// Contract tick (1e-9 units).
    pub tick: Px,
    /// Event time: `max` of the `ts_recv` seen.
    pub now: u64,
    /// Session date and phase.
    pub clock: SessionClock,
    /// The L2 book.
    pub book: Book,
    /// BBO after the last consistent record.
    pub bbo: Bbo,
    /// The BBO changed at the last consistent record.
    pub bbo_changed: bool,
    /// The book is crossed, locked or flagged `MAYBE_BAD_BOOK` at the last record.
    pub book_bad: bool,
    /// Aggressor classifier.
    pub classifier: Classifier,
    /// Session cumulative delta (classified trades).
    pub cum_delta: i64,
    /// Classified trades this session.
    pub session_trades: u64,
    /// Session VWAP (`eth` anchor).
    pub vwap: SessionVwap,
    /// Bars.
    pub bars: Bars,
    /// Last accepted trade.
    pub last_trade: Option<TradeTick>,
    /// Large prints and the smart-money window (SIGNALS.md §7).
    pub smart_money: SmartMoney,
}

impl Market {
    /// An empty market for a contract with tick `tick`.
    pub fn new(cfg: &MarketConfig, tick: Px) -> Self {
        let tick = tick.max(1);
        Self {
            tick,
            now: 0,
            clock: SessionClock::default(),
            book: Book::new(),
            bbo: Bbo::default(),
            bbo_changed: false,
            book_bad: false,
            classifier: Classifier::new(),
            cum_delta: 0,
            session_trades: 0,
            vwap: SessionVwap::default(),
            bars: Bars::new(&cfg.bars, tick),
            last_trade: None,
            smart_money: SmartMoney::new(&cfg.smart_money),
        }
    }

    /// Advances event time to `ts_recv` (never backwards) and the session clock.
    #[inline]
    pub fn advance(&mut self, ts_recv: u64) -> ClockChange {
        self.now = self.now.max(ts_recv);
        self.clock.advance(self.now)
    }

    /// Before an event is applied (after any bar close and session roll): finalizes an
    /// expired print and rolls the smart-money periods.
    #[inline]
    pub fn before_event(&mut self) {
        self.smart_money.on_time(self.now);
    }

    /// Resets the session state (cumulative delta, VWAP) at a session change.
    pub fn reset_session(&mut self) {
        self.cum_delta = 0;
        self.session_trades = 0;
        self.vwap.reset();
        self.smart_money.on_session();
    }

    /// Applies a trade (already sanity-checked): classification against the mid *before* the
    /// trade, cumulative delta, VWAP and bars.
    #[inline]
    pub fn trade(&mut self, ev: &Event) -> TradeTick {
        // The mid is exact: ES/MES ticks are an even number of 1e-9 units.
        let aggressor = self.classifier.classify(ev.side, ev.price, self.mid());
        self.cum_delta += aggressor.sign as i64 * ev.size as i64;
        if aggressor.sign != 0 {
            self.session_trades += 1;
        }
        self.vwap.add(ev.price, ev.size, self.tick);
        self.smart_money.on_trade(self.now, ev.price, ev.size, aggressor.sign, aggressor.from_feed());
        let slots = self.bars.trade(self.now, ev.price, ev.size, aggressor.sign, self.clock.date);
        let t = TradeTick { ts: self.now, price: ev.price, size: ev.size, aggressor, slots };
        self.last_trade = Some(t);
        t
    }

    /// At the end of a record: refreshes the BBO, its change flag and the bad-book flag.
    #[inline]
    pub fn end_record(&mut self, ev: &Event) {
        let (b, a) = (self.book.bid(0), self.book.ask(0));
        let bbo = Bbo { bid_px: b.price, bid_sz: b.size, ask_px: a.price, ask_sz: a.size };
        self.bbo_changed = bbo != self.bbo;
        self.bbo = bbo;
        self.book_bad =
            self.book.is_crossed_or_locked() || ev.flags & mia_model::event::flags::MAYBE_BAD_BOOK != 0;
        if self.bbo_changed && bbo.is_valid() {
            self.bars.bbo(((bbo.ask_px - bbo.bid_px) / self.tick) as f32);
        }
    }

    /// Mid price when the BBO is valid.
    #[inline]
    pub fn mid(&self) -> Option<Px> {
        self.bbo.is_valid().then(|| (self.bbo.bid_px + self.bbo.ask_px) / 2)
    }

    /// Mid, else the last trade price.
    #[inline]
    pub fn reference_price(&self) -> Option<Px> {
        self.mid().or(self.last_trade.map(|t| t.price))
    }
}
