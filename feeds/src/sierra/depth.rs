//! Sierra Chart market-depth recording files (`Data/MarketDepthData/*.depth`) as an
//! [`EventSource`].
//!
//! Format (Sierra Chart documentation, "Market Depth Data File Format",
//! `doc/MarketDepthDataFileFormat.html`; little-endian):
//!
//! - header `s_MarketDepthFileHeader`, 64 bytes: `u32 FileTypeUniqueHeaderID` = 0x44444353
//!   (the bytes `"SCDD"`), `u32 HeaderSize` (64), `u32 RecordSize` (24), `u32 Version` (1),
//!   48 reserved bytes;
//! - then records `s_MarketDepthFileRecord`, 24 bytes: `SCDateTimeMS DateTime` (i64, µs since
//!   1899-12-30 UTC) @0, `u8 Command` @8, `u8 Flags` @9 (`0x01` = end of a batch of updates),
//!   `u16 NumOrders` @10, `f32 Price` @12, `u32 Quantity` @16, `u32 Reserved` @20.
//! - Commands: 1 clear the book, 2/3 add a bid/ask level, 4/5 modify a bid/ask level, 6/7
//!   delete a bid/ask level. Levels are keyed by price.
//!
//! An older revision of that page shows `double DateTime` and no `Flags`/`NumOrders` (reserved
//! bytes); such a file decodes to timestamps outside 1970..2200 and is refused with an error
//! saying so, rather than read wrongly.
//!
//! Events: the records of one batch are applied to a [`Ladder`] and the batch's changes to the
//! top 10 levels are emitted when it ends (the end-of-batch flag, a record with a new
//! timestamp when a file carries no flags, or the end of the file), the last one with
//! `LAST`; a clear becomes a `Clear` event. Prices are checked and rounded to the
//! tick like `.scid` prices. Errors name the file, the record and its byte offset.

use std::fs::File;
use std::path::Path;

use mia_model::event::{Event, Side};
use mia_model::price::{round_to_tick, Px};
use mia_runtime::source::{EventSource, SourceError};

use super::ladder::Ladder;
use super::records::{read_up_to, RecordReader};
use super::scid::{sc_datetime_to_unix_ns, ScidOptions};
use crate::normalize::EventBuf;

/// The header's magic bytes (`FileTypeUniqueHeaderID` = 0x44444353 little-endian).
pub const DEPTH_MAGIC: [u8; 4] = *b"SCDD";
/// Size of the header.
pub const DEPTH_HEADER_LEN: usize = 64;
/// Size of one record.
pub const DEPTH_RECORD_LEN: usize = 24;
/// `Flags` bit: last record of a batch.
pub const FLAG_END_OF_BATCH: u8 = 0x01;
/// Records per `read`.
const RECORDS_PER_READ: usize = 4096;

/// A depth-file command.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DepthCommand {
    /// No command (ignored).
    None = 0,
    /// Clear the whole book.
    ClearBook = 1,
    /// Add a bid level.
    AddBid = 2,
    /// Add an ask level.
    AddAsk = 3,
    /// Modify a bid level.
    ModifyBid = 4,
    /// Modify an ask level.
    ModifyAsk = 5,
    /// Delete a bid level.
    DeleteBid = 6,
    /// Delete an ask level.
    DeleteAsk = 7,
}

impl DepthCommand {
    /// Decodes the command byte.
    pub fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            0 => Self::None,
            1 => Self::ClearBook,
            2 => Self::AddBid,
            3 => Self::AddAsk,
            4 => Self::ModifyBid,
            5 => Self::ModifyAsk,
            6 => Self::DeleteBid,
            7 => Self::DeleteAsk,
            _ => return None,
        })
    }
}

/// One raw `s_MarketDepthFileRecord`.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct DepthRecord {
    /// SCDateTimeMS.
    pub date_time: i64,
    /// [`DepthCommand`] byte.
    pub command: u8,
    /// [`FLAG_END_OF_BATCH`] and reserved bits.
    pub flags: u8,
    /// Orders at the level.
    pub num_orders: u16,
    /// Level price.
    pub price: f32,
    /// Level quantity.
    pub quantity: u32,
}

