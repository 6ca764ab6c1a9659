//! Account projections: a deterministic, year-by-year projection of a person's retirement,
//! health and education accounts: 401(k)/403(b) deferrals (pre-tax and Roth) with the
//! employer match and its vesting, IRAs, HSAs, 529 plans and taxable accounts.
//!
//! Contributions are capped by the ledger's own limits table ([`domain::limits`], grown past
//! its last year by the plan's `limit_growth`), with the catch-ups by age and each limit
//! shared by the accounts it covers: 402(g) across 401(k) and 403(b), the IRA limit across
//! traditional and Roth IRAs, the HSA limit across HSAs, 415(c) across employee and employer
//! money. The match formula and the legal vesting minimums are the ledger's
//! ([`domain::ledger::benefits`]), and required minimum distributions use [`domain::rmd`].
//!
//! Timing, kept simple and stated once: withdrawals (RMDs, college costs, forfeitures) happen
//! at the start of a year, out of the previous year-end balance; the balance then earns the
//! year's return; contributions arrive at the end of the year and earn nothing that year.
//! Amounts are nominal dollars. Plans are read from TOML, as a plan's `[household]`; see
//! `examples/accounts.toml`.

mod limits;
mod table;

use domain::ledger::benefits::{MatchFormula, MatchTier, SLOWEST_CLIFF_YEARS, SLOWEST_GRADED};
use domain::ledger::types::FilingStatus;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

pub use table::table;

use crate::{invalid, SimError};
use limits::Limits;

/// The normal retirement age at which a plan must fully vest employer money (IRC 411(a)(8)
/// caps a plan's normal retirement age at 65). Leaving work earlier forfeits the unvested part.
const NORMAL_RETIREMENT_AGE: u32 = 65;

/// HSA contributions stop at Medicare enrollment, taken to be at 65.
const MEDICARE_AGE: u32 = 65;

/// The longest projection, in years.
pub const MAX_YEARS: u32 = 100;

/// A person and their accounts: the `[accounts]` section of a plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountsPlan {
    pub person: Person,
    /// The assumed yearly return of every account without its own `return`.
    #[serde(default = "default_return")]
    pub annual_return: f64,
    /// The yearly growth of the contribution limits past the table's last year.
    #[serde(default = "default_limit_growth")]
    pub limit_growth: f64,
    #[serde(default)]
    pub accounts: Vec<Account>,
    /// How retirement spending is drawn from the accounts, taxed, and counted at the end, when
    /// the plan runs the household on Monte Carlo paths (`[household.withdrawals]`).
    #[serde(default)]
    pub withdrawals: Withdrawals,
}

/// `[household.withdrawals]`: the order accounts pay the year's spending in, and the rest of
/// what the yearly tax needs ([`crate::monte_carlo::household`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Withdrawals {
    /// `taxable_first` (taxable, traditional, Roth, HSA), `proportional`, or `bracket`
    /// (traditional money to the top of the bracket of `bracket`, then taxable, then the rest).
    #[serde(default = "taxable_first")]
    pub order: String,
    /// For `order = "bracket"`: the bracket rate to fill (0.12 for the 12% bracket).
    #[serde(default)]
    pub bracket: Option<f64>,
    /// The taxable accounts' yearly dividends as a share of their value, taxed each year as
    /// qualified dividends and reinvested (0.015 for 1.5%).
    #[serde(default)]
    pub dividend_yield: f64,
    /// The tax rate the heirs pay on traditional and HSA money left at the end (taxable money
    /// gets a stepped-up basis, IRC §1014; Roth money is tax-free).
    #[serde(default = "heirs_rate")]
    pub heirs_rate: f64,
}

fn taxable_first() -> String {
    "taxable_first".to_owned()
}

fn heirs_rate() -> f64 {
    0.24
}

impl Default for Withdrawals {
    fn default() -> Self {
        Self { order: taxable_first(), bracket: None, dividend_yield: 0.0, heirs_rate: heirs_rate() }
    }
}

fn default_return() -> f64 {
    0.05
}

fn default_limit_growth() -> f64 {
    0.02
}

/// The account owner. Ages are attained by 31 December, as the limits and RMD rules count them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Person {
    /// Required in a plan file; `--household` takes it from the ledger when left out.
    #[serde(default)]
    pub birth_year: i32,
    /// 1 to 12; matters only for the RMD start age of those born before July 1949.
    #[serde(default = "january")]
    pub birth_month: u32,
    /// The first projected year (required in a plan file; this year with `--household`).
    #[serde(default)]
    pub start_year: i32,
    /// Pay in the first year.
    #[serde(default)]
    pub salary: f64,
    #[serde(default)]
    pub salary_growth: f64,
    /// Work, pay and contributions stop in the year this age is reached.
    pub retirement_age: u32,
    /// The household's federal filing status (`single`, `married_filing_jointly`, ...), for
    /// the yearly tax of a household plan: single when left out (the ledger's with
    /// `--household`).
    #[serde(default)]
    pub filing_status: Option<FilingStatus>,
    /// The spouse's birth year, for the 65-and-older deductions and Medicare premiums.
    #[serde(default)]
    pub spouse_birth_year: Option<i32>,
}

