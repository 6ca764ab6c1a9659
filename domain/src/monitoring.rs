//! Monitoring rules: pure functions from a [`Snapshot`] of a household's read models to zero
//! or more [`Finding`]s, each graded by [`Severity`] and carrying a stable dedupe `key`, so
//! that an alert engine can run them on a schedule and tell a new condition from one it has
//! already reported. Nothing here reads a clock, a database or a random number: the caller
//! fills the snapshot (the day evaluated included) and chooses the [`Thresholds`].
//!
//! # The rules
//!
//! | [`Rule`] | Condition | Severity |
//! |---|---|---|
//! | [`drift`] | an asset's weight is off its target by more than its band, or the whole portfolio is off by more than `drift_total` | Warning; Critical past twice the band |
//! | [`drawdown`] | the flow-adjusted value is more than `drawdown` below its high-water mark | Warning; Critical past twice |
//! | [`goal_progress`] | a goal's funded ratio or on-track probability is below its floor | Warning; Critical when both are, or the goal's date has come |
//! | [`tax_loss`] | a taxable lot's unrealized loss is at least `tax_loss_amount` and `tax_loss_share` of its cost | Info (an opportunity) |
//! | [`risk_breach`] | one-day 95% VaR or CVaR above its limit | Warning; Critical past twice |
//! | [`concentration`] | one symbol above `concentration` of the household's value | Warning; Critical past twice |
//! | [`cash_drag`] | cash above `cash_share` of the household's value for at least `cash_days` days | Warning; Critical past twice |
//! | [`large_flow`] | a day's net external flow above both `large_flow_share` of the value and `large_flow_amount` | Warning; Critical past twice the share |
//! | [`regime`] | the benchmark's market regime differs from the day before | Critical into volatile_bear, Warning into another volatile or bear regime, else Info |
//!
//! **Drift bands** follow the "5/25" rule of thumb (L. Swedroe and K. Grogan, *The Only Guide
//! to a Winning Investment Strategy You'll Ever Need*, 2005 ed.): an asset is out of band when
//! it is off its target by more than an absolute number of points (`drift_asset`) or by more
//! than a share of its own target (`drift_relative`), whichever band is narrower; an asset held
//! but not targeted has only the absolute band. The weights are those of
//! [`crate::portfolio::allocation`] (value / total to six places), so the rule and the
//! portfolio read model agree on every drift. The total drift is half the sum of the absolute
//! drifts: the share of the portfolio a rebalance back to target would trade (one way).
//!
//! **Drawdown** is measured on the time-weighted index of the daily values
//! ([`crate::performance::time_weighted`], flows taking part in their day), so a withdrawal
//! is not a fall and a deposit does not set a new high-water mark; with no flows it is exactly
//! `1 - value / peak value`.
//!
//! **Tax losses** are listed, not acted on: a later tax engine decides. The holding period is
//! [`crate::ledger::lots::term`]'s: held for not more than one year is short-term (IRC §1222),
//! counted from the day after acquisition. Short-term losses come first: they offset
//! short-term gains, taxed at ordinary rates, before long-term ones (IRC §1222, §1(h)). A
//! purchase of the same symbol in the 30 days before the day evaluated is named, because a sale
//! at a loss now would be a wash sale (IRC §1091; purchases in IRAs count too, Rev. Rul.
//! 2008-5).
//!
//! Findings come in [`Rule::ALL`]'s order, and within a rule in the order each function
//! documents, so the same snapshot always gives the same list.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::goals::{self, Goal};
use crate::ledger::lots::{self, Term, WASH_SALE_WINDOW_DAYS};
use crate::market::AssetClass;
use crate::performance::{self, FlowTiming};
use crate::portfolio;
use crate::DomainError;

/// How urgent a finding is; ordered, so `max` is the worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth knowing; nothing is wrong (an opportunity, a calmer market).
    Info,
    /// Past a threshold: worth a look.
    Warning,
    /// Far past a threshold (usually twice it): act.
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Critical => "critical",
        }
    }
}

impl std::str::FromStr for Severity {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        [Self::Info, Self::Warning, Self::Critical]
            .into_iter()
            .find(|x| x.as_str() == s.trim())
            .ok_or_else(|| format!("{s:?} is not a severity (info, warning, critical)"))
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The monitoring rules, one function each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    Drift,
    Drawdown,
    GoalProgress,
    TaxLoss,
    RiskBreach,
    Concentration,
    CashDrag,
    LargeFlow,
    Regime,
    /// The ledger against a broker's statement of positions ([`reconciliation`]): not a rule
    /// over a [`Snapshot`], so not in [`Rule::ALL`]; the reconciliation task runs it.
    Reconciliation,
}

impl Rule {
    /// Every rule over a snapshot, in the order [`evaluate`] runs them.
    pub const ALL: [Rule; 9] = [
        Self::Drift,
        Self::Drawdown,
        Self::GoalProgress,
        Self::TaxLoss,
        Self::RiskBreach,
        Self::Concentration,
        Self::CashDrag,
        Self::LargeFlow,
        Self::Regime,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Drift => "drift",
            Self::Drawdown => "drawdown",
            Self::GoalProgress => "goal_progress",
            Self::TaxLoss => "tax_loss",
            Self::RiskBreach => "risk_breach",
            Self::Concentration => "concentration",
            Self::CashDrag => "cash_drag",
            Self::LargeFlow => "large_flow",
            Self::Regime => "regime",
            Self::Reconciliation => "reconciliation",
        }
    }

    /// The rule's function over a snapshot (none for [`Rule::Reconciliation`]).
    pub fn function(self) -> Option<fn(&Snapshot, &Thresholds) -> Vec<Finding>> {
        Some(match self {
            Self::Drift => drift,
            Self::Drawdown => drawdown,
            Self::GoalProgress => goal_progress,
            Self::TaxLoss => tax_loss,
            Self::RiskBreach => risk_breach,
            Self::Concentration => concentration,
            Self::CashDrag => cash_drag,
            Self::LargeFlow => large_flow,
            Self::Regime => regime,
            Self::Reconciliation => return None,
        })
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Rule {
    type Err = DomainError;

    fn from_str(s: &str) -> Result<Self, DomainError> {
        let every = || Self::ALL.into_iter().chain([Self::Reconciliation]);
        every().find(|r| r.as_str() == s).ok_or_else(|| {
            let names: Vec<&str> = every().map(|r| r.as_str()).collect();
            refuse("rule", format!("no rule {s:?}; the rules are {}", names.join(", ")))
        })
    }
}

/// What a rule found: one condition of one household (and portfolio, and subject).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub rule: Rule,
    pub severity: Severity,
    /// The same for the same condition on every evaluation (`drift:smith:core:VTI`), so an
    /// alert engine can tell a new condition from one it has reported; the severity is not
    /// part of it (a condition that worsens keeps its key).
    pub key: String,
    pub household: String,
    pub portfolio: Option<String>,
    /// The symbol, goal, measure or benchmark the finding is about.
    pub subject: Option<String>,
    /// One plain sentence with the numbers.
    pub message: String,
    /// The values that triggered it (decimals as strings, fractions as fractions).
    pub values: BTreeMap<String, String>,
}

/// A household's risk profile, which chooses the default [`Thresholds`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Profile {
    Conservative,
    Moderate,
    Aggressive,
}

impl Profile {
    pub const ALL: [Profile; 3] = [Self::Conservative, Self::Moderate, Self::Aggressive];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Conservative => "conservative",
            Self::Moderate => "moderate",
            Self::Aggressive => "aggressive",
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Profile {
    type Err = DomainError;

    fn from_str(s: &str) -> Result<Self, DomainError> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| refuse("profile", format!("no profile {s:?}; one of conservative, moderate, aggressive")))
    }
}

/// Every rule's settings. Fractions are fractions (`0.05` is 5%), amounts are dollars.
/// [`Thresholds::of`] gives a profile's defaults; [`Thresholds::set`] overrides one setting by
/// its name ([`Thresholds::NAMES`]), so settings can be kept as `(name, value)` pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Thresholds {
    /// `drift_asset`: an asset's absolute band, in weight (0.05 is 5 points).
    pub drift_asset: Decimal,
    /// `drift_relative`: an asset's band as a share of its own target weight.
    pub drift_relative: Decimal,
    /// `drift_total`: half the sum of the absolute drifts (the one-way turnover back to target).
    pub drift_total: Decimal,
    /// `drawdown`: the fall from the high-water mark.
    pub drawdown: Decimal,
    /// `goal_funded_ratio`: the least funded ratio (value / present value of the target).
    pub goal_funded_ratio: Decimal,
    /// `goal_probability`: the least on-track probability from the Monte Carlo engine.
    pub goal_probability: Decimal,
    /// `goal_return`: the expected annual return a goal is discounted and simulated at, unless
    /// the goal has its own.
    pub goal_return: Decimal,
    /// `goal_volatility`: the annual volatility a goal is simulated at, unless it has its own.
    pub goal_volatility: Decimal,
    /// `tax_loss_amount`: the least unrealized loss of a lot worth listing, in dollars.
    pub tax_loss_amount: Decimal,
    /// `tax_loss_share`: the least unrealized loss as a share of the lot's cost.
    pub tax_loss_share: Decimal,
    /// `var_limit`: the highest one-day 95% value at risk, as a fraction of the value.
    pub var_limit: Decimal,
    /// `cvar_limit`: the highest one-day 95% conditional value at risk (expected shortfall).
    pub cvar_limit: Decimal,
    /// `concentration`: the highest share of the household's value in one symbol.
    pub concentration: Decimal,
    /// `cash_share`: the highest share of the household's value in cash …
    pub cash_share: Decimal,
    /// `cash_days`: … for at least this many calendar days before it is drag.
    pub cash_days: u32,
    /// `large_flow_share`: a day's net external flow above this share of the value …
    pub large_flow_share: Decimal,
    /// `large_flow_amount`: … and above this many dollars is large.
    pub large_flow_amount: Decimal,
    /// `large_flow_days`: the days, up to and including the day evaluated, whose flows are
    /// looked at (rows are often recorded a few days late).
    pub large_flow_days: u32,
}

