//! Hot swap of the filter's model in `mia paper` / `mia live`: with `[ml] watch = true`, a cold
//! thread polls the `[ml] model` file (modification time and size, every `[ml] watch_ms`) and,
//! when either changes, hands it to [`ModelPublisher::announce`]: the file is read once,
//! validated, journaled to `RUN_DIR/models/<n>.json`, put on the board and announced as a
//! sequenced `ModelPublished` input through the watch's own control ring. The signal stage
//! adopts it when that input reaches it, so a journal replay adopts it at the same input.
//!
//! A file that does not load (malformed, other features, half written) is **refused**: the
//! reason is logged with the path, nothing is published and the model in force stays. The
//! watch retries only when the file changes again, so replace a model atomically (write a
//! temporary file, then rename it over the watched one — what `mia train` does).
//!
//! Nothing here runs on the hot path: the thread sleeps between polls and only touches the
//! file system and the (wait-free) control ring.

use super::{MlConfig, ModelPublisher};
use anyhow::Result;
use mia_model::msg::Msg;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

/// Capacity of the watch's control ring (announcements waiting for the sequencer).
pub const WATCH_RING: usize = 16;

/// What a watch did, reported when it stops (the session summary's `ml watch` line).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WatchReport {
    /// The watched file.
    pub path: PathBuf,
    /// Models published (announced), in order: publication number.
    pub published: Vec<u64>,
    /// Changed files refused: the reason of each.
    pub refused: Vec<String>,
}

impl WatchReport {
    /// One line: `watching FILE every N ms: published K (1, 2), refused R (last: reason)`.
    pub fn line(&self, every_ms: u64) -> String {
        let published: Vec<String> = self.published.iter().map(u64::to_string).collect();
        let mut s = format!(
            "watching {} every {every_ms} ms: published {}",
            self.path.display(),
            self.published.len()
        );
        if !published.is_empty() {
            s.push_str(&format!(" ({})", published.join(", ")));
        }
        s.push_str(&format!(", refused {}", self.refused.len()));
        if let Some(last) = self.refused.last() {
            s.push_str(&format!(" (last: {last})"));
        }
        s
    }
}

/// A running watch; [`ModelWatch::stop`] ends the thread and returns its report.
pub struct ModelWatch {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<WatchReport>>,
    every_ms: u64,
}

/// The file's change fingerprint: modification time and size (`None`: unreadable).
fn fingerprint(path: &Path) -> Option<(SystemTime, u64)> {
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len()))
}

/// The side of a watch a session needs: its control ring and the board it publishes onto.
pub struct WatchInputs {
    /// Announcements (`ModelPublished`) for the sequencer: push into `SessionExtras::side`.
    pub ring: rtrb::Consumer<Msg>,
    /// The board the signal stage reads: `SessionExtras::model_board`.
    pub board: Arc<mia_signal::gates::ml::ModelBoard>,
}

impl ModelWatch {
    /// Starts watching `[ml] model` when `[ml] watch` is on (else `None`). `run_dir` is where
    /// publications are journaled (`RUN_DIR/models/`); `say` receives one line per
    /// publication or refusal (the session's notices).
    ///
    /// # Errors
    /// The thread cannot be started.
    pub fn start(
        ml: &MlConfig,
        run_dir: Option<&Path>,
        say: impl Fn(&str) + Send + 'static,
    ) -> Result<Option<(Self, WatchInputs)>> {
        if !ml.watch || ml.model.is_empty() {
            return Ok(None);
        }
        let path = PathBuf::from(&ml.model);
        let every = Duration::from_millis(ml.watch_ms);
        let publisher = ModelPublisher::new(run_dir, ml.threshold);
        let board = publisher.board();
        let (tx, rx) = rtrb::RingBuffer::<Msg>::new(WATCH_RING);
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("mia-ml-watch".into())
            .spawn(move || watch_loop(path, every, publisher, tx, &flag, &say))
            .map_err(|e| anyhow::anyhow!("ml.watch: cannot start the model watch thread: {e}"))?;
        Ok(Some((
            Self { stop, thread: Some(thread), every_ms: ml.watch_ms },
            WatchInputs { ring: rx, board },
        )))
    }

    /// [`Self::start`] wired into a live session's extras: the watch's ring joins
    /// `extras.side` and its board becomes `extras.model_board`.
    ///
    /// # Errors
    /// The thread cannot be started.
    pub fn attach(
        ml: &MlConfig,
        run_dir: Option<&Path>,
        extras: &mut crate::app::session::SessionExtras,
        say: impl Fn(&str) + Send + 'static,
    ) -> Result<Option<Self>> {
        let Some((w, inputs)) = Self::start(ml, run_dir, say)? else { return Ok(None) };
        extras.side.push(inputs.ring);
        extras.model_board = Some(inputs.board);
        Ok(Some(w))
    }

    /// [`Self::stop`], as the summary's `ml watch` line.
    pub fn stop_line(self) -> String {
        let every = self.every_ms;
        self.stop().line(every)
    }

    /// Stops the thread and returns what it did.
    pub fn stop(mut self) -> WatchReport {
        self.stop.store(true, Ordering::Release);
        self.thread.take().and_then(|t| t.join().ok()).unwrap_or_default()
    }

    /// The poll period, ms.
    pub fn every_ms(&self) -> u64 {
        self.every_ms
    }
}

