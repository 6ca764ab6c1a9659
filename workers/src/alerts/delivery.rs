//! Sending the alerts that are due: for every household with open alerts, every user who
//! hears of it (`queries::alerts::subscribers`: its clients and advisors with alert
//! preferences), every channel they chose, every alert due there (`domain::alerts::Alerts::due`:
//! not snoozed, not dismissed, never sent there or last sent a repeat interval ago), the
//! user's preferences decide (`domain::alerts::Preferences::decide`: least severity, the
//! day's cap in their time zone, quiet hours with the urgent bypass). What goes is rendered
//! (`notify::templates`), delivered with retries (`notify::deliver`), and every try recorded
//! on the household's stream as it ends: `DeliveryAttempted`, then `DeliverySucceeded` or
//! `DeliveryFailed`. A held or skipped notification records nothing; the pass reports it.
//!
//! Recipients in events are never contact details (personal data stays sealed): a user's id
//! for e-mail and text messages, `<user>:<digest of the token>` for each push device, and
//! `webhook` for the configured endpoint (one delivery per alert, whoever chose it).
//!
//! In-app alerts need no delivery: the alert's own events reach the web page over the
//! household's live stream.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use commands::aggregate::Caller;
use commands::security::vault::Vault;
use commands::{CommandError, Context};
use domain::alerts::{Alert, AlertCommand, AlertEvent, Alerts, Channel, Decision, Policy};
use event_store::{EventStore as _, Store};
use projections::db::Db;
use queries::alerts::Subscriber;
use queries::read::Reader;
use serde::Serialize;
use sha2::Digest as _;

use super::EvaluateError;
use crate::notify::config::Settings;
use crate::notify::{Deliverer as _, Message, Recipient};

/// What became of one notification in a pass.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    pub alert: String,
    pub household: String,
    pub channel: Channel,
    /// The recipient as recorded (a user id, `<user>:<device>`, `webhook`).
    pub recipient: String,
    /// `sent`, `failed`, `held` (quiet hours) or `skipped`.
    pub outcome: &'static str,
    /// Why it failed, was held (until when) or skipped; the provider's reference when sent.
    pub detail: Option<String>,
    /// Tries made.
    pub attempts: u32,
}

/// What a pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Dispatched {
    pub sent: usize,
    pub failed: usize,
    pub held: usize,
    pub skipped: usize,
    pub outcomes: Vec<Outcome>,
}

impl Dispatched {
    fn push(&mut self, outcome: Outcome) {
        match outcome.outcome {
            "sent" => self.sent += 1,
            "failed" => self.failed += 1,
            "held" => self.held += 1,
            _ => self.skipped += 1,
        }
        self.outcomes.push(outcome);
    }
}

/// How a user is reached, opened from their sealed data.
#[derive(Default)]
struct Reach {
    name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    devices: Vec<String>,
}

/// The recipient id of a push device: the user and the first 12 hex digits of the token's
/// SHA-256 (the token itself is personal data).
fn device_id(user: &str, token: &str) -> String {
    format!("{user}:{}", &hex::encode(sha2::Sha256::digest(token.as_bytes()))[..12])
}

/// The message of `alert` for the templates.
pub fn message(alert: &Alert, household: &str) -> Message {
    let f = &alert.finding;
    Message {
        alert_id: alert.id.clone(),
        rule: f.rule.as_str().to_owned(),
        severity: f.severity,
        household: household.to_owned(),
        household_name: household.to_owned(),
        title: f.message.clone(),
        values: f.values.iter().map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone()))).collect(),
        created_at: alert.raised_at,
    }
}

