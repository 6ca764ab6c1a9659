//! What every HTTP adapter shares: its configured name, base URL, client and per-request
//! timeout ([`Http`], with the `with_timeout` builder [`with_timeout!`] writes for each
//! adapter), building a vendor URL under the base, sending a `GET`, mapping the transport and
//! the status to a [`ProviderError`], keeping keys out of every message, following a paged
//! answer ([`Http::pages`]) and reading a CSV body ([`Http::csv`]).
//!
//! | What happened                          | Error                                         |
//! |----------------------------------------|-----------------------------------------------|
//! | connection refused, DNS, reset, timeout| `Unavailable`                                 |
//! | HTTP 5xx                               | `Unavailable`                                 |
//! | HTTP 429                               | `RateLimited { retry_after }` from `Retry-After` (seconds or an HTTP date) |
//! | HTTP 401, 403                          | `Unauthorized`                                |
//! | HTTP 404                               | `NotFound`                                    |
//! | any other 4xx                          | `Invalid`                                     |
//! | a body over [`MAX_BODY`]               | `Invalid`                                     |
//!
//! Messages show a URL without its query string (where keys travel) and with any key the
//! vendor echoed replaced by `***`.

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};
use commands::input::csv::Lines;
use reqwest::header::{HeaderName, HeaderValue, RETRY_AFTER};
use reqwest::{StatusCode, Url};

use crate::market::provider::{ApiKey, ProviderError};

/// The largest body an adapter reads (a full Alpha Vantage history is well under 1 MiB).
pub(crate) const MAX_BODY: usize = 32 * 1024 * 1024;

/// The timeout of one request (connecting, sending and reading the whole body) unless
/// configured otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The most pages one call follows (Polygon answers up to 50,000 bars a page and Alpaca
/// 10,000: far beyond any daily history).
pub(crate) const MAX_PAGES: usize = 1000;

/// Writes `with_timeout` for an HTTP adapter `$adapter` that keeps its [`Http`] in `self.http`.
macro_rules! with_timeout {
    ($adapter:ty) => {
        impl $adapter {
            /// The timeout of each request (30 s unless set).
            pub fn with_timeout(mut self, timeout: std::time::Duration) -> Self {
                self.http.set_timeout(timeout);
                self
            }
        }
    };
}
pub(crate) use with_timeout;

/// One page of a paged answer: its items and the vendor's cursor to the next page, if any.
pub(crate) struct Page<T> {
    pub(crate) items: Vec<T>,
    pub(crate) next: Option<String>,
}

/// A CSV body: its header, then its records, each with the line it starts on (as an editor
/// numbers lines, the way `commands`' CSV imports number them); a record that does not parse is
/// `Invalid`.
pub(crate) struct Csv<'b> {
    http: &'b Http,
    header: csv::StringRecord,
    reader: csv::Reader<&'b [u8]>,
    lines: Lines<'b>,
}

impl Csv<'_> {
    /// The position of the column `name` (ignoring case).
    pub(crate) fn column(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h.eq_ignore_ascii_case(name))
    }
}

impl Iterator for Csv<'_> {
    type Item = Result<(u64, csv::StringRecord), ProviderError>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut record = csv::StringRecord::new();
        match self.reader.read_record(&mut record) {
            Ok(false) => None,
            Ok(true) => Some(Ok((self.lines.of_record(&record), record))),
            Err(e) => Some(Err(self.http.invalid(format!("the CSV: {e}")))),
        }
    }
}

/// A vendor's endpoint: the configured name, the base URL every path is joined to, the
/// shared client and the per-request timeout.
#[derive(Debug, Clone)]
pub(crate) struct Http {
    pub(crate) name: String,
    base: Url,
    client: reqwest::Client,
    timeout: Duration,
}

impl Http {
    pub(crate) fn new(name: impl Into<String>, base: Url, client: reqwest::Client) -> Self {
        Self { name: name.into(), base, client, timeout: DEFAULT_TIMEOUT }
    }

    pub(crate) fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    pub(crate) fn base(&self) -> &Url {
        &self.base
    }

