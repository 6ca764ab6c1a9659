//! A directory of bars files, one a symbol, in cairn's own market data CSV layout (what
//! `commands` imports, `commands/src/input/market.rs`) or as Parquet with the same columns: no
//! network, no key. For data bought as files, a vendor's bulk download converted once, a
//! dataframe written out by pandas or polars, or a test bed.
//!
//! **File**: `{dir}/{SYMBOL}.csv` or `{dir}/{SYMBOL}.parquet`, the symbol upper-cased, a `/`
//! in it written `_` (`BRK/B` → `BRK_B.csv`; `_` is never part of a ticker, so no two symbols
//! share a file). A symbol that is not a ticker (letters, digits, `.`, `-`, `/`, at most 20)
//! names no file, so nothing outside `dir` is ever read. A symbol with both a `.csv` and a
//! `.parquet` file is `Invalid`: neither is chosen silently.
//!
//! **Columns** (found by name, ignoring case, as the import does, in both formats): `date`,
//! `open`, `high`, `low`, `close`, `volume`, and optionally `adj_close`, `vwap` (empty or null
//! for none), `symbol` (when present, every row must name this file's symbol) and `source`
//! (ignored: the bars' source is this provider's name). Any other column is `Invalid`, as in
//! the import. Numbers are read exactly. The dates are the trading days as written: no time
//! zone.
//!
//! **CSV**: dates as `YYYY-MM-DD`. Blank lines and lines starting with `#` are skipped; lines
//! are numbered as an editor numbers them.
//!
//! **Parquet**: one flat column for each name (no lists or groups), in any number of row
//! groups; rows are numbered from 1 through the whole file. The types read:
//! - `date`: DATE; TIMESTAMP in millis, micros or nanos (or the legacy INT96), taken as its
//!   calendar day in UTC, so pandas' `datetime64[ns]` of a day's midnight is that day; or a
//!   UTF8 string `YYYY-MM-DD`.
//! - prices and volume: DECIMAL (on any physical type, exact with its scale); INT32 or INT64,
//!   signed or not; FLOAT or DOUBLE, read as the shortest decimal that is the same binary float
//!   (as pandas prints it: a double `101.52` is `101.52`; NaN or an infinity is an error); or a
//!   UTF8 string read as the CSV's numbers are.
//! - `symbol`: a UTF8 string. `source`: any type, never read.
//!
//! A null in `adj_close` or `vwap` is none; in any other column it is an error. Pages may be
//! uncompressed or compressed with Snappy (pandas', pyarrow's, DuckDB's and Spark's default),
//! gzip or LZ4 (`LZ4_RAW` and Hadoop's `LZ4`). zstd (polars' default) and Brotli are not built
//! in, zstd needing a C library build: such a file is `Invalid`, saying so; write it with
//! `compression="snappy"`. pandas writes an index other than the default range as a column
//! `__index_level_0__`, an unknown column: write with `index=False`.
//!
//! **Adjustment**: the files' prices are taken as traded unless the provider is configured with
//! `adjustment = "splits"` ([`LocalDir::with_adjustment`]), for a vendor's split-adjusted
//! download; the selector then brings them back to the prices traded (`Selector::traded`).
//!
//! **Errors**: no file is `NotFound`; a file that cannot be read is `Unavailable`; an unknown
//! or missing column, a line or row that does not parse, a bar that fails validation, a date
//! given twice, a Parquet column of a type not listed above or a file that is not Parquet (or
//! is damaged) is `Invalid`, naming the file and the line (CSV) or row (Parquet).

use std::collections::{HashMap, HashSet};
use std::fmt::Display;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate};
use commands::input::csv::open;
use domain::market::{Adjustment, Bar};
use domain::DomainError;
use parquet::basic::{Compression, ConvertedType, LogicalType, Repetition, TimeUnit, Type as Physical};
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::Field;
use parquet::schema::types::Type;
use rust_decimal::Decimal;

use super::num::decimal;
use super::Vendor;
use crate::market::provider::{Capability, ProviderError};

const REQUIRED: [&str; 6] = ["date", "open", "high", "low", "close", "volume"];
const OPTIONAL: [&str; 4] = ["adj_close", "vwap", "symbol", "source"];

/// Bars files in a directory.
#[derive(Debug, Clone)]
pub struct LocalDir {
    name: String,
    dir: PathBuf,
    adjustment: Adjustment,
}

impl LocalDir {
    /// `name` is the `source` of its bars; `dir` holds one `{SYMBOL}.csv` or
    /// `{SYMBOL}.parquet` per symbol.
    pub fn new(name: impl Into<String>, dir: impl Into<PathBuf>) -> Self {
        Self { name: name.into(), dir: dir.into(), adjustment: Adjustment::Raw }
    }

    /// The same directory whose files hold prices of `adjustment` (the prices traded unless
    /// said otherwise; a vendor's split-adjusted download is [`Adjustment::Splits`]).
    pub fn with_adjustment(mut self, adjustment: Adjustment) -> Self {
        self.adjustment = adjustment;
        self
    }

    /// The name of `symbol`'s file without its extension (`brk/b` → `BRK_B`), or `None` for a
    /// symbol that is not a ticker.
    fn stem(symbol: &str) -> Option<String> {
        let upper = symbol.trim().to_ascii_uppercase();
        (domain::ledger::types::is_ticker(&upper) && !upper.starts_with('.')).then(|| upper.replace('/', "_"))
    }

