//! Discord webhook notifier: messages go through a bounded queue to a sender thread, so the
//! caller (the monitor) never blocks; a full queue drops the message and counts it.
//!
//! - One webhook per [`Channel`] (trades, alerts, performance, signals, system), read from
//!   `MIA_DISCORD_WEBHOOK_<CHANNEL>` as a [`Secret`] (prints `***`). A channel without a
//!   webhook is skipped (counted). The webhook URL (which holds the token) never appears in a
//!   log line: transport errors are redacted before logging.
//! - Rate limit (all channels together): at most `max_per_window` requests in any
//!   `window_ms` (defaults 10 per 60 s) and at least `min_interval_ms` (1 s) between two.
//! - Failures (transport errors, HTTP 5xx) are retried `retries` times with exponential
//!   back-off from `backoff_ms`; HTTP 429 waits the `retry_after` of its JSON body (seconds;
//!   else the `Retry-After` header; capped at 60 s) and retries; other 4xx are not retried.
//! - Message builders: [`trade_opened`], [`trade_closed`], [`risk_halt`], [`kill_switch`],
//!   [`daily_summary`], [`error`], [`alert`], [`signal`], [`system`].

use crate::monitor::rules::{Alert, AlertKind, Level};
use anyhow::{Context, Result};
use crossbeam_channel::{bounded, Receiver, RecvTimeoutError, Sender, TrySendError};
use mia_runtime::secret::Secret;
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A Discord channel (one webhook each).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Channel {
    /// Trade opened / closed.
    Trades,
    /// Alert rules, risk halts, kill switch.
    Alerts,
    /// Daily summaries.
    Performance,
    /// Signals.
    Signals,
    /// Start, stop, errors.
    System,
}

impl Channel {
    /// Every channel.
    pub const ALL: [Channel; 5] =
        [Self::Trades, Self::Alerts, Self::Performance, Self::Signals, Self::System];

    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Trades => "trades",
            Self::Alerts => "alerts",
            Self::Performance => "performance",
            Self::Signals => "signals",
            Self::System => "system",
        }
    }

    /// The environment variable holding its webhook URL.
    pub fn env_var(self) -> String {
        format!("MIA_DISCORD_WEBHOOK_{}", self.name().to_ascii_uppercase())
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// The webhook URLs, one optional [`Secret`] per channel.
#[derive(Clone, Debug, Default)]
pub struct Webhooks {
    urls: [Option<Secret>; 5],
}

impl Webhooks {
    /// Reads `MIA_DISCORD_WEBHOOK_<CHANNEL>` for every channel.
    ///
    /// # Errors
    /// A variable is set but not Unicode (named, value not shown).
    pub fn from_env() -> Result<Self, String> {
        let mut w = Self::default();
        for c in Channel::ALL {
            w.urls[c.index()] = Secret::from_env(&c.env_var())?;
        }
        Ok(w)
    }

    /// Sets one channel's webhook.
    pub fn with(mut self, channel: Channel, url: Secret) -> Self {
        self.urls[channel.index()] = Some(url);
        self
    }

    /// The webhook of `channel`.
    pub fn get(&self, channel: Channel) -> Option<&Secret> {
        self.urls[channel.index()].as_ref()
    }

    /// Channels with a webhook.
    pub fn configured(&self) -> Vec<Channel> {
        Channel::ALL.into_iter().filter(|c| self.get(*c).is_some()).collect()
    }

    fn redact(&self, text: &str) -> String {
        self.urls.iter().flatten().fold(text.to_string(), |t, s| s.redact(&t))
    }
}

/// The notifier's settings (`[monitor.discord]`).
#[derive(Clone, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DiscordConfig {
    /// Send to the channels whose webhook variable is set.
    pub enabled: bool,
    /// Bot name shown in Discord.
    pub username: String,
    /// Queue capacity, messages (1–10,000); beyond it messages are dropped and counted.
    pub queue: usize,
    /// Requests allowed in any `window_ms` (1–10).
    pub max_per_window: u32,
    /// The rate-limit window, ms (≥ 60,000).
    pub window_ms: u64,
    /// Minimum gap between two requests, ms (≥ 1,000).
    pub min_interval_ms: u64,
    /// Retries after a failure (0–10).
    pub retries: u32,
    /// First back-off, ms (doubles per retry).
    pub backoff_ms: u64,
    /// Per-request timeout, ms.
    pub timeout_ms: u64,
}

