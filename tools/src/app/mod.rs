//! The one assembly: config → source, stages, venue, cold threads and artefacts. The `mia`
//! binary, the tests and the benches all build a session through here.
//!
//! - [`config`]: the aggregate `Config` (each section owned and validated by its crate);
//! - [`input`]: inputs, how to open them, and the chain beside them;
//! - [`gamma`]: the options cold thread;
//! - [`stages`]: `build_stages`, the one place the decision path is built;
//! - [`session`]: `prepare` → `execute` → `collect`;
//! - [`summary`]: the summary and the artefacts.

pub mod config;
pub mod gamma;
pub mod input;
pub mod session;
pub mod stages;
pub mod summary;
