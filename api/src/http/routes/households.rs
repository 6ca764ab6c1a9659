//! Queries: a household's read models, the audit trail, and prices. Every answer carries the
//! global position of the event log it reflects; `?as_of=INSTANT` (auditors and admins)
//! answers from a replay of the events recorded up to that instant; `?min_position=N` waits
//! until the read models reflect at least position N (read your own writes).

use axum::extract::{Path, State};
use axum::response::IntoResponse as _;
use axum::Json;
use chrono::{DateTime, Utc};
use domain::user::Role;
use event_store::EventStore as _;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::http::auth::Principal;
use crate::http::authz::{self, Need};
use crate::http::problem::{Problem, ProblemKind};
use crate::http::query::{self, Instant, Position, Query, Year};
use crate::http::AppState;
use queries::read::{NotYet, Reader, CHANGE_COLUMNS};
use queries::rows::{columns, objects, ColumnInfo, ColumnKind, Rows, View};

/// How long a `min_position` read waits for serve's projector (which gathers commits for
/// `projections::runner::COALESCE`) before catching the read model up itself.
pub const FOLLOWER: std::time::Duration = std::time::Duration::from_millis(250);

/// Query parameters of the read endpoints (each endpoint uses those that apply).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub as_of: Option<Instant>,
    pub min_position: Option<Position>,
    pub year: Option<Year>,
    pub portfolio: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
}

impl Params {
    pub(super) fn min_position(&self) -> u64 {
        self.min_position.map_or(0, |p| p.0)
    }

    /// Refuses, naming it, the first of `names` that was given: a parameter of another
    /// endpoint is not silently ignored.
    fn refuse(&self, names: &[&str]) -> Result<(), Problem> {
        let given = |name: &str| match name {
            "as_of" => self.as_of.is_some(),
            "min_position" => self.min_position.is_some(),
            "year" => self.year.is_some(),
            "portfolio" => self.portfolio.is_some(),
            "from" => self.from.is_some(),
            "to" => self.to.is_some(),
            _ => false,
        };
        match names.iter().find(|n| given(n)) {
            Some(name) => Err(Problem::field(name, format!("{name}: this endpoint does not take it"))),
            None => Ok(()),
        }
    }
}

fn instant(text: &str, field: &str, bound: queries::instant::Bound) -> Result<DateTime<Utc>, Problem> {
    queries::instant::parse(text, bound).map_err(|e| Problem::field(field, format!("{field}: {e}")))
}

/// A reader for these parameters: the server's read models, or an as-of replay (auditors and
/// admins only).
pub(super) async fn reader(state: &AppState, p: &Principal, params: &Params) -> Result<Reader, Problem> {
    match params.as_of {
        None => Ok(Reader::with_db(state.store.clone(), state.db.clone())),
        Some(Instant(at)) => {
            authz::role(state, p, &[Role::Auditor, Role::Admin], "as_of replays").await?;
            Reader::as_of(state.store.clone(), at).await.map_err(Problem::internal)
        }
    }
}

/// An as-of replay of a household from before its first event answers 404, saying so (an
/// empty answer would read as a household with nothing in it).
pub(super) async fn existed(reader: &Reader, household: &str) -> Result<(), Problem> {
    reader.household_existed(household).await.map_err(|e| match e.downcast_ref::<NotYet>() {
        Some(not_yet) => Problem::new(ProblemKind::NotFound, not_yet.to_string()),
        None => Problem::internal(e),
    })
}

