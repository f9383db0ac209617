//! The options-analytics cold side: computes a chain's gamma levels on a cold thread
//! (`mia-options`). A backtest waits for the first snapshot and opens the session with it; a
//! later snapshot is published on the [`GammaBoard`] and announced to the hot path as a
//! sequenced `GammaPublished` input (the hot stage never waits for it and never reads it
//! before the announcement).

use anyhow::{anyhow, Context, Result};
use mia_journal::GammaPublication;
use mia_model::msg::{Control, ControlKind, Msg};
use mia_options::chain::ModelParams;
use mia_options::gex::{compute_levels, GexConfig};
use mia_options::levels::GammaLevels;
use mia_signal::gates::gamma::GammaBoard;
use std::sync::Arc;
use std::thread::JoinHandle;

/// Gamma levels of a chain in Cboe layout, stamped with the chain's valuation time (so the
/// result depends on the chain only).
pub fn gamma_levels(name: &str, text: &str) -> Result<GammaLevels> {
    let parsed = mia_feeds::cboe::parse_str(name, text, &ModelParams::default())?;
    let report = compute_levels(&parsed.chain, None, &GexConfig::default());
    Ok(report.to_gamma_levels(parsed.chain.valuation_ts_ns))
}

/// Starts the options-analytics thread: parses `text` (Cboe layout, named `name` in errors)
/// and computes the levels. With `publish`, it writes them to the board as publication `n`
/// and announces them on the control ring (a live session); without, the caller opens the
/// session with the returned levels (a backtest).
///
/// # Errors
/// The thread cannot start; the chain's errors come back through the handle.
pub fn spawn_gamma_thread(
    name: String,
    text: String,
    publish: Option<(Arc<GammaBoard>, u64, rtrb::Producer<Msg>)>,
) -> Result<JoinHandle<Result<GammaLevels>>> {
    std::thread::Builder::new()
        .name("mia-options".into())
        .spawn(move || {
            let levels = gamma_levels(&name, &text)?;
            if let Some((board, n, mut tx)) = publish {
                board.publish(n, &levels);
                let c = Control { kind: ControlKind::GammaPublished, arg: n, ..Control::default() };
                tx.push(Msg::Control(c)).map_err(|_| anyhow!("the control ring is full"))?;
            }
            Ok(levels)
        })
        .context("cannot start the options analytics thread")
}

/// Subdirectory of a run holding its gamma publications (live sessions).
pub const GAMMA_DIR: &str = "gamma";

/// The gamma journal of a run (`RUN_DIR/gamma/`): one [`GammaPublication`] per publication,
/// with the levels' exact words; a no-op without a directory. The one writer of gamma
/// records, for live publications and for those known before a run.
struct GammaJournal(Option<mia_journal::JournalWriter>);

impl GammaJournal {
    fn open(dir: Option<&std::path::Path>) -> Result<Self> {
        Ok(Self(match dir {
            Some(d) => Some(mia_journal::JournalWriter::create(
                d,
                mia_journal::JournalConfig::with_segment_size(1 << 20),
            )?),
            None => None,
        }))
    }

    /// Appends publication `n` (stamped `unix_ns`), flushed when `flush`.
    fn append(&mut self, n: u64, unix_ns: u64, levels: &GammaLevels, flush: bool) -> Result<()> {
        use mia_model::words::Words;
        if let Some(j) = self.0.as_mut() {
            j.append_gamma(&GammaPublication { n, unix_ns, words: levels.to_words().to_vec() })?;
            if flush {
                j.flush()?;
            }
        }
        Ok(())
    }

    fn finish(self) -> Result<()> {
        if let Some(j) = self.0 {
            j.finish()?;
        }
        Ok(())
    }
}

/// Publishes gamma snapshots during a live session, replayably: each publication is journaled
/// to `RUN_DIR/gamma/` (a [`GammaPublication`] with the levels' exact words), then written to
/// the board, then announced by a sequenced `GammaPublished { arg: n }` — in that order, so a
/// journal replay finds every announced publication ([`load_publications`]).
pub struct GammaPublisher {
    board: Arc<GammaBoard>,
    control: rtrb::Producer<Msg>,
    journal: GammaJournal,
    next: u64,
}