impl DepthRecord {
    /// Decodes 24 bytes.
    pub fn from_bytes(b: &[u8; DEPTH_RECORD_LEN]) -> Self {
        Self {
            date_time: i64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
            command: b[8],
            flags: b[9],
            num_orders: u16::from_le_bytes([b[10], b[11]]),
            price: f32::from_le_bytes([b[12], b[13], b[14], b[15]]),
            quantity: u32::from_le_bytes([b[16], b[17], b[18], b[19]]),
        }
    }

    /// Encodes to 24 bytes (tests, fixtures).
    pub fn to_bytes(&self) -> [u8; DEPTH_RECORD_LEN] {
        let mut b = [0u8; DEPTH_RECORD_LEN];
        b[..8].copy_from_slice(&self.date_time.to_le_bytes());
        b[8] = self.command;
        b[9] = self.flags;
        b[10..12].copy_from_slice(&self.num_orders.to_le_bytes());
        b[12..16].copy_from_slice(&self.price.to_le_bytes());
        b[16..20].copy_from_slice(&self.quantity.to_le_bytes());
        b
    }
}

/// The 64 header bytes of a version-1 depth file.
pub fn encode_depth_header() -> [u8; DEPTH_HEADER_LEN] {
    let mut h = [0u8; DEPTH_HEADER_LEN];
    h[..4].copy_from_slice(&DEPTH_MAGIC);
    h[4..8].copy_from_slice(&(DEPTH_HEADER_LEN as u32).to_le_bytes());
    h[8..12].copy_from_slice(&(DEPTH_RECORD_LEN as u32).to_le_bytes());
    h[12..16].copy_from_slice(&1u32.to_le_bytes());
    h
}

/// An [`EventSource`] over a `.depth` file (see the module doc). Prices use the tick,
/// multiplier and price bound of [`ScidOptions`].
pub struct DepthSource {
    reader: RecordReader<DEPTH_RECORD_LEN>,
    opts: ScidOptions,
    ladder: Ladder,
    /// Records applied since the last emission, and their timestamp.
    pending: bool,
    pending_ts: u64,
    events: EventBuf,
    ev_pos: usize,
    eof: bool,
}

impl DepthSource {
    /// Opens `path` and validates its header.
    ///
    /// # Errors
    /// The file cannot be opened, is not a depth file, or has another header or record size.
    pub fn open(path: impl AsRef<Path>, opts: ScidOptions) -> Result<Self, SourceError> {
        let input = path.as_ref().display().to_string();
        let mut file = File::open(path.as_ref())
            .map_err(|e| SourceError::new(&input, "open", format!("cannot open: {e}")))?;
        let mut h = [0u8; DEPTH_HEADER_LEN];
        let got = read_up_to(&mut file, &mut h)
            .map_err(|e| SourceError::new(&input, "byte offset 0", format!("read error: {e}")))?;
        let err = |off: usize, r: String| SourceError::new(&input, format!("byte offset {off}"), r);
        if got < 4 || h[..4] != DEPTH_MAGIC {
            return Err(err(0, "not a Sierra Chart market depth file (no \"SCDD\" magic)".into()));
        }
        if got < DEPTH_HEADER_LEN {
            return Err(err(got, format!("truncated header: {got} of {DEPTH_HEADER_LEN} bytes")));
        }
        let u = |o: usize| u32::from_le_bytes([h[o], h[o + 1], h[o + 2], h[o + 3]]);
        if u(4) as usize != DEPTH_HEADER_LEN {
            return Err(err(4, format!("header size {}, expected {DEPTH_HEADER_LEN}", u(4))));
        }
        if u(8) as usize != DEPTH_RECORD_LEN {
            return Err(err(8, format!("record size {}, expected {DEPTH_RECORD_LEN}", u(8))));
        }
        Ok(Self {
            reader: RecordReader::new(input, file, DEPTH_HEADER_LEN, RECORDS_PER_READ),
            opts,
            ladder: Ladder::new(),
            pending: false,
            pending_ts: 0,
            events: EventBuf::new(),
            ev_pos: 0,
            eof: false,
        })
    }

