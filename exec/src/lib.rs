//! # mia-exec
//!
//! Execution for MIA: the last hot stage and everything under it.
//!
//! - [`exec_stage`]: [`ExecStage<V>`](exec_stage::ExecStage), signals → brackets (or a target
//!   position) → orders through the order manager and risk → the venue `V`, fills → position;
//! - [`oms`]: the [`OrderManager`](oms::OrderManager): the order state machine, brackets with
//!   OCO children, client order ids unique across restarts ([`IdGen`](oms::IdGen)), idempotent
//!   report handling, in fixed memory;
//! - [`risk`]: the pre-trade [`RiskManager`](risk::RiskManager) and
//!   [`Approved`](risk::Approved), the only way to make an order a venue accepts: reason-coded
//!   checks, the Active / Reducing / Halted states, the kill switch and fractional-Kelly sizing
//!   (`docs/risk.md`);
//! - [`kill`]: cold-side kill-switch building blocks (kill file, SIGUSR1/SIGTERM flag);
//! - [`venue`]: the [`Venue`](venue::Venue) seam and [`LiveVenue`](venue::LiveVenue) (an
//!   edge thread's orders out, sequenced reports in);
//! - [`sim`]: [`SimVenue`](sim::SimVenue), a venue that keeps its own L2 book replica from
//!   market events and fills orders in event time (order latency from the latency model,
//!   market orders walking the book, limit orders resting with an L2 queue position and filled
//!   at their price or by trade-through prints, stops and stop-limits triggered by prints, IOC
//!   and DAY, modify and cancel, tiered fees), allocation-free after construction;
//! - [`position`]: [`Position`](position::Position) (signed quantity, average entry, realized /
//!   unrealized P&L in nano-USD, fees) and [`RoundTrip`](position::RoundTrip) trade records
//!   with a preallocated [`TradeRing`](position::TradeRing) and CSV output;
//! - [`fees`]: the tiered fee schedule ([`FeeSchedule`](fees::FeeSchedule),
//!   [`FeeMeter`](fees::FeeMeter)) and nano-USD conversions;
//! - [`queue`]: queue-position models for resting limit orders: L2 risk-averse and
//!   probabilistic ([`QueueModel`](queue::QueueModel)) and L3 FIFO from MBO
//!   ([`L3Queue`](queue::l3::L3Queue));
//! - [`latency_model`]: order-entry latency (constant + seeded jitter, replayed intervals) and
//!   the feed's exchange-time clock.
//!
//! Money is `i64` nano-USD (1e-9 USD) throughout, like [`mia_model::msg::Fill::fee`]. The fill
//! model and its biases are described in `docs/execution.md`.
#![forbid(unsafe_code)]

pub mod exec_stage;
pub mod fees;
pub mod kill;
pub mod latency_model;
pub mod oms;
pub mod position;
pub mod queue;
pub mod risk;
pub mod sim;
pub mod venue;
