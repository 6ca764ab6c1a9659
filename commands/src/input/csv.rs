//! What every CSV import shares: a header checked against the known columns (names matched
//! ignoring case), lines numbered as a text editor numbers them (counting every `\n`, so CRLF
//! endings, blank lines, `#` comment lines and a byte-order mark shift nothing), and record
//! errors turned into `line N: row: …`. Public for the market data adapters of `workers`
//! that read CSV bodies and files (the same header check and line numbers).

use std::collections::HashMap;

use crate::CommandError;

pub(crate) fn bad(line: u64, field: &str, problem: impl std::fmt::Display) -> CommandError {
    CommandError::at_line(line, field, problem.to_string())
}

/// Each column's position in a file's header.
pub type Columns = HashMap<String, usize>;

/// Where each line of a file ends, to number records by their first byte
/// ([`domain::lines::LineIndex`]).
pub struct Lines<'b>(domain::lines::LineIndex<'b>);

impl<'b> Lines<'b> {
    pub fn of(bytes: &'b [u8]) -> Self {
        Self(domain::lines::LineIndex::of(bytes))
    }

    /// The 1-based line of the first text at or after `offset`.
    pub fn at(&self, offset: u64) -> u64 {
        self.0.at(offset)
    }

    /// The line a record starts on.
    pub fn of_record(&self, record: &csv::StringRecord) -> u64 {
        record.position().map_or(0, |p| self.at(p.byte()))
    }

    /// A record that could not be read, as `line N: row: …`.
    pub fn error(&self, e: csv::Error) -> CommandError {
        let line = e.position().map_or(0, |p| self.at(p.byte()));
        record_error(line, e)
    }
}

/// A reader over `bytes`, each column's index (by lowercased name) and the file's lines, after
/// checking that every required column is there and no unknown or repeated one is. Blank lines
/// and lines starting with `#` are skipped.
pub fn open<'b>(
    bytes: &'b [u8],
    required: &[&str],
    optional: &[&str],
) -> Result<(csv::Reader<&'b [u8]>, Columns, Lines<'b>), CommandError> {
    let lines = Lines::of(bytes);
    let mut reader =
        csv::ReaderBuilder::new().trim(csv::Trim::All).flexible(false).comment(Some(b'#')).from_reader(bytes);
    let headers = reader.headers().map_err(|e| lines.error(e))?.clone();
    let line = lines.of_record(&headers).max(1);
    let mut index = HashMap::new();
    for (i, h) in headers.iter().enumerate() {
        let name = h.to_lowercase();
        if !required.contains(&name.as_str()) && !optional.contains(&name.as_str()) {
            return Err(bad(line, "header", format!("unknown column {h:?}")));
        }
        if index.insert(name, i).is_some() {
            return Err(bad(line, "header", format!("column {h:?} appears twice")));
        }
    }
    if let Some(missing) = required.iter().find(|c| !index.contains_key(**c)) {
        return Err(bad(line, "header", format!("missing column {missing:?}")));
    }
    Ok((reader, index, lines))
}

fn record_error(line: u64, e: csv::Error) -> CommandError {
    match e.kind() {
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
            bad(line, "row", format!("has {len} fields; the header has {expected_len}"))
        }
        csv::ErrorKind::Utf8 { .. } => bad(line, "row", "is not valid UTF-8"),
        _ => bad(line, "row", e),
    }
}

/// An upper-cased ticker: letters, digits, `.`, `-` and `/`, at most 20.
pub(crate) fn ticker(line: u64, field: &str, value: Option<&str>) -> Result<Option<String>, CommandError> {
    let Some(v) = value else { return Ok(None) };
    let s = v.to_ascii_uppercase();
    if !domain::ledger::types::is_ticker(&s) {
        return Err(bad(line, field, format!("{s:?} is not a ticker (letters, digits, . - /)")));
    }
    Ok(Some(s))
}
