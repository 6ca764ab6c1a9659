//! Stream ids: the one place that builds them from names and reads them back.
//!
//! Every aggregate instance lives in one stream of the event log, named `<category>-<id>`:
//!
//! | stream | id part | built by |
//! | --- | --- | --- |
//! | `ledger-<household>` | the household's key | [`Stream::ledger`] |
//! | `portfolio-<household>--<portfolio>` | both keys | [`Stream::portfolio`] |
//! | `market-<SYMBOL>` | the ticker, upper case | [`Stream::market`] |
//! | `user-<uuid>` | the canonical user id | [`Stream::user`] |
//!
//! A household or portfolio key is its name lowercased (any script) with each run of anything
//! but letters and digits turned into one `_` ([`household_key`]); a name with no letters or
//! digits has no key and is refused, naming the field. [`Stream::parse`] reads an id back into
//! its parts, so a projector or worker never slices a stream id by hand.

use crate::ledger::types::is_ticker;
use crate::DomainError;

/// A household's (or portfolio's) key for a name: lowercase (any script), with runs of anything
/// but letters and digits turned into one `_`, and none at either end. Empty when the name has
/// no letters or digits.
pub fn household_key(name: &str) -> String {
    let mut key = String::with_capacity(name.len());
    for c in name.trim().chars() {
        if c.is_alphanumeric() {
            key.extend(c.to_lowercase());
        } else if !key.ends_with('_') {
            key.push('_');
        }
    }
    key.trim_matches('_').to_owned()
}

/// A household's key ([`household_key`] of its name), never empty.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HouseholdKey(String);

impl HouseholdKey {
    /// The key of a household name; refused (field `household`) when the name has no letters
    /// or digits.
    pub fn new(name: &str) -> Result<Self, DomainError> {
        Self::named("household", name)
    }

    fn named(field: &str, name: &str) -> Result<Self, DomainError> {
        let key = household_key(name);
        if key.is_empty() {
            return Err(DomainError::Rejected {
                line: None,
                field: field.to_owned(),
                problem: format!("{name:?} has no letters or digits"),
            });
        }
        Ok(Self(key))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for HouseholdKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A stream of the event log, by what it holds.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stream {
    /// A household's ledger: accounts, rows, contributions, wash sales.
    Ledger(HouseholdKey),
    /// One portfolio of a household.
    Portfolio { household: HouseholdKey, portfolio: HouseholdKey },
    /// A symbol's daily bars.
    Market(String),
    /// A user (its canonical id: a lowercase hyphenated UUID).
    User(String),
    /// The operations of one trading session (`crate::ops`).
    Ops(chrono::NaiveDate),
    /// A household's alerts (`crate::alerts`).
    Alerts(HouseholdKey),
}

impl Stream {
    /// `ledger-<household key>`.
    pub fn ledger(household: &str) -> Result<Self, DomainError> {
        Ok(Self::Ledger(HouseholdKey::new(household)?))
    }

    /// `portfolio-<household key>--<portfolio key>`.
    pub fn portfolio(household: &str, name: &str) -> Result<Self, DomainError> {
        Ok(Self::Portfolio {
            household: HouseholdKey::new(household)?,
            portfolio: HouseholdKey::named("portfolio", name)?,
        })
    }

    /// `market-<SYMBOL>`, the symbol trimmed and upper-cased; refused (field `symbol`) when it is
    /// not a ticker.
    pub fn market(symbol: &str) -> Result<Self, DomainError> {
        let s = symbol.trim().to_ascii_uppercase();
        if !is_ticker(&s) {
            return Err(DomainError::Rejected {
                line: None,
                field: "symbol".into(),
                problem: format!("{symbol:?} is not a ticker (letters, digits, . - /)"),
            });
        }
        Ok(Self::Market(s))
    }

    /// `user-<id>` for a canonical user id (the caller canonicalizes it).
    pub fn user(canonical_id: &str) -> Self {
        Self::User(canonical_id.to_owned())
    }

    /// The stream id.
    pub fn id(&self) -> String {
        match self {
            Self::Ledger(h) => format!("ledger-{h}"),
            Self::Portfolio { household, portfolio } => format!("portfolio-{household}--{portfolio}"),
            Self::Market(symbol) => format!("market-{symbol}"),
            Self::User(id) => format!("user-{id}"),
            Self::Ops(date) => format!("ops-{date}"),
            Self::Alerts(h) => format!("alerts-{h}"),
        }
    }

    /// Reads a stream id back, checking each part; `None` for an id of another shape (a
    /// category cairn does not write, or a part that is not a key).
    pub fn parse(id: &str) -> Option<Self> {
        let key = |s: &str| (!s.is_empty() && household_key(s) == s).then(|| HouseholdKey(s.to_owned()));
        match Parts::of(id)? {
            Parts::Ledger(h) => key(h).map(Self::Ledger),
            Parts::Portfolio(h, p) => Some(Self::Portfolio { household: key(h)?, portfolio: key(p)? }),
            Parts::Market(s) => is_ticker(s).then(|| Self::Market(s.to_owned())),
            Parts::User(u) => (!u.is_empty()).then(|| Self::User(u.to_owned())),
            Parts::Ops(d) => d.parse().ok().map(Self::Ops),
            Parts::Alerts(h) => key(h).map(Self::Alerts),
        }
    }
}

impl std::fmt::Display for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.id())
    }
}

