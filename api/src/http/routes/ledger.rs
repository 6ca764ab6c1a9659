//! Commands on a household: trades, contributions, corporate actions (one ledger row each, in
//! the CSV's columns), CSV imports (the CLI's format, all or nothing), corrections and
//! cancellations, opening and closing accounts, portfolios and their targets.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{post, MethodRouter};
use commands::input::broker::Broker;
use commands::ledger::{self, Outcome};
use commands::portfolio as portfolios;
use domain::ledger::types::AccountInfo;
use domain::ledger::{LedgerCommand, TradeChange};
use domain::portfolio::PortfolioCommand;
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::http::auth::Principal;
use crate::http::authz::{self, Need};
use crate::http::exact::{self, DecimalText};
use crate::http::idempotency;
use crate::http::problem::{media_type, Body, Problem, ProblemKind};
use crate::http::query::{self, Flag, Query};
use crate::http::AppState;
use domain::ledger::types::ActionKind;

/// One ledger row, in the CSV import's columns (dates `YYYY-MM-DD`; amounts and quantities
/// as decimal strings or JSON numbers, both exact). `cairn ledger import --help` describes
/// every column.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Row {
    #[schemars(extend("format" = "date"))]
    pub trade_date: String,
    #[schemars(regex(pattern = r"\S"))]
    pub account: String,
    /// Required where the account first appears.
    #[serde(default)]
    #[schemars(schema_with = "account_types")]
    pub account_type: Option<String>,
    /// What the row records (each endpoint takes its own actions).
    pub action: String,
    #[serde(default)]
    pub symbol: Option<String>,
    #[serde(default)]
    pub quantity: Option<DecimalText>,
    #[serde(default)]
    pub price: Option<DecimalText>,
    #[serde(default)]
    pub fees: Option<DecimalText>,
    #[serde(default)]
    #[schemars(extend("format" = "date"))]
    pub settlement_date: Option<String>,
    #[serde(default)]
    #[schemars(extend("enum" = ["fifo", "lifo", "hifo", "specific", "average", null]))]
    pub lot_method: Option<String>,
    #[serde(default)]
    pub lot_ids: Option<String>,
    /// `new:old` (`2:1` doubles the shares).
    #[serde(default)]
    #[schemars(regex(pattern = r"^[0-9]{1,9}(\.[0-9]{1,9})?:[0-9]{1,9}(\.[0-9]{1,9})?$"))]
    pub ratio: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub new_symbol: Option<String>,
    #[serde(default)]
    pub fmv: Option<DecimalText>,
    #[serde(default)]
    pub allocation: Option<DecimalText>,
    #[serde(default)]
    pub commission: Option<DecimalText>,
    #[serde(default)]
    pub sec_fee: Option<DecimalText>,
    #[serde(default)]
    pub taf_fee: Option<DecimalText>,
    #[serde(default)]
    pub cusip: Option<String>,
    #[serde(default)]
    pub isin: Option<String>,
    /// The currency (ISO 4217) the amounts are given in, when not US dollars; they are kept in
    /// dollars at `fx_rate`.
    #[serde(default)]
    #[schemars(regex(pattern = r"^[A-Za-z]{3}$"))]
    pub currency: Option<String>,
    /// US dollars per unit of `currency`.
    #[serde(default)]
    pub fx_rate: Option<DecimalText>,
    /// Rows of one account, symbol and trade date with the same `order_id` (or none) are one
    /// purchase (Rev. Rul. 56-602).
    #[serde(default)]
    pub order_id: Option<String>,
    /// The broker's transaction id: the row's identity for the duplicate check.
    #[serde(default)]
    pub id: Option<String>,
}

/// The account types the ledger knows, as the schema's enum (from the ledger's own list).
fn account_types(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let mut names: Vec<serde_json::Value> =
        domain::ledger::types::AccountType::ALL.iter().map(|t| t.as_str().into()).collect();
    names.push(serde_json::Value::Null);
    schemars::json_schema!({ "type": ["string", "null"], "enum": names })
}

fn account_type(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let names: Vec<&str> = domain::ledger::types::AccountType::ALL.iter().map(|t| t.as_str()).collect();
    schemars::json_schema!({ "type": "string", "enum": names })
}

/// The row schema of an endpoint taking `actions`: [`Row`] with its `action` narrowed.
fn row_schema(g: &mut schemars::SchemaGenerator, actions: &[&str]) -> schemars::Schema {
    let row = g.subschema_for::<Row>();
    schemars::json_schema!({
        "allOf": [row, { "properties": { "action": { "type": "string", "enum": actions } } }],
    })
}

pub fn trade_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
    row_schema(g, &ActionKind::Trade.names())
}

pub fn contribution_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
    row_schema(g, &ActionKind::Contribution.names())
}

pub fn corporate_action_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
    row_schema(g, &ActionKind::CorporateAction.names())
}

