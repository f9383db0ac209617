//! Where the time of ibapi's `submit_order` goes, measured against the fake TWS on loopback
//! (`docs/performance.md`, "Wire-to-order on loopback").
//!
//! ```text
//! CARGO_PROFILE_RELEASE_LTO=off CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
//!   cargo run --release -p mia-feeds --example submit_cost -- [--orders N] [--rounds R]
//! ```
//!
//! Needs 2 cores or more. Each round times, per call, on a thread pinned to core 0:
//!
//! - `encode only`: `submit_order` on a client that was disconnected: ibapi runs its checks
//!   and the whole protobuf encoding, then refuses the write (`ensure_connected`), so this is
//!   ibapi's user-space cost without the socket;
//! - `submit, fake on core 1`: the fake TWS's threads and ibapi's reader run on core 1 (the
//!   main thread was pinned there when it started the fake and connected: new threads inherit
//!   the mask), so the `write` wakes a reader on the other core;
//! - `submit, fake on core 0`: the same on a second fake and client started from core 0: the
//!   fake's reader wakes on the submitting core, which is what happens on a shared 2-core box
//!   when every core is busy;
//! - `bare write`: one `write` of the same frame size on a plain loopback socket to a thread
//!   blocked in `read` on core 1, then on core 0: the kernel's share;
//! - `build`: building the order the way the order edge did before 2026-12-02 (a new
//!   `ibapi::orders::Order` with its strings allocated per order) against overwriting a kept one
//!   in place (what `feeds/src/ibkr/orders.rs` does now).
//!
//! Wall time and the thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`) are taken around every
//! call; wall − CPU is the time the submitting thread was off its core (preempted by the
//! thread it woke, or waiting). A counting allocator gives the heap allocations the calling
//! thread made per call. Orders are 1 ms apart, limit orders far from the market (the
//! fake acknowledges them with an open order and a status, as TWS does).

use ibapi::client::blocking::Client;
use ibapi::contracts::{Contract, Currency, Exchange, SecurityType, Symbol};
use ibapi::orders::{Action, OcaType, Order, TimeInForce};
use mia_feeds::ibkr::fake::{FakeConfig, FakeTws};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

const ACCOUNT: &str = "DU1234567";

thread_local! {
    /// Allocations (and reallocations) made by this thread.
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

/// The system allocator, counting per thread.
struct Counting;

// SAFETY: every call is forwarded unchanged to `System`, which upholds the `GlobalAlloc`
// contract; the counter is a const-initialised thread-local without a destructor, so touching
// it never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: the caller's layout contract is passed on as is.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` with this layout (every allocation goes through it).
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: as for `dealloc`; the new size is the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn allocs() -> u64 {
    ALLOCS.try_with(Cell::get).unwrap_or(0)
}

/// The calling thread's CPU time, ns.
fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call;
    // CLOCK_THREAD_CPUTIME_ID is supported by every Linux kernel this runs on.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return 0;
    }
    (ts.tv_sec as u64).saturating_mul(1_000_000_000).saturating_add(ts.tv_nsec as u64)
}

fn pin(core: usize) -> Result<(), String> {
    // The list is the process's mask at the first call (later calls would see the pin).
    static IDS: std::sync::OnceLock<Vec<core_affinity::CoreId>> = std::sync::OnceLock::new();
    let ids = IDS.get_or_init(|| core_affinity::get_core_ids().unwrap_or_default());
    let id = ids.get(core).copied().ok_or_else(|| format!("no core {core} ({} cores)", ids.len()))?;
    if core_affinity::set_for_current(id) {
        Ok(())
    } else {
        Err(format!("cannot pin to core {core}"))
    }
}

/// Wall and CPU samples of one variant, µs.
#[derive(Default)]
struct Samples {
    wall: Vec<f64>,
    cpu: Vec<f64>,
    allocs: u64,
}

impl Samples {
    fn push(&mut self, (wall_ns, cpu_ns, allocs): (u64, u64, u64)) {
        self.wall.push(wall_ns as f64 / 1e3);
        self.cpu.push(cpu_ns as f64 / 1e3);
        self.allocs += allocs;
    }
}

