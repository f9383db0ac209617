//! Live metrics: a fixed set of named atomic cells the hot threads write and the monitor (a
//! cold thread) reads, so a running session's health is visible while it runs.
//!
//! **Hot-path contract.** Every setter is an `#[inline]` relaxed atomic store (or a
//! single-writer load + store for the `bump_*` counters: no locked read-modify-write), into
//! cells allocated once in [`LiveMetrics::new`]; a writer calls each setter at most once per
//! input. Nothing here allocates, locks or reads a clock. The cells are grouped by writer, and
//! each group is `#[repr(align(64))]`, so two hot writers never share a cache line:
//!
//! | group | writer | cells |
//! |---|---|---|
//! | [`FeedCells`] | sequencer / feed thread | inputs, market events, last event time, last wall receive time, feed connected, reconnects, ring and tap drops |
//! | [`SignalCells`] | signal stage | signals, last signal (time, direction, tier, strategy, pattern, confidence) |
//! | [`ExecCells`] | exec stage | intents, fills, risk / venue / broker rejects, working orders, position, realized / unrealized / daily P&L, risk state and reason, consecutive losses, kills, mark |
//! | [`ColdCells`] | cold threads (gamma publisher, journal, latency reader) | gamma snapshot (computed-at, levels, spot), journal records, per-stage latency |
//!
//! Each cell has one writer; readers see each cell's latest value (cells are independent, a
//! [`HealthSnapshot`] is not an atomic cut across cells, which monitoring does not need).
//! Money is in nano-USD (`i64`, 1e-9 USD), prices in [`Px`] units (1e-9 points), times in UTC ns.

use mia_model::price::{Px, UNDEF_PX};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};

/// Number of per-stage latency slots ([`LATENCY_STAGES`] names them).
pub const LATENCY_SLOTS: usize = 4;

/// The latency slots, by index: the signal stage, the exec stage, the sequencer (feed), and
/// end to end (input decoded → intent emitted).
pub const LATENCY_STAGES: [&str; LATENCY_SLOTS] = ["signal", "exec", "sequencer", "end_to_end"];

/// Risk-state codes of [`ExecCells::risk_state`] (the exec crate's `RiskState`, in order).
pub mod risk_code {
    /// All checks, orders allowed within limits.
    pub const ACTIVE: i64 = 0;
    /// Only position-reducing orders pass.
    pub const REDUCING: i64 = 1;
    /// Nothing passes.
    pub const HALTED: i64 = 2;
}

/// Cells written by the sequencer / feed thread.
#[repr(align(64))]
#[derive(Debug, Default)]
pub struct FeedCells {
    inputs: AtomicU64,
    market_events: AtomicU64,
    last_event_ts_ns: AtomicU64,
    last_recv_wall_ns: AtomicU64,
    last_event_wall_ns: AtomicU64,
    feed_connected: AtomicU64,
    feed_reconnects: AtomicU64,
    ring_drops: AtomicU64,
    tap_drops: AtomicU64,
}

/// Cells written by the signal stage.
#[repr(align(64))]
#[derive(Debug, Default)]
pub struct SignalCells {
    signals: AtomicU64,
    last_signal_ts_ns: AtomicU64,
    /// direction (i8) | tier << 8 | strategy << 16 | pattern << 24 | confidence‰ << 32.
    last_signal_packed: AtomicU64,
}

/// Cells written by the exec stage.
#[repr(align(64))]
#[derive(Debug, Default)]
pub struct ExecCells {
    intents: AtomicU64,
    fills: AtomicU64,
    risk_rejects: AtomicU64,
    venue_rejects: AtomicU64,
    order_rejects: AtomicU64,
    working_orders: AtomicU64,
    position: AtomicI64,
    realized_pnl_nano: AtomicI64,
    unrealized_pnl_nano: AtomicI64,
    daily_pnl_nano: AtomicI64,
    risk_state: AtomicI64,
    consecutive_losses: AtomicU64,
    risk_reason: AtomicU64,
    kills: AtomicU64,
    trips: AtomicU64,
    mark: AtomicI64,
    entry_px: AtomicI64,
    last_fill_px: AtomicI64,
}

