//! The portfolio aggregate: one stream per portfolio (`portfolio-<household>-<name>`), spanning
//! accounts of one household, with a target allocation (weights by asset class or symbol that
//! sum to exactly 1), a drift threshold and an auto-rebalance flag. Its stream version is its
//! optimistic lock: an edit made against an old version is refused.

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::DomainError;

/// The schema version of every portfolio event type this code writes.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PortfolioEvent {
    PortfolioCreated { household: String, name: String, accounts: Vec<String> },
    AccountsChanged { accounts: Vec<String> },
    TargetAllocationSet { weights: BTreeMap<String, Decimal> },
    DriftThresholdSet { threshold: Decimal },
    AutoRebalanceSet { enabled: bool },
}

impl PortfolioEvent {
    pub fn event_type(&self) -> &'static str {
        match self {
            Self::PortfolioCreated { .. } => "PortfolioCreated",
            Self::AccountsChanged { .. } => "AccountsChanged",
            Self::TargetAllocationSet { .. } => "TargetAllocationSet",
            Self::DriftThresholdSet { .. } => "DriftThresholdSet",
            Self::AutoRebalanceSet { .. } => "AutoRebalanceSet",
        }
    }
}

/// The drift threshold of a new portfolio: 5 percentage points.
pub const DEFAULT_DRIFT_THRESHOLD: Decimal = Decimal::from_parts(5, 0, 0, false, 2);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Portfolio {
    pub household: Option<String>,
    pub name: Option<String>,
    pub accounts: Vec<String>,
    pub target: BTreeMap<String, Decimal>,
    pub drift_threshold: Decimal,
    /// The threshold was set (`DriftThresholdSet`), not left at the default: the monitoring
    /// rules then take it as the portfolio's band in place of the household's.
    #[serde(default)]
    pub own_threshold: bool,
    pub auto_rebalance: bool,
}

impl Default for Portfolio {
    fn default() -> Self {
        Self {
            household: None,
            name: None,
            accounts: Vec::new(),
            target: BTreeMap::new(),
            drift_threshold: DEFAULT_DRIFT_THRESHOLD,
            own_threshold: false,
            auto_rebalance: false,
        }
    }
}

pub fn evolve(mut p: Portfolio, e: &PortfolioEvent) -> Portfolio {
    match e {
        PortfolioEvent::PortfolioCreated { household, name, accounts } => {
            p.household = Some(household.clone());
            p.name = Some(name.clone());
            p.accounts.clone_from(accounts);
        }
        PortfolioEvent::AccountsChanged { accounts } => p.accounts.clone_from(accounts),
        PortfolioEvent::TargetAllocationSet { weights } => p.target.clone_from(weights),
        PortfolioEvent::DriftThresholdSet { threshold } => {
            p.drift_threshold = *threshold;
            p.own_threshold = true;
        }
        PortfolioEvent::AutoRebalanceSet { enabled } => p.auto_rebalance = *enabled,
    }
    p
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortfolioCommand {
    Create { household: String, name: String, accounts: Vec<String> },
    SetAccounts(Vec<String>),
    SetTarget(BTreeMap<String, Decimal>),
    SetDriftThreshold(Decimal),
    SetAutoRebalance(bool),
}

fn refuse(field: &str, problem: impl Into<String>) -> DomainError {
    DomainError::Rejected { line: None, field: field.to_owned(), problem: problem.into() }
}

/// The portfolio aggregate as a decider; a command comes with the labels of the household's
/// accounts (looked up by the handler: the explicit port).
pub struct PortfolioDecider;

impl crate::decider::Decider for PortfolioDecider {
    type State = Portfolio;
    type Command = (PortfolioCommand, BTreeSet<String>);
    type Event = PortfolioEvent;
    const SCHEMA_VERSION: u32 = SCHEMA_VERSION;

    fn decide(p: &Portfolio, (cmd, accounts): &Self::Command) -> Result<Vec<PortfolioEvent>, DomainError> {
        decide(p, cmd, accounts)
    }

    fn evolve(state: Portfolio, event: &PortfolioEvent) -> Portfolio {
        evolve(state, event)
    }

    fn event_type(event: &PortfolioEvent) -> &'static str {
        event.event_type()
    }
}

