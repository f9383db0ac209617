//! The one assembly: config → source, stages, venue, cold threads and artefacts. The `mia`
//! binary, the tests and the benches all build a session through here.
//!
//! - [`check`]: `mia check`, the pre-flight table;
//! - [`config`]: the aggregate `Config` (each section owned and validated by its crate);
//! - [`input`]: inputs, how to open them, and the chain beside them;
//! - [`gamma`]: the options cold thread;
//! - [`episodes`]: `mia episodes`, the detectors against planted, labelled episodes;
//! - [`control`]: the kill switch's cold side (control thread, scheduled controls, `mia kill`);
//! - [`stages`]: `build_stages`, the one place the decision path is built;
//! - [`session`]: `prepare` → `execute` → `collect`;
//! - [`live`]: paper, live and collect sessions (source × venue, the live guard, Ctrl-C);
//! - [`startup`]: `mia live`'s start-up reconciliation (any broker: refuse, or cancel + adopt);
//! - [`summary`]: the summary and the artefacts.

pub mod check;
pub mod config;
pub mod control;
pub mod episodes;
pub mod gamma;
pub mod input;
pub mod live;
pub mod secrets;
pub mod session;
pub mod stages;
pub mod startup;
pub mod summary;
pub mod trade_snapshots;
