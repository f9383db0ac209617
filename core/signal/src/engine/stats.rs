//! The signal engine's stats tracker (SIGNALS.md §11): fixed `u64` counters, no P&L and no
//! timing. Recording is O(1) and allocation-free; [`EngineStats::to_csv`] is a cold report.

use super::regime::{Regime, REGIMES, REGIME_COUNT};
use super::types::{
    dir_index, RejectReason, SignalKind, Source, StrategyId, Tier, REJECT_COUNT, REJECT_REASONS,
    SETUP_TIER_COUNT, SOURCES, SOURCE_COUNT, TIERS, TIER_COUNT,
};
use crate::market::clock::{SessionPhase, PHASES};
use mia_model::order::Direction;
use std::fmt::Write as _;

/// Pattern-id slots (0 = none, 1…6).
pub const PATTERN_SLOTS: usize = 7;
/// Session-phase slots.
pub const PHASE_SLOTS: usize = 7;

const SETUP_TIER_NAMES: [&str; SETUP_TIER_COUNT] = [
    "PREMIUM_PULLBACK",
    "STRONG_PULLBACK",
    "PREMIUM_BREAKOUT",
    "STRONG_TREND",
    "WEAK_SIGNAL",
    "PREMIUM_BOUNCE",
    "STRONG_BOUNCE",
    "WEAK_BOUNCE",
];

/// The counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EngineStats {
    /// Decision points.
    pub decisions: u64,
    /// Setups built, by strategy (trend, range) × setup tier.
    pub setups: [[u64; SETUP_TIER_COUNT]; 2],
    /// Rejected decisions by reason.
    pub rejections: [u64; REJECT_COUNT],
    /// Emitted entries by tier.
    pub by_tier: [u64; TIER_COUNT],
    /// Emitted entries by source.
    pub by_source: [u64; SOURCE_COUNT],
    /// Emitted entries by regime.
    pub by_regime: [u64; REGIME_COUNT],
    /// Emitted entries by direction (long, short).
    pub by_dir: [u64; 2],
    /// Emitted entries by agreeing pattern id (0 = none).
    pub by_pattern: [u64; PATTERN_SLOTS],
    /// Emitted entries by session phase.
    pub by_phase: [u64; PHASE_SLOTS],
    /// Emitted signals by kind (entry, exit).
    pub by_kind: [u64; 2],
    /// Entries the OMS reported executed, by tier ([`Self::record_executed`]).
    pub executed_by_tier: [u64; TIER_COUNT],
    /// Decisions with |S| > 0.25.
    pub n_bn_25: u64,
    /// Decisions with |S| > 0.35.
    pub n_bn_35: u64,
    /// Decisions with |M| > 0.75.
    pub mtf_elite: u64,
    /// Decisions with 0.35 < |M| ≤ 0.75.
    pub mtf_standard: u64,
    /// Confidence evaluations with institutional smart money in the trade direction.
    pub sm_institutional: u64,
    /// ML approvals.
    pub ml_approved: u64,
    /// ML answers with `ml_conf > 0.85`.
    pub ml_high: u64,
    /// ML errors.
    pub ml_error: u64,
    /// Emitted GAMMA_OPTIMIZED entries.
    pub gamma_optimized: u64,
    /// Decisions in GAMMA_PEAK.
    pub gamma_peak: u64,
    /// Decisions with a gamma factor `f > 1`.
    pub f_above_1: u64,
    /// Decisions with `f < 1`.
    pub f_below_1: u64,
}

impl EngineStats {
    /// Records a decision point's unconditional counters.
    pub fn record_decision(&mut self, s: Option<f64>, m: Option<f64>, f: f64, peak: bool) {
        self.decisions += 1;
        if let Some(s) = s {
            self.n_bn_25 += u64::from(s.abs() > 0.25);
            self.n_bn_35 += u64::from(s.abs() > 0.35);
        }
        if let Some(m) = m {
            self.mtf_elite += u64::from(m.abs() > 0.75);
            self.mtf_standard += u64::from(m.abs() > 0.35 && m.abs() <= 0.75);
        }
        self.gamma_peak += u64::from(peak);
        self.f_above_1 += u64::from(f > 1.0);
        self.f_below_1 += u64::from(f < 1.0);
    }

