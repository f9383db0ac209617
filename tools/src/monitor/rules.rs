//! Alert rules over the [`Health`] model, and the `[monitor]` configuration.
//!
//! A rule compares one health quantity ([`Metric`]) with a threshold (`op`). It **fires** (one
//! alert at its `level`) when the condition becomes true, unless the rule fired less than
//! `cooldown_s` ago: then it waits, and fires when the cooldown has passed if the condition
//! still holds (a flapping condition alerts at most once per cooldown). When the condition
//! clears after the rule fired, it sends one **resolved** alert. A quantity that is unknown
//! (`None`: no market event yet, `/proc` unreadable) leaves the rule as it was.
//!
//! ```toml
//! [[monitor.rules]]
//! name = "drawdown"
//! metric = "drawdown_usd"
//! op = ">="
//! threshold = 1000.0
//! level = "warning"
//! cooldown_s = 300
//! ```
//!
//! A `[[monitor.rules]]` list in a config file replaces the default list (`docs/monitoring.md`
//! tables the defaults).

use crate::monitor::discord::DiscordConfig;
use crate::monitor::health::Health;
use mia_runtime::metrics::risk_code;

/// Alert severity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// For the record.
    Info,
    /// Look at it soon.
    Warning,
    /// Act now.
    Critical,
}

impl Level {
    /// Upper-case name (`INFO`, `WARNING`, `CRITICAL`).
    pub fn label(self) -> &'static str {
        match self {
            Self::Info => "INFO",
            Self::Warning => "WARNING",
            Self::Critical => "CRITICAL",
        }
    }
}

/// The health quantity a rule reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Session equity's drawdown from its peak, USD.
    DrawdownUsd,
    /// −daily P&L (a loss is positive), USD.
    DailyLossUsd,
    /// Losing round trips in a row.
    ConsecutiveLosses,
    /// 1 when the feed is disconnected, else 0.
    FeedDisconnected,
    /// Wall time since the last market event, s.
    FeedAgeS,
    /// Receive time − event time of the last market event, ms.
    DataLatencyMs,
    /// Ring + tap drops in the last minute.
    DropsPerMin,
    /// Gamma snapshot age (event time), s.
    GammaAgeS,
    /// Inputs not yet journaled.
    JournalLag,
    /// 1 when the risk manager is halted, else 0.
    RiskHalted,
    /// Risk + venue + broker rejects in the last minute.
    RejectsPerMin,
    /// 1-minute load ÷ cores × 100.
    CpuPercent,
    /// System memory used, %.
    MemoryPercent,
    /// Process RSS, bytes.
    RssBytes,
    /// Run directory's file system used, %.
    DiskPercent,
}

impl Metric {
    /// The value in `h` (`None`: unknown).
    pub fn value(self, h: &Health) -> Option<f64> {
        let flag = |b: bool| Some(if b { 1.0 } else { 0.0 });
        match self {
            Self::DrawdownUsd => Some(h.drawdown_usd),
            Self::DailyLossUsd => Some(-h.daily_pnl_usd),
            Self::ConsecutiveLosses => Some(h.consecutive_losses as f64),
            Self::FeedDisconnected => flag(!h.feed_connected),
            Self::FeedAgeS => h.feed_age_s,
            Self::DataLatencyMs => h.data_latency_ms,
            Self::DropsPerMin => Some(h.drops_last_min as f64),
            Self::GammaAgeS => h.gamma_age_s,
            Self::JournalLag => Some(h.journal_lag as f64),
            Self::RiskHalted => flag(h.risk_state == risk_code::HALTED),
            Self::RejectsPerMin => Some(h.rejects_last_min as f64),
            Self::CpuPercent => h.host.cpu_percent,
            Self::MemoryPercent => h.host.memory_percent,
            Self::RssBytes => h.host.rss_bytes.map(|b| b as f64),
            Self::DiskPercent => h.host.disk_used_percent,
        }
    }

