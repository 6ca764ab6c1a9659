//! Education funding, in `Decimal`: what college will cost, what a 529 account will have by
//! then and the gap, the education credits and the 529-to-Roth rollover.
//!
//! - The cost of each school year is today's cost grown by education inflation to that year;
//!   the need at enrolment is those costs discounted back to enrolment at the expected return
//!   (later years' money stays invested meanwhile).
//! - The account grows at the expected return, compounded monthly at the equivalent monthly
//!   rate, with the monthly saving at each month's end. The saving that closes the gap is the
//!   gap over the future value of a monthly annuity of one dollar. (The saving that closes it
//!   at a chosen probability is the Monte Carlo engine's, `queries::education`.)
//! - The American Opportunity credit (IRC §25A(b), (i)): 100% of the first $2,000 of qualified
//!   expenses and 25% of the next $2,000 per student, for the first four years of college, 40%
//!   of it refundable (§25A(i)(5)). The Lifetime Learning credit (§25A(c)): 20% of up to
//!   $10,000 of expenses per return. Both phase out over $80,000–$90,000 of modified AGI, or
//!   $160,000–$180,000 filing jointly (§25A(d), (i)(4)), amounts the statute fixes (not
//!   indexed); neither is allowed married filing separately (§25A(g)(6)).
//! - A 529 account may roll over to its beneficiary's Roth IRA (§529(c)(3)(E), SECURE 2.0
//!   §126): the account open at least 15 years, not from contributions of the last five years
//!   (or their earnings), at most $35,000 over the beneficiary's lifetime, and in a year at most
//!   the IRA contribution limit left (§408A(c)(2)) and the beneficiary's compensation.
//! - A UTMA/UGMA custodial account is the child's: its income is the child's, taxed by the
//!   "kiddie tax" of IRC §1(g) (Form 8615) while the child is under 19 (under 24 as a student):
//!   the first `KIDDIE` amount of unearned income is covered by a dependent's standard deduction
//!   (§63(c)(5)), the next as much is taxed at the child's own rate (the 10% bracket it never
//!   leaves), and the rest, the net unearned income, at the parents' rate (the parents' tax on
//!   their taxable income plus it, less their tax without it, §1(g)(3)). The federal student
//!   aid formula counts the account as the student's asset at 20%, where a parent's 529 counts
//!   at most 5.64% (`AID_ASSESSMENT`).

use chrono::{Datelike, Months, NaiveDate};
use rust_decimal::{Decimal, MathematicalOps};
use serde::Serialize;

use crate::ledger::types::FilingStatus;

/// An education credit's terms, with their source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct CreditTerms {
    pub name: &'static str,
    /// Expenses taken at 100%, then at `second_rate` up to `second_tier` more (AOTC); or all
    /// expenses up to `second_tier` at `second_rate` (LLC, `first_tier` 0).
    pub first_tier: Decimal,
    pub second_tier: Decimal,
    pub second_rate: Decimal,
    pub refundable_share: Decimal,
    /// Modified AGI where the phase-out starts and its width, single and joint.
    pub phase_out_single: (Decimal, Decimal),
    pub phase_out_joint: (Decimal, Decimal),
    pub source: &'static str,
}

/// The American Opportunity credit, per eligible student.
pub const AOTC: CreditTerms = CreditTerms {
    name: "american_opportunity",
    first_tier: Decimal::from_parts(2_000, 0, 0, false, 0),
    second_tier: Decimal::from_parts(2_000, 0, 0, false, 0),
    second_rate: Decimal::from_parts(25, 0, 0, false, 2),
    refundable_share: Decimal::from_parts(40, 0, 0, false, 2),
    phase_out_single: (Decimal::from_parts(80_000, 0, 0, false, 0), Decimal::from_parts(10_000, 0, 0, false, 0)),
    phase_out_joint: (Decimal::from_parts(160_000, 0, 0, false, 0), Decimal::from_parts(20_000, 0, 0, false, 0)),
    source: "IRC §25A(b), (i); Publication 970 (2024) ch. 2",
};

