//! `cairn estate tax`: the federal estate tax if a member of the household died this year
//! (`domain::estate`, Form 706 Part 2), on the household's own accounts at the latest closes
//! plus what the planner adds (other assets, debts, expenses, bequests, lifetime gifts, DSUE),
//! and whether the estate's liquid assets pay what falls due at death.

use chrono::Datelike;
use domain::estate::{Estate, EstateTax};
use domain::gifts::RecordedGift;
use domain::ledger::types::AccountType;
use projections::holdings::{ENTITIES, GIFTS, MEMBERS};
use projections::query::records;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::ledger::ReportError;
use crate::reports::Report;

/// The planner's side of an estate (every field optional), as `[estate]` in a TOML file or
/// HTTP parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Assumptions {
    /// The year of death (default: this year).
    pub year: Option<i32>,
    /// The decedent's state of domicile (two letters), for its estate tax (default: the
    /// decedent's recorded domicile, else the principal's).
    pub domicile: Option<String>,
    /// The decedent's share of the household's accounts (default 1; 0.5 for half of what a
    /// couple holds together).
    pub share: Option<Decimal>,
    /// Assets outside the ledger: a home, a business interest, life insurance the decedent
    /// owned, at their value at death.
    #[serde(default)]
    pub other_assets: Decimal,
    /// Of those, how much is cash or readily sold.
    #[serde(default)]
    pub other_liquid: Decimal,
    #[serde(default)]
    pub debts: Decimal,
    /// Funeral and administration expenses.
    #[serde(default)]
    pub expenses: Decimal,
    #[serde(default)]
    pub charitable: Decimal,
    /// Left to the surviving spouse.
    #[serde(default)]
    pub to_spouse: Decimal,
    /// Whether the surviving spouse is a U.S. citizen (default yes), and if not whether the
    /// bequest passes through a qualified domestic trust.
    pub spouse_citizen: Option<bool>,
    #[serde(default)]
    pub qdot: bool,
    #[serde(default)]
    pub adjusted_taxable_gifts: Decimal,
    #[serde(default)]
    pub gift_tax_paid: Decimal,
    /// The unused exclusion received from a spouse who died before (portability).
    #[serde(default)]
    pub dsue: Decimal,
    /// The decedent's lifetime gifts (`[[estate.gifts]]`): year, donee, kind (person,
    /// citizen_spouse, noncitizen_spouse, charity), amount, present_interest, split,
    /// superfund_529. Their taxable part and gift tax, year by year (`domain::gifts`), are the
    /// adjusted taxable gifts and the gift tax paid, with `prior_taxable_gifts` and
    /// `prior_gift_tax` from returns before them.
    #[serde(default)]
    pub gifts: Vec<domain::gifts::Gift>,
    #[serde(default)]
    pub prior_taxable_gifts: Decimal,
    #[serde(default)]
    pub prior_gift_tax: Decimal,
    /// GST exemption allocated on returns before the gifts.
    #[serde(default)]
    pub prior_gst_allocated: Decimal,
    /// Bequests to skip persons (grandchildren): direct skips at death, allocated the GST
    /// exemption the lifetime gifts left (§2632(e)), taxed at 40% times the inclusion ratio,
    /// paid by the estate.
    #[serde(default)]
    pub to_skip_persons: Decimal,
    /// The member who dies (`--death-of`): the gross estate is the accounts the member owns,
    /// plus `share` (default one half with a spouse recorded, else all) of the accounts no
    /// member owns; the member's recorded gifts (and the spouse's split ones) are added to
    /// `gifts`; the spouse's recorded citizenship is `spouse_citizen` unless given.
    pub death_of: Option<String>,
}

impl Assumptions {
    /// What the returns before the gifts carry.
    pub fn before(&self) -> domain::gifts::Before {
        domain::gifts::Before {
            taxable_gifts: self.prior_taxable_gifts,
            gift_tax: self.prior_gift_tax,
            gst_allocated: self.prior_gst_allocated,
            dsue: self.dsue,
        }
    }

    /// The gifts' Form 709 years up to the year of death (a 529 gift's fifths after it are
    /// left out).
    pub fn gift_years(&self, death: i32) -> Result<Vec<domain::gifts::GiftYear>, ReportError> {
        if self.gifts.is_empty() && self.prior_taxable_gifts.is_zero() {
            return Ok(Vec::new());
        }
        if !self.adjusted_taxable_gifts.is_zero() || !self.gift_tax_paid.is_zero() {
            return Err(invalid(
                "adjusted_taxable_gifts",
                "give either the gifts (and prior_taxable_gifts) or adjusted_taxable_gifts and gift_tax_paid, not both",
            ));
        }
        let mut years = domain::gifts::history(&self.gifts, &self.before()).map_err(|e| invalid(e.field, e.problem))?;
        years.retain(|y| y.year <= death);
        Ok(years)
    }
}

/// A member as the estate planners read them (`cairn ledger member`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct FamilyMember {
    pub name: String,
    pub born: Option<chrono::NaiveDate>,
    pub relationship: Option<domain::family::Relationship>,
    pub citizen: Option<bool>,
    pub domicile: Option<String>,
    /// The age the member is expected to live to, when given.
    pub lives_to: Option<u32>,
    /// When the member's parent died (§2651(e)).
    pub parent_died: Option<chrono::NaiveDate>,
}

/// The household's members (`household` is its key), in name order.
pub async fn members(db: &projections::db::Db, household: &str) -> Result<Vec<FamilyMember>, ReportError> {
    let scope = [("household", Some(household.to_owned()))];
    Ok(records(db, &MEMBERS, &scope)
        .await?
        .iter()
        .map(|m| FamilyMember {
            name: m.str("member").to_owned(),
            born: m.date("born"),
            relationship: m.text("relationship").and_then(|r| r.parse().ok()),
            citizen: m.text("citizen").map(|_| m.flag("citizen")),
            domicile: m.text("domicile").map(str::to_owned),
            lives_to: m.text("lives_to").and_then(|t| t.parse().ok()),
            parent_died: m.date("parent_died"),
        })
        .collect())
}

