//! # mia-model
//!
//! The vocabulary every other crate speaks: fixed-point prices, event time, contracts, the
//! hot-path market [`event::Event`], the stage messages ([`msg`]), the L2 and MBO books, and
//! the fixed-capacity buffers they live in. No threads, no I/O, no `unsafe`.
//!
//! Invariants kept by this crate:
//! - prices are `i64` in 1e-9 units ([`price::Px`]), timestamps `u64` ns since the UNIX epoch;
//! - every message that crosses a ring is `Copy` and fixed-size;
//! - nothing here reads a clock: decisions read event time only.
#![forbid(unsafe_code)]

pub mod bar;
pub mod book;
pub mod contract;
pub mod event;
pub mod feature_stats;
pub mod features;
pub mod fixed_vec;
pub mod id_map;
pub mod money;
pub mod msg;
pub mod order;
pub mod price;
pub mod rng;
pub mod time;
pub mod words;
