//! Where a sale goes on the return: Form 8949's box, Schedule D's lines, and the reference
//! numbers tax software reads them by (TXF).
//!
//! **The box** (Instructions for Form 8949, "Which box to check"): part I (short-term) box A
//! for sales reported on a Form 1099-B that shows the basis was reported to the IRS, B when the
//! 1099-B shows it was not, C when there is no 1099-B; part II (long-term) boxes D, E and F the
//! same. A broker reports basis only for *covered securities*, by the date they were acquired
//! (26 U.S.C. §6045(g)(3); Treas. Reg. §1.6045-1(a)(15)): [`COVERED_FROM`], one row per kind of
//! security. Whether a 1099-B comes at all, and whether it carries the basis of covered shares,
//! is the account's ([`BasisReporting`], a detail of the account: a US broker by default).
//!
//! **Schedule D** (Instructions for Schedule D (Form 1040)): box A sales with no adjustment
//! may be totalled straight onto line 1a (8a long-term) without a Form 8949 (Exception 1); box A
//! sales with an adjustment (a wash sale's `W`) go through Form 8949 onto line 1b (8b); boxes B
//! and C onto lines 2 and 3 (E and F onto 9 and 10). Line 7 (15) nets the part's column (h)
//! less the loss carried over (line 6, 14); line 16 adds the two; line 21 is the loss allowed
//! this year (§1211(b): $3,000, $1,500 married filing separately). Lines for forms cairn does
//! not keep (4, 5, 11, 12: installment sales, casualties, §1256 contracts, like-kind exchanges,
//! K-1s; 13: capital gain distributions, which the ledger books as dividends) are left out.
//!
//! Digital assets (Form 1099-DA, boxes G–L from 2025) are not modelled: the ledger keeps no
//! digital-asset kind.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::ledger::lots::Term;

/// Whether the broker of an account files Form 1099-B, and with basis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BasisReporting {
    /// A US broker: a 1099-B for every sale, with the basis of covered securities reported to
    /// the IRS ([`COVERED_FROM`]) and of the others not.
    #[default]
    Reported,
    /// A 1099-B without basis for any sale (shares transferred in without their basis, a
    /// broker that does not track it): boxes B and E.
    NotReported,
    /// No 1099-B at all (shares held with a transfer agent, a foreign broker): boxes C and F.
    None,
}

impl BasisReporting {
    pub const ALL: [BasisReporting; 3] = [Self::Reported, Self::NotReported, Self::None];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reported => "reported",
            Self::NotReported => "not_reported",
            Self::None => "none",
        }
    }
}

impl std::str::FromStr for BasisReporting {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim().to_ascii_lowercase().replace('-', "_");
        Self::ALL
            .into_iter()
            .find(|b| b.as_str() == s)
            .ok_or_else(|| format!("{s:?} is not a basis reporting; expected reported, not_reported or none"))
    }
}

/// What a security is, for the date its basis became reportable (the security master's `kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecurityKind {
    /// Stock in a corporation (an ADR, a REIT's shares).
    Stock,
    /// Shares of a regulated investment company: a mutual fund, or an ETF organized as one.
    Fund,
    /// An option, warrant or stock right.
    Option,
    /// A debt instrument with a fixed rate and maturity (a "less complex" one).
    Bond,
    /// Any other debt instrument (floating or contingent payments, convertible, inflation
    /// indexed, stripped).
    ComplexBond,
}

impl SecurityKind {
    pub const ALL: [SecurityKind; 5] = [Self::Stock, Self::Fund, Self::Option, Self::Bond, Self::ComplexBond];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stock => "stock",
            Self::Fund => "fund",
            Self::Option => "option",
            Self::Bond => "bond",
            Self::ComplexBond => "complex_bond",
        }
    }
}

impl std::str::FromStr for SecurityKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim().to_ascii_lowercase().replace([' ', '-'], "_");
        Self::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| {
            let names: Vec<&str> = Self::ALL.iter().map(|k| k.as_str()).collect();
            format!("{s:?} is not a kind of security; expected one of {}", names.join(", "))
        })
    }
}

/// The first acquisition date from which each kind is a covered security, by
/// Treas. Reg. §1.6045-1(a)(15)(i): (A) stock, January 1, 2011; (B) stock of a regulated
/// investment company (and stock bought through a dividend reinvestment plan), January 1,
/// 2012; (C) debt instruments other than those of (D) and options (§1.6045-1(m)),
/// January 1, 2014; (D) debt with floating or contingent payments, convertible, inflation
/// indexed and the like, January 1, 2016.
pub const COVERED_FROM: [(SecurityKind, (i32, u32, u32)); 5] = [
    (SecurityKind::Stock, (2011, 1, 1)),
    (SecurityKind::Fund, (2012, 1, 1)),
    (SecurityKind::Option, (2014, 1, 1)),
    (SecurityKind::Bond, (2014, 1, 1)),
    (SecurityKind::ComplexBond, (2016, 1, 1)),
];