fn january() -> u32 {
    1
}

/// What an account is, which decides its limits, its tax treatment and its RMDs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    #[serde(rename = "401k")]
    K401,
    #[serde(rename = "403b")]
    B403,
    #[serde(rename = "traditional_ira")]
    TraditionalIra,
    #[serde(rename = "roth_ira")]
    RothIra,
    #[serde(rename = "hsa")]
    Hsa,
    #[serde(rename = "529")]
    Plan529,
    #[serde(rename = "taxable")]
    Taxable,
}

impl Kind {
    pub fn label(self) -> &'static str {
        match self {
            Self::K401 => "401(k)",
            Self::B403 => "403(b)",
            Self::TraditionalIra => "traditional IRA",
            Self::RothIra => "Roth IRA",
            Self::Hsa => "HSA",
            Self::Plan529 => "529",
            Self::Taxable => "taxable",
        }
    }

    fn is_employer_plan(self) -> bool {
        matches!(self, Self::K401 | Self::B403)
    }

    fn is_ira(self) -> bool {
        matches!(self, Self::TraditionalIra | Self::RothIra)
    }
}

/// One account. Fields that do not apply to the account's kind are refused, by name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Account {
    pub name: String,
    pub kind: Kind,
    /// The balance at the start of the first year (for 401(k)/403(b): all of it, the Roth
    /// and employer parts below included).
    #[serde(default)]
    pub balance: f64,
    /// This account's assumed yearly return, instead of the plan's `annual_return`.
    #[serde(default, rename = "return")]
    pub annual_return: Option<f64>,
    /// The employee's yearly contribution in dollars (for 401(k)/403(b): the deferral)...
    #[serde(default)]
    pub contribution: Option<f64>,
    /// ...or as a share of pay (0.06 = 6%); one or the other.
    #[serde(default)]
    pub contribution_percent: Option<f64>,
    /// 401(k)/403(b): the share of the deferral made as Roth (0 to 1).
    #[serde(default)]
    pub roth_share: Option<f64>,
    /// 401(k)/403(b): the Roth part of `balance`.
    #[serde(default)]
    pub roth_balance: Option<f64>,
    /// 401(k)/403(b): the employer-money part of `balance`, which vests.
    #[serde(default)]
    pub employer_balance: Option<f64>,
    /// 401(k)/403(b): the matching formula, tier after tier.
    #[serde(default, rename = "match")]
    pub employer_match: Option<Vec<Tier>>,
    /// 401(k)/403(b): how employer money vests (immediately when absent).
    #[serde(default)]
    pub vesting: Option<VestingSchedule>,
    /// 401(k)/403(b): completed years of service at the start of the first year.
    #[serde(default)]
    pub years_of_service: Option<u32>,
    /// 401(k)/403(b): whether the employer trues up the match at year end. Without it, a
    /// deferral that reaches the limit early in the year loses the match on the pay after.
    #[serde(default)]
    pub true_up: Option<bool>,
    /// HSA: self-only or family coverage.
    #[serde(default)]
    pub coverage: Option<Coverage>,
    /// HSA: the employer's yearly contribution, which counts against the HSA limit.
    #[serde(default)]
    pub employer_contribution: Option<f64>,
    /// 529: the beneficiary's college years and their cost.
    #[serde(default)]
    pub college: Option<College>,
    /// Taxable: the cost basis of `balance` (the balance itself when absent: no gain yet).
    #[serde(default)]
    pub basis: Option<f64>,
}

impl Account {
    /// An account of `kind` with nothing in it and nothing set (an HSA with self-only coverage).
    pub fn new(name: &str, kind: Kind) -> Self {
        Self {
            name: name.to_owned(),
            kind,
            balance: 0.0,
            annual_return: None,
            contribution: None,
            contribution_percent: None,
            roth_share: None,
            roth_balance: None,
            employer_balance: None,
            employer_match: None,
            vesting: None,
            years_of_service: None,
            true_up: None,
            coverage: (kind == Kind::Hsa).then_some(Coverage::SelfOnly),
            employer_contribution: None,
            college: None,
            basis: None,
        }
    }
}

/// One match tier: `rate` of each dollar deferred on the next `of_pay` of pay (1.0 and 0.03
/// for "100% of the first 3%").
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    pub rate: f64,
    pub of_pay: f64,
}

