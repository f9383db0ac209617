//! Sierra Chart intraday data files (`.scid`) as an [`EventSource`].
//!
//! Layout (Sierra Chart, "Intraday Data File Format"; all little-endian):
//!
//! - header `s_IntradayHeader`, 56 bytes: `"SCID"`, `u32 HeaderSize` (56), `u32 RecordSize`
//!   (40), `u16 Version` (1), `u16 Unused1`, `u32 UTCStartIndex`, 36 reserved bytes;
//! - then records `s_IntradayRecord`, 40 bytes each: `i64 DateTime` (SCDateTimeMS:
//!   microseconds since 1899-12-30 00:00 UTC), `f32 Open, High, Low, Close`,
//!   `u32 NumTrades, TotalVolume, BidVolume, AskVolume`.
//!
//! A *tick* record (`Open == 0`, or one of the unbundled-trade markers) carries one trade:
//! `Close` is the trade price, `High` the ask and `Low` the bid at the time of the trade,
//! `TotalVolume` its size, and `BidVolume`/`AskVolume` the volume that traded at the bid / at
//! the ask. [`ScidDecoder`] turns it into up to three [`Event`]s: the bid and the ask at depth 0
//! (only when they changed; the file has no quote sizes, so a present level has size 1 and
//! count 0), then the `Trade` (aggressor `Ask` = seller when the volume traded at the bid,
//! `Bid` = buyer when at the ask, `None` when both or neither). The trade price is not assumed
//! to be the bid or the ask (Sierra Chart records prints between them).
//!
//! **Unbundled trades.** Sierra Chart marks the sub-trades of one aggressor order split across
//! prices or resting orders: `Open = FIRST_SUB_TRADE_OF_UNBUNDLED_TRADE` (−1.99900095e37) on the
//! first and `LAST_SUB_TRADE_OF_UNBUNDLED_TRADE` (−1.99900197e37) on the last. The sub-trades
//! from the first through the last form one exchange event: only the last one's final event
//! carries [`flags::LAST`], so features and signals see the whole sweep at once. A group still
//! open at the end of the file is closed by a `Status` event with `LAST`.
//!
//! **Bars.** A record with any other non-zero `Open` is an aggregated bar (no quotes, no single
//! trade). It is refused with an error naming the record (bars cannot be replayed as a book),
//! unless [`ScidOptions::skip_bars`] is set: then it is skipped and counted (downloaded
//! history can be aggregated while the live-recorded part of the same file is tick by tick).
//!
//! **Prices** are `f32 × price_multiplier`, checked (finite, positive, below
//! [`ScidOptions::max_price`]) and rounded to the tick; a 0 bid or ask means "no quote" (that
//! level is not sent). Timestamps before 1970 or after 2200 are errors. `ts_recv = ts_event`.
//!
//! Every error is a [`SourceError`] naming the file, the record index and its byte offset.
//! Reading is buffered (4096 records per `read`), decoding uses `from_le_bytes` only.

use std::fs::File;
use std::path::Path;

use mia_model::contract::ContractSpec;
use mia_model::event::{flags, Event, EventKind, Side};
use mia_model::price::{Px, UNDEF_PX};
use mia_runtime::source::{EventSource, SourceError};

pub(crate) use super::records::read_up_to;
use super::records::RecordReader;
use mia_model::fixed_vec::FixedVec;

/// The header's magic bytes.
pub const SCID_MAGIC: [u8; 4] = *b"SCID";
/// Size of the file header.
pub const HEADER_LEN: usize = 56;
/// Size of one record.
pub const RECORD_LEN: usize = 40;
/// `Open` of the first sub-trade of an unbundled trade (−1.99900095e37, bits `0xfd709ef9`).
pub const FIRST_SUB_TRADE: f32 = f32::from_bits(0xfd70_9ef9);
/// `Open` of the last sub-trade of an unbundled trade (−1.99900197e37, bits `0xfd709f01`).
pub const LAST_SUB_TRADE: f32 = f32::from_bits(0xfd70_9f01);
/// Microseconds from the SCDateTime epoch (1899-12-30) to the UNIX epoch: 25 569 days.
pub const SC_EPOCH_TO_UNIX_US: i64 = 25_569 * 86_400 * 1_000_000;
/// Latest timestamp accepted (2200-01-01 UTC, in ns since the UNIX epoch).
const MAX_TS_NS: u64 = 7_258_118_400_000_000_000;
/// Records read per `read` call.
const RECORDS_PER_READ: usize = 4096;

