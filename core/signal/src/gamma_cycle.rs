//! Gamma cycles (SIGNALS.md §8, `[signal.gamma_cycle]`): where the session date `D` sits in the
//! monthly options-expiration cycle, counted in exchange trading days.
//!
//! - `E = next_monthly_expiry(D)` (on or after `D`), `E_prev = previous_monthly_expiry(D)`
//!   (strictly before `D`), both from [`mia_options::calendar`] (3rd Friday, or the trading
//!   day before it when that Friday is a holiday).
//! - `n_to` = trading days in `(D, E]` (0 on the expiry day; this is feature F14);
//!   `n_since` = trading days in `(E_prev, D]`.
//!
//! The phase is the first rule that matches, in this order:
//!
//! | phase | rule (defaults) | factor | size adjustment |
//! |---|---|---|---|
//! | [`GammaPhase::PostExpiry`] | `n_since ≤ 2 ∧ n_to > 15` | 1.05 | 1.0 |
//! | [`GammaPhase::ExpiryWeek`] | `n_to ≤ 2` | 0.7 | 0.8 |
//! | [`GammaPhase::GammaPeak`] | `n_to ≤ 5` | 1.3 | 1.2 |
//! | [`GammaPhase::GammaModerate`] | `n_to ≤ 10` | 1.1 | 1.0 |
//! | [`GammaPhase::Normal`] | otherwise | 1.0 | 1.0 |
//!
//! [`gamma_cycle`] is pure and allocation-free; it runs once per session change.

use mia_model::time::calendar::Date;
use mia_options::calendar::{
    is_opex_week, next_monthly_expiry, previous_monthly_expiry, trading_days_between,
};

/// The phase of the monthly gamma cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GammaPhase {
    /// Just after a monthly expiry, far from the next one.
    PostExpiry,
    /// At most `expiry_max` trading days to the expiry.
    ExpiryWeek,
    /// `expiry_max < n_to ≤ peak_max`: dealer gamma at its largest.
    GammaPeak,
    /// `peak_max < n_to ≤ moderate_max`.
    GammaModerate,
    /// None of the above.
    Normal,
}

impl GammaPhase {
    /// Code recorded in feature snapshots (1…5, in declaration order; 0 is "none yet").
    pub const fn code(self) -> u32 {
        match self {
            GammaPhase::PostExpiry => 1,
            GammaPhase::ExpiryWeek => 2,
            GammaPhase::GammaPeak => 3,
            GammaPhase::GammaModerate => 4,
            GammaPhase::Normal => 5,
        }
    }
}

