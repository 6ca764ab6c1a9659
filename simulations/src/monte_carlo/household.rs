//! The household plan: a plan's `[household]` run as one model on the engine's paths.
//!
//! The engine draws each path's market (its portfolio return and its inflation, year by year,
//! with every feature of the plan's model); the household's accounts live on those paths:
//!
//! - **Start.** The accounts' balances are the starting wealth, in four pots by tax character
//!   ([`domain::drawdown::Pots`]): taxable (with its basis), traditional (pre-tax and employer
//!   401(k)/403(b) money, traditional IRAs), Roth (Roth 401(k) money, Roth IRAs) and HSA. 529
//!   plans pay for college and stay in the deterministic account projection.
//! - **Contributions** are the account projection's ([`crate::accounts`]): within the year's
//!   limits with the catch-ups, the match and its vesting, until the person retires; each goes
//!   into the pot of its tax character at the end of the year. `cash_flows.annual_contribution`
//!   (until `retire_after_years`) adds after-tax savings to the taxable pot.
//! - **A year** ([`domain::drawdown`]): at its start the RMD leaves the traditional pot (from
//!   the SECURE 2.0 start age, once retired), income streams arrive (taxed as each stream's
//!   `taxed_as` says), and from `retire_after_years` the plan's withdrawal strategy sets the
//!   spending (on the household's total wealth); spending, fixed fees and Medicare's IRMAA
//!   surcharges are paid from income, the RMD, and withdrawals in the chosen order, grossed up
//!   for the year's federal tax on the whole return (wages while working pay their own). The pots
//!   then earn the path's return less the fee rate.
//! - **Tax tables**: cairn's own for 2024–2026, later years grown by the plan's
//!   `cash_flows.inflation` ([`domain::tax::projected`]). IRMAA: the year's MAGI sets the
//!   surcharges of two years later for whoever is 65 then; the first two years' surcharges
//!   (set by years before the plan) are taken as none.
//! - **Counted**: a path succeeds when every year's spending is paid in full. After-tax wealth
//!   is taxable + Roth + (traditional + HSA) × (1 − `heirs_rate`) (taxable money gets a
//!   stepped-up basis at death, IRC §1014), in today's money (divided by the path's price
//!   level) and nominal. Each year's medians (`median_years`) are each figure's own median over
//!   the paths, not one path's.

use domain::drawdown::{self, Order, Pots};
use domain::ledger::types::FilingStatus;
use domain::tax::{self, Filer, YearTable};
use rayon::prelude::*;
use rust_decimal::prelude::*;
use serde::Serialize;

use super::schedule::Schedule;
use super::withdrawal::{self, Spending};
use super::{Band, Outcome, Plan, TaxedAs, NOMINAL, TODAYS_MONEY};
use crate::accounts::{self, AccountsPlan, Kind};
use crate::stats::percentiles;
use crate::{invalid, SimError};

/// What each figure of a [`HouseholdOutcome`] is in.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, schemars::JsonSchema)]
pub struct HouseholdUnits {
    pub starting_wealth: &'static str,
    pub bands: &'static str,
    pub after_tax_bands: &'static str,
    pub spending_bands: &'static str,
    pub tax_bands: &'static str,
    pub terminal_after_tax: &'static str,
    pub terminal_after_tax_nominal: &'static str,
    pub lifetime_tax: &'static str,
    pub median_years: &'static str,
}

pub const HOUSEHOLD_UNITS: HouseholdUnits = HouseholdUnits {
    starting_wealth: NOMINAL,
    bands: NOMINAL,
    after_tax_bands: TODAYS_MONEY,
    spending_bands: TODAYS_MONEY,
    tax_bands: TODAYS_MONEY,
    terminal_after_tax: TODAYS_MONEY,
    terminal_after_tax_nominal: NOMINAL,
    lifetime_tax: TODAYS_MONEY,
    median_years: NOMINAL,
};