const fn frac(n: u32, scale: u32) -> Decimal {
    Decimal::from_parts(n, 0, 0, false, scale)
}

const fn usd(dollars: u32) -> Decimal {
    Decimal::from_parts(dollars, 0, 0, false, 0)
}

/// The profiles' defaults, one row per profile in [`Profile::ALL`]'s order.
///
/// These are house policy, not law or a published standard: starting points an advisor tunes
/// per household. Where a number leans on a source it says so. What differs by profile is how
/// much movement the portfolio is expected to have, so the same move means less in an
/// aggressive portfolio than in a conservative one:
///
/// - Drift: 5 points and 25% of the target is Swedroe's "5/25" band and cairn's
///   [`portfolio::DEFAULT_DRIFT_THRESHOLD`], for moderate; conservative households are held
///   closer (3 points, 20%), aggressive ones looser (7 points, 30%), since a conservative
///   portfolio drifting into equities changes its risk the most. The total band is twice the
///   asset band, so it catches many small drifts that add up.
/// - Drawdown: 10% / 15% / 25%: about what each mix (mostly bonds, balanced, mostly stocks)
///   falls in an ordinary correction; 20% is the customary line of a bear market in stocks.
/// - Goals: funded ratio floors of 100% / 90% / 80% (an aggressive plan counts on growth to
///   close more of the gap) and on-track probabilities of 85% / 75% / 65%, within the 70–90%
///   band planners commonly aim Monte Carlo success rates at. A goal is discounted and
///   simulated at 5.5% / 6.6% / 7.6% a year with a volatility of 6.7% / 10.1% / 14.5%: a
///   30/70, 60/40 and 90/10 stock/bond mix under house capital-market assumptions (stocks 8%
///   expected, 16% volatile; bonds 4.5%, 6%; correlation 0.1), rounded. These are assumptions,
///   not forecasts: `goal_return` and `goal_volatility` (or the goal's own) replace them.
/// - Risk: one-day 95% VaR limits of 1% / 2% / 3% of the value, about one and a half times
///   the historical one-day VaR of a 30/70, 60/40 and 90/10 stock/bond mix (daily volatility
///   about 0.4%, 0.7% and 1.1%); CVaR limits one and a half times the VaR limits (a normal
///   distribution's 95% CVaR is 1.25 times its VaR; returns have fatter tails).
/// - Concentration: 10% / 15% / 25% of the household in one symbol.
/// - Cash: above 10% / 7% / 5% for 30 days: a conservative household keeps more cash on
///   purpose.
/// - The same for every profile, because they do not depend on risk tolerance: tax losses of
///   at least $1,000 and 5% of cost (below that, trading costs and the wash-sale bookkeeping
///   eat the benefit), cash for at least 30 days (money between a sale and a purchase is not
///   drag), and large flows of at least 10% of the value and $10,000 over the last 7 days.
const DEFAULTS: [Thresholds; 3] = [
    // conservative
    Thresholds {
        drift_asset: frac(3, 2),
        drift_relative: frac(20, 2),
        drift_total: frac(6, 2),
        drawdown: frac(10, 2),
        goal_funded_ratio: frac(100, 2),
        goal_probability: frac(85, 2),
        goal_return: frac(55, 3),
        goal_volatility: frac(67, 3),
        tax_loss_amount: usd(1_000),
        tax_loss_share: frac(5, 2),
        var_limit: frac(1, 2),
        cvar_limit: frac(15, 3),
        concentration: frac(10, 2),
        cash_share: frac(10, 2),
        cash_days: 30,
        large_flow_share: frac(10, 2),
        large_flow_amount: usd(10_000),
        large_flow_days: 7,
    },
    // moderate
    Thresholds {
        drift_asset: frac(5, 2),
        drift_relative: frac(25, 2),
        drift_total: frac(10, 2),
        drawdown: frac(15, 2),
        goal_funded_ratio: frac(90, 2),
        goal_probability: frac(75, 2),
        goal_return: frac(66, 3),
        goal_volatility: frac(101, 3),
        tax_loss_amount: usd(1_000),
        tax_loss_share: frac(5, 2),
        var_limit: frac(2, 2),
        cvar_limit: frac(3, 2),
        concentration: frac(15, 2),
        cash_share: frac(7, 2),
        cash_days: 30,
        large_flow_share: frac(10, 2),
        large_flow_amount: usd(10_000),
        large_flow_days: 7,
    },
    // aggressive
    Thresholds {
        drift_asset: frac(7, 2),
        drift_relative: frac(30, 2),
        drift_total: frac(14, 2),
        drawdown: frac(25, 2),
        goal_funded_ratio: frac(80, 2),
        goal_probability: frac(65, 2),
        goal_return: frac(76, 3),
        goal_volatility: frac(145, 3),
        tax_loss_amount: usd(1_000),
        tax_loss_share: frac(5, 2),
        var_limit: frac(3, 2),
        cvar_limit: frac(45, 3),
        concentration: frac(25, 2),
        cash_share: frac(5, 2),
        cash_days: 30,
        large_flow_share: frac(10, 2),
        large_flow_amount: usd(10_000),
        large_flow_days: 7,
    },
];

/// What values a setting takes.
#[derive(Clone, Copy)]
enum Range {
    /// Above 0 and at most 1.
    Fraction,
    /// Above 0.
    Positive,
    /// At least 0.
    Amount,
    /// A whole number of days from 0 to 3,660.
    Days,
}

impl Thresholds {
    /// The least loss the harvesting scan lists: the amount and share given, else these
    /// settings' `tax_loss_amount` and `tax_loss_share`.
    pub fn harvest(&self, min_loss: Option<Decimal>, min_share: Option<Decimal>) -> crate::harvest::Settings {
        crate::harvest::Settings {
            min_loss: min_loss.unwrap_or(self.tax_loss_amount),
            min_share: min_share.unwrap_or(self.tax_loss_share),
        }
    }

    /// The settings' names, for [`Thresholds::set`] and [`Thresholds::get`].
    pub const NAMES: [&'static str; 18] = [
        "drift_asset",
        "drift_relative",
        "drift_total",
        "drawdown",
        "goal_funded_ratio",
        "goal_probability",
        "goal_return",
        "goal_volatility",
        "tax_loss_amount",
        "tax_loss_share",
        "var_limit",
        "cvar_limit",
        "concentration",
        "cash_share",
        "cash_days",
        "large_flow_share",
        "large_flow_amount",
        "large_flow_days",
    ];

    /// A profile's defaults (the table above [`Thresholds`]'s `DEFAULTS`).
    pub fn of(profile: Profile) -> Self {
        DEFAULTS[profile as usize]
    }

    fn range(name: &str) -> Option<Range> {
        Some(match name {
            "drift_asset" | "drift_total" | "drawdown" | "goal_probability" | "goal_return" | "goal_volatility"
            | "tax_loss_share" | "var_limit" | "cvar_limit" | "concentration" | "cash_share" | "large_flow_share" => {
                Range::Fraction
            }
            "drift_relative" | "goal_funded_ratio" => Range::Positive,
            "tax_loss_amount" | "large_flow_amount" => Range::Amount,
            "cash_days" | "large_flow_days" => Range::Days,
            _ => return None,
        })
    }

    fn decimal_mut(&mut self, name: &str) -> Option<&mut Decimal> {
        Some(match name {
            "drift_asset" => &mut self.drift_asset,
            "drift_relative" => &mut self.drift_relative,
            "drift_total" => &mut self.drift_total,
            "drawdown" => &mut self.drawdown,
            "goal_funded_ratio" => &mut self.goal_funded_ratio,
            "goal_probability" => &mut self.goal_probability,
            "goal_return" => &mut self.goal_return,
            "goal_volatility" => &mut self.goal_volatility,
            "tax_loss_amount" => &mut self.tax_loss_amount,
            "tax_loss_share" => &mut self.tax_loss_share,
            "var_limit" => &mut self.var_limit,
            "cvar_limit" => &mut self.cvar_limit,
            "concentration" => &mut self.concentration,
            "cash_share" => &mut self.cash_share,
            "large_flow_share" => &mut self.large_flow_share,
            "large_flow_amount" => &mut self.large_flow_amount,
            _ => return None,
        })
    }

    fn days_mut(&mut self, name: &str) -> Option<&mut u32> {
        match name {
            "cash_days" => Some(&mut self.cash_days),
            "large_flow_days" => Some(&mut self.large_flow_days),
            _ => None,
        }
    }

