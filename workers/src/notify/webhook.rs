//! Webhooks: the alert as JSON ([`payload`]), POSTed to the configured URL and signed, so that
//! the receiver knows it comes from cairn and is fresh.
//!
//! **Request**: `POST {url}`, `Content-Type: application/json`, the body the message as JSON
//! (`alert_id`, `rule`, `severity`, `household`, `household_name`, `title`, `values`,
//! `created_at`), and the headers
//!
//! - `Cairn-Timestamp: <Unix seconds>` (of this try);
//! - `Cairn-Signature: v1=<hex HMAC-SHA256, keyed by the secret, of "<timestamp>.<body>">`
//!   (several comma-separated `v1=` values are accepted by [`verify_signature`], for a secret
//!   being rotated);
//! - `Idempotency-Key: <alert id>:webhook`, the same on every try, so a receiver that answered
//!   too late for us (and is tried again) can drop the repeat.
//!
//! **Answers**: any 2xx is delivered. 408, 429 and 5xx, a timeout and a failed connection are
//! `Transient` (with the `Retry-After` the receiver sent, seconds or an HTTP date, at most
//! [`WebhookConfig::max_retry_after`]); a 3xx (redirects are not followed: the signature is for
//! this URL) and every other 4xx are `Permanent`. No message shows the secret, or the URL's
//! query or credentials.

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use hmac::{Hmac, Mac};
use reqwest::header::{CONTENT_TYPE, USER_AGENT};
use reqwest::{StatusCode, Url};
use sha2::Sha256;

use super::{
    mismatch, refusal, retry_after, scrub, transport_error, Channel, Content, Delivered, Deliverer, DeliveryError,
    Message, Recipient, Rendered, Secret,
};
use crate::market::providers::http::shown;

pub const TIMESTAMP_HEADER: &str = "Cairn-Timestamp";
pub const SIGNATURE_HEADER: &str = "Cairn-Signature";
pub const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";

/// How old (or how far ahead) a timestamp receivers should accept: 5 minutes.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

type HmacSha256 = Hmac<Sha256>;

/// One endpoint. Its `Debug` shows the URL without its query or credentials (where some
/// receivers put a token) and never the secret.
#[derive(Clone)]
pub struct WebhookConfig {
    pub url: Url,
    /// The key of the signatures, shared with the receiver.
    pub secret: Secret,
    /// The timeout of one try (connecting, sending, reading the answer): 10 s unless set.
    pub timeout: Duration,
    /// The longest `Retry-After` honoured: 60 s unless set.
    pub max_retry_after: Duration,
}

impl WebhookConfig {
    pub fn new(url: Url, secret: Secret) -> Self {
        Self { url, secret, timeout: Duration::from_secs(10), max_retry_after: Duration::from_secs(60) }
    }
}

impl std::fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("url", &shown(&self.url))
            .field("secret", &self.secret)
            .field("timeout", &self.timeout)
            .field("max_retry_after", &self.max_retry_after)
            .finish()
    }
}

/// The webhook adapter of one endpoint.
#[derive(Debug, Clone)]
pub struct Webhook {
    config: WebhookConfig,
    client: reqwest::Client,
}

impl Webhook {
    /// With a client of its own that follows no redirect.
    pub fn new(config: WebhookConfig) -> Result<Self, DeliveryError> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| DeliveryError::permanent(Channel::Webhook, format!("no HTTP client: {e}")))?;
        Ok(Self { config, client })
    }

    async fn post(&self, rendered: &Rendered, body: &str) -> Result<Delivered, DeliveryError> {
        let shown = shown(&self.config.url);
        let timestamp = Utc::now().timestamp();
        let response = self
            .client
            .post(self.config.url.clone())
            .timeout(self.config.timeout)
            .header(CONTENT_TYPE, "application/json")
            .header(USER_AGENT, concat!("cairn-webhook/", env!("CARGO_PKG_VERSION")))
            .header(TIMESTAMP_HEADER, timestamp.to_string())
            .header(SIGNATURE_HEADER, sign(&self.config.secret, timestamp, body.as_bytes()))
            .header(IDEMPOTENCY_HEADER, rendered.idempotency_key())
            .body(body.to_owned())
            .send()
            .await
            .map_err(|e| self.transport(&shown, &e))?;
        let status = response.status();
        if status.is_success() {
            return Ok(Delivered { provider_id: None });
        }
        let retry_after = retry_after(&response, self.config.max_retry_after);
        let location =
            response.headers().get(reqwest::header::LOCATION).and_then(|v| v.to_str().ok()).map(str::to_owned);
        // The start of what the receiver said, for the message.
        let said = response.text().await.unwrap_or_default();
        let said: String = said.trim().chars().take(200).collect();
        let mut message = format!("POST {shown}: HTTP {}", status.as_u16());
        if status.is_redirection() {
            message.push_str(": redirects are not followed");
            if let Some(location) = location {
                message.push_str(&format!(" (Location: {location})"));
            }
        } else if !said.is_empty() {
            message.push_str(&format!(": {said}"));
        }
        let message = scrub(&message, &[&self.config.secret]);
        let transient = status == StatusCode::REQUEST_TIMEOUT
            || status == StatusCode::TOO_MANY_REQUESTS
            || status.is_server_error();
        Err(refusal(Channel::Webhook, message, transient, retry_after))
    }

    fn transport(&self, shown: &str, e: &reqwest::Error) -> DeliveryError {
        transport_error(Channel::Webhook, shown, e, self.config.timeout, &[&self.config.secret])
    }
}

