//! Queue-position models for resting limit orders of the simulated exchange.
//!
//! A simulated limit order is *virtual*: it is not in the market data, so the venue has to
//! estimate how much size rests **ahead** of it at its price and when the market's trading at
//! that price reaches it. Two families are provided:
//!
//! - **L2 models** ([`QueueModel`] + [`L2QueuePos`]): from level sizes and trade prints only.
//!   Trades at the order's price always consume the queue ahead; a *decrease* of the level size
//!   not explained by those trades (cancels) is split between "ahead" and "behind" by the
//!   model's probability function. [`QueueModelKind::RiskAverse`] attributes none of it to the
//!   queue ahead (only trades advance the order); the probabilistic kinds follow the power
//!   `f(x) = xⁿ` and log `f(x) = ln(1 + x)` families defined by hftbacktest
//!   (<https://github.com/nkaz001/hftbacktest>, `hftbacktest/src/backtest/models/queue.rs`:
//!   `RiskAdverseQueueModel`, `ProbQueueModel`, `PowerProbQueueFunc{,2,3}`,
//!   `LogProbQueueFunc{,2}`; the idea is from Rigtorp, "Estimating order queue position",
//!   2013, <https://rigtorp.se/2013/06/08/estimating-order-queue-position.html>). The formulas
//!   are written out on [`QueueModel::prob_behind`] and [`QueueModel::on_level`] and in
//!   `docs/execution.md`.
//! - **L3 FIFO** ([`l3::L3Queue`]): from market-by-order records. The position is the sum of
//!   the sizes of the orders that were at the price before the simulated order joined, minus
//!   what of them has since been cancelled or traded.
//!
//! Quantities ahead are integers in 1e-6 contracts ([`QTY_SCALE`]): trades subtract exact
//! integers, and only the probabilistic split of a decrease goes through an `f64` ratio, rounded
//! once to the unit. Nothing here allocates after construction, and the L2 updates are O(1).

pub mod l3;

use mia_model::book::Book;
use mia_model::event::Side;
use mia_model::msg::OrderSide;
use mia_model::price::{Px, UNDEF_PX};

/// Units of a queue estimate per contract: the queue ahead is kept in 1e-6 contracts.
pub const QTY_SCALE: i64 = 1_000_000;

/// Largest accepted exponent `n` of the power families.
pub const POWER_N_MAX: f64 = 16.0;

/// The queue-position model in use (the `model` key of `[sim.queue]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueModelKind {
    /// Only trades at the price advance the order; cancels never do (hftbacktest
    /// `RiskAdverseQueueModel`). The queue ahead is only capped by the level size.
    #[default]
    RiskAverse,
    /// `p = f(back)/(f(back) + f(front))`, `f(x) = xⁿ` (hftbacktest `PowerProbQueueFunc`).
    Power,
    /// `p = f(back)/f(back + front)`, `f(x) = xⁿ` (hftbacktest `PowerProbQueueFunc2`).
    Power2,
    /// `p = 1 − f(front/(front + back))`, `f(x) = xⁿ` (hftbacktest `PowerProbQueueFunc3`).
    Power3,
    /// `p = f(back)/(f(back) + f(front))`, `f(x) = ln(1 + x)` (hftbacktest `LogProbQueueFunc`).
    Log,
    /// `p = f(back)/f(back + front)`, `f(x) = ln(1 + x)` (hftbacktest `LogProbQueueFunc2`).
    Log2,
    /// FIFO from market-by-order ids ([`l3::L3Queue`]); needs an MBO feed. Used through the L2
    /// interface (no MBO), it behaves like [`QueueModelKind::RiskAverse`].
    L3Fifo,
}

impl QueueModelKind {
    /// The TOML / run-summary name (`risk_averse`, `power`, …).
    pub fn name(self) -> &'static str {
        match self {
            Self::RiskAverse => "risk_averse",
            Self::Power => "power",
            Self::Power2 => "power2",
            Self::Power3 => "power3",
            Self::Log => "log",
            Self::Log2 => "log2",
            Self::L3Fifo => "l3_fifo",
        }
    }

    /// True for the kinds that use the exponent `n`.
    pub fn uses_power(self) -> bool {
        matches!(self, Self::Power | Self::Power2 | Self::Power3)
    }
}

