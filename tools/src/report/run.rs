//! Loading a run directory for the report: `trades.csv`, one streaming pass over the journal
//! (signals, new-order intents, fills, controls, the market's trade prints), the features
//! journal, `summary.txt` and `latency/`. Memory stays bounded on long runs: the prints are
//! aggregated into 1-minute points (last price, session VWAP and σ) for the charts, and kept
//! tick by tick only inside the trades' windows (entry → exit + the post-mortem window).

use super::trades::{read_trades, TradeFile};
use anyhow::Result;
use mia_journal::{JournalReader, JournalRecord};
use mia_model::contract::ContractSpec;
use mia_model::event::EventKind;
use mia_model::features::FeatureSnapshot;
use mia_model::msg::{Control, ControlKind, Envelope, Fill, Msg, OrderAction, OrderIntent, Signal};
use mia_model::price::to_f64;
use mia_runtime::stage::{Outbox, Stage};
use mia_signal::engine::profiles::ProfileName;
use mia_signal::market::vwap::SessionVwap;
use mia_signal::session::session_date;
use mia_signal::stage::SignalStage;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

const NS_PER_MIN: u64 = 60_000_000_000;
const HALF_HOUR_NS: u64 = 1_800_000_000_000;

/// Session date of `ts` as yyyymmdd.
pub fn session_yyyymmdd(ts: u64) -> u32 {
    let d = session_date(ts);
    (d.year.max(0) as u32) * 10_000 + u32::from(d.month) * 100 + u32::from(d.day)
}

/// One minute of the market (from the journal's trade prints).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MinutePoint {
    /// Time of the minute's last print (ns).
    pub ts: u64,
    /// Session date (yyyymmdd).
    pub session: u32,
    /// Last print of the minute (points).
    pub last: f64,
    /// Session VWAP after the minute (points; anchored at the session start, as F17's `eth`).
    pub vwap: f64,
    /// Volume-weighted σ of the session's prints (points).
    pub sigma: f64,
}

/// The gamma levels a run recorded.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GammaRecord {
    /// The `gamma (SPX): …` line of `summary.txt` as key/value pairs (SPX points), in order.
    pub spx: Vec<(String, f64)>,
    /// ES-price levels per session (from the features journal: `level = mid + dist · tick` of
    /// the first snapshot of the session with the distance valid and unclipped): zero gamma,
    /// call wall, put wall.
    pub es_by_session: Vec<(u32, [Option<f64>; 3])>,
}

impl GammaRecord {
    /// The ES levels of `session`, if recorded.
    pub fn es_levels(&self, session: u32) -> Option<[Option<f64>; 3]> {
        self.es_by_session.iter().find(|(s, _)| *s == session).map(|(_, l)| *l)
    }
}

/// Everything the report reads from one run.
#[derive(Debug)]
pub struct RunData {
    /// The run directory.
    pub dir: PathBuf,
    /// Short label (the directory name).
    pub label: String,
    /// `trades.csv`.
    pub trades: TradeFile,
    /// Signals, in order: the journal's, or, when it recorded none (the exec stage consumes
    /// them, so the output tap never sees one), those of a replay of the journal's inputs
    /// through a signal stage built from the journal's configuration.
    pub signals: Vec<Signal>,
    /// The signals were re-derived by a replay.
    pub signals_replayed: bool,
    /// New-order intents by client order id.
    pub intents: HashMap<u64, OrderIntent>,
    /// Fills, in order.
    pub fills: Vec<Fill>,
    /// Control inputs (kill, flatten, resume …), in order.
    pub controls: Vec<Control>,
    /// 1-minute market points.
    pub minutes: Vec<MinutePoint>,
    /// Trade prints `(ts, price)` inside the trades' windows, in time order.
    pub prints: Vec<(u64, f64)>,
    /// Feature snapshots, in order (empty when the run has no features journal).
    pub snapshots: Vec<FeatureSnapshot>,
    /// Trade snapshots journaled by the session (record kind 8; empty for a run made before
    /// they were journaled: the export then rebuilds them from the feature snapshots).
    pub trade_snapshots: Vec<mia_journal::TradeSnapshot>,
    /// Gamma levels.
    pub gamma: GammaRecord,
    /// The latency histograms (`latency/`), when present.
    pub latency: Option<mia_perf::LatencyReport>,
    /// The contract (from the journal's configuration; ES when unknown).
    pub contract: ContractSpec,
    /// Session dates covered by the run (market data, snapshots and trades), sorted.
    pub sessions: Vec<u32>,
    /// What could not be read (the report says so instead of failing).
    pub notes: Vec<String>,
}

