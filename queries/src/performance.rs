//! "How am I doing?": a household's (or one account's) returns per period, against a benchmark
//! when asked, its value over time against what was put in, and its income. Computed from the
//! household's daily history the `valuation_history` read model holds, or for one account
//! from the ledger `holdings` holds and the `prices` read model (which also gives a
//! benchmark's closes), by
//! `domain::performance` (whose documentation gives the rules: external flows, timing,
//! annualization). `cairn performance`, `cairn income` and the HTTP routes all call here.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use domain::performance::history::{history, replay, Closes, Valuation};
use domain::performance::periods::{compare, income_by_month, standard, summarize, Blend, Period, Summary};
use domain::performance::FlowTiming;
use projections::db::Db;
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::Serialize;

use crate::ledger::ReportError;
use crate::reports::{money, Report};

/// What performance or income is asked of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The household's name as given (its key is derived).
    pub household: String,
    /// One account (its label); every account of the household when `None`.
    pub account: Option<String>,
    /// A portfolio's accounts (its name), instead of one account or all.
    pub portfolio: Option<String>,
    /// Adds a `custom` period from this day to `to`.
    pub from: Option<NaiveDate>,
    /// The last day counted (the household's today when `None`).
    pub to: Option<NaiveDate>,
    pub benchmark: Option<Blend>,
    pub timing: FlowTiming,
    /// Also each asset class's returns, its positions measured as a portfolio of their own
    /// (`domain::performance::history::Replayed::sleeve`).
    pub by_asset_class: bool,
}

/// A fraction shown with six decimals (`0.052341` is 5.2341 %).
fn rate(r: Decimal) -> String {
    format!("{:.6}", r.round_dp(6))
}

/// One period's figures, amounts in US dollars with two decimals, returns as fractions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct PeriodRow {
    /// `mtd`, `qtd`, `ytd`, `1y`, `3y`, `5y`, `inception` or `custom`.
    pub period: String,
    pub start: NaiveDate,
    pub end: NaiveDate,
    /// The value at the end of the day before `start`.
    pub opening: String,
    pub closing: String,
    /// Deposits, contributions and transfers in, less withdrawals and transfers out.
    pub net_flow: String,
    /// `closing - opening - net_flow`.
    pub gain: String,
    /// Dividends and interest.
    pub income: String,
    /// Every fee paid: fee rows, commissions and other fees on trades.
    pub fees: String,
    /// Time-weighted return, net of fees, over the period.
    pub time_weighted: String,
    /// Time-weighted return gross of fees (fee rows counted as outflows).
    pub time_weighted_gross: String,
    /// Annualized time-weighted return, for periods longer than a year.
    pub annualized: Option<String>,
    /// Money-weighted return (annual XIRR past a year, the period's own rate within one);
    /// absent when there is none, with `money_weighted_note` saying why.
    pub money_weighted: Option<String>,
    pub money_weighted_note: Option<String>,
    pub modified_dietz: Option<String>,
    /// The benchmark's return over the period, and the time-weighted return less it.
    pub benchmark_return: Option<String>,
    pub excess: Option<String>,
    /// Annualized tracking error, beta and information ratio against the benchmark (from
    /// daily returns; absent with fewer than two trading days).
    pub tracking_error: Option<String>,
    pub beta: Option<String>,
    pub information_ratio: Option<String>,
}

/// One day of the chart: the value and the net contributions so far (every external flow since
/// the first day), and the growth of 1 at the time-weighted return and at the benchmark's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Point {
    pub date: NaiveDate,
    pub value: String,
    pub net_contributions: String,
    pub growth: String,
    /// On days the benchmark has a close.
    pub benchmark_growth: Option<String>,
}

