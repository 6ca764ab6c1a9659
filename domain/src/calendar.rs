//! Trading days and settlement dates.
//!
//! Data tables and rules, each with its source, so next year's change is a one-line edit:
//! [`SETTLEMENT_CYCLES`] (how many settlement days after the trade date a US equity trade
//! settles), the NYSE holiday rules in [`nyse_holidays`] plus [`SPECIAL_CLOSINGS`] (the trading
//! calendar, [`is_market_closed`], with [`why_closed`]), its early closes ([`is_early_close`]) and
//! core hours ([`REGULAR_HOURS`], [`EARLY_CLOSE`]), which make each day's [`Session`] (open and
//! close as instants, New York's daylight saving time in them; [`next_edge`]), and the Federal
//! Reserve holiday rules in [`fed_holidays`].
//!
//! Trading and settlement follow different calendars. A settlement day ([`is_settlement_day`])
//! is a weekday on which the exchange is open and the Federal Reserve is too: on Columbus Day
//! and Veterans Day the exchanges trade but banks, the Fed and DTC are closed, so those days are
//! not settlement dates (FINRA Notice to Members 95-77 for Columbus Day and 88-82 for Veterans
//! Day: the markets are open for trading, but the day is not a settlement date); NYSE holidays
//! and closings such as Good Friday are not settlement dates either (FINRA's holiday trade
//! date-settlement date schedules).

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::America::New_York;

/// (first trade date the cycle applies to, business days to settle, source).
pub const SETTLEMENT_CYCLES: &[(NaiveDate, u32, &str)] = &[
    (date(1995, 6, 7), 3, "SEC Rule 15c6-1, Release 34-33023 (T+3)"),
    (date(2017, 9, 5), 2, "SEC Release 34-80295 (T+2, compliance date 5 September 2017)"),
    (date(2024, 5, 28), 1, "SEC Release 34-96930 (T+1, compliance date 28 May 2024)"),
];

/// Whole-day NYSE closings outside the regular holiday rules (NYSE Rule 7.2 and the
/// Exchange's announcements).
pub const SPECIAL_CLOSINGS: &[(NaiveDate, &str)] = &[
    (date(2001, 9, 11), "September 11 attacks"),
    (date(2001, 9, 12), "September 11 attacks"),
    (date(2001, 9, 13), "September 11 attacks"),
    (date(2001, 9, 14), "September 11 attacks"),
    (date(2004, 6, 11), "National Day of Mourning, President Reagan"),
    (date(2007, 1, 2), "National Day of Mourning, President Ford"),
    (date(2012, 10, 29), "Hurricane Sandy"),
    (date(2012, 10, 30), "Hurricane Sandy"),
    (date(2018, 12, 5), "National Day of Mourning, President G. H. W. Bush"),
    (date(2025, 1, 9), "National Day of Mourning, President Carter"),
];

const fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    match NaiveDate::from_ymd_opt(y, m, d) {
        Some(d) => d,
        None => panic!("invalid date in a calendar table"),
    }
}

/// The `n`th `weekday` of a month (n = 1 is the first, up to 4).
pub fn nth_weekday(year: i32, month: u32, weekday: Weekday, n: u8) -> NaiveDate {
    NaiveDate::from_weekday_of_month_opt(year, month, weekday, n).expect("every month has a 4th weekday")
}

/// The last `weekday` of a month.
pub fn last_weekday(year: i32, month: u32, weekday: Weekday) -> NaiveDate {
    NaiveDate::from_weekday_of_month_opt(year, month, weekday, 5)
        .unwrap_or_else(|| nth_weekday(year, month, weekday, 4))
}

/// Easter Sunday of the Gregorian calendar (the anonymous algorithm of Meeus, Jones and
/// Butcher).
pub fn easter(year: i32) -> NaiveDate {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, month as u32, day as u32).expect("Easter is a real date")
}

/// A fixed-date holiday moved off the weekend: Saturday to Friday, Sunday to Monday.
fn observed(d: NaiveDate) -> NaiveDate {
    match d.weekday() {
        Weekday::Sat => d - Duration::days(1),
        Weekday::Sun => d + Duration::days(1),
        _ => d,
    }
}

