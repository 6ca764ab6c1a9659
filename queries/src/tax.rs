//! `cairn tax estimate` and `GET /v1/households/{h}/tax/estimate`: a year's federal income tax
//! (`domain::tax`) from what the ledger knows (interest and dividends paid in taxable
//! accounts, the year's Form 8949 sales, the losses carried from its earlier years, the filing
//! status and the members' ages) and what the caller adds (wages, other income, itemized
//! deductions; any of the ledger's figures may be given instead).

use domain::ledger::types::FilingStatus;
use domain::tax::{Filer, Income};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::ledger::ReportError;
use crate::reports::{money, Report};

/// What the caller gives beside the ledger.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Given {
    pub wages: Decimal,
    pub other_income: Decimal,
    pub itemized: Decimal,
    /// The ledger's filing status unless given.
    pub status: Option<FilingStatus>,
    /// The members 65 or older by their birth dates unless given.
    pub seniors: Option<u8>,
    pub blind: u8,
    /// The losses carried in from the year before, computed from the ledger unless given.
    pub carryover_short: Option<Decimal>,
    pub carryover_long: Option<Decimal>,
}

/// A year's estimate, as both shells answer it: amounts in dollars with two decimals, rates as
/// decimal fractions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct TaxEstimate {
    pub household: String,
    pub year: i32,
    pub filing_status: String,
    /// Taxpayers 65 or older and blind (each adds to the standard deduction).
    pub seniors: u8,
    pub blind: u8,
    /// From the ledger: interest and dividends of taxable accounts, the year's net short- and
    /// long-term gain or loss on Form 8949.
    pub interest: String,
    pub ordinary_dividends: String,
    pub qualified_dividends: String,
    pub short_term: String,
    pub long_term: String,
    /// Losses carried in, and whether the ledger's earlier years (`ledger`) or the caller
    /// (`given`) said so.
    pub carryover_short_in: String,
    pub carryover_long_in: String,
    pub carryovers_from: String,
    /// Given by the caller.
    pub wages: String,
    pub other_income: String,
    pub itemized: String,
    pub capital_gain_or_loss: String,
    pub agi: String,
    pub standard_deduction: String,
    pub senior_deduction: String,
    pub deductions: String,
    pub taxable_income: String,
    pub ordinary_income: String,
    /// Qualified dividends and net capital gain taxed at 0%, 15% and 20%.
    pub at_zero: String,
    pub at_fifteen: String,
    pub at_twenty: String,
    pub income_tax: String,
    pub net_investment_income: String,
    pub niit: String,
    pub total_tax: String,
    /// Losses carried out to the next year.
    pub carryover_short_out: String,
    pub carryover_long_out: String,
    /// The rate of the last dollar of ordinary income, and the ordinary income left before the
    /// next rate (absent at the top).
    pub ordinary_bracket: String,
    pub to_next_bracket: Option<String>,
    /// The tax on the next dollar of wages and of long-term gain (stacking and NIIT included).
    pub marginal_ordinary: String,
    pub marginal_capital_gains: String,
    /// The Medicare premiums this MAGI sets for `irmaa_premium_year`: tier (0 standard), Part B
    /// premium and Part D surcharge per person a month, and the MAGI left to the next tier.
    pub irmaa_premium_year: i32,
    /// The year whose tiers and premiums were applied: the premium year's when cairn has its
    /// table, else the latest it has.
    pub irmaa_tiers_of: i32,
    pub irmaa_tier: u8,
    pub irmaa_part_b_monthly: String,
    pub irmaa_part_d_monthly: String,
    pub irmaa_to_next_tier: Option<String>,
    /// Where the year's numbers come from, and what the estimate leaves out.
    pub source: String,
    pub excludes: Vec<String>,
}

fn invalid(e: domain::DomainError) -> ReportError {
    match e {
        domain::DomainError::Rejected { field, problem, .. } => ReportError::Invalid {
            field: match field.as_str() {
                "year" => "year",
                "seniors" => "seniors",
                "blind" => "blind",
                _ => "input",
            },
            problem,
        },
        other => ReportError::Other(other.into()),
    }
}