/// How employer money vests with completed years of service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum VestingSchedule {
    Immediate,
    /// Nothing before `years` of service, everything from then.
    Cliff {
        years: u32,
    },
    /// `schedule[n]`: the vested share after n + 1 years of service; the last value holds on.
    Graded {
        schedule: Vec<f64>,
    },
}

impl VestingSchedule {
    /// The vested share (0 to 1) after `years` of completed service.
    pub fn vested_share(&self, years: u32) -> f64 {
        match self {
            Self::Immediate => 1.0,
            Self::Cliff { years: cliff } => {
                if years >= *cliff {
                    1.0
                } else {
                    0.0
                }
            }
            Self::Graded { schedule } => match years {
                0 => 0.0,
                n => schedule.get(n as usize - 1).or(schedule.last()).copied().unwrap_or(1.0),
            },
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Coverage {
    #[serde(rename = "self")]
    SelfOnly,
    Family,
}

/// A 529 beneficiary's college: when it starts, how long, and what a year costs today.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct College {
    /// Years from the first projected year to the first college year (0: college starts now).
    pub years_to_college: u32,
    /// A year of college at today's prices (the first projected year's).
    pub annual_cost: f64,
    /// The yearly growth of college costs (education inflation has run above general inflation).
    #[serde(default = "default_cost_inflation")]
    pub cost_inflation: f64,
    #[serde(default = "four")]
    pub years: u32,
}

fn default_cost_inflation() -> f64 {
    0.05
}

fn four() -> u32 {
    4
}

/// The projection: per account and year, plus the totals by tax treatment and the notes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Projection {
    pub start_year: i32,
    /// The age at which RMDs start for this person.
    pub rmd_start_age: u32,
    pub years: Vec<YearTotals>,
    pub accounts: Vec<AccountProjection>,
    /// Contributions cut by a limit, college costs not covered, employer money forfeited.
    pub notes: Vec<Note>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccountProjection {
    pub name: String,
    pub kind: Kind,
    pub years: Vec<AccountYear>,
}

/// One account in one year. Contributions by source; `withdrawal` includes the RMD.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AccountYear {
    pub year: i32,
    pub employee_pre_tax: f64,
    pub employee_roth: f64,
    /// 529 and taxable contributions, made from taxed pay.
    pub employee_after_tax: f64,
    pub employer: f64,
    /// The vested share of employer money at the end of the year.
    pub vested_share: f64,
    pub withdrawal: f64,
    pub rmd: f64,
    /// Unvested employer money lost on leaving work before the normal retirement age.
    pub forfeited: f64,
    /// 529: the part of the year's college cost the account could not pay.
    pub shortfall: f64,
    pub growth: f64,
    pub balance: f64,
    pub vested_balance: f64,
}

/// Every account together in one year, by tax treatment (year-end balances).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct YearTotals {
    pub year: i32,
    pub age: u32,
    pub salary: f64,
    /// Pre-tax 401(k)/403(b) money (employer money included) and traditional IRAs.
    pub pre_tax: f64,
    pub roth: f64,
    pub taxable: f64,
    pub hsa: f64,
    /// 529 plans.
    pub education: f64,
    pub total: f64,
    pub vested_total: f64,
    pub rmd: f64,
    /// True when the year's limits are past the table and grown by `limit_growth`.
    pub limits_projected: bool,
}

/// Something the projection changed or could not do: `requested` is what the plan asked
/// for, `allowed` what happened.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Note {
    pub year: i32,
    pub account: String,
    pub field: String,
    pub requested: f64,
    pub allowed: f64,
    pub reason: String,
}

/// Projects every account for `years` years (1 to [`MAX_YEARS`]) from the person's start year.
pub fn project(plan: &AccountsPlan, years: u32) -> Result<Projection, SimError> {
    let formulas = check(plan, years)?;
    let mut run = Run::new(plan, formulas);
    for t in 0..years {
        run.year(t)?;
    }
    Ok(run.finish())
}

// ---------------------------------------------------------------------------------------
// Checking the plan

/// Checks the plan and returns each account's match formula (empty where there is none).
fn check(plan: &AccountsPlan, years: u32) -> Result<Vec<MatchFormula>, SimError> {
    if years == 0 || years > MAX_YEARS {
        return Err(invalid("years", format!("must be 1 to {MAX_YEARS}")));
    }
    check_person(&plan.person)?;
    rate("annual_return", plan.annual_return, -0.99, 1.0)?;
    rate("limit_growth", plan.limit_growth, 0.0, 0.5)?;
    let mut names = std::collections::BTreeSet::new();
    let mut formulas = Vec::with_capacity(plan.accounts.len());
    for (i, a) in plan.accounts.iter().enumerate() {
        let at = format!("accounts[{i}]");
        if a.name.trim().is_empty() || !names.insert(a.name.as_str()) {
            return Err(invalid(format!("{at}.name"), "must be non-empty and unlike every other account's"));
        }
        check_account(&at, a)?;
        formulas.push(match_formula(&at, a.employer_match.as_deref().unwrap_or_default())?);
    }
    Ok(formulas)
}