    /// The unit, for messages.
    pub fn unit(self) -> &'static str {
        match self {
            Self::DrawdownUsd | Self::DailyLossUsd => "USD",
            Self::FeedAgeS | Self::GammaAgeS => "s",
            Self::DataLatencyMs => "ms",
            Self::CpuPercent | Self::MemoryPercent | Self::DiskPercent => "%",
            Self::RssBytes => "bytes",
            _ => "",
        }
    }
}

/// Comparison of a rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub enum Op {
    /// value > threshold
    #[serde(rename = ">")]
    Gt,
    /// value ≥ threshold
    #[serde(rename = ">=")]
    Ge,
    /// value < threshold
    #[serde(rename = "<")]
    Lt,
    /// value ≤ threshold
    #[serde(rename = "<=")]
    Le,
}

impl Op {
    /// Whether `v op t`.
    pub fn holds(self, v: f64, t: f64) -> bool {
        match self {
            Self::Gt => v > t,
            Self::Ge => v >= t,
            Self::Lt => v < t,
            Self::Le => v <= t,
        }
    }

    /// The symbol.
    pub fn symbol(self) -> &'static str {
        match self {
            Self::Gt => ">",
            Self::Ge => ">=",
            Self::Lt => "<",
            Self::Le => "<=",
        }
    }
}

/// One rule (`[[monitor.rules]]`).
#[derive(Clone, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// Unique name (in alerts and `status.json`).
    pub name: String,
    /// Quantity read.
    pub metric: Metric,
    /// Comparison.
    pub op: Op,
    /// Threshold, in the metric's unit.
    pub threshold: f64,
    /// Severity.
    pub level: Level,
    /// Minimum seconds between two firings of this rule (0–86,400).
    #[serde(default = "default_cooldown")]
    pub cooldown_s: u64,
}

fn default_cooldown() -> u64 {
    300
}

fn rule(name: &str, metric: Metric, op: Op, threshold: f64, level: Level, cooldown_s: u64) -> RuleConfig {
    RuleConfig { name: name.into(), metric, op, threshold, level, cooldown_s }
}

/// The default rules (`docs/monitoring.md`, "Rules").
pub fn default_rules() -> Vec<RuleConfig> {
    use Level::*;
    use Metric::*;
    use Op::*;
    vec![
        rule("drawdown", DrawdownUsd, Ge, 1000.0, Warning, 300),
        rule("daily_loss", DailyLossUsd, Ge, 1500.0, Critical, 300),
        rule("consecutive_losses", ConsecutiveLosses, Ge, 3.0, Warning, 600),
        rule("risk_halted", RiskHalted, Ge, 1.0, Critical, 60),
        rule("feed_disconnected", FeedDisconnected, Ge, 1.0, Critical, 60),
        rule("feed_stale", FeedAgeS, Gt, 5.0, Warning, 60),
        rule("data_latency", DataLatencyMs, Gt, 500.0, Warning, 300),
        rule("drops", DropsPerMin, Gt, 0.0, Warning, 300),
        rule("rejects", RejectsPerMin, Gt, 5.0, Warning, 300),
        rule("gamma_stale", GammaAgeS, Gt, 1800.0, Warning, 900),
        rule("journal_lag", JournalLag, Gt, 100_000.0, Warning, 300),
        rule("cpu", CpuPercent, Gt, 85.0, Warning, 600),
        rule("memory", MemoryPercent, Gt, 90.0, Warning, 600),
        rule("disk", DiskPercent, Gt, 90.0, Critical, 1800),
    ]
}

/// The monitor (`[monitor]`, `[monitor.discord]`, `[[monitor.rules]]`).
#[derive(Clone, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MonitorConfig {
    /// Run the monitor thread in paper, live and collect sessions.
    pub enabled: bool,
    /// Sampling period, ms (100–60,000).
    pub interval_ms: u64,
    /// Prometheus `/metrics` listen address; empty = no endpoint.
    pub metrics_addr: String,
    /// Write `RUN_DIR/status.json` (for `mia status`) at every sample.
    pub status_file: bool,
    /// Discord notifier.
    pub discord: DiscordConfig,
    /// Alert rules (a list here replaces the defaults).
    pub rules: Vec<RuleConfig>,
}