    /// Sets one setting from its text (`set("drift_asset", "0.04")`). An unknown name or a
    /// value out of the setting's range is refused, naming the setting as the field; the
    /// thresholds are then unchanged.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), DomainError> {
        let Some(range) = Self::range(name) else {
            return Err(refuse(name, format!("no such setting; the settings are {}", Self::NAMES.join(", "))));
        };
        let value = value.trim();
        if let Range::Days = range {
            let days: u32 = value
                .parse()
                .ok()
                .filter(|d| *d <= 3_660)
                .ok_or_else(|| refuse(name, format!("{value:?} is not a whole number of days from 0 to 3660")))?;
            *self.days_mut(name).expect("a days setting") = days;
            return Ok(());
        }
        let d = Decimal::from_str(value).map_err(|_| refuse(name, format!("{value:?} is not a number")))?;
        let ok = match range {
            Range::Fraction => d > Decimal::ZERO && d <= Decimal::ONE,
            Range::Positive => d > Decimal::ZERO,
            Range::Amount | Range::Days => d >= Decimal::ZERO,
        };
        if !ok {
            let wanted = match range {
                Range::Fraction => "a fraction above 0 and at most 1 (0.05 for 5%)",
                Range::Positive => "above 0",
                Range::Amount | Range::Days => "an amount of at least 0",
            };
            return Err(refuse(name, format!("{value} is out of range: {wanted}")));
        }
        *self.decimal_mut(name).expect("a decimal setting") = d;
        Ok(())
    }

    /// A setting's value as text, as [`Thresholds::set`] reads it back.
    pub fn get(&self, name: &str) -> Option<String> {
        match name {
            "cash_days" => Some(self.cash_days.to_string()),
            "large_flow_days" => Some(self.large_flow_days.to_string()),
            _ => {
                let mut copy = *self;
                copy.decimal_mut(name).map(|d| d.to_string())
            }
        }
    }

    /// Every setting as `(name, value)`, in [`Thresholds::NAMES`]' order.
    pub fn settings(&self) -> Vec<(&'static str, String)> {
        Self::NAMES.iter().map(|n| (*n, self.get(n).expect("every name has a value"))).collect()
    }
}

/// A position at market value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holding {
    pub symbol: String,
    pub value: Decimal,
    /// From the security master; cash and money-market funds are [`AssetClass::Cash`].
    pub asset_class: Option<AssetClass>,
    /// A fund of many issuers (a broad index or target-date fund): a large share of it is
    /// not a concentration in one issuer, so [`concentration`] passes it over. The caller
    /// decides which funds count.
    #[serde(default)]
    pub diversified: bool,
}

/// One day's closing value and net external flow (in positive, out negative), as
/// [`crate::performance::history`] gives them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValuationDay {
    pub date: NaiveDate,
    pub value: Decimal,
    pub flow: Decimal,
}

/// A portfolio's risk figures as the risk worker computes them (`portfolio_risk`'s
/// `var_95_1d` and `cvar_95_1d`): one-day 95% historical VaR and CVaR as fractions of the
/// value; `None` where there was too little history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RiskFigures {
    pub var: Option<Decimal>,
    pub cvar: Option<Decimal>,
}

/// What the rules read of one portfolio.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortfolioSnapshot {
    pub name: String,
    /// The positions in the portfolio's accounts at market value (several of one symbol are
    /// added up).
    pub holdings: Vec<Holding>,
    /// The target allocation, as [`portfolio::Portfolio::target`]: weights by symbol or by
    /// asset class (`equity`, …) summing to 1. A holding counts under its symbol when that is
    /// targeted, else under its asset class when that is, else under its symbol (untargeted).
    pub target: BTreeMap<String, Decimal>,
    /// Daily values, oldest first.
    pub history: Vec<ValuationDay>,
    pub risk: Option<RiskFigures>,
    /// The portfolio's own drift threshold, when one was set (`portfolio threshold`): each
    /// asset's band in place of the household's `drift_asset` and `drift_relative`, and twice it
    /// the total band in place of `drift_total` (the ratio of the profiles' defaults).
    pub drift_threshold: Option<Decimal>,
}

/// An open lot at market value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lot {
    /// The lot engine's `lot_id`.
    pub id: String,
    pub account: String,
    pub symbol: String,
    /// Acquisition date for holding periods (after tacking).
    pub acquired: NaiveDate,
    /// Adjusted basis.
    pub cost: Decimal,
    pub value: Decimal,
    /// Held in a taxable account (not an IRA, 401(k), HSA, …).
    pub taxable: bool,
}

/// A goal and where it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoalStatus {
    pub goal: Goal,
    /// The value set aside for it today (its accounts' value, or the household's).
    pub current: Decimal,
    /// The expected annual return it is discounted and simulated at (the goal's own, else the
    /// household's `goal_return`).
    pub expected_return: Decimal,
    /// The annual volatility it is simulated at.
    pub volatility: Decimal,
    /// The probability of reaching the target by its date, from the Monte Carlo engine;
    /// `None` when not computed (or its date has come).
    pub probability: Option<Decimal>,
}

impl GoalStatus {
    /// A goal with the value set aside for it, at its own return and volatility or else the
    /// household's thresholds' (no probability yet).
    pub fn new(goal: Goal, current: Decimal, t: &Thresholds) -> Self {
        let expected_return = goal.expected_return.unwrap_or(t.goal_return);
        let volatility = goal.volatility.unwrap_or(t.goal_volatility);
        Self { goal, current, expected_return, volatility, probability: None }
    }

    /// How funded it is on `as_of` ([`goals::funding`]).
    pub fn funding(&self, as_of: NaiveDate) -> Option<goals::Funding> {
        goals::funding(&self.goal, self.current, self.expected_return, as_of)
    }
}

/// A market regime: the trend (bull: price above its long moving average) and the volatility
/// (volatile: realised volatility high, or the high-volatility state of a Markov-switching
/// model likely). `simulations::regime` classifies; this crate only reads the labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MarketRegime {
    CalmBull,
    CalmBear,
    VolatileBull,
    VolatileBear,
}

impl MarketRegime {
    pub const ALL: [MarketRegime; 4] = [Self::CalmBull, Self::CalmBear, Self::VolatileBull, Self::VolatileBear];

    pub fn of(volatile: bool, bull: bool) -> Self {
        match (volatile, bull) {
            (false, true) => Self::CalmBull,
            (false, false) => Self::CalmBear,
            (true, true) => Self::VolatileBull,
            (true, false) => Self::VolatileBear,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::CalmBull => "calm_bull",
            Self::CalmBear => "calm_bear",
            Self::VolatileBull => "volatile_bull",
            Self::VolatileBear => "volatile_bear",
        }
    }

    pub fn is_volatile(self) -> bool {
        matches!(self, Self::VolatileBull | Self::VolatileBear)
    }

    pub fn is_bull(self) -> bool {
        matches!(self, Self::CalmBull | Self::VolatileBull)
    }
}

impl fmt::Display for MarketRegime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for MarketRegime {
    type Err = DomainError;

    fn from_str(s: &str) -> Result<Self, DomainError> {
        Self::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| {
            refuse("regime", format!("no regime {s:?}; one of calm_bull, calm_bear, volatile_bull, volatile_bear"))
        })
    }
}

/// One day's regime of a benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegimeDay {
    pub date: NaiveDate,
    pub regime: MarketRegime,
    /// The filtered probability of the high-volatility state, when a Markov-switching model
    /// gave it.
    pub high_volatility: Option<Decimal>,
}

/// A benchmark's daily regimes, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegimeSeries {
    pub benchmark: String,
    pub days: Vec<RegimeDay>,
}

/// One day's cash (cash balances and cash-class holdings) and the whole value of a household.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CashDay {
    pub date: NaiveDate,
    pub cash: Decimal,
    pub total: Decimal,
}

/// What the rules read of one household, filled by the caller from the read models.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub household: String,
    /// The day evaluated (usually the last close).
    pub as_of: NaiveDate,
    /// Every position of the household, cash included, at market value.
    pub holdings: Vec<Holding>,
    /// The household's daily values and external flows, oldest first (drawdown, large flows).
    pub history: Vec<ValuationDay>,
    /// The household's daily cash, oldest first.
    pub cash: Vec<CashDay>,
    pub portfolios: Vec<PortfolioSnapshot>,
    /// Open lots in every account.
    pub lots: Vec<Lot>,
    pub goals: Vec<GoalStatus>,
    /// The regimes of the benchmark the household follows.
    pub regime: Option<RegimeSeries>,
}

impl Snapshot {
    /// A snapshot with nothing in it yet.
    pub fn new(household: impl Into<String>, as_of: NaiveDate) -> Self {
        Self {
            household: household.into(),
            as_of,
            holdings: Vec::new(),
            history: Vec::new(),
            cash: Vec::new(),
            portfolios: Vec::new(),
            lots: Vec::new(),
            goals: Vec::new(),
            regime: None,
        }
    }
}

/// Runs every rule, in [`Rule::ALL`]'s order.
pub fn evaluate(snapshot: &Snapshot, thresholds: &Thresholds) -> Vec<Finding> {
    Rule::ALL.iter().filter_map(|r| r.function()).flat_map(|f| f(snapshot, thresholds)).collect()
}

/// The household's positions against a broker's statements of them (balance assertions,
/// `domain::ledger::balances`): for each account's holding (a symbol, or cash), the latest
/// statement decides; where it and the ledger differ beyond the statement's tolerance, a
/// finding: a warning, critical when one side holds nothing (a whole position missing or
/// unknown to the ledger). A later statement that agrees clears it.
pub fn reconciliation(household: &str, checked: &[crate::ledger::balances::Checked]) -> Vec<Finding> {
    let mut latest: BTreeMap<(&str, Option<&str>), &crate::ledger::balances::Checked> = BTreeMap::new();
    for c in checked {
        let key = (c.assertion.account.as_str(), c.assertion.symbol.as_deref());
        if latest.get(&key).is_none_or(|l| l.assertion.date <= c.assertion.date) {
            latest.insert(key, c);
        }
    }
    latest
        .into_iter()
        .filter(|(_, c)| !c.holds)
        .map(|((account, symbol), c)| {
            let holding = symbol.unwrap_or("cash");
            let asserted = c.assertion.quantity;
            let severity =
                if asserted.is_zero() || c.actual.is_zero() { Severity::Critical } else { Severity::Warning };
            let what = if symbol.is_some() { "shares" } else { "cash" };
            let source = c.assertion.source.as_deref().unwrap_or("the broker's statement");
            Finding {
                rule: Rule::Reconciliation,
                severity,
                key: format!("reconciliation:{household}:{account}:{holding}"),
                household: household.to_owned(),
                portfolio: None,
                subject: Some(holding.to_owned()),
                message: format!(
                    "{account} {holding}: {source} says {asserted} {what} at the end of {}, the ledger {} ({:+})",
                    c.assertion.date,
                    c.actual.normalize(),
                    c.difference.normalize()
                ),
                values: BTreeMap::from([
                    ("account".to_owned(), account.to_owned()),
                    ("date".to_owned(), c.assertion.date.to_string()),
                    ("statement".to_owned(), asserted.to_string()),
                    ("ledger".to_owned(), c.actual.normalize().to_string()),
                    ("difference".to_owned(), c.difference.normalize().to_string()),
                ]),
            }
        })
        .collect()
}

