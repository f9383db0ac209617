//! Writing MBP-10 records as a standard DBN file (current DBN version, uncompressed), readable by
//! Databento's own tools: the `dbn` crate's encoder writes the metadata and the records.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::num::NonZeroU64;
use std::path::Path;

use dbn::encode::{DbnEncoder, EncodeRecord};
use dbn::{rtype, HasRType, MappingInterval, MboMsg, Mbp10Msg, Metadata, SType, Schema, SymbolMapping};
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
    let span = Span { dataset, symbol, instrument_id, start_ns, end_ns };
    write_dbn(path.as_ref(), Schema::Mbp10, "an MBP-10", rtype::MBP_10, &span, records)
}

/// Writes MBO `records` to a new DBN file at `path` (schema `mbo`; otherwise as
/// [`write_mbp10_dbn`]).
///
/// # Errors
/// As [`write_mbp10_dbn`], for MBO records.
pub fn write_mbo_dbn(
    path: impl AsRef<Path>,
    dataset: &str,
    symbol: &str,
    instrument_id: u32,
    start_ns: u64,
    end_ns: u64,
    records: impl Iterator<Item = MboMsg>,
) -> Result<u64, SourceError> {
    let span = Span { dataset, symbol, instrument_id, start_ns, end_ns };
    write_dbn(path.as_ref(), Schema::Mbo, "an MBO", rtype::MBO, &span, records)
}

/// What the metadata of a written file says.
struct Span<'a> {
    dataset: &'a str,
    symbol: &'a str,
    instrument_id: u32,
    start_ns: u64,
    end_ns: u64,
}

fn write_dbn<R: HasRType + dbn::encode::DbnEncodable>(
    path: &Path,
    schema: Schema,
    label: &str,
    want_rtype: u8,
    span: &Span<'_>,
    records: impl Iterator<Item = R>,
) -> Result<u64, SourceError> {
    let Span { dataset, symbol, instrument_id, start_ns, end_ns } = *span;
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
        .schema(Some(schema))
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
    let want_len = std::mem::size_of::<R>();
    let mut n = 0u64;
    for rec in records {
        let (raw, size) = (dbn::Record::raw_rtype(&rec), dbn::Record::record_size(&rec));
        if raw != u16::from(want_rtype) || size != want_len {
            return Err(err(
                &format!("record {n}"),
                format!(
                    "not {label} record: rtype {raw:#04x}, {size} bytes (expected {want_rtype:#04x}, {want_len} bytes)"
                ),
            ));
        }
        enc.encode_record(&rec).map_err(|e| err(&format!("record {n}"), format!("cannot write: {e}")))?;
        n += 1;
    }
    enc.get_mut().flush().map_err(|e| err(&format!("record {n}"), format!("cannot write: {e}")))?;
    Ok(n)
}
