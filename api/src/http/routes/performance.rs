//! `GET /v1/households/{h}/performance`, `…/income` and `…/holdings`: [`queries::performance`]
//! and [`queries::holdings`] over HTTP, with the CLI's parameters (`cairn performance`, `cairn
//! income`, `cairn holdings`).

use axum::extract::{Path, State};
use axum::Json;
use chrono::{DateTime, Utc};
use domain::performance::periods::Blend;
use domain::performance::FlowTiming;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::households::{existed, reader, report_problem, Params, FOLLOWER};
use crate::http::auth::Principal;
use crate::http::authz::{self, Need};
use crate::http::problem::Problem;
use crate::http::query::{Age, Amount, Count, Day, Flag, Instant, Position, Query, Rate, Year};
use crate::http::AppState;
use event_store::EventStore as _;
use projections::query::records;
use queries::performance::{Grouping, Income, Performance, Request};

/// The words `flows` takes.
pub const FLOWS: &[&str] = &["start_of_day", "end_of_day"];
/// The words `by` takes: for income, and for performance.
pub const BY: &[&str] = &["month", "year"];
pub const BY_PERFORMANCE: &[&str] = &["asset_class"];

/// Query parameters of both endpoints (`benchmark` and `flows` for performance, `by` for
/// income).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerformanceParams {
    pub as_of: Option<Instant>,
    pub min_position: Option<Position>,
    pub account: Option<String>,
    pub portfolio: Option<String>,
    pub from: Option<Day>,
    pub to: Option<Day>,
    pub benchmark: Option<String>,
    pub flows: Option<String>,
    pub by: Option<String>,
}

/// An answer: the position of the log it reflects, the instant of an as-of replay, and the
/// figures.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PerformanceAnswer {
    pub position: u64,
    pub as_of: Option<DateTime<Utc>>,
    #[serde(flatten)]
    pub performance: Performance,
}

/// See [`PerformanceAnswer`].
#[derive(Debug, Serialize, JsonSchema)]
pub struct IncomeAnswer {
    pub position: u64,
    pub as_of: Option<DateTime<Utc>>,
    #[serde(flatten)]
    pub income: Income,
}

fn refuse(given: bool, name: &str) -> Result<(), Problem> {
    if given {
        return Err(Problem::field(name, format!("{name}: this endpoint does not take it")));
    }
    Ok(())
}

/// The request, read models caught up, and the instant "today" is taken at.
async fn prepare(
    state: &AppState,
    p: &Principal,
    household: &str,
    params: &PerformanceParams,
    benchmark: Option<Blend>,
    timing: FlowTiming,
) -> Result<(queries::read::Reader, Request, u64, DateTime<Utc>), Problem> {
    let base = Params { as_of: params.as_of, min_position: params.min_position, ..Params::default() };
    let (key, reader, position) =
        plain_read(state, p, household, &base, "performance", &["prices", "holdings", "valuation_history"]).await?;
    let request = Request {
        household: key,
        account: params.account.clone(),
        portfolio: params.portfolio.clone(),
        from: params.from.map(|d| d.0),
        to: params.to.map(|d| d.0),
        benchmark,
        timing,
        by_asset_class: false,
    };
    let now = reader.instant().unwrap_or_else(Utc::now);
    Ok((reader, request, position, now))
}

pub async fn performance(
    State(state): State<AppState>,
    p: Principal,
    Path(household): Path<String>,
    Query(params): Query<PerformanceParams>,
) -> Result<Json<PerformanceAnswer>, Problem> {
    let by_asset_class = match params.by.as_deref() {
        None => false,
        Some("asset_class") => true,
        Some(other) => {
            return Err(Problem::field("by", format!("by: {other:?} is not {}", BY_PERFORMANCE.join(" or "))))
        }
    };
    let benchmark = params
        .benchmark
        .as_deref()
        .map(|b| b.parse::<Blend>().map_err(|e| Problem::field("benchmark", format!("benchmark: {e}"))))
        .transpose()?;
    let timing = match params.flows.as_deref() {
        None | Some("start_of_day") => FlowTiming::StartOfDay,
        Some("end_of_day") => FlowTiming::EndOfDay,
        Some(other) => {
            return Err(Problem::field("flows", format!("flows: {other:?} is not start_of_day or end_of_day")));
        }
    };
    let (reader, mut request, position, now) = prepare(&state, &p, &household, &params, benchmark, timing).await?;
    request.by_asset_class = by_asset_class;
    let performance = queries::performance::performance(&reader.db, &request, now).await.map_err(report_problem)?;
    Ok(Json(PerformanceAnswer { position, as_of: reader.instant(), performance }))
}

pub async fn income(
    State(state): State<AppState>,
    p: Principal,
    Path(household): Path<String>,
    Query(params): Query<PerformanceParams>,
) -> Result<Json<IncomeAnswer>, Problem> {
    refuse(params.benchmark.is_some(), "benchmark")?;
    refuse(params.flows.is_some(), "flows")?;
    let grouping = match params.by.as_deref() {
        None | Some("month") => Grouping::Month,
        Some("year") => Grouping::Year,
        Some(other) => return Err(Problem::field("by", format!("by: {other:?} is not month or year"))),
    };
    let (reader, request, position, now) =
        prepare(&state, &p, &household, &params, None, FlowTiming::StartOfDay).await?;
    let income = queries::performance::income(&reader.db, &request, grouping, now).await.map_err(report_problem)?;
    Ok(Json(IncomeAnswer { position, as_of: reader.instant(), income }))
}

/// A read that takes only `as_of` and `min_position`: the household's key, a reader with
/// `projectors` caught up (the last one's checkpoint is the answer's position), to the log's
/// head when the household is not in the read models yet.
async fn plain_read(
    state: &AppState,
    p: &Principal,
    household: &str,
    params: &Params,
    what: &str,
    projectors: &[&str],
) -> Result<(String, queries::read::Reader, u64), Problem> {
    let key = authz::household(state, p, household, Need::Read, what).await?;
    for (name, given) in [
        ("year", params.year.is_some()),
        ("portfolio", params.portfolio.is_some()),
        ("from", params.from.is_some()),
        ("to", params.to.is_some()),
    ] {
        refuse(given, name)?;
    }
    let mut reader = reader(state, p, params).await?;
    existed(&reader, &key).await?;
    let min = params.min_position.map_or(0, |m| m.0);
    let mut position = 0;
    for projector in projectors {
        position = reader.at_least(projector, min, FOLLOWER).await.map_err(Problem::internal)?.checkpoint;
    }
    // "No ledger" must be the log's answer, not a projector's lag: a household the read models
    // do not know yet is read again once they reflect the head.
    let scope = [("household", Some(key.clone()))];
    let known = !records(&reader.db, &projections::holdings::HOUSEHOLDS, &scope).await?.is_empty();
    if !known && reader.instant().is_none() {
        let head = state.store.head().await?.map_or(0, |h| h.position);
        for projector in projectors {
            position = reader.at_least(projector, head, FOLLOWER).await.map_err(Problem::internal)?.checkpoint;
        }
    }
    Ok((key, reader, position))
}

/// See [`queries::holdings::Holdings`].
#[derive(Debug, Serialize, JsonSchema)]
pub struct HoldingsAnswer {
    pub position: u64,
    pub as_of: Option<DateTime<Utc>>,
    #[serde(flatten)]
    pub holdings: queries::holdings::Holdings,
}

pub async fn holdings(
    State(state): State<AppState>,
    p: Principal,
    Path(household): Path<String>,
    Query(params): Query<Params>,
) -> Result<Json<HoldingsAnswer>, Problem> {
    let (key, reader, position) =
        plain_read(&state, &p, &household, &params, "holdings", &["prices", "holdings"]).await?;
    if projections::holdings::ledger_of(&reader.db, &key).await?.is_none() {
        return Err(report_problem(queries::ledger::ReportError::NoLedger(key)));
    }
    let holdings = queries::holdings::holdings(&reader.db, &key).await?;
    Ok(Json(HoldingsAnswer { position, as_of: reader.instant(), holdings }))
}