/// One year's medians over the paths (nominal): each figure's own median.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct MedianYear {
    pub year: i32,
    pub age: u32,
    pub spending: f64,
    pub income: f64,
    pub rmd: f64,
    pub from_taxable: f64,
    pub from_traditional: f64,
    pub from_roth: f64,
    pub from_hsa: f64,
    /// Federal tax the portfolio paid, the 10% additional tax, and IRMAA surcharges.
    pub tax: f64,
    pub additional_tax: f64,
    pub irmaa: f64,
    /// Year-end balances.
    pub taxable: f64,
    pub traditional: f64,
    pub roth: f64,
    pub hsa: f64,
}

/// What a household plan gives.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct HouseholdOutcome {
    pub paths: usize,
    pub years: u32,
    pub start_year: i32,
    /// The withdrawal order, as run.
    pub order: String,
    pub starting_wealth: f64,
    /// Share of paths on which every year's spending was paid in full.
    pub success_probability: f64,
    /// Percentiles (5/25/50/75/95) per year: total wealth, after-tax wealth, spending paid, and
    /// the year's tax (federal, additional and IRMAA).
    pub bands: Vec<Band>,
    pub after_tax_bands: Vec<Band>,
    pub spending_bands: Vec<Band>,
    pub tax_bands: Vec<Band>,
    pub terminal_after_tax: [f64; 5],
    pub terminal_after_tax_nominal: [f64; 5],
    pub lifetime_tax: [f64; 5],
    pub median_years: Vec<MedianYear>,
    /// How the household is modelled, in words.
    pub method: Vec<String>,
    pub units: HouseholdUnits,
    pub warnings: Vec<String>,
}

/// The fields of one path's year, in [`MedianYear`]'s order after the year and age.
const FIELDS: usize = 14;

/// One path's year.
#[derive(Debug, Clone, Copy, Default)]
struct Row {
    total: f64,
    after_tax: f64,
    after_tax_nominal: f64,
    /// Spending paid and tax, today's money.
    spent: f64,
    tax_today: f64,
    short: bool,
    /// [`MedianYear`]'s figures, nominal.
    detail: [f64; FIELDS],
}

/// A year's deterministic flows from the account projection.
#[derive(Debug, Clone, Copy, Default)]
struct Flows {
    working: bool,
    /// Wages less pre-tax deferrals.
    wages: f64,
    traditional: f64,
    roth: f64,
    taxable: f64,
    hsa: f64,
}

struct Setup<'a> {
    plan: &'a Plan,
    household: &'a AccountsPlan,
    schedule: Schedule<'a>,
    order: Order,
    tables: Vec<YearTable>,
    flows: Vec<Flows>,
    opening: Pots,
    rmd_age: u32,
}

fn dec(v: f64) -> Decimal {
    Decimal::from_f64(v).unwrap_or_default().round_dp(2)
}

fn num(d: Decimal) -> f64 {
    d.to_f64().unwrap_or(0.0)
}

/// The accounts' balances by tax character.
fn opening(h: &AccountsPlan) -> Pots {
    let mut p = Pots::default();
    for a in &h.accounts {
        let balance = dec(a.balance);
        match a.kind {
            Kind::K401 | Kind::B403 => {
                let roth = dec(a.roth_balance.unwrap_or(0.0));
                p.roth += roth;
                p.traditional += balance - roth;
            }
            Kind::TraditionalIra => p.traditional += balance,
            Kind::RothIra => p.roth += balance,
            Kind::Hsa => p.hsa += balance,
            Kind::Taxable => {
                p.taxable += balance;
                p.basis += dec(a.basis.unwrap_or(a.balance));
            }
            Kind::Plan529 => {}
        }
    }
    p
}

