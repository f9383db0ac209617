//! Arbitrary text as a Cboe quote table: a chain or a `CboeError`, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mia_options::chain::ModelParams;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = mia_feeds::cboe::parse_str("fuzz.csv", text, &ModelParams::default());
    }
});
