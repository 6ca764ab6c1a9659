//! Business succession: what a closely held business is worth by the three approaches
//! appraisers use (Rev. Rul. 59-60 §4.01 lists earning capacity, comparable sales and net
//! assets among the factors), the owner's interest after the discounts, and the paths it can
//! take to the next owner compared by tax, cash to the owner and who controls it after.
//!
//! - Income approach: the free cash flows of `years` years growing at `growth`, and a terminal
//!   value by the Gordon growth model at `terminal_growth`, discounted at a build-up rate: the
//!   risk-free rate plus the equity risk premium, a size premium and a company-specific premium.
//! - Market approach: EBITDA times a multiple of comparable companies, less net debt.
//! - Asset approach: the assets at fair market value less the liabilities.
//! - The conclusion weighs the approaches given (equally unless weights are given).
//!
//! The paths, for the owner's `share`:
//! - a gift to the family at the discounted value: a taxable gift against the exclusion left
//!   (gift tax above it, §2501), no cash, control to the family, later growth out of the estate;
//! - an installment sale to an intentionally defective grantor trust at the discounted value
//!   for a note at the AFR, after a seed gift of 10% of the price: no gain recognised (the
//!   trust is the grantor's for income tax, Rev. Rul. 85-13), the note's interest and principal
//!   to the owner, its balance frozen in the estate;
//! - a management buyout at the undiscounted (control) value less costs, paid over the note's
//!   term at the AFR (the gain taxed as it is collected, §453), or a third-party sale for cash
//!   at closing: long-term capital gain tax on the gain over basis;
//! - a sale to an ESOP of a C corporation: with the ESOP holding 30% or more after the sale and
//!   the proceeds reinvested in qualified replacement property the gain is deferred (§1042).

use rust_decimal::{Decimal, MathematicalOps};
use serde::{Deserialize, Serialize};

use crate::estate::{tentative_tax, EstateError};

/// The business and the owner's interest.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Business {
    /// This year's free cash flow to equity, its growth for `years` years and after.
    pub free_cash_flow: Option<Decimal>,
    #[serde(default)]
    pub growth: Decimal,
    #[serde(default = "five")]
    pub years: u32,
    #[serde(default)]
    pub terminal_growth: Decimal,
    /// The build-up discount rate's parts.
    #[serde(default)]
    pub risk_free: Decimal,
    #[serde(default)]
    pub equity_risk_premium: Decimal,
    #[serde(default)]
    pub size_premium: Decimal,
    #[serde(default)]
    pub company_premium: Decimal,
    /// Market approach: EBITDA, the comparables' multiple, net debt.
    pub ebitda: Option<Decimal>,
    pub multiple: Option<Decimal>,
    #[serde(default)]
    pub net_debt: Decimal,
    /// Asset approach.
    pub assets: Option<Decimal>,
    #[serde(default)]
    pub liabilities: Decimal,
    /// The approaches' weights (income, market, asset); equal among those given when absent.
    pub weights: Option<[Decimal; 3]>,
    /// The owner's share, basis in it, and the discounts on a share short of control.
    pub share: Decimal,
    #[serde(default)]
    pub basis: Decimal,
    #[serde(default)]
    pub lack_of_control: Decimal,
    #[serde(default)]
    pub lack_of_marketability: Decimal,
    /// A C corporation (for an ESOP's §1042 rollover).
    #[serde(default)]
    pub c_corporation: bool,
}

fn five() -> u32 {
    5
}

/// The terms the paths use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Terms {
    /// The year (for the gift tax's exclusion).
    pub year: i32,
    /// Basic exclusion already used by the owner's taxable gifts.
    #[serde(default)]
    pub exclusion_used: Decimal,
    /// The long-term capital gain rate with the NIIT (0.238).
    pub capital_gain_rate: Decimal,
    /// The AFR for the sale's note, and its term in years.
    pub afr: Decimal,
    pub note_years: u32,
    /// A sale's costs as a share of the price.
    pub sale_costs: Decimal,
}

/// The value by each approach and concluded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Valuation {
    pub discount_rate: Decimal,
    pub income_value: Option<Decimal>,
    pub market_value: Option<Decimal>,
    pub asset_value: Option<Decimal>,
    pub value: Decimal,
    /// The owner's share at that value, and after the discounts.
    pub share_value: Decimal,
    pub discounted_share_value: Decimal,
}

/// A path compared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Path {
    pub path: &'static str,
    /// What the interest is transferred at.
    pub price: Decimal,
    pub taxable_gift: Decimal,
    pub gift_tax: Decimal,
    pub capital_gain_tax: Decimal,
    /// Gain deferred (§1042).
    pub deferred_gain: Decimal,
    /// What the owner receives, after the taxes, over the note's term for a sale to a trust.
    pub cash_to_owner: Decimal,
    /// Left in the owner's estate for the interest afterwards.
    pub in_estate: Decimal,
    pub control: &'static str,
}