    /// The base URL with `segments` appended (each percent-encoded, so a symbol such as
    /// `BRK/B` stays one segment) and `query` set.
    pub(crate) fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Result<Url, ProviderError> {
        let mut url = self.base.clone();
        url.set_query(None);
        url.set_fragment(None);
        {
            let mut path = url
                .path_segments_mut()
                .map_err(|()| self.invalid(format!("the base URL {} cannot take a path", shown(&self.base))))?;
            path.pop_if_empty();
            path.extend(segments);
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        Ok(url)
    }

    /// Sends `GET url` with `headers` (each marked sensitive), answering the body of a 2xx and
    /// mapping everything else (see the module doc). `secrets` are scrubbed from every message.
    pub(crate) async fn get(
        &self,
        url: Url,
        headers: &[(HeaderName, &ApiKey)],
        secrets: &[&ApiKey],
    ) -> Result<Vec<u8>, ProviderError> {
        let shown = shown(&url);
        let mut request = self.client.get(url).timeout(self.timeout);
        for (name, key) in headers {
            let mut value = HeaderValue::from_str(key.expose()).map_err(|_| ProviderError::Unauthorized {
                provider: self.name.clone(),
                message: format!("the key for header {name} is not a valid header value"),
            })?;
            value.set_sensitive(true);
            request = request.header(name.clone(), value);
        }
        let mut response = request.send().await.map_err(|e| self.transport(&shown, e, secrets))?;
        let status = response.status();
        let retry_after = response.headers().get(RETRY_AFTER).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.transport(&shown, e, secrets))? {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(self.invalid(format!("GET {shown}: the body is over {MAX_BODY} bytes")));
            }
            body.extend_from_slice(&chunk);
        }
        if status.is_success() {
            return Ok(body);
        }
        Err(self.status_error(status, retry_after.as_deref(), &body, &shown, secrets))
    }

    fn status_error(
        &self,
        status: StatusCode,
        retry_after: Option<&str>,
        body: &[u8],
        shown: &str,
        secrets: &[&ApiKey],
    ) -> ProviderError {
        let provider = self.name.clone();
        let said = vendor_message(body).map(|m| scrub(&m, secrets));
        let message = match &said {
            Some(m) => format!("GET {shown}: HTTP {}: {m}", status.as_u16()),
            None => format!("GET {shown}: HTTP {}", status.as_u16()),
        };
        match status {
            StatusCode::TOO_MANY_REQUESTS => ProviderError::RateLimited {
                provider,
                retry_after: retry_after.and_then(|v| parse_retry_after(v, Utc::now())),
            },
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => ProviderError::Unauthorized { provider, message },
            StatusCode::NOT_FOUND => ProviderError::NotFound { provider, message },
            s if s.is_server_error() => ProviderError::Unavailable { provider, message },
            _ => ProviderError::Invalid { provider, message },
        }
    }

    fn transport(&self, shown: &str, e: reqwest::Error, secrets: &[&ApiKey]) -> ProviderError {
        ProviderError::Unavailable {
            provider: self.name.clone(),
            message: scrub(&transport_message("GET", shown, &e, self.timeout), secrets),
        }
    }

    /// Every item of a paged answer: `page` reads the page a cursor names (the first page for
    /// `None`) and the cursor to the next (`cursor` names it in messages: `next_url`,
    /// `next_page_token`). An empty first page is `NotFound` with the message `nothing`; a
    /// cursor that repeats one already followed, or more than [`MAX_PAGES`] pages, is
    /// `Invalid`.
    pub(crate) async fn pages<T, F>(
        &self,
        cursor: &str,
        nothing: impl FnOnce() -> String,
        mut page: impl FnMut(Option<String>) -> F,
    ) -> Result<Vec<T>, ProviderError>
    where
        F: Future<Output = Result<Page<T>, ProviderError>>,
    {
        let mut items = Vec::new();
        let mut next: Option<String> = None;
        let mut followed = Vec::new();
        for n in 0..MAX_PAGES {
            let read = page(next.take()).await?;
            if n == 0 && read.items.is_empty() {
                return Err(self.not_found(nothing()));
            }
            items.extend(read.items);
            match read.next {
                Some(cursor_to) if !cursor_to.is_empty() => {
                    if followed.contains(&cursor_to) {
                        return Err(self.invalid(format!("{cursor} repeats a page already read")));
                    }
                    followed.push(cursor_to.clone());
                    next = Some(cursor_to);
                }
                _ => return Ok(items),
            }
        }
        Err(self.invalid(format!("more than {MAX_PAGES} pages")))
    }

    /// A CSV body (fields trimmed), its header read: `Invalid` for a header that does not parse.
    pub(crate) fn csv<'b>(&'b self, body: &'b [u8]) -> Result<Csv<'b>, ProviderError> {
        let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(body);
        let header = reader.headers().map_err(|e| self.invalid(format!("the CSV header: {e}")))?.clone();
        Ok(Csv { http: self, header, reader, lines: Lines::of(body) })
    }

    pub(crate) fn invalid(&self, message: impl Into<String>) -> ProviderError {
        ProviderError::Invalid { provider: self.name.clone(), message: message.into() }
    }

    pub(crate) fn not_found(&self, message: impl Into<String>) -> ProviderError {
        ProviderError::NotFound { provider: self.name.clone(), message: message.into() }
    }

    pub(crate) fn unauthorized(&self, message: impl Into<String>) -> ProviderError {
        ProviderError::Unauthorized { provider: self.name.clone(), message: message.into() }
    }
}

