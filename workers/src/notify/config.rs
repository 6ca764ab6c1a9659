//! The delivery settings: a `[notify]` table in the ops file (`CAIRN_OPS` for `cairn serve`,
//! `--config` for `cairn alerts deliver`); a channel without its table is not used. Secrets
//! are read from the environment variables the file names, never from the file.
//!
//! ```toml
//! [notify]
//! every_seconds = 60            # how often due alerts are looked for
//! templates = "templates"       # optional: <rule>/<part file> overriding the defaults,
//!                               # relative to this file
//! retry = { attempts = 3, base_ms = 1000, max_delay_ms = 60000 }
//!
//! [notify.email]                # SMTP
//! host = "smtp.example.com"
//! port = 587
//! tls = "starttls"              # none | starttls | tls
//! from = "cairn <alerts@example.com>"
//! username = "alerts"           # with password_env, or neither
//! password_env = "CAIRN_SMTP_PASSWORD"
//!
//! [notify.webhook]
//! url = "https://crm.example.com/hooks/cairn"
//! secret_env = "CAIRN_WEBHOOK_SECRET"
//!
//! [notify.sms]                  # Twilio
//! account_sid = "AC…"
//! auth_token_env = "TWILIO_AUTH_TOKEN"
//! from = "+15555550100"         # or messaging_service = "MG…"
//! # base_url = "https://api.twilio.com"
//!
//! [notify.push]                 # Firebase Cloud Messaging
//! project_id = "cairn-prod"
//! access_token_env = "FCM_ACCESS_TOKEN"
//! # base_url = "https://fcm.googleapis.com"
//! ```

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use reqwest::Url;
use serde::Deserialize;

use super::{
    Adapter, Channel, Fcm, FcmConfig, Mailer, RetryPolicy, Secret, SmsSender, SmtpConfig, Templates, TlsMode, Twilio,
    TwilioConfig, Webhook, WebhookConfig,
};
use crate::notify::templates::Part;

/// How alerts are delivered.
#[derive(Debug)]
pub struct Settings {
    /// One adapter per configured channel.
    pub adapters: BTreeMap<Channel, Adapter>,
    pub templates: Templates,
    pub retry: RetryPolicy,
    pub every: Duration,
}