/// The decoded header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScidHeader {
    /// `Version` (1 in every file seen).
    pub version: u16,
    /// `UTCStartIndex` (0 in every file seen).
    pub utc_start_index: u32,
}

impl ScidHeader {
    /// Validates and decodes the first bytes of a file. `input` names it in errors.
    ///
    /// # Errors
    /// Fewer than 56 bytes, a wrong magic, header size or record size; the place is the
    /// byte offset of the faulty field.
    pub fn parse(bytes: &[u8], input: &str) -> Result<Self, SourceError> {
        let err = |off: usize, reason: String| SourceError::new(input, format!("byte offset {off}"), reason);
        if bytes.len() < 4 || bytes[..4] != SCID_MAGIC {
            return Err(err(0, "not a Sierra Chart intraday file (no \"SCID\" magic)".into()));
        }
        if bytes.len() < HEADER_LEN {
            return Err(err(bytes.len(), format!("truncated header: {} of {HEADER_LEN} bytes", bytes.len())));
        }
        let u32_at = |o: usize| u32::from_le_bytes([bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]]);
        let header_size = u32_at(4);
        if header_size as usize != HEADER_LEN {
            return Err(err(4, format!("header size {header_size}, expected {HEADER_LEN}")));
        }
        let record_size = u32_at(8);
        if record_size as usize != RECORD_LEN {
            return Err(err(8, format!("record size {record_size}, expected {RECORD_LEN}")));
        }
        Ok(Self { version: u16::from_le_bytes([bytes[12], bytes[13]]), utc_start_index: u32_at(16) })
    }

    /// The 56 header bytes Sierra Chart writes (version 1).
    pub fn encode() -> [u8; HEADER_LEN] {
        let mut h = [0u8; HEADER_LEN];
        h[..4].copy_from_slice(&SCID_MAGIC);
        h[4..8].copy_from_slice(&(HEADER_LEN as u32).to_le_bytes());
        h[8..12].copy_from_slice(&(RECORD_LEN as u32).to_le_bytes());
        h[12..14].copy_from_slice(&1u16.to_le_bytes());
        h
    }
}

/// One raw `s_IntradayRecord`.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct ScidRecord {
    /// SCDateTimeMS: microseconds since 1899-12-30 00:00 UTC.
    pub date_time: i64,
    /// 0 for a tick, an unbundled marker, or a bar's open.
    pub open: f32,
    /// Ask (tick) or high (bar).
    pub high: f32,
    /// Bid (tick) or low (bar).
    pub low: f32,
    /// Trade price (tick) or close (bar).
    pub close: f32,
    /// Number of trades.
    pub num_trades: u32,
    /// Volume.
    pub total_volume: u32,
    /// Volume traded at the bid.
    pub bid_volume: u32,
    /// Volume traded at the ask.
    pub ask_volume: u32,
}

impl ScidRecord {
    /// Decodes 40 bytes.
    #[inline]
    pub fn from_bytes(b: &[u8; RECORD_LEN]) -> Self {
        let f = |o: usize| f32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
        let u = |o: usize| u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
        Self {
            date_time: i64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
            open: f(8),
            high: f(12),
            low: f(16),
            close: f(20),
            num_trades: u(24),
            total_volume: u(28),
            bid_volume: u(32),
            ask_volume: u(36),
        }
    }

    /// Encodes to 40 bytes (tests, fixtures, the benches).
    pub fn to_bytes(&self) -> [u8; RECORD_LEN] {
        let mut b = [0u8; RECORD_LEN];
        b[0..8].copy_from_slice(&self.date_time.to_le_bytes());
        for (i, v) in [self.open, self.high, self.low, self.close].into_iter().enumerate() {
            b[8 + 4 * i..12 + 4 * i].copy_from_slice(&v.to_le_bytes());
        }
        for (i, v) in
            [self.num_trades, self.total_volume, self.bid_volume, self.ask_volume].into_iter().enumerate()
        {
            b[24 + 4 * i..28 + 4 * i].copy_from_slice(&v.to_le_bytes());
        }
        b
    }