/// A URL as messages show it: scheme, host, port and path; no credentials, query or fragment.
/// A transport failure in words: what happened and its causes (never the request's URL, which
/// the error's own text shows with its query).
pub(crate) fn transport_message(method: &str, shown: &str, e: &reqwest::Error, timeout: Duration) -> String {
    let what = if e.is_timeout() {
        format!("timed out after {} ms", timeout.as_millis())
    } else if e.is_connect() {
        "could not connect".to_owned()
    } else {
        "failed".to_owned()
    };
    let mut causes = Vec::new();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !causes.contains(&text) {
            causes.push(text);
        }
        source = cause.source();
    }
    let detail = if causes.is_empty() { String::new() } else { format!(" ({})", causes.join(": ")) };
    format!("{method} {shown}: {what}{detail}")
}

pub(crate) fn shown(url: &Url) -> String {
    let mut url = url.clone();
    url.set_query(None);
    url.set_fragment(None);
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.to_string()
}

/// `text` with every key in `secrets` replaced by `***`.
pub(crate) fn scrub(text: &str, secrets: &[&ApiKey]) -> String {
    let mut text = text.to_owned();
    for key in secrets {
        if !key.expose().is_empty() {
            text = text.replace(key.expose(), "***");
        }
    }
    text
}

/// What a vendor said in an error body: the first of the fields vendors put their words in
/// (`message`, `error`, `description`, Alpha Vantage's `Error Message`, `Information`, `Note`,
/// Yahoo's `chart.error`/`finance.error`), or the start of a text body; at most 300 characters.
pub(crate) fn vendor_message(body: &[u8]) -> Option<String> {
    fn find(v: &serde_json::Value, depth: u8) -> Option<String> {
        match v {
            serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
            serde_json::Value::Object(m) if depth < 4 => {
                ["message", "error", "description", "Error Message", "Information", "Note", "chart", "finance"]
                    .iter()
                    .find_map(|k| m.get(*k).and_then(|v| find(v, depth + 1)))
            }
            _ => None,
        }
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    let found = match serde_json::from_str::<serde_json::Value>(text) {
        Ok(v) => find(&v, 0),
        Err(_) => text.lines().next().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned),
    }?;
    Some(if found.chars().count() > 300 {
        format!("{}…", found.chars().take(300).collect::<String>())
    } else {
        found
    })
}

