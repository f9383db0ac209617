//! # mia-core
//!
//! The allocation-free heart of MIA: the fixed-point data model, the L2 order book, the
//! incremental features, the signal and risk stages, the stage API with its inline and
//! threaded pipeline runners, the journal format, and the options math.
//!
//! Invariants kept by this crate:
//! - prices are `i64` in 1e-9 units ([`price::Px`]), timestamps `u64` ns since the UNIX epoch;
//! - every message that crosses a ring is `Copy` and fixed-size;
//! - decisions read event time only (never the wall clock), so inline and threaded runs of the
//!   same input produce the same decisions.

pub mod alloc_count;
pub mod book;
pub mod config;
pub mod contract;
pub mod digest;
pub mod event;
pub mod features;
pub mod fixed_vec;
pub mod gamma_gate;
pub mod journal;
pub mod latency;
pub mod market_stage;
pub mod mbo;
pub mod msg;
pub mod options;
pub mod pipeline;
pub mod price;
pub mod risk;
pub mod signal;
pub mod source;
pub mod stage;
pub mod time;
