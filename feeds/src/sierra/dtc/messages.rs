//! The DTC messages MIA speaks, their type numbers and their binary layouts.
//!
//! Each message is declared once, in the [`messages!`] table below: its type number, its size
//! in the binary encoding (the newest public `DTCProtocol.h`, protocol version 8, 2022) and,
//! per field, its JSON name and its byte offset. The table generates the struct (with serde
//! names for the JSON encoding), the binary field encoder/decoder and the layout table the
//! golden tests check against the published offsets.
//!
//! Binary decoding is bounded by the message's `Size`: a field that starts past the bytes
//! received (an older, shorter version of the message) keeps its default (0, empty string);
//! bytes past the known fields (a newer, longer version) are ignored. Strings are fixed
//! `char[N]`, NUL-terminated: at most `N − 1` bytes are encoded, and decoding stops at the
//! first NUL (invalid UTF-8 is replaced).

use serde::{Deserialize, Serialize};

/// `ProtocolVersion` sent in the encoding and logon requests.
pub const PROTOCOL_VERSION: i32 = 8;

/// Reads and writes one field kind at a byte offset of a message.
pub trait Wire {
    /// The Rust value of the field.
    type Value: Default + Clone + std::fmt::Debug + PartialEq;
    /// Bytes the field occupies.
    const LEN: usize;
    /// The field at `off`, or the default when the message ends before it.
    fn get(b: &[u8], off: usize) -> Self::Value;
    /// Writes the field at `off` (the buffer is the message's full size).
    fn put(v: &Self::Value, b: &mut [u8], off: usize);
}

/// Copies `N` bytes at `off`, `None` when the message is shorter.
#[inline]
fn bytes<const N: usize>(b: &[u8], off: usize) -> Option<[u8; N]> {
    let s = b.get(off..off.checked_add(N)?)?;
    let mut a = [0u8; N];
    a.copy_from_slice(s);
    Some(a)
}

#[inline]
fn put_bytes(b: &mut [u8], off: usize, v: &[u8]) {
    if let Some(d) = b.get_mut(off..off + v.len()) {
        d.copy_from_slice(v);
    }
}

