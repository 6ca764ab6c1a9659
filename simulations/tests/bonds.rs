//! simulations::bonds against the expected numbers of QuantLib's test suite
//! (test-suite/bonds.cpp and test-suite/daycounters.cpp, lballabio/QuantLib), with QuantLib's
//! tolerances, and property tests.

use chrono::NaiveDate;
use simulations::bonds::{
    act_act_icma_with_schedule, analyse, Bond, BondRequest, BondSpec, Compounding, DayCount, InterestRate, Rule,
    Schedule,
};
use simulations::calendar::{BusinessDayConvention, Calendar};

fn date(s: &str) -> NaiveDate {
    s.parse().unwrap_or_else(|_| panic!("{s}"))
}

fn close(what: &str, got: f64, want: f64, tol: f64) {
    assert!((got - want).abs() <= tol, "{what}: got {got}, want {want} (tolerance {tol}, off {})", got - want);
}

fn spec(dated: &str, maturity: &str, coupon: f64, frequency: u32, day_count: DayCount) -> BondSpec {
    BondSpec {
        dated_date: date(dated),
        maturity: date(maturity),
        coupon_rate: coupon,
        frequency,
        face: 100.0,
        redemption: 100.0,
        day_count,
        rule: Rule::Backward,
        end_of_month: false,
        first_coupon_date: None,
        next_to_last_date: None,
        ex_coupon_days: 0,
        ex_coupon_business_days: false,
        calendar: None,
        payment_convention: BusinessDayConvention::Following,
    }
}

fn rate(rate: f64, day_count: DayCount, compounding: Compounding, frequency: u32) -> InterestRate {
    InterestRate { rate, day_count, compounding, frequency }
}

fn yield_from_clean(bond: &Bond, clean: f64, dc: DayCount, comp: Compounding, freq: u32, settle: NaiveDate) -> f64 {
    bond.yield_from_dirty(clean + bond.accrued_amount(settle), dc, comp, freq, settle, "clean_price").unwrap()
}

/// bonds.cpp, testCached (the NullCalendar bonds 1 and 2, settling one day after 22 November
/// 2004). `bond.cleanPrice()` there discounts on a flat 3% Actual/360 continuously compounded
/// curve from the evaluation date, divided by the discount to settlement: the same as a 3%
/// continuous Actual/360 yield from settlement.
#[test]
fn quantlib_bonds_test_cached() {
    let icma = DayCount::ActActIcma;
    let settle = date("2004-11-23");
    let (comp, cont) = (Compounding::Compounded, Compounding::Continuous);

    let mut s1 = spec("2004-10-31", "2006-10-31", 0.025, 2, icma);
    s1.end_of_month = true;
    s1.face = 1_000_000.0;
    let bond1 = Bond::new(&s1).unwrap();
    let mut s2 = spec("2004-11-15", "2009-11-15", 0.035, 2, icma);
    s2.face = 1_000_000.0;
    let bond2 = Bond::new(&s2).unwrap();
    let tol = 1e-6;

    for (name, bond, market_price, market_yield, price_a, price_b, yield_a, yield_b, yield_c) in [
        ("bond 1", &bond1, 99.203125, 0.02925, 99.204505, 98.943393, 0.029257, 0.029045, 0.030423),
        ("bond 2", &bond2, 99.6875, 0.03569, 99.687192, 101.986794, 0.035689, 0.035375, 0.030432),
    ] {
        close(
            &format!("{name} price from yield"),
            bond.clean_price(&rate(market_yield, icma, comp, 2), settle),
            price_a,
            tol,
        );
        let curve_price = bond.clean_price(&rate(0.03, DayCount::Act360, cont, 1), settle);
        close(&format!("{name} price from the curve"), curve_price, price_b, tol);
        close(
            &format!("{name} compounded yield"),
            yield_from_clean(bond, market_price, icma, comp, 2, settle),
            yield_a,
            tol,
        );
        close(
            &format!("{name} continuous yield"),
            yield_from_clean(bond, market_price, icma, cont, 2, settle),
            yield_b,
            tol,
        );
        close(
            &format!("{name} yield of curve price"),
            yield_from_clean(bond, curve_price, icma, cont, 2, settle),
            yield_c,
            tol,
        );
    }
}

