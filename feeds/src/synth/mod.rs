//! Built-in synthetic ES market: a seeded, deterministic generator of one full RTH session
//! (08:30–15:00 America/Chicago) of CME Globex MBP-10 records, shaped like a Databento
//! `GLBX.MDP3` `mbp-10` feed.
//!
//! Each [`dbn::Mbp10Msg`] is one book action — `A` add, `C` cancel, `M` modify or `T` trade —
//! carrying the full 10-level book *after* the action. A trade record leaves the book
//! unchanged; the depletion of the resting queue follows as `C`/`M` records, and a trade that
//! consumes the whole best level removes it (the ladder shifts). All records of one exchange
//! event share `ts_event`, and only the last carries the `LAST` flag.
//!
//! The model (see `docs/synthetic_market.md`): a latent fair value with GARCH(1,1) volatility,
//! regime-switching drift and rare jumps; an order-flow layer whose aggressor side, queue
//! pulling and book imbalance lean towards the fair value (so flow leads price); heavy-tailed
//! trade sizes; an intraday activity/volatility profile (opening burst, lunch lull, close).
//!
//! ```
//! use mia_feeds::synth::{SynthConfig, SynthSession};
//! let cfg = SynthConfig { target_records: 2_000, ..SynthConfig::default() };
//! let session = SynthSession::new(&cfg);
//! assert_eq!(session.symbol(), "ESM4");
//! let records: Vec<_> = session.collect();
//! assert!(records.len() > 1_000);
//! ```

mod book;
mod dist;
mod model;
mod rng;
#[cfg(test)]
mod tests;

use std::ffi::c_char;
use std::iter::FusedIterator;

use dbn::{rtype, FlagSet, Mbp10Msg, RecordHeader};
use mia_model::contract::ContractSpec;
use mia_model::event::flags::LAST;
use mia_model::price::Px;

use book::{Book, SideIx, ASK, BID, DEPTH};
use dist::QuantileTable;
use mia_model::time::calendar::Date;
use mia_model::time::NS_PER_SEC;
use model::{Latent, Seasonality, SESSION_MINUTES};
use rng::Rng;

/// ES minimum price increment (0.25) in 1e-9 price units (private alias of the contract spec).
const ES_TICK: Px = ContractSpec::ES.tick;

/// Databento publisher id of CME Globex MDP 3.0 (`GLBX.MDP3.GLBX`).
pub const GLBX_MDP3_PUBLISHER_ID: u16 = 1;

/// Records per exchange event (≈ 1.36) times the mean volatility-driven activity multiplier
/// (≈ 1.06), used to turn `target_records` into a base event rate (calibrated over seeds).
const RECORDS_PER_EVENT: f64 = 1.44;

/// Latent time step (1 s).
const STEP_NS: u64 = NS_PER_SEC;

/// Gain from fair-value gap (ticks) to order-flow pressure in [−1, 1].
const PRESSURE_GAIN: f64 = 0.7;

/// Permanent fair-value impact of a trade, ticks per √contract.
const TRADE_IMPACT: f64 = 0.008;

/// Mean resting size of level `d`, contracts (larger deeper).
const fn level_target(d: usize) -> u32 {
    40 + 28 * d as u32
}

/// Configuration of a synthetic session. `Default` gives the reference session: seed 42,
/// Wednesday 2024-03-13 (CDT), ESM4 at 5000.00, ~700k records (≈ 2M normalized events).
#[derive(Clone, Debug, PartialEq)]
pub struct SynthConfig {
    /// PRNG seed: the same seed and config always give bit-identical records.
    pub seed: u64,
    /// Session date, interpreted in America/Chicago. Any valid calendar date in 1971–2200 is
    /// accepted (weekends and holidays are not rejected).
    pub date: Date,
    /// Instrument id written in every record header (arbitrary; not a real Globex id).
    pub instrument_id: u32,
    /// Publisher id written in every record header (default [`GLBX_MDP3_PUBLISHER_ID`]).
    pub publisher_id: u16,
    /// Approximate number of records to generate over the session (the event rate is scaled
    /// to it; the realised count is within about ±20%).
    pub target_records: u64,
    /// Opening best bid, 1e-9 units; rounded to the 0.25 grid (default 5000.00).
    pub start_price: Px,
    /// Multiplier of the fair-value volatility and trend speeds (1.0 = ~25–30 points RTH sd).
    pub vol_scale: f64,
    /// ES − SPX basis used by [`SynthSession::spx_spot_estimate`], 1e-9 units (default 20.00).
    pub spx_basis: Px,
}

