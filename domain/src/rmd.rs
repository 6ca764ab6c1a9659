//! Required minimum distributions: the IRS Uniform Lifetime Table and the age at which
//! distributions must start, by date of birth. Two data tables with their sources; a new
//! table or a new start age is a one-row change.

use rust_decimal::Decimal;

/// The table's edition and where its figures come from.
pub const UNIFORM_LIFETIME_SOURCE: &str = "Uniform Lifetime Table, Treas. Reg. §1.401(a)(9)-9(c) \
     as amended by T.D. 9930 (85 FR 72472, 12 November 2020), for distribution calendar years \
     from 2022; reproduced in IRS Publication 590-B, Appendix B, Table III";

const fn tenths(t: u32) -> Decimal {
    Decimal::from_parts(t, 0, 0, false, 1)
}

/// (age attained by 31 December of the distribution year, distribution period in years).
/// The last row applies at that age and every older one. Used by an owner whose spouse is
/// not the sole beneficiary or is at most 10 years younger (the usual case); a much younger
/// sole-beneficiary spouse would use the Joint and Last Survivor Table instead.
pub const UNIFORM_LIFETIME: &[(u32, Decimal)] = &[
    (72, tenths(274)),
    (73, tenths(265)),
    (74, tenths(255)),
    (75, tenths(246)),
    (76, tenths(237)),
    (77, tenths(229)),
    (78, tenths(220)),
    (79, tenths(211)),
    (80, tenths(202)),
    (81, tenths(194)),
    (82, tenths(185)),
    (83, tenths(177)),
    (84, tenths(168)),
    (85, tenths(160)),
    (86, tenths(152)),
    (87, tenths(144)),
    (88, tenths(137)),
    (89, tenths(129)),
    (90, tenths(122)),
    (91, tenths(115)),
    (92, tenths(108)),
    (93, tenths(101)),
    (94, tenths(95)),
    (95, tenths(89)),
    (96, tenths(84)),
    (97, tenths(78)),
    (98, tenths(73)),
    (99, tenths(68)),
    (100, tenths(64)),
    (101, tenths(60)),
    (102, tenths(56)),
    (103, tenths(52)),
    (104, tenths(49)),
    (105, tenths(46)),
    (106, tenths(43)),
    (107, tenths(41)),
    (108, tenths(39)),
    (109, tenths(37)),
    (110, tenths(35)),
    (111, tenths(34)),
    (112, tenths(33)),
    (113, tenths(31)),
    (114, tenths(30)),
    (115, tenths(29)),
    (116, tenths(28)),
    (117, tenths(27)),
    (118, tenths(25)),
    (119, tenths(23)),
    (120, tenths(20)),
];

/// The distribution period at `age` (attained by 31 December of the distribution year), or
/// `None` below the table's first age: no lifetime RMD is due that young under any start age
/// still in force.
pub fn distribution_period(age: u32) -> Option<Decimal> {
    UNIFORM_LIFETIME.iter().rev().find(|&&(a, _)| a <= age).map(|&(_, period)| period)
}

/// One start-age rule: owners born on or after `born_from` (year, month) and before the next
/// row's owe their first distribution for the calendar year in which they reach
/// `age_months` (in months, so that the old 70½ is exact).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StartAgeRule {
    pub born_from: (i32, u32),
    pub age_months: u32,
    pub source: &'static str,
}

/// The RMD start age by date of birth, oldest rule first. SECURE 2.0 §107 says 73 for those
/// who reach 72 after 2022 and 74 before 2033, and 75 for those who reach 74 after 2032, which
/// overlaps for people born in 1959; the proposed regulations read it as 73 for 1959.
pub const START_AGES: &[StartAgeRule] = &[
    StartAgeRule {
        born_from: (i32::MIN, 1),
        age_months: 70 * 12 + 6,
        source: "IRC 401(a)(9)(C) before the SECURE Act",
    },
    StartAgeRule { born_from: (1949, 7), age_months: 72 * 12, source: "SECURE Act of 2019, §114" },
    StartAgeRule {
        born_from: (1951, 1),
        age_months: 73 * 12,
        source: "SECURE 2.0 Act of 2022, §107; Prop. Treas. Reg. §1.401(a)(9)-2(b)(2)(v) (2024)",
    },
    StartAgeRule {
        born_from: (1960, 1),
        age_months: 75 * 12,
        source: "SECURE 2.0 Act of 2022, §107; Prop. Treas. Reg. §1.401(a)(9)-2(b)(2)(v) (2024)",
    },
];

/// The age, attained by 31 December, of the first year for which an owner born in
/// `birth_month` (1 to 12) of `birth_year` owes an RMD. Only the 70½ rule needs the month:
/// someone born in March 1948 reached 70½ in 2018 (the year they turned 70), someone born in
/// September 1948 in 2019 (the year they turned 71).
pub fn start_age(birth_year: i32, birth_month: u32) -> u32 {
    let month = birth_month.clamp(1, 12);
    let rule = START_AGES
        .iter()
        .rev()
        .find(|r| r.born_from <= (birth_year, month))
        .expect("the first rule starts at i32::MIN");
    // Months from January of the birth year to the month the age is reached, in whole years.
    (month - 1 + rule.age_months) / 12
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn spot_values_match_publication_590_b_table_iii() {
        assert_eq!(distribution_period(72), Some(dec!(27.4)));
        assert_eq!(distribution_period(73), Some(dec!(26.5)));
        assert_eq!(distribution_period(75), Some(dec!(24.6)));
        assert_eq!(distribution_period(80), Some(dec!(20.2)));
        assert_eq!(distribution_period(90), Some(dec!(12.2)));
        assert_eq!(distribution_period(100), Some(dec!(6.4)));
        assert_eq!(distribution_period(119), Some(dec!(2.3)));
        assert_eq!(distribution_period(120), Some(dec!(2.0)));
        assert_eq!(distribution_period(130), Some(dec!(2.0)));
        assert_eq!(distribution_period(71), None);
    }

    #[test]
    fn every_age_from_72_to_120_has_one_row_and_periods_fall_with_age() {
        let ages: Vec<u32> = UNIFORM_LIFETIME.iter().map(|&(a, _)| a).collect();
        assert_eq!(ages, (72..=120).collect::<Vec<_>>());
        assert!(UNIFORM_LIFETIME.windows(2).all(|w| w[1].1 < w[0].1));
    }

    #[test]
    fn start_ages_change_at_july_1949_1951_and_1960() {
        assert_eq!(start_age(1948, 3), 70);
        assert_eq!(start_age(1948, 9), 71);
        assert_eq!(start_age(1949, 6), 70);
        assert_eq!(start_age(1949, 7), 72);
        assert_eq!(start_age(1950, 12), 72);
        assert_eq!(start_age(1951, 1), 73);
        assert_eq!(start_age(1959, 12), 73);
        assert_eq!(start_age(1960, 1), 75);
        assert_eq!(start_age(1985, 6), 75);
    }
}
