//! A plan: the model (assets, shocks, regimes, jumps, GARCH, crashes, the economy), the cash
//! flows, fees, withdrawal strategy and variance reduction, read from TOML by the CLI.

use serde::{Deserialize, Serialize};

use super::Withdrawal;
use crate::scenario::Economy;

/// One asset: expected arithmetic annual return and annual volatility.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Asset {
    pub name: String,
    /// Expected annual return (0.07 for 7%).
    pub expected_return: f64,
    /// Annual volatility (0.16 for 16%).
    pub volatility: f64,
    /// Portfolio weight (fractions summing to 1; rebalanced every step).
    pub weight: f64,
    /// The share of a black-swan crash's loss this asset takes (1: all of it, 0: none).
    #[serde(default = "one")]
    pub crash_exposure: f64,
}

fn one() -> f64 {
    1.0
}

/// The distribution of the standardized shocks.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Shocks {
    Normal,
    /// Multivariate Student-t with `degrees_of_freedom` (> 2), scaled to unit variance; or
    /// leave `degrees_of_freedom` out and give `fit_returns` (at least 30 historical returns,
    /// any frequency) to estimate it by maximum likelihood.
    StudentT {
        #[serde(default)]
        degrees_of_freedom: Option<f64>,
        #[serde(default)]
        fit_returns: Vec<f64>,
    },
    /// Hansen's (1994) skewed-t, independent per asset before the correlation is applied,
    /// scaled to unit variance; `skew` in (-1, 1), negative for a heavier left tail.
    SkewedT {
        degrees_of_freedom: f64,
        skew: f64,
    },
}

/// One regime: each asset's expected return and volatility while the market is in it.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Regime {
    pub name: String,
    pub expected_returns: Vec<f64>,
    pub volatilities: Vec<f64>,
}

/// Markov regime switching: the regimes and the transition matrix per step (row: from).
/// With `model.economy`, the states are the economy's regimes, matched by name, and the
/// economy's chain moves them (`transition` is then left out).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Regimes {
    pub states: Vec<Regime>,
    #[serde(default)]
    pub transition: Vec<Vec<f64>>,
}

/// The economic scenario generator as the market's driver: a built-in economy by name
/// (`economy = "us"`) or one written out (see examples/economy.toml).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum EconomySpec {
    Named(String),
    Custom(Economy),
}

/// Merton jumps, common to every asset: a Poisson number of jumps per year, each a normal
/// log-return. The drift is compensated so the expected return stays as given.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Jumps {
    pub intensity: f64,
    pub mean: f64,
    pub volatility: f64,
}

/// GARCH(1,1) volatility: each asset's variance moves as
/// `h' = (1 - alpha - beta) + alpha h s^2 + beta h` around its long-run level (the asset's or
/// regime's volatility), where `s` is the step's standardized shock.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Garch {
    pub alpha: f64,
    pub beta: f64,
}

/// Rare market crashes: with `annual_probability` a year, every asset loses a share drawn
/// uniformly from [`min_loss`, `max_loss`] times its `crash_exposure`. Unlike jumps they are
/// not compensated in the drift: they are a stress on top of the expected returns.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Crashes {
    pub annual_probability: f64,
    pub min_loss: f64,
    pub max_loss: f64,
}

/// The market model.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Model {
    pub assets: Vec<Asset>,
    /// Correlation matrix, one row per asset (identity when omitted).
    #[serde(default)]
    pub correlation: Option<Vec<Vec<f64>>>,
    #[serde(default = "normal")]
    pub shocks: Shocks,
    #[serde(default)]
    pub regimes: Option<Regimes>,
    #[serde(default)]
    pub jumps: Option<Jumps>,
    #[serde(default)]
    pub garch: Option<Garch>,
    #[serde(default)]
    pub crashes: Option<Crashes>,
    /// The economy whose regimes drive the asset returns (per `regimes.states`) and whose
    /// inflation path replaces `cash_flows.inflation`.
    #[serde(default)]
    pub economy: Option<EconomySpec>,
    /// 12 (monthly), 52 (weekly) or 252 (daily).
    #[serde(default = "monthly")]
    pub steps_per_year: u32,
}

fn normal() -> Shocks {
    Shocks::Normal
}

impl Model {
    /// `assets` with normal shocks, uncorrelated, on monthly steps, and nothing else.
    pub fn plain(assets: Vec<Asset>) -> Self {
        Self {
            assets,
            correlation: None,
            shocks: Shocks::Normal,
            regimes: None,
            jumps: None,
            garch: None,
            crashes: None,
            economy: None,
            steps_per_year: 12,
        }
    }

    /// One asset named `name`: the whole portfolio at `expected_return` and `volatility`.
    pub fn single(name: &str, expected_return: f64, volatility: f64) -> Self {
        Self::plain(vec![Asset { name: name.into(), expected_return, volatility, weight: 1.0, crash_exposure: 1.0 }])
    }
}

fn monthly() -> u32 {
    12
}

fn yes() -> bool {
    true
}