/// A household's performance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Performance {
    pub household: String,
    /// The accounts counted.
    pub accounts: Vec<String>,
    /// The household's base currency (ISO 4217), which every amount is in.
    pub currency: String,
    /// The first day with a row in the accounts counted.
    pub inception: Option<NaiveDate>,
    pub end: NaiveDate,
    /// When external flows count: `start_of_day` or `end_of_day`.
    pub flows: &'static str,
    pub benchmark: Option<String>,
    pub periods: Vec<PeriodRow>,
    /// Each calendar day from `from` (or the inception) to `end`.
    pub series: Vec<Point>,
    /// The most symbols held without any price on a day of the history (valued at nothing).
    pub unpriced: u32,
    /// Each asset class's periods (asked for with `by_asset_class`; empty otherwise), by
    /// class name; symbols the security master does not describe are `unclassified`.
    pub asset_classes: Vec<AssetClassRows>,
}

/// An asset class's returns: its positions alone, bought with money from the rest of the
/// accounts and paying their sales and income back to it (no cash of its own; `fee` rows belong
/// to no class, so its returns are gross of account fees).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct AssetClassRows {
    pub asset_class: String,
    /// The symbols counted in it.
    pub symbols: Vec<String>,
    pub periods: Vec<PeriodRow>,
}

/// The history of the request's accounts to its end, with the closes it used.
struct Loaded {
    key: String,
    accounts: Vec<String>,
    end: NaiveDate,
    ledger: domain::ledger::Ledger,
    closes: Closes,
    /// In US dollars.
    history: Vec<Valuation>,
    /// The household's base currency, which the answers are in.
    base: String,
}

/// The accounts of the household `key`'s portfolio `name`.
async fn portfolio_accounts(db: &Db, key: &str, name: &str) -> Result<BTreeSet<String>, ReportError> {
    let filters = [("household", Some(key.to_owned())), ("portfolio", Some(domain::ledger::household_key(name)))];
    let rows = projections::query::records(db, &projections::holdings::PORTFOLIOS, &filters).await?;
    let Some(row) = rows.first() else {
        return Err(ReportError::Invalid {
            field: "portfolio",
            problem: format!("the household has no portfolio {name:?}"),
        });
    };
    Ok(row.str("accounts").split(',').filter(|a| !a.is_empty()).map(str::to_owned).collect())
}

/// `days` (in US dollars) in the currency `base`: each day at that day's close of the
/// currency's pair (`domain::fx`), which `closes` must hold.
fn in_base(days: &[Valuation], closes: &Closes, base: &str) -> Result<Vec<Valuation>, ReportError> {
    if base == domain::fx::USD {
        return Ok(days.to_vec());
    }
    let pair = domain::fx::pair(base);
    days.iter()
        .map(|d| {
            let rate = closes.on_or_before(&pair, d.date).ok_or_else(|| no_rate(&pair, base, d.date))?;
            Ok(d.in_currency(rate))
        })
        .collect()
}

fn no_rate(pair: &str, base: &str, day: NaiveDate) -> ReportError {
    ReportError::Invalid {
        field: "base_currency",
        problem: format!(
            "the household reports in {base} and there is no {pair} rate on or before {day}: import one with `cairn market rates`"
        ),
    }
}

/// The closes of the benchmark's symbols in the currency `base` (their dollar closes divided by
/// the day's rate), for a comparison in that currency.
fn benchmark_in_base(blend: Option<&Blend>, closes: &Closes, base: &str) -> Result<Closes, ReportError> {
    let mut converted = Closes::default();
    let pair = domain::fx::pair(base);
    for (symbol, _) in blend.iter().flat_map(|b| &b.parts) {
        let mut series = closes.series(symbol).to_vec();
        if base != domain::fx::USD {
            for (day, close) in &mut series {
                *close /= closes.on_or_before(&pair, *day).ok_or_else(|| no_rate(&pair, base, *day))?;
            }
        }
        converted.set_series(symbol.clone(), series);
    }
    Ok(converted)
}