/// A bond on the US government bond calendar paying on the modified following business day, as
/// the `UnitedStates(GovernmentBond)` bonds of bonds.cpp.
fn us_government(dated: &str, maturity: &str, coupon: f64) -> BondSpec {
    let mut s = spec(dated, maturity, coupon, 2, DayCount::ActActIcma);
    s.face = 1_000_000.0;
    s.calendar = Some(Calendar::UsGovernmentBond);
    s.payment_convention = BusinessDayConvention::ModifiedFollowing;
    s
}

/// The clean price on bonds.cpp's flat 3% Actual/360 curve from 22 November 2004 for a bond
/// settling one US government bond business day after the evaluation date (and not before its
/// issue date): a 3% continuous Actual/360 yield from settlement.
fn curve_clean_price(bond: &Bond) -> f64 {
    let settle = bond.settlement_date(date("2004-11-22"), 1).unwrap();
    bond.clean_price(&rate(0.03, DayCount::Act360, Compounding::Continuous, 1), settle)
}

/// bonds.cpp, testCached, bond 3 (UnitedStates(GovernmentBond), modified following payments:
/// the coupon of Memorial Day 30 May 2005 is paid on the 31st), at the explicit settlement date
/// 30 November 2004 and at the earliest possible one (its issue date, after 22 November plus one
/// business day).
#[test]
fn quantlib_bonds_test_cached_us_government_bond_calendar() {
    let bond = Bond::new(&us_government("2004-11-30", "2006-11-30", 0.02875)).unwrap();
    assert_eq!(bond.flows[0].date, date("2005-05-31"));
    let y = rate(0.02997, DayCount::ActActIcma, Compounding::Compounded, 2);
    close("bond 3 price", bond.clean_price(&y, date("2004-11-30")), 99.764759, 1e-6);
    let settle = bond.settlement_date(date("2004-11-22"), 1).unwrap();
    assert_eq!(settle, date("2004-11-30"));
    close("bond 3 price at the earliest settlement", bond.clean_price(&y, settle), 99.764759, 1e-6);
}

/// bonds.cpp, testCachedFixed, bond 1 (the plain 2.875% bond to 30 November 2008, whose last
/// coupon and redemption, on Sunday 30 November 2008, are paid on Friday 28 November under
/// modified following). Bonds 2 and 3 there have a different coupon rate each period, which
/// BondSpec does not describe.
#[test]
fn quantlib_bonds_test_cached_fixed() {
    let bond = Bond::new(&us_government("2004-11-30", "2008-11-30", 0.02875)).unwrap();
    assert_eq!(bond.flows.last().map(|f| f.date), Some(date("2008-11-28")));
    close("bond 1 price", curve_clean_price(&bond), 99.298100, 1e-6);
}

/// bonds.cpp, testCachedZero: zero-coupon bonds issued 30 November 2004 on the US government
/// bond calendar, modified following (a zero coupon rate: no coupons, only the redemption).
#[test]
fn quantlib_bonds_test_cached_zero() {
    for (maturity, price) in [("2008-11-30", 88.551726), ("2007-11-30", 91.278949), ("2006-11-30", 94.098006)] {
        let bond = Bond::new(&us_government("2004-11-30", maturity, 0.0)).unwrap();
        close(&format!("zero to {maturity}"), curve_clean_price(&bond), price, 1e-6);
    }
}

struct ExCouponCase {
    settlement: &'static str,
    accrued: f64,
    npv: f64,
    yield_: f64,
    duration: f64,
    convexity: f64,
}