/// The regular NYSE holidays of a year, by the rules of NYSE Rule 7.2 ("Holidays"):
/// New Year's Day (not moved to the Friday before when it falls on a Saturday), Martin Luther
/// King Jr. Day (third Monday of January, from 1998), Washington's Birthday (third Monday of
/// February), Good Friday, Memorial Day (last Monday of May), Juneteenth (19 June, from 2022),
/// Independence Day, Labor Day (first Monday of September), Thanksgiving (fourth Thursday of
/// November) and Christmas; fixed-date holidays on a weekend move to the Friday before or the
/// Monday after.
pub fn nyse_holidays(year: i32) -> Vec<NaiveDate> {
    let mut days = Vec::with_capacity(10);
    let new_year = date(year, 1, 1);
    if new_year.weekday() != Weekday::Sat {
        days.push(observed(new_year));
    }
    if year >= 1998 {
        days.push(nth_weekday(year, 1, Weekday::Mon, 3));
    }
    days.push(nth_weekday(year, 2, Weekday::Mon, 3));
    days.push(easter(year) - Duration::days(2));
    days.push(last_weekday(year, 5, Weekday::Mon));
    if year >= 2022 {
        days.push(observed(date(year, 6, 19)));
    }
    days.push(observed(date(year, 7, 4)));
    days.push(nth_weekday(year, 9, Weekday::Mon, 1));
    days.push(nth_weekday(year, 11, Weekday::Thu, 4));
    days.push(observed(date(year, 12, 25)));
    days
}

/// True on weekends, NYSE holidays and special closings.
pub fn is_market_closed(d: NaiveDate) -> bool {
    matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
        || SPECIAL_CLOSINGS.iter().any(|(c, _)| *c == d)
        || nyse_holidays(d.year()).contains(&d)
}

/// Why the NYSE is closed on `d`, or `None` when it trades.
pub fn why_closed(d: NaiveDate) -> Option<String> {
    if !is_market_closed(d) {
        return None;
    }
    Some(match d.weekday() {
        Weekday::Sat => format!("{d} is a Saturday: the NYSE does not trade on weekends"),
        Weekday::Sun => format!("{d} is a Sunday: the NYSE does not trade on weekends"),
        _ => match SPECIAL_CLOSINGS.iter().find(|(c, _)| *c == d) {
            Some((_, why)) => format!("{d}: the NYSE was closed ({why})"),
            None => format!("{d} is {}, an NYSE holiday (NYSE Rule 7.2)", holiday_name(d)),
        },
    })
}

/// The name of the NYSE holiday on `d` (a date in [`nyse_holidays`]). Each holiday
/// falls in its own month, except New Year's Day (1 or 2 January) and Martin Luther King Jr. Day
/// (15 to 21 January); Good Friday falls in March or April.
fn holiday_name(d: NaiveDate) -> String {
    let (name, fixed) = match d.month() {
        1 if d.day() <= 2 => ("New Year's Day", Some(1)),
        1 => ("Martin Luther King Jr. Day", None),
        2 => ("Washington's Birthday", None),
        3 | 4 => ("Good Friday", None),
        5 => ("Memorial Day", None),
        6 => ("Juneteenth", Some(19)),
        7 => ("Independence Day", Some(4)),
        9 => ("Labor Day", None),
        11 => ("Thanksgiving Day", None),
        12 => ("Christmas Day", Some(25)),
        _ => ("a holiday", None),
    };
    match fixed {
        Some(day) if day != d.day() => format!("{name} (observed)"),
        _ => name.to_owned(),
    }
}

/// The holidays of the Federal Reserve System in a year, by the rules of the Board of Governors'
/// "Holidays Observed by the Federal Reserve System" (federalreserve.gov/aboutthefed/k8.htm):
/// New Year's Day, Martin Luther King Jr. Day (third Monday of January, a federal holiday from
/// 1986, Pub. L. 98-144), Washington's Birthday (third Monday of February), Memorial Day (last
/// Monday of May), Juneteenth National Independence Day (19 June, from 2021, Pub. L. 117-17;
/// 2021's fell on a Saturday, so the Fed first closed for it on Monday 20 June 2022),
/// Independence Day, Labor Day (first Monday of September), Columbus Day (second Monday of
/// October), Veterans Day (11 November), Thanksgiving Day (fourth Thursday of November) and
/// Christmas Day. A holiday falling on a Sunday is observed the Monday after; one falling on a
/// Saturday is not observed: the Reserve Banks are open the Friday before (unlike the NYSE's
/// rule, which closes that Friday).
pub fn fed_holidays(year: i32) -> Vec<NaiveDate> {
    let fixed = |month: u32, day: u32| {
        let d = date(year, month, day);
        match d.weekday() {
            Weekday::Sat => None,
            Weekday::Sun => Some(d + Duration::days(1)),
            _ => Some(d),
        }
    };
    let mut days = Vec::with_capacity(11);
    days.extend(fixed(1, 1));
    if year >= 1986 {
        days.push(nth_weekday(year, 1, Weekday::Mon, 3));
    }
    days.push(nth_weekday(year, 2, Weekday::Mon, 3));
    days.push(last_weekday(year, 5, Weekday::Mon));
    if year >= 2021 {
        days.extend(fixed(6, 19));
    }
    days.extend(fixed(7, 4));
    days.push(nth_weekday(year, 9, Weekday::Mon, 1));
    days.push(nth_weekday(year, 10, Weekday::Mon, 2));
    days.extend(fixed(11, 11));
    days.push(nth_weekday(year, 11, Weekday::Thu, 4));
    days.extend(fixed(12, 25));
    days
}

