//! The `[risk]` configuration section: every limit of the risk manager and the sizing keys.
//!
//! Defaults suit one or two ES contracts on a 50,000 USD account. A key documented as
//! "0 = off" disables its check. [`RiskConfig::validate`] names the first bad key as
//! `risk.key: reason` and checks every value against the compile-time caps.

use std::fmt;

/// Largest `max_orders_per_sec` / `max_modifies_per_sec` the manager can enforce (the size of
/// each rate window ring).
pub const RATE_SLOTS: usize = 64;
/// Most allowed session windows in `session_windows`.
pub const SESSION_WINDOW_CAP: usize = 8;
/// Most closed trades the Kelly estimate can remember (`kelly_window` ≤ this).
pub const KELLY_CAP: usize = 256;

/// Minutes in a day; a window end of `24:00` is this value.
const DAY_MIN: u16 = 24 * 60;

/// One allowed window of Chicago clock time, `[start, end)` in minutes after local midnight.
/// `start > end` wraps midnight (e.g. `17:00-16:00` is the whole Globex session without the
/// 16:00–17:00 maintenance break).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct SessionWindow {
    /// First allowed minute (0…1439).
    pub start_min: u16,
    /// First minute after the window (1…1440).
    pub end_min: u16,
}

impl SessionWindow {
    /// True when the Chicago minute of day `m` lies in the window.
    #[inline]
    pub fn contains(&self, m: u16) -> bool {
        if self.start_min <= self.end_min {
            m >= self.start_min && m < self.end_min
        } else {
            m >= self.start_min || m < self.end_min
        }
    }

    /// Parses `HH:MM-HH:MM` (Chicago time; the end may be `24:00`).
    ///
    /// # Errors
    /// A description of what is wrong with the text.
    pub fn parse(s: &str) -> Result<Self, String> {
        let (a, b) = s.split_once('-').ok_or_else(|| format!("\"{s}\" is not HH:MM-HH:MM"))?;
        let start_min = parse_hhmm(a.trim()).ok_or_else(|| format!("\"{s}\": bad start time"))?;
        let end_min = parse_hhmm(b.trim()).ok_or_else(|| format!("\"{s}\": bad end time"))?;
        if start_min >= DAY_MIN {
            return Err(format!("\"{s}\": the start must be before 24:00"));
        }
        if start_min == end_min {
            return Err(format!("\"{s}\": empty window"));
        }
        Ok(Self { start_min, end_min })
    }
}

/// `HH:MM` → minutes (00:00 … 24:00).
fn parse_hhmm(s: &str) -> Option<u16> {
    let (h, m) = s.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let h: u16 = h.parse().ok()?;
    let m: u16 = m.parse().ok()?;
    let v = h.checked_mul(60)?.checked_add(m)?;
    (m < 60 && v <= DAY_MIN).then_some(v)
}

impl fmt::Display for SessionWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (s, e) = (self.start_min, self.end_min);
        write!(f, "{:02}:{:02}-{:02}:{:02}", s / 60, s % 60, e / 60, e % 60)
    }
}

/// The allowed session windows: a fixed array of at most [`SESSION_WINDOW_CAP`], written in
/// TOML as a list of `"HH:MM-HH:MM"` strings (Chicago time).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(try_from = "Vec<String>", into = "Vec<String>")]
pub struct SessionWindows {
    len: u8,
    w: [SessionWindow; SESSION_WINDOW_CAP],
}

impl SessionWindows {
    /// The windows parsed from `items`.
    ///
    /// # Errors
    /// No window, more than [`SESSION_WINDOW_CAP`], or a malformed one.
    pub fn parse<S: AsRef<str>>(items: &[S]) -> Result<Self, String> {
        if items.is_empty() {
            return Err("at least one window is needed".into());
        }
        if items.len() > SESSION_WINDOW_CAP {
            return Err(format!("{} windows, at most {SESSION_WINDOW_CAP}", items.len()));
        }
        let mut w = [SessionWindow::default(); SESSION_WINDOW_CAP];
        for (slot, s) in w.iter_mut().zip(items) {
            *slot = SessionWindow::parse(s.as_ref())?;
        }
        Ok(Self { len: items.len() as u8, w })
    }

    /// The windows in use.
    #[inline]
    pub fn as_slice(&self) -> &[SessionWindow] {
        &self.w[..usize::from(self.len)]
    }

    /// True when the Chicago minute of day `m` lies in one of the windows.
    #[inline]
    pub fn allows(&self, m: u16) -> bool {
        self.as_slice().iter().any(|w| w.contains(m))
    }
}

impl Default for SessionWindows {
    /// `17:00-16:00`: the whole CME Globex ES session, without the daily 16:00–17:00 break.
    fn default() -> Self {
        let mut w = [SessionWindow::default(); SESSION_WINDOW_CAP];
        w[0] = SessionWindow { start_min: 17 * 60, end_min: 16 * 60 };
        Self { len: 1, w }
    }
}

