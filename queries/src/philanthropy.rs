//! `cairn estate philanthropy`: a giving plan over years through three vehicles side by side —
//! gifts straight to public charities, a donor-advised fund funded in bunches, and a private
//! foundation — each year's deduction under the AGI limits with carryovers and the floor
//! (`domain::philanthropy`), and the income tax it saves through the tax engine
//! (`domain::tax::compute`, years past cairn's tables grown by 2.5% inflation).

use std::collections::BTreeMap;

use domain::ledger::types::FilingStatus;
use domain::philanthropy::{self as p, Category, Contribution};
use rust_decimal::{Decimal, MathematicalOps};
use serde::{Deserialize, Serialize};

use crate::ledger::ReportError;
use crate::reports::Report;

/// What is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Property {
    #[default]
    Cash,
    /// Publicly traded stock held over a year (capital gain property at fair market value).
    Appreciated,
}

impl std::str::FromStr for Property {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "cash" => Ok(Self::Cash),
            "appreciated" => Ok(Self::Appreciated),
            other => Err(format!("{other:?} is not cash or appreciated")),
        }
    }
}

/// A giving plan (`cairn estate philanthropy`, `GET /v1/estate/philanthropy`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GivingInput {
    /// The first year's income (wages and other ordinary income: the AGI), growing each year
    /// by `income_growth` (0.03).
    pub income: Decimal,
    pub income_growth: Option<Decimal>,
    /// Married filing jointly unless given.
    #[serde(default = "joint")]
    pub status: FilingStatus,
    /// Itemized deductions other than gifts (state and local taxes, mortgage interest).
    #[serde(default)]
    pub other_itemized: Decimal,
    /// Given each year, and what.
    pub annual: Decimal,
    #[serde(default)]
    pub property: Property,
    /// Appreciated stock's basis as a share of its value (0.2).
    pub basis: Option<Decimal>,
    /// Years of giving (20) from `start` (this year).
    pub years: Option<u32>,
    pub start: Option<i32>,
    /// The donor-advised fund is funded with this many years' gifts at once (5, or the plan's
    /// years if fewer).
    pub bunch: Option<u32>,
    /// What the fund and the foundation earn a year (0.06).
    pub investment_return: Option<Decimal>,
}

/// A giving plan's filing status when none is given.
fn joint() -> FilingStatus {
    FilingStatus::MarriedFilingJointly
}

/// A vehicle's year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct VehicleYear {
    pub year: i32,
    pub agi: Decimal,
    /// Put in by the donor, and paid out to charities.
    pub contribution: Decimal,
    pub grants: Decimal,
    pub deduction: Decimal,
    pub carried_out: Decimal,
    pub tax_saved: Decimal,
    /// The foundation's excise tax on its investment income; the assets at the year's end.
    pub excise: Decimal,
    pub assets: Decimal,
}

/// One vehicle over the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Vehicle {
    /// `direct`, `donor_advised_fund` or `private_foundation`.
    pub vehicle: &'static str,
    pub contributions: Decimal,
    pub grants: Decimal,
    pub deductions: Decimal,
    pub tax_saved: Decimal,
    /// Deductions lost when carryovers lapsed.
    pub lapsed: Decimal,
    pub excise: Decimal,
    /// Left in the fund or foundation at the end.
    pub assets_left: Decimal,
    /// The gain on appreciated stock given rather than sold: never taxed.
    pub capital_gain_avoided: Decimal,
    /// What the giving cost the donor: contributions less the tax saved.
    pub net_cost: Decimal,
    pub years: Vec<VehicleYear>,
}

/// The plan through the three vehicles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct GivingAnswer {
    pub start: i32,
    pub years: u32,
    pub annual: Decimal,
    pub property: Property,
    pub vehicles: Vec<Vehicle>,
    /// What the plan leaves out.
    pub excludes: Vec<&'static str>,
}

fn invalid(field: &'static str, problem: impl Into<String>) -> ReportError {
    ReportError::Invalid { field, problem: problem.into() }
}