fn bad(field: &'static str, problem: String) -> EstateError {
    EstateError { field, problem }
}

/// `v` within `lo..=hi`, or an error naming `field`.
fn within(field: &'static str, v: Decimal, lo: Decimal, hi: Decimal) -> Result<(), EstateError> {
    if v < lo || v > hi {
        return Err(bad(field, format!("{v} is not from {lo} to {hi}")));
    }
    Ok(())
}

/// The business valued.
pub fn value(b: &Business) -> Result<Valuation, EstateError> {
    let (rate_lo, rate_hi) = (Decimal::new(-5, 1), Decimal::ONE);
    for (field, v) in [
        ("growth", b.growth),
        ("terminal_growth", b.terminal_growth),
        ("risk_free", b.risk_free),
        ("equity_risk_premium", b.equity_risk_premium),
        ("size_premium", b.size_premium),
        ("company_premium", b.company_premium),
    ] {
        within(field, v, rate_lo, rate_hi)?;
    }
    let most = Decimal::from(10_000_000_000_000_i64);
    for (field, v) in [
        ("free_cash_flow", b.free_cash_flow),
        ("ebitda", b.ebitda),
        ("net_debt", Some(b.net_debt)),
        ("assets", b.assets),
        ("liabilities", Some(b.liabilities)),
        ("basis", Some(b.basis)),
    ] {
        if let Some(v) = v {
            within(field, v, -most, most)?;
        }
    }
    if let Some(m) = b.multiple {
        within("multiple", m, Decimal::ZERO, Decimal::from(1000))?;
    }
    for w in b.weights.iter().flatten() {
        within("weights", *w, Decimal::ZERO, Decimal::ONE)?;
    }
    if !(1..=50).contains(&b.years) {
        return Err(bad("years", format!("{} is not 1 to 50", b.years)));
    }
    if b.share <= Decimal::ZERO || b.share > Decimal::ONE {
        return Err(bad("share", format!("{} is not above 0 and at most 1", b.share)));
    }
    for (field, d) in [("lack_of_control", b.lack_of_control), ("lack_of_marketability", b.lack_of_marketability)] {
        if d < Decimal::ZERO || d >= Decimal::ONE {
            return Err(bad(field, format!("{d} is not a fraction from 0 up to 1")));
        }
    }
    let rate = b.risk_free + b.equity_risk_premium + b.size_premium + b.company_premium;
    let income_value = match b.free_cash_flow {
        None => None,
        Some(_) if rate <= Decimal::ZERO => {
            return Err(bad("risk_free", format!("the discount rate built up is {rate}: it must be above 0")))
        }
        Some(_) if rate <= b.terminal_growth => {
            return Err(bad(
                "terminal_growth",
                format!(
                    "{} is not below the discount rate {rate}: the terminal value has no finite value",
                    b.terminal_growth
                ),
            ))
        }
        Some(fcf) => {
            let g = Decimal::ONE + b.growth;
            let r = Decimal::ONE + rate;
            let mut pv = Decimal::ZERO;
            let mut flow = fcf;
            for t in 1..=b.years {
                flow *= g;
                pv += flow / r.powi(i64::from(t));
            }
            let terminal = flow * (Decimal::ONE + b.terminal_growth) / (rate - b.terminal_growth);
            Some((pv + terminal / r.powi(i64::from(b.years))).round_dp(2))
        }
    };
    let market_value = match (b.ebitda, b.multiple) {
        (Some(e), Some(m)) => Some((e * m - b.net_debt).round_dp(2)),
        (None, None) => None,
        _ => return Err(bad("multiple", "the market approach needs both ebitda and multiple".into())),
    };
    let asset_value = b.assets.map(|a| (a - b.liabilities).round_dp(2));
    let values = [income_value, market_value, asset_value];
    let weights = match b.weights {
        Some(w) => {
            let total: Decimal = w.iter().sum();
            if total.is_zero() || w.iter().zip(&values).any(|(w, v)| !w.is_zero() && v.is_none()) {
                return Err(bad("weights", "weights must sum above 0 and weigh only the approaches given".into()));
            }
            w.map(|x| x / total)
        }
        None => {
            let n = values.iter().filter(|v| v.is_some()).count();
            if n == 0 {
                return Err(bad(
                    "free_cash_flow",
                    "give at least one approach: free_cash_flow, ebitda with multiple, or assets".into(),
                ));
            }
            values.map(|v| if v.is_some() { Decimal::ONE / Decimal::from(n) } else { Decimal::ZERO })
        }
    };
    let value = values.iter().zip(weights).map(|(v, w)| v.unwrap_or_default() * w).sum::<Decimal>().round_dp(2);
    let share_value = (value * b.share).round_dp(2);
    let discounted = share_value * (Decimal::ONE - b.lack_of_control) * (Decimal::ONE - b.lack_of_marketability);
    Ok(Valuation {
        discount_rate: rate,
        income_value,
        market_value,
        asset_value,
        value,
        share_value,
        discounted_share_value: discounted.round_dp(2),
    })
}