    /// The file of `symbol`, `{SYMBOL}.csv` or `{SYMBOL}.parquet`, whichever exists (this looks
    /// at the directory, so it blocks). `NotFound` for a symbol that is not a ticker or has
    /// neither file, `Invalid` when both exist.
    pub fn file(&self, symbol: &str) -> Result<PathBuf, ProviderError> {
        let stem = Self::stem(symbol).ok_or_else(|| ProviderError::NotFound {
            provider: self.name.clone(),
            message: format!("{symbol:?} is not a ticker (letters, digits, . - /), so it has no file"),
        })?;
        let csv = self.dir.join(format!("{stem}.csv"));
        let parquet = self.dir.join(format!("{stem}.parquet"));
        let exists = |path: &Path| {
            path.try_exists().map_err(|e| ProviderError::Unavailable {
                provider: self.name.clone(),
                message: format!("{}: {e}", path.display()),
            })
        };
        match (exists(&csv)?, exists(&parquet)?) {
            (true, false) => Ok(csv),
            (false, true) => Ok(parquet),
            (true, true) => Err(ProviderError::Invalid {
                provider: self.name.clone(),
                message: format!("{}: both {stem}.csv and {stem}.parquet exist: keep one", self.dir.display()),
            }),
            (false, false) => Err(ProviderError::NotFound {
                provider: self.name.clone(),
                message: format!("no file {} or {stem}.parquet", csv.display()),
            }),
        }
    }

    /// `{path}: {problem}` as `Invalid`.
    fn invalid(&self, path: &Path, problem: impl Display) -> ProviderError {
        ProviderError::Invalid { provider: self.name.clone(), message: format!("{}: {problem}", path.display()) }
    }

    /// The bars of one file, CSV or Parquet by its extension, each checked, with the problem's
    /// file and line (or row) on failure.
    fn read(&self, symbol: &str, path: &Path) -> Result<Vec<Bar>, ProviderError> {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ProviderError::NotFound {
                    provider: self.name.clone(),
                    message: format!("no file {}", path.display()),
                })
            }
            Err(e) => {
                return Err(ProviderError::Unavailable {
                    provider: self.name.clone(),
                    message: format!("{}: {e}", path.display()),
                })
            }
        };
        let wanted = symbol.trim().to_ascii_uppercase();
        if path.extension().is_some_and(|e| e == "parquet") {
            // A damaged file can make the decoder panic where it should fail: the file's fault
            // all the same, and no reason to take the blocking thread's panic for an outage.
            std::panic::catch_unwind(AssertUnwindSafe(|| self.read_parquet(&wanted, path, bytes)))
                .unwrap_or_else(|_| Err(self.invalid(path, "the Parquet decoder failed on it: the file is damaged")))
        } else {
            self.read_csv(&wanted, path, &bytes)
        }
    }

    /// The bars of a CSV file. The header and the lines are read as `commands` reads its CSV
    /// imports.
    fn read_csv(&self, wanted: &str, path: &Path, bytes: &[u8]) -> Result<Vec<Bar>, ProviderError> {
        // `line N: field: problem`, from `commands` or `domain::market::validate`.
        let invalid = |e: &dyn Display| self.invalid(path, e);
        let at = |line: u64, problem: String| invalid(&format!("line {line}: {problem}"));
        let (mut reader, index, lines) = open(bytes, &REQUIRED, &OPTIONAL).map_err(|e| invalid(&e))?;
        let mut seen: HashMap<NaiveDate, u64> = HashMap::new();
        let mut bars = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|e| invalid(&lines.error(e)))?;
            let line = lines.of_record(&record);
            let get = |c: &str| index.get(c).and_then(|&i| record.get(i)).unwrap_or("");
            let number = |c: &str| -> Result<Decimal, ProviderError> {
                let v = get(c);
                decimal(v).ok_or_else(|| at(line, format!("{c}: {v:?} is not a decimal number")))
            };
            let optional = |c: &str| if get(c).is_empty() { Ok(None) } else { number(c).map(Some) };
            if index.contains_key("symbol") && !get("symbol").eq_ignore_ascii_case(wanted) {
                return Err(at(line, format!("symbol: {:?} in the file of {wanted}", get("symbol"))));
            }
            let date = NaiveDate::parse_from_str(get("date"), "%Y-%m-%d")
                .map_err(|_| at(line, format!("date: {:?} is not a date (YYYY-MM-DD)", get("date"))))?;
            let bar = bar_of(date, number, optional)?;
            domain::market::validate(line, &bar).map_err(|e| invalid(&e))?;
            if let Some(first) = seen.insert(date, line) {
                return Err(at(line, format!("date: {date} appears twice (also line {first})")));
            }
            bars.push(bar);
        }
        Ok(bars)
    }

    /// The bars of a Parquet file: its codecs and columns (names and types) checked first,
    /// then each row read and checked as a CSV line is, `row N` counting from 1 through the
    /// row groups. Only the columns used are read (`source` never is).
    fn read_parquet(&self, wanted: &str, path: &Path, bytes: Vec<u8>) -> Result<Vec<Bar>, ProviderError> {
        let invalid = |e: &dyn Display| self.invalid(path, e);
        let at = |row: u64, problem: String| invalid(&format!("row {row}: {problem}"));
        let reader = SerializedFileReader::new(bytes::Bytes::from(bytes))
            .map_err(|e| invalid(&format!("is not a readable Parquet file: {e}")))?;
        for chunk in reader.metadata().row_groups().iter().flat_map(|group| group.columns()) {
            let codec = match chunk.compression() {
                Compression::UNCOMPRESSED
                | Compression::SNAPPY
                | Compression::GZIP(_)
                | Compression::LZ4
                | Compression::LZ4_RAW => continue,
                Compression::ZSTD(_) => "zstd",
                Compression::BROTLI(_) => "Brotli",
                Compression::LZO => "LZO",
            };
            return Err(invalid(&format!(
                "is compressed with {codec}, which is not read here (Snappy, gzip, LZ4 or none are): \
                 write it with compression=\"snappy\""
            )));
        }
        let root = reader.metadata().file_metadata().schema_descr().root_schema();
        let mut names = HashSet::new();
        let mut kinds: HashMap<String, Kind> = HashMap::new();
        let mut read = Vec::new();
        for field in root.get_fields() {
            let column = field.name();
            let name = column.to_lowercase();
            if !REQUIRED.contains(&name.as_str()) && !OPTIONAL.contains(&name.as_str()) {
                return Err(invalid(&format!("schema: unknown column {column:?}")));
            }
            if !names.insert(name.clone()) {
                return Err(invalid(&format!("schema: column {column:?} appears twice")));
            }
            if name == "source" {
                continue;
            }
            let kind = Kind::of(field).filter(|k| k.serves(&name)).ok_or_else(|| {
                invalid(&format!("schema: column {column:?} is {}: {}", describe(field), Kind::wanted(&name)))
            })?;
            kinds.insert(name, kind);
            read.push(field.clone());
        }
        if let Some(missing) = REQUIRED.iter().find(|c| !names.contains(**c)) {
            return Err(invalid(&format!("schema: missing column {missing:?}")));
        }
        let projection = Type::group_type_builder(root.name()).with_fields(read).build().map_err(|e| invalid(&e))?;
        let rows = reader.get_row_iter(Some(projection)).map_err(|e| invalid(&e))?;
        let mut seen: HashMap<NaiveDate, u64> = HashMap::new();
        let mut bars = Vec::new();
        for (row, record) in (1..).zip(rows) {
            let record = record.map_err(|e| at(row, e.to_string()))?;
            let fields = record.into_columns();
            let get = |c: &str| fields.iter().find(|(n, _)| n.eq_ignore_ascii_case(c)).map(|(_, f)| f);
            let number = |c: &str| required(get(c)).map_err(|p| at(row, format!("{c}: {p}")));
            let optional = |c: &str| optional(get(c)).map_err(|p| at(row, format!("{c}: {p}")));
            match get("symbol") {
                None => {}
                Some(Field::Str(s)) if s.trim().eq_ignore_ascii_case(wanted) => {}
                Some(Field::Str(s)) => return Err(at(row, format!("symbol: {s:?} in the file of {wanted}"))),
                Some(other) => return Err(at(row, format!("symbol: {other} in the file of {wanted}"))),
            }
            let date = day(get("date"), kinds.get("date").copied()).map_err(|p| at(row, format!("date: {p}")))?;
            let bar = bar_of(date, number, optional)?;
            domain::market::validate(row, &bar).map_err(|e| match e {
                DomainError::Rejected { field, problem, .. } => at(row, format!("{field}: {problem}")),
                other => invalid(&other),
            })?;
            if let Some(first) = seen.insert(date, row) {
                return Err(at(row, format!("date: {date} appears twice (also row {first})")));
            }
            bars.push(bar);
        }
        Ok(bars)
    }
}

