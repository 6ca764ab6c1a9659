//! How an alert reaches people: the message ([`Message`]), its rendering per channel
//! ([`templates`]), the channel adapters over their real protocols and the retries around them.
//! What to send, and when, is decided elsewhere (the alert rules and engine); this module only
//! delivers, and answers every attempt ([`Attempt`]) so that each one can be recorded as an
//! event (`DeliveryAttempted`, `DeliverySucceeded`, `DeliveryFailed`).
//!
//! - [`templates`]: minijinja templates per (alert rule, channel), a default for any rule.
//! - [`email`]: SMTP (lettre), a multipart/alternative message, plain text and HTML.
//! - [`webhook`]: an HTTP POST of JSON signed with HMAC-SHA256, the same `Idempotency-Key` on
//!   every try, and [`webhook::verify_signature`] for receivers.
//! - [`sms`]: Twilio's Programmable Messaging API.
//! - [`push`]: Firebase Cloud Messaging's HTTP v1 API.
//!
//! An error is [`DeliveryError::Permanent`] (trying again cannot help: a refused address, a
//! bad request, credentials refused) or [`DeliveryError::Transient`] (a timeout, a refused
//! connection, a 5xx, a rate limit): [`deliver`] tries again only the latter, with exponential
//! backoff and jitter ([`RetryPolicy`]). No error message holds a secret ([`Secret`]).

pub mod config;
pub mod email;
pub mod push;
pub mod sms;
#[cfg(any(test, feature = "testing"))]
pub mod smtp_sink;
pub mod templates;
#[cfg(test)]
pub(crate) mod testing;
pub mod webhook;

use std::collections::BTreeMap;

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use rand::Rng;
use serde::Serialize;

pub use email::{Mailer, SmtpConfig, TlsMode};
pub use push::{Fcm, FcmConfig};
pub use sms::{SmsSender, Twilio, TwilioConfig};
pub use templates::{TemplateError, Templates};
pub use webhook::{verify_signature, Webhook, WebhookConfig};

/// A credential (an SMTP password, a webhook's signing secret, Twilio's auth token, an FCM
/// access token): the same never-printing type as a market data vendor's key.
pub use crate::market::provider::ApiKey as Secret;

/// `text` with every non-empty secret replaced by `***`.
pub(crate) use crate::market::providers::http::{scrub, transport_message};

/// A transport failure of a POST to `shown` as a transient error, `secrets` scrubbed.
pub(crate) fn transport_error(
    channel: Channel,
    shown: &str,
    e: &reqwest::Error,
    timeout: Duration,
    secrets: &[&Secret],
) -> DeliveryError {
    DeliveryError::transient(channel, scrub(&transport_message("POST", shown, e, timeout), secrets))
}

/// `base` with `segments` appended to its path and no query: a service's endpoint.
pub(crate) fn endpoint(
    channel: Channel,
    base: &reqwest::Url,
    segments: &[&str],
) -> Result<reqwest::Url, DeliveryError> {
    let mut url = base.clone();
    url.set_query(None);
    url.path_segments_mut()
        .map_err(|()| {
            DeliveryError::permanent(
                channel,
                format!("the base URL {} cannot take a path", crate::market::providers::http::shown(base)),
            )
        })?
        .pop_if_empty()
        .extend(segments);
    Ok(url)
}

/// The wait a response's `Retry-After` asks for, at most `cap`.
pub(crate) fn retry_after(response: &reqwest::Response, cap: Duration) -> Option<Duration> {
    response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| crate::market::providers::http::parse_retry_after(v, Utc::now()))
        .map(|wait| wait.min(cap))
}

/// A service's refusal: transient (tried again, after `retry_after` when it asked) or
/// permanent.
pub(crate) fn refusal(
    channel: Channel,
    message: String,
    transient: bool,
    retry_after: Option<Duration>,
) -> DeliveryError {
    if transient {
        DeliveryError::Transient { channel, message, retry_after }
    } else {
        DeliveryError::permanent(channel, message)
    }
}

/// How urgent an alert is: the monitoring rules' own grades.
pub use domain::monitoring::Severity;

/// An alert to deliver, as the alert engine raised it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Message {
    /// The alert's id: the idempotency key of every delivery of it (with the channel).
    pub alert_id: String,
    /// The alert rule that raised it (`drift`, `large_withdrawal`): it chooses the templates.
    pub rule: String,
    pub severity: Severity,
    /// The household's key (`smith`), for machines (webhook payloads, push data).
    pub household: String,
    /// The household's name as its people see it; escaped wherever HTML shows it.
    pub household_name: String,
    /// A one-line summary the rule wrote.
    pub title: String,
    /// The figures the rule's templates show (`{"drift": "7.5%", "threshold": "5%"}`).
    pub values: BTreeMap<String, serde_json::Value>,
    pub created_at: DateTime<Utc>,
}