/// The household's estimate for `year`.
pub async fn estimate(
    db: &projections::db::Db,
    household: &str,
    year: i32,
    given: &Given,
) -> Result<TaxEstimate, ReportError> {
    let table = domain::tax::year(year).map_err(invalid)?;
    let ledger = projections::holdings::ledger_of(db, household)
        .await?
        .ok_or_else(|| ReportError::NoLedger(household.to_owned()))?;
    let (e, income, status, seniors, given_carry) = assess(std::sync::Arc::new(ledger), year, given).await?;
    let rate = |d: Decimal| d.normalize().to_string();
    Ok(TaxEstimate {
        household: household.to_owned(),
        year,
        filing_status: status.as_str().to_owned(),
        seniors,
        blind: given.blind,
        interest: money(income.interest),
        ordinary_dividends: money(income.ordinary_dividends),
        qualified_dividends: money(income.qualified_dividends),
        short_term: money(income.short_term),
        long_term: money(income.long_term),
        carryover_short_in: money(income.carryover_short),
        carryover_long_in: money(income.carryover_long),
        carryovers_from: if given_carry { "given" } else { "ledger" }.to_owned(),
        wages: money(given.wages),
        other_income: money(given.other_income),
        itemized: money(given.itemized),
        capital_gain_or_loss: money(e.capital_gain_or_loss),
        agi: money(e.agi),
        standard_deduction: money(e.standard_deduction),
        senior_deduction: money(e.senior_deduction),
        deductions: money(e.deductions),
        taxable_income: money(e.taxable_income),
        ordinary_income: money(e.ordinary_income),
        at_zero: money(e.preferential.at_zero),
        at_fifteen: money(e.preferential.at_fifteen),
        at_twenty: money(e.preferential.at_twenty),
        income_tax: money(e.income_tax),
        net_investment_income: money(e.net_investment_income),
        niit: money(e.niit),
        total_tax: money(e.total_tax),
        carryover_short_out: money(e.carryover_short),
        carryover_long_out: money(e.carryover_long),
        ordinary_bracket: rate(e.ordinary_bracket),
        to_next_bracket: e.to_next_bracket.map(money),
        marginal_ordinary: rate(e.marginal_ordinary),
        marginal_capital_gains: rate(e.marginal_capital_gains),
        irmaa_premium_year: year + 2,
        irmaa_tiers_of: e.irmaa_tiers_of,
        irmaa_tier: e.irmaa.tier,
        irmaa_part_b_monthly: money(e.irmaa.part_b_monthly),
        irmaa_part_d_monthly: money(e.irmaa.part_d_monthly),
        irmaa_to_next_tier: e.irmaa.to_next_tier.map(money),
        source: table.source.to_owned(),
        excludes: e.excludes.iter().map(|s| (*s).to_owned()).collect(),
    })
}

/// The domain's estimate of `year` for the ledger with what was given, the income it was
/// computed from, the filing status, the seniors counted, and whether the carryovers were
/// given.
async fn assess(
    ledger: std::sync::Arc<domain::ledger::Ledger>,
    year: i32,
    given: &Given,
) -> Result<(domain::tax::Estimate, Income, FilingStatus, u8, bool), ReportError> {
    let status = given.status.unwrap_or_else(|| ledger.household.as_ref().map(|(_, s)| *s).unwrap_or_default());
    let seniors = given.seniors.unwrap_or_else(|| domain::tax::ledger_seniors(&ledger, status, year));
    // The lot engine runs once, on a blocking thread.
    let (from_ledger, carried) = tokio::task::spawn_blocking(move || {
        let book = ledger.book(None)?;
        Ok::<_, domain::DomainError>((
            domain::tax::ledger_income(&ledger, &book, year),
            domain::tax::ledger_carryovers(&book, status, year),
        ))
    })
    .await
    .map_err(|e| anyhow::anyhow!("the lot engine failed: {e}"))?
    .map_err(|e| ReportError::Other(e.into()))?;
    let given_carry = given.carryover_short.is_some() || given.carryover_long.is_some();
    let income = Income {
        ordinary: given.wages + given.other_income,
        carryover_short: given.carryover_short.unwrap_or(if given_carry { Decimal::ZERO } else { carried.0 }),
        carryover_long: given.carryover_long.unwrap_or(if given_carry { Decimal::ZERO } else { carried.1 }),
        itemized: given.itemized,
        ..from_ledger
    };
    let filer = Filer { status, seniors, blind: given.blind };
    let e = domain::tax::estimate(year, filer, &income).map_err(invalid)?;
    Ok((e, income, status, seniors, given_carry))
}

/// The marginal (short-term, long-term) rates of `as_of`'s tax year (the latest year with a
/// table when it has none), from the ledger's income of the year and what was given.
pub(crate) async fn marginal_rates(
    ledger: std::sync::Arc<domain::ledger::Ledger>,
    as_of: chrono::NaiveDate,
    given: &Given,
) -> Result<(Decimal, Decimal), ReportError> {
    use chrono::Datelike;
    let latest = domain::tax::YEARS.last().map_or(as_of.year(), |t| t.year);
    let year = if domain::tax::year(as_of.year()).is_ok() { as_of.year() } else { latest };
    let (e, ..) = assess(ledger, year, given).await?;
    Ok((e.marginal_ordinary, e.marginal_capital_gains))
}

