//! Business-day calendars for fixed income: which days a market settles, business-day
//! conventions that move a date off a holiday, and settlement dates a number of business days
//! after a trade date.
//!
//! Each calendar is data: a table of fixed-date holidays (with how a weekend moves them), a table
//! of floating ones (the nth or last weekday of a month), holidays counted from Easter, and a
//! table of special closings with their source. Easter and the weekday helpers are
//! `domain::calendar`'s (which holds the NYSE equity calendar).
//!
//! - [`Calendar::Weekends`]: Saturdays and Sundays only.
//! - [`Calendar::UsGovernmentBond`]: the US government bond market, SIFMA's recommended full
//!   closes, by the rules of QuantLib's `UnitedStates(UnitedStates::GovernmentBond)`
//!   (ql/time/calendars/unitedstates.cpp, read as a reference implementation): a holiday on a
//!   Sunday is observed the Monday after; one on a Saturday is observed the Friday before for
//!   Juneteenth, Independence Day and Christmas, and not at all for New Year's Day (no Friday
//!   31 December close) and Veterans Day. Good Friday is a full close except from 1996 when it
//!   falls on 1 to 7 April: that is the day the March employment report is released, and SIFMA
//!   then recommends an early close instead (e.g. 6 April 2012, SIFMA's release of 21 March
//!   2012).
//! - [`Calendar::Target`]: TARGET (TARGET2), the euro area's settlement days, by the ECB's rules
//!   as QuantLib's `TARGET` (ql/time/calendars/target.cpp): 1 January and Christmas always; Good
//!   Friday, Easter Monday, 1 May and 26 December from 2000; 31 December 1998, 1999 and 2001.
//!
//! Dates are those of the proleptic Gregorian calendar; the holiday rules are meant for
//! 1901-2199 (QuantLib's range).

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use domain::calendar::{easter, last_weekday, nth_weekday};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{invalid, SimError};

/// A business-day calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Calendar {
    /// Every weekday is a business day; Saturdays and Sundays are not.
    Weekends,
    /// The US government bond market (SIFMA's recommended full closes; QuantLib's
    /// `UnitedStates(UnitedStates::GovernmentBond)`).
    UsGovernmentBond,
    /// TARGET, the euro area's settlement calendar (QuantLib's `TARGET`).
    Target,
}

/// How a date falling on a non-business day is moved (QuantLib's `BusinessDayConvention`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum BusinessDayConvention {
    /// The next business day.
    #[default]
    Following,
    /// The next business day, unless it is in the next month: then the business day before.
    ModifiedFollowing,
    /// The business day before.
    Preceding,
    /// The business day before, unless it is in the month before: then the next business day.
    ModifiedPreceding,
    /// Not moved.
    Unadjusted,
}

/// How a fixed-date holiday falling on a weekend is observed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Observance {
    /// Not moved (a weekend holiday is simply lost).
    None,
    /// Sunday to the Monday after; Saturday not observed.
    SundayToMonday,
    /// Saturday to the Friday before, Sunday to the Monday after.
    Nearest,
}

/// A holiday on a fixed day of the year, in the years `from..=to`.
struct Fixed {
    name: &'static str,
    month: u32,
    day: u32,
    from: i32,
    to: i32,
    observance: Observance,
}

/// Which weekday of a month a floating holiday is.
#[derive(Debug, Clone, Copy)]
enum Nth {
    /// The nth (1 to 4).
    Nth(u8),
    Last,
}

/// A holiday on a weekday of a month, in the years `from..=to`.
struct Floating {
    name: &'static str,
    month: u32,
    weekday: Weekday,
    nth: Nth,
    from: i32,
    to: i32,
}

/// A holiday `offset` days from Easter Sunday, in the years `from..=to`; from the year
/// `not_first_week_of_april_from` on, it is no holiday when it falls on 1 to 7 April.
struct FromEaster {
    name: &'static str,
    offset: i64,
    from: i32,
    to: i32,
    not_first_week_of_april_from: Option<i32>,
}

/// A day the market was closed outside its rules: (date, why, source).
type Special = (NaiveDate, &'static str, &'static str);

/// The rules of one calendar.
struct Rules {
    fixed: &'static [Fixed],
    floating: &'static [Floating],
    from_easter: &'static [FromEaster],
    special: &'static [Special],
}

const fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    match NaiveDate::from_ymd_opt(y, m, d) {
        Some(d) => d,
        None => panic!("invalid date in a calendar table"),
    }
}

