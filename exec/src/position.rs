//! Position and P&L accounting from fills, with round-trip trade records.
//!
//! Units: prices are [`Px`] (1e-9 index points); money is [`NanoUsd`] (1e-9 USD), the
//! unit of [`Fill::fee`], so sums are exact; P&L = price difference × contracts × the contract's
//! point value (ES: 50 USD per point, so one ES tick of 0.25 = 12.50 USD).
//!
//! Average entry price: the open position's cost basis is kept exactly as Σ price × contracts
//! (`i128`); a partial close takes the proportional share of that basis (integer division, the
//! rounding residue stays in the basis and comes out when the position is flat), so realized P&L
//! over a whole round trip is exact.
//!
//! Round trips: a trade starts when the position leaves flat and ends when it is flat again;
//! a fill that flips the position (long 2, sell 3) ends the current trip with the closing part
//! and starts a new one with the rest, splitting that fill's fee pro rata. Completed trips are
//! returned by [`Position::on_fill`] (nothing allocates) and can be kept in a preallocated
//! [`TradeRing`] and written as CSV ([`RoundTrip::CSV_HEADER`], [`RoundTrip::write_csv`]).

use std::fmt;

use mia_model::contract::ContractSpec;
use mia_model::money::NanoUsd;
use mia_model::msg::Fill;
use mia_model::msg::OrderSide;
use mia_model::price::{Px, PRICE_SCALE};

/// Why a round trip ended (the purpose of the order whose fill made the position flat).
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum ExitReason {
    /// A strategy signal (an opposite or flat signal, or a position change without a bracket).
    #[default]
    Signal = 1,
    /// The bracket's profit target filled.
    Target = 2,
    /// The bracket's protective stop filled.
    Stop = 3,
    /// The session ended with the bracket's position open.
    Time = 4,
    /// A `Flatten` command, or the order manager flattening an unprotected position.
    Flatten = 5,
    /// The kill switch or the daily-loss halt.
    Kill = 6,
}

impl ExitReason {
    /// The reason with code `v` (the `repr(u8)` value), `None` for any other byte.
    pub fn from_u8(v: u8) -> Option<Self> {
        match v {
            1 => Some(Self::Signal),
            2 => Some(Self::Target),
            3 => Some(Self::Stop),
            4 => Some(Self::Time),
            5 => Some(Self::Flatten),
            6 => Some(Self::Kill),
            _ => None,
        }
    }

    /// Lower-case name used in `trades.csv`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Signal => "signal",
            Self::Target => "target",
            Self::Stop => "stop",
            Self::Time => "time",
            Self::Flatten => "flatten",
            Self::Kill => "kill",
        }
    }
}

/// One completed round trip (flat → position → flat).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct RoundTrip {
    /// Event time of the first entry fill (ns).
    pub entry_ts: u64,
    /// Event time of the fill that made the position flat (ns).
    pub exit_ts: u64,
    /// Direction: `Bid` = long, `Ask` = short.
    pub side: OrderSide,
    /// Contracts entered over the trip (= contracts exited).
    pub qty: u32,
    /// Largest absolute position during the trip.
    pub max_qty: u32,
    /// Quantity-weighted average entry price.
    pub entry_px: Px,
    /// Quantity-weighted average exit price.
    pub exit_px: Px,
    /// Gross realized P&L, nano-USD.
    pub pnl: NanoUsd,
    /// Commissions and fees of the trip's fills, nano-USD.
    pub fees: NanoUsd,
    /// Maximum adverse excursion: worst price move against the position from the average entry,
    /// per contract (≥ 0, [`Px`] units), seen in fills and [`Position::mark`] calls.
    pub mae_px: Px,
    /// Maximum favourable excursion, per contract (≥ 0, [`Px`] units).
    pub mfe_px: Px,
    /// Maximum adverse excursion in money: the worst unrealized P&L of the open position
    /// (gross, as a loss ≥ 0), nano-USD.
    pub mae_usd: NanoUsd,
    /// Maximum favourable excursion in money: the best unrealized P&L (≥ 0), nano-USD.
    pub mfe_usd: NanoUsd,
    /// The contract's tick, for the tick columns (0 in a default record).
    pub tick: Px,
    /// Why the trip ended.
    pub exit_reason: ExitReason,
    /// Decision price of the entry (the signal's reference price; 0 = unknown).
    pub entry_ref_px: Px,
    /// Decision price of the exit (stop or target price, or the mark when a signal, a command
    /// or the clock decided the exit; 0 = unknown).
    pub exit_ref_px: Px,
    /// Slippage against the decision prices over the trip, nano-USD (> 0 = cost):
    /// `d·((entry − entry_ref) + (exit_ref − exit)) × qty × point value`, a leg with an
    /// unknown reference counting 0.
    pub slippage_usd: NanoUsd,
}

