//! A household's goals and how each stands (`cairn goals list`, `GET
//! /v1/households/{h}/goals`, and the goal-progress rule): the value of its accounts today,
//! the funded ratio at its expected return (`domain::goals::funding`), and the probability of
//! reaching it from the Monte Carlo engine (`simulations::goals`).
//!
//! A goal's expected return and volatility are its own when it has them, else the household's
//! `goal_return` and `goal_volatility` settings (`cairn rules set`), which the caller passes
//! in as the household's thresholds. The probability is reproducible: its paths are seeded
//! from the household and the goal's name.

use chrono::NaiveDate;
use domain::monitoring::{GoalStatus, Thresholds};
use rust_decimal::prelude::*;
use serde::Serialize;

use crate::reports::{money, Report};

/// The probability to four places (0.7525), as the engine's estimate is good to about 0.01.
const PROBABILITY_PLACES: u32 = 4;

/// A stable seed for a goal's paths (FNV-1a over the household and the goal's name).
pub(crate) fn seed(household: &str, goal: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in household.bytes().chain([0]).chain(goal.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Resolves each goal's expected return and volatility (its own, else `t`'s) and estimates
/// its on-track probability on `as_of` with `paths` paths; a due goal has none. CPU work of a
/// few milliseconds a goal: callers off the async runtime's threads run it there.
pub fn assess(household: &str, goals: &mut [GoalStatus], t: &Thresholds, as_of: NaiveDate, paths: usize) {
    for g in goals {
        *g = GoalStatus::new(g.goal.clone(), g.current, t);
        let Some(f) = g.funding(as_of) else { continue };
        let days = (g.goal.date - as_of).num_days();
        let run = simulations::goals::GoalRun {
            current: g.current.max(Decimal::ZERO).to_f64().unwrap_or(0.0),
            target: g.goal.target.to_f64().unwrap_or(f64::MAX),
            years: days as f64 / 365.0,
            months: f.months,
            monthly_contribution: g.goal.monthly_contribution.to_f64().unwrap_or(0.0),
            expected_return: g.expected_return.to_f64().unwrap_or(0.0),
            volatility: g.volatility.to_f64().unwrap_or(0.0),
            paths,
            seed: seed(household, &g.goal.name),
        };
        // The goal's fields were checked when it was set, so the engine refuses none of them.
        g.probability = simulations::goals::on_track(&run)
            .ok()
            .flatten()
            .and_then(Decimal::from_f64)
            .map(|p| p.round_dp(PROBABILITY_PLACES));
    }
}

/// [`assess`] with the default number of paths on a blocking thread, giving the goals back.
pub async fn assessed(
    household: &str,
    mut goals: Vec<GoalStatus>,
    t: &Thresholds,
    as_of: NaiveDate,
) -> projections::Result<Vec<GoalStatus>> {
    if goals.is_empty() {
        return Ok(goals);
    }
    let (key, t) = (household.to_owned(), *t);
    tokio::task::spawn_blocking(move || {
        assess(&key, &mut goals, &t, as_of, simulations::goals::PATHS);
        goals
    })
    .await
    .map_err(|e| projections::Error::Config(format!("the goal simulation failed: {e}")))
}

/// One goal and where it stands, as both shells answer it: amounts in US dollars with two
/// decimals, ratios and probabilities as decimal fractions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct GoalProgress {
    pub name: String,
    pub target: String,
    pub date: NaiveDate,
    /// The accounts set aside for it; empty: every account.
    pub accounts: Vec<String>,
    pub monthly_contribution: String,
    /// Its own expected return and volatility, when it has them.
    pub expected_return: Option<String>,
    pub volatility: Option<String>,
    /// What its accounts (or the household) are worth at the latest close.
    pub current: String,
    /// The return and volatility it was assessed at (its own, else the household's
    /// `goal_return` and `goal_volatility`).
    pub assumed_return: String,
    pub assumed_volatility: String,
    /// The target's present value at the assumed return.
    pub present_value: String,
    /// The monthly contributions still to come, and their present value.
    pub months: u32,
    pub contributions_value: String,
    /// (current + contributions_value) / present_value, six decimals.
    pub funded_ratio: String,
    /// The share of simulated paths reaching the target by its date; absent once the date has
    /// come.
    pub probability: Option<String>,
}