impl TryFrom<Vec<String>> for SessionWindows {
    type Error = String;
    fn try_from(v: Vec<String>) -> Result<Self, String> {
        Self::parse(&v)
    }
}

impl From<SessionWindows> for Vec<String> {
    fn from(s: SessionWindows) -> Self {
        s.as_slice().iter().map(ToString::to_string).collect()
    }
}

/// The `[risk]` section. Money in USD, times in the unit named by the key.
#[derive(Clone, Copy, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RiskConfig {
    /// Maximum absolute position, contracts (`max_position = 2`).
    pub max_position: i64,
    /// Maximum quantity of one order, contracts (`max_order_qty = 2`).
    pub max_order_qty: u32,
    /// A limit price farther than this many ticks from the last trade is refused
    /// (`price_band_ticks = 20`, 5 ES points; 0 = off).
    pub price_band_ticks: u32,
    /// Maximum new orders in any one-second window of event time (`max_orders_per_sec = 5`,
    /// 1…[`RATE_SLOTS`]).
    pub max_orders_per_sec: u32,
    /// Maximum modifies in any one-second window of event time (`max_modifies_per_sec = 10`,
    /// 1…[`RATE_SLOTS`]).
    pub max_modifies_per_sec: u32,
    /// Loss of the session (realized + unrealized, net of fees) that stops new risk for the day
    /// (`max_daily_loss_usd = 2000.0`, positive).
    pub max_daily_loss_usd: f64,
    /// Fall of the session P&L from its peak of the day that stops new risk for the day
    /// (`max_drawdown_usd = 2500.0`; 0 = off). The peak starts at 0, so a value at or below
    /// `max_daily_loss_usd` makes this the binding limit.
    pub max_drawdown_usd: f64,
    /// Consecutive losing round trips (net of fees) that stop new risk for the day
    /// (`max_consecutive_losses = 5`; 0 = off).
    pub max_consecutive_losses: u32,
    /// Round trips that may be opened per session (`max_trades_per_day = 20`; 0 = off).
    pub max_trades_per_day: u32,
    /// Chicago clock windows in which new risk may be opened; exits are always allowed
    /// (`session_windows = ["17:00-16:00"]`, at most [`SESSION_WINDOW_CAP`]).
    pub session_windows: SessionWindows,
    /// New risk is refused when the last market event is older than this, in event time
    /// (`feed_max_age_ms = 2000`; 0 = off).
    pub feed_max_age_ms: u64,
    /// New risk is refused when the gamma snapshot is older than this, or none was received
    /// (`gamma_max_age_s = 0` = off: a run without options data has no snapshot; a run that
    /// trades on gamma features should set it, e.g. 900).
    pub gamma_max_age_s: u64,
    /// Account equity at the start of the run, USD (`account_equity_usd = 50000.0`); the run's
    /// net P&L is added to it for the margin check and for Kelly sizing.
    pub account_equity_usd: f64,
    /// Initial margin per contract, USD (`initial_margin_usd = 13200.0`, about the CME ES
    /// initial margin; 0 = off). `|position after| × this` must not exceed the equity.
    pub initial_margin_usd: f64,
    /// Fraction of the full Kelly bet (`kelly_fraction = 0.25`, in (0, 1]).
    pub kelly_fraction: f64,
    /// Closed trades in the rolling Kelly estimate (`kelly_window = 50`, 1…[`KELLY_CAP`]).
    pub kelly_window: u32,
    /// Fewer closed trades than this in the window → `min_size` (`kelly_min_trades = 20`,
    /// 1…`kelly_window`).
    pub kelly_min_trades: u32,
    /// Money at risk per contract that one Kelly unit of equity buys, USD: the typical stop
    /// distance × point value (`kelly_risk_per_contract_usd = 500.0`, 10 ES points).
    pub kelly_risk_per_contract_usd: f64,
    /// Smallest size [`crate::risk::RiskManager::size`] returns, contracts (`min_size = 1`).
    pub min_size: u32,
    /// Largest size it returns, contracts (`max_size = 2`).
    pub max_size: u32,
    /// Size bracket entries with [`crate::risk::RiskManager::size`] (fractional Kelly × the
    /// signal's confidence, capped by the strategy's size hint and `[trading] order_qty`)
    /// instead of the size hint alone (`kelly_sizing = false`).
    pub kelly_sizing: bool,
}