fn rate(field: &str, v: f64, min: f64, max: f64) -> Result<(), SimError> {
    if v.is_finite() && (min..=max).contains(&v) {
        Ok(())
    } else {
        Err(invalid(field, format!("must be between {min} and {max} (a fraction: 0.05 = 5%)")))
    }
}

/// Dollar amounts: finite, not negative, below a trillion (so that they convert to decimals).
fn dollars(field: &str, v: f64) -> Result<(), SimError> {
    if v.is_finite() && (0.0..1e12).contains(&v) {
        Ok(())
    } else {
        Err(invalid(field, "must be a dollar amount, 0 or more"))
    }
}

fn check_person(p: &Person) -> Result<(), SimError> {
    if !(1900..=2100).contains(&p.birth_year) {
        return Err(invalid("person.birth_year", "must be 1900 to 2100"));
    }
    if !(1..=12).contains(&p.birth_month) {
        return Err(invalid("person.birth_month", "must be 1 to 12"));
    }
    let first = limits::first_year();
    if p.start_year < first || p.start_year > 2200 || p.start_year < p.birth_year {
        return Err(invalid(
            "person.start_year",
            format!("must be from {first} (the limits table's first year) to 2200, and not before birth"),
        ));
    }
    if p.retirement_age > 120 {
        return Err(invalid("person.retirement_age", "must be at most 120"));
    }
    if p.spouse_birth_year.is_some_and(|y| !(1900..=2100).contains(&y)) {
        return Err(invalid("person.spouse_birth_year", "must be 1900 to 2100"));
    }
    dollars("person.salary", p.salary)?;
    rate("person.salary_growth", p.salary_growth, -0.5, 0.2)
}

/// The fields of a 401(k)/403(b), an HSA and a 529: each is refused on any other kind.
fn misplaced(a: &Account) -> Option<&'static str> {
    let employer_plan = [
        ("roth_share", a.roth_share.is_some()),
        ("roth_balance", a.roth_balance.is_some()),
        ("employer_balance", a.employer_balance.is_some()),
        ("match", a.employer_match.is_some()),
        ("vesting", a.vesting.is_some()),
        ("years_of_service", a.years_of_service.is_some()),
        ("true_up", a.true_up.is_some()),
    ];
    let hsa = [("coverage", a.coverage.is_some()), ("employer_contribution", a.employer_contribution.is_some())];
    let plan529 = [("college", a.college.is_some())];
    let taxable = [("basis", a.basis.is_some())];
    let foreign = |fields: &[(&'static str, bool)], owner: bool| {
        if owner {
            None
        } else {
            fields.iter().find(|(_, set)| *set).map(|(name, _)| *name)
        }
    };
    foreign(&employer_plan, a.kind.is_employer_plan())
        .or_else(|| foreign(&hsa, a.kind == Kind::Hsa))
        .or_else(|| foreign(&plan529, a.kind == Kind::Plan529))
        .or_else(|| foreign(&taxable, a.kind == Kind::Taxable))
}

fn check_account(at: &str, a: &Account) -> Result<(), SimError> {
    if let Some(field) = misplaced(a) {
        return Err(invalid(format!("{at}.{field}"), format!("does not apply to a {} account", a.kind.label())));
    }
    dollars(&format!("{at}.balance"), a.balance)?;
    dollars(&format!("{at}.basis"), a.basis.unwrap_or(0.0))?;
    if let Some(r) = a.annual_return {
        rate(&format!("{at}.return"), r, -0.99, 1.0)?;
    }
    match (a.contribution, a.contribution_percent) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                format!("{at}.contribution_percent"),
                "give contribution or contribution_percent, not both",
            ))
        }
        (Some(c), None) => dollars(&format!("{at}.contribution"), c)?,
        (None, Some(p)) => rate(&format!("{at}.contribution_percent"), p, 0.0, 1.0)?,
        (None, None) => {}
    }
    if let Some(s) = a.roth_share {
        rate(&format!("{at}.roth_share"), s, 0.0, 1.0)?;
    }
    let (roth, employer) = (a.roth_balance.unwrap_or(0.0), a.employer_balance.unwrap_or(0.0));
    dollars(&format!("{at}.roth_balance"), roth)?;
    dollars(&format!("{at}.employer_balance"), employer)?;
    if roth + employer > a.balance {
        return Err(invalid(format!("{at}.balance"), "must be at least roth_balance + employer_balance"));
    }
    if let Some(v) = &a.vesting {
        check_vesting(&format!("{at}.vesting"), v)?;
    }
    dollars(&format!("{at}.employer_contribution"), a.employer_contribution.unwrap_or(0.0))?;
    if a.kind == Kind::Hsa && a.coverage.is_none() {
        return Err(invalid(format!("{at}.coverage"), "an HSA needs coverage = \"self\" or \"family\""));
    }
    match (a.kind, &a.college) {
        (Kind::Plan529, None) => Err(invalid(format!("{at}.college"), "a 529 account needs its college table")),
        (_, Some(c)) => check_college(&format!("{at}.college"), c),
        _ => Ok(()),
    }
}

