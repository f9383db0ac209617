//! Record payload codec.
//!
//! The fixed-size hot-path messages are encoded by [`mia_model::msg::wire`] (the one byte
//! encoding, shared with the decision digest); their record kind byte is the wire kind byte.
//! Decoding checks the exact payload length and validates every enum and bool byte, so a
//! record that passes its CRC but carries an impossible value is still rejected.
//!
//! The variable records ([`SessionMeta`], [`Note`], [`SessionEnd`]) are rkyv 0.8 archives,
//! validated with bytecheck when read.
//!
//! | kind | record        | payload bytes |
//! |------|---------------|---------------|
//! | 1    | `Event`       | 56            |
//! | 2    | `Signal`      | 52            |
//! | 3    | `OrderIntent` | 42            |
//! | 4    | `Fill`        | 46            |
//! | 5    | `ExecReport`  | 50            |
//! | 6    | `Control`     | 25            |
//! | 7    | `FeatureSnapshot` | 304       |
//! | 8    | `TradeSnapshot` | 429 (format 5) |
//! | 16   | `SessionMeta` | rkyv archive  |
//! | 17   | `Note`        | rkyv archive  |
//! | 18   | `SessionEnd`  | rkyv archive  |

use rkyv::util::AlignedVec;

use super::{JournalRecord, Note, SessionEnd, SessionMeta};
use mia_model::features::{FeatureSnapshot, SNAPSHOT_LEN};
use mia_model::msg::wire::{self, WireError};
use mia_model::msg::Msg;

/// Largest fixed-size payload.
pub const MAX_FIXED_LEN: usize = wire::MAX_LEN;

/// Alignment of the scratch buffer rkyv archives are copied into before validation (record
/// payloads start at offset 9 of a record, so they are not aligned in the segment).
pub const ARCHIVE_ALIGN: usize = 16;

/// Scratch buffer used to decode rkyv records.
pub type ArchiveScratch = AlignedVec<ARCHIVE_ALIGN>;

/// The kind byte of a record.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RecordKind {
    /// A market `Event`.
    Event = wire::KIND_EVENT,
    /// A strategy `Signal`.
    Signal = wire::KIND_SIGNAL,
    /// An `OrderIntent`.
    Intent = wire::KIND_INTENT,
    /// A `Fill`.
    Fill = wire::KIND_FILL,
    /// An `ExecReport` (input from a venue thread).
    Exec = wire::KIND_EXEC,
    /// A `Control` input.
    Control = wire::KIND_CONTROL,
    /// A feature snapshot (fixed size, `mia_model::features::FeatureSnapshot::encode`).
    Features = 7,
    /// A trade snapshot (fixed size, [`TradeSnapshot::encode`](crate::TradeSnapshot::encode); format 5).
    Trade = 8,
    /// A [`SessionMeta`] (rkyv).
    Meta = 16,
    /// A free-text [`Note`] (rkyv).
    Note = 17,
    /// A [`SessionEnd`] summary (rkyv).
    SessionEnd = 18,
    /// A [`GammaPublication`](crate::GammaPublication) (rkyv).
    Gamma = 19,
}

impl RecordKind {
    /// Decodes the kind byte, `None` if unknown.
    #[inline]
    pub fn from_u8(v: u8) -> Option<Self> {
        match v {
            wire::KIND_EVENT => Some(Self::Event),
            wire::KIND_SIGNAL => Some(Self::Signal),
            wire::KIND_INTENT => Some(Self::Intent),
            wire::KIND_FILL => Some(Self::Fill),
            wire::KIND_EXEC => Some(Self::Exec),
            wire::KIND_CONTROL => Some(Self::Control),
            7 => Some(Self::Features),
            8 => Some(Self::Trade),
            16 => Some(Self::Meta),
            17 => Some(Self::Note),
            18 => Some(Self::SessionEnd),
            19 => Some(Self::Gamma),
            _ => None,
        }
    }