/// The Lifetime Learning credit, per return.
pub const LLC: CreditTerms = CreditTerms {
    name: "lifetime_learning",
    first_tier: Decimal::ZERO,
    second_tier: Decimal::from_parts(10_000, 0, 0, false, 0),
    second_rate: Decimal::from_parts(20, 0, 0, false, 2),
    refundable_share: Decimal::ZERO,
    phase_out_single: (Decimal::from_parts(80_000, 0, 0, false, 0), Decimal::from_parts(10_000, 0, 0, false, 0)),
    phase_out_joint: (Decimal::from_parts(160_000, 0, 0, false, 0), Decimal::from_parts(20_000, 0, 0, false, 0)),
    source: "IRC §25A(c), (d) as amended by the Taxpayer Certainty and Disaster Tax Relief Act of 2020; Publication 970 (2024) ch. 3",
};

/// A credit as figured on Form 8863.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Credit {
    pub credit: &'static str,
    pub expenses: Decimal,
    /// Before the phase-out.
    pub tentative: Decimal,
    /// The share of it kept (1 below the phase-out, 0 above it).
    pub kept: Decimal,
    pub allowed: Decimal,
    pub refundable: Decimal,
    pub nonrefundable: Decimal,
}

/// The credit of `terms` on `expenses` at `magi` filing as `status` (0 married filing
/// separately); the phase-out keeps the share of the range not yet passed, to three places as
/// Form 8863 does.
pub fn credit(terms: &CreditTerms, expenses: Decimal, magi: Decimal, status: FilingStatus) -> Credit {
    let expenses = expenses.max(Decimal::ZERO);
    let first = expenses.min(terms.first_tier);
    let second = (expenses - first).min(terms.second_tier) * terms.second_rate;
    let tentative = (first + second).round_dp(2);
    let (start, width) = match status {
        FilingStatus::MarriedFilingJointly => terms.phase_out_joint,
        _ => terms.phase_out_single,
    };
    let kept = if status == FilingStatus::MarriedFilingSeparately {
        Decimal::ZERO
    } else {
        ((start + width - magi) / width).clamp(Decimal::ZERO, Decimal::ONE).round_dp(3)
    };
    let allowed = (tentative * kept).round_dp(2);
    let refundable = (allowed * terms.refundable_share).round_dp(2);
    Credit { credit: terms.name, expenses, tentative, kept, allowed, refundable, nonrefundable: allowed - refundable }
}

/// What one contributor may put in Coverdell education savings accounts for one beneficiary a
/// year (IRC §530(b)(1)(A)(iii), (c)(1); Publication 970 ch. 6, Worksheet 6-1): $2,000, less
/// the share of it that MAGI over $95,000 ($190,000 on a joint return) is of $15,000
/// ($30,000), the ratio to three places; nothing from $110,000 ($220,000). Not indexed.
pub fn coverdell_limit(magi: Decimal, status: FilingStatus) -> Decimal {
    let limit = Decimal::from(2_000);
    let (start, width) = match status {
        FilingStatus::MarriedFilingJointly => (Decimal::from(190_000), Decimal::from(30_000)),
        _ => (Decimal::from(95_000), Decimal::from(15_000)),
    };
    let ratio = ((magi - start) / width).clamp(Decimal::ZERO, Decimal::ONE).round_dp(3);
    (limit - limit * ratio).round_dp(2)
}

/// The 529-to-Roth rollover limits, with their source.
pub const ROLLOVER_LIFETIME: Decimal = Decimal::from_parts(35_000, 0, 0, false, 0);
/// Years the account must have been open.
pub const ROLLOVER_ACCOUNT_YEARS: u32 = 15;
/// Contributions (and their earnings) of these last years cannot roll over.
pub const ROLLOVER_RECENT_YEARS: u32 = 5;
pub const ROLLOVER_SOURCE: &str = "IRC §529(c)(3)(E) (SECURE 2.0 Act §126), §408A(c)(2)";

/// What may roll over from a 529 account to its beneficiary's Roth IRA this year, and what
/// holds it back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Rollover {
    pub allowed: Decimal,
    /// The first day the account is old enough.
    pub eligible_from: NaiveDate,
    pub lifetime_left: Decimal,
    pub limits: Vec<String>,
}