fn check_ex_coupon(bond: &Bond, cases: &[ExCouponCase], tol: [f64; 5]) {
    let icma = DayCount::ActActIcma;
    for c in cases {
        let settle = date(c.settlement);
        let accrued = bond.accrued_amount(settle);
        close(&format!("{} accrued", c.settlement), accrued, c.accrued, tol[0]);
        let npv = 103.0 + accrued;
        close(&format!("{} npv", c.settlement), npv, c.npv, tol[0]);
        let y = bond.yield_from_dirty(npv, icma, Compounding::Compounded, 2, settle, "dirty_price").unwrap();
        close(&format!("{} yield", c.settlement), y, c.yield_, tol[1]);
        let y = rate(y, icma, Compounding::Compounded, 2);
        close(&format!("{} duration", c.settlement), bond.modified_duration(&y, settle), c.duration, tol[2]);
        close(&format!("{} convexity", c.settlement), bond.convexity(&y, settle), c.convexity, tol[3]);
        let calc_npv = bond.npv(&y, settle);
        close(&format!("{} npv from yield", c.settlement), calc_npv, c.npv, tol[4]);
        close(&format!("{} price from yield", c.settlement), calc_npv - accrued, 103.0, tol[4]);
    }
}

/// bonds.cpp, testExCouponGilt: UK gilt GB0009997999, ex-coupon 6 UK business days before each
/// coupon (weekdays suffice around June 2013), schedule forward from 29 February 1996 with the
/// first coupon on 7 June 1996 and the end-of-month flag.
#[test]
fn quantlib_bonds_test_ex_coupon_gilt() {
    let mut s = spec("1996-02-29", "2021-06-07", 0.08, 2, DayCount::ActActIcma);
    s.rule = Rule::Forward;
    s.end_of_month = true;
    s.first_coupon_date = Some(date("1996-06-07"));
    s.ex_coupon_days = 6;
    s.ex_coupon_business_days = true;
    let bond = Bond::new(&s).unwrap();
    let cases = [
        ExCouponCase {
            settlement: "2013-05-29",
            accrued: 3.8021978,
            npv: 106.8021978,
            yield_: 0.0749518,
            duration: 5.6760445,
            convexity: 42.1531486,
        },
        ExCouponCase {
            settlement: "2013-05-30",
            accrued: -0.1758242,
            npv: 102.8241758,
            yield_: 0.0749618,
            duration: 5.8928163,
            convexity: 43.7562186,
        },
        ExCouponCase {
            settlement: "2013-05-31",
            accrued: -0.1538462,
            npv: 102.8461538,
            yield_: 0.0749599,
            duration: 5.8901860,
            convexity: 43.7239438,
        },
    ];
    check_ex_coupon(&bond, &cases, [1e-6; 5]);
}

/// bonds.cpp, testExCouponAustralianBond: AU300TB01208, ex-coupon 7 calendar days.
#[test]
fn quantlib_bonds_test_ex_coupon_australian_bond() {
    let mut s = spec("2004-02-15", "2017-02-15", 0.06, 2, DayCount::ActActIcma);
    s.rule = Rule::Forward;
    s.end_of_month = true;
    s.first_coupon_date = Some(date("2004-08-15"));
    s.ex_coupon_days = 7;
    let bond = Bond::new(&s).unwrap();
    let cases = [
        ExCouponCase {
            settlement: "2014-08-07",
            accrued: 2.8670,
            npv: 105.867,
            yield_: 0.04723,
            duration: 2.26276,
            convexity: 6.54870,
        },
        ExCouponCase {
            settlement: "2014-08-08",
            accrued: -0.1160,
            npv: 102.884,
            yield_: 0.047235,
            duration: 2.32536,
            convexity: 6.72531,
        },
        ExCouponCase {
            settlement: "2014-08-11",
            accrued: -0.0660,
            npv: 102.934,
            yield_: 0.04719,
            duration: 2.31732,
            convexity: 6.68407,
        },
    ];
    check_ex_coupon(&bond, &cases, [1e-3, 1e-5, 1e-5, 1e-4, 1e-3]);
}