/// Sends every notification due at `now` (see the module doc). The `people` read model is
/// caught up first (waiting up to `follower` for the server's own projector).
pub async fn deliver_due(
    cx: &Context<Store>,
    db: &Db,
    vault: &Vault,
    settings: &Settings,
    now: DateTime<Utc>,
    follower: std::time::Duration,
) -> Result<Dispatched, EvaluateError> {
    let head = cx.store().head().await.map_err(CommandError::from)?.map_or(0, |h| h.position);
    let mut reader = Reader::with_db(cx.store().clone(), db.clone());
    reader.at_least("people", head, follower).await?;
    let subscribers = queries::alerts::subscribers(&reader.db).await?;
    let index = queries::alerts::by_household(&subscribers);
    let mut states: BTreeMap<&str, Alerts> = BTreeMap::new();
    for household in index.keys() {
        states.insert(household, commands::alerts::state(cx, household).await?);
    }
    // Contacts are opened only for users of households with open alerts, once per pass.
    let mut reach: HashMap<&str, Reach> = HashMap::new();
    let mut pass = Pass { cx, settings, now, started: Utc::now(), done: HashSet::new(), sent: HashMap::new() };
    let mut dispatched = Dispatched::default();
    for (household, users) in &index {
        let state = &states[household];
        if state.open.is_empty() {
            continue;
        }
        for &i in users {
            let user = &subscribers[i];
            if !reach.contains_key(user.user_id.as_str()) {
                reach.insert(&user.user_id, open(vault, user).await?);
            }
            for &channel in user.preferences.channels.keys() {
                if channel == Channel::InApp {
                    continue;
                }
                for (recipient, to) in recipients(user, &reach[user.user_id.as_str()], channel) {
                    let due: Vec<&Alert> = match &to {
                        Some(_) => state.due(channel, &recipient, now, &Policy::default()),
                        None => Vec::new(),
                    };
                    for alert in due {
                        let counted = if channel == Channel::Webhook { "webhook" } else { user.user_id.as_str() };
                        let since = user.preferences.day_start(now);
                        let today: u32 = user
                            .households
                            .iter()
                            .filter_map(|h| states.get(h.as_str()))
                            .map(|s| s.sent_since(channel, counted, since))
                            .sum::<u32>()
                            + pass.sent.get(&(counted.to_owned(), channel)).copied().unwrap_or(0);
                        let outcome = |outcome, detail: Option<String>| Outcome {
                            alert: alert.id.clone(),
                            household: (*household).to_owned(),
                            channel,
                            recipient: recipient.clone(),
                            outcome,
                            detail,
                            attempts: 0,
                        };
                        match user.preferences.decide(channel, alert.finding.severity, now, today) {
                            Decision::Hold(until) => dispatched
                                .push(outcome("held", Some(format!("quiet hours until {}", until.to_rfc3339())))),
                            Decision::Skip(why) => dispatched.push(outcome("skipped", Some(why))),
                            Decision::Send => {
                                let to = to.as_ref().expect("only reachable recipients have alerts due");
                                if let Some(done) = pass.send(household, alert, &recipient, to, counted).await? {
                                    dispatched.push(done);
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    Ok(dispatched)
}

/// Where `user` is reached on `channel`: each recipient id with its address, or `None` for
/// the address when the user has none there (the channel is then left alone).
fn recipients(user: &Subscriber, reach: &Reach, channel: Channel) -> Vec<(String, Option<Recipient>)> {
    let id = user.user_id.clone();
    match channel {
        Channel::Email => {
            vec![(id, reach.email.clone().map(|address| Recipient::Email { address, name: reach.name.clone() }))]
        }
        Channel::Sms => vec![(id, reach.phone.clone().map(Recipient::Phone))],
        Channel::Push => {
            reach.devices.iter().map(|d| (device_id(&id, d), Some(Recipient::Device(d.clone())))).collect()
        }
        Channel::Webhook => vec![("webhook".to_owned(), Some(Recipient::Endpoint))],
        Channel::InApp => Vec::new(),
    }
}

/// A user's name, email and contacts, opened with their data key (nothing once erased).
async fn open(vault: &Vault, s: &Subscriber) -> Result<Reach, CommandError> {
    let mut reach = Reach::default();
    if let Some(sealed) = &s.personal {
        if let Some(p) = commands::user::open_personal(vault, &s.user_id, sealed).await? {
            (reach.name, reach.email) = (Some(p.name), Some(p.email));
        }
    }
    if let Some(sealed) = &s.contacts {
        if let Some(c) = commands::user::open_alert_contacts(vault, &s.user_id, sealed).await? {
            (reach.phone, reach.devices) = (c.phone, c.devices);
        }
    }
    Ok(reach)
}

/// One pass's sending: what went already, and its clock.
struct Pass<'a> {
    cx: &'a Context<Store>,
    settings: &'a Settings,
    /// The pass's instant (the injected clock's), and the real instant it began: an attempt's
    /// time is recorded as `now` plus the real time since.
    now: DateTime<Utc>,
    started: DateTime<Utc>,
    /// (alert, channel, recipient) sent or tried in this pass.
    done: HashSet<(String, Channel, String)>,
    /// Sent in this pass per (counted recipient, channel), for the caps.
    sent: HashMap<(String, Channel), u32>,
}

impl Pass<'_> {
    /// Renders and delivers `alert` to `to`, recording every try; `None` when this pass tried
    /// it already (a webhook chosen by two users).
    async fn send(
        &mut self,
        household: &str,
        alert: &Alert,
        recipient: &str,
        to: &Recipient,
        counted: &str,
    ) -> Result<Option<Outcome>, EvaluateError> {
        let channel = match to {
            Recipient::Email { .. } => Channel::Email,
            Recipient::Phone(_) => Channel::Sms,
            Recipient::Device(_) => Channel::Push,
            Recipient::Endpoint => Channel::Webhook,
        };
        if !self.done.insert((alert.id.clone(), channel, recipient.to_owned())) {
            return Ok(None);
        }
        let mut outcome = Outcome {
            alert: alert.id.clone(),
            household: household.to_owned(),
            channel,
            recipient: recipient.to_owned(),
            outcome: "skipped",
            detail: None,
            attempts: 0,
        };
        let Some(adapter) = self.settings.adapters.get(&channel) else {
            outcome.detail = Some(format!("no {channel} channel is configured ([notify.{channel}])"));
            return Ok(Some(outcome));
        };
        let rendered = match self.settings.templates.render(&message(alert, household), channel) {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(alert = %alert.id, %channel, error = %e.message, "an alert's template failed");
                (outcome.outcome, outcome.detail) = ("failed", Some(format!("{}: {}", e.template, e.message)));
                return Ok(Some(outcome));
            }
        };
        debug_assert_eq!(adapter.channel(), channel);
        let attempts = crate::notify::deliver(adapter, &rendered, to, &self.settings.retry).await;
        let at = |t: DateTime<Utc>| self.now + (t - self.started);
        let mut events = Vec::new();
        for a in &attempts {
            let (id, recipient) = (alert.id.clone(), recipient.to_owned());
            events.push(AlertEvent::DeliveryAttempted {
                id: id.clone(),
                channel,
                recipient: recipient.clone(),
                attempt: a.number,
                at: at(a.started),
            });
            events.push(match &a.outcome {
                Ok(d) => AlertEvent::DeliverySucceeded {
                    id,
                    channel,
                    recipient,
                    attempt: a.number,
                    at: at(a.finished),
                    reference: d.provider_id.clone(),
                },
                Err(e) => AlertEvent::DeliveryFailed {
                    id,
                    channel,
                    recipient,
                    attempt: a.number,
                    at: at(a.finished),
                    error: e.message().to_owned(),
                    permanent: !e.is_transient(),
                },
            });
        }
        let caller = Caller { actor: "cairn alerts".into(), source: "delivery".into() };
        commands::alerts::execute(self.cx, household, &AlertCommand::Delivery(events), &caller).await?;
        outcome.attempts = attempts.len() as u32;
        match attempts.last().map(|a| &a.outcome) {
            Some(Ok(d)) => {
                *self.sent.entry((counted.to_owned(), channel)).or_default() += 1;
                (outcome.outcome, outcome.detail) = ("sent", d.provider_id.clone());
            }
            Some(Err(e)) => (outcome.outcome, outcome.detail) = ("failed", Some(e.to_string())),
            None => {}
        }
        Ok(Some(outcome))
    }
}

/// Runs a pass every `settings.every` until `stopping` turns true, on `clock`.
pub async fn run(
    cx: Context<Store>,
    db: Db,
    vault: Vault,
    settings: Settings,
    clock: std::sync::Arc<dyn crate::ops::clock::Clock>,
    mut stopping: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        match deliver_due(&cx, &db, &vault, &settings, clock.now(), crate::ops::FOLLOWER).await {
            Ok(d) if d.sent + d.failed > 0 => {
                tracing::info!(sent = d.sent, failed = d.failed, held = d.held, "alert notifications")
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "alert notifications: the pass stopped"),
        }
        let next = clock.now() + chrono::Duration::from_std(settings.every).unwrap_or(chrono::Duration::seconds(60));
        tokio::select! {
            () = clock.sleep_until(next) => {}
            _ = stopping.wait_for(|s| *s) => return,
        }
    }
}
