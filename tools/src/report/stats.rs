//! The statistics of `mia report` (DESIGN §8, `docs/report.md`): per-trade statistics (win
//! rate, profit factor, expectancy, streaks, …) over any set of trades, and the daily-return
//! statistics (Sharpe, Sortino, max drawdown, Calmar, annual return and volatility) defined
//! **exactly as empyrical** (empyrical-reloaded 0.7.1: 252 periods a year, risk-free and
//! required return 0). `tools/tests/fixtures/report/empyrical.json`, computed by empyrical
//! itself, checks every one of them to 1e-9.
//!
//! Daily returns come from P&L with [`daily_returns`]: the net P&L of session `d` over the
//! account equity at the start of that session (`equity₀ + Σ net P&L of earlier sessions`), so
//! that compounding the returns reproduces the equity curve and empyrical's drawdown of the
//! returns is the peak-to-trough drawdown of the equity.

/// Trading periods in a year (empyrical's `DAILY` annualization factor).
pub const PERIODS_PER_YEAR: f64 = 252.0;

/// One trade's money, USD.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct TradePnl {
    /// Gross realized P&L.
    pub gross: f64,
    /// Commissions and fees.
    pub fees: f64,
    /// Net P&L (`gross − fees`, as recorded).
    pub net: f64,
}

/// Statistics of a set of trades (on net P&L; a trade with net exactly 0 is a *scratch*:
/// neither a win nor a loss, and it ends both streaks).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct TradeStats {
    /// Trades.
    pub trades: usize,
    /// Trades with net > 0.
    pub wins: usize,
    /// Trades with net < 0.
    pub losses: usize,
    /// Trades with net = 0.
    pub scratches: usize,
    /// `wins / (wins + losses)` (quantstats' convention: scratches excluded); NaN without
    /// wins or losses.
    pub win_rate: f64,
    /// Σ gross P&L.
    pub gross_pnl: f64,
    /// Σ fees.
    pub fees: f64,
    /// Σ net P&L.
    pub net_pnl: f64,
    /// Σ net of the wins.
    pub gross_win: f64,
    /// Σ net of the losses (≤ 0).
    pub gross_loss: f64,
    /// `gross_win / |gross_loss|`; +∞ with wins and no loss, NaN with neither.
    pub profit_factor: f64,
    /// Mean net P&L per trade (`net_pnl / trades`); NaN without trades.
    pub expectancy: f64,
    /// Mean net of the wins; NaN without wins.
    pub avg_win: f64,
    /// Mean net of the losses (≤ 0); NaN without losses.
    pub avg_loss: f64,
    /// `avg_win / |avg_loss|`; NaN when either is undefined.
    pub payoff_ratio: f64,
    /// Largest net win (0 without wins).
    pub largest_win: f64,
    /// Largest net loss (≤ 0; 0 without losses).
    pub largest_loss: f64,
    /// Longest run of consecutive wins, in trade order.
    pub max_consecutive_wins: usize,
    /// Longest run of consecutive losses, in trade order.
    pub max_consecutive_losses: usize,
}

impl TradeStats {
    /// The statistics of `trades` (in time order, for the streaks).
    pub fn of(trades: impl IntoIterator<Item = TradePnl>) -> Self {
        let mut s = TradeStats::default();
        let (mut run_w, mut run_l) = (0usize, 0usize);
        for t in trades {
            s.trades += 1;
            s.gross_pnl += t.gross;
            s.fees += t.fees;
            s.net_pnl += t.net;
            if t.net > 0.0 {
                s.wins += 1;
                s.gross_win += t.net;
                s.largest_win = s.largest_win.max(t.net);
                run_w += 1;
                run_l = 0;
            } else if t.net < 0.0 {
                s.losses += 1;
                s.gross_loss += t.net;
                s.largest_loss = s.largest_loss.min(t.net);
                run_l += 1;
                run_w = 0;
            } else {
                s.scratches += 1;
                run_w = 0;
                run_l = 0;
            }
            s.max_consecutive_wins = s.max_consecutive_wins.max(run_w);
            s.max_consecutive_losses = s.max_consecutive_losses.max(run_l);
        }
        s.win_rate = ratio(s.wins as f64, (s.wins + s.losses) as f64);
        s.expectancy = ratio(s.net_pnl, s.trades as f64);
        s.avg_win = ratio(s.gross_win, s.wins as f64);
        s.avg_loss = ratio(s.gross_loss, s.losses as f64);
        s.payoff_ratio = s.avg_win / s.avg_loss.abs();
        s.profit_factor = if s.wins + s.losses == 0 { f64::NAN } else { s.gross_win / s.gross_loss.abs() };
        s
    }
}