macro_rules! wire_num {
    ($(#[$m:meta])* $name:ident, $t:ty, $n:expr) => {
        $(#[$m])*
        #[derive(Debug)]
        pub struct $name;
        impl Wire for $name {
            type Value = $t;
            const LEN: usize = $n;
            #[inline]
            fn get(b: &[u8], off: usize) -> $t {
                bytes::<$n>(b, off).map_or(<$t>::default(), <$t>::from_le_bytes)
            }
            #[inline]
            fn put(v: &$t, b: &mut [u8], off: usize) {
                put_bytes(b, off, &v.to_le_bytes());
            }
        }
    };
}

wire_num!(
    /// `uint8_t`.
    U8, u8, 1
);
wire_num!(
    /// `uint16_t`.
    U16, u16, 2
);
wire_num!(
    /// `int32_t` (and the 4-byte enums).
    I32, i32, 4
);
wire_num!(
    /// `uint32_t`.
    U32, u32, 4
);
wire_num!(
    /// `int64_t` (`t_DateTime`, `t_DateTimeWithMillisecondsInt`).
    I64, i64, 8
);
wire_num!(
    /// `float`.
    F32, f32, 4
);
wire_num!(
    /// `double` (`t_DateTimeWithMilliseconds` too).
    F64, f64, 8
);

/// `char[N]`, NUL-terminated.
#[derive(Debug)]
pub struct Str<const N: usize>;

impl<const N: usize> Wire for Str<N> {
    type Value = String;
    const LEN: usize = N;
    fn get(b: &[u8], off: usize) -> String {
        let end = off.saturating_add(N).min(b.len());
        let Some(s) = b.get(off..end) else { return String::new() };
        let s = s.iter().position(|&c| c == 0).map_or(s, |z| &s[..z]);
        String::from_utf8_lossy(s).into_owned()
    }
    fn put(v: &String, b: &mut [u8], off: usize) {
        let mut n = v.len().min(N.saturating_sub(1));
        while !v.is_char_boundary(n) {
            n -= 1;
        }
        put_bytes(b, off, &v.as_bytes()[..n]);
    }
}

/// Message type numbers (`DTCProtocol.h`).
pub mod types {
    /// LOGON_REQUEST.
    pub const LOGON_REQUEST: u16 = 1;
    /// LOGON_RESPONSE.
    pub const LOGON_RESPONSE: u16 = 2;
    /// HEARTBEAT.
    pub const HEARTBEAT: u16 = 3;
    /// LOGOFF.
    pub const LOGOFF: u16 = 5;
    /// ENCODING_REQUEST.
    pub const ENCODING_REQUEST: u16 = 6;
    /// ENCODING_RESPONSE.
    pub const ENCODING_RESPONSE: u16 = 7;
    /// MARKET_DATA_REQUEST.
    pub const MARKET_DATA_REQUEST: u16 = 101;
    /// MARKET_DEPTH_REQUEST.
    pub const MARKET_DEPTH_REQUEST: u16 = 102;
    /// MARKET_DATA_REJECT.
    pub const MARKET_DATA_REJECT: u16 = 103;
    /// MARKET_DATA_SNAPSHOT.
    pub const MARKET_DATA_SNAPSHOT: u16 = 104;
    /// MARKET_DEPTH_UPDATE_LEVEL.
    pub const MARKET_DEPTH_UPDATE_LEVEL: u16 = 106;
    /// MARKET_DATA_UPDATE_TRADE.
    pub const MARKET_DATA_UPDATE_TRADE: u16 = 107;
    /// MARKET_DATA_UPDATE_BID_ASK.
    pub const MARKET_DATA_UPDATE_BID_ASK: u16 = 108;
    /// MARKET_DATA_UPDATE_TRADE_COMPACT.
    pub const MARKET_DATA_UPDATE_TRADE_COMPACT: u16 = 112;
    /// MARKET_DATA_UPDATE_BID_ASK_COMPACT.
    pub const MARKET_DATA_UPDATE_BID_ASK_COMPACT: u16 = 117;
    /// MARKET_DEPTH_REJECT.
    pub const MARKET_DEPTH_REJECT: u16 = 121;
    /// MARKET_DEPTH_SNAPSHOT_LEVEL.
    pub const MARKET_DEPTH_SNAPSHOT_LEVEL: u16 = 122;
    /// SUBMIT_NEW_OCO_ORDER.
    pub const SUBMIT_NEW_OCO_ORDER: u16 = 201;
    /// CANCEL_ORDER.
    pub const CANCEL_ORDER: u16 = 203;
    /// CANCEL_REPLACE_ORDER.
    pub const CANCEL_REPLACE_ORDER: u16 = 204;
    /// SUBMIT_NEW_SINGLE_ORDER.
    pub const SUBMIT_NEW_SINGLE_ORDER: u16 = 208;
    /// OPEN_ORDERS_REQUEST.
    pub const OPEN_ORDERS_REQUEST: u16 = 300;
    /// ORDER_UPDATE.
    pub const ORDER_UPDATE: u16 = 301;
    /// OPEN_ORDERS_REJECT.
    pub const OPEN_ORDERS_REJECT: u16 = 302;
    /// HISTORICAL_ORDER_FILLS_REQUEST.
    pub const HISTORICAL_ORDER_FILLS_REQUEST: u16 = 303;
    /// HISTORICAL_ORDER_FILL_RESPONSE.
    pub const HISTORICAL_ORDER_FILL_RESPONSE: u16 = 304;
    /// CURRENT_POSITIONS_REQUEST.
    pub const CURRENT_POSITIONS_REQUEST: u16 = 305;
    /// POSITION_UPDATE.
    pub const POSITION_UPDATE: u16 = 306;
    /// CURRENT_POSITIONS_REJECT.
    pub const CURRENT_POSITIONS_REJECT: u16 = 307;
    /// HISTORICAL_ORDER_FILLS_REJECT.
    pub const HISTORICAL_ORDER_FILLS_REJECT: u16 = 308;
    /// TRADE_ACCOUNTS_REQUEST.
    pub const TRADE_ACCOUNTS_REQUEST: u16 = 400;
    /// TRADE_ACCOUNT_RESPONSE.
    pub const TRADE_ACCOUNT_RESPONSE: u16 = 401;
}

/// Enumeration values used by the client and the fake server.
pub mod values {
    /// `EncodingEnum::BINARY_ENCODING`.
    pub const ENCODING_BINARY: i32 = 0;
    /// `EncodingEnum::JSON_ENCODING`.
    pub const ENCODING_JSON: i32 = 2;
    /// `LogonStatusEnum::LOGON_SUCCESS`.
    pub const LOGON_SUCCESS: i32 = 1;
    /// `LOGON_ERROR`.
    pub const LOGON_ERROR: i32 = 2;
    /// `LOGON_ERROR_NO_RECONNECT`.
    pub const LOGON_ERROR_NO_RECONNECT: i32 = 3;
    /// `RequestActionEnum::SUBSCRIBE`.
    pub const SUBSCRIBE: i32 = 1;
    /// `UNSUBSCRIBE`.
    pub const UNSUBSCRIBE: i32 = 2;
    /// `AtBidOrAskEnum::AT_BID`.
    pub const AT_BID: u16 = 1;
    /// `AT_ASK`.
    pub const AT_ASK: u16 = 2;
    /// `MARKET_DEPTH_INSERT_UPDATE_LEVEL`.
    pub const DEPTH_INSERT_UPDATE: u8 = 1;
    /// `MARKET_DEPTH_DELETE_LEVEL`.
    pub const DEPTH_DELETE: u8 = 2;
    /// `BuySellEnum::BUY`.
    pub const BUY: i32 = 1;
    /// `SELL`.
    pub const SELL: i32 = 2;
    /// `OrderTypeEnum::ORDER_TYPE_MARKET`.
    pub const ORDER_TYPE_MARKET: i32 = 1;
    /// `ORDER_TYPE_LIMIT`.
    pub const ORDER_TYPE_LIMIT: i32 = 2;
    /// `ORDER_TYPE_STOP`.
    pub const ORDER_TYPE_STOP: i32 = 3;
    /// `ORDER_TYPE_STOP_LIMIT`.
    pub const ORDER_TYPE_STOP_LIMIT: i32 = 4;
    /// `TimeInForceEnum::TIF_DAY`.
    pub const TIF_DAY: i32 = 1;
    /// `TIF_GOOD_TILL_CANCELED`.
    pub const TIF_GTC: i32 = 2;
    /// `TIF_IMMEDIATE_OR_CANCEL`.
    pub const TIF_IOC: i32 = 4;
    /// `OrderStatusEnum::ORDER_STATUS_ORDER_SENT`.
    pub const STATUS_SENT: i32 = 1;
    /// `ORDER_STATUS_PENDING_OPEN`.
    pub const STATUS_PENDING_OPEN: i32 = 2;
    /// `ORDER_STATUS_PENDING_CHILD`.
    pub const STATUS_PENDING_CHILD: i32 = 3;
    /// `ORDER_STATUS_OPEN`.
    pub const STATUS_OPEN: i32 = 4;
    /// `ORDER_STATUS_PENDING_CANCEL_REPLACE`.
    pub const STATUS_PENDING_CANCEL_REPLACE: i32 = 5;
    /// `ORDER_STATUS_PENDING_CANCEL`.
    pub const STATUS_PENDING_CANCEL: i32 = 6;
    /// `ORDER_STATUS_FILLED`.
    pub const STATUS_FILLED: i32 = 7;
    /// `ORDER_STATUS_CANCELED`.
    pub const STATUS_CANCELED: i32 = 8;
    /// `ORDER_STATUS_REJECTED`.
    pub const STATUS_REJECTED: i32 = 9;
    /// `ORDER_STATUS_PARTIALLY_FILLED`.
    pub const STATUS_PARTIALLY_FILLED: i32 = 10;
    /// `OrderUpdateReasonEnum::OPEN_ORDERS_REQUEST_RESPONSE`.
    pub const REASON_OPEN_ORDERS_RESPONSE: i32 = 1;
    /// `NEW_ORDER_ACCEPTED`.
    pub const REASON_NEW_ORDER_ACCEPTED: i32 = 2;
    /// `GENERAL_ORDER_UPDATE`.
    pub const REASON_GENERAL: i32 = 3;
    /// `ORDER_FILLED`.
    pub const REASON_FILLED: i32 = 4;
    /// `ORDER_FILLED_PARTIALLY`.
    pub const REASON_FILLED_PARTIALLY: i32 = 5;
    /// `ORDER_CANCELED`.
    pub const REASON_CANCELED: i32 = 6;
    /// `ORDER_CANCEL_REPLACE_COMPLETE`.
    pub const REASON_CANCEL_REPLACE_COMPLETE: i32 = 7;
    /// `NEW_ORDER_REJECTED`.
    pub const REASON_NEW_ORDER_REJECTED: i32 = 8;
    /// `ORDER_CANCEL_REJECTED`.
    pub const REASON_CANCEL_REJECTED: i32 = 9;
    /// `ORDER_CANCEL_REPLACE_REJECTED`.
    pub const REASON_CANCEL_REPLACE_REJECTED: i32 = 10;
}

/// Declares the message structs and the [`Message`] enum (see the module doc).
macro_rules! messages {
    ($(
        $(#[$doc:meta])*
        $name:ident = $ty:path, $size:literal {
            $( $field:ident : $kind:ty = $json:literal @ $off:literal ),* $(,)?
        }
    )*) => {
        $(
            $(#[$doc])*
            #[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
            #[serde(default)]
            pub struct $name {
                $(
                    #[doc = concat!("`", $json, "` (binary: byte offset ", stringify!($off), ").")]
                    #[serde(rename = $json)]
                    pub $field: <$kind as Wire>::Value,
                )*
            }

            impl $name {
                /// The message type number.
                pub const TYPE: u16 = $ty;
                /// Size in the binary encoding (header included).
                pub const SIZE: usize = $size;
                /// (JSON name, byte offset, byte length) of every field.
                pub const LAYOUT: &'static [(&'static str, usize, usize)] =
                    &[$( ($json, $off, <$kind as Wire>::LEN) ),*];

                /// Writes the fields into `b` (the message's `SIZE` bytes, header included).
                pub fn encode_fields(&self, b: &mut [u8]) {
                    $( <$kind as Wire>::put(&self.$field, b, $off); )*
                }

                /// Reads the fields from the message bytes `b` (header included; `Size` bytes).
                pub fn decode_fields(b: &[u8]) -> Self {
                    Self { $( $field: <$kind as Wire>::get(b, $off), )* }
                }
            }

            impl From<$name> for Message {
                fn from(m: $name) -> Message {
                    Message::$name(m)
                }
            }
        )*

        /// One DTC message of the set MIA speaks, or another one (skipped).
        #[derive(Clone, Debug, PartialEq)]
        pub enum Message {
            $(
                $(#[$doc])*
                $name($name),
            )*
            /// A message type MIA does not read.
            Unknown {
                /// Its type number.
                msg_type: u16,
                /// Its size in bytes.
                size: usize,
            },
        }

        impl Message {
            /// The type number.
            pub fn msg_type(&self) -> u16 {
                match self {
                    $( Message::$name(_) => $ty, )*
                    Message::Unknown { msg_type, .. } => *msg_type,
                }
            }

            /// The struct name (for errors and logs).
            pub fn name(&self) -> &'static str {
                match self {
                    $( Message::$name(_) => stringify!($name), )*
                    Message::Unknown { .. } => "Unknown",
                }
            }

            /// The binary size of a known message.
            pub fn binary_size(&self) -> usize {
                match self {
                    $( Message::$name(_) => $size, )*
                    Message::Unknown { size, .. } => *size,
                }
            }

            /// Encodes the fields into a buffer of [`binary_size`](Self::binary_size) bytes.
            pub(crate) fn encode_fields(&self, b: &mut [u8]) {
                match self {
                    $( Message::$name(m) => m.encode_fields(b), )*
                    Message::Unknown { .. } => {}
                }
            }

            /// Decodes the message bytes of type `ty` (`Unknown` for other types).
            pub(crate) fn decode_fields(ty: u16, b: &[u8]) -> Message {
                match ty {
                    $( $ty => Message::$name($name::decode_fields(b)), )*
                    _ => Message::Unknown { msg_type: ty, size: b.len() },
                }
            }

            /// The fields as a JSON object (without `Type`).
            pub(crate) fn to_json_fields(&self) -> serde_json::Result<serde_json::Value> {
                match self {
                    $( Message::$name(m) => serde_json::to_value(m), )*
                    Message::Unknown { .. } => Ok(serde_json::Value::Object(serde_json::Map::new())),
                }
            }

            /// A message of type `ty` from the text of a JSON object (`Unknown` for other
            /// types).
            pub(crate) fn from_json_slice(ty: u16, text: &[u8], len: usize) -> serde_json::Result<Message> {
                Ok(match ty {
                    $( $ty => Message::$name(serde_json::from_slice(text)?), )*
                    _ => Message::Unknown { msg_type: ty, size: len },
                })
            }

            /// Every known message type with its name, size and layout (golden tests).
            pub fn layouts() -> &'static [(&'static str, u16, usize, &'static [(&'static str, usize, usize)])] {
                &[ $( (stringify!($name), $ty, $size, $name::LAYOUT), )* ]
            }
        }
    };
}