impl Default for SynthConfig {
    fn default() -> Self {
        Self {
            seed: 42,
            date: Date { year: 2024, month: 3, day: 13 },
            instrument_id: 4916,
            publisher_id: GLBX_MDP3_PUBLISHER_ID,
            target_records: 700_000,
            start_price: 5_000 * mia_model::price::PRICE_SCALE,
            vol_scale: 1.0,
            spx_basis: 20 * mia_model::price::PRICE_SCALE,
        }
    }
}

/// Why a [`SynthConfig`] was refused.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum SynthError {
    /// `date` is not a valid calendar date in 1971–2200.
    #[error("synthetic session: invalid date {0}")]
    InvalidDate(Date),
    /// `target_records` is 0 or above 100 million.
    #[error("synthetic session: target_records {0} outside 1..=100000000")]
    InvalidTargetRecords(u64),
    /// `start_price` is not between 100.00 and 100000.00.
    #[error("synthetic session: start_price {0} outside 100.00..=100000.00")]
    InvalidStartPrice(Px),
    /// `vol_scale` is not a finite number in (0, 10].
    #[error("synthetic session: vol_scale {0} outside (0, 10]")]
    InvalidVolScale(f64),
}

impl SynthConfig {
    /// Checks every field; [`SynthSession::try_new`] calls it.
    pub fn validate(&self) -> Result<(), SynthError> {
        let d = self.date;
        if !(1971..=2200).contains(&d.year) || Date::new(d.year, d.month, d.day).is_none() {
            return Err(SynthError::InvalidDate(d));
        }
        if !(1..=100_000_000).contains(&self.target_records) {
            return Err(SynthError::InvalidTargetRecords(self.target_records));
        }
        let scale = mia_model::price::PRICE_SCALE;
        if !(100 * scale..=100_000 * scale).contains(&self.start_price) {
            return Err(SynthError::InvalidStartPrice(self.start_price));
        }
        if !(self.vol_scale > 0.0 && self.vol_scale <= 10.0) {
            return Err(SynthError::InvalidVolScale(self.vol_scale));
        }
        Ok(())
    }
}

/// Precomputed sampling tables.
#[derive(Debug)]
struct Tables {
    /// Standard exponential (inter-arrival times, latencies).
    expo: QuantileTable<f64>,
    /// Aggressor order size: power law, P(Q ≥ x) ≈ x^-1.3 on 1..=500.
    trade_size: QuantileTable<u32>,
    /// Size of an add / cancel / modify: power law, P(Q ≥ x) ≈ x^-1.6 on 1..=150.
    order_size: QuantileTable<u32>,
    /// Depth touched by a passive book event (64 buckets, more weight near the touch).
    depth: [u8; 64],
    /// Seasonal multipliers.
    season: Seasonality,
}

impl Tables {
    fn new() -> Self {
        const WEIGHTS: [usize; DEPTH] = [13, 10, 8, 7, 6, 5, 5, 4, 3, 3];
        let mut depth = [0u8; 64];
        let mut i = 0;
        for (d, w) in WEIGHTS.iter().enumerate() {
            for _ in 0..*w {
                depth[i] = d as u8;
                i += 1;
            }
        }
        debug_assert_eq!(i, 64);
        Self {
            expo: QuantileTable::build(dist::exp_quantile),
            trade_size: QuantileTable::build(|u| dist::power_law_quantile(u, 1.3, 500)),
            order_size: QuantileTable::build(|u| dist::power_law_quantile(u, 1.6, 150)),
            depth,
            season: Seasonality::new(),
        }
    }
}

/// An aggressive order being reported level by level: `T` record, then the depletion record.
#[derive(Clone, Copy, Debug)]
struct PendingTrade {
    /// Aggressor side: `BID` = buyer lifting the ask, `ASK` = seller hitting the bid.
    aggressor: SideIx,
    /// Quantity still to execute, contracts.
    remaining: u32,
    /// Quantity of the `T` record just emitted, to deplete from the passive top level.
    fill: u32,
    /// True when the next record is a `T`, false when it is the depletion.
    trade_next: bool,
}

/// One book operation to report as a record (the book is already updated).
#[derive(Clone, Copy, Debug)]
struct Op {
    action: u8,
    /// Book side, or the aggressor side for a trade.
    side: SideIx,
    depth: u8,
    price_tick: i64,
    size: u32,
    last: bool,
}