/// What a Parquet column holds, from its physical and logical types: what the record API's
/// [`Field`] does not say by itself (it reads a TIMESTAMP(NANOS) as a plain INT64), and the
/// check that it never meets a type it cannot convert (it panics on those).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// DATE: days since 1970-01-01.
    Day,
    /// TIMESTAMP in millis or micros, or INT96: the field says which.
    Instant,
    /// TIMESTAMP(NANOS): nanoseconds since 1970-01-01T00:00Z, read as an INT64.
    Nanos,
    /// DECIMAL, an integer, FLOAT or DOUBLE.
    Number,
    /// A UTF8 string.
    Text,
}

impl Kind {
    /// The kind of a top-level column, or `None` for a group, a list or another type.
    fn of(field: &Type) -> Option<Self> {
        let info = field.get_basic_info();
        if !field.is_primitive() || (info.has_repetition() && info.repetition() == Repetition::REPEATED) {
            return None;
        }
        let logical = info.logical_type_ref();
        let integer = matches!(logical, None | Some(LogicalType::Integer(_)));
        let nanos = matches!(logical, Some(LogicalType::Timestamp(t)) if matches!(t.unit, TimeUnit::NANOS));
        Some(match (field.get_physical_type(), info.converted_type()) {
            (
                Physical::INT32 | Physical::INT64 | Physical::BYTE_ARRAY | Physical::FIXED_LEN_BYTE_ARRAY,
                ConvertedType::DECIMAL,
            ) => Self::Number,
            (Physical::INT32, ConvertedType::DATE) => Self::Day,
            (
                Physical::INT32,
                ConvertedType::INT_8
                | ConvertedType::INT_16
                | ConvertedType::INT_32
                | ConvertedType::UINT_8
                | ConvertedType::UINT_16
                | ConvertedType::UINT_32,
            ) => Self::Number,
            (Physical::INT64, ConvertedType::INT_64 | ConvertedType::UINT_64) => Self::Number,
            (Physical::INT32 | Physical::INT64, ConvertedType::NONE) if integer => Self::Number,
            (Physical::INT64, ConvertedType::TIMESTAMP_MILLIS | ConvertedType::TIMESTAMP_MICROS) => Self::Instant,
            (Physical::INT64, ConvertedType::NONE) if nanos => Self::Nanos,
            (Physical::INT96, ConvertedType::NONE) if logical.is_none() => Self::Instant,
            (Physical::FLOAT | Physical::DOUBLE, ConvertedType::NONE) if logical.is_none() => Self::Number,
            (Physical::BYTE_ARRAY, ConvertedType::UTF8 | ConvertedType::ENUM) => Self::Text,
            _ => return None,
        })
    }

