//! `[ibkr]` configuration: where the Gateway is, which contract, how deep, the SPX chain, the
//! reconnect policy. The account id is not configuration: it comes from the environment
//! ([`ACCOUNT_ENV`]) as a [`Secret`] that never prints.

use mia_model::contract::Root;
use serde::Deserialize;
use std::time::Duration;

/// The environment variable holding the IB account id (`DU…` paper, `U…` live).
pub const ACCOUNT_ENV: &str = "MIA_IBKR_ACCOUNT";

pub use mia_runtime::secret::Secret;

/// The account in [`ACCOUNT_ENV`] (trimmed); `None` when unset or empty.
pub fn account_from_env() -> Option<Secret> {
    Secret::from_env(ACCOUNT_ENV).ok().flatten()
}

/// SPX option-chain settings.
#[derive(Clone, Debug, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChainConfig {
    /// Strikes kept on each side of spot.
    pub strikes_each_side: u32,
    /// Number of nearest expiries (SPX and SPXW together).
    pub expiries: u32,
    /// Seconds between two publications.
    pub refresh_secs: u32,
    /// Seconds to wait for the quotes of one batch.
    pub quote_wait_secs: u32,
    /// Market-data lines used at once (IB's default allowance is 100 lines in total).
    pub max_lines: u32,
}

impl Default for ChainConfig {
    fn default() -> Self {
        Self { strikes_each_side: 20, expiries: 2, refresh_secs: 60, quote_wait_secs: 5, max_lines: 40 }
    }
}

/// What an IBKR edge thread (market data, orders) does when a poll finds nothing to do
/// (`[ibkr] idle`).
///
/// Every policy first polls its inputs (ibapi's channels, the order ring) without blocking;
/// they differ in what the thread does between two empty polls:
/// - `spin`: nothing but a `spin_loop` hint — the thread never leaves its core, so a tick or
///   an intent is picked up within a poll (≈ 100 ns). For the co-located binary, with each
///   edge thread pinned to an isolated core (`md_core`, `orders_core`; `docs/deployment.md`).
/// - `yield`: 64 spins, then `sched_yield` between polls: on an idle core it returns at once
///   (a syscall, ≈ 1 µs), on a busy one it lets the other threads run. For shared machines.
/// - `sleep_us`: 64 spins, 2,048 yields, then the thread waits `idle_sleep_us` between polls
///   (the market-data thread blocks on the trade stream for that long, so a trade still wakes
///   it at once; quotes and depth wait up to `idle_sleep_us`). For laptops and CI.
/// - `auto` (the default): `spin` when it can pay off (both edge threads pinned, `md_core` and
///   `orders_core` ≥ 0, on a host with at least [`SPIN_MIN_CORES`] cores), `yield` otherwise;
///   see [`IbkrConfig::resolved_idle`]. Spinning threads that share cores with the pipeline
///   and ibapi's reader steal the cores they wait for: on this project's 2-core machine the
///   loopback wire-to-order p50 was 2.1 ms with `spin` against 166 µs with `yield`
///   (`docs/performance.md`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IdlePolicy {
    /// `spin` on pinned edge threads with cores to spare, else `yield` (resolved at start).
    Auto,
    /// Busy-poll: never yield, never sleep.
    Spin,
    /// Spin briefly, then yield the core between polls.
    Yield,
    /// Spin, yield, then sleep (or block on the trade stream) `idle_sleep_us` between polls.
    SleepUs,
}

impl IdlePolicy {
    /// The label used in the config (`spin`, `yield`, `sleep_us`).
    pub fn label(self) -> &'static str {
        match self {
            IdlePolicy::Auto => "auto",
            IdlePolicy::Spin => "spin",
            IdlePolicy::Yield => "yield",
            IdlePolicy::SleepUs => "sleep_us",
        }
    }

    /// Parses a config or command-line value.
    ///
    /// # Errors
    /// Not one of `auto`, `spin`, `yield`, `sleep_us`.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(IdlePolicy::Auto),
            "spin" => Ok(IdlePolicy::Spin),
            "yield" => Ok(IdlePolicy::Yield),
            "sleep_us" => Ok(IdlePolicy::SleepUs),
            _ => Err(format!("{s:?} is not an idle policy (auto, spin, yield, sleep_us)")),
        }
    }
}