/// bonds.cpp, testThirty360BondWithSettlementOn31st (CUSIP 3130A0X70).
#[test]
fn quantlib_bonds_test_thirty360_bond_with_settlement_on_31st() {
    let us = DayCount::Thirty360Us;
    let mut s = spec("2014-02-13", "2018-08-13", 0.015, 2, us);
    s.rule = Rule::Forward;
    let bond = Bond::new(&s).unwrap();
    let settle = date("2017-07-31");
    let y = yield_from_clean(&bond, 100.0, us, Compounding::Compounded, 2, settle);
    close("yield", y, 0.015, 1e-4);
    let y = rate(y, us, Compounding::Compounded, 2);
    close("duration", bond.macaulay_duration(&y, settle).unwrap(), 1.022, 1e-3);
    close("convexity", bond.convexity(&y, settle) / 100.0, 0.015, 1e-3);
    close("accrued", bond.accrued_amount(settle), 0.7, 1e-6);
}

/// bonds.cpp, testBasisPointValue: settling one US government bond business day after
/// 29 January 2024, face 1,000,000, a short last period from the forward schedule, unadjusted
/// payments.
#[test]
fn quantlib_bonds_test_basis_point_value() {
    let us = DayCount::Thirty360Us;
    let mut s = spec("2023-11-15", "2033-08-15", 0.045, 2, us);
    s.rule = Rule::Forward;
    s.face = 1_000_000.0;
    s.calendar = Some(Calendar::UsGovernmentBond);
    s.payment_convention = BusinessDayConvention::Unadjusted;
    let bond = Bond::new(&s).unwrap();
    let settle = bond.settlement_date(date("2024-01-29"), 1).unwrap();
    assert_eq!(settle, date("2024-01-30"));
    let y = yield_from_clean(&bond, 102.890625, us, Compounding::Compounded, 2, settle);
    close("yield", y, 0.041301, 1e-6);
    let y = rate(y, us, Compounding::Compounded, 2);
    for (when, bpv, yvbp) in [("2024-01-30", -795.459834, -0.0012571287), ("2024-02-12", -793.149033, -0.0012607913)] {
        let d = date(when);
        close(&format!("{when} bpv"), bond.basis_point_value(&y, d), bpv, 1e-6);
        close(&format!("{when} yvbp"), bond.yield_value_basis_point(&y, d) * s.face, yvbp, 1e-6);
    }
}

/// bonds.cpp, testYield: price -> yield -> price for 30/360 bonds of 3 to 20 years, coupons 2%
/// to 8%, annual and semiannual, compounded and continuous, yields 3% to 7% (tolerance 1e-7;
/// issued around a fixed date instead of today, with unadjusted dates).
#[test]
fn quantlib_bonds_test_yield_round_trip() {
    let bb = DayCount::Thirty360BondBasis;
    let today = date("2024-06-14");
    for issue_months in [-24i32, -18, -12, -6, 0, 6, 12, 18, 24] {
        for length in [3, 5, 10, 15, 20] {
            for coupon in [0.02, 0.05, 0.08] {
                for freq in [2, 1] {
                    for comp in [Compounding::Compounded, Compounding::Continuous] {
                        let dated = if issue_months >= 0 {
                            today.checked_add_months(chrono::Months::new(issue_months as u32)).unwrap()
                        } else {
                            today.checked_sub_months(chrono::Months::new((-issue_months) as u32)).unwrap()
                        };
                        let maturity = dated.checked_add_months(chrono::Months::new(12 * length)).unwrap();
                        let mut s = spec("2000-01-01", "2001-01-01", coupon, freq, bb);
                        (s.dated_date, s.maturity) = (dated, maturity);
                        let bond = Bond::new(&s).unwrap();
                        let settle = (today + chrono::TimeDelta::days(3)).max(dated);
                        for m in [0.03, 0.04, 0.05, 0.06, 0.07] {
                            let y = rate(m, bb, comp, freq);
                            let clean = bond.clean_price(&y, settle);
                            let back = yield_from_clean(&bond, clean, bb, comp, freq, settle);
                            close("yield from clean", back, m, 1e-7);
                            let dirty = bond.dirty_price(&y, settle);
                            let back = bond.yield_from_dirty(dirty, bb, comp, freq, settle, "dirty_price").unwrap();
                            close("yield from dirty", back, m, 1e-7);
                        }
                    }
                }
            }
        }
    }
}

