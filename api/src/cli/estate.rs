//! `cairn estate …`: estate planning over the household's own accounts.

use clap::Subcommand;
use event_store::Store;

use super::tax::{print, read_models};
use super::Format;

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
    /// prior_taxable_gifts and prior_gift_tax.
    Tax {
        #[arg(long)]
        household: String,
        /// The year of death (default: the plan's, else this year); 2024 to 2026.
        #[arg(long)]
        year: Option<i32>,
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
    Gifts {
        #[arg(long)]
        plan: std::path::PathBuf,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
}

/// The `[estate]` table of a plan file (all of it optional).
fn assumptions(plan: Option<&std::path::Path>) -> anyhow::Result<queries::estate::Assumptions> {
    let Some(path) = plan else { return Ok(queries::estate::Assumptions::default()) };
    let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let file: PlanFile = toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {}", path.display(), e.message()))?;
    Ok(file.estate)
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanFile {
    #[serde(default)]
    estate: queries::estate::Assumptions,
}

pub(crate) async fn estate(store: Store, url: &str, cmd: EstateCmd) -> anyhow::Result<()> {
    match cmd {
        EstateCmd::Tax { household, year, plan, format } => {
            let mut assumptions = assumptions(plan.as_deref())?;
            if year.is_some() {
                assumptions.year = year;
            }
            let (reader, key) = read_models(store, url, &["holdings"], &household).await?;
            let today = workers::market::intraday::today();
            let answer = queries::estate::tax(&reader.db, &key, today, &assumptions).await?;
            print(&answer, format, |a| Ok(queries::estate::report(a)?))?;
        }
        EstateCmd::Gifts { plan, format } => {
            let a = assumptions(Some(&plan))?;
            let years = domain::gifts::history(&a.gifts, a.prior_taxable_gifts, a.prior_gift_tax, a.dsue)
                .map_err(|e| anyhow::anyhow!("{}: {e}", plan.display()))?;
            print(&years, format, |y| Ok(queries::estate::gifts_report(y)?))?;
        }
    }
    Ok(())
}
