//! Reading the read models back: rows as [`Record`]s whose values are looked up by column name.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::db::{matches, Column, Db, Row, Table};
use crate::holdings::LOTS;
use crate::{Error, Result};

/// One row of a read model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    columns: &'static [Column],
    values: Row,
}

impl Record {
    pub fn new(table: &Table, values: Row) -> Self {
        Self { columns: table.columns, values }
    }

    /// The value of `column` as stored (text), `None` for NULL or an unknown column.
    pub fn text(&self, column: &str) -> Option<&str> {
        let i = self.columns.iter().position(|c| c.name == column)?;
        self.values.get(i)?.as_deref()
    }

    /// The value, or the empty string for NULL.
    pub fn str(&self, column: &str) -> &str {
        self.text(column).unwrap_or("")
    }

    pub fn dec(&self, column: &str) -> Option<Decimal> {
        self.text(column).and_then(|v| v.parse().ok())
    }

    pub fn date(&self, column: &str) -> Option<NaiveDate> {
        self.text(column).and_then(|v| NaiveDate::parse_from_str(v, "%Y-%m-%d").ok())
    }

    pub fn flag(&self, column: &str) -> bool {
        matches!(self.text(column), Some("1" | "true" | "t"))
    }
}

/// Rows of `table` (the generation in service) matching `filters` (see [`Db::select`]), in
/// primary-key order. A table computed on read ([`crate::holdings::DERIVED`]) is computed for
/// the household its filters name (they must name one) and filtered in memory the same way.
pub async fn select(db: &Db, table: &Table, filters: &[(&str, Option<String>)]) -> Result<Vec<Row>> {
    if !crate::holdings::is_derived(table) {
        return db.select(table, filters).await;
    }
    let household = filters.iter().find(|(column, _)| *column == "household").and_then(|(_, v)| v.as_deref());
    let Some(household) = household else {
        return Err(Error::Config(format!("{} is computed per household: name one", table.name)));
    };
    let mut rows = crate::holdings::derived_rows(db, table, household).await?;
    rows.retain(|r| matches(table, r, filters));
    Ok(rows)
}

/// The token of one scope's rows of `table` in `generation` (see [`Db::scope_version`]): a
/// table computed on read changes exactly when the household's stored `lots` are rewritten
/// (every change of its ledger), so it shares their token.
pub async fn scope_version(db: &Db, table: &Table, generation: i64, scope: &str) -> Result<Option<String>> {
    let stored = if crate::holdings::is_derived(table) { &LOTS } else { table };
    db.scope_version(stored, generation, scope).await
}

/// Rows of `table` matching `filters` (see [`select`]), as [`Record`]s.
pub async fn records(db: &Db, table: &Table, filters: &[(&str, Option<String>)]) -> Result<Vec<Record>> {
    Ok(select(db, table, filters).await?.into_iter().map(|r| Record::new(table, r)).collect())
}

/// Rows of a stored `table` whose `column` is one of `values` (see [`Db::select_in`]), as
/// [`Record`]s.
pub async fn records_in(db: &Db, table: &Table, column: &str, values: &[String]) -> Result<Vec<Record>> {
    if crate::holdings::is_derived(table) {
        return Err(Error::Config(format!("{} is computed per household: name one", table.name)));
    }
    Ok(db.select_in(table, column, values).await?.into_iter().map(|r| Record::new(table, r)).collect())
}

/// Rows built in memory (e.g. a book computed as at a trade date), read like stored ones.
pub fn records_of(table: &Table, rows: Vec<Row>) -> Vec<Record> {
    rows.into_iter().map(|r| Record::new(table, r)).collect()
}
