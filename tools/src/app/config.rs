//! The run configuration, read from TOML (`config/*.toml`). Every section rejects unknown keys
//! and wrong types; errors name the file, the line and column, the key and the reason.
//! Missing sections and keys take the documented defaults (see `config/default.toml`).

use mia_exec::risk::RiskConfig;
use mia_runtime::pipeline::{PipelineConfig, TapPolicy};
use mia_signal::stage::StrategyConfig;
use std::path::Path;

/// What is traded and how much per signal.
#[derive(Clone, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct TradingConfig {
    /// Contract root: "ES" or "MES".
    pub instrument: String,
    /// Contracts per entry (target position = signal direction × this).
    pub order_qty: u32,
    /// Live trading must be enabled here AND by the `--live` flag (DESIGN §7).
    pub live_enabled: bool,
}

impl Default for TradingConfig {
    fn default() -> Self {
        Self { instrument: "ES".into(), order_qty: 1, live_enabled: false }
    }
}

/// Simulated-exchange settings.
#[derive(Clone, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SimSection {
    /// Constant order latency (submit → active at the venue), ns of event time.
    pub order_latency_ns: u64,
    /// Commission + fees per contract per side, USD.
    pub commission_per_contract_usd: f64,
}

impl Default for SimSection {
    fn default() -> Self {
        Self { order_latency_ns: 250_000, commission_per_contract_usd: 2.25 }
    }
}

/// Journal settings.
#[derive(Clone, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct JournalSection {
    /// Write a journal of the run.
    pub enabled: bool,
    /// Size of each pre-allocated segment file, bytes.
    pub segment_bytes: u64,
    /// Capacity of each tap ring, envelopes.
    pub tap_capacity: usize,
    /// Full-tap policy: "block" (backtests) or "drop" (live).
    pub tap_policy: TapPolicy,
}

impl Default for JournalSection {
    fn default() -> Self {
        Self { enabled: true, segment_bytes: 64 << 20, tap_capacity: 1 << 16, tap_policy: TapPolicy::Block }
    }
}

/// The whole configuration.
#[derive(Clone, Debug, Default, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Instrument and size.
    pub trading: TradingConfig,
    /// Pipeline runner.
    pub pipeline: PipelineConfig,
    /// Features and signal.
    pub strategy: StrategyConfig,
    /// Pre-trade risk limits.
    pub risk: RiskConfig,
    /// Simulated exchange.
    pub sim: SimSection,
    /// Journal.
    pub journal: JournalSection,
}

/// A configuration error naming the file and the reason (with line, column and key).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("config {file}: {reason}")]
pub struct ConfigError {
    /// The file (or "<built-in>").
    pub file: String,
    /// What is wrong and where.
    pub reason: String,
}

impl Config {
    /// Parses TOML text; `file` names it in errors.
    pub fn from_toml(text: &str, file: &str) -> Result<Self, ConfigError> {
        let cfg: Config = toml::from_str(text).map_err(|e| ConfigError {
            file: file.to_string(),
            reason: e.to_string().trim_end().to_string(),
        })?;
        cfg.validate().map_err(|reason| ConfigError { file: file.to_string(), reason })?;
        Ok(cfg)
    }

    /// Reads and parses a TOML file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError { file: file.clone(), reason: format!("cannot read: {e}") })?;
        Self::from_toml(&text, &file)
    }

    /// Semantic checks that types alone cannot express.
    pub fn validate(&self) -> Result<(), String> {
        let s = &self.strategy;
        if mia_model::contract::ContractSpec::by_root(&self.trading.instrument).is_none() {
            return Err(format!(
                "trading.instrument: unknown contract {:?} (ES or MES)",
                self.trading.instrument
            ));
        }
        if self.trading.order_qty == 0 {
            return Err("trading.order_qty: must be at least 1".into());
        }
        if !(1..=mia_model::book::DEPTH).contains(&s.obi.levels) {
            return Err(format!("strategy.obi.levels: {} is outside 1..=10", s.obi.levels));
        }
        if !(s.obi.decay > 0.0 && s.obi.decay <= 1.0) {
            return Err(format!("strategy.obi.decay: {} is outside (0, 1]", s.obi.decay));
        }
        if s.delta.window_ms == 0 {
            return Err("strategy.delta.window_ms: must be > 0".into());
        }
        if !(s.signal.obi_entry > 0.0 && s.signal.obi_entry <= 1.0) {
            return Err(format!("strategy.signal.obi_entry: {} is outside (0, 1]", s.signal.obi_entry));
        }
        if !(0.0..=1.0).contains(&s.signal.obi_exit) {
            return Err(format!("strategy.signal.obi_exit: {} is outside [0, 1]", s.signal.obi_exit));
        }
        if self.risk.max_position < 0
            || self.risk.max_orders_per_sec == 0
            || self.risk.max_orders_per_sec > 64
        {
            return Err("risk: max_position must be ≥ 0 and max_orders_per_sec in 1..=64".into());
        }
        if !(self.risk.max_daily_loss_usd.is_finite() && self.risk.max_daily_loss_usd > 0.0) {
            return Err("risk.max_daily_loss_usd: must be a positive number".into());
        }
        if !(self.sim.commission_per_contract_usd.is_finite() && self.sim.commission_per_contract_usd >= 0.0)
        {
            return Err("sim.commission_per_contract_usd: must be ≥ 0".into());
        }
        if self.pipeline.ring_capacity < 2 {
            return Err("pipeline.ring_capacity: must be ≥ 2".into());
        }
        if self.journal.segment_bytes < 4096 {
            return Err("journal.segment_bytes: must be ≥ 4096".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_text_gives_defaults() {
        assert_eq!(Config::from_toml("", "x.toml"), Ok(Config::default()));
    }

    #[test]
    fn unknown_key_is_named_with_file_and_line() {
        let e = Config::from_toml("[risk]\nmax_position = 1\nmax_postion = 2\n", "prod.toml").unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("prod.toml"), "{msg}");
        assert!(msg.contains("max_postion"), "{msg}");
        assert!(msg.contains("line 3"), "{msg}");
    }

    #[test]
    fn wrong_type_is_named() {
        let e = Config::from_toml("[pipeline]\nring_capacity = \"big\"\n", "p.toml").unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("p.toml") && msg.contains("ring_capacity") && msg.contains("line 2"), "{msg}");
    }

    #[test]
    fn semantic_errors() {
        let e = Config::from_toml("[trading]\ninstrument = \"NQ\"\n", "t.toml").unwrap_err();
        assert!(e.reason.contains("trading.instrument"), "{e}");
        let e = Config::from_toml("[strategy.obi]\nlevels = 11\ndecay = 0.5\n", "t.toml").unwrap_err();
        assert!(e.reason.contains("strategy.obi.levels"), "{e}");
    }

    #[test]
    fn missing_file_is_named() {
        let e = Config::load(Path::new("/nonexistent/mia.toml")).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/mia.toml"));
    }
}

#[cfg(test)]
mod file_tests {
    use super::*;

    #[test]
    fn shipped_default_toml_equals_built_in_defaults() {
        let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../config/default.toml"));
        assert_eq!(Config::load(path), Ok(Config::default()));
    }
}