/// `a / b`, NaN when `b` is 0.
fn ratio(a: f64, b: f64) -> f64 {
    if b == 0.0 {
        f64::NAN
    } else {
        a / b
    }
}

/// Daily returns from daily net P&L (USD, one value per session, in order): `r_d = pnl_d /
/// (equity₀ + Σ_{k<d} pnl_k)`. An equity that is not positive (the account is gone) gives NaN
/// for that day and every later one, which makes every statistic of the series NaN.
pub fn daily_returns(daily_pnl: &[f64], equity0: f64) -> Vec<f64> {
    let mut equity = equity0;
    daily_pnl
        .iter()
        .map(|&p| {
            let r = if equity > 0.0 && equity.is_finite() { p / equity } else { f64::NAN };
            equity += p;
            if equity.is_nan() || equity <= 0.0 {
                equity = f64::NAN;
            }
            r
        })
        .collect()
}

/// Statistics of a daily-return series, as empyrical computes them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ReturnStats {
    /// Days.
    pub days: usize,
    /// `prod(1 + r) − 1` (empyrical `cum_returns_final`).
    pub cum_return: f64,
    /// Annualized Sharpe ratio.
    pub sharpe: f64,
    /// Annualized Sortino ratio.
    pub sortino: f64,
    /// Annualized downside deviation.
    pub downside_risk: f64,
    /// Maximum drawdown (≤ 0, a fraction of the running peak).
    pub max_drawdown: f64,
    /// Calmar ratio.
    pub calmar: f64,
    /// Annual (compound) return.
    pub annual_return: f64,
    /// Annual volatility.
    pub annual_volatility: f64,
}

impl ReturnStats {
    /// Every statistic of `r`.
    pub fn of(r: &[f64]) -> Self {
        Self {
            days: r.len(),
            cum_return: cum_returns_final(r),
            sharpe: sharpe_ratio(r),
            sortino: sortino_ratio(r),
            downside_risk: downside_risk(r),
            max_drawdown: max_drawdown(r),
            calmar: calmar_ratio(r),
            annual_return: annual_return(r),
            annual_volatility: annual_volatility(r),
        }
    }
}

/// Mean of the non-NaN values (numpy `nanmean`; NaN when there are none).
fn nanmean(r: &[f64]) -> f64 {
    let (mut s, mut n) = (0.0, 0usize);
    for &x in r.iter().filter(|x| !x.is_nan()) {
        s += x;
        n += 1;
    }
    if n == 0 {
        f64::NAN
    } else {
        s / n as f64
    }
}

/// Sample standard deviation of the non-NaN values (numpy `nanstd(ddof=1)`; NaN with fewer
/// than two).
fn nanstd1(r: &[f64]) -> f64 {
    let m = nanmean(r);
    let (mut ss, mut n) = (0.0, 0usize);
    for &x in r.iter().filter(|x| !x.is_nan()) {
        ss += (x - m) * (x - m);
        n += 1;
    }
    if n < 2 {
        f64::NAN
    } else {
        (ss / (n - 1) as f64).sqrt()
    }
}

/// empyrical `cum_returns_final`: `prod(1 + r) − 1`, NaN values counting as 0, NaN for an
/// empty series.
pub fn cum_returns_final(r: &[f64]) -> f64 {
    if r.is_empty() {
        return f64::NAN;
    }
    r.iter().filter(|x| !x.is_nan()).fold(1.0, |acc, x| acc * (1.0 + x)) - 1.0
}

/// empyrical `sharpe_ratio`: `mean(r) / std(r, ddof=1) · √252`; NaN with fewer than two
/// returns; a series whose values are all equal has deviation exactly 0 (±∞, or NaN when the
/// mean is 0 too).
pub fn sharpe_ratio(r: &[f64]) -> f64 {
    if r.len() < 2 {
        return f64::NAN;
    }
    let sd = nanstd1(r);
    let sd = if sd.is_finite() && zero_dispersion(r) { 0.0 } else { sd };
    nanmean(r) / sd * PERIODS_PER_YEAR.sqrt()
}

