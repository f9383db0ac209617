//! The signal engine (SIGNALS.md §3–§13): the bar-close analytics between the market state and
//! the strategies — Battle Navale and the bar patterns, the elite patterns, price levels and
//! confluence zones, MTF confluence, the regime detector. Everything here is evaluated at bar
//! closes on completed bars of [`crate::market::bars::BarRing`] (plus O(1) per-trade updates
//! of the levels), with fixed-size state allocated at construction; each module is configured
//! by its own `[signal.*]` section with a `validate()`. Inputs owned by other modules (gamma
//! levels, zones, OBI) are explicit arguments.

pub mod bar_patterns;
pub mod battle_navale;
pub mod levels;
pub mod mtf;
pub mod patterns;
pub mod regime;
pub mod zones;
