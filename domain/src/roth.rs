//! Roth conversions: how much of the traditional (pre-tax) savings to convert to Roth each year,
//! projected year by year to a horizon age against converting nothing.
//!
//! **A year.** Wages (until the year they stop), other income, the required minimum
//! distribution (the traditional balance at the start of the year over the Uniform Lifetime
//! Table's period, from the start age of the owner's birth date: [`crate::rmd`]) and the
//! conversion are ordinary income; Social Security (given in the first year's dollars, growing
//! with inflation from the year it starts) is taxable as §86 says ([`tax::taxable_social_security`]:
//! a conversion can make more of it taxable). The tax is the year's table's
//! ([`tax::projected`]: cairn's own for 2024–2026, later years grown by inflation), standard
//! deduction with the 65-and-older amounts and the 2025–2028 senior deduction. A conversion
//! raises this year's MAGI and so Medicare's premiums two years later for whoever is 65 by
//! then (IRMAA, [`tax::irmaa`] of the premium year's projected table).
//!
//! **Money.** Balances move at the start of a year and then grow at the plan's return. The RMD
//! leaves the traditional account for the taxable one. The tax the RMD and the conversion add
//! (the year's tax less the tax on the other income alone, which is the household's own
//! affair) is paid from the RMD, then from the taxable account, and what is still due is
//! withheld from the conversion, which then reaches the Roth smaller; before 59½ the withheld
//! part is an early distribution and pays the 10% additional tax (IRC §72(t)). IRMAA surcharges
//! are paid from the taxable account in their premium year. The taxable account's own income
//! and gains are not modelled (it grows untaxed). Each conversion's five-year clock (IRC
//! §408A(d)(3)(F)) is shown: converted money withdrawn before the later of that year and 59½ pays
//! the 10%; the plan never withdraws from the Roth.
//!
//! **What is compared.** After-tax wealth at the horizon: the taxable and Roth accounts plus the
//! traditional account less the tax the heirs pay on it (`heirs_rate`), in nominal dollars and
//! in the first year's dollars; lifetime tax and IRMAA surcharges; against converting nothing.
//!
//! **Strategies.** Convert nothing; fill every year's taxable income up to the top of a bracket
//! (`bracket = 0.22` fills the 22% bracket); keep MAGI within an IRMAA tier; or `optimize`:
//! a search over bracket ceilings. It tries one ceiling for every year (none, 10, 12, 22, 24,
//! 32, 35%) and keeps the best, then improves one year at a time (coordinate descent: each
//! year's ceiling among those, the later years re-projected from that year's balances) until a
//! pass changes nothing (at most [`OPTIMIZE_PASSES`]). It is a local search, not a proof of
//! optimality: the answer says so, and shows the uniform ceiling it started from.

use chrono::{Datelike, NaiveDate};
use rust_decimal::prelude::*;
use serde::{Deserialize, Serialize};

use crate::ledger::types::FilingStatus;
use crate::tax::{self, Filer};
use crate::DomainError;

/// The most passes of the coordinate search.
pub const OPTIMIZE_PASSES: usize = 4;

/// The additional tax on an early distribution (IRC §72(t)(1)).
const EARLY_RATE: Decimal = Decimal::from_parts(10, 0, 0, false, 2);

/// What to convert each year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Strategy {
    None,
    /// Fill taxable income to the top of the bracket of this rate.
    Bracket {
        rate: Decimal,
    },
    /// Keep MAGI within this IRMAA tier (0: the standard premium).
    Irmaa {
        tier: u8,
    },
    /// Search the bracket ceilings year by year.
    Optimize,
}