/// The household's trusts and businesses, in name order.
pub async fn entities(db: &projections::db::Db, household: &str) -> Result<Vec<domain::entities::Entity>, ReportError> {
    let scope = [("household", Some(household.to_owned()))];
    records(db, &ENTITIES, &scope)
        .await?
        .iter()
        .map(|e| {
            serde_json::from_str(e.str("detail"))
                .map_err(|x| ReportError::Invalid { field: "entities", problem: format!("{}: {x}", e.str("entity")) })
        })
        .collect()
}

/// A trust or business with its owners' interests valued (`cairn estate entities`,
/// `GET /v1/households/{h}/estate/entities`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct EntityView {
    #[serde(flatten)]
    pub entity: domain::entities::Entity,
    /// A business's owners, each share undiscounted and after the discounts.
    pub interests: Vec<domain::entities::Interest>,
}

/// The household's entities.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct EntitiesAnswer {
    pub household: String,
    pub entities: Vec<EntityView>,
    /// Trusts' values and businesses' whole values, undiscounted.
    pub trusts_value: Decimal,
    pub businesses_value: Decimal,
}

/// The household's entities, valued.
pub async fn entity_views(db: &projections::db::Db, household: &str) -> Result<EntitiesAnswer, ReportError> {
    let entities = entities(db, household).await?;
    let sum =
        |business: bool| entities.iter().filter(|e| e.kind.is_business() == business).map(|e| e.value).sum::<Decimal>();
    let (trusts_value, businesses_value) = (sum(false), sum(true));
    let entities = entities.into_iter().map(|e| EntityView { interests: e.interests(), entity: e }).collect();
    Ok(EntitiesAnswer { household: household.to_owned(), entities, trusts_value, businesses_value })
}

/// The entities as rows, for CSV and tables.
pub fn entities_report(a: &EntitiesAnswer) -> Result<Report, ReportError> {
    const COLUMNS: [&str; 9] = [
        "name",
        "kind",
        "value",
        "valued_on",
        "grantor",
        "trustee",
        "gst_exempt",
        "lack_of_control",
        "lack_of_marketability",
    ];
    let rows = a.entities.iter().map(|e| crate::reports::fields(e, &COLUMNS)).collect::<Result<_, _>>()?;
    Ok(Report { name: "entities", columns: COLUMNS.to_vec(), rows, totals: Vec::new(), summary: Vec::new() })
}

/// The lifetime gifts recorded on the household's ledger and in force, in date order.
pub async fn recorded_gifts(db: &projections::db::Db, household: &str) -> Result<Vec<RecordedGift>, ReportError> {
    let scope = [("household", Some(household.to_owned()))];
    let mut gifts = Vec::new();
    for g in records(db, &GIFTS, &scope).await? {
        let stored = |column: &str, problem: String| ReportError::Invalid {
            field: "gifts",
            problem: format!("{} {column}: {problem}", g.str("gift")),
        };
        gifts.push(RecordedGift {
            id: g.str("gift").to_owned(),
            date: g.date("date").ok_or_else(|| stored("date", "unreadable".into()))?,
            donor: g.str("donor").to_owned(),
            donee: g.str("donee").to_owned(),
            kind: g.str("kind").parse().map_err(|e| stored("kind", e))?,
            amount: g.dec("amount").ok_or_else(|| stored("amount", "unreadable".into()))?,
            present_interest: g.flag("present_interest"),
            split: g.flag("split"),
            superfund_529: g.flag("superfund_529"),
            gst_allocation: g.dec("gst_allocation").unwrap_or_default(),
        });
    }
    gifts.sort_by(|a, b| (a.date, a.id.len(), &a.id).cmp(&(b.date, b.id.len(), &b.id)));
    Ok(gifts)
}

/// The spouse of `member`, as recorded: the principal's spouse or the spouse's principal.
fn spouse_of<'a>(members: &'a [FamilyMember], member: &str) -> Option<&'a FamilyMember> {
    let other = members.iter().find(|m| m.name == member)?.relationship?.spouse()?;
    members.iter().find(|m| m.relationship == Some(other))
}

/// The recorded gifts the gift tax counts as `donor`'s: their own, and the spouse's split
/// gifts, half of each being the donor's by the consent (§2513(a)).
pub fn gifts_of<'a>(donor: &str, spouse: Option<&str>, recorded: &'a [RecordedGift]) -> Vec<&'a RecordedGift> {
    recorded.iter().filter(|g| g.donor == donor || (g.split && Some(g.donor.as_str()) == spouse)).collect()
}

/// `g` as `donor`'s gift, a direct skip when its donee is a member two or more generations
/// below the donor (`domain::gst::is_skip_person`; the consenting spouse is the transferor of a
/// split gift's half, §2652(a)(2)). A donee who is not a member is not taken as a skip person.
fn as_gift(g: &RecordedGift, donor: &str, members: &[FamilyMember]) -> domain::gifts::Gift {
    let skip = g.kind == domain::gifts::Donee::Person && skip_person(donor, &g.donee, g.date, members);
    domain::gifts::Gift { skip, ..g.gift() }
}

/// Whether `donee` is a member two or more generations below `donor` in a transfer `on` that
/// day (`domain::gst`).
fn skip_person(donor: &str, donee: &str, on: chrono::NaiveDate, members: &[FamilyMember]) -> bool {
    let standing = |name: &str| {
        members.iter().find(|m| m.name == name).map(|m| domain::gst::Standing {
            relationship: m.relationship,
            born: m.born,
            parent_died: m.parent_died,
        })
    };
    standing(donor).zip(standing(donee)).is_some_and(|(from, to)| domain::gst::is_skip_person(from, to, on))
}

