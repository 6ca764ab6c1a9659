//! The federal income tax of a year, as Form 1040 computes it, to the cent: capital gains and
//! losses netted with the carryovers (Schedule D, and the Capital Loss Carryover Worksheet of
//! its instructions), the $3,000 loss limit (IRC §1211(b)), the standard deduction with the
//! additional amounts for age 65 and blindness (§63(c), (f)) and the 2025–2028 deduction for
//! seniors with its phase-out (§151(f), added by Public Law 119-21 §70103), the ordinary
//! brackets (§1(j)), qualified dividends and net capital gain stacked on top at 0/15/20%
//! (§1(h), the Qualified Dividends and Capital Gain Tax Worksheet), and the 3.8% net investment
//! income tax (§1411, Form 8960). Medicare's income-related monthly adjustment amounts (IRMAA,
//! 42 CFR §418.115 for Part B, §423.286 for Part D) are read from the same tables.
//!
//! Every number that law or an agency sets lives in one table per year ([`YEARS`], with its
//! source), so next year's update is a new row. What is left out, and said so by the answer:
//! unrecaptured §1250 gain and 28% collectibles gain (taxed at 25% and 28%), itemized
//! deductions beyond a total given, credits, the alternative minimum tax, self-employment tax.
//! The regular tax is the bracket formula on taxable income (the Tax Computation Worksheet's
//! arithmetic); the IRS's Tax Table, used below $100,000 of taxable income, taxes the middle of
//! each $50 row instead, so a return filed from it can differ by a few dollars.

use chrono::Datelike;
use rust_decimal::prelude::*;
use serde::{Deserialize, Serialize};

use crate::ledger::types::FilingStatus;
use crate::DomainError;

pub(crate) const fn usd(n: u32) -> Decimal {
    Decimal::from_parts(n, 0, 0, false, 0)
}

pub(crate) const fn pct(n: u32, scale: u32) -> Decimal {
    Decimal::from_parts(n, 0, 0, false, scale)
}

/// The ordinary rates of §1(j)(2), lowest first.
pub const RATES: [Decimal; 7] = [pct(10, 2), pct(12, 2), pct(22, 2), pct(24, 2), pct(32, 2), pct(35, 2), pct(37, 2)];

/// The columns of each year's table: the rate schedules of §1(j)(2) (a qualifying surviving
/// spouse uses the joint schedule and amounts, §1(j)(2)(A)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    Single = 0,
    Joint = 1,
    Separate = 2,
    HeadOfHousehold = 3,
}

impl Schedule {
    pub fn of(status: FilingStatus) -> Self {
        match status {
            FilingStatus::Single => Self::Single,
            FilingStatus::MarriedFilingJointly | FilingStatus::QualifyingSurvivingSpouse => Self::Joint,
            FilingStatus::MarriedFilingSeparately => Self::Separate,
            FilingStatus::HeadOfHousehold => Self::HeadOfHousehold,
        }
    }

    /// Married, or a surviving spouse: the smaller additional standard deduction (§63(f)(1)).
    fn married(self, status: FilingStatus) -> bool {
        matches!(self, Self::Joint | Self::Separate) || status == FilingStatus::QualifyingSurvivingSpouse
    }
}

/// One tax year's amounts, by [`Schedule`] (single, joint, separate, head of household).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct YearTable {
    pub year: i32,
    pub source: &'static str,
    /// Taxable income at which each rate after 10% starts ([`RATES`][1..]).
    pub brackets: [[u32; 6]; 4],
    pub standard_deduction: [u32; 4],
    /// The additional standard deduction per condition (65 or older, blind) for a married
    /// person or surviving spouse, and for anyone else.
    pub additional: (u32, u32),
    /// The top of the 0% rate on qualified dividends and net capital gain (§1(h)(1)(B)) …
    pub zero_rate_top: [u32; 4],
    /// … and of the 15% rate (§1(h)(1)(C)); above it, 20%.
    pub fifteen_rate_top: [u32; 4],
    /// Medicare for the year (premiums by MAGI of two years before).
    pub irmaa: Irmaa,
}

/// Medicare Part B premiums and Part D surcharges by modified adjusted gross income (of two
/// years before), per month. A tier is "more than" its lower bound and "at most" its upper
/// one; the last is "at least" its bound (42 CFR §418.115(d)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Irmaa {
    /// The standard Part B premium, in cents.
    pub part_b_standard: u32,
    /// Each tier's upper bound for single (and head of household, surviving spouse) and for
    /// joint filers; the fifth tier has no upper bound but starts at the top bound.
    pub bounds_single: [u32; 5],
    pub bounds_joint: [u32; 5],
    /// A married person filing separately who lived with the spouse: standard up to the first
    /// bound, then the fifth tier's premium below this bound, the sixth at or above it.
    pub separate_top: u32,
    /// The Part B premium of each tier above the standard (cents).
    pub part_b: [u32; 5],
    /// The Part D surcharge of each tier above the standard (cents).
    pub part_d: [u32; 5],
}

