//! DTC binary encoding (encoding 0): little-endian structs with natural alignment, each message
//! framed by its own header `u16 Size` (total bytes, header included) + `u16 Type`.
//!
//! [`encode`] writes a message at the newest layout's size. [`decode`] reads one message from
//! the front of a byte buffer **by its `Size` field**: a shorter (older) message fills the
//! missing trailing fields with defaults, a longer (newer) one has its unknown tail skipped,
//! and an unknown type is returned as [`Message::Unknown`] so the stream stays in step.

use super::messages::Message;
use super::CodecError;

/// Bytes of the `Size` + `Type` header.
pub const HEADER_LEN: usize = 4;

/// Appends the binary encoding of `msg` to `out`. An `Unknown` message encodes as its header
/// followed by zeros.
pub fn encode(msg: &Message, out: &mut Vec<u8>) {
    let size = msg.binary_size().clamp(HEADER_LEN, u16::MAX as usize);
    let start = out.len();
    out.resize(start + size, 0);
    let b = &mut out[start..];
    b[0..2].copy_from_slice(&(size as u16).to_le_bytes());
    b[2..4].copy_from_slice(&msg.msg_type().to_le_bytes());
    msg.encode_fields(b);
}

/// The binary encoding of `msg` as a new vector.
pub fn to_bytes(msg: &Message) -> Vec<u8> {
    let mut v = Vec::with_capacity(msg.binary_size());
    encode(msg, &mut v);
    v
}

/// Decodes the message at the front of `buf`: `Ok(Some((message, bytes used)))`, or
/// `Ok(None)` when `buf` does not yet hold the whole message.
///
/// # Errors
/// A `Size` field smaller than the header (the stream cannot be resynchronized).
#[inline]
pub fn decode(buf: &[u8]) -> Result<Option<(Message, usize)>, CodecError> {
    let (Some(&s0), Some(&s1), Some(&t0), Some(&t1)) = (buf.first(), buf.get(1), buf.get(2), buf.get(3))
    else {
        return Ok(None);
    };
    let size = usize::from(u16::from_le_bytes([s0, s1]));
    let ty = u16::from_le_bytes([t0, t1]);
    if size < HEADER_LEN {
        return Err(CodecError::new(
            Some(ty),
            "Size",
            format!("message size {size} is smaller than the 4-byte header"),
        ));
    }
    let Some(body) = buf.get(..size) else { return Ok(None) };
    Ok(Some((Message::decode_fields(ty, body), size)))
}

#[cfg(test)]
mod tests {
    use super::super::messages::*;
    use super::*;
    use std::collections::BTreeMap;

    /// The published layouts: `name size Field@off+len ...` per line (the padding byte
    /// `Unused_1` of LOGON_RESPONSE is not a field here).
    type Layout = (usize, Vec<(String, usize, usize)>);

