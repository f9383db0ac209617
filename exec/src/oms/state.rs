//! The order state machine: eight states and the table of legal transitions.
//!
//! ```text
//! New ──► Submitted ──► Accepted ──► PartiallyFilled ──► Filled
//!  │          │             │               │  ▲ (more partial fills)
//!  │          │             │               └──┘
//!  ▼          ├──► PartiallyFilled / Filled (a fill implies acceptance)
//! Rejected ◄──┤
//!             └──► Cancelled / Expired ◄── Accepted, PartiallyFilled
//! ```
//!
//! `Filled`, `Cancelled`, `Rejected` and `Expired` are terminal. Anything not in
//! [`OrderState::can_become`] is illegal: the order manager refuses it, counts it and logs it.

/// State of one order.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum OrderState {
    /// Created by the order manager, not yet sent.
    #[default]
    New = 0,
    /// Sent to the venue (approved by risk and taken by the venue), not yet acknowledged.
    Submitted = 1,
    /// Acknowledged by the venue: working (resting, or a stop waiting for its trigger).
    Accepted = 2,
    /// Some quantity filled, some still working.
    PartiallyFilled = 3,
    /// All quantity filled (terminal).
    Filled = 4,
    /// Cancelled, by request or as the OCO sibling of a filled child (terminal).
    Cancelled = 5,
    /// Refused by risk or by the venue (terminal).
    Rejected = 6,
    /// Ended by the venue without (full) execution: IOC remainder, DAY at the session end, a
    /// market order that found no liquidity (terminal).
    Expired = 7,
}

/// Number of states.
pub const STATES: usize = 8;

impl OrderState {
    /// Every state, in code order.
    pub const ALL: [OrderState; STATES] = [
        Self::New,
        Self::Submitted,
        Self::Accepted,
        Self::PartiallyFilled,
        Self::Filled,
        Self::Cancelled,
        Self::Rejected,
        Self::Expired,
    ];

    /// True for the states an order never leaves.
    #[inline]
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Filled | Self::Cancelled | Self::Rejected | Self::Expired)
    }

    /// True while the venue may still execute the order.
    #[inline]
    pub fn is_working(self) -> bool {
        matches!(self, Self::Submitted | Self::Accepted | Self::PartiallyFilled)
    }

    /// True when `self → to` is a legal transition (the table of the [module docs](self)).
    #[inline]
    pub fn can_become(self, to: OrderState) -> bool {
        use OrderState::*;
        match self {
            New => matches!(to, Submitted | Rejected),
            Submitted => matches!(to, Accepted | PartiallyFilled | Filled | Cancelled | Rejected | Expired),
            Accepted => matches!(to, PartiallyFilled | Filled | Cancelled | Expired),
            PartiallyFilled => matches!(to, PartiallyFilled | Filled | Cancelled | Expired),
            Filled | Cancelled | Rejected | Expired => false,
        }
    }

    /// Name for logs and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Submitted => "submitted",
            Self::Accepted => "accepted",
            Self::PartiallyFilled => "partially_filled",
            Self::Filled => "filled",
            Self::Cancelled => "cancelled",
            Self::Rejected => "rejected",
            Self::Expired => "expired",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use OrderState::*;

    /// The table, written out pair by pair: 16 legal transitions, the other 48 illegal.
    #[test]
    fn transition_table() {
        let legal = [
            (New, Submitted),
            (New, Rejected),
            (Submitted, Accepted),
            (Submitted, PartiallyFilled),
            (Submitted, Filled),
            (Submitted, Cancelled),
            (Submitted, Rejected),
            (Submitted, Expired),
            (Accepted, PartiallyFilled),
            (Accepted, Filled),
            (Accepted, Cancelled),
            (Accepted, Expired),
            (PartiallyFilled, PartiallyFilled),
            (PartiallyFilled, Filled),
            (PartiallyFilled, Cancelled),
            (PartiallyFilled, Expired),
        ];
        let mut n = 0;
        for from in OrderState::ALL {
            for to in OrderState::ALL {
                let want = legal.contains(&(from, to));
                assert_eq!(from.can_become(to), want, "{from:?} → {to:?}");
                n += usize::from(want);
            }
        }
        assert_eq!(n, 16);
        for s in OrderState::ALL {
            assert!(!(s.is_terminal() && s.is_working()));
            assert_eq!(s.is_terminal(), OrderState::ALL.iter().all(|&t| !s.can_become(t)), "{s:?}");
        }
        assert!(!New.is_working() && !New.is_terminal());
    }
}
