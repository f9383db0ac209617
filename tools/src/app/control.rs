//! The kill switch's cold side: the control thread (kill files and POSIX signals → a
//! `Control::Kill` side input) and `mia kill` ([`request_kill`]); controls scheduled at
//! event times (deterministic runs and tests) are the sequencer's (`Sequencer::schedule`).
//!
//! Everything here is off the hot path. A kill becomes a `Control::Kill` input in the
//! sequencer, so it is journaled at the place it entered and a replay of the journal sees it
//! there again (same decisions, same digest). The exec stage then flattens and halts
//! (`docs/risk.md`, "Kill switch").
//!
//! - [`ControlThread`]: polls the kill files every `[control] poll_ms` and the SIGUSR1 /
//!   SIGTERM flags ([`KillSignals`]), and pushes [`kill_control`] into its ring (a
//!   [`SideInput`](mia_runtime::sequencer::SideInput) of the session). A kill file whose
//!   content starts with [`CLI_MARKER`] (what `mia kill` writes) is a [`KillSource::Cli`]
//!   kill, any other a [`KillSource::File`] kill; a signal is [`KillSource::Signal`].
//! - Scheduled controls (right after the first market event with `ts_recv ≥` their time) are
//!   the sequencer's: `mia_runtime::sequencer::Sequencer::schedule`.
//! - [`request_kill`]: writes `RUN_DIR/KILL` (atomically, by rename), which every session
//!   with that run directory watches.

use anyhow::{bail, Context, Result};
use mia_exec::kill::{kill_control, KillFile, KillSignals, KillSource};
use mia_model::msg::Msg;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// Name of the kill file in a run directory (`RUN_DIR/KILL`).
pub const KILL_FILE: &str = "KILL";

/// How a kill file written by `mia kill` begins (the control thread then reports the kill as
/// [`KillSource::Cli`]).
pub const CLI_MARKER: &str = "mia kill";

/// Capacity of the control thread's ring (kills are rare; a full ring is retried).
const RING: usize = 16;

/// The control thread and kill-file settings (`[control]`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ControlConfig {
    /// Start the control thread in backtests too (live sessions always start it; journal
    /// replays never do: the journal holds the controls).
    pub backtest: bool,
    /// An extra kill file to watch (absent: only `RUN_DIR/KILL`, which is always watched when
    /// the session has a run directory).
    pub kill_file: Option<PathBuf>,
    /// Polling period of the kill files and the signal flags, milliseconds (1–60,000).
    pub poll_ms: u64,
    /// Turn SIGUSR1 and SIGTERM into a kill (their default action, ending the process, is
    /// replaced while the control thread runs).
    pub signals: bool,
}

impl Default for ControlConfig {
    fn default() -> Self {
        Self { backtest: false, kill_file: None, poll_ms: 100, signals: true }
    }
}

impl ControlConfig {
    /// Checks the ranges.
    ///
    /// # Errors
    /// `control.poll_ms` outside 1–60,000.
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=60_000).contains(&self.poll_ms) {
            return Err(format!("control.poll_ms: {} is outside 1-60000", self.poll_ms));
        }
        Ok(())
    }

    /// The kill files a session with run directory `run_dir` watches: `RUN_DIR/KILL`, then
    /// `kill_file` when set (and different).
    pub fn kill_files(&self, run_dir: Option<&Path>) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = run_dir.map(|d| d.join(KILL_FILE)).into_iter().collect();
        if let Some(p) = &self.kill_file {
            if !v.contains(p) {
                v.push(p.clone());
            }
        }
        v
    }
}

/// The cold thread that turns kill files and signals into `Control::Kill` side inputs.
pub struct ControlThread {
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicU64>,
    handle: Option<JoinHandle<()>>,
    files: Vec<PathBuf>,
}

impl ControlThread {
    /// Starts the thread watching `files` (and SIGUSR1 / SIGTERM when `signals`) every
    /// `poll`; returns it and the ring to register as a side input.
    ///
    /// # Errors
    /// The signal handlers cannot be installed, or the thread cannot be spawned.
    pub fn spawn(files: Vec<PathBuf>, signals: bool, poll: Duration) -> Result<(Self, rtrb::Consumer<Msg>)> {
        let (mut tx, rx) = rtrb::RingBuffer::<Msg>::new(RING);
        let sigs = if signals {
            Some(KillSignals::install().context("cannot install the SIGUSR1/SIGTERM kill handlers")?)
        } else {
            None
        };
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicU64::new(0));
        let mut watchers: Vec<KillFile> = files.iter().map(KillFile::new).collect();
        let (stop2, sent2) = (Arc::clone(&stop), Arc::clone(&sent));
        let handle = std::thread::Builder::new()
            .name("mia-control".into())
            .spawn(move || {
                let mut pending: Vec<Msg> = Vec::new();
                while !stop2.load(Ordering::Acquire) {
                    for w in &mut watchers {
                        if w.check() {
                            pending.push(Msg::Control(kill_control(file_source(w.path()))));
                        }
                    }
                    if sigs.as_ref().and_then(KillSignals::take).is_some() {
                        pending.push(Msg::Control(kill_control(KillSource::Signal)));
                    }
                    // Push in order; what does not fit is retried on the next poll.
                    let mut k = 0;
                    while k < pending.len() && tx.push(pending[k]).is_ok() {
                        k += 1;
                        sent2.fetch_add(1, Ordering::AcqRel);
                    }
                    pending.drain(..k);
                    std::thread::sleep(poll);
                }
                drop(sigs);
            })
            .context("cannot start the control thread")?;
        Ok((Self { stop, sent, handle: Some(handle), files }, rx))
    }

    /// The kill files watched.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// Kill controls pushed so far.
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Acquire)
    }

    /// Stops the thread (the signal handlers are removed) and returns the kills it pushed.
    ///
    /// # Errors
    /// The thread panicked.
    pub fn stop(mut self) -> Result<u64> {
        self.stop.store(true, Ordering::Release);
        if self.handle.take().is_some_and(|h| h.join().is_err()) {
            bail!("mia-control: the control thread panicked");
        }
        Ok(self.sent.load(Ordering::Acquire))
    }
}

