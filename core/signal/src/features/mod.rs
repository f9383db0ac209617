//! The feature seam (DESIGN §5, SIGNALS.md §2). Each feature is updated per event in O(1)
//! with fixed memory, documents its window or decay, and writes its value into a fixed
//! [`FeatureVector`] slot named by a [`FeatureId`].
//!
//! Adding a feature: write one file here with a type that implements [`Feature`] (its config
//! type, construction and the hooks it is updated on), then add one line to the
//! [`registry`]'s `feature_set!` list. The macro gives the [`registry::FeatureSet`] a field
//! for it (called with static dispatch, no `Box<dyn>`) and `[features.<name>]` a config
//! section.

pub mod absorption;
pub mod delta;
pub mod divergence;
pub mod engine;
pub mod microprice;
pub mod momentum;
pub mod obi;
pub mod ofi;
pub mod options;
pub mod regime;
pub mod registry;
pub mod session_phase;
pub mod smart_money;
pub mod volatility;
pub mod vwap_dev;
pub mod window;

use crate::market::bars::Timeframe;
use crate::market::{Market, TradeTick};
use mia_model::event::Event;
use mia_model::features::FeatureVector;
use mia_options::levels::GammaLevels;

/// The config of a feature with no keys (`[features.<name>]` must be empty).
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct NoConfig {}

/// One incremental feature. Each hook has a no-op default; a feature implements the events
/// it is updated on (SIGNALS.md §2 "updated on") and writes its slot(s) of `out` when its
/// value changes: the vector is state, never rebuilt per event. Hooks read the shared
/// [`Market`] (already updated for the event) and never mutate it.
pub trait Feature: Send + Sized + 'static {
    /// Its config section.
    type Config: Clone
        + Default
        + PartialEq
        + std::fmt::Debug
        + serde::Serialize
        + serde::de::DeserializeOwned;

    /// Builds the feature; `tick` is the contract's tick (1e-9 units).
    fn new(cfg: &Self::Config, tick: i64) -> Self;

    /// Checks the config section; `Err` names the key (relative to the section) and why.
    ///
    /// # Errors
    /// A `key: reason` message for the first bad key.
    fn validate(_cfg: &Self::Config) -> Result<(), String> {
        Ok(())
    }

    /// Longest bar lookback (bars) the config needs per timeframe index (the ring must hold it).
    fn lookback(_cfg: &Self::Config) -> [usize; 4] {
        [0; 4]
    }

    /// A `Level` event was applied; `prev_size` is the level's size before it.
    #[inline]
    fn on_level(&mut self, _m: &Market, _ev: &Event, _prev_size: u32) {}

    /// A trade was applied to the market state.
    #[inline]
    fn on_trade(&mut self, _m: &Market, _t: &TradeTick, _out: &mut FeatureVector) {}

    /// The book was cleared.
    #[inline]
    fn on_clear(&mut self, _out: &mut FeatureVector) {}

    /// The end of a feed record (`LAST`): the book is consistent (or flagged bad).
    #[inline]
    fn on_last(&mut self, _m: &Market, _out: &mut FeatureVector) {}

    /// A bar of `tf` closed (it is `m.bars.series(tf).ring.last()`).
    #[inline]
    fn on_bar_close(&mut self, _m: &Market, _tf: Timeframe, _out: &mut FeatureVector) {}

    /// A new session started (before its first event is applied).
    #[inline]
    fn on_session(&mut self, _m: &Market, _out: &mut FeatureVector) {}

    /// The session phase changed.
    #[inline]
    fn on_phase(&mut self, _m: &Market, _out: &mut FeatureVector) {}

    /// A gamma snapshot was adopted (a sequenced `GammaPublished` input).
    #[inline]
    fn on_gamma(&mut self, _m: &Market, _levels: &GammaLevels, _out: &mut FeatureVector) {}
}

