//! Pre-trade risk: every order passes [`RiskManager::approve`] (new orders) or
//! [`RiskManager::approve_modify`] (modifies); each refusal carries a [`RejectReason`].
//!
//! The checks, their reason codes, config keys and defaults are tabled in `docs/risk.md`.
//! The manager has three states ([`RiskState`]): **Active** (all checks), **Reducing** (only
//! orders that reduce the position without flipping it pass) and **Halted** (nothing passes).
//! A *stop* — the daily loss, the drawdown from the day's peak, the consecutive-loss count, the
//! trades-per-day count, or the kill switch — moves an Active manager to Reducing while a
//! position is open and to Halted once it is flat; a fill that reopens a position while Halted
//! moves it back to Reducing so it can be flattened. A day roll (new session date) clears the
//! daily stops and counters; only [`RiskManager::resume`] clears a kill. Every transition is
//! counted and logged in a fixed ring ([`RiskManager::transitions`]).
//!
//! Sizing ([`RiskManager::size`]) is fractional Kelly from the last `kelly_window` closed trades.
//!
//! Inputs the stage feeds: [`RiskManager::on_market`] (event time, last trade; it also rolls
//! the day from the Chicago session date), [`RiskManager::on_fill`], [`RiskManager::on_pnl`],
//! [`RiskManager::on_gamma_age`], [`RiskManager::kill`] / [`RiskManager::resume`]. Everything
//! reads event time only, is O(1) and allocates nothing after [`RiskManager::new`].

mod clock;
mod config;
mod kelly;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

pub use clock::ChicagoClock;
pub use config::{RiskConfig, SessionWindow, SessionWindows, KELLY_CAP, RATE_SLOTS, SESSION_WINDOW_CAP};
pub use kelly::{KellyEstimate, KellyWindow};

use crate::position::RoundTrip;
use mia_model::money::NanoUsd;
use mia_model::msg::{Fill, OrderIntent, OrderType};
use mia_model::price::Px;

/// ES / MES tick (0.25 point) in [`Px`] units: the grid of limit prices and the unit of
/// `price_band_ticks`.
pub const TICK: Px = 250_000_000;
/// Capacity of the state-transition log ring.
pub const TRANSITION_LOG_CAP: usize = 32;

const NS_PER_SEC: u64 = 1_000_000_000;

/// An order the risk manager approved. Only [`RiskManager::approve`] and
/// [`RiskManager::approve_modify`] make one (the field is private to this module), and a
/// [`Venue`](crate::venue::Venue) accepts nothing else, so no order can reach a venue without
/// passing the checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Approved<T>(T);

impl<T> Approved<T> {
    /// The approved value.
    #[inline]
    pub fn get(&self) -> &T {
        &self.0
    }

    /// The approved value, by value.
    #[inline]
    pub fn into_inner(self) -> T {
        self.0
    }
}

/// Why an order was refused, or why the manager left `Active` (one enum for both).
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RejectReason {
    /// Resulting |position| would exceed `max_position`.
    MaxPosition = 1,
    /// Order quantity is zero or above `max_order_qty`.
    OrderSize = 2,
    /// Too many new orders in the last second of event time (`max_orders_per_sec`).
    OrderRate = 3,
    /// The session loss reached `max_daily_loss_usd` (a stop).
    DailyLoss = 4,
    /// Too many modifies in the last second of event time (`max_modifies_per_sec`).
    ModifyRate = 5,
    /// A limit priced more than `price_band_ticks` through the last trade (a buy above it, a
    /// sell below it), or no last trade yet.
    PriceBand = 6,
    /// Limit price not positive or off the tick grid.
    InvalidPrice = 7,
    /// The session P&L fell `max_drawdown_usd` below the day's peak (a stop).
    Drawdown = 8,
    /// `max_consecutive_losses` losing round trips in a row (a stop).
    ConsecutiveLosses = 9,
    /// `max_trades_per_day` round trips already opened this session (a stop once flat).
    TradesPerDay = 10,
    /// New risk outside the allowed `session_windows`.
    OutsideSession = 11,
    /// The last market event is older than `feed_max_age_ms` (or there is none).
    StaleFeed = 12,
    /// The gamma snapshot is older than `gamma_max_age_s` (or there is none).
    StaleGamma = 13,
    /// Initial margin of the resulting position would exceed the account equity.
    Margin = 14,
    /// The manager is Reducing and the order does not reduce the position.
    ReduceOnly = 15,
    /// The manager is Halted: nothing passes.
    Halted = 16,
    /// The kill switch (a stop; see [`KillSource`]).
    KillSwitch = 17,
    /// The broker edge could not reserve an order id
    /// ([`mia_model::msg::REASON_NO_ORDER_ID`]): no new order can be sent, so the session
    /// stops as a kill does (it tries to flatten, then halts).
    VenueNoOrderId = 18,
}