/// True when every non-NaN value is equal (empyrical `_zero_dispersion_std`).
fn zero_dispersion(r: &[f64]) -> bool {
    let mut it = r.iter().filter(|x| !x.is_nan());
    match it.next() {
        Some(first) => it.all(|x| x == first),
        None => false,
    }
}

/// empyrical `downside_risk` (required return 0): `√(mean(min(r, 0)²)) · √252`; NaN for an
/// empty series.
pub fn downside_risk(r: &[f64]) -> f64 {
    if r.is_empty() {
        return f64::NAN;
    }
    let sq: Vec<f64> = r.iter().map(|&x| if x.is_nan() { x } else { x.min(0.0).powi(2) }).collect();
    nanmean(&sq).sqrt() * PERIODS_PER_YEAR.sqrt()
}

/// empyrical `sortino_ratio` (required return 0): `mean(r) · 252 / downside_risk(r)`; NaN
/// with fewer than two returns; +∞ when no return is negative and the mean is positive.
pub fn sortino_ratio(r: &[f64]) -> f64 {
    if r.len() < 2 {
        return f64::NAN;
    }
    nanmean(r) * PERIODS_PER_YEAR / downside_risk(r)
}

/// empyrical `max_drawdown`: the cumulative wealth `100 · Π(1 + r)` with the starting 100
/// prepended as the first peak (a loss on day 1 is a drawdown), and the most negative
/// `(wealth − running peak) / running peak`; ≤ 0; NaN for an empty series.
pub fn max_drawdown(r: &[f64]) -> f64 {
    if r.is_empty() {
        return f64::NAN;
    }
    let mut wealth = 100.0;
    let mut peak: f64 = 100.0;
    let mut worst = f64::NAN;
    for &x in r {
        if !x.is_nan() {
            wealth *= 1.0 + x;
        }
        peak = peak.max(wealth); // fmax: a NaN wealth never becomes the peak
        let dd = (wealth - peak) / peak;
        // nanmin
        if worst.is_nan() || dd < worst {
            worst = if dd.is_nan() { worst } else { dd };
        }
    }
    worst
}

/// empyrical `annual_return`: `(Π(1 + r))^(252 / n) − 1`; NaN for an empty series.
pub fn annual_return(r: &[f64]) -> f64 {
    if r.is_empty() {
        return f64::NAN;
    }
    let years = r.len() as f64 / PERIODS_PER_YEAR;
    (cum_returns_final(r) + 1.0).powf(1.0 / years) - 1.0
}

/// empyrical `annual_volatility`: `std(r, ddof=1) · √252`; NaN with fewer than two returns.
pub fn annual_volatility(r: &[f64]) -> f64 {
    if r.len() < 2 {
        return f64::NAN;
    }
    nanstd1(r) * PERIODS_PER_YEAR.sqrt()
}