const FIRST: i32 = 1901;
const LAST: i32 = 2199;

const fn fixed(name: &'static str, month: u32, day: u32, from: i32, to: i32, observance: Observance) -> Fixed {
    Fixed { name, month, day, from, to, observance }
}

const fn floating(name: &'static str, month: u32, weekday: Weekday, nth: Nth, from: i32, to: i32) -> Floating {
    Floating { name, month, weekday, nth, from, to }
}

/// The US government bond market's fixed-date holidays (SIFMA; QuantLib's
/// `UnitedStates::GovernmentBondImpl`). Washington's Birthday and Memorial Day were fixed dates
/// until the Uniform Monday Holiday Act took effect in 1971, and Veterans Day was the fourth
/// Monday of October from 1971 to 1977.
const US_GOVERNMENT_BOND_FIXED: &[Fixed] = &[
    fixed("New Year's Day", 1, 1, FIRST, LAST, Observance::SundayToMonday),
    fixed("Washington's Birthday", 2, 22, FIRST, 1970, Observance::Nearest),
    fixed("Memorial Day", 5, 30, FIRST, 1970, Observance::Nearest),
    fixed("Juneteenth", 6, 19, 2022, LAST, Observance::Nearest),
    fixed("Independence Day", 7, 4, FIRST, LAST, Observance::Nearest),
    fixed("Veterans Day", 11, 11, FIRST, 1970, Observance::SundayToMonday),
    fixed("Veterans Day", 11, 11, 1978, LAST, Observance::SundayToMonday),
    fixed("Christmas Day", 12, 25, FIRST, LAST, Observance::Nearest),
];

const US_GOVERNMENT_BOND_FLOATING: &[Floating] = &[
    floating("Martin Luther King Jr. Day", 1, Weekday::Mon, Nth::Nth(3), 1983, LAST),
    floating("Washington's Birthday", 2, Weekday::Mon, Nth::Nth(3), 1971, LAST),
    floating("Memorial Day", 5, Weekday::Mon, Nth::Last, 1971, LAST),
    floating("Labor Day", 9, Weekday::Mon, Nth::Nth(1), FIRST, LAST),
    floating("Columbus Day", 10, Weekday::Mon, Nth::Nth(2), 1971, LAST),
    floating("Veterans Day", 10, Weekday::Mon, Nth::Nth(4), 1971, 1977),
    floating("Thanksgiving Day", 11, Weekday::Thu, Nth::Nth(4), FIRST, LAST),
];

const US_GOVERNMENT_BOND_EASTER: &[FromEaster] =
    &[FromEaster { name: "Good Friday", offset: -2, from: FIRST, to: LAST, not_first_week_of_april_from: Some(1996) }];

/// Full closes of the US bond market outside the rules. Not here: the national days of mourning
/// for Presidents Ford (2 January 2007) and Carter (9 January 2025), for which SIFMA recommended
/// only an early close while the stock exchanges closed (Bloomberg, "Financial Markets to Close
/// Jan. 2 for Ford Memorial", 29 December 2006; see `domain::calendar::SPECIAL_CLOSINGS`).
pub const US_GOVERNMENT_BOND_SPECIAL_CLOSINGS: &[Special] = &[
    (
        date(2004, 6, 11),
        "National Day of Mourning, President Reagan",
        "SIFMA (then The Bond Market Association) full close; QuantLib unitedstates.cpp",
    ),
    (
        date(2012, 10, 30),
        "Hurricane Sandy",
        "SIFMA recommendation of 29 October 2012 (Reuters, 29 October 2012); QuantLib unitedstates.cpp",
    ),
    (
        date(2018, 12, 5),
        "National Day of Mourning, President G. H. W. Bush",
        "SIFMA full-close recommendation; QuantLib unitedstates.cpp",
    ),
];

const TARGET_FIXED: &[Fixed] = &[
    fixed("New Year's Day", 1, 1, FIRST, LAST, Observance::None),
    fixed("Labour Day", 5, 1, 2000, LAST, Observance::None),
    fixed("Christmas Day", 12, 25, FIRST, LAST, Observance::None),
    fixed("Christmas Holiday", 12, 26, 2000, LAST, Observance::None),
];

const TARGET_EASTER: &[FromEaster] = &[
    FromEaster { name: "Good Friday", offset: -2, from: 2000, to: LAST, not_first_week_of_april_from: None },
    FromEaster { name: "Easter Monday", offset: 1, from: 2000, to: LAST, not_first_week_of_april_from: None },
];

