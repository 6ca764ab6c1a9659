//! A household's read-model rows as the HTTP API answers them: the table a query reads, the
//! filters its parameters make, and the answer written straight from the rows' text values
//! (amounts with two decimals, as the CLI shows them). The answer's columns are declared with
//! what their values are ([`ColumnInfo`]).

use chrono::{DateTime, Utc};
use projections::db::{Kind, Table};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::ledger::Filter;
use crate::reports::shown;

/// Rows of a read model.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Rows {
    pub household: Option<String>,
    /// The global position of the last event these rows reflect.
    pub position: u64,
    /// The instant of an as-of replay.
    pub as_of: Option<DateTime<Utc>>,
    /// The rows' columns, in order, and what their values are.
    pub columns: Vec<ColumnInfo>,
    /// One object per row, column → value; numbers and dates are strings: amounts with two
    /// decimals (rounded half away from zero, as the CLI shows them), other numbers exact.
    pub rows: Vec<Map<String, Value>>,
}

/// A column of [`Rows`].
#[derive(Debug, Clone, Copy, Serialize, JsonSchema)]
pub struct ColumnInfo {
    pub name: &'static str,
    pub kind: ColumnKind,
}

/// What a column's values are (every value is a string, or null).
#[derive(Debug, Clone, Copy, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ColumnKind {
    Text,
    Integer,
    /// An exact decimal (a quantity, a price, a weight, a fraction).
    Decimal,
    /// An amount of money in US dollars, with two decimals.
    Money,
    /// YYYY-MM-DD.
    Date,
    /// RFC 3339, UTC.
    Instant,
    /// `1` or `0`.
    Flag,
}

/// The columns of a read-model table, as [`Rows`] describes them.
pub fn columns(table: &Table) -> Vec<ColumnInfo> {
    let kind = |k| match k {
        Kind::Text => ColumnKind::Text,
        Kind::Int => ColumnKind::Integer,
        Kind::Dec => ColumnKind::Decimal,
        Kind::Money => ColumnKind::Money,
        Kind::Date => ColumnKind::Date,
        Kind::Time => ColumnKind::Instant,
        Kind::Bool => ColumnKind::Flag,
    };
    table.columns.iter().map(|c| ColumnInfo { name: c.name, kind: kind(c.kind) }).collect()
}

/// Realized gains: the Form 8949 rows (reportable sales: taxable accounts) and their totals
/// per term, equal to those of `cairn ledger gains --format json`. The schema of the answer
/// of a household's rows for the gains view ([`View::body`]), which writes it straight from the text values.
#[derive(Debug, Serialize, JsonSchema)]
pub struct GainRows {
    #[serde(flatten)]
    pub rows: Rows,
    pub totals: crate::reports::GainTotals,
}

/// Rows as objects, column → value as [`Rows`] shows it.
pub fn objects(table: &Table, rows: Vec<projections::db::Row>) -> Vec<Map<String, Value>> {
    rows.into_iter()
        .map(|r| {
            table
                .columns
                .iter()
                .zip(r)
                .map(|(c, v)| {
                    let shown = shown(c.kind, v.as_deref()).map(std::borrow::Cow::into_owned);
                    (c.name.to_owned(), shown.map_or(Value::Null, Value::String))
                })
                .collect()
        })
        .collect()
}

/// What a household query reads: the table and the filters of its parameters.
#[derive(Debug, Clone, Copy)]
pub struct View {
    pub projector: &'static str,
    pub table: &'static Table,
    /// The date column `year` filters on, or `Some("tax_year")` for an exact year.
    pub year: Option<&'static str>,
    pub portfolio: bool,
    /// The answer carries the gains' `totals` per term ([`GainRows`]).
    pub totals: bool,
}

/// A parameter a view does not take.
#[derive(Debug, thiserror::Error)]
#[error("this endpoint does not take {what}")]
pub struct NotTaken {
    /// The parameter.
    pub field: &'static str,
    what: &'static str,
}