    /// Whether the column `name` may hold values of this kind.
    fn serves(self, name: &str) -> bool {
        match name {
            "date" => matches!(self, Self::Day | Self::Instant | Self::Nanos | Self::Text),
            "symbol" => self == Self::Text,
            _ => matches!(self, Self::Number | Self::Text),
        }
    }

    /// The types the column `name` may have, in words.
    fn wanted(name: &str) -> &'static str {
        match name {
            "date" => "a date is DATE, TIMESTAMP or a UTF8 string",
            "symbol" => "a symbol is a UTF8 string",
            _ => "a number is DECIMAL, INT32, INT64, FLOAT, DOUBLE or a UTF8 string",
        }
    }
}

/// A column's type as an error message shows it: `BOOLEAN`, `INT64 (Time(…))`.
fn describe(field: &Type) -> String {
    let info = field.get_basic_info();
    if !field.is_primitive() {
        return "a group of columns".into();
    }
    if info.has_repetition() && info.repetition() == Repetition::REPEATED {
        return "a repeated column".into();
    }
    match (info.logical_type_ref(), info.converted_type()) {
        (Some(logical), _) => format!("{} ({logical:?})", field.get_physical_type()),
        (None, ConvertedType::NONE) => field.get_physical_type().to_string(),
        (None, converted) => format!("{} ({converted})", field.get_physical_type()),
    }
}

/// The trading day of a `date` value: the calendar day in UTC of a timestamp.
fn day(field: Option<&Field>, kind: Option<Kind>) -> Result<NaiveDate, String> {
    let date = match field {
        None | Some(Field::Null) => return Err("is null".into()),
        Some(Field::Str(s)) => {
            return NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
                .map_err(|_| format!("{s:?} is not a date (YYYY-MM-DD)"))
        }
        // 719,163 days from 0001-01-01 (day 1) to 1970-01-01.
        Some(Field::Date(days)) => days.checked_add(719_163).and_then(NaiveDate::from_num_days_from_ce_opt),
        Some(Field::TimestampMillis(ms)) => DateTime::from_timestamp_millis(*ms).map(|t| t.date_naive()),
        Some(Field::TimestampMicros(us)) => DateTime::from_timestamp_micros(*us).map(|t| t.date_naive()),
        Some(Field::Long(ns)) if kind == Some(Kind::Nanos) => Some(DateTime::from_timestamp_nanos(*ns).date_naive()),
        Some(other) => return Err(format!("{other} is not a date")),
    };
    date.ok_or_else(|| format!("{} is out of range", field.map_or(String::new(), |f| f.to_string())))
}

/// A number of a required column, exactly: a null is an error.
fn required(field: Option<&Field>) -> Result<Decimal, String> {
    // Rust prints a binary float (`{}`) as the shortest decimal that reads back as it, never
    // with an exponent: `101.52`, `0.0001`. Messages show it as `{:?}`, `1e-30` rather than
    // all its zeros.
    fn float<F: Display + std::fmt::Debug>(v: F, finite: bool) -> Result<Decimal, String> {
        if !finite {
            return Err(format!("{v:?} is not a finite number"));
        }
        decimal(&v.to_string()).ok_or_else(|| format!("{v:?} does not fit a decimal (at most 28 places)"))
    }
    match field {
        None | Some(Field::Null) => Err("is null".into()),
        Some(Field::Str(s)) => decimal(s).ok_or_else(|| format!("{s:?} is not a decimal number")),
        Some(Field::Decimal(d)) => exact(d).ok_or_else(|| "does not fit a decimal (at most 28 places, 96 bits)".into()),
        Some(Field::Byte(v)) => Ok(Decimal::from(*v)),
        Some(Field::Short(v)) => Ok(Decimal::from(*v)),
        Some(Field::Int(v)) => Ok(Decimal::from(*v)),
        Some(Field::Long(v)) => Ok(Decimal::from(*v)),
        Some(Field::UByte(v)) => Ok(Decimal::from(*v)),
        Some(Field::UShort(v)) => Ok(Decimal::from(*v)),
        Some(Field::UInt(v)) => Ok(Decimal::from(*v)),
        Some(Field::ULong(v)) => Ok(Decimal::from(*v)),
        Some(Field::Float(v)) => float(*v, v.is_finite()),
        Some(Field::Double(v)) => float(*v, v.is_finite()),
        Some(other) => Err(format!("{other} is not a number")),
    }
}

/// A number of an optional column: a null or an empty string is none.
fn optional(field: Option<&Field>) -> Result<Option<Decimal>, String> {
    match field {
        None | Some(Field::Null) => Ok(None),
        Some(Field::Str(s)) if s.trim().is_empty() => Ok(None),
        Some(_) => required(field).map(Some),
    }
}

/// A Parquet DECIMAL exactly: its unscaled value (big-endian two's complement, any length)
/// and scale. `None` when it needs more than a [`Decimal`]'s 96 bits or 28 places.
fn exact(d: &parquet::data_type::Decimal) -> Option<Decimal> {
    let bytes = d.data();
    let negative = bytes.first().is_some_and(|b| b & 0x80 != 0);
    let fill = if negative { 0xFF } else { 0 };
    let (head, tail) = bytes.split_at(bytes.len().saturating_sub(16));
    // Bytes beyond an i128's 16 only repeat the sign, which the 16 must keep.
    if head.iter().any(|b| *b != fill) || (!head.is_empty() && tail[0] & 0x80 != fill & 0x80) {
        return None;
    }
    let mut be = [fill; 16];
    be[16 - tail.len()..].copy_from_slice(tail);
    let mut unscaled = i128::from_be_bytes(be);
    let mut scale = d.scale();
    while scale > 28 && unscaled % 10 == 0 {
        unscaled /= 10;
        scale -= 1;
    }
    Decimal::try_from_i128_with_scale(unscaled, u32::try_from(scale).ok()?).ok()
}

