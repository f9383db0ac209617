//! Parser of the Cboe delayed-quotes option-chain download (CSV).
//!
//! Layout (see `shared/data/README.md`):
//!
//! ```text
//! <blank line>
//! Standard & Poors 500 Index,Last: 4500.5298,Change:  23.0898
//! "Date: February 5 2022, 8:09 PM EST",Bid: 4420.5,Ask: 4615.4302,Size: 1*1,Volume: 0
//! Expiration Date,Calls,Last Sale,Net,Bid,Ask,Volume,IV,Delta,Gamma,Open Interest,Strike,Puts,…
//! Mon Feb 07 2022,SPXW220207C02400000,0,0,2087.8,2102.6,0,4.285,0.9999,0,0,2400.00,SPXW220207P…
//! ```
//!
//! - The date line's wording varies between downloads ("February 5 2022, 8:09 PM EST",
//!   "June 11, 2022, 8:47 PM EDT", "January 7, 2024 at 10:52 AM EST"); all are accepted. The
//!   quote time becomes the chain's valuation time in UTC ns (EST = UTC−5, EDT = UTC−4; without a
//!   zone, New York time by the US DST rule).
//! - The root (SPX: AM-settled monthlies, SPXW: PM-settled) comes from the option symbol
//!   `ROOT YYMMDD C|P strike×1000 (8 digits)`, which must agree with the row's expiration,
//!   strike and side.
//! - A malformed data row is skipped and reported with its line number and reason; a file that
//!   is not in this layout (missing spot line, date line or header) is refused with an error
//!   naming the file and line.
//! - After parsing, [`Chain::compute_model`] fills each option's IV (the file's, or solved from
//!   the mid when the file's is missing or zero) and BSM greeks.

use std::path::Path;

use mia_model::time::calendar::{self, Date};
use mia_options::bsm::OptionKind;
use mia_options::chain::{Chain, ChainRow, ModelParams, Quote, Root};

/// The column header of the quote table.
pub const HEADER: [&str; 22] = [
    "Expiration Date",
    "Calls",
    "Last Sale",
    "Net",
    "Bid",
    "Ask",
    "Volume",
    "IV",
    "Delta",
    "Gamma",
    "Open Interest",
    "Strike",
    "Puts",
    "Last Sale",
    "Net",
    "Bid",
    "Ask",
    "Volume",
    "IV",
    "Delta",
    "Gamma",
    "Open Interest",
];

/// A file that could not be read or is not in the Cboe layout.
#[derive(Debug, thiserror::Error)]
pub enum CboeError {
    /// The file could not be read.
    #[error("{file}: cannot read: {err}")]
    Io {
        /// File name.
        file: String,
        /// Underlying error.
        err: std::io::Error,
    },
    /// The file is not in the Cboe quote-table layout.
    #[error("{file}:{line}: {reason}")]
    Layout {
        /// File name.
        file: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
}

/// A data row that was skipped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkippedRow {
    /// 1-based line number.
    pub line: usize,
    /// Why it was skipped.
    pub reason: String,
}

/// The result of parsing one file.
#[derive(Clone, Debug)]
pub struct ParsedChain {
    /// The chain, with the model quantities computed.
    pub chain: Chain,
    /// Malformed rows that were skipped.
    pub skipped: Vec<SkippedRow>,
    /// Options whose IV was solved from the mid because the file had none (or zero).
    pub iv_recomputed: usize,
}

/// Parses a Cboe quote-table file with the default model parameters (r = q = 0).
pub fn parse_file(path: &Path) -> Result<ParsedChain, CboeError> {
    parse_file_with(path, &ModelParams::default())
}

/// Parses a Cboe quote-table file, computing the model with `params`.
pub fn parse_file_with(path: &Path, params: &ModelParams) -> Result<ParsedChain, CboeError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|err| CboeError::Io { file: name.clone(), err })?;
    let text = match std::str::from_utf8(&bytes) {
        Ok(t) => t,
        Err(e) => {
            let line = 1 + bytes[..e.valid_up_to()].iter().filter(|&&b| b == b'\n').count();
            return Err(layout(&name, line, "not UTF-8 text".into()));
        }
    };
    parse_str(&name, text, params)
}

