//! `cairn market …`: daily bars as events, and queries over them.

use anyhow::Context as _;
use api::reports;
use clap::Subcommand;
use domain::market::Interval;
use event_store::Store;

use super::{caller, with_newline};

#[derive(Debug, Subcommand)]
pub(crate) enum MarketCmd {
    /// Import daily bars: columns date,symbol,open,high,low,close,volume and optionally
    /// adj_close,vwap,source. All or nothing, across every symbol in the file; a bad row refuses
    /// the file with `line N: <field>: <problem>`. A bar already recorded with the same values
    /// records nothing; with other values it is recorded as a revision.
    Import {
        /// The CSV file.
        file: std::path::PathBuf,
    },
    /// A symbol's bars in a date range, daily or resampled to weeks or months.
    Bars {
        #[arg(long)]
        symbol: String,
        /// First date (YYYY-MM-DD), inclusive.
        #[arg(long)]
        from: Option<chrono::NaiveDate>,
        /// Last date (YYYY-MM-DD), inclusive.
        #[arg(long)]
        to: Option<chrono::NaiveDate>,
        #[arg(long, value_parser = ["day", "week", "month"], default_value = "day")]
        interval: String,
        #[arg(long, value_enum, default_value = "table")]
        format: reports::Format,
    },
    /// A symbol's latest bar.
    Latest {
        #[arg(long)]
        symbol: String,
        #[arg(long, value_enum, default_value = "table")]
        format: reports::Format,
    },
}

pub(crate) async fn market(store: Store, cmd: MarketCmd) -> anyhow::Result<()> {
    match cmd {
        MarketCmd::Import { file } => {
            let bytes = std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let r = commands::market::import_csv(&store, &bytes, &caller("cairn market import")).await?;
            println!(
                "{}",
                serde_json::json!({
                    "symbols": r.symbols,
                    "bars": r.bars,
                    "recorded": r.recorded,
                    "revised": r.revised,
                    "unchanged": r.unchanged,
                })
            );
        }
        MarketCmd::Bars { symbol, from, to, interval, format } => {
            let daily = commands::market::bars(&store, &symbol, from, to).await?;
            let interval = match interval.as_str() {
                "week" => Interval::Week,
                "month" => Interval::Month,
                _ => Interval::Day,
            };
            let bars = domain::market::resample(&daily, interval);
            print!("{}", with_newline(reports::bars(&symbol.to_ascii_uppercase(), &bars).render(format)));
        }
        MarketCmd::Latest { symbol, format } => {
            let daily = commands::market::bars(&store, &symbol, None, None).await?;
            let last: Vec<_> = daily.last().cloned().into_iter().collect();
            print!("{}", with_newline(reports::bars(&symbol.to_ascii_uppercase(), &last).render(format)));
        }
    }
    Ok(())
}
