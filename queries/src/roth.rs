//! `cairn tax roth` and `GET /v1/households/{h}/tax/roth`: a Roth conversion plan
//! (`domain::roth::plan`) for a household, what the caller gives laid over what the read
//! models know: the traditional, Roth and taxable balances (positions at the latest closes
//! plus cash, by account type), the filing status, and the members' birth dates (the oldest
//! is the owner; on a joint return the next is the spouse).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use domain::ledger::types::{AccountType, FilingStatus};
use domain::roth::{Plan, Strategy};
use rust_decimal::prelude::{FromPrimitive, ToPrimitive};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::ledger::ReportError;
use crate::reports::{money, Report};

/// What the caller gives (a `PLAN.toml`, or HTTP's parameters); anything left out comes from
/// the household or the defaults named.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RothInput {
    /// The first year (this year).
    pub start_year: Option<i32>,
    /// The owner's last age projected (95).
    pub end_age: Option<u32>,
    pub born: Option<NaiveDate>,
    pub spouse_born: Option<NaiveDate>,
    pub status: Option<String>,
    /// Balances (the household's accounts by type).
    pub traditional: Option<Decimal>,
    pub roth: Option<Decimal>,
    pub taxable: Option<Decimal>,
    /// A year: return (0.05) and inflation (0.025).
    pub growth: Option<Decimal>,
    pub inflation: Option<Decimal>,
    pub wages: Option<Decimal>,
    pub wages_until: Option<i32>,
    pub other_income: Option<Decimal>,
    pub social_security: Option<Decimal>,
    pub social_security_from: Option<i32>,
    /// `none`, `bracket` (with `bracket`), `irmaa` (with `irmaa_tier`) or `optimize` (the
    /// default).
    pub strategy: Option<String>,
    pub bracket: Option<Decimal>,
    pub irmaa_tier: Option<u8>,
    pub convert_until: Option<i32>,
    /// The heirs' tax rate on traditional money left (0.24).
    pub heirs_rate: Option<Decimal>,
    /// Monte Carlo paths of yearly returns to run the plan and the baseline on (none when
    /// absent; at most 10,000), and the returns' volatility (0.12).
    pub paths: Option<u32>,
    pub volatility: Option<Decimal>,
}

/// The most Monte Carlo paths a plan runs on.
pub const MAX_PATHS: u32 = 10_000;

/// Percentiles of after-tax wealth at the horizon, in today's dollars.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct RothPercentiles {
    pub p10: String,
    pub p25: String,
    pub p50: String,
    pub p75: String,
    pub p90: String,
}

impl RothPercentiles {
    fn of(p: &domain::roth::Percentiles) -> Self {
        Self { p10: money(p.p10), p25: money(p.p25), p50: money(p.p50), p75: money(p.p75), p90: money(p.p90) }
    }
}

/// The plan and the baseline on Monte Carlo paths of yearly returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct RothMonteCarlo {
    pub paths: usize,
    /// The returns: the plan's growth as their expected value, this volatility, this seed (the
    /// household's: the same inputs give the same answer).
    pub volatility: String,
    pub seed: u64,
    /// After-tax wealth at the horizon in today's dollars, the plan's edge, and the share of
    /// paths on which the plan ends ahead of converting nothing (or even).
    pub plan: RothPercentiles,
    pub baseline: RothPercentiles,
    pub advantage: RothPercentiles,
    pub plan_ahead: String,
    pub method: String,
}

/// One year, as both shells answer it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct RothYear {
    pub year: i32,
    pub age: u32,
    pub rmd: String,
    pub conversion: String,
    pub ceiling: Option<String>,
    pub social_security: String,
    pub taxable_social_security: String,
    pub agi: String,
    pub taxable_income: String,
    pub tax: String,
    pub added_tax: String,
    pub withheld: String,
    pub penalty: String,
    pub bracket: String,
    pub irmaa_tier: u8,
    pub irmaa_paid: String,
    pub penalty_free_from: Option<i32>,
    pub traditional: String,
    pub roth: String,
    pub taxable: String,
}

