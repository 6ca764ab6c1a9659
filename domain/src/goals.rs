//! A household's goals: an amount wanted by a date (a child's college, a house, a sabbatical),
//! funded by some of its accounts (or all of them) and by planned monthly contributions.
//!
//! Goals are recorded on the household's ledger stream (`GoalSet`, `GoalRemoved`), so the
//! goals in force at any instant are a fold over its history. What a goal needs beyond itself
//! (today's value of its accounts, the return it is discounted at) is passed in: this module
//! only does the arithmetic, to the cent.
//!
//! How funded a goal is ([`funding`]): the value set aside today plus the present value of the
//! planned contributions, over the present value of the target, each discounted at the goal's
//! expected annual return:
//!
//! - the target's present value is `target / (1 + r)^(days / 365)` (the day count of
//!   [`crate::performance`]'s XIRR, Excel's convention);
//! - a contribution is made at the end of each whole month from today to the goal's date, so
//!   there are `n` of them (a goal due in 2 months and 20 days has 2); at the monthly rate
//!   `i = (1 + r)^(1/12) − 1` they are worth `c · (1 − (1 + i)^−n) / i` today (`c · n` when
//!   `r` is 0), an ordinary annuity.
//!
//! The probability of reaching the target is not computed here: it comes from the Monte Carlo
//! engine (`simulations::goals`), over the same months and contributions.

use chrono::{Datelike, Months, NaiveDate};
use rust_decimal::prelude::*;
use serde::{Deserialize, Serialize};

use crate::DomainError;

/// The longest goal name.
pub const MAX_NAME: usize = 80;
/// The largest target and monthly contribution: a trillion dollars.
const MAX_AMOUNT: Decimal = Decimal::from_parts(3_567_587_328, 232, 0, false, 0);

/// A household's goal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Goal {
    /// Unique within the household (`college`, `house`).
    pub name: String,
    /// The amount wanted, in the household's dollars of the goal's date (nominal).
    pub target: Decimal,
    /// When it is wanted.
    pub date: NaiveDate,
    /// The accounts set aside for it (labels); empty: every account of the household.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<String>,
    /// Saved toward it at the end of each month until its date.
    #[serde(default, skip_serializing_if = "Decimal::is_zero")]
    pub monthly_contribution: Decimal,
    /// The expected annual return of what funds it, when not the household's `goal_return`
    /// setting (0.06 for 6%).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_return: Option<Decimal>,
    /// The annual volatility of what funds it, when not the household's `goal_volatility`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volatility: Option<Decimal>,
}

fn refuse(field: &str, problem: impl Into<String>) -> DomainError {
    DomainError::Rejected { line: None, field: field.to_owned(), problem: problem.into() }
}

impl Goal {
    /// Checks the goal's own fields (not its accounts or date against the household: the
    /// ledger does that), naming the field that is wrong.
    pub fn validate(&self) -> Result<(), DomainError> {
        let name = self.name.as_str();
        if name.trim().is_empty() {
            return Err(refuse("name", "must not be empty"));
        }
        if name.trim() != name || name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
            return Err(refuse(
                "name",
                format!("{name:?} must be at most {MAX_NAME} characters, without control characters or spaces at either end"),
            ));
        }
        if self.target <= Decimal::ZERO || self.target > MAX_AMOUNT {
            return Err(refuse("target", format!("{} must be above 0 and at most 1000000000000", self.target)));
        }
        if self.monthly_contribution < Decimal::ZERO || self.monthly_contribution > MAX_AMOUNT {
            return Err(refuse(
                "monthly_contribution",
                format!("{} must be at least 0 and at most 1000000000000", self.monthly_contribution),
            ));
        }
        if let Some(r) = self.expected_return {
            if r <= dec(-50, 2) || r > dec(50, 2) {
                return Err(refuse("expected_return", format!("{r} must be above -0.5 and at most 0.5 (0.06 is 6%)")));
            }
        }
        if let Some(v) = self.volatility {
            if v < Decimal::ZERO || v > Decimal::ONE {
                return Err(refuse("volatility", format!("{v} must be from 0 to 1 (0.12 is 12%)")));
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        if let Some(a) = self.accounts.iter().find(|a| !seen.insert(a.as_str())) {
            return Err(refuse("accounts", format!("{a} is named twice")));
        }
        Ok(())
    }
}

const fn dec(n: i64, scale: u32) -> Decimal {
    let negative = n < 0;
    Decimal::from_parts(n.unsigned_abs() as u32, 0, 0, negative, scale)
}

/// How funded a goal is on a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Funding {
    /// The target's present value.
    pub present_value: Decimal,
    /// The monthly contributions still to come.
    pub months: u32,
    /// Their present value.
    pub contributions_value: Decimal,
    /// `(current + contributions_value) / present_value`, to six places.
    pub funded_ratio: Decimal,
}