/// The rollover from an account opened on `opened` with `balance`, of which `recent` came from
/// contributions of the last five years with their earnings, as of `today`: `rolled` already
/// rolled over in the beneficiary's life, `ira_room` the year's IRA limit less the
/// beneficiary's other IRA contributions, `compensation` the beneficiary's for the year.
pub fn rollover(
    opened: NaiveDate,
    today: NaiveDate,
    balance: Decimal,
    recent: Decimal,
    rolled: Decimal,
    ira_room: Decimal,
    compensation: Decimal,
) -> Rollover {
    let eligible_from = opened.checked_add_months(Months::new(12 * ROLLOVER_ACCOUNT_YEARS)).unwrap_or(NaiveDate::MAX);
    let lifetime_left = (ROLLOVER_LIFETIME - rolled).max(Decimal::ZERO);
    let mut limits = Vec::new();
    if today < eligible_from {
        limits.push(format!("the account is open less than {ROLLOVER_ACCOUNT_YEARS} years (until {eligible_from})"));
    }
    let candidates = [
        ((balance - recent).max(Decimal::ZERO), "contributions of the last five years and their earnings stay"),
        (lifetime_left, "the $35,000 lifetime limit"),
        (ira_room.max(Decimal::ZERO), "the year's IRA contribution limit left"),
        (compensation.max(Decimal::ZERO), "the beneficiary's compensation for the year"),
    ];
    let most = candidates.iter().map(|(v, _)| *v).min().unwrap_or(Decimal::ZERO);
    limits.extend(candidates.iter().filter(|(v, _)| *v == most).map(|(_, why)| (*why).to_owned()));
    let allowed = if today < eligible_from { Decimal::ZERO } else { most };
    Rollover { allowed, eligible_from, lifetime_left, limits }
}

/// One beneficiary's funding, deterministic at the expected return.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Funding {
    /// Each school year's cost in its own year's dollars.
    pub costs: Vec<(i32, Decimal)>,
    pub total_cost: Decimal,
    /// The costs discounted to enrolment at the expected return: what is needed then.
    pub needed_at_enrolment: Decimal,
    /// The account at enrolment: today's balance and the monthly saving, grown.
    pub projected_at_enrolment: Decimal,
    pub gap: Decimal,
    /// The monthly saving, from now to enrolment, that closes the gap at the expected return.
    pub monthly_to_close: Decimal,
}

/// School to pay for: `years` years from the fall of `enrolment`, at `cost_today` a year in
/// today's prices, growing by `inflation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schooling {
    pub enrolment: i32,
    pub years: u32,
    pub cost_today: Decimal,
    pub inflation: Decimal,
}

/// The day school starts: September 1 of the enrolment year.
pub fn first_day(enrolment: i32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(enrolment, 9, 1)
}

/// Whole months from `today` to the first day of school (0 once it has started).
pub fn months_to(today: NaiveDate, enrolment: i32) -> u32 {
    let start = first_day(enrolment).unwrap_or(today);
    u32::try_from((start.year() - today.year()) * 12 + start.month() as i32 - today.month() as i32).unwrap_or(0)
}

