//! RFC 7807 problem documents: every error the API returns, including the ones axum would
//! otherwise answer in plain text (malformed JSON, wrong content type, oversized body, unknown
//! route), has `Content-Type: application/problem+json` and a stable `type` of the form
//! `/problems/<slug>`.

use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use commands::CommandError;
use serde::de::DeserializeOwned;
use serde_json::{json, Map, Value};

/// An error answer. `slug` becomes the `type` (`/problems/<slug>`); `extra` members are added
/// to the document (`field`, `current_version`, `retry_after`, …).
#[derive(Debug)]
pub struct Problem {
    pub status: StatusCode,
    pub slug: &'static str,
    pub title: &'static str,
    pub detail: String,
    pub extra: Map<String, Value>,
    pub retry_after: Option<u64>,
}

/// Every problem type the API uses, with its status and title (listed in the OpenAPI
/// document, so clients can rely on the slugs).
pub const TYPES: &[(&str, u16, &str)] = &[
    ("validation", 422, "The request is not valid"),
    ("malformed-body", 400, "The body could not be read"),
    ("unsupported-media-type", 415, "Wrong content type"),
    ("payload-too-large", 413, "The body is too large"),
    ("unauthorized", 401, "Sign in first"),
    ("invalid-credentials", 401, "Wrong email or password"),
    ("mfa-required", 401, "An authentication code is needed"),
    ("invalid-mfa-code", 401, "Wrong authentication code"),
    ("token-reused", 401, "Refresh token reused; the session is revoked"),
    ("forbidden", 403, "Not allowed for your role"),
    ("not-found", 404, "Not found"),
    ("method-not-allowed", 405, "Method not allowed"),
    ("conflict", 409, "Conflict with the current state"),
    ("idempotency-key-reused", 422, "Idempotency-Key reused with a different request"),
    ("rate-limited", 429, "Too many requests"),
    ("locked-out", 429, "Too many failed sign-ins"),
    ("timeout", 503, "The request took too long"),
    ("unavailable", 503, "The store is unavailable"),
    ("internal", 500, "Internal error"),
];

impl Problem {
    pub fn new(slug: &'static str, detail: impl Into<String>) -> Self {
        let (_, status, title) =
            TYPES.iter().find(|(s, _, _)| *s == slug).copied().unwrap_or(("internal", 500, "Error"));
        Self {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            slug,
            title,
            detail: detail.into(),
            extra: Map::new(),
            retry_after: None,
        }
    }

    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.extra.insert(key.to_owned(), value.into());
        self
    }

    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds.max(1));
        self.with("retry_after", seconds.max(1))
    }

    /// A validation problem naming the field.
    pub fn field(field: &str, detail: impl Into<String>) -> Self {
        Self::new("validation", detail).with("field", field)
    }

    pub fn not_found() -> Self {
        Self::new("not-found", "no such resource")
    }

    pub fn internal(e: impl std::fmt::Display) -> Self {
        tracing::error!(error = %e, "request failed");
        Self::new("internal", "the server could not complete the request; it is logged")
    }
}