/// A seeded synthetic RTH session of ES MBP-10 records; an [`Iterator`] of [`dbn::Mbp10Msg`].
///
/// Deterministic: the records depend only on the [`SynthConfig`] (no wall clock, no platform
/// `libm`), so they are bit-identical across runs and platforms.
#[derive(Debug)]
pub struct SynthSession {
    cfg: SynthConfig,
    symbol: String,
    start_ns: u64,
    end_ns: u64,
    start_tick: i64,
    rng: Rng,
    tables: Box<Tables>,
    latent: Latent,
    book: Book,
    /// Events per second at seasonal multiplier 1 and average activity.
    base_rate: f64,
    /// Current mean inter-arrival time, ns.
    mean_dt_ns: f64,
    /// `ts_event` of the current exchange event.
    ts_event: u64,
    /// `ts_recv` of the current exchange event.
    ts_recv: u64,
    /// `ts_event` of the next exchange event.
    next_ts: u64,
    /// Time of the next latent step.
    next_step_ns: u64,
    sequence: u32,
    pending: Option<PendingTrade>,
    done: bool,
}

const _: () = {
    const fn assert_send<T: Send>() {}
    assert_send::<SynthSession>();
};

impl SynthSession {
    /// Creates the session described by `cfg`.
    ///
    /// # Panics
    /// If `cfg` is invalid (see [`SynthConfig::validate`]); use [`SynthSession::try_new`] to
    /// get the error instead.
    pub fn new(cfg: &SynthConfig) -> Self {
        match Self::try_new(cfg) {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        }
    }

    /// Creates the session described by `cfg`, or says which field is invalid.
    pub fn try_new(cfg: &SynthConfig) -> Result<Self, SynthError> {
        cfg.validate()?;
        let bad_date = || SynthError::InvalidDate(cfg.date);
        let start_ns = cfg.date.at_chicago_ns(8, 30).ok_or_else(bad_date)?;
        let end_ns = cfg.date.at_chicago_ns(15, 0).ok_or_else(bad_date)?;
        let start_tick = mia_model::price::round_to_tick(cfg.start_price, ES_TICK) / ES_TICK;
        let tables = Box::new(Tables::new());
        let mut rng = Rng::new(cfg.seed);
        let book = Book::new(start_tick, ES_TICK, |_, depth| fresh_level(&mut rng, level_target(depth)));
        let season_sum: f64 = tables.season.rate.iter().sum();
        let base_rate = cfg.target_records as f64 / (RECORDS_PER_EVENT * season_sum * 60.0);
        let latent = Latent::new(0.5, cfg.vol_scale);
        let mean_dt_ns = NS_PER_SEC as f64 / (base_rate * tables.season.rate[0] * latent.activity());
        let mut s = Self {
            cfg: cfg.clone(),
            symbol: mia_model::contract::front_symbol("ES", cfg.date),
            start_ns,
            end_ns,
            start_tick,
            rng,
            tables,
            latent,
            book,
            base_rate,
            mean_dt_ns,
            ts_event: start_ns,
            ts_recv: start_ns,
            next_ts: start_ns,
            next_step_ns: start_ns,
            sequence: (cfg.seed % 1_000_000) as u32 * 1_000,
            pending: None,
            done: false,
        };
        s.next_ts = start_ns + (s.tables.expo.sample(s.rng.next_u64()) * s.mean_dt_ns) as u64;
        Ok(s)
    }

    /// Session open (08:30 America/Chicago on the configured date), UTC ns since the epoch.
    pub fn start_ns(&self) -> u64 {
        self.start_ns
    }

    /// Session close (15:00 America/Chicago), UTC ns since the epoch; every record has
    /// `start_ns() <= ts_event < end_ns()`.
    pub fn end_ns(&self) -> u64 {
        self.end_ns
    }

    /// Instrument id written in the records.
    pub fn instrument_id(&self) -> u32 {
        self.cfg.instrument_id
    }

    /// ES front-month symbol on the session date (e.g. `"ESM4"`): the first quarterly
    /// contract whose roll date (8 days before its 3rd-Friday expiry) is after the date.
    pub fn symbol(&self) -> &str {
        &self.symbol
    }

    /// Opening price: the best bid of the opening book (the configured start price on the
    /// 0.25 grid), 1e-9 units. The opening ask is one tick above.
    pub fn opening_price(&self) -> Px {
        self.start_tick * ES_TICK
    }

    /// SPX spot estimate at the open for building a coherent option chain: the ES opening
    /// price minus the configured fixed basis ([`SynthConfig::spx_basis`], default 20 points).
    pub fn spx_spot_estimate(&self) -> Px {
        self.opening_price() - self.cfg.spx_basis
    }

    /// The configuration the session was built from.
    pub fn config(&self) -> &SynthConfig {
        &self.cfg
    }