#[derive(Deserialize)]
struct File {
    notify: Option<Table>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    every_seconds: Option<u64>,
    templates: Option<String>,
    retry: Option<Retry>,
    email: Option<Email>,
    webhook: Option<Hook>,
    sms: Option<Sms>,
    push: Option<Push>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Retry {
    attempts: Option<u32>,
    base_ms: Option<u64>,
    max_delay_ms: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Email {
    host: String,
    port: Option<u16>,
    tls: Option<String>,
    from: String,
    username: Option<String>,
    password_env: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Hook {
    url: String,
    secret_env: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Sms {
    account_sid: String,
    auth_token_env: String,
    from: Option<String>,
    messaging_service: Option<String>,
    base_url: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Push {
    project_id: String,
    access_token_env: String,
    base_url: Option<String>,
}

/// Reads the `[notify]` table of a file's text (`None` without one); `base` is the file's
/// folder (for `templates`), `env` reads an environment variable. An error names the key.
pub fn parse(text: &str, base: &Path, env: impl Fn(&str) -> Option<String>) -> Result<Option<Settings>, String> {
    let file: File = toml::from_str(text).map_err(|e| format!("notify settings: {}", e.message()))?;
    let Some(t) = file.notify else { return Ok(None) };
    let secret = |key: &str, var: &str| {
        env(var)
            .filter(|v| !v.is_empty())
            .map(Secret::new)
            .ok_or_else(|| format!("notify.{key}: the environment variable {var} is not set"))
    };
    let url = |key: &str, text: &str| {
        Url::parse(text)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| format!("notify.{key}: {text:?} is not an http(s) URL"))
    };
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| format!("notify: no HTTP client: {e}"))?;
    let mut adapters = BTreeMap::new();
    if let Some(e) = t.email {
        let tls = match e.tls.as_deref().unwrap_or("starttls") {
            "none" => TlsMode::None,
            "starttls" => TlsMode::StartTls,
            "tls" => TlsMode::Tls,
            other => return Err(format!("notify.email.tls: {other:?} is not none, starttls or tls")),
        };
        let port = e.port.unwrap_or(match tls {
            TlsMode::Tls => 465,
            TlsMode::StartTls => 587,
            TlsMode::None => 25,
        });
        let mut config = SmtpConfig::new(e.host, port, e.from, tls);
        match (e.username, e.password_env) {
            (Some(user), Some(var)) => config = config.with_credentials(user, secret("email.password_env", &var)?),
            (None, None) => {}
            _ => return Err("notify.email: username and password_env go together".into()),
        }
        let mailer = Mailer::new(config).map_err(|e| format!("notify.email: {}", e.message()))?;
        adapters.insert(Channel::Email, Adapter::Email(mailer));
    }
    if let Some(h) = t.webhook {
        let config = WebhookConfig::new(url("webhook.url", &h.url)?, secret("webhook.secret_env", &h.secret_env)?);
        let hook = Webhook::new(config).map_err(|e| format!("notify.webhook: {}", e.message()))?;
        adapters.insert(Channel::Webhook, Adapter::Webhook(hook));
    }
    if let Some(s) = t.sms {
        let sender = match (s.from, s.messaging_service) {
            (Some(from), None) => SmsSender::From(from),
            (None, Some(service)) => SmsSender::MessagingService(service),
            _ => return Err("notify.sms: give one of from and messaging_service".into()),
        };
        let base = url("sms.base_url", s.base_url.as_deref().unwrap_or("https://api.twilio.com"))?;
        let token = secret("sms.auth_token_env", &s.auth_token_env)?;
        let config = TwilioConfig::new(base, s.account_sid, token, sender);
        adapters.insert(Channel::Sms, Adapter::Sms(Twilio::new(config, client.clone())));
    }
    if let Some(p) = t.push {
        let base = url("push.base_url", p.base_url.as_deref().unwrap_or("https://fcm.googleapis.com"))?;
        let token = secret("push.access_token_env", &p.access_token_env)?;
        adapters.insert(Channel::Push, Adapter::Push(Fcm::new(FcmConfig::new(base, p.project_id, token), client)));
    }
    let mut retry = RetryPolicy::default();
    if let Some(r) = t.retry {
        if r.attempts == Some(0) {
            return Err("notify.retry.attempts: at least 1 (the first try counts)".into());
        }
        retry.attempts = r.attempts.unwrap_or(retry.attempts);
        retry.base = r.base_ms.map_or(retry.base, Duration::from_millis);
        retry.max_delay = r.max_delay_ms.map_or(retry.max_delay, Duration::from_millis);
    }
    let templates = match &t.templates {
        Some(dir) => load_templates(&base.join(dir))?,
        None => Templates::new(),
    };
    let every = Duration::from_secs(t.every_seconds.unwrap_or(60).max(1));
    Ok(Some(Settings { adapters, templates, retry, every }))
}

/// The defaults with every `<rule>/<part file>` found under `dir` (`drift/sms.txt`).
fn load_templates(dir: &Path) -> Result<Templates, String> {
    let mut templates = Templates::new();
    let rules = std::fs::read_dir(dir).map_err(|e| format!("notify.templates: {}: {e}", dir.display()))?;
    for rule in rules {
        let rule = rule.map_err(|e| format!("notify.templates: {}: {e}", dir.display()))?;
        if !rule.path().is_dir() {
            continue;
        }
        let name = rule.file_name().to_string_lossy().into_owned();
        for part in Part::ALL {
            let path = rule.path().join(part.file());
            if let Ok(source) = std::fs::read_to_string(&path) {
                templates = templates
                    .with_template(&name, part, &source)
                    .map_err(|e| format!("notify.templates: {}: {}", path.display(), e.message))?;
            }
        }
    }
    Ok(templates)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "HOOK_SECRET" => Some("s3cret".into()),
            "TWILIO" => Some("token".into()),
            _ => None,
        }
    }

    #[test]
    fn channels_come_from_their_tables_and_secrets_from_the_environment() {
        let text = r#"
            [ops]
            retries = 2
            [notify]
            every_seconds = 30
            retry = { attempts = 5, base_ms = 10 }
            [notify.email]
            host = "127.0.0.1"
            port = 2525
            tls = "none"
            from = "cairn <alerts@cairn.test>"
            [notify.webhook]
            url = "http://127.0.0.1:9/hook"
            secret_env = "HOOK_SECRET"
            [notify.sms]
            account_sid = "AC1"
            auth_token_env = "TWILIO"
            from = "+15555550100"
        "#;
        let s = parse(text, Path::new("."), env).unwrap().unwrap();
        assert_eq!(s.adapters.keys().copied().collect::<Vec<_>>(), [Channel::Email, Channel::Sms, Channel::Webhook]);
        assert_eq!((s.every, s.retry.attempts, s.retry.base), (Duration::from_secs(30), 5, Duration::from_millis(10)));
        assert!(parse("[ops]\nretries = 2\n", Path::new("."), env).unwrap().is_none());
        let missing = "[notify.webhook]\nurl = \"http://127.0.0.1/\"\nsecret_env = \"NOPE\"\n";
        assert_eq!(
            parse(missing, Path::new("."), env).unwrap_err(),
            "notify.webhook.secret_env: the environment variable NOPE is not set"
        );
        let tls = "[notify.email]\nhost = \"h\"\nfrom = \"a@b.test\"\ntls = \"ssl\"\n";
        assert!(parse(tls, Path::new("."), env).unwrap_err().starts_with("notify.email.tls"));
        assert!(parse("[notify]\ncolour = 1\n", Path::new("."), env).unwrap_err().contains("colour"));
    }
}