/// The latest close on or before `as_of` of every symbol the ledger's rows name. A symbol
/// without market data has no close: its lots are not valued (as the monitoring rules do).
pub(crate) async fn closes(
    db: &projections::db::Db,
    ledger: &domain::ledger::Ledger,
    as_of: chrono::NaiveDate,
) -> std::collections::BTreeMap<String, Decimal> {
    let mut closes = std::collections::BTreeMap::new();
    for symbol in ledger.trades.iter().filter_map(|t| t.symbol.clone()).collect::<std::collections::BTreeSet<_>>() {
        if let Some(close) = latest_close(db, &symbol, as_of).await {
            closes.insert(symbol, close);
        }
    }
    closes
}

/// A symbol's latest close on or before `as_of`, when the prices read model has one.
async fn latest_close(db: &projections::db::Db, symbol: &str, as_of: chrono::NaiveDate) -> Option<Decimal> {
    crate::market::bars(db, symbol, None, Some(as_of)).await.ok().and_then(|b| b.last().map(|b| b.close))
}

/// What a harvesting scan takes beside the household.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HarvestRequest {
    pub as_of: chrono::NaiveDate,
    pub settings: domain::harvest::Settings,
    /// Replacements of the caller's, by symbol, before the table's.
    pub replacements: std::collections::BTreeMap<String, String>,
    /// The income the marginal rates are taken at (the ledger's own comes in as for an estimate).
    pub given: Given,
}

/// One candidate, as both shells answer it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct HarvestCandidate {
    pub lot_id: String,
    pub account: String,
    pub symbol: String,
    pub quantity: String,
    pub acquired: chrono::NaiveDate,
    pub basis: String,
    pub value: String,
    pub loss: String,
    /// `short` or `long`.
    pub term: String,
    /// The marginal rate the loss saves at, and the tax saved.
    pub rate: String,
    pub tax_value: String,
    /// Why a sale today would be a wash sale; absent when it would not.
    pub blocked: Option<String>,
    /// The first day the shares (or a share class of the same fund) may be bought back.
    pub buy_back_from: chrono::NaiveDate,
    /// A fund of the same asset class tracking a different index, to hold meanwhile.
    pub replacement: Option<String>,
}

/// A household's harvesting scan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Harvest {
    pub household: String,
    pub as_of: chrono::NaiveDate,
    /// The marginal rates of the tax year (`cairn tax estimate`'s, with the income given).
    pub short_term_rate: String,
    pub long_term_rate: String,
    /// The losses that can be harvested today (not blocked) and the tax they save.
    pub harvestable_loss: String,
    pub tax_value: String,
    pub candidates: Vec<HarvestCandidate>,
    /// The lots accepted: each sale and its replacement's purchase, as the ledger rows that
    /// book them (`cairn tax harvest --accept`, `POST …/tax/harvest`); empty for a scan.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub orders: Vec<crate::rebalance::OrderAnswer>,
    /// When accepted: the rows recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recorded: Option<crate::rebalance::Recorded>,
}

/// The household's tax-loss harvesting candidates on `r.as_of` (`domain::harvest::scan`) at the
/// latest closes on or before it, their losses valued at the marginal rates of its tax year
/// (the latest year with a table when it has none).
pub async fn harvest(db: &projections::db::Db, household: &str, r: &HarvestRequest) -> Result<Harvest, ReportError> {
    Ok(scan(db, household, r).await?.0)
}

/// The scan with the lots `accept` names accepted: the answer carries each sale and its
/// replacement's purchase (`domain::harvest::orders`), and the ledger rows that book them on
/// the scan's day, in that order. A lot that is not a candidate, or is blocked, is refused
/// naming `lot_ids`.
pub async fn harvest_accept(
    db: &projections::db::Db,
    household: &str,
    r: &HarvestRequest,
    accept: &[String],
) -> Result<(Harvest, Vec<domain::ledger::RowInput>), ReportError> {
    if accept.is_empty() {
        return Err(ReportError::Invalid { field: "lot_ids", problem: "name at least one lot to harvest".into() });
    }
    let (mut answer, found, closes) = scan(db, household, r).await?;
    let mut orders = Vec::new();
    for lot in accept {
        let c = found.iter().find(|c| c.lot_id == *lot).ok_or_else(|| ReportError::Invalid {
            field: "lot_ids",
            problem: format!(
                "lot {lot} is not a harvesting candidate on {} (none with a loss past the thresholds)",
                r.as_of
            ),
        })?;
        let replacement_close = match &c.replacement {
            Some(symbol) => match closes.get(symbol) {
                Some(close) => Some(*close),
                None => latest_close(db, symbol, r.as_of).await,
            },
            None => None,
        };
        let close = closes[&c.symbol];
        orders.extend(domain::harvest::orders(c, close, replacement_close).map_err(|e| match e {
            domain::DomainError::Rejected { problem, .. } => ReportError::Invalid { field: "lot_ids", problem },
            other => ReportError::Other(other.into()),
        })?);
    }
    let rows = orders.iter().enumerate().map(|(i, o)| o.row(r.as_of, i as u64 + 1, "tax-loss harvest")).collect();
    answer.orders = orders.iter().map(crate::rebalance::OrderAnswer::of).collect();
    Ok((answer, rows))
}