/// daycounters.cpp, testActualActual: the ISMA cases with reference periods (1e-10).
#[test]
fn quantlib_daycounters_test_actual_actual_isma() {
    let cases = [
        ("2003-11-01", "2004-05-01", "2003-11-01", "2004-05-01", 0.500000000000),
        ("1999-02-01", "1999-07-01", "1998-07-01", "1999-07-01", 0.410958904110),
        ("1999-07-01", "2000-07-01", "1999-07-01", "2000-07-01", 1.000000000000),
        ("2002-08-15", "2003-07-15", "2003-01-15", "2003-07-15", 0.915760869565),
        ("2003-07-15", "2004-01-15", "2003-07-15", "2004-01-15", 0.500000000000),
        ("1999-07-30", "2000-01-30", "1999-07-30", "2000-01-30", 0.500000000000),
        ("2000-01-30", "2000-06-30", "2000-01-30", "2000-07-30", 0.417582417582),
    ];
    for (d1, d2, r1, r2, want) in cases {
        let got = DayCount::ActActIcma.year_fraction(date(d1), date(d2), Some(date(r1)), Some(date(r2)));
        close(&format!("{d1}-{d2}"), got, want, 1e-10);
    }
}

/// daycounters.cpp, testActualActualIsma: ACT/ACT ICMA with a schedule (MakeSchedule: backward,
/// first and next-to-last dates) and an odd last period (1e-10).
#[test]
fn quantlib_daycounters_test_actual_actual_isma_with_schedule() {
    let cases = [
        (
            false,
            6,
            "1999-01-30",
            "2000-06-30",
            "1999-07-30",
            "2000-01-30",
            "2000-01-30",
            "2000-06-30",
            152.0 / (182.0 * 2.0),
        ),
        (
            true,
            3,
            "1999-05-31",
            "2000-04-30",
            "1999-08-31",
            "1999-11-30",
            "1999-11-30",
            "2000-04-30",
            91.0 / (91.0 * 4.0) + 61.0 / (92.0 * 4.0),
        ),
        (
            false,
            3,
            "1999-05-31",
            "2000-04-30",
            "1999-08-31",
            "1999-11-30",
            "1999-11-30",
            "2000-04-30",
            91.0 / (91.0 * 4.0) + 61.0 / (90.0 * 4.0),
        ),
    ];
    for (eom, months, from, to, first, penultimate, d1, d2, want) in cases {
        let s = Schedule::generate(
            date(from),
            date(to),
            months,
            Rule::Backward,
            eom,
            Some(date(first)),
            Some(date(penultimate)),
        )
        .unwrap();
        let got = act_act_icma_with_schedule(&s, date(d1), date(d2)).unwrap();
        close(&format!("{from}-{to} eom {eom}"), got, want, 1e-10);
    }
}

const THIRTY360_COMMON: [(&str, &str); 21] = [
    ("2006-08-20", "2007-02-20"),
    ("2007-02-20", "2007-08-20"),
    ("2007-08-20", "2008-02-20"),
    ("2008-02-20", "2008-08-20"),
    ("2008-08-20", "2009-02-20"),
    ("2009-02-20", "2009-08-20"),
    ("2006-08-31", "2007-02-28"),
    ("2007-02-28", "2007-08-31"),
    ("2007-08-31", "2008-02-29"),
    ("2008-02-29", "2008-08-31"),
    ("2008-08-31", "2009-02-28"),
    ("2009-02-28", "2009-08-31"),
    ("2006-01-31", "2006-02-28"),
    ("2006-01-30", "2006-02-28"),
    ("2006-02-28", "2006-03-03"),
    ("2006-02-14", "2006-02-28"),
    ("2006-09-30", "2006-10-31"),
    ("2006-10-31", "2006-11-28"),
    ("2007-08-31", "2008-02-28"),
    ("2008-02-28", "2008-08-28"),
    ("2008-02-28", "2008-08-30"),
];

