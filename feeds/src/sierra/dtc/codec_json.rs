//! DTC JSON encoding (encoding 2): each message is one JSON object whose `Type` member is the
//! message type number and whose other members are the struct's fields by their DTC names,
//! followed by a NUL byte (`{"Type":3,"NumDroppedMessages":0,"CurrentDateTime":…}\0`).
//!
//! Missing members take their defaults and unknown members are ignored (so older and newer
//! peers interoperate, as with the binary `Size` rule); an unknown `Type` decodes to
//! [`Message::Unknown`]. The compact JSON encoding (3, arrays by field order) is not spoken.

use super::messages::Message;
use super::CodecError;

/// Longest message accepted before its NUL terminator (a peer that never terminates must not
/// make the client buffer without bound).
pub const MAX_MESSAGE_LEN: usize = 64 * 1024;

/// The `Type` member of a message (every other member is skipped).
#[derive(serde::Deserialize)]
struct Probe {
    #[serde(rename = "Type", default)]
    ty: Option<u64>,
}

/// Appends `msg` as a NUL-terminated JSON object to `out`.
///
/// # Errors
/// A field that JSON cannot carry (a NaN or infinite double).
pub fn encode(msg: &Message, out: &mut Vec<u8>) -> Result<(), CodecError> {
    let ty = msg.msg_type();
    let fields = msg
        .to_json_fields()
        .map_err(|e| CodecError::new(Some(ty), "", format!("cannot encode {}: {e}", msg.name())))?;
    let body = serde_json::to_string(&fields).map_err(|e| CodecError::new(Some(ty), "", e.to_string()))?;
    out.extend_from_slice(format!("{{\"Type\":{ty}").as_bytes());
    match body.strip_prefix('{') {
        Some("}") | None => out.push(b'}'),
        Some(rest) => {
            out.push(b',');
            out.extend_from_slice(rest.as_bytes());
        }
    }
    out.push(0);
    Ok(())
}

/// `msg` as a new NUL-terminated JSON message.
///
/// # Errors
/// As [`encode`].
pub fn to_bytes(msg: &Message) -> Result<Vec<u8>, CodecError> {
    let mut v = Vec::with_capacity(256);
    encode(msg, &mut v)?;
    Ok(v)
}

/// Decodes the message at the front of `buf`: `Ok(Some((message, bytes used including the
/// NUL)))`, or `Ok(None)` when its terminator has not arrived yet.
///
/// # Errors
/// Not JSON, not an object, no numeric `Type`, a member of the wrong type (the error names
/// it), or more than [`MAX_MESSAGE_LEN`] bytes without a terminator.
pub fn decode(buf: &[u8]) -> Result<Option<(Message, usize)>, CodecError> {
    let Some(end) = buf.iter().position(|&b| b == 0) else {
        if buf.len() > MAX_MESSAGE_LEN {
            return Err(CodecError::new(
                None,
                "",
                format!("no NUL terminator within {MAX_MESSAGE_LEN} bytes"),
            ));
        }
        return Ok(None);
    };
    let text = &buf[..end];
    // Peers may send whitespace (or an empty message) between messages.
    if text.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(Some((Message::Unknown { msg_type: 0, size: end + 1 }, end + 1)));
    }
    // Two typed passes (the type, then the struct) cost less than one through a `Value`.
    let probe: Probe = serde_json::from_slice(text)
        .map_err(|e| CodecError::new(None, "", format!("not a JSON object: {e}")))?;
    let ty = match probe.ty {
        Some(t) if t <= u64::from(u16::MAX) => t as u16,
        _ => return Err(CodecError::new(None, "Type", "no numeric Type member".into())),
    };
    let m = Message::from_json_slice(ty, text, end + 1)
        .map_err(|e| CodecError::new(Some(ty), "", e.to_string()))?;
    Ok(Some((m, end + 1)))
}

#[cfg(test)]
mod tests {
    use super::super::messages::*;
    use super::*;

