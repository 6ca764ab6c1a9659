//! Asset location: which asset classes belong in taxable, traditional (tax-deferred) and Roth
//! (tax-free) accounts, and the yearly tax the suggestion saves.
//!
//! **The measure.** A dollar of an asset class held in a taxable account pays tax every year on
//! its yield: the qualified part at the capital-gain rate, the rest (interest, REIT and other
//! non-qualified dividends) at the ordinary rate (growth is taxed only when sold, and is left
//! out). Inside an IRA, 401(k), HSA or 529 nothing is taxed yearly. [`ASSUMPTIONS`] gives each
//! class's expected return, yield and qualified share: house assumptions (long-run, nominal,
//! round numbers near the distribution yields of broad index funds of each class), one table,
//! like the monitoring rules' defaults.
//!
//! **The rule.** The money in each kind of account stays where it is (moving it between them
//! would be a distribution or a contribution); only what it holds changes. The sheltered space
//! (traditional and Roth together) is filled with the classes that cost the most tax per dollar in
//! a taxable account, most first; of what is sheltered, the classes with the highest expected
//! return go to the Roth accounts (their growth is never taxed), the rest to traditional ones
//! (whose withdrawals are taxed as ordinary income whatever grew in them); the taxable accounts
//! keep the most tax-efficient classes. The saving is the yearly tax on the taxable accounts'
//! yields now less after, at the household's marginal rates. Roth-like accounts: Roth IRAs and
//! 401(k)s, HSAs and 529s (tax-free when spent as the law intends).

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::Serialize;

use crate::ledger::types::AccountType;
use crate::market::AssetClass;

const fn frac(n: i64, scale: u32) -> Decimal {
    Decimal::from_parts(n as u32, 0, 0, false, scale)
}

/// One class's assumptions: expected return, yield and the qualified share of the yield.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Assumption {
    pub class: AssetClass,
    pub expected_return: Decimal,
    pub yield_: Decimal,
    pub qualified: Decimal,
}

/// The house assumptions per class (see the module docs). Bonds, cash and REITs pay ordinary
/// income (interest; REIT dividends are mostly not qualified, IRC §857(c)); broad equity funds
/// mostly qualified dividends (IRC §1(h)(11)); commodity funds pay little.
pub const ASSUMPTIONS: [Assumption; 7] = [
    Assumption { class: AssetClass::Equity, expected_return: frac(7, 2), yield_: frac(15, 3), qualified: frac(90, 2) },
    Assumption {
        class: AssetClass::FixedIncome,
        expected_return: frac(45, 3),
        yield_: frac(4, 2),
        qualified: frac(0, 0),
    },
    Assumption { class: AssetClass::Cash, expected_return: frac(35, 3), yield_: frac(35, 3), qualified: frac(0, 0) },
    Assumption {
        class: AssetClass::RealEstate,
        expected_return: frac(65, 3),
        yield_: frac(4, 2),
        qualified: frac(0, 0),
    },
    Assumption { class: AssetClass::Commodity, expected_return: frac(4, 2), yield_: frac(0, 0), qualified: frac(0, 0) },
    Assumption {
        class: AssetClass::Alternative,
        expected_return: frac(6, 2),
        yield_: frac(2, 2),
        qualified: frac(0, 0),
    },
    Assumption {
        class: AssetClass::MultiAsset,
        expected_return: frac(55, 3),
        yield_: frac(25, 3),
        qualified: frac(50, 2),
    },
];

/// How an account is taxed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Shelter {
    Taxable,
    Traditional,
    Roth,
}

impl Shelter {
    pub fn of(t: AccountType) -> Self {
        match t {
            AccountType::Taxable => Self::Taxable,
            AccountType::Roth401k | AccountType::RothIra | AccountType::Hsa | AccountType::Plan529 => Self::Roth,
            _ => Self::Traditional,
        }
    }
}

/// A class's dollars by kind of account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Placement {
    pub taxable: Decimal,
    pub traditional: Decimal,
    pub roth: Decimal,
}

/// The household's location now and suggested.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    pub current: BTreeMap<AssetClass, Placement>,
    pub suggested: BTreeMap<AssetClass, Placement>,
    /// The yearly tax on the taxable accounts' yields, now and suggested, and the difference.
    pub tax_now: Decimal,
    pub tax_suggested: Decimal,
    pub saving: Decimal,
}

fn assumption(class: AssetClass) -> Assumption {
    ASSUMPTIONS.iter().copied().find(|a| a.class == class).unwrap_or(ASSUMPTIONS[0])
}

/// Tax per dollar a year of `class` in a taxable account at the (ordinary, qualified) rates.
pub fn drag(class: AssetClass, rates: (Decimal, Decimal)) -> Decimal {
    let a = assumption(class);
    a.yield_ * (a.qualified * rates.1 + (Decimal::ONE - a.qualified) * rates.0)
}

fn tax_of(places: &BTreeMap<AssetClass, Placement>, rates: (Decimal, Decimal)) -> Decimal {
    places.iter().map(|(c, p)| p.taxable * drag(*c, rates)).sum::<Decimal>().round_dp(2)
}

