//! Profiles (SIGNALS.md §12, `[profile.*]`): the four numbers that differ between backtest,
//! paper and production. Everything else is identical across profiles. Unknown profile
//! names and keys are config errors (`deny_unknown_fields`).

/// Which profile runs (`[signal] profile`; `mia backtest` → backtest, `mia live` →
/// production, `--profile` overrides).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProfileName {
    /// `[profile.backtest]`.
    Backtest,
    /// `[profile.paper]` (the default).
    #[default]
    Paper,
    /// `[profile.production]`.
    Production,
}

impl ProfileName {
    /// Always valid (the enum is checked when it is parsed).
    ///
    /// # Errors
    /// Never.
    pub fn validate(&self) -> Result<(), String> {
        Ok(())
    }

    /// Parses a name (`--profile`).
    ///
    /// # Errors
    /// `profile: unknown profile "<name>"`.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "backtest" => Ok(Self::Backtest),
            "paper" => Ok(Self::Paper),
            "production" => Ok(Self::Production),
            _ => Err(format!("profile: unknown profile \"{s}\" (backtest, paper, production)")),
        }
    }

    /// The config name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Backtest => "backtest",
            Self::Paper => "paper",
            Self::Production => "production",
        }
    }
}

/// One `[profile.<name>]` section.
#[derive(Clone, Copy, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Profile {
    /// Risk-reward gate: `rr ≥ min_risk_reward`.
    pub min_risk_reward: f64,
    /// Confidence gate: `conf₂ ≥ min_confidence` (departure 15).
    pub min_confidence: f64,
    /// Upper clamp of the size hint (contracts).
    pub max_size: f64,
    /// Quality gate: `C(d) ≥ min_confluence` (departure 23: the only confluence floor).
    pub min_confluence: f64,
}

impl Profile {
    /// The seed's backtest values.
    pub const BACKTEST: Profile =
        Profile { min_risk_reward: 1.0, min_confidence: 0.60, max_size: 1.0, min_confluence: 0.60 };
    /// The seed's paper values.
    pub const PAPER: Profile =
        Profile { min_risk_reward: 1.5, min_confidence: 0.70, max_size: 2.0, min_confluence: 0.60 };
    /// The seed's production values.
    pub const PRODUCTION: Profile =
        Profile { min_risk_reward: 2.0, min_confidence: 0.75, max_size: 3.0, min_confluence: 0.65 };

    /// Checks the section.
    ///
    /// # Errors
    /// A `key: reason` message for the first bad key.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.min_risk_reward.is_finite() && self.min_risk_reward >= 0.0) {
            return Err(format!("min_risk_reward: must be finite and ≥ 0, got {}", self.min_risk_reward));
        }
        if !(self.min_confidence.is_finite() && (0.0..=1.0).contains(&self.min_confidence)) {
            return Err(format!("min_confidence: must be in [0, 1], got {}", self.min_confidence));
        }
        if !(self.max_size.is_finite() && self.max_size > 0.0) {
            return Err(format!("max_size: must be finite and > 0, got {}", self.max_size));
        }
        if !(self.min_confluence.is_finite() && (0.0..=1.0).contains(&self.min_confluence)) {
            return Err(format!("min_confluence: must be in [0, 1], got {}", self.min_confluence));
        }
        Ok(())
    }
}

/// A `[profile.*]` section given without keys takes the paper values; each named section has
/// its own defaults through [`Profiles`].
impl Default for Profile {
    fn default() -> Self {
        Self::PAPER
    }
}

macro_rules! profile_default {
    ($fn:ident, $c:ident) => {
        fn $fn() -> Profile {
            Profile::$c
        }
    };
}
profile_default!(backtest_default, BACKTEST);
profile_default!(paper_default, PAPER);
profile_default!(production_default, PRODUCTION);

/// A partial `[profile.<name>]` table: keys left out keep that profile's seed value.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PartialProfile {
    min_risk_reward: Option<f64>,
    min_confidence: Option<f64>,
    max_size: Option<f64>,
    min_confluence: Option<f64>,
}

impl PartialProfile {
    fn over(self, base: Profile) -> Profile {
        Profile {
            min_risk_reward: self.min_risk_reward.unwrap_or(base.min_risk_reward),
            min_confidence: self.min_confidence.unwrap_or(base.min_confidence),
            max_size: self.max_size.unwrap_or(base.max_size),
            min_confluence: self.min_confluence.unwrap_or(base.min_confluence),
        }
    }
}

