//! The DTC client's configuration (`[dtc]`), and [`Secret`] for the values that come from the
//! environment only (the trade account, the password).

use mia_model::contract::{front_month, month_code, Root};
use mia_model::time::calendar::Date;
use serde::{Deserialize, Serialize};

/// Environment variable holding the trade account.
pub const ACCOUNT_ENV: &str = "MIA_DTC_ACCOUNT";
/// Environment variable holding the logon password (when the server requires a logon).
pub const PASSWORD_ENV: &str = "MIA_DTC_PASSWORD";

/// The DTC encoding spoken after the (binary) encoding request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    /// Binary structs (DTC encoding 0).
    #[default]
    Binary,
    /// NUL-terminated JSON objects (DTC encoding 2).
    Json,
}

impl Encoding {
    /// The DTC `EncodingEnum` value.
    pub fn dtc_value(self) -> i32 {
        match self {
            Encoding::Binary => super::messages::values::ENCODING_BINARY,
            Encoding::Json => super::messages::values::ENCODING_JSON,
        }
    }

    /// From the DTC `EncodingEnum` value (only the two spoken).
    pub fn from_dtc(v: i32) -> Option<Self> {
        match v {
            0 => Some(Encoding::Binary),
            2 => Some(Encoding::Json),
            _ => None,
        }
    }
}

/// Trade mode announced at logon (the 2020 header's `TradeMode`; ignored by newer servers).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TradeMode {
    /// Simulated trading (2).
    #[default]
    Sim,
    /// Live trading (3).
    Live,
    /// Demo (1).
    Demo,
}

impl TradeMode {
    /// The DTC value.
    pub fn dtc_value(self) -> i32 {
        match self {
            TradeMode::Demo => 1,
            TradeMode::Sim => 2,
            TradeMode::Live => 3,
        }
    }
}

pub use mia_runtime::secret::Secret;

/// `[dtc]`: how to reach and use a DTC server (Sierra Chart's, normally on this machine).
/// The trade account and the password are not here: they come from [`ACCOUNT_ENV`] and
/// [`PASSWORD_ENV`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DtcConfig {
    /// Server host (an IP address or a name).
    pub host: String,
    /// Server port (Sierra Chart's default DTC port is 11099).
    pub port: u16,
    /// Encoding after the encoding request.
    pub encoding: Encoding,
    /// Send the ENCODING_REQUEST sequence (needed when the server's Encoding setting is
    /// "Automatic"; harmless otherwise).
    pub encoding_request: bool,
    /// Contract root, used to derive the symbol when `symbol` is empty.
    pub root: Root,
    /// Server symbol; empty: the front month by the roll rule, Sierra Chart style
    /// (`ESZ25_FUT_CME`).
    pub symbol: String,
    /// Exchange sent with the symbol.
    pub exchange: String,
    /// Heartbeat interval requested at logon (both sides beat; the connection is declared
    /// lost after two intervals without a server heartbeat).
    pub heartbeat_secs: u32,
    /// Connect and logon timeout.
    pub connect_timeout_ms: u64,
    /// First reconnect delay; doubled after each failed attempt up to `reconnect_max_ms`.
    pub reconnect_initial_ms: u64,
    /// Longest reconnect delay.
    pub reconnect_max_ms: u64,
    /// Failed attempts in a row before the client gives up (0 = never).
    pub max_reconnect_attempts: u32,
    /// Depth levels to subscribe with the market data (0 = top of book from bid/ask updates).
    pub depth_levels: u32,
    /// How long to wait for the children of a native bracket in the order ring.
    pub bracket_wait_ms: u64,
    /// Client name sent at logon.
    pub client_name: String,
    /// Logon user name (empty when the server does not require a logon).
    pub username: String,
    /// Trade mode announced at logon.
    pub trade_mode: TradeMode,
    /// `instrument_id` of the market events.
    pub instrument_id: u32,
}

impl Default for DtcConfig {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 11099,
            encoding: Encoding::Binary,
            encoding_request: true,
            root: Root::Es,
            symbol: String::new(),
            exchange: "CME".into(),
            heartbeat_secs: 10,
            connect_timeout_ms: 5000,
            reconnect_initial_ms: 500,
            reconnect_max_ms: 30_000,
            max_reconnect_attempts: 0,
            depth_levels: 10,
            bracket_wait_ms: 50,
            client_name: "MIA".into(),
            username: String::new(),
            trade_mode: TradeMode::Sim,
            instrument_id: 0,
        }
    }
}

