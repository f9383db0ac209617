//! On-disk framing of the journal: segment file names, the segment header and the record
//! frame `[len: u32 LE][crc32: u32 LE][kind: u8][payload]`, padded to 8 bytes.
//!
//! This module is pure byte manipulation on slices: it performs no I/O, so both the writer (on
//! a memory map) and the reader (on a segment read into memory) share exactly the same rules.

/// Magic bytes at offset 0 of every segment file.
pub const MAGIC: [u8; 8] = *b"MIAJRNL\0";

/// Current on-disk format version (2: fixed messages in the `mia_model::msg::wire` encoding;
/// 3: order intents with trigger, link, TIF and action, fills with leaves, signals with the
/// entry type, feature snapshots; 4: exec reports with the venue's reason code; 5: trade
/// snapshots, record kind 8; 6: market events of kind `Mbo` (event kind byte 5, the raw MBO
/// records an MBO input sends to the venue's L3 queue model)).
pub const FORMAT_VERSION: u32 = 6;
/// Oldest format version this build reads (4: the same records without kind 8, trade
/// snapshots; 5: without `Mbo` events; both read unchanged, their records are a subset). A
/// build older than version 6 refuses a version-6 journal with "unsupported journal format
/// version 6".
pub const MIN_READ_VERSION: u32 = 4;

/// Size of the segment header; the first record starts at this offset.
pub const SEGMENT_HEADER_LEN: usize = 32;

/// Size of a record header: `len: u32` + `crc32: u32`.
pub const RECORD_HEADER_LEN: usize = 8;

/// Records start at multiples of this alignment (relative to the file start).
pub const RECORD_ALIGN: usize = 8;

/// Smallest accepted segment size (header plus room for a few records).
pub const MIN_SEGMENT_SIZE: u64 = 512;

/// Largest accepted segment size (the record length field and offsets are `u32`-friendly).
pub const MAX_SEGMENT_SIZE: u64 = 1 << 32;

/// Extension of segment files.
pub const SEGMENT_EXT: &str = "mj";

/// Rounds `n` up to the next multiple of [`RECORD_ALIGN`].
#[inline]
pub const fn align8(n: usize) -> usize {
    (n + (RECORD_ALIGN - 1)) & !(RECORD_ALIGN - 1)
}

/// Total bytes a record with a `payload_len`-byte payload occupies in a segment, padding
/// included (header + kind byte + payload, rounded up to 8).
#[inline]
pub const fn record_footprint(payload_len: usize) -> usize {
    align8(RECORD_HEADER_LEN + 1 + payload_len)
}

/// File name of segment `index`: `seg-000042.mj`.
pub fn segment_file_name(index: u32) -> String {
    format!("seg-{index:06}.{SEGMENT_EXT}")
}

/// Parses a segment file name (`seg-<digits>.mj`, at least 6 digits) back to its index.
/// Returns `None` for any other name.
pub fn parse_segment_file_name(name: &str) -> Option<u32> {
    let digits = name.strip_prefix("seg-")?.strip_suffix(".mj")?;
    if digits.len() < 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The fixed 32-byte header at the start of every segment.
///
/// Layout (little endian): `magic[8] | version: u32 | index: u32 | segment_size: u64 |
/// reserved: u32 (0) | crc32 of bytes 0..28: u32`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SegmentHeader {
    /// Format version ([`FORMAT_VERSION`]).
    pub version: u32,
    /// Index of the segment in its journal (matches the file name).
    pub index: u32,
    /// Size the segment was pre-sized to when created.
    pub segment_size: u64,
}

/// Why a segment header was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderProblem {
    /// The file is shorter than a header and holds only zero bytes (creation interrupted).
    Short,
    /// The file is shorter than a header but holds non-zero bytes.
    Truncated,
    /// The header bytes are all zero: the segment was created but its header never written.
    Zeroed,
    /// The magic bytes do not match: not a journal segment.
    BadMagic,
    /// The header checksum does not match its contents.
    BadCrc,
    /// The format version is not supported by this build.
    UnsupportedVersion(u32),
}

