//! State estate taxes: the twelve states and the District that tax a resident's estate
//! ([`STATES`], one row per state and year with its statute and source).
//!
//! A state taxes its "state taxable estate": the federal taxable estate before the federal
//! deduction for state death taxes (IRC §2058), plus, in some states, taxable gifts made shortly
//! before death ([`AddBack`]). What the state charges is deductible from the federal taxable
//! estate (§2058), which `queries::estate` applies. The methods:
//!
//! - [`Method::Flat`]: a single rate over the exclusion, perhaps capped (Connecticut, Vermont);
//! - [`Method::Marginal`]: graduated rates on the estate above the exclusion, the brackets either
//!   measured from the exclusion (Hawaii, Maine, Washington, and Minnesota, whose taxable estate
//!   is after its exclusion, Minn. Stat. §291.016 subd. 3) or fixed amounts of the estate
//!   (Oregon; the District of Columbia, whose rates apply to the estate above its zero bracket
//!   amount in bands of fixed amounts, D.C. Code §47-3702(a-1)(1));
//! - [`Method::Cliff`]: New York's: its rates on the whole estate, the credit for it phased out
//!   between 100% and 105% of the exclusion and gone above (N.Y. Tax Law §952(c));
//! - [`Method::CreditTable`]: the state death tax credit table of IRC §2011(b) as in force before
//!   2001 ([`CREDIT_TABLE`], on the estate less $60,000) less the same table's tax on the
//!   exclusion (Massachusetts, Rhode Island), or capped at a rate over the exclusion (Maryland);
//! - [`Method::Interrelated`]: Illinois's: the same table on the taxable estate after the
//!   Illinois tax itself is deducted, at most the federal tax at a $4,000,000 exclusion (IRC
//!   §2011(e) as of 2001), the tax and the estate it is deducted from solved together (35 ILCS
//!   405/2, 405/3; [`illinois`]).
//!
//! A year cairn has no row for takes the latest row before it, and says so.

use rust_decimal::Decimal;
use serde::Serialize;

use crate::estate::EstateError;
use crate::tax::{pct, usd};

/// A bracket: the estate's dollars above `over` are taxed at `rate`.
pub type Bracket = (Decimal, Decimal);

/// How a state computes its tax.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Flat {
        rate: Decimal,
        cap: Option<Decimal>,
    },
    Marginal {
        from_exclusion: bool,
        brackets: &'static [Bracket],
    },
    Cliff {
        brackets: &'static [Bracket],
    },
    CreditTable {
        cap_rate: Option<Decimal>,
    },
    /// Illinois (35 ILCS 405/3(c); "State tax credit", 405/2(b)): the credit for state death
    /// taxes of IRC §2011 as computed under the Code in effect on December 31, 2001, without
    /// EGTRRA's reduction (§2011(b)(2)) or termination (§2011(f)), but recognizing an exclusion
    /// of only the row's: the §2011(b) table ([`CREDIT_TABLE`]) on the taxable estate, limited
    /// by §2011(e) to the §2001 tax less the unified credit, here the tentative tax on the
    /// taxable estate plus the adjusted taxable gifts less that on the exclusion, on the
    /// `federal` rate schedule. The Illinois tax is itself deducted from the taxable estate both
    /// are figured on, so the tax is the amount that equals the lesser of the two on the estate
    /// less itself ([`illinois`]).
    Interrelated {
        federal: &'static [(Decimal, Decimal, Decimal)],
    },
}

/// Which taxable gifts join the state taxable estate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddBack {
    None,
    /// Those of the last `n` years (by calendar year of the gift).
    Within(i32),
    /// All of them.
    All,
}

/// A state's tax for a year.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateYear {
    pub state: &'static str,
    pub year: i32,
    pub exclusion: Decimal,
    pub method: Method,
    pub gifts: AddBack,
    pub source: &'static str,
}

