//! A household's family as the transfer taxes see it: each member's relationship to the
//! household's principal (from which the generation-skipping transfer tax counts generations),
//! citizenship (the marital deduction needs a spouse who is a U.S. citizen, IRC §2056(d) and
//! §2523(i)) and state of domicile (state estate taxes). Set with the member (`MemberSet` on the
//! household's ledger stream), so the family as of any instant is a fold over history.

use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A member's relationship to the household's principal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Relationship {
    /// The person the plan is for.
    Principal,
    /// The principal's spouse.
    Spouse,
    Parent,
    Sibling,
    Child,
    Grandchild,
    GreatGrandchild,
    /// Anyone else (a niece, a friend): their generation comes from their age (§2651(d)).
    Other,
}

impl Relationship {
    pub const ALL: [Relationship; 8] = [
        Self::Principal,
        Self::Spouse,
        Self::Parent,
        Self::Sibling,
        Self::Child,
        Self::Grandchild,
        Self::GreatGrandchild,
        Self::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Principal => "principal",
            Self::Spouse => "spouse",
            Self::Parent => "parent",
            Self::Sibling => "sibling",
            Self::Child => "child",
            Self::Grandchild => "grandchild",
            Self::GreatGrandchild => "great_grandchild",
            Self::Other => "other",
        }
    }

    /// The relationship of the person married to one of this relationship, as recorded: the
    /// principal's spouse, the spouse's principal; `None` for anyone else.
    pub fn spouse(self) -> Option<Relationship> {
        match self {
            Self::Principal => Some(Self::Spouse),
            Self::Spouse => Some(Self::Principal),
            _ => None,
        }
    }

    /// Generations below the principal's, for a lineal relative of the principal's grandparent
    /// (§2651(b)(1)): a parent -1; the principal, the spouse (§2651(c)) and a sibling 0; a child
    /// 1; a grandchild 2; a great-grandchild 3. `Other` has none here: §2651(d) assigns it by
    /// age.
    pub fn generation(self) -> Option<i32> {
        match self {
            Self::Parent => Some(-1),
            Self::Principal | Self::Spouse | Self::Sibling => Some(0),
            Self::Child => Some(1),
            Self::Grandchild => Some(2),
            Self::GreatGrandchild => Some(3),
            Self::Other => None,
        }
    }
}

impl FromStr for Relationship {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim().to_ascii_lowercase().replace(['-', ' '], "_");
        Self::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| {
            let names: Vec<&str> = Self::ALL.iter().map(|r| r.as_str()).collect();
            format!("unknown relationship {s:?}; expected one of {}", names.join(", "))
        })
    }
}

/// What `SetMember` changes of a member's family details (absent: left as they are).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Family {
    pub relationship: Option<Relationship>,
    /// A U.S. citizen.
    pub citizen: Option<bool>,
    /// The state of domicile: a USPS code (`NY`, `DC`).
    pub domicile: Option<String>,
    /// The age the member is expected to live to, when the plan should not take Table 2010CM's
    /// expectation (a family history, an insurer's rating): 1 to [`LIVES_TO_MAX`].
    pub lives_to: Option<u32>,
    /// When the member's parent, the principal's (or the spouse's) descendant, died: a
    /// grandchild then moves up a generation for transfers after it (§2651(e), `crate::gst`).
    pub parent_died: Option<chrono::NaiveDate>,
}

/// The oldest age a member may be given to live to.
pub const LIVES_TO_MAX: u32 = 120;

/// Where a member's expected death comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExpectancySource {
    /// The age recorded with the member (`lives_to`).
    Given,
    /// Table 2010CM's complete expectation of life at the member's age
    /// ([`crate::actuarial::life_expectancy`]).
    Table2010cm,
}

/// A member's expected remaining life as of a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Expectancy {
    /// The age at the nearest birthday on the date (as the IRS's tables take it,
    /// Treas. Reg. §20.2031-7(d)(2)(ii)).
    pub age: u32,
    /// The years expected to remain (at least half a year).
    pub years: rust_decimal::Decimal,
    /// The calendar year the death is expected in.
    pub death_year: i32,
    pub source: ExpectancySource,
}

/// The age at the nearest birthday on `on` of one born on `born` (0 before birth).
pub fn age_nearest(born: chrono::NaiveDate, on: chrono::NaiveDate) -> u32 {
    use chrono::Datelike;
    let Some(last) = on.years_since(born) else { return 0 };
    // Past the half-year since the last birthday, the next birthday is the nearer.
    let since = born.with_year(born.year() + last as i32).unwrap_or_else(|| {
        // Born on February 29: the birthday falls on March 1 in a common year.
        chrono::NaiveDate::from_ymd_opt(born.year() + last as i32, 3, 1).expect("March 1 exists")
    });
    let half = since.checked_add_months(chrono::Months::new(6)).unwrap_or(since);
    last + u32::from(on >= half)
}

/// The expected remaining life as of `on` of one born on `born`: to the given age `lives_to`
/// (at least half a year more), or else by Table 2010CM.
pub fn expectancy(born: chrono::NaiveDate, lives_to: Option<u32>, on: chrono::NaiveDate) -> Expectancy {
    use chrono::Datelike;
    let age = age_nearest(born, on);
    let half = rust_decimal::Decimal::new(5, 1);
    match lives_to {
        // To the day the member reaches the age (at least half a year on), in years of 365.25
        // days: the nearest birthday is the tables' way to read an age, not a stated one's.
        Some(to) => {
            let reaches = born.checked_add_months(chrono::Months::new(to * 12)).unwrap_or(on);
            let days = rust_decimal::Decimal::from((reaches - on).num_days());
            let years = (days / rust_decimal::Decimal::new(36525, 2)).round_dp(2);
            let death_year = if years > half { reaches.year() } else { on.year() };
            Expectancy { age, years: years.max(half), death_year, source: ExpectancySource::Given }
        }
        None => {
            let years = crate::actuarial::life_expectancy(age);
            Expectancy { age, years, death_year: on.year() + whole_years(years), source: ExpectancySource::Table2010cm }
        }
    }
}