    /// True for a tick record (single trade with bid and ask), including unbundled sub-trades.
    #[inline]
    pub fn is_tick(&self) -> bool {
        self.open == 0.0 || self.open == FIRST_SUB_TRADE || self.open == LAST_SUB_TRADE
    }
}

/// SCDateTimeMS (µs since 1899-12-30) to ns since the UNIX epoch; `None` before 1970 or
/// after 2200.
#[inline]
pub fn sc_datetime_to_unix_ns(us: i64) -> Option<u64> {
    let unix_us = us.checked_sub(SC_EPOCH_TO_UNIX_US)?;
    let ns = u64::try_from(unix_us).ok()?.checked_mul(1000)?;
    (ns <= MAX_TS_NS).then_some(ns)
}

/// ns since the UNIX epoch to SCDateTimeMS (truncated to the microsecond).
#[inline]
pub fn unix_ns_to_sc_datetime(ns: u64) -> i64 {
    (ns / 1000) as i64 + SC_EPOCH_TO_UNIX_US
}

/// How records become events.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScidOptions {
    /// Tick size prices are rounded to (ES: 0.25).
    pub tick: Px,
    /// Sierra Chart's price multiplier for the symbol (prices are stored × 1/multiplier).
    pub price_multiplier: f64,
    /// Prices at or above this (after the multiplier) are errors.
    pub max_price: f64,
    /// Skip aggregated-bar records (counted) instead of refusing the file.
    pub skip_bars: bool,
    /// `instrument_id` of every event.
    pub instrument_id: u32,
}

impl Default for ScidOptions {
    fn default() -> Self {
        Self {
            tick: ContractSpec::ES.tick,
            price_multiplier: 1.0,
            max_price: 1_000_000.0,
            skip_bars: false,
            instrument_id: 0,
        }
    }
}

/// Record → events state machine, shared by [`ScidSource`] and the follow mode.
#[derive(Clone, Debug)]
pub struct ScidDecoder {
    opts: ScidOptions,
    bid: Px,
    ask: Px,
    /// Inside an unbundled trade: events were sent without `LAST`.
    open_group: bool,
    last_ts: u64,
    bars_skipped: u64,
    /// Ticks per 1.0 of price (after the multiplier): prices round with one multiply.
    ticks_per_unit: f64,
    /// The tick (≥ 1) and the largest tick count that fits a `Px`, computed once (no
    /// division per price).
    tick: Px,
    max_ticks: f64,
    /// Last (f32 bits, price) of `Low`, `High`, `Close`: consecutive ticks mostly repeat them.
    cache: [Option<(u32, Px)>; 3],
}

impl ScidDecoder {
    /// A decoder with no quote seen yet.
    pub fn new(opts: ScidOptions) -> Self {
        let tick = opts.tick.max(1);
        Self {
            opts,
            bid: UNDEF_PX,
            ask: UNDEF_PX,
            open_group: false,
            last_ts: 0,
            bars_skipped: 0,
            ticks_per_unit: mia_model::price::PRICE_SCALE as f64 / tick as f64,
            tick,
            max_ticks: i64::MAX as f64 / tick as f64,
            cache: [None; 3],
        }
    }

    /// Bar records skipped ([`ScidOptions::skip_bars`]).
    pub fn bars_skipped(&self) -> u64 {
        self.bars_skipped
    }

    /// True inside an unbundled trade whose last sub-trade has not been read yet.
    pub fn in_unbundled_trade(&self) -> bool {
        self.open_group
    }

    /// A price field (`slot` 0 Low, 1 High, 2 Close): `None` for 0 when `zero_is_none`, else
    /// checked and rounded to the tick (the nearest tick of `v × multiplier`).
    #[inline]
    fn price(&mut self, slot: usize, v: f32, field: &str, zero_is_none: bool) -> Result<Option<Px>, String> {
        if v == 0.0 && zero_is_none {
            return Ok(None);
        }
        let bits = v.to_bits();
        if let Some(Some((b, px))) = self.cache.get(slot) {
            if *b == bits {
                return Ok(Some(*px));
            }
        }
        let p = f64::from(v) * self.opts.price_multiplier;
        if !p.is_finite() || p <= 0.0 || p >= self.opts.max_price {
            return Err(format!("{field} price {v} is not a valid price"));
        }
        let x = p * self.ticks_per_unit;
        if x + 0.5 >= self.max_ticks {
            return Err(format!("{field} price {v} is out of range"));
        }
        // Nearest tick, halves up: `x > 0`, so the truncating conversion of `x + 0.5` is its
        // floor (one instruction, where `f64::round` is a libm call on baseline x86-64).
        let px = (x + 0.5) as i64 * self.tick;
        if let Some(c) = self.cache.get_mut(slot) {
            *c = Some((bits, px));
        }
        Ok(Some(px))
    }