/// Configuration of the queue model (`[sim.queue]`).
#[derive(Clone, Copy, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct QueueConfig {
    /// `model = "risk_averse"`: which model estimates the queue ahead.
    pub model: QueueModelKind,
    /// `power_n = 2.0`: the exponent `n` of the power families (0 < n ≤ [`POWER_N_MAX`]).
    pub power_n: f64,
}

impl Default for QueueConfig {
    /// The conservative model (risk-averse), `n = 2` for the power families.
    fn default() -> Self {
        Self { model: QueueModelKind::RiskAverse, power_n: 2.0 }
    }
}

impl QueueConfig {
    /// Checks the section.
    ///
    /// # Errors
    /// `sim.queue.<key>: reason` for the first bad key.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.power_n.is_finite() && self.power_n > 0.0 && self.power_n <= POWER_N_MAX) {
            return Err(format!("sim.queue.power_n: must be in (0, {POWER_N_MAX}]"));
        }
        Ok(())
    }
}

/// An L2 queue model: a [`QueueModelKind`] and its exponent, dispatched by `match` (no trait
/// objects). It holds no per-order state; each resting order has its own [`L2QueuePos`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QueueModel {
    kind: QueueModelKind,
    n: f64,
}

impl QueueModel {
    /// The model of a validated config.
    pub fn new(cfg: &QueueConfig) -> Self {
        Self { kind: cfg.model, n: cfg.power_n }
    }

    /// The kind.
    #[inline]
    pub fn kind(&self) -> QueueModelKind {
        self.kind
    }

    /// The name for the run summary, e.g. `power(n=2)` or `risk_averse`.
    pub fn describe(&self) -> String {
        if self.kind.uses_power() {
            format!("{}(n={})", self.kind.name(), self.n)
        } else {
            self.kind.name().to_string()
        }
    }

    /// Probability that a size decrease (not explained by trades) happened **behind** the
    /// order, given `front` contracts ahead of it and `back` contracts behind it:
    ///
    /// - `power`: `f(back)/(f(back) + f(front))`, `f(x) = xⁿ`;
    /// - `power2`: `f(back)/f(back + front)`, `f(x) = xⁿ`;
    /// - `power3`: `1 − f(front/(front + back))`, `f(x) = xⁿ`;
    /// - `log`: `f(back)/(f(back) + f(front))`, `f(x) = ln(1 + x)`;
    /// - `log2`: `f(back)/f(back + front)`, `f(x) = ln(1 + x)`;
    /// - `risk_averse`, `l3_fifo`: 1 (nothing happens ahead).
    ///
    /// Negative inputs count as 0. A non-finite ratio (0/0 when `front = back = 0`) gives 1,
    /// as hftbacktest does for an infinite one; the result is clamped to [0, 1].
    pub fn prob_behind(&self, front: f64, back: f64) -> f64 {
        let f = front.max(0.0);
        let b = back.max(0.0);
        let n = self.n;
        let p = match self.kind {
            QueueModelKind::RiskAverse | QueueModelKind::L3Fifo => 1.0,
            QueueModelKind::Power => b.powf(n) / (b.powf(n) + f.powf(n)),
            QueueModelKind::Power2 => b.powf(n) / (b + f).powf(n),
            QueueModelKind::Power3 => 1.0 - (f / (f + b)).powf(n),
            QueueModelKind::Log => b.ln_1p() / (b.ln_1p() + f.ln_1p()),
            QueueModelKind::Log2 => b.ln_1p() / (b + f).ln_1p(),
        };
        if p.is_finite() {
            p.clamp(0.0, 1.0)
        } else {
            1.0
        }
    }

    /// A resting order of `qty` contracts joining the back of the level at `price`, where the
    /// market shows `level_qty` contracts: everything visible is ahead of it.
    pub fn join(&self, side: OrderSide, price: Px, qty: u32, level_qty: u32) -> L2QueuePos {
        L2QueuePos {
            side,
            price,
            remaining: qty,
            ahead: i64::from(level_qty) * QTY_SCALE,
            level_qty,
            traded: 0,
        }
    }

