//! Alerts: the monitoring rules' findings ([`crate::monitoring`]) that need a person, kept as
//! events on the household's stream `alerts-<household>`, so which alerts fired, on what
//! values and read-model position, who snoozed or dismissed them and every delivery attempt are
//! all in the log.
//!
//! The lifecycle follows Prometheus Alertmanager's:
//! - **Raised** once per condition: a finding whose dedupe `key` has no open alert raises one
//!   (`AlertRaised`), unless an alert of that key was resolved less than the policy's
//!   `cooldown` ago (a condition flapping around its threshold is not raised again and again).
//! - **Escalated** when the open alert's condition worsens to a higher severity.
//! - **Resolved** (`AlertResolved`) when an evaluation of its rule no longer finds it.
//! - **Repeated**: an open alert is due for notification again `repeat` after its last
//!   successful delivery on a channel ([`Alerts::due`]), as Alertmanager's `repeat_interval`,
//!   counted from the last successful send.
//! - **Snoozed** until an instant (no notification before it), or **dismissed** by a person
//!   (no notification while the condition lasts; once it clears the alert resolves, and a new
//!   occurrence raises a new alert).
//!
//! The household's monitoring thresholds are events on the same stream (`ThresholdsSet`: a
//! profile and settings overridden by name), so the thresholds in force when an alert fired
//! are those folded up to it, as of any instant.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::monitoring::{Finding, Profile, Rule, Severity, Thresholds};
use crate::DomainError;

/// The schema version of every alert event type this code writes.
pub const SCHEMA_VERSION: u32 = 1;

/// How alerts of a household are raised again and repeated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// After an alert resolves, a finding of the same key raises no new alert for this long.
    pub cooldown: Duration,
    /// An open alert is notified again this long after its last successful delivery.
    pub repeat: Duration,
}

impl Default for Policy {
    /// Alertmanager's default `repeat_interval` is 4 hours; cairn's rules run on the daily
    /// phases, so a day, and a day's cooldown.
    fn default() -> Self {
        Self { cooldown: Duration::hours(24), repeat: Duration::hours(24) }
    }
}

/// A delivery channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Email,
    Sms,
    Push,
    Webhook,
    InApp,
}

impl Channel {
    pub const ALL: [Channel; 5] = [Self::Email, Self::Sms, Self::Push, Self::Webhook, Self::InApp];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Sms => "sms",
            Self::Push => "push",
            Self::Webhook => "webhook",
            Self::InApp => "in_app",
        }
    }
}

impl std::fmt::Display for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Channel {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == s.trim())
            .ok_or_else(|| format!("{s:?} is not a channel ({})", Self::ALL.map(Channel::as_str).join(", ")))
    }
}

/// What happened to a household's alerts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AlertEvent {
    AlertRaised {
        /// `<key>#<n>`: the n-th alert of that key.
        id: String,
        finding: Finding,
        /// The read models' position the finding reflects.
        position: u64,
        at: DateTime<Utc>,
    },
    /// The open alert's condition worsened (or its numbers moved) to a higher severity.
    AlertEscalated {
        id: String,
        finding: Finding,
        position: u64,
        at: DateTime<Utc>,
    },
    AlertResolved {
        id: String,
        position: u64,
        at: DateTime<Utc>,
    },
    AlertSnoozed {
        id: String,
        until: DateTime<Utc>,
        by: String,
        at: DateTime<Utc>,
    },
    AlertDismissed {
        id: String,
        by: String,
        at: DateTime<Utc>,
    },
    DeliveryAttempted {
        id: String,
        channel: Channel,
        recipient: String,
        attempt: u32,
        at: DateTime<Utc>,
    },
    DeliverySucceeded {
        id: String,
        channel: Channel,
        recipient: String,
        attempt: u32,
        at: DateTime<Utc>,
        /// The provider's id of the message (SMTP queue id, Twilio's `sid`, FCM's `name`).
        reference: Option<String>,
    },
    DeliveryFailed {
        id: String,
        channel: Channel,
        recipient: String,
        attempt: u32,
        at: DateTime<Utc>,
        error: String,
        /// No later attempt will succeed (a refused address), as against a passing failure.
        permanent: bool,
    },
    /// The household's monitoring thresholds: a profile's defaults with some settings
    /// overridden (by `domain::monitoring::Thresholds::NAMES`, values as text).
    ThresholdsSet {
        profile: Profile,
        overrides: BTreeMap<String, String>,
        by: String,
        at: DateTime<Utc>,
    },
}