    /// Records decoded so far.
    pub fn records_read(&self) -> u64 {
        self.reader.records_read()
    }

    fn price(&self, v: f32) -> Result<Px, String> {
        let p = f64::from(v) * self.opts.price_multiplier;
        if !p.is_finite() || p <= 0.0 || p >= self.opts.max_price {
            return Err(format!("Price {v} is not a valid price"));
        }
        let px = mia_model::price::from_f64(p).ok_or_else(|| format!("Price {v} is out of range"))?;
        Ok(round_to_tick(px, self.opts.tick.max(1)))
    }

    fn flush(&mut self) {
        if self.pending {
            let ts = self.pending_ts;
            self.ladder.emit(ts, ts, self.opts.instrument_id, 0, true, &mut self.events);
            self.pending = false;
        }
    }

    fn apply(&mut self, r: &DepthRecord) -> Result<(), String> {
        let ts = sc_datetime_to_unix_ns(r.date_time).ok_or_else(|| {
            format!(
                "DateTime {} is outside 1970..2200 (a file of the older layout with a double \
                 DateTime is not supported)",
                r.date_time
            )
        })?;
        if self.pending && ts != self.pending_ts {
            self.flush();
        }
        let cmd = DepthCommand::from_u8(r.command).ok_or_else(|| format!("unknown Command {}", r.command))?;
        let count = u32::from(r.num_orders);
        match cmd {
            DepthCommand::None => {}
            DepthCommand::ClearBook => self.ladder.clear(),
            DepthCommand::AddBid | DepthCommand::ModifyBid => {
                let p = self.price(r.price)?;
                self.ladder.set(Side::Bid, p, r.quantity, count);
            }
            DepthCommand::AddAsk | DepthCommand::ModifyAsk => {
                let p = self.price(r.price)?;
                self.ladder.set(Side::Ask, p, r.quantity, count);
            }
            DepthCommand::DeleteBid => {
                let p = self.price(r.price)?;
                self.ladder.delete(Side::Bid, p);
            }
            DepthCommand::DeleteAsk => {
                let p = self.price(r.price)?;
                self.ladder.delete(Side::Ask, p);
            }
        }
        self.pending = true;
        self.pending_ts = ts;
        if r.flags & FLAG_END_OF_BATCH != 0 {
            self.flush();
        }
        Ok(())
    }
}

impl EventSource for DepthSource {
    fn describe(&self) -> &str {
        self.reader.input()
    }