impl Row {
    /// A column's value as the ledger's row parser reads it (trimmed; empty when absent).
    fn get(&self, column: &str) -> &str {
        fn text(v: &Option<String>) -> &str {
            v.as_deref().unwrap_or("")
        }
        fn dec(v: &Option<DecimalText>) -> &str {
            v.as_ref().map_or("", |d| d.0.as_str())
        }
        match column {
            "trade_date" => &self.trade_date,
            "account" => &self.account,
            "account_type" => text(&self.account_type),
            "action" => &self.action,
            "symbol" => text(&self.symbol),
            "quantity" => dec(&self.quantity),
            "price" => dec(&self.price),
            "fees" => dec(&self.fees),
            "settlement_date" => text(&self.settlement_date),
            "lot_method" => text(&self.lot_method),
            "lot_ids" => text(&self.lot_ids),
            "ratio" => text(&self.ratio),
            "description" => text(&self.description),
            "owner" => text(&self.owner),
            "new_symbol" => text(&self.new_symbol),
            "fmv" => dec(&self.fmv),
            "allocation" => dec(&self.allocation),
            "commission" => dec(&self.commission),
            "sec_fee" => dec(&self.sec_fee),
            "taf_fee" => dec(&self.taf_fee),
            "cusip" => text(&self.cusip),
            "isin" => text(&self.isin),
            "currency" => text(&self.currency),
            "fx_rate" => dec(&self.fx_rate),
            "order_id" => text(&self.order_id),
            "id" => text(&self.id),
            _ => "",
        }
        .trim()
    }

    /// The ledger row these fields describe, checked by the parser a file's rows go through
    /// (the row is line 1 of its request).
    fn input(&self) -> Result<domain::ledger::RowInput, commands::CommandError> {
        commands::input::ledger::parse_row(1, &|c| self.get(c))
    }
}

/// What a ledger command recorded.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Recorded {
    pub household: String,
    /// Events appended (0 when this exact command was recorded before).
    pub events: usize,
    pub rows: usize,
    /// Ids of the rows recorded (for corrections and cancellations).
    pub trade_ids: Vec<String>,
    pub first_position: Option<u64>,
    pub last_position: Option<u64>,
    /// The household ledger's version after the command: send it as `If-Match` to make the
    /// next command conditional on nothing else being recorded meanwhile.
    pub version: u64,
    pub wash_sales_adjusted: usize,
    pub wash_sales_reversed: usize,
    /// Rows of an import already recorded for the household: skipped, or recorded again when
    /// the import allowed duplicates (`duplicates_recorded`).
    pub duplicates: u64,
    pub duplicates_recorded: bool,
    /// What the rows recorded may need a person to check (trades on days the NYSE was closed,
    /// rows taking an account's cash below zero), each with its line and row id.
    pub warnings: Vec<Warning>,
    /// Ids of the gifts recorded (`G1`, …), for their removal.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gift_ids: Vec<String>,
}

/// Something about a recorded row a person may want to check.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Warning {
    pub line: Option<u64>,
    pub trade_id: String,
    pub field: String,
    pub message: String,
}

fn recorded(o: &Outcome) -> Recorded {
    let trade_ids = o.trade_ids();
    Recorded {
        household: domain::ledger::household_key(&o.household),
        events: o.events.len(),
        rows: trade_ids.len(),
        trade_ids,
        first_position: o.first_position,
        last_position: o.last_position,
        version: o.stream_version,
        wash_sales_adjusted: o.wash_sales_adjusted(),
        wash_sales_reversed: o.wash_sales_reversed(),
        duplicates: o.duplicates(),
        duplicates_recorded: o.duplicates_allowed(),
        warnings: o
            .warnings()
            .iter()
            .map(|w| Warning {
                line: w.line,
                trade_id: w.trade_id.clone(),
                field: w.field.clone(),
                message: w.message.clone(),
            })
            .collect(),
        gift_ids: o
            .events
            .iter()
            .filter_map(|e| match e {
                domain::ledger::LedgerEvent::GiftRecorded(g) => Some(g.id.clone()),
                _ => None,
            })
            .collect(),
    }
}

fn created(o: &Outcome) -> Result<(StatusCode, serde_json::Value), Problem> {
    let status = if o.events.is_empty() { StatusCode::OK } else { StatusCode::CREATED };
    Ok((status, serde_json::to_value(recorded(o)).map_err(Problem::internal)?))
}

/// The household ledger version an `If-Match` header asks for (`7` or `"7"`).
fn if_match(headers: &HeaderMap) -> Result<Option<u64>, Problem> {
    let Some(v) = headers.get(header::IF_MATCH) else { return Ok(None) };
    let text = v.to_str().unwrap_or("").trim();
    let bare = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')).unwrap_or(text);
    query::position(bare).map(Some).ok_or_else(|| {
        Problem::field(
            "If-Match",
            format!("If-Match: {text:?} is not a ledger version (the `version` a command answered)"),
        )
    })
}

/// The command id: from the Idempotency-Key and the request when there is a key, else fresh.
fn command_uuid(p: &Principal, key: &Option<String>, request: &[u8]) -> uuid::Uuid {
    key.as_deref().map_or_else(uuid::Uuid::now_v7, |k| idempotency::command_id(p.user_id(), k, request))
}

