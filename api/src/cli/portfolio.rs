//! `cairn portfolio …`: portfolios with their optimistic lock.

use clap::{Args, Subcommand};
use event_store::Store;

use super::read::{emit, Reader};
use super::{caller, outln};
use projections::query::records;

#[derive(Debug, Args)]
pub(crate) struct PortfolioRef {
    #[arg(long)]
    household: String,
    /// The portfolio's name within the household.
    #[arg(long)]
    name: String,
    /// The version last seen (from `show`); the edit is refused if the portfolio changed since.
    #[arg(long)]
    expected_version: Option<u64>,
}

/// Which portfolio a report is about, and how to print it.
#[derive(Debug, Args)]
pub(crate) struct PortfolioReport {
    #[arg(long)]
    household: String,
    #[arg(long)]
    name: String,
    #[arg(long, value_enum, default_value = "table")]
    format: super::Format,
}

#[derive(Debug, Subcommand)]
pub(crate) enum PortfolioCmd {
    /// Create a portfolio over some of the household's accounts (labels, comma-separated).
    Create {
        #[command(flatten)]
        at: PortfolioRef,
        #[arg(long)]
        accounts: String,
    },
    /// Change the accounts the portfolio spans.
    Accounts {
        #[command(flatten)]
        at: PortfolioRef,
        #[arg(long)]
        accounts: String,
    },
    /// Set the target allocation: weights by asset class or symbol summing to exactly 1,
    /// e.g. --weights VTI=0.6,BND=0.4.
    Target {
        #[command(flatten)]
        at: PortfolioRef,
        #[arg(long)]
        weights: String,
    },
    /// Set the drift threshold (a fraction: 0.05 is 5 points; the default).
    Drift {
        #[command(flatten)]
        at: PortfolioRef,
        #[arg(long)]
        threshold: rust_decimal::Decimal,
    },
    /// Turn automatic rebalancing on or off.
    AutoRebalance {
        #[command(flatten)]
        at: PortfolioRef,
        #[arg(value_parser = ["on", "off"])]
        state: String,
    },
    /// Show the portfolio and its version.
    Show {
        #[arg(long)]
        household: String,
        #[arg(long)]
        name: String,
    },
    /// The portfolio's allocation at the latest prices against its target: weight, target and
    /// drift per asset, and whether any drift exceeds the threshold (needs_rebalancing).
    Allocation(PortfolioReport),
    /// The portfolio's risk: VaR and CVaR (historical and normal, 1 and 21 trading days, 95%
    /// and 99%), volatility, and the probability that it sustains a 4% inflation-adjusted
    /// withdrawal for 30 years; computed now from the read models (caught up first), as the
    /// risk worker in `cairn serve` computes it.
    Risk(PortfolioReport),
    /// A tax-aware rebalancing proposal (nothing is booked): the trades that bring every
    /// asset back within the portfolio's drift threshold (halfway into its band) at the least
    /// tax. New cash is invested first; then it sells lots at a loss in taxable accounts, then
    /// in IRAs and other sheltered accounts, then long-term gains from the highest basis, and
    /// short-term gains only with --short-term. Proceeds buy in their own account; nothing sold
    /// at a loss in the last 30 days (or a share class of it) is bought. Each sale shows its
    /// gain and tax at the year's marginal rates (from the ledger and --wages); the answer
    /// shows the weights after, the remaining drift, and notes on what it could not do.
    Rebalance {
        #[arg(long)]
        household: String,
        #[arg(long)]
        name: String,
        /// New money to invest, in dollars.
        #[arg(long, default_value = "0")]
        cash: rust_decimal::Decimal,
        /// The account the new money arrives in (the portfolio's first taxable account when
        /// omitted).
        #[arg(long)]
        cash_account: Option<String>,
        /// Allow realizing short-term gains.
        #[arg(long)]
        short_term: bool,
        /// The trade date (default: today in New York).
        #[arg(long)]
        as_of: Option<chrono::NaiveDate>,
        /// Wages and other ordinary income of the year, for the marginal rates.
        #[arg(long, default_value = "0")]
        wages: rust_decimal::Decimal,
        /// Book the proposal: every order a ledger row on the trade date at its price (sales of
        /// their specific lots), all or none.
        #[arg(long)]
        accept: bool,
        #[arg(long, value_enum, default_value = "table")]
        format: super::Format,
    },
}

impl PortfolioCmd {
    /// The household a report is about (`None` for commands that record).
    pub(crate) fn report_household(&self) -> Option<&str> {
        match self {
            Self::Allocation(r) | Self::Risk(r) => Some(&r.household),
            _ => None,
        }
    }
}