/// empyrical `calmar_ratio`: `annual_return / |max_drawdown|` when the drawdown is negative,
/// NaN otherwise and when the quotient is infinite.
pub fn calmar_ratio(r: &[f64]) -> f64 {
    let dd = max_drawdown(r);
    if dd < 0.0 {
        let c = annual_return(r) / dd.abs();
        if c.is_infinite() {
            f64::NAN
        } else {
            c
        }
    } else {
        f64::NAN
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pnl(net: &[f64]) -> Vec<TradePnl> {
        net.iter().map(|&n| TradePnl { gross: n + 1.0, fees: 1.0, net: n }).collect()
    }

    #[test]
    fn trade_statistics_by_hand() {
        // +100, −50, +30, +20, 0, −10, −40: wins 3, losses 3, scratch 1.
        let s = TradeStats::of(pnl(&[100.0, -50.0, 30.0, 20.0, 0.0, -10.0, -40.0]));
        assert_eq!((s.trades, s.wins, s.losses, s.scratches), (7, 3, 3, 1));
        assert_eq!(s.win_rate, 0.5);
        assert_eq!((s.gross_win, s.gross_loss), (150.0, -100.0));
        assert_eq!(s.profit_factor, 1.5);
        assert_eq!(s.net_pnl, 50.0);
        assert_eq!(s.fees, 7.0);
        assert_eq!(s.gross_pnl, 57.0);
        assert!((s.expectancy - 50.0 / 7.0).abs() < 1e-12);
        assert_eq!((s.avg_win, s.avg_loss), (50.0, -100.0 / 3.0));
        assert!((s.payoff_ratio - 1.5).abs() < 1e-12);
        assert_eq!((s.largest_win, s.largest_loss), (100.0, -50.0));
        // wins 30, 20 in a row; the scratch ends it; −10, −40 is the longest loss run.
        assert_eq!((s.max_consecutive_wins, s.max_consecutive_losses), (2, 2));
    }

    #[test]
    fn trade_statistics_edge_cases() {
        let e = TradeStats::of([]);
        assert_eq!(e.trades, 0);
        assert!(e.win_rate.is_nan() && e.profit_factor.is_nan() && e.expectancy.is_nan());
        let w = TradeStats::of(pnl(&[5.0, 5.0, 5.0]));
        assert_eq!(w.profit_factor, f64::INFINITY);
        assert_eq!((w.win_rate, w.max_consecutive_wins, w.max_consecutive_losses), (1.0, 3, 0));
        assert!(w.avg_loss.is_nan() && w.payoff_ratio.is_nan());
        let l = TradeStats::of(pnl(&[-1.0, -2.0]));
        assert_eq!((l.profit_factor, l.win_rate, l.largest_loss), (0.0, 0.0, -2.0));
    }

    #[test]
    fn daily_returns_compound_to_the_equity_curve() {
        let pnl = [1000.0, -2000.0, 500.0, 0.0];
        let r = daily_returns(&pnl, 100_000.0);
        assert_eq!(r[0], 0.01);
        assert_eq!(r[1], -2000.0 / 101_000.0);
        assert_eq!(r[2], 500.0 / 99_000.0);
        assert_eq!(r[3], 0.0);
        let final_equity = 100_000.0 * (1.0 + cum_returns_final(&r));
        assert!((final_equity - 99_500.0).abs() < 1e-6);
        // empyrical's drawdown of the returns is the equity drawdown: 101000 → 99000.
        assert!((max_drawdown(&r) - (-2000.0 / 101_000.0)).abs() < 1e-12);
        // An account that is wiped out has no defined returns after it.
        let gone = daily_returns(&[-100.0, 10.0], 100.0);
        assert_eq!(gone[0], -1.0);
        assert!(gone[1].is_nan());
    }

    /// A fixture value: a number, or "nan" / "inf" / "-inf".
    fn value(v: &serde_json::Value) -> f64 {
        match v {
            serde_json::Value::Number(n) => n.as_f64().unwrap_or(f64::NAN),
            serde_json::Value::String(s) => match s.as_str() {
                "inf" => f64::INFINITY,
                "-inf" => f64::NEG_INFINITY,
                _ => f64::NAN,
            },
            _ => panic!("bad fixture value {v}"),
        }
    }

    fn same(got: f64, want: f64) -> bool {
        if want.is_nan() {
            return got.is_nan();
        }
        if want.is_infinite() {
            return got == want;
        }
        (got - want).abs() <= 1e-9 * want.abs().max(1.0)
    }

    #[test]
    fn matches_empyrical_fixtures() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/report/empyrical.json");
        let text = std::fs::read_to_string(path).expect("fixture");
        let doc: serde_json::Value = serde_json::from_str(&text).expect("fixture JSON");
        let series = doc["series"].as_array().expect("series");
        assert!(series.len() >= 10, "the fixture covers the edge cases");
        let mut checked = 0;
        for s in series {
            let name = s["name"].as_str().expect("name");
            let r: Vec<f64> = s["returns"].as_array().expect("returns").iter().map(value).collect();
            let st = ReturnStats::of(&r);
            let e = &s["expected"];
            for (key, got) in [
                ("sharpe_ratio", st.sharpe),
                ("sortino_ratio", st.sortino),
                ("downside_risk", st.downside_risk),
                ("max_drawdown", st.max_drawdown),
                ("calmar_ratio", st.calmar),
                ("annual_return", st.annual_return),
                ("annual_volatility", st.annual_volatility),
                ("cum_returns_final", st.cum_return),
            ] {
                let want = value(&e[key]);
                assert!(same(got, want), "{name}: {key} = {got}, empyrical says {want}");
                checked += 1;
            }
        }
        assert_eq!(checked, series.len() * 8);
    }
}