/// Each year's contributions by pot, and the wages, from the deterministic projection.
fn flows(h: &AccountsPlan, projection: &accounts::Projection) -> Vec<Flows> {
    projection
        .years
        .iter()
        .enumerate()
        .map(|(t, totals)| {
            let mut f = Flows { working: totals.salary > 0.0, wages: totals.salary, ..Flows::default() };
            for (a, p) in h.accounts.iter().zip(&projection.accounts) {
                let y = &p.years[t];
                f.wages -= y.employee_pre_tax;
                f.roth += y.employee_roth;
                match a.kind {
                    Kind::K401 | Kind::B403 | Kind::TraditionalIra => {
                        f.traditional += y.employee_pre_tax + y.employer - y.forfeited
                    }
                    Kind::RothIra => {}
                    Kind::Hsa => f.hsa += y.employee_pre_tax + y.employee_after_tax + y.employer,
                    Kind::Taxable => f.taxable += y.employee_pre_tax + y.employee_after_tax + y.employer,
                    Kind::Plan529 => {}
                }
            }
            f.wages = f.wages.max(0.0);
            f
        })
        .collect()
}

fn order_of(h: &AccountsPlan) -> Result<Order, SimError> {
    let w = &h.withdrawals;
    Order::parse(&w.order, w.bracket.map(dec)).map_err(|e| match e {
        domain::DomainError::Rejected { field, problem, .. } => {
            invalid(format!("household.withdrawals.{field}"), problem)
        }
        other => invalid("household.withdrawals", other),
    })
}

fn check(h: &AccountsPlan) -> Result<(), SimError> {
    let w = &h.withdrawals;
    if !(w.dividend_yield.is_finite() && (0.0..=0.2).contains(&w.dividend_yield)) {
        return Err(invalid("household.withdrawals.dividend_yield", "must be from 0 to 0.2 (0.015 for 1.5%)"));
    }
    if !(w.heirs_rate.is_finite() && (0.0..1.0).contains(&w.heirs_rate)) {
        return Err(invalid("household.withdrawals.heirs_rate", "must be from 0 to below 1"));
    }
    Ok(())
}

impl<'a> Setup<'a> {
    fn new(plan: &'a Plan, household: &'a AccountsPlan) -> Result<Self, SimError> {
        check(household)?;
        let order = order_of(household)?;
        let projection = accounts::project(household, plan.years)?;
        let p = &household.person;
        let inflation = dec(plan.cash_flows.inflation);
        let tables = (0..plan.years as i32 + 2).map(|t| tax::projected(p.start_year + t, inflation)).collect();
        Ok(Self {
            plan,
            household,
            schedule: Schedule::new(plan)?,
            order,
            tables,
            flows: flows(household, &projection),
            opening: opening(household),
            rmd_age: domain::rmd::start_age(p.birth_year, p.birth_month),
        })
    }

    fn ages(&self, year: i32) -> (u32, Option<u32>) {
        let p = &self.household.person;
        let age = |born: i32| u32::try_from(year - born).unwrap_or(0);
        (age(p.birth_year), p.spouse_birth_year.map(age))
    }

    /// Of the person and the spouse, how many are at least `at` in `year`.
    fn aged(&self, year: i32, at: u32) -> u8 {
        let (own, spouse) = self.ages(year);
        u8::from(own >= at) + u8::from(spouse.is_some_and(|s| s >= at))
    }