fn layout(file: &str, line: usize, reason: String) -> CboeError {
    CboeError::Layout { file: file.to_string(), line, reason }
}

/// Splits one CSV line into `out`, returning the number of fields (which may exceed
/// `out.len()`; extra fields are not stored). Double-quoted fields are returned without their
/// quotes.
fn split_csv<'a, const N: usize>(line: &'a str, out: &mut [&'a str; N]) -> usize {
    let b = line.as_bytes();
    let mut n = 0;
    let mut i = 0;
    loop {
        let (field, next) = if b.get(i) == Some(&b'"') {
            let start = i + 1;
            let mut j = start;
            while j < b.len() && b[j] != b'"' {
                j += 1;
            }
            let f = &line[start..j.min(b.len())];
            // Skip to the comma after the closing quote.
            let mut k = (j + 1).min(b.len());
            while k < b.len() && b[k] != b',' {
                k += 1;
            }
            (f, k)
        } else {
            let mut j = i;
            while j < b.len() && b[j] != b',' {
                j += 1;
            }
            (&line[i..j], j)
        };
        if n < N {
            out[n] = field;
        }
        n += 1;
        if next >= b.len() {
            return n;
        }
        i = next + 1;
    }
}

/// Month number from an English month name (full or 3-letter, any case).
fn month_from_name(s: &str) -> Option<u8> {
    const NAMES: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    let lower = s.to_ascii_lowercase();
    if lower.len() < 3 {
        return None;
    }
    NAMES
        .iter()
        .position(|m| {
            *m == lower
                || (lower.len() == 3 && m.starts_with(&lower))
                || (lower == "sept" && *m == "september")
        })
        .map(|i| i as u8 + 1)
}

/// Parses the quote-time line (the first CSV field of the third line, e.g.
/// `Date: January 7, 2024 at 10:52 AM EST`) into UTC ns.
pub fn parse_date_line(field: &str) -> Result<u64, String> {
    let body = field.trim();
    let body = body
        .strip_prefix("Date:")
        .or_else(|| body.strip_prefix("date:"))
        .ok_or_else(|| format!("expected the quote date line \"Date: …\", found {field:?}"))?;
    let mut tok: [&str; 8] = [""; 8];
    let mut n = 0;
    for t in body.split(|c: char| c == ',' || c.is_whitespace()).filter(|t| !t.is_empty()) {
        if t.eq_ignore_ascii_case("at") {
            continue;
        }
        if n == tok.len() {
            return Err(format!("unrecognised date line {field:?}"));
        }
        tok[n] = t;
        n += 1;
    }
    let bad = || format!("unrecognised date line {field:?}");
    if n < 4 {
        return Err(bad());
    }
    let month = month_from_name(tok[0]).ok_or_else(bad)?;
    let day: u8 = tok[1].parse().map_err(|_| bad())?;
    let year: i32 = tok[2].parse().map_err(|_| bad())?;
    let date = Date::new(year, month, day).ok_or_else(bad)?;
    let (hh, mm) = tok[3].split_once(':').ok_or_else(bad)?;
    let mut hh: u32 = hh.parse().map_err(|_| bad())?;
    let mm: u32 = mm.parse().map_err(|_| bad())?;
    let mut k = 4;
    if k < n && (tok[k].eq_ignore_ascii_case("AM") || tok[k].eq_ignore_ascii_case("PM")) {
        if !(1..=12).contains(&hh) {
            return Err(bad());
        }
        let pm = tok[k].eq_ignore_ascii_case("PM");
        hh = match (hh, pm) {
            (12, false) => 0,
            (12, true) => 12,
            (h, true) => h + 12,
            (h, false) => h,
        };
        k += 1;
    }
    if hh > 23 || mm > 59 {
        return Err(bad());
    }
    let offset = if k < n {
        let off = match tok[k].to_ascii_uppercase().as_str() {
            "EST" => -5,
            "EDT" => -4,
            "CST" => -6,
            "CDT" => -5,
            "UTC" | "GMT" => 0,
            "ET" => calendar::et_offset_hours(date, hh),
            _ => return Err(format!("unknown time zone {:?} in date line", tok[k])),
        };
        k += 1;
        off
    } else {
        calendar::et_offset_hours(date, hh)
    };
    if k != n {
        return Err(bad());
    }
    date.at_offset_ns(hh, mm, offset).ok_or_else(bad)
}