fn refuse(field: &str, problem: impl Into<String>) -> DomainError {
    DomainError::Rejected { line: None, field: field.to_owned(), problem: problem.into() }
}

/// Warning past `threshold`, Critical past twice it.
fn over(measure: Decimal, threshold: Decimal) -> Option<Severity> {
    if measure > threshold * Decimal::TWO {
        Some(Severity::Critical)
    } else if measure > threshold {
        Some(Severity::Warning)
    } else {
        None
    }
}

/// A fraction as a percentage for messages: `0.066667` → `6.67%`.
fn pct(fraction: Decimal) -> String {
    format!("{}%", (fraction * Decimal::ONE_HUNDRED).round_dp(2).normalize())
}

/// Percentage points: `0.066667` → `6.67 points`.
fn points(fraction: Decimal) -> String {
    format!("{} points", (fraction * Decimal::ONE_HUNDRED).round_dp(2).normalize())
}

/// A decimal for [`Finding::values`]: its shortest exact text (`0.3`, not `0.300000`).
fn num(d: Decimal) -> String {
    d.normalize().to_string()
}

fn money(d: Decimal) -> String {
    format!("${:.2}", d.round_dp(2))
}

/// `a / b` to six places, 0 when `b` is 0.
fn ratio(a: Decimal, b: Decimal) -> Decimal {
    portfolio::weight(a, b)
}

/// Builds findings of one rule for one household.
struct Found<'a> {
    rule: Rule,
    household: &'a str,
    findings: Vec<Finding>,
}

impl<'a> Found<'a> {
    fn new(rule: Rule, s: &'a Snapshot) -> Self {
        Self { rule, household: &s.household, findings: Vec::new() }
    }

    /// Adds a finding keyed `<rule>:<household>[:<part>…]`; values given as empty text (a
    /// figure the snapshot did not have) are left out.
    fn add<const N: usize>(
        &mut self,
        severity: Severity,
        portfolio: Option<&str>,
        subject: Option<&str>,
        key_parts: &[&str],
        message: String,
        values: [(&str, String); N],
    ) {
        let mut key = format!("{}:{}", self.rule.as_str(), self.household);
        for part in key_parts {
            key.push(':');
            key.push_str(part);
        }
        self.findings.push(Finding {
            rule: self.rule,
            severity,
            key,
            household: self.household.to_owned(),
            portfolio: portfolio.map(str::to_owned),
            subject: subject.map(str::to_owned),
            message,
            values: values.into_iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| (k.to_owned(), v)).collect(),
        });
    }
}

/// Rebalancing drift of each portfolio: one finding per asset out of its band (assets by
/// name), then one for the total drift, per portfolio in the snapshot's order. A portfolio
/// with no target or nothing valued has no drift.
pub fn drift(s: &Snapshot, t: &Thresholds) -> Vec<Finding> {
    let mut found = Found::new(Rule::Drift, s);
    for p in &s.portfolios {
        let mut by_asset: BTreeMap<&str, Decimal> = p.target.keys().map(|k| (k.as_str(), Decimal::ZERO)).collect();
        for h in &p.holdings {
            let class = h.asset_class.map(AssetClass::as_str).filter(|c| p.target.contains_key(*c));
            let asset = if p.target.contains_key(&h.symbol) { h.symbol.as_str() } else { class.unwrap_or(&h.symbol) };
            *by_asset.entry(asset).or_default() += h.value;
        }
        let total: Decimal = by_asset.values().sum();
        if p.target.is_empty() || total <= Decimal::ZERO {
            continue;
        }
        let mut sum_abs = Decimal::ZERO;
        for (asset, value) in &by_asset {
            let weight = ratio(*value, total);
            let target = p.target.get(*asset).copied().unwrap_or_default();
            let drift = weight - target;
            sum_abs += drift.abs();
            let band = match p.drift_threshold {
                Some(own) => own,
                None if target > Decimal::ZERO => t.drift_asset.min(t.drift_relative * target),
                None => t.drift_asset,
            };
            let Some(severity) = over(drift.abs(), band) else { continue };
            let side = if drift > Decimal::ZERO { "over" } else { "under" };
            found.add(
                severity,
                Some(&p.name),
                Some(asset),
                &[&p.name, asset],
                format!(
                    "{asset} is {} of the {} portfolio against a target of {}: {} {side}, beyond its band of {}.",
                    pct(weight),
                    p.name,
                    pct(target),
                    points(drift.abs()),
                    points(band)
                ),
                [
                    ("weight", num(weight)),
                    ("target", num(target)),
                    ("drift", num(drift)),
                    ("band", num(band)),
                    ("value", num(*value)),
                ],
            );
        }
        let total_drift = sum_abs / Decimal::TWO;
        let total_band = p.drift_threshold.map_or(t.drift_total, |own| own * Decimal::TWO);
        if let Some(severity) = over(total_drift, total_band) {
            found.add(
                severity,
                Some(&p.name),
                None,
                &[&p.name],
                format!(
                    "The {} portfolio is {} off its target in all: a rebalance would trade {} of {}, beyond the band of {}.",
                    p.name,
                    points(total_drift),
                    pct(total_drift),
                    money(total),
                    points(total_band)
                ),
                [
                    ("total_drift", num(total_drift)),
                    ("band", num(total_band)),
                    ("value", num(total)),
                    ("turnover", num((total_drift * total).round_dp(2))),
                ],
            );
        }
    }
    found.findings
}

/// The high-water mark of a daily series and the fall from it to the last day, on the
/// time-weighted index (flows taking part in their day): `(peak day, drawdown)`. `None` for
/// an empty series.
pub fn high_water_mark(history: &[ValuationDay]) -> Option<(&ValuationDay, Decimal)> {
    let (first, rest) = history.split_first()?;
    let days: Vec<performance::Day> = rest.iter().map(|d| performance::Day { value: d.value, flow: d.flow }).collect();
    let (_, daily) = performance::time_weighted(first.value, &days, FlowTiming::StartOfDay);
    let mut index = Decimal::ONE;
    let (mut peak, mut peak_index) = (first, Decimal::ONE);
    for (day, r) in rest.iter().zip(daily) {
        index = index.checked_mul(Decimal::ONE + r).unwrap_or(index);
        if index > peak_index {
            (peak, peak_index) = (day, index);
        }
    }
    let drawdown =
        if peak_index > Decimal::ZERO { (Decimal::ONE - index / peak_index).round_dp(6) } else { Decimal::ZERO };
    Some((peak, drawdown.max(Decimal::ZERO)))
}

/// Drawdown of the household's history, then of each portfolio's: the fall of the
/// time-weighted index from its high-water mark (the first day it reached its highest) to the
/// last day.
pub fn drawdown(s: &Snapshot, t: &Thresholds) -> Vec<Finding> {
    let mut found = Found::new(Rule::Drawdown, s);
    let series = std::iter::once((None, &s.history)).chain(s.portfolios.iter().map(|p| (Some(&p.name), &p.history)));
    for (portfolio, history) in series {
        let Some((peak, dd)) = high_water_mark(history) else { continue };
        let Some(severity) = over(dd, t.drawdown) else { continue };
        let last = history.last().expect("a series with a peak has a last day");
        let what = portfolio.map_or_else(|| "The household".to_owned(), |p| format!("The {p} portfolio"));
        found.add(
            severity,
            portfolio.map(String::as_str),
            None,
            &[portfolio.map_or("household", String::as_str)],
            format!(
                "{what} is {} below its high-water mark of {}, net of deposits and withdrawals (worth {} then, {} on \
                 {}), beyond {}.",
                pct(dd),
                peak.date,
                money(peak.value),
                money(last.value),
                last.date,
                pct(t.drawdown)
            ),
            [
                ("drawdown", num(dd)),
                ("peak_date", peak.date.to_string()),
                ("peak_value", num(peak.value)),
                ("date", last.date.to_string()),
                ("value", num(last.value)),
                ("threshold", num(t.drawdown)),
            ],
        );
    }
    found.findings
}