/// `input` planned, from `this_year`.
pub fn plan(input: &GivingInput, this_year: i32) -> Result<GivingAnswer, ReportError> {
    let years = input.years.unwrap_or(20);
    if !(1..=40).contains(&years) {
        return Err(invalid("years", format!("{years} is not 1 to 40")));
    }
    let bunch = input.bunch.unwrap_or(years.min(5));
    if !(1..=years).contains(&bunch) {
        return Err(invalid("bunch", format!("{bunch} is not 1 to the plan's {years} years")));
    }
    for (field, v) in [("income", input.income), ("annual", input.annual), ("other_itemized", input.other_itemized)] {
        if v < Decimal::ZERO {
            return Err(invalid(field, format!("{v} is negative")));
        }
    }
    let basis = input.basis.unwrap_or(Decimal::new(2, 1));
    if basis < Decimal::ZERO || basis > Decimal::ONE {
        return Err(invalid("basis", format!("{basis} is not a share from 0 to 1")));
    }
    let growth = input.income_growth.unwrap_or(Decimal::new(3, 2));
    let ret = input.investment_return.unwrap_or(Decimal::new(6, 2));
    let start = input.start.unwrap_or(this_year);
    let half = Decimal::new(5, 1);
    for (field, v) in [("income_growth", growth), ("investment_return", ret)] {
        if v < -half || v > half {
            return Err(invalid(field, format!("{v} is not from -0.5 to 0.5")));
        }
    }
    let most = Decimal::from(1_000_000_000_000_i64);
    for (field, v) in [("income", input.income), ("annual", input.annual), ("other_itemized", input.other_itemized)] {
        if v >= most {
            return Err(invalid(field, "must be below $1,000,000,000,000"));
        }
    }
    if !(2024..=this_year + 50).contains(&start) {
        return Err(invalid("start", format!("{start} is not 2024 to {}", this_year + 50)));
    }
    let span: Vec<i32> = (start..start + years as i32).collect();
    // Five more years of income, for the last gifts' carryovers.
    let agi: BTreeMap<i32, Decimal> = (start..start + years as i32 + p::CARRY_YEARS)
        .enumerate()
        .map(|(k, y)| (y, (input.income * (Decimal::ONE + growth).powi(k as i64)).round_dp(2)))
        .collect();
    let appreciated = input.property == Property::Appreciated;
    let public = if appreciated { Category::PublicCapitalGain } else { Category::PublicCash };
    let private = if appreciated { Category::FoundationCapitalGain } else { Category::Foundation };
    let filer = domain::tax::Filer { status: input.status, seniors: 0, blind: 0 };
    let tax_saved = |year: i32, agi: Decimal, deduction: Decimal| {
        let table = domain::tax::projected(year, Decimal::new(25, 3));
        let income = |itemized| domain::tax::Income { ordinary: agi, itemized, ..Default::default() };
        let without = domain::tax::compute(&table, filer, &income(input.other_itemized)).total_tax;
        let with = domain::tax::compute(&table, filer, &income(input.other_itemized + deduction)).total_tax;
        (without - with).max(Decimal::ZERO)
    };
    let vehicle = |name: &'static str,
                   category: Category,
                   paid: &dyn Fn(usize) -> Decimal,
                   pays: &dyn Fn(Decimal, Decimal) -> Decimal,
                   excise_rate: Decimal| {
        let gifts: Vec<Contribution> = span
            .iter()
            .enumerate()
            .map(|(k, y)| Contribution { year: *y, category, amount: paid(k) })
            .filter(|c| !c.amount.is_zero())
            .collect();
        let found = p::deductions(&gifts, &agi).map_err(|e| invalid(e.field, e.problem))?;
        let mut assets = Decimal::ZERO;
        let mut rows = Vec::new();
        for (k, d) in found.iter().enumerate() {
            let contribution = if k < span.len() { paid(k) } else { Decimal::ZERO };
            let earned = assets * ret;
            let excise = (earned * excise_rate).round_dp(2);
            let grants = if k < span.len() {
                pays(assets, contribution).min(assets + contribution + earned - excise)
            } else {
                Decimal::ZERO
            };
            assets = (assets + contribution + earned - excise - grants).round_dp(2);
            rows.push(VehicleYear {
                year: d.year,
                agi: d.agi,
                contribution,
                grants: grants.round_dp(2),
                deduction: d.deduction,
                carried_out: d.carried_out,
                tax_saved: tax_saved(d.year, d.agi, d.deduction),
                excise,
                assets,
            });
        }
        // The years after the plan only matter while carryovers are used.
        while rows.len() > span.len() && rows.last().is_some_and(|r| r.deduction.is_zero()) {
            rows.pop();
        }
        let sum = |f: fn(&VehicleYear) -> Decimal| rows.iter().map(f).sum::<Decimal>();
        let contributions = sum(|r| r.contribution);
        let saved = sum(|r| r.tax_saved);
        Ok::<_, ReportError>(Vehicle {
            vehicle: name,
            contributions,
            grants: sum(|r| r.grants),
            deductions: sum(|r| r.deduction),
            tax_saved: saved,
            lapsed: found.iter().map(|d| d.lapsed).sum(),
            excise: sum(|r| r.excise),
            assets_left: rows.last().map_or(Decimal::ZERO, |r| r.assets),
            capital_gain_avoided: if appreciated {
                (contributions * (Decimal::ONE - basis)).round_dp(2)
            } else {
                Decimal::ZERO
            },
            net_cost: contributions - saved,
            years: rows,
        })
    };
    let level = |_: usize| input.annual;
    let bunched = |k: usize| {
        if k % bunch as usize == 0 {
            input.annual * Decimal::from((years as usize - k).min(bunch as usize))
        } else {
            Decimal::ZERO
        }
    };
    let straight = |_: Decimal, given: Decimal| given;
    let granting = |_: Decimal, _: Decimal| input.annual;
    // A foundation pays out at least 5% of what it held (§4942); cairn has it pay that.
    let payout = |held: Decimal, _: Decimal| (held * p::FOUNDATION_PAYOUT).round_dp(2);
    let vehicles = vec![
        vehicle("direct", public, &level, &straight, Decimal::ZERO)?,
        vehicle("donor_advised_fund", public, &bunched, &granting, Decimal::ZERO)?,
        vehicle("private_foundation", private, &level, &payout, p::FOUNDATION_EXCISE)?,
    ];
    Ok(GivingAnswer {
        start,
        years,
        annual: input.annual,
        property: input.property,
        vehicles,
        excludes: vec![
            "the foundation's costs of running it and its tax returns",
            "the reduction of itemized deductions for the 37% bracket (§68 from 2026)",
            "the 0.5% floor's carryforward when a limit also binds",
            "state income tax",
        ],
    })
}

