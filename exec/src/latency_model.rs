//! Latency models of the simulated exchange: order entry and market-data feed.
//!
//! **Order entry** ([`LatencyModel`]): for each order (or cancel) the model draws an
//! [`OrderLatency`]: `entry_ns`, from the strategy's decision to the order's arrival at the
//! matching engine, and `ack_ns`, from the decision to the acknowledgement back at the strategy.
//!
//! - `constant`: `entry = entry_ns + J`, `ack = entry + response_ns`, where `J` is uniform on
//!   the integers `0..=jitter_ns`, drawn from [`mia_model::rng::SplitMix64`] seeded with `seed`
//!   (`J = ⌊u·(jitter_ns + 1)/2⁶⁴⌋` for the generator's 64-bit output `u`). The jitter only adds:
//!   `entry_ns` is the floor a path cannot beat. With `jitter_ns = 0` it is the old constant
//!   latency. The same seed gives the same sequence on every platform.
//! - `replay`: a table of recorded request → acknowledge intervals `r₀ … r_{k−1}` (for example
//!   measured round trips to the broker), used in order and cycled: draw `i` takes
//!   `r_{i mod k}`; `ack = r` and `entry = round(entry_share·r)` (the share of the round trip
//!   spent before the order reaches the exchange; 0.5 when the two legs are alike).
//!
//! **Feed** ([`FeedClock`]): a market event happens at the exchange at `ts_event` and is seen by
//! the strategy at `ts_recv`; `ts_recv − ts_event` is the feed latency. A simulated venue that
//! matches an order arriving at exchange time `decision + entry` against the market events with
//! `ts_event` ≥ that instant puts the feed latency and the order latency on the same clock.
//! [`FeedClock::exchange_ts`] gives that exchange time, with a fallback for events whose
//! `ts_event` is missing or unusable.
//!
//! Nothing allocates after construction; every draw is O(1).

use mia_model::event::{flags, Event};
use mia_model::rng::SplitMix64;

/// Capacity of the replayed interval table.
pub const LATENCY_TABLE_CAP: usize = 1024;

/// Largest accepted latency or interval (10 s): anything larger is a configuration error.
pub const MAX_LATENCY_NS: u64 = 10_000_000_000;

/// The order-latency model in use (the `model` key of `[sim.latency]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LatencyModelKind {
    /// Constant plus seeded uniform jitter.
    #[default]
    Constant,
    /// Recorded request → acknowledge intervals, cycled.
    Replay,
}

/// Configuration of the order-latency model (`[sim.latency]`).
#[derive(Clone, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LatencyConfig {
    /// `model = "constant"`.
    pub model: LatencyModelKind,
    /// `entry_ns = 250_000`: decision → exchange, before jitter (`constant`).
    pub entry_ns: u64,
    /// `jitter_ns = 0`: the largest jitter added to `entry_ns` (`constant`).
    pub jitter_ns: u64,
    /// `response_ns = 250_000`: exchange → acknowledgement at the strategy (`constant`).
    pub response_ns: u64,
    /// `seed = 1`: seed of the jitter generator.
    pub seed: u64,
    /// `intervals_ns = []`: recorded request → acknowledge intervals (`replay`; at most
    /// [`LATENCY_TABLE_CAP`]).
    pub intervals_ns: Vec<u64>,
    /// `entry_share = 0.5`: the part of a replayed interval before the exchange (`replay`).
    pub entry_share: f64,
}

impl Default for LatencyConfig {
    /// 250 µs each way, no jitter (the venue's historical constant latency).
    fn default() -> Self {
        Self {
            model: LatencyModelKind::Constant,
            entry_ns: 250_000,
            jitter_ns: 0,
            response_ns: 250_000,
            seed: 1,
            intervals_ns: Vec::new(),
            entry_share: 0.5,
        }
    }
}