const HAWAII: &[Bracket] = &[
    (usd(0), pct(10, 2)),
    (usd(1_000_000), pct(11, 2)),
    (usd(2_000_000), pct(12, 2)),
    (usd(3_000_000), pct(13, 2)),
    (usd(4_000_000), pct(14, 2)),
    (usd(5_000_000), pct(157, 3)),
    (usd(10_000_000), pct(20, 2)),
];
const MAINE: &[Bracket] = &[(usd(0), pct(8, 2)), (usd(3_000_000), pct(10, 2)), (usd(6_000_000), pct(12, 2))];
const WASHINGTON: &[Bracket] = &[
    (usd(0), pct(10, 2)),
    (usd(1_000_000), pct(15, 2)),
    (usd(2_000_000), pct(17, 2)),
    (usd(3_000_000), pct(19, 2)),
    (usd(4_000_000), pct(23, 2)),
    (usd(6_000_000), pct(26, 2)),
    (usd(7_000_000), pct(30, 2)),
    (usd(9_000_000), pct(35, 2)),
];
const MINNESOTA: &[Bracket] = &[
    (usd(0), pct(13, 2)),
    (usd(7_100_000), pct(136, 3)),
    (usd(8_100_000), pct(144, 3)),
    (usd(9_100_000), pct(152, 3)),
    (usd(10_100_000), pct(16, 2)),
];
const OREGON: &[Bracket] = &[
    (usd(0), pct(10, 2)),
    (usd(1_500_000), pct(1025, 4)),
    (usd(2_500_000), pct(105, 3)),
    (usd(3_500_000), pct(11, 2)),
    (usd(4_500_000), pct(115, 3)),
    (usd(5_500_000), pct(12, 2)),
    (usd(6_500_000), pct(13, 2)),
    (usd(7_500_000), pct(14, 2)),
    (usd(8_500_000), pct(15, 2)),
    (usd(9_500_000), pct(16, 2)),
];
const NEW_YORK: &[Bracket] = &[
    (usd(0), pct(306, 4)),
    (usd(500_000), pct(5, 2)),
    (usd(1_000_000), pct(55, 3)),
    (usd(1_500_000), pct(65, 3)),
    (usd(2_100_000), pct(8, 2)),
    (usd(2_600_000), pct(88, 3)),
    (usd(3_100_000), pct(96, 3)),
    (usd(3_600_000), pct(104, 3)),
    (usd(4_100_000), pct(112, 3)),
    (usd(5_100_000), pct(12, 2)),
    (usd(6_100_000), pct(128, 3)),
    (usd(7_100_000), pct(136, 3)),
    (usd(8_100_000), pct(144, 3)),
    (usd(9_100_000), pct(152, 3)),
    (usd(10_100_000), pct(16, 2)),
];

/// D.C. Code §47-3702(a-1)(1): 0% up to the zero bracket amount (the row's exclusion; $4,000,000
/// from 2021, indexed from 2022 by §47-3701(14)(D)), then these rates on the bands of the
/// taxable estate above it, and 16% over $10,000,000. The zero bracket amount has been above
/// $1,000,000 since 2016, so the statute's 16% on the rest never reaches the estate below it.
const DISTRICT: &[Bracket] = &[
    (usd(1_000_000), pct(64, 3)),
    (usd(1_500_000), pct(72, 3)),
    (usd(2_000_000), pct(8, 2)),
    (usd(2_500_000), pct(88, 3)),
    (usd(3_000_000), pct(96, 3)),
    (usd(3_500_000), pct(104, 3)),
    (usd(4_000_000), pct(112, 3)),
    (usd(5_000_000), pct(12, 2)),
    (usd(6_000_000), pct(128, 3)),
    (usd(7_000_000), pct(136, 3)),
    (usd(8_000_000), pct(144, 3)),
    (usd(9_000_000), pct(152, 3)),
    (usd(10_000_000), pct(16, 2)),
];

