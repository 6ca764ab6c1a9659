//! E-mail over SMTP (RFC 5321) with lettre's Tokio transport: one connection per message (no
//! pool), `EHLO`, optional `AUTH` (PLAIN or LOGIN, as the server offers), `MAIL FROM`, `RCPT
//! TO`, `DATA`, `QUIT`.
//!
//! **Message**: `From` the configured mailbox, `To` the recipient (with a name when it has
//! one), the rendered `Subject`, `Message-ID: <{alert id}.email@{from's domain}>` (the same
//! on every try), `Date`, and a `multipart/alternative` body: the plain text, then the HTML
//! (the part mail readers prefer when they can show it). Each part is 7bit, or
//! quoted-printable or base64 where its text needs it.
//!
//! **TLS** ([`TlsMode`]): `None` (a local relay only: the password goes in the clear),
//! `StartTls` (RFC 3207, required: a server that does not offer `STARTTLS` gets nothing, not
//! even the password) or `Tls` (implicit TLS, RFC 8314, port 465); certificates are checked
//! against the webpki roots (rustls).
//!
//! **Errors**: a 5xx reply (an unknown mailbox, refused credentials, a refused message) is
//! `Permanent`; a 4xx reply (greylisting, a full mailbox, a busy server), a refused or dropped
//! connection and a timeout are `Transient`; a server without the `STARTTLS` or `AUTH` the
//! configuration needs, a TLS failure (an invalid certificate) and an address that does not
//! parse are `Permanent` (the configuration must change). No message shows the password.

use std::time::Duration;

use futures::future::BoxFuture;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::{mismatch, scrub, Channel, Content, Delivered, Deliverer, DeliveryError, Recipient, Rendered, Secret};

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain text throughout: for a relay on the same host or network only.
    None,
    /// Plain text, then `STARTTLS`, which the server must offer (port 587).
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
}

/// An SMTP server to send through.
#[derive(Debug, Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    /// The sender's mailbox, `alerts@cairn.example` or `cairn <alerts@cairn.example>`.
    pub from: String,
    /// Both or neither: the credentials of `AUTH`.
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub tls: TlsMode,
    /// The timeout of each SMTP command (connecting included): 30 s unless set.
    pub timeout: Duration,
}

impl SmtpConfig {
    pub fn new(host: impl Into<String>, port: u16, from: impl Into<String>, tls: TlsMode) -> Self {
        Self {
            host: host.into(),
            port,
            from: from.into(),
            username: None,
            password: None,
            tls,
            timeout: Duration::from_secs(30),
        }
    }

    /// With `AUTH` as `username`.
    pub fn with_credentials(mut self, username: impl Into<String>, password: Secret) -> Self {
        self.username = Some(username.into());
        self.password = Some(password);
        self
    }
}

/// The e-mail adapter.
#[derive(Clone)]
pub struct Mailer {
    config: SmtpConfig,
    from: Mailbox,
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer").field("config", &self.config).finish_non_exhaustive()
    }
}

impl Mailer {
    /// Checks the configuration (the sender parses, credentials come in pairs, the host can
    /// be a TLS name); connects only when sending.
    pub fn new(config: SmtpConfig) -> Result<Self, DeliveryError> {
        let refused = |what: String| DeliveryError::permanent(Channel::Email, what);
        let from: Mailbox =
            config.from.parse().map_err(|e| refused(format!("the sender {:?} is not a mailbox: {e}", config.from)))?;
        let tls = match config.tls {
            TlsMode::None => Tls::None,
            TlsMode::StartTls | TlsMode::Tls => {
                let parameters = TlsParameters::new(config.host.clone())
                    .map_err(|e| refused(format!("TLS for {}: {e}", config.host)))?;
                if config.tls == TlsMode::Tls {
                    Tls::Wrapper(parameters)
                } else {
                    Tls::Required(parameters)
                }
            }
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(config.host.clone())
            .port(config.port)
            .tls(tls)
            .timeout(Some(config.timeout));
        match (&config.username, &config.password) {
            (Some(user), Some(password)) => {
                builder = builder.credentials(Credentials::new(user.clone(), password.expose().to_owned()));
            }
            (None, None) => {}
            _ => return Err(refused("a username needs a password, and a password a username".to_owned())),
        }
        Ok(Self { transport: builder.build(), from, config })
    }

    fn secrets(&self) -> Vec<&Secret> {
        self.config.password.iter().collect()
    }

    async fn mail(
        &self,
        rendered: &Rendered,
        (subject, html, text): (&str, &str, &str),
        (address, name): (&str, Option<&String>),
    ) -> Result<Delivered, DeliveryError> {
        let permanent = |what: String| DeliveryError::permanent(Channel::Email, scrub(&what, &self.secrets()));
        let address: Address =
            address.parse().map_err(|e| permanent(format!("the recipient {address:?} is not an address: {e}")))?;
        let message = lettre::Message::builder()
            .from(self.from.clone())
            .to(Mailbox::new(name.cloned(), address))
            .subject(subject)
            .message_id(Some(format!("<{}.email@{}>", rendered.alert_id, self.from.email.domain())))
            .multipart(MultiPart::alternative_plain_html(text.to_owned(), html.to_owned()))
            .map_err(|e| permanent(format!("the message: {e}")))?;
        let response = self.transport.send(message).await.map_err(|e| self.error(&e))?;
        let said = response.message().collect::<Vec<_>>().join(" ");
        Ok(Delivered { provider_id: Some(format!("{} {said}", response.code()).trim().to_owned()) })
    }

    /// A lettre error as a delivery error (see the module doc).
    fn error(&self, e: &lettre::transport::smtp::Error) -> DeliveryError {
        let message = scrub(&format!("SMTP {}:{}: {e}", self.config.host, self.config.port), &self.secrets());
        // Transient: a 4xx reply, a timeout, a refused, reset or closed connection, a reply that
        // does not parse (a connection cut mid-line).
        let transient = !(e.is_permanent() || e.is_tls() || e.is_client());
        if transient {
            DeliveryError::transient(Channel::Email, message)
        } else {
            DeliveryError::permanent(Channel::Email, message)
        }
    }
}

impl Deliverer for Mailer {
    fn channel(&self) -> Channel {
        Channel::Email
    }