/// A way to reach someone: the alerts' own channels (`InApp`'s delivery is the event the
/// integrator records, so no adapter here sends it; [`templates`] renders its title and body).
pub use domain::alerts::Channel;

/// A message rendered for one channel, with the alert it delivers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub alert_id: String,
    pub content: Content,
}

impl Rendered {
    pub fn channel(&self) -> Channel {
        self.content.channel()
    }

    /// `<alert id>:<channel>`: the same on every try of this delivery, so a receiver can drop
    /// a repeat (the webhook's `Idempotency-Key`).
    pub fn idempotency_key(&self) -> String {
        format!("{}:{}", self.alert_id, self.channel())
    }
}

/// What a channel sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    Email {
        subject: String,
        /// The HTML part, every value escaped.
        html: String,
        /// The plain-text part.
        text: String,
    },
    /// At most 160 GSM-7 characters, or 70 UTF-16 units when a character is outside GSM-7
    /// (one segment either way, [`templates::fit_sms`]).
    Sms {
        body: String,
    },
    Push {
        title: String,
        body: String,
        /// FCM's `data`: string values only.
        data: BTreeMap<String, String>,
    },
    /// The JSON document POSTed, exactly the bytes signed.
    Webhook {
        body: String,
    },
    InApp {
        title: String,
        body: String,
    },
}

impl Content {
    pub fn channel(&self) -> Channel {
        match self {
            Self::Email { .. } => Channel::Email,
            Self::Sms { .. } => Channel::Sms,
            Self::Push { .. } => Channel::Push,
            Self::Webhook { .. } => Channel::Webhook,
            Self::InApp { .. } => Channel::InApp,
        }
    }
}

/// Whom to send it to (a webhook's endpoint is its adapter's configuration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipient {
    Email {
        address: String,
        /// Shown in `To:` before the address.
        name: Option<String>,
    },
    /// A phone number in E.164 (`+15551234567`).
    Phone(String),
    /// An FCM registration token of one device.
    Device(String),
    /// The endpoint the webhook adapter is configured with.
    Endpoint,
}

/// A delivery the channel accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    /// The provider's id of what it accepted: the SMTP server's reply to the message (`2.0.0
    /// Ok: queued as 4F9A1`), Twilio's `sid`, FCM's message `name`; `None` for a webhook.
    pub provider_id: Option<String>,
}

/// Why a delivery failed. Messages never hold a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// Trying again cannot help (the address or number is refused, the request is malformed,
    /// the credentials are refused, a template fails).
    #[error("{channel}: {message}")]
    Permanent { channel: Channel, message: String },
    /// It may go through later (a timeout, a refused connection, a 5xx or a 4xx SMTP reply, a
    /// rate limit); `retry_after` is how long the service asked to wait, capped.
    #[error("{channel}: {message} (may succeed later)")]
    Transient { channel: Channel, message: String, retry_after: Option<Duration> },
}

impl DeliveryError {
    pub fn permanent(channel: Channel, message: impl Into<String>) -> Self {
        Self::Permanent { channel, message: message.into() }
    }

    pub fn transient(channel: Channel, message: impl Into<String>) -> Self {
        Self::Transient { channel, message: message.into(), retry_after: None }
    }

    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Transient { .. })
    }

    pub fn channel(&self) -> Channel {
        match self {
            Self::Permanent { channel, .. } | Self::Transient { channel, .. } => *channel,
        }
    }

    pub fn message(&self) -> &str {
        match self {
            Self::Permanent { message, .. } | Self::Transient { message, .. } => message,
        }
    }

    /// The wait the service asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Transient { retry_after, .. } => *retry_after,
            Self::Permanent { .. } => None,
        }
    }
}

/// One try at a delivery: what becomes a `DeliveryAttempted` and its `DeliverySucceeded` or
/// `DeliveryFailed`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub alert_id: String,
    pub channel: Channel,
    /// 1 for the first try.
    pub number: u32,
    pub started: DateTime<Utc>,
    pub finished: DateTime<Utc>,
    pub outcome: Result<Delivered, DeliveryError>,
}

impl Attempt {
    pub fn succeeded(&self) -> bool {
        self.outcome.is_ok()
    }
}

/// A channel adapter: sends one rendered message to one recipient, one try.
pub trait Deliverer: Send + Sync {
    fn channel(&self) -> Channel;

    fn send<'a>(
        &'a self,
        rendered: &'a Rendered,
        recipient: &'a Recipient,
    ) -> BoxFuture<'a, Result<Delivered, DeliveryError>>;
}