/// The funding of `school` from `balance` and `monthly` saving growing at `expected_return`
/// (annual, compounded monthly), as of `today`.
pub fn funding(
    today: NaiveDate,
    school: &Schooling,
    balance: Decimal,
    monthly: Decimal,
    expected_return: Decimal,
) -> Funding {
    let Schooling { enrolment, years, cost_today, inflation } = *school;
    let wait = (enrolment - today.year()).max(0);
    let grow = |rate: Decimal, n: i64| (Decimal::ONE + rate).powi(n);
    let costs: Vec<(i32, Decimal)> = (0..years as i32)
        .map(|k| (enrolment + k, (cost_today * grow(inflation, i64::from(wait + k))).round_dp(2)))
        .collect();
    let total_cost = costs.iter().map(|(_, c)| *c).sum();
    let needed: Decimal =
        costs.iter().enumerate().map(|(k, (_, c))| *c / grow(expected_return, k as i64)).sum::<Decimal>().round_dp(2);
    // Months to enrolment, at the monthly rate equal to the annual return.
    let months = months_to(today, enrolment);
    let monthly_rate = (Decimal::ONE + expected_return).powd(Decimal::ONE / Decimal::from(12)) - Decimal::ONE;
    let growth = grow(monthly_rate, i64::from(months));
    let annuity = if monthly_rate.is_zero() { Decimal::from(months) } else { (growth - Decimal::ONE) / monthly_rate };
    let projected = (balance * growth + monthly * annuity).round_dp(2);
    let gap = (needed - projected).max(Decimal::ZERO);
    let monthly_to_close = if gap.is_zero() {
        Decimal::ZERO
    } else if annuity.is_zero() {
        gap
    } else {
        (gap / annuity).round_dp(2)
    };
    Funding { costs, total_cost, needed_at_enrolment: needed, projected_at_enrolment: projected, gap, monthly_to_close }
}

/// §1(g)(4)(A)(ii)(I)'s amount by year, with its source: unearned income up to it is covered
/// by a dependent child's standard deduction, the next as much is taxed at the child's rate.
pub const KIDDIE: &[(i32, Decimal, &str)] = &[
    (2024, Decimal::from_parts(1_300, 0, 0, false, 0), "Rev. Proc. 2023-34"),
    (2025, Decimal::from_parts(1_350, 0, 0, false, 0), "Rev. Proc. 2024-40"),
    (2026, Decimal::from_parts(1_350, 0, 0, false, 0), "Rev. Proc. 2025-32"),
];

/// How the federal student aid formula counts assets, with its source: a dependent student's
/// at 20%; a parent's (a parent-owned 529 among them) at most 12% of what exceeds the asset
/// protection allowance, then at most 47% of the adjusted available income, 5.64% in all.
pub struct AidAssessment {
    pub student: Decimal,
    pub parent_most: Decimal,
    pub source: &'static str,
}

pub const AID_ASSESSMENT: AidAssessment = AidAssessment {
    student: Decimal::from_parts(20, 0, 0, false, 2),
    parent_most: Decimal::from_parts(564, 0, 0, false, 4),
    source: "Higher Education Act §475 as amended by the FAFSA Simplification Act (Pub. L. 116-260); \
             the 2026-27 Student Aid Index and Pell Grant Eligibility Guide, Formula A",
};

/// One year's kiddie tax on a child's unearned income (no earned income).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct KiddieTax {
    pub year: i32,
    pub unearned: Decimal,
    /// §1(g)(4)'s amount of the year (the latest cairn has for a later year).
    pub amount: Decimal,
    pub at_child_rate: Decimal,
    /// The net unearned income, taxed at the parents' rate.
    pub net_unearned: Decimal,
    /// The child's own tax without §1(g) (Form 8615 line 17), which the tax is never below.
    pub without_kiddie_rule: Decimal,
    pub tax: Decimal,
}

/// The kiddie tax of `year` on `unearned` income taxed as ordinary income (interest and
/// non-qualified dividends), `parents` giving the parents' added tax on a net unearned income:
/// the child's taxable income (unearned less the amount, a dependent's standard deduction)
/// less the net unearned income at the child's single-filer brackets, plus the parents' tax on
/// the net unearned income, and never less than the child's tax on all of it at the child's
/// own brackets (§1(g)(1); Form 8615 lines 15-18). Brackets of years past cairn's tables are
/// the latest grown 2.5% a year (`tax::projected`).
pub fn kiddie_tax(year: i32, unearned: Decimal, parents: impl Fn(Decimal) -> Decimal) -> KiddieTax {
    let amount = KIDDIE.iter().rev().find(|(y, ..)| *y <= year).unwrap_or(&KIDDIE[0]).1;
    let unearned = unearned.max(Decimal::ZERO);
    let taxable = (unearned - amount).max(Decimal::ZERO);
    let at_child_rate = taxable.min(amount);
    let net_unearned = taxable - at_child_rate;
    let brackets = crate::tax::projected(year, Decimal::new(25, 3));
    let child = |income: Decimal| crate::tax::bracket_tax(&brackets, crate::tax::Schedule::Single, income);
    let parents_tax = if net_unearned.is_zero() { Decimal::ZERO } else { parents(net_unearned) };
    let without_kiddie_rule = child(taxable).round_dp(2);
    let tax = (child(at_child_rate) + parents_tax).round_dp(2).max(without_kiddie_rule);
    KiddieTax { year, unearned, amount, at_child_rate, net_unearned, without_kiddie_rule, tax }
}

