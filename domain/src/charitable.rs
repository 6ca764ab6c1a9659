//! Split-interest charitable trusts: charitable remainder annuity and unitrusts (CRAT, CRUT,
//! IRC §664) and charitable lead annuity and unitrusts (CLAT, CLUT, §170(f)(2)(B), §2522(c)(2)(B)),
//! valued with the IRS's actuarial factors (`crate::actuarial`) at the §7520 rate.
//!
//! - A trust pays for a term of years, for one life, or until the last of two lives ends (a
//!   couple's trust; §664(d)(1)(A) allows "the life or lives" of individuals living when it is
//!   made). An annuity trust pays a fixed sum (the payout rate times the funding, or the payment
//!   given), a unitrust a fixed share of each year's value.
//! - The payments' value: an annuity's times Table B's (term), Table S's (one life) or the
//!   two-life annuity factor from Table R(2) (two lives), times Table K's for several payments a
//!   year, plus the first payment's share for payments at each period's beginning
//!   (§20.2031-7(d)(2)(iv), §1.664-2(c)); a unitrust's as the funding less the remainder, the
//!   remainder being the funding times Table D's (term), Table U(1)'s (one life) or Table U(2)'s
//!   (two lives) factor at the payout rate adjusted by Table F (§1.664-4(e)), the adjusted rate
//!   to a thousandth of a percent as the regulation's example takes it.
//! - A remainder trust's charitable deduction is the remainder; a lead trust's is the payments'
//!   value, and the remainder passing to the family is a taxable gift (zeroed out when the
//!   payment is not given: the payment that makes the lead interest the whole funding).
//! - A remainder trust qualifies (§664(d)(1), (d)(2)) when its payout is 5% to 50%, its term is at
//!   most 20 years, and the remainder is at least 10% of the funding. An annuity trust for a life
//!   must also leave at most a 5% chance that the beneficiary outlives the trust (Rev. Rul.
//!   77-374, 1977-2 C.B. 329): the trust is run at the §7520 rate, paying as drafted, to the first
//!   payment it cannot make in full; the chance is that of being alive at that payment, its time
//!   rounded to whole years (a year's payments count where one falls in its second half). For two
//!   lives it is the chance that at least one of them is alive then.

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::actuarial::{self, Timing};
use crate::estate::EstateError;

/// The four kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Charitable remainder annuity trust: a fixed sum to the donor, the rest to charity.
    Crat,
    /// Charitable remainder unitrust: a share of each year's value to the donor.
    Crut,
    /// Charitable lead annuity trust: a fixed sum to charity, the rest to the family.
    Clat,
    /// Charitable lead unitrust.
    Clut,
}

impl Kind {
    fn annuity(self) -> bool {
        matches!(self, Self::Crat | Self::Clat)
    }
    fn lead(self) -> bool {
        matches!(self, Self::Clat | Self::Clut)
    }
}

impl std::str::FromStr for Kind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "crat" => Ok(Self::Crat),
            "crut" => Ok(Self::Crut),
            "clat" => Ok(Self::Clat),
            "clut" => Ok(Self::Clut),
            other => Err(format!("{other:?} is not crat, crut, clat or clut")),
        }
    }
}

/// A trust's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Terms {
    pub kind: Kind,
    pub funding: Decimal,
    /// The payout as a share of the funding (a unitrust's share of each year's value).
    pub payout_rate: Option<Decimal>,
    /// An annuity trust's yearly payment, instead of the rate.
    pub payment: Option<Decimal>,
    /// A term of years, or the life of one aged `age` (at the nearest birthday).
    pub years: Option<u32>,
    pub age: Option<u32>,
    /// With `age`, a second life aged `age2`: the trust pays until the last of the two dies.
    pub age2: Option<u32>,
    /// The §7520 rate.
    pub rate: Decimal,
    /// Payments a year (1, 2, 4, 12) and when in the period.
    pub frequency: u32,
    pub timing: Timing,
    /// A unitrust's one annual payment this many months after the valuation date.
    pub months_to_first: Option<u32>,
}

