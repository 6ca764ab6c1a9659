//! `cairn recurring …`: standing instructions that buy shares by themselves (a recurring
//! purchase, dividend reinvestment), which the harvesting scan must see coming.

use clap::Subcommand;
use domain::ledger::recurring::{Every, Instruction, Recurring};
use event_store::Store;
use rust_decimal::Decimal;

use super::{caller, outln, Format};

#[derive(Debug, Subcommand)]
pub(crate) enum RecurringCmd {
    /// Sets a standing instruction of an open account, replacing the one of its account,
    /// symbol and kind (`RecurringSet` on the household's ledger stream): with --amount and
    /// --every, a recurring purchase (on --first and every interval after, moved to the next
    /// NYSE session off a closed day, until --last); with --reinvest-dividends, dividend
    /// reinvestment (the next payment predicted from the symbol's dividends in the ledger).
    /// `cairn tax harvest` blocks a loss sale of the same fund (any share class) when either
    /// buys in the next 30 days.
    Set {
        #[arg(long)]
        household: String,
        #[arg(long)]
        account: String,
        #[arg(long)]
        symbol: String,
        /// Dollars bought each time.
        #[arg(long, required_unless_present = "reinvest_dividends", conflicts_with = "reinvest_dividends")]
        amount: Option<Decimal>,
        /// week, two_weeks, month or quarter.
        #[arg(long, requires = "amount")]
        every: Option<Every>,
        /// The first purchase (YYYY-MM-DD).
        #[arg(long, requires = "amount")]
        first: Option<chrono::NaiveDate>,
        /// The last day a purchase may fall on.
        #[arg(long, requires = "amount")]
        last: Option<chrono::NaiveDate>,
        /// Dividends of the symbol buy more of it.
        #[arg(long)]
        reinvest_dividends: bool,
    },
    /// Removes a standing instruction (`RecurringRemoved`); KIND is purchase or reinvest.
    Remove {
        #[arg(long)]
        household: String,
        #[arg(long)]
        account: String,
        #[arg(long)]
        symbol: String,
        #[arg(long, value_parser = ["purchase", "reinvest"])]
        kind: String,
    },
    /// The household's standing instructions and the next day each buys; `blocks_harvesting`
    /// when that is within 30 days.
    List {
        #[arg(long)]
        household: String,
        /// The day asked (default: today in New York).
        #[arg(long)]
        as_of: Option<chrono::NaiveDate>,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
}

pub(crate) async fn recurring(store: Store, url: &str, cmd: RecurringCmd) -> anyhow::Result<()> {
    let cx = commands::Context::new(store.clone());
    match cmd {
        RecurringCmd::Set { household, account, symbol, amount, every, first, last, reinvest_dividends } => {
            let instruction = match amount {
                _ if reinvest_dividends => Instruction::Reinvest,
                Some(amount) => Instruction::Purchase {
                    amount,
                    every: every.ok_or_else(|| anyhow::anyhow!("every: required with --amount"))?,
                    first: first.ok_or_else(|| anyhow::anyhow!("first: required with --amount"))?,
                    last,
                },
                None => anyhow::bail!("amount: give --amount and --every, or --reinvest-dividends"),
            };
            let recurring = Recurring { account, symbol: symbol.trim().to_ascii_uppercase(), instruction };
            let done =
                commands::ledger::set_recurring(&cx, &household, recurring, &caller("cairn recurring set")).await?;
            outln!("{}", serde_json::json!({ "recorded": done.events.len() }))?;
        }
        RecurringCmd::Remove { household, account, symbol, kind } => {
            let symbol = symbol.trim().to_ascii_uppercase();
            let done = commands::ledger::remove_recurring(
                &cx,
                &household,
                &account,
                &symbol,
                &kind,
                &caller("cairn recurring remove"),
            )
            .await?;
            outln!("{}", serde_json::json!({ "recorded": done.events.len() }))?;
        }
        RecurringCmd::List { household, as_of, format } => {
            let (reader, key) = super::tax::read_models(store, url, &["holdings"], &household).await?;
            let Some(ledger) = projections::holdings::ledger_of(&reader.db, &key).await? else {
                anyhow::bail!("household: no ledger for {household:?}; import one with `cairn ledger import`");
            };
            let day = as_of.unwrap_or_else(workers::market::intraday::today);
            let list = queries::recurring::upcoming(&ledger, day);
            super::tax::print(&list, format, |l| Ok(queries::recurring::report(&key, day, l)))?;
        }
    }
    Ok(())
}
