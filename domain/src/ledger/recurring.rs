//! Standing instructions that buy shares without a person typing a row: a recurring purchase
//! (an amount of a symbol in an account every week, two weeks, month or quarter) and dividend
//! reinvestment. Brokers carry them out; cairn records them on the household's ledger stream
//! (`RecurringSet`, `RecurringRemoved`) so that the harvesting scan knows which purchases are
//! coming: a purchase of substantially identical shares within 30 days after a sale at a loss
//! makes it a wash sale (IRC §1091(a)) as surely as one made by hand.
//!
//! When a purchase is due: a recurring purchase on each date from its first, stepped by its
//! interval (a month from the 31st is the last day of a shorter month), moved to the next NYSE
//! session when the date is not one, until its last date. A reinvestment on each payment date of
//! the symbol's dividend: the next is predicted from the dividends the ledger holds of that symbol
//! in that account, the last one plus the median of the intervals between the last five. With
//! fewer than two payments the date cannot be told, and the scan treats a reinvestment as due
//! any day (a harvest must never trip a wash sale; turning reinvestment off lifts the block).

use chrono::{Duration, Months, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::types::Action;
use super::Ledger;
use std::str::FromStr;

use crate::DomainError;

/// How often a recurring purchase is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Every {
    Week,
    TwoWeeks,
    Month,
    Quarter,
}

impl FromStr for Every {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "week" => Ok(Self::Week),
            "two_weeks" => Ok(Self::TwoWeeks),
            "month" => Ok(Self::Month),
            "quarter" => Ok(Self::Quarter),
            other => Err(format!("unknown interval {other:?}; expected week, two_weeks, month or quarter")),
        }
    }
}

impl Every {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Week => "week",
            Self::TwoWeeks => "two_weeks",
            Self::Month => "month",
            Self::Quarter => "quarter",
        }
    }

    /// The `n`th date from `first` (`n` = 0 is `first`), before moving off a closed day.
    fn nth(self, first: NaiveDate, n: u32) -> Option<NaiveDate> {
        match self {
            Self::Week => first.checked_add_signed(Duration::weeks(i64::from(n))),
            Self::TwoWeeks => first.checked_add_signed(Duration::weeks(2 * i64::from(n))),
            Self::Month => first.checked_add_months(Months::new(n)),
            Self::Quarter => first.checked_add_months(Months::new(3 * n)),
        }
    }
}

/// What a standing instruction does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Instruction {
    /// Buy `amount` dollars of the symbol on `first` and every `every` after, until `last`.
    Purchase {
        amount: Decimal,
        every: Every,
        first: NaiveDate,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        last: Option<NaiveDate>,
    },
    /// Every dividend of the symbol buys more of it.
    Reinvest,
}

impl Instruction {
    /// `purchase` or `reinvest`: with the account and symbol, the instruction's key.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Purchase { .. } => "purchase",
            Self::Reinvest => "reinvest",
        }
    }
}

/// A standing instruction of one account for one symbol.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recurring {
    pub account: String,
    pub symbol: String,
    #[serde(flatten)]
    pub instruction: Instruction,
}

/// The kinds of instruction, as named on the command line and in HTTP paths.
pub const KINDS: [&str; 2] = ["purchase", "reinvest"];

/// When an instruction will buy next, and why cairn thinks so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Due {
    /// `None`: a reinvestment whose next dividend cannot be told from the ledger.
    pub date: Option<NaiveDate>,
    pub basis: String,
}

impl Recurring {
    /// The key of the ledger's map of instructions: `account/symbol/kind`.
    pub fn key(&self) -> String {
        key(&self.account, &self.symbol, self.instruction.kind())
    }

    /// Refuses an instruction that cannot be carried out, naming the field.
    pub fn validate(&self) -> Result<(), DomainError> {
        let field = |f: &str, p: String| DomainError::Rejected { line: None, field: f.into(), problem: p };
        if self.symbol.trim().is_empty() || self.symbol != self.symbol.trim() {
            return Err(field("symbol", format!("{:?} is not a symbol", self.symbol)));
        }
        if let Instruction::Purchase { amount, first, last, .. } = &self.instruction {
            if *amount <= Decimal::ZERO {
                return Err(field("amount", format!("must be more than zero, not {amount}")));
            }
            if last.is_some_and(|l| l < *first) {
                return Err(field("last", format!("{} is before the first purchase {first}", last.unwrap_or(*first))));
            }
        }
        Ok(())
    }