/// The host's online cores (`/sys/devices/system/cpu/online`), not only those of the process's
/// affinity mask: an edge thread pinned with `md_core` / `orders_core` may sit outside a
/// `taskset` mask. Falls back to `available_parallelism` where sysfs is not readable.
pub fn online_cores() -> usize {
    std::fs::read_to_string("/sys/devices/system/cpu/online")
        .ok()
        .map(|s| parse_cpu_list(&s).len())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// The cores of a Linux CPU list (`0-3,8,10-11`, as sysfs writes it); malformed parts and
/// empty ranges give nothing, a range is capped at 4,097 cores.
pub fn parse_cpu_list(s: &str) -> Vec<usize> {
    let mut v = Vec::new();
    for part in s.trim().split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                if let (Ok(a), Ok(b)) = (a.trim().parse::<usize>(), b.trim().parse::<usize>()) {
                    v.extend(a..=b.min(a + 4096));
                }
            }
            None => {
                if let Ok(c) = part.trim().parse() {
                    v.push(c);
                }
            }
        }
    }
    v
}

/// Empty polls an edge thread spins through before it yields (`yield`, `sleep_us`).
pub const IDLE_SPINS: u32 = 64;
/// The fewest cores on which `idle = "auto"` spins (two spinning edge threads, the pipeline
/// thread and ibapi's reader each need one).
pub const SPIN_MIN_CORES: usize = 4;
/// Empty polls after which a `sleep_us` thread stops yielding and starts waiting.
pub const IDLE_YIELDS: u32 = 2_048;

/// The idle wait of one edge thread: call [`Idle::busy`] after a poll that found work and
/// [`Idle::wait`] after one that did not. No allocation; `spin` makes no syscall.
#[derive(Clone, Copy, Debug)]
pub struct Idle {
    policy: IdlePolicy,
    sleep: Duration,
    empty: u32,
}

impl Idle {
    /// The wait of `policy`, sleeping `sleep_us` µs when it sleeps (an unresolved `auto`
    /// waits as `yield`: resolve it with [`IbkrConfig::resolved_idle`]).
    pub fn new(policy: IdlePolicy, sleep_us: u32) -> Self {
        let policy = if policy == IdlePolicy::Auto { IdlePolicy::Yield } else { policy };
        Self { policy, sleep: Duration::from_micros(u64::from(sleep_us.max(1))), empty: 0 }
    }

    /// The poll found work: the next empty poll starts spinning again.
    #[inline]
    pub fn busy(&mut self) {
        self.empty = 0;
    }

    /// True when the thread has been idle long enough to block (policy `sleep_us` only): the
    /// caller may then wait on an input for [`Idle::sleep`] instead of calling [`Idle::wait`].
    #[inline]
    pub fn may_block(&self) -> bool {
        self.policy == IdlePolicy::SleepUs && self.empty >= IDLE_YIELDS
    }

    /// How long a blocking wait of `sleep_us` lasts.
    pub fn sleep(&self) -> Duration {
        self.sleep
    }

    /// The poll found nothing: spin, yield or sleep as the policy says.
    #[inline]
    pub fn wait(&mut self) {
        self.empty = self.empty.saturating_add(1);
        match self.policy {
            IdlePolicy::Spin => std::hint::spin_loop(),
            _ if self.empty < IDLE_SPINS => std::hint::spin_loop(),
            // `new` turned an unresolved auto into yield; the arm keeps the match total.
            IdlePolicy::Yield | IdlePolicy::Auto => std::thread::yield_now(),
            IdlePolicy::SleepUs if self.empty < IDLE_YIELDS => std::thread::yield_now(),
            IdlePolicy::SleepUs => std::thread::sleep(self.sleep),
        }
    }

    /// Counts an empty poll without waiting (the caller blocked on an input instead).
    #[inline]
    pub fn count_empty(&mut self) {
        self.empty = self.empty.saturating_add(1);
    }
}

