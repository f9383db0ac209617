//! # mia-tools
//!
//! The `mia` command-line binary and the pieces it is made of: session assembly (source →
//! stages → sink, journal, reports), the counting allocator, monitoring, and the subcommands.

pub mod alloc;
pub mod app;
pub mod backup;
pub mod features_export;
pub mod gex;
pub mod ml;
pub mod monitor;
pub mod report;