/// Parses an option symbol `ROOT YYMMDD C|P SSSSSSSS` (strike × 1000, 8 digits), e.g.
/// `SPXW220207C02400000`.
pub fn parse_symbol(sym: &str) -> Option<(Root, Date, OptionKind, f64)> {
    let sym = sym.trim();
    let split = sym.find(|c: char| c.is_ascii_digit())?;
    let (root, rest) = sym.split_at(split);
    let root = Root::parse(root)?;
    let b = rest.as_bytes();
    if b.len() != 15 || !b[..6].iter().all(u8::is_ascii_digit) || !b[7..].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let num = |s: &[u8]| s.iter().fold(0u64, |a, &d| a * 10 + u64::from(d - b'0'));
    let date = Date::new(2000 + num(&b[0..2]) as i32, num(&b[2..4]) as u8, num(&b[4..6]) as u8)?;
    let kind = match b[6] {
        b'C' => OptionKind::Call,
        b'P' => OptionKind::Put,
        _ => return None,
    };
    Some((root, date, kind, num(&b[7..]) as f64 / 1000.0))
}

/// Parses the expiration column ("Mon Feb 07 2022"; ISO "2022-02-07" also accepted).
fn parse_expiration(s: &str) -> Option<Date> {
    let s = s.trim();
    if let Some((y, rest)) = s.split_once('-') {
        let (m, d) = rest.split_once('-')?;
        return Date::new(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    }
    let mut it = s.split_whitespace();
    let (wd, mon, day, year) = (it.next()?, it.next()?, it.next()?, it.next()?);
    if it.next().is_some() {
        return None;
    }
    let d = Date::new(year.parse().ok()?, month_from_name(mon)?, day.parse().ok()?)?;
    let names = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    (names[d.weekday().index() as usize].eq_ignore_ascii_case(wd)).then_some(d)
}

fn num(s: &str, what: &str) -> Result<f64, String> {
    let t = s.trim();
    match t.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(format!("{what}: not a number: {s:?}")),
    }
}

fn opt_num(s: &str, what: &str) -> Result<Option<f64>, String> {
    if s.trim().is_empty() {
        Ok(None)
    } else {
        num(s, what).map(Some)
    }
}

fn count(s: &str, what: &str) -> Result<u64, String> {
    let t = s.trim();
    if let Ok(v) = t.parse::<u64>() {
        return Ok(v);
    }
    match t.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v < 9.0e18 => Ok(v as u64),
        _ => Err(format!("{what}: not a non-negative integer: {s:?}")),
    }
}

/// Parses the nine quote fields of one side.
fn quote(f: &[&str], side: &str) -> Result<Quote, String> {
    let non_neg = |v: f64, what: &str| {
        if v < 0.0 {
            Err(format!("{side} {what} negative: {v}"))
        } else {
            Ok(v)
        }
    };
    let q = Quote {
        last: non_neg(num(f[0], "last sale")?, "last sale")?,
        net: num(f[1], "net")?,
        bid: non_neg(num(f[2], "bid")?, "bid")?,
        ask: non_neg(num(f[3], "ask")?, "ask")?,
        volume: count(f[4], "volume")?,
        iv_src: opt_num(f[5], "IV")?,
        delta_src: opt_num(f[6], "delta")?,
        gamma_src: opt_num(f[7], "gamma")?,
        open_interest: count(f[8], "open interest")?,
        ..Quote::default()
    };
    if let Some(iv) = q.iv_src {
        non_neg(iv, "IV")?;
    }
    Ok(q)
}

