//! The plan's cash-flow schedule: contributions, income streams and fees per year, checked
//! before any path is drawn.

use super::{withdrawal, Plan};
use crate::{invalid, SimError};

/// The plan's money schedule, checked.
pub(super) struct Schedule<'a> {
    pub(super) plan: &'a Plan,
    /// Per income stream: the first plan year (0-based) and the year after the last.
    pub(super) income: Vec<(u32, u32)>,
}

impl<'a> Schedule<'a> {
    pub(super) fn new(plan: &'a Plan) -> Result<Self, SimError> {
        let cf = &plan.cash_flows;
        for (field, v) in [
            ("cash_flows.annual_contribution", cf.annual_contribution),
            ("cash_flows.annual_withdrawal", cf.annual_withdrawal),
            ("fees.annual_fixed", plan.fees.annual_fixed),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(invalid(field, "must be a number of at least 0"));
            }
        }
        if !(cf.inflation.is_finite() && cf.inflation > -1.0) {
            return Err(invalid("cash_flows.inflation", "must be a number above -1"));
        }
        if !(0.0..1.0).contains(&plan.fees.annual_rate) {
            return Err(invalid("fees.annual_rate", "must be at least 0 and below 1"));
        }
        plan.withdrawal.check(plan.age)?;
        let income = cf
            .income
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let field = |f: &str| format!("cash_flows.income[{i}].{f}");
                if !(s.annual_amount.is_finite() && s.annual_amount >= 0.0) {
                    return Err(invalid(field("annual_amount"), "must be a number of at least 0"));
                }
                let start = match (s.start_year, s.start_age, plan.age) {
                    (Some(y), None, _) if y >= 1 => y - 1,
                    (None, Some(a), Some(age)) => a.saturating_sub(age),
                    (None, Some(_), None) => {
                        return Err(invalid("age", format!("{} starts at an age", field("start_age"))))
                    }
                    _ => {
                        return Err(invalid(field("start_year"), "give start_year (1 or more) or start_age, not both"))
                    }
                };
                Ok((start, s.years.map_or(u32::MAX, |n| start.saturating_add(n))))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { plan, income })
    }

    /// The year's net flow into the portfolio (nominal) and its withdrawal, decided at the
    /// start of the year from the path's wealth and price level.
    pub(super) fn year(&self, year: u32, wealth: f64, level: f64, spending: &mut withdrawal::Spending) -> (f64, f64) {
        let (plan, cf) = (self.plan, &self.plan.cash_flows);
        let index = |indexed: bool| if indexed { level } else { 1.0 };
        let mut flow: f64 = self
            .income
            .iter()
            .zip(&cf.income)
            .filter(|((start, end), _)| (*start..*end).contains(&year))
            .map(|(_, s)| s.annual_amount * index(s.inflation_adjusted))
            .sum();
        flow -= plan.fees.annual_fixed * level;
        let mut taken = 0.0;
        if year < cf.retire_after_years {
            flow += cf.annual_contribution * index(cf.index_contributions);
        } else if wealth > 0.0 {
            let y = withdrawal::Year {
                remaining: plan.years - year,
                age: plan.age.map(|a| a + year),
                base: cf.annual_withdrawal * index(cf.index_withdrawals),
                wealth,
            };
            taken = plan.withdrawal.amount(spending, &y);
            flow -= taken;
        }
        (flow, taken)
    }
}