impl AlertEvent {
    pub fn event_type(&self) -> &'static str {
        match self {
            Self::AlertRaised { .. } => "AlertRaised",
            Self::AlertEscalated { .. } => "AlertEscalated",
            Self::AlertResolved { .. } => "AlertResolved",
            Self::AlertSnoozed { .. } => "AlertSnoozed",
            Self::AlertDismissed { .. } => "AlertDismissed",
            Self::DeliveryAttempted { .. } => "DeliveryAttempted",
            Self::DeliverySucceeded { .. } => "DeliverySucceeded",
            Self::DeliveryFailed { .. } => "DeliveryFailed",
            Self::ThresholdsSet { .. } => "ThresholdsSet",
        }
    }
}

/// Where an alert stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Open,
    Dismissed,
    Resolved,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Dismissed => "dismissed",
            Self::Resolved => "resolved",
        }
    }
}

/// One alert as the events made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Alert {
    pub id: String,
    pub finding: Finding,
    pub state: State,
    pub position: u64,
    pub raised_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub snoozed_until: Option<DateTime<Utc>>,
    pub dismissed_by: Option<String>,
    /// The last successful delivery per (channel, recipient).
    pub delivered: BTreeMap<(Channel, String), DateTime<Utc>>,
    /// Attempts made per (channel, recipient) since the last success.
    pub attempts: BTreeMap<(Channel, String), u32>,
    /// (channel, recipient) pairs that failed for good.
    pub undeliverable: Vec<(Channel, String)>,
}

/// A household's alerts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Alerts {
    /// Every alert, by id, in the order raised.
    pub alerts: BTreeMap<String, Alert>,
    /// The open (or dismissed, not yet resolved) alert of each key.
    pub open: BTreeMap<String, String>,
    /// When each key's last alert resolved.
    pub resolved: BTreeMap<String, DateTime<Utc>>,
    /// Alerts raised per key so far (for ids).
    pub raised: BTreeMap<String, u32>,
    /// The household's profile (moderate until set) and its overridden settings.
    pub profile: Option<Profile>,
    pub overrides: BTreeMap<String, String>,
    /// When each successful delivery went, per (channel, recipient): the daily caps count them.
    pub sent: BTreeMap<(Channel, String), Vec<DateTime<Utc>>>,
    /// Delivery statistics per channel, over the household's whole history.
    pub stats: BTreeMap<Channel, DeliveryStats>,
}

/// What deliveries on a channel came to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DeliveryStats {
    /// Tries made (each retry counts).
    pub attempted: u64,
    pub succeeded: u64,
    pub failed: u64,
    /// Failures after which no later try could succeed (a refused address).
    pub failed_permanently: u64,
}

impl Alerts {
    /// The thresholds in force: the profile's defaults with the overrides applied (each was
    /// checked when it was set).
    pub fn thresholds(&self) -> Thresholds {
        let mut t = Thresholds::of(self.profile.unwrap_or(Profile::Moderate));
        for (name, value) in &self.overrides {
            let _ = t.set(name, value);
        }
        t
    }

    /// Successful deliveries on `channel` to `recipient` (or, for a recipient `user`, to any of
    /// `user`'s devices, `user:…`) at or after `since`.
    pub fn sent_since(&self, channel: Channel, recipient: &str, since: DateTime<Utc>) -> u32 {
        let device = format!("{recipient}:");
        self.sent
            .iter()
            .filter(|((c, r), _)| *c == channel && (r == recipient || r.starts_with(&device)))
            .map(|(_, times)| times.iter().filter(|t| **t >= since).count() as u32)
            .sum()
    }

    /// The open alerts due for notification on `channel` to `recipient` at `now`: not
    /// dismissed, not snoozed past `now`, not undeliverable there, and never delivered there
    /// or last delivered at least `policy.repeat` ago.
    pub fn due(&self, channel: Channel, recipient: &str, now: DateTime<Utc>, policy: &Policy) -> Vec<&Alert> {
        self.open
            .values()
            .filter_map(|id| self.alerts.get(id))
            .filter(|a| a.state == State::Open)
            .filter(|a| a.snoozed_until.is_none_or(|u| u <= now))
            .filter(|a| !a.undeliverable.iter().any(|(c, r)| *c == channel && r == recipient))
            .filter(|a| {
                a.delivered.get(&(channel, recipient.to_owned())).is_none_or(|last| now - *last >= policy.repeat)
            })
            .collect()
    }
}

/// What the shell asks of a household's alerts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlertCommand {
    /// The findings of an evaluation of `rules` at `position`: raise, escalate and resolve.
    Evaluate {
        findings: Vec<Finding>,
        rules: Vec<Rule>,
        position: u64,
        at: DateTime<Utc>,
        policy: Policy,
    },
    Snooze {
        id: String,
        until: DateTime<Utc>,
        by: String,
        at: DateTime<Utc>,
    },
    Dismiss {
        id: String,
        by: String,
        at: DateTime<Utc>,
    },
    /// A delivery's attempts and their outcomes, as they happened (recorded together).
    Delivery(Vec<AlertEvent>),
    /// Sets the profile (when given) and settings by name (`("drift_asset", "0.04")`; an empty
    /// value takes the setting back to the profile's default).
    SetThresholds {
        profile: Option<Profile>,
        settings: Vec<(String, String)>,
        by: String,
        at: DateTime<Utc>,
    },
}