    fn send<'a>(
        &'a self,
        rendered: &'a Rendered,
        recipient: &'a Recipient,
    ) -> BoxFuture<'a, Result<Delivered, DeliveryError>> {
        Box::pin(async move {
            match (&rendered.content, recipient) {
                (Content::Email { subject, html, text }, Recipient::Email { address, name }) => {
                    self.mail(rendered, (subject, html, text), (address, name.as_ref())).await
                }
                _ => Err(mismatch(Channel::Email, rendered, recipient)),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use super::*;
    use crate::notify::smtp_sink::{ended, header, parts, smtp_server, split, Behaviour};
    use crate::notify::testing::{message, refused};
    use crate::notify::{deliver, RetryPolicy, Templates};

    fn mailer(addr: SocketAddr) -> Mailer {
        Mailer::new(SmtpConfig {
            timeout: Duration::from_secs(5),
            ..SmtpConfig::new("127.0.0.1", addr.port(), "cairn alerts <alerts@cairn.test>", TlsMode::None)
        })
        .unwrap()
    }

    fn alice() -> Recipient {
        Recipient::Email { address: "alice@smith.test".into(), name: Some("Alice Smith".into()) }
    }

    fn email(household_name: &str) -> Rendered {
        Templates::new().render(&message(household_name), Channel::Email).unwrap()
    }

    #[tokio::test]
    async fn a_multipart_alternative_message_reaches_the_smtp_server() {
        let (addr, sessions) = smtp_server(Behaviour::Accept).await;
        let rendered = email("<script>alert('x')</script> Smith");
        let delivered = mailer(addr).send(&rendered, &alice()).await.unwrap();
        assert_eq!(delivered.provider_id.as_deref(), Some("250 2.0.0 Ok: queued as Q1"));

        let session = ended(&sessions, 1).await[0].clone();
        assert_eq!(session.mail_from, "<alerts@cairn.test>");
        assert_eq!(session.rcpt_to, ["<alice@smith.test>"]);
        assert!(session.quit, "the client said QUIT");
        assert_eq!(session.auth, None);

        let (headers, body) = split(&session.data);
        assert_eq!(header(&headers, "From"), "\"cairn alerts\" <alerts@cairn.test>");
        assert_eq!(header(&headers, "To"), "\"Alice Smith\" <alice@smith.test>");
        assert_eq!(
            header(&headers, "Subject"),
            "[WARNING] <script>alert('x')</script> Smith: Allocation drifted past its band"
        );
        assert_eq!(header(&headers, "Message-ID"), "<0190f3a2-7c41-7d1e-9a55-1b2c3d4e5f60.email@cairn.test>");
        assert_eq!(header(&headers, "MIME-Version"), "1.0");
        let date = chrono::DateTime::parse_from_rfc2822(header(&headers, "Date")).unwrap();
        assert!((chrono::Utc::now() - date.to_utc()).num_seconds().abs() < 60, "{date}");
        let content_type = header(&headers, "Content-Type");
        assert!(content_type.starts_with("multipart/alternative;"), "{content_type}");

        let parts = parts(content_type, body);
        assert_eq!(parts.len(), 2);
        let Content::Email { html, text, .. } = &rendered.content else { panic!() };
        assert_eq!(parts[0].0, "text/plain; charset=utf-8");
        assert_eq!(parts[0].1.replace("\r\n", "\n"), *text);
        assert!(parts[0].1.contains("Household: <script>alert('x')</script> Smith"), "{}", parts[0].1);
        assert_eq!(parts[1].0, "text/html; charset=utf-8");
        assert_eq!(parts[1].1.replace("\r\n", "\n"), *html);
        assert!(parts[1].1.contains("<strong>&lt;script&gt;alert(&#x27;x&#x27;)&lt;&#x2f;script&gt; Smith</strong>"));
        assert!(!parts[1].1.contains("<script>"));
    }

    #[tokio::test]
    async fn lines_starting_with_a_dot_survive_the_data_phase() {
        let (addr, sessions) = smtp_server(Behaviour::Accept).await;
        let rendered = Rendered {
            alert_id: "a-1".into(),
            content: Content::Email {
                subject: "Dots".into(),
                html: "<p>.</p>".into(),
                text: "first\n.\n..two\n.hidden\nlast".into(),
            },
        };
        mailer(addr).send(&rendered, &Recipient::Email { address: "bob@b.test".into(), name: None }).await.unwrap();
        let session = ended(&sessions, 1).await[0].clone();
        let (headers, body) = split(&session.data);
        assert_eq!(header(&headers, "To"), "bob@b.test");
        let parts = parts(header(&headers, "Content-Type"), body);
        assert_eq!(parts[0].1, "first\r\n.\r\n..two\r\n.hidden\r\nlast");
    }

    #[tokio::test]
    async fn the_credentials_go_with_auth_plain() {
        let (addr, sessions) = smtp_server(Behaviour::Accept).await;
        let config = SmtpConfig::new("127.0.0.1", addr.port(), "alerts@cairn.test", TlsMode::None)
            .with_credentials("alerts", Secret::new("smtp-pw-S3CR3T"));
        Mailer::new(config).unwrap().send(&email("Smith"), &alice()).await.unwrap();
        assert_eq!(ended(&sessions, 1).await[0].auth.as_deref(), Some("alerts:smtp-pw-S3CR3T"));
    }

    #[tokio::test]
    async fn a_5xx_reply_is_permanent_and_a_4xx_transient() {
        let (addr, sessions) =
            smtp_server(Behaviour::RefuseRecipient("550 5.1.1 <alice@smith.test>: User unknown")).await;
        let attempts = deliver(&mailer(addr), &email("Smith"), &alice(), &RetryPolicy::default()).await;
        assert_eq!(attempts.len(), 1, "not retried");
        let err = attempts[0].outcome.clone().unwrap_err();
        assert!(!err.is_transient());
        assert!(err.message().contains("550") && err.message().contains("User unknown"), "{err}");
        assert!(ended(&sessions, 1).await[0].data.is_empty(), "no DATA");

        let (addr, _) = smtp_server(Behaviour::RefuseRecipient("452 4.2.2 Mailbox full, try later")).await;
        let err = mailer(addr).send(&email("Smith"), &alice()).await.unwrap_err();
        assert!(err.is_transient() && err.message().contains("Mailbox full"), "{err}");
    }

    #[tokio::test]
    async fn a_refused_connection_is_transient() {
        let err = mailer(refused().await).send(&email("Smith"), &alice()).await.unwrap_err();
        assert!(err.is_transient(), "{err}");
        assert!(err.message().starts_with("SMTP 127.0.0.1:"), "{err}");
    }

    #[tokio::test]
    async fn starttls_required_sends_nothing_to_a_server_without_it() {
        let (addr, sessions) = smtp_server(Behaviour::Accept).await;
        let config = SmtpConfig::new("127.0.0.1", addr.port(), "alerts@cairn.test", TlsMode::StartTls)
            .with_credentials("alerts", Secret::new("smtp-pw-S3CR3T"));
        let err = Mailer::new(config).unwrap().send(&email("Smith"), &alice()).await.unwrap_err();
        assert!(!err.is_transient() && err.message().contains("STARTTLS"), "{err}");
        let sessions = ended(&sessions, 1).await;
        assert!(sessions.iter().all(|s| s.auth.is_none() && s.mail_from.is_empty()), "{sessions:?}");
    }

    #[tokio::test]
    async fn refused_credentials_are_permanent_and_never_show_the_password() {
        let (addr, _) = smtp_server(Behaviour::RefuseAuth).await;
        let config = SmtpConfig::new("127.0.0.1", addr.port(), "alerts@cairn.test", TlsMode::None)
            .with_credentials("alerts", Secret::new("smtp-pw-S3CR3T"));
        let mailer = Mailer::new(config).unwrap();
        let err = mailer.send(&email("Smith"), &alice()).await.unwrap_err();
        assert!(!err.is_transient());
        let text = format!("{err} {err:?} {mailer:?}");
        assert!(!text.contains("S3CR3T"), "{text}");
        assert!(text.contains("535") && text.contains("alerts:***"), "{text}");
    }

    #[test]
    fn a_bad_configuration_is_refused_before_sending() {
        let err = Mailer::new(SmtpConfig::new("127.0.0.1", 25, "not a mailbox", TlsMode::None)).unwrap_err();
        assert!(err.message().contains("not a mailbox"), "{err}");
        let half =
            SmtpConfig { username: Some("alerts".into()), ..SmtpConfig::new("h", 25, "a@b.test", TlsMode::None) };
        assert!(Mailer::new(half).is_err());
    }
}