/// The NYSE's core trading session on a full day: 09:30 to 16:00 America/New_York (NYSE Rule
/// 7.34(a)(2), "Core Trading Session").
pub const REGULAR_HOURS: (NaiveTime, NaiveTime) = (time(9, 30), time(16, 0));

/// The close of an early-close day: 13:00 America/New_York (NYSE, "Holidays and Trading
/// Hours": "each market will close early at 1:00 p.m.").
pub const EARLY_CLOSE: NaiveTime = time(13, 0);

const fn time(h: u32, m: u32) -> NaiveTime {
    match NaiveTime::from_hms_opt(h, m, 0) {
        Some(t) => t,
        None => panic!("invalid time in a calendar table"),
    }
}

/// True on the NYSE's early-close days, by the rules of its published calendars ("Holidays and
/// Trading Hours"): the day before Independence Day when that is a trading day with the
/// holiday on a weekday after it (3 July from Monday to Thursday; none when 4 July is on a
/// weekend, its holiday then observed on 3 July or 5 July), the day after Thanksgiving, and
/// Christmas Eve when it falls from Monday to Thursday (a Friday Christmas Eve is Christmas
/// observed). A closed day is never an early close.
pub fn is_early_close(d: NaiveDate) -> bool {
    if is_market_closed(d) {
        return false;
    }
    let monday_to_thursday = matches!(d.weekday(), Weekday::Mon | Weekday::Tue | Weekday::Wed | Weekday::Thu);
    let thanksgiving = nth_weekday(d.year(), 11, Weekday::Thu, 4);
    (d.month() == 7 && d.day() == 3 && monday_to_thursday)
        || d == thanksgiving + Duration::days(1)
        || (d.month() == 12 && d.day() == 24 && monday_to_thursday)
}

/// The day's core trading session, open and close in America/New_York ([`REGULAR_HOURS`],
/// closing at [`EARLY_CLOSE`] on an early-close day); `None` when the exchange is closed.
pub fn regular_hours(d: NaiveDate) -> Option<(NaiveTime, NaiveTime)> {
    if is_market_closed(d) {
        return None;
    }
    let (open, close) = REGULAR_HOURS;
    Some((open, if is_early_close(d) { EARLY_CLOSE } else { close }))
}

/// One trading session of the NYSE: its day, and its core session's open and close as
/// instants (America/New_York's offset of that day, so daylight saving time is in them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Session {
    pub date: NaiveDate,
    pub open: DateTime<Utc>,
    pub close: DateTime<Utc>,
    /// The close is [`EARLY_CLOSE`].
    pub early_close: bool,
}

/// The session of `d`, or `None` when the exchange is closed ([`why_closed`] says why).
pub fn session(d: NaiveDate) -> Option<Session> {
    let (open, close) = regular_hours(d)?;
    Some(Session { date: d, open: new_york(d, open), close: new_york(d, close), early_close: is_early_close(d) })
}

/// The sessions from `from` to `to`, both included.
pub fn sessions(from: NaiveDate, to: NaiveDate) -> Vec<Session> {
    from.iter_days().take_while(|d| *d <= to).filter_map(session).collect()
}

/// The first session on or after `d` (there is one within days: no closure is longer than a
/// week).
pub fn session_on_or_after(d: NaiveDate) -> Session {
    d.iter_days().find_map(session).expect("the calendar has a trading day after any date")
}

