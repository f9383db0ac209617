//! The random-entry baseline (`[signal] strategy = "random"`): at each close of the decision
//! timeframe during the regular session, with probability `entry_probability`, an entry in a
//! random direction (even odds) with a fixed bracket: a stop `stop_ticks` and a target
//! `target_ticks` from the bar's close, as a market order. It reads no feature: a strategy
//! with the same brackets and no information, the null a real strategy's edge is measured
//! against (docs/strategy.md, "Honest edge"). Seeded (SplitMix64 from `seed`), so a run is a
//! function of its input and config, like every other strategy.

use super::{DecisionContext, Strategy};
use crate::features::registry::FeatureSet;
use crate::market::bars::Timeframe;
use crate::market::Market;
use mia_model::features::FeatureVector;
use mia_model::msg::{Direction, Signal, SignalSource};
use mia_model::order::OrderType;
use mia_model::price::Px;
use mia_model::rng::SplitMix64;

/// ES tick.
const TICK: Px = 250_000_000;

/// `[signal.random]`.
#[derive(Clone, Copy, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RandomConfig {
    /// Generator seed.
    pub seed: u64,
    /// Probability of an entry at a decision close, in [0, 1].
    pub entry_probability: f64,
    /// Decision timeframe, minutes (1, 5, 15 or 60).
    pub timeframe_min: u64,
    /// Protective stop, ES ticks from the close (≥ 1).
    pub stop_ticks: u32,
    /// Profit target, ES ticks from the close (≥ 1).
    pub target_ticks: u32,
}

impl Default for RandomConfig {
    fn default() -> Self {
        Self { seed: 1, entry_probability: 0.1, timeframe_min: 5, stop_ticks: 8, target_ticks: 16 }
    }
}

/// The random-entry baseline.
#[derive(Clone, Debug)]
pub struct RandomStrategy {
    cfg: RandomConfig,
    tf: Timeframe,
    rng: SplitMix64,
    /// Entries emitted.
    pub entries: u64,
}

impl Strategy for RandomStrategy {
    type Config = RandomConfig;
    const ID: u8 = 3;

    fn new(cfg: &RandomConfig, _engine: &crate::strategy::registry::EngineConfig) -> Self {
        Self {
            cfg: *cfg,
            tf: Timeframe::from_minutes(cfg.timeframe_min).unwrap_or(Timeframe::M5),
            rng: SplitMix64::new(cfg.seed),
            entries: 0,
        }
    }

    fn validate(cfg: &RandomConfig) -> Result<(), String> {
        if !(0.0..=1.0).contains(&cfg.entry_probability) {
            return Err(format!("entry_probability: {} is outside [0, 1]", cfg.entry_probability));
        }
        if Timeframe::from_minutes(cfg.timeframe_min).is_none() {
            return Err(format!("timeframe_min: {} is not one of 1, 5, 15, 60", cfg.timeframe_min));
        }
        if cfg.stop_ticks == 0 || cfg.target_ticks == 0 {
            return Err("stop_ticks, target_ticks: must be at least 1".into());
        }
        Ok(())
    }

    fn decide(&mut self, _cx: &DecisionContext, _f: &FeatureVector) -> Option<Signal> {
        None
    }

    fn vetoed(&self) -> u64 {
        0
    }

    fn on_bar_close(
        &mut self,
        cx: &DecisionContext,
        m: &Market,
        _f: &FeatureSet,
        _v: &FeatureVector,
        tf: Timeframe,
    ) -> Option<Signal> {
        if tf != self.tf || !m.clock.rth {
            return None;
        }
        let close = m.bars.series(tf).ring.back(0)?.close;
        // Two draws per decision whatever the outcome, so the sequence of draws does not depend
        // on the market.
        let (u, side) = (self.rng.next_f64(), self.rng.next_u64() & 1);
        if u >= self.cfg.entry_probability {
            return None;
        }
        let dir = if side == 0 { Direction::Long } else { Direction::Short };
        if !cx.allow.allows(dir) {
            return None;
        }
        let s = if dir == Direction::Long { 1 } else { -1 };
        self.entries += 1;
        Some(Signal {
            seq: cx.seq,
            ts: cx.ts,
            entry: close,
            stop: close - s * i64::from(self.cfg.stop_ticks) * TICK,
            target: close + s * i64::from(self.cfg.target_ticks) * TICK,
            confidence: 0.5,
            size_hint: 1,
            direction: dir,
            entry_type: OrderType::Market,
            source: SignalSource { strategy: Self::ID, pattern: 0 },
            ..Signal::default()
        })
    }

    fn report(&self, r: &mut mia_runtime::stage::StageReport) {
        r.count("random.entries", self.entries);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_are_seeded_and_the_probability_holds() {
        let e = crate::strategy::registry::StrategiesConfig::default().engine(Default::default());
        let run = |seed: u64| {
            let mut s = RandomStrategy::new(
                &RandomConfig { seed, entry_probability: 0.25, ..Default::default() },
                &e,
            );
            (0..4000).map(|_| (s.rng.next_f64() < 0.25, s.rng.next_u64() & 1)).collect::<Vec<_>>()
        };
        let a = run(7);
        assert_eq!(a, run(7));
        assert_ne!(a, run(8));
        let hits = a.iter().filter(|x| x.0).count() as f64 / a.len() as f64;
        assert!((hits - 0.25).abs() < 0.03, "{hits}");
        let longs =
            a.iter().filter(|x| x.0 && x.1 == 0).count() as f64 / a.iter().filter(|x| x.0).count() as f64;
        assert!((longs - 0.5).abs() < 0.06, "{longs}");
    }

    #[test]
    fn config_is_validated() {
        let ok = RandomConfig::default();
        assert!(RandomStrategy::validate(&ok).is_ok());
        assert!(RandomStrategy::validate(&RandomConfig { entry_probability: 1.5, ..ok }).is_err());
        assert!(RandomStrategy::validate(&RandomConfig { timeframe_min: 7, ..ok }).is_err());
        assert!(RandomStrategy::validate(&RandomConfig { stop_ticks: 0, ..ok }).is_err());
    }
}
