//! Charitable giving's income tax deduction: the limits on it as a share of AGI, the five-year
//! carryover, and the 0.5% floor, for a plan of gifts over years (IRC §170).
//!
//! A contribution falls in one of five categories by who receives it and what is given
//! ([`Category`]; IRS Publication 526's "Applying the deduction limits"):
//!
//! - cash to a public charity, a donor-advised fund or another "50% limit organization": at most
//!   60% of AGI (§170(b)(1)(G), made permanent by P.L. 119-21), taken first;
//! - non-cash property other than capital gain property to such an organization: at most 50%,
//!   less the cash allowed (§170(b)(1)(A), (G)(iii));
//! - capital gain property to such an organization, deducted at fair market value: at most 30%,
//!   and no more than the 50% limit leaves after the cash and other property (§170(b)(1)(C));
//! - anything but capital gain property to a private non-operating foundation: at most 30%, and
//!   no more than 50% of AGI less the gifts to public charities (§170(b)(1)(B));
//! - capital gain property to such a foundation: at most 20% (§170(b)(1)(D)), and no more than
//!   the 30% limits and the 50% limit leave; deducted at fair market value only for publicly
//!   traded stock (§170(e)(5)), else at basis (§170(e)(1)(B)(ii)).
//!
//! What a year's limit does not allow is carried to the next five years in its category
//! (§170(d)(1)); each year takes its own gifts first, then the carryovers, oldest first
//! (Treas. Reg. §1.170A-10(b)(2)). From 2026 an itemizer's charitable deduction is reduced by
//! 0.5% of AGI (§170(b)(1)(I), P.L. 119-21 §70425); cairn does not carry that part forward.
//! A private foundation pays an excise tax of 1.39% of its net investment income (§4940(a)) and
//! must pay out 5% of its assets a year (§4942(e)).

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::estate::EstateError;

/// The limits, as fractions of AGI.
pub const CASH_PUBLIC: Decimal = Decimal::from_parts(60, 0, 0, false, 2);
pub const FIFTY: Decimal = Decimal::from_parts(50, 0, 0, false, 2);
pub const THIRTY: Decimal = Decimal::from_parts(30, 0, 0, false, 2);
pub const TWENTY: Decimal = Decimal::from_parts(20, 0, 0, false, 2);
/// Years a disallowed contribution is carried (§170(d)(1)(A)).
pub const CARRY_YEARS: i32 = 5;
/// The floor on an itemizer's charitable deduction and its first year.
pub const FLOOR: Decimal = Decimal::from_parts(5, 0, 0, false, 3);
pub const FLOOR_FROM: i32 = 2026;
/// A private foundation's excise tax on net investment income (§4940(a), from 2020) and its
/// minimum payout of assets (§4942(e)).
pub const FOUNDATION_EXCISE: Decimal = Decimal::from_parts(139, 0, 0, false, 4);
pub const FOUNDATION_PAYOUT: Decimal = Decimal::from_parts(5, 0, 0, false, 2);

/// The five categories, in the order the limits apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Non-cash, not capital gain property, to a public charity (50%).
    PublicProperty,
    /// Capital gain property at fair market value to a public charity (30%).
    PublicCapitalGain,
    /// Cash to a public charity or donor-advised fund (60%).
    PublicCash,
    /// Cash or ordinary property to a private foundation (30%).
    Foundation,
    /// Capital gain property to a private foundation (20%).
    FoundationCapitalGain,
}

impl Category {
    pub const ALL: [Self; 5] = [
        Self::PublicProperty,
        Self::PublicCapitalGain,
        Self::PublicCash,
        Self::Foundation,
        Self::FoundationCapitalGain,
    ];
}