    /// Appends the events of `rec` to `out` (not cleared; any capacity, e.g. an
    /// [`EventBuf`](crate::normalize::EventBuf)).
    ///
    /// # Errors
    /// A bar record (unless skipped), a bad timestamp, a bad price; the reason names the
    /// field.
    #[inline]
    pub fn decode<const N: usize>(
        &mut self,
        rec: &ScidRecord,
        out: &mut FixedVec<Event, N>,
    ) -> Result<(), String> {
        if !rec.is_tick() {
            if self.opts.skip_bars {
                self.bars_skipped += 1;
                return Ok(());
            }
            return Err(format!(
                "aggregated bar record (Open = {}): only tick-by-tick files can be replayed \
                 (Sierra Chart: Intraday Data Storage Time Unit = 1 tick), or skip bars",
                rec.open
            ));
        }
        let ts = sc_datetime_to_unix_ns(rec.date_time)
            .ok_or_else(|| format!("DateTime {} is outside 1970..2200", rec.date_time))?;
        let bid = self.price(0, rec.low, "bid (Low)", true)?;
        let ask = self.price(1, rec.high, "ask (High)", true)?;
        let stamp =
            Event { ts_event: ts, ts_recv: ts, instrument_id: self.opts.instrument_id, ..Event::default() };
        let before = out.len();
        if let Some(b) = bid.filter(|&b| b != self.bid) {
            self.bid = b;
            out.push(Event { kind: EventKind::Level, side: Side::Bid, price: b, size: 1, ..stamp });
        }
        if let Some(a) = ask.filter(|&a| a != self.ask) {
            self.ask = a;
            out.push(Event { kind: EventKind::Level, side: Side::Ask, price: a, size: 1, ..stamp });
        }
        if rec.total_volume > 0 {
            let price = self.price(2, rec.close, "trade (Close)", false)?.unwrap_or(UNDEF_PX);
            let side = match (rec.bid_volume > 0, rec.ask_volume > 0) {
                (true, false) => Side::Ask,
                (false, true) => Side::Bid,
                _ => Side::None,
            };
            out.push(Event { kind: EventKind::Trade, side, price, size: rec.total_volume, ..stamp });
        }
        if rec.open == FIRST_SUB_TRADE {
            self.open_group = true;
        }
        let closes = !self.open_group || rec.open == LAST_SUB_TRADE;
        if closes {
            if out.len() > before {
                if let Some(e) = out.as_mut_slice().last_mut() {
                    e.flags |= flags::LAST;
                }
            } else if self.open_group {
                out.push(Event { kind: EventKind::Status, flags: flags::LAST, ..stamp });
            }
            self.open_group = false;
        }
        self.last_ts = ts;
        Ok(())
    }

    /// At the end of the input: closes an unbundled trade left open with a `Status` event
    /// carrying `LAST`.
    pub fn finish<const N: usize>(&mut self, out: &mut FixedVec<Event, N>) {
        if self.open_group {
            self.open_group = false;
            out.push(Event {
                ts_event: self.last_ts,
                ts_recv: self.last_ts,
                instrument_id: self.opts.instrument_id,
                kind: EventKind::Status,
                flags: flags::LAST,
                ..Event::default()
            });
        }
    }
}

/// The place string of record `idx`.
pub(crate) fn record_place(idx: u64) -> String {
    format!("record {idx} at byte offset {}", HEADER_LEN as u64 + idx * RECORD_LEN as u64)
}

/// Capacity of the event batch of [`ScidSource`]: records are decoded until fewer than
/// [`MAX_EVENTS_PER_RECORD`] slots are free, so one refill serves ~80 records.
const BATCH_EVENTS: usize = 192;

/// Events one tick record can yield (bid, ask, trade; or a `Status` closing a group).
const MAX_EVENTS_PER_RECORD: usize = 3;

