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
    fn a_domicile_is_a_states_code() {
        assert_eq!(state(" ny"), Ok("NY".to_owned()));
        assert_eq!(state("DC"), Ok("DC".to_owned()));
        assert!(state("PR").unwrap_err().contains("two-letter"));
    }
}