/// The IBKR edge's configuration (`[ibkr]`).
#[derive(Clone, Debug, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct IbkrConfig {
    /// Gateway/TWS host. Use `127.0.0.1`, not `localhost` (IPv6 may be refused).
    pub host: String,
    /// API port: 7497 TWS paper, 7496 TWS live, 4002 Gateway paper, 4001 Gateway live.
    pub port: u16,
    /// API client id (unique per connection to one TWS; 0 is the master client of TWS).
    pub client_id: i32,
    /// Futures root traded (`"ES"`, `"MES"`).
    pub root: Root,
    /// Market-depth rows (0 = no depth subscription).
    pub depth_levels: u8,
    /// Subscribe tick-by-tick `AllLast` (all trades incl. unreported/combos) instead of `Last`.
    pub all_last: bool,
    /// SPX chain settings.
    pub chain: ChainConfig,
    /// First wait after a failed resubscription or reconciliation, ms.
    pub reconnect_initial_ms: u64,
    /// Longest wait between two resubscription / reconciliation attempts, ms.
    pub reconnect_max_ms: u64,
    /// Socket reconnect attempts ibapi makes before giving up (0 = forever).
    pub reconnect_attempts: u32,
    /// TCP connect and handshake timeout, ms.
    pub connect_timeout_ms: u64,
    /// Timeout of one-shot requests (contract details, reconciliation queries), ms.
    pub request_timeout_ms: u64,
    /// How long a fill waits for its commission report before it is reported with fee 0, ms.
    pub commission_wait_ms: u64,
    /// The largest clock skew against the server's time `check` accepts, ms.
    pub max_clock_skew_ms: u64,
    /// What the market-data and order threads do between two empty polls (see
    /// [`IdlePolicy`]): `auto` (default), `spin` (co-located, isolated cores), `yield`,
    /// `sleep_us`.
    pub idle: IdlePolicy,
    /// The wait of `idle = "sleep_us"`, µs (1–10,000).
    pub idle_sleep_us: u32,
    /// Core of ibapi's socket reader (its dispatcher thread inherits the affinity of the thread
    /// that connects); −1 = not pinned. Ids are taken modulo the core count.
    pub reader_core: i32,
    /// Core of the market-data edge thread (`mia-ibkr-md`); −1 = not pinned.
    pub md_core: i32,
    /// Core of the order edge thread (`mia-ibkr-orders`); −1 = not pinned.
    pub orders_core: i32,
    /// Whether the market-data and order edges run on the pipeline's thread instead of a
    /// thread each (see [`Fuse`]).
    pub fuse: Fuse,
}

/// Where the market-data and order edges run (`[ibkr] fuse`).
///
/// A tick that leads to an order crosses every thread on its way: ibapi's reader, the
/// market-data edge, the pipeline, the order edge. Each hand-off costs a cache-line transfer
/// when the two threads have cores of their own, and a wait for a time slice when they share
/// one. Fused, the sequencer polls both edges itself between inputs (an inline pipeline
/// only), so a tick crosses one hand-off (ibapi's reader → the pipeline thread) and the
/// order is written by the thread that decided it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Fuse {
    /// Fused when no edge thread is pinned (`md_core` and `orders_core` both −1) and the
    /// process may use fewer than [`SPIN_MIN_CORES`] cores; a thread each otherwise.
    Auto,
    /// Always fused (an inline pipeline; a threaded one keeps the edge threads).
    Always,
    /// A thread each (`mia-ibkr-md`, `mia-ibkr-orders`).
    Never,
}

impl Fuse {
    /// The label used in the config.
    pub fn label(self) -> &'static str {
        match self {
            Fuse::Auto => "auto",
            Fuse::Always => "always",
            Fuse::Never => "never",
        }
    }

    /// Parses a config or command-line value.
    ///
    /// # Errors
    /// Not one of `auto`, `always`, `never`.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(Fuse::Auto),
            "always" => Ok(Fuse::Always),
            "never" => Ok(Fuse::Never),
            _ => Err(format!("fuse: unknown value {s:?} (auto, always, never)")),
        }
    }
}

impl Default for IbkrConfig {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 7497,
            client_id: 17,
            root: Root::Es,
            depth_levels: 10,
            all_last: false,
            chain: ChainConfig::default(),
            reconnect_initial_ms: 500,
            reconnect_max_ms: 30_000,
            reconnect_attempts: 0,
            connect_timeout_ms: 5_000,
            request_timeout_ms: 10_000,
            commission_wait_ms: 1_000,
            max_clock_skew_ms: 2_000,
            idle: IdlePolicy::Auto,
            idle_sleep_us: 50,
            reader_core: -1,
            md_core: -1,
            orders_core: -1,
            fuse: Fuse::Auto,
        }
    }
}

