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

/// An error answer. Its kind gives the `type` (`/problems/<slug>`), status and title;
/// `extra` members are added to the document (`field`, `current_version`, `retry_after`, …).
#[derive(Debug)]
pub struct Problem {
    pub kind: ProblemKind,
    pub detail: String,
    pub extra: Map<String, Value>,
    pub retry_after: Option<u64>,
}

macro_rules! problem_kinds {
    ($($kind:ident = ($slug:literal, $status:ident, $title:literal),)*) => {
        /// Every problem type the API answers, each with its slug, status and title (listed in
        /// the OpenAPI document, so clients can rely on the slugs). A kind is a variant, not
        /// text: a mistyped one does not compile.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum ProblemKind {
            $($kind,)*
        }

        impl ProblemKind {
            pub const ALL: &'static [ProblemKind] = &[$(ProblemKind::$kind,)*];

            /// The `type` is `/problems/<slug>`.
            pub const fn slug(self) -> &'static str {
                match self {
                    $(ProblemKind::$kind => $slug,)*
                }
            }

            pub const fn status(self) -> StatusCode {
                match self {
                    $(ProblemKind::$kind => StatusCode::$status,)*
                }
            }

            pub const fn title(self) -> &'static str {
                match self {
                    $(ProblemKind::$kind => $title,)*
                }
            }
        }
    };
}

problem_kinds! {
    Validation = ("validation", UNPROCESSABLE_ENTITY, "The request is not valid"),
    MalformedBody = ("malformed-body", BAD_REQUEST, "The body could not be read"),
    UnsupportedMediaType = ("unsupported-media-type", UNSUPPORTED_MEDIA_TYPE, "Wrong content type"),
    PayloadTooLarge = ("payload-too-large", PAYLOAD_TOO_LARGE, "The body is too large"),
    Unauthorized = ("unauthorized", UNAUTHORIZED, "Sign in first"),
    InvalidCredentials = ("invalid-credentials", UNAUTHORIZED, "Wrong email or password"),
    MfaRequired = ("mfa-required", UNAUTHORIZED, "An authentication code is needed"),
    InvalidMfaCode = ("invalid-mfa-code", UNAUTHORIZED, "Wrong authentication code"),
    TokenReused = ("token-reused", UNAUTHORIZED, "Refresh token reused; the session is revoked"),
    Forbidden = ("forbidden", FORBIDDEN, "Not allowed for your role"),
    NotFound = ("not-found", NOT_FOUND, "Not found"),
    MethodNotAllowed = ("method-not-allowed", METHOD_NOT_ALLOWED, "Method not allowed"),
    Conflict = ("conflict", CONFLICT, "Conflict with the current state"),
    IdempotencyKeyReused = ("idempotency-key-reused", UNPROCESSABLE_ENTITY, "Idempotency-Key reused with a different request"),
    RateLimited = ("rate-limited", TOO_MANY_REQUESTS, "Too many requests"),
    LockedOut = ("locked-out", TOO_MANY_REQUESTS, "Too many failed sign-ins"),
    Timeout = ("timeout", SERVICE_UNAVAILABLE, "The request took too long"),
    Unavailable = ("unavailable", SERVICE_UNAVAILABLE, "The store is unavailable"),
    Upstream = ("upstream", BAD_GATEWAY, "No market data provider answered"),
    Internal = ("internal", INTERNAL_SERVER_ERROR, "Internal error"),
}

impl Problem {
    pub fn new(kind: ProblemKind, detail: impl Into<String>) -> Self {
        Self { kind, detail: detail.into(), extra: Map::new(), retry_after: None }
    }

    pub fn status(&self) -> StatusCode {
        self.kind.status()
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
        Self::new(ProblemKind::Validation, detail).with("field", field)
    }

    pub fn not_found() -> Self {
        Self::new(ProblemKind::NotFound, "no such resource")
    }

    pub fn internal(e: impl std::fmt::Display) -> Self {
        tracing::error!(error = %e, "request failed");
        Self::new(ProblemKind::Internal, "the server could not complete the request; it is logged")
    }
}

