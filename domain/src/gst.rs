//! The generation-skipping transfer tax (IRC chapter 13), in `Decimal` to the cent.
//!
//! - A skip person (§2613(a)(1)) is two or more generations below the transferor. Generations
//!   (§2651): a lineal descendant of the transferor's grandparent counts by the family tree (a
//!   grandchild is two below, §2651(b)(1)); a spouse is of the transferor's generation
//!   (§2651(c)); anyone else by age: born more than 12½ years after the transferor is one
//!   generation below, and each 25 years more another (§2651(d)), so more than 37½ years
//!   younger is a skip person. A charity is of the transferor's generation.
//! - The predeceased parent rule (§2651(e)(1)): a descendant of the transferor (or of the
//!   transferor's spouse) whose parent, the transferor's descendant, died before the transfer
//!   moves up a generation, so a grandchild whose parent has died is no skip person (the parent
//!   recorded as `parent_died` with the date). cairn moves the member up one generation; a
//!   great-grandchild whose grandparent has died too moves up two under the rule, which the
//!   family as recorded (each member's relationship to the principal, not to one another) cannot
//!   tell. The rule for collateral heirs (§2651(e)(2): only where the transferor has no living
//!   descendants) is not applied.
//! - The tax (§2602) is the taxable amount times the applicable rate (§2641): the maximum
//!   federal estate tax rate (40%, the top of §2001(c)) times the inclusion ratio.
//! - The inclusion ratio (§2642(a)) is one less the applicable fraction: the GST exemption
//!   allocated over the value transferred less the federal estate or state death tax recovered
//!   from it and any charitable deduction, rounded to the nearest one-thousandth, .0005 up
//!   (Treas. Reg. §26.2642-1(d)).
//! - A direct skip that is a nontaxable gift (within the donee's annual exclusion) has an
//!   inclusion ratio of zero (§2642(c)).
//! - The GST exemption (§2631(c)) is the year's basic exclusion amount
//!   ([`crate::estate::YEARS`]); it is not portable (a DSUE does not add to it). A lifetime
//!   direct skip is allocated the exemption not yet used, automatically (§2632(b)(1)).
//! - Who pays and on what: a direct skip's tax is the transferor's, on the value the skip
//!   person receives (tax-exclusive, §2623, §2603(a)(3)), and for a lifetime gift the tax paid
//!   is a further gift (§2515); a taxable distribution's is the transferee's (§2621) and a
//!   taxable termination's the trustee's (§2622), on the whole amount (tax-inclusive).

use chrono::{Months, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::estate::{EstateError, RATE_SCHEDULE};
use crate::family::Relationship;

/// Where a person stands for §2651: their relationship to the household's principal and their
/// birth date, as far as known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Standing {
    pub relationship: Option<Relationship>,
    pub born: Option<NaiveDate>,
    /// When the person's parent, the principal's (or spouse's) descendant, died (§2651(e)).
    pub parent_died: Option<NaiveDate>,
}

/// Whether `transferee` is a skip person of `transferor` in a transfer `on` that day (§2613,
/// §2651): by the family tree when both have a place in it (a spouse is the principal's
/// generation), a descendant whose parent died before the transfer moved up one (§2651(e)(1)),
/// else by age; `false` when neither says (a person whose generation is unknown is not taken as
/// a skip person).
pub fn is_skip_person(transferor: Standing, transferee: Standing, on: NaiveDate) -> bool {
    let tree = transferor
        .relationship
        .and_then(Relationship::generation)
        .zip(transferee.relationship.and_then(Relationship::generation));
    if let Some((from, to)) = tree {
        // The rule needs the transferee to descend from the transferor (or the spouse): from
        // the principal's generation or above, to a grandchild or below.
        let descendant = from <= 0 && to >= 2 && transferor.relationship != Some(Relationship::Sibling);
        let moved_up = descendant && transferee.parent_died.is_some_and(|died| died < on);
        return to - i32::from(moved_up) - from >= 2;
    }
    match (transferor.born, transferee.born) {
        // 37½ years: 450 months.
        (Some(a), Some(b)) => a.checked_add_months(Months::new(450)).is_some_and(|limit| b > limit),
        _ => false,
    }
}

