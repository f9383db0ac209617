//! The journal writer: appends records into pre-sized, memory-mapped segment files.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use memmap2::MmapMut;

use super::codec::{self, RecordKind};
use super::frame::{self, SegmentHeader, FORMAT_VERSION, RECORD_HEADER_LEN, SEGMENT_HEADER_LEN};
use super::reader::{list_segments, JournalReader};
use super::{JournalConfig, JournalError, JournalRecord, JournalStats, Note, SessionEnd, SessionMeta};
use mia_model::msg::Msg;

/// Zeros used to preallocate segment files.
static ZEROS: [u8; 64 * 1024] = [0; 64 * 1024];

/// The segment being written.
struct Segment {
    index: u32,
    path: PathBuf,
    file: File,
    map: MmapMut,
    /// Offset of the next record slot (always 8-aligned).
    off: usize,
    /// Bytes `[0, flushed_to)` were handed to `msync`.
    flushed_to: usize,
}

impl Segment {
    /// Maps `file` (already sized) read-write.
    fn map(index: u32, path: PathBuf, file: File, off: usize) -> Result<Self, JournalError> {
        // SAFETY: `MmapMut::map_mut` is unsafe because the mapping aliases the file: if another
        // process or thread truncated or rewrote it while mapped, stores could fault (SIGBUS) or
        // race. The writer owns this segment: it created it (or took it over in `open_append`),
        // only this `Segment` writes it, and the journal protocol forbids truncating a segment
        // while a writer is open (`repair` runs before `open_append`, never concurrently).
        let map =
            unsafe { MmapMut::map_mut(&file) }.map_err(|e| JournalError::io(&path, "mmap segment", e))?;
        Ok(Self { index, path, file, map, off, flushed_to: 0 })
    }

    fn flush_async(&mut self) -> Result<(), JournalError> {
        if self.off > self.flushed_to {
            self.map
                .flush_async_range(self.flushed_to, self.off - self.flushed_to)
                .map_err(|e| JournalError::io(&self.path, "msync (async)", e))?;
            self.flushed_to = self.off;
        }
        Ok(())
    }

    /// Unmaps the segment and truncates the file to its used length. With `durable`, flushes
    /// synchronously and fsyncs the file; otherwise only starts the write-back (roll-over: the
    /// data is in the page cache, so a killed process loses nothing, and the journal thread
    /// does not stall for the whole segment's write-back).
    fn close(mut self, durable: bool) -> Result<(), JournalError> {
        if durable {
            self.map.flush_range(0, self.off).map_err(|e| JournalError::io(&self.path, "msync", e))?;
        } else {
            self.flush_async()?;
        }
        let Segment { path, file, map, off, .. } = self;
        drop(map);
        file.set_len(off as u64)
            .map_err(|e| JournalError::io(&path, "truncate segment to used length", e))?;
        if durable {
            file.sync_all().map_err(|e| JournalError::io(&path, "fsync segment", e))?;
        }
        Ok(())
    }
}

/// Appends records to a journal directory.
///
/// Fixed-size messages are encoded straight into the mapping (no allocation, no syscall);
/// a syscall happens only on [`flush`](Self::flush) and when a segment is full (roll-over:
/// the full segment's write-back is started (async msync), it is unmapped and truncated to its
/// used length, and the next one is created, pre-sized and mapped).
///
/// Durability: a store into the mapping is in the page cache at once, so a killed process loses
/// nothing it appended; surviving an OS crash or power loss needs [`flush`](Self::flush)
/// (async msync) / [`flush_sync`](Self::flush_sync) or [`finish`](Self::finish).
///
/// Dropping a writer without `finish` flushes asynchronously and leaves the last segment
/// pre-sized with its zero terminator, exactly like a crash that tore nothing.
pub struct JournalWriter {
    dir: PathBuf,
    cfg: JournalConfig,
    /// `None` only after `finish` (or a failed roll).
    seg: Option<Segment>,
    stats: JournalStats,
}

impl JournalWriter {
    /// Creates a new journal in `dir` (created if missing). Fails with
    /// [`JournalError::AlreadyExists`] if `dir` already holds a segment.
    pub fn create(dir: impl AsRef<Path>, cfg: JournalConfig) -> Result<Self, JournalError> {
        cfg.validate()?;
        let dir = dir.as_ref().to_path_buf();
        std::fs::create_dir_all(&dir).map_err(|e| JournalError::io(&dir, "create journal directory", e))?;
        if let Some((_, path)) = list_segments(&dir)?.into_iter().next() {
            return Err(JournalError::AlreadyExists { path });
        }
        let seg = create_segment(&dir, 0, &cfg)?;
        let stats = JournalStats { segments_created: 1, ..JournalStats::default() };
        Ok(Self { dir, cfg, seg: Some(seg), stats })
    }