    fn golden() -> BTreeMap<String, Layout> {
        let mut m = BTreeMap::new();
        for line in include_str!("testdata/layout_v8_2022.txt").lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let mut it = line.split_whitespace();
            let name = it.next().expect("name").to_string();
            let size: usize = it.next().expect("size").parse().expect("size");
            let fields = it
                .filter(|f| !f.starts_with("Unused_1@"))
                .map(|f| {
                    let (n, rest) = f.split_once('@').expect("@");
                    let (o, l) = rest.split_once('+').expect("+");
                    let n = if name == "LogonRequest" && n == "Unused1" { "TradeMode" } else { n };
                    (n.to_string(), o.parse().expect("off"), l.parse().expect("len"))
                })
                .collect();
            m.insert(name, (size, fields));
        }
        m
    }

    #[test]
    fn every_struct_matches_the_published_size_and_offsets() {
        let g = golden();
        let ours = Message::layouts();
        assert_eq!(ours.len(), g.len(), "one golden line per message");
        for (name, ty, size, layout) in ours {
            let (gsize, gfields) = g.get(*name).unwrap_or_else(|| panic!("{name}: no golden layout"));
            assert_eq!(size, gsize, "{name} (type {ty}) size");
            let mine: Vec<(String, usize, usize)> =
                layout.iter().map(|(n, o, l)| (n.to_string(), *o, *l)).collect();
            assert_eq!(&mine, gfields, "{name} fields, offsets and lengths");
            for (n, o, l) in layout.iter() {
                assert!(o + l <= *size && *o >= HEADER_LEN, "{name}.{n} lies inside the message");
            }
        }
    }

    #[test]
    fn header_bytes_and_the_encoding_request_example() {
        let m = Message::EncodingRequest(EncodingRequest {
            protocol_version: PROTOCOL_VERSION,
            encoding: values::ENCODING_BINARY,
            protocol_type: "DTC".into(),
        });
        assert_eq!(to_bytes(&m), [0x10, 0, 6, 0, 8, 0, 0, 0, 0, 0, 0, 0, b'D', b'T', b'C', 0]);
        let hb = to_bytes(&Message::Heartbeat(Heartbeat { num_dropped_messages: 3, current_date_time: 7 }));
        assert_eq!(&hb[..4], &[16, 0, 3, 0]);
        assert_eq!(u32::from_le_bytes([hb[4], hb[5], hb[6], hb[7]]), 3);
    }

    fn sample_messages() -> Vec<Message> {
        vec![
            LogonRequest {
                protocol_version: 8,
                username: "u".into(),
                heartbeat_interval_in_seconds: 5,
                trade_mode: 2,
                client_name: "MIA".into(),
                trade_account: "SIM1".into(),
                market_data_transmission_interval: 3,
                ..Default::default()
            }
            .into(),
            LogonResponse {
                result: 1,
                server_name: "SC".into(),
                trading_is_supported: 1,
                bracket_orders_supported: 1,
                market_data_supported: 1,
                ..Default::default()
            }
            .into(),
            MarketDataUpdateTrade {
                symbol_id: 1,
                at_bid_or_ask: 2,
                price: 4000.25,
                volume: 3.0,
                date_time: 1.7e9,
            }
            .into(),
            MarketDataUpdateBidAskCompact {
                bid_price: 1.5,
                ask_quantity: 2.0,
                symbol_id: 9,
                ..Default::default()
            }
            .into(),
            MarketDepthSnapshotLevel {
                side: 1,
                price: 4000.0,
                quantity: 12.0,
                level: 1,
                is_first_message_in_batch: 1,
                ..Default::default()
            }
            .into(),
            SubmitNewSingleOrder {
                symbol: "ESZ25_FUT_CME".into(),
                client_order_id: "42".into(),
                order_type: 2,
                buy_sell: 1,
                price1: 4000.0,
                quantity: 2.0,
                is_parent_order: 1,
                ..Default::default()
            }
            .into(),
            SubmitNewOcoOrder {
                client_order_id_1: "43".into(),
                client_order_id_2: "44".into(),
                parent_trigger_client_order_id: "42".into(),
                price1_2: 3990.0,
                maintain_same_prices_on_parent_fill: 1,
                ..Default::default()
            }
            .into(),
            OrderUpdate {
                request_id: 0,
                client_order_id: "42".into(),
                order_status: 10,
                filled_quantity: 1.0,
                latest_transaction_date_time: 1.5,
                username: "x".into(),
                ..Default::default()
            }
            .into(),
            PositionUpdate {
                quantity: -2.0,
                unsolicited: 1,
                max_potential_postion_quantity: 4.0,
                ..Default::default()
            }
            .into(),
            Message::Unknown { msg_type: 9999, size: 12 },
        ]
    }

    #[test]
    fn messages_round_trip_and_decode_consumes_exactly_their_size() {
        let msgs = sample_messages();
        let mut stream = Vec::new();
        for m in &msgs {
            encode(m, &mut stream);
        }
        let mut off = 0;
        for want in &msgs {
            let (got, used) = decode(&stream[off..]).expect("valid").expect("whole");
            assert_eq!(&got, want);
            assert_eq!(used, want.binary_size());
            off += used;
        }
        assert_eq!(off, stream.len());
        // Every prefix shorter than the first message asks for more.
        let first = to_bytes(&msgs[0]);
        for n in 0..first.len() {
            assert_eq!(decode(&first[..n]).expect("valid prefix"), None, "{n} bytes");
        }
    }

    #[test]
    fn shorter_older_and_longer_newer_messages_decode_by_size() {
        // The 2020 LOGON_REQUEST is 280 bytes (no MarketDataTransmissionInterval).
        let new = LogonRequest {
            heartbeat_interval_in_seconds: 10,
            market_data_transmission_interval: 7,
            ..Default::default()
        };
        let mut b = to_bytes(&new.clone().into());
        b.truncate(280);
        b[0..2].copy_from_slice(&280u16.to_le_bytes());
        let (m, used) = decode(&b).expect("valid").expect("whole");
        assert_eq!(used, 280);
        let Message::LogonRequest(old) = m else { panic!("type") };
        assert_eq!((old.heartbeat_interval_in_seconds, old.market_data_transmission_interval), (10, 0));
        // A newer ORDER_UPDATE with 40 more bytes: the fields we know, then the next message.
        let mut b = to_bytes(&OrderUpdate { client_order_id: "7".into(), ..Default::default() }.into());
        b.extend_from_slice(&[0xAB; 40]);
        b[0..2].copy_from_slice(&760u16.to_le_bytes());
        b.extend_from_slice(&to_bytes(&Heartbeat::default().into()));
        let (m, used) = decode(&b).expect("valid").expect("whole");
        assert_eq!(used, 760);
        assert!(matches!(&m, Message::OrderUpdate(u) if u.client_order_id == "7"));
        assert!(matches!(decode(&b[used..]), Ok(Some((Message::Heartbeat(_), 16)))));
        // A string filling its whole field keeps N − 1 bytes and its terminator.
        let long = CancelOrder { client_order_id: "x".repeat(40), ..Default::default() };
        let Ok(Some((Message::CancelOrder(c), _))) = decode(&to_bytes(&long.into())) else {
            panic!("decode")
        };
        assert_eq!(c.client_order_id.len(), 31);
    }

    #[test]
    fn a_size_below_the_header_is_an_error_naming_the_field() {
        let e = decode(&[2, 0, 3, 0, 0, 0]).expect_err("size 2");
        assert_eq!(e.msg_type, Some(3));
        assert_eq!(e.field, "Size");
    }
}
