//! The strategy seam: a [`Strategy`] turns the feature vector and the decision context into
//! a [`Signal`]. The `[signal] strategy = "<name>"` key picks one from the [`registry`].
//!
//! Adding a strategy: write one file here with a type that implements [`Strategy`], then add
//! one line to the `strategy_set!` list in [`registry`]. The macro gives it a variant of
//! [`registry::StrategyKind`] (its config name), a `[signal.<name>]` section and a variant of
//! [`registry::AnyStrategy`], which dispatches with a `match` (no `Box<dyn>` on the hot path).

pub mod elite;
pub mod random;
pub mod registry;
pub mod threshold;

use crate::features::registry::FeatureSet;
use crate::gates::Allow;
use crate::market::bars::Timeframe;
use crate::market::{Market, TradeTick};
use mia_model::features::FeatureVector;
use mia_model::msg::Signal;
use mia_model::price::Px;

/// Default of `[signal] rehearse_lead_ms`: the first event at most this long before a bar
/// close asks for its rehearsal, which runs in the stage's next idle time (measured in
/// `docs/performance.md`).
pub const DEFAULT_REHEARSE_LEAD_MS: u64 = 250;

/// What a strategy knows besides the features when it decides.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DecisionContext {
    /// Sequence number of the input being decided on.
    pub seq: u64,
    /// Its event time (ns).
    pub ts: u64,
    /// Reference price (book mid, or the last trade without a book).
    pub ref_price: Px,
    /// Entries the gates allow (exits are always allowed).
    pub allow: Allow,
}

/// One decision rule.
pub trait Strategy: Send + Sized + 'static {
    /// Its `[signal.<name>]` config section.
    type Config: Clone
        + Default
        + PartialEq
        + std::fmt::Debug
        + serde::Serialize
        + serde::de::DeserializeOwned;

    /// Strategy id carried in [`mia_model::msg::SignalSource::strategy`].
    const ID: u8;

    /// Builds the strategy from its section and the shared signal-engine sections.
    fn new(cfg: &Self::Config, engine: &registry::EngineConfig) -> Self;

    /// Checks the config section; `Err` names the key (relative to the section) and why.
    ///
    /// # Errors
    /// A `key: reason` message for the first bad key.
    fn validate(_cfg: &Self::Config) -> Result<(), String> {
        Ok(())
    }

    /// Decides at a decision point; `Some` when the desired position changes.
    fn decide(&mut self, cx: &DecisionContext, f: &FeatureVector) -> Option<Signal>;

    /// Entries whose conditions held but that a gate vetoed.
    fn vetoed(&self) -> u64;

    /// A trade was applied to the market state (per event: O(1), no allocation).
    #[inline]
    fn on_trade(&mut self, _m: &Market, _t: &TradeTick) {}

    /// A new session started.
    fn on_session(&mut self, _m: &Market) {}

    /// A bar of `tf` closed (before the triggering event is applied; the features have run
    /// their bar-close hooks); `Some` when the desired position changes.
    fn on_bar_close(
        &mut self,
        _cx: &DecisionContext,
        _m: &Market,
        _f: &FeatureSet,
        _v: &FeatureVector,
        _tf: Timeframe,
    ) -> Option<Signal> {
        None
    }

    /// Adds the strategy's end-of-run figures (e.g. its stats tracker) to `r`.
    fn report(&self, _r: &mut mia_runtime::stage::StageReport) {}
}

