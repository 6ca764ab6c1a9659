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

/// Delivery statistics of a household's alerts, per channel.
#[derive(Debug, Serialize, JsonSchema)]
pub struct StatsAnswer {
    pub household: String,
    pub channels: Vec<ChannelStats>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ChannelStats {
    /// `email`, `sms`, `push` or `webhook`.
    pub channel: String,
    /// Tries (each retry counts).
    pub attempted: u64,
    pub succeeded: u64,
    pub failed: u64,
    /// Failures no later try could mend (a refused address).
    pub failed_permanently: u64,
}

pub async fn stats(
    State(state): State<AppState>,
    p: Principal,
    Path(household): Path<String>,
) -> Result<Json<StatsAnswer>, Problem> {
    let key = authz::household(&state, &p, &household, Need::Read, "read alert deliveries").await?;
    let alerts = commands::alerts::state(&state.commands, &key).await?;
    let channels = alerts
        .stats
        .iter()
        .map(|(c, s)| ChannelStats {
            channel: c.as_str().to_owned(),
            attempted: s.attempted,
            succeeded: s.succeeded,
            failed: s.failed,
            failed_permanently: s.failed_permanently,
        })
        .collect();
    Ok(Json(StatsAnswer { household: key, channels }))
}

/// A user's alert preferences, as sent and answered.
#[derive(Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PreferencesBody {
    /// Each channel the user hears on (`email`, `sms`, `push`, `webhook`, `in_app`) and the
    /// least severity it carries (`info`, `warning`, `critical`).
    #[serde(default)]
    pub channels: std::collections::BTreeMap<String, String>,
    /// No notification inside this window, local time.
    #[serde(default)]
    pub quiet: Option<QuietBody>,
    /// Notifications a day per channel, a whole number from 0 to 1,000; email 20 and SMS 5
    /// where not given.
    #[serde(default)]
    pub caps: std::collections::BTreeMap<String, serde_json::Number>,
    /// E.164 (`+15551234567`); needed for `sms`.
    #[serde(default)]
    pub phone: Option<String>,
    /// FCM registration tokens; at least one for `push`.
    #[serde(default)]
    pub devices: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QuietBody {
    /// `HH:MM`.
    pub start: String,
    /// `HH:MM`; before `start` for a window across midnight.
    pub end: String,
    /// An IANA time zone (`America/New_York`).
    pub time_zone: String,
    /// Critical alerts go through anyway.
    #[serde(default)]
    pub urgent_bypass: bool,
}

fn preferences(b: PreferencesBody) -> Result<(domain::alerts::Preferences, commands::user::AlertContacts), Problem> {
    use domain::alerts::Channel;
    use domain::monitoring::Severity;
    let channel =
        |field: &str, name: &str| name.parse::<Channel>().map_err(|e| Problem::field(field, format!("{field}: {e}")));
    let mut channels = std::collections::BTreeMap::new();
    for (name, severity) in &b.channels {
        let field = format!("channels.{name}");
        let severity = severity.parse::<Severity>().map_err(|e| Problem::field(&field, format!("{field}: {e}")))?;
        channels.insert(channel(&field, name)?, severity);
    }
    let mut caps = std::collections::BTreeMap::new();
    for (name, cap) in &b.caps {
        let field = format!("caps.{name}");
        // A JSON number that is whole (`5` or `5.0`) and fits; the domain bounds it.
        let whole = cap.as_u64().or_else(|| cap.as_f64().filter(|f| f.fract() == 0.0 && *f >= 0.0).map(|f| f as u64));
        let cap = whole
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| Problem::field(&field, format!("{field}: {cap} is not a whole number of notifications")))?;
        caps.insert(channel(&field, name)?, cap);
    }
    let quiet = match b.quiet {
        None => None,
        Some(q) => {
            let time = |field: &str, t: &str| {
                chrono::NaiveTime::parse_from_str(t.trim(), "%H:%M")
                    .map_err(|_| Problem::field(field, format!("{field}: {t:?} is not HH:MM")))
            };
            Some(domain::alerts::QuietHours {
                start: time("quiet.start", &q.start)?,
                end: time("quiet.end", &q.end)?,
                time_zone: q.time_zone,
                urgent_bypass: q.urgent_bypass,
            })
        }
    };
    let contacts = commands::user::AlertContacts { phone: b.phone, devices: b.devices };
    Ok((domain::alerts::Preferences { channels, quiet, caps }, contacts))
}

fn body(p: Option<domain::alerts::Preferences>, c: commands::user::AlertContacts) -> PreferencesBody {
    let p = p.unwrap_or_default();
    PreferencesBody {
        channels: p.channels.iter().map(|(c, s)| (c.as_str().to_owned(), s.as_str().to_owned())).collect(),
        quiet: p.quiet.map(|q| QuietBody {
            start: q.start.format("%H:%M").to_string(),
            end: q.end.format("%H:%M").to_string(),
            time_zone: q.time_zone,
            urgent_bypass: q.urgent_bypass,
        }),
        caps: p.caps.iter().map(|(c, n)| (c.as_str().to_owned(), (*n).into())).collect(),
        phone: c.phone,
        devices: c.devices,
    }
}

pub async fn get_preferences(State(state): State<AppState>, p: Principal) -> Result<Json<PreferencesBody>, Problem> {
    let (prefs, contacts) = commands::user::alert_preferences(&state.commands, &state.vault, p.user_id()).await?;
    Ok(Json(body(prefs, contacts)))
}

pub async fn put_preferences(
    State(state): State<AppState>,
    p: Principal,
    Body(b): Body<PreferencesBody>,
) -> Result<Json<PreferencesBody>, Problem> {
    let (prefs, contacts) = preferences(b)?;
    commands::user::set_alert_preferences(&state.commands, &state.vault, p.user_id(), prefs, contacts, &p.caller())
        .await?;
    get_preferences(State(state), p).await
}
