//! A household's alerts over HTTP: listed, snoozed, dismissed (`domain::alerts`), under the
//! household's own access rules (a client sees and answers only their household's alerts).

use axum::extract::{Path, Query, State};
use axum::Json;
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::http::auth::Principal;
use crate::http::authz::{self, Need};
use crate::http::problem::{Body, Problem};
use crate::http::AppState;

/// `GET /v1/households/{household}/alerts`'s parameters.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// `true`: resolved alerts too.
    pub all: Option<bool>,
}

/// One alert as answered.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AlertAnswer {
    pub id: String,
    pub rule: String,
    pub severity: String,
    /// `open`, `dismissed` or `resolved`.
    pub state: String,
    pub portfolio: Option<String>,
    pub subject: Option<String>,
    pub message: String,
    /// The values that triggered it.
    pub values: std::collections::BTreeMap<String, String>,
    /// The read models' position those values reflect.
    pub position: u64,
    pub raised_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub snoozed_until: Option<DateTime<Utc>>,
    pub dismissed_by: Option<String>,
}

/// A household's alerts, newest first.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AlertsAnswer {
    pub household: String,
    /// Open alerts not snoozed now: what a bell counts.
    pub unread: usize,
    pub alerts: Vec<AlertAnswer>,
}

fn answer(a: &domain::alerts::Alert) -> AlertAnswer {
    AlertAnswer {
        id: a.id.clone(),
        rule: a.finding.rule.as_str().to_owned(),
        severity: a.finding.severity.as_str().to_owned(),
        state: a.state.as_str().to_owned(),
        portfolio: a.finding.portfolio.clone(),
        subject: a.finding.subject.clone(),
        message: a.finding.message.clone(),
        values: a.finding.values.clone(),
        position: a.position,
        raised_at: a.raised_at,
        updated_at: a.updated_at,
        resolved_at: a.resolved_at,
        snoozed_until: a.snoozed_until,
        dismissed_by: a.dismissed_by.clone(),
    }
}

pub async fn list(
    State(state): State<AppState>,
    p: Principal,
    Path(household): Path<String>,
    Query(params): Query<ListParams>,
) -> Result<Json<AlertsAnswer>, Problem> {
    let key = authz::household(&state, &p, &household, Need::Read, "read alerts").await?;
    let alerts = commands::alerts::state(&state.commands, &key).await?;
    let now = Utc::now();
    let all = params.all.unwrap_or(false);
    let mut shown: Vec<&domain::alerts::Alert> =
        alerts.alerts.values().filter(|a| all || a.state != domain::alerts::State::Resolved).collect();
    shown.sort_by(|a, b| b.raised_at.cmp(&a.raised_at).then_with(|| a.id.cmp(&b.id)));
    let unread = alerts
        .alerts
        .values()
        .filter(|a| a.state == domain::alerts::State::Open && a.snoozed_until.is_none_or(|u| u <= now))
        .count();
    Ok(Json(AlertsAnswer { household: key, unread, alerts: shown.into_iter().map(answer).collect() }))
}

/// Until when an alert is not notified.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Snooze {
    /// An RFC 3339 instant after now.
    pub until: DateTime<Utc>,
}

/// An alert after a person's answer.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Answered {
    /// Events recorded (0 when it was so already).
    pub events: usize,
    pub alert: AlertAnswer,
}

async fn act(
    state: &AppState,
    p: &Principal,
    household: &str,
    id: &str,
    what: &str,
    command: impl FnOnce(String) -> domain::alerts::AlertCommand,
) -> Result<Json<Answered>, Problem> {
    let key = authz::household(state, p, household, Need::Write, what).await?;
    let done = commands::alerts::execute(&state.commands, &key, &command(p.user_id().to_string()), &p.caller()).await?;
    let alerts = commands::alerts::state(&state.commands, &key).await?;
    let alert = alerts.alerts.get(id).ok_or_else(Problem::not_found)?;
    Ok(Json(Answered { events: done.events.len(), alert: answer(alert) }))
}

pub async fn snooze(
    State(state): State<AppState>,
    p: Principal,
    Path((household, id)): Path<(String, String)>,
    Body(b): Body<Snooze>,
) -> Result<Json<Answered>, Problem> {
    let at = Utc::now();
    act(&state, &p, &household, &id, "snooze an alert", |by| domain::alerts::AlertCommand::Snooze {
        id: id.clone(),
        until: b.until,
        by,
        at,
    })
    .await
}

pub async fn dismiss(
    State(state): State<AppState>,
    p: Principal,
    Path((household, id)): Path<(String, String)>,
    Body(_): Body<super::account::Empty>,
) -> Result<Json<Answered>, Problem> {
    let at = Utc::now();
    act(&state, &p, &household, &id, "dismiss an alert", |by| domain::alerts::AlertCommand::Dismiss {
        id: id.clone(),
        by,
        at,
    })
    .await
}