/// `donor`'s ILIT premium gifts through `through` (`domain::entities::Entity::premium_gifts`),
/// each with the gift the gift tax reads: a direct skip when every beneficiary of the trust is a
/// skip person (the trust is then one, §2613(a)(2)), each share marked as given in trust: its
/// part within the annual exclusion gets no zero inclusion ratio, since §2642(c)(2) asks a trust
/// for one individual that would be in that individual's estate, which an ILIT rarely is.
fn premium_gifts(
    donor: &str,
    through: i32,
    entities: &[domain::entities::Entity],
    members: &[FamilyMember],
) -> Vec<(domain::entities::PremiumGift, domain::gifts::Gift)> {
    let mut out = Vec::new();
    for e in entities.iter().filter(|e| e.grantor.as_deref() == Some(donor)) {
        let to_trust = true;
        out.extend(e.premium_gifts(through).into_iter().map(|p| {
            // Paid on the funding date's anniversary.
            let on = e
                .funded_on
                .and_then(|f| f.with_year(p.year).or_else(|| chrono::NaiveDate::from_ymd_opt(p.year, 3, 1)))
                .unwrap_or_default();
            let skip = e.beneficiaries.iter().all(|b| skip_person(donor, b, on, members));
            let gift = p.gift(skip, to_trust);
            (p, gift)
        }));
    }
    out
}

/// One donor's gifts and their Form 709 years.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct DonorGifts {
    pub donor: String,
    /// The donor's own gifts, and the spouse's split gifts the donor consented to.
    pub gifts: Vec<RecordedGift>,
    /// The premiums the donor gave the ILITs they made, year by year to this year, each
    /// beneficiary's share a gift (`domain::entities::Entity::premium_gifts`).
    pub ilit_premiums: Vec<domain::entities::PremiumGift>,
    pub years: Vec<domain::gifts::GiftYear>,
}

/// The household's donors, each with their gifts year by year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct GiftsAnswer {
    pub household: String,
    pub donors: Vec<DonorGifts>,
}

/// The recorded gifts of `household` (its key) by donor (`donor`, or every member who gave or
/// consented to a split, or pays an ILIT's premiums), each as Form 709 computes them, with the
/// ILIT premiums through `today`'s year; `a`'s gifts, `prior_taxable_gifts`, `prior_gift_tax`
/// and `dsue` are the one donor's, so they need `donor`.
pub async fn gifts(
    db: &projections::db::Db,
    household: &str,
    donor: Option<&str>,
    a: &Assumptions,
    today: chrono::NaiveDate,
) -> Result<GiftsAnswer, ReportError> {
    let members = members(db, household).await?;
    let recorded = recorded_gifts(db, household).await?;
    let entities = entities(db, household).await?;
    let through = today.year();
    let planned = !a.gifts.is_empty() || a.before() != domain::gifts::Before::default();
    if planned && donor.is_none() {
        return Err(invalid("donor", "the plan's gifts, prior amounts and dsue are one donor's: name the donor"));
    }
    let donors: Vec<String> = match donor {
        Some(d) if members.iter().any(|m| m.name == d) => vec![d.to_owned()],
        Some(d) => return Err(invalid("donor", format!("{d:?} is not a member of the household"))),
        None => members
            .iter()
            .filter(|m| {
                let spouse = spouse_of(&members, &m.name).map(|s| s.name.as_str());
                !gifts_of(&m.name, spouse, &recorded).is_empty()
                    || !premium_gifts(&m.name, through, &entities, &members).is_empty()
            })
            .map(|m| m.name.clone())
            .collect(),
    };
    let mut out = Vec::new();
    for name in donors {
        let spouse = spouse_of(&members, &name).map(|s| s.name.as_str());
        let own = gifts_of(&name, spouse, &recorded);
        let mut all: Vec<domain::gifts::Gift> = own.iter().map(|g| as_gift(g, &name, &members)).collect();
        let (ilit_premiums, premiums): (Vec<_>, Vec<_>) =
            premium_gifts(&name, through, &entities, &members).into_iter().unzip();
        all.extend(premiums);
        all.extend(a.gifts.iter().cloned());
        let years = domain::gifts::history(&all, &a.before()).map_err(|e| invalid(e.field, e.problem))?;
        out.push(DonorGifts { donor: name, gifts: own.into_iter().cloned().collect(), ilit_premiums, years });
    }
    Ok(GiftsAnswer { household: household.to_owned(), donors: out })
}

/// The estate tax with where the gross estate came from and the liquidity it needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct EstateAnswer {
    pub household: String,
    /// The member who dies, when named.
    pub decedent: Option<String>,
    /// The household's open accounts at market value, times the decedent's share.
    pub accounts: Decimal,
    pub share: Decimal,
    pub other_assets: Decimal,
    /// Cash and securities of taxable accounts (times the share) and the other liquid assets;
    /// retirement accounts are left out (their withdrawals are taxed as income).
    pub liquid_assets: Decimal,
    /// The net estate tax, debts and expenses: what falls due at death.
    pub liquidity_needed: Decimal,
    pub liquidity_shortfall: Decimal,
    #[serde(flatten)]
    pub tax: EstateTax,
    /// The lifetime gifts' years, when the plan lists them.
    pub gifts: Vec<domain::gifts::GiftYear>,
    /// The GST tax on `to_skip_persons` (paid by the estate: in `liquidity_needed`), with its
    /// inclusion ratio.
    pub gst: Option<domain::gst::GstTax>,
    pub gst_tax: Decimal,
    /// The decedent's state and its estate tax (`domain::state_estate`; in `liquidity_needed`
    /// and deducted from the federal taxable estate), none where the state has no estate tax.
    pub domicile: Option<String>,
    pub state_tax: Decimal,
    pub state: Option<domain::state_estate::StateEstateTax>,
    /// What the household's trusts and businesses put in the decedent's (else the
    /// principal's) gross estate, each with why (`domain::entities::in_estate`); a charitable
    /// remainder trust's part is deducted again.
    pub entities_included: Decimal,
    pub entities: Vec<domain::entities::Inclusion>,
}

