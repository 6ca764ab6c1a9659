//! The contribution limits of a projected year: the ledger's table ([`domain::limits`]) where
//! it has the year, and past its last year that year's figures grown by the plan's indexing
//! assumption and rounded down to the steps the Code indexes in. One table for the ledger and
//! the planner; nothing here restates a dollar figure.

use domain::limits::{YearLimits, LIMITS};
use rust_decimal::Decimal;

/// One year's limits in dollars, per person.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Limits {
    pub(super) year: i32,
    pub(super) elective_deferral: f64,
    pub(super) catch_up_50: f64,
    pub(super) catch_up_60_63: Option<f64>,
    pub(super) ira: f64,
    pub(super) ira_catch_up_50: f64,
    pub(super) hsa_self: f64,
    pub(super) hsa_family: f64,
    pub(super) hsa_catch_up_55: f64,
    pub(super) annual_additions: f64,
    /// True when the year is past the table and the figures are an estimate.
    pub(super) projected: bool,
}

/// The first year the table has: projections cannot start earlier.
pub(super) fn first_year() -> i32 {
    LIMITS.first().map_or(i32::MAX, |l| l.year)
}

/// The limits of `year`: the table's row, or past the table the last row grown by `growth` a
/// year and rounded down to the indexing step of each limit: $500 for 402(g), the catch-ups
/// and the IRA (IRC 402(g)(4), 414(v)(2)(C), 219(b)(5)(C)), $100 for the IRA catch-up
/// (SECURE 2.0 §108), $50 for the HSA (IRC 223(g)), $1,000 for 415(c) (IRC 415(d)(4)). The
/// HSA catch-up is a fixed $1,000 in the statute and is not indexed. The IRS indexes from a
/// base-year figure by the CPI; compounding the last published figure is the planning
/// approximation. `None` before the table's first year.
pub(super) fn for_year(year: i32, growth: f64) -> Option<Limits> {
    if let Some(row) = domain::limits::for_year(year) {
        return Some(scaled(row, 1.0, false));
    }
    let last = LIMITS.last()?;
    if year < last.year {
        return None;
    }
    let factor = (1.0 + growth).powi(year - last.year);
    Some(Limits { year, ..scaled(last, factor, true) })
}

fn scaled(row: &YearLimits, factor: f64, projected: bool) -> Limits {
    let grow = |v: Decimal, step: f64| {
        let grown = v.as_f64() * factor;
        if projected {
            // A hair of tolerance so that 7,500 x 1.0 does not round down to 7,000.
            ((grown + 1e-6) / step).floor() * step
        } else {
            grown
        }
    };
    Limits {
        year: row.year,
        elective_deferral: grow(row.elective_deferral, 500.0),
        catch_up_50: grow(row.catch_up_50, 500.0),
        catch_up_60_63: row.catch_up_60_63.map(|v| grow(v, 500.0)),
        ira: grow(row.ira, 500.0),
        ira_catch_up_50: grow(row.ira_catch_up_50, 100.0),
        hsa_self: grow(row.hsa_self, 50.0),
        hsa_family: grow(row.hsa_family, 50.0),
        hsa_catch_up_55: row.hsa_catch_up_55.as_f64(),
        annual_additions: grow(row.annual_additions, 1_000.0),
        projected,
    }
}

impl Limits {
    /// The 402(g) catch-up at `age` (attained by 31 December): the larger SECURE 2.0 amount
    /// at 60 to 63 where the year has one, the age-50 amount otherwise.
    pub(super) fn deferral_catch_up(&self, age: u32) -> f64 {
        match (age, self.catch_up_60_63) {
            (60..=63, Some(super_catch_up)) => super_catch_up,
            (50.., _) => self.catch_up_50,
            _ => 0.0,
        }
    }

    pub(super) fn ira_catch_up(&self, age: u32) -> f64 {
        if age >= 50 {
            self.ira_catch_up_50
        } else {
            0.0
        }
    }

    /// The HSA limit for the coverage, with the catch-up from 55.
    pub(super) fn hsa(&self, family: bool, age: u32) -> f64 {
        let base = if family { self.hsa_family } else { self.hsa_self };
        base + if age >= 55 { self.hsa_catch_up_55 } else { 0.0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_years_come_from_the_ledger_table() {
        let l = for_year(2026, 0.02).unwrap();
        assert_eq!(l.elective_deferral, 24_500.0);
        assert_eq!(l.deferral_catch_up(50), 8_000.0);
        assert_eq!(l.deferral_catch_up(61), 11_250.0);
        assert_eq!(l.deferral_catch_up(64), 8_000.0);
        assert_eq!(l.deferral_catch_up(49), 0.0);
        assert!(!l.projected);
        // Before 2025 there is no 60-63 catch-up: the age-50 one applies.
        assert_eq!(for_year(2024, 0.02).unwrap().deferral_catch_up(61), 7_500.0);
        assert!(for_year(2023, 0.02).is_none());
    }

    #[test]
    fn years_past_the_table_grow_and_round_down_to_the_indexing_steps() {
        // Two years of 2% past 2026: 24,500 x 1.0404 = 25,489.80 -> 25,000; IRA 7,803 ->
        // 7,500; IRA catch-up 1,144.44 -> 1,100; HSA family 9,103.35 -> 9,100; 415(c)
        // 74,908.80 -> 74,000; the HSA catch-up stays 1,000.
        let l = for_year(2028, 0.02).unwrap();
        assert!(l.projected);
        assert_eq!(l.year, 2028);
        assert_eq!(l.elective_deferral, 25_000.0);
        assert_eq!(l.ira, 7_500.0);
        assert_eq!(l.ira_catch_up_50, 1_100.0);
        assert_eq!(l.hsa_family, 9_100.0);
        assert_eq!(l.annual_additions, 74_000.0);
        assert_eq!(l.hsa(true, 55), 10_100.0);
        // No growth keeps the last year's figures exactly.
        assert_eq!(for_year(2040, 0.0).unwrap().elective_deferral, 24_500.0);
    }
}
