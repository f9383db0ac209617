//! L3 FIFO end to end: the synthetic session written as MBO (`mia gen --schema mbo`) and
//! backtested with `[sim.queue] model = "l3_fifo"`: the venue's queue runs from the raw MBO
//! records (the summary names it), the bracket targets rest and fill through it, and inline,
//! threaded and journal replay give the same digest, and every limit fill and queue position
//! equals the one an independent FIFO (`l3_oracle`: the DBN file read with the `dbn` crate, a
//! naive per-price queue book, the documented rules) computes for the whole session. On MBP
//! input the model falls back and the summary says so.

mod l3_oracle;

use std::collections::{HashMap, HashSet};
use std::path::Path;

use l3_oracle::{FillKey, Rule};
use mia_exec::queue::QueueModelKind;
use mia_exec::sim::{FillBuf, SimVenue};
use mia_model::msg::{Msg, OrderAction, OrderIntent};
use mia_runtime::pipeline::Schedule;
use mia_signal::strategy::registry::StrategyKind;
use mia_tools::app::config::Config;
use mia_tools::app::input::Input;
use mia_tools::app::session::{generate, run_session, GenSchema, RunMode, SessionOptions};
use mia_tools::app::summary::SessionSummary;

fn run(
    input: Input,
    mode: Schedule,
    out: Option<&Path>,
    config: Config,
    max_events: Option<u64>,
) -> SessionSummary {
    let opts = SessionOptions {
        input,
        config,
        mode: Some(mode),
        out: out.map(Path::to_path_buf),
        progress: false,
        run_mode: RunMode::Backtest,
        on_progress: None,
        max_events,
        pace: None,
        profile: None,
    };
    match run_session(&opts) {
        Ok(s) => s,
        Err(e) => panic!("run failed: {e:#}"),
    }
}

/// The random-entry baseline (brackets: a resting GTC limit target per trade) under `model`,
/// made to trade often: an entry chance at every 1-minute close, targets `target_ticks` away.
fn config_with(model: QueueModelKind, target_ticks: u32) -> Config {
    let mut c = Config::default();
    c.signal.strategy = StrategyKind::Random;
    // Many entries with near targets, and no risk stop: resting target limits that fill
    // through the queue model on any synthetic day (not only on a lucky one).
    c.signal.random.entry_probability = 0.5;
    c.signal.random.timeframe_min = 1;
    c.signal.random.target_ticks = target_ticks;
    c.risk = mia_exec::risk::RiskConfig::permissive();
    c.sim.queue.model = model;
    c
}

/// [`config_with`] with targets 6 ticks away (inside the 10 visible levels).
fn config(model: QueueModelKind) -> Config {
    config_with(model, 6)
}

fn venue_note(s: &SessionSummary) -> &str {
    s.notes.iter().find(|(k, _)| *k == "venue").map_or("", |(_, v)| v.as_str())
}

/// The venue's queue ahead of each limit order right after the event at which it came to rest
/// (`None`: it was not resting then), from a fresh `SimVenue` fed the market events of the
/// run's journal and `intents` after the event they were decided at, and that venue's fills of
/// the limit orders. `strict`: every intent must be taken (the run's own intents were).
fn venue_replay(
    run: &Path,
    cfg: &Config,
    intents: &[OrderIntent],
    limits: &HashSet<u64>,
    strict: bool,
) -> (HashMap<u64, Option<f64>>, Vec<FillKey>) {
    use mia_journal::{JournalReader, JournalRecord};
    let mut venue = SimVenue::new(cfg.sim.clone(), cfg.trading.instrument.spec()).with_fees(&cfg.fees);
    let mut buf = FillBuf::new();
    let (mut ahead, mut fills) = (HashMap::new(), Vec::new());
    let dir = run.join("journal");
    let mut r = JournalReader::open(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut k = 0;
    while let Some(rec) = r.next_record().unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let JournalRecord::Msg(Msg::Market(ev)) = rec else { continue };
        venue.on_market(&ev, &mut buf);
        for a in buf.acks().iter().filter(|a| limits.contains(&a.client_order_id)) {
            ahead.insert(a.client_order_id, venue.queue_ahead(a.client_order_id));
        }
        fills.extend(
            buf.fills()
                .iter()
                .filter(|f| limits.contains(&f.client_order_id))
                .map(|f| (f.client_order_id, f.seq, f.ts, f.price, f.qty)),
        );
        while k < intents.len() && intents[k].seq <= ev.seq {
            let i = &intents[k];
            assert_eq!(i.seq, ev.seq, "intent {k} decided at an event the journal does not have");
            if i.action == OrderAction::Cancel {
                venue.cancel(i.client_order_id);
            } else {
                let taken = venue.submit(i);
                assert!(!strict || taken.is_ok(), "the venue took intent {i:?} in the run: {taken:?}");
            }
            k += 1;
        }
    }
    (ahead, fills)
}

