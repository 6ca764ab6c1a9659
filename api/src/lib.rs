//! The `cairn` binary's library half: the HTTP API and web page ([`http`]), the reports'
//! shapes ([`reports`]) and reading through the read models ([`read`]).
//!
//! [`http::router`] builds the axum router over an [`http::AppState`] (so tests can drive it
//! without a socket); [`http::Application`] binds it and serves until shutdown. Only this
//! crate knows HTTP and JSON DTOs.

pub mod http;
pub mod read;
pub mod reports;

pub use http::{router, AppState, Application};