/// Defines a per-phase table of numbers with its own defaults: a table given in part in
/// the config keeps the defaults of the phases it leaves out.
macro_rules! phase_table {
    ($(#[$doc:meta])* $name:ident, $key:literal, [$pe:expr, $ew:expr, $pk:expr, $md:expr, $nm:expr]) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
        #[serde(deny_unknown_fields, default)]
        pub struct $name {
            #[doc = concat!("[`GammaPhase::PostExpiry`] (default ", stringify!($pe), ").")]
            pub post_expiry: f64,
            #[doc = concat!("[`GammaPhase::ExpiryWeek`] (default ", stringify!($ew), ").")]
            pub expiry_week: f64,
            #[doc = concat!("[`GammaPhase::GammaPeak`] (default ", stringify!($pk), ").")]
            pub peak: f64,
            #[doc = concat!("[`GammaPhase::GammaModerate`] (default ", stringify!($md), ").")]
            pub moderate: f64,
            #[doc = concat!("[`GammaPhase::Normal`] (default ", stringify!($nm), ").")]
            pub normal: f64,
        }

        impl Default for $name {
            fn default() -> Self {
                Self { post_expiry: $pe, expiry_week: $ew, peak: $pk, moderate: $md, normal: $nm }
            }
        }

        impl $name {
            /// The value of `phase`.
            #[inline]
            pub fn get(&self, phase: GammaPhase) -> f64 {
                match phase {
                    GammaPhase::PostExpiry => self.post_expiry,
                    GammaPhase::ExpiryWeek => self.expiry_week,
                    GammaPhase::GammaPeak => self.peak,
                    GammaPhase::GammaModerate => self.moderate,
                    GammaPhase::Normal => self.normal,
                }
            }

            /// `Err("<table>.<phase>: ...")` for the first value that is not finite and > 0.
            fn check(&self) -> Result<(), String> {
                let values = [
                    ("post_expiry", self.post_expiry),
                    ("expiry_week", self.expiry_week),
                    ("peak", self.peak),
                    ("moderate", self.moderate),
                    ("normal", self.normal),
                ];
                match values.into_iter().find(|(_, v)| !(v.is_finite() && *v > 0.0)) {
                    Some((k, _)) => Err(format!(concat!($key, ".{}: must be finite and > 0"), k)),
                    None => Ok(()),
                }
            }
        }
    };
}

phase_table!(
    /// `[signal.gamma_cycle] factor`: the confidence factor `f` of each phase.
    PhaseFactors,
    "factor",
    [1.05, 0.7, 1.3, 1.1, 1.0]
);

phase_table!(
    /// `[signal.gamma_cycle] size_adj`: the size adjustment `g_size` of each phase.
    PhaseSizeAdj,
    "size_adj",
    [1.0, 0.8, 1.2, 1.0, 1.0]
);

/// `[signal.gamma_cycle]`: phase thresholds (trading days) and what each phase modulates.
#[derive(Clone, Copy, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct GammaCycleConfig {
    /// POST_EXPIRY needs `n_since ≤ post_since_max`.
    pub post_since_max: u32,
    /// POST_EXPIRY needs `n_to > post_to_min`.
    pub post_to_min: u32,
    /// EXPIRY_WEEK when `n_to ≤ expiry_max`.
    pub expiry_max: u32,
    /// GAMMA_PEAK when `n_to ≤ peak_max`.
    pub peak_max: u32,
    /// GAMMA_MODERATE when `n_to ≤ moderate_max`.
    pub moderate_max: u32,
    /// Confidence factor `f` per phase (enters §11 as `x8 = min(f/1.5, 1)`).
    pub factor: PhaseFactors,
    /// Size adjustment `g_size` per phase (§13).
    pub size_adj: PhaseSizeAdj,
    /// Above this 0DTE share of |GEX| (with a fresh snapshot) `g_size` is capped at 1.0.
    pub zdte_high: f64,
}

impl Default for GammaCycleConfig {
    fn default() -> Self {
        Self {
            post_since_max: 2,
            post_to_min: 15,
            expiry_max: 2,
            peak_max: 5,
            moderate_max: 10,
            factor: PhaseFactors::default(),
            size_adj: PhaseSizeAdj::default(),
            zdte_high: 0.5,
        }
    }
}

impl GammaCycleConfig {
    /// Checks the section.
    ///
    /// # Errors
    /// `key: reason` for the first bad key (relative to `[signal.gamma_cycle]`).
    pub fn validate(&self) -> Result<(), String> {
        if self.peak_max < self.expiry_max {
            return Err(format!("peak_max: must be ≥ expiry_max ({})", self.expiry_max));
        }
        if self.moderate_max < self.peak_max {
            return Err(format!("moderate_max: must be ≥ peak_max ({})", self.peak_max));
        }
        self.factor.check()?;
        self.size_adj.check()?;
        if !(0.0..=1.0).contains(&self.zdte_high) {
            return Err("zdte_high: must be in [0, 1]".into());
        }
        Ok(())
    }
}

/// Where a session date sits in the monthly gamma cycle (SIGNALS.md §8).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GammaCycleState {
    /// The session date the state was computed for.
    pub session: Date,
    /// The next monthly expiry `E` (on or after the session date).
    pub expiry: Date,
    /// The phase.
    pub phase: GammaPhase,
    /// Trading days in `(D, E]` (F14).
    pub n_to: u32,
    /// Trading days in `(E_prev, D]`.
    pub n_since: u32,
    /// `D` is in the Monday–Friday week of the expiry ([`is_opex_week`]).
    pub opex_week: bool,
    /// Confidence factor `f` of the phase.
    pub factor: f64,
    /// Size adjustment `g_size` of the phase, before the 0DTE cap (see [`Self::g_size`]).
    pub size_adj: f64,
    /// Share of |GEX| expiring at the next expiration, from the snapshot (0 when not valid).
    pub zero_dte_share: f64,
    /// True iff `zero_dte_share` comes from a fresh snapshot (set at decision points).
    pub zdte_valid: bool,
}