/// Cells written by cold threads: the gamma publisher, the journal writer, the latency reader.
#[repr(align(64))]
#[derive(Debug)]
pub struct ColdCells {
    gamma_computed_at_ns: AtomicU64,
    gamma_zero: AtomicI64,
    gamma_call_wall: AtomicI64,
    gamma_put_wall: AtomicI64,
    gamma_spot: AtomicI64,
    journal_records: AtomicU64,
    latency_count: [AtomicU64; LATENCY_SLOTS],
    latency_sum_ns: [AtomicU64; LATENCY_SLOTS],
    latency_p50_ns: [AtomicU64; LATENCY_SLOTS],
    latency_p99_ns: [AtomicU64; LATENCY_SLOTS],
    latency_p999_ns: [AtomicU64; LATENCY_SLOTS],
}

impl Default for ColdCells {
    fn default() -> Self {
        Self {
            gamma_computed_at_ns: AtomicU64::new(0),
            gamma_zero: AtomicI64::new(UNDEF_PX),
            gamma_call_wall: AtomicI64::new(UNDEF_PX),
            gamma_put_wall: AtomicI64::new(UNDEF_PX),
            gamma_spot: AtomicI64::new(UNDEF_PX),
            journal_records: AtomicU64::new(0),
            latency_count: Default::default(),
            latency_sum_ns: Default::default(),
            latency_p50_ns: Default::default(),
            latency_p99_ns: Default::default(),
            latency_p999_ns: Default::default(),
        }
    }
}

/// The live metrics of one session (share it as `Arc<LiveMetrics>`).
#[derive(Debug, Default)]
pub struct LiveMetrics {
    /// Sequencer / feed thread cells.
    pub feed: FeedCells,
    /// Signal stage cells.
    pub signal: SignalCells,
    /// Exec stage cells.
    pub exec: ExecCells,
    /// Cold-thread cells.
    pub cold: ColdCells,
}

/// Single-writer increment: a relaxed load and store (no locked read-modify-write; correct
/// because the cell has one writer).
#[inline]
fn bump(c: &AtomicU64) {
    c.store(c.load(Relaxed).wrapping_add(1), Relaxed);
}

impl FeedCells {
    /// Inputs sequenced so far (all kinds).
    #[inline]
    pub fn set_inputs(&self, n: u64) {
        self.inputs.store(n, Relaxed);
    }
    /// One more input (single writer).
    #[inline]
    pub fn bump_inputs(&self) {
        bump(&self.inputs);
    }
    /// Market events sequenced so far.
    #[inline]
    pub fn set_market_events(&self, n: u64) {
        self.market_events.store(n, Relaxed);
    }
    /// A market event: count it and record its event time and the wall time it was received.
    #[inline]
    pub fn on_market(&self, ts_event_ns: u64, recv_wall_ns: u64) {
        self.on_replayed_market(ts_event_ns, recv_wall_ns, ts_event_ns);
    }
    /// A market event of a source replaying history on a wall-clock schedule
    /// ([`crate::source::EventSource::scheduled_wall_ns`]): as [`Self::on_market`], with
    /// `due_wall_ns` the wall time the event was due, which the data latency is measured from
    /// (a live feed's event is due at its own event time).
    #[inline]
    pub fn on_replayed_market(&self, ts_event_ns: u64, recv_wall_ns: u64, due_wall_ns: u64) {
        bump(&self.market_events);
        self.last_event_ts_ns.store(ts_event_ns, Relaxed);
        self.last_recv_wall_ns.store(recv_wall_ns, Relaxed);
        self.last_event_wall_ns.store(due_wall_ns, Relaxed);
    }
    /// Event time of the latest market event (UTC ns).
    #[inline]
    pub fn set_last_event_ts(&self, ns: u64) {
        self.last_event_ts_ns.store(ns, Relaxed);
    }
    /// Wall time the latest market event was received (UTC ns).
    #[inline]
    pub fn set_last_recv_wall(&self, ns: u64) {
        self.last_recv_wall_ns.store(ns, Relaxed);
    }
    /// Whether the market-data feed is connected.
    #[inline]
    pub fn set_feed_connected(&self, connected: bool) {
        self.feed_connected.store(u64::from(connected), Relaxed);
    }
    /// Feed reconnections so far.
    #[inline]
    pub fn set_feed_reconnects(&self, n: u64) {
        self.feed_reconnects.store(n, Relaxed);
    }
    /// Envelopes lost on full hot rings (should stay 0).
    #[inline]
    pub fn set_ring_drops(&self, n: u64) {
        self.ring_drops.store(n, Relaxed);
    }
    /// Envelopes dropped by taps under `tap_policy = "drop"`.
    #[inline]
    pub fn set_tap_drops(&self, n: u64) {
        self.tap_drops.store(n, Relaxed);
    }
}

