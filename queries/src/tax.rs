//! `cairn tax estimate` and `GET /v1/households/{h}/tax/estimate`: a year's federal income tax
//! (`domain::tax`) from what the ledger knows (interest and dividends paid in taxable
//! accounts, the year's Form 8949 sales, the losses carried from its earlier years, the filing
//! status and the members' ages) and what the caller adds (wages, other income, itemized
//! deductions; any of the ledger's figures may be given instead).

use domain::ledger::types::FilingStatus;
use domain::tax::{Filer, Income};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::ledger::ReportError;
use crate::reports::{money, Report};

/// What the caller gives beside the ledger.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Given {
    pub wages: Decimal,
    pub other_income: Decimal,
    pub itemized: Decimal,
    /// The ledger's filing status unless given.
    pub status: Option<FilingStatus>,
    /// The members 65 or older by their birth dates unless given.
    pub seniors: Option<u8>,
    pub blind: u8,
    /// The losses carried in from the year before, computed from the ledger unless given.
    pub carryover_short: Option<Decimal>,
    pub carryover_long: Option<Decimal>,
}

/// A year's estimate, as both shells answer it: amounts in dollars with two decimals, rates as
/// decimal fractions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct TaxEstimate {
    pub household: String,
    pub year: i32,
    pub filing_status: String,
    /// Taxpayers 65 or older and blind (each adds to the standard deduction).
    pub seniors: u8,
    pub blind: u8,
    /// From the ledger: interest and dividends of taxable accounts, the year's net short- and
    /// long-term gain or loss on Form 8949.
    pub interest: String,
    pub ordinary_dividends: String,
    pub qualified_dividends: String,
    pub short_term: String,
    pub long_term: String,
    /// Losses carried in, and whether the ledger's earlier years (`ledger`) or the caller
    /// (`given`) said so.
    pub carryover_short_in: String,
    pub carryover_long_in: String,
    pub carryovers_from: String,
    /// Given by the caller.
    pub wages: String,
    pub other_income: String,
    pub itemized: String,
    pub capital_gain_or_loss: String,
    pub agi: String,
    pub standard_deduction: String,
    pub senior_deduction: String,
    pub deductions: String,
    pub taxable_income: String,
    pub ordinary_income: String,
    /// Qualified dividends and net capital gain taxed at 0%, 15% and 20%.
    pub at_zero: String,
    pub at_fifteen: String,
    pub at_twenty: String,
    pub income_tax: String,
    pub net_investment_income: String,
    pub niit: String,
    pub total_tax: String,
    /// Losses carried out to the next year.
    pub carryover_short_out: String,
    pub carryover_long_out: String,
    /// The rate of the last dollar of ordinary income, and the ordinary income left before the
    /// next rate (absent at the top).
    pub ordinary_bracket: String,
    pub to_next_bracket: Option<String>,
    /// The tax on the next dollar of wages and of long-term gain (stacking and NIIT included).
    pub marginal_ordinary: String,
    pub marginal_capital_gains: String,
    /// The Medicare premiums this MAGI sets for `irmaa_premium_year`: tier (0 standard), Part B
    /// premium and Part D surcharge per person a month, and the MAGI left to the next tier.
    pub irmaa_premium_year: i32,
    pub irmaa_tier: u8,
    pub irmaa_part_b_monthly: String,
    pub irmaa_part_d_monthly: String,
    pub irmaa_to_next_tier: Option<String>,
    /// Where the year's numbers come from, and what the estimate leaves out.
    pub source: String,
    pub excludes: Vec<String>,
}

fn invalid(e: domain::DomainError) -> ReportError {
    match e {
        domain::DomainError::Rejected { field, problem, .. } => ReportError::Invalid {
            field: match field.as_str() {
                "year" => "year",
                "seniors" => "seniors",
                "blind" => "blind",
                _ => "input",
            },
            problem,
        },
        other => ReportError::Other(other.into()),
    }
}

