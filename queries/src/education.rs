//! `cairn estate education`: each beneficiary's college funding (`domain::education::funding`)
//! from a 529 account of the household or a balance given, with the probability the saving
//! reaches the need at enrolment and the monthly saving that reaches it at a chosen probability
//! (the Monte Carlo engine, `simulations::goals`, seeded from the household and the
//! beneficiary), and the education credits at the household's income.

use chrono::{Datelike, NaiveDate};
use domain::education::{Credit, Funding, Schooling, AOTC, LLC};
use domain::ledger::types::{AccountType, FilingStatus};
use rust_decimal::prelude::*;
use serde::{Deserialize, Serialize};

use crate::ledger::ReportError;
use crate::reports::Report;

/// One beneficiary's plan (`[[education.beneficiaries]]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Beneficiary {
    pub name: String,
    /// A year of school at today's prices (tuition, fees, room and board).
    pub cost_today: Decimal,
    /// The first school year (its fall).
    pub enrolment: i32,
    /// Years of school (default 4).
    pub years: Option<u32>,
    /// A 529 account of the household (its label) whose value today is the balance.
    pub account: Option<String>,
    /// The balance set aside, when no account is named (default 0).
    pub balance: Option<Decimal>,
    #[serde(default)]
    pub monthly: Decimal,
    /// Education inflation (default 0.05).
    pub inflation: Option<Decimal>,
    /// The account's expected annual return (default 0.06) and volatility (default 0.12).
    pub expected_return: Option<Decimal>,
    pub volatility: Option<Decimal>,
    /// The probability the saving should reach the need with (default 0.8).
    pub probability: Option<Decimal>,
    /// A UTMA/UGMA custodial account's balance for the beneficiary, and the share of its value
    /// paid as taxable income each year (default 0.02: interest and non-qualified dividends,
    /// taxed as ordinary income); it grows at `expected_return` and pays the kiddie tax.
    pub utma: Option<Decimal>,
    pub utma_yield: Option<Decimal>,
}

/// The plan file's `[education]` table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    #[serde(default)]
    pub beneficiaries: Vec<Beneficiary>,
    /// This year's qualified expenses per student and the household's modified AGI, for the
    /// credits.
    pub qualified_expenses: Option<Decimal>,
    pub magi: Option<Decimal>,
    pub filing_status: Option<FilingStatus>,
    /// The household's state, for its income tax deduction of this year's 529 saving (the
    /// beneficiaries' `monthly` × 12), and its marginal income tax rate (the state's flat rate
    /// where it has one).
    pub state: Option<String>,
    pub state_rate: Option<Decimal>,
    /// The parents' marginal rate for a custodial account's kiddie tax (Form 8615); absent, the
    /// parents' added federal tax is the tax engine's on `magi` as ordinary income.
    pub parent_rate: Option<Decimal>,
}

/// This year's 529 saving against the state's income tax.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct StateSaving {
    pub state: String,
    pub contributions: Decimal,
    pub deduction: Decimal,
    pub carryforward: bool,
    pub rate: Option<Decimal>,
    pub tax_saved: Option<Decimal>,
    pub source: &'static str,
}

/// One beneficiary's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct BeneficiaryAnswer {
    pub name: String,
    pub balance: Decimal,
    pub monthly: Decimal,
    pub inflation: Decimal,
    pub expected_return: Decimal,
    pub volatility: Decimal,
    #[serde(flatten)]
    pub funding: Funding,
    /// The share of the engine's paths on which the saving reaches the need at enrolment.
    pub probability: Option<Decimal>,
    /// The monthly saving that reaches it on `target_probability` of the paths.
    pub target_probability: Decimal,
    pub monthly_at_probability: Option<Decimal>,
    /// The custodial account to enrolment with its kiddie tax, and the gap once it is spent
    /// on school too.
    pub utma: Option<domain::education::Utma>,
    pub gap_after_utma: Option<Decimal>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct EducationAnswer {
    pub household: Option<String>,
    pub as_of: NaiveDate,
    pub beneficiaries: Vec<BeneficiaryAnswer>,
    /// The American Opportunity and Lifetime Learning credits on `qualified_expenses` at `magi`.
    pub credits: Vec<Credit>,
    /// The state's deduction of this year's saving, where the plan names a state that has one
    /// (`domain::education::STATE_529`).
    pub state_deduction: Option<StateSaving>,
    /// With `magi`: what the household may put in a Coverdell account per beneficiary this
    /// year after the phase-out (`domain::education::coverdell_limit`).
    pub coverdell_limit: Option<Decimal>,
}

fn invalid(field: &'static str, problem: impl Into<String>) -> ReportError {
    ReportError::Invalid { field, problem: problem.into() }
}

/// The paths each estimate runs on.
const PATHS: usize = simulations::goals::PATHS;

