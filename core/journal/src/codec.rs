//! Record payload codec.
//!
//! The four hot-path messages ([`Event`], [`Signal`], [`OrderIntent`], [`Fill`]) are encoded
//! field by field, little endian, in declaration order, by hand (no transmute, no padding, no
//! allocation). Decoding checks the exact payload length and validates every enum and bool
//! byte, so a record that passes its CRC but carries an impossible value is still rejected.
//!
//! The variable records ([`SessionMeta`], [`Note`], [`SessionEnd`]) are rkyv 0.8 archives,
//! validated with bytecheck when read.
//!
//! | kind | record        | payload bytes |
//! |------|---------------|---------------|
//! | 1    | `Event`       | 56            |
//! | 2    | `Signal`      | 41            |
//! | 3    | `OrderIntent` | 42            |
//! | 4    | `Fill`        | 46            |
//! | 16   | `SessionMeta` | rkyv archive  |
//! | 17   | `Note`        | rkyv archive  |
//! | 18   | `SessionEnd`  | rkyv archive  |

use rkyv::util::AlignedVec;

use super::{JournalRecord, Note, SessionEnd, SessionMeta};
use mia_model::event::{Event, EventKind, Side};
use mia_model::msg::{Fill, Msg, OrderIntent, OrderType, Signal};

/// Payload length of an encoded [`Event`].
pub const EVENT_LEN: usize = 56;
/// Payload length of an encoded [`Signal`].
pub const SIGNAL_LEN: usize = 41;
/// Payload length of an encoded [`OrderIntent`].
pub const INTENT_LEN: usize = 42;
/// Payload length of an encoded [`Fill`].
pub const FILL_LEN: usize = 46;
/// Largest fixed-size payload.
pub const MAX_FIXED_LEN: usize = EVENT_LEN;

/// Alignment of the scratch buffer rkyv archives are copied into before validation (record
/// payloads start at offset 9 of a record, so they are not aligned in the segment).
pub const ARCHIVE_ALIGN: usize = 16;

/// Scratch buffer used to decode rkyv records.
pub type ArchiveScratch = AlignedVec<ARCHIVE_ALIGN>;

/// The kind byte of a record.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RecordKind {
    /// A market [`Event`].
    Event = 1,
    /// A strategy [`Signal`].
    Signal = 2,
    /// An [`OrderIntent`].
    Intent = 3,
    /// A [`Fill`].
    Fill = 4,
    /// A [`SessionMeta`] (rkyv).
    Meta = 16,
    /// A free-text [`Note`] (rkyv).
    Note = 17,
    /// A [`SessionEnd`] summary (rkyv).
    SessionEnd = 18,
}

impl RecordKind {
    /// Decodes the kind byte, `None` if unknown.
    #[inline]
    pub fn from_u8(v: u8) -> Option<Self> {
        match v {
            1 => Some(Self::Event),
            2 => Some(Self::Signal),
            3 => Some(Self::Intent),
            4 => Some(Self::Fill),
            16 => Some(Self::Meta),
            17 => Some(Self::Note),
            18 => Some(Self::SessionEnd),
            _ => None,
        }
    }

    /// Payload length of a fixed-size kind, `None` for variable (rkyv) kinds.
    #[inline]
    pub fn fixed_len(self) -> Option<usize> {
        match self {
            Self::Event => Some(EVENT_LEN),
            Self::Signal => Some(SIGNAL_LEN),
            Self::Intent => Some(INTENT_LEN),
            Self::Fill => Some(FILL_LEN),
            Self::Meta | Self::Note | Self::SessionEnd => None,
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
        }
    }
}

/// Payload length of the encoding of `msg` (the `fixed_len` of its kind).
#[inline]
pub const fn msg_payload_len(msg: &Msg) -> usize {
    match msg {
        Msg::Market(_) => EVENT_LEN,
        Msg::Signal(_) => SIGNAL_LEN,
        Msg::Intent(_) => INTENT_LEN,
        Msg::Fill(_) => FILL_LEN,
    }
}

/// Why a record payload could not be decoded (or a variable record encoded).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// The kind byte is not a known record kind.
    #[error("unknown record kind {0}")]
    UnknownKind(u8),
    /// A fixed-size payload has the wrong length.
    #[error("{kind:?} payload is {got} bytes, expected {expected}")]
    WrongLength {
        /// Record kind.
        kind: RecordKind,
        /// Expected payload length.
        expected: usize,
        /// Actual payload length.
        got: usize,
    },
    /// An enum or bool field holds an impossible byte.
    #[error("invalid value {value} for field {field}")]
    BadValue {
        /// Field name (`record.field`).
        field: &'static str,
        /// The byte found.
        value: u8,
    },
    /// An rkyv archive failed validation or serialization.
    #[error("{kind:?} archive: {reason}")]
    Archive {
        /// Record kind.
        kind: RecordKind,
        /// rkyv's message.
        reason: String,
    },
}

