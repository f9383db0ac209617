//! Follow mode: a `.scid` file read while Sierra Chart appends to it, as a blocking
//! [`EventSource`].
//!
//! Sierra Chart buffers streaming data and writes it to the intraday file every 5 s by default
//! ("Intraday File Flush Time in Milliseconds"), so the file grows in bursts and may, for a
//! moment, end inside a record. [`ScidFollowSource`]:
//!
//! - polls the file's length every [`FollowOptions::poll`] and reads only **whole** records
//!   from the offset after the last one decoded; a partial record at the end stays in the file
//!   and is read, whole, once the rest of it is written (nothing is consumed twice or skipped:
//!   the read offset only moves by whole records);
//! - decodes them with the same [`ScidDecoder`] as [`ScidSource`](super::scid::ScidSource)
//!   (an unbundled trade split across two flushes stays one exchange event);
//! - treats a file that became shorter than what was read, a changed header, a changed last
//!   record or (on Unix) a different file at the path as an error naming the file: the data
//!   already delivered no longer matches the file, so going on could duplicate or lose records;
//! - blocks (sleeping between polls) while there is nothing new, and ends when the stop flag is
//!   set: it then reads the whole records present at that moment and returns `Ok(None)` after
//!   them (a partial record left at the end is reported by
//!   [`partial_tail_bytes`](ScidFollowSource::partial_tail_bytes), not decoded).
//!
//! The latency of a follow-mode feed is the flush interval plus the poll interval: it is a
//! paper-trading and monitoring feed, not an execution-grade one (see `docs/sierra.md`).

use std::fs::File;
use std::io::{Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use mia_model::event::Event;
use mia_runtime::source::{EventSource, SourceError};

use super::scid::{
    read_up_to, record_place, ScidDecoder, ScidHeader, ScidOptions, ScidRecord, HEADER_LEN, RECORD_LEN,
};
use crate::normalize::EventBuf;

/// Records read per poll at most.
const RECORDS_PER_READ: usize = 4096;

/// Options of a [`ScidFollowSource`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FollowOptions {
    /// How records become events.
    pub scid: ScidOptions,
    /// Time between two looks at the file's length when there is nothing new.
    pub poll: Duration,
}

impl Default for FollowOptions {
    fn default() -> Self {
        Self { scid: ScidOptions::default(), poll: Duration::from_millis(100) }
    }
}

/// Identity of the file at the path (inode on Unix), to notice a replaced file.
#[cfg(unix)]
fn file_id(m: &std::fs::Metadata) -> u64 {
    use std::os::unix::fs::MetadataExt;
    m.ino()
}

#[cfg(not(unix))]
fn file_id(_: &std::fs::Metadata) -> u64 {
    0
}

/// A `.scid` file followed while it grows (see the module doc).
pub struct ScidFollowSource {
    input: String,
    path: PathBuf,
    file: File,
    id: u64,
    header: [u8; HEADER_LEN],
    /// Byte offset of the next whole record to read.
    next_off: u64,
    /// Index of that record.
    record: u64,
    /// The last record decoded, to notice a rewrite.
    last: Option<[u8; RECORD_LEN]>,
    buf: Vec<u8>,
    buf_len: usize,
    buf_pos: usize,
    decoder: ScidDecoder,
    events: EventBuf,
    ev_pos: usize,
    stop: Arc<AtomicBool>,
    poll: Duration,
    partial: u64,
    ended: bool,
}

impl std::fmt::Debug for ScidFollowSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScidFollowSource").field("input", &self.input).field("record", &self.record).finish()
    }
}

impl ScidFollowSource {
    /// Opens `path` (its header must be complete and valid) to follow it until `stop` is set.
    ///
    /// # Errors
    /// The file cannot be opened, or its header is invalid or incomplete.
    pub fn open(
        path: impl AsRef<Path>,
        opts: FollowOptions,
        stop: Arc<AtomicBool>,
    ) -> Result<Self, SourceError> {
        let path = path.as_ref().to_path_buf();
        let input = path.display().to_string();
        let mut file =
            File::open(&path).map_err(|e| SourceError::new(&input, "open", format!("cannot open: {e}")))?;
        let id = file.metadata().map(|m| file_id(&m)).unwrap_or(0);
        let mut header = [0u8; HEADER_LEN];
        let got = read_up_to(&mut file, &mut header)
            .map_err(|e| SourceError::new(&input, "byte offset 0", format!("read error: {e}")))?;
        ScidHeader::parse(&header[..got], &input)?;
        Ok(Self {
            input,
            path,
            file,
            id,
            header,
            next_off: HEADER_LEN as u64,
            record: 0,
            last: None,
            buf: vec![0u8; RECORDS_PER_READ * RECORD_LEN],
            buf_len: 0,
            buf_pos: 0,
            decoder: ScidDecoder::new(opts.scid),
            events: EventBuf::new(),
            ev_pos: 0,
            stop,
            poll: opts.poll,
            partial: 0,
            ended: false,
        })
    }

    /// Records decoded so far.
    pub fn records_read(&self) -> u64 {
        self.record
    }