/// The plan (a `PLAN.toml`, or HTTP's parameters), every amount in dollars of `start_year`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    pub start_year: i32,
    /// The last age projected (the owner's).
    pub end_age: u32,
    pub born: NaiveDate,
    pub spouse_born: Option<NaiveDate>,
    pub status: FilingStatus,
    /// Balances at the start of `start_year`.
    pub traditional: Decimal,
    pub roth: Decimal,
    pub taxable: Decimal,
    /// Nominal return a year, and inflation (which grows Social Security and the tax tables
    /// after cairn's last).
    pub growth: Decimal,
    pub inflation: Decimal,
    pub wages: Decimal,
    /// The last year with wages.
    pub wages_until: Option<i32>,
    pub other_income: Decimal,
    /// Social Security benefits a year (the household's, in `start_year` dollars) from the
    /// year `social_security_from`.
    pub social_security: Decimal,
    pub social_security_from: Option<i32>,
    pub strategy: Strategy,
    /// No conversions after this year.
    pub convert_until: Option<i32>,
    /// The tax rate the heirs pay on the traditional money left.
    pub heirs_rate: Decimal,
}

/// One year of a projection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Year {
    pub year: i32,
    pub age: u32,
    pub rmd: Decimal,
    pub conversion: Decimal,
    /// The ceiling the conversion filled (a bracket rate), when it filled one.
    pub ceiling: Option<Decimal>,
    pub social_security: Decimal,
    pub taxable_social_security: Decimal,
    pub agi: Decimal,
    pub taxable_income: Decimal,
    /// The year's income tax, and the part of it the RMD and conversion add.
    pub tax: Decimal,
    pub added_tax: Decimal,
    /// Of the added tax: withheld from the conversion, and its 10% additional tax.
    pub withheld: Decimal,
    pub penalty: Decimal,
    /// The rate of the last dollar of taxable income.
    pub bracket: Decimal,
    /// The IRMAA tier this year's MAGI sets two years later, and the surcharges paid this year
    /// (set by the MAGI of two years before).
    pub irmaa_tier: u8,
    pub irmaa_paid: Decimal,
    /// Converted money may be withdrawn without the 10% from this year (five-year rule and 59½).
    pub penalty_free_from: Option<i32>,
    /// Balances at the end of the year.
    pub traditional: Decimal,
    pub roth: Decimal,
    pub taxable: Decimal,
}

/// A projection to the horizon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Projection {
    pub years: Vec<Year>,
    pub converted: Decimal,
    pub lifetime_tax: Decimal,
    pub lifetime_irmaa: Decimal,
    pub penalties: Decimal,
    /// Taxable + Roth + traditional × (1 − heirs' rate), at the end of the last year, nominal and
    /// in `start_year` dollars.
    pub after_tax_wealth: Decimal,
    pub after_tax_wealth_today: Decimal,
}

/// The plan against converting nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Comparison {
    pub plan: Projection,
    pub baseline: Projection,
    /// After-tax wealth of the plan less the baseline's.
    pub advantage: Decimal,
    pub advantage_today: Decimal,
    /// How the conversions were chosen.
    pub method: String,
    /// Each year's conversion target, for [`distribution`].
    #[serde(skip)]
    targets: Vec<Target>,
}

/// The bracket rates a ceiling can fill (the top rate has no top).
const CEILINGS: [Decimal; 6] = [
    Decimal::from_parts(10, 0, 0, false, 2),
    Decimal::from_parts(12, 0, 0, false, 2),
    Decimal::from_parts(22, 0, 0, false, 2),
    Decimal::from_parts(24, 0, 0, false, 2),
    Decimal::from_parts(32, 0, 0, false, 2),
    Decimal::from_parts(35, 0, 0, false, 2),
];

/// A year's target for the conversion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Nothing,
    /// Fill taxable income to the top of bracket `CEILINGS[i]`.
    Bracket(usize),
    Irmaa(u8),
}

fn refuse(field: &str, problem: impl Into<String>) -> DomainError {
    DomainError::Rejected { line: None, field: field.to_owned(), problem: problem.into() }
}

fn cents(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

fn age_in(born: NaiveDate, year: i32) -> u32 {
    u32::try_from(year - born.year()).unwrap_or(0)
}

/// The state carried from one year to the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Balances {
    traditional: Decimal,
    roth: Decimal,
    taxable: Decimal,
}