/// The scan's answer, the domain's candidates and the closes they were valued at.
async fn scan(
    db: &projections::db::Db,
    household: &str,
    r: &HarvestRequest,
) -> Result<(Harvest, Vec<domain::harvest::Candidate>, std::collections::BTreeMap<String, Decimal>), ReportError> {
    let ledger = std::sync::Arc::new(
        projections::holdings::ledger_of(db, household)
            .await?
            .ok_or_else(|| ReportError::NoLedger(household.to_owned()))?,
    );
    let rates = marginal_rates(ledger.clone(), r.as_of, &r.given).await?;
    let closes = std::sync::Arc::new(closes(db, &ledger, r.as_of).await);
    let (as_of, settings, replacements, priced) = (r.as_of, r.settings, r.replacements.clone(), closes.clone());
    let found = tokio::task::spawn_blocking(move || {
        domain::harvest::scan(&ledger, &priced, as_of, &settings, rates, &replacements)
    })
    .await
    .map_err(|e| anyhow::anyhow!("the lot engine failed: {e}"))?
    .map_err(|e| ReportError::Other(e.into()))?;
    let open: Vec<&domain::harvest::Candidate> = found.iter().filter(|c| c.blocked.is_none()).collect();
    let exact = |d: Decimal| d.normalize().to_string();
    let answer = Harvest {
        household: household.to_owned(),
        as_of: r.as_of,
        short_term_rate: exact(rates.0),
        long_term_rate: exact(rates.1),
        harvestable_loss: money(open.iter().map(|c| c.loss).sum()),
        tax_value: money(open.iter().map(|c| c.tax_value).sum()),
        candidates: found
            .iter()
            .map(|c| HarvestCandidate {
                lot_id: c.lot_id.clone(),
                account: c.account.clone(),
                symbol: c.symbol.clone(),
                quantity: exact(c.quantity),
                acquired: c.acquired,
                basis: money(c.basis),
                value: money(c.value),
                loss: money(c.loss),
                term: c.term.as_str().to_owned(),
                rate: exact(c.rate),
                tax_value: money(c.tax_value),
                blocked: c.blocked.clone(),
                buy_back_from: c.buy_back_from,
                replacement: c.replacement.clone(),
            })
            .collect(),
        orders: Vec::new(),
        recorded: None,
    };
    Ok((answer, found, std::sync::Arc::unwrap_or_clone(closes)))
}

/// What a harvesting back-test takes beside the household.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BacktestRequest {
    /// The lots are the household's taxable lots open at the end of this day.
    pub from: chrono::NaiveDate,
    pub to: chrono::NaiveDate,
    pub settings: domain::harvest::Settings,
}

/// One year of a back-test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct BacktestYear {
    pub year: i32,
    pub harvested: String,
    pub harvests: u32,
}

/// Harvesting back-tested on the stored closes (`domain::harvest::backtest`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct HarvestBacktest {
    pub household: String,
    pub from: chrono::NaiveDate,
    pub to: chrono::NaiveDate,
    /// The first and last days with closes of every symbol held.
    pub start: chrono::NaiveDate,
    pub end: chrono::NaiveDate,
    /// The taxable lots tested.
    pub lots: usize,
    pub starting_balance: String,
    /// Losses harvested in all, and how many harvests.
    pub harvested: String,
    pub harvests: u32,
    /// Harvested ÷ starting balance, in all and a year.
    pub cumulative_yield: String,
    pub annualized_yield: String,
    pub years: String,
    pub by_year: Vec<BacktestYear>,
    /// How the test runs, in words.
    pub method: String,
}

/// The method of [`harvest_backtest`], as every answer states it.
pub const BACKTEST_METHOD: &str = "The household's taxable lots open at the end of `from`, with their basis, held from the first day every symbol has a close; on each day with a close, a lot whose loss reaches the thresholds is harvested: the loss counted and the proceeds put in a replacement assumed to track the same returns (its basis the lot's value), no lot of the symbol harvested again for 31 days. No new money, withdrawals or trading costs. Yield = harvested losses / starting balance (Arnott, Berkin and Ye 2001), annualized over the years spanned.";

