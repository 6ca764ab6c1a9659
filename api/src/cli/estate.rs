//! `cairn estate …`: estate planning over the household's own accounts.

use clap::Subcommand;
use event_store::Store;

use super::tax::{print, read_models};
use super::{caller, outln, Format};

#[derive(Debug, Subcommand)]
pub(crate) enum EstateCmd {
    /// The federal estate tax if the household's decedent died in --year (Form 706 Part 2:
    /// gross estate, deductions, taxable estate, adjusted taxable gifts, the §2001(c) tentative
    /// tax, the applicable credit on the basic exclusion plus any DSUE, the net tax), the DSUE
    /// a surviving spouse could take, and whether the liquid assets pay the tax, debts and
    /// expenses. The gross estate is the household's open accounts at the latest closes times
    /// `share`, plus `other_assets`; the rest comes from --plan's `[estate]` table:
    /// year, share, other_assets, other_liquid, debts, expenses, charitable, to_spouse,
    /// spouse_citizen, qdot, adjusted_taxable_gifts, gift_tax_paid, dsue, or instead of the
    /// two gift amounts the lifetime gifts (`[[estate.gifts]]`, see `estate gifts`) with
    /// prior_taxable_gifts, prior_gift_tax and prior_gst_allocated; to_skip_persons (bequests
    /// to grandchildren: their GST tax at 40% times the inclusion ratio, after the GST
    /// exemption the gifts left); death_of (as --death-of); domicile (as --domicile).
    Tax {
        #[arg(long)]
        household: String,
        /// The year of death (default: the plan's, else this year); 2024 to 2026.
        #[arg(long)]
        year: Option<i32>,
        /// The member who dies: the estate is the accounts the member owns plus `share`
        /// (default one half with a spouse recorded) of those no member owns; the member's
        /// recorded gifts (`estate gift`) and the spouse's split ones count, and the spouse's
        /// recorded citizenship.
        #[arg(long, value_name = "MEMBER")]
        death_of: Option<String>,
        /// The decedent's state of domicile (NY, MA, …) for its estate tax, deducted from the
        /// federal taxable estate (IRC §2058) and due at death (default: the decedent's recorded
        /// domicile, else the principal's).
        #[arg(long)]
        domicile: Option<String>,
        /// A TOML file with an `[estate]` table.
        #[arg(long)]
        plan: Option<std::path::PathBuf>,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// The lifetime gifts of --plan's `[[estate.gifts]]` year by year as Form 709 computes them:
    /// each donee's annual exclusion, the marital and charitable deductions, split gifts, 529
    /// gifts spread over five years, the taxable gifts, the tentative tax on all gifts so far
    /// less that on earlier ones, the applicable credit left and the gift tax, and the
    /// exclusion left (`prior_taxable_gifts`, `prior_gift_tax` and `dsue` from the same table).
    /// A gift with `skip = true` (to a grandchild; recorded gifts to a member two generations
    /// down are) is a direct skip: beyond the donee's exclusion it takes GST exemption
    /// (`prior_gst_allocated` used before), and its GST tax is a further taxable gift.
    ///
    /// With --household, the gifts recorded on its ledger (`estate gift`), donor by donor (a
    /// split gift counts half for each spouse); --donor picks one, and the plan's gifts and
    /// prior amounts are that donor's.
    Gifts {
        #[arg(long)]
        household: Option<String>,
        #[arg(long, value_name = "MEMBER")]
        donor: Option<String>,
        #[arg(long)]
        plan: Option<std::path::PathBuf>,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Records a member's lifetime gift on the household's ledger (`GiftRecorded`, given an id
    /// G1, G2, …): on or before today, from a member (`ledger member`). A gift to the member
    /// recorded as the donor's spouse takes the marital treatment of the spouse's citizenship.
    Gift {
        #[arg(long)]
        household: String,
        #[arg(long, value_name = "MEMBER")]
        donor: String,
        /// Who received it: a member's name or anyone else's.
        #[arg(long)]
        donee: String,
        #[arg(long)]
        amount: rust_decimal::Decimal,
        /// When it was given (YYYY-MM-DD).
        #[arg(long)]
        date: chrono::NaiveDate,
        /// person, charity, citizen_spouse, noncitizen_spouse, or tuition_or_medical (paid
        /// directly to a school or a medical provider: excluded whole, §2503(e)).
        #[arg(long, default_value = "person")]
        kind: String,
        /// A future interest (a trust without withdrawal rights): no annual exclusion.
        #[arg(long)]
        future_interest: bool,
        /// Split with the donor's spouse (§2513; the spouse must be a member and consent).
        #[arg(long)]
        split: bool,
        /// A 529 contribution spread over five years (§529(c)(2)(B)).
        #[arg(long)]
        superfund_529: bool,
        /// GST exemption allocated to it on the return: a gift to a trust that may benefit
        /// skip persons (§2632(a)); a direct skip takes its exemption automatically.
        #[arg(long, default_value = "0")]
        gst_allocation: rust_decimal::Decimal,
    },
    /// Each beneficiary's college funding from --plan's `[[education.beneficiaries]]` (name,
    /// cost_today: a year of school at today's prices, enrolment: the first school year, years
    /// (4), account: a 529 account of --household, or balance; monthly saving, inflation
    /// (0.05), expected_return (0.06), volatility (0.12), probability (0.8)): each year's cost
    /// grown by education inflation, the need at enrolment (later years discounted at the
    /// return), the account projected to enrolment, the gap and the monthly saving that closes
    /// it; the probability the saving reaches the need and the monthly saving that reaches it
    /// on `probability` of the Monte Carlo engine's paths. With `magi` (and
    /// `qualified_expenses`, `filing_status`) in `[education]`, the American Opportunity and
    /// Lifetime Learning credits with their phase-outs (IRC §25A). See
    /// examples/education.toml.
    Education {
        #[arg(long)]
        household: Option<String>,
        #[arg(long)]
        plan: std::path::PathBuf,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// A grantor retained annuity trust (IRC §2702): the §7520 rate (--rate; else --month's
    /// published one; else from --afr-120, 120% of the mid-term AFR, rounded to the nearest
    /// 0.2%; else the latest month cairn has), the annuity paid at each year's end (the
    /// zeroed-out one unless --payment; growing by --step-up, at most 0.2), its value (Table B)
    /// and the remainder's, which is the taxable gift; and what would pass to the remaindermen
    /// at --expected-return (default the rate plus 3%) every year and over 10,000 paths at
    /// --volatility (default 0.15): percentiles, mean, and the chance anything passes.
    Grat {
        #[command(flatten)]
        input: GratArgs,
        /// A TOML file whose `[grat]` table gives these options (see examples/estate.toml);
        /// the options given override it.
        #[arg(long)]
        plan: Option<std::path::PathBuf>,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// A charitable remainder or lead trust (--kind crat|crut|clat|clut; IRC §664,
    /// §170(f)(2)(B)) for --years, the life of one aged --age (at the nearest birthday), or with
    /// --age2 until the last of two dies, at the §7520 rate as for `estate grat`: the payments'
    /// value and the remainder's by the IRS's tables on Table 2010CM (B, S, R(2), D, U(1), U(2),
    /// F, K), the charitable deduction (the remainder of a remainder trust; the payments of a lead
    /// trust, whose remainder to the family is a taxable gift, zeroed out unless --payment or
    /// --payout-rate), and for a remainder trust the tests it must pass: payout 5% to 50%, term
    /// at most 20 years, remainder at least 10%, and for an annuity trust for a life or two at
    /// most a 5% chance the beneficiary (or either of the two) outlives the trust (Rev. Rul.
    /// 77-374).
    Charitable {
        #[command(flatten)]
        input: CharitableArgs,
        /// A TOML file whose `[charitable]` table gives these options (see
        /// examples/estate.toml); the options given override it.
        #[arg(long)]
        plan: Option<std::path::PathBuf>,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Sets a trust or business of the household (`EntitySet`), or replaces the one of that
    /// name whole. --kind: revocable_trust, irrevocable_trust, grat, ilit, dynasty_trust, slat,
    /// idgt, qtip_trust, crat, crut, clat, clut (a trust: --grantor a member) or llc, s_corp,
    /// c_corp, flp (a business: --owner NAME=SHARE, a member or another entity, shares at most
    /// 1 in all). --value is the whole entity's on --valued-on (today by default); a closely held
    /// interest is discounted by --lack-of-control then --lack-of-marketability. A GRAT needs
    /// --funded-on, --term-years and --annuity; an ILIT's --death-benefit counts in the
    /// grantor's estate within three years of --funded-on, and its yearly --premium (from
    /// --funded-on's year, for --premium-years or while the grantor lives) is the grantor's gift
    /// to the --beneficiary members in equal shares: present interests with --crummey
    /// (withdrawal powers; a lapse beyond the greater of $5,000 and 5% of the trust is the
    /// beneficiary's own gift, §2514(e)), else future interests with no annual exclusion
    /// (`estate gifts` shows them). `estate tax` puts each in the decedent's gross estate as the
    /// law does (see `estate entities`).
    Entity {
        #[arg(long)]
        household: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        kind: domain::entities::EntityKind,
        #[arg(long)]
        value: rust_decimal::Decimal,
        #[arg(long)]
        valued_on: Option<chrono::NaiveDate>,
        #[arg(long, value_name = "MEMBER")]
        grantor: Option<String>,
        #[arg(long)]
        trustee: Option<String>,
        /// A beneficiary (repeat for each).
        #[arg(long = "beneficiary")]
        beneficiaries: Vec<String>,
        /// An owner and its share, NAME=0.4 (repeat for each).
        #[arg(long = "owner", value_parser = owner)]
        owners: Vec<domain::entities::Owner>,
        #[arg(long)]
        funded_on: Option<chrono::NaiveDate>,
        #[arg(long)]
        term_years: Option<u32>,
        #[arg(long)]
        annuity: Option<rust_decimal::Decimal>,
        #[arg(long)]
        death_benefit: Option<rust_decimal::Decimal>,
        /// An ILIT's yearly premium the grantor pays in.
        #[arg(long)]
        premium: Option<rust_decimal::Decimal>,
        /// The years the premium is paid (while the grantor lives when absent).
        #[arg(long)]
        premium_years: Option<u32>,
        /// The ILIT's beneficiaries may withdraw each contribution (Crummey powers).
        #[arg(long)]
        crummey: bool,
        /// GST exemption allocated to the whole trust.
        #[arg(long)]
        gst_exempt: bool,
        #[arg(long, default_value = "0")]
        lack_of_control: rust_decimal::Decimal,
        #[arg(long, default_value = "0")]
        lack_of_marketability: rust_decimal::Decimal,
    },
    /// Removes a trust or business (`EntityRemoved`; not one another entity names as an owner).
    RemoveEntity {
        #[arg(long)]
        household: String,
        #[arg(long)]
        name: String,
    },
    /// The household's trusts and businesses, each owner's interest undiscounted and after
    /// the discounts.
    Entities {
        #[arg(long)]
        household: String,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// A giving plan through three vehicles side by side: gifts straight to public charities,
    /// a donor-advised fund funded with --bunch years' gifts at once, and a private foundation
    /// (1.39% excise on its investment income, 5% payout). Each year's deduction under the AGI
    /// limits (cash 60% and appreciated stock 30% to public charities, 30% and 20% to a
    /// foundation), five-year carryovers and, from 2026, the 0.5% floor (IRC §170), and the tax
    /// it saves through the tax engine on --income (growing by --income-growth) with
    /// --other-itemized deductions.
    Philanthropy {
        #[command(flatten)]
        input: PhilanthropyArgs,
        /// A TOML file whose `[philanthropy]` table gives these options (see
        /// examples/estate.toml); the options given override it.
        #[arg(long)]
        plan: Option<std::path::PathBuf>,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Estate strategies side by side at a death --years on (20), the estate growing at
    /// --growth (0.06): no planning, annual exclusion gifts to --donees from each spouse,
    /// rolling two-year zeroed-out GRATs on --grat-share of the estate, a dynasty trust funded
    /// with the exclusions, and a zeroed-out charitable lead annuity trust of --clat-share for
    /// --clat-years; each with the estate at death, federal and state tax (after portability
    /// for a married couple), what the heirs and charities receive and what it saves; and the
    /// dynasty trust over three generations with and without GST exemption. With --household
    /// the estate (all its accounts and the principal's entities), marriage, donees (children
    /// and grandchildren) and domicile come from the ledger; else give --estate.
    Strategies {
        #[arg(long)]
        household: Option<String>,
        #[command(flatten)]
        assumptions: StrategiesArgs,
        /// A TOML file whose `[strategies]` table gives these options (see
        /// examples/estate.toml); the options given override it.
        #[arg(long)]
        plan: Option<std::path::PathBuf>,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// A closely held business valued and its succession paths compared, from --plan's
    /// `[succession]` (see examples/succession.toml): the income approach (free cash flows and
    /// a Gordon terminal value at a build-up discount rate: risk-free, equity risk, size and
    /// company premiums), the market approach (EBITDA times a multiple less net debt), the asset
    /// approach, weighed; the owner's share before and after the discounts; and a gift to the
    /// family, an installment sale to a grantor trust (a note at the AFR after a 10% seed
    /// gift), a management buyout, a third-party sale and a sale to an ESOP (§1042) by tax,
    /// cash to the owner, what stays in the estate, and control.
    Succession {
        #[arg(long)]
        plan: std::path::PathBuf,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Voids a recorded gift (`GiftRemoved`; it stays in the history).
    RemoveGift {
        #[arg(long)]
        household: String,
        /// The gift's id (G1, …).
        #[arg(long)]
        id: String,
        #[arg(long)]
        reason: String,
    },
}

/// `NAME=SHARE` as an owner.
fn owner(text: &str) -> Result<domain::entities::Owner, String> {
    let (name, share) = text.split_once('=').ok_or_else(|| format!("{text:?} is not NAME=SHARE"))?;
    let share = share.trim().parse().map_err(|_| format!("{share:?} is not a share such as 0.4"))?;
    Ok(domain::entities::Owner { owner: name.trim().to_owned(), share })
}

/// `estate grat`'s options, each also a key of --plan's `[grat]`.
#[derive(Debug, clap::Args, serde::Serialize)]
pub(crate) struct GratArgs {
    #[arg(long)]
    funding: Option<rust_decimal::Decimal>,
    /// The term in years.
    #[arg(long)]
    years: Option<u32>,
    #[command(flatten)]
    #[serde(flatten)]
    rate: RateArgs,
    /// Each payment's growth over the one before (0).
    #[arg(long)]
    step_up: Option<rust_decimal::Decimal>,
    /// The first payment (default: the zeroed-out GRAT's).
    #[arg(long)]
    payment: Option<rust_decimal::Decimal>,
    #[arg(long)]
    expected_return: Option<rust_decimal::Decimal>,
    #[arg(long)]
    volatility: Option<rust_decimal::Decimal>,
}

/// `estate charitable`'s options, each also a key of --plan's `[charitable]`.
#[derive(Debug, clap::Args, serde::Serialize)]
pub(crate) struct CharitableArgs {
    /// crat, crut, clat or clut.
    #[arg(long)]
    kind: Option<domain::charitable::Kind>,
    #[arg(long)]
    funding: Option<rust_decimal::Decimal>,
    /// The payout as a share of the funding (of each year's value for a unitrust), 0.05.
    #[arg(long)]
    payout_rate: Option<rust_decimal::Decimal>,
    /// An annuity trust's yearly payment instead.
    #[arg(long)]
    payment: Option<rust_decimal::Decimal>,
    #[arg(long)]
    years: Option<u32>,
    #[arg(long)]
    age: Option<u32>,
    /// With --age, a second life (a couple's trust): it pays until the last of the two dies.
    #[arg(long)]
    age2: Option<u32>,
    #[command(flatten)]
    #[serde(flatten)]
    rate: RateArgs,
    /// Payments a year: 1 (the default), 2, 4 or 12.
    #[arg(long)]
    frequency: Option<u32>,
    /// end (the default) or beginning of each period.
    #[arg(long)]
    timing: Option<domain::actuarial::Timing>,
    /// A unitrust's one annual payment this many months after funding.
    #[arg(long)]
    months_to_first: Option<u32>,
}

/// `estate philanthropy`'s options, each also a key of --plan's `[philanthropy]`.
#[derive(Debug, clap::Args, serde::Serialize)]
pub(crate) struct PhilanthropyArgs {
    #[arg(long)]
    income: Option<rust_decimal::Decimal>,
    #[arg(long)]
    income_growth: Option<rust_decimal::Decimal>,
    /// single, married_filing_jointly (the default), married_filing_separately,
    /// head_of_household, qualifying_surviving_spouse.
    #[arg(long)]
    status: Option<domain::ledger::types::FilingStatus>,
    /// Itemized deductions other than gifts (0).
    #[arg(long)]
    other_itemized: Option<rust_decimal::Decimal>,
    /// Given each year.
    #[arg(long)]
    annual: Option<rust_decimal::Decimal>,
    /// cash (the default) or appreciated (publicly traded stock held over a year).
    #[arg(long)]
    property: Option<queries::philanthropy::Property>,
    /// Appreciated stock's basis as a share of its value (0.2).
    #[arg(long)]
    basis: Option<rust_decimal::Decimal>,
    #[arg(long)]
    years: Option<u32>,
    #[arg(long)]
    start: Option<i32>,
    #[arg(long)]
    bunch: Option<u32>,
    #[arg(long)]
    investment_return: Option<rust_decimal::Decimal>,
}

/// `estate strategies`' assumptions, each also a key of --plan's `[strategies]`.
#[derive(Debug, clap::Args, serde::Serialize)]
pub(crate) struct StrategiesArgs {
    #[arg(long)]
    estate: Option<rust_decimal::Decimal>,
    /// Years to the death, 1 to 60. With --household and no years: to the principal's expected
    /// death (the later of the principal's and the spouse's when both have birth dates), by the
    /// members' --lives-to or Table 2010CM's life expectancy; else 20.
    #[arg(long)]
    years: Option<u32>,
    #[arg(long)]
    growth: Option<rust_decimal::Decimal>,
    #[arg(long)]
    inflation: Option<rust_decimal::Decimal>,
    #[arg(long)]
    married: Option<bool>,
    #[arg(long)]
    donees: Option<u32>,
    #[arg(long)]
    domicile: Option<String>,
    /// The §7520 rate (the latest published).
    #[arg(long)]
    rate: Option<rust_decimal::Decimal>,
    #[arg(long)]
    grat_share: Option<rust_decimal::Decimal>,
    #[arg(long)]
    clat_share: Option<rust_decimal::Decimal>,
    #[arg(long)]
    clat_years: Option<u32>,
    /// The dynasty trust's distributions a year (0.02).
    #[arg(long)]
    distributions: Option<rust_decimal::Decimal>,
}

/// A planner's input: --plan's `[table]` (when given) with the options given laid over it,
/// read as the planner reads it; a bad or missing value is named as an option and as the key.
fn planner<T: serde::de::DeserializeOwned>(
    plan: Option<&std::path::Path>,
    table: &str,
    given: &impl serde::Serialize,
) -> anyhow::Result<T> {
    let mut fields = match plan {
        Some(path) => plan_file(path)?.take(table).unwrap_or_default(),
        None => Table::new(),
    };
    if let serde_json::Value::Object(given) = serde_json::to_value(given)? {
        fields.extend(given.into_iter().filter(|(_, v)| !v.is_null()));
    }
    serde_path_to_error::deserialize(serde_json::Value::Object(fields)).map_err(|e| {
        let inner = e.inner().to_string();
        let missing = inner.strip_prefix("missing field `").and_then(|k| k.strip_suffix('`'));
        match (missing, plan) {
            (Some(key), _) => {
                anyhow::anyhow!("--{} (or `{key}` in --plan's [{table}]) is required", key.replace('_', "-"))
            }
            // The options are typed by their parser: a value the planner refuses is the file's.
            (None, Some(path)) if e.path().to_string() == "." => {
                anyhow::anyhow!("{} [{table}]: {inner}", path.display())
            }
            (None, Some(path)) => anyhow::anyhow!("{} [{table}] {}: {inner}", path.display(), e.path()),
            (None, None) => anyhow::anyhow!("{}: {inner}", e.path()),
        }
    })
}

/// The §7520 rate a planner takes: --rate; else --month's published one; else from --afr-120;
/// else the latest month cairn has.
#[derive(Debug, clap::Args, serde::Serialize)]
pub(crate) struct RateArgs {
    #[arg(long)]
    rate: Option<rust_decimal::Decimal>,
    /// A published month (YYYY-MM).
    #[arg(long)]
    month: Option<String>,
    #[arg(long = "afr-120")]
    afr_120: Option<rust_decimal::Decimal>,
}

/// The `[estate]` table of a plan file (all of it optional).
fn assumptions(plan: Option<&std::path::Path>) -> anyhow::Result<queries::estate::Assumptions> {
    let Some(path) = plan else { return Ok(queries::estate::Assumptions::default()) };
    Ok(plan_file(path)?.estate)
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanFile {
    #[serde(default)]
    estate: queries::estate::Assumptions,
    #[serde(default)]
    education: queries::education::Plan,
    succession: Option<queries::estate::SuccessionPlan>,
    /// The tables of the planners that take options, read by [`planner`].
    grat: Option<Table>,
    charitable: Option<Table>,
    philanthropy: Option<Table>,
    strategies: Option<Table>,
}

type Table = serde_json::Map<String, serde_json::Value>;

impl PlanFile {
    /// The options table of the planner `name`.
    fn take(self, name: &str) -> Option<Table> {
        match name {
            "grat" => self.grat,
            "charitable" => self.charitable,
            "philanthropy" => self.philanthropy,
            _ => self.strategies,
        }
    }
}

/// A plan file whole.
fn plan_file(path: &std::path::Path) -> anyhow::Result<PlanFile> {
    let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {}", path.display(), e.message()))
}

pub(crate) async fn estate(store: Store, url: &str, cmd: EstateCmd) -> anyhow::Result<()> {
    let cx = commands::Context::new(store.clone());
    match cmd {
        EstateCmd::Tax { household, year, death_of, domicile, plan, format } => {
            let mut assumptions = assumptions(plan.as_deref())?;
            if year.is_some() {
                assumptions.year = year;
            }
            if death_of.is_some() {
                assumptions.death_of = death_of;
            }
            if domicile.is_some() {
                assumptions.domicile = domicile;
            }
            let (reader, key) = read_models(store, url, &["holdings"], &household).await?;
            let today = workers::market::intraday::today();
            let answer = queries::estate::tax(&reader.db, &key, today, &assumptions).await?;
            print(&answer, format, |a| Ok(queries::estate::report(a)?))?;
        }
        cmd @ (EstateCmd::Gifts { household: None, .. }
        | EstateCmd::Grat { .. }
        | EstateCmd::Charitable { .. }
        | EstateCmd::Philanthropy { .. }
        | EstateCmd::Strategies { household: None, .. }
        | EstateCmd::Succession { .. }
        | EstateCmd::Education { household: None, .. }) => offline(cmd)?,
        EstateCmd::Gifts { household: Some(household), donor, plan, format } => {
            let a = assumptions(plan.as_deref())?;
            let (reader, key) = read_models(store, url, &["holdings"], &household).await?;
            let today = workers::market::intraday::today();
            let answer = queries::estate::gifts(&reader.db, &key, donor.as_deref(), &a, today).await?;
            print(&answer, format, |a| Ok(queries::estate::donors_report(a)?))?;
        }
        EstateCmd::Gift {
            household,
            donor,
            donee,
            amount,
            date,
            kind,
            future_interest,
            split,
            superfund_529,
            gst_allocation,
        } => {
            let kind = kind.parse().map_err(|e: String| anyhow::anyhow!("--kind: {e}"))?;
            let gift = domain::gifts::RecordedGift {
                id: String::new(),
                date,
                donor,
                donee,
                kind,
                amount,
                present_interest: !future_interest,
                split,
                superfund_529,
                gst_allocation,
            };
            let done = commands::ledger::record_gift(&cx, &household, gift, &caller("cairn estate gift")).await?;
            let recorded = done.events.iter().find_map(|e| match e {
                domain::ledger::LedgerEvent::GiftRecorded(g) => Some(g),
                _ => None,
            });
            outln!("{}", serde_json::to_string_pretty(&serde_json::json!({ "recorded": recorded }))?)?;
        }
        EstateCmd::Education { household: Some(h), plan, format } => {
            let (reader, key) = read_models(store, url, &["holdings"], &h).await?;
            let accounts = queries::plan::account_values(&reader.db, &key).await?;
            education(&accounts, Some(&key), &plan, format)?;
        }
        EstateCmd::Entity {
            household,
            name,
            kind,
            value,
            valued_on,
            grantor,
            trustee,
            beneficiaries,
            owners,
            funded_on,
            term_years,
            annuity,
            death_benefit,
            premium,
            premium_years,
            crummey,
            gst_exempt,
            lack_of_control,
            lack_of_marketability,
        } => {
            let entity = domain::entities::Entity {
                name,
                kind,
                value,
                valued_on: valued_on.unwrap_or_else(workers::market::intraday::today),
                grantor,
                trustee,
                beneficiaries,
                owners,
                funded_on,
                term_years,
                annuity,
                death_benefit,
                premium,
                premium_years,
                crummey,
                gst_exempt,
                lack_of_control,
                lack_of_marketability,
            };
            let done = commands::ledger::set_entity(&cx, &household, entity, &caller("cairn estate entity")).await?;
            let set = done.events.iter().find_map(|e| match e {
                domain::ledger::LedgerEvent::EntitySet(x) => Some(x),
                _ => None,
            });
            outln!("{}", serde_json::to_string_pretty(&serde_json::json!({ "set": set }))?)?;
        }
        EstateCmd::Strategies { household: Some(household), assumptions, plan, format } => {
            let input = planner(plan.as_deref(), "strategies", &assumptions)?;
            let (reader, key) = read_models(store, url, &["holdings"], &household).await?;
            let today = workers::market::intraday::today();
            let answer = queries::estate::strategies(&reader.db, &key, today, &input).await?;
            print(&answer, format, |a| Ok(queries::estate::strategies_report(a)?))?;
        }
        EstateCmd::RemoveEntity { household, name } => {
            commands::ledger::remove_entity(&cx, &household, &name, &caller("cairn estate remove-entity")).await?;
            outln!("{}", serde_json::json!({ "removed": name }))?;
        }
        EstateCmd::Entities { household, format } => {
            let (reader, key) = read_models(store, url, &["holdings"], &household).await?;
            let answer = queries::estate::entity_views(&reader.db, &key).await?;
            print(&answer, format, |a| Ok(queries::estate::entities_report(a)?))?;
        }
        EstateCmd::RemoveGift { household, id, reason } => {
            commands::ledger::remove_gift(&cx, &household, &id, &reason, &caller("cairn estate remove-gift")).await?;
            outln!("{}", serde_json::json!({ "removed": id }))?;
        }
    }
    Ok(())
}

/// Whether `cmd` runs on its options and files alone, with no database: a GRAT, a charitable trust, a giving plan, and a plan's
/// gifts or education without a household.
pub(crate) fn needs_no_store(cmd: &EstateCmd) -> bool {
    matches!(
        cmd,
        EstateCmd::Grat { .. }
            | EstateCmd::Charitable { .. }
            | EstateCmd::Philanthropy { .. }
            | EstateCmd::Strategies { household: None, .. }
            | EstateCmd::Succession { .. }
            | EstateCmd::Gifts { household: None, .. }
            | EstateCmd::Education { household: None, .. }
    )
}

/// The commands of [`needs_no_store`].
pub(crate) fn offline(cmd: EstateCmd) -> anyhow::Result<()> {
    match cmd {
        EstateCmd::Gifts { household: None, donor, plan, format } => {
            let Some(plan) = plan else { anyhow::bail!("give --household, --plan or both") };
            if donor.is_some() {
                anyhow::bail!("--donor picks a member of --household's; give --household");
            }
            let a = assumptions(Some(&plan))?;
            let years = domain::gifts::history(&a.gifts, &a.before())
                .map_err(|e| anyhow::anyhow!("{}: {e}", plan.display()))?;
            print(&years, format, |y| Ok(queries::estate::gifts_report(y)?))?;
        }
        EstateCmd::Education { household: None, plan, format } => education(&[], None, &plan, format)?,
        EstateCmd::Grat { input, plan, format } => {
            let answer = queries::estate::grat(&planner(plan.as_deref(), "grat", &input)?)?;
            print(&answer, format, |a| Ok(queries::estate::grat_report(a)?))?;
        }
        EstateCmd::Charitable { input, plan, format } => {
            let answer = queries::estate::charitable(&planner(plan.as_deref(), "charitable", &input)?)?;
            print(&answer, format, |a| Ok(queries::estate::charitable_report(a)?))?;
        }
        EstateCmd::Philanthropy { input, plan, format } => {
            let this_year = chrono::Datelike::year(&workers::market::intraday::today());
            let answer = queries::philanthropy::plan(&planner(plan.as_deref(), "philanthropy", &input)?, this_year)?;
            print(&answer, format, |a| Ok(queries::philanthropy::report(a)?))?;
        }
        EstateCmd::Strategies { household: None, assumptions, plan, format } => {
            let today = workers::market::intraday::today();
            let answer =
                queries::estate::compare_strategies(&planner(plan.as_deref(), "strategies", &assumptions)?, today)?;
            print(&answer, format, |a| Ok(queries::estate::strategies_report(a)?))?;
        }
        EstateCmd::Succession { plan, format } => {
            let Some(succession) = plan_file(&plan)?.succession else {
                anyhow::bail!("{}: no [succession] table", plan.display())
            };
            let this_year = chrono::Datelike::year(&workers::market::intraday::today());
            let answer = queries::estate::succession(&succession, this_year)?;
            print(&answer, format, |a| Ok(queries::estate::succession_report(a)?))?;
        }
        other => anyhow::bail!("{other:?} needs the database"),
    }
    Ok(())
}

/// `cairn estate education` over a household's `accounts` (none without one).
fn education(
    accounts: &[queries::plan::AccountValue],
    household: Option<&str>,
    plan: &std::path::Path,
    format: Format,
) -> anyhow::Result<()> {
    let education = plan_file(plan)?.education;
    let answer = queries::education::plan(accounts, household, workers::market::intraday::today(), &education)?;
    print(&answer, format, |a| Ok(queries::education::report(a)?))
}