/// TARGET's closings outside its rules (ECB press releases; QuantLib target.cpp).
pub const TARGET_SPECIAL_CLOSINGS: &[Special] = &[
    (date(1998, 12, 31), "Year end", "ECB; QuantLib target.cpp"),
    (date(1999, 12, 31), "Year end (millennium change)", "ECB; QuantLib target.cpp"),
    (date(2001, 12, 31), "Year end (euro cash changeover)", "ECB; QuantLib target.cpp"),
];

const US_GOVERNMENT_BOND: Rules = Rules {
    fixed: US_GOVERNMENT_BOND_FIXED,
    floating: US_GOVERNMENT_BOND_FLOATING,
    from_easter: US_GOVERNMENT_BOND_EASTER,
    special: US_GOVERNMENT_BOND_SPECIAL_CLOSINGS,
};

const TARGET: Rules =
    Rules { fixed: TARGET_FIXED, floating: &[], from_easter: TARGET_EASTER, special: TARGET_SPECIAL_CLOSINGS };

const WEEKENDS: Rules = Rules { fixed: &[], floating: &[], from_easter: &[], special: &[] };

fn is_weekend(d: NaiveDate) -> bool {
    matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

impl Rules {
    /// The holidays of a year by the rules (weekday or not), with their names, in no order.
    fn holidays(&self, year: i32) -> Vec<(NaiveDate, &'static str)> {
        let mut out = Vec::new();
        if !(FIRST..=LAST).contains(&year) {
            return out;
        }
        for f in self.fixed.iter().filter(|f| (f.from..=f.to).contains(&year)) {
            let Some(d) = NaiveDate::from_ymd_opt(year, f.month, f.day) else { continue };
            let observed = match (f.observance, d.weekday()) {
                (Observance::None, _) => Some(d),
                (Observance::SundayToMonday | Observance::Nearest, Weekday::Sun) => Some(d + Duration::days(1)),
                (Observance::SundayToMonday, Weekday::Sat) => None,
                (Observance::Nearest, Weekday::Sat) => Some(d - Duration::days(1)),
                _ => Some(d),
            };
            out.extend(observed.map(|o| (o, f.name)));
        }
        for f in self.floating.iter().filter(|f| (f.from..=f.to).contains(&year)) {
            let d = match f.nth {
                Nth::Nth(n) => nth_weekday(year, f.month, f.weekday, n),
                Nth::Last => last_weekday(year, f.month, f.weekday),
            };
            out.push((d, f.name));
        }
        if !self.from_easter.is_empty() {
            let sunday = easter(year);
            for e in self.from_easter.iter().filter(|e| (e.from..=e.to).contains(&year)) {
                let d = sunday + Duration::days(e.offset);
                let skipped =
                    e.not_first_week_of_april_from.is_some_and(|from| year >= from && d.month() == 4 && d.day() <= 7);
                if !skipped {
                    out.push((d, e.name));
                }
            }
        }
        out.extend(self.special.iter().filter(|s| s.0.year() == year).map(|s| (s.0, s.1)));
        out
    }
}

impl Calendar {
    fn rules(self) -> &'static Rules {
        match self {
            Calendar::Weekends => &WEEKENDS,
            Calendar::UsGovernmentBond => &US_GOVERNMENT_BOND,
            Calendar::Target => &TARGET,
        }
    }

    /// The name of the holiday (or special closing) on `d`, if a weekday holiday falls on it.
    pub fn holiday_name(self, d: NaiveDate) -> Option<&'static str> {
        if is_weekend(d) {
            return None;
        }
        self.rules().holidays(d.year()).into_iter().find(|(h, _)| *h == d).map(|(_, n)| n)
    }

    /// True on a business day: a weekday that is no holiday.
    pub fn is_business_day(self, d: NaiveDate) -> bool {
        !is_weekend(d) && self.holiday_name(d).is_none()
    }

    /// The weekday holidays from `from` to `to` inclusive, in date order (QuantLib's
    /// `Calendar::holidayList` without weekends).
    pub fn holidays(self, from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
        let mut out: Vec<NaiveDate> = (from.year()..=to.year())
            .flat_map(|y| self.rules().holidays(y))
            .map(|(d, _)| d)
            .filter(|d| *d >= from && *d <= to && !is_weekend(*d))
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    fn step(self, d: NaiveDate, forward: bool) -> NaiveDate {
        let mut x = d;
        loop {
            let next = if forward { x.succ_opt() } else { x.pred_opt() };
            let Some(next) = next else { return x };
            x = next;
            if self.is_business_day(x) {
                return x;
            }
        }
    }

    /// `d` moved to a business day by the convention (QuantLib's `Calendar::adjust`).
    pub fn adjust(self, d: NaiveDate, convention: BusinessDayConvention) -> NaiveDate {
        use BusinessDayConvention as C;
        if convention == C::Unadjusted || self.is_business_day(d) {
            return d;
        }
        let following = self.step(d, true);
        let preceding = self.step(d, false);
        match convention {
            C::Following => following,
            C::ModifiedFollowing if following.month() == d.month() => following,
            C::ModifiedFollowing | C::Preceding => preceding,
            C::ModifiedPreceding if preceding.month() == d.month() => preceding,
            C::ModifiedPreceding => following,
            C::Unadjusted => d,
        }
    }

    /// `d` moved by `n` business days, forward or (negative `n`) back; with `n = 0`, `d`
    /// adjusted to the following business day (QuantLib's `Calendar::advance(d, n, Days)`).
    pub fn advance_business_days(self, d: NaiveDate, n: i64) -> NaiveDate {
        if n == 0 {
            return self.adjust(d, BusinessDayConvention::Following);
        }
        let mut x = d;
        for _ in 0..n.unsigned_abs() {
            x = self.step(x, n > 0);
        }
        x
    }
}

