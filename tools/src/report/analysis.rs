//! Each trade joined to what the run recorded around it: the signal that opened it (through
//! the entry fill's order: fill → client order id → the new-order intent's `seq` → the signal
//! of that input), the session phase of its entry (session clock), the regime at entry (F18
//! of the features snapshot), the feature snapshots at entry and exit, the risk context, and
//! its post-mortem; and the per-group statistics.

use super::postmortem::{analyze, PmConfig, PmTrade, PostMortem};
use super::run::{prints_between, session_yyyymmdd, snapshot_at, RunData};
use super::stats::{TradePnl, TradeStats};
use super::trades::Trade;
use mia_model::features::{FeatureId, FeatureSnapshot};
use mia_model::msg::{ControlKind, Direction, Signal};
use mia_model::price::{to_f64, UNDEF_PX};
use mia_signal::market::clock::{SessionPhase, PHASES};
use mia_signal::session::chicago_minute_of_day;

/// |F18| at or above this is a trend (signed efficiency ratio); below, a range.
pub const TREND_ER: f32 = 0.3;

/// The regime groups, in table order.
pub const REGIMES: [&str; 4] = ["trend_up", "trend_down", "range", "unknown"];

/// Pattern names by `SignalSource::pattern` (SIGNALS.md §4; `mia_signal::engine::patterns`).
pub const PATTERNS: [&str; 7] =
    ["none", "base_break", "gamma_pin", "headfake", "microstructure", "confluence_zone", "liquidity_sweep"];

/// How the opening signal was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignalMatch {
    /// Through the entry fill's order (exact).
    Order,
    /// No order matched: the latest signal at or before the entry in the trade's direction.
    Nearest,
    /// None found.
    None,
}

impl SignalMatch {
    /// CSV name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Order => "order",
            Self::Nearest => "nearest",
            Self::None => "none",
        }
    }
}

/// What the risk manager saw before the trade, as derived from the recorded trades and
/// controls (the risk manager's own state is not journaled).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RiskContext {
    /// 1-based number of the trade in its session.
    pub day_trade_no: usize,
    /// Net P&L of the session's earlier trades, USD.
    pub day_net_before: f64,
    /// Losing trades in a row just before this one (any session).
    pub consecutive_losses_before: usize,
    /// A kill switch was in force at entry (a `Kill` control with no `Resume` after it).
    pub kill_active: bool,
}

/// A trade with everything joined to it.
#[derive(Clone, Debug)]
pub struct Enriched<'a> {
    /// The trade.
    pub trade: &'a Trade,
    /// 1-based number in the run.
    pub no: usize,
    /// Session date of the exit (yyyymmdd): the day its P&L counts for.
    pub session: u32,
    /// Session phase of the entry.
    pub phase: SessionPhase,
    /// The opening signal.
    pub signal: Option<Signal>,
    /// How it was found.
    pub signal_match: SignalMatch,
    /// Regime at entry (one of [`REGIMES`]).
    pub regime: &'static str,
    /// Feature snapshot at or before the entry.
    pub entry_snap: Option<FeatureSnapshot>,
    /// Feature snapshot at or before the exit.
    pub exit_snap: Option<FeatureSnapshot>,
    /// Risk context.
    pub risk: RiskContext,
    /// Post-mortem.
    pub pm: PostMortem,
}

impl Enriched<'_> {
    /// The money of the trade.
    pub fn pnl(&self) -> TradePnl {
        TradePnl { gross: self.trade.pnl_usd, fees: self.trade.fees_usd, net: self.trade.net_usd }
    }

    /// Strategy name of the opening signal.
    pub fn strategy(&self) -> String {
        strategy_name(self.signal)
    }

    /// Pattern name of the opening signal.
    pub fn pattern(&self) -> String {
        pattern_name(self.signal)
    }

    /// Tier name of the opening signal: the signal engine's tier (`elite`), `none` for a
    /// strategy that sets no tier.
    pub fn tier(&self) -> String {
        tier_name(self.signal)
    }

    /// The opening signal's target, when it set one.
    pub fn signal_target(&self) -> Option<f64> {
        self.signal.and_then(|s| px_opt(s.target))
    }

    /// The opening signal's stop, when it set one.
    pub fn signal_stop(&self) -> Option<f64> {
        self.signal.and_then(|s| px_opt(s.stop))
    }
}

fn px_opt(p: i64) -> Option<f64> {
    (p != UNDEF_PX && p != 0).then(|| to_f64(p))
}

/// The session phase of an instant.
pub fn phase_of(ts: u64) -> SessionPhase {
    SessionPhase::of_minute(chicago_minute_of_day(ts))
}

/// The regime bucket of a snapshot.
pub fn regime_of(s: Option<&FeatureSnapshot>) -> &'static str {
    match s.and_then(|s| s.vector.get(FeatureId::MarketRegime)) {
        Some(er) if er >= TREND_ER => "trend_up",
        Some(er) if er <= -TREND_ER => "trend_down",
        Some(_) => "range",
        None => "unknown",
    }
}