impl GammaPublisher {
    /// A publisher onto `board` announcing on `control`, journaling into `journal_dir` (none:
    /// a session without a run directory). Publication numbers start at 1 (0 is the opening
    /// snapshot).
    ///
    /// # Errors
    /// The journal directory cannot be created.
    pub fn new(
        board: Arc<GammaBoard>,
        control: rtrb::Producer<Msg>,
        journal_dir: Option<&std::path::Path>,
    ) -> Result<Self> {
        Ok(Self { board, control, journal: GammaJournal::open(journal_dir)?, next: 1 })
    }

    /// Publishes `levels`; returns its publication number.
    ///
    /// # Errors
    /// The journal cannot be written (nothing is announced then), or the control ring is full.
    pub fn publish(&mut self, levels: &GammaLevels) -> Result<u64> {
        let n = self.next;
        let unix_ns = mia_runtime::clock::wall_ns();
        self.journal.append(n, unix_ns, levels, true)?;
        self.board.publish(n, levels);
        let c = Control { kind: ControlKind::GammaPublished, arg: n, ..Control::default() };
        self.control.push(Msg::Control(c)).map_err(|_| anyhow!("the control ring is full"))?;
        self.next += 1;
        Ok(n)
    }

    /// Closes the gamma journal.
    ///
    /// # Errors
    /// The final flush failed.
    pub fn finish(self) -> Result<()> {
        self.journal.finish()
    }
}

/// An input's chain publications, known before the run ([`crate::app::input::Input::chain_publications`]):
/// their levels on a board, and the `GammaPublished { arg: n }` controls that announce them,
/// each scheduled at its chain's valuation time (the sequencer, `Sequencer::schedule`,
/// sequences it after the first market event at or after that time, so the decisions see each
/// snapshot from its publication on, never before).
pub struct ScheduledGamma {
    /// The levels, publication `n` in slot `n` (1-based; 0 is the opening snapshot's).
    pub board: Arc<GammaBoard>,
    /// `(valuation ts, GammaPublished { arg: n })`, in time order.
    pub schedule: Vec<(u64, Control)>,
    /// The valuation time of each publication, in order.
    pub times: Vec<u64>,
}

/// Computes the levels of `pubs` (name, Cboe text), checks that their valuation times
/// increase (and follow `opening_ts`, the opening snapshot's), and, with `journal_dir`,
/// journals them there like a live session's publications (`RUN_DIR/gamma/`, so a journal
/// replay adopts the same levels). `None` when `pubs` is empty.
///
/// # Errors
/// A chain that does not parse, a publication not later than the one before (both named),
/// or the gamma journal cannot be written.
pub fn schedule_publications(
    pubs: &[(String, String)],
    opening_ts: Option<u64>,
    journal_dir: Option<&std::path::Path>,
) -> Result<Option<ScheduledGamma>> {
    if pubs.is_empty() {
        return Ok(None);
    }
    let board = Arc::new(GammaBoard::new(pubs.len() + 1));
    let mut journal = GammaJournal::open(journal_dir)?;
    let (mut schedule, mut times) = (Vec::with_capacity(pubs.len()), Vec::with_capacity(pubs.len()));
    let mut prev = opening_ts;
    for (i, (name, text)) in pubs.iter().enumerate() {
        let levels = gamma_levels(name, text)?;
        let ts = levels.valuation_ts_ns;
        if let Some(p) = prev.filter(|&p| ts <= p) {
            return Err(anyhow!(
                "{name}: chain valued at {} is not later than the snapshot before it ({}): publications must be in time order",
                crate::app::summary::fmt_chicago(ts),
                crate::app::summary::fmt_chicago(p)
            ));
        }
        prev = Some(ts);
        let n = i as u64 + 1;
        journal.append(n, ts, &levels, false)?;
        board.publish(n, &levels);
        schedule.push((ts, Control { kind: ControlKind::GammaPublished, arg: n, ..Control::default() }));
        times.push(ts);
    }
    journal.finish()?;
    Ok(Some(ScheduledGamma { board, schedule, times }))
}

