//! Push notifications through Firebase Cloud Messaging's HTTP v1 API
//! (<https://firebase.google.com/docs/reference/fcm/rest/v1/projects.messages/send>).
//!
//! **Request**: `POST {base}/v1/projects/{project_id}/messages:send` (`base` is
//! `https://fcm.googleapis.com`), `Authorization: Bearer {access token}` (an OAuth 2.0 token
//! of a service account, obtained and refreshed outside this adapter), the JSON
//! `{"message":{"token":"…","notification":{"title":"…","body":"…"},"data":{"k":"v"}}}`:
//! `data`'s values are strings, as FCM requires.
//!
//! **Answer**: `200` with `{"name":"projects/{project_id}/messages/{message id}"}`: the `name`
//! is the provider's id.
//!
//! **Errors**: a `google.rpc.Status`, `{"error":{"code":404,"message":"Requested entity was not
//! found.","status":"NOT_FOUND","details":[{"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":"UNREGISTERED"}]}}`.
//! The `FcmError`'s `errorCode` decides
//! (<https://firebase.google.com/docs/reference/fcm/rest/v1/ErrorCode>): `UNAVAILABLE`,
//! `INTERNAL` and `QUOTA_EXCEEDED` are `Transient` (with any `Retry-After`); `UNREGISTERED` (the
//! app is gone from the device: drop the token), `INVALID_ARGUMENT`, `SENDER_ID_MISMATCH` and
//! `THIRD_PARTY_AUTH_ERROR` are `Permanent`. Without one, HTTP 429 and 5xx, a timeout and a
//! failed connection are `Transient`, any other status (401 for a refused token) `Permanent`.
//! The message names the error code, so the caller can tell an unregistered token. No message
//! shows the access token.
//!
//! **Repeats**: FCM takes no idempotency key, so a retry after a timeout whose request FCM did
//! accept may show the notification twice (the app can drop it by `data.alert_id`).

use std::collections::BTreeMap;
use std::time::Duration;

use futures::future::BoxFuture;
use reqwest::{StatusCode, Url};
use serde::{Deserialize, Serialize};

use super::{
    endpoint, mismatch, refusal, retry_after, scrub, transport_error, Channel, Content, Delivered, Deliverer,
    DeliveryError, Recipient, Rendered, Secret,
};
use crate::market::providers::http::shown;

/// A Firebase project.
#[derive(Debug, Clone)]
pub struct FcmConfig {
    /// `https://fcm.googleapis.com` in production.
    pub base_url: Url,
    pub project_id: String,
    /// A current OAuth 2.0 access token with the `firebase.messaging` scope.
    pub access_token: Secret,
    /// The timeout of one request: 10 s unless set.
    pub timeout: Duration,
    /// The longest `Retry-After` honoured: 60 s unless set.
    pub max_retry_after: Duration,
}

impl FcmConfig {
    pub fn new(base_url: Url, project_id: impl Into<String>, access_token: Secret) -> Self {
        Self {
            base_url,
            project_id: project_id.into(),
            access_token,
            timeout: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

/// The push adapter.
#[derive(Debug, Clone)]
pub struct Fcm {
    config: FcmConfig,
    client: reqwest::Client,
}

#[derive(Serialize)]
struct SendRequest<'a> {
    message: FcmMessage<'a>,
}

#[derive(Serialize)]
struct FcmMessage<'a> {
    token: &'a str,
    notification: Notification<'a>,
    data: &'a BTreeMap<String, String>,
}

#[derive(Serialize)]
struct Notification<'a> {
    title: &'a str,
    body: &'a str,
}

#[derive(Deserialize)]
struct Sent {
    name: String,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: Status,
}

#[derive(Deserialize)]
struct Status {
    message: Option<String>,
    status: Option<String>,
    #[serde(default)]
    details: Vec<Detail>,
}

#[derive(Deserialize)]
struct Detail {
    #[serde(rename = "@type")]
    kind: Option<String>,
    #[serde(rename = "errorCode")]
    error_code: Option<String>,
}

impl Fcm {
    pub fn new(config: FcmConfig, client: reqwest::Client) -> Self {
        Self { config, client }
    }

    fn url(&self) -> Result<Url, DeliveryError> {
        let segments = ["v1", "projects", self.config.project_id.as_str(), "messages:send"];
        endpoint(Channel::Push, &self.config.base_url, &segments)
    }

    fn secrets(&self) -> [&Secret; 1] {
        [&self.config.access_token]
    }