impl Default for DiscordConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            username: "MIA".into(),
            queue: 256,
            max_per_window: 10,
            window_ms: 60_000,
            min_interval_ms: 1_000,
            retries: 3,
            backoff_ms: 500,
            timeout_ms: 5_000,
        }
    }
}

impl DiscordConfig {
    /// Checks the ranges (the rate limits may not be looser than 10 per minute, 1 s apart).
    ///
    /// # Errors
    /// The first bad key, as `monitor.discord.key: reason`.
    pub fn validate(&self) -> Result<(), String> {
        let p = "monitor.discord";
        if !(1..=10_000).contains(&self.queue) {
            return Err(format!("{p}.queue: {} is outside 1-10000", self.queue));
        }
        if !(1..=10).contains(&self.max_per_window) {
            return Err(format!("{p}.max_per_window: {} is outside 1-10", self.max_per_window));
        }
        if self.window_ms < 60_000 {
            return Err(format!("{p}.window_ms: {} is below 60000", self.window_ms));
        }
        if self.min_interval_ms < 1_000 {
            return Err(format!("{p}.min_interval_ms: {} is below 1000", self.min_interval_ms));
        }
        if self.retries > 10 {
            return Err(format!("{p}.retries: {} is above 10", self.retries));
        }
        if !(100..=60_000).contains(&self.timeout_ms) {
            return Err(format!("{p}.timeout_ms: {} is outside 100-60000", self.timeout_ms));
        }
        Ok(())
    }
}

/// One message for one channel (a Discord webhook JSON body).
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    /// Where it goes.
    pub channel: Channel,
    /// The webhook body (`content` and/or `embeds`).
    pub body: Value,
}

const GREEN: u32 = 0x2e_cc_71;
const RED: u32 = 0xe7_4c_3c;
const ORANGE: u32 = 0xe6_7e_22;
const BLUE: u32 = 0x34_98_db;
const GREY: u32 = 0x95_a5_a6;

fn embed(channel: Channel, title: String, color: u32, fields: &[(&str, String)]) -> Message {
    let fields: Vec<Value> =
        fields.iter().map(|(n, v)| json!({"name": n, "value": v, "inline": true})).collect();
    Message { channel, body: json!({"embeds": [{"title": title, "color": color, "fields": fields}]}) }
}

fn side(qty: i64) -> &'static str {
    if qty >= 0 {
        "LONG"
    } else {
        "SHORT"
    }
}

/// Trade opened: signed quantity (contracts), entry, stop and target (points; NaN = unknown).
pub fn trade_opened(symbol: &str, qty: i64, entry: f64, stop: f64, target: f64) -> Message {
    let opt = |v: f64| if v.is_finite() { format!("{v:.2}") } else { "-".into() };
    embed(
        Channel::Trades,
        format!("Trade opened: {} {} {symbol}", side(qty), qty.unsigned_abs()),
        BLUE,
        &[("entry", opt(entry)), ("stop", opt(stop)), ("target", opt(target))],
    )
}

/// Trade closed: signed quantity of the closed position, entry and exit (points; NaN =
/// unknown), realized P&L (USD).
pub fn trade_closed(symbol: &str, qty: i64, entry: f64, exit: f64, pnl_usd: f64) -> Message {
    let opt = |v: f64| if v.is_finite() { format!("{v:.2}") } else { "-".into() };
    embed(
        Channel::Trades,
        format!("Trade closed: {} {} {symbol}: {pnl_usd:+.2} USD", side(qty), qty.unsigned_abs()),
        if pnl_usd >= 0.0 { GREEN } else { RED },
        &[("entry", opt(entry)), ("exit", opt(exit)), ("pnl_usd", format!("{pnl_usd:+.2}"))],
    )
}

/// The risk manager halted trading, with the reason.
pub fn risk_halt(reason: &str, daily_pnl_usd: f64) -> Message {
    embed(
        Channel::Alerts,
        format!("CRITICAL: risk halt ({reason})"),
        RED,
        &[("reason", reason.to_string()), ("daily_pnl_usd", format!("{daily_pnl_usd:+.2}"))],
    )
}