/// The years cairn computes, oldest first.
pub const YEARS: [YearTable; 3] = [
    YearTable {
        year: 2024,
        source: "Rev. Proc. 2023-34 §3.01 (Table 1-4), §3.03 (capital gains), §3.15 (standard deduction); \
                 CMS, 2024 Medicare Parts A & B Premiums and Deductibles (2023-10-12)",
        brackets: [
            [11_600, 47_150, 100_525, 191_950, 243_725, 609_350],
            [23_200, 94_300, 201_050, 383_900, 487_450, 731_200],
            [11_600, 47_150, 100_525, 191_950, 243_725, 365_600],
            [16_550, 63_100, 100_500, 191_950, 243_700, 609_350],
        ],
        standard_deduction: [14_600, 29_200, 14_600, 21_900],
        additional: (1_550, 1_950),
        zero_rate_top: [47_025, 94_050, 47_025, 63_000],
        fifteen_rate_top: [518_900, 583_750, 291_850, 551_350],
        irmaa: Irmaa {
            part_b_standard: 17_470,
            bounds_single: [103_000, 129_000, 161_000, 193_000, 500_000],
            bounds_joint: [206_000, 258_000, 322_000, 386_000, 750_000],
            separate_top: 397_000,
            part_b: [24_460, 34_940, 45_420, 55_900, 59_400],
            part_d: [1_290, 3_330, 5_380, 7_420, 8_100],
        },
    },
    YearTable {
        year: 2025,
        source: "Rev. Proc. 2024-40 §3.01, §3.03, with the standard deduction of Public Law 119-21 §70102 \
                 (15,750 / 31,500 / 23,625); CMS, 2025 Medicare Parts A & B Premiums and Deductibles (2024-11-08)",
        brackets: [
            [11_925, 48_475, 103_350, 197_300, 250_525, 626_350],
            [23_850, 96_950, 206_700, 394_600, 501_050, 751_600],
            [11_925, 48_475, 103_350, 197_300, 250_525, 375_800],
            [17_000, 64_850, 103_350, 197_300, 250_500, 626_350],
        ],
        standard_deduction: [15_750, 31_500, 15_750, 23_625],
        additional: (1_600, 2_000),
        zero_rate_top: [48_350, 96_700, 48_350, 64_750],
        fifteen_rate_top: [533_400, 600_050, 300_000, 566_700],
        irmaa: Irmaa {
            part_b_standard: 18_500,
            bounds_single: [106_000, 133_000, 167_000, 200_000, 500_000],
            bounds_joint: [212_000, 266_000, 334_000, 400_000, 750_000],
            separate_top: 394_000,
            part_b: [25_900, 37_000, 48_090, 59_190, 62_890],
            part_d: [1_370, 3_530, 5_700, 7_860, 8_580],
        },
    },
    YearTable {
        year: 2026,
        source: "Rev. Proc. 2025-32 §4.01, §4.03, §4.15 (as amended by Public Law 119-21); \
                 CMS, 2026 Medicare Parts A & B Premiums and Deductibles (2025-11-14)",
        brackets: [
            [12_400, 50_400, 105_700, 201_775, 256_225, 640_600],
            [24_800, 100_800, 211_400, 403_550, 512_450, 768_700],
            [12_400, 50_400, 105_700, 201_775, 256_225, 384_350],
            [17_700, 67_450, 105_700, 201_750, 256_200, 640_600],
        ],
        standard_deduction: [16_100, 32_200, 16_100, 24_150],
        additional: (1_650, 2_050),
        zero_rate_top: [49_450, 98_900, 49_450, 66_200],
        fifteen_rate_top: [545_500, 613_700, 306_850, 579_600],
        irmaa: Irmaa {
            part_b_standard: 20_290,
            bounds_single: [109_000, 137_000, 171_000, 205_000, 500_000],
            bounds_joint: [218_000, 274_000, 342_000, 410_000, 750_000],
            separate_top: 391_000,
            part_b: [28_410, 40_580, 52_750, 64_920, 68_990],
            part_d: [1_450, 3_750, 6_040, 8_330, 9_100],
        },
    },
];

/// The deduction for seniors of §151(f) (Public Law 119-21 §70103): $6,000 for each taxpayer
/// (and spouse, on a joint return) 65 or older at the end of a year from 2025 to 2028, each
/// reduced by 6% of modified AGI above $75,000 ($150,000 joint); a married person must file
/// jointly to take it.
pub const SENIOR_DEDUCTION: SeniorDeduction = SeniorDeduction {
    first_year: 2025,
    last_year: 2028,
    amount: usd(6_000),
    phase_out_rate: pct(6, 2),
    threshold: usd(75_000),
    threshold_joint: usd(150_000),
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeniorDeduction {
    pub first_year: i32,
    pub last_year: i32,
    pub amount: Decimal,
    pub phase_out_rate: Decimal,
    pub threshold: Decimal,
    pub threshold_joint: Decimal,
}

/// §1411: 3.8% of the smaller of net investment income and modified AGI above the threshold
/// ($250,000 joint or surviving spouse, $125,000 separate, $200,000 otherwise; not indexed).
pub const NIIT_RATE: Decimal = pct(38, 3);
const NIIT_THRESHOLD: [u32; 4] = [200_000, 250_000, 125_000, 200_000];

/// §1211(b): net capital losses offset at most $3,000 of other income a year ($1,500 married
/// filing separately); the rest carries over, short and long term apart (§1212(b)).
const LOSS_LIMIT: [u32; 4] = [3_000, 3_000, 1_500, 3_000];

/// The net capital loss deductible in a year by `status` (§1211(b)).
pub fn loss_limit(status: FilingStatus) -> Decimal {
    usd(LOSS_LIMIT[Schedule::of(status) as usize])
}

/// The year's table, or why there is none.
pub fn year(year: i32) -> Result<&'static YearTable, DomainError> {
    YEARS.iter().find(|t| t.year == year).ok_or_else(|| DomainError::Rejected {
        line: None,
        field: "year".into(),
        problem: format!(
            "no federal tax table for {year}; cairn has {}",
            YEARS.iter().map(|t| t.year.to_string()).collect::<Vec<_>>().join(", ")
        ),
    })
}

/// Who files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filer {
    pub status: FilingStatus,
    /// Taxpayers (and spouse, on a joint return) 65 or older at the end of the year: 0 to 2.
    pub seniors: u8,
    /// Taxpayers (and spouse) who are blind: 0 to 2.
    pub blind: u8,
}

/// A year's income, as the return reports it (amounts in dollars; losses negative).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Income {
    /// Wages, pensions, IRA distributions and other ordinary income.
    pub ordinary: Decimal,
    /// Taxable interest.
    pub interest: Decimal,
    /// Ordinary dividends (1099-DIV box 1a), qualified ones included …
    pub ordinary_dividends: Decimal,
    /// … of which qualified (box 1b).
    pub qualified_dividends: Decimal,
    /// Net short-term and long-term gain or loss of the year's sales (Form 8949 totals).
    pub short_term: Decimal,
    pub long_term: Decimal,
    /// Losses carried over from the year before, as positive amounts.
    pub carryover_short: Decimal,
    pub carryover_long: Decimal,
    /// Itemized deductions; the standard deduction is taken when larger.
    pub itemized: Decimal,
}

