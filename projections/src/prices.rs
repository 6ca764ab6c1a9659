//! The `prices` projector: daily bars from the `market-<SYMBOL>` streams as a time series.
//!
//! On PostgreSQL the table is a TimescaleDB hypertable (monthly chunks, compressed after 90
//! days) when the extension can be created in the database, else a table range-partitioned by
//! month with a BRIN index on `day`; on SQLite, a plain table keyed by (symbol, day). Each row
//! keeps the global position of the event that recorded it, so a valuation can be traced to
//! its bar, and whether it was a revision. The `securities` table is the security master: each
//! symbol's latest description (name, asset class, sector, region).
//!
//! Data quality: a bar that came from a provider through the checks (`cairn market fetch`)
//! keeps its grade (`excellent`, `good`, `fair`, `poor`) and its flags (`checks`: the checks'
//! names, `flags`: their reasons, `; `-separated); a bar imported from a file has none (it was
//! not checked against its history). The `price_rejections` table keeps each bar a provider
//! sent that the checks refused (`BarRejected`), by symbol, day and provider, with the reasons:
//! the latest refusal of each.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use domain::market::MarketEvent;
use event_store::{StoredEvent, Upcasters};

use crate::db::{col, Db, Kind::*, Row, Table, Tx};
use crate::{row, Error, Result};

pub const PRICES: Table = Table {
    name: "prices",
    columns: &[
        col("symbol", Text),
        col("day", Date),
        col("open", Dec),
        col("high", Dec),
        col("low", Dec),
        col("close", Dec),
        col("adj_close", Dec),
        col("volume", Dec),
        col("vwap", Dec),
        col("source", Text),
        col("revised", Bool),
        col("grade", Text),
        col("checks", Text),
        col("flags", Text),
        col("position", Int),
    ],
    key: &["symbol", "day"],
    scope: "symbol",
    time_series: true,
};

/// Bars a provider sent that the checks refused: the latest refusal per symbol, day and
/// provider, with the bar's close and why.
pub const PRICE_REJECTIONS: Table = Table {
    name: "price_rejections",
    columns: &[
        col("symbol", Text),
        col("day", Date),
        col("source", Text),
        col("close", Dec),
        col("checks", Text),
        col("reasons", Text),
        col("position", Int),
    ],
    key: &["symbol", "day", "source"],
    scope: "symbol",
    time_series: false,
};

/// The security master: each symbol's latest description (`SecurityDescribed`), with the
/// position of the event that gave it.
pub const SECURITIES: Table = Table {
    name: "securities",
    columns: &[
        col("symbol", Text),
        col("name", Text),
        col("asset_class", Text),
        col("sector", Text),
        col("region", Text),
        col("kind", Text),
        col("position", Int),
    ],
    key: &["symbol"],
    scope: "symbol",
    time_series: false,
};

#[derive(Default)]
pub struct Prices {
    pending: BTreeMap<(String, NaiveDate), Row>,
    securities: BTreeMap<String, Row>,
    rejections: BTreeMap<(String, NaiveDate, String), Row>,
    upcasters: Upcasters,
}

impl Prices {
    pub const NAME: &'static str = "prices";
    /// 2: the `securities` table. 3: grades, flags and `price_rejections`. 4: a security's
    /// `kind` (stock, fund, option, bond: Form 8949's coverage dates).
    pub const VERSION: i64 = 4;
    pub const CATEGORIES: &'static [&'static str] = &["market"];
    pub const TABLES: &'static [&'static Table] = &[&PRICES, &SECURITIES, &PRICE_REJECTIONS];

    pub(crate) fn reset(&mut self) {
        self.pending.clear();
        self.securities.clear();
        self.rejections.clear();
    }

    pub(crate) async fn absorb(&mut self, _db: &Db, _generation: i64, events: &[StoredEvent]) -> Result<()> {
        for e in events {
            let event: MarketEvent = self
                .upcasters
                .decode_versioned(e, domain::market::SCHEMA_VERSION)
                .map_err(|x| Error::Decode { position: e.global_position, problem: x.to_string() })?;
            let (symbol, bar, revised, quality) = match &event {
                MarketEvent::BarRecorded { symbol, bar, quality } => (symbol, bar, false, quality),
                MarketEvent::BarRevised { symbol, bar, quality, .. } => (symbol, bar, true, quality),
                MarketEvent::BarRejected { symbol, bar, findings } => {
                    let source = bar.source.clone().unwrap_or_default();
                    let (checks, reasons) = joined(findings);
                    let r = row![symbol, bar.date, source, bar.close, checks, reasons, e.global_position];
                    self.rejections.insert((symbol.clone(), bar.date, source), r);
                    continue;
                }
                MarketEvent::SecurityDescribed { symbol, security } => {
                    let r = row![
                        symbol,
                        security.name,
                        security.asset_class.as_str(),
                        security.sector,
                        security.region,
                        security.kind.map(|k| k.as_str()),
                        e.global_position,
                    ];
                    self.securities.insert(symbol.clone(), r);
                    continue;
                }
            };
            let flags = quality.as_ref().filter(|q| !q.findings.is_empty()).map(|q| joined(&q.findings));
            let r = row![
                symbol,
                bar.date,
                bar.open,
                bar.high,
                bar.low,
                bar.close,
                bar.adj_close,
                bar.volume,
                bar.vwap,
                bar.source,
                revised,
                quality.as_ref().map(|q| q.grade.as_str()),
                flags.as_ref().map(|f| &f.0),
                flags.as_ref().map(|f| &f.1),
                e.global_position,
            ];
            self.pending.insert((symbol.clone(), bar.date), r);
        }
        Ok(())
    }

    pub(crate) async fn flush(&mut self, db: &Db, tx: &mut Tx, generation: i64) -> Result<()> {
        let rows: Vec<Row> = std::mem::take(&mut self.pending).into_values().collect();
        db.insert(tx, &PRICES, generation, &rows, true).await?;
        let rows: Vec<Row> = std::mem::take(&mut self.securities).into_values().collect();
        db.insert(tx, &SECURITIES, generation, &rows, true).await?;
        let rows: Vec<Row> = std::mem::take(&mut self.rejections).into_values().collect();
        db.insert(tx, &PRICE_REJECTIONS, generation, &rows, true).await
    }
}