const THIRTY360_TAIL: [(&str, &str); 6] = [
    ("2008-02-28", "2008-08-31"),
    ("2007-02-26", "2008-02-28"),
    ("2007-02-26", "2008-02-29"),
    ("2008-02-29", "2009-02-28"),
    ("2008-02-28", "2008-03-30"),
    ("2008-02-28", "2008-03-31"),
];

fn check_thirty360(dc: DayCount, expected: &[i64]) {
    let dates: Vec<_> = THIRTY360_COMMON.iter().chain(THIRTY360_TAIL.iter()).collect();
    assert_eq!(dates.len(), expected.len());
    for ((d1, d2), want) in dates.into_iter().zip(expected) {
        assert_eq!(dc.day_count(date(d1), date(d2)), *want, "{dc:?} {d1} to {d2}");
        close("year fraction", dc.year_fraction(date(d1), date(d2), None, None), *want as f64 / 360.0, 1e-15);
    }
}

/// daycounters.cpp, testThirty360_BondBasis (the ISDA examples).
#[test]
fn quantlib_daycounters_test_thirty360_bond_basis() {
    check_thirty360(
        DayCount::Thirty360BondBasis,
        &[
            180, 180, 180, 180, 180, 180, 178, 183, 179, 182, 178, 183, 28, 28, 5, 14, 30, 28, 178, 180, 182, 183, 362,
            363, 359, 32, 33,
        ],
    );
}

/// daycounters.cpp, testThirty360_USA.
#[test]
fn quantlib_daycounters_test_thirty360_usa() {
    check_thirty360(
        DayCount::Thirty360Us,
        &[
            180, 180, 180, 180, 180, 180, 178, 180, 179, 180, 178, 180, 28, 28, 3, 14, 30, 28, 178, 180, 182, 183, 362,
            363, 360, 32, 33,
        ],
    );
}

/// daycounters.cpp, testThirty360_EurobondBasis: its miscellaneous examples.
#[test]
fn quantlib_daycounters_test_thirty360_eurobond_basis() {
    let dc = DayCount::Thirty360European;
    for (d1, d2, want) in [
        ("2006-01-31", "2006-02-28", 28),
        ("2006-01-30", "2006-02-28", 28),
        ("2006-02-28", "2006-03-03", 5),
        ("2006-02-14", "2006-02-28", 14),
        ("2006-09-30", "2006-10-31", 30),
        ("2006-10-31", "2006-11-28", 28),
        ("2007-08-31", "2008-02-28", 178),
        ("2008-02-28", "2008-08-28", 180),
        ("2008-02-28", "2008-08-30", 182),
        ("2008-02-28", "2008-08-31", 182),
        ("2007-02-26", "2008-02-28", 362),
        ("2007-02-26", "2008-02-29", 363),
        ("2008-02-29", "2009-02-28", 359),
        ("2008-02-28", "2008-03-30", 32),
        ("2008-02-28", "2008-03-31", 32),
        ("2006-02-28", "2006-08-31", 182),
        ("2008-02-29", "2008-08-31", 181),
    ] {
        assert_eq!(dc.day_count(date(d1), date(d2)), want, "{d1} to {d2}");
    }
}

/// A zero-coupon bond's Macaulay duration is its maturity, and with a continuous yield the
/// simple duration too.
#[test]
fn zero_coupon_duration_is_its_maturity() {
    let dc = DayCount::Act365Fixed;
    let bond = Bond::new(&spec("2020-01-01", "2030-01-01", 0.0, 1, dc)).unwrap();
    let settle = date("2022-03-15");
    let t = (date("2030-01-01") - settle).num_days() as f64 / 365.0;
    let y = rate(0.04, dc, Compounding::Compounded, 1);
    close("macaulay", bond.macaulay_duration(&y, settle).unwrap(), t, 1e-12);
    close("modified", bond.modified_duration(&y, settle), t / 1.04, 1e-12);
    close("price", bond.dirty_price(&y, settle), 100.0 * 1.04f64.powf(-t), 1e-10);
    let c = rate(0.04, dc, Compounding::Continuous, 1);
    close("simple", bond.simple_duration(&c, settle), t, 1e-12);
    close("convexity", bond.convexity(&c, settle), t * t, 1e-10);
}