/// Parses one data row.
fn data_row(f: &[&str; 22]) -> Result<ChainRow, String> {
    let expiry = parse_expiration(f[0]).ok_or_else(|| format!("bad expiration date {:?}", f[0]))?;
    let strike = num(f[11], "strike")?;
    if strike <= 0.0 {
        return Err(format!("non-positive strike {strike}"));
    }
    let (croot, cdate, ckind, cstrike) =
        parse_symbol(f[1]).ok_or_else(|| format!("bad call symbol {:?}", f[1]))?;
    let (proot, pdate, pkind, pstrike) =
        parse_symbol(f[12]).ok_or_else(|| format!("bad put symbol {:?}", f[12]))?;
    if ckind != OptionKind::Call || pkind != OptionKind::Put {
        return Err(format!("symbols {:?}/{:?} are not a call and a put", f[1], f[12]));
    }
    if croot != proot || cdate != expiry || pdate != expiry {
        return Err(format!("symbols {:?}/{:?} disagree with expiration {}", f[1], f[12], expiry));
    }
    let tol = 1e-6 * strike.max(1.0);
    if (cstrike - strike).abs() > tol || (pstrike - strike).abs() > tol {
        return Err(format!("symbols {:?}/{:?} disagree with strike {strike}", f[1], f[12]));
    }
    let call = quote(&f[2..11], "call")?;
    let put = quote(&f[13..22], "put")?;
    Ok(ChainRow { expiry, root: croot, strike, call, put })
}

