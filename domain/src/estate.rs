//! The federal estate tax, as Form 706's Part 2 computes it, in `Decimal` to the cent.
//!
//! - The rate schedule is IRC §2001(c) (18% on the first $10,000 rising to 40% over
//!   $1,000,000, unchanged since the American Taxpayer Relief Act of 2012): [`RATE_SCHEDULE`].
//! - The tax (§2001(b)): the tentative tax on the taxable estate plus the adjusted taxable
//!   gifts (post-1976 taxable gifts not included in the gross estate), less the gift tax paid
//!   or payable on those gifts, less the applicable credit (§2010(a)), which is the tentative
//!   tax on the applicable exclusion amount: the year's basic exclusion amount (§2010(c)(3)) plus
//!   the deceased spousal unused exclusion (DSUE, §2010(c)(4)), never more than the tax before it.
//! - Deductions: debts and funeral and administration expenses (§2053), charitable bequests
//!   (§2055), and bequests to a surviving spouse (§2056): unlimited for a citizen spouse; for a
//!   spouse who is not a citizen only through a qualified domestic trust (§2056(d), §2056A).
//! - Portability (§2010(c)(4)(B), Treas. Reg. §20.2010-2(c)): the DSUE the survivor receives is
//!   the lesser of the basic exclusion amount of the year of the first death and the first
//!   decedent's applicable exclusion amount less the amount the tentative tax was computed on
//!   (Form 706 line 5); it comes only from the last deceased spouse and is not indexed. The GST
//!   exemption is not portable.
//!
//! The year's amounts (basic exclusion, gift tax annual exclusion, the annual exclusion for
//! gifts to a spouse who is not a citizen) live in [`YEARS`], one row per year with its source.

use rust_decimal::Decimal;
use serde::Serialize;

use crate::tax::{pct, usd};

/// One year's transfer-tax amounts, with where they come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Year {
    pub year: i32,
    /// §2010(c)(3): the basic exclusion amount of a decedent dying (or a gift made) in the year;
    /// also the GST exemption (§2631(c)).
    pub basic_exclusion: Decimal,
    /// §2503(b): gifts of present interests excluded per donee.
    pub annual_exclusion: Decimal,
    /// §2523(i)(2): gifts to a spouse who is not a U.S. citizen excluded per year.
    pub noncitizen_spouse_exclusion: Decimal,
    pub source: &'static str,
}

/// The amounts by year. 2026 follows Public Law 119-21 (the 2025 reconciliation act, §70106),
/// which set the basic exclusion amount at $15,000,000 for 2026, indexed after.
pub const YEARS: &[Year] = &[
    Year {
        year: 2024,
        basic_exclusion: usd(13_610_000),
        annual_exclusion: usd(18_000),
        noncitizen_spouse_exclusion: usd(185_000),
        source: "Rev. Proc. 2023-34 §3.41, §3.43",
    },
    Year {
        year: 2025,
        basic_exclusion: usd(13_990_000),
        annual_exclusion: usd(19_000),
        noncitizen_spouse_exclusion: usd(190_000),
        source: "Rev. Proc. 2024-40 §3.41, §3.43",
    },
    Year {
        year: 2026,
        basic_exclusion: usd(15_000_000),
        annual_exclusion: usd(19_000),
        noncitizen_spouse_exclusion: usd(194_000),
        source: "Rev. Proc. 2025-32; IRC §2010(c)(3) as amended by P.L. 119-21 §70106",
    },
];

/// The amounts of `year`, or an error naming the years known.
pub fn year(year: i32) -> Result<&'static Year, String> {
    YEARS.iter().find(|y| y.year == year).ok_or_else(|| {
        let known: Vec<String> = YEARS.iter().map(|y| y.year.to_string()).collect();
        format!("{year}: cairn has the transfer-tax amounts of {} only", known.join(", "))
    })
}

/// IRC §2001(c): over this amount, the tax is this base plus this rate on the excess.
pub const RATE_SCHEDULE: [(Decimal, Decimal, Decimal); 12] = [
    (usd(0), usd(0), pct(18, 2)),
    (usd(10_000), usd(1_800), pct(20, 2)),
    (usd(20_000), usd(3_800), pct(22, 2)),
    (usd(40_000), usd(8_200), pct(24, 2)),
    (usd(60_000), usd(13_000), pct(26, 2)),
    (usd(80_000), usd(18_200), pct(28, 2)),
    (usd(100_000), usd(23_800), pct(30, 2)),
    (usd(150_000), usd(38_800), pct(32, 2)),
    (usd(250_000), usd(70_800), pct(34, 2)),
    (usd(500_000), usd(155_800), pct(37, 2)),
    (usd(750_000), usd(248_300), pct(39, 2)),
    (usd(1_000_000), usd(345_800), pct(40, 2)),
];