/// The whole months from `from` to `to` (0 when `to` is not after `from`): the contributions
/// still to come, one at the end of each month. A month ends on the same day of the next
/// month, or on its last day when it has no such day (Jan 31 + 1 month is Feb 28 or 29).
pub fn months_between(from: NaiveDate, to: NaiveDate) -> u32 {
    if to <= from {
        return 0;
    }
    let diff = (to.year() - from.year()) * 12 + to.month() as i32 - from.month() as i32;
    let mut n = diff.max(0) as u32;
    while n > 0 && from.checked_add_months(Months::new(n)).is_none_or(|d| d > to) {
        n -= 1;
    }
    n
}

/// The present value on `as_of` of `amount` due on `date`, discounted at the annual `rate`
/// (compounded over days / 365 years, Excel's XIRR convention): `amount / (1 + rate)^years`;
/// the amount itself for a date that has come.
pub fn present_value(amount: Decimal, rate: Decimal, as_of: NaiveDate, date: NaiveDate) -> Decimal {
    let days = (date - as_of).num_days();
    if days <= 0 || rate.is_zero() {
        return amount;
    }
    let years = Decimal::from(days) / Decimal::from(365);
    let growth = (Decimal::ONE + rate).checked_powd(years).filter(|g| *g > Decimal::ZERO);
    growth.and_then(|g| amount.checked_div(g)).unwrap_or(amount)
}

/// The present value of `n` payments of `payment` at the end of each month, at the annual
/// `rate` (the monthly rate `(1 + rate)^(1/12) − 1`).
pub fn annuity_value(payment: Decimal, rate: Decimal, n: u32) -> Decimal {
    if payment.is_zero() || n == 0 {
        return Decimal::ZERO;
    }
    let count = Decimal::from(n);
    if rate.is_zero() {
        return payment * count;
    }
    let monthly = (Decimal::ONE + rate).checked_powd(Decimal::ONE / Decimal::from(12)).map(|g| g - Decimal::ONE);
    let factor = monthly.filter(|i| !i.is_zero()).and_then(|i| {
        let discount = (Decimal::ONE + i).checked_powi(-i64::from(n))?;
        (Decimal::ONE - discount).checked_div(i)
    });
    factor.map_or(payment * count, |f| payment * f)
}

