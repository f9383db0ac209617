//! The DTC protocol (Data and Trading Communications, Sierra Chart's open protocol): message
//! layouts ([`messages`]), the binary and JSON encodings ([`codec_binary`], [`codec_json`]), the
//! client edge thread ([`client`]) with its configuration ([`config`]) and reason codes
//! ([`reason`]), and a scripted fake server for tests ([`fake`], feature `fake-dtc`).
//!
//! Sources: `DTCProtocol.h` (protocol version 8; offsets checked against the 2020 and 2022
//! public copies, see `docs/sierra.md`) and Sierra Chart's DTC documentation pages.

pub mod client;
#[cfg(test)]
mod client_tests;
pub mod codec_binary;
pub mod codec_json;
pub mod config;
#[cfg(any(test, feature = "fake-dtc"))]
pub mod fake;
pub mod market;
pub mod messages;
pub mod reason;
pub mod startup;

pub use client::{check, CheckReport, DtcEdge, DtcError, DtcHandle, DtcLink, DtcStats};
pub use config::{DtcConfig, Encoding, Secret};
pub use messages::Message;
pub use startup::{DtcOpenOrder, DtcStartupState};

/// A message that cannot be decoded (or encoded): its type when known, the field, the reason.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("DTC message type {}{}: {reason}", .msg_type.map_or_else(|| "?".to_string(), |t| t.to_string()), if .field.is_empty() { String::new() } else { format!(" field {}", .field) })]
pub struct CodecError {
    /// The message type, when it was read.
    pub msg_type: Option<u16>,
    /// The field at fault (empty when not one field).
    pub field: String,
    /// What is wrong.
    pub reason: String,
}

impl CodecError {
    /// Builds an error.
    pub fn new(msg_type: Option<u16>, field: &str, reason: String) -> Self {
        Self { msg_type, field: field.to_string(), reason }
    }
}

/// Encodes `msg` in `enc`, appending to `out`.
///
/// # Errors
/// See [`codec_json::encode`] (binary encoding cannot fail).
pub fn encode(enc: Encoding, msg: &Message, out: &mut Vec<u8>) -> Result<(), CodecError> {
    match enc {
        Encoding::Binary => {
            codec_binary::encode(msg, out);
            Ok(())
        }
        Encoding::Json => codec_json::encode(msg, out),
    }
}

/// Decodes the message at the front of `buf` in `enc`.
///
/// # Errors
/// See [`codec_binary::decode`] and [`codec_json::decode`].
pub fn decode(enc: Encoding, buf: &[u8]) -> Result<Option<(Message, usize)>, CodecError> {
    match enc {
        Encoding::Binary => codec_binary::decode(buf),
        Encoding::Json => codec_json::decode(buf),
    }
}
