//! Arbitrary bytes as a Sierra Chart `.scid` file and as a `.depth` file: opening and
//! draining must return events or a `SourceError`, never panic or hang.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mia_feeds::sierra::depth::DepthSource;
use mia_feeds::sierra::scid::{ScidOptions, ScidSource};
use mia_runtime::source::EventSource;

fn drain(src: &mut dyn EventSource) {
    for _ in 0..1_000_000 {
        match src.next_event() {
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => break,
        }
    }
}

/// One directory for the whole run (creating one per input dominated the time).
fn dir() -> Option<&'static std::path::Path> {
    static DIR: std::sync::OnceLock<Option<tempfile::TempDir>> = std::sync::OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().ok()).as_ref().map(tempfile::TempDir::path)
}

fuzz_target!(|data: &[u8]| {
    let Some(dir) = dir() else { return };
    let path = dir.join("f.scid");
    if std::fs::write(&path, data).is_err() {
        return;
    }
    let skip = data.get(60).is_some_and(|b| b & 1 == 1);
    if let Ok(mut s) = ScidSource::open_with(&path, ScidOptions { skip_bars: skip, ..ScidOptions::default() }) {
        drain(&mut s);
    }
    // The same bytes behind a depth header.
    let mut d = mia_feeds::sierra::depth::encode_depth_header().to_vec();
    d.extend_from_slice(data);
    let dpath = dir.join("f.depth");
    if std::fs::write(&dpath, &d).is_ok() {
        if let Ok(mut s) = DepthSource::open(&dpath, ScidOptions::default()) {
            drain(&mut s);
        }
    }
});
