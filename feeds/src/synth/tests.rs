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

/// Streaming summary of a session; also checks every invariant on every record.
#[derive(Debug, Default)]
struct Summary {
    records: u64,
    events: u64,
    normalized_events: u64,
    trade_records: u64,
    trade_sizes: Vec<u32>,
    max_order_size: u32,
    /// Mid (ticks) at the end of each minute.
    minute_mid: Vec<f64>,
    minute_records: Vec<u64>,
    /// Per 1-second bucket: signed aggressor volume and closing mid.
    bucket_flow: Vec<i64>,
    bucket_mid: Vec<f64>,
    spread_one: u64,
    last_records: u64,
    top_size_sum: u64,
    deep_size_sum: u64,
    actions: [u64; 4],
}

fn summarize(cfg: &SynthConfig) -> Summary {
    let session = SynthSession::new(cfg);
    let (start, end) = (session.start_ns(), session.end_ns());
    let minutes = ((end - start) / (60 * NS_PER_SEC)) as usize;
    let buckets = ((end - start) / BUCKET_NS) as usize;
    let mut s = Summary {
        minute_mid: vec![f64::NAN; minutes],
        minute_records: vec![0; minutes],
        bucket_flow: vec![0; buckets],
        bucket_mid: vec![f64::NAN; buckets],
        ..Summary::default()
    };
    let open_mid = (session.opening_price() as f64 + 0.5 * ES_TICK as f64) / ES_TICK as f64;
    let mut prev: Option<Mbp10Msg> = None;
    let mut order_size = 0u32;
    for r in session {
        assert_eq!(r.hd.rtype, rtype::MBP_10);
        assert_eq!(r.hd.record_size(), std::mem::size_of::<Mbp10Msg>());
        assert_eq!((r.hd.instrument_id, r.hd.publisher_id), (cfg.instrument_id, cfg.publisher_id));
        let ts = r.hd.ts_event;
        assert!(ts >= start && ts < end, "ts outside the session: {r:?}");
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
        s.normalized_events += normalized_events(prev.as_ref(), &r);
        s.records += 1;
        let action = r.action as u8;
        s.actions[match action {
            b'A' => 0,
            b'C' => 1,
            b'M' => 2,
            _ => 3,
        }] += 1;
        if action == b'T' {
            s.trade_records += 1;
            s.trade_sizes.push(r.size);
            order_size += r.size;
            let b = ((ts - start) / BUCKET_NS) as usize;
            s.bucket_flow[b] += if book_side(r.side) == BID { i64::from(r.size) } else { -i64::from(r.size) };
        }
        let last = r.flags.raw() & LAST != 0;
        if last {
            s.max_order_size = s.max_order_size.max(order_size);
            order_size = 0;
            s.last_records += 1;
            let l0 = &r.levels[0];
            s.spread_one += u64::from(l0.ask_px - l0.bid_px == ES_TICK);
            s.top_size_sum += u64::from(l0.bid_sz + l0.ask_sz);
            s.deep_size_sum += u64::from(r.levels[9].bid_sz + r.levels[9].ask_sz);
            let mid = (l0.bid_px + l0.ask_px) as f64 * 0.5 / ES_TICK as f64;
            let m = ((ts - start) / (60 * NS_PER_SEC)) as usize;
            s.minute_mid[m] = mid;
            s.minute_records[m] += 1;
            s.bucket_mid[((ts - start) / BUCKET_NS) as usize] = mid;
        } else {
            s.minute_records[((ts - start) / (60 * NS_PER_SEC)) as usize] += 1;
        }
        prev = Some(r);
    }
    assert!(prev.is_some_and(|p| p.flags.raw() & LAST != 0), "session must end on a complete event");
    // Carry mids forward through empty intervals.
    let mut last = open_mid;
    for m in s.minute_mid.iter_mut().chain(std::iter::empty()) {
        if m.is_nan() {
            *m = last;
        }
        last = *m;
    }
    let mut last = open_mid;
    for m in s.bucket_mid.iter_mut() {
        if m.is_nan() {
            *m = last;
        }
        last = *m;
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
fn coarse(s: &Summary, k: usize) -> (Vec<f64>, Vec<f64>) {
    let flow = s.bucket_flow.chunks(k).map(|c| c.iter().sum::<i64>() as f64).collect();
    let mid = s.bucket_mid.chunks(k).map(|c| c[c.len() - 1]).collect();
    (flow, mid)
}

/// Correlations of bucket flow with the same bucket's and the next bucket's mid change.
fn flow_corr(s: &Summary, k: usize) -> (f64, f64) {
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
}

#[test]
fn accessors_and_calendar() {
    let s = SynthSession::new(&SynthConfig::default());
    assert_eq!(s.symbol(), "ESM4");
    assert_eq!(s.start_ns(), 1_710_336_600 * NS_PER_SEC); // 2024-03-13 13:30 UTC (CDT)
    assert_eq!(s.end_ns() - s.start_ns(), 23_400 * NS_PER_SEC);
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
    assert_eq!(w.start_ns(), (1_704_844_800 + 14 * 3600 + 1800) * NS_PER_SEC); // 14:30 UTC (CST)
    assert_eq!(w.opening_price(), 4_783_250_000_000);
    let first = w.take(1).next().unwrap();
    assert_eq!(first.levels[0].bid_px, 4_783_250_000_000);
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
        (SynthConfig { start_price: 5, ..base.clone() }, SynthError::InvalidStartPrice(5)),
        (SynthConfig { vol_scale: f64::NAN, ..base.clone() }, SynthError::InvalidVolScale(f64::NAN)),
    ];
    for (cfg, err) in bad {
        let got = SynthSession::try_new(&cfg).unwrap_err();
        assert_eq!(got.to_string(), err.to_string());
    }
    assert!(
        SynthSession::try_new(&SynthConfig { date: Date { year: 2024, month: 2, day: 29 }, ..base }).is_ok()
    );
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
        acs.push(returns_check(s));
    }
    assert!(mean(&acs) > 0.1, "mean |r| lag-1 autocorrelation {acs:?}");
}

