//! The features journal thread (`mia-features`, cold): it journals the signal stage's feature
//! snapshots (record kind 7) and, from the exec stage's trade marks, a **trade snapshot** at
//! every entry and exit (record kind 8, [`TradeSnapshot`]): the fill, the risk manager's state,
//! the signal that opened the trade and the latest feature snapshot at or before the fill
//! (feature vector, bar, gamma context: F10–F12 distances to the levels, gamma phase, OPEX
//! week, 0DTE share).
//!
//! **The join is deterministic.** The signal stage pushes the snapshots of input `s` into its
//! tap while it handles `s`, before `s` reaches the exec stage; the exec stage pushes the mark
//! of a fill at `s` after that. So once the thread has seen a mark (acquire), every snapshot
//! with `seq ≤ s` is in its ring: each pass first counts the marks waiting, then drains the
//! snapshots, then joins those marks (inline and threaded runs write the same records).

use mia_exec::exec_stage::TradeMark;
use mia_journal::trade::trade_flags;
use mia_journal::{
    unix_now_ns, JournalError, JournalStats, JournalWriter, Moment, SessionEnd, TradeSnapshot,
};
use mia_model::features::FeatureSnapshot;
use rtrb::Consumer;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Feature snapshots kept for the join (the exec stage lags the signal stage by at most a
/// ring of envelopes, during which only a few snapshots are taken).
const HISTORY: usize = 512;
const FLUSH_EVERY: Duration = Duration::from_millis(100);

/// The trade snapshot of `mark` with the latest of `history` at or before its input.
pub fn join(mark: &TradeMark, history: &VecDeque<FeatureSnapshot>) -> TradeSnapshot {
    let features = history.iter().rev().find(|s| s.seq <= mark.seq).copied();
    let mut flags = 0;
    if mark.signal.is_some() {
        flags |= trade_flags::SIGNAL;
    }
    if features.is_some() {
        flags |= trade_flags::FEATURES;
    }
    if mark.killed {
        flags |= trade_flags::KILLED;
    }
    TradeSnapshot {
        moment: if mark.exit { Moment::Exit } else { Moment::Entry },
        trade_no: mark.trade_no,
        seq: mark.seq,
        ts: mark.ts,
        price: mark.price,
        position: mark.position,
        net_pnl_nano: mark.net_pnl,
        day_pnl_nano: mark.day_pnl,
        consecutive_losses: mark.consecutive_losses,
        trades_today: mark.trades_today,
        exit_reason: mark.exit_reason,
        risk_state: mark.risk_state,
        risk_reason: mark.risk_reason,
        flags,
        signal: mark.signal.unwrap_or_default(),
        features: features.unwrap_or_default(),
    }
}

/// Starts the features journal thread over the snapshot and trade-mark rings. It stops when a
/// pass that began after `stop` was set (or after both producers went away) drained nothing,
/// then appends a `SessionEnd` and finishes the writer.
///
/// # Errors
/// The thread cannot start.
pub fn spawn_features_journal(
    writer: JournalWriter,
    snapshots: Consumer<FeatureSnapshot>,
    marks: Consumer<TradeMark>,
    stop: Arc<AtomicBool>,
) -> std::io::Result<JoinHandle<Result<JournalStats, JournalError>>> {
    std::thread::Builder::new()
        .name("mia-features".into())
        .spawn(move || run(writer, snapshots, marks, &stop))
}

fn run(
    mut w: JournalWriter,
    mut snaps: Consumer<FeatureSnapshot>,
    mut marks: Consumer<TradeMark>,
    stop: &AtomicBool,
) -> Result<JournalStats, JournalError> {
    let mut history: VecDeque<FeatureSnapshot> = VecDeque::with_capacity(HISTORY);
    let mut idle = 0u32;
    let mut last_flush = Instant::now();
    let (mut n_snaps, mut n_marks) = (0u64, 0u64);
    let reason = loop {
        let stopping = stop.load(Ordering::Acquire);
        let abandoned = snaps.is_abandoned() && marks.is_abandoned();
        let waiting = marks.slots();
        let mut drained = 0usize;
        while let Ok(s) = snaps.pop() {
            w.append_snapshot(&s)?;
            if history.len() == HISTORY {
                history.pop_front();
            }
            history.push_back(s);
            drained += 1;
            n_snaps += 1;
        }
        for _ in 0..waiting {
            let Ok(m) = marks.pop() else { break };
            w.append_trade(&join(&m, &history))?;
            drained += 1;
            n_marks += 1;
        }
        if drained > 0 {
            idle = 0;
            if last_flush.elapsed() >= FLUSH_EVERY {
                w.flush()?;
                last_flush = Instant::now();
            }
            continue;
        }
        if stopping {
            break "stop requested";
        }
        if abandoned {
            break "all producers gone";
        }
        idle = idle.saturating_add(1);
        if idle < 64 {
            std::hint::spin_loop();
        } else if idle < 128 {
            std::thread::yield_now();
        } else {
            std::thread::sleep(Duration::from_micros(200));
        }
    };
    let s = w.stats();
    w.append_session_end(&SessionEnd {
        events: s.events,
        signals: s.signals,
        orders: s.intents,
        fills: s.fills,
        unix_ns: unix_now_ns(),
        reason: reason.into(),
    })?;
    let mut stats = w.finish()?;
    stats.per_tap = vec![n_snaps, n_marks];
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mia_journal::{JournalConfig, JournalReader, JournalRecord};
    use mia_model::msg::{Direction, Signal};

    fn snap(seq: u64) -> FeatureSnapshot {
        FeatureSnapshot { seq, ts: seq * 10, mid: 5_000_000_000_000 + seq as i64, ..Default::default() }
    }

    #[test]
    fn join_takes_the_latest_snapshot_at_or_before_the_fill() {
        let history: VecDeque<_> = [snap(5), snap(9), snap(14)].into_iter().collect();
        let sig = Signal { seq: 8, direction: Direction::Short, tier: 2, ..Signal::default() };
        let m = TradeMark { seq: 12, trade_no: 3, signal: Some(sig), killed: true, ..TradeMark::default() };
        let t = join(&m, &history);
        assert_eq!(t.features().map(|f| f.seq), Some(9), "not the later one (seq 14)");
        assert_eq!(t.signal().map(|s| s.tier), Some(2));
        assert_eq!(
            (t.moment, t.trade_no, t.flags & trade_flags::KILLED),
            (Moment::Entry, 3, trade_flags::KILLED)
        );
        let early = join(&TradeMark { seq: 2, exit: true, ..TradeMark::default() }, &history);
        assert!(early.features().is_none() && early.signal().is_none());
        assert_eq!(early.moment, Moment::Exit);
    }

    #[test]
    fn the_thread_journals_snapshots_and_trade_snapshots() {
        let dir = tempfile::tempdir().expect("tmp");
        let jdir = dir.path().join("features");
        let w = JournalWriter::create(&jdir, JournalConfig::with_segment_size(1 << 16)).expect("writer");
        let (mut stx, srx) = rtrb::RingBuffer::new(16);
        let (mut mtx, mrx) = rtrb::RingBuffer::new(16);
        let stop = Arc::new(AtomicBool::new(false));
        let h = spawn_features_journal(w, srx, mrx, Arc::clone(&stop)).expect("spawn");
        stx.push(snap(3)).expect("push");
        stx.push(snap(7)).expect("push");
        mtx.push(TradeMark { seq: 8, trade_no: 1, ..TradeMark::default() }).expect("push");
        mtx.push(TradeMark { seq: 20, trade_no: 1, exit: true, net_pnl: -5, ..TradeMark::default() })
            .expect("push");
        stop.store(true, Ordering::Release);
        let stats = h.join().expect("join").expect("ok");
        assert_eq!((stats.snapshots, stats.trade_snapshots), (2, 2));
        let trades: Vec<TradeSnapshot> = JournalReader::open(&jdir)
            .expect("open")
            .filter_map(|r| match r {
                Ok(JournalRecord::Trade(t)) => Some(t),
                _ => None,
            })
            .collect();
        assert_eq!(trades.len(), 2);
        assert_eq!((trades[0].moment, trades[0].features().map(|f| f.seq)), (Moment::Entry, Some(7)));
        assert_eq!((trades[1].moment, trades[1].net_pnl_nano), (Moment::Exit, -5));
    }
}