impl Default for MonitorConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            interval_ms: 1000,
            metrics_addr: "127.0.0.1:9464".into(),
            status_file: true,
            discord: DiscordConfig::default(),
            rules: default_rules(),
        }
    }
}

impl MonitorConfig {
    /// Checks ranges, the address and the rules.
    ///
    /// # Errors
    /// The first bad key, as `monitor.key: reason`.
    pub fn validate(&self) -> Result<(), String> {
        if !(100..=60_000).contains(&self.interval_ms) {
            return Err(format!("monitor.interval_ms: {} is outside 100-60000", self.interval_ms));
        }
        if !self.metrics_addr.is_empty() && self.metrics_addr.parse::<std::net::SocketAddr>().is_err() {
            return Err(format!("monitor.metrics_addr: {:?} is not an ip:port address", self.metrics_addr));
        }
        self.discord.validate()?;
        for (i, r) in self.rules.iter().enumerate() {
            let at = format!("monitor.rules[{i}]");
            if r.name.trim().is_empty() {
                return Err(format!("{at}.name: empty"));
            }
            if self.rules[..i].iter().any(|o| o.name == r.name) {
                return Err(format!("{at}.name: {:?} is used twice", r.name));
            }
            if !r.threshold.is_finite() {
                return Err(format!("{at}.threshold: {} is not a finite number", r.threshold));
            }
            if r.cooldown_s > 86_400 {
                return Err(format!("{at}.cooldown_s: {} is above 86400", r.cooldown_s));
            }
        }
        Ok(())
    }
}

/// Whether an alert opens or closes a condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertKind {
    /// The condition holds.
    Firing,
    /// The condition cleared.
    Resolved,
}

/// One alert produced by [`RuleEngine::evaluate`].
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Alert {
    /// Rule name.
    pub rule: String,
    /// Rule level.
    pub level: Level,
    /// Fired or resolved.
    pub kind: AlertKind,
    /// Metric read.
    pub metric: Metric,
    /// The value that fired or resolved it.
    pub value: f64,
    /// The rule's threshold.
    pub threshold: f64,
    /// Wall time, UTC ns.
    pub at_ns: u64,
}

