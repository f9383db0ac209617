//! Session-level tests: determinism, per-record invariants over a full default session, and
//! the statistical properties the model promises.

use std::sync::OnceLock;

use dbn::{BidAskPair, Mbp10Msg};

use super::*;

/// One side of a level array as (price, size, count) triples.
fn side_levels(levels: &[BidAskPair; 10], side: SideIx) -> [(i64, u32, u32); 10] {
    std::array::from_fn(|i| {
        let l = &levels[i];
        if side == BID {
            (l.bid_px, l.bid_sz, l.bid_ct)
        } else {
            (l.ask_px, l.ask_sz, l.ask_ct)
        }
    })
}

fn book_side(c: c_char) -> SideIx {
    match c as u8 {
        b'B' => BID,
        b'A' => ASK,
        other => panic!("bad side {other}"),
    }
}

/// Checks the static book invariants of one record.
fn check_book(r: &Mbp10Msg) {
    let lv = &r.levels;
    assert!(lv[0].bid_px < lv[0].ask_px, "crossed or locked: {r:?}");
    for i in 0..10 {
        let l = &lv[i];
        assert!(l.bid_px % ES_TICK == 0 && l.ask_px % ES_TICK == 0, "off grid: {r:?}");
        assert!(l.bid_sz > 0 && l.ask_sz > 0, "empty level: {r:?}");
        assert!(l.bid_ct >= 1 && l.bid_ct <= l.bid_sz, "bid count: {r:?}");
        assert!(l.ask_ct >= 1 && l.ask_ct <= l.ask_sz, "ask count: {r:?}");
        assert!(l.bid_sz < 5_000 && l.ask_sz < 5_000, "absurd size: {r:?}");
        if i > 0 {
            assert!(l.bid_px <= lv[i - 1].bid_px - ES_TICK, "bid order: {r:?}");
            assert!(l.ask_px >= lv[i - 1].ask_px + ES_TICK, "ask order: {r:?}");
        }
    }
}

/// Checks that the record's action explains the change from `prev_levels` to its levels.
fn check_transition(prev: &Mbp10Msg, r: &Mbp10Msg) {
    let action = r.action as u8;
    if action == b'T' {
        assert!(r.levels == prev.levels, "a trade record must not change the book");
        let aggr = book_side(r.side);
        let expect = if aggr == BID { r.levels[0].ask_px } else { r.levels[0].bid_px };
        assert_eq!(r.price, expect, "trade not at the touch: {r:?}");
        assert!(r.size > 0 && r.depth == 0 && r.flags.raw() & LAST == 0);
        return;
    }
    let side = book_side(r.side);
    let other = 1 - side;
    assert!(side_levels(&prev.levels, other) == side_levels(&r.levels, other), "other side changed: {r:?}");
    let (old, new) = (side_levels(&prev.levels, side), side_levels(&r.levels, side));
    let d = r.depth as usize;
    assert!(r.size > 0);
    if old[0].0 == new[0].0 {
        // No shift: exactly level d changed by ±size at the record's price.
        for i in 0..10 {
            if i != d {
                assert_eq!(old[i], new[i], "untouched level changed: {r:?}");
            }
        }
        assert_eq!(new[d].0, r.price);
        let delta = i64::from(new[d].1) - i64::from(old[d].1);
        match action {
            b'A' => assert_eq!(delta, i64::from(r.size)),
            b'C' => assert_eq!(delta, -i64::from(r.size)),
            b'M' => assert_eq!(delta.abs(), i64::from(r.size)),
            _ => panic!("unknown action {action}"),
        }
    } else if action == b'A' {
        // New best level inserted one tick inside the spread.
        assert_eq!((d, new[0].0, new[0].1), (0, r.price, r.size), "{r:?}");
        assert_eq!(&new[1..], &old[..9]);
        let inside = if side == BID { new[0].0 - old[0].0 } else { old[0].0 - new[0].0 };
        assert_eq!(inside, ES_TICK);
    } else {
        // Best level removed; ladder shifts towards the touch.
        assert_eq!(action, b'C', "only A/C may shift the book: {r:?}");
        assert_eq!((d, old[0].0, old[0].1), (0, r.price, r.size), "{r:?}");
        assert_eq!(&new[..9], &old[1..]);
    }
    if prev.action as u8 == b'T' {
        // Depletion of the resting queue by the preceding trade.
        assert_eq!(side, 1 - book_side(prev.side));
        assert_eq!((r.price, r.size, r.depth), (prev.price, prev.size, 0));
        assert!(action == b'C' || action == b'M');
    }
}

/// Number of normalized events a record becomes: one per changed (side, depth) level plus one
/// for a trade.
fn normalized_events(prev: Option<&Mbp10Msg>, r: &Mbp10Msg) -> u64 {
    let changed = match prev {
        None => 20,
        Some(p) => (0..10)
            .map(|i| {
                let (a, b) = (&p.levels[i], &r.levels[i]);
                u64::from((a.bid_px, a.bid_sz, a.bid_ct) != (b.bid_px, b.bid_sz, b.bid_ct))
                    + u64::from((a.ask_px, a.ask_sz, a.ask_ct) != (b.ask_px, b.ask_sz, b.ask_ct))
            })
            .sum(),
    };
    changed + u64::from(r.action as u8 == b'T')
}

const BUCKET_NS: u64 = NS_PER_SEC;

