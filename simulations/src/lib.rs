//! Numeric engines over portfolios: Monte Carlo, risk metrics, options, econometrics,
//! optimizers and planners. The only crate where floating point is allowed; it knows nothing
//! of the ledger's storage.
//!
//! Nothing lives here yet; the simulations issues fill it.