fn de_backtest<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Profile, D::Error> {
    <PartialProfile as serde::Deserialize>::deserialize(d).map(|p| p.over(Profile::BACKTEST))
}
fn de_paper<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Profile, D::Error> {
    <PartialProfile as serde::Deserialize>::deserialize(d).map(|p| p.over(Profile::PAPER))
}
fn de_production<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Profile, D::Error> {
    <PartialProfile as serde::Deserialize>::deserialize(d).map(|p| p.over(Profile::PRODUCTION))
}

/// The `[profile]` table: its three sections. Any other name is an error.
#[derive(Clone, Copy, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Profiles {
    /// `[profile.backtest]`.
    #[serde(default = "backtest_default", deserialize_with = "de_backtest")]
    pub backtest: Profile,
    /// `[profile.paper]`.
    #[serde(default = "paper_default", deserialize_with = "de_paper")]
    pub paper: Profile,
    /// `[profile.production]`.
    #[serde(default = "production_default", deserialize_with = "de_production")]
    pub production: Profile,
}

impl Default for Profiles {
    fn default() -> Self {
        Self { backtest: Profile::BACKTEST, paper: Profile::PAPER, production: Profile::PRODUCTION }
    }
}

impl Profiles {
    /// The profile `name`.
    pub fn get(&self, name: ProfileName) -> Profile {
        match name {
            ProfileName::Backtest => self.backtest,
            ProfileName::Paper => self.paper,
            ProfileName::Production => self.production,
        }
    }

    /// Checks every section.
    ///
    /// # Errors
    /// `<name>.<key>: reason` for the first bad key.
    pub fn validate(&self) -> Result<(), String> {
        for n in [ProfileName::Backtest, ProfileName::Paper, ProfileName::Production] {
            self.get(n).validate().map_err(|e| format!("{}.{e}", n.as_str()))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Root {
        #[serde(default)]
        profile: Profiles,
    }

    const SEED: &str = r#"
[profile.backtest]
min_risk_reward = 1.0
min_confidence  = 0.60
max_size        = 1.0
min_confluence  = 0.60
[profile.paper]
min_risk_reward = 1.5
min_confidence  = 0.70
max_size        = 2.0
min_confluence  = 0.60
[profile.production]
min_risk_reward = 2.0
min_confidence  = 0.75
max_size        = 3.0
min_confluence  = 0.65
"#;

    #[test]
    fn seed_toml_parses_to_defaults() {
        let r: Root = toml::from_str(SEED).expect("seed profiles parse");
        assert_eq!(r.profile, Profiles::default());
        assert!(r.profile.validate().is_ok());
        assert_eq!(r.profile.get(ProfileName::Production).max_size, 3.0);
        assert_eq!(r.profile.get(ProfileName::Backtest).min_risk_reward, 1.0);
    }

    #[test]
    fn partial_sections_keep_their_own_defaults() {
        let r: Root = toml::from_str("[profile.production]\nmax_size = 4.0\n").expect("parse");
        assert_eq!(r.profile.production, Profile { max_size: 4.0, ..Profile::PRODUCTION });
        assert_eq!(r.profile.paper, Profile::PAPER);
        let r: Root = toml::from_str("").expect("parse");
        assert_eq!(r.profile, Profiles::default());
    }

    #[test]
    fn unknown_names_and_keys_are_errors() {
        let e = toml::from_str::<Root>("[profile.aggressive]\nmax_size = 5.0\n").err().map(|e| e.to_string());
        assert!(e.is_some_and(|e| e.contains("aggressive")));
        let e = toml::from_str::<Root>("[profile.paper]\nmax_sz = 5.0\n").err().map(|e| e.to_string());
        assert!(e.is_some_and(|e| e.contains("max_sz")));
        assert_eq!(
            ProfileName::parse("live").unwrap_err(),
            "profile: unknown profile \"live\" (backtest, paper, production)"
        );
        assert_eq!(ProfileName::parse("backtest"), Ok(ProfileName::Backtest));
    }

    #[test]
    fn validate_names_profile_and_key() {
        let mut p = Profiles::default();
        p.production.min_confidence = 1.5;
        assert!(p.validate().unwrap_err().starts_with("production.min_confidence:"));
        let mut p = Profiles::default();
        p.backtest.max_size = 0.0;
        assert!(p.validate().unwrap_err().starts_with("backtest.max_size:"));
    }
}