/// Little-endian field writer over a slice whose length the caller checked.
struct Put<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl Put<'_> {
    #[inline(always)]
    fn bytes<const N: usize>(&mut self, b: [u8; N]) {
        self.buf[self.pos..self.pos + N].copy_from_slice(&b);
        self.pos += N;
    }
    #[inline(always)]
    fn u64(&mut self, v: u64) {
        self.bytes(v.to_le_bytes());
    }
    #[inline(always)]
    fn i64(&mut self, v: i64) {
        self.bytes(v.to_le_bytes());
    }
    #[inline(always)]
    fn u32(&mut self, v: u32) {
        self.bytes(v.to_le_bytes());
    }
    #[inline(always)]
    fn f32(&mut self, v: f32) {
        self.bytes(v.to_bits().to_le_bytes());
    }
    #[inline(always)]
    fn u8(&mut self, v: u8) {
        self.bytes([v]);
    }
}

/// Little-endian field reader over a payload whose exact length was checked up front.
struct Get<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Get<'_> {
    #[inline(always)]
    fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut a = [0u8; N];
        a.copy_from_slice(&self.buf[self.pos..self.pos + N]);
        self.pos += N;
        a
    }
    #[inline(always)]
    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.bytes())
    }
    #[inline(always)]
    fn i64(&mut self) -> i64 {
        i64::from_le_bytes(self.bytes())
    }
    #[inline(always)]
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.bytes())
    }
    #[inline(always)]
    fn f32(&mut self) -> f32 {
        f32::from_bits(u32::from_le_bytes(self.bytes()))
    }
    #[inline(always)]
    fn u8(&mut self) -> u8 {
        self.bytes::<1>()[0]
    }
    #[inline(always)]
    fn side(&mut self, field: &'static str) -> Result<Side, CodecError> {
        let v = self.u8();
        Side::from_u8(v).ok_or(CodecError::BadValue { field, value: v })
    }
}

/// Encodes the payload of `msg` into the start of `out` and returns its length (the value of
/// [`RecordKind::fixed_len`] for [`RecordKind::of_msg`]).
///
/// # Panics
/// If `out` is shorter than that length (a caller bug: [`MAX_FIXED_LEN`] always suffices).
#[inline]
pub fn encode_msg(msg: &Msg, out: &mut [u8]) -> usize {
    let mut p = Put { buf: out, pos: 0 };
    match msg {
        Msg::Market(e) => {
            p.u64(e.ts_event);
            p.u64(e.ts_recv);
            p.u64(e.seq);
            p.i64(e.price);
            p.u64(e.order_id);
            p.u32(e.size);
            p.u32(e.count);
            p.u32(e.instrument_id);
            p.u8(e.kind as u8);
            p.u8(e.side as u8);
            p.u8(e.depth);
            p.u8(e.flags);
        }
        Msg::Signal(s) => {
            p.u64(s.seq);
            p.u64(s.ts);
            p.i64(s.ref_price);
            p.u8(s.direction as u8);
            p.f32(s.strength);
            p.f32(s.obi);
            p.i64(s.window_delta);
        }
        Msg::Intent(o) => {
            p.u64(o.client_order_id);
            p.u64(o.seq);
            p.u64(o.ts);
            p.i64(o.price);
            p.u32(o.qty);
            p.u32(o.instrument_id);
            p.u8(o.side as u8);
            p.u8(o.order_type as u8);
        }
        Msg::Fill(f) => {
            p.u64(f.client_order_id);
            p.u64(f.seq);
            p.u64(f.ts);
            p.i64(f.price);
            p.i64(f.fee);
            p.u32(f.qty);
            p.u8(f.side as u8);
            p.u8(f.done as u8);
        }
    }
    p.pos
}