pub async fn household_rows(
    state: &AppState,
    p: &Principal,
    household: &str,
    params: Params,
    view: View,
) -> Result<axum::response::Response, Problem> {
    let key = authz::household(state, p, household, Need::Read, view.table.name).await?;
    params.refuse(&["from", "to"])?;
    let filters = view
        .filters(&key, params.year.map(|y| y.0), params.portfolio.as_deref())
        .map_err(|e| Problem::field(e.field, e.to_string()))?;
    let mut reader = reader(state, p, &params).await?;
    existed(&reader, &key).await?;
    let status = reader.at_least(view.projector, params.min_position(), FOLLOWER).await.map_err(Problem::internal)?;
    let head = |body: &str| {
        let doc = format!(
            "{{\"household\":{},\"position\":{},\"as_of\":{},{body}}}",
            Value::String(key.clone()),
            status.checkpoint,
            serde_json::to_string(&reader.instant()).unwrap_or_else(|_| "null".into()),
        );
        ([(axum::http::header::CONTENT_TYPE, "application/json")], doc).into_response()
    };
    // The household's rows carry a version token (rewritten with them): while it is unchanged,
    // the answer kept for it is the answer.
    let version = match reader.instant() {
        None => projections::query::scope_version(&reader.db, view.table, status.generation, &key).await?,
        Some(_) => None,
    };
    let cache_key = format!("{}|{filters:?}", view.table.physical(status.generation));
    if let Some(body) = version.as_deref().and_then(|v| state.cache.get(&cache_key, v)) {
        return Ok(head(&body));
    }
    let body = view.body(projections::query::select(&reader.db, view.table, &filters).await?);
    if let Some(v) = version {
        state.cache.put(cache_key, v, body.clone());
    }
    Ok(head(&body))
}

/// What a household is worth ([`queries::household::value`]): the positions at market value
/// plus the accounts' cash, as the overview shows it.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ValueAnswer {
    pub household: String,
    /// The global position of the last event the figures reflect.
    pub position: u64,
    /// The instant of an as-of replay.
    pub as_of: Option<DateTime<Utc>>,
    #[serde(flatten)]
    pub value: queries::household::Value,
}

pub async fn value(
    State(state): State<AppState>,
    p: Principal,
    Path(household): Path<String>,
    Query(params): Query<Params>,
) -> Result<Json<ValueAnswer>, Problem> {
    let key = authz::household(&state, &p, &household, Need::Read, "value").await?;
    params.refuse(&["year", "portfolio", "from", "to"])?;
    let mut reader = reader(&state, &p, &params).await?;
    existed(&reader, &key).await?;
    let status = reader.at_least("holdings", params.min_position(), FOLLOWER).await.map_err(Problem::internal)?;
    let value = queries::household::value(&reader.db, &key).await?;
    Ok(Json(ValueAnswer { household: key, position: status.checkpoint, as_of: reader.instant(), value }))
}

/// Query parameters of a household report.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportParams {
    pub as_of: Option<Instant>,
    pub min_position: Option<Position>,
    pub year: Option<Year>,
    pub format: Option<query::ReportFormat>,
    pub trade_date: Option<query::Day>,
}

/// A household report (`GET /v1/households/{h}/reports/<report>`) as the CLI delivers it
/// ([`queries::reports::deliver`]): JSON with
/// `generated` and `sha256`, or CSV ending in `# sha256:…`; recorded as a `ReportGenerated`
/// event with the caller as its actor, so every report handed out is in the audit trail.
pub async fn report(
    state: AppState,
    p: Principal,
    household: String,
    which: queries::ledger::HouseholdReport,
    params: ReportParams,
) -> Result<axum::response::Response, Problem> {
    use queries::ledger::{HouseholdReport, Request};
    let key = authz::household(&state, &p, &household, Need::Read, "reports").await?;
    if params.year.is_some() && !which.takes_year() {
        return Err(Problem::field("year", format!("year: the {} report does not take one", which.slug())));
    }
    if params.trade_date.is_some() && which != HouseholdReport::Lots {
        return Err(Problem::field("trade_date", "trade_date: only the lots report takes one"));
    }
    let format = params.format.map_or(queries::reports::Format::Json, |f| f.0);
    if format == queries::reports::Format::Txf && which != HouseholdReport::Gains {
        return Err(Problem::field("format", "format: only the gains report is written as txf"));
    }
    let base = Params { as_of: params.as_of, min_position: params.min_position, ..Params::default() };
    let mut reader = reader(&state, &p, &base).await?;
    existed(&reader, &key).await?;
    if which == HouseholdReport::Gains {
        // The boxes read the security master's kinds.
        reader.at_least("prices", base.min_position(), FOLLOWER).await.map_err(Problem::internal)?;
    }
    let status = reader.at_least("holdings", base.min_position(), FOLLOWER).await.map_err(Problem::internal)?;
    let request =
        Request { household: key.clone(), year: params.year.map(|y| y.0), lots_as_of: params.trade_date.map(|d| d.0) };
    let built = queries::ledger::report(&reader, which, &request, status.checkpoint).await.map_err(report_problem)?;
    let delivered =
        queries::reports::deliver(&built.report, format, &built.parameters, built.position, reader.instant());
    if let Some(event) = delivered.event {
        commands::report::record(&state.commands, event, &p.caller()).await?;
    }
    let content_type = match format {
        queries::reports::Format::Csv => "text/csv; charset=utf-8",
        queries::reports::Format::Txf => "text/plain; charset=utf-8",
        _ => "application/json",
    };
    Ok(([(axum::http::header::CONTENT_TYPE, content_type)], delivered.text).into_response())
}

