//! Smart-money tracker (SIGNALS §7) and feature F7 (SIGNALS §2): large aggregated prints
//! counted per 1-minute period, summed over a rolling window of periods.
//!
//! *Prints.* Consecutive classified trades at the same price, with the same aggressor sign and
//! within `aggregate_ns` of the group's first trade, form one print. A print is finalized by a
//! trade that breaks the group, by an unclassified trade, or by [`SmartMoney::expire`] /
//! [`SmartMoney::on_time`] once `now − t₀ > aggregate_ns`. A finalized print is credited to
//! the period that is current when it is finalized (an expiry found by `on_time` is credited
//! before the period roll of the same event), like the bars' `large_buy`/`large_sell`.
//!
//! *Periods* are aligned to UTC minutes (`now / 60e9`), in a ring of `lookback_periods`
//! slots holding integer volumes and counts. The *window* is the current partial period and
//! the `window_periods − 1` before it; its sums are kept by adding each print or trade as it
//! arrives and subtracting a period as it leaves, so every volume figure is an exact integer.
//! The window's largest print is the maximum over its periods: O(1) per print, recomputed in
//! O(window) at a roll.
//!
//! All state lives in fixed arrays; nothing allocates after [`SmartMoney::new`].

use mia_model::features::{FeatureId, FeatureVector};

/// Capacity of the period ring (`lookback_periods ≤ SM_PERIOD_CAP`).
pub const SM_PERIOD_CAP: usize = 128;

/// Period length: one UTC minute (ns, fixed).
pub const SM_PERIOD_NS: u64 = 60_000_000_000;

/// Confidence of a print whose side came from the feed (fixed).
const FEED_CONF: f64 = 0.9;
/// Confidence of a print whose side came from the classifier's fallback (fixed).
const FALLBACK_CONF: f64 = 0.6;

/// `[signal.smart_money]`.
#[derive(Clone, Copy, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmartMoneyConfig {
    /// Aggregation horizon of a print, from its first trade (ns).
    pub aggregate_ns: u64,
    /// A print of at least this size is *large*.
    pub large_print: u32,
    /// A print of at least this size is a *block*.
    pub block_print: u32,
    /// Periods kept in the ring (≤ [`SM_PERIOD_CAP`]).
    pub lookback_periods: usize,
    /// Periods in the window, the current partial one included.
    pub window_periods: usize,
    /// Completed periods examined by `persistence`.
    pub persistence_periods: usize,
    /// Large-print share of volume at which `intensity` saturates.
    pub intensity_share: f64,
    /// `|net_flow|` above which a class is institutional.
    pub inst_flow: f64,
    /// `intensity` above which a class is institutional.
    pub inst_intensity: f64,
    /// `|net_flow|` above which accumulation / distribution is considered.
    pub accum_flow: f64,
    /// `persistence` above which accumulation / distribution is declared.
    pub accum_persistence: f64,
    /// `intensity` above which the class is rotation.
    pub rotation_intensity: f64,
    /// `|net_flow|` above which neutral and rotation classes still score.
    pub neutral_flow: f64,
    /// Alignment radius around a zone centre, in percent of price.
    pub alignment_pct: f64,
    /// Weights of `conf`: intensity, large-print count, persistence, alignment, print
    /// confidence.
    pub conf_weights: [f64; 5],
    /// Strength `(1 + d·SM)/2` above which smart money is *institutional* in direction `d`.
    pub institutional: f64,
}

impl Default for SmartMoneyConfig {
    fn default() -> Self {
        Self {
            aggregate_ns: 1_000_000,
            large_print: 100,
            block_print: 500,
            lookback_periods: 60,
            window_periods: 15,
            persistence_periods: 5,
            intensity_share: 0.20,
            inst_flow: 0.4,
            inst_intensity: 0.5,
            accum_flow: 0.2,
            accum_persistence: 0.6,
            rotation_intensity: 0.7,
            neutral_flow: 0.3,
            alignment_pct: 0.1,
            conf_weights: [0.3, 0.2, 0.2, 0.15, 0.15],
            institutional: 0.7,
        }
    }
}

fn unit(key: &str, x: f64) -> Result<(), String> {
    if x.is_finite() && (0.0..=1.0).contains(&x) {
        Ok(())
    } else {
        Err(format!("{key}: must be in [0, 1], got {x}"))
    }
}

