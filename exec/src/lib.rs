//! # mia-exec
//!
//! Execution for MIA: the simulated exchange used by backtests and paper trading, and position
//! / P&L accounting from fills.
//!
//! - [`sim`]: [`SimExchange`], a venue that keeps its own L2 book replica from market events
//!   and fills orders in event time (order latency, market orders walking the book, limit orders
//!   resting and filled by trade-through prints, fees), allocation-free after construction;
//! - [`position`]: [`Position`] (signed quantity, average entry, realized / unrealized P&L in
//!   nano-USD, fees) and [`RoundTrip`] trade records with a preallocated [`TradeRing`] and CSV
//!   output;
//! - [`fees`]: commission schedule and nano-USD conversions.
//!
//! Money is `i64` nano-USD (1e-9 USD) throughout, like [`mia_model::msg::Fill::fee`]. The fill
//! model and its biases are described in `docs/execution.md`.

pub mod exec_stage;
pub mod fees;
pub mod position;
pub mod risk;
pub mod sim;

pub use exec_stage::{ExecCounters, ExecStage};
pub use position::{Position, RoundTrip, TradeRing};
pub use sim::{Expired, FillBuf, SimConfig, SimExchange, SimStats, SubmitError};