/// The gamma publications of the run whose journal is `journal_dir` (in `RUN_DIR/gamma/`
/// beside it), on a board large enough to hold them all; `None` when the run published none.
///
/// # Errors
/// The gamma journal is unreadable or holds a malformed publication (named).
pub fn load_publications(journal_dir: &std::path::Path) -> Result<Option<(Arc<GammaBoard>, usize)>> {
    use mia_model::words::Words;
    use mia_options::levels::GAMMA_LEVELS_WORDS;
    let Some(dir) = journal_dir.parent().map(|p| p.join(GAMMA_DIR)).filter(|d| d.is_dir()) else {
        return Ok(None);
    };
    let (records, _) = mia_journal::JournalReader::read_all(&dir)?;
    let mut pubs = Vec::new();
    for r in records {
        if let mia_journal::JournalRecord::Gamma(g) = r {
            let w: [u64; GAMMA_LEVELS_WORDS] = g.words.as_slice().try_into().map_err(|_| {
                anyhow!(
                    "{}: publication {}: {} words, expected {GAMMA_LEVELS_WORDS}",
                    dir.display(),
                    g.n,
                    g.words.len()
                )
            })?;
            pubs.push((g.n, GammaLevels::from_words(&w)));
        }
    }
    if pubs.is_empty() {
        return Ok(None);
    }
    let cap = pubs.iter().map(|p| p.0).max().unwrap_or(0) as usize + 1;
    let board = Arc::new(GammaBoard::new(cap));
    for (n, l) in &pubs {
        board.publish(*n, l);
    }
    Ok(Some((board, pubs.len())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::input::Input;

    #[test]
    fn publications_are_journaled_then_announced_and_load_back() {
        let dir = tempfile::tempdir().expect("tmp");
        let run = dir.path();
        std::fs::create_dir_all(run.join("journal")).expect("journal dir");
        let board = Arc::new(GammaBoard::new(8));
        let (tx, mut rx) = rtrb::RingBuffer::new(8);
        let mut p = GammaPublisher::new(board.clone(), tx, Some(&run.join(GAMMA_DIR))).expect("publisher");
        let Ok(Some((name, text))) = (Input::Synthetic { seed: 3, days: 1 }).chain() else { panic!("chain") };
        let mut a = gamma_levels(&name, &text).expect("levels");
        let mut b = a;
        b.call_wall += 25_000_000_000;
        a.computed_at_ns = 1;
        assert_eq!(p.publish(&a).expect("publish"), 1);
        assert_eq!(p.publish(&b).expect("publish"), 2);
        p.finish().expect("finish");
        for n in [1, 2] {
            assert!(
                matches!(rx.pop(), Ok(Msg::Control(c)) if c.kind == ControlKind::GammaPublished && c.arg == n)
            );
        }
        let (loaded, count) = load_publications(&run.join("journal")).expect("load").expect("some");
        assert_eq!(count, 2);
        assert_eq!(loaded.read(1), Some(a));
        assert_eq!(loaded.read(2).map(|l| l.call_wall), Some(b.call_wall));
        assert!(load_publications(&dir.path().join("elsewhere/journal")).expect("ok").is_none());
    }

    #[test]
    fn publisher_thread_publishes_and_announces() {
        let Ok(Some((name, text))) = Input::Synthetic { seed: 4, days: 1 }.chain() else {
            panic!("synthetic chain")
        };
        let board = Arc::new(GammaBoard::new(4));
        let (tx, mut rx) = rtrb::RingBuffer::new(4);
        let levels = match spawn_gamma_thread(name, text, Some((board.clone(), 1, tx))).map(|h| h.join()) {
            Ok(Ok(Ok(l))) => l,
            _ => panic!("publisher failed"),
        };
        assert_eq!(
            board.read(1).map(|l| (l.call_wall, l.put_wall)),
            Some((levels.call_wall, levels.put_wall))
        );
        assert!(
            matches!(rx.pop(), Ok(Msg::Control(c)) if c.kind == ControlKind::GammaPublished && c.arg == 1)
        );
        assert_ne!(levels.call_wall, mia_model::price::UNDEF_PX, "the synthetic chain has walls");
    }

    #[test]
    fn a_broken_chain_is_an_error_naming_it() {
        let r = spawn_gamma_thread("bad.csv".into(), "not,a,chain\n".into(), None).map(|h| h.join());
        match r {
            Ok(Ok(Err(e))) => assert!(e.to_string().contains("bad.csv"), "{e}"),
            _ => panic!("expected an error"),
        }
    }
}