/// The kind of a generation-skipping transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// To a skip person, subject to gift or estate tax (§2612(c)).
    DirectSkip,
    /// From a trust to a skip person, not a termination (§2612(b)).
    TaxableDistribution,
    /// The end of an interest in a trust after which only skip persons hold interests
    /// (§2612(a)).
    TaxableTermination,
}

/// One transfer: its taxable amount (for a direct skip, what the skip person receives), and
/// what its applicable fraction divides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    pub kind: Kind,
    pub amount: Decimal,
    /// The value of the property when the exemption was allocated (the trust's, for a
    /// distribution or termination; the amount itself for a direct skip).
    pub value: Decimal,
    /// GST exemption allocated to it.
    pub allocated: Decimal,
    /// Federal estate or state death tax recovered from the property (§2642(a)(2)(B)(i)).
    pub death_taxes_recovered: Decimal,
    /// A charitable deduction for it (§2642(a)(2)(B)(ii)).
    pub charitable: Decimal,
}

/// A transfer's GST tax.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct GstTax {
    pub kind: Kind,
    pub taxable_amount: Decimal,
    pub allocated: Decimal,
    pub applicable_fraction: Decimal,
    pub inclusion_ratio: Decimal,
    /// The maximum federal estate tax rate times the inclusion ratio.
    pub rate: Decimal,
    pub tax: Decimal,
    /// Who pays it: the transferor (direct skip), the transferee (distribution), the trustee
    /// (termination).
    pub paid_by: &'static str,
}

/// The maximum federal estate tax rate (§2641(b)): the top rate of §2001(c).
pub fn maximum_rate() -> Decimal {
    RATE_SCHEDULE[RATE_SCHEDULE.len() - 1].2
}

