//! Secrets (broker account ids, webhook URLs): read from the environment (or an untracked
//! `.env` the binary loads first), never printed. [`Secret`]'s `Debug` and `Display` show
//! `***`, so a secret inside any struct that is logged or formatted stays hidden; only
//! [`Secret::expose`] gives the value, at the one place that sends it (a broker request).

/// A value that must never be logged, journaled or committed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

/// How a secret prints.
pub const REDACTED: &str = "***";

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret in environment variable `var`: `Ok(None)` when unset or empty.
    ///
    /// # Errors
    /// The variable is set but not valid Unicode (named, value not shown).
    pub fn from_env(var: &str) -> Result<Option<Self>, String> {
        match std::env::var(var) {
            Ok(v) if v.trim().is_empty() => Ok(None),
            Ok(v) => Ok(Some(Self(v.trim().to_string()))),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => Err(format!("{var}: the value is not valid Unicode")),
        }
    }

    /// The secret in `var`, which must be set.
    ///
    /// # Errors
    /// Unset or empty: the message names the variable and where to set it.
    pub fn require(var: &str) -> Result<Self, String> {
        Self::from_env(var)?.ok_or_else(|| {
            format!("{var} is not set: put it in the environment or in an untracked .env file")
        })
    }

    /// The secret in `var` exactly as set (not trimmed: a password may hold spaces); `None`
    /// when unset, empty or not valid Unicode.
    pub fn from_env_exact(var: &str) -> Option<Self> {
        std::env::var(var).ok().filter(|v| !v.is_empty()).map(Self)
    }

    /// A redacted form for operator output: the first two characters and the length
    /// (`DU…(9)`), enough to tell a paper account from a live one without revealing it.
    pub fn redacted(&self) -> String {
        let head: String = self.0.chars().take(2).collect();
        format!("{head}…({})", self.0.chars().count())
    }

    /// The value, for the one call that needs it. Never format it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `text` with every occurrence of the secret replaced by `***` (for messages that quote
    /// a peer's answer, which may echo the account).
    pub fn redact(&self, text: &str) -> String {
        if self.0.is_empty() {
            text.to_string()
        } else {
            text.replace(&self.0, REDACTED)
        }
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(REDACTED)
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(REDACTED)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_never_prints() {
        let s = Secret::new("DU1234567");
        #[derive(Debug)]
        #[allow(dead_code)]
        struct Holder {
            account: Secret,
        }
        let h = Holder { account: s.clone() };
        for text in [format!("{s}"), format!("{s:?}"), format!("{h:?}"), format!("{h:#?}")] {
            assert!(!text.contains("DU1234567") && text.contains(REDACTED), "{text}");
        }
        assert_eq!(s.expose(), "DU1234567");
        assert_eq!(s.redact("account DU1234567 ok"), "account *** ok");
    }

    #[test]
    fn require_names_the_variable() {
        let e = Secret::require("MIA_TEST_SURELY_UNSET_VAR").expect_err("unset");
        assert!(e.contains("MIA_TEST_SURELY_UNSET_VAR") && e.contains(".env"), "{e}");
    }
}
