//! Built-in synthetic ES market: a seeded, deterministic generator of one or more trading days
//! of CME Globex MBP-10 records, shaped like a Databento `GLBX.MDP3` `mbp-10` feed.
//!
//! Each trading day is one continuous stretch from 17:00 America/Chicago the evening before to
//! 15:15 CT: a thin overnight (17:00–08:00), a thin pre-open (08:00–08:30), the regular session
//! (08:30–15:00, which carries ~90 % of the records) and a thin post-close (15:00–15:15).
//! Nothing is emitted in the 15:15–17:00 gap (so never in the 16:00–17:00 daily break), nor on
//! weekends and exchange holidays; with [`SynthConfig::days`] > 1 the days follow each other in
//! one time-ordered stream, the price and the latent state carrying over.
//!
//! Each [`dbn::Mbp10Msg`] is one book action — `A` add, `C` cancel, `M` modify or `T` trade —
//! carrying the full 10-level book *after* the action. A trade record leaves the book
//! unchanged; the depletion of the resting queue follows as `C`/`M` records, and a trade that
//! consumes the whole best level removes it (the ladder shifts). All records of one exchange
//! event share `ts_event`, and only the last carries the `LAST` flag.
//!
//! The model (see `docs/synthetic_market.md`): a latent fair value with GARCH(1,1) volatility,
//! regime-switching drift and rare jumps, scaled by a day-level volatility cycle; an order-flow
//! layer whose aggressor side, queue pulling and book imbalance lean towards the fair value (so
//! flow leads price); heavy-tailed trade sizes; an intraday activity/volatility profile
//! (opening burst, lunch lull, close, thin extended hours); and order-flow *episodes*:
//! institutional prints and bursts (accumulation/distribution), absorption at a level, and
//! price/delta divergences.
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
pub mod chains;
mod dist;
pub mod episodes;
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
pub use episodes::{labels_csv, EpisodeLabel, EpisodePattern, EpisodesConfig};
use mia_model::time::calendar::{is_trading_day, next_trading_day, Date};
use mia_model::time::NS_PER_SEC;
use model::{Latent, Regime, Seasonality, DAY_MINUTES, RTH_OFFSET, SESSION_MINUTES};
use rng::Rng;

/// ES minimum price increment (0.25) in 1e-9 price units (private alias of the contract spec).
const ES_TICK: Px = ContractSpec::ES.tick;

/// Databento publisher id of CME Globex MDP 3.0 (`GLBX.MDP3.GLBX`).
pub const GLBX_MDP3_PUBLISHER_ID: u16 = 1;

/// Most trading days one configuration may ask for.
pub const MAX_DAYS: u32 = 60;

/// Records per exchange event (≈ 1.34) times the mean volatility-driven activity multiplier
/// (≈ 1.06), used to turn `target_records` into a base event rate (calibrated over seeds).
const RECORDS_PER_EVENT: f64 = 1.35;

/// Latent time step (1 s).
const STEP_NS: u64 = NS_PER_SEC;

/// One minute, ns.
const MINUTE_NS: u64 = 60 * NS_PER_SEC;

/// Gain from fair-value gap (ticks) to order-flow pressure in [−1, 1].
const PRESSURE_GAIN: f64 = 0.7;

/// Permanent fair-value impact of a trade, ticks per √contract.
const TRADE_IMPACT: f64 = 0.008;

/// Probability that an exchange event is an institutional (≥ 100-lot) aggressor, outside and
/// inside an accumulation/distribution episode (≈ 1.5 and 4.5 per minute mid-morning at the
/// default `target_records`).
const P_LARGE: f64 = 0.0013;
/// See [`P_LARGE`].
const P_LARGE_EPISODE: f64 = 0.004;
/// Share of an episode's institutional prints on the episode's side.
const EPISODE_SIDE_P: f64 = 0.8;

/// Per RTH second: probability of starting an accumulation/distribution episode while the
/// drift regime trends, and while it ranges.
const P_INST_TREND: f64 = 1.0 / 1800.0;
/// Probability that a day is a trend day (its RTH trends, in waves, for 3h20–5h20 from
/// 15–60 minutes after the open; about a third of ES sessions are trend days by the usual
/// market-profile day-type counts).
const P_TREND_DAY: f64 = 0.35;
/// See [`P_INST_TREND`].
const P_INST_RANGE: f64 = 1.0 / 5000.0;
/// Per RTH second: probability of starting an absorption episode.
const P_ABSORB: f64 = 1.0 / 2400.0;
/// Per trending RTH second: probability of starting a divergence episode.
const P_DIVERGE: f64 = 1.0 / 2500.0;
/// Share of aggressors that trade against the price during a divergence.
const DIVERGE_AGAINST_P: f64 = 0.64;
/// Largest with-trend aggressive order during a divergence, lots.
const DIVERGE_WITH_MAX: u32 = 3;
/// Share of aggressors that hit the absorbing level during an absorption.
const ABSORB_HIT_P: f64 = 0.8;

