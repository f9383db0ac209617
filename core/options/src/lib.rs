//! # mia-options
//!
//! Options analytics, pure math: Black–Scholes–Merton greeks and implied volatility (allocation-free),
//! the option-chain model, gamma-exposure levels, the SPX/VIX expiration calendar, the ES
//! mapping and the hot-path gamma snapshot ([`levels::GammaLevels`]).
//!
//! Data flow: a feed (Cboe CSV, IBKR chain, synthetic) builds a [`chain::Chain`]; a cold thread
//! runs [`chain::Chain::compute_model`] and [`gex::compute_levels`], converts the report with
//! [`gex::GexReport::to_gamma_levels`] and publishes it through the runtime's seqlock cell; the
//! hot path learns of each publication through a sequenced input and maps the levels to ES
//! prices with [`es_map`].
//! Conventions and sources: `docs/options.md`.
#![forbid(unsafe_code)]

pub mod bsm;
pub mod calendar;
pub mod chain;
pub mod es_map;
pub mod gex;
pub mod iv;
pub mod levels;
