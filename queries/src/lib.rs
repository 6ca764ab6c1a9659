//! Everything that answers a question from the read models, for the CLI and HTTP alike.
//!
//! - [`read`]: [`read::Reader`] catches a projector up (or replays the log up to an instant
//!   into a scratch database, for auditors) and pins one snapshot to read; and the audit trail
//!   ([`read::change_rows`]), assembled once for both shells.
//! - [`alerts`]: who hears of each household's alerts (users with alert preferences).
//! - [`balances`]: balance assertions checked against the ledger.
//! - [`goals`]: a household's goals with their funded ratio and on-track probability (the
//!   Monte Carlo engine).
//! - [`household`]: what a household is worth (positions at market value plus cash).
//! - [`holdings`]: consolidated holdings across accounts, described by the security master,
//!   and the allocation by asset class, sector, region and account.
//! - [`performance`]: returns per period against a benchmark, the daily value against net
//!   contributions, and income (dividends and interest) by month or year.
//! - [`ledger`]: the filters of questions both shells ask (a tax year's Form 8949 rows).
//! - [`instant`]: the one reader of `as_of` / `from` / `to` instants.
//! - [`reports`]: reports as columns and rows of strings that render to JSON, CSV or a table
//!   (amounts with two decimals, quantities exact), and the gains' totals per term.
//! - [`risk`]: a portfolio's risk row computed on demand from the read models.
//! - [`tax`]: a year's federal income tax from the ledger's income and sales and the caller's
//!   wages (`domain::tax`).
//! - [`rows`]: a household's read-model rows as the HTTP API answers them (the view, the
//!   filters of its parameters, the answer's declared columns and body).
//!
//! Nothing here writes events; the one write is the risk row a read computes, through
//! `projections::risk::save`.

pub mod alerts;
pub mod balances;
pub mod calendar;
pub mod education;
pub mod estate;
pub mod goals;
pub mod holdings;
pub mod household;
pub mod instant;
pub mod ledger;
pub mod market;
pub mod monitoring;
pub mod ops;
pub mod performance;
pub mod philanthropy;
pub mod plan;
pub mod read;
pub mod rebalance;
pub mod recurring;
pub mod reports;
pub mod risk;
pub mod roth;
pub mod rows;
pub mod tax;