/// Parses the text of a Cboe quote-table file named `file` (for messages).
pub fn parse_str(file: &str, text: &str, params: &ModelParams) -> Result<ParsedChain, CboeError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l));
    let mut fields: [&str; 22] = [""; 22];

    // Index line: "<name>,Last: <spot>,Change: <chg>".
    let (ln, index_line) = lines
        .by_ref()
        .find(|(_, l)| !l.trim().is_empty())
        .ok_or_else(|| layout(file, 1, "empty file (expected the Cboe quote-table layout)".into()))?;
    let nf = split_csv(index_line, &mut fields).min(fields.len());
    let spot = fields[..nf].iter().find_map(|f| f.trim().strip_prefix("Last:")).ok_or_else(|| {
        layout(file, ln, format!("expected \"<index>,Last: <spot>,…\", found {index_line:?}"))
    })?;
    let spot = match spot.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => v,
        _ => return Err(layout(file, ln, format!("bad spot {:?}", spot.trim()))),
    };
    let underlying = fields[0].trim().to_string();

    // Quote time.
    let (ln, date_line) =
        lines.next().ok_or_else(|| layout(file, ln + 1, "missing the \"Date: …\" line".into()))?;
    split_csv(date_line, &mut fields);
    let valuation_ts_ns = parse_date_line(fields[0]).map_err(|r| layout(file, ln, r))?;

    // Column header.
    let (ln, header) =
        lines.next().ok_or_else(|| layout(file, ln + 1, "missing the column header".into()))?;
    let nf = split_csv(header, &mut fields);
    if nf != HEADER.len() || fields.iter().zip(HEADER).any(|(a, b)| a.trim() != b) {
        return Err(layout(file, ln, format!("unexpected column header {header:?}")));
    }

    let mut rows = Vec::with_capacity(text.len() / 160);
    let mut skipped = Vec::new();
    let mut last_line = ln;
    for (ln, line) in lines {
        last_line = ln;
        if line.trim().is_empty() {
            continue;
        }
        let nf = split_csv(line, &mut fields);
        if nf != HEADER.len() {
            skipped.push(SkippedRow { line: ln, reason: format!("{nf} fields, expected {}", HEADER.len()) });
            continue;
        }
        match data_row(&fields) {
            Ok(r) => rows.push(r),
            Err(reason) => skipped.push(SkippedRow { line: ln, reason }),
        }
    }
    if rows.is_empty() {
        let reason = if skipped.is_empty() {
            "no option rows after the header".to_string()
        } else {
            format!("no valid option rows ({} malformed, first at line {})", skipped.len(), skipped[0].line)
        };
        return Err(layout(file, last_line, reason));
    }
    let mut chain = Chain { underlying, spot, valuation_ts_ns, rows };
    let iv_recomputed = chain.compute_model(params);
    Ok(ParsedChain { chain, skipped, iv_recomputed })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn ts(y: i32, m: u8, d: u8, hh: u32, mm: u32, off: i32) -> u64 {
        Date::new(y, m, d).and_then(|d| d.at_offset_ns(hh, mm, off)).unwrap_or(0)
    }

    #[test]
    fn date_line_variants() {
        assert_eq!(parse_date_line("Date: February 5 2022, 8:09 PM EST"), Ok(ts(2022, 2, 5, 20, 9, -5)));
        assert_eq!(parse_date_line("Date: June 11, 2022, 8:47 PM EDT"), Ok(ts(2022, 6, 11, 20, 47, -4)));
        assert_eq!(parse_date_line("Date: January 7, 2024 at 10:52 AM EST"), Ok(ts(2024, 1, 7, 10, 52, -5)));
        assert_eq!(parse_date_line("Date: Jan 7, 2024 at 12:05 AM"), Ok(ts(2024, 1, 7, 0, 5, -5)));
        assert_eq!(parse_date_line("Date: July 1, 2024 at 12:30 PM"), Ok(ts(2024, 7, 1, 12, 30, -4)));
        assert!(parse_date_line("Date: Smarch 7, 2024 at 10:52 AM EST").is_err());
        assert!(parse_date_line("Date: January 7, 2024 at 13:52 PM EST").is_err());
        assert!(parse_date_line("Date: January 7, 2024 at 10:52 AM PST").is_err());
        assert!(parse_date_line("February 5 2022, 8:09 PM EST").is_err());
        assert!(parse_date_line("Date: February 30 2022, 8:09 PM EST").is_err());
    }

    #[test]
    fn symbols_and_csv() {
        assert_eq!(
            parse_symbol("SPXW220207C02400000"),
            Some((Root::Spxw, Date { year: 2022, month: 2, day: 7 }, OptionKind::Call, 2400.0))
        );
        assert_eq!(
            parse_symbol("SPX261218P09200000"),
            Some((Root::Spx, Date { year: 2026, month: 12, day: 18 }, OptionKind::Put, 9200.0))
        );
        assert_eq!(parse_symbol("SPX220218P0450000"), None);
        assert_eq!(parse_symbol("NDX220218P04500000"), None);
        assert_eq!(parse_symbol("SPX220231P04500000"), None);
        assert_eq!(parse_symbol("SPX220218X04500000"), None);
        let mut f: [&str; 4] = [""; 4];
        assert_eq!(split_csv("\"Date: a, b\",Bid: 1,Ask: 2", &mut f), 3);
        assert_eq!(f[..3], ["Date: a, b", "Bid: 1", "Ask: 2"]);
        assert_eq!(split_csv("a,,b,c,d", &mut f), 5);
        assert_eq!(f, ["a", "", "b", "c"]);
        assert_eq!(parse_expiration("Thu Apr 14 2022"), Some(Date { year: 2022, month: 4, day: 14 }));
        assert_eq!(parse_expiration("Fri Apr 14 2022"), None);
    }

    const HEAD: &str = "\nStandard & Poors 500 Index,Last: 4500.5,Change: 1\n\"Date: February 5 2022, 8:09 PM EST\",Bid: 1,Ask: 2,Size: 1*1,Volume: 0\nExpiration Date,Calls,Last Sale,Net,Bid,Ask,Volume,IV,Delta,Gamma,Open Interest,Strike,Puts,Last Sale,Net,Bid,Ask,Volume,IV,Delta,Gamma,Open Interest\n";
    const GOOD: &str = "Fri Feb 18 2022,SPX220218C04500000,63.38,-5.22,63.5,64.6,3543,0.2367,0.4837,0.0023,18294,4500.00,SPX220218P04500000,73.47,-12.98,72.2,73.6,1975,0.156,-0.5161,0.0023,22346\n";

    fn write_tmp(content: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap_or_else(|e| panic!("tempfile: {e}"));
        f.write_all(content.as_bytes()).unwrap_or_else(|e| panic!("write: {e}"));
        f
    }

    #[test]
    fn skips_malformed_rows_with_line_numbers() {
        let bad_fields = "Fri Feb 18 2022,SPX220218C04500000,1,2\n";
        let bad_num = GOOD.replace("63.5,", "abc,");
        let bad_sym = GOOD.replace("SPX220218P04500000", "SPXW220218P04500000");
        let bad_strike = GOOD.replace("4500.00", "4505.00");
        let text = format!(
            "{HEAD}{GOOD}{bad_fields}\n{bad_num}{bad_sym}{bad_strike}{}",
            GOOD.replace("4500", "4600")
        );
        let f = write_tmp(&text);
        let p = parse_file(f.path()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.chain.rows.len(), 2);
        let lines: Vec<usize> = p.skipped.iter().map(|s| s.line).collect();
        assert_eq!(lines, vec![6, 8, 9, 10], "{:?}", p.skipped);
        assert!(p.skipped[1].reason.contains("bid"), "{:?}", p.skipped[1]);
        assert_eq!(p.chain.spot, 4500.5);
        assert_eq!(p.chain.valuation_ts_ns, ts(2022, 2, 5, 20, 9, -5));
        let r = &p.chain.rows[0];
        assert_eq!((r.root, r.strike, r.call.open_interest, r.put.volume), (Root::Spx, 4500.0, 18294, 1975));
        assert_eq!(r.put.gamma_src, Some(0.0023));
        assert_eq!(r.call.iv, Some(0.2367));
        assert!(r.call.greeks.is_some());
    }

    #[test]
    fn refuses_files_not_in_the_layout() {
        let cases: [(String, usize, &str); 6] = [
            (String::new(), 1, "empty"),
            ("a,b,c\n1,2,3\n".into(), 1, "Last:"),
            (HEAD.replace("\"Date: February 5 2022, 8:09 PM EST\"", "\"Date: tomorrow\""), 3, "date line"),
            (HEAD.replace("Open Interest,Strike", "OI,Strike"), 4, "column header"),
            (HEAD.to_string(), 4, "no option rows"),
            (format!("{HEAD}garbage\n"), 5, "no valid option rows"),
        ];
        for (text, line, what) in cases {
            let f = write_tmp(&text);
            let name = f.path().display().to_string();
            match parse_file(f.path()) {
                Err(CboeError::Layout { file, line: l, reason }) => {
                    assert_eq!(file, name);
                    assert_eq!(l, line, "{what}: {reason}");
                    assert!(reason.contains(what), "{what}: {reason}");
                    let msg = CboeError::Layout { file, line: l, reason }.to_string();
                    assert!(msg.starts_with(&format!("{name}:{line}: ")), "{msg}");
                }
                other => panic!("{what}: expected a layout error, got {other:?}"),
            }
        }
        let missing = parse_file(Path::new("/nonexistent/file.csv"));
        assert!(matches!(missing, Err(CboeError::Io { .. })));
        let bin = write_tmp("\u{0}");
        std::fs::write(bin.path(), [0xff, 0xfe, 0x00]).unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(parse_file(bin.path()), Err(CboeError::Layout { line: 1, .. })));
    }

    #[test]
    fn recomputes_missing_iv_from_mid() {
        let row = GOOD.replace(",0.2367,", ",0,").replace(",0.156,", ",,");
        let f = write_tmp(&format!("{HEAD}{row}"));
        let p = parse_file(f.path()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.iv_recomputed, 2);
        let r = &p.chain.rows[0];
        assert!(r.call.iv_from_mid && r.put.iv_from_mid);
        let g = r.call.greeks.unwrap_or_default();
        assert!((g.price - 64.05).abs() < 1e-6, "{g:?}");
        assert_eq!(r.put.iv_src, None);
        assert_eq!(r.call.iv_src, Some(0.0));
    }
}