async fn load(db: &Db, request: &Request, now: DateTime<Utc>) -> Result<Loaded, ReportError> {
    let key = domain::ledger::household_key(&request.household);
    let ledger = projections::holdings::ledger_of(db, &key)
        .await?
        .ok_or_else(|| ReportError::NoLedger(request.household.clone()))?;
    let only: Option<BTreeSet<String>> = match (&request.account, &request.portfolio) {
        (Some(_), Some(_)) => {
            return Err(ReportError::Invalid {
                field: "portfolio",
                problem: "give an account or a portfolio, not both".into(),
            })
        }
        (None, Some(name)) => Some(portfolio_accounts(db, &key, name).await?),
        (None, None) => None,
        (Some(label), None) if ledger.accounts.contains_key(label) => Some([label.clone()].into()),
        (Some(label), None) => {
            let known: Vec<&str> = ledger.accounts.keys().map(String::as_str).collect();
            return Err(ReportError::Invalid {
                field: "account",
                problem: format!("no account labelled {label:?}; the household has {}", known.join(", ")),
            });
        }
    };
    let today = ledger.local_date(now);
    let end = request.to.unwrap_or(today);
    if end > today {
        return Err(ReportError::Invalid {
            field: "to",
            problem: format!("{end} is after the household's today, {today}"),
        });
    }
    if let Some(from) = request.from.filter(|from| *from > end) {
        return Err(ReportError::Invalid { field: "from", problem: format!("{from} is after the end, {end}") });
    }
    // The household's daily history is the `valuation_history` read model's, and only a
    // benchmark's closes are read; one account's is computed from the ledger and its symbols'
    // closes.
    let mut symbols: BTreeSet<String> = if only.is_some() || request.by_asset_class {
        domain::fx::priced_symbols(&ledger.trades)
    } else {
        BTreeSet::new()
    };
    let base = ledger.base_currency().to_owned();
    if base != domain::fx::USD {
        symbols.insert(domain::fx::pair(&base));
    }
    symbols.extend(request.benchmark.iter().flat_map(|b| b.parts.iter().map(|(s, _)| s.clone())));
    let symbols: Vec<String> = symbols.into_iter().collect();
    let closes = Closes::new(projections::prices::closes(db, &symbols, end).await?);
    for (symbol, _) in request.benchmark.iter().flat_map(|b| &b.parts) {
        if closes.on_or_before(symbol, end).is_none() {
            return Err(ReportError::Invalid {
                field: "benchmark",
                problem: format!(
                    "no prices for {symbol} on or before {end}; import its bars with `cairn market import`"
                ),
            });
        }
    }
    let history = match &only {
        Some(_) => {
            let (ledger, closes, only) = (ledger.clone(), closes.clone(), only.clone());
            tokio::task::spawn_blocking(move || history(&ledger, &closes, only.as_ref(), end))
                .await
                .map_err(|e| anyhow::anyhow!("the valuation history failed: {e}"))?
                .map_err(anyhow::Error::from)?
        }
        None => {
            let mut days = projections::valuation_history::stored(db, &key, end).await?;
            // The stored history runs to the last day the household's data reaches; to `end`
            // nothing moves it: the same value each day, no flows.
            if let Some(last) = days.last().copied() {
                let mut day = last.date;
                while let Some(next) = day.succ_opt().filter(|d| *d <= end) {
                    days.push(Valuation {
                        date: next,
                        value: last.value,
                        cash: last.cash,
                        unpriced: last.unpriced,
                        ..Valuation::default()
                    });
                    day = next;
                }
            }
            days
        }
    };
    let accounts = match only {
        Some(set) => set.into_iter().collect(),
        None => ledger.accounts.keys().cloned().collect(),
    };
    Ok(Loaded { key, accounts, end, ledger, closes, history, base })
}

