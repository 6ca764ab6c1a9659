//! `cairn market intraday` and `GET /v1/prices/{symbol}/intraday`: a day's intraday aggregates
//! from the first provider that serves them (`Capability::Intraday`: Polygon, Alpaca), each
//! window placed in its session (pre-market, regular, after-hours: the NYSE's core session of
//! that day from `domain::calendar::regular_hours`, early closes included), and the day's
//! figures over the regular session: open, high, low, close, volume and VWAP. Asked live, not
//! recorded: the daily bars are the record.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::America::New_York;
use queries::reports::Report;
use rust_decimal::Decimal;

use super::provider::{IntradayBar, INTRADAY_MINUTES};
use super::selector::{Attempt, Exhausted, Selector};

/// Where a window falls in its day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Session {
    /// Before the open (from 04:00 ET).
    Pre,
    /// The core session, from the open to the close (13:00 on an early-close day).
    Regular,
    /// From the close (to 20:00 ET); also every window of a day the exchange was closed.
    Post,
}

impl Session {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pre => "pre",
            Self::Regular => "regular",
            Self::Post => "post",
        }
    }

    /// The session of the window starting at `at`.
    pub fn of(at: DateTime<Utc>) -> Self {
        let local = at.with_timezone(&New_York);
        match domain::calendar::regular_hours(local.date_naive()) {
            Some((open, _)) if local.time() < open => Self::Pre,
            Some((_, close)) if local.time() < close => Self::Regular,
            _ => Self::Post,
        }
    }
}

/// One window as answered: its start (UTC and New York), session and prices.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct Window {
    pub at: DateTime<Utc>,
    /// The start in New York, `HH:MM`.
    pub time: String,
    pub session: Session,
    pub open: Decimal,
    pub high: Decimal,
    pub low: Decimal,
    pub close: Decimal,
    pub volume: Decimal,
    pub vwap: Option<Decimal>,
}

/// The day's figures over some windows: the first open, the highest high, the lowest low, the
/// last close, the volume, and the volume-weighted average of the windows' VWAPs (six places;
/// absent unless every window has a VWAP and there was volume).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct Summary {
    pub open: Decimal,
    pub high: Decimal,
    pub low: Decimal,
    pub close: Decimal,
    pub volume: Decimal,
    pub vwap: Option<Decimal>,
}

impl Summary {
    fn of<'a>(windows: impl IntoIterator<Item = &'a Window>) -> Option<Self> {
        let mut windows = windows.into_iter();
        let first = windows.next()?;
        let mut s = Summary {
            open: first.open,
            high: first.high,
            low: first.low,
            close: first.close,
            volume: first.volume,
            vwap: None,
        };
        let mut traded = first.vwap.map(|v| v * first.volume);
        for w in windows {
            s.high = s.high.max(w.high);
            s.low = s.low.min(w.low);
            s.close = w.close;
            s.volume += w.volume;
            traded = traded.zip(w.vwap).map(|(t, v)| t + v * w.volume);
        }
        s.vwap = traded.filter(|_| !s.volume.is_zero()).map(|t| (t / s.volume).round_dp(6).normalize());
        Some(s)
    }
}

/// A day's core session in New York, `HH:MM`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct Hours {
    pub open: String,
    pub close: String,
}

/// A day's intraday aggregates of one symbol.
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
pub struct Day {
    pub symbol: String,
    pub date: NaiveDate,
    pub minutes: u32,
    /// The provider that answered.
    pub provider: String,
    /// The providers asked before it, and why they did not answer.
    pub attempts: Vec<Attempt>,
    /// The day's core session in New York (`09:30`–`16:00`, `13:00` on an early close); absent
    /// on a day the exchange was closed.
    pub regular_hours: Option<Hours>,
    /// The day's figures over the regular session's windows (absent when none traded).
    pub regular: Option<Summary>,
    pub windows: Vec<Window>,
}

