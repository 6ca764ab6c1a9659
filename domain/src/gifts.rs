//! The federal gift tax, as Form 709 computes it, in `Decimal` to the cent.
//!
//! - Each donee's present-interest gifts of a year are excluded up to the year's annual
//!   exclusion (IRC §2503(b)); gifts of future interests get none (§2503(b)(1)).
//! - Gifts to a spouse who is a U.S. citizen are deducted in full (§2523(a)); to a spouse who
//!   is not, excluded up to the year's larger annual amount (§2523(i)(2)). Gifts to charity
//!   are deducted (§2522).
//! - A split gift (§2513) is treated as made half by each spouse, so each half takes its own
//!   exclusion; both spouses must consent (the caller records the consent).
//! - A contribution to a 529 plan may be spread over five years (§529(c)(2)(B)): up to five
//!   annual exclusions are treated as made ratably in the year and the next four; any excess is
//!   a gift of the first year.
//! - The tax of a year (§2502(a), Form 709 Part 2): the tentative tax (§2001(c),
//!   [`crate::estate::tentative_tax`]) on all taxable gifts so far less that on the gifts of
//!   earlier years, less the applicable credit not used before: the tentative tax on the
//!   year's basic exclusion amount plus any DSUE (§2505), less the credit allowed on earlier
//!   years' gifts (their tentative tax less the gift tax paid on them).
//!
//! [`history`] folds a donor's gifts year by year, so the exclusion used and left is known as of
//! any year.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::estate::{tentative_tax, year, EstateError};

/// Who received a gift, as the gift tax treats them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Donee {
    /// Anyone else (a child, a grandchild, a friend, a trust for them).
    #[default]
    Person,
    /// The donor's spouse, a U.S. citizen: the marital deduction.
    CitizenSpouse,
    /// The donor's spouse, not a U.S. citizen: the larger annual exclusion only.
    NoncitizenSpouse,
    /// A qualified charity: the charitable deduction.
    Charity,
    /// Tuition paid directly to a school, or medical care paid directly to its provider, for
    /// someone: excluded without limit (§2503(e)) and not a generation-skipping transfer
    /// (§2611(b)(1)).
    TuitionOrMedical,
}

/// One gift.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Gift {
    pub year: i32,
    /// The donee's name: each donee has an exclusion of its own.
    pub donee: String,
    #[serde(default = "person")]
    pub kind: Donee,
    pub amount: Decimal,
    /// A present interest (outright, or to a trust with withdrawal rights); a future interest
    /// gets no annual exclusion.
    #[serde(default = "yes")]
    pub present_interest: bool,
    /// Split with the donor's spouse (§2513): half of it is the spouse's gift.
    #[serde(default)]
    pub split: bool,
    /// A 529 contribution spread over five years (§529(c)(2)(B)).
    #[serde(default)]
    pub superfund_529: bool,
    /// The donee is a skip person (a grandchild: `crate::gst`): a direct skip, allocated GST
    /// exemption, its GST tax a further gift.
    #[serde(default)]
    pub skip: bool,
    /// A share of a gift in trust (a Crummey trust's): as a direct skip, the part within the
    /// annual exclusion still takes GST exemption, since only a trust for one individual alone,
    /// included in that individual's estate, gets a zero inclusion ratio for it (§2642(c)(2)).
    #[serde(default)]
    pub to_trust: bool,
    /// GST exemption allocated on the return to a gift that is not a direct skip: a trust
    /// that may benefit skip persons (§2632(a), Form 709 Schedule D Part 2), which lowers the
    /// trust's inclusion ratio. A direct skip takes the exemption automatically and ignores it.
    #[serde(default)]
    pub gst_allocation: Decimal,
}

/// A gift recorded on the household's ledger stream (`GiftRecorded`), so the exclusion used and
/// left is a fold over the ledger as of any instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RecordedGift {
    /// `G1`, `G2`, … in recording order (assigned when recorded).
    pub id: String,
    pub date: chrono::NaiveDate,
    /// The member who gave it.
    pub donor: String,
    /// Who received it: a member's name or anyone else's.
    pub donee: String,
    /// As the gift tax treats the donee; a member who is the spouse is taken from the member's
    /// citizenship when recorded.
    pub kind: Donee,
    pub amount: Decimal,
    pub present_interest: bool,
    pub split: bool,
    pub superfund_529: bool,
    /// GST exemption allocated to it on the return (see [`Gift::gst_allocation`]).
    #[serde(default, skip_serializing_if = "Decimal::is_zero")]
    pub gst_allocation: Decimal,
}

