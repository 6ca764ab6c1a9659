//! The market data CSV: `date,symbol,open,high,low,close,volume`, optionally
//! `adj_close,vwap,source`; parsed whole, each bar checked (`domain::market::validate`), before
//! anything is recorded.

use std::collections::BTreeMap;
use std::str::FromStr;

use chrono::NaiveDate;
use domain::market::Bar;
use rust_decimal::Decimal;

use super::csv::{bad, open, ticker};
use crate::CommandError;

const REQUIRED: [&str; 7] = ["date", "symbol", "open", "high", "low", "close", "volume"];
const OPTIONAL: [&str; 3] = ["adj_close", "vwap", "source"];

/// Parses a whole file into bars per symbol, with their lines.
pub fn parse_csv(bytes: &[u8]) -> Result<BTreeMap<String, Vec<(u64, Bar)>>, CommandError> {
    let (mut reader, index, lines) = open(bytes, &REQUIRED, &OPTIONAL)?;
    let mut out: BTreeMap<String, Vec<(u64, Bar)>> = BTreeMap::new();
    for record in reader.records() {
        let record = record.map_err(|e| lines.error(e))?;
        let line = lines.of_record(&record);
        let get = |c: &str| index.get(c).and_then(|&i| record.get(i)).unwrap_or("");
        let decimal = |c: &str| -> Result<Decimal, CommandError> {
            let v = get(c);
            Decimal::from_str(v).map_err(|_| bad(line, c, format!("{v:?} is not a decimal number")))
        };
        let optional = |c: &str| -> Result<Option<Decimal>, CommandError> {
            if get(c).is_empty() {
                Ok(None)
            } else {
                decimal(c).map(Some)
            }
        };
        let date = NaiveDate::parse_from_str(get("date"), "%Y-%m-%d")
            .map_err(|_| bad(line, "date", format!("{:?} is not a date (YYYY-MM-DD)", get("date"))))?;
        let symbol = ticker(line, "symbol", Some(get("symbol")))?.unwrap_or_default();
        let bar = Bar {
            date,
            open: decimal("open")?,
            high: decimal("high")?,
            low: decimal("low")?,
            close: decimal("close")?,
            volume: decimal("volume")?,
            adj_close: optional("adj_close")?,
            vwap: optional("vwap")?,
            source: Some(get("source")).filter(|s| !s.is_empty()).map(str::to_owned),
        };
        domain::market::validate(line, &bar)?;
        out.entry(symbol).or_default().push((line, bar));
    }
    if out.is_empty() {
        return Err(bad(2, "row", "the file has a header but no rows"));
    }
    Ok(out)
}

const RATE_REQUIRED: [&str; 3] = ["date", "currency", "usd_per_unit"];
const RATE_OPTIONAL: [&str; 1] = ["source"];

/// Parses an exchange rates file (`date,currency,usd_per_unit`, optionally `source`: the US
/// dollars one unit of the currency bought that day) into the daily bars of each currency's
/// pair (`EUR.USD`, see `domain::fx`), every price of the day the rate, with their lines.
pub fn parse_rates(bytes: &[u8]) -> Result<BTreeMap<String, Vec<(u64, Bar)>>, CommandError> {
    let (mut reader, index, lines) = open(bytes, &RATE_REQUIRED, &RATE_OPTIONAL)?;
    let mut out: BTreeMap<String, Vec<(u64, Bar)>> = BTreeMap::new();
    for record in reader.records() {
        let record = record.map_err(|e| lines.error(e))?;
        let line = lines.of_record(&record);
        let get = |c: &str| index.get(c).and_then(|&i| record.get(i)).unwrap_or("").trim();
        let date = NaiveDate::parse_from_str(get("date"), "%Y-%m-%d")
            .map_err(|_| bad(line, "date", format!("{:?} is not a date (YYYY-MM-DD)", get("date"))))?;
        let currency = get("currency").to_ascii_uppercase();
        if !domain::ledger::types::valid_currency(&currency) || currency == "USD" {
            return Err(bad(
                line,
                "currency",
                format!("{:?} is not a currency other than the dollar (ISO 4217: EUR, CAD)", get("currency")),
            ));
        }
        let rate = Decimal::from_str(get("usd_per_unit"))
            .ok()
            .filter(|r| *r > Decimal::ZERO)
            .ok_or_else(|| bad(line, "usd_per_unit", format!("{:?} is not a positive number", get("usd_per_unit"))))?;
        let bar = Bar {
            date,
            open: rate,
            high: rate,
            low: rate,
            close: rate,
            volume: Decimal::ZERO,
            adj_close: None,
            vwap: None,
            source: Some(get("source")).filter(|s| !s.is_empty()).map(str::to_owned),
        };
        domain::market::validate(line, &bar)?;
        out.entry(domain::fx::pair(&currency)).or_default().push((line, bar));
    }
    if out.is_empty() {
        return Err(bad(2, "row", "the file has a header but no rows"));
    }
    Ok(out)
}

const SECURITY_REQUIRED: [&str; 3] = ["symbol", "name", "asset_class"];
const SECURITY_OPTIONAL: [&str; 3] = ["sector", "region", "kind"];

/// Parses a securities file (`symbol,name,asset_class`, optionally `sector,region,kind`) into each
/// symbol's line and description; a symbol given twice is refused, naming both lines.
pub fn parse_securities(bytes: &[u8]) -> Result<BTreeMap<String, (u64, domain::market::Security)>, CommandError> {
    let (mut reader, index, lines) = open(bytes, &SECURITY_REQUIRED, &SECURITY_OPTIONAL)?;
    let mut out: BTreeMap<String, (u64, domain::market::Security)> = BTreeMap::new();
    for record in reader.records() {
        let record = record.map_err(|e| lines.error(e))?;
        let line = lines.of_record(&record);
        let get = |c: &str| index.get(c).and_then(|&i| record.get(i)).unwrap_or("").trim();
        let symbol = ticker(line, "symbol", Some(get("symbol")))?.ok_or_else(|| bad(line, "symbol", "is required"))?;
        let asset_class = get("asset_class").parse().map_err(|e: String| bad(line, "asset_class", e))?;
        let optional = |c: &str| Some(get(c)).filter(|v| !v.is_empty()).map(str::to_owned);
        let kind = optional("kind").map(|k| k.parse()).transpose().map_err(|e: String| bad(line, "kind", e))?;
        let security = domain::market::Security {
            name: get("name").to_owned(),
            asset_class,
            sector: optional("sector"),
            region: optional("region"),
            kind,
        };
        if let Some((first, _)) = out.insert(symbol.clone(), (line, security)) {
            return Err(bad(line, "symbol", format!("{symbol} appears twice (also line {first})")));
        }
    }
    if out.is_empty() {
        return Err(bad(2, "row", "the file has a header but no rows"));
    }
    Ok(out)
}
