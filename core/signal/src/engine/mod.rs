//! The signal engine (SIGNALS.md §3–§13): the bar-close analytics between the market state and
//! the order manager — Battle Navale and the bar patterns, the elite patterns, price levels and
//! confluence zones, MTF confluence, the regime detector, the trend and range strategies with
//! their selector, the signal generator (confidence, gates, tiers), the profiles, the size hint
//! and the stats tracker. Everything is evaluated at bar closes on completed bars of
//! [`crate::market::bars::BarRing`] (plus O(1) per-trade updates of the levels), with
//! fixed-size state allocated at construction; each module is configured by its own
//! `[signal.*]` section with a `validate()`. `crate::strategy::elite` assembles them.

pub mod bar_patterns;
pub mod battle_navale;
pub mod confidence;
pub mod confluence;
pub mod generator;
pub mod inputs;
pub mod levels;
pub mod mtf;
pub mod patterns;
pub mod profiles;
pub mod regime;
pub mod size;
pub mod stats;
pub mod strategies;
#[cfg(test)]
pub(crate) mod testkit;
pub mod types;
pub mod zones;