async fn record_row(
    state: AppState,
    p: Principal,
    household: String,
    headers: HeaderMap,
    row: Row,
    kind: ActionKind,
) -> Response {
    let work = async {
        let expected = if_match(&headers)?;
        let id = command_uuid(&p, &idempotency::key(&headers)?, &serde_json::to_vec(&row).unwrap_or_default());
        let key_h = authz::household(&state, &p, &household, Need::Write, "record a row").await?;
        let action = row.action.trim().to_lowercase();
        let allowed = kind.names();
        if !allowed.contains(&action.as_str()) {
            return Err(Problem::field("action", format!("{action:?} is not one of {}", allowed.join(", "))));
        }
        let request = serde_json::to_vec(&row).map_err(Problem::internal)?;
        let recorded = match row.input() {
            Ok(input) => ledger::record_row(&state.commands, &key_h, input, &request, expected, id, &p.caller()).await,
            Err(e) => Err(e),
        };
        let outcome = recorded.map_err(|e| {
            let validation = matches!(e, commands::CommandError::Invalid { .. } | commands::CommandError::Rejected(_));
            let p = Problem::from(e);
            if validation {
                p.with("hint", "fields are named as the CSV columns")
            } else {
                p
            }
        })?;
        created(&outcome)
    };
    respond(work.await)
}

fn respond(result: Result<(StatusCode, serde_json::Value), Problem>) -> Response {
    match result {
        Ok((status, body)) => axum::response::IntoResponse::into_response((status, axum::Json(body))),
        Err(problem) => axum::response::IntoResponse::into_response(problem),
    }
}

/// The handler recording one row whose action is of `kind`.
fn row_handler(kind: ActionKind) -> MethodRouter<AppState> {
    post(
        move |State(s): State<AppState>,
              p: Principal,
              Path(h): Path<String>,
              headers: HeaderMap,
              Body(row): Body<Row>| { record_row(s, p, h, headers, row, kind) },
    )
}

pub fn trade() -> MethodRouter<AppState> {
    row_handler(ActionKind::Trade)
}

pub fn contribution() -> MethodRouter<AppState> {
    row_handler(ActionKind::Contribution)
}

pub fn corporate_action() -> MethodRouter<AppState> {
    row_handler(ActionKind::CorporateAction)
}

/// An import: the body is the file (`Content-Type: text/csv`, or for an OFX statement
/// [`OFX_MEDIA_TYPES`]), all or nothing; the same file imported twice records nothing the
/// second time. `?format=` names a broker's export (its rows go to `?account=`), or `auto`
/// recognises one; an OFX body without `?format=` is read as OFX.
pub async fn import(
    State(state): State<AppState>,
    p: Principal,
    Path(household): Path<String>,
    query: Result<Query<ImportParams>, Problem>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let media = media_type(&headers);
    let ofx_body = media.as_deref().is_some_and(|m| OFX_MEDIA_TYPES.contains(&m));
    if media.as_deref() != Some("text/csv") && !ofx_body {
        return axum::response::IntoResponse::into_response(Problem::new(
            ProblemKind::UnsupportedMediaType,
            "send the file as text/csv (an OFX statement as application/x-ofx)",
        ));
    }
    let work = async {
        let params = query?.0;
        let allow_duplicates = params.allow_duplicates.is_some_and(|f| f.0);
        let skip_unknown = params.skip_unknown.is_some_and(|f| f.0);
        let broker = match params.format.as_deref() {
            None if ofx_body => Some(Broker::Ofx),
            None | Some("csv") => None,
            Some("auto") => Broker::recognize(&body),
            Some(name) => Some(Broker::from_name(name).ok_or_else(|| {
                Problem::field("format", format!("format: {name:?} is not one of {}", IMPORT_FORMATS.join(", ")))
            })?),
        };
        let key_h = authz::household(&state, &p, &household, Need::Write, "import").await?;
        let (outcome, format, skipped) = match broker {
            Some(broker) => {
                let account = params.account.as_deref().ok_or_else(|| {
                    Problem::field(
                        "account",
                        format!("account: {} needs the account its rows belong to", broker.title()),
                    )
                })?;
                let (o, skipped) = ledger::import_broker(
                    &state.commands,
                    &key_h,
                    &body,
                    broker,
                    account,
                    params.account_type.as_deref(),
                    allow_duplicates,
                    skip_unknown,
                    &p.caller(),
                )
                .await?;
                (o, broker.name(), skipped)
            }
            None => {
                let given = [
                    ("account", params.account.is_some()),
                    ("account_type", params.account_type.is_some()),
                    ("skip_unknown", params.skip_unknown.is_some()),
                ];
                if let Some((name, _)) = given.iter().find(|(_, given)| *given) {
                    return Err(Problem::field(name, format!("{name}: only a broker's export takes it")));
                }
                (
                    ledger::import_csv(&state.commands, &key_h, &body, allow_duplicates, &p.caller()).await?,
                    "csv",
                    Vec::new(),
                )
            }
        };
        let mut recorded = recorded(&outcome);
        recorded.rows = recorded.trade_ids.len();
        let skipped =
            skipped.into_iter().map(|s| SkippedEntry { line: s.line, action: s.action, why: s.why }).collect();
        let answer = Imported { recorded, format, skipped };
        let status = if outcome.events.is_empty() { StatusCode::OK } else { StatusCode::CREATED };
        Ok((status, serde_json::to_value(answer).map_err(Problem::internal)?))
    };
    respond(work.await)
}

/// The formats `?format=` takes: `csv`, `auto` and each broker's (see
/// `commands::input::broker::Broker::ALL`; a test keeps the two lists equal).
pub const IMPORT_FORMATS: &[&str] = &["csv", "auto", "schwab", "fidelity", "vanguard", "ibkr", "ofx"];

/// The media types an import takes for an OFX statement besides `text/csv`: OFX's own and
/// Quicken's (`.qfx`).
pub const OFX_MEDIA_TYPES: &[&str] = &["application/x-ofx", "application/vnd.intu.qfx"];

