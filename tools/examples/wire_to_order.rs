//! Loopback wire-to-order latency of the whole `mia live` pipeline against the fake TWS, with a
//! per-hop breakdown.
//!
//! The fake writes tick-by-tick bid/ask and trade frames that make the threshold strategy
//! decide (alternating one-sided phases of 8 ticks: it exits and enters again in each phase);
//! the time until the resulting `PlaceOrder`'s bytes arrive back at the fake covers the socket, ibapi's
//! reader and decoder, the market-data edge, the feed ring, the sequencer, the signal and exec
//! stages (features, strategy, risk, order manager), the order ring, the order edge, ibapi's
//! encoder and the socket back.
//!
//! ```text
//! cargo run --release -p mia-tools --features latency-probe --example wire_to_order -- \
//!     [--ticks N] [--idle spin,yield,sleep_us] [--fuse never,always] [--cores READER,MD,ORDERS]
//! ```
//!
//! One session per idle policy and `[ibkr] fuse` setting listed (defaults: `sleep_us,yield,spin`
//! and `never,always`, so one command gives the before/after comparison), each against a fresh
//! fake. Fused, the market-data and order "threads" of the hops below are the pipeline's. Hops are stamped on one monotonic
//! clock: the fake's write (just before `write`), the market-data thread's receipt of the item
//! from ibapi and its push into the feed ring (`mia_feeds::ibkr::probe`, compiled only with the
//! `latency-probe` feature), the order thread's pop of the intent and the return of ibapi's
//! `submit_order`, the arrival of the `PlaceOrder`'s bytes at the fake's socket (the kernel's
//! receive timestamp, `SO_TIMESTAMPNS`, so the fake's own wake-up is not counted) and the
//! fake's decode of it (reported apart, as the harness's share). Items are written 2 ms apart so
//! each order belongs to exactly one item (the last one the market-data thread had received
//! when the order thread popped the intent). The session's own `end_to_end` histogram (the
//! sequencer's `t0` → the intent leaving the exec stage, every intent) splits the pipeline hop.
//!
//! A calibration first measures the bare loopback hop on this machine: a 64-byte write to a
//! thread blocked in `read` (the kind of wake-up ibapi's reader and the fake's reader each pay
//! once per decision), so the figures can be read against what the kernel costs.

use mia_feeds::ibkr::fake::{FakeConfig, FakeTws};
use mia_feeds::ibkr::{probe, Fuse, IdlePolicy};
use mia_signal::strategy::registry::StrategyKind;
use mia_tools::app::config::Config;
use mia_tools::app::input::Input;
use mia_tools::app::live::{run_live, BrokerKind, DataKind, LiveMode, LiveOptions};
use mia_tools::app::session::{RunMode, SessionOptions};
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const ACCOUNT: &str = "DU1234567";
/// Between two frames the fake writes (a bid/ask, then a trade, then the next bid/ask…).
const SPACING: Duration = Duration::from_millis(2);
/// 2026-12-01 15:00 UTC: inside the default risk session window.
const T0: i64 = 1_796_137_200;

struct Args {
    ticks: usize,
    policies: Vec<IdlePolicy>,
    fuses: Vec<Fuse>,
    cores: [i32; 3],
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        ticks: 4_000,
        policies: vec![IdlePolicy::SleepUs, IdlePolicy::Yield, IdlePolicy::Spin],
        fuses: vec![Fuse::Never, Fuse::Always],
        cores: [-1, -1, -1],
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let v = it.next().ok_or_else(|| format!("{k}: missing value"))?;
        match k.as_str() {
            "--ticks" => a.ticks = v.parse().map_err(|e| format!("--ticks {v}: {e}"))?,
            "--idle" => a.policies = v.split(',').map(IdlePolicy::parse).collect::<Result<_, _>>()?,
            "--fuse" => a.fuses = v.split(',').map(Fuse::parse).collect::<Result<_, _>>()?,
            "--cores" => {
                let c: Vec<i32> = v
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<_, _>>()
                    .map_err(|e| format!("--cores {v}: {e}"))?;
                a.cores = c
                    .try_into()
                    .map_err(|_| format!("--cores {v}: give READER,MD,ORDERS (-1 = unpinned)"))?;
            }
            _ => {
                return Err(format!(
                    "unknown argument {k} (--ticks N, --idle LIST, --fuse LIST, --cores R,M,O)"
                ))
            }
        }
    }
    Ok(a)
}

