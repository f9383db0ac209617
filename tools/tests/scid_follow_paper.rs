//! `mia paper --follow FILE.scid`: a paper session tails a Sierra Chart intraday file while it
//! grows (records appended in pieces, a record split across two writes), reads every record
//! exactly once and stops on its event budget; the same file read whole gives the same events.

use mia_feeds::sierra::scid::{unix_ns_to_sc_datetime, ScidHeader, ScidRecord, ScidSource};
use mia_runtime::source::EventSource;
use mia_tools::app::config::Config;
use mia_tools::app::input::Input;
use mia_tools::app::live::{run_live, DataKind, LiveMode, LiveOptions};
use mia_tools::app::session::{RunMode, SessionOptions};
use std::io::Write;
use std::time::Duration;

/// 2026-12-01 15:00 UTC.
const T0_NS: u64 = 1_796_137_200 * 1_000_000_000;

fn record(k: u64) -> [u8; 40] {
    let mid = 6010.0 + ((k % 16) as f32 - 8.0) * 0.25;
    ScidRecord {
        date_time: unix_ns_to_sc_datetime(T0_NS + k * 250_000_000),
        open: 0.0,
        high: mid + 0.25,
        low: mid,
        close: if k.is_multiple_of(2) { mid + 0.25 } else { mid },
        num_trades: 1,
        total_volume: 1 + (k % 5) as u32,
        bid_volume: if k.is_multiple_of(2) { 0 } else { 1 + (k % 5) as u32 },
        ask_volume: if k.is_multiple_of(2) { 1 + (k % 5) as u32 } else { 0 },
    }
    .to_bytes()
}

#[test]
fn paper_follows_a_growing_scid_file_to_the_last_record() {
    const RECORDS: u64 = 3_000;
    let dir = tempfile::tempdir().expect("tmp");
    let whole = dir.path().join("whole.scid");
    let mut bytes = ScidHeader::encode().to_vec();
    for k in 0..RECORDS {
        bytes.extend_from_slice(&record(k));
    }
    std::fs::write(&whole, &bytes).expect("write");
    let mut src = ScidSource::open(&whole).expect("open whole");
    let mut events = 0u64;
    while src.next_event().expect("read").is_some() {
        events += 1;
    }
    assert!(events >= RECORDS, "every record gives events: {events}");

    // The followed file starts with the header and the first third of the records.
    let path = dir.path().join("ESZ6.scid");
    let third = 56 + 40 * (RECORDS as usize / 3);
    std::fs::write(&path, &bytes[..third]).expect("first part");
    let writer = {
        let (path, rest) = (path.clone(), bytes[third..].to_vec());
        std::thread::spawn(move || {
            let mut f = std::fs::OpenOptions::new().append(true).open(&path).expect("append");
            // Pieces of 1,000 bytes: most writes end inside a record (40 bytes each).
            for chunk in rest.chunks(1_000) {
                std::thread::sleep(Duration::from_millis(15));
                f.write_all(chunk).expect("append");
                f.flush().expect("flush");
            }
        })
    };
    let mut cfg = Config::default();
    cfg.live.stop_grace_ms = 0;
    let session = SessionOptions {
        input: Input::Scid(path.clone()),
        config: cfg,
        mode: None,
        out: Some(dir.path().join("paper")),
        progress: false,
        run_mode: RunMode::Paper,
        pace: None,
        max_events: Some(events),
        profile: None,
        on_progress: None,
    };
    let opts = LiveOptions {
        mode: LiveMode::Paper,
        session,
        data: Some(DataKind::Scid),
        venue: None,
        speed: None,
        live_flag: false,
    };
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(run_live(opts).map_err(|e| format!("{e:#}")));
    });
    let summary = rx
        .recv_timeout(Duration::from_secs(120))
        .expect("the followed session reached its last record within 120 s")
        .expect("paper session");
    writer.join().expect("writer");
    assert_eq!(summary.events, events, "every record once, none twice");
    assert!(summary.source.contains("ESZ6.scid"), "{}", summary.source);
}

#[test]
fn scid_without_a_file_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tmp");
    let session = SessionOptions {
        input: Input::Synthetic { seed: 1, days: 1 },
        config: Config::default(),
        mode: None,
        out: Some(dir.path().join("paper")),
        progress: false,
        run_mode: RunMode::Paper,
        pace: None,
        max_events: Some(10),
        profile: None,
        on_progress: None,
    };
    let opts = LiveOptions {
        mode: LiveMode::Paper,
        session,
        data: Some(DataKind::Scid),
        venue: None,
        speed: None,
        live_flag: false,
    };
    let e = run_live(opts).expect_err("no file to follow");
    assert!(format!("{e:#}").contains("--follow FILE.scid"), "{e:#}");
}
