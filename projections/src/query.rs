//! Reading the read models back: rows as [`Record`]s whose values are looked up by column name.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::db::{Column, Db, Row, Table};
use crate::Result;

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

/// Rows of `table` (the generation in service) matching `filters` (see [`Db::select`]).
pub async fn records(db: &Db, table: &Table, filters: &[(&str, Option<String>)]) -> Result<Vec<Record>> {
    Ok(db.select(table, filters).await?.into_iter().map(|r| Record::new(table, r)).collect())
}

/// Rows built in memory (e.g. a book computed as at a trade date), read like stored ones.
pub fn records_of(table: &Table, rows: Vec<Row>) -> Vec<Record> {
    rows.into_iter().map(|r| Record::new(table, r)).collect()
}
