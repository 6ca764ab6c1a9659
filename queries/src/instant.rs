//! The one reader of instants for the CLI and HTTP: `as_of`, `from` and `to` mean the same
//! thing in both.
//!
//! An instant is RFC 3339 (any offset; `T`, `t` or a space between date and time), taken
//! exactly as written, or a bare day `YYYY-MM-DD` (four-digit year), which stands for the whole
//! of that day in UTC: its first microsecond where it starts a range ([`Bound::Start`]), its last
//! (23:59:59.999999, so the whole last second is in) where it ends one or is the instant of an
//! as-of replay ([`Bound::End`]). "As of 2025-04-15" therefore includes everything recorded on
//! the 15th, as on a statement dated that day.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};

/// Which end of a day a bare date stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// The start of a range (`from`): the day's first microsecond.
    Start,
    /// The end of a range (`to`) or an as-of instant: the day's last microsecond.
    End,
}

/// Why a text is not an instant (its `Display` says what is expected).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{text:?} is not an instant (RFC 3339, e.g. 2025-04-15T14:30:00Z, or YYYY-MM-DD for the whole of that day in UTC)"
)]
pub struct NotAnInstant {
    pub text: String,
}

/// Reads an instant (see the module documentation).
pub fn parse(text: &str, bound: Bound) -> Result<DateTime<Utc>, NotAnInstant> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    let day = day(text).ok_or_else(|| NotAnInstant { text: text.to_owned() })?;
    Ok(match bound {
        Bound::Start => day.and_time(NaiveTime::MIN).and_utc(),
        Bound::End => day.and_hms_micro_opt(23, 59, 59, 999_999).expect("a valid time").and_utc(),
    })
}

/// A day, YYYY-MM-DD (four-digit year).
pub fn day(text: &str) -> Option<NaiveDate> {
    let shaped = text.len() == 10 && text.as_bytes()[4] == b'-' && text.as_bytes()[7] == b'-';
    shaped.then(|| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str, bound: Bound) -> String {
        parse(text, bound).unwrap().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
    }

    #[test]
    fn a_bare_day_is_the_whole_day_in_utc() {
        assert_eq!(at("2025-04-15", Bound::Start), "2025-04-15T00:00:00.000000Z");
        assert_eq!(at("2025-04-15", Bound::End), "2025-04-15T23:59:59.999999Z", "the whole last second");
    }

    #[test]
    fn rfc_3339_is_taken_exactly_in_any_offset_and_separator() {
        for bound in [Bound::Start, Bound::End] {
            assert_eq!(at("2024-03-01T10:00:00.5-05:00", bound), "2024-03-01T15:00:00.500000Z");
            assert_eq!(at("2024-03-01 10:00:00Z", bound), "2024-03-01T10:00:00.000000Z");
            assert_eq!(at("2024-03-01t10:00:00z", bound), "2024-03-01T10:00:00.000000Z");
        }
    }

    #[test]
    fn anything_else_is_refused_saying_what_is_expected() {
        for text in ["yesterday", "2025-4-15", "25-04-15", "2025-02-30", "", "2025-04-15T25:00:00Z"] {
            let e = parse(text, Bound::End).unwrap_err();
            assert!(e.to_string().starts_with(&format!("{text:?} is not an instant (RFC 3339")), "{e}");
        }
    }
}