    /// Bytes of an incomplete record after the last whole one, at the last look.
    pub fn partial_tail_bytes(&self) -> u64 {
        self.partial
    }

    fn error(&self, place: String, reason: String) -> SourceError {
        SourceError::new(&self.input, place, reason)
    }

    /// Checks that the file still holds what was read: same file, not shorter, same header,
    /// same last record. Returns its length.
    fn check(&mut self) -> Result<u64, SourceError> {
        let meta = std::fs::metadata(&self.path)
            .map_err(|e| self.error(format!("byte offset {}", self.next_off), format!("cannot stat: {e}")))?;
        if file_id(&meta) != self.id {
            return Err(self.error(
                format!("byte offset {}", self.next_off),
                "the file was replaced by another one while it was followed".into(),
            ));
        }
        let len = meta.len();
        if len < self.next_off {
            return Err(self.error(
                format!("byte offset {len}"),
                format!("the file was truncated to {len} bytes after {} bytes were read", self.next_off),
            ));
        }
        Ok(len)
    }

    /// Reads up to `dst.len()` bytes at `off`.
    fn read_into(file: &mut File, input: &str, off: u64, dst: &mut [u8]) -> Result<usize, SourceError> {
        let place = format!("byte offset {off}");
        file.seek(SeekFrom::Start(off))
            .map_err(|e| SourceError::new(input, place.clone(), format!("seek error: {e}")))?;
        read_up_to(file, dst).map_err(|e| SourceError::new(input, place, format!("read error: {e}")))
    }

    /// Verifies the header and the last record read against the file's bytes.
    fn verify_prefix(&mut self) -> Result<(), SourceError> {
        let mut head = [0u8; HEADER_LEN];
        let got = Self::read_into(&mut self.file, &self.input, 0, &mut head)?;
        if got < HEADER_LEN || head != self.header {
            return Err(
                self.error("byte offset 0".into(), "the header changed: the file was rewritten".into())
            );
        }
        if let Some(last) = self.last {
            let off = self.next_off - RECORD_LEN as u64;
            let mut rec = [0u8; RECORD_LEN];
            let got = Self::read_into(&mut self.file, &self.input, off, &mut rec)?;
            if got < RECORD_LEN || rec != last {
                return Err(self.error(
                    record_place(self.record - 1),
                    "the last record read changed: the file was rewritten".into(),
                ));
            }
        }
        Ok(())
    }

    /// Reads the whole records now in the file (up to one buffer) into the buffer; false when
    /// there is none. Only called with an empty buffer, so `next_off` is the read offset.
    fn poll_once(&mut self) -> Result<bool, SourceError> {
        let len = self.check()?;
        let whole = (len - self.next_off) / RECORD_LEN as u64;
        self.partial = (len - self.next_off) % RECORD_LEN as u64;
        if whole == 0 {
            return Ok(false);
        }
        self.verify_prefix()?;
        let want = (whole as usize).min(RECORDS_PER_READ) * RECORD_LEN;
        let Some(dst) = self.buf.get_mut(..want) else { return Ok(false) };
        let got = Self::read_into(&mut self.file, &self.input, self.next_off, dst)?;
        if got < want {
            return Err(self.error(
                format!("byte offset {}", self.next_off + got as u64),
                format!("the file was truncated while it was read ({got} of {want} bytes)"),
            ));
        }
        self.buf_len = want;
        self.buf_pos = 0;
        Ok(true)
    }

    /// Decodes the next buffered record.
    fn decode_next(&mut self) -> Result<(), SourceError> {
        let mut raw = [0u8; RECORD_LEN];
        if let Some(b) = self.buf.get(self.buf_pos..self.buf_pos + RECORD_LEN) {
            raw.copy_from_slice(b);
        }
        self.buf_pos += RECORD_LEN;
        let rec = ScidRecord::from_bytes(&raw);
        if let Err(reason) = self.decoder.decode(&rec, &mut self.events) {
            return Err(self.error(record_place(self.record), reason));
        }
        self.record += 1;
        self.next_off += RECORD_LEN as u64;
        self.last = Some(raw);
        Ok(())
    }
}

impl EventSource for ScidFollowSource {
    fn describe(&self) -> &str {
        &self.input
    }