impl SignalCells {
    /// Signals emitted so far.
    #[inline]
    pub fn set_signals(&self, n: u64) {
        self.signals.store(n, Relaxed);
    }
    /// A signal: count it and record what it was. `direction` is −1, 0 or +1, `tier` the
    /// quality tier, `strategy`/`pattern` its source ids, `confidence` in [0, 1].
    #[inline]
    pub fn on_signal(&self, ts_ns: u64, direction: i8, tier: u8, strategy: u8, pattern: u8, confidence: f32) {
        bump(&self.signals);
        self.last_signal_ts_ns.store(ts_ns, Relaxed);
        let permille = if confidence.is_finite() { (confidence.clamp(0.0, 1.0) * 1000.0) as u64 } else { 0 };
        let packed = u64::from(direction as u8)
            | u64::from(tier) << 8
            | u64::from(strategy) << 16
            | u64::from(pattern) << 24
            | permille << 32;
        self.last_signal_packed.store(packed, Relaxed);
    }
}

impl ExecCells {
    /// Order intents emitted so far.
    #[inline]
    pub fn set_intents(&self, n: u64) {
        self.intents.store(n, Relaxed);
    }
    /// Fills so far.
    #[inline]
    pub fn set_fills(&self, n: u64) {
        self.fills.store(n, Relaxed);
    }
    /// Orders refused by the risk manager so far.
    #[inline]
    pub fn set_risk_rejects(&self, n: u64) {
        self.risk_rejects.store(n, Relaxed);
    }
    /// Orders rejected by the (simulated or broker) venue so far.
    #[inline]
    pub fn set_venue_rejects(&self, n: u64) {
        self.venue_rejects.store(n, Relaxed);
    }
    /// Order requests the broker refused (order-entry errors, not fills) so far.
    #[inline]
    pub fn set_order_rejects(&self, n: u64) {
        self.order_rejects.store(n, Relaxed);
    }
    /// Orders working at the venue now.
    #[inline]
    pub fn set_working_orders(&self, n: u64) {
        self.working_orders.store(n, Relaxed);
    }
    /// Signed position, contracts.
    #[inline]
    pub fn set_position(&self, contracts: i64) {
        self.position.store(contracts, Relaxed);
    }
    /// P&L in nano-USD: realized and unrealized (session to date), and the daily P&L the risk
    /// manager's stops use.
    #[inline]
    pub fn set_pnl(&self, realized_nano: i64, unrealized_nano: i64, daily_nano: i64) {
        self.realized_pnl_nano.store(realized_nano, Relaxed);
        self.unrealized_pnl_nano.store(unrealized_nano, Relaxed);
        self.daily_pnl_nano.store(daily_nano, Relaxed);
    }
    /// Risk state code ([`risk_code`]).
    #[inline]
    pub fn set_risk_state(&self, code: i64) {
        self.risk_state.store(code, Relaxed);
    }
    /// Losing round trips in a row.
    #[inline]
    pub fn set_consecutive_losses(&self, n: u64) {
        self.consecutive_losses.store(n, Relaxed);
    }
    /// Why the risk manager is not Active: the exec crate's `RejectReason` code (0 = none).
    #[inline]
    pub fn set_risk_reason(&self, code: u64) {
        self.risk_reason.store(code, Relaxed);
    }
    /// Kill-switch commands received so far.
    #[inline]
    pub fn set_kills(&self, n: u64) {
        self.kills.store(n, Relaxed);
    }

