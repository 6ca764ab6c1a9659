//! Query parameters: the one extractor every endpoint reads them with ([`Query`]), and the
//! kinds of value they take ([`Kind`]), which the OpenAPI document declares and the parsers
//! here accept, so the schema and the handlers cannot disagree.
//!
//! A value that does not parse, an empty value (`?min_position=`), a parameter given twice and
//! a parameter the endpoint does not take are all answered 422 `validation`, naming the
//! parameter in `field`.

use std::collections::BTreeSet;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use chrono::{DateTime, NaiveDate, Utc};
use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer};
use serde_json::{json, Value};

use super::problem::Problem;

/// The largest global position or version a client may send: the store keeps them as
/// signed 64-bit integers.
pub const MAX_POSITION: u64 = i64::MAX as u64;

/// What a parameter's value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Any text of at least one character.
    Text,
    /// A global position of the log: a whole number, 0 to [`MAX_POSITION`].
    Position,
    /// An instant: RFC 3339, or YYYY-MM-DD for the whole of that day (UTC).
    Instant,
    /// A day, YYYY-MM-DD.
    Day,
    /// A calendar year, 1 to 9999.
    Year,
    /// `true` or `false`.
    Flag,
    /// A stream version as an `If-Match` header: digits, optionally in double quotes.
    Version,
    /// A role that can be revoked: advisor, auditor or admin (every user stays a client).
    Role,
    /// One of these words.
    OneOf(&'static [&'static str]),
    /// An amount of dollars: digits with at most two decimals, below 10^12.
    Amount,
    /// A small count: 0, 1 or 2.
    Count,
    /// A fraction from 0 to 1 with at most six decimals (a rate: 0.05 for 5%).
    Rate,
    /// An age in whole years, 0 to 120.
    Age,
}

impl Kind {
    /// The parameter's JSON Schema in the OpenAPI document.
    pub fn schema(self) -> Value {
        match self {
            Self::Text => json!({ "type": "string", "minLength": 1 }),
            Self::Position => json!({ "type": "integer", "minimum": 0, "maximum": MAX_POSITION }),
            Self::Instant => json!({
                "type": "string",
                "anyOf": [{ "format": "date-time" }, { "format": "date" }],
            }),
            Self::Day => json!({ "type": "string", "format": "date" }),
            Self::Year => json!({ "type": "integer", "minimum": 1, "maximum": 9999 }),
            Self::Flag => json!({ "type": "boolean" }),
            Self::Version => json!({ "type": "string", "pattern": "^([0-9]{1,18}|\"[0-9]{1,18}\")$" }),
            Self::OneOf(words) => json!({ "type": "string", "enum": words }),
            Self::Amount => json!({ "type": "string", "pattern": AMOUNT_PATTERN }),
            Self::Count => json!({ "type": "integer", "minimum": 0, "maximum": 2 }),
            Self::Rate => json!({ "type": "string", "pattern": RATE_PATTERN }),
            Self::Age => json!({ "type": "integer", "minimum": 0, "maximum": 120 }),
            Self::Role => {
                use domain::user::Role;
                let names: Vec<&str> = Role::ALL.iter().filter(|r| **r != Role::Client).map(|r| r.as_str()).collect();
                json!({ "type": "string", "enum": names })
            }
        }
    }
}

/// What an amount parameter looks like.
pub const AMOUNT_PATTERN: &str = r"^[0-9]{1,12}(\.[0-9]{1,2})?$";

/// What a rate parameter looks like.
pub const RATE_PATTERN: &str = r"^(0(\.[0-9]{1,6})?|1(\.0{1,6})?)$";

/// A fraction from 0 to 1 (`Kind::Rate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate(pub rust_decimal::Decimal);

/// An age (`Kind::Age`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Age(pub u32);

/// An amount of dollars (`Kind::Amount`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Amount(pub rust_decimal::Decimal);

/// 0, 1 or 2 (`Kind::Count`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count(pub u8);

/// A global position (`Kind::Position`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Position(pub u64);

