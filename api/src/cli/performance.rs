//! `cairn performance`, `cairn income` and `cairn holdings`: returns per period against a
//! benchmark, dividends and interest ([`queries::performance`]), and consolidated holdings
//! with their allocation ([`queries::holdings`]).

use chrono::NaiveDate;
use clap::Args;
use domain::performance::periods::Blend;
use domain::performance::FlowTiming;
use event_store::Store;
use queries::performance::{Grouping, Request};
use queries::read::Reader;

use super::{out, outln, with_newline, Format};

/// When external flows count in the time-weighted return.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Flows {
    /// A flow takes part in its day: money in from the start of the day (it earns the day's
    /// return), money out until its end (the default).
    Start,
    /// Every flow at the end of its day: money in earns nothing on its first day.
    End,
}

/// Whose performance, over which days.
#[derive(Debug, Args)]
pub(crate) struct Scope {
    #[arg(long)]
    household: String,
    /// One account (its label); every account of the household when omitted.
    #[arg(long, conflicts_with = "portfolio")]
    account: Option<String>,
    /// A portfolio's accounts (its name), counted together.
    #[arg(long)]
    portfolio: Option<String>,
    /// First day of a custom period (YYYY-MM-DD), shown after the standard ones.
    #[arg(long)]
    from: Option<NaiveDate>,
    /// Last day counted (YYYY-MM-DD); the household's today when omitted.
    #[arg(long)]
    to: Option<NaiveDate>,
}

/// `cairn performance`.
#[derive(Debug, Args)]
pub(crate) struct PerformanceArgs {
    #[command(flatten)]
    scope: Scope,
    /// A symbol (SPY) or a blend rebalanced daily ("60% VTI / 40% BND", VTI:60,BND:40), from
    /// the prices read model: adds its return, the excess, tracking error, beta and the
    /// information ratio to every period.
    #[arg(long)]
    benchmark: Option<Blend>,
    /// When deposits and withdrawals count: at the start of their day or at its end.
    #[arg(long, value_enum, default_value = "start")]
    flows: Flows,
    /// Also each asset class's returns (from the security master; `unclassified` for symbols
    /// it does not describe): its positions measured as a portfolio of their own, buys as
    /// money in, sales and income as money out.
    #[arg(long, value_enum)]
    by: Option<PerformanceBy>,
    /// `json` also carries the daily series (value, net contributions, growth of 1).
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
}

/// `cairn income`.
#[derive(Debug, Args)]
pub(crate) struct IncomeArgs {
    #[command(flatten)]
    scope: Scope,
    /// Totals per month or per year.
    #[arg(long, value_enum, default_value = "month")]
    by: By,
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum By {
    Month,
    Year,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum PerformanceBy {
    AssetClass,
}

fn request(scope: Scope, benchmark: Option<Blend>, flows: Flows) -> Request {
    Request {
        household: scope.household,
        account: scope.account,
        portfolio: scope.portfolio,
        from: scope.from,
        to: scope.to,
        benchmark,
        timing: match flows {
            Flows::Start => FlowTiming::StartOfDay,
            Flows::End => FlowTiming::EndOfDay,
        },
        by_asset_class: false,
    }
}

/// The read models the answers come from, caught up.
async fn reader(store: Store, url: &str) -> anyhow::Result<Reader> {
    let mut reader = Reader::open(store, url).await?;
    reader.ready("prices").await?;
    reader.ready("holdings").await?;
    reader.ready("valuation_history").await?;
    Ok(reader)
}

pub(crate) async fn performance(store: Store, url: &str, args: PerformanceArgs) -> anyhow::Result<()> {
    let reader = reader(store, url).await?;
    let request = Request {
        by_asset_class: args.by == Some(PerformanceBy::AssetClass),
        ..request(args.scope, args.benchmark, args.flows)
    };
    let answer = queries::performance::performance(&reader.db, &request, chrono::Utc::now()).await?;
    match args.format {
        Format::Json => outln!("{}", serde_json::to_string_pretty(&answer)?)?,
        f => out!("{}", with_newline(answer.report().render(f.into())))?,
    }
    Ok(())
}

pub(crate) async fn income(store: Store, url: &str, args: IncomeArgs) -> anyhow::Result<()> {
    let reader = reader(store, url).await?;
    let request = request(args.scope, None, Flows::Start);
    let grouping = match args.by {
        By::Month => Grouping::Month,
        By::Year => Grouping::Year,
    };
    let answer = queries::performance::income(&reader.db, &request, grouping, chrono::Utc::now()).await?;
    match args.format {
        Format::Json => outln!("{}", serde_json::to_string_pretty(&answer)?)?,
        f => out!("{}", with_newline(answer.report().render(f.into())))?,
    }
    Ok(())
}

/// `cairn holdings`.
#[derive(Debug, Args)]
pub(crate) struct HoldingsArgs {
    #[arg(long)]
    household: String,
    /// The rows: each symbol, or the allocation by asset class, sector, region or account.
    #[arg(long, value_enum, default_value = "symbol")]
    by: HoldingsBy,
    /// `json` carries the symbols and every allocation at once.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum HoldingsBy {
    Symbol,
    AssetClass,
    Sector,
    Region,
    Account,
}

pub(crate) async fn holdings(store: Store, url: &str, args: HoldingsArgs) -> anyhow::Result<()> {
    use queries::holdings::By;
    let reader = reader(store, url).await?;
    let key = domain::ledger::household_key(&args.household);
    if projections::holdings::ledger_of(&reader.db, &key).await?.is_none() {
        anyhow::bail!("household: no ledger for {:?}; import one with `cairn ledger import`", args.household);
    }
    let answer = queries::holdings::holdings(&reader.db, &key).await?;
    let by = match args.by {
        HoldingsBy::Symbol => By::Symbol,
        HoldingsBy::AssetClass => By::AssetClass,
        HoldingsBy::Sector => By::Sector,
        HoldingsBy::Region => By::Region,
        HoldingsBy::Account => By::Account,
    };
    match args.format {
        Format::Json => outln!("{}", serde_json::to_string_pretty(&answer)?)?,
        f => out!("{}", with_newline(answer.report(by).render(f.into())))?,
    }
    Ok(())
}
