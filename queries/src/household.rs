//! What a household is worth: the positions at market value plus the accounts' cash, the
//! total the overview shows. Computed here, once, for the web page, HTTP and the CLI.

use projections::db::Db;
use projections::holdings::{ACCOUNTS, VALUATIONS};
use projections::query::records;
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::Serialize;

use crate::reports::{cents, money, Report};

/// A household's value. Each row's amount is rounded to cents and then added, so the figures
/// are the sums of the amounts the positions and accounts tables show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Value {
    /// The positions at market value (at each symbol's latest close), in US dollars.
    pub positions: String,
    /// The accounts' cash, in US dollars.
    pub cash: String,
    /// `positions` plus `cash`.
    pub total: String,
    /// Positions held that have no price, and so are not counted.
    pub unpriced: u64,
}

/// The value of the household `key` from the `holdings` read models behind `db`.
pub async fn value(db: &Db, key: &str) -> projections::Result<Value> {
    let filters = [("household", Some(key.to_owned()))];
    let (mut positions, mut unpriced) = (Decimal::ZERO, 0);
    for v in records(db, &VALUATIONS, &filters).await? {
        match v.dec("market_value") {
            Some(mv) => positions += cents(mv),
            None if v.dec("quantity").is_some_and(|q| !q.is_zero()) => unpriced += 1,
            None => {}
        }
    }
    let cash: Decimal = records(db, &ACCOUNTS, &filters).await?.iter().filter_map(|a| a.dec("cash")).map(cents).sum();
    Ok(Value { positions: money(positions), cash: money(cash), total: money(positions + cash), unpriced })
}

impl Value {
    /// The value as a one-row report (`cairn ledger value`).
    pub fn report(&self) -> Report {
        Report {
            name: "value",
            columns: vec!["positions", "cash", "total", "unpriced"],
            rows: vec![vec![self.positions.clone(), self.cash.clone(), self.total.clone(), self.unpriced.to_string()]],
            totals: Vec::new(),
            summary: Vec::new(),
        }
    }
}
