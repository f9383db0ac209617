//! F16, session phase (SIGNALS.md §2 F16): the code 0…6 of the Chicago phase of event time
//! (overnight, pre-open, open drive, morning, lunch, afternoon, close), from the shared
//! [`crate::market::clock::SessionClock`]; always valid once an event has been seen.
//! `[features.session] mult` holds the per-phase signal multipliers (the seed's
//! session_optimizer values moved from ET to CT); the selector of the signal engine reads them.

use super::Feature;
use crate::market::clock::SessionPhase;
use crate::market::Market;
use mia_model::features::{FeatureId, FeatureVector};

/// Per-phase multipliers.
#[derive(Clone, Copy, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PhaseMultipliers {
    /// Overnight.
    pub overnight: f64,
    /// Pre-open.
    pub pre_open: f64,
    /// Open drive.
    pub open_drive: f64,
    /// Morning.
    pub morning: f64,
    /// Lunch.
    pub lunch: f64,
    /// Afternoon.
    pub afternoon: f64,
    /// Close.
    pub close: f64,
}

impl Default for PhaseMultipliers {
    fn default() -> Self {
        Self {
            overnight: 0.5,
            pre_open: 1.0,
            open_drive: 1.2,
            morning: 1.2,
            lunch: 0.7,
            afternoon: 1.2,
            close: 1.2,
        }
    }
}

impl PhaseMultipliers {
    /// The multiplier of `p`.
    pub fn of(&self, p: SessionPhase) -> f64 {
        match p {
            SessionPhase::Overnight => self.overnight,
            SessionPhase::PreOpen => self.pre_open,
            SessionPhase::OpenDrive => self.open_drive,
            SessionPhase::Morning => self.morning,
            SessionPhase::Lunch => self.lunch,
            SessionPhase::Afternoon => self.afternoon,
            SessionPhase::Close => self.close,
        }
    }
}

/// `[features.session]`.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionPhaseConfig {
    /// Multipliers per phase.
    pub mult: PhaseMultipliers,
}

/// F16.
#[derive(Clone, Debug)]
pub struct SessionPhaseFeature {
    mult: PhaseMultipliers,
}

impl SessionPhaseFeature {
    /// The multiplier of the phase `m` is in.
    pub fn multiplier(&self, m: &Market) -> f64 {
        self.mult.of(m.clock.phase)
    }
}

impl Feature for SessionPhaseFeature {
    type Config = SessionPhaseConfig;

    fn new(cfg: &SessionPhaseConfig, _tick: i64) -> Self {
        Self { mult: cfg.mult }
    }

    fn validate(cfg: &SessionPhaseConfig) -> Result<(), String> {
        let m = cfg.mult;
        for (k, v) in [
            ("overnight", m.overnight),
            ("pre_open", m.pre_open),
            ("open_drive", m.open_drive),
            ("morning", m.morning),
            ("lunch", m.lunch),
            ("afternoon", m.afternoon),
            ("close", m.close),
        ] {
            if !(0.0..=10.0).contains(&v) {
                return Err(format!("mult.{k}: {v} outside 0..=10"));
            }
        }
        Ok(())
    }

    fn on_phase(&mut self, m: &Market, out: &mut FeatureVector) {
        out.set(FeatureId::SessionPhase, m.clock.phase as u8 as f32);
    }
}
