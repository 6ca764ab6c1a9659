//! Balance assertions checked against the ledger ([`domain::ledger::balances`]), as a report
//! for `cairn ledger balances` and `GET /v1/households/{h}/balances`.

use domain::ledger::balances::Checked;
use projections::db::Db;
use schemars::JsonSchema;
use serde::Serialize;

use crate::ledger::ReportError;
use crate::reports::{money, quantity, Report};

/// One assertion and what the ledger says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct BalanceRow {
    pub date: chrono::NaiveDate,
    pub account: String,
    /// The symbol, or `cash`.
    pub holding: String,
    pub asserted: String,
    /// What the rows say the account held at the end of the day.
    pub actual: String,
    /// `actual - asserted`.
    pub difference: String,
    pub tolerance: String,
    /// `ok`, or `mismatch` beyond the tolerance.
    pub status: String,
    pub source: Option<String>,
}

/// Every assertion of the household, checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Balances {
    pub household: String,
    pub assertions: Vec<BalanceRow>,
    /// How many do not hold.
    pub mismatches: usize,
}

/// The household `key`'s assertions checked against the ledger the `holdings` projection holds.
pub async fn check(db: &Db, household: &str) -> Result<Balances, ReportError> {
    let key = domain::ledger::household_key(household);
    let ledger =
        projections::holdings::ledger_of(db, &key).await?.ok_or_else(|| ReportError::NoLedger(household.to_owned()))?;
    let checked = tokio::task::spawn_blocking(move || domain::ledger::balances::check(&ledger))
        .await
        .map_err(|e| anyhow::anyhow!("the balance check failed: {e}"))?
        .map_err(anyhow::Error::from)?;
    let assertions: Vec<BalanceRow> = checked.iter().map(row).collect();
    let mismatches = checked.iter().filter(|c| !c.holds).count();
    Ok(Balances { household: key, assertions, mismatches })
}

fn row(c: &Checked) -> BalanceRow {
    let a = &c.assertion;
    // Cash in dollars and cents; shares exact.
    let shown = |d: rust_decimal::Decimal| if a.symbol.is_some() { quantity(d) } else { money(d) };
    BalanceRow {
        date: a.date,
        account: a.account.clone(),
        holding: a.symbol.clone().unwrap_or_else(|| "cash".to_owned()),
        asserted: a.quantity.to_string(),
        actual: shown(c.actual),
        difference: shown(c.difference),
        tolerance: c.tolerance.to_string(),
        status: if c.holds { "ok" } else { "mismatch" }.to_owned(),
        source: a.source.clone(),
    }
}

impl Balances {
    pub fn report(&self) -> Report {
        let rows = self
            .assertions
            .iter()
            .map(|r| {
                vec![
                    r.date.to_string(),
                    r.account.clone(),
                    r.holding.clone(),
                    r.asserted.clone(),
                    r.actual.clone(),
                    r.difference.clone(),
                    r.status.clone(),
                    r.source.clone().unwrap_or_default(),
                ]
            })
            .collect();
        Report {
            name: "balances",
            columns: vec!["date", "account", "holding", "asserted", "actual", "difference", "status", "source"],
            rows,
            totals: Vec::new(),
            summary: vec![("mismatches", serde_json::json!(self.mismatches))],
        }
    }
}
