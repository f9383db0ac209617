//! The feature engine: drives the shared [`Market`] state and the registered features in the
//! per-event order of SIGNALS.md §1, keeps the [`FeatureVector`] and takes the feature
//! snapshots.
//!
//! Per event: (1) [`FeatureEngine::begin`] moves event time, closes the bars that are due
//! (ascending timeframes, *before* the event is applied, each running its bar-close hooks),
//! rolls the session and the phase, and rolls the smart-money periods; (2) the event is applied
//! ([`FeatureEngine::level`], [`FeatureEngine::trade`], [`FeatureEngine::clear`]); (3) on a
//! `LAST` event [`FeatureEngine::end_record`] refreshes the BBO-driven features. A gamma
//! snapshot is adopted only by [`FeatureEngine::adopt_gamma`], at a sequenced input.

use super::registry::{FeatureSet, FeaturesConfig};
use crate::market::bars::{Timeframe, TIMEFRAMES};
use crate::market::footprint::ImbalanceParams;
use crate::market::{Market, MarketConfig, TradeTick};
use mia_model::event::Event;
use mia_model::feature_stats::FeatureStats;
use mia_model::features::{cycle_flags, FeatureSnapshot, SnapshotKind};
use mia_model::features::{vector_flags, FeatureId, FeatureVector};
use mia_options::levels::GammaLevels;

/// Decision bars the warm-up needs (`[signal.regime] min_bars`, SIGNALS.md §9).
pub const WARMUP_BARS: usize = 30;
/// The decision timeframe (SIGNALS.md §11: 5-minute bars).
pub const DECISION_TF: Timeframe = Timeframe::M5;
/// Snapshots buffered between two drains (one per 1-minute close and per signal).
pub const SNAPSHOT_BUF: usize = 64;

/// Market state, features, the vector and the snapshots.
pub struct FeatureEngine {
    /// The shared market state.
    pub market: Market,
    /// The registered features.
    pub features: FeatureSet,
    vector: FeatureVector,
    fp_params: ImbalanceParams,
    /// Large-print totals when each timeframe's open bar opened.
    large_at_open: [(u64, u64); 4],
    /// Statistics over the snapshots.
    pub stats: FeatureStats,
    snapshots: [FeatureSnapshot; SNAPSHOT_BUF],
    n_snapshots: usize,
    /// Snapshots lost because nobody drained the buffer.
    pub snapshots_dropped: u64,
    /// Keep snapshots (false: only the statistics are taken).
    pub keep_snapshots: bool,
}

impl FeatureEngine {
    /// An engine for a contract with tick `tick`.
    pub fn new(market: &MarketConfig, features: &FeaturesConfig, tick: i64) -> Self {
        Self {
            market: Market::new(market, tick),
            features: FeatureSet::new(features, tick),
            vector: FeatureVector {
                flags: vector_flags::OPT_NONE | vector_flags::WARMUP,
                ..FeatureVector::default()
            },
            fp_params: features.absorption.params(),
            large_at_open: [(0, 0); 4],
            stats: FeatureStats::default(),
            snapshots: [FeatureSnapshot::default(); SNAPSHOT_BUF],
            n_snapshots: 0,
            snapshots_dropped: 0,
            keep_snapshots: false,
        }
    }

    /// The current vector.
    #[inline]
    pub fn vector(&self) -> &FeatureVector {
        &self.vector
    }

    /// Step 1 of an event at `ts_recv` with sequence number `seq`. Returns what happened:
    /// the bitmask of the timeframes whose bar closed (bit = `Timeframe::index`) and whether a
    /// new session started.
    #[inline]
    pub fn begin(&mut self, ts_recv: u64, seq: u64) -> (u8, bool) {
        let change = self.market.advance(ts_recv);
        let mut closed = 0;
        if self.market.bars.due(self.market.now) {
            closed = self.close_bars(seq);
        }
        if change.new_session || change.new_phase {
            self.roll_clock(change.new_session, change.new_phase);
        }
        self.market.before_event();
        (closed, change.new_session)
    }

    #[cold]
    fn roll_clock(&mut self, new_session: bool, new_phase: bool) {
        if new_session {
            self.market.reset_session();
            self.features.on_session(&self.market, &mut self.vector);
        }
        if new_phase {
            self.features.on_phase(&self.market, &mut self.vector);
        }
    }