impl RecordedGift {
    /// As the gift tax reads it.
    pub fn gift(&self) -> Gift {
        Gift {
            year: chrono::Datelike::year(&self.date),
            donee: self.donee.clone(),
            kind: self.kind,
            amount: self.amount,
            present_interest: self.present_interest,
            split: self.split,
            superfund_529: self.superfund_529,
            skip: false,
            to_trust: false,
            gst_allocation: self.gst_allocation,
        }
    }
}

/// The gift `gift` records on `ledger` at `now`, its id assigned, or why not (the field named):
/// - its date is on or before the household's today, in a year of the tables or after;
/// - its amount is above 0 and its donor is a member; the donee is someone else;
/// - a donee who is the member recorded as the donor's spouse takes the marital treatment of
///   the spouse's citizenship (§2523(a), §2523(i)), whatever kind was given; a spouse kind for
///   anyone else, or a charity that is a member, is refused;
/// - a split gift (§2513) needs the donor's spouse as a member, and cannot be to the spouse;
/// - the gift itself must pass [`history`] (a 529 gift spread over five years is to a person).
pub fn decide_record(
    ledger: &crate::ledger::Ledger,
    gift: &RecordedGift,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<RecordedGift, crate::DomainError> {
    use crate::family::Relationship;
    let bad = |field: &str, problem: String| crate::DomainError::Rejected { line: None, field: field.into(), problem };
    let today = ledger.local_date(now);
    if gift.date > today {
        return Err(bad("date", format!("{} is after today ({today})", gift.date)));
    }
    let first = crate::estate::YEARS.first().expect("the table has a year").year;
    if chrono::Datelike::year(&gift.date) < first {
        return Err(bad(
            "date",
            format!("{} is before {first}, cairn's first year; carry earlier gifts as prior_taxable_gifts", gift.date),
        ));
    }
    if gift.amount <= Decimal::ZERO {
        return Err(bad("amount", format!("{} is not above 0", gift.amount)));
    }
    let donor = ledger.members.get(gift.donor.trim()).ok_or_else(|| {
        let names: Vec<&str> = ledger.members.keys().map(String::as_str).collect();
        bad("donor", format!("{:?} is not a member of the household (members: {})", gift.donor, names.join(", ")))
    })?;
    let donee = gift.donee.trim();
    if donee.is_empty() || donee == donor.name {
        return Err(bad("donee", "must name someone other than the donor".into()));
    }
    // The donor's spouse, as recorded.
    let spouse_of = donor.relationship.and_then(Relationship::spouse);
    let spouse = spouse_of.and_then(|r| ledger.members.values().find(|m| m.relationship == Some(r)));
    let mut kind = gift.kind;
    match (spouse, ledger.members.get(donee)) {
        (Some(s), Some(m)) if s.name == m.name => {
            if kind == Donee::Charity {
                return Err(bad("kind", format!("{donee} is the donor's spouse, not a charity")));
            }
            kind = if m.citizen == Some(false) { Donee::NoncitizenSpouse } else { Donee::CitizenSpouse };
        }
        (spouse, member) => {
            if kind.is_spouse() {
                let who = spouse.map_or("none is recorded".to_owned(), |s| format!("the spouse is {}", s.name));
                return Err(bad("kind", format!("{donee} is not the donor's spouse ({who})")));
            }
            if kind == Donee::Charity && member.is_some() {
                return Err(bad("kind", format!("{donee} is a member of the household, not a charity")));
            }
        }
    }
    if gift.split {
        if spouse.is_none() {
            return Err(bad("split", format!("a split gift needs {}'s spouse as a member, to consent", donor.name)));
        }
        if kind.is_spouse() {
            return Err(bad("split", "a gift to the spouse cannot be split".into()));
        }
    }
    let recorded = RecordedGift {
        id: format!("G{}", ledger.gifts_recorded + 1),
        donor: donor.name.clone(),
        donee: donee.to_owned(),
        kind,
        ..gift.clone()
    };
    history(&[recorded.gift()], &Before::default()).map_err(|e| bad(e.field, e.problem))?;
    Ok(recorded)
}

fn person() -> Donee {
    Donee::Person
}

fn yes() -> bool {
    true
}

impl Donee {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Person => "person",
            Self::CitizenSpouse => "citizen_spouse",
            Self::NoncitizenSpouse => "noncitizen_spouse",
            Self::Charity => "charity",
            Self::TuitionOrMedical => "tuition_or_medical",
        }
    }

    /// Whether the donee is the donor's spouse.
    pub fn is_spouse(self) -> bool {
        matches!(self, Self::CitizenSpouse | Self::NoncitizenSpouse)
    }
}

