//! Estate strategies side by side: for a family's estate growing at an assumed return, the
//! estate, federal and state tax and what the heirs and charities receive at a death `years`
//! from now under no planning, annual exclusion gifts, rolling two-year zeroed-out GRATs, a
//! dynasty trust funded with the exclusion, and a zeroed-out charitable lead annuity trust; and
//! a dynasty trust carried over generations with and without GST exemption ([`dynasty`]).
//!
//! The law's amounts past cairn's tables grow with inflation as the Code indexes them: the
//! basic exclusion rounded down to a multiple of $10,000 (§2010(c)(3)(B)), the annual exclusion
//! to a multiple of $1,000 (§2503(b)(2)). Each is indexed from its unrounded amount, not from
//! the rounded one: the basic exclusion from the table's last year (2026's $15,000,000 is set
//! by statute, unrounded), the annual exclusion from $10,000 times the same cost-of-living
//! adjustment as the non-citizen spouse's $100,000 (§2523(i)(2), both on 1997), which the
//! table's non-citizen amount, rounded down to $1,000, pins to a thousandth: 2026's $194,000
//! gives $19,400, where the $19,000 published is rounded down. A married couple's first death leaves everything to the
//! survivor (the marital deduction) and the survivor takes the unused exclusion then (DSUE,
//! not indexed, §2010(c)(4)); the estate is taxed at the survivor's death, `years` on. The
//! tax at death is Form 706's: the §2001(c) tax on the taxable estate plus the adjusted
//! taxable gifts, less the credit on the exclusion; the domicile's estate tax
//! (`crate::state_estate`) is deducted first (§2058). Each year's returns are the same assumed
//! rate for every strategy, so the differences are the law's, not the markets'.

use rust_decimal::{Decimal, MathematicalOps, RoundingStrategy};
use serde::Serialize;

use crate::estate::{tentative_tax, EstateError};

/// A family's estate and the assumptions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Family {
    pub estate: Decimal,
    pub growth: Decimal,
    pub years: u32,
    /// The first year (the gifts' and trusts' year).
    pub start: i32,
    pub married: bool,
    /// Children and grandchildren who take annual exclusion gifts.
    pub donees: u32,
    pub inflation: Decimal,
    /// The §7520 rate for the GRATs and the lead trust.
    pub rate: Decimal,
    pub state: Option<String>,
    /// The GRATs' share of the estate each cycle, and the lead trust's funding share and term.
    pub grat_share: Decimal,
    pub clat_share: Decimal,
    pub clat_years: u32,
}

/// A strategy's result at the death.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Outcome {
    pub strategy: &'static str,
    /// The estate at death, the lifetime taxable gifts added back, the taxes.
    pub estate_at_death: Decimal,
    pub adjusted_taxable_gifts: Decimal,
    pub federal_tax: Decimal,
    pub state_tax: Decimal,
    /// What the heirs hold outside the estate (gifts, trusts' remainders), and in all.
    pub outside_estate: Decimal,
    pub to_heirs: Decimal,
    pub to_charity: Decimal,
    /// Against no planning.
    pub saved: Decimal,
    /// Of `estate_at_death`, what a trust still in its term brings back into the estate (a
    /// GRAT whose grantor dies before its last annuity, §2036).
    pub trusts_included: Decimal,
}

fn bad(field: &'static str, problem: String) -> EstateError {
    EstateError { field, problem }
}

/// The year's basic and annual exclusions: cairn's tables, else the latest grown by inflation.
pub fn exclusions(year: i32, inflation: Decimal) -> (Decimal, Decimal) {
    let last = crate::estate::YEARS.last().expect("the table has a year");
    if let Ok(y) = crate::estate::year(year) {
        return (y.basic_exclusion, y.annual_exclusion);
    }
    let factor = (Decimal::ONE + inflation).powi(i64::from((year - last.year).max(0)));
    let down = |v: Decimal, step: i64| {
        let step = Decimal::from(step);
        (v * factor / step).round_dp_with_strategy(0, RoundingStrategy::ToZero) * step
    };
    // $10,000 × the adjustment, as the non-citizen exclusion ($100,000 × it) shows it.
    let annual_unrounded = last.noncitizen_spouse_exclusion / Decimal::TEN;
    (down(last.basic_exclusion, 10_000), down(annual_unrounded, 1_000))
}