impl GammaCycleState {
    /// The state with its 0DTE fields set from a snapshot reading (`None` = no fresh
    /// snapshot, or a non-finite share).
    #[inline]
    pub fn with_zero_dte(mut self, share: Option<f64>) -> Self {
        match share.filter(|s| s.is_finite()) {
            Some(s) => {
                self.zero_dte_share = s;
                self.zdte_valid = true;
            }
            None => {
                self.zero_dte_share = 0.0;
                self.zdte_valid = false;
            }
        }
        self
    }

    /// The size adjustment for §13: `size_adj`, capped at 1.0 when a valid 0DTE share exceeds
    /// `zdte_high` (no gamma up-sizing while same-day gamma dominates).
    #[inline]
    pub fn g_size(&self, zdte_high: f64) -> f64 {
        if self.zdte_valid && self.zero_dte_share > zdte_high {
            self.size_adj.min(1.0)
        } else {
            self.size_adj
        }
    }
}

/// The phase for the counts `n_to` and `n_since` under `cfg` (rules checked in table order).
pub fn classify(n_to: u32, n_since: u32, cfg: &GammaCycleConfig) -> GammaPhase {
    if n_since <= cfg.post_since_max && n_to > cfg.post_to_min {
        GammaPhase::PostExpiry
    } else if n_to <= cfg.expiry_max {
        GammaPhase::ExpiryWeek
    } else if n_to <= cfg.peak_max {
        GammaPhase::GammaPeak
    } else if n_to <= cfg.moderate_max {
        GammaPhase::GammaModerate
    } else {
        GammaPhase::Normal
    }
}