/// A household's goals as of `as_of`, assessed at its thresholds `t`, by name.
pub async fn progress(
    db: &projections::db::Db,
    household: &str,
    as_of: NaiveDate,
    t: &Thresholds,
) -> projections::Result<Vec<GoalProgress>> {
    let keys = [household.to_owned()];
    let goals = crate::monitoring::goals(db, Some(&keys)).await?.remove(household).unwrap_or_default();
    let goals = assessed(household, goals, t, as_of).await?;
    let text = |d: Decimal| d.normalize().to_string();
    Ok(goals
        .into_iter()
        .filter_map(|g| {
            let f = g.funding(as_of)?;
            Some(GoalProgress {
                target: money(g.goal.target),
                date: g.goal.date,
                monthly_contribution: money(g.goal.monthly_contribution),
                expected_return: g.goal.expected_return.map(text),
                volatility: g.goal.volatility.map(text),
                current: money(g.current),
                assumed_return: text(g.expected_return),
                assumed_volatility: text(g.volatility),
                present_value: money(f.present_value),
                months: f.months,
                contributions_value: money(f.contributions_value),
                funded_ratio: text(f.funded_ratio),
                probability: g.probability.map(text),
                accounts: g.goal.accounts,
                name: g.goal.name,
            })
        })
        .collect())
}

/// The goals as a report (CSV and table; JSON is the [`GoalProgress`] list itself).
pub fn report(household: &str, as_of: NaiveDate, goals: &[GoalProgress]) -> Report {
    Report {
        name: "goals",
        columns: vec![
            "goal",
            "target",
            "date",
            "accounts",
            "monthly_contribution",
            "current",
            "present_value",
            "contributions_value",
            "funded_ratio",
            "probability",
            "assumed_return",
            "assumed_volatility",
        ],
        rows: goals
            .iter()
            .map(|g| {
                vec![
                    g.name.clone(),
                    g.target.clone(),
                    g.date.to_string(),
                    if g.accounts.is_empty() { "all".to_owned() } else { g.accounts.join(" ") },
                    g.monthly_contribution.clone(),
                    g.current.clone(),
                    g.present_value.clone(),
                    g.contributions_value.clone(),
                    g.funded_ratio.clone(),
                    g.probability.clone().unwrap_or_default(),
                    g.assumed_return.clone(),
                    g.assumed_volatility.clone(),
                ]
            })
            .collect(),
        totals: Vec::new(),
        summary: vec![("household", serde_json::json!(household)), ("as_of", serde_json::json!(as_of.to_string()))],
    }
}

#[cfg(test)]
mod tests {
    use domain::goals::Goal;
    use rust_decimal_macros::dec;

    use super::*;

    #[test]
    fn assessing_uses_the_goals_own_figures_else_the_households_and_is_reproducible() {
        let as_of: NaiveDate = "2026-12-05".parse().unwrap();
        let goal = |name: &str, expected_return: Option<Decimal>| Goal {
            name: name.into(),
            target: dec!(100000),
            date: "2036-12-05".parse().unwrap(),
            accounts: Vec::new(),
            monthly_contribution: dec!(200),
            expected_return,
            volatility: None,
        };
        let t = Thresholds::of(domain::monitoring::Profile::Conservative);
        let mut goals = vec![
            GoalStatus::new(
                goal("college", None),
                dec!(50000),
                &Thresholds::of(domain::monitoring::Profile::Aggressive),
            ),
            GoalStatus::new(goal("house", Some(dec!(0.03))), dec!(50000), &t),
        ];
        assess("smith", &mut goals, &t, as_of, 2_000);
        assert_eq!((goals[0].expected_return, goals[0].volatility), (t.goal_return, t.goal_volatility));
        assert_eq!((goals[1].expected_return, goals[1].volatility), (dec!(0.03), t.goal_volatility));
        let (p0, p1) = (goals[0].probability.unwrap(), goals[1].probability.unwrap());
        assert!(p0 > p1, "a higher return reaches the target more often: {p0} vs {p1}");
        assert!(p0 > Decimal::ZERO && p0 < Decimal::ONE, "{p0}");
        let mut again = goals.clone();
        assess("smith", &mut again, &t, as_of, 2_000);
        assert_eq!(again, goals, "the same seed gives the same estimate");
        // A goal whose date has come has no probability.
        assess("smith", &mut goals, &t, "2037-01-01".parse().unwrap(), 2_000);
        assert_eq!(goals[0].probability, None);
    }
}
