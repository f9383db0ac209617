//! Determinism proofs: the same input always gives the same decisions, in both pipeline modes
//! and through every path back into the pipeline (journal, generated DBN file).

mod common;
use mia_model::features::{FeatureSnapshot, SnapshotKind, SNAPSHOT_LEN};
use mia_runtime::pipeline::Schedule;
use mia_tools::app::config::Config;
use mia_tools::app::input::Input;
use mia_tools::app::session::{generate_dbn, run_session, RunMode, SessionOptions};
use mia_tools::app::summary::SessionSummary;
use mia_tools::features_export::read_snapshots;
use std::path::Path;

fn run(input: Input, mode: Schedule, out: Option<&Path>) -> SessionSummary {
    run_with(input, mode, out, common::threshold_config())
}

fn run_with(input: Input, mode: Schedule, out: Option<&Path>, config: Config) -> SessionSummary {
    let opts = SessionOptions {
        input,
        config,
        mode: Some(mode),
        out: out.map(Path::to_path_buf),
        progress: false,
        run_mode: RunMode::Backtest,
        on_progress: None,
        max_events: None,
        pace: None,
        profile: None,
    };
    match run_session(&opts) {
        Ok(s) => s,
        Err(e) => panic!("run failed: {e:#}"),
    }
}

#[test]
fn synthetic_session_is_deterministic_and_modes_agree() {
    let a = run(Input::Synthetic { seed: 1, days: 1 }, Schedule::Inline, None);
    assert!(a.events >= 1_000_000, "default session has {} events", a.events);
    assert!(a.orders > 0 && a.fills > 0, "the strategy must trade: {} orders", a.orders);
    let b = run(Input::Synthetic { seed: 1, days: 1 }, Schedule::Inline, None);
    assert_eq!(a.digest, b.digest, "same seed twice");
    assert_eq!(a.net_pnl_usd, b.net_pnl_usd);
    let t = run(Input::Synthetic { seed: 1, days: 1 }, Schedule::Threaded, None);
    assert_eq!(a.digest, t.digest, "threaded = inline");
    assert_eq!((a.events, a.orders, a.fills), (t.events, t.orders, t.fills));
    let mut fused = common::threshold_config();
    fused.pipeline.fuse_same_core = true;
    fused.pipeline.cores = vec![0, 1, 1];
    let f = run_with(Input::Synthetic { seed: 1, days: 1 }, Schedule::Threaded, None, fused);
    assert_eq!(a.digest, f.digest, "threaded with the two stages fused on one thread = inline");
    assert_eq!(f.latency.names().count(), 3, "per-stage histograms survive fusion");
    let other = run(Input::Synthetic { seed: 2, days: 1 }, Schedule::Inline, None);
    assert_ne!(a.digest, other.digest, "another seed trades differently");
}