/// The household's estimate for `year`.
pub async fn estimate(
    db: &projections::db::Db,
    household: &str,
    year: i32,
    given: &Given,
) -> Result<TaxEstimate, ReportError> {
    let table = domain::tax::year(year).map_err(invalid)?;
    let ledger = projections::holdings::ledger_of(db, household)
        .await?
        .ok_or_else(|| ReportError::NoLedger(household.to_owned()))?;
    let status = given.status.unwrap_or_else(|| ledger.household.as_ref().map(|(_, s)| *s).unwrap_or_default());
    let seniors = given.seniors.unwrap_or_else(|| domain::tax::ledger_seniors(&ledger, status, year));
    let (ledger, year_) = (std::sync::Arc::new(ledger), year);
    let l = ledger.clone();
    // The lot engine runs on a blocking thread.
    let (from_ledger, carried) = tokio::task::spawn_blocking(move || {
        Ok::<_, domain::DomainError>((
            domain::tax::ledger_income(&l, year_)?,
            domain::tax::ledger_carryovers(&l, status, year_)?,
        ))
    })
    .await
    .map_err(|e| anyhow::anyhow!("the lot engine failed: {e}"))?
    .map_err(|e| ReportError::Other(e.into()))?;
    let given_carry = given.carryover_short.is_some() || given.carryover_long.is_some();
    let income = Income {
        ordinary: given.wages + given.other_income,
        carryover_short: given.carryover_short.unwrap_or(if given_carry { Decimal::ZERO } else { carried.0 }),
        carryover_long: given.carryover_long.unwrap_or(if given_carry { Decimal::ZERO } else { carried.1 }),
        itemized: given.itemized,
        ..from_ledger
    };
    let filer = Filer { status, seniors, blind: given.blind };
    let e = domain::tax::estimate(year, filer, &income).map_err(invalid)?;
    let rate = |d: Decimal| d.normalize().to_string();
    Ok(TaxEstimate {
        household: household.to_owned(),
        year,
        filing_status: status.as_str().to_owned(),
        seniors,
        blind: given.blind,
        interest: money(income.interest),
        ordinary_dividends: money(income.ordinary_dividends),
        qualified_dividends: money(income.qualified_dividends),
        short_term: money(income.short_term),
        long_term: money(income.long_term),
        carryover_short_in: money(income.carryover_short),
        carryover_long_in: money(income.carryover_long),
        carryovers_from: if given_carry { "given" } else { "ledger" }.to_owned(),
        wages: money(given.wages),
        other_income: money(given.other_income),
        itemized: money(given.itemized),
        capital_gain_or_loss: money(e.capital_gain_or_loss),
        agi: money(e.agi),
        standard_deduction: money(e.standard_deduction),
        senior_deduction: money(e.senior_deduction),
        deductions: money(e.deductions),
        taxable_income: money(e.taxable_income),
        ordinary_income: money(e.ordinary_income),
        at_zero: money(e.preferential.at_zero),
        at_fifteen: money(e.preferential.at_fifteen),
        at_twenty: money(e.preferential.at_twenty),
        income_tax: money(e.income_tax),
        net_investment_income: money(e.net_investment_income),
        niit: money(e.niit),
        total_tax: money(e.total_tax),
        carryover_short_out: money(e.carryover_short),
        carryover_long_out: money(e.carryover_long),
        ordinary_bracket: rate(e.ordinary_bracket),
        to_next_bracket: e.to_next_bracket.map(money),
        marginal_ordinary: rate(e.marginal_ordinary),
        marginal_capital_gains: rate(e.marginal_capital_gains),
        irmaa_premium_year: year + 2,
        irmaa_tier: e.irmaa.tier,
        irmaa_part_b_monthly: money(e.irmaa.part_b_monthly),
        irmaa_part_d_monthly: money(e.irmaa.part_d_monthly),
        irmaa_to_next_tier: e.irmaa.to_next_tier.map(money),
        source: table.source.to_owned(),
        excludes: e.excludes.iter().map(|s| (*s).to_owned()).collect(),
    })
}

/// The lines of [`report`], in the order a return reads.
const LINES: [&str; 43] = [
    "filing_status",
    "seniors",
    "blind",
    "wages",
    "other_income",
    "interest",
    "ordinary_dividends",
    "qualified_dividends",
    "short_term",
    "long_term",
    "carryover_short_in",
    "carryover_long_in",
    "carryovers_from",
    "capital_gain_or_loss",
    "agi",
    "standard_deduction",
    "itemized",
    "senior_deduction",
    "deductions",
    "taxable_income",
    "ordinary_income",
    "at_zero",
    "at_fifteen",
    "at_twenty",
    "income_tax",
    "net_investment_income",
    "niit",
    "total_tax",
    "carryover_short_out",
    "carryover_long_out",
    "ordinary_bracket",
    "to_next_bracket",
    "marginal_ordinary",
    "marginal_capital_gains",
    "irmaa_premium_year",
    "irmaa_tier",
    "irmaa_part_b_monthly",
    "irmaa_part_d_monthly",
    "irmaa_to_next_tier",
    "year",
    "household",
    "source",
    "excludes",
];

/// The estimate as lines of a report (`line`, `amount`) for CSV and tables.
pub fn report(e: &TaxEstimate) -> Result<Report, ReportError> {
    let value = serde_json::to_value(e).map_err(|x| ReportError::Other(x.into()))?;
    let rows = LINES
        .iter()
        .map(|k| {
            let shown = match &value[*k] {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Null => String::new(),
                other => other.to_string(),
            };
            vec![(*k).to_owned(), shown]
        })
        .collect();
    Ok(Report { name: "tax_estimate", columns: vec!["line", "amount"], rows, totals: Vec::new(), summary: Vec::new() })
}