/// On a coupon date, a bond's Macaulay duration (yield compounded at the coupon frequency) is
/// the closed form of the level annuity plus the redemption:
/// D = (1+y)/y − (1 + y + n(c − y)) / (c((1+y)^n − 1) + y), per period.
#[test]
fn macaulay_duration_matches_the_closed_form() {
    for (coupon, y, years, freq) in [(0.05, 0.07, 10, 2), (0.08, 0.03, 30, 1), (0.02, 0.02, 5, 4), (0.06, 0.12, 20, 12)]
    {
        let dc = DayCount::Thirty360BondBasis;
        let mut s = spec("2010-03-15", "2010-03-15", coupon, freq, dc);
        s.maturity = s.dated_date.checked_add_months(chrono::Months::new(12 * years)).unwrap();
        let bond = Bond::new(&s).unwrap();
        let rate_ = rate(y, dc, Compounding::Compounded, freq);
        let (c, i, n) = (coupon / f64::from(freq), y / f64::from(freq), f64::from(years * freq));
        let per_period = (1.0 + i) / i - (1.0 + i + n * (c - i)) / (c * ((1.0 + i).powf(n) - 1.0) + i);
        let got = bond.macaulay_duration(&rate_, s.dated_date).unwrap();
        close(&format!("{coupon} {y} {years} {freq}"), got, per_period / f64::from(freq), 1e-10);
    }
}

/// Price -> yield -> price through `analyse`, for every day count and compounding, at settlement
/// dates through a coupon period and across an ex-coupon date.
#[test]
fn analyse_round_trips_price_and_yield() {
    let dcs = [
        DayCount::Thirty360BondBasis,
        DayCount::Thirty360Us,
        DayCount::Thirty360European,
        DayCount::ActActIcma,
        DayCount::Act365Fixed,
        DayCount::Act360,
    ];
    for dc in dcs {
        for comp in [Compounding::Compounded, Compounding::Continuous, Compounding::Simple] {
            for settle in ["2021-03-01", "2024-08-09", "2024-08-14", "2031-02-10"] {
                let mut s = spec("2019-08-15", "2031-08-31", 0.0375, 2, dc);
                s.ex_coupon_days = 7;
                let mut req = BondRequest {
                    bond: s,
                    settlement: Some(date(settle)),
                    trade_date: None,
                    settlement_days: None,
                    yield_rate: Some(0.043),
                    clean_price: None,
                    dirty_price: None,
                    compounding: comp,
                    yield_day_count: None,
                    yield_frequency: None,
                };
                let a = analyse(&req).unwrap();
                req.yield_rate = None;
                req.clean_price = Some(a.clean_price);
                let b = analyse(&req).unwrap();
                close(&format!("{dc:?} {comp:?} {settle} yield"), b.yield_rate, 0.043, 1e-10);
                close("clean", b.clean_price, a.clean_price, 1e-9);
                req.clean_price = None;
                req.dirty_price = Some(a.dirty_price);
                let c = analyse(&req).unwrap();
                close("yield from dirty", c.yield_rate, 0.043, 1e-10);
                close("accrued", a.dirty_price - a.clean_price, a.accrued_amount, 1e-12);
                // The modified duration is the price's log-derivative.
                let h = 1e-6;
                let mut up = req.clone();
                (up.dirty_price, up.yield_rate) = (None, Some(0.043 + h));
                let mut down = up.clone();
                down.yield_rate = Some(0.043 - h);
                let (pu, pd) = (analyse(&up).unwrap().dirty_price, analyse(&down).unwrap().dirty_price);
                if comp != Compounding::Simple {
                    close("modified duration", -(pu - pd) / (2.0 * h) / a.dirty_price, a.modified_duration, 1e-6);
                }
            }
        }
    }
}