    /// Records a built setup.
    pub fn record_setup(&mut self, strategy: StrategyId, tier: super::types::SetupTier) {
        self.setups[strategy.index()][tier.index()] += 1;
    }

    /// Records a rejection.
    pub fn record_reject(&mut self, r: RejectReason) {
        self.rejections[r.index()] += 1;
    }

    /// Records an emitted entry.
    pub fn record_entry(
        &mut self,
        tier: Tier,
        source: Source,
        regime: Regime,
        d: Direction,
        pattern_id: u8,
        phase: SessionPhase,
    ) {
        self.by_tier[tier.index()] += 1;
        self.by_source[source.index()] += 1;
        self.by_regime[regime.index()] += 1;
        self.by_dir[dir_index(d)] += 1;
        self.by_pattern[usize::from(pattern_id).min(PATTERN_SLOTS - 1)] += 1;
        self.by_phase[(phase as usize).min(PHASE_SLOTS - 1)] += 1;
        self.by_kind[SignalKind::Entry as usize] += 1;
        self.gamma_optimized += u64::from(tier == Tier::GammaOptimized);
    }

    /// Records an emitted exit.
    pub fn record_exit(&mut self) {
        self.by_kind[SignalKind::Exit as usize] += 1;
    }

    /// Records an entry the OMS executed (generated vs executed). The engine runs upstream of
    /// the order manager and sees no fill: a run's `engine_stats.csv` gets its executed rows
    /// from the exec stage's counts through [`with_executed`].
    pub fn record_executed(&mut self, tier: Tier) {
        self.executed_by_tier[tier.index()] += 1;
    }

    /// Entries generated (emitted).
    pub fn generated(&self) -> u64 {
        self.by_kind[SignalKind::Entry as usize]
    }

    /// Entries executed.
    pub fn executed(&self) -> u64 {
        self.executed_by_tier.iter().sum()
    }

    /// The frequency boost `(n25 − n35)/n35·100`, 0 when n35 = 0.
    pub fn frequency_boost(&self) -> f64 {
        if self.n_bn_35 == 0 {
            0.0
        } else {
            (self.n_bn_25 as f64 - self.n_bn_35 as f64) / self.n_bn_35 as f64 * 100.0
        }
    }

    /// A `group,name,count` CSV of every counter (cold: allocates).
    pub fn to_csv(&self) -> String {
        let mut s = String::from("group,name,count\n");
        let mut row = |g: &str, n: &str, c: u64| {
            let _ = writeln!(s, "{g},{n},{c}");
        };
        row("total", "decisions", self.decisions);
        for (i, st) in ["TREND", "RANGE"].iter().enumerate() {
            for (j, t) in SETUP_TIER_NAMES.iter().enumerate() {
                if (i == 0) == (j < 5) {
                    row("setup", &format!("{st}:{t}"), self.setups[i][j]);
                }
            }
        }
        for r in REJECT_REASONS {
            row("reject", r.name(), self.rejections[r.index()]);
        }
        for t in TIERS {
            row("tier", t.name(), self.by_tier[t.index()]);
        }
        for t in TIERS {
            row("executed_tier", t.name(), self.executed_by_tier[t.index()]);
        }
        for src in SOURCES {
            row("source", src.name(), self.by_source[src.index()]);
        }
        for r in REGIMES {
            row("regime", r.name(), self.by_regime[r.index()]);
        }
        row("direction", "LONG", self.by_dir[0]);
        row("direction", "SHORT", self.by_dir[1]);
        for (i, c) in self.by_pattern.iter().enumerate() {
            row("pattern", &i.to_string(), *c);
        }
        for p in PHASES {
            row("phase", &format!("{p:?}"), self.by_phase[(p as usize).min(PHASE_SLOTS - 1)]);
        }
        row("kind", "ENTRY", self.by_kind[0]);
        row("kind", "EXIT", self.by_kind[1]);
        for (n, c) in [
            ("n_bn_25", self.n_bn_25),
            ("n_bn_35", self.n_bn_35),
            ("mtf_elite", self.mtf_elite),
            ("mtf_standard", self.mtf_standard),
            ("sm_institutional", self.sm_institutional),
            ("ml_approved", self.ml_approved),
            ("ml_high", self.ml_high),
            ("ml_error", self.ml_error),
            ("gamma_optimized", self.gamma_optimized),
            ("gamma_peak", self.gamma_peak),
            ("f_above_1", self.f_above_1),
            ("f_below_1", self.f_below_1),
        ] {
            row("elite", n, c);
        }
        let _ = writeln!(s, "elite,frequency_boost_pct,{:.4}", self.frequency_boost());
        s
    }
}

