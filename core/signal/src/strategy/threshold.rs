//! The first decision rule: a threshold signal on book imbalance and rolling delta, with
//! hysteresis and a cooldown, all in event time.
//!
//! State machine (`state` ∈ {Short, Flat, Long}):
//! - flat → long when `obi ≥ obi_entry` and `window_delta ≥ delta_entry`; → short on the
//!   mirror condition;
//! - long → flat when `obi ≤ −obi_exit` or `window_delta ≤ −delta_exit` (the flow turned);
//!   short → flat on the mirror condition; a flip goes through flat first;
//! - no state change within `cooldown_ms` of the previous one.
//!
//! A [`Signal`] is emitted on every state change; its `direction` is the new desired position
//! sign.

use super::{DecisionContext, Strategy};
use crate::gates::Allow;
use mia_model::features::{FeatureId, FeatureVector};
use mia_model::msg::{Direction, Signal, SignalSource};
use mia_model::price::Px;

/// Thresholds of the [`ThresholdStrategy`] (`[signal.threshold]`).
#[derive(Clone, Copy, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ThresholdConfig {
    /// Book imbalance needed to enter, in (0, 1].
    pub obi_entry: f64,
    /// Rolling delta (contracts) needed to enter.
    pub delta_entry: i64,
    /// Opposite imbalance that exits, in [0, 1].
    pub obi_exit: f64,
    /// Opposite rolling delta (contracts) that exits.
    pub delta_exit: i64,
    /// Minimum event time between two state changes, ms.
    pub cooldown_ms: u64,
}

impl Default for ThresholdConfig {
    fn default() -> Self {
        Self { obi_entry: 0.5, delta_entry: 150, obi_exit: 0.2, delta_exit: 40, cooldown_ms: 15_000 }
    }
}

/// The threshold rule on book imbalance and rolling delta.
#[derive(Clone, Debug)]
pub struct ThresholdStrategy {
    cfg: ThresholdConfig,
    state: Direction,
    last_change_ts: u64,
    /// Entries whose conditions held but that `Allow` vetoed.
    pub vetoed: u64,
}

impl ThresholdStrategy {
    /// A flat strategy with thresholds `cfg`.
    pub fn new(cfg: &ThresholdConfig) -> Self {
        Self { cfg: *cfg, state: Direction::Flat, last_change_ts: 0, vetoed: 0 }
    }

    /// Current desired direction.
    pub fn state(&self) -> Direction {
        self.state
    }

    /// Evaluates at event time `ts` (ns); returns a signal when the state changes. Entries not
    /// in `allow` are vetoed (counted in [`ThresholdStrategy::vetoed`]).
    #[inline]
    pub fn evaluate(
        &mut self,
        seq: u64,
        ts: u64,
        ref_price: Px,
        obi: f64,
        window_delta: i64,
        allow: Allow,
    ) -> Option<Signal> {
        use Direction::{Flat, Long, Short};
        if self.last_change_ts != 0 && ts < self.last_change_ts + self.cfg.cooldown_ms * 1_000_000 {
            return None;
        }
        let c = &self.cfg;
        let next = match self.state {
            Flat if obi >= c.obi_entry && window_delta >= c.delta_entry => Long,
            Flat if obi <= -c.obi_entry && window_delta <= -c.delta_entry => Short,
            Long if obi <= -c.obi_exit || window_delta <= -c.delta_exit => Flat,
            Short if obi >= c.obi_exit || window_delta >= c.delta_exit => Flat,
            s => s,
        };
        if next == self.state {
            return None;
        }
        if self.state == Flat && ((next == Long && !allow.long) || (next == Short && !allow.short)) {
            self.vetoed += 1;
            return None;
        }
        self.state = next;
        self.last_change_ts = ts;
        let confidence = if next == Flat { 0.0 } else { (obi.abs().min(1.0)) as f32 };
        Some(Signal {
            seq,
            ts,
            entry: ref_price,
            confidence,
            direction: next,
            source: SignalSource { strategy: <Self as Strategy>::ID, pattern: 0 },
            ..Signal::default()
        })
    }
}

impl Strategy for ThresholdStrategy {
    type Config = ThresholdConfig;
    const ID: u8 = 1;

    fn new(cfg: &ThresholdConfig, _engine: &crate::strategy::registry::EngineConfig) -> Self {
        ThresholdStrategy::new(cfg)
    }

    fn validate(cfg: &ThresholdConfig) -> Result<(), String> {
        if !(cfg.obi_entry > 0.0 && cfg.obi_entry <= 1.0) {
            return Err(format!("obi_entry: {} is outside (0, 1]", cfg.obi_entry));
        }
        if !(0.0..=1.0).contains(&cfg.obi_exit) {
            return Err(format!("obi_exit: {} is outside [0, 1]", cfg.obi_exit));
        }
        Ok(())
    }

    /// Reads feature 1 (book imbalance) and feature 3 (rolling delta); an invalid one counts
    /// as 0 (no signal from it).
    #[inline]
    fn decide(&mut self, cx: &DecisionContext, f: &FeatureVector) -> Option<Signal> {
        let obi = f64::from(f.get(FeatureId::BookImbalance).unwrap_or(0.0));
        let delta = f.get(FeatureId::Delta).unwrap_or(0.0) as i64;
        self.evaluate(cx.seq, cx.ts, cx.ref_price, obi, delta, cx.allow)
    }

    fn vetoed(&self) -> u64 {
        self.vetoed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    #[test]
    fn enters_exits_with_cooldown() {
        let cfg = ThresholdConfig {
            obi_entry: 0.5,
            delta_entry: 10,
            obi_exit: 0.2,
            delta_exit: 5,
            cooldown_ms: 1000,
        };
        let mut s = ThresholdStrategy::new(&cfg);
        assert!(s.evaluate(1, 10 * S, 0, 0.6, 5, Allow::ALL).is_none(), "delta below entry");
        let sig = s.evaluate(2, 10 * S, 7, 0.6, 12, Allow::ALL).expect("long entry");
        assert_eq!((sig.direction, sig.seq, sig.entry), (Direction::Long, 2, 7));
        // exit condition inside cooldown: ignored
        assert!(s.evaluate(3, 10 * S + S / 2, 0, -0.3, 0, Allow::ALL).is_none());
        let exit = s.evaluate(4, 11 * S, 0, -0.3, 0, Allow::ALL).expect("exit after cooldown");
        assert_eq!(exit.direction, Direction::Flat);
        assert_eq!(exit.confidence, 0.0);
        // short entry needs both conditions
        assert!(s.evaluate(5, 13 * S, 0, -0.6, -3, Allow::ALL).is_none());
        let no_short = Allow { long: true, short: false };
        assert!(s.evaluate(6, 13 * S, 0, -0.6, -10, no_short).is_none(), "vetoed");
        assert_eq!(s.vetoed, 1);
        assert_eq!(
            s.evaluate(7, 13 * S, 0, -0.6, -10, Allow::ALL).map(|x| x.direction),
            Some(Direction::Short)
        );
        assert_eq!(s.state(), Direction::Short);
        // exits are never vetoed
        let none = Allow { long: false, short: false };
        assert_eq!(s.evaluate(8, 20 * S, 0, 0.5, 0, none).map(|x| x.direction), Some(Direction::Flat));
    }
}
