//! Time-series econometrics for volatility and mean reversion.
//!
//! - [`garch`]: zero-mean GARCH(1,1) by maximum likelihood (normal or Student-t errors), as
//!   the `arch` package fits it, with variance forecasts over 1, 5 and 20 days and the
//!   annualized volatility.
//! - [`adf`]: the augmented Dickey-Fuller test with AIC/BIC/t-stat lag selection, as
//!   statsmodels' `adfuller`.
//! - [`coint`]: Engle-Granger cointegration of a pair, hedge ratio, half-life and z-score
//!   signals, as statsmodels' `coint`.
//! - [`signals`]: z-score mean-reversion and time-series momentum signals.
//! - [`mackinnon`]: MacKinnon's p-values and critical values shared by the tests.

pub mod adf;
pub mod coint;
pub mod garch;
mod linalg;
pub mod mackinnon;
pub mod signals;
