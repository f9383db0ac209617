//! Databento Binary Encoding (DBN) files as [`EventSource`]s.
//!
//! [`DbnReader`] decodes a DBN file (DBN versions 1 to 3, uncompressed or Zstandard-compressed,
//! detected from the first bytes) record by record with the `dbn` crate's sans-I/O state machine,
//! without per-record allocation: records are borrowed from one 64 KiB buffer. It owns the I/O so
//! that it can name the byte offset of any corrupt or truncated record (the `dbn` crate's own
//! decoders silently stop at a truncated tail).
//!
//! [`DbnFileSource`] normalizes the records of an MBO, MBP-1, MBP-10, TBBO or trades file to
//! [`Event`]s with the normalizers of [`crate::normalize`]. [`Mbp10IterSource`] does the same for
//! any iterator of MBP-10 records (the synthetic market).
//!
//! Every failure is a [`SourceError`] naming the file, the place (byte offset and/or record index)
//! and the reason; nothing here panics on bad input.

use std::fs::File;
use std::io::{BufReader, ErrorKind, Read};
use std::path::Path;

use dbn::decode::dbn::fsm::{DbnFsm, ProcessResult};
use dbn::decode::DynReader;
use dbn::{HasRType, MboMsg, Mbp10Msg, Mbp1Msg, Metadata, RecordRef, Schema, TradeMsg};
use mia_model::book::mbo::{MboConfig, MboStats};
use mia_model::event::Event;
use mia_runtime::source::{EventSource, SourceError};

use crate::normalize::{
    EventBuf, MboNormalizer, Mbp10Normalizer, Mbp1Normalizer, TbboNormalizer, TradeNormalizer,
};

/// Size of the DBN prelude: `"DBN"`, the version byte, the metadata length (u32 LE).
const PRELUDE_LEN: usize = 8;

/// Largest metadata accepted (symbol lists of real files are far smaller); a corrupt length
/// field must not make the decoder allocate gigabytes.
const MAX_METADATA_LEN: u32 = 64 << 20;

/// Reads `buf.len()` bytes unless the input ends first; returns how many were read.
fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// A record-level DBN file decoder that names the place of every error.
pub struct DbnReader {
    input: String,
    reader: DynReader<'static, BufReader<File>>,
    fsm: DbnFsm,
    metadata: Metadata,
    /// Bytes handed to the state machine (decompressed bytes for a `.zst` file).
    fed: u64,
    /// Records returned so far.
    records: u64,
    /// Offset of the next record, exact when records are not upgraded from DBN v1/v2.
    next_offset: u64,
    /// Offset of the record returned last.
    last_offset: u64,
    exact_offsets: bool,
    compressed: bool,
}

impl std::fmt::Debug for DbnReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbnReader")
            .field("input", &self.input)
            .field("schema", &self.metadata.schema)
            .field("records", &self.records)
            .field("compressed", &self.compressed)
            .finish_non_exhaustive()
    }
}

