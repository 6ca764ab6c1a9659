//! A year of retirement withdrawals and the federal tax on them, to the cent: which of the
//! household's accounts pay the year's spending, in which order, and what the withdrawals, the
//! required minimum distribution and the rest of the year's income cost in tax
//! ([`crate::tax`]). The household plan (`cairn simulate` with a `[household]`) runs this for
//! every year of every Monte Carlo path.
//!
//! **Pots.** The household's money by tax character: taxable (with its cost basis), traditional
//! (pre-tax 401(k)/403(b), employer money, traditional and SEP IRAs), Roth, and HSA.
//!
//! **Cash.** The year's cash comes from income (pensions and other ordinary income, Social
//! Security, tax-free income) and the RMD, which leaves the traditional pot whether it is needed
//! or not; it pays the year's spending and costs and the tax. What is missing is withdrawn from
//! the pots in the chosen [`Order`]; what is left over is reinvested in the taxable pot at cost
//! (it adds to the basis).
//!
//! **Tax.** One return a year ([`tax::compute`] on the year's table): wages, ordinary income,
//! the RMD and traditional withdrawals are ordinary income; Social Security is taxable as §86
//! says ([`tax::taxable_social_security`]); the taxable pot's dividends (taken as qualified and
//! reinvested, so they add to the basis) and the gain its withdrawals realize (long-term, at the
//! pot's average cost: a withdrawal carries its share of the basis) stack on top at 0/15/20%,
//! with the 3.8% NIIT. The portfolio pays what the return adds to the tax on the wages alone (pay
//! covers its own tax). Before 59½, traditional withdrawals beyond the RMD pay the 10% additional
//! tax of IRC §72(t)(1) (no exception is modelled). Roth withdrawals are taken as qualified
//! distributions (or contributions, which come out first, §408A(d)(4)) and HSA withdrawals as
//! paying qualified medical costs (§223(f)(1)): both tax-free.
//!
//! **Solving.** The tax depends on the withdrawals and the withdrawals on the tax: the amount
//! withdrawn is the root of `need(D) − D`, where `need(D)` is spending and costs plus the tax
//! and additional tax of withdrawing `D` less the year's cash. `need` rises with `D` more slowly
//! than `D` (no marginal rate, additional tax and Social Security's 85% inclusion together,
//! reaches 100%), so the root is unique; it is found by the Illinois variant of regula falsi,
//! to the cent, and when the pots cannot pay it everything is withdrawn and the rest is the
//! year's shortfall.

use rust_decimal::prelude::*;
use serde::{Deserialize, Serialize};

use crate::tax::{self, Filer, Income, YearTable};
use crate::DomainError;

/// The additional tax on an early distribution (IRC §72(t)(1)).
const EARLY_RATE: Decimal = Decimal::from_parts(10, 0, 0, false, 2);

/// The most evaluations of the year's return while solving for the withdrawal.
pub const MAX_PASSES: usize = 60;

/// The order the pots pay a year's shortfall in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "order")]
pub enum Order {
    /// Taxable, then traditional, then Roth, then HSA: the conventional order, which leaves
    /// the tax-deferred and tax-free money growing longest.
    TaxableFirst,
    /// Taxable, traditional and Roth each in proportion to its balance; then the HSA.
    Proportional,
    /// Traditional money first while taxable income stays within the top of the bracket of
    /// `rate` (the RMD counts), then taxable, then the rest of the traditional, then Roth, then
    /// HSA: low-bracket years empty the traditional pot at low rates. Before 59½ no bracket is
    /// filled (the 10% additional tax makes it dear): the order is then taxable first.
    Bracket { rate: Decimal },
}