fn invalid(field: &'static str, problem: impl Into<String>) -> ReportError {
    ReportError::Invalid { field, problem: problem.into() }
}

/// The estate tax of `household` (its key) under `a`, its accounts read from `db`.
pub async fn tax(
    db: &projections::db::Db,
    household: &str,
    today: chrono::NaiveDate,
    a: &Assumptions,
) -> Result<EstateAnswer, ReportError> {
    let members = members(db, household).await?;
    // The decedent's recorded gifts join the plan's, and the spouse's citizenship is the
    // recorded one unless the plan says.
    let mut a = a.clone();
    let spouse = match &a.death_of {
        Some(d) => {
            if !members.iter().any(|m| &m.name == d) {
                let names: Vec<&str> = members.iter().map(|m| m.name.as_str()).collect();
                return Err(invalid("death_of", format!("{d:?} is not a member (members: {})", names.join(", "))));
            }
            let spouse = spouse_of(&members, d);
            let recorded = recorded_gifts(db, household).await?;
            let own = gifts_of(d, spouse.map(|s| s.name.as_str()), &recorded);
            a.gifts.extend(own.into_iter().map(|g| as_gift(g, d, &members)));
            // The ILIT premiums paid to the year of death.
            let through = a.year.unwrap_or(today.year());
            let entities = entities(db, household).await?;
            a.gifts.extend(premium_gifts(d, through, &entities, &members).into_iter().map(|(_, g)| g));
            a.spouse_citizen = a.spouse_citizen.or(spouse.and_then(|s| s.citizen));
            spouse
        }
        None => None,
    };
    let a = &a;
    let half = Decimal::new(5, 1);
    let share = a.share.unwrap_or(if spouse.is_some() { half } else { Decimal::ONE });
    if share < Decimal::ZERO || share > Decimal::ONE {
        return Err(invalid("share", format!("{share} is not between 0 and 1")));
    }
    if a.other_liquid > a.other_assets {
        return Err(invalid("other_liquid", "is more than other_assets"));
    }
    let death = a.year.unwrap_or(today.year());
    let gifts = a.gift_years(death)?;
    let (adjusted_taxable_gifts, gift_tax_paid) = match gifts.last() {
        Some(last) => (
            last.prior_taxable_gifts + last.taxable_gifts,
            a.prior_gift_tax + gifts.iter().map(|y| y.gift_tax).sum::<Decimal>(),
        ),
        None => (a.adjusted_taxable_gifts + a.prior_taxable_gifts, a.gift_tax_paid + a.prior_gift_tax),
    };
    let accounts = crate::plan::account_values(db, household).await?;
    let cents = |d: Decimal| d.round_dp(2);
    // Each account's part in the estate: all of the decedent's own, `share` of one no member
    // owns, none of another member's (with no decedent named, `share` of every one).
    let part = |v: &crate::plan::AccountValue| match (&a.death_of, &v.owner) {
        (Some(d), Some(owner)) if owner == d => Decimal::ONE,
        (Some(_), Some(_)) => Decimal::ZERO,
        _ => share,
    };
    let held = cents(accounts.iter().map(|v| v.value * part(v)).sum::<Decimal>());
    let liquid_accounts = accounts.iter().filter(|v| v.account_type == AccountType::Taxable).map(|v| v.value * part(v));
    let liquid = cents(liquid_accounts.sum::<Decimal>()) + a.other_liquid;
    // The entities' part: the decedent's (else the principal's) as of the end of the year of
    // death, or today in this year.
    let decedent = a.death_of.clone().or_else(|| {
        members.iter().find(|m| m.relationship == Some(domain::family::Relationship::Principal)).map(|m| m.name.clone())
    });
    let on = if death == today.year() {
        today
    } else {
        chrono::NaiveDate::from_ymd_opt(death, 12, 31)
            .ok_or_else(|| invalid("year", format!("{death} is not a year")))?
    };
    let entities = match &decedent {
        Some(d) => {
            let (rate, _) = section_7520(None, None, None)?;
            domain::entities::in_estate(&entities(db, household).await?, d, on, rate)
        }
        None => Vec::new(),
    };
    let entities_included = entities.iter().map(|i| i.included).sum::<Decimal>();
    let entities_deducted = entities.iter().map(|i| i.deducted).sum::<Decimal>();
    if accounts.is_empty() && a.other_assets.is_zero() && entities_included.is_zero() {
        return Err(invalid(
            "household",
            format!("{household} has no open account, no entity in the estate, and no other_assets were given"),
        ));
    }
    let estate = Estate {
        year: death,
        gross_estate: held + a.other_assets + entities_included,
        debts: a.debts,
        expenses: a.expenses,
        charitable: a.charitable + entities_deducted,
        to_spouse: a.to_spouse,
        spouse_citizen: a.spouse_citizen.unwrap_or(true),
        qdot: a.qdot,
        adjusted_taxable_gifts,
        gift_tax_paid,
        dsue: a.dsue,
        state_death_tax: Decimal::ZERO,
    };
    let federal = |e: &Estate| domain::estate::estate_tax(e).map_err(|x| invalid(x.field, x.problem));
    // The state taxes the federal taxable estate before §2058 (and some of the gifts); what it
    // takes is then deducted from the federal one.
    let domicile = a.domicile.clone().or_else(|| {
        let decedent = match &a.death_of {
            Some(d) => members.iter().find(|m| &m.name == d),
            None => members.iter().find(|m| m.relationship == Some(domain::family::Relationship::Principal)),
        };
        decedent.and_then(|m| m.domicile.clone())
    });
    let domicile = domicile.map(|d| domain::family::state(&d).map_err(|p| invalid("domicile", p))).transpose()?;
    let state = match &domicile {
        Some(st) => {
            let before = federal(&estate)?;
            let by_year: Vec<(i32, Decimal)> = gifts.iter().map(|y| (y.year, y.taxable_gifts)).collect();
            domain::state_estate::state_estate_tax(st, death, before.taxable_estate, &by_year)
                .map_err(|e| invalid(if e.field == "year" { "year" } else { "domicile" }, e.problem))?
        }
        None => None,
    };
    let state_tax = state.as_ref().map_or(Decimal::ZERO, |s| s.tax);
    let tax = federal(&Estate { state_death_tax: state_tax, ..estate })?;
    // Bequests to skip persons take the GST exemption the lifetime gifts left.
    let allocated = a.prior_gst_allocated + gifts.iter().map(|y| y.gst_exemption_allocated).sum::<Decimal>();
    let gst = if a.to_skip_persons.is_zero() {
        None
    } else {
        let exemption = domain::estate::year(death).map_err(|p| invalid("year", p))?.basic_exclusion;
        let skip = domain::gst::direct_skip(a.to_skip_persons, exemption - allocated)
            .map_err(|e| invalid("to_skip_persons", e.problem))?;
        Some(skip)
    };
    let needed = tax.net_estate_tax + state_tax + a.debts + a.expenses + gst.as_ref().map_or(Decimal::ZERO, |g| g.tax);
    Ok(EstateAnswer {
        household: household.to_owned(),
        decedent: a.death_of.clone(),
        accounts: held,
        share,
        other_assets: a.other_assets,
        liquid_assets: liquid,
        liquidity_needed: needed,
        liquidity_shortfall: (needed - liquid).max(Decimal::ZERO),
        tax,
        gifts,
        gst_tax: gst.as_ref().map_or(Decimal::ZERO, |g| g.tax),
        gst,
        domicile,
        state_tax,
        state,
        entities_included,
        entities,
    })
}

