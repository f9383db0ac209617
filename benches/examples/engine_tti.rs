//! Tick-to-intent of the signal engine (`[signal] strategy = "elite"`), inline, no journal.
//!
//! The engine decides (and so emits an intent) only at the close of a 5-minute decision bar,
//! on the event that closes it: its tick-to-intent is the service time of that event through
//! the decision path (`SignalStage` + `ExecStage`, chained as the inline runner chains them).
//! This runs the engine over whole synthetic sessions (seeds `--seeds A-B`, from the RTH
//! open) and times, with `Instant` outside the decision code, every event: the events that
//! close a decision bar (the first event of a new 5-minute bucket of `ts_recv`) and, for
//! comparison, all the others. It prints p50/p90/p99/max of both.
//!
//! Run (LTO off as the session rules ask):
//! `CARGO_PROFILE_RELEASE_LTO=off CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 cargo run --release
//! -p mia-benches --example engine_tti -- --seeds 1-3`
//!
//! Instructions per decision close (load-independent): run it under callgrind collecting only
//! inside [`close_step`]:
//! `valgrind --tool=callgrind --toggle-collect='*close_step*' --callgrind-out-file=cg.out
//! target/release/examples/engine_tti --seeds 1-1`; `Collected` divided by the closes it
//! prints is the instructions per decision-closing event (`callgrind_annotate cg.out` splits
//! them by function).

use std::hint::black_box;
use std::time::Instant;

use mia_benches::{synthetic_events_seeded, StageChain};
use mia_model::event::Event;
use mia_signal::strategy::registry::StrategyKind;
use mia_tools::app::config::Config;

/// The decision timeframe, ns.
const BAR_NS: u64 = 300_000_000_000;
/// Events per session taken (more than a synthetic session holds: the whole session).
const SESSION_EVENTS: usize = 3_000_000;

/// The event that closes a decision bar (kept out of line so callgrind can collect inside
/// it alone).
#[inline(never)]
fn close_step(chain: &mut StageChain, ev: &Event) -> usize {
    chain.serve(ev).signals
}

fn pct(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1] as f64
}

fn line(name: &str, v: &mut [u64]) {
    v.sort_unstable();
    println!(
        "{name:<24} n={:>8}  p50={:>9.3} us  p90={:>9.3} us  p99={:>9.3} us  max={:>9.3} us",
        v.len(),
        pct(v, 50.0) / 1e3,
        pct(v, 90.0) / 1e3,
        pct(v, 99.0) / 1e3,
        v.last().map_or(f64::NAN, |&x| x as f64 / 1e3),
    );
}

fn parse_seeds(s: &str) -> Result<(u64, u64), String> {
    let bad = || format!("--seeds: expected A-B (e.g. 1-3), got {s:?}");
    let (a, b) = s.split_once('-').ok_or_else(bad)?;
    let a: u64 = a.parse().map_err(|_| bad())?;
    let b: u64 = b.parse().map_err(|_| bad())?;
    if a > b {
        return Err(bad());
    }
    Ok((a, b))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mut seeds = (1, 3);
    let mut twin = false;
    let mut lead = None;
    let mut k = 1;
    while k < args.len() {
        match args[k].as_str() {
            "--seeds" => {
                let v = args.get(k + 1).map(String::as_str).unwrap_or("");
                seeds = match parse_seeds(v) {
                    Ok(s) => s,
                    Err(e) => {
                        eprintln!("engine_tti: {e}");
                        std::process::exit(2);
                    }
                };
                k += 2;
            }
            "--lead" => {
                lead = args.get(k + 1).and_then(|v| v.parse::<u64>().ok());
                if lead.is_none() {
                    eprintln!("engine_tti: --lead expects milliseconds (0 = no rehearsal)");
                    std::process::exit(2);
                }
                k += 2;
            }
            "--twin" => {
                twin = true;
                k += 1;
            }
            a => {
                eprintln!("engine_tti: unknown argument {a:?} (usage: engine_tti [--seeds A-B])");
                std::process::exit(2);
            }
        }
    }
    let mut cfg = Config::default();
    cfg.signal.strategy = StrategyKind::Elite;
    if let Some(ms) = lead {
        cfg.signal.rehearse_lead_ms = ms;
    }
    let (mut closes, mut others) = (Vec::new(), Vec::new());
    let mut signals = 0usize;
    for seed in seeds.0..=seeds.1 {
        let events = synthetic_events_seeded(seed, SESSION_EVENTS);
        let mut chain = StageChain::new(&cfg);
        let mut other = StageChain::new(&cfg);
        let mut prev = None;
        for ev in &events {
            let bucket = ev.ts_recv / BAR_NS;
            let is_close = prev.is_some_and(|p| bucket > p);
            prev = Some(bucket);
            if twin {
                black_box(other.step(ev));
            }
            let t = Instant::now();
            let n = if is_close { close_step(&mut chain, black_box(ev)) } else { chain.serve(ev).signals };
            let dt = t.elapsed().as_nanos() as u64;
            // the idle time after the event, as the inline runner gives it (the rehearsal)
            chain.idle();
            if is_close {
                closes.push(dt);
                signals += n;
            } else {
                others.push(dt);
            }
            black_box(n);
        }
    }
    println!("engine_tti: seeds {}-{}, inline, no journal", seeds.0, seeds.1);
    println!("decision closes: {}, signals emitted at them: {signals}", closes.len());
    line("decision-closing event", &mut closes);
    line("other events", &mut others);
}