/// `csv` (an [`EngineStats::to_csv`] table) with its `executed_tier` rows set to
/// `executed` (entries the order manager filled, by tier code: the exec stage's
/// `executed_by_tier`), every other row unchanged.
pub fn with_executed(csv: &str, executed: &[u64; TIER_COUNT]) -> String {
    let mut out = String::with_capacity(csv.len());
    for line in csv.lines() {
        let tier = line.strip_prefix("executed_tier,").and_then(|rest| {
            let name = rest.split(',').next()?;
            TIERS.iter().find(|t| t.name() == name)
        });
        match tier {
            Some(t) => {
                out.push_str("executed_tier,");
                out.push_str(t.name());
                out.push(',');
                out.push_str(&executed[t.index()].to_string());
            }
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The exec stage's counts replace the executed rows, by tier name; nothing else moves.
    #[test]
    fn executed_rows_come_from_the_exec_counts() {
        let mut st = EngineStats::default();
        st.record_decision(Some(0.30), Some(0.8), 1.3, true);
        let csv = st.to_csv();
        let mut ex = [0u64; TIER_COUNT];
        ex[Tier::Institutional.index()] = 2;
        ex[Tier::Weak.index()] = 1;
        let merged = with_executed(&csv, &ex);
        assert!(merged.contains("executed_tier,INSTITUTIONAL,2\n"), "{merged}");
        assert!(merged.contains("executed_tier,WEAK,1\n"));
        assert!(merged.contains("executed_tier,ULTIMATE_ELITE,0\n"));
        assert!(merged.contains("total,decisions,1\n"));
        let other =
            |t: &str| t.lines().filter(|l| !l.starts_with("executed_tier,")).collect::<Vec<_>>().join("\n");
        assert_eq!(other(&merged), other(&csv));
        assert_eq!(merged.lines().count(), csv.lines().count());
    }

    #[test]
    fn counters_boost_and_csv() {
        let mut st = EngineStats::default();
        st.record_decision(Some(0.30), Some(0.8), 1.3, true);
        st.record_decision(Some(-0.40), Some(0.5), 0.7, false);
        st.record_decision(Some(0.10), None, 1.0, false);
        assert_eq!((st.decisions, st.n_bn_25, st.n_bn_35), (3, 2, 1));
        assert_eq!(st.frequency_boost(), 100.0);
        assert_eq!(
            (st.mtf_elite, st.mtf_standard, st.gamma_peak, st.f_above_1, st.f_below_1),
            (1, 1, 1, 1, 1)
        );
        st.record_reject(RejectReason::ZoneFar);
        st.record_entry(
            Tier::GammaOptimized,
            Source::GammaCycleOptimized,
            Regime::StrongTrendBullish,
            Direction::Long,
            1,
            SessionPhase::Morning,
        );
        st.record_exit();
        st.record_executed(Tier::GammaOptimized);
        assert_eq!((st.generated(), st.executed(), st.gamma_optimized), (1, 1, 1));
        let csv = st.to_csv();
        assert!(csv.contains("reject,ZoneFar,1\n"));
        assert!(csv.contains("tier,GAMMA_OPTIMIZED,1\n"));
        assert!(csv.contains("regime,STRONG_TREND_BULLISH,1\n"));
        assert!(csv.contains("phase,Morning,1\n"));
        assert!(csv.contains("kind,EXIT,1\n"));
        assert!(csv.contains("elite,frequency_boost_pct,100.0000\n"));
        assert!(csv.contains("setup,RANGE:WEAK_BOUNCE,0\n") && !csv.contains("TREND:WEAK_BOUNCE"));
        assert_eq!(EngineStats::default().frequency_boost(), 0.0);
    }
}