/// The vehicles side by side, for CSV and tables.
pub fn report(a: &GivingAnswer) -> Result<Report, ReportError> {
    const COLUMNS: [&str; 10] = [
        "vehicle",
        "contributions",
        "grants",
        "deductions",
        "tax_saved",
        "lapsed",
        "excise",
        "assets_left",
        "capital_gain_avoided",
        "net_cost",
    ];
    let rows = a.vehicles.iter().map(|v| crate::reports::fields(v, &COLUMNS)).collect::<Result<_, _>>()?;
    Ok(Report { name: "philanthropy", columns: COLUMNS.to_vec(), rows, totals: Vec::new(), summary: Vec::new() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn input() -> GivingInput {
        GivingInput {
            income: dec!(400000),
            income_growth: Some(Decimal::ZERO),
            status: FilingStatus::MarriedFilingJointly,
            other_itemized: dec!(10000),
            annual: dec!(20000),
            property: Property::Cash,
            basis: None,
            years: Some(10),
            start: Some(2026),
            bunch: Some(5),
            investment_return: Some(Decimal::ZERO),
        }
    }

    #[test]
    fn bunching_into_a_fund_itemizes_where_yearly_gifts_do_not() {
        let a = plan(&input(), 2026).unwrap();
        let [direct, fund, foundation] = &a.vehicles[..] else { panic!("three vehicles") };
        // $20,000 + $10,000 of other itemized deductions is under 2026's $32,200 standard
        // deduction (married filing jointly): giving yearly saves nothing at all.
        assert_eq!(direct.tax_saved, Decimal::ZERO);
        // Five years' gifts at once ($100,000) itemize in 2026 and 2031.
        assert_eq!(fund.years[0].contribution, dec!(100000));
        assert_eq!(fund.years[5].contribution, dec!(100000));
        assert!(fund.tax_saved > dec!(30000), "{}", fund.tax_saved);
        assert_eq!(fund.grants, dec!(200000));
        // With no return the foundation pays out only what 5% of its assets is.
        assert!(foundation.assets_left > Decimal::ZERO && foundation.excise.is_zero());
        assert_eq!(fund.net_cost, fund.contributions - fund.tax_saved);
    }

    #[test]
    fn appreciated_stock_to_a_foundation_meets_the_twenty_percent_limit() {
        let big = GivingInput { annual: dec!(200000), property: Property::Appreciated, ..input() };
        let a = plan(&big, 2026).unwrap();
        let foundation = &a.vehicles[2];
        // 20% of $400,000: $80,000 a year allowed, less the 0.5% floor ($2,000).
        assert_eq!(foundation.years[0].deduction, dec!(78000));
        assert!(foundation.years[0].carried_out > Decimal::ZERO);
        assert!(foundation.lapsed > Decimal::ZERO, "five-year carryovers lapse at this pace");
        // Direct to a public charity: 30%, $120,000 less the floor.
        assert_eq!(a.vehicles[0].years[0].deduction, dec!(118000));
        assert_eq!(a.vehicles[0].capital_gain_avoided, dec!(1600000.00));
        let bad = GivingInput { bunch: Some(11), ..input() };
        assert!(matches!(plan(&bad, 2026), Err(ReportError::Invalid { field: "bunch", .. })));
    }
}