#[test]
fn generated_dbn_and_journal_replay_give_the_backtest_digest() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("bt");
    let bt = run(Input::Synthetic { seed: 3, days: 1 }, Schedule::Inline, Some(&out));
    assert!(bt.journal_records >= bt.events + bt.orders + bt.fills, "journal holds events and decisions");
    assert!(out.join("trades.csv").is_file() && out.join("latency").is_dir());
    let walls =
        |s: &SessionSummary| s.gamma.map(|g| (g.spot, g.zero_gamma, g.call_wall, g.put_wall, g.max_pain));
    assert!(bt.gamma.is_some(), "the synthetic session carries an SPX chain");

    // gen → DBN → replay (inline and threaded)
    let dbn = dir.path().join("s3.dbn");
    generate_dbn(3, 1, &dbn).expect("gen");
    let r = run(Input::Dbn(dbn.clone()), Schedule::Inline, None);
    assert_eq!((r.events, r.digest.as_str()), (bt.events, bt.digest.as_str()), "DBN replay = backtest");
    assert_eq!(walls(&r), walls(&bt), "the chain written beside the DBN file gives the same levels");
    let rt = run(Input::Dbn(dbn), Schedule::Threaded, None);
    assert_eq!(rt.digest, bt.digest, "DBN threaded replay = backtest");

    // journal → replay, with its own features journal
    let rp = dir.path().join("rp");
    let j = run(Input::Journal(out.join("journal")), Schedule::Threaded, Some(&rp));
    assert_eq!((j.events, j.digest.as_str()), (bt.events, bt.digest.as_str()), "journal replay = backtest");
    assert_eq!(walls(&j), walls(&bt), "the journal keeps the session's chain");

    // the feature snapshots of the backtest and of its replay are byte-identical
    let a = read_snapshots(&out).expect("backtest snapshots");
    let b = read_snapshots(&rp).expect("replay snapshots");
    assert!(a.len() > 300, "a 1-minute close snapshot per minute, plus signals: {}", a.len());
    assert!(
        a.iter().any(|s| s.kind == SnapshotKind::Signal as u32)
            && a.iter().any(|s| s.kind == SnapshotKind::MinuteClose as u32)
    );
    let bytes = |v: &[FeatureSnapshot]| {
        v.iter()
            .flat_map(|s| {
                let mut buf = [0u8; SNAPSHOT_LEN];
                s.encode(&mut buf);
                buf
            })
            .collect::<Vec<u8>>()
    };
    assert_eq!(bytes(&a), bytes(&b), "features journal of the replay = of the backtest");
    let csv = dir.path().join("f.csv");
    mia_tools::features_export::run(&out, Some(&csv)).expect("export");
    let text = std::fs::read_to_string(&csv).expect("csv");
    let mut lines = text.lines();
    let header = lines.next().expect("header");
    assert!(header.contains("obi") && header.contains("efficiency_ratio") && header.split(',').count() == 37);
    assert_eq!(lines.count(), a.len());
}

/// A config that trades on almost any book: the tiny real samples then make decisions, so the
/// digests compared below are of non-empty decision streams.
fn eager() -> Config {
    let mut c = common::threshold_config();
    c.signal.threshold.obi_entry = 0.01;
    c.signal.threshold.delta_entry = 0;
    c.signal.threshold.obi_exit = 0.0;
    c.signal.threshold.delta_exit = 0;
    c.signal.threshold.cooldown_ms = 0;
    c.sanity.max_jump_ticks = 0;
    c
}

#[test]
fn real_dbn_files_run_the_same_in_both_modes() {
    let base = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/dbn/");
    let empty = mia_runtime::digest::DecisionDigest::new().hex();
    let mut trading_files = 0;
    for f in [
        "test_data.mbo.dbn",
        "test_data.mbp-1.dbn",
        "test_data.mbp-10.dbn",
        "test_data.trades.dbn",
        "test_data.tbbo.dbn",
    ] {
        let p = Path::new(base).join(f);
        let i = run_with(Input::Dbn(p.clone()), Schedule::Inline, None, eager());
        let t = run_with(Input::Dbn(p), Schedule::Threaded, None, eager());
        // The MBO sample holds two cancels of orders placed before the file starts: no book
        // change, hence no event; every other sample yields events.
        assert!(i.events > 0 || f.contains("mbo"), "{f}");
        assert_eq!(i.digest, t.digest, "{f}");
        assert_eq!((i.events, i.orders), (t.events, t.orders), "{f}");
        if i.orders > 0 {
            trading_files += 1;
            assert_ne!(i.digest, empty, "{f}: a run that ordered has a non-empty digest");
        }
    }
    assert!(trading_files >= 3, "mbp-1, mbp-10 and tbbo must trade under the eager config");
}

