//! Command handlers: load a stream from the event store, let the domain decide, and append the
//! resulting events with the expected version (retrying a bounded number of times on
//! conflict; idempotent by command id).
//!
//! Nothing lives here yet; the ledger issue fills it.
