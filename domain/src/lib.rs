//! The pure core of cairn: domain types, aggregates as deciders, events, the tax-lot and
//! wash-sale engine, and the law-given data tables.
//!
//! - [`ledger`]: the household ledger aggregate. [`ledger::decide`] and [`ledger::evolve`] over
//!   [`ledger::LedgerEvent`]; [`ledger::lots`] is the lot engine (FIFO, LIFO, HIFO, specific
//!   identification, average cost; holding periods; wash sales) that derives open lots,
//!   Form 8949 rows and wash-sale adjustments from the recorded rows.
//! - [`market`]: daily bars as events per symbol, and resampling to weeks and months.
//! - [`fx`]: symbols quoted in another currency and their closes in US dollars.
//! - [`fundamentals`]: a company's statement figures and the financial ratios from them (P/E,
//!   P/B, ROE, margins, liquidity and leverage), each without a value and with the reason when
//!   it cannot be computed.
//! - [`indicators`]: technical indicators over bars (SMA, EMA, RSI, MACD, Bollinger bands,
//!   ATR, volatility) on TA-Lib's conventions, and the `rsi:14`-style specs that name them.
//! - [`goals`]: a household's goals (an amount by a date, from some accounts and monthly
//!   contributions) and how funded each is (present values, to the cent).
//! - [`monitoring`]: the monitoring rules (drift, drawdown, goal progress, tax losses, risk
//!   breaches, concentration, cash drag, large flows, market regime) as pure functions from a
//!   snapshot of the read models to findings, with the profiles' default thresholds.
//! - [`portfolio`]: the portfolio aggregate (accounts, target allocation, drift threshold,
//!   auto-rebalance).
//! - [`user`]: the user aggregate (registration with sealed personal data, KYC, roles, MFA,
//!   terms, accreditation, erasure) and [`access`], its sign-in state (password hash,
//!   rotating refresh-token sessions with reuse detection, lockout, MFA replay guard, backup
//!   codes, advisor households).
//! - [`password`]: the password policy (the breached list passed in).
//! - [`performance`]: time-weighted (daily linking), money-weighted (XIRR) and Modified Dietz
//!   returns.
//! - [`rebalance`]: tax-aware rebalancing: the trades back within a portfolio's drift
//!   threshold at the least tax (losses, then sheltered accounts, then long-term gains by
//!   highest basis; short-term gains only when asked; no wash sales).
//! - [`report`]: `ReportGenerated`, which makes every generated report part of the audit trail.
//! - [`streams`]: stream ids (`ledger-…`, `portfolio-…--…`, `market-…`, `user-…`) built from
//!   names and read back.
//! - [`form8949`]: a sale's Form 8949 box (covered securities by kind and acquisition date,
//!   the account's basis reporting), Schedule D's lines and the TXF reference numbers.
//! - [`harvest`]: tax-loss harvesting candidates, blocked where a sale would be a wash sale
//!   (substantially identical share classes as a data table), with replacements.
//! - [`tax`]: the federal income tax of a year (brackets, deductions, capital gains stacked at
//!   0/15/20%, the loss limit and carryovers, NIIT) and Medicare's IRMAA tiers, one table per
//!   year with its source.
//! - [`calendar`]: NYSE holidays and the settlement cycle (data tables with sources).
//! - [`location`]: asset location: which classes belong in taxable, traditional and Roth accounts
//!   (house assumptions per class) and the yearly tax the suggestion saves.
//! - [`limits`]: federal contribution limits per tax year (a data table with sources);
//!   [`ledger::contributions`] checks contributions against them.
//! - [`roth`]: Roth conversion planning year by year (bracket or IRMAA ceilings, or a search
//!   over them) against converting nothing: RMDs, taxable Social Security, IRMAA, the five-year
//!   rule and after-tax wealth at the horizon.
//! - [`pbgc`]: PBGC single-employer premium rates per plan year (flat rate, variable rate per
//!   $1,000 of unfunded vested benefits, per-participant cap; a data table with sources).
//! - [`rmd`]: required minimum distributions: the IRS Uniform Lifetime Table and the
//!   SECURE 2.0 start ages by date of birth (data tables with sources).
//!
//! Each aggregate is a [`decider::Decider`]: `decide(&state, &command) -> Result<Vec<Event>,
//! DomainError>` and `evolve(state, &event) -> state`, where `evolve` never fails;
//! [`decider::testing`] states their rules as given / when / then. This crate does no I/O,
//! reads no clock and draws no random numbers: time, ids and keys are passed in.

pub mod access;
pub mod actuarial;
pub mod alerts;
pub mod calendar;
pub mod charitable;
pub mod decider;
pub mod drawdown;
pub mod education;
pub mod entities;
pub mod estate;
pub mod family;
pub mod form8949;
pub mod fundamentals;
pub mod fx;
pub mod gifts;
pub mod goals;
pub mod grat;
pub mod gst;
pub mod harvest;
pub mod indicators;
pub mod ledger;
pub mod limits;
pub mod lines;
pub mod location;
pub mod market;
pub mod monitoring;
pub mod ops;
pub mod password;
pub mod pbgc;
pub mod performance;
pub mod philanthropy;
pub mod portfolio;
pub mod quality;
pub mod rebalance;
pub mod report;
pub mod rmd;
pub mod roth;
pub mod state_estate;
pub mod strategies;
pub mod streams;
pub mod succession;
pub mod tax;
pub mod user;

/// A command the domain refuses, naming the input line (for imports) and field. The variant
/// says why, so the shells answer alike (HTTP: 422, 404, 409; the CLI: exit 2 for all).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// The input breaks a rule.
    #[error("{}{field}: {problem}", line.map(|l| format!("line {l}: ")).unwrap_or_default())]
    Rejected { line: Option<u64>, field: String, problem: String },
    /// The command is about a row, account, portfolio or user that does not exist.
    #[error("{field}: {problem}")]
    NotFound { field: String, problem: String },
    /// The command does not fit the current state (a step out of order, a setting already on
    /// or off): the same command may succeed once the state changes.
    #[error("{field}: {problem}")]
    Conflict { field: String, problem: String },
}

impl DomainError {
    pub fn not_found(field: &str, problem: impl Into<String>) -> Self {
        Self::NotFound { field: field.to_owned(), problem: problem.into() }
    }

    pub fn conflict(field: &str, problem: impl Into<String>) -> Self {
        Self::Conflict { field: field.to_owned(), problem: problem.into() }
    }
}

/// Bytes sealed with AES-256-GCM by the shell: a 12-byte nonce and the ciphertext with its tag.
/// The domain stores personal data only in this form.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Sealed {
    #[serde(with = "serde_bytes")]
    pub nonce: Vec<u8>,
    #[serde(with = "serde_bytes")]
    pub ciphertext: Vec<u8>,
}