/// `plan` as of `today` for `household` (its key, seeding the paths), a beneficiary's `account`
/// found among its `accounts` (`crate::plan::account_values`). CPU work of the Monte Carlo
/// estimates: callers on the async runtime run it off its threads.
pub fn plan(
    accounts: &[crate::plan::AccountValue],
    household: Option<&str>,
    today: NaiveDate,
    plan: &Plan,
) -> Result<EducationAnswer, ReportError> {
    let mut out = Vec::new();
    for b in &plan.beneficiaries {
        let balance = match (&b.account, b.balance) {
            (Some(_), Some(_)) => {
                return Err(invalid("balance", format!("{}: give an account or a balance, not both", b.name)))
            }
            (Some(label), None) => {
                let found = accounts.iter().find(|a| &a.account == label && a.account_type == AccountType::Plan529);
                found.map(|a| a.value).ok_or_else(|| {
                    invalid("account", format!("{}: {label:?} is not an open 529 account of the household", b.name))
                })?
            }
            (None, balance) => balance.unwrap_or_default(),
        };
        out.push(beneficiary(household.unwrap_or(""), today, b, balance, plan)?);
    }
    let credits = match plan.magi {
        Some(magi) => {
            let expenses = plan.qualified_expenses.unwrap_or_default();
            let status = plan.filing_status.unwrap_or_default();
            vec![
                domain::education::credit(&AOTC, expenses, magi, status),
                domain::education::credit(&LLC, expenses, magi, status),
            ]
        }
        None => Vec::new(),
    };
    let state_deduction = match &plan.state {
        None => None,
        Some(st) => {
            let st = domain::family::state(st).map_err(|p| invalid("state", p))?;
            let yearly: Vec<Decimal> = plan.beneficiaries.iter().map(|b| b.monthly * Decimal::from(12)).collect();
            let status = plan.filing_status.unwrap_or_default();
            domain::education::state_deduction(&st, status, &yearly).map(|(deduction, row)| {
                let rate = plan.state_rate.or(row.flat_rate);
                StateSaving {
                    state: st.clone(),
                    contributions: yearly.iter().sum(),
                    deduction,
                    carryforward: row.carryforward,
                    rate,
                    tax_saved: rate.map(|r| (deduction * r).round_dp(2)),
                    source: row.source,
                }
            })
        }
    };
    let coverdell_limit =
        plan.magi.map(|magi| domain::education::coverdell_limit(magi, plan.filing_status.unwrap_or_default()));
    Ok(EducationAnswer {
        household: household.map(str::to_owned),
        as_of: today,
        beneficiaries: out,
        credits,
        state_deduction,
        coverdell_limit,
    })
}

fn beneficiary(
    household: &str,
    today: NaiveDate,
    b: &Beneficiary,
    balance: Decimal,
    plan: &Plan,
) -> Result<BeneficiaryAnswer, ReportError> {
    let pct = |v: Option<Decimal>, default: i64| v.unwrap_or(Decimal::new(default, 2));
    let (inflation, expected_return, volatility) =
        (pct(b.inflation, 5), pct(b.expected_return, 6), pct(b.volatility, 12));
    let target_probability = pct(b.probability, 80);
    let years = b.years.unwrap_or(4);
    for (field, v) in [("cost_today", b.cost_today), ("monthly", b.monthly), ("balance", balance)] {
        if v < Decimal::ZERO {
            return Err(invalid(field, format!("{}: {v} is negative", b.name)));
        }
    }
    if b.enrolment <= today.year() || b.enrolment > today.year() + 40 {
        return Err(invalid("enrolment", format!("{}: {} is not in the next 40 years", b.name, b.enrolment)));
    }
    if !(1..=10).contains(&years) {
        return Err(invalid("years", format!("{}: {years} is not 1 to 10", b.name)));
    }
    for (field, bad, wanted) in [
        ("probability", !(Decimal::ZERO..=Decimal::ONE).contains(&target_probability), "0 to 1"),
        ("volatility", volatility < Decimal::ZERO, "0 or more"),
        ("inflation", inflation <= Decimal::NEGATIVE_ONE, "above -1"),
        ("expected_return", expected_return <= Decimal::NEGATIVE_ONE, "above -1"),
    ] {
        if bad {
            return Err(invalid(field, format!("{}: must be {wanted}", b.name)));
        }
    }
    let school = Schooling { enrolment: b.enrolment, years, cost_today: b.cost_today, inflation };
    let funding = domain::education::funding(today, &school, balance, b.monthly, expected_return);
    let start = domain::education::first_day(b.enrolment).unwrap_or(today);
    let months = domain::education::months_to(today, b.enrolment);
    let f = |d: Decimal| d.to_f64().unwrap_or(0.0);
    let run = |monthly: f64| simulations::goals::GoalRun {
        current: f(balance),
        target: f(funding.needed_at_enrolment),
        years: (start - today).num_days() as f64 / 365.0,
        months,
        monthly_contribution: monthly,
        expected_return: f(expected_return),
        volatility: f(volatility),
        paths: PATHS,
        seed: crate::goals::seed(household, &b.name),
    };
    let estimate =
        |monthly: f64| simulations::goals::on_track(&run(monthly)).map_err(|e| invalid("beneficiaries", e.to_string()));
    let probability = estimate(f(b.monthly))?;
    // The saving reaching the probability: bisection on the same paths (more saving reaches
    // on every path it reached before, so the share only grows).
    let target = f(target_probability);
    let reaches = |monthly: f64| estimate(monthly).map(|p| p.unwrap_or(0.0) >= target);
    let monthly_at_probability = match probability {
        None => None,
        Some(_) if reaches(0.0)? => Some(Decimal::ZERO),
        Some(_) => {
            // From twice the saving that closes the gap at the expected return, doubled until
            // it reaches (at most the whole need each month), then halved to the dollar.
            let most = f(funding.needed_at_enrolment).max(1.0);
            let (mut lo, mut hi) = (0.0, (2.0 * f(funding.monthly_to_close)).clamp(1.0, most));
            while hi < most && !reaches(hi)? {
                (lo, hi) = (hi, (2.0 * hi).min(most));
            }
            while hi - lo >= 1.0 {
                let mid = (lo + hi) / 2.0;
                if reaches(mid)? {
                    hi = mid;
                } else {
                    lo = mid;
                }
            }
            Decimal::from_f64(hi).map(|d| d.round_dp(0))
        }
    };
    let utma = custodial(b, plan, today, expected_return)?;
    let gap_after_utma = utma.as_ref().map(|u| (funding.gap - u.at_enrolment).max(Decimal::ZERO));
    Ok(BeneficiaryAnswer {
        name: b.name.clone(),
        balance,
        monthly: b.monthly,
        inflation,
        expected_return,
        volatility,
        funding,
        probability: probability.and_then(Decimal::from_f64).map(|p| p.round_dp(4)),
        target_probability,
        monthly_at_probability,
        utma,
        gap_after_utma,
    })
}

