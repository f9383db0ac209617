//! The journal reader: iterates records across segments, stops at the first damaged record
//! and reports it, and repairs a damaged tail.

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::path::{Path, PathBuf};

use super::codec::{self, ArchiveScratch};
use super::frame::{self, Frame, SegmentHeader, SEGMENT_HEADER_LEN};
use super::{JournalError, JournalRecord, Recovery};

/// Lists the segment files of `dir` sorted by index, checking that the indices are 0, 1, 2, …
/// without gaps. Files whose names are not `seg-<6+ digits>.mj` are ignored.
pub(crate) fn list_segments(dir: &Path) -> Result<Vec<(u32, PathBuf)>, JournalError> {
    let rd = std::fs::read_dir(dir).map_err(|e| JournalError::io(dir, "read journal directory", e))?;
    let mut segs = Vec::new();
    for entry in rd {
        let entry = entry.map_err(|e| JournalError::io(dir, "read journal directory entry", e))?;
        let name = entry.file_name();
        if let Some(index) = name.to_str().and_then(frame::parse_segment_file_name) {
            segs.push((index, entry.path()));
        }
    }
    segs.sort_unstable_by_key(|s| s.0);
    for (expected, (index, path)) in segs.iter().enumerate() {
        if *index as usize != expected {
            let what = if *index as usize > expected { "missing" } else { "duplicate index for" };
            return Err(JournalError::Corrupt {
                path: dir.join(frame::segment_file_name(expected as u32)),
                offset: 0,
                reason: format!("{what} segment (next file found: {})", path.display()),
            });
        }
    }
    Ok(segs)
}

/// Reads a journal directory record by record, across segments, in append order.
///
/// Rules (see `docs/journal.md`):
/// - the end of a segment is its end of file or a zero length followed only by zeros; the
///   reader then continues with the next segment, and the journal ends after the last one;
/// - the first damaged record (length past the segment end, CRC mismatch, undecodable
///   payload, non-zero bytes after the end marker) ends the iteration *cleanly*: every
///   complete record before it has been returned and [`recovery`](Self::recovery) says where
///   and why. Nothing after the damage is read, even if it looks valid: appends tear only at
///   the tail, so damage elsewhere is corruption that must not be papered over;
/// - a segment that is not a journal segment (bad magic, bad header CRC, wrong index,
///   unsupported version), a gap in the segment numbering, or an I/O failure is a hard
///   [`JournalError`]. A zero-filled header in the *last* segment (creation interrupted by a
///   crash) is a torn tail, not an error.
///
/// Segments are read into one reused buffer (no mapping: a concurrent truncation cannot fault
/// the reader); reading fixed-size messages allocates nothing per record.
pub struct JournalReader {
    dir: PathBuf,
    segments: Vec<(u32, PathBuf)>,
    /// Index in `segments` of the segment loaded in `buf` (or to load next).
    cur: usize,
    loaded: bool,
    buf: Vec<u8>,
    off: usize,
    finished: bool,
    scratch: ArchiveScratch,
    recovery: Recovery,
}

