//! The pure core of cairn: domain types, aggregates as deciders, events, the tax-lot and
//! wash-sale engine, and the law-given data tables (contribution limits, settlement calendar).
//!
//! Each aggregate is a decider: `decide(&state, command, &ctx) -> Result<Vec<Event>, DomainError>`
//! and `evolve(state, &event) -> state`, where `evolve` never fails. This crate does no I/O,
//! reads no clock and draws no random numbers: time, ids and keys are passed in.
//!
//! Nothing lives here yet; the ledger issue fills it.