impl DbnReader {
    /// Opens `path` and decodes its metadata.
    ///
    /// # Errors
    /// The file cannot be opened or read, is not DBN (or zstd-compressed DBN), has an
    /// unsupported DBN version, or its metadata is corrupt.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, SourceError> {
        let path = path.as_ref();
        let input = path.display().to_string();
        let err = |place: &str, reason: String| SourceError::new(input.clone(), place, reason);
        let file = File::open(path).map_err(|e| err("open", format!("cannot open: {e}")))?;
        let file_len = file.metadata().map(|m| m.len()).ok();
        let mut reader =
            DynReader::new_inferred(file).map_err(|e| err("byte offset 0", format!("cannot read: {e}")))?;
        let compressed = reader.is_compressed();
        let mut prelude = [0u8; PRELUDE_LEN];
        let got = read_up_to(&mut reader, &mut prelude)
            .map_err(|e| err("byte offset 0", format!("cannot read: {e}")))?;
        if got < 3 || &prelude[..3] != b"DBN" {
            return Err(err("byte offset 0", "not a DBN file (no \"DBN\" signature)".into()));
        }
        if got < PRELUDE_LEN {
            return Err(err(
                &format!("byte offset {got}"),
                format!("truncated DBN header: {got} of {PRELUDE_LEN} bytes"),
            ));
        }
        let version = prelude[3];
        if !(1..=dbn::DBN_VERSION).contains(&version) {
            return Err(err(
                "byte offset 3",
                format!(
                    "unsupported DBN version {version} (this reader decodes versions 1 to {})",
                    dbn::DBN_VERSION
                ),
            ));
        }
        let meta_len = u32::from_le_bytes([prelude[4], prelude[5], prelude[6], prelude[7]]);
        let too_long = meta_len > MAX_METADATA_LEN
            || (!compressed && file_len.is_some_and(|l| u64::from(meta_len) > l.saturating_sub(8)));
        if too_long {
            return Err(err(
                "byte offset 4",
                format!("corrupt DBN header: metadata length {meta_len} exceeds the input"),
            ));
        }
        // Records are decoded as they are (no v1/v2 → v3 upgrade): the schemas read here have
        // the same layout in every version, and the crate's upgrade path asserts (panics) on a
        // malformed record length instead of returning an error (found by fuzzing).
        let mut fsm = DbnFsm::builder()
            .upgrade_policy(dbn::VersionUpgradePolicy::AsIs)
            .build()
            .map_err(|e| err("metadata", format!("cannot configure the DBN decoder: {e}")))?;
        fsm.write_all(&prelude);
        let mut this = Self {
            input,
            reader,
            fsm,
            metadata: Metadata::builder()
                .dataset(String::new())
                .schema(None)
                .start(0)
                .stype_in(None)
                .stype_out(dbn::SType::InstrumentId)
                .build(),
            fed: PRELUDE_LEN as u64,
            records: 0,
            next_offset: 0,
            last_offset: 0,
            exact_offsets: version == dbn::DBN_VERSION,
            compressed,
        };
        this.metadata = this.decode_metadata()?;
        this.next_offset = this.fed - this.fsm.data().len() as u64;
        Ok(this)
    }

    fn decode_metadata(&mut self) -> Result<Metadata, SourceError> {
        loop {
            match self.fsm.process() {
                ProcessResult::Metadata(m) => return Ok(m),
                ProcessResult::ReadMore(_) => {
                    if self.fill()? == 0 {
                        return Err(self.error_here(format!(
                            "truncated DBN metadata: the input ends after {} bytes",
                            self.fed
                        )));
                    }
                }
                ProcessResult::Err(e) => {
                    return Err(SourceError::new(
                        self.input.clone(),
                        "metadata",
                        format!("corrupt DBN metadata: {e}"),
                    ))
                }
                ProcessResult::Record(()) => {
                    return Err(self.error_here("record found before the metadata".into()))
                }
            }
        }
    }

    /// Reads more input into the state machine; returns the byte count (0 at the end).
    fn fill(&mut self) -> Result<usize, SourceError> {
        loop {
            match self.reader.read(self.fsm.space()) {
                Ok(n) => {
                    self.fsm.fill(n);
                    self.fed += n as u64;
                    return Ok(n);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(self.error_here(format!("read error: {e}"))),
            }
        }
    }

    /// Offset of the first byte not yet decoded.
    fn offset_here(&self) -> u64 {
        self.fed - self.fsm.data().len() as u64
    }

    fn place_here(&self) -> String {
        let kind = if self.compressed { "decompressed byte offset" } else { "byte offset" };
        format!("{kind} {} (record {})", self.offset_here(), self.records)
    }

    fn error_here(&self, reason: String) -> SourceError {
        SourceError::new(self.input.clone(), self.place_here(), reason)
    }

    /// The input's name (its path).
    pub fn input(&self) -> &str {
        &self.input
    }

    /// The file's metadata.
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// True for a Zstandard-compressed file.
    pub fn is_compressed(&self) -> bool {
        self.compressed
    }

    /// Records returned so far (the index of the next record).
    pub fn records_read(&self) -> u64 {
        self.records
    }

    /// Place string for the record returned last, for record-level errors.
    pub fn last_record_place(&self) -> String {
        let idx = self.records.saturating_sub(1);
        match (self.exact_offsets, self.compressed) {
            (true, false) => format!("record {idx} at byte offset {}", self.last_offset),
            (true, true) => {
                format!("record {idx} at decompressed byte offset {}", self.last_offset)
            }
            (false, _) => format!("record {idx}"),
        }
    }

    /// Checks the length byte of every record buffered in the decoder: a record must be at
    /// least a header (16 bytes) and a multiple of 8 bytes, or the records after it would sit
    /// at misaligned addresses, which the `dbn` crate reads through typed references (found by
    /// fuzzing: it debug-asserts, and in release it would be undefined behaviour).
    fn check_record_lengths(&self) -> Result<(), SourceError> {
        let data = self.fsm.data();
        let mut off = 0usize;
        while let Some(&len_word) = data.get(off) {
            let len = usize::from(len_word) * 4;
            if len < 16 || len % 8 != 0 {
                let at = self.next_offset + off as u64;
                return Err(SourceError::new(
                    self.input.clone(),
                    format!("byte offset {at}"),
                    format!("corrupt record: length {len} bytes is not a multiple of 8 of at least 16"),
                ));
            }
            off += len;
        }
        Ok(())
    }

    /// The next record, `Ok(None)` at a clean end of the file. The record borrows the decoder's
    /// buffer until the next call.
    ///
    /// # Errors
    /// A read error, a corrupt record header, or a truncated record at the end of the input.
    #[inline]
    pub fn next_record(&mut self) -> Result<Option<RecordRef<'_>>, SourceError> {
        loop {
            if self.fsm.has_buffered_record() {
                let rec = self.fsm.next_buffered_record();
                if let Some(r) = &rec {
                    self.records += 1;
                    self.last_offset = self.next_offset;
                    self.next_offset += r.header().record_size() as u64;
                }
                return Ok(rec);
            }
            self.check_record_lengths()?;
            match self.fsm.process_batch() {
                ProcessResult::Record(_) => {}
                ProcessResult::ReadMore(_) => {
                    if self.fill()? == 0 {
                        let left = self.fsm.data().len();
                        if left == 0 {
                            return Ok(None);
                        }
                        let expected = self.fsm.data().first().map_or(0, |&l| usize::from(l) * 4);
                        return Err(self.error_here(format!(
                            "truncated record: the input ends {left} bytes into a record of \
                             {expected} bytes"
                        )));
                    }
                }
                ProcessResult::Err(e) => return Err(self.error_here(format!("corrupt record: {e}"))),
                ProcessResult::Metadata(_) => {
                    return Err(self.error_here("unexpected second metadata block".into()))
                }
            }
        }
    }
}