/// One of §664(d)'s tests, or Rev. Rul. 77-374's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Test {
    pub name: &'static str,
    pub passes: bool,
    pub detail: String,
}

/// When an annuity trust for a life would run dry at the §7520 rate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Exhaustion {
    /// The payments made in full, and the years to the first that is not.
    pub full_payments: u32,
    pub years: u32,
    /// The chance the beneficiary is alive then, or for two that at least one is (Table 2010CM).
    pub probability: Decimal,
}

/// A trust valued at funding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct CharitableTrust {
    pub kind: Kind,
    pub funding: Decimal,
    pub rate: Decimal,
    pub years: Option<u32>,
    pub age: Option<u32>,
    pub age2: Option<u32>,
    pub frequency: u32,
    pub timing: Timing,
    pub payout_rate: Decimal,
    /// An annuity trust's yearly payment.
    pub annual_payment: Option<Decimal>,
    /// Table K's (annuity) or Table F's (unitrust) adjustment, and a unitrust's adjusted payout.
    pub adjustment: Decimal,
    pub adjusted_payout_rate: Option<Decimal>,
    /// The annuity factor (annuity trusts, adjusted) or the remainder factor (unitrusts).
    pub factor: Decimal,
    /// The payments' value and the remainder's.
    pub payments_value: Decimal,
    pub remainder_value: Decimal,
    /// What the donor deducts: the remainder (remainder trusts) or the payments (lead trusts).
    pub charitable_deduction: Decimal,
    /// A lead trust's remainder to the family: a taxable gift.
    pub taxable_gift: Decimal,
    pub exhaustion: Option<Exhaustion>,
    pub tests: Vec<Test>,
    /// Every test passes.
    pub qualifies: bool,
}

fn bad(field: &'static str, problem: impl Into<String>) -> EstateError {
    EstateError { field, problem: problem.into() }
}

/// How long a trust pays.
#[derive(Debug, Clone, Copy)]
enum Measure {
    Term(u32),
    Life(u32),
    /// Until the last of two dies.
    Lives(u32, u32),
}

impl Measure {
    /// From the terms, or the field that is wrong.
    fn of(t: &Terms) -> Result<Self, EstateError> {
        match (t.years, t.age, t.age2) {
            (Some(_), Some(_), _) => Err(bad("age", "give years or age, not both")),
            (Some(_), None, Some(_)) => Err(bad("age2", "a second life goes with age, not with years")),
            (None, None, Some(_)) => Err(bad("age2", "a second life needs age, the first one's")),
            (None, None, None) => Err(bad("years", "give the term in years or the beneficiary's age")),
            (Some(y), None, None) if !(1..=100).contains(&y) => Err(bad("years", format!("{y} is not 1 to 100"))),
            (Some(y), None, None) => Ok(Self::Term(y)),
            (None, Some(a), None) => Ok(Self::Life(a)),
            (None, Some(a), Some(b)) => Ok(Self::Lives(a, b)),
        }
    }

    /// The youngest life's age (none for a term).
    fn youngest(self) -> Option<u32> {
        match self {
            Self::Term(_) => None,
            Self::Life(a) => Some(a),
            Self::Lives(a, b) => Some(a.min(b)),
        }
    }

    /// The chance the trust's lives have not all ended `years` on.
    fn alive(self, years: u32) -> Decimal {
        match self {
            Self::Term(_) => Decimal::ONE,
            Self::Life(a) => actuarial::survival(a, years),
            Self::Lives(a, b) => actuarial::last_survivor(a, b, years),
        }
    }
}

fn percent(d: Decimal) -> String {
    format!("{}%", (d * Decimal::ONE_HUNDRED).round_dp(3).normalize())
}