    #[cold]
    fn close_bars(&mut self, seq: u64) -> u8 {
        let m = &mut self.market;
        let (cd, tick, params) = (m.cum_delta, m.tick, self.fp_params);
        let obi = self.vector.get(FeatureId::BookImbalance).unwrap_or(0.0);
        let vwap = m.vwap.vwap_points(tick).unwrap_or(0.0);
        let totals = (m.smart_money.total_large_buy, m.smart_money.total_large_sell);
        let at_open = self.large_at_open;
        let mask = m.bars.close_due(m.now, |tf, fp, bar| {
            bar.cum_delta_close = cd;
            bar.obi_close = obi;
            bar.vwap_session_close = vwap;
            let s = fp.summary(fp.slot(bar.low / tick), fp.slot(bar.high / tick), &params);
            bar.fp_b = s.b;
            bar.fp_babs = s.b_abs;
            bar.fp_s = s.s;
            bar.fp_sabs = s.s_abs;
            bar.fp_score = s.score(bar.volume as u64).unwrap_or(0.0) as f32;
            let (b0, s0) = at_open[tf.index()];
            bar.large_buy = (totals.0 - b0).min(u32::MAX as u64) as u32;
            bar.large_sell = (totals.1 - s0).min(u32::MAX as u64) as u32;
        });
        for tf in TIMEFRAMES {
            if mask & (1 << tf.index()) == 0 {
                continue;
            }
            self.features.on_bar_close(&self.market, tf, &mut self.vector);
            if tf == DECISION_TF && self.market.bars.series(tf).ring.len() >= WARMUP_BARS {
                self.vector.flags &= !vector_flags::WARMUP;
            }
            if tf == Timeframe::M1 {
                self.snapshot(SnapshotKind::MinuteClose, seq);
            }
        }
        mask
    }

    /// Applies a `Level` event to the book (the caller checked it) and the features; returns
    /// false when the book refuses it.
    #[inline]
    pub fn level(&mut self, ev: &Event) -> bool {
        let d = ev.depth as usize;
        let prev = match ev.side {
            mia_model::event::Side::Bid => self.market.book.bid(d).size,
            mia_model::event::Side::Ask => self.market.book.ask(d).size,
            mia_model::event::Side::None => 0,
        };
        if self.market.book.apply(ev) == mia_model::book::BookChange::Rejected {
            return false;
        }
        self.features.on_level(&self.market, ev, prev);
        true
    }

    /// Applies a trade (the caller checked it); returns it classified.
    #[inline]
    pub fn trade(&mut self, ev: &Event) -> TradeTick {
        let t = self.market.trade(ev);
        for tf in TIMEFRAMES {
            if t.slots[tf.index()].1 {
                let sm = &self.market.smart_money;
                self.large_at_open[tf.index()] = (sm.total_large_buy, sm.total_large_sell);
            }
        }
        self.features.on_trade(&self.market, &t, &mut self.vector);
        t
    }

    /// Clears the book.
    pub fn clear(&mut self) {
        self.market.book.clear();
        self.features.on_clear(&mut self.vector);
    }

    /// Step 3 on a `LAST` event.
    #[inline]
    pub fn end_record(&mut self, ev: &Event) {
        self.market.end_record(ev);
        if self.market.book_bad {
            self.vector.flags |= vector_flags::BOOK_BAD;
        } else {
            self.vector.flags &= !vector_flags::BOOK_BAD;
        }
        self.features.on_last(&self.market, &mut self.vector);
        self.vector.ts = self.market.now;
        self.vector.seq = ev.seq;
    }

    /// Adopts a gamma snapshot (a sequenced `GammaPublished` input, or the opening snapshot).
    pub fn adopt_gamma(&mut self, levels: &GammaLevels) {
        self.features.on_gamma(&self.market, levels, &mut self.vector);
    }

    /// Records a snapshot of `kind` at input `seq`.
    pub fn snapshot(&mut self, kind: SnapshotKind, seq: u64) {
        self.stats.sample(&self.vector);
        if !self.keep_snapshots {
            return;
        }
        if self.n_snapshots == SNAPSHOT_BUF {
            self.snapshots_dropped += 1;
            return;
        }
        let m = &self.market;
        let cycle = self.features.options.cycle_at(m.now);
        let (gamma_phase, cycle_flags, zero_dte_share) = match cycle {
            None => (0, 0, 0.0),
            Some(c) => {
                let mut fl = 0;
                if c.opex_week {
                    fl |= cycle_flags::OPEX_WEEK;
                }
                if c.zdte_valid {
                    fl |= cycle_flags::ZDTE_VALID;
                }
                (c.phase.code(), fl, if c.zdte_valid { c.zero_dte_share as f32 } else { 0.0 })
            }
        };
        self.snapshots[self.n_snapshots] = FeatureSnapshot {
            seq,
            ts: m.now,
            kind: kind as u32,
            session_date: m.clock.date,
            vector: self.vector,
            bar: m.bars.series(Timeframe::M1).ring.last().copied().unwrap_or_default(),
            cum_delta: m.cum_delta,
            mid: m.mid().unwrap_or(0),
            phase: m.clock.phase as u32,
            gamma_phase,
            cycle_flags,
            zero_dte_share,
        };
        self.n_snapshots += 1;
    }

    /// True when snapshots wait in the buffer.
    #[inline]
    pub fn has_snapshots(&self) -> bool {
        self.n_snapshots > 0
    }

    /// Hands the buffered snapshots to `f` (in order) and empties the buffer.
    pub fn drain_snapshots(&mut self, mut f: impl FnMut(&FeatureSnapshot)) {
        for s in &self.snapshots[..self.n_snapshots] {
            f(s);
        }
        self.n_snapshots = 0;
    }
}
