//! `cairn market …`: daily bars as events, and queries over them.

use anyhow::Context as _;
use clap::Subcommand;
use domain::market::Interval;
use event_store::Store;
use queries::reports;

use super::read::{emit, Reader};
use super::{caller, outln};
use domain::market::Bar;

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
    /// sector,region,kind (asset_class: equity, fixed_income, cash, real_estate, commodity,
    /// alternative, multi_asset; kind: stock, fund, option, bond, complex_bond, which sets
    /// from which purchase date a broker reports the basis, and so the Form 8949 box; a symbol
    /// without a kind counts as stock). All or nothing; a description given again unchanged records
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
    /// Pull daily bars from the configured providers (by default the first that answers, by
    /// priority; one that fails or whose circuit breaker is open is skipped for the next; with
    /// `--mode median|weighted_mean|best_source` every provider is asked and each day's
    /// consensus recorded, a close more than 5% from the median refused), check each against
    /// the symbol's history (a day the NYSE was closed or inconsistent prices are refused;
    /// price jumps, volume spikes and stale runs are flagged and recorded with a grade), and
    /// record them, every symbol in one transaction; refused bars are kept with their reasons
    /// (`cairn market quality`). A bar already recorded unchanged records nothing. Prints a
    /// JSON report per symbol: the providers used, those that did not answer and why, bars
    /// recorded, revised, unchanged, rejected and flagged. Exits 1 when a symbol got no answer
    /// from any provider (the others are recorded).
    Fetch {
        /// Symbols, comma-separated (VTI,BND).
        #[arg(long, value_delimiter = ',', required = true)]
        symbols: Vec<String>,
        /// First day (YYYY-MM-DD).
        #[arg(long)]
        from: chrono::NaiveDate,
        /// Last day (YYYY-MM-DD); today when omitted.
        #[arg(long)]
        to: Option<chrono::NaiveDate>,
        /// The providers' configuration (TOML; see the README's "Market data providers").
        #[arg(long, env = "CAIRN_PROVIDERS")]
        providers: std::path::PathBuf,
        /// first, median, weighted_mean or best_source; the file's `[ingest] mode`, else first.
        #[arg(long)]
        mode: Option<String>,
        /// How many symbols are asked for at once (each provider's rate limit still holds).
        #[arg(long, default_value_t = workers::market::fetch::CONCURRENT_SYMBOLS)]
        concurrency: usize,
    },
    /// Financial ratios of a company (P/E, P/B, P/S, PEG, dividend yield, ROE, ROA, gross,
    /// operating and net margins, current and quick ratios, debt-to-equity, interest
    /// coverage, asset turnover) from its fundamentals, asked of the first configured provider
    /// that serves them (Alpha Vantage's OVERVIEW, BALANCE_SHEET and INCOME_STATEMENT), at the
    /// latest recorded close or `--price`. A ratio that cannot be computed has no value and
    /// says why (negative earnings, no interest expense, a missing figure), never a division
    /// by zero.
    Ratios {
        #[arg(long)]
        symbol: String,
        #[arg(long, env = "CAIRN_PROVIDERS")]
        providers: std::path::PathBuf,
        /// The share price to use instead of the latest recorded close.
        #[arg(long)]
        price: Option<rust_decimal::Decimal>,
        #[arg(long, value_enum, default_value = "table")]
        format: super::Format,
    },
    /// Splits and dividends a provider reports for a symbol (the first configured provider
    /// that serves them: Alpha Vantage, Yahoo), as suggestions for each household holding it
    /// now: the shares a split would make, the cash a dividend would pay. Nothing is booked:
    /// record what the broker's statement confirms (`POST /v1/households/{h}/corporate-actions`,
    /// `cairn ledger record`).
    Actions {
        #[arg(long)]
        symbol: String,
        /// First day (YYYY-MM-DD).
        #[arg(long)]
        from: chrono::NaiveDate,
        /// Last day; today when omitted.
        #[arg(long)]
        to: Option<chrono::NaiveDate>,
        #[arg(long, env = "CAIRN_PROVIDERS")]
        providers: std::path::PathBuf,
        #[arg(long, value_enum, default_value = "table")]
        format: super::Format,
    },
    /// A day's intraday aggregates of a symbol (windows of `--minutes`, 1 to 60), asked live of
    /// the first configured provider that serves them (Polygon, Alpaca) and not recorded: one
    /// row per window that traded, its start in New York and its session (pre, regular, post:
    /// the NYSE's core session of that day, 13:00 close on an early-close day), and the
    /// regular session's open, high, low, close, volume and VWAP in the summary.
    Intraday {
        #[arg(long)]
        symbol: String,
        /// The day (YYYY-MM-DD); today in New York when omitted.
        #[arg(long)]
        date: Option<chrono::NaiveDate>,
        /// The window length in minutes.
        #[arg(long, default_value_t = 1)]
        minutes: u32,
        #[arg(long, env = "CAIRN_PROVIDERS")]
        providers: std::path::PathBuf,
        #[arg(long, value_enum, default_value = "table")]
        format: super::Format,
    },
    /// Data quality of a symbol's bars: each recorded bar's grade (excellent, good, fair,
    /// poor; empty for a bar imported from a file, which is not checked against its history)
    /// and flags, and the bars providers sent that were refused, with the reasons.
    Quality {
        #[arg(long)]
        symbol: String,
        #[arg(long)]
        from: Option<chrono::NaiveDate>,
        #[arg(long)]
        to: Option<chrono::NaiveDate>,
        /// Only flagged and refused bars.
        #[arg(long)]
        problems: bool,
        #[arg(long, value_enum, default_value = "table")]
        format: super::Format,
    },
    /// The configured providers in the order they are asked, each probed with one request
    /// (`--probe SYMBOL`: its last ten days of bars): state of its circuit breaker, answer,
    /// latency.
    Providers {
        #[arg(long, env = "CAIRN_PROVIDERS")]
        providers: std::path::PathBuf,
        /// A symbol to ask each provider for.
        #[arg(long)]
        probe: Option<String>,
        #[arg(long, value_enum, default_value = "table")]
        format: super::Format,
    },
    /// Technical indicators over a symbol's recorded closes, TA-Lib's conventions:
    /// `sma:N`, `ema:N`, `rsi:N` (Wilder), `macd[:FAST:SLOW:SIGNAL]`, `bbands[:N:K]`,
    /// `atr[:N]`, `vol:N` (annualized volatility of log returns). One column per output, a day
    /// per row; empty before an indicator has enough days.
    Indicators {
        #[arg(long)]
        symbol: String,
        /// One or more specs, comma-separated or repeated.
        #[arg(long = "indicator", value_delimiter = ',', required = true)]
        indicators: Vec<String>,
        /// First day shown (the indicators use every earlier day too).
        #[arg(long)]
        from: Option<chrono::NaiveDate>,
        #[arg(long)]
        to: Option<chrono::NaiveDate>,
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
        MarketCmd::Fetch { symbols, from, to, providers, mode, concurrency } => {
            let (selector, _) = workers::market::config::load(&providers, &|k| std::env::var(k).ok())?;
            let text = std::fs::read_to_string(&providers)?;
            let mode = match mode {
                Some(m) => m.parse().map_err(|e: String| anyhow::anyhow!("mode: {e}"))?,
                None => workers::market::config::fetch_mode(&text)?,
            };
            let to = to.unwrap_or_else(|| chrono::Utc::now().date_naive());
            anyhow::ensure!(from <= to, "from: {from} is after to, {to}");
            let request = workers::market::fetch::Request { symbols, from, to, mode, concurrency };
            let quality = domain::quality::QualityConfig::default();
            let report =
                workers::market::fetch::fetch(&cx, &selector, &request, &quality, &caller("cairn market fetch"))
                    .await?;
            outln!("{}", serde_json::to_string_pretty(&report)?)?;
            if report.failed > 0 {
                std::process::exit(1);
            }
        }
        MarketCmd::Providers { providers, probe, format } => {
            let (selector, configured) = workers::market::config::load(&providers, &|k| std::env::var(k).ok())?;
            let today = chrono::Utc::now().date_naive();
            let mut rows = Vec::new();
            for source in selector.sources() {
                let answer = match &probe {
                    None => String::new(),
                    Some(symbol) => {
                        let symbol = symbol.trim().to_ascii_uppercase();
                        let started = std::time::Instant::now();
                        let r = source.provider.daily_bars(&symbol, today - chrono::Duration::days(10), today).await;
                        let ms = started.elapsed().as_millis();
                        match r {
                            Ok(bars) => format!("{} bars in {ms} ms", bars.len()),
                            Err(e) => format!("{e} ({ms} ms)"),
                        }
                    }
                };
                let c = configured.iter().find(|c| c.name == source.name());
                let h = source.health();
                rows.push(vec![
                    h.name,
                    c.map(|c| c.kind.clone()).unwrap_or_default(),
                    h.priority.to_string(),
                    h.capabilities.join(" "),
                    h.state.to_owned(),
                    c.and_then(|c| c.cost_per_call).map(|d| d.to_string()).unwrap_or_default(),
                    answer,
                ]);
            }
            let report = reports::Report {
                name: "providers",
                columns: vec!["name", "kind", "priority", "capabilities", "breaker", "cost_per_call", "probe"],
                rows,
                totals: Vec::new(),
                summary: Vec::new(),
            };
            outln!("{}", super::with_newline(report.render(format.into())))?;
        }
        MarketCmd::Ratios { symbol, providers, price, format } => {
            let (selector, _) = workers::market::config::load(&providers, &|k| std::env::var(k).ok())?;
            let mut reader = Reader::open(store, url).await?;
            let position = reader.ready("prices").await?;
            let answer = workers::market::ratios::company(&selector, &reader.db, &symbol, price).await?;
            let mut params = vec![("symbol", answer.symbol.clone())];
            params.extend(price.map(|p| ("price", p.to_string())));
            emit(&reader, &answer.report(), format, &params, position).await?;
        }
        MarketCmd::Actions { symbol, from, to, providers, format } => {
            let (selector, _) = workers::market::config::load(&providers, &|k| std::env::var(k).ok())?;
            let to = to.unwrap_or_else(|| chrono::Utc::now().date_naive());
            anyhow::ensure!(from <= to, "from: {from} is after to, {to}");
            let mut reader = Reader::open(store, url).await?;
            let position = reader.ready("holdings").await?;
            let rows = workers::market::actions::suggestions(&selector, &reader.db, &symbol, from, to).await?;
            let params = vec![
                ("symbol", symbol.trim().to_ascii_uppercase()),
                ("from", from.to_string()),
                ("to", to.to_string()),
            ];
            emit(&reader, &workers::market::actions::report(&symbol, &rows), format, &params, position).await?;
        }
        MarketCmd::Intraday { symbol, date, minutes, providers, format } => {
            let (selector, _) = workers::market::config::load(&providers, &|k| std::env::var(k).ok())?;
            let date = date.unwrap_or_else(workers::market::intraday::today);
            let day = workers::market::intraday::day(&selector, &symbol, date, minutes).await?;
            outln!("{}", super::with_newline(day.report().render(format.into())))?;
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
        MarketCmd::Indicators { symbol, indicators, from, to, format } => {
            let table = queries::market::indicators(&reader.db, &symbol, &indicators, from, to).await?;
            let mut params = vec![("symbol", table.symbol.clone()), ("indicator", indicators.join(","))];
            params.extend(from.map(|f| ("from", f.to_string())));
            params.extend(to.map(|t| ("to", t.to_string())));
            return emit(reader, &table.report(), format, &params, position).await;
        }
        MarketCmd::Quality { symbol, from, to, problems, format } => {
            let q = queries::market::quality(&reader.db, &symbol, from, to).await?;
            let mut params = vec![("symbol", q.symbol.clone())];
            params.extend(from.map(|f| ("from", f.to_string())));
            params.extend(to.map(|t| ("to", t.to_string())));
            if problems {
                params.push(("problems", "true".into()));
            }
            return emit(reader, &q.report(problems), format, &params, position).await;
        }
        MarketCmd::Import { .. }
        | MarketCmd::Rates { .. }
        | MarketCmd::Securities { .. }
        | MarketCmd::Fetch { .. }
        | MarketCmd::Ratios { .. }
        | MarketCmd::Actions { .. }
        | MarketCmd::Intraday { .. }
        | MarketCmd::Providers { .. } => {
            anyhow::bail!(
                "`market import`, `rates`, `securities`, `fetch`, `ratios`, `actions`, `intraday` and `providers` act now; only queries can be read as of an instant"
            )
        }
    };
    let symbol = symbol.trim().to_ascii_uppercase();
    let mut daily: Vec<Bar> = queries::market::bars(&reader.db, &symbol, from, to).await?;
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