impl LatencyConfig {
    /// Checks the section against the caps.
    ///
    /// # Errors
    /// `sim.latency.<key>: reason` for the first bad key.
    pub fn validate(&self) -> Result<(), String> {
        let max = MAX_LATENCY_NS;
        if self.entry_ns > max {
            return Err(format!("sim.latency.entry_ns: must be ≤ {max}"));
        }
        if self.jitter_ns > max {
            return Err(format!("sim.latency.jitter_ns: must be ≤ {max}"));
        }
        if self.response_ns > max {
            return Err(format!("sim.latency.response_ns: must be ≤ {max}"));
        }
        if self.intervals_ns.len() > LATENCY_TABLE_CAP {
            return Err(format!("sim.latency.intervals_ns: at most {LATENCY_TABLE_CAP} intervals"));
        }
        if self.intervals_ns.iter().any(|&r| r > max) {
            return Err(format!("sim.latency.intervals_ns: every interval must be ≤ {max}"));
        }
        if self.model == LatencyModelKind::Replay && self.intervals_ns.is_empty() {
            return Err("sim.latency.intervals_ns: the replay model needs at least one interval".into());
        }
        if !(self.entry_share.is_finite() && (0.0..=1.0).contains(&self.entry_share)) {
            return Err("sim.latency.entry_share: must be in [0, 1]".into());
        }
        Ok(())
    }
}

/// One draw of the order-latency model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct OrderLatency {
    /// Decision → arrival at the matching engine, ns.
    pub entry_ns: u64,
    /// Decision → acknowledgement at the strategy, ns (≥ `entry_ns`).
    pub ack_ns: u64,
}

/// The order-latency model (see the module docs). Deterministic: the same config gives the
/// same sequence of draws; [`LatencyModel::reset`] restarts it.
#[derive(Clone, Debug)]
pub struct LatencyModel {
    kind: LatencyModelKind,
    entry_ns: u64,
    jitter_ns: u64,
    response_ns: u64,
    seed: u64,
    rng: SplitMix64,
    table: [u64; LATENCY_TABLE_CAP],
    len: usize,
    next: usize,
    entry_share: f64,
}

impl LatencyModel {
    /// The model of a config, which should have passed [`LatencyConfig::validate`] (intervals
    /// beyond [`LATENCY_TABLE_CAP`] are ignored; an empty replay table draws zero latency).
    pub fn new(cfg: &LatencyConfig) -> Self {
        let mut table = [0u64; LATENCY_TABLE_CAP];
        let len = cfg.intervals_ns.len().min(LATENCY_TABLE_CAP);
        table[..len].copy_from_slice(&cfg.intervals_ns[..len]);
        Self {
            kind: cfg.model,
            entry_ns: cfg.entry_ns,
            jitter_ns: cfg.jitter_ns,
            response_ns: cfg.response_ns,
            seed: cfg.seed,
            rng: SplitMix64::new(cfg.seed),
            table,
            len,
            next: 0,
            entry_share: if cfg.entry_share.is_finite() { cfg.entry_share.clamp(0.0, 1.0) } else { 0.5 },
        }
    }

    /// The kind.
    pub fn kind(&self) -> LatencyModelKind {
        self.kind
    }

    /// The name for the run summary, e.g. `constant(250000+U[0,50000] ns, seed 1)`.
    pub fn describe(&self) -> String {
        match self.kind {
            LatencyModelKind::Constant => format!(
                "constant({}+U[0,{}] ns, response {} ns, seed {})",
                self.entry_ns, self.jitter_ns, self.response_ns, self.seed
            ),
            LatencyModelKind::Replay => {
                format!("replay({} intervals, entry share {})", self.len, self.entry_share)
            }
        }
    }

    /// Restarts the sequence (re-seeds the jitter, rewinds the table).
    pub fn reset(&mut self) {
        self.rng = SplitMix64::new(self.seed);
        self.next = 0;
    }

    /// The next draw. O(1), allocation-free.
    pub fn next_latency(&mut self) -> OrderLatency {
        match self.kind {
            LatencyModelKind::Constant => {
                let j = if self.jitter_ns == 0 {
                    0
                } else {
                    // ⌊u·(J+1)/2⁶⁴⌋ ∈ [0, J]: no modulo bias worth the name, no division.
                    ((u128::from(self.rng.next_u64()) * (u128::from(self.jitter_ns) + 1)) >> 64) as u64
                };
                let entry = self.entry_ns.saturating_add(j);
                OrderLatency { entry_ns: entry, ack_ns: entry.saturating_add(self.response_ns) }
            }
            LatencyModelKind::Replay => {
                if self.len == 0 {
                    return OrderLatency::default();
                }
                let r = self.table[self.next];
                self.next = (self.next + 1) % self.len;
                // `as` saturates; the product is finite and ≤ r.
                let entry = ((r as f64 * self.entry_share).round() as u64).min(r);
                OrderLatency { entry_ns: entry, ack_ns: r }
            }
        }
    }
}

