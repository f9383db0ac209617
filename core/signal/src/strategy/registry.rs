//! The registered strategies, one line each (`config name: Variant(Type)`), the one that runs
//! when the config names none, and the `[signal.*]` sections of the signal-engine modules the
//! strategies share (`engine { … }`).

crate::strategy_set! {
    default = Threshold;
    engine {
        smart_money: crate::features::smart_money::SmartMoneyConfig,
        gamma_cycle: crate::gamma_cycle::GammaCycleConfig,
        levels: crate::engine::levels::LevelsConfig,
        zones: crate::engine::zones::ZonesConfig,
        mtf: crate::engine::mtf::MtfConfig,
        regime: crate::engine::regime::RegimeDetectorConfig,
    }
    threshold: Threshold(crate::strategy::threshold::ThresholdStrategy),
}