impl Deliverer for Webhook {
    fn channel(&self) -> Channel {
        Channel::Webhook
    }

    fn send<'a>(
        &'a self,
        rendered: &'a Rendered,
        recipient: &'a Recipient,
    ) -> BoxFuture<'a, Result<Delivered, DeliveryError>> {
        Box::pin(async move {
            match (&rendered.content, recipient) {
                (Content::Webhook { body }, Recipient::Endpoint) => self.post(rendered, body).await,
                _ => Err(mismatch(Channel::Webhook, rendered, recipient)),
            }
        })
    }
}

/// The webhook's body: `message` as JSON.
pub fn payload(message: &Message) -> String {
    serde_json::to_string(message).expect("a message is strings, numbers and maps of JSON values")
}

/// `Cairn-Signature`'s value for `body` sent at `timestamp`: `v1=` and the hex HMAC-SHA256 of
/// `"<timestamp>.<body>"` keyed by `secret`.
pub fn sign(secret: &Secret, timestamp: i64, body: &[u8]) -> String {
    format!("v1={}", hex::encode(mac(secret, &timestamp.to_string(), body).finalize().into_bytes()))
}

fn mac(secret: &Secret, timestamp: &str, body: &[u8]) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(secret.expose().as_bytes()).expect("HMAC takes a key of any length");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// For receivers: checks that `header` (`Cairn-Signature`) signs `body` sent at `timestamp`
/// (`Cairn-Timestamp`) with `secret`, and that the timestamp is within `tolerance` of `now`
/// (so a captured request cannot be replayed later). Any of several comma-separated `v1=`
/// signatures may match; each is compared in constant time. The error says why, never the
/// expected signature.
pub fn verify_signature(
    secret: &Secret,
    timestamp: &str,
    body: &[u8],
    header: &str,
    now: DateTime<Utc>,
    tolerance: Duration,
) -> Result<(), String> {
    let sent: i64 =
        timestamp.trim().parse().map_err(|_| format!("the timestamp {timestamp:?} is not a number of seconds"))?;
    let age = now.timestamp().saturating_sub(sent);
    let tolerance_s = i64::try_from(tolerance.as_secs()).unwrap_or(i64::MAX);
    if age > tolerance_s {
        return Err(format!("the timestamp is {age} s old, more than {tolerance_s} s"));
    }
    if -age > tolerance_s {
        return Err(format!("the timestamp is {} s ahead, more than {tolerance_s} s", -age));
    }
    let expected = mac(secret, timestamp.trim(), body);
    let mut any = false;
    for signature in header.split(',').map(str::trim) {
        let Some(hex_digest) = signature.strip_prefix("v1=") else { continue };
        any = true;
        if let Ok(bytes) = hex::decode(hex_digest) {
            if expected.clone().verify_slice(&bytes).is_ok() {
                return Ok(());
            }
        }
    }
    if any {
        Err("the signature does not match".to_owned())
    } else {
        Err("no v1= signature".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::notify::testing::{message, receive, refused, Reply};
    use crate::notify::{deliver, RetryPolicy, Templates};

    const SECRET: &str = "whsec_9fK2-S3CR3T";

    fn webhook(url: Url) -> Webhook {
        Webhook::new(WebhookConfig {
            timeout: Duration::from_millis(300),
            ..WebhookConfig::new(url, Secret::new(SECRET))
        })
        .unwrap()
    }

    fn rendered() -> Rendered {
        Templates::new().render(&message("<b>Smith</b>"), Channel::Webhook).unwrap()
    }

    fn quick() -> RetryPolicy {
        RetryPolicy { base: Duration::from_millis(10), jitter: 0.0, ..RetryPolicy::default() }
    }

    #[tokio::test]
    async fn the_receiver_verifies_the_signature_of_the_body_it_got() {
        let receiver = receive(|_, _| Reply::new(204, "")).await;
        let url = receiver.base.join("/hooks/cairn?team=7").unwrap();
        let delivered = webhook(url).send(&rendered(), &Recipient::Endpoint).await.unwrap();
        assert_eq!(delivered, Delivered { provider_id: None });

        let got = &receiver.received()[0];
        assert_eq!((got.method.as_str(), got.path.as_str()), ("POST", "/hooks/cairn"));
        assert_eq!(got.header("content-type"), Some("application/json"));
        assert_eq!(got.header("idempotency-key"), Some("0190f3a2-7c41-7d1e-9a55-1b2c3d4e5f60:webhook"));
        let body = got.json();
        assert_eq!(body["alert_id"], "0190f3a2-7c41-7d1e-9a55-1b2c3d4e5f60");
        assert_eq!(body["household_name"], "<b>Smith</b>", "JSON is not HTML: nothing escaped");
        assert_eq!(body["values"]["accounts"], 3);
        assert_eq!(body["created_at"], "2026-03-02T14:30:00Z");

        let timestamp = got.header("cairn-timestamp").unwrap();
        let signature = got.header("cairn-signature").unwrap();
        assert!(signature.starts_with("v1=") && signature.len() == 3 + 64, "{signature}");
        let sent = DateTime::from_timestamp(timestamp.parse().unwrap(), 0).unwrap();
        assert!((Utc::now() - sent).num_seconds().abs() <= 5);
        let secret = Secret::new(SECRET);
        let check = |secret: &Secret, body: &[u8], header: &str, now: DateTime<Utc>| {
            verify_signature(secret, timestamp, body, header, now, DEFAULT_TOLERANCE)
        };
        assert_eq!(check(&secret, &got.body, signature, Utc::now()), Ok(()));
        // Among others (a secret being rotated).
        assert_eq!(check(&secret, &got.body, &format!("v1=00ff, {signature}"), Utc::now()), Ok(()));
        // A body changed, another secret, a forged or missing signature, a replay.
        let mut changed = got.body.clone();
        changed[2] ^= 1;
        assert_eq!(check(&secret, &changed, signature, Utc::now()), Err("the signature does not match".into()));
        assert!(check(&Secret::new("other"), &got.body, signature, Utc::now()).is_err());
        assert!(check(&secret, &got.body, "v1=zz", Utc::now()).is_err());
        assert_eq!(check(&secret, &got.body, "v0=abc", Utc::now()), Err("no v1= signature".into()));
        let later = sent + chrono::Duration::minutes(6);
        assert!(check(&secret, &got.body, signature, later).unwrap_err().contains("360 s old"));
        let earlier = sent - chrono::Duration::minutes(6);
        assert!(check(&secret, &got.body, signature, earlier).unwrap_err().contains("ahead"));
        // The signature is over "<timestamp>.<body>": another timestamp does not verify.
        let shifted = (sent.timestamp() + 1).to_string();
        assert!(verify_signature(&secret, &shifted, &got.body, signature, Utc::now(), DEFAULT_TOLERANCE).is_err());
    }

    #[test]
    fn the_signature_is_the_hmac_of_timestamp_dot_body() {
        // Against a digest computed apart:
        // printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac key
        assert_eq!(
            sign(&Secret::new("key"), 1_700_000_000, br#"{"a":1}"#),
            "v1=a438e398bfafc57e4396bb7fc2304422f0f768e965d073ca313cb52e22e6ad03"
        );
    }

    #[tokio::test]
    async fn a_retry_after_a_timeout_carries_the_same_key_and_is_processed_once() {
        // The receiver processes each key once; it answers the first request too late.
        let processed = Arc::new(Mutex::new(Vec::<String>::new()));
        let seen = Arc::new(Mutex::new(HashSet::<String>::new()));
        let receiver = {
            let processed = processed.clone();
            receive(move |got, before| {
                let key = got.header("idempotency-key").unwrap().to_owned();
                if seen.lock().unwrap().insert(key.clone()) {
                    processed.lock().unwrap().push(got.json()["alert_id"].as_str().unwrap().to_owned());
                }
                if before == 0 {
                    Reply::new(200, "").delay(Duration::from_secs(2))
                } else {
                    Reply::new(200, "")
                }
            })
            .await
        };
        let attempts = deliver(&webhook(receiver.base.clone()), &rendered(), &Recipient::Endpoint, &quick()).await;
        assert_eq!(attempts.len(), 2);
        let first = attempts[0].outcome.as_ref().unwrap_err();
        assert!(first.is_transient() && first.message().contains("timed out after 300 ms"), "{first}");
        assert_eq!(attempts[1].outcome, Ok(Delivered { provider_id: None }));

        let received = receiver.received();
        assert_eq!(received.len(), 2);
        let keys: Vec<_> = received.iter().map(|r| r.header("idempotency-key").unwrap()).collect();
        assert_eq!(keys, ["0190f3a2-7c41-7d1e-9a55-1b2c3d4e5f60:webhook"; 2]);
        assert_eq!(received[0].body, received[1].body);
        assert_eq!(*processed.lock().unwrap(), ["0190f3a2-7c41-7d1e-9a55-1b2c3d4e5f60"], "processed once");
    }

    #[tokio::test]
    async fn a_400_is_permanent_and_not_retried() {
        let receiver = receive(|_, _| Reply::new(400, r#"{"error":"unknown household"}"#)).await;
        let attempts = deliver(&webhook(receiver.base.clone()), &rendered(), &Recipient::Endpoint, &quick()).await;
        assert_eq!(attempts.len(), 1);
        assert_eq!(receiver.received().len(), 1);
        let err = attempts[0].outcome.clone().unwrap_err();
        assert!(!err.is_transient());
        assert!(err.message().ends_with(r#"HTTP 400: {"error":"unknown household"}"#), "{err}");
    }

    #[tokio::test]
    async fn statuses_map_to_transient_or_permanent() {
        let receiver = receive(|got, _| match got.path.as_str() {
            "/503" => Reply::new(503, "busy").header("Retry-After", "2"),
            "/429" => Reply::new(429, "").header("Retry-After", "3600"),
            "/408" => Reply::new(408, ""),
            "/302" => Reply::new(302, "").header("Location", "https://elsewhere.example/hook"),
            "/404" => Reply::new(404, "no such hook"),
            _ => Reply::new(200, "ok"),
        })
        .await;
        let send = |path: &'static str| {
            let hook = Webhook::new(WebhookConfig {
                max_retry_after: Duration::from_secs(30),
                ..WebhookConfig::new(receiver.base.join(path).unwrap(), Secret::new(SECRET))
            })
            .unwrap();
            async move { hook.send(&rendered(), &Recipient::Endpoint).await }
        };
        let err = send("/503").await.unwrap_err();
        assert_eq!(err.retry_after(), Some(Duration::from_secs(2)));
        assert!(err.message().ends_with("HTTP 503: busy"), "{err}");
        assert_eq!(send("/429").await.unwrap_err().retry_after(), Some(Duration::from_secs(30)), "capped");
        assert!(send("/408").await.unwrap_err().is_transient());
        let err = send("/302").await.unwrap_err();
        assert!(!err.is_transient() && err.message().contains("redirects are not followed"), "{err}");
        assert!(!send("/404").await.unwrap_err().is_transient());
        assert!(send("/200").await.is_ok());
        assert_eq!(receiver.received().len(), 6, "the redirect was not followed");

        let err = webhook(Url::parse(&format!("http://{}/hook", refused().await)).unwrap())
            .send(&rendered(), &Recipient::Endpoint)
            .await
            .unwrap_err();
        assert!(err.is_transient() && err.message().contains("could not connect"), "{err}");
    }

    #[tokio::test]
    async fn no_error_shows_the_secret_or_the_urls_credentials() {
        let receiver = receive(|_, _| Reply::new(401, format!("bad signature for secret {SECRET}"))).await;
        let mut url = receiver.base.join("/hook?token=q-S3CR3T").unwrap();
        url.set_username("user").unwrap();
        url.set_password(Some("pw-S3CR3T")).unwrap();
        let hook = webhook(url);
        let err = hook.send(&rendered(), &Recipient::Endpoint).await.unwrap_err();
        let text = format!("{err} {err:?} {hook:?}");
        assert!(!text.contains("S3CR3T"), "{text}");
        assert!(text.contains("bad signature for secret ***"), "{text}");
        // Content for another channel is refused without a request.
        let sms = Templates::new().render(&message("Smith"), Channel::Sms).unwrap();
        assert!(!hook.send(&sms, &Recipient::Endpoint).await.unwrap_err().is_transient());
        assert_eq!(receiver.received().len(), 1);
    }
}