/// The household's harvesting yield over the stored closes from `r.from` to `r.to`.
pub async fn harvest_backtest(
    db: &projections::db::Db,
    household: &str,
    r: &BacktestRequest,
) -> Result<HarvestBacktest, ReportError> {
    if r.to <= r.from {
        return Err(ReportError::Invalid { field: "to", problem: format!("{} is not after from ({})", r.to, r.from) });
    }
    let ledger = projections::holdings::ledger_of(db, household)
        .await?
        .ok_or_else(|| ReportError::NoLedger(household.to_owned()))?;
    let book = ledger.book(Some(r.from)).map_err(|e| ReportError::Other(e.into()))?;
    let taxable = |account: &str| {
        ledger.accounts.get(account).is_some_and(|a| a.account_type == domain::ledger::types::AccountType::Taxable)
    };
    let lots: Vec<domain::harvest::HeldLot> = book
        .lots
        .iter()
        .filter(|l| taxable(&l.account) && l.quantity > Decimal::ZERO)
        .map(|l| domain::harvest::HeldLot { symbol: l.symbol.clone(), quantity: l.quantity, basis: l.basis })
        .collect();
    let mut closes = std::collections::BTreeMap::new();
    for symbol in lots.iter().map(|l| l.symbol.clone()).collect::<std::collections::BTreeSet<_>>() {
        if let Ok(bars) = crate::market::bars(db, &symbol, Some(r.from), Some(r.to)).await {
            if !bars.is_empty() {
                closes.insert(symbol, bars.iter().map(|b| (b.date, b.close)).collect());
            }
        }
    }
    let (count, settings) = (lots.len(), r.settings);
    let b = tokio::task::spawn_blocking(move || domain::harvest::backtest(&lots, &closes, &settings))
        .await
        .map_err(|e| anyhow::anyhow!("the back-test failed: {e}"))?
        .map_err(|e| match e {
            domain::DomainError::Rejected { problem, .. } => ReportError::Invalid { field: "from", problem },
            other => ReportError::Other(other.into()),
        })?;
    let exact = |d: Decimal| d.normalize().to_string();
    Ok(HarvestBacktest {
        household: household.to_owned(),
        from: r.from,
        to: r.to,
        start: b.start,
        end: b.end,
        lots: count,
        starting_balance: money(b.starting_balance),
        harvested: money(b.harvested),
        harvests: b.harvests,
        cumulative_yield: exact(b.cumulative_yield),
        annualized_yield: exact(b.annualized_yield),
        years: exact(b.years),
        by_year: b
            .by_year
            .iter()
            .map(|y| BacktestYear { year: y.year, harvested: money(y.harvested), harvests: y.harvests })
            .collect(),
        method: BACKTEST_METHOD.to_owned(),
    })
}

/// The back-test as a report: a row per year, the yields in the summary.
pub fn backtest_report(b: &HarvestBacktest) -> Report {
    Report {
        name: "harvest_backtest",
        columns: vec!["year", "harvested", "harvests"],
        rows: b.by_year.iter().map(|y| vec![y.year.to_string(), y.harvested.clone(), y.harvests.to_string()]).collect(),
        totals: Vec::new(),
        summary: vec![
            ("household", serde_json::json!(b.household)),
            ("start", serde_json::json!(b.start.to_string())),
            ("end", serde_json::json!(b.end.to_string())),
            ("lots", serde_json::json!(b.lots)),
            ("starting_balance", serde_json::json!(b.starting_balance)),
            ("harvested", serde_json::json!(b.harvested)),
            ("cumulative_yield", serde_json::json!(b.cumulative_yield)),
            ("annualized_yield", serde_json::json!(b.annualized_yield)),
            ("method", serde_json::json!(b.method)),
        ],
    }
}

/// The scan as a report: a row per candidate.
pub fn harvest_report(h: &Harvest) -> Report {
    Report {
        name: "harvest",
        columns: vec![
            "lot_id",
            "account",
            "symbol",
            "quantity",
            "acquired",
            "basis",
            "value",
            "loss",
            "term",
            "tax_value",
            "blocked",
            "buy_back_from",
            "replacement",
        ],
        rows: h
            .candidates
            .iter()
            .map(|c| {
                vec![
                    c.lot_id.clone(),
                    c.account.clone(),
                    c.symbol.clone(),
                    c.quantity.clone(),
                    c.acquired.to_string(),
                    c.basis.clone(),
                    c.value.clone(),
                    c.loss.clone(),
                    c.term.clone(),
                    c.tax_value.clone(),
                    c.blocked.clone().unwrap_or_default(),
                    c.buy_back_from.to_string(),
                    c.replacement.clone().unwrap_or_default(),
                ]
            })
            .collect(),
        totals: Vec::new(),
        summary: vec![
            ("household", serde_json::json!(h.household)),
            ("as_of", serde_json::json!(h.as_of.to_string())),
            ("harvestable_loss", serde_json::json!(h.harvestable_loss)),
            ("tax_value", serde_json::json!(h.tax_value)),
            ("recorded", serde_json::json!(h.recorded.as_ref().map(|r| r.trade_ids.join(" ")))),
        ],
    }
}

