//! Numeric engines over portfolios: Monte Carlo, risk metrics, options, econometrics,
//! optimizers and planners. The only crate where floating point is allowed; it knows nothing
//! of the ledger's storage.
//!
//! - [`monte_carlo`]: correlated asset paths (normal, Student-t or skewed-t shocks, GARCH
//!   volatility, Markov regimes, Merton jumps, crashes), a rebalanced portfolio with
//!   contributions, income, fees and a withdrawal strategy, variance reduction, and the
//!   distribution of wealth; reproducible whatever the number of threads.
//! - [`distributions`]: Hansen's skewed-t (density, distribution function, moments,
//!   sampler) and the engine's branch-free exponential.
//! - [`correlation`]: checking, repairing (Higham's nearest correlation matrix) and factoring
//!   correlation matrices.
//! - [`accounts`]: deterministic year-by-year projections of 401(k)/403(b), IRA, HSA, 529 and
//!   taxable accounts under the ledger's contribution limits, with the employer match,
//!   vesting, RMDs and college costs.
//! - [`risk`]: VaR and CVaR (historical, parametric, Cornish-Fisher, simulated), volatility,
//!   Sharpe, Sortino, drawdown, beta, moments.
//! - [`scenario`]: the economic scenario generator: a Markov chain of economic regimes and
//!   mean-reverting paths of GDP growth, inflation, unemployment and the short rate, to drive
//!   asset returns and cash-flow inflation.
//! - [`options`]: Black-Scholes-Merton prices and Greeks, implied volatility (Jäckel's "Let's
//!   Be Rational"), American options (Bjerksund-Stensland), option strategies and a selector.
//! - [`econometrics`]: GARCH(1,1) by maximum likelihood with forecasts, augmented
//!   Dickey-Fuller and Engle-Granger tests with MacKinnon p-values, pair and single-series
//!   trading signals.
//! - [`portfolio_risk`]: a held portfolio's return history, VaR/CVaR and "4% rule" success
//!   probability, as the risk worker computes them.
//! - [`optimize`]: portfolio construction: covariance estimators, mean-variance, maximum
//!   Sharpe, risk parity, HRP, Black-Litterman and minimum CVaR under bounds, groups and
//!   turnover, solved with Clarabel.

pub mod accounts;
pub mod correlation;
pub mod distributions;
pub mod econometrics;
pub mod monte_carlo;
pub mod optimize;
pub mod options;
pub mod portfolio_risk;
pub mod risk;
pub mod scenario;

/// Why a simulation cannot run: a field of its input and what is wrong with it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SimError {
    #[error("{field}: {problem}")]
    Invalid { field: String, problem: String },
}

/// The error for an input field and what is wrong with it.
pub(crate) fn invalid(field: impl AsRef<str>, problem: impl std::fmt::Display) -> SimError {
    SimError::Invalid { field: field.as_ref().to_owned(), problem: problem.to_string() }
}
