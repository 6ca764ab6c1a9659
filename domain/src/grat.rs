//! Grantor retained annuity trusts (IRC §2702), in `Decimal`.
//!
//! - The §7520 rate of a month is 120% of the federal mid-term rate (compounded annually) for
//!   the month, rounded to the nearest two-tenths of one percent ([`rate_7520`]; a midpoint
//!   rounds up, as the IRS's published January 2025 rate shows: 5.10% → 5.2%). [`RATES`] holds
//!   the published months, one line per month.
//! - A term-certain annuity paid at the end of each year (Treas. Reg. §25.2702-3(b)), growing by
//!   at most 20% a year (§25.2702-3(b)(1)(ii)), is worth the sum of each payment discounted at
//!   the §7520 rate; for a level annuity that is the payment times Table B's annuity factor
//!   `(1 − (1 + i)^−n) / i` (IRS Publication 1457). The GRAT's remainder, the taxable gift, is
//!   the funding less that value, the annuity for a term certain payable to the grantor or the
//!   estate (Walton v. Commissioner, 115 T.C. 589 (2000)).
//! - A zeroed-out GRAT's first payment makes the annuity worth the whole funding: a remainder
//!   of zero.
//! - What passes to the remaindermen is the trust left after the payments at an assumed return
//!   (deterministic here; over the Monte Carlo engine's paths in `simulations::grat`).

use rust_decimal::{Decimal, MathematicalOps};
use serde::Serialize;

use crate::estate::EstateError;

/// A published month: 120% of the mid-term AFR (annual), the §7520 rate, and the ruling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Month {
    pub year: i32,
    pub month: u32,
    pub afr_120: Decimal,
    pub rate: Decimal,
    pub ruling: &'static str,
}

const fn m(year: i32, month: u32, afr_120: i64, rate: i64, ruling: &'static str) -> Month {
    Month {
        year,
        month,
        afr_120: Decimal::from_parts(afr_120 as u32, 0, 0, false, 4),
        rate: Decimal::from_parts(rate as u32, 0, 0, false, 3),
        ruling,
    }
}

/// The months after January 2025, as irs.gov's "Section 7520 interest rates" page lists them
/// (each month's revenue ruling is named there).
const IRS_PAGE: &str = "irs.gov Section 7520 interest rates";

/// The §7520 rates as the IRS publishes them ("Section 7520 interest rates", irs.gov), as
/// fractions (0.052 for 5.2%).
pub const RATES: &[Month] = &[
    m(2024, 1, 525, 52, "Rev. Rul. 2024-02"),
    m(2024, 2, 479, 48, "Rev. Rul. 2024-03"),
    m(2024, 3, 497, 50, "Rev. Rul. 2024-04"),
    m(2024, 4, 517, 52, "Rev. Rul. 2024-07"),
    m(2024, 5, 531, 54, "Rev. Rul. 2024-09"),
    m(2024, 6, 561, 56, "Rev. Rul. 2024-12"),
    m(2024, 7, 540, 54, "Rev. Rul. 2024-13"),
    m(2024, 8, 522, 52, "Rev. Rul. 2024-15"),
    m(2024, 9, 484, 48, "Rev. Rul. 2024-17"),
    m(2024, 10, 445, 44, "Rev. Rul. 2024-21"),
    m(2024, 11, 445, 44, "Rev. Rul. 2024-24"),
    m(2024, 12, 503, 50, "Rev. Rul. 2024-26"),
    m(2025, 1, 510, 52, "Rev. Rul. 2025-01"),
    m(2025, 2, 543, 54, IRS_PAGE),
    m(2025, 3, 536, 54, IRS_PAGE),
    m(2025, 4, 506, 50, IRS_PAGE),
    m(2025, 5, 493, 50, IRS_PAGE),
    m(2025, 6, 490, 50, IRS_PAGE),
    m(2025, 7, 504, 50, IRS_PAGE),
    m(2025, 8, 488, 48, IRS_PAGE),
    m(2025, 9, 486, 48, IRS_PAGE),
    m(2025, 10, 465, 46, IRS_PAGE),
    m(2025, 11, 460, 46, IRS_PAGE),
    m(2025, 12, 455, 46, IRS_PAGE),
    m(2026, 1, 457, 46, IRS_PAGE),
    m(2026, 2, 463, 46, IRS_PAGE),
    m(2026, 3, 472, 48, IRS_PAGE),
    m(2026, 4, 459, 46, IRS_PAGE),
    m(2026, 5, 491, 50, IRS_PAGE),
    m(2026, 6, 497, 50, IRS_PAGE),
    m(2026, 7, 523, 52, IRS_PAGE),
    m(2026, 8, 523, 52, IRS_PAGE),
];

