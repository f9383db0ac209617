//! Start-up reconciliation of `mia live`, one concept for every broker: before the order
//! thread starts, ask the broker what it holds of this client (open orders, the position in
//! the traded contract). Clean → trade. Otherwise `[live] on_restart` decides:
//!
//! - `refuse`: an error saying what is there (the operator decides);
//! - `flatten`: cancel those orders, wait until the broker no longer lists them, re-read the
//!   position (a child may have filled meanwhile) and hand it to the exec stage as an
//!   `ExecKind::Adopted` report (pushed on the venue's report ring, so it is sequenced and
//!   journaled like any input); the exec stage books it and flattens it through risk.
//!
//! A broker takes part through [`StartupVenue`] (IBKR: `IbkrStartup`; DTC: `DtcStartup`);
//! the decision is [`reconcile_at_startup`], the same code for both.

use crate::app::live::OnRestart;
use anyhow::{anyhow, bail, Result};
use mia_model::msg::{ExecKind, ExecReport, OrderSide};

/// What a broker holds of this client at start-up.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Holdings<Id> {
    /// Net position in the traded contract (signed contracts).
    pub position: i64,
    /// Average price of the position in index points (0 when flat or unknown).
    pub avg_price: f64,
    /// The open orders (the broker's ids).
    pub open_orders: Vec<Id>,
}

impl<Id> Holdings<Id> {
    /// True when the broker holds nothing of this client.
    pub fn is_clean(&self) -> bool {
        self.position == 0 && self.open_orders.is_empty()
    }
}

/// A broker edge, connected, whose order thread has not started.
pub trait StartupVenue {
    /// How the broker names an open order.
    type OrderId: std::fmt::Debug + Clone;
    /// `ibkr`, `dtc` (messages).
    fn name(&self) -> &'static str;
    /// The traded contract as the broker names it (messages).
    fn contract(&self) -> String;
    /// What the broker holds of this client.
    ///
    /// # Errors
    /// A request failed or timed out.
    fn holdings(&mut self) -> Result<Holdings<Self::OrderId>>;
    /// Cancels `orders` and waits until the broker no longer lists them.
    ///
    /// # Errors
    /// A cancel failed, or an order is still listed at the broker's deadline.
    fn cancel_and_wait(&mut self, orders: &[Self::OrderId]) -> Result<()>;
}

/// The start-up decision (see the [module docs](self)): `None` when the broker holds nothing
/// (or nothing is left after the cancels), the `Adopted` report to sequence otherwise.
///
/// # Errors
/// `on_restart = refuse` and the broker holds something; a request or cancel failed; orders
/// are still open after their cancel; a position without a usable average price.
pub fn reconcile_at_startup<V: StartupVenue>(v: &mut V, on_restart: OnRestart) -> Result<Option<ExecReport>> {
    let name = v.name();
    let found = v.holdings()?;
    if found.is_clean() {
        return Ok(None);
    }
    let what = format!(
        "{} open order(s) {:?} and a position of {} {} at {:.2}",
        found.open_orders.len(),
        found.open_orders,
        found.position,
        v.contract(),
        found.avg_price
    );
    if on_restart == OnRestart::Refuse {
        bail!(
            "{name}: the broker holds {what} for this client, from an earlier run or a manual trade; \
             [live] on_restart = \"refuse\": close them at the broker, or set on_restart = \"flatten\""
        );
    }
    eprintln!("mia: {name}: the broker holds {what}: cancelling the orders, flattening the position");
    tracing::warn!(
        venue = name,
        orders = found.open_orders.len(),
        position = found.position,
        "start-up adoption"
    );
    if !found.open_orders.is_empty() {
        v.cancel_and_wait(&found.open_orders)?;
    }
    let now = v.holdings()?;
    if !now.open_orders.is_empty() {
        bail!("{name}: orders {:?} are still open after their cancel; not trading", now.open_orders);
    }
    adopted_report(name, now.position, now.avg_price)
}

/// The `Adopted` report of a broker position (`None` when flat).
///
/// # Errors
/// A position without a usable average price, or an absurd quantity.
pub fn adopted_report(name: &str, position: i64, avg_price: f64) -> Result<Option<ExecReport>> {
    let Some(side) = OrderSide::of_signed(position) else { return Ok(None) };
    let price = mia_model::price::from_f64(avg_price).filter(|p| *p > 0).ok_or_else(|| {
        anyhow!("{name}: the broker reports position {position} with no usable average price")
    })?;
    Ok(Some(ExecReport {
        client_order_id: 0,
        price,
        qty: u32::try_from(position.unsigned_abs())
            .map_err(|_| anyhow!("{name}: absurd broker position {position}"))?,
        side,
        kind: ExecKind::Adopted,
        ..ExecReport::default()
    }))
}