impl JournalReader {
    /// Opens the journal in `dir`. Fails if `dir` is missing, unreadable, holds no segment or
    /// has a gap in its segment numbering.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, JournalError> {
        let dir = dir.as_ref().to_path_buf();
        let segments = list_segments(&dir)?;
        if segments.is_empty() {
            return Err(JournalError::NoSegments { dir });
        }
        Ok(Self {
            dir,
            segments,
            cur: 0,
            loaded: false,
            buf: Vec::new(),
            off: 0,
            finished: false,
            scratch: ArchiveScratch::new(),
            recovery: Recovery::default(),
        })
    }

    /// Reads a whole journal: its complete records and the recovery report.
    pub fn read_all(dir: impl AsRef<Path>) -> Result<(Vec<JournalRecord>, Recovery), JournalError> {
        let mut r = Self::open(dir)?;
        let mut out = Vec::new();
        while let Some(rec) = r.next_record()? {
            out.push(rec);
        }
        Ok((out, r.recovery))
    }

    /// Reads a whole journal, discarding the records, and returns the recovery report.
    pub fn scan(dir: impl AsRef<Path>) -> Result<Recovery, JournalError> {
        let mut r = Self::open(dir)?;
        while r.next_record()?.is_some() {}
        Ok(r.recovery)
    }

    /// Cuts a damaged tail so that appends continue right after the last complete record.
    ///
    /// - damage inside a segment: the segment file is truncated at the damage offset (the
    ///   writer re-extends it with zeros when appending);
    /// - a zero-filled header in the last segment: that file is deleted;
    /// - segment files after the damaged one are renamed `seg-NNNNNN.mj.orphan` (kept for
    ///   inspection, never read again).
    ///
    /// Returns the report of the scan that found the damage (clean: nothing was changed).
    /// Must not run while a writer has the journal open.
    pub fn repair(dir: impl AsRef<Path>) -> Result<Recovery, JournalError> {
        let dir = dir.as_ref();
        let rec = Self::scan(dir)?;
        let Some((path, offset)) = &rec.torn_at else {
            return Ok(rec);
        };
        let segments = list_segments(dir)?;
        let damaged = segments.iter().position(|(_, p)| p == path).unwrap_or(segments.len());
        for (_, later) in segments.iter().skip(damaged + 1) {
            let mut orphan = later.clone().into_os_string();
            orphan.push(".orphan");
            std::fs::rename(later, &orphan)
                .map_err(|e| JournalError::io(later, "rename orphan segment", e))?;
        }
        if (*offset as usize) < SEGMENT_HEADER_LEN {
            std::fs::remove_file(path).map_err(|e| JournalError::io(path, "remove torn segment", e))?;
        } else {
            let f = OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(|e| JournalError::io(path, "open segment for repair", e))?;
            f.set_len(*offset).map_err(|e| JournalError::io(path, "truncate torn tail", e))?;
            f.sync_all().map_err(|e| JournalError::io(path, "fsync repaired segment", e))?;
        }
        #[cfg(unix)]
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| JournalError::io(dir, "fsync journal directory", e))?;
        Ok(rec)
    }

    /// The journal directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The recovery report so far; final once [`next_record`](Self::next_record) returned
    /// `Ok(None)`.
    pub fn recovery(&self) -> &Recovery {
        &self.recovery
    }

    /// The next complete record, `Ok(None)` at the end of the journal or at the first damaged
    /// record (see [`recovery`](Self::recovery)). After an error or the end, keeps returning
    /// `Ok(None)`.
    pub fn next_record(&mut self) -> Result<Option<JournalRecord>, JournalError> {
        loop {
            if self.finished {
                return Ok(None);
            }
            if !self.loaded {
                if self.cur >= self.segments.len() {
                    self.finished = true;
                    return Ok(None);
                }
                if !self.load_segment()? {
                    return Ok(None);
                }
            }
            match frame::parse_frame(&self.buf, self.off) {
                Frame::End => {
                    self.loaded = false;
                    self.cur += 1;
                }
                Frame::Record { kind, payload, next } => {
                    match codec::decode_record(kind, payload, &mut self.scratch) {
                        Ok(rec) => {
                            self.off = next;
                            self.recovery.records += 1;
                            if let Some(end) = self.recovery.end.as_mut() {
                                end.1 = next as u64;
                            }
                            return Ok(Some(rec));
                        }
                        Err(e) => {
                            let reason = format!("undecodable record (kind {kind}): {e}");
                            self.damage(self.off, reason);
                            return Ok(None);
                        }
                    }
                }
                Frame::Damaged(d) => {
                    self.damage(self.off, d.to_string());
                    return Ok(None);
                }
            }
        }
    }

    /// Reads segment `cur` into the buffer and checks its header. Returns false when the
    /// header is a torn tail (iteration over), errors on a foreign or corrupt file.
    fn load_segment(&mut self) -> Result<bool, JournalError> {
        let (index, path) = &self.segments[self.cur];
        let (index, path) = (*index, path.clone());
        self.buf.clear();
        let res = File::open(&path).and_then(|mut f| {
            let len = f.metadata()?.len();
            self.buf.reserve(usize::try_from(len).unwrap_or(0));
            f.read_to_end(&mut self.buf)
        });
        if let Err(e) = res {
            self.finished = true;
            return Err(JournalError::io(&path, "read segment", e));
        }
        match SegmentHeader::decode(&self.buf) {
            Ok(h) if h.index == index => {}
            Ok(h) => {
                self.finished = true;
                return Err(JournalError::Corrupt {
                    path,
                    offset: 12,
                    reason: format!("header says segment {} but the file name says {index}", h.index),
                });
            }
            Err(p) if p.is_interrupted_creation() && self.cur + 1 == self.segments.len() => {
                self.recovery.segments += 1;
                self.damage(0, p.to_string());
                return Ok(false);
            }
            Err(p) => {
                self.finished = true;
                return Err(JournalError::Corrupt { path, offset: 0, reason: p.to_string() });
            }
        }
        self.recovery.segments += 1;
        self.recovery.end = Some((path, SEGMENT_HEADER_LEN as u64));
        self.off = SEGMENT_HEADER_LEN;
        self.loaded = true;
        Ok(true)
    }

    fn damage(&mut self, offset: usize, reason: String) {
        let path = self.segments[self.cur].1.clone();
        self.recovery.torn_at = Some((path, offset as u64));
        self.recovery.reason = Some(reason);
        self.recovery.later_segments = self.segments.len() - self.cur - 1;
        self.finished = true;
    }
}

impl Iterator for JournalReader {
    type Item = Result<JournalRecord, JournalError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_record().transpose()
    }
}