messages! {
    /// ENCODING_REQUEST: asks the server to switch encodings (always sent binary).
    EncodingRequest = types::ENCODING_REQUEST, 16 {
        protocol_version: I32 = "ProtocolVersion" @ 4,
        encoding: I32 = "Encoding" @ 8,
        protocol_type: Str<4> = "ProtocolType" @ 12,
    }
    /// ENCODING_RESPONSE: the encoding the server will use.
    EncodingResponse = types::ENCODING_RESPONSE, 16 {
        protocol_version: I32 = "ProtocolVersion" @ 4,
        encoding: I32 = "Encoding" @ 8,
        protocol_type: Str<4> = "ProtocolType" @ 12,
    }
    /// LOGON_REQUEST. `trade_mode` is `Unused1` in the 2022 header (`TradeMode` before).
    LogonRequest = types::LOGON_REQUEST, 284 {
        protocol_version: I32 = "ProtocolVersion" @ 4,
        username: Str<32> = "Username" @ 8,
        password: Str<32> = "Password" @ 40,
        general_text_data: Str<64> = "GeneralTextData" @ 72,
        integer_1: I32 = "Integer_1" @ 136,
        integer_2: I32 = "Integer_2" @ 140,
        heartbeat_interval_in_seconds: I32 = "HeartbeatIntervalInSeconds" @ 144,
        trade_mode: I32 = "TradeMode" @ 148,
        trade_account: Str<32> = "TradeAccount" @ 152,
        hardware_identifier: Str<64> = "HardwareIdentifier" @ 184,
        client_name: Str<32> = "ClientName" @ 248,
        market_data_transmission_interval: I32 = "MarketDataTransmissionInterval" @ 280,
    }
    /// LOGON_RESPONSE.
    LogonResponse = types::LOGON_RESPONSE, 256 {
        protocol_version: I32 = "ProtocolVersion" @ 4,
        result: I32 = "Result" @ 8,
        result_text: Str<96> = "ResultText" @ 12,
        reconnect_address: Str<64> = "ReconnectAddress" @ 108,
        integer_1: I32 = "Integer_1" @ 172,
        server_name: Str<60> = "ServerName" @ 176,
        market_depth_updates_best_bid_and_ask: U8 = "MarketDepthUpdatesBestBidAndAsk" @ 236,
        trading_is_supported: U8 = "TradingIsSupported" @ 237,
        oco_orders_supported: U8 = "OCOOrdersSupported" @ 238,
        order_cancel_replace_supported: U8 = "OrderCancelReplaceSupported" @ 239,
        symbol_exchange_delimiter: Str<4> = "SymbolExchangeDelimiter" @ 240,
        security_definitions_supported: U8 = "SecurityDefinitionsSupported" @ 244,
        historical_price_data_supported: U8 = "HistoricalPriceDataSupported" @ 245,
        resubscribe_when_market_data_feed_available: U8 = "ResubscribeWhenMarketDataFeedAvailable" @ 246,
        market_depth_is_supported: U8 = "MarketDepthIsSupported" @ 247,
        one_historical_price_data_request_per_connection: U8 = "OneHistoricalPriceDataRequestPerConnection" @ 248,
        bracket_orders_supported: U8 = "BracketOrdersSupported" @ 249,
        uses_multiple_positions_per_symbol_and_trade_account: U8 = "UsesMultiplePositionsPerSymbolAndTradeAccount" @ 251,
        market_data_supported: U8 = "MarketDataSupported" @ 252,
    }
    /// HEARTBEAT, sent by both sides at the logon interval.
    Heartbeat = types::HEARTBEAT, 16 {
        num_dropped_messages: U32 = "NumDroppedMessages" @ 4,
        current_date_time: I64 = "CurrentDateTime" @ 8,
    }
    /// LOGOFF.
    Logoff = types::LOGOFF, 102 {
        reason: Str<96> = "Reason" @ 4,
        do_not_reconnect: U8 = "DoNotReconnect" @ 100,
    }
    /// MARKET_DATA_REQUEST: subscribe a client-chosen `SymbolID` to a symbol.
    MarketDataRequest = types::MARKET_DATA_REQUEST, 96 {
        request_action: I32 = "RequestAction" @ 4,
        symbol_id: U32 = "SymbolID" @ 8,
        symbol: Str<64> = "Symbol" @ 12,
        exchange: Str<16> = "Exchange" @ 76,
        interval_for_snapshot_updates_in_milliseconds: U32 = "IntervalForSnapshotUpdatesInMilliseconds" @ 92,
    }
    /// MARKET_DATA_REJECT.
    MarketDataReject = types::MARKET_DATA_REJECT, 104 {
        symbol_id: U32 = "SymbolID" @ 4,
        reject_text: Str<96> = "RejectText" @ 8,
    }
    /// MARKET_DATA_SNAPSHOT (unset doubles are `DBL_MAX`).
    MarketDataSnapshot = types::MARKET_DATA_SNAPSHOT, 144 {
        symbol_id: U32 = "SymbolID" @ 4,
        session_settlement_price: F64 = "SessionSettlementPrice" @ 8,
        session_open_price: F64 = "SessionOpenPrice" @ 16,
        session_high_price: F64 = "SessionHighPrice" @ 24,
        session_low_price: F64 = "SessionLowPrice" @ 32,
        session_volume: F64 = "SessionVolume" @ 40,
        session_num_trades: U32 = "SessionNumTrades" @ 48,
        open_interest: U32 = "OpenInterest" @ 52,
        bid_price: F64 = "BidPrice" @ 56,
        ask_price: F64 = "AskPrice" @ 64,
        ask_quantity: F64 = "AskQuantity" @ 72,
        bid_quantity: F64 = "BidQuantity" @ 80,
        last_trade_price: F64 = "LastTradePrice" @ 88,
        last_trade_volume: F64 = "LastTradeVolume" @ 96,
        last_trade_date_time: F64 = "LastTradeDateTime" @ 104,
        bid_ask_date_time: F64 = "BidAskDateTime" @ 112,
        session_settlement_date_time: U32 = "SessionSettlementDateTime" @ 120,
        trading_session_date: U32 = "TradingSessionDate" @ 124,
        trading_status: U8 = "TradingStatus" @ 128,
        market_depth_update_date_time: F64 = "MarketDepthUpdateDateTime" @ 136,
    }
    /// MARKET_DATA_UPDATE_TRADE (`DateTime`: UNIX seconds with fraction).
    MarketDataUpdateTrade = types::MARKET_DATA_UPDATE_TRADE, 40 {
        symbol_id: U32 = "SymbolID" @ 4,
        at_bid_or_ask: U16 = "AtBidOrAsk" @ 8,
        price: F64 = "Price" @ 16,
        volume: F64 = "Volume" @ 24,
        date_time: F64 = "DateTime" @ 32,
    }
    /// MARKET_DATA_UPDATE_TRADE_COMPACT (`DateTime`: UNIX seconds).
    MarketDataUpdateTradeCompact = types::MARKET_DATA_UPDATE_TRADE_COMPACT, 24 {
        price: F32 = "Price" @ 4,
        volume: F32 = "Volume" @ 8,
        date_time: U32 = "DateTime" @ 12,
        symbol_id: U32 = "SymbolID" @ 16,
        at_bid_or_ask: U16 = "AtBidOrAsk" @ 20,
    }
    /// MARKET_DATA_UPDATE_BID_ASK (`DateTime`: UNIX seconds).
    MarketDataUpdateBidAsk = types::MARKET_DATA_UPDATE_BID_ASK, 40 {
        symbol_id: U32 = "SymbolID" @ 4,
        bid_price: F64 = "BidPrice" @ 8,
        bid_quantity: F32 = "BidQuantity" @ 16,
        ask_price: F64 = "AskPrice" @ 24,
        ask_quantity: F32 = "AskQuantity" @ 32,
        date_time: U32 = "DateTime" @ 36,
    }
    /// MARKET_DATA_UPDATE_BID_ASK_COMPACT.
    MarketDataUpdateBidAskCompact = types::MARKET_DATA_UPDATE_BID_ASK_COMPACT, 28 {
        bid_price: F32 = "BidPrice" @ 4,
        bid_quantity: F32 = "BidQuantity" @ 8,
        ask_price: F32 = "AskPrice" @ 12,
        ask_quantity: F32 = "AskQuantity" @ 16,
        date_time: U32 = "DateTime" @ 20,
        symbol_id: U32 = "SymbolID" @ 24,
    }
    /// MARKET_DEPTH_REQUEST.
    MarketDepthRequest = types::MARKET_DEPTH_REQUEST, 96 {
        request_action: I32 = "RequestAction" @ 4,
        symbol_id: U32 = "SymbolID" @ 8,
        symbol: Str<64> = "Symbol" @ 12,
        exchange: Str<16> = "Exchange" @ 76,
        num_levels: I32 = "NumLevels" @ 92,
    }
    /// MARKET_DEPTH_REJECT.
    MarketDepthReject = types::MARKET_DEPTH_REJECT, 104 {
        symbol_id: U32 = "SymbolID" @ 4,
        reject_text: Str<96> = "RejectText" @ 8,
    }
    /// MARKET_DEPTH_SNAPSHOT_LEVEL (`Level` is 1-based).
    MarketDepthSnapshotLevel = types::MARKET_DEPTH_SNAPSHOT_LEVEL, 56 {
        symbol_id: U32 = "SymbolID" @ 4,
        side: U16 = "Side" @ 8,
        price: F64 = "Price" @ 16,
        quantity: F64 = "Quantity" @ 24,
        level: U16 = "Level" @ 32,
        is_first_message_in_batch: U8 = "IsFirstMessageInBatch" @ 34,
        is_last_message_in_batch: U8 = "IsLastMessageInBatch" @ 35,
        date_time: F64 = "DateTime" @ 40,
        num_orders: U32 = "NumOrders" @ 48,
    }
    /// MARKET_DEPTH_UPDATE_LEVEL (by price: 1 insert/update, 2 delete).
    MarketDepthUpdateLevel = types::MARKET_DEPTH_UPDATE_LEVEL, 56 {
        symbol_id: U32 = "SymbolID" @ 4,
        side: U16 = "Side" @ 8,
        price: F64 = "Price" @ 16,
        quantity: F64 = "Quantity" @ 24,
        update_type: U8 = "UpdateType" @ 32,
        date_time: F64 = "DateTime" @ 40,
        num_orders: U32 = "NumOrders" @ 48,
    }
    /// SUBMIT_NEW_SINGLE_ORDER (`IsParentOrder = 1`: the parent of a bracket whose OCO pair
    /// follows).
    SubmitNewSingleOrder = types::SUBMIT_NEW_SINGLE_ORDER, 296 {
        symbol: Str<64> = "Symbol" @ 4,
        exchange: Str<16> = "Exchange" @ 68,
        trade_account: Str<32> = "TradeAccount" @ 84,
        client_order_id: Str<32> = "ClientOrderID" @ 116,
        order_type: I32 = "OrderType" @ 148,
        buy_sell: I32 = "BuySell" @ 152,
        price1: F64 = "Price1" @ 160,
        price2: F64 = "Price2" @ 168,
        quantity: F64 = "Quantity" @ 176,
        time_in_force: I32 = "TimeInForce" @ 184,
        good_till_date_time: I64 = "GoodTillDateTime" @ 192,
        is_automated_order: U8 = "IsAutomatedOrder" @ 200,
        is_parent_order: U8 = "IsParentOrder" @ 201,
        free_form_text: Str<48> = "FreeFormText" @ 202,
        open_or_close: I32 = "OpenOrClose" @ 252,
        max_show_quantity: F64 = "MaxShowQuantity" @ 256,
        price1_as_string: Str<16> = "Price1AsString" @ 264,
        price2_as_string: Str<16> = "Price2AsString" @ 280,
    }
    /// SUBMIT_NEW_OCO_ORDER (with `ParentTriggerClientOrderID`: the children of a bracket).
    SubmitNewOcoOrder = types::SUBMIT_NEW_OCO_ORDER, 448 {
        symbol: Str<64> = "Symbol" @ 4,
        exchange: Str<16> = "Exchange" @ 68,
        client_order_id_1: Str<32> = "ClientOrderID_1" @ 84,
        order_type_1: I32 = "OrderType_1" @ 116,
        buy_sell_1: I32 = "BuySell_1" @ 120,
        price1_1: F64 = "Price1_1" @ 128,
        price2_1: F64 = "Price2_1" @ 136,
        quantity_1: F64 = "Quantity_1" @ 144,
        client_order_id_2: Str<32> = "ClientOrderID_2" @ 152,
        order_type_2: I32 = "OrderType_2" @ 184,
        buy_sell_2: I32 = "BuySell_2" @ 188,
        price1_2: F64 = "Price1_2" @ 192,
        price2_2: F64 = "Price2_2" @ 200,
        quantity_2: F64 = "Quantity_2" @ 208,
        time_in_force: I32 = "TimeInForce" @ 216,
        good_till_date_time: I64 = "GoodTillDateTime" @ 224,
        trade_account: Str<32> = "TradeAccount" @ 232,
        is_automated_order: U8 = "IsAutomatedOrder" @ 264,
        parent_trigger_client_order_id: Str<32> = "ParentTriggerClientOrderID" @ 265,
        free_form_text: Str<48> = "FreeFormText" @ 297,
        open_or_close: I32 = "OpenOrClose" @ 348,
        partial_fill_handling: U8 = "PartialFillHandling" @ 352,
        use_offsets: U8 = "UseOffsets" @ 353,
        offset_from_parent1: F64 = "OffsetFromParent1" @ 360,
        offset_from_parent2: F64 = "OffsetFromParent2" @ 368,
        maintain_same_prices_on_parent_fill: U8 = "MaintainSamePricesOnParentFill" @ 376,
        price1_1_as_string: Str<16> = "Price1_1AsString" @ 377,
        price2_1_as_string: Str<16> = "Price2_1AsString" @ 393,
        price1_2_as_string: Str<16> = "Price1_2AsString" @ 409,
        price2_2_as_string: Str<16> = "Price2_2AsString" @ 425,
    }
    /// CANCEL_ORDER.
    CancelOrder = types::CANCEL_ORDER, 100 {
        server_order_id: Str<32> = "ServerOrderID" @ 4,
        client_order_id: Str<32> = "ClientOrderID" @ 36,
        trade_account: Str<32> = "TradeAccount" @ 68,
    }
    /// CANCEL_REPLACE_ORDER.
    CancelReplaceOrder = types::CANCEL_REPLACE_ORDER, 192 {
        server_order_id: Str<32> = "ServerOrderID" @ 4,
        client_order_id: Str<32> = "ClientOrderID" @ 36,
        price1: F64 = "Price1" @ 72,
        price2: F64 = "Price2" @ 80,
        quantity: F64 = "Quantity" @ 88,
        price1_is_set: U8 = "Price1IsSet" @ 96,
        price2_is_set: U8 = "Price2IsSet" @ 97,
        unused: I32 = "Unused" @ 100,
        time_in_force: I32 = "TimeInForce" @ 104,
        good_till_date_time: I64 = "GoodTillDateTime" @ 112,
        update_price1_offset_to_parent: U8 = "UpdatePrice1OffsetToParent" @ 120,
        trade_account: Str<32> = "TradeAccount" @ 121,
        price1_as_string: Str<16> = "Price1AsString" @ 153,
        price2_as_string: Str<16> = "Price2AsString" @ 169,
    }
    /// ORDER_UPDATE (solicited: `RequestID` ≠ 0 and a batch numbered by `MessageNumber`).
    OrderUpdate = types::ORDER_UPDATE, 720 {
        request_id: I32 = "RequestID" @ 4,
        total_num_messages: I32 = "TotalNumMessages" @ 8,
        message_number: I32 = "MessageNumber" @ 12,
        symbol: Str<64> = "Symbol" @ 16,
        exchange: Str<16> = "Exchange" @ 80,
        previous_server_order_id: Str<32> = "PreviousServerOrderID" @ 96,
        server_order_id: Str<32> = "ServerOrderID" @ 128,
        client_order_id: Str<32> = "ClientOrderID" @ 160,
        exchange_order_id: Str<32> = "ExchangeOrderID" @ 192,
        order_status: I32 = "OrderStatus" @ 224,
        order_update_reason: I32 = "OrderUpdateReason" @ 228,
        order_type: I32 = "OrderType" @ 232,
        buy_sell: I32 = "BuySell" @ 236,
        price1: F64 = "Price1" @ 240,
        price2: F64 = "Price2" @ 248,
        time_in_force: I32 = "TimeInForce" @ 256,
        good_till_date_time: I64 = "GoodTillDateTime" @ 264,
        order_quantity: F64 = "OrderQuantity" @ 272,
        filled_quantity: F64 = "FilledQuantity" @ 280,
        remaining_quantity: F64 = "RemainingQuantity" @ 288,
        average_fill_price: F64 = "AverageFillPrice" @ 296,
        last_fill_price: F64 = "LastFillPrice" @ 304,
        last_fill_date_time: I64 = "LastFillDateTime" @ 312,
        last_fill_quantity: F64 = "LastFillQuantity" @ 320,
        last_fill_execution_id: Str<64> = "LastFillExecutionID" @ 328,
        trade_account: Str<32> = "TradeAccount" @ 392,
        info_text: Str<96> = "InfoText" @ 424,
        no_orders: U8 = "NoOrders" @ 520,
        parent_server_order_id: Str<32> = "ParentServerOrderID" @ 521,
        oco_linked_order_server_order_id: Str<32> = "OCOLinkedOrderServerOrderID" @ 553,
        open_or_close: I32 = "OpenOrClose" @ 588,
        previous_client_order_id: Str<32> = "PreviousClientOrderID" @ 592,
        free_form_text: Str<48> = "FreeFormText" @ 624,
        order_received_date_time: I64 = "OrderReceivedDateTime" @ 672,
        latest_transaction_date_time: F64 = "LatestTransactionDateTime" @ 680,
        username: Str<32> = "Username" @ 688,
    }
    /// OPEN_ORDERS_REQUEST.
    OpenOrdersRequest = types::OPEN_ORDERS_REQUEST, 76 {
        request_id: I32 = "RequestID" @ 4,
        request_all_orders: I32 = "RequestAllOrders" @ 8,
        server_order_id: Str<32> = "ServerOrderID" @ 12,
        trade_account: Str<32> = "TradeAccount" @ 44,
    }
    /// OPEN_ORDERS_REJECT.
    OpenOrdersReject = types::OPEN_ORDERS_REJECT, 104 {
        request_id: I32 = "RequestID" @ 4,
        reject_text: Str<96> = "RejectText" @ 8,
    }
    /// HISTORICAL_ORDER_FILLS_REQUEST.
    HistoricalOrderFillsRequest = types::HISTORICAL_ORDER_FILLS_REQUEST, 88 {
        request_id: I32 = "RequestID" @ 4,
        server_order_id: Str<32> = "ServerOrderID" @ 8,
        number_of_days: I32 = "NumberOfDays" @ 40,
        trade_account: Str<32> = "TradeAccount" @ 44,
        start_date_time: I64 = "StartDateTime" @ 80,
    }
    /// HISTORICAL_ORDER_FILL_RESPONSE.
    HistoricalOrderFillResponse = types::HISTORICAL_ORDER_FILL_RESPONSE, 384 {
        request_id: I32 = "RequestID" @ 4,
        total_number_messages: I32 = "TotalNumberMessages" @ 8,
        message_number: I32 = "MessageNumber" @ 12,
        symbol: Str<64> = "Symbol" @ 16,
        exchange: Str<16> = "Exchange" @ 80,
        server_order_id: Str<32> = "ServerOrderID" @ 96,
        buy_sell: I32 = "BuySell" @ 128,
        price: F64 = "Price" @ 136,
        date_time: I64 = "DateTime" @ 144,
        quantity: F64 = "Quantity" @ 152,
        unique_execution_id: Str<64> = "UniqueExecutionID" @ 160,
        trade_account: Str<32> = "TradeAccount" @ 224,
        open_close: I32 = "OpenClose" @ 256,
        no_order_fills: U8 = "NoOrderFills" @ 260,
        info_text: Str<96> = "InfoText" @ 261,
        high_price_during_position: F64 = "HighPriceDuringPosition" @ 360,
        low_price_during_position: F64 = "LowPriceDuringPosition" @ 368,
        position_quantity: F64 = "PositionQuantity" @ 376,
    }
    /// HISTORICAL_ORDER_FILLS_REJECT.
    HistoricalOrderFillsReject = types::HISTORICAL_ORDER_FILLS_REJECT, 104 {
        request_id: I32 = "RequestID" @ 4,
        reject_text: Str<96> = "RejectText" @ 8,
    }
    /// CURRENT_POSITIONS_REQUEST.
    CurrentPositionsRequest = types::CURRENT_POSITIONS_REQUEST, 40 {
        request_id: I32 = "RequestID" @ 4,
        trade_account: Str<32> = "TradeAccount" @ 8,
    }
    /// CURRENT_POSITIONS_REJECT.
    CurrentPositionsReject = types::CURRENT_POSITIONS_REJECT, 104 {
        request_id: I32 = "RequestID" @ 4,
        reject_text: Str<96> = "RejectText" @ 8,
    }
    /// POSITION_UPDATE (solicited or `Unsolicited = 1`).
    PositionUpdate = types::POSITION_UPDATE, 240 {
        request_id: I32 = "RequestID" @ 4,
        total_number_messages: I32 = "TotalNumberMessages" @ 8,
        message_number: I32 = "MessageNumber" @ 12,
        symbol: Str<64> = "Symbol" @ 16,
        exchange: Str<16> = "Exchange" @ 80,
        quantity: F64 = "Quantity" @ 96,
        average_price: F64 = "AveragePrice" @ 104,
        position_identifier: Str<32> = "PositionIdentifier" @ 112,
        trade_account: Str<32> = "TradeAccount" @ 144,
        no_positions: U8 = "NoPositions" @ 176,
        unsolicited: U8 = "Unsolicited" @ 177,
        margin_requirement: F64 = "MarginRequirement" @ 184,
        entry_date_time: U32 = "EntryDateTime" @ 192,
        open_profit_loss: F64 = "OpenProfitLoss" @ 200,
        high_price_during_position: F64 = "HighPriceDuringPosition" @ 208,
        low_price_during_position: F64 = "LowPriceDuringPosition" @ 216,
        quantity_limit: F64 = "QuantityLimit" @ 224,
        max_potential_postion_quantity: F64 = "MaxPotentialPostionQuantity" @ 232,
    }
    /// TRADE_ACCOUNTS_REQUEST.
    TradeAccountsRequest = types::TRADE_ACCOUNTS_REQUEST, 8 {
        request_id: I32 = "RequestID" @ 4,
    }
    /// TRADE_ACCOUNT_RESPONSE.
    TradeAccountResponse = types::TRADE_ACCOUNT_RESPONSE, 48 {
        total_number_messages: I32 = "TotalNumberMessages" @ 4,
        message_number: I32 = "MessageNumber" @ 8,
        trade_account: Str<32> = "TradeAccount" @ 12,
        request_id: I32 = "RequestID" @ 44,
    }
}