/// A `Retry-After` value: delay-seconds or an HTTP date (RFC 9110 §10.2.3), as the wait from
/// `now` (zero for a date already past).
pub(crate) fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = DateTime::parse_from_rfc2822(value).ok()?.with_timezone(&Utc);
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::providers::testing::{refused_base, serve, Reply};

    fn http(base: Url) -> Http {
        Http::new("test", base, reqwest::Client::new())
    }

    #[test]
    fn retry_after_takes_seconds_or_an_http_date() {
        let now = DateTime::parse_from_rfc3339("2024-03-01T12:00:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("Fri, 01 Mar 2024 12:00:30 GMT", now), Some(Duration::from_secs(30)));
        assert_eq!(parse_retry_after("Fri, 01 Mar 2024 11:00:00 GMT", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn urls_are_shown_without_query_or_credentials() {
        let url = Url::parse("http://user:pw@127.0.0.1:8080/query?function=X&apikey=SECRET#f").unwrap();
        assert_eq!(shown(&url), "http://127.0.0.1:8080/query");
    }

    #[test]
    fn segments_are_encoded_and_joined_under_the_base_path() {
        let h = http(Url::parse("http://127.0.0.1:9/api/").unwrap());
        let url = h.url(&["v8", "chart", "BRK/B"], &[("a", "1 2")]).unwrap();
        assert_eq!(url.as_str(), "http://127.0.0.1:9/api/v8/chart/BRK%2FB?a=1+2");
    }

    #[test]
    fn vendor_messages_come_from_the_usual_fields() {
        assert_eq!(vendor_message(br#"{"status":"ERROR","error":"Unknown API Key"}"#).unwrap(), "Unknown API Key");
        assert_eq!(
            vendor_message(br#"{"chart":{"result":null,"error":{"code":"Not Found","description":"No data"}}}"#)
                .unwrap(),
            "No data"
        );
        assert_eq!(vendor_message(b"Service Unavailable\n<html>").unwrap(), "Service Unavailable");
        assert_eq!(vendor_message(b"  "), None);
    }

    #[tokio::test]
    async fn a_key_in_the_query_or_echoed_in_the_body_never_reaches_the_message() {
        // The `Unavailable` error of a GET from `base` with the key in the query, as text.
        let unavailable = |base: Url| async move {
            let key = ApiKey::new("K3Y-S3CR3T-99");
            let h = http(base);
            let url = h.url(&["query"], &[("apikey", key.expose())]).unwrap();
            let err = h.get(url, &[], &[&key]).await.unwrap_err();
            let text = format!("{err} {err:?}");
            assert!(matches!(err, ProviderError::Unavailable { .. }), "{text}");
            assert!(!text.contains("K3Y-S3CR3T-99") && !text.contains("apikey"), "{text}");
            text
        };
        let server = serve(|_| Reply::new(500, r#"{"message":"bad key K3Y-S3CR3T-99"}"#)).await;
        let text = unavailable(server.base.clone()).await;
        assert!(text.contains("HTTP 500: bad key ***"), "{text}");
        let text = unavailable(refused_base().await).await;
        assert!(text.contains("could not connect"), "{text}");
    }

    #[tokio::test]
    async fn a_slow_answer_times_out_as_unavailable() {
        let server = serve(|_| Reply::new(200, "late").delay(Duration::from_secs(5))).await;
        let mut h = http(server.base.clone());
        h.set_timeout(Duration::from_millis(200));
        let err = h.get(h.url(&["slow"], &[]).unwrap(), &[], &[]).await.unwrap_err();
        assert!(
            matches!(&err, ProviderError::Unavailable { message, .. } if message.contains("timed out after 200 ms")),
            "{err}"
        );
    }

    #[tokio::test]
    async fn pages_are_followed_until_no_cursor_and_a_repeated_cursor_is_invalid() {
        let h = http(Url::parse("http://127.0.0.1:9/").unwrap());
        // Pages 1, 2, 3 with these cursors to the next; `items` of the first page.
        let read = |cursors: [&'static str; 3], first: Vec<u32>| {
            let h = h.clone();
            async move {
                let mut n = 0;
                h.pages(
                    "cursor",
                    || "nothing".to_owned(),
                    |cursor| {
                        n += 1;
                        let items = if n == 1 { first.clone() } else { vec![n] };
                        let expected = (n > 1).then(|| cursors[n as usize - 2].to_owned());
                        let next = Some(cursors[n as usize - 1].to_owned());
                        async move {
                            assert_eq!(cursor, expected);
                            Ok(Page { items, next })
                        }
                    },
                )
                .await
            }
        };
        assert_eq!(read(["a", "b", ""], vec![1]).await, Ok(vec![1, 2, 3]));
        assert_eq!(
            read(["a", "b", "a"], vec![1]).await,
            Err(ProviderError::Invalid {
                provider: "test".into(),
                message: "cursor repeats a page already read".into()
            })
        );
        assert_eq!(
            read(["a", "b", ""], vec![]).await,
            Err(ProviderError::NotFound { provider: "test".into(), message: "nothing".into() })
        );
    }

    #[tokio::test]
    async fn statuses_map_to_errors() {
        let server = serve(|seen| match seen.path.as_str() {
            "/429" => Reply::new(429, "slow down").header("Retry-After", "7"),
            "/401" => Reply::new(401, r#"{"message":"unauthorized."}"#),
            "/403" => Reply::new(403, r#"{"message":"forbidden."}"#),
            "/404" => Reply::new(404, ""),
            "/422" => Reply::new(422, r#"{"message":"invalid start"}"#),
            _ => Reply::new(503, "down"),
        })
        .await;
        let h = http(server.base.clone());
        let get = |p: &'static str| {
            let h = h.clone();
            async move { h.get(h.url(&[p], &[]).unwrap(), &[], &[]).await.unwrap_err() }
        };
        assert_eq!(
            get("429").await,
            ProviderError::RateLimited { provider: "test".into(), retry_after: Some(Duration::from_secs(7)) }
        );
        assert!(
            matches!(get("401").await, ProviderError::Unauthorized { message, .. } if message.ends_with("HTTP 401: unauthorized."))
        );
        assert!(matches!(get("403").await, ProviderError::Unauthorized { .. }));
        assert!(matches!(get("404").await, ProviderError::NotFound { .. }));
        assert!(
            matches!(get("422").await, ProviderError::Invalid { message, .. } if message.contains("invalid start"))
        );
        assert!(matches!(get("503").await, ProviderError::Unavailable { .. }));
    }
}
