//! `cairn tax …`: the federal tax engine over a household's ledger.

use clap::Subcommand;
use event_store::Store;
use rust_decimal::Decimal;

use super::{caller, out, outln, with_newline, Format};

#[derive(Debug, Subcommand)]
pub(crate) enum TaxCmd {
    /// A year's federal income tax (2024 to 2026): interest and dividends paid in taxable
    /// accounts and the year's Form 8949 sales from the ledger, the losses carried from its
    /// earlier years, the household's filing status and its members 65 or older (by birth date),
    /// plus the wages and other income given. Answers the taxable income, the tax with
    /// qualified dividends and gains stacked at 0/15/20%, the 3.8% net investment income tax,
    /// losses carried to next year, the marginal rates (ordinary and capital gains) and the
    /// distance to the next bracket and to the next Medicare IRMAA tier.
    Estimate {
        #[arg(long)]
        household: String,
        #[arg(long)]
        year: i32,
        /// Wages, salaries, pensions and IRA distributions.
        #[arg(long, default_value = "0")]
        wages: Decimal,
        /// Any other ordinary income (business, rental, taxable Social Security).
        #[arg(long, default_value = "0")]
        other_income: Decimal,
        /// Itemized deductions (the standard deduction is taken when larger).
        #[arg(long, default_value = "0")]
        itemized: Decimal,
        /// single, married_filing_jointly, married_filing_separately, head_of_household or
        /// qualifying_surviving_spouse (the ledger's when omitted).
        #[arg(long)]
        status: Option<String>,
        /// Taxpayers 65 or older at the end of the year (from the members' birth dates when
        /// omitted).
        #[arg(long)]
        seniors: Option<u8>,
        /// Taxpayers who are blind.
        #[arg(long, default_value = "0")]
        blind: u8,
        /// Short- and long-term losses carried in from last year (computed from the ledger's
        /// earlier sales when both are omitted).
        #[arg(long)]
        carryover_short: Option<Decimal>,
        #[arg(long)]
        carryover_long: Option<Decimal>,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Tax-loss harvesting candidates: open lots of taxable accounts whose loss at the latest
    /// close is at least --min-loss dollars and --min-share of their basis (the household's
    /// `tax_loss_amount` and `tax_loss_share` rule settings by default), short-term first, each
    /// with the tax it saves at the year's marginal rates (from the ledger and --wages), whether
    /// a sale today would be a wash sale (a purchase of the same fund, any share class, in any
    /// account including IRAs, in the last 30 days), the first day it may be bought back, and a
    /// replacement tracking a different index.
    Harvest {
        #[arg(long)]
        household: String,
        /// The day of the scan (default: today in New York).
        #[arg(long)]
        as_of: Option<chrono::NaiveDate>,
        #[arg(long)]
        min_loss: Option<Decimal>,
        #[arg(long)]
        min_share: Option<Decimal>,
        /// Wages and other ordinary income of the year, for the marginal rates.
        #[arg(long, default_value = "0")]
        wages: Decimal,
        /// A replacement of your own: SYMBOL=REPLACEMENT (repeat for several).
        #[arg(long = "replacement", value_name = "SYMBOL=REPLACEMENT")]
        replacements: Vec<String>,
        /// Harvest this candidate lot (repeat for several): its sale by specific identification
        /// at the latest close and its replacement bought with the proceeds in the same account
        /// are recorded as ledger rows on the scan's day, all or none. A blocked lot is refused.
        #[arg(long = "accept", value_name = "LOT_ID")]
        accept: Vec<String>,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// What harvesting would have yielded on the stored closes: the household's taxable lots open
    /// at the end of --from held to --to, each harvested whenever its loss reaches the thresholds
    /// (its proceeds in a replacement tracking the same returns; not again for 31 days), the
    /// losses as a share of the starting balance in all and a year, as the literature reports
    /// them, and by year.
    HarvestBacktest {
        #[arg(long)]
        household: String,
        #[arg(long)]
        from: chrono::NaiveDate,
        /// The last day (default: today in New York).
        #[arg(long)]
        to: Option<chrono::NaiveDate>,
        #[arg(long)]
        min_loss: Option<Decimal>,
        #[arg(long)]
        min_share: Option<Decimal>,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// A Roth conversion plan against converting nothing, year by year to the owner's age 95
    /// (or the plan's end_age): RMDs, conversions, taxable Social Security, the tax and what
    /// conversions add to it, IRMAA two years later, the five-year rule, and after-tax wealth
    /// at the horizon (traditional money at the heirs' rate). PLAN.toml may set start_year,
    /// end_age, born, spouse_born, status, traditional, roth, taxable, growth, inflation, wages,
    /// wages_until, other_income, social_security, social_security_from, strategy (none,
    /// bracket with bracket = 0.22, irmaa with irmaa_tier = 0, or optimize: the default, a
    /// search over bracket ceilings year by year), convert_until, heirs_rate, and paths and
    /// volatility for a Monte Carlo distribution of both; balances,
    /// filing status and birth dates come from the household when left out.
    Roth {
        #[arg(long)]
        household: String,
        /// The plan (TOML); the household's figures and the defaults without one.
        #[arg(long)]
        plan: Option<std::path::PathBuf>,
        /// Also run the plan and converting nothing on this many Monte Carlo paths of yearly
        /// returns (at most 10,000; the plan's `paths`): after-tax wealth percentiles in
        /// today's dollars and the share of paths the plan ends ahead.
        #[arg(long)]
        paths: Option<u32>,
        /// The returns' volatility on those paths (the plan's `volatility`, else 0.12).
        #[arg(long)]
        volatility: Option<Decimal>,
        /// Write a chart of the yearly conversions and taxes (SVG) here.
        #[arg(long)]
        chart: Option<std::path::PathBuf>,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Asset location: which asset classes belong in taxable, traditional and Roth accounts (the
    /// costliest yields sheltered first, the highest expected returns in Roth), each kind of
    /// account keeping its dollars, with the yearly tax the suggestion saves at the marginal
    /// rates (from the ledger and --wages). Classes come from the security master.
    Location {
        #[arg(long)]
        household: String,
        /// Wages and other ordinary income of the year, for the marginal rates.
        #[arg(long, default_value = "0")]
        wages: Decimal,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Schedule D of a year from the ledger: the Form 8949 rows totalled by box (lines 1a, 1b,
    /// 2, 3 short-term, 8a, 8b, 9, 10 long-term; box A and D rows without an adjustment on 1a
    /// and 8a, as the instructions' Exception 1 allows), the losses carried in from earlier
    /// years (lines 6 and 14), the nets (7, 15, 16) and the loss deductible this year (21).
    /// The rows themselves: `cairn ledger gains` (and `--format txf`).
    ScheduleD {
        #[arg(long)]
        household: String,
        #[arg(long)]
        year: i32,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
}

/// A reader with `projectors` caught up, and the household's key.
pub(crate) async fn read_models(
    store: Store,
    url: &str,
    projectors: &[&str],
    household: &str,
) -> anyhow::Result<(queries::read::Reader, String)> {
    let mut reader = queries::read::Reader::open(store, url).await?;
    for name in projectors {
        reader.ready(name).await?;
    }
    Ok((reader, domain::ledger::household_key(household)))
}

/// Prints an answer: pretty JSON, or its report as CSV or a table.
pub(crate) fn print<T: serde::Serialize>(
    answer: &T,
    format: Format,
    report: impl FnOnce(&T) -> anyhow::Result<queries::reports::Report>,
) -> anyhow::Result<()> {
    match format {
        Format::Json => outln!("{}", serde_json::to_string_pretty(answer)?)?,
        f => out!("{}", with_newline(report(answer)?.render(f.into())))?,
    }
    Ok(())
}

pub(crate) async fn tax(store: Store, url: &str, cmd: TaxCmd) -> anyhow::Result<()> {
    match cmd {
        TaxCmd::Roth { household, plan, paths, volatility, chart, format } => {
            use chrono::Datelike;
            let mut input: queries::roth::RothInput = match &plan {
                Some(path) => {
                    let text = std::fs::read_to_string(path)
                        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
                    toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
                }
                None => queries::roth::RothInput::default(),
            };
            input.paths = paths.or(input.paths);
            input.volatility = volatility.or(input.volatility);
            let (reader, key) = read_models(store, url, &["prices", "holdings"], &household).await?;
            let this_year = workers::market::intraday::today().year();
            let answer = queries::roth::roth(&reader.db, &key, &input, this_year).await?;
            if let Some(path) = chart {
                super::chart::roth(&answer, &path)?;
            }
            print(&answer, format, |a| Ok(queries::roth::report(a)))?;
        }
        TaxCmd::Location { household, wages, format } => {
            let (reader, key) = read_models(store, url, &["prices", "holdings"], &household).await?;
            let given = queries::tax::Given { wages, ..Default::default() };
            let answer = queries::tax::location(&reader.db, &key, workers::market::intraday::today(), &given).await?;
            print(&answer, format, |a| Ok(queries::tax::location_report(a)))?;
        }
        TaxCmd::ScheduleD { household, year, format } => {
            let (reader, key) = read_models(store, url, &["prices", "holdings"], &household).await?;
            let answer = queries::tax::schedule_d(&reader.db, &key, year).await?;
            print(&answer, format, |a| Ok(queries::tax::schedule_d_report(a)))?;
        }
        TaxCmd::Harvest { household, as_of, min_loss, min_share, wages, replacements, accept, format } => {
            let replacements = replacements
                .iter()
                .map(|r| {
                    r.split_once('=')
                        .map(|(s, t)| (s.trim().to_ascii_uppercase(), t.trim().to_ascii_uppercase()))
                        .filter(|(s, t)| !s.is_empty() && !t.is_empty())
                        .ok_or_else(|| anyhow::anyhow!("replacement: {r:?} is not SYMBOL=REPLACEMENT"))
                })
                .collect::<anyhow::Result<_>>()?;
            let cx = commands::Context::new(store.clone());
            let thresholds = commands::alerts::state(&cx, &household).await?.thresholds();
            let (reader, key) = read_models(store, url, &["prices", "holdings"], &household).await?;
            let request = queries::tax::HarvestRequest {
                as_of: as_of.unwrap_or_else(workers::market::intraday::today),
                settings: thresholds.harvest(min_loss, min_share),
                replacements,
                given: queries::tax::Given { wages, ..Default::default() },
            };
            let answer = if accept.is_empty() {
                queries::tax::harvest(&reader.db, &key, &request).await?
            } else {
                let (mut answer, rows) = queries::tax::harvest_accept(&reader.db, &key, &request, &accept).await?;
                let bytes = serde_json::to_vec(&answer.orders)?;
                let o =
                    commands::ledger::record_rows(&cx, &household, rows, &bytes, &caller("cairn tax harvest")).await?;
                answer.recorded = Some(api::http::routes::performance::recorded(&o));
                answer
            };
            print(&answer, format, |a| Ok(queries::tax::harvest_report(a)))?;
        }
        TaxCmd::HarvestBacktest { household, from, to, min_loss, min_share, format } => {
            let cx = commands::Context::new(store.clone());
            let thresholds = commands::alerts::state(&cx, &household).await?.thresholds();
            let (reader, key) = read_models(store, url, &["prices", "holdings"], &household).await?;
            let request = queries::tax::BacktestRequest {
                from,
                to: to.unwrap_or_else(workers::market::intraday::today),
                settings: thresholds.harvest(min_loss, min_share),
            };
            let answer = queries::tax::harvest_backtest(&reader.db, &key, &request).await?;
            print(&answer, format, |a| Ok(queries::tax::backtest_report(a)))?;
        }
        TaxCmd::Estimate {
            household,
            year,
            wages,
            other_income,
            itemized,
            status,
            seniors,
            blind,
            carryover_short,
            carryover_long,
            format,
        } => {
            let status = status.map(|s| s.parse().map_err(|e: String| anyhow::anyhow!("status: {e}"))).transpose()?;
            let given = queries::tax::Given {
                wages,
                other_income,
                itemized,
                status,
                seniors,
                blind,
                carryover_short,
                carryover_long,
            };
            let (reader, key) = read_models(store, url, &["holdings"], &household).await?;
            let answer = queries::tax::estimate(&reader.db, &key, year, &given).await?;
            print(&answer, format, |a| Ok(queries::tax::report(a)?))?;
        }
    }
    Ok(())
}