impl RoundTrip {
    /// Header line of the trades CSV (no trailing newline).
    pub const CSV_HEADER: &'static str = "entry_ts,exit_ts,side,qty,max_qty,entry_price,exit_price,pnl_usd,fees_usd,net_usd,mae_points,mfe_points,mae_ticks,mfe_ticks,mae_usd,mfe_usd,exit_reason,entry_ref_price,exit_ref_price,slippage_ticks,slippage_usd";

    /// P&L net of fees, nano-USD.
    pub fn net(&self) -> NanoUsd {
        self.pnl - self.fees
    }

    /// Slippage per contract in [`Px`] units (> 0 = cost); see [`RoundTrip::slippage_usd`].
    pub fn slippage_px(&self) -> Px {
        let d = if self.side == OrderSide::Sell { -1 } else { 1 };
        let entry = if self.entry_ref_px != 0 { d * (self.entry_px - self.entry_ref_px) } else { 0 };
        let exit = if self.exit_ref_px != 0 { d * (self.exit_ref_px - self.exit_px) } else { 0 };
        entry.saturating_add(exit)
    }

    /// Sets the exit reason and the decision prices, and computes
    /// [`RoundTrip::slippage_usd`] with the contract's point value.
    pub fn with_decisions(
        mut self,
        reason: ExitReason,
        entry_ref: Px,
        exit_ref: Px,
        point_value_usd: i64,
    ) -> Self {
        self.exit_reason = reason;
        self.entry_ref_px = entry_ref;
        self.exit_ref_px = exit_ref;
        let v = i128::from(self.slippage_px()) * i128::from(self.qty) * i128::from(point_value_usd);
        self.slippage_usd = NanoUsd::from_nano(clamp64(v));
        self
    }

    /// `px` in ticks as a 1e-9 fixed-point value (0 when the tick is unknown).
    fn ticks_fixed(&self, px: Px) -> i64 {
        if self.tick <= 0 {
            return 0;
        }
        clamp64(i128::from(px) * i128::from(PRICE_SCALE) / i128::from(self.tick))
    }

    /// Writes one CSV line (with newline) in [`RoundTrip::CSV_HEADER`] order; prices and money
    /// are exact decimals (`side` is `long` / `short`).
    pub fn write_csv<W: fmt::Write>(&self, w: &mut W) -> fmt::Result {
        let side = if self.side == OrderSide::Sell { "short" } else { "long" };
        write!(w, "{},{},{},{},{},", self.entry_ts, self.exit_ts, side, self.qty, self.max_qty)?;
        for (i, v) in [
            self.entry_px,
            self.exit_px,
            self.pnl.nano(),
            self.fees.nano(),
            self.net().nano(),
            self.mae_px,
            self.mfe_px,
        ]
        .into_iter()
        .enumerate()
        {
            if i > 0 {
                w.write_char(',')?;
            }
            write_fixed(w, v)?;
        }
        for v in [
            self.ticks_fixed(self.mae_px),
            self.ticks_fixed(self.mfe_px),
            self.mae_usd.nano(),
            self.mfe_usd.nano(),
        ] {
            w.write_char(',')?;
            write_fixed(w, v)?;
        }
        write!(w, ",{},", self.exit_reason.as_str())?;
        write_fixed(w, self.entry_ref_px)?;
        w.write_char(',')?;
        write_fixed(w, self.exit_ref_px)?;
        w.write_char(',')?;
        write_fixed(w, self.ticks_fixed(self.slippage_px()))?;
        w.write_char(',')?;
        write_fixed(w, self.slippage_usd.nano())?;
        w.write_char('\n')
    }
}

