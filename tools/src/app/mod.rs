//! The one assembly: config → source, stages, venue, cold threads and artefacts. The `mia`
//! binary, the tests and the benches all build a session through here.

pub mod config;
