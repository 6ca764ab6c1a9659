//! Administration (users, roles, advisor assignments, KYC review) and audit (verification, the
//! security log, the whole event stream).

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::NaiveDate;
use commands::user::{self as users, PersonalData};
use domain::user::{Role, UserCommand};
use event_store::{EventStore as _, StoredEvent};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::account::UserChanged;
use crate::http::auth::Principal;
use crate::http::authz::{self, Need};
use crate::http::problem::{Body, Problem};
use crate::http::query::{Position, Query};
use crate::http::AppState;
use commands::security::password::Passwords;
use queries::read::{belongs_to, Reader};
use queries::rows::Rows;

const ADMIN: &[Role] = &[Role::Admin];
const AUDIT: &[Role] = &[Role::Auditor, Role::Admin];

/// A user created by an admin.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    #[schemars(regex(pattern = r"\S"))]
    pub name: String,
    #[schemars(email)]
    pub email: String,
    /// Optional: without one the user cannot sign in until a password is set. The rules of
    /// registration's.
    #[serde(default)]
    #[schemars(length(min = 12, max = 128), extend("not" = { "pattern": "^(.)\\1*$" }))]
    pub password: Option<String>,
    /// A client's household.
    #[serde(default)]
    pub household: Option<String>,
    /// Roles besides client: advisor, auditor, admin.
    #[serde(default)]
    #[schemars(schema_with = "role_names")]
    pub roles: Vec<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CreatedUser {
    pub user_id: String,
}

pub async fn create_user(
    State(state): State<AppState>,
    p: Principal,
    Body(req): Body<NewUser>,
) -> Result<Response, Problem> {
    authz::role(&state, &p, ADMIN, "creating users").await?;
    let roles = req
        .roles
        .iter()
        .map(|r| r.parse::<Role>().map_err(|e| Problem::field("roles", e)))
        .collect::<Result<Vec<_>, _>>()?;
    let hash = match req.password {
        Some(pw) => {
            Passwords::policy(&pw, &req.email).map_err(|why| Problem::field("password", why))?;
            Some(state.auth.passwords.hash(pw).await.map_err(Problem::internal)?)
        }
        None => None,
    };
    let personal = PersonalData { name: req.name, email: req.email, tax_id: None, born: None };
    let user_id = users::register(&state.commands, &state.vault, &personal, req.household, hash, &p.caller()).await?;
    for role in roles {
        users::command(
            &state.commands,
            &user_id,
            UserCommand::GrantRole { role, by: p.user_id().to_owned() },
            &p.caller(),
        )
        .await?;
    }
    Ok((StatusCode::CREATED, Json(CreatedUser { user_id })).into_response())
}

/// A role to grant.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleGrant {
    /// client, advisor, auditor or admin.
    #[schemars(schema_with = "role_name")]
    pub role: String,
}

/// A role's name, as the schema's enum (from the domain's list).
fn role_name(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let names: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
    schemars::json_schema!({ "type": "string", "enum": names })
}

fn role_names(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({ "type": "array", "items": role_name(g) })
}

fn changed(user_id: &str, done: commands::aggregate::Executed<domain::user::UserEvent>) -> Json<UserChanged> {
    Json(UserChanged {
        user_id: user_id.to_owned(),
        events: done.events.len(),
        version: done.stream_version,
        last_position: done.last_position,
    })
}

pub async fn grant_role(
    State(state): State<AppState>,
    p: Principal,
    Path(user_id): Path<String>,
    Body(req): Body<RoleGrant>,
) -> Result<Json<UserChanged>, Problem> {
    authz::role(&state, &p, ADMIN, "granting roles").await?;
    let role: Role = req.role.parse().map_err(|e: String| Problem::field("role", e))?;
    let command = UserCommand::GrantRole { role, by: p.user_id().to_owned() };
    Ok(changed(&user_id, users::command(&state.commands, &user_id, command, &p.caller()).await?))
}

pub async fn revoke_role(
    State(state): State<AppState>,
    p: Principal,
    Path((user_id, role)): Path<(String, String)>,
) -> Result<Json<UserChanged>, Problem> {
    authz::role(&state, &p, ADMIN, "revoking roles").await?;
    let role: Role = role.parse().map_err(|e: String| Problem::field("role", e))?;
    let command = UserCommand::RevokeRole { role, by: p.user_id().to_owned() };
    Ok(changed(&user_id, users::command(&state.commands, &user_id, command, &p.caller()).await?))
}

/// A household to assign to an advisor.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Assignment {
    pub household: String,
}

pub async fn assign_household(
    State(state): State<AppState>,
    p: Principal,
    Path(user_id): Path<String>,
    Body(req): Body<Assignment>,
) -> Result<Json<UserChanged>, Problem> {
    authz::role(&state, &p, ADMIN, "assigning households").await?;
    let household = domain::ledger::household_key(&req.household);
    let command = UserCommand::AssignHousehold { household, by: p.user_id().to_owned() };
    Ok(changed(&user_id, users::command(&state.commands, &user_id, command, &p.caller()).await?))
}

/// A KYC review step: start, approve (with the expiry) or reject (with the reason).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, tag = "decision", rename_all = "snake_case")]
pub enum KycReview {
    Start,
    Approve { expires_at: NaiveDate },
    Reject { reason: String },
}