/// Checks one session's 1-minute returns; returns the lag-1 autocorrelation of |r|.
fn returns_check(s: &Summary) -> f64 {
    let r = diffs(&s.minute_mid);
    let k = kurtosis(&r);
    assert!(k > 3.0, "kurtosis {k}");
    let abs: Vec<f64> = r.iter().map(|v| v.abs()).collect();
    let ac = corr(&abs[1..], &abs[..abs.len() - 1]);
    assert!(ac > 0.05, "|r| lag-1 autocorrelation {ac}");
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
    for s in summaries() {
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
        efficiency_check(s);
    }
}

fn efficiency_check(s: &Summary) {
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
    for s in summaries() {
        let (same, next) = flow_corr(s, 10);
        assert!(same > 0.2, "contemporaneous flow/return correlation {same}");
        assert!(next > 0.03, "flow → next-10s return correlation {next}");
    }
}

/// Prints the statistics used to calibrate the model; run with `--ignored --nocapture`.
#[test]
#[ignore]
fn print_calibration() {
    let seed = std::env::var("MIA_SYNTH_SEED").map_or(42, |v| v.parse().unwrap());
    let s = &summarize(&SynthConfig { seed, ..SynthConfig::default() });
    let r = diffs(&s.minute_mid);
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
        s.minute_mid[389] - s.minute_mid[0]
    );
    for k in [1, 2, 5, 10, 30, 60] {
        let (a, b) = flow_corr(s, k);
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
    let mids: Vec<String> = s.minute_mid.iter().step_by(15).map(|m| format!("{:.1}", m / 4.0)).collect();
    println!("mid every 15 min (points): {}", mids.join(" "));
    let rates: Vec<u64> = s.minute_records.iter().step_by(15).cloned().collect();
    println!("records/min every 15 min: {rates:?}");
    let r = diffs(&s.minute_mid);
    let open = s.minute_records[..30].iter().sum::<u64>() as f64 / 30.0;
    let lunch = s.minute_records[180..270].iter().sum::<u64>() as f64 / 90.0;
    let er: Vec<String> = s
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