/// Chicago local (date, minute of day) of a UTC timestamp (offset of the UTC date and hour;
/// exact away from the 02:00 changeover).
fn chicago_local(ts: u64) -> (Date, u32) {
    let secs = ts / NS_PER_SEC;
    let utc = Date::from_unix_ns(ts);
    let off = mia_model::time::calendar::ct_offset_hours(utc, ((secs % 86_400) / 3600) as u32);
    let local = secs as i64 + i64::from(off) * 3600;
    (Date::from_days_since_epoch(local.div_euclid(86_400)), (local.rem_euclid(86_400) / 60) as u32)
}

/// SIGNALS §2 F16 phase code of a Chicago minute of day.
fn phase(minute: u32) -> usize {
    match minute {
        480..=509 => 1,
        510..=539 => 2,
        540..=599 => 3,
        600..=779 => 4,
        780..=869 => 5,
        870..=899 => 6,
        _ => 0,
    }
}

/// SIGNALS §1 session date of a timestamp.
fn session_date(ts: u64) -> Date {
    let (d, m) = chicago_local(ts);
    if m >= 16 * 60 || !is_trading_day(d) {
        next_trading_day(d)
    } else {
        d
    }
}

/// RTH statistics of one trading day.
#[derive(Debug)]
struct DayStats {
    /// Mid (ticks) at the end of each RTH minute.
    minute_mid: Vec<f64>,
    minute_records: Vec<u64>,
    /// Per 1-second RTH bucket: signed aggressor volume and closing mid.
    bucket_flow: Vec<i64>,
    bucket_mid: Vec<f64>,
    /// Records of the day outside RTH.
    ext_records: u64,
    records: u64,
}

impl DayStats {
    fn new() -> Self {
        Self {
            minute_mid: vec![f64::NAN; SESSION_MINUTES],
            minute_records: vec![0; SESSION_MINUTES],
            bucket_flow: vec![0; SESSION_MINUTES * 60],
            bucket_mid: vec![f64::NAN; SESSION_MINUTES * 60],
            ext_records: 0,
            records: 0,
        }
    }

    /// Carries mids forward through empty intervals, from `open_mid`.
    fn fill(&mut self, open_mid: f64) {
        for v in [&mut self.minute_mid, &mut self.bucket_mid] {
            let mut last = open_mid;
            for m in v.iter_mut() {
                if m.is_nan() {
                    *m = last;
                }
                last = *m;
            }
        }
    }
}

/// SIGNALS §7 print aggregation: consecutive trades at one price and aggressor side within
/// 1 ms (`ts_recv`) of the group's first trade.
#[derive(Debug, Default)]
struct Prints {
    open: Option<(i64, u8, u64, u32, u32)>,
    /// Finalized prints of ≥ 100 lots, and those made of ≥ 2 trades.
    large: u64,
    large_bursts: u64,
}

impl Prints {
    fn finalize(&mut self) {
        if let Some((_, _, _, size, trades)) = self.open.take() {
            if size >= 100 {
                self.large += 1;
                self.large_bursts += u64::from(trades >= 2);
            }
        }
    }

    fn on_record(&mut self, r: &Mbp10Msg) {
        let now = r.ts_recv;
        if self.open.is_some_and(|(_, _, t0, _, _)| now - t0 > 1_000_000) {
            self.finalize();
        }
        if r.action as u8 != b'T' {
            return;
        }
        match &mut self.open {
            Some((p, s, _, size, n)) if *p == r.price && *s == r.side as u8 => {
                *size += r.size;
                *n += 1;
            }
            _ => {
                self.finalize();
                self.open = Some((r.price, r.side as u8, now, r.size, 1));
            }
        }
    }
}

/// Absorption detector: aggressive volume traded at one price on one side while the best
/// price of the passive side stays within 1 tick of it; an episode is ≥ 200 lots within 120 s.
#[derive(Debug, Default)]
struct Absorption {
    /// Per aggressor side: (price, volume, start ts).
    run: [Option<(i64, u32, u64)>; 2],
    episodes: u64,
}

impl Absorption {
    fn on_record(&mut self, r: &Mbp10Msg) {
        let l0 = &r.levels[0];
        for aggr in [BID, ASK] {
            let best = if aggr == BID { l0.ask_px } else { l0.bid_px };
            if let Some((p, vol, t0)) = self.run[aggr] {
                if (best - p).abs() > ES_TICK || r.hd.ts_event - t0 > 120 * NS_PER_SEC {
                    self.run[aggr] = None;
                } else if vol >= 200 {
                    self.episodes += 1;
                    self.run[aggr] = None;
                }
            }
        }
        if r.action as u8 == b'T' {
            let aggr = book_side(r.side);
            match &mut self.run[aggr] {
                Some((p, vol, _)) if *p == r.price => *vol += r.size,
                Some(_) => {}
                None => self.run[aggr] = Some((r.price, r.size, r.hd.ts_event)),
            }
        }
    }
}

/// SIGNALS §2 F4 on 5-minute bars of trades: counts RTH bars whose divergence score is ≥ 0.5.
#[derive(Debug, Default)]
struct Divergence {
    /// Completed bars of the current session: (high, low, CD at close, |delta|).
    bars: Vec<(i64, i64, i64, i64)>,
    /// Current bar: (index, high, low, delta).
    cur: Option<(u64, i64, i64, i64)>,
    cd: i64,
    date: Option<Date>,
    strong: u64,
}

impl Divergence {
    const N: usize = 10;