    fn next_event(&mut self) -> Result<Option<Event>, SourceError> {
        loop {
            if let Some(e) = self.events.get(self.ev_pos) {
                self.ev_pos += 1;
                return Ok(Some(e));
            }
            self.events.clear();
            self.ev_pos = 0;
            if self.eof {
                return Ok(None);
            }
            let Some((idx, raw)) = self.reader.next_record()? else {
                self.eof = true;
                self.flush();
                continue;
            };
            let rec = DepthRecord::from_bytes(&raw);
            if let Err(reason) = self.apply(&rec) {
                return Err(self.reader.error(idx, reason));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::scid::SC_EPOCH_TO_UNIX_US;
    use super::*;
    use mia_model::event::EventKind;
    use mia_model::price::UNDEF_PX;

    fn rec(t: i64, command: DepthCommand, flags: u8, price: f32, quantity: u32) -> DepthRecord {
        DepthRecord {
            date_time: SC_EPOCH_TO_UNIX_US + 1_700_000_000_000_000 + t,
            command: command as u8,
            flags,
            num_orders: 2,
            price,
            quantity,
        }
    }

    fn file(records: &[DepthRecord]) -> Vec<u8> {
        let mut v = encode_depth_header().to_vec();
        for r in records {
            v.extend_from_slice(&r.to_bytes());
        }
        v
    }

    fn drain(src: &mut DepthSource) -> Result<Vec<Event>, SourceError> {
        let mut v = Vec::new();
        while let Some(e) = src.next_event()? {
            v.push(e);
        }
        Ok(v)
    }

    #[test]
    fn batches_become_depth_indexed_levels() {
        use DepthCommand::*;
        let recs = [
            rec(0, ClearBook, 0, 0.0, 0),
            rec(0, AddBid, 0, 4000.0, 10),
            rec(0, AddBid, 0, 3999.75, 20),
            rec(0, AddAsk, FLAG_END_OF_BATCH, 4000.25, 5),
            rec(1, AddBid, FLAG_END_OF_BATCH, 4000.0, 12),
            rec(2, DeleteBid, FLAG_END_OF_BATCH, 4000.0, 0),
            // No flags: the batch ends at the next timestamp and at the end of the file.
            rec(3, ModifyAsk, 0, 4000.25, 6),
            rec(4, AddAsk, 0, 4000.5, 1),
        ];
        let d = tempfile::tempdir().expect("tmp");
        let p = d.path().join("ESH6_FUT_CME.2026-01-02.depth");
        std::fs::write(&p, file(&recs)).expect("write");
        let mut src = DepthSource::open(&p, ScidOptions::default()).expect("open");
        let ev = drain(&mut src).expect("read");
        let px = |v: f64| (v * 1e9) as Px;
        let got: Vec<_> =
            ev.iter().map(|e| (e.kind, e.side, e.depth, e.price, e.size, e.is_last())).collect();
        use EventKind::{Clear, Level};
        assert_eq!(
            got,
            vec![
                (Clear, Side::None, 0, 0, 0, false),
                (Level, Side::Bid, 0, px(4000.0), 10, false),
                (Level, Side::Bid, 1, px(3999.75), 20, false),
                (Level, Side::Ask, 0, px(4000.25), 5, true),
                (Level, Side::Bid, 0, px(4000.0), 12, true),
                (Level, Side::Bid, 0, px(3999.75), 20, false),
                (Level, Side::Bid, 1, UNDEF_PX, 0, true),
                (Level, Side::Ask, 0, px(4000.25), 6, true),
                (Level, Side::Ask, 1, px(4000.5), 1, true),
            ]
        );
        assert_eq!(ev[1].count, 2);
        assert_eq!(src.records_read(), 8);
    }

    #[test]
    fn bad_files_are_errors_naming_file_and_offset() {
        let d = tempfile::tempdir().expect("tmp");
        let good =
            file(&[rec(0, DepthCommand::AddBid, 1, 4000.0, 1), rec(1, DepthCommand::AddAsk, 1, 4000.25, 1)]);
        let p = d.path().join("g.depth");
        std::fs::write(&p, b"SCID....").expect("write");
        let e = DepthSource::open(&p, ScidOptions::default()).err().expect("magic");
        assert!(e.place == "byte offset 0" && e.input.ends_with("g.depth"), "{e}");
        std::fs::write(&p, &good[..40]).expect("write");
        let e = DepthSource::open(&p, ScidOptions::default()).err().expect("short");
        assert_eq!(e.place, "byte offset 40");
        std::fs::write(&p, &good[..good.len() - 5]).expect("write");
        let mut src = DepthSource::open(&p, ScidOptions::default()).expect("open");
        let e = drain(&mut src).expect_err("truncated");
        assert_eq!(e.place, "record 1 at byte offset 88", "{e}");
        let mut bad = good.clone();
        bad[DEPTH_HEADER_LEN + 8] = 9;
        std::fs::write(&p, &bad).expect("write");
        let e = drain(&mut DepthSource::open(&p, ScidOptions::default()).expect("open")).expect_err("cmd");
        assert!(e.reason.contains("Command 9") && e.place.starts_with("record 0 "), "{e}");
        let mut old = good;
        old[DEPTH_HEADER_LEN..DEPTH_HEADER_LEN + 8].copy_from_slice(&45_000.5f64.to_le_bytes());
        std::fs::write(&p, &old).expect("write");
        let e = drain(&mut DepthSource::open(&p, ScidOptions::default()).expect("open")).expect_err("old");
        assert!(e.reason.contains("older layout"), "{e}");
    }
}
