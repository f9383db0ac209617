//! The venue seam: where approved orders go and where executions come from.
//!
//! - [`SimVenue`](crate::sim::SimVenue) fills in event time against its own book replica
//!   (backtest, replay, paper).
//! - [`LiveVenue`] hands orders to a broker edge thread through an SPSC ring and turns the
//!   [`ExecReport`]s that come back *through the sequencer* (as `Msg::Exec` inputs) into
//!   fills. Because reports are sequenced inputs, a journal replay with a `LiveVenue` that has
//!   no edge thread reproduces the live session's decisions exactly.
//!
//! A venue only ever receives [`Approved`] orders: the risk manager is the only code that can
//! make one.

use crate::risk::Approved;
use crate::sim::{Ack, Expired, FillBuf, SubmitError};
use mia_model::event::Event;
use mia_model::msg::{ExecKind, ExecReport, Fill, OrderAction, OrderIntent};

/// A place orders execute.
pub trait Venue: Send + 'static {
    /// Short name for reports (`"sim"`, `"live"`).
    fn name(&self) -> &'static str;

    /// One line naming the venue and the models it uses, for the run summary (default: the
    /// name).
    fn describe(&self) -> String {
        self.name().to_string()
    }

    /// Sends an approved request: a new order, or a modify (`action`) of a working one.
    ///
    /// # Errors
    /// The venue refused it (bad order, table full, not working, edge thread busy or gone).
    fn submit(&mut self, order: Approved<OrderIntent>) -> Result<(), SubmitError>;

    /// True when the venue holds brackets itself (a parent with OCO children, sent together):
    /// the exec stage then creates a bracket's children with its entry
    /// ([`OrderManager::bracket_native`](crate::oms::OrderManager::bracket_native)). The
    /// simulator does not (its children are sent when the entry fills).
    fn native_brackets(&self) -> bool {
        false
    }

    /// Cancels a working order (see [`CancelOutcome`]). A cancel takes no risk, so it needs
    /// no approval.
    fn cancel(&mut self, client_order_id: u64) -> CancelOutcome;

    /// A market event (the simulator fills here). `out` is cleared first.
    fn on_market(&mut self, ev: &Event, out: &mut FillBuf);

    /// An execution report from the sequencer (a live venue fills here). `out` is cleared first.
    fn on_report(&mut self, r: &ExecReport, out: &mut FillBuf);
}

/// What became of a cancel handed to a [`Venue`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CancelOutcome {
    /// Cancelled now (the simulator).
    Done,
    /// Not working at the venue (already filled, expired, cancelled or unknown): nothing to do.
    NotWorking,
    /// A request on its way; the answer comes back as a report (a live venue).
    Requested,
    /// The request could not be handed on (the edge's ring full or gone): it is lost, and the
    /// caller must send it again.
    Refused,
}

/// A venue on another thread: orders leave through a ring, reports come back as sequenced
/// inputs.
pub struct LiveVenue {
    orders: Option<rtrb::Producer<OrderIntent>>,
    /// Orders that could not be handed to the edge thread.
    pub refused: u64,
}

impl LiveVenue {
    /// A venue whose orders go to `orders` (the edge thread's end of an SPSC ring).
    pub fn new(orders: rtrb::Producer<OrderIntent>) -> Self {
        Self { orders: Some(orders), refused: 0 }
    }

    /// A venue with no edge thread: replays a live session's journal, where the reports are
    /// already in the input stream. Orders are accepted and go nowhere.
    pub fn replay() -> Self {
        Self { orders: None, refused: 0 }
    }
}