    fn close_bar(&mut self) {
        let Some((bar, high, low, delta)) = self.cur.take() else { return };
        let cd = self.cd;
        if self.bars.len() >= Self::N {
            let w = &self.bars[self.bars.len() - Self::N..];
            let h = w.iter().map(|b| b.0).max().unwrap_or(i64::MIN);
            let l = w.iter().map(|b| b.1).min().unwrap_or(i64::MAX);
            let cdh = w.iter().map(|b| b.2).max().unwrap_or(0);
            let cdl = w.iter().map(|b| b.2).min().unwrap_or(0);
            let a = (w.iter().map(|b| b.3).sum::<i64>() as f64 / Self::N as f64).max(1.0);
            let bear = if high > h && cd < cdh { ((cdh - cd) as f64 / (2.0 * a)).min(1.0) } else { 0.0 };
            let bull = if low < l && cd > cdl { ((cd - cdl) as f64 / (2.0 * a)).min(1.0) } else { 0.0 };
            let rth = phase(chicago_local(bar * 5 * 60 * NS_PER_SEC).1) >= 2;
            self.strong += u64::from(rth && bear.max(bull) >= 0.5);
        }
        self.bars.push((high, low, cd, delta.abs()));
    }

    fn on_record(&mut self, r: &Mbp10Msg) {
        let ts = r.hd.ts_event;
        let bar = ts / (5 * 60 * NS_PER_SEC);
        if self.cur.is_some_and(|c| c.0 != bar) {
            self.close_bar();
        }
        if r.action as u8 != b'T' {
            return;
        }
        let date = session_date(ts);
        if self.date != Some(date) {
            self.close_bar();
            self.bars.clear();
            self.cd = 0;
            self.date = Some(date);
        }
        let signed = if book_side(r.side) == BID { i64::from(r.size) } else { -i64::from(r.size) };
        self.cd += signed;
        let c = self.cur.get_or_insert((bar, r.price, r.price, 0));
        c.1 = c.1.max(r.price);
        c.2 = c.2.min(r.price);
        c.3 += signed;
    }
}

/// Streaming summary of a run; also checks every invariant on every record.
#[derive(Debug, Default)]
struct Summary {
    records: u64,
    events: u64,
    normalized_events: u64,
    trade_records: u64,
    trade_sizes: Vec<u32>,
    max_order_size: u32,
    spread_one: u64,
    last_records: u64,
    top_size_sum: u64,
    deep_size_sum: u64,
    actions: [u64; 4],
    /// Records per SIGNALS F16 phase (Chicago clock).
    phases: [u64; 7],
    /// Session dates (SIGNALS §1) in order of appearance.
    session_dates: Vec<Date>,
    /// Records with a Chicago time in 16:00–17:00.
    break_records: u64,
    days: Vec<DayStats>,
    prints: Prints,
    absorption: Absorption,
    divergence: Divergence,
}

fn summarize(cfg: &SynthConfig) -> Summary {
    let session = SynthSession::new(cfg);
    let days: Vec<SynthDay> = session.days().to_vec();
    assert_eq!(days.len(), cfg.days as usize);
    let (start, end) = (session.start_ns(), session.end_ns());
    let mut s = Summary { days: days.iter().map(|_| DayStats::new()).collect(), ..Summary::default() };
    let mut open_mids = Vec::new();
    let mut prev: Option<Mbp10Msg> = None;
    let mut order_size = 0u32;
    let mut day_ix = 0;
    for r in session {
        assert_eq!(r.hd.rtype, rtype::MBP_10);
        assert_eq!(r.hd.record_size(), std::mem::size_of::<Mbp10Msg>());
        assert_eq!((r.hd.instrument_id, r.hd.publisher_id), (cfg.instrument_id, cfg.publisher_id));
        let ts = r.hd.ts_event;
        assert!(ts >= start && ts < end, "ts outside the run: {r:?}");
        while ts >= days[day_ix].end_ns {
            day_ix += 1;
        }
        let day = &days[day_ix];
        assert!(ts >= day.start_ns, "ts between two days: {r:?}");
        let latency = r.ts_recv - ts;
        assert!((5_000..=50_000).contains(&latency), "latency {latency}");
        assert_eq!(i64::from(r.ts_in_delta), latency as i64);
        check_book(&r);
        match &prev {
            None => s.events += 1,
            Some(p) => {
                assert!(ts >= p.hd.ts_event && r.ts_recv >= p.ts_recv, "time went backwards");
                assert_eq!(r.sequence, p.sequence.wrapping_add(1));
                if p.flags.raw() & LAST == 0 {
                    assert_eq!(ts, p.hd.ts_event, "records of one event share ts_event");
                } else {
                    s.events += 1;
                }
                check_transition(p, &r);
            }
        }
        let (_, local_min) = chicago_local(ts);
        s.phases[phase(local_min)] += 1;
        s.break_records += u64::from((960..1020).contains(&local_min));
        let sd = session_date(ts);
        if s.session_dates.last() != Some(&sd) {
            s.session_dates.push(sd);
        }
        s.prints.on_record(&r);
        s.absorption.on_record(&r);
        s.divergence.on_record(&r);
        s.normalized_events += normalized_events(prev.as_ref(), &r);
        s.records += 1;
        let action = r.action as u8;
        s.actions[match action {
            b'A' => 0,
            b'C' => 1,
            b'M' => 2,
            _ => 3,
        }] += 1;
        let rth = ts >= day.rth_open_ns && ts < day.rth_close_ns;
        let d = &mut s.days[day_ix];
        d.records += 1;
        if !rth {
            d.ext_records += 1;
        }
        if open_mids.len() <= day_ix && (rth || ts >= day.rth_close_ns) {
            // Mid at the RTH open: the last mid before it (or the current one).
            let mid = &prev.as_ref().map_or(&r, |p| p).levels[0];
            open_mids.push((mid.bid_px + mid.ask_px) as f64 * 0.5 / ES_TICK as f64);
        }
        let (m, b) = (
            ((ts.wrapping_sub(day.rth_open_ns)) / MINUTE_NS) as usize,
            ((ts.wrapping_sub(day.rth_open_ns)) / BUCKET_NS) as usize,
        );
        if action == b'T' {
            s.trade_records += 1;
            s.trade_sizes.push(r.size);
            order_size += r.size;
            if rth {
                d.bucket_flow[b] +=
                    if book_side(r.side) == BID { i64::from(r.size) } else { -i64::from(r.size) };
            }
        }
        if rth {
            d.minute_records[m] += 1;
        }
        if r.flags.raw() & LAST != 0 {
            s.max_order_size = s.max_order_size.max(order_size);
            order_size = 0;
            s.last_records += 1;
            let l0 = &r.levels[0];
            s.spread_one += u64::from(l0.ask_px - l0.bid_px == ES_TICK);
            s.top_size_sum += u64::from(l0.bid_sz + l0.ask_sz);
            s.deep_size_sum += u64::from(r.levels[9].bid_sz + r.levels[9].ask_sz);
            if rth {
                let mid = (l0.bid_px + l0.ask_px) as f64 * 0.5 / ES_TICK as f64;
                d.minute_mid[m] = mid;
                d.bucket_mid[b] = mid;
            }
        }
        prev = Some(r);
    }
    assert!(prev.is_some_and(|p| p.flags.raw() & LAST != 0), "session must end on a complete event");
    s.prints.finalize();
    s.divergence.close_bar();
    for (i, d) in s.days.iter_mut().enumerate() {
        d.fill(open_mids.get(i).copied().unwrap_or(f64::NAN));
    }
    s
}