fn check_college(at: &str, c: &College) -> Result<(), SimError> {
    if c.years_to_college > MAX_YEARS {
        return Err(invalid(format!("{at}.years_to_college"), format!("must be at most {MAX_YEARS}")));
    }
    if !(1..=10).contains(&c.years) {
        return Err(invalid(format!("{at}.years"), "must be 1 to 10"));
    }
    dollars(&format!("{at}.annual_cost"), c.annual_cost)?;
    rate(&format!("{at}.cost_inflation"), c.cost_inflation, -0.5, 0.5)
}

/// Refuses schedules that are not shares from 0 to 1 rising with service, and schedules
/// slower than the law allows (the ledger's IRC 411(a)(2)(B) minimums).
fn check_vesting(at: &str, v: &VestingSchedule) -> Result<(), SimError> {
    match v {
        VestingSchedule::Immediate => Ok(()),
        VestingSchedule::Cliff { years } if *years > SLOWEST_CLIFF_YEARS => Err(invalid(
            format!("{at}.years"),
            format!("a cliff may be at most {SLOWEST_CLIFF_YEARS} years (IRC 411(a)(2)(B))"),
        )),
        VestingSchedule::Cliff { .. } => Ok(()),
        VestingSchedule::Graded { schedule } => {
            let field = format!("{at}.schedule");
            let shares = schedule.iter().all(|s| s.is_finite() && (0.0..=1.0).contains(s));
            if schedule.is_empty() || !shares || schedule.windows(2).any(|w| w[1] < w[0]) {
                return Err(invalid(field, "must list vested shares from 0 to 1 that never fall"));
            }
            let slow =
                SLOWEST_GRADED.iter().find(|&&(years, pct)| v.vested_share(years) * 100.0 < f64::from(pct) - 1e-9);
            match slow {
                Some((years, pct)) => Err(invalid(
                    field,
                    format!("vests less than {pct}% after {years} years, slower than IRC 411(a)(2)(B) allows"),
                )),
                None => Ok(()),
            }
        }
    }
}

/// The plan's tiers as the ledger's formula, which computes the match.
fn match_formula(at: &str, tiers: &[Tier]) -> Result<MatchFormula, SimError> {
    let tiers = tiers
        .iter()
        .enumerate()
        .map(|(j, t)| {
            let field = |name: &str| format!("{at}.match[{j}].{name}");
            if !(t.rate.is_finite() && t.rate > 0.0 && t.rate <= 2.0) {
                return Err(invalid(field("rate"), "must be above 0 and at most 2 (200%)"));
            }
            if !(t.of_pay.is_finite() && t.of_pay > 0.0 && t.of_pay <= 1.0) {
                return Err(invalid(field("of_pay"), "must be above 0 and at most 1 (100% of pay)"));
            }
            Ok(MatchTier { rate: decimal(t.rate), of_pay: decimal(t.of_pay) })
        })
        .collect::<Result<_, _>>()?;
    Ok(MatchFormula { tiers })
}

/// A checked amount or rate as a decimal. Checked inputs are finite and far inside the decimal
/// range, so the fallback is never taken.
fn decimal(v: f64) -> Decimal {
    Decimal::try_from(v).unwrap_or(Decimal::ZERO)
}

// ---------------------------------------------------------------------------------------
// Running the projection

/// An account's money by tax character. `pre_tax` and `roth` are the employee's (or an
/// IRA's), `employer` is 401(k)/403(b) employer money (pre-tax, vesting), `other` is HSA,
/// 529 and taxable money, whose treatment the kind gives.
#[derive(Debug, Clone, Copy, Default)]
struct Buckets {
    pre_tax: f64,
    roth: f64,
    employer: f64,
    other: f64,
}

impl Buckets {
    fn opening(a: &Account) -> Self {
        let (roth, employer) = (a.roth_balance.unwrap_or(0.0), a.employer_balance.unwrap_or(0.0));
        match a.kind {
            Kind::K401 | Kind::B403 => Self { pre_tax: a.balance - roth - employer, roth, employer, other: 0.0 },
            Kind::TraditionalIra => Self { pre_tax: a.balance, ..Self::default() },
            Kind::RothIra => Self { roth: a.balance, ..Self::default() },
            Kind::Hsa | Kind::Plan529 | Kind::Taxable => Self { other: a.balance, ..Self::default() },
        }
    }