/// A bar of `date` from its columns, read by name with `number` (required) and `optional`.
fn bar_of<E>(
    date: NaiveDate,
    number: impl Fn(&str) -> Result<Decimal, E>,
    optional: impl Fn(&str) -> Result<Option<Decimal>, E>,
) -> Result<Bar, E> {
    Ok(Bar {
        date,
        open: number("open")?,
        high: number("high")?,
        low: number("low")?,
        close: number("close")?,
        volume: number("volume")?,
        adj_close: optional("adj_close")?,
        vwap: optional("vwap")?,
        source: None,
    })
}

impl Vendor for LocalDir {
    const SERVES: &'static [Capability] = &[Capability::DailyBars];

    fn source(&self) -> &str {
        &self.name
    }

    fn adjustment(&self) -> Adjustment {
        self.adjustment
    }

    async fn bars(&self, symbol: &str, _: NaiveDate, _: NaiveDate) -> Result<Vec<Bar>, ProviderError> {
        let this = self.clone();
        let wanted = symbol.to_owned();
        tokio::task::spawn_blocking(move || {
            let path = this.file(&wanted)?;
            this.read(&wanted, &path)
        })
        .await
        .map_err(|e| ProviderError::Unavailable {
            provider: self.name.clone(),
            message: format!("reading the file: {e}"),
        })?
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use parquet::column::writer::ColumnWriter;
    use parquet::data_type::{ByteArray, FixedLenByteArray};
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    use parquet::schema::parser::parse_message_type;

    use super::*;
    use crate::market::provider::Provider;
    use crate::market::providers::testing::{bar, d, day};

    fn dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("src/market/providers/fixtures/local")
    }

    fn local() -> LocalDir {
        LocalDir::new("files", dir())
    }

    async fn err(symbol: &str) -> ProviderError {
        local().daily_bars(symbol, day("2024-03-01"), day("2024-03-31")).await.unwrap_err()
    }

    #[tokio::test]
    async fn a_file_reads_as_exact_bars_within_the_range() {
        let bars = local().daily_bars("acme", day("2024-03-05"), day("2024-03-06")).await.unwrap();
        assert_eq!(
            bars,
            vec![
                Bar {
                    adj_close: Some(d("101.52")),
                    ..bar("files", "2024-03-05", ["404.00", "408.12", "401.50", "406.88", "1311200"])
                },
                Bar {
                    adj_close: Some(d("102.75")),
                    vwap: Some(d("102.4466")),
                    ..bar("files", "2024-03-06", ["102.05", "103.20", "101.40", "102.95", "5580100"])
                },
            ]
        );
    }

    #[tokio::test]
    async fn a_slash_in_the_symbol_is_an_underscore_in_the_file_name() {
        assert_eq!(local().file("brk/b"), Ok(dir().join("BRK_B.csv")));
        let bars = local().daily_bars("BRK/B", day("2024-03-01"), day("2024-03-31")).await.unwrap();
        assert_eq!(bars.iter().map(|b| b.close).collect::<Vec<_>>(), [d("406.55"), d("408.8")]);
        assert_eq!(bars[0].source.as_deref(), Some("files"));
    }

    #[tokio::test]
    async fn a_missing_file_or_a_symbol_that_names_no_file_is_not_found() {
        assert!(matches!(err("NOPE").await, ProviderError::NotFound { .. }));
        for symbol in ["../local/ACME", "..", ".ACME", "", "A B"] {
            assert!(matches!(err(symbol).await, ProviderError::NotFound { .. }), "{symbol:?}");
        }
        let bars = local().daily_bars("ACME", day("2023-01-02"), day("2023-12-29")).await.unwrap_err();
        assert!(matches!(bars, ProviderError::NotFound { .. }));
    }

    #[tokio::test]
    async fn a_bad_line_is_invalid_naming_the_file_and_the_line() {
        let e = err("BAD").await;
        let path = dir().join("BAD.csv");
        assert_eq!(
            e,
            ProviderError::Invalid {
                provider: "files".into(),
                message: format!("{}: line 4: low: \"four hundred\" is not a decimal number", path.display()),
            }
        );
        let e = err("DUP").await;
        assert!(
            matches!(&e, ProviderError::Invalid { message, .. } if message.ends_with("DUP.csv: line 4: date: 2024-03-04 appears twice (also line 2)")),
            "{e}"
        );
        let e = err("OUTSIDE").await;
        assert!(
            matches!(&e, ProviderError::Invalid { message, .. } if message.ends_with("OUTSIDE.csv: line 2: close: is outside the day's low and high")),
            "{e}"
        );
    }

    /// One column's values in a row group, `None` for a null.
    enum Values {
        I32(Vec<Option<i32>>),
        I64(Vec<Option<i64>>),
        F64(Vec<Option<f64>>),
        Bool(Vec<Option<bool>>),
        Text(Vec<Option<String>>),
        /// Fixed-length byte arrays (a DECIMAL's unscaled value, big-endian).
        Fixed(Vec<Option<Vec<u8>>>),
    }