/// The tentative tax of §2001(c) on `amount` (none on nothing or less), to the cent.
pub fn tentative_tax(amount: Decimal) -> Decimal {
    if amount <= Decimal::ZERO {
        return Decimal::ZERO;
    }
    let (over, base, rate) =
        RATE_SCHEDULE.iter().rev().find(|(over, _, _)| amount > *over).copied().unwrap_or(RATE_SCHEDULE[0]);
    (base + (amount - over) * rate).round_dp(2)
}

/// The §2001(c) rate on the next dollar above `amount`.
pub fn marginal_rate(amount: Decimal) -> Decimal {
    RATE_SCHEDULE.iter().rev().find(|(over, _, _)| amount >= *over).map_or(RATE_SCHEDULE[0].2, |r| r.2)
}

/// What a decedent's estate holds and owes, as the planner gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Estate {
    /// The year of death: its basic exclusion amount applies.
    pub year: i32,
    /// The gross estate (§2031-§2046): everything included at its value at death.
    pub gross_estate: Decimal,
    /// Debts and mortgages (§2053(a)(3)-(4)).
    pub debts: Decimal,
    /// Funeral and administration expenses (§2053(a)(1)-(2)).
    pub expenses: Decimal,
    /// Bequests to charity (§2055).
    pub charitable: Decimal,
    /// Bequests to the surviving spouse (§2056); none without one.
    pub to_spouse: Decimal,
    /// Whether the surviving spouse is a U.S. citizen, and if not whether the bequest passes
    /// through a qualified domestic trust.
    pub spouse_citizen: bool,
    pub qdot: bool,
    /// Taxable gifts made after 1976 not included in the gross estate (§2001(b)(1)(B)).
    pub adjusted_taxable_gifts: Decimal,
    /// The gift tax paid or payable on those gifts (§2001(b)(2)).
    pub gift_tax_paid: Decimal,
    /// The DSUE received from the last deceased spouse (§2010(c)(4)).
    pub dsue: Decimal,
    /// Estate, inheritance and similar taxes paid to a state (§2058's deduction).
    pub state_death_tax: Decimal,
}

/// Form 706 Part 2's lines for an [`Estate`], and what follows from them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct EstateTax {
    pub year: i32,
    /// Line 1.
    pub gross_estate: Decimal,
    /// Line 2: debts, expenses, the marital, charitable and state death tax deductions allowed.
    pub deductions: Decimal,
    pub marital_deduction: Decimal,
    pub charitable_deduction: Decimal,
    /// The state death taxes deducted (§2058).
    pub state_death_tax_deduction: Decimal,
    /// Why a bequest to the spouse is not deducted, when it is not.
    pub marital_note: Option<String>,
    /// Line 3: the taxable estate.
    pub taxable_estate: Decimal,
    /// Line 4.
    pub adjusted_taxable_gifts: Decimal,
    /// Line 5: what the tentative tax is computed on.
    pub tax_base: Decimal,
    /// Line 6.
    pub tentative_tax: Decimal,
    /// Line 7.
    pub gift_tax_paid: Decimal,
    /// Line 8.
    pub gross_estate_tax: Decimal,
    /// Lines 9a, 9b, 9d: the basic exclusion, the DSUE and their sum.
    pub basic_exclusion: Decimal,
    pub dsue: Decimal,
    pub applicable_exclusion: Decimal,
    /// Line 9e: the tentative tax on the applicable exclusion amount.
    pub applicable_credit: Decimal,
    /// Line 11: the credit allowed (no more than line 8).
    pub credit_allowed: Decimal,
    /// Line 12: the net estate tax.
    pub net_estate_tax: Decimal,
    /// The rate on the next dollar of taxable estate, and the tax over the taxable estate.
    pub marginal_rate: Decimal,
    pub effective_rate: Decimal,
    /// The exclusion left over, which a surviving spouse may take by electing portability.
    pub dsue_for_survivor: Decimal,
    pub source: &'static str,
}

/// Why an estate cannot be computed: the field and the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct EstateError {
    pub field: &'static str,
    pub problem: String,
}