    fn total(&self) -> f64 {
        self.pre_tax + self.roth + self.employer + self.other
    }

    /// The year's contributions, each into the bucket of its tax character.
    fn deposit(&mut self, kind: Kind, f: &AccountYear) {
        self.roth += f.employee_roth;
        match kind {
            Kind::K401 | Kind::B403 => {
                self.pre_tax += f.employee_pre_tax;
                self.employer += f.employer;
            }
            Kind::TraditionalIra => self.pre_tax += f.employee_pre_tax,
            Kind::RothIra => {}
            Kind::Hsa | Kind::Plan529 | Kind::Taxable => {
                self.other += f.employee_pre_tax + f.employee_after_tax + f.employer;
            }
        }
    }

    fn scale(&mut self, factor: f64) {
        for v in [&mut self.pre_tax, &mut self.roth, &mut self.employer, &mut self.other] {
            *v *= factor;
        }
    }
}

struct State {
    money: Buckets,
    service: u32,
    /// Left work: what employer money remains is the employee's.
    separated: bool,
}

/// One year's facts shared by every account.
struct Year {
    t: u32,
    year: i32,
    age: u32,
    working: bool,
    salary: f64,
    limits: Limits,
}

struct Run<'a> {
    plan: &'a AccountsPlan,
    formulas: Vec<MatchFormula>,
    rmd_start_age: u32,
    states: Vec<State>,
    accounts: Vec<AccountProjection>,
    totals: Vec<YearTotals>,
    notes: Vec<Note>,
}

impl<'a> Run<'a> {
    fn new(plan: &'a AccountsPlan, formulas: Vec<MatchFormula>) -> Self {
        let p = &plan.person;
        let working_at_start = p.start_year - p.birth_year < p.retirement_age as i32;
        let states = plan
            .accounts
            .iter()
            .map(|a| State {
                money: Buckets::opening(a),
                service: a.years_of_service.unwrap_or(0),
                separated: !working_at_start,
            })
            .collect();
        let accounts = plan
            .accounts
            .iter()
            .map(|a| AccountProjection { name: a.name.clone(), kind: a.kind, years: vec![] })
            .collect();
        Run {
            plan,
            formulas,
            rmd_start_age: domain::rmd::start_age(p.birth_year, p.birth_month),
            states,
            accounts,
            totals: vec![],
            notes: vec![],
        }
    }

    fn finish(self) -> Projection {
        Projection {
            start_year: self.plan.person.start_year,
            rmd_start_age: self.rmd_start_age,
            years: self.totals,
            accounts: self.accounts,
            notes: self.notes,
        }
    }

    fn year(&mut self, t: u32) -> Result<(), SimError> {
        let p = &self.plan.person;
        let year = p.start_year + t as i32;
        let age = (year - p.birth_year) as u32;
        let working = age < p.retirement_age;
        let salary = if working { p.salary * (1.0 + p.salary_growth).powi(t as i32) } else { 0.0 };
        let limits = limits::for_year(year, self.plan.limit_growth)
            .ok_or_else(|| invalid("person.start_year", "no contribution limits for this year"))?;
        let y = Year { t, year, age, working, salary, limits };
        let mut flows: Vec<AccountYear> =
            self.plan.accounts.iter().map(|_| AccountYear { year, ..Default::default() }).collect();
        for (i, flow) in flows.iter_mut().enumerate() {
            self.withdraw(i, &y, flow);
        }
        if working {
            self.employer_plans(&y, &mut flows);
            self.iras(&y, &mut flows);
            self.hsas(&y, &mut flows);
            self.after_tax(&y, &mut flows);
        }
        self.close(&y, flows);
        Ok(())
    }

    fn note(&mut self, y: &Year, i: usize, field: &str, requested: f64, allowed: f64, reason: &str) {
        self.notes.push(Note {
            year: y.year,
            account: self.plan.accounts[i].name.clone(),
            field: format!("accounts[{i}].{field}"),
            requested,
            allowed,
            reason: reason.to_owned(),
        });
    }

    /// Start-of-year withdrawals: forfeiture on leaving work, the RMD, college costs.
    fn withdraw(&mut self, i: usize, y: &Year, flow: &mut AccountYear) {
        let plan = self.plan;
        let a = &plan.accounts[i];
        if a.kind.is_employer_plan() && !y.working && !self.states[i].separated {
            self.separate(i, y, flow);
        }
        let still_working_plan = a.kind.is_employer_plan() && y.working;
        let owes_rmd = matches!(a.kind, Kind::K401 | Kind::B403 | Kind::TraditionalIra);
        if owes_rmd && !still_working_plan && y.age >= self.rmd_start_age {
            if let Some(period) = domain::rmd::distribution_period(y.age) {
                // Roth money in a 401(k)/403(b) owes no RMD from 2024 (SECURE 2.0 §325); the
                // RMD is the pre-tax prior year-end balance over the distribution period.
                let m = &mut self.states[i].money;
                let share = 1.0 / period.as_f64();
                flow.rmd = (m.pre_tax + m.employer) * share;
                m.pre_tax -= m.pre_tax * share;
                m.employer -= m.employer * share;
                flow.withdrawal += flow.rmd;
            }
        }
        if let Some(c) = a.college {
            self.pay_college(i, y, &c, flow);
        }
    }

