//! Long-running subscribers that act on the log, started by `cairn serve`.
//!
//! - [`risk`]: keeps `portfolio_risk` current as portfolios, holdings and prices change.
//! - [`relay`]: publishes committed events to NATS JetStream, reconnecting after outages.
//! - [`notify`]: delivers alerts by e-mail (SMTP), SMS (Twilio), push (FCM) and signed
//!   webhooks, from templates per rule and channel, retrying what may succeed later.
//!
//! Each runs until its `stop` watch turns true, logs a failure and starts again from its
//! checkpoint. CPU-heavy work goes to the blocking pool, never a Tokio worker thread.

pub mod alerts;
pub mod backup;
pub mod market;
pub mod notify;
pub mod ops;
pub mod relay;
pub mod risk;