    /// Writes the values (one `Vec` a row group, in the schema's column order) as a Parquet
    /// file, as the parquet crate's writer writes one.
    fn write(path: &Path, schema: &str, compression: Compression, groups: Vec<Vec<Values>>) {
        let schema = Arc::new(parse_message_type(schema).unwrap());
        let properties = Arc::new(WriterProperties::builder().set_compression(compression).build());
        let mut writer = SerializedFileWriter::new(std::fs::File::create(path).unwrap(), schema, properties).unwrap();
        for columns in groups {
            let mut group = writer.next_row_group().unwrap();
            for values in columns {
                let mut column = group.next_column().unwrap().expect("more values than columns");
                // The present values, and a definition level a row for an optional column.
                macro_rules! put {
                    ($writer:expr, $values:expr, $into:expr) => {{
                        let levels: Vec<i16> = $values.iter().map(|v| i16::from(v.is_some())).collect();
                        let present: Vec<_> = $values.into_iter().flatten().map($into).collect();
                        let optional = $writer.get_descriptor().max_def_level() > 0;
                        $writer.write_batch(&present, optional.then_some(levels.as_slice()), None).unwrap();
                    }};
                }
                match (column.untyped(), values) {
                    (ColumnWriter::Int32ColumnWriter(w), Values::I32(v)) => put!(w, v, |x| x),
                    (ColumnWriter::Int64ColumnWriter(w), Values::I64(v)) => put!(w, v, |x| x),
                    (ColumnWriter::DoubleColumnWriter(w), Values::F64(v)) => put!(w, v, |x| x),
                    (ColumnWriter::BoolColumnWriter(w), Values::Bool(v)) => put!(w, v, |x| x),
                    (ColumnWriter::ByteArrayColumnWriter(w), Values::Text(v)) => {
                        put!(w, v, |s: String| ByteArray::from(s.into_bytes()))
                    }
                    (ColumnWriter::FixedLenByteArrayColumnWriter(w), Values::Fixed(v)) => {
                        put!(w, v, |b: Vec<u8>| FixedLenByteArray::from(b))
                    }
                    _ => panic!("values of another type than the column's"),
                }
                column.close().unwrap();
            }
            assert!(group.next_column().unwrap().is_none(), "a column left unwritten");
            group.close().unwrap();
        }
        writer.close().unwrap();
    }

    /// Strings, `None` for a null.
    fn texts(values: &[Option<&str>]) -> Values {
        Values::Text(values.iter().map(|v| v.map(str::to_owned)).collect())
    }

    /// Days from 1970-01-01 to `date`, as a Parquet DATE.
    fn epoch_days(date: &str) -> Option<i32> {
        Some(i32::try_from((day(date) - day("1970-01-01")).num_days()).unwrap())
    }

    /// A decimal's unscaled value at `scale` places.
    fn unscaled(value: &str, scale: u32) -> i128 {
        let mut v = d(value);
        v.rescale(scale);
        v.mantissa()
    }

    /// A DECIMAL(_, 4) on INT64 (as parquet-mr and Spark write small decimals).
    fn int64_decimals(values: &[&str]) -> Values {
        Values::I64(values.iter().map(|v| Some(i64::try_from(unscaled(v, 4)).unwrap())).collect())
    }

    async fn read(dir: &Path, symbol: &str) -> Result<Vec<Bar>, ProviderError> {
        LocalDir::new("files", dir).daily_bars(symbol, day("2000-01-01"), day("2030-12-31")).await
    }

    async fn invalid(dir: &Path, symbol: &str) -> String {
        match read(dir, symbol).await {
            Err(ProviderError::Invalid { provider, message }) if provider == "files" => message,
            other => panic!("{other:?}"),
        }
    }

    /// ACME's four days in the CSV fixture, as [`dir`]'s ACME.csv reads them.
    fn acme() -> Vec<Bar> {
        vec![
            Bar {
                adj_close: Some(d("100.90")),
                vwap: Some(d("403.1187")),
                ..bar("files", "2024-03-04", ["402.00", "405.80", "399.10", "404.40", "1203400"])
            },
            Bar {
                adj_close: Some(d("101.52")),
                ..bar("files", "2024-03-05", ["404.00", "408.12", "401.50", "406.88", "1311200"])
            },
            Bar {
                adj_close: Some(d("102.75")),
                vwap: Some(d("102.4466")),
                ..bar("files", "2024-03-06", ["102.05", "103.20", "101.40", "102.95", "5580100"])
            },
            Bar {
                adj_close: None,
                vwap: Some(d("102.3518")),
                ..bar("files", "2024-03-07", ["102.70", "103.05", "101.88", "102.31", "5120350"])
            },
        ]
    }

