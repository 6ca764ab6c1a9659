//! `cairn goals …`: a household's goals (an amount wanted by a date), how funded each is and
//! the chance of reaching it.

use clap::Subcommand;
use event_store::Store;
use rust_decimal::Decimal;

use super::{caller, out, outln, with_newline, Format};

#[derive(Debug, Subcommand)]
pub(crate) enum GoalsCmd {
    /// Sets a goal, or replaces the one of that name: a target amount by a date, funded by the
    /// accounts named (every account when none is) and a monthly contribution. Recorded on the
    /// household's ledger stream (`GoalSet`). Its expected return and volatility are the
    /// household's `goal_return` and `goal_volatility` settings (`cairn rules set`) unless
    /// given here.
    Set {
        #[arg(long)]
        household: String,
        #[arg(long)]
        name: String,
        /// The amount wanted, in dollars of the goal's date.
        #[arg(long)]
        target: Decimal,
        /// When it is wanted (YYYY-MM-DD); after today.
        #[arg(long)]
        date: chrono::NaiveDate,
        /// An account set aside for it (repeat for several).
        #[arg(long = "account", value_name = "ACCOUNT")]
        accounts: Vec<String>,
        /// Saved toward it at the end of each month until its date.
        #[arg(long, default_value = "0")]
        monthly_contribution: Decimal,
        /// Its own expected annual return (0.06 for 6%).
        #[arg(long)]
        expected_return: Option<Decimal>,
        /// Its own annual volatility (0.12 for 12%).
        #[arg(long)]
        volatility: Option<Decimal>,
    },
    /// Removes a goal (`GoalRemoved`).
    Remove {
        #[arg(long)]
        household: String,
        #[arg(long)]
        name: String,
    },
    /// The household's goals: what is set aside today, the target's present value, the planned
    /// contributions' present value, the funded ratio and the probability of reaching the
    /// target by its date (the Monte Carlo engine, 4,000 paths, seeded from the household and
    /// the goal), at the return and volatility shown.
    List {
        #[arg(long)]
        household: String,
        /// The day assessed (default: today in New York).
        #[arg(long)]
        as_of: Option<chrono::NaiveDate>,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
}

pub(crate) async fn goals(store: Store, url: &str, cmd: GoalsCmd) -> anyhow::Result<()> {
    let cx = commands::Context::new(store.clone());
    match cmd {
        GoalsCmd::Set {
            household,
            name,
            target,
            date,
            accounts,
            monthly_contribution,
            expected_return,
            volatility,
        } => {
            let goal =
                domain::goals::Goal { name, target, date, accounts, monthly_contribution, expected_return, volatility };
            let done = commands::ledger::set_goal(&cx, &household, goal, &caller("cairn goals set")).await?;
            outln!("{}", serde_json::json!({ "recorded": done.events.len() }))?;
        }
        GoalsCmd::Remove { household, name } => {
            let done = commands::ledger::remove_goal(&cx, &household, &name, &caller("cairn goals remove")).await?;
            outln!("{}", serde_json::json!({ "recorded": done.events.len() }))?;
        }
        GoalsCmd::List { household, as_of, format } => {
            let mut reader = queries::read::Reader::open(store, url).await?;
            reader.ready("holdings").await?;
            let key = domain::ledger::household_key(&household);
            if projections::holdings::ledger_of(&reader.db, &key).await?.is_none() {
                anyhow::bail!("household: no ledger for {household:?}; import one with `cairn ledger import`");
            }
            let thresholds = commands::alerts::state(&cx, &household).await?.thresholds();
            let as_of = as_of.unwrap_or_else(workers::market::intraday::today);
            let goals = queries::goals::progress(&reader.db, &key, as_of, &thresholds).await?;
            match format {
                Format::Json => outln!("{}", serde_json::to_string_pretty(&goals)?)?,
                f => out!("{}", with_newline(queries::goals::report(&key, as_of, &goals).render(f.into())))?,
            }
        }
    }
    Ok(())
}