/// `household_accounts` are the labels of the household's accounts (looked up by the handler).
pub fn decide(
    p: &Portfolio,
    cmd: &PortfolioCommand,
    household_accounts: &BTreeSet<String>,
) -> Result<Vec<PortfolioEvent>, DomainError> {
    let check_accounts = |accounts: &[String]| {
        if accounts.is_empty() {
            return Err(refuse("accounts", "a portfolio spans at least one account"));
        }
        match accounts.iter().find(|a| !household_accounts.contains(*a)) {
            Some(a) => Err(refuse("accounts", format!("the household has no account {a:?}"))),
            None => Ok(()),
        }
    };
    if let PortfolioCommand::Create { household, name, accounts } = cmd {
        if p.name.is_some() {
            return Err(refuse("name", format!("portfolio {name:?} already exists")));
        }
        check_accounts(accounts)?;
        return Ok(vec![PortfolioEvent::PortfolioCreated {
            household: household.clone(),
            name: name.clone(),
            accounts: accounts.clone(),
        }]);
    }
    if p.name.is_none() {
        return Err(DomainError::not_found("portfolio", "no such portfolio"));
    }
    let event = match cmd {
        PortfolioCommand::Create { .. } => return Err(refuse("name", "portfolio already exists")),
        PortfolioCommand::SetAccounts(accounts) => {
            check_accounts(accounts)?;
            PortfolioEvent::AccountsChanged { accounts: accounts.clone() }
        }
        PortfolioCommand::SetTarget(weights) => {
            if weights.is_empty() {
                return Err(refuse("weights", "at least one weight is needed"));
            }
            if let Some((k, w)) = weights.iter().find(|(_, w)| **w <= Decimal::ZERO || **w > Decimal::ONE) {
                return Err(refuse("weights", format!("{k}={w}: each weight must be above 0 and at most 1")));
            }
            let sum: Decimal = weights.values().sum();
            if sum != Decimal::ONE {
                return Err(refuse("weights", format!("weights sum to {sum}, not 1")));
            }
            PortfolioEvent::TargetAllocationSet { weights: weights.clone() }
        }
        PortfolioCommand::SetDriftThreshold(t) => {
            if *t <= Decimal::ZERO || *t >= Decimal::ONE {
                return Err(refuse("drift_threshold", "must be above 0 and below 1 (0.05 for 5 points)"));
            }
            PortfolioEvent::DriftThresholdSet { threshold: *t }
        }
        PortfolioCommand::SetAutoRebalance(enabled) => PortfolioEvent::AutoRebalanceSet { enabled: *enabled },
    };
    Ok(vec![event])
}

/// Places kept for weights and drift.
pub const WEIGHT_DP: u32 = 6;

/// One asset of a portfolio against its target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetWeight {
    pub asset: String,
    /// Market value at the latest prices.
    pub value: Decimal,
    /// `value / total`, to [`WEIGHT_DP`] places (0 when nothing is valued).
    pub weight: Decimal,
    /// The target weight (0 for an asset held but not targeted).
    pub target: Decimal,
    /// `weight - target`.
    pub drift: Decimal,
    /// The asset's drift is beyond the portfolio's threshold.
    pub beyond_threshold: bool,
}

/// A portfolio's valuation against its target allocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocation {
    /// Every asset held or targeted, by name.
    pub assets: Vec<AssetWeight>,
    pub total: Decimal,
    /// Positions held without a price (not valued).
    pub unpriced: usize,
    /// The largest absolute drift.
    pub max_drift: Decimal,
    /// Any asset's drift is beyond the threshold. Drift means something only against a
    /// target with something valued: without either, never.
    pub needs_rebalancing: bool,
}

/// The market value per symbol of the positions `(account, symbol, quantity)` held in the
/// portfolio's accounts, at `price` of each symbol; and how many had no price.
pub fn values<'a>(
    p: &Portfolio,
    positions: impl IntoIterator<Item = (&'a str, &'a str, Decimal)>,
    price: impl Fn(&str) -> Option<Decimal>,
) -> (BTreeMap<String, Decimal>, usize) {
    let mut by_asset: BTreeMap<String, Decimal> = BTreeMap::new();
    let mut unpriced = 0;
    for (account, symbol, quantity) in positions {
        if !p.accounts.iter().any(|a| a == account) {
            continue;
        }
        match price(symbol) {
            Some(close) => *by_asset.entry(symbol.to_owned()).or_default() += close * quantity,
            None => unpriced += 1,
        }
    }
    (by_asset, unpriced)
}