impl Order {
    /// Reads `taxable_first`, `proportional` or `bracket` (which needs `rate`, a bracket rate
    /// below the top one).
    pub fn parse(name: &str, rate: Option<Decimal>) -> Result<Self, DomainError> {
        let refuse =
            |field: &str, problem: String| DomainError::Rejected { line: None, field: field.to_owned(), problem };
        match name {
            "taxable_first" => Ok(Self::TaxableFirst),
            "proportional" => Ok(Self::Proportional),
            "bracket" => {
                let fillable = &tax::RATES[..tax::RATES.len() - 1];
                match rate {
                    Some(r) if fillable.contains(&r) => Ok(Self::Bracket { rate: r }),
                    _ => Err(refuse(
                        "bracket",
                        format!(
                            "the order \"bracket\" needs the bracket rate to fill: one of {}",
                            fillable.iter().map(|r| r.normalize().to_string()).collect::<Vec<_>>().join(", ")
                        ),
                    )),
                }
            }
            other => {
                Err(refuse("order", format!("{other:?}: expected \"taxable_first\", \"proportional\" or \"bracket\"")))
            }
        }
    }
}

/// The household's money by tax character (nominal dollars).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Pots {
    pub taxable: Decimal,
    /// The taxable pot's cost basis.
    pub basis: Decimal,
    pub traditional: Decimal,
    pub roth: Decimal,
    pub hsa: Decimal,
}

impl Pots {
    pub fn total(&self) -> Decimal {
        self.taxable + self.traditional + self.roth + self.hsa
    }
}

/// What a year brings and asks for (nominal dollars).
#[derive(Debug, Clone, Copy)]
pub struct Year<'a> {
    /// The year's tax table (cairn's own, or [`tax::projected`]).
    pub table: &'a YearTable,
    pub filer: Filer,
    /// Under 59½ all year: traditional withdrawals pay the 10% additional tax.
    pub early: bool,
    /// Spending and costs to pay, after tax.
    pub spending: Decimal,
    /// Wages (after pre-tax deferrals): on the return, but they pay their own tax and are not
    /// the portfolio's cash.
    pub wages: Decimal,
    /// Pensions and other ordinary income received.
    pub ordinary: Decimal,
    pub social_security: Decimal,
    /// Income received that is not taxed.
    pub tax_free: Decimal,
    /// The taxable pot's dividends, qualified and reinvested.
    pub dividends: Decimal,
    /// The required minimum distribution, taken from the traditional pot.
    pub rmd: Decimal,
}

impl<'a> Year<'a> {
    /// A year of `filer` on `table` that spends `spending` from 59½ on, with no income.
    pub fn spending(table: &'a YearTable, filer: Filer, spending: Decimal) -> Self {
        Self {
            table,
            filer,
            early: false,
            spending,
            wages: Decimal::ZERO,
            ordinary: Decimal::ZERO,
            social_security: Decimal::ZERO,
            tax_free: Decimal::ZERO,
            dividends: Decimal::ZERO,
            rmd: Decimal::ZERO,
        }
    }
}

/// The year's withdrawals, the return, and the pots after them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Drawn {
    /// Withdrawn from each pot (traditional: beyond the RMD).
    pub taxable: Decimal,
    pub traditional: Decimal,
    pub roth: Decimal,
    pub hsa: Decimal,
    /// The long-term gain (or loss) the taxable withdrawal realized.
    pub gain: Decimal,
    pub rmd: Decimal,
    pub agi: Decimal,
    pub taxable_income: Decimal,
    pub taxable_social_security: Decimal,
    /// The whole return's income tax and NIIT, and the part of it the portfolio pays (all of it
    /// less the tax on the wages alone).
    pub total_tax: Decimal,
    pub tax: Decimal,
    /// The 10% additional tax on early traditional withdrawals.
    pub additional_tax: Decimal,
    /// Cash left over, reinvested in the taxable pot.
    pub reinvested: Decimal,
    /// What the pots could not pay.
    pub shortfall: Decimal,
    pub after: Pots,
}

