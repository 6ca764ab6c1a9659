//! A family's trusts and businesses (`EntitySet` / `EntityRemoved` on the ledger stream), their
//! closely held interests valued with and without discounts, and what each puts in a member's
//! gross estate at death.
//!
//! - An entity is a trust (revocable, irrevocable, GRAT, ILIT, dynasty, SLAT, IDGT, QTIP, CRAT,
//!   CRUT, CLAT, CLUT) or a business (LLC, S or C corporation, family limited partnership),
//!   valued whole at a date. A business is owned in shares by members or by other entities.
//! - A minority or non-voting interest in a closely held entity is worth less than its share of
//!   the whole: discounts for lack of control and of marketability apply one after the other,
//!   `share × value × (1 − control) × (1 − marketability)` (Rev. Rul. 93-12 lets a family's
//!   interests be valued apart; the discounts are the appraiser's, given per entity). More than
//!   half controls the entity: no discount for lack of control then. Both values are shown.
//! - What is in the decedent's gross estate ([`in_estate`]):
//!   - the decedent's business interests, discounted, directly or through a revocable trust the
//!     decedent made (§2033, §2038);
//!   - a revocable trust's own assets (§2038): its `value` is what it holds besides interests in
//!     the household's businesses, which count through their owners;
//!   - a GRAT still in its term: the part of the trust that would yield the annuity at the
//!     §7520 rate at death, at most the whole (§2036; Treas. Reg. §20.2036-1(c)(2));
//!   - an ILIT's death benefit if the policy went in within three years of death (§2035(a));
//!   - a QTIP trust in the estate of the surviving spouse it pays (§2044: a beneficiary other
//!     than the grantor; list the spouse, not the remaindermen, as its beneficiary);
//!   - a charitable remainder trust the decedent made: included (§2036) and deducted as it
//!     passes to charity (§2055), so it adds nothing;
//!   - irrevocable, dynasty, SLAT, IDGT and charitable lead trusts: completed gifts, outside.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::DomainError;

/// What an entity is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    RevocableTrust,
    IrrevocableTrust,
    Grat,
    Ilit,
    DynastyTrust,
    Slat,
    Idgt,
    QtipTrust,
    Crat,
    Crut,
    Clat,
    Clut,
    Llc,
    SCorp,
    CCorp,
    Flp,
}

impl EntityKind {
    pub const ALL: [Self; 16] = [
        Self::RevocableTrust,
        Self::IrrevocableTrust,
        Self::Grat,
        Self::Ilit,
        Self::DynastyTrust,
        Self::Slat,
        Self::Idgt,
        Self::QtipTrust,
        Self::Crat,
        Self::Crut,
        Self::Clat,
        Self::Clut,
        Self::Llc,
        Self::SCorp,
        Self::CCorp,
        Self::Flp,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::RevocableTrust => "revocable_trust",
            Self::IrrevocableTrust => "irrevocable_trust",
            Self::Grat => "grat",
            Self::Ilit => "ilit",
            Self::DynastyTrust => "dynasty_trust",
            Self::Slat => "slat",
            Self::Idgt => "idgt",
            Self::QtipTrust => "qtip_trust",
            Self::Crat => "crat",
            Self::Crut => "crut",
            Self::Clat => "clat",
            Self::Clut => "clut",
            Self::Llc => "llc",
            Self::SCorp => "s_corp",
            Self::CCorp => "c_corp",
            Self::Flp => "flp",
        }
    }

    /// A business (its interests are owned in shares), not a trust.
    pub fn is_business(self) -> bool {
        matches!(self, Self::Llc | Self::SCorp | Self::CCorp | Self::Flp)
    }
}

impl std::str::FromStr for EntityKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| {
            let names: Vec<&str> = Self::ALL.iter().map(|k| k.as_str()).collect();
            format!("{s:?} is not one of {}", names.join(", "))
        })
    }
}

/// A share of a business.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Owner {
    /// A member's name or another entity's.
    pub owner: String,
    pub share: Decimal,
}