/// See [`queries::balances::Balances`].
#[derive(Debug, Serialize, JsonSchema)]
pub struct BalancesAnswer {
    pub position: u64,
    pub as_of: Option<DateTime<Utc>>,
    #[serde(flatten)]
    pub balances: queries::balances::Balances,
}

pub async fn balances(
    State(state): State<AppState>,
    p: Principal,
    Path(household): Path<String>,
    Query(params): Query<Params>,
) -> Result<Json<BalancesAnswer>, Problem> {
    let (key, reader, position) = plain_read(&state, &p, &household, &params, "balances", &["holdings"]).await?;
    let balances = queries::balances::check(&reader.db, &key).await.map_err(report_problem)?;
    Ok(Json(BalancesAnswer { position, as_of: reader.instant(), balances }))
}

/// `GET /v1/prices/{symbol}/indicators`'s parameters.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndicatorParams {
    pub as_of: Option<Instant>,
    pub min_position: Option<Position>,
    /// Specs, comma-separated: `rsi:14,sma:20`.
    pub indicator: Option<String>,
    pub from: Option<Day>,
    pub to: Option<Day>,
}

/// Technical indicators over a symbol's closes, and the position of the log they reflect.
#[derive(Debug, Serialize, JsonSchema)]
pub struct IndicatorsAnswer {
    pub position: u64,
    pub as_of: Option<DateTime<Utc>>,
    #[serde(flatten)]
    pub indicators: queries::market::Indicators,
}

pub async fn indicators(
    State(state): State<AppState>,
    p: Principal,
    Path(symbol): Path<String>,
    Query(params): Query<IndicatorParams>,
) -> Result<Json<IndicatorsAnswer>, Problem> {
    let base = Params { as_of: params.as_of, min_position: params.min_position, ..Params::default() };
    let mut reader = reader(&state, &p, &base).await?;
    let position =
        reader.at_least("prices", base.min_position(), FOLLOWER).await.map_err(Problem::internal)?.checkpoint;
    let specs: Vec<String> = params
        .indicator
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let indicators =
        queries::market::indicators(&reader.db, &symbol, &specs, params.from.map(|d| d.0), params.to.map(|d| d.0))
            .await
            .map_err(report_problem)?;
    Ok(Json(IndicatorsAnswer { position, as_of: reader.instant(), indicators }))
}

/// `GET /v1/prices/{symbol}/quality`'s parameters.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QualityParams {
    pub as_of: Option<Instant>,
    pub min_position: Option<Position>,
    pub from: Option<Day>,
    pub to: Option<Day>,
}

/// A symbol's data quality, and the position of the log it reflects.
#[derive(Debug, Serialize, JsonSchema)]
pub struct QualityAnswer {
    pub position: u64,
    pub as_of: Option<DateTime<Utc>>,
    #[serde(flatten)]
    pub quality: queries::market::Quality,
}

pub async fn quality(
    State(state): State<AppState>,
    p: Principal,
    Path(symbol): Path<String>,
    Query(params): Query<QualityParams>,
) -> Result<Json<QualityAnswer>, Problem> {
    let base = Params { as_of: params.as_of, min_position: params.min_position, ..Params::default() };
    let mut reader = reader(&state, &p, &base).await?;
    let position =
        reader.at_least("prices", base.min_position(), FOLLOWER).await.map_err(Problem::internal)?.checkpoint;
    let quality = queries::market::quality(&reader.db, &symbol, params.from.map(|d| d.0), params.to.map(|d| d.0))
        .await
        .map_err(report_problem)?;
    Ok(Json(QualityAnswer { position, as_of: reader.instant(), quality }))
}

/// `GET /v1/prices/{symbol}/ratios`'s parameters.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RatiosParams {
    /// The share price to use instead of the latest recorded close.
    pub price: Option<String>,
}

/// A company's financial ratios from a provider's fundamentals.
#[derive(Debug, Serialize, JsonSchema)]
pub struct RatiosAnswer {
    pub symbol: String,
    pub provider: String,
    pub price: Option<String>,
    pub price_date: Option<chrono::NaiveDate>,
    /// The figures the ratios came from (`domain::fundamentals::Fundamentals`).
    #[schemars(with = "serde_json::Value")]
    pub fundamentals: serde_json::Value,
    pub ratios: Vec<RatioAnswer>,
}

/// One ratio: its value to six decimals, the formula, and why it has no value.
#[derive(Debug, Serialize, JsonSchema)]
pub struct RatioAnswer {
    pub ratio: String,
    pub value: Option<String>,
    pub formula: String,
    pub reason: Option<String>,
}

pub async fn ratios(
    State(state): State<AppState>,
    p: Principal,
    Path(symbol): Path<String>,
    Query(params): Query<RatiosParams>,
) -> Result<Json<RatiosAnswer>, Problem> {
    let price = match params.price.as_deref() {
        None => None,
        Some(text) => Some(
            text.parse::<rust_decimal::Decimal>()
                .ok()
                .filter(|p| *p > rust_decimal::Decimal::ZERO)
                .ok_or_else(|| Problem::field("price", format!("{text:?} is not a price above 0")))?,
        ),
    };
    let selector = providers(&state)?;
    let mut reader = reader(&state, &p, &Params::default()).await?;
    reader.at_least("prices", 0, FOLLOWER).await.map_err(Problem::internal)?;
    let answer = workers::market::ratios::company(&selector, &reader.db, &symbol, price).await.map_err(asked)?;
    Ok(Json(RatiosAnswer {
        symbol: answer.symbol,
        provider: answer.provider,
        price: answer.price,
        price_date: answer.price_date,
        fundamentals: serde_json::to_value(&answer.fundamentals).map_err(Problem::internal)?,
        ratios: answer
            .ratios
            .into_iter()
            .map(|r| RatioAnswer {
                ratio: r.ratio.to_owned(),
                value: r.value,
                formula: r.formula.to_owned(),
                reason: r.reason,
            })
            .collect(),
    }))
}

/// `GET /v1/prices/{symbol}/actions`'s parameters.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionsParams {
    pub from: Option<Day>,
    pub to: Option<Day>,
}

/// Splits and dividends a provider reports, as suggestions for the households holding the
/// symbol.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ActionsAnswer {
    pub symbol: String,
    pub from: chrono::NaiveDate,
    pub to: chrono::NaiveDate,
    pub suggestions: Vec<workers::market::actions::Suggestion>,
}

pub async fn actions(
    State(state): State<AppState>,
    p: Principal,
    Path(symbol): Path<String>,
    Query(params): Query<ActionsParams>,
) -> Result<Json<ActionsAnswer>, Problem> {
    let to = params.to.map_or_else(|| Utc::now().date_naive(), |d| d.0);
    let from = params.from.map_or_else(|| to - chrono::Duration::days(365), |d| d.0);
    if from > to {
        return Err(Problem::field("from", format!("{from} is after to, {to}")));
    }
    let selector = providers(&state)?;
    let mut reader = reader(&state, &p, &Params::default()).await?;
    reader.at_least("holdings", 0, FOLLOWER).await.map_err(Problem::internal)?;
    let mut suggestions =
        workers::market::actions::suggestions(&selector, &reader.db, &symbol, from, to).await.map_err(asked)?;
    // Only the households this caller may see.
    suggestions.retain(|s| s.household.as_deref().is_none_or(|h| authz::may(&p, h, Need::Read)));
    Ok(Json(ActionsAnswer { symbol: symbol.trim().to_ascii_uppercase(), from, to, suggestions }))
}

/// `GET /v1/calendar/sessions`'s parameters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionsParams {
    pub from: Day,
    pub to: Day,
    /// `true`: the closed days too, with why.
    pub closed: Option<bool>,
}

/// The NYSE's sessions in a range.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SessionsAnswer {
    pub days: Vec<queries::calendar::Day>,
}

pub async fn sessions(_: Principal, Query(params): Query<SessionsParams>) -> Result<Json<SessionsAnswer>, Problem> {
    let days = queries::calendar::days(params.from.0, params.to.0, params.closed.unwrap_or(false))
        .map_err(|(field, problem)| Problem::field(field, format!("{field}: {problem}")))?;
    Ok(Json(SessionsAnswer { days }))
}

