//! What every CSV import shares: a header checked against the known columns, and record
//! errors turned into `line N: row: …`.

use std::collections::HashMap;

use crate::CommandError;

pub(crate) fn bad(line: u64, field: &str, problem: impl std::fmt::Display) -> CommandError {
    CommandError::Invalid(format!("line {line}: {field}: {problem}"))
}

/// Each column's position in a file's header.
pub(crate) type Columns = HashMap<String, usize>;

/// A reader over `bytes` and each column's index, after checking that every required column
/// is there and no unknown or repeated one is.
pub(crate) fn open<'b>(
    bytes: &'b [u8],
    required: &[&str],
    optional: &[&str],
) -> Result<(csv::Reader<&'b [u8]>, Columns), CommandError> {
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).flexible(false).from_reader(bytes);
    let headers = reader.headers().map_err(|e| bad(1, "header", e))?.clone();
    let mut index = HashMap::new();
    for (i, h) in headers.iter().enumerate() {
        if !required.contains(&h) && !optional.contains(&h) {
            return Err(bad(1, "header", format!("unknown column {h:?}")));
        }
        if index.insert(h.to_owned(), i).is_some() {
            return Err(bad(1, "header", format!("column {h:?} appears twice")));
        }
    }
    if let Some(missing) = required.iter().find(|c| !index.contains_key(**c)) {
        return Err(bad(1, "header", format!("missing column {missing:?}")));
    }
    Ok((reader, index))
}

/// A record that could not be read, as `line N: row: …`.
pub(crate) fn record_error(e: csv::Error) -> CommandError {
    let line = e.position().map_or(0, |p| p.line());
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