/// Number of [`RejectReason`] variants (for counters).
pub const REJECT_REASONS: usize = 18;

impl RejectReason {
    /// Every reason, in code order.
    pub const ALL: [RejectReason; REJECT_REASONS] = [
        Self::MaxPosition,
        Self::OrderSize,
        Self::OrderRate,
        Self::DailyLoss,
        Self::ModifyRate,
        Self::PriceBand,
        Self::InvalidPrice,
        Self::Drawdown,
        Self::ConsecutiveLosses,
        Self::TradesPerDay,
        Self::OutsideSession,
        Self::StaleFeed,
        Self::StaleGamma,
        Self::Margin,
        Self::ReduceOnly,
        Self::Halted,
        Self::KillSwitch,
        Self::VenueNoOrderId,
    ];

    /// Snake-case name (report counters, journal, docs).
    pub fn name(self) -> &'static str {
        match self {
            Self::MaxPosition => "max_position",
            Self::OrderSize => "order_size",
            Self::OrderRate => "order_rate",
            Self::DailyLoss => "daily_loss",
            Self::ModifyRate => "modify_rate",
            Self::PriceBand => "price_band",
            Self::InvalidPrice => "invalid_price",
            Self::Drawdown => "drawdown",
            Self::ConsecutiveLosses => "consecutive_losses",
            Self::TradesPerDay => "trades_per_day",
            Self::OutsideSession => "outside_session",
            Self::StaleFeed => "stale_feed",
            Self::StaleGamma => "stale_gamma",
            Self::Margin => "margin",
            Self::ReduceOnly => "reduce_only",
            Self::Halted => "halted",
            Self::KillSwitch => "kill_switch",
            Self::VenueNoOrderId => "venue_no_order_id",
        }
    }

    /// Decodes the code byte.
    pub fn from_u8(v: u8) -> Option<Self> {
        Self::ALL.get(usize::from(v).wrapping_sub(1)).copied()
    }
}

/// Where a kill-switch command came from.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KillSource {
    /// A `Control::Kill` input that names no source (`arg` 0 or unknown).
    Control = 0,
    /// The kill file appeared ([`crate::kill::KillFile`]).
    File = 1,
    /// SIGUSR1 or SIGTERM ([`crate::kill::KillSignals`]).
    Signal = 2,
    /// The `mia kill` command.
    Cli = 3,
}

impl KillSource {
    /// The source carried in a `Control::Kill`'s `arg` (the cold-side producers put
    /// `source as u64` there); 0 or an unknown value is [`KillSource::Control`].
    pub fn from_arg(arg: u64) -> Self {
        match arg {
            1 => Self::File,
            2 => Self::Signal,
            3 => Self::Cli,
            _ => Self::Control,
        }
    }

    /// Lower-case name (`control`, `file`, `signal`, `cli`) for the summary and the docs.
    pub fn name(self) -> &'static str {
        match self {
            Self::Control => "control",
            Self::File => "file",
            Self::Signal => "signal",
            Self::Cli => "cli",
        }
    }
}

/// Trading state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RiskState {
    /// All orders allowed within limits.
    Active,
    /// Only orders that reduce the position (without flipping it).
    Reducing,
    /// Nothing passes.
    Halted,
}

/// One logged state change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transition {
    /// Event time of the change (the latest event time the manager saw).
    pub ts: u64,
    /// State before.
    pub from: RiskState,
    /// State after.
    pub to: RiskState,
    /// The stop in force after the change (`None` when back to Active).
    pub reason: Option<RejectReason>,
}

const NO_TRANSITION: Transition =
    Transition { ts: 0, from: RiskState::Active, to: RiskState::Active, reason: None };