/// `GET /v1/calendar/next`'s parameters.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NextParams {
    /// An RFC 3339 instant; now by default.
    pub after: Option<String>,
}

pub async fn next_edge(
    _: Principal,
    Query(params): Query<NextParams>,
) -> Result<Json<queries::calendar::Next>, Problem> {
    let after = match params.after.as_deref() {
        None => Utc::now(),
        Some(text) => chrono::DateTime::parse_from_rfc3339(text)
            .map_err(|_| Problem::field("after", format!("after: {text:?} is not an RFC 3339 instant")))?
            .with_timezone(&Utc),
    };
    Ok(Json(queries::calendar::next(after)))
}

/// `GET /v1/prices/{symbol}/intraday`'s parameters.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntradayParams {
    /// The day; today in New York by default.
    pub date: Option<Day>,
    /// The window length in minutes (1 by default).
    pub minutes: Option<String>,
}

pub async fn intraday(
    State(state): State<AppState>,
    _: Principal,
    Path(symbol): Path<String>,
    Query(params): Query<IntradayParams>,
) -> Result<Json<workers::market::intraday::Day>, Problem> {
    let minutes = match params.minutes.as_deref() {
        None => 1,
        Some(text) => {
            text.parse::<u32>().map_err(|_| Problem::field("minutes", format!("{text:?} is not a whole number")))?
        }
    };
    let date = params.date.map_or_else(workers::market::intraday::today, |d| d.0);
    let selector = providers(&state)?;
    match workers::market::intraday::day(&selector, &symbol, date, minutes).await {
        Ok(day) => Ok(Json(day)),
        Err(workers::market::intraday::IntradayError::Invalid { field, problem }) => {
            Err(Problem::field(field, format!("{field}: {problem}")))
        }
        Err(workers::market::intraday::IntradayError::Exhausted(e)) => Err(asked(e.into())),
    }
}

/// The server's market data providers, or 409 `conflict` when none is configured (the
/// server's state, not an upstream failure).
fn providers(state: &AppState) -> Result<std::sync::Arc<workers::market::selector::Selector>, Problem> {
    state.market.selector.clone().ok_or_else(|| {
        Problem::new(
            crate::http::problem::ProblemKind::Conflict,
            "no market data providers are configured on this server: set CAIRN_PROVIDERS",
        )
    })
}

/// A question to the providers that got no answer: 502 `upstream`, or the read models' problem.
fn asked(e: workers::market::selector::AskError) -> Problem {
    match e {
        workers::market::selector::AskError::Exhausted(e) => {
            Problem::new(crate::http::problem::ProblemKind::Upstream, e.to_string())
        }
        workers::market::selector::AskError::Report(e) => report_problem(e),
    }
}

/// A household's goals and where each stands ([`queries::goals`]).
#[derive(Debug, Serialize, JsonSchema)]
pub struct GoalsAnswer {
    pub position: u64,
    pub as_of: Option<DateTime<Utc>>,
    pub household: String,
    /// The day the goals are assessed on: `as_of`'s day in New York, else today there.
    pub day: chrono::NaiveDate,
    pub goals: Vec<queries::goals::GoalProgress>,
}

pub async fn goals(
    State(state): State<AppState>,
    p: Principal,
    Path(household): Path<String>,
    Query(params): Query<Params>,
) -> Result<Json<GoalsAnswer>, Problem> {
    let (key, reader, position) = plain_read(&state, &p, &household, &params, "goals", &["holdings"]).await?;
    if projections::holdings::ledger_of(&reader.db, &key).await?.is_none() {
        return Err(report_problem(queries::ledger::ReportError::NoLedger(key)));
    }
    let day = reader.instant().map_or_else(workers::market::intraday::today, domain::calendar::new_york_day);
    let thresholds = commands::alerts::state(&state.commands, &key).await?.thresholds();
    let goals = queries::goals::progress(&reader.db, &key, day, &thresholds).await?;
    Ok(Json(GoalsAnswer { position, as_of: reader.instant(), household: key, day, goals }))
}

/// A household's standing instructions ([`queries::recurring`]).
#[derive(Debug, Serialize, JsonSchema)]
pub struct RecurringAnswer {
    pub position: u64,
    pub as_of: Option<DateTime<Utc>>,
    pub household: String,
    /// The day asked: `as_of`'s day in New York, else today there.
    pub day: chrono::NaiveDate,
    pub recurring: Vec<queries::recurring::Upcoming>,
}

pub async fn recurring(
    State(state): State<AppState>,
    p: Principal,
    Path(household): Path<String>,
    Query(params): Query<Params>,
) -> Result<Json<RecurringAnswer>, Problem> {
    let (key, reader, position) = plain_read(&state, &p, &household, &params, "recurring", &["holdings"]).await?;
    let Some(ledger) = projections::holdings::ledger_of(&reader.db, &key).await? else {
        return Err(report_problem(queries::ledger::ReportError::NoLedger(key)));
    };
    let day = reader.instant().map_or_else(workers::market::intraday::today, domain::calendar::new_york_day);
    let recurring = queries::recurring::upcoming(&ledger, day);
    Ok(Json(RecurringAnswer { position, as_of: reader.instant(), household: key, day, recurring }))
}

/// The filing statuses `status` takes.
pub const STATUSES: &[&str] = &[
    "single",
    "married_filing_jointly",
    "married_filing_separately",
    "head_of_household",
    "qualifying_surviving_spouse",
];

/// `GET /v1/households/{household}/tax/estimate`'s parameters (`cairn tax estimate`'s options).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaxParams {
    pub year: Option<Year>,
    pub wages: Option<Amount>,
    pub other_income: Option<Amount>,
    pub itemized: Option<Amount>,
    pub status: Option<String>,
    pub seniors: Option<Count>,
    pub blind: Option<Count>,
    pub carryover_short: Option<Amount>,
    pub carryover_long: Option<Amount>,
    pub as_of: Option<Instant>,
    pub min_position: Option<Position>,
}

/// See [`queries::tax::TaxEstimate`].
#[derive(Debug, Serialize, JsonSchema)]
pub struct TaxAnswer {
    pub position: u64,
    pub as_of: Option<DateTime<Utc>>,
    #[serde(flatten)]
    pub estimate: queries::tax::TaxEstimate,
}

pub async fn tax_estimate(
    State(state): State<AppState>,
    p: Principal,
    Path(household): Path<String>,
    Query(params): Query<TaxParams>,
) -> Result<Json<TaxAnswer>, Problem> {
    let base = Params { as_of: params.as_of, min_position: params.min_position, ..Params::default() };
    let (key, reader, position) = plain_read(&state, &p, &household, &base, "tax estimate", &["holdings"]).await?;
    let year = params.year.ok_or_else(|| Problem::field("year", "year: required (a tax year, 2024 to 2026)"))?.0;
    let status = params
        .status
        .as_deref()
        .map(|s| s.parse().map_err(|e: String| Problem::field("status", format!("status: {e}"))))
        .transpose()?;
    let amount = |a: Option<Amount>| a.map(|a| a.0);
    let given = queries::tax::Given {
        wages: amount(params.wages).unwrap_or_default(),
        other_income: amount(params.other_income).unwrap_or_default(),
        itemized: amount(params.itemized).unwrap_or_default(),
        status,
        seniors: params.seniors.map(|c| c.0),
        blind: params.blind.map_or(0, |c| c.0),
        carryover_short: amount(params.carryover_short),
        carryover_long: amount(params.carryover_long),
    };
    let estimate = queries::tax::estimate(&reader.db, &key, year, &given).await.map_err(report_problem)?;
    Ok(Json(TaxAnswer { position, as_of: reader.instant(), estimate }))
}