/// Whether shares of `kind` acquired on `acquired` are a covered security. A security whose
/// kind the master does not say is taken as stock (the earliest date): describe funds as
/// `fund` for their 2011 purchases to be noncovered.
pub fn covered(kind: Option<SecurityKind>, acquired: NaiveDate) -> bool {
    let kind = kind.unwrap_or(SecurityKind::Stock);
    COVERED_FROM
        .iter()
        .find(|(k, _)| *k == kind)
        .and_then(|(_, (y, m, d))| NaiveDate::from_ymd_opt(*y, *m, *d))
        .is_some_and(|from| acquired >= from)
}

/// A Form 8949 check box.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum FormBox {
    A,
    B,
    C,
    D,
    E,
    F,
}

impl FormBox {
    pub const ALL: [FormBox; 6] = [Self::A, Self::B, Self::C, Self::D, Self::E, Self::F];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::A => "A",
            Self::B => "B",
            Self::C => "C",
            Self::D => "D",
            Self::E => "E",
            Self::F => "F",
        }
    }

    pub fn term(self) -> Term {
        match self {
            Self::A | Self::B | Self::C => Term::Short,
            Self::D | Self::E | Self::F => Term::Long,
        }
    }

    /// The TXF reference number of a sale reported in this box (Tax Data Exchange, TXF
    /// v042, "Form 1099-B TXF Reference Numbers": 321, 711, 712 short-term; 323, 713, 714
    /// long-term).
    pub fn txf_reference(self) -> u16 {
        match self {
            Self::A => 321,
            Self::B => 711,
            Self::C => 712,
            Self::D => 323,
            Self::E => 713,
            Self::F => 714,
        }
    }
}

/// The box of a sale of `term` from an account that reports as `reporting`, of shares of
/// `kind` acquired on `acquired`.
pub fn form_box(term: Term, reporting: BasisReporting, kind: Option<SecurityKind>, acquired: NaiveDate) -> FormBox {
    let basis_reported = match reporting {
        BasisReporting::Reported => Some(covered(kind, acquired)),
        BasisReporting::NotReported => Some(false),
        BasisReporting::None => None,
    };
    match (term, basis_reported) {
        (Term::Short, Some(true)) => FormBox::A,
        (Term::Short, Some(false)) => FormBox::B,
        (Term::Short, None) => FormBox::C,
        (Term::Long, Some(true)) => FormBox::D,
        (Term::Long, Some(false)) => FormBox::E,
        (Term::Long, None) => FormBox::F,
    }
}

/// One Form 8949 row as Schedule D totals it: its box and columns (d), (e), (g), (h).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sale {
    pub form_box: FormBox,
    pub proceeds: Decimal,
    pub cost: Decimal,
    /// Column (g): the wash sale's disallowed loss (positive), zero when none.
    pub adjustment: Decimal,
    pub gain: Decimal,
}

/// A Schedule D line: columns (d) proceeds, (e) cost, (g) adjustments, (h) gain or loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Line {
    pub proceeds: Decimal,
    pub cost: Decimal,
    pub adjustment: Decimal,
    pub gain: Decimal,
}

impl Line {
    fn add(&mut self, s: &Sale) {
        self.proceeds += cents(s.proceeds);
        self.cost += cents(s.cost);
        self.adjustment += cents(s.adjustment);
        self.gain += cents(s.gain);
    }
}

/// Schedule D, parts I to III, as far as the ledger fills it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScheduleD {
    /// Box A with no adjustment (Exception 1: not on Form 8949).
    pub line_1a: Line,
    /// Box A through Form 8949 (with an adjustment).
    pub line_1b: Line,
    pub line_2: Line,
    pub line_3: Line,
    /// Short-term capital loss carryover (positive).
    pub line_6: Decimal,
    /// Net short-term gain or loss.
    pub line_7: Decimal,
    pub line_8a: Line,
    pub line_8b: Line,
    pub line_9: Line,
    pub line_10: Line,
    /// Long-term capital loss carryover (positive).
    pub line_14: Decimal,
    /// Net long-term gain or loss.
    pub line_15: Decimal,
    pub line_16: Decimal,
    /// The loss deducted this year (negative, at most the limit), when line 16 is a loss.
    pub line_21: Option<Decimal>,
}

fn cents(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
}