/// Defines the strategy registry from `name: Variant(Type)` lines (see [`registry`]).
#[macro_export]
macro_rules! strategy_set {
    (
        default = $default:ident;
        engine { $($ename:ident : $ety:ty),* $(,)? }
        $($name:ident : $variant:ident($ty:ty)),+ $(,)?
    ) => {
        /// Which strategy runs (`[signal] strategy`).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
        #[serde(rename_all = "snake_case")]
        pub enum StrategyKind {
            $(
                #[doc = concat!("`", stringify!($name), "`.")]
                $variant,
            )+
        }

        impl Default for StrategiesConfig {
            fn default() -> Self {
                Self {
                    strategy: StrategyKind::default(),
                    rehearse_lead_ms: $crate::strategy::DEFAULT_REHEARSE_LEAD_MS,
                    $($ename: Default::default(),)*
                    $($name: Default::default(),)+
                }
            }
        }

        impl Default for StrategyKind {
            fn default() -> Self {
                StrategyKind::$default
            }
        }

        /// The `[signal]` config: the strategy to run and every strategy's section.
        #[derive(Clone, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
        #[serde(deny_unknown_fields, default)]
        pub struct StrategiesConfig {
            /// The strategy that runs.
            pub strategy: StrategyKind,
            /// Rehearse each bar close this long (event time, ms) before it is due on a second
            /// instance of the strategy, so that the closing event finds the close's code and
            /// data in cache (`SignalStage::rehearse`, run in the stage's idle time; 0 = off).
            /// Changes no output.
            pub rehearse_lead_ms: u64,
            $(
                #[doc = concat!("`[signal.", stringify!($ename), "]` (signal-engine module).")]
                pub $ename: $ety,
            )*
            $(
                #[doc = concat!("`[signal.", stringify!($name), "]`.")]
                pub $name: <$ty as $crate::strategy::Strategy>::Config,
            )+
        }

        /// The shared signal-engine sections of `[signal]`, and the profile in force, handed to
        /// every strategy.
        #[derive(Clone, Debug, PartialEq)]
        pub struct EngineConfig {
            $(
                #[doc = concat!("`[signal.", stringify!($ename), "]`.")]
                pub $ename: $ety,
            )*
            /// The `[profile.<name>]` in force (SIGNALS §12).
            pub profile: $crate::engine::profiles::Profile,
        }

        impl StrategiesConfig {
            /// The shared signal-engine sections with the profile `profile`.
            pub fn engine(&self, profile: $crate::engine::profiles::Profile) -> EngineConfig {
                EngineConfig { $($ename: self.$ename.clone(),)* profile }
            }

            /// Checks every section; the error names `signal.<name>.<key>`.
            ///
            /// # Errors
            /// The first bad key.
            pub fn validate(&self) -> Result<(), String> {
                $(
                    self.$ename
                        .validate()
                        .map_err(|e| format!(concat!("signal.", stringify!($ename), ".{}"), e))?;
                )*
                $(
                    <$ty as $crate::strategy::Strategy>::validate(&self.$name)
                        .map_err(|e| format!(concat!("signal.", stringify!($name), ".{}"), e))?;
                )+
                $crate::strategy::registry::check_engine(self)
            }
        }

        /// The selected strategy (static dispatch by `match`).
        pub enum AnyStrategy {
            $(
                #[doc = concat!("`", stringify!($name), "`.")]
                $variant($ty),
            )+
        }

        impl AnyStrategy {
            /// Builds the strategy `cfg.strategy` selects, under `profile`.
            pub fn new(cfg: &StrategiesConfig, profile: $crate::engine::profiles::Profile) -> Self {
                let engine = cfg.engine(profile);
                match cfg.strategy {
                    $(StrategyKind::$variant => AnyStrategy::$variant(<$ty as $crate::strategy::Strategy>::new(&cfg.$name, &engine)),)+
                }
            }

            /// See [`Strategy::on_trade`].
            #[inline]
            pub fn on_trade(&mut self, m: &$crate::market::Market, t: &$crate::market::TradeTick) {
                match self {
                    $(AnyStrategy::$variant(s) => $crate::strategy::Strategy::on_trade(s, m, t),)+
                }
            }

            /// See [`Strategy::on_session`].
            pub fn on_session(&mut self, m: &$crate::market::Market) {
                match self {
                    $(AnyStrategy::$variant(s) => $crate::strategy::Strategy::on_session(s, m),)+
                }
            }

            /// See [`Strategy::on_bar_close`].
            pub fn on_bar_close(
                &mut self,
                cx: &$crate::strategy::DecisionContext,
                m: &$crate::market::Market,
                f: &$crate::features::registry::FeatureSet,
                v: &mia_model::features::FeatureVector,
                tf: $crate::market::bars::Timeframe,
            ) -> Option<mia_model::msg::Signal> {
                match self {
                    $(AnyStrategy::$variant(s) => $crate::strategy::Strategy::on_bar_close(s, cx, m, f, v, tf),)+
                }
            }

            /// See [`Strategy::report`].
            pub fn report(&self, r: &mut mia_runtime::stage::StageReport) {
                match self {
                    $(AnyStrategy::$variant(s) => $crate::strategy::Strategy::report(s, r),)+
                }
            }

            /// Decides (see [`Strategy::decide`]).
            #[inline]
            pub fn decide(
                &mut self,
                cx: &$crate::strategy::DecisionContext,
                f: &mia_model::features::FeatureVector,
            ) -> Option<mia_model::msg::Signal> {
                match self {
                    $(AnyStrategy::$variant(s) => $crate::strategy::Strategy::decide(s, cx, f),)+
                }
            }

            /// Vetoed entries (see [`Strategy::vetoed`]).
            pub fn vetoed(&self) -> u64 {
                match self {
                    $(AnyStrategy::$variant(s) => $crate::strategy::Strategy::vetoed(s),)+
                }
            }
        }
    };
}