/// The gifts' Form 709 years as rows, for CSV and tables.
pub fn gifts_report(years: &[domain::gifts::GiftYear]) -> Result<Report, ReportError> {
    const COLUMNS: [&str; 17] = [
        "year",
        "gifts",
        "exclusions",
        "marital_deduction",
        "charitable_deduction",
        "taxable_gifts",
        "prior_taxable_gifts",
        "tentative_tax",
        "credit",
        "gift_tax",
        "exclusion_left",
        "direct_skips",
        "gst_exemption_allocated",
        "gst_elected",
        "gst_tax",
        "gst_exemption_left",
        "projected",
    ];
    let rows = years.iter().map(|y| crate::reports::fields(y, &COLUMNS)).collect::<Result<_, _>>()?;
    Ok(Report { name: "gifts", columns: COLUMNS.to_vec(), rows, totals: Vec::new(), summary: Vec::new() })
}

/// Each donor's Form 709 years as rows (the donor first), for CSV and tables.
pub fn donors_report(a: &GiftsAnswer) -> Result<Report, ReportError> {
    let columns = [&["donor"][..], &gifts_report(&[])?.columns].concat();
    let mut rows = Vec::new();
    for d in &a.donors {
        rows.extend(gifts_report(&d.years)?.rows.into_iter().map(|r| [vec![d.donor.clone()], r].concat()));
    }
    Ok(Report { name: "gifts", columns, rows, totals: Vec::new(), summary: Vec::new() })
}

/// Form 706 Part 2's lines and the liquidity, for CSV and tables.
pub fn report(a: &EstateAnswer) -> Result<Report, ReportError> {
    const LINES: [&str; 30] = [
        "year",
        "accounts",
        "share",
        "other_assets",
        "gross_estate",
        "deductions",
        "marital_deduction",
        "marital_note",
        "charitable_deduction",
        "taxable_estate",
        "adjusted_taxable_gifts",
        "tax_base",
        "tentative_tax",
        "gift_tax_paid",
        "gross_estate_tax",
        "basic_exclusion",
        "dsue",
        "applicable_exclusion",
        "applicable_credit",
        "credit_allowed",
        "net_estate_tax",
        "marginal_rate",
        "effective_rate",
        "dsue_for_survivor",
        "gst_tax",
        "domicile",
        "state_tax",
        "liquid_assets",
        "liquidity_needed",
        "liquidity_shortfall",
    ];
    crate::reports::lines("estate_tax", a, &LINES)
}

/// A GRAT to value (`cairn estate grat`, `GET /v1/estate/grat`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GratInput {
    pub funding: Decimal,
    pub years: u32,
    /// The §7520 rate (0.052); else `month`'s published one (`YYYY-MM`); else the one from 120%
    /// of the mid-term AFR (`afr_120`); else the latest published.
    pub rate: Option<Decimal>,
    pub month: Option<String>,
    pub afr_120: Option<Decimal>,
    /// Each payment's growth over the one before (0 to 0.2).
    #[serde(default)]
    pub step_up: Decimal,
    /// The first payment; absent: the zeroed-out GRAT's.
    pub payment: Option<Decimal>,
    /// The trust's assumed annual return (default the rate plus 0.03) and volatility (default
    /// 0.15), for what passes.
    pub expected_return: Option<Decimal>,
    pub volatility: Option<Decimal>,
}