#[test]
fn an_mbo_session_backtests_with_l3_fifo_at_the_venue_and_replays_the_same() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mbo = dir.path().join("s1.mbo.dbn");
    generate(1, 1, GenSchema::Mbo, &mbo).expect("gen --schema mbo");
    let out = dir.path().join("bt");
    let cfg = config(QueueModelKind::L3Fifo);
    let a = run(Input::Dbn(mbo.clone()), Schedule::Inline, Some(&out), cfg.clone(), None);
    let note = venue_note(&a);
    assert!(note.contains("queue: l3_fifo (from ") && note.contains(" MBO records)"), "{note}");
    assert!(a.orders > 0 && a.fills > 0, "the baseline trades: {} orders", a.orders);
    let trades = std::fs::read_to_string(out.join("trades.csv")).expect("trades.csv");
    assert!(trades.lines().any(|l| l.ends_with(",target,") || l.contains(",target,")), "{trades}");

    let t = run(Input::Dbn(mbo.clone()), Schedule::Threaded, None, cfg.clone(), None);
    assert_eq!((a.events, a.digest.as_str()), (t.events, t.digest.as_str()), "threaded = inline");
    let j = run(Input::Journal(out.join("journal")), Schedule::Inline, None, cfg.clone(), None);
    assert_eq!((a.events, a.digest.as_str()), (j.events, j.digest.as_str()), "journal replay = backtest");
    assert!(venue_note(&j).contains("queue: l3_fifo (from "), "the journal carries the raw MBO records");

    // The independent FIFO (tools/tests/l3_oracle): MIA's fills of every limit order equal the
    // oracle's, on the whole session.
    let near = check_against_the_oracle(&mbo, &out, &cfg);
    assert!(near.fills > 0, "targets fill at their price through the L3 queue");
    // Scripted orders that the strategy does not make: partial fills, two orders at one price,
    // decreases, reprices, cancels.
    scripted_orders_fill_as_the_oracle_says(&mbo, &out, &cfg);

    // Targets 14 ticks away often rest beyond the 10 visible levels, where an L2 model joins
    // with an unknown queue and L3 counts what rests there: the venue uses the L3 figure.
    let far_out = dir.path().join("bt_far");
    let far_cfg = config_with(QueueModelKind::L3Fifo, 14);
    run(Input::Dbn(mbo.clone()), Schedule::Inline, Some(&far_out), far_cfg.clone(), None);
    let far = check_against_the_oracle(&mbo, &far_out, &far_cfg);
    assert!(far.l2_differs > 0, "some far targets rest where an L2 model would join with another queue");

    // The same input under risk_averse runs the L2 model on the same events.
    let ra = run(Input::Dbn(mbo), Schedule::Inline, None, config(QueueModelKind::RiskAverse), None);
    assert_eq!(ra.events, a.events);
    assert!(venue_note(&ra).contains("queue: risk_averse"), "{}", venue_note(&ra));
}