/// The kill switch was pulled (source: file, signal, cli, control).
pub fn kill_switch(source: &str) -> Message {
    embed(
        Channel::Alerts,
        format!("CRITICAL: kill switch ({source}): flatten and halt"),
        RED,
        &[("source", source.to_string())],
    )
}

/// End-of-day figures.
pub fn daily_summary(date: &str, trades: u64, wins: u64, net_pnl_usd: f64, max_drawdown_usd: f64) -> Message {
    let win_rate = if trades == 0 { 0.0 } else { wins as f64 / trades as f64 * 100.0 };
    embed(
        Channel::Performance,
        format!("Daily summary {date}: {net_pnl_usd:+.2} USD"),
        if net_pnl_usd >= 0.0 { GREEN } else { RED },
        &[
            ("trades", trades.to_string()),
            ("win_rate", format!("{win_rate:.1} %")),
            ("net_pnl_usd", format!("{net_pnl_usd:+.2}")),
            ("max_drawdown_usd", format!("{max_drawdown_usd:.2}")),
        ],
    )
}

/// An error worth a human's attention.
pub fn error(what: &str) -> Message {
    embed(Channel::System, format!("ERROR: {what}"), RED, &[])
}

/// A system note (session started, stopped).
pub fn system(text: &str) -> Message {
    Message { channel: Channel::System, body: json!({ "content": text }) }
}

/// A signal: direction (−1/+1), tier, pattern name, confidence.
pub fn signal(direction: i8, tier: u8, pattern: &str, confidence: f32) -> Message {
    let dir = if direction > 0 {
        "LONG"
    } else if direction < 0 {
        "SHORT"
    } else {
        "FLAT"
    };
    embed(
        Channel::Signals,
        format!("Signal {dir} (tier {tier}, {pattern})"),
        GREY,
        &[("confidence", format!("{confidence:.2}"))],
    )
}

/// An alert rule fired or resolved.
pub fn alert(a: &Alert) -> Message {
    let color = match (a.kind, a.level) {
        (AlertKind::Resolved, _) => GREEN,
        (_, Level::Critical) => RED,
        (_, Level::Warning) => ORANGE,
        (_, Level::Info) => BLUE,
    };
    embed(Channel::Alerts, a.message(), color, &[])
}

/// Counters of a [`Notifier`].
#[derive(Debug, Default)]
pub struct NotifierStats {
    /// Messages accepted into the queue.
    pub queued: AtomicU64,
    /// Messages dropped: full queue, or left when the notifier stopped.
    pub dropped: AtomicU64,
    /// Messages for a channel without a webhook (or the notifier disabled).
    pub skipped: AtomicU64,
    /// Messages delivered (HTTP 2xx).
    pub sent: AtomicU64,
    /// Messages given up after the retries (or refused with a 4xx).
    pub failed: AtomicU64,
    /// HTTP requests made.
    pub requests: AtomicU64,
    /// HTTP 429 answers.
    pub rate_limited: AtomicU64,
}

impl NotifierStats {
    fn add(c: &AtomicU64) {
        c.fetch_add(1, Ordering::Relaxed);
    }

    /// A counter's value.
    pub fn get(c: &AtomicU64) -> u64 {
        c.load(Ordering::Relaxed)
    }
}

/// "At most `max` in any `window`, at least `gap` apart" over request instants.
#[derive(Debug)]
pub struct RateLimiter {
    window: Duration,
    max: usize,
    gap: Duration,
    sent: VecDeque<Instant>,
}

impl RateLimiter {
    /// A limiter with no history.
    pub fn new(max: u32, window: Duration, gap: Duration) -> Self {
        Self { window, max: max.max(1) as usize, gap, sent: VecDeque::new() }
    }

    /// How long to wait from `now` before the next request may go (zero: now).
    pub fn wait(&mut self, now: Instant) -> Duration {
        while self.sent.front().is_some_and(|t| now.saturating_duration_since(*t) >= self.window) {
            self.sent.pop_front();
        }
        let by_gap =
            self.sent.back().map_or(Duration::ZERO, |t| (*t + self.gap).saturating_duration_since(now));
        let by_window = if self.sent.len() >= self.max {
            self.sent.front().map_or(Duration::ZERO, |t| (*t + self.window).saturating_duration_since(now))
        } else {
            Duration::ZERO
        };
        by_gap.max(by_window)
    }