/// A trust or business of the household.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Entity {
    pub name: String,
    pub kind: EntityKind,
    /// The whole entity's fair market value, undiscounted, on `valued_on`.
    pub value: Decimal,
    pub valued_on: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grantor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trustee: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub beneficiaries: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub owners: Vec<Owner>,
    /// When the trust was funded, its term and yearly annuity (GRAT, CRAT, CLAT).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub funded_on: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub term_years: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annuity: Option<Decimal>,
    /// An ILIT's life insurance death benefit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub death_benefit: Option<Decimal>,
    /// An ILIT's yearly premium, which the grantor gives the trust to pay: a gift to its
    /// beneficiaries each year from the year it was funded ([`Entity::premium_gifts`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub premium: Option<Decimal>,
    /// The years the premium is paid (every year while the grantor lives when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub premium_years: Option<u32>,
    /// The beneficiaries may withdraw each contribution for a time (Crummey powers), which makes
    /// each one's share a present interest.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub crummey: bool,
    /// GST exemption allocated to the whole trust (an inclusion ratio of zero).
    #[serde(default)]
    pub gst_exempt: bool,
    /// Valuation discounts for a closely held interest (fractions).
    #[serde(default)]
    pub lack_of_control: Decimal,
    #[serde(default)]
    pub lack_of_marketability: Decimal,
}

/// An owner's interest valued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Interest {
    pub owner: String,
    pub share: Decimal,
    pub undiscounted: Decimal,
    pub discounted: Decimal,
}

impl Entity {
    /// `share` of the entity, undiscounted and discounted (to the cent): a share of more than
    /// half controls the entity and takes no discount for lack of control, only for lack of
    /// marketability.
    pub fn interest(&self, share: Decimal) -> (Decimal, Decimal) {
        let whole = self.value * share;
        let control = if share > Decimal::new(5, 1) { Decimal::ZERO } else { self.lack_of_control };
        let after = whole * (Decimal::ONE - control) * (Decimal::ONE - self.lack_of_marketability);
        (whole.round_dp(2), after.round_dp(2))
    }

    /// Each owner's interest.
    pub fn interests(&self) -> Vec<Interest> {
        self.owners
            .iter()
            .map(|o| {
                let (undiscounted, discounted) = self.interest(o.share);
                Interest { owner: o.owner.clone(), share: o.share, undiscounted, discounted }
            })
            .collect()
    }

    /// The GRAT's term ends, where it has one.
    pub fn term_ends(&self) -> Option<NaiveDate> {
        years_after(self.funded_on?, self.term_years?)
    }