/// Weighs values per asset against the portfolio's target and drift threshold.
pub fn allocation(p: &Portfolio, mut by_asset: BTreeMap<String, Decimal>, unpriced: usize) -> Allocation {
    for asset in p.target.keys() {
        by_asset.entry(asset.clone()).or_default();
    }
    let total: Decimal = by_asset.values().sum();
    let measured = !p.target.is_empty() && !total.is_zero();
    let mut max_drift = Decimal::ZERO;
    let assets = by_asset
        .into_iter()
        .map(|(asset, value)| {
            let weight = weight(value, total);
            let target = p.target.get(&asset).copied().unwrap_or_default();
            let drift = weight - target;
            max_drift = max_drift.max(drift.abs());
            AssetWeight {
                beyond_threshold: measured && drift.abs() > p.drift_threshold,
                asset,
                value,
                weight,
                target,
                drift,
            }
        })
        .collect();
    Allocation { assets, total, unpriced, max_drift, needs_rebalancing: measured && max_drift > p.drift_threshold }
}

/// `value / total` to [`WEIGHT_DP`] places; 0 when the total is.
pub fn weight(value: Decimal, total: Decimal) -> Decimal {
    if total.is_zero() {
        Decimal::ZERO
    } else {
        (value / total).round_dp(WEIGHT_DP)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accounts() -> BTreeSet<String> {
        ["a".to_owned(), "b".to_owned()].into()
    }

    fn created() -> Portfolio {
        let cmd = PortfolioCommand::Create { household: "h".into(), name: "core".into(), accounts: vec!["a".into()] };
        decide(&Portfolio::default(), &cmd, &accounts()).unwrap().iter().fold(Portfolio::default(), evolve)
    }

    #[test]
    fn target_weights_must_sum_to_exactly_one() {
        let w: BTreeMap<String, Decimal> =
            [("VTI".to_owned(), Decimal::new(6, 1)), ("BND".to_owned(), Decimal::new(35, 2))].into();
        let err = decide(&created(), &PortfolioCommand::SetTarget(w), &accounts()).unwrap_err();
        assert_eq!(err.to_string(), "weights: weights sum to 0.95, not 1");
    }

    #[test]
    fn a_portfolio_spans_only_the_households_accounts() {
        let err = decide(&created(), &PortfolioCommand::SetAccounts(vec!["zz".into()]), &accounts()).unwrap_err();
        assert_eq!(err.to_string(), "accounts: the household has no account \"zz\"");
    }

    #[test]
    fn a_new_portfolio_drifts_at_five_points_until_told_otherwise() {
        assert_eq!(created().drift_threshold, Decimal::new(5, 2));
    }

    #[test]
    fn allocation_weighs_the_portfolios_accounts_against_the_target() {
        let mut p = created();
        p.target = [("VTI".to_owned(), Decimal::new(6, 1)), ("BND".to_owned(), Decimal::new(4, 1))].into();
        let positions = [
            ("a", "VTI", Decimal::from(10)),
            ("a", "BND", Decimal::from(10)),
            ("a", "NEW", Decimal::ONE),
            ("z", "VTI", Decimal::from(99)),
        ];
        let price = |s: &str| match s {
            "VTI" => Some(Decimal::from(60)),
            "BND" => Some(Decimal::from(30)),
            _ => None,
        };
        let (by_asset, unpriced) = values(&p, positions, price);
        assert_eq!(unpriced, 1, "NEW has no price; account z is not the portfolio's");
        let a = allocation(&p, by_asset, unpriced);
        assert_eq!(a.total, Decimal::from(900));
        let vti = &a.assets[1];
        assert_eq!(
            (vti.asset.as_str(), vti.weight, vti.drift),
            ("VTI", Decimal::new(666_667, 6), Decimal::new(66_667, 6))
        );
        assert!(vti.beyond_threshold && a.needs_rebalancing, "6.7 points off a 5-point threshold");
        assert_eq!(a.max_drift, Decimal::new(66_667, 6));
        let none = allocation(&created(), BTreeMap::new(), 0);
        assert!(!none.needs_rebalancing && none.assets.is_empty(), "no target, no drift");
    }
}