impl Default for RunData {
    fn default() -> Self {
        Self {
            dir: PathBuf::new(),
            label: String::new(),
            trades: TradeFile::default(),
            signals: Vec::new(),
            signals_replayed: false,
            intents: HashMap::new(),
            fills: Vec::new(),
            controls: Vec::new(),
            minutes: Vec::new(),
            prints: Vec::new(),
            snapshots: Vec::new(),
            trade_snapshots: Vec::new(),
            gamma: GammaRecord::default(),
            latency: None,
            contract: ContractSpec::ES,
            sessions: Vec::new(),
            notes: Vec::new(),
        }
    }
}

/// Merged, sorted time windows.
struct Windows {
    w: Vec<(u64, u64)>,
}

impl Windows {
    fn new(mut w: Vec<(u64, u64)>) -> Self {
        w.sort_unstable();
        let mut merged: Vec<(u64, u64)> = Vec::with_capacity(w.len());
        for (a, b) in w {
            match merged.last_mut() {
                Some(last) if a <= last.1 => last.1 = last.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        Self { w: merged }
    }

    /// Whether `t` lies in a window (binary search).
    fn contains(&self, t: u64) -> bool {
        let i = self.w.partition_point(|w| w.1 < t);
        self.w.get(i).is_some_and(|w| w.0 <= t)
    }
}

/// Loads a run directory; `window_ns` is the post-mortem window after each exit.
///
/// # Errors
/// The directory has no `trades.csv`, or it is malformed. A missing or damaged journal,
/// features journal or latency folder is not an error: it becomes a note and the parts of the
/// report that need it say "not recorded".
pub fn load_run(dir: &Path, window_ns: u64) -> Result<RunData> {
    let trades_path = dir.join("trades.csv");
    if !trades_path.is_file() {
        anyhow::bail!("{}: not a run directory (no trades.csv)", dir.display());
    }
    let trades = read_trades(&trades_path)?;
    let label = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| dir.display().to_string());
    let mut run =
        RunData { dir: dir.to_path_buf(), label, trades, contract: ContractSpec::ES, ..RunData::default() };
    let windows =
        run.trades.trades.iter().map(|t| (t.entry_ts, t.exit_ts.saturating_add(window_ns))).collect();
    scan_journal(&mut run, Windows::new(windows));
    match crate::features_export::read_snapshots(dir) {
        Ok(s) => run.snapshots = s,
        Err(e) => run.notes.push(format!("features journal: {e:#}")),
    }
    run.trade_snapshots = read_trade_snapshots(&dir.join(crate::app::session::FEATURES_DIR));
    if !run.trade_snapshots.is_empty() {
        run.notes.push(format!(
            "trade snapshots: {} journaled (entry and exit of each trade, from the features journal)",
            run.trade_snapshots.len()
        ));
    }
    run.gamma = GammaRecord {
        spx: read_summary_gamma(&dir.join("summary.txt")),
        es_by_session: es_gamma_levels(&run.snapshots, run.contract.tick),
    };
    let lat = dir.join("latency");
    if lat.is_dir() {
        match mia_perf::LatencyReport::load(&lat) {
            Ok(r) => run.latency = Some(r),
            Err(e) => run.notes.push(format!("latency: {e}")),
        }
    } else {
        run.notes.push(format!("{}: no latency histograms", lat.display()));
    }
    let mut sessions: Vec<u32> = run.minutes.iter().map(|m| m.session).collect();
    sessions.extend(run.snapshots.iter().map(|s| s.session_date).filter(|d| *d != 0));
    sessions.extend(run.trades.trades.iter().map(|t| session_yyyymmdd(t.exit_ts)));
    sessions.sort_unstable();
    sessions.dedup();
    run.sessions = sessions;
    Ok(run)
}

/// The instrument of the journal's configuration (`[trading] instrument`).
fn contract_of(config_toml: &str) -> Option<ContractSpec> {
    let v: toml::Value = toml::from_str(config_toml).ok()?;
    ContractSpec::by_root(v.get("trading")?.get("instrument")?.as_str()?)
}

fn scan_journal(run: &mut RunData, windows: Windows) {
    let jdir = run.dir.join("journal");
    let mut reader = match JournalReader::open(&jdir) {
        Ok(r) => r,
        Err(e) => {
            run.notes.push(format!("journal: {e} (no signals, prices or post-mortem)"));
            return;
        }
    };
    let mut vwap = SessionVwap::default();
    let mut session = 0u32;
    let mut session_until = 0u64; // half-hour boundary up to which `session` is known
    let mut cur_min = u64::MAX;
    let mut last: Option<(u64, f64)> = None;
    let mut tick_known = false;
    let mut replay: Option<SignalStage> = None;
    let mut replayed: Vec<Signal> = Vec::new();
    let mut outbox = Outbox::new();
    loop {
        let rec = match reader.next_record() {
            Ok(Some(r)) => r,
            Ok(None) => break,
            Err(e) => {
                run.notes.push(format!("journal: {e} (read up to there)"));
                break;
            }
        };
        if let (Some(st), JournalRecord::Msg(msg)) = (replay.as_mut(), &rec) {
            if msg.is_input() {
                st.on_envelope(&Envelope { t0: 0, msg: *msg }, &mut outbox);
                replayed.extend(outbox.iter().filter_map(|e| match e.msg {
                    Msg::Signal(s) => Some(s),
                    _ => None,
                }));
                outbox.clear();
            }
        }
        match rec {
            JournalRecord::Meta(m) if !tick_known => {
                if let Some(c) = contract_of(&m.config_toml) {
                    run.contract = c;
                }
                tick_known = true;
                match signal_replay(&m.config_toml, &jdir) {
                    Ok(st) => replay = Some(st),
                    Err(e) => run.notes.push(format!("signals: cannot replay the journal's inputs: {e:#}")),
                }
            }
            JournalRecord::Msg(Msg::Market(e)) if e.kind == EventKind::Trade && e.size > 0 && e.price > 0 => {
                let ts = e.ts_recv;
                let tick = run.contract.tick;
                let px = to_f64(e.price);
                if ts >= session_until || ts + HALF_HOUR_NS < session_until {
                    let d = session_yyyymmdd(ts);
                    session_until = (ts / HALF_HOUR_NS + 1) * HALF_HOUR_NS;
                    if d != session {
                        if let Some(p) = minute_point(last, session, &vwap, tick) {
                            run.minutes.push(p);
                        }
                        last = None;
                        cur_min = u64::MAX;
                        session = d;
                        vwap.reset();
                    }
                }
                let m = ts / NS_PER_MIN;
                if m != cur_min {
                    if let Some(p) = minute_point(last, session, &vwap, tick) {
                        run.minutes.push(p);
                    }
                    cur_min = m;
                }
                vwap.add(e.price, e.size, tick.max(1));
                last = Some((ts, px));
                if windows.contains(ts) {
                    run.prints.push((ts, px));
                }
            }
            JournalRecord::Msg(Msg::Signal(s)) => {
                // the session journaled its signals: no replay needed
                run.signals.push(s);
                replay = None;
            }
            JournalRecord::Msg(Msg::Intent(i)) if i.action == OrderAction::New => {
                run.intents.insert(i.client_order_id, i);
            }
            JournalRecord::Msg(Msg::Fill(f)) => run.fills.push(f),
            JournalRecord::Msg(Msg::Control(c)) if c.kind != ControlKind::GammaPublished => {
                run.controls.push(c)
            }
            _ => {}
        }
    }
    if let Some(p) = minute_point(last, session, &vwap, run.contract.tick) {
        run.minutes.push(p);
    }
    let rec = reader.recovery();
    if let (Some((path, off)), Some(reason)) = (&rec.torn_at, &rec.reason) {
        run.notes.push(format!(
            "journal: {}: offset {off}: {reason} (the {} records before it were read)",
            path.display(),
            rec.records
        ));
    }
    // Prints arrive in journal order, which is time order within a feed; make sure.
    run.prints.sort_by_key(|p| p.0);
    if run.signals.is_empty() && replay.is_some() {
        run.signals = replayed;
        run.signals_replayed = true;
        // Every trade's entry order must have a signal at its input: otherwise the replay does
        // not reproduce the run (e.g. a `--profile` other than backtest, which is not journaled).
        run.signals.sort_by_key(|s| s.seq);
        let entry_seqs: Vec<u64> = run
            .trades
            .trades
            .iter()
            .filter_map(|t| {
                run.fills
                    .iter()
                    .filter(|f| f.ts == t.entry_ts)
                    .find_map(|f| run.intents.get(&f.client_order_id))
            })
            .map(|i| i.seq)
            .collect();
        let explained =
            entry_seqs.iter().filter(|q| run.signals.binary_search_by_key(*q, |s| s.seq).is_ok()).count();
        if explained < entry_seqs.len() {
            run.notes.push(format!(
                "signals: not journaled; the replay of the journal's inputs (profile backtest) explains {explained} of the {} trade entries: the run's profile may differ, signal fields may be wrong",
                entry_seqs.len()
            ));
        } else {
            run.notes.push(format!(
                "signals: not journaled; re-derived by replaying the journal's inputs through the signal stage ({} signals; the entry order of every one of the {} trades explained)",
                run.signals.len(),
                entry_seqs.len()
            ));
        }
    }
    if !run.signals_replayed && !run.signals.is_empty() {
        run.notes
            .push(format!("signals: journaled ({} signals, as the session emitted them)", run.signals.len()));
    }
    run.signals.sort_by_key(|s| s.seq);
}

/// The trade snapshots of a features journal (none when it has none or cannot be read; the
/// feature snapshots' reader reports a damaged journal).
fn read_trade_snapshots(dir: &Path) -> Vec<mia_journal::TradeSnapshot> {
    let Ok(reader) = JournalReader::open(dir) else { return Vec::new() };
    reader
        .map_while(|r| r.ok())
        .filter_map(|r| match r {
            JournalRecord::Trade(t) => Some(t),
            _ => None,
        })
        .collect()
}

impl RunData {
    /// The journaled trade snapshot at `moment` of the trade whose entry (exit) fill was at
    /// `ts`.
    pub fn trade_snapshot(
        &self,
        moment: mia_journal::Moment,
        ts: u64,
    ) -> Option<&mia_journal::TradeSnapshot> {
        self.trade_snapshots.iter().find(|t| t.moment == moment && t.ts == ts)
    }
}

/// A signal stage built as the run built it: the journal's configuration, profile backtest,
/// and the opening gamma snapshot of the journal's `chain.csv` when there is one.
fn signal_replay(config_toml: &str, jdir: &Path) -> Result<SignalStage> {
    let cfg = crate::app::config::Config::from_toml(config_toml, "the journal's configuration")?;
    let mut st =
        SignalStage::new(&cfg.signal_stage(ProfileName::Backtest), cfg.trading.instrument.spec().tick);
    let chain = jdir.join(crate::app::input::CHAIN_FILE);
    if let Ok(text) = std::fs::read_to_string(&chain) {
        st.open_with_gamma(crate::app::gamma::gamma_levels(&chain.display().to_string(), &text)?);
    }
    Ok(st)
}

fn minute_point(
    last: Option<(u64, f64)>,
    session: u32,
    vwap: &SessionVwap,
    tick: i64,
) -> Option<MinutePoint> {
    let (ts, px) = last?;
    let (_, sigma_ticks) = vwap.ticks()?;
    Some(MinutePoint {
        ts,
        session,
        last: px,
        vwap: vwap.vwap_points(tick.max(1))?,
        sigma: sigma_ticks * to_f64(tick),
    })
}

/// Reads the `gamma (SPX): key value key value …` line of a summary.
fn read_summary_gamma(path: &Path) -> Vec<(String, f64)> {
    let Ok(text) = std::fs::read_to_string(path) else { return Vec::new() };
    parse_gamma_line(&text)
}

/// The numeric key/value pairs of the first `gamma (SPX):` line of `text`.
pub fn parse_gamma_line(text: &str) -> Vec<(String, f64)> {
    let Some(line) = text.lines().find_map(|l| l.strip_prefix("gamma (SPX):")) else { return Vec::new() };
    let words: Vec<&str> = line.split_whitespace().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i + 1 < words.len() {
        match words[i + 1].parse::<f64>() {
            Ok(v) if v.is_finite() && words[i].parse::<f64>().is_err() => {
                out.push((words[i].trim_end_matches(':').to_string(), v));
                i += 2;
            }
            _ => i += 1,
        }
    }
    out
}

/// ES-price gamma levels per session from the options distances of the snapshots.
fn es_gamma_levels(snaps: &[FeatureSnapshot], tick: i64) -> Vec<(u32, [Option<f64>; 3])> {
    use mia_model::features::FeatureId;
    const IDS: [FeatureId; 3] =
        [FeatureId::ZeroGammaDistance, FeatureId::CallWallDistance, FeatureId::PutWallDistance];
    // F10–F12 are clipped at ±clip_ticks (default 2000); a clipped value is no level.
    const CLIP_GUARD: f32 = 1999.5;
    let tick = to_f64(tick);
    let mut out: Vec<(u32, [Option<f64>; 3])> = Vec::new();
    for s in snaps {
        if s.mid == 0 || s.session_date == 0 {
            continue;
        }
        let mid = to_f64(s.mid);
        let idx = match out.iter().position(|(d, _)| *d == s.session_date) {
            Some(i) => i,
            None => {
                out.push((s.session_date, [None; 3]));
                out.len() - 1
            }
        };
        for (k, id) in IDS.iter().enumerate() {
            if out[idx].1[k].is_none() {
                if let Some(d) = s.vector.get(*id).filter(|d| d.abs() < CLIP_GUARD) {
                    out[idx].1[k] = Some(mid + f64::from(d) * tick);
                }
            }
        }
    }
    out.retain(|(_, l)| l.iter().any(Option::is_some));
    out
}

/// The latest snapshot at or before `ts` (snapshots sorted by time).
pub fn snapshot_at(snaps: &[FeatureSnapshot], ts: u64) -> Option<&FeatureSnapshot> {
    let i = snaps.partition_point(|s| s.ts <= ts);
    i.checked_sub(1).and_then(|i| snaps.get(i))
}

/// The prints in `(from, to]` (prints sorted by time).
pub fn prints_between(prints: &[(u64, f64)], from: u64, to: u64) -> &[(u64, f64)] {
    let a = prints.partition_point(|p| p.0 <= from);
    let b = prints.partition_point(|p| p.0 <= to);
    &prints[a..b.max(a)]
}

/// One line saying what a loaded run holds.
pub fn describe(run: &RunData) -> String {
    format!(
        "{}: {} trades, {} signals, {} fills, {} minutes of prices, {} snapshots, {} sessions",
        run.dir.display(),
        run.trades.trades.len(),
        run.signals.len(),
        run.fills.len(),
        run.minutes.len(),
        run.snapshots.len(),
        run.sessions.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_merge_and_answer_in_time_order() {
        let w = Windows::new(vec![(50, 60), (10, 20), (15, 30)]);
        assert_eq!(w.w, vec![(10, 30), (50, 60)]);
        let got: Vec<bool> = [5, 10, 25, 30, 31, 49, 55, 61].iter().map(|&t| w.contains(t)).collect();
        assert_eq!(got, [false, true, true, true, false, false, true, false]);
    }

    #[test]
    fn gamma_line_parses_numbers_by_key() {
        let s = "x\ngamma (SPX): spot 4980.00 zero_gamma 4959.18 call_wall 5000.00 put_wall 4900.00 max_pain 4975.00 net_gex_bn_per_pct 5.06  vetoed_entries: 0  stale_evals: 2030578\n";
        let g = parse_gamma_line(s);
        assert_eq!(g[0], ("spot".to_string(), 4980.0));
        assert_eq!(g[1], ("zero_gamma".to_string(), 4959.18));
        assert!(g.iter().any(|(k, v)| k == "vetoed_entries" && *v == 0.0));
        assert!(parse_gamma_line("no gamma here").is_empty());
    }

    #[test]
    fn snapshot_and_print_lookups() {
        let snaps: Vec<FeatureSnapshot> =
            [10u64, 20, 30].iter().map(|&ts| FeatureSnapshot { ts, ..FeatureSnapshot::default() }).collect();
        assert_eq!(snapshot_at(&snaps, 5), None);
        assert_eq!(snapshot_at(&snaps, 20).map(|s| s.ts), Some(20));
        assert_eq!(snapshot_at(&snaps, 29).map(|s| s.ts), Some(20));
        let prints = [(1, 1.0), (2, 2.0), (3, 3.0), (4, 4.0)];
        assert_eq!(prints_between(&prints, 1, 3), &prints[1..3]);
        assert!(prints_between(&prints, 4, 9).is_empty());
    }

    #[test]
    fn a_missing_trades_file_names_the_directory() {
        let d = tempfile::tempdir().expect("tempdir");
        let e = load_run(d.path(), 0).expect_err("no trades.csv");
        assert!(e.to_string().contains("no trades.csv"), "{e}");
    }
}
