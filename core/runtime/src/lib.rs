//! # mia-runtime
//!
//! Running stages: the [`stage::Stage`] API, event [`source`]s, the [`sequencer`] that gives
//! every decision input its `seq`, the inline and threaded [`pipeline`] runners with their taps,
//! the cold → hot [`sync::SeqCell`], the latency [`clock`] and histograms, the decision
//! [`digest`], the [`metrics::LiveMetrics`] cells the monitor reads, the counting allocator used to prove "no allocation", and [`secret::Secret`].
//!
//! `unsafe` lives in two places only, each with its `// SAFETY:` argument: `clock` (`rdtsc`)
//! and `alloc_count` (the `GlobalAlloc` forwarding).

pub mod alloc_count;
pub mod clock;
pub mod digest;
pub mod latency;
pub mod metrics;
pub mod pipeline;
pub mod secret;
pub mod sequencer;
pub mod source;
pub mod stage;
pub mod sync;