/// Defines the feature set from a list of `name: Type` lines (see [`registry`]).
#[macro_export]
macro_rules! feature_set {
    ($(#[$doc:meta])* $($name:ident : $ty:ty),+ $(,)?) => {
        /// The `[features]` config: one section per registered feature.
        #[derive(Clone, Debug, Default, PartialEq, serde::Deserialize, serde::Serialize)]
        #[serde(deny_unknown_fields, default)]
        pub struct FeaturesConfig {
            $(
                #[doc = concat!("`[features.", stringify!($name), "]`.")]
                pub $name: <$ty as $crate::features::Feature>::Config,
            )+
        }

        impl FeaturesConfig {
            /// Checks every section; the error names `features.<name>.<key>`.
            ///
            /// # Errors
            /// The first bad key.
            pub fn validate(&self) -> Result<(), String> {
                $(
                    <$ty as $crate::features::Feature>::validate(&self.$name)
                        .map_err(|e| format!(concat!("features.", stringify!($name), ".{}"), e))?;
                )+
                Ok(())
            }

            /// Longest bar lookback per timeframe over every feature.
            pub fn lookback(&self) -> [usize; 4] {
                let mut out = [0usize; 4];
                $(
                    let l = <$ty as $crate::features::Feature>::lookback(&self.$name);
                    for (o, x) in out.iter_mut().zip(l) {
                        *o = (*o).max(x);
                    }
                )+
                out
            }
        }

        $(#[$doc])*
        pub struct FeatureSet {
            $(
                #[doc = concat!("The `", stringify!($name), "` feature.")]
                pub $name: $ty,
            )+
        }

        impl FeatureSet {
            /// Builds every registered feature from its section.
            pub fn new(cfg: &FeaturesConfig, tick: i64) -> Self {
                Self { $($name: <$ty as $crate::features::Feature>::new(&cfg.$name, tick),)+ }
            }

            /// A level was applied.
            #[inline]
            pub fn on_level(&mut self, m: &$crate::market::Market, ev: &mia_model::event::Event, prev: u32) {
                $($crate::features::Feature::on_level(&mut self.$name, m, ev, prev);)+
            }

            /// A trade was applied.
            #[inline]
            pub fn on_trade(&mut self, m: &$crate::market::Market, t: &$crate::market::TradeTick, out: &mut mia_model::features::FeatureVector) {
                $($crate::features::Feature::on_trade(&mut self.$name, m, t, out);)+
            }

            /// The book was cleared.
            #[inline]
            pub fn on_clear(&mut self, out: &mut mia_model::features::FeatureVector) {
                $($crate::features::Feature::on_clear(&mut self.$name, out);)+
            }

            /// Record boundary.
            #[inline]
            pub fn on_last(&mut self, m: &$crate::market::Market, out: &mut mia_model::features::FeatureVector) {
                $($crate::features::Feature::on_last(&mut self.$name, m, out);)+
            }

            /// A bar closed.
            pub fn on_bar_close(&mut self, m: &$crate::market::Market, tf: $crate::market::bars::Timeframe, out: &mut mia_model::features::FeatureVector) {
                $($crate::features::Feature::on_bar_close(&mut self.$name, m, tf, out);)+
            }

            /// A session started.
            pub fn on_session(&mut self, m: &$crate::market::Market, out: &mut mia_model::features::FeatureVector) {
                $($crate::features::Feature::on_session(&mut self.$name, m, out);)+
            }

            /// The phase changed.
            pub fn on_phase(&mut self, m: &$crate::market::Market, out: &mut mia_model::features::FeatureVector) {
                $($crate::features::Feature::on_phase(&mut self.$name, m, out);)+
            }

            /// A gamma snapshot was adopted.
            pub fn on_gamma(&mut self, m: &$crate::market::Market, levels: &mia_options::levels::GammaLevels, out: &mut mia_model::features::FeatureVector) {
                $($crate::features::Feature::on_gamma(&mut self.$name, m, levels, out);)+
            }
        }
    };
}
