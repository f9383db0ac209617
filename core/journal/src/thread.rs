//! The cold journal thread: drains SPSC tap rings of [`Envelope`]s (or of any other
//! [`Journaled`] record, such as feature snapshots) into a [`JournalWriter`].

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rtrb::Consumer;

use super::{unix_now_ns, JournalError, JournalStats, JournalWriter, SessionEnd};
use mia_model::msg::Envelope;

/// Configuration of the journal thread.
#[derive(Clone, Debug)]
pub struct JournalThreadConfig {
    /// Thread name.
    pub name: String,
    /// Most envelopes taken from one ring before moving to the next (fairness).
    pub batch: usize,
    /// Sleep when every ring stayed empty for a while (after spinning, then yielding).
    pub idle_sleep: Duration,
    /// Async `msync` at least this often while data arrives.
    pub flush_interval: Duration,
    /// Append a [`SessionEnd`] with the counters before finishing.
    pub write_session_end: bool,
    /// Publishes the records drained from the first tap (the input tap of a session
    /// journal) into `cold.set_journal_records` after each pass that drained something, so
    /// the monitor sees the journal lag (inputs sequenced − inputs journaled).
    pub metrics: Option<Arc<mia_runtime::metrics::LiveMetrics>>,
}

impl Default for JournalThreadConfig {
    fn default() -> Self {
        Self {
            name: "mia-journal".into(),
            batch: 256,
            idle_sleep: Duration::from_micros(200),
            flush_interval: Duration::from_millis(100),
            write_session_end: true,
            metrics: None,
        }
    }
}

/// A record a tap ring carries to the journal thread.
pub trait Journaled: Copy + Send + 'static {
    /// Appends `self` to `w`.
    ///
    /// # Errors
    /// The writer's error.
    fn append_to(&self, w: &mut JournalWriter) -> Result<(), JournalError>;
}

impl Journaled for Envelope {
    /// The message (`t0` is a latency probe and is not journaled).
    #[inline]
    fn append_to(&self, w: &mut JournalWriter) -> Result<(), JournalError> {
        w.append_msg(&self.msg)
    }
}

impl Journaled for mia_model::features::FeatureSnapshot {
    #[inline]
    fn append_to(&self, w: &mut JournalWriter) -> Result<(), JournalError> {
        w.append_snapshot(self)
    }
}

/// Idle passes spent spinning, then yielding, before sleeping.
const SPIN_PASSES: u32 = 64;
const YIELD_PASSES: u32 = 128;

/// Spawns the journal writer thread.
///
/// The thread visits the `taps` round robin, taking up to `cfg.batch` envelopes from each and
/// journaling their messages (`t0` is a latency probe and is not journaled). When a whole pass
/// finds every ring empty it backs off (spin, yield, then sleep `cfg.idle_sleep`). It stops
/// when a pass that started after it observed `stop == true` (or every producer abandoned
/// its ring) drained nothing: everything pushed before the stop flag was set is journaled.
/// It then optionally appends a [`SessionEnd`], calls [`JournalWriter::finish`] and returns
/// the counters (with per-tap drain counts). An append error ends the thread with that error
/// (the producers then see full rings and count drops).
pub fn spawn_journal_writer<T: Journaled>(
    writer: JournalWriter,
    taps: Vec<Consumer<T>>,
    stop: Arc<AtomicBool>,
    cfg: JournalThreadConfig,
) -> std::io::Result<JoinHandle<Result<JournalStats, JournalError>>> {
    std::thread::Builder::new().name(cfg.name.clone()).spawn(move || run(writer, taps, &stop, &cfg))
}

fn run<T: Journaled>(
    mut writer: JournalWriter,
    mut taps: Vec<Consumer<T>>,
    stop: &AtomicBool,
    cfg: &JournalThreadConfig,
) -> Result<JournalStats, JournalError> {
    let batch = cfg.batch.max(1);
    let mut per_tap = vec![0u64; taps.len()];
    let mut idle: u32 = 0;
    let mut last_flush = Instant::now();
    let mut unflushed = false;
    let reason = loop {
        // Read the exit conditions *before* draining: whatever was pushed before they became
        // true is visible to the drain pass below.
        let stopping = stop.load(Ordering::Acquire);
        let abandoned = taps.iter().all(|t| t.is_abandoned());
        let mut drained = 0usize;
        for (tap, count) in taps.iter_mut().zip(per_tap.iter_mut()) {
            let n = tap.slots().min(batch);
            if n == 0 {
                continue;
            }
            let Ok(chunk) = tap.read_chunk(n) else { continue };
            let (a, b) = chunk.as_slices();
            for rec in a.iter().chain(b) {
                rec.append_to(&mut writer)?;
            }
            chunk.commit_all();
            *count += n as u64;
            drained += n;
        }
        if drained > 0 {
            if let (Some(m), Some(n)) = (&cfg.metrics, per_tap.first()) {
                m.cold.set_journal_records(*n);
            }
            idle = 0;
            unflushed = true;
            if last_flush.elapsed() >= cfg.flush_interval {
                writer.flush()?;
                last_flush = Instant::now();
                unflushed = false;
            }
            continue;
        }
        if stopping {
            break "stop requested";
        }
        if abandoned {
            break "all producers gone";
        }
        if unflushed && last_flush.elapsed() >= cfg.flush_interval {
            writer.flush()?;
            last_flush = Instant::now();
            unflushed = false;
        }
        idle = idle.saturating_add(1);
        if idle < SPIN_PASSES {
            std::hint::spin_loop();
        } else if idle < YIELD_PASSES {
            std::thread::yield_now();
        } else {
            std::thread::sleep(cfg.idle_sleep);
        }
    };
    if cfg.write_session_end {
        let s = writer.stats();
        let end = SessionEnd {
            events: s.events,
            signals: s.signals,
            orders: s.intents,
            fills: s.fills,
            unix_ns: unix_now_ns(),
            reason: reason.into(),
        };
        writer.append_session_end(&end)?;
    }
    let mut stats = writer.finish()?;
    stats.per_tap = per_tap;
    Ok(stats)
}