/// Every channel adapter, for a caller that holds one of each kind it is configured with.
#[derive(Debug, Clone)]
pub enum Adapter {
    Email(Mailer),
    Sms(Twilio),
    Push(Fcm),
    Webhook(Webhook),
}

impl Deliverer for Adapter {
    fn channel(&self) -> Channel {
        match self {
            Self::Email(a) => a.channel(),
            Self::Sms(a) => a.channel(),
            Self::Push(a) => a.channel(),
            Self::Webhook(a) => a.channel(),
        }
    }

    fn send<'a>(
        &'a self,
        rendered: &'a Rendered,
        recipient: &'a Recipient,
    ) -> BoxFuture<'a, Result<Delivered, DeliveryError>> {
        match self {
            Self::Email(a) => a.send(rendered, recipient),
            Self::Sms(a) => a.send(rendered, recipient),
            Self::Push(a) => a.send(rendered, recipient),
            Self::Webhook(a) => a.send(rendered, recipient),
        }
    }
}

/// The error of content or a recipient that `channel`'s adapter cannot send.
pub(crate) fn mismatch(channel: Channel, rendered: &Rendered, recipient: &Recipient) -> DeliveryError {
    DeliveryError::permanent(
        channel,
        format!("the {channel} adapter cannot send {} content to {recipient:?}", rendered.channel()),
    )
}

/// How often and how patiently a delivery is tried: `attempts` tries in all, the wait before
/// try `n + 1` being `base × factorⁿ⁻¹` (at most `max_delay`), of which a random part up to
/// `jitter` (0 to 1) is taken off, so that deliveries failing together do not retry together.
/// A `Retry-After` the service sent is waited for instead when longer (up to `max_delay`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub base: Duration,
    pub factor: u32,
    pub max_delay: Duration,
    pub jitter: f64,
}

impl Default for RetryPolicy {
    /// 3 tries, waiting about 1 s then 2 s (each up to half less), never more than 60 s.
    fn default() -> Self {
        Self { attempts: 3, base: Duration::from_secs(1), factor: 2, max_delay: Duration::from_secs(60), jitter: 0.5 }
    }
}

impl RetryPolicy {
    /// The wait after failed try `attempt` (1 for the first), for a uniform draw `unit` in
    /// [0, 1) and the service's `retry_after`.
    pub fn delay(&self, attempt: u32, unit: f64, retry_after: Option<Duration>) -> Duration {
        let exponent = attempt.saturating_sub(1).min(30);
        let backoff = self.base.saturating_mul(self.factor.saturating_pow(exponent)).min(self.max_delay);
        let jitter = self.jitter.clamp(0.0, 1.0) * unit.clamp(0.0, 1.0);
        let backoff = backoff.mul_f64(1.0 - jitter);
        match retry_after {
            Some(asked) => backoff.max(asked.min(self.max_delay)),
            None => backoff,
        }
    }
}

/// Sends `rendered` to `recipient` through `deliverer`, trying again after each transient
/// failure as `policy` says; answers every try, in order (the last one's outcome is the
/// delivery's).
pub async fn deliver<D: Deliverer + ?Sized>(
    deliverer: &D,
    rendered: &Rendered,
    recipient: &Recipient,
    policy: &RetryPolicy,
) -> Vec<Attempt> {
    deliver_observed(deliverer, rendered, recipient, policy, |_| {}).await
}

/// [`deliver`], calling `observe` with each try as soon as it ends (to record its events before
/// the next try waits).
pub async fn deliver_observed<D: Deliverer + ?Sized>(
    deliverer: &D,
    rendered: &Rendered,
    recipient: &Recipient,
    policy: &RetryPolicy,
    observe: impl FnMut(&Attempt),
) -> Vec<Attempt> {
    let channel = deliverer.channel();
    retry(policy, &rendered.alert_id, channel, observe, |_| deliverer.send(rendered, recipient)).await
}

