//! Arbitrary bytes as a DTC JSON stream (NUL-terminated objects): decoding, normalizing the
//! market messages and re-encoding must return values or errors, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mia_feeds::normalize::EventBuf;
use mia_feeds::sierra::dtc::market::MarketNormalizer;
use mia_feeds::sierra::dtc::{codec_binary, codec_json};

fuzz_target!(|data: &[u8]| {
    let mut norm = MarketNormalizer::new(250_000_000, 0, true);
    let mut out = EventBuf::new();
    let mut off = 0;
    while let Ok(Some((m, used))) = codec_json::decode(&data[off..]) {
        off += used;
        out.clear();
        let _ = norm.on_message(&m, 1, &mut out);
        if let Ok(b) = codec_json::to_bytes(&m) {
            let _ = codec_json::decode(&b);
        }
        let _ = codec_binary::decode(&codec_binary::to_bytes(&m));
    }
});