impl core::fmt::Display for HeaderProblem {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Short => {
                write!(f, "zero-filled file shorter than the {SEGMENT_HEADER_LEN}-byte segment header")
            }
            Self::Truncated => write!(f, "file shorter than the {SEGMENT_HEADER_LEN}-byte segment header"),
            Self::Zeroed => write!(f, "segment header is all zero (segment creation was interrupted)"),
            Self::BadMagic => write!(f, "bad magic: not a MIA journal segment"),
            Self::BadCrc => write!(f, "segment header checksum mismatch"),
            Self::UnsupportedVersion(v) => {
                write!(f, "unsupported journal format version {v} (this build reads {MIN_READ_VERSION} to {FORMAT_VERSION})")
            }
        }
    }
}

impl HeaderProblem {
    /// True for the problems an interrupted segment creation can leave behind (a zero-filled
    /// header): in the last segment they are a torn tail, not corruption.
    pub fn is_interrupted_creation(self) -> bool {
        matches!(self, Self::Short | Self::Zeroed)
    }
}

impl SegmentHeader {
    /// Encodes the header into its 32 bytes.
    pub fn encode(&self) -> [u8; SEGMENT_HEADER_LEN] {
        let mut h = [0u8; SEGMENT_HEADER_LEN];
        h[0..8].copy_from_slice(&MAGIC);
        h[8..12].copy_from_slice(&self.version.to_le_bytes());
        h[12..16].copy_from_slice(&self.index.to_le_bytes());
        h[16..24].copy_from_slice(&self.segment_size.to_le_bytes());
        // 24..28 reserved, zero.
        let crc = crc32fast::hash(&h[0..28]);
        h[28..32].copy_from_slice(&crc.to_le_bytes());
        h
    }

    /// Decodes and validates a header from the start of `bytes`.
    pub fn decode(bytes: &[u8]) -> Result<Self, HeaderProblem> {
        let Some(h) = bytes.get(..SEGMENT_HEADER_LEN) else {
            let n = bytes.len().min(MAGIC.len());
            return Err(if bytes.iter().all(|&b| b == 0) {
                HeaderProblem::Short
            } else if bytes[..n] != MAGIC[..n] {
                HeaderProblem::BadMagic
            } else {
                HeaderProblem::Truncated
            });
        };
        if h.iter().all(|&b| b == 0) {
            return Err(HeaderProblem::Zeroed);
        }
        if h[0..8] != MAGIC {
            return Err(HeaderProblem::BadMagic);
        }
        if crc32fast::hash(&h[0..28]) != read_u32(h, 28) {
            return Err(HeaderProblem::BadCrc);
        }
        let version = read_u32(h, 8);
        if !(MIN_READ_VERSION..=FORMAT_VERSION).contains(&version) {
            return Err(HeaderProblem::UnsupportedVersion(version));
        }
        Ok(Self { version, index: read_u32(h, 12), segment_size: read_u64(h, 16) })
    }
}

#[inline]
fn read_u32(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(a)
}

#[inline]
fn read_u64(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

/// Result of parsing the record slot at some offset of a segment.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    /// End of written data in this segment: the end of the file, or a zero length followed only
    /// by zero bytes.
    End,
    /// A complete record whose checksum verified.
    Record {
        /// Record kind byte (not yet validated against known kinds).
        kind: u8,
        /// Payload bytes (after the kind byte).
        payload: &'a [u8],
        /// Offset of the next record slot.
        next: usize,
    },
    /// The slot is damaged; everything from this offset on is untrusted.
    Damaged(Damage),
}

/// Why a record slot is damaged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Damage {
    /// The record header itself runs past the end of the segment.
    HeaderPastEnd {
        /// Bytes left in the segment.
        remaining: usize,
    },
    /// The length field runs past the end of the segment.
    LengthPastEnd {
        /// The length field.
        len: u32,
        /// Bytes left after the record header.
        available: usize,
    },
    /// The checksum does not match the kind + payload bytes.
    CrcMismatch {
        /// Checksum stored in the record.
        stored: u32,
        /// Checksum computed over the bytes.
        computed: u32,
    },
    /// A zero length (end marker) followed by non-zero bytes: an append that was interrupted
    /// before its length was written, or foreign bytes.
    BytesAfterEnd {
        /// Offset of the first non-zero byte.
        first_nonzero: usize,
    },
}