/// Feed latency of one event: `ts_recv − ts_event`, or `None` when `ts_event` is 0, later than
/// `ts_recv`, or the event carries [`flags::BAD_TS_RECV`].
#[inline]
pub fn feed_latency_ns(ev: &Event) -> Option<u64> {
    if ev.ts_event == 0 || ev.flags & flags::BAD_TS_RECV != 0 {
        return None;
    }
    ev.ts_recv.checked_sub(ev.ts_event)
}

/// Exchange-time clock of the feed and its latency statistics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FeedClock {
    /// Events with a usable feed latency.
    pub count: u64,
    /// Events without one ([`feed_latency_ns`] gave `None`).
    pub unusable: u64,
    /// Σ latency of the usable events, ns.
    pub sum_ns: u128,
    /// Smallest latency seen, ns (0 before the first).
    pub min_ns: u64,
    /// Largest latency seen, ns.
    pub max_ns: u64,
    /// Latency of the last usable event, ns.
    pub last_ns: u64,
}

impl FeedClock {
    /// A clock with no events yet.
    pub const fn new() -> Self {
        Self { count: 0, unusable: 0, sum_ns: 0, min_ns: 0, max_ns: 0, last_ns: 0 }
    }

    /// Records `ev` and returns its exchange time: `ts_event` when usable, otherwise
    /// `ts_recv − (the last usable latency)` (`ts_recv` before the first usable event). O(1).
    pub fn exchange_ts(&mut self, ev: &Event) -> u64 {
        match feed_latency_ns(ev) {
            Some(l) => {
                if self.count == 0 || l < self.min_ns {
                    self.min_ns = l;
                }
                self.max_ns = self.max_ns.max(l);
                self.count += 1;
                self.sum_ns += u128::from(l);
                self.last_ns = l;
                ev.ts_event
            }
            None => {
                self.unusable += 1;
                ev.ts_recv.saturating_sub(self.last_ns)
            }
        }
    }

