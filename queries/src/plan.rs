//! `cairn simulate PLAN.toml --household H`: a household plan
//! ([`simulations::monte_carlo::household`]) whose accounts, filing status and birth dates are
//! the household's, from the read models.
//!
//! What the ledger gives: every open account's value at the latest closes plus its cash (the
//! starting balance), a taxable account's basis (its positions' cost plus cash), a Roth 401(k)'s
//! balance as Roth money, the filing status, the oldest member's birth date (the person) and on
//! a joint return the next member's (the spouse), and HSA coverage (family when a member has
//! it). What the plan file gives: the market, the spending and the rest; under `[household]` the
//! person's pay and retirement age (without a `[household]` the person is taken to be retired),
//! how withdrawals are made, and, for an account of the ledger named the same, what it will
//! contribute (its kind must agree). A plan's account the ledger does not have is planned as
//! given (a new account). 529 plans need their college table in the plan; without one they are
//! left out (they pay for college, not for retirement).

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use domain::ledger::types::{AccountType, FilingStatus, HsaCoverage};
use projections::holdings::{ACCOUNTS, VALUATIONS};
use projections::query::records;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use simulations::accounts::{Account, AccountsPlan, Coverage, Kind, Person, Withdrawals};
use simulations::monte_carlo::Plan;

use crate::ledger::ReportError;

/// An account's value (positions at the latest closes plus cash) and basis (their cost plus
/// cash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountValue {
    pub account: String,
    pub account_type: AccountType,
    pub value: Decimal,
    pub basis: Decimal,
}

/// Every open account of the household, in the order of their names.
pub async fn account_values(db: &projections::db::Db, household: &str) -> Result<Vec<AccountValue>, ReportError> {
    let scope = [("household", Some(household.to_owned()))];
    let mut held: BTreeMap<String, (Decimal, Decimal)> = BTreeMap::new();
    for v in records(db, &VALUATIONS, &scope).await? {
        let e = held.entry(v.str("account").to_owned()).or_default();
        e.0 += v.dec("market_value").unwrap_or_default();
        e.1 += v.dec("cost_basis").unwrap_or_default();
    }
    let mut out = Vec::new();
    for a in records(db, &ACCOUNTS, &scope).await? {
        if a.date("closed_on").is_some() {
            continue;
        }
        let Ok(account_type) = a.str("account_type").parse::<AccountType>() else { continue };
        let (value, basis) = held.get(a.str("account")).copied().unwrap_or_default();
        let cash = a.dec("cash").unwrap_or_default();
        out.push(AccountValue {
            account: a.str("account").to_owned(),
            account_type,
            value: value + cash,
            basis: basis + cash,
        });
    }
    Ok(out)
}

fn invalid(field: &'static str, problem: impl Into<String>) -> ReportError {
    ReportError::Invalid { field, problem: problem.into() }
}

fn dollars(d: Decimal) -> f64 {
    d.max(Decimal::ZERO).round_dp(2).to_f64().unwrap_or(0.0)
}

/// The plan's account for a ledger account: the plan's own entry of that name (its kind must
/// agree) or a bare one, with the ledger's balance.
fn account(v: &AccountValue, given: Option<&Account>, coverage: Coverage) -> Result<Option<Account>, ReportError> {
    let kind = match v.account_type {
        AccountType::Taxable => Kind::Taxable,
        AccountType::Traditional401k | AccountType::Roth401k => Kind::K401,
        AccountType::Traditional403b => Kind::B403,
        AccountType::TraditionalIra | AccountType::SepIra | AccountType::SimpleIra => Kind::TraditionalIra,
        AccountType::RothIra => Kind::RothIra,
        AccountType::Hsa => Kind::Hsa,
        AccountType::Plan529 => Kind::Plan529,
    };
    if let Some(g) = given {
        if g.kind != kind {
            return Err(invalid(
                "household.accounts",
                format!("{:?} is a {} account in the ledger, not a {}", v.account, kind.label(), g.kind.label()),
            ));
        }
    } else if kind == Kind::Plan529 {
        return Ok(None);
    }
    let mut a = given.cloned().unwrap_or_else(|| Account {
        coverage: (kind == Kind::Hsa).then_some(coverage),
        ..Account::new(&v.account, kind)
    });
    a.balance = dollars(v.value);
    match v.account_type {
        AccountType::Taxable => a.basis = Some(dollars(v.basis)),
        AccountType::Roth401k => a.roth_balance = Some(a.balance),
        _ => {}
    }
    Ok(Some(a))
}

/// Lays the household's accounts, filing status and birth dates over `plan`'s `[household]`
/// ([module docs](self)); `today` gives the first year. Returns what was left out, in words.
pub async fn from_ledger(
    db: &projections::db::Db,
    household: &str,
    plan: &mut Plan,
    today: NaiveDate,
) -> Result<Vec<String>, ReportError> {
    if plan.initial_wealth.is_some() {
        return Err(invalid("initial_wealth", "leave it out: the household's accounts are the starting wealth"));
    }
    let ledger = projections::holdings::ledger_of(db, household)
        .await?
        .ok_or_else(|| ReportError::NoLedger(household.to_owned()))?;
    let status = ledger.household.as_ref().map(|(_, s)| *s).unwrap_or_default();
    let mut births: Vec<NaiveDate> = ledger.members.values().filter_map(|m| m.born).collect();
    births.sort();
    let coverage = if ledger.members.values().any(|m| m.hsa_coverage == HsaCoverage::Family) {
        Coverage::Family
    } else {
        Coverage::SelfOnly
    };
    let given = plan.household.take();
    let retired = given.is_none();
    let mut h = given.unwrap_or_else(|| AccountsPlan {
        person: Person {
            birth_year: 0,
            birth_month: 1,
            start_year: 0,
            salary: 0.0,
            salary_growth: 0.0,
            retirement_age: 0,
            filing_status: None,
            spouse_birth_year: None,
        },
        annual_return: 0.05,
        limit_growth: 0.02,
        accounts: Vec::new(),
        withdrawals: Withdrawals::default(),
    });
    let p = &mut h.person;
    if p.start_year == 0 {
        p.start_year = today.year();
    }
    if p.birth_year == 0 {
        let born = births.first().ok_or_else(|| {
            invalid(
                "household.person.birth_year",
                "record a member's birth date (`cairn ledger member --born`) or give it in the plan",
            )
        })?;
        p.birth_year = born.year();
        p.birth_month = born.month();
    }
    if retired {
        p.retirement_age = u32::try_from(p.start_year - p.birth_year).unwrap_or(0);
    }
    let status = *p.filing_status.get_or_insert(status);
    if p.spouse_birth_year.is_none() && status == FilingStatus::MarriedFilingJointly {
        p.spouse_birth_year = births.get(1).map(Datelike::year);
    }
    let mut notes = Vec::new();
    let mut accounts = Vec::new();
    let values = account_values(db, household).await?;
    for v in &values {
        let given = h.accounts.iter().find(|a| a.name == v.account);
        match account(v, given, coverage)? {
            Some(a) => accounts.push(a),
            None => notes.push(format!(
                "529 account {:?} left out: give its college table under [[household.accounts]] with that name to plan it",
                v.account
            )),
        }
    }
    // The plan's accounts the ledger does not have: new accounts, as given.
    accounts.extend(h.accounts.iter().filter(|a| !values.iter().any(|v| v.account == a.name)).cloned());
    h.accounts = accounts;
    plan.household = Some(h);
    Ok(notes)
}