/// Seeds of the full default-config sessions the statistical tests look at (the first is the
/// default seed).
const STAT_SEEDS: [u64; 3] = [42, 7, 2024];

/// Full sessions for [`STAT_SEEDS`], generated (and invariant-checked) once.
fn summaries() -> &'static [Summary] {
    static SUMMARIES: OnceLock<Vec<Summary>> = OnceLock::new();
    SUMMARIES.get_or_init(|| {
        let handles: Vec<_> = STAT_SEEDS
            .iter()
            .map(|&seed| {
                std::thread::spawn(move || summarize(&SynthConfig { seed, ..SynthConfig::default() }))
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("session generation panicked")).collect()
    })
}

fn default_summary() -> &'static Summary {
    &summaries()[0]
}

fn diffs(x: &[f64]) -> Vec<f64> {
    x.windows(2).map(|w| w[1] - w[0]).collect()
}

/// Flow summed and mid sampled over buckets of `k` seconds.
fn coarse(s: &DayStats, k: usize) -> (Vec<f64>, Vec<f64>) {
    let flow = s.bucket_flow.chunks(k).map(|c| c.iter().sum::<i64>() as f64).collect();
    let mid = s.bucket_mid.chunks(k).map(|c| c[c.len() - 1]).collect();
    (flow, mid)
}

/// Correlations of bucket flow with the same bucket's and the next bucket's mid change.
fn flow_corr(s: &DayStats, k: usize) -> (f64, f64) {
    let (flow, mid) = coarse(s, k);
    let ret = diffs(&mid);
    (corr(&flow[1..], &ret), corr(&flow[..flow.len() - 2], &ret[1..]))
}

fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

fn corr(x: &[f64], y: &[f64]) -> f64 {
    let (mx, my) = (mean(x), mean(y));
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    sxy / (sxx * syy).sqrt()
}

fn kurtosis(x: &[f64]) -> f64 {
    let m = mean(x);
    let m2 = x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / x.len() as f64;
    let m4 = x.iter().map(|v| (v - m).powi(4)).sum::<f64>() / x.len() as f64;
    m4 / (m2 * m2)
}

fn std_dev(x: &[f64]) -> f64 {
    let m = mean(x);
    (x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / x.len() as f64).sqrt()
}

#[test]
fn same_seed_same_records_other_seed_different() {
    let cfg = SynthConfig { target_records: 30_000, ..SynthConfig::default() };
    let a: Vec<Mbp10Msg> = SynthSession::new(&cfg).collect();
    let b: Vec<Mbp10Msg> = SynthSession::new(&cfg).collect();
    assert!(a.len() > 20_000);
    assert!(a == b);
    let c: Vec<Mbp10Msg> = SynthSession::new(&SynthConfig { seed: 43, ..cfg }).collect();
    assert!(a != c);
    let diff_prefix = a.iter().zip(&c).take(1000).filter(|(x, y)| x != y).count();
    assert!(diff_prefix > 900, "{diff_prefix}");
    // Multi-day runs too; and the first day of a 3-day run is the 1-day run.
    let multi = SynthConfig { days: 3, target_records: 10_000, ..cfg };
    let m1: Vec<Mbp10Msg> = SynthSession::new(&multi).collect();
    let m2: Vec<Mbp10Msg> = SynthSession::new(&multi).collect();
    assert!(m1 == m2);
    let one: Vec<Mbp10Msg> = SynthSession::new(&SynthConfig { days: 1, ..multi }).collect();
    assert!(m1.len() > 2 * one.len() && m1[..one.len()] == one[..]);
}

