//! MIA side of the hand-run hftbacktest cross-check (`tools/scripts/hft_crosscheck.py`,
//! `docs/execution.md`): replays an MBO slice through `SimVenue` as an MBO feed sends it (each
//! record's raw `Mbo` event, then the `Level` / `Trade` / `Clear` events an `MboBook` derives
//! from it) with scripted GTC limit orders, and prints every fill as CSV.
//!
//! Run: `cargo run -p mia-exec --example hft_crosscheck -- RECORDS.csv ORDERS.csv MODEL`
//! where `RECORDS.csv` has `ts,action,side,order_id,price_nanos,size` (action and side as DBN
//! characters), `ORDERS.csv` has `id,ts,side,price_nanos,qty` (side `B` or `S`), and `MODEL` is
//! a `[sim.queue] model` name (`risk_averse`, `l3_fifo`, …). Entry latency: constant 250 µs.
//! With a fifth argument `DETAIL.csv`, it also writes what the cross-check's `--explain` mode
//! reads: each order's acknowledgement with its queue ahead at the join, each fill with the
//! kind of the event that made it, and every change of an order's queue ahead.

use std::error::Error;

use mia_exec::queue::{QueueConfig, QueueModelKind};
use mia_exec::sim::{FillBuf, SimConfig, SimVenue};
use mia_model::book::mbo::{MboAction, MboBook, MboConfig};
use mia_model::contract::ContractSpec;
use mia_model::event::{flags, Event, EventKind, Side};
use mia_model::msg::{OrderIntent, OrderSide, OrderType, TimeInForce};

type Res<T> = Result<T, Box<dyn Error>>;

fn field<T: std::str::FromStr>(cols: &[&str], i: usize, file: &str, line: usize) -> Res<T> {
    cols.get(i)
        .and_then(|c| c.trim().parse().ok())
        .ok_or_else(|| format!("{file}:{line}: column {} is missing or not a number", i + 1).into())
}

fn byte(cols: &[&str], i: usize, file: &str, line: usize) -> Res<u8> {
    cols.get(i)
        .and_then(|c| c.trim().bytes().next())
        .ok_or_else(|| format!("{file}:{line}: column {} is empty", i + 1).into())
}

fn read(file: &str) -> Res<String> {
    std::fs::read_to_string(file).map_err(|e| format!("{file}: {e}").into())
}

/// The detail file and the last queue-ahead value written per order id (it lists changes only).
struct Detail<'a> {
    path: &'a str,
    w: std::io::BufWriter<std::fs::File>,
    seen: std::collections::HashMap<u64, Option<f64>>,
}