/// The alerts aggregate, one stream per household.
pub struct AlertDecider;

impl crate::decider::Decider for AlertDecider {
    type State = Alerts;
    type Command = AlertCommand;
    type Event = AlertEvent;
    const SCHEMA_VERSION: u32 = SCHEMA_VERSION;

    fn decide(state: &Alerts, command: &AlertCommand) -> Result<Vec<AlertEvent>, DomainError> {
        match command {
            AlertCommand::Evaluate { findings, rules, position, at, policy } => {
                Ok(evaluate(state, findings, rules, *position, *at, policy))
            }
            AlertCommand::Snooze { id, until, by, at } => {
                let alert = open(state, id)?;
                if *until <= *at {
                    return Err(DomainError::Rejected {
                        line: None,
                        field: "until".into(),
                        problem: format!("{until} is not after now ({at})"),
                    });
                }
                if alert.snoozed_until == Some(*until) {
                    return Ok(Vec::new());
                }
                Ok(vec![AlertEvent::AlertSnoozed { id: id.clone(), until: *until, by: by.clone(), at: *at }])
            }
            AlertCommand::Dismiss { id, by, at } => {
                let alert =
                    state.alerts.get(id).ok_or_else(|| DomainError::not_found("alert", format!("no alert {id}")))?;
                match alert.state {
                    State::Dismissed => Ok(Vec::new()),
                    State::Resolved => Err(DomainError::conflict("alert", format!("{id} is resolved already"))),
                    State::Open => Ok(vec![AlertEvent::AlertDismissed { id: id.clone(), by: by.clone(), at: *at }]),
                }
            }
            AlertCommand::SetThresholds { profile, settings, by, at } => {
                let profile = profile.or(state.profile).unwrap_or(Profile::Moderate);
                let mut overrides = state.overrides.clone();
                for (name, value) in settings {
                    if value.trim().is_empty() {
                        if !Thresholds::NAMES.contains(&name.as_str()) {
                            Thresholds::of(profile).set(name, "0")?;
                        }
                        overrides.remove(name);
                    } else {
                        Thresholds::of(profile).set(name, value)?;
                        overrides.insert(name.clone(), value.trim().to_owned());
                    }
                }
                if state.profile == Some(profile) && state.overrides == overrides {
                    return Ok(Vec::new());
                }
                Ok(vec![AlertEvent::ThresholdsSet { profile, overrides, by: by.clone(), at: *at }])
            }
            AlertCommand::Delivery(events) => {
                for event in events {
                    match event {
                        AlertEvent::DeliveryAttempted { id, .. }
                        | AlertEvent::DeliverySucceeded { id, .. }
                        | AlertEvent::DeliveryFailed { id, .. } => {
                            state
                                .alerts
                                .get(id)
                                .ok_or_else(|| DomainError::not_found("alert", format!("no alert {id}")))?;
                        }
                        other => {
                            return Err(DomainError::conflict(
                                "event",
                                format!("{} is not a delivery", other.event_type()),
                            ))
                        }
                    }
                }
                Ok(events.clone())
            }
        }
    }