/// Options of a [`DbnFileSource`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DbnOptions {
    /// Keep only this instrument's records. When `None`, the file must hold one instrument
    /// (a second one is an error: the normalizers keep one book).
    pub instrument_id: Option<u32>,
    /// Sizing of the MBO book (MBO files only).
    pub mbo: MboConfig,
}

/// The normalizer matching the file's schema.
// One per source, built once and never moved on the hot path: keep the MBP state inline.
#[allow(clippy::large_enum_variant)]
enum Normalizer {
    Mbo(Box<MboNormalizer>),
    Mbp1(Mbp1Normalizer),
    Tbbo(TbboNormalizer),
    Mbp10(Mbp10Normalizer),
    Trades(TradeNormalizer),
}

/// An [`EventSource`] over a DBN file of schema `mbo`, `mbp-1`, `mbp-10`, `tbbo` or `trades`.
pub struct DbnFileSource {
    input: String,
    reader: DbnReader,
    schema: Schema,
    norm: Normalizer,
    buf: EventBuf,
    pos: usize,
    instrument: Option<u32>,
    filter: bool,
    skipped: u64,
}

impl std::fmt::Debug for DbnFileSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbnFileSource")
            .field("input", &self.input)
            .field("schema", &self.schema)
            .field("records", &self.reader.records_read())
            .finish_non_exhaustive()
    }
}

