//! SMS through Twilio's Programmable Messaging API
//! (<https://www.twilio.com/docs/messaging/api/message-resource#create-a-message-resource>).
//!
//! **Request**: `POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json` (`base` is
//! `https://api.twilio.com`), HTTP Basic authentication `AccountSid:AuthToken`, a form
//! (`application/x-www-form-urlencoded`) of `To` (E.164), `Body`, and `From` (a Twilio number)
//! or `MessagingServiceSid` ([`SmsSender`]).
//!
//! **Answer**: `201 Created` with the message resource, `{"sid":"SM…","status":"queued",…}`:
//! its `sid` is the provider's id.
//!
//! **Errors**: `{"code":21211,"message":"The 'To' number +1555 is not a valid phone
//! number.","more_info":"https://www.twilio.com/docs/errors/21211","status":400}`. HTTP 429
//! (Twilio's 20429, too many requests, with any `Retry-After`) and 5xx, a timeout and a failed
//! connection are `Transient`; every other status (400 for an invalid or unreachable number,
//! 401 for refused credentials, 404 for an unknown account) is `Permanent`, its message naming
//! Twilio's code and words. No message shows the auth token.
//!
//! **Repeats**: creating a message takes no idempotency key, so a retry after a timeout whose
//! request Twilio did accept sends the SMS twice; a retry after a refused connection, a 429 or
//! a 5xx does not.

use std::time::Duration;

use futures::future::BoxFuture;
use reqwest::{StatusCode, Url};
use serde::Deserialize;

use super::{
    endpoint, mismatch, refusal, retry_after, scrub, transport_error, Channel, Content, Delivered, Deliverer,
    DeliveryError, Recipient, Rendered, Secret,
};
use crate::market::providers::http::shown;

/// Who the message comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmsSender {
    /// A Twilio phone number in E.164 (`From`).
    From(String),
    /// A Messaging Service, which picks the number (`MessagingServiceSid`, `MG…`).
    MessagingService(String),
}

/// A Twilio account.
#[derive(Debug, Clone)]
pub struct TwilioConfig {
    /// `https://api.twilio.com` in production.
    pub base_url: Url,
    /// `AC…`: the user name of Basic authentication and part of the path.
    pub account_sid: String,
    pub auth_token: Secret,
    pub sender: SmsSender,
    /// The timeout of one request: 10 s unless set.
    pub timeout: Duration,
    /// The longest `Retry-After` honoured: 60 s unless set.
    pub max_retry_after: Duration,
}