/// The taxes at a death in `year` on `estate` with `gifts` (adjusted taxable gifts, by year
/// made) and the DSUE: (federal, state).
fn taxes(
    f: &Family,
    year: i32,
    estate: Decimal,
    gifts: &[(i32, Decimal)],
    dsue: Decimal,
) -> Result<(Decimal, Decimal), EstateError> {
    let state = match &f.state {
        Some(s) => crate::state_estate::state_estate_tax(s, year, estate, gifts)?.map_or(Decimal::ZERO, |t| t.tax),
        None => Decimal::ZERO,
    };
    let adjusted: Decimal = gifts.iter().map(|g| g.1).sum();
    let (basic, _) = exclusions(year, f.inflation);
    let base = (estate - state).max(Decimal::ZERO) + adjusted;
    let federal = (tentative_tax(base) - tentative_tax(basic + dsue)).max(Decimal::ZERO);
    Ok((federal.round_dp(2), state))
}

/// Each strategy's outcome, no planning first.
pub fn compare(f: &Family) -> Result<Vec<Outcome>, EstateError> {
    crate::estate::none_negative(&[("estate", f.estate), ("growth", f.growth), ("rate", f.rate)])?;
    let limits = [
        ("estate", f.estate, Decimal::from(1_000_000_000_000_i64)),
        ("growth", f.growth, Decimal::new(3, 1)),
        ("inflation", f.inflation, Decimal::new(2, 1)),
        ("rate", f.rate, Decimal::new(2, 1)),
    ];
    for (field, v, most) in limits {
        if v > most || v < -most {
            return Err(bad(field, format!("{v} is beyond {most} (or below -{most})")));
        }
    }
    if !(1..=60).contains(&f.years) {
        return Err(bad("years", format!("{} is not 1 to 60", f.years)));
    }
    for (field, s) in [("grat_share", f.grat_share), ("clat_share", f.clat_share)] {
        if s < Decimal::ZERO || s > Decimal::ONE {
            return Err(bad(field, format!("{s} is not a share from 0 to 1")));
        }
    }
    if f.clat_years == 0 || f.clat_years > f.years {
        return Err(bad("clat_years", format!("{} is not 1 to the horizon's {} years", f.clat_years, f.years)));
    }
    let g = Decimal::ONE + f.growth;
    let death = f.start + f.years as i32;
    let donors = if f.married { Decimal::TWO } else { Decimal::ONE };
    let (basic_now, _) = exclusions(f.start, f.inflation);
    let dsue = if f.married { basic_now } else { Decimal::ZERO };
    let grow = |v: Decimal, n: u32| (v * g.powi(i64::from(n))).round_dp(2);
    let outcome = |strategy, estate: Decimal, gifts: &[(i32, Decimal)], outside: Decimal, charity: Decimal| {
        let (federal, state) = taxes(f, death, estate, gifts, dsue)?;
        Ok::<_, EstateError>(Outcome {
            strategy,
            estate_at_death: estate.round_dp(2),
            adjusted_taxable_gifts: gifts.iter().map(|x| x.1).sum(),
            federal_tax: federal,
            state_tax: state,
            outside_estate: outside.round_dp(2),
            to_heirs: (estate - federal - state + outside).round_dp(2),
            to_charity: charity.round_dp(2),
            saved: Decimal::ZERO,
            trusts_included: Decimal::ZERO,
        })
    };
    let mut out = vec![outcome("no_planning", grow(f.estate, f.years), &[], Decimal::ZERO, Decimal::ZERO)?];

    // Annual exclusion gifts at each year's start, from each spouse to each donee.
    let (mut estate, mut outside) = (f.estate, Decimal::ZERO);
    for k in 0..f.years {
        let (_, annual) = exclusions(f.start + k as i32, f.inflation);
        let gift = (annual * Decimal::from(f.donees) * donors).min(estate);
        estate = (estate - gift) * g;
        outside = (outside + gift) * g;
    }
    out.push(outcome("annual_gifts", estate, &[], outside, Decimal::ZERO)?);

    // Rolling two-year zeroed-out GRATs on a share of the estate, a new one as each ends: the
    // annuities come back, the return above the §7520 rate passes. A death one year into the
    // last one's term (an odd horizon) brings that trust back into the estate, as far as it
    // would yield the annuity at the §7520 rate (`crate::grat::included_at_death`); the
    // first annuity is paid by then, and what the trust holds beyond the included part passes.
    let (mut estate, mut outside, mut included) = (f.estate, Decimal::ZERO, Decimal::ZERO);
    let mut year = 0;
    while year < f.years {
        let funding = (estate * f.grat_share).round_dp(2);
        let terms = crate::grat::Terms { funding, years: 2, rate: f.rate, step_up: Decimal::ZERO, first_payment: None };
        let grat = if funding.is_zero() { None } else { Some(crate::grat::value(&terms)?) };
        if year + 2 <= f.years {
            let passed = grat.map_or(Decimal::ZERO, |t| crate::grat::remainder_at(&t, f.growth));
            estate = estate * g * g - passed;
            outside = outside * g * g + passed;
            year += 2;
        } else {
            let (trust, passed) = match grat {
                Some(t) => {
                    let trust = (funding * g - t.payments[0]).max(Decimal::ZERO).round_dp(2);
                    let inside = crate::grat::included_at_death(trust, t.payments[1], f.rate);
                    (inside, trust - inside)
                }
                None => (Decimal::ZERO, Decimal::ZERO),
            };
            included = trust;
            estate = estate * g - passed;
            outside = outside * g + passed;
            year += 1;
        }
    }
    let mut grats = outcome("grat_programme", estate, &[], outside, Decimal::ZERO)?;
    grats.trusts_included = included.round_dp(2);
    out.push(grats);

    // A dynasty trust funded now with the exclusions (a taxable gift within them; GST exemption
    // allocated): it grows outside the estate, and the gift is added back at its value then.
    let funding = (basic_now * donors).min(f.estate);
    let gifts = [(f.start, funding)];
    out.push(outcome(
        "dynasty_trust",
        grow(f.estate - funding, f.years),
        &gifts,
        grow(funding, f.years),
        Decimal::ZERO,
    )?);

    // A zeroed-out CLAT: the annuity to charity for its term, the remainder to the heirs with
    // no gift; the remainder grows on to the death.
    let funding = (f.estate * f.clat_share).round_dp(2);
    let clat = crate::charitable::value(&crate::charitable::Terms {
        kind: crate::charitable::Kind::Clat,
        funding: funding.max(Decimal::ONE),
        payout_rate: None,
        payment: None,
        years: Some(f.clat_years),
        age: None,
        age2: None,
        rate: f.rate,
        frequency: 1,
        timing: crate::actuarial::Timing::End,
        months_to_first: None,
    })?;
    let annuity = if funding.is_zero() { Decimal::ZERO } else { clat.annual_payment.unwrap_or_default() };
    let mut trust = funding;
    for _ in 0..f.clat_years {
        trust = (trust * g - annuity).max(Decimal::ZERO);
    }
    let remainder = grow(trust, f.years - f.clat_years);
    let charity = annuity * Decimal::from(f.clat_years);
    out.push(outcome("charitable_lead_trust", grow(f.estate - funding, f.years), &[], remainder, charity)?);

    let base = out[0].to_heirs;
    for o in &mut out {
        o.saved = o.to_heirs - base;
    }
    Ok(out)
}