/// The day of the last session before `d`.
pub fn previous_session(d: NaiveDate) -> NaiveDate {
    let mut day = d - Duration::days(1);
    while is_market_closed(day) {
        day -= Duration::days(1);
    }
    day
}

/// The day of the instant `at` in New York, where US markets keep their days.
pub fn new_york_day(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&New_York).date_naive()
}

/// The instant of the wall-clock time `t` on `d` in New York. A time skipped by the change to
/// daylight saving time (02:00–03:00 on its Sunday) is read an hour later, one repeated by the
/// change back is its first occurrence; the exchange's times (04:00 to 20:00) are never either.
pub fn new_york(d: NaiveDate, t: NaiveTime) -> DateTime<Utc> {
    let local = d.and_time(t);
    match New_York.from_local_datetime(&local) {
        LocalResult::Single(at) | LocalResult::Ambiguous(at, _) => at.with_timezone(&Utc),
        LocalResult::None => new_york(d, t + Duration::hours(1)),
    }
}

/// An opening or a closing of the exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Edge {
    Open,
    Close,
}

/// The first opening or closing of the exchange strictly after `after`, with its session.
pub fn next_edge(after: DateTime<Utc>) -> (Edge, DateTime<Utc>, Session) {
    let today = after.with_timezone(&New_York).date_naive();
    let mut s = session_on_or_after(today);
    loop {
        if s.open > after {
            return (Edge::Open, s.open, s);
        }
        if s.close > after {
            return (Edge::Close, s.close, s);
        }
        s = session_on_or_after(s.date + Duration::days(1));
    }
}

/// True on the days trades settle: weekdays that are neither an NYSE holiday or special closing
/// ([`is_market_closed`]) nor a Federal Reserve holiday ([`fed_holidays`]).
pub fn is_settlement_day(d: NaiveDate) -> bool {
    !is_market_closed(d) && !fed_holidays(d.year()).contains(&d)
}

/// The number of settlement days a trade made on `trade_date` takes to settle.
pub fn settlement_cycle(trade_date: NaiveDate) -> u32 {
    SETTLEMENT_CYCLES.iter().rev().find(|(from, _, _)| *from <= trade_date).map_or(3, |(_, days, _)| *days)
}