/// Goal progress, per goal in the snapshot's order: the funded ratio (today's value and the
/// planned contributions' present value over the present value of the target, at the goal's
/// expected return: [`goals::funding`]) and the Monte Carlo on-track probability against their
/// floors.
pub fn goal_progress(s: &Snapshot, t: &Thresholds) -> Vec<Finding> {
    let mut found = Found::new(Rule::GoalProgress, s);
    for g in &s.goals {
        let Some(f) = g.funding(s.as_of) else {
            continue; // nothing to fund
        };
        let (pv, funded) = (f.present_value, f.funded_ratio);
        let short_funded = funded < t.goal_funded_ratio;
        let short_probability = g.probability.is_some_and(|p| p < t.goal_probability);
        let due = g.goal.date <= s.as_of;
        let severity = match (short_funded, short_probability) {
            (false, false) => continue,
            (true, true) => Severity::Critical,
            (true, false) if due => Severity::Critical,
            _ => Severity::Warning,
        };
        let name = g.goal.name.as_str();
        let probability = match g.probability {
            Some(p) => format!(
                "the chance of reaching it is {}{}",
                pct(p),
                if short_probability { format!(", below {}", pct(t.goal_probability)) } else { String::new() }
            ),
            None => "no on-track probability was computed".to_owned(),
        };
        let values = [
            ("funded_ratio", num(funded)),
            ("present_value", num(pv.round_dp(2))),
            ("current", num(g.current)),
            ("contributions_value", num(f.contributions_value.round_dp(2))),
            ("target", num(g.goal.target)),
            ("date", g.goal.date.to_string()),
            ("funded_floor", num(t.goal_funded_ratio)),
            ("probability", g.probability.map(num).unwrap_or_default()),
            ("probability_floor", g.probability.map(|_| num(t.goal_probability)).unwrap_or_default()),
        ];
        found.add(
            severity,
            None,
            Some(name),
            &[name],
            format!(
                "Goal {name} ({} by {}) is {} funded ({}{} of a present value of {}){}; {probability}.",
                money(g.goal.target),
                g.goal.date,
                pct(funded),
                money(g.current),
                if f.months > 0 && !g.goal.monthly_contribution.is_zero() {
                    format!(
                        " and {} a month for {} months, worth {}",
                        money(g.goal.monthly_contribution),
                        f.months,
                        money(f.contributions_value)
                    )
                } else {
                    String::new()
                },
                money(pv),
                if short_funded { format!(", below {}", pct(t.goal_funded_ratio)) } else { String::new() },
            ),
            values,
        );
    }
    found.findings
}

/// Tax-loss harvesting opportunities: lots in taxable accounts whose unrealized loss is at
/// least `tax_loss_amount` and `tax_loss_share` of their cost. Short-term lots first, then by
/// the loss, largest first, then by account and lot id.
pub fn tax_loss(s: &Snapshot, t: &Thresholds) -> Vec<Finding> {
    let mut found = Found::new(Rule::TaxLoss, s);
    let mut candidates: Vec<(Term, Decimal, &Lot)> = s
        .lots
        .iter()
        .filter(|l| l.taxable && l.cost > Decimal::ZERO)
        .filter_map(|l| {
            let loss = l.cost - l.value;
            let enough = loss >= t.tax_loss_amount && ratio(loss, l.cost) >= t.tax_loss_share && loss > Decimal::ZERO;
            enough.then(|| (lots::term(l.acquired, s.as_of), loss, l))
        })
        .collect();
    candidates.sort_by(|a, b| {
        let long = |t: Term| matches!(t, Term::Long);
        (long(a.0), b.1, &a.2.account, &a.2.id).cmp(&(long(b.0), a.1, &b.2.account, &b.2.id))
    });
    let window_start = s.as_of - chrono::Duration::days(WASH_SALE_WINDOW_DAYS);
    for (term, loss, lot) in candidates {
        let share = ratio(loss, lot.cost);
        // The latest purchase of the symbol in the 30 days before: a sale now would be a wash sale.
        let recent = s
            .lots
            .iter()
            .filter(|o| o.symbol == lot.symbol && !(o.id == lot.id && o.account == lot.account))
            .map(|o| o.acquired)
            .filter(|d| *d >= window_start && *d <= s.as_of)
            .max();
        let wash = recent.map_or(String::new(), |d| {
            format!("; {} was bought on {d}, so a sale now would be a wash sale (IRC §1091)", lot.symbol)
        });
        found.add(
            Severity::Info,
            None,
            Some(&lot.symbol),
            &[&lot.account, &lot.id],
            format!(
                "Lot {} of {} in {} has an unrealized {}-term loss of {} ({} of its cost of {}){wash}.",
                lot.id,
                lot.symbol,
                lot.account,
                term.as_str(),
                money(loss),
                pct(share),
                money(lot.cost)
            ),
            [
                ("loss", num(loss)),
                ("loss_share", num(share)),
                ("cost", num(lot.cost)),
                ("value", num(lot.value)),
                ("acquired", lot.acquired.to_string()),
                ("term", term.as_str().to_owned()),
                ("wash_sale_purchase", recent.map(|d| d.to_string()).unwrap_or_default()),
            ],
        );
    }
    found.findings
}

/// Risk breaches, per portfolio in the snapshot's order: VaR, then CVaR, above its limit.
pub fn risk_breach(s: &Snapshot, t: &Thresholds) -> Vec<Finding> {
    let mut found = Found::new(Rule::RiskBreach, s);
    for p in &s.portfolios {
        let Some(risk) = p.risk else { continue };
        for (measure, name, figure, limit) in [
            ("var", "value at risk", risk.var, t.var_limit),
            ("cvar", "conditional value at risk", risk.cvar, t.cvar_limit),
        ] {
            let Some(figure) = figure else { continue };
            let Some(severity) = over(figure, limit) else { continue };
            found.add(
                severity,
                Some(&p.name),
                Some(measure),
                &[&p.name, measure],
                format!(
                    "The {} portfolio's one-day 95% {name} is {} of its value, above the limit of {}.",
                    p.name,
                    pct(figure),
                    pct(limit)
                ),
                [(measure, num(figure)), ("limit", num(limit))],
            );
        }
    }
    found.findings
}

/// Concentration: each symbol (by name) whose share of the household's whole value, cash
/// included, is above `concentration`. Cash and funds marked diversified are passed over.
pub fn concentration(s: &Snapshot, t: &Thresholds) -> Vec<Finding> {
    let mut found = Found::new(Rule::Concentration, s);
    let total: Decimal = s.holdings.iter().map(|h| h.value).sum();
    if total <= Decimal::ZERO {
        return Vec::new();
    }
    let mut by_symbol: BTreeMap<&str, Decimal> = BTreeMap::new();
    for h in s.holdings.iter().filter(|h| h.asset_class != Some(AssetClass::Cash) && !h.diversified) {
        *by_symbol.entry(&h.symbol).or_default() += h.value;
    }
    for (symbol, value) in by_symbol {
        let share = ratio(value, total);
        let Some(severity) = over(share, t.concentration) else { continue };
        found.add(
            severity,
            None,
            Some(symbol),
            &[symbol],
            format!(
                "{symbol} is {} of the household's {} ({}), above {}.",
                pct(share),
                money(total),
                money(value),
                pct(t.concentration)
            ),
            [("share", num(share)), ("value", num(value)), ("total", num(total)), ("threshold", num(t.concentration))],
        );
    }
    found.findings
}

/// Cash drag: the household's cash has been above `cash_share` of its value on every day of
/// the series for the last `cash_days` calendar days or more (the last day at least
/// `cash_days` after the first day of that run). Graded on the last day's share.
pub fn cash_drag(s: &Snapshot, t: &Thresholds) -> Vec<Finding> {
    let mut found = Found::new(Rule::CashDrag, s);
    let above = |d: &&CashDay| ratio(d.cash, d.total) > t.cash_share;
    let Some(last) = s.cash.last().filter(above) else { return Vec::new() };
    let since = s.cash.iter().rev().take_while(above).last().expect("the last day is above").date;
    let days = (last.date - since).num_days();
    if days < i64::from(t.cash_days) {
        return Vec::new();
    }
    let share = ratio(last.cash, last.total);
    let severity = over(share, t.cash_share).expect("above the threshold");
    found.add(
        severity,
        None,
        None,
        &[],
        format!(
            "Cash is {} of the household's value ({} of {}) and has been above {} since {since} ({days} days).",
            pct(share),
            money(last.cash),
            money(last.total),
            pct(t.cash_share)
        ),
        [
            ("share", num(share)),
            ("cash", num(last.cash)),
            ("total", num(last.total)),
            ("since", since.to_string()),
            ("days", days.to_string()),
            ("threshold", num(t.cash_share)),
        ],
    );
    found.findings
}

/// Large external flows: each day of the household's history in the last `large_flow_days`
/// (up to and including the day evaluated) whose net flow is above both `large_flow_amount`
/// and `large_flow_share` of the value at the close before it (the day's own value less its
/// flow on the history's first day; all of it when there was nothing before). Graded on the
/// share. Scheduled contributions are the caller's to leave out of the history's flows if they
/// are not to count as unexpected.
pub fn large_flow(s: &Snapshot, t: &Thresholds) -> Vec<Finding> {
    let mut found = Found::new(Rule::LargeFlow, s);
    let from = s.as_of - chrono::Duration::days(i64::from(t.large_flow_days));
    let mut before: Option<Decimal> = None;
    for day in &s.history {
        let opening = before.unwrap_or(day.value - day.flow);
        before = Some(day.value);
        if day.date <= from || day.date > s.as_of || day.flow.abs() <= t.large_flow_amount {
            continue;
        }
        let share = if opening > Decimal::ZERO { ratio(day.flow.abs(), opening) } else { Decimal::ONE };
        let Some(severity) = over(share, t.large_flow_share) else { continue };
        let (kind, way) = if day.flow > Decimal::ZERO { ("deposit", "in") } else { ("withdrawal", "out") };
        found.add(
            severity,
            None,
            None,
            &[&day.date.to_string()],
            format!(
                "A net {kind} of {} on {} moved {} of the household's {} {way}, above {} and {}.",
                money(day.flow.abs()),
                day.date,
                pct(share),
                money(opening),
                pct(t.large_flow_share),
                money(t.large_flow_amount)
            ),
            [
                ("flow", num(day.flow)),
                ("date", day.date.to_string()),
                ("share", num(share)),
                ("opening_value", num(opening)),
            ],
        );
    }
    found.findings
}