impl SmartMoneyConfig {
    /// Checks the section against the caps and ranges.
    ///
    /// # Errors
    /// A `key: reason` message for the first bad key.
    pub fn validate(&self) -> Result<(), String> {
        if self.aggregate_ns == 0 || self.aggregate_ns >= SM_PERIOD_NS {
            return Err(format!("aggregate_ns: must be in 1..{SM_PERIOD_NS}, got {}", self.aggregate_ns));
        }
        if self.large_print == 0 {
            return Err("large_print: must be > 0".into());
        }
        if self.block_print < self.large_print {
            return Err(format!(
                "block_print: must be ≥ large_print ({}), got {}",
                self.large_print, self.block_print
            ));
        }
        if self.lookback_periods == 0 || self.lookback_periods > SM_PERIOD_CAP {
            return Err(format!(
                "lookback_periods: must be in 1..={SM_PERIOD_CAP}, got {}",
                self.lookback_periods
            ));
        }
        if self.window_periods == 0 || self.window_periods > self.lookback_periods {
            return Err(format!(
                "window_periods: must be in 1..=lookback_periods ({}), got {}",
                self.lookback_periods, self.window_periods
            ));
        }
        if self.persistence_periods == 0 || self.persistence_periods >= self.lookback_periods {
            return Err(format!(
                "persistence_periods: must be in 1..lookback_periods ({}), got {}",
                self.lookback_periods, self.persistence_periods
            ));
        }
        if !(self.intensity_share.is_finite() && self.intensity_share > 0.0 && self.intensity_share <= 1.0) {
            return Err(format!("intensity_share: must be in (0, 1], got {}", self.intensity_share));
        }
        unit("inst_flow", self.inst_flow)?;
        unit("inst_intensity", self.inst_intensity)?;
        unit("accum_flow", self.accum_flow)?;
        unit("accum_persistence", self.accum_persistence)?;
        unit("rotation_intensity", self.rotation_intensity)?;
        unit("neutral_flow", self.neutral_flow)?;
        if !(self.alignment_pct.is_finite() && self.alignment_pct > 0.0 && self.alignment_pct <= 100.0) {
            return Err(format!("alignment_pct: must be in (0, 100], got {}", self.alignment_pct));
        }
        for (i, w) in self.conf_weights.iter().enumerate() {
            if !(w.is_finite() && *w >= 0.0) {
                return Err(format!("conf_weights: weight {i} must be finite and ≥ 0, got {w}"));
            }
        }
        let sum: f64 = self.conf_weights.iter().sum();
        if sum <= 0.0 || sum > 1.0 + 1e-9 {
            return Err(format!("conf_weights: sum must be in (0, 1], got {sum}"));
        }
        unit("institutional", self.institutional)?;
        Ok(())
    }
}

/// Integer figures of one period, or of the window (sums; `max_print` is a maximum).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SmSums {
    /// Large buy-print volume.
    pub lb: u64,
    /// Large sell-print volume.
    pub ls: u64,
    /// All traded volume (classified or not).
    pub v: u64,
    /// Number of large prints.
    pub n_large: u32,
    /// Number of block prints (a block is also large).
    pub n_block: u32,
    /// Number of large prints whose side came from the feed (confidence 0.9; the others 0.6).
    pub n_large_feed: u32,
    /// Size of the largest print (any size).
    pub max_print: u64,
}

impl SmSums {
    #[inline]
    fn add(&mut self, o: &SmSums) {
        self.lb += o.lb;
        self.ls += o.ls;
        self.v += o.v;
        self.n_large += o.n_large;
        self.n_block += o.n_block;
        self.n_large_feed += o.n_large_feed;
    }

    #[inline]
    fn sub(&mut self, o: &SmSums) {
        self.lb -= o.lb;
        self.ls -= o.ls;
        self.v -= o.v;
        self.n_large -= o.n_large;
        self.n_block -= o.n_block;
        self.n_large_feed -= o.n_large_feed;
    }

    /// The sum of the large prints' confidences (0.9 per feed print, 0.6 per fallback print).
    #[inline]
    pub fn conf_sum(&self) -> f64 {
        FEED_CONF * f64::from(self.n_large_feed) + FALLBACK_CONF * f64::from(self.n_large - self.n_large_feed)
    }
}

/// The print being aggregated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct OpenPrint {
    t0: u64,
    price: i64,
    sign: i8,
    size: u64,
    /// Every trade of the print had its side from the feed.
    from_feed: bool,
}

/// Dominant execution style in the window (SIGNALS §7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behaviour {
    /// Large prints, neither mostly blocks nor an iceberg pattern (also with no large print).
    Aggressive,
    /// More than half the large prints are blocks.
    Block,
    /// Many (> 15) large prints, none of them reaching 150.
    Iceberg,
}

/// Smart-money class of the window (SIGNALS §7), checked in declaration order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmClass {
    /// `net_flow > inst_flow ∧ intensity > inst_intensity`.
    InstitutionalBuying,
    /// `net_flow < −inst_flow ∧ intensity > inst_intensity`.
    InstitutionalSelling,
    /// `net_flow > accum_flow ∧ persistence > accum_persistence`.
    Accumulation,
    /// `net_flow < −accum_flow ∧ persistence > accum_persistence`.
    Distribution,
    /// `intensity > rotation_intensity`.
    Rotation,
    /// None of the above.
    Neutral,
}

/// The smart-money reading at a decision point (SIGNALS §7).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SmartMoneyState {
    /// `(LB − LS)/(LB + LS)`, 0 with no large print.
    pub net_flow: f64,
    /// `min(1, (LB + LS)/(intensity_share·V))`, 0 when V = 0.
    pub intensity: f64,
    /// Share of the last completed periods whose net flow has the sign of `net_flow`.
    pub persistence: f64,
    /// `max(0, 1 − d/(alignment_pct/100·P))`, 0 with no zone.
    pub alignment: f64,
    /// Execution style.
    pub behaviour: Behaviour,
    /// Class.
    pub class: SmClass,
    /// Confidence in [0, 1].
    pub conf: f64,
    /// Score in [−1, 1]; `None` when the window's V = 0.
    pub sm: Option<f64>,
}