    /// Whether the entity is as the ledger accepts it, given the household's member names.
    pub fn check(&self, members: &[&str]) -> Result<(), DomainError> {
        let bad = |field: &str, problem: String| DomainError::Rejected { line: None, field: field.into(), problem };
        if self.name.trim().is_empty() || self.name.len() > 100 {
            return Err(bad("name", "must be 1 to 100 characters".into()));
        }
        let most = Decimal::from(1_000_000_000_000_000_i64);
        if self.value < Decimal::ZERO || self.value >= most {
            return Err(bad("value", format!("{} is not from 0 up to $1,000,000,000,000,000", self.value)));
        }
        for (field, d) in
            [("lack_of_control", self.lack_of_control), ("lack_of_marketability", self.lack_of_marketability)]
        {
            if d < Decimal::ZERO || d >= Decimal::ONE {
                return Err(bad(field, format!("{d} is not a fraction from 0 up to 1")));
            }
        }
        for (field, d) in [("annuity", self.annuity), ("death_benefit", self.death_benefit), ("premium", self.premium)]
        {
            if let Some(d) = d.filter(|d| *d < Decimal::ZERO || *d >= most) {
                return Err(bad(field, format!("{d} is not from 0 up to $1,000,000,000,000,000")));
            }
        }
        let mut total = Decimal::ZERO;
        for o in &self.owners {
            if o.share <= Decimal::ZERO || o.share > Decimal::ONE {
                return Err(bad("owners", format!("{}'s share {} is not above 0 and at most 1", o.owner, o.share)));
            }
            if o.owner.trim().is_empty() || o.owner == self.name {
                return Err(bad("owners", "an owner is a member or another entity".into()));
            }
            total += o.share;
        }
        if total > Decimal::ONE {
            return Err(bad("owners", format!("the shares add up to {total}, more than 1")));
        }
        if !self.kind.is_business() {
            if !self.owners.is_empty() {
                return Err(bad("owners", "a trust has beneficiaries, not owners".into()));
            }
            let grantor = self.grantor.as_deref().ok_or_else(|| bad("grantor", "a trust needs its grantor".into()))?;
            if !members.contains(&grantor) {
                return Err(bad("grantor", format!("{grantor:?} is not a member (members: {})", members.join(", "))));
            }
        }
        if self.kind != EntityKind::Ilit {
            for (field, given) in [
                ("premium", self.premium.is_some()),
                ("premium_years", self.premium_years.is_some()),
                ("crummey", self.crummey),
            ] {
                if given {
                    return Err(bad(field, format!("only an ILIT has premiums, not a {}", self.kind.as_str())));
                }
            }
        }
        if self.premium.is_some() {
            if self.funded_on.is_none() {
                return Err(bad("funded_on", "an ILIT paying premiums needs the date it was funded".into()));
            }
            if self.beneficiaries.is_empty() || self.beneficiaries.len() > 100 {
                return Err(bad("beneficiaries", "an ILIT paying premiums needs 1 to 100 beneficiaries".into()));
            }
            if self.grantor.as_ref().is_some_and(|g| self.beneficiaries.contains(g)) {
                return Err(bad("beneficiaries", "the grantor cannot be a beneficiary of the premiums".into()));
            }
        } else if self.premium_years.is_some() || self.crummey {
            let field = if self.crummey { "crummey" } else { "premium_years" };
            return Err(bad(field, "give the yearly premium too".into()));
        }
        if self.premium_years.is_some_and(|y| !(1..=100).contains(&y)) {
            return Err(bad("premium_years", "must be 1 to 100".into()));
        }
        if matches!(self.kind, EntityKind::Grat | EntityKind::Crat | EntityKind::Clat) {
            for (field, missing) in [
                ("funded_on", self.funded_on.is_none()),
                ("term_years", self.term_years.is_none() && self.kind == EntityKind::Grat),
                ("annuity", self.annuity.is_none()),
            ] {
                if missing {
                    return Err(bad(field, format!("a {} needs it", self.kind.as_str())));
                }
            }
        }
        Ok(())
    }
}

/// One beneficiary's share of a year's ILIT premium: the grantor's gift to them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct PremiumGift {
    pub year: i32,
    pub trust: String,
    pub grantor: String,
    pub beneficiary: String,
    pub amount: Decimal,
    /// With Crummey powers, a present interest that takes the annual exclusion; else a future
    /// interest that takes none.
    pub present_interest: bool,
    /// What of the beneficiary's power lapses beyond the greater of $5,000 and 5% of the trust
    /// (§2514(e)): a gift by the beneficiary to the trust's other beneficiaries.
    pub lapse_beyond_5_and_5: Decimal,
}

impl PremiumGift {
    /// As the gift tax reads it (the grantor's gift). A share for a skip person is not taken as
    /// a direct skip here: the caller knows the family (`skip`) and whether the trust meets
    /// §2642(c)(2) (`to_trust` when it does not).
    pub fn gift(&self, skip: bool, to_trust: bool) -> crate::gifts::Gift {
        crate::gifts::Gift {
            year: self.year,
            donee: self.beneficiary.clone(),
            kind: crate::gifts::Donee::Person,
            amount: self.amount,
            present_interest: self.present_interest,
            split: false,
            superfund_529: false,
            skip,
            to_trust,
            gst_allocation: Decimal::ZERO,
        }
    }
}

/// The §2514(e) floor: a lapsed power is a release (a gift) only beyond the greater of these.
pub const FIVE_AND_FIVE: (Decimal, Decimal) = (crate::tax::usd(5_000), crate::tax::pct(5, 2));