/// The IBKR edge at start-up.
pub struct IbkrStartup<'a>(pub &'a mia_feeds::ibkr::IbkrEdge);

impl StartupVenue for IbkrStartup<'_> {
    type OrderId = i32;

    fn name(&self) -> &'static str {
        "ibkr"
    }

    fn contract(&self) -> String {
        self.0.contract().local_symbol.clone()
    }

    fn holdings(&mut self) -> Result<Holdings<i32>> {
        let s = self.0.startup_state().map_err(|e| anyhow!("ibkr: {e}"))?;
        Ok(Holdings { position: s.position, avg_price: s.avg_price, open_orders: s.open_orders })
    }

    fn cancel_and_wait(&mut self, orders: &[i32]) -> Result<()> {
        self.0.cancel_startup_orders(orders).map_err(|e| anyhow!("ibkr: {e}"))
    }
}

/// The DTC edge at start-up (orders named by their server order id).
pub struct DtcStartup<'a>(pub &'a mut mia_feeds::sierra::dtc::DtcEdge);

impl StartupVenue for DtcStartup<'_> {
    type OrderId = mia_feeds::sierra::dtc::DtcOpenOrder;

    fn name(&self) -> &'static str {
        "dtc"
    }

    fn contract(&self) -> String {
        self.0.symbol().to_string()
    }

    fn holdings(&mut self) -> Result<Holdings<Self::OrderId>> {
        let s = self.0.startup_state().map_err(|e| anyhow!("dtc: {e}"))?;
        Ok(Holdings { position: s.position, avg_price: s.avg_price, open_orders: s.open_orders })
    }

    fn cancel_and_wait(&mut self, orders: &[Self::OrderId]) -> Result<()> {
        self.0.cancel_startup_orders(orders).map_err(|e| anyhow!("dtc: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A broker in memory: what it holds, and what its cancels do.
    struct Mem {
        held: Holdings<u32>,
        cancel_works: bool,
        /// The position after the cancels (a child filled meanwhile).
        after: i64,
        cancelled: Vec<u32>,
    }

    impl StartupVenue for Mem {
        type OrderId = u32;
        fn name(&self) -> &'static str {
            "mem"
        }
        fn contract(&self) -> String {
            "ESZ6".into()
        }
        fn holdings(&mut self) -> Result<Holdings<u32>> {
            Ok(self.held.clone())
        }
        fn cancel_and_wait(&mut self, orders: &[u32]) -> Result<()> {
            self.cancelled.extend_from_slice(orders);
            if self.cancel_works {
                self.held.open_orders.clear();
                self.held.position = self.after;
            }
            Ok(())
        }
    }

    fn mem(position: i64, orders: Vec<u32>, after: i64, cancel_works: bool) -> Mem {
        Mem {
            held: Holdings { position, avg_price: 6010.25, open_orders: orders },
            cancel_works,
            after,
            cancelled: vec![],
        }
    }

    #[test]
    fn clean_refuse_flatten_and_a_cancel_that_does_not_take() {
        let mut v = mem(0, vec![], 0, true);
        assert_eq!(reconcile_at_startup(&mut v, OnRestart::Refuse).expect("clean"), None);
        let mut v = mem(1, vec![7, 8], 1, true);
        let e = reconcile_at_startup(&mut v, OnRestart::Refuse).expect_err("refused");
        assert!(e.to_string().contains("[7, 8]") && e.to_string().contains("on_restart"), "{e}");
        assert!(v.cancelled.is_empty(), "refuse cancels nothing");
        let r = reconcile_at_startup(&mut v, OnRestart::Flatten).expect("adopted").expect("a position");
        assert_eq!(v.cancelled, [7, 8]);
        assert_eq!(
            (r.kind, r.side, r.qty, r.price),
            (ExecKind::Adopted, OrderSide::Buy, 1, 6_010_250_000_000)
        );
        // A child filled while the cancels went out: the position re-read is the one adopted.
        let mut v = mem(1, vec![7, 8], -2, true);
        let r = reconcile_at_startup(&mut v, OnRestart::Flatten).expect("adopted").expect("a position");
        assert_eq!((r.side, r.qty), (OrderSide::Sell, 2));
        // Orders only, position flat after the cancel: nothing to adopt.
        let mut v = mem(0, vec![9], 0, true);
        assert_eq!(reconcile_at_startup(&mut v, OnRestart::Flatten).expect("ok"), None);
        let mut v = mem(0, vec![9], 0, false);
        assert!(reconcile_at_startup(&mut v, OnRestart::Flatten).is_err(), "still open: not trading");
        assert!(adopted_report("mem", 1, 0.0).is_err(), "no average price");
    }
}