    fn next_event(&mut self) -> Result<Option<Event>, SourceError> {
        loop {
            if let Some(e) = self.events.get(self.ev_pos) {
                self.ev_pos += 1;
                return Ok(Some(e));
            }
            self.events.clear();
            self.ev_pos = 0;
            if self.ended {
                return Ok(None);
            }
            // Read the stop flag before looking at the file: what was written before the stop
            // is read in full.
            if self.buf_pos < self.buf_len {
                self.decode_next()?;
                continue;
            }
            let stopping = self.stop.load(Ordering::Acquire);
            if self.poll_once()? {
                continue;
            }
            if stopping {
                self.ended = true;
                self.decoder.finish(&mut self.events);
                continue;
            }
            std::thread::sleep(self.poll);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::scid::tests::{file_bytes, sample_records};
    use super::super::scid::{ScidSource, SC_EPOCH_TO_UNIX_US};
    use super::*;
    use std::io::Write;

    fn opts() -> FollowOptions {
        FollowOptions { poll: Duration::from_millis(1), ..FollowOptions::default() }
    }

    fn records(n: usize) -> Vec<ScidRecord> {
        let base = sample_records();
        (0..n)
            .map(|i| ScidRecord {
                date_time: SC_EPOCH_TO_UNIX_US + 1_700_000_000_000_000 + i as i64,
                ..base[i % 10]
            })
            .collect()
    }

    #[test]
    fn a_file_growing_in_partial_records_is_followed_without_loss_or_duplication() {
        let d = tempfile::tempdir().expect("tmp");
        let p = d.path().join("ESH6_FUT_CME.scid");
        let bytes = file_bytes(&records(3000));
        std::fs::write(&p, &bytes[..HEADER_LEN + 7]).expect("header and a partial record");
        let stop = Arc::new(AtomicBool::new(false));
        let mut src = ScidFollowSource::open(&p, opts(), stop.clone()).expect("open");
        let writer = {
            let p = p.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut f = std::fs::OpenOptions::new().append(true).open(&p).expect("append");
                let mut off = HEADER_LEN + 7;
                let mut x: u64 = 0x9e37_79b9;
                while off < bytes.len() {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    // Chunks of 1..=250 bytes: most flushes end inside a record.
                    let n = ((x % 250) as usize + 1).min(bytes.len() - off);
                    f.write_all(&bytes[off..off + n]).expect("write");
                    f.flush().expect("flush");
                    off += n;
                    if x.is_multiple_of(7) {
                        std::thread::sleep(Duration::from_micros(300));
                    }
                }
                stop.store(true, Ordering::Release);
            })
        };
        let mut got = Vec::new();
        while let Some(e) = src.next_event().expect("follow") {
            got.push(e);
        }
        writer.join().expect("writer");
        assert_eq!(src.records_read(), 3000);
        assert_eq!(src.partial_tail_bytes(), 0);
        let mut whole = ScidSource::open(&p).expect("open");
        let mut want = Vec::new();
        while let Some(e) = whole.next_event().expect("read") {
            want.push(e);
        }
        assert_eq!(got.len(), want.len());
        assert!(got == want, "the followed stream equals the stream of the finished file");
    }

    #[test]
    fn truncation_and_rewrite_are_errors_naming_the_file() {
        let d = tempfile::tempdir().expect("tmp");
        let p = d.path().join("f.scid");
        let bytes = file_bytes(&records(20));
        std::fs::write(&p, &bytes).expect("write");
        let stop = Arc::new(AtomicBool::new(false));
        let mut src = ScidFollowSource::open(&p, opts(), stop.clone()).expect("open");
        for _ in 0..20 {
            assert!(src.next_event().expect("read").is_some());
        }
        // Keep the handle's inode: truncate in place.
        let f = std::fs::OpenOptions::new().write(true).open(&p).expect("open");
        f.set_len((HEADER_LEN + 5 * RECORD_LEN) as u64).expect("truncate");
        let e = loop {
            match src.next_event() {
                Ok(Some(_)) => {}
                Ok(None) => panic!("must not end"),
                Err(e) => break e,
            }
        };
        assert!(e.input.ends_with("f.scid") && e.reason.contains("truncated"), "{e}");

        // A rewrite of the last record read, then growth.
        std::fs::write(&p, &bytes[..HEADER_LEN + 4 * RECORD_LEN]).expect("write");
        let mut src = ScidFollowSource::open(&p, opts(), stop.clone()).expect("open");
        while src.records_read() < 4 {
            src.next_event().expect("read");
        }
        let mut changed = bytes.clone();
        changed[HEADER_LEN + 3 * RECORD_LEN + 12] ^= 0x40;
        let mut f = std::fs::OpenOptions::new().write(true).open(&p).expect("open");
        f.write_all(&changed[..HEADER_LEN + 6 * RECORD_LEN]).expect("rewrite");
        drop(f);
        let e = loop {
            match src.next_event() {
                Ok(_) => {}
                Err(e) => break e,
            }
        };
        assert!(e.reason.contains("rewritten") && e.place.starts_with("record 3 "), "{e}");
        stop.store(true, Ordering::Release);
    }

    #[test]
    fn the_stop_flag_ends_an_idle_follow() {
        let d = tempfile::tempdir().expect("tmp");
        let p = d.path().join("idle.scid");
        std::fs::write(&p, file_bytes(&records(2))).expect("write");
        let stop = Arc::new(AtomicBool::new(false));
        let mut src = ScidFollowSource::open(&p, opts(), stop.clone()).expect("open");
        let s2 = stop.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            s2.store(true, Ordering::Release);
        });
        let mut n = 0;
        while src.next_event().expect("read").is_some() {
            n += 1;
        }
        t.join().expect("stopper");
        assert!(n >= 2 && src.records_read() == 2, "{n}");
    }
}
