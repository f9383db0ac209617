//! Order vocabulary: the side of an order, its type, its time in force, the action of an
//! order request, and the direction a strategy wants.
//!
//! [`OrderSide`] is separate from the book/aggressor [`Side`](crate::event::Side): an order is
//! always a buy or a sell, so "no side" cannot be expressed (NautilusTrader keeps the same
//! split). Its wire bytes equal `Side::Bid`/`Side::Ask` (1, 2).

/// Buy or sell.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum OrderSide {
    /// Buy (lifts the ask).
    #[default]
    Buy = 1,
    /// Sell (hits the bid).
    Sell = 2,
}

impl OrderSide {
    /// Decodes the wire byte, `None` if it is not 1 or 2.
    #[inline]
    pub fn from_u8(v: u8) -> Option<Self> {
        match v {
            1 => Some(Self::Buy),
            2 => Some(Self::Sell),
            _ => None,
        }
    }

    /// The side that changes a position by the sign of `signed_qty` (`None` for 0).
    #[inline]
    pub fn of_signed(signed_qty: i64) -> Option<Self> {
        match signed_qty.signum() {
            1 => Some(Self::Buy),
            -1 => Some(Self::Sell),
            _ => None,
        }
    }

    /// The book side this order takes liquidity from (a buy lifts the ask).
    #[inline]
    pub fn book_side_hit(self) -> crate::event::Side {
        match self {
            Self::Buy => crate::event::Side::Ask,
            Self::Sell => crate::event::Side::Bid,
        }
    }

    /// +1 for a buy, −1 for a sell.
    #[inline]
    pub fn sign(self) -> i64 {
        match self {
            Self::Buy => 1,
            Self::Sell => -1,
        }
    }
}

/// Order type of an [`OrderIntent`](crate::msg::OrderIntent).
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum OrderType {
    /// Executes against the book at any price.
    #[default]
    Market = 1,
    /// Executes at `price` or better.
    Limit = 2,
    /// Rests untriggered until a trade prints at or through `trigger` (a buy stop: a print
    /// ≥ trigger; a sell stop: a print ≤ trigger), then executes as a market order.
    Stop = 3,
    /// Like [`OrderType::Stop`], but once triggered it becomes a limit order at `price`.
    StopLimit = 4,
}

impl OrderType {
    /// Decodes the wire byte.
    #[inline]
    pub fn from_u8(v: u8) -> Option<Self> {
        match v {
            1 => Some(Self::Market),
            2 => Some(Self::Limit),
            3 => Some(Self::Stop),
            4 => Some(Self::StopLimit),
            _ => None,
        }
    }

    /// True for the types that carry a limit price (`Limit`, `StopLimit`).
    #[inline]
    pub fn has_limit(self) -> bool {
        matches!(self, Self::Limit | Self::StopLimit)
    }

    /// True for the types that carry a trigger price (`Stop`, `StopLimit`).
    #[inline]
    pub fn has_trigger(self) -> bool {
        matches!(self, Self::Stop | Self::StopLimit)
    }
}

/// Time in force of an order.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum TimeInForce {
    /// Until the end of the trading session (16:00 CT for CME ES), then expired.
    #[default]
    Day = 1,
    /// Good till cancelled.
    Gtc = 2,
    /// Immediate or cancel: what does not execute on arrival (or, for a stop, on its trigger)
    /// is expired at once.
    Ioc = 3,
}

impl TimeInForce {
    /// Decodes the wire byte.
    #[inline]
    pub fn from_u8(v: u8) -> Option<Self> {
        match v {
            1 => Some(Self::Day),
            2 => Some(Self::Gtc),
            3 => Some(Self::Ioc),
            _ => None,
        }
    }
}

/// What an [`OrderIntent`](crate::msg::OrderIntent) asks of the venue.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum OrderAction {
    /// A new order.
    #[default]
    New = 1,
    /// Replace the price, trigger and total quantity of the working order with this
    /// `client_order_id` (the new total quantity includes what is already filled).
    Modify = 2,
    /// Cancel the working order with this `client_order_id`.
    Cancel = 3,
}

impl OrderAction {
    /// Decodes the wire byte.
    #[inline]
    pub fn from_u8(v: u8) -> Option<Self> {
        match v {
            1 => Some(Self::New),
            2 => Some(Self::Modify),
            3 => Some(Self::Cancel),
            _ => None,
        }
    }
}

/// The position a strategy wants: long, short or flat.
#[repr(i8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Direction {
    /// No position.
    #[default]
    Flat = 0,
    /// A long position.
    Long = 1,
    /// A short position.
    Short = -1,
}

impl Direction {
    /// +1, −1 or 0.
    #[inline]
    pub fn sign(self) -> i64 {
        self as i8 as i64
    }

    /// Decodes the wire byte (the `i8` value as a `u8`).
    #[inline]
    pub fn from_u8(v: u8) -> Option<Self> {
        match v as i8 {
            0 => Some(Self::Flat),
            1 => Some(Self::Long),
            -1 => Some(Self::Short),
            _ => None,
        }
    }
}