impl SmartMoneyState {
    /// Smart-money strength on the seed's scale for direction `d` (+1 long, −1 short):
    /// `(1 + d·SM)/2`, 0.5 when SM is invalid.
    #[inline]
    pub fn strength(&self, d: i8) -> f64 {
        self.sm.map_or(0.5, |sm| (1.0 + f64::from(d.signum()) * sm) / 2.0)
    }

    /// Whether smart money is *institutional* in direction `d`: strength > `threshold`
    /// (the config's `institutional`).
    #[inline]
    pub fn institutional(&self, d: i8, threshold: f64) -> bool {
        self.strength(d) > threshold
    }
}

/// The smart-money tracker: print aggregation, the period ring and the window.
#[derive(Clone, Debug)]
pub struct SmartMoney {
    cfg: SmartMoneyConfig,
    periods: [SmSums; SM_PERIOD_CAP],
    /// Minute index (`now / 60e9`) of the current period; meaningful when `started`.
    cur: u64,
    /// A period is open this session.
    started: bool,
    /// Periods completed this session (saturating at the ring length).
    completed: usize,
    window: SmSums,
    open: Option<OpenPrint>,
    /// Start of the next period (ns): `on_time` rolls only at or after it (0: not started).
    next_roll: u64,
    /// Large-print buy volume finalized since construction (bars record its increments).
    pub total_large_buy: u64,
    /// Large-print sell volume finalized since construction.
    pub total_large_sell: u64,
}

impl SmartMoney {
    /// A tracker with the parameters of `cfg` (assumed validated).
    pub fn new(cfg: &SmartMoneyConfig) -> Self {
        let mut cfg = *cfg;
        cfg.lookback_periods = cfg.lookback_periods.clamp(1, SM_PERIOD_CAP);
        cfg.window_periods = cfg.window_periods.clamp(1, cfg.lookback_periods);
        cfg.persistence_periods = cfg.persistence_periods.clamp(1, cfg.lookback_periods);
        Self {
            cfg,
            periods: [SmSums::default(); SM_PERIOD_CAP],
            cur: 0,
            started: false,
            completed: 0,
            window: SmSums::default(),
            open: None,
            next_roll: 0,
            total_large_buy: 0,
            total_large_sell: 0,
        }
    }

    /// The configuration in use.
    #[inline]
    pub fn config(&self) -> &SmartMoneyConfig {
        &self.cfg
    }

    #[inline]
    fn slot(&self, idx: u64) -> usize {
        (idx % self.cfg.lookback_periods as u64) as usize
    }

    /// Credits a finalized print to the current period and the window.
    fn finalize(&mut self) {
        let Some(p) = self.open.take() else { return };
        if !self.started {
            return;
        }
        let mut add = SmSums { max_print: p.size, ..SmSums::default() };
        if p.size >= u64::from(self.cfg.large_print) {
            if p.sign > 0 {
                add.lb = p.size;
            } else {
                add.ls = p.size;
            }
            add.n_large = 1;
            add.n_block = u32::from(p.size >= u64::from(self.cfg.block_print));
            add.n_large_feed = u32::from(p.from_feed);
        }
        self.total_large_buy += add.lb;
        self.total_large_sell += add.ls;
        let s = self.slot(self.cur);
        self.periods[s].add(&add);
        self.periods[s].max_print = self.periods[s].max_print.max(p.size);
        self.window.add(&add);
        self.window.max_print = self.window.max_print.max(p.size);
    }

    /// Finalizes the open print if `now − t₀ > aggregate_ns` (no period roll). `on_time`
    /// calls it; it may also be called alone before a decision point.
    #[inline]
    pub fn expire(&mut self, now: u64) {
        if let Some(p) = self.open {
            if now.saturating_sub(p.t0) > self.cfg.aggregate_ns {
                self.finalize();
            }
        }
    }

    /// Moves the period ring to the minute of `now`, clearing every period skipped.
    #[cold]
    fn roll(&mut self, now: u64) {
        let idx = now / SM_PERIOD_NS;
        self.next_roll = idx.max(self.cur).saturating_add(1).saturating_mul(SM_PERIOD_NS);
        if !self.started {
            self.cur = idx;
            self.started = true;
            self.next_roll = (idx + 1) * SM_PERIOD_NS;
            let s = self.slot(idx);
            self.periods[s] = SmSums::default();
            return;
        }
        if idx <= self.cur {
            return;
        }
        let n = self.cfg.lookback_periods as u64;
        let w = self.cfg.window_periods as u64;
        let steps = idx - self.cur;
        self.completed = (self.completed as u64 + steps).min(n) as usize;
        if steps >= w {
            // every period of the old window leaves it
            self.window = SmSums::default();
        } else {
            for k in 1..=steps {
                // period cur + k enters the window; cur + k − w leaves it
                if let Some(leaving) = (self.cur + k).checked_sub(w) {
                    let p = self.periods[self.slot(leaving)];
                    self.window.sub(&p);
                }
            }
        }
        for k in 1..=steps.min(n) {
            let s = self.slot(self.cur + k);
            self.periods[s] = SmSums::default();
        }
        self.cur = idx;
        let mut m = 0;
        for k in 0..w.min(self.cur + 1) {
            m = m.max(self.periods[self.slot(self.cur - k)].max_print);
        }
        self.window.max_print = m;
    }