impl Entity {
    /// The ILIT's premium gifts from the year it was funded through `through`, each year's
    /// premium shared equally among the beneficiaries (the last taking the odd cents):
    ///
    /// - a gift to a trust is of a future interest and takes no annual exclusion (§2503(b),
    ///   Treas. Reg. §25.2503-3(a)) unless the beneficiaries may withdraw it: each one's share
    ///   is then a present interest (Crummey v. Commissioner, 397 F.2d 82 (9th Cir. 1968); Rev.
    ///   Rul. 73-405);
    /// - a power that lapses unused is a release, and so the beneficiary's own gift, only beyond
    ///   the greater of $5,000 and 5% of the trust (§2514(e); `value` is taken as the trust's;
    ///   the floor is the beneficiary's for the year across all their lapsing powers, and other
    ///   trusts' are not counted here);
    /// - premiums of years before cairn's first table year are left out: like earlier recorded
    ///   gifts, they belong in the donor's `prior_taxable_gifts`.
    pub fn premium_gifts(&self, through: i32) -> Vec<PremiumGift> {
        let (Some(premium), Some(funded), Some(grantor)) = (self.premium, self.funded_on, &self.grantor) else {
            return Vec::new();
        };
        let n = Decimal::from(self.beneficiaries.len().max(1));
        let share = (premium / n).round_dp_with_strategy(2, rust_decimal::RoundingStrategy::ToZero);
        let floor = FIVE_AND_FIVE.0.max((FIVE_AND_FIVE.1 * self.value).round_dp(2));
        let funded_year = chrono::Datelike::year(&funded);
        let last = match self.premium_years {
            Some(y) => through.min(funded_year + y as i32 - 1),
            None => through,
        };
        // From cairn's first table year (earlier premiums are in the prior taxable gifts, as
        // earlier recorded gifts are), for at most 120 years.
        let first = funded_year.max(crate::estate::YEARS.first().expect("the table has a year").year);
        let last = last.min(first + 119);
        let mut out = Vec::new();
        for year in first..=last {
            for (i, b) in self.beneficiaries.iter().enumerate() {
                let amount =
                    if i + 1 == self.beneficiaries.len() { premium - share * (n - Decimal::ONE) } else { share };
                out.push(PremiumGift {
                    year,
                    trust: self.name.clone(),
                    grantor: grantor.clone(),
                    beneficiary: b.clone(),
                    amount,
                    present_interest: self.crummey,
                    lapse_beyond_5_and_5: if self.crummey {
                        (amount - floor).max(Decimal::ZERO)
                    } else {
                        Decimal::ZERO
                    },
                });
            }
        }
        out
    }
}

/// `years` years after `day` (February 29th to February 28th).
fn years_after(day: NaiveDate, years: u32) -> Option<NaiveDate> {
    day.checked_add_months(chrono::Months::new(years.checked_mul(12)?))
}

/// What an entity puts in a decedent's gross estate, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Inclusion {
    pub entity: String,
    pub kind: EntityKind,
    /// The decedent's share (of a business), the value undiscounted and as included.
    pub share: Option<Decimal>,
    pub undiscounted: Decimal,
    pub included: Decimal,
    /// What the estate deducts again for it (a charitable remainder trust's remainder).
    pub deducted: Decimal,
    pub reason: String,
}

/// What each entity puts in `decedent`'s gross estate on `death`, with the §7520 `rate` for a
/// GRAT in its term. Entities that put in nothing are listed with the reason.
pub fn in_estate(entities: &[Entity], decedent: &str, death: NaiveDate, rate: Decimal) -> Vec<Inclusion> {
    let revocable_of_decedent = |name: &str| {
        entities
            .iter()
            .any(|e| e.name == name && e.kind == EntityKind::RevocableTrust && e.grantor.as_deref() == Some(decedent))
    };
    entities
        .iter()
        .map(|e| {
            let grantor = e.grantor.as_deref() == Some(decedent);
            let out = |reason: &str| Inclusion {
                entity: e.name.clone(),
                kind: e.kind,
                share: None,
                undiscounted: e.value,
                included: Decimal::ZERO,
                deducted: Decimal::ZERO,
                reason: reason.to_owned(),
            };
            let all = |reason: &str| Inclusion { included: e.value, ..out(reason) };
            match e.kind {
                k if k.is_business() => {
                    let share: Decimal = e
                        .owners
                        .iter()
                        .filter(|o| o.owner == decedent || revocable_of_decedent(&o.owner))
                        .map(|o| o.share)
                        .sum();
                    if share.is_zero() {
                        return out("the decedent holds no interest");
                    }
                    let (undiscounted, discounted) = e.interest(share);
                    Inclusion {
                        share: Some(share),
                        undiscounted,
                        included: discounted,
                        ..out("the decedent's interest, after the discounts for lack of marketability and, for half or less, of control (§2033)")
                    }
                }
                EntityKind::RevocableTrust if grantor => all("a revocable trust's assets are the grantor's (§2038)"),
                EntityKind::Grat if grantor && e.term_ends().is_some_and(|end| death < end) => {
                    let annuity = e.annuity.unwrap_or(e.value);
                    Inclusion {
                        included: crate::grat::included_at_death(e.value, annuity, rate),
                        ..out("the grantor died within the term: what yields the annuity at the §7520 rate (§2036, Treas. Reg. §20.2036-1(c)(2))")
                    }
                }
                EntityKind::Grat if grantor => out("the term is over: the remainder passed"),
                EntityKind::Ilit if grantor => {
                    let recent = e.funded_on.and_then(|f| years_after(f, 3)).is_some_and(|end| death < end);
                    if recent {
                        Inclusion {
                            undiscounted: e.death_benefit.unwrap_or(e.value),
                            included: e.death_benefit.unwrap_or(e.value),
                            ..out("the policy went in within three years of death (§2035(a))")
                        }
                    } else {
                        out("life insurance held in an irrevocable trust more than three years")
                    }
                }
                EntityKind::QtipTrust if !grantor && e.beneficiaries.iter().any(|b| b == decedent) => {
                    all("QTIP property in the surviving spouse's estate (§2044)")
                }
                EntityKind::Crat | EntityKind::Crut if grantor => Inclusion {
                    included: e.value,
                    deducted: e.value,
                    ..out("included (§2036) and deducted as it passes to charity (§2055)")
                },
                _ if grantor => out("a completed gift: outside the estate"),
                _ => out("not the decedent's"),
            }
        })
        .collect()
}

