//! Balance assertions, as in Beancount's `balance` directive: "at the end of day D, account A
//! held Q shares of S" (or C of cash), typed in or taken from a broker's statement of
//! positions. An assertion is a fact recorded in the ledger (`BalanceAsserted`); checking it
//! compares it with what the ledger's rows say the account held at the end of that day (the
//! lot engine's timeline: every row dated on or before D), so a row missed, doubled or
//! mistyped shows up as a difference, and a late or corrected row can make a failing
//! assertion pass (or a passing one fail) when checked again.
//!
//! **Tolerance** (Beancount, "Precision & Tolerances"): an asserted number matches when the
//! difference is at most half a unit of its last decimal place: `10.123` shares tolerate
//! 0.0005, `2500.00` of cash tolerates 0.005, `100` shares 0.5. Give the broker's number as the
//! broker prints it.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::lots::timeline;
use super::Ledger;
use crate::DomainError;

/// What an account held at the end of a day, according to someone other than the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assertion {
    pub account: String,
    pub date: NaiveDate,
    /// The shares of this symbol; the account's cash when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub symbol: Option<String>,
    /// As the statement prints it (its decimal places set the tolerance).
    pub quantity: Decimal,
    /// Where it came from (`typed`, a statement's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// An assertion checked against the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    pub assertion: Assertion,
    /// What the rows say the account held at the end of the day.
    pub actual: Decimal,
    /// `actual - quantity`.
    pub difference: Decimal,
    /// Half a unit of the asserted number's last decimal place.
    pub tolerance: Decimal,
    pub holds: bool,
}

/// One holding's quantity after each row that changed it, by date.
type Changes = Vec<(NaiveDate, Decimal)>;

/// Half a unit of `asserted`'s last decimal place (Beancount's inferred tolerance).
pub fn tolerance(asserted: Decimal) -> Decimal {
    Decimal::new(5, asserted.scale() + 1)
}

/// Checks every assertion of the ledger, in date order.
pub fn check(ledger: &Ledger) -> Result<Vec<Checked>, DomainError> {
    if ledger.assertions.is_empty() {
        return Ok(Vec::new());
    }
    let book = timeline(&ledger.accounts, &ledger.trades).map_err(|e| DomainError::Rejected {
        line: e.source_line,
        field: e.field.to_owned(),
        problem: format!("{} ({})", e.problem, e.trade_id),
    })?;
    // Each holding's changes in replay order (dates never decrease along the timeline).
    let mut changes: BTreeMap<(&str, Option<&str>), Changes> = BTreeMap::new();
    for h in &book.timeline {
        changes.entry((h.account.as_str(), h.symbol.as_deref())).or_default().push((h.date, h.quantity));
    }
    let mut out: Vec<Checked> = ledger
        .assertions
        .iter()
        .map(|a| {
            let series = changes.get(&(a.account.as_str(), a.symbol.as_deref()));
            let actual = series.map_or(Decimal::ZERO, |s| {
                let n = s.partition_point(|(d, _)| *d <= a.date);
                n.checked_sub(1).map_or(Decimal::ZERO, |i| s[i].1)
            });
            let difference = actual - a.quantity;
            let tolerance = tolerance(a.quantity);
            Checked { assertion: a.clone(), actual, difference, tolerance, holds: difference.abs() <= tolerance }
        })
        .collect();
    out.sort_by(|x, y| {
        (x.assertion.date, &x.assertion.account, &x.assertion.symbol).cmp(&(
            y.assertion.date,
            &y.assertion.account,
            &y.assertion.symbol,
        ))
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;

    #[test]
    fn the_tolerance_is_half_a_unit_of_the_last_place() {
        assert_eq!(tolerance(dec!(10.123)), dec!(0.0005));
        assert_eq!(tolerance(dec!(2500.00)), dec!(0.005));
        assert_eq!(tolerance(dec!(100)), dec!(0.5));
    }
}