/// An instant (`Kind::Instant`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Instant(pub DateTime<Utc>);

/// The formats a report is delivered in.
pub const REPORT_FORMATS: &[&str] = &["json", "csv", "txf"];

/// A report's format (`Kind::OneOf(REPORT_FORMATS)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportFormat(pub queries::reports::Format);

/// A day (`Kind::Day`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Day(pub NaiveDate);

/// A year (`Kind::Year`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Year(pub i32);

/// A flag (`Kind::Flag`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Flag(pub bool);

/// A position: digits only, at most [`MAX_POSITION`].
pub fn position(text: &str) -> Option<u64> {
    let ok = !text.is_empty() && text.len() <= 19 && text.bytes().all(|b| b.is_ascii_digit());
    ok.then(|| text.parse::<u64>().ok()).flatten().filter(|&n| n <= MAX_POSITION)
}

/// An as-of instant or the end of a range ([`queries::instant`]): RFC 3339, or a day meaning
/// all of it in UTC (up to 23:59:59.999999).
pub fn instant(text: &str) -> Option<DateTime<Utc>> {
    queries::instant::parse(text, queries::instant::Bound::End).ok()
}

pub use queries::instant::day;

fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    String::deserialize(d)
}

macro_rules! parsed {
    ($type:ident, $parse:expr, $expected:literal) => {
        impl<'de> Deserialize<'de> for $type {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let t = text(d)?;
                $parse(t.as_str()).map($type).ok_or_else(|| D::Error::custom(format!("{t:?} is not {}", $expected)))
            }
        }
    };
}

parsed!(Position, position, "a global position (a whole number from 0 to 9223372036854775807)");
parsed!(Instant, instant, "an instant (RFC 3339, or YYYY-MM-DD for the whole of that day in UTC)");
parsed!(Day, day, "a day (YYYY-MM-DD)");
parsed!(
    ReportFormat,
    |t: &str| match t {
        "json" => Some(queries::reports::Format::Json),
        "csv" => Some(queries::reports::Format::Csv),
        "txf" => Some(queries::reports::Format::Txf),
        _ => None,
    },
    "a report format (json, csv, or txf for the gains report)"
);
parsed!(
    Year,
    |t: &str| (t.len() <= 4 && t.bytes().all(|b| b.is_ascii_digit()))
        .then(|| t.parse().ok())
        .flatten()
        .filter(|&y| y >= 1),
    "a year (1 to 9999)"
);
parsed!(
    Amount,
    |t: &str| {
        let (whole, cents) = t.split_once('.').unwrap_or((t, ""));
        let digits = |s: &str, most: usize| s.len() <= most && s.bytes().all(|b| b.is_ascii_digit());
        (digits(whole, 12) && !whole.is_empty() && digits(cents, 2) && !(t.contains('.') && cents.is_empty()))
            .then(|| t.parse().ok())
            .flatten()
    },
    "an amount of dollars (digits, at most two decimals)"
);
parsed!(Count, |t: &str| matches!(t, "0" | "1" | "2").then(|| t.parse().ok()).flatten(), "0, 1 or 2");
parsed!(
    Rate,
    |t: &str| {
        let (whole, decimals) = t.split_once('.').unwrap_or((t, ""));
        let fits = matches!(whole, "0" | "1")
            && decimals.len() <= 6
            && decimals.bytes().all(|b| b.is_ascii_digit())
            && !(t.contains('.') && decimals.is_empty())
            && (whole == "0" || decimals.bytes().all(|b| b == b'0'));
        fits.then(|| t.parse().ok()).flatten()
    },
    "a fraction from 0 to 1 (0.05 for 5%)"
);
parsed!(
    Age,
    |t: &str| (t.len() <= 3 && t.bytes().all(|b| b.is_ascii_digit()))
        .then(|| t.parse().ok())
        .flatten()
        .filter(|&a| a <= 120),
    "an age in whole years (0 to 120)"
);
parsed!(
    Flag,
    |t: &str| match t {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    },
    "true or false"
);

