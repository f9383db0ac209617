//! The registered features, one line each. Order is evaluation order.

crate::feature_set! {
    /// Every feature MIA computes, updated on each accepted event.
    obi: crate::features::obi::BookImbalance,
    ofi: crate::features::ofi::Ofi,
    delta: crate::features::delta::RollingDelta,
    divergence: crate::features::divergence::DeltaDivergence,
    momentum: crate::features::momentum::TickMomentum,
    microprice: crate::features::microprice::Microprice,
    smart_money: crate::features::smart_money::SmartMoneyFlow,
    absorption: crate::features::absorption::Absorption,
    options: crate::features::options::OptionsFeatures,
    volatility: crate::features::volatility::VolatilityRegime,
    session: crate::features::session_phase::SessionPhaseFeature,
    vwap: crate::features::vwap_dev::VwapDeviation,
    regime: crate::features::regime::MarketRegime,
}