/// IRC §2011(b)'s credit for state death taxes as in force before EGTRRA (2001): on the
/// adjusted taxable estate (the taxable estate less $60,000), the tax at the bracket's bottom
/// plus its rate on the rest.
pub const CREDIT_TABLE: [(Decimal, Decimal, Decimal); 20] = [
    (usd(40_000), usd(0), pct(8, 3)),
    (usd(90_000), usd(400), pct(16, 3)),
    (usd(140_000), usd(1_200), pct(24, 3)),
    (usd(240_000), usd(3_600), pct(32, 3)),
    (usd(440_000), usd(10_000), pct(4, 2)),
    (usd(640_000), usd(18_000), pct(48, 3)),
    (usd(840_000), usd(27_600), pct(56, 3)),
    (usd(1_040_000), usd(38_800), pct(64, 3)),
    (usd(1_540_000), usd(70_800), pct(72, 3)),
    (usd(2_040_000), usd(106_800), pct(8, 2)),
    (usd(2_540_000), usd(146_800), pct(88, 3)),
    (usd(3_040_000), usd(190_800), pct(96, 3)),
    (usd(3_540_000), usd(238_800), pct(104, 3)),
    (usd(4_040_000), usd(290_800), pct(112, 3)),
    (usd(5_040_000), usd(402_800), pct(12, 2)),
    (usd(6_040_000), usd(522_800), pct(128, 3)),
    (usd(7_040_000), usd(650_800), pct(136, 3)),
    (usd(8_040_000), usd(786_800), pct(144, 3)),
    (usd(9_040_000), usd(930_800), pct(152, 3)),
    (usd(10_040_000), usd(1_082_800), pct(16, 2)),
];

const fn row(
    state: &'static str,
    year: i32,
    exclusion: u32,
    method: Method,
    gifts: AddBack,
    source: &'static str,
) -> StateYear {
    StateYear { state, year, exclusion: usd(exclusion), method, gifts, source }
}

const CT: Method = Method::Flat { rate: pct(12, 2), cap: Some(usd(15_000_000)) };
const VT: Method = Method::Flat { rate: pct(16, 2), cap: None };
const HI: Method = Method::Marginal { from_exclusion: true, brackets: HAWAII };
const ME: Method = Method::Marginal { from_exclusion: true, brackets: MAINE };
const WA: Method = Method::Marginal { from_exclusion: true, brackets: WASHINGTON };
const MN: Method = Method::Marginal { from_exclusion: true, brackets: MINNESOTA };
const OR: Method = Method::Marginal { from_exclusion: false, brackets: OREGON };
const NY: Method = Method::Cliff { brackets: NEW_YORK };
const MA: Method = Method::CreditTable { cap_rate: None };
const MD: Method = Method::CreditTable { cap_rate: Some(pct(16, 2)) };
/// The limitation's federal tax on today's §2001(c) schedule (40% over $1,000,000), as the
/// Illinois Attorney General's calculator figures it (see [`illinois`] for why not 2001's).
const IL: Method = Method::Interrelated { federal: &crate::estate::RATE_SCHEDULE };
const DC: Method = Method::Marginal { from_exclusion: false, brackets: DISTRICT };