/// The comparison of the run in `run` (backtested from `mbo` with `cfg`) with the oracle; see
/// docs/execution.md, "Full-scale check against an independent FIFO".
fn check_against_the_oracle(mbo: &Path, run: &Path, cfg: &Config) -> Checked {
    use mia_exec::latency_model::LatencyModelKind;
    let lat = &cfg.sim.latency;
    assert!(
        lat.model == LatencyModelKind::Constant && lat.jitter_ns == 0,
        "the oracle replays a constant latency"
    );
    let recs = l3_oracle::read_mbo(mbo);
    let j = l3_oracle::read_journal(run, &recs);
    assert!(j.intents.windows(2).all(|w| w[0].seq <= w[1].seq), "intents in event order");
    let want = l3_oracle::replay(&recs, &j, lat.entry_ns, Rule::Documented);
    let mut actions = std::collections::BTreeMap::<char, u64>::new();
    for r in &recs {
        *actions.entry(char::from(r.action)).or_default() += 1;
    }
    eprintln!("l3 oracle: records by action {actions:?}");
    let limits: HashSet<u64> = want.limit_ids.iter().copied().collect();
    let skip: HashSet<u64> = want.marketable.iter().copied().collect();
    let mia: Vec<FillKey> = j
        .fills
        .iter()
        .filter(|f| limits.contains(&f.client_order_id) && !skip.contains(&f.client_order_id))
        .map(|f| (f.client_order_id, f.seq, f.ts, f.price, f.qty))
        .collect();
    let oracle: Vec<FillKey> = want.fills.iter().copied().filter(|f| !skip.contains(&f.0)).collect();
    eprintln!(
        "l3 oracle: {} records, {} intents, {} limit orders ({} marketable on arrival, left out), {} placements, \
         {} oracle fills, {} MIA fills, {} prints with an unknown aggressor",
        recs.len(),
        j.intents.len(),
        want.limit_ids.len(),
        want.marketable.len(),
        want.placements.len(),
        oracle.len(),
        mia.len(),
        want.unknown_aggressor_prints
    );
    assert!(!want.placements.is_empty() && !oracle.is_empty(), "the session rests and fills limit orders");
    assert_eq!(first_difference(&mia, &oracle), None, "MIA's limit fills (left) vs the oracle's (right)");

    // The queue ahead at placement: the venue's (replayed from the journal) is the oracle's
    // L3 ahead; where an L2 model would join with another value, it is not that one.
    let (ahead, replayed) = venue_replay(run, cfg, &j.intents, &limits, true);
    let mia_all: Vec<FillKey> = j
        .fills
        .iter()
        .filter(|f| limits.contains(&f.client_order_id))
        .map(|f| (f.client_order_id, f.seq, f.ts, f.price, f.qty))
        .collect();
    assert_eq!(replayed, mia_all, "the journal replay through a fresh venue gives the run's fills");
    let mut l2_differs = 0;
    for p in want.placements.iter().filter(|p| p.on_arrival) {
        let got = ahead.get(&p.client_order_id).copied().flatten();
        assert_eq!(
            got,
            p.ahead_end.map(|a| a as f64),
            "queue ahead of {} after it came to rest",
            p.client_order_id
        );
        if p.l2_join != Some(p.l3_ahead) {
            l2_differs += 1;
            assert_ne!(
                got,
                p.l2_join.map(|a| a as f64),
                "order {}: the L3 ahead is not the L2 join",
                p.client_order_id
            );
        }
    }
    eprintln!(
        "l3 oracle: {l2_differs} of {} placements join where an L2 model would use another queue ahead",
        want.placements.len()
    );
    if let Some(p) = want.placements.iter().find(|p| p.l2_join != Some(p.l3_ahead)) {
        eprintln!(
            "l3 oracle: e.g. order {} at {}: L3 ahead {}, L2 join {:?}",
            p.client_order_id, p.ts, p.l3_ahead, p.l2_join
        );
    }

    // The comparison detects a wrong FIFO: an oracle that joins at the front, or that also
    // advances on cancels behind, disagrees with MIA.
    for rule in [Rule::JoinFront, Rule::AdvanceOnCancelBehind] {
        let m = l3_oracle::replay(&recs, &j, lat.entry_ns, rule);
        let per_order =
            |fills: &[FillKey], id: u64| fills.iter().filter(|f| f.0 == id).copied().collect::<Vec<_>>();
        let mutated: Vec<FillKey> = m.fills.iter().copied().filter(|f| !skip.contains(&f.0)).collect();
        let differ =
            want.limit_ids.iter().filter(|&&id| per_order(&mia, id) != per_order(&mutated, id)).count();
        eprintln!(
            "l3 oracle: under {rule:?}, {differ} of {} limit orders fill differently",
            want.limit_ids.len()
        );
        assert!(differ > 0, "an oracle with {rule:?} must disagree with MIA");
    }
    Checked { fills: mia.len(), l2_differs }
}