impl std::str::FromStr for Donee {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [Self::Person, Self::CitizenSpouse, Self::NoncitizenSpouse, Self::Charity, Self::TuitionOrMedical]
            .into_iter()
            .find(|d| d.as_str() == s.trim())
            .ok_or_else(|| {
                format!(
                    "unknown donee kind {s:?}; expected person, citizen_spouse, noncitizen_spouse, charity or \
                     tuition_or_medical"
                )
            })
    }
}

/// Form 709's summary of one donor's year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct GiftYear {
    pub year: i32,
    /// What was given in the year (a split gift's own half; a 529 gift spread over five years
    /// counts its part for the year).
    pub gifts: Decimal,
    pub exclusions: Decimal,
    pub marital_deduction: Decimal,
    pub charitable_deduction: Decimal,
    /// Line 1: the taxable gifts of the year.
    pub taxable_gifts: Decimal,
    /// Line 2: the taxable gifts of earlier years.
    pub prior_taxable_gifts: Decimal,
    /// Line 4, line 5 and line 6: the tentative tax on all of them, on the earlier ones, and
    /// the difference.
    pub tax_on_all: Decimal,
    pub tax_on_prior: Decimal,
    pub tentative_tax: Decimal,
    /// Line 7: the applicable credit on the basic exclusion amount plus DSUE.
    pub applicable_credit: Decimal,
    /// Line 8: the credit allowed on earlier years' gifts.
    pub prior_credit: Decimal,
    /// Line 12: the credit allowed this year.
    pub credit: Decimal,
    /// Line 14 (and 19): the gift tax of the year.
    pub gift_tax: Decimal,
    /// The basic exclusion amount plus DSUE not yet used by taxable gifts.
    pub exclusion_left: Decimal,
    /// Direct skips (gifts to skip persons) beyond the donees' annual exclusions (those within
    /// them have an inclusion ratio of zero, §2642(c)), the GST exemption allocated to them
    /// automatically (§2632(b)), their GST tax (included in `taxable_gifts`, §2515), and the
    /// GST exemption left.
    pub direct_skips: Decimal,
    /// All the GST exemption used in the year: the direct skips' and `gst_elected`.
    pub gst_exemption_allocated: Decimal,
    /// Of it, what the donor allocated to other gifts (trusts for skip persons), at most the
    /// exemption the direct skips left.
    pub gst_elected: Decimal,
    pub gst_tax: Decimal,
    pub gst_exemption_left: Decimal,
    /// A year past cairn's tables (a 529 gift's later fifths): its amounts are the latest
    /// year's, which indexing only raises.
    pub projected: bool,
}

/// The amounts of `y`: its own, or the latest year's for a year past the tables (marked); a
/// year before them is refused.
fn amounts_of(y: i32) -> Result<(&'static crate::estate::Year, bool), EstateError> {
    let latest = crate::estate::YEARS.last().expect("the table has a year");
    if y > latest.year {
        return Ok((latest, true));
    }
    year(y).map(|a| (a, false)).map_err(|p| EstateError { field: "year", problem: p })
}

/// A share of a gift that falls in one year, to one donee, with its character.
struct Part<'a> {
    year: i32,
    gift: &'a Gift,
    amount: Decimal,
}