/// The import's query: `?allow_duplicates=true|false` (absent: false), and for a broker's
/// export its format, the account and its type, and whether to skip unknown actions.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportParams {
    pub allow_duplicates: Option<Flag>,
    pub format: Option<String>,
    pub account: Option<String>,
    pub account_type: Option<String>,
    pub skip_unknown: Option<Flag>,
}

/// What an import recorded, the format it read, and the entries of a broker's export it
/// skipped (with `skip_unknown`).
#[derive(Debug, Serialize, JsonSchema)]
pub struct Imported {
    #[serde(flatten)]
    pub recorded: Recorded,
    /// `csv` or the broker's format (what `auto` chose).
    pub format: &'static str,
    pub skipped: Vec<SkippedEntry>,
}

/// An entry of a broker's export not recorded, and why.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SkippedEntry {
    pub line: u64,
    pub action: String,
    pub why: String,
}

/// Fields of a recorded row to replace, and why.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Correction {
    pub reason: String,
    #[serde(default)]
    pub trade_date: Option<chrono::NaiveDate>,
    #[serde(default)]
    pub settlement_date: Option<chrono::NaiveDate>,
    #[serde(default, deserialize_with = "exact::decimal")]
    #[schemars(with = "Option<DecimalText>")]
    pub quantity: Option<Decimal>,
    #[serde(default, deserialize_with = "exact::decimal")]
    #[schemars(with = "Option<DecimalText>")]
    pub price: Option<Decimal>,
    #[serde(default, deserialize_with = "exact::decimal")]
    #[schemars(with = "Option<DecimalText>")]
    pub fees: Option<Decimal>,
    #[serde(default)]
    #[schemars(extend("enum" = ["fifo", "lifo", "hifo", "specific", "average", null]))]
    pub lot_method: Option<String>,
    #[serde(default)]
    pub lot_ids: Option<Vec<String>>,
    #[serde(default)]
    pub description: Option<String>,
}

/// Why a row is cancelled.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Cancellation {
    pub reason: String,
}

async fn ledger_command(
    state: &AppState,
    p: &Principal,
    household: &str,
    headers: &HeaderMap,
    what: &str,
    command: impl FnOnce() -> Result<LedgerCommand, Problem>,
) -> Response {
    let work = async {
        let expected = if_match(headers)?;
        let key_h = authz::household(state, p, household, Need::Write, what).await?;
        let mut command = command()?;
        let id = command_uuid(p, &idempotency::key(headers)?, format!("{household}:{command:?}").as_bytes());
        if let LedgerCommand::Correct { command_id, .. } | LedgerCommand::Cancel { command_id, .. } = &mut command {
            *command_id = id.to_string();
        }
        let outcome = ledger::execute_expecting(&state.commands, &key_h, &command, expected, id, &p.caller()).await?;
        created(&outcome)
    };
    respond(work.await)
}

pub async fn correct(
    State(state): State<AppState>,
    p: Principal,
    Path((household, trade_id)): Path<(String, String)>,
    headers: HeaderMap,
    Body(c): Body<Correction>,
) -> Response {
    ledger_command(&state, &p, &household, &headers, "correct", || {
        let lot_method =
            c.lot_method.as_deref().map(str::parse).transpose().map_err(|e: String| Problem::field("lot_method", e))?;
        let change = TradeChange {
            trade_date: c.trade_date,
            settlement_date: c.settlement_date,
            quantity: c.quantity,
            price: c.price,
            fees: c.fees,
            lot_method,
            lot_ids: c.lot_ids,
            description: c.description,
        };
        Ok(LedgerCommand::Correct { command_id: String::new(), trade_id, change, reason: c.reason })
    })
    .await
}

pub async fn cancel(
    State(state): State<AppState>,
    p: Principal,
    Path((household, trade_id)): Path<(String, String)>,
    headers: HeaderMap,
    Body(c): Body<Cancellation>,
) -> Response {
    ledger_command(&state, &p, &household, &headers, "cancel", || {
        Ok(LedgerCommand::Cancel { command_id: String::new(), trade_id, reason: c.reason })
    })
    .await
}

/// An account to open before its first row.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    #[schemars(regex(pattern = r"\S"))]
    pub account: String,
    #[schemars(schema_with = "account_type")]
    pub account_type: String,
    /// fifo (the default), lifo, hifo, specific, average.
    #[serde(default)]
    #[schemars(extend("enum" = ["fifo", "lifo", "hifo", "specific", "average", null]))]
    pub lot_method: Option<String>,
    /// The member whose contribution limits apply.
    #[serde(default)]
    pub owner: Option<String>,
}

pub async fn open_account(
    State(state): State<AppState>,
    p: Principal,
    Path(household): Path<String>,
    headers: HeaderMap,
    Body(a): Body<NewAccount>,
) -> Response {
    ledger_command(&state, &p, &household, &headers, "open-account", || {
        let account_type = a.account_type.parse().map_err(|e: String| Problem::field("account_type", e))?;
        let lot_method =
            a.lot_method.as_deref().map(str::parse).transpose().map_err(|e: String| Problem::field("lot_method", e))?;
        Ok(LedgerCommand::OpenAccount {
            household: household.clone(),
            account: AccountInfo {
                label: a.account,
                account_type,
                lot_method: lot_method.unwrap_or_default(),
                owner: a.owner,
            },
        })
    })
    .await
}