/// Runs `send` (given the try's number) until it succeeds, fails permanently or `policy`'s
/// tries are spent, waiting between tries; answers every try.
pub async fn retry<F, Fut>(
    policy: &RetryPolicy,
    alert_id: &str,
    channel: Channel,
    mut observe: impl FnMut(&Attempt),
    mut send: F,
) -> Vec<Attempt>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<Delivered, DeliveryError>>,
{
    let mut attempts = Vec::new();
    let tries = policy.attempts.max(1);
    for number in 1..=tries {
        let started = Utc::now();
        let outcome = send(number).await;
        let attempt =
            Attempt { alert_id: alert_id.to_owned(), channel, number, started, finished: Utc::now(), outcome };
        observe(&attempt);
        let wait = match &attempt.outcome {
            Err(e) if e.is_transient() && number < tries => {
                Some(policy.delay(number, rand::thread_rng().gen::<f64>(), e.retry_after()))
            }
            _ => None,
        };
        attempts.push(attempt);
        match wait {
            Some(wait) => tokio::time::sleep(wait).await,
            None => break,
        }
    }
    attempts
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::Instant;

    use super::*;

    #[test]
    fn a_secret_never_prints() {
        let secret = Secret::new("hunter2");
        assert_eq!(format!("{secret:?} {secret}"), "ApiKey(***) ***");
        assert_eq!(secret.expose(), "hunter2");
        assert_eq!(scrub("user hunter2 refused", &[&secret, &Secret::new("")]), "user *** refused");
    }

    #[test]
    fn the_default_policy_waits_about_one_then_two_seconds() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.attempts, 3);
        assert_eq!(policy.delay(1, 0.0, None), Duration::from_secs(1));
        assert_eq!(policy.delay(2, 0.0, None), Duration::from_secs(2));
        assert_eq!(policy.delay(3, 0.0, None), Duration::from_secs(4));
        // The jitter takes off up to half.
        assert_eq!(policy.delay(2, 0.5, None), Duration::from_millis(1500));
        assert!(policy.delay(2, 0.999_999, None) > Duration::from_millis(1000));
        // Capped, whatever the exponent.
        assert_eq!(policy.delay(40, 0.0, None), Duration::from_secs(60));
        // A longer Retry-After is honoured, up to the cap; a shorter one does not shorten it.
        assert_eq!(policy.delay(1, 0.0, Some(Duration::from_secs(7))), Duration::from_secs(7));
        assert_eq!(policy.delay(1, 0.0, Some(Duration::from_secs(3600))), Duration::from_secs(60));
        assert_eq!(policy.delay(2, 0.0, Some(Duration::from_millis(10))), Duration::from_secs(2));
    }

    fn short() -> RetryPolicy {
        RetryPolicy { base: Duration::from_millis(20), jitter: 0.0, ..RetryPolicy::default() }
    }

    /// Answers `outcomes` in turn, counting the tries.
    async fn run(outcomes: Vec<Result<Delivered, DeliveryError>>, policy: RetryPolicy) -> (Vec<Attempt>, u32) {
        let calls = AtomicU32::new(0);
        let mut observed = Vec::new();
        let attempts = retry(
            &policy,
            "alert-1",
            Channel::Sms,
            |a| observed.push(a.number),
            |n| {
                assert_eq!(n, calls.fetch_add(1, Ordering::SeqCst) + 1);
                let outcome = outcomes[n as usize - 1].clone();
                async move { outcome }
            },
        )
        .await;
        assert_eq!(observed, attempts.iter().map(|a| a.number).collect::<Vec<_>>());
        (attempts, calls.load(Ordering::SeqCst))
    }

    #[tokio::test]
    async fn transient_failures_are_retried_with_backoff_until_one_succeeds() {
        let ok = Ok(Delivered { provider_id: Some("SM1".into()) });
        let down = Err(DeliveryError::transient(Channel::Sms, "HTTP 503"));
        let start = Instant::now();
        let (attempts, calls) = run(vec![down.clone(), down.clone(), ok.clone()], short()).await;
        // 20 ms, then 40 ms.
        assert!(start.elapsed() >= Duration::from_millis(60), "{:?}", start.elapsed());
        assert_eq!(calls, 3);
        assert_eq!(attempts.iter().map(|a| a.number).collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(attempts[0].outcome, down);
        assert_eq!(attempts[2].outcome, ok);
        assert!(attempts.iter().all(|a| a.alert_id == "alert-1" && a.channel == Channel::Sms));
        assert!(attempts.iter().all(|a| a.started <= a.finished));
        assert!(attempts[0].finished <= attempts[1].started);
    }

    #[tokio::test]
    async fn a_permanent_failure_stops_and_the_tries_are_bounded() {
        let bad = Err(DeliveryError::permanent(Channel::Sms, "not a phone number"));
        let down = Err(DeliveryError::transient(Channel::Sms, "timed out"));
        let (attempts, calls) = run(vec![bad.clone(), down.clone(), down.clone()], short()).await;
        assert_eq!((calls, attempts.len()), (1, 1));
        assert_eq!(attempts[0].outcome, bad);

        let (attempts, calls) = run(vec![down.clone(), down.clone(), down.clone(), down.clone()], short()).await;
        assert_eq!(calls, 3, "three tries in all");
        assert!(attempts.iter().all(|a| a.outcome == down));

        let once = RetryPolicy { attempts: 1, ..short() };
        assert_eq!(run(vec![down.clone(), down], once).await.1, 1);
    }
}