    /// The market's size at the order's price became `new_qty` (a level update on the order's
    /// side). With `prev` the size last seen, `chg = prev − new_qty − traded` (the decrease not
    /// already explained by the trades at the price since the last update; `traded` then
    /// resets):
    ///
    /// - `chg ≤ 0` (growth, or a decrease fully explained by trades), and always for
    ///   `risk_averse`: `ahead ← min(ahead, new_qty)`;
    /// - otherwise, with `front = ahead`, `back = prev − front` and `p` =
    ///   [`Self::prob_behind`]`(front, back)`:
    ///   `ahead ← min(front − (1 − p)·chg + min(back − p·chg, 0), new_qty)`, floored at 0.
    ///   The `min(back − p·chg, 0)` term moves to the front the part of the behind share that
    ///   exceeds what was behind.
    ///
    /// O(1). An order whose queue ahead is already exhausted (ahead ≤ 0) keeps it.
    pub fn on_level(&self, pos: &mut L2QueuePos, new_qty: u32) {
        let prev = i64::from(pos.level_qty);
        let new = i64::from(new_qty);
        let traded = i64::try_from(pos.traded).unwrap_or(i64::MAX);
        pos.level_qty = new_qty;
        pos.traded = 0;
        if pos.ahead <= 0 {
            return;
        }
        let cap = new * QTY_SCALE;
        let chg = prev.saturating_sub(new).saturating_sub(traded);
        let probabilistic = !matches!(self.kind, QueueModelKind::RiskAverse | QueueModelKind::L3Fifo);
        if chg <= 0 || !probabilistic {
            pos.ahead = pos.ahead.min(cap);
            return;
        }
        let front = pos.ahead as f64 / QTY_SCALE as f64;
        let back = (prev as f64 - front).max(0.0);
        let p = self.prob_behind(front, back);
        let c = chg as f64;
        let est = front - (1.0 - p) * c + (back - p * c).min(0.0);
        // `as` saturates; `est` is finite because p ∈ [0, 1] and the inputs are finite.
        let est_units = (est * QTY_SCALE as f64).round() as i64;
        pos.ahead = est_units.clamp(0, cap);
    }

    /// A trade print of `qty` at `price` with aggressor `aggressor`; returns the contracts it
    /// fills (0 when none) and reduces [`L2QueuePos::remaining`].
    ///
    /// - A print on the order's own side of the book (a buy-aggressor print for a resting buy)
    ///   or at a price the order does not reach does nothing.
    /// - A print **through** the order's price (below a resting buy, above a resting sell)
    ///   fills everything that remains: the whole level was consumed (hftbacktest's
    ///   partial-fill exchange does the same).
    /// - A print **at** the price consumes the queue ahead: `ahead ← ahead − qty`, and `qty`
    ///   is added to the `traded` count that [`Self::on_level`] subtracts from the next size
    ///   decrease. When `ahead` becomes negative, `round(−ahead)` contracts (at most what
    ///   remains) fill and `ahead ← 0`: partial fills. A sub-contract residue waits for the
    ///   next print.
    ///
    /// The same rule holds for every kind. O(1).
    pub fn on_trade(&self, pos: &mut L2QueuePos, aggressor: Side, price: Px, qty: u32) -> u32 {
        if pos.remaining == 0 || qty == 0 || price == UNDEF_PX {
            return 0;
        }
        let (own_side, through) = match pos.side {
            OrderSide::Buy => (Side::Bid, price < pos.price),
            OrderSide::Sell => (Side::Ask, price > pos.price),
        };
        if aggressor == own_side {
            return 0;
        }
        if through {
            let f = pos.remaining;
            pos.remaining = 0;
            pos.ahead = 0;
            return f;
        }
        if price != pos.price {
            return 0;
        }
        pos.traded = pos.traded.saturating_add(u64::from(qty));
        pos.ahead = pos.ahead.saturating_sub(i64::from(qty) * QTY_SCALE);
        if pos.ahead >= 0 {
            return 0;
        }
        let exec = (-pos.ahead).saturating_add(QTY_SCALE / 2) / QTY_SCALE;
        if exec == 0 {
            return 0;
        }
        pos.ahead = 0;
        let f = u32::try_from(exec).unwrap_or(u32::MAX).min(pos.remaining);
        pos.remaining -= f;
        f
    }
}