/// An [`EventSource`] over a whole `.scid` file (see the module doc).
pub struct ScidSource {
    header: ScidHeader,
    reader: RecordReader<RECORD_LEN>,
    decoder: ScidDecoder,
    /// The events of many records, delivered up to `limit` (the events of a record that
    /// failed to decode are never delivered).
    events: FixedVec<Event, BATCH_EVENTS>,
    limit: usize,
    ev_pos: usize,
    eof: bool,
    /// An error met while filling the batch, returned once the events before it are out.
    error: Option<SourceError>,
}

impl std::fmt::Debug for ScidSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScidSource")
            .field("input", &self.reader.input())
            .field("record", &self.reader.records_read())
            .finish()
    }
}

impl ScidSource {
    /// Opens `path` with the default options (ES tick, bars refused).
    ///
    /// # Errors
    /// See [`ScidSource::open_with`].
    pub fn open(path: impl AsRef<Path>) -> Result<Self, SourceError> {
        Self::open_with(path, ScidOptions::default())
    }

    /// Opens `path` and validates its header.
    ///
    /// # Errors
    /// The file cannot be opened or read, or its header is invalid ([`ScidHeader::parse`]).
    pub fn open_with(path: impl AsRef<Path>, opts: ScidOptions) -> Result<Self, SourceError> {
        let input = path.as_ref().display().to_string();
        let mut file = File::open(path.as_ref())
            .map_err(|e| SourceError::new(&input, "open", format!("cannot open: {e}")))?;
        let mut head = [0u8; HEADER_LEN];
        let got = read_up_to(&mut file, &mut head)
            .map_err(|e| SourceError::new(&input, "byte offset 0", format!("read error: {e}")))?;
        let header = ScidHeader::parse(&head[..got], &input)?;
        Ok(Self {
            header,
            reader: RecordReader::new(input, file, HEADER_LEN, RECORDS_PER_READ),
            decoder: ScidDecoder::new(opts),
            events: FixedVec::new(),
            limit: 0,
            ev_pos: 0,
            eof: false,
            error: None,
        })
    }

    /// The file's header.
    pub fn header(&self) -> ScidHeader {
        self.header
    }

    /// Records decoded so far.
    pub fn records_read(&self) -> u64 {
        self.reader.records_read()
    }

    /// Bar records skipped.
    pub fn bars_skipped(&self) -> u64 {
        self.decoder.bars_skipped()
    }

    /// Decodes records into the batch until it is nearly full, the file ends or a record
    /// fails; false when nothing more will come.
    #[inline(never)]
    fn refill(&mut self) -> Result<bool, SourceError> {
        loop {
            if let Some(e) = self.error.take() {
                return Err(e);
            }
            self.events.clear();
            self.ev_pos = 0;
            self.limit = 0;
            if self.eof {
                return Ok(false);
            }
            while self.events.len() + MAX_EVENTS_PER_RECORD <= BATCH_EVENTS {
                match self.reader.next_record() {
                    Ok(Some((idx, raw))) => {
                        let before = self.events.len();
                        if let Err(reason) =
                            self.decoder.decode(&ScidRecord::from_bytes(&raw), &mut self.events)
                        {
                            self.limit = before;
                            self.error = Some(self.reader.error(idx, reason));
                            break;
                        }
                    }
                    Ok(None) => {
                        self.eof = true;
                        self.decoder.finish(&mut self.events);
                        break;
                    }
                    Err(e) => {
                        // A read error or a truncated tail: every record before it is whole.
                        self.limit = self.events.len();
                        self.error = Some(e);
                        break;
                    }
                }
            }
            if self.error.is_none() {
                self.limit = self.events.len();
            }
            if self.limit > 0 {
                return Ok(true);
            }
        }
    }
}

impl EventSource for ScidSource {
    fn describe(&self) -> &str {
        self.reader.input()
    }