/// The opening signal of `t`.
fn opening_signal(run: &RunData, t: &Trade) -> (Option<Signal>, SignalMatch) {
    let want = if t.long { Direction::Long } else { Direction::Short };
    let by_order = run
        .fills
        .iter()
        .filter(|f| f.ts == t.entry_ts)
        .filter_map(|f| run.intents.get(&f.client_order_id))
        .find_map(|i| {
            // The signal of the intent's input; the latest one of that input wins.
            let k = run.signals.partition_point(|s| s.seq <= i.seq);
            k.checked_sub(1)
                .and_then(|k| run.signals.get(k))
                .filter(|s| s.seq == i.seq && s.direction == want)
        });
    if let Some(s) = by_order {
        return (Some(*s), SignalMatch::Order);
    }
    let k = run.signals.partition_point(|s| s.ts <= t.entry_ts);
    match run.signals[..k].iter().rev().find(|s| s.direction == want) {
        Some(s) => (Some(*s), SignalMatch::Nearest),
        None => (None, SignalMatch::None),
    }
}

/// Every trade of `run`, enriched, in exit order.
pub fn enrich<'a>(run: &'a RunData, cfg: &PmConfig) -> Vec<Enriched<'a>> {
    let pv = run.contract.point_value_usd as f64;
    let mut out: Vec<Enriched<'a>> = Vec::with_capacity(run.trades.trades.len());
    let (mut day, mut day_no, mut day_net, mut losses) = (0u32, 0usize, 0.0, 0usize);
    for (i, t) in run.trades.trades.iter().enumerate() {
        let (signal, signal_match) = opening_signal(run, t);
        let entry_snap = snapshot_at(&run.snapshots, t.entry_ts).copied();
        let exit_snap = snapshot_at(&run.snapshots, t.exit_ts).copied();
        let session = session_yyyymmdd(t.exit_ts);
        if session != day {
            (day, day_no, day_net) = (session, 0, 0.0);
        }
        day_no += 1;
        let kill_active = run
            .controls
            .iter()
            .rev()
            .find(|c| c.ts <= t.entry_ts && matches!(c.kind, ControlKind::Kill | ControlKind::Resume))
            .is_some_and(|c| c.kind == ControlKind::Kill);
        let risk = RiskContext {
            day_trade_no: day_no,
            day_net_before: day_net,
            consecutive_losses_before: losses,
            kill_active,
        };
        day_net += t.net_usd;
        losses = if t.net_usd < 0.0 { losses + 1 } else { 0 };
        let pmt = PmTrade {
            long: t.long,
            qty: t.qty,
            entry: t.entry_px,
            exit: t.exit_px,
            mfe_points: t.mfe_points,
            stopped: t.exit_reason == "stop",
            at_target: t.exit_reason == "target",
            target: signal.and_then(|s| px_opt(s.target)),
        };
        let after = prints_between(&run.prints, t.exit_ts, t.exit_ts.saturating_add(cfg.window_ns));
        out.push(Enriched {
            trade: t,
            no: i + 1,
            session,
            phase: phase_of(t.entry_ts),
            signal,
            signal_match,
            regime: regime_of(entry_snap.as_ref()),
            entry_snap,
            exit_snap,
            risk,
            pm: analyze(&pmt, after, pv, cfg),
        });
    }
    out
}

/// A group of trades and its statistics (`stats.trades == 0`: the group has no data).
#[derive(Clone, Debug)]
pub struct Group {
    /// Group name.
    pub name: String,
    /// Statistics of its trades.
    pub stats: TradeStats,
}

