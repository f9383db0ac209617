//! [`JournalSource`]: replays the market events of a journal directory as an [`EventSource`].

use std::path::{Path, PathBuf};

use mia_journal::{JournalReader, JournalRecord, Recovery, SessionMeta};
use mia_model::event::Event;
use mia_model::msg::Msg;
use mia_runtime::source::{EventSource, SourceError};

/// An [`EventSource`] over the `Market` records of a journal (signals, intents, fills, notes
/// and session ends are skipped).
///
/// - The first [`SessionMeta`] found is exposed by [`meta`](Self::meta); `open` reads ahead up
///   to the first market event to find it.
/// - Events are returned with `seq` reset to 0: the pipeline assigns sequence numbers (the
///   [`EventSource`] contract), and a deterministic replay assigns the same ones again.
/// - A damaged tail ends the stream like a clean end (every complete event is replayed);
///   [`recovery`](Self::recovery) tells which it was. Hard errors (missing directory, foreign
///   file, bad header) become [`SourceError`]s naming the file and offset.
/// - No allocation per event.
pub struct JournalSource {
    reader: JournalReader,
    name: String,
    dir: PathBuf,
    meta: Option<SessionMeta>,
    pending: Option<Msg>,
    skipped: u64,
}

impl JournalSource {
    /// Opens the journal in `dir` and reads ahead to its session metadata.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, SourceError> {
        let dir = dir.as_ref().to_path_buf();
        let reader = JournalReader::open(&dir).map_err(|e| e.to_source_error())?;
        let name = format!("journal:{}", dir.display());
        let mut s = Self { reader, name, dir, meta: None, pending: None, skipped: 0 };
        // Reads up to the first market event, picking up the metadata written before it.
        s.pending = s.next_recorded_input()?;
        Ok(s)
    }

    /// The journal directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The first session metadata record of the journal, if any was seen yet.
    pub fn meta(&self) -> Option<&SessionMeta> {
        self.meta.as_ref()
    }

    /// Non-market records skipped so far.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// How the journal ended (final once `next_event` returned `Ok(None)`): clean, or where
    /// and why the tail was damaged.
    pub fn recovery(&self) -> &Recovery {
        self.reader.recovery()
    }

    /// The next recorded input (market event, exec report or control), skipping outputs.
    fn next_recorded_input(&mut self) -> Result<Option<Msg>, SourceError> {
        loop {
            match self.reader.next_record().map_err(|e| e.to_source_error())? {
                None => return Ok(None),
                Some(JournalRecord::Msg(mut m)) if m.is_input() => {
                    // The sequencer of the replay assigns seq again (same order, same values).
                    m.stamp_input(0, 0);
                    return Ok(Some(m));
                }
                Some(JournalRecord::Meta(m)) => {
                    if self.meta.is_none() {
                        self.meta = Some(m);
                    } else {
                        self.skipped += 1;
                    }
                }
                Some(_) => self.skipped += 1,
            }
        }
    }
}

impl EventSource for JournalSource {
    fn describe(&self) -> &str {
        &self.name
    }

    /// Market events only (recorded side inputs are skipped).
    fn next_event(&mut self) -> Result<Option<Event>, SourceError> {
        loop {
            match self.next_input()? {
                None => return Ok(None),
                Some(Msg::Market(e)) => return Ok(Some(e)),
                Some(_) => {}
            }
        }
    }

    fn has_recorded_inputs(&self) -> bool {
        true
    }

    /// Every recorded input, at its recorded place.
    #[inline]
    fn next_input(&mut self) -> Result<Option<Msg>, SourceError> {
        if let Some(m) = self.pending.take() {
            return Ok(Some(m));
        }
        self.next_recorded_input()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mia_journal::{JournalConfig, JournalWriter};
    use mia_model::event::Side;
    use mia_model::msg::Fill;

    fn event(i: u64) -> Event {
        let mut e = Event::trade(1_000 + i, 2_000 + i, Side::Bid, 5_000_000_000_000 + i as i64, 1, 0);
        e.seq = i + 100;
        e
    }

    fn meta() -> SessionMeta {
        SessionMeta { source: "synth".into(), seed: 3, mode: "paper".into(), ..SessionMeta::default() }
    }

    #[test]
    fn replays_market_events_only_and_exposes_meta() {
        let tmp = tempfile::tempdir().unwrap();
        let mut w = JournalWriter::create(tmp.path(), JournalConfig::with_segment_size(4096)).unwrap();
        w.append_meta(&meta()).unwrap();
        for i in 0..200 {
            w.append_msg(&Msg::Market(event(i))).unwrap();
            if i % 50 == 0 {
                w.append_msg(&Msg::Fill(Fill { client_order_id: i, ..Fill::default() })).unwrap();
            }
        }
        w.finish().unwrap();

        let mut src = JournalSource::open(tmp.path()).unwrap();
        assert_eq!(src.meta(), Some(&meta()));
        assert!(src.describe().contains(&tmp.path().display().to_string()));
        let mut got = Vec::new();
        while let Some(e) = src.next_event().unwrap() {
            got.push(e);
        }
        let expected: Vec<Event> = (0..200).map(|i| Event { seq: 0, ..event(i) }).collect();
        assert_eq!(got, expected);
        assert_eq!(src.skipped(), 4);
        assert!(src.recovery().is_clean());
        assert_eq!(src.next_event().unwrap(), None);
    }

    #[test]
    fn errors_name_the_file() {
        let tmp = tempfile::tempdir().unwrap();
        let missing = tmp.path().join("absent");
        let err = JournalSource::open(&missing).err().unwrap();
        assert!(err.input.contains("absent"), "{err}");

        std::fs::write(tmp.path().join("seg-000000.mj"), b"garbage garbage garbage garbage garbage").unwrap();
        let err = JournalSource::open(tmp.path()).err().unwrap();
        assert!(err.input.ends_with("seg-000000.mj"), "{err}");
        assert_eq!(err.place, "offset 0");
        assert!(err.reason.contains("magic"), "{err}");
    }

    #[test]
    fn torn_tail_ends_the_stream_with_a_report() {
        let tmp = tempfile::tempdir().unwrap();
        let mut w = JournalWriter::create(tmp.path(), JournalConfig::with_segment_size(4096)).unwrap();
        for i in 0..10 {
            w.append_msg(&Msg::Market(event(i))).unwrap();
        }
        w.finish().unwrap();
        let path = tmp.path().join("seg-000000.mj");
        let len = std::fs::metadata(&path).unwrap().len();
        std::fs::OpenOptions::new().write(true).open(&path).unwrap().set_len(len - 10).unwrap();
        let mut src = JournalSource::open(tmp.path()).unwrap();
        assert_eq!(src.meta(), None);
        let mut n = 0;
        while src.next_event().unwrap().is_some() {
            n += 1;
        }
        assert_eq!(n, 9);
        assert_eq!(src.recovery().torn_at.as_ref().map(|t| t.1), Some(len - 72));
    }
}
