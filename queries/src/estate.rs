//! `cairn estate tax`: the federal estate tax if a member of the household died this year
//! (`domain::estate`, Form 706 Part 2), on the household's own accounts at the latest closes
//! plus what the planner adds (other assets, debts, expenses, bequests, lifetime gifts, DSUE),
//! and whether the estate's liquid assets pay what falls due at death.

use chrono::Datelike;
use domain::estate::{Estate, EstateTax};
use domain::ledger::types::AccountType;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::ledger::ReportError;
use crate::reports::Report;

/// The planner's side of an estate (every field optional), as `[estate]` in a TOML file or
/// HTTP parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Assumptions {
    /// The year of death (default: this year).
    pub year: Option<i32>,
    /// The decedent's share of the household's accounts (default 1; 0.5 for half of what a
    /// couple holds together).
    pub share: Option<Decimal>,
    /// Assets outside the ledger: a home, a business interest, life insurance the decedent
    /// owned, at their value at death.
    #[serde(default)]
    pub other_assets: Decimal,
    /// Of those, how much is cash or readily sold.
    #[serde(default)]
    pub other_liquid: Decimal,
    #[serde(default)]
    pub debts: Decimal,
    /// Funeral and administration expenses.
    #[serde(default)]
    pub expenses: Decimal,
    #[serde(default)]
    pub charitable: Decimal,
    /// Left to the surviving spouse.
    #[serde(default)]
    pub to_spouse: Decimal,
    /// Whether the surviving spouse is a U.S. citizen (default yes), and if not whether the
    /// bequest passes through a qualified domestic trust.
    pub spouse_citizen: Option<bool>,
    #[serde(default)]
    pub qdot: bool,
    #[serde(default)]
    pub adjusted_taxable_gifts: Decimal,
    #[serde(default)]
    pub gift_tax_paid: Decimal,
    /// The unused exclusion received from a spouse who died before (portability).
    #[serde(default)]
    pub dsue: Decimal,
    /// The decedent's lifetime gifts (`[[estate.gifts]]`): year, donee, kind (person,
    /// citizen_spouse, noncitizen_spouse, charity), amount, present_interest, split,
    /// superfund_529. Their taxable part and gift tax, year by year (`domain::gifts`), are the
    /// adjusted taxable gifts and the gift tax paid, with `prior_taxable_gifts` and
    /// `prior_gift_tax` from returns before them.
    #[serde(default)]
    pub gifts: Vec<domain::gifts::Gift>,
    #[serde(default)]
    pub prior_taxable_gifts: Decimal,
    #[serde(default)]
    pub prior_gift_tax: Decimal,
}

impl Assumptions {
    /// The gifts' Form 709 years up to the year of death (a 529 gift's fifths after it are
    /// left out).
    pub fn gift_years(&self, death: i32) -> Result<Vec<domain::gifts::GiftYear>, ReportError> {
        if self.gifts.is_empty() && self.prior_taxable_gifts.is_zero() {
            return Ok(Vec::new());
        }
        if !self.adjusted_taxable_gifts.is_zero() || !self.gift_tax_paid.is_zero() {
            return Err(invalid(
                "adjusted_taxable_gifts",
                "give either the gifts (and prior_taxable_gifts) or adjusted_taxable_gifts and gift_tax_paid, not both",
            ));
        }
        let mut years = domain::gifts::history(&self.gifts, self.prior_taxable_gifts, self.prior_gift_tax, self.dsue)
            .map_err(|e| invalid(e.field, e.problem))?;
        years.retain(|y| y.year <= death);
        Ok(years)
    }
}

/// The estate tax with where the gross estate came from and the liquidity it needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct EstateAnswer {
    pub household: String,
    /// The household's open accounts at market value, times the decedent's share.
    pub accounts: Decimal,
    pub share: Decimal,
    pub other_assets: Decimal,
    /// Cash and securities of taxable accounts (times the share) and the other liquid assets;
    /// retirement accounts are left out (their withdrawals are taxed as income).
    pub liquid_assets: Decimal,
    /// The net estate tax, debts and expenses: what falls due at death.
    pub liquidity_needed: Decimal,
    pub liquidity_shortfall: Decimal,
    #[serde(flatten)]
    pub tax: EstateTax,
    /// The lifetime gifts' years, when the plan lists them.
    pub gifts: Vec<domain::gifts::GiftYear>,
}