    /// Records a request at `at`.
    pub fn record(&mut self, at: Instant) {
        self.sent.push_back(at);
    }
}

/// The notifier: a bounded queue and its sender thread.
pub struct Notifier {
    tx: Option<Sender<Message>>,
    stats: Arc<NotifierStats>,
    handle: Option<JoinHandle<()>>,
    webhooks: Webhooks,
    enabled: bool,
}

/// How long a stopping notifier keeps sending what is queued.
const DRAIN_GRACE: Duration = Duration::from_secs(10);
/// Longest `retry_after` honoured.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

impl Notifier {
    /// Starts the sender thread. It logs into the caller's `tracing` dispatcher.
    ///
    /// # Errors
    /// The thread cannot be started.
    pub fn spawn(cfg: &DiscordConfig, webhooks: Webhooks) -> Result<Self> {
        let (tx, rx) = bounded::<Message>(cfg.queue.max(1));
        let stats = Arc::new(NotifierStats::default());
        let dispatch = tracing::dispatcher::get_default(Clone::clone);
        let worker = Worker::new(cfg, webhooks.clone(), Arc::clone(&stats));
        let handle = std::thread::Builder::new()
            .name("mia-discord".into())
            .spawn(move || tracing::dispatcher::with_default(&dispatch, || worker.run(&rx)))
            .context("cannot start the Discord notifier thread")?;
        Ok(Self { tx: Some(tx), stats, handle: Some(handle), webhooks, enabled: cfg.enabled })
    }

    /// Queues `msg` without blocking; `false` when it was dropped (full queue) or skipped
    /// (no webhook for its channel, notifier disabled).
    pub fn notify(&self, msg: Message) -> bool {
        if !self.enabled || self.webhooks.get(msg.channel).is_none() {
            NotifierStats::add(&self.stats.skipped);
            return false;
        }
        let Some(tx) = &self.tx else { return false };
        match tx.try_send(msg) {
            Ok(()) => {
                NotifierStats::add(&self.stats.queued);
                true
            }
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                NotifierStats::add(&self.stats.dropped);
                false
            }
        }
    }

    /// The counters.
    pub fn stats(&self) -> &NotifierStats {
        &self.stats
    }

    /// Shares the counters.
    pub fn stats_handle(&self) -> Arc<NotifierStats> {
        Arc::clone(&self.stats)
    }

    /// Sends what is queued (for up to 10 s, rate limits applying; the rest is dropped and
    /// counted) and joins the thread.
    pub fn stop(mut self) -> Arc<NotifierStats> {
        self.shutdown();
        Arc::clone(&self.stats)
    }

    fn shutdown(&mut self) {
        drop(self.tx.take());
        if let Some(h) = self.handle.take() {
            if h.join().is_err() {
                tracing::error!("discord: the notifier thread panicked");
            }
        }
    }
}

impl Drop for Notifier {
    fn drop(&mut self) {
        self.shutdown();
    }
}

enum Outcome {
    Sent,
    Retry(Duration),
    Fail(String),
}

struct Worker {
    webhooks: Webhooks,
    stats: Arc<NotifierStats>,
    limiter: RateLimiter,
    agent: ureq::Agent,
    username: String,
    retries: u32,
    backoff: Duration,
}