/// The performance asked for; the period ends on the request's `to`, else on the household's
/// date at `now`.
pub async fn performance(db: &Db, request: &Request, now: DateTime<Utc>) -> Result<Performance, ReportError> {
    let Loaded { key, accounts, end, ledger, closes, history, base } = load(db, request, now).await?;
    let history = in_base(&history, &closes, &base)?;
    let benchmark = benchmark_in_base(request.benchmark.as_ref(), &closes, &base)?;
    let timing = request.timing;
    let inception = history.first().map(|d| d.date);
    let mut periods = inception.map(|i| standard(i, end)).unwrap_or_default();
    if let Some(from) = request.from {
        periods.push(Period { name: "custom", start: from, end });
    }
    let rows_of = |history: &[Valuation]| -> Vec<PeriodRow> {
        let mut rows = Vec::with_capacity(periods.len());
        for period in &periods {
            let Some(s) = summarize(history, period, timing) else { continue };
            // A period without a day the benchmark has closes for (a month just begun) shows none.
            let cmp =
                request.benchmark.as_ref().and_then(|blend| compare(history, period, &benchmark, blend, timing).ok());
            rows.push(period_row(&s, cmp.as_ref()));
        }
        rows
    };
    let rows = rows_of(&history);
    let mut asset_classes = Vec::new();
    if request.by_asset_class {
        let classes = crate::holdings::asset_classes(db).await?;
        let mut members: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for t in &ledger.trades {
            for symbol in [&t.symbol, &t.new_symbol].into_iter().flatten() {
                let class = classes.get(symbol).map_or(crate::holdings::UNCLASSIFIED, String::as_str);
                members.entry(class.to_owned()).or_default().insert(symbol.clone());
            }
        }
        let scoped = request.account.is_some() || request.portfolio.is_some();
        let only: Option<BTreeSet<String>> = scoped.then(|| accounts.iter().cloned().collect());
        let sleeve_closes = closes.clone();
        /// An asset class, its symbols and its daily history.
        type Sleeve = (String, BTreeSet<String>, Vec<Valuation>);
        let sleeves = tokio::task::spawn_blocking(move || -> Result<Vec<Sleeve>, domain::DomainError> {
            let replayed = replay(&ledger, end)?;
            Ok(members
                .into_iter()
                .map(|(class, symbols)| {
                    let days = replayed.sleeve(&sleeve_closes, only.as_ref(), &symbols);
                    (class, symbols, days)
                })
                .collect())
        })
        .await
        .map_err(|e| anyhow::anyhow!("the asset classes' histories failed: {e}"))?
        .map_err(anyhow::Error::from)?;
        for (asset_class, symbols, days) in sleeves {
            let periods = rows_of(&in_base(&days, &closes, &base)?);
            if !periods.is_empty() {
                asset_classes.push(AssetClassRows { asset_class, symbols: symbols.into_iter().collect(), periods });
            }
        }
    }
    // The chart: from `from` (else the inception) to the end.
    let shown_from = request.from.or(inception);
    let chart_period = shown_from.map(|start| Period { name: "custom", start, end });
    let mut series = Vec::new();
    if let Some(period) = chart_period.filter(|p| inception.is_some_and(|i| p.end >= i)) {
        let first = history.first().map(|d| d.date).unwrap_or(period.start);
        let start = period.start.max(first);
        let days: Vec<&Valuation> = history.iter().filter(|d| d.date >= start).collect();
        let opening = history.iter().take_while(|d| d.date < start).last().map_or(Decimal::ZERO, |d| d.value);
        let net_days: Vec<domain::performance::Day> =
            days.iter().map(|d| domain::performance::Day { value: d.value, flow: d.flow }).collect();
        let (_, daily) = domain::performance::time_weighted(opening, &net_days, timing);
        let bench = match &request.benchmark {
            Some(blend) => {
                let p = Period { name: "custom", start, end };
                compare(&history, &p, &benchmark, blend, timing).map(|c| c.growth).unwrap_or_default()
            }
            None => Vec::new(),
        };
        let mut contributed = opening;
        let mut growth = Decimal::ONE;
        let mut b = bench.iter().peekable();
        for (d, r) in days.iter().zip(daily) {
            contributed += d.flow;
            growth *= Decimal::ONE + r;
            let mut benchmark_growth = None;
            while let Some((date, g)) = b.peek() {
                if *date > d.date {
                    break;
                }
                if *date == d.date {
                    benchmark_growth = Some(rate(*g));
                }
                b.next();
            }
            series.push(Point {
                date: d.date,
                value: money(d.value),
                net_contributions: money(contributed),
                growth: rate(growth),
                benchmark_growth,
            });
        }
    }
    Ok(Performance {
        household: key,
        accounts,
        currency: base,
        inception,
        end,
        flows: match timing {
            FlowTiming::StartOfDay => "start_of_day",
            FlowTiming::EndOfDay => "end_of_day",
        },
        benchmark: request.benchmark.as_ref().map(ToString::to_string),
        periods: rows,
        series,
        unpriced: history.iter().map(|d| d.unpriced).max().unwrap_or(0),
        asset_classes,
    })
}