    /// Time passes to `now` (call before each event is applied): finalizes an expired print,
    /// then rolls the period ring when `now` is past the current period's end.
    #[inline]
    pub fn on_time(&mut self, now: u64) {
        self.expire(now);
        if now >= self.next_roll {
            self.roll(now);
        }
    }

    /// A trade of `size` at `price` (Px) with aggressor `sign` (+1 buy, −1 sell, 0
    /// unclassified); `from_feed` tells whether the side came from the feed.
    pub fn on_trade(&mut self, now: u64, price: i64, size: u32, sign: i8, from_feed: bool) {
        self.on_time(now);
        let size = u64::from(size);
        let s = self.slot(self.cur);
        self.periods[s].v += size;
        self.window.v += size;
        let sign = sign.signum();
        if sign == 0 {
            self.finalize();
            return;
        }
        if let Some(p) = &mut self.open {
            if p.price == price && p.sign == sign && now.saturating_sub(p.t0) <= self.cfg.aggregate_ns {
                p.size += size;
                p.from_feed &= from_feed;
                return;
            }
            self.finalize();
        }
        self.open = Some(OpenPrint { t0: now, price, sign, size, from_feed });
    }

    /// Session reset (SIGNALS §1): every period is cleared and the open print dropped; the
    /// next event opens the session's first period.
    pub fn on_session(&mut self) {
        self.periods = [SmSums::default(); SM_PERIOD_CAP];
        self.window = SmSums::default();
        self.open = None;
        self.started = false;
        self.completed = 0;
        self.next_roll = 0;
    }

    /// The window's figures (finalized prints; all traded volume).
    #[inline]
    pub fn window(&self) -> SmSums {
        self.window
    }

    /// The figures of the period `back` periods before the current one (0 = current), or
    /// `None` beyond the ring or before the session's first period.
    pub fn period(&self, back: usize) -> Option<SmSums> {
        if !self.started || back >= self.cfg.lookback_periods || back > self.completed {
            return None;
        }
        Some(self.periods[self.slot(self.cur - back as u64)])
    }

    /// The size of the print being aggregated, if any.
    #[inline]
    pub fn open_print(&self) -> Option<u64> {
        self.open.map(|p| p.size)
    }

    /// Periods completed this session (saturating at `lookback_periods`).
    #[inline]
    pub fn completed_periods(&self) -> usize {
        self.completed
    }

    /// F7 = `(LB − LS)/V` over the window, `None` when V = 0.
    #[inline]
    pub fn f7(&self) -> Option<f32> {
        let w = &self.window;
        if w.v == 0 {
            return None;
        }
        let x = (w.lb as f64 - w.ls as f64) / w.v as f64;
        x.is_finite().then_some(x as f32)
    }

    /// Writes F7 into `out` (invalid when V = 0).
    #[inline]
    pub fn write(&self, out: &mut FeatureVector) {
        match self.f7() {
            Some(x) => out.set(FeatureId::SmartMoneyFlow, x),
            None => out.invalidate(FeatureId::SmartMoneyFlow),
        }
    }

    /// Persistence for a window net flow of sign `sign` (SIGNALS §7).
    fn persistence(&self, sign: i64) -> f64 {
        if self.completed < 2 {
            return 0.5;
        }
        let n = self.cfg.persistence_periods.min(self.completed);
        let mut hits = 0u32;
        for back in 1..=n {
            let p = &self.periods[self.slot(self.cur - back as u64)];
            let s = (p.lb as i64 - p.ls as i64).signum();
            hits += u32::from(s != 0 && s == sign);
        }
        f64::from(hits) / n as f64
    }