    /// Round trips completed so far (a trade closed; a flip closes one and opens the next).
    #[inline]
    pub fn set_trips(&self, n: u64) {
        self.trips.store(n, Relaxed);
    }
    /// Last trade price (the P&L mark), [`Px`] units.
    #[inline]
    pub fn set_mark(&self, px: Px) {
        self.mark.store(px, Relaxed);
    }
    /// Average entry price of the open position (0 when flat) and the price of the latest
    /// fill (0 before the first), [`Px`] units.
    #[inline]
    pub fn set_prices(&self, entry_px: Px, last_fill_px: Px) {
        self.entry_px.store(entry_px, Relaxed);
        self.last_fill_px.store(last_fill_px, Relaxed);
    }
}

impl ColdCells {
    /// A gamma snapshot was published: when it was computed (UTC ns) and its levels
    /// ([`UNDEF_PX`] for a level it has not).
    #[inline]
    pub fn set_gamma(&self, computed_at_ns: u64, zero_gamma: Px, call_wall: Px, put_wall: Px) {
        self.gamma_computed_at_ns.store(computed_at_ns, Relaxed);
        self.gamma_zero.store(zero_gamma, Relaxed);
        self.gamma_call_wall.store(call_wall, Relaxed);
        self.gamma_put_wall.store(put_wall, Relaxed);
    }
    /// Index spot the gamma snapshot was computed with ([`UNDEF_PX`]: unknown); with the
    /// exec stage's mark it maps the index levels to futures prices (basis = mark − spot).
    #[inline]
    pub fn set_gamma_spot(&self, spot: Px) {
        self.gamma_spot.store(spot, Relaxed);
    }
    /// Journal records written so far.
    #[inline]
    pub fn set_journal_records(&self, n: u64) {
        self.journal_records.store(n, Relaxed);
    }
    /// Latency of stage slot `slot` ([`LATENCY_STAGES`]): samples, their sum and the
    /// p50 / p99 / p99.9 (ns). An unknown slot is ignored.
    #[inline]
    pub fn set_latency(&self, slot: usize, count: u64, sum_ns: u64, p50_ns: u64, p99_ns: u64, p999_ns: u64) {
        if slot < LATENCY_SLOTS {
            self.latency_count[slot].store(count, Relaxed);
            self.latency_sum_ns[slot].store(sum_ns, Relaxed);
            self.latency_p50_ns[slot].store(p50_ns, Relaxed);
            self.latency_p99_ns[slot].store(p99_ns, Relaxed);
            self.latency_p999_ns[slot].store(p999_ns, Relaxed);
        }
    }
}

/// One stage's latency in a [`HealthSnapshot`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LatencyCell {
    /// Samples.
    pub count: u64,
    /// Sum of the samples, ns.
    pub sum_ns: u64,
    /// Median, ns.
    pub p50_ns: u64,
    /// 99th percentile, ns.
    pub p99_ns: u64,
    /// 99.9th percentile, ns.
    pub p999_ns: u64,
}

/// The last signal in a [`HealthSnapshot`].
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LastSignal {
    /// Event time, UTC ns (0: no signal yet).
    pub ts_ns: u64,
    /// −1 short, 0 flat, +1 long.
    pub direction: i8,
    /// Quality tier (1 premium … 3 standard, 0 none).
    pub tier: u8,
    /// Strategy id.
    pub strategy: u8,
    /// Pattern id (0 none).
    pub pattern: u8,
    /// Confidence in [0, 1] (to 0.001).
    pub confidence: f32,
}

fn undef_px() -> Px {
    UNDEF_PX
}

