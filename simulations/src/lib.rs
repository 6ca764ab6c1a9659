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
//! - [`bonds`]: fixed-rate bond analytics as QuantLib's `BondFunctions`: accrued interest
//!   (ex-coupon included), clean and dirty price from a yield and the yield from a price,
//!   Macaulay, modified and simple duration, convexity, basis point value, on unadjusted
//!   schedules with 30/360, ACT/ACT ICMA, ACT/365F and ACT/360.
//! - [`econometrics`]: GARCH(1,1) by maximum likelihood with forecasts, augmented
//!   Dickey-Fuller and Engle-Granger tests with MacKinnon p-values, pair and single-series
//!   trading signals.
//! - [`execution`]: optimal execution (Almgren-Chriss trajectory, half-life and efficient
//!   frontier), TWAP/VWAP/POV/shortfall schedules with their expected cost and the square-root
//!   impact estimate, and transaction-cost analysis of executed orders.
//! - [`esg`]: ESG and impact analytics: WACI, PCAF financed emissions and footprint, SBTi
//!   portfolio temperature scores (WATS, TETS, MOTS, EOTS, ECOTS, AOTS, ROTS), carbon VaR,
//!   screens, an ESG-tilted optimiser and an impact report.
//! - [`alm`]: asset-liability management of a pension plan: a stochastic projection of assets
//!   against liabilities discounted at the scenario generator's short rate, with minimum-funding
//!   contributions and PBGC premiums (funded-ratio bands, surplus at risk), and the asset mix
//!   minimising the surplus-return variance (Clarabel).
//! - [`portfolio_risk`]: a held portfolio's return history, VaR/CVaR and "4% rule" success
//!   probability, as the risk worker computes them.
//! - [`regime`]: market regimes of a benchmark (trend from moving averages, volatility from
//!   realised volatility or a two-state Markov-switching model fitted by EM, Hamilton 1989),
//!   for the monitoring rules.
//! - [`stress`]: stress tests: a portfolio with liabilities and futures overlays under
//!   historical (2008, 2013, 2020, 2022) and hypothetical scenarios: P&L by holding, funded
//!   status, DV01 mismatch and margin calls against liquid assets.
//! - [`overlays`]: overlays sized: Treasury futures to a target DV01, currency forwards
//!   (covered interest parity, the annual cost of the hedge), index futures to a target beta,
//!   and a Black-Scholes-Merton put spread as a tail hedge.
//! - [`markov`], [`stats`], [`rng`]: regime chains, percentiles and per-path random streams,
//!   below both the Monte Carlo engine and the scenario generator.
//! - [`optimize`]: portfolio construction: covariance estimators, mean-variance, maximum
//!   Sharpe, risk parity, HRP, Black-Litterman and minimum CVaR under bounds, groups and
//!   turnover, solved with Clarabel.
//!
//! # How the engines work
//!
//! No storage: the crate reads the `domain` crate's data tables (contribution limits, the RMD
//! table). `monte_carlo.rs`: plans (serde, read from TOML by
//! the CLI), `Prepared` models (per-step drifts and volatilities per regime, the Cholesky factor,
//! the regime chain's cumulative rows and stationary distribution, the shock sampler, GARCH, crash
//! and control-variate constants, the economy) and `run`. `monte_carlo/kernel.rs`: a `Block` of 16
//! paths stepped side by side (two 512-bit vectors per operation: 8 lanes left the processor
//! waiting on latencies, 24 and 32 were slower again), and `monte_carlo/lanes.rs`: their 16 random
//! streams, xoshiro256++ on arrays of lanes (each lane seeded by SplitMix64 from the plan's seed
//! and the path number; an antithetic twin replays its partner's stream with the diffusion normals
//! negated). Every step each lane draws the same count of words in one fill, in a fixed order (the
//! radius words then the angle words of the Box-Muller normals for the assets and, with odd
//! Student-t degrees of freedom, the chi-square's odd part; uniforms for the chi-square as -2 ln of
//! a product of uniforms for whole degrees of freedom up to 30, the jump count, the crash and the
//! next regime), then draws whose count varies by path (a jump's size, gamma chi-squares for other
//! degrees of freedom, skewed-t parts, the economy's step) come from that lane alone, so a path's
//! numbers never depend on its neighbours and results are gathered in path order: the thread count
//! never changes a number. The logarithm, sine, cosine and exponential are branch-free polynomials
//! with fused multiply-adds (`lanes::ln` and `lanes::cos_sin_turns` with FreeBSD msun's minimax
//! coefficients, `distributions::exp` a degree-13 Taylor polynomial; each within about an ulp of
//! the library's), so the draws, the Cholesky mix, GARCH update, log-returns and gross returns all
//! vectorize over the lanes; jumps and regime changes visit only the lanes they touch (a lane bit
//! mask), and per-path drifts and volatilities are cached until the path's regime changes.
//! `.cargo/config.toml` builds with `target-cpu=native` so these loops use AVX2/AVX-512 and FMA
//! where the machine has them. `distributions::mul_add` fuses only where the target has FMA
//! (elsewhere `f64::mul_add` would call the library's `fma` per number and stop the loops
//! vectorizing: 20x slower), so a build without FMA differs from the native one in the last bits;
//! each build gives the same numbers on any thread count. `simulate_block` keeps each path's
//! wealth, peak, drawdown and survival as lane arrays too, and returns the block's yearly results
//! lane by lane; bands gather one year's column at a time and take their ten order statistics by
//! nested selection. Log drift per step is (ln(1 + mu) - sigma^2/2 - lambda kappa) dt, so a year's
//! expected gross return is 1 + mu with jumps compensated; crashes are deliberately not
//! compensated. Student-t shocks are multivariate (one chi-square per step); Hansen skewed-t shocks
//! are drawn independently per asset (|t| to a side chosen with probability (1 - lambda)/2,
//! standardized) and then correlated, so each is exactly skewed-t with one asset and the
//! correlation holds with several. The control variate is exp(G - K s^2/2), G the sum of the
//! portfolio's normal increments (mean exactly 1; with skewed-t shocks, whose draw takes |z|, each
//! normal is |z| to the side of a fair coin on the shock's uniform, so the control keeps the
//! shocks' signs); the report regresses mean terminal wealth on it over antithetic pairs' averages,
//! and states each technique's reduction alone and both together, with the correlations behind
//! them. `Outcome::units` says which figures are nominal and which in today's money.
//! `monte_carlo/withdrawal.rs`: the strategies (constant, fixed percentage, Guyton-Klinger, VPW,
//! RMD), decided at each year's start from the path's wealth. Cash flows: contributions, income
//! streams and the fixed fee are spread over the year's steps; the percentage fee is taken every
//! step; the price level is the plan's inflation or the economy's path average. `distributions.rs`:
//! Hansen's skewed-t (density, CDF, closed-form moments, sampler), the Student-t degrees-of-freedom
//! fit (profile maximum likelihood on standardized returns, golden-section on ln(nu - 2), standard
//! error from the observed information) and the exponential (range reduction by ln 2, degree-13
//! Taylor polynomial, no table so that it vectorizes). `correlation.rs`: checks, Higham's nearest
//! correlation matrix, Cholesky. `risk.rs`: VaR/CVaR (historical as the empirical distribution's,
//! parametric normal, Cornish-Fisher with the S² term and an exact monotonicity check of the
//! quantile map, simulated; `summarize` fits the normal and Cornish-Fisher to log returns and
//! states them as losses 1 − e^q, at most 1, with the reason when one is unavailable), volatility,
//! Sharpe, Sortino, drawdown, beta, bias-corrected skewness and kurtosis. `scenario.rs`: the
//! economic scenario generator (`Economy`, read from TOML as in `examples/economy.toml`;
//! `Economy::us_default` is the documented four-regime US calibration). A Markov chain of regimes
//! whose yearly transition matrix becomes a per-step one by its principal matrix root (binomial
//! series; a root with negative entries is clipped and renormalized, with a warning past
//! `ROOT_TOLERANCE`); GDP growth, inflation, unemployment and the short rate are yearly AR(1)s
//! around the current regime's levels, stepped by the exact Ornstein-Uhlenbeck discretization, with
//! correlated shocks and a shadow short rate reported at its floor. `PreparedEconomy` +
//! `EconomyPath::step` take the caller's RNG and allocate nothing per step (for embedding in Monte
//! Carlo paths); `generate` runs it alone (per-year percentiles and regime shares, thread-count
//! independent). `accounts.rs`: deterministic year-by-year projections of 401(k)/403(b), IRA, HSA,
//! 529 and taxable accounts (`AccountsPlan`, read from TOML, see `examples/accounts.toml`;
//! `project`, `table`). It keeps no figures of its own: limits come from `domain::limits` (grown by
//! `limit_growth` and rounded down to the IRS steps past the table's last year, in
//! `accounts/limits.rs`), the match formula and the legal vesting minimums from
//! `domain::ledger::benefits`, RMDs from `domain::rmd`. Limits are shared by the accounts they
//! cover (402(g) across 401(k)/403(b), 415(c), the IRA limit, the HSA limit) in plan order; a cut
//! contribution becomes a `Note`. Withdrawals come at the start of a year, contributions at its
//! end. `monte_carlo/household.rs` runs a plan's `[household]` as one model on the engine's paths:
//! the accounts' pots, the projection's contributions, each year's withdrawals and federal tax from
//! `domain::drawdown`. `portfolio_risk.rs`: a held portfolio's split-adjusted return history, VaR/CVaR and its
//! default Monte Carlo plan (see "The risk worker"). The analysts' engines behind `cairn quant`
//! (each module's request and response types are serde structs with the field names the CLI
//! documents; bad input is a `SimError` naming the field): `options.rs` Black-Scholes-Merton
//! (Cody's erfc; out of and in the money the price comes from Jäckel's normalised Black function so
//! tiny prices keep full relative accuracy), `options/implied.rs` Let's Be Rational (four-region
//! rational initial guess, two Householder(3) steps), `options/american.rs` Bjerksund-Stensland
//! 1993 exactly as QuantLib's engine (Greeks by forward-mode differentiation) and 2002 (Genz's
//! bivariate normal), `options/strategy.rs` the eleven strategies (legs, payoff at the near expiry,
//! extremes and breakevens from the piecewise-linear payoff, probability of profit under the
//! lognormal) and the selector. `econometrics/`: `garch.rs` (arch's backcast, bounds and starting
//! grid; Newton with the exact gradient and Hessian over an active set of the linear constraints;
//! `converged` is a KKT check), `adf.rs` (statsmodels' `adfuller`: Schwert maximum lag, every
//! candidate lag from one cross-product matrix, the chosen one refitted by QR), `mackinnon.rs`
//! (statsmodels' tables: 1994 p-value surfaces, 2010 critical values), `coint.rs` (Engle-Granger,
//! half-life, z-score rule), `signals.rs`. `optimize/`: `covariance.rs` (sample, Ledoit-Wolf as
//! scikit-learn, EWMA as PyPortfolioOpt), `conic.rs` (Clarabel programs), `mean_variance.rs` (min
//! variance, efficient return and risk, max Sharpe by the Cornuejols-Tütüncü transformation, max
//! diversification), `risk_parity.rs` (exponential cone, Newton polish), `hrp.rs` (PyPortfolioOpt's
//! HRP with scipy's single-linkage order), `black_litterman.rs` (Idzorek confidences), `cvar.rs`
//! (Rockafellar-Uryasev LP), `request.rs` (the CLI's request). Constraints (bounds, groups,
//! turnover) are shared by all but HRP. `reference/*.py` regenerate `tests/fixtures/` from
//! QuantLib, arch, statsmodels, PyPortfolioOpt and Riskfolio-Lib;
//! `benches/{options,econometrics,portfolio}.rs` are criterion benchmarks.

pub mod accounts;
pub mod alm;
pub mod alternatives;
pub mod bonds;
pub mod calendar;
pub mod correlation;
pub mod curve;
pub mod distributions;
pub mod econometrics;
pub mod esg;
pub mod execution;
pub mod glide;
pub mod goals;
pub mod grat;
pub mod ldi;
pub mod liabilities;
pub mod markov;
pub mod monte_carlo;
pub mod optimize;
pub mod options;
pub mod overlays;
pub mod portfolio_risk;
pub mod regime;
pub mod returns;
pub mod risk;
pub mod risk_budget;
pub mod rng;
pub mod scenario;
pub mod stats;
pub mod stress;

/// The most path-years one run keeps (three numbers each), for the Monte Carlo engine and
/// the scenario generator alike.
pub const MAX_PATH_YEARS: u64 = 20_000_000;

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
