//! The aggregate run configuration (only `tools` knows all of it), read from TOML (`config/*.toml`). Every section rejects unknown keys
//! and wrong types; errors name the file, the line and column, the key and the reason.
//! Missing sections and keys take the documented defaults (see `config/default.toml`).

use crate::app::control::ControlConfig;
use crate::app::live::LiveConfig;
use crate::monitor::MonitorConfig;
use mia_exec::fees::FeeConfig;
use mia_exec::risk::RiskConfig;
use mia_exec::sim::SimConfig;
use mia_model::contract::Root;
use mia_runtime::pipeline::tap::TapPolicy;
use mia_runtime::pipeline::PipelineConfig;
use mia_signal::engine::profiles::{ProfileName, Profiles};
use mia_signal::features::registry::FeaturesConfig;
use mia_signal::market::bars::BarsConfig;
use mia_signal::sanity::SanityConfig;
use mia_signal::stage::{GatesConfig, SignalStageConfig};
use mia_signal::strategy::registry::StrategiesConfig;
use std::path::Path;

/// What is traded and how much per signal (`[trading]`).
#[derive(Clone, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct TradingConfig {
    /// Contract root: "ES" or "MES".
    pub instrument: Root,
    /// Contracts per entry (target position = signal direction × this).
    pub order_qty: u32,
}

impl Default for TradingConfig {
    fn default() -> Self {
        Self { instrument: Root::Es, order_qty: 1 }
    }
}

/// Journal settings (`[journal]`).
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

