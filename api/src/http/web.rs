//! The web page and the API docs page: static files compiled into the binary, served with a
//! strict Content-Security-Policy (scripts and styles only from this origin, nothing inline,
//! no framing), so the page works offline and loads nothing from elsewhere.

use axum::http::header;
use axum::response::IntoResponse;

/// The policy every response carries (it matters for the pages).
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                       connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// (path, content type, body) of every static file.
pub const FILES: &[(&str, &str, &str)] = &[
    ("/", "text/html; charset=utf-8", include_str!("../../web/index.html")),
    ("/app.js", "text/javascript; charset=utf-8", include_str!("../../web/app.js")),
    ("/app.css", "text/css; charset=utf-8", include_str!("../../web/app.css")),
    ("/docs", "text/html; charset=utf-8", include_str!("../../web/docs.html")),
    ("/docs.js", "text/javascript; charset=utf-8", include_str!("../../web/docs.js")),
];

/// The file served at `path`.
pub fn file(path: &'static str) -> impl IntoResponse {
    let (_, content_type, body) = FILES.iter().find(|(p, _, _)| *p == path).copied().expect("a listed file");
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "no-cache")], body)
}