impl DtcConfig {
    /// Every problem of the configuration, as `dtc.<key>: reason` lines.
    ///
    /// # Errors
    /// The list of problems (empty lists are never returned).
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let mut e = Vec::new();
        if self.host.trim().is_empty() {
            e.push("dtc.host: empty".to_string());
        }
        if self.port == 0 {
            e.push("dtc.port: 0 is not a port".into());
        }
        if !(1..=60).contains(&self.heartbeat_secs) {
            e.push(format!("dtc.heartbeat_secs: {} is outside 1..=60", self.heartbeat_secs));
        }
        if self.connect_timeout_ms == 0 {
            e.push("dtc.connect_timeout_ms: must be > 0".into());
        }
        if self.reconnect_initial_ms == 0 {
            e.push("dtc.reconnect_initial_ms: must be > 0".into());
        }
        if self.reconnect_max_ms < self.reconnect_initial_ms {
            e.push(format!(
                "dtc.reconnect_max_ms: {} is below reconnect_initial_ms {}",
                self.reconnect_max_ms, self.reconnect_initial_ms
            ));
        }
        if self.depth_levels > 100 {
            e.push(format!("dtc.depth_levels: {} is above 100", self.depth_levels));
        }
        if self.bracket_wait_ms == 0 || self.bracket_wait_ms > 5000 {
            e.push(format!("dtc.bracket_wait_ms: {} is outside 1..=5000", self.bracket_wait_ms));
        }
        for (key, v, max) in [
            ("symbol", &self.symbol, 63),
            ("exchange", &self.exchange, 15),
            ("client_name", &self.client_name, 31),
            ("username", &self.username, 31),
        ] {
            if v.len() > max {
                e.push(format!("dtc.{key}: longer than {max} bytes"));
            }
            if !v.is_ascii() || v.contains('\0') {
                e.push(format!("dtc.{key}: must be ASCII without NUL"));
            }
        }
        if e.is_empty() {
            Ok(())
        } else {
            Err(e)
        }
    }

    /// The server symbol on `date`: `symbol`, or the roll rule's front month written the
    /// Sierra Chart way, `{root}{month}{yy}_FUT_{exchange}` (`ESZ25_FUT_CME`).
    pub fn resolved_symbol(&self, date: Date) -> String {
        if !self.symbol.is_empty() {
            return self.symbol.clone();
        }
        let (y, m) = front_month(date);
        let root = self.root.spec().root;
        format!("{root}{}{:02}_FUT_{}", month_code(m).unwrap_or('?'), y.rem_euclid(100), self.exchange)
    }

    /// The symbol today (UTC date of the wall clock).
    pub fn symbol_now(&self) -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        self.resolved_symbol(Date::from_unix_ns(now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_every_problem_is_listed() {
        assert_eq!(DtcConfig::default().validate(), Ok(()));
        let bad = DtcConfig {
            host: " ".into(),
            port: 0,
            heartbeat_secs: 0,
            reconnect_initial_ms: 100,
            reconnect_max_ms: 10,
            symbol: "ÉS".into(),
            client_name: "x".repeat(40),
            ..DtcConfig::default()
        };
        let e = bad.validate().expect_err("bad");
        for key in [
            "dtc.host",
            "dtc.port",
            "dtc.heartbeat_secs",
            "dtc.reconnect_max_ms",
            "dtc.symbol",
            "dtc.client_name",
        ] {
            assert!(e.iter().any(|l| l.starts_with(key)), "{key} missing from {e:?}");
        }
    }

    #[test]
    fn unknown_keys_are_refused_and_encodings_parse() {
        let c: DtcConfig = toml::from_str("port = 11100\nencoding = \"json\"\n").expect("parse");
        assert_eq!((c.port, c.encoding, c.host.as_str()), (11100, Encoding::Json, "127.0.0.1"));
        let e = toml::from_str::<DtcConfig>("prot = 1\n").expect_err("unknown key");
        assert!(e.to_string().contains("prot"), "{e}");
    }

    #[test]
    fn the_symbol_follows_the_roll_rule() {
        let c = DtcConfig::default();
        let d = |y, m, day| Date::new(y, m, day).expect("date");
        // ES Dec 2025 expires Fri 2025-12-19, rolls Thu 2025-12-11.
        assert_eq!(c.resolved_symbol(d(2025, 12, 1)), "ESZ25_FUT_CME");
        assert_eq!(c.resolved_symbol(d(2025, 12, 12)), "ESH26_FUT_CME");
        let m = DtcConfig { root: Root::Mes, ..DtcConfig::default() };
        assert_eq!(m.resolved_symbol(d(2026, 7, 1)), "MESU26_FUT_CME");
        let fixed = DtcConfig { symbol: "ESM6.CME".into(), ..DtcConfig::default() };
        assert_eq!(fixed.resolved_symbol(d(2026, 1, 1)), "ESM6.CME");
    }

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("ACC-123");
        assert_eq!(format!("{s} {s:?}"), "*** ***");
        assert_eq!(s.expose(), "ACC-123");
    }
}