/// Why a day's aggregates could not be had.
#[derive(Debug, thiserror::Error)]
pub enum IntradayError {
    /// The request itself is wrong, naming the field.
    #[error("{field}: {problem}")]
    Invalid { field: &'static str, problem: String },
    #[error(transparent)]
    Exhausted(#[from] Exhausted),
}

/// Today in New York, the day asked for when none is given.
pub fn today() -> NaiveDate {
    super::providers::new_york_day(Utc::now())
}

/// `symbol`'s `minutes`-minute aggregates (within [`INTRADAY_MINUTES`]) on the New York day
/// `date`, from the first provider that serves them and answers.
pub async fn day(selector: &Selector, symbol: &str, date: NaiveDate, minutes: u32) -> Result<Day, IntradayError> {
    if !INTRADAY_MINUTES.contains(&minutes) {
        return Err(IntradayError::Invalid {
            field: "minutes",
            problem: format!(
                "{minutes} is not a window length from {} to {}",
                INTRADAY_MINUTES.start(),
                INTRADAY_MINUTES.end()
            ),
        });
    }
    let symbol = symbol.trim().to_ascii_uppercase();
    if symbol.is_empty() {
        return Err(IntradayError::Invalid { field: "symbol", problem: "is empty".into() });
    }
    let answered = selector.intraday_bars(&symbol, date, minutes).await?;
    let windows: Vec<Window> = answered.value.iter().map(window).collect();
    let regular = Summary::of(windows.iter().filter(|w| w.session == Session::Regular));
    let hm = |t: chrono::NaiveTime| t.format("%H:%M").to_string();
    Ok(Day {
        symbol,
        date,
        minutes,
        provider: answered.provider,
        attempts: answered.attempts,
        regular_hours: domain::calendar::regular_hours(date).map(|(o, c)| Hours { open: hm(o), close: hm(c) }),
        regular,
        windows,
    })
}

fn window(b: &IntradayBar) -> Window {
    Window {
        at: b.at,
        time: b.at.with_timezone(&New_York).format("%H:%M").to_string(),
        session: Session::of(b.at),
        open: b.bar.open,
        high: b.bar.high,
        low: b.bar.low,
        close: b.bar.close,
        volume: b.bar.volume,
        vwap: b.bar.vwap,
    }
}

impl Day {
    /// The windows as a report (time in New York, session, prices), the regular session's
    /// figures in the summary.
    pub fn report(&self) -> Report {
        let rows = self
            .windows
            .iter()
            .map(|w| {
                vec![
                    w.time.clone(),
                    w.session.as_str().to_owned(),
                    w.open.to_string(),
                    w.high.to_string(),
                    w.low.to_string(),
                    w.close.to_string(),
                    w.volume.to_string(),
                    w.vwap.map(|v| v.to_string()).unwrap_or_default(),
                ]
            })
            .collect();
        Report {
            name: "intraday",
            columns: vec!["time", "session", "open", "high", "low", "close", "volume", "vwap"],
            rows,
            totals: Vec::new(),
            summary: vec![
                ("symbol", serde_json::json!(self.symbol)),
                ("date", serde_json::json!(self.date)),
                ("minutes", serde_json::json!(self.minutes)),
                ("provider", serde_json::json!(self.provider)),
                ("regular_hours", serde_json::json!(self.regular_hours)),
                ("regular", serde_json::json!(self.regular)),
            ],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn windows_fall_in_the_days_own_sessions() {
        // 14 March 2024 (EDT, UTC-4): the open is 13:30Z, the close 20:00Z.
        assert_eq!(Session::of(at("2024-03-14T13:29:00Z")), Session::Pre);
        assert_eq!(Session::of(at("2024-03-14T13:30:00Z")), Session::Regular);
        assert_eq!(Session::of(at("2024-03-14T19:59:00Z")), Session::Regular);
        assert_eq!(Session::of(at("2024-03-14T20:00:00Z")), Session::Post);
        // The day after Thanksgiving 2025 (EST, UTC-5) closes at 13:00, 18:00Z.
        assert_eq!(Session::of(at("2025-11-28T17:59:00Z")), Session::Regular);
        assert_eq!(Session::of(at("2025-11-28T18:00:00Z")), Session::Post);
    }

    #[test]
    fn the_sessions_vwap_weighs_each_window_by_its_volume() {
        let w = |open: &str, high: &str, low: &str, close: &str, volume: &str, vwap: Option<&str>| Window {
            at: at("2024-03-14T13:30:00Z"),
            time: "09:30".into(),
            session: Session::Regular,
            open: open.parse().unwrap(),
            high: high.parse().unwrap(),
            low: low.parse().unwrap(),
            close: close.parse().unwrap(),
            volume: volume.parse().unwrap(),
            vwap: vwap.map(|v| v.parse().unwrap()),
        };
        let windows =
            [w("10", "11", "9.5", "10.5", "100", Some("10.2")), w("10.5", "12", "10", "11", "300", Some("11"))];
        let s = Summary::of(&windows).unwrap();
        // (10.2 × 100 + 11 × 300) / 400 = 10.8.
        assert_eq!(
            (s.open, s.high, s.low, s.close, s.volume, s.vwap),
            (
                "10".parse().unwrap(),
                "12".parse().unwrap(),
                "9.5".parse().unwrap(),
                "11".parse().unwrap(),
                "400".parse().unwrap(),
                Some("10.8".parse().unwrap())
            )
        );
        let without = [windows[0].clone(), w("10.5", "12", "10", "11", "300", None)];
        assert_eq!(Summary::of(&without).unwrap().vwap, None);
        assert_eq!(Summary::of(&[]), None);
    }
}