/// The gamma-cycle state of session date `d` (0DTE fields unset: see
/// [`GammaCycleState::with_zero_dte`]). Pure, allocation-free.
pub fn gamma_cycle(d: Date, cfg: &GammaCycleConfig) -> GammaCycleState {
    let expiry = next_monthly_expiry(d);
    let n_to = trading_days_between(d, expiry);
    let n_since = trading_days_between(previous_monthly_expiry(d), d);
    let phase = classify(n_to, n_since, cfg);
    GammaCycleState {
        session: d,
        expiry,
        phase,
        n_to,
        n_since,
        opex_week: is_opex_week(d),
        factor: cfg.factor.get(phase),
        size_adj: cfg.size_adj.get(phase),
        zero_dte_share: 0.0,
        zdte_valid: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u8, day: u8) -> Date {
        Date::new(y, m, day).expect("valid test date")
    }

    /// SIGNALS §14 T13, every row: (D, E, n_to, n_since, phase, f).
    #[test]
    fn t13_rows() {
        let cfg = GammaCycleConfig::default();
        let rows = [
            (d(2025, 4, 10), d(2025, 4, 17), 5, 14, GammaPhase::GammaPeak, 1.3),
            (d(2025, 4, 15), d(2025, 4, 17), 2, 17, GammaPhase::ExpiryWeek, 0.7),
            (d(2025, 1, 21), d(2025, 2, 21), 22, 1, GammaPhase::PostExpiry, 1.05),
            (d(2024, 6, 13), d(2024, 6, 21), 5, 18, GammaPhase::GammaPeak, 1.3),
            (d(2024, 3, 27), d(2024, 4, 19), 16, 8, GammaPhase::Normal, 1.0),
            // The largest n_to.
            (d(2025, 10, 20), d(2025, 11, 21), 24, 1, GammaPhase::PostExpiry, 1.05),
        ];
        for (day, e, n_to, n_since, phase, f) in rows {
            let s = gamma_cycle(day, &cfg);
            assert_eq!(s.expiry, e, "{day}");
            assert_eq!((s.n_to, s.n_since, s.phase), (n_to, n_since, phase), "{day}");
            assert!((s.factor - f).abs() < 1e-12, "{day}: {}", s.factor);
            assert_eq!(s.session, day);
            assert!(!s.zdte_valid);
        }
        assert_eq!(next_monthly_expiry(d(2025, 4, 10)), d(2025, 4, 17));
    }

    #[test]
    fn expiry_day_size_adj_and_opex_week() {
        let cfg = GammaCycleConfig::default();
        // On the (holiday-moved) expiry day itself n_to = 0; E_prev = 2025-03-21, and
        // (03-21, 04-17] holds 19 trading days (Mar 24–31: 6, Apr 1–17: 13).
        let s = gamma_cycle(d(2025, 4, 17), &cfg);
        assert_eq!((s.n_to, s.n_since, s.phase), (0, 19, GammaPhase::ExpiryWeek));
        assert_eq!(s.size_adj, 0.8);
        assert!(s.opex_week);
        // The Monday after: 2025-04-21, E = 05-16 (19 trading days), n_since = 1 (04-18 holiday).
        let s = gamma_cycle(d(2025, 4, 21), &cfg);
        assert_eq!((s.n_to, s.n_since, s.phase), (19, 1, GammaPhase::PostExpiry));
        assert!(!s.opex_week);
        // GAMMA_MODERATE: 2025-04-08 → (04-08, 04-17] = 9, 10, 11, 14, 15, 16, 17 = 7.
        let s = gamma_cycle(d(2025, 4, 8), &cfg);
        assert_eq!((s.n_to, s.phase, s.factor, s.size_adj), (7, GammaPhase::GammaModerate, 1.1, 1.0));
        // PEAK has size_adj 1.2, capped to 1.0 only by a valid 0DTE share above zdte_high.
        let s = gamma_cycle(d(2025, 4, 10), &cfg);
        assert_eq!(s.g_size(cfg.zdte_high), 1.2);
        assert_eq!(s.with_zero_dte(Some(0.6)).g_size(cfg.zdte_high), 1.0);
        assert_eq!(s.with_zero_dte(Some(0.5)).g_size(cfg.zdte_high), 1.2, "not above 0.5");
        assert_eq!(s.with_zero_dte(None).g_size(cfg.zdte_high), 1.2);
        let nan = s.with_zero_dte(Some(f64::NAN));
        assert!(!nan.zdte_valid && nan.zero_dte_share == 0.0);
    }

    #[test]
    fn classify_order_and_config() {
        let cfg = GammaCycleConfig::default();
        // POST_EXPIRY is checked first, then the n_to bands.
        assert_eq!(classify(16, 2, &cfg), GammaPhase::PostExpiry);
        assert_eq!(classify(15, 2, &cfg), GammaPhase::Normal);
        assert_eq!(classify(16, 3, &cfg), GammaPhase::Normal);
        assert_eq!(classify(3, 0, &cfg), GammaPhase::GammaPeak);
        assert_eq!(classify(2, 30, &cfg), GammaPhase::ExpiryWeek);
        assert_eq!(classify(10, 9, &cfg), GammaPhase::GammaModerate);
        assert_eq!(classify(11, 9, &cfg), GammaPhase::Normal);
        assert_eq!(cfg.validate(), Ok(()));
        let bad = GammaCycleConfig { peak_max: 1, ..cfg };
        assert_eq!(bad.validate(), Err("peak_max: must be ≥ expiry_max (2)".to_string()));
        let bad = GammaCycleConfig { factor: PhaseFactors { peak: f64::NAN, ..cfg.factor }, ..cfg };
        assert_eq!(bad.validate(), Err("factor.peak: must be finite and > 0".to_string()));
        let bad = GammaCycleConfig { zdte_high: 1.5, ..cfg };
        assert!(bad.validate().is_err_and(|e| e.starts_with("zdte_high:")));
    }

    #[test]
    fn config_from_toml() {
        let cfg: GammaCycleConfig = toml::from_str("peak_max = 4\nfactor = { peak = 1.4 }\n")
            .unwrap_or_else(|e| panic!("parse: {e}"));
        assert_eq!(cfg.peak_max, 4);
        assert_eq!(cfg.factor.peak, 1.4);
        assert_eq!(cfg.factor.expiry_week, 0.7, "a table given in part keeps the other defaults");
        assert_eq!(cfg.size_adj, GammaCycleConfig::default().size_adj);
        assert!(toml::from_str::<GammaCycleConfig>("peek_max = 4").is_err(), "unknown key");
    }
}