/// The queue state of one resting order under an L2 [`QueueModel`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct L2QueuePos {
    side: OrderSide,
    price: Px,
    remaining: u32,
    /// Estimated size ahead, in 1e-6 contracts ([`QTY_SCALE`]); ≤ 0 once exhausted.
    ahead: i64,
    /// The market's size at the price, as last seen.
    level_qty: u32,
    /// Contracts traded at the price since the last level update.
    traded: u64,
}

impl L2QueuePos {
    /// The order's side.
    #[inline]
    pub fn side(&self) -> OrderSide {
        self.side
    }

    /// The order's limit price.
    #[inline]
    pub fn price(&self) -> Px {
        self.price
    }

    /// Contracts not filled yet.
    #[inline]
    pub fn remaining(&self) -> u32 {
        self.remaining
    }

    /// Sets the contracts not filled yet (a venue that shares one print between several own
    /// orders, or whose order was filled or resized elsewhere, keeps the two in step).
    #[inline]
    pub fn set_remaining(&mut self, remaining: u32) {
        self.remaining = remaining;
    }

    /// True when nothing remains.
    #[inline]
    pub fn is_done(&self) -> bool {
        self.remaining == 0
    }

    /// Estimated queue ahead in 1e-6 contracts (0 or less once exhausted).
    #[inline]
    pub fn ahead_units(&self) -> i64 {
        self.ahead
    }

    /// Estimated queue ahead in contracts (a ratio for reports; never negative).
    #[inline]
    pub fn ahead(&self) -> f64 {
        self.ahead.max(0) as f64 / QTY_SCALE as f64
    }

    /// The market's size at the price, as last seen.
    #[inline]
    pub fn level_qty(&self) -> u32 {
        self.level_qty
    }
}

