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
//! sign. With `stop_points` and `target_points` set (the default), an entry carries a
//! protective stop and a profit target that far from the reference price, so the exec stage
//! trades it as a bracket through the order manager; an exit signal still ends the bracket
//! early. With both 0 the entry is a plain target position.

use super::{DecisionContext, Strategy};
use crate::gates::Allow;
use mia_model::features::{FeatureId, FeatureVector};
use mia_model::msg::{Direction, Signal, SignalSource};
use mia_model::price::{Px, PRICE_SCALE, UNDEF_PX};

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
    /// Protective stop distance from the reference price, index points (0 with
    /// `target_points = 0`: no bracket).
    pub stop_points: f64,
    /// Profit target distance from the reference price, index points.
    pub target_points: f64,
}

impl Default for ThresholdConfig {
    fn default() -> Self {
        Self {
            obi_entry: 0.5,
            delta_entry: 150,
            obi_exit: 0.2,
            delta_exit: 40,
            cooldown_ms: 15_000,
            stop_points: 2.0,
            target_points: 3.0,
        }
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
    stop_px: Px,
    target_px: Px,
}

impl ThresholdStrategy {
    /// A flat strategy with thresholds `cfg`.
    pub fn new(cfg: &ThresholdConfig) -> Self {
        let px = |points: f64| (points * PRICE_SCALE as f64).round() as Px;
        Self {
            cfg: *cfg,
            state: Direction::Flat,
            last_change_ts: 0,
            vetoed: 0,
            stop_px: px(cfg.stop_points),
            target_px: px(cfg.target_points),
        }
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
        let (stop, target) = match next {
            Flat => (UNDEF_PX, UNDEF_PX),
            _ if self.stop_px <= 0 || self.target_px <= 0 || ref_price <= 0 => (UNDEF_PX, UNDEF_PX),
            d => {
                let s = if d == Long { 1 } else { -1 };
                (ref_price - s * self.stop_px, ref_price + s * self.target_px)
            }
        };
        Some(Signal {
            seq,
            ts,
            entry: ref_price,
            stop,
            target,
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
        for (k, v) in [("stop_points", cfg.stop_points), ("target_points", cfg.target_points)] {
            if !(v.is_finite() && (0.0..=500.0).contains(&v)) {
                return Err(format!("{k}: {v} is outside [0, 500]"));
            }
        }
        if (cfg.stop_points == 0.0) != (cfg.target_points == 0.0) {
            return Err("stop_points, target_points: set both (a bracket) or neither".into());
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
            stop_points: 0.0,
            target_points: 0.0,
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

    #[test]
    fn entries_carry_a_bracket_and_exits_do_not() {
        let cfg =
            ThresholdConfig { delta_entry: 10, delta_exit: 5, cooldown_ms: 0, ..ThresholdConfig::default() };
        let mut s = ThresholdStrategy::new(&cfg);
        let p = 4_000 * PRICE_SCALE;
        let long = s.evaluate(1, 10 * S, p, 0.6, 12, Allow::ALL).expect("long");
        assert_eq!((long.stop, long.target), (p - 2 * PRICE_SCALE, p + 3 * PRICE_SCALE));
        let flat = s.evaluate(2, 11 * S, p, -0.3, 0, Allow::ALL).expect("exit");
        assert_eq!((flat.stop, flat.target), (UNDEF_PX, UNDEF_PX));
        let short = s.evaluate(3, 12 * S, p, -0.6, -12, Allow::ALL).expect("short");
        assert_eq!((short.stop, short.target), (p + 2 * PRICE_SCALE, p - 3 * PRICE_SCALE));
        let bad = ThresholdConfig { stop_points: 2.0, target_points: 0.0, ..ThresholdConfig::default() };
        assert!(<ThresholdStrategy as Strategy>::validate(&bad).is_err_and(|e| e.contains("target_points")));
    }
}
