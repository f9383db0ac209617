//! The registered strategies, one line each (`config name: Variant(Type)`), the one that runs
//! when the config names none, and the `[signal.*]` sections of the signal-engine modules the
//! strategies share (`engine { … }`).

crate::strategy_set! {
    default = Elite;
    engine {
        smart_money: crate::features::smart_money::SmartMoneyConfig,
        gamma_cycle: crate::gamma_cycle::GammaCycleConfig,
        battle_navale: crate::engine::battle_navale::BattleNavaleConfig,
        sierra: crate::engine::bar_patterns::SierraConfig,
        patterns: crate::engine::patterns::PatternsConfig,
        levels: crate::engine::levels::LevelsConfig,
        zones: crate::engine::zones::ZonesConfig,
        mtf: crate::engine::mtf::MtfConfig,
        regime: crate::engine::regime::RegimeDetectorConfig,
        selector: crate::engine::strategies::SelectorConfig,
        trend: crate::engine::strategies::TrendConfig,
        range: crate::engine::strategies::RangeConfig,
        confidence: crate::engine::confidence::ConfidenceConfig,
        gates: crate::engine::confidence::GatesConfig,
        tiers: crate::engine::confidence::TiersConfig,
        size: crate::engine::size::SizeConfig,
    }
    threshold: Threshold(crate::strategy::threshold::ThresholdStrategy),
    elite: Elite(crate::strategy::elite::EliteStrategy),
    random: Random(crate::strategy::random::RandomStrategy),
}

/// Checks that hold across `[signal]` sections: the decision timeframe equals the Battle
/// Navale timeframe (SIGNALS §11), and the generator's sections are valid for it.
///
/// # Errors
/// `signal.<section>.<key>: reason`.
pub fn check_engine(cfg: &StrategiesConfig) -> Result<(), String> {
    let tf = cfg.elite.decision_timeframe_min;
    if tf != cfg.battle_navale.timeframe_min {
        return Err(format!(
            "signal.elite.decision_timeframe_min: {tf} must equal signal.battle_navale.timeframe_min ({})",
            cfg.battle_navale.timeframe_min
        ));
    }
    let e = cfg.engine(crate::engine::profiles::Profile::default());
    crate::strategy::elite::generator_config(&e).validate(tf as u32).map_err(|m| format!("signal.{m}"))
}