    fn evolve(mut state: Alerts, event: &AlertEvent) -> Alerts {
        match event {
            AlertEvent::AlertRaised { id, finding, position, at } => {
                *state.raised.entry(finding.key.clone()).or_default() += 1;
                state.open.insert(finding.key.clone(), id.clone());
                state.alerts.insert(
                    id.clone(),
                    Alert {
                        id: id.clone(),
                        finding: finding.clone(),
                        state: State::Open,
                        position: *position,
                        raised_at: *at,
                        updated_at: *at,
                        resolved_at: None,
                        snoozed_until: None,
                        dismissed_by: None,
                        delivered: BTreeMap::new(),
                        attempts: BTreeMap::new(),
                        undeliverable: Vec::new(),
                    },
                );
            }
            AlertEvent::AlertEscalated { id, finding, position, at } => {
                if let Some(a) = state.alerts.get_mut(id) {
                    (a.finding, a.position, a.updated_at) = (finding.clone(), *position, *at);
                    // A worse condition is worth hearing again at once.
                    a.delivered.clear();
                }
            }
            AlertEvent::AlertResolved { id, position, at } => {
                if let Some(a) = state.alerts.get_mut(id) {
                    (a.state, a.position, a.updated_at, a.resolved_at) = (State::Resolved, *position, *at, Some(*at));
                    state.open.remove(&a.finding.key);
                    state.resolved.insert(a.finding.key.clone(), *at);
                }
            }
            AlertEvent::AlertSnoozed { id, until, at, .. } => {
                if let Some(a) = state.alerts.get_mut(id) {
                    (a.snoozed_until, a.updated_at) = (Some(*until), *at);
                }
            }
            AlertEvent::AlertDismissed { id, by, at } => {
                if let Some(a) = state.alerts.get_mut(id) {
                    (a.state, a.dismissed_by, a.updated_at) = (State::Dismissed, Some(by.clone()), *at);
                }
            }
            AlertEvent::DeliveryAttempted { id, channel, recipient, .. } => {
                state.stats.entry(*channel).or_default().attempted += 1;
                if let Some(a) = state.alerts.get_mut(id) {
                    *a.attempts.entry((*channel, recipient.clone())).or_default() += 1;
                }
            }
            AlertEvent::DeliverySucceeded { id, channel, recipient, at, .. } => {
                state.stats.entry(*channel).or_default().succeeded += 1;
                state.sent.entry((*channel, recipient.clone())).or_default().push(*at);
                if let Some(a) = state.alerts.get_mut(id) {
                    a.delivered.insert((*channel, recipient.clone()), *at);
                    a.attempts.remove(&(*channel, recipient.clone()));
                }
            }
            AlertEvent::ThresholdsSet { profile, overrides, .. } => {
                state.profile = Some(*profile);
                state.overrides = overrides.clone();
            }
            AlertEvent::DeliveryFailed { id, channel, recipient, permanent, .. } => {
                let stats = state.stats.entry(*channel).or_default();
                stats.failed += 1;
                stats.failed_permanently += u64::from(*permanent);
                if let Some(a) = state.alerts.get_mut(id) {
                    if *permanent {
                        a.undeliverable.push((*channel, recipient.clone()));
                    }
                }
            }
        }
        state
    }

    fn event_type(event: &AlertEvent) -> &'static str {
        event.event_type()
    }
}

fn open<'a>(state: &'a Alerts, id: &str) -> Result<&'a Alert, DomainError> {
    let alert = state.alerts.get(id).ok_or_else(|| DomainError::not_found("alert", format!("no alert {id}")))?;
    match alert.state {
        State::Open => Ok(alert),
        other => Err(DomainError::conflict("alert", format!("{id} is {}", other.as_str()))),
    }
}

/// An evaluation's events: see the module's doc.
fn evaluate(
    state: &Alerts,
    findings: &[Finding],
    rules: &[Rule],
    position: u64,
    at: DateTime<Utc>,
    policy: &Policy,
) -> Vec<AlertEvent> {
    let mut events = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for f in findings {
        if !seen.insert(f.key.as_str()) {
            continue;
        }
        match state.open.get(&f.key).and_then(|id| state.alerts.get(id)) {
            Some(a) if f.severity > a.finding.severity => {
                events.push(AlertEvent::AlertEscalated { id: a.id.clone(), finding: f.clone(), position, at })
            }
            Some(_) => {}
            None => {
                let cooling = state.resolved.get(&f.key).is_some_and(|r| at - *r < policy.cooldown);
                if !cooling {
                    let n = state.raised.get(&f.key).copied().unwrap_or(0) + 1;
                    events.push(AlertEvent::AlertRaised {
                        id: format!("{}#{n}", f.key),
                        finding: f.clone(),
                        position,
                        at,
                    });
                }
            }
        }
    }
    for (key, id) in &state.open {
        let Some(a) = state.alerts.get(id) else { continue };
        if rules.contains(&a.finding.rule) && !seen.contains(key.as_str()) {
            events.push(AlertEvent::AlertResolved { id: id.clone(), position, at });
        }
    }
    events
}

/// Daily caps per channel unless a user sets their own: at most 20 emails and 5 text messages
/// a day (house policy: enough for every critical alert of a bad day, few enough that a
/// flapping rule cannot flood a person; push and in-app cost nothing to ignore, webhooks are
/// machines).
pub const DEFAULT_DAILY_CAPS: &[(Channel, u32)] = &[(Channel::Email, 20), (Channel::Sms, 5)];

/// A user's quiet hours: no notification from `start` to `end` local time in `time_zone` (a
/// window across midnight, 22:00 to 07:00, runs into the next day), except an urgent one
/// (critical) when `urgent_bypass`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuietHours {
    pub start: chrono::NaiveTime,
    pub end: chrono::NaiveTime,
    /// An IANA name, checked when the preferences are set ([`QuietHours::zone`]).
    pub time_zone: String,
    pub urgent_bypass: bool,
}

