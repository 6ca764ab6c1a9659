//! Federal contribution limits, one row per tax year, with the source of each year's figures.
//! Next year's update is one new row.

use rust_decimal::Decimal;

/// The dollar limits of one tax year.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct YearLimits {
    pub year: i32,
    /// 401(k)/403(b) elective deferrals per person across all plans (IRC 402(g)).
    pub elective_deferral: Decimal,
    /// Extra deferral at age 50 or older by 31 December (IRC 414(v)).
    pub catch_up_50: Decimal,
    /// The larger catch-up for ages 60 to 63 by 31 December (SECURE 2.0 §109), instead of the
    /// one above; `None` before 2025.
    pub catch_up_60_63: Option<Decimal>,
    /// Traditional and Roth IRA together, per person (IRC 219(b)(5)).
    pub ira: Decimal,
    pub ira_catch_up_50: Decimal,
    /// HSA with self-only and with family coverage (IRC 223(b)); employer money counts.
    pub hsa_self: Decimal,
    pub hsa_family: Decimal,
    /// Extra HSA contribution at age 55 or older.
    pub hsa_catch_up_55: Decimal,
    /// Annual additions to defined-contribution plans, SEP included (IRC 415(c)): employee
    /// deferrals (not catch-ups) plus employer contributions, per person.
    pub annual_additions: Decimal,
    /// SIMPLE IRA elective deferrals (IRC 408(p)) and the age-50 catch-up.
    pub simple_deferral: Decimal,
    pub simple_catch_up_50: Decimal,
    /// The SIMPLE catch-up for ages 60 to 63 (SECURE 2.0 §109), from 2025.
    pub simple_catch_up_60_63: Option<Decimal>,
    pub source: &'static str,
}

const fn usd(dollars: i64) -> Decimal {
    Decimal::from_parts(dollars as u32, 0, 0, false, 0)
}

pub const LIMITS: &[YearLimits] = &[
    YearLimits {
        year: 2024,
        elective_deferral: usd(23_000),
        catch_up_50: usd(7_500),
        catch_up_60_63: None,
        ira: usd(7_000),
        ira_catch_up_50: usd(1_000),
        hsa_self: usd(4_150),
        hsa_family: usd(8_300),
        hsa_catch_up_55: usd(1_000),
        annual_additions: usd(69_000),
        simple_deferral: usd(16_000),
        simple_catch_up_50: usd(3_500),
        simple_catch_up_60_63: None,
        source: "IRS Notice 2023-75; HSA: Rev. Proc. 2023-23",
    },
    YearLimits {
        year: 2025,
        elective_deferral: usd(23_500),
        catch_up_50: usd(7_500),
        catch_up_60_63: Some(usd(11_250)),
        ira: usd(7_000),
        ira_catch_up_50: usd(1_000),
        hsa_self: usd(4_300),
        hsa_family: usd(8_550),
        hsa_catch_up_55: usd(1_000),
        annual_additions: usd(70_000),
        simple_deferral: usd(16_500),
        simple_catch_up_50: usd(3_500),
        simple_catch_up_60_63: Some(usd(5_250)),
        source: "IRS Notice 2024-80; HSA: Rev. Proc. 2024-25",
    },
    YearLimits {
        year: 2026,
        elective_deferral: usd(24_500),
        catch_up_50: usd(8_000),
        catch_up_60_63: Some(usd(11_250)),
        ira: usd(7_500),
        ira_catch_up_50: usd(1_100),
        hsa_self: usd(4_400),
        hsa_family: usd(8_750),
        hsa_catch_up_55: usd(1_000),
        annual_additions: usd(72_000),
        simple_deferral: usd(17_000),
        simple_catch_up_50: usd(4_000),
        simple_catch_up_60_63: Some(usd(5_250)),
        source: "IRS Notice 2025-67; HSA: Rev. Proc. 2025-19",
    },
];

/// The limits of a tax year, if the table has it.
pub fn for_year(year: i32) -> Option<&'static YearLimits> {
    LIMITS.iter().find(|l| l.year == year)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_covers_2024_to_2026_in_order() {
        let years: Vec<i32> = LIMITS.iter().map(|l| l.year).collect();
        assert_eq!(years, [2024, 2025, 2026]);
        assert_eq!(for_year(2025).unwrap().elective_deferral, Decimal::new(23_500, 0));
        assert!(for_year(2023).is_none());
    }
}