/// The trust of `t`, or the field that is wrong.
pub fn value(t: &Terms) -> Result<CharitableTrust, EstateError> {
    crate::estate::none_negative(&[("funding", t.funding), ("rate", t.rate)])?;
    if t.funding.is_zero() {
        return Err(bad("funding", "a trust needs funding"));
    }
    let most = Decimal::from(1_000_000_000_000_i64);
    for (field, v) in [("funding", Some(t.funding)), ("payment", t.payment)] {
        if v.is_some_and(|v| v >= most) {
            return Err(bad(field, "must be below $1,000,000,000,000"));
        }
    }
    actuarial::check_frequency(t.frequency)?;
    let measure = Measure::of(t)?;
    let m = Decimal::from(t.frequency);
    // What each kind computes: the payout rate, the yearly payment, the adjustment and the
    // adjusted payout, the factor, the payments' value, and when an annuity trust runs dry.
    let (payout_rate, annual_payment, adjustment, adjusted_payout_rate, factor, payments_value, exhaustion) = if t
        .kind
        .annuity()
    {
        let k = actuarial::annuity_adjustment(t.rate, t.frequency)?;
        let base = match measure {
            Measure::Term(y) => actuarial::term_annuity(y, t.rate)?,
            Measure::Life(a) => actuarial::life_annuity(a, t.rate)?,
            Measure::Lives(a, b) => actuarial::last_survivor_annuity(a, b, t.rate)?,
        };
        // Paid at each period's beginning: a term-certain annuity is worth (1 + i)^(1/m)
        // times as much; a life annuity adds its first payment.
        let factor = match (t.timing, measure) {
            (Timing::End, _) => base * k,
            (Timing::Beginning, Measure::Term(_)) => {
                base * k * rust_decimal::MathematicalOps::powd(&(Decimal::ONE + t.rate), Decimal::ONE / m)
            }
            (Timing::Beginning, _) => base * k + Decimal::ONE / m,
        }
        .round_dp(6);
        let payment = match (t.payment, t.payout_rate) {
            (Some(_), Some(_)) => return Err(bad("payment", "give payment or payout_rate, not both")),
            (Some(p), None) if p <= Decimal::ZERO => return Err(bad("payment", format!("{p} is not above zero"))),
            (Some(p), None) => p,
            (None, Some(r)) if r <= Decimal::ZERO => return Err(bad("payout_rate", format!("{r} is not above zero"))),
            (None, Some(r)) => (t.funding * r).round_dp(2),
            (None, None) if t.kind == Kind::Clat && !factor.is_zero() => {
                (t.funding / factor).round_dp_with_strategy(2, RoundingStrategy::AwayFromZero)
            }
            (None, None) => return Err(bad("payout_rate", "give the payout rate or the yearly payment")),
        };
        let exhaustion = match (t.kind, measure.youngest()) {
            (Kind::Crat, Some(age)) => Some(exhaustion(t, payment, measure, age)),
            _ => None,
        };
        let payments_value = (payment * factor).round_dp(2).min(t.funding);
        ((payment / t.funding).round_dp(6), Some(payment), k, None, factor, payments_value, exhaustion)
    } else {
        if t.payment.is_some() {
            return Err(bad("payment", "a unitrust pays a share of its value: give payout_rate"));
        }
        let payout = t.payout_rate.ok_or_else(|| bad("payout_rate", "a unitrust needs its payout rate"))?;
        if payout <= Decimal::ZERO {
            return Err(bad("payout_rate", format!("{payout} is not above zero")));
        }
        let f = actuarial::payout_adjustment(t.rate, t.frequency, t.timing, t.months_to_first)?;
        let adjusted = (payout * f).round_dp(5);
        let factor = match measure {
            Measure::Term(y) => actuarial::unitrust_term_remainder(y, adjusted)?,
            Measure::Life(a) => actuarial::unitrust_life_remainder(a, adjusted)?,
            Measure::Lives(a, b) => actuarial::unitrust_last_survivor_remainder(a, b, adjusted)?,
        };
        let payments_value = t.funding - (t.funding * factor).round_dp(2);
        (payout, None, f, Some(adjusted), factor, payments_value, None)
    };
    let remainder_value = t.funding - payments_value;
    let lead = t.kind.lead();
    let mut trust = CharitableTrust {
        kind: t.kind,
        funding: t.funding,
        rate: t.rate,
        years: t.years,
        age: t.age,
        age2: t.age2,
        frequency: t.frequency,
        timing: t.timing,
        payout_rate,
        annual_payment,
        adjustment,
        adjusted_payout_rate,
        factor,
        payments_value,
        remainder_value,
        charitable_deduction: if lead { payments_value } else { remainder_value },
        taxable_gift: if lead { remainder_value } else { Decimal::ZERO },
        exhaustion,
        tests: Vec::new(),
        qualifies: true,
    };
    if !lead {
        trust.tests = remainder_tests(&trust);
    }
    trust.qualifies = trust.tests.iter().all(|x| x.passes);
    Ok(trust)
}