/// The paths compared for the owner's interest.
pub fn paths(b: &Business, v: &Valuation, t: &Terms) -> Result<Vec<Path>, EstateError> {
    for (field, v) in [("capital_gain_rate", t.capital_gain_rate), ("afr", t.afr), ("sale_costs", t.sale_costs)] {
        within(field, v, Decimal::ZERO, Decimal::new(99, 2))?;
    }
    within("exclusion_used", t.exclusion_used, Decimal::ZERO, Decimal::from(10_000_000_000_000_i64))?;
    if !(1900..=2200).contains(&t.year) {
        return Err(bad("year", format!("{} is not 1900 to 2200", t.year)));
    }
    if !(1..=30).contains(&t.note_years) {
        return Err(bad("note_years", format!("{} is not 1 to 30", t.note_years)));
    }
    let (basic, _) = crate::strategies::exclusions(t.year, Decimal::new(25, 3));
    let gift_tax = |gift: Decimal| {
        let before = tentative_tax(t.exclusion_used);
        let after = tentative_tax(t.exclusion_used + gift);
        let credit = tentative_tax(basic) - before.min(tentative_tax(basic));
        (after - before - credit).max(Decimal::ZERO).round_dp(2)
    };
    let gain_tax = |price: Decimal| ((price - b.basis).max(Decimal::ZERO) * t.capital_gain_rate).round_dp(2);
    let discounted = v.discounted_share_value;
    let control = v.share_value;
    // The sale to a grantor trust: a 10% seed gift, the rest for a level-payment note at the AFR.
    let seed = (discounted * Decimal::new(1, 1)).round_dp(2);
    let note = discounted;
    // A level-payment note at the AFR over the term: what it pays in all.
    let repaid = |principal: Decimal| {
        let payment = if t.afr.is_zero() {
            principal / Decimal::from(t.note_years)
        } else {
            principal * t.afr / (Decimal::ONE - (Decimal::ONE + t.afr).powi(-i64::from(t.note_years)))
        };
        (payment * Decimal::from(t.note_years)).round_dp(2)
    };
    let sold = (control * (Decimal::ONE - t.sale_costs)).round_dp(2);
    let mut out = vec![
        Path {
            path: "gift_to_family",
            price: discounted,
            taxable_gift: discounted,
            gift_tax: gift_tax(discounted),
            capital_gain_tax: Decimal::ZERO,
            deferred_gain: Decimal::ZERO,
            cash_to_owner: Decimal::ZERO - gift_tax(discounted),
            in_estate: Decimal::ZERO,
            control: "family",
        },
        Path {
            path: "installment_sale_to_idgt",
            price: note,
            taxable_gift: seed,
            gift_tax: gift_tax(seed),
            capital_gain_tax: Decimal::ZERO,
            deferred_gain: Decimal::ZERO,
            // The owner gives the trust its seed, then collects the note.
            cash_to_owner: repaid(note) - seed - gift_tax(seed),
            in_estate: note,
            control: "family (through the trust)",
        },
        // Management pays over the note's term (seller financing), the gain taxed as the
        // payments come (the installment method, §453); the tax on the note's interest is not
        // taken off.
        Path {
            path: "management_buyout",
            price: sold,
            taxable_gift: Decimal::ZERO,
            gift_tax: Decimal::ZERO,
            capital_gain_tax: gain_tax(sold),
            deferred_gain: Decimal::ZERO,
            cash_to_owner: repaid(sold) - gain_tax(sold),
            in_estate: sold - gain_tax(sold),
            control: "management",
        },
        Path {
            path: "third_party_sale",
            price: sold,
            taxable_gift: Decimal::ZERO,
            gift_tax: Decimal::ZERO,
            capital_gain_tax: gain_tax(sold),
            deferred_gain: Decimal::ZERO,
            cash_to_owner: sold - gain_tax(sold),
            in_estate: sold - gain_tax(sold),
            control: "the buyer",
        },
    ];
    // An ESOP of a C corporation holding 30% or more after the sale defers the gain (§1042).
    let deferred = b.c_corporation && b.share >= Decimal::new(3, 1);
    let esop_gain = (control - b.basis).max(Decimal::ZERO);
    out.push(Path {
        path: "esop",
        price: control,
        taxable_gift: Decimal::ZERO,
        gift_tax: Decimal::ZERO,
        capital_gain_tax: if deferred { Decimal::ZERO } else { gain_tax(control) },
        deferred_gain: if deferred { esop_gain } else { Decimal::ZERO },
        cash_to_owner: if deferred { control } else { control - gain_tax(control) },
        in_estate: if deferred { control } else { control - gain_tax(control) },
        control: "employees (the ESOP's trustee)",
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn business() -> Business {
        Business {
            free_cash_flow: Some(dec!(1000000)),
            growth: dec!(0.05),
            years: 5,
            terminal_growth: dec!(0.03),
            risk_free: dec!(0.045),
            equity_risk_premium: dec!(0.055),
            size_premium: dec!(0.03),
            company_premium: dec!(0.02),
            ebitda: Some(dec!(2000000)),
            multiple: Some(dec!(6)),
            net_debt: dec!(1000000),
            assets: Some(dec!(6000000)),
            liabilities: dec!(2000000),
            weights: Some([dec!(0.5), dec!(0.5), dec!(0)]),
            share: dec!(0.6),
            basis: dec!(500000),
            lack_of_control: dec!(0.2),
            lack_of_marketability: dec!(0.3),
            c_corporation: true,
        }
    }

    #[test]
    fn the_three_approaches() {
        // Build-up: 4.5% + 5.5% + 3% + 2% = 15%. Market: 2,000,000 × 6 − 1,000,000.
        let v = value(&business()).unwrap();
        assert_eq!(v.discount_rate, dec!(0.150));
        assert_eq!(v.market_value, Some(dec!(11000000)));
        assert_eq!(v.asset_value, Some(dec!(4000000)));
        // The DCF by hand: flows 1.05^t million for t = 1..5 at 15%, and the terminal value
        // 1.05^5 × 1.03 / 0.12 million discounted five years.
        let r = dec!(1.15);
        let mut pv = Decimal::ZERO;
        for t in 1..=5 {
            pv += dec!(1000000) * dec!(1.05).powi(t) / r.powi(t);
        }
        let tv = dec!(1000000) * dec!(1.05).powi(5) * dec!(1.03) / dec!(0.12) / r.powi(5);
        assert_eq!(v.income_value, Some((pv + tv).round_dp(2)));
        let concluded = ((pv + tv).round_dp(2) + dec!(11000000)) / dec!(2);
        assert_eq!(v.value, concluded.round_dp(2));
        assert_eq!(v.discounted_share_value, (v.share_value * dec!(0.8) * dec!(0.7)).round_dp(2));
        let bad = Business { terminal_growth: dec!(0.2), ..business() };
        assert_eq!(value(&bad).unwrap_err().field, "terminal_growth");
        let no =
            Business { free_cash_flow: None, ebitda: None, multiple: None, assets: None, weights: None, ..business() };
        assert_eq!(value(&no).unwrap_err().field, "free_cash_flow");
    }

    #[test]
    fn the_paths() {
        let b = business();
        let v = value(&b).unwrap();
        let terms = Terms {
            year: 2026,
            exclusion_used: Decimal::ZERO,
            capital_gain_rate: dec!(0.238),
            afr: dec!(0.04),
            note_years: 9,
            sale_costs: dec!(0.03),
        };
        let p = paths(&b, &v, &terms).unwrap();
        let by = |name: &str| p.iter().find(|x| x.path == name).unwrap();
        // A gift within the $15,000,000 exclusion owes no gift tax.
        assert_eq!(by("gift_to_family").gift_tax, Decimal::ZERO);
        // A third-party sale: 97% of the control value, the gain over $500,000 at 23.8%.
        let sale = by("third_party_sale");
        assert_eq!(sale.price, (v.share_value * dec!(0.97)).round_dp(2));
        assert_eq!(sale.capital_gain_tax, ((sale.price - dec!(500000)) * dec!(0.238)).round_dp(2));
        // The ESOP of a C corporation buying 60% defers it all.
        assert_eq!(by("esop").capital_gain_tax, Decimal::ZERO);
        assert_eq!(by("esop").deferred_gain, v.share_value - dec!(500000));
        // The note's level payments over nine years at 4% repay more than the price.
        assert!(by("installment_sale_to_idgt").cash_to_owner > v.discounted_share_value);
        // Gifts past the exclusion owe 40% on the excess.
        let used = Terms { exclusion_used: dec!(15000000), ..terms };
        let g = paths(&b, &v, &used).unwrap();
        assert_eq!(g[0].gift_tax, (v.discounted_share_value * dec!(0.4)).round_dp(2));
    }
}