impl View {
    /// The filters of a household's rows: its key, then the year (an exact `tax_year`, or the
    /// calendar year of a sale date) and the portfolio where the view takes them. The gains
    /// view reads the Form 8949 rows as the CLI does ([`crate::ledger::gains`]).
    pub fn filters(
        &self,
        household_key: &str,
        year: Option<i32>,
        portfolio: Option<&str>,
    ) -> Result<Vec<Filter>, NotTaken> {
        let mut filters: Vec<Filter> = vec![("household", Some(household_key.to_owned()))];
        match (self.year, year) {
            (Some("tax_year"), Some(y)) => filters.push(("tax_year", Some(y.to_string()))),
            (Some(column), Some(y)) => {
                let (from, to) = if column == "date_sold" {
                    ("date_sold >=", "date_sold <=")
                } else {
                    ("sale_date >=", "sale_date <=")
                };
                filters.push((from, Some(format!("{y:04}-01-01"))));
                filters.push((to, Some(format!("{y:04}-12-31"))));
            }
            (None, Some(_)) => return Err(NotTaken { field: "year", what: "a year" }),
            _ => {}
        }
        if self.totals {
            filters = crate::ledger::gains(household_key, year);
        }
        match (self.portfolio, portfolio) {
            (true, Some(name)) => filters.push(("portfolio", Some(domain::ledger::household_key(name)))),
            (false, Some(_)) => return Err(NotTaken { field: "portfolio", what: "a portfolio" }),
            _ => {}
        }
        Ok(filters)
    }

    /// The answer's `"columns":[…],"rows":[…]` (and, for gains, `,"totals":{…}`), written straight from the
    /// text values, amounts with two decimals.
    pub fn body(&self, rows: Vec<projections::db::Row>) -> std::sync::Arc<str> {
        let (view, table) = (self, self.table);
        let mut out: Vec<u8> = Vec::with_capacity(rows.len() * 160 + table.columns.len() * 40 + 20);
        out.extend_from_slice(b"\"columns\":");
        let _ = serde_json::to_writer(&mut out, &columns(table));
        out.extend_from_slice(b",\"rows\":[");
        for (i, row) in rows.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.push(b'{');
            for (j, (column, value)) in table.columns.iter().zip(row).enumerate() {
                if j > 0 {
                    out.push(b',');
                }
                let _ = serde_json::to_writer(&mut out, column.name);
                out.push(b':');
                let _ = serde_json::to_writer(&mut out, &shown(column.kind, value.as_deref()));
            }
            out.push(b'}');
        }
        out.push(b']');
        if view.totals {
            out.extend_from_slice(b",\"totals\":");
            let records = projections::query::records_of(table, rows);
            let _ = serde_json::to_writer(&mut out, &crate::reports::gain_totals(&records));
        }
        String::from_utf8(out).expect("JSON is UTF-8").into()
    }
}

#[cfg(test)]
mod tests {
    use projections::holdings::{ALLOCATIONS, CONTRIBUTIONS, GAINS, POSITIONS};

    use super::*;

    fn view(table: &'static Table, year: Option<&'static str>, portfolio: bool, totals: bool) -> View {
        View { projector: "holdings", table, year, portfolio, totals }
    }

    #[test]
    fn a_year_filters_the_views_date_or_tax_year() {
        let gains = view(&GAINS, Some("date_sold"), false, true);
        assert_eq!(
            gains.filters("smith", Some(2025), None).unwrap(),
            vec![
                ("household", Some("smith".to_owned())),
                ("reportable", Some("1".to_owned())),
                ("date_sold >=", Some("2025-01-01".to_owned())),
                ("date_sold <=", Some("2025-12-31".to_owned())),
            ],
            "the gains view reads the CLI's Form 8949 rows"
        );
        let contributions = view(&CONTRIBUTIONS, Some("tax_year"), false, false);
        assert_eq!(
            contributions.filters("smith", Some(2024), None).unwrap(),
            vec![("household", Some("smith".to_owned())), ("tax_year", Some("2024".to_owned()))]
        );
    }

    #[test]
    fn a_parameter_the_view_does_not_take_is_named() {
        let positions = view(&POSITIONS, None, false, false);
        let e = positions.filters("smith", Some(2025), None).unwrap_err();
        assert_eq!((e.field, e.to_string().as_str()), ("year", "this endpoint does not take a year"));
        let e = positions.filters("smith", None, Some("Growth")).unwrap_err();
        assert_eq!((e.field, e.to_string().as_str()), ("portfolio", "this endpoint does not take a portfolio"));
        let allocations = view(&ALLOCATIONS, None, true, false);
        assert_eq!(
            allocations.filters("smith", None, Some("Growth Fund")).unwrap()[1],
            ("portfolio", Some(domain::ledger::household_key("Growth Fund")))
        );
    }
}