#[test]
fn accessors_and_calendar() {
    let s = SynthSession::new(&SynthConfig::default());
    assert_eq!(s.symbol(), "ESM4");
    let day = s.days()[0];
    assert_eq!(s.days().len(), 1);
    assert_eq!(day.date, Date { year: 2024, month: 3, day: 13 });
    assert_eq!(day.rth_open_ns, 1_710_336_600 * NS_PER_SEC); // 2024-03-13 13:30 UTC (CDT)
    assert_eq!(day.rth_close_ns - day.rth_open_ns, 23_400 * NS_PER_SEC);
    assert_eq!(s.start_ns(), (1_710_336_600 - 55_800) * NS_PER_SEC); // 17:00 CDT the day before
    assert_eq!(s.end_ns(), (1_710_336_600 + 24_300) * NS_PER_SEC); // 15:15 CDT
    assert_eq!((day.start_ns, day.end_ns), (s.start_ns(), s.end_ns()));
    assert_eq!(s.opening_price(), 5_000_000_000_000);
    assert_eq!(s.spx_spot_estimate(), 4_980_000_000_000);
    assert_eq!(s.instrument_id(), 4916);
    let cfg = SynthConfig {
        date: Date { year: 2024, month: 1, day: 10 },
        start_price: 4_783_130_000_000,
        target_records: 5_000,
        ..SynthConfig::default()
    };
    let w = SynthSession::new(&cfg);
    assert_eq!(w.symbol(), "ESH4");
    let open = (1_704_844_800 + 14 * 3600 + 1800) * NS_PER_SEC; // 14:30 UTC (CST)
    assert_eq!(w.days()[0].rth_open_ns, open);
    assert_eq!(w.start_ns(), open - 55_800 * NS_PER_SEC);
    assert_eq!(w.opening_price(), 4_783_250_000_000);
    let first = w.take(1).next().unwrap();
    assert_eq!(first.levels[0].bid_px, 4_783_250_000_000);
    // A weekend start date moves to the next trading day (Saturday 2024-03-16 → Monday).
    let sat = SynthSession::new(&SynthConfig { date: Date { year: 2024, month: 3, day: 16 }, ..cfg });
    assert_eq!(sat.days()[0].date, Date { year: 2024, month: 3, day: 18 });
}

#[test]
fn invalid_configs_are_refused() {
    let base = SynthConfig::default();
    // Dates that do not exist (the fields are public, so they can be written down).
    let date = |year, month, day| Date { year, month, day };
    let bad = [
        (SynthConfig { date: date(2023, 2, 29), ..base.clone() }, SynthError::InvalidDate(date(2023, 2, 29))),
        (SynthConfig { date: date(2024, 13, 1), ..base.clone() }, SynthError::InvalidDate(date(2024, 13, 1))),
        (SynthConfig { target_records: 0, ..base.clone() }, SynthError::InvalidTargetRecords(0)),
        (SynthConfig { days: 0, ..base.clone() }, SynthError::InvalidDays(0)),
        (SynthConfig { days: 61, ..base.clone() }, SynthError::InvalidDays(61)),
        (SynthConfig { start_price: 5, ..base.clone() }, SynthError::InvalidStartPrice(5)),
        (SynthConfig { vol_scale: f64::NAN, ..base.clone() }, SynthError::InvalidVolScale(f64::NAN)),
    ];
    for (cfg, err) in bad {
        let got = SynthSession::try_new(&cfg).unwrap_err();
        assert_eq!(got.to_string(), err.to_string());
    }
    assert!(SynthSession::try_new(&SynthConfig { days: 60, ..base.clone() }).is_ok());
    assert!(
        SynthSession::try_new(&SynthConfig { date: Date { year: 2024, month: 2, day: 29 }, ..base }).is_ok()
    );
}

/// A summary of `cfg` with the order-flow episodes switched off (the control of the episode
/// tests).
fn summarize_without_episodes(cfg: &SynthConfig) -> Summary {
    EPISODES_OFF.with(|c| c.set(true));
    let s = summarize(cfg);
    EPISODES_OFF.with(|c| c.set(false));
    s
}

fn friday() -> Date {
    Date { year: 2024, month: 3, day: 15 }
}

#[test]
fn multi_day_stream_skips_the_weekend_and_the_break() {
    let cfg =
        SynthConfig { seed: 8, date: friday(), days: 2, target_records: 40_000, ..SynthConfig::default() };
    let session = SynthSession::new(&cfg);
    let monday = Date { year: 2024, month: 3, day: 18 };
    let dates: Vec<Date> = session.days().iter().map(|d| d.date).collect();
    assert_eq!(dates, [friday(), monday]);
    // Monday's stream opens Sunday 17:00 CDT (22:00 UTC).
    let sunday_17 = Date { year: 2024, month: 3, day: 17 }.at_offset_ns(22, 0, 0);
    assert_eq!(Some(session.days()[1].start_ns), sunday_17);
    // Time order, invariants, session dates, no records in the daily break, all 7 phases.
    let s = summarize(&cfg);
    assert_eq!(s.session_dates, [friday(), monday]);
    assert_eq!(s.break_records, 0);
    assert!(s.phases.iter().all(|&n| n > 0), "records per phase {:?}", s.phases);
    for d in &s.days {
        let share = d.ext_records as f64 / d.records as f64;
        assert!(share > 0.03 && share < 0.12, "extended-hours share {share}");
        assert!(d.records > 28_000 && d.records < 60_000, "{} records", d.records);
    }
    // The price carries over: Monday opens near Friday's close (a small gap).
    let (fri, mon) = (&s.days[0], &s.days[1]);
    let gap = (mon.minute_mid[0] - fri.minute_mid[SESSION_MINUTES - 1]).abs();
    assert!(gap < 200.0, "gap {gap} ticks");
}