/// Schedule D from a year's reportable sales and the losses carried in (positive amounts).
/// Each row's amounts are rounded to cents before they are added, as the form's columns are.
pub fn schedule_d(sales: &[Sale], carry_short: Decimal, carry_long: Decimal, loss_limit: Decimal) -> ScheduleD {
    let mut d = ScheduleD { line_6: carry_short, line_14: carry_long, ..ScheduleD::default() };
    for s in sales {
        let adjusted = !s.adjustment.is_zero();
        let line = match (s.form_box, adjusted) {
            (FormBox::A, false) => &mut d.line_1a,
            (FormBox::A, true) => &mut d.line_1b,
            (FormBox::B, _) => &mut d.line_2,
            (FormBox::C, _) => &mut d.line_3,
            (FormBox::D, false) => &mut d.line_8a,
            (FormBox::D, true) => &mut d.line_8b,
            (FormBox::E, _) => &mut d.line_9,
            (FormBox::F, _) => &mut d.line_10,
        };
        line.add(s);
    }
    d.line_7 = d.line_1a.gain + d.line_1b.gain + d.line_2.gain + d.line_3.gain - d.line_6;
    d.line_15 = d.line_8a.gain + d.line_8b.gain + d.line_9.gain + d.line_10.gain - d.line_14;
    d.line_16 = d.line_7 + d.line_15;
    d.line_21 = (d.line_16 < Decimal::ZERO).then(|| d.line_16.max(-loss_limit));
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn the_box_follows_the_coverage_dates_of_each_kind() {
        use BasisReporting::*;
        use FormBox::*;
        // Stock bought on the first covered day is covered; the day before is not.
        assert_eq!(form_box(Term::Short, Reported, Some(SecurityKind::Stock), day("2011-01-01")), A);
        assert_eq!(form_box(Term::Long, Reported, Some(SecurityKind::Stock), day("2010-12-31")), E);
        // A mutual fund bought in 2011 is noncovered; from 2012 covered.
        assert_eq!(form_box(Term::Long, Reported, Some(SecurityKind::Fund), day("2011-06-30")), E);
        assert_eq!(form_box(Term::Long, Reported, Some(SecurityKind::Fund), day("2012-01-03")), D);
        // Options and plain bonds from 2014, complex debt from 2016.
        assert_eq!(form_box(Term::Short, Reported, Some(SecurityKind::Option), day("2013-12-31")), B);
        assert_eq!(form_box(Term::Short, Reported, Some(SecurityKind::Bond), day("2014-01-02")), A);
        assert_eq!(form_box(Term::Long, Reported, Some(SecurityKind::ComplexBond), day("2015-07-01")), E);
        assert_eq!(form_box(Term::Long, Reported, Some(SecurityKind::ComplexBond), day("2016-01-04")), D);
        // A kind not described counts as stock.
        assert_eq!(form_box(Term::Short, Reported, Option::None, day("2011-03-01")), A);
        // The account decides before the date does.
        assert_eq!(form_box(Term::Short, NotReported, Some(SecurityKind::Stock), day("2024-01-02")), B);
        assert_eq!(form_box(Term::Short, None, Some(SecurityKind::Stock), day("2024-01-02")), C);
        assert_eq!(form_box(Term::Long, None, Some(SecurityKind::Fund), day("2005-01-03")), F);
        // Every box has its own TXF reference number, and its term.
        let refs: std::collections::BTreeSet<u16> = FormBox::ALL.iter().map(|b| b.txf_reference()).collect();
        assert_eq!(refs.len(), 6);
        assert_eq!((D.txf_reference(), D.term()), (323, Term::Long));
    }

    #[test]
    fn schedule_d_puts_unadjusted_box_a_on_line_1a_and_limits_the_loss() {
        let sale = |form_box, proceeds, cost, adjustment| Sale {
            form_box,
            proceeds,
            cost,
            adjustment,
            gain: proceeds - cost + adjustment,
        };
        let sales = [
            sale(FormBox::A, dec!(1000.004), dec!(1500), dec!(0)),
            sale(FormBox::A, dec!(2000), dec!(2600), dec!(400)),
            sale(FormBox::B, dec!(500), dec!(300), dec!(0)),
            sale(FormBox::D, dec!(10000), dec!(4000), dec!(0)),
            sale(FormBox::E, dec!(100), dec!(9100), dec!(0)),
            sale(FormBox::F, dec!(50), dec!(20), dec!(0)),
        ];
        let d = schedule_d(&sales, dec!(1200), dec!(800), dec!(3000));
        assert_eq!(
            d.line_1a,
            Line { proceeds: dec!(1000.00), cost: dec!(1500), adjustment: dec!(0), gain: dec!(-500.00) }
        );
        assert_eq!(d.line_1b, Line { proceeds: dec!(2000), cost: dec!(2600), adjustment: dec!(400), gain: dec!(-200) });
        assert_eq!(d.line_2.gain, dec!(200));
        assert_eq!(d.line_3, Line::default());
        // Line 7: -500 - 200 + 200 - 1,200 carried = -1,700.
        assert_eq!(d.line_7, dec!(-1700));
        // Line 15: 6,000 - 9,000 + 30 - 800 carried = -3,770.
        assert_eq!(d.line_15, dec!(-3770));
        assert_eq!(d.line_16, dec!(-5470));
        assert_eq!(d.line_21, Some(dec!(-3000)));
        // Married filing separately: $1,500; a gain has no line 21.
        assert_eq!(schedule_d(&sales, dec!(1200), dec!(800), dec!(1500)).line_21, Some(dec!(-1500)));
        assert_eq!(schedule_d(&sales[3..4], dec!(0), dec!(0), dec!(3000)).line_21, None);
        // A net of exactly zero is no loss.
        assert_eq!(schedule_d(&sales[1..3], dec!(0), dec!(0), dec!(3000)).line_21, None);
    }
}