/// Market-regime change: the benchmark's last day's regime differs from the day before.
/// Critical into volatile_bear, Warning into another volatile or a bear regime, Info into
/// calm_bull. The key carries the day, so each change is its own finding.
pub fn regime(s: &Snapshot, _t: &Thresholds) -> Vec<Finding> {
    let mut found = Found::new(Rule::Regime, s);
    let Some(series) = &s.regime else { return Vec::new() };
    let [.., previous, last] = series.days.as_slice() else { return Vec::new() };
    if previous.regime == last.regime {
        return Vec::new();
    }
    let to = last.regime;
    let severity = match to {
        MarketRegime::VolatileBear => Severity::Critical,
        MarketRegime::VolatileBull | MarketRegime::CalmBear => Severity::Warning,
        MarketRegime::CalmBull => Severity::Info,
    };
    let probability = last
        .high_volatility
        .map(|p| format!(" (probability of the high-volatility state {})", pct(p)))
        .unwrap_or_default();
    found.add(
        severity,
        None,
        Some(&series.benchmark),
        &[&series.benchmark, &last.date.to_string()],
        format!(
            "The {} market regime changed from {} on {} to {} on {}{probability}.",
            series.benchmark, previous.regime, previous.date, to, last.date
        ),
        [
            ("from", previous.regime.as_str().to_owned()),
            ("to", to.as_str().to_owned()),
            ("date", last.date.to_string()),
            ("high_volatility", last.high_volatility.map(num).unwrap_or_default()),
        ],
    );
    found.findings
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn moderate() -> Thresholds {
        Thresholds::of(Profile::Moderate)
    }

    fn holding(symbol: &str, value: Decimal, class: Option<AssetClass>) -> Holding {
        Holding { symbol: symbol.into(), value, asset_class: class, diversified: false }
    }

    fn portfolio(name: &str, target: &[(&str, Decimal)], holdings: Vec<Holding>) -> PortfolioSnapshot {
        PortfolioSnapshot {
            name: name.into(),
            holdings,
            target: target.iter().map(|(k, w)| ((*k).to_owned(), *w)).collect(),
            history: Vec::new(),
            risk: None,
            drift_threshold: None,
        }
    }

    fn day(date: &str, value: Decimal, flow: Decimal) -> ValuationDay {
        ValuationDay { date: d(date), value, flow }
    }

    fn snapshot() -> Snapshot {
        Snapshot::new("smith", d("2026-06-01"))
    }

    fn summary(findings: &[Finding]) -> Vec<(String, Severity)> {
        findings.iter().map(|f| (f.key.clone(), f.severity)).collect()
    }

    #[test]
    fn an_asset_past_its_band_warns_and_past_twice_its_band_is_critical() {
        let mut s = snapshot();
        // Of 1,000: VTI 620 (0.62 against 0.50: +12 points, band min(5, 25% of 50) = 5, past 10:
        // critical), BND 260 (0.26 against 0.40: -14 points, band 5: critical), GLD 120 (0.12
        // against 0.10: +2 points, band min(5, 25% of 10 = 2.5) = 2.5: inside).
        // Total drift (12 + 14 + 2) / 2 = 14 points, past the 10-point total band: warning.
        s.portfolios.push(portfolio(
            "core",
            &[("VTI", dec!(0.5)), ("BND", dec!(0.4)), ("GLD", dec!(0.1))],
            vec![holding("VTI", dec!(620), None), holding("BND", dec!(260), None), holding("GLD", dec!(120), None)],
        ));
        let found = drift(&s, &moderate());
        assert_eq!(
            summary(&found),
            [
                ("drift:smith:core:BND".to_owned(), Severity::Critical),
                ("drift:smith:core:VTI".to_owned(), Severity::Critical),
                ("drift:smith:core".to_owned(), Severity::Warning),
            ]
        );
        assert_eq!(
            found[1].message,
            "VTI is 62% of the core portfolio against a target of 50%: 12 points over, beyond its band of 5 points."
        );
        assert_eq!(found[0].values["drift"], "-0.14");
        assert_eq!(found[2].values["total_drift"], "0.14");
        assert_eq!(found[2].values["turnover"], "140");
        // GLD at 0.13 is 3 points over a 10% target: past its relative band of 2.5 points.
        s.portfolios[0].holdings[2].value = dec!(130);
        s.portfolios[0].holdings[0].value = dec!(510);
        s.portfolios[0].holdings[1].value = dec!(360);
        let found = drift(&s, &moderate());
        assert_eq!(summary(&found), [("drift:smith:core:GLD".to_owned(), Severity::Warning)]);
        assert_eq!(found[0].values["band"], "0.025");
        // The portfolio's own threshold replaces both bands (drifts VTI +1, BND -4, GLD +3
        // points; total 4). At 4 points nothing is past it (the total band is 8). At 2 points
        // BND and GLD are past it, neither past twice it, and the total is at its band of 4,
        // not past. At 1.5 points the total band is 3: the total is past it.
        s.portfolios[0].drift_threshold = Some(dec!(0.04));
        assert!(drift(&s, &moderate()).is_empty(), "inside the portfolio's own band");
        s.portfolios[0].drift_threshold = Some(dec!(0.02));
        let found = drift(&s, &moderate());
        assert_eq!(
            summary(&found),
            [
                ("drift:smith:core:BND".to_owned(), Severity::Warning),
                ("drift:smith:core:GLD".to_owned(), Severity::Warning),
            ]
        );
        assert_eq!(found[0].values["band"], "0.02");
        s.portfolios[0].drift_threshold = Some(dec!(0.015));
        let found = drift(&s, &moderate());
        assert_eq!(
            found.last().map(|f| (f.key.as_str(), f.values["band"].as_str())),
            Some(("drift:smith:core", "0.03"))
        );
    }

    #[test]
    fn holdings_count_under_their_asset_class_when_the_class_is_targeted() {
        let mut s = snapshot();
        // Equity 500 + 200 = 700 of 1,000 against 60%: +10 points, past 5 and not past 10.
        // The total drift is (10 + 10) / 2 = 10 points, not past the 10-point band.
        s.portfolios.push(portfolio(
            "core",
            &[("equity", dec!(0.6)), ("fixed_income", dec!(0.4))],
            vec![
                holding("VTI", dec!(500), Some(AssetClass::Equity)),
                holding("VXUS", dec!(200), Some(AssetClass::Equity)),
                holding("BND", dec!(300), Some(AssetClass::FixedIncome)),
            ],
        ));
        assert_eq!(
            summary(&drift(&s, &moderate())),
            [
                ("drift:smith:core:equity".to_owned(), Severity::Warning),
                ("drift:smith:core:fixed_income".to_owned(), Severity::Warning),
            ]
        );
        s.portfolios[0].target.clear();
        assert!(drift(&s, &moderate()).is_empty(), "no target, no drift");
    }

    #[test]
    fn drawdown_is_measured_from_the_high_water_mark_and_names_its_day() {
        let mut s = snapshot();
        // Peak 120 on 2026-01-02, now 96: 1 - 96/120 = 20%, past 15% and not past 30%.
        s.history = vec![
            day("2026-01-01", dec!(100), dec!(0)),
            day("2026-01-02", dec!(120), dec!(0)),
            day("2026-01-03", dec!(110), dec!(0)),
            day("2026-01-05", dec!(96), dec!(0)),
        ];
        let found = drawdown(&s, &moderate());
        assert_eq!(summary(&found), [("drawdown:smith:household".to_owned(), Severity::Warning)]);
        assert_eq!(found[0].values["drawdown"], "0.2");
        assert_eq!(found[0].values["peak_date"], "2026-01-02");
        assert_eq!(
            found[0].message,
            "The household is 20% below its high-water mark of 2026-01-02, net of deposits and withdrawals (worth \
             $120.00 then, $96.00 on 2026-01-05), beyond 15%."
        );
        // Conservative (10%): 20% is twice the threshold, not past it; past 2 × 9.5% it is critical.
        let mut t = Thresholds::of(Profile::Conservative);
        assert_eq!(drawdown(&s, &t)[0].severity, Severity::Warning);
        t.set("drawdown", "0.095").unwrap();
        assert_eq!(drawdown(&s, &t)[0].severity, Severity::Critical);
    }

    #[test]
    fn a_withdrawal_is_not_a_fall_and_a_deposit_is_not_a_new_peak() {
        let mut s = snapshot();
        let mut p = portfolio("core", &[], Vec::new());
        // Day 2: 60 of 120 withdrawn, the rest unchanged: (60 + 60) / 120 - 1 = 0.
        // Day 3: 150 deposited, the whole unchanged: 210 / (60 + 150) - 1 = 0.
        // Day 4: 210 → 168: -20%.
        p.history = vec![
            day("2026-02-02", dec!(120), dec!(0)),
            day("2026-02-03", dec!(60), dec!(-60)),
            day("2026-02-04", dec!(210), dec!(150)),
            day("2026-02-05", dec!(168), dec!(0)),
        ];
        let (peak, dd) = high_water_mark(&p.history).unwrap();
        assert_eq!((peak.date, dd), (d("2026-02-02"), dec!(0.2)));
        s.portfolios.push(p);
        let found = drawdown(&s, &moderate());
        assert_eq!(summary(&found), [("drawdown:smith:core".to_owned(), Severity::Warning)]);
        s.portfolios[0].history.truncate(3);
        assert!(drawdown(&s, &moderate()).is_empty(), "flows alone make no drawdown");
    }

    #[test]
    fn the_present_value_discounts_over_days_over_365() {
        use crate::goals::present_value;
        // 365 days at 5%: 100,000 / 1.05 = 95,238.10.
        let pv = present_value(dec!(100000), dec!(0.05), d("2026-01-01"), d("2027-01-01"));
        assert_eq!(pv.round_dp(2), dec!(95238.10));
        assert_eq!(present_value(dec!(100000), dec!(0.05), d("2026-01-01"), d("2025-06-01")), dec!(100000));
    }

    #[test]
    fn a_goal_below_both_floors_is_critical_and_below_one_is_a_warning() {
        let mut s = Snapshot::new("smith", d("2026-01-01"));
        let goal = |name: &str, current: Decimal, probability: Option<Decimal>| GoalStatus {
            goal: Goal {
                name: name.into(),
                target: dec!(100000),
                date: d("2027-01-01"),
                accounts: Vec::new(),
                monthly_contribution: Decimal::ZERO,
                expected_return: None,
                volatility: None,
            },
            current,
            expected_return: dec!(0.05),
            volatility: dec!(0.1),
            probability,
        };
        // Present value 95,238.10 (above). College: 80,000 × 1.05 / 100,000 = 0.84 < 0.90 and
        // 70% < 75%: critical. Car: 0.945 funded, 80%: fine. House: 0.945 funded but 50%: warning.
        // Boat: 0.84 funded, no probability: warning.
        s.goals = vec![
            goal("college", dec!(80000), Some(dec!(0.70))),
            goal("car", dec!(90000), Some(dec!(0.80))),
            goal("house", dec!(90000), Some(dec!(0.50))),
            goal("boat", dec!(80000), None),
        ];
        let found = goal_progress(&s, &moderate());
        assert_eq!(
            summary(&found),
            [
                ("goal_progress:smith:college".to_owned(), Severity::Critical),
                ("goal_progress:smith:house".to_owned(), Severity::Warning),
                ("goal_progress:smith:boat".to_owned(), Severity::Warning),
            ]
        );
        assert_eq!(found[0].values["funded_ratio"], "0.84");
        assert_eq!(found[0].values["present_value"], "95238.1");
        assert_eq!(
            found[0].message,
            "Goal college ($100000.00 by 2027-01-01) is 84% funded ($80000.00 of a present value of $95238.10), \
             below 90%; the chance of reaching it is 70%, below 75%."
        );
        assert!(!found[2].values.contains_key("probability"), "none was computed");
        // On its date, an underfunded goal is critical even with no probability.
        s.as_of = d("2027-01-01");
        s.goals.truncate(1);
        s.goals[0].probability = None;
        assert_eq!(goal_progress(&s, &moderate())[0].severity, Severity::Critical);
        // Planned contributions count: $1,000 a month for 12 months at 5% are worth
        // 1000 × (1 − 1.0040741^−12) / 0.0040741 = $11,688.17 today, so 80,000 of savings
        // make (80,000 + 11,688.17) / 95,238.10 = 96.27% funded: above the floor.
        s.as_of = d("2026-01-01");
        s.goals[0].goal.monthly_contribution = dec!(1000);
        s.goals[0].probability = Some(dec!(0.70));
        let found = goal_progress(&s, &moderate());
        assert_eq!(found[0].values["contributions_value"], "11688.17");
        assert_eq!(found[0].values["funded_ratio"], "0.962726");
        assert_eq!(found[0].severity, Severity::Warning, "only the probability is short");
        assert!(
            found[0].message.contains("($80000.00 and $1000.00 a month for 12 months, worth $11688.17 of"),
            "{}",
            found[0].message
        );
    }

    fn lot(id: &str, account: &str, symbol: &str, acquired: &str, cost: Decimal, value: Decimal, taxable: bool) -> Lot {
        Lot {
            id: id.into(),
            account: account.into(),
            symbol: symbol.into(),
            acquired: d(acquired),
            cost,
            value,
            taxable,
        }
    }

    #[test]
    fn tax_losses_list_short_term_lots_first_and_name_a_wash_sale_purchase() {
        let mut s = snapshot(); // 2026-06-01
        s.lots = vec![
            // Long-term (held past 2026-01-15): loss 3,000, 15%: listed last.
            lot("T1", "brokerage", "VTI", "2025-01-15", dec!(20000), dec!(17000), true),
            // Short-term: loss 1,500, 15%.
            lot("T2", "brokerage", "ARKK", "2026-01-10", dec!(10000), dec!(8500), true),
            // Loss 1,200 but only 2.4% of cost: not listed.
            lot("T3", "brokerage", "BND", "2025-02-01", dec!(50000), dec!(48800), true),
            // In an IRA: not listed, but its purchase on 2026-05-20 makes selling T2 a wash sale.
            lot("T4", "ira", "ARKK", "2026-05-20", dec!(10000), dec!(5000), false),
            // Loss 800, 16%: under $1,000, not listed.
            lot("T5", "brokerage", "TSLA", "2025-03-01", dec!(5000), dec!(4200), true),
            // Held exactly one year on 2026-06-01: still short-term (IRC §1222, "not more than 1
            // year"); loss 2,000, 50%.
            lot("T6", "brokerage", "QQQ", "2025-06-01", dec!(4000), dec!(2000), true),
        ];
        let found = tax_loss(&s, &moderate());
        assert_eq!(
            summary(&found),
            [
                ("tax_loss:smith:brokerage:T6".to_owned(), Severity::Info),
                ("tax_loss:smith:brokerage:T2".to_owned(), Severity::Info),
                ("tax_loss:smith:brokerage:T1".to_owned(), Severity::Info),
            ]
        );
        assert_eq!(found[0].values["term"], "short");
        assert_eq!(found[2].values["term"], "long");
        assert_eq!(found[1].values["wash_sale_purchase"], "2026-05-20");
        assert!(!found[0].values.contains_key("wash_sale_purchase"));
        assert_eq!(
            found[1].message,
            "Lot T2 of ARKK in brokerage has an unrealized short-term loss of $1500.00 (15% of its cost of \
             $10000.00); ARKK was bought on 2026-05-20, so a sale now would be a wash sale (IRC §1091)."
        );
    }

    #[test]
    fn var_and_cvar_above_their_limits_are_breaches() {
        let mut s = snapshot();
        let mut core = portfolio("core", &[], Vec::new());
        // VaR 2.5% > 2% (not past 4%): warning; CVaR 6.5% > 2 × 3%: critical.
        core.risk = Some(RiskFigures { var: Some(dec!(0.025)), cvar: Some(dec!(0.065)) });
        let mut bonds = portfolio("bonds", &[], Vec::new());
        bonds.risk = Some(RiskFigures { var: None, cvar: Some(dec!(0.01)) });
        s.portfolios = vec![core, bonds];
        let found = risk_breach(&s, &moderate());
        assert_eq!(
            summary(&found),
            [
                ("risk_breach:smith:core:var".to_owned(), Severity::Warning),
                ("risk_breach:smith:core:cvar".to_owned(), Severity::Critical),
            ]
        );
        assert_eq!(
            found[0].message,
            "The core portfolio's one-day 95% value at risk is 2.5% of its value, above the limit of 2%."
        );
    }

    #[test]
    fn one_symbols_share_of_the_household_passes_over_cash_and_diversified_funds() {
        let mut s = snapshot();
        // Of 100,000: AAPL 30% (moderate 15%: warning; conservative 10%: critical), MSFT 5%,
        // VTI 50% (diversified) and cash 15% are passed over.
        s.holdings = vec![
            holding("AAPL", dec!(20000), Some(AssetClass::Equity)),
            holding("AAPL", dec!(10000), Some(AssetClass::Equity)),
            Holding { diversified: true, ..holding("VTI", dec!(50000), Some(AssetClass::Equity)) },
            holding("CASH", dec!(15000), Some(AssetClass::Cash)),
            holding("MSFT", dec!(5000), None),
        ];
        let found = concentration(&s, &moderate());
        assert_eq!(summary(&found), [("concentration:smith:AAPL".to_owned(), Severity::Warning)]);
        assert_eq!(found[0].values["share"], "0.3");
        assert_eq!(concentration(&s, &Thresholds::of(Profile::Conservative))[0].severity, Severity::Critical);
    }

    #[test]
    fn cash_is_drag_only_after_it_has_stayed_high_for_the_minimum_days() {
        let mut s = snapshot();
        // 12% cash (above 7%) from 2026-01-02; on 2026-02-01 that is 30 days: a warning (not past 14%).
        s.cash = vec![
            CashDay { date: d("2026-01-01"), cash: dec!(5000), total: dec!(100000) },
            CashDay { date: d("2026-01-02"), cash: dec!(12000), total: dec!(100000) },
            CashDay { date: d("2026-01-15"), cash: dec!(12000), total: dec!(100000) },
            CashDay { date: d("2026-02-01"), cash: dec!(12000), total: dec!(100000) },
        ];
        let found = cash_drag(&s, &moderate());
        assert_eq!(summary(&found), [("cash_drag:smith".to_owned(), Severity::Warning)]);
        assert_eq!((found[0].values["since"].as_str(), found[0].values["days"].as_str()), ("2026-01-02", "30"));
        s.cash[3].date = d("2026-01-31");
        assert!(cash_drag(&s, &moderate()).is_empty(), "29 days is not yet drag");
    }

    #[test]
    fn a_large_flow_is_above_both_the_share_and_the_amount() {
        let mut s = Snapshot::new("smith", d("2026-03-04"));
        s.history = vec![
            // Before the 7 days (2026-02-26 to 2026-03-04): not looked at.
            day("2026-02-20", dec!(200000), dec!(-50000)),
            day("2026-03-01", dec!(200000), dec!(0)),
            // 30,000 out of 200,000: 15%, past 10%: warning.
            day("2026-03-02", dec!(170000), dec!(-30000)),
            // 15,000 in of 170,000: 8.8%: not large.
            day("2026-03-03", dec!(185000), dec!(15000)),
            // 120,000 in of 185,000: 64.9%, past 20%: critical.
            day("2026-03-04", dec!(305000), dec!(120000)),
        ];
        let found = large_flow(&s, &moderate());
        assert_eq!(
            summary(&found),
            [
                ("large_flow:smith:2026-03-02".to_owned(), Severity::Warning),
                ("large_flow:smith:2026-03-04".to_owned(), Severity::Critical),
            ]
        );
        assert_eq!(found[0].values["share"], "0.15");
        assert_eq!(
            found[0].message,
            "A net withdrawal of $30000.00 on 2026-03-02 moved 15% of the household's $200000.00 out, above 10% and \
             $10000.00."
        );
        // 9,000 in of 50,000 is 18%, but not above $10,000.
        s.history = vec![day("2026-03-03", dec!(50000), dec!(0)), day("2026-03-04", dec!(59000), dec!(9000))];
        assert!(large_flow(&s, &moderate()).is_empty());
    }

    fn regimes(regimes: &[(&str, MarketRegime)]) -> RegimeSeries {
        RegimeSeries {
            benchmark: "SPY".into(),
            days: regimes
                .iter()
                .map(|(date, r)| RegimeDay { date: d(date), regime: *r, high_volatility: None })
                .collect(),
        }
    }

    #[test]
    fn a_regime_change_is_graded_by_the_regime_entered() {
        let mut s = snapshot();
        let mut series = regimes(&[("2026-03-02", MarketRegime::CalmBull), ("2026-03-03", MarketRegime::VolatileBear)]);
        series.days[1].high_volatility = Some(dec!(0.93));
        s.regime = Some(series);
        let found = regime(&s, &moderate());
        assert_eq!(summary(&found), [("regime:smith:SPY:2026-03-03".to_owned(), Severity::Critical)]);
        assert_eq!(
            found[0].message,
            "The SPY market regime changed from calm_bull on 2026-03-02 to volatile_bear on 2026-03-03 (probability \
             of the high-volatility state 93%)."
        );
        s.regime = Some(regimes(&[("2026-03-02", MarketRegime::CalmBear), ("2026-03-03", MarketRegime::CalmBull)]));
        assert_eq!(regime(&s, &moderate())[0].severity, Severity::Info);
        s.regime = Some(regimes(&[("2026-03-02", MarketRegime::CalmBull), ("2026-03-03", MarketRegime::VolatileBull)]));
        assert_eq!(regime(&s, &moderate())[0].severity, Severity::Warning);
        s.regime = Some(regimes(&[("2026-03-02", MarketRegime::CalmBull), ("2026-03-03", MarketRegime::CalmBull)]));
        assert!(regime(&s, &moderate()).is_empty(), "no change, no finding");
    }

    #[test]
    fn evaluate_runs_every_rule_in_order() {
        let mut s = snapshot();
        s.holdings = vec![holding("AAPL", dec!(30000), None), holding("VTI", dec!(70000), None)];
        s.regime = Some(regimes(&[("2026-05-29", MarketRegime::CalmBull), ("2026-06-01", MarketRegime::CalmBear)]));
        s.portfolios.push(portfolio("core", &[("VTI", dec!(1))], vec![holding("AAPL", dec!(30000), None)]));
        let rules: Vec<Rule> = evaluate(&s, &moderate()).iter().map(|f| f.rule).collect();
        // Drift: AAPL untargeted at 100% and VTI at 0% of 100%; concentration: AAPL 30%, VTI 70%.
        assert_eq!(
            rules,
            [Rule::Drift, Rule::Drift, Rule::Drift, Rule::Concentration, Rule::Concentration, Rule::Regime]
        );
    }

    #[test]
    fn profiles_differ_where_risk_tolerance_matters() {
        let [c, m, a] = Profile::ALL.map(Thresholds::of);
        assert_eq!(m.drift_asset, portfolio::DEFAULT_DRIFT_THRESHOLD, "the portfolio's own default");
        for name in ["drift_asset", "drift_total", "drawdown", "var_limit", "cvar_limit", "concentration"] {
            let [c, m, a] = [c, m, a].map(|t| Decimal::from_str(&t.get(name).unwrap()).unwrap());
            assert!(c < m && m < a, "{name}: conservative {c} < moderate {m} < aggressive {a}");
        }
        assert!(c.goal_probability > m.goal_probability && m.goal_probability > a.goal_probability);
        assert!(c.cash_share > a.cash_share, "conservative households keep more cash on purpose");
        assert_eq!((c.tax_loss_amount, a.tax_loss_amount), (dec!(1000), dec!(1000)));
        assert_eq!("aggressive".parse::<Profile>().unwrap(), Profile::Aggressive);
        assert!("bold".parse::<Profile>().is_err());
    }

    #[test]
    fn a_setting_is_overridden_by_name_and_a_bad_value_names_it() {
        let mut t = moderate();
        t.set("drawdown", "0.2").unwrap();
        t.set("cash_days", "45").unwrap();
        assert_eq!((t.drawdown, t.cash_days), (dec!(0.2), 45));
        assert_eq!(t.get("drawdown").as_deref(), Some("0.2"));
        let before = t;
        let field = |e: DomainError| match e {
            DomainError::Rejected { field, problem, .. } => (field, problem),
            other => panic!("{other}"),
        };
        assert_eq!(
            field(t.set("drawdown", "1.5").unwrap_err()),
            ("drawdown".to_owned(), "1.5 is out of range: a fraction above 0 and at most 1 (0.05 for 5%)".to_owned())
        );
        assert_eq!(field(t.set("var_limit", "lots").unwrap_err()).0, "var_limit");
        assert_eq!(field(t.set("cash_days", "-3").unwrap_err()).0, "cash_days");
        assert_eq!(field(t.set("tax_loss_amount", "-1").unwrap_err()).0, "tax_loss_amount");
        let (name, problem) = field(t.set("drift", "0.1").unwrap_err());
        assert_eq!(name, "drift");
        assert!(problem.starts_with("no such setting; the settings are drift_asset, drift_relative"), "{problem}");
        assert_eq!(t, before, "a refused value changes nothing");
        // Every setting round-trips through its text: moderate set to aggressive's is aggressive.
        let aggressive = Thresholds::of(Profile::Aggressive);
        let mut t = moderate();
        for (name, value) in aggressive.settings() {
            t.set(name, &value).unwrap();
        }
        assert_eq!(t, aggressive);
        assert_eq!(aggressive.settings().len(), Thresholds::NAMES.len());
    }

    #[test]
    fn the_latest_statement_of_each_holding_decides_the_reconciliation() {
        use crate::ledger::balances::{tolerance, Assertion, Checked};
        let checked = |account: &str, date: &str, symbol: Option<&str>, asserted: Decimal, actual: Decimal| {
            let tolerance = tolerance(asserted);
            Checked {
                assertion: Assertion {
                    account: account.into(),
                    date: date.parse().unwrap(),
                    symbol: symbol.map(str::to_owned),
                    quantity: asserted,
                    source: Some("schwab-2025-12.csv".into()),
                },
                actual,
                difference: actual - asserted,
                tolerance,
                holds: (actual - asserted).abs() <= tolerance,
            }
        };
        let found = reconciliation(
            "smith",
            &[
                // VTI disagreed on the 1st but agrees on the 2nd: nothing.
                checked("Brokerage", "2025-12-01", Some("VTI"), dec!(100), dec!(90)),
                checked("Brokerage", "2025-12-02", Some("VTI"), dec!(100), dec!(100)),
                // BND: 10 short in the ledger.
                checked("Brokerage", "2025-12-02", Some("BND"), dec!(50), dec!(40)),
                // Cash within the statement's tolerance (half a cent): nothing.
                checked("Brokerage", "2025-12-02", None, dec!(2500.00), dec!(2500.004)),
                // A position the ledger does not know at all: critical.
                checked("IRA", "2025-12-02", Some("VXUS"), dec!(12), dec!(0)),
            ],
        );
        let keys: Vec<(&str, Severity)> = found.iter().map(|f| (f.key.as_str(), f.severity)).collect();
        assert_eq!(
            keys,
            [
                ("reconciliation:smith:Brokerage:BND", Severity::Warning),
                ("reconciliation:smith:IRA:VXUS", Severity::Critical)
            ]
        );
        assert_eq!(found[0].values["difference"], "-10");
        assert!(found[0].message.contains("schwab-2025-12.csv says 50 shares"), "{}", found[0].message);
        assert_eq!(Rule::Reconciliation.as_str().parse::<Rule>().unwrap(), Rule::Reconciliation);
        assert!(!Rule::ALL.contains(&Rule::Reconciliation) && Rule::Reconciliation.function().is_none());
    }

    #[test]
    fn rules_and_severities_have_snake_case_names_and_an_order() {
        for rule in Rule::ALL {
            assert_eq!(rule.as_str().parse::<Rule>().unwrap(), rule);
            assert_eq!(serde_json::to_string(&rule).unwrap(), format!("\"{}\"", rule.as_str()));
        }
        assert_eq!(Rule::TaxLoss.as_str(), "tax_loss");
        assert!("taxes".parse::<Rule>().is_err());
        assert!(Severity::Info < Severity::Warning && Severity::Warning < Severity::Critical);
        assert_eq!(serde_json::to_string(&Severity::Critical).unwrap(), "\"critical\"");
        assert_eq!(serde_json::to_string(&MarketRegime::VolatileBear).unwrap(), "\"volatile_bear\"");
    }
}