fn cents(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// Withdrawals from each pot.
#[derive(Debug, Clone, Copy, Default)]
struct Take {
    taxable: Decimal,
    traditional: Decimal,
    roth: Decimal,
    hsa: Decimal,
}

/// Takes `amount` from `pots` (the traditional pot net of the RMD) in `order`; `room` is the
/// traditional withdrawal that fills the bracket (for [`Order::Bracket`]).
fn allocate(order: Order, pots: &Pots, room: Decimal, amount: Decimal) -> Take {
    let mut left = amount;
    let mut from = |pot: Decimal| {
        let t = left.min(pot).max(Decimal::ZERO);
        left -= t;
        t
    };
    match order {
        Order::TaxableFirst => {
            let taxable = from(pots.taxable);
            let traditional = from(pots.traditional);
            Take { taxable, traditional, roth: from(pots.roth), hsa: from(pots.hsa) }
        }
        Order::Proportional => {
            let base = pots.taxable + pots.traditional + pots.roth;
            if base <= Decimal::ZERO {
                return Take { hsa: from(pots.hsa), ..Take::default() };
            }
            let share = (amount / base).min(Decimal::ONE);
            let take = Take {
                taxable: pots.taxable * share,
                traditional: pots.traditional * share,
                roth: pots.roth * share,
                hsa: Decimal::ZERO,
            };
            let rest = amount - (take.taxable + take.traditional + take.roth);
            Take { hsa: rest.min(pots.hsa).max(Decimal::ZERO), ..take }
        }
        Order::Bracket { .. } => {
            let first = from(room.min(pots.traditional));
            let taxable = from(pots.taxable);
            let rest = from(pots.traditional - first);
            Take { taxable, traditional: first + rest, roth: from(pots.roth), hsa: from(pots.hsa) }
        }
    }
}

/// The year's return with traditional withdrawals `traditional` and a realized `gain`.
struct Return {
    agi: Decimal,
    taxable_income: Decimal,
    taxable_social_security: Decimal,
    total_tax: Decimal,
}

fn ret(y: &Year, traditional: Decimal, gain: Decimal) -> Return {
    let ordinary = y.wages + y.ordinary + y.rmd + traditional;
    // Provisional income counts AGI's capital gain as Schedule D allows it (a loss at most the limit).
    let capital = gain.max(-tax::loss_limit(y.filer.status));
    let taxable_ss = tax::taxable_social_security(y.filer.status, y.social_security, ordinary + y.dividends + capital);
    let income = Income {
        ordinary: ordinary + taxable_ss,
        ordinary_dividends: y.dividends,
        qualified_dividends: y.dividends,
        long_term: gain,
        ..Income::default()
    };
    let e = tax::compute(y.table, y.filer, &income);
    Return { agi: e.agi, taxable_income: e.taxable_income, taxable_social_security: taxable_ss, total_tax: e.total_tax }
}

/// The year's withdrawals from `pots` in `order` and their tax ([module docs](self)).
pub fn draw(order: Order, pots: &Pots, y: &Year) -> Drawn {
    let rmd = y.rmd.min(pots.traditional).max(Decimal::ZERO);
    let available = Pots { traditional: pots.traditional - rmd, ..*pots };
    let y = Year { rmd, ..*y };
    let own = if y.wages > Decimal::ZERO {
        tax::compute(y.table, y.filer, &Income { ordinary: y.wages, ..Income::default() }).total_tax
    } else {
        Decimal::ZERO
    };
    let room = match order {
        // Before 59½ a traditional withdrawal pays the additional 10%: no bracket is worth it.
        Order::Bracket { rate } if !y.early => {
            let k = tax::RATES.iter().position(|r| *r == rate).unwrap_or(0);
            let top = Decimal::from(y.table.brackets[tax::Schedule::of(y.filer.status) as usize][k]);
            let base = y.wages + y.ordinary + rmd;
            crate::roth::fill(
                available.traditional,
                |d| {
                    let ss = tax::taxable_social_security(y.filer.status, y.social_security, base + d);
                    tax::ordinary_tax(y.table, y.filer, base + d + ss).0
                },
                top,
            )
        }
        _ => Decimal::ZERO,
    };
    let gain_share = if available.taxable > Decimal::ZERO {
        (available.taxable - available.basis) / available.taxable
    } else {
        Decimal::ZERO
    };
    let cash_in = y.ordinary + y.social_security + y.tax_free + rmd;
    // Everything the withdrawal of `d` leads to: the withdrawals, the return, and the need.
    let evaluate = |d: Decimal| {
        let take = allocate(order, &available, room, d);
        let gain = take.taxable * gain_share;
        let r = ret(&y, take.traditional, gain);
        let tax = (r.total_tax - own).max(Decimal::ZERO);
        let additional = if y.early { cents(take.traditional * EARLY_RATE) } else { Decimal::ZERO };
        let need = y.spending + tax + additional - cash_in;
        (take, gain, r, tax, additional, need)
    };
    let most = available.total();
    let excess = |d: Decimal| evaluate(d).5 - d;
    let (mut a, mut fa) = (Decimal::ZERO, excess(Decimal::ZERO));
    let d = if fa <= Decimal::ZERO {
        Decimal::ZERO
    } else {
        let (mut b, mut fb) = (most, excess(most));
        if fb >= Decimal::ZERO {
            most
        } else {
            // Illinois: regula falsi that halves the stale end's value so both ends move.
            let mut passes = 2;
            while b - a > Decimal::new(1, 3) && passes < MAX_PASSES {
                let c = ((a * fb - b * fa) / (fb - fa)).max(a).min(b);
                let fc = excess(c);
                passes += 1;
                if fc.abs() < Decimal::new(1, 4) {
                    a = c;
                    b = c;
                    break;
                }
                if fc > Decimal::ZERO {
                    (a, fa) = (c, fc);
                    fb /= Decimal::TWO;
                } else {
                    (b, fb) = (c, fc);
                    fa /= Decimal::TWO;
                }
            }
            // The nearest cent that pays the need, or the next one.
            let near = cents((a + b) / Decimal::TWO).min(most);
            if excess(near) <= Decimal::ZERO {
                near
            } else {
                (near + Decimal::new(1, 2)).min(most)
            }
        }
    };
    let (take, gain, r, tax, additional, need) = evaluate(d);
    let drawn = take.taxable + take.traditional + take.roth + take.hsa;
    let shortfall = (need - drawn).max(Decimal::ZERO);
    let reinvested = (drawn - need).max(Decimal::ZERO);
    let basis_out = if available.taxable > Decimal::ZERO {
        available.basis * take.taxable / available.taxable
    } else {
        Decimal::ZERO
    };
    let after = Pots {
        taxable: cents(available.taxable - take.taxable + reinvested),
        basis: cents(available.basis - basis_out + reinvested + y.dividends),
        traditional: cents(available.traditional - take.traditional),
        roth: cents(available.roth - take.roth),
        hsa: cents(available.hsa - take.hsa),
    };
    Drawn {
        taxable: cents(take.taxable),
        traditional: cents(take.traditional),
        roth: cents(take.roth),
        hsa: cents(take.hsa),
        gain: cents(gain),
        rmd,
        agi: cents(r.agi),
        taxable_income: r.taxable_income,
        taxable_social_security: r.taxable_social_security,
        total_tax: r.total_tax,
        tax,
        additional_tax: additional,
        reinvested: cents(reinvested),
        shortfall: cents(shortfall),
        after,
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;
    use crate::ledger::types::FilingStatus;

    fn table() -> &'static YearTable {
        tax::year(2026).unwrap()
    }

    /// A single filer under 65 in 2026, 59½ or older, spending `spending` with no income.
    fn year(spending: Decimal) -> Year<'static> {
        Year::spending(table(), Filer { status: FilingStatus::Single, seniors: 0, blind: 0 }, spending)
    }

    fn pots(taxable: Decimal, basis: Decimal, traditional: Decimal, roth: Decimal) -> Pots {
        Pots { taxable, basis, traditional, roth, hsa: Decimal::ZERO }
    }

    /// 40,000 of spending from traditional money alone, single, 2026: the withdrawal `D` pays
    /// 10% on the first 12,400 of taxable income and 12% above, with the 16,100 standard
    /// deduction: D = 40,000 + 1,240 + 0.12 (D − 28,500), so D = 37,820 / 0.88 = 42,977.27 and
    /// the tax is 2,977.27.
    #[test]
    fn a_traditional_withdrawal_is_grossed_up_for_its_own_tax() {
        let d = draw(Order::TaxableFirst, &pots(dec!(0), dec!(0), dec!(500000), dec!(0)), &year(dec!(40000)));
        assert_eq!(d.traditional, dec!(42977.27));
        assert_eq!(d.tax, dec!(2977.27));
        assert_eq!(d.taxable_income, dec!(26877.27));
        assert_eq!(d.shortfall, dec!(0));
        assert!(d.reinvested < dec!(0.02), "{}", d.reinvested);
        assert_eq!(d.after.traditional, dec!(457022.73));
    }

    /// Under 59½ the same withdrawal also pays the 10% additional tax: on 20,000 of spending,
    /// D = 20,000 + 0.10 (D − 16,100) + 0.10 D, so D = 18,390 / 0.8 = 22,987.50: 688.75 of tax
    /// and 2,298.75 of additional tax.
    #[test]
    fn an_early_traditional_withdrawal_pays_the_additional_tax() {
        let y = Year { early: true, ..year(dec!(20000)) };
        let d = draw(Order::TaxableFirst, &pots(dec!(0), dec!(0), dec!(500000), dec!(0)), &y);
        assert_eq!(d.traditional, dec!(22987.50));
        assert_eq!(d.tax, dec!(688.75));
        assert_eq!(d.additional_tax, dec!(2298.75));
    }

    /// 70,000 of spending; 500,000 traditional and 200,000 taxable with half of it gain.
    /// Bracket-filling at 12%: traditional up to taxable income 50,400 (a withdrawal of
    /// 66,500, ordinary tax 1,240 + 0.12 × 38,000 = 5,800), then taxable `T` whose half is gain
    /// taxed at 15% (ordinary income already fills the 0% band): 66,500 + T = 70,000 + 5,800 +
    /// 0.075 T, so T = 9,300 / 0.925 = 10,054.05 and the tax 6,554.05. Taxable first pays no
    /// tax at all this year: the 35,000 of gain less the 16,100 deduction stays in the 0% band.
    #[test]
    fn bracket_filling_draws_traditional_money_to_the_top_of_the_bracket_first() {
        let p = pots(dec!(200000), dec!(100000), dec!(500000), dec!(0));
        let d = draw(Order::Bracket { rate: dec!(0.12) }, &p, &year(dec!(70000)));
        assert_eq!(d.traditional, dec!(66500.00));
        assert!((d.taxable - dec!(10054.05)).abs() <= dec!(0.01), "{}", d.taxable);
        assert!((d.tax - dec!(6554.05)).abs() <= dec!(0.01), "{}", d.tax);
        assert_eq!(d.taxable_income, dec!(50400) + d.gain);
        // The basis leaves with the withdrawal: half of it.
        assert!((d.after.basis - (dec!(100000) - d.taxable / dec!(2))).abs() <= dec!(0.01), "{}", d.after.basis);
        let early = draw(Order::Bracket { rate: dec!(0.12) }, &p, &Year { early: true, ..year(dec!(70000)) });
        assert_eq!((early.taxable, early.traditional), (dec!(70000), dec!(0)), "before 59½ no bracket is filled");
        let first = draw(Order::TaxableFirst, &p, &year(dec!(70000)));
        assert_eq!((first.taxable, first.traditional, first.tax), (dec!(70000), dec!(0), dec!(0)));
        assert_eq!(first.gain, dec!(35000));
    }

    /// Proportional: each pot pays its share of the balances; 30,000 from three pots of
    /// 100,000 is 10,000 each, and 10,000 of traditional money is within the deduction.
    #[test]
    fn proportional_draws_each_pot_by_its_balance() {
        let p = pots(dec!(100000), dec!(100000), dec!(100000), dec!(100000));
        let d = draw(Order::Proportional, &p, &year(dec!(30000)));
        assert_eq!((d.taxable, d.traditional, d.roth, d.tax), (dec!(10000), dec!(10000), dec!(10000), dec!(0)));
    }

    /// Income beyond spending is reinvested at cost; Social Security of 30,000 with no other
    /// income is not taxed (provisional income 15,000 is under the 25,000 base).
    #[test]
    fn income_beyond_spending_is_reinvested_and_an_empty_account_falls_short() {
        let y = Year { social_security: dec!(30000), ..year(dec!(20000)) };
        let d = draw(Order::TaxableFirst, &pots(dec!(1000), dec!(1000), dec!(0), dec!(0)), &y);
        assert_eq!((d.reinvested, d.tax, d.taxable_social_security), (dec!(10000), dec!(0), dec!(0)));
        assert_eq!((d.after.taxable, d.after.basis), (dec!(11000), dec!(11000)));
        let short = draw(Order::TaxableFirst, &pots(dec!(0), dec!(0), dec!(0), dec!(40000)), &year(dec!(100000)));
        assert_eq!((short.roth, short.shortfall, short.after.total()), (dec!(40000), dec!(60000), dec!(0)));
    }

    /// Wages of 100,000 pay their own tax (13,170: taxable income 83,900 in the 22% bracket);
    /// 1,000 of qualified dividends on top are taxed at 15%, and the portfolio pays those 150
    /// from the taxable pot (bought at its value: no gain).
    #[test]
    fn the_portfolio_pays_only_the_tax_it_adds_to_the_wages() {
        let y = Year { wages: dec!(100000), dividends: dec!(1000), ..year(dec!(0)) };
        let d = draw(Order::TaxableFirst, &pots(dec!(50000), dec!(50000), dec!(0), dec!(0)), &y);
        assert_eq!(d.total_tax, dec!(13320.00));
        assert_eq!(d.tax, dec!(150.00));
        assert_eq!(d.taxable, dec!(150.00));
        assert_eq!(d.after.basis, dec!(50000) - dec!(150) + dec!(1000));
    }

    /// The RMD leaves the traditional pot even when not needed; what it does not spend is
    /// reinvested. 73 in 2026 with 265,000 (period 26.5): an RMD of 10,000, spending 4,000.
    #[test]
    fn the_rmd_is_taken_and_its_surplus_reinvested() {
        let y = Year { rmd: dec!(10000), ..year(dec!(4000)) };
        let d = draw(Order::TaxableFirst, &pots(dec!(0), dec!(0), dec!(265000), dec!(0)), &y);
        assert_eq!((d.rmd, d.traditional, d.tax, d.reinvested), (dec!(10000), dec!(0), dec!(0), dec!(6000)));
        assert_eq!(d.after.traditional, dec!(255000));
        assert_eq!(d.after.taxable, dec!(6000));
    }

    #[test]
    fn orders_are_read_by_name_and_a_bracket_needs_its_rate() {
        assert_eq!(Order::parse("proportional", None).unwrap(), Order::Proportional);
        assert_eq!(Order::parse("bracket", Some(dec!(0.22))).unwrap(), Order::Bracket { rate: dec!(0.22) });
        assert!(Order::parse("bracket", None).unwrap_err().to_string().contains("bracket"));
        assert!(Order::parse("bracket", Some(dec!(0.37))).is_err(), "the top bracket has no top to fill");
        assert!(Order::parse("roth_first", None).unwrap_err().to_string().contains("order"));
    }
}