fn period_row(s: &Summary, cmp: Option<&domain::performance::periods::Comparison>) -> PeriodRow {
    PeriodRow {
        period: s.period.name.to_owned(),
        start: s.period.start,
        end: s.period.end,
        opening: money(s.opening),
        closing: money(s.closing),
        net_flow: money(s.net_flow),
        gain: money(s.gain),
        income: money(s.qualified_dividends + s.ordinary_dividends + s.interest),
        fees: money(s.fees),
        time_weighted: rate(s.time_weighted),
        time_weighted_gross: rate(s.time_weighted_gross),
        annualized: s.annualized.map(rate),
        money_weighted: s.money_weighted.as_ref().ok().map(|r| rate(*r)),
        money_weighted_note: s.money_weighted.as_ref().err().map(ToString::to_string),
        modified_dietz: s.modified_dietz.as_ref().ok().map(|r| rate(*r)),
        benchmark_return: cmp.map(|c| rate(c.benchmark_return)),
        excess: cmp.map(|c| rate(c.excess)),
        tracking_error: cmp.and_then(|c| c.tracking_error).map(rate),
        beta: cmp.and_then(|c| c.beta).map(rate),
        information_ratio: cmp.and_then(|c| c.information_ratio).map(rate),
    }
}

impl Performance {
    /// The periods as a report (`cairn performance --format table|csv`).
    pub fn report(&self) -> Report {
        let mut columns = vec![
            "period",
            "start",
            "end",
            "opening",
            "closing",
            "net_flow",
            "gain",
            "income",
            "fees",
            "time_weighted",
            "time_weighted_gross",
            "annualized",
            "money_weighted",
            "modified_dietz",
        ];
        if self.benchmark.is_some() {
            columns.extend(["benchmark_return", "excess", "tracking_error", "beta", "information_ratio"]);
        }
        let by_class = !self.asset_classes.is_empty();
        if by_class {
            columns.insert(0, "asset_class");
        }
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        let all = self.periods.iter().map(|p| ("all", p));
        let classes =
            self.asset_classes.iter().flat_map(|c| c.periods.iter().map(move |p| (c.asset_class.as_str(), p)));
        let rows = all
            .chain(classes)
            .map(|(class, p)| {
                let mut row = if by_class { vec![class.to_owned()] } else { Vec::new() };
                row.extend([
                    p.period.clone(),
                    p.start.to_string(),
                    p.end.to_string(),
                    p.opening.clone(),
                    p.closing.clone(),
                    p.net_flow.clone(),
                    p.gain.clone(),
                    p.income.clone(),
                    p.fees.clone(),
                    p.time_weighted.clone(),
                    p.time_weighted_gross.clone(),
                    text(&p.annualized),
                    text(&p.money_weighted),
                    text(&p.modified_dietz),
                ]);
                if self.benchmark.is_some() {
                    row.extend(
                        [&p.benchmark_return, &p.excess, &p.tracking_error, &p.beta, &p.information_ratio].map(text),
                    );
                }
                row
            })
            .collect();
        let mut summary = vec![
            ("accounts", serde_json::json!(self.accounts)),
            ("end", serde_json::json!(self.end)),
            ("flows", serde_json::json!(self.flows)),
        ];
        if self.currency != domain::fx::USD {
            summary.push(("currency", serde_json::json!(self.currency)));
        }
        if let Some(b) = &self.benchmark {
            summary.push(("benchmark", serde_json::json!(b)));
        }
        if self.unpriced > 0 {
            summary.push(("unpriced", serde_json::json!(self.unpriced)));
        }
        Report { name: "performance", columns, rows, totals: Vec::new(), summary }
    }
}

/// Income per month or per year.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grouping {
    Month,
    Year,
}

/// One month's or year's income.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct IncomeRow {
    /// `2026-03` or `2026`.
    pub period: String,
    pub qualified_dividends: String,
    pub ordinary_dividends: String,
    pub interest: String,
    pub total: String,
}

