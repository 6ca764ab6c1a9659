//! Contributions against the federal limits of [`crate::limits`], per household member and
//! tax year. Checked in trade-date order, so the first contribution over a limit is the one
//! refused, with the limit, what was already contributed and what remained.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::lots::EngineError;
use super::types::{AccountInfo, AccountType, Action, HsaCoverage, Member, Trade};
use crate::limits::{for_year, YearLimits};

/// The owner of an account with no owner recorded.
pub const PRIMARY: &str = "primary";

/// The tally holder of family-coverage HSA money, which spouses share.
pub const FAMILY_HSA: &str = "family";

/// The shared family HSA limit: the family amount plus the age-55 catch-up of each member
/// with family coverage.
fn family_hsa_limit(l: &YearLimits, members: &BTreeMap<String, Member>, year: i32) -> Decimal {
    let catch_ups = members
        .values()
        .filter(|m| m.hsa_coverage == HsaCoverage::Family && age_at_year_end(Some(m), year).is_some_and(|a| a >= 55))
        .count();
    l.hsa_family + l.hsa_catch_up_55 * Decimal::from(catch_ups)
}

/// Which limit a contribution counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitKind {
    /// 401(k)/403(b) elective deferrals (pre-tax and Roth), with catch-ups.
    ElectiveDeferral,
    /// Employee deferrals (not catch-ups) plus employer money in 401(k), 403(b), SEP and SIMPLE plans.
    AnnualAdditions,
    SimpleDeferral,
    /// Traditional and Roth IRA together.
    Ira,
    Hsa,
    /// 529 plans have no federal annual limit; tracked for the report.
    Plan529,
}

impl LimitKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ElectiveDeferral => "elective_deferral",
            Self::AnnualAdditions => "annual_additions",
            Self::SimpleDeferral => "simple_deferral",
            Self::Ira => "ira",
            Self::Hsa => "hsa",
            Self::Plan529 => "529",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Self::ElectiveDeferral => "401(k)/403(b) elective deferral",
            Self::AnnualAdditions => "annual additions (415(c))",
            Self::SimpleDeferral => "SIMPLE IRA deferral",
            Self::Ira => "IRA",
            Self::Hsa => "HSA",
            Self::Plan529 => "529",
        }
    }
}

/// One member's contributions of one kind in one tax year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    pub member: String,
    pub tax_year: i32,
    pub kind: LimitKind,
    /// `None` where no federal limit applies or the table has no such year.
    pub limit: Option<Decimal>,
    pub contributed: Decimal,
}

impl Tally {
    pub fn remaining(&self) -> Option<Decimal> {
        self.limit.map(|l| l - self.contributed)
    }
}

/// The tax year a contribution is for: the year the description names ("tax year 2025",
/// "tax year: 2025"), or the trade date's. A description that says "tax year" without a
/// four-digit year is an error rather than a silent default.
pub fn tax_year(t: &Trade) -> Result<i32, String> {
    let Some(d) = t.description.as_deref() else { return Ok(t.trade_date.year()) };
    let lower = d.to_ascii_lowercase();
    let Some(at) = lower.find("tax year") else { return Ok(t.trade_date.year()) };
    let rest = lower[at + 8..].trim_start_matches(|c: char| !c.is_ascii_alphanumeric());
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    match digits.parse::<i32>() {
        Ok(year) if digits.len() == 4 => Ok(year),
        _ => Err(format!("{d:?} says \"tax year\" but names no four-digit year")),
    }
}

fn is_employer(t: &Trade) -> bool {
    t.description.as_deref().is_some_and(|d| d.to_ascii_lowercase().contains("employer"))
}

fn age_at_year_end(member: Option<&Member>, year: i32) -> Option<i32> {
    let born = member?.born?;
    Some(year - born.year())
}

/// The limit of `kind` for a member of `age` (at 31 December) in a year.
fn limit_of(kind: LimitKind, l: &YearLimits, age: Option<i32>, coverage: HsaCoverage) -> Option<Decimal> {
    let at_least = |n: i32| age.is_some_and(|a| a >= n);
    Some(match kind {
        LimitKind::ElectiveDeferral => {
            let catch_up = match (age, l.catch_up_60_63) {
                (Some(60..=63), Some(c)) => c,
                _ if at_least(50) => l.catch_up_50,
                _ => Decimal::ZERO,
            };
            l.elective_deferral + catch_up
        }
        LimitKind::AnnualAdditions => l.annual_additions,
        LimitKind::SimpleDeferral => {
            let catch_up = match (age, l.simple_catch_up_60_63) {
                (Some(60..=63), Some(c)) => c,
                _ if at_least(50) => l.simple_catch_up_50,
                _ => Decimal::ZERO,
            };
            l.simple_deferral + catch_up
        }
        LimitKind::Ira => l.ira + if at_least(50) { l.ira_catch_up_50 } else { Decimal::ZERO },
        LimitKind::Hsa => {
            let base = if coverage == HsaCoverage::Family { l.hsa_family } else { l.hsa_self };
            base + if at_least(55) { l.hsa_catch_up_55 } else { Decimal::ZERO }
        }
        LimitKind::Plan529 => return None,
    })
}

/// The limits a contribution to an account of `account_type` counts against.
fn kinds(account_type: AccountType, employer: bool) -> &'static [LimitKind] {
    use AccountType as A;
    use LimitKind as K;
    match (account_type, employer) {
        (A::Traditional401k | A::Roth401k | A::Traditional403b, false) => &[K::ElectiveDeferral, K::AnnualAdditions],
        (A::Traditional401k | A::Roth401k | A::Traditional403b | A::SepIra, _) => &[K::AnnualAdditions],
        // SIMPLE deferrals have their own limit and also count toward the 402(g) limit
        // across all of a person's plans.
        (A::SimpleIra, false) => &[K::SimpleDeferral, K::ElectiveDeferral],
        (A::SimpleIra, true) => &[K::AnnualAdditions],
        (A::TraditionalIra | A::RothIra, _) => &[K::Ira],
        (A::Hsa, _) => &[K::Hsa],
        (A::Plan529, _) => &[K::Plan529],
        (A::Taxable, _) => &[],
    }
}