/// A query's refusal as a problem: a bad parameter names its field, a household without a
/// ledger is 404.
pub fn report_problem(e: queries::ledger::ReportError) -> Problem {
    use queries::ledger::ReportError;
    match e {
        ReportError::Invalid { field, problem } => Problem::field(field, format!("{field}: {problem}")),
        ReportError::NoLedger(_) => Problem::new(ProblemKind::NotFound, e.to_string()),
        ReportError::Other(e) => Problem::internal(e),
    }
}

/// The households the caller may see.
pub async fn list(
    State(state): State<AppState>,
    p: Principal,
    Query(params): Query<Params>,
) -> Result<Json<Rows>, Problem> {
    params.refuse(&["year", "portfolio", "from", "to"])?;
    let mut reader = reader(&state, &p, &params).await?;
    let position =
        reader.at_least("holdings", params.min_position(), FOLLOWER).await.map_err(Problem::internal)?.checkpoint;
    let table = &projections::holdings::HOUSEHOLDS;
    let rows = reader.db.select(table, &[]).await?;
    let mut rows: Vec<Map<String, Value>> = objects(table, rows)
        .into_iter()
        .filter(|r| r.get("household").and_then(Value::as_str).is_some_and(|h| authz::may(&p, h, Need::Read)))
        .collect();
    // The caller's own households appear even before anything is recorded in them.
    for own in p.claims.household.iter().chain(&p.claims.households) {
        if !rows.iter().any(|r| r.get("household").and_then(Value::as_str) == Some(own.as_str())) {
            rows.push(Map::from_iter([("household".to_owned(), Value::String(own.clone()))]));
        }
    }
    Ok(Json(Rows { household: None, position, as_of: reader.instant(), columns: columns(table), rows }))
}

/// The household's audit trail: every event of its ledger and portfolios, with who, through
/// what, which command, and a one-line summary.
pub async fn events(
    State(state): State<AppState>,
    p: Principal,
    Path(household): Path<String>,
    Query(params): Query<Params>,
) -> Result<Json<Rows>, Problem> {
    let key = authz::household(&state, &p, &household, Need::Read, "events").await?;
    let from = params.from.as_deref().map(|t| instant(t, "from", queries::instant::Bound::Start)).transpose()?;
    let to = match (&params.to, params.as_of) {
        (Some(t), _) => Some(instant(t, "to", queries::instant::Bound::End)?),
        (None, as_of) => as_of.map(|i| i.0),
    };
    let (first, last) = queries::read::window(&state.store, from, to).await.map_err(Problem::internal)?;
    let rows = queries::read::trail(&state.store, &state.db, Some(&key), first, last)
        .await
        .map_err(Problem::internal)?
        .into_iter()
        .map(|row| CHANGE_COLUMNS.iter().zip(row).map(|(c, v)| ((*c).to_owned(), Value::String(v))).collect())
        .collect();
    let columns = CHANGE_COLUMNS.iter().map(|&name| ColumnInfo { name, kind: ColumnKind::Text }).collect();
    Ok(Json(Rows { household: Some(key), position: last, as_of: None, columns, rows }))
}

/// How long a `min_position` risk read waits for serve's risk worker (which lets a portfolio's
/// changes gather for `workers::risk::QUIET`, at most `MAX_DELAY`) before computing the
/// portfolio itself.
pub const RISK_FOLLOWER: std::time::Duration = std::time::Duration::from_secs(5);