    /// Advances the latent process to `ts` and refreshes the event rate.
    fn advance_latent(&mut self, ts: u64) {
        while ts >= self.next_step_ns {
            let minute =
                (((self.next_step_ns - self.start_ns) / (60 * NS_PER_SEC)) as usize).min(SESSION_MINUTES - 1);
            let ahead =
                ((self.next_step_ns - self.start_ns) / (60 * NS_PER_SEC)) as usize + model::LOOKAHEAD / 60;
            self.latent.step(&mut self.rng, self.tables.season.vol[ahead.min(SESSION_MINUTES - 1)]);
            self.next_step_ns += STEP_NS;
            let rate = self.base_rate * self.tables.season.rate[minute] * self.latent.activity();
            self.mean_dt_ns = NS_PER_SEC as f64 / rate;
        }
    }

    /// Writes the record of `op`, built from the current book state, into `out` (every field
    /// is set).
    #[inline(always)]
    fn record_into(&mut self, op: Op, out: &mut Mbp10Msg) {
        self.sequence = self.sequence.wrapping_add(1);
        out.hd = RecordHeader::new::<Mbp10Msg>(
            rtype::MBP_10,
            self.cfg.publisher_id,
            self.cfg.instrument_id,
            self.ts_event,
        );
        out.price = op.price_tick * ES_TICK;
        out.size = op.size;
        out.action = op.action as c_char;
        out.side = if op.side == BID { b'B' } else { b'A' } as c_char;
        out.flags = FlagSet::new(if op.last { LAST } else { 0 });
        out.depth = op.depth;
        out.ts_recv = self.ts_recv;
        out.ts_in_delta = (self.ts_recv - self.ts_event) as i32;
        out.sequence = self.sequence;
        out.levels.clone_from_slice(&self.book.lv);
    }

    /// Removes the best level of `side` (a new deepest level appears beyond the view).
    #[inline]
    fn remove_top(&mut self, side: SideIx) {
        let (size, count) = fresh_level(&mut self.rng, level_target(DEPTH - 1));
        self.book.remove_top(side, size, count);
    }

    /// Next record of an aggressive order in progress.
    #[inline]
    fn continue_trade(&mut self, mut p: PendingTrade) -> Op {
        let passive = 1 - p.aggressor;
        let price_tick = self.book.price(passive, 0);
        let (size, count) = self.book.get(passive, 0);
        if p.trade_next {
            p.fill = p.remaining.min(size);
            p.trade_next = false;
            self.pending = Some(p);
            return Op { action: b'T', side: p.aggressor, depth: 0, price_tick, size: p.fill, last: false };
        }
        let action = if p.fill >= size {
            self.remove_top(passive);
            b'C'
        } else {
            let left = size - p.fill;
            let orders_filled = (u64::from(p.fill) * u64::from(count) / u64::from(size)) as u32;
            self.book.set(passive, 0, left, count.saturating_sub(orders_filled).clamp(1, left));
            if orders_filled > 0 {
                b'C'
            } else {
                b'M'
            }
        };
        p.remaining -= p.fill;
        p.trade_next = true;
        let last = p.remaining == 0;
        self.pending = if last { None } else { Some(p) };
        Op { action, side: passive, depth: 0, price_tick, size: p.fill, last }
    }