/// A custodial account carried to enrolment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Utma {
    pub balance: Decimal,
    /// The share of its value paid out as taxable income each year (reinvested).
    pub income_yield: Decimal,
    pub at_enrolment: Decimal,
    /// The kiddie tax of each year to enrolment (paid from the account), and in all.
    pub years: Vec<KiddieTax>,
    pub tax_paid: Decimal,
    /// The same balance grown free of tax in a parent-owned 529, and what the account loses
    /// beside it.
    pub in_529_instead: Decimal,
    pub tax_drag: Decimal,
    /// What the student aid formula takes of it at enrolment as the student's asset, and of
    /// the same money in a parent's 529 at the most.
    pub aid_assessed: Decimal,
    pub aid_assessed_in_529: Decimal,
}

/// A custodial account of `balance` from `year` to the fall of `enrolment`, growing at
/// `expected_return` a year of which `income_yield` is taxable income, the kiddie tax of each
/// year paid from it; `parents(year, net_unearned)` is the parents' added tax.
pub fn utma(
    balance: Decimal,
    income_yield: Decimal,
    expected_return: Decimal,
    year: i32,
    enrolment: i32,
    parents: impl Fn(i32, Decimal) -> Decimal,
) -> Utma {
    let mut value = balance;
    let mut untaxed = balance;
    let mut years = Vec::new();
    for y in year..enrolment {
        let income = (value * income_yield).round_dp(2);
        let tax = kiddie_tax(y, income, |nui| parents(y, nui));
        value = (value * (Decimal::ONE + expected_return) - tax.tax).max(Decimal::ZERO).round_dp(2);
        untaxed = (untaxed * (Decimal::ONE + expected_return)).round_dp(2);
        years.push(tax);
    }
    let tax_paid = years.iter().map(|t| t.tax).sum();
    Utma {
        balance,
        income_yield,
        at_enrolment: value,
        tax_paid,
        in_529_instead: untaxed,
        tax_drag: untaxed - value,
        aid_assessed: (value * AID_ASSESSMENT.student).round_dp(2),
        aid_assessed_in_529: (untaxed * AID_ASSESSMENT.parent_most).round_dp(2),
        years,
    }
}

/// How a state deducts 529 contributions from its income tax.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub enum StateCap {
    /// At most this much a return a year (single or joint).
    PerReturn { single: Decimal, joint: Decimal },
    /// At most this much for each beneficiary a year (doubled for a joint return when
    /// `per_spouse`).
    PerBeneficiary { amount: Decimal, per_spouse: bool },
}

/// A state's 529 deduction, with its flat income tax rate where it has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct StateDeduction {
    pub state: &'static str,
    pub cap: StateCap,
    /// Contributions above the cap carry forward to later years.
    pub carryforward: bool,
    pub flat_rate: Option<Decimal>,
    pub source: &'static str,
}

const fn usd(n: i64) -> Decimal {
    Decimal::from_parts(n as u32, 0, 0, false, 0)
}