impl DbnFileSource {
    /// Opens a DBN file with the default options (single instrument, ES-sized MBO book).
    ///
    /// # Errors
    /// See [`DbnReader::open`]; also an unsupported schema ("unsupported schema ohlcv-1m").
    pub fn open(path: impl AsRef<Path>) -> Result<Self, SourceError> {
        Self::open_with(path, DbnOptions::default())
    }

    /// Opens a DBN file with `opts`.
    ///
    /// # Errors
    /// See [`DbnFileSource::open`].
    pub fn open_with(path: impl AsRef<Path>, opts: DbnOptions) -> Result<Self, SourceError> {
        let reader = DbnReader::open(path)?;
        let input = reader.input().to_string();
        let schema = match reader.metadata().schema {
            Some(s) => s,
            None => return Err(SourceError::new(input, "metadata", "unsupported schema: mixed-schema file")),
        };
        let norm = match schema {
            Schema::Mbo => Normalizer::Mbo(Box::new(MboNormalizer::new(opts.mbo))),
            Schema::Mbp1 => Normalizer::Mbp1(Mbp1Normalizer::new()),
            Schema::Tbbo => Normalizer::Tbbo(TbboNormalizer::new()),
            Schema::Mbp10 => Normalizer::Mbp10(Mbp10Normalizer::new()),
            Schema::Trades => Normalizer::Trades(TradeNormalizer::new()),
            other => {
                return Err(SourceError::new(
                    input,
                    "metadata",
                    format!("unsupported schema {other} (supported: mbo, mbp-1, mbp-10, tbbo, trades)"),
                ))
            }
        };
        Ok(Self {
            input,
            reader,
            schema,
            norm,
            buf: EventBuf::new(),
            pos: 0,
            instrument: opts.instrument_id,
            filter: opts.instrument_id.is_some(),
            skipped: 0,
        })
    }

    /// The file's schema.
    pub fn schema(&self) -> Schema {
        self.schema
    }

    /// The file's metadata.
    pub fn metadata(&self) -> &Metadata {
        self.reader.metadata()
    }

    /// Records decoded so far.
    pub fn records_read(&self) -> u64 {
        self.reader.records_read()
    }

    /// Records skipped: other record types (system, symbol mapping, …) and, with an instrument
    /// filter, other instruments.
    pub fn skipped_records(&self) -> u64 {
        self.skipped
    }

    /// The MBO book's error counters (`None` for other schemas).
    pub fn mbo_stats(&self) -> Option<MboStats> {
        match &self.norm {
            Normalizer::Mbo(n) => Some(*n.stats()),
            _ => None,
        }
    }
}

/// Typed view of a record of type `T` (the caller checked the rtype), or why it cannot be read.
#[inline]
fn typed<'a, T: HasRType<Header = dbn::RecordHeader>>(rec: &RecordRef<'a>) -> Result<&'a T, String> {
    rec.try_get::<T>().map_err(|e| e.to_string())
}

impl EventSource for DbnFileSource {
    fn describe(&self) -> &str {
        &self.input
    }