/// Query parameters deserialized into `T` (a struct with `#[serde(deny_unknown_fields)]`
/// whose fields are `Option`s of the types above or `String`). Every refusal is a 422
/// `validation` problem naming the parameter.
#[derive(Debug, Clone, Default)]
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parse(parts.uri.query().unwrap_or("")).map(Self)
    }
}

/// Parses a query string (without the `?`).
pub fn parse<T: DeserializeOwned>(query: &str) -> Result<T, Problem> {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    let mut seen = BTreeSet::new();
    for (name, value) in &pairs {
        if !seen.insert(name.as_str()) {
            return Err(Problem::field(name, format!("{name}: given more than once")));
        }
        if value.is_empty() {
            return Err(Problem::field(name, format!("{name}: empty (leave the parameter out instead)")));
        }
    }
    let d = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(d).map_err(|e| {
        let path = e.path().to_string();
        let message = e.into_inner().to_string();
        match unknown_field(&message) {
            Some((name, takes)) => Problem::field(&name, format!("{name}: this endpoint does not take it{takes}")),
            None => Problem::field(&path, format!("{path}: {message}")),
        }
    })
}

/// serde's "unknown field `x`, expected one of `a`, `b`" (or "there are no fields") as the
/// name and a plain-words list of what is taken.
pub(crate) fn unknown_field(message: &str) -> Option<(String, String)> {
    let rest = message.strip_prefix("unknown field `")?;
    let (name, rest) = rest.split_once('`')?;
    let names: Vec<&str> = rest.split('`').skip(1).step_by(2).collect();
    let takes = if names.is_empty() { String::new() } else { format!(" (it takes {})", names.join(", ")) };
    Some((name.to_owned(), takes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct P {
        min_position: Option<Position>,
        as_of: Option<Instant>,
        year: Option<Year>,
        allow: Option<Flag>,
    }

    fn refused(q: &str) -> (String, String) {
        let p = parse::<P>(q).expect_err(q);
        (p.extra["field"].as_str().unwrap_or_default().to_owned(), p.detail)
    }

    #[test]
    fn values_parse_as_their_kind_says() {
        let p: P = parse("min_position=9223372036854775807&as_of=2024-03-01&year=2024&allow=true").unwrap();
        assert_eq!(p.min_position, Some(Position(MAX_POSITION)));
        // A bare day is all of it: the CLI reads `2024-03-01` as the same instant.
        assert_eq!(p.as_of.unwrap().0.to_rfc3339(), "2024-03-01T23:59:59.999999+00:00");
        assert_eq!(Some(p.as_of.unwrap().0), queries::instant::parse("2024-03-01", queries::instant::Bound::End).ok());
        assert_eq!(p.year, Some(Year(2024)));
        assert_eq!(p.allow, Some(Flag(true)));
        let p: P = parse("as_of=2024-03-01T10:00:00.5-05:00").unwrap();
        assert_eq!(p.as_of.unwrap().0.to_rfc3339(), "2024-03-01T15:00:00.500+00:00");
        assert!(parse::<P>("").unwrap().min_position.is_none());
    }

    #[test]
    fn refusals_name_the_parameter() {
        assert_eq!(refused("min_position=").0, "min_position");
        assert_eq!(refused("min_position=-1").0, "min_position");
        assert_eq!(refused("min_position=9223372036854775808").0, "min_position");
        let (field, detail) = refused("as_of=yesterday");
        assert_eq!(field, "as_of");
        assert!(detail.contains("RFC 3339"), "{detail}");
        assert_eq!(refused("year=0").0, "year");
        assert_eq!(refused("allow=1").0, "allow");
        assert_eq!(refused("year=2024&year=2025").0, "year");
        let (field, detail) = refused("colour=red");
        assert_eq!(field, "colour");
        assert!(detail.contains("it takes min_position, as_of, year, allow"), "{detail}");
        assert!(!detail.contains('`'), "{detail}");
    }
}