impl Problem {
    /// The problem document (the response body).
    pub fn document(&self) -> Value {
        let mut body = json!({
            "type": format!("/problems/{}", self.slug),
            "title": self.title,
            "status": self.status.as_u16(),
            "detail": self.detail,
        });
        if let Value::Object(map) = &mut body {
            map.extend(self.extra.clone());
        }
        body
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let mut response = (self.status, self.document().to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// The field a `field: problem` message names (commands and the domain word errors so).
fn field_of(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("line ").map_or(message, |r| r.split_once(": ").map_or(r, |(_, r)| r));
    let (field, _) = rest.split_once(": ")?;
    (!field.is_empty() && field.len() <= 40 && !field.contains(' ')).then_some(field)
}

impl From<CommandError> for Problem {
    fn from(e: CommandError) -> Self {
        match e {
            CommandError::Rejected(domain::DomainError::NotFound { ref field, .. }) => {
                Problem::new("not-found", e.to_string()).with("field", field.clone())
            }
            CommandError::Rejected(domain::DomainError::Conflict { ref field, .. }) => {
                Problem::new("conflict", e.to_string()).with("field", field.clone())
            }
            CommandError::Invalid(_) | CommandError::Rejected(_) => {
                let detail = e.to_string();
                let mut p = Problem::new("validation", detail.clone());
                if let Some(field) = field_of(&detail) {
                    p = p.with("field", field);
                }
                if let Some(line) = detail.strip_prefix("line ").and_then(|r| r.split(':').next()?.parse::<u64>().ok())
                {
                    p = p.with("line", line);
                }
                p
            }
            // The caller's own precondition failed: read again, then decide whether to retry.
            CommandError::Conflict { ref stream, expected, actual } => Problem::new("conflict", e.to_string())
                .with("stream", stream.clone())
                .with("expected_version", expected)
                .with("current_version", actual),
            // The server already retried for `RETRY_FOR`: the same request may succeed later.
            CommandError::Contention(_) => Problem::new("conflict", e.to_string()).retry_after(1),
            CommandError::Store(err) => Problem::internal(err),
        }
    }
}

impl From<projections::Error> for Problem {
    fn from(e: projections::Error) -> Self {
        Problem::internal(e)
    }
}

impl From<event_store::StoreError> for Problem {
    fn from(e: event_store::StoreError) -> Self {
        Problem::internal(e)
    }
}

/// A JSON body whose every rejection is a problem document: a wrong content type (415), a body
/// over the limit (413), bad JSON or a field of the wrong type, missing or unknown (400
/// `malformed-body`, naming the field by its path in `field`, in plain words).
#[derive(Debug, Clone, Copy, Default)]
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = media_type(req.headers())
            .is_some_and(|t| t == "application/json" || (t.starts_with("application/") && t.ends_with("+json")));
        if !is_json {
            return Err(Problem::new("unsupported-media-type", "send the body as application/json"));
        }
        let bytes = axum::body::Bytes::from_request(req, state).await.map_err(bytes_rejection)?;
        read_json(&bytes).map(Self)
    }
}

/// A request's media type (`Content-Type` without parameters), lowercased.
pub(crate) fn media_type(headers: &axum::http::HeaderMap) -> Option<String> {
    let value = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    Some(value.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
}

/// Reads a JSON body into `T`; a refusal names the field by its path (`targets.VTI`,
/// `documents[0].kind`) and says what was wrong without quoting the parser.
pub fn read_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    let mut d = serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize(&mut d) {
        Ok(v) => {
            d.end().map_err(|_| Problem::new("malformed-body", "the body holds more than one JSON value"))?;
            Ok(v)
        }
        Err(e) => {
            let path = e.path().to_string();
            let inner = e.into_inner();
            if !inner.is_data() {
                let what = if inner.is_eof() { "ends too early" } else { "is not valid JSON" };
                return Err(Problem::new(
                    "malformed-body",
                    format!("the body {what} (line {}, column {})", inner.line(), inner.column()),
                ));
            }
            let (field, detail) = data_error(&path, &inner.to_string());
            Err(Problem::new("malformed-body", detail).with("field", field))
        }
    }
}

/// serde's message about the value at `path`, as the field and a plain-words detail.
fn data_error(path: &str, message: &str) -> (String, String) {
    let message = message.rfind(" at line ").map_or(message, |i| &message[..i]);
    let join = |name: &str| if path.is_empty() || path == "." { name.to_owned() } else { format!("{path}.{name}") };
    if let Some(name) = message.strip_prefix("missing field `").and_then(|r| r.strip_suffix('`')) {
        let field = join(name);
        return (field.clone(), format!("{field}: required"));
    }
    if let Some((name, takes)) = super::query::unknown_field(message) {
        let field = if path == name || path.ends_with(&format!(".{name}")) { path.to_owned() } else { join(&name) };
        return (field.clone(), format!("{field}: not a field of this body{takes}"));
    }
    let field = if path.is_empty() || path == "." { "body".to_owned() } else { path.to_owned() };
    let plain = match message.strip_prefix("invalid type: ").or_else(|| message.strip_prefix("invalid value: ")) {
        Some(rest) => match rest.split_once(", expected ") {
            Some((got, expected)) => format!("expected {expected}, got {}", got.replace('`', "")),
            None => rest.replace('`', ""),
        },
        None => match message.strip_prefix("unknown variant `").and_then(|r| r.split_once("`, expected ")) {
            Some((got, expected)) => format!("{got:?} is not {}", expected.replace('`', "")),
            None => message.replace('`', ""),
        },
    };
    (field.clone(), format!("{field}: {plain}"))
}

pub(crate) fn bytes_rejection(b: BytesRejection) -> Problem {
    if b.status() == StatusCode::PAYLOAD_TOO_LARGE {
        Problem::new("payload-too-large", "the body is larger than this endpoint accepts")
    } else {
        Problem::new("malformed-body", "the body could not be read")
    }
}

#[cfg(test)]
mod tests {
    use super::{field_of, read_json};
    use crate::http::routes::ledger::{Correction, Targets};

    #[test]
    fn the_field_is_read_from_a_command_error() {
        assert_eq!(field_of("line 3: price: not a number"), Some("price"));
        assert_eq!(field_of("email: x is already registered"), Some("email"));
        assert_eq!(field_of("stream changed while deciding"), None);
    }

    fn refused<T: serde::de::DeserializeOwned + std::fmt::Debug>(json: &str) -> (String, String) {
        let p = read_json::<T>(json.as_bytes()).expect_err(json);
        (p.extra.get("field").and_then(|f| f.as_str()).unwrap_or_default().to_owned(), p.detail)
    }

    #[test]
    fn body_errors_name_the_field_in_plain_words() {
        let (field, detail) = refused::<Correction>(r#"{"quantity": 5}"#);
        assert_eq!((field.as_str(), detail.as_str()), ("reason", "reason: required"));
        let (field, detail) = refused::<Correction>(r#"{"reason": "x", "qty": 5}"#);
        assert_eq!(field, "qty");
        assert!(detail.starts_with("qty: not a field of this body (it takes reason, trade_date"), "{detail}");
        let (field, detail) = refused::<Correction>(r#"{"reason": 7}"#);
        assert_eq!((field.as_str(), detail.as_str()), ("reason", "reason: expected a string, got integer 7"));
        let (field, detail) = refused::<Targets>(r#"{"targets": {"VTI": true}}"#);
        assert_eq!(field, "targets.VTI");
        assert!(detail.starts_with("targets.VTI: expected a decimal"), "{detail}");
        let (_, detail) = refused::<Correction>(r#"{"reason": "x""#);
        assert_eq!(detail, "the body ends too early (line 1, column 14)");
        let (_, detail) = refused::<Correction>(r#"{"reason": "x"} {}"#);
        assert_eq!(detail, "the body holds more than one JSON value");
        let (field, detail) = refused::<Correction>(r#"{"trade_date": "2024-13-01", "reason": "x"}"#);
        assert_eq!(field, "trade_date");
        assert!(!detail.contains("serde") && !detail.contains('`'), "{detail}");
    }
}