fn invalid(field: &'static str, problem: impl Into<String>) -> ReportError {
    ReportError::Invalid { field, problem: problem.into() }
}

/// The estate tax of `household` (its key) under `a`, its accounts read from `db`.
pub async fn tax(
    db: &projections::db::Db,
    household: &str,
    today: chrono::NaiveDate,
    a: &Assumptions,
) -> Result<EstateAnswer, ReportError> {
    let share = a.share.unwrap_or(Decimal::ONE);
    if share < Decimal::ZERO || share > Decimal::ONE {
        return Err(invalid("share", format!("{share} is not between 0 and 1")));
    }
    if a.other_liquid > a.other_assets {
        return Err(invalid("other_liquid", "is more than other_assets"));
    }
    let death = a.year.unwrap_or(today.year());
    let gifts = a.gift_years(death)?;
    let (adjusted_taxable_gifts, gift_tax_paid) = match gifts.last() {
        Some(last) => (
            last.prior_taxable_gifts + last.taxable_gifts,
            a.prior_gift_tax + gifts.iter().map(|y| y.gift_tax).sum::<Decimal>(),
        ),
        None => (a.adjusted_taxable_gifts + a.prior_taxable_gifts, a.gift_tax_paid + a.prior_gift_tax),
    };
    let accounts = crate::plan::account_values(db, household).await?;
    if accounts.is_empty() && a.other_assets.is_zero() {
        return Err(invalid("household", format!("{household} has no open account and no other_assets were given")));
    }
    let cents = |d: Decimal| d.round_dp(2);
    let held = cents(accounts.iter().map(|v| v.value).sum::<Decimal>() * share);
    let liquid_accounts = accounts.iter().filter(|v| v.account_type == AccountType::Taxable).map(|v| v.value);
    let liquid = cents(liquid_accounts.sum::<Decimal>() * share) + a.other_liquid;
    let estate = Estate {
        year: death,
        gross_estate: held + a.other_assets,
        debts: a.debts,
        expenses: a.expenses,
        charitable: a.charitable,
        to_spouse: a.to_spouse,
        spouse_citizen: a.spouse_citizen.unwrap_or(true),
        qdot: a.qdot,
        adjusted_taxable_gifts,
        gift_tax_paid,
        dsue: a.dsue,
    };
    let tax = domain::estate::estate_tax(&estate).map_err(|e| invalid(e.field, e.problem))?;
    let needed = tax.net_estate_tax + a.debts + a.expenses;
    Ok(EstateAnswer {
        household: household.to_owned(),
        accounts: held,
        share,
        other_assets: a.other_assets,
        liquid_assets: liquid,
        liquidity_needed: needed,
        liquidity_shortfall: (needed - liquid).max(Decimal::ZERO),
        tax,
        gifts,
    })
}

/// The gifts' Form 709 years as rows, for CSV and tables.
pub fn gifts_report(years: &[domain::gifts::GiftYear]) -> Result<Report, ReportError> {
    const COLUMNS: [&str; 12] = [
        "year",
        "gifts",
        "exclusions",
        "marital_deduction",
        "charitable_deduction",
        "taxable_gifts",
        "prior_taxable_gifts",
        "tentative_tax",
        "credit",
        "gift_tax",
        "exclusion_left",
        "projected",
    ];
    let rows = years.iter().map(|y| crate::reports::fields(y, &COLUMNS)).collect::<Result<_, _>>()?;
    Ok(Report { name: "gifts", columns: COLUMNS.to_vec(), rows, totals: Vec::new(), summary: Vec::new() })
}

/// Form 706 Part 2's lines and the liquidity, for CSV and tables.
pub fn report(a: &EstateAnswer) -> Result<Report, ReportError> {
    const LINES: [&str; 27] = [
        "year",
        "accounts",
        "share",
        "other_assets",
        "gross_estate",
        "deductions",
        "marital_deduction",
        "marital_note",
        "charitable_deduction",
        "taxable_estate",
        "adjusted_taxable_gifts",
        "tax_base",
        "tentative_tax",
        "gift_tax_paid",
        "gross_estate_tax",
        "basic_exclusion",
        "dsue",
        "applicable_exclusion",
        "applicable_credit",
        "credit_allowed",
        "net_estate_tax",
        "marginal_rate",
        "effective_rate",
        "dsue_for_survivor",
        "liquid_assets",
        "liquidity_needed",
        "liquidity_shortfall",
    ];
    crate::reports::lines("estate_tax", a, &LINES)
}