/// How much of the investment income is taxed at each preferential rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preferential {
    pub at_zero: Decimal,
    pub at_fifteen: Decimal,
    pub at_twenty: Decimal,
}

/// A year's federal income tax.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Estimate {
    pub year: i32,
    pub status: FilingStatus,
    /// Net short-term and long-term gain or loss after the carryovers (Schedule D lines 7, 15).
    pub net_short_term: Decimal,
    pub net_long_term: Decimal,
    /// What the gains and losses add to income (Form 1040 line 7): the net gain, or the loss
    /// up to the limit.
    pub capital_gain_or_loss: Decimal,
    /// Losses carried to next year.
    pub carryover_short: Decimal,
    pub carryover_long: Decimal,
    /// Adjusted gross income (no adjustments are taken: AGI is total income), also the MAGI
    /// of the senior deduction, NIIT and IRMAA.
    pub agi: Decimal,
    pub standard_deduction: Decimal,
    pub senior_deduction: Decimal,
    /// The larger of the standard deduction and the itemized deductions, plus the senior
    /// deduction.
    pub deductions: Decimal,
    pub taxable_income: Decimal,
    /// Taxable income taxed at the ordinary rates, and the qualified dividends and net capital
    /// gain taxed at 0/15/20%.
    pub ordinary_income: Decimal,
    pub preferential: Preferential,
    pub income_tax: Decimal,
    pub net_investment_income: Decimal,
    pub niit: Decimal,
    pub total_tax: Decimal,
    /// The ordinary rate the last dollar of ordinary income is taxed at, and how much more
    /// ordinary income reaches the next rate (none at 37%).
    pub ordinary_bracket: Decimal,
    pub to_next_bracket: Option<Decimal>,
    /// The tax on $100 more of wages and of long-term gain, per dollar: what the next dollar
    /// really costs, stacking, NIIT and phase-outs included.
    pub marginal_ordinary: Decimal,
    pub marginal_capital_gains: Decimal,
    /// The Medicare premiums this year's MAGI sets for two years later, by the tiers of that
    /// year when cairn has them, else of the latest year it has (`irmaa_tiers_of`).
    pub irmaa: IrmaaTier,
    pub irmaa_tiers_of: i32,
    /// What the estimate leaves out.
    pub excludes: Vec<&'static str>,
}

/// Where a MAGI falls among the IRMAA tiers of a year's table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct IrmaaTier {
    /// 0 for the standard premium, 1 to 5 above it.
    pub tier: u8,
    /// Monthly Part B premium and Part D surcharge per person.
    pub part_b_monthly: Decimal,
    pub part_d_monthly: Decimal,
    /// How much more MAGI reaches the next tier (none in the last).
    pub to_next_tier: Option<Decimal>,
}

/// The investment income of a tax year as the ledger records it, for [`estimate`]: interest
/// and dividends paid in taxable accounts (income inside an IRA, 401(k), HSA or 529 is not
/// taxed when paid), and the year's reportable sales (Form 8949 rows of the ledger's `book`)
/// netted per term.
pub fn ledger_income(ledger: &crate::ledger::Ledger, book: &crate::ledger::lots::Book, tax_year: i32) -> Income {
    use crate::ledger::lots::Term;
    use crate::ledger::types::{AccountType, Action};
    let taxable = |account: &str| ledger.accounts.get(account).is_some_and(|a| a.account_type == AccountType::Taxable);
    let mut income = Income::default();
    for t in ledger.trades.iter().filter(|t| t.trade_date.year() == tax_year && taxable(&t.account)) {
        let amount = t.quantity * t.price;
        match t.action {
            Action::Interest => income.interest += amount,
            Action::Dividend => {
                income.ordinary_dividends += amount;
                if t.is_qualified_dividend() {
                    income.qualified_dividends += amount;
                }
            }
            _ => {}
        }
    }
    for s in book.sales.iter().filter(|s| s.reportable && s.date_sold.year() == tax_year) {
        match s.term {
            Term::Short => income.short_term += s.gain_loss,
            Term::Long => income.long_term += s.gain_loss,
        }
    }
    income
}

/// The Capital Loss Carryover Worksheet (Schedule D instructions): what of a year's net short-
/// and long-term losses carries to the next year when `used` of the net loss was deducted
/// (the smaller of the limit and taxable income before the deduction). Short-term losses are
/// used first; none carries when the year's net is a gain.
pub fn carryovers(net_short: Decimal, net_long: Decimal, used: Decimal) -> (Decimal, Decimal) {
    if net_short + net_long >= Decimal::ZERO {
        return (Decimal::ZERO, Decimal::ZERO);
    }
    let short_loss = (-net_short).max(Decimal::ZERO); // line 5
    let long_gain = net_long.max(Decimal::ZERO); // line 6
    let carry_short = (short_loss - (used + long_gain)).max(Decimal::ZERO); // lines 7-8
    let long_loss = (-net_long).max(Decimal::ZERO); // line 9
    let short_gain = net_short.max(Decimal::ZERO); // line 10
    let left = (used - short_loss).max(Decimal::ZERO); // line 11
    let carry_long = (long_loss - (short_gain + left)).max(Decimal::ZERO); // lines 12-13
    (carry_short, carry_long)
}

/// The losses carried into `tax_year` from the earlier years of sales of a ledger's `book`,
/// each year's net loss deducted up to the limit (as if its taxable income allowed the whole
/// deduction: the ledger does not know the other income of those years). Short-term first.
pub fn ledger_carryovers(book: &crate::ledger::lots::Book, status: FilingStatus, tax_year: i32) -> (Decimal, Decimal) {
    use crate::ledger::lots::Term;
    let mut by_year: std::collections::BTreeMap<i32, (Decimal, Decimal)> = std::collections::BTreeMap::new();
    for s in book.sales.iter().filter(|s| s.reportable && s.date_sold.year() < tax_year) {
        let entry = by_year.entry(s.date_sold.year()).or_default();
        match s.term {
            Term::Short => entry.0 += s.gain_loss,
            Term::Long => entry.1 += s.gain_loss,
        }
    }
    let limit = loss_limit(status);
    let (mut carry_short, mut carry_long) = (Decimal::ZERO, Decimal::ZERO);
    let Some(first) = by_year.keys().next().copied() else { return (carry_short, carry_long) };
    for y in first..tax_year {
        let (short, long) = by_year.get(&y).copied().unwrap_or_default();
        let (net_short, net_long) = (short - carry_short, long - carry_long);
        let used = (-(net_short + net_long)).clamp(Decimal::ZERO, limit);
        (carry_short, carry_long) = carryovers(net_short, net_long, used);
    }
    (carry_short, carry_long)
}