impl Venue for LiveVenue {
    fn name(&self) -> &'static str {
        "live"
    }

    /// Broker venues (IBKR, DTC) take brackets natively, so a position is protected at the
    /// broker from its first fill, whatever happens to this process or its connection.
    fn native_brackets(&self) -> bool {
        true
    }

    #[inline]
    fn submit(&mut self, order: Approved<OrderIntent>) -> Result<(), SubmitError> {
        let Some(tx) = self.orders.as_mut() else { return Ok(()) };
        if tx.is_abandoned() || tx.push(order.into_inner()).is_err() {
            self.refused += 1;
            return Err(SubmitError::VenueBusy);
        }
        Ok(())
    }

    /// Cancels are requests to the broker (an intent with [`OrderAction::Cancel`] through the
    /// ring); the answer comes back as a report. Refused when the ring is full or its edge
    /// thread gone (a replay, without a ring, requests).
    fn cancel(&mut self, client_order_id: u64) -> CancelOutcome {
        if let Some(tx) = self.orders.as_mut() {
            let req = OrderIntent { client_order_id, action: OrderAction::Cancel, ..OrderIntent::default() };
            if tx.is_abandoned() || tx.push(req).is_err() {
                self.refused += 1;
                return CancelOutcome::Refused;
            }
        }
        CancelOutcome::Requested
    }

    fn on_market(&mut self, _ev: &Event, out: &mut FillBuf) {
        out.clear();
    }

    #[inline]
    fn on_report(&mut self, r: &ExecReport, out: &mut FillBuf) {
        out.clear();
        match r.kind {
            ExecKind::Accepted => {
                out.push_ack(Ack { client_order_id: r.client_order_id, seq: r.seq, ts: r.ts })
            }
            ExecKind::Filled => out.push_fill(Fill {
                client_order_id: r.client_order_id,
                seq: r.seq,
                ts: r.ts,
                price: r.price,
                fee: r.fee,
                qty: r.qty,
                leaves: r.leaves,
                side: r.side,
                done: r.leaves == 0,
            }),
            ExecKind::Rejected | ExecKind::Cancelled | ExecKind::Expired => out.push_expired(Expired {
                client_order_id: r.client_order_id,
                seq: r.seq,
                ts: r.ts,
                qty: r.leaves.max(r.qty),
                kind: r.kind,
            }),
            // Not about an order: the exec stage books it before the venue sees reports.
            ExecKind::Adopted => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mia_model::msg::OrderSide;

    #[test]
    fn reports_become_fills_and_expiries() {
        let mut v = LiveVenue::replay();
        let mut out = FillBuf::new();
        let r = ExecReport {
            client_order_id: 3,
            seq: 9,
            ts: 10,
            price: 5,
            fee: mia_model::money::NanoUsd::from_nano(1),
            qty: 2,
            leaves: 0,
            side: OrderSide::Sell,
            kind: ExecKind::Filled,
            reason: 0,
        };
        v.on_report(&r, &mut out);
        assert_eq!(out.fills().len(), 1);
        assert!(out.fills()[0].done && out.fills()[0].side == OrderSide::Sell && out.fills()[0].seq == 9);
        v.on_report(&ExecReport { kind: ExecKind::Rejected, ..r }, &mut out);
        assert_eq!((out.fills().len(), out.expired().len()), (0, 1));
        assert_eq!(out.expired()[0].kind, ExecKind::Rejected);
        v.on_report(&ExecReport { kind: ExecKind::Accepted, ..r }, &mut out);
        assert_eq!((out.fills().len(), out.expired().len(), out.acks().len()), (0, 0, 1));
        assert_eq!(out.acks()[0], Ack { client_order_id: 3, seq: 9, ts: 10 });
        v.on_report(&ExecReport { kind: ExecKind::Filled, leaves: 2, ..r }, &mut out);
        assert!(!out.fills()[0].done && out.fills()[0].leaves == 2);
    }

    #[test]
    fn live_cancels_go_through_the_ring() {
        let (tx, mut rx) = rtrb::RingBuffer::new(4);
        let mut v = LiveVenue::new(tx);
        assert_eq!(v.cancel(12), CancelOutcome::Requested, "the answer comes back as a report");
        let req = rx.pop().expect("cancel request sent");
        assert_eq!((req.client_order_id, req.action), (12, OrderAction::Cancel));
    }
}
