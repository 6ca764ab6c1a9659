//! Market data questions answered from the `prices` read model: a symbol's recorded bars, and
//! technical indicators over them (`domain::indicators`, TA-Lib's conventions), for `cairn
//! market bars|latest|indicators` and `GET /v1/market/{symbol}/…`.

use chrono::NaiveDate;
use domain::indicators::Indicator;
use domain::market::Bar;
use projections::db::Db;
use projections::prices::PRICES;
use projections::query::{records, Record};

use crate::ledger::ReportError;
use crate::reports::Report;

/// The bars of `symbol` (upper-cased) recorded from `from` to `to` (every one when `None`),
/// oldest first; refused, naming `symbol`, when it has none at all.
pub async fn bars(
    db: &Db,
    symbol: &str,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> Result<Vec<Bar>, ReportError> {
    let symbol = symbol.trim().to_ascii_uppercase();
    let mut filters = vec![("symbol", Some(symbol.clone()))];
    filters.extend(from.map(|f| ("day >=", Some(f.to_string()))));
    filters.extend(to.map(|t| ("day <=", Some(t.to_string()))));
    let rows = records(db, &PRICES, &filters).await?;
    if rows.is_empty() && records(db, &PRICES, &filters[..1]).await?.is_empty() {
        return Err(ReportError::Invalid { field: "symbol", problem: format!("no market data for {symbol}") });
    }
    rows.iter().map(bar_of).collect()
}

fn bar_of(r: &Record) -> Result<Bar, ReportError> {
    let need = |c: &str| r.dec(c).ok_or_else(|| anyhow::anyhow!("prices row without {c}"));
    Ok(Bar {
        date: r.date("day").ok_or_else(|| anyhow::anyhow!("prices row without day"))?,
        open: need("open")?,
        high: need("high")?,
        low: need("low")?,
        close: need("close")?,
        volume: need("volume")?,
        adj_close: r.dec("adj_close"),
        vwap: r.dec("vwap"),
        source: r.text("source").map(str::to_owned),
    })
}

/// Indicators over a symbol's closes, one row per day and output.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct Indicators {
    pub symbol: String,
    /// The specs as read (`rsi:14`, `macd:12:26:9`).
    pub indicators: Vec<String>,
    pub rows: Vec<IndicatorRow>,
}

/// One output of one indicator on one day: `rsi_14`, `macd_signal`, `bb_upper`, …; absent
/// before the indicator has enough days.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct IndicatorRow {
    pub date: NaiveDate,
    pub close: String,
    pub output: String,
    pub value: Option<String>,
}

/// Computes `specs` over every recorded close of `symbol` up to `to`, shown from `from`.
pub async fn indicators(
    db: &Db,
    symbol: &str,
    specs: &[String],
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> Result<Indicators, ReportError> {
    let parsed: Vec<Indicator> = specs
        .iter()
        .map(|s| {
            s.parse().map_err(|e: domain::indicators::IndicatorError| ReportError::Invalid {
                field: "indicator",
                problem: e.to_string(),
            })
        })
        .collect::<Result<_, _>>()?;
    if parsed.is_empty() {
        return Err(ReportError::Invalid {
            field: "indicator",
            problem: "give at least one (rsi:14, sma:20, …)".into(),
        });
    }
    // The indicators need the days before `from` too.
    let all = bars(db, symbol, None, to).await?;
    let mut rows = Vec::new();
    let columns: Vec<domain::indicators::Column> = parsed
        .iter()
        .map(|i| i.compute(&all))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ReportError::Invalid { field: "indicator", problem: e.to_string() })?
        .into_iter()
        .flatten()
        .collect();
    for (i, bar) in all.iter().enumerate() {
        if from.is_some_and(|f| bar.date < f) {
            continue;
        }
        for c in &columns {
            rows.push(IndicatorRow {
                date: bar.date,
                close: bar.close.normalize().to_string(),
                output: c.name.clone(),
                value: c.values[i].map(|v| v.round_dp(6).normalize().to_string()),
            });
        }
    }
    Ok(Indicators {
        symbol: symbol.trim().to_ascii_uppercase(),
        indicators: parsed.iter().map(ToString::to_string).collect(),
        rows,
    })
}

impl Indicators {
    /// The rows as a report: date, close, output, value (values to six decimals).
    pub fn report(&self) -> Report {
        let rows = self
            .rows
            .iter()
            .map(|r| vec![r.date.to_string(), r.close.clone(), r.output.clone(), r.value.clone().unwrap_or_default()])
            .collect();
        Report {
            name: "indicators",
            columns: vec!["date", "close", "output", "value"],
            rows,
            totals: Vec::new(),
            summary: vec![("symbol", serde_json::json!(self.symbol)), ("specs", serde_json::json!(self.indicators))],
        }
    }
}
