//! Market data imports: a CSV of daily bars, recorded on one `market-<SYMBOL>` stream per
//! symbol in a single transaction (all or nothing).
//!
//! Columns: `date,symbol,open,high,low,close,volume`, optionally `adj_close,vwap,source`.

use std::collections::BTreeMap;
use std::str::FromStr;

use chrono::NaiveDate;
use domain::market::{decide, Bar, MarketEvent};
use event_store::{EventStore, StreamId, StreamWrite};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::aggregate::{self, Caller};
use crate::csv_file::{bad, open, ticker};
use crate::CommandError;

pub const MARKET_SCHEMA_VERSION: u32 = domain::market::SCHEMA_VERSION;
const REQUIRED: [&str; 7] = ["date", "symbol", "open", "high", "low", "close", "volume"];
const OPTIONAL: [&str; 3] = ["adj_close", "vwap", "source"];

/// `market-<SYMBOL>`, the symbol upper-cased ([`domain::streams`]).
pub fn market_stream(symbol: &str) -> Result<StreamId, CommandError> {
    crate::stream_id(&domain::streams::Stream::market(symbol)?)
}

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

/// What an import recorded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MarketImport {
    pub symbols: usize,
    pub bars: usize,
    pub recorded: usize,
    pub revised: usize,
    pub unchanged: usize,
}

/// Imports a file of daily bars; every symbol's stream is written in one transaction.
pub async fn import_csv<S: EventStore>(store: &S, bytes: &[u8], caller: &Caller) -> Result<MarketImport, CommandError> {
    let by_symbol = parse_csv(bytes)?;
    let command_id = Uuid::now_v7();
    let metadata = aggregate::metadata(command_id, caller);
    let started = std::time::Instant::now();
    for attempt in 1.. {
        let mut planned = Vec::new();
        let mut summary = MarketImport { symbols: by_symbol.len(), ..Default::default() };
        for (symbol, bars) in &by_symbol {
            let stream = market_stream(symbol)?;
            let (state, version) = aggregate::load::<domain::market::MarketDecider, S>(store, &stream).await?;
            let events = decide(&state, symbol, bars)?;
            summary.bars += bars.len();
            summary.unchanged += bars.len() - events.len();
            summary.revised += events.iter().filter(|e| matches!(e, MarketEvent::BarRevised { .. })).count();
            summary.recorded += events.iter().filter(|e| matches!(e, MarketEvent::BarRecorded { .. })).count();
            if events.is_empty() {
                continue;
            }
            let new = aggregate::new_events::<domain::market::MarketDecider>(&events, &metadata)?;
            let expected = aggregate::expect(version);
            planned.push((stream, expected, new));
        }
        if planned.is_empty() {
            return Ok(summary);
        }
        let writes: Vec<StreamWrite<'_>> = planned
            .iter()
            .map(|(stream, expected, events)| StreamWrite { stream, expected: *expected, events })
            .collect();
        match store.append_many(&writes).await {
            Ok(_) => return Ok(summary),
            Err(e) if e.is_conflict() => {
                if started.elapsed() >= aggregate::RETRY_FOR {
                    break;
                }
                tracing::debug!(attempt, "market data changed while importing; deciding again");
                tokio::time::sleep(aggregate::backoff(attempt, command_id)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(CommandError::Contention("market".into()))
}

/// A symbol's daily bars between two dates (inclusive), in date order.
pub async fn bars<S: EventStore>(
    store: &S,
    symbol: &str,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> Result<Vec<Bar>, CommandError> {
    let stream = market_stream(symbol)?;
    let (market, version) = aggregate::load::<domain::market::MarketDecider, S>(store, &stream).await?;
    if version == 0 {
        return Err(CommandError::invalid("symbol", format!("no market data for {}", symbol.to_ascii_uppercase())));
    }
    let from = from.unwrap_or(NaiveDate::MIN);
    let to = to.unwrap_or(NaiveDate::MAX);
    Ok(market.bars.range(from..=to).map(|(_, b)| b.clone()).collect())
}