/// `GET /v1/households/{household}/estate/tax`'s parameters (`cairn estate tax`'s plan).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EstateParams {
    pub year: Option<Year>,
    pub share: Option<Rate>,
    pub other_assets: Option<Amount>,
    pub other_liquid: Option<Amount>,
    pub debts: Option<Amount>,
    pub expenses: Option<Amount>,
    pub charitable: Option<Amount>,
    pub to_spouse: Option<Amount>,
    pub spouse_citizen: Option<Flag>,
    pub qdot: Option<Flag>,
    pub adjusted_taxable_gifts: Option<Amount>,
    pub gift_tax_paid: Option<Amount>,
    pub dsue: Option<Amount>,
    pub to_skip_persons: Option<Amount>,
    pub death_of: Option<String>,
    pub domicile: Option<String>,
    pub as_of: Option<Instant>,
    pub min_position: Option<Position>,
}

/// See [`queries::estate::EstateAnswer`].
#[derive(Debug, Serialize, JsonSchema)]
pub struct EstateTaxAnswer {
    pub position: u64,
    pub as_of: Option<DateTime<Utc>>,
    #[serde(flatten)]
    pub estate: queries::estate::EstateAnswer,
}

pub async fn estate_tax(
    State(state): State<AppState>,
    p: Principal,
    Path(household): Path<String>,
    Query(params): Query<EstateParams>,
) -> Result<Json<EstateTaxAnswer>, Problem> {
    let base = Params { as_of: params.as_of, min_position: params.min_position, ..Params::default() };
    let (key, reader, position) = plain_read(&state, &p, &household, &base, "estate tax", &["holdings"]).await?;
    let amount = |a: Option<Amount>| a.map(|a| a.0).unwrap_or_default();
    let assumptions = queries::estate::Assumptions {
        year: params.year.map(|y| y.0),
        share: params.share.map(|r| r.0),
        other_assets: amount(params.other_assets),
        other_liquid: amount(params.other_liquid),
        debts: amount(params.debts),
        expenses: amount(params.expenses),
        charitable: amount(params.charitable),
        to_spouse: amount(params.to_spouse),
        spouse_citizen: params.spouse_citizen.map(|f| f.0),
        qdot: params.qdot.is_some_and(|f| f.0),
        adjusted_taxable_gifts: amount(params.adjusted_taxable_gifts),
        gift_tax_paid: amount(params.gift_tax_paid),
        dsue: amount(params.dsue),
        to_skip_persons: amount(params.to_skip_persons),
        death_of: params.death_of.filter(|d| !d.trim().is_empty()),
        domicile: params.domicile.filter(|d| !d.trim().is_empty()),
        ..queries::estate::Assumptions::default()
    };
    let today = reader.instant().map_or_else(workers::market::intraday::today, domain::calendar::new_york_day);
    let estate = queries::estate::tax(&reader.db, &key, today, &assumptions).await.map_err(report_problem)?;
    Ok(Json(EstateTaxAnswer { position, as_of: reader.instant(), estate }))
}

/// `GET /v1/households/{household}/estate/gifts`'s parameters.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EstateGiftsParams {
    pub donor: Option<String>,
    pub as_of: Option<Instant>,
    pub min_position: Option<Position>,
}

/// See [`queries::estate::GiftsAnswer`].
#[derive(Debug, Serialize, JsonSchema)]
pub struct EstateGiftsAnswer {
    pub position: u64,
    pub as_of: Option<DateTime<Utc>>,
    #[serde(flatten)]
    pub gifts: queries::estate::GiftsAnswer,
}

pub async fn estate_gifts(
    State(state): State<AppState>,
    p: Principal,
    Path(household): Path<String>,
    Query(params): Query<EstateGiftsParams>,
) -> Result<Json<EstateGiftsAnswer>, Problem> {
    let base = Params { as_of: params.as_of, min_position: params.min_position, ..Params::default() };
    let (key, reader, position) = plain_read(&state, &p, &household, &base, "lifetime gifts", &["holdings"]).await?;
    let donor = params.donor.as_deref().filter(|d| !d.trim().is_empty());
    let assumptions = queries::estate::Assumptions::default();
    let today = reader.instant().map_or_else(workers::market::intraday::today, domain::calendar::new_york_day);
    let gifts = queries::estate::gifts(&reader.db, &key, donor, &assumptions, today).await.map_err(report_problem)?;
    Ok(Json(EstateGiftsAnswer { position, as_of: reader.instant(), gifts }))
}

/// See [`queries::estate::EntitiesAnswer`].
#[derive(Debug, Serialize, JsonSchema)]
pub struct EntitiesAnswer {
    pub position: u64,
    pub as_of: Option<DateTime<Utc>>,
    #[serde(flatten)]
    pub entities: queries::estate::EntitiesAnswer,
}

pub async fn estate_entities(
    State(state): State<AppState>,
    p: Principal,
    Path(household): Path<String>,
    Query(params): Query<Params>,
) -> Result<Json<EntitiesAnswer>, Problem> {
    let (key, reader, position) = plain_read(&state, &p, &household, &params, "entities", &["holdings"]).await?;
    let entities = queries::estate::entity_views(&reader.db, &key).await.map_err(report_problem)?;
    Ok(Json(EntitiesAnswer { position, as_of: reader.instant(), entities }))
}

/// `GET /v1/households/{household}/estate/strategies`'s parameters.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StrategiesParams {
    pub years: Option<Year>,
    pub growth: Option<Rate>,
    pub inflation: Option<Rate>,
    pub married: Option<Flag>,
    pub donees: Option<Year>,
    pub domicile: Option<String>,
    pub rate: Option<Rate>,
    pub grat_share: Option<Rate>,
    pub clat_share: Option<Rate>,
    pub clat_years: Option<Year>,
    pub distributions: Option<Rate>,
    pub as_of: Option<Instant>,
    pub min_position: Option<Position>,
}

/// See [`queries::estate::StrategiesAnswer`].
#[derive(Debug, Serialize, JsonSchema)]
pub struct StrategiesAnswer {
    pub position: u64,
    pub as_of: Option<DateTime<Utc>>,
    #[serde(flatten)]
    pub strategies: queries::estate::StrategiesAnswer,
}

pub async fn estate_strategies(
    State(state): State<AppState>,
    p: Principal,
    Path(household): Path<String>,
    Query(params): Query<StrategiesParams>,
) -> Result<Json<StrategiesAnswer>, Problem> {
    let base = Params { as_of: params.as_of, min_position: params.min_position, ..Params::default() };
    let (key, reader, position) = plain_read(&state, &p, &household, &base, "estate strategies", &["holdings"]).await?;
    let count = |field: &'static str, y: Option<Year>| {
        y.map(|y| u32::try_from(y.0).map_err(|_| Problem::field(field, "must be a whole number"))).transpose()
    };
    let input = queries::estate::StrategiesInput {
        estate: None,
        years: count("years", params.years)?,
        growth: params.growth.map(|r| r.0),
        inflation: params.inflation.map(|r| r.0),
        married: params.married.map(|f| f.0),
        donees: count("donees", params.donees)?,
        domicile: params.domicile.filter(|d| !d.trim().is_empty()),
        rate: params.rate.map(|r| r.0),
        grat_share: params.grat_share.map(|r| r.0),
        clat_share: params.clat_share.map(|r| r.0),
        clat_years: count("clat_years", params.clat_years)?,
        distributions: params.distributions.map(|r| r.0),
    };
    let today = reader.instant().map_or_else(workers::market::intraday::today, domain::calendar::new_york_day);
    let strategies = queries::estate::strategies(&reader.db, &key, today, &input).await.map_err(report_problem)?;
    Ok(Json(StrategiesAnswer { position, as_of: reader.instant(), strategies }))
}

/// `GET /v1/households/{household}/estate/education`'s parameters: one beneficiary.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EducationParams {
    pub name: Option<String>,
    pub cost_today: Option<Amount>,
    pub enrolment: Option<Year>,
    pub years: Option<Year>,
    pub account: Option<String>,
    pub balance: Option<Amount>,
    pub monthly: Option<Amount>,
    pub inflation: Option<Rate>,
    pub expected_return: Option<Rate>,
    pub volatility: Option<Rate>,
    pub probability: Option<Rate>,
    pub utma: Option<Amount>,
    pub utma_yield: Option<Rate>,
    pub parent_rate: Option<Rate>,
    pub qualified_expenses: Option<Amount>,
    pub magi: Option<Amount>,
    pub status: Option<String>,
    pub state: Option<String>,
    pub state_rate: Option<Rate>,
    pub as_of: Option<Instant>,
    pub min_position: Option<Position>,
}