/// A projection's totals and years.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct RothProjection {
    pub converted: String,
    pub lifetime_tax: String,
    pub lifetime_irmaa: String,
    pub penalties: String,
    pub after_tax_wealth: String,
    pub after_tax_wealth_today: String,
    pub years: Vec<RothYear>,
}

/// The plan against converting nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Roth {
    pub household: String,
    /// The plan as run (every default filled in).
    pub inputs: BTreeMap<String, String>,
    pub method: String,
    pub advantage: String,
    pub advantage_today: String,
    pub plan: RothProjection,
    pub baseline: RothProjection,
    /// When paths were asked for.
    pub monte_carlo: Option<RothMonteCarlo>,
}

fn invalid(field: &'static str, problem: impl Into<String>) -> ReportError {
    ReportError::Invalid { field, problem: problem.into() }
}

/// The household's balances by kind: (traditional, Roth, taxable).
async fn balances(db: &projections::db::Db, household: &str) -> Result<(Decimal, Decimal, Decimal), ReportError> {
    let (mut traditional, mut roth, mut taxable) = (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
    for a in crate::plan::account_values(db, household).await? {
        match a.account_type {
            AccountType::Taxable => taxable += a.value,
            AccountType::Roth401k | AccountType::RothIra => roth += a.value,
            AccountType::Traditional401k
            | AccountType::Traditional403b
            | AccountType::TraditionalIra
            | AccountType::SepIra
            | AccountType::SimpleIra => traditional += a.value,
            // 529s and HSAs are neither converted nor taxed on the way out.
            AccountType::Plan529 | AccountType::Hsa => {}
        }
    }
    Ok((traditional.max(Decimal::ZERO), roth.max(Decimal::ZERO), taxable.max(Decimal::ZERO)))
}

/// The plan `input` makes for the household, with the household's figures where it is silent.
pub async fn plan_of(
    db: &projections::db::Db,
    household: &str,
    input: &RothInput,
    this_year: i32,
) -> Result<Plan, ReportError> {
    let ledger = projections::holdings::ledger_of(db, household)
        .await?
        .ok_or_else(|| ReportError::NoLedger(household.to_owned()))?;
    let (traditional, roth, taxable) = balances(db, household).await?;
    let status = match &input.status {
        Some(s) => s.parse::<FilingStatus>().map_err(|e| invalid("status", e))?,
        None => ledger.household.as_ref().map(|(_, s)| *s).unwrap_or_default(),
    };
    let mut births: Vec<NaiveDate> = ledger.members.values().filter_map(|m| m.born).collect();
    births.sort();
    let born = input.born.or(births.first().copied()).ok_or_else(|| {
        invalid("born", "the owner's birth date: give it, or record a member's (`cairn ledger member --born`)")
    })?;
    let spouse_born = input.spouse_born.or_else(|| {
        (status == FilingStatus::MarriedFilingJointly && input.born.is_none()).then(|| births.get(1).copied()).flatten()
    });
    let strategy = match input.strategy.as_deref().unwrap_or("optimize") {
        "none" => Strategy::None,
        "optimize" => Strategy::Optimize,
        "bracket" => Strategy::Bracket {
            rate: input.bracket.ok_or_else(|| invalid("bracket", "the bracket rate to fill, e.g. 0.22"))?,
        },
        "irmaa" => Strategy::Irmaa { tier: input.irmaa_tier.unwrap_or(0) },
        other => return Err(invalid("strategy", format!("{other:?}: expected none, bracket, irmaa or optimize"))),
    };
    Ok(Plan {
        start_year: input.start_year.unwrap_or(this_year),
        end_age: input.end_age.unwrap_or(95),
        born,
        spouse_born,
        status,
        traditional: input.traditional.unwrap_or(traditional),
        roth: input.roth.unwrap_or(roth),
        taxable: input.taxable.unwrap_or(taxable),
        growth: input.growth.unwrap_or(Decimal::new(5, 2)),
        inflation: input.inflation.unwrap_or(Decimal::new(25, 3)),
        wages: input.wages.unwrap_or_default(),
        wages_until: input.wages_until,
        other_income: input.other_income.unwrap_or_default(),
        social_security: input.social_security.unwrap_or_default(),
        social_security_from: input.social_security_from,
        strategy,
        convert_until: input.convert_until,
        heirs_rate: input.heirs_rate.unwrap_or(Decimal::new(24, 2)),
    })
}

fn projection(p: &domain::roth::Projection) -> RothProjection {
    let rate = |d: Decimal| d.normalize().to_string();
    RothProjection {
        converted: money(p.converted),
        lifetime_tax: money(p.lifetime_tax),
        lifetime_irmaa: money(p.lifetime_irmaa),
        penalties: money(p.penalties),
        after_tax_wealth: money(p.after_tax_wealth),
        after_tax_wealth_today: money(p.after_tax_wealth_today),
        years: p
            .years
            .iter()
            .map(|y| RothYear {
                year: y.year,
                age: y.age,
                rmd: money(y.rmd),
                conversion: money(y.conversion),
                ceiling: y.ceiling.map(rate),
                social_security: money(y.social_security),
                taxable_social_security: money(y.taxable_social_security),
                agi: money(y.agi),
                taxable_income: money(y.taxable_income),
                tax: money(y.tax),
                added_tax: money(y.added_tax),
                withheld: money(y.withheld),
                penalty: money(y.penalty),
                bracket: rate(y.bracket),
                irmaa_tier: y.irmaa_tier,
                irmaa_paid: money(y.irmaa_paid),
                penalty_free_from: y.penalty_free_from,
                traditional: money(y.traditional),
                roth: money(y.roth),
                taxable: money(y.taxable),
            })
            .collect(),
    }
}

/// The household's Roth conversion plan against converting nothing.
pub async fn roth(
    db: &projections::db::Db,
    household: &str,
    input: &RothInput,
    this_year: i32,
) -> Result<Roth, ReportError> {
    let plan = plan_of(db, household, input, this_year).await?;
    let inputs: BTreeMap<String, String> = match serde_json::to_value(&plan) {
        Ok(serde_json::Value::Object(m)) => m
            .into_iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| (k, v.as_str().map_or_else(|| v.to_string(), str::to_owned)))
            .collect(),
        _ => BTreeMap::new(),
    };
    let paths = input.paths.unwrap_or(0);
    if paths > MAX_PATHS {
        return Err(invalid("paths", format!("at most {MAX_PATHS}")));
    }
    let volatility = input.volatility.unwrap_or(Decimal::new(12, 2));
    let seed = crate::goals::seed(household, "roth-conversion");
    let run = plan.clone();
    let (c, distribution) = tokio::task::spawn_blocking(move || {
        let c = domain::roth::plan(&run)?;
        if paths == 0 {
            return Ok((c, None));
        }
        let growth = run.growth.to_f64().unwrap_or_default();
        let vol = volatility.to_f64().unwrap_or_default();
        let years = c.plan.years.len();
        let drawn = simulations::returns::yearly(growth, vol, years, paths as usize, seed).map_err(|e| {
            domain::DomainError::Rejected { line: None, field: "volatility".into(), problem: e.to_string() }
        })?;
        let returns: Vec<Vec<Decimal>> = drawn
            .iter()
            .map(|path| path.iter().map(|r| Decimal::from_f64(*r).unwrap_or_default().round_dp(6)).collect())
            .collect();
        let d = domain::roth::distribution(&run, &c, &returns);
        Ok((c, Some(d)))
    })
    .await
    .map_err(|e| anyhow::anyhow!("the Roth planner failed: {e}"))?
    .map_err(|e| match e {
        domain::DomainError::Rejected { field, problem, .. } => {
            let field = ROTH_FIELDS.iter().find(|f| **f == field).copied().unwrap_or("plan");
            invalid(field, problem)
        }
        other => ReportError::Other(other.into()),
    })?;
    Ok(Roth {
        household: household.to_owned(),
        inputs,
        method: c.method.clone(),
        advantage: money(c.advantage),
        advantage_today: money(c.advantage_today),
        plan: projection(&c.plan),
        baseline: projection(&c.baseline),
        monte_carlo: distribution.map(|d| RothMonteCarlo {
            paths: d.paths,
            volatility: volatility.normalize().to_string(),
            seed,
            plan: RothPercentiles::of(&d.plan),
            baseline: RothPercentiles::of(&d.baseline),
            advantage: RothPercentiles::of(&d.advantage),
            plan_ahead: d.plan_ahead.normalize().to_string(),
            method: MONTE_CARLO_METHOD.to_owned(),
        }),
    })
}