impl Default for RiskConfig {
    fn default() -> Self {
        Self {
            max_position: 2,
            max_order_qty: 2,
            price_band_ticks: 20,
            max_orders_per_sec: 5,
            max_modifies_per_sec: 10,
            max_daily_loss_usd: 2_000.0,
            max_drawdown_usd: 2_500.0,
            max_consecutive_losses: 5,
            max_trades_per_day: 20,
            session_windows: SessionWindows::default(),
            feed_max_age_ms: 2_000,
            gamma_max_age_s: 0,
            account_equity_usd: 50_000.0,
            initial_margin_usd: 13_200.0,
            kelly_fraction: 0.25,
            kelly_window: 50,
            kelly_min_trades: 20,
            kelly_risk_per_contract_usd: 500.0,
            min_size: 1,
            max_size: 2,
            kelly_sizing: false,
        }
    }
}

fn finite_at_least(v: f64, min: f64) -> bool {
    v.is_finite() && v >= min
}

impl RiskConfig {
    /// A permissive configuration for tests: every optional check off, large limits, all day.
    pub fn permissive() -> Self {
        Self {
            max_position: 1_000,
            max_order_qty: 1_000,
            price_band_ticks: 0,
            max_orders_per_sec: RATE_SLOTS as u32,
            max_modifies_per_sec: RATE_SLOTS as u32,
            max_daily_loss_usd: 1e12,
            max_drawdown_usd: 0.0,
            max_consecutive_losses: 0,
            max_trades_per_day: 0,
            session_windows: SessionWindows::parse(&["00:00-24:00"]).unwrap_or_default(),
            feed_max_age_ms: 0,
            gamma_max_age_s: 0,
            initial_margin_usd: 0.0,
            ..Self::default()
        }
    }