    /// The smart-money reading at a decision point: `zone_distance` is the distance from
    /// `price` to the nearest zone centre (same unit as `price`; `None` with no zone).
    pub fn state(&self, zone_distance: Option<f64>, price: f64) -> SmartMoneyState {
        let c = &self.cfg;
        let w = &self.window;
        let large = w.lb + w.ls;
        let diff = w.lb as i64 - w.ls as i64;
        let net_flow = if large == 0 { 0.0 } else { diff as f64 / large as f64 };
        let intensity =
            if w.v == 0 { 0.0 } else { (large as f64 / (c.intensity_share * w.v as f64)).min(1.0) };
        let persistence = self.persistence(diff.signum());
        let alignment = match zone_distance {
            Some(d) if d.is_finite() && price.is_finite() && price > 0.0 => {
                (1.0 - d.abs() / (c.alignment_pct / 100.0 * price)).max(0.0)
            }
            _ => 0.0,
        };
        let behaviour = if w.n_large == 0 {
            Behaviour::Aggressive
        } else if 2 * w.n_block > w.n_large {
            Behaviour::Block
        } else if w.n_large > 15 && w.max_print < 150 {
            Behaviour::Iceberg
        } else {
            Behaviour::Aggressive
        };
        let class = if net_flow > c.inst_flow && intensity > c.inst_intensity {
            SmClass::InstitutionalBuying
        } else if net_flow < -c.inst_flow && intensity > c.inst_intensity {
            SmClass::InstitutionalSelling
        } else if net_flow > c.accum_flow && persistence > c.accum_persistence {
            SmClass::Accumulation
        } else if net_flow < -c.accum_flow && persistence > c.accum_persistence {
            SmClass::Distribution
        } else if intensity > c.rotation_intensity {
            SmClass::Rotation
        } else {
            SmClass::Neutral
        };
        let mean_conf = if w.n_large == 0 { 0.0 } else { w.conf_sum() / f64::from(w.n_large) };
        let k = &c.conf_weights;
        let conf = k[0] * intensity
            + k[1] * (f64::from(w.n_large) / 10.0).min(1.0)
            + k[2] * persistence
            + k[3] * alignment
            + k[4] * mean_conf;
        let base = match class {
            SmClass::InstitutionalBuying => 0.8,
            SmClass::InstitutionalSelling => -0.8,
            SmClass::Accumulation => 0.6,
            SmClass::Distribution => -0.6,
            SmClass::Rotation | SmClass::Neutral => 0.0,
        };
        let sm = if w.v == 0 {
            None
        } else if base != 0.0 {
            let sg = if base > 0.0 { 1.0 } else { -1.0 };
            Some(
                (base * conf * (0.5 + 0.5 * intensity) + sg * (0.2 * persistence + 0.1 * alignment))
                    .clamp(-1.0, 1.0),
            )
        } else if net_flow.abs() > c.neutral_flow {
            Some(net_flow * conf * 0.5)
        } else {
            Some(0.0)
        };
        SmartMoneyState {
            net_flow,
            intensity,
            persistence,
            alignment,
            behaviour,
            class,
            conf,
            sm: sm.filter(|x| x.is_finite()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MS: u64 = 1_000_000;
    const MIN: u64 = SM_PERIOD_NS;
    /// 2024-03-13 08:30 CT, a UTC minute boundary.
    const T0: u64 = 1_710_336_600 * 1_000_000_000;
    const PX: i64 = 5_000_250_000_000; // 5000.25

    fn sm() -> SmartMoney {
        SmartMoney::new(&SmartMoneyConfig::default())
    }

    #[test]
    fn default_config_is_valid_and_bad_keys_are_named() {
        assert_eq!(SmartMoneyConfig::default().validate(), Ok(()));
        let bad = |f: fn(&mut SmartMoneyConfig)| {
            let mut c = SmartMoneyConfig::default();
            f(&mut c);
            c.validate().unwrap_err()
        };
        assert!(bad(|c| c.lookback_periods = 129).starts_with("lookback_periods:"));
        assert!(bad(|c| c.window_periods = 61).starts_with("window_periods:"));
        assert!(bad(|c| c.persistence_periods = 60).starts_with("persistence_periods:"));
        assert!(bad(|c| c.block_print = 50).starts_with("block_print:"));
        assert!(bad(|c| c.aggregate_ns = 0).starts_with("aggregate_ns:"));
        assert!(bad(|c| c.intensity_share = 0.0).starts_with("intensity_share:"));
        assert!(bad(|c| c.conf_weights = [0.5, 0.5, 0.5, 0.0, 0.0]).starts_with("conf_weights:"));
        assert!(bad(|c| c.inst_flow = f64::NAN).starts_with("inst_flow:"));
    }

    #[test]
    fn t15_aggregation_of_the_first_print() {
        let mut s = sm();
        s.on_trade(T0, PX, 40, 1, true);
        s.on_trade(T0 + 400_000, PX, 35, 1, true);
        s.on_trade(T0 + 900_000, PX, 30, 1, true);
        assert_eq!(s.open_print(), Some(105));
        assert_eq!(s.window().n_large, 0, "not finalized yet");
        s.on_trade(T0 + 1_200_000, PX, 20, 1, true);
        assert_eq!(s.open_print(), Some(20), "the 4th trade starts a new print");
        let w = s.window();
        assert_eq!((w.lb, w.ls, w.n_large, w.n_block, w.v, w.max_print), (105, 0, 1, 0, 125, 105));
    }

    /// T15 through the public API: a 15-period stream giving LB = 3000, LS = 1000,
    /// V = 16000, n_large = 25 (all feed prints), persistence 4/5.
    #[test]
    fn t15_window_class_conf_score_and_f7() {
        let mut s = sm();
        let sec = 1_000_000_000u64;
        // period 0: the 40 + 35 + 30 print (105) and a small print of 20
        s.on_trade(T0, PX, 40, 1, true);
        s.on_trade(T0 + 400_000, PX, 35, 1, true);
        s.on_trade(T0 + 900_000, PX, 30, 1, true);
        s.on_trade(T0 + 1_200_000, PX, 20, 1, true);
        for p in 0..15u64 {
            let t = T0 + p * MIN + 10 * sec;
            let mut k = 0;
            let mut trade = |s: &mut SmartMoney, size: u32, sign: i8| {
                s.on_trade(t + k * sec, PX, size, sign, true);
                k += 1;
            };
            if (1..=12).contains(&p) {
                trade(&mut s, 150, 1);
            }
            if [1, 3, 5, 7, 13].contains(&p) {
                trade(&mut s, 200, -1);
            }
            if p == 14 {
                for _ in 0..6 {
                    trade(&mut s, 150, 1);
                }
                trade(&mut s, 195, 1);
            }
            // unclassified filler (finalizes the open print)
            trade(&mut s, if p == 14 { 780 } else { 800 }, 0);
        }
        let w = s.window();
        assert_eq!((w.lb, w.ls, w.v, w.n_large, w.n_large_feed), (3000, 1000, 16000, 25, 25));
        assert_eq!(s.completed_periods(), 14);
        let st = s.state(Some(2.5), 5000.0);
        let e = 1e-5;
        assert!((st.net_flow - 0.5).abs() < e);
        assert!((st.intensity - 1.0).abs() < e);
        assert!((st.persistence - 0.8).abs() < e, "{}", st.persistence);
        assert!((st.alignment - 0.5).abs() < e, "{}", st.alignment);
        assert_eq!(st.class, SmClass::InstitutionalBuying);
        assert_eq!(st.behaviour, Behaviour::Aggressive);
        assert!((st.conf - 0.87).abs() < e, "{}", st.conf);
        assert!((st.sm.unwrap() - 0.906).abs() < e, "{:?}", st.sm);
        assert!((f64::from(s.f7().unwrap()) - 0.125).abs() < e);
        let mut out = FeatureVector::default();
        s.write(&mut out);
        assert_eq!(out.get(FeatureId::SmartMoneyFlow), Some(0.125));
        assert!(st.institutional(1, 0.7) && !st.institutional(-1, 0.7));
    }

    #[test]
    fn print_finalized_by_timeout() {
        let mut s = sm();
        s.on_trade(T0, PX, 120, -1, false);
        s.on_time(T0 + MS); // exactly aggregate_ns: still open
        assert_eq!(s.window().n_large, 0);
        s.on_time(T0 + MS + 1);
        assert_eq!(s.open_print(), None);
        let w = s.window();
        assert_eq!((w.ls, w.n_large, w.n_large_feed), (120, 1, 0));
        assert!((w.conf_sum() - 0.6).abs() < 1e-12, "fallback side → 0.6");
    }

    #[test]
    fn print_finalized_by_price_side_and_unclassified() {
        // price change
        let mut s = sm();
        s.on_trade(T0, PX, 60, 1, true);
        s.on_trade(T0 + 10, PX, 60, 1, true);
        s.on_trade(T0 + 20, PX + 250_000_000, 5, 1, true);
        assert_eq!((s.window().lb, s.open_print()), (120, Some(5)));
        // side change
        let mut s = sm();
        s.on_trade(T0, PX, 100, 1, true);
        s.on_trade(T0 + 10, PX, 100, -1, true);
        assert_eq!((s.window().lb, s.window().ls, s.open_print()), (100, 0, Some(100)));
        // unclassified: finalizes, counts in V only, opens nothing
        let mut s = sm();
        s.on_trade(T0, PX, 99, 1, true);
        s.on_trade(T0 + 10, PX, 1, 0, false);
        s.on_trade(T0 + 20, PX, 1, 1, true);
        let w = s.window();
        assert_eq!((w.lb, w.n_large, w.v, w.max_print, s.open_print()), (0, 0, 101, 99, Some(1)));
        // mixed sources: the print is a fallback print
        let mut s = sm();
        s.on_trade(T0, PX, 100, 1, true);
        s.on_trade(T0 + 10, PX, 100, 1, false);
        s.on_trade(T0 + 20, PX, 1, 0, false);
        assert_eq!((s.window().lb, s.window().n_block, s.window().n_large_feed), (200, 0, 0));
    }

    #[test]
    fn period_roll_with_gaps_and_ring_wrap() {
        let cfg = SmartMoneyConfig {
            lookback_periods: 6,
            window_periods: 3,
            persistence_periods: 2,
            ..Default::default()
        };
        let mut s = SmartMoney::new(&cfg);
        s.on_trade(T0, PX, 100, 1, true); // period 0
        s.on_trade(T0 + MIN, PX, 200, -1, true); // period 1; finalizes 100 into period 0
        s.on_trade(T0 + 2 * MIN, PX, 1, 0, true); // period 2; finalizes 200 into period 1
        let w = s.window();
        assert_eq!((w.lb, w.ls, w.v, w.max_print), (100, 200, 301, 200));
        s.on_time(T0 + 3 * MIN); // period 0 leaves the 3-period window
        let w = s.window();
        assert_eq!((w.lb, w.ls, w.v, w.max_print), (0, 200, 201, 200));
        s.on_time(T0 + 5 * MIN); // skips period 4; period 1 and 2 leave
        assert_eq!(s.window(), SmSums::default());
        assert_eq!(s.period(4).map(|p| p.ls), Some(200));
        // period 7 reuses slot 1: the skipped slots are cleared, nothing old comes back
        s.on_trade(T0 + 7 * MIN, PX, 7, 0, true);
        assert_eq!(s.period(6), None, "beyond the ring");
        assert_eq!(s.period(1), Some(SmSums::default()));
        assert_eq!(s.window().v, 7);
        // a jump of more than the whole ring
        s.on_trade(T0 + 100 * MIN, PX, 3, 0, true);
        assert_eq!(s.window().v, 3);
        for b in 1..6 {
            assert_eq!(s.period(b), Some(SmSums::default()), "period -{b}");
        }
    }

    #[test]
    fn persistence_counts_completed_periods_this_session() {
        let mut s = sm();
        s.on_trade(T0, PX, 100, 1, true);
        s.on_trade(T0 + MIN, PX, 1, 0, true);
        assert_eq!(s.completed_periods(), 1);
        assert_eq!(s.state(None, 5000.0).persistence, 0.5, "fewer than 2 completed");
        s.on_trade(T0 + 2 * MIN, PX, 1, 0, true);
        // completed: period 0 (+100), period 1 (nothing) → 1 of 2
        assert_eq!(s.state(None, 5000.0).persistence, 0.5);
        s.on_trade(T0 + 2 * MIN + 1, PX, 100, 1, true);
        s.on_trade(T0 + 3 * MIN, PX, 1, 0, true);
        // completed: +100, 0, +100 → 2 of 3
        assert!((s.state(None, 5000.0).persistence - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(s.state(None, 5000.0).alignment, 0.0, "no zone");
    }

    #[test]
    fn session_reset_clears_periods_and_open_print() {
        let mut s = sm();
        s.on_trade(T0, PX, 300, 1, true);
        s.on_trade(T0 + MIN, PX, 300, 1, true);
        s.on_trade(T0 + 2 * MIN, PX, 50, 0, true);
        assert_eq!(s.completed_periods(), 2);
        s.on_trade(T0 + 2 * MIN + 1, PX, 400, -1, true); // open at the reset
        s.on_session();
        assert_eq!((s.window(), s.open_print(), s.completed_periods()), (SmSums::default(), None, 0));
        assert_eq!(s.f7(), None);
        // a long gap after the reset does not count as completed periods
        s.on_trade(T0 + 90 * MIN, PX, 10, 0, true);
        assert_eq!((s.completed_periods(), s.window().v), (0, 10));
        assert_eq!(s.state(None, 5000.0).persistence, 0.5);
    }

    #[test]
    fn zero_volume_is_invalid() {
        let mut s = sm();
        let mut out = FeatureVector::default();
        out.set(FeatureId::SmartMoneyFlow, 0.3);
        s.write(&mut out);
        assert_eq!(out.get(FeatureId::SmartMoneyFlow), None);
        let st = s.state(Some(0.0), 5000.0);
        assert_eq!((st.sm, st.intensity, st.net_flow, st.class), (None, 0.0, 0.0, SmClass::Neutral));
        assert_eq!(st.strength(1), 0.5);
        s.on_trade(T0, PX, 10, 1, true);
        s.on_time(T0 + 20 * MIN); // the window empties again
        assert_eq!(s.f7(), None);
        assert_eq!(s.state(None, 5000.0).sm, None);
    }

    #[test]
    fn selling_classes_behaviour_and_neutral_score() {
        let mut s = sm();
        // 16 sell prints of 120 (large, < 150) plus 400 unclassified: n_large 16 → Iceberg
        for i in 0..16u64 {
            s.on_trade(T0 + i * 10 * MS, PX, 120, -1, true);
        }
        s.on_trade(T0 + 200 * MS, PX, 400, 0, true);
        let st = s.state(None, 5000.0);
        assert_eq!((st.class, st.behaviour), (SmClass::InstitutionalSelling, Behaviour::Iceberg));
        // conf = 0.3·1 + 0.2·1 + 0.2·0.5 + 0 + 0.15·0.9 = 0.735
        assert!((st.conf - 0.735).abs() < 1e-9, "{}", st.conf);
        // SM = −0.8·0.735·1 − (0.2·0.5) = −0.688
        assert!((st.sm.unwrap() + 0.688).abs() < 1e-9, "{:?}", st.sm);
        // blocks: 2 of 3 large prints ≥ 500
        let mut s = sm();
        s.on_trade(T0, PX, 600, 1, true);
        s.on_trade(T0 + 10 * MS, PX, 600, -1, true);
        s.on_trade(T0 + 20 * MS, PX, 100, 1, true);
        s.on_trade(T0 + 30 * MS, PX, 100_000, 0, true);
        let st = s.state(None, 5000.0);
        assert_eq!(st.behaviour, Behaviour::Block);
        // net 100/1300, intensity 1300/(0.2·101300) → Neutral, |net| ≤ 0.3 → SM 0
        assert_eq!((st.class, st.sm), (SmClass::Neutral, Some(0.0)));
    }

    // ---- property test: incremental window vs a naive recomputation ----

    #[derive(Clone, Debug)]
    enum Op {
        Trade { dt: u64, px: i64, size: u32, sign: i8, feed: bool },
        Time { dt: u64 },
        Session,
    }

    fn op() -> impl Strategy<Value = Op> {
        let dt = prop_oneof![6 => 0u64..2 * MS, 3 => 0u64..30_000 * MS, 1 => 0u64..400 * MIN / 100];
        prop_oneof![
            12 => (dt.clone(), 0i64..3, 1u32..300, -1i8..=1, any::<bool>())
                .prop_map(|(dt, px, size, sign, feed)| Op::Trade { dt, px: PX + px * 250_000_000, size, sign, feed }),
            3 => dt.prop_map(|dt| Op::Time { dt }),
            1 => Just(Op::Session),
        ]
    }

    /// The reference: every trade and finalized print kept in lists with their period.
    #[derive(Default)]
    struct Naive {
        trades: Vec<(u64, u64)>,                 // (period, size)
        prints: Vec<(u64, u64, i8, bool)>,       // (period, size, sign, from_feed)
        open: Option<(u64, i64, i8, u64, bool)>, // (t0, px, sign, size, feed)
        cur: Option<u64>,
    }

    impl Naive {
        fn close_print(&mut self) {
            if let (Some((_, _, sign, size, feed)), Some(cur)) = (self.open.take(), self.cur) {
                self.prints.push((cur, size, sign, feed));
            }
        }
        fn time(&mut self, now: u64, agg: u64) {
            if self.open.is_some_and(|o| now - o.0 > agg) {
                self.close_print();
            }
            let idx = now / MIN;
            self.cur = Some(self.cur.map_or(idx, |c| c.max(idx)));
        }
        fn trade(&mut self, now: u64, px: i64, size: u32, sign: i8, feed: bool, agg: u64) {
            self.time(now, agg);
            let size = u64::from(size);
            self.trades.push((self.cur.unwrap(), size));
            if sign == 0 {
                self.close_print();
                return;
            }
            match &mut self.open {
                Some(o) if o.1 == px && o.2 == sign && now - o.0 <= agg => {
                    o.3 += size;
                    o.4 &= feed;
                }
                _ => {
                    self.close_print();
                    self.open = Some((now, px, sign, size, feed));
                }
            }
        }
        fn window(&self, w: u64, cfg: &SmartMoneyConfig) -> SmSums {
            let mut s = SmSums::default();
            let Some(cur) = self.cur else { return s };
            let inw = |p: u64| p <= cur && cur - p < w;
            s.v = self.trades.iter().filter(|t| inw(t.0)).map(|t| t.1).sum();
            for &(_, size, sign, feed) in self.prints.iter().filter(|p| inw(p.0)) {
                s.max_print = s.max_print.max(size);
                if size >= u64::from(cfg.large_print) {
                    if sign > 0 {
                        s.lb += size
                    } else {
                        s.ls += size
                    }
                    s.n_large += 1;
                    s.n_block += u32::from(size >= u64::from(cfg.block_print));
                    s.n_large_feed += u32::from(feed);
                }
            }
            s
        }
    }

    proptest! {
        /// Exact (integer) equality of every window figure after every event.
        #[test]
        fn window_matches_naive_recomputation(
            ops in proptest::collection::vec(op(), 1..300),
            w in 1usize..8,
            lookback in 8usize..12,
        ) {
            let cfg = SmartMoneyConfig {
                lookback_periods: lookback,
                window_periods: w,
                persistence_periods: 3,
                block_print: 250,
                ..Default::default()
            };
            prop_assert_eq!(cfg.validate(), Ok(()));
            let mut s = SmartMoney::new(&cfg);
            let mut n = Naive::default();
            let mut now = T0 + 17 * MIN / 3;
            for op in ops {
                match op {
                    Op::Trade { dt, px, size, sign, feed } => {
                        now += dt;
                        s.on_trade(now, px, size, sign, feed);
                        n.trade(now, px, size, sign, feed, cfg.aggregate_ns);
                    }
                    Op::Time { dt } => {
                        now += dt;
                        s.on_time(now);
                        n.time(now, cfg.aggregate_ns);
                    }
                    Op::Session => {
                        s.on_session();
                        n = Naive::default();
                    }
                }
                prop_assert_eq!(s.window(), n.window(w as u64, &cfg));
                let st = s.state(Some(1.0), 5000.0);
                prop_assert!(st.conf.is_finite() && (0.0..=1.0 + 1e-12).contains(&st.conf));
                prop_assert!(st.sm.is_none_or(|x| (-1.0..=1.0).contains(&x)));
            }
        }
    }
}

/// F7 as a registered feature: the market's [`SmartMoney`] tracker does the work (it is
/// shared with the bars and the signal engine); this writes its `(LB − LS)/V`.
#[derive(Clone, Copy, Debug)]
pub struct SmartMoneyFlow;

impl super::Feature for SmartMoneyFlow {
    type Config = super::NoConfig;

    fn new(_cfg: &super::NoConfig, _tick: i64) -> Self {
        SmartMoneyFlow
    }

    #[inline]
    fn on_last(&mut self, m: &crate::market::Market, out: &mut FeatureVector) {
        m.smart_money.write(out);
    }
}
