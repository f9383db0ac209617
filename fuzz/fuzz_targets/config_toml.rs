//! Arbitrary text as a configuration file: a config or a `ConfigError`, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = mia_tools::app::config::Config::from_toml(text, "fuzz.toml");
    }
});