/// A stream id's parts, borrowed and unchecked: for ids read from the log, which only
/// [`Stream::id`] wrote (the projectors' hot path allocates nothing per event).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parts<'a> {
    Ledger(&'a str),
    /// Household key, portfolio key.
    Portfolio(&'a str, &'a str),
    Market(&'a str),
    User(&'a str),
    /// A session's date, `YYYY-MM-DD`.
    Ops(&'a str),
    /// A household key.
    Alerts(&'a str),
}

impl<'a> Parts<'a> {
    /// The parts of `id`; `None` for a category cairn does not write or a portfolio id
    /// without `--`.
    pub fn of(id: &'a str) -> Option<Self> {
        let (category, rest) = id.split_once('-')?;
        match category {
            "ledger" => Some(Self::Ledger(rest)),
            "portfolio" => rest.split_once("--").map(|(h, p)| Self::Portfolio(h, p)),
            "market" => Some(Self::Market(rest)),
            "user" => Some(Self::User(rest)),
            "ops" => Some(Self::Ops(rest)),
            "alerts" => Some(Self::Alerts(rest)),
            _ => None,
        }
    }

    /// The household key of a ledger, portfolio or alerts stream.
    pub fn household(self) -> Option<&'a str> {
        match self {
            Self::Ledger(h) | Self::Portfolio(h, _) | Self::Alerts(h) => Some(h),
            Self::Market(_) | Self::User(_) | Self::Ops(_) => None,
        }
    }
}

/// The household key a stream id belongs to (its ledger or one of its portfolios).
pub fn household_of(stream_id: &str) -> Option<&str> {
    Parts::of(stream_id)?.household()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_built_from_names_and_read_back() {
        let l = Stream::ledger("  The Smith Family ").unwrap();
        assert_eq!(l.id(), "ledger-the_smith_family");
        assert_eq!(Stream::parse(&l.id()), Some(l));
        let p = Stream::portfolio("Smith", "Retirement (core)").unwrap();
        assert_eq!(p.id(), "portfolio-smith--retirement_core");
        assert_eq!(Stream::parse(&p.id()), Some(p.clone()));
        assert_eq!(Stream::market(" brk-b ").unwrap().id(), "market-BRK-B");
        assert_eq!(Stream::parse("market-BRK-B"), Some(Stream::Market("BRK-B".into())));
        assert_eq!(household_of("portfolio-smith--core"), Some("smith"));
        assert_eq!(Parts::of("portfolio-smith"), None, "a portfolio id has `--`");
        assert_eq!(household_of("market-VTI"), None);
        assert_eq!(Stream::parse("ledger-Smith"), None, "not a key");
        let ops = Stream::Ops("2025-11-28".parse().unwrap());
        assert_eq!((ops.id(), Stream::parse("ops-2025-11-28")), ("ops-2025-11-28".to_owned(), Some(ops)));
        assert_eq!(Stream::parse("ops-yesterday"), None);
        assert_eq!(household_of("alerts-smith"), Some("smith"));
        assert_eq!(Stream::parse("orders-1"), None);
    }

    #[test]
    fn names_without_letters_or_digits_are_refused_naming_the_field() {
        let e = Stream::portfolio("smith", "--").unwrap_err();
        assert!(matches!(&e, DomainError::Rejected { field, .. } if field == "portfolio"), "{e}");
        let e = Stream::ledger(" & ").unwrap_err();
        assert_eq!(e.to_string(), "household: \" & \" has no letters or digits");
        assert!(Stream::market("not a ticker").is_err());
    }
}