/// Each state's exclusion and method by year. Exclusions that are indexed and not yet in the
/// table for a year fall back to the latest year here.
pub const STATES: &[StateYear] = &[
    row(
        "CT",
        2025,
        13_990_000,
        CT,
        AddBack::All,
        "Conn. Gen. Stat. §12-391 (exclusion = the federal basic exclusion; 12%; $15M cap)",
    ),
    row(
        "CT",
        2026,
        15_000_000,
        CT,
        AddBack::All,
        "Conn. Gen. Stat. §12-391 (exclusion = the federal basic exclusion; 12%; $15M cap)",
    ),
    row(
        "DC",
        2025,
        4_873_200,
        DC,
        AddBack::None,
        "D.C. Code §47-3702(a-1)(1) (rates by band above the zero bracket amount, 16% over $10M), \
         §47-3701(14)(D) ($4M from 2021, indexed); Office of Tax and Revenue 2025 zero bracket amount",
    ),
    row("HI", 2025, 5_490_000, HI, AddBack::None, "Haw. Rev. Stat. §236E-6, §236E-8"),
    row("HI", 2026, 5_490_000, HI, AddBack::None, "Haw. Rev. Stat. §236E-6, §236E-8"),
    row(
        "IL",
        2025,
        4_000_000,
        IL,
        AddBack::All,
        "35 ILCS 405/2(b), 405/3(c) (the 2001 §2011 credit at a $4M exclusion, interrelated); \
         Illinois Attorney General's estate tax calculator (Form 700 lines 3 and 5)",
    ),
    row(
        "IL",
        2026,
        4_000_000,
        IL,
        AddBack::All,
        "35 ILCS 405/2(b), 405/3(c) (the 2001 §2011 credit at a $4M exclusion, interrelated); \
         Illinois Attorney General's estate tax calculator (Form 700 lines 3 and 5)",
    ),
    row(
        "MA",
        2025,
        2_000_000,
        MA,
        AddBack::None,
        "Mass. Gen. Laws ch. 65C §2A (as amended by St. 2023, c. 50: a credit of $99,600)",
    ),
    row(
        "MA",
        2026,
        2_000_000,
        MA,
        AddBack::None,
        "Mass. Gen. Laws ch. 65C §2A (as amended by St. 2023, c. 50: a credit of $99,600)",
    ),
    row(
        "MD",
        2025,
        5_000_000,
        MD,
        AddBack::None,
        "Md. Code, Tax-Gen. §7-309(b) (the §2011 credit, at most 16% over $5,000,000)",
    ),
    row(
        "MD",
        2026,
        5_000_000,
        MD,
        AddBack::None,
        "Md. Code, Tax-Gen. §7-309(b) (the §2011 credit, at most 16% over $5,000,000)",
    ),
    row(
        "ME",
        2025,
        7_000_000,
        ME,
        AddBack::Within(1),
        "36 M.R.S. §4102, §4103 (8%/10%/12%); Maine Revenue Services 2025 exclusion",
    ),
    row("MN", 2025, 3_000_000, MN, AddBack::Within(3), "Minn. Stat. §291.016, §291.03 subd. 1"),
    row("MN", 2026, 3_000_000, MN, AddBack::Within(3), "Minn. Stat. §291.016, §291.03 subd. 1"),
    row(
        "NY",
        2025,
        7_160_000,
        NY,
        AddBack::Within(3),
        "N.Y. Tax Law §952 (rates, the credit's phase-out to 105%); NYS DTF 2025 basic exclusion",
    ),
    row("OR", 2025, 1_000_000, OR, AddBack::None, "Or. Rev. Stat. §118.010"),
    row("OR", 2026, 1_000_000, OR, AddBack::None, "Or. Rev. Stat. §118.010"),
    row("RI", 2025, 1_802_431, MA, AddBack::None, "R.I. Gen. Laws §44-22-1.1; RI Division of Taxation 2025 exemption"),
    row("VT", 2025, 5_000_000, VT, AddBack::None, "32 V.S.A. §7442a"),
    row("VT", 2026, 5_000_000, VT, AddBack::None, "32 V.S.A. §7442a"),
    row(
        "WA",
        2025,
        3_000_000,
        WA,
        AddBack::None,
        "RCW 83.100.040 as amended by ESSB 5813 (2025), deaths from July 1, 2025",
    ),
];

/// A state estate tax figured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct StateEstateTax {
    pub state: String,
    pub year: i32,
    /// The table's year used (the latest at or before `year`).
    pub table_year: i32,
    pub exclusion: Decimal,
    /// The taxable gifts the state counts: added to the state taxable estate, or for Illinois
    /// the adjusted taxable gifts in the federal tax that limits its credit (they do not join
    /// the estate the credit table is applied to).
    pub gifts_added: Decimal,
    /// The estate the state taxes, before any deduction of the state's tax (for Illinois, before
    /// the deduction of its own tax that the interrelated computation makes: Form 700 line 3).
    pub state_taxable_estate: Decimal,
    pub tax: Decimal,
    pub note: Option<String>,
    pub source: &'static str,
}

fn marginal(amount: Decimal, brackets: &[(Decimal, Decimal)]) -> Decimal {
    let mut tax = Decimal::ZERO;
    for (i, (over, rate)) in brackets.iter().enumerate() {
        let top = brackets.get(i + 1).map(|b| b.0);
        if amount <= *over {
            break;
        }
        let upto = top.map_or(amount, |t| amount.min(t));
        tax += (upto - over) * rate;
    }
    tax
}

/// The §2011(b) table on a taxable estate (the $60,000 taken off first).
pub fn credit_table(taxable_estate: Decimal) -> Decimal {
    let adjusted = taxable_estate - usd(60_000);
    let row = CREDIT_TABLE.iter().rev().find(|(over, _, _)| adjusted > *over);
    row.map_or(Decimal::ZERO, |(over, base, rate)| *base + (adjusted - over) * rate)
}

