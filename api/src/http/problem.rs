//! RFC 7807 problem documents: every error the API returns, including the ones axum would
//! otherwise answer in plain text (malformed JSON, wrong content type, oversized body, unknown
//! route), has `Content-Type: application/problem+json` and a stable `type` of the form
//! `/problems/<slug>`.

use axum::extract::rejection::{BytesRejection, JsonRejection};
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
    ("conflict", 409, "Version conflict"),
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
/// over the limit (413), bad JSON or an unknown or missing field (400 `malformed-body`, naming
/// what serde found).
#[derive(Debug, Clone, Copy, Default)]
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Self(v)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> Problem {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => {
            Problem::new("unsupported-media-type", "send the body as application/json")
        }
        JsonRejection::BytesRejection(b) => bytes_rejection(b),
        JsonRejection::JsonDataError(e) => Problem::new("malformed-body", body_error(&e.body_text())),
        JsonRejection::JsonSyntaxError(e) => Problem::new("malformed-body", body_error(&e.body_text())),
        other => Problem::new("malformed-body", other.body_text()),
    }
}

pub(crate) fn bytes_rejection(b: BytesRejection) -> Problem {
    if b.status() == StatusCode::PAYLOAD_TOO_LARGE {
        Problem::new("payload-too-large", "the body is larger than this endpoint accepts")
    } else {
        Problem::new("malformed-body", b.body_text())
    }
}

/// serde_json's message without axum's prefix.
fn body_error(text: &str) -> String {
    text.strip_prefix("Failed to deserialize the JSON body into the target type: ").unwrap_or(text).to_owned()
}

#[cfg(test)]
mod tests {
    use super::field_of;

    #[test]
    fn the_field_is_read_from_a_command_error() {
        assert_eq!(field_of("line 3: price: not a number"), Some("price"));
        assert_eq!(field_of("email: x is already registered"), Some("email"));
        assert_eq!(field_of("stream changed while deciding"), None);
    }
}