impl Worker {
    fn new(cfg: &DiscordConfig, webhooks: Webhooks, stats: Arc<NotifierStats>) -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_millis(cfg.timeout_ms.max(1))))
            .http_status_as_error(false)
            .build()
            .into();
        Self {
            webhooks,
            stats,
            limiter: RateLimiter::new(
                cfg.max_per_window,
                Duration::from_millis(cfg.window_ms),
                Duration::from_millis(cfg.min_interval_ms),
            ),
            agent,
            username: cfg.username.clone(),
            retries: cfg.retries,
            backoff: Duration::from_millis(cfg.backoff_ms),
        }
    }

    fn run(mut self, rx: &Receiver<Message>) {
        let mut deadline: Option<Instant> = None;
        loop {
            let msg = match rx.recv_timeout(Duration::from_millis(200)) {
                Ok(m) => m,
                Err(RecvTimeoutError::Timeout) => continue,
                // the sender is gone: drain what is queued, within the grace period
                Err(RecvTimeoutError::Disconnected) => break,
            };
            self.deliver(msg, None);
        }
        while let Ok(msg) = rx.try_recv() {
            let d = *deadline.get_or_insert_with(|| Instant::now() + DRAIN_GRACE);
            if Instant::now() >= d {
                NotifierStats::add(&self.stats.dropped);
                continue;
            }
            self.deliver(msg, Some(d));
        }
    }

    /// Sends one message with rate limiting and retries (never past `deadline`).
    fn deliver(&mut self, mut msg: Message, deadline: Option<Instant>) {
        let channel = msg.channel;
        let Some(url) = self.webhooks.get(channel).cloned() else {
            NotifierStats::add(&self.stats.skipped);
            return;
        };
        if let Some(obj) = msg.body.as_object_mut() {
            obj.entry("username").or_insert_with(|| Value::String(self.username.clone()));
        }
        let body = msg.body.to_string();
        let mut failures = 0u32;
        let mut limited = 0u32;
        loop {
            let wait = self.limiter.wait(Instant::now());
            if deadline.is_some_and(|d| Instant::now() + wait >= d) {
                NotifierStats::add(&self.stats.dropped);
                return;
            }
            std::thread::sleep(wait);
            self.limiter.record(Instant::now());
            NotifierStats::add(&self.stats.requests);
            let (pause, why) = match self.post(&url, &body) {
                Outcome::Sent => {
                    NotifierStats::add(&self.stats.sent);
                    return;
                }
                Outcome::Retry(after) => {
                    NotifierStats::add(&self.stats.rate_limited);
                    limited += 1;
                    tracing::warn!(
                        channel = channel.name(),
                        "discord: rate limited (429), retrying after {:?}",
                        after
                    );
                    if limited > self.retries.max(1) {
                        (None, "rate limited (429) too many times".to_string())
                    } else {
                        (Some(after), String::new())
                    }
                }
                Outcome::Fail(e) if e.starts_with("HTTP 4") => (None, e),
                Outcome::Fail(e) => {
                    failures += 1;
                    if failures > self.retries {
                        (None, e)
                    } else {
                        let pause = self.backoff.saturating_mul(1 << (failures - 1).min(16));
                        tracing::warn!(
                            channel = channel.name(),
                            "discord: {e}; retry {failures} in {:?}",
                            pause
                        );
                        (Some(pause), String::new())
                    }
                }
            };
            match pause {
                Some(p) => std::thread::sleep(p),
                None => {
                    NotifierStats::add(&self.stats.failed);
                    tracing::error!(channel = channel.name(), "discord: message not delivered: {why}");
                    return;
                }
            }
        }
    }

    fn post(&self, url: &Secret, body: &str) -> Outcome {
        let result = self.agent.post(url.expose()).header("Content-Type", "application/json").send(body);
        let mut resp = match result {
            Ok(r) => r,
            Err(e) => return Outcome::Fail(self.webhooks.redact(&format!("request failed: {e}"))),
        };
        let status = resp.status().as_u16();
        let header_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok());
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        match status {
            200..=299 => Outcome::Sent,
            429 => Outcome::Retry(retry_after(&text, header_after)),
            _ => {
                let mut snippet: String = text.chars().take(200).collect();
                snippet = self.webhooks.redact(&snippet);
                Outcome::Fail(format!("HTTP {status}: {snippet}"))
            }
        }
    }
}

