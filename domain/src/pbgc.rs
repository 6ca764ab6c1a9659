//! PBGC single-employer premium rates (ERISA §4006(a)(3)), one row per plan year with its
//! source. Next year's rates are one new row.
//!
//! A single-employer plan pays each year the flat-rate premium per participant plus the
//! variable-rate premium (VRP): the VRP rate per $1,000 of unfunded vested benefits (UVBs),
//! capped at the per-participant cap times the participant count. The flat rate and the cap
//! are indexed to the national average wage (ERISA §4006(a)(3)(F), (a)(3)(J)); SECURE 2.0
//! §349 froze the VRP rate at $52 per $1,000 from 2024 on (no longer indexed). The rates of
//! cooperative and small-employer charity (CSEC) plans and the small-employer cap of
//! ERISA §4006(a)(3)(H) are not in this table.

use rust_decimal::Decimal;

/// One plan year's single-employer premium rates, in dollars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PremiumRates {
    /// Plan years beginning in this calendar year.
    pub year: i32,
    /// Flat-rate premium per participant.
    pub flat_rate: Decimal,
    /// Variable-rate premium per $1,000 of unfunded vested benefits.
    pub vrp_per_1000_uvb: Decimal,
    /// The variable-rate premium is at most this amount times the participant count.
    pub vrp_cap_per_participant: Decimal,
    pub source: &'static str,
}

const fn usd(dollars: i64) -> Decimal {
    Decimal::from_parts(dollars as u32, 0, 0, false, 0)
}

/// Published on PBGC's "Premium Rates" page (pbgc.gov/prac/prem/premium-rates) and in the
/// Comprehensive Premium Filing Instructions of each plan year, under ERISA §4006(a)(3) as
/// indexed by §4006(a)(3)(F) and (J).
pub const RATES: &[PremiumRates] = &[
    PremiumRates {
        year: 2024,
        flat_rate: usd(101),
        vrp_per_1000_uvb: usd(52),
        vrp_cap_per_participant: usd(686),
        source: "PBGC Premium Rates page and 2024 Comprehensive Premium Filing Instructions \
                 (announced October 2023); ERISA §4006(a)(3); VRP rate fixed by SECURE 2.0 §349",
    },
    PremiumRates {
        year: 2025,
        flat_rate: usd(106),
        vrp_per_1000_uvb: usd(52),
        vrp_cap_per_participant: usd(717),
        source: "PBGC Premium Rates page and 2025 Comprehensive Premium Filing Instructions \
                 (announced October 2024); ERISA §4006(a)(3)",
    },
    PremiumRates {
        year: 2026,
        flat_rate: usd(111),
        vrp_per_1000_uvb: usd(52),
        vrp_cap_per_participant: usd(751),
        source: "PBGC Premium Rates page and 2026 Comprehensive Premium Filing Instructions \
                 (posted January 2026); ERISA §4006(a)(3)",
    },
];

/// The rates of plan years beginning in `year`, if the table has them.
pub fn for_year(year: i32) -> Option<&'static PremiumRates> {
    RATES.iter().find(|r| r.year == year)
}

/// The latest plan year in the table.
pub fn latest() -> &'static PremiumRates {
    RATES.last().expect("the table has rows")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_covers_2024_to_2026_in_order() {
        let years: Vec<i32> = RATES.iter().map(|r| r.year).collect();
        assert_eq!(years, [2024, 2025, 2026]);
        assert_eq!(for_year(2026).unwrap().flat_rate, Decimal::new(111, 0));
        assert_eq!(for_year(2025).unwrap().vrp_cap_per_participant, Decimal::new(717, 0));
        assert_eq!(latest().year, 2026);
        assert!(for_year(2023).is_none());
        assert!(RATES.iter().all(|r| r.vrp_per_1000_uvb == Decimal::new(52, 0)));
    }
}