impl core::fmt::Display for Damage {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::HeaderPastEnd { remaining } => {
                write!(f, "record header runs past the end of the segment ({remaining} bytes left)")
            }
            Self::LengthPastEnd { len, available } => {
                write!(f, "record length {len} runs past the end of the segment ({available} bytes left)")
            }
            Self::CrcMismatch { stored, computed } => {
                write!(f, "crc mismatch (stored {stored:#010x}, computed {computed:#010x})")
            }
            Self::BytesAfterEnd { first_nonzero } => {
                write!(f, "non-zero bytes after the end marker (first at offset {first_nonzero})")
            }
        }
    }
}

/// Parses the record slot at `off` in a segment's bytes `seg` (which include the header).
///
/// `off` must be 8-aligned and at least [`SEGMENT_HEADER_LEN`]; the writer guarantees both.
pub fn parse_frame(seg: &[u8], off: usize) -> Frame<'_> {
    if off >= seg.len() {
        return Frame::End;
    }
    let remaining = seg.len() - off;
    if remaining < RECORD_HEADER_LEN {
        return if seg[off..].iter().all(|&b| b == 0) {
            Frame::End
        } else {
            Frame::Damaged(Damage::HeaderPastEnd { remaining })
        };
    }
    let len = read_u32(seg, off);
    if len == 0 {
        // End marker: everything after must still be zero (the file is zero-filled).
        return match seg[off..].iter().position(|&b| b != 0) {
            None => Frame::End,
            Some(p) => Frame::Damaged(Damage::BytesAfterEnd { first_nonzero: off + p }),
        };
    }
    let available = remaining - RECORD_HEADER_LEN;
    if len as usize > available {
        return Frame::Damaged(Damage::LengthPastEnd { len, available });
    }
    let body = &seg[off + RECORD_HEADER_LEN..off + RECORD_HEADER_LEN + len as usize];
    let stored = read_u32(seg, off + 4);
    let computed = crc32fast::hash(body);
    if stored != computed {
        return Frame::Damaged(Damage::CrcMismatch { stored, computed });
    }
    // A finished segment may be truncated inside the last record's padding: clamp.
    let next = (off + align8(RECORD_HEADER_LEN + len as usize)).min(seg.len());
    Frame::Record { kind: body[0], payload: &body[1..], next }
}