/// The ledger's members 65 or older at the end of `tax_year` (the IRS counts a person 65 on
/// the day before the 65th birthday, so someone born on January 1 is 65 a year early), at most
/// 2 on a joint return and 1 on any other.
pub fn ledger_seniors(ledger: &crate::ledger::Ledger, status: FilingStatus, tax_year: i32) -> u8 {
    let cutoff = chrono::NaiveDate::from_ymd_opt(tax_year - 64, 1, 1);
    let count = ledger.members.values().filter(|m| m.born.zip(cutoff).is_some_and(|(b, c)| b <= c)).count();
    let most = if status == FilingStatus::MarriedFilingJointly { 2 } else { 1 };
    count.min(most) as u8
}

fn cents(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// The ordinary tax on `income` by the year's brackets.
pub fn bracket_tax(t: &YearTable, schedule: Schedule, income: Decimal) -> Decimal {
    let starts = t.brackets[schedule as usize];
    let mut tax = Decimal::ZERO;
    for (i, rate) in RATES.iter().enumerate() {
        let low = if i == 0 { Decimal::ZERO } else { usd(starts[i - 1]) };
        let high = starts.get(i).map(|h| usd(*h));
        if income <= low {
            break;
        }
        let top = high.map_or(income, |h| income.min(h));
        tax += (top - low) * rate;
    }
    tax
}

/// The bracket `income`'s last dollar is in (its rate) and the income left to the next one.
fn bracket_of(t: &YearTable, schedule: Schedule, income: Decimal) -> (Decimal, Option<Decimal>) {
    let starts = t.brackets[schedule as usize];
    let i = starts.iter().take_while(|s| income >= usd(**s)).count();
    (RATES[i], starts.get(i).map(|s| usd(*s) - income))
}

/// The IRMAA tier of `magi` in `t`'s year for a filer of `status`.
pub fn irmaa(t: &YearTable, status: FilingStatus, magi: Decimal) -> IrmaaTier {
    let m = &t.irmaa;
    let tier_of = |bounds: &[u32; 5]| -> (u8, Option<Decimal>) {
        // "More than" each bound up to the fourth; "at least" the fifth.
        let above = bounds[..4].iter().take_while(|b| magi > usd(**b)).count();
        if above == 4 && magi >= usd(bounds[4]) {
            return (5, None);
        }
        let next = if above == 4 { usd(bounds[4]) - magi } else { usd(bounds[above]) - magi + Decimal::new(1, 2) };
        (above as u8, Some(next))
    };
    let (tier, to_next) = match status {
        FilingStatus::MarriedFilingJointly => tier_of(&m.bounds_joint),
        FilingStatus::MarriedFilingSeparately => {
            if magi <= usd(m.bounds_single[0]) {
                (0, Some(usd(m.bounds_single[0]) - magi + Decimal::new(1, 2)))
            } else if magi < usd(m.separate_top) {
                (4, Some(usd(m.separate_top) - magi))
            } else {
                (5, None)
            }
        }
        _ => tier_of(&m.bounds_single),
    };
    let money = |c: u32| Decimal::new(i64::from(c), 2);
    let (part_b, part_d) = match tier {
        0 => (money(m.part_b_standard), Decimal::ZERO),
        n => (money(m.part_b[usize::from(n) - 1]), money(m.part_d[usize::from(n) - 1])),
    };
    IrmaaTier { tier, part_b_monthly: part_b, part_d_monthly: part_d, to_next_tier: to_next }
}

fn refuse(field: &str, problem: impl Into<String>) -> DomainError {
    DomainError::Rejected { line: None, field: field.to_owned(), problem: problem.into() }
}

/// The year's federal income tax of `filer` with `income`.
pub fn estimate(tax_year: i32, filer: Filer, income: &Income) -> Result<Estimate, DomainError> {
    let t = year(tax_year)?;
    if filer.seniors > 2 || filer.blind > 2 {
        return Err(refuse("seniors", "at most 2 people (the taxpayer and a spouse)"));
    }
    if filer.status != FilingStatus::MarriedFilingJointly && (filer.seniors > 1 || filer.blind > 1) {
        return Err(refuse("seniors", "2 only on a joint return"));
    }
    for (field, v) in [
        ("interest", income.interest),
        ("ordinary_dividends", income.ordinary_dividends),
        ("qualified_dividends", income.qualified_dividends),
        ("carryover_short", income.carryover_short),
        ("carryover_long", income.carryover_long),
        ("itemized", income.itemized),
    ] {
        if v < Decimal::ZERO {
            return Err(refuse(field, format!("{v} must not be negative")));
        }
    }
    if income.qualified_dividends > income.ordinary_dividends {
        return Err(refuse("qualified_dividends", "are part of the ordinary dividends and cannot exceed them"));
    }
    let mut e = compute(t, filer, income);
    let more = |mut i: Income, wages: bool| {
        if wages {
            i.ordinary += usd(100);
        } else {
            i.long_term += usd(100);
        }
        compute(t, filer, &i).total_tax
    };
    e.marginal_ordinary = ((more(*income, true) - e.total_tax) / usd(100)).round_dp(4);
    e.marginal_capital_gains = ((more(*income, false) - e.total_tax) / usd(100)).round_dp(4);
    Ok(e)
}

/// The standard deduction (with the additional amounts for 65 and blind) and the senior
/// deduction (2025–2028, phased out above its threshold by `agi`) of `filer` in `t`'s year.
fn standard_and_senior(t: &YearTable, filer: Filer, agi: Decimal) -> (Decimal, Decimal) {
    let schedule = Schedule::of(filer.status);
    let count = Decimal::from(filer.seniors + filer.blind);
    let (married_add, other_add) = t.additional;
    let additional = usd(if schedule.married(filer.status) { married_add } else { other_add }) * count;
    let standard = usd(t.standard_deduction[schedule as usize]) + additional;
    let senior = if (SENIOR_DEDUCTION.first_year..=SENIOR_DEDUCTION.last_year).contains(&t.year)
        && filer.status != FilingStatus::MarriedFilingSeparately
    {
        let threshold = if schedule == Schedule::Joint && filer.status == FilingStatus::MarriedFilingJointly {
            SENIOR_DEDUCTION.threshold_joint
        } else {
            SENIOR_DEDUCTION.threshold
        };
        let reduction = (agi - threshold).max(Decimal::ZERO) * SENIOR_DEDUCTION.phase_out_rate;
        (SENIOR_DEDUCTION.amount - reduction).max(Decimal::ZERO) * Decimal::from(filer.seniors)
    } else {
        Decimal::ZERO
    };
    (standard, senior)
}

/// Taxable income and income tax when all of `agi` is ordinary income (wages, pensions, IRA
/// distributions and conversions, taxable Social Security) and the standard deduction is
/// taken: what a projection of retirement income needs, without the whole [`estimate`].
pub fn ordinary_tax(t: &YearTable, filer: Filer, agi: Decimal) -> (Decimal, Decimal) {
    let (standard, senior) = standard_and_senior(t, filer, agi);
    let taxable = (agi - standard - senior).max(Decimal::ZERO);
    (taxable, cents(bracket_tax(t, Schedule::of(filer.status), taxable)))
}

/// §86(c): the base amount and adjusted base amount of Social Security benefits' taxation
/// (statutory, not indexed): $32,000 and $44,000 on a joint return; zero for a married person
/// filing separately who lived with the spouse at any time of the year (taken here for every
/// separate return); $25,000 and $34,000 otherwise.
fn social_security_bases(status: FilingStatus) -> (Decimal, Decimal) {
    match status {
        FilingStatus::MarriedFilingJointly => (usd(32_000), usd(44_000)),
        FilingStatus::MarriedFilingSeparately => (Decimal::ZERO, Decimal::ZERO),
        _ => (usd(25_000), usd(34_000)),
    }
}

/// The taxable part of a year's Social Security `benefits` (IRC §86, as Worksheet 1 of IRS
/// Publication 915 computes it) for a filer whose other income is `other` (AGI without the
/// benefits, plus tax-exempt interest): nothing while the provisional income (other income
/// plus half the benefits) is at most the base amount; then half of what it exceeds the base
/// by, up to half the benefits, until the adjusted base; beyond it 85% of the excess plus the
/// smaller of that half and half the band; never more than 85% of the benefits.
pub fn taxable_social_security(status: FilingStatus, benefits: Decimal, other: Decimal) -> Decimal {
    if benefits <= Decimal::ZERO {
        return Decimal::ZERO;
    }
    let (base, adjusted) = social_security_bases(status);
    let half = benefits / Decimal::TWO; // line 2
    let provisional = other + half; // lines 3-8
    let over = provisional - base; // line 9
    if over <= Decimal::ZERO {
        return Decimal::ZERO;
    }
    let band = adjusted - base; // line 10
    let beyond = (over - band).max(Decimal::ZERO); // line 11
    let within = over.min(band) / Decimal::TWO; // lines 12-13
    let first = half.min(within); // line 14
    let total = first + beyond * pct(85, 2); // lines 15-16
    cents(total.min(benefits * pct(85, 2))) // lines 17-18
}

/// The table of `year`: cairn's own when it has one, else the latest one with every dollar
/// amount (brackets, deductions, rate tops, IRMAA bounds and premiums) grown by `inflation` a
/// year and rounded to the dollar (premiums to the cent), for projections. The IRS rounds its
/// indexed amounts down to $25 or $50 steps, so a projected year is near, not exact.
pub fn projected(year: i32, inflation: Decimal) -> YearTable {
    if let Some(t) = YEARS.iter().find(|t| t.year == year) {
        return *t;
    }
    let latest = YEARS[YEARS.len() - 1];
    let years = u32::try_from(year - latest.year).unwrap_or(0);
    let factor = (0..years).fold(Decimal::ONE, |f, _| f * (Decimal::ONE + inflation));
    let grow = |n: u32| (Decimal::from(n) * factor).round().to_u32().unwrap_or(n);
    let grow_all = |a: &[u32]| a.iter().map(|n| grow(*n)).collect::<Vec<_>>();
    let mut t = latest;
    t.year = year;
    t.source = "the latest table, its amounts grown by the plan's inflation";
    for (row, from) in t.brackets.iter_mut().zip(latest.brackets) {
        row.copy_from_slice(&grow_all(&from));
    }
    t.standard_deduction.copy_from_slice(&grow_all(&latest.standard_deduction));
    t.additional = (grow(latest.additional.0), grow(latest.additional.1));
    t.zero_rate_top.copy_from_slice(&grow_all(&latest.zero_rate_top));
    t.fifteen_rate_top.copy_from_slice(&grow_all(&latest.fifteen_rate_top));
    let m = &mut t.irmaa;
    m.part_b_standard = grow(latest.irmaa.part_b_standard);
    m.bounds_single.copy_from_slice(&grow_all(&latest.irmaa.bounds_single));
    m.bounds_joint.copy_from_slice(&grow_all(&latest.irmaa.bounds_joint));
    m.separate_top = grow(latest.irmaa.separate_top);
    m.part_b.copy_from_slice(&grow_all(&latest.irmaa.part_b));
    m.part_d.copy_from_slice(&grow_all(&latest.irmaa.part_d));
    t
}

/// The return of `income` on table `t` (cairn's own or [`projected`]), without the marginal
/// rates [`estimate`] adds: what a projection's years need.
pub fn compute(t: &YearTable, filer: Filer, income: &Income) -> Estimate {
    let schedule = Schedule::of(filer.status);
    let s = schedule as usize;
    // Schedule D: this year's net gains after last year's carryovers.
    let net_short = income.short_term - income.carryover_short;
    let net_long = income.long_term - income.carryover_long;
    let total = net_short + net_long;
    let limit = usd(LOSS_LIMIT[s]);
    let capital = if total >= Decimal::ZERO { total } else { total.max(-limit) };
    let agi = income.ordinary + income.interest + income.ordinary_dividends + capital;
    // Deductions.
    let (standard, senior) = standard_and_senior(t, filer, agi);
    let deductions = standard.max(income.itemized) + senior;
    let before_floor = agi - deductions;
    let taxable = before_floor.max(Decimal::ZERO);
    // The loss deducted lowers tax only as far as taxable income was above zero without it.
    let used = (-capital).min((before_floor - capital).max(Decimal::ZERO));
    let (carry_short, carry_long) = carryovers(net_short, net_long, used);
    // The Qualified Dividends and Capital Gain Tax Worksheet.
    let net_capital_gain =
        if net_long > Decimal::ZERO && total > Decimal::ZERO { net_long.min(total) } else { Decimal::ZERO };
    let preferred = (income.qualified_dividends + net_capital_gain).min(taxable); // lines 4, 10
    let ordinary = (taxable - preferred).max(Decimal::ZERO); // line 5
    let zero_top = usd(t.zero_rate_top[s]).min(taxable); // line 7
    let at_zero = zero_top - zero_top.min(ordinary); // line 9
    let fifteen_top = usd(t.fifteen_rate_top[s]).min(taxable); // line 14
    let room = (fifteen_top - (ordinary + at_zero)).max(Decimal::ZERO); // line 16
    let at_fifteen = (preferred - at_zero).min(room); // line 17
    let at_twenty = preferred - at_zero - at_fifteen; // line 20
    let stacked = at_fifteen * pct(15, 2) + at_twenty * pct(20, 2) + bracket_tax(t, schedule, ordinary);
    let income_tax = cents(stacked.min(bracket_tax(t, schedule, taxable)));
    // Form 8960: interest, dividends and the net gain (a loss only as far as it was deducted).
    let nii = (income.interest + income.ordinary_dividends + capital).max(Decimal::ZERO);
    let over = (agi - usd(NIIT_THRESHOLD[s])).max(Decimal::ZERO);
    let niit = cents(nii.min(over) * NIIT_RATE);
    let (ordinary_bracket, to_next_bracket) = bracket_of(t, schedule, ordinary);
    // This year's MAGI sets the premiums of two years later (42 CFR §418.115(a)).
    let premiums = YEARS.iter().rev().find(|y| y.year <= t.year + 2).unwrap_or(t);
    Estimate {
        year: t.year,
        status: filer.status,
        net_short_term: net_short,
        net_long_term: net_long,
        capital_gain_or_loss: capital,
        carryover_short: carry_short,
        carryover_long: carry_long,
        agi,
        standard_deduction: standard,
        senior_deduction: cents(senior),
        deductions: cents(deductions),
        taxable_income: cents(taxable),
        ordinary_income: cents(ordinary),
        preferential: Preferential { at_zero, at_fifteen, at_twenty },
        income_tax,
        net_investment_income: nii,
        niit,
        total_tax: income_tax + niit,
        ordinary_bracket,
        to_next_bracket,
        marginal_ordinary: Decimal::ZERO,
        marginal_capital_gains: Decimal::ZERO,
        irmaa: irmaa(premiums, filer.status, agi),
        irmaa_tiers_of: premiums.year,
        excludes: vec![
            "unrecaptured section 1250 gain and collectibles (taxed at 25% and 28%)",
            "credits, the alternative minimum tax and self-employment tax",
            "adjustments to income (AGI is total income)",
        ],
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;

    fn filer(status: FilingStatus) -> Filer {
        Filer { status, seniors: 0, blind: 0 }
    }

    fn wages(amount: Decimal) -> Income {
        Income { ordinary: amount, ..Income::default() }
    }

    /// IRS Publication 915's example of a joint return (2024): benefits of 7,500 and 3,500, a
    /// taxable pension of 22,800 and 500 of interest: provisional income 23,300 + 5,500 =
    /// 28,800, not more than the 32,000 base: none taxable. Then the worksheet at its kinks, on
    /// 30,000 of benefits.
    #[test]
    fn social_security_is_taxed_by_publication_915s_worksheet() {
        let joint = FilingStatus::MarriedFilingJointly;
        assert_eq!(taxable_social_security(joint, dec!(11000), dec!(23300)), dec!(0));
        // At the base (17,000 + 15,000 = 32,000): none; at the adjusted base (44,000): half
        // the 12,000 band; 10,000 beyond it: 85% of that more; far beyond: 85% of the benefits.
        assert_eq!(taxable_social_security(joint, dec!(30000), dec!(17000)), dec!(0));
        assert_eq!(taxable_social_security(joint, dec!(30000), dec!(29000)), dec!(6000));
        assert_eq!(taxable_social_security(joint, dec!(30000), dec!(39000)), dec!(14500));
        assert_eq!(taxable_social_security(joint, dec!(30000), dec!(200000)), dec!(25500));
        // Below the adjusted base, half the excess is capped at half the benefits: single,
        // 4,000 of benefits, 32,000 other: 34,000 provisional, 9,000 over, half 4,500 > 2,000.
        assert_eq!(taxable_social_security(FilingStatus::Single, dec!(4000), dec!(32000)), dec!(2000));
        // Single at 20,000 + 10,000 = 30,000: half of 5,000.
        assert_eq!(taxable_social_security(FilingStatus::Single, dec!(20000), dec!(20000)), dec!(2500));
        // Married filing separately (living together): no base, 85% from the first dollar.
        assert_eq!(taxable_social_security(FilingStatus::MarriedFilingSeparately, dec!(20000), dec!(1000)), dec!(9350));
    }

    /// A year without a table is the latest grown by inflation; a year with one is its own.
    #[test]
    fn a_projected_year_grows_the_latest_table() {
        let latest = YEARS[YEARS.len() - 1];
        assert_eq!(projected(latest.year, dec!(0.05)), latest);
        let later = projected(latest.year + 2, dec!(0.02));
        let grown = |n: u32| (Decimal::from(n) * dec!(1.0404)).round().to_u32().unwrap();
        assert_eq!(later.standard_deduction[0], grown(latest.standard_deduction[0]));
        assert_eq!(later.brackets[1][3], grown(latest.brackets[1][3]));
        assert_eq!(later.irmaa.bounds_joint[0], grown(latest.irmaa.bounds_joint[0]));
        assert_eq!(later.year, latest.year + 2);
        // The ordinary tax of a projection agrees with the whole estimate on wages alone.
        let filer = Filer { status: FilingStatus::Single, seniors: 0, blind: 0 };
        let e = estimate(latest.year, filer, &wages(dec!(87654))).unwrap();
        assert_eq!(ordinary_tax(&latest, filer, dec!(87654)), (e.taxable_income, e.income_tax));
    }

    /// 2024, single, $50,000 of wages: taxable 50,000 − 14,600 = 35,400; tax 10% of 11,600
    /// plus 12% of 23,800 = 1,160 + 2,856.
    #[test]
    fn wages_alone_are_taxed_by_the_brackets() {
        let e = estimate(2024, filer(FilingStatus::Single), &wages(dec!(50000))).unwrap();
        assert_eq!((e.taxable_income, e.income_tax, e.niit), (dec!(35400), dec!(4016.00), dec!(0)));
        assert_eq!((e.ordinary_bracket, e.to_next_bracket), (dec!(0.12), Some(dec!(11750))));
        assert_eq!(e.marginal_ordinary, dec!(0.12));
        // 2024's MAGI sets 2026's premiums, by 2026's tiers; 2026's, by the latest cairn has.
        assert_eq!((e.irmaa_tiers_of, e.irmaa.part_b_monthly), (2026, dec!(202.90)));
        let later = estimate(2026, filer(FilingStatus::Single), &wages(dec!(50000))).unwrap();
        assert_eq!(later.irmaa_tiers_of, 2026);
        // Every schedule at the top of each bracket: the tax is the sum of the full brackets.
        for t in &YEARS {
            for s in [Schedule::Single, Schedule::Joint, Schedule::Separate, Schedule::HeadOfHousehold] {
                let starts = t.brackets[s as usize];
                let mut full = Decimal::ZERO;
                let mut low = Decimal::ZERO;
                for (i, start) in starts.iter().enumerate() {
                    full += (usd(*start) - low) * RATES[i];
                    low = usd(*start);
                    assert_eq!(bracket_tax(t, s, low), full, "{} {s:?} at {low}", t.year);
                }
            }
        }
    }

    /// 2024, joint, $100,000 of wages, $10,000 of qualified dividends and $20,000 of long-term
    /// gain (the Qualified Dividends and Capital Gain Tax Worksheet): AGI 130,000, taxable
    /// 100,800, of which 70,800 ordinary (tax 2,320 + 12% of 47,600 = 8,032); of the 30,000
    /// preferential, 94,050 − 70,800 = 23,250 at 0% and the remaining 6,750 at 15% (1,012.50).
    #[test]
    fn dividends_and_gains_stack_on_ordinary_income() {
        let income = Income {
            ordinary: dec!(100000),
            ordinary_dividends: dec!(10000),
            qualified_dividends: dec!(10000),
            long_term: dec!(20000),
            ..Income::default()
        };
        let e = estimate(2024, filer(FilingStatus::MarriedFilingJointly), &income).unwrap();
        assert_eq!((e.agi, e.taxable_income, e.ordinary_income), (dec!(130000), dec!(100800), dec!(70800)));
        assert_eq!(e.preferential, Preferential { at_zero: dec!(23250), at_fifteen: dec!(6750), at_twenty: dec!(0) });
        assert_eq!(e.income_tax, dec!(9044.50));
        // $100 more wages: 12% on it, and $100 of gain pushed from 0% to 15%.
        assert_eq!(e.marginal_ordinary, dec!(0.27));
        assert_eq!(e.marginal_capital_gains, dec!(0.15));
    }

    /// 2026, single, $1,000,000 of long-term gain only: taxable 983,900; 49,450 at 0%,
    /// 545,500 − 49,450 = 496,050 at 15% (74,407.50), 438,400 at 20% (87,680); NIIT 3.8% of
    /// the 800,000 above 200,000 (30,400).
    #[test]
    fn the_twenty_percent_rate_and_the_net_investment_income_tax() {
        let income = Income { long_term: dec!(1000000), ..Income::default() };
        let e = estimate(2026, filer(FilingStatus::Single), &income).unwrap();
        assert_eq!(
            e.preferential,
            Preferential { at_zero: dec!(49450), at_fifteen: dec!(496050), at_twenty: dec!(438400) }
        );
        assert_eq!((e.income_tax, e.niit, e.total_tax), (dec!(162087.50), dec!(30400.00), dec!(192487.50)));
        // 2025, single: wages 180,000, interest 10,000, long-term gain 50,000: AGI 240,000; NIIT
        // on the smaller of the 60,000 of investment income and the 40,000 above 200,000.
        let income =
            Income { ordinary: dec!(180000), interest: dec!(10000), long_term: dec!(50000), ..Income::default() };
        let e = estimate(2025, filer(FilingStatus::Single), &income).unwrap();
        assert_eq!((e.net_investment_income, e.niit), (dec!(60000), dec!(1520.00)));
        // Taxable 224,250: 174,250 ordinary (1,192.50 + 4,386 + 12,072.50 + 17,016) and 50,000 at 15%.
        assert_eq!(e.income_tax, dec!(42167.00));
        assert_eq!(e.total_tax, dec!(43687.00));
    }

    /// The $3,000 limit and the Capital Loss Carryover Worksheet: a 10,000 short-term loss and
    /// a 2,000 long-term gain net to an 8,000 loss; 3,000 is deducted and 5,000 short-term
    /// carries over; the next year deducts 3,000 of it and carries 2,000.
    #[test]
    fn losses_are_limited_and_carried_over_short_and_long_apart() {
        let income =
            Income { ordinary: dec!(60000), short_term: dec!(-10000), long_term: dec!(2000), ..Income::default() };
        let e = estimate(2024, filer(FilingStatus::Single), &income).unwrap();
        assert_eq!((e.capital_gain_or_loss, e.agi, e.taxable_income), (dec!(-3000), dec!(57000), dec!(42400)));
        assert_eq!((e.carryover_short, e.carryover_long), (dec!(5000), dec!(0)));
        assert_eq!(e.income_tax, dec!(4856.00));
        let next = Income { ordinary: dec!(60000), carryover_short: dec!(5000), ..Income::default() };
        let e = estimate(2025, filer(FilingStatus::Single), &next).unwrap();
        assert_eq!((e.capital_gain_or_loss, e.carryover_short), (dec!(-3000), dec!(2000)));
        // Married filing separately: 1,500.
        let e = estimate(2024, filer(FilingStatus::MarriedFilingSeparately), &income).unwrap();
        assert_eq!((e.capital_gain_or_loss, e.carryover_short), (dec!(-1500), dec!(6500)));
        // A loss that lowers no tax (taxable income below zero without it) carries over whole:
        // 10,000 of wages less 14,600 is already −4,600.
        let poor = Income { ordinary: dec!(10000), long_term: dec!(-6000), ..Income::default() };
        let e = estimate(2024, filer(FilingStatus::Single), &poor).unwrap();
        assert_eq!((e.capital_gain_or_loss, e.carryover_short, e.carryover_long), (dec!(-3000), dec!(0), dec!(6000)));
        assert_eq!(e.income_tax, dec!(0));
    }

    /// 2025, joint, both 65 or older, $200,000 of wages: standard 31,500 + 2 × 1,600; the
    /// senior deduction 6,000 each less 6% of the 50,000 above 150,000 = 3,000 each; taxable
    /// 200,000 − 34,700 − 6,000 = 159,300; tax 2,385 + 8,772 + 22% of 62,350.
    #[test]
    fn seniors_get_the_additional_and_the_new_deduction_phased_out() {
        let both = Filer { status: FilingStatus::MarriedFilingJointly, seniors: 2, blind: 0 };
        let e = estimate(2025, both, &wages(dec!(200000))).unwrap();
        assert_eq!((e.standard_deduction, e.senior_deduction), (dec!(34700), dec!(6000)));
        assert_eq!((e.taxable_income, e.income_tax), (dec!(159300), dec!(24874.00)));
        // Gone at 175,000 single (6% of 100,000); not before 2025 nor for a separate return.
        let one = Filer { status: FilingStatus::Single, seniors: 1, blind: 1 };
        assert_eq!(estimate(2025, one, &wages(dec!(175000))).unwrap().senior_deduction, dec!(0));
        assert_eq!(estimate(2025, one, &wages(dec!(174000))).unwrap().senior_deduction, dec!(60));
        let e = estimate(2024, one, &wages(dec!(50000))).unwrap();
        assert_eq!((e.standard_deduction, e.senior_deduction), (dec!(18500), dec!(0)), "14,600 + 2 × 1,950");
        let separate = Filer { status: FilingStatus::MarriedFilingSeparately, seniors: 1, blind: 0 };
        assert_eq!(estimate(2026, separate, &wages(dec!(50000))).unwrap().senior_deduction, dec!(0));
    }

    /// IRMAA's tier edges (2026, premiums for 2028): at most 109,000 single is standard; a cent
    /// more is the first tier; 500,000 exactly is the last; married filing separately jumps
    /// from standard to the fifth tier.
    #[test]
    fn irmaa_tiers_follow_the_regulations_bounds() {
        let t = year(2026).unwrap();
        let at = |status, magi: Decimal| irmaa(t, status, magi);
        let single = FilingStatus::Single;
        assert_eq!(
            at(single, dec!(109000)),
            IrmaaTier {
                tier: 0,
                part_b_monthly: dec!(202.90),
                part_d_monthly: dec!(0),
                to_next_tier: Some(dec!(0.01))
            }
        );
        assert_eq!((at(single, dec!(109000.01)).tier, at(single, dec!(109000.01)).part_b_monthly), (1, dec!(284.10)));
        assert_eq!(at(single, dec!(499999.99)).to_next_tier, Some(dec!(0.01)));
        assert_eq!(
            at(single, dec!(500000)),
            IrmaaTier { tier: 5, part_b_monthly: dec!(689.90), part_d_monthly: dec!(91.00), to_next_tier: None }
        );
        assert_eq!(at(FilingStatus::MarriedFilingJointly, dec!(218000)).tier, 0);
        assert_eq!(at(FilingStatus::MarriedFilingJointly, dec!(300000)).part_d_monthly, dec!(37.50));
        let separate = at(FilingStatus::MarriedFilingSeparately, dec!(109001));
        assert_eq!(
            (separate.tier, separate.part_b_monthly, separate.to_next_tier),
            (4, dec!(649.20), Some(dec!(281999)))
        );
    }

    /// The IRS counts a person 65 on the day before the 65th birthday: born on 1 January 1961,
    /// 65 at the end of 2025; born the next day, not until 2026.
    #[test]
    fn seniors_are_counted_from_birth_dates_the_irs_way() {
        use crate::ledger::types::Member;
        let mut ledger = crate::ledger::Ledger::default();
        let born = |s: &str| Some(s.parse().unwrap());
        for (name, date) in [("Ana", "1961-01-01"), ("Bo", "1961-01-02"), ("Kid", "2010-06-01")] {
            ledger.members.insert(name.into(), Member { name: name.into(), born: born(date), ..Member::default() });
        }
        let joint = FilingStatus::MarriedFilingJointly;
        assert_eq!(ledger_seniors(&ledger, joint, 2025), 1);
        assert_eq!(ledger_seniors(&ledger, joint, 2026), 2);
        assert_eq!(ledger_seniors(&ledger, FilingStatus::Single, 2026), 1, "one taxpayer on a single return");
    }

    #[test]
    fn bad_input_names_its_field() {
        let field = |r: Result<Estimate, DomainError>| match r {
            Err(DomainError::Rejected { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(field(estimate(2019, filer(FilingStatus::Single), &Income::default())), "year");
        let too_many = Filer { status: FilingStatus::Single, seniors: 2, blind: 0 };
        assert_eq!(field(estimate(2025, too_many, &Income::default())), "seniors");
        let qualified = Income { qualified_dividends: dec!(10), ..Income::default() };
        assert_eq!(field(estimate(2025, filer(FilingStatus::Single), &qualified)), "qualified_dividends");
    }
}
