//! The one byte encoding of a [`Msg`]: field by field, little endian, no padding, no
//! allocation. The journal stores it as record payloads and the decision digest hashes it, so
//! the two can never disagree on what an intent or a fill is.
//!
//! Decoding checks the exact payload length and validates every enum and bool byte, so a
//! payload that passes its CRC but carries an impossible value is still rejected.
//!
//! | kind | message       | bytes | fields, in order |
//! |------|---------------|-------|------------------|
//! | 1    | `Event`       | 56    | ts_event, ts_recv, seq, price, order_id, size, count, instrument_id, kind, side, depth, flags |
//! | 2    | `Signal`      | 53    | seq, ts, entry, stop, target, confidence, size_hint, direction, tier, strategy, pattern, entry_type |
//! | 3    | `OrderIntent` | 56    | seq, client_order_id, ts, price, trigger, qty, instrument_id, link (u16), children (u8), 0, side, order_type, tif, action |
//! | 4    | `Fill`        | 50    | seq, client_order_id, ts, price, fee, qty, leaves, side, done |
//! | 5    | `ExecReport`  | 52    | seq, client_order_id, ts, price, fee, qty, leaves, side, kind, reason (u16) |
//! | 6    | `Control`     | 25    | seq, ts, arg, kind |

use super::{
    Control, ControlKind, Direction, ExecKind, ExecReport, Fill, Msg, OrderAction, OrderIntent, OrderSide,
    OrderType, TimeInForce,
};
use super::{Signal, SignalSource};
use crate::event::{Event, EventKind, Side};
use crate::money::NanoUsd;

/// Kind byte of a market event.
pub const KIND_EVENT: u8 = 1;
/// Kind byte of a signal.
pub const KIND_SIGNAL: u8 = 2;
/// Kind byte of an order intent.
pub const KIND_INTENT: u8 = 3;
/// Kind byte of a fill.
pub const KIND_FILL: u8 = 4;
/// Kind byte of an execution report.
pub const KIND_EXEC: u8 = 5;
/// Kind byte of a control input.
pub const KIND_CONTROL: u8 = 6;

/// Encoded length of an `Event`.
pub const EVENT_LEN: usize = 56;
/// Encoded length of a `Signal`.
pub const SIGNAL_LEN: usize = 53;
/// Encoded length of an `OrderIntent`.
pub const INTENT_LEN: usize = 56;
/// Encoded length of a `Fill`.
pub const FILL_LEN: usize = 50;
/// Encoded length of an `ExecReport`.
pub const EXEC_LEN: usize = 52;
/// Encoded length of a `Control`.
pub const CONTROL_LEN: usize = 25;
/// Largest encoding: a buffer of this size holds any message.
pub const MAX_LEN: usize = EVENT_LEN;

/// Why a payload could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// The kind byte is not a message kind.
    #[error("unknown message kind {0}")]
    UnknownKind(u8),
    /// The payload has the wrong length for its kind.
    #[error("{} payload is {got} bytes, expected {expected}", kind_name(*kind))]
    WrongLength {
        /// Kind byte.
        kind: u8,
        /// Expected length.
        expected: usize,
        /// Actual length.
        got: usize,
    },
    /// An enum or bool field holds an impossible byte.
    #[error("invalid value {value} for field {field}")]
    BadValue {
        /// Field name (`message.field`).
        field: &'static str,
        /// The byte found.
        value: u8,
    },
}

/// The kind byte of `msg`.
#[inline]
pub const fn kind_of(msg: &Msg) -> u8 {
    match msg {
        Msg::Market(_) => KIND_EVENT,
        Msg::Signal(_) => KIND_SIGNAL,
        Msg::Intent(_) => KIND_INTENT,
        Msg::Fill(_) => KIND_FILL,
        Msg::Exec(_) => KIND_EXEC,
        Msg::Control(_) => KIND_CONTROL,
    }
}

/// The name of message kind `kind` (`"Event"`, `"Intent"`, …; `"unknown"` otherwise).
pub const fn kind_name(kind: u8) -> &'static str {
    match kind {
        KIND_EVENT => "Event",
        KIND_SIGNAL => "Signal",
        KIND_INTENT => "Intent",
        KIND_FILL => "Fill",
        KIND_EXEC => "Exec",
        KIND_CONTROL => "Control",
        _ => "unknown",
    }
}

