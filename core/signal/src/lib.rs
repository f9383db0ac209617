//! # mia-signal
//!
//! The decision path up to a [`mia_model::msg::Signal`]: data sanity, the book, the feature
//! set behind the [`features::Feature`] seam, the gates, and the strategies behind the
//! [`strategy::Strategy`] seam, all run by the [`stage::SignalStage`].
#![forbid(unsafe_code)]

pub mod engine;
pub mod features;
pub mod gamma_cycle;
pub mod gates;
pub mod market;
pub mod sanity;
pub mod session;
pub mod stage;
pub mod strategy;