/// The published month, if cairn has it.
pub fn published(year: i32, month: u32) -> Option<&'static Month> {
    RATES.iter().find(|r| r.year == year && r.month == month)
}

/// The §7520 rate from 120% of the mid-term AFR (both as fractions): to the nearest 0.2%, a
/// midpoint up.
pub fn rate_7520(afr_120: Decimal) -> Decimal {
    let step = Decimal::new(2, 3);
    ((afr_120 / step).round_dp_with_strategy(0, rust_decimal::RoundingStrategy::MidpointAwayFromZero) * step)
        .normalize()
}

/// Table B's annuity factor for `years` years at `rate` (payments at each year's end).
pub fn annuity_factor(rate: Decimal, years: u32) -> Decimal {
    if rate.is_zero() {
        return Decimal::from(years);
    }
    (Decimal::ONE - (Decimal::ONE + rate).powi(-i64::from(years))) / rate
}

/// Table B's remainder factor: one dollar after `years` years at `rate`.
pub fn remainder_factor(rate: Decimal, years: u32) -> Decimal {
    (Decimal::ONE + rate).powi(-i64::from(years))
}

/// A GRAT's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Terms {
    pub funding: Decimal,
    pub years: u32,
    /// The §7520 rate.
    pub rate: Decimal,
    /// Each payment's growth over the one before (at most 0.2).
    pub step_up: Decimal,
    /// The first payment; `None` for the zeroed-out one.
    pub first_payment: Option<Decimal>,
}

/// A GRAT as valued at funding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Grat {
    pub funding: Decimal,
    pub years: u32,
    pub rate: Decimal,
    pub step_up: Decimal,
    /// The payments, year by year.
    pub payments: Vec<Decimal>,
    /// What one dollar of the first payment, growing by the step-up, is worth (Table B's
    /// annuity factor when level).
    pub annuity_factor: Decimal,
    /// The retained annuity's value, and the remainder: the taxable gift.
    pub annuity_value: Decimal,
    pub taxable_gift: Decimal,
}

/// The GRAT of `t`, or the field that is wrong.
pub fn value(t: &Terms) -> Result<Grat, EstateError> {
    let bad = |field: &'static str, problem: String| EstateError { field, problem };
    crate::estate::none_negative(&[("funding", t.funding), ("rate", t.rate), ("step_up", t.step_up)])?;
    if !(1..=50).contains(&t.years) {
        return Err(bad("years", format!("{} is not 1 to 50", t.years)));
    }
    if t.step_up > Decimal::new(2, 1) {
        return Err(bad(
            "step_up",
            format!("{} is more than 0.2, the most a payment may grow (Treas. Reg. §25.2702-3(b)(1)(ii))", t.step_up),
        ));
    }
    let growth = Decimal::ONE + t.step_up;
    let factor: Decimal =
        (1..=t.years).map(|k| growth.powi(i64::from(k) - 1) * remainder_factor(t.rate, k)).sum::<Decimal>();
    let first = match t.first_payment {
        Some(p) if p < Decimal::ZERO => return Err(bad("first_payment", format!("{p} is negative"))),
        Some(p) => p,
        // Zeroed out: the payment whose value is the funding, rounded up to the cent so the
        // remainder is not above zero.
        None if factor.is_zero() => Decimal::ZERO,
        None => (t.funding / factor).round_dp_with_strategy(2, rust_decimal::RoundingStrategy::AwayFromZero),
    };
    let payments: Vec<Decimal> = (0..t.years).map(|k| (first * growth.powi(i64::from(k))).round_dp(2)).collect();
    let annuity_value: Decimal = payments
        .iter()
        .enumerate()
        .map(|(k, p)| *p * remainder_factor(t.rate, k as u32 + 1))
        .sum::<Decimal>()
        .round_dp(2)
        .min(t.funding);
    Ok(Grat {
        funding: t.funding,
        years: t.years,
        rate: t.rate,
        step_up: t.step_up,
        payments,
        annuity_factor: factor.round_dp(6),
        annuity_value,
        taxable_gift: t.funding - annuity_value,
    })
}

