//! Market data that arrives by itself: vendors' APIs behind one [`Provider`] trait
//! ([`provider`]), each adapter speaking its vendor's documented wire format
//! ([`providers`]), guarded by a circuit breaker ([`breaker`]) and a rate limiter
//! ([`limiter`]) per provider; live quotes from vendors' WebSocket streams ([`stream`])
//! through the quote hub ([`quotes`]: validation, latest-quote cache, fan-out).

pub mod actions;
pub mod breaker;
pub mod config;
pub mod fetch;
pub mod ingest;
pub mod intraday;
pub mod limiter;
pub mod provider;
pub mod providers;
pub mod quotes;
pub mod ratios;
pub mod runtime;
pub mod selector;
pub mod stream;

pub use provider::{ApiKey, Capability, CorporateAction, IntradayBar, Provider, ProviderError, Quote, QuoteSink};