/// Event-time sliding window "at most `limit` in any second": a ring of the last `limit`
/// accepted timestamps; full when the oldest of them is less than a second old. O(1).
#[derive(Clone, Copy, Debug)]
struct RateWindow {
    ts: [u64; RATE_SLOTS],
    head: usize,
    len: usize,
    limit: usize,
}

impl RateWindow {
    fn new(limit: u32) -> Self {
        Self { ts: [0; RATE_SLOTS], head: 0, len: 0, limit: (limit as usize).clamp(1, RATE_SLOTS) }
    }

    #[inline]
    fn full(&self, now: u64) -> bool {
        self.len == self.limit && now.saturating_sub(self.ts[self.head]) < NS_PER_SEC
    }

    #[inline]
    fn record(&mut self, now: u64) {
        self.ts[self.head] = now;
        self.head = (self.head + 1) % self.limit;
        self.len = (self.len + 1).min(self.limit);
    }
}

/// The filled position and the signed contracts of the same-side orders still working.
#[derive(Clone, Copy, Debug)]
struct Exposure {
    position: i64,
    working: i64,
}

/// New order or modify.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    New,
    Modify,
}

/// Limits converted once to the units of the hot path (nano-USD, ns).
#[derive(Clone, Copy, Debug)]
struct Limits {
    daily_loss: NanoUsd,
    drawdown: NanoUsd,
    equity0: NanoUsd,
    margin: NanoUsd,
    feed_age: u64,
    gamma_age: u64,
    band: Px,
}

/// The pre-trade risk manager.
#[derive(Clone, Debug)]
pub struct RiskManager {
    cfg: RiskConfig,
    lim: Limits,
    state: RiskState,
    /// Daily stop in force (cleared by the day roll).
    day_stop: Option<RejectReason>,
    /// Kill in force (cleared by `resume`).
    kill: Option<(RejectReason, KillSource)>,
    orders: RateWindow,
    modifies: RateWindow,
    clock: ChicagoClock,
    session: u32,
    now: u64,
    last_market_ts: u64,
    last_price: Px,
    gamma_ts: Option<u64>,
    position: i64,
    cum_pnl: NanoUsd,
    day_base: NanoUsd,
    day_pnl: NanoUsd,
    day_peak: NanoUsd,
    trades_today: u32,
    consecutive_losses: u32,
    kelly: KellyWindow,
    log: [Transition; TRANSITION_LOG_CAP],
    log_head: usize,
    /// Rejections per reason (index = reason as usize − 1).
    pub rejects: [u64; REJECT_REASONS],
    /// Orders and modifies approved.
    pub approved: u64,
    /// State changes so far.
    pub transitions_total: u64,
    /// Kill-switch commands received.
    pub kills: u64,
    /// Day rolls (session date changes after the first).
    pub day_rolls: u64,
}