impl Plan {
    fn check(&self) -> Result<(), DomainError> {
        for (field, v) in [
            ("traditional", self.traditional),
            ("roth", self.roth),
            ("taxable", self.taxable),
            ("wages", self.wages),
            ("other_income", self.other_income),
            ("social_security", self.social_security),
        ] {
            if v < Decimal::ZERO {
                return Err(refuse(field, "must not be negative"));
            }
        }
        if !(Decimal::ZERO..Decimal::ONE).contains(&self.heirs_rate) {
            return Err(refuse("heirs_rate", "a fraction from 0 to below 1"));
        }
        if self.growth <= -Decimal::ONE || self.growth > Decimal::ONE {
            return Err(refuse("growth", "a yearly return above -1 and at most 1 (0.05 for 5%)"));
        }
        if self.inflation < Decimal::ZERO || self.inflation > Decimal::new(2, 1) {
            return Err(refuse("inflation", "a yearly rate from 0 to 0.2"));
        }
        let first = tax::YEARS[0].year;
        if self.start_year < first {
            return Err(refuse("start_year", format!("from {first}, the first year cairn has a tax table for")));
        }
        let age = age_in(self.born, self.start_year);
        if self.end_age <= age || self.end_age > 120 {
            return Err(refuse(
                "end_age",
                format!("after the owner's age in {} ({age}) and at most 120", self.start_year),
            ));
        }
        match self.strategy {
            Strategy::Bracket { rate } if !CEILINGS.contains(&rate) => {
                Err(refuse("bracket", "a bracket rate to fill: 0.10, 0.12, 0.22, 0.24, 0.32 or 0.35"))
            }
            Strategy::Irmaa { tier } if tier > 4 => Err(refuse("irmaa_tier", "an IRMAA tier from 0 to 4")),
            _ => Ok(()),
        }
    }

    fn last_year(&self) -> i32 {
        self.born.year() + self.end_age as i32
    }

    fn years(&self) -> usize {
        (self.last_year() - self.start_year + 1) as usize
    }

    /// Grows a `start_year` amount to `year`'s dollars.
    fn grown(&self, amount: Decimal, year: i32) -> Decimal {
        (self.start_year..year).fold(amount, |a, _| a * (Decimal::ONE + self.inflation))
    }

    fn seniors(&self, year: i32) -> u8 {
        // The IRS counts someone 65 on the day before the 65th birthday (born on January 1).
        let cutoff = NaiveDate::from_ymd_opt(year - 64, 1, 1);
        let people = [Some(self.born), self.spouse_born];
        let count = people.iter().flatten().filter(|b| cutoff.is_some_and(|c| **b <= c)).count();
        let most = if self.status == FilingStatus::MarriedFilingJointly { 2 } else { 1 };
        count.min(most) as u8
    }

    fn on_medicare(&self, year: i32) -> usize {
        [Some(self.born), self.spouse_born].iter().flatten().filter(|b| age_in(**b, year) >= 65).count()
    }
}

/// The tax table of each year of `plan` and of the two after it (IRMAA's premium years).
fn tables(plan: &Plan) -> Vec<tax::YearTable> {
    (0..plan.years() + 2).map(|i| tax::projected(plan.start_year + i as i32, plan.inflation)).collect()
}