impl Alert {
    /// A one-line message (`[WARNING] drawdown: drawdown_usd = 1200.00 USD (>= 1000.00)`).
    pub fn message(&self) -> String {
        let name = serde_json::to_value(self.metric).ok().and_then(|v| v.as_str().map(String::from));
        let metric = name.unwrap_or_default();
        let unit = self.metric.unit();
        match self.kind {
            AlertKind::Firing => format!(
                "[{}] {}: {metric} = {:.2}{}{unit} (threshold {:.2})",
                self.level.label(),
                self.rule,
                self.value,
                if unit.is_empty() { "" } else { " " },
                self.threshold
            ),
            AlertKind::Resolved => format!(
                "[RESOLVED] {}: {metric} = {:.2}{}{unit} (threshold {:.2})",
                self.rule,
                self.value,
                if unit.is_empty() { "" } else { " " },
                self.threshold
            ),
        }
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct RuleState {
    /// An alert is open (fired, not yet resolved).
    open: bool,
    /// Wall time of the last firing (None: never).
    last_fired: Option<u64>,
    /// Firings held back by the cooldown.
    suppressed: u64,
}

/// Evaluates a rule list over successive [`Health`] samples.
#[derive(Clone, Debug)]
pub struct RuleEngine {
    rules: Vec<RuleConfig>,
    state: Vec<RuleState>,
}

impl RuleEngine {
    /// An engine over `rules`, every rule clear.
    pub fn new(rules: &[RuleConfig]) -> Self {
        Self { rules: rules.to_vec(), state: vec![RuleState::default(); rules.len()] }
    }

    /// The alerts of sample `h` at wall time `now_ns` (fired and resolved, in rule order).
    pub fn evaluate(&mut self, h: &Health, now_ns: u64) -> Vec<Alert> {
        let mut out = Vec::new();
        for (r, st) in self.rules.iter().zip(self.state.iter_mut()) {
            let Some(v) = r.metric.value(h).filter(|v| v.is_finite()) else { continue };
            let alert = |kind| Alert {
                rule: r.name.clone(),
                level: r.level,
                kind,
                metric: r.metric,
                value: v,
                threshold: r.threshold,
                at_ns: now_ns,
            };
            let holds = r.op.holds(v, r.threshold);
            if holds && !st.open {
                let cooled = st
                    .last_fired
                    .is_none_or(|t| now_ns.saturating_sub(t) >= r.cooldown_s.saturating_mul(1_000_000_000));
                if cooled {
                    st.open = true;
                    st.last_fired = Some(now_ns);
                    out.push(alert(AlertKind::Firing));
                } else {
                    st.suppressed += 1;
                }
            } else if !holds && st.open {
                st.open = false;
                out.push(alert(AlertKind::Resolved));
            }
        }
        out
    }

    /// Names and levels of the rules whose alert is open now.
    pub fn active(&self) -> Vec<(String, Level)> {
        self.rules
            .iter()
            .zip(&self.state)
            .filter(|(_, s)| s.open)
            .map(|(r, _)| (r.name.clone(), r.level))
            .collect()
    }

    /// Samples at which a rule's condition held but its cooldown held the alert back, total.
    pub fn suppressed(&self) -> u64 {
        self.state.iter().map(|s| s.suppressed).sum()
    }

    /// The rules.
    pub fn rules(&self) -> &[RuleConfig] {
        &self.rules
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    fn h_dd(drawdown: f64) -> Health {
        Health { drawdown_usd: drawdown, feed_connected: true, ..Health::default() }
    }

    fn one_rule(cooldown_s: u64) -> RuleEngine {
        RuleEngine::new(&[rule("dd", Metric::DrawdownUsd, Op::Ge, 100.0, Level::Warning, cooldown_s)])
    }

    #[test]
    fn fires_once_then_resolves() {
        let mut e = one_rule(60);
        assert!(e.evaluate(&h_dd(50.0), 0).is_empty());
        let a = e.evaluate(&h_dd(120.0), S);
        assert_eq!(a.len(), 1);
        assert_eq!((a[0].kind, a[0].level, a[0].value), (AlertKind::Firing, Level::Warning, 120.0));
        assert!(
            a[0].message().contains("[WARNING] dd: drawdown_usd = 120.00 USD (threshold 100.00)"),
            "{}",
            a[0].message()
        );
        assert_eq!(e.active(), vec![("dd".to_string(), Level::Warning)]);
        for t in 2..10 {
            assert!(e.evaluate(&h_dd(150.0), t * S).is_empty(), "still open: no repeat");
        }
        let r = e.evaluate(&h_dd(10.0), 10 * S);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].kind, AlertKind::Resolved);
        assert!(r[0].message().starts_with("[RESOLVED] dd"), "{}", r[0].message());
        assert!(e.active().is_empty());
        assert!(e.evaluate(&h_dd(10.0), 11 * S).is_empty());
    }

    #[test]
    fn cooldown_holds_a_flapping_condition() {
        let mut e = one_rule(60);
        let script: Vec<(u64, f64)> = (0..=100).map(|t| (t, if t % 2 == 0 { 200.0 } else { 0.0 })).collect();
        let mut fired = Vec::new();
        let mut resolved = 0;
        for (t, v) in script {
            for a in e.evaluate(&h_dd(v), t * S) {
                match a.kind {
                    AlertKind::Firing => fired.push(t),
                    AlertKind::Resolved => resolved += 1,
                }
            }
        }
        // fires at 0, then not again before 60 s have passed, then at 60 and 100 is too early
        assert_eq!(fired, vec![0, 60]);
        assert_eq!(resolved, 2);
        assert!(e.suppressed() > 0);
    }

    #[test]
    fn a_condition_outlasting_the_cooldown_fires_when_it_ends() {
        let mut e = one_rule(30);
        assert_eq!(e.evaluate(&h_dd(200.0), 0).len(), 1);
        assert_eq!(e.evaluate(&h_dd(0.0), S)[0].kind, AlertKind::Resolved);
        // back within the cooldown: held
        assert!(e.evaluate(&h_dd(200.0), 2 * S).is_empty());
        assert!(e.evaluate(&h_dd(200.0), 29 * S).is_empty());
        // still true once cooled: fires
        let a = e.evaluate(&h_dd(200.0), 30 * S);
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].kind, AlertKind::Firing);
    }

    #[test]
    fn unknown_values_hold_the_state() {
        let mut e = RuleEngine::new(&[rule("stale", Metric::FeedAgeS, Op::Gt, 5.0, Level::Warning, 0)]);
        let mut h = Health { feed_age_s: Some(9.0), ..Health::default() };
        assert_eq!(e.evaluate(&h, 0).len(), 1);
        h.feed_age_s = None;
        assert!(e.evaluate(&h, S).is_empty());
        assert_eq!(e.active().len(), 1);
        h.feed_age_s = Some(f64::NAN);
        assert!(e.evaluate(&h, 2 * S).is_empty());
        h.feed_age_s = Some(1.0);
        assert_eq!(e.evaluate(&h, 3 * S)[0].kind, AlertKind::Resolved);
    }

    #[test]
    fn default_rules_on_a_scripted_bad_day() {
        let mut e = RuleEngine::new(&default_rules());
        let mut h = Health {
            feed_connected: true,
            feed_age_s: Some(0.1),
            data_latency_ms: Some(2.0),
            ..Health::default()
        };
        assert!(e.evaluate(&h, 0).is_empty(), "a healthy sample fires nothing: {:?}", e.active());
        h.feed_connected = false;
        h.consecutive_losses = 3;
        h.daily_pnl_usd = -1600.0;
        h.risk_state = risk_code::HALTED;
        h.host.disk_used_percent = Some(95.0);
        let a = e.evaluate(&h, S);
        let names: Vec<(&str, Level)> = a.iter().map(|a| (a.rule.as_str(), a.level)).collect();
        assert_eq!(
            names,
            vec![
                ("daily_loss", Level::Critical),
                ("consecutive_losses", Level::Warning),
                ("risk_halted", Level::Critical),
                ("feed_disconnected", Level::Critical),
                ("disk", Level::Critical),
            ]
        );
        h.feed_connected = true;
        let a = e.evaluate(&h, 2 * S);
        assert_eq!(a.len(), 1);
        assert_eq!((a[0].rule.as_str(), a[0].kind), ("feed_disconnected", AlertKind::Resolved));
    }

    #[test]
    fn config_parses_validates_and_rejects_unknown_keys() {
        let text = r#"
            interval_ms = 500
            metrics_addr = ""
            [[rules]]
            name = "dd"
            metric = "drawdown_usd"
            op = ">="
            threshold = 10.0
            level = "critical"
        "#;
        let c: MonitorConfig = toml::from_str(text).expect("parse");
        assert_eq!(c.rules.len(), 1, "a list replaces the defaults");
        assert_eq!(c.rules[0].cooldown_s, 300);
        assert_eq!(c.validate(), Ok(()));
        assert!(toml::from_str::<MonitorConfig>("intervl_ms = 5").is_err());
        assert!(toml::from_str::<MonitorConfig>(
            "[[rules]]\nname='x'\nmetric='nope'\nop='>'\nthreshold=1.0\nlevel='info'"
        )
        .is_err());
        let bad = MonitorConfig { interval_ms: 5, ..MonitorConfig::default() };
        assert!(bad.validate().is_err_and(|e| e.contains("monitor.interval_ms")));
        let bad = MonitorConfig { metrics_addr: "localhost".into(), ..MonitorConfig::default() };
        assert!(bad.validate().is_err_and(|e| e.contains("monitor.metrics_addr")));
        let mut bad = MonitorConfig::default();
        bad.rules.push(bad.rules[0].clone());
        assert!(bad.validate().is_err_and(|e| e.contains("used twice")), "{:?}", bad.validate());
        let mut bad = MonitorConfig::default();
        bad.rules[1].threshold = f64::INFINITY;
        assert!(bad.validate().is_err_and(|e| e.contains("monitor.rules[1].threshold")));
        assert_eq!(MonitorConfig::default().validate(), Ok(()));
    }
}
