//! Rolling win-rate and payoff estimate over the last N closed trades, for fractional Kelly.
//!
//! A fixed ring of net P&L per round trip (nano-USD) with integer running sums, so a push is
//! O(1) and the estimate never drifts: `p = wins / n`, `b = mean win / mean |loss|`, and
//! `f* = p − (1 − p) / b`. A break-even trade counts in `n` but is neither a win nor a loss.
//! With no loss in the window `b` is unbounded and `f* = p`; with no win `f* ≤ 0`.

use super::config::KELLY_CAP;

/// The rolling estimate.
#[derive(Clone, Debug)]
pub struct KellyWindow {
    pnl: [i64; KELLY_CAP],
    head: usize,
    len: usize,
    window: usize,
    wins: u32,
    losses: u32,
    sum_win: i128,
    sum_loss: i128,
}

/// What the window says.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct KellyEstimate {
    /// Trades in the window.
    pub trades: u32,
    /// Win rate `p`.
    pub win_rate: f64,
    /// Payoff ratio `b` (mean win / mean loss; `+inf` is never stored: `None` without losses).
    pub payoff: Option<f64>,
    /// Full Kelly fraction `f*` (≤ 0 means no edge).
    pub f_star: f64,
}

impl KellyWindow {
    /// An empty window of the last `window` trades (clamped to 1…[`KELLY_CAP`]).
    pub fn new(window: usize) -> Self {
        Self {
            pnl: [0; KELLY_CAP],
            head: 0,
            len: 0,
            window: window.clamp(1, KELLY_CAP),
            wins: 0,
            losses: 0,
            sum_win: 0,
            sum_loss: 0,
        }
    }

    fn account(&mut self, v: i64, sign: i32) {
        let s = i128::from(sign);
        if v > 0 {
            self.wins = self.wins.wrapping_add_signed(sign);
            self.sum_win += s * i128::from(v);
        } else if v < 0 {
            self.losses = self.losses.wrapping_add_signed(sign);
            self.sum_loss += s * -i128::from(v);
        }
    }

    /// Adds a closed trade's net P&L (nano-USD), dropping the oldest when full. O(1).
    #[inline]
    pub fn push(&mut self, net_pnl: i64) {
        if self.len == self.window {
            let old = self.pnl[self.head];
            self.account(old, -1);
        } else {
            self.len += 1;
        }
        self.pnl[self.head] = net_pnl;
        self.account(net_pnl, 1);
        self.head = (self.head + 1) % self.window;
    }

    /// Trades in the window.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// True with no trade.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Forgets every trade.
    pub fn clear(&mut self) {
        *self = Self::new(self.window);
    }

    /// The estimate, `None` with no trade.
    pub fn estimate(&self) -> Option<KellyEstimate> {
        if self.len == 0 {
            return None;
        }
        let n = self.len as f64;
        let p = f64::from(self.wins) / n;
        if self.wins == 0 {
            return Some(KellyEstimate {
                trades: self.len as u32,
                win_rate: p,
                payoff: None,
                f_star: -(1.0 - p),
            });
        }
        if self.losses == 0 {
            return Some(KellyEstimate { trades: self.len as u32, win_rate: p, payoff: None, f_star: p });
        }
        let avg_win = self.sum_win as f64 / f64::from(self.wins);
        let avg_loss = self.sum_loss as f64 / f64::from(self.losses);
        let b = avg_win / avg_loss;
        let f = p - (1.0 - p) / b;
        Some(KellyEstimate {
            trades: self.len as u32,
            win_rate: p,
            payoff: Some(b),
            f_star: if f.is_finite() { f } else { 0.0 },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const USD: i64 = 1_000_000_000;

    #[test]
    fn hand_computed_estimate() {
        // 6 wins of +200, 4 losses of −100: p = 0.6, b = 2, f* = 0.6 − 0.4/2 = 0.4.
        let mut k = KellyWindow::new(10);
        for v in [200, -100, 200, 200, -100, 200, -100, 200, -100, 200] {
            k.push(v * USD);
        }
        let e = k.estimate().expect("trades");
        assert_eq!(e.trades, 10);
        assert!((e.win_rate - 0.6).abs() < 1e-12);
        assert!((e.payoff.expect("losses") - 2.0).abs() < 1e-12);
        assert!((e.f_star - 0.4).abs() < 1e-12);
    }

    #[test]
    fn ring_drops_the_oldest() {
        // window 4: after 5 pushes the first (+300) is gone.
        let mut k = KellyWindow::new(4);
        for v in [300, -100, 100, -50, 100] {
            k.push(v * USD);
        }
        // left: −100, +100, −50, +100 → p = 0.5, mean win 100, mean loss 75, b = 4/3,
        // f* = 0.5 − 0.5 / (4/3) = 0.125.
        let e = k.estimate().expect("trades");
        assert_eq!((e.trades, k.len()), (4, 4));
        assert!((e.payoff.expect("losses") - 4.0 / 3.0).abs() < 1e-12);
        assert!((e.f_star - 0.125).abs() < 1e-12);
    }

    #[test]
    fn edge_cases() {
        let mut k = KellyWindow::new(8);
        assert!(k.estimate().is_none());
        k.push(10 * USD);
        k.push(0);
        // no loss: f* = p = 0.5 (the break-even trade counts in n)
        assert_eq!(k.estimate().map(|e| e.f_star), Some(0.5));
        k.clear();
        k.push(-10 * USD);
        assert_eq!(k.estimate().map(|e| e.f_star), Some(-1.0));
    }
}