/// Projects `plan` with `targets[i]` the conversion target of its i-th year; `tables` are
/// [`tables`]`(plan)`; the balances grow by `growth[i]` in year i (the plan's `growth` every
/// year, or a Monte Carlo path's returns).
fn project(plan: &Plan, tables: &[tax::YearTable], targets: &[Target], growth: &[Decimal]) -> Projection {
    let mut years = Vec::with_capacity(targets.len());
    let mut b = Balances { traditional: plan.traditional, roth: plan.roth, taxable: plan.taxable };
    // Surcharges set by a year's MAGI, due two years later.
    let mut due: Vec<(i32, Decimal)> = Vec::new();
    let rmd_age = crate::rmd::start_age(plan.born.year(), plan.born.month());
    for (i, target) in targets.iter().enumerate() {
        let year = plan.start_year + i as i32;
        let age = age_in(plan.born, year);
        let table = tables[i];
        let filer = Filer { status: plan.status, seniors: plan.seniors(year), blind: 0 };
        let rmd = if age >= rmd_age {
            crate::rmd::distribution_period(age).map_or(Decimal::ZERO, |p| cents(b.traditional / p))
        } else {
            Decimal::ZERO
        };
        let wages =
            if plan.wages_until.is_none_or(|last| year <= last) { plan.grown(plan.wages, year) } else { Decimal::ZERO };
        let other = plan.grown(plan.other_income, year) + wages;
        let ss = match plan.social_security_from {
            Some(from) if year >= from => cents(plan.grown(plan.social_security, year)),
            _ => Decimal::ZERO,
        };
        let agi_of = |ordinary: Decimal| ordinary + tax::taxable_social_security(plan.status, ss, ordinary);
        let room = b.traditional - rmd;
        let allowed = plan.convert_until.is_none_or(|last| year <= last);
        let conversion = match (*target, allowed) {
            (_, false) | (Target::Nothing, _) => Decimal::ZERO,
            (Target::Bracket(k), true) => {
                let top = Decimal::from(table.brackets[tax::Schedule::of(plan.status) as usize][k]);
                fill(room, |c| tax::ordinary_tax(&table, filer, agi_of(other + rmd + c)).0, top)
            }
            (Target::Irmaa(tier), true) => {
                let premiums = tables[i + 2];
                let bounds = if plan.status == FilingStatus::MarriedFilingJointly {
                    premiums.irmaa.bounds_joint
                } else {
                    premiums.irmaa.bounds_single
                };
                fill(room, |c| agi_of(other + rmd + c), Decimal::from(bounds[usize::from(tier)]))
            }
        };
        let agi = agi_of(other + rmd + conversion);
        let (taxable_income, total) = tax::ordinary_tax(&table, filer, agi);
        let (_, own) = tax::ordinary_tax(&table, filer, agi_of(other));
        let added = (total - own).max(Decimal::ZERO);
        // Paid from the RMD, then the taxable account, then withheld from the conversion.
        let from_rmd = added.min(rmd);
        let from_taxable = (added - from_rmd).min(b.taxable.max(Decimal::ZERO));
        let withheld = (added - from_rmd - from_taxable).min(conversion);
        let early = age < 59 || (age == 59 && plan.born.month() > 6);
        let penalty = if early { cents(withheld * EARLY_RATE) } else { Decimal::ZERO };
        let premium_year = tables[i + 2];
        let tier = tax::irmaa(&premium_year, plan.status, agi);
        let standard = Decimal::new(i64::from(premium_year.irmaa.part_b_standard), 2);
        let surcharge = (tier.part_b_monthly - standard + tier.part_d_monthly) * Decimal::from(12);
        let people = plan.on_medicare(year + 2);
        if people > 0 && surcharge > Decimal::ZERO {
            due.push((year + 2, cents(surcharge * Decimal::from(people as u32))));
        }
        let irmaa_paid: Decimal = due.iter().filter(|(y, _)| *y == year).map(|(_, a)| *a).sum();
        // The year's flows, then a year's growth.
        let grow = Decimal::ONE + growth.get(i).copied().unwrap_or(plan.growth);
        b.traditional = cents((b.traditional - rmd - conversion) * grow);
        b.roth = cents((b.roth + conversion - withheld - penalty.min(conversion - withheld)) * grow);
        b.taxable = cents((b.taxable + rmd - from_rmd - from_taxable - irmaa_paid) * grow);
        let bracket = {
            let starts = table.brackets[tax::Schedule::of(plan.status) as usize];
            tax::RATES[starts.iter().take_while(|s| taxable_income > Decimal::from(**s)).count()]
        };
        years.push(Year {
            year,
            age,
            rmd,
            conversion,
            ceiling: match target {
                Target::Bracket(k) if conversion > Decimal::ZERO => Some(CEILINGS[*k]),
                _ => None,
            },
            social_security: ss,
            taxable_social_security: agi - (other + rmd + conversion),
            agi,
            taxable_income,
            tax: total,
            added_tax: added,
            withheld,
            penalty,
            bracket,
            irmaa_tier: tier.tier,
            irmaa_paid,
            penalty_free_from: (conversion > Decimal::ZERO)
                .then(|| (year + 5).max(plan.born.year() + 59 + i32::from(plan.born.month() > 6))),
            traditional: b.traditional,
            roth: b.roth,
            taxable: b.taxable,
        });
    }
    let after = b.taxable + b.roth + b.traditional * (Decimal::ONE - plan.heirs_rate);
    let deflator = plan.grown(Decimal::ONE, plan.start_year + targets.len() as i32);
    Projection {
        converted: years.iter().map(|y| y.conversion).sum(),
        lifetime_tax: years.iter().map(|y| y.tax + y.penalty).sum(),
        lifetime_irmaa: years.iter().map(|y| y.irmaa_paid).sum(),
        penalties: years.iter().map(|y| y.penalty).sum(),
        after_tax_wealth: cents(after),
        after_tax_wealth_today: cents(after / deflator),
        years,
    }
}