/// The wait of a 429 answer: the body's `retry_after` (seconds), else the header's, else 1 s;
/// at most 60 s.
pub fn retry_after(body: &str, header_s: Option<f64>) -> Duration {
    let from_body =
        serde_json::from_str::<Value>(body).ok().and_then(|v| v.get("retry_after").and_then(Value::as_f64));
    let s = from_body.or(header_s).filter(|s| s.is_finite() && *s >= 0.0).unwrap_or(1.0);
    Duration::from_secs_f64(s).min(MAX_RETRY_AFTER)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::sync::Mutex;

    #[test]
    fn limiter_spacing_and_window() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut l = RateLimiter::new(3, ms(1000), ms(100));
        assert_eq!(l.wait(t0), Duration::ZERO);
        l.record(t0);
        assert_eq!(l.wait(t0 + ms(40)), ms(60), "gap");
        l.record(t0 + ms(100));
        l.record(t0 + ms(200));
        assert_eq!(l.wait(t0 + ms(300)), ms(700), "window full until the first leaves it");
        assert_eq!(l.wait(t0 + ms(1000)), Duration::ZERO);
        l.record(t0 + ms(1000));
        assert_eq!(l.wait(t0 + ms(1050)), ms(50), "gap again");
    }

    #[test]
    fn retry_after_reads_the_body_then_the_header() {
        assert_eq!(
            retry_after(
                r#"{"message":"You are being rate limited.","retry_after":0.25,"global":false}"#,
                None
            ),
            Duration::from_millis(250)
        );
        assert_eq!(retry_after("not json", Some(2.0)), Duration::from_secs(2));
        assert_eq!(retry_after("", None), Duration::from_secs(1));
        assert_eq!(retry_after(r#"{"retry_after": 1e9}"#, None), MAX_RETRY_AFTER);
        assert_eq!(retry_after(r#"{"retry_after": -3}"#, None), Duration::from_secs(1));
    }

    #[test]
    fn builders_make_webhook_json() {
        let m = trade_opened("ESM5", -2, 5000.25, 5010.0, f64::NAN);
        assert_eq!(m.channel, Channel::Trades);
        let e = &m.body["embeds"][0];
        assert_eq!(e["title"], "Trade opened: SHORT 2 ESM5");
        assert_eq!(e["fields"][0]["value"], "5000.25");
        assert_eq!(e["fields"][2]["value"], "-");
        let m = trade_closed("ESM5", 1, 5000.0, 5002.0, 87.5);
        assert_eq!(m.body["embeds"][0]["title"], "Trade closed: LONG 1 ESM5: +87.50 USD");
        assert_eq!(m.body["embeds"][0]["color"], GREEN);
        assert_eq!(risk_halt("daily_loss", -2000.0).channel, Channel::Alerts);
        assert!(kill_switch("cli").body["embeds"][0]["title"]
            .as_str()
            .is_some_and(|t| t.contains("kill switch (cli)")));
        let d = daily_summary("2025-04-15", 4, 3, 120.0, 50.0);
        assert_eq!(d.channel, Channel::Performance);
        assert_eq!(d.body["embeds"][0]["fields"][1]["value"], "75.0 %");
        assert_eq!(error("feed lost").channel, Channel::System);
        assert_eq!(system("started").body["content"], "started");
        assert_eq!(
            signal(1, 2, "headfake", 0.8).body["embeds"][0]["title"],
            "Signal LONG (tier 2, headfake)"
        );
    }

    #[test]
    fn config_limits() {
        assert_eq!(DiscordConfig::default().validate(), Ok(()));
        let c = DiscordConfig { max_per_window: 11, ..DiscordConfig::default() };
        assert!(c.validate().is_err_and(|e| e.contains("monitor.discord.max_per_window")));
        let c = DiscordConfig { min_interval_ms: 999, ..DiscordConfig::default() };
        assert!(c.validate().is_err_and(|e| e.contains("min_interval_ms")));
        let c = DiscordConfig { window_ms: 1000, ..DiscordConfig::default() };
        assert!(c.validate().is_err());
    }

    #[test]
    fn webhooks_come_from_the_environment_and_print_hidden() {
        let var = Channel::Signals.env_var();
        assert_eq!(var, "MIA_DISCORD_WEBHOOK_SIGNALS");
        let w = Webhooks::default().with(Channel::Alerts, Secret::new("https://x/api/webhooks/1/TOKEN"));
        assert!(!format!("{w:?}").contains("TOKEN"));
        assert_eq!(w.configured(), vec![Channel::Alerts]);
        assert_eq!(w.redact("failed https://x/api/webhooks/1/TOKEN: refused"), "failed ***: refused");
    }

    // ---- a local webhook server -------------------------------------------------------------

    #[derive(Clone, Debug)]
    struct Hit {
        at: Instant,
        path: String,
        body: String,
    }

    /// Serves `answers.len()` requests on 127.0.0.1 (one per connection, then closes), each
    /// with the scripted (status, body); records every request. Stops by itself after 30 s.
    fn server(answers: Vec<(u16, &'static str)>) -> (String, Arc<Mutex<Vec<Hit>>>, JoinHandle<()>) {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = format!("http://{}", l.local_addr().expect("addr"));
        l.set_nonblocking(true).expect("nonblocking");
        let hits = Arc::new(Mutex::new(Vec::new()));
        let h2 = Arc::clone(&hits);
        let h = std::thread::spawn(move || {
            let end = Instant::now() + Duration::from_secs(30);
            let mut k = 0;
            while k < answers.len() && Instant::now() < end {
                let Ok((mut s, _)) = l.accept() else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                let _ = s.set_nonblocking(false);
                let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
                let Some((path, body)) = read_request(&mut s) else { continue };
                h2.lock().expect("hits").push(Hit { at: Instant::now(), path, body });
                let (code, text) = answers[k];
                k += 1;
                let reason = if code == 429 { "Too Many Requests" } else { "OK" };
                let resp = format!(
                    "HTTP/1.1 {code} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                    text.len()
                );
                let _ = s.write_all(resp.as_bytes());
            }
        });
        (base, hits, h)
    }

    fn read_request(s: &mut std::net::TcpStream) -> Option<(String, String)> {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        let head_end = loop {
            let n = s.read(&mut chunk).ok()?;
            if n == 0 {
                return None;
            }
            buf.extend_from_slice(&chunk[..n]);
            if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break p + 4;
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
        let path = head.split_whitespace().nth(1)?.to_string();
        let len: usize = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().ok())
            })
            .flatten()
            .unwrap_or(0);
        while buf.len() < head_end + len {
            let n = s.read(&mut chunk).ok()?;
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        Some((path, String::from_utf8_lossy(&buf[head_end..]).to_string()))
    }

    fn fast_cfg(max: u32, window_ms: u64, gap_ms: u64) -> DiscordConfig {
        DiscordConfig {
            max_per_window: max,
            window_ms,
            min_interval_ms: gap_ms,
            backoff_ms: 50,
            timeout_ms: 5_000,
            ..DiscordConfig::default()
        }
    }

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().map_err(|_| std::io::Error::other("poisoned"))?.extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn capture<R>(f: impl FnOnce() -> R) -> (String, R) {
        let buf = Buf::default();
        let w = buf.clone();
        let sub = tracing_subscriber::fmt()
            .with_writer(move || w.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::TRACE)
            .finish();
        let r = tracing::subscriber::with_default(sub, f);
        let text = String::from_utf8_lossy(&buf.0.lock().expect("buf")).to_string();
        (text, r)
    }

    #[test]
    fn posts_the_payload_json_to_the_channel_webhook() {
        let (base, hits, h) = server(vec![(204, "")]);
        let url = format!("{base}/api/webhooks/42/TOKEN-posts");
        let w = Webhooks::default().with(Channel::Trades, Secret::new(url));
        let n = Notifier::spawn(&fast_cfg(5, 1000, 10), w).expect("spawn");
        assert!(n.notify(trade_closed("ESM5", 1, 5000.0, 5001.0, 50.0)));
        assert!(!n.notify(system("no webhook for system")), "skipped");
        let stats = n.stop();
        h.join().expect("server");
        let hits = hits.lock().expect("hits").clone();
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].path, "/api/webhooks/42/TOKEN-posts");
        let v: Value = serde_json::from_str(&hits[0].body).expect("json body");
        assert_eq!(v["username"], "MIA");
        assert_eq!(v["embeds"][0]["title"], "Trade closed: LONG 1 ESM5: +50.00 USD");
        assert_eq!(NotifierStats::get(&stats.sent), 1);
        assert_eq!(NotifierStats::get(&stats.skipped), 1);
    }

    #[test]
    fn rate_limit_spaces_requests() {
        // 2 per 600 ms window, 50 ms apart: 6 messages need at least 2 full windows
        let (base, hits, h) = server(vec![(204, ""); 6]);
        let w = Webhooks::default().with(Channel::System, Secret::new(format!("{base}/api/webhooks/1/T")));
        let n = Notifier::spawn(&fast_cfg(2, 600, 50), w).expect("spawn");
        for i in 0..6 {
            assert!(n.notify(error(&format!("e{i}"))));
        }
        let stats = n.stop();
        h.join().expect("server");
        let hits = hits.lock().expect("hits").clone();
        assert_eq!(hits.len(), 6);
        assert_eq!(NotifierStats::get(&stats.sent), 6);
        // order kept
        for (i, hit) in hits.iter().enumerate() {
            assert!(hit.body.contains(&format!("ERROR: e{i}")), "{}", hit.body);
        }
        // any 3 consecutive requests span at least (about) one window: never 3 in one window.
        // Only lower bounds (a slow machine makes them larger), with slack for the receive side.
        for k in 0..hits.len() - 2 {
            let span = hits[k + 2].at.duration_since(hits[k].at);
            assert!(span >= Duration::from_millis(500), "requests {k}..{} within {span:?}", k + 2);
        }
        for k in 0..hits.len() - 1 {
            let gap = hits[k + 1].at.duration_since(hits[k].at);
            assert!(gap >= Duration::from_millis(25), "gap {k}: {gap:?}");
        }
    }

    #[test]
    fn a_429_waits_retry_after_then_succeeds() {
        let (base, hits, h) = server(vec![
            (429, r#"{"message":"You are being rate limited.","retry_after":0.3,"global":false}"#),
            (200, "{}"),
        ]);
        let w = Webhooks::default().with(Channel::Alerts, Secret::new(format!("{base}/api/webhooks/7/T429")));
        let n = Notifier::spawn(&fast_cfg(5, 1000, 1), w).expect("spawn");
        assert!(n.notify(kill_switch("cli")));
        let stats = n.stop();
        h.join().expect("server");
        let hits = hits.lock().expect("hits").clone();
        assert_eq!(hits.len(), 2, "retried once");
        assert_eq!(hits[0].body, hits[1].body);
        assert!(hits[1].at.duration_since(hits[0].at) >= Duration::from_millis(250), "waited retry_after");
        assert_eq!(NotifierStats::get(&stats.rate_limited), 1);
        assert_eq!(NotifierStats::get(&stats.sent), 1);
    }

    #[test]
    fn a_full_queue_drops_and_counts_without_blocking() {
        // a webhook that never answers quickly: port of a listener that never accepts
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/api/webhooks/9/TOKEN-slow", l.local_addr().expect("addr"));
        let cfg = DiscordConfig { queue: 2, timeout_ms: 300, retries: 0, ..fast_cfg(10, 1000, 1) };
        let n = Notifier::spawn(&cfg, Webhooks::default().with(Channel::System, Secret::new(url)))
            .expect("spawn");
        let mut accepted = 0;
        for i in 0..50 {
            accepted += u64::from(n.notify(error(&format!("e{i}"))));
        }
        let dropped = NotifierStats::get(&n.stats().dropped);
        assert!(dropped >= 45, "dropped {dropped}");
        assert_eq!(accepted + dropped, 50);
        drop(l);
        let _ = n.stop();
    }

    #[test]
    fn the_webhook_url_never_reaches_the_logs() {
        // one 404 (logged with its body), one refused connection (a transport error), one 500
        // retried then given up: every failure is logged, none with the URL or its token
        let (base, _hits, h) = server(vec![
            (404, r#"{"message": "Unknown Webhook", "code": 10015}"#),
            (500, "oops"),
            (500, "oops"),
        ]);
        let good = format!("{base}/api/webhooks/5/SECRET-TOKEN-abc");
        let closed = TcpListener::bind("127.0.0.1:0").expect("bind");
        let refused =
            format!("http://{}/api/webhooks/6/SECRET-TOKEN-def", closed.local_addr().expect("addr"));
        drop(closed);
        let w = Webhooks::default()
            .with(Channel::Alerts, Secret::new(good.clone()))
            .with(Channel::System, Secret::new(refused.clone()));
        let cfg = DiscordConfig { retries: 1, ..fast_cfg(10, 1000, 1) };
        let (logs, stats) = capture(|| {
            let n = Notifier::spawn(&cfg, w).expect("spawn");
            assert!(n.notify(kill_switch("file")));
            assert!(n.notify(error("boom")));
            assert!(n.notify(risk_halt("drawdown", -10.0)));
            n.stop()
        });
        h.join().expect("server");
        assert!(
            logs.contains("discord") && logs.contains("HTTP 404") && logs.contains("not delivered"),
            "{logs}"
        );
        assert!(logs.contains("system") && logs.contains("alerts"), "channels are named: {logs}");
        for secret in ["SECRET-TOKEN", "/api/webhooks/", &good, &refused] {
            assert!(!logs.contains(secret), "{secret} in logs: {logs}");
        }
        assert_eq!(NotifierStats::get(&stats.failed), 3, "{stats:?}");
    }
}
