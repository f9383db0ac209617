//! The registered features, one line each. Order is evaluation order.

crate::feature_set! {
    /// Every feature MIA computes, updated on each accepted event.
    obi: crate::features::obi::BookImbalance,
    delta: crate::features::delta::CumDelta,
}