/// Scripted limit orders (`l3_oracle::scripted`: 5 lots, partial fills, two orders at one
/// price, decreases, reprices, cancels) through a fresh L3 venue over the session's events (the
/// journal of `run`): the venue's fills equal the oracle's.
fn scripted_orders_fill_as_the_oracle_says(mbo: &Path, run: &Path, cfg: &Config) {
    let recs = l3_oracle::read_mbo(mbo);
    let mut j = l3_oracle::read_journal(run, &recs);
    j.intents = l3_oracle::scripted(&recs, &j);
    let want = l3_oracle::replay(&recs, &j, cfg.sim.latency.entry_ns, Rule::Documented);
    let limits: HashSet<u64> = want.limit_ids.iter().copied().collect();
    let skip: HashSet<u64> = want.marketable.iter().copied().collect();
    let (ahead, got) = venue_replay(run, cfg, &j.intents, &limits, false);
    let got: Vec<FillKey> = got.into_iter().filter(|f| !skip.contains(&f.0)).collect();
    let oracle: Vec<FillKey> = want.fills.iter().copied().filter(|f| !skip.contains(&f.0)).collect();
    let filled: HashSet<u64> = oracle.iter().map(|f| f.0).collect();
    let partial = oracle.iter().filter(|f| f.4 < 5).count();
    let shared = want
        .placements
        .windows(2)
        .filter(|w| w[0].ts == w[1].ts && w[0].on_arrival && w[1].on_arrival)
        .count();
    eprintln!(
        "l3 oracle, scripted: {} limit orders ({} marketable, left out), {} placements ({} rejoins), {} pairs at one \
         price, {} fills of {} orders ({} of fewer than 5 lots); venue {} fills",
        want.limit_ids.len(),
        skip.len(),
        want.placements.len(),
        want.placements.iter().filter(|p| !p.on_arrival).count(),
        shared,
        oracle.len(),
        filled.len(),
        partial,
        got.len()
    );
    assert!(
        oracle.len() > 50 && partial > 0 && shared > 0,
        "the script exercises fills, partial fills and shared prices"
    );
    assert_eq!(
        first_difference(&got, &oracle),
        None,
        "the venue's scripted fills (left) vs the oracle's (right)"
    );
    for p in want.placements.iter().filter(|p| p.on_arrival) {
        let a = ahead.get(&p.client_order_id).copied().flatten();
        assert_eq!(
            a,
            p.ahead_end.map(|a| a as f64),
            "queue ahead of scripted order {} after it came to rest",
            p.client_order_id
        );
    }
}

/// What [`check_against_the_oracle`] compared.
struct Checked {
    /// Limit fills (equal in MIA and the oracle).
    fills: usize,
    /// Placements where an L2 model would join with another queue ahead than L3.
    l2_differs: usize,
}

/// The first index where two fill lists differ, with both sides around it.
fn first_difference(a: &[FillKey], b: &[FillKey]) -> Option<(usize, Vec<FillKey>, Vec<FillKey>)> {
    let k = (0..a.len().max(b.len())).find(|&k| a.get(k) != b.get(k))?;
    let lo = k.saturating_sub(2);
    Some((
        k,
        a[lo.min(a.len())..(k + 3).min(a.len())].to_vec(),
        b[lo.min(b.len())..(k + 3).min(b.len())].to_vec(),
    ))
}

#[test]
fn on_mbp_input_l3_fifo_falls_back_and_the_summary_says_so() {
    let s = run(
        Input::Synthetic { seed: 1, days: 1 },
        Schedule::Inline,
        None,
        config(QueueModelKind::L3Fifo),
        Some(50_000),
    );
    let note = venue_note(&s);
    assert!(
        note.contains("queue: l3_fifo needs MBO input, this input has no MBO records: ran as risk_averse"),
        "{note}"
    );
}