pub(crate) async fn portfolio(store: Store, url: &str, cmd: PortfolioCmd) -> anyhow::Result<()> {
    let cx = commands::Context::new(store.clone());
    use domain::portfolio::PortfolioCommand as P;
    let list = |s: &str| s.split(',').map(str::trim).filter(|a| !a.is_empty()).map(str::to_owned).collect::<Vec<_>>();
    let (at, command) = match cmd {
        PortfolioCmd::Show { household, name } => {
            let (p, version) = commands::portfolio::show(&cx, &household, &name).await?;
            let target: serde_json::Map<String, serde_json::Value> =
                p.target.iter().map(|(k, w)| (k.clone(), serde_json::Value::String(w.to_string()))).collect();
            outln!(
                "{}",
                serde_json::json!({
                    "household": household,
                    "name": name,
                    "version": version,
                    "accounts": p.accounts,
                    "target": target,
                    "drift_threshold": p.drift_threshold.to_string(),
                    "auto_rebalance": p.auto_rebalance,
                })
            )?;
            return Ok(());
        }
        read_cmd @ (PortfolioCmd::Allocation(_) | PortfolioCmd::Risk(_)) => {
            return read(&mut Reader::open(store, url).await?, read_cmd).await
        }
        PortfolioCmd::Rebalance { household, name, cash, cash_account, short_term, as_of, wages, accept, format } => {
            let mut reader = Reader::open(store, url).await?;
            reader.ready("prices").await?;
            reader.ready("holdings").await?;
            let (h, p) = (domain::ledger::household_key(&household), domain::ledger::household_key(&name));
            let request = queries::rebalance::RebalanceRequest {
                as_of: as_of.unwrap_or_else(workers::market::intraday::today),
                cash,
                cash_account,
                short_term,
                given: queries::tax::Given { wages, ..Default::default() },
            };
            let (mut answer, rows) = queries::rebalance::rebalance(&reader.db, &h, &p, &request)
                .await?
                .ok_or_else(|| anyhow::anyhow!("portfolio: no portfolio {name:?} in household {household:?}"))?;
            if accept && !rows.is_empty() {
                let bytes = serde_json::to_vec(&answer.orders)?;
                let who = caller("cairn portfolio rebalance");
                let o = commands::ledger::record_rows(&cx, &household, rows, &bytes, &who).await?;
                answer.recorded = Some(api::http::routes::performance::recorded(&o));
            }
            match format {
                super::Format::Json => outln!("{}", serde_json::to_string_pretty(&answer)?)?,
                f => super::out!("{}", super::with_newline(queries::rebalance::report(&answer).render(f.into())))?,
            }
            return Ok(());
        }
        PortfolioCmd::Create { at, accounts } => {
            let command =
                P::Create { household: at.household.clone(), name: at.name.clone(), accounts: list(&accounts) };
            (at, command)
        }
        PortfolioCmd::Accounts { at, accounts } => {
            let command = P::SetAccounts(list(&accounts));
            (at, command)
        }
        PortfolioCmd::Target { at, weights } => {
            let command = P::SetTarget(commands::portfolio::parse_weights(&weights)?);
            (at, command)
        }
        PortfolioCmd::Drift { at, threshold } => (at, P::SetDriftThreshold(threshold)),
        PortfolioCmd::AutoRebalance { at, state } => (at, P::SetAutoRebalance(state == "on")),
    };
    let done = commands::portfolio::run(
        &cx,
        &at.household,
        &at.name,
        command,
        at.expected_version,
        &caller("cairn portfolio"),
    )
    .await?;
    let types: Vec<&str> = done.events.iter().map(|e| e.event_type()).collect();
    outln!("{}", serde_json::json!({ "events": types, "version": done.stream_version }))?;
    Ok(())
}

/// Portfolio reports, answered from the `holdings` (and, for risk, `prices`) read models,
/// caught up first.
pub(crate) async fn read(reader: &mut Reader, cmd: PortfolioCmd) -> anyhow::Result<()> {
    use projections::holdings::{ALLOCATIONS, PORTFOLIOS};
    let missing =
        |household: &str, name: &str| anyhow::anyhow!("portfolio: no portfolio {name:?} in household {household:?}");
    let (household, name, format) = match cmd {
        PortfolioCmd::Allocation(PortfolioReport { household, name, format }) => (household, name, format),
        PortfolioCmd::Risk(PortfolioReport { household, name, format }) => {
            reader.ready("holdings").await?;
            reader.ready("prices").await?;
            let (h, p) = (domain::ledger::household_key(&household), domain::ledger::household_key(&name));
            let row = queries::risk::assess(&reader.db, &h, &p).await?.ok_or_else(|| missing(&household, &name))?;
            let record = projections::query::Record::new(&projections::risk::PORTFOLIO_RISK, row);
            let position = record.text("position").and_then(|p| p.parse().ok()).unwrap_or(0);
            let params = vec![("household", household), ("name", name)];
            return emit(reader, &queries::reports::risk(&record), format, &params, position).await;
        }
        _ => anyhow::bail!("only `portfolio allocation` and `portfolio risk` can be read as of an instant"),
    };
    let position = reader.ready("holdings").await?;
    let filters = [
        ("household", Some(domain::ledger::household_key(&household))),
        ("portfolio", Some(domain::ledger::household_key(&name))),
    ];
    let portfolio = records(&reader.db, &PORTFOLIOS, &filters).await?;
    let Some(p) = portfolio.first() else {
        return Err(missing(&household, &name));
    };
    let rows = records(&reader.db, &ALLOCATIONS, &filters).await?;
    let report = queries::reports::allocation(p, &rows);
    let params = vec![("household", household), ("name", name)];
    emit(reader, &report, format, &params, position).await
}
