//! The strategy seam: a [`Strategy`] turns the feature vector and the decision context into
//! a [`Signal`]. The `[signal] strategy = "<name>"` key picks one from the [`registry`].
//!
//! Adding a strategy: write one file here with a type that implements [`Strategy`], then add
//! one line to the `strategy_set!` list in [`registry`]. The macro gives it a variant of
//! [`registry::StrategyKind`] (its config name), a `[signal.<name>]` section and a variant of
//! [`registry::AnyStrategy`], which dispatches with a `match` (no `Box<dyn>` on the hot path).

pub mod registry;
pub mod threshold;

use crate::gates::Allow;
use mia_model::features::FeatureVector;
use mia_model::msg::Signal;
use mia_model::price::Px;

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

    /// Builds the strategy.
    fn new(cfg: &Self::Config) -> Self;

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

        impl Default for StrategyKind {
            fn default() -> Self {
                StrategyKind::$default
            }
        }

        /// The `[signal]` config: the strategy to run and every strategy's section.
        #[derive(Clone, Debug, Default, PartialEq, serde::Deserialize, serde::Serialize)]
        #[serde(deny_unknown_fields, default)]
        pub struct StrategiesConfig {
            /// The strategy that runs.
            pub strategy: StrategyKind,
            $(
                #[doc = concat!("`[signal.", stringify!($ename), "]` (signal-engine module).")]
                pub $ename: $ety,
            )*
            $(
                #[doc = concat!("`[signal.", stringify!($name), "]`.")]
                pub $name: <$ty as $crate::strategy::Strategy>::Config,
            )+
        }

        impl StrategiesConfig {
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
                Ok(())
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
            /// Builds the strategy `cfg.strategy` selects.
            pub fn new(cfg: &StrategiesConfig) -> Self {
                match cfg.strategy {
                    $(StrategyKind::$variant => AnyStrategy::$variant(<$ty as $crate::strategy::Strategy>::new(&cfg.$name)),)+
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