/// A beneficiary's custodial account carried to enrolment, its income taxed each year by the
/// kiddie tax at the parents' `parent_rate`, else at the tax engine's rate on `magi` (tax
/// tables past cairn's grown 2.5% a year).
fn custodial(
    b: &Beneficiary,
    plan: &Plan,
    today: NaiveDate,
    expected_return: Decimal,
) -> Result<Option<domain::education::Utma>, ReportError> {
    let Some(balance) = b.utma else { return Ok(None) };
    let income_yield = b.utma_yield.unwrap_or(Decimal::new(2, 2));
    for (field, v) in [("utma", balance), ("utma_yield", income_yield)] {
        if v < Decimal::ZERO || v > Decimal::from(1_000_000_000_000_i64) {
            return Err(invalid(field, format!("{}: {v} is not 0 to 1,000,000,000,000", b.name)));
        }
    }
    if income_yield > Decimal::ONE {
        return Err(invalid("utma_yield", format!("{}: {income_yield} is not a share from 0 to 1", b.name)));
    }
    match (plan.parent_rate, plan.magi) {
        (None, None) => {
            let problem = "a custodial account needs the parents' rate (parent_rate) or income (magi)";
            return Err(invalid("parent_rate", format!("{}: {problem}", b.name)));
        }
        (Some(rate), _) if !(Decimal::ZERO..=Decimal::ONE).contains(&rate) => {
            return Err(invalid("parent_rate", format!("{rate} is not a rate from 0 to 1")));
        }
        _ => {}
    }
    let filer = domain::tax::Filer { status: plan.filing_status.unwrap_or_default(), seniors: 0, blind: 0 };
    let parents = |year: i32, nui: Decimal| match plan.parent_rate {
        Some(rate) => nui * rate,
        None => {
            let (table, magi) = (domain::tax::projected(year, Decimal::new(25, 3)), plan.magi.unwrap_or_default());
            domain::tax::ordinary_tax(&table, filer, magi + nui).1 - domain::tax::ordinary_tax(&table, filer, magi).1
        }
    };
    Ok(Some(domain::education::utma(balance, income_yield, expected_return, today.year(), b.enrolment, parents)))
}

/// One row per beneficiary, for CSV and tables.
pub fn report(a: &EducationAnswer) -> Result<Report, ReportError> {
    const COLUMNS: [&str; 11] = [
        "name",
        "balance",
        "monthly",
        "total_cost",
        "needed_at_enrolment",
        "projected_at_enrolment",
        "gap",
        "monthly_to_close",
        "probability",
        "monthly_at_probability",
        "gap_after_utma",
    ];
    let rows = a.beneficiaries.iter().map(|b| crate::reports::fields(b, &COLUMNS)).collect::<Result<_, _>>()?;
    let summary = match &a.state_deduction {
        Some(d) => vec![
            ("state_deduction", serde_json::json!(d.deduction)),
            ("state_tax_saved", serde_json::json!(d.tax_saved)),
        ],
        None => Vec::new(),
    };
    Ok(Report { name: "education", columns: COLUMNS.to_vec(), rows, totals: Vec::new(), summary })
}
