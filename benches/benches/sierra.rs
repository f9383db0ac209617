//! Sierra Chart inputs:
//!
//! - `sierra/dtc_decode_binary` and `sierra/dtc_decode_json`: a received DTC byte stream
//!   (50 % trades, 30 % bid/ask updates, 20 % depth updates; depth subscribed, so bid/ask
//!   updates are read and skipped) decoded and normalized to
//!   `Event`s as the edge thread does it ([`decode_market_stream`]); throughput in messages,
//!   so criterion's time per element is ns per message;
//! - `sierra/scid_replay`: a 1 M-record tick-by-tick `.scid` file opened and drained through
//!   [`ScidSource`] (many records decoded per refill of its event batch); throughput in
//!   records;
//! - `sierra/scid_replay_per_record`: the same file through the previous design, kept here
//!   as the baseline of the same run: one record decoded at a time into an `EventBuf`, its
//!   events handed out one by one (what `ScidSource` did before the batch).
//!
//! Run: `cargo bench -p mia-benches --bench sierra` (add
//! `-- --warm-up-time 1 --measurement-time 3` for a quick run).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use mia_feeds::normalize::EventBuf;
use mia_feeds::sierra::dtc::client::decode_market_stream;
use mia_feeds::sierra::dtc::market::MarketNormalizer;
use mia_feeds::sierra::dtc::messages::*;
use mia_feeds::sierra::dtc::{encode, Encoding};
use mia_feeds::sierra::scid::{
    ScidDecoder, ScidHeader, ScidOptions, ScidRecord, ScidSource, HEADER_LEN, RECORD_LEN, SC_EPOCH_TO_UNIX_US,
};
use mia_model::event::Event;
use mia_runtime::source::EventSource;
use std::io::Read;

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
    g.bench_function("scid_replay_per_record", |b| {
        b.iter(|| {
            let mut src = PerRecord::open(&path);
            let mut n = 0u64;
            while let Some(e) = src.next_event() {
                n += 1;
                black_box(e);
            }
            assert_eq!(src.records, RECORDS as u64);
            n
        })
    });
    g.finish();
}

/// The per-record design (the baseline): 4096 records per read, one record decoded into an
/// `EventBuf`, its events handed out one per call.
struct PerRecord {
    file: std::fs::File,
    buf: Vec<u8>,
    len: usize,
    pos: usize,
    records: u64,
    decoder: ScidDecoder,
    events: EventBuf,
    ev_pos: usize,
    eof: bool,
}

impl PerRecord {
    fn open(path: &std::path::Path) -> Self {
        let mut file = std::fs::File::open(path).expect("open");
        let mut head = [0u8; HEADER_LEN];
        file.read_exact(&mut head).expect("header");
        Self {
            file,
            buf: vec![0u8; 4096 * RECORD_LEN],
            len: 0,
            pos: 0,
            records: 0,
            decoder: ScidDecoder::new(ScidOptions::default()),
            events: EventBuf::new(),
            ev_pos: 0,
            eof: false,
        }
    }

    #[inline]
    fn next_event(&mut self) -> Option<Event> {
        loop {
            if let Some(e) = self.events.get(self.ev_pos) {
                self.ev_pos += 1;
                return Some(e);
            }
            self.events.clear();
            self.ev_pos = 0;
            if self.eof {
                return None;
            }
            if self.pos >= self.len {
                let mut n = 0;
                while n < self.buf.len() {
                    match self.file.read(&mut self.buf[n..]).expect("read") {
                        0 => break,
                        k => n += k,
                    }
                }
                self.len = n / RECORD_LEN * RECORD_LEN;
                self.pos = 0;
                if self.len == 0 {
                    self.eof = true;
                    self.decoder.finish(&mut self.events);
                    continue;
                }
            }
            let mut raw = [0u8; RECORD_LEN];
            raw.copy_from_slice(&self.buf[self.pos..self.pos + RECORD_LEN]);
            self.pos += RECORD_LEN;
            self.records += 1;
            self.decoder.decode(&ScidRecord::from_bytes(&raw), &mut self.events).expect("decode");
        }
    }
}

criterion_group!(benches, dtc, scid);
criterion_main!(benches);