    async fn push(
        &self,
        token: &str,
        title: &str,
        body: &str,
        data: &BTreeMap<String, String>,
    ) -> Result<Delivered, DeliveryError> {
        let url = self.url()?;
        let shown = shown(&url);
        let request = SendRequest { message: FcmMessage { token, notification: Notification { title, body }, data } };
        let response = self
            .client
            .post(url)
            .timeout(self.config.timeout)
            .bearer_auth(self.config.access_token.expose())
            .json(&request)
            .send()
            .await
            .map_err(|e| self.transport(&shown, &e))?;
        let status = response.status();
        let retry_after = retry_after(&response, self.config.max_retry_after);
        let bytes = response.bytes().await.map_err(|e| self.transport(&shown, &e))?;
        if status.is_success() {
            let sent: Sent = serde_json::from_slice(&bytes).map_err(|e| {
                DeliveryError::permanent(
                    Channel::Push,
                    format!("POST {shown}: HTTP {}: not a sent message: {e}", status.as_u16()),
                )
            })?;
            return Ok(Delivered { provider_id: Some(sent.name) });
        }
        let (code, said) = match serde_json::from_slice::<ErrorBody>(&bytes) {
            Ok(ErrorBody { error }) => {
                let code = error
                    .details
                    .iter()
                    .filter(|d| d.kind.as_deref().is_some_and(|k| k.ends_with("google.firebase.fcm.v1.FcmError")))
                    .find_map(|d| d.error_code.clone());
                let words = [code.clone().or(error.status), error.message].into_iter().flatten().collect::<Vec<_>>();
                (code, words.join(": "))
            }
            Err(_) => (None, String::from_utf8_lossy(&bytes).trim().chars().take(200).collect()),
        };
        let message = if said.is_empty() {
            format!("POST {shown}: HTTP {}", status.as_u16())
        } else {
            format!("POST {shown}: HTTP {}: {said}", status.as_u16())
        };
        let message = scrub(&message, &self.secrets());
        let transient = match code.as_deref() {
            Some("UNAVAILABLE" | "INTERNAL" | "QUOTA_EXCEEDED") => true,
            Some("UNREGISTERED" | "INVALID_ARGUMENT" | "SENDER_ID_MISMATCH" | "THIRD_PARTY_AUTH_ERROR") => false,
            _ => status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error(),
        };
        Err(refusal(Channel::Push, message, transient, retry_after))
    }

    fn transport(&self, shown: &str, e: &reqwest::Error) -> DeliveryError {
        transport_error(Channel::Push, shown, e, self.config.timeout, &self.secrets())
    }
}

impl Deliverer for Fcm {
    fn channel(&self) -> Channel {
        Channel::Push
    }