/// Writes a 1e-9 fixed-point value as an exact decimal with at least two decimals
/// (4500.25, -1.50, 0.001234567).
pub fn write_fixed<W: fmt::Write>(w: &mut W, v: i64) -> fmt::Result {
    let scale = PRICE_SCALE.unsigned_abs();
    let sign = if v < 0 { "-" } else { "" };
    let a = v.unsigned_abs();
    let (int, mut frac) = (a / scale, a % scale);
    let mut digits = 9;
    while digits > 2 && frac % 10 == 0 {
        frac /= 10;
        digits -= 1;
    }
    write!(w, "{sign}{int}.{frac:0digits$}")
}

/// The open trip being accumulated.
#[derive(Clone, Copy, Debug, Default)]
struct OpenTrip {
    entry_ts: u64,
    side: OrderSide,
    entry_qty: u32,
    entry_notional: i128,
    exit_qty: u32,
    exit_notional: i128,
    max_qty: u32,
    pnl: NanoUsd,
    fees: NanoUsd,
    mae_px: Px,
    mfe_px: Px,
    mae_usd: NanoUsd,
    mfe_usd: NanoUsd,
}

/// Saturating `i128` → `i64`.
#[inline]
fn clamp64(v: i128) -> i64 {
    v.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

/// Average of a notional over a quantity, rounded to the nearest unit (0 when `qty` is 0).
#[inline]
fn avg(notional: i128, qty: u32) -> Px {
    if qty == 0 {
        return 0;
    }
    let q = i128::from(qty);
    let half = q / 2;
    let r = if notional >= 0 { (notional + half) / q } else { (notional - half) / q };
    clamp64(r)
}

/// Position, P&L and fees of one instrument; see the [module docs](self).
#[derive(Clone, Debug)]
pub struct Position {
    contract: ContractSpec,
    /// Signed contracts (> 0 long).
    qty: i64,
    /// Σ entry price × contracts of the open position (≥ 0).
    cost: i128,
    realized: NanoUsd,
    fees: NanoUsd,
    trip: OpenTrip,
    trips: u64,
    ignored_fills: u64,
}

impl Position {
    /// A flat position in `contract`.
    pub fn new(contract: ContractSpec) -> Self {
        Self {
            contract,
            qty: 0,
            cost: 0,
            realized: NanoUsd::ZERO,
            fees: NanoUsd::ZERO,
            trip: OpenTrip::default(),
            trips: 0,
            ignored_fills: 0,
        }
    }

    /// Signed quantity in contracts (> 0 long, < 0 short).
    #[inline]
    pub fn qty(&self) -> i64 {
        self.qty
    }

    /// True when flat.
    #[inline]
    pub fn is_flat(&self) -> bool {
        self.qty == 0
    }

    /// Average entry price of the open position (rounded to the 1e-9 unit), `None` when flat.
    pub fn avg_entry_px(&self) -> Option<Px> {
        (self.qty != 0).then(|| avg(self.cost, self.qty.unsigned_abs().min(u64::from(u32::MAX)) as u32))
    }

    /// Gross realized P&L since creation, nano-USD.
    #[inline]
    pub fn realized(&self) -> NanoUsd {
        self.realized
    }

    /// Commissions and fees paid since creation, nano-USD.
    #[inline]
    pub fn fees(&self) -> NanoUsd {
        self.fees
    }

    /// Realized P&L net of all fees paid, nano-USD.
    #[inline]
    pub fn net_realized(&self) -> NanoUsd {
        self.realized - self.fees
    }

    /// Unrealized P&L of the open position marked at `mark`, nano-USD (0 when flat).
    pub fn unrealized(&self, mark: Px) -> NanoUsd {
        let open = i128::from(self.qty.unsigned_abs());
        let diff = i128::from(mark) * open - self.cost;
        NanoUsd::from_nano(clamp64(
            diff * i128::from(self.qty.signum()) * i128::from(self.contract.point_value_usd),
        ))
    }

    /// Completed round trips so far.
    #[inline]
    pub fn trips(&self) -> u64 {
        self.trips
    }

    /// Fills ignored because they had no quantity.
    #[inline]
    pub fn ignored_fills(&self) -> u64 {
        self.ignored_fills
    }

    /// Updates the open trip's excursions (MAE / MFE) with a market price.
    pub fn mark(&mut self, px: Px) {
        let Some(entry) = self.avg_entry_px() else { return };
        let favourable = (px - entry) * self.qty.signum();
        if favourable > self.trip.mfe_px {
            self.trip.mfe_px = favourable;
        }
        if -favourable > self.trip.mae_px {
            self.trip.mae_px = -favourable;
        }
        let u = self.unrealized(px);
        if u > self.trip.mfe_usd {
            self.trip.mfe_usd = u;
        }
        if -u > self.trip.mae_usd {
            self.trip.mae_usd = -u;
        }
    }

    /// Applies one execution; returns the round trip it completed, if any.
    pub fn on_fill(&mut self, fill: &Fill) -> Option<RoundTrip> {
        let dir = fill.side.sign();
        if fill.qty == 0 {
            self.ignored_fills += 1;
            return None;
        }
        self.fees += fill.fee;
        let q = i64::from(fill.qty);
        let px = i128::from(fill.price);

        if self.qty == 0 || self.qty.signum() == dir {
            self.open(fill, fill.qty, fill.fee);
            self.mark(fill.price);
            return None;
        }

        // Reduce (and maybe flip).
        let open = self.qty.unsigned_abs();
        let close = q.unsigned_abs().min(open);
        let closed_cost = self.cost * i128::from(close) / i128::from(open);
        let pnl_units = (px * i128::from(close) - closed_cost) * i128::from(self.qty.signum());
        let pnl = NanoUsd::from_nano(clamp64(pnl_units * i128::from(self.contract.point_value_usd)));
        // Fee share of the closing part (the whole fee unless the fill flips the position).
        let close_fee =
            NanoUsd::from_nano(clamp64(i128::from(fill.fee.nano()) * i128::from(close) / i128::from(q)));
        self.mark(fill.price);
        self.realized += pnl;
        self.cost -= closed_cost;
        self.qty += dir * close as i64;
        let t = &mut self.trip;
        t.exit_qty = t.exit_qty.saturating_add(close as u32);
        t.exit_notional += px * i128::from(close);
        t.pnl += pnl;
        t.fees += close_fee;
        if self.qty != 0 {
            return None;
        }
        let done = RoundTrip {
            entry_ts: t.entry_ts,
            exit_ts: fill.ts,
            side: t.side,
            qty: t.entry_qty,
            max_qty: t.max_qty,
            entry_px: avg(t.entry_notional, t.entry_qty),
            exit_px: avg(t.exit_notional, t.exit_qty),
            pnl: t.pnl,
            fees: t.fees,
            mae_px: t.mae_px,
            mfe_px: t.mfe_px,
            mae_usd: t.mae_usd,
            mfe_usd: t.mfe_usd,
            tick: self.contract.tick,
            ..RoundTrip::default()
        };
        self.trips += 1;
        self.cost = 0;
        self.trip = OpenTrip::default();
        let rest = q.unsigned_abs() - close;
        if rest > 0 {
            self.open(fill, rest as u32, fill.fee - close_fee);
        }
        Some(done)
    }

    /// Opens or adds `qty` contracts in the fill's direction, with `fee` attributed to the trip.
    fn open(&mut self, fill: &Fill, qty: u32, fee: NanoUsd) {
        let px = i128::from(fill.price);
        if self.qty == 0 {
            self.trip = OpenTrip { entry_ts: fill.ts, side: fill.side, ..OpenTrip::default() };
        }
        self.qty += fill.side.sign() * i64::from(qty);
        self.cost += px * i128::from(qty);
        let t = &mut self.trip;
        t.entry_qty = t.entry_qty.saturating_add(qty);
        t.entry_notional += px * i128::from(qty);
        t.max_qty = t.max_qty.max(self.qty.unsigned_abs().min(u64::from(u32::MAX)) as u32);
        t.fees += fee;
    }
}

/// A fixed-capacity ring of the most recent round trips (allocated once; when full, a push
/// overwrites the oldest record and counts it in [`TradeRing::overwritten`]).
#[derive(Clone, Debug)]
pub struct TradeRing {
    buf: Vec<RoundTrip>,
    cap: usize,
    /// Index of the oldest record.
    head: usize,
    len: usize,
    overwritten: u64,
}

impl TradeRing {
    /// A ring holding up to `capacity` trips (at least 1).
    pub fn new(capacity: usize) -> Self {
        let cap = capacity.max(1);
        Self { buf: vec![RoundTrip::default(); cap], cap, head: 0, len: 0, overwritten: 0 }
    }

    /// Appends a trip without allocating.
    pub fn push(&mut self, trip: RoundTrip) {
        if self.len < self.cap {
            self.buf[(self.head + self.len) % self.cap] = trip;
            self.len += 1;
        } else {
            self.buf[self.head] = trip;
            self.head = (self.head + 1) % self.cap;
            self.overwritten += 1;
        }
    }

    /// Number of trips held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Trips lost because the ring was full.
    pub fn overwritten(&self) -> u64 {
        self.overwritten
    }

    /// Trips from oldest to newest.
    pub fn iter(&self) -> impl Iterator<Item = &RoundTrip> {
        (0..self.len).map(move |i| &self.buf[(self.head + i) % self.cap])
    }

    /// Empties the ring (keeps the allocation and the overwrite count).
    pub fn clear(&mut self) {
        self.head = 0;
        self.len = 0;
    }

    /// Writes the header and every trip as CSV.
    pub fn write_csv<W: fmt::Write>(&self, w: &mut W) -> fmt::Result {
        w.write_str(RoundTrip::CSV_HEADER)?;
        w.write_char('\n')?;
        for t in self.iter() {
            t.write_csv(w)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const USD: NanoUsd = NanoUsd::from_whole_usd(1);
    /// 2.25 USD per contract.
    const FEE: NanoUsd = NanoUsd::from_nano(2_250_000_000);

    /// Price in quarter points → fixed point.
    fn px(points: f64) -> Px {
        (points * PRICE_SCALE as f64) as Px
    }

    fn fill(ts: u64, side: OrderSide, p: f64, qty: u32) -> Fill {
        Fill {
            client_order_id: ts,
            seq: ts,
            ts,
            price: px(p),
            fee: FEE * i64::from(qty),
            qty,
            side,
            done: true,
            leaves: 0,
        }
    }

    #[test]
    fn long_round_trip_pnl_and_fees() {
        let mut pos = Position::new(ContractSpec::ES);
        assert_eq!(pos.on_fill(&fill(1, OrderSide::Buy, 5000.00, 2)), None);
        assert_eq!(pos.qty(), 2);
        assert_eq!(pos.avg_entry_px(), Some(px(5000.00)));
        // +1.25 points × 2 × $50 = $125.
        assert_eq!(pos.unrealized(px(5001.25)), 125 * USD);
        let rt = pos.on_fill(&fill(2, OrderSide::Sell, 5001.25, 2)).expect("round trip");
        assert_eq!(rt.pnl, 125 * USD);
        assert_eq!(rt.fees, 4 * FEE);
        assert_eq!(rt.net(), 125 * USD - 9 * USD);
        assert_eq!((rt.entry_ts, rt.exit_ts, rt.side, rt.qty), (1, 2, OrderSide::Buy, 2));
        assert_eq!((rt.entry_px, rt.exit_px), (px(5000.00), px(5001.25)));
        assert!(pos.is_flat());
        assert_eq!(pos.realized(), 125 * USD);
        assert_eq!(pos.fees(), 9 * USD);
        assert_eq!(pos.net_realized(), 116 * USD);
        assert_eq!(pos.unrealized(px(6000.0)), NanoUsd::ZERO);
    }

    #[test]
    fn flip_long_two_sell_three_is_short_one() {
        let mut pos = Position::new(ContractSpec::ES);
        pos.on_fill(&fill(1, OrderSide::Buy, 4000.00, 2));
        let rt = pos.on_fill(&fill(2, OrderSide::Sell, 4001.00, 3)).expect("long trip closed");
        // Closing 2 at +1 point: $100; fee of the flip fill split 2/3 : 1/3.
        assert_eq!(rt.pnl, 100 * USD);
        assert_eq!(rt.fees, 2 * FEE + 2 * FEE);
        assert_eq!((rt.qty, rt.side), (2, OrderSide::Buy));
        assert_eq!(pos.qty(), -1);
        assert_eq!(pos.avg_entry_px(), Some(px(4001.00)));
        // Short 1 from 4001: price down 0.5 → +$25 unrealized.
        assert_eq!(pos.unrealized(px(4000.50)), 25 * USD);
        let rt2 = pos.on_fill(&fill(3, OrderSide::Buy, 4000.50, 1)).expect("short trip closed");
        assert_eq!(rt2.side, OrderSide::Sell);
        assert_eq!(rt2.pnl, 25 * USD);
        assert_eq!(rt2.fees, FEE + FEE);
        assert_eq!((rt2.entry_ts, rt2.exit_ts, rt2.entry_px, rt2.exit_px), (2, 3, px(4001.00), px(4000.50)));
        assert_eq!(pos.realized(), 125 * USD);
        // Every fee ends up in exactly one trip.
        assert_eq!(rt.fees + rt2.fees, pos.fees());
    }

    #[test]
    fn partial_closes_use_average_entry() {
        let mut pos = Position::new(ContractSpec::ES);
        pos.on_fill(&fill(1, OrderSide::Buy, 100.00, 1));
        pos.on_fill(&fill(2, OrderSide::Buy, 100.25, 2));
        // Average (100 + 2 × 100.25) / 3 = 100.1666…
        assert_eq!(pos.avg_entry_px(), Some(100_166_666_667));
        // Sell 1 at 100.50: the closed third of the basis is 100.166666666 (truncated), so
        // (100.50 − 100.166666666) × $50 = $16.6666667.
        assert_eq!(pos.on_fill(&fill(3, OrderSide::Sell, 100.50, 1)), None);
        assert_eq!(pos.realized(), NanoUsd::from_nano(16_666_666_700));
        assert_eq!(pos.qty(), 2);
        // Sell the rest at 99.75; the residue comes out here and the trip's P&L is exact:
        // exits 100.50 + 2 × 99.75 = 300.00 − entries 300.50 = −0.50 point → −$25.
        let rt = pos.on_fill(&fill(4, OrderSide::Sell, 99.75, 2)).expect("flat");
        assert_eq!(rt.pnl, -25 * USD);
        assert_eq!(pos.realized(), -25 * USD);
        assert_eq!((rt.qty, rt.max_qty), (3, 3));
        assert_eq!(rt.entry_px, 100_166_666_667);
        assert_eq!(rt.exit_px, px(100.00));
        assert_eq!(rt.fees, 6 * FEE);
    }

    #[test]
    fn short_pnl_and_mes_point_value() {
        let mut pos = Position::new(ContractSpec::MES);
        pos.on_fill(&fill(1, OrderSide::Sell, 5000.00, 3));
        assert_eq!(pos.qty(), -3);
        // Short 3 MES, price up 2 points: −2 × 3 × $5 = −$30.
        assert_eq!(pos.unrealized(px(5002.00)), -30 * USD);
        let rt = pos.on_fill(&fill(2, OrderSide::Buy, 5002.00, 3)).expect("flat");
        assert_eq!(rt.pnl, -30 * USD);
    }

    #[test]
    fn excursions_follow_marks() {
        let mut pos = Position::new(ContractSpec::ES);
        pos.on_fill(&fill(1, OrderSide::Buy, 100.00, 1));
        pos.mark(px(99.00));
        pos.mark(px(102.50));
        pos.mark(px(101.00));
        let rt = pos.on_fill(&fill(2, OrderSide::Sell, 101.00, 1)).expect("flat");
        assert_eq!((rt.mae_px, rt.mfe_px), (px(1.00), px(2.50)));
        // 1 contract × $50 a point: −1.00 → $50 adverse, +2.50 → $125 favourable.
        assert_eq!((rt.mae_usd, rt.mfe_usd), (50 * USD, 125 * USD));
        assert_eq!(rt.tick, 250_000_000);
    }

    #[test]
    fn ignores_empty_fills() {
        let mut pos = Position::new(ContractSpec::ES);
        assert_eq!(pos.on_fill(&fill(1, OrderSide::Buy, 100.0, 0)), None);
        assert!(pos.is_flat());
        assert_eq!(pos.ignored_fills(), 1);
        assert_eq!(pos.fees(), NanoUsd::ZERO);
    }

    #[test]
    fn csv_lines_are_exact() {
        let rt = RoundTrip {
            entry_ts: 10,
            exit_ts: 20,
            side: OrderSide::Sell,
            qty: 1,
            max_qty: 1,
            entry_px: px(4500.25),
            exit_px: px(4499.75),
            pnl: 25 * USD,
            fees: NanoUsd::from_nano(4_500_000_000),
            mae_px: 0,
            mfe_px: px(0.75),
            mae_usd: NanoUsd::ZERO,
            mfe_usd: NanoUsd::from_nano(37_500_000_000),
            tick: 250_000_000,
            ..RoundTrip::default()
        };
        // Short sold at 4500.25 against a decision at 4500.50 (1 tick of slippage), bought
        // back at 4499.75 against a target of 4499.75 (none): 1 tick × 1 × $50 = $12.50.
        let rt = rt.with_decisions(ExitReason::Target, px(4500.50), px(4499.75), 50);
        assert_eq!(rt.slippage_px(), px(0.25));
        assert_eq!(rt.slippage_usd, NanoUsd::from_nano(12_500_000_000));
        let mut s = String::new();
        rt.write_csv(&mut s).expect("string write");
        assert_eq!(
            s,
            "10,20,short,1,1,4500.25,4499.75,25.00,4.50,20.50,0.00,0.75,0.00,3.00,0.00,37.50,target,4500.50,4499.75,1.00,12.50\n"
        );
        assert_eq!(RoundTrip::CSV_HEADER.split(',').count(), s.trim_end().split(',').count());
        let mut t = String::new();
        write_fixed(&mut t, -1_234_567).expect("string write");
        assert_eq!(t, "-0.001234567");
    }

    #[test]
    fn ring_keeps_the_newest() {
        let mut ring = TradeRing::new(2);
        for ts in 1..=3 {
            ring.push(RoundTrip { entry_ts: ts, ..RoundTrip::default() });
        }
        assert_eq!(ring.iter().map(|t| t.entry_ts).collect::<Vec<_>>(), vec![2, 3]);
        assert_eq!(ring.overwritten(), 1);
        let mut csv = String::new();
        ring.write_csv(&mut csv).expect("string write");
        assert_eq!(csv.lines().count(), 3);
        ring.clear();
        assert!(ring.is_empty());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 256, ..Default::default() })]

        /// The accounting identity, over random fill sequences (opens, adds, partial closes,
        /// flips) at random on-tick prices and a random mark: cash + position value = equity
        /// change = realized + unrealized − fees. Cash is counted independently here (every
        /// buy pays, every sell receives, every fee is paid). Average-cost accounting divides
        /// the cost of a partial close, so each reducing fill may round by < 1 price unit ×
        /// the point value (50 nano-USD for ES): the tolerance is that times the fills.
        #[test]
        fn cash_plus_position_value_equals_realized_plus_unrealized_minus_fees(
            fills in proptest::collection::vec((proptest::bool::ANY, 1u32..5, 0i64..400, 0i64..5_000_000), 1..60),
            mark_ticks in 0i64..400,
        ) {
            let tick = ContractSpec::ES.tick;
            let base = 4_900 * PRICE_SCALE;
            let mut pos = Position::new(ContractSpec::ES);
            let mut cash: i128 = 0;
            let pv = i128::from(ContractSpec::ES.point_value_usd);
            for (k, &(buy, qty, ticks, fee)) in fills.iter().enumerate() {
                let side = if buy { OrderSide::Buy } else { OrderSide::Sell };
                let price = base + ticks * tick;
                let f = Fill { client_order_id: k as u64 + 1, seq: k as u64, ts: k as u64, price, fee: NanoUsd::from_nano(fee), qty, leaves: 0, side, done: true };
                pos.on_fill(&f);
                cash -= i128::from(side.sign()) * i128::from(price) * i128::from(qty) * pv;
                cash -= i128::from(fee);
            }
            let mark = base + mark_ticks * tick;
            let value = i128::from(pos.qty()) * i128::from(mark) * pv;
            let books = i128::from(pos.realized().nano()) + i128::from(pos.unrealized(mark).nano()) - i128::from(pos.fees().nano());
            let tolerance = pv * fills.len() as i128;
            proptest::prop_assert!(
                (cash + value - books).abs() <= tolerance,
                "cash {cash} + value {value} = {} vs realized + unrealized - fees = {books}",
                cash + value
            );
        }
    }
}