/// What of a GRAT still in its term at the grantor's death is in the gross estate: the part of
/// the trust that would yield the annuity at the §7520 `rate` at death, at most the whole
/// `trust` (§2036; Treas. Reg. §20.2036-1(c)(2)); the whole trust at a rate of zero.
pub fn included_at_death(trust: Decimal, annuity: Decimal, rate: Decimal) -> Decimal {
    if rate.is_zero() {
        return trust;
    }
    (annuity / rate).round_dp(2).min(trust)
}

/// What the remaindermen receive if the trust earns `annual_return` every year: the trust after
/// each year's growth and payment (a payment the trust cannot make in full empties it).
pub fn remainder_at(g: &Grat, annual_return: Decimal) -> Decimal {
    g.payments
        .iter()
        .fold(g.funding, |trust, p| (trust * (Decimal::ONE + annual_return) - p).max(Decimal::ZERO))
        .round_dp(2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn the_7520_rate_rounds_to_two_tenths_as_the_irs_published_it() {
        // (120% of the mid-term AFR, the published §7520 rate), from irs.gov's tables.
        for (afr, rate) in [
            (dec!(0.0525), dec!(0.052)),
            (dec!(0.0479), dec!(0.048)),
            (dec!(0.0445), dec!(0.044)),
            (dec!(0.0510), dec!(0.052)),
            (dec!(0.0110), dec!(0.012)),
            (dec!(0.0128), dec!(0.012)),
            (dec!(0.0231), dec!(0.024)),
            (dec!(0.0067), dec!(0.006)),
            (dec!(0.0345), dec!(0.034)),
            (dec!(0.0210), dec!(0.022)),
        ] {
            assert_eq!(rate_7520(afr), rate, "{afr}");
        }
        for r in RATES {
            assert_eq!(rate_7520(r.afr_120), r.rate, "{}-{}", r.year, r.month);
        }
        assert_eq!(published(2024, 6).map(|r| r.rate), Some(dec!(0.056)));
    }

    #[test]
    fn table_b_factors() {
        // Publication 1457, Table B at 6.0%, 10 years: annuity 7.3601, remainder .558395.
        assert_eq!(annuity_factor(dec!(0.06), 10).round_dp(4), dec!(7.3601));
        assert_eq!(remainder_factor(dec!(0.06), 10).round_dp(6), dec!(0.558395));
        assert_eq!(annuity_factor(Decimal::ZERO, 3), dec!(3));
    }

    #[test]
    fn a_zeroed_out_grat_makes_no_gift_and_passes_the_growth_above_the_rate() {
        // $10,000,000 for 2 years at 5.6% (June 2024), level payments: factor 1.843721, each
        // payment 5,423,813.23 (rounded up to the cent), the gift 0.
        let t = Terms {
            funding: dec!(10_000_000),
            years: 2,
            rate: dec!(0.056),
            step_up: Decimal::ZERO,
            first_payment: None,
        };
        let g = value(&t).unwrap();
        assert_eq!(g.annuity_factor, dec!(1.843721));
        assert_eq!(g.payments, vec![dec!(5_423_813.23), dec!(5_423_813.23)]);
        assert_eq!(g.taxable_gift, Decimal::ZERO);
        // Earning exactly the rate leaves nothing; earning 10% leaves the excess.
        assert_eq!(remainder_at(&g, dec!(0.056)), Decimal::ZERO);
        assert_eq!(remainder_at(&g, dec!(0.10)), dec!(709_992.22));
        // A smaller annuity leaves a taxable remainder: 4,000,000 a year is worth 7,374,885.22.
        let g = value(&Terms { first_payment: Some(dec!(4_000_000)), ..t }).unwrap();
        assert_eq!((g.annuity_value, g.taxable_gift), (dec!(7_374_885.22), dec!(2_625_114.78)));
        // A 20% step-up pays less at first.
        let up = value(&Terms { step_up: dec!(0.2), ..t }).unwrap();
        assert!(up.payments[0] < dec!(5_423_813.23) && up.payments[1] > up.payments[0]);
        assert_eq!(up.taxable_gift, Decimal::ZERO);
        assert_eq!(value(&Terms { step_up: dec!(0.25), ..t }).unwrap_err().field, "step_up");
        assert_eq!(value(&Terms { years: 0, ..t }).unwrap_err().field, "years");
    }
}