/// How funded `goal` is on `as_of` with `current` set aside, at the annual `rate`; `None` when
/// the target's present value is not above 0.
pub fn funding(goal: &Goal, current: Decimal, rate: Decimal, as_of: NaiveDate) -> Option<Funding> {
    let present_value = present_value(goal.target, rate, as_of, goal.date);
    if present_value <= Decimal::ZERO {
        return None;
    }
    let months = months_between(as_of, goal.date);
    let contributions_value = annuity_value(goal.monthly_contribution, rate, months);
    let funded_ratio = crate::portfolio::weight(current + contributions_value, present_value);
    Some(Funding { present_value, months, contributions_value, funded_ratio })
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn goal() -> Goal {
        Goal {
            name: "college".into(),
            target: dec!(100000),
            date: d("2036-09-01"),
            accounts: vec!["529".into()],
            monthly_contribution: Decimal::ZERO,
            expected_return: None,
            volatility: None,
        }
    }

    #[test]
    fn months_count_whole_months_with_month_ends_clamped() {
        assert_eq!(months_between(d("2026-12-05"), d("2027-02-25")), 2);
        assert_eq!(months_between(d("2026-12-05"), d("2027-03-05")), 3);
        assert_eq!(months_between(d("2026-01-31"), d("2026-02-28")), 1);
        assert_eq!(months_between(d("2026-01-31"), d("2026-02-27")), 0);
        assert_eq!(months_between(d("2026-12-05"), d("2036-12-05")), 120);
        assert_eq!(months_between(d("2026-12-05"), d("2026-12-05")), 0);
        assert_eq!(months_between(d("2026-12-05"), d("2020-01-01")), 0);
    }

    #[test]
    fn present_values_match_the_textbook_formulas() {
        // $100,000 in exactly 10 years (3,650 days) at 6%: 100000 / 1.06^10 = 55,839.48.
        let pv = present_value(dec!(100000), dec!(0.06), d("2026-01-01"), d("2035-12-30"));
        assert_eq!(pv.round_dp(2), dec!(55839.48));
        // $500 a month for 10 years at 6% a year (0.486755% a month): 500 × 90.724322 =
        // 45,362.16 (the annuity factor (1 − 1.00486755^−120) / 0.00486755 = 90.724322).
        let a = annuity_value(dec!(500), dec!(0.06), 120);
        assert_eq!(a.round_dp(2), dec!(45362.16));
        assert_eq!(annuity_value(dec!(500), Decimal::ZERO, 120), dec!(60000));
        assert_eq!(annuity_value(Decimal::ZERO, dec!(0.06), 120), Decimal::ZERO);
    }

    #[test]
    fn funded_ratio_counts_what_is_set_aside_and_what_is_planned() {
        let mut g = goal();
        g.date = d("2036-12-05");
        g.monthly_contribution = dec!(250);
        let f = funding(&g, dec!(30000), dec!(0.05), d("2026-12-05")).unwrap();
        assert_eq!(f.months, 120);
        // 100000 / 1.05^(3653/365) and 250 × (1 − 1.0040741^−120) / 0.0040741.
        assert_eq!(f.present_value.round_dp(2), dec!(61366.71));
        assert_eq!(f.contributions_value.round_dp(2), dec!(23691.40));
        let expected = (dec!(30000) + f.contributions_value) / f.present_value;
        assert_eq!(f.funded_ratio, expected.round_dp(6));
        // A goal whose date has come is funded by what is there.
        let f = funding(&g, dec!(80000), dec!(0.05), d("2037-01-01")).unwrap();
        assert_eq!((f.present_value, f.months, f.funded_ratio), (dec!(100000), 0, dec!(0.8)));
    }

    #[test]
    fn the_ledger_keeps_goals_on_open_accounts_and_future_dates() {
        use crate::ledger::types::{AccountInfo, AccountType, LotMethod};
        use crate::ledger::{apply, decide, Ledger, LedgerCommand, LedgerEvent};
        let now: chrono::DateTime<chrono::Utc> = "2026-12-05T15:00:00Z".parse().unwrap();
        let mut state = Ledger::default();
        let open = LedgerCommand::OpenAccount {
            household: "smith".into(),
            account: AccountInfo {
                label: "529".into(),
                account_type: AccountType::Plan529,
                lot_method: LotMethod::Fifo,
                owner: None,
            },
        };
        for e in decide(&state, &open).unwrap() {
            state = apply(state, e);
        }
        let set = |goal: Goal| LedgerCommand::SetGoal { household: "smith".into(), goal, now };
        let events = decide(&state, &set(goal())).unwrap();
        assert_eq!(events, vec![LedgerEvent::GoalSet(goal())]);
        for e in events {
            state = apply(state, e);
        }
        assert_eq!(state.goals["college"], goal());
        // The same goal again records nothing; a changed one replaces it.
        assert!(decide(&state, &set(goal())).unwrap().is_empty());
        let bigger = Goal { target: dec!(150000), ..goal() };
        assert_eq!(decide(&state, &set(bigger.clone())).unwrap(), vec![LedgerEvent::GoalSet(bigger)]);
        let refused = |goal: Goal| match decide(&state, &set(goal)) {
            Err(DomainError::Rejected { field, problem, .. }) => (field, problem),
            other => panic!("{other:?}"),
        };
        let (field, problem) = refused(Goal { accounts: vec!["brokerage".into()], ..goal() });
        assert_eq!(field, "accounts");
        assert!(problem.contains("brokerage"), "{problem}");
        // Today in New York is 2026-12-05: a goal must be after it.
        assert_eq!(refused(Goal { date: d("2026-12-05"), ..goal() }).0, "date");
        let remove = |name: &str| LedgerCommand::RemoveGoal { household: "smith".into(), name: name.into() };
        assert_eq!(
            decide(&state, &remove("college")).unwrap(),
            vec![LedgerEvent::GoalRemoved { name: "college".into() }]
        );
        assert!(matches!(decide(&state, &remove("house")), Err(DomainError::NotFound { .. })));
    }

    #[test]
    fn a_goal_names_what_is_wrong_with_it() {
        let field = |g: Goal| match g.validate() {
            Err(DomainError::Rejected { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert!(goal().validate().is_ok());
        assert_eq!(field(Goal { name: " ".into(), ..goal() }), "name");
        assert_eq!(field(Goal { name: " college".into(), ..goal() }), "name");
        assert_eq!(field(Goal { target: Decimal::ZERO, ..goal() }), "target");
        assert_eq!(field(Goal { monthly_contribution: dec!(-1), ..goal() }), "monthly_contribution");
        assert_eq!(field(Goal { expected_return: Some(dec!(0.7)), ..goal() }), "expected_return");
        assert_eq!(field(Goal { volatility: Some(dec!(1.5)), ..goal() }), "volatility");
        assert_eq!(field(Goal { accounts: vec!["529".into(), "529".into()], ..goal() }), "accounts");
    }
}