    /// Generates the exchange event at `self.ts_event`; returns its first record's operation.
    #[inline]
    fn new_event(&mut self) -> Op {
        let mid = (self.book.top[BID] + self.book.top[ASK] - 2 * self.start_tick) as f64 * 0.5;
        // Pressure from the current fair value (liquidity providers) and from the fair value a
        // few seconds ahead (informed aggressors), each in [−1, 1].
        let x = ((self.latent.fair() - mid) * PRESSURE_GAIN).clamp(-1.0, 1.0);
        let xi = ((self.latent.fair_ahead() - mid) * PRESSURE_GAIN).clamp(-1.0, 1.0);
        let ax = x.abs();
        // The side the fair value pushes towards (BID = up), and the side that gives way.
        let (support, against) = if x >= 0.0 { (BID, ASK) } else { (ASK, BID) };
        let r = self.rng.next_u64();
        let u = unit(r);

        // A gap inside the spread is usually filled quickly, mostly from the supporting side.
        if self.book.spread() >= 2 && u < 0.85 {
            let r2 = self.rng.next_u64();
            let side = if unit(r2) < 0.5 + 0.45 * ax { support } else { against };
            let size = self.tables.order_size.sample(r2 << 32).min(40);
            self.book.insert_top(side, size, 1 + size / 10);
            return Op {
                action: b'A',
                side,
                depth: 0,
                price_tick: self.book.price(side, 0),
                size,
                last: true,
            };
        }

        let u = self.rng.next_f64();
        let p_trade = 0.20 + 0.12 * xi.abs();
        if u < p_trade {
            let aggressor = if self.rng.chance(0.5 + 0.42 * xi) { BID } else { ASK };
            let reach = self.book.size_within(1 - aggressor, 5);
            let qty = self.tables.trade_size.sample(r << 11).min(reach);
            let impact = TRADE_IMPACT * f64::from(qty).sqrt();
            self.latent.add_impact(if aggressor == BID { impact } else { -impact });
            let p = PendingTrade { aggressor, remaining: qty, fill: 0, trade_next: true };
            return self.continue_trade(p);
        }

        // Queue pulling: liquidity leaves the touch on the side the price is about to cross.
        let p_pull = 0.35 * (ax - 0.2).max(0.0);
        if u < p_trade + p_pull {
            let (size, count) = self.book.get(against, 0);
            let price_tick = self.book.price(against, 0);
            if size == 1 || r & 1 == 0 {
                self.remove_top(against);
                return Op { action: b'C', side: against, depth: 0, price_tick, size, last: true };
            }
            let q = size / 2;
            self.book.set(against, 0, size - q, (count - u32::from(count > 1)).min(size - q));
            return Op { action: b'C', side: against, depth: 0, price_tick, size: q, last: true };
        }

        // Ordinary passive add / cancel / modify somewhere in the top 10 levels.
        let side = (r & 1) as SideIx;
        let depth = self.tables.depth[((r >> 1) & 63) as usize] as usize;
        let lean_x = 0.5 * (x + xi);
        let lean = if side == BID { 1.0 + 0.35 * lean_x } else { 1.0 - 0.35 * lean_x };
        let target = (f64::from(level_target(depth)) * lean) as u32;
        let q = self.tables.order_size.sample(r << 11);
        let (size, count) = self.book.get(side, depth);
        let price_tick = self.book.price(side, depth);
        let op = Op { action: b'A', side, depth: depth as u8, price_tick, size: q, last: true };
        if (r >> 7) & 15 == 0 {
            // Modify: one resting order changes its quantity in place (count unchanged).
            let new = if (r >> 11) & 1 == 0 || q >= size { size + q } else { size - q };
            self.book.set(side, depth, new, count.min(new));
            return Op { action: b'M', ..op };
        }
        let add = self.rng.below(target + size) < target || (size == 1 && depth > 0);
        if add {
            self.book.set(side, depth, size + q, (count + 1).min(size + q));
            return op;
        }
        if q >= size && depth == 0 {
            self.remove_top(side);
            return Op { action: b'C', size, ..op };
        }
        let q = q.min(size - 1);
        self.book.set(side, depth, size - q, (count - u32::from(count > 1)).min(size - q));
        Op { action: b'C', size: q, ..op }
    }
}

/// Uniform in [0, 1) from the top 53 bits of `r`.
#[inline]
fn unit(r: u64) -> f64 {
    (r >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// A new level of mean size `target`: size uniform in [target/2, 3·target/2), 3–8 lots per order.
fn fresh_level(rng: &mut Rng, target: u32) -> (u32, u32) {
    let size = target / 2 + rng.below(target);
    let count = (size / (3 + rng.below(6))).clamp(1, size);
    (size, count)
}

impl SynthSession {
    /// Writes the next record into `out`; false at the end of the session. The copy-free form
    /// of [`Iterator::next`] (which calls it).
    #[inline]
    pub fn next_into(&mut self, out: &mut Mbp10Msg) -> bool {
        if let Some(p) = self.pending {
            let op = self.continue_trade(p);
            self.record_into(op, out);
            return true;
        }
        if self.done {
            return false;
        }
        let ts = self.next_ts;
        if ts >= self.end_ns {
            self.done = true;
            return false;
        }
        self.advance_latent(ts);
        self.ts_event = ts;
        // One draw for the next inter-arrival (top bits) and this event's capture latency
        // (low 16 bits: 5 µs + u²·32 µs, skewed towards fast), never letting ts_recv go back.
        let r = self.rng.next_u64();
        let l = r & 0xFFFF;
        self.ts_recv = (ts + 5_000 + ((l * l) >> 27)).max(self.ts_recv);
        self.next_ts = ts + (self.tables.expo.sample(r) * self.mean_dt_ns) as u64;
        let op = self.new_event();
        self.record_into(op, out);
        true
    }
}

impl Iterator for SynthSession {
    type Item = Mbp10Msg;

    #[inline]
    fn next(&mut self) -> Option<Mbp10Msg> {
        let mut rec = Mbp10Msg::default();
        self.next_into(&mut rec).then_some(rec)
    }
}

impl FusedIterator for SynthSession {}