    fn send<'a>(
        &'a self,
        rendered: &'a Rendered,
        recipient: &'a Recipient,
    ) -> BoxFuture<'a, Result<Delivered, DeliveryError>> {
        Box::pin(async move {
            match (&rendered.content, recipient) {
                (Content::Push { title, body, data }, Recipient::Device(token)) => {
                    self.push(token, title, body, data).await
                }
                _ => Err(mismatch(Channel::Push, rendered, recipient)),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::testing::{message, receive, refused, Reply};
    use crate::notify::{deliver, RetryPolicy, Templates};

    const PROJECT: &str = "cairn-prod";
    const TOKEN: &str = "ya29.a0-S3CR3T-access";
    const DEVICE: &str = "fcm-device-token-1:APA91bH";

    fn fcm(base: Url) -> Fcm {
        Fcm::new(FcmConfig::new(base, PROJECT, Secret::new(TOKEN)), reqwest::Client::new())
    }

    fn push() -> Rendered {
        Templates::new().render(&message("Smith"), Channel::Push).unwrap()
    }

    fn fcm_error(code: u16, status: &str, message: &str, error_code: &str) -> String {
        format!(
            r#"{{"error":{{"code":{code},"message":"{message}","status":"{status}","details":[{{"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":"{error_code}"}}]}}}}"#
        )
    }

    #[tokio::test]
    async fn a_message_is_sent_with_the_bearer_token_and_string_data() {
        let receiver = receive(|_, _| {
            Reply::new(200, r#"{"name":"projects/cairn-prod/messages/0:1709390000000000%31bd1c96f9fd7ecd"}"#)
        })
        .await;
        let delivered = fcm(receiver.base.clone()).send(&push(), &Recipient::Device(DEVICE.into())).await.unwrap();
        assert_eq!(
            delivered.provider_id.as_deref(),
            Some("projects/cairn-prod/messages/0:1709390000000000%31bd1c96f9fd7ecd")
        );

        let got = &receiver.received()[0];
        assert_eq!((got.method.as_str(), got.path.as_str()), ("POST", "/v1/projects/cairn-prod/messages:send"));
        assert_eq!(got.header("authorization"), Some(format!("Bearer {TOKEN}").as_str()));
        assert_eq!(got.header("content-type"), Some("application/json"));
        let body = got.json();
        let message = &body["message"];
        assert_eq!(message["token"], DEVICE);
        assert_eq!(message["notification"]["title"], "Smith: Allocation drifted past its band");
        assert!(message["notification"]["body"].as_str().unwrap().starts_with("Warning: accounts 3"));
        let data = message["data"].as_object().unwrap();
        assert!(data.values().all(serde_json::Value::is_string), "{data:?}");
        assert_eq!(data["value.accounts"], "3");
        assert_eq!(data["alert_id"], "0190f3a2-7c41-7d1e-9a55-1b2c3d4e5f60");
        assert_eq!(body.as_object().unwrap().len(), 1, "only `message`");
    }

    #[tokio::test]
    async fn fcm_error_codes_decide_permanent_or_transient() {
        let receiver = receive(|got, _| {
            let device = got.json()["message"]["token"].as_str().unwrap().to_owned();
            match device.as_str() {
                "gone" => Reply::new(404, fcm_error(404, "NOT_FOUND", "Requested entity was not found.", "UNREGISTERED")),
                "bad" => Reply::new(
                    400,
                    fcm_error(400, "INVALID_ARGUMENT", "The registration token is not a valid FCM registration token", "INVALID_ARGUMENT"),
                ),
                "busy" => Reply::new(503, fcm_error(503, "UNAVAILABLE", "The service is currently unavailable.", "UNAVAILABLE"))
                    .header("Retry-After", "4"),
                "oops" => Reply::new(500, fcm_error(500, "INTERNAL", "Internal error encountered.", "INTERNAL")),
                "quota" => Reply::new(
                    429,
                    fcm_error(429, "RESOURCE_EXHAUSTED", "Quota exceeded for quota metric", "QUOTA_EXCEEDED"),
                ),
                _ => Reply::new(
                    401,
                    r#"{"error":{"code":401,"message":"Request had invalid authentication credentials.","status":"UNAUTHENTICATED"}}"#,
                ),
            }
        })
        .await;
        let send = |device: &'static str| {
            let adapter = fcm(receiver.base.clone());
            async move { adapter.send(&push(), &Recipient::Device(device.into())).await.unwrap_err() }
        };
        let err = send("gone").await;
        assert_eq!(
            err,
            DeliveryError::permanent(
                Channel::Push,
                format!(
                    "POST {}v1/projects/cairn-prod/messages:send: HTTP 404: UNREGISTERED: Requested entity was not found.",
                    receiver.base
                )
            )
        );
        assert!(!send("bad").await.is_transient());
        let err = send("busy").await;
        assert!(err.is_transient() && err.message().contains("UNAVAILABLE"), "{err}");
        assert_eq!(err.retry_after(), Some(Duration::from_secs(4)));
        assert!(send("oops").await.is_transient());
        assert!(send("quota").await.is_transient());
        let err = send("expired").await;
        assert!(!err.is_transient() && err.message().contains("UNAUTHENTICATED"), "{err}");
        assert!(!format!("{err:?}").contains(TOKEN));
    }

    #[tokio::test]
    async fn an_unregistered_token_is_tried_once_and_an_outage_until_it_ends() {
        let receiver = receive(|_, before| match before {
            0 => Reply::new(503, fcm_error(503, "UNAVAILABLE", "The service is currently unavailable.", "UNAVAILABLE")),
            _ => Reply::new(200, r#"{"name":"projects/cairn-prod/messages/2"}"#),
        })
        .await;
        let policy = RetryPolicy { base: Duration::from_millis(10), ..RetryPolicy::default() };
        let attempts = deliver(&fcm(receiver.base.clone()), &push(), &Recipient::Device(DEVICE.into()), &policy).await;
        assert_eq!(attempts.iter().map(|a| a.succeeded()).collect::<Vec<_>>(), [false, true]);
        assert_eq!(
            attempts[1].outcome.as_ref().unwrap().provider_id.as_deref(),
            Some("projects/cairn-prod/messages/2")
        );

        let receiver = receive(|_, _| {
            Reply::new(404, fcm_error(404, "NOT_FOUND", "Requested entity was not found.", "UNREGISTERED"))
        })
        .await;
        let attempts = deliver(&fcm(receiver.base.clone()), &push(), &Recipient::Device(DEVICE.into()), &policy).await;
        assert_eq!(attempts.len(), 1);
        assert_eq!(receiver.received().len(), 1);

        let refused = Url::parse(&format!("http://{}", refused().await)).unwrap();
        let err = fcm(refused).send(&push(), &Recipient::Device(DEVICE.into())).await.unwrap_err();
        assert!(err.is_transient() && err.message().contains("could not connect"), "{err}");
    }
}
