//! The buffered reader of fixed-size records shared by the `.scid` ([`super::scid::ScidSource`])
//! and `.depth` ([`super::depth::DepthSource`]) sources: one `read` per
//! `records_per_read` records into a reused buffer, whole records only, and a file that ends
//! inside a record reported as a truncation naming the record and its byte offset **after** the
//! whole records before it were delivered.

use std::fs::File;
use std::io::{ErrorKind, Read};

use mia_runtime::source::SourceError;

/// Reads `buf.len()` bytes unless the input ends first; returns how many were read.
pub(crate) fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
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

/// Records of `N` bytes after a header of `header_len` bytes (already read).
pub(crate) struct RecordReader<const N: usize> {
    input: String,
    file: File,
    header_len: u64,
    buf: Vec<u8>,
    /// Valid bytes in `buf` and the next one to hand out.
    len: usize,
    pos: usize,
    /// Index of the next record handed out.
    record: u64,
    truncated: Option<SourceError>,
}

impl<const N: usize> RecordReader<N> {
    /// A reader of `file` (positioned after its header) named `input` in errors.
    pub(crate) fn new(input: String, file: File, header_len: usize, records_per_read: usize) -> Self {
        Self {
            input,
            file,
            header_len: header_len as u64,
            buf: vec![0u8; records_per_read.max(1) * N],
            len: 0,
            pos: 0,
            record: 0,
            truncated: None,
        }
    }

    /// The input's name.
    pub(crate) fn input(&self) -> &str {
        &self.input
    }

    /// Records handed out so far (= the index of the next one).
    pub(crate) fn records_read(&self) -> u64 {
        self.record
    }

    /// `record {idx} at byte offset {…}`.
    pub(crate) fn place(&self, idx: u64) -> String {
        format!("record {idx} at byte offset {}", self.header_len + idx * N as u64)
    }

    /// An error at record `idx`.
    pub(crate) fn error(&self, idx: u64, reason: String) -> SourceError {
        SourceError::new(&self.input, self.place(idx), reason)
    }

    /// Refills the buffer with whole records; false at a clean end.
    fn fill(&mut self) -> Result<bool, SourceError> {
        if let Some(e) = self.truncated.take() {
            return Err(e);
        }
        let got = read_up_to(&mut self.file, &mut self.buf)
            .map_err(|e| self.error(self.record, format!("read error: {e}")))?;
        let whole = got / N * N;
        if whole < got {
            // Only the last read of a file ends short: a partial record is a truncation,
            // reported after the whole records before it.
            self.truncated = Some(self.error(
                self.record + (whole / N) as u64,
                format!("truncated record: the file ends {} bytes into a {N}-byte record", got - whole),
            ));
        }
        self.len = whole;
        self.pos = 0;
        if whole == 0 {
            if let Some(e) = self.truncated.take() {
                return Err(e);
            }
        }
        Ok(whole > 0)
    }

    /// The next record and its index; `None` at a clean end of the file.
    ///
    /// # Errors
    /// A read error, or a truncated last record (after every whole record).
    #[inline]
    pub(crate) fn next_record(&mut self) -> Result<Option<(u64, [u8; N])>, SourceError> {
        if self.pos + N > self.len && !self.fill()? {
            return Ok(None);
        }
        let mut raw = [0u8; N];
        if let Some(b) = self.buf.get(self.pos..self.pos + N) {
            raw.copy_from_slice(b);
        }
        self.pos += N;
        let idx = self.record;
        self.record += 1;
        Ok(Some((idx, raw)))
    }
}
