//! A directory of bars files in cairn's own market data CSV layout (what `commands` imports,
//! `commands/src/input/market.rs`), one file a symbol: no network, no key. For data bought
//! as files, a vendor's bulk download converted once, or a test bed. Parquet files are out of
//! scope: convert them to CSV first.
//!
//! **File**: `{dir}/{SYMBOL}.csv`, the symbol upper-cased, a `/` in it written `_`
//! (`BRK/B` → `BRK_B.csv`; `_` is never part of a ticker, so no two symbols share a file). A
//! symbol that is not a ticker (letters, digits, `.`, `-`, `/`, at most 20) names no file, so
//! nothing outside `dir` is ever read.
//!
//! **Columns** (found by name, ignoring case, as the import does): `date` (`YYYY-MM-DD`),
//! `open`, `high`, `low`, `close`, `volume`, and optionally `adj_close`, `vwap` (empty for
//! none), `symbol` (when present, every row must name this file's symbol) and `source`
//! (ignored: the bars' source is this provider's name). Blank lines and lines starting with
//! `#` are skipped; lines are numbered as an editor numbers them. Numbers are read exactly.
//! The dates are the trading days as written: no time zone.
//!
//! **Errors**: no file is `NotFound`; a file that cannot be read is `Unavailable`; an unknown
//! or missing column, a line that does not parse, a bar that fails validation or a date given
//! twice is `Invalid`, naming the file and the line.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use commands::input::csv::open;
use domain::market::Bar;
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
}

impl LocalDir {
    /// `name` is the `source` of its bars; `dir` holds one `{SYMBOL}.csv` per symbol.
    pub fn new(name: impl Into<String>, dir: impl Into<PathBuf>) -> Self {
        Self { name: name.into(), dir: dir.into() }
    }

    /// The file of `symbol`, or `None` for a symbol that is not a ticker.
    pub fn path(&self, symbol: &str) -> Option<PathBuf> {
        let upper = symbol.trim().to_ascii_uppercase();
        (domain::ledger::types::is_ticker(&upper) && !upper.starts_with('.'))
            .then(|| self.dir.join(format!("{}.csv", upper.replace('/', "_"))))
    }

    /// The bars of one file, each checked, with the problem's file and line on failure. The
    /// header and the lines are read as `commands` reads its CSV imports.
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
        // `line N: field: problem`, from `commands` or `domain::market::validate`.
        let invalid = |e: &dyn std::fmt::Display| ProviderError::Invalid {
            provider: self.name.clone(),
            message: format!("{}: {e}", path.display()),
        };
        let at = |line: u64, problem: String| invalid(&format!("line {line}: {problem}"));
        let (mut reader, index, lines) = open(&bytes, &REQUIRED, &OPTIONAL).map_err(|e| invalid(&e))?;
        let wanted = symbol.trim().to_ascii_uppercase();
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
            if index.contains_key("symbol") && !get("symbol").eq_ignore_ascii_case(&wanted) {
                return Err(at(line, format!("symbol: {:?} in the file of {wanted}", get("symbol"))));
            }
            let date = NaiveDate::parse_from_str(get("date"), "%Y-%m-%d")
                .map_err(|_| at(line, format!("date: {:?} is not a date (YYYY-MM-DD)", get("date"))))?;
            let bar = Bar {
                date,
                open: number("open")?,
                high: number("high")?,
                low: number("low")?,
                close: number("close")?,
                volume: number("volume")?,
                adj_close: optional("adj_close")?,
                vwap: optional("vwap")?,
                source: None,
            };
            domain::market::validate(line, &bar).map_err(|e| invalid(&e))?;
            if let Some(first) = seen.insert(date, line) {
                return Err(at(line, format!("date: {date} appears twice (also line {first})")));
            }
            bars.push(bar);
        }
        Ok(bars)
    }
}

impl Vendor for LocalDir {
    const SERVES: &'static [Capability] = &[Capability::DailyBars];

    fn source(&self) -> &str {
        &self.name
    }

    async fn bars(&self, symbol: &str, _: NaiveDate, _: NaiveDate) -> Result<Vec<Bar>, ProviderError> {
        let path = self.path(symbol).ok_or_else(|| ProviderError::NotFound {
            provider: self.name.clone(),
            message: format!("{symbol:?} is not a ticker (letters, digits, . - /), so it has no file"),
        })?;
        let this = self.clone();
        let wanted = symbol.to_owned();
        tokio::task::spawn_blocking(move || this.read(&wanted, &path)).await.map_err(|e| {
            ProviderError::Unavailable { provider: self.name.clone(), message: format!("reading the file: {e}") }
        })?
    }
}

#[cfg(test)]
mod tests {
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
        assert_eq!(local().path("brk/b"), Some(dir().join("BRK_B.csv")));
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
}