/// Writes the body of a record (kind + payload already placed by the caller at
/// `off + 8 ..= off + 8 + body_len - 1`), then its checksum, zero padding, and finally its
/// length. Writing the length last means a process killed mid-append leaves a zero length: the
/// reader sees a clean end (and flags the orphan body bytes, see [`Damage::BytesAfterEnd`]).
///
/// Returns the offset of the next slot. The caller guarantees that the record fits.
#[inline]
pub fn commit_frame(seg: &mut [u8], off: usize, body_len: usize) -> usize {
    let body_start = off + RECORD_HEADER_LEN;
    let end = body_start + body_len;
    let next = off + align8(RECORD_HEADER_LEN + body_len);
    let crc = crc32fast::hash(&seg[body_start..end]);
    seg[off + 4..off + 8].copy_from_slice(&crc.to_le_bytes());
    seg[end..next].fill(0);
    // Keep the length store after the body stores (a concurrent reader of the same mapping, or
    // the page cache as seen after a kill, never observes a length without its body).
    core::sync::atomic::fence(core::sync::atomic::Ordering::Release);
    seg[off..off + 4].copy_from_slice(&(body_len as u32).to_le_bytes());
    next
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        assert_eq!(segment_file_name(42), "seg-000042.mj");
        assert_eq!(parse_segment_file_name("seg-000042.mj"), Some(42));
        assert_eq!(parse_segment_file_name("seg-1234567.mj"), Some(1_234_567));
        assert_eq!(parse_segment_file_name("seg-42.mj"), None);
        assert_eq!(parse_segment_file_name("seg-00004x.mj"), None);
        assert_eq!(parse_segment_file_name("seg-000042.mj.orphan"), None);
    }

    #[test]
    fn header_round_trip_and_rejections() {
        let h = SegmentHeader { version: FORMAT_VERSION, index: 7, segment_size: 4096 };
        let mut b = h.encode();
        assert_eq!(SegmentHeader::decode(&b), Ok(h));
        assert_eq!(SegmentHeader::decode(&b[..10]), Err(HeaderProblem::Truncated));
        assert_eq!(SegmentHeader::decode(&[0u8; 10]), Err(HeaderProblem::Short));
        assert_eq!(SegmentHeader::decode(b"hello"), Err(HeaderProblem::BadMagic));
        assert_eq!(SegmentHeader::decode(&[]), Err(HeaderProblem::Short));
        assert_eq!(SegmentHeader::decode(&[0u8; 32]), Err(HeaderProblem::Zeroed));
        b[20] ^= 1;
        assert_eq!(SegmentHeader::decode(&b), Err(HeaderProblem::BadCrc));
        b[0] = b'X';
        assert_eq!(SegmentHeader::decode(&b), Err(HeaderProblem::BadMagic));
        let mut v2 = SegmentHeader { version: 1, ..h }.encode();
        assert_eq!(SegmentHeader::decode(&v2), Err(HeaderProblem::UnsupportedVersion(1)));
        // a version-4 journal (before trade snapshots) still reads; a future one is named
        let v4 = SegmentHeader { version: 4, ..h };
        assert_eq!(SegmentHeader::decode(&v4.encode()), Ok(v4));
        // a version-5 journal (before `Mbo` events) too
        let v5 = SegmentHeader { version: 5, ..h };
        assert_eq!(SegmentHeader::decode(&v5.encode()), Ok(v5));
        let next = SegmentHeader { version: FORMAT_VERSION + 1, ..h }.encode();
        assert_eq!(SegmentHeader::decode(&next), Err(HeaderProblem::UnsupportedVersion(FORMAT_VERSION + 1)));
        assert!(HeaderProblem::UnsupportedVersion(7).to_string().contains("reads 4 to 6"));
        v2[0] = 0;
        assert_eq!(SegmentHeader::decode(&v2), Err(HeaderProblem::BadMagic));
    }

    #[test]
    fn frame_commit_then_parse() {
        let mut seg = vec![0u8; 128];
        let off = SEGMENT_HEADER_LEN;
        seg[off + 8] = 5;
        seg[off + 9..off + 12].copy_from_slice(&[1, 2, 3]);
        let next = commit_frame(&mut seg, off, 4);
        assert_eq!(next, off + 16);
        assert_eq!(parse_frame(&seg, off), Frame::Record { kind: 5, payload: &[1, 2, 3], next });
        assert_eq!(parse_frame(&seg, next), Frame::End);
        assert_eq!(parse_frame(&seg, 128), Frame::End);

        let mut bad = seg.clone();
        bad[off + 10] ^= 0xFF;
        assert!(matches!(parse_frame(&bad, off), Frame::Damaged(Damage::CrcMismatch { .. })));
        let mut bad = seg.clone();
        bad[off..off + 4].copy_from_slice(&1000u32.to_le_bytes());
        assert_eq!(
            parse_frame(&bad, off),
            Frame::Damaged(Damage::LengthPastEnd { len: 1000, available: 128 - off - 8 })
        );
        let mut bad = seg.clone();
        bad[next + 20] = 9;
        assert_eq!(
            parse_frame(&bad, next),
            Frame::Damaged(Damage::BytesAfterEnd { first_nonzero: next + 20 })
        );
        // Truncated inside the padding of the last record: still complete.
        let cut = &seg[..off + 12];
        assert_eq!(parse_frame(cut, off), Frame::Record { kind: 5, payload: &[1, 2, 3], next: off + 12 });
        // Truncated inside a record header.
        let cut = &seg[..off + 3];
        assert_eq!(parse_frame(cut, off), Frame::Damaged(Damage::HeaderPastEnd { remaining: 3 }));
    }
}