/// How the Monte Carlo answer is computed, in words.
pub const MONTE_CARLO_METHOD: &str = "Each path draws a return for every year, ln(1 + r) normal with mean ln(1 + growth) - volatility^2 / 2 and standard deviation volatility (so the expected return is the plan's growth), the same draws for the plan and for converting nothing; the plan's yearly targets (its bracket ceilings or IRMAA tier) are applied to each path's own balances and taxed by the same engine. Wealth is after tax at the horizon (traditional money at the heirs' rate), deflated to today's dollars by the plan's inflation.";

/// The fields a plan's refusal can name.
const ROTH_FIELDS: [&str; 14] = [
    "volatility",
    "start_year",
    "traditional",
    "roth",
    "taxable",
    "wages",
    "other_income",
    "social_security",
    "heirs_rate",
    "growth",
    "inflation",
    "end_age",
    "bracket",
    "irmaa_tier",
];

/// The plan's years as a report: what is converted and taxed each year, beside the baseline's
/// tax; the totals in the summary.
pub fn report(r: &Roth) -> Report {
    let columns = vec![
        "year",
        "age",
        "rmd",
        "conversion",
        "ceiling",
        "taxable_income",
        "bracket",
        "tax",
        "baseline_tax",
        "irmaa_tier",
        "irmaa_paid",
        "traditional",
        "roth",
        "taxable",
    ];
    let rows = r
        .plan
        .years
        .iter()
        .zip(&r.baseline.years)
        .map(|(y, b)| {
            vec![
                y.year.to_string(),
                y.age.to_string(),
                y.rmd.clone(),
                y.conversion.clone(),
                y.ceiling.clone().unwrap_or_default(),
                y.taxable_income.clone(),
                y.bracket.clone(),
                y.tax.clone(),
                b.tax.clone(),
                y.irmaa_tier.to_string(),
                y.irmaa_paid.clone(),
                y.traditional.clone(),
                y.roth.clone(),
                y.taxable.clone(),
            ]
        })
        .collect();
    Report {
        name: "roth",
        columns,
        rows,
        totals: Vec::new(),
        summary: vec![
            ("household", serde_json::json!(r.household)),
            ("method", serde_json::json!(r.method)),
            ("converted", serde_json::json!(r.plan.converted)),
            ("lifetime_tax", serde_json::json!(r.plan.lifetime_tax)),
            ("baseline_lifetime_tax", serde_json::json!(r.baseline.lifetime_tax)),
            ("after_tax_wealth", serde_json::json!(r.plan.after_tax_wealth)),
            ("baseline_after_tax_wealth", serde_json::json!(r.baseline.after_tax_wealth)),
            ("advantage", serde_json::json!(r.advantage)),
            ("advantage_today", serde_json::json!(r.advantage_today)),
            ("monte_carlo_plan_median_today", serde_json::json!(r.monte_carlo.as_ref().map(|m| &m.plan.p50))),
            ("monte_carlo_baseline_median_today", serde_json::json!(r.monte_carlo.as_ref().map(|m| &m.baseline.p50))),
            ("monte_carlo_plan_ahead", serde_json::json!(r.monte_carlo.as_ref().map(|m| &m.plan_ahead))),
        ],
    }
}