    #[inline]
    fn next_event(&mut self) -> Result<Option<Event>, SourceError> {
        loop {
            if let Some(e) = self.buf.get(self.pos) {
                self.pos += 1;
                return Ok(Some(e));
            }
            self.pos = 0;
            self.buf.clear();
            let Some(rec) = self.reader.next_record()? else {
                return Ok(None);
            };
            let iid = rec.header().instrument_id;
            // Compare field-wise: `self.reader` stays mutably borrowed by `rec`.
            let is_book = match self.norm {
                Normalizer::Mbp10(_) => rec.has::<Mbp10Msg>(),
                Normalizer::Mbp1(_) | Normalizer::Tbbo(_) => rec.has::<Mbp1Msg>(),
                Normalizer::Trades(_) => rec.has::<TradeMsg>(),
                Normalizer::Mbo(_) => rec.has::<MboMsg>(),
            };
            if !is_book || (self.filter && self.instrument != Some(iid)) {
                self.skipped += 1;
                continue;
            }
            if let Some(first) = self.instrument.filter(|&first| first != iid) {
                return Err(SourceError::new(
                    self.input.clone(),
                    self.reader.last_record_place(),
                    format!(
                        "a second instrument ({iid}, after {first}): select one with \
                         DbnOptions::instrument_id"
                    ),
                ));
            }
            self.instrument = Some(iid);
            let buf = &mut self.buf;
            let res = match &mut self.norm {
                Normalizer::Mbp10(n) => typed::<Mbp10Msg>(&rec).map(|m| n.normalize(m, buf)),
                Normalizer::Mbp1(n) => typed::<Mbp1Msg>(&rec).map(|m| n.normalize(m, buf)),
                Normalizer::Tbbo(n) => typed::<Mbp1Msg>(&rec).map(|m| n.normalize(m, buf)),
                Normalizer::Trades(n) => typed::<TradeMsg>(&rec).map(|m| n.normalize(m, buf)),
                Normalizer::Mbo(n) => typed::<MboMsg>(&rec).map(|m| n.normalize(m, buf)),
            };
            if let Err(reason) = res {
                return Err(SourceError::new(
                    self.input.clone(),
                    self.reader.last_record_place(),
                    format!("malformed record: {reason}"),
                ));
            }
        }
    }
}

/// A producer of MBP-10 records that writes each one into a caller-owned record, so the
/// 368-byte record is built in place instead of being moved through `Option`s.
pub trait Mbp10Producer: Send {
    /// Writes the next record into `out`; false at the end (then `out` is unspecified).
    fn next_into(&mut self, out: &mut Mbp10Msg) -> bool;
}

/// Adapts any iterator of records to [`Mbp10Producer`].
pub struct IterProducer<I>(pub I);

impl<I: Iterator<Item = Mbp10Msg> + Send> Mbp10Producer for IterProducer<I> {
    #[inline]
    fn next_into(&mut self, out: &mut Mbp10Msg) -> bool {
        match self.0.next() {
            Some(r) => {
                *out = r;
                true
            }
            None => false,
        }
    }
}

impl Mbp10Producer for crate::synth::SynthSession {
    #[inline]
    fn next_into(&mut self, out: &mut Mbp10Msg) -> bool {
        crate::synth::SynthSession::next_into(self, out)
    }
}

/// An [`EventSource`] over a producer of MBP-10 records (the synthetic market, or any
/// iterator of records through [`IterProducer`]).
pub struct Mbp10IterSource<P> {
    name: String,
    producer: P,
    rec: Mbp10Msg,
    norm: Mbp10Normalizer,
    buf: EventBuf,
    pos: usize,
}

impl<I: Iterator<Item = Mbp10Msg> + Send> Mbp10IterSource<IterProducer<I>> {
    /// A source named `name` (used in errors and summaries) over `iter`.
    pub fn new(name: impl Into<String>, iter: I) -> Self {
        Self::from_producer(name, IterProducer(iter))
    }
}

impl<P: Mbp10Producer> Mbp10IterSource<P> {
    /// A source named `name` over a record producer.
    pub fn from_producer(name: impl Into<String>, producer: P) -> Self {
        Self {
            name: name.into(),
            producer,
            rec: Mbp10Msg::default(),
            norm: Mbp10Normalizer::new(),
            buf: EventBuf::new(),
            pos: 0,
        }
    }
}

impl<P: Mbp10Producer> EventSource for Mbp10IterSource<P> {
    fn describe(&self) -> &str {
        &self.name
    }

    #[inline]
    fn next_event(&mut self) -> Result<Option<Event>, SourceError> {
        loop {
            if let Some(e) = self.buf.get(self.pos) {
                self.pos += 1;
                return Ok(Some(e));
            }
            self.pos = 0;
            if !self.producer.next_into(&mut self.rec) {
                return Ok(None);
            }
            self.norm.normalize(&self.rec, &mut self.buf);
        }
    }
}