/// A GRAT valued at funding, and what would pass to the remaindermen.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct GratAnswer {
    #[serde(flatten)]
    pub grat: domain::grat::Grat,
    /// Where the rate came from: a published month and its ruling, `given`, or `afr_120`.
    pub rate_source: String,
    pub expected_return: Decimal,
    pub volatility: Decimal,
    /// At the expected return every year.
    pub remainder_at_expected_return: Decimal,
    /// Over 10,000 paths of annual returns (`simulations::grat`).
    pub remainder_paths: simulations::grat::GratOutcome,
}

/// The §7520 rate a planner takes, and where it came from: `rate` as given; else `month`'s
/// published one (`YYYY-MM`); else the one from 120% of the mid-term AFR; else the latest
/// published month cairn has.
pub fn section_7520(
    rate: Option<Decimal>,
    month: Option<&str>,
    afr_120: Option<Decimal>,
) -> Result<(Decimal, String), ReportError> {
    Ok(match (rate, month, afr_120) {
        (Some(r), _, _) => (r, "given".to_owned()),
        (None, Some(month), _) => {
            let bad = || {
                invalid(
                    "month",
                    format!("{month:?}: cairn has the published §7520 rates of {}; give rate or afr_120", months()),
                )
            };
            let (y, m) = month.split_once('-').ok_or_else(bad)?;
            let (y, m) = (y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
            let r = domain::grat::published(y, m).ok_or_else(bad)?;
            (r.rate, format!("{y}-{m:02}, {}", r.ruling))
        }
        (None, None, Some(afr)) => (domain::grat::rate_7520(afr), format!("120% of the mid-term AFR {afr}")),
        (None, None, None) => {
            let r = domain::grat::RATES.last().expect("the table has a month");
            (r.rate, format!("{}-{:02}, {} (the latest cairn has)", r.year, r.month, r.ruling))
        }
    })
}

/// `input` valued and projected.
pub fn grat(input: &GratInput) -> Result<GratAnswer, ReportError> {
    let (rate, rate_source) = section_7520(input.rate, input.month.as_deref(), input.afr_120)?;
    let terms = domain::grat::Terms {
        funding: input.funding,
        years: input.years,
        rate,
        step_up: input.step_up,
        first_payment: input.payment,
    };
    let grat = domain::grat::value(&terms).map_err(|e| invalid(e.field, e.problem))?;
    let expected_return = input.expected_return.unwrap_or(rate + Decimal::new(3, 2));
    let volatility = input.volatility.unwrap_or(Decimal::new(15, 2));
    let f = |d: Decimal| d.to_f64().unwrap_or(0.0);
    let run = simulations::grat::GratRun {
        funding: f(grat.funding),
        payments: grat.payments.iter().map(|p| f(*p)).collect(),
        expected_return: f(expected_return),
        volatility: f(volatility),
        paths: 10_000,
        seed: crate::goals::seed("grat", &format!("{}:{}", grat.funding, grat.years)),
    };
    let remainder_paths = simulations::grat::remainders(&run).map_err(|e| match e {
        simulations::SimError::Invalid { field, problem } => {
            invalid(if field == "volatility" { "volatility" } else { "expected_return" }, problem)
        }
    })?;
    Ok(GratAnswer {
        remainder_at_expected_return: domain::grat::remainder_at(&grat, expected_return),
        grat,
        rate_source,
        expected_return,
        volatility,
        remainder_paths,
    })
}

fn months() -> String {
    let (first, last) = (domain::grat::RATES.first(), domain::grat::RATES.last());
    first.zip(last).map_or_else(String::new, |(a, b)| format!("{}-{:02} to {}-{:02}", a.year, a.month, b.year, b.month))
}

/// A GRAT's lines, for CSV and tables.
pub fn grat_report(a: &GratAnswer) -> Result<Report, ReportError> {
    const LINES: [&str; 11] = [
        "funding",
        "years",
        "rate",
        "rate_source",
        "step_up",
        "annuity_factor",
        "annuity_value",
        "taxable_gift",
        "expected_return",
        "volatility",
        "remainder_at_expected_return",
    ];
    crate::reports::lines("grat", a, &LINES)
}

/// A charitable remainder or lead trust to value (`cairn estate charitable`,
/// `GET /v1/estate/charitable`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CharitableInput {
    pub kind: domain::charitable::Kind,
    pub funding: Decimal,
    pub payout_rate: Option<Decimal>,
    pub payment: Option<Decimal>,
    pub years: Option<u32>,
    pub age: Option<u32>,
    /// With `age`, a second life: the trust pays until the last of the two dies.
    pub age2: Option<u32>,
    /// The §7520 rate, as for a GRAT ([`section_7520`]).
    pub rate: Option<Decimal>,
    pub month: Option<String>,
    pub afr_120: Option<Decimal>,
    /// Payments a year (1 by default) and when in the period (the end by default).
    pub frequency: Option<u32>,
    #[serde(default)]
    pub timing: domain::actuarial::Timing,
    pub months_to_first: Option<u32>,
}

/// A charitable trust valued, with where its rate came from.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct CharitableAnswer {
    #[serde(flatten)]
    pub trust: domain::charitable::CharitableTrust,
    pub rate_source: String,
}

/// `input` valued.
pub fn charitable(input: &CharitableInput) -> Result<CharitableAnswer, ReportError> {
    let (rate, rate_source) = section_7520(input.rate, input.month.as_deref(), input.afr_120)?;
    let terms = domain::charitable::Terms {
        kind: input.kind,
        funding: input.funding,
        payout_rate: input.payout_rate,
        payment: input.payment,
        years: input.years,
        age: input.age,
        age2: input.age2,
        rate,
        frequency: input.frequency.unwrap_or(1),
        timing: input.timing,
        months_to_first: input.months_to_first,
    };
    let trust = domain::charitable::value(&terms).map_err(|e| invalid(e.field, e.problem))?;
    Ok(CharitableAnswer { trust, rate_source })
}

