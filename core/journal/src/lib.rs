//! The session journal: an append-only, CRC-framed record log in pre-sized, memory-mapped
//! segment files (see `docs/journal.md` for the full format and the recovery rules).
//!
//! - [`JournalWriter`] appends [`Msg`]s (hand-coded fixed-size payloads, no allocation per
//!   record) and variable records ([`SessionMeta`], [`Note`], [`SessionEnd`], rkyv archives).
//! - [`JournalReader`] iterates the records of a journal directory in order; a damaged tail
//!   (torn write, checksum mismatch, undecodable record) ends the iteration and is described by
//!   a [`Recovery`]; [`JournalReader::repair`] cuts it so appends can resume.
//! - [`spawn_journal_writer`] runs a writer on a cold thread that drains SPSC tap rings.
//!
//! A journal directory holds `seg-000000.mj`, `seg-000001.mj`, …; each segment starts with a
//! 32-byte header (magic, version, index) followed by 8-byte aligned records
//! `[len: u32 LE][crc32: u32 LE][kind: u8][payload]` where `len` counts the kind byte and the
//! payload, and the CRC covers the same bytes. A zero `len` marks the end of written data.

pub mod codec;
pub mod frame;
mod reader;
mod thread;
pub mod trade;
mod writer;

use std::path::{Path, PathBuf};

pub use reader::JournalReader;
pub use thread::{spawn_journal_writer, JournalThreadConfig, Journaled};
pub use trade::{Moment, TradeSnapshot};
pub use writer::JournalWriter;

use mia_model::msg::Msg;
use mia_runtime::source::SourceError;

/// Default segment size: 64 MiB.
pub const DEFAULT_SEGMENT_SIZE: u64 = 64 * 1024 * 1024;

/// Writer configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JournalConfig {
    /// Size every new segment file is pre-sized to, in bytes (multiple of 8, between
    /// [`frame::MIN_SEGMENT_SIZE`] and [`frame::MAX_SEGMENT_SIZE`]). A record never spans
    /// segments, so this also bounds the largest record.
    pub segment_size: u64,
    /// Physically allocate new segments by writing zeros (true, default) instead of creating
    /// sparse files. With a sparse file a full disk surfaces as `SIGBUS` on a store into the
    /// mapping; preallocation turns it into an error when the segment is created.
    pub preallocate: bool,
}

impl Default for JournalConfig {
    fn default() -> Self {
        Self { segment_size: DEFAULT_SEGMENT_SIZE, preallocate: true }
    }
}

impl JournalConfig {
    /// A default configuration with a different segment size.
    pub fn with_segment_size(segment_size: u64) -> Self {
        Self { segment_size, ..Self::default() }
    }

    /// Checks the configuration.
    pub fn validate(&self) -> Result<(), JournalError> {
        let s = self.segment_size;
        if !(frame::MIN_SEGMENT_SIZE..=frame::MAX_SEGMENT_SIZE).contains(&s) || s & 7 != 0 {
            return Err(JournalError::Config {
                reason: format!(
                    "segment_size {s} must be a multiple of 8 in [{}, {}]",
                    frame::MIN_SEGMENT_SIZE,
                    frame::MAX_SEGMENT_SIZE
                ),
            });
        }
        Ok(())
    }
}

/// Session metadata, written first in every session (rkyv-serialized).
#[derive(Clone, Debug, PartialEq, Eq, Default, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct SessionMeta {
    /// Input description (feed name, file path, broker).
    pub source: String,
    /// Random seed of the session (synthetic market, ML), 0 when unused.
    pub seed: u64,
    /// Run mode (`backtest`, `paper`, `live`, …).
    pub mode: String,
    /// The full effective configuration, as TOML.
    pub config_toml: String,
    /// Wall-clock creation time, ns since the UNIX epoch.
    pub created_unix_ns: u64,
    /// Version of the program that wrote the journal.
    pub version: String,
}