/// Trade statistics by `key`, with every name of `known` listed (empty ones included, in that
/// order) followed by any other name met, in order of appearance.
pub fn group_by(
    trades: &[Enriched<'_>],
    known: &[&str],
    key: impl Fn(&Enriched<'_>) -> String,
) -> Vec<Group> {
    let mut names: Vec<String> = known.iter().map(|s| (*s).to_string()).collect();
    for t in trades {
        let k = key(t);
        if !names.contains(&k) {
            names.push(k);
        }
    }
    names
        .into_iter()
        .map(|name| {
            let stats = TradeStats::of(trades.iter().filter(|t| key(t) == name).map(Enriched::pnl));
            Group { name, stats }
        })
        .collect()
}

/// The groupings of the report: (title, groups).
pub fn all_groups(trades: &[Enriched<'_>]) -> Vec<(&'static str, Vec<Group>)> {
    let phases: Vec<&str> = PHASES.iter().map(|p| p.key()).collect();
    vec![
        ("session phase (entry)", group_by(trades, &phases, |t| t.phase.key().to_string())),
        ("pattern", group_by(trades, &PATTERNS, |t| t.pattern())),
        ("tier", group_by(trades, &[], |t| t.tier())),
        ("regime (F18 at entry)", group_by(trades, &REGIMES, |t| t.regime.to_string())),
        ("exit reason", group_by(trades, &[], |t| t.trade.exit_reason.clone())),
        (
            "side",
            group_by(
                trades,
                &["long", "short"],
                |t| if t.trade.long { "long".into() } else { "short".into() },
            ),
        ),
    ]
}

/// Net P&L per session (every session of the run, 0 for one without trades).
pub fn daily_pnl(run: &RunData, trades: &[Enriched<'_>]) -> Vec<(u32, f64)> {
    run.sessions
        .iter()
        .map(|&d| (d, trades.iter().filter(|t| t.session == d).map(|t| t.trade.net_usd).sum()))
        .collect()
}

/// Strategy name of a signal (`unknown` without one).
pub fn strategy_name(sig: Option<mia_model::msg::Signal>) -> String {
    match sig.map(|s| s.source.strategy) {
        None => "unknown".into(),
        Some(1) => "threshold".into(),
        Some(2) => "elite".into(),
        Some(n) => format!("strategy_{n}"),
    }
}

/// Pattern name of a signal (`unknown` without one).
pub fn pattern_name(sig: Option<mia_model::msg::Signal>) -> String {
    match sig.map(|s| s.source.pattern) {
        None => "unknown".into(),
        Some(p) => PATTERNS.get(usize::from(p)).map_or_else(|| format!("pattern_{p}"), |s| (*s).to_string()),
    }
}

/// Tier name of a signal: the signal engine's tier (`elite`), `none` for a strategy that sets
/// no tier, `unknown` without a signal.
pub fn tier_name(sig: Option<mia_model::msg::Signal>) -> String {
    match sig {
        None => "unknown".into(),
        Some(s) if s.source.strategy == 2 => mia_signal::engine::types::TIERS
            .get(usize::from(s.tier))
            .map_or_else(|| format!("tier_{}", s.tier), |t| t.name().to_ascii_lowercase()),
        Some(s) if s.tier == 0 => "none".into(),
        Some(s) => format!("tier_{}", s.tier),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mia_model::msg::{Fill, OrderIntent, SignalSource};

    fn trade(entry_ts: u64, exit_ts: u64, long: bool, net: f64) -> Trade {
        Trade {
            entry_ts,
            exit_ts,
            long,
            qty: 1,
            net_usd: net,
            exit_reason: "signal".into(),
            ..Trade::default()
        }
    }

    #[test]
    fn joins_the_opening_signal_through_the_order() {
        // 2024-03-13 14:30 UTC = 09:30 CDT (morning).
        let t0 = 1_710_340_200_000_000_000u64;
        let mut run = RunData::default();
        run.trades.trades = vec![trade(t0 + 10, t0 + 20, true, -5.0), trade(t0 + 30, t0 + 40, false, 7.0)];
        let sig = |seq, ts, direction, pattern, tier| Signal {
            seq,
            ts,
            direction,
            tier,
            source: SignalSource { strategy: 2, pattern },
            ..Signal::default()
        };
        run.signals = vec![sig(3, t0 + 1, Direction::Long, 1, 5), sig(7, t0 + 25, Direction::Short, 4, 6)];
        // The long's entry fill comes from the order of input 3.
        run.intents.insert(11, OrderIntent { client_order_id: 11, seq: 3, ..OrderIntent::default() });
        run.fills.push(Fill { client_order_id: 11, ts: t0 + 10, ..Fill::default() });
        let e = enrich(&run, &PmConfig::default());
        assert_eq!(
            (e[0].signal_match, e[0].pattern(), e[0].tier()),
            (SignalMatch::Order, "base_break".into(), "premium".into())
        );
        assert_eq!(e[0].phase, SessionPhase::Morning);
        // The short has no fill: the nearest earlier short signal.
        assert_eq!(
            (e[1].signal_match, e[1].pattern(), e[1].tier()),
            (SignalMatch::Nearest, "microstructure".into(), "strong".into())
        );
        assert_eq!(
            (e[1].risk.day_trade_no, e[1].risk.day_net_before, e[1].risk.consecutive_losses_before),
            (2, -5.0, 1)
        );
        assert_eq!(e[0].regime, "unknown");
        let g = all_groups(&e);
        let phase = &g[0].1;
        assert_eq!(phase.len(), 7, "every phase is listed");
        assert_eq!(phase.iter().find(|g| g.name == "morning").map(|g| g.stats.trades), Some(2));
        assert_eq!(phase.iter().find(|g| g.name == "lunch").map(|g| g.stats.trades), Some(0));
    }

    #[test]
    fn regime_buckets() {
        let mut s = FeatureSnapshot::default();
        assert_eq!(regime_of(Some(&s)), "unknown");
        s.vector.set(FeatureId::MarketRegime, 0.5);
        assert_eq!(regime_of(Some(&s)), "trend_up");
        s.vector.set(FeatureId::MarketRegime, -0.3);
        assert_eq!(regime_of(Some(&s)), "trend_down");
        s.vector.set(FeatureId::MarketRegime, 0.1);
        assert_eq!(regime_of(Some(&s)), "range");
    }
}