/// The lines of [`report`], in the order a return reads.
const LINES: [&str; 44] = [
    "filing_status",
    "seniors",
    "blind",
    "wages",
    "other_income",
    "interest",
    "ordinary_dividends",
    "qualified_dividends",
    "short_term",
    "long_term",
    "carryover_short_in",
    "carryover_long_in",
    "carryovers_from",
    "capital_gain_or_loss",
    "agi",
    "standard_deduction",
    "itemized",
    "senior_deduction",
    "deductions",
    "taxable_income",
    "ordinary_income",
    "at_zero",
    "at_fifteen",
    "at_twenty",
    "income_tax",
    "net_investment_income",
    "niit",
    "total_tax",
    "carryover_short_out",
    "carryover_long_out",
    "ordinary_bracket",
    "to_next_bracket",
    "marginal_ordinary",
    "marginal_capital_gains",
    "irmaa_premium_year",
    "irmaa_tiers_of",
    "irmaa_tier",
    "irmaa_part_b_monthly",
    "irmaa_part_d_monthly",
    "irmaa_to_next_tier",
    "year",
    "household",
    "source",
    "excludes",
];

/// The estimate as lines of a report (`line`, `amount`) for CSV and tables.
pub fn report(e: &TaxEstimate) -> Result<Report, ReportError> {
    crate::reports::lines("tax_estimate", e, &LINES)
}

/// The security master's kinds, by symbol (`cairn market securities`' `kind` column).
async fn kinds(
    db: &projections::db::Db,
) -> Result<std::collections::BTreeMap<String, domain::form8949::SecurityKind>, ReportError> {
    let described = projections::query::records(db, &projections::prices::SECURITIES, &[]).await?;
    Ok(described.iter().filter_map(|r| Some((r.str("symbol").to_owned(), r.str("kind").parse().ok()?))).collect())
}

/// The Form 8949 box of a sale of `symbol` from `account`, of `term`, acquired on `acquired`
/// ([`domain::form8949::form_box`]: the account's basis reporting and the security's kind).
fn box_of(
    ledger: &domain::ledger::Ledger,
    kinds: &std::collections::BTreeMap<String, domain::form8949::SecurityKind>,
    account: &str,
    symbol: &str,
    term: domain::ledger::lots::Term,
    acquired: chrono::NaiveDate,
) -> domain::form8949::FormBox {
    let reporting = ledger.details.get(account).and_then(|d| d.basis_reporting).unwrap_or_default();
    domain::form8949::form_box(term, reporting, kinds.get(symbol).copied(), acquired)
}

/// The box of each of `sales` (rows of the `gains` read model), in their order.
pub async fn boxes(
    db: &projections::db::Db,
    household: &str,
    sales: &[projections::query::Record],
) -> Result<Vec<domain::form8949::FormBox>, ReportError> {
    use domain::ledger::lots::Term;
    if sales.is_empty() {
        return Ok(Vec::new());
    }
    let ledger = projections::holdings::ledger_of(db, household)
        .await?
        .ok_or_else(|| ReportError::NoLedger(household.to_owned()))?;
    let kinds = kinds(db).await?;
    Ok(sales
        .iter()
        .map(|s| {
            let term = if s.str("term") == Term::Long.as_str() { Term::Long } else { Term::Short };
            let acquired = s.date("date_acquired").unwrap_or_default();
            box_of(&ledger, &kinds, s.str("account"), s.str("symbol"), term, acquired)
        })
        .collect())
}

/// A line of Schedule D's parts I and II: its Form 8949 box, the rows in it, and columns (d),
/// (e), (g), (h) in dollars with two decimals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct ScheduleDLine {
    pub line: String,
    pub form_box: String,
    pub rows: u32,
    pub proceeds: String,
    pub cost: String,
    pub adjustment: String,
    pub gain: String,
}

/// A year's Schedule D from the ledger's Form 8949 rows and its carryovers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct ScheduleD {
    pub household: String,
    pub year: i32,
    pub filing_status: String,
    /// Lines 1a, 1b, 2, 3 (short-term) and 8a, 8b, 9, 10 (long-term).
    pub lines: Vec<ScheduleDLine>,
    /// Line 6 and 14: the losses carried in from the ledger's earlier years (positive).
    pub short_term_carryover: String,
    pub long_term_carryover: String,
    /// Line 7 and 15: the net short- and long-term gain or loss.
    pub net_short_term: String,
    pub net_long_term: String,
    /// Line 16.
    pub net: String,
    /// Line 21: the loss deducted this year (negative), when line 16 is a loss.
    pub deductible_loss: Option<String>,
}

