//! Messages that travel between stages, wrapped in an [`Envelope`] that carries the decode
//! instant used for latency measurement.
//!
//! Inputs (they enter through the sequencer, which assigns their `seq`, and are journaled by
//! the input tap): [`Msg::Market`], [`Msg::Exec`] (reports from a venue on another thread) and
//! [`Msg::Control`] (kill switch, flatten, gamma publications, timers). Outputs of the stages:
//! [`Msg::Signal`], [`Msg::Intent`] and [`Msg::Fill`]. Every variant is `Copy` and fixed-size;
//! [`wire`] is their one byte encoding (journal and decision digest).

pub mod wire;

use crate::event::Event;
use crate::money::NanoUsd;
pub use crate::order::{Direction, OrderAction, OrderSide, OrderType, TimeInForce};
use crate::price::{Px, UNDEF_PX};

/// What produced a [`Signal`]: the strategy and, when one fired it, the pattern.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct SignalSource {
    /// Strategy id (the registry index of `mia_signal::strategy`; 1 = threshold).
    pub strategy: u8,
    /// Pattern id (SIGNALS.md §4: 1 base break … 6 liquidity sweep; 0 = none).
    pub pattern: u8,
}

/// A trading decision produced by the signal stage, before risk. It carries no feature
/// values: features are journaled by their own tap, decisions are what risk needs.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Signal {
    /// Sequence number of the input that produced the signal.
    pub seq: u64,
    /// Event time of that input (ns).
    pub ts: u64,
    /// Entry (reference) price: the mid or last trade when the signal fired.
    pub entry: Px,
    /// Protective stop, [`UNDEF_PX`] when the strategy sets none.
    pub stop: Px,
    /// Profit target, [`UNDEF_PX`] when the strategy sets none.
    pub target: Px,
    /// Confidence in [0, 1].
    pub confidence: f32,
    /// Contracts the strategy suggests; 0 = the configured order size.
    pub size_hint: u32,
    /// Desired position direction.
    pub direction: Direction,
    /// Quality tier code of the strategy: the signal engine's tier (SIGNALS.md §11:
    /// 0 ULTIMATE_ELITE … 9 REJECTED); strategies without tiers leave it 0.
    pub tier: u8,
    /// Who produced it.
    pub source: SignalSource,
    /// How a bracket signal (one with `stop` and `target`) enters: `Market`, or `Limit` at
    /// `entry`. Other types enter at market.
    pub entry_type: OrderType,
}

impl Default for Signal {
    fn default() -> Self {
        Self {
            seq: 0,
            ts: 0,
            entry: 0,
            stop: UNDEF_PX,
            target: UNDEF_PX,
            confidence: 0.0,
            size_hint: 0,
            direction: Direction::Flat,
            tier: 0,
            source: SignalSource::default(),
            entry_type: OrderType::Market,
        }
    }
}

/// An order request sent to the venue: a new order or a modify (both approved by risk), or a
/// cancel (which takes no risk and needs no approval).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct OrderIntent {
    /// Client order id, unique across restarts; for a modify or a cancel, the id of the order
    /// it applies to.
    pub client_order_id: u64,
    /// Sequence number of the input that caused the intent.
    pub seq: u64,
    /// Event time of the decision (ns).
    pub ts: u64,
    /// Limit price (`Limit`, `StopLimit`; ignored otherwise).
    pub price: Px,
    /// Trigger price (`Stop`, `StopLimit`; ignored otherwise).
    pub trigger: Px,
    /// Quantity in contracts (> 0); for a modify, the new total quantity (filled included).
    pub qty: u32,
    /// Instrument.
    pub instrument_id: u32,
    /// Bracket link: the bracket's entry order is `client_order_id − link` (0 = not a bracket
    /// child). The children of one entry form one OCO group.
    pub link: u16,
    /// On a bracket entry sent as a *native* bracket (a venue that holds the children itself,
    /// IBKR or DTC): the number of child intents that follow it in the same batch. The venue
    /// holds transmission until the last child arrives (IB `transmit = false` on the parent
    /// and all but the last child). 0 otherwise: the order stands alone, or its children come
    /// later (the simulator's brackets).
    pub children: u8,
    /// Buy or sell.
    pub side: OrderSide,
    /// Market, limit, stop or stop-limit.
    pub order_type: OrderType,
    /// Time in force.
    pub tif: TimeInForce,
    /// New, modify or cancel.
    pub action: OrderAction,
}