/// The household's entities as `decide_set` accepts `entity` (the same one again records
/// nothing).
pub fn decide_set(ledger: &crate::ledger::Ledger, entity: &Entity) -> Result<Option<Entity>, DomainError> {
    let members: Vec<&str> = ledger.members.keys().map(String::as_str).collect();
    let mut e = entity.clone();
    e.name = e.name.trim().to_owned();
    e.check(&members)?;
    for o in &e.owners {
        if !members.contains(&o.owner.as_str()) && !ledger.entities.contains_key(&o.owner) {
            return Err(DomainError::Rejected {
                line: None,
                field: "owners".into(),
                problem: format!("{:?} is neither a member nor an entity of the household", o.owner),
            });
        }
    }
    if ledger.entities.get(&e.name) == Some(&e) {
        return Ok(None);
    }
    Ok(Some(e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn entity(name: &str, kind: EntityKind, value: Decimal) -> Entity {
        Entity {
            name: name.into(),
            kind,
            value,
            valued_on: day(2026, 1, 1),
            grantor: (!kind.is_business()).then(|| "ann".into()),
            trustee: None,
            beneficiaries: Vec::new(),
            owners: Vec::new(),
            funded_on: None,
            term_years: None,
            annuity: None,
            death_benefit: None,
            premium: None,
            premium_years: None,
            crummey: false,
            gst_exempt: false,
            lack_of_control: Decimal::ZERO,
            lack_of_marketability: Decimal::ZERO,
        }
    }

    #[test]
    fn discounts_apply_one_after_the_other() {
        // 40% of a $10,000,000 FLP, 25% off for control then 30% for marketability:
        // $4,000,000 × 0.75 × 0.70 = $2,100,000.
        let flp = Entity {
            owners: vec![
                Owner { owner: "ann".into(), share: dec!(0.4) },
                Owner { owner: "rt".into(), share: dec!(0.2) },
            ],
            lack_of_control: dec!(0.25),
            lack_of_marketability: dec!(0.30),
            ..entity("flp", EntityKind::Flp, dec!(10000000))
        };
        assert_eq!(flp.interest(dec!(0.4)), (dec!(4000000.00), dec!(2100000.00)));
        let rt = entity("rt", EntityKind::RevocableTrust, dec!(1000000));
        let found = in_estate(&[flp.clone(), rt], "ann", day(2026, 6, 1), dec!(0.05));
        // Her own 40% and her revocable trust's 20%: 60%, a controlling interest, discounted for
        // marketability only: $6,000,000 × 0.70; and the trust itself.
        assert_eq!((found[0].share, found[0].included), (Some(dec!(0.6)), dec!(4200000.00)));
        assert_eq!(found[1].included, dec!(1000000));
        assert_eq!(in_estate(&[flp], "bob", day(2026, 6, 1), dec!(0.05))[0].included, Decimal::ZERO);
    }

    #[test]
    fn trusts_in_and_out_of_the_estate() {
        let grat = Entity {
            funded_on: Some(day(2025, 3, 1)),
            term_years: Some(3),
            annuity: Some(dec!(400000)),
            ..entity("grat", EntityKind::Grat, dec!(10000000))
        };
        // Died in the term at 5%: $400,000 / 0.05 = $8,000,000 of the $10,000,000 trust.
        let inside = in_estate(std::slice::from_ref(&grat), "ann", day(2026, 6, 1), dec!(0.05));
        assert_eq!(inside[0].included, dec!(8000000));
        // At 2%, what yields the annuity is more than the trust: all of it.
        assert_eq!(
            in_estate(std::slice::from_ref(&grat), "ann", day(2026, 6, 1), dec!(0.02))[0].included,
            dec!(10000000)
        );
        assert_eq!(in_estate(&[grat], "ann", day(2028, 3, 1), dec!(0.05))[0].included, Decimal::ZERO, "term over");
        let ilit = Entity {
            funded_on: Some(day(2024, 5, 1)),
            death_benefit: Some(dec!(5000000)),
            ..entity("ilit", EntityKind::Ilit, dec!(50000))
        };
        assert_eq!(
            in_estate(std::slice::from_ref(&ilit), "ann", day(2027, 4, 30), dec!(0.05))[0].included,
            dec!(5000000)
        );
        assert_eq!(in_estate(&[ilit], "ann", day(2027, 5, 1), dec!(0.05))[0].included, Decimal::ZERO);
        let qtip = Entity { beneficiaries: vec!["bob".into()], ..entity("q", EntityKind::QtipTrust, dec!(3000000)) };
        // A GRAT funded on February 29th runs to February 28th three years on.
        let leap = Entity {
            funded_on: Some(day(2024, 2, 29)),
            term_years: Some(3),
            annuity: Some(dec!(1000000)),
            ..entity("leap", EntityKind::Grat, dec!(1000000))
        };
        assert_eq!(leap.term_ends(), Some(day(2027, 2, 28)));
        assert_eq!(in_estate(&[leap], "ann", day(2026, 6, 1), dec!(0.05))[0].included, dec!(1000000));
        assert_eq!(
            in_estate(std::slice::from_ref(&qtip), "bob", day(2026, 6, 1), dec!(0.05))[0].included,
            dec!(3000000)
        );
        assert_eq!(in_estate(&[qtip], "ann", day(2026, 6, 1), dec!(0.05))[0].included, Decimal::ZERO);
        let crut = in_estate(&[entity("c", EntityKind::Crut, dec!(2000000))], "ann", day(2026, 6, 1), dec!(0.05));
        assert_eq!((crut[0].included, crut[0].deducted), (dec!(2000000), dec!(2000000)));
        let dynasty =
            in_estate(&[entity("d", EntityKind::DynastyTrust, dec!(9000000))], "ann", day(2026, 6, 1), dec!(0.05));
        assert_eq!(dynasty[0].included, Decimal::ZERO);
    }

    #[test]
    fn bad_entities_name_their_field() {
        let members = ["ann", "bob"];
        let over = Entity {
            owners: vec![
                Owner { owner: "ann".into(), share: dec!(0.7) },
                Owner { owner: "bob".into(), share: dec!(0.4) },
            ],
            ..entity("llc", EntityKind::Llc, dec!(1))
        };
        let field = |e: &Entity| match e.check(&members) {
            Err(DomainError::Rejected { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(field(&over), "owners");
        assert_eq!(field(&Entity { grantor: Some("zed".into()), ..entity("t", EntityKind::Slat, dec!(1)) }), "grantor");
        assert_eq!(
            field(&Entity { lack_of_control: dec!(1), ..entity("l", EntityKind::Llc, dec!(1)) }),
            "lack_of_control"
        );
        assert_eq!(field(&entity("g", EntityKind::Grat, dec!(1))), "funded_on");
        assert_eq!(field(&entity("", EntityKind::Llc, dec!(1))), "name");
    }

    #[test]
    fn an_ilits_premiums_are_gifts_present_only_with_crummey_powers() {
        // $60,000 a year for two years from 2024 to a $100,000 trust for three: $20,000 each.
        let ilit = Entity {
            funded_on: Some(day(2024, 5, 1)),
            premium: Some(dec!(60000)),
            premium_years: Some(2),
            crummey: true,
            beneficiaries: vec!["cara".into(), "dora".into(), "eve".into()],
            ..entity("ilit", EntityKind::Ilit, dec!(100000))
        };
        ilit.check(&["ann"]).unwrap();
        let gifts = ilit.premium_gifts(2026);
        assert_eq!(gifts.len(), 6, "2024 and 2025 only");
        assert_eq!((gifts[0].year, gifts[5].year), (2024, 2025));
        assert!(gifts.iter().all(|g| g.amount == dec!(20000) && g.present_interest && g.grantor == "ann"));
        // 5% of $100,000 is $5,000: each lapse of $20,000 is $15,000 beyond the floor.
        assert_eq!(gifts[0].lapse_beyond_5_and_5, dec!(15000));
        // 2025: three $20,000 present interests against $19,000 exclusions each.
        let as_gifts: Vec<_> = gifts.iter().map(|g| g.gift(false, true)).collect();
        let years = crate::gifts::history(&as_gifts, &crate::gifts::Before::default()).unwrap();
        assert_eq!((years[1].year, years[1].exclusions, years[1].taxable_gifts), (2025, dec!(57000), dec!(3000)));
        // Without the powers a gift to a trust is a future interest: all of it taxable, no lapse.
        let plain = Entity { crummey: false, ..ilit.clone() };
        let gifts = plain.premium_gifts(2025);
        assert!(gifts.iter().all(|g| !g.present_interest && g.lapse_beyond_5_and_5.is_zero()));
        let as_gifts: Vec<_> = gifts.iter().map(|g| g.gift(false, true)).collect();
        let years = crate::gifts::history(&as_gifts, &crate::gifts::Before::default()).unwrap();
        assert_eq!((years[1].exclusions, years[1].taxable_gifts), (Decimal::ZERO, dec!(60000)));
        // A $2,000,000 trust: 5% is $100,000, so no lapse is a gift; odd cents go to the last.
        let rich = Entity { value: dec!(2000000), premium: Some(dec!(100)), ..ilit.clone() };
        let gifts = rich.premium_gifts(2024);
        assert_eq!(gifts.iter().map(|g| g.amount).collect::<Vec<_>>(), [dec!(33.33), dec!(33.33), dec!(33.34)]);
        assert!(gifts.iter().all(|g| g.lapse_beyond_5_and_5.is_zero()));
        // An ILIT funded in 2015 pays premiums to the tables' first year on (earlier ones are
        // prior taxable gifts), so its gifts fold; at most 120 years of them.
        let old = Entity { funded_on: Some(day(2015, 6, 1)), premium_years: None, ..ilit.clone() };
        let gifts = old.premium_gifts(2026);
        assert_eq!((gifts[0].year, gifts.len()), (2024, 9));
        let as_gifts: Vec<_> = gifts.iter().map(|g| g.gift(false, true)).collect();
        assert_eq!(crate::gifts::history(&as_gifts, &crate::gifts::Before::default()).unwrap().len(), 3);
        assert_eq!(old.premium_gifts(i32::MAX / 2).len(), 120 * 3);
        // The grantor is no beneficiary of her own premiums.
        let own = Entity { beneficiaries: vec!["ann".into()], ..ilit.clone() };
        assert!(matches!(own.check(&["ann"]), Err(DomainError::Rejected { field, .. }) if field == "beneficiaries"));
        // Premiums need an ILIT, its funding date and beneficiaries.
        let field = |e: Entity| match e.check(&["ann"]) {
            Err(DomainError::Rejected { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(field(Entity { kind: EntityKind::Slat, ..ilit.clone() }), "premium");
        assert_eq!(field(Entity { funded_on: None, ..ilit.clone() }), "funded_on");
        assert_eq!(field(Entity { beneficiaries: Vec::new(), ..ilit.clone() }), "beneficiaries");
        assert_eq!(field(Entity { premium: None, ..ilit.clone() }), "crummey");
        assert_eq!(field(Entity { premium_years: Some(0), ..ilit }), "premium_years");
    }
}