    fn path(&self, returns: &[f64], inflation: &[f64]) -> Vec<Row> {
        let (plan, h) = (self.plan, self.household);
        let (person, cf) = (&h.person, &plan.cash_flows);
        let status = person.filing_status.unwrap_or_default();
        let years = plan.years as usize;
        let keep = Decimal::ONE - dec(plan.fees.annual_rate);
        let heirs = Decimal::ONE - dec(h.withdrawals.heirs_rate);
        let dividend_yield = dec(h.withdrawals.dividend_yield);
        let mut pots = self.opening;
        let mut level = 1.0;
        let mut spending_state = Spending::default();
        let mut irmaa_due = vec![Decimal::ZERO; years + 2];
        let mut short = false;
        let mut rows = Vec::with_capacity(years);
        for t in 0..years {
            let year = person.start_year + t as i32;
            let (age, _) = self.ages(year);
            let f = self.flows[t];
            let index = |indexed: bool| if indexed { level } else { 1.0 };
            let most_seniors = if status == FilingStatus::MarriedFilingJointly { 2 } else { 1 };
            let filer = Filer { status, seniors: self.aged(year, 65).min(most_seniors), blind: 0 };
            let rmd = match domain::rmd::distribution_period(age) {
                Some(period) if !f.working && age >= self.rmd_age => (pots.traditional / period).round_dp(2),
                _ => Decimal::ZERO,
            };
            // An empty household still has to spend: the constant strategy's spending then falls short.
            let spending = if t as u32 >= cf.retire_after_years {
                let y = withdrawal::Year {
                    remaining: plan.years - t as u32,
                    age: Some(age),
                    base: cf.annual_withdrawal * index(cf.index_withdrawals),
                    wealth: num(pots.total()),
                };
                plan.withdrawal.amount(&mut spending_state, &y)
            } else {
                0.0
            };
            let (mut ordinary, mut social_security, mut tax_free) = (0.0, 0.0, 0.0);
            for ((start, end), s) in self.schedule.income.iter().zip(&cf.income) {
                if (*start..*end).contains(&(t as u32)) {
                    let amount = s.annual_amount * index(s.inflation_adjusted);
                    match s.taxed_as {
                        TaxedAs::Ordinary => ordinary += amount,
                        TaxedAs::SocialSecurity => social_security += amount,
                        TaxedAs::TaxFree => tax_free += amount,
                    }
                }
            }
            let irmaa = irmaa_due[t];
            let costs = dec(spending + plan.fees.annual_fixed * level) + irmaa;
            let early = age < 59 || (age == 59 && person.birth_month > 6);
            let y = drawdown::Year {
                table: &self.tables[t],
                filer,
                early,
                spending: costs,
                wages: dec(f.wages),
                ordinary: dec(ordinary),
                social_security: dec(social_security),
                tax_free: dec(tax_free),
                dividends: (pots.taxable * dividend_yield).round_dp(2),
                rmd,
            };
            let d = drawdown::draw(self.order, &pots, &y);
            short |= d.shortfall >= Decimal::ONE;
            // This year's MAGI sets the surcharges of two years on, for whoever is 65 then.
            let people = self.aged(year + 2, 65);
            if people > 0 {
                let premiums = &self.tables[t + 2];
                let tier = tax::irmaa(premiums, status, d.agi);
                let standard = Decimal::new(i64::from(premiums.irmaa.part_b_standard), 2);
                let monthly = tier.part_b_monthly - standard + tier.part_d_monthly;
                irmaa_due[t + 2] = (monthly * Decimal::from(12 * u32::from(people))).max(Decimal::ZERO);
            }
            // A year's growth, then the year-end contributions.
            let grow = Decimal::from_f64(1.0 + returns[t]).unwrap_or(Decimal::ONE) * keep;
            let a = d.after;
            let saved = dec(f.taxable)
                + if (t as u32) < cf.retire_after_years {
                    dec(cf.annual_contribution * index(cf.index_contributions))
                } else {
                    Decimal::ZERO
                };
            pots = Pots {
                taxable: (a.taxable * grow).round_dp(2) + saved,
                basis: a.basis + saved,
                traditional: (a.traditional * grow).round_dp(2) + dec(f.traditional),
                roth: (a.roth * grow).round_dp(2) + dec(f.roth),
                hsa: (a.hsa * grow).round_dp(2) + dec(f.hsa),
            };
            let start_level = level;
            level *= 1.0 + inflation[t];
            let after_tax = num(pots.taxable + pots.roth + (pots.traditional + pots.hsa) * heirs);
            let paid_tax = d.tax + d.additional_tax + irmaa;
            rows.push(Row {
                total: num(pots.total()),
                after_tax: after_tax / level,
                after_tax_nominal: after_tax,
                spent: (spending - num(d.shortfall)).max(0.0) / start_level,
                tax_today: num(paid_tax) / start_level,
                short,
                detail: [
                    spending,
                    ordinary + social_security + tax_free,
                    num(d.rmd),
                    num(d.taxable),
                    num(d.traditional),
                    num(d.roth),
                    num(d.hsa),
                    num(d.tax),
                    num(d.additional_tax),
                    num(irmaa),
                    num(pots.taxable),
                    num(pots.traditional),
                    num(pots.roth),
                    num(pots.hsa),
                ],
            });
        }
        rows
    }