/// The encoded length of messages of kind `kind`, `None` if it is not a message kind.
#[inline]
pub const fn len_of_kind(kind: u8) -> Option<usize> {
    match kind {
        KIND_EVENT => Some(EVENT_LEN),
        KIND_SIGNAL => Some(SIGNAL_LEN),
        KIND_INTENT => Some(INTENT_LEN),
        KIND_FILL => Some(FILL_LEN),
        KIND_EXEC => Some(EXEC_LEN),
        KIND_CONTROL => Some(CONTROL_LEN),
        _ => None,
    }
}

/// The encoded length of `msg`.
#[inline]
pub const fn len_of(msg: &Msg) -> usize {
    match len_of_kind(kind_of(msg)) {
        Some(n) => n,
        None => 0,
    }
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
    fn u16(&mut self, v: u16) {
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
    fn u16(&mut self) -> u16 {
        u16::from_le_bytes(self.bytes())
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
    fn enum_u8<T>(&mut self, field: &'static str, f: fn(u8) -> Option<T>) -> Result<T, WireError> {
        let v = self.u8();
        f(v).ok_or(WireError::BadValue { field, value: v })
    }
}

/// Encodes `msg` into the start of `out` and returns its length ([`len_of`]).
///
/// # Panics
/// If `out` is shorter than that length (a caller bug: [`MAX_LEN`] always suffices).
#[inline]
pub fn encode(msg: &Msg, out: &mut [u8]) -> usize {
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
            p.i64(s.entry);
            p.i64(s.stop);
            p.i64(s.target);
            p.f32(s.confidence);
            p.u32(s.size_hint);
            p.u8(s.direction as i8 as u8);
            p.u8(s.tier);
            p.u8(s.source.strategy);
            p.u8(s.source.pattern);
            p.u8(s.entry_type as u8);
        }
        Msg::Intent(o) => {
            p.u64(o.seq);
            p.u64(o.client_order_id);
            p.u64(o.ts);
            p.i64(o.price);
            p.i64(o.trigger);
            p.u32(o.qty);
            p.u32(o.instrument_id);
            // `link` (u16) + `children` (u8) + one zero byte: the same bytes as the former u32
            // link whenever `children` is 0, so old journals and digests are unchanged.
            p.u16(o.link);
            p.u8(o.children);
            p.u8(0);
            p.u8(o.side as u8);
            p.u8(o.order_type as u8);
            p.u8(o.tif as u8);
            p.u8(o.action as u8);
        }
        Msg::Fill(f) => {
            p.u64(f.seq);
            p.u64(f.client_order_id);
            p.u64(f.ts);
            p.i64(f.price);
            p.i64(f.fee.nano());
            p.u32(f.qty);
            p.u32(f.leaves);
            p.u8(f.side as u8);
            p.u8(f.done as u8);
        }
        Msg::Exec(r) => {
            p.u64(r.seq);
            p.u64(r.client_order_id);
            p.u64(r.ts);
            p.i64(r.price);
            p.i64(r.fee.nano());
            p.u32(r.qty);
            p.u32(r.leaves);
            p.u8(r.side as u8);
            p.u8(r.kind as u8);
            p.u16(r.reason);
        }
        Msg::Control(c) => {
            p.u64(c.seq);
            p.u64(c.ts);
            p.u64(c.arg);
            p.u8(c.kind as u8);
        }
    }
    p.pos
}