/// The day an account closes.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Closing {
    pub closed_on: chrono::NaiveDate,
}

pub async fn close_account(
    State(state): State<AppState>,
    p: Principal,
    Path((household, account)): Path<(String, String)>,
    headers: HeaderMap,
    Body(c): Body<Closing>,
) -> Response {
    ledger_command(&state, &p, &household, &headers, "close-account", || {
        Ok(LedgerCommand::CloseAccount { account, closed_on: c.closed_on })
    })
    .await
}

/// What an account held at the end of a day, by a statement's count (a balance assertion).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BalanceAssertion {
    pub account: String,
    /// The account's holding at the end of this day, every row dated on or before it counted.
    pub date: chrono::NaiveDate,
    /// The symbol whose shares are asserted; the account's cash when absent.
    #[serde(default)]
    pub symbol: Option<String>,
    /// Shares or cash as the statement prints them: the decimals set the tolerance (half a unit
    /// of the last place).
    pub quantity: DecimalText,
    /// Where the figure comes from (a statement's name).
    #[serde(default)]
    pub source: Option<String>,
}

pub async fn assert_balance(
    State(state): State<AppState>,
    p: Principal,
    Path(household): Path<String>,
    headers: HeaderMap,
    Body(b): Body<BalanceAssertion>,
) -> Response {
    ledger_command(&state, &p, &household, &headers, "assert-balance", || {
        let symbol = b.symbol.map(|s| s.trim().to_ascii_uppercase()).filter(|s| !s.is_empty());
        let quantity = b.quantity.decimal("quantity").map_err(|e| Problem::field("quantity", e))?;
        Ok(LedgerCommand::AssertBalances {
            assertions: vec![domain::ledger::balances::Assertion {
                account: b.account,
                date: b.date,
                symbol,
                quantity,
                source: b.source,
            }],
        })
    })
    .await
}

/// A goal of the household (`PUT /v1/households/{household}/goals/{name}`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GoalBody {
    /// The amount wanted, in dollars of the goal's date; above 0.
    pub target: DecimalText,
    /// When it is wanted; after the household's today.
    pub date: chrono::NaiveDate,
    /// The accounts set aside for it (labels of open accounts); absent or empty: every account.
    #[serde(default)]
    pub accounts: Vec<String>,
    /// Saved toward it at the end of each month until its date (0 when absent).
    #[serde(default)]
    pub monthly_contribution: Option<DecimalText>,
    /// Its own expected annual return (0.06 for 6%), instead of the household's `goal_return`.
    #[serde(default)]
    pub expected_return: Option<DecimalText>,
    /// Its own annual volatility (0.12 for 12%), instead of the household's `goal_volatility`.
    #[serde(default)]
    pub volatility: Option<DecimalText>,
}

fn field_decimal(v: &Option<DecimalText>, field: &str) -> Result<Option<Decimal>, Problem> {
    v.as_ref().map(|d| d.decimal(field).map_err(|e| Problem::field(field, e))).transpose()
}

pub async fn set_goal(
    State(state): State<AppState>,
    p: Principal,
    Path((household, name)): Path<(String, String)>,
    headers: HeaderMap,
    Body(b): Body<GoalBody>,
) -> Response {
    let now = chrono::Utc::now();
    ledger_command(&state, &p, &household, &headers, "set a goal", || {
        let goal = domain::goals::Goal {
            name,
            target: b.target.decimal("target").map_err(|e| Problem::field("target", e))?,
            date: b.date,
            accounts: b.accounts,
            monthly_contribution: field_decimal(&b.monthly_contribution, "monthly_contribution")?.unwrap_or_default(),
            expected_return: field_decimal(&b.expected_return, "expected_return")?,
            volatility: field_decimal(&b.volatility, "volatility")?,
        };
        Ok(LedgerCommand::SetGoal { household: household.clone(), goal, now })
    })
    .await
}