impl SessionMeta {
    /// Metadata stamped with the current wall-clock time and this crate's version.
    pub fn now(
        source: impl Into<String>,
        seed: u64,
        mode: impl Into<String>,
        config_toml: impl Into<String>,
    ) -> Self {
        Self {
            source: source.into(),
            seed,
            mode: mode.into(),
            config_toml: config_toml.into(),
            created_unix_ns: unix_now_ns(),
            version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }
}

/// A free-text annotation (operator note, alert, config reload), rkyv-serialized.
#[derive(Clone, Debug, PartialEq, Eq, Default, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct Note {
    /// Wall-clock time, ns since the UNIX epoch.
    pub unix_ns: u64,
    /// The note.
    pub text: String,
}

/// A gamma-snapshot publication of a live session (rkyv): publication `n`'s levels as
/// bit-exact words (`mia_options::levels::GammaLevels` through `mia_model::words::Words`;
/// the journal does not depend on the options crate). Written by the options thread to
/// `RUN_DIR/gamma/` *before* it announces `GammaPublished { arg: n }`, so a replay can put
/// every publication back on the board and adopt it at the same sequenced point.
#[derive(Clone, Debug, PartialEq, Eq, Default, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct GammaPublication {
    /// Publication number (the `arg` of its `GammaPublished` control).
    pub n: u64,
    /// Wall-clock time of the publication, ns since the UNIX epoch.
    pub unix_ns: u64,
    /// The levels' words.
    pub words: Vec<u64>,
}

/// End-of-session summary with the session's counters, rkyv-serialized. Its absence at the
/// end of a journal means the session did not end cleanly.
#[derive(Clone, Debug, PartialEq, Eq, Default, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct SessionEnd {
    /// Market events journaled in the session.
    pub events: u64,
    /// Signals journaled in the session.
    pub signals: u64,
    /// Order intents journaled in the session.
    pub orders: u64,
    /// Fills journaled in the session.
    pub fills: u64,
    /// Wall-clock end time, ns since the UNIX epoch.
    pub unix_ns: u64,
    /// Why the session ended.
    pub reason: String,
}

/// One journal record.
#[derive(Clone, Debug, PartialEq)]
pub enum JournalRecord {
    /// A stage message (market event, signal, order intent, fill).
    Msg(Msg),
    /// Session metadata.
    Meta(SessionMeta),
    /// A free-text note.
    Note(Note),
    /// An end-of-session summary.
    End(SessionEnd),
    /// A feature snapshot (the features journal of a run).
    Features(mia_model::features::FeatureSnapshot),
    /// A gamma publication (the gamma journal of a live run).
    Gamma(GammaPublication),
    /// A trade snapshot at an entry or an exit (the features journal of a run; format 5).
    Trade(TradeSnapshot),
}

/// Counters of a writer (or of the journal thread).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JournalStats {
    /// All records appended.
    pub records: u64,
    /// Market events appended.
    pub events: u64,
    /// Signals appended.
    pub signals: u64,
    /// Order intents appended.
    pub intents: u64,
    /// Fills appended.
    pub fills: u64,
    /// Execution reports and control inputs appended.
    pub side_inputs: u64,
    /// Feature snapshots appended.
    pub snapshots: u64,
    /// Trade snapshots appended.
    pub trade_snapshots: u64,
    /// Variable records (meta, notes, session ends) appended.
    pub variable: u64,
    /// Bytes appended (record footprints, padding included).
    pub bytes: u64,
    /// Segment files created by this writer.
    pub segments_created: u64,
    /// Flushes (msync) issued.
    pub flushes: u64,
    /// Envelopes drained from each tap ring, in tap order (journal thread only).
    pub per_tap: Vec<u64>,
}

