//! MBO decode under a profiler: the same input as `benches/benches/mbo.rs` (the synthetic
//! session of seed 1 written as individual orders), run through `MboNormalizer` `PASSES` times
//! in one `#[inline(never)]` function, so a profiler can attribute the decode alone.
//!
//! ```sh
//! CARGO_PROFILE_RELEASE_LTO=off CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
//!   cargo build --release -p mia-feeds --example mbo_profile
//! # instructions and cache simulation of the decode only (the generation is not collected):
//! valgrind --tool=callgrind --cache-sim=yes --toggle-collect='*decode_pass*' \
//!   target/release/examples/mbo_profile incremental 1
//! callgrind_annotate --inclusive=yes callgrind.out.<pid>
//! # hardware counters, where the VM exposes them:
//! perf stat -e task-clock,cycles,instructions,cache-misses target/release/examples/mbo_profile incremental 20
//! ```
//!
//! Arguments: `incremental` (default) or `rescan` (the reference book), the number of passes
//! (default 1), the number of MBP-10 records generated before the conversion (default 300,000,
//! as the bench; fewer makes a callgrind run quicker). Prints records, events and a checksum of the events so the work cannot
//! be optimised away.

use std::hint::black_box;
use std::process::ExitCode;
use std::time::Instant;

use mia_feeds::normalize::{EventBuf, MboNormalizer};
use mia_feeds::synth::{SynthConfig, SynthSession};
use mia_feeds::synth_mbo::MboStream;
use mia_model::book::mbo::{MboBook, MboConfig};

/// One pass of the normalizer over every record; returns (events, checksum).
#[inline(never)]
fn decode_pass(n: &mut MboNormalizer, out: &mut EventBuf, records: &[dbn::MboMsg]) -> (u64, u64) {
    let (mut events, mut sum) = (0u64, 0u64);
    for r in records {
        n.normalize(r, out);
        events += out.len() as u64;
        for e in out.iter() {
            sum = sum.wrapping_mul(31).wrapping_add(e.price as u64 ^ u64::from(e.size));
        }
    }
    (events, sum)
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let variant = args.next().unwrap_or_else(|| "incremental".to_string());
    let passes: u32 = match args.next().map(|s| s.parse()) {
        None => 1,
        Some(Ok(p)) => p,
        Some(Err(e)) => {
            eprintln!("mbo_profile: passes must be a number: {e}");
            return ExitCode::FAILURE;
        }
    };
    if !matches!(variant.as_str(), "incremental" | "rescan") {
        eprintln!("mbo_profile: unknown variant {variant:?} (incremental | rescan)");
        return ExitCode::FAILURE;
    }
    let mbp_records: u64 = match args.next().map(|s| s.parse()) {
        None => 300_000,
        Some(Ok(n)) => n,
        Some(Err(e)) => {
            eprintln!("mbo_profile: the MBP-10 record count must be a number: {e}");
            return ExitCode::FAILURE;
        }
    };
    let cfg = SynthConfig { seed: 1, target_records: mbp_records, ..SynthConfig::default() };
    let records: Vec<dbn::MboMsg> = MboStream::new(SynthSession::new(&cfg)).collect();
    let mut total = 0u64;
    let mut best = f64::INFINITY;
    for _ in 0..passes {
        let mut out = EventBuf::new();
        // The book is built before the clock starts (its allocation is not the decode).
        let book = if variant == "rescan" {
            MboBook::new_rescan(MboConfig::default())
        } else {
            MboBook::new(MboConfig::default())
        };
        let mut n = MboNormalizer::with_book(book);
        let start = Instant::now();
        let (events, sum) = decode_pass(&mut n, &mut out, black_box(&records));
        let secs = start.elapsed().as_secs_f64();
        let (errors, resting) = (n.stats().errors(), n.book().order_count());
        best = best.min(secs);
        total = total.wrapping_add(sum);
        println!(
            "{variant}: {} records, {events} events, book errors {errors}, resting at end {resting}",
            records.len()
        );
    }
    println!(
        "best of {passes} passes: {:.1} ns/record ({:.2} M records/s, wall clock of the decode only); checksum {total:016x}",
        best * 1e9 / records.len() as f64,
        records.len() as f64 / best / 1e6
    );
    ExitCode::SUCCESS
}
