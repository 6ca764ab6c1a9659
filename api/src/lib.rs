//! The `cairn` binary's library half: the HTTP API and web page ([`http`]), the server's
//! typed settings ([`config`]) and the one composition root ([`startup`]). Reports and
//! reading through the read models live in the `queries` crate.
//!
//! [`http::router`] builds the axum router over an [`http::AppState`] (so tests can drive it
//! without a socket); [`http::Application`] binds it and serves until shutdown. Only this
//! crate knows HTTP and JSON DTOs.

pub mod audit;
pub mod config;
pub mod http;
pub mod startup;

pub use http::{router, AppState};