/// A stream of income paid into the portfolio (Social Security, a pension, rent), in today's
/// currency, from a plan year or an age, for a number of years or to the end.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Income {
    pub name: String,
    pub annual_amount: f64,
    /// The first plan year it is paid in (1: this year); or give `start_age`.
    #[serde(default)]
    pub start_year: Option<u32>,
    /// The age it starts at (needs the plan's `age`).
    #[serde(default)]
    pub start_age: Option<u32>,
    /// How many years it is paid (to the end of the plan when omitted).
    #[serde(default)]
    pub years: Option<u32>,
    /// Whether it grows with inflation (Social Security does; many pensions do not).
    #[serde(default = "yes")]
    pub inflation_adjusted: bool,
    /// How a household plan taxes it: `ordinary` (pensions, annuities, rent), `social_security`
    /// (IRC §86's formula) or `tax_free`.
    #[serde(default)]
    pub taxed_as: TaxedAs,
}

/// The tax character of an income stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TaxedAs {
    #[default]
    Ordinary,
    SocialSecurity,
    TaxFree,
}

/// Money in and out, in today's currency.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CashFlows {
    /// Added each year (spread over its steps) until `retire_after_years`.
    #[serde(default)]
    pub annual_contribution: f64,
    /// Taken each year from `retire_after_years` on, by the withdrawal strategy (the
    /// constant strategy takes this; Guyton-Klinger starts from it).
    #[serde(default)]
    pub annual_withdrawal: f64,
    #[serde(default)]
    pub retire_after_years: u32,
    /// Yearly inflation (0.025 for 2.5%).
    #[serde(default)]
    pub inflation: f64,
    /// Contributions grow with inflation (true) or stay nominal (false).
    #[serde(default = "yes")]
    pub index_contributions: bool,
    /// Constant withdrawals grow with inflation (true) or stay nominal (false).
    #[serde(default = "yes")]
    pub index_withdrawals: bool,
    #[serde(default)]
    pub income: Vec<Income>,
}

impl Default for CashFlows {
    fn default() -> Self {
        Self {
            annual_contribution: 0.0,
            annual_withdrawal: 0.0,
            retire_after_years: 0,
            inflation: 0.0,
            index_contributions: true,
            index_withdrawals: true,
            income: Vec::new(),
        }
    }
}

/// What the portfolio costs: a share of wealth a year (taken every step) and a fixed amount a
/// year in today's currency (grows with inflation).
#[derive(Debug, Clone, Copy, PartialEq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Fees {
    #[serde(default)]
    pub annual_rate: f64,
    #[serde(default)]
    pub annual_fixed: f64,
}

/// Variance reduction for the estimate of mean terminal wealth.
#[derive(Debug, Clone, Copy, PartialEq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VarianceReduction {
    /// Paths in pairs, the second with every diffusion shock negated.
    #[serde(default)]
    pub antithetic: bool,
    /// A geometric Brownian motion driven by the same normal draws, whose mean is known
    /// exactly, as a control variate.
    #[serde(default)]
    pub control_variate: bool,
}

/// A simulation: the model, the starting wealth, the horizon, the cash flows, and the run.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// What the portfolio holds today; left out when a `[household]` gives the accounts, whose
    /// balances are then the starting wealth.
    #[serde(default)]
    pub initial_wealth: Option<f64>,
    pub years: u32,
    /// The investor's age today; needed by income that starts at an age and by RMD
    /// withdrawals.
    #[serde(default)]
    pub age: Option<u32>,
    pub model: Model,
    #[serde(default)]
    pub cash_flows: CashFlows,
    #[serde(default)]
    pub fees: Fees,
    #[serde(default)]
    pub withdrawal: Withdrawal,
    #[serde(default)]
    pub variance_reduction: VarianceReduction,
    /// The investor and their accounts (`[household]`, `[household.person]`,
    /// `[[household.accounts]]`, `[household.withdrawals]`; see examples/accounts.toml): the
    /// accounts are the starting wealth, and the plan runs as one household on every path
    /// ([`super::household`]): contributions within the limits, withdrawals in a chosen
    /// order, and each year's federal tax.
    #[serde(default)]
    pub household: Option<crate::accounts::AccountsPlan>,
    #[serde(default = "paths")]
    pub paths: usize,
    #[serde(default)]
    pub seed: u64,
}

fn paths() -> usize {
    10_000
}

impl Plan {
    /// The starting wealth: `initial_wealth`, or the household's accounts (529 plans, which pay
    /// for college, aside).
    pub fn starting_wealth(&self) -> Result<f64, crate::SimError> {
        match (self.initial_wealth, &self.household) {
            (Some(_), Some(_)) => Err(crate::invalid(
                "initial_wealth",
                "leave it out: the [household]'s accounts are the starting wealth",
            )),
            (Some(w), None) if w.is_finite() && w >= 0.0 => Ok(w),
            (Some(_), None) => Err(crate::invalid("initial_wealth", "must be a number of at least 0")),
            (None, Some(h)) => {
                Ok(h.accounts.iter().filter(|a| a.kind != crate::accounts::Kind::Plan529).map(|a| a.balance).sum())
            }
            (None, None) => Err(crate::invalid(
                "initial_wealth",
                "what the portfolio holds today (or give a [household] whose accounts are the starting wealth)",
            )),
        }
    }
}