    /// Mean feed latency, ns (a ratio for reports), `None` before the first usable event.
    pub fn mean_ns(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum_ns as f64 / self.count as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mia_model::event::Side;

    fn jitter_cfg(seed: u64) -> LatencyConfig {
        LatencyConfig { jitter_ns: 100_000, seed, ..LatencyConfig::default() }
    }

    #[test]
    fn jitter_is_deterministic_per_seed_and_bounded() {
        let draw = |seed| {
            let mut m = LatencyModel::new(&jitter_cfg(seed));
            (0..1_000).map(|_| m.next_latency()).collect::<Vec<_>>()
        };
        let a = draw(7);
        assert_eq!(a, draw(7), "same seed, same sequence");
        assert_ne!(a, draw(8), "another seed, another sequence");
        for l in &a {
            assert!((250_000..=350_000).contains(&l.entry_ns), "{l:?}");
            assert_eq!(l.ack_ns, l.entry_ns + 250_000);
        }
        // It does jitter, over the whole range.
        let lo = a.iter().map(|l| l.entry_ns).min().unwrap_or(0);
        let hi = a.iter().map(|l| l.entry_ns).max().unwrap_or(0);
        assert!(lo < 260_000 && hi > 340_000, "{lo} {hi}");
        // Reset replays the sequence.
        let mut m = LatencyModel::new(&jitter_cfg(7));
        let first: Vec<_> = (0..5).map(|_| m.next_latency()).collect();
        m.reset();
        let again: Vec<_> = (0..5).map(|_| m.next_latency()).collect();
        assert_eq!(first, again);
    }

    #[test]
    fn jitter_draw_is_the_scaled_splitmix_output() {
        // seed 0: the first SplitMix64 output is 0xE220A8397B1DCDAF (published test vector),
        // ⌊u·1001/2⁶⁴⌋ = ⌊0.88331…·1001⌋ = 884.
        let mut m = LatencyModel::new(&LatencyConfig {
            entry_ns: 1_000,
            jitter_ns: 1_000,
            response_ns: 0,
            seed: 0,
            ..LatencyConfig::default()
        });
        let want = ((0xE220_A839_7B1D_CDAFu128 * 1_001) >> 64) as u64;
        assert_eq!(want, 884);
        assert_eq!(m.next_latency(), OrderLatency { entry_ns: 1_884, ack_ns: 1_884 });
    }

    #[test]
    fn no_jitter_is_the_constant_latency() {
        let mut m = LatencyModel::new(&LatencyConfig::default());
        for _ in 0..3 {
            assert_eq!(m.next_latency(), OrderLatency { entry_ns: 250_000, ack_ns: 500_000 });
        }
    }

    #[test]
    fn replayed_table_cycles_in_order() {
        let cfg = LatencyConfig {
            model: LatencyModelKind::Replay,
            intervals_ns: vec![400_000, 1_000_001, 700_000],
            entry_share: 0.5,
            ..LatencyConfig::default()
        };
        assert_eq!(cfg.validate(), Ok(()));
        let mut m = LatencyModel::new(&cfg);
        let got: Vec<_> = (0..7).map(|_| m.next_latency()).collect();
        let l = |e, a| OrderLatency { entry_ns: e, ack_ns: a };
        // round(0.5·1_000_001) = 500_001 (ties away from zero).
        let cycle = [l(200_000, 400_000), l(500_001, 1_000_001), l(350_000, 700_000)];
        assert_eq!(got, [cycle[0], cycle[1], cycle[2], cycle[0], cycle[1], cycle[2], cycle[0]]);
        let mut all_entry = LatencyModel::new(&LatencyConfig { entry_share: 1.0, ..cfg });
        assert_eq!(all_entry.next_latency(), l(400_000, 400_000));
    }

    #[test]
    fn config_validation_names_the_key() {
        assert_eq!(LatencyConfig::default().validate(), Ok(()));
        let key = |c: LatencyConfig| c.validate().unwrap_err().split(':').next().unwrap_or("").to_string();
        let d = LatencyConfig::default;
        assert_eq!(key(LatencyConfig { entry_ns: MAX_LATENCY_NS + 1, ..d() }), "sim.latency.entry_ns");
        assert_eq!(key(LatencyConfig { jitter_ns: u64::MAX, ..d() }), "sim.latency.jitter_ns");
        assert_eq!(key(LatencyConfig { response_ns: u64::MAX, ..d() }), "sim.latency.response_ns");
        assert_eq!(
            key(LatencyConfig { intervals_ns: vec![1; LATENCY_TABLE_CAP + 1], ..d() }),
            "sim.latency.intervals_ns"
        );
        assert_eq!(key(LatencyConfig { model: LatencyModelKind::Replay, ..d() }), "sim.latency.intervals_ns");
        assert_eq!(key(LatencyConfig { entry_share: 1.5, ..d() }), "sim.latency.entry_share");
        assert_eq!(key(LatencyConfig { entry_share: f64::NAN, ..d() }), "sim.latency.entry_share");
    }

    #[test]
    fn feed_latency_and_exchange_time() {
        let t = |ts_event, ts_recv, fl| Event::trade(ts_event, ts_recv, Side::Bid, 1, 1, fl);
        assert_eq!(feed_latency_ns(&t(100, 130, 0)), Some(30));
        assert_eq!(feed_latency_ns(&t(0, 130, 0)), None);
        assert_eq!(feed_latency_ns(&t(140, 130, 0)), None);
        assert_eq!(feed_latency_ns(&t(100, 130, flags::BAD_TS_RECV)), None);
        let mut c = FeedClock::new();
        assert_eq!(c.exchange_ts(&t(0, 50, 0)), 50, "nothing known yet");
        assert_eq!(c.exchange_ts(&t(100, 130, 0)), 100);
        assert_eq!(c.exchange_ts(&t(200, 210, 0)), 200);
        assert_eq!(c.exchange_ts(&t(0, 300, 0)), 290, "last latency (10) carried over");
        assert_eq!((c.count, c.unusable, c.min_ns, c.max_ns), (2, 2, 10, 30));
        assert_eq!(c.mean_ns(), Some(20.0));
    }
}