/// §664(d)'s tests, and Rev. Rul. 77-374's for an annuity trust for a life.
fn remainder_tests(t: &CharitableTrust) -> Vec<Test> {
    let (low, high, tenth) = (Decimal::new(5, 2), Decimal::new(5, 1), Decimal::new(1, 1));
    // The exact share paid, not the rounded one shown: $49,999.99 on $1,000,000 is under 5%.
    let paid = t.annual_payment.map_or(t.payout_rate, |p| p / t.funding);
    let section = if t.kind == Kind::Crat { "§664(d)(1)" } else { "§664(d)(2)" };
    let mut tests = vec![
        Test {
            name: "payout_at_least_5_percent",
            passes: paid >= low,
            detail: format!("pays {} of the funding; {section}(A) asks at least 5%", percent(t.payout_rate)),
        },
        Test {
            name: "payout_at_most_50_percent",
            passes: paid <= high,
            detail: format!("pays {}; {section}(A) allows at most 50%", percent(t.payout_rate)),
        },
    ];
    if let Some(y) = t.years {
        tests.push(Test {
            name: "term_at_most_20_years",
            passes: y <= 20,
            detail: format!("a term of {y} years; {section}(A) allows at most 20"),
        });
    }
    let share = if t.funding.is_zero() { Decimal::ZERO } else { t.remainder_value / t.funding };
    tests.push(Test {
        name: "remainder_at_least_10_percent",
        passes: share >= tenth,
        detail: format!(
            "the remainder is {} of the funding; {section}(D) asks at least 10%",
            percent(share.round_dp(5))
        ),
    });
    if let Some(e) = &t.exhaustion {
        let who = if t.age2.is_some() { "at least one of the two beneficiaries" } else { "the beneficiary" };
        tests.push(Test {
            name: "exhaustion_probability_at_most_5_percent",
            passes: e.probability <= Decimal::new(5, 2),
            detail: format!(
                "at the §7520 rate the trust makes {} payments in full and runs dry in year {}, when {who} \
                 is alive with probability {}; Rev. Rul. 77-374 allows at most 5%",
                e.full_payments,
                e.years,
                percent(e.probability.round_dp(6))
            ),
        });
    }
    tests
}