/// Day-level log-volatility AR(1): persistence and innovation sd (stationary sd ≈ 0.6), and
/// its bound.
const DAY_VOL_PHI: f64 = 0.6;
/// See [`DAY_VOL_PHI`].
const DAY_VOL_SD: f64 = 0.5;
/// See [`DAY_VOL_PHI`].
const DAY_VOL_MAX_LOG: f64 = 1.0;
/// Standard deviation of the fair-value gap over the 15:15–17:00 pause, ticks (× 1.7 over a
/// weekend or holiday).
const OVERNIGHT_GAP_SD: f64 = 2.0;

// Test switch: the order-flow episodes (institutional prints, absorption, divergence) off,
// for the control runs of the tests.
#[cfg(test)]
thread_local! {
    static EPISODES_OFF: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// True unless a test switched the order-flow episodes off.
#[inline(always)]
fn episodes_on() -> bool {
    #[cfg(test)]
    {
        !EPISODES_OFF.with(|c| c.get())
    }
    #[cfg(not(test))]
    {
        true
    }
}

/// Mean resting size of level `d`, contracts (larger deeper).
const fn level_target(d: usize) -> u32 {
    40 + 28 * d as u32
}

/// Configuration of a synthetic run. `Default` gives the reference session: seed 42, one
/// trading day, Wednesday 2024-03-13 (CDT), ESM4 at 5000.00, ~700k records.
#[derive(Clone, Debug, PartialEq)]
pub struct SynthConfig {
    /// PRNG seed: the same seed and config always give bit-identical records.
    pub seed: u64,
    /// First session date, interpreted in America/Chicago. Any valid calendar date in
    /// 1971–2200 is accepted; a weekend or holiday starts at the next trading day.
    pub date: Date,
    /// Number of consecutive trading days to generate, 1..=[`MAX_DAYS`] (default 1).
    pub days: u32,
    /// Instrument id written in every record header (arbitrary; not a real Globex id).
    pub instrument_id: u32,
    /// Publisher id written in every record header (default [`GLBX_MDP3_PUBLISHER_ID`]).
    pub publisher_id: u16,
    /// Approximate number of records to generate per trading day (the event rate is scaled
    /// to it; the realised count is within about ±20% on a calm day, more on a wild one).
    pub target_records: u64,
    /// Opening best bid, 1e-9 units; rounded to the 0.25 grid (default 5000.00).
    pub start_price: Px,
    /// Multiplier of the fair-value volatility and trend speeds (1.0 = ~25–30 points RTH sd).
    pub vol_scale: f64,
    /// ES − SPX basis used by [`SynthSession::spx_spot_estimate`], 1e-9 units (default 20.00).
    pub spx_basis: Px,
    /// Planted, labelled pattern episodes ([`episodes`]; off by default).
    pub episodes: EpisodesConfig,
}

impl Default for SynthConfig {
    fn default() -> Self {
        Self {
            seed: 42,
            date: Date { year: 2024, month: 3, day: 13 },
            days: 1,
            instrument_id: 4916,
            publisher_id: GLBX_MDP3_PUBLISHER_ID,
            target_records: 700_000,
            start_price: 5_000 * mia_model::price::PRICE_SCALE,
            vol_scale: 1.0,
            spx_basis: 20 * mia_model::price::PRICE_SCALE,
            episodes: EpisodesConfig::default(),
        }
    }
}

/// Why a [`SynthConfig`] was refused.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum SynthError {
    /// `date` is not a valid calendar date in 1971–2200.
    #[error("synthetic session: invalid date {0}")]
    InvalidDate(Date),
    /// `days` is 0 or above [`MAX_DAYS`].
    #[error("synthetic session: days {0} outside 1..=60")]
    InvalidDays(u32),
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
        if !(1..=MAX_DAYS).contains(&self.days) {
            return Err(SynthError::InvalidDays(self.days));
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

/// One trading day of a synthetic run (all times UTC ns since the epoch).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SynthDay {
    /// The trading (session) date.
    pub date: Date,
    /// First instant of the day's stream: 17:00 CT on the previous calendar day.
    pub start_ns: u64,
    /// RTH open, 08:30 CT.
    pub rth_open_ns: u64,
    /// RTH close, 15:00 CT.
    pub rth_close_ns: u64,
    /// End of the day's stream (exclusive): 15:15 CT.
    pub end_ns: u64,
}

impl SynthDay {
    /// The day of `date`, or `None` outside the representable range.
    fn new(date: Date) -> Option<Self> {
        Some(Self {
            date,
            start_ns: date.add_days(-1).at_chicago_ns(17, 0)?,
            rth_open_ns: date.at_chicago_ns(8, 30)?,
            rth_close_ns: date.at_chicago_ns(15, 0)?,
            end_ns: date.at_chicago_ns(15, 15)?,
        })
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
    /// Institutional order size: Pareto, P(Q ≥ x) = (x/100)^-1.7 on 100..=1500.
    large_size: QuantileTable<u32>,
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
        let large_top = dist::pow(15.0, -1.7);
        Self {
            expo: QuantileTable::build(dist::exp_quantile),
            trade_size: QuantileTable::build(|u| dist::power_law_quantile(u, 1.3, 500)),
            order_size: QuantileTable::build(|u| dist::power_law_quantile(u, 1.6, 150)),
            large_size: QuantileTable::build(|u| {
                ((100.0 * dist::pow(1.0 - u * (1.0 - large_top), -1.0 / 1.7)) as u32).clamp(100, 1500)
            }),
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

/// An institutional order executed as child trades at one price, a few µs apart.
#[derive(Clone, Copy, Debug)]
struct Burst {
    /// Aggressor side.
    aggressor: SideIx,
    /// Price of every child, ticks.
    price_tick: i64,
    /// Quantity still to execute.
    left: u32,
    /// Child trades still to come (≥ 1).
    children: u32,
    /// `ts_event` of the next child.
    next_ts: u64,
}

/// A large resting order at one level that absorbs aggression and is refilled as it is hit.
#[derive(Clone, Copy, Debug)]
struct Absorb {
    /// Book side of the level (`ASK` absorbs buyers).
    side: SideIx,
    /// Price of the level, ticks.
    price_tick: i64,
    /// Displayed size the level is refilled to.
    display: u32,
    /// Lots still available for refills.
    capacity: u32,
    /// The episode ends at this time.
    until: u64,
    /// False until the first refill (which builds the level) has been emitted.
    primed: bool,
}

/// Order-flow episodes in progress.
#[derive(Clone, Copy, Debug, Default)]
struct Episodes {
    /// Accumulation (+1) / distribution (−1) direction of institutional prints, 0 if none.
    inst_dir: i8,
    /// End of the accumulation/distribution episode.
    inst_until: u64,
    /// Direction of price during a divergence (aggressors lean the other way), 0 if none.
    div_dir: i8,
    /// End of the divergence episode.
    div_until: u64,
    /// Absorption episode.
    absorb: Option<Absorb>,
    /// RTH seconds of the current day spent trending, and whether a regime was
    /// already forced today (each day must have both kinds of stretch: a trend by 09:30 and a
    /// lunch range from 11:30 CT).
    trend_secs: u32,
    /// See [`Episodes::trend_secs`].
    forced_trend: bool,
    /// See [`Episodes::trend_secs`].
    forced_range: bool,
    /// A trend day: the trend starts at this RTH minute (drawn at the start of the day).
    trend_day: Option<TrendDay>,
}

/// A trend day's plan (SIGNALS-independent market realism: about a third of ES sessions
/// trend for most of the RTH).
#[derive(Clone, Copy, Debug)]
struct TrendDay {
    /// RTH minute the trend starts.
    start_m: usize,
    /// How long it is held, seconds.
    hold: u32,
    /// Up (else down).
    up: bool,
    /// Trend speed, ticks/s before the day's volatility.
    speed: f64,
    /// Already started.
    started: bool,
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

/// A seeded synthetic run of ES MBP-10 records over one or more trading days; an
/// [`Iterator`] of [`dbn::Mbp10Msg`].
///
/// Deterministic: the records depend only on the [`SynthConfig`] (no wall clock, no platform
/// `libm`), so they are bit-identical across runs and platforms.
#[derive(Debug)]
pub struct SynthSession {
    cfg: SynthConfig,
    symbol: String,
    days: Vec<SynthDay>,
    /// Each day's trend-day plan (`None`: an ordinary day).
    trend_days: Vec<Option<TrendDay>>,
    /// Index of the current day in `days`.
    day_ix: usize,
    /// Current day (copy of `days[day_ix]`).
    day: SynthDay,
    start_tick: i64,
    rng: Rng,
    tables: Box<Tables>,
    latent: Latent,
    book: Book,
    /// Day-level log volatility (AR(1) across days) and its multipliers of volatility and of
    /// the event rate.
    day_log_vol: f64,
    /// See [`SynthSession::day_log_vol`].
    day_vol: f64,
    /// See [`SynthSession::day_log_vol`].
    day_rate: f64,
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
    burst: Option<Burst>,
    ep: Episodes,
    /// The planted episodes' script of each day (empty when they are off) and their labels.
    scripts: Vec<episodes::DayScript>,
    /// See [`SynthSession::scripts`].
    labels: Vec<EpisodeLabel>,
    /// The script's directive for the current second (None outside an episode).
    directive: Option<episodes::Directive>,
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
        Self::build(cfg, true)
    }

    /// [`SynthSession::try_new`]; without `gamma_episodes`, a session with planted episodes
    /// plants none at the gamma walls (the pass that finds the first publication's spot).
    fn build(cfg: &SynthConfig, gamma_episodes: bool) -> Result<Self, SynthError> {
        cfg.validate()?;
        let bad_date = || SynthError::InvalidDate(cfg.date);
        let mut date = if is_trading_day(cfg.date) { cfg.date } else { next_trading_day(cfg.date) };
        let mut days = Vec::with_capacity(cfg.days as usize);
        for _ in 0..cfg.days {
            days.push(SynthDay::new(date).ok_or_else(bad_date)?);
            date = next_trading_day(date);
        }
        let day = days[0];
        let start_tick = mia_model::price::round_to_tick(cfg.start_price, ES_TICK) / ES_TICK;
        let tables = Box::new(Tables::new());
        let mut rng = Rng::new(cfg.seed);
        let book = Book::new(start_tick, ES_TICK, |_, depth| fresh_level(&mut rng, level_target(depth)));
        let season_sum: f64 = tables.season.rate.iter().sum();
        let base_rate = cfg.target_records as f64 / (RECORDS_PER_EVENT * season_sum * 60.0);
        let latent = Latent::new(0.5, cfg.vol_scale);
        let (mut scripts, mut labels) = (Vec::new(), Vec::new());
        if cfg.episodes.enabled {
            let open = start_tick * ES_TICK;
            // Gamma episodes (first day only) at the walls of the first day's pre-RTH
            // publication (`chains`: valued at 08:00 CT around the last trade then), the
            // snapshot the session holds in RTH, when its net GEX is strong enough to pin.
            // Its spot comes from a pass of this generator without gamma episodes up to
            // 08:00 CT: every episode acts in RTH only, so that pass's overnight stream is this
            // session's (a test checks it).
            let walls = if gamma_episodes {
                let at = [chains::valuation_ts(days[0].rth_open_ns)];
                let last = chains::last_trades_at(Self::build(cfg, false)?, &at, open)[0];
                let p = chains::publication(cfg, 0, days[0].rth_open_ns, last);
                episodes::walls(
                    p.seed,
                    p.spot,
                    p.valuation_ts_ns,
                    mia_model::price::to_f64(cfg.spx_basis) + 0.125,
                    open,
                    ES_TICK,
                )
            } else {
                None
            };
            let mut plan = Rng::new(cfg.seed ^ 0x6570_6973_6f64_6573);
            for (i, d) in days.iter().enumerate() {
                let sc = episodes::DayScript::new(&mut plan, d.rth_open_ns, walls.filter(|_| i == 0));
                sc.labels(&mut labels);
                scripts.push(sc);
            }
        }
        // Day types from their own stream (the intraday draws do not shift them); planted
        // episodes own the RTH, so a scripted run has no trend days.
        let mut types = Rng::new(cfg.seed ^ 0x7472_656e_6464_6179);
        let trend_days = days
            .iter()
            .map(|_| {
                let td = TrendDay {
                    start_m: 15 + types.below(46) as usize,
                    hold: 12_000 + types.below(7_200),
                    up: types.chance(0.5),
                    speed: 0.006 + 0.008 * types.next_f64(),
                    started: false,
                };
                (types.chance(P_TREND_DAY) && !cfg.episodes.enabled).then_some(td)
            })
            .collect();
        let mut s = Self {
            trend_days,
            cfg: cfg.clone(),
            symbol: mia_model::contract::front_symbol("ES", day.date),
            days,
            day_ix: 0,
            day,
            start_tick,
            rng,
            tables,
            latent,
            book,
            day_log_vol: 0.0,
            day_vol: 1.0,
            day_rate: 1.0,
            base_rate,
            mean_dt_ns: 0.0,
            ts_event: day.start_ns,
            ts_recv: day.start_ns,
            next_ts: day.start_ns,
            next_step_ns: day.start_ns,
            sequence: (cfg.seed % 1_000_000) as u32 * 1_000,
            pending: None,
            burst: None,
            ep: Episodes::default(),
            scripts,
            labels,
            directive: None,
            done: false,
        };
        s.start_day();
        Ok(s)
    }

    /// Starts the stream of the current day: first latent step and first event time.
    fn start_day(&mut self) {
        let start = self.day.start_ns;
        self.next_step_ns = start;
        self.ep = Episodes::default();
        self.ep.trend_day = self.trend_days.get(self.day_ix).copied().flatten();
        self.mean_dt_ns = NS_PER_SEC as f64
            / (self.base_rate * self.tables.season.rate[0] * self.latent.activity() * self.day_rate);
        self.next_ts = start + (self.tables.expo.sample(self.rng.next_u64()) * self.mean_dt_ns) as u64;
    }

    /// Moves to the next trading day: a new day-level volatility (the volatility cycle) and a
    /// small fair-value gap over the pause. False after the last day.
    fn next_day(&mut self) -> bool {
        if self.day_ix + 1 >= self.days.len() {
            return false;
        }
        let prev = self.day;
        self.day_ix += 1;
        self.day = self.days[self.day_ix];
        let lv = DAY_VOL_PHI * self.day_log_vol + DAY_VOL_SD * dist::normal(&mut self.rng);
        self.day_log_vol = lv.clamp(-DAY_VOL_MAX_LOG, DAY_VOL_MAX_LOG);
        self.day_vol = dist::exp(self.day_log_vol);
        self.day_rate = 0.8 + 0.2 * self.day_vol;
        let weekend = prev.date.days_until(self.day.date) > 1;
        let gap_sd = OVERNIGHT_GAP_SD * if weekend { 1.7 } else { 1.0 };
        let gap = gap_sd * self.day_vol * self.cfg.vol_scale * dist::normal(&mut self.rng);
        self.latent.shift(gap);
        self.start_day();
        true
    }

    /// Start of the stream (17:00 CT the evening before the first trading day), UTC ns since
    /// the epoch.
    pub fn start_ns(&self) -> u64 {
        self.days[0].start_ns
    }

    /// End of the stream (15:15 CT on the last trading day), UTC ns since the epoch; every
    /// record has `start_ns() <= ts_event < end_ns()`, inside one of [`SynthSession::days`].
    pub fn end_ns(&self) -> u64 {
        self.days[self.days.len() - 1].end_ns
    }

    /// The trading days of the run, in order (weekends and holidays skipped).
    pub fn days(&self) -> &[SynthDay] {
        &self.days
    }

    /// Instrument id written in the records.
    pub fn instrument_id(&self) -> u32 {
        self.cfg.instrument_id
    }

    /// ES front-month symbol on the first session date (e.g. `"ESM4"`): the first quarterly
    /// contract whose roll date (8 days before its 3rd-Friday expiry) is after the date. A
    /// multi-day run keeps one instrument.
    pub fn symbol(&self) -> &str {
        &self.symbol
    }

    /// Opening price: the best bid of the opening book at [`SynthSession::start_ns`] (the
    /// configured start price on the 0.25 grid), 1e-9 units. The opening ask is one tick above.
    pub fn opening_price(&self) -> Px {
        self.start_tick * ES_TICK
    }

    /// SPX spot estimate at the open for building a coherent option chain: the ES opening
    /// price minus the configured fixed basis ([`SynthConfig::spx_basis`], default 20 points).
    pub fn spx_spot_estimate(&self) -> Px {
        self.opening_price() - self.cfg.spx_basis
    }

    /// The planted episodes' labels, in time order per day (empty unless
    /// [`SynthConfig::episodes`] is enabled); known as soon as the session is built.
    pub fn episode_labels(&self) -> &[EpisodeLabel] {
        &self.labels
    }

    /// The configuration the session was built from.
    pub fn config(&self) -> &SynthConfig {
        &self.cfg
    }

    /// Index of `ts` in the day profile (0 = 17:00 CT the evening before).
    #[inline]
    fn profile_minute(&self, ts: u64) -> usize {
        let m = (ts as i64 - self.day.rth_open_ns as i64).div_euclid(MINUTE_NS as i64) + RTH_OFFSET as i64;
        m.clamp(0, DAY_MINUTES as i64 - 1) as usize
    }

    /// Advances the latent process to `ts` and refreshes the event rate.
    fn advance_latent(&mut self, ts: u64) {
        while ts >= self.next_step_ns {
            let now = self.next_step_ns;
            let minute = self.profile_minute(now);
            let ahead = self.profile_minute(now + model::LOOKAHEAD as u64 * NS_PER_SEC);
            let was_scripted = self.directive.is_some();
            self.directive = match self.scripts.get_mut(self.day_ix) {
                Some(sc) => {
                    sc.directive(now + model::LOOKAHEAD as u64 * NS_PER_SEC, self.latent.fair_ahead())
                }
                None => None,
            };
            if self.directive.is_some() {
                // A planted episode owns the market: no natural episode starts meanwhile.
                self.ep.absorb = None;
                self.ep.div_dir = 0;
                self.ep.inst_dir = 0;
            } else if (RTH_OFFSET..RTH_OFFSET + SESSION_MINUTES).contains(&minute) && episodes_on() {
                if was_scripted {
                    self.latent.force_regime(Regime::Range, 0.0, 600);
                }
                self.plan_rth_second(now, minute - RTH_OFFSET);
            }
            let season = &self.tables.season;
            let (vol, drift) = (season.vol[ahead] * self.day_vol, season.drift[ahead] * self.day_vol);
            match self.directive {
                Some(d) => self.latent.step_scripted(&mut self.rng, d.target, d.kappa, d.noise),
                None => self.latent.step(&mut self.rng, vol, drift),
            }
            if let Some(a) = self.ep.absorb {
                self.hold_at_level(a);
            }
            self.next_step_ns += STEP_NS;
            let planted = self.directive.map_or(1.0, |d| d.rate);
            let rate = self.base_rate
                * self.tables.season.rate[minute]
                * self.latent.activity()
                * self.day_rate
                * planted;
            self.mean_dt_ns = NS_PER_SEC as f64 / rate;
        }
    }

    /// Once per RTH second (`m` minutes after the open): makes sure the day has a trending and
    /// a ranging stretch, and starts or ends order-flow episodes.
    fn plan_rth_second(&mut self, now: u64, m: usize) {
        let regime = self.latent.regime;
        let trending = regime != Regime::Range;
        self.ep.trend_secs += u32::from(trending);
        if let Some(td) = self.ep.trend_day.as_mut() {
            if !td.started && m >= td.start_m {
                td.started = true;
                let r = if td.up { Regime::TrendUp } else { Regime::TrendDown };
                self.latent.force_regime(r, td.speed, td.hold);
                // The day's trend replaces the forced morning trend and the lunch range.
                self.ep.forced_trend = true;
                self.ep.forced_range = true;
            }
        }
        if m >= 60 && !trending && !self.ep.forced_trend && self.ep.trend_secs < 1500 {
            let up = self.rng.chance(0.5);
            let speed = 0.02 + 0.015 * self.rng.next_f64();
            self.latent.force_regime(if up { Regime::TrendUp } else { Regime::TrendDown }, speed, 2400);
            self.ep.forced_trend = true;
        }
        if m >= 180 && trending && !self.ep.forced_range {
            self.latent.force_regime(Regime::Range, 0.0, 2400);
            self.ep.forced_range = true;
        }
        let trend_dir: i8 = match self.latent.regime {
            Regime::TrendUp => 1,
            Regime::TrendDown => -1,
            Regime::Range => 0,
        };
        // Accumulation / distribution: institutional prints lean with the drift for minutes.
        if self.ep.inst_dir != 0 && now >= self.ep.inst_until {
            self.ep.inst_dir = 0;
        }
        if self.ep.inst_dir == 0 && self.rng.chance(if trending { P_INST_TREND } else { P_INST_RANGE }) {
            let dir = if trend_dir != 0 {
                trend_dir
            } else if self.rng.chance(0.5) {
                1
            } else {
                -1
            };
            self.ep.inst_dir = dir;
            self.ep.inst_until = now + (300 + u64::from(self.rng.below(600))) * NS_PER_SEC;
        }
        // Divergence: the drift continues while aggressors lean against it (until the episode
        // ends or the drift turns).
        if self.ep.div_dir != 0 && (now >= self.ep.div_until || trend_dir != self.ep.div_dir) {
            self.ep.div_dir = 0;
        }
        if self.ep.div_dir == 0 && trending && self.rng.chance(P_DIVERGE) {
            let secs = 900 + self.rng.below(900);
            self.ep.div_dir = trend_dir;
            self.ep.div_until = now + u64::from(secs) * NS_PER_SEC;
            self.latent.hold_regime(secs);
        }
        // Absorption: a large passive order against the current pressure.
        match self.ep.absorb {
            Some(a) if now >= a.until => self.ep.absorb = None,
            None if m < SESSION_MINUTES - 5 && self.rng.chance(P_ABSORB) => {
                let mid = (self.book.top[BID] + self.book.top[ASK] - 2 * self.start_tick) as f64 * 0.5;
                let gap = self.latent.fair_ahead() - mid;
                if gap.abs() > 3.0 {
                    // Only where the book is near fair value (it holds the fair at the level).
                    return;
                }
                let side = if gap >= 0.0 { ASK } else { BID };
                let display = 300 + self.rng.below(501);
                let capacity = display + (f64::from(display) * 3.0 * self.rng.next_f64()) as u32;
                let until = now + (60 + u64::from(self.rng.below(180))) * NS_PER_SEC;
                let price_tick = self.book.top[side];
                self.ep.absorb = Some(Absorb { side, price_tick, display, capacity, until, primed: false });
            }
            _ => {}
        }
    }

    /// Keeps the fair value from going through an absorbing level (the resting order is the
    /// better-informed side while it lasts).
    fn hold_at_level(&mut self, a: Absorb) {
        let level = (a.price_tick - self.start_tick) as f64;
        let fair = self.latent.fair_ahead();
        let excess = if a.side == ASK { fair - level } else { level - fair };
        if excess > 0.0 {
            let pull = 0.3 * excess;

            self.latent.add_impact(if a.side == ASK { -pull } else { pull });
        }
    }

    /// Depth of the absorbing level if it is on `side` and in view.
    #[inline]
    fn absorb_depth(&self, side: SideIx) -> Option<usize> {
        let a = self.ep.absorb?;
        if a.side != side {
            return None;
        }
        let d =
            if side == ASK { a.price_tick - self.book.top[ASK] } else { self.book.top[BID] - a.price_tick };
        (0..DEPTH as i64).contains(&d).then_some(d as usize)
    }

    /// Builds or refills the absorbing level when it is at the touch and depleted; ends the
    /// episode when price has moved away from it or its capacity is spent.
    #[inline]
    fn absorb_maintain(&mut self, mut a: Absorb) -> Option<Op> {
        let depth = match self.absorb_depth(a.side) {
            Some(d) if d <= 2 => d,
            _ => {
                self.ep.absorb = None;
                return None;
            }
        };
        let (size, count) = self.book.get(a.side, depth);
        if a.capacity == 0 {
            if size * 3 < a.display {
                // Spent: the level is no longer protected and may now be taken out.
                self.ep.absorb = None;
            }
            return None;
        }
        if depth != 0 || (a.primed && size * 3 >= a.display) {
            return None;
        }
        let add = a.display.saturating_sub(size).min(a.capacity).max(1);
        a.capacity -= add;
        a.primed = true;
        self.ep.absorb = Some(a);
        self.book.set(a.side, 0, size + add, (count + 1 + add / 60).min(size + add));
        Some(Op { action: b'A', side: a.side, depth: 0, price_tick: a.price_tick, size: add, last: true })
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

    /// Starts an institutional order (≥ 100 lots) at the touch: one trade, or 2–5 child trades
    /// at the same price a few µs apart. The passive level is replenished before a child that
    /// would exhaust it (iceberg-like), so the whole order prints at one price.
    fn start_institutional(&mut self, xi: f64) -> Op {
        let dir = self.ep.inst_dir;
        let aggressor = if dir != 0 {
            let with = self.rng.chance(EPISODE_SIDE_P);
            if (dir > 0) == with {
                BID
            } else {
                ASK
            }
        } else if self.rng.chance(0.5 + 0.42 * xi) {
            BID
        } else {
            ASK
        };
        let passive = 1 - aggressor;
        let mut qty = self.tables.large_size.sample(self.rng.next_u64());
        if self.absorb_depth(passive) == Some(0) {
            // Into an absorbing level: never through it.
            qty = qty.min(self.book.get(passive, 0).0.saturating_sub(1)).max(1);
        }
        let children = if self.rng.chance(0.3) { 1 } else { 2 + self.rng.below(4) };
        let impact = TRADE_IMPACT * f64::from(qty).sqrt();
        self.latent.add_impact(if aggressor == BID { impact } else { -impact });
        let b = Burst {
            aggressor,
            price_tick: self.book.price(passive, 0),
            left: qty,
            children: children.min(qty),
            next_ts: self.ts_event,
        };
        self.child_trade(b)
    }

    /// First record of the next child of `b` (at `self.ts_event`); schedules the one after.
    fn child_trade(&mut self, mut b: Burst) -> Op {
        let passive = 1 - b.aggressor;
        let q = if b.children <= 1 {
            b.left
        } else {
            let share = u64::from(b.left) * u64::from(64 + self.rng.below(64)) / (96 * u64::from(b.children));
            (share as u32).clamp(1, b.left - (b.children - 1))
        };
        b.left -= q;
        b.children -= 1;
        self.burst = if b.children == 0 || b.left == 0 {
            None
        } else {
            b.next_ts = self.ts_event + 4_000 + u64::from(self.rng.below(76_000));
            Some(b)
        };
        let p = PendingTrade { aggressor: b.aggressor, remaining: q, fill: 0, trade_next: true };
        let (size, count) = self.book.get(passive, 0);
        if size > q {
            return self.continue_trade(p);
        }
        // Replenish the level so the child fills at this price.
        let add = q - size + 1 + self.rng.below(20);
        self.book.set(passive, 0, size + add, (count + 1).min(size + add));
        self.pending = Some(p);
        Op { action: b'A', side: passive, depth: 0, price_tick: b.price_tick, size: add, last: false }
    }

    /// Generates the exchange event at `self.ts_event`; returns its first record's operation.
    #[inline]
    fn new_event(&mut self) -> Op {
        if let Some(a) = self.ep.absorb {
            if let Some(op) = self.absorb_maintain(a) {
                return op;
            }
        }
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
        let p_large = if self.ep.inst_dir != 0 {
            P_LARGE_EPISODE
        } else if episodes_on() {
            P_LARGE
        } else {
            0.0
        };
        if u >= 1.0 - p_large {
            return self.start_institutional(xi);
        }
        let div = self.ep.div_dir;
        // Aggressors that lean against the price during a divergence (sellers in an up move).
        let div_aggr = if div > 0 { ASK } else { BID };
        let absorbing = self.ep.absorb.map(|a| 1 - a.side);
        let p_trade = if absorbing.is_some() { 0.42 } else { 0.20 + 0.12 * xi.abs() };
        if u < p_trade {
            let aggressor = if let Some(hit) = absorbing {
                if self.rng.chance(ABSORB_HIT_P) {
                    hit
                } else {
                    1 - hit
                }
            } else if div != 0 {
                if self.rng.chance(DIVERGE_AGAINST_P) {
                    div_aggr
                } else {
                    1 - div_aggr
                }
            } else if let Some(share) = self.directive.and_then(|d| d.buy_share) {
                if self.rng.chance(share) {
                    BID
                } else {
                    ASK
                }
            } else if self.rng.chance(0.5 + 0.42 * xi) {
                BID
            } else {
                ASK
            };
            let passive = 1 - aggressor;
            let mut reach = match self.absorb_depth(passive) {
                Some(d) if d < 5 => self.book.size_within(passive, d + 1) - 1,
                _ => self.book.size_within(passive, 5),
            };
            if div != 0 {
                reach = if aggressor == div_aggr {
                    // Passive liquidity soaks up the counter-trend aggressors without giving way.
                    reach.min(self.book.get(passive, 0).0 - 1)
                } else {
                    // The drift is carried by quote moves, not by with-trend aggression.
                    reach.min(DIVERGE_WITH_MAX)
                };
            }
            if self.directive.is_some_and(|d| d.no_sweep) {
                reach = reach.min(self.book.get(passive, 0).0 - 1);
            }
            let qty = self.tables.trade_size.sample(r << 11).min(reach);
            if qty > 0 {
                let impact = TRADE_IMPACT * f64::from(qty).sqrt();
                self.latent.add_impact(if aggressor == BID { impact } else { -impact });
                let p = PendingTrade { aggressor, remaining: qty, fill: 0, trade_next: true };
                return self.continue_trade(p);
            }
        }

        // Queue pulling: liquidity leaves the touch on the side the price is about to cross
        // (during a divergence, the side the drift is heading to, whatever the aggressors do).
        let (pull_side, p_pull) = if div != 0 && (x >= 0.0) == (div > 0) {
            (if div > 0 { ASK } else { BID }, 0.10 + 0.35 * (ax - 0.2).max(0.0))
        } else {
            (against, 0.35 * (ax - 0.2).max(0.0))
        };
        if u >= p_trade && u < p_trade + p_pull && self.absorb_depth(pull_side) != Some(0) {
            let (size, count) = self.book.get(pull_side, 0);
            let price_tick = self.book.price(pull_side, 0);
            if size == 1 || r & 1 == 0 {
                self.remove_top(pull_side);
                return Op { action: b'C', side: pull_side, depth: 0, price_tick, size, last: true };
            }
            let q = size / 2;
            self.book.set(pull_side, 0, size - q, (count - u32::from(count > 1)).min(size - q));
            return Op { action: b'C', side: pull_side, depth: 0, price_tick, size: q, last: true };
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
        let protected = self.absorb_depth(side) == Some(depth);
        let add = self.rng.below(target + size) < target || (size == 1 && (depth > 0 || protected));
        if add {
            self.book.set(side, depth, size + q, (count + 1).min(size + q));
            return op;
        }
        if q >= size && depth == 0 && !protected {
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
    /// Sets `ts_event` to `ts` and draws the event's capture latency (5 µs + u²·32 µs from the
    /// low 16 bits of `r`, skewed towards fast), never letting `ts_recv` go back.
    #[inline]
    fn stamp(&mut self, ts: u64, r: u64) {
        self.ts_event = ts;
        let l = r & 0xFFFF;
        self.ts_recv = (ts + 5_000 + ((l * l) >> 27)).max(self.ts_recv);
    }

    /// Writes the next record into `out`; false at the end of the run. The copy-free form
    /// of [`Iterator::next`] (which calls it).
    #[inline]
    pub fn next_into(&mut self, out: &mut Mbp10Msg) -> bool {
        if let Some(p) = self.pending {
            let op = self.continue_trade(p);
            self.record_into(op, out);
            return true;
        }
        if let Some(b) = self.burst {
            if b.next_ts < self.day.end_ns {
                let r = self.rng.next_u64();
                self.stamp(b.next_ts, r);
                self.next_ts = self.next_ts.max(b.next_ts + 1_000);
                let op = self.child_trade(b);
                self.record_into(op, out);
                return true;
            }
            self.burst = None;
        }
        if self.done {
            return false;
        }
        let mut ts = self.next_ts;
        while ts >= self.day.end_ns {
            if !self.next_day() {
                self.done = true;
                return false;
            }
            ts = self.next_ts;
        }
        self.advance_latent(ts);
        // One draw for the next inter-arrival (top bits) and this event's capture latency.
        let r = self.rng.next_u64();
        self.stamp(ts, r);
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