/// See [`queries::education::EducationAnswer`].
#[derive(Debug, Serialize, JsonSchema)]
pub struct EducationAnswer {
    pub position: u64,
    #[serde(flatten)]
    pub education: queries::education::EducationAnswer,
}

pub async fn education(
    State(state): State<AppState>,
    p: Principal,
    Path(household): Path<String>,
    Query(params): Query<EducationParams>,
) -> Result<Json<EducationAnswer>, Problem> {
    let base = Params { as_of: params.as_of, min_position: params.min_position, ..Params::default() };
    let (key, reader, position) = plain_read(&state, &p, &household, &base, "education funding", &["holdings"]).await?;
    let filing_status =
        params.status.as_deref().map(str::parse).transpose().map_err(|e: String| Problem::field("status", e))?;
    let years =
        params.years.map(|y| u32::try_from(y.0).map_err(|_| Problem::field("years", "must be 1 to 10"))).transpose()?;
    // No cost asked: no beneficiary, only the credits when `magi` is given.
    let beneficiaries = match (params.cost_today, params.enrolment) {
        (None, None) => Vec::new(),
        (Some(cost), Some(enrolment)) => vec![queries::education::Beneficiary {
            name: params.name.unwrap_or_else(|| "beneficiary".into()),
            cost_today: cost.0,
            enrolment: enrolment.0,
            years,
            account: params.account,
            balance: params.balance.map(|a| a.0),
            monthly: params.monthly.map(|a| a.0).unwrap_or_default(),
            inflation: params.inflation.map(|r| r.0),
            expected_return: params.expected_return.map(|r| r.0),
            volatility: params.volatility.map(|r| r.0),
            probability: params.probability.map(|r| r.0),
            utma: params.utma.map(|a| a.0),
            utma_yield: params.utma_yield.map(|r| r.0),
        }],
        (None, Some(_)) => return Err(Problem::field("cost_today", "give cost_today with enrolment")),
        (Some(_), None) => return Err(Problem::field("enrolment", "give enrolment with cost_today")),
    };
    let plan = queries::education::Plan {
        beneficiaries,
        qualified_expenses: params.qualified_expenses.map(|a| a.0),
        magi: params.magi.map(|a| a.0),
        filing_status,
        state: params.state.filter(|st| !st.trim().is_empty()),
        state_rate: params.state_rate.map(|r| r.0),
        parent_rate: params.parent_rate.map(|r| r.0),
    };
    let today = reader.instant().map_or_else(workers::market::intraday::today, domain::calendar::new_york_day);
    let accounts = queries::plan::account_values(&reader.db, &key).await.map_err(report_problem)?;
    // The Monte Carlo estimates are CPU work: off the runtime's threads.
    let education = tokio::task::spawn_blocking(move || queries::education::plan(&accounts, Some(&key), today, &plan))
        .await
        .map_err(Problem::internal)?
        .map_err(report_problem)?;
    Ok(Json(EducationAnswer { position, education }))
}

/// `GET /v1/estate/grat`'s parameters (`cairn estate grat`'s options).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GratParams {
    pub funding: Option<Amount>,
    pub years: Option<Year>,
    pub rate: Option<Rate>,
    pub month: Option<String>,
    pub afr_120: Option<Rate>,
    pub step_up: Option<Rate>,
    pub payment: Option<Amount>,
    pub expected_return: Option<Rate>,
    pub volatility: Option<Rate>,
}

pub async fn grat(
    _: Principal,
    Query(params): Query<GratParams>,
) -> Result<Json<queries::estate::GratAnswer>, Problem> {
    let years = params.years.ok_or_else(|| Problem::field("years", "the term in years is required"))?.0;
    let input = queries::estate::GratInput {
        funding: params.funding.ok_or_else(|| Problem::field("funding", "the funding is required"))?.0,
        years: u32::try_from(years).map_err(|_| Problem::field("years", "must be 1 to 50"))?,
        rate: params.rate.map(|r| r.0),
        month: params.month,
        afr_120: params.afr_120.map(|r| r.0),
        step_up: params.step_up.map(|r| r.0).unwrap_or_default(),
        payment: params.payment.map(|a| a.0),
        expected_return: params.expected_return.map(|r| r.0),
        volatility: params.volatility.map(|r| r.0),
    };
    // The paths are CPU work: off the runtime's threads.
    let answer = tokio::task::spawn_blocking(move || queries::estate::grat(&input))
        .await
        .map_err(Problem::internal)?
        .map_err(report_problem)?;
    Ok(Json(answer))
}

/// A charitable trust's kinds, timings, payments a year and months to a first payment, as
/// `GET /v1/estate/charitable` takes them.
pub const CHARITABLE_KINDS: &[&str] = &["crat", "crut", "clat", "clut"];
pub const TIMINGS: &[&str] = &["end", "beginning"];
pub const FREQUENCIES: &[&str] = &["1", "2", "4", "12"];
pub const MONTHS: &[&str] = &["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12"];

/// `GET /v1/estate/charitable`'s parameters (`cairn estate charitable`'s options).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CharitableParams {
    pub kind: Option<String>,
    pub funding: Option<Amount>,
    pub payout_rate: Option<Rate>,
    pub payment: Option<Amount>,
    pub years: Option<Year>,
    pub age: Option<Age>,
    pub age2: Option<Age>,
    pub rate: Option<Rate>,
    pub month: Option<String>,
    pub afr_120: Option<Rate>,
    pub frequency: Option<String>,
    pub timing: Option<String>,
    pub months_to_first: Option<String>,
}

pub async fn charitable(
    _: Principal,
    Query(params): Query<CharitableParams>,
) -> Result<Json<queries::estate::CharitableAnswer>, Problem> {
    let parsed = |field: &'static str, text: Option<&str>| -> Result<Option<u32>, Problem> {
        text.map(|t| t.parse::<u32>().map_err(|_| Problem::field(field, format!("{t:?} is not a whole number"))))
            .transpose()
    };
    let kind = params.kind.as_deref().ok_or_else(|| Problem::field("kind", "crat, crut, clat or clut is required"))?;
    let input = queries::estate::CharitableInput {
        kind: kind.parse().map_err(|e: String| Problem::field("kind", e))?,
        funding: params.funding.ok_or_else(|| Problem::field("funding", "the funding is required"))?.0,
        payout_rate: params.payout_rate.map(|r| r.0),
        payment: params.payment.map(|a| a.0),
        years: params
            .years
            .map(|y| u32::try_from(y.0).map_err(|_| Problem::field("years", "must be 1 to 100")))
            .transpose()?,
        age: params.age.map(|a| a.0),
        age2: params.age2.map(|a| a.0),
        rate: params.rate.map(|r| r.0),
        month: params.month,
        afr_120: params.afr_120.map(|r| r.0),
        frequency: parsed("frequency", params.frequency.as_deref())?,
        timing: params
            .timing
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(|e: String| Problem::field("timing", e))?
            .unwrap_or_default(),
        months_to_first: parsed("months_to_first", params.months_to_first.as_deref())?,
    };
    Ok(Json(queries::estate::charitable(&input).map_err(report_problem)?))
}

/// `GET /v1/estate/philanthropy`'s parameters (`cairn estate philanthropy`'s options).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhilanthropyParams {
    pub income: Option<Amount>,
    pub income_growth: Option<Rate>,
    pub status: Option<String>,
    pub other_itemized: Option<Amount>,
    pub annual: Option<Amount>,
    pub property: Option<String>,
    pub basis: Option<Rate>,
    pub years: Option<Year>,
    pub start: Option<Year>,
    pub bunch: Option<Year>,
    pub investment_return: Option<Rate>,
}

pub const PROPERTIES: &[&str] = &["cash", "appreciated"];

