//! `cairn market …`: daily bars as events, and queries over them.

use anyhow::Context as _;
use clap::Subcommand;
use domain::market::Interval;
use event_store::Store;
use queries::reports;

use super::read::{emit, Reader};
use super::{caller, outln};
use domain::market::Bar;
use projections::prices::PRICES;
use projections::query::records;

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
    /// Import exchange rates: columns date,currency,usd_per_unit and optionally source (the US
    /// dollars one unit of the currency bought that day). Each becomes the day's bar of the
    /// currency's pair against the dollar (`EUR.USD`), which values positions quoted in that
    /// currency (the currency their rows were made in) in dollars. All or nothing, as `import`.
    Rates {
        /// The CSV file.
        file: std::path::PathBuf,
    },
    /// Import the security master: columns symbol,name,asset_class and optionally
    /// sector,region (asset_class: equity, fixed_income, cash, real_estate, commodity,
    /// alternative, multi_asset). All or nothing; a description given again unchanged records
    /// nothing, a changed one is recorded (the previous stays in the history). `cairn
    /// holdings` groups by them.
    Securities {
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
        format: super::Format,
    },
    /// A symbol's latest bar.
    Latest {
        #[arg(long)]
        symbol: String,
        #[arg(long, value_enum, default_value = "table")]
        format: super::Format,
    },
}

pub(crate) async fn market(store: Store, url: &str, cmd: MarketCmd) -> anyhow::Result<()> {
    let cx = commands::Context::new(store.clone());
    match cmd {
        MarketCmd::Import { file } => {
            let bytes = std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let r = commands::market::import_csv(&cx, &bytes, &caller("cairn market import")).await?;
            outln!(
                "{}",
                serde_json::json!({
                    "symbols": r.symbols,
                    "bars": r.bars,
                    "recorded": r.recorded,
                    "revised": r.revised,
                    "unchanged": r.unchanged,
                })
            )?;
        }
        MarketCmd::Rates { file } => {
            let bytes = std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let r = commands::market::import_rates(&cx, &bytes, &caller("cairn market rates")).await?;
            outln!(
                "{}",
                serde_json::json!({
                    "pairs": r.symbols,
                    "rates": r.bars,
                    "recorded": r.recorded,
                    "revised": r.revised,
                    "unchanged": r.unchanged,
                })
            )?;
        }
        MarketCmd::Securities { file } => {
            let bytes = std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let r = commands::market::import_securities(&cx, &bytes, &caller("cairn market securities")).await?;
            outln!(
                "{}",
                serde_json::json!({ "symbols": r.symbols, "described": r.described, "unchanged": r.unchanged })
            )?;
        }
        read_cmd => return read(&mut Reader::open(store, url).await?, read_cmd).await,
    }
    Ok(())
}

/// Market queries, answered from the `prices` read model (caught up first).
pub(crate) async fn read(reader: &mut Reader, cmd: MarketCmd) -> anyhow::Result<()> {
    let position = reader.ready("prices").await?;
    let (symbol, from, to, interval, format, latest) = match cmd {
        MarketCmd::Bars { symbol, from, to, interval, format } => (symbol, from, to, interval, format, false),
        MarketCmd::Latest { symbol, format } => (symbol, None, None, "day".to_owned(), format, true),
        MarketCmd::Import { .. } | MarketCmd::Rates { .. } | MarketCmd::Securities { .. } => {
            anyhow::bail!(
                "`market import`, `market rates` and `market securities` record; only queries can be read as of an instant"
            )
        }
    };
    let symbol = symbol.trim().to_ascii_uppercase();
    let mut filters = vec![("symbol", Some(symbol.clone()))];
    if let Some(f) = from {
        filters.push(("day >=", Some(f.to_string())));
    }
    if let Some(t) = to {
        filters.push(("day <=", Some(t.to_string())));
    }
    let rows = records(&reader.db, &PRICES, &filters).await?;
    if rows.is_empty() && records(&reader.db, &PRICES, &filters[..1]).await?.is_empty() {
        anyhow::bail!("symbol: no market data for {symbol}");
    }
    let mut daily: Vec<Bar> = rows.iter().map(bar_of).collect::<anyhow::Result<_>>()?;
    if latest {
        daily = daily.pop().into_iter().collect();
    }
    let interval_kind = match interval.as_str() {
        "week" => Interval::Week,
        "month" => Interval::Month,
        _ => Interval::Day,
    };
    let bars = domain::market::resample(&daily, interval_kind);
    let mut params = vec![("symbol", symbol.clone()), ("interval", interval)];
    if let Some(f) = from {
        params.push(("from", f.to_string()));
    }
    if let Some(t) = to {
        params.push(("to", t.to_string()));
    }
    if latest {
        params.push(("latest", "true".to_owned()));
    }
    emit(reader, &reports::bars(&symbol, &bars), format, &params, position).await
}

fn bar_of(r: &projections::query::Record) -> anyhow::Result<Bar> {
    let need = |c: &str| r.dec(c).ok_or_else(|| anyhow::anyhow!("prices row without {c}"));
    Ok(Bar {
        date: r.date("day").ok_or_else(|| anyhow::anyhow!("prices row without day"))?,
        open: need("open")?,
        high: need("high")?,
        low: need("low")?,
        close: need("close")?,
        volume: need("volume")?,
        adj_close: r.dec("adj_close"),
        vwap: r.dec("vwap"),
        source: r.text("source").map(str::to_owned),
    })
}