/// A household's dividends and interest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Income {
    pub household: String,
    pub accounts: Vec<String>,
    /// The household's base currency (ISO 4217): the rows and the trailing twelve months are
    /// in it, each day's income at that day's rate.
    pub currency: String,
    pub end: NaiveDate,
    pub rows: Vec<IncomeRow>,
    /// Income of the twelve months ending on `end`.
    pub trailing_twelve_months: String,
    /// The cost basis of the positions open at `end`, in US dollars (as lots are kept).
    pub cost_basis: String,
    /// The twelve months' income over the cost basis, both in US dollars; absent without a
    /// cost basis.
    pub yield_on_cost: Option<String>,
}

/// The income asked for (the request's benchmark and timing do not matter here), per month or
/// year, from `from` when given.
pub async fn income(db: &Db, request: &Request, grouping: Grouping, now: DateTime<Utc>) -> Result<Income, ReportError> {
    let Loaded { key, accounts, end, ledger, history: usd, closes, base } = load(db, request, now).await?;
    let history = in_base(&usd, &closes, &base)?;
    let counted: Vec<&Valuation> = history.iter().filter(|d| request.from.is_none_or(|f| d.date >= f)).collect();
    let months = income_by_month(&counted.into_iter().copied().collect::<Vec<_>>());
    let mut sums: Vec<(String, [Decimal; 3])> = Vec::new();
    for (year, month, q, o, i) in months {
        let period = match grouping {
            Grouping::Month => format!("{year:04}-{month:02}"),
            Grouping::Year => format!("{year:04}"),
        };
        match sums.last_mut() {
            Some((last, [lq, lo, li])) if *last == period => {
                *lq += q;
                *lo += o;
                *li += i;
            }
            _ => sums.push((period, [q, o, i])),
        }
    }
    let rows = sums
        .into_iter()
        .map(|(period, [q, o, i])| IncomeRow {
            period,
            qualified_dividends: money(q),
            ordinary_dividends: money(o),
            interest: money(i),
            total: money(q + o + i),
        })
        .collect();
    let year_ago = end.with_year(end.year() - 1).unwrap_or(end - chrono::Duration::days(365));
    let ttm: Decimal = history.iter().filter(|d| d.date > year_ago).map(Valuation::income).sum();
    let book = ledger.book(Some(end)).map_err(anyhow::Error::from)?;
    let basis: Decimal = book.lots.iter().filter(|l| accounts.contains(&l.account)).map(|l| l.basis).sum();
    // In dollars, as the lots' basis is: the income of each day at its own rate.
    let ttm_usd: Decimal = usd.iter().filter(|d| d.date > year_ago).map(Valuation::income).sum();
    let yield_on_cost = (basis > Decimal::ZERO).then(|| rate(ttm_usd / basis));
    Ok(Income {
        household: key,
        accounts,
        currency: base,
        end,
        rows,
        trailing_twelve_months: money(ttm),
        cost_basis: money(basis),
        yield_on_cost,
    })
}

impl Income {
    /// The rows as a report (`cairn income --format table|csv`).
    pub fn report(&self) -> Report {
        let rows = self
            .rows
            .iter()
            .map(|r| {
                vec![
                    r.period.clone(),
                    r.qualified_dividends.clone(),
                    r.ordinary_dividends.clone(),
                    r.interest.clone(),
                    r.total.clone(),
                ]
            })
            .collect();
        let mut summary = vec![
            ("accounts", serde_json::json!(self.accounts)),
            ("end", serde_json::json!(self.end)),
            ("trailing_twelve_months", serde_json::json!(self.trailing_twelve_months)),
            ("cost_basis", serde_json::json!(self.cost_basis)),
        ];
        if self.currency != domain::fx::USD {
            summary.insert(2, ("currency", serde_json::json!(self.currency)));
        }
        if let Some(y) = &self.yield_on_cost {
            summary.push(("yield_on_cost", serde_json::json!(y)));
        }
        Report {
            name: "income",
            columns: vec!["period", "qualified_dividends", "ordinary_dividends", "interest", "total"],
            rows,
            totals: Vec::new(),
            summary,
        }
    }
}
