//! The signal engine of SIGNALS.md §10–13: strategies and the selector, the signal generator
//! (confidence, gates, tiers), the profiles, the position-size hint and the stats tracker.

pub mod confidence;
pub mod generator;
pub mod inputs;
pub mod profiles;
pub mod regime_kind;
pub mod size;
pub mod stats;
pub mod strategies;
#[cfg(test)]
pub(crate) mod testkit;
pub mod types;