    #[tokio::test]
    async fn parquet_with_dates_and_decimals_reads_exactly() {
        let tmp = tempfile::tempdir().unwrap();
        let days = ["2024-03-04", "2024-03-05", "2024-03-06", "2024-03-07"];
        // pyarrow writes a DECIMAL(20, 4) as 9 big-endian bytes; a small one fits an INT32.
        let adj = [Some("100.90"), Some("101.52"), Some("102.75"), None]
            .map(|v| v.map(|v| unscaled(v, 4).to_be_bytes()[7..].to_vec()));
        let vwap = [Some("403.1187"), None, Some("102.4466"), Some("102.3518")]
            .map(|v| v.map(|v| i32::try_from(unscaled(v, 4)).unwrap()));
        write(
            &tmp.path().join("ACME.parquet"),
            "message bars {
                required int32 date (DATE);
                required int64 open (DECIMAL(18,4));
                required int64 high (DECIMAL(18,4));
                required int64 low (DECIMAL(18,4));
                required int64 close (DECIMAL(18,4));
                required int64 volume;
                optional fixed_len_byte_array(9) adj_close (DECIMAL(20,4));
                optional int32 vwap (DECIMAL(9,4));
            }",
            Compression::GZIP(Default::default()),
            vec![vec![
                Values::I32(days.iter().map(|d| epoch_days(d)).collect()),
                int64_decimals(&["402.00", "404.00", "102.05", "102.70"]),
                int64_decimals(&["405.80", "408.12", "103.20", "103.05"]),
                int64_decimals(&["399.10", "401.50", "101.40", "101.88"]),
                int64_decimals(&["404.40", "406.88", "102.95", "102.31"]),
                Values::I64(vec![Some(1_203_400), Some(1_311_200), Some(5_580_100), Some(5_120_350)]),
                Values::Fixed(adj.to_vec()),
                Values::I32(vwap.to_vec()),
            ]],
        );
        let local = LocalDir::new("files", tmp.path());
        assert_eq!(local.file("acme"), Ok(tmp.path().join("ACME.parquet")));
        let bars = read(tmp.path(), "acme").await.unwrap();
        assert_eq!(bars, acme());
        // Exactly the file's values, at its scale.
        assert_eq!(bars[0].close.to_string(), "404.4000");
        assert_eq!(bars[0].adj_close.unwrap().to_string(), "100.9000");
        let within = local.daily_bars("ACME", day("2024-03-05"), day("2024-03-06")).await.unwrap();
        assert_eq!(within, acme()[1..3]);
    }

    #[tokio::test]
    async fn parquet_as_pandas_writes_it_timestamps_and_doubles_reads_as_the_days_and_the_decimals() {
        // `df.to_parquet()` of a `datetime64[ns]` column and float64 prices, Snappy: a double
        // 101.52 is 101.52, and a timestamp is its UTC calendar day, whatever the time.
        for (unit, per_second) in [("MILLIS", 1_000), ("MICROS", 1_000_000), ("NANOS", 1_000_000_000)] {
            let tmp = tempfile::tempdir().unwrap();
            let at = |date: &str, seconds: i64| {
                Some((day(date) - day("1970-01-01")).num_seconds() * per_second + seconds * per_second)
            };
            let f = |values: [Option<f64>; 4]| Values::F64(values.to_vec());
            write(
                &tmp.path().join("ACME.parquet"),
                &format!(
                    "message schema {{
                        optional int64 date (TIMESTAMP({unit},false));
                        optional double open;
                        optional double high;
                        optional double low;
                        optional double close;
                        optional int64 volume;
                        optional double adj_close;
                        optional double vwap;
                        optional binary symbol (UTF8);
                    }}"
                ),
                Compression::SNAPPY,
                vec![vec![
                    Values::I64(vec![
                        at("2024-03-04", 0),
                        at("2024-03-05", 0),
                        at("2024-03-06", 86_399),
                        at("2024-03-07", 1),
                    ]),
                    f([Some(402.0), Some(404.0), Some(102.05), Some(102.7)]),
                    f([Some(405.8), Some(408.12), Some(103.2), Some(103.05)]),
                    f([Some(399.1), Some(401.5), Some(101.4), Some(101.88)]),
                    f([Some(404.4), Some(406.88), Some(102.95), Some(102.31)]),
                    Values::I64(vec![Some(1_203_400), Some(1_311_200), Some(5_580_100), Some(5_120_350)]),
                    f([Some(100.9), Some(101.52), Some(102.75), None]),
                    f([Some(403.1187), None, Some(102.4466), Some(102.3518)]),
                    texts(&[Some("ACME"); 4]),
                ]],
            );
            let bars = read(tmp.path(), "ACME").await.unwrap();
            assert_eq!(bars, acme(), "{unit}");
            assert_eq!(bars[1].adj_close.unwrap().to_string(), "101.52", "{unit}");
        }
    }

    #[tokio::test]
    async fn parquet_of_strings_reads_as_the_csv_does() {
        let tmp = tempfile::tempdir().unwrap();
        let text = |values: [&str; 2]| texts(&values.map(Some));
        write(
            &tmp.path().join("BRK_B.parquet"),
            "message bars {
                required binary Date (STRING);
                required binary OPEN (UTF8);
                required binary high (UTF8);
                required binary low (UTF8);
                required binary close (UTF8);
                required binary volume (UTF8);
                optional binary adj_close (UTF8);
                optional binary vwap (UTF8);
                required binary symbol (UTF8);
                optional boolean source;
            }",
            Compression::LZ4_RAW,
            vec![vec![
                text(["2024-03-04", " 2024-03-05 "]),
                text(["402.00", "404.00"]),
                text(["405.80", "408.12"]),
                text(["399.10", "401.50"]),
                text(["404.40", "406.88"]),
                text(["1203400", "1.3112e6"]),
                texts(&[Some("100.90"), Some("")]),
                texts(&[None, Some("403.1")]),
                text(["brk/b", "BRK/B"]),
                Values::Bool(vec![Some(true), None]),
            ]],
        );
        let bars = read(tmp.path(), "BRK/B").await.unwrap();
        assert_eq!(
            bars,
            [
                Bar {
                    adj_close: Some(d("100.90")),
                    ..bar("files", "2024-03-04", ["402.00", "405.80", "399.10", "404.40", "1203400"])
                },
                Bar {
                    vwap: Some(d("403.1")),
                    ..bar("files", "2024-03-05", ["404.00", "408.12", "401.50", "406.88", "1311200"])
                },
            ]
        );
    }

    /// A file of string dates and doubles from rows of `(date, close)`, every day's open 100,
    /// high 110 and low 90, uncompressed.
    fn closes(path: &Path, groups: &[&[(&str, Option<f64>)]]) {
        let schema = "message bars {
            required binary date (UTF8);
            required double open;
            required double high;
            required double low;
            optional double close;
            required int32 volume;
        }";
        let groups = groups
            .iter()
            .map(|rows| {
                let each = |f: fn(&(&str, Option<f64>)) -> Option<f64>| Values::F64(rows.iter().map(f).collect());
                vec![
                    Values::Text(rows.iter().map(|(date, _)| Some((*date).to_owned())).collect()),
                    each(|_| Some(100.0)),
                    each(|_| Some(110.0)),
                    each(|_| Some(90.0)),
                    each(|(_, close)| *close),
                    Values::I32(rows.iter().map(|_| Some(1000)).collect()),
                ]
            })
            .collect();
        write(path, schema, Compression::UNCOMPRESSED, groups);
    }

    #[tokio::test]
    async fn a_bad_parquet_row_is_invalid_naming_the_file_and_the_row() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("ACME.parquet");
        closes(&path, &[&[("2024-03-04", Some(100.0)), ("2024-03-05", None)]]);
        assert_eq!(invalid(tmp.path(), "ACME").await, format!("{}: row 2: close: is null", path.display()));

        // Rows count through the row groups.
        closes(&path, &[&[("2024-03-04", Some(100.0)), ("2024-03-05", Some(101.0))], &[("2024-03-04", Some(102.0))]]);
        assert_eq!(
            invalid(tmp.path(), "ACME").await,
            format!("{}: row 3: date: 2024-03-04 appears twice (also row 1)", path.display())
        );

        closes(&path, &[&[("2024-03-04", Some(100.0)), ("2024-03-05", Some(f64::NAN))]]);
        assert_eq!(
            invalid(tmp.path(), "ACME").await,
            format!("{}: row 2: close: NaN is not a finite number", path.display())
        );

        closes(&path, &[&[("2024-03-04", Some(1e-30))]]);
        assert_eq!(
            invalid(tmp.path(), "ACME").await,
            format!("{}: row 1: close: 1e-30 does not fit a decimal (at most 28 places)", path.display())
        );

        closes(&path, &[&[("2024-03-04", Some(120.5))]]);
        assert_eq!(
            invalid(tmp.path(), "ACME").await,
            format!("{}: row 1: close: is outside the day's low and high", path.display())
        );

        closes(&path, &[&[("4 March 2024", Some(100.0))]]);
        assert_eq!(
            invalid(tmp.path(), "ACME").await,
            format!("{}: row 1: date: \"4 March 2024\" is not a date (YYYY-MM-DD)", path.display())
        );
    }

    #[tokio::test]
    async fn a_parquet_column_unknown_missing_or_of_another_type_is_invalid() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("ACME.parquet");
        let file = |schema: &str| {
            let schema = format!("message bars {{ required int32 date (DATE); {schema} }}");
            let columns = schema.matches(';').count();
            let mut values = vec![Values::I32(vec![epoch_days("2024-03-04")])];
            for column in schema.split(';').skip(1).take(columns - 1) {
                values.push(if column.contains("boolean") {
                    Values::Bool(vec![Some(true)])
                } else if column.contains("binary") {
                    texts(&[Some("ACME")])
                } else {
                    Values::I64(vec![Some(100)])
                });
            }
            write(&path, &schema, Compression::SNAPPY, vec![values]);
        };
        let prices = "required int64 open; required int64 high; required int64 low; required int64 close;";
        file(&format!("{prices} required int64 volume; required int64 __index_level_0__;"));
        assert_eq!(
            invalid(tmp.path(), "ACME").await,
            format!("{}: schema: unknown column \"__index_level_0__\"", path.display())
        );
        file(&format!("{prices} required int64 volume; required int64 Close;"));
        assert_eq!(
            invalid(tmp.path(), "ACME").await,
            format!("{}: schema: column \"Close\" appears twice", path.display())
        );
        file(prices);
        assert_eq!(invalid(tmp.path(), "ACME").await, format!("{}: schema: missing column \"volume\"", path.display()));
        file(&format!("{prices} required boolean volume;"));
        assert_eq!(
            invalid(tmp.path(), "ACME").await,
            format!(
                "{}: schema: column \"volume\" is BOOLEAN: a number is DECIMAL, INT32, INT64, FLOAT, DOUBLE or a UTF8 string",
                path.display()
            )
        );
        file(&format!("{prices} required int64 volume; required binary symbol (UTF8);"));
        assert_eq!(read(tmp.path(), "ACME").await.unwrap().len(), 1);
        std::fs::rename(&path, tmp.path().join("OTHER.parquet")).unwrap();
        assert_eq!(
            invalid(tmp.path(), "other").await,
            format!("{}: row 1: symbol: \"ACME\" in the file of OTHER", tmp.path().join("OTHER.parquet").display())
        );
    }

    #[tokio::test]
    async fn a_symbol_with_both_files_or_a_file_that_is_not_parquet_is_invalid() {
        let tmp = tempfile::tempdir().unwrap();
        closes(&tmp.path().join("ACME.parquet"), &[&[("2024-03-04", Some(100.0))]]);
        std::fs::copy(dir().join("ACME.csv"), tmp.path().join("ACME.csv")).unwrap();
        let both = format!("{}: both ACME.csv and ACME.parquet exist: keep one", tmp.path().display());
        assert_eq!(invalid(tmp.path(), "acme").await, both);
        assert_eq!(
            LocalDir::new("files", tmp.path()).file("ACME"),
            Err(ProviderError::Invalid { provider: "files".into(), message: both })
        );

        // Bytes that are not Parquet, whatever the name says, and a file cut short.
        let path = tmp.path().join("JUNK.parquet");
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let junk: Vec<u8> = (0..4096)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state.to_le_bytes()[0]
            })
            .collect();
        for bytes in [junk, std::fs::read(tmp.path().join("ACME.parquet")).unwrap()[..100].to_vec(), Vec::new()] {
            std::fs::write(&path, bytes).unwrap();
            let message = invalid(tmp.path(), "junk").await;
            assert!(message.starts_with(&format!("{}: is not a readable Parquet file: ", path.display())), "{message}");
        }
    }
}