/// A few states' 529 deductions for 2025 and 2026 (the states' statutes; Pennsylvania's cap is
/// the federal gift tax annual exclusion, $19,000 in both years). States without an income tax
/// or without a deduction (California, Florida, Texas, …) are not listed: no deduction.
pub const STATE_529: &[StateDeduction] = &[
    StateDeduction {
        state: "IL",
        cap: StateCap::PerReturn { single: usd(10_000), joint: usd(20_000) },
        carryforward: false,
        flat_rate: Some(Decimal::from_parts(495, 0, 0, false, 4)),
        source: "35 ILCS 5/203(a)(2)(Y); 4.95% flat, 35 ILCS 5/201(b)",
    },
    StateDeduction {
        state: "MA",
        cap: StateCap::PerReturn { single: usd(1_000), joint: usd(2_000) },
        carryforward: false,
        flat_rate: Some(Decimal::from_parts(5, 0, 0, false, 2)),
        source: "Mass. Gen. Laws ch. 62 §3(B)(a)(11); 5% flat, ch. 62 §4",
    },
    StateDeduction {
        state: "NY",
        cap: StateCap::PerReturn { single: usd(5_000), joint: usd(10_000) },
        carryforward: false,
        flat_rate: None,
        source: "N.Y. Tax Law §612(c)(32)",
    },
    StateDeduction {
        state: "OH",
        cap: StateCap::PerBeneficiary { amount: usd(4_000), per_spouse: false },
        carryforward: true,
        flat_rate: None,
        source: "Ohio Rev. Code §5747.01(A)(10)",
    },
    StateDeduction {
        state: "PA",
        cap: StateCap::PerBeneficiary { amount: usd(19_000), per_spouse: true },
        carryforward: false,
        flat_rate: Some(Decimal::from_parts(307, 0, 0, false, 4)),
        source: "72 P.S. §7303(a.6) (the annual exclusion per beneficiary, each spouse); 3.07% flat, §7302",
    },
    StateDeduction {
        state: "VA",
        cap: StateCap::PerBeneficiary { amount: usd(4_000), per_spouse: false },
        carryforward: true,
        flat_rate: None,
        source: "Va. Code §58.1-322.03(4) (per account a year, the rest carried forward)",
    },
];