/// The suggestion for `holdings` (class, kind of account, dollars) at the marginal (ordinary,
/// qualified) `rates` ([module docs](self)).
pub fn locate(holdings: &[(AssetClass, Shelter, Decimal)], rates: (Decimal, Decimal)) -> Location {
    let mut current: BTreeMap<AssetClass, Placement> = BTreeMap::new();
    for (class, shelter, value) in holdings {
        let p = current.entry(*class).or_default();
        match shelter {
            Shelter::Taxable => p.taxable += value,
            Shelter::Traditional => p.traditional += value,
            Shelter::Roth => p.roth += value,
        }
    }
    let total = |f: fn(&Placement) -> Decimal| current.values().map(f).sum::<Decimal>();
    let (mut roth_room, mut traditional_room) = (total(|p| p.roth), total(|p| p.traditional));
    let mut classes: Vec<(AssetClass, Decimal)> =
        current.iter().map(|(c, p)| (*c, p.taxable + p.traditional + p.roth)).collect();
    // Shelter the costliest classes first.
    classes.sort_by(|a, b| drag(b.0, rates).cmp(&drag(a.0, rates)).then(a.0.cmp(&b.0)));
    let mut sheltered: Vec<(AssetClass, Decimal)> = Vec::new();
    let mut room = roth_room + traditional_room;
    let mut suggested: BTreeMap<AssetClass, Placement> = BTreeMap::new();
    for (class, value) in &classes {
        let inside = (*value).min(room);
        room -= inside;
        if inside > Decimal::ZERO {
            sheltered.push((*class, inside));
        }
        suggested.entry(*class).or_default().taxable = *value - inside;
    }
    // Of what is sheltered, the highest expected return to Roth.
    sheltered.sort_by(|a, b| assumption(b.0).expected_return.cmp(&assumption(a.0).expected_return).then(a.0.cmp(&b.0)));
    for (class, value) in sheltered {
        let to_roth = value.min(roth_room);
        roth_room -= to_roth;
        let to_traditional = (value - to_roth).min(traditional_room);
        traditional_room -= to_traditional;
        let p = suggested.entry(class).or_default();
        p.roth += to_roth;
        p.traditional += to_traditional;
    }
    let (tax_now, tax_suggested) = (tax_of(&current, rates), tax_of(&suggested, rates));
    Location { current, suggested, tax_now, tax_suggested, saving: tax_now - tax_suggested }
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;

    const RATES: (Decimal, Decimal) = (dec!(0.24), dec!(0.15));

    /// 100,000 of bonds and 100,000 of stocks in taxable, 100,000 of stocks in an IRA: the
    /// bonds' 4% interest costs 960 a year at 24%, the stocks' 1.5% dividends (90% qualified at
    /// 15%, the rest at 24%) 238.50. Swapped, the bonds sit in the IRA and the taxable account
    /// holds 200,000 of stocks: 477.00, a saving of 721.50 a year.
    #[test]
    fn bonds_move_into_the_ira_and_stocks_out() {
        let l = locate(
            &[
                (AssetClass::FixedIncome, Shelter::Taxable, dec!(100000)),
                (AssetClass::Equity, Shelter::Taxable, dec!(100000)),
                (AssetClass::Equity, Shelter::Traditional, dec!(100000)),
            ],
            RATES,
        );
        assert_eq!((l.tax_now, l.tax_suggested, l.saving), (dec!(1198.50), dec!(477.00), dec!(721.50)));
        let bonds = l.suggested[&AssetClass::FixedIncome];
        assert_eq!((bonds.taxable, bonds.traditional, bonds.roth), (dec!(0), dec!(100000), dec!(0)));
        assert_eq!(l.suggested[&AssetClass::Equity].taxable, dec!(200000));
    }

    /// With Roth room too, the sheltered classes with the highest expected return go to Roth:
    /// REITs (6.5%) before bonds (4.5%); each kind of account keeps its dollars.
    #[test]
    fn the_highest_return_of_the_sheltered_goes_to_roth() {
        let l = locate(
            &[
                (AssetClass::RealEstate, Shelter::Taxable, dec!(50000)),
                (AssetClass::FixedIncome, Shelter::Taxable, dec!(50000)),
                (AssetClass::Equity, Shelter::Traditional, dec!(50000)),
                (AssetClass::Equity, Shelter::Roth, dec!(50000)),
            ],
            RATES,
        );
        assert_eq!(
            l.suggested[&AssetClass::RealEstate],
            Placement { taxable: dec!(0), traditional: dec!(0), roth: dec!(50000) }
        );
        assert_eq!(l.suggested[&AssetClass::FixedIncome].traditional, dec!(50000));
        assert_eq!(l.suggested[&AssetClass::Equity].taxable, dec!(100000));
        for kind in [|p: &Placement| p.taxable, |p: &Placement| p.traditional, |p: &Placement| p.roth] {
            let now: Decimal = l.current.values().map(kind).sum();
            let then: Decimal = l.suggested.values().map(kind).sum();
            assert_eq!(now, then, "each kind of account keeps its dollars");
        }
        assert!(l.saving > Decimal::ZERO);
    }
}