#[test]
fn episodes_make_large_prints_bursts_absorption_and_divergences() {
    let cfg = SynthConfig { seed: 5, days: 3, target_records: 150_000, ..SynthConfig::default() };
    let on = summarize(&cfg);
    let off = summarize_without_episodes(&cfg);
    println!(
        "on: large {} bursts {} absorption {} divergence {}; off: {} {} {} {}",
        on.prints.large,
        on.prints.large_bursts,
        on.absorption.episodes,
        on.divergence.strong,
        off.prints.large,
        off.prints.large_bursts,
        off.absorption.episodes,
        off.divergence.strong
    );
    let days = cfg.days as u64;
    assert!(on.prints.large_bursts >= 60 * days, "{} large bursts", on.prints.large_bursts);
    assert!(on.prints.large_bursts > 5 * off.prints.large_bursts.max(1));
    assert!(on.absorption.episodes >= 5 * days, "{} absorptions", on.absorption.episodes);
    assert!(on.absorption.episodes > 2 * off.absorption.episodes);
    assert!(on.divergence.strong >= 2 * days, "{} divergences", on.divergence.strong);
    assert!(2 * on.divergence.strong > 3 * off.divergence.strong);
}

#[test]
fn volatility_cycles_across_days_and_each_day_trends_and_ranges() {
    let cfg = SynthConfig { seed: 9, days: 10, target_records: 25_000, ..SynthConfig::default() };
    let s = summarize(&cfg);
    let rv: Vec<f64> = s.days.iter().map(|d| std_dev(&diffs(&d.minute_mid))).collect();
    let max = rv.iter().cloned().fold(0.0, f64::max);
    let min = rv.iter().cloned().fold(f64::MAX, f64::min);
    assert!(max >= 1.5 * min, "1-min RTH sd per day {rv:?}");
    for d in &s.days {
        efficiency_check(d);
    }
    assert_eq!(s.session_dates.len(), 10);
    assert_eq!(s.break_records, 0);
}

#[test]
fn small_sessions_hold_invariants_for_several_seeds() {
    for seed in [1, 2, 3, 99] {
        let s = summarize(&SynthConfig {
            seed,
            target_records: 60_000,
            vol_scale: 2.0,
            ..SynthConfig::default()
        });
        assert!(s.records > 45_000 && s.records < 75_000, "{}", s.records);
    }
}

#[test]
fn full_session_size_and_invariants() {
    let s = default_summary();
    let target = SynthConfig::default().target_records as f64;
    assert!(s.records as f64 > 0.8 * target && (s.records as f64) < 1.2 * target, "records {}", s.records);
    assert!(s.normalized_events >= 1_000_000, "normalized events {}", s.normalized_events);
    assert!(s.events > 500_000, "exchange events {}", s.events);
    // Every action type occurs; trades are a minority of records, as in real MBP-10 data.
    assert!(s.actions.iter().all(|&n| n > 1_000), "{:?}", s.actions);
    let trade_share = s.trade_records as f64 / s.records as f64;
    assert!(trade_share > 0.08 && trade_share < 0.35, "{trade_share}");
    // Mostly a one-tick market.
    assert!(s.spread_one as f64 > 0.8 * s.last_records as f64);
    // Realistic sizes: tens at the touch, a few hundred deeper.
    let top = s.top_size_sum as f64 / (2 * s.last_records) as f64;
    let deep = s.deep_size_sum as f64 / (2 * s.last_records) as f64;
    assert!((10.0..=150.0).contains(&top), "top {top}");
    assert!((100.0..=500.0).contains(&deep) && deep > 2.0 * top, "deep {deep}");
}

#[test]
fn trade_sizes_are_heavy_tailed() {
    for s in summaries() {
        trade_sizes_check(s);
    }
}

fn trade_sizes_check(s: &Summary) {
    let mut sizes = s.trade_sizes.clone();
    sizes.sort_unstable();
    let median = sizes[sizes.len() / 2];
    let max = *sizes.last().unwrap();
    let large = sizes.iter().filter(|&&q| q >= 50).count() as f64 / sizes.len() as f64;
    assert!(median <= 5, "median {median}");
    assert!(max >= 100, "max print {max}");
    assert!(s.max_order_size >= 300, "max aggressive order {}", s.max_order_size);
    assert!(large > 1e-4 && large < 0.02, "share of prints >= 50: {large}");
}

#[test]
fn one_minute_returns_are_fat_tailed_and_clustered() {
    let mut acs = Vec::new();
    for s in summaries() {
        acs.push(returns_check(&s.days[0]));
    }
    assert!(mean(&acs) > 0.1, "mean |r| lag-1 autocorrelation {acs:?}");
}