/// The whole configuration: one section per owner (see `docs/architecture.md`).
#[derive(Clone, Debug, Default, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Instrument and size (tools).
    pub trading: TradingConfig,
    /// Pipeline runner (runtime).
    pub pipeline: PipelineConfig,
    /// Data-sanity limits (signal).
    pub sanity: SanityConfig,
    /// Event-time bars (signal).
    pub bars: BarsConfig,
    /// Features (signal).
    pub features: FeaturesConfig,
    /// Strategy selection and settings (signal).
    pub signal: StrategiesConfig,
    /// Entry gates (signal).
    pub gates: GatesConfig,
    /// Pre-trade risk limits (exec).
    pub risk: RiskConfig,
    /// Simulated exchange: `[sim.latency]`, `[sim.queue]` (exec).
    pub sim: SimConfig,
    /// Fee schedules `[fees.es]`, `[fees.mes]` (exec; the simulated venue charges them).
    pub fees: FeeConfig,
    /// Journal (journal).
    pub journal: JournalSection,
    /// The control thread: kill files and signals (tools; `docs/risk.md`, "Kill switch").
    pub control: ControlConfig,
    /// Paper, live and collect sessions: data source, order venue, the live guard, Ctrl-C
    /// (tools; `docs/live.md`).
    pub live: LiveConfig,
    /// The Interactive Brokers edge (feeds; `docs/ibkr.md`). Its `root` follows
    /// `[trading] instrument`.
    pub ibkr: mia_feeds::ibkr::IbkrConfig,
    /// The Sierra Chart DTC edge (feeds; `docs/sierra.md`). Its `root` follows
    /// `[trading] instrument`.
    pub dtc: mia_feeds::sierra::dtc::DtcConfig,
    /// The monitor: health, alert rules, Discord, `/metrics`, `status.json` (tools;
    /// `docs/monitoring.md`).
    pub monitor: MonitorConfig,
    /// Signal-engine profiles `[profile.backtest]`, `[profile.paper]`, `[profile.production]`
    /// (signal; SIGNALS §12). The run mode picks one (backtest and replay: `backtest`), and
    /// `--profile` overrides it.
    pub profile: Profiles,
    /// The ML entry filter, `mia dataset` labels and `mia train` (tools; `docs/ml.md`).
    pub ml: crate::ml::MlConfig,
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

    /// The signal crate's part of the config, under profile `profile`.
    pub fn signal_stage(&self, profile: ProfileName) -> SignalStageConfig {
        SignalStageConfig {
            sanity: self.sanity,
            bars: self.bars,
            features: self.features.clone(),
            signal: self.signal.clone(),
            gates: self.gates,
            profile: self.profile.get(profile),
        }
    }

    /// Semantic checks that types alone cannot express: each owner checks its sections, and
    /// every section is checked (a file with three mistakes in three sections lists all three).
    ///
    /// # Errors
    /// Every bad section's first bad key, as `section.key: reason`, one per line.
    pub fn validate(&self) -> Result<(), String> {
        let errors = self.problems();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("\n"))
        }
    }

    /// Every problem [`Config::validate`] finds, one `section.key: reason` each (for
    /// `mia check`, which prints them as a table).
    pub fn problems(&self) -> Vec<String> {
        let mut errors = Vec::new();
        let mut check = |r: Result<(), String>| {
            if let Err(e) = r {
                errors.push(e);
            }
        };
        check(if self.trading.order_qty == 0 {
            Err("trading.order_qty: must be at least 1".into())
        } else {
            Ok(())
        });
        check(self.signal_stage(ProfileName::Backtest).validate());
        check(self.profile.validate());
        check(self.risk.validate());
        check(self.sim.validate());
        check(self.fees.validate());
        check(self.control.validate());
        check(self.live.validate());
        check(self.monitor.validate());
        check(self.ml.validate());
        check(if self.pipeline.ring_capacity < 2 {
            Err("pipeline.ring_capacity: must be ≥ 2".into())
        } else {
            Ok(())
        });
        check(if self.pipeline.live_timer_ms > 60_000 {
            Err(format!("pipeline.live_timer_ms: {} is outside 0-60000", self.pipeline.live_timer_ms))
        } else {
            Ok(())
        });
        check(if self.journal.segment_bytes < 4096 {
            Err("journal.segment_bytes: must be ≥ 4096".into())
        } else {
            Ok(())
        });
        if let Err(v) = self.ibkr.validate() {
            errors.extend(v);
        }
        if let Err(v) = self.dtc.validate() {
            errors.extend(v);
        }
        errors
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
        assert!(e.reason.contains("instrument") && e.reason.contains("NQ"), "{e}");
        let e = Config::from_toml("[features.obi]\nlevels = 11\ndecay = 0.5\n", "t.toml").unwrap_err();
        assert!(e.reason.contains("features.obi.levels"), "{e}");
        let e = Config::from_toml("[signal.threshold]\nobi_entry = 2.0\n", "t.toml").unwrap_err();
        assert!(e.reason.contains("signal.threshold.obi_entry"), "{e}");
        let e = Config::from_toml("[signal]\nstrategy = \"martingale\"\n", "t.toml").unwrap_err();
        assert!(e.reason.contains("martingale"), "{e}");
        let e = Config::from_toml("[sim.queue]\npower_n = -1.0\n", "t.toml").unwrap_err();
        assert!(e.reason.contains("sim.queue.power_n"), "{e}");
        let e = Config::from_toml("[sim.latency]\nentry_ns = 99000000000\n", "t.toml").unwrap_err();
        assert!(e.reason.contains("sim.latency.entry_ns"), "{e}");
        let e = Config::from_toml("[fees.mes]\ntier_max_contracts = []\ncommission_usd = [-1.0]\nexchange_usd = 0.35\nclearing_usd = 0.02\nnfa_usd = 0.02\n", "t.toml").unwrap_err();
        assert!(e.reason.contains("fees.mes.commission_usd"), "{e}");
        // The old flat keys are gone (one place for the latency: `[sim.latency] entry_ns`).
        let e = Config::from_toml("[sim]\norder_latency_ns = 1\n", "t.toml").unwrap_err();
        assert!(e.reason.contains("order_latency_ns"), "{e}");
    }

    #[test]
    fn every_bad_section_is_reported_not_only_the_first() {
        let text =
            "[trading]\norder_qty = 0\n[control]\npoll_ms = 0\n[pipeline]\nring_capacity = 1\nlive_timer_ms = 60001\n";
        let e = Config::from_toml(text, "t.toml").unwrap_err();
        for key in
            ["trading.order_qty", "control.poll_ms", "pipeline.ring_capacity", "pipeline.live_timer_ms"]
        {
            assert!(e.reason.contains(key), "{key} missing from: {e}");
        }
        assert_eq!(e.reason.lines().count(), 4, "{e}");
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
    fn every_shipped_config_file_is_valid() {
        let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../config"));
        let mut n = 0;
        for e in std::fs::read_dir(dir).expect("config/") {
            let p = e.expect("entry").path();
            if p.extension().is_some_and(|x| x == "toml") {
                assert!(Config::load(&p).is_ok(), "{}: {:?}", p.display(), Config::load(&p));
                n += 1;
            }
        }
        assert!(n >= 3, "default, icount and colo at least");
    }

    #[test]
    fn shipped_default_toml_equals_built_in_defaults() {
        let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../config/default.toml"));
        assert_eq!(Config::load(path), Ok(Config::default()));
    }
}