fn q(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn print(name: &str, s: &mut Samples) {
    let off: Vec<f64> = s.wall.iter().zip(&s.cpu).map(|(w, c)| (w - c).max(0.0)).collect();
    let mut off = off;
    let n = s.wall.len();
    println!(
        "  {name:<40} {:>6} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>7.1}",
        n,
        q(&mut s.wall, 0.5),
        q(&mut s.wall, 0.9),
        q(&mut s.wall, 0.99),
        q(&mut s.cpu, 0.5),
        q(&mut off, 0.5),
        s.allocs as f64 / n.max(1) as f64,
    );
}

/// The ES contract as the order edge sends it (`contract::ib_contract`).
fn contract() -> Contract {
    Contract {
        contract_id: 495512563,
        symbol: Symbol("ES".into()),
        security_type: SecurityType::Future,
        exchange: Exchange("CME".into()),
        currency: Currency("USD".into()),
        local_symbol: "ESZ6".into(),
        ..Contract::default()
    }
}

/// The order as the edge built it before 2026-12-02: a fresh `Order`, strings allocated.
fn build_fresh(ib: i32, coid: u64) -> Order {
    Order {
        order_id: ib,
        action: Action::Buy,
        total_quantity: 1.0,
        order_type: "LMT".to_string(),
        limit_price: Some(5000.0),
        tif: TimeInForce::Day,
        account: ACCOUNT.to_string(),
        transmit: true,
        parent_id: 0,
        oca_group: format!("mia-{coid}"),
        oca_type: OcaType::CancelWithBlock,
        ..Order::default()
    }
}

/// The same order written into a kept one (no allocation once the strings have capacity).
fn build_in_place(o: &mut Order, ib: i32, coid: u64) {
    o.order_id = ib;
    o.action = Action::Buy;
    o.total_quantity = 1.0;
    o.order_type.clear();
    o.order_type.push_str("LMT");
    o.limit_price = Some(5000.0);
    o.tif = TimeInForce::Day;
    o.transmit = true;
    o.parent_id = 0;
    o.oca_group.clear();
    let _ = write!(o.oca_group, "mia-{coid}");
    o.oca_type = OcaType::CancelWithBlock;
}

/// A fake and a client whose threads (the fake's, ibapi's reader) run on `core`.
fn setup(core: usize) -> Result<(FakeTws, Client), String> {
    pin(core)?;
    let fake = FakeTws::start(FakeConfig::default()).map_err(|e| format!("fake TWS: {e}"))?;
    let client = Client::builder()
        .address(format!("127.0.0.1:{}", fake.port()))
        .client_id(7)
        .tcp_no_delay(true)
        .connect()
        .map_err(|e| format!("connect: {e}"))?;
    Ok((fake, client))
}

/// A plain loopback pair with a reader blocked in `read` on `core`, `size` bytes per message.
fn bare_pair(core: usize, size: usize, n: usize) -> Result<std::net::TcpStream, String> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let tx = std::net::TcpStream::connect(l.local_addr().map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    let (mut rx, _) = l.accept().map_err(|e| e.to_string())?;
    tx.set_nodelay(true).map_err(|e| e.to_string())?;
    std::thread::spawn(move || {
        let _ = pin(core);
        let mut buf = vec![0u8; size];
        for _ in 0..n {
            if rx.read_exact(&mut buf).is_err() {
                break;
            }
        }
    });
    Ok(tx)
}

fn main() -> Result<(), String> {
    let mut orders = 500usize;
    let mut rounds = 4usize;
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let v = it.next().ok_or_else(|| format!("{k}: missing value"))?;
        match k.as_str() {
            "--orders" => orders = v.parse().map_err(|e| format!("--orders {v}: {e}"))?,
            "--rounds" => rounds = v.parse().map_err(|e| format!("--rounds {v}: {e}"))?,
            _ => return Err(format!("unknown argument {k} (--orders N, --rounds R)")),
        }
    }
    if std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1) < 2 {
        return Err("needs at least 2 cores".into());
    }
    let (fake1, client1) = setup(1)?;
    let (fake0, client0) = setup(0)?;
    let (_, dead) = setup(1)?;
    dead.disconnect();
    pin(0)?;
    let contract = contract();
    let mut kept = build_fresh(0, 0);
    kept.oca_group.reserve(32);

    // One PlaceOrder as ibapi writes it for these orders (length prefix included; seen with
    // `strace -e trace=sendto`: 135–138 bytes, one `sendto` per order).
    let frame = 138;
    let total = rounds * orders;
    let mut bare1 = bare_pair(1, frame, total)?;
    let mut bare0 = bare_pair(0, frame, total)?;
    let payload = vec![7u8; frame];

    let mut enc = Samples::default();
    let mut sub1 = Samples::default();
    let mut sub0 = Samples::default();
    let mut w1 = Samples::default();
    let mut w0 = Samples::default();
    let mut fresh = Samples::default();
    let mut in_place = Samples::default();
    let mut clock = Samples::default();
    let mut ib = 1_000;
    let gap = Duration::from_millis(1);
    let time = |f: &mut dyn FnMut()| {
        let c0 = thread_cpu_ns();
        let a0 = allocs();
        let t0 = Instant::now();
        f();
        let w = t0.elapsed().as_nanos() as u64;
        let a = allocs() - a0;
        (w, thread_cpu_ns().saturating_sub(c0), a)
    };
    // The first call on each client (cold caches, first allocations of each size, the
    // socket's first send), then a warm-up that keeps those costs out of the figures.
    let mut first = Vec::new();
    for client in [&client1, &client0] {
        ib += 1;
        let o = build_fresh(ib, 1);
        let (w, c, _) = time(&mut || {
            let _ = client.submit_order(ib, &contract, &o);
        });
        first.push(format!("{:.1} µs wall / {:.1} cpu", w as f64 / 1e3, c as f64 / 1e3));
        std::thread::sleep(gap);
    }
    for _ in 0..20 {
        ib += 1;
        let _ = client1.submit_order(ib, &contract, &build_fresh(ib, 1));
        ib += 1;
        let _ = client0.submit_order(ib, &contract, &build_fresh(ib, 1));
        std::thread::sleep(gap);
    }
    let mut errors = 0usize;
    for _ in 0..rounds {
        for k in 0..orders {
            ib += 1;
            let coid = ib as u64;
            clock.push(time(&mut || {}));
            fresh.push(time(&mut || {
                std::hint::black_box(build_fresh(ib, coid));
            }));
            in_place.push(time(&mut || build_in_place(&mut kept, ib, coid)));
            enc.push(time(&mut || {
                let _ = std::hint::black_box(dead.submit_order(ib, &contract, &kept));
            }));
            // Alternate which fake goes first.
            let order: [usize; 2] = if k % 2 == 0 { [1, 0] } else { [0, 1] };
            for which in order {
                ib += 1;
                build_in_place(&mut kept, ib, coid);
                let (client, s) = if which == 1 { (&client1, &mut sub1) } else { (&client0, &mut sub0) };
                let mut r = Ok(());
                let t = time(&mut || r = client.submit_order(ib, &contract, &kept));
                if r.is_err() {
                    errors += 1;
                }
                s.push(t);
                std::thread::sleep(gap);
            }
            for (sock, s) in [(&mut bare1, &mut w1), (&mut bare0, &mut w0)] {
                let mut r = Ok(());
                let t = time(&mut || r = sock.write_all(&payload));
                if r.is_err() {
                    errors += 1;
                }
                s.push(t);
                std::thread::sleep(gap);
            }
        }
    }
    let placed = (fake1.snapshot().placed.len(), fake0.snapshot().placed.len());
    println!(
        "submit_cost: {rounds} rounds x {orders} orders per variant, {} errors, fakes saw {placed:?} PlaceOrders; load {}",
        errors,
        std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim()
    );
    println!(
        "  {:<40} {:>6} {:>8} {:>8} {:>8} {:>8} {:>8} {:>7}",
        "per call (µs)", "n", "wall p50", "p90", "p99", "cpu p50", "off p50", "allocs"
    );
    println!("  first submit_order per client (fake on core 1, core 0): {}", first.join(", "));
    print("clock pair alone (timer overhead)", &mut clock);
    print("build: fresh Order (before)", &mut fresh);
    print("build: kept Order, in place (now)", &mut in_place);
    print("submit_order, disconnected (encode only)", &mut enc);
    print("submit_order, fake on core 1", &mut sub1);
    print("submit_order, fake on core 0 (same core)", &mut sub0);
    print("bare write 138 B, reader on core 1", &mut w1);
    print("bare write 138 B, reader on core 0", &mut w0);
    fake1.stop();
    fake0.stop();
    Ok(())
}