/// Random requests, many of them absurd, give finite numbers or an error naming a field: never
/// NaN, never a panic.
#[test]
fn random_requests_give_finite_numbers_or_errors() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let dcs = [
        DayCount::Thirty360BondBasis,
        DayCount::Thirty360Us,
        DayCount::Thirty360European,
        DayCount::ActActIcma,
        DayCount::Act365Fixed,
        DayCount::Act360,
    ];
    let comps = [Compounding::Compounded, Compounding::Continuous, Compounding::Simple];
    let base = date("1990-01-01");
    let day = |rng: &mut rand_chacha::ChaCha8Rng, span: i64| base + chrono::TimeDelta::days(rng.gen_range(-4000..span));
    let (mut ok, mut errors) = (0, 0);
    for _ in 0..3000 {
        let dated = day(&mut rng, 20_000);
        let maturity = dated + chrono::TimeDelta::days(rng.gen_range(-30..25_000));
        let mut s = spec(
            "2000-01-01",
            "2001-01-01",
            rng.gen_range(-0.01..0.3),
            [1, 2, 3, 4, 12][rng.gen_range(0..5)],
            dcs[rng.gen_range(0..6)],
        );
        (s.dated_date, s.maturity) = (dated, maturity);
        s.rule = if rng.gen_bool(0.5) { Rule::Backward } else { Rule::Forward };
        s.end_of_month = rng.gen_bool(0.3);
        if rng.gen_bool(0.2) {
            s.first_coupon_date = Some(dated + chrono::TimeDelta::days(rng.gen_range(-10..900)));
        }
        if rng.gen_bool(0.2) {
            s.next_to_last_date = Some(maturity - chrono::TimeDelta::days(rng.gen_range(-10..900)));
        }
        s.ex_coupon_days = rng.gen_range(0..12);
        s.ex_coupon_business_days = rng.gen_bool(0.5);
        s.calendar = [None, Some(Calendar::Weekends), Some(Calendar::UsGovernmentBond), Some(Calendar::Target)]
            [rng.gen_range(0..4)];
        s.payment_convention = [
            BusinessDayConvention::Following,
            BusinessDayConvention::ModifiedFollowing,
            BusinessDayConvention::Preceding,
            BusinessDayConvention::ModifiedPreceding,
            BusinessDayConvention::Unadjusted,
        ][rng.gen_range(0..5)];
        let settlement = dated + chrono::TimeDelta::days(rng.gen_range(-20..20_000));
        let quote = rng.gen_range(0..3);
        let req = BondRequest {
            bond: s,
            settlement: Some(settlement),
            trade_date: None,
            settlement_days: None,
            yield_rate: (quote == 0).then(|| rng.gen_range(-2.5..12.0)),
            clean_price: (quote == 1).then(|| rng.gen_range(-5.0..400.0)),
            dirty_price: (quote == 2).then(|| rng.gen_range(-5.0..400.0)),
            compounding: comps[rng.gen_range(0..3)],
            yield_day_count: None,
            yield_frequency: None,
        };
        match analyse(&req) {
            Ok(r) => {
                ok += 1;
                let all = [
                    r.clean_price,
                    r.dirty_price,
                    r.accrued_amount,
                    r.yield_rate,
                    r.modified_duration,
                    r.convexity,
                    r.bpv,
                ];
                assert!(all.iter().all(|v| v.is_finite()), "{req:?} -> {r:?}");
                if let Some(p) = req.clean_price {
                    close("clean price round trip", r.clean_price, p, 1e-6 * p.max(1.0));
                }
            }
            Err(e) => {
                errors += 1;
                assert!(!e.to_string().is_empty());
            }
        }
    }
    assert!(ok > 500 && errors > 100, "{ok} answered, {errors} refused");
}

/// Every request of examples/quant/bond.jsonl reads and is analysed.
#[test]
fn the_examples_analyse() {
    let text = include_str!("../../examples/quant/bond.jsonl");
    for (i, line) in text.lines().filter(|l| !l.trim().is_empty()).enumerate() {
        let req: BondRequest = serde_json::from_str(line).unwrap_or_else(|e| panic!("line {}: {e}", i + 1));
        analyse(&req).unwrap_or_else(|e| panic!("line {}: {e}", i + 1));
    }
}