pub async fn remove_goal(
    State(state): State<AppState>,
    p: Principal,
    Path((household, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    ledger_command(&state, &p, &household, &headers, "remove a goal", || {
        Ok(LedgerCommand::RemoveGoal { household: household.clone(), name })
    })
    .await
}

/// A share of a business (`EntityBody::owners`).
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OwnerBody {
    /// A member's name or another entity's.
    pub owner: String,
    /// Above 0, at most 1.
    pub share: DecimalText,
}

/// A trust or business (`PUT /v1/households/{household}/entities/{name}`), set whole.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EntityBody {
    /// `revocable_trust`, `irrevocable_trust`, `grat`, `ilit`, `dynasty_trust`, `slat`, `idgt`,
    /// `qtip_trust`, `crat`, `crut`, `clat`, `clut` (trusts: a member as `grantor`) or `llc`,
    /// `s_corp`, `c_corp`, `flp` (businesses: `owners`).
    pub kind: String,
    /// The whole entity's fair market value, undiscounted.
    pub value: DecimalText,
    /// When it was valued (today when absent).
    #[serde(default)]
    pub valued_on: Option<chrono::NaiveDate>,
    #[serde(default)]
    pub grantor: Option<String>,
    #[serde(default)]
    pub trustee: Option<String>,
    #[serde(default)]
    pub beneficiaries: Vec<String>,
    #[serde(default)]
    pub owners: Vec<OwnerBody>,
    /// A GRAT's (CRAT's, CLAT's) funding date, term and yearly annuity; an ILIT's funding date.
    #[serde(default)]
    pub funded_on: Option<chrono::NaiveDate>,
    #[serde(default)]
    pub term_years: Option<u32>,
    #[serde(default)]
    pub annuity: Option<DecimalText>,
    /// An ILIT's death benefit.
    #[serde(default)]
    pub death_benefit: Option<DecimalText>,
    /// An ILIT's yearly premium, the grantor's gift to the beneficiaries in equal shares each
    /// year from `funded_on`'s, for `premium_years` (while the grantor lives when absent).
    #[serde(default)]
    pub premium: Option<DecimalText>,
    #[serde(default)]
    pub premium_years: Option<u32>,
    /// The beneficiaries may withdraw each contribution (Crummey powers): their shares are
    /// present interests that take the annual exclusion.
    #[serde(default)]
    pub crummey: bool,
    /// GST exemption allocated to the whole trust.
    #[serde(default)]
    pub gst_exempt: bool,
    /// Discounts for a closely held interest, fractions below 1 (0 when absent).
    #[serde(default)]
    pub lack_of_control: Option<DecimalText>,
    #[serde(default)]
    pub lack_of_marketability: Option<DecimalText>,
}

pub async fn set_entity(
    State(state): State<AppState>,
    p: Principal,
    Path((household, name)): Path<(String, String)>,
    headers: HeaderMap,
    Body(b): Body<EntityBody>,
) -> Response {
    ledger_command(&state, &p, &household, &headers, "set an entity", || {
        let owners = b
            .owners
            .iter()
            .map(|o| {
                let share = o.share.decimal("owners").map_err(|e| Problem::field("owners", e))?;
                Ok(domain::entities::Owner { owner: o.owner.clone(), share })
            })
            .collect::<Result<Vec<_>, Problem>>()?;
        let entity = domain::entities::Entity {
            name,
            kind: b.kind.parse().map_err(|e: String| Problem::field("kind", e))?,
            value: b.value.decimal("value").map_err(|e| Problem::field("value", e))?,
            valued_on: b.valued_on.unwrap_or_else(|| chrono::Utc::now().date_naive()),
            grantor: b.grantor.clone(),
            trustee: b.trustee.clone(),
            beneficiaries: b.beneficiaries.clone(),
            owners,
            funded_on: b.funded_on,
            term_years: b.term_years,
            annuity: field_decimal(&b.annuity, "annuity")?,
            death_benefit: field_decimal(&b.death_benefit, "death_benefit")?,
            premium: field_decimal(&b.premium, "premium")?,
            premium_years: b.premium_years,
            crummey: b.crummey,
            gst_exempt: b.gst_exempt,
            lack_of_control: field_decimal(&b.lack_of_control, "lack_of_control")?.unwrap_or_default(),
            lack_of_marketability: field_decimal(&b.lack_of_marketability, "lack_of_marketability")?
                .unwrap_or_default(),
        };
        Ok(LedgerCommand::SetEntity { household: household.clone(), entity })
    })
    .await
}

pub async fn remove_entity(
    State(state): State<AppState>,
    p: Principal,
    Path((household, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    ledger_command(&state, &p, &household, &headers, "remove an entity", || Ok(LedgerCommand::RemoveEntity { name }))
        .await
}

/// A member's details (`PUT /v1/households/{household}/members/{name}`); what is absent is
/// left as it was.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberBody {
    /// Date of birth (not after today).
    #[serde(default)]
    pub born: Option<chrono::NaiveDate>,
    /// `self` or `family`.
    #[serde(default)]
    pub hsa_coverage: Option<String>,
    /// `principal`, `spouse`, `parent`, `sibling`, `child`, `grandchild`, `great_grandchild` or
    /// `other`; one principal and one spouse per household.
    #[serde(default)]
    pub relationship: Option<String>,
    /// A U.S. citizen.
    #[serde(default)]
    pub citizen: Option<bool>,
    /// The state of domicile's two-letter code.
    #[serde(default)]
    pub domicile: Option<String>,
    /// The age the member is expected to live to (1 to 120); the estate planners take Table
    /// 2010CM's life expectancy at the member's age without it.
    #[serde(default)]
    pub lives_to: Option<u32>,
    /// When the member's parent, the principal's (or spouse's) child, died: a grandchild is
    /// then no skip person for gifts after it (IRC §2651(e)).
    #[serde(default)]
    pub parent_died: Option<chrono::NaiveDate>,
}

pub async fn set_member(
    State(state): State<AppState>,
    p: Principal,
    Path((household, name)): Path<(String, String)>,
    headers: HeaderMap,
    Body(b): Body<MemberBody>,
) -> Response {
    ledger_command(&state, &p, &household, &headers, "set a member", || {
        if b.born.is_some_and(|d| d > chrono::Utc::now().date_naive()) {
            return Err(Problem::field("born", "is in the future"));
        }
        if b.parent_died.is_some_and(|d| d > chrono::Utc::now().date_naive()) {
            return Err(Problem::field("parent_died", "is in the future"));
        }
        Ok(LedgerCommand::SetMember {
            household: household.clone(),
            name,
            born: b.born,
            hsa_coverage: parsed("hsa_coverage", b.hsa_coverage.as_deref())?,
            family: domain::family::Family {
                relationship: parsed("relationship", b.relationship.as_deref())?,
                citizen: b.citizen,
                domicile: b.domicile,
                lives_to: b.lives_to,
                parent_died: b.parent_died,
            },
        })
    })
    .await
}

/// `text` parsed, a bad one named by `field`.
fn parsed<T: std::str::FromStr<Err = String>>(field: &str, text: Option<&str>) -> Result<Option<T>, Problem> {
    text.map(str::parse).transpose().map_err(|e| Problem::field(field, e))
}

/// A member's lifetime gift (`POST /v1/households/{household}/gifts`).
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GiftBody {
    /// The member who gave it.
    #[schemars(regex(pattern = r"\S"))]
    pub donor: String,
    /// Who received it: a member's name or anyone else's.
    #[schemars(regex(pattern = r"\S"))]
    pub donee: String,
    /// Dollars given; above 0.
    pub amount: DecimalText,
    /// When it was given; on or before the household's today.
    pub date: chrono::NaiveDate,
    /// `person` (default), `charity`, `citizen_spouse`, `noncitizen_spouse` or
    /// `tuition_or_medical` (paid directly to a school or medical provider); a donee who is the
    /// donor's recorded spouse takes the spouse's citizenship whatever is given.
    #[serde(default)]
    pub kind: Option<String>,
    /// A present interest (default true); a future interest gets no annual exclusion.
    #[serde(default)]
    pub present_interest: Option<bool>,
    /// Split with the donor's spouse (IRC §2513).
    #[serde(default)]
    pub split: Option<bool>,
    /// A 529 contribution spread over five years (IRC §529(c)(2)(B)).
    #[serde(default)]
    pub superfund_529: Option<bool>,
    /// GST exemption allocated to it on the return (0 when absent): a gift to a trust that may
    /// benefit skip persons (IRC §2632(a)); from 0 to the amount.
    #[serde(default)]
    pub gst_allocation: Option<DecimalText>,
}

pub async fn record_gift(
    State(state): State<AppState>,
    p: Principal,
    Path(household): Path<String>,
    headers: HeaderMap,
    Body(b): Body<GiftBody>,
) -> Response {
    let work = async {
        let expected = if_match(&headers)?;
        // The command id comes from the body, not the command (which carries the instant).
        let id = command_uuid(&p, &idempotency::key(&headers)?, &serde_json::to_vec(&b).unwrap_or_default());
        let key_h = authz::household(&state, &p, &household, Need::Write, "record a gift").await?;
        let kind = parsed("kind", Some(b.kind.as_deref().unwrap_or("person")))?.unwrap_or_default();
        let gift = domain::gifts::RecordedGift {
            id: String::new(),
            date: b.date,
            donor: b.donor,
            donee: b.donee,
            kind,
            amount: b.amount.decimal("amount").map_err(|e| Problem::field("amount", e))?,
            present_interest: b.present_interest.unwrap_or(true),
            split: b.split.unwrap_or(false),
            superfund_529: b.superfund_529.unwrap_or(false),
            gst_allocation: field_decimal(&b.gst_allocation, "gst_allocation")?.unwrap_or_default(),
        };
        let command = LedgerCommand::RecordGift { household: household.clone(), gift, now: chrono::Utc::now() };
        let outcome = ledger::execute_expecting(&state.commands, &key_h, &command, expected, id, &p.caller()).await?;
        created(&outcome)
    };
    respond(work.await)
}

pub async fn remove_gift(
    State(state): State<AppState>,
    p: Principal,
    Path((household, id)): Path<(String, String)>,
    headers: HeaderMap,
    Body(c): Body<Cancellation>,
) -> Response {
    ledger_command(&state, &p, &household, &headers, "remove a gift", || {
        Ok(LedgerCommand::RemoveGift { id, reason: c.reason })
    })
    .await
}

/// A standing instruction (`PUT /v1/households/{household}/recurring/{account}/{symbol}/{kind}`):
/// a `purchase` takes `amount`, `every` and `first` (and `last`); a `reinvest` takes nothing.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecurringBody {
    /// Dollars bought each time; above 0.
    #[serde(default)]
    pub amount: Option<DecimalText>,
    /// `week`, `two_weeks`, `month` or `quarter`.
    #[serde(default)]
    pub every: Option<String>,
    /// The first purchase.
    #[serde(default)]
    pub first: Option<chrono::NaiveDate>,
    /// The last day a purchase may fall on.
    #[serde(default)]
    pub last: Option<chrono::NaiveDate>,
}

pub async fn set_recurring(
    State(state): State<AppState>,
    p: Principal,
    Path((household, account, symbol, kind)): Path<(String, String, String, String)>,
    headers: HeaderMap,
    Body(b): Body<RecurringBody>,
) -> Response {
    use domain::ledger::recurring::{Instruction, Recurring};
    ledger_command(&state, &p, &household, &headers, "set a standing instruction", || {
        let needed = |field: &str| Problem::field(field, format!("required for a {kind}"));
        let instruction = match kind.as_str() {
            "purchase" => Instruction::Purchase {
                amount: b
                    .amount
                    .as_ref()
                    .ok_or_else(|| needed("amount"))?
                    .decimal("amount")
                    .map_err(|e| Problem::field("amount", e))?,
                every: b
                    .every
                    .as_deref()
                    .ok_or_else(|| needed("every"))?
                    .parse()
                    .map_err(|e: String| Problem::field("every", e))?,
                first: b.first.ok_or_else(|| needed("first"))?,
                last: b.last,
            },
            "reinvest" => {
                let given = [
                    ("amount", b.amount.is_some()),
                    ("every", b.every.is_some()),
                    ("first", b.first.is_some()),
                    ("last", b.last.is_some()),
                ];
                if let Some((field, _)) = given.iter().find(|(_, g)| *g) {
                    return Err(Problem::field(field, "a reinvestment takes no schedule".to_owned()));
                }
                Instruction::Reinvest
            }
            other => return Err(Problem::field("kind", format!("{other:?} is not purchase or reinvest"))),
        };
        let recurring = Recurring { account: account.clone(), symbol: symbol.trim().to_ascii_uppercase(), instruction };
        Ok(LedgerCommand::SetRecurring { household: household.clone(), recurring })
    })
    .await
}

pub async fn remove_recurring(
    State(state): State<AppState>,
    p: Principal,
    Path((household, account, symbol, kind)): Path<(String, String, String, String)>,
    headers: HeaderMap,
) -> Response {
    ledger_command(&state, &p, &household, &headers, "remove a standing instruction", || {
        Ok(LedgerCommand::RemoveRecurring { account, symbol: symbol.trim().to_ascii_uppercase(), kind })
    })
    .await
}

/// The currency the household's values and performance are reported in.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BaseCurrency {
    /// ISO 4217 (`EUR`, `GBP`; `USD` is the default).
    pub currency: String,
}