/// Whether a contribution made on `date` may still count for `year`: IRAs and HSAs until the
/// return's due date (15 April of the next year); SEP and other employer money until the
/// extended due date (15 October); employee payroll deferrals only in their own year.
fn in_time(account_type: AccountType, employer: bool, year: i32, date: NaiveDate) -> Result<(), String> {
    if year > date.year() {
        return Err(format!("tax year {year} is after the contribution date {date}"));
    }
    if year == date.year() {
        return Ok(());
    }
    let deadline = match account_type {
        AccountType::TraditionalIra | AccountType::RothIra | AccountType::Hsa => {
            NaiveDate::from_ymd_opt(year + 1, 4, 15)
        }
        AccountType::SepIra => NaiveDate::from_ymd_opt(year + 1, 10, 15),
        _ if employer => NaiveDate::from_ymd_opt(year + 1, 10, 15),
        AccountType::Plan529 | AccountType::Taxable => return Ok(()),
        _ => return Err(format!("payroll deferrals count for the year they are made, not tax year {year}")),
    };
    match deadline {
        Some(d) if date <= d => Ok(()),
        Some(d) => Err(format!("contributions for tax year {year} closed on {d}")),
        None => Err(format!("tax year {year} is out of range")),
    }
}

fn money(d: Decimal) -> String {
    format!("${:.2}", d.round_dp(2))
}

/// Checks every contribution in trade-date order; returns each member's tallies.
pub fn tally(
    accounts: &BTreeMap<String, AccountInfo>,
    members: &BTreeMap<String, Member>,
    trades: &[Trade],
) -> Result<Vec<Tally>, EngineError> {
    let mut order: Vec<&Trade> = trades.iter().filter(|t| t.action == Action::Contribution).collect();
    order.sort_by_key(|t| (t.trade_date, t.seq()));
    let mut tallies: BTreeMap<(String, i32, LimitKind), Tally> = BTreeMap::new();
    // Elective deferrals so far per member and year, to keep catch-ups out of annual additions.
    let mut deferred: BTreeMap<(String, i32), Decimal> = BTreeMap::new();
    for t in order {
        let fail = |problem: String| EngineError {
            trade_id: t.trade_id.clone(),
            source_line: t.source_line,
            field: "quantity",
            problem,
        };
        let account = accounts.get(&t.account).ok_or_else(|| fail(format!("no account labelled {:?}", t.account)))?;
        let employer = is_employer(t);
        let year = tax_year(t).map_err(|p| EngineError { field: "description", ..fail(p) })?;
        in_time(account.account_type, employer, year, t.trade_date)
            .map_err(|p| EngineError { field: "description", ..fail(p) })?;
        let owner = account.owner.clone().unwrap_or_else(|| PRIMARY.to_owned());
        let member = members.get(&owner);
        let age = age_at_year_end(member, year);
        let coverage = member.map(|m| m.hsa_coverage).unwrap_or_default();
        let amount = t.quantity * t.price;
        if account.account_type == AccountType::Taxable {
            return Err(fail(format!(
                "account {} is taxable; contributions go to retirement, HSA or 529 accounts",
                t.account
            )));
        }
        let limits = for_year(year);
        for &kind in kinds(account.account_type, employer) {
            // Family HSA coverage is one limit for the couple (IRS Publication 969); each
            // spouse's age-55 catch-up is added to it.
            let holder = if kind == LimitKind::Hsa && coverage == HsaCoverage::Family {
                FAMILY_HSA.to_owned()
            } else {
                owner.clone()
            };
            let counted = if kind == LimitKind::AnnualAdditions && !employer {
                // Only the part of a deferral within the base limit is an annual addition.
                let base = limits.map_or(amount, |l| l.elective_deferral);
                let before = deferred.get(&(owner.clone(), year)).copied().unwrap_or_default();
                (base - before).max(Decimal::ZERO).min(amount)
            } else {
                amount
            };
            let limit = match (holder.as_str(), limits) {
                (FAMILY_HSA, Some(l)) => Some(family_hsa_limit(l, members, year)),
                (_, l) => l.and_then(|l| limit_of(kind, l, age, coverage)),
            };
            let entry = tallies.entry((holder.clone(), year, kind)).or_insert_with(|| Tally {
                member: holder.clone(),
                tax_year: year,
                kind,
                limit,
                contributed: Decimal::ZERO,
            });
            if let Some(limit) = limit {
                if entry.contributed + counted > limit {
                    let age_note = match age {
                        Some(a) => format!("age {a} at year end"),
                        None => format!("no birth date recorded for {owner}, so no catch-up"),
                    };
                    let whose = if holder == FAMILY_HSA { "the family".to_owned() } else { format!("{owner}'s") };
                    return Err(fail(format!(
                        "contribution of {} to {} exceeds {whose} {year} {} limit of {} ({age_note}): {} already contributed, {} remains",
                        money(amount),
                        t.account,
                        kind.describe(),
                        money(limit),
                        money(entry.contributed),
                        money(limit - entry.contributed),
                    )));
                }
            }
            entry.contributed += counted;
        }
        if !employer && kinds(account.account_type, false).contains(&LimitKind::ElectiveDeferral) {
            *deferred.entry((owner, year)).or_default() += amount;
        }
    }
    Ok(tallies.into_values().collect())
}