impl TwilioConfig {
    pub fn new(base_url: Url, account_sid: impl Into<String>, auth_token: Secret, sender: SmsSender) -> Self {
        Self {
            base_url,
            account_sid: account_sid.into(),
            auth_token,
            sender,
            timeout: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

/// The SMS adapter.
#[derive(Debug, Clone)]
pub struct Twilio {
    config: TwilioConfig,
    client: reqwest::Client,
}

/// The parts of the message resource kept.
#[derive(Deserialize)]
struct Created {
    sid: String,
}

/// Twilio's error body.
#[derive(Deserialize)]
struct TwilioError {
    code: Option<i64>,
    message: Option<String>,
    more_info: Option<String>,
}

impl Twilio {
    pub fn new(config: TwilioConfig, client: reqwest::Client) -> Self {
        Self { config, client }
    }

    fn url(&self) -> Result<Url, DeliveryError> {
        let segments = ["2010-04-01", "Accounts", self.config.account_sid.as_str(), "Messages.json"];
        endpoint(Channel::Sms, &self.config.base_url, &segments)
    }

    fn secrets(&self) -> [&Secret; 1] {
        [&self.config.auth_token]
    }

    async fn create(&self, to: &str, body: &str) -> Result<Delivered, DeliveryError> {
        let url = self.url()?;
        let shown = shown(&url);
        let mut form = vec![("To", to), ("Body", body)];
        match &self.config.sender {
            SmsSender::From(number) => form.push(("From", number.as_str())),
            SmsSender::MessagingService(sid) => form.push(("MessagingServiceSid", sid.as_str())),
        }
        let response = self
            .client
            .post(url)
            .timeout(self.config.timeout)
            .basic_auth(&self.config.account_sid, Some(self.config.auth_token.expose()))
            .form(&form)
            .send()
            .await
            .map_err(|e| self.transport(&shown, &e))?;
        let status = response.status();
        let retry_after = retry_after(&response, self.config.max_retry_after);
        let bytes = response.bytes().await.map_err(|e| self.transport(&shown, &e))?;
        if status.is_success() {
            let created: Created = serde_json::from_slice(&bytes).map_err(|e| {
                DeliveryError::permanent(
                    Channel::Sms,
                    format!("POST {shown}: HTTP {}: not a message resource: {e}", status.as_u16()),
                )
            })?;
            return Ok(Delivered { provider_id: Some(created.sid) });
        }
        let said = match serde_json::from_slice::<TwilioError>(&bytes) {
            Ok(TwilioError { code, message, more_info }) => {
                let mut said = String::new();
                if let Some(code) = code {
                    said.push_str(&format!("Twilio error {code}"));
                }
                if let Some(message) = message {
                    said.push_str(&format!("{}{message}", if said.is_empty() { "" } else { ": " }));
                }
                if let Some(more_info) = more_info {
                    said.push_str(&format!(" ({more_info})"));
                }
                said
            }
            Err(_) => String::from_utf8_lossy(&bytes).trim().chars().take(200).collect(),
        };
        let message = if said.is_empty() {
            format!("POST {shown}: HTTP {}", status.as_u16())
        } else {
            format!("POST {shown}: HTTP {}: {said}", status.as_u16())
        };
        let message = scrub(&message, &self.secrets());
        let transient = status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error();
        Err(refusal(Channel::Sms, message, transient, retry_after))
    }

    fn transport(&self, shown: &str, e: &reqwest::Error) -> DeliveryError {
        transport_error(Channel::Sms, shown, e, self.config.timeout, &self.secrets())
    }
}

impl Deliverer for Twilio {
    fn channel(&self) -> Channel {
        Channel::Sms
    }

    fn send<'a>(
        &'a self,
        rendered: &'a Rendered,
        recipient: &'a Recipient,
    ) -> BoxFuture<'a, Result<Delivered, DeliveryError>> {
        Box::pin(async move {
            match (&rendered.content, recipient) {
                (Content::Sms { body }, Recipient::Phone(to)) => self.create(to, body).await,
                _ => Err(mismatch(Channel::Sms, rendered, recipient)),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine;

    use super::*;
    use crate::notify::testing::{message, receive, refused, Reply};
    use crate::notify::Templates;

    const SID: &str = "AC0123456789abcdef0123456789abcdef";
    const TOKEN: &str = "tw-auth-S3CR3T-42";

    fn twilio(base: Url, sender: SmsSender) -> Twilio {
        Twilio::new(TwilioConfig::new(base, SID, Secret::new(TOKEN), sender), reqwest::Client::new())
    }

    fn sms() -> Rendered {
        Templates::new().render(&message("Smith"), Channel::Sms).unwrap()
    }

    const CREATED: &str = r#"{"account_sid":"AC0123456789abcdef0123456789abcdef","api_version":"2010-04-01","body":"…","date_created":"Mon, 02 Mar 2026 14:30:01 +0000","direction":"outbound-api","error_code":null,"error_message":null,"from":"+15005550006","messaging_service_sid":null,"num_segments":"1","price":null,"sid":"SM1f0e8ae6ade43cb3c0ce4525424e404f","status":"queued","to":"+15551234567","uri":"/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages/SM1f0e8ae6ade43cb3c0ce4525424e404f.json"}"#;

    #[tokio::test]
    async fn a_message_is_created_with_basic_auth_and_the_form_fields() {
        let receiver = receive(|_, _| Reply::new(201, CREATED)).await;
        let delivered = twilio(receiver.base.clone(), SmsSender::From("+15005550006".into()))
            .send(&sms(), &Recipient::Phone("+15551234567".into()))
            .await
            .unwrap();
        assert_eq!(delivered.provider_id.as_deref(), Some("SM1f0e8ae6ade43cb3c0ce4525424e404f"));

        let got = &receiver.received()[0];
        assert_eq!(got.method, "POST");
        assert_eq!(got.path, format!("/2010-04-01/Accounts/{SID}/Messages.json"));
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{SID}:{TOKEN}"));
        assert_eq!(got.header("authorization"), Some(format!("Basic {basic}").as_str()));
        assert_eq!(got.header("content-type"), Some("application/x-www-form-urlencoded"));
        let form = got.form();
        assert_eq!(form["To"], "+15551234567");
        assert_eq!(form["From"], "+15005550006");
        let Content::Sms { body } = sms().content else { panic!() };
        assert_eq!(form["Body"], body);
        assert!(form["Body"].contains("Allocation drifted past its band"));
        assert!(!form.contains_key("MessagingServiceSid"));
    }

    #[tokio::test]
    async fn a_messaging_service_sends_in_place_of_a_number() {
        let receiver = receive(|_, _| Reply::new(201, CREATED)).await;
        twilio(receiver.base.clone(), SmsSender::MessagingService("MG9752274e9e519418a7406176694466fa".into()))
            .send(&sms(), &Recipient::Phone("+15551234567".into()))
            .await
            .unwrap();
        let form = receiver.received()[0].form();
        assert_eq!(form["MessagingServiceSid"], "MG9752274e9e519418a7406176694466fa");
        assert!(!form.contains_key("From"));
    }

    #[tokio::test]
    async fn an_invalid_number_is_permanent_and_a_rate_limit_or_outage_transient() {
        let receiver = receive(|got, _| match got.form()["To"].as_str() {
            "+1555" => Reply::new(
                400,
                r#"{"code":21211,"message":"The 'To' number +1555 is not a valid phone number.","more_info":"https://www.twilio.com/docs/errors/21211","status":400}"#,
            ),
            "+15550000429" => Reply::new(
                429,
                r#"{"code":20429,"message":"Too Many Requests","more_info":"https://www.twilio.com/docs/errors/20429","status":429}"#,
            )
            .header("Retry-After", "3"),
            _ => Reply::new(503, "Service Unavailable"),
        })
        .await;
        let send = |to: &'static str| {
            let adapter = twilio(receiver.base.clone(), SmsSender::From("+15005550006".into()));
            async move { adapter.send(&sms(), &Recipient::Phone(to.into())).await.unwrap_err() }
        };
        let err = send("+1555").await;
        assert_eq!(
            err,
            DeliveryError::permanent(
                Channel::Sms,
                format!(
                    "POST {}2010-04-01/Accounts/{SID}/Messages.json: HTTP 400: Twilio error 21211: The 'To' number +1555 \
                     is not a valid phone number. (https://www.twilio.com/docs/errors/21211)",
                    receiver.base
                )
            )
        );
        let err = send("+15550000429").await;
        assert!(err.is_transient() && err.message().contains("Twilio error 20429"), "{err}");
        assert_eq!(err.retry_after(), Some(Duration::from_secs(3)));
        assert!(send("+15550000500").await.is_transient());
        let refused = Url::parse(&format!("http://{}", refused().await)).unwrap();
        let err = twilio(refused, SmsSender::From("+15005550006".into()))
            .send(&sms(), &Recipient::Phone("+15551234567".into()))
            .await
            .unwrap_err();
        assert!(err.is_transient() && err.message().contains("could not connect"), "{err}");
    }

    #[tokio::test]
    async fn refused_credentials_never_show_the_token() {
        // A server that echoes what it was sent, as some proxies do.
        let receiver = receive(|got, _| {
            let auth = got.header("authorization").unwrap_or_default();
            let decoded = base64::engine::general_purpose::STANDARD.decode(auth.trim_start_matches("Basic ")).unwrap();
            Reply::new(
                401,
                format!(
                    r#"{{"code":20003,"message":"Authenticate: {} refused","more_info":"https://www.twilio.com/docs/errors/20003","status":401}}"#,
                    String::from_utf8(decoded).unwrap()
                ),
            )
        })
        .await;
        let adapter = twilio(receiver.base.clone(), SmsSender::From("+15005550006".into()));
        let err = adapter.send(&sms(), &Recipient::Phone("+15551234567".into())).await.unwrap_err();
        assert!(!err.is_transient());
        let text = format!("{err} {err:?} {adapter:?}");
        assert!(!text.contains(TOKEN), "{text}");
        assert!(text.contains(&format!("Authenticate: {SID}:*** refused")), "{text}");
        // An e-mail recipient is refused before any request.
        let err = adapter.send(&sms(), &Recipient::Email { address: "a@b.c".into(), name: None }).await.unwrap_err();
        assert!(!err.is_transient());
        assert_eq!(receiver.received().len(), 1);
    }
}
