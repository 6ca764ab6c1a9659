//! The projector runner and the read models: each projector has a name and a version, consumes
//! events from its checkpoint and writes its rows and its checkpoint in one transaction; also
//! reports and as-of replay for auditors.
//!
//! Nothing lives here yet; the projections issue fills it.