/// p50 / p90 / p99 / max of `v` (sorted here), µs.
fn quantiles(v: &mut [f64]) -> Option<[f64; 4]> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let q = |p: f64| v[((v.len() as f64 - 1.0) * p).round() as usize];
    Some([q(0.50), q(0.90), q(0.99), v[v.len() - 1]])
}

fn row(name: &str, v: &mut [f64]) {
    match quantiles(v) {
        Some([p50, p90, p99, max]) => {
            println!("  {name:<44} {p50:>9.1} {p90:>9.1} {p99:>9.1} {max:>9.1}")
        }
        None => println!("  {name:<44} (no samples)"),
    }
}

/// The bare loopback hop: one 64-byte write to a thread blocked in `read` (write → reader
/// woke, and the `write` call alone), µs.
fn calibrate(n: usize) -> std::io::Result<(Vec<f64>, Vec<f64>)> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let mut tx = std::net::TcpStream::connect(listener.local_addr()?)?;
    let (mut rx, _) = listener.accept()?;
    tx.set_nodelay(true)?;
    rx.set_nodelay(true)?;
    let reader = std::thread::spawn(move || {
        let mut got = Vec::with_capacity(n);
        let mut buf = [0u8; 64];
        for _ in 0..n {
            if rx.read_exact(&mut buf).is_err() {
                break;
            }
            got.push(probe::now());
        }
        got
    });
    let (mut sent, mut call) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for _ in 0..n {
        let t = probe::now();
        sent.push(t);
        tx.write_all(&[7u8; 64])?;
        call.push(probe::now().saturating_sub(t) as f64 / 1e3);
        std::thread::sleep(Duration::from_millis(1));
    }
    let got = reader.join().map_err(|_| std::io::Error::other("calibration reader panicked"))?;
    Ok((sent.iter().zip(&got).map(|(s, g)| g.saturating_sub(*s) as f64 / 1e3).collect(), call))
}

fn config(port: u16, dir: &std::path::Path, policy: IdlePolicy, fuse: Fuse, cores: [i32; 3]) -> Config {
    let mut cfg = Config::default();
    cfg.signal.strategy = StrategyKind::Threshold;
    cfg.signal.threshold.cooldown_ms = 0;
    // Brackets (the threshold strategy's default stop and target): each entry is a native
    // bracket of three orders; the fake fills the market entry at once, so the exits race
    // the fills' reports (the exec stage waits for cancel confirmations, exec/tests/late_reports.rs).
    cfg.live.enabled = true;
    cfg.live.data = DataKind::Ibkr;
    cfg.live.venue = BrokerKind::Ibkr;
    cfg.live.stop_grace_ms = 0;
    cfg.live.state_dir = dir.join("state");
    cfg.monitor.enabled = false;
    cfg.ibkr.port = port;
    cfg.ibkr.depth_levels = 0;
    cfg.ibkr.connect_timeout_ms = 10_000;
    cfg.ibkr.request_timeout_ms = 10_000;
    cfg.ibkr.chain.refresh_secs = 3_600;
    cfg.ibkr.idle = policy;
    cfg.ibkr.fuse = fuse;
    [cfg.ibkr.reader_core, cfg.ibkr.md_core, cfg.ibkr.orders_core] = cores;
    // Every market order fills at once (the fake's auto-fill): keep risk from stopping the run
    // on rates, trade counts and the commissions it pays.
    cfg.risk.max_orders_per_sec = 64;
    cfg.risk.max_trades_per_day = 0;
    cfg.risk.max_consecutive_losses = 0;
    cfg.risk.max_daily_loss_usd = 1e6;
    cfg.risk.max_drawdown_usd = 0.0;
    cfg
}