pub async fn set_base_currency(
    State(state): State<AppState>,
    p: Principal,
    Path(household): Path<String>,
    headers: HeaderMap,
    Body(b): Body<BaseCurrency>,
) -> Response {
    ledger_command(&state, &p, &household, &headers, "set-base-currency", || {
        Ok(LedgerCommand::SetBaseCurrency { household: household.clone(), currency: b.currency })
    })
    .await
}

/// A new portfolio over some of the household's accounts.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPortfolio {
    /// Letters or digits at least (the name's key keeps those).
    #[schemars(regex(pattern = "[A-Za-z0-9]"))]
    pub name: String,
    /// Labels of the household's accounts.
    pub accounts: Vec<String>,
}

/// Target weights (fractions summing to 1) and the version the editor saw.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Targets {
    /// Symbol or asset class → weight.
    pub targets: BTreeMap<String, DecimalText>,
    /// The portfolio's version when it was read: an edit against another version is a 409
    /// conflict that names the current one.
    #[serde(default)]
    pub expected_version: Option<u64>,
    #[serde(default, deserialize_with = "exact::decimal")]
    #[schemars(with = "Option<DecimalText>")]
    pub drift_threshold: Option<Decimal>,
}

/// The outcome of a portfolio command.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PortfolioChanged {
    pub household: String,
    pub portfolio: String,
    pub version: u64,
    pub events: usize,
    pub last_position: Option<u64>,
}