/// The parts of `gift` that are the donor's, by year.
fn parts(gift: &Gift) -> Result<Vec<Part<'_>>, EstateError> {
    let bad = |field: &'static str, problem: String| EstateError { field, problem };
    if gift.amount < Decimal::ZERO {
        return Err(bad("amount", format!("{} is negative", gift.amount)));
    }
    if gift.gst_allocation < Decimal::ZERO || gift.gst_allocation > gift.amount {
        let problem = format!("{} is not from 0 to the gift's {}", gift.gst_allocation, gift.amount);
        return Err(bad("gst_allocation", problem));
    }
    if !gift.gst_allocation.is_zero() && gift.kind != Donee::Person {
        return Err(bad("gst_allocation", "only a gift to a person or a trust can be allocated GST exemption".into()));
    }
    let own = if gift.split { gift.amount / Decimal::TWO } else { gift.amount };
    if !gift.superfund_529 {
        return Ok(vec![Part { year: gift.year, gift, amount: own }]);
    }
    if gift.kind != Donee::Person || !gift.present_interest {
        return Err(bad("superfund_529", "a 529 plan's contribution is a present gift to a person".into()));
    }
    // Up to five annual exclusions of the year of the gift are spread; the excess is of the
    // first year.
    let cap = year(gift.year).map_err(|p| bad("year", p))?.annual_exclusion * Decimal::from(5);
    let spread = own.min(cap);
    let each = (spread / Decimal::from(5)).round_dp(2);
    let mut out: Vec<Part<'_>> = (0..5).map(|k| Part { year: gift.year + k, gift, amount: each }).collect();
    // The cents rounding leaves go to the first year, with the excess over the cap.
    out[0].amount += spread - each * Decimal::from(5) + (own - spread);
    Ok(out)
}

/// What a donor's returns before the gifts carry, and the unused exclusion received from a
/// deceased spouse.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Before {
    pub taxable_gifts: Decimal,
    pub gift_tax: Decimal,
    /// GST exemption allocated before.
    pub gst_allocated: Decimal,
    pub dsue: Decimal,
}