    fn method(&self) -> Vec<String> {
        let w = &self.household.withdrawals;
        let order = match self.order {
            Order::TaxableFirst => "taxable first, then traditional, then Roth, then HSA".to_owned(),
            Order::Proportional => {
                "taxable, traditional and Roth in proportion to their balances, then HSA".to_owned()
            }
            Order::Bracket { rate } => format!(
                "from 59½ traditional to the top of the {}% bracket, then taxable, then the rest of traditional, then Roth, then HSA (before 59½ taxable first)",
                (rate * Decimal::ONE_HUNDRED).normalize()
            ),
        };
        vec![
            format!("withdrawals: {order}, grossed up for the year's federal tax on the whole return"),
            "each path's market (return and inflation per year) is the engine's; every pot earns the path's return less the fee rate".to_owned(),
            "contributions: the account projection's, within the limits, into the pot of their tax character at year end; 529 plans are left to the projection".to_owned(),
            format!(
                "tax: cairn's tables for 2024-2026, later years grown by {}% a year; dividends {}% of the taxable pot, qualified and reinvested; gains at the pot's average cost, long-term",
                self.plan.cash_flows.inflation * 100.0,
                w.dividend_yield * 100.0
            ),
            "Roth and HSA withdrawals tax-free (qualified); traditional withdrawals before 59½ pay the 10% additional tax; IRMAA from the MAGI of two years before".to_owned(),
            format!(
                "after-tax wealth: taxable + Roth + (traditional + HSA) x (1 - {}) (the heirs' rate; taxable money steps up)",
                w.heirs_rate
            ),
        ]
    }
}