impl Drop for ModelWatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn watch_loop(
    path: PathBuf,
    every: Duration,
    mut publisher: ModelPublisher,
    mut ring: rtrb::Producer<Msg>,
    stop: &AtomicBool,
    say: &dyn Fn(&str),
) -> WatchReport {
    let mut report = WatchReport { path: path.clone(), ..WatchReport::default() };
    // The opening model is the session's (`session_models`); only changes are published.
    let mut seen = fingerprint(&path);
    // Sleep in short slices so that stopping does not wait a whole period.
    let slice = every.min(Duration::from_millis(20));
    let mut waited = Duration::ZERO;
    while !stop.load(Ordering::Acquire) {
        std::thread::sleep(slice);
        waited += slice;
        if waited < every {
            continue;
        }
        waited = Duration::ZERO;
        let now = fingerprint(&path);
        if now == seen {
            continue;
        }
        seen = now;
        if now.is_none() {
            let why =
                format!("model file {}: cannot read (removed?); the model in force stays", path.display());
            say(&format!("mia: ml watch: {why}"));
            report.refused.push(why);
            continue;
        }
        match publisher.announce(&path, &mut ring) {
            Ok(n) => {
                say(&format!("mia: ml watch: {} published as model {n}", path.display()));
                report.published.push(n);
            }
            Err(e) => {
                let why = format!("{e:#}; refused, the model in force stays");
                say(&format!("mia: ml watch: {why}"));
                report.refused.push(why);
            }
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use mia_ml::{FlatEnsemble, FlatLogistic, MemberWeights, Members};
    use mia_model::msg::{Control, ControlKind};
    use std::sync::Mutex;

    fn model(path: &Path, bias: f64) {
        let lr = FlatLogistic::<{ super::super::ML_N }>::new(
            [0.0; super::super::ML_N],
            bias,
            [0.0; super::super::ML_N],
            [0.0; super::super::ML_N],
        )
        .expect("lr");
        let e = FlatEnsemble::new(
            super::super::ML_FEATURES,
            Members { lr: Some(lr), ..Members::default() },
            MemberWeights::default(),
            0.7,
        )
        .expect("ensemble");
        e.save(path).expect("save");
    }

    fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
        for _ in 0..1000 {
            if f() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("timed out waiting for {what}");
    }

    #[test]
    fn publishes_a_changed_file_refuses_a_bad_one_and_keeps_going() {
        let dir = tempfile::tempdir().expect("tmp");
        let file = dir.path().join("m.json");
        model(&file, 1.0);
        let run = dir.path().join("run");
        let ml =
            MlConfig { model: file.display().to_string(), watch: true, watch_ms: 10, ..MlConfig::default() };
        let said = Arc::new(Mutex::new(Vec::<String>::new()));
        let log = Arc::clone(&said);
        let (w, mut inputs) =
            ModelWatch::start(&ml, Some(&run), move |m| log.lock().expect("log").push(m.to_string()))
                .expect("start")
                .expect("watching");
        // Unchanged: nothing is announced.
        std::thread::sleep(Duration::from_millis(60));
        assert!(inputs.ring.pop().is_err(), "no change, no publication");

        // A new model (written atomically): published as 1, journaled, announced.
        let tmp = dir.path().join("m.json.new");
        model(&tmp, -1.0);
        std::fs::rename(&tmp, &file).expect("rename");
        wait_for("the announcement", || !inputs.ring.is_empty());
        let Ok(Msg::Control(c)) = inputs.ring.pop() else { panic!("a control") };
        assert_eq!((c.kind, c.arg), (ControlKind::ModelPublished, 1));
        assert_eq!(
            std::fs::read(run.join("models").join("1.json")).expect("journaled"),
            std::fs::read(&file).expect("file")
        );
        assert!(inputs.board.read(1).is_some(), "on the board before the announcement was read");

        // A corrupt replacement (also written atomically: a plain write could be seen half
        // done, an empty file first, and refused twice): refused, named, nothing announced,
        // nothing journaled.
        std::fs::write(&tmp, b"{ not json").expect("write");
        std::fs::rename(&tmp, &file).expect("rename");
        wait_for("the refusal", || said.lock().expect("log").iter().any(|m| m.contains("refused")));
        assert!(inputs.ring.pop().is_err(), "a refused file is not announced");
        assert!(!run.join("models").join("2.json").exists());

        // Still watching: a good file after the bad one is published as 2.
        model(&tmp, 0.5);
        std::fs::rename(&tmp, &file).expect("rename");
        wait_for("the second announcement", || !inputs.ring.is_empty());
        assert!(matches!(inputs.ring.pop(), Ok(Msg::Control(Control { arg: 2, .. }))));

        let r = w.stop();
        assert_eq!(r.published, vec![1, 2]);
        assert_eq!(r.refused.len(), 1);
        assert!(r.refused[0].contains("m.json") && r.refused[0].contains("refused"), "{:?}", r.refused);
        let line = r.line(10);
        assert!(line.contains("published 2 (1, 2), refused 1"), "{line}");
        let said = said.lock().expect("log");
        assert!(said.iter().any(|m| m.contains("published as model 1")), "{said:?}");
    }

    #[test]
    fn off_unless_configured() {
        let ml = MlConfig { model: "x.json".into(), ..MlConfig::default() };
        assert!(ModelWatch::start(&ml, None, |_| ()).expect("ok").is_none());
    }
}
