//! The signal engine (SIGNALS.md §3 onwards): the bar-close analytics that sit between the
//! market state and the strategies. Everything here is evaluated at bar closes, on completed
//! bars of [`crate::market::bars::BarRing`], with fixed-size state allocated at construction;
//! inputs owned by other modules (gamma levels, zones, OBI) are explicit arguments.

pub mod bar_patterns;
pub mod battle_navale;
pub mod patterns;