impl IbkrConfig {
    /// `host:port`.
    pub fn address(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// The connect timeout.
    pub fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_ms)
    }

    /// The one-shot request timeout.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }

    /// The policy `idle` stands for on a host with `cores` cores: `auto` becomes `spin` when
    /// both edge threads are pinned and `cores ≥` [`SPIN_MIN_CORES`], `yield` otherwise; any
    /// other value is itself.
    pub fn resolved_idle(&self, cores: usize) -> IdlePolicy {
        match self.idle {
            IdlePolicy::Auto if self.md_core >= 0 && self.orders_core >= 0 && cores >= SPIN_MIN_CORES => {
                IdlePolicy::Spin
            }
            IdlePolicy::Auto => IdlePolicy::Yield,
            p => p,
        }
    }

    /// True when the edges run fused into an inline pipeline's thread on a host where the
    /// process may use `cores` cores (see [`Fuse`]).
    pub fn fused(&self, cores: usize, inline: bool) -> bool {
        inline
            && match self.fuse {
                Fuse::Always => true,
                Fuse::Never => false,
                Fuse::Auto => self.md_core < 0 && self.orders_core < 0 && cores < SPIN_MIN_CORES,
            }
    }

    /// The idle wait of an edge thread under `idle` (resolved on this host) / `idle_sleep_us`.
    pub fn idle_wait(&self) -> Idle {
        let cores = online_cores();
        let policy = self.resolved_idle(cores);
        tracing::info!(
            configured = self.idle.label(),
            policy = policy.label(),
            cores,
            "ibkr edge idle policy"
        );
        Idle::new(policy, self.idle_sleep_us)
    }

    /// Checks every field; returns every problem found, each naming the field.
    ///
    /// # Errors
    /// The list of problems.
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let mut e = Vec::new();
        if self.host.trim().is_empty() {
            e.push("ibkr.host: empty".to_string());
        }
        if self.host.eq_ignore_ascii_case("localhost") {
            e.push("ibkr.host: use 127.0.0.1, not localhost (TWS may refuse IPv6)".to_string());
        }
        if self.port == 0 {
            e.push("ibkr.port: 0 (7497 TWS paper, 7496 TWS live, 4002/4001 Gateway)".to_string());
        }
        if self.client_id < 0 {
            e.push(format!("ibkr.client_id: {} is negative", self.client_id));
        }
        if self.depth_levels > 20 {
            e.push(format!("ibkr.depth_levels: {} > 20 (IB sends at most 20 rows)", self.depth_levels));
        }
        let c = &self.chain;
        if c.strikes_each_side == 0 || c.strikes_each_side > 200 {
            e.push(format!("ibkr.chain.strikes_each_side: {} not in 1..=200", c.strikes_each_side));
        }
        if c.expiries == 0 || c.expiries > 20 {
            e.push(format!("ibkr.chain.expiries: {} not in 1..=20", c.expiries));
        }
        if c.refresh_secs < 5 {
            e.push(format!("ibkr.chain.refresh_secs: {} < 5 (IB pacing)", c.refresh_secs));
        }
        if c.quote_wait_secs == 0 || c.quote_wait_secs >= c.refresh_secs.max(1) {
            e.push(format!(
                "ibkr.chain.quote_wait_secs: {} must be in 1..refresh_secs ({})",
                c.quote_wait_secs, c.refresh_secs
            ));
        }
        if c.max_lines == 0 || c.max_lines > 100 {
            e.push(format!("ibkr.chain.max_lines: {} not in 1..=100", c.max_lines));
        }
        if self.reconnect_initial_ms == 0 {
            e.push("ibkr.reconnect_initial_ms: 0".to_string());
        }
        if self.reconnect_max_ms < self.reconnect_initial_ms {
            e.push(format!(
                "ibkr.reconnect_max_ms: {} < reconnect_initial_ms {}",
                self.reconnect_max_ms, self.reconnect_initial_ms
            ));
        }
        if self.connect_timeout_ms == 0 {
            e.push("ibkr.connect_timeout_ms: 0".to_string());
        }
        if self.request_timeout_ms == 0 {
            e.push("ibkr.request_timeout_ms: 0".to_string());
        }
        if self.idle_sleep_us == 0 || self.idle_sleep_us > 10_000 {
            e.push(format!("ibkr.idle_sleep_us: {} not in 1..=10000", self.idle_sleep_us));
        }
        for (key, core) in
            [("reader_core", self.reader_core), ("md_core", self.md_core), ("orders_core", self.orders_core)]
        {
            if !(-1..=1023).contains(&core) {
                e.push(format!("ibkr.{key}: {core} not in -1..=1023 (-1 = not pinned)"));
            }
        }
        if e.is_empty() {
            Ok(())
        } else {
            Err(e)
        }
    }
}