/// A plain copy of every cell at one moment (cold; `Copy`, serialisable).
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct HealthSnapshot {
    /// Inputs sequenced.
    pub inputs: u64,
    /// Market events sequenced.
    pub market_events: u64,
    /// Event time of the latest market event, UTC ns (0: none yet).
    pub last_event_ts_ns: u64,
    /// Wall time the latest market event was received, UTC ns (0: none yet).
    pub last_recv_wall_ns: u64,
    /// Wall time the latest market event was due, UTC ns (0: none yet): its event time for a
    /// live feed, its place in the schedule for a paced replay (`mia paper --source
    /// synthetic`); the data latency is `last_recv_wall_ns` minus this.
    #[serde(default)]
    pub last_event_wall_ns: u64,
    /// Feed connected.
    pub feed_connected: bool,
    /// Feed reconnections.
    pub feed_reconnects: u64,
    /// Envelopes lost on hot rings.
    pub ring_drops: u64,
    /// Envelopes dropped by taps.
    pub tap_drops: u64,
    /// Signals.
    pub signals: u64,
    /// The latest signal.
    pub last_signal: LastSignal,
    /// Order intents.
    pub intents: u64,
    /// Fills.
    pub fills: u64,
    /// Risk rejects.
    pub risk_rejects: u64,
    /// Venue rejects.
    pub venue_rejects: u64,
    /// Broker order rejects.
    pub order_rejects: u64,
    /// Working orders.
    pub working_orders: u64,
    /// Position, contracts.
    pub position: i64,
    /// Realized P&L, nano-USD.
    pub realized_pnl_nano: i64,
    /// Unrealized P&L, nano-USD.
    pub unrealized_pnl_nano: i64,
    /// Daily P&L, nano-USD.
    pub daily_pnl_nano: i64,
    /// Risk state code ([`risk_code`]).
    pub risk_state: i64,
    /// Losing round trips in a row.
    pub consecutive_losses: u64,
    /// Why the risk manager is not Active (the exec crate's `RejectReason` code, 0 = none).
    #[serde(default)]
    pub risk_reason: u64,
    /// Kill-switch commands received.
    #[serde(default)]
    pub kills: u64,
    /// Round trips completed (trades opened = `trips` + 1 while a position is open).
    #[serde(default)]
    pub trips: u64,
    /// Last trade price, [`Px`] units (0: none yet).
    #[serde(default)]
    pub mark: Px,
    /// Average entry price of the open position, [`Px`] units (0: flat).
    #[serde(default)]
    pub entry_px: Px,
    /// Price of the latest fill, [`Px`] units (0: none yet).
    #[serde(default)]
    pub last_fill_px: Px,
    /// When the adopted gamma snapshot was computed, UTC ns (0: none).
    pub gamma_computed_at_ns: u64,
    /// Zero-gamma level ([`UNDEF_PX`]: none).
    pub gamma_zero: Px,
    /// Call wall ([`UNDEF_PX`]: none).
    pub gamma_call_wall: Px,
    /// Put wall ([`UNDEF_PX`]: none).
    pub gamma_put_wall: Px,
    /// Index spot of the gamma snapshot ([`UNDEF_PX`]: unknown).
    #[serde(default = "undef_px")]
    pub gamma_spot: Px,
    /// Journal records written.
    pub journal_records: u64,
    /// Per-stage latency, slots as [`LATENCY_STAGES`].
    pub latency: [LatencyCell; LATENCY_SLOTS],
}