/// The signal engine (`[signal] strategy = "elite"`) runs the whole session: a decision at
/// every 5-minute close, the same decisions inline and threaded, its stats written beside the
/// run.
#[test]
fn signal_engine_runs_the_same_in_both_modes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = Config::default();
    cfg.signal.strategy = mia_signal::strategy::registry::StrategyKind::Elite;
    let a = run_with(
        Input::Synthetic { seed: 65, days: 1 },
        Schedule::Inline,
        Some(&dir.path().join("a")),
        cfg.clone(),
    );
    let b = run_with(
        Input::Synthetic { seed: 65, days: 1 },
        Schedule::Threaded,
        Some(&dir.path().join("b")),
        cfg.clone(),
    );
    assert_eq!(a.digest, b.digest, "threaded = inline");
    // and the journal of the inline run, replayed through the engine, decides the same
    let r = run_with(
        Input::Journal(dir.path().join("a").join("journal")),
        Schedule::Inline,
        Some(&dir.path().join("r")),
        cfg,
    );
    assert_eq!((r.events, r.digest.as_str()), (a.events, a.digest.as_str()), "journal replay = backtest");
    assert!(
        a.orders >= 3 && a.fills >= 2,
        "the digest covers the engine's bracket: {} orders, {} fills",
        a.orders,
        a.fills
    );
    // The default day (seed 65): the engine enters once, so the digest hashes its bracket's
    // intents and fills; every decision, detection, statistic and the round trip must be
    // identical too.
    for f in ["decisions.csv", "detections.csv", "engine_stats.csv", "trades.csv"] {
        let read = |d: &str| std::fs::read_to_string(dir.path().join(d).join(f)).expect(f);
        assert_eq!(read("a"), read("b"), "{f}: threaded = inline");
        assert_eq!(read("a"), read("r"), "{f}: journal replay = backtest");
    }
    assert!(
        std::fs::read_to_string(dir.path().join("a").join("detections.csv"))
            .expect("detections")
            .lines()
            .count()
            > 20,
        // ≈ 30 on this day since the headfake and microstructure departures (docs/strategy.md)
        "the engine detects patterns on a synthetic day"
    );
    let stats =
        std::fs::read_to_string(dir.path().join("a").join("engine_stats.csv")).expect("engine_stats.csv");
    let decisions: u64 = stats
        .lines()
        .find_map(|l| l.strip_prefix("total,decisions,"))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    // one per 5-minute bar of the synthetic day (17:00 CT to 15:15 CT: 266 bars)
    assert!((250..=270).contains(&decisions), "{decisions} decisions");
    assert!(stats.contains("reject,"), "rejections by reason are counted");
    // generated = executed: the entry's fill is counted under its tier (by the exec stage)
    let sum = |group: &str| -> u64 {
        stats
            .lines()
            .filter(|l| l.starts_with(group))
            .filter_map(|l| l.rsplit(',').next()?.parse::<u64>().ok())
            .sum()
    };
    assert!(sum("tier,") >= 1, "the engine enters on the default day");
    assert_eq!(sum("executed_tier,"), sum("tier,"), "every entry executed: {stats}");
}

/// Rehearsing bar closes on the understudy (`[signal] rehearse_lead_ms`, on by default) only
/// moves code and data into cache: the engine's day decides exactly the same with it off.
#[test]
fn rehearsing_bar_closes_changes_no_output() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut on = Config::default();
    on.signal.strategy = mia_signal::strategy::registry::StrategyKind::Elite;
    assert!(on.signal.rehearse_lead_ms > 0, "rehearsal is on by default");
    let mut off = on.clone();
    off.signal.rehearse_lead_ms = 0;
    let input = || Input::Synthetic { seed: 65, days: 1 };
    let a = run_with(input(), Schedule::Inline, Some(&dir.path().join("on")), on);
    let b = run_with(input(), Schedule::Inline, Some(&dir.path().join("off")), off);
    assert_eq!(a.digest, b.digest, "digest with and without rehearsal");
    // It did run, at most once per close instant (every close instant is a 1-minute close).
    // Only closes with an event in the 250 ms before them are asked for: 551 of this day's
    // 1,334 (overnight minutes are often quiet then), so the floor is a quarter.
    assert_eq!(b.rehearsals, 0, "off means off");
    assert!(
        a.rehearsals * 4 > a.bars[0] && a.rehearsals <= a.bars[0],
        "{} rehearsals for {} 1-minute closes",
        a.rehearsals,
        a.bars[0]
    );
    assert!(a.orders >= 3, "the day trades, so the digest covers a bracket");
    for f in ["decisions.csv", "detections.csv", "engine_stats.csv", "trades.csv"] {
        let read = |d: &str| std::fs::read_to_string(dir.path().join(d).join(f)).expect(f);
        assert_eq!(read("on"), read("off"), "{f}: rehearsal on = off");
    }
}