/// A generation of a dynasty trust.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Generation {
    pub generation: u32,
    /// The trust at the generation's end, the GST tax on its termination, what goes on.
    pub before_tax: Decimal,
    pub gst_tax: Decimal,
    pub after_tax: Decimal,
    /// The same trust without GST exemption allocated (inclusion ratio 1).
    pub unexempt_before_tax: Decimal,
    pub unexempt_gst_tax: Decimal,
    pub unexempt_after_tax: Decimal,
}

/// A dynasty trust of `funding` over `generations` of `generation_years` each, growing at
/// `growth` less `distributions` a year: with GST exemption allocated whole (inclusion ratio
/// 0) it passes each generation untaxed; without, each generation's end is a taxable
/// termination at 40% (§2612(a), §2641).
pub fn dynasty(
    funding: Decimal,
    growth: Decimal,
    distributions: Decimal,
    generations: u32,
    generation_years: u32,
) -> Result<Vec<Generation>, EstateError> {
    crate::estate::none_negative(&[("funding", funding), ("growth", growth), ("distributions", distributions)])?;
    if funding > Decimal::from(1_000_000_000_000_i64) || growth > Decimal::new(3, 1) || distributions > Decimal::ONE {
        return Err(bad(
            "funding",
            "funding below $1,000,000,000,000, growth at most 0.3, distributions at most 1".into(),
        ));
    }
    if !(1..=6).contains(&generations) || !(1..=50).contains(&generation_years) {
        return Err(bad("generations", "1 to 6 generations of 1 to 50 years".into()));
    }
    let too_large =
        || bad("generations", "the trust grows past what cairn can count; fewer generations or less growth".into());
    let factor = (Decimal::ONE + growth - distributions)
        .max(Decimal::ZERO)
        .checked_powi(i64::from(generation_years))
        .ok_or_else(too_large)?;
    let rate = Decimal::new(40, 2);
    let (mut exempt, mut taxed) = (funding, funding);
    let mut out = Vec::new();
    for generation in 1..=generations {
        exempt = exempt.checked_mul(factor).ok_or_else(too_large)?.round_dp(2);
        let before = taxed.checked_mul(factor).ok_or_else(too_large)?.round_dp(2);
        let tax = (before * rate).round_dp(2);
        taxed = before - tax;
        out.push(Generation {
            generation,
            before_tax: exempt,
            gst_tax: Decimal::ZERO,
            after_tax: exempt,
            unexempt_before_tax: before,
            unexempt_gst_tax: tax,
            unexempt_after_tax: taxed,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn family() -> Family {
        Family {
            estate: dec!(50000000),
            growth: dec!(0.06),
            years: 20,
            start: 2026,
            married: true,
            donees: 4,
            inflation: dec!(0.025),
            rate: dec!(0.05),
            state: None,
            grat_share: dec!(0.3),
            clat_share: dec!(0.2),
            clat_years: 20,
        }
    }

    #[test]
    fn exclusions_are_indexed_and_rounded_down() {
        assert_eq!(exclusions(2026, dec!(0.025)), (dec!(15000000), dec!(19000)));
        // 2027: $15,000,000 × 1.025 = $15,375,000 → $15,370,000; the annual exclusion from
        // $19,400 (2026's non-citizen $194,000 over ten), not the rounded $19,000: $19,885 →
        // $19,000, then 2028's $20,382.13 → $20,000 (from $19,000 it would be $19,962 → $19,000).
        assert_eq!(exclusions(2027, dec!(0.025)), (dec!(15370000), dec!(19000)));
        assert_eq!(exclusions(2028, dec!(0.025)).1, dec!(20000));
        assert_eq!(exclusions(2030, dec!(0.025)).1, dec!(21000));
    }

    #[test]
    fn every_strategy_beats_doing_nothing_on_a_large_estate() {
        let out = compare(&family()).unwrap();
        let names: Vec<&str> = out.iter().map(|o| o.strategy).collect();
        assert_eq!(names, ["no_planning", "annual_gifts", "grat_programme", "dynasty_trust", "charitable_lead_trust"]);
        // No planning: $50M at 6% for 20 years is $160,356,774.14; taxed above 2046's
        // exclusion plus the $15,000,000 DSUE.
        let none = &out[0];
        assert_eq!(none.estate_at_death, (dec!(50000000) * dec!(1.06).powi(20)).round_dp(2));
        let (basic, _) = exclusions(2046, dec!(0.025));
        let expected = tentative_tax(none.estate_at_death) - tentative_tax(basic + dec!(15000000));
        assert_eq!(none.federal_tax, expected.round_dp(2));
        assert_eq!(none.to_heirs, none.estate_at_death - none.federal_tax);
        // Gifts, GRATs and the dynasty trust leave the heirs more; the lead trust pays less tax
        // but gives its annuity away.
        for o in &out[1..4] {
            assert!(o.saved > Decimal::ZERO, "{o:?}");
            assert!(o.to_heirs + o.federal_tax <= none.estate_at_death, "no more than everything grew to: {o:?}");
        }
        assert!(out[4].federal_tax < none.federal_tax && out[4].to_charity > Decimal::ZERO, "{:?}", out[4]);
        // The dynasty trust's $30,000,000 gift is added back at its value when made.
        assert_eq!(out[3].adjusted_taxable_gifts, dec!(30000000));
        // The lead trust gives charity its annuity for 20 years.
        assert!(out[4].to_charity > dec!(8000000));
    }

    #[test]
    fn a_death_within_the_last_grats_term_brings_it_back() {
        // 21 years: ten two-year GRATs run out; the eleventh is a year into its term at the
        // death. $X funded at 5% for two years pays X / 1.859410 a year; a year on the trust
        // holds 1.06X less the first payment, and the second payment over 5% is twenty times
        // it, so the whole trust is in the estate and nothing more passes.
        let even = compare(&Family { years: 20, ..family() }).unwrap();
        let odd = compare(&Family { years: 21, clat_years: 20, ..family() }).unwrap();
        let (before, after) = (&even[2], &odd[2]);
        assert_eq!(before.trusts_included, Decimal::ZERO);
        assert!(after.trusts_included > Decimal::ZERO, "{after:?}");
        // The estate at 20 years funds the eleventh GRAT with 30% of it.
        let funding = (before.estate_at_death * dec!(0.3)).round_dp(2);
        let annuity = crate::grat::value(&crate::grat::Terms {
            funding,
            years: 2,
            rate: dec!(0.05),
            step_up: Decimal::ZERO,
            first_payment: None,
        })
        .unwrap()
        .payments[0];
        // (To a cent or two: the 20-year figures are rounded, the 21-year ones carry on from
        // the unrounded.)
        let close = |a: Decimal, b: Decimal| assert!((a - b).abs() <= dec!(0.02), "{a} vs {b}");
        close(after.trusts_included, funding * dec!(1.06) - annuity);
        // Nothing more passed in the 21st year: what was outside only grew.
        close(after.outside_estate, before.outside_estate * dec!(1.06));
        close(after.estate_at_death, before.estate_at_death * dec!(1.06));
        // At a §7520 rate so high that the annuity needs less than the trust, the rest passes.
        assert_eq!(crate::grat::included_at_death(dec!(1000), dec!(10), dec!(0.05)), dec!(200));
        assert_eq!(crate::grat::included_at_death(dec!(1000), dec!(10), Decimal::ZERO), dec!(1000));
    }

    #[test]
    fn a_state_and_bad_inputs() {
        let ny = compare(&Family { state: Some("NY".into()), ..family() }).unwrap();
        assert!(ny[0].state_tax > Decimal::ZERO);
        assert_eq!(compare(&Family { clat_years: 30, ..family() }).unwrap_err().field, "clat_years");
        assert_eq!(compare(&Family { years: 0, ..family() }).unwrap_err().field, "years");
    }

    #[test]
    fn dynasty_generations() {
        // $10M at 6% less 2% distributions for 3 generations of 30 years: ×1.04^30 each;
        // unexempt, 40% of each generation's end goes in GST tax.
        let g = dynasty(dec!(10000000), dec!(0.06), dec!(0.02), 3, 30).unwrap();
        let f = dec!(1.04).powi(30);
        assert_eq!(g[0].after_tax, (dec!(10000000) * f).round_dp(2));
        assert_eq!(g[0].unexempt_gst_tax, (g[0].unexempt_before_tax * dec!(0.4)).round_dp(2));
        assert!(g[2].after_tax > g[2].unexempt_after_tax * dec!(4));
        assert_eq!(dynasty(dec!(1), dec!(0.06), dec!(0), 7, 30).unwrap_err().field, "generations");
    }
}