pub async fn philanthropy(
    _: Principal,
    Query(params): Query<PhilanthropyParams>,
) -> Result<Json<queries::philanthropy::GivingAnswer>, Problem> {
    let small = |field: &'static str, y: Option<Year>| {
        y.map(|y| u32::try_from(y.0).map_err(|_| Problem::field(field, "must be a whole number of years"))).transpose()
    };
    let input = queries::philanthropy::GivingInput {
        income: params.income.ok_or_else(|| Problem::field("income", "the first year's income is required"))?.0,
        income_growth: params.income_growth.map(|r| r.0),
        status: params
            .status
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(|e: String| Problem::field("status", e))?
            .unwrap_or(domain::ledger::types::FilingStatus::MarriedFilingJointly),
        other_itemized: params.other_itemized.map(|a| a.0).unwrap_or_default(),
        annual: params.annual.ok_or_else(|| Problem::field("annual", "the yearly gift is required"))?.0,
        property: params
            .property
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(|e: String| Problem::field("property", e))?
            .unwrap_or_default(),
        basis: params.basis.map(|r| r.0),
        years: small("years", params.years)?,
        start: params.start.map(|y| y.0),
        bunch: small("bunch", params.bunch)?,
        investment_return: params.investment_return.map(|r| r.0),
    };
    let this_year = chrono::Datelike::year(&workers::market::intraday::today());
    Ok(Json(queries::philanthropy::plan(&input, this_year).map_err(report_problem)?))
}

/// `POST /v1/estate/succession`: a business valued and its succession paths compared (nothing
/// is recorded).
pub async fn succession(
    _: Principal,
    crate::http::problem::Body(body): crate::http::problem::Body<serde_json::Value>,
) -> Result<Json<queries::estate::SuccessionAnswer>, Problem> {
    // Read apart from the JSON so a value out of range or of the wrong kind is a 422 naming
    // its field, as the planners' other checks are.
    let plan: queries::estate::SuccessionPlan = serde_path_to_error::deserialize(body).map_err(|e| {
        let field = e.path().to_string();
        Problem::field(&field, format!("{field}: {}", e.into_inner()))
    })?;
    let this_year = chrono::Datelike::year(&workers::market::intraday::today());
    Ok(Json(queries::estate::succession(&plan, this_year).map_err(report_problem)?))
}

/// `GET /v1/households/{household}/tax/schedule-d`'s parameters.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleDParams {
    pub year: Option<Year>,
    pub as_of: Option<Instant>,
    pub min_position: Option<Position>,
}

/// See [`queries::tax::ScheduleD`].
#[derive(Debug, Serialize, JsonSchema)]
pub struct ScheduleDAnswer {
    pub position: u64,
    pub as_of: Option<DateTime<Utc>>,
    #[serde(flatten)]
    pub schedule: queries::tax::ScheduleD,
}

pub async fn tax_schedule_d(
    State(state): State<AppState>,
    p: Principal,
    Path(household): Path<String>,
    Query(params): Query<ScheduleDParams>,
) -> Result<Json<ScheduleDAnswer>, Problem> {
    let base = Params { as_of: params.as_of, min_position: params.min_position, ..Params::default() };
    let (key, reader, position) =
        plain_read(&state, &p, &household, &base, "schedule d", &["prices", "holdings"]).await?;
    let year = params.year.ok_or_else(|| Problem::field("year", "year: required (a tax year, 2024 to 2026)"))?.0;
    let schedule = queries::tax::schedule_d(&reader.db, &key, year).await.map_err(report_problem)?;
    Ok(Json(ScheduleDAnswer { position, as_of: reader.instant(), schedule }))
}

/// `GET /v1/households/{household}/portfolios/{portfolio}/rebalance`'s parameters (`cairn
/// portfolio rebalance`'s options; the trade date is today in New York, or the day of `as_of`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RebalanceParams {
    pub cash: Option<Amount>,
    pub cash_account: Option<String>,
    pub short_term: Option<Flag>,
    pub wages: Option<Amount>,
    pub as_of: Option<Instant>,
    pub min_position: Option<Position>,
}

/// See [`queries::rebalance::Rebalance`].
#[derive(Debug, Serialize, JsonSchema)]
pub struct RebalanceAnswer {
    pub position: u64,
    pub as_of: Option<DateTime<Utc>>,
    #[serde(flatten)]
    pub rebalance: queries::rebalance::Rebalance,
}

pub async fn rebalance(
    State(state): State<AppState>,
    p: Principal,
    Path((household, portfolio)): Path<(String, String)>,
    Query(params): Query<RebalanceParams>,
) -> Result<Json<RebalanceAnswer>, Problem> {
    let base = Params { as_of: params.as_of, min_position: params.min_position, ..Params::default() };
    let (key, reader, position) =
        plain_read(&state, &p, &household, &base, "rebalance", &["prices", "holdings"]).await?;
    let request = queries::rebalance::RebalanceRequest {
        as_of: reader.instant().map_or_else(workers::market::intraday::today, domain::calendar::new_york_day),
        cash: params.cash.map(|a| a.0).unwrap_or_default(),
        cash_account: params.cash_account,
        short_term: params.short_term.is_some_and(|f| f.0),
        given: queries::tax::Given { wages: params.wages.map(|a| a.0).unwrap_or_default(), ..Default::default() },
    };
    let (rebalance, _) = proposal(&reader, &key, &household, &portfolio, &request).await?;
    Ok(Json(RebalanceAnswer { position, as_of: reader.instant(), rebalance }))
}

/// The portfolio's proposal and its rows; 404 for a portfolio the household does not have.
async fn proposal(
    reader: &queries::read::Reader,
    key: &str,
    household: &str,
    portfolio: &str,
    request: &queries::rebalance::RebalanceRequest,
) -> Result<(queries::rebalance::Rebalance, Vec<domain::ledger::RowInput>), Problem> {
    queries::rebalance::rebalance(&reader.db, key, &domain::ledger::household_key(portfolio), request)
        .await
        .map_err(report_problem)?
        .ok_or_else(|| {
            Problem::new(
                crate::http::problem::ProblemKind::NotFound,
                format!("no portfolio {portfolio:?} in household {household:?}"),
            )
        })
}

/// `POST /v1/households/{household}/portfolios/{portfolio}/rebalance`: today's proposal, to
/// book (the options of the proposal's `GET`).
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RebalanceBody {
    /// New money to invest, in dollars.
    #[serde(default)]
    pub cash: Option<crate::http::exact::DecimalText>,
    #[serde(default)]
    pub cash_account: Option<String>,
    /// Allow realizing short-term gains.
    #[serde(default)]
    pub short_term: bool,
    /// Wages and other ordinary income of the year, for the marginal rates.
    #[serde(default)]
    pub wages: Option<crate::http::exact::DecimalText>,
}

/// Books today's proposal on the household's ledger, every order a row (sales of their specific
/// lots), all or nothing; the answer is the proposal with `recorded`.
pub async fn accept_rebalance(
    State(state): State<AppState>,
    p: Principal,
    Path((household, portfolio)): Path<(String, String)>,
    crate::http::problem::Body(b): crate::http::problem::Body<RebalanceBody>,
) -> Result<(axum::http::StatusCode, Json<RebalanceAnswer>), Problem> {
    let key = authz::household(&state, &p, &household, Need::Write, "rebalance").await?;
    // The proposal reflects every row recorded so far.
    let head = state.store.head().await?.map_or(0, |h| h.position);
    let base = Params { min_position: Some(Position(head)), ..Params::default() };
    let (_, reader, position) = plain_read(&state, &p, &household, &base, "rebalance", &["prices", "holdings"]).await?;
    let amount = |v: &Option<crate::http::exact::DecimalText>, field: &str| {
        v.as_ref().map(|d| d.decimal(field).map_err(|e| Problem::field(field, e))).transpose()
    };
    let request = queries::rebalance::RebalanceRequest {
        as_of: workers::market::intraday::today(),
        cash: amount(&b.cash, "cash")?.unwrap_or_default(),
        cash_account: b.cash_account,
        short_term: b.short_term,
        given: queries::tax::Given { wages: amount(&b.wages, "wages")?.unwrap_or_default(), ..Default::default() },
    };
    let (mut rebalance, rows) = proposal(&reader, &key, &household, &portfolio, &request).await?;
    if rows.is_empty() {
        return Ok((axum::http::StatusCode::OK, Json(RebalanceAnswer { position, as_of: None, rebalance })));
    }
    let request_bytes = serde_json::to_vec(&rebalance.orders).unwrap_or_default();
    let outcome = commands::ledger::record_rows(&state.commands, &key, rows, &request_bytes, &p.caller()).await?;
    rebalance.recorded = Some(recorded(&outcome));
    let position = outcome.last_position.unwrap_or(position);
    Ok((axum::http::StatusCode::CREATED, Json(RebalanceAnswer { position, as_of: None, rebalance })))
}