/// The findings' check names and reasons, each `; `-separated (empty strings for none).
fn joined(findings: &[domain::quality::Finding]) -> (String, String) {
    let checks: Vec<&str> = findings.iter().map(|f| f.check.as_str()).collect();
    let reasons: Vec<&str> = findings.iter().map(|f| f.reason.as_str()).collect();
    (checks.join("; "), reasons.join("; "))
}

/// The latest close of each of `symbols` dated on or before `until`, by symbol (a symbol with
/// none is absent): one row per symbol found through the key, however long its history.
pub async fn latest_closes(
    db: &Db,
    symbols: &[String],
    until: NaiveDate,
) -> Result<std::collections::BTreeMap<String, rust_decimal::Decimal>> {
    let mut out = std::collections::BTreeMap::new();
    for chunk in symbols.chunks(crate::db::IN_CHUNK) {
        let list: Vec<String> = (1..=chunk.len()).map(|i| db.param(i, Text)).collect();
        let until_param = db.param(chunk.len() + 1, Date);
        let sql = format!(
            "SELECT p.symbol, {} FROM {prices} p WHERE p.symbol IN ({}) AND p.day = \
             (SELECT MAX(q.day) FROM {prices} q WHERE q.symbol = p.symbol AND q.day <= {until_param})",
            db.text("p.close", Dec),
            list.join(", "),
            prices = PRICES.name,
        );
        let mut params: Vec<Option<String>> = chunk.iter().cloned().map(Some).collect();
        params.push(Some(until.to_string()));
        for row in db.fetch(&sql, &params).await? {
            let [Some(symbol), Some(close)] =
                <[Option<String>; 2]>::try_from(row).map_err(|_| Error::Config("a close row of two columns".into()))?
            else {
                continue;
            };
            let close = close
                .parse()
                .map_err(|_| Error::Config(format!("prices: close {close:?} of {symbol} does not parse")))?;
            out.insert(symbol, close);
        }
    }
    Ok(out)
}

/// Every close of `symbols` dated on or before `until`, as `(symbol, day, close)`: the three
/// columns a valuation history needs, in one query (far less to move than whole rows).
pub async fn closes(
    db: &Db,
    symbols: &[String],
    until: NaiveDate,
) -> Result<Vec<(String, NaiveDate, rust_decimal::Decimal)>> {
    if symbols.is_empty() {
        return Ok(Vec::new());
    }
    let list: Vec<String> = (1..=symbols.len()).map(|i| db.param(i, Text)).collect();
    let sql = format!(
        "SELECT symbol, {}, {} FROM {} WHERE symbol IN ({}) AND day <= {}",
        db.text("day", Date),
        db.text("close", Dec),
        PRICES.name,
        list.join(", "),
        db.param(symbols.len() + 1, Date),
    );
    let mut params: Vec<Option<String>> = symbols.iter().cloned().map(Some).collect();
    params.push(Some(until.to_string()));
    let mut out = Vec::new();
    for row in db.fetch(&sql, &params).await? {
        let [Some(symbol), Some(day), Some(close)] =
            <[Option<String>; 3]>::try_from(row).map_err(|_| Error::Config("a close row of three columns".into()))?
        else {
            continue;
        };
        let bad = |what: &str, text: &str| Error::Config(format!("prices: {what} {text:?} of {symbol} does not parse"));
        let day = day.parse().map_err(|_| bad("day", &day))?;
        let close = close.parse().map_err(|_| bad("close", &close))?;
        out.push((symbol, day, close));
    }
    Ok(out)
}
