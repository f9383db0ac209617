//! Writing MBP-10 records as a standard DBN file (current DBN version, uncompressed), readable by
//! Databento's own tools: the `dbn` crate's encoder writes the metadata and the records.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::num::NonZeroU64;
use std::path::Path;

use dbn::encode::{DbnEncoder, EncodeRecord};
use dbn::{rtype, MappingInterval, Mbp10Msg, Metadata, SType, Schema, SymbolMapping};
use mia_runtime::source::SourceError;

const NS_PER_DAY: u64 = 86_400_000_000_000;

/// The UTC calendar date of `ns` nanoseconds since the UNIX epoch.
fn utc_date(ns: u64) -> Result<time::Date, String> {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ns))
        .map(|t| t.date())
        .map_err(|e| format!("timestamp {ns} out of range: {e}"))
}

/// Writes `records` to a new DBN file at `path` (schema `mbp-10`, `stype_in` raw symbol,
/// `stype_out` instrument id, `symbol` mapped to `instrument_id` over the UTC dates covering
/// `start_ns..end_ns`). Returns the number of records written.
///
/// # Errors
/// `end_ns < start_ns`, a record that is not a well-formed MBP-10 record (its `hd.rtype` or
/// `hd.length` is wrong), a metadata field the format cannot hold (e.g. a dataset longer than
/// 16 bytes), or an I/O error; the error names the path and the record index.
pub fn write_mbp10_dbn(
    path: impl AsRef<Path>,
    dataset: &str,
    symbol: &str,
    instrument_id: u32,
    start_ns: u64,
    end_ns: u64,
    records: impl Iterator<Item = Mbp10Msg>,
) -> Result<u64, SourceError> {
    let path = path.as_ref();
    let input = path.display().to_string();
    let err = |place: &str, reason: String| SourceError::new(input.clone(), place, reason);
    if end_ns < start_ns {
        return Err(err("metadata", format!("end {end_ns} is before start {start_ns}")));
    }
    let start_date = utc_date(start_ns).map_err(|e| err("metadata", e))?;
    // The mapping's end date is exclusive: the day after the last covered instant.
    let end_date = utc_date(end_ns.saturating_sub(1).max(start_ns))
        .map_err(|e| err("metadata", e))?
        .next_day()
        .ok_or_else(|| err("metadata", "end date out of range".into()))?;
    debug_assert!(end_ns < u64::MAX - NS_PER_DAY || end_date > start_date);
    let metadata = Metadata::builder()
        .dataset(dataset)
        .schema(Some(Schema::Mbp10))
        .start(start_ns)
        .end(NonZeroU64::new(end_ns))
        .stype_in(Some(SType::RawSymbol))
        .stype_out(SType::InstrumentId)
        .symbols(vec![symbol.to_string()])
        .mappings(vec![SymbolMapping {
            raw_symbol: symbol.to_string(),
            intervals: vec![MappingInterval { start_date, end_date, symbol: instrument_id.to_string() }],
        }])
        .build();
    let file = File::create(path).map_err(|e| err("create", format!("cannot create: {e}")))?;
    let mut enc = DbnEncoder::new(BufWriter::new(file), &metadata)
        .map_err(|e| err("metadata", format!("cannot encode metadata: {e}")))?;
    let want_len = std::mem::size_of::<Mbp10Msg>();
    let mut n = 0u64;
    for rec in records {
        if rec.hd.rtype != rtype::MBP_10 || rec.hd.record_size() != want_len {
            return Err(err(
                &format!("record {n}"),
                format!(
                    "not an MBP-10 record: rtype {:#04x}, {} bytes (expected {:#04x}, {want_len} bytes)",
                    rec.hd.rtype,
                    rec.hd.record_size(),
                    rtype::MBP_10
                ),
            ));
        }
        enc.encode_record(&rec).map_err(|e| err(&format!("record {n}"), format!("cannot write: {e}")))?;
        n += 1;
    }
    enc.get_mut().flush().map_err(|e| err(&format!("record {n}"), format!("cannot write: {e}")))?;
    Ok(n)
}
