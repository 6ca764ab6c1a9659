//! Trading days and settlement dates.
//!
//! Two data tables, each with its source, so next year's change is a one-line edit:
//! [`SETTLEMENT_CYCLES`] (how many business days after the trade date a US equity trade
//! settles) and the NYSE holiday rules in [`nyse_holidays`] plus [`SPECIAL_CLOSINGS`].

use chrono::{Datelike, Duration, NaiveDate, Weekday};

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

/// The `n`th `weekday` of a month (n = 1 is the first).
fn nth_weekday(year: i32, month: u32, weekday: Weekday, n: u8) -> NaiveDate {
    NaiveDate::from_weekday_of_month_opt(year, month, weekday, n).expect("every month has a 4th weekday")
}

fn last_weekday(year: i32, month: u32, weekday: Weekday) -> NaiveDate {
    NaiveDate::from_weekday_of_month_opt(year, month, weekday, 5)
        .unwrap_or_else(|| nth_weekday(year, month, weekday, 4))
}

/// Easter Sunday (the anonymous Gregorian algorithm).
fn easter(year: i32) -> NaiveDate {
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

/// The number of business days a trade made on `trade_date` takes to settle.
pub fn settlement_cycle(trade_date: NaiveDate) -> u32 {
    SETTLEMENT_CYCLES.iter().rev().find(|(from, _, _)| *from <= trade_date).map_or(3, |(_, days, _)| *days)
}

/// The regular-way settlement date: `settlement_cycle` business days after the trade date,
/// skipping weekends and NYSE holidays.
pub fn settlement_date(trade_date: NaiveDate) -> NaiveDate {
    let mut d = trade_date;
    let mut left = settlement_cycle(trade_date);
    while left > 0 {
        d += Duration::days(1);
        if !is_market_closed(d) {
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
}