/// `GET /v1/households/{household}/tax/harvest/backtest`'s parameters.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BacktestParams {
    pub from: Option<Day>,
    pub to: Option<Day>,
    pub min_loss: Option<Amount>,
    pub min_share: Option<Amount>,
    pub as_of: Option<Instant>,
    pub min_position: Option<Position>,
}

/// See [`queries::tax::HarvestBacktest`].
#[derive(Debug, Serialize, JsonSchema)]
pub struct BacktestAnswer {
    pub position: u64,
    pub as_of: Option<DateTime<Utc>>,
    #[serde(flatten)]
    pub backtest: queries::tax::HarvestBacktest,
}

pub async fn harvest_backtest(
    State(state): State<AppState>,
    p: Principal,
    Path(household): Path<String>,
    Query(params): Query<BacktestParams>,
) -> Result<Json<BacktestAnswer>, Problem> {
    let base = Params { as_of: params.as_of, min_position: params.min_position, ..Params::default() };
    let (key, reader, position) =
        plain_read(&state, &p, &household, &base, "harvest back-test", &["prices", "holdings"]).await?;
    let from = params.from.ok_or_else(|| Problem::field("from", "from: the first day, YYYY-MM-DD"))?.0;
    let thresholds = commands::alerts::state(&state.commands, &key).await?.thresholds();
    let day = reader.instant().map_or_else(workers::market::intraday::today, domain::calendar::new_york_day);
    let request = queries::tax::BacktestRequest {
        from,
        to: params.to.map_or(day, |d| d.0),
        settings: thresholds.harvest(params.min_loss.map(|a| a.0), params.min_share.map(|a| a.0)),
    };
    let backtest = queries::tax::harvest_backtest(&reader.db, &key, &request).await.map_err(report_problem)?;
    Ok(Json(BacktestAnswer { position, as_of: reader.instant(), backtest }))
}

/// `POST /v1/households/{household}/tax/harvest`: the candidate lots to harvest today, with the
/// scan's options.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HarvestBody {
    /// The candidates' `lot_id`s.
    pub lot_ids: Vec<String>,
    #[serde(default)]
    pub min_loss: Option<crate::http::exact::DecimalText>,
    #[serde(default)]
    pub min_share: Option<crate::http::exact::DecimalText>,
    #[serde(default)]
    pub wages: Option<crate::http::exact::DecimalText>,
    /// Replacements of your own, by symbol (`{"VTI": "SCHB"}`), before the house table's.
    #[serde(default)]
    pub replacements: std::collections::BTreeMap<String, String>,
}

pub async fn accept_harvest(
    State(state): State<AppState>,
    p: Principal,
    Path(household): Path<String>,
    crate::http::problem::Body(b): crate::http::problem::Body<HarvestBody>,
) -> Result<(axum::http::StatusCode, Json<HarvestAnswer>), Problem> {
    let key = authz::household(&state, &p, &household, Need::Write, "harvest").await?;
    // The scan reflects every row recorded so far.
    let head = state.store.head().await?.map_or(0, |h| h.position);
    let base = Params { min_position: Some(Position(head)), ..Params::default() };
    let (_, reader, _) = plain_read(&state, &p, &household, &base, "harvest", &["prices", "holdings"]).await?;
    let amount = |v: &Option<crate::http::exact::DecimalText>, field: &str| {
        v.as_ref().map(|d| d.decimal(field).map_err(|e| Problem::field(field, e))).transpose()
    };
    let thresholds = commands::alerts::state(&state.commands, &key).await?.thresholds();
    let request = queries::tax::HarvestRequest {
        as_of: workers::market::intraday::today(),
        settings: thresholds.harvest(amount(&b.min_loss, "min_loss")?, amount(&b.min_share, "min_share")?),
        replacements: b
            .replacements
            .into_iter()
            .map(|(s, r)| (s.trim().to_ascii_uppercase(), r.trim().to_ascii_uppercase()))
            .collect(),
        given: queries::tax::Given { wages: amount(&b.wages, "wages")?.unwrap_or_default(), ..Default::default() },
    };
    let (mut harvest, rows) =
        queries::tax::harvest_accept(&reader.db, &key, &request, &b.lot_ids).await.map_err(report_problem)?;
    let request_bytes = serde_json::to_vec(&harvest.orders).unwrap_or_default();
    let outcome = commands::ledger::record_rows(&state.commands, &key, rows, &request_bytes, &p.caller()).await?;
    harvest.recorded = Some(recorded(&outcome));
    let position = outcome.last_position.unwrap_or(head);
    Ok((axum::http::StatusCode::CREATED, Json(HarvestAnswer { position, as_of: None, harvest })))
}

/// The rows an accepted proposal or harvest recorded, as both shells answer them.
pub fn recorded(o: &commands::ledger::Outcome) -> queries::rebalance::Recorded {
    queries::rebalance::Recorded {
        trade_ids: o.trade_ids(),
        first_position: o.first_position,
        last_position: o.last_position,
    }
}

/// See [`queries::tax::AssetLocation`].
#[derive(Debug, Serialize, JsonSchema)]
pub struct LocationAnswer {
    pub position: u64,
    pub as_of: Option<DateTime<Utc>>,
    #[serde(flatten)]
    pub location: queries::tax::AssetLocation,
}

/// `GET /v1/households/{household}/tax/location`'s parameters.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocationParams {
    pub wages: Option<Amount>,
    pub as_of: Option<Instant>,
    pub min_position: Option<Position>,
}

pub async fn tax_location(
    State(state): State<AppState>,
    p: Principal,
    Path(household): Path<String>,
    Query(q): Query<LocationParams>,
) -> Result<Json<LocationAnswer>, Problem> {
    let base = Params { as_of: q.as_of, min_position: q.min_position, ..Params::default() };
    let (key, reader, position) =
        plain_read(&state, &p, &household, &base, "asset location", &["prices", "holdings"]).await?;
    let day = reader.instant().map_or_else(workers::market::intraday::today, domain::calendar::new_york_day);
    let given = queries::tax::Given { wages: q.wages.map(|a| a.0).unwrap_or_default(), ..Default::default() };
    let location = queries::tax::location(&reader.db, &key, day, &given).await.map_err(report_problem)?;
    Ok(Json(LocationAnswer { position, as_of: reader.instant(), location }))
}

/// `GET /v1/households/{household}/tax/roth`'s parameters: a plan's fields
/// ([`queries::roth::RothInput`]).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RothParams {
    pub start_year: Option<Year>,
    pub end_age: Option<Age>,
    pub born: Option<Day>,
    pub spouse_born: Option<Day>,
    pub status: Option<String>,
    pub traditional: Option<Amount>,
    pub roth: Option<Amount>,
    pub taxable: Option<Amount>,
    pub growth: Option<Rate>,
    pub inflation: Option<Rate>,
    pub wages: Option<Amount>,
    pub wages_until: Option<Year>,
    pub other_income: Option<Amount>,
    pub social_security: Option<Amount>,
    pub social_security_from: Option<Year>,
    pub strategy: Option<String>,
    pub bracket: Option<Rate>,
    pub irmaa_tier: Option<String>,
    pub convert_until: Option<Year>,
    pub heirs_rate: Option<Rate>,
    pub paths: Option<String>,
    pub volatility: Option<Rate>,
    pub as_of: Option<Instant>,
    pub min_position: Option<Position>,
}