pub async fn review_kyc(
    State(state): State<AppState>,
    p: Principal,
    Path(user_id): Path<String>,
    Body(req): Body<KycReview>,
) -> Result<Json<UserChanged>, Problem> {
    authz::role(&state, &p, ADMIN, "reviewing KYC").await?;
    let reviewer = p.user_id().to_owned();
    let command = match req {
        KycReview::Start => UserCommand::StartKycReview { reviewer },
        KycReview::Approve { expires_at } => UserCommand::ApproveKyc { reviewer, expires_at },
        KycReview::Reject { reason } => UserCommand::RejectKyc { reviewer, reason },
    };
    Ok(changed(&user_id, users::command(&state.commands, &user_id, command, &p.caller()).await?))
}

/// The outcome of recomputing the hash chain.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Verified {
    pub ok: bool,
    /// Events whose links were checked and found good.
    pub checked: u64,
    /// The first broken position, if any.
    pub broken_at: Option<u64>,
}

pub async fn verify(State(state): State<AppState>, p: Principal) -> Result<Json<Verified>, Problem> {
    authz::role(&state, &p, AUDIT, "verifying the log").await?;
    let v = state.store.verify().await?;
    Ok(Json(Verified { ok: v.broken.is_none(), checked: v.checked, broken_at: v.broken.map(|b| b.position()) }))
}

/// The signed tree heads this server issued since it started, oldest first.
#[derive(Debug, Serialize, JsonSchema)]
pub struct HeadsAnswer {
    pub heads: Vec<crate::audit::SignedHead>,
    /// The audit key's public half, to check them with.
    pub public_key: Option<String>,
}

pub async fn audit_heads(State(state): State<AppState>, p: Principal) -> Result<Json<HeadsAnswer>, Problem> {
    authz::role(&state, &p, AUDIT, "reading the signed tree heads").await?;
    let heads = state.heads.recent();
    let public_key = heads.last().map(|h| h.public_key.clone());
    Ok(Json(HeadsAnswer { heads, public_key }))
}

/// Query of the security log.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecurityParams {
    pub user: Option<String>,
    pub min_position: Option<Position>,
}

pub async fn security_log(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<SecurityParams>,
) -> Result<Json<Rows>, Problem> {
    authz::role(&state, &p, AUDIT, "reading the security log").await?;
    let mut reader = Reader::with_db(state.store.clone(), state.db.clone());
    let position = reader
        .at_least("people", q.min_position.map_or(0, |p| p.0), super::households::FOLLOWER)
        .await
        .map_err(Problem::internal)?
        .checkpoint;
    let table = &projections::people::SECURITY_LOG;
    let filters: Vec<(&str, Option<String>)> =
        q.user.map(|u| ("user_id", Some(u.trim().to_lowercase()))).into_iter().collect();
    let rows = reader.db.select(table, &filters).await?;
    let (columns, rows) = (queries::rows::columns(table), queries::rows::objects(table, rows));
    Ok(Json(Rows { household: None, position, as_of: None, columns, rows }))
}

/// Where a live stream starts: `Last-Event-ID` (a reconnecting EventSource) or `?from=`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamParams {
    pub from: Option<Position>,
}

fn sse_event(e: &StoredEvent) -> Event {
    let data = serde_json::json!({
        "position": e.global_position,
        "stream": e.stream_id.as_str(),
        "type": e.event_type,
        "version": e.stream_version,
        "recorded_at": e.recorded_at,
    });
    Event::default().id(e.global_position.to_string()).event("event").data(data.to_string())
}

/// Server-Sent Events of committed events that pass `keep`, from `from` (default: the head).
async fn stream(
    state: &AppState,
    expires: i64,
    headers: &axum::http::HeaderMap,
    from: Option<u64>,
    keep: impl Fn(&StoredEvent) -> bool + Send + 'static,
) -> Result<Response, Problem> {
    let resume =
        headers.get("last-event-id").and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok()).map(|p| p + 1);
    let start = match resume.or(from) {
        Some(p) => p,
        None => state.store.head().await?.map_or(0, |h| h.position) + 1,
    };
    let sub = state.store.subscribe(start);
    let stopping = state.stopping.clone();
    // The stream lasts as long as the token that opened it: a client reconnects with a fresh
    // one (and Last-Event-ID), so a revoked session or a withdrawn assignment stops it.
    let left = u64::try_from(expires - chrono::Utc::now().timestamp()).unwrap_or(0);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(left);
    let events = futures::stream::unfold((sub, keep, stopping), move |(mut sub, keep, mut stopping)| async move {
        loop {
            let next = tokio::select! {
                next = sub.next_batch(256) => next,
                _ = stopping.wait_for(|s| *s) => return None,
                () = tokio::time::sleep_until(deadline) => return None,
            };
            match next {
                Ok(batch) => {
                    let out: Vec<Result<Event, Infallible>> =
                        batch.iter().filter(|e| keep(e)).map(|e| Ok(sse_event(e))).collect();
                    if !out.is_empty() {
                        return Some((futures::stream::iter(out), (sub, keep, stopping)));
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "event stream ended");
                    return None;
                }
            }
        }
    });
    let flat = futures::StreamExt::flatten(events);
    Ok(Sse::new(flat).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))).into_response())
}

pub async fn household_stream(
    State(state): State<AppState>,
    p: Principal,
    Path(household): Path<String>,
    Query(q): Query<StreamParams>,
    headers: axum::http::HeaderMap,
) -> Result<Response, Problem> {
    let key = authz::household(&state, &p, &household, Need::Read, "stream").await?;
    stream(&state, p.claims.exp, &headers, q.from.map(|p| p.0), move |e| belongs_to(e, &key)).await
}

pub async fn all_events_stream(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<StreamParams>,
    headers: axum::http::HeaderMap,
) -> Result<Response, Problem> {
    authz::role(&state, &p, AUDIT, "the whole event stream").await?;
    stream(&state, p.claims.exp, &headers, q.from.map(|p| p.0), |_| true).await
}