/// The regular-way settlement date: `settlement_cycle` settlement days after the trade date
/// (skipping weekends, NYSE holidays and closings, and Federal Reserve holidays). The trade
/// date itself may be a trading day that is not a settlement day (Columbus Day): the count
/// starts from it all the same.
pub fn settlement_date(trade_date: NaiveDate) -> NaiveDate {
    let mut d = trade_date;
    let mut left = settlement_cycle(trade_date);
    while left > 0 {
        d += Duration::days(1);
        if is_settlement_day(d) {
            left -= 1;
        }
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn the_2025_and_2026_holiday_lists_match_the_exchange_calendar() {
        let h2025: Vec<String> = nyse_holidays(2025).iter().map(|d| d.to_string()).collect();
        assert_eq!(
            h2025,
            [
                "2025-01-01",
                "2025-01-20",
                "2025-02-17",
                "2025-04-18",
                "2025-05-26",
                "2025-06-19",
                "2025-07-04",
                "2025-09-01",
                "2025-11-27",
                "2025-12-25"
            ]
        );
        let h2026: Vec<String> = nyse_holidays(2026).iter().map(|d| d.to_string()).collect();
        assert_eq!(
            h2026,
            [
                "2026-01-01",
                "2026-01-19",
                "2026-02-16",
                "2026-04-03",
                "2026-05-25",
                "2026-06-19",
                "2026-07-03",
                "2026-09-07",
                "2026-11-26",
                "2026-12-25"
            ]
        );
    }

    #[test]
    fn early_closes_follow_the_exchange_calendars() {
        // NYSE's published early closes, 13:00: 2023-07-03, 2023-11-24; 2024-07-03,
        // 2024-11-29, 2024-12-24; 2025-07-03, 2025-11-28, 2025-12-24; 2026-11-27, 2026-12-24.
        let early: Vec<String> = (2023..=2026)
            .flat_map(|y| d(&format!("{y}-01-01")).iter_days().take_while(move |x| x.year() == y))
            .filter(|x| is_early_close(*x))
            .map(|x| x.to_string())
            .collect();
        assert_eq!(
            early,
            [
                "2023-07-03",
                "2023-11-24",
                "2024-07-03",
                "2024-11-29",
                "2024-12-24",
                "2025-07-03",
                "2025-11-28",
                "2025-12-24",
                "2026-11-27",
                "2026-12-24"
            ]
        );
        assert_eq!(regular_hours(d("2025-11-28")), Some((time(9, 30), time(13, 0))));
        assert_eq!(regular_hours(d("2025-11-26")), Some((time(9, 30), time(16, 0))));
        assert_eq!(regular_hours(d("2025-11-27")), None);
        // Christmas Eve on a Friday (2021) is Christmas observed, not an early close.
        assert!(is_market_closed(d("2021-12-24")) && !is_early_close(d("2021-12-24")));
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn sessions_carry_new_yorks_offset_across_the_change_to_daylight_time() {
        // Daylight saving time began on Sunday 10 March 2024: EST (UTC-5) before, EDT (UTC-4) after.
        let s = sessions(d("2024-03-08"), d("2024-03-11"));
        assert_eq!(s.len(), 2, "the weekend has no session");
        assert_eq!((s[0].open, s[0].close), (at("2024-03-08T14:30:00Z"), at("2024-03-08T21:00:00Z")));
        assert_eq!((s[1].open, s[1].close), (at("2024-03-11T13:30:00Z"), at("2024-03-11T20:00:00Z")));
        // The day after Thanksgiving closes at 13:00 EST.
        let friday = session(d("2025-11-28")).unwrap();
        assert_eq!((friday.close, friday.early_close), (at("2025-11-28T18:00:00Z"), true));
        assert_eq!(session(d("2025-01-09")), None, "the National Day of Mourning for President Carter");
        assert_eq!(new_york(d("2024-03-10"), NaiveTime::from_hms_opt(2, 30, 0).unwrap()), at("2024-03-10T07:30:00Z"));
    }

    #[test]
    fn the_next_edge_skips_weekends_holidays_and_closings() {
        // Friday 3 January 2025 after the close: Monday 6 January's open.
        assert_eq!(next_edge(at("2025-01-03T21:00:00Z")).0, Edge::Open);
        assert_eq!(next_edge(at("2025-01-03T21:00:00Z")).1, at("2025-01-06T14:30:00Z"));
        // During Wednesday 8 January: its close; after it, Thursday 9 January is closed, so
        // Friday 10 January's open.
        assert_eq!(next_edge(at("2025-01-08T15:00:00Z")).0, Edge::Close);
        assert_eq!(next_edge(at("2025-01-08T21:00:00Z")).1, at("2025-01-10T14:30:00Z"));
        // The session before Friday 10 January is Wednesday the 8th; before Monday, Friday.
        assert_eq!(previous_session(d("2025-01-10")), d("2025-01-08"));
        assert_eq!(previous_session(d("2025-01-13")), d("2025-01-10"));
        // Exactly at an open: the next edge is that day's close.
        assert_eq!(next_edge(at("2025-01-10T14:30:00Z")).1, at("2025-01-10T21:00:00Z"));
    }

    #[test]
    fn closed_days_say_why() {
        assert_eq!(
            why_closed(d("2025-01-09")).unwrap(),
            "2025-01-09: the NYSE was closed (National Day of Mourning, President Carter)"
        );
        assert!(why_closed(d("2026-07-03")).unwrap().contains("Independence Day (observed)"));
        assert!(why_closed(d("2025-03-08")).unwrap().contains("Saturday"));
        assert_eq!(why_closed(d("2025-03-10")), None);
        assert_eq!(holiday_name(d("2026-04-03")), "Good Friday");
        assert_eq!(holiday_name(d("2025-01-20")), "Martin Luther King Jr. Day");
        assert_eq!(holiday_name(d("2023-01-02")), "New Year's Day (observed)");
    }

    #[test]
    fn new_years_day_on_a_saturday_is_not_observed_on_the_friday_before() {
        assert!(!is_market_closed(d("2021-12-31")));
        assert!(is_market_closed(d("2023-01-02")));
    }

    #[test]
    fn settlement_is_t_plus_2_before_28_may_2024_and_t_plus_1_from_it() {
        // Friday 24 May 2024, T+2 over Memorial Day (27 May): Wednesday 29 May.
        assert_eq!(settlement_date(d("2024-05-24")), d("2024-05-29"));
        // Tuesday 28 May 2024, T+1: Wednesday 29 May.
        assert_eq!(settlement_date(d("2024-05-28")), d("2024-05-29"));
    }

    #[test]
    fn settlement_skips_weekends_holidays_and_special_closings() {
        assert_eq!(settlement_date(d("2026-11-20")), d("2026-11-23")); // Friday to Monday
        assert_eq!(settlement_date(d("2026-11-25")), d("2026-11-27")); // over Thanksgiving
        assert_eq!(settlement_date(d("2025-01-08")), d("2025-01-10")); // over the Carter closing
        assert_eq!(settlement_date(d("2026-04-02")), d("2026-04-06")); // over Good Friday
    }

    fn days(list: Vec<NaiveDate>) -> Vec<String> {
        list.iter().map(|d| d.to_string()).collect()
    }

    #[test]
    fn the_2025_and_2026_federal_reserve_holidays_match_the_boards_list() {
        assert_eq!(
            days(fed_holidays(2025)),
            [
                "2025-01-01",
                "2025-01-20",
                "2025-02-17",
                "2025-05-26",
                "2025-06-19",
                "2025-07-04",
                "2025-09-01",
                "2025-10-13",
                "2025-11-11",
                "2025-11-27",
                "2025-12-25"
            ]
        );
        // 4 July 2026 is a Saturday: the Fed is open on Friday 3 July (the NYSE is not).
        assert_eq!(
            days(fed_holidays(2026)),
            [
                "2026-01-01",
                "2026-01-19",
                "2026-02-16",
                "2026-05-25",
                "2026-06-19",
                "2026-09-07",
                "2026-10-12",
                "2026-11-11",
                "2026-11-26",
                "2026-12-25"
            ]
        );
    }

    #[test]
    fn a_fed_holiday_on_a_sunday_moves_to_monday_and_one_on_a_saturday_is_not_observed() {
        // Veterans Day 2029 is a Sunday: observed Monday 12 November.
        assert!(fed_holidays(2029).contains(&d("2029-11-12")));
        assert!(!is_settlement_day(d("2029-11-12")));
        // Veterans Day 2028 is a Saturday: Friday 10 November is a settlement day.
        assert!(!fed_holidays(2028).iter().any(|h| *h == d("2028-11-10") || *h == d("2028-11-11")));
        assert!(is_settlement_day(d("2028-11-10")));
        assert_eq!(settlement_date(d("2028-11-09")), d("2028-11-10")); // Thursday, T+1: Friday
                                                                       // Juneteenth 2021 fell on a Saturday (the Fed was open Friday 18 June); 2022's on a
                                                                       // Sunday, observed Monday 20 June.
        assert!(!fed_holidays(2021).iter().any(|h| h.month() == 6));
        assert!(is_settlement_day(d("2021-06-18")));
        assert!(fed_holidays(2022).contains(&d("2022-06-20")));
    }

    #[test]
    fn columbus_day_and_veterans_day_are_trading_days_but_not_settlement_days() {
        for day in ["2025-10-13", "2024-11-11", "2023-10-09", "2019-11-11"] {
            assert!(!is_market_closed(d(day)), "{day} is a trading day");
            assert!(!is_settlement_day(d(day)), "{day} is not a settlement day");
        }
        assert!(!is_settlement_day(d("2026-04-03")), "Good Friday");
        assert!(is_settlement_day(d("2025-10-14")));
    }

    #[test]
    fn settlement_skips_columbus_day_and_veterans_day() {
        // T+1: Friday 10 October 2025, Columbus Day Monday 13 October: Tuesday 14 October.
        assert_eq!(settlement_date(d("2025-10-10")), d("2025-10-14"));
        // T+1: Friday 8 November 2024, Veterans Day Monday 11 November: Tuesday 12 November.
        assert_eq!(settlement_date(d("2024-11-08")), d("2024-11-12"));
        // T+2: Friday 6 October 2023, Columbus Day Monday 9 October: Tuesday 10, Wednesday 11.
        assert_eq!(settlement_date(d("2023-10-06")), d("2023-10-11"));
        // T+2: Friday 8 November 2019, Veterans Day Monday 11 November: Wednesday 13 November.
        assert_eq!(settlement_date(d("2019-11-08")), d("2019-11-13"));
        // A trade on Columbus Day itself (the NYSE trades): T+1 is Tuesday 14 October 2025.
        assert_eq!(settlement_date(d("2025-10-13")), d("2025-10-14"));
        // T+1: Friday 9 November 2029, Veterans Day on Sunday 11, observed Monday 12: Tuesday 13.
        assert_eq!(settlement_date(d("2029-11-09")), d("2029-11-13"));
    }
}