    #[inline]
    fn next_event(&mut self) -> Result<Option<Event>, SourceError> {
        if self.ev_pos >= self.limit && !self.refill()? {
            return Ok(None);
        }
        let e = self.events.as_slice().get(self.ev_pos).copied();
        self.ev_pos += 1;
        Ok(e)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::normalize::EventBuf;
    use std::io::Write;

    /// SCDateTimeMS of a UTC time on 2023-02-21 (the date of the public sample).
    pub(crate) fn at(h: i64, m: i64, s: i64, us: i64) -> i64 {
        // 2023-02-21 is 19 409 days after 1970-01-01.
        SC_EPOCH_TO_UNIX_US + ((19_409 * 86_400 + h * 3600 + m * 60 + s) * 1_000_000 + us)
    }

    fn tick(dt: i64, open: f32, ask: f32, bid: f32, close: f32, bv: u32, av: u32) -> ScidRecord {
        ScidRecord {
            date_time: dt,
            open,
            high: ask,
            low: bid,
            close,
            num_trades: 1,
            total_volume: 1,
            bid_volume: bv,
            ask_volume: av,
        }
    }

    /// The 10 records of the public ES June 2023 sample (`test.scid` of seandunaway/scid),
    /// rebuilt from their decoded values (research §4.3), not copied.
    pub(crate) fn sample_records() -> Vec<ScidRecord> {
        vec![
            tick(at(20, 37, 19, 26_000), 0.0, 4048.75, 4048.0, 4048.0, 1, 0),
            tick(at(20, 37, 43, 699_000), 0.0, 4048.25, 4048.0, 4048.0, 1, 0),
            tick(at(20, 37, 50, 544_000), 0.0, 4048.25, 4047.5, 4047.5, 1, 0),
            tick(at(20, 38, 2, 105_000), FIRST_SUB_TRADE, 4048.25, 4047.75, 4047.75, 1, 0),
            tick(at(20, 38, 2, 105_001), LAST_SUB_TRADE, 4048.25, 4047.75, 4047.75, 1, 0),
            tick(at(20, 38, 12, 208_000), 0.0, 4048.5, 4048.0, 4048.0, 1, 0),
            tick(at(20, 39, 10, 708_000), 0.0, 4047.0, 4046.5, 4047.0, 0, 1),
            tick(at(20, 40, 28, 608_000), 0.0, 4048.0, 4047.5, 4048.0, 0, 1),
            tick(at(20, 40, 52, 682_000), 0.0, 4049.0, 4048.5, 4048.5, 1, 0),
            tick(at(20, 40, 52, 682_001), 0.0, 4049.0, 4048.5, 4048.25, 1, 0),
        ]
    }

    pub(crate) fn file_bytes(records: &[ScidRecord]) -> Vec<u8> {
        let mut v = ScidHeader::encode().to_vec();
        for r in records {
            v.extend_from_slice(&r.to_bytes());
        }
        v
    }

    fn write(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let p = dir.path().join(name);
        let mut f = File::create(&p).expect("create");
        f.write_all(bytes).expect("write");
        p
    }

    fn drain(src: &mut dyn EventSource) -> Result<Vec<Event>, SourceError> {
        let mut v = Vec::new();
        while let Some(e) = src.next_event()? {
            v.push(e);
        }
        Ok(v)
    }

    const fn px(v: f64) -> Px {
        (v * 1e9) as Px
    }

    #[test]
    fn the_public_sample_rebuilt_reads_back_exactly() {
        let d = tempfile::tempdir().expect("tmp");
        let bytes = file_bytes(&sample_records());
        assert_eq!(bytes.len(), 456, "56 + 10 × 40, the size of the public file");
        let p = write(&d, "ESM23.scid", &bytes);
        let mut src = ScidSource::open(&p).expect("open");
        assert_eq!(src.header(), ScidHeader { version: 1, utc_start_index: 0 });
        let ev = drain(&mut src).expect("read");
        assert_eq!(src.records_read(), 10);
        let trades: Vec<_> = ev.iter().filter(|e| e.kind == EventKind::Trade).collect();
        assert_eq!(trades.len(), 10);
        let t0 = 1_677_011_839_026_000_000u64; // 2023-02-21 20:37:19.026 UTC
        assert_eq!(trades[0].ts_event, t0);
        assert_eq!(trades[0].ts_recv, t0);
        assert_eq!((trades[0].price, trades[0].size, trades[0].side), (px(4048.0), 1, Side::Ask));
        assert_eq!(trades[6].side, Side::Bid, "volume at the ask: buyer aggressor");
        assert_eq!(trades[9].price, px(4048.25), "a print between bid and ask is kept");
        assert_eq!(trades[4].ts_event - trades[3].ts_event, 1_000, "+1 µs sub-trade");
        // The first record: bid, ask, trade; LAST on the trade only.
        let first: Vec<_> = ev[..3].iter().map(|e| (e.kind, e.side, e.price, e.is_last())).collect();
        assert_eq!(
            first,
            vec![
                (EventKind::Level, Side::Bid, px(4048.0), false),
                (EventKind::Level, Side::Ask, px(4048.75), false),
                (EventKind::Trade, Side::Ask, px(4048.0), true),
            ]
        );
        // The unbundled pair is one exchange event: no LAST on the first sub-trade.
        assert!(!trades[3].is_last() && trades[4].is_last());
        let lasts = ev.iter().filter(|e| e.is_last()).count();
        assert_eq!(lasts, 9, "10 trades, the unbundled pair counts once");
        // Unchanged quotes are not repeated (record 2 repeats record 1's bid).
        assert_eq!(ev.iter().filter(|e| e.kind == EventKind::Level).count(), 13);
    }

    #[test]
    fn header_and_truncation_errors_name_the_file_and_offset() {
        let d = tempfile::tempdir().expect("tmp");
        let good = file_bytes(&sample_records());
        let cases: Vec<(&str, Vec<u8>, &str, &str)> = vec![
            ("garbage.scid", b"hello world, not a file".to_vec(), "byte offset 0", "SCID"),
            ("short.scid", good[..30].to_vec(), "byte offset 30", "truncated header"),
            (
                "hdr.scid",
                {
                    let mut b = good.clone();
                    b[4] = 60;
                    b
                },
                "byte offset 4",
                "header size 60",
            ),
            (
                "rec.scid",
                {
                    let mut b = good.clone();
                    b[8] = 44;
                    b
                },
                "byte offset 8",
                "record size 44",
            ),
        ];
        for (name, bytes, place, reason) in cases {
            let p = write(&d, name, &bytes);
            let e = ScidSource::open(&p).expect_err(name);
            assert!(e.input.ends_with(name), "{e}");
            assert_eq!(e.place, place, "{e}");
            assert!(e.reason.contains(reason), "{e}");
        }
        // A record cut short: everything before it is read, then the error names record 3.
        let p = write(&d, "cut.scid", &good[..HEADER_LEN + 3 * RECORD_LEN + 17]);
        let mut src = ScidSource::open(&p).expect("header is fine");
        let mut n = 0;
        let e = loop {
            match src.next_event() {
                Ok(Some(_)) => n += 1,
                Ok(None) => panic!("a truncated file must not end cleanly"),
                Err(e) => break e,
            }
        };
        assert_eq!(n, 7, "the events of the 3 whole records come first");
        assert_eq!(e.place, "record 3 at byte offset 176", "{e}");
        assert!(e.reason.contains("17 bytes into"), "{e}");
        assert!(e.input.ends_with("cut.scid"));
    }

    #[test]
    fn bad_prices_and_bars_are_errors_naming_the_record() {
        let d = tempfile::tempdir().expect("tmp");
        let mut recs = sample_records();
        recs[2].close = f32::NAN;
        let p = write(&d, "nan.scid", &file_bytes(&recs));
        let e = drain(&mut ScidSource::open(&p).expect("open")).expect_err("NaN");
        assert_eq!(e.place, "record 2 at byte offset 136");
        assert!(e.reason.contains("trade (Close)"), "{e}");

        let mut recs = sample_records();
        recs[1].high = 3.0e9;
        let p = write(&d, "absurd.scid", &file_bytes(&recs));
        let e = drain(&mut ScidSource::open(&p).expect("open")).expect_err("absurd");
        assert!(e.reason.contains("ask (High)") && e.place.starts_with("record 1 "), "{e}");

        let mut recs = sample_records();
        recs[0].date_time = 5;
        let p = write(&d, "old.scid", &file_bytes(&recs));
        let e = drain(&mut ScidSource::open(&p).expect("open")).expect_err("1899");
        assert!(e.reason.contains("DateTime"), "{e}");

        let mut recs = sample_records();
        recs[5].open = 4048.0; // an OHLC bar
        let p = write(&d, "bars.scid", &file_bytes(&recs));
        let e = drain(&mut ScidSource::open(&p).expect("open")).expect_err("bar");
        assert!(e.reason.contains("aggregated bar") && e.place.starts_with("record 5 "), "{e}");
        let opts = ScidOptions { skip_bars: true, ..ScidOptions::default() };
        let mut src = ScidSource::open_with(&p, opts).expect("open");
        let ev = drain(&mut src).expect("bars skipped");
        assert_eq!(src.bars_skipped(), 1);
        assert_eq!(ev.iter().filter(|e| e.kind == EventKind::Trade).count(), 9);
    }

    /// The batch of events decoded ahead (many records per refill) never leaks past an error:
    /// the events of every record before a bad one are delivered, none of the bad record's,
    /// then the error; equal to decoding the good records one by one.
    #[test]
    fn a_bad_record_deep_in_a_batch_ends_the_stream_after_the_records_before_it() {
        let d = tempfile::tempdir().expect("tmp");
        let mut recs = Vec::new();
        for k in 0..1_000i64 {
            let bid = 4000.0 + (k % 9) as f32 * 0.25;
            recs.push(tick(at(14, 0, 0, k * 1000), 0.0, bid + 0.25, bid, bid + 0.25, 0, 1));
        }
        let bad = 997;
        recs[bad].close = f32::INFINITY;
        let p = write(&d, "deep.scid", &file_bytes(&recs));
        let mut src = ScidSource::open(&p).expect("open");
        let mut got = Vec::new();
        let e = loop {
            match src.next_event() {
                Ok(Some(ev)) => got.push(ev),
                Ok(None) => panic!("the bad record must stop the stream"),
                Err(e) => break e,
            }
        };
        assert!(e.place.starts_with(&format!("record {bad} ")) && e.reason.contains("trade (Close)"), "{e}");
        let mut dec = ScidDecoder::new(ScidOptions::default());
        let mut want = Vec::new();
        for r in &recs[..bad] {
            let mut out = EventBuf::new();
            dec.decode(r, &mut out).expect("good record");
            want.extend(out.iter().copied());
        }
        assert_eq!(got.len(), want.len());
        assert!(got == want, "the events before the bad record, exactly");
    }

    #[test]
    fn off_tick_prices_round_and_an_open_group_is_closed_at_the_end() {
        let mut dec = ScidDecoder::new(ScidOptions::default());
        let mut out = EventBuf::new();
        let r = tick(at(1, 0, 0, 0), FIRST_SUB_TRADE, 4000.3, 4000.1, 4000.2, 1, 0);
        dec.decode(&r, &mut out).expect("decode");
        let prices: Vec<_> = out.iter().map(|e| e.price).collect();
        assert_eq!(prices, vec![px(4000.0), px(4000.25), px(4000.25)]);
        assert!(out.iter().all(|e| !e.is_last()) && dec.in_unbundled_trade());
        out.clear();
        dec.finish(&mut out);
        assert_eq!(
            (out.len(), out.as_slice()[0].kind, out.as_slice()[0].is_last()),
            (1, EventKind::Status, true)
        );
        assert_eq!(
            sc_datetime_to_unix_ns(unix_ns_to_sc_datetime(1_677_011_839_026_000_000)),
            Some(1_677_011_839_026_000_000)
        );
        assert_eq!(sc_datetime_to_unix_ns(SC_EPOCH_TO_UNIX_US - 1), None);
        assert_eq!(sc_datetime_to_unix_ns(i64::MAX), None);
    }

    #[test]
    fn an_empty_file_after_the_header_ends_cleanly_and_reads_span_buffers() {
        let d = tempfile::tempdir().expect("tmp");
        let p = write(&d, "empty.scid", &ScidHeader::encode());
        assert_eq!(drain(&mut ScidSource::open(&p).expect("open")).expect("read"), vec![]);
        // More records than one buffer: the count and the order survive the refills.
        let base = sample_records();
        let recs: Vec<ScidRecord> =
            (0..10_000).map(|i| ScidRecord { date_time: at(0, 0, 0, i), ..base[i as usize % 10] }).collect();
        let p = write(&d, "big.scid", &file_bytes(&recs));
        let mut src = ScidSource::open(&p).expect("open");
        let ev = drain(&mut src).expect("read");
        assert_eq!(src.records_read(), 10_000);
        let ts: Vec<_> = ev.iter().filter(|e| e.kind == EventKind::Trade).map(|e| e.ts_event).collect();
        assert_eq!(ts.len(), 10_000);
        assert!(ts.windows(2).all(|w| w[0] < w[1]));
    }
}