/// The largest whole-dollar conversion in `[0, room]` with `measure(conversion)` at most `top`
/// (the measure, taxable income or MAGI, never falls as the conversion grows): Newton's steps on
/// the piecewise-linear measure, then whole dollars down until it holds.
pub(crate) fn fill(room: Decimal, measure: impl Fn(Decimal) -> Decimal, top: Decimal) -> Decimal {
    if room <= Decimal::ZERO || measure(Decimal::ZERO) >= top {
        return Decimal::ZERO;
    }
    if measure(room) <= top {
        return room.floor();
    }
    let (mut low, mut high) = (Decimal::ZERO, room);
    let mut c = Decimal::ZERO;
    for _ in 0..24 {
        let m = measure(c);
        if m <= top {
            low = low.max(c);
        } else {
            high = high.min(c);
        }
        if (m - top).abs() < Decimal::ONE || high - low < Decimal::ONE {
            break;
        }
        // The slope over the next step (1 to about 1.9: taxed Social Security, phase-outs).
        let probe = (c + (top - m).abs()).min(room);
        let slope = if probe == c { Decimal::ONE } else { ((measure(probe) - m) / (probe - c)).max(Decimal::ONE) };
        let next = c + (top - m) / slope;
        c = if next > low && next < high { next } else { (low + high) / Decimal::TWO };
    }
    // The last point known to hold (the measure never falls, so its floor holds too).
    let held = if measure(c) <= top { c.max(low) } else { low };
    held.floor()
}

/// The plan's projection against converting nothing.
pub fn plan(plan: &Plan) -> Result<Comparison, DomainError> {
    plan.check()?;
    let n = plan.years();
    let tables = tables(plan);
    let baseline = project(plan, &tables, &vec![Target::Nothing; n], &[]);
    let (targets, projection, method) = match plan.strategy {
        Strategy::None => (vec![Target::Nothing; n], baseline.clone(), "no conversions".to_owned()),
        Strategy::Bracket { rate } => {
            let k = CEILINGS.iter().position(|c| *c == rate).unwrap_or(0);
            let targets = vec![Target::Bracket(k); n];
            let p = project(plan, &tables, &targets, &[]);
            (targets, p, format!("fill the {}% bracket every year", rate * Decimal::ONE_HUNDRED))
        }
        Strategy::Irmaa { tier } => {
            let targets = vec![Target::Irmaa(tier); n];
            let p = project(plan, &tables, &targets, &[]);
            (targets, p, format!("keep MAGI within IRMAA tier {tier} every year"))
        }
        Strategy::Optimize => optimize(plan, &tables, &baseline),
    };
    Ok(Comparison {
        advantage: projection.after_tax_wealth - baseline.after_tax_wealth,
        advantage_today: projection.after_tax_wealth_today - baseline.after_tax_wealth_today,
        plan: projection,
        baseline,
        method,
        targets,
    })
}

/// Percentiles of a distribution of amounts (nearest rank).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Percentiles {
    pub p10: Decimal,
    pub p25: Decimal,
    pub p50: Decimal,
    pub p75: Decimal,
    pub p90: Decimal,
}