    /// Payload length of a fixed-size kind, `None` for variable (rkyv) kinds.
    #[inline]
    pub fn fixed_len(self) -> Option<usize> {
        match self {
            Self::Features => Some(SNAPSHOT_LEN),
            Self::Trade => Some(crate::trade::TRADE_SNAPSHOT_LEN),
            _ => wire::len_of_kind(self as u8),
        }
    }

    /// The kind that carries `msg`.
    #[inline]
    pub fn of_msg(msg: &Msg) -> Self {
        match msg {
            Msg::Market(_) => Self::Event,
            Msg::Signal(_) => Self::Signal,
            Msg::Intent(_) => Self::Intent,
            Msg::Fill(_) => Self::Fill,
            Msg::Exec(_) => Self::Exec,
            Msg::Control(_) => Self::Control,
        }
    }
}

/// Why a record payload could not be decoded (or a variable record encoded).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// The kind byte is not a known record kind.
    #[error("unknown record kind {0}")]
    UnknownKind(u8),
    /// A fixed-size message payload failed the wire decoder (wrong length, impossible value).
    #[error("{0}")]
    Wire(#[from] WireError),
    /// An rkyv archive failed validation or serialization.
    #[error("{kind:?} archive: {reason}")]
    Archive {
        /// Record kind.
        kind: RecordKind,
        /// rkyv's message.
        reason: String,
    },
}

/// Encodes the payload of `msg` into the start of `out` and returns its length (the value of
/// [`RecordKind::fixed_len`] for [`RecordKind::of_msg`]).
///
/// # Panics
/// If `out` is shorter than that length (a caller bug: [`MAX_FIXED_LEN`] always suffices).
#[inline]
pub fn encode_msg(msg: &Msg, out: &mut [u8]) -> usize {
    wire::encode(msg, out)
}

/// Decodes the payload of a fixed-size message record of kind `kind`.
///
/// # Errors
/// [`CodecError`] for a variable kind, a wrong length or an impossible field value.
pub fn decode_msg(kind: RecordKind, payload: &[u8]) -> Result<Msg, CodecError> {
    if kind.fixed_len().is_none() || matches!(kind, RecordKind::Features | RecordKind::Trade) {
        return Err(CodecError::UnknownKind(kind as u8));
    }
    Ok(wire::decode(kind as u8, payload)?)
}

fn archive_err(kind: RecordKind, e: rkyv::rancor::Error) -> CodecError {
    CodecError::Archive { kind, reason: e.to_string() }
}

/// Serializes a variable record to its rkyv archive bytes (allocates: cold path only).
pub fn encode_variable(rec: &JournalRecord) -> Result<(RecordKind, AlignedVec), CodecError> {
    use rkyv::rancor::Error as E;
    Ok(match rec {
        JournalRecord::Meta(m) => {
            (RecordKind::Meta, rkyv::to_bytes::<E>(m).map_err(|e| archive_err(RecordKind::Meta, e))?)
        }
        JournalRecord::Note(n) => {
            (RecordKind::Note, rkyv::to_bytes::<E>(n).map_err(|e| archive_err(RecordKind::Note, e))?)
        }
        JournalRecord::End(s) => (
            RecordKind::SessionEnd,
            rkyv::to_bytes::<E>(s).map_err(|e| archive_err(RecordKind::SessionEnd, e))?,
        ),
        JournalRecord::Gamma(g) => {
            (RecordKind::Gamma, rkyv::to_bytes::<E>(g).map_err(|e| archive_err(RecordKind::Gamma, e))?)
        }
        JournalRecord::Msg(_) | JournalRecord::Features(_) | JournalRecord::Trade(_) => {
            return Err(CodecError::Archive {
                kind: RecordKind::Event,
                reason: "fixed-size records are not archived".into(),
            })
        }
    })
}