/// Decodes the payload of a fixed-size message record of kind `kind`.
pub fn decode_msg(kind: RecordKind, payload: &[u8]) -> Result<Msg, CodecError> {
    let Some(expected) = kind.fixed_len() else {
        return Err(CodecError::UnknownKind(kind as u8));
    };
    if payload.len() != expected {
        return Err(CodecError::WrongLength { kind, expected, got: payload.len() });
    }
    let mut g = Get { buf: payload, pos: 0 };
    Ok(match kind {
        RecordKind::Event => {
            let ts_event = g.u64();
            let ts_recv = g.u64();
            let seq = g.u64();
            let price = g.i64();
            let order_id = g.u64();
            let size = g.u32();
            let count = g.u32();
            let instrument_id = g.u32();
            let k = g.u8();
            let kind = EventKind::from_u8(k).ok_or(CodecError::BadValue { field: "event.kind", value: k })?;
            let side = g.side("event.side")?;
            let depth = g.u8();
            let flags = g.u8();
            Msg::Market(Event {
                ts_event,
                ts_recv,
                seq,
                price,
                order_id,
                size,
                count,
                instrument_id,
                kind,
                side,
                depth,
                flags,
            })
        }
        RecordKind::Signal => Msg::Signal(Signal {
            seq: g.u64(),
            ts: g.u64(),
            ref_price: g.i64(),
            direction: g.u8() as i8,
            strength: g.f32(),
            obi: g.f32(),
            window_delta: g.i64(),
        }),
        RecordKind::Intent => {
            let client_order_id = g.u64();
            let seq = g.u64();
            let ts = g.u64();
            let price = g.i64();
            let qty = g.u32();
            let instrument_id = g.u32();
            let side = g.side("intent.side")?;
            let t = g.u8();
            let order_type = match t {
                1 => OrderType::Market,
                2 => OrderType::Limit,
                _ => return Err(CodecError::BadValue { field: "intent.order_type", value: t }),
            };
            Msg::Intent(OrderIntent { client_order_id, seq, ts, price, qty, instrument_id, side, order_type })
        }
        RecordKind::Fill => {
            let client_order_id = g.u64();
            let seq = g.u64();
            let ts = g.u64();
            let price = g.i64();
            let fee = g.i64();
            let qty = g.u32();
            let side = g.side("fill.side")?;
            let d = g.u8();
            let done = match d {
                0 => false,
                1 => true,
                _ => return Err(CodecError::BadValue { field: "fill.done", value: d }),
            };
            Msg::Fill(Fill { client_order_id, seq, ts, price, fee, qty, side, done })
        }
        RecordKind::Meta | RecordKind::Note | RecordKind::SessionEnd => {
            return Err(CodecError::UnknownKind(kind as u8));
        }
    })
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
        JournalRecord::Msg(_) => {
            return Err(CodecError::Archive {
                kind: RecordKind::Event,
                reason: "fixed-size messages are not archived".into(),
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
        _ => JournalRecord::End(rkyv::from_bytes::<SessionEnd, E>(bytes).map_err(|e| archive_err(kind, e))?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use mia_model::event::flags;

    fn samples() -> Vec<Msg> {
        vec![
            Msg::Market(Event {
                ts_event: 1_700_000_000_123_456_789,
                ts_recv: 1_700_000_000_123_999_000,
                seq: 42,
                price: 5_123_250_000_000,
                order_id: u64::MAX - 3,
                size: 17,
                count: 4,
                instrument_id: 4242,
                kind: EventKind::Level,
                side: Side::Ask,
                depth: 9,
                flags: flags::LAST | flags::MBP,
            }),
            Msg::Market(Event::trade(5, 6, Side::None, -250_000_000, 1, 0)),
            Msg::Signal(Signal {
                seq: 7,
                ts: 8,
                ref_price: 5_000_000_000_000,
                direction: -1,
                strength: 0.75,
                obi: -0.125,
                window_delta: -300,
            }),
            Msg::Intent(OrderIntent {
                client_order_id: 99,
                seq: 7,
                ts: 9,
                price: 5_000_250_000_000,
                qty: 2,
                instrument_id: 1,
                side: Side::Bid,
                order_type: OrderType::Limit,
            }),
            Msg::Fill(Fill {
                client_order_id: 99,
                seq: 8,
                ts: 10,
                price: 5_000_250_000_000,
                fee: 2_150_000_000,
                qty: 1,
                side: Side::Ask,
                done: true,
            }),
        ]
    }

    #[test]
    fn fixed_messages_round_trip() {
        for m in samples() {
            let mut buf = [0u8; MAX_FIXED_LEN];
            let n = encode_msg(&m, &mut buf);
            let kind = RecordKind::of_msg(&m);
            assert_eq!(Some(n), kind.fixed_len());
            assert_eq!(decode_msg(kind, &buf[..n]), Ok(m));
            // Wrong length is rejected, not misread.
            assert!(matches!(decode_msg(kind, &buf[..n - 1]), Err(CodecError::WrongLength { .. })));
        }
    }

    #[test]
    fn bad_enum_bytes_are_rejected() {
        let m = samples();
        let mut buf = [0u8; MAX_FIXED_LEN];
        // Event kind at byte 52, side at 53.
        let n = encode_msg(&m[0], &mut buf);
        let mut b = buf;
        b[52] = 0;
        assert_eq!(
            decode_msg(RecordKind::Event, &b[..n]),
            Err(CodecError::BadValue { field: "event.kind", value: 0 })
        );
        let mut b = buf;
        b[53] = 7;
        assert_eq!(
            decode_msg(RecordKind::Event, &b[..n]),
            Err(CodecError::BadValue { field: "event.side", value: 7 })
        );
        // Intent order type at byte 41.
        let n = encode_msg(&m[3], &mut buf);
        buf[41] = 3;
        assert_eq!(
            decode_msg(RecordKind::Intent, &buf[..n]),
            Err(CodecError::BadValue { field: "intent.order_type", value: 3 })
        );
        // Fill done at byte 45.
        let n = encode_msg(&m[4], &mut buf);
        buf[45] = 2;
        assert_eq!(
            decode_msg(RecordKind::Fill, &buf[..n]),
            Err(CodecError::BadValue { field: "fill.done", value: 2 })
        );
    }

    #[test]
    fn layout_is_little_endian_field_order() {
        let e = Event { ts_event: 0x0102_0304_0506_0708, ..Event::default() };
        let mut buf = [0u8; MAX_FIXED_LEN];
        encode_msg(&Msg::Market(e), &mut buf);
        assert_eq!(&buf[..8], &[8, 7, 6, 5, 4, 3, 2, 1]);
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