/// The applicable fraction and inclusion ratio of `allocated` exemption on `value` less the
/// death taxes recovered and the charitable deduction (§2642(a)); a denominator of zero or less
/// leaves nothing to tax (fraction 1).
pub fn inclusion_ratio(
    allocated: Decimal,
    value: Decimal,
    death_taxes_recovered: Decimal,
    charitable: Decimal,
) -> (Decimal, Decimal) {
    let denominator = value - death_taxes_recovered - charitable;
    let fraction = if denominator <= Decimal::ZERO {
        Decimal::ONE
    } else {
        (allocated / denominator)
            .min(Decimal::ONE)
            .round_dp_with_strategy(3, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
    };
    (fraction, Decimal::ONE - fraction)
}

/// The GST tax of `t`, or the field that is wrong.
pub fn tax(t: &Transfer) -> Result<GstTax, EstateError> {
    crate::estate::none_negative(&[
        ("amount", t.amount),
        ("value", t.value),
        ("allocated", t.allocated),
        ("death_taxes_recovered", t.death_taxes_recovered),
        ("charitable", t.charitable),
    ])?;
    let (applicable_fraction, inclusion_ratio) =
        inclusion_ratio(t.allocated, t.value, t.death_taxes_recovered, t.charitable);
    let rate = maximum_rate() * inclusion_ratio;
    Ok(GstTax {
        kind: t.kind,
        taxable_amount: t.amount,
        allocated: t.allocated,
        applicable_fraction,
        inclusion_ratio,
        rate,
        tax: (t.amount * rate).round_dp(2),
        paid_by: match t.kind {
            Kind::DirectSkip => "transferor",
            Kind::TaxableDistribution => "transferee",
            Kind::TaxableTermination => "trustee",
        },
    })
}

/// A direct skip of `amount` with the exemption `left` allocated to it automatically
/// (§2632(b)): its tax, and the exemption it used.
pub fn direct_skip(amount: Decimal, left: Decimal) -> Result<GstTax, EstateError> {
    let allocated = amount.min(left.max(Decimal::ZERO));
    tax(&Transfer {
        kind: Kind::DirectSkip,
        amount,
        value: amount,
        allocated,
        death_taxes_recovered: Decimal::ZERO,
        charitable: Decimal::ZERO,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn standing(r: Relationship, born: Option<&str>) -> Standing {
        Standing { relationship: Some(r), born: born.map(|b| b.parse().unwrap()), parent_died: None }
    }

    #[test]
    fn skip_persons_by_the_family_tree_and_by_age() {
        let me = standing(Relationship::Principal, Some("1950-01-01"));
        let day: NaiveDate = "2026-06-01".parse().unwrap();
        assert!(is_skip_person(me, standing(Relationship::Grandchild, None), day));
        assert!(is_skip_person(me, standing(Relationship::GreatGrandchild, None), day));
        assert!(!is_skip_person(me, standing(Relationship::Child, None), day));
        assert!(!is_skip_person(me, standing(Relationship::Spouse, Some("1995-01-01")), day));
        // A child giving to a grandchild of the principal skips only one generation.
        assert!(!is_skip_person(standing(Relationship::Child, None), standing(Relationship::Grandchild, None), day));
        // Anyone else by age: more than 37½ years younger.
        assert!(is_skip_person(me, standing(Relationship::Other, Some("1987-07-02")), day));
        assert!(!is_skip_person(me, standing(Relationship::Other, Some("1987-07-01")), day));
        assert!(!is_skip_person(me, Standing::default(), day));
        // §2651(e)(1): a grandchild whose parent died before the gift moves up to a child's
        // generation; a gift the day the parent died, or before, still skips.
        let orphan =
            Standing { parent_died: Some("2026-05-31".parse().unwrap()), ..standing(Relationship::Grandchild, None) };
        assert!(!is_skip_person(me, orphan, day));
        assert!(is_skip_person(me, orphan, "2026-05-31".parse().unwrap()));
        // From the spouse too; a great-grandchild moved up one is still two below.
        assert!(!is_skip_person(standing(Relationship::Spouse, None), orphan, day));
        let great = Standing { relationship: Some(Relationship::GreatGrandchild), ..orphan };
        assert!(is_skip_person(me, great, day));
        // Not for a sibling's gift to the principal's grandchild (a collateral heir, §2651(e)(2)).
        let sibling = standing(Relationship::Sibling, None);
        assert!(!is_skip_person(sibling, standing(Relationship::Child, None), day));
        assert!(is_skip_person(sibling, orphan, day));
    }

    #[test]
    fn the_inclusion_ratio_is_rounded_to_a_thousandth() {
        // $1,000,000 to a trust with $400,000 of exemption: fraction .4, ratio .6; a later
        // termination of $1,500,000 is taxed at 40% × .6 = 24%: $360,000, the trustee's.
        let t = Transfer {
            kind: Kind::TaxableTermination,
            amount: dec!(1_500_000),
            value: dec!(1_000_000),
            allocated: dec!(400_000),
            death_taxes_recovered: Decimal::ZERO,
            charitable: Decimal::ZERO,
        };
        let g = tax(&t).unwrap();
        assert_eq!((g.applicable_fraction, g.inclusion_ratio, g.rate), (dec!(0.4), dec!(0.6), dec!(0.240)));
        assert_eq!((g.tax, g.paid_by), (dec!(360_000), "trustee"));
        // 1,000,000 of exemption on 3,000,000: .333 (not a third), ratio .667: 800,400.
        let g = direct_skip(dec!(3_000_000), dec!(1_000_000)).unwrap();
        assert_eq!((g.applicable_fraction, g.tax), (dec!(0.333), dec!(800_400)));
        // .0005 rounds up: 1 of exemption on 2,000 is .0005 → .001.
        assert_eq!(inclusion_ratio(dec!(1), dec!(2_000), Decimal::ZERO, Decimal::ZERO).0, dec!(0.001));
        // Death taxes recovered and a charitable deduction shrink the denominator.
        assert_eq!(inclusion_ratio(dec!(500_000), dec!(1_500_000), dec!(250_000), dec!(250_000)).0, dec!(0.5));
    }

    #[test]
    fn a_fully_exempt_direct_skip_owes_nothing_and_bad_amounts_are_named() {
        let g = direct_skip(dec!(1_000_000), dec!(15_000_000)).unwrap();
        assert_eq!(
            (g.allocated, g.inclusion_ratio, g.tax, g.paid_by),
            (dec!(1_000_000), Decimal::ZERO, Decimal::ZERO, "transferor")
        );
        let g = direct_skip(dec!(1_000_000), Decimal::ZERO).unwrap();
        assert_eq!(g.tax, dec!(400_000));
        assert_eq!(direct_skip(dec!(-1), Decimal::ZERO).unwrap_err().field, "amount");
    }
}
