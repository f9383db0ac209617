//! Arbitrary bytes as a DBN file: opening and draining it must return events or a
//! `SourceError`, never panic or hang.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mia_runtime::source::EventSource;
use mia_feeds::dbn_source::DbnFileSource;

fuzz_target!(|data: &[u8]| {
    let Ok(dir) = tempfile::tempdir() else { return };
    let path = dir.path().join("f.dbn");
    if std::fs::write(&path, data).is_err() {
        return;
    }
    if let Ok(mut src) = DbnFileSource::open(&path) {
        for _ in 0..1_000_000 {
            match src.next_event() {
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break,
            }
        }
    }
});