/// Checks one session's 1-minute returns; returns the lag-1 autocorrelation of |r|.
fn returns_check(s: &DayStats) -> f64 {
    let r = diffs(&s.minute_mid);
    let k = kurtosis(&r);
    assert!(k > 3.0 && k < 40.0, "kurtosis {k}");
    let abs: Vec<f64> = r.iter().map(|v| v.abs()).collect();
    let ac = corr(&abs[1..], &abs[..abs.len() - 1]);
    // Per session the estimate's sampling s.d. is ≈ 1/√1350 ≈ 0.027 (a day of 1-minute returns),
    // so one session may sit near 0.04 (seed 42 with trend waves: 0.042); the mean over the
    // sessions (the caller) must still exceed 0.1.
    assert!(ac > 0.03, "|r| lag-1 autocorrelation {ac}");
    // Session range of a plausible ES day: 10–150 points.
    let hi = s.minute_mid.iter().cloned().fold(f64::MIN, f64::max);
    let lo = s.minute_mid.iter().cloned().fold(f64::MAX, f64::min);
    let range_pts = (hi - lo) / 4.0;
    assert!((10.0..=150.0).contains(&range_pts), "range {range_pts} points");
    ac
}

#[test]
fn opening_burst_and_lunch_lull() {
    let mut vol_ratios = Vec::new();
    for s in summaries().iter().map(|s| &s.days[0]) {
        let open = s.minute_records[..30].iter().sum::<u64>() as f64 / 30.0;
        let lunch = s.minute_records[180..270].iter().sum::<u64>() as f64 / 90.0;
        assert!(open > 1.5 * lunch, "open {open}/min vs lunch {lunch}/min");
        let r = diffs(&s.minute_mid);
        vol_ratios.push(std_dev(&r[..30]) / std_dev(&r[180..269]));
    }
    // Volatility is noisier than activity (a lunchtime GARCH burst can happen): check the mean.
    assert!(mean(&vol_ratios) > 1.3, "open/lunch 1-min sd ratios {vol_ratios:?}");
}

#[test]
fn trending_and_ranging_stretches() {
    for s in summaries() {
        efficiency_check(&s.days[0]);
    }
}

fn efficiency_check(s: &DayStats) {
    // Efficiency ratio |net| / Σ|moves| of the 1-minute mids over each 30-minute window.
    let er: Vec<f64> = s
        .minute_mid
        .chunks(30)
        .map(|w| {
            let net = (w[w.len() - 1] - w[0]).abs();
            let path: f64 = w.windows(2).map(|p| (p[1] - p[0]).abs()).sum();
            net / path.max(1e-9)
        })
        .collect();
    let max = er.iter().cloned().fold(0.0, f64::max);
    let min = er.iter().cloned().fold(1.0, f64::min);
    assert!(max > 0.35 && min < 0.15, "efficiency ratios {er:?}");
}

#[test]
fn aggressor_flow_leads_price() {
    // The divergence and absorption episodes are, by design, stretches where flow does not
    // lead price, so the per-session lead is noisy (≈ 0.03–0.13): each session must show it,
    // and the mean over the seeds must be clear of zero.
    let mut nexts = Vec::new();
    for s in summaries() {
        let (same, next) = flow_corr(&s.days[0], 10);
        assert!(same > 0.2, "contemporaneous flow/return correlation {same}");
        assert!(next > 0.01, "flow → next-10s return correlation {next}");
        nexts.push(next);
    }
    assert!(mean(&nexts) > 0.04, "flow → next-10s return correlations {nexts:?}");
}

/// Prints the statistics used to calibrate the model; run with `--ignored --nocapture`.
#[test]
#[ignore]
fn print_calibration() {
    let seed = std::env::var("MIA_SYNTH_SEED").map_or(42, |v| v.parse().unwrap());
    let s = &summarize(&SynthConfig { seed, ..SynthConfig::default() });
    let d = &s.days[0];
    let r = diffs(&d.minute_mid);
    let abs: Vec<f64> = r.iter().map(|v| v.abs()).collect();
    let mut sizes = s.trade_sizes.clone();
    sizes.sort_unstable();
    println!(
        "records {} events {} normalized {} rec/event {:.3} actions A/C/M/T {:?}",
        s.records,
        s.events,
        s.normalized_events,
        s.records as f64 / s.events as f64,
        s.actions
    );
    println!(
        "1m sd {:.2} ticks, kurt {:.2}, acf|r| {:.3}, net move {:.1} ticks",
        std_dev(&r),
        kurtosis(&r),
        corr(&abs[1..], &abs[..abs.len() - 1]),
        d.minute_mid[389] - d.minute_mid[0]
    );
    for k in [1, 2, 5, 10, 30, 60] {
        let (a, b) = flow_corr(d, k);
        println!("flow corr {k}s: same {a:.3} next {b:.3}");
    }
    println!(
        "trade median {} p99 {} max {} max order {}",
        sizes[sizes.len() / 2],
        sizes[sizes.len() * 99 / 100],
        sizes[sizes.len() - 1],
        s.max_order_size
    );
    println!(
        "spread1 {:.3} top {:.1} deep {:.1}",
        s.spread_one as f64 / s.last_records as f64,
        s.top_size_sum as f64 / (2 * s.last_records) as f64,
        s.deep_size_sum as f64 / (2 * s.last_records) as f64
    );
    let mut big: Vec<(usize, f64)> = r.iter().cloned().enumerate().collect();
    big.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
    println!("largest 1-min moves (minute, ticks): {:?}", &big[..5]);
    let mids: Vec<String> = d.minute_mid.iter().step_by(15).map(|m| format!("{:.1}", m / 4.0)).collect();
    println!("mid every 15 min (points): {}", mids.join(" "));
    let rates: Vec<u64> = d.minute_records.iter().step_by(15).cloned().collect();
    println!("records/min every 15 min: {rates:?}");
    let r = diffs(&d.minute_mid);
    let open = d.minute_records[..30].iter().sum::<u64>() as f64 / 30.0;
    let lunch = d.minute_records[180..270].iter().sum::<u64>() as f64 / 90.0;
    let er: Vec<String> = d
        .minute_mid
        .chunks(30)
        .map(|w| {
            let path: f64 = w.windows(2).map(|p| (p[1] - p[0]).abs()).sum();
            format!("{:.2}", (w[w.len() - 1] - w[0]).abs() / path.max(1e-9))
        })
        .collect();
    println!(
        "open/lunch rate {:.2} vol {:.2}; ER {}",
        open / lunch,
        std_dev(&r[..30]) / std_dev(&r[180..269]),
        er.join(" ")
    );
    println!(
        "phases {:?} ext share {:.3} large prints {} bursts {} absorption {} divergences {}",
        s.phases,
        d.ext_records as f64 / d.records as f64,
        s.prints.large,
        s.prints.large_bursts,
        s.absorption.episodes,
        s.divergence.strong
    );
}

