//! Numeric engines over portfolios: Monte Carlo, risk metrics, options, econometrics,
//! optimizers and planners. The only crate where floating point is allowed; it knows nothing
//! of the ledger's storage.
//!
//! - [`monte_carlo`]: correlated asset paths (normal or Student-t shocks, Markov regimes,
//!   Merton jumps), a rebalanced portfolio with contributions and withdrawals, and the
//!   distribution of wealth; reproducible whatever the number of threads.
//! - [`correlation`]: checking, repairing (Higham's nearest correlation matrix) and factoring
//!   correlation matrices.
//! - [`risk`]: VaR and CVaR (historical, parametric, Cornish-Fisher, simulated), volatility,
//!   Sharpe, Sortino, drawdown, beta, moments.
//! - [`portfolio_risk`]: a held portfolio's return history, VaR/CVaR and "4% rule" success
//!   probability, as the risk worker computes them.

pub mod correlation;
pub mod monte_carlo;
pub mod portfolio_risk;
pub mod risk;

/// Why a simulation cannot run: a field of its input and what is wrong with it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SimError {
    #[error("{field}: {problem}")]
    Invalid { field: String, problem: String },
}