impl Drop for ControlThread {
    /// A thread never stopped (a session that failed before it ran) ends at its next poll.
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
    }
}

/// The source of a kill by file: [`KillSource::Cli`] when the file begins with
/// [`CLI_MARKER`], else [`KillSource::File`] (an unreadable file counts as a plain file kill).
pub fn file_source(path: &Path) -> KillSource {
    match std::fs::read(path) {
        Ok(b) if b.starts_with(CLI_MARKER.as_bytes()) => KillSource::Cli,
        _ => KillSource::File,
    }
}

/// `mia kill RUN_DIR`: writes `RUN_DIR/KILL` (to a temporary name, then renamed, so the
/// watcher never sees it half-written) beginning with [`CLI_MARKER`]. The session running in
/// `RUN_DIR` sees it within `[control] poll_ms`, flattens and halts. Returns the path written.
///
/// # Errors
/// `run_dir` is not a directory, or the file cannot be written.
pub fn request_kill(run_dir: &Path) -> Result<PathBuf> {
    if !run_dir.is_dir() {
        bail!("{}: not a run directory", run_dir.display());
    }
    let path = run_dir.join(KILL_FILE);
    let tmp = run_dir.join(format!(".{KILL_FILE}.{}.tmp", std::process::id()));
    let unix_ns =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let text = format!("{CLI_MARKER} pid={} unix_ns={unix_ns}\n", std::process::id());
    std::fs::write(&tmp, text).with_context(|| format!("{}: cannot write", tmp.display()))?;
    std::fs::rename(&tmp, &path)
        .with_context(|| format!("{}: cannot rename to {}", tmp.display(), path.display()))?;
    Ok(path)
}

/// The most recently modified directory under `base` (`mia kill` without a run directory
/// takes the newest one under `runs/`).
///
/// # Errors
/// `base` cannot be read or holds no directory.
pub fn latest_run_dir(base: &Path) -> Result<PathBuf> {
    let mut best: Option<(std::time::SystemTime, PathBuf)> = None;
    for e in std::fs::read_dir(base).with_context(|| format!("{}: cannot read", base.display()))? {
        let Ok(e) = e else { continue };
        let Ok(meta) = e.metadata() else { continue };
        if !meta.is_dir() {
            continue;
        }
        let t = meta.modified().unwrap_or(std::time::UNIX_EPOCH);
        if best.as_ref().is_none_or(|(b, _)| t > *b) {
            best = Some((t, e.path()));
        }
    }
    match best {
        Some((_, p)) => Ok(p),
        None => bail!("{}: no run directory in it", base.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mia_model::msg::ControlKind;

    #[test]
    fn request_kill_writes_a_cli_kill_file_the_watcher_sees() {
        let d = tempfile::tempdir().expect("tmp");
        let mut w = KillFile::new(d.path().join(KILL_FILE));
        assert!(!w.check());
        let p = request_kill(d.path()).expect("written");
        assert_eq!(p, d.path().join(KILL_FILE));
        assert!(w.check());
        assert_eq!(file_source(&p), KillSource::Cli);
        std::fs::write(&p, b"").expect("write");
        assert_eq!(file_source(&p), KillSource::File);
        assert!(request_kill(&d.path().join("nope")).is_err());
        let runs = tempfile::tempdir().expect("tmp");
        assert!(latest_run_dir(runs.path()).is_err(), "no run yet");
        std::fs::create_dir(runs.path().join("backtest-1")).expect("mkdir");
        assert_eq!(latest_run_dir(runs.path()).ok(), Some(runs.path().join("backtest-1")));
    }

    #[test]
    fn the_thread_turns_a_file_into_one_kill() {
        let d = tempfile::tempdir().expect("tmp");
        let cfg = ControlConfig { poll_ms: 1, signals: false, ..ControlConfig::default() };
        let (t, mut rx) =
            ControlThread::spawn(cfg.kill_files(Some(d.path())), false, Duration::from_millis(1))
                .expect("spawn");
        std::fs::write(d.path().join(KILL_FILE), b"").expect("write");
        let mut got = None;
        for _ in 0..2000 {
            if let Ok(m) = rx.pop() {
                got = Some(m);
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        match got {
            Some(Msg::Control(c)) => {
                assert_eq!((c.kind, KillSource::from_arg(c.arg)), (ControlKind::Kill, KillSource::File))
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(t.stop().expect("joined"), 1);
    }
}