/// The size the L2 `book` shows at `price` on `side`, for [`QueueModel::join`] and
/// [`QueueModel::on_level`]: `Some(size)` when a visible level has that price, `Some(0)` when
/// the price lies between the best and the worst visible level of that side but no level has
/// it (an empty price), and `None` when it is beyond the visible depth or the side is empty
/// (unknown: the caller should not update the estimate). O(`DEPTH`).
pub fn level_qty_at(book: &Book, side: Side, price: Px) -> Option<u32> {
    let levels = match side {
        Side::Bid => book.bids(),
        Side::Ask => book.asks(),
        Side::None => return None,
    };
    let mut worst = None;
    for l in levels.iter().filter(|l| !l.is_empty()) {
        if l.price == price {
            return Some(l.size);
        }
        worst = Some(l.price);
    }
    let best = levels[0];
    let worst = worst?;
    if best.is_empty() {
        return None;
    }
    // Bids improve upwards, asks downwards.
    let inside = match side {
        Side::Bid => price < best.price && price > worst,
        _ => price > best.price && price < worst,
    };
    let better = match side {
        Side::Bid => price > best.price,
        _ => price < best.price,
    };
    (inside || better).then_some(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mia_model::event::{flags, Event};

    const T: Px = 250_000_000;
    const P: Px = 5_000 * 1_000_000_000;

    fn model(kind: QueueModelKind, n: f64) -> QueueModel {
        QueueModel::new(&QueueConfig { model: kind, power_n: n })
    }

    /// A buy of 5 joins behind 10; 5 more contracts join behind it (level 15); then the level
    /// drops to 12 with no trade: front = 10, back = 5, chg = 3.
    fn after_decrease(kind: QueueModelKind, n: f64) -> f64 {
        let m = model(kind, n);
        let mut pos = m.join(OrderSide::Buy, P, 5, 10);
        m.on_level(&mut pos, 15);
        assert_eq!(pos.ahead_units(), 10 * QTY_SCALE, "growth happens behind");
        m.on_level(&mut pos, 12);
        pos.ahead_units() as f64 / QTY_SCALE as f64
    }

    #[test]
    fn probabilistic_models_match_their_formulas_on_a_hand_computed_decrease() {
        // Hand-computed with front = 10, back = 5, chg = 3:
        // power n=2:  p = 25/(25+100) = 0.2            → 10 − 0.8·3      = 7.6
        // power2 n=2: p = 25/15² = 1/9                 → 10 − (8/9)·3    = 7.333333
        // power3 n=2: p = 1 − (10/15)² = 5/9           → 10 − (4/9)·3    = 8.666667
        // log:        p = ln6/(ln6+ln11) = 0.4276628   → 10 − 0.5723372·3 = 8.282988
        // log2:       p = ln6/ln16 = 0.6462406         → 10 − 0.3537594·3 = 8.938722
        // risk averse: min(10, 12)                      = 10
        let cases = [
            (QueueModelKind::Power, 7.6),
            (QueueModelKind::Power2, 7.333_333),
            (QueueModelKind::Power3, 8.666_667),
            (QueueModelKind::Log, 8.282_988),
            (QueueModelKind::Log2, 8.938_722),
            (QueueModelKind::RiskAverse, 10.0),
        ];
        for (kind, want) in cases {
            let got = after_decrease(kind, 2.0);
            assert!((got - want).abs() < 1.5e-6, "{kind:?}: {got} vs {want}");
        }
    }

    #[test]
    fn prob_behind_values() {
        let p = model(QueueModelKind::Power, 2.0);
        assert!((p.prob_behind(10.0, 5.0) - 0.2).abs() < 1e-12);
        assert_eq!(p.prob_behind(10.0, 0.0), 0.0, "nothing behind: all ahead");
        assert_eq!(p.prob_behind(0.0, 0.0), 1.0, "0/0 → 1");
        let l = model(QueueModelKind::Log, 2.0);
        assert!((l.prob_behind(3.0, 3.0) - 0.5).abs() < 1e-12);
        let l2 = model(QueueModelKind::Log2, 2.0);
        assert!((l2.prob_behind(1.0, 1.0) - 2f64.ln() / 3f64.ln()).abs() < 1e-12);
        assert_eq!(model(QueueModelKind::RiskAverse, 2.0).prob_behind(1.0, 9.0), 1.0);
        assert_eq!(model(QueueModelKind::Power3, 3.0).prob_behind(-1.0, 4.0), 1.0);
    }

    #[test]
    fn overflow_of_the_behind_share_moves_to_the_front() {
        // power3 n=4, front 4, back 1, level 5 → 2 (chg 3): p = 1 − 0.8⁴ = 0.5904,
        // 4 − 0.4096·3 + min(1 − 1.7712, 0) = 4 − 1.2288 − 0.7712 = 2.0 (all that is left).
        let m = model(QueueModelKind::Power3, 4.0);
        let mut pos = m.join(OrderSide::Sell, P, 1, 4);
        m.on_level(&mut pos, 5);
        m.on_level(&mut pos, 2);
        assert_eq!(pos.ahead_units(), 2 * QTY_SCALE);
        // A drop to 1 caps the estimate at the level size.
        m.on_level(&mut pos, 1);
        assert!(pos.ahead_units() <= QTY_SCALE);
    }

    #[test]
    fn risk_averse_ignores_cancels_and_is_capped_by_the_level() {
        let m = model(QueueModelKind::RiskAverse, 2.0);
        let mut pos = m.join(OrderSide::Buy, P, 2, 10);
        m.on_level(&mut pos, 15);
        m.on_level(&mut pos, 11); // 4 cancelled: could be anywhere, assumed behind
        assert_eq!(pos.ahead(), 10.0);
        m.on_level(&mut pos, 7); // fewer than 10 left: at most 7 ahead
        assert_eq!(pos.ahead(), 7.0);
        // Only trades advance it.
        assert_eq!(m.on_trade(&mut pos, Side::Ask, P, 7), 0);
        assert_eq!(pos.ahead(), 0.0);
        assert_eq!(m.on_trade(&mut pos, Side::Ask, P, 1), 1);
        assert_eq!(pos.remaining(), 1);
    }

    #[test]
    fn trades_at_the_price_give_partial_fills_and_are_not_counted_twice() {
        for kind in [QueueModelKind::RiskAverse, QueueModelKind::Power, QueueModelKind::Log] {
            let m = model(kind, 2.0);
            let mut pos = m.join(OrderSide::Buy, P, 5, 10);
            m.on_level(&mut pos, 15);
            assert_eq!(m.on_trade(&mut pos, Side::Ask, P, 4), 0);
            assert_eq!(pos.ahead(), 6.0);
            // The feed's level update that follows the print: 15 − 4 = 11, fully explained
            // by the trade (chg = 0), so the estimate stays at 6 for every model.
            m.on_level(&mut pos, 11);
            assert_eq!(pos.ahead(), 6.0, "{kind:?}");
            // A buy-aggressor print cannot hit a resting buy; a print one tick up is not ours.
            assert_eq!(m.on_trade(&mut pos, Side::Bid, P, 50), 0);
            assert_eq!(m.on_trade(&mut pos, Side::Ask, P + T, 50), 0);
            // 8 at the price: 6 ahead, 2 fill.
            assert_eq!(m.on_trade(&mut pos, Side::Ask, P, 8), 2);
            assert_eq!((pos.remaining(), pos.ahead_units()), (3, 0));
            // Front of the queue: the next print fills up to what remains.
            assert_eq!(m.on_trade(&mut pos, Side::None, P, 5), 3);
            assert!(pos.is_done());
            assert_eq!(m.on_trade(&mut pos, Side::Ask, P, 5), 0);
        }
    }

    #[test]
    fn a_print_through_the_price_fills_everything_left() {
        let m = model(QueueModelKind::Power, 2.0);
        let mut sell = m.join(OrderSide::Sell, P, 4, 100);
        assert_eq!(m.on_trade(&mut sell, Side::Bid, P + T, 1), 4);
        assert!(sell.is_done());
        let mut buy = m.join(OrderSide::Buy, P, 3, 100);
        assert_eq!(m.on_trade(&mut buy, Side::Ask, P - T, 1), 3);
    }

    #[test]
    fn a_fractional_queue_fills_by_rounding() {
        // power n=1: front 3, back 1, level 4 → 1 (chg 3): p = 0.25,
        // 3 − 0.75·3 + min(1 − 0.75, 0) = 0.75 ahead.
        let m = model(QueueModelKind::Power, 1.0);
        let mut pos = m.join(OrderSide::Buy, P, 2, 3);
        m.on_level(&mut pos, 4);
        m.on_level(&mut pos, 1);
        assert_eq!(pos.ahead_units(), 750_000);
        // A print of 1: ahead −0.25 → round(0.25) = 0, nothing yet; the residue stays.
        assert_eq!(m.on_trade(&mut pos, Side::Ask, P, 1), 0);
        assert_eq!(pos.ahead_units(), -250_000);
        // The next print of 1: −1.25 → 1 contract.
        assert_eq!(m.on_trade(&mut pos, Side::Ask, P, 1), 1);
        assert_eq!(pos.remaining(), 1);
    }

    #[test]
    fn config_defaults_and_validation() {
        let c = QueueConfig::default();
        assert_eq!((c.model, c.power_n), (QueueModelKind::RiskAverse, 2.0));
        assert_eq!(c.validate(), Ok(()));
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, 16.5] {
            let e = QueueConfig { power_n: bad, ..c }.validate().unwrap_err();
            assert!(e.starts_with("sim.queue.power_n:"), "{e}");
        }
        assert_eq!(model(QueueModelKind::Power3, 3.0).describe(), "power3(n=3)");
        assert_eq!(model(QueueModelKind::L3Fifo, 3.0).describe(), "l3_fifo");
    }

    #[test]
    fn level_lookup_in_the_l2_book() {
        let mut b = Book::new();
        for (d, (px, sz)) in [(P, 10), (P - T, 20), (P - 3 * T, 30)].into_iter().enumerate() {
            b.apply(&Event::level(1, 1, Side::Bid, d as u8, px, sz, 1, flags::LAST));
        }
        assert_eq!(level_qty_at(&b, Side::Bid, P - T), Some(20));
        assert_eq!(level_qty_at(&b, Side::Bid, P - 2 * T), Some(0), "empty price inside the book");
        assert_eq!(level_qty_at(&b, Side::Bid, P + T), Some(0), "better than the best");
        assert_eq!(level_qty_at(&b, Side::Bid, P - 4 * T), None, "beyond the visible depth");
        assert_eq!(level_qty_at(&b, Side::Ask, P + T), None, "empty side");
    }
}
