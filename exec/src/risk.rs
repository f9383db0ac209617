//! Pre-trade risk: every order intent passes [`RiskManager::check`].
//!
//! Limits (this subset of DESIGN §7): maximum absolute position, maximum order size,
//! maximum orders per second (sliding one-second window of event time), maximum daily loss
//! (realized + unrealized, net of fees). Breaching the daily loss moves the manager from
//! `Active` to `Halted`, where only orders that reduce the position pass. All checks read event
//! time only and allocate nothing.

use mia_model::msg::OrderIntent;

/// An order the risk manager approved. Only [`RiskManager::approve`] makes one (the field is
/// private to this module), and a [`Venue`](crate::venue::Venue) accepts nothing else, so no
/// order can reach a venue without passing the checks.
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

/// Risk limits.
#[derive(Clone, Copy, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RiskConfig {
    /// Maximum absolute position, contracts.
    pub max_position: i64,
    /// Maximum quantity of one order, contracts.
    pub max_order_qty: u32,
    /// Maximum orders in any one-second window of event time (≤ 64).
    pub max_orders_per_sec: u32,
    /// Daily loss (USD, positive number) that halts new risk.
    pub max_daily_loss_usd: f64,
}

impl Default for RiskConfig {
    fn default() -> Self {
        Self { max_position: 2, max_order_qty: 2, max_orders_per_sec: 5, max_daily_loss_usd: 2_000.0 }
    }
}

/// Why an order was refused.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RejectReason {
    /// Resulting position would exceed `max_position`.
    MaxPosition = 1,
    /// Order quantity is zero or above `max_order_qty`.
    OrderSize = 2,
    /// Too many orders in the last second.
    OrderRate = 3,
    /// Trading halted by the daily loss limit and the order does not reduce the position.
    DailyLoss = 4,
}

/// Number of [`RejectReason`] variants (for counters).
pub const REJECT_REASONS: usize = 4;

/// Trading state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RiskState {
    /// All orders allowed within limits.
    Active,
    /// Only position-reducing orders.
    Halted,
}

/// Size of the order-rate window: the largest `max_orders_per_sec` the manager can enforce.
pub const RATE_SLOTS: usize = 64;

/// The pre-trade risk manager.
#[derive(Clone, Debug)]
pub struct RiskManager {
    cfg: RiskConfig,
    state: RiskState,
    order_ts: [u64; RATE_SLOTS],
    order_head: usize,
    /// Rejections per reason (index = reason as usize − 1).
    pub rejects: [u64; REJECT_REASONS],
}

impl RiskManager {
    /// A manager in `Active` state.
    pub fn new(cfg: &RiskConfig) -> Self {
        Self {
            cfg: *cfg,
            state: RiskState::Active,
            order_ts: [0; RATE_SLOTS],
            order_head: 0,
            rejects: [0; REJECT_REASONS],
        }
    }

    /// Current state.
    pub fn state(&self) -> RiskState {
        self.state
    }

    /// Updates the loss state from the day's P&L (1e-9 USD, net of fees).
    #[inline]
    pub fn on_pnl(&mut self, day_pnl_nano_usd: i64) {
        if self.state == RiskState::Active && (day_pnl_nano_usd as f64) <= -self.cfg.max_daily_loss_usd * 1e9
        {
            self.state = RiskState::Halted;
        }
    }

    /// Checks an order of signed quantity `signed_qty` (+ buy, − sell) at event time `ts`
    /// given the current (including pending) position. On success the order is counted for the
    /// rate limit.
    #[inline]
    pub fn check(&mut self, ts: u64, signed_qty: i64, position: i64) -> Result<(), RejectReason> {
        let r = self.evaluate(ts, signed_qty, position);
        match r {
            Ok(()) => {
                self.order_ts[self.order_head] = ts;
                self.order_head = (self.order_head + 1) % RATE_SLOTS;
            }
            Err(reason) => self.rejects[reason as usize - 1] += 1,
        }
        r
    }

    /// Checks `intent` given the current (including pending) position and approves it.
    ///
    /// # Errors
    /// The first limit it breaks (counted in `rejects`).
    #[inline]
    pub fn approve(
        &mut self,
        intent: OrderIntent,
        position: i64,
    ) -> Result<Approved<OrderIntent>, RejectReason> {
        let signed = intent.side.sign() * i64::from(intent.qty);
        self.check(intent.ts, signed, position)?;
        Ok(Approved(intent))
    }

    fn evaluate(&self, ts: u64, signed_qty: i64, position: i64) -> Result<(), RejectReason> {
        let qty = signed_qty.unsigned_abs();
        if qty == 0 || qty > self.cfg.max_order_qty as u64 {
            return Err(RejectReason::OrderSize);
        }
        let after = position + signed_qty;
        let reduces = after.abs() < position.abs() && after.signum() * position.signum() >= 0;
        if self.state == RiskState::Halted && !reduces {
            return Err(RejectReason::DailyLoss);
        }
        if after.abs() > self.cfg.max_position && !reduces {
            return Err(RejectReason::MaxPosition);
        }
        let limit = (self.cfg.max_orders_per_sec as usize).min(RATE_SLOTS);
        let recent = self.order_ts.iter().filter(|&&t| t != 0 && ts < t + 1_000_000_000 && t <= ts).count();
        if recent >= limit && !reduces {
            return Err(RejectReason::OrderRate);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    fn rm() -> RiskManager {
        RiskManager::new(&RiskConfig {
            max_position: 2,
            max_order_qty: 2,
            max_orders_per_sec: 3,
            max_daily_loss_usd: 100.0,
        })
    }

    #[test]
    fn position_and_size_limits() {
        let mut r = rm();
        assert_eq!(r.check(S, 3, 0), Err(RejectReason::OrderSize));
        assert_eq!(r.check(S, 0, 0), Err(RejectReason::OrderSize));
        assert_eq!(r.check(S, 2, 1), Err(RejectReason::MaxPosition));
        assert_eq!(r.check(S, 1, 1), Ok(()));
        assert_eq!(r.check(S, -2, 2), Ok(()), "reducing is fine");
        assert_eq!(r.rejects[RejectReason::OrderSize as usize - 1], 2);
        assert_eq!(r.rejects[RejectReason::MaxPosition as usize - 1], 1);
    }

    #[test]
    fn order_rate_window() {
        let mut r = rm();
        for i in 0..3 {
            assert_eq!(r.check(10 * S + i, 1, 0), Ok(()));
        }
        assert_eq!(r.check(10 * S + 500_000_000, 1, 0), Err(RejectReason::OrderRate));
        assert_eq!(r.check(11 * S + 3, 1, 0), Ok(()), "window slid past the first orders");
    }

    #[test]
    fn daily_loss_halts_new_risk_but_allows_exits() {
        let mut r = rm();
        r.on_pnl(-50_000_000_000);
        assert_eq!(r.state(), RiskState::Active);
        r.on_pnl(-100_000_000_000);
        assert_eq!(r.state(), RiskState::Halted);
        assert_eq!(r.check(S, 1, 0), Err(RejectReason::DailyLoss));
        assert_eq!(r.check(S, -1, 1), Ok(()));
        assert_eq!(r.check(2 * S, -2, 1), Err(RejectReason::DailyLoss), "flip is not a reduction");
    }
}