/// A charitable trust's lines, for CSV and tables.
pub fn charitable_report(a: &CharitableAnswer) -> Result<Report, ReportError> {
    const LINES: [&str; 16] = [
        "kind",
        "funding",
        "rate",
        "rate_source",
        "years",
        "age",
        "age2",
        "payout_rate",
        "annual_payment",
        "adjusted_payout_rate",
        "factor",
        "payments_value",
        "remainder_value",
        "charitable_deduction",
        "taxable_gift",
        "qualifies",
    ];
    crate::reports::lines("charitable_trust", a, &LINES)
}

/// A strategy comparison's assumptions (`cairn estate strategies`,
/// `GET /v1/households/{h}/estate/strategies`); a household's estate, marriage, donees and
/// domicile come from its ledger unless given.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StrategiesInput {
    pub estate: Option<Decimal>,
    /// Years to the death (by the household: to the principal's expected death, or the later of
    /// the principal's and the spouse's, by `lives_to` or Table 2010CM; else 20), the estate's
    /// return (0.06), inflation for the exclusions (0.025).
    pub years: Option<u32>,
    pub growth: Option<Decimal>,
    pub inflation: Option<Decimal>,
    pub married: Option<bool>,
    pub donees: Option<u32>,
    pub domicile: Option<String>,
    /// The §7520 rate (the latest published when absent).
    pub rate: Option<Decimal>,
    /// The GRATs' share of the estate (0.3); the lead trust's share (0.2) and term (the
    /// horizon, at most 20 years).
    pub grat_share: Option<Decimal>,
    pub clat_share: Option<Decimal>,
    pub clat_years: Option<u32>,
    /// The dynasty trust's distributions a year (0.02) over three generations of 30 years.
    pub distributions: Option<Decimal>,
}

/// Where the comparison's horizon comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Horizon {
    /// `given` (the plan's `years`), `default` (20 years: no principal with a birth date), or
    /// the expected death of the principal (or of the later of the principal and spouse) as
    /// `lives_to` or Table 2010CM gives it.
    pub from: &'static str,
    /// Whose expected death ends it, in order.
    pub members: Vec<String>,
    /// The years expected to remain, unrounded (the horizon is them rounded to whole years).
    pub expectancy: Option<Decimal>,
    pub source: Option<domain::family::ExpectancySource>,
}

/// The strategies side by side, and the dynasty trust over generations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct StrategiesAnswer {
    pub estate: Decimal,
    pub start: i32,
    pub years: u32,
    pub growth: Decimal,
    pub married: bool,
    pub donees: u32,
    pub domicile: Option<String>,
    pub rate: Decimal,
    pub horizon: Horizon,
    pub outcomes: Vec<domain::strategies::Outcome>,
    /// The dynasty strategy's trust carried three generations, with and without GST exemption.
    pub dynasty: Vec<domain::strategies::Generation>,
}

/// The comparison for `input`, the household's estate, marriage, donees and domicile where
/// `input` leaves them out.
pub async fn strategies(
    db: &projections::db::Db,
    h: &str,
    today: chrono::NaiveDate,
    input: &StrategiesInput,
) -> Result<StrategiesAnswer, ReportError> {
    use domain::family::Relationship as R;
    let family = members(db, h).await?;
    let married = input.married.or(Some(family.iter().any(|m| m.relationship == Some(R::Spouse))));
    let heirs = family.iter().filter(|m| matches!(m.relationship, Some(R::Child | R::Grandchild | R::GreatGrandchild)));
    let donees = input.donees.or(Some(heirs.count() as u32));
    let estate = match input.estate {
        Some(e) => Some(e),
        None => {
            let whole = Assumptions { share: Some(Decimal::ONE), ..Assumptions::default() };
            Some(tax(db, h, today, &whole).await?.tax.gross_estate)
        }
    };
    let principal = family.iter().find(|m| m.relationship == Some(R::Principal));
    let domicile = input.domicile.clone().or_else(|| principal.and_then(|m| m.domicile.clone()));
    let spouse = family.iter().find(|m| m.relationship == Some(R::Spouse)).filter(|_| married == Some(true));
    let lived = input.years.is_none().then(|| expected_horizon(principal, spouse, today)).flatten();
    let years = input.years.or(lived.as_ref().map(|(years, _)| *years));
    let given = StrategiesInput { estate, married, donees, domicile, years, ..input.clone() };
    let mut answer = compare_strategies(&given, today)?;
    if let Some((_, horizon)) = lived {
        answer.horizon = horizon;
    }
    Ok(answer)
}

/// The years to the principal's expected death (the later of the principal's and the spouse's
/// when both have birth dates), at least one, and whence they come; `None` without the
/// principal's birth date.
fn expected_horizon(
    principal: Option<&FamilyMember>,
    spouse: Option<&FamilyMember>,
    today: chrono::NaiveDate,
) -> Option<(u32, Horizon)> {
    let p = principal?;
    let born = p.born?;
    let (expected, members) = match spouse.and_then(|s| s.born.map(|b| (s, b))) {
        Some((s, born2)) => (
            domain::family::second_death((born, p.lives_to), (born2, s.lives_to), today),
            vec![p.name.clone(), s.name.clone()],
        ),
        None => (domain::family::expectancy(born, p.lives_to, today), vec![p.name.clone()]),
    };
    // The comparison runs at most 60 years.
    let years = domain::family::whole_years(expected.years).clamp(1, 60) as u32;
    let from = if members.len() == 2 { "second_death" } else { "life_expectancy" };
    Some((years, Horizon { from, members, expectancy: Some(expected.years), source: Some(expected.source) }))
}

