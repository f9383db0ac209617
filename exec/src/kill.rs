//! Cold-side building blocks of the kill switch: a kill-file check and a POSIX signal flag.
//!
//! Neither runs on the hot path. A cold thread (the stage owner's) polls them, and on a hit
//! pushes [`kill_control`]'s `Control::Kill` into the sequencer, so the kill is journaled and a
//! replay sees it at the same point of the input stream; the exec stage then calls
//! [`RiskManager::kill`](crate::risk::RiskManager::kill) with the [`KillSource`] decoded from
//! the control's `arg` ([`KillSource::from_arg`]).

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use mia_model::msg::{Control, ControlKind};

pub use crate::risk::KillSource;

/// The `Control::Kill` input a cold thread sends for `source` (`arg` = the source's code;
/// `seq` and `ts` are stamped by the sequencer).
pub fn kill_control(source: KillSource) -> Control {
    Control { seq: 0, ts: 0, arg: source as u64, kind: ControlKind::Kill }
}

/// The kill file: trading stops when it exists.
#[derive(Clone, Debug)]
pub struct KillFile {
    path: PathBuf,
    seen: bool,
}

impl KillFile {
    /// True when a kill file exists at `path` (one `stat`; an unreadable parent counts as
    /// absent). Call from a cold thread only.
    pub fn poll(path: &Path) -> bool {
        path.try_exists().unwrap_or(false)
    }

    /// A watcher of `path` that reports each appearance of the file once.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into(), seen: false }
    }

    /// The watched path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// True once when the file appears (absent → present); false while it stays, and again
    /// after it is removed and reappears. Cold thread only.
    pub fn check(&mut self) -> bool {
        let present = Self::poll(&self.path);
        let fired = present && !self.seen;
        self.seen = present;
        fired
    }
}

/// Flags set by SIGUSR1 and SIGTERM handlers (`signal-hook`: the handler only stores to an
/// atomic, which is async-signal-safe). A cold thread calls [`KillSignals::take`] and turns a
/// hit into a `Control::Kill` with [`KillSource::Signal`].
#[derive(Debug)]
pub struct KillSignals {
    usr1: Arc<AtomicBool>,
    term: Arc<AtomicBool>,
    ids: [signal_hook::SigId; 2],
}

/// Which signal fired.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KillSignal {
    /// SIGUSR1 (`kill -USR1 <pid>`: kill switch, the process keeps running halted).
    Usr1,
    /// SIGTERM (the process is asked to stop: flatten and halt first).
    Term,
}

impl KillSignals {
    /// Installs the handlers for SIGUSR1 and SIGTERM (replacing their default action, which
    /// would end the process).
    ///
    /// # Errors
    /// The OS refused to install a handler.
    pub fn install() -> io::Result<Self> {
        let usr1 = Arc::new(AtomicBool::new(false));
        let term = Arc::new(AtomicBool::new(false));
        let a = signal_hook::flag::register(signal_hook::consts::SIGUSR1, Arc::clone(&usr1))?;
        let b = match signal_hook::flag::register(signal_hook::consts::SIGTERM, Arc::clone(&term)) {
            Ok(b) => b,
            Err(e) => {
                signal_hook::low_level::unregister(a);
                return Err(e);
            }
        };
        Ok(Self { usr1, term, ids: [a, b] })
    }

    /// The signal received since the last call, if any (clears it; SIGTERM wins when both).
    pub fn take(&self) -> Option<KillSignal> {
        let term = self.term.swap(false, Ordering::AcqRel);
        let usr1 = self.usr1.swap(false, Ordering::AcqRel);
        if term {
            Some(KillSignal::Term)
        } else if usr1 {
            Some(KillSignal::Usr1)
        } else {
            None
        }
    }
}

impl Drop for KillSignals {
    fn drop(&mut self) {
        for id in self.ids {
            signal_hook::low_level::unregister(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kill_file_fires_once_per_appearance() {
        let dir = std::env::temp_dir().join(format!("mia-kill-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("tmp dir");
        let path = dir.join("KILL");
        let _ = std::fs::remove_file(&path);
        let mut w = KillFile::new(&path);
        assert!(!KillFile::poll(&path));
        assert!(!w.check());
        std::fs::write(&path, b"").expect("write");
        assert!(KillFile::poll(&path));
        assert!(w.check(), "appeared");
        assert!(!w.check(), "reported once");
        std::fs::remove_file(&path).expect("remove");
        assert!(!w.check());
        std::fs::write(&path, b"").expect("write");
        assert!(w.check(), "reappeared");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn sigusr1_sets_the_flag() {
        let s = KillSignals::install().expect("install");
        assert_eq!(s.take(), None);
        signal_hook::low_level::raise(signal_hook::consts::SIGUSR1).expect("raise");
        assert_eq!(s.take(), Some(KillSignal::Usr1));
        assert_eq!(s.take(), None, "cleared");
    }

    #[test]
    fn kill_control_carries_the_source() {
        let c = kill_control(KillSource::File);
        assert_eq!((c.kind, c.arg), (ControlKind::Kill, 1));
        assert_eq!(KillSource::from_arg(c.arg), KillSource::File);
        assert_eq!(KillSource::from_arg(kill_control(KillSource::Cli).arg), KillSource::Cli);
    }
}