/// The household's Schedule D for `year` (`domain::form8949::schedule_d`): its reportable
/// sales of the year by box, the carryovers from its earlier years, the loss limit of its
/// filing status.
pub async fn schedule_d(db: &projections::db::Db, household: &str, year: i32) -> Result<ScheduleD, ReportError> {
    use chrono::Datelike;
    use domain::form8949::{FormBox, Sale};
    domain::tax::year(year).map_err(invalid)?;
    let ledger = projections::holdings::ledger_of(db, household)
        .await?
        .ok_or_else(|| ReportError::NoLedger(household.to_owned()))?;
    let kinds = kinds(db).await?;
    let status = ledger.household.as_ref().map(|(_, s)| *s).unwrap_or_default();
    let (d, counts) = tokio::task::spawn_blocking(move || {
        let book = ledger.book(None)?;
        let mut counts: std::collections::BTreeMap<(FormBox, bool), u32> = std::collections::BTreeMap::new();
        let sales: Vec<Sale> = book
            .sales
            .iter()
            .filter(|s| s.reportable && s.date_sold.year() == year)
            .map(|s| {
                let form_box = box_of(&ledger, &kinds, &s.account, &s.symbol, s.term, s.date_acquired);
                *counts.entry((form_box, !s.adjustment_amount.is_zero())).or_default() += 1;
                Sale {
                    form_box,
                    proceeds: s.proceeds,
                    cost: s.cost_basis,
                    adjustment: s.adjustment_amount,
                    gain: s.gain_loss,
                }
            })
            .collect();
        let (carry_short, carry_long) = domain::tax::ledger_carryovers(&book, status, year);
        let d = domain::form8949::schedule_d(&sales, carry_short, carry_long, domain::tax::loss_limit(status));
        Ok::<_, domain::DomainError>((d, counts))
    })
    .await
    .map_err(|e| anyhow::anyhow!("the lot engine failed: {e}"))?
    .map_err(|e| ReportError::Other(e.into()))?;
    // Lines 1a and 8a hold box A and D rows without adjustments, 1b and 8b those with one.
    let parts = [
        ("1a", FormBox::A, Some(false), &d.line_1a),
        ("1b", FormBox::A, Some(true), &d.line_1b),
        ("2", FormBox::B, None, &d.line_2),
        ("3", FormBox::C, None, &d.line_3),
        ("8a", FormBox::D, Some(false), &d.line_8a),
        ("8b", FormBox::D, Some(true), &d.line_8b),
        ("9", FormBox::E, None, &d.line_9),
        ("10", FormBox::F, None, &d.line_10),
    ];
    let lines = parts
        .into_iter()
        .map(|(line, form_box, adjusted, l)| ScheduleDLine {
            line: line.to_owned(),
            form_box: form_box.as_str().to_owned(),
            rows: counts
                .iter()
                .filter(|((b, a), _)| *b == form_box && adjusted.is_none_or(|x| x == *a))
                .map(|(_, n)| n)
                .sum(),
            proceeds: money(l.proceeds),
            cost: money(l.cost),
            adjustment: money(l.adjustment),
            gain: money(l.gain),
        })
        .collect();
    Ok(ScheduleD {
        household: household.to_owned(),
        year,
        filing_status: status.as_str().to_owned(),
        lines,
        short_term_carryover: money(d.line_6),
        long_term_carryover: money(d.line_14),
        net_short_term: money(d.line_7),
        net_long_term: money(d.line_15),
        net: money(d.line_16),
        deductible_loss: d.line_21.map(money),
    })
}

/// Schedule D as a report: a row per line of parts I and II, the totals in the summary.
pub fn schedule_d_report(d: &ScheduleD) -> Report {
    Report {
        name: "schedule_d",
        columns: vec!["line", "box", "rows", "proceeds", "cost", "adjustment", "gain"],
        rows: d
            .lines
            .iter()
            .map(|l| {
                vec![
                    l.line.clone(),
                    l.form_box.clone(),
                    l.rows.to_string(),
                    l.proceeds.clone(),
                    l.cost.clone(),
                    l.adjustment.clone(),
                    l.gain.clone(),
                ]
            })
            .collect(),
        totals: Vec::new(),
        summary: vec![
            ("household", serde_json::json!(d.household)),
            ("year", serde_json::json!(d.year)),
            ("filing_status", serde_json::json!(d.filing_status)),
            ("short_term_carryover", serde_json::json!(d.short_term_carryover)),
            ("net_short_term", serde_json::json!(d.net_short_term)),
            ("long_term_carryover", serde_json::json!(d.long_term_carryover)),
            ("net_long_term", serde_json::json!(d.net_long_term)),
            ("net", serde_json::json!(d.net)),
            ("deductible_loss", serde_json::json!(d.deductible_loss)),
        ],
    }
}