/// What a year's limits allow of each category's contributions (carryovers included).
pub fn allowed(agi: Decimal, c: &BTreeMap<Category, Decimal>) -> BTreeMap<Category, Decimal> {
    let agi = agi.max(Decimal::ZERO);
    let get = |k| c.get(&k).copied().unwrap_or_default();
    let (fifty, thirty) = (agi * FIFTY, agi * THIRTY);
    // Cash first, to 60%; the 50% limit of the other gifts to public charities is what the
    // cash leaves of it (§170(b)(1)(G)(iii)), and capital gain property what both leave, at
    // most 30%.
    let cash = get(Category::PublicCash).min(agi * CASH_PUBLIC);
    let property = get(Category::PublicProperty).min((fifty - cash).max(Decimal::ZERO));
    let capital_gain = get(Category::PublicCapitalGain).min(thirty).min((fifty - cash - property).max(Decimal::ZERO));
    // The private foundation limits count what was given to public charities, allowed or not.
    let public = get(Category::PublicProperty) + get(Category::PublicCapitalGain) + get(Category::PublicCash);
    let foundation = get(Category::Foundation).min(thirty).min((fifty - public).max(Decimal::ZERO));
    let foundation_gain = get(Category::FoundationCapitalGain)
        .min(agi * TWENTY)
        .min(thirty - foundation)
        .min(thirty - capital_gain)
        .min((fifty - property - capital_gain - cash - foundation).max(Decimal::ZERO))
        .max(Decimal::ZERO);
    BTreeMap::from([
        (Category::PublicProperty, property),
        (Category::PublicCapitalGain, capital_gain),
        (Category::PublicCash, cash),
        (Category::Foundation, foundation),
        (Category::FoundationCapitalGain, foundation_gain),
    ])
}

/// A contribution: its year, category and deductible amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Contribution {
    pub year: i32,
    pub category: Category,
    pub amount: Decimal,
}

/// A year's deduction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct DeductionYear {
    pub year: i32,
    pub agi: Decimal,
    pub contributions: Decimal,
    /// Carryovers coming in, used, and lapsed (older than five years) at the year's end.
    pub carried_in: Decimal,
    pub carryover_used: Decimal,
    /// Allowed by the limits, the 0.5% floor taken off, and the deduction.
    pub allowed: Decimal,
    pub floor: Decimal,
    pub deduction: Decimal,
    pub carried_out: Decimal,
    pub lapsed: Decimal,
}