impl Problem {
    /// The problem document (the response body).
    pub fn document(&self) -> Value {
        let mut body = json!({
            "type": format!("/problems/{}", self.kind.slug()),
            "title": self.kind.title(),
            "status": self.kind.status().as_u16(),
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
        let mut response = (self.kind.status(), self.document().to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl From<CommandError> for Problem {
    fn from(e: CommandError) -> Self {
        match e {
            CommandError::Rejected(domain::DomainError::NotFound { ref field, .. }) => {
                Problem::new(ProblemKind::NotFound, e.to_string()).with("field", field.clone())
            }
            CommandError::Rejected(domain::DomainError::Conflict { ref field, .. }) => {
                Problem::new(ProblemKind::Conflict, e.to_string()).with("field", field.clone())
            }
            CommandError::Invalid { line, ref field, .. }
            | CommandError::Rejected(domain::DomainError::Rejected { line, ref field, .. }) => {
                let mut p = Problem::new(ProblemKind::Validation, e.to_string());
                if !field.is_empty() {
                    p = p.with("field", field.clone());
                }
                if let Some(line) = line {
                    p = p.with("line", line);
                }
                p
            }
            // The caller's own precondition failed: read again, then decide whether to retry.
            CommandError::Conflict { ref stream, expected, actual } => {
                Problem::new(ProblemKind::Conflict, e.to_string())
                    .with("stream", stream.clone())
                    .with("expected_version", expected)
                    .with("current_version", actual)
            }
            // The server already retried for `RETRY_FOR`: the same request may succeed later.
            CommandError::Contention(_) => Problem::new(ProblemKind::Conflict, e.to_string()).retry_after(1),
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
            return Err(Problem::new(ProblemKind::UnsupportedMediaType, "send the body as application/json"));
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
            d.end().map_err(|_| Problem::new(ProblemKind::MalformedBody, "the body holds more than one JSON value"))?;
            Ok(v)
        }
        Err(e) => {
            let path = e.path().to_string();
            let inner = e.into_inner();
            if !inner.is_data() {
                let what = if inner.is_eof() { "ends too early" } else { "is not valid JSON" };
                return Err(Problem::new(
                    ProblemKind::MalformedBody,
                    format!("the body {what} (line {}, column {})", inner.line(), inner.column()),
                ));
            }
            let (field, detail) = data_error(&path, &inner.to_string());
            Err(Problem::new(ProblemKind::MalformedBody, detail).with("field", field))
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
        Problem::new(ProblemKind::PayloadTooLarge, "the body is larger than this endpoint accepts")
    } else {
        Problem::new(ProblemKind::MalformedBody, "the body could not be read")
    }
}

#[cfg(test)]
mod tests {
    use super::{read_json, Problem, ProblemKind};
    use crate::http::routes::ledger::{Correction, Targets};

    #[test]
    fn a_command_error_gives_its_field_and_line_as_they_are() {
        let p = Problem::from(commands::CommandError::at_line(3, "price", "not a number"));
        assert_eq!((p.kind, p.detail.as_str()), (ProblemKind::Validation, "line 3: price: not a number"));
        assert_eq!((p.extra["field"].as_str(), p.extra["line"].as_u64()), (Some("price"), Some(3)));
        let p = Problem::from(commands::CommandError::invalid("email", "x is already registered"));
        assert_eq!((p.extra["field"].as_str(), p.extra.get("line")), (Some("email"), None));
        let p = Problem::from(commands::CommandError::invalid("", "sealed data does not open"));
        assert_eq!((p.detail.as_str(), p.extra.get("field")), ("sealed data does not open", None));
    }

    #[test]
    fn every_kind_has_its_own_slug() {
        let slugs: std::collections::BTreeSet<&str> = ProblemKind::ALL.iter().map(|k| k.slug()).collect();
        assert_eq!(slugs.len(), ProblemKind::ALL.len());
        assert_eq!(ProblemKind::IdempotencyKeyReused.status().as_u16(), 422);
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