/// Every year in which the donor gave (or a spread 529 gift falls), each with its Form 709
/// summary, in order, after what `before` carries.
pub fn history(gifts: &[Gift], before: &Before) -> Result<Vec<GiftYear>, EstateError> {
    let Before { taxable_gifts: prior_taxable_gifts, gift_tax: prior_gift_tax, gst_allocated, dsue } = *before;
    let mut by_year: BTreeMap<i32, Vec<Part<'_>>> = BTreeMap::new();
    for gift in gifts {
        for part in parts(gift)? {
            by_year.entry(part.year).or_default().push(part);
        }
    }
    let mut prior = prior_taxable_gifts;
    let mut paid = prior_gift_tax;
    let mut gst_used = gst_allocated;
    let mut out = Vec::new();
    for (y, parts) in by_year {
        let (amounts, projected) = amounts_of(y)?;
        let (mut gifts, mut exclusions, mut marital, mut charitable) =
            (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
        // Each donee's present-interest gifts of the year share one exclusion; what a skip
        // person receives beyond it (and any future interest) is a direct skip, and so is the
        // whole of a share of a gift to a trust for several (§2642(c)(2)).
        let mut present: BTreeMap<(&str, bool), (Decimal, Decimal)> = BTreeMap::new();
        let mut direct_skips = Decimal::ZERO;
        let mut elected = Decimal::ZERO;
        for p in &parts {
            gifts += p.amount;
            if !p.gift.skip && !p.gift.amount.is_zero() {
                elected += p.gift.gst_allocation * (p.amount / p.gift.amount);
            }
            if p.gift.skip && matches!(p.gift.kind, Donee::CitizenSpouse | Donee::NoncitizenSpouse | Donee::Charity) {
                let problem = format!("a gift to {:?} (a spouse or a charity) is not a direct skip", p.gift.donee);
                return Err(EstateError { field: "skip", problem });
            }
            match p.gift.kind {
                Donee::CitizenSpouse => marital += p.amount,
                Donee::Charity => charitable += p.amount,
                Donee::TuitionOrMedical => exclusions += p.amount,
                Donee::Person | Donee::NoncitizenSpouse if p.gift.present_interest => {
                    let e = present.entry((p.gift.donee.as_str(), p.gift.kind == Donee::NoncitizenSpouse)).or_default();
                    e.0 += p.amount;
                    match (p.gift.skip, p.gift.to_trust) {
                        (true, true) => direct_skips += p.amount,
                        (true, false) => e.1 += p.amount,
                        _ => {}
                    }
                }
                _ if p.gift.skip => direct_skips += p.amount,
                _ => {}
            }
        }
        for ((_, noncitizen_spouse), (given, outright_skips)) in present {
            let cap = if noncitizen_spouse { amounts.noncitizen_spouse_exclusion } else { amounts.annual_exclusion };
            exclusions += given.min(cap);
            // The outright gifts to a skip person beyond the exclusion are direct skips (the
            // exclusion taken by them first: a trust share gains no GST from it).
            direct_skips += (outright_skips - cap).max(Decimal::ZERO);
        }
        // The year's direct skips take the exemption left (the year's basic exclusion amount
        // less what was allocated before); their tax is a gift too.
        let gst = crate::gst::direct_skip(direct_skips, amounts.basic_exclusion - gst_used)?;
        gst_used += gst.allocated;
        // Then what the donor allocated to other gifts, as far as the exemption goes.
        let elected = elected.round_dp(2).min((amounts.basic_exclusion - gst_used).max(Decimal::ZERO));
        gst_used += elected;
        let taxable = gifts - exclusions - marital - charitable + gst.tax;
        let tax_on_all = tentative_tax(prior + taxable);
        let tax_on_prior = tentative_tax(prior);
        let tentative = tax_on_all - tax_on_prior;
        let exclusion = amounts.basic_exclusion + dsue;
        let applicable_credit = tentative_tax(exclusion);
        let prior_credit = (tax_on_prior - paid).max(Decimal::ZERO);
        let credit = (applicable_credit - prior_credit).max(Decimal::ZERO).min(tentative);
        let gift_tax = tentative - credit;
        prior += taxable;
        paid += gift_tax;
        out.push(GiftYear {
            year: y,
            gifts,
            exclusions,
            marital_deduction: marital,
            charitable_deduction: charitable,
            taxable_gifts: taxable,
            prior_taxable_gifts: prior - taxable,
            tax_on_all,
            tax_on_prior,
            tentative_tax: tentative,
            applicable_credit,
            prior_credit,
            credit,
            gift_tax,
            exclusion_left: (exclusion - prior).max(Decimal::ZERO),
            direct_skips,
            gst_exemption_allocated: gst.allocated + elected,
            gst_elected: elected,
            gst_tax: gst.tax,
            gst_exemption_left: (amounts.basic_exclusion - gst_used).max(Decimal::ZERO),
            projected,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn gift(year: i32, donee: &str, kind: Donee, amount: Decimal) -> Gift {
        Gift {
            year,
            donee: donee.into(),
            kind,
            amount,
            present_interest: true,
            split: false,
            superfund_529: false,
            skip: false,
            to_trust: false,
            gst_allocation: Decimal::ZERO,
        }
    }

    #[test]
    fn gifts_within_the_annual_exclusion_are_not_taxable() {
        // 2025: $19,000 to each of two children, $25,000 more to one: $6,000 taxable.
        let gifts = [
            gift(2025, "ann", Donee::Person, dec!(19_000)),
            gift(2025, "ben", Donee::Person, dec!(19_000)),
            gift(2025, "ann", Donee::Person, dec!(6_000)),
        ];
        let y = &history(&gifts, &Before::default()).unwrap()[0];
        assert_eq!((y.gifts, y.exclusions, y.taxable_gifts), (dec!(44_000), dec!(38_000), dec!(6_000)));
        // The tax on $6,000 (18%) is covered by the credit: none due, exclusion left 13.984M.
        assert_eq!((y.tentative_tax, y.credit, y.gift_tax), (dec!(1_080), dec!(1_080), Decimal::ZERO));
        assert_eq!(y.exclusion_left, dec!(13_984_000));
    }

    #[test]
    fn spouses_and_charities_are_deducted_and_a_noncitizen_spouse_has_the_larger_exclusion() {
        let gifts = [
            gift(2026, "spouse", Donee::CitizenSpouse, dec!(1_000_000)),
            gift(2026, "red cross", Donee::Charity, dec!(50_000)),
        ];
        let y = &history(&gifts, &Before::default()).unwrap()[0];
        assert_eq!(
            (y.marital_deduction, y.charitable_deduction, y.taxable_gifts),
            (dec!(1_000_000), dec!(50_000), Decimal::ZERO)
        );
        let gifts = [gift(2026, "spouse", Donee::NoncitizenSpouse, dec!(200_000))];
        let y = &history(&gifts, &Before::default()).unwrap()[0];
        assert_eq!((y.exclusions, y.taxable_gifts), (dec!(194_000), dec!(6_000)));
    }

    #[test]
    fn a_split_gift_is_half_the_donors_and_a_future_interest_has_no_exclusion() {
        let mut g = gift(2024, "ann", Donee::Person, dec!(36_000));
        g.split = true;
        let y = &history(&[g], &Before::default()).unwrap()[0];
        assert_eq!((y.gifts, y.taxable_gifts), (dec!(18_000), Decimal::ZERO));
        let mut g = gift(2024, "trust", Donee::Person, dec!(50_000));
        g.present_interest = false;
        assert_eq!(history(&[g], &Before::default()).unwrap()[0].taxable_gifts, dec!(50_000));
    }

    #[test]
    fn a_529_superfunding_is_spread_over_five_years_and_the_excess_is_the_first_years() {
        // 2024: $100,000 into a 529, five times the $18,000 exclusion spread ($18,000 a year,
        // each within that year's exclusion); the $10,000 excess is a taxable gift of 2024.
        let mut g = gift(2024, "ann", Donee::Person, dec!(100_000));
        g.superfund_529 = true;
        let parts = parts(&g).unwrap();
        assert_eq!(
            parts.iter().map(|p| p.amount).collect::<Vec<_>>(),
            [dec!(28_000), dec!(18_000), dec!(18_000), dec!(18_000), dec!(18_000)]
        );
        assert_eq!(parts.iter().map(|p| p.year).collect::<Vec<_>>(), [2024, 2025, 2026, 2027, 2028]);
        let h = history(&[g], &Before::default()).unwrap();
        let taxable: Vec<Decimal> = h.iter().map(|y| y.taxable_gifts).collect();
        assert_eq!(taxable, [dec!(10_000), Decimal::ZERO, Decimal::ZERO, Decimal::ZERO, Decimal::ZERO]);
        // 2027 and 2028 are past cairn's tables: 2026's amounts, marked.
        assert_eq!(h.iter().map(|y| y.projected).collect::<Vec<_>>(), [false, false, false, true, true]);
        // A year before the tables is refused, naming the year.
        let old = gift(2019, "ann", Donee::Person, dec!(1));
        assert_eq!(history(&[old], &Before::default()).unwrap_err().field, "year");
    }

    #[test]
    fn a_direct_skip_takes_gst_exemption_and_its_gst_tax_is_a_gift() {
        // 2026: $1,019,000 to a grandchild: $19,000 within the exclusion (inclusion ratio 0,
        // §2642(c)), a $1,000,000 direct skip fully exempt; $14,000,000 of exemption left.
        let mut g = gift(2026, "dora", Donee::Person, dec!(1_019_000));
        g.skip = true;
        let y = &history(std::slice::from_ref(&g), &Before::default()).unwrap()[0];
        assert_eq!(
            (y.direct_skips, y.gst_exemption_allocated, y.gst_tax),
            (dec!(1_000_000), dec!(1_000_000), Decimal::ZERO)
        );
        assert_eq!((y.taxable_gifts, y.gst_exemption_left), (dec!(1_000_000), dec!(14_000_000)));
        // With 14,500,000 allocated before, 500,000 is left: fraction .5, ratio .5, GST tax
        // 1,000,000 × 40% × .5 = 200,000, itself a taxable gift (§2515).
        let before = Before { gst_allocated: dec!(14_500_000), ..Before::default() };
        let y = &history(std::slice::from_ref(&g), &before).unwrap()[0];
        assert_eq!((y.gst_exemption_allocated, y.gst_tax), (dec!(500_000), dec!(200_000)));
        assert_eq!((y.taxable_gifts, y.gst_exemption_left), (dec!(1_200_000), Decimal::ZERO));
        // Tuition paid directly for her is excluded whole and is no direct skip.
        let mut tuition = gift(2026, "dora", Donee::TuitionOrMedical, dec!(60_000));
        tuition.skip = true;
        let y = &history(&[tuition], &Before::default()).unwrap()[0];
        assert_eq!((y.exclusions, y.taxable_gifts, y.direct_skips), (dec!(60_000), Decimal::ZERO, Decimal::ZERO));
        // A grandchild's $10,000 share of a gift to a trust for several (a Crummey trust):
        // excluded as a present interest, yet a direct skip whole (§2642(c)(2)); outright, none.
        let mut share = gift(2026, "dora", Donee::Person, dec!(10_000));
        (share.skip, share.to_trust) = (true, true);
        let y = &history(std::slice::from_ref(&share), &Before::default()).unwrap()[0];
        assert_eq!(
            (y.exclusions, y.direct_skips, y.gst_exemption_allocated),
            (dec!(10_000), dec!(10_000), dec!(10_000))
        );
        // With $15,000 outright too, $25,000 against one $19,000 exclusion: the outright gift
        // takes the exclusion first and is no direct skip; the trust share still is.
        let mut outright = gift(2026, "dora", Donee::Person, dec!(15_000));
        outright.skip = true;
        let y = &history(&[share.clone(), outright.clone()], &Before::default()).unwrap()[0];
        assert_eq!((y.exclusions, y.direct_skips), (dec!(19_000), dec!(10_000)));
        // $25,000 outright: $6,000 beyond the exclusion is a direct skip besides the share.
        outright.amount = dec!(25_000);
        let y = &history(&[share, outright], &Before::default()).unwrap()[0];
        assert_eq!((y.exclusions, y.direct_skips), (dec!(19_000), dec!(16_000)));
        // $5,000,000 to a dynasty trust (not a skip person: the children may benefit) with
        // $5,000,000 of exemption allocated on the return: no direct skip, the exemption used
        // all the same; with only $3,000,000 left, only that is allocated.
        let mut trust = gift(2026, "dynasty trust", Donee::Person, dec!(5_000_000));
        trust.gst_allocation = dec!(5_000_000);
        let y = &history(std::slice::from_ref(&trust), &Before::default()).unwrap()[0];
        assert_eq!(
            (y.direct_skips, y.gst_elected, y.gst_exemption_allocated, y.gst_exemption_left),
            (Decimal::ZERO, dec!(5_000_000), dec!(5_000_000), dec!(10_000_000))
        );
        let before = Before { gst_allocated: dec!(12_000_000), ..Before::default() };
        let y = &history(std::slice::from_ref(&trust), &before).unwrap()[0];
        assert_eq!((y.gst_elected, y.gst_exemption_left), (dec!(3_000_000), Decimal::ZERO));
        // The largest amounts the HTTP API takes allocate without overflowing.
        let mut huge = gift(2026, "trust", Donee::Person, dec!(999_999_999_999_999));
        huge.gst_allocation = huge.amount;
        huge.split = true;
        assert_eq!(history(&[huge], &Before::default()).unwrap()[0].gst_exemption_left, Decimal::ZERO);
        trust.gst_allocation = dec!(5_000_001);
        assert_eq!(history(&[trust], &Before::default()).unwrap_err().field, "gst_allocation");
        // A spouse or a charity is never a skip person.
        let mut wrong = gift(2026, "red cross", Donee::Charity, dec!(1));
        wrong.skip = true;
        assert_eq!(history(&[wrong], &Before::default()).unwrap_err().field, "skip");
    }

    #[test]
    fn gift_tax_is_due_once_the_exclusion_is_used_and_prior_years_count() {
        // Prior taxable gifts of $13,000,000 (credit used: 345,800 + 40% of 12M = 5,145,800);
        // 2024: $1,018,000 to one child, $1,000,000 taxable. Tax on 14M: 5,545,800; on 13M:
        // 5,145,800; difference 400,000. Credit left 5,389,800 − 5,145,800 = 244,000; tax
        // 156,000 = 40% of the 390,000 over the 13.61M exclusion.
        let gifts = [gift(2024, "ann", Donee::Person, dec!(1_018_000))];
        let y = &history(&gifts, &Before { taxable_gifts: dec!(13_000_000), ..Before::default() }).unwrap()[0];
        assert_eq!((y.tax_on_all, y.tax_on_prior, y.tentative_tax), (dec!(5_545_800), dec!(5_145_800), dec!(400_000)));
        assert_eq!((y.prior_credit, y.credit, y.gift_tax), (dec!(5_145_800), dec!(244_000), dec!(156_000)));
        assert_eq!(y.exclusion_left, Decimal::ZERO);
        // The next year's gifts find no credit left: all 40%, and the tax paid counts.
        let more = [gifts[0].clone(), gift(2025, "ann", Donee::Person, dec!(119_000))];
        let h = history(&more, &Before { taxable_gifts: dec!(13_000_000), ..Before::default() }).unwrap();
        // 2025's credit 5,541,800 less the 5,389,800 allowed before: 152,000 of new room from
        // the higher exclusion, then 40% on the rest of the $100,000 taxable.
        assert_eq!(h[1].prior_credit, dec!(5_389_800));
        assert_eq!((h[1].tentative_tax, h[1].credit, h[1].gift_tax), (dec!(40_000), dec!(40_000), Decimal::ZERO));
    }
}