/// The first of `amounts` that is negative, as an error naming its field.
pub(crate) fn none_negative(amounts: &[(&'static str, Decimal)]) -> Result<(), EstateError> {
    match amounts.iter().find(|(_, v)| *v < Decimal::ZERO) {
        Some((field, v)) => Err(EstateError { field, problem: format!("{v} is negative") }),
        None => Ok(()),
    }
}

/// The federal estate tax of `e`; an error names a field that is negative or a year cairn has
/// no amounts for.
pub fn estate_tax(e: &Estate) -> Result<EstateTax, EstateError> {
    let bad = |field: &'static str, problem: String| EstateError { field, problem };
    let y = year(e.year).map_err(|p| bad("year", p))?;
    none_negative(&[
        ("gross_estate", e.gross_estate),
        ("debts", e.debts),
        ("expenses", e.expenses),
        ("charitable", e.charitable),
        ("to_spouse", e.to_spouse),
        ("adjusted_taxable_gifts", e.adjusted_taxable_gifts),
        ("gift_tax_paid", e.gift_tax_paid),
        ("dsue", e.dsue),
        ("state_death_tax", e.state_death_tax),
    ])?;
    // The DSUE can be no more than a basic exclusion amount (§2010(c)(4)(A)).
    if let Some(most) = YEARS.iter().map(|y| y.basic_exclusion).max().filter(|m| e.dsue > *m) {
        return Err(bad("dsue", format!("{} is more than any basic exclusion amount ({most})", e.dsue)));
    }
    let after_debts = (e.gross_estate - e.debts - e.expenses).max(Decimal::ZERO);
    // Deductions for bequests never exceed what is left to give.
    let charitable = e.charitable.min(after_debts);
    let (marital, marital_note) = if e.to_spouse.is_zero() || e.spouse_citizen || e.qdot {
        (e.to_spouse.min(after_debts - charitable), None)
    } else {
        (
            Decimal::ZERO,
            Some(
                "no marital deduction for a bequest to a spouse who is not a U.S. citizen outside a qualified \
                 domestic trust (IRC §2056(d))"
                    .to_owned(),
            ),
        )
    };
    let state_death_tax = e.state_death_tax.min((after_debts - charitable - marital).max(Decimal::ZERO));
    let deductions = (e.debts + e.expenses).min(e.gross_estate) + charitable + marital + state_death_tax;
    let taxable_estate = (e.gross_estate - deductions).max(Decimal::ZERO);
    let tax_base = taxable_estate + e.adjusted_taxable_gifts;
    let tentative = tentative_tax(tax_base);
    let gross_estate_tax = (tentative - e.gift_tax_paid).max(Decimal::ZERO);
    let applicable_exclusion = y.basic_exclusion + e.dsue;
    let applicable_credit = tentative_tax(applicable_exclusion);
    let credit_allowed = applicable_credit.min(gross_estate_tax);
    let net = gross_estate_tax - credit_allowed;
    let effective_rate = match taxable_estate.is_zero() {
        true => Decimal::ZERO,
        false => (net / taxable_estate).round_dp(4),
    };
    Ok(EstateTax {
        year: e.year,
        gross_estate: e.gross_estate,
        deductions,
        marital_deduction: marital,
        charitable_deduction: charitable,
        state_death_tax_deduction: state_death_tax,
        marital_note,
        taxable_estate,
        adjusted_taxable_gifts: e.adjusted_taxable_gifts,
        tax_base,
        tentative_tax: tentative,
        gift_tax_paid: e.gift_tax_paid,
        gross_estate_tax,
        basic_exclusion: y.basic_exclusion,
        dsue: e.dsue,
        applicable_exclusion,
        applicable_credit,
        credit_allowed,
        net_estate_tax: net,
        marginal_rate: if net.is_zero() { Decimal::ZERO } else { marginal_rate(tax_base) },
        effective_rate,
        // Treas. Reg. §20.2010-2(c)(1): the lesser of the year's basic exclusion amount and
        // the applicable exclusion amount less line 5.
        dsue_for_survivor: y.basic_exclusion.min((applicable_exclusion - tax_base).max(Decimal::ZERO)),
        source: y.source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn estate(year: i32, gross: Decimal) -> Estate {
        Estate {
            year,
            gross_estate: gross,
            debts: Decimal::ZERO,
            expenses: Decimal::ZERO,
            charitable: Decimal::ZERO,
            to_spouse: Decimal::ZERO,
            spouse_citizen: true,
            qdot: false,
            adjusted_taxable_gifts: Decimal::ZERO,
            gift_tax_paid: Decimal::ZERO,
            dsue: Decimal::ZERO,
            state_death_tax: Decimal::ZERO,
        }
    }

    #[test]
    fn the_rate_schedule_at_each_bracket_edge_is_the_statutes_base() {
        // §2001(c): each bracket's base is the tax on the amount it starts at.
        for pair in RATE_SCHEDULE.windows(2) {
            assert_eq!(tentative_tax(pair[1].0), pair[1].1, "at {}", pair[1].0);
        }
        assert_eq!(tentative_tax(dec!(5_000)), dec!(900));
        assert_eq!(tentative_tax(dec!(1_500_000)), dec!(545_800));
        assert_eq!(tentative_tax(dec!(-1)), Decimal::ZERO);
        assert_eq!(marginal_rate(dec!(999_999)), dec!(0.39));
        assert_eq!(marginal_rate(dec!(1_000_000)), dec!(0.40));
    }

    #[test]
    fn the_applicable_credit_is_the_tax_on_the_basic_exclusion() {
        // The applicable credit amounts the Form 706 instructions give for deaths in 2024
        // ($5,389,800) and 2025 ($5,541,800), and for 2026's $15,000,000 ($5,945,800).
        for (y, credit) in [(2024, dec!(5_389_800)), (2025, dec!(5_541_800)), (2026, dec!(5_945_800))] {
            assert_eq!(tentative_tax(year(y).unwrap().basic_exclusion), credit, "{y}");
        }
        assert!(year(2023).unwrap_err().contains("2024, 2025, 2026"));
    }

    #[test]
    fn an_estate_under_the_exclusion_owes_nothing_and_leaves_the_rest_to_the_survivor() {
        let t = estate_tax(&estate(2026, dec!(9_000_000))).unwrap();
        assert_eq!((t.net_estate_tax, t.credit_allowed), (Decimal::ZERO, tentative_tax(dec!(9_000_000))));
        assert_eq!(t.dsue_for_survivor, dec!(6_000_000));
        assert_eq!(t.marginal_rate, Decimal::ZERO);
    }

    #[test]
    fn a_large_estate_pays_forty_percent_over_the_exclusion() {
        // 2026: $30M gross, $1M debts, $0.5M expenses, $1M to charity: taxable $27.5M, tax on
        // it $10,945,800 less the $5,945,800 credit = $5,000,000 = 40% of $12.5M.
        let mut e = estate(2026, dec!(30_000_000));
        e.debts = dec!(1_000_000);
        e.expenses = dec!(500_000);
        e.charitable = dec!(1_000_000);
        let t = estate_tax(&e).unwrap();
        assert_eq!(t.taxable_estate, dec!(27_500_000));
        assert_eq!(t.tentative_tax, dec!(10_945_800));
        assert_eq!(t.net_estate_tax, dec!(5_000_000));
        assert_eq!(t.marginal_rate, dec!(0.40));
        assert_eq!(t.effective_rate, dec!(0.1818));
        assert_eq!(t.dsue_for_survivor, Decimal::ZERO);
        // A survivor's DSUE of $5M shelters $5M more: $3,000,000.
        e.dsue = dec!(5_000_000);
        assert_eq!(estate_tax(&e).unwrap().net_estate_tax, dec!(3_000_000));
    }

    #[test]
    fn lifetime_gifts_use_the_exclusion_and_their_gift_tax_is_credited() {
        // $10M of adjusted taxable gifts and a $20M taxable estate in 2025: the tax base is
        // $30M; tentative tax 345,800 + 40% of 29M = 11,945,800; gift tax paid of 1,000,000
        // comes off, then the 5,541,800 credit: 5,404,000.
        let mut e = estate(2025, dec!(20_000_000));
        e.adjusted_taxable_gifts = dec!(10_000_000);
        e.gift_tax_paid = dec!(1_000_000);
        let t = estate_tax(&e).unwrap();
        assert_eq!(
            (t.tax_base, t.tentative_tax, t.gross_estate_tax),
            (dec!(30_000_000), dec!(11_945_800), dec!(10_945_800))
        );
        assert_eq!(t.net_estate_tax, dec!(5_404_000));
    }

    #[test]
    fn the_marital_deduction_needs_a_citizen_spouse_or_a_qdot() {
        let mut e = estate(2024, dec!(20_000_000));
        e.to_spouse = dec!(20_000_000);
        assert_eq!(estate_tax(&e).unwrap().net_estate_tax, Decimal::ZERO);
        e.spouse_citizen = false;
        let t = estate_tax(&e).unwrap();
        assert_eq!(t.marital_deduction, Decimal::ZERO);
        assert!(t.marital_note.unwrap().contains("2056(d)"));
        // 40% of (20M − 13.61M).
        assert_eq!(t.net_estate_tax, dec!(2_556_000));
        e.qdot = true;
        assert_eq!(estate_tax(&e).unwrap().net_estate_tax, Decimal::ZERO);
        // A bequest larger than what is left is deducted only up to it.
        let mut e = estate(2024, dec!(1_000_000));
        e.debts = dec!(400_000);
        e.to_spouse = dec!(1_000_000);
        assert_eq!(estate_tax(&e).unwrap().marital_deduction, dec!(600_000));
    }

    #[test]
    fn bad_amounts_are_named() {
        let mut e = estate(2026, dec!(1));
        e.debts = dec!(-1);
        assert_eq!(estate_tax(&e).unwrap_err().field, "debts");
        let mut e = estate(2026, dec!(1));
        e.dsue = dec!(20_000_000);
        assert_eq!(estate_tax(&e).unwrap_err().field, "dsue");
    }
}