impl Percentiles {
    fn of(mut values: Vec<Decimal>) -> Self {
        values.sort_unstable();
        let at = |p: u32| {
            let n = values.len();
            let rank = (n * p as usize).div_ceil(100).clamp(1, n.max(1));
            values.get(rank - 1).copied().unwrap_or_default()
        };
        Self { p10: at(10), p25: at(25), p50: at(50), p75: at(75), p90: at(90) }
    }
}

/// The plan and the baseline over many return paths: after-tax wealth at the horizon in today's
/// dollars (deflated by the plan's inflation), the plan's edge over converting nothing, and the
/// share of paths on which the plan ends ahead (or even).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Distribution {
    pub paths: usize,
    pub plan: Percentiles,
    pub baseline: Percentiles,
    pub advantage: Percentiles,
    pub plan_ahead: Decimal,
}

/// `comparison`'s conversion targets (the bracket ceiling or IRMAA tier chosen for each year)
/// and converting nothing, each run again on every path of yearly `returns`: the conversions a
/// path makes follow its own balances, as the strategy would in that market.
pub fn distribution(plan: &Plan, comparison: &Comparison, returns: &[Vec<Decimal>]) -> Distribution {
    let tables = tables(plan);
    let nothing = vec![Target::Nothing; comparison.targets.len()];
    let runs: Vec<(Decimal, Decimal)> = returns
        .iter()
        .map(|path| {
            let p = project(plan, &tables, &comparison.targets, path);
            let b = project(plan, &tables, &nothing, path);
            (p.after_tax_wealth_today, b.after_tax_wealth_today)
        })
        .collect();
    let ahead = runs.iter().filter(|(p, b)| p >= b).count();
    Distribution {
        paths: runs.len(),
        plan: Percentiles::of(runs.iter().map(|r| r.0).collect()),
        baseline: Percentiles::of(runs.iter().map(|r| r.1).collect()),
        advantage: Percentiles::of(runs.iter().map(|r| r.0 - r.1).collect()),
        plan_ahead: if runs.is_empty() {
            Decimal::ZERO
        } else {
            (Decimal::from(ahead as u64) / Decimal::from(runs.len() as u64)).round_dp(4)
        },
    }
}