/// Decodes any record from its kind byte and payload. `scratch` is reused to realign rkyv
/// archives; fixed-size messages never touch it and never allocate.
pub fn decode_record(
    kind: u8,
    payload: &[u8],
    scratch: &mut ArchiveScratch,
) -> Result<JournalRecord, CodecError> {
    use rkyv::rancor::Error as E;
    let kind = RecordKind::from_u8(kind).ok_or(CodecError::UnknownKind(kind))?;
    if kind == RecordKind::Features {
        return FeatureSnapshot::decode(payload).map(JournalRecord::Features).ok_or(CodecError::Wire(
            WireError::WrongLength {
                kind: RecordKind::Features as u8,
                expected: SNAPSHOT_LEN,
                got: payload.len(),
            },
        ));
    }
    if kind == RecordKind::Trade {
        return crate::trade::TradeSnapshot::decode(payload).map(JournalRecord::Trade).ok_or(
            CodecError::Archive { kind, reason: format!("invalid trade snapshot ({} bytes)", payload.len()) },
        );
    }
    if kind.fixed_len().is_some() {
        return decode_msg(kind, payload).map(JournalRecord::Msg);
    }
    scratch.clear();
    scratch.extend_from_slice(payload);
    let bytes: &[u8] = scratch;
    Ok(match kind {
        RecordKind::Meta => {
            JournalRecord::Meta(rkyv::from_bytes::<SessionMeta, E>(bytes).map_err(|e| archive_err(kind, e))?)
        }
        RecordKind::Note => {
            JournalRecord::Note(rkyv::from_bytes::<Note, E>(bytes).map_err(|e| archive_err(kind, e))?)
        }
        RecordKind::Gamma => JournalRecord::Gamma(
            rkyv::from_bytes::<crate::GammaPublication, E>(bytes).map_err(|e| archive_err(kind, e))?,
        ),
        _ => JournalRecord::End(rkyv::from_bytes::<SessionEnd, E>(bytes).map_err(|e| archive_err(kind, e))?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use mia_model::event::{flags, Event, Side};

    #[test]
    fn fixed_messages_go_through_the_wire_encoding() {
        let m = Msg::Market(Event::trade(5, 6, Side::Bid, 4_000_250_000_000, 3, flags::LAST));
        let mut buf = [0u8; MAX_FIXED_LEN];
        let n = encode_msg(&m, &mut buf);
        let kind = RecordKind::of_msg(&m);
        assert_eq!(Some(n), kind.fixed_len());
        assert_eq!(decode_msg(kind, &buf[..n]), Ok(m));
        assert!(matches!(
            decode_msg(kind, &buf[..n - 1]),
            Err(CodecError::Wire(WireError::WrongLength { .. }))
        ));
        buf[53] = 9;
        assert_eq!(
            decode_msg(kind, &buf[..n]),
            Err(CodecError::Wire(WireError::BadValue { field: "event.side", value: 9 }))
        );
        assert!(matches!(decode_msg(RecordKind::Meta, &buf[..n]), Err(CodecError::UnknownKind(16))));
    }

    #[test]
    fn variable_records_round_trip_and_reject_garbage() {
        let meta = SessionMeta {
            source: "synth".into(),
            seed: 7,
            mode: "backtest".into(),
            config_toml: "[risk]\nmax_position = 2\n".into(),
            created_unix_ns: 123,
            version: "0.1.0".into(),
        };
        let mut scratch = ArchiveScratch::new();
        for rec in [
            JournalRecord::Meta(meta),
            JournalRecord::Note(Note { unix_ns: 5, text: "hello".into() }),
            JournalRecord::End(SessionEnd {
                events: 1,
                signals: 2,
                orders: 3,
                fills: 4,
                unix_ns: 5,
                reason: "done".into(),
            }),
        ] {
            let (kind, bytes) = encode_variable(&rec).expect("encode");
            assert_eq!(decode_record(kind as u8, &bytes, &mut scratch), Ok(rec));
            // Unaligned source slice still decodes (it is copied into the scratch).
            let mut shifted = vec![0u8];
            shifted.extend_from_slice(&bytes);
            assert!(decode_record(kind as u8, &shifted[1..], &mut scratch).is_ok());
            // Truncated archive is rejected.
            assert!(matches!(
                decode_record(kind as u8, &bytes[..bytes.len() / 2], &mut scratch),
                Err(CodecError::Archive { .. })
            ));
        }
        assert_eq!(decode_record(200, &[], &mut scratch), Err(CodecError::UnknownKind(200)));
    }
}