/// A nondecreasing piecewise-linear function: from each `(over, value, rate)` on, the value at
/// `over` plus `rate` of the excess; nothing below the first.
type Segments = [(Decimal, Decimal, Decimal)];

/// The `x` with `x = f(amount − x)`: a tax deducted from the amount it is figured on. With every
/// rate under 1, `u + f(u)` rises strictly, so there is one; it is solved on its segment exactly.
fn deducted_from_itself(amount: Decimal, f: &Segments) -> Decimal {
    let Some((over, value, rate)) = f.iter().rev().find(|(over, value, _)| *over + *value <= amount) else {
        return Decimal::ZERO;
    };
    *value + *rate * (amount - over - value) / (Decimal::ONE + rate)
}

fn schedule_tax(amount: Decimal, schedule: &Segments) -> Decimal {
    schedule
        .iter()
        .rev()
        .find(|(over, _, _)| amount > *over)
        .map_or(Decimal::ZERO, |(over, base, rate)| *base + (amount - over) * rate)
}

/// Illinois's tax ([`Method::Interrelated`]) on a tentative taxable estate (Form 700 line 3:
/// before the deduction for state death taxes) with adjusted taxable gifts (line 5), at an
/// exclusion, the limitation's tax on `federal`: the `x` that is the lesser of
///
/// - the §2011(b) table on the taxable estate `estate − x` (less $60,000), and
/// - the §2001 tax on `estate − x + gifts` less that on the exclusion (§2011(e); gift tax
///   payable is not taken off, the Attorney General's calculator having no place for it).
///
/// Each alone is a tax deducted from itself (`deducted_from_itself`); as both fall as `x`
/// rises, the lesser of their two solutions solves the lesser of them.
///
/// Which §2001(c) schedule: the statute's "Code as in effect on December 31, 2001" could be read
/// as the 2001 schedule (55% at the top, the 5% surtax above $10,000,000). The Attorney
/// General's calculator, which Form 700's instructions direct estates to, uses today's (40%
/// over $1,000,000): the results practitioners publish from it are $285,714 on a $5,000,000
/// estate, 40% × ($1,000,000 − x) = x, about 28.6% of the estate over the exclusion, where the
/// 2001 schedule's 55% would leave the table's $352,158.27. cairn follows the calculator:
/// `federal` is [`crate::estate::RATE_SCHEDULE`] for Illinois's rows.
pub fn illinois(
    estate: Decimal,
    gifts: Decimal,
    exclusion: Decimal,
    federal: &[(Decimal, Decimal, Decimal)],
) -> Decimal {
    let table: Vec<(Decimal, Decimal, Decimal)> =
        CREDIT_TABLE.iter().map(|(over, base, rate)| (*over + usd(60_000), *base, *rate)).collect();
    let credit = schedule_tax(exclusion, federal);
    let at_exclusion = federal.iter().rev().find(|(over, _, _)| exclusion >= *over).map_or(Decimal::ZERO, |r| r.2);
    let limit: Vec<(Decimal, Decimal, Decimal)> = std::iter::once((exclusion - gifts, Decimal::ZERO, at_exclusion))
        .chain(
            federal
                .iter()
                .filter(|(over, _, _)| *over > exclusion)
                .map(|(over, base, rate)| (*over - gifts, *base - credit, *rate)),
        )
        .collect();
    deducted_from_itself(estate, &table).min(deducted_from_itself(estate, &limit))
}

