//! The signal engine's bar-close modules (SIGNALS.md §3–§11): price levels and confluence
//! zones, MTF confluence and the market regime detector, among others. Each reads the shared
//! market state and the features, keeps its state in fixed arrays sized by compile-time caps,
//! and is configured by its own `[signal.*]` section with a `validate()`.

pub mod levels;
pub mod mtf;
pub mod regime;
pub mod zones;