impl QuietHours {
    /// The time zone, refused naming the field when it is not an IANA name.
    pub fn zone(&self) -> Result<chrono_tz::Tz, DomainError> {
        self.time_zone.parse().map_err(|_| DomainError::Rejected {
            line: None,
            field: "time_zone".into(),
            problem: format!("{:?} is not an IANA time zone", self.time_zone),
        })
    }

    /// When the quiet window holding `at` ends, or `None` when `at` is outside it (or the
    /// zone is unknown: the preferences were checked when set).
    pub fn ends_after(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let zone = self.zone().ok()?;
        let local = at.with_timezone(&zone);
        let (date, time) = (local.date_naive(), local.time());
        let inside = if self.start <= self.end {
            self.start <= time && time < self.end
        } else {
            time >= self.start || time < self.end
        };
        if !inside || self.start == self.end {
            return None;
        }
        // The end is today when it is still ahead, else tomorrow (a window across midnight).
        let end_date = if time < self.end { date } else { date + Duration::days(1) };
        let local_end = end_date.and_time(self.end);
        let instant = |local| match chrono::TimeZone::from_local_datetime(&zone, &local) {
            chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => Some(t.with_timezone(&Utc)),
            chrono::LocalResult::None => None,
        };
        // An end in the hour skipped by daylight saving time is read an hour later.
        instant(local_end).or_else(|| instant(local_end + Duration::hours(1)))
    }
}

/// A user's alert preferences: the least severity each channel carries (a channel absent is
/// not used), quiet hours, and daily caps per channel (the defaults where absent).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preferences {
    pub channels: BTreeMap<Channel, Severity>,
    pub quiet: Option<QuietHours>,
    pub caps: BTreeMap<Channel, u32>,
}

/// Whether a notification goes now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Send,
    /// Not now: quiet hours until this instant.
    Hold(DateTime<Utc>),
    /// Not on this channel: the reason (below its severity, not chosen, the day's cap reached).
    Skip(String),
}

/// The most a daily cap may be: a cap is a guard against floods, not a quota.
pub const MAX_DAILY_CAP: u32 = 1_000;

impl Preferences {
    /// Checks what a user set: the quiet hours' time zone is an IANA name and its window is not
    /// empty, caps are at most [`MAX_DAILY_CAP`]; each refusal names its field.
    pub fn validate(&self) -> Result<(), DomainError> {
        let refuse = |field: &str, problem: String| DomainError::Rejected { line: None, field: field.into(), problem };
        if let Some(q) = &self.quiet {
            q.zone()?;
            if q.start == q.end {
                return Err(refuse(
                    "quiet",
                    format!("starts and ends at {}: an empty window", q.start.format("%H:%M")),
                ));
            }
        }
        for (channel, cap) in &self.caps {
            if *cap > MAX_DAILY_CAP {
                return Err(refuse("caps", format!("{cap} a day on {channel} is over the most, {MAX_DAILY_CAP}")));
            }
        }
        Ok(())
    }

    /// When the day holding `at` began in the user's time zone (their quiet hours' zone, else
    /// UTC): the daily caps count from there.
    pub fn day_start(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        let Some(zone) = self.quiet.as_ref().and_then(|q| q.zone().ok()) else {
            return at.date_naive().and_time(chrono::NaiveTime::MIN).and_utc();
        };
        let midnight = at.with_timezone(&zone).date_naive().and_time(chrono::NaiveTime::MIN);
        // Midnight skipped by a daylight saving change (a few zones change at 00:00) is 01:00.
        let first = |local| chrono::TimeZone::from_local_datetime(&zone, &local).earliest();
        first(midnight).or_else(|| first(midnight + Duration::hours(1))).map_or(at, |t| t.with_timezone(&Utc))
    }

    /// The daily cap of `channel`.
    pub fn cap(&self, channel: Channel) -> Option<u32> {
        self.caps
            .get(&channel)
            .copied()
            .or_else(|| DEFAULT_DAILY_CAPS.iter().find(|(c, _)| *c == channel).map(|(_, n)| *n))
    }

