//! MIA market-data sources: DBN files (all book schemas) normalized to `Event`s, the synthetic
//! ES/SPX market, Cboe option chains, the journal, and the Interactive Brokers edge (`ibkr`:
//! live market data, orders and the SPX chain through `ibapi`).

pub(crate) mod backoff;
pub mod cboe;
pub mod dbn_source;
pub mod dbn_write;
pub mod ibkr;
pub mod journal_source;
pub mod normalize;
pub mod sierra;
pub mod synth;
pub mod synth_chain;
pub mod synth_mbo;
