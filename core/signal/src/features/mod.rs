//! The feature seam (DESIGN §5, SIGNALS.md §2). Each feature is updated per event in O(1)
//! with fixed memory, documents its window or decay, and writes its value into a fixed
//! [`FeatureVector`] slot named by a [`FeatureId`].
//!
//! Adding a feature: write one file here with a type that implements [`Feature`] (its config
//! type, construction, event updates and `write`), then add one line to the
//! [`registry`]'s `feature_set!` list. The macro gives the [`registry::FeatureSet`] a field
//! for it (called with static dispatch, no `Box<dyn>`) and `[features.<name>]` a config
//! section.

pub mod delta;
pub mod obi;
pub mod registry;

use mia_model::book::Book;
use mia_model::event::Event;

/// Number of feature slots (DESIGN §5: 8 order flow, 6 options, 4 context).
pub const N_FEATURES: usize = 18;

/// The 18 features, numbered as in DESIGN §5; slot `v[id − 1]`, validity bit `id − 1`.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FeatureId {
    /// 1. Order-book imbalance.
    BookImbalance = 1,
    /// 2. Order-flow imbalance (Cont–Kukanov–Stoikov).
    OrderFlowImbalance = 2,
    /// 3. Rolling (and cumulative) delta.
    Delta = 3,
    /// 4. Delta divergence.
    DeltaDivergence = 4,
    /// 5. Tick momentum.
    TickMomentum = 5,
    /// 6. Microprice deviation.
    MicropriceDeviation = 6,
    /// 7. Smart money flow.
    SmartMoneyFlow = 7,
    /// 8. Absorption / footprint imbalance.
    Absorption = 8,
    /// 9. Net GEX.
    NetGex = 9,
    /// 10. Distance to the zero-gamma flip.
    ZeroGammaDistance = 10,
    /// 11. Distance to the call wall.
    CallWallDistance = 11,
    /// 12. Distance to the put wall.
    PutWallDistance = 12,
    /// 13. Put/call ratio.
    PutCallRatio = 13,
    /// 14. Gamma-cycle phase (trading days to monthly OPEX).
    GammaCycle = 14,
    /// 15. Volatility regime.
    VolatilityRegime = 15,
    /// 16. Session phase.
    SessionPhase = 16,
    /// 17. VWAP deviation.
    VwapDeviation = 17,
    /// 18. Market regime (efficiency ratio).
    MarketRegime = 18,
}

impl FeatureId {
    /// Slot index in [`FeatureVector::v`].
    #[inline]
    pub const fn slot(self) -> usize {
        self as usize - 1
    }
}

/// The feature values at one point of the input stream: `v[id − 1]` holds feature `id`,
/// valid iff bit `id − 1` of `valid` is set. An invalid slot is never read as a number.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct FeatureVector {
    /// Event time of the refresh (ns).
    pub ts: u64,
    /// Sequence number of the input that refreshed it.
    pub seq: u64,
    /// Values.
    pub v: [f32; N_FEATURES],
    /// Validity bits.
    pub valid: u32,
    /// State flags (SIGNALS.md §2: no/stale options snapshot, bad book, warm-up).
    pub flags: u32,
}

const _: () = assert!(core::mem::size_of::<FeatureVector>() == 96);

impl FeatureVector {
    /// Sets feature `id` to `value` and marks it valid (a non-finite value marks it invalid).
    #[inline]
    pub fn set(&mut self, id: FeatureId, value: f32) {
        if value.is_finite() {
            self.v[id.slot()] = value;
            self.valid |= 1 << id.slot();
        } else {
            self.invalidate(id);
        }
    }

    /// Marks feature `id` invalid.
    #[inline]
    pub fn invalidate(&mut self, id: FeatureId) {
        self.v[id.slot()] = 0.0;
        self.valid &= !(1 << id.slot());
    }

    /// The value of feature `id`, `None` when invalid.
    #[inline]
    pub fn get(&self, id: FeatureId) -> Option<f32> {
        (self.valid & (1 << id.slot()) != 0).then(|| self.v[id.slot()])
    }
}

/// What a feature sees of one accepted market event.
#[derive(Clone, Copy, Debug)]
pub struct EventView<'a> {
    /// The event (already applied to `book`).
    pub ev: &'a Event,
    /// The book after the event.
    pub book: &'a Book,
    /// For a `Level` event: the level's size before the event (0 otherwise).
    pub prev_size: u32,
}

/// One incremental feature.
pub trait Feature: Send + Sized + 'static {
    /// Its `[features.<name>]` config section.
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

    /// An accepted market event (book already updated).
    fn on_event(&mut self, e: &EventView<'_>);

    /// The book was cleared.
    fn on_clear(&mut self) {}

    /// The end of a feed record (`LAST`) on a consistent book, at event time `ts`: time-based
    /// windows advance here.
    fn on_last(&mut self, _ts: u64) {}

    /// Writes the current value(s) into `out`.
    fn write(&self, out: &mut FeatureVector);
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

            /// Feeds an accepted event to every feature.
            #[inline]
            pub fn on_event(&mut self, e: &$crate::features::EventView<'_>) {
                $($crate::features::Feature::on_event(&mut self.$name, e);)+
            }

            /// Tells every feature the book was cleared.
            #[inline]
            pub fn on_clear(&mut self) {
                $($crate::features::Feature::on_clear(&mut self.$name);)+
            }

            /// Record boundary on a consistent book.
            #[inline]
            pub fn on_last(&mut self, ts: u64) {
                $($crate::features::Feature::on_last(&mut self.$name, ts);)+
            }

            /// Writes every feature into `out`.
            #[inline]
            pub fn write(&self, out: &mut $crate::features::FeatureVector) {
                $($crate::features::Feature::write(&self.$name, out);)+
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vector_slots_and_validity() {
        let mut v = FeatureVector::default();
        assert_eq!(v.get(FeatureId::Delta), None);
        v.set(FeatureId::Delta, 12.0);
        v.set(FeatureId::MarketRegime, -0.5);
        assert_eq!((v.get(FeatureId::Delta), v.get(FeatureId::MarketRegime)), (Some(12.0), Some(-0.5)));
        assert_eq!(v.valid, (1 << 2) | (1 << 17));
        v.set(FeatureId::Delta, f32::NAN);
        assert_eq!(v.get(FeatureId::Delta), None, "a non-finite value is never valid");
        v.invalidate(FeatureId::MarketRegime);
        assert_eq!(v.valid, 0);
    }
}
