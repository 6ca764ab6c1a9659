//! `cairn calendar …` and `GET /v1/calendar/…`: the NYSE's trading sessions and its next
//! opening or closing, from `domain::calendar` (pure: no database).

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::America::New_York;
use domain::calendar::{self, Edge};
use serde::Serialize;

use crate::reports::Report;

/// The longest range of days one request may list (about 27 years).
pub const MAX_DAYS: i64 = 10_000;

/// A day of the trading calendar: its session, or why there is none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Day {
    pub date: NaiveDate,
    /// `open`, or `closed`.
    pub status: &'static str,
    /// The open and close in New York (`HH:MM`) and as instants.
    pub open: Option<String>,
    pub close: Option<String>,
    pub open_at: Option<DateTime<Utc>>,
    pub close_at: Option<DateTime<Utc>>,
    pub early_close: bool,
    /// Why the exchange is closed (a weekend, a holiday, a special closing).
    pub reason: Option<String>,
    /// Whether trades made that day settle on it (DTC and Federal Reserve business days), a
    /// calendar of its own.
    pub settlement_day: bool,
}

/// The sessions from `from` to `to` (both included); with `closed`, the days without one too,
/// with their reasons. Refuses a range that is backwards or longer than [`MAX_DAYS`], naming
/// the field.
pub fn days(from: NaiveDate, to: NaiveDate, closed: bool) -> Result<Vec<Day>, (&'static str, String)> {
    if from > to {
        return Err(("from", format!("{from} is after to, {to}")));
    }
    if (to - from).num_days() >= MAX_DAYS {
        return Err(("to", format!("at most {MAX_DAYS} days at a time")));
    }
    let hm = |t: DateTime<Utc>| t.with_timezone(&New_York).format("%H:%M").to_string();
    Ok(from
        .iter_days()
        .take_while(|d| *d <= to)
        .filter_map(|d| match calendar::session(d) {
            Some(s) => Some(Day {
                date: d,
                status: "open",
                open: Some(hm(s.open)),
                close: Some(hm(s.close)),
                open_at: Some(s.open),
                close_at: Some(s.close),
                early_close: s.early_close,
                reason: s.early_close.then(|| format!("early close at {}", hm(s.close))),
                settlement_day: calendar::is_settlement_day(d),
            }),
            None if closed => Some(Day {
                date: d,
                status: "closed",
                open: None,
                close: None,
                open_at: None,
                close_at: None,
                early_close: false,
                reason: calendar::why_closed(d),
                settlement_day: false,
            }),
            None => None,
        })
        .collect())
}

/// The days as a report.
pub fn days_report(days: &[Day]) -> Report {
    let text = |s: &Option<String>| s.clone().unwrap_or_default();
    let at =
        |t: &Option<DateTime<Utc>>| t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)).unwrap_or_default();
    Report {
        name: "sessions",
        columns: vec![
            "date",
            "status",
            "open",
            "close",
            "open_at",
            "close_at",
            "early_close",
            "settlement_day",
            "reason",
        ],
        rows: days
            .iter()
            .map(|d| {
                vec![
                    d.date.to_string(),
                    d.status.to_owned(),
                    text(&d.open),
                    text(&d.close),
                    at(&d.open_at),
                    at(&d.close_at),
                    d.early_close.to_string(),
                    d.settlement_day.to_string(),
                    text(&d.reason),
                ]
            })
            .collect(),
        totals: Vec::new(),
        summary: vec![("trading_days", serde_json::json!(days.iter().filter(|d| d.status == "open").count()))],
    }
}

/// The exchange's next opening or closing after an instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Next {
    pub after: DateTime<Utc>,
    /// `open` or `close`.
    pub event: &'static str,
    pub at: DateTime<Utc>,
    /// The same instant in New York (RFC 3339 with its offset).
    pub at_new_york: String,
    /// The session it opens or closes.
    pub session: NaiveDate,
    pub early_close: bool,
    /// Whether the exchange is in a session at `after`.
    pub open_now: bool,
}

/// The first opening or closing strictly after `after`.
pub fn next(after: DateTime<Utc>) -> Next {
    let (edge, at, session) = calendar::next_edge(after);
    Next {
        after,
        event: match edge {
            Edge::Open => "open",
            Edge::Close => "close",
        },
        at,
        at_new_york: at.with_timezone(&New_York).to_rfc3339(),
        session: session.date,
        early_close: session.early_close,
        open_now: edge == Edge::Close && session.open <= after,
    }
}

impl Next {
    pub fn report(&self) -> Report {
        Report {
            name: "next",
            columns: vec!["event", "at", "at_new_york", "session", "early_close", "open_now"],
            rows: vec![vec![
                self.event.to_owned(),
                self.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                self.at_new_york.clone(),
                self.session.to_string(),
                self.early_close.to_string(),
                self.open_now.to_string(),
            ]],
            totals: Vec::new(),
            summary: vec![("after", serde_json::json!(self.after))],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn a_week_with_a_holiday_and_an_early_close() {
        // Thanksgiving week 2025: Thursday closed, Friday closes at 13:00.
        let week = days(d("2025-11-24"), d("2025-11-30"), true).unwrap();
        let shown: Vec<(String, &str, Option<String>)> =
            week.iter().map(|x| (x.date.to_string(), x.status, x.close.clone())).collect();
        assert_eq!(shown[3], ("2025-11-27".into(), "closed", None));
        assert_eq!(shown[4], ("2025-11-28".into(), "open", Some("13:00".into())));
        assert!(week[3].reason.as_deref().unwrap().contains("Thanksgiving Day"));
        assert_eq!(days(d("2025-11-24"), d("2025-11-30"), false).unwrap().len(), 4);
        assert_eq!(days(d("2025-11-30"), d("2025-11-24"), false).unwrap_err().0, "from");
    }

    #[test]
    fn columbus_day_trades_but_does_not_settle() {
        let day = &days(d("2025-10-13"), d("2025-10-13"), false).unwrap()[0];
        assert_eq!((day.status, day.settlement_day), ("open", false));
    }

    #[test]
    fn the_next_edge_says_whether_the_exchange_is_open() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let n = next(at("2025-11-28T15:00:00Z"));
        assert_eq!((n.event, n.at, n.open_now, n.early_close), ("close", at("2025-11-28T18:00:00Z"), true, true));
        assert_eq!(n.at_new_york, "2025-11-28T13:00:00-05:00");
        let n = next(at("2025-11-26T22:00:00Z"));
        assert_eq!((n.event, n.session, n.open_now), ("open", d("2025-11-28"), false));
    }
}