    /// Checks every key against its range and the caps.
    ///
    /// # Errors
    /// The first bad key, as `risk.key: reason`.
    pub fn validate(&self) -> Result<(), String> {
        if self.max_position < 0 {
            return Err("risk.max_position: must be ≥ 0".into());
        }
        if self.max_order_qty == 0 {
            return Err("risk.max_order_qty: must be ≥ 1".into());
        }
        for (key, v) in [
            ("max_orders_per_sec", self.max_orders_per_sec),
            ("max_modifies_per_sec", self.max_modifies_per_sec),
        ] {
            if v == 0 || v as usize > RATE_SLOTS {
                return Err(format!("risk.{key}: {v} is outside 1..={RATE_SLOTS}"));
            }
        }
        if !(finite_at_least(self.max_daily_loss_usd, 0.0) && self.max_daily_loss_usd > 0.0) {
            return Err("risk.max_daily_loss_usd: must be a positive number".into());
        }
        if !finite_at_least(self.max_drawdown_usd, 0.0) {
            return Err("risk.max_drawdown_usd: must be ≥ 0 (0 = off)".into());
        }
        if self.feed_max_age_ms > u64::MAX / 1_000_000 {
            return Err("risk.feed_max_age_ms: too large".into());
        }
        if self.gamma_max_age_s > u64::MAX / 1_000_000_000 {
            return Err("risk.gamma_max_age_s: too large".into());
        }
        if !(finite_at_least(self.account_equity_usd, 0.0) && self.account_equity_usd > 0.0) {
            return Err("risk.account_equity_usd: must be a positive number".into());
        }
        if !finite_at_least(self.initial_margin_usd, 0.0) {
            return Err("risk.initial_margin_usd: must be ≥ 0 (0 = off)".into());
        }
        if !(self.kelly_fraction.is_finite() && self.kelly_fraction > 0.0 && self.kelly_fraction <= 1.0) {
            return Err("risk.kelly_fraction: must be in (0, 1]".into());
        }
        if self.kelly_window == 0 || self.kelly_window as usize > KELLY_CAP {
            return Err(format!("risk.kelly_window: {} is outside 1..={KELLY_CAP}", self.kelly_window));
        }
        if self.kelly_min_trades == 0 || self.kelly_min_trades > self.kelly_window {
            return Err(format!(
                "risk.kelly_min_trades: {} is outside 1..=kelly_window ({})",
                self.kelly_min_trades, self.kelly_window
            ));
        }
        if !(finite_at_least(self.kelly_risk_per_contract_usd, 0.0) && self.kelly_risk_per_contract_usd > 0.0)
        {
            return Err("risk.kelly_risk_per_contract_usd: must be a positive number".into());
        }
        if self.max_size == 0 {
            return Err("risk.max_size: must be ≥ 1".into());
        }
        if self.min_size == 0 || self.min_size > self.max_size {
            return Err(format!(
                "risk.min_size: {} is outside 1..=max_size ({})",
                self.min_size, self.max_size
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Doc {
        risk: RiskConfig,
    }

    fn parse(text: &str) -> Result<RiskConfig, String> {
        toml::from_str::<Doc>(text).map(|d| d.risk).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_are_valid_and_match_an_empty_section() {
        assert_eq!(RiskConfig::default().validate(), Ok(()));
        assert_eq!(RiskConfig::permissive().validate(), Ok(()));
        assert_eq!(parse("[risk]\n"), Ok(RiskConfig::default()));
        let d = RiskConfig::default();
        assert_eq!(d.session_windows.as_slice(), &[SessionWindow { start_min: 1020, end_min: 960 }]);
    }

    #[test]
    fn toml_keys_and_windows_parse() {
        let c = parse("[risk]\nmax_position = 1\nsession_windows = [\"08:30-15:00\", \"17:00-24:00\"]\n")
            .expect("valid");
        assert_eq!(c.max_position, 1);
        let w = c.session_windows.as_slice();
        assert_eq!(
            w,
            &[
                SessionWindow { start_min: 510, end_min: 900 },
                SessionWindow { start_min: 1020, end_min: 1440 }
            ]
        );
        assert!(
            c.session_windows.allows(510) && !c.session_windows.allows(900) && c.session_windows.allows(1439)
        );
        assert!(!c.session_windows.allows(0));
        assert!(parse("[risk]\nmax_postion = 1\n").is_err(), "unknown keys are errors");
        assert!(parse("[risk]\nsession_windows = [\"8:30-15:00\"]\n").is_err());
        assert!(parse("[risk]\nsession_windows = []\n").is_err());
        assert!(parse("[risk]\nsession_windows = [\"10:00-10:00\"]\n").is_err());
        assert!(parse("[risk]\nsession_windows = [\"10:60-11:00\"]\n").is_err());
        let nine = format!("[risk]\nsession_windows = [{}]\n", ["\"01:00-02:00\""; 9].join(","));
        assert!(parse(&nine).is_err(), "more windows than the cap");
        // serialization round-trips through the string form
        let back: Vec<String> = c.session_windows.into();
        assert_eq!(back, vec!["08:30-15:00".to_string(), "17:00-24:00".to_string()]);
    }

    #[test]
    fn the_shipped_default_toml_states_the_defaults() {
        let text = include_str!("../../../config/default.toml");
        let table: toml::Table = toml::from_str(text).expect("default.toml parses");
        let risk = table.get("risk").cloned().expect("[risk] section");
        let cfg: RiskConfig = risk.try_into().expect("[risk] deserializes");
        assert_eq!(cfg, RiskConfig::default());
    }

    #[test]
    fn wrapping_window() {
        let w = SessionWindow::parse("17:00-16:00").expect("valid");
        assert!(w.contains(17 * 60) && w.contains(0) && w.contains(15 * 60 + 59));
        assert!(!w.contains(16 * 60) && !w.contains(16 * 60 + 59));
    }

    #[test]
    fn validate_names_the_first_bad_key() {
        let bad = |c: RiskConfig| c.validate().unwrap_err();
        let d = RiskConfig::default();
        assert!(bad(RiskConfig { max_position: -1, ..d }).starts_with("risk.max_position:"));
        assert!(bad(RiskConfig { max_order_qty: 0, ..d }).starts_with("risk.max_order_qty:"));
        assert!(bad(RiskConfig { max_orders_per_sec: 65, ..d }).starts_with("risk.max_orders_per_sec:"));
        assert!(bad(RiskConfig { max_modifies_per_sec: 0, ..d }).starts_with("risk.max_modifies_per_sec:"));
        assert!(bad(RiskConfig { max_daily_loss_usd: f64::NAN, ..d }).starts_with("risk.max_daily_loss_usd:"));
        assert!(bad(RiskConfig { max_drawdown_usd: -1.0, ..d }).starts_with("risk.max_drawdown_usd:"));
        assert!(bad(RiskConfig { account_equity_usd: 0.0, ..d }).starts_with("risk.account_equity_usd:"));
        assert!(bad(RiskConfig { initial_margin_usd: f64::INFINITY, ..d })
            .starts_with("risk.initial_margin_usd:"));
        assert!(bad(RiskConfig { kelly_fraction: 1.5, ..d }).starts_with("risk.kelly_fraction:"));
        assert!(bad(RiskConfig { kelly_window: 257, ..d }).starts_with("risk.kelly_window:"));
        assert!(bad(RiskConfig { kelly_min_trades: 51, ..d }).starts_with("risk.kelly_min_trades:"));
        assert!(bad(RiskConfig { kelly_risk_per_contract_usd: 0.0, ..d })
            .starts_with("risk.kelly_risk_per_contract_usd:"));
        assert!(bad(RiskConfig { max_size: 0, ..d }).starts_with("risk.max_size:"));
        assert!(bad(RiskConfig { min_size: 3, ..d }).starts_with("risk.min_size:"));
        // the first bad key wins
        assert!(bad(RiskConfig { max_position: -1, max_size: 0, ..d }).starts_with("risk.max_position:"));
    }
}