/// One asset class's dollars by kind of account, now and suggested.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct LocationRow {
    pub asset_class: String,
    pub taxable: String,
    pub traditional: String,
    pub roth: String,
    pub suggested_taxable: String,
    pub suggested_traditional: String,
    pub suggested_roth: String,
}

/// The household's asset location and the suggestion (`domain::location`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct AssetLocation {
    pub household: String,
    /// The marginal rates the yields are taxed at (ordinary, qualified dividends).
    pub ordinary_rate: String,
    pub qualified_rate: String,
    pub classes: Vec<LocationRow>,
    /// The yearly tax on the taxable accounts' yields, now and suggested, and the saving.
    pub tax_now: String,
    pub tax_suggested: String,
    pub saving: String,
    /// Positions left out: symbols the security master does not classify.
    pub unclassified: Vec<String>,
}

/// The household's asset location at the latest closes (positions by the security master's
/// class, cash as cash), at the marginal rates of `as_of`'s year with the income given.
pub async fn location(
    db: &projections::db::Db,
    household: &str,
    as_of: chrono::NaiveDate,
    given: &Given,
) -> Result<AssetLocation, ReportError> {
    use domain::location::Shelter;
    use domain::market::AssetClass;
    use projections::holdings::{ACCOUNTS, VALUATIONS};
    use projections::query::records;
    let ledger = projections::holdings::ledger_of(db, household)
        .await?
        .ok_or_else(|| ReportError::NoLedger(household.to_owned()))?;
    let (ordinary, qualified) = marginal_rates(std::sync::Arc::new(ledger), as_of, given).await?;
    let scope = [("household", Some(household.to_owned()))];
    let classes: std::collections::BTreeMap<String, AssetClass> = records(db, &projections::prices::SECURITIES, &[])
        .await?
        .iter()
        .filter_map(|s| Some((s.str("symbol").to_owned(), s.str("asset_class").parse().ok()?)))
        .collect();
    let mut shelters = std::collections::BTreeMap::new();
    let mut holdings = Vec::new();
    for a in records(db, &ACCOUNTS, &scope).await? {
        let Ok(kind) = a.str("account_type").parse() else { continue };
        let shelter = Shelter::of(kind);
        shelters.insert(a.str("account").to_owned(), shelter);
        if let Some(cash) = a.dec("cash").filter(|c| *c > Decimal::ZERO) {
            holdings.push((AssetClass::Cash, shelter, cash));
        }
    }
    let mut unclassified = std::collections::BTreeSet::new();
    for v in records(db, &VALUATIONS, &scope).await? {
        let (Some(value), Some(shelter)) = (v.dec("market_value"), shelters.get(v.str("account"))) else { continue };
        match classes.get(v.str("symbol")) {
            Some(class) => holdings.push((*class, *shelter, value)),
            None => {
                unclassified.insert(v.str("symbol").to_owned());
            }
        }
    }
    let l = domain::location::locate(&holdings, (ordinary, qualified));
    let rows = l
        .current
        .iter()
        .map(|(class, now)| {
            let then = l.suggested.get(class).copied().unwrap_or_default();
            LocationRow {
                asset_class: class.as_str().to_owned(),
                taxable: money(now.taxable),
                traditional: money(now.traditional),
                roth: money(now.roth),
                suggested_taxable: money(then.taxable),
                suggested_traditional: money(then.traditional),
                suggested_roth: money(then.roth),
            }
        })
        .collect();
    let exact = |d: Decimal| d.normalize().to_string();
    Ok(AssetLocation {
        household: household.to_owned(),
        ordinary_rate: exact(ordinary),
        qualified_rate: exact(qualified),
        classes: rows,
        tax_now: money(l.tax_now),
        tax_suggested: money(l.tax_suggested),
        saving: money(l.saving),
        unclassified: unclassified.into_iter().collect(),
    })
}

/// The location as a report: a row per class; the taxes and saving in the summary.
pub fn location_report(l: &AssetLocation) -> Report {
    Report {
        name: "location",
        columns: vec![
            "asset_class",
            "taxable",
            "traditional",
            "roth",
            "suggested_taxable",
            "suggested_traditional",
            "suggested_roth",
        ],
        rows: l
            .classes
            .iter()
            .map(|c| {
                vec![
                    c.asset_class.clone(),
                    c.taxable.clone(),
                    c.traditional.clone(),
                    c.roth.clone(),
                    c.suggested_taxable.clone(),
                    c.suggested_traditional.clone(),
                    c.suggested_roth.clone(),
                ]
            })
            .collect(),
        totals: Vec::new(),
        summary: vec![
            ("household", serde_json::json!(l.household)),
            ("tax_now", serde_json::json!(l.tax_now)),
            ("tax_suggested", serde_json::json!(l.tax_suggested)),
            ("saving", serde_json::json!(l.saving)),
            ("unclassified", serde_json::json!(l.unclassified)),
        ],
    }
}