    /// The first day after `after` on which this instruction buys, up to `until`; for a
    /// reinvestment whose dividends cannot be predicted, `Due { date: None }`. `None` when it
    /// buys nothing in that time.
    pub fn next_after(&self, ledger: &Ledger, after: NaiveDate, until: NaiveDate) -> Option<Due> {
        match &self.instruction {
            Instruction::Purchase { amount, every, first, last } => {
                let end = last.map_or(until, |l| l.min(until));
                (0u32..)
                    .map_while(|n| every.nth(*first, n))
                    .map(|d| crate::calendar::session_on_or_after(d).date)
                    .take_while(|d| *d <= end)
                    .find(|d| *d > after)
                    .map(|date| Due {
                        date: Some(date),
                        basis: format!("${amount} every {} from {first}", every.as_str()),
                    })
            }
            Instruction::Reinvest => {
                let mut paid: Vec<NaiveDate> = ledger
                    .trades
                    .iter()
                    .filter(|t| t.action == Action::Dividend && t.account == self.account)
                    .filter(|t| t.symbol.as_deref() == Some(self.symbol.as_str()))
                    .map(|t| t.trade_date)
                    .collect();
                paid.sort();
                paid.dedup();
                if paid.len() < 2 {
                    return Some(Due {
                        date: None,
                        basis: format!(
                            "{} dividend(s) of {} recorded in {}: the next payment cannot be told",
                            paid.len(),
                            self.symbol,
                            self.account
                        ),
                    });
                }
                let recent = &paid[paid.len().saturating_sub(6)..];
                let mut gaps: Vec<i64> = recent.windows(2).map(|w| (w[1] - w[0]).num_days()).collect();
                gaps.sort_unstable();
                let gap = gaps[(gaps.len() - 1) / 2].max(1);
                let last_paid = *paid.last().expect("two payments");
                let mut next = last_paid + Duration::days(gap);
                while next <= after {
                    next += Duration::days(gap);
                }
                (next <= until).then(|| Due {
                    date: Some(next),
                    basis: format!("dividends of {} every {gap} days, last paid {last_paid}", self.symbol),
                })
            }
        }
    }
}

/// The key of an instruction: `account/symbol/kind`.
pub fn key(account: &str, symbol: &str, kind: &str) -> String {
    format!("{account}/{symbol}/{kind}")
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;
    use crate::ledger::types::{AccountType, Trade};

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn purchase(every: Every, first: &str, last: Option<&str>) -> Recurring {
        Recurring {
            account: "IRA".into(),
            symbol: "VTSAX".into(),
            instruction: Instruction::Purchase { amount: dec!(500), every, first: d(first), last: last.map(d) },
        }
    }

    #[test]
    fn a_monthly_purchase_falls_on_its_day_or_the_next_session() {
        let l = Ledger::default();
        let p = purchase(Every::Month, "2026-01-31", None);
        // January 31 and February 28 2026 are Saturdays: the purchases are on the Mondays after.
        let due = p.next_after(&l, d("2026-01-30"), d("2026-03-31")).unwrap();
        assert_eq!(due.date, Some(d("2026-02-02")));
        let due = p.next_after(&l, d("2026-02-02"), d("2026-03-31")).unwrap();
        assert_eq!(due.date, Some(d("2026-03-02")));
        assert_eq!(due.basis, "$500 every month from 2026-01-31");
        // December 25 is a holiday: the 25th's purchase is on the 28th (the 26th, 27th are a weekend).
        let p = purchase(Every::Month, "2026-01-25", None);
        assert_eq!(p.next_after(&l, d("2026-12-01"), d("2026-12-31")).unwrap().date, Some(d("2026-12-28")));
        // Nothing after its last date, nor beyond the window asked.
        let p = purchase(Every::Week, "2026-01-05", Some("2026-03-01"));
        assert_eq!(p.next_after(&l, d("2026-03-01"), d("2026-12-31")), None);
        assert_eq!(p.next_after(&l, d("2026-01-05"), d("2026-01-11")), None);
        assert_eq!(p.next_after(&l, d("2026-01-05"), d("2026-01-12")).unwrap().date, Some(d("2026-01-12")));
        let p = purchase(Every::Quarter, "2026-01-15", None);
        assert_eq!(p.next_after(&l, d("2026-01-15"), d("2026-12-31")).unwrap().date, Some(d("2026-04-15")));
    }

    #[test]
    fn a_reinvestment_is_due_at_the_usual_interval_after_the_last_dividend_or_any_day_when_unknown() {
        let mut l = Ledger::with_accounts(&[("IRA", AccountType::RothIra)]);
        let r = Recurring { account: "IRA".into(), symbol: "VTSAX".into(), instruction: Instruction::Reinvest };
        let due = r.next_after(&l, d("2026-12-01"), d("2026-12-31")).unwrap();
        assert_eq!(due.date, None, "{}", due.basis);
        let paid = ["2026-03-24", "2026-06-23", "2026-09-22"];
        l.trades = paid
            .iter()
            .enumerate()
            .map(|(i, p)| {
                Trade::test_row(i as u64 + 1, d(p), "IRA", Action::Dividend, Some("VTSAX"), dec!(1), dec!(90))
            })
            .collect();
        // Every 91 days: the next on 2026-12-22.
        let due = r.next_after(&l, d("2026-12-01"), d("2026-12-31")).unwrap();
        assert_eq!(due.date, Some(d("2026-12-22")));
        assert!(due.basis.contains("every 91 days"), "{}", due.basis);
        assert_eq!(r.next_after(&l, d("2026-11-01"), d("2026-11-30")), None);
    }

    #[test]
    fn an_instruction_that_cannot_be_carried_out_is_refused_naming_the_field() {
        let mut p = purchase(Every::Month, "2026-01-31", Some("2025-12-31"));
        assert!(matches!(p.validate(), Err(DomainError::Rejected { field, .. }) if field == "last"));
        p.instruction =
            Instruction::Purchase { amount: dec!(0), every: Every::Month, first: d("2026-01-01"), last: None };
        assert!(matches!(p.validate(), Err(DomainError::Rejected { field, .. }) if field == "amount"));
        p.symbol = " ".into();
        assert!(matches!(p.validate(), Err(DomainError::Rejected { field, .. }) if field == "symbol"));
    }
}