/// The deduction of every year of `agi` (by year) for `gifts`.
pub fn deductions(gifts: &[Contribution], agi: &BTreeMap<i32, Decimal>) -> Result<Vec<DeductionYear>, EstateError> {
    if let Some(g) = gifts.iter().find(|g| g.amount < Decimal::ZERO) {
        return Err(EstateError { field: "amount", problem: format!("{} in {} is negative", g.amount, g.year) });
    }
    if let Some(g) = gifts.iter().find(|g| !agi.contains_key(&g.year)) {
        return Err(EstateError { field: "year", problem: format!("a gift in {} but no AGI for that year", g.year) });
    }
    // Carryovers: (origin year, category, amount left).
    let mut carried: Vec<(i32, Category, Decimal)> = Vec::new();
    let mut years = Vec::new();
    for (&year, &income) in agi {
        // Carryovers older than five years lapse before the year uses any (a gap in the years
        // given does not keep them).
        let stale: Decimal = carried.iter().filter(|c| c.0 < year - CARRY_YEARS).map(|c| c.2).sum();
        carried.retain(|c| c.0 >= year - CARRY_YEARS);
        let current: Vec<&Contribution> = gifts.iter().filter(|g| g.year == year).collect();
        let mut totals: BTreeMap<Category, Decimal> = BTreeMap::new();
        for g in &current {
            *totals.entry(g.category).or_default() += g.amount;
        }
        let carried_in: Decimal = carried.iter().map(|c| c.2).sum();
        for (_, k, a) in &carried {
            *totals.entry(*k).or_default() += *a;
        }
        let allow = allowed(income, &totals);
        let mut used_carry = Decimal::ZERO;
        for k in Category::ALL {
            let own: Decimal = current.iter().filter(|g| g.category == k).map(|g| g.amount).sum();
            let mut left = allow.get(&k).copied().unwrap_or_default();
            let from_own = own.min(left);
            left -= from_own;
            for c in carried.iter_mut().filter(|c| c.1 == k) {
                let take = c.2.min(left);
                c.2 -= take;
                left -= take;
                used_carry += take;
            }
            if own > from_own {
                carried.push((year, k, own - from_own));
            }
        }
        let lapsed: Decimal =
            stale + carried.iter().filter(|c| c.0 <= year - CARRY_YEARS).map(|c| c.2).sum::<Decimal>();
        carried.retain(|c| c.0 > year - CARRY_YEARS && !c.2.is_zero());
        let total_allowed: Decimal = allow.values().sum();
        let floor =
            if year >= FLOOR_FROM { (income.max(Decimal::ZERO) * FLOOR).min(total_allowed) } else { Decimal::ZERO };
        years.push(DeductionYear {
            year,
            agi: income,
            contributions: current.iter().map(|g| g.amount).sum(),
            carried_in,
            carryover_used: used_carry,
            allowed: total_allowed.round_dp(2),
            floor: floor.round_dp(2),
            deduction: (total_allowed - floor).round_dp(2),
            carried_out: carried.iter().map(|c| c.2).sum::<Decimal>().round_dp(2),
            lapsed: lapsed.round_dp(2),
        });
    }
    Ok(years)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn of(pairs: &[(Category, Decimal)]) -> BTreeMap<Category, Decimal> {
        pairs.iter().copied().collect()
    }

    #[test]
    fn each_category_alone_meets_its_limit() {
        let agi = dec!(100000);
        for (k, limit) in [
            (Category::PublicCash, dec!(60000)),
            (Category::PublicProperty, dec!(50000)),
            (Category::PublicCapitalGain, dec!(30000)),
            (Category::Foundation, dec!(30000)),
            (Category::FoundationCapitalGain, dec!(20000)),
        ] {
            assert_eq!(allowed(agi, &of(&[(k, dec!(1000000))]))[&k], limit, "{k:?}");
            assert_eq!(allowed(agi, &of(&[(k, dec!(1000))]))[&k], dec!(1000), "{k:?} under its limit");
        }
    }

    #[test]
    fn publication_526s_worked_example() {
        // Pub. 526's filled-in Worksheet 2: AGI $50,000; $2,000 cash to a church, $28,000 of
        // capital gain property to it at fair market value, $5,000 cash to a private
        // foundation. The church cash and $15,000 of the property (30%) are allowed; the
        // foundation's 30% limit is what 50% leaves after $30,000 to the church: nothing.
        let a = allowed(
            dec!(50000),
            &of(&[
                (Category::PublicCash, dec!(2000)),
                (Category::PublicCapitalGain, dec!(28000)),
                (Category::Foundation, dec!(5000)),
            ]),
        );
        assert_eq!(a[&Category::PublicCash], dec!(2000));
        assert_eq!(a[&Category::PublicCapitalGain], dec!(15000));
        assert_eq!(a[&Category::Foundation], Decimal::ZERO);
    }

    #[test]
    fn cash_comes_first_and_shrinks_the_fifty_percent_limit() {
        // AGI $100,000: $30,000 cash and $30,000 of stock to a public charity. The cash is
        // allowed; the stock only to the $20,000 the 50% limit leaves.
        let a = allowed(
            dec!(100000),
            &of(&[(Category::PublicCash, dec!(30000)), (Category::PublicCapitalGain, dec!(30000))]),
        );
        assert_eq!((a[&Category::PublicCash], a[&Category::PublicCapitalGain]), (dec!(30000), dec!(20000)));
        // $70,000 cash: 60% of it, and no room for stock.
        let a = allowed(
            dec!(100000),
            &of(&[(Category::PublicCash, dec!(70000)), (Category::PublicCapitalGain, dec!(30000))]),
        );
        assert_eq!((a[&Category::PublicCash], a[&Category::PublicCapitalGain]), (dec!(60000), Decimal::ZERO));
    }

    #[test]
    fn carryovers_last_five_years_and_the_floor() {
        // $500,000 of appreciated stock to a DAF in 2024 on $200,000 AGI: $60,000 a year (30%)
        // in 2024 and five years after; $140,000 lapses after 2029.
        let gifts = [Contribution { year: 2024, category: Category::PublicCapitalGain, amount: dec!(500000) }];
        let agi: BTreeMap<i32, Decimal> = (2024..=2030).map(|y| (y, dec!(200000))).collect();
        let years = deductions(&gifts, &agi).unwrap();
        let allowed: Vec<Decimal> = years.iter().map(|y| y.allowed).collect();
        assert_eq!(allowed, [dec!(60000), dec!(60000), dec!(60000), dec!(60000), dec!(60000), dec!(60000), dec!(0)]);
        assert_eq!(years[5].lapsed, dec!(140000));
        assert_eq!(years[5].carried_out, Decimal::ZERO);
        // 2024 and 2025 have no floor; from 2026, 0.5% of $200,000 comes off.
        assert_eq!((years[1].floor, years[2].floor), (Decimal::ZERO, dec!(1000)));
        assert_eq!(years[2].deduction, dec!(59000));
        // A year's own gifts come before the carryover.
        let both = [gifts[0], Contribution { year: 2025, category: Category::PublicCapitalGain, amount: dec!(10000) }];
        let years = deductions(&both, &agi).unwrap();
        assert_eq!((years[1].carryover_used, years[1].allowed), (dec!(50000), dec!(60000)));
        let bad = [Contribution { year: 2031, category: Category::PublicCash, amount: dec!(1) }];
        assert_eq!(deductions(&bad, &agi).unwrap_err().field, "year");
    }
}