    fn all_kinds() -> Vec<Message> {
        vec![
            EncodingRequest { protocol_version: 8, encoding: 2, protocol_type: "DTC".into() }.into(),
            EncodingResponse { protocol_version: 8, encoding: 2, protocol_type: "DTC".into() }.into(),
            LogonRequest {
                heartbeat_interval_in_seconds: 5,
                client_name: "MIA".into(),
                integer_1: 0,
                ..Default::default()
            }
            .into(),
            LogonResponse {
                result: 1,
                server_name: "SC".into(),
                oco_orders_supported: 1,
                ..Default::default()
            }
            .into(),
            Heartbeat { num_dropped_messages: 0, current_date_time: 1_700_000_000 }.into(),
            Logoff { reason: "bye".into(), do_not_reconnect: 1 }.into(),
            MarketDataRequest {
                request_action: 1,
                symbol_id: 1,
                symbol: "ESZ25_FUT_CME".into(),
                ..Default::default()
            }
            .into(),
            MarketDataReject { symbol_id: 1, reject_text: "no".into() }.into(),
            MarketDataSnapshot { bid_price: 4000.0, ask_price: f64::MAX, ..Default::default() }.into(),
            MarketDataUpdateTrade { price: 4000.25, volume: 1.0, at_bid_or_ask: 1, ..Default::default() }
                .into(),
            MarketDataUpdateTradeCompact { price: 4000.25, volume: 1.0, ..Default::default() }.into(),
            MarketDataUpdateBidAsk { bid_price: 4000.0, bid_quantity: 3.0, ..Default::default() }.into(),
            MarketDataUpdateBidAskCompact { ask_price: 4000.5, ..Default::default() }.into(),
            MarketDepthRequest { num_levels: 10, ..Default::default() }.into(),
            MarketDepthReject { reject_text: "x".into(), ..Default::default() }.into(),
            MarketDepthSnapshotLevel { level: 2, price: 3999.75, ..Default::default() }.into(),
            MarketDepthUpdateLevel { update_type: 2, ..Default::default() }.into(),
            SubmitNewSingleOrder { client_order_id: "1".into(), is_parent_order: 1, ..Default::default() }
                .into(),
            SubmitNewOcoOrder { parent_trigger_client_order_id: "1".into(), ..Default::default() }.into(),
            CancelOrder { client_order_id: "1".into(), ..Default::default() }.into(),
            CancelReplaceOrder { price1_is_set: 1, price1: 4001.0, ..Default::default() }.into(),
            OrderUpdate { order_status: 7, filled_quantity: 2.0, ..Default::default() }.into(),
            OpenOrdersRequest { request_id: 3, request_all_orders: 1, ..Default::default() }.into(),
            OpenOrdersReject { request_id: 3, ..Default::default() }.into(),
            HistoricalOrderFillsRequest { request_id: 4, server_order_id: "S1".into(), ..Default::default() }
                .into(),
            HistoricalOrderFillResponse {
                quantity: 1.0,
                unique_execution_id: "E1".into(),
                ..Default::default()
            }
            .into(),
            HistoricalOrderFillsReject::default().into(),
            CurrentPositionsRequest { request_id: 5, ..Default::default() }.into(),
            CurrentPositionsReject::default().into(),
            PositionUpdate { quantity: 1.0, unsolicited: 1, ..Default::default() }.into(),
            TradeAccountsRequest { request_id: 6 }.into(),
            TradeAccountResponse { trade_account: "A".into(), ..Default::default() }.into(),
        ]
    }

    #[test]
    fn every_message_kind_round_trips_through_both_encodings() {
        let msgs = all_kinds();
        assert_eq!(msgs.len(), Message::layouts().len(), "one sample per known message");
        let mut json = Vec::new();
        let mut bin = Vec::new();
        for m in &msgs {
            encode(m, &mut json).expect("encode");
            super::super::codec_binary::encode(m, &mut bin);
        }
        let (mut jo, mut bo) = (0, 0);
        for want in &msgs {
            let (j, n) = decode(&json[jo..]).expect("json").expect("whole");
            jo += n;
            let (b, k) = super::super::codec_binary::decode(&bin[bo..]).expect("binary").expect("whole");
            bo += k;
            assert_eq!(&j, want, "JSON");
            assert_eq!(&b, want, "binary");
        }
        assert_eq!((jo, bo), (json.len(), bin.len()));
    }

    #[test]
    fn the_json_form_has_type_first_and_a_nul_terminator() {
        let b =
            to_bytes(&Heartbeat { num_dropped_messages: 1, current_date_time: 2 }.into()).expect("encode");
        let s = std::str::from_utf8(&b[..b.len() - 1]).expect("utf8");
        assert_eq!(b.last(), Some(&0));
        assert!(s.starts_with("{\"Type\":3,"), "{s}");
        let v: serde_json::Value = serde_json::from_str(s).expect("json");
        assert_eq!(v["NumDroppedMessages"], 1);
        assert_eq!(v["CurrentDateTime"], 2);
        let ids = to_bytes(&OrderUpdate::default().into()).expect("encode");
        let s = String::from_utf8_lossy(&ids);
        for key in
            ["\"ClientOrderID\"", "\"ServerOrderID\"", "\"OCOLinkedOrderServerOrderID\"", "\"RequestID\""]
        {
            assert!(s.contains(key), "{key}: {s}");
        }
    }

    #[test]
    fn missing_members_default_unknown_ones_are_ignored_and_bad_input_is_an_error() {
        let (m, n) =
            decode(b"{\"Type\":2,\"Result\":1,\"FutureField\":[1,2]}\0rest").expect("ok").expect("whole");
        assert_eq!(n, 42);
        assert!(matches!(m, Message::LogonResponse(r) if r.result == 1 && r.server_name.is_empty()));
        assert!(matches!(
            decode(b"{\"Type\":65000}\0"),
            Ok(Some((Message::Unknown { msg_type: 65000, .. }, _)))
        ));
        assert_eq!(decode(b"{\"Type\":3").expect("partial"), None);
        let e = decode(b"{\"Type\":2,\"Result\":\"one\"}\0").expect_err("wrong type");
        assert_eq!(e.msg_type, Some(2));
        assert!(e.reason.contains("invalid type"), "{e}");
        assert!(decode(b"nope\0").is_err());
        assert!(decode(b"{\"NoType\":1}\0").is_err());
        assert!(decode(&vec![b' '; MAX_MESSAGE_LEN + 1]).is_err());
        assert!(decode(b"{\"Type\":107,\"Price\":null}\0").is_err(), "null is not a double");
        assert!(decode(b"[1,2]\0").is_err());
    }
}