/// The coordinate search over bracket ceilings ([module docs](self)).
fn optimize(plan: &Plan, tables: &[tax::YearTable], baseline: &Projection) -> (Vec<Target>, Projection, String) {
    let n = plan.years();
    let options: Vec<Target> =
        std::iter::once(Target::Nothing).chain((0..CEILINGS.len()).map(Target::Bracket)).collect();
    let mut best = (vec![Target::Nothing; n], baseline.clone());
    let mut uniform = "none".to_owned();
    for (k, _) in CEILINGS.iter().enumerate() {
        let targets = vec![Target::Bracket(k); n];
        let p = project(plan, tables, &targets, &[]);
        if p.after_tax_wealth > best.1.after_tax_wealth {
            uniform = format!("{}%", CEILINGS[k] * Decimal::ONE_HUNDRED);
            best = (targets, p);
        }
    }
    let mut passes = 0;
    for _ in 0..OPTIMIZE_PASSES {
        passes += 1;
        let mut changed = false;
        for i in 0..n {
            for option in &options {
                if *option == best.0[i] {
                    continue;
                }
                let mut targets = best.0.clone();
                targets[i] = *option;
                let p = project(plan, tables, &targets, &[]);
                if p.after_tax_wealth > best.1.after_tax_wealth + Decimal::ONE {
                    best = (targets, p);
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    let method = format!(
        "a search over bracket ceilings: the best single ceiling for every year ({uniform}), then each year's ceiling \
         improved in turn ({passes} pass{}); a local optimum",
        if passes == 1 { "" } else { "es" }
    );
    (best.0, best.1, method)
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    /// Single, born mid-1960, no other income, $500,000 traditional and $50,000 taxable, no
    /// growth or inflation, 2026 to 2027.
    fn single() -> Plan {
        Plan {
            start_year: 2026,
            end_age: 67,
            born: d("1960-06-15"),
            spouse_born: None,
            status: FilingStatus::Single,
            traditional: dec!(500000),
            roth: dec!(0),
            taxable: dec!(50000),
            growth: dec!(0),
            inflation: dec!(0),
            wages: dec!(0),
            wages_until: None,
            other_income: dec!(0),
            social_security: dec!(0),
            social_security_from: None,
            strategy: Strategy::Bracket { rate: dec!(0.12) },
            convert_until: None,
            heirs_rate: dec!(0.24),
        }
    }

    /// Filling the 12% bracket in 2026 at 66: taxable income 50,400 (its top) after the
    /// standard deduction 16,100, 2,050 for 65 and older and the senior deduction of 6,000 (AGI
    /// under 75,000): a conversion of 74,550 taxed 10% of 12,400 + 12% of 38,000 = 5,800, paid
    /// from the taxable account. The same in 2027 (2026's amounts, no inflation). After tax:
    /// 38,400 + 149,100 + 350,900 × 0.76 = 454,184 against 50,000 + 500,000 × 0.76 = 430,000.
    #[test]
    fn filling_a_bracket_converts_to_its_top_and_pays_the_tax_from_taxable_money() {
        let c = plan(&single()).unwrap();
        let first = &c.plan.years[0];
        assert_eq!((first.conversion, first.taxable_income, first.tax), (dec!(74550), dec!(50400), dec!(5800.00)));
        assert_eq!(
            (first.withheld, first.penalty, first.bracket, first.ceiling),
            (dec!(0), dec!(0), dec!(0.12), Some(dec!(0.12)))
        );
        assert_eq!(first.penalty_free_from, Some(2031));
        let last = &c.plan.years[1];
        assert_eq!((last.traditional, last.roth, last.taxable), (dec!(350900), dec!(149100), dec!(38400)));
        assert_eq!((c.plan.after_tax_wealth, c.baseline.after_tax_wealth), (dec!(454184), dec!(430000)));
        assert_eq!((c.advantage, c.plan.lifetime_tax, c.baseline.lifetime_tax), (dec!(24184), dec!(11600), dec!(0)));
    }

    /// Staying in IRMAA's first tier: MAGI up to the premium year's first bound (109,000 single,
    /// 2026's, no inflation).
    #[test]
    fn an_irmaa_ceiling_keeps_magi_at_the_tiers_bound() {
        let p = Plan { strategy: Strategy::Irmaa { tier: 0 }, ..single() };
        let c = plan(&p).unwrap();
        for y in &c.plan.years {
            assert_eq!((y.agi, y.irmaa_tier), (dec!(109000), 0), "{y:?}");
        }
    }

    /// Born March 1951: RMDs from 73; at 75 (2026) the period is 24.6.
    #[test]
    fn the_rmd_is_the_balance_over_the_uniform_lifetime_period() {
        let p = Plan {
            born: d("1951-03-01"),
            end_age: 76,
            traditional: dec!(246000),
            strategy: Strategy::None,
            ..single()
        };
        let c = plan(&p).unwrap();
        assert_eq!(c.baseline.years[0].rmd, dec!(10000));
        assert_eq!(c.baseline.years[1].rmd, (dec!(236000) / dec!(23.7)).round_dp(2));
        assert_eq!(c.advantage, dec!(0));
    }

    /// With Social Security the conversion still stops at the bracket's top, though each dollar
    /// converted there makes 85 cents of benefits taxable too.
    #[test]
    fn a_conversion_fills_to_the_top_through_the_social_security_torpedo() {
        let p = Plan {
            born: d("1958-01-01"),
            social_security: dec!(30000),
            social_security_from: Some(2026),
            end_age: 69,
            ..single()
        };
        let c = plan(&p).unwrap();
        let y = &c.plan.years[0];
        assert!(y.taxable_income <= dec!(50400) && y.taxable_income > dec!(50398), "{y:?}");
        assert_eq!(y.taxable_social_security, dec!(25500), "{y:?}");
    }

    /// Before 59½ the tax withheld from a conversion with no taxable money to pay it is an early
    /// distribution: 10% more.
    #[test]
    fn tax_withheld_before_59_and_a_half_pays_the_additional_ten_percent() {
        let p = Plan {
            born: d("1985-01-01"),
            end_age: 42,
            taxable: dec!(0),
            strategy: Strategy::Bracket { rate: dec!(0.22) },
            ..single()
        };
        let c = plan(&p).unwrap();
        let y = &c.plan.years[0];
        assert!(y.withheld > dec!(0) && y.withheld == y.added_tax, "{y:?}");
        assert_eq!(y.penalty, (y.withheld * dec!(0.1)).round_dp(2));
        assert_eq!(y.roth, y.conversion - y.withheld - y.penalty);
    }

    /// The search is never worse than any single ceiling or than converting nothing.
    /// Paths that all return the plan's growth give the deterministic answer at every
    /// percentile; paths that spread out order their percentiles and move the conversions
    /// (a bracket filled from a larger or smaller balance).
    #[test]
    fn the_distribution_reruns_the_chosen_targets_on_every_path() {
        let p = Plan { strategy: Strategy::Bracket { rate: dec!(0.22) }, growth: dec!(0.05), ..single() };
        let c = plan(&p).unwrap();
        let years = c.plan.years.len();
        let flat = vec![vec![dec!(0.05); years]; 3];
        let d = distribution(&p, &c, &flat);
        assert_eq!(
            (d.paths, d.plan.p10, d.plan.p90),
            (3, c.plan.after_tax_wealth_today, c.plan.after_tax_wealth_today)
        );
        assert_eq!(d.baseline.p50, c.baseline.after_tax_wealth_today);
        assert_eq!(d.advantage.p50, c.advantage_today);
        assert_eq!(d.plan_ahead, if c.advantage_today >= dec!(0) { dec!(1) } else { dec!(0) });
        let spread: Vec<Vec<Decimal>> =
            [dec!(-0.05), dec!(0), dec!(0.05), dec!(0.10), dec!(0.15)].iter().map(|r| vec![*r; years]).collect();
        let d = distribution(&p, &c, &spread);
        assert!(d.plan.p10 < d.plan.p50 && d.plan.p50 < d.plan.p90, "{d:?}");
        assert_eq!(d.plan.p50, c.plan.after_tax_wealth_today, "the middle path is the plan's growth");
        assert!(d.baseline.p10 < d.baseline.p90, "{d:?}");
    }

    #[test]
    fn the_search_beats_every_single_ceiling() {
        let p = Plan {
            born: d("1962-01-01"),
            spouse_born: Some(d("1963-07-01")),
            status: FilingStatus::MarriedFilingJointly,
            end_age: 92,
            traditional: dec!(1200000),
            taxable: dec!(200000),
            growth: dec!(0.05),
            inflation: dec!(0.025),
            wages: dec!(80000),
            wages_until: Some(2027),
            social_security: dec!(40000),
            social_security_from: Some(2029),
            heirs_rate: dec!(0.32),
            strategy: Strategy::Optimize,
            ..single()
        };
        let best = plan(&p).unwrap();
        assert!(best.advantage >= dec!(0), "{}", best.advantage);
        for rate in CEILINGS {
            let uniform = plan(&Plan { strategy: Strategy::Bracket { rate }, ..p.clone() }).unwrap();
            assert!(best.advantage >= uniform.advantage, "{rate}: {} < {}", best.advantage, uniform.advantage);
        }
        assert!(best.method.starts_with("a search over bracket ceilings"), "{}", best.method);
        // Bad plans are refused naming the field.
        let e = plan(&Plan { start_year: 2019, ..p.clone() }).unwrap_err();
        assert!(matches!(e, DomainError::Rejected { ref field, .. } if field == "start_year"), "{e:?}");
        let e = plan(&Plan { heirs_rate: dec!(1.5), ..p.clone() }).unwrap_err();
        assert!(matches!(e, DomainError::Rejected { ref field, .. } if field == "heirs_rate"), "{e:?}");
        let e = plan(&Plan { strategy: Strategy::Bracket { rate: dec!(0.15) }, ..p }).unwrap_err();
        assert!(matches!(e, DomainError::Rejected { ref field, .. } if field == "bracket"), "{e:?}");
    }
}