/// Rev. Rul. 77-374: the trust run at the §7520 rate, paying `annual` a year as drafted, for the
/// lives of `measure`, the youngest aged `age`.
fn exhaustion(t: &Terms, annual: Decimal, measure: Measure, age: u32) -> Exhaustion {
    let m = t.frequency;
    let per_period =
        rust_decimal::MathematicalOps::powd(&(Decimal::ONE + t.rate), Decimal::ONE / Decimal::from(m)) - Decimal::ONE;
    let payment = annual / Decimal::from(m);
    let mut balance = t.funding;
    let last = (actuarial::OLDEST + 1 - age) * m;
    for k in 1..=last {
        if t.timing == Timing::End {
            balance *= Decimal::ONE + per_period;
        }
        if balance < payment {
            let at = match t.timing {
                Timing::End => Decimal::from(k),
                Timing::Beginning => Decimal::from(k - 1),
            } / Decimal::from(m);
            let years = rust_decimal::prelude::ToPrimitive::to_u32(
                &at.round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero),
            )
            .unwrap_or(u32::MAX);
            return Exhaustion { full_payments: k - 1, years, probability: measure.alive(years) };
        }
        balance -= payment;
        if t.timing == Timing::Beginning {
            balance *= Decimal::ONE + per_period;
        }
    }
    Exhaustion { full_payments: last, years: actuarial::OLDEST + 1 - age, probability: Decimal::ZERO }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn terms(kind: Kind, rate: Decimal) -> Terms {
        Terms {
            kind,
            funding: dec!(1000000),
            payout_rate: Some(dec!(0.05)),
            payment: None,
            years: None,
            age: None,
            age2: None,
            rate,
            frequency: 1,
            timing: Timing::End,
            months_to_first: None,
        }
    }

    fn test<'a>(t: &'a CharitableTrust, name: &str) -> &'a Test {
        t.tests.iter().find(|x| x.name == name).unwrap_or_else(|| panic!("no {name} in {:?}", t.tests))
    }

    #[test]
    fn a_crat_paying_the_rate_never_runs_dry() {
        // One aged 72 at 5%: Table S's annuity factor 9.2615; $50,000 a year is worth $463,075.
        let t = value(&Terms { age: Some(72), ..terms(Kind::Crat, dec!(0.05)) }).unwrap();
        assert_eq!(t.annual_payment, Some(dec!(50000)));
        assert_eq!(t.factor, dec!(9.2615));
        assert_eq!(t.payments_value, dec!(463075.00));
        assert_eq!(t.charitable_deduction, dec!(536925.00));
        assert_eq!(t.exhaustion.as_ref().map(|e| e.probability), Some(Decimal::ZERO));
        assert!(t.qualifies, "{:?}", t.tests);
    }

    #[test]
    fn a_crat_failing_the_five_percent_test() {
        // One aged 60 at 2.2%: annuity factor 17.2718, so $50,000 a year is worth $863,590 and the
        // remainder, 13.6%, passes the 10% test. Run at 2.2% the trust pays 26 times in full
        // (B = 2,272,727 − 1,272,727 × 1.022^k) and cannot pay the 27th, at 87, which one aged 60
        // reaches with probability l87 / l60 = 34,313.98 / 88,665.95 = 38.7%: no deduction.
        let t = value(&Terms { age: Some(60), ..terms(Kind::Crat, dec!(0.022)) }).unwrap();
        assert_eq!(t.factor, dec!(17.2718));
        assert_eq!(t.remainder_value, dec!(136410.00));
        assert!(test(&t, "remainder_at_least_10_percent").passes);
        let e = t.exhaustion.clone().unwrap();
        assert_eq!((e.full_payments, e.years), (26, 27));
        assert_eq!(e.probability.round_dp(6), (dec!(34313.98) / dec!(88665.95)).round_dp(6));
        assert!(!test(&t, "exhaustion_probability_at_most_5_percent").passes);
        assert!(!t.qualifies);
        // Paying 10% it also fails the 10% test: the payments are worth more than the funding.
        let t = value(&Terms { age: Some(60), payout_rate: Some(dec!(0.1)), ..terms(Kind::Crat, dec!(0.05)) }).unwrap();
        assert_eq!(t.remainder_value, Decimal::ZERO);
        assert!(!test(&t, "remainder_at_least_10_percent").passes);
    }

    #[test]
    fn the_regulations_crut_example() {
        // §1.664-4(e)(6): $100,000, 8% quarterly at each quarter's end for 12 years at 9.6%.
        let t = value(&Terms {
            funding: dec!(100000),
            payout_rate: Some(dec!(0.08)),
            years: Some(12),
            frequency: 4,
            ..terms(Kind::Crut, dec!(0.096))
        })
        .unwrap();
        assert_eq!(t.adjustment, dec!(0.944628));
        assert_eq!(t.adjusted_payout_rate, Some(dec!(0.07557)));
        assert_eq!(t.remainder_value, dec!(38950.30));
        assert!(t.qualifies);
        // A life unitrust: 5% a year at each year's end at 3.2% for one aged 77: Table F
        // .968992, adjusted 4.845%, Table U(1) between .61491 (4.8%) and .60343 (5.0%).
        let t = value(&Terms { funding: dec!(100000), age: Some(77), ..terms(Kind::Crut, dec!(0.032)) }).unwrap();
        assert_eq!(t.adjusted_payout_rate, Some(dec!(0.04845)));
        assert_eq!(t.factor, dec!(0.612327));
        assert_eq!(t.remainder_value, dec!(61232.70));
        // A term over 20 years and a payout under 5% fail.
        let t =
            value(&Terms { years: Some(25), payout_rate: Some(dec!(0.04)), ..terms(Kind::Crut, dec!(0.05)) }).unwrap();
        assert!(!test(&t, "term_at_most_20_years").passes && !test(&t, "payout_at_least_5_percent").passes);
    }

    #[test]
    fn a_zeroed_out_clat() {
        // 20 years at 5%: Table B's annuity factor 12.4622; $80,242.66 a year (1,000,000 / 12.4622 rounded up to the cent) to charity makes
        // the lead interest the whole funding and the family's remainder no gift.
        let t = value(&Terms { years: Some(20), payout_rate: None, ..terms(Kind::Clat, dec!(0.05)) }).unwrap();
        assert_eq!(t.factor, dec!(12.4622));
        assert_eq!(t.annual_payment, Some(dec!(80242.66)));
        assert_eq!(t.charitable_deduction, dec!(1000000));
        assert_eq!(t.taxable_gift, Decimal::ZERO);
        // Paying $60,000 the family's remainder is a gift of $252,268.
        let t = value(&Terms {
            years: Some(20),
            payout_rate: None,
            payment: Some(dec!(60000)),
            ..terms(Kind::Clat, dec!(0.05))
        })
        .unwrap();
        assert_eq!(t.taxable_gift, dec!(252268.00));
        assert!(t.tests.is_empty() && t.qualifies);
    }

    #[test]
    fn a_couples_crut_until_the_last_death() {
        // 65 and 62, 5% a year at each year's end at 5%: Table F .952381, adjusted 4.762%, Table
        // U(2) between .31811 (4.6%) and .30316 (4.8%): .31811 − .01495 × .81 = .306000.
        let t = value(&Terms { age: Some(65), age2: Some(62), ..terms(Kind::Crut, dec!(0.05)) }).unwrap();
        assert_eq!(t.adjusted_payout_rate, Some(dec!(0.04762)));
        assert_eq!(t.factor, dec!(0.306000));
        assert_eq!(t.remainder_value, dec!(306000.00));
        assert_eq!((t.age, t.age2), (Some(65), Some(62)));
        assert!(t.qualifies, "{:?}", t.tests);
        // Either order; less than for the younger alone.
        let swapped = value(&Terms { age: Some(62), age2: Some(65), ..terms(Kind::Crut, dec!(0.05)) }).unwrap();
        assert_eq!(swapped.remainder_value, t.remainder_value);
        let one = value(&Terms { age: Some(62), ..terms(Kind::Crut, dec!(0.05)) }).unwrap();
        assert!(one.remainder_value > t.remainder_value);
    }

    #[test]
    fn a_couples_crat_and_the_five_percent_test() {
        // 72 and 70 at 5% paying 5%: (1 − .41297) / .05 = 11.7406; the trust never runs dry.
        let t = value(&Terms { age: Some(72), age2: Some(70), ..terms(Kind::Crat, dec!(0.05)) }).unwrap();
        assert_eq!(t.factor, dec!(11.7406));
        assert_eq!(t.payments_value, dec!(587030.00));
        assert_eq!(t.charitable_deduction, dec!(412970.00));
        assert_eq!(t.exhaustion.as_ref().map(|e| e.probability), Some(Decimal::ZERO));
        assert!(t.qualifies, "{:?}", t.tests);
        // At 2.2% the factor is (1 − .66604) / .022 = 15.18 and the remainder, 24.1%, passes the
        // 10% test, but the trust cannot make its 27th payment, when one of them is alive with
        // probability p + q − pq, p = l99 / l72, q = l97 / l70: 10.09%. For 72 alone it is 3.64%.
        let t = value(&Terms { age: Some(72), age2: Some(70), ..terms(Kind::Crat, dec!(0.022)) }).unwrap();
        assert_eq!(t.factor, dec!(15.18));
        assert_eq!(t.remainder_value, dec!(241000.00));
        assert!(test(&t, "remainder_at_least_10_percent").passes);
        let e = t.exhaustion.clone().unwrap();
        assert_eq!(e.years, 27);
        let (p, q) = (dec!(2722.994) / dec!(74797.63), dec!(5218.261) / dec!(77957.53));
        assert_eq!(e.probability.round_dp(8), (p + q - p * q).round_dp(8));
        let five = test(&t, "exhaustion_probability_at_most_5_percent");
        assert!(!five.passes && five.detail.contains("at least one of the two"), "{five:?}");
        assert!(!t.qualifies);
        let one = value(&Terms { age: Some(72), ..terms(Kind::Crat, dec!(0.022)) }).unwrap();
        assert_eq!(one.exhaustion.unwrap().probability.round_dp(8), p.round_dp(8));
        assert!(one.qualifies, "{:?}", one.tests);
        // A lead annuity trust for the two, zeroed out: $1,000,000 / 11.7406 up to the cent.
        let t = value(&Terms { age: Some(72), age2: Some(70), payout_rate: None, ..terms(Kind::Clat, dec!(0.05)) })
            .unwrap();
        assert_eq!(t.annual_payment, Some(dec!(85174.53)));
        assert_eq!(t.taxable_gift, Decimal::ZERO);
    }

    #[test]
    fn the_payout_tests_take_the_exact_share() {
        let t = value(&Terms {
            years: Some(10),
            payout_rate: None,
            payment: Some(dec!(49999.99)),
            ..terms(Kind::Crat, dec!(0.05))
        })
        .unwrap();
        assert_eq!(t.payout_rate, dec!(0.050000));
        assert!(!test(&t, "payout_at_least_5_percent").passes);
    }

    #[test]
    fn bad_terms_name_their_field() {
        let both = Terms { years: Some(10), age: Some(60), ..terms(Kind::Crat, dec!(0.05)) };
        assert_eq!(value(&both).unwrap_err().field, "age");
        let none = terms(Kind::Crat, dec!(0.05));
        assert_eq!(value(&none).unwrap_err().field, "years");
        let old = Terms { age: Some(111), ..terms(Kind::Crut, dec!(0.05)) };
        assert_eq!(value(&old).unwrap_err().field, "age");
        let fixed = Terms { years: Some(10), payment: Some(dec!(1)), ..terms(Kind::Crut, dec!(0.05)) };
        assert_eq!(value(&fixed).unwrap_err().field, "payment");
        let often = Terms { years: Some(10), frequency: 3, ..terms(Kind::Crut, dec!(0.05)) };
        assert_eq!(value(&often).unwrap_err().field, "frequency");
        let second = Terms { age2: Some(60), ..terms(Kind::Crut, dec!(0.05)) };
        assert_eq!(value(&second).unwrap_err().field, "age2");
        let term = Terms { years: Some(10), age2: Some(60), ..terms(Kind::Crut, dec!(0.05)) };
        assert_eq!(value(&term).unwrap_err().field, "age2");
        let old2 = Terms { age: Some(60), age2: Some(110), ..terms(Kind::Crat, dec!(0.05)) };
        assert_eq!(value(&old2).unwrap_err().field, "age2");
    }
}
