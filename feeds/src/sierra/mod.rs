//! Sierra Chart: its intraday data files (`.scid`, read whole or followed while Sierra Chart
//! appends), its market-depth recording files (`.depth`), and the DTC protocol (codecs, the
//! client edge thread, a scripted fake server for tests). See `docs/sierra.md`.
//!
//! Everything here is safe Rust: records and messages are decoded with `from_le_bytes` at
//! documented offsets, bounded by the bytes actually present.
#![forbid(unsafe_code)]

pub mod depth;
pub mod dtc;
pub mod ladder;
pub mod merge;
mod records;
pub mod scid;
pub mod scid_follow;
