//! The registered strategies, one line each (`config name: Variant(Type)`), and the one that
//! runs when the config names none.

crate::strategy_set! {
    default = Threshold;
    threshold: Threshold(crate::strategy::threshold::ThresholdStrategy),
}