/// A portfolio's risk row (`portfolio_risk`). The answer's `position` is the risk worker's
/// checkpoint: every change up to it is in the row (whose own `position` is that of its
/// inputs). With `min_position` beyond what the worker has written within [`RISK_FOLLOWER`],
/// and with `as_of`, the row is computed for the request, from read models caught up to it.
pub async fn risk(
    State(state): State<AppState>,
    p: Principal,
    Path((household, portfolio)): Path<(String, String)>,
    Query(params): Query<Params>,
) -> Result<Json<Rows>, Problem> {
    let key = authz::household(&state, &p, &household, Need::Read, "portfolio_risk").await?;
    params.refuse(&["year", "portfolio", "from", "to"])?;
    let portfolio = domain::ledger::household_key(&portfolio);
    let table = &projections::risk::PORTFOLIO_RISK;
    let computed = |row: Option<projections::db::Row>, position: u64, as_of| {
        let position = row
            .as_ref()
            .map(|r| projections::query::Record::new(table, r.clone()))
            .and_then(|r| r.text("position").and_then(|p| p.parse().ok()))
            .unwrap_or(position);
        let rows = objects(table, row.into_iter().collect());
        Json(Rows { household: Some(key.clone()), position, as_of, columns: columns(table), rows })
    };
    if params.as_of.is_some() {
        let mut reader = reader(&state, &p, &params).await?;
        existed(&reader, &key).await?;
        reader.ready("holdings").await.map_err(Problem::internal)?;
        let position = reader.ready("prices").await.map_err(Problem::internal)?;
        let row = queries::risk::assess(&reader.db, &key, &portfolio).await?;
        return Ok(computed(row, position, reader.instant()));
    }
    // A position beyond the head waits for the head (every position a client was given is at
    // most the head).
    let head = state.store.head().await?.map_or(0, |h| h.position);
    let min = params.min_position().min(head);
    let give_up = std::time::Instant::now() + RISK_FOLLOWER;
    while projections::risk::worker_checkpoint(&state.db).await? < min && std::time::Instant::now() < give_up {
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let pinned = state.db.pinned().await?;
    let checkpoint = projections::risk::worker_checkpoint(&pinned).await?;
    if checkpoint >= min {
        let filters = [("household", Some(key.clone())), ("portfolio", Some(portfolio))];
        let rows = objects(table, pinned.select(table, &filters).await?);
        let (household, columns) = (Some(key.clone()), columns(table));
        return Ok(Json(Rows { household, position: checkpoint, as_of: None, columns, rows }));
    }
    drop(pinned);
    // The worker is behind (or not running): compute from read models caught up to `min`.
    let mut reader = Reader::with_db(state.store.clone(), state.db.clone());
    reader.at_least("holdings", min, FOLLOWER).await.map_err(Problem::internal)?;
    reader.at_least("prices", min, FOLLOWER).await.map_err(Problem::internal)?;
    let row = queries::risk::assess(&reader.db, &key, &portfolio).await?;
    if let Some(row) = &row {
        projections::risk::save(&state.db, row).await?;
    }
    Ok(computed(row, min, None))
}

/// Daily bars of a symbol.
pub async fn prices(
    State(state): State<AppState>,
    p: Principal,
    Path(symbol): Path<String>,
    Query(params): Query<Params>,
) -> Result<Json<Rows>, Problem> {
    let symbol = symbol.trim().to_uppercase();
    let mut filters: Vec<(&str, Option<String>)> = vec![("symbol", Some(symbol))];
    for (name, value, column) in [("from", &params.from, "day >="), ("to", &params.to, "day <=")] {
        if let Some(v) = value {
            let day = query::day(v)
                .ok_or_else(|| Problem::field(name, format!("{name}: {v:?} is not a day (YYYY-MM-DD)")))?;
            filters.push((column, Some(day.to_string())));
        }
    }
    let mut reader = reader(&state, &p, &params).await?;
    let position =
        reader.at_least("prices", params.min_position(), FOLLOWER).await.map_err(Problem::internal)?.checkpoint;
    let table = &projections::prices::PRICES;
    let rows = reader.db.select(table, &filters).await?;
    let (columns, rows) = (columns(table), objects(table, rows));
    Ok(Json(Rows { household: None, position, as_of: reader.instant(), columns, rows }))
}