/// The estate tax of `state` for a death in `year` on a federal taxable estate (before §2058)
/// with the decedent's taxable gifts by year; `None` where the state has no estate tax.
pub fn state_estate_tax(
    state: &str,
    year: i32,
    taxable_estate: Decimal,
    gifts: &[(i32, Decimal)],
) -> Result<Option<StateEstateTax>, EstateError> {
    let state = state.to_ascii_uppercase();
    if taxable_estate < Decimal::ZERO {
        return Err(EstateError { field: "taxable_estate", problem: format!("{taxable_estate} is negative") });
    }
    let rows: Vec<&StateYear> = STATES.iter().filter(|r| r.state == state).collect();
    if rows.is_empty() {
        return Ok(None);
    }
    let Some(r) = rows.iter().filter(|r| r.year <= year).max_by_key(|r| r.year).copied() else {
        return Err(EstateError {
            field: "year",
            problem: format!("cairn has {state}'s estate tax from {} on", rows[0].year),
        });
    };
    let gifts_added: Decimal = gifts
        .iter()
        .filter(|(y, _)| match r.gifts {
            AddBack::None => false,
            AddBack::All => true,
            AddBack::Within(n) => *y > year - n && *y <= year,
        })
        .map(|(_, g)| *g)
        .sum();
    let base = match r.method {
        Method::Interrelated { .. } => taxable_estate,
        _ => taxable_estate + gifts_added,
    };
    let tax = match r.method {
        Method::Interrelated { federal } => illinois(taxable_estate, gifts_added, r.exclusion, federal),
        Method::Flat { rate, cap } => {
            let tax = (base - r.exclusion).max(Decimal::ZERO) * rate;
            cap.map_or(tax, |c| tax.min(c))
        }
        Method::Marginal { from_exclusion, brackets } => {
            let shift = if from_exclusion { r.exclusion } else { Decimal::ZERO };
            let shifted: Vec<Bracket> =
                brackets.iter().map(|(over, rate)| ((*over + shift).max(r.exclusion), *rate)).collect();
            marginal(base, &shifted)
        }
        Method::Cliff { brackets } => {
            let full = marginal(base, brackets);
            let top = r.exclusion * Decimal::new(105, 2);
            let credit = if base <= r.exclusion {
                full
            } else if base >= top {
                Decimal::ZERO
            } else {
                full * (Decimal::ONE - (base - r.exclusion) / (top - r.exclusion))
            };
            full - credit
        }
        Method::CreditTable { cap_rate: None } => (credit_table(base) - credit_table(r.exclusion)).max(Decimal::ZERO),
        Method::CreditTable { cap_rate: Some(cap) } => {
            let over = (base - r.exclusion).max(Decimal::ZERO);
            credit_table(base).min(over * cap)
        }
    };
    let note =
        (r.year < year).then(|| format!("{state}'s {year} exclusion is not in cairn's table; this uses {}'s", r.year));
    Ok(Some(StateEstateTax {
        state,
        year,
        table_year: r.year,
        exclusion: r.exclusion,
        gifts_added,
        state_taxable_estate: base,
        tax: tax.round_dp(2),
        note,
        source: r.source,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn tax(state: &str, year: i32, estate: Decimal) -> Decimal {
        state_estate_tax(state, year, estate, &[]).unwrap().unwrap().tax
    }

    #[test]
    fn the_credit_table() {
        // §2011(b): $2,000,000 taxable ($1,940,000 adjusted) is $70,800 + 7.2% × $400,000 =
        // $99,600, the credit Massachusetts's statute names.
        assert_eq!(credit_table(dec!(2000000)), dec!(99600));
        assert_eq!(credit_table(dec!(100000)), Decimal::ZERO);
        assert_eq!(credit_table(dec!(10100000)), dec!(1082800));
        // Massachusetts at $3,000,000: $146,800 + 8.8% × $400,000 − $99,600.
        assert_eq!(tax("MA", 2026, dec!(3000000)), dec!(82400));
        assert_eq!(tax("MA", 2026, dec!(1900000)), Decimal::ZERO);
        // Rhode Island 2025: the table on $3,000,000 less the table on $1,802,431.
        assert_eq!(tax("RI", 2025, dec!(3000000)), dec!(96624.97));
        // Maryland at $6,000,000: the table's $510,800, capped at 16% of $1,000,000.
        assert_eq!(tax("MD", 2026, dec!(6000000)), dec!(160000));
    }

    #[test]
    fn new_yorks_cliff() {
        // At $8,000,000 (over 105% of $7,160,000) the whole estate is taxed: $773,200.
        assert_eq!(tax("NY", 2025, dec!(8000000)), dec!(773200));
        assert_eq!(tax("NY", 2025, dec!(7160000)), Decimal::ZERO);
        // At $7,300,000 the credit is $678,000 × (1 − 140,000 / 358,000).
        let full = dec!(678000);
        let credit = full * (Decimal::ONE - dec!(140000) / dec!(358000));
        assert_eq!(tax("NY", 2025, dec!(7300000)), (full - credit).round_dp(2));
        // Gifts of the last three years join the estate.
        let with = state_estate_tax("NY", 2025, dec!(7000000), &[(2021, dec!(500000)), (2024, dec!(1000000))]).unwrap();
        let with = with.unwrap();
        assert_eq!((with.gifts_added, with.tax), (dec!(1000000), dec!(773200)));
    }

    #[test]
    fn graduated_and_flat_states() {
        assert_eq!(tax("CT", 2026, dec!(20000000)), dec!(600000));
        assert_eq!(tax("CT", 2026, dec!(200000000)), dec!(15000000), "the cap");
        assert_eq!(tax("VT", 2026, dec!(6000000)), dec!(160000));
        // Washington at $5,000,000: 10% of the first $1,000,000 over $3,000,000, 15% of the next.
        assert_eq!(tax("WA", 2025, dec!(5000000)), dec!(250000));
        assert_eq!(tax("OR", 2026, dec!(2000000)), dec!(101250));
        // Minnesota at $8,000,000: its taxable estate is $5,000,000 after the exclusion, all at
        // 13%; at $13,100,000, $10,100,000: $923,000 + 13.6%, 14.4%, 15.2% of $1,000,000 each.
        assert_eq!(tax("MN", 2026, dec!(8000000)), dec!(650000));
        assert_eq!(tax("MN", 2026, dec!(13100000)), dec!(1355000));
        assert_eq!(tax("ME", 2025, dec!(11000000)), dec!(340000));
        assert_eq!(tax("HI", 2026, dec!(7000000)), dec!(156100));
        assert!(state_estate_tax("FL", 2026, dec!(50000000), &[]).unwrap().is_none());
        let il = state_estate_tax("il", 2026, dec!(9000000), &[]).unwrap().unwrap();
        assert_eq!((il.tax, il.note), (dec!(801048.95), None));
        // Maine's 2026 exclusion is not in the table: 2025's, said so.
        let me = state_estate_tax("ME", 2026, dec!(8000000), &[]).unwrap().unwrap();
        assert_eq!((me.table_year, me.tax), (2025, dec!(80000)));
        assert!(me.note.unwrap().contains("2025"));
        assert_eq!(state_estate_tax("NY", 2020, dec!(1), &[]).unwrap_err().field, "year");
        let mut states: Vec<&str> = STATES.iter().map(|r| r.state).collect();
        states.dedup();
        assert_eq!(states.len(), 13, "twelve states and D.C.");
    }

    #[test]
    fn illinois_interrelated() {
        // A $5,000,000 estate (deaths from 2013, the $4,000,000 exclusion, the 40% federal rate)
        // pays $285,714 (C. A. Remington, "How Gifts Affect Estate Tax in Illinois", a 2016
        // death; "close to $300,000 ... an effective tax rate of close to 29%" on the $1,000,000
        // over the exclusion, Orlowsky & Wilson, "How to Calculate Illinois Estate Tax"). By
        // hand, with x the Illinois tax and $5,000,000 − x the taxable estate:
        // - the table: $4,940,000 − x adjusted, in the 11.2% bracket from $4,040,000, is
        //   $290,800 + 11.2% × ($900,000 − x) = x, so x = $391,600 / 1.112 = $352,158.27;
        // - the limitation: 40% × ($5,000,000 − x − $4,000,000) = x, so x = $400,000 / 1.4 =
        //   $285,714.29, the lesser: the tax.
        assert_eq!(tax("IL", 2025, dec!(5000000)), dec!(285714.29));
        // Where the table is the lesser: with the $2,000,000 exclusion of 2011 deaths a
        // $5,000,000 estate paid "up to $352,158" (Freeborn & Peters, "The Illinois Estate Tax
        // Issue"), the table's $352,158.27 above.
        let rates = &crate::estate::RATE_SCHEDULE;
        assert_eq!(illinois(dec!(5000000), Decimal::ZERO, dec!(2000000), rates).round_dp(2), dec!(352158.27));
        // Gifts count in the limitation only: having given $5,000,000 and left nothing, no tax
        // (Remington); $1,000,000 of gifts lift the limitation to 40% × ($2,000,000 − x) =
        // $571,428.57, so the table's $352,158.27 is the tax.
        let given = state_estate_tax("IL", 2025, Decimal::ZERO, &[(2020, dec!(5000000))]).unwrap().unwrap();
        assert_eq!(
            (given.gifts_added, given.state_taxable_estate, given.tax),
            (dec!(5000000), Decimal::ZERO, Decimal::ZERO)
        );
        let given = state_estate_tax("IL", 2025, dec!(5000000), &[(2020, dec!(1000000))]).unwrap().unwrap();
        assert_eq!((given.state_taxable_estate, given.tax), (dec!(5000000), dec!(352158.27)));
        // The breakpoints: nothing at the exclusion, 40/140 of each dollar just above it.
        assert_eq!(tax("IL", 2025, dec!(4000000)), Decimal::ZERO);
        assert_eq!(tax("IL", 2025, dec!(3000000)), Decimal::ZERO);
        assert_eq!(tax("IL", 2025, dec!(4000100)), dec!(28.57));
        assert_eq!(tax("IL", 2025, dec!(4500000)), dec!(142857.14));
        // $6,000,000: the table, $402,800 + 12% × ($900,000 − x) = x, x = $510,800 / 1.12.
        assert_eq!(tax("IL", 2025, dec!(6000000)), dec!(456071.43));
        // $20,000,000: the 16% bracket, x = $1,082,800 + 16% × ($8,817,200 / 1.16).
        assert_eq!(tax("IL", 2026, dec!(20000000)), dec!(2298965.52));
        // Each is the lesser of the table and the limitation on the estate less itself (the
        // tentative tax is to the cent).
        for estate in [
            dec!(4000100),
            dec!(4500000),
            dec!(5000000),
            dec!(5300000),
            dec!(5500000),
            dec!(7777777.77),
            dec!(20000000),
        ] {
            for gifts in [Decimal::ZERO, dec!(250000), dec!(1000000)] {
                let x = illinois(estate, gifts, dec!(4000000), rates);
                let limit =
                    crate::estate::tentative_tax(estate - x + gifts) - crate::estate::tentative_tax(dec!(4000000));
                let lesser = credit_table(estate - x).min(limit.max(Decimal::ZERO));
                assert!((x - lesser).abs() < dec!(0.01), "{estate} {gifts}: {x} against {lesser}");
            }
        }
    }

    #[test]
    fn the_district() {
        // D.C. Code §47-3702(a-1)(1) on a 2025 death ($4,873,200 zero bracket amount), worked by
        // hand: $10,000,000 is 11.2% of the $126,800 up to $5,000,000 ($14,201.60), then 12%,
        // 12.8%, 13.6%, 14.4% and 15.2% of each next $1,000,000 ($680,000): $694,201.60; 16% of
        // the $2,000,000 over $10,000,000 adds $320,000.
        assert_eq!(tax("DC", 2025, dec!(4873200)), Decimal::ZERO);
        assert_eq!(tax("DC", 2025, dec!(5000000)), dec!(14201.60));
        assert_eq!(tax("DC", 2025, dec!(5500000)), dec!(74201.60));
        assert_eq!(tax("DC", 2025, dec!(10000000)), dec!(694201.60));
        assert_eq!(tax("DC", 2025, dec!(12000000)), dec!(1014201.60));
        // The bands are of the estate, not of the excess: at the 2021 zero bracket amount of
        // $4,000,000 the same $10,000,000 would owe $112,000 + $680,000 = $792,000, not the 16% of
        // the $6,000,000 excess ($960,000) that some summaries of the 2020 act print.
        let from: Vec<Bracket> = DISTRICT.iter().map(|(over, rate)| ((*over).max(dec!(4000000)), *rate)).collect();
        assert_eq!(marginal(dec!(10000000), &from), dec!(792000));
        // 2026's indexed amount is not in the table: 2025's, said so.
        let later = state_estate_tax("DC", 2026, dec!(10000000), &[]).unwrap().unwrap();
        assert_eq!((later.table_year, later.tax), (2025, dec!(694201.60)));
        assert!(later.note.unwrap().contains("2025"));
    }
}