/// See [`queries::roth::Roth`].
#[derive(Debug, Serialize, JsonSchema)]
pub struct RothAnswer {
    pub position: u64,
    pub as_of: Option<DateTime<Utc>>,
    #[serde(flatten)]
    pub roth: queries::roth::Roth,
}

/// The strategies of a Roth plan.
pub const ROTH_STRATEGIES: &[&str] = &["none", "bracket", "irmaa", "optimize"];
/// The IRMAA tiers a plan can stay within.
pub const IRMAA_TIERS: &[&str] = &["0", "1", "2", "3", "4"];

pub async fn tax_roth(
    State(state): State<AppState>,
    p: Principal,
    Path(household): Path<String>,
    Query(q): Query<RothParams>,
) -> Result<Json<RothAnswer>, Problem> {
    use chrono::Datelike;
    let base = Params { as_of: q.as_of, min_position: q.min_position, ..Params::default() };
    let (key, reader, position) =
        plain_read(&state, &p, &household, &base, "roth plan", &["prices", "holdings"]).await?;
    let irmaa_tier = q
        .irmaa_tier
        .map(|t| {
            t.parse::<u8>().ok().filter(|t| *t <= 4).ok_or_else(|| Problem::field("irmaa_tier", "irmaa_tier: 0 to 4"))
        })
        .transpose()?;
    let input = queries::roth::RothInput {
        start_year: q.start_year.map(|y| y.0),
        end_age: q.end_age.map(|a| a.0),
        born: q.born.map(|d| d.0),
        spouse_born: q.spouse_born.map(|d| d.0),
        status: q.status,
        traditional: q.traditional.map(|a| a.0),
        roth: q.roth.map(|a| a.0),
        taxable: q.taxable.map(|a| a.0),
        growth: q.growth.map(|r| r.0),
        inflation: q.inflation.map(|r| r.0),
        wages: q.wages.map(|a| a.0),
        wages_until: q.wages_until.map(|y| y.0),
        other_income: q.other_income.map(|a| a.0),
        social_security: q.social_security.map(|a| a.0),
        social_security_from: q.social_security_from.map(|y| y.0),
        strategy: q.strategy,
        bracket: q.bracket.map(|r| r.0),
        irmaa_tier,
        convert_until: q.convert_until.map(|y| y.0),
        heirs_rate: q.heirs_rate.map(|r| r.0),
        paths: paths(q.paths, queries::roth::MAX_PATHS)?,
        volatility: q.volatility.map(|r| r.0),
    };
    let this_year =
        reader.instant().map_or_else(workers::market::intraday::today, domain::calendar::new_york_day).year();
    let roth = queries::roth::roth(&reader.db, &key, &input, this_year).await.map_err(report_problem)?;
    Ok(Json(RothAnswer { position, as_of: reader.instant(), roth }))
}

/// A `paths` parameter: a whole number from 1 to `most`.
fn paths(given: Option<String>, most: u32) -> Result<Option<u32>, Problem> {
    given
        .map(|n| {
            n.parse::<u32>()
                .ok()
                .filter(|n| (1..=most).contains(n))
                .ok_or_else(|| Problem::field("paths", format!("paths: a whole number from 1 to {most}")))
        })
        .transpose()
}

/// `GET /v1/households/{household}/plan`'s parameters ([`queries::plan::PlanInput`]).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanParams {
    pub years: Option<Age>,
    pub paths: Option<String>,
    pub spending: Option<Amount>,
    pub retirement_age: Option<Age>,
    pub salary: Option<Amount>,
    pub expected_return: Option<Rate>,
    pub volatility: Option<Rate>,
    pub inflation: Option<Rate>,
    pub social_security: Option<Amount>,
    pub social_security_age: Option<Age>,
    pub order: Option<String>,
    pub bracket: Option<Rate>,
    pub dividend_yield: Option<Rate>,
    pub heirs_rate: Option<Rate>,
    pub as_of: Option<Instant>,
    pub min_position: Option<Position>,
}

/// See [`queries::plan::PlanAnswer`].
#[derive(Debug, Serialize, JsonSchema)]
pub struct PlanAnswer {
    pub position: u64,
    pub as_of: Option<DateTime<Utc>>,
    #[serde(flatten)]
    pub plan: queries::plan::PlanAnswer,
}

/// The withdrawal orders of a household plan.
pub const PLAN_ORDERS: &[&str] = &["taxable_first", "proportional", "bracket"];

pub async fn household_plan(
    State(state): State<AppState>,
    p: Principal,
    Path(household): Path<String>,
    Query(q): Query<PlanParams>,
) -> Result<Json<PlanAnswer>, Problem> {
    let base = Params { as_of: q.as_of, min_position: q.min_position, ..Params::default() };
    let (key, reader, position) =
        plain_read(&state, &p, &household, &base, "household plan", &["prices", "holdings"]).await?;
    let paths = paths(q.paths, queries::plan::MAX_PATHS)?;
    let input = queries::plan::PlanInput {
        years: q.years.map(|y| y.0),
        paths,
        spending: q.spending.map(|a| a.0),
        retirement_age: q.retirement_age.map(|a| a.0),
        salary: q.salary.map(|a| a.0),
        expected_return: q.expected_return.map(|r| r.0),
        volatility: q.volatility.map(|r| r.0),
        inflation: q.inflation.map(|r| r.0),
        social_security: q.social_security.map(|a| a.0),
        social_security_age: q.social_security_age.map(|a| a.0),
        order: q.order,
        bracket: q.bracket.map(|r| r.0),
        dividend_yield: q.dividend_yield.map(|r| r.0),
        heirs_rate: q.heirs_rate.map(|r| r.0),
    };
    let today = reader.instant().map_or_else(workers::market::intraday::today, domain::calendar::new_york_day);
    let plan = queries::plan::household_plan(&reader.db, &key, &input, today).await.map_err(report_problem)?;
    Ok(Json(PlanAnswer { position, as_of: reader.instant(), plan }))
}

/// `GET /v1/households/{household}/tax/harvest`'s parameters (`cairn tax harvest`'s options;
/// the scan's day is today in New York, or the day of `as_of`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HarvestParams {
    pub min_loss: Option<Amount>,
    pub min_share: Option<Amount>,
    pub wages: Option<Amount>,
    pub as_of: Option<Instant>,
    pub min_position: Option<Position>,
}

/// See [`queries::tax::Harvest`].
#[derive(Debug, Serialize, JsonSchema)]
pub struct HarvestAnswer {
    pub position: u64,
    pub as_of: Option<DateTime<Utc>>,
    #[serde(flatten)]
    pub harvest: queries::tax::Harvest,
}

pub async fn tax_harvest(
    State(state): State<AppState>,
    p: Principal,
    Path(household): Path<String>,
    Query(params): Query<HarvestParams>,
) -> Result<Json<HarvestAnswer>, Problem> {
    let base = Params { as_of: params.as_of, min_position: params.min_position, ..Params::default() };
    let (key, reader, position) =
        plain_read(&state, &p, &household, &base, "tax-loss harvest", &["prices", "holdings"]).await?;
    if params.min_share.is_some_and(|s| s.0 > rust_decimal::Decimal::ONE) {
        return Err(Problem::field("min_share", "min_share: a fraction of the basis, at most 1"));
    }
    let thresholds = commands::alerts::state(&state.commands, &key).await?.thresholds();
    let day = reader.instant().map_or_else(workers::market::intraday::today, domain::calendar::new_york_day);
    let request = queries::tax::HarvestRequest {
        as_of: day,
        settings: thresholds.harvest(params.min_loss.map(|a| a.0), params.min_share.map(|a| a.0)),
        replacements: Default::default(),
        given: queries::tax::Given { wages: params.wages.map(|a| a.0).unwrap_or_default(), ..Default::default() },
    };
    let harvest = queries::tax::harvest(&reader.db, &key, &request).await.map_err(report_problem)?;
    Ok(Json(HarvestAnswer { position, as_of: reader.instant(), harvest }))
}