/// The settlement date of a trade: `settlement_days` business days of the calendar after the
/// trade date (the trade date itself, moved to the next business day, with 0). The trade date
/// must lie in 1901-2199 and settlement days be at most 30.
pub fn settlement_date(trade_date: NaiveDate, settlement_days: u32, calendar: Calendar) -> Result<NaiveDate, SimError> {
    if !(FIRST..=LAST).contains(&trade_date.year()) {
        return Err(invalid("trade_date", "must be a date from 1901 to 2199"));
    }
    if settlement_days > 30 {
        return Err(invalid("settlement_days", "must be 0 to 30"));
    }
    Ok(calendar.advance_business_days(trade_date, i64::from(settlement_days)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn easter_is_the_gregorian_computus() {
        // Known Easter Sundays, including the earliest (22 March) and latest (25 April) possible.
        for (year, sunday) in [
            (1961, "1961-04-02"),
            (1818, "1818-03-22"),
            (1943, "1943-04-25"),
            (2000, "2000-04-23"),
            (2008, "2008-03-23"),
            (2011, "2011-04-24"),
            (2019, "2019-04-21"),
            (2024, "2024-03-31"),
            (2025, "2025-04-20"),
            (2038, "2038-04-25"),
            (2285, "2285-03-22"),
        ] {
            assert_eq!(easter(year), d(sunday), "{year}");
        }
    }

    #[test]
    fn conventions_move_as_quantlib() {
        let c = Calendar::UsGovernmentBond;
        use BusinessDayConvention as C;
        // Sunday 30 November 2008: following crosses into December, so modified following goes back
        // to Friday 28 November (the day after Thanksgiving is a business day for bonds).
        let sunday = d("2008-11-30");
        assert_eq!(c.adjust(sunday, C::Following), d("2008-12-01"));
        assert_eq!(c.adjust(sunday, C::ModifiedFollowing), d("2008-11-28"));
        assert_eq!(c.adjust(sunday, C::Preceding), d("2008-11-28"));
        assert_eq!(c.adjust(sunday, C::Unadjusted), sunday);
        // Saturday 1 March 2008: preceding crosses into February.
        let saturday = d("2008-03-01");
        assert_eq!(c.adjust(saturday, C::ModifiedPreceding), d("2008-03-03"));
        assert_eq!(c.adjust(saturday, C::Preceding), d("2008-02-29"));
        // Memorial Day 2005 (30 May).
        assert_eq!(c.adjust(d("2005-05-30"), C::Following), d("2005-05-31"));
        // Business days: Friday 2 July 2004 plus one skips the weekend and Monday 5 July.
        assert_eq!(settlement_date(d("2004-07-02"), 1, c).unwrap(), d("2004-07-06"));
        assert_eq!(settlement_date(d("2004-07-03"), 0, c).unwrap(), d("2004-07-06"));
        assert_eq!(c.advance_business_days(d("2004-07-06"), -2), d("2004-07-01"));
        assert!(settlement_date(d("1800-01-01"), 1, c).unwrap_err().to_string().contains("trade_date"));
    }

    #[test]
    fn us_bond_market_observance_rules() {
        let c = Calendar::UsGovernmentBond;
        // New Year's Day on a Saturday is not observed on Friday 31 December.
        assert!(c.is_business_day(d("2021-12-31")));
        // On a Sunday it is observed on Monday 2 January.
        assert_eq!(c.holiday_name(d("2017-01-02")), Some("New Year's Day"));
        // Christmas on a Saturday: Friday 24 December.
        assert_eq!(c.holiday_name(d("2021-12-24")), Some("Christmas Day"));
        // Veterans Day on a Saturday is not moved; on a Sunday, Monday.
        assert!(c.is_business_day(d("2017-11-10")));
        assert_eq!(c.holiday_name(d("2018-11-12")), Some("Veterans Day"));
        // Juneteenth from 2022; Saturday 19 June 2027 on Friday 18 June.
        assert!(c.is_business_day(d("2021-06-18")));
        assert_eq!(c.holiday_name(d("2022-06-20")), Some("Juneteenth"));
        assert_eq!(c.holiday_name(d("2027-06-18")), Some("Juneteenth"));
        // Good Friday 6 April 2012 and 3 April 2015 were early closes (employment report), 2 April
        // 2021 too; 29 March 2024 and 18 April 2025 full closes.
        for open in ["2012-04-06", "2015-04-03", "2021-04-02", "2026-04-03"] {
            assert!(c.is_business_day(d(open)), "{open}");
        }
        for closed in ["2024-03-29", "2025-04-18", "1994-04-01"] {
            assert_eq!(c.holiday_name(d(closed)), Some("Good Friday"), "{closed}");
        }
        // Columbus Day trades on the NYSE but not in the bond market.
        assert_eq!(c.holiday_name(d("2024-10-14")), Some("Columbus Day"));
        // Veterans Day on the fourth Monday of October, 1971-1977.
        assert_eq!(c.holiday_name(d("1975-10-27")), Some("Veterans Day"));
        assert!(c.is_business_day(d("1975-11-11")));
    }

    #[test]
    fn weekends_calendar_skips_only_weekends() {
        let c = Calendar::Weekends;
        assert!(c.is_business_day(d("2024-12-25")));
        assert!(!c.is_business_day(d("2024-12-28")));
        assert!(c.holidays(d("2024-01-01"), d("2024-12-31")).is_empty());
    }

    fn dates(list: &[&str]) -> Vec<NaiveDate> {
        list.iter().map(|s| d(s)).collect()
    }

    /// QuantLib test-suite/calendars.cpp, testUSGovernmentBondMarket: the holidays of 2004.
    #[test]
    fn quantlib_calendars_test_us_government_bond_market() {
        let expected = dates(&[
            "2004-01-01",
            "2004-01-19",
            "2004-02-16",
            "2004-04-09",
            "2004-05-31",
            "2004-06-11",
            "2004-07-05",
            "2004-09-06",
            "2004-10-11",
            "2004-11-11",
            "2004-11-25",
            "2004-12-24",
        ]);
        assert_eq!(Calendar::UsGovernmentBond.holidays(d("2004-01-01"), d("2004-12-31")), expected);
    }

    /// QuantLib test-suite/calendars.cpp, testTARGET: the holidays of 1999 to 2006.
    #[test]
    fn quantlib_calendars_test_target() {
        let expected = dates(&[
            "1999-01-01",
            "1999-12-31",
            "2000-04-21",
            "2000-04-24",
            "2000-05-01",
            "2000-12-25",
            "2000-12-26",
            "2001-01-01",
            "2001-04-13",
            "2001-04-16",
            "2001-05-01",
            "2001-12-25",
            "2001-12-26",
            "2001-12-31",
            "2002-01-01",
            "2002-03-29",
            "2002-04-01",
            "2002-05-01",
            "2002-12-25",
            "2002-12-26",
            "2003-01-01",
            "2003-04-18",
            "2003-04-21",
            "2003-05-01",
            "2003-12-25",
            "2003-12-26",
            "2004-01-01",
            "2004-04-09",
            "2004-04-12",
            "2005-03-25",
            "2005-03-28",
            "2005-12-26",
            "2006-04-14",
            "2006-04-17",
            "2006-05-01",
            "2006-12-25",
            "2006-12-26",
        ]);
        assert_eq!(Calendar::Target.holidays(d("1999-01-01"), d("2006-12-31")), expected);
    }
}