/// Appends to the detail file the acks of `out` (`ack,id,ts,seq,record,ahead`), its fills
/// (`fill,id,ts,seq,record,price,qty,kind` with the kind of the event that filled) and every
/// change of a submitted order's queue ahead (`q,id,ts,seq,record,ahead`).
fn write_detail(
    d: &mut Detail<'_>,
    venue: &SimVenue,
    out: &FillBuf,
    submitted: &[OrderIntent],
    e: &Event,
    record: usize,
) -> Res<()> {
    use std::io::Write;
    let (path, w) = (d.path, &mut d.w);
    let io = |r: std::io::Result<()>| r.map_err(|err| format!("{path}: {err}"));
    let fmt = |a: Option<f64>| a.map_or("-".to_string(), |a| format!("{a}"));
    for a in out.acks() {
        let ahead = venue.queue_ahead(a.client_order_id);
        io(writeln!(w, "ack,{},{},{},{},{}", a.client_order_id, a.ts, a.seq, record, fmt(ahead)))?;
    }
    for f in out.fills() {
        io(writeln!(
            w,
            "fill,{},{},{},{},{},{},{:?}",
            f.client_order_id, f.ts, f.seq, record, f.price, f.qty, e.kind
        ))?;
    }
    for o in submitted {
        let id = o.client_order_id;
        let ahead = venue.queue_ahead(id);
        if ahead.is_some() && d.seen.get(&id) != Some(&ahead) {
            io(writeln!(w, "q,{},{},{},{},{}", id, e.ts_recv, e.seq, record, fmt(ahead)))?;
        }
        d.seen.insert(id, ahead);
    }
    Ok(())
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().collect();
    let (records, orders, model, detail) = match args.as_slice() {
        [_, r, o, m] => (r, o, m, None),
        [_, r, o, m, d] => (r, o, m, Some(d)),
        _ => return Err("usage: hft_crosscheck RECORDS.csv ORDERS.csv MODEL [DETAIL.csv]".into()),
    };
    let mut detail = match detail {
        Some(d) => Some(Detail {
            path: d.as_str(),
            w: std::io::BufWriter::new(std::fs::File::create(d).map_err(|e| format!("{d}: {e}"))?),
            seen: std::collections::HashMap::new(),
        }),
        None => None,
    };
    let model: QueueModelKind =
        toml::Value::String(model.clone()).try_into().map_err(|e| format!("MODEL {model:?}: {e}"))?;
    let mut orders_in = Vec::new();
    for (n, l) in read(orders)?.lines().enumerate().skip(1) {
        let c: Vec<&str> = l.split(',').collect();
        let side = match byte(&c, 2, orders, n + 1)? {
            b'B' => OrderSide::Buy,
            b'S' => OrderSide::Sell,
            x => return Err(format!("{orders}:{}: side {:?} is not B or S", n + 1, x as char).into()),
        };
        orders_in.push(OrderIntent {
            client_order_id: field(&c, 0, orders, n + 1)?,
            ts: field(&c, 1, orders, n + 1)?,
            price: field(&c, 3, orders, n + 1)?,
            qty: field(&c, 4, orders, n + 1)?,
            instrument_id: 1,
            side,
            order_type: OrderType::Limit,
            tif: TimeInForce::Gtc,
            ..OrderIntent::default()
        });
    }
    let cfg = SimConfig {
        queue: QueueConfig { model, ..QueueConfig::default() },
        ..SimConfig::with_entry_latency(250_000)
    };
    let mut venue = SimVenue::new(cfg, ContractSpec::ES);
    let mut book = MboBook::new(MboConfig::default());
    let mut out = FillBuf::new();
    let mut next_order = 0;
    let mut seq = 0u64;
    let mut evs: Vec<Event> = Vec::with_capacity(32);
    println!("order_id,ts,price_nanos,qty,leaves");
    for (n, l) in read(records)?.lines().enumerate().skip(1) {
        let c: Vec<&str> = l.split(',').collect();
        let ts: u64 = field(&c, 0, records, n + 1)?;
        let action = byte(&c, 1, records, n + 1)?;
        let side = match byte(&c, 2, records, n + 1)? {
            b'B' => Side::Bid,
            b'A' => Side::Ask,
            _ => Side::None,
        };
        let id: u64 = field(&c, 3, records, n + 1)?;
        let price: i64 = field(&c, 4, records, n + 1)?;
        let size: u32 = field(&c, 5, records, n + 1)?;
        while next_order < orders_in.len() && orders_in[next_order].ts <= ts {
            venue
                .submit(&orders_in[next_order])
                .map_err(|e| format!("order {next_order}: refused: {e:?}"))?;
            next_order += 1;
        }
        evs.clear();
        evs.push(Event::mbo(ts, ts, action, side, id, price, size, 0));
        match MboAction::from_dbn(action) {
            Some(MboAction::Trade) => evs.push(Event::trade(ts, ts, side, price, size, 0)),
            Some(MboAction::Clear) => {
                book.clear();
                evs.push(Event { ts_event: ts, ts_recv: ts, kind: EventKind::Clear, ..Event::default() });
            }
            Some(a) => book.apply(a, side, id, price, size),
            None => return Err(format!("{records}:{}: unknown action {:?}", n + 1, action as char).into()),
        }
        book.diff_top(|s, d, lv| evs.push(Event::level(ts, ts, s, d, lv.price, lv.size, lv.count, 0)));
        if evs.len() == 1 {
            evs.push(Event { ts_event: ts, ts_recv: ts, kind: EventKind::Status, ..Event::default() });
        }
        if let Some(e) = evs.last_mut() {
            e.flags |= flags::LAST;
        }
        for e in &mut evs {
            e.seq = seq;
            seq += 1;
            venue.on_market(e, &mut out);
            for f in out.fills() {
                println!("{},{},{},{},{}", f.client_order_id, f.ts, f.price, f.qty, f.leaves);
            }
            if let Some(d) = detail.as_mut() {
                write_detail(d, &venue, &out, &orders_in[..next_order], e, n + 1)?;
            }
        }
    }
    if let Some(d) = detail.as_mut() {
        use std::io::Write;
        d.w.flush().map_err(|e| format!("{}: {e}", d.path))?;
    }
    eprintln!("{}", venue.describe());
    Ok(())
}
