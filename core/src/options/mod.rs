//! Options analytics: Black–Scholes–Merton greeks and implied volatility (allocation-free),
//! the option-chain model, gamma-exposure levels, the SPX/VIX expiration calendar, the ES
//! mapping and the hot-path gamma snapshot.
//!
//! Data flow: a feed (Cboe CSV, IBKR chain, synthetic) builds a [`chain::Chain`]; a cold thread
//! runs [`chain::Chain::compute_model`] and [`gex::compute_levels`], converts the report with
//! [`gex::GexReport::to_gamma_levels`] and publishes it in a [`snapshot::SnapshotCell`]; the hot
//! path reads it without waiting and maps it to ES prices with [`snapshot::GammaLevels::to_es`].
//! Conventions and sources: `docs/options.md`.

pub mod bsm;
pub mod calendar;
pub mod chain;
pub mod es_map;
pub mod gex;
pub mod iv;
pub mod snapshot;

pub use bsm::{BsmInputs, Greeks, OptionKind};
pub use chain::{Chain, ChainRow, ModelParams, Quote, Root, Settlement};
pub use gex::{compute_levels, GexConfig, GexReport};
pub use iv::{implied_vol, IvError};
pub use snapshot::{GammaLevels, LevelFlags, SnapshotCell};