pub async fn create_portfolio(
    State(state): State<AppState>,
    p: Principal,
    Path(household): Path<String>,
    Body(req): Body<NewPortfolio>,
) -> Result<(StatusCode, axum::Json<PortfolioChanged>), Problem> {
    let key = authz::household(&state, &p, &household, Need::Write, "create a portfolio").await?;
    let command = PortfolioCommand::Create { household: key.clone(), name: req.name.clone(), accounts: req.accounts };
    let done = portfolios::run(&state.commands, &key, &req.name, command, None, &p.caller()).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(PortfolioChanged {
            household: key,
            portfolio: domain::ledger::household_key(&req.name),
            version: done.stream_version,
            events: done.events.len(),
            last_position: done.last_position,
        }),
    ))
}

pub async fn set_targets(
    State(state): State<AppState>,
    p: Principal,
    Path((household, name)): Path<(String, String)>,
    Body(req): Body<Targets>,
) -> Result<axum::Json<PortfolioChanged>, Problem> {
    let key = authz::household(&state, &p, &household, Need::Write, "set portfolio targets").await?;
    let targets = req
        .targets
        .iter()
        .map(|(asset, w)| {
            Ok((asset.clone(), w.decimal(&format!("targets.{asset}")).map_err(|e| Problem::field("targets", e))?))
        })
        .collect::<Result<BTreeMap<_, _>, Problem>>()?;
    let mut done = portfolios::run(
        &state.commands,
        &key,
        &name,
        PortfolioCommand::SetTarget(targets),
        req.expected_version,
        &p.caller(),
    )
    .await?;
    if let Some(t) = req.drift_threshold {
        let more =
            portfolios::run(&state.commands, &key, &name, PortfolioCommand::SetDriftThreshold(t), None, &p.caller())
                .await?;
        done.events.extend(more.events);
        done.stream_version = more.stream_version;
        done.last_position = more.last_position.or(done.last_position);
    }
    Ok(axum::Json(PortfolioChanged {
        household: key,
        portfolio: domain::ledger::household_key(&name),
        version: done.stream_version,
        events: done.events.len(),
        last_position: done.last_position,
    }))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_import_formats_are_csv_auto_and_every_broker() {
        let mut expected = vec!["csv", "auto"];
        expected.extend(super::Broker::ALL.iter().map(|b| b.name()));
        assert_eq!(super::IMPORT_FORMATS, expected.as_slice());
    }
}