/// A (partial) execution.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Fill {
    /// Client order id of the filled order.
    pub client_order_id: u64,
    /// Sequence number of the input at which the fill happened.
    pub seq: u64,
    /// Event time of the fill (ns).
    pub ts: u64,
    /// Execution price.
    pub price: Px,
    /// Commission and fees for this fill, in 1e-9 USD.
    pub fee: NanoUsd,
    /// Filled quantity.
    pub qty: u32,
    /// Quantity of the order still working after this fill (a repeated report of the same
    /// fill has the same `leaves`, which makes fills idempotent).
    pub leaves: u32,
    /// Bought or sold.
    pub side: OrderSide,
    /// True when the order has no quantity left (filled, or its remainder expired).
    pub done: bool,
}

/// Kind of an [`ExecReport`].
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum ExecKind {
    /// The venue accepted the order.
    #[default]
    Accepted = 1,
    /// The venue refused the order.
    Rejected = 2,
    /// A (partial) fill: `price`, `qty`, `fee`, `leaves`.
    Filled = 3,
    /// The order was cancelled (`leaves` = quantity that will never fill).
    Cancelled = 4,
    /// The order expired unfilled (e.g. a market order that found no liquidity).
    Expired = 5,
    /// Not about an order (`client_order_id` 0): at start-up the broker holds a position this
    /// run did not open (a crashed earlier process, a manual trade): `qty` contracts on `side`
    /// at the average price `price`. The exec stage books it and flattens it.
    Adopted = 6,
}

impl ExecKind {
    /// Decodes the wire byte.
    #[inline]
    pub fn from_u8(v: u8) -> Option<Self> {
        match v {
            1 => Some(Self::Accepted),
            2 => Some(Self::Rejected),
            3 => Some(Self::Filled),
            4 => Some(Self::Cancelled),
            5 => Some(Self::Expired),
            6 => Some(Self::Adopted),
            _ => None,
        }
    }
}

/// An execution report from a venue that runs on another thread (a broker edge thread, or a
/// test venue). It enters the hot path through the sequencer like market data, so a journal
/// replay sees every report at the same point of the input stream.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct ExecReport {
    /// Client order id the report is about.
    pub client_order_id: u64,
    /// Sequence number (assigned by the sequencer).
    pub seq: u64,
    /// Event time (assigned by the sequencer: the latest market event time before it).
    pub ts: u64,
    /// Fill price (`Filled` only).
    pub price: Px,
    /// Fees of this fill, 1e-9 USD (`Filled` only).
    pub fee: NanoUsd,
    /// Filled quantity (`Filled`), or the quantity concerned.
    pub qty: u32,
    /// Quantity still working after this report.
    pub leaves: u32,
    /// Side of the order.
    pub side: OrderSide,
    /// What happened.
    pub kind: ExecKind,
    /// The venue's reason code for a `Rejected`, `Cancelled` or `Expired` report (an IB
    /// error code such as 201, a DTC reject mapped by the adapter); 0 = none or not given.
    pub reason: u16,
}

/// [`ExecReport::reason`] of a `Rejected` report whose venue edge could not reserve an order
/// id (the id high-water mark cannot be written, or the id space is exhausted): the edge can
/// send no new order at all, so the exec stage halts the session. Every broker edge uses this
/// one code for that condition.
pub const REASON_NO_ORDER_ID: u16 = u16::MAX;