/// Runs `plan` (which has a `[household]`) on the engine and the household model on the
/// engine's paths: the engine's outcome (for the returns' risk) and the household's.
pub fn run(plan: &Plan, threads: usize) -> Result<(Outcome, HouseholdOutcome), SimError> {
    let household = plan.household.as_ref().ok_or_else(|| invalid("household", "the plan has no [household]"))?;
    let person_age = u32::try_from(household.person.start_year - household.person.birth_year).unwrap_or(0);
    let mut plan = plan.clone();
    match plan.age {
        Some(a) if a != person_age => {
            return Err(invalid(
                "age",
                format!(
                    "{a} is not the [household.person]'s age in {} ({person_age}): leave it out",
                    household.person.start_year
                ),
            ))
        }
        _ => plan.age = Some(person_age),
    }
    let plan = &plan;
    let household = plan.household.as_ref().ok_or_else(|| invalid("household", "missing"))?;
    let setup = Setup::new(plan, household)?;
    let outcome = super::run(plan, threads)?;
    let years = plan.years as usize;
    let pool =
        rayon::ThreadPoolBuilder::new().num_threads(threads).build().map_err(|e| invalid("threads", e.to_string()))?;
    let paths: Vec<Vec<Row>> = pool.install(|| {
        (0..plan.paths)
            .into_par_iter()
            .map(|p| {
                let at = p * years..(p + 1) * years;
                setup.path(&outcome.annual_returns[at.clone()], &outcome.annual_inflation[at])
            })
            .collect()
    });
    let column = |t: usize, of: &dyn Fn(&Row) -> f64| paths.iter().map(|rows| of(&rows[t])).collect::<Vec<f64>>();
    let band = |t: usize, of: &dyn Fn(&Row) -> f64| Band { year: t as u32 + 1, wealth: percentiles(column(t, of)) };
    let retire = (plan.cash_flows.retire_after_years as usize).min(years);
    let last = years - 1;
    let median = |t: usize, i: usize| percentiles(column(t, &|r: &Row| r.detail[i]))[2];
    let start_year = household.person.start_year;
    let mut warnings = outcome.warnings.clone();
    let retire_age = household.person.retirement_age;
    if person_age + plan.cash_flows.retire_after_years != retire_age.max(person_age) {
        warnings.push(format!(
            "spending starts at {} (cash_flows.retire_after_years = {}) but work and contributions stop at {} (household.person.retirement_age)",
            person_age + plan.cash_flows.retire_after_years,
            plan.cash_flows.retire_after_years,
            retire_age
        ));
    }
    let household_outcome = HouseholdOutcome {
        paths: plan.paths,
        years: plan.years,
        start_year,
        order: household.withdrawals.order.clone(),
        starting_wealth: num(setup.opening.total()),
        success_probability: paths.iter().filter(|rows| !rows[last].short).count() as f64 / plan.paths as f64,
        bands: (0..years).map(|t| band(t, &|r| r.total)).collect(),
        after_tax_bands: (0..years).map(|t| band(t, &|r| r.after_tax)).collect(),
        spending_bands: (retire..years).map(|t| band(t, &|r| r.spent)).collect(),
        tax_bands: (0..years).map(|t| band(t, &|r| r.tax_today)).collect(),
        terminal_after_tax: percentiles(column(last, &|r| r.after_tax)),
        terminal_after_tax_nominal: percentiles(column(last, &|r| r.after_tax_nominal)),
        lifetime_tax: percentiles(paths.iter().map(|rows| rows.iter().map(|r| r.tax_today).sum()).collect()),
        median_years: (0..years)
            .map(|t| {
                let year = start_year + t as i32;
                MedianYear {
                    year,
                    age: setup.ages(year).0,
                    spending: median(t, 0),
                    income: median(t, 1),
                    rmd: median(t, 2),
                    from_taxable: median(t, 3),
                    from_traditional: median(t, 4),
                    from_roth: median(t, 5),
                    from_hsa: median(t, 6),
                    tax: median(t, 7),
                    additional_tax: median(t, 8),
                    irmaa: median(t, 9),
                    taxable: median(t, 10),
                    traditional: median(t, 11),
                    roth: median(t, 12),
                    hsa: median(t, 13),
                }
            })
            .collect(),
        method: setup.method(),
        units: HOUSEHOLD_UNITS,
        warnings,
    };
    Ok((outcome, household_outcome))
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;

    /// A plan of `years` on a market with no return, no volatility and no inflation, so that
    /// money is exact; `extra` adds TOML (the household's accounts and the rest).
    fn plan(years: u32, spending: f64, extra: &str) -> Plan {
        toml::from_str(&format!(
            "years = {years}\npaths = 4\nseed = 1\n\
             [cash_flows]\nannual_withdrawal = {spending}\nretire_after_years = 0\n\
             [model]\n[[model.assets]]\nname = \"cash\"\nexpected_return = 0.0\nvolatility = 0.0\nweight = 1.0\n\
             [household.person]\nbirth_year = 1961\nstart_year = 2026\nretirement_age = 60\n{extra}"
        ))
        .unwrap()
    }

    /// Spending from a taxable account bought at its value: no gain, no tax, the balance falls
    /// by the spending each year, and every path succeeds.
    #[test]
    fn spending_from_taxable_money_without_gain_pays_no_tax() {
        let p = plan(
            10,
            40_000.0,
            "[[household.accounts]]\nname = \"brokerage\"\nkind = \"taxable\"\nbalance = 1000000.0\n",
        );
        let (_, h) = run(&p, 1).unwrap();
        assert_eq!(h.starting_wealth, 1_000_000.0);
        assert_eq!(h.success_probability, 1.0);
        assert!((h.bands[9].wealth[2] - 600_000.0).abs() < 1e-6, "{:?}", h.bands[9]);
        assert_eq!(h.median_years[0].from_taxable, 40_000.0);
        assert_eq!(h.lifetime_tax[2], 0.0);
        assert!((h.spending_bands[3].wealth[2] - 40_000.0).abs() < 1e-6);
    }

    /// Traditional money: each year's withdrawal is the domain's grossed-up draw (65 in 2026,
    /// single: the 65-and-older and senior deductions), the tax is counted in lifetime tax, and
    /// after-tax wealth takes the heirs' rate off what is left.
    #[test]
    fn traditional_withdrawals_pay_the_engines_tax() {
        let p = plan(
            3,
            60_000.0,
            "[[household.accounts]]\nname = \"ira\"\nkind = \"traditional_ira\"\nbalance = 1000000.0\n",
        );
        let (_, h) = run(&p, 1).unwrap();
        let pots = Pots { traditional: dec!(1000000), ..Pots::default() };
        let filer = Filer { status: FilingStatus::Single, seniors: 1, blind: 0 };
        let y = drawdown::Year::spending(tax::year(2026).unwrap(), filer, dec!(60000));
        let d = drawdown::draw(Order::TaxableFirst, &pots, &y);
        assert!(d.tax > dec!(3000), "{}", d.tax);
        let first = &h.median_years[0];
        assert_eq!(first.from_traditional, num(d.traditional));
        assert_eq!(first.tax, num(d.tax));
        let left = 1_000_000.0 - first.from_traditional;
        assert!((h.median_years[0].traditional - left).abs() < 1e-6);
        assert!((h.after_tax_bands[0].wealth[2] - left * 0.76).abs() < 0.01, "{:?}", h.after_tax_bands[0]);
    }

    /// Too much spending runs the accounts dry: no path succeeds, and the spending paid falls
    /// to what is left.
    #[test]
    fn spending_beyond_the_accounts_fails() {
        let p =
            plan(8, 200_000.0, "[[household.accounts]]\nname = \"roth\"\nkind = \"roth_ira\"\nbalance = 1000000.0\n");
        let (_, h) = run(&p, 1).unwrap();
        assert_eq!(h.success_probability, 0.0);
        assert_eq!(h.median_years[4].from_roth, 200_000.0);
        assert_eq!(h.bands[4].wealth[2], 0.0);
        assert_eq!(h.spending_bands[5].wealth[2], 0.0, "nothing left to spend in year 6");
    }

    /// RMDs start at 73 for someone born in 1953 (SECURE 2.0): 265,000 over the period 26.5 is
    /// 10,000, taken even when Social Security pays the spending, and reinvested.
    #[test]
    fn the_rmd_is_taken_from_its_start_age() {
        let mut p = plan(
            2,
            20_000.0,
            "[[household.accounts]]\nname = \"ira\"\nkind = \"traditional_ira\"\nbalance = 265000.0\n",
        );
        p.cash_flows.income.push(super::super::Income {
            name: "Social Security".into(),
            annual_amount: 30_000.0,
            start_year: Some(1),
            start_age: None,
            years: None,
            inflation_adjusted: true,
            taxed_as: TaxedAs::SocialSecurity,
        });
        if let Some(h) = p.household.as_mut() {
            h.person.birth_year = 1953;
        }
        let (_, h) = run(&p, 1).unwrap();
        let first = &h.median_years[0];
        assert_eq!((first.rmd, first.from_traditional, first.income), (10_000.0, 0.0, 30_000.0));
        assert_eq!(first.taxable, 20_000.0, "the RMD and the income beyond spending are reinvested");
    }

    #[test]
    fn a_household_plan_refuses_what_does_not_fit() {
        let accounts = "[[household.accounts]]\nname = \"b\"\nkind = \"taxable\"\nbalance = 1.0\n";
        let mut p = plan(2, 0.0, accounts);
        p.initial_wealth = Some(5.0);
        assert!(run(&p, 1).unwrap_err().to_string().starts_with("initial_wealth:"));
        let p = plan(2, 0.0, &format!("{accounts}[household.withdrawals]\norder = \"bracket\"\n"));
        assert!(run(&p, 1).unwrap_err().to_string().starts_with("household.withdrawals.bracket:"));
        let mut p = plan(2, 0.0, accounts);
        p.age = Some(50);
        assert!(run(&p, 1).unwrap_err().to_string().starts_with("age:"));
    }
}