    /// Opens an existing journal to append after its last complete record.
    ///
    /// The whole journal is read and checked first; a damaged tail is refused with
    /// [`JournalError::NeedsRepair`] (call [`JournalReader::repair`]). The last segment is
    /// re-extended to the configured size if it was truncated by `finish`. Counters in
    /// [`stats`](Self::stats) cover this writer only.
    pub fn open_append(dir: impl AsRef<Path>, cfg: JournalConfig) -> Result<Self, JournalError> {
        cfg.validate()?;
        let dir = dir.as_ref().to_path_buf();
        let rec = JournalReader::scan(&dir)?;
        if let (Some((path, offset)), Some(reason)) = (rec.torn_at, rec.reason) {
            return Err(JournalError::NeedsRepair { path, offset, reason });
        }
        let Some((path, end)) = rec.end else {
            return Err(JournalError::NoSegments { dir });
        };
        let index =
            path.file_name().and_then(|n| n.to_str()).and_then(frame::parse_segment_file_name).ok_or_else(
                || JournalError::Corrupt {
                    path: path.clone(),
                    offset: 0,
                    reason: "not a segment file name".into(),
                },
            )?;
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| JournalError::io(&path, "open segment for append", e))?;
        let len = file.metadata().map_err(|e| JournalError::io(&path, "stat segment", e))?.len();
        let off = frame::align8(end as usize);
        let target = frame::align8(len.max(cfg.segment_size) as usize) as u64;
        if target > len {
            extend(&mut file, &path, len, target, cfg.preallocate)?;
        }
        let seg = Segment::map(index, path, file, off)?;
        Ok(Self { dir, cfg, seg: Some(seg), stats: JournalStats::default() })
    }

    /// Opens the journal in `dir` for appending, repairing a damaged tail first, or creates
    /// it when `dir` holds no segment. Returns the repair report when a journal existed.
    pub fn open_or_create(
        dir: impl AsRef<Path>,
        cfg: JournalConfig,
    ) -> Result<(Self, Option<super::Recovery>), JournalError> {
        let dir = dir.as_ref();
        if dir.exists() && !list_segments(dir)?.is_empty() {
            let rec = JournalReader::repair(dir)?;
            if !list_segments(dir)?.is_empty() {
                return Ok((Self::open_append(dir, cfg)?, Some(rec)));
            }
            return Ok((Self::create(dir, cfg)?, Some(rec)));
        }
        Ok((Self::create(dir, cfg)?, None))
    }

    /// The journal directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Counters so far.
    pub fn stats(&self) -> &JournalStats {
        &self.stats
    }

    /// Path of the segment being written (`None` after a failed roll-over).
    pub fn current_segment(&self) -> Option<&Path> {
        self.seg.as_ref().map(|s| s.path.as_path())
    }

    /// Appends a stage message. No allocation; a syscall only when rolling to a new segment.
    #[inline]
    pub fn append_msg(&mut self, msg: &Msg) -> Result<(), JournalError> {
        let kind = RecordKind::of_msg(msg);
        let len = mia_model::msg::wire::len_of(msg);
        let seg = self.reserve(1 + len)?;
        let off = seg.off;
        let body = &mut seg.map[off + RECORD_HEADER_LEN..off + RECORD_HEADER_LEN + 1 + len];
        body[0] = kind as u8;
        let n = codec::encode_msg(msg, &mut body[1..]);
        debug_assert_eq!(n, len);
        seg.off = frame::commit_frame(&mut seg.map, off, 1 + len);
        let footprint = (seg.off - off) as u64;
        let s = &mut self.stats;
        s.records += 1;
        s.bytes += footprint;
        match kind {
            RecordKind::Event => s.events += 1,
            RecordKind::Signal => s.signals += 1,
            RecordKind::Intent => s.intents += 1,
            RecordKind::Fill => s.fills += 1,
            RecordKind::Exec | RecordKind::Control => s.side_inputs += 1,
            RecordKind::Meta
            | RecordKind::Note
            | RecordKind::SessionEnd
            | RecordKind::Features
            | RecordKind::Trade
            | RecordKind::Gamma => {}
        }
        Ok(())
    }

    /// Appends a feature snapshot (fixed size, no allocation).
    pub fn append_snapshot(
        &mut self,
        snap: &mia_model::features::FeatureSnapshot,
    ) -> Result<(), JournalError> {
        use mia_model::features::SNAPSHOT_LEN;
        let seg = self.reserve(1 + SNAPSHOT_LEN)?;
        let off = seg.off;
        let body = &mut seg.map[off + RECORD_HEADER_LEN..off + RECORD_HEADER_LEN + 1 + SNAPSHOT_LEN];
        body[0] = RecordKind::Features as u8;
        let mut buf = [0u8; SNAPSHOT_LEN];
        snap.encode(&mut buf);
        body[1..].copy_from_slice(&buf);
        seg.off = frame::commit_frame(&mut seg.map, off, 1 + SNAPSHOT_LEN);
        self.stats.bytes += (seg.off - off) as u64;
        self.stats.records += 1;
        self.stats.snapshots += 1;
        Ok(())
    }

    /// Appends a trade snapshot (record kind 8; no allocation).
    pub fn append_trade(&mut self, t: &crate::TradeSnapshot) -> Result<(), JournalError> {
        use crate::trade::TRADE_SNAPSHOT_LEN;
        let seg = self.reserve(1 + TRADE_SNAPSHOT_LEN)?;
        let off = seg.off;
        let body = &mut seg.map[off + RECORD_HEADER_LEN..off + RECORD_HEADER_LEN + 1 + TRADE_SNAPSHOT_LEN];
        body[0] = RecordKind::Trade as u8;
        let mut buf = [0u8; TRADE_SNAPSHOT_LEN];
        t.encode(&mut buf);
        body[1..].copy_from_slice(&buf);
        seg.off = frame::commit_frame(&mut seg.map, off, 1 + TRADE_SNAPSHOT_LEN);
        self.stats.bytes += (seg.off - off) as u64;
        self.stats.records += 1;
        self.stats.trade_snapshots += 1;
        Ok(())
    }

    /// Appends a gamma publication (allocates: cold path, the options thread).
    pub fn append_gamma(&mut self, g: &crate::GammaPublication) -> Result<(), JournalError> {
        self.append_variable(&JournalRecord::Gamma(g.clone()))
    }

    /// Appends session metadata (allocates: cold path).
    pub fn append_meta(&mut self, meta: &SessionMeta) -> Result<(), JournalError> {
        self.append_variable(&JournalRecord::Meta(meta.clone()))
    }

    /// Appends a free-text note (allocates: cold path).
    pub fn append_note(&mut self, note: &Note) -> Result<(), JournalError> {
        self.append_variable(&JournalRecord::Note(note.clone()))
    }

    /// Appends an end-of-session summary (allocates: cold path).
    pub fn append_session_end(&mut self, end: &SessionEnd) -> Result<(), JournalError> {
        self.append_variable(&JournalRecord::End(end.clone()))
    }

    /// Appends any record: messages go through [`append_msg`](Self::append_msg), the others
    /// are rkyv-serialized.
    pub fn append(&mut self, rec: &JournalRecord) -> Result<(), JournalError> {
        match rec {
            JournalRecord::Msg(m) => self.append_msg(m),
            JournalRecord::Features(f) => self.append_snapshot(f),
            JournalRecord::Trade(t) => self.append_trade(t),
            other => self.append_variable(other),
        }
    }

    fn append_variable(&mut self, rec: &JournalRecord) -> Result<(), JournalError> {
        let (kind, bytes) = codec::encode_variable(rec)
            .map_err(|e| JournalError::Encode { dir: self.dir.clone(), reason: e.to_string() })?;
        let body_len = 1 + bytes.len();
        if u32::try_from(body_len).is_err() {
            return Err(self.too_large(body_len));
        }
        let seg = self.reserve(body_len)?;
        let off = seg.off;
        let body = &mut seg.map[off + RECORD_HEADER_LEN..off + RECORD_HEADER_LEN + body_len];
        body[0] = kind as u8;
        body[1..].copy_from_slice(&bytes);
        seg.off = frame::commit_frame(&mut seg.map, off, body_len);
        self.stats.bytes += (seg.off - off) as u64;
        self.stats.records += 1;
        self.stats.variable += 1;
        Ok(())
    }

    fn too_large(&self, body_len: usize) -> JournalError {
        too_large(&self.dir, self.cfg.segment_size, body_len)
    }

    /// Returns the current segment with room for a record of `body_len` bytes (kind + payload),
    /// rolling to a new segment when the current one is full.
    #[inline]
    fn reserve(&mut self, body_len: usize) -> Result<&mut Segment, JournalError> {
        let need = frame::align8(RECORD_HEADER_LEN + body_len);
        let fits = match &self.seg {
            Some(s) => s.off + need <= s.map.len(),
            None => {
                return Err(JournalError::Io {
                    path: self.dir.clone(),
                    op: "append",
                    source: std::io::Error::other("journal writer is closed after a failed roll-over"),
                })
            }
        };
        if !fits {
            self.roll(need)?;
        }
        let (dir, segment_size) = (&self.dir, self.cfg.segment_size);
        self.seg.as_mut().ok_or_else(|| too_large(dir, segment_size, body_len))
    }

    #[cold]
    fn roll(&mut self, need: usize) -> Result<(), JournalError> {
        if SEGMENT_HEADER_LEN + need > self.cfg.segment_size as usize {
            return Err(self.too_large(need - RECORD_HEADER_LEN));
        }
        let Some(old) = self.seg.take() else {
            return Ok(());
        };
        let next_index = old.index.checked_add(1).ok_or_else(|| JournalError::Corrupt {
            path: old.path.clone(),
            offset: 0,
            reason: "segment index overflow".into(),
        })?;
        // Close the full segment (final size, write-back started) before the next one exists.
        old.close(false)?;
        self.seg = Some(create_segment(&self.dir, next_index, &self.cfg)?);
        self.stats.segments_created += 1;
        Ok(())
    }

    /// Starts writing back the appended bytes (async `msync` of the new range).
    pub fn flush(&mut self) -> Result<(), JournalError> {
        if let Some(s) = self.seg.as_mut() {
            if s.off > s.flushed_to {
                self.stats.flushes += 1;
            }
            s.flush_async()?;
        }
        Ok(())
    }

    /// Writes back the appended bytes and waits for the device (sync `msync`).
    pub fn flush_sync(&mut self) -> Result<(), JournalError> {
        if let Some(s) = self.seg.as_mut() {
            s.map.flush_range(0, s.off).map_err(|e| JournalError::io(&s.path, "msync", e))?;
            s.flushed_to = s.off;
            self.stats.flushes += 1;
        }
        Ok(())
    }

    /// Ends the journal: flushes synchronously, unmaps, truncates the last segment to its used
    /// length (no zero terminator is kept: the reader treats the end of a file as the end of a
    /// segment) and fsyncs it. Returns the counters.
    pub fn finish(mut self) -> Result<JournalStats, JournalError> {
        if let Some(seg) = self.seg.take() {
            seg.close(true)?;
            self.stats.flushes += 1;
        }
        sync_dir(&self.dir)?;
        Ok(std::mem::take(&mut self.stats))
    }
}