/// Kind of a [`Control`] input.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum ControlKind {
    /// Kill switch: halt, flatten, refuse new risk until `Resume`.
    #[default]
    Kill = 1,
    /// Flatten the position now, then keep trading.
    Flatten = 2,
    /// Leave the kill-switch halt.
    Resume = 3,
    /// Gamma publication number `arg` becomes visible to the signal stage.
    GammaPublished = 4,
    /// Timer `arg` fired.
    Timer = 5,
    /// Stage to stage, never a sequenced input: the signal stage adopted a gamma snapshot
    /// computed at `arg` (ns; the opening one before input 0, or publication `n` at its
    /// `GammaPublished`), so the exec stage's risk manager can age it (`gamma_max_age_s`).
    GammaAdopted = 6,
    /// Model publication number `arg` (an ML filter hot-swap) becomes visible to the signal
    /// stage.
    ModelPublished = 7,
}

impl ControlKind {
    /// Decodes the wire byte.
    #[inline]
    pub fn from_u8(v: u8) -> Option<Self> {
        match v {
            1 => Some(Self::Kill),
            2 => Some(Self::Flatten),
            3 => Some(Self::Resume),
            4 => Some(Self::GammaPublished),
            5 => Some(Self::Timer),
            6 => Some(Self::GammaAdopted),
            7 => Some(Self::ModelPublished),
            _ => None,
        }
    }
}

/// A control input: operator commands, publications of cold-side state, timers.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Control {
    /// Sequence number (assigned by the sequencer).
    pub seq: u64,
    /// Event time (assigned by the sequencer: the latest market event time before it).
    pub ts: u64,
    /// Argument (publication number, timer id; 0 otherwise).
    pub arg: u64,
    /// What to do.
    pub kind: ControlKind,
}

/// A stage message.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Msg {
    /// A normalized market event (input).
    Market(Event),
    /// An execution report from a venue thread (input).
    Exec(ExecReport),
    /// A control input.
    Control(Control),
    /// A strategy signal (before risk).
    Signal(Signal),
    /// An order request (new and modify approved by risk, or a cancel).
    Intent(OrderIntent),
    /// An execution.
    Fill(Fill),
}

impl Msg {
    /// True for the kinds that enter through the sequencer (market, exec report, control).
    #[inline]
    pub fn is_input(&self) -> bool {
        matches!(self, Msg::Market(_) | Msg::Exec(_) | Msg::Control(_))
    }

    /// Sets the sequence number and event time of an input (the sequencer's stamp; market
    /// events keep their own time). Outputs are left alone.
    #[inline]
    pub fn stamp_input(&mut self, seq: u64, ts: u64) {
        match self {
            Msg::Market(e) => e.seq = seq,
            Msg::Exec(r) => {
                r.seq = seq;
                r.ts = ts;
            }
            Msg::Control(c) => {
                c.seq = seq;
                c.ts = ts;
            }
            Msg::Signal(_) | Msg::Intent(_) | Msg::Fill(_) => {}
        }
    }
}

/// What crosses a ring: a message plus the monotonic instant (clock ticks of the runtime's
/// latency clock) when its originating input was decoded. `t0` is for latency measurement
/// only and never enters a decision.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Envelope {
    /// Decode instant of the originating input, in clock ticks (0 when not sampled).
    pub t0: u64,
    /// The message.
    pub msg: Msg,
}

impl crate::fixed_vec::Blank for Envelope {
    const BLANK: Envelope = Envelope { t0: 0, msg: Msg::Market(<Event as crate::fixed_vec::Blank>::BLANK) };
}

const _: () = assert!(core::mem::size_of::<Signal>() <= 56);
const _: () = assert!(core::mem::size_of::<OrderIntent>() <= 56);
const _: () = assert!(core::mem::size_of::<Fill>() <= 56);
const _: () = assert!(core::mem::size_of::<ExecReport>() <= 56);
const _: () = assert!(core::mem::size_of::<Control>() <= 56);
const _: () = assert!(core::mem::size_of::<Msg>() == 64);
const _: () = assert!(core::mem::size_of::<Envelope>() == 72);
