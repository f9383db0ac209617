//! Sierra Chart inputs:
//!
//! - `sierra/dtc_decode_binary` and `sierra/dtc_decode_json`: a received DTC byte stream
//!   (50 % trades, 30 % bid/ask updates, 20 % depth updates; depth subscribed, so bid/ask
//!   updates are read and skipped) decoded and normalized to
//!   `Event`s as the edge thread does it ([`decode_market_stream`]); throughput in messages,
//!   so criterion's time per element is ns per message;
//! - `sierra/scid_replay`: a 1 M-record tick-by-tick `.scid` file opened and drained through
//!   [`ScidSource`]; throughput in records.
//!
//! Run: `cargo bench -p mia-benches --bench sierra` (add
//! `-- --warm-up-time 1 --measurement-time 3` for a quick run).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use mia_feeds::sierra::dtc::client::decode_market_stream;
use mia_feeds::sierra::dtc::market::MarketNormalizer;
use mia_feeds::sierra::dtc::messages::*;
use mia_feeds::sierra::dtc::{encode, Encoding};
use mia_feeds::sierra::scid::{ScidHeader, ScidRecord, ScidSource, SC_EPOCH_TO_UNIX_US};
use mia_runtime::source::EventSource;

const MESSAGES: usize = 100_000;
const RECORDS: usize = 1_000_000;
const TICK: i64 = 250_000_000;

fn stream(enc: Encoding) -> Vec<u8> {
    let mut out = Vec::new();
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    for i in 0..MESSAGES {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let px = 4000.0 + (x % 16) as f64 * 0.25;
        let m: Message = match i % 10 {
            0..=4 => MarketDataUpdateTrade {
                symbol_id: 1,
                at_bid_or_ask: 1 + (x % 2) as u16,
                price: px,
                volume: 1.0 + (x % 5) as f64,
                date_time: 1.7e9 + i as f64 * 1e-3,
            }
            .into(),
            5..=7 => MarketDataUpdateBidAsk {
                symbol_id: 1,
                bid_price: px,
                bid_quantity: 10.0,
                ask_price: px + 0.25,
                ask_quantity: 12.0,
                date_time: 1_700_000_000,
            }
            .into(),
            _ => MarketDepthUpdateLevel {
                symbol_id: 1,
                side: 1 + (x % 2) as u16,
                price: px,
                quantity: (x % 40) as f64,
                update_type: 1,
                ..Default::default()
            }
            .into(),
        };
        encode(enc, &m, &mut out).expect("encodable");
    }
    out
}

fn dtc(c: &mut Criterion) {
    let mut g = c.benchmark_group("sierra");
    g.throughput(Throughput::Elements(MESSAGES as u64));
    for (name, enc, depth) in
        [("dtc_decode_binary", Encoding::Binary, true), ("dtc_decode_json", Encoding::Json, true)]
    {
        let bytes = stream(enc);
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut norm = MarketNormalizer::new(TICK, 0, depth);
                let mut n = 0u64;
                let used = decode_market_stream(enc, black_box(&bytes), &mut norm, 1, &mut |e| {
                    n += 1;
                    black_box(e);
                })
                .expect("valid stream");
                assert_eq!(used, bytes.len());
                n
            })
        });
    }
    g.finish();
}

fn scid(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("bench.scid");
    let mut bytes = ScidHeader::encode().to_vec();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..RECORDS {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let bid = 4000.0 + (x % 8) as f32 * 0.25;
        let at_ask = x & 1 == 1;
        let r = ScidRecord {
            date_time: SC_EPOCH_TO_UNIX_US + 1_700_000_000_000_000 + i as i64 * 1000,
            open: 0.0,
            high: bid + 0.25,
            low: bid,
            close: if at_ask { bid + 0.25 } else { bid },
            num_trades: 1,
            total_volume: 1 + (x % 3) as u32,
            bid_volume: if at_ask { 0 } else { 1 },
            ask_volume: u32::from(at_ask),
        };
        bytes.extend_from_slice(&r.to_bytes());
    }
    std::fs::write(&path, &bytes).expect("write");
    let mut g = c.benchmark_group("sierra");
    g.throughput(Throughput::Elements(RECORDS as u64));
    g.sample_size(20);
    g.bench_function("scid_replay", |b| {
        b.iter(|| {
            let mut src = ScidSource::open(&path).expect("open");
            let mut n = 0u64;
            while let Some(e) = src.next_event().expect("decode") {
                n += 1;
                black_box(e);
            }
            assert_eq!(src.records_read(), RECORDS as u64);
            n
        })
    });
    g.finish();
}

criterion_group!(benches, dtc, scid);
criterion_main!(benches);
