//! Measures journal append and read throughput for market events.
//!
//! `cargo run --release -p mia-core --example journal_throughput -- [events] [dir] [sparse]`
//! (default 5 000 000 events into a temporary directory under the system temp dir; `sparse`
//! disables segment preallocation).

use std::time::Instant;

use mia_journal::{JournalConfig, JournalReader, JournalWriter, SessionMeta};
use mia_model::event::{Event, Side};
use mia_model::msg::Msg;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let n: u64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(5_000_000);
    let dir = match args.next() {
        Some(d) => std::path::PathBuf::from(d),
        None => std::env::temp_dir().join(format!("mia-journal-bench-{}", std::process::id())),
    };
    let preallocate = args.next().as_deref() != Some("sparse");
    let _ = std::fs::remove_dir_all(&dir);

    let cfg = JournalConfig { preallocate, ..JournalConfig::default() };
    let mut w = JournalWriter::create(&dir, cfg)?;
    w.append_meta(&SessionMeta::now("bench", 0, "bench", ""))?;
    let t = Instant::now();
    for i in 0..n {
        let e = Event::trade(i, i + 10, Side::Bid, 5_000_000_000_000 + (i as i64 & 63), 1, 0);
        w.append_msg(&Msg::Market(e))?;
    }
    let append = t.elapsed();
    let stats = w.finish()?;
    let total = t.elapsed();

    let t = Instant::now();
    let mut r = JournalReader::open(&dir)?;
    let mut read = 0u64;
    while r.next_record()?.is_some() {
        read += 1;
    }
    let read_time = t.elapsed();

    let mb = stats.bytes as f64 / 1e6;
    println!(
        "events: {n}, bytes: {:.1} MB, segments: {}, preallocate: {preallocate}",
        mb, stats.segments_created
    );
    println!(
        "append: {:.1} M rec/s ({:.1} ns/rec, {:.0} MB/s); with finish (msync+truncate): {:.1} M rec/s",
        n as f64 / append.as_secs_f64() / 1e6,
        append.as_nanos() as f64 / n as f64,
        mb / append.as_secs_f64(),
        n as f64 / total.as_secs_f64() / 1e6
    );
    println!(
        "read: {read} records, {:.1} M rec/s, clean: {}",
        read as f64 / read_time.as_secs_f64() / 1e6,
        r.recovery().is_clean()
    );
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