impl IbkrConfig {
    /// A fresh retry back-off from `reconnect_initial_ms` and `reconnect_max_ms`.
    pub(crate) fn backoff(&self) -> crate::backoff::Backoff {
        crate::backoff::Backoff::new(
            Duration::from_millis(self.reconnect_initial_ms),
            Duration::from_millis(self.reconnect_max_ms),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_every_problem_is_listed() {
        assert_eq!(IbkrConfig::default().validate(), Ok(()));
        let bad = IbkrConfig {
            host: "localhost".into(),
            port: 0,
            client_id: -1,
            depth_levels: 30,
            reconnect_initial_ms: 0,
            chain: ChainConfig { expiries: 0, refresh_secs: 1, ..ChainConfig::default() },
            ..IbkrConfig::default()
        };
        let errs = bad.validate().expect_err("invalid");
        for field in
            ["host", "port", "client_id", "depth_levels", "reconnect_initial_ms", "expiries", "refresh_secs"]
        {
            assert!(errs.iter().any(|e| e.contains(field)), "{field} missing from {errs:?}");
        }
    }

    #[test]
    fn the_edges_fuse_on_small_hosts_unless_pinned_or_told() {
        let c = IbkrConfig::default();
        assert_eq!(c.fuse, Fuse::Auto, "the default");
        assert!(c.fused(2, true), "auto: a 2-core host fuses");
        assert!(!c.fused(SPIN_MIN_CORES, true), "auto: a host with cores to spare keeps the threads");
        assert!(!c.fused(2, false), "a threaded pipeline never fuses");
        let pinned = IbkrConfig { md_core: 1, ..IbkrConfig::default() };
        assert!(!pinned.fused(2, true), "auto: a pinned edge keeps its thread");
        let always = IbkrConfig { fuse: Fuse::Always, md_core: 1, ..IbkrConfig::default() };
        assert!(always.fused(64, true) && !always.fused(64, false));
        let never = IbkrConfig { fuse: Fuse::Never, ..IbkrConfig::default() };
        assert!(!never.fused(1, true));
        for f in [Fuse::Auto, Fuse::Always, Fuse::Never] {
            assert_eq!(Fuse::parse(f.label()), Ok(f));
            let c: IbkrConfig = toml::from_str(&format!("fuse = \"{}\"\n", f.label())).expect("parses");
            assert_eq!(c.fuse, f);
        }
        assert!(Fuse::parse("sometimes").is_err_and(|e| e.contains("auto, always, never")));
        assert!(toml::from_str::<IbkrConfig>("fuse = \"sometimes\"\n").is_err());
    }

    #[test]
    fn the_backoff_comes_from_the_reconnect_keys() {
        let cfg = IbkrConfig { reconnect_initial_ms: 500, reconnect_max_ms: 1_500, ..IbkrConfig::default() };
        let mut b = cfg.backoff();
        let ms = |d: Duration| d.as_millis();
        assert_eq!([ms(b.failed()), ms(b.failed()), ms(b.failed())], [500, 1_000, 1_500]);
    }

    #[test]
    fn unknown_fields_are_refused() {
        let ok: IbkrConfig =
            toml::from_str("port = 4002\nroot = \"MES\"\n[chain]\nexpiries = 3\n").expect("parses");
        assert_eq!((ok.port, ok.root, ok.chain.expiries), (4002, Root::Mes, 3));
        assert!(toml::from_str::<IbkrConfig>("prot = 4002\n").is_err());
        assert!(toml::from_str::<IbkrConfig>("account = \"DU1\"\n").is_err(), "the account is not config");
        assert!(toml::from_str::<IbkrConfig>("root = \"NQ\"\n").is_err());
    }

    #[test]
    fn the_idle_policy_is_parsed_and_checked() {
        assert_eq!(IbkrConfig::default().idle, IdlePolicy::Auto, "the default");
        for (text, want) in [
            ("auto", IdlePolicy::Auto),
            ("spin", IdlePolicy::Spin),
            ("yield", IdlePolicy::Yield),
            ("sleep_us", IdlePolicy::SleepUs),
        ] {
            let c: IbkrConfig = toml::from_str(&format!("idle = \"{text}\"\n")).expect("parses");
            assert_eq!(c.idle, want);
            assert_eq!(IdlePolicy::parse(text), Ok(want));
            assert_eq!(want.label(), text);
        }
        let err = toml::from_str::<IbkrConfig>("idle = \"busy\"\n").expect_err("unknown policy").to_string();
        assert!(err.contains("idle") && err.contains("busy"), "names the key and the value: {err}");
        assert!(
            err.contains("spin") && err.contains("yield") && err.contains("sleep_us"),
            "lists the choices: {err}"
        );
        assert!(IdlePolicy::parse("busy").is_err_and(|e| e.contains("auto, spin, yield, sleep_us")));
        let bad = IbkrConfig { idle_sleep_us: 0, md_core: -2, orders_core: 5000, ..IbkrConfig::default() };
        let errs = bad.validate().expect_err("invalid");
        for field in ["idle_sleep_us", "md_core", "orders_core"] {
            assert!(errs.iter().any(|e| e.contains(field)), "{field} missing from {errs:?}");
        }
        assert!(!errs.iter().any(|e| e.contains("reader_core")), "-1 is valid: {errs:?}");
    }

    #[test]
    fn online_cpu_lists_are_counted() {
        assert_eq!(parse_cpu_list("0-3\n").len(), 4);
        assert_eq!(parse_cpu_list("0-2,5,7-8").len(), 6);
        assert_eq!(parse_cpu_list("0").len(), 1);
        assert_eq!(parse_cpu_list("").len(), 0);
        assert_eq!(parse_cpu_list("x,3,5-4").len(), 1, "malformed parts count nothing");
        assert!(online_cores() >= 1);
    }

    #[test]
    fn auto_spins_only_on_pinned_edge_threads_with_cores_to_spare() {
        let d = IbkrConfig::default();
        let pinned = IbkrConfig { md_core: 5, orders_core: 6, ..IbkrConfig::default() };
        assert_eq!(d.resolved_idle(64), IdlePolicy::Yield, "unpinned: never spin");
        assert_eq!(pinned.resolved_idle(SPIN_MIN_CORES), IdlePolicy::Spin);
        assert_eq!(pinned.resolved_idle(SPIN_MIN_CORES - 1), IdlePolicy::Yield, "too few cores");
        let half = IbkrConfig { orders_core: -1, ..pinned.clone() };
        assert_eq!(half.resolved_idle(64), IdlePolicy::Yield, "both threads must be pinned");
        for p in [IdlePolicy::Spin, IdlePolicy::Yield, IdlePolicy::SleepUs] {
            assert_eq!(IbkrConfig { idle: p, ..IbkrConfig::default() }.resolved_idle(2), p, "explicit: kept");
        }
        // An unresolved auto never spins and never blocks.
        let mut w = Idle::new(IdlePolicy::Auto, 50);
        for _ in 0..IDLE_YIELDS {
            w.count_empty();
        }
        assert!(!w.may_block());
    }

    #[test]
    fn an_idle_wait_blocks_only_under_sleep_us() {
        let mut spin = Idle::new(IdlePolicy::Spin, 50);
        let mut sleepy = Idle::new(IdlePolicy::SleepUs, 50);
        for _ in 0..IDLE_YIELDS {
            spin.count_empty();
            sleepy.count_empty();
        }
        assert!(!spin.may_block(), "spin never blocks");
        assert!(sleepy.may_block(), "sleep_us blocks after its spins and yields");
        sleepy.busy();
        assert!(!sleepy.may_block(), "work resets the count");
        assert_eq!(sleepy.sleep(), Duration::from_micros(50));
    }

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("DU1234567");
        assert_eq!(format!("{s} {s:?}"), "*** ***");
        assert_eq!(s.redacted(), "DU…(9)");
        assert_eq!(s.expose(), "DU1234567");
        assert!(!format!("{:?}", Some(s)).contains("1234567"));
    }
}