    /// Leaving work: unvested employer money is forfeited unless the normal retirement age
    /// vests it all. The 401(k)/403(b) still-working exception to RMDs ends here too.
    fn separate(&mut self, i: usize, y: &Year, flow: &mut AccountYear) {
        let s = &mut self.states[i];
        s.separated = true;
        let vested = self.plan.accounts[i].vesting.as_ref().map_or(1.0, |v| v.vested_share(s.service));
        if y.age >= NORMAL_RETIREMENT_AGE || vested >= 1.0 {
            return;
        }
        let employer = s.money.employer;
        flow.forfeited = employer * (1.0 - vested);
        s.money.employer -= flow.forfeited;
        let reason = "unvested employer money forfeited on leaving work before the normal retirement age (65)";
        self.note(y, i, "vesting", employer, employer - flow.forfeited, reason);
    }

    fn pay_college(&mut self, i: usize, y: &Year, c: &College, flow: &mut AccountYear) {
        let in_college = y.t >= c.years_to_college && y.t < c.years_to_college + c.years;
        if !in_college {
            return;
        }
        let cost = c.annual_cost * (1.0 + c.cost_inflation).powi(y.t as i32);
        let money = &mut self.states[i].money;
        let paid = cost.min(money.other);
        money.other -= paid;
        flow.withdrawal += paid;
        flow.shortfall = cost - paid;
        if flow.shortfall > 0.005 {
            self.note(
                y,
                i,
                "college.annual_cost",
                cost,
                paid,
                "the 529 balance does not cover the year's college cost",
            );
        }
    }

    /// What the plan asks the employee to put in this year, and the field that asked.
    fn requested(&self, i: usize, y: &Year) -> (f64, &'static str) {
        let a = &self.plan.accounts[i];
        match (a.contribution, a.contribution_percent) {
            (_, Some(p)) => (p * y.salary, "contribution_percent"),
            (c, None) => (c.unwrap_or(0.0), "contribution"),
        }
    }

    /// Deferrals under the shared 402(g) limit (with the catch-up for the age, and at most the
    /// pay), then the match under what 415(c) leaves (deferrals other than catch-ups count
    /// first; 415(c) is also at most the pay).
    fn employer_plans(&mut self, y: &Year, flows: &mut [AccountYear]) {
        let l = &y.limits;
        let mut room = (l.elective_deferral + l.deferral_catch_up(y.age)).min(y.salary);
        let mut regular_room = l.elective_deferral;
        let mut additions_room = l.annual_additions.min(y.salary);
        let plans: Vec<usize> = (0..flows.len()).filter(|&i| self.plan.accounts[i].kind.is_employer_plan()).collect();
        let mut matches = Vec::with_capacity(plans.len());
        for &i in &plans {
            let a = &self.plan.accounts[i];
            let (requested, field) = self.requested(i, y);
            let allowed = requested.min(room);
            room -= allowed;
            let regular = allowed.min(regular_room);
            regular_room -= regular;
            additions_room -= regular;
            let roth = allowed * a.roth_share.unwrap_or(0.0);
            flows[i].employee_roth = roth;
            flows[i].employee_pre_tax = allowed - roth;
            matches.push(self.employer_match(i, y.salary, requested, allowed));
            if allowed < requested {
                let reason = "402(g) elective deferrals plus the catch-up for the age, shared by every 401(k) and 403(b), at most the pay";
                self.note(y, i, field, requested, allowed, reason);
            }
        }
        for (&i, wanted) in plans.iter().zip(matches) {
            let allowed = wanted.min(additions_room.max(0.0));
            additions_room -= allowed;
            flows[i].employer = allowed;
            if allowed < wanted {
                let reason = "415(c) annual additions (employee deferrals without catch-ups plus employer money), at most the pay";
                self.note(y, i, "match", wanted, allowed, reason);
            }
        }
    }

    /// The match on the year's deferrals. Deferrals cut by the limit stop part-way through the
    /// year (at allowed / requested of it); without a true-up the pay after that earns no match.
    fn employer_match(&self, i: usize, salary: f64, requested: f64, allowed: f64) -> f64 {
        let formula = &self.formulas[i];
        let on = |deferral: f64| formula.employer_match(decimal(salary), decimal(deferral)).as_f64();
        if self.plan.accounts[i].true_up.unwrap_or(false) {
            on(allowed)
        } else if requested > 0.0 {
            on(requested) * (allowed / requested)
        } else {
            0.0
        }
    }