impl LiveMetrics {
    /// All cells zero (gamma levels undefined, risk state Active, feed not connected).
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads every cell (relaxed loads).
    pub fn snapshot(&self) -> HealthSnapshot {
        let (f, s, e, c) = (&self.feed, &self.signal, &self.exec, &self.cold);
        let packed = s.last_signal_packed.load(Relaxed);
        let latency = std::array::from_fn(|i| LatencyCell {
            count: c.latency_count[i].load(Relaxed),
            sum_ns: c.latency_sum_ns[i].load(Relaxed),
            p50_ns: c.latency_p50_ns[i].load(Relaxed),
            p99_ns: c.latency_p99_ns[i].load(Relaxed),
            p999_ns: c.latency_p999_ns[i].load(Relaxed),
        });
        HealthSnapshot {
            inputs: f.inputs.load(Relaxed),
            market_events: f.market_events.load(Relaxed),
            last_event_ts_ns: f.last_event_ts_ns.load(Relaxed),
            last_recv_wall_ns: f.last_recv_wall_ns.load(Relaxed),
            last_event_wall_ns: f.last_event_wall_ns.load(Relaxed),
            feed_connected: f.feed_connected.load(Relaxed) != 0,
            feed_reconnects: f.feed_reconnects.load(Relaxed),
            ring_drops: f.ring_drops.load(Relaxed),
            tap_drops: f.tap_drops.load(Relaxed),
            signals: s.signals.load(Relaxed),
            last_signal: LastSignal {
                ts_ns: s.last_signal_ts_ns.load(Relaxed),
                direction: (packed & 0xff) as u8 as i8,
                tier: (packed >> 8) as u8,
                strategy: (packed >> 16) as u8,
                pattern: (packed >> 24) as u8,
                confidence: (packed >> 32) as f32 / 1000.0,
            },
            intents: e.intents.load(Relaxed),
            fills: e.fills.load(Relaxed),
            risk_rejects: e.risk_rejects.load(Relaxed),
            venue_rejects: e.venue_rejects.load(Relaxed),
            order_rejects: e.order_rejects.load(Relaxed),
            working_orders: e.working_orders.load(Relaxed),
            position: e.position.load(Relaxed),
            realized_pnl_nano: e.realized_pnl_nano.load(Relaxed),
            unrealized_pnl_nano: e.unrealized_pnl_nano.load(Relaxed),
            daily_pnl_nano: e.daily_pnl_nano.load(Relaxed),
            risk_state: e.risk_state.load(Relaxed),
            consecutive_losses: e.consecutive_losses.load(Relaxed),
            risk_reason: e.risk_reason.load(Relaxed),
            kills: e.kills.load(Relaxed),
            trips: e.trips.load(Relaxed),
            mark: e.mark.load(Relaxed),
            entry_px: e.entry_px.load(Relaxed),
            last_fill_px: e.last_fill_px.load(Relaxed),
            gamma_computed_at_ns: c.gamma_computed_at_ns.load(Relaxed),
            gamma_zero: c.gamma_zero.load(Relaxed),
            gamma_call_wall: c.gamma_call_wall.load(Relaxed),
            gamma_put_wall: c.gamma_put_wall.load(Relaxed),
            gamma_spot: c.gamma_spot.load(Relaxed),
            journal_records: c.journal_records.load(Relaxed),
            latency,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn groups_sit_on_their_own_cache_lines() {
        assert_eq!(std::mem::align_of::<FeedCells>(), 64);
        assert_eq!(std::mem::align_of::<SignalCells>(), 64);
        assert_eq!(std::mem::align_of::<ExecCells>(), 64);
        assert_eq!(std::mem::align_of::<ColdCells>(), 64);
        let m = LiveMetrics::new();
        let mut a = [
            &m.feed as *const _ as usize,
            &m.signal as *const _ as usize,
            &m.exec as *const _ as usize,
            &m.cold as *const _ as usize,
        ];
        a.sort_unstable();
        for w in a.windows(2) {
            assert!(w[1] - w[0] >= 64 && w[0] % 64 == 0 && w[1] % 64 == 0, "{a:?}");
        }
    }

    #[test]
    fn new_metrics_are_empty() {
        let s = LiveMetrics::new().snapshot();
        assert_eq!(s.inputs, 0);
        assert!(!s.feed_connected);
        assert_eq!(s.risk_state, risk_code::ACTIVE);
        assert_eq!((s.gamma_zero, s.gamma_call_wall, s.gamma_put_wall), (UNDEF_PX, UNDEF_PX, UNDEF_PX));
        assert_eq!(s.gamma_spot, UNDEF_PX);
        assert_eq!(s.last_signal, LastSignal::default());
    }

    #[test]
    fn every_setter_reaches_the_snapshot() {
        let m = LiveMetrics::new();
        m.feed.set_inputs(10);
        m.feed.bump_inputs();
        m.feed.set_market_events(5);
        m.feed.on_market(1_000, 2_000);
        m.feed.set_feed_connected(true);
        m.feed.set_feed_reconnects(2);
        m.feed.set_ring_drops(3);
        m.feed.set_tap_drops(4);
        m.signal.set_signals(6);
        m.signal.on_signal(1_500, -1, 2, 7, 5, 0.734);
        m.exec.set_intents(8);
        m.exec.set_fills(9);
        m.exec.set_risk_rejects(11);
        m.exec.set_venue_rejects(12);
        m.exec.set_order_rejects(13);
        m.exec.set_working_orders(3);
        m.exec.set_position(-2);
        m.exec.set_pnl(-5, 7, -3);
        m.exec.set_risk_state(risk_code::HALTED);
        m.exec.set_consecutive_losses(4);
        m.exec.set_risk_reason(6);
        m.exec.set_kills(2);
        m.exec.set_mark(5_010);
        m.exec.set_prices(5_005, 5_007);
        m.cold.set_gamma(900, 5_000, 5_100, 4_900);
        m.cold.set_gamma_spot(4_980);
        m.cold.set_journal_records(10);
        m.cold.set_latency(1, 100, 5_000, 40, 90, 120);
        m.cold.set_latency(LATENCY_SLOTS, 1, 1, 1, 1, 1); // ignored
        let s = m.snapshot();
        assert_eq!(
            (s.inputs, s.market_events, s.last_event_ts_ns, s.last_recv_wall_ns),
            (11, 6, 1_000, 2_000)
        );
        assert!(s.feed_connected);
        assert_eq!((s.feed_reconnects, s.ring_drops, s.tap_drops), (2, 3, 4));
        assert_eq!(s.signals, 7);
        let ls = s.last_signal;
        assert_eq!((ls.ts_ns, ls.direction, ls.tier, ls.strategy, ls.pattern), (1_500, -1, 2, 7, 5));
        assert!((ls.confidence - 0.734).abs() < 0.0011, "{}", ls.confidence);
        assert_eq!(
            (s.intents, s.fills, s.risk_rejects, s.venue_rejects, s.order_rejects),
            (8, 9, 11, 12, 13)
        );
        assert_eq!((s.working_orders, s.position), (3, -2));
        assert_eq!((s.realized_pnl_nano, s.unrealized_pnl_nano, s.daily_pnl_nano), (-5, 7, -3));
        assert_eq!((s.risk_state, s.consecutive_losses), (risk_code::HALTED, 4));
        assert_eq!((s.risk_reason, s.kills, s.mark, s.gamma_spot), (6, 2, 5_010, 4_980));
        assert_eq!((s.entry_px, s.last_fill_px), (5_005, 5_007));
        assert_eq!(
            (s.gamma_computed_at_ns, s.gamma_zero, s.gamma_call_wall, s.gamma_put_wall),
            (900, 5_000, 5_100, 4_900)
        );
        assert_eq!(s.journal_records, 10);
        assert_eq!(
            s.latency[1],
            LatencyCell { count: 100, sum_ns: 5_000, p50_ns: 40, p99_ns: 90, p999_ns: 120 }
        );
        assert_eq!(s.latency[0], LatencyCell::default());
    }

    #[test]
    fn bad_confidence_is_zero_not_garbage() {
        let m = LiveMetrics::new();
        m.signal.on_signal(1, 1, 1, 1, 1, f32::NAN);
        assert_eq!(m.snapshot().last_signal.confidence, 0.0);
        m.signal.on_signal(1, 1, 1, 1, 1, 7.0);
        assert_eq!(m.snapshot().last_signal.confidence, 1.0);
    }

    #[test]
    fn a_reader_thread_sees_the_writers() {
        let m = Arc::new(LiveMetrics::new());
        let w = Arc::clone(&m);
        let h = std::thread::spawn(move || {
            for i in 1..=10_000u64 {
                w.feed.on_market(i, i);
                w.exec.set_position(i as i64);
            }
        });
        let mut last = 0;
        while last < 10_000 {
            let s = m.snapshot();
            assert!(s.market_events >= last, "monotonic counter");
            last = s.market_events;
            std::thread::yield_now();
        }
        h.join().expect("writer");
        assert_eq!(m.snapshot().position, 10_000);
    }

    #[test]
    fn snapshot_round_trips_through_json() {
        let m = LiveMetrics::new();
        m.exec.set_position(3);
        m.signal.on_signal(5, 1, 1, 2, 3, 0.5);
        let s = m.snapshot();
        let text = serde_json::to_string(&s).expect("json");
        let back: HealthSnapshot = serde_json::from_str(&text).expect("parse");
        assert_eq!(back, s);
    }
}