/// Generation speed; run in release: `cargo test --release -p mia-feeds synth::tests::speed
/// -- --ignored --nocapture`.
#[test]
#[ignore]
fn speed() {
    let cfg = SynthConfig::default();
    let mut best = f64::MAX;
    for _ in 0..3 {
        let t0 = std::time::Instant::now();
        let mut n = 0u64;
        let mut acc = 0u64;
        for r in SynthSession::new(&cfg) {
            n += 1;
            acc = acc.wrapping_add(r.levels[9].ask_sz as u64 ^ r.hd.ts_event);
        }
        let ns = t0.elapsed().as_nanos() as f64 / n as f64;
        best = best.min(ns);
        println!("{n} records, {ns:.1} ns/record (checksum {acc})");
    }
    println!("best {best:.1} ns/record");
}

#[test]
fn planted_episodes_are_off_by_default_and_labelled_when_on() {
    use super::episodes::{labels_csv, EpisodePattern, EpisodesConfig};
    let base = SynthConfig { target_records: 20_000, ..SynthConfig::default() };
    let plain: Vec<Mbp10Msg> = SynthSession::new(&base).collect();
    let off = SynthSession::new(&SynthConfig { episodes: EpisodesConfig { enabled: false }, ..base.clone() });
    assert!(off.episode_labels().is_empty());
    assert_eq!(off.collect::<Vec<_>>(), plain, "episodes off must leave the session unchanged");
    let cfg = SynthConfig { episodes: EpisodesConfig { enabled: true }, days: 2, ..base };
    let on = SynthSession::new(&cfg);
    let labels = on.episode_labels().to_vec();
    let days = on.days().to_vec();
    // Day 1: all five patterns (the chain of the default session has positive net GEX);
    // day 2: no gamma episodes (the snapshot is a day old).
    for p in EpisodePattern::ALL {
        assert!(labels.iter().any(|l| l.pattern == p && l.end_ns < days[0].end_ns), "{p:?} on day 1");
    }
    assert!(labels.iter().all(|l| l.pattern != EpisodePattern::GammaPin || l.end_ns < days[0].end_ns));
    assert!(labels.iter().all(|l| l.start_ns < l.end_ns && (l.dir == 1 || l.dir == -1)));
    assert_eq!(labels_csv(&labels).lines().count(), labels.len() + 1);
    let recs: Vec<Mbp10Msg> = on.collect();
    assert_ne!(recs, plain);
    // The wall's price rides on the pin and zone labels only.
    assert!(labels.iter().all(|l| l.level.is_some()
        == matches!(l.pattern, EpisodePattern::GammaPin | EpisodePattern::ConfluenceZone)));
    // The base-break episode: the market is quiet during the base and breaks in the label's
    // direction (mid change over the break window, the first bar after the base).
    let l = labels.iter().find(|l| l.pattern == EpisodePattern::BaseBreak).copied().expect("base break");
    let mid_at = |t: u64| {
        let r = recs.iter().find(|r| r.hd.ts_event >= t).expect("record after t");
        (r.levels[0].bid_px + r.levels[0].ask_px) / 2
    };
    let moved = mid_at(l.end_ns) - mid_at(l.start_ns);
    assert!(moved * i64::from(l.dir) > 10 * 250_000_000, "break moved {moved}");
}

/// About a third of the days are trend days (`P_TREND_DAY`), from the days' own stream; a
/// planted-episode run has none; the plan does not depend on anything but the seed.
#[test]
fn trend_days_are_drawn_per_day_from_their_own_stream() {
    let cfg = SynthConfig { days: 60, target_records: 2_000, ..SynthConfig::default() };
    let s = SynthSession::new(&cfg);
    let n = s.trend_days.iter().filter(|t| t.is_some()).count();
    assert!((12..=30).contains(&n), "{n} trend days of 60");
    for td in s.trend_days.iter().flatten() {
        assert!((15..=60).contains(&td.start_m) && (12_000..19_200).contains(&td.hold), "{td:?}");
    }
    let again = SynthSession::new(&SynthConfig { target_records: 50_000, ..cfg.clone() });
    let starts =
        |s: &SynthSession| s.trend_days.iter().map(|t| t.map(|t| (t.start_m, t.up))).collect::<Vec<_>>();
    assert_eq!(starts(&s), starts(&again), "the plan depends on the seed only");
    let mut planted = cfg.clone();
    planted.episodes.enabled = true;
    assert!(SynthSession::new(&planted).trend_days.iter().all(|t| t.is_none()));
}
