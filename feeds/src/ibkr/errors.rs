//! IB error codes the edge acts on, in one table ([`TABLE`]), and the MIA-local reason codes
//! the edge puts in [`ExecReport::reason`](mia_model::msg::ExecReport::reason) when the
//! refusal is its own (IB codes start at 100, so 1..=99 are free).
//!
//! Sources: IB "Error Codes" page of the TWS API reference (interactivebrokers.github.io/tws-api/
//! message_codes.html) and ibapi 5.5.0 `src/messages/notice.rs` (code groups).

/// What the edge does with an IB code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorClass {
    /// The order was rejected: report `Rejected` with the code.
    Reject,
    /// The order was cancelled (202): report `Cancelled` with the code (once).
    Cancelled,
    /// A cancel for an order IB does not know (10147): the order is not working; report
    /// `Cancelled` with the code if MIA still thinks it works.
    CancelUnknown,
    /// A cancel refused because the order is already done (10148): nothing to report, the
    /// order's own final status comes (or came) separately.
    CancelRefused,
    /// The order id was already used (103): report `Rejected` and move the id allocator past it.
    DuplicateId,
    /// A data-farm / HMDS status line (2104, 2106, 2158, 2107, 2108, 2119): logged at debug.
    Informational,
    /// A data farm is broken (2103, 2105, 2157): logged as a warning; data may stall.
    FarmBroken,
    /// TWS lost its connection to IB (1100): the feed is marked lost.
    ConnectivityLost,
    /// Connection to IB restored, data lost (1101): resubscribe and reconcile.
    RestoredDataLost,
    /// Connection to IB restored, data kept (1102): reconcile.
    RestoredDataKept,
    /// Pacing violation (100): counted and logged; requests back off.
    Pacing,
    /// A warning (2100–2199 except the above, 399): logged.
    Warning,
    /// Anything else: logged as an error; with an order id, a reject when the code is in
    /// 101..=399 or the order was not accepted yet (e.g. 110, a price off the tick grid).
    Other,
}

/// The codes the edge treats specially: (code, class, meaning).
pub const TABLE: &[(i32, ErrorClass, &str)] = &[
    (100, ErrorClass::Pacing, "max rate of messages per second exceeded (pacing)"),
    (103, ErrorClass::DuplicateId, "duplicate order id"),
    (201, ErrorClass::Reject, "order rejected"),
    (161, ErrorClass::CancelRefused, "cancel attempted when the order is not in a cancellable state"),
    (202, ErrorClass::Cancelled, "order cancelled"),
    (10147, ErrorClass::CancelUnknown, "order to cancel not found"),
    (10148, ErrorClass::CancelRefused, "order cannot be cancelled in its state (filled/cancelled)"),
    (1100, ErrorClass::ConnectivityLost, "connectivity between IB and TWS lost"),
    (1101, ErrorClass::RestoredDataLost, "connectivity restored, data lost: resubscribe"),
    (1102, ErrorClass::RestoredDataKept, "connectivity restored, data maintained"),
    (2103, ErrorClass::FarmBroken, "market data farm connection is broken"),
    (2104, ErrorClass::Informational, "market data farm connection is OK"),
    (2105, ErrorClass::FarmBroken, "historical data farm connection is broken"),
    (2106, ErrorClass::Informational, "historical data farm connection is OK"),
    (2107, ErrorClass::Informational, "historical data farm connection is inactive"),
    (2108, ErrorClass::Informational, "market data farm connection is inactive"),
    (2119, ErrorClass::Informational, "market data farm is connecting"),
    (2157, ErrorClass::FarmBroken, "sec-def data farm connection is broken"),
    (2158, ErrorClass::Informational, "sec-def data farm connection is OK"),
];

/// The class of `code` (table first, then the ranges).
pub fn classify(code: i32) -> ErrorClass {
    if let Some((_, c, _)) = TABLE.iter().find(|(k, _, _)| *k == code) {
        return *c;
    }
    match code {
        399 | 2100..=2199 => ErrorClass::Warning,
        _ => ErrorClass::Other,
    }
}

/// True for codes that end an order when they carry its id (rejects of any kind).
pub fn rejects_order(code: i32) -> bool {
    match classify(code) {
        ErrorClass::Reject | ErrorClass::DuplicateId => true,
        ErrorClass::Other => (101..=399).contains(&code) && code != 399,
        _ => false,
    }
}

/// MIA-local reasons (edge decisions, not IB codes).
pub mod reason {
    /// A native bracket's children did not all arrive (ring closed, or another intent came
    /// first); the held parent was cancelled before it was ever transmitted.
    pub const BRACKET_INCOMPLETE: u16 = 1;
    /// Reconciliation: IB does not know an order the edge sent (neither open nor completed).
    pub const UNKNOWN_AT_BROKER: u16 = 2;
    /// The request could not be written to the Gateway (connection down, client shut down).
    pub const SEND_FAILED: u16 = 3;
    /// The intent cannot be expressed as an IB order (unknown order id for a modify/cancel,
    /// zero quantity, undefined price, bracket child without its entry).
    pub const BAD_INTENT: u16 = 4;
    /// No IB order id could be reserved (the high-water file cannot be written, or the id
    /// space below 1.5e9 is exhausted): the venue-neutral code, which halts the session.
    pub const NO_ORDER_ID: u16 = mia_model::msg::REASON_NO_ORDER_ID;
}

/// An IB code as a report reason (saturating into `u16`; IB codes are < 65536 in practice).
pub fn reason_of(code: i32) -> u16 {
    u16::try_from(code).unwrap_or(u16::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_and_ranges() {
        assert_eq!(classify(201), ErrorClass::Reject);
        assert_eq!(classify(202), ErrorClass::Cancelled);
        assert_eq!(classify(103), ErrorClass::DuplicateId);
        assert_eq!(classify(1101), ErrorClass::RestoredDataLost);
        assert_eq!(classify(2158), ErrorClass::Informational);
        assert_eq!(classify(2150), ErrorClass::Warning);
        assert_eq!(classify(100), ErrorClass::Pacing);
        assert_eq!(classify(504), ErrorClass::Other);
        assert!(rejects_order(201) && rejects_order(103) && rejects_order(110));
        assert!(!rejects_order(202) && !rejects_order(2104) && !rejects_order(399) && !rejects_order(10148));
        // A repeated cancel of an order that is done or already cancelling ends nothing.
        assert_eq!(classify(161), ErrorClass::CancelRefused);
        assert!(!rejects_order(161));
        assert_eq!(reason_of(10148), 10148);
        assert_eq!(reason_of(-1), u16::MAX);
        let mut codes: Vec<i32> = TABLE.iter().map(|r| r.0).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), TABLE.len(), "one row per code");
    }
}
