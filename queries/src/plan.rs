//! `cairn simulate PLAN.toml --household H` and `GET /v1/households/{h}/plan`: a household
//! plan ([`simulations::monte_carlo::household`]) whose accounts, filing status and birth dates
//! are the household's, from the read models. Over HTTP the plan is made from a few parameters
//! ([`PlanInput`]): one portfolio at an expected return and volatility, the spending, Social
//! Security from an age, pay until a retirement age, and the withdrawal order.
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
use serde::{Deserialize, Serialize};
use simulations::accounts::{Account, AccountsPlan, Coverage, Kind, Person, Withdrawals};
use simulations::monte_carlo::household::{self, HouseholdOutcome};
use simulations::monte_carlo::{CashFlows, Income, Model, Plan, TaxedAs};

use crate::ledger::ReportError;

/// An account's value (positions at the latest closes plus cash) and basis (their cost plus
/// cash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountValue {
    pub account: String,
    pub account_type: AccountType,
    /// The member who owns it, when the ledger says.
    pub owner: Option<String>,
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
            owner: a.text("owner").map(str::to_owned),
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
    // Without a [household] (or with a retirement age of 0) the person has retired.
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
    if retired || p.retirement_age == 0 {
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

/// The most paths a plan runs on over HTTP.
pub const MAX_PATHS: u32 = 10_000;

/// `GET /v1/households/{h}/plan`'s plan: anything left out takes the default named.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanInput {
    /// Years to plan (to the person's 95th year).
    pub years: Option<u32>,
    /// Monte Carlo paths (2,000; at most [`MAX_PATHS`]).
    pub paths: Option<u32>,
    /// A year's spending after tax, in today's money, from retirement (0).
    pub spending: Option<Decimal>,
    /// The age work and contributions stop (retired now), and the pay until then (0).
    pub retirement_age: Option<u32>,
    pub salary: Option<Decimal>,
    /// The portfolio's expected return and volatility a year (0.06, 0.12), and inflation
    /// (0.025).
    pub expected_return: Option<Decimal>,
    pub volatility: Option<Decimal>,
    pub inflation: Option<Decimal>,
    /// Social Security a year in today's money (0), from an age (67).
    pub social_security: Option<Decimal>,
    pub social_security_age: Option<u32>,
    /// `taxable_first` (the default), `proportional` or `bracket` (with `bracket`, a rate).
    pub order: Option<String>,
    pub bracket: Option<Decimal>,
    /// The taxable accounts' dividend yield (0) and the heirs' tax rate (0.24).
    pub dividend_yield: Option<Decimal>,
    pub heirs_rate: Option<Decimal>,
}

/// A household's plan, as both shells answer it.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct PlanAnswer {
    pub household: String,
    /// The parameters as run (every default filled in) and the seed (the household's: the same
    /// parameters give the same answer).
    pub inputs: BTreeMap<String, String>,
    pub seed: u64,
    #[serde(flatten)]
    pub plan: HouseholdOutcome,
    /// What the ledger had that the plan left out.
    pub notes: Vec<String>,
}

fn rate(v: Option<Decimal>, default: f64) -> f64 {
    v.and_then(|d| d.to_f64()).unwrap_or(default)
}

impl PlanInput {
    /// The plan these parameters make, before the ledger fills the household in.
    fn plan(&self) -> Plan {
        let mut income = Vec::new();
        let social_security = rate(self.social_security, 0.0);
        if social_security > 0.0 {
            income.push(Income {
                name: "Social Security".into(),
                annual_amount: social_security,
                start_year: None,
                start_age: Some(self.social_security_age.unwrap_or(67)),
                years: None,
                inflation_adjusted: true,
                taxed_as: TaxedAs::SocialSecurity,
            });
        }
        let withdrawals = Withdrawals {
            order: self.order.clone().unwrap_or_else(|| "taxable_first".into()),
            bracket: self.bracket.and_then(|d| d.to_f64()),
            dividend_yield: rate(self.dividend_yield, 0.0),
            heirs_rate: rate(self.heirs_rate, 0.24),
        };
        Plan {
            initial_wealth: None,
            years: 1,
            age: None,
            model: Model::single("portfolio", rate(self.expected_return, 0.06), rate(self.volatility, 0.12)),
            cash_flows: CashFlows {
                annual_withdrawal: rate(self.spending, 0.0),
                inflation: rate(self.inflation, 0.025),
                income,
                ..CashFlows::default()
            },
            fees: Default::default(),
            withdrawal: Default::default(),
            variance_reduction: Default::default(),
            household: Some(AccountsPlan {
                person: Person {
                    birth_year: 0,
                    birth_month: 1,
                    start_year: 0,
                    salary: rate(self.salary, 0.0),
                    salary_growth: 0.0,
                    retirement_age: self.retirement_age.unwrap_or(0),
                    filing_status: None,
                    spouse_birth_year: None,
                },
                annual_return: rate(self.expected_return, 0.06),
                limit_growth: 0.02,
                accounts: Vec::new(),
                withdrawals,
            }),
            paths: self.paths.unwrap_or(2_000) as usize,
            seed: 0,
        }
    }
}