/// One session under `policy` and `fuse`; prints its table.
fn session(args: &Args, policy: IdlePolicy, fuse: Fuse) -> Result<(), String> {
    probe::reset();
    let fake = Arc::new(
        FakeTws::start(FakeConfig { auto_fill_market: Some(6010.125), ..FakeConfig::default() })
            .map_err(|e| format!("fake TWS: {e}"))?,
    );
    let dir = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
    let cfg = config(fake.port(), dir.path(), policy, fuse, args.cores);
    let ticks = args.ticks;
    // Write instants of every frame, in order: item i of the market-data thread is frame i.
    let writes: Arc<Mutex<Vec<u64>>> = Arc::new(Mutex::new(Vec::with_capacity(2 * ticks + 200)));
    let feeder = {
        let (fake, writes) = (Arc::clone(&fake), Arc::clone(&writes));
        std::thread::spawn(move || {
            if !fake.wait(Duration::from_secs(30), |s| s.last_subs >= 1 && s.bid_ask_subs >= 1) {
                return Err("the session never subscribed".to_string());
            }
            let (bid, ask) = (6010.00, 6010.25);
            // A few ticks past the session's event budget, so the budget is always reached.
            for k in 0..ticks + 50 {
                let t = T0 + k as i64;
                // 8 ticks buying, 8 selling: an exit and an entry in each phase.
                let buying = (k / 8) % 2 == 0;
                let (bs, asz, px) = if buying { (300.0, 20.0, ask) } else { (20.0, 300.0, bid) };
                let Some(at) = fake.bid_ask(bid, ask, bs, asz, t) else { break };
                writes.lock().map_err(|_| "lock")?.push(probe::ns_of(at));
                std::thread::sleep(SPACING);
                let Some(at) = fake.trade(px, 50.0, t) else { break };
                writes.lock().map_err(|_| "lock")?.push(probe::ns_of(at));
                std::thread::sleep(SPACING);
            }
            Ok(())
        })
    };
    let session = SessionOptions {
        input: Input::Synthetic { seed: 1, days: 1 },
        config: cfg,
        mode: None,
        out: Some(dir.path().join("run")),
        progress: false,
        run_mode: RunMode::Live,
        pace: None,
        // A bid/ask is 2 events (depth off), a trade 1.
        max_events: Some(3 * ticks as u64),
        profile: None,
        on_progress: None,
    };
    let opts =
        LiveOptions { mode: LiveMode::Live, session, data: None, venue: None, speed: None, live_flag: true };
    let summary = run_live(opts).map_err(|e| format!("mia live on the fake TWS: {e:#}"))?;
    feeder.join().map_err(|_| "feeder panicked".to_string())??;

    let writes = writes.lock().map_err(|_| "lock")?.clone();
    let placed = fake.snapshot().placed;
    let (item0, items) = probe::items();
    let (order0, orders) = probe::orders();
    if item0 != 0 || order0 != 0 {
        return Err(format!("more than {} items or orders: raise probe::CAP or lower --ticks", probe::CAP));
    }
    // Per decision (the first PlaceOrder of an item), µs per hop.
    let mut hops: [Vec<f64>; 9] = Default::default();
    // Per decision: the fake's write → its last PlaceOrder decoded (a native bracket acts only
    // once its last child, `transmit = true`, is in), and how many PlaceOrders it sent.
    let (mut to_last, mut per_decision): (Vec<f64>, Vec<f64>) = (Vec::new(), Vec::new());
    let mut last_item = u64::MAX;
    let mut counted = false;
    let mut mismatched = 0usize;
    let us = |a: u64, b: u64| b.saturating_sub(a) as f64 / 1e3;
    for (o, p) in orders.iter().zip(&placed) {
        if o.ib != p.order_id {
            mismatched += 1;
            continue;
        }
        if o.item == last_item {
            // A later order of the same decision (bracket children, the exit).
            if !counted {
                continue;
            }
            if let (Some(&w), Some(v), Some(k)) =
                (writes.get(o.item as usize), to_last.last_mut(), per_decision.last_mut())
            {
                *v = us(w, probe::ns_of(p.arrived));
                *k += 1.0;
            }
            continue;
        }
        last_item = o.item;
        counted = false;
        let (Some(&w), Some(it)) = (writes.get(o.item as usize), items.get(o.item as usize)) else {
            continue;
        };
        counted = true;
        let got = probe::ns_of(p.arrived);
        let decoded = probe::ns_of(p.received);
        to_last.push(us(w, got));
        per_decision.push(1.0);
        hops[0].push(us(w, got));
        hops[1].push(us(w, it.received));
        hops[2].push(us(it.received, it.pushed));
        hops[3].push(us(it.pushed, o.popped));
        hops[4].push(us(o.popped, o.submitting));
        hops[5].push(us(o.submitting, got));
        hops[6].push(us(o.submitting, o.sent));
        hops[7].push(us(w, decoded));
        hops[8].push(us(got, decoded));
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "\nidle = {:<8} fuse = {:<6} {} decisions ({} PlaceOrders, {} with a kernel arrival stamp, {} frames written {} ms apart, {} items received, {} orders in the summary{}); load {}",
        policy.label(),
        fuse.label(),
        hops[0].len(),
        placed.len(),
        placed.iter().filter(|p| p.kernel_stamped).count(),
        writes.len(),
        SPACING.as_millis(),
        items.len(),
        summary.orders,
        if mismatched > 0 { format!(", {mismatched} PlaceOrders not matched") } else { String::new() },
        load.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
    );
    println!(
        "  signals {}, fills {}, risk {:?}, position {}, warnings {:?}",
        summary.signals, summary.fills, summary.risk, summary.position, summary.warnings
    );
    println!("  {:<44} {:>9} {:>9} {:>9} {:>9}", "hop (µs)", "p50", "p90", "p99", "max");
    row("wire to order (fake write -> bytes at fake)", &mut hops[0]);
    row("  same, to the fake's decode (harness)", &mut hops[7]);
    row("1 socket + ibapi reader -> md edge has it", &mut hops[1]);
    row("2 md edge: map + feed ring push", &mut hops[2]);
    row("3 ring -> sequencer -> stages -> order edge", &mut hops[3]);
    row("4 order edge: intent -> IB order built", &mut hops[4]);
    row("5 ibapi encode + write -> bytes at fake", &mut hops[5]);
    row("  (of which submit_order call -> return)", &mut hops[6]);
    row("fake: bytes arrived -> decoded (harness)", &mut hops[8]);
    row("wire to the decision's last order's bytes", &mut to_last);
    row("  PlaceOrders per decision", &mut per_decision);
    for (name, label) in [
        ("end_to_end", "in-process: sequencer t0 -> intent (all)"),
        ("signal", "signal stage (sampled envelopes)"),
        ("exec", "exec stage (sampled envelopes)"),
    ] {
        if let Some(h) = summary.latency.get(name) {
            if !h.is_empty() {
                let q = |p: f64| h.value_at_quantile(p) as f64 / 1e3;
                println!(
                    "  {label:<44} {:>9.2} {:>9.2} {:>9.2} {:>9.2}",
                    q(0.5),
                    q(0.9),
                    q(0.99),
                    h.max() as f64 / 1e3
                );
            }
        }
    }
    Ok(())
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("wire_to_order: {e}");
            std::process::exit(2);
        }
    };
    std::env::set_var("MIA_IBKR_ACCOUNT", ACCOUNT);
    let _ = probe::now();
    println!(
        "wire_to_order: {} ticks (2 frames each) per policy; cores reader/md/orders = {:?} (-1 = unpinned); {} CPUs",
        args.ticks,
        args.cores,
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0)
    );
    match calibrate(2_000) {
        Ok((mut woke, mut call)) => {
            println!("  {:<44} {:>9} {:>9} {:>9} {:>9}", "calibration (µs)", "p50", "p90", "p99", "max");
            row("bare loopback: write -> blocked reader woke", &mut woke);
            row("bare loopback: the write call alone", &mut call);
        }
        Err(e) => eprintln!("calibration failed: {e}"),
    }
    for &p in &args.policies {
        for &f in &args.fuses {
            if let Err(e) = session(&args, p, f) {
                eprintln!("wire_to_order ({}, fuse {}): {e}", p.label(), f.label());
                std::process::exit(1);
            }
        }
    }
}
