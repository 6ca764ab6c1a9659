//! Market data questions answered from the `prices` read model: a symbol's recorded bars, and
//! technical indicators over them (`domain::indicators`, TA-Lib's conventions), and their data
//! quality (grades, flags, refused bars), for `cairn market bars|latest|indicators|quality`
//! and `GET /v1/prices/{symbol}/…`.

use chrono::NaiveDate;
use domain::indicators::Indicator;
use domain::market::Bar;
use projections::db::Db;
use projections::prices::{PRICES, PRICE_REJECTIONS};
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

/// One day of a symbol's data quality: a recorded bar with its grade and flags, or a bar a
/// provider sent that was refused.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct QualityRow {
    pub date: NaiveDate,
    /// `recorded`, or `refused` (not used as a price).
    pub status: &'static str,
    /// The provider (or `consensus:a+b`); empty when a file gave no source.
    pub source: Option<String>,
    pub close: String,
    /// excellent, good, fair or poor; absent for a refused bar, and for a bar imported from a
    /// file (not checked against its history).
    pub grade: Option<String>,
    /// The checks that found something, `; `-separated (`price_jump; volume_spike`).
    pub checks: Option<String>,
    pub reasons: Option<String>,
}

/// A symbol's data quality over a range of days.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct Quality {
    pub symbol: String,
    /// Recorded bars by grade (`excellent`, …, and `unchecked`).
    pub grades: std::collections::BTreeMap<String, usize>,
    pub refused: usize,
    /// Day by day, a refused bar after the recorded one of its day.
    pub rows: Vec<QualityRow>,
}

/// The grades and flags of `symbol`'s bars from `from` to `to`, and the bars refused.
pub async fn quality(
    db: &Db,
    symbol: &str,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> Result<Quality, ReportError> {
    let symbol = symbol.trim().to_ascii_uppercase();
    let mut filters = vec![("symbol", Some(symbol.clone()))];
    filters.extend(from.map(|f| ("day >=", Some(f.to_string()))));
    filters.extend(to.map(|t| ("day <=", Some(t.to_string()))));
    let recorded = records(db, &PRICES, &filters).await?;
    let refused = records(db, &PRICE_REJECTIONS, &filters).await?;
    if recorded.is_empty()
        && refused.is_empty()
        && records(db, &PRICES, &filters[..1]).await?.is_empty()
        && records(db, &PRICE_REJECTIONS, &filters[..1]).await?.is_empty()
    {
        return Err(ReportError::Invalid { field: "symbol", problem: format!("no market data for {symbol}") });
    }
    let text = |r: &Record, c: &str| r.text(c).filter(|t| !t.is_empty()).map(str::to_owned);
    let row = |r: &Record, status: &'static str, reasons: &str| -> Result<QualityRow, ReportError> {
        Ok(QualityRow {
            date: r.date("day").ok_or_else(|| anyhow::anyhow!("a quality row without its day"))?,
            status,
            source: text(r, "source"),
            close: r.dec("close").map(|d| d.normalize().to_string()).unwrap_or_default(),
            grade: text(r, "grade"),
            checks: text(r, "checks"),
            reasons: text(r, reasons),
        })
    };
    let mut rows = Vec::with_capacity(recorded.len() + refused.len());
    let mut grades = std::collections::BTreeMap::new();
    for r in &recorded {
        let q = row(r, "recorded", "flags")?;
        *grades.entry(q.grade.clone().unwrap_or_else(|| "unchecked".into())).or_insert(0) += 1;
        rows.push(q);
    }
    for r in &refused {
        rows.push(row(r, "refused", "reasons")?);
    }
    // A day's recorded bar first, then what was refused for it, by provider.
    rows.sort_by(|a, b| (a.date, a.status, &a.source).cmp(&(b.date, b.status, &b.source)));
    Ok(Quality { symbol, grades, refused: refused.len(), rows })
}

impl Quality {
    /// The rows as a report; with `problems`, only flagged and refused bars.
    pub fn report(&self, problems: bool) -> Report {
        let rows = self
            .rows
            .iter()
            .filter(|r| !problems || r.status == "refused" || r.checks.is_some())
            .map(|r| {
                vec![
                    r.date.to_string(),
                    r.status.to_owned(),
                    r.source.clone().unwrap_or_default(),
                    r.close.clone(),
                    r.grade.clone().unwrap_or_default(),
                    r.checks.clone().unwrap_or_default(),
                    r.reasons.clone().unwrap_or_default(),
                ]
            })
            .collect();
        Report {
            name: "quality",
            columns: vec!["date", "status", "source", "close", "grade", "checks", "reasons"],
            rows,
            totals: Vec::new(),
            summary: vec![
                ("symbol", serde_json::json!(self.symbol)),
                ("grades", serde_json::json!(self.grades)),
                ("refused", serde_json::json!(self.refused)),
            ],
        }
    }
}