/// The parameter a simulation's refusal is about.
fn parameter(field: &str) -> &'static str {
    const NAMES: [(&str, &str); 10] = [
        ("household.withdrawals.order", "order"),
        ("household.withdrawals.bracket", "bracket"),
        ("household.withdrawals.dividend_yield", "dividend_yield"),
        ("household.withdrawals.heirs_rate", "heirs_rate"),
        ("model.assets[0].expected_return", "expected_return"),
        ("model.assets[0].volatility", "volatility"),
        ("cash_flows.inflation", "inflation"),
        ("cash_flows.annual_withdrawal", "spending"),
        ("person.salary", "salary"),
        ("years", "years"),
    ];
    NAMES.iter().find(|(f, _)| field.starts_with(f)).map_or("plan", |(_, p)| p)
}

/// The household's plan on `input`'s parameters ([module docs](self)), `today` its first day.
pub async fn household_plan(
    db: &projections::db::Db,
    household: &str,
    input: &PlanInput,
    today: NaiveDate,
) -> Result<PlanAnswer, ReportError> {
    let paths = input.paths.unwrap_or(2_000);
    if !(1..=MAX_PATHS).contains(&paths) {
        return Err(invalid("paths", format!("from 1 to {MAX_PATHS}")));
    }
    let mut plan = input.plan();
    let notes = from_ledger(db, household, &mut plan, today).await?;
    let person = plan.household.as_ref().map(|h| h.person.clone()).ok_or_else(|| invalid("household", "none"))?;
    let age = u32::try_from(person.start_year - person.birth_year).unwrap_or(0);
    plan.years = match input.years {
        Some(y) if (1..=100).contains(&y) => y,
        Some(_) => return Err(invalid("years", "from 1 to 100")),
        None => 95u32.saturating_sub(age).clamp(1, 100),
    };
    plan.cash_flows.retire_after_years = person.retirement_age.saturating_sub(age);
    plan.seed = crate::goals::seed(household, "household-plan");
    let mut inputs: BTreeMap<String, String> = BTreeMap::new();
    let mut put = |k: &str, v: String| {
        inputs.insert(k.to_owned(), v);
    };
    put("years", plan.years.to_string());
    put("paths", paths.to_string());
    put("spending", plan.cash_flows.annual_withdrawal.to_string());
    put("retirement_age", person.retirement_age.to_string());
    put("salary", person.salary.to_string());
    put("expected_return", plan.model.assets[0].expected_return.to_string());
    put("volatility", plan.model.assets[0].volatility.to_string());
    put("inflation", plan.cash_flows.inflation.to_string());
    put("social_security", rate(input.social_security, 0.0).to_string());
    put("social_security_age", input.social_security_age.unwrap_or(67).to_string());
    if let Some(h) = &plan.household {
        put("order", h.withdrawals.order.clone());
        put("dividend_yield", h.withdrawals.dividend_yield.to_string());
        put("heirs_rate", h.withdrawals.heirs_rate.to_string());
        if let Some(b) = h.withdrawals.bracket {
            put("bracket", b.to_string());
        }
        put("filing_status", h.person.filing_status.unwrap_or_default().as_str().to_owned());
        put("birth_year", h.person.birth_year.to_string());
    }
    let seed = plan.seed;
    let outcome = tokio::task::spawn_blocking(move || household::run(&plan, 0))
        .await
        .map_err(|e| ReportError::Other(e.into()))?
        .map_err(|e| match e {
            simulations::SimError::Invalid { field, problem } => {
                invalid(parameter(&field), format!("{field}: {problem}"))
            }
        })?
        .1;
    Ok(PlanAnswer { household: household.to_owned(), inputs, seed, plan: outcome, notes })
}
