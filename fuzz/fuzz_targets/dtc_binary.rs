//! Arbitrary bytes as a DTC binary stream: decoding every message, normalizing the market
//! ones to events and re-encoding what was decoded must return values or errors, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mia_feeds::sierra::dtc::market::MarketNormalizer;
use mia_feeds::sierra::dtc::{codec_binary, Encoding};
use mia_feeds::normalize::EventBuf;

fuzz_target!(|data: &[u8]| {
    let mut norm = MarketNormalizer::new(250_000_000, 0, data.first().is_some_and(|b| b & 1 == 1));
    let mut out = EventBuf::new();
    let mut off = 0;
    while let Ok(Some((m, used))) = codec_binary::decode(&data[off..]) {
        off += used;
        out.clear();
        let _ = norm.on_message(&m, 1, &mut out);
        let again = codec_binary::to_bytes(&m);
        let back = codec_binary::decode(&again);
        assert!(matches!(back, Ok(Some(_))), "a decoded message re-encodes to a decodable one");
        let _ = mia_feeds::sierra::dtc::encode(Encoding::Json, &m, &mut Vec::new());
    }
});
