//! The description of a read-model table ([`Table`], its [`Column`]s and their [`Kind`]s) and
//! rows in their canonical text form ([`Row`], [`Cell`]).

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;

/// A column's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Int,
    Dec,
    /// An amount of money: stored exactly like [`Kind::Dec`] (same column types, casts and
    /// canonical text), marked so that readers can show it with two decimals.
    Money,
    Date,
    Time,
    Bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    pub kind: Kind,
}

pub const fn col(name: &'static str, kind: Kind) -> Column {
    Column { name, kind }
}

/// A read-model table: its columns, its primary key (also the canonical order for digests) and
/// the column that scopes rows to one aggregate (a household, a symbol, a user), so that a
/// projector can replace everything it derived for that aggregate at once.
#[derive(Debug)]
pub struct Table {
    pub name: &'static str,
    pub columns: &'static [Column],
    pub key: &'static [&'static str],
    pub scope: &'static str,
    /// A time series on its `day` column: a TimescaleDB hypertable where the extension can be
    /// created, else a table range-partitioned by month with a BRIN index (PostgreSQL only).
    pub time_series: bool,
}

impl Table {
    pub fn physical(&self, generation: i64) -> String {
        format!("{}_g{generation}", self.name)
    }

    pub(super) fn kind_of(&self, column: &str) -> Kind {
        self.columns.iter().find(|c| c.name == column).map_or(Kind::Text, |c| c.kind)
    }
}

/// One row, in column order.
pub type Row = Vec<Option<String>>;

/// A value as it is stored (see the module documentation).
pub trait Cell {
    fn cell(&self) -> Option<String>;
}

impl Cell for str {
    fn cell(&self) -> Option<String> {
        Some(self.to_owned())
    }
}
impl Cell for String {
    fn cell(&self) -> Option<String> {
        Some(self.clone())
    }
}
impl Cell for Decimal {
    fn cell(&self) -> Option<String> {
        Some(self.normalize().to_string())
    }
}
impl Cell for NaiveDate {
    fn cell(&self) -> Option<String> {
        Some(self.format("%Y-%m-%d").to_string())
    }
}
impl Cell for DateTime<Utc> {
    fn cell(&self) -> Option<String> {
        Some(self.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string())
    }
}
impl Cell for bool {
    fn cell(&self) -> Option<String> {
        Some(if *self { "1" } else { "0" }.to_owned())
    }
}
macro_rules! int_cell {
    ($($t:ty),*) => {$(
        impl Cell for $t {
            fn cell(&self) -> Option<String> {
                Some(self.to_string())
            }
        }
    )*};
}
int_cell!(i32, i64, u32, u64, usize);
impl<T: Cell> Cell for Option<T> {
    fn cell(&self) -> Option<String> {
        self.as_ref().and_then(Cell::cell)
    }
}
impl<T: Cell + ?Sized> Cell for &T {
    fn cell(&self) -> Option<String> {
        (**self).cell()
    }
}

/// Builds a [`Row`] from values of mixed types.
#[macro_export]
macro_rules! row {
    ($($v:expr),* $(,)?) => { vec![$($crate::db::Cell::cell(&$v)),*] };
}