/// What a read (or a repair) found at the end of a journal.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Complete records read before the end or the damage.
    pub records: u64,
    /// Segments opened.
    pub segments: usize,
    /// Where the damage starts (segment path, byte offset), `None` when the journal ended
    /// cleanly.
    pub torn_at: Option<(PathBuf, u64)>,
    /// Why the data at `torn_at` was rejected, `None` when clean.
    pub reason: Option<String>,
    /// Segment files after the damaged one (never read; `repair` renames them `*.orphan`).
    pub later_segments: usize,
    /// Position just after the last complete record (segment path, byte offset): where the
    /// next append goes. `None` before the first segment was opened.
    pub end: Option<(PathBuf, u64)>,
}

impl Recovery {
    /// True when the journal ended without damage.
    pub fn is_clean(&self) -> bool {
        self.torn_at.is_none()
    }
}

/// Journal errors. Every variant names the file (or directory) concerned.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// An I/O operation failed.
    #[error("{}: {op}: {source}", .path.display())]
    Io {
        /// File or directory.
        path: PathBuf,
        /// What was being done.
        op: &'static str,
        /// The OS error.
        source: std::io::Error,
    },
    /// A file is not a valid journal segment, or the segment set is inconsistent.
    #[error("{}: offset {offset}: {reason}", .path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Byte offset of the problem.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// The directory holds no segment file.
    #[error("{}: no journal segments (expected seg-000000.mj)", .dir.display())]
    NoSegments {
        /// The directory.
        dir: PathBuf,
    },
    /// `create` found an existing journal.
    #[error("{}: already holds a journal segment; use JournalWriter::open_append", .path.display())]
    AlreadyExists {
        /// The existing segment.
        path: PathBuf,
    },
    /// `open_append` found a damaged tail.
    #[error("{}: offset {offset}: damaged tail ({reason}); run JournalReader::repair first", .path.display())]
    NeedsRepair {
        /// The damaged segment.
        path: PathBuf,
        /// Where the damage starts.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// A record is larger than a segment can hold.
    #[error("{}: record of {footprint} bytes does not fit in a {segment_size}-byte segment", .dir.display())]
    RecordTooLarge {
        /// Journal directory.
        dir: PathBuf,
        /// Bytes the record needs.
        footprint: usize,
        /// Configured segment size.
        segment_size: u64,
    },
    /// A variable record could not be serialized.
    #[error("{}: cannot encode record: {reason}", .dir.display())]
    Encode {
        /// Journal directory.
        dir: PathBuf,
        /// Why.
        reason: String,
    },
    /// Invalid configuration.
    #[error("invalid journal config: {reason}")]
    Config {
        /// Why.
        reason: String,
    },
}

impl JournalError {
    pub(crate) fn io(path: &Path, op: &'static str, source: std::io::Error) -> Self {
        Self::Io { path: path.to_path_buf(), op, source }
    }

    /// The file or directory the error is about.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Self::Io { path, .. }
            | Self::Corrupt { path, .. }
            | Self::AlreadyExists { path }
            | Self::NeedsRepair { path, .. } => Some(path),
            Self::NoSegments { dir } | Self::RecordTooLarge { dir, .. } | Self::Encode { dir, .. } => {
                Some(dir)
            }
            Self::Config { .. } => None,
        }
    }

    /// The byte offset the error is about, when there is one.
    pub fn offset(&self) -> Option<u64> {
        match self {
            Self::Corrupt { offset, .. } | Self::NeedsRepair { offset, .. } => Some(*offset),
            _ => None,
        }
    }

    /// Converts to the feeds' [`SourceError`] (input = path, place = offset).
    pub fn to_source_error(&self) -> SourceError {
        let input = self.path().map(|p| p.display().to_string()).unwrap_or_else(|| "journal".into());
        let place = self.offset().map(|o| format!("offset {o}")).unwrap_or_else(|| "-".into());
        let reason = match self {
            Self::Io { op, source, .. } => format!("{op}: {source}"),
            Self::Corrupt { reason, .. } | Self::NeedsRepair { reason, .. } => reason.clone(),
            other => other.to_string(),
        };
        SourceError::new(input, place, reason)
    }
}

/// Wall-clock now, ns since the UNIX epoch (0 if the clock is before the epoch).
pub use mia_runtime::clock::wall_ns as unix_now_ns;
