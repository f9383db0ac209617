//! Arbitrary bytes as a journal segment: scanning, reading and repairing must return records
//! or a `JournalError`, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mia_journal::JournalReader;

fuzz_target!(|data: &[u8]| {
    let Ok(dir) = tempfile::tempdir() else { return };
    if std::fs::write(dir.path().join("seg-000000.mj"), data).is_err() {
        return;
    }
    let _ = JournalReader::read_all(dir.path());
    let _ = JournalReader::repair(dir.path());
    let _ = JournalReader::read_all(dir.path());
});