/// The expected years until the later of two deaths as of `on`: by Table 2010CM's last-survivor
/// expectation ([`crate::actuarial::last_survivor_expectancy`]) when neither has an age given,
/// else the later of the two expected deaths.
pub fn second_death(
    (born, lives_to): (chrono::NaiveDate, Option<u32>),
    (born2, lives_to2): (chrono::NaiveDate, Option<u32>),
    on: chrono::NaiveDate,
) -> Expectancy {
    use chrono::Datelike;
    let (one, other) = (expectancy(born, lives_to, on), expectancy(born2, lives_to2, on));
    if lives_to.is_some() || lives_to2.is_some() {
        return if other.years > one.years { other } else { one };
    }
    let years = crate::actuarial::last_survivor_expectancy(one.age, other.age);
    Expectancy {
        age: one.age,
        years,
        death_year: on.year() + whole_years(years),
        source: ExpectancySource::Table2010cm,
    }
}

/// Years rounded to the nearest whole (a half up), as a count of calendar years.
pub fn whole_years(years: rust_decimal::Decimal) -> i32 {
    use rust_decimal::prelude::ToPrimitive;
    years.round_dp_with_strategy(0, rust_decimal::RoundingStrategy::MidpointAwayFromZero).to_i32().unwrap_or(0)
}

/// The USPS codes of the fifty states and the District of Columbia.
pub const STATES: [&str; 51] = [
    "AK", "AL", "AR", "AZ", "CA", "CO", "CT", "DC", "DE", "FL", "GA", "HI", "IA", "ID", "IL", "IN", "KS", "KY", "LA",
    "MA", "MD", "ME", "MI", "MN", "MO", "MS", "MT", "NC", "ND", "NE", "NH", "NJ", "NM", "NV", "NY", "OH", "OK", "OR",
    "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VA", "VT", "WA", "WI", "WV", "WY",
];

/// `code` as a state of domicile (upper-cased), or why not.
pub fn state(code: &str) -> Result<String, String> {
    let upper = code.trim().to_ascii_uppercase();
    if STATES.contains(&upper.as_str()) {
        Ok(upper)
    } else {
        Err(format!("{code:?} is not a state's two-letter code (NY, CA, DC, …)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relationships_read_back_and_count_generations() {
        for r in Relationship::ALL {
            assert_eq!(r.as_str().parse::<Relationship>(), Ok(r));
        }
        assert_eq!("Great-Grandchild".parse::<Relationship>(), Ok(Relationship::GreatGrandchild));
        assert!("cousin".parse::<Relationship>().unwrap_err().contains("grandchild"));
        assert_eq!(Relationship::Grandchild.generation(), Some(2));
        assert_eq!(Relationship::Spouse.generation(), Some(0));
        assert_eq!(Relationship::Other.generation(), None);
    }

    #[test]
    fn ages_are_at_the_nearest_birthday_and_expectancy_is_given_or_from_the_table() {
        let d = |y, m, day| chrono::NaiveDate::from_ymd_opt(y, m, day).unwrap();
        let born = d(1960, 3, 15);
        assert_eq!(age_nearest(born, d(2025, 3, 14)), 65);
        assert_eq!(age_nearest(born, d(2025, 9, 14)), 65);
        assert_eq!(age_nearest(born, d(2025, 9, 15)), 66);
        assert_eq!(age_nearest(born, d(1950, 1, 1)), 0);
        assert_eq!(age_nearest(d(1960, 2, 29), d(2025, 8, 31)), 65);
        assert_eq!(age_nearest(d(1960, 2, 29), d(2025, 9, 1)), 66);

        let table = expectancy(born, None, d(2025, 3, 15));
        assert_eq!(table.age, 65);
        assert_eq!(table.years, crate::actuarial::life_expectancy(65));
        assert_eq!(table.source, ExpectancySource::Table2010cm);
        // 19.1 years from 2025: the death expected in 2044.
        assert_eq!(table.death_year, 2044);

        let given = expectancy(born, Some(92), d(2025, 3, 15));
        assert_eq!(
            (given.years, given.death_year, given.source),
            (rust_decimal::Decimal::from(27), 2052, ExpectancySource::Given)
        );
        // Half a year on, to the same day: 26.50 years (not a year less at the half-birthday).
        let later = expectancy(born, Some(92), d(2025, 9, 15));
        assert_eq!((later.years, later.death_year), (rust_decimal::Decimal::new(2650, 2), 2052));
        // Already past the given age: half a year left.
        assert_eq!(expectancy(born, Some(60), d(2025, 3, 15)).years, rust_decimal::Decimal::new(5, 1));

        let couple = second_death((born, None), (d(1963, 6, 1), None), d(2025, 3, 15));
        assert!(couple.years > expectancy(d(1963, 6, 1), None, d(2025, 3, 15)).years);
        let one_given = second_death((born, Some(100)), (d(1963, 6, 1), None), d(2025, 3, 15));
        assert_eq!((one_given.years, one_given.source), (rust_decimal::Decimal::from(35), ExpectancySource::Given));
    }

    #[test]
    fn a_domicile_is_a_states_code() {
        assert_eq!(state(" ny"), Ok("NY".to_owned()));
        assert_eq!(state("DC"), Ok("DC".to_owned()));
        assert!(state("PR").unwrap_err().contains("two-letter"));
    }
}