impl RiskManager {
    /// A manager in `Active` state. `cfg` should have passed [`RiskConfig::validate`]; out-of-
    /// range rates and windows are clamped to the caps.
    pub fn new(cfg: &RiskConfig) -> Self {
        let lim = Limits {
            daily_loss: NanoUsd::from_usd(cfg.max_daily_loss_usd).max(NanoUsd::ZERO),
            drawdown: NanoUsd::from_usd(cfg.max_drawdown_usd).max(NanoUsd::ZERO),
            equity0: NanoUsd::from_usd(cfg.account_equity_usd),
            margin: NanoUsd::from_usd(cfg.initial_margin_usd).max(NanoUsd::ZERO),
            feed_age: cfg.feed_max_age_ms.saturating_mul(1_000_000),
            gamma_age: cfg.gamma_max_age_s.saturating_mul(NS_PER_SEC),
            band: i64::from(cfg.price_band_ticks).saturating_mul(TICK),
        };
        Self {
            cfg: *cfg,
            lim,
            state: RiskState::Active,
            day_stop: None,
            kill: None,
            orders: RateWindow::new(cfg.max_orders_per_sec),
            modifies: RateWindow::new(cfg.max_modifies_per_sec),
            clock: ChicagoClock::default(),
            session: 0,
            now: 0,
            last_market_ts: 0,
            last_price: 0,
            gamma_ts: None,
            position: 0,
            cum_pnl: NanoUsd::ZERO,
            day_base: NanoUsd::ZERO,
            day_pnl: NanoUsd::ZERO,
            day_peak: NanoUsd::ZERO,
            trades_today: 0,
            consecutive_losses: 0,
            kelly: KellyWindow::new(cfg.kelly_window as usize),
            log: [NO_TRANSITION; TRANSITION_LOG_CAP],
            log_head: 0,
            rejects: [0; REJECT_REASONS],
            approved: 0,
            transitions_total: 0,
            kills: 0,
            day_rolls: 0,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &RiskConfig {
        &self.cfg
    }

    /// Current state.
    #[inline]
    pub fn state(&self) -> RiskState {
        self.state
    }

    /// The stop in force (kill first, then the daily stop), `None` while nothing stops trading.
    #[inline]
    pub fn reason(&self) -> Option<RejectReason> {
        self.kill.map(|k| k.0).or(self.day_stop)
    }

    /// The daily stop in force (daily loss, drawdown, consecutive losses, trades per day),
    /// whether or not a kill is also in force.
    #[inline]
    pub fn day_stop(&self) -> Option<RejectReason> {
        self.day_stop
    }

    /// Source of the kill in force.
    #[inline]
    pub fn kill_source(&self) -> Option<KillSource> {
        self.kill.map(|k| k.1)
    }

    /// Position as last reported by [`RiskManager::on_fill`].
    #[inline]
    pub fn position(&self) -> i64 {
        self.position
    }

    /// Session P&L (net, nano-USD) as of the last [`RiskManager::on_pnl`].
    #[inline]
    pub fn day_pnl(&self) -> NanoUsd {
        self.day_pnl
    }

    /// Peak of the session P&L today (≥ 0, nano-USD).
    #[inline]
    pub fn day_peak(&self) -> NanoUsd {
        self.day_peak
    }

    /// Account equity: configured start + the run's net P&L (nano-USD).
    #[inline]
    pub fn equity(&self) -> NanoUsd {
        self.lim.equity0 + self.cum_pnl
    }

    /// Round trips opened this session.
    #[inline]
    pub fn trades_today(&self) -> u32 {
        self.trades_today
    }

    /// Losing round trips in a row (this session).
    #[inline]
    pub fn consecutive_losses(&self) -> u32 {
        self.consecutive_losses
    }

    /// Current session date (`yyyymmdd`, 0 before the first input).
    #[inline]
    pub fn session_date(&self) -> u32 {
        self.session
    }

    /// The rolling Kelly window.
    pub fn kelly(&self) -> &KellyWindow {
        &self.kelly
    }

    /// Rejections of one reason so far.
    pub fn rejected(&self, reason: RejectReason) -> u64 {
        self.rejects[reason as usize - 1]
    }

    /// The logged transitions, oldest first (the last [`TRANSITION_LOG_CAP`]).
    pub fn transitions(&self) -> impl Iterator<Item = &Transition> {
        let n = (self.transitions_total as usize).min(TRANSITION_LOG_CAP);
        let start = (self.log_head + TRANSITION_LOG_CAP - n) % TRANSITION_LOG_CAP;
        (0..n).map(move |i| &self.log[(start + i) % TRANSITION_LOG_CAP])
    }

    // ---- inputs -------------------------------------------------------------------------

    /// Advances event time to `ts`; rolls the day when the Chicago session date changes.
    #[inline]
    fn advance(&mut self, ts: u64) {
        if ts > self.now {
            self.now = ts;
        }
        self.clock.advance(ts);
        let s = self.clock.session_date();
        if s > self.session {
            self.roll_day(s);
        }
    }

    /// Event time `ts` passed with no market event (a live session's `Timer` while its feed is
    /// quiet): the clock advances, the feed's age grows (the stale-feed guard reads it).
    #[inline]
    pub fn on_clock(&mut self, ts: u64) {
        self.advance(ts);
    }

    /// A market event at event time `ts` (`ts_recv`); `last_price` is the trade price of a
    /// trade event, 0 for any other event (the last trade is kept). O(1).
    #[inline]
    pub fn on_market(&mut self, ts: u64, last_price: Px) {
        self.advance(ts);
        self.last_market_ts = self.now;
        if last_price != 0 {
            self.last_price = last_price;
        }
    }

    /// A gamma snapshot of age `age_ns` became visible at event time `ts` (its computation
    /// time is `ts − age_ns`; its age at a later order is measured from there).
    #[inline]
    pub fn on_gamma_age(&mut self, ts: u64, age_ns: u64) {
        self.gamma_ts = Some(ts.saturating_sub(age_ns));
    }

    /// Starts a new session `session_date` (`yyyymmdd`) if it is later than the current one:
    /// the daily counters (P&L base, peak, trades, consecutive losses) reset and a daily stop
    /// is lifted; a kill stays. The first date only initializes. Called by
    /// [`RiskManager::on_market`] from the event time; callable directly with the signal
    /// stage's session date. Dates only move forward: an earlier (or equal) date is ignored.
    pub fn roll_day(&mut self, session_date: u32) {
        if session_date <= self.session {
            return;
        }
        if self.session != 0 {
            self.day_rolls += 1;
        }
        self.session = session_date;
        self.day_base = self.cum_pnl;
        self.day_pnl = NanoUsd::ZERO;
        self.day_peak = NanoUsd::ZERO;
        self.trades_today = 0;
        self.consecutive_losses = 0;
        self.day_stop = None;
        self.update_state();
    }

    /// The run's cumulative net P&L (realized − fees + unrealized, nano-USD, since the manager
    /// was made: what the stage's `net_pnl()` returns). The session P&L is this minus its value
    /// at the day roll; it stops the day at `max_daily_loss_usd` or at `max_drawdown_usd` below
    /// the day's peak. Integer compares only.
    #[inline]
    pub fn on_pnl(&mut self, cum_net_pnl: NanoUsd) {
        self.cum_pnl = cum_net_pnl;
        self.day_pnl = cum_net_pnl - self.day_base;
        if self.day_pnl > self.day_peak {
            self.day_peak = self.day_pnl;
        }
        if self.day_stop.is_none() {
            if self.day_pnl <= -self.lim.daily_loss {
                self.day_stop = Some(RejectReason::DailyLoss);
            } else if self.lim.drawdown > NanoUsd::ZERO && self.day_peak - self.day_pnl >= self.lim.drawdown {
                self.day_stop = Some(RejectReason::Drawdown);
            }
            if self.day_stop.is_some() {
                self.update_state();
            }
        }
    }

    /// A fill was booked: `position_after` is the position after it, `closed` the round trip
    /// it completed (from [`Position::on_fill`](crate::position::Position::on_fill)). Counts
    /// trades opened, consecutive losses and the Kelly window, and moves Reducing → Halted
    /// when flat (or Halted → Reducing when a late fill reopens a position).
    pub fn on_fill(&mut self, fill: &Fill, position_after: i64, closed: Option<&RoundTrip>) {
        self.advance(fill.ts);
        let before = self.position;
        self.position = position_after;
        if let Some(trip) = closed {
            let net = trip.net();
            self.kelly.push(net.nano());
            if net.is_negative() {
                self.consecutive_losses = self.consecutive_losses.saturating_add(1);
            } else {
                self.consecutive_losses = 0;
            }
            let max_cl = self.cfg.max_consecutive_losses;
            if self.day_stop.is_none() && max_cl > 0 && self.consecutive_losses >= max_cl {
                self.day_stop = Some(RejectReason::ConsecutiveLosses);
            }
        }
        let opened = position_after != 0 && (before == 0 || before.signum() != position_after.signum());
        if opened {
            self.trades_today = self.trades_today.saturating_add(1);
        }
        let max_t = self.cfg.max_trades_per_day;
        if self.day_stop.is_none() && max_t > 0 && self.trades_today >= max_t && position_after == 0 {
            self.day_stop = Some(RejectReason::TradesPerDay);
        }
        self.update_state();
    }

    /// Kill switch: stops trading with `reason` (normally [`RejectReason::KillSwitch`]) from
    /// `source`. Reducing while a position is open (the stage flattens it), Halted once flat.
    /// Only [`RiskManager::resume`] lifts it; a repeated kill keeps the first reason.
    pub fn kill(&mut self, reason: RejectReason, source: KillSource) {
        self.kills += 1;
        if self.kill.is_none() {
            self.kill = Some((reason, source));
        }
        self.update_state();
    }

    /// Lifts a kill (operator `Resume`); a daily stop stays until the day roll. Returns whether
    /// a kill was in force.
    pub fn resume(&mut self) -> bool {
        let was = self.kill.take().is_some();
        self.update_state();
        was
    }

    /// Recomputes the state from the stops and the position; logs a change.
    fn update_state(&mut self) {
        let reason = self.reason();
        let to = match reason {
            None => RiskState::Active,
            Some(_) if self.position == 0 => RiskState::Halted,
            Some(_) => RiskState::Reducing,
        };
        if to != self.state {
            self.log[self.log_head] = Transition { ts: self.now, from: self.state, to, reason };
            self.log_head = (self.log_head + 1) % TRANSITION_LOG_CAP;
            self.transitions_total += 1;
            self.state = to;
        }
    }

    // ---- checks -------------------------------------------------------------------------

    /// Checks a market order of signed quantity `signed_qty` (+ buy, − sell) at event time `ts`
    /// given the current (including pending) position. On success it is counted for the rate
    /// limit.
    ///
    /// # Errors
    /// The first check it fails (counted in `rejects`).
    #[inline]
    pub fn check(&mut self, ts: u64, signed_qty: i64, position: i64) -> Result<(), RejectReason> {
        self.run(Kind::New, ts, signed_qty, OrderType::Market, 0, Exposure { position, working: 0 })
    }

    /// Checks `intent` given the current (including pending) position and approves it.
    ///
    /// # Errors
    /// The first check it fails (counted in `rejects`).
    #[inline]
    pub fn approve(
        &mut self,
        intent: OrderIntent,
        position: i64,
    ) -> Result<Approved<OrderIntent>, RejectReason> {
        self.approve_working(intent, position, 0)
    }

    /// As [`RiskManager::approve`], with `working`: the contracts of the orders already at the
    /// venue on the intent's side that may still fill (a cancel not yet confirmed included),
    /// unsigned. An order that opens or adds to the position is checked at its worst case,
    /// `position ± working ± qty` (max position, margin), so a report that lags behind the
    /// venue can never let the orders in flight add up past the limit. Whether an order is an
    /// exit (always allowed while not Halted) is decided on the filled `position` alone.
    ///
    /// # Errors
    /// The first check it fails (counted in `rejects`).
    #[inline]
    pub fn approve_working(
        &mut self,
        intent: OrderIntent,
        position: i64,
        working: u64,
    ) -> Result<Approved<OrderIntent>, RejectReason> {
        let signed = intent.side.sign() * i64::from(intent.qty);
        let working = intent.side.sign() * working.min(i64::MAX as u64) as i64;
        self.run(
            Kind::New,
            intent.ts,
            signed,
            intent.order_type,
            intent.price,
            Exposure { position, working },
        )?;
        Ok(Approved(intent))
    }

    /// Checks a modify: `intent` is the order as it will stand after the modify (new price and
    /// quantity), `position` the current position plus pending orders *excluding* this one.
    /// Counted against `max_modifies_per_sec`. A cancel needs no approval.
    ///
    /// # Errors
    /// The first check it fails (counted in `rejects`).
    #[inline]
    pub fn approve_modify(
        &mut self,
        intent: OrderIntent,
        position: i64,
    ) -> Result<Approved<OrderIntent>, RejectReason> {
        let signed = intent.side.sign() * i64::from(intent.qty);
        let exposure = Exposure { position, working: 0 };
        self.run(Kind::Modify, intent.ts, signed, intent.order_type, intent.price, exposure)?;
        Ok(Approved(intent))
    }

    #[inline]
    fn run(
        &mut self,
        kind: Kind,
        ts: u64,
        signed_qty: i64,
        order_type: OrderType,
        price: Px,
        exposure: Exposure,
    ) -> Result<(), RejectReason> {
        self.advance(ts);
        let r = self.evaluate(kind, ts, signed_qty, order_type, price, exposure);
        match r {
            Ok(()) => {
                self.approved += 1;
                match kind {
                    Kind::New => self.orders.record(ts),
                    Kind::Modify => self.modifies.record(ts),
                }
            }
            Err(reason) => self.rejects[reason as usize - 1] += 1,
        }
        r
    }

    fn evaluate(
        &self,
        kind: Kind,
        ts: u64,
        signed_qty: i64,
        order_type: OrderType,
        price: Px,
        exposure: Exposure,
    ) -> Result<(), RejectReason> {
        let Exposure { position, working } = exposure;
        if self.state == RiskState::Halted {
            return Err(RejectReason::Halted);
        }
        let qty = signed_qty.unsigned_abs();
        if qty == 0 || qty > u64::from(self.cfg.max_order_qty) {
            return Err(RejectReason::OrderSize);
        }
        if order_type == OrderType::Limit {
            if price <= 0 || price % TICK != 0 {
                return Err(RejectReason::InvalidPrice);
            }
            // The band guards the aggressive side only (as CME Globex price banding): a buy
            // limit above last + band or a sell limit below last − band would trade through
            // the market; a resting limit on the passive side (a bracket's take-profit) cannot.
            let through = if signed_qty > 0 {
                price > self.last_price.saturating_add(self.lim.band)
            } else {
                price < self.last_price.saturating_sub(self.lim.band)
            };
            if self.lim.band > 0 && (self.last_price == 0 || through) {
                return Err(RejectReason::PriceBand);
            }
        }
        let after = position.saturating_add(signed_qty);
        let reduces =
            after.unsigned_abs() < position.unsigned_abs() && after.signum() * position.signum() >= 0;
        if reduces {
            // Exits are always allowed (while not Halted): they lower every exposure below.
            return Ok(());
        }
        if self.state == RiskState::Reducing {
            return Err(RejectReason::ReduceOnly);
        }
        if !self.cfg.session_windows.allows(self.clock.minute_of_day(ts)) {
            return Err(RejectReason::OutsideSession);
        }
        if self.lim.feed_age > 0
            && (self.last_market_ts == 0 || ts.saturating_sub(self.last_market_ts) > self.lim.feed_age)
        {
            return Err(RejectReason::StaleFeed);
        }
        if self.lim.gamma_age > 0 && self.gamma_ts.is_none_or(|g| ts.saturating_sub(g) > self.lim.gamma_age) {
            return Err(RejectReason::StaleGamma);
        }
        // The worst case once every order in flight on this side fills too.
        let worst = after.saturating_add(working);
        if worst.unsigned_abs() > self.cfg.max_position.unsigned_abs() {
            return Err(RejectReason::MaxPosition);
        }
        let opens = position == 0 || position.signum() != after.signum();
        if opens && self.cfg.max_trades_per_day > 0 && self.trades_today >= self.cfg.max_trades_per_day {
            return Err(RejectReason::TradesPerDay);
        }
        if self.lim.margin > NanoUsd::ZERO {
            let need = i128::from(worst.unsigned_abs()) * i128::from(self.lim.margin.nano());
            if need > i128::from(self.equity().nano()) {
                return Err(RejectReason::Margin);
            }
        }
        match kind {
            Kind::New if self.orders.full(ts) => Err(RejectReason::OrderRate),
            Kind::Modify if self.modifies.full(ts) => Err(RejectReason::ModifyRate),
            _ => Ok(()),
        }
    }

    // ---- sizing -------------------------------------------------------------------------

    /// Contracts for a signal of `confidence` (in [0, 1]; non-finite = 0) and the strategy's
    /// `size_hint` (contracts, an upper bound; 0 = none): fractional Kelly
    /// `f = kelly_fraction × (p − (1 − p)/b)` from the last `kelly_window` closed trades, in
    /// contracts `f × equity / kelly_risk_per_contract_usd`, times the confidence, rounded
    /// down, then clamped to `[min_size, min(size_hint, max_size)]`. With fewer than
    /// `kelly_min_trades` trades, or no edge (`f* ≤ 0`), it returns `min_size` (capped the same
    /// way). Pure; O(1).
    pub fn size(&self, confidence: f32, size_hint: u32) -> u32 {
        let cap = if size_hint == 0 { self.cfg.max_size } else { size_hint.min(self.cfg.max_size) };
        let floor = self.cfg.min_size.min(cap);
        if self.kelly.len() < self.cfg.kelly_min_trades as usize {
            return floor;
        }
        let Some(est) = self.kelly.estimate() else { return floor };
        if est.f_star <= 0.0 {
            return floor;
        }
        let conf = if confidence.is_finite() { f64::from(confidence).clamp(0.0, 1.0) } else { 0.0 };
        let equity_usd = self.equity().to_usd();
        let raw =
            est.f_star * self.cfg.kelly_fraction * equity_usd / self.cfg.kelly_risk_per_contract_usd * conf;
        let q = if raw.is_finite() && raw > 0.0 { raw.floor().min(f64::from(u32::MAX)) as u32 } else { 0 };
        q.clamp(floor, cap)
    }
}