/// The comparison for `input` as given (no household read).
pub fn compare_strategies(input: &StrategiesInput, today: chrono::NaiveDate) -> Result<StrategiesAnswer, ReportError> {
    let (married, donees) = (input.married, input.donees);
    let estate = input.estate.ok_or_else(|| invalid("estate", "give the estate's value or a household"))?;
    let domicile =
        input.domicile.clone().map(|d| domain::family::state(&d).map_err(|p| invalid("domicile", p))).transpose()?;
    let years = input.years.unwrap_or(20);
    let horizon = Horizon {
        from: if input.years.is_some() { "given" } else { "default" },
        members: Vec::new(),
        expectancy: None,
        source: None,
    };
    let (rate, _) = section_7520(input.rate, None, None)?;
    let family = domain::strategies::Family {
        estate,
        growth: input.growth.unwrap_or(Decimal::new(6, 2)),
        years,
        start: today.year(),
        married: married.unwrap_or(false),
        donees: donees.unwrap_or(0),
        inflation: input.inflation.unwrap_or(Decimal::new(25, 3)),
        rate,
        state: domicile.clone(),
        grat_share: input.grat_share.unwrap_or(Decimal::new(3, 1)),
        clat_share: input.clat_share.unwrap_or(Decimal::new(2, 1)),
        clat_years: input.clat_years.unwrap_or(years.min(20)),
    };
    let outcomes = domain::strategies::compare(&family).map_err(|e| invalid(e.field, e.problem))?;
    let (basic, _) = domain::strategies::exclusions(family.start, family.inflation);
    let funding = (basic * if family.married { Decimal::TWO } else { Decimal::ONE }).min(estate);
    let distributions = input.distributions.unwrap_or(Decimal::new(2, 2));
    let dynasty = domain::strategies::dynasty(funding, family.growth, distributions, 3, 30)
        .map_err(|e| invalid(if e.field == "generations" { "years" } else { e.field }, e.problem))?;
    Ok(StrategiesAnswer {
        estate,
        start: family.start,
        years,
        growth: family.growth,
        married: family.married,
        donees: family.donees,
        domicile,
        rate,
        horizon,
        outcomes,
        dynasty,
    })
}

/// The strategies as rows, for CSV and tables.
pub fn strategies_report(a: &StrategiesAnswer) -> Result<Report, ReportError> {
    const COLUMNS: [&str; 10] = [
        "strategy",
        "estate_at_death",
        "trusts_included",
        "adjusted_taxable_gifts",
        "federal_tax",
        "state_tax",
        "outside_estate",
        "to_heirs",
        "to_charity",
        "saved",
    ];
    let rows = a.outcomes.iter().map(|o| crate::reports::fields(o, &COLUMNS)).collect::<Result<_, _>>()?;
    Ok(Report { name: "strategies", columns: COLUMNS.to_vec(), rows, totals: Vec::new(), summary: Vec::new() })
}

/// A business succession plan (`[succession]` in `cairn estate succession --plan`, or the body
/// of `POST /v1/estate/succession`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SuccessionPlan {
    pub business: domain::succession::Business,
    /// The year (this year); the owner's exclusion already used by taxable gifts.
    pub year: Option<i32>,
    #[serde(default)]
    pub exclusion_used: Decimal,
    /// The long-term capital gain rate with the NIIT (0.238).
    pub capital_gain_rate: Option<Decimal>,
    /// The note's AFR (the latest month's 120% mid-term AFR over 1.2, to the hundredth of a
    /// percent) and term (9 years); a sale's costs (0.03).
    pub afr: Option<Decimal>,
    pub note_years: Option<u32>,
    pub sale_costs: Option<Decimal>,
}

/// A business valued and its paths compared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct SuccessionAnswer {
    pub valuation: domain::succession::Valuation,
    pub afr: Decimal,
    pub afr_source: String,
    pub paths: Vec<domain::succession::Path>,
}

/// `plan` valued and compared in `this_year`.
pub fn succession(plan: &SuccessionPlan, this_year: i32) -> Result<SuccessionAnswer, ReportError> {
    let valuation = domain::succession::value(&plan.business).map_err(|e| invalid(e.field, e.problem))?;
    let (afr, afr_source) = match plan.afr {
        Some(a) => (a, "given".to_owned()),
        None => {
            let m = domain::grat::RATES.last().expect("the table has a month");
            let mid = (m.afr_120 / Decimal::new(12, 1)).round_dp(4);
            (mid, format!("{}-{:02}: 120% of the mid-term AFR {} over 1.2", m.year, m.month, m.afr_120))
        }
    };
    let terms = domain::succession::Terms {
        year: plan.year.unwrap_or(this_year),
        exclusion_used: plan.exclusion_used,
        capital_gain_rate: plan.capital_gain_rate.unwrap_or(Decimal::new(238, 3)),
        afr,
        note_years: plan.note_years.unwrap_or(9),
        sale_costs: plan.sale_costs.unwrap_or(Decimal::new(3, 2)),
    };
    let paths =
        domain::succession::paths(&plan.business, &valuation, &terms).map_err(|e| invalid(e.field, e.problem))?;
    Ok(SuccessionAnswer { valuation, afr, afr_source, paths })
}

/// The paths as rows, for CSV and tables.
pub fn succession_report(a: &SuccessionAnswer) -> Result<Report, ReportError> {
    const COLUMNS: [&str; 9] = [
        "path",
        "price",
        "taxable_gift",
        "gift_tax",
        "capital_gain_tax",
        "deferred_gain",
        "cash_to_owner",
        "in_estate",
        "control",
    ];
    let rows = a.paths.iter().map(|p| crate::reports::fields(p, &COLUMNS)).collect::<Result<_, _>>()?;
    let summary = vec![
        ("value", serde_json::json!(a.valuation.value)),
        ("discounted_share_value", serde_json::json!(a.valuation.discounted_share_value)),
    ];
    Ok(Report { name: "succession", columns: COLUMNS.to_vec(), rows, totals: Vec::new(), summary })
}
