//! Messages that travel between stages: market events, signals, order intents and fills,
//! wrapped in an [`Envelope`] that carries the decode instant used for latency measurement.

use crate::event::{Event, Side};
use crate::price::Px;

/// Order type of an [`OrderIntent`].
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum OrderType {
    /// Executes against the book at any price.
    #[default]
    Market = 1,
    /// Executes at `price` or better.
    Limit = 2,
}

/// A trading signal produced by the strategy stage from features, before risk.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct Signal {
    /// Sequence number of the event that produced the signal.
    pub seq: u64,
    /// Event time of that event (ns).
    pub ts: u64,
    /// Reference price (mid or last) when the signal fired.
    pub ref_price: Px,
    /// Desired position direction: +1 long, −1 short, 0 flat.
    pub direction: i8,
    /// Signal strength in [0, 1].
    pub strength: f32,
    /// Book imbalance that fired it.
    pub obi: f32,
    /// Rolling-window delta that fired it.
    pub window_delta: i64,
}

/// An order the risk stage approved, to be sent to the venue.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct OrderIntent {
    /// Client order id, unique within a run.
    pub client_order_id: u64,
    /// Sequence number of the event that caused the intent.
    pub seq: u64,
    /// Event time of the decision (ns).
    pub ts: u64,
    /// Limit price (ignored for market orders).
    pub price: Px,
    /// Quantity in contracts (> 0).
    pub qty: u32,
    /// Instrument.
    pub instrument_id: u32,
    /// `Bid` = buy, `Ask` = sell.
    pub side: Side,
    /// Market or limit.
    pub order_type: OrderType,
}

/// A (partial) execution reported by the venue.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Fill {
    /// Client order id of the filled order.
    pub client_order_id: u64,
    /// Sequence number of the market event at which the fill happened.
    pub seq: u64,
    /// Event time of the fill (ns).
    pub ts: u64,
    /// Execution price.
    pub price: Px,
    /// Commission and fees for this fill, in 1e-9 USD.
    pub fee: i64,
    /// Filled quantity.
    pub qty: u32,
    /// `Bid` = bought, `Ask` = sold.
    pub side: Side,
    /// True when the order has no quantity left.
    pub done: bool,
}

/// A stage message.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Msg {
    /// A normalized market event.
    Market(Event),
    /// A strategy signal (before risk).
    Signal(Signal),
    /// An order approved by risk.
    Intent(OrderIntent),
    /// An execution.
    Fill(Fill),
}

/// What crosses a ring: a message plus the monotonic instant (clock ticks, see
/// [`crate::time::Clock`]) when its originating event was decoded. `t0` is for latency
/// measurement only and never enters a decision.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Envelope {
    /// Decode instant of the originating event, in clock ticks (0 when not sampled).
    pub t0: u64,
    /// The message.
    pub msg: Msg,
}

impl crate::fixed_vec::Blank for Envelope {
    const BLANK: Envelope = Envelope { t0: 0, msg: Msg::Market(<Event as crate::fixed_vec::Blank>::BLANK) };
}

const _: () = assert!(core::mem::size_of::<Signal>() <= 64);
const _: () = assert!(core::mem::size_of::<OrderIntent>() <= 64);
const _: () = assert!(core::mem::size_of::<Fill>() <= 64);
const _: () = assert!(core::mem::size_of::<Envelope>() <= 80);