impl Drop for JournalWriter {
    fn drop(&mut self) {
        if let Some(s) = self.seg.as_mut() {
            // Best effort: the data is already in the page cache.
            let _ = s.flush_async();
        }
    }
}

fn too_large(dir: &Path, segment_size: u64, body_len: usize) -> JournalError {
    JournalError::RecordTooLarge {
        dir: dir.to_path_buf(),
        footprint: frame::align8(RECORD_HEADER_LEN + body_len),
        segment_size,
    }
}

/// Creates, sizes, maps and stamps segment `index`.
fn create_segment(dir: &Path, index: u32, cfg: &JournalConfig) -> Result<Segment, JournalError> {
    let path = dir.join(frame::segment_file_name(index));
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| JournalError::io(&path, "create segment", e))?;
    extend(&mut file, &path, 0, cfg.segment_size, cfg.preallocate)?;
    let mut seg = Segment::map(index, path, file, SEGMENT_HEADER_LEN)?;
    let header = SegmentHeader { version: FORMAT_VERSION, index, segment_size: cfg.segment_size };
    seg.map[..SEGMENT_HEADER_LEN].copy_from_slice(&header.encode());
    sync_dir(dir)?;
    Ok(seg)
}

/// Grows `file` from `from` to `to` bytes: zeros written when `preallocate`, else `set_len`.
fn extend(file: &mut File, path: &Path, from: u64, to: u64, preallocate: bool) -> Result<(), JournalError> {
    if preallocate {
        use std::io::{Seek, SeekFrom};
        file.seek(SeekFrom::Start(from)).map_err(|e| JournalError::io(path, "seek", e))?;
        let mut left = to - from;
        while left > 0 {
            let n = left.min(ZEROS.len() as u64) as usize;
            file.write_all(&ZEROS[..n]).map_err(|e| JournalError::io(path, "preallocate segment", e))?;
            left -= n as u64;
        }
    } else {
        file.set_len(to).map_err(|e| JournalError::io(path, "size segment", e))?;
    }
    Ok(())
}

/// Fsyncs a directory so newly created files survive an OS crash.
fn sync_dir(dir: &Path) -> Result<(), JournalError> {
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| JournalError::io(dir, "fsync journal directory", e))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}