    /// Traditional and Roth IRAs share one limit (with the age-50 catch-up, at most the pay).
    fn iras(&mut self, y: &Year, flows: &mut [AccountYear]) {
        let mut room = (y.limits.ira + y.limits.ira_catch_up(y.age)).min(y.salary);
        for (i, flow) in flows.iter_mut().enumerate() {
            let kind = self.plan.accounts[i].kind;
            if !kind.is_ira() {
                continue;
            }
            let (requested, field) = self.requested(i, y);
            let allowed = requested.min(room);
            room -= allowed;
            if kind == Kind::RothIra {
                flow.employee_roth = allowed;
            } else {
                flow.employee_pre_tax = allowed;
            }
            if allowed < requested {
                let reason =
                    "the IRA limit plus the age-50 catch-up, shared by traditional and Roth IRAs, at most the pay";
                self.note(y, i, field, requested, allowed, reason);
            }
        }
    }

    /// HSAs share one limit: family if any HSA has family coverage, plus the catch-up from 55.
    /// Employer money counts first. Nothing goes in from Medicare age.
    fn hsas(&mut self, y: &Year, flows: &mut [AccountYear]) {
        if y.age >= MEDICARE_AGE {
            return;
        }
        let hsas: Vec<usize> = (0..flows.len()).filter(|&i| self.plan.accounts[i].kind == Kind::Hsa).collect();
        let family = hsas.iter().any(|&i| self.plan.accounts[i].coverage == Some(Coverage::Family));
        let mut room = y.limits.hsa(family, y.age);
        let reason = "the HSA limit for the coverage plus the age-55 catch-up, employer money included";
        for &i in &hsas {
            let wanted = self.plan.accounts[i].employer_contribution.unwrap_or(0.0);
            flows[i].employer = wanted.min(room);
            room -= flows[i].employer;
            if flows[i].employer < wanted {
                self.note(y, i, "employer_contribution", wanted, flows[i].employer, reason);
            }
        }
        for &i in &hsas {
            let (requested, field) = self.requested(i, y);
            flows[i].employee_pre_tax = requested.min(room);
            room -= flows[i].employee_pre_tax;
            if flows[i].employee_pre_tax < requested {
                self.note(y, i, field, requested, flows[i].employee_pre_tax, reason);
            }
        }
    }

    /// 529 (no federal annual limit; until college starts) and taxable contributions.
    fn after_tax(&mut self, y: &Year, flows: &mut [AccountYear]) {
        for (i, flow) in flows.iter_mut().enumerate() {
            let a = &self.plan.accounts[i];
            let before_college = a.college.is_none_or(|c| y.t < c.years_to_college);
            if matches!(a.kind, Kind::Plan529 | Kind::Taxable) && before_college {
                flow.employee_after_tax = self.requested(i, y).0;
            }
        }
    }

    /// Growth on what remains after withdrawals, then the contributions; balances and totals.
    fn close(&mut self, y: &Year, flows: Vec<AccountYear>) {
        let mut totals = YearTotals {
            year: y.year,
            age: y.age,
            salary: y.salary,
            limits_projected: y.limits.projected,
            ..Default::default()
        };
        for (i, mut flow) in flows.into_iter().enumerate() {
            let a = &self.plan.accounts[i];
            let s = &mut self.states[i];
            let r = a.annual_return.unwrap_or(self.plan.annual_return);
            flow.growth = s.money.total() * r;
            s.money.scale(1.0 + r);
            s.money.deposit(a.kind, &flow);
            if y.working {
                s.service += 1;
            }
            flow.vested_share = match (&a.vesting, s.separated) {
                (Some(v), false) => v.vested_share(s.service),
                _ => 1.0,
            };
            flow.balance = s.money.total();
            flow.vested_balance = flow.balance - s.money.employer * (1.0 - flow.vested_share);
            add_to_totals(&mut totals, a.kind, &s.money, &flow);
            self.accounts[i].years.push(flow);
        }
        self.totals.push(totals);
    }
}

fn add_to_totals(totals: &mut YearTotals, kind: Kind, m: &Buckets, flow: &AccountYear) {
    totals.pre_tax += m.pre_tax + m.employer;
    totals.roth += m.roth;
    match kind {
        Kind::Hsa => totals.hsa += m.other,
        Kind::Plan529 => totals.education += m.other,
        _ => totals.taxable += m.other,
    }
    totals.total += flow.balance;
    totals.vested_total += flow.vested_balance;
    totals.rmd += flow.rmd;
}

#[cfg(test)]
mod tests;