/// Decodes a payload of kind `kind`.
///
/// # Errors
/// [`WireError`] for an unknown kind, a wrong length or an impossible enum/bool byte.
pub fn decode(kind: u8, payload: &[u8]) -> Result<Msg, WireError> {
    let Some(expected) = len_of_kind(kind) else {
        return Err(WireError::UnknownKind(kind));
    };
    if payload.len() != expected {
        return Err(WireError::WrongLength { kind, expected, got: payload.len() });
    }
    let mut g = Get { buf: payload, pos: 0 };
    Ok(match kind {
        KIND_EVENT => {
            let ts_event = g.u64();
            let ts_recv = g.u64();
            let seq = g.u64();
            let price = g.i64();
            let order_id = g.u64();
            let size = g.u32();
            let count = g.u32();
            let instrument_id = g.u32();
            let kind = g.enum_u8("event.kind", EventKind::from_u8)?;
            let side = g.enum_u8("event.side", Side::from_u8)?;
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
        KIND_SIGNAL => {
            let seq = g.u64();
            let ts = g.u64();
            let entry = g.i64();
            let stop = g.i64();
            let target = g.i64();
            let confidence = g.f32();
            let size_hint = g.u32();
            let direction = g.enum_u8("signal.direction", Direction::from_u8)?;
            let tier = g.u8();
            let source = SignalSource { strategy: g.u8(), pattern: g.u8() };
            let entry_type = g.enum_u8("signal.entry_type", OrderType::from_u8)?;
            Msg::Signal(Signal {
                seq,
                ts,
                entry,
                stop,
                target,
                confidence,
                size_hint,
                direction,
                tier,
                source,
                entry_type,
            })
        }
        KIND_INTENT => {
            let seq = g.u64();
            let client_order_id = g.u64();
            let ts = g.u64();
            let price = g.i64();
            let trigger = g.i64();
            let qty = g.u32();
            let instrument_id = g.u32();
            let link = g.u16();
            let children = g.u8();
            let _pad = g.u8();
            let side = g.enum_u8("intent.side", OrderSide::from_u8)?;
            let order_type = g.enum_u8("intent.order_type", OrderType::from_u8)?;
            let tif = g.enum_u8("intent.tif", TimeInForce::from_u8)?;
            let action = g.enum_u8("intent.action", OrderAction::from_u8)?;
            Msg::Intent(OrderIntent {
                client_order_id,
                seq,
                ts,
                price,
                trigger,
                qty,
                instrument_id,
                link,
                children,
                side,
                order_type,
                tif,
                action,
            })
        }
        KIND_FILL => {
            let seq = g.u64();
            let client_order_id = g.u64();
            let ts = g.u64();
            let price = g.i64();
            let fee = g.i64();
            let qty = g.u32();
            let leaves = g.u32();
            let side = g.enum_u8("fill.side", OrderSide::from_u8)?;
            let done = g.enum_u8("fill.done", bool_from_u8)?;
            Msg::Fill(Fill {
                client_order_id,
                seq,
                ts,
                price,
                fee: NanoUsd::from_nano(fee),
                qty,
                leaves,
                side,
                done,
            })
        }
        KIND_EXEC => {
            let seq = g.u64();
            let client_order_id = g.u64();
            let ts = g.u64();
            let price = g.i64();
            let fee = g.i64();
            let qty = g.u32();
            let leaves = g.u32();
            let side = g.enum_u8("exec.side", OrderSide::from_u8)?;
            let kind = g.enum_u8("exec.kind", ExecKind::from_u8)?;
            let reason = g.u16();
            Msg::Exec(ExecReport {
                client_order_id,
                seq,
                ts,
                price,
                fee: NanoUsd::from_nano(fee),
                qty,
                leaves,
                side,
                kind,
                reason,
            })
        }
        _ => {
            let seq = g.u64();
            let ts = g.u64();
            let arg = g.u64();
            let kind = g.enum_u8("control.kind", ControlKind::from_u8)?;
            Msg::Control(Control { seq, ts, arg, kind })
        }
    })
}

fn bool_from_u8(v: u8) -> Option<bool> {
    match v {
        0 => Some(false),
        1 => Some(true),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::flags;
    use crate::price::UNDEF_PX;

    /// One sample of every message kind, with every field set.
    pub(crate) fn samples() -> Vec<Msg> {
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
                entry: 5_000_000_000_000,
                stop: 4_999_000_000_000,
                target: UNDEF_PX,
                confidence: 0.75,
                size_hint: 2,
                direction: Direction::Short,
                tier: 2,
                source: SignalSource { strategy: 1, pattern: 3 },
                entry_type: OrderType::Limit,
            }),
            Msg::Intent(OrderIntent {
                client_order_id: 99,
                seq: 7,
                ts: 9,
                price: 5_000_250_000_000,
                trigger: 4_999_000_000_000,
                qty: 2,
                instrument_id: 1,
                link: 2,
                children: 2,
                side: OrderSide::Buy,
                order_type: OrderType::StopLimit,
                tif: TimeInForce::Gtc,
                action: OrderAction::Modify,
            }),
            Msg::Fill(Fill {
                client_order_id: 99,
                seq: 8,
                ts: 10,
                price: 5_000_250_000_000,
                fee: NanoUsd::from_nano(2_150_000_000),
                qty: 1,
                leaves: 3,
                side: OrderSide::Sell,
                done: true,
            }),
            Msg::Exec(ExecReport {
                client_order_id: 5,
                seq: 11,
                ts: 12,
                price: 4_000_000_000_000,
                fee: NanoUsd::from_nano(1),
                qty: 3,
                leaves: 1,
                side: OrderSide::Sell,
                kind: ExecKind::Filled,
                reason: 201,
            }),
            Msg::Control(Control { seq: 13, ts: 14, arg: 2, kind: ControlKind::GammaPublished }),
        ]
    }

    #[test]
    fn every_kind_round_trips_and_rejects_wrong_lengths() {
        for m in samples() {
            let mut buf = [0u8; MAX_LEN];
            let n = encode(&m, &mut buf);
            assert_eq!(n, len_of(&m));
            assert_eq!(decode(kind_of(&m), &buf[..n]), Ok(m));
            assert!(matches!(decode(kind_of(&m), &buf[..n - 1]), Err(WireError::WrongLength { .. })));
        }
        assert_eq!(decode(99, &[]), Err(WireError::UnknownKind(99)));
        let e = WireError::WrongLength { kind: KIND_INTENT, expected: INTENT_LEN, got: 41 };
        assert_eq!(e.to_string(), "Intent payload is 41 bytes, expected 56", "errors name the kind");
    }

    #[test]
    fn bad_enum_bytes_are_rejected() {
        let m = samples();
        let mut buf = [0u8; MAX_LEN];
        let n = encode(&m[0], &mut buf);
        let mut b = buf;
        b[52] = 0;
        assert_eq!(decode(KIND_EVENT, &b[..n]), Err(WireError::BadValue { field: "event.kind", value: 0 }));
        let mut b = buf;
        b[53] = 7;
        assert_eq!(decode(KIND_EVENT, &b[..n]), Err(WireError::BadValue { field: "event.side", value: 7 }));
        let n = encode(&m[3], &mut buf);
        for (at, field) in
            [(52, "intent.side"), (53, "intent.order_type"), (54, "intent.tif"), (55, "intent.action")]
        {
            let mut b = buf;
            b[at] = 5;
            assert_eq!(decode(KIND_INTENT, &b[..n]), Err(WireError::BadValue { field, value: 5 }));
            b[at] = 0;
            assert_eq!(decode(KIND_INTENT, &b[..n]), Err(WireError::BadValue { field, value: 0 }));
        }
        let n = encode(&m[4], &mut buf);
        buf[49] = 2;
        assert_eq!(decode(KIND_FILL, &buf[..n]), Err(WireError::BadValue { field: "fill.done", value: 2 }));
        let n = encode(&m[2], &mut buf);
        let mut b = buf;
        b[48] = 5;
        assert_eq!(
            decode(KIND_SIGNAL, &b[..n]),
            Err(WireError::BadValue { field: "signal.direction", value: 5 })
        );
        buf[52] = 9;
        assert_eq!(
            decode(KIND_SIGNAL, &buf[..n]),
            Err(WireError::BadValue { field: "signal.entry_type", value: 9 })
        );
    }

    #[test]
    fn layout_is_little_endian_field_order() {
        let e = Event { ts_event: 0x0102_0304_0506_0708, ..Event::default() };
        let mut buf = [0u8; MAX_LEN];
        encode(&Msg::Market(e), &mut buf);
        assert_eq!(&buf[..8], &[8, 7, 6, 5, 4, 3, 2, 1]);
        // An intent starts with the causing input's seq (the digest's historical order).
        let i = OrderIntent { seq: 3, client_order_id: 9, ..OrderIntent::default() };
        encode(&Msg::Intent(i), &mut buf);
        assert_eq!((buf[0], buf[8]), (3, 9));
        // The fields added for the order manager sit after the historical ones.
        let i = OrderIntent {
            trigger: 0x0102,
            link: 7,
            order_type: OrderType::Stop,
            tif: TimeInForce::Ioc,
            action: OrderAction::Cancel,
            ..i
        };
        encode(&Msg::Intent(i), &mut buf);
        assert_eq!((buf[32], buf[33], buf[48]), (2, 1, 7));
        assert_eq!(&buf[53..56], &[3, 3, 3]);
        let f = Fill { qty: 2, leaves: 0x0304, ..Fill::default() };
        encode(&Msg::Fill(f), &mut buf);
        assert_eq!((buf[40], buf[44], buf[45]), (2, 4, 3));
    }
}