    /// Whether an alert of `severity` goes on `channel` at `at`, `sent_today` notifications
    /// having gone on it already that day (in the user's time zone).
    pub fn decide(&self, channel: Channel, severity: Severity, at: DateTime<Utc>, sent_today: u32) -> Decision {
        let Some(least) = self.channels.get(&channel) else {
            return Decision::Skip(format!("{} is not among the user's channels", channel.as_str()));
        };
        if severity < *least {
            return Decision::Skip(format!(
                "{} is below {} for {}",
                severity.as_str(),
                least.as_str(),
                channel.as_str()
            ));
        }
        if let Some(cap) = self.cap(channel).filter(|cap| sent_today >= *cap) {
            return Decision::Skip(format!("the day's cap of {cap} on {} is reached", channel.as_str()));
        }
        match &self.quiet {
            Some(q) if !(q.urgent_bypass && severity == Severity::Critical) => match q.ends_after(at) {
                Some(end) => Decision::Hold(end),
                None => Decision::Send,
            },
            _ => Decision::Send,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decider::testing::given;
    use crate::decider::Decider;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn finding(severity: Severity) -> Finding {
        Finding {
            rule: Rule::Drift,
            severity,
            key: "drift:smith:core:VTI".into(),
            household: "smith".into(),
            portfolio: Some("core".into()),
            subject: Some("VTI".into()),
            message: "VTI is 40 points over its target".into(),
            values: BTreeMap::new(),
        }
    }

    fn evaluation(findings: Vec<Finding>, when: &str) -> AlertCommand {
        AlertCommand::Evaluate {
            findings,
            rules: vec![Rule::Drift],
            position: 7,
            at: at(when),
            policy: Policy::default(),
        }
    }

    fn run(events: &mut Vec<AlertEvent>, command: AlertCommand) -> Vec<AlertEvent> {
        let decided = given::<AlertDecider>(events).when(&command).decided.unwrap();
        events.extend(decided.clone());
        decided
    }

    #[test]
    fn a_condition_raises_one_alert_escalates_and_resolves_when_it_clears() {
        let mut log = Vec::new();
        let raised = run(&mut log, evaluation(vec![finding(Severity::Warning)], "2025-12-01T14:30:00Z"));
        assert!(
            matches!(&raised[..], [AlertEvent::AlertRaised { id, .. }] if id == "drift:smith:core:VTI#1"),
            "{raised:?}"
        );
        // The same condition again: nothing new.
        assert!(run(&mut log, evaluation(vec![finding(Severity::Warning)], "2025-12-02T14:30:00Z")).is_empty());
        // Worse: escalated, same alert.
        let worse = run(&mut log, evaluation(vec![finding(Severity::Critical)], "2025-12-03T14:30:00Z"));
        assert!(matches!(&worse[..], [AlertEvent::AlertEscalated { id, .. }] if id.ends_with("#1")), "{worse:?}");
        // Cleared: resolved.
        let cleared = run(&mut log, evaluation(vec![], "2025-12-04T14:30:00Z"));
        assert!(matches!(&cleared[..], [AlertEvent::AlertResolved { .. }]), "{cleared:?}");
        // Back within the day's cooldown: not raised; after it: a new alert, #2.
        assert!(run(&mut log, evaluation(vec![finding(Severity::Warning)], "2025-12-04T20:00:00Z")).is_empty());
        let again = run(&mut log, evaluation(vec![finding(Severity::Warning)], "2025-12-05T15:00:00Z"));
        assert!(matches!(&again[..], [AlertEvent::AlertRaised { id, .. }] if id.ends_with("#2")), "{again:?}");
    }

    #[test]
    fn an_evaluation_of_other_rules_resolves_nothing() {
        let mut log = Vec::new();
        run(&mut log, evaluation(vec![finding(Severity::Warning)], "2025-12-01T14:30:00Z"));
        let other = AlertCommand::Evaluate {
            findings: vec![],
            rules: vec![Rule::Drawdown],
            position: 8,
            at: at("2025-12-01T15:00:00Z"),
            policy: Policy::default(),
        };
        assert!(run(&mut log, other).is_empty());
    }

    #[test]
    fn repeats_count_from_the_last_successful_send_and_snooze_and_dismiss_silence() {
        let mut log = Vec::new();
        run(&mut log, evaluation(vec![finding(Severity::Warning)], "2025-12-01T14:30:00Z"));
        let id = "drift:smith:core:VTI#1".to_owned();
        let policy = Policy::default();
        let state = AlertDecider::fold(&log);
        assert_eq!(state.due(Channel::Email, "ana@example.com", at("2025-12-01T14:31:00Z"), &policy).len(), 1);
        let sent = AlertEvent::DeliverySucceeded {
            id: id.clone(),
            channel: Channel::Email,
            recipient: "ana@example.com".into(),
            attempt: 1,
            at: at("2025-12-01T14:31:00Z"),
            reference: None,
        };
        run(&mut log, AlertCommand::Delivery(vec![sent]));
        let state = AlertDecider::fold(&log);
        assert!(state.due(Channel::Email, "ana@example.com", at("2025-12-02T14:30:00Z"), &policy).is_empty());
        assert_eq!(state.due(Channel::Email, "ana@example.com", at("2025-12-02T14:31:00Z"), &policy).len(), 1);
        assert_eq!(state.due(Channel::Sms, "+15555550100", at("2025-12-01T14:32:00Z"), &policy).len(), 1);

        let snooze = AlertCommand::Snooze {
            id: id.clone(),
            until: at("2025-12-03T00:00:00Z"),
            by: "ana".into(),
            at: at("2025-12-01T15:00:00Z"),
        };
        run(&mut log, snooze);
        let state = AlertDecider::fold(&log);
        assert!(state.due(Channel::Sms, "+15555550100", at("2025-12-02T23:59:00Z"), &policy).is_empty());
        assert_eq!(state.due(Channel::Sms, "+15555550100", at("2025-12-03T00:00:00Z"), &policy).len(), 1);

        run(&mut log, AlertCommand::Dismiss { id: id.clone(), by: "ana".into(), at: at("2025-12-03T01:00:00Z") });
        let state = AlertDecider::fold(&log);
        assert!(state.due(Channel::Sms, "+15555550100", at("2025-12-09T00:00:00Z"), &policy).is_empty());
        // Dismissed is not resolved: the condition lasting raises nothing; clearing resolves it.
        assert!(run(&mut log, evaluation(vec![finding(Severity::Warning)], "2025-12-04T14:30:00Z")).is_empty());
        assert!(matches!(
            &run(&mut log, evaluation(vec![], "2025-12-05T14:30:00Z"))[..],
            [AlertEvent::AlertResolved { .. }]
        ));
        let late = given::<AlertDecider>(&log).when(&AlertCommand::Snooze {
            id,
            until: at("2025-12-09T00:00:00Z"),
            by: "ana".into(),
            at: at("2025-12-06T00:00:00Z"),
        });
        assert!(matches!(late.decided, Err(DomainError::Conflict { .. })));
    }

    #[test]
    fn thresholds_are_a_profile_with_settings_overridden_by_name() {
        let set = |profile, settings: &[(&str, &str)]| AlertCommand::SetThresholds {
            profile,
            settings: settings.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            by: "avi".into(),
            at: at("2025-12-01T10:00:00Z"),
        };
        let mut log = Vec::new();
        run(&mut log, set(Some(Profile::Conservative), &[("drift_asset", "0.03")]));
        let state = AlertDecider::fold(&log);
        assert_eq!(state.thresholds().get("drift_asset").as_deref(), Some("0.03"));
        assert_eq!(state.thresholds().get("concentration"), Thresholds::of(Profile::Conservative).get("concentration"));
        // The same again records nothing; an empty value goes back to the profile's default.
        assert!(run(&mut log, set(None, &[("drift_asset", "0.03")])).is_empty());
        run(&mut log, set(None, &[("drift_asset", "")]));
        assert_eq!(AlertDecider::fold(&log).thresholds(), Thresholds::of(Profile::Conservative));
        // A bad value names the setting; nothing is recorded.
        let bad = given::<AlertDecider>(&log).when(&set(None, &[("drawdown", "lots")])).decided;
        assert!(matches!(&bad, Err(DomainError::Rejected { field, .. }) if field == "drawdown"), "{bad:?}");
        let unknown = given::<AlertDecider>(&log).when(&set(None, &[("colour", "")])).decided;
        assert!(matches!(&unknown, Err(DomainError::Rejected { field, .. }) if field == "colour"), "{unknown:?}");
    }

    fn preferences(urgent_bypass: bool) -> Preferences {
        Preferences {
            channels: [(Channel::Email, Severity::Warning), (Channel::Sms, Severity::Critical)].into_iter().collect(),
            quiet: Some(QuietHours {
                start: chrono::NaiveTime::from_hms_opt(22, 0, 0).unwrap(),
                end: chrono::NaiveTime::from_hms_opt(7, 0, 0).unwrap(),
                time_zone: "America/New_York".into(),
                urgent_bypass,
            }),
            caps: BTreeMap::new(),
        }
    }

    #[test]
    fn quiet_hours_across_midnight_hold_until_the_morning_in_the_users_zone() {
        let p = preferences(false);
        // 23:30 EST on 1 December is 04:30Z on the 2nd: held to 07:00 EST, 12:00Z.
        assert_eq!(
            p.decide(Channel::Email, Severity::Warning, at("2025-12-02T04:30:00Z"), 0),
            Decision::Hold(at("2025-12-02T12:00:00Z"))
        );
        // 06:59 EST: held a minute; 07:00: sent.
        assert_eq!(
            p.decide(Channel::Email, Severity::Warning, at("2025-12-02T11:59:00Z"), 0),
            Decision::Hold(at("2025-12-02T12:00:00Z"))
        );
        assert_eq!(p.decide(Channel::Email, Severity::Warning, at("2025-12-02T12:00:00Z"), 0), Decision::Send);
        // 21:59 EDT in summer is 01:59Z: before the window.
        assert_eq!(p.decide(Channel::Email, Severity::Warning, at("2025-07-02T01:59:00Z"), 0), Decision::Send);
        // An urgent alert goes through only with the bypass.
        assert!(matches!(p.decide(Channel::Sms, Severity::Critical, at("2025-12-02T04:30:00Z"), 0), Decision::Hold(_)));
        assert_eq!(
            preferences(true).decide(Channel::Sms, Severity::Critical, at("2025-12-02T04:30:00Z"), 0),
            Decision::Send
        );
    }

    #[test]
    fn severities_channels_and_daily_caps_decide_the_channel() {
        let p = preferences(false);
        let noon = at("2025-12-02T17:00:00Z");
        assert!(
            matches!(p.decide(Channel::Sms, Severity::Warning, noon, 0), Decision::Skip(why) if why.contains("below critical"))
        );
        assert!(matches!(p.decide(Channel::Push, Severity::Critical, noon, 0), Decision::Skip(_)));
        assert_eq!(p.decide(Channel::Email, Severity::Critical, noon, 19), Decision::Send);
        assert!(
            matches!(p.decide(Channel::Email, Severity::Critical, noon, 20), Decision::Skip(why) if why.contains("cap of 20"))
        );
        assert!(
            matches!(p.decide(Channel::Sms, Severity::Critical, noon, 5), Decision::Skip(why) if why.contains("cap of 5"))
        );
    }

    #[test]
    fn the_caps_count_successes_since_the_users_midnight_and_stats_every_try() {
        let mut log = Vec::new();
        run(&mut log, evaluation(vec![finding(Severity::Warning)], "2025-12-01T14:30:00Z"));
        let id = "drift:smith:core:VTI#1".to_owned();
        let event = |attempt, when: &str, ok: bool, recipient: &str| {
            let (channel, recipient, at) = (Channel::Email, recipient.to_owned(), at(when));
            let tried =
                AlertEvent::DeliveryAttempted { id: id.clone(), channel, recipient: recipient.clone(), attempt, at };
            let outcome = if ok {
                AlertEvent::DeliverySucceeded { id: id.clone(), channel, recipient, attempt, at, reference: None }
            } else {
                let error = "HTTP 503".into();
                AlertEvent::DeliveryFailed { id: id.clone(), channel, recipient, attempt, at, error, permanent: false }
            };
            vec![tried, outcome]
        };
        // 04:30Z on the 2nd is 23:30 on the 1st in New York; 05:30Z is 00:30 on the 2nd.
        run(&mut log, AlertCommand::Delivery(event(1, "2025-12-02T04:30:00Z", false, "u1")));
        run(&mut log, AlertCommand::Delivery(event(2, "2025-12-02T04:30:01Z", true, "u1")));
        run(&mut log, AlertCommand::Delivery(event(1, "2025-12-02T05:30:00Z", true, "u1:ab12")));
        let state = AlertDecider::fold(&log);
        let p = preferences(false);
        let start = p.day_start(at("2025-12-02T17:00:00Z"));
        assert_eq!(start, at("2025-12-02T05:00:00Z"));
        assert_eq!(state.sent_since(Channel::Email, "u1", start), 1, "the device's, after midnight in New York");
        assert_eq!(state.sent_since(Channel::Email, "u1", at("2025-12-02T00:00:00Z")), 2);
        assert_eq!(state.sent_since(Channel::Sms, "u1", at("2025-12-02T00:00:00Z")), 0);
        let stats = state.stats[&Channel::Email];
        assert_eq!((stats.attempted, stats.succeeded, stats.failed, stats.failed_permanently), (3, 2, 1, 0));
        // Without quiet hours the day is UTC's.
        assert_eq!(Preferences::default().day_start(at("2025-12-02T04:30:00Z")), at("2025-12-02T00:00:00Z"));
        // A delivery of an unknown alert records nothing.
        let stray = vec![AlertEvent::DeliveryAttempted {
            id: "nope#1".into(),
            channel: Channel::Sms,
            recipient: "u1".into(),
            attempt: 1,
            at: at("2025-12-02T05:00:00Z"),
        }];
        assert!(given::<AlertDecider>(&log).when(&AlertCommand::Delivery(stray)).decided.is_err());
    }

    #[test]
    fn preferences_name_the_field_they_refuse() {
        let mut p = preferences(false);
        assert_eq!(p.validate(), Ok(()));
        p.quiet.as_mut().unwrap().time_zone = "Mars/Olympus".into();
        assert!(matches!(p.validate(), Err(DomainError::Rejected { field, .. }) if field == "time_zone"));
        let mut p = preferences(false);
        p.quiet.as_mut().unwrap().end = p.quiet.as_ref().unwrap().start;
        assert!(matches!(p.validate(), Err(DomainError::Rejected { field, .. }) if field == "quiet"));
        let mut p = preferences(false);
        p.caps.insert(Channel::Sms, MAX_DAILY_CAP + 1);
        assert!(matches!(p.validate(), Err(DomainError::Rejected { field, .. }) if field == "caps"));
    }
}
