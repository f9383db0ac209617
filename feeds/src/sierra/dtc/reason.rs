//! Reason codes the DTC client puts in [`ExecReport::reason`](mia_model::msg::ExecReport) for
//! `Rejected` and `Cancelled` reports. They start at 1000 so they never collide with the
//! broker codes another adapter puts in the same field (IB error codes are below 1000).
//! The table is repeated in `docs/sierra.md`.

/// Cancelled at MIA's request, or no reason given.
pub const NONE: u16 = 0;
/// The DTC server rejected the new order (`NEW_ORDER_REJECTED`; its `InfoText` is logged).
pub const SERVER_REJECTED: u16 = 1001;
/// The order arrived while the connection was down: it was not sent.
pub const NOT_CONNECTED: u16 = 1002;
/// The server said at logon that it does not support trading (Sierra Chart: "Allow Trading"
/// is off).
pub const TRADING_NOT_SUPPORTED: u16 = 1003;
/// A native bracket was sent to a server without bracket or OCO support.
pub const BRACKETS_NOT_SUPPORTED: u16 = 1004;
/// A native bracket whose children did not follow it (count, link or timeout).
pub const BRACKET_MALFORMED: u16 = 1005;
/// Cancelled because the other order of its OCO pair filled.
pub const OCO_SIBLING_FILLED: u16 = 1006;
/// Cancelled by the server or the exchange without MIA asking (e.g. a day order expiring).
pub const CANCELLED_BY_SERVER: u16 = 1007;
/// No longer open after a reconnect, and the fills reported for it do not cover it: it was
/// cancelled or expired while the connection was down.
pub const ENDED_WHILE_DISCONNECTED: u16 = 1008;
/// Sent just before a disconnect, never acknowledged, and unknown to the server after the
/// reconnect: it never reached it.
pub const UNKNOWN_TO_SERVER: u16 = 1009;
/// The intent cannot be expressed in DTC (zero quantity, a price that is not finite).
pub const BAD_INTENT: u16 = 1010;
/// No client order id could be reserved: the high-water mark in the state directory cannot
/// be written (an id that may repeat an earlier run's is never sent).
pub const ID_NOT_RESERVED: u16 = mia_model::msg::REASON_NO_ORDER_ID;

/// A one-line description of a reason code (logs, summaries).
pub fn describe(code: u16) -> &'static str {
    match code {
        NONE => "none",
        SERVER_REJECTED => "rejected by the DTC server",
        NOT_CONNECTED => "not connected: not sent",
        TRADING_NOT_SUPPORTED => "the server does not allow trading",
        BRACKETS_NOT_SUPPORTED => "the server does not support brackets/OCO",
        BRACKET_MALFORMED => "bracket children missing or mislinked",
        OCO_SIBLING_FILLED => "OCO sibling filled",
        CANCELLED_BY_SERVER => "cancelled by the server",
        ENDED_WHILE_DISCONNECTED => "ended while disconnected",
        UNKNOWN_TO_SERVER => "never reached the server",
        BAD_INTENT => "cannot be expressed in DTC",
        ID_NOT_RESERVED => "no client order id could be reserved (state file)",
        _ => "unknown reason code",
    }
}