/// What `state` lets a return deduct this year of `contributions` (one amount per
/// beneficiary), and the state's row; `None` where it has no deduction in the table.
pub fn state_deduction(
    state: &str,
    status: FilingStatus,
    contributions: &[Decimal],
) -> Option<(Decimal, &'static StateDeduction)> {
    let row = STATE_529.iter().find(|r| r.state.eq_ignore_ascii_case(state))?;
    let joint = status == FilingStatus::MarriedFilingJointly;
    let total: Decimal = contributions.iter().copied().filter(|c| *c > Decimal::ZERO).sum();
    let deduction = match row.cap {
        StateCap::PerReturn { single, joint: both } => total.min(if joint { both } else { single }),
        StateCap::PerBeneficiary { amount, per_spouse } => {
            let cap = if joint && per_spouse { amount * Decimal::TWO } else { amount };
            contributions.iter().map(|c| (*c).max(Decimal::ZERO).min(cap)).sum()
        }
    };
    Some((deduction, row))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn the_american_opportunity_credit_and_its_phase_out_edges() {
        let single = FilingStatus::Single;
        // $4,000 of expenses: 2,000 + 25% of 2,000 = 2,500, 1,000 of it refundable.
        let c = credit(&AOTC, dec!(4_000), dec!(50_000), single);
        assert_eq!(
            (c.tentative, c.allowed, c.refundable, c.nonrefundable),
            (dec!(2_500), dec!(2_500), dec!(1_000), dec!(1_500))
        );
        // $3,000 of expenses: 2,000 + 250.
        assert_eq!(credit(&AOTC, dec!(3_000), dec!(50_000), single).allowed, dec!(2_250));
        // The edges: all of it at 80,000; none at 90,000; half at 85,000.
        assert_eq!(credit(&AOTC, dec!(4_000), dec!(80_000), single).allowed, dec!(2_500));
        assert_eq!(credit(&AOTC, dec!(4_000), dec!(90_000), single).allowed, Decimal::ZERO);
        assert_eq!(credit(&AOTC, dec!(4_000), dec!(85_000), single).allowed, dec!(1_250));
        // Filing jointly at 165,000: (180,000 − 165,000) / 20,000 = .75 kept: 1,875.
        let joint = credit(&AOTC, dec!(4_000), dec!(165_000), FilingStatus::MarriedFilingJointly);
        assert_eq!((joint.kept, joint.allowed, joint.refundable), (dec!(0.75), dec!(1_875), dec!(750)));
        // Married filing separately: none.
        assert_eq!(
            credit(&AOTC, dec!(4_000), dec!(10_000), FilingStatus::MarriedFilingSeparately).allowed,
            Decimal::ZERO
        );
    }

    #[test]
    fn the_lifetime_learning_credit_is_a_fifth_of_ten_thousand_at_most() {
        let c = credit(&LLC, dec!(12_000), dec!(60_000), FilingStatus::Single);
        assert_eq!((c.tentative, c.allowed, c.refundable), (dec!(2_000), dec!(2_000), Decimal::ZERO));
        assert_eq!(credit(&LLC, dec!(5_000), dec!(60_000), FilingStatus::Single).allowed, dec!(1_000));
        // Kept to three places: (90,000 − 83,333) / 10,000 = .6667 → .667.
        assert_eq!(credit(&LLC, dec!(10_000), dec!(83_333), FilingStatus::Single).allowed, dec!(1_334));
    }

    #[test]
    fn a_rollover_waits_fifteen_years_and_keeps_recent_money_and_the_limits() {
        let opened = NaiveDate::from_ymd_opt(2010, 3, 1).unwrap();
        let today = NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
        // 40,000 in the account, 6,000 from the last five years; 7,000 of IRA room: 7,000.
        let r = rollover(opened, today, dec!(40_000), dec!(6_000), Decimal::ZERO, dec!(7_000), dec!(30_000));
        assert_eq!(r.allowed, dec!(7_000));
        assert!(r.limits[0].contains("IRA contribution limit"), "{:?}", r.limits);
        // 31,000 rolled before: 4,000 of the lifetime limit left.
        let r = rollover(opened, today, dec!(40_000), dec!(6_000), dec!(31_000), dec!(7_000), dec!(30_000));
        assert_eq!((r.allowed, r.lifetime_left), (dec!(4_000), dec!(4_000)));
        // Opened in 2015: not until 2030-03-01.
        let young = NaiveDate::from_ymd_opt(2015, 3, 1).unwrap();
        let r = rollover(young, today, dec!(40_000), Decimal::ZERO, Decimal::ZERO, dec!(7_000), dec!(30_000));
        assert_eq!((r.allowed, r.eligible_from), (Decimal::ZERO, NaiveDate::from_ymd_opt(2030, 3, 1).unwrap()));
        // Little compensation limits it.
        let r = rollover(opened, today, dec!(40_000), Decimal::ZERO, Decimal::ZERO, dec!(7_000), dec!(2_500));
        assert_eq!(r.allowed, dec!(2_500));
    }

    #[test]
    fn costs_grow_by_inflation_and_the_saving_closes_the_gap() {
        let today = NaiveDate::from_ymd_opt(2026, 9, 1).unwrap();
        // $30,000 a year today, 5% inflation, four years from 2036 (ten years away).
        let school = Schooling { enrolment: 2036, years: 4, cost_today: dec!(30_000), inflation: dec!(0.05) };
        let f = funding(today, &school, Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
        // 30,000 × 1.05^10 = 48,866.84.
        assert_eq!(f.costs[0], (2036, dec!(48_866.84)));
        assert_eq!(f.costs[3].0, 2039);
        // At no return the need is the total, and 120 months of saving close it.
        assert_eq!(f.needed_at_enrolment, f.total_cost);
        assert_eq!(f.monthly_to_close, (f.total_cost / dec!(120)).round_dp(2));
        // At a return, saving that amount each month fills the gap (to the cent of rounding).
        let r = dec!(0.06);
        let f = funding(today, &school, dec!(20_000), Decimal::ZERO, r);
        let filled = funding(today, &school, dec!(20_000), f.monthly_to_close, r);
        assert!((filled.projected_at_enrolment - f.needed_at_enrolment).abs() < dec!(1), "{filled:?}");
        assert!(filled.gap < dec!(1));
    }

    #[test]
    fn state_529_deductions() {
        use rust_decimal_macros::dec;
        let two = [dec!(12000), dec!(3000)];
        // New York: $10,000 a joint return, whatever the beneficiaries.
        assert_eq!(state_deduction("ny", FilingStatus::MarriedFilingJointly, &two).unwrap().0, dec!(10000));
        assert_eq!(state_deduction("NY", FilingStatus::Single, &two).unwrap().0, dec!(5000));
        // Pennsylvania: up to $38,000 a beneficiary for a couple: all of it.
        assert_eq!(state_deduction("PA", FilingStatus::MarriedFilingJointly, &two).unwrap().0, dec!(15000));
        // Virginia: $4,000 an account: $4,000 + $3,000.
        assert_eq!(state_deduction("VA", FilingStatus::MarriedFilingJointly, &two).unwrap().0, dec!(7000));
        assert!(state_deduction("CA", FilingStatus::Single, &two).is_none());
    }

    #[test]
    fn coverdell_phase_out() {
        use rust_decimal_macros::dec;
        assert_eq!(coverdell_limit(dec!(90000), FilingStatus::Single), dec!(2000));
        // $96,500 single: 1,500 / 15,000 = .100 of $2,000 off.
        assert_eq!(coverdell_limit(dec!(96500), FilingStatus::Single), dec!(1800));
        // $200,000 jointly: 10,000 / 30,000 = .333 of $2,000 off.
        assert_eq!(coverdell_limit(dec!(200000), FilingStatus::MarriedFilingJointly), dec!(1334));
        assert_eq!(coverdell_limit(dec!(110000), FilingStatus::Single), Decimal::ZERO);
        assert_eq!(coverdell_limit(dec!(230000), FilingStatus::MarriedFilingJointly), Decimal::ZERO);
    }

    #[test]
    fn the_kiddie_tax_takes_the_child_rate_then_the_parents() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        let at_24 = |nui: Decimal| nui * d("0.24");
        // 2025: $1,350 covered, $1,350 at 10%, the $2,300 above $2,700 at the parents' 24%.
        let t = kiddie_tax(2025, d("5000"), at_24);
        assert_eq!((t.at_child_rate, t.net_unearned, t.tax), (d("1350"), d("2300"), d("687.00")));
        // At the amount nothing; at twice it only the child's rate.
        assert_eq!(kiddie_tax(2025, d("1350"), at_24).tax, Decimal::ZERO);
        assert_eq!(kiddie_tax(2025, d("2700"), at_24).tax, d("135.00"));
        // 2024: $1,300 at 10% and the $100 above $2,600 at 24%.
        assert_eq!(kiddie_tax(2024, d("2700"), at_24).tax, d("154.00"));
        // A year past the table takes the latest amount.
        assert_eq!(kiddie_tax(2031, d("2700"), at_24).amount, d("1350"));
        // Parents with no tax to add: the child's own tax on its taxable income is the floor
        // (§1(g)(1)): $8,650 at 2025's single brackets, 10% to $11,925.
        let none = kiddie_tax(2025, d("10000"), |_| Decimal::ZERO);
        assert_eq!((none.without_kiddie_rule, none.tax), (d("865.00"), d("865.00")));
    }

    #[test]
    fn a_custodial_account_pays_the_kiddie_tax_each_year_and_counts_at_twenty_percent() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        // $100,000 at 6%, 3% of it income: $3,000 the first year, $300 above $2,700 at 32%:
        // 135 + 96 = 231.
        let u = utma(d("100000"), d("0.03"), d("0.06"), 2026, 2028, |_, nui| nui * d("0.32"));
        assert_eq!(u.years[0].tax, d("231.00"));
        assert_eq!(u.years.len(), 2);
        // Year two: 105,769 × 3% = 3,173.07; 135 + 473.07 × 32% = 286.38.
        assert_eq!(u.years[1].unearned, d("3173.07"));
        assert_eq!(u.years[1].tax, d("286.38"));
        assert_eq!(u.at_enrolment, d("105769") * d("1.06") - d("286.38"));
        assert_eq!(u.in_529_instead, d("112360.00"));
        assert_eq!(u.tax_drag, u.in_529_instead - u.at_enrolment);
        assert_eq!(u.aid_assessed, (u.at_enrolment * d("0.2")).round_dp(2));
        assert_eq!(u.aid_assessed_in_529, d("6337.10"));
    }
}
