//! Tax-loss harvesting: which open lots of taxable accounts are worth selling at a loss today,
//! what the loss is worth in tax, which of them a sale would turn into a wash sale, until when
//! not to buy the shares back, and what to hold meanwhile.
//!
//! A wash sale (IRC §1091) disallows a loss when substantially identical stock or securities
//! are bought within 30 days before or after the sale, in any of the taxpayer's accounts,
//! IRAs and Roth IRAs included (Rev. Rul. 2008-5). So a candidate is blocked, with the purchase
//! named, when such shares were bought in the 30 days before today in any account of the
//! household (except the lot's own purchase, Rev. Rul. 56-602), or when a standing instruction
//! (a recurring purchase, dividend reinvestment: `ledger::recurring`) will buy them in the 30
//! days after today; and every suggestion says the first day the shares (or their equivalents)
//! may be bought again: 31 days after the sale.
//!
//! "Substantially identical" is more than the same symbol: [`SUBSTANTIALLY_IDENTICAL`] groups
//! the share classes of one fund (Vanguard's ETF shares are a share class of the
//! corresponding index mutual fund, and its Investor and Admiral shares others), the same
//! table the lot engine's wash-sale matching reads. Funds that
//! track different indexes are not substantially identical; [`REPLACEMENTS`] pairs each
//! common fund with one that tracks a different index of the same asset class, to hold the
//! allocation while the 31 days pass. Both are data tables, extended by the caller.

use std::collections::BTreeMap;

use chrono::{Datelike, Duration, NaiveDate};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;

use crate::ledger::lots::{Term, WASH_SALE_WINDOW_DAYS};
use crate::ledger::recurring::Instruction;
use crate::ledger::types::{AccountType, Action};
use crate::ledger::Ledger;
use crate::rebalance::{self, Order, Side};
use crate::DomainError;

pub use crate::ledger::identical::{identical, SUBSTANTIALLY_IDENTICAL};

/// Replacements: a fund of the same asset class that tracks a different index (so not
/// substantially identical), for each common fund. (symbol, replacement, the two indexes.)
pub const REPLACEMENTS: &[(&str, &str, &str)] = &[
    ("VTI", "ITOT", "CRSP US Total Market vs S&P Total Market"),
    ("ITOT", "VTI", "S&P Total Market vs CRSP US Total Market"),
    ("VOO", "SCHX", "S&P 500 vs Dow Jones US Large-Cap Total Stock Market"),
    ("IVV", "SCHX", "S&P 500 vs Dow Jones US Large-Cap Total Stock Market"),
    ("SPY", "SCHX", "S&P 500 vs Dow Jones US Large-Cap Total Stock Market"),
    ("SCHX", "VOO", "Dow Jones US Large-Cap Total Stock Market vs S&P 500"),
    ("VXUS", "IXUS", "FTSE Global All Cap ex US vs MSCI ACWI ex USA IMI"),
    ("IXUS", "VXUS", "MSCI ACWI ex USA IMI vs FTSE Global All Cap ex US"),
    ("VEA", "IEFA", "FTSE Developed All Cap ex US vs MSCI EAFE IMI"),
    ("IEFA", "VEA", "MSCI EAFE IMI vs FTSE Developed All Cap ex US"),
    ("VWO", "IEMG", "FTSE Emerging Markets All Cap vs MSCI Emerging Markets IMI"),
    ("IEMG", "VWO", "MSCI Emerging Markets IMI vs FTSE Emerging Markets All Cap"),
    ("BND", "AGG", "Bloomberg US Aggregate Float Adjusted vs Bloomberg US Aggregate"),
    ("AGG", "BND", "Bloomberg US Aggregate vs Bloomberg US Aggregate Float Adjusted"),
    ("VB", "IJR", "CRSP US Small Cap vs S&P SmallCap 600"),
    ("IJR", "VB", "S&P SmallCap 600 vs CRSP US Small Cap"),
    ("VNQ", "SCHH", "MSCI US IMI Real Estate 25/50 vs Dow Jones Equity All REIT Capped"),
    ("SCHH", "VNQ", "Dow Jones Equity All REIT Capped vs MSCI US IMI Real Estate 25/50"),
];

/// A purchase of shares substantially identical to `symbol` in the 30 days up to `as_of`, in
/// any account, other than the purchase `except` (the lot's own, Rev. Rul. 56-602): a sale of
/// `symbol` at a loss on `as_of` would be a wash sale.
pub fn recent_purchase<'a>(
    ledger: &'a Ledger,
    symbol: &str,
    as_of: NaiveDate,
    except: &str,
) -> Option<&'a crate::ledger::types::Trade> {
    let window = as_of - Duration::days(WASH_SALE_WINDOW_DAYS);
    ledger
        .trades
        .iter()
        .filter(|t| t.action == Action::Buy && t.trade_date >= window && t.trade_date <= as_of)
        .filter(|t| t.trade_id != except)
        .find(|t| t.symbol.as_deref().is_some_and(|b| identical(b, symbol)))
}

/// Why a sale at a loss on `as_of` would be washed by a purchase still to come: a standing
/// instruction (a recurring purchase, dividend reinvestment) of any open account that buys
/// shares substantially identical to `symbol` on `as_of` or in the 30 days after; `None` when
/// none does.
pub fn scheduled_purchase(ledger: &Ledger, symbol: &str, as_of: NaiveDate) -> Option<String> {
    let until = as_of + Duration::days(WASH_SALE_WINDOW_DAYS);
    let clear = until + Duration::days(1);
    ledger
        .recurring
        .values()
        .filter(|r| !ledger.closed.contains_key(&r.account) && identical(&r.symbol, symbol))
        .filter_map(|r| r.next_after(ledger, as_of - Duration::days(1), until).map(|due| (r, due)))
        .min_by_key(|(r, due)| (due.date.is_some(), due.date, r.key()))
        .map(|(r, due)| match (&r.instruction, due.date) {
            (Instruction::Purchase { .. }, Some(date)) => format!(
                "a recurring purchase of {} in {} ({}) is due on {date}: pause it until {clear}, or a sale at a loss now would be a wash sale",
                r.symbol, r.account, due.basis
            ),
            (_, Some(date)) => format!(
                "dividends of {} are reinvested in {}, the next expected on {date} ({}): turn reinvestment off until {clear}, or a sale at a loss now would be a wash sale",
                r.symbol, r.account, due.basis
            ),
            (_, None) => format!(
                "dividends of {} are reinvested in {} and {}: turn reinvestment off until {clear}, or a sale at a loss now may be a wash sale",
                r.symbol, r.account, due.basis
            ),
        })
}

/// The least loss worth harvesting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// In dollars …
    pub min_loss: Decimal,
    /// … and as a share of the lot's basis.
    pub min_share: Decimal,
}

/// A lot worth selling at a loss, or why not now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Candidate {
    pub lot_id: String,
    pub account: String,
    pub symbol: String,
    pub quantity: Decimal,
    pub acquired: NaiveDate,
    pub basis: Decimal,
    /// At the latest close.
    pub value: Decimal,
    pub loss: Decimal,
    pub term: Term,
    /// The marginal rate the loss saves at (ordinary for short-term, capital gains for
    /// long-term) and the tax it saves.
    pub rate: Decimal,
    pub tax_value: Decimal,
    /// Why selling it today would be a wash sale (a purchase of substantially identical shares
    /// in the 30 days before), or `None`.
    pub blocked: Option<String>,
    /// The first day the shares or their equivalents may be bought back after a sale today.
    pub buy_back_from: NaiveDate,
    /// What to hold meanwhile (a different index of the same asset class), when known.
    pub replacement: Option<String>,
}

/// The household's harvesting candidates on `as_of` at the latest `closes`: open lots of
/// taxable accounts with a loss of at least `s`'s amount and share, short-term first, then the
/// largest loss; `rates` are the marginal (short-term, long-term) rates the losses save at.
pub fn scan(
    ledger: &Ledger,
    closes: &BTreeMap<String, Decimal>,
    as_of: NaiveDate,
    s: &Settings,
    rates: (Decimal, Decimal),
    replacements: &BTreeMap<String, String>,
) -> Result<Vec<Candidate>, DomainError> {
    let book = ledger.book(Some(as_of))?;
    let buy_back_from = as_of + Duration::days(WASH_SALE_WINDOW_DAYS + 1);
    let taxable = |account: &str| ledger.accounts.get(account).is_some_and(|a| a.account_type == AccountType::Taxable);
    let mut out = Vec::new();
    for lot in book.lots.iter().filter(|l| taxable(&l.account) && l.quantity > Decimal::ZERO) {
        let Some(close) = closes.get(&lot.symbol) else { continue };
        let value = (lot.quantity * close).round_dp(2);
        let loss = lot.basis - value;
        if loss <= Decimal::ZERO || loss < s.min_loss || crate::portfolio::weight(loss, lot.basis) < s.min_share {
            continue;
        }
        let term = crate::ledger::lots::term(lot.acquired, as_of);
        let rate = if term == Term::Short { rates.0 } else { rates.1 };
        let blocked = recent_purchase(ledger, &lot.symbol, as_of, &lot.purchase)
            .map(|t| {
                format!(
                    "{} {} bought in {} on {} ({}): a sale at a loss before {} would be a wash sale",
                    t.quantity,
                    t.symbol.as_deref().unwrap_or_default(),
                    t.account,
                    t.trade_date,
                    t.trade_id,
                    t.trade_date + Duration::days(WASH_SALE_WINDOW_DAYS + 1),
                )
            })
            .or_else(|| scheduled_purchase(ledger, &lot.symbol, as_of));
        let replacement = replacements
            .get(&lot.symbol)
            .cloned()
            .or_else(|| REPLACEMENTS.iter().find(|(s, _, _)| *s == lot.symbol).map(|(_, r, _)| (*r).to_owned()));
        out.push(Candidate {
            lot_id: lot.lot_id.clone(),
            account: lot.account.clone(),
            symbol: lot.symbol.clone(),
            quantity: lot.quantity,
            acquired: lot.acquired,
            basis: lot.basis,
            value,
            loss,
            term,
            rate,
            tax_value: (loss * rate).round_dp(2),
            blocked,
            buy_back_from,
            replacement,
        });
    }
    out.sort_by(|a, b| {
        (a.term != Term::Short, std::cmp::Reverse(a.loss), &a.account, &a.lot_id).cmp(&(
            b.term != Term::Short,
            std::cmp::Reverse(b.loss),
            &b.account,
            &b.lot_id,
        ))
    });
    Ok(out)
}

/// The ledger orders that harvest `c` on its day: the sale of its lot by specific
/// identification at `close`, then, when it has a replacement priced at `replacement_close`,
/// the replacement bought in the same account with the proceeds (shares to
/// [`rebalance::QUANTITY_DP`] places, rounded down, so the account never spends more than the
/// sale brought in). Refused, naming the lot, when the scan blocked it: a harvest never books a
/// wash sale. Booked with [`rebalance::Order::row`].
pub fn orders(c: &Candidate, close: Decimal, replacement_close: Option<Decimal>) -> Result<Vec<Order>, DomainError> {
    if let Some(why) = &c.blocked {
        return Err(DomainError::Rejected {
            line: None,
            field: "lot_ids".into(),
            problem: format!("lot {} of {} in {} cannot be harvested now: {why}", c.lot_id, c.symbol, c.account),
        });
    }
    let proceeds = rebalance::cents(c.quantity * close);
    let sale = Order {
        account: c.account.clone(),
        side: Side::Sell,
        symbol: c.symbol.clone(),
        asset: c.symbol.clone(),
        quantity: c.quantity,
        price: close,
        amount: proceeds,
        lot_id: Some(c.lot_id.clone()),
        term: Some(c.term),
        gain: proceeds - c.basis,
        tax: -c.tax_value,
        note: Some(format!(
            "harvests a {} loss; do not buy {} or a share class of it before {}",
            c.term.as_str(),
            c.symbol,
            c.buy_back_from
        )),
    };
    let mut out = vec![sale];
    if let (Some(replacement), Some(price)) = (&c.replacement, replacement_close.filter(|p| *p > Decimal::ZERO)) {
        let quantity = (proceeds / price).round_dp_with_strategy(rebalance::QUANTITY_DP, RoundingStrategy::ToZero);
        if quantity > Decimal::ZERO {
            out.push(Order {
                account: c.account.clone(),
                side: Side::Buy,
                symbol: replacement.clone(),
                asset: c.symbol.clone(),
                quantity,
                price,
                amount: rebalance::cents(quantity * price),
                lot_id: None,
                term: None,
                gain: Decimal::ZERO,
                tax: Decimal::ZERO,
                note: Some(format!("holds {}'s place (a different index) until {}", c.symbol, c.buy_back_from)),
            });
        }
    }
    Ok(out)
}

/// A lot the back-test holds: its symbol, shares and basis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldLot {
    pub symbol: String,
    pub quantity: Decimal,
    pub basis: Decimal,
}

/// The losses harvested in one calendar year of a back-test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct YearHarvest {
    pub year: i32,
    pub harvested: Decimal,
    pub harvests: u32,
}

/// What harvesting would have yielded over stored prices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Backtest {
    /// The first and last days with closes of every symbol.
    pub start: NaiveDate,
    pub end: NaiveDate,
    /// The lots' value at the first closes.
    pub starting_balance: Decimal,
    /// Losses realized by the harvests, in all, and how many lots were harvested.
    pub harvested: Decimal,
    pub harvests: u32,
    /// `harvested ÷ starting_balance`, and that over the years the test spans (days ÷ 365.25).
    pub cumulative_yield: Decimal,
    pub annualized_yield: Decimal,
    pub years: Decimal,
    pub by_year: Vec<YearHarvest>,
}

/// Harvesting back-tested on stored closes, measured as the literature does: the losses
/// harvested as a share of the starting balance, cumulative and per year (Arnott, Berkin and Ye,
/// "Loss Harvesting: What's It Worth to the Taxable Investor?", Journal of Wealth Management,
/// 2001; Chaudhuri, Burnham and Lo, "An Empirical Evaluation of Tax-Loss Harvesting Alpha",
/// Financial Analysts Journal, 2020).
///
/// The method, stated: the `lots` (a household's taxable lots with their real basis) are held
/// from the first day every symbol has a close (`closes`: each symbol's closes in date order).
/// On every day with a close, each lot whose loss at that close reaches `s`'s amount and share
/// is harvested: the loss is counted, the lot is sold and its proceeds buy a replacement assumed
/// to track the same returns (a different index of the same asset class, so the lot's basis
/// becomes its value), and no lot of that symbol is harvested again for 31 days, the wash-sale
/// window for buying the original back. No new money, no withdrawals, no trading costs; a
/// symbol without a close on a day keeps its last one.
pub fn backtest(
    lots: &[HeldLot],
    closes: &BTreeMap<String, Vec<(NaiveDate, Decimal)>>,
    s: &Settings,
) -> Result<Backtest, DomainError> {
    let invalid = |problem: String| DomainError::Rejected { line: None, field: "from".into(), problem };
    if lots.is_empty() {
        return Err(invalid("no open lots in taxable accounts on that day to test".into()));
    }
    let mut start = None::<NaiveDate>;
    for lot in lots {
        let first = closes.get(&lot.symbol).and_then(|c| c.first()).map(|(d, _)| *d);
        let first = first.ok_or_else(|| invalid(format!("no closes of {} in the period", lot.symbol)))?;
        start = Some(start.map_or(first, |s: NaiveDate| s.max(first)));
    }
    let start = start.expect("at least one lot");
    let mut days: Vec<NaiveDate> = closes.values().flatten().map(|(d, _)| *d).filter(|d| *d >= start).collect();
    days.sort_unstable();
    days.dedup();
    let end = *days.last().unwrap_or(&start);
    // Each symbol's close on a day: the last one on or before it.
    let close_on = |symbol: &str, day: NaiveDate| -> Decimal {
        let series = &closes[symbol];
        let at = series.partition_point(|(d, _)| *d <= day);
        series[at.saturating_sub(1)].1
    };
    let mut held: Vec<HeldLot> = lots.to_vec();
    let starting_balance: Decimal = held.iter().map(|l| l.quantity * close_on(&l.symbol, start)).sum();
    let mut until: BTreeMap<String, NaiveDate> = BTreeMap::new();
    let mut by_year: BTreeMap<i32, (Decimal, u32)> = BTreeMap::new();
    for &day in &days {
        let mut harvested_today: Vec<String> = Vec::new();
        for lot in &mut held {
            if until.get(&lot.symbol).is_some_and(|u| day < *u) {
                continue;
            }
            let value = lot.quantity * close_on(&lot.symbol, day);
            let loss = lot.basis - value;
            if loss <= Decimal::ZERO || loss < s.min_loss || crate::portfolio::weight(loss, lot.basis) < s.min_share {
                continue;
            }
            let year = by_year.entry(day.year_ce().1 as i32).or_default();
            year.0 += loss;
            year.1 += 1;
            lot.basis = value;
            harvested_today.push(lot.symbol.clone());
        }
        for symbol in harvested_today {
            until.insert(symbol, day + Duration::days(WASH_SALE_WINDOW_DAYS + 1));
        }
    }
    let harvested: Decimal = by_year.values().map(|(l, _)| *l).sum();
    let harvests = by_year.values().map(|(_, n)| *n).sum();
    let years = (Decimal::from((end - start).num_days()) / Decimal::new(36525, 2)).round_dp(4);
    let share = |x: Decimal| if starting_balance > Decimal::ZERO { x / starting_balance } else { Decimal::ZERO };
    let cumulative_yield = share(harvested).round_dp(6);
    let annualized_yield = if years > Decimal::ZERO { (share(harvested) / years).round_dp(6) } else { Decimal::ZERO };
    Ok(Backtest {
        start,
        end,
        starting_balance: rebalance::cents(starting_balance),
        harvested: rebalance::cents(harvested),
        harvests,
        cumulative_yield,
        annualized_yield,
        years,
        by_year: by_year
            .into_iter()
            .map(|(year, (harvested, harvests))| YearHarvest { year, harvested: rebalance::cents(harvested), harvests })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;
    use crate::ledger::types::Trade;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn ledger() -> Ledger {
        let mut l = Ledger::with_accounts(&[("Brokerage", AccountType::Taxable), ("IRA", AccountType::TraditionalIra)]);
        let row = |n, date: &str, account: &str, action, symbol: Option<&str>, q: Decimal, p: Decimal| {
            Trade::test_row(n, d(date), account, action, symbol, q, p)
        };
        l.trades = vec![
            row(1, "2025-01-02", "Brokerage", Action::Deposit, None, dec!(1), dec!(30000)),
            row(2, "2025-01-02", "Brokerage", Action::Buy, Some("VTI"), dec!(100), dec!(200)),
            row(3, "2026-06-01", "Brokerage", Action::Buy, Some("ABC"), dec!(50), dec!(100)),
            row(4, "2026-11-20", "IRA", Action::Deposit, None, dec!(1), dec!(1000)),
            row(5, "2026-11-20", "IRA", Action::Buy, Some("VTSAX"), dec!(10), dec!(100)),
        ];
        l
    }

    /// VTI bought in 2025 at 200, now 150: a 5,000 long-term loss, blocked by the VTSAX (the
    /// same fund's Admiral shares) bought in the IRA 15 days ago (Rev. Rul. 2008-5). ABC bought
    /// in June at 100, now 80: a 1,000 short-term loss, first.
    #[test]
    fn losses_are_listed_short_term_first_and_an_iras_purchase_of_a_share_class_blocks() {
        let closes: BTreeMap<String, Decimal> = [("VTI".into(), dec!(150)), ("ABC".into(), dec!(80))].into();
        let settings = Settings { min_loss: dec!(500), min_share: dec!(0.05) };
        let found =
            scan(&ledger(), &closes, d("2026-12-05"), &settings, (dec!(0.24), dec!(0.15)), &BTreeMap::new()).unwrap();
        assert_eq!(found.iter().map(|c| c.symbol.as_str()).collect::<Vec<_>>(), ["ABC", "VTI"]);
        let (abc, vti) = (&found[0], &found[1]);
        assert_eq!(
            (abc.term, abc.loss, abc.tax_value, abc.blocked.as_deref()),
            (Term::Short, dec!(1000), dec!(240), None)
        );
        assert_eq!((vti.term, vti.loss, vti.tax_value), (Term::Long, dec!(5000), dec!(750)));
        let why = vti.blocked.as_deref().unwrap();
        assert!(why.contains("VTSAX bought in IRA on 2026-11-20") && why.contains("before 2026-12-21"), "{why}");
        assert_eq!((vti.replacement.as_deref(), vti.buy_back_from), (Some("ITOT"), d("2027-01-05")));
        // Thresholds: 1,500 leaves ABC out; a caller's replacement wins over the table's.
        let settings = Settings { min_loss: dec!(1500), min_share: dec!(0.05) };
        let own: BTreeMap<String, String> = [("VTI".into(), "SCHB".into())].into();
        let found = scan(&ledger(), &closes, d("2026-12-05"), &settings, (dec!(0.24), dec!(0.15)), &own).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].replacement.as_deref(), Some("SCHB"));
        // Forty days later the IRA's purchase no longer blocks.
        let later = scan(&ledger(), &closes, d("2027-01-14"), &settings, (dec!(0.24), dec!(0.15)), &own).unwrap();
        assert_eq!(later[0].blocked, None);
    }

    /// ABC's short-term loss is blocked by a monthly purchase of ABC in the IRA due in 10 days,
    /// then by reinvesting its dividends when the next one is due in 20; neither blocks once
    /// it falls more than 30 days out, and a closed account's instruction never does.
    #[test]
    fn a_recurring_purchase_or_a_reinvestment_due_in_30_days_blocks_the_sale() {
        use crate::ledger::recurring::{Every, Recurring};
        let closes: BTreeMap<String, Decimal> = [("VTI".into(), dec!(150)), ("ABC".into(), dec!(80))].into();
        let settings = Settings { min_loss: dec!(500), min_share: dec!(0.05) };
        let abc = |l: &Ledger, day: &str| {
            let found = scan(l, &closes, d(day), &settings, (dec!(0.24), dec!(0.15)), &BTreeMap::new()).unwrap();
            found.into_iter().find(|c| c.symbol == "ABC").unwrap().blocked
        };
        let mut l = ledger();
        assert_eq!(abc(&l, "2026-12-04"), None);
        let monthly = Recurring {
            account: "IRA".into(),
            symbol: "ABC".into(),
            instruction: Instruction::Purchase {
                amount: dec!(200),
                every: Every::Month,
                first: d("2026-07-14"),
                last: None,
            },
        };
        l.recurring.insert(monthly.key(), monthly.clone());
        let why = abc(&l, "2026-12-04").unwrap();
        assert!(why.contains("is due on 2026-12-14") && why.contains("pause it until 2027-01-04"), "{why}");
        l.recurring.clear();
        let reinvest = Recurring { account: "IRA".into(), symbol: "ABC".into(), instruction: Instruction::Reinvest };
        l.recurring.insert(reinvest.key(), reinvest);
        assert!(abc(&l, "2026-12-04").unwrap().contains("cannot be told"));
        for (n, date) in [(10, "2026-06-25"), (11, "2026-09-24")] {
            l.trades.push(Trade::test_row(n, d(date), "IRA", Action::Dividend, Some("ABC"), dec!(1), dec!(5)));
        }
        let why = abc(&l, "2026-12-04").unwrap();
        assert!(why.contains("next expected on 2026-12-24"), "{why}");
        assert_eq!(abc(&l, "2026-11-20"), None, "the next dividend is 34 days out");
        l.closed.insert("IRA".into(), d("2026-11-30"));
        assert_eq!(abc(&l, "2026-12-04"), None);
    }

    #[test]
    fn an_accepted_harvest_sells_the_lot_and_buys_the_replacement_with_the_proceeds() {
        let closes: BTreeMap<String, Decimal> = [("VTI".into(), dec!(150)), ("ABC".into(), dec!(80))].into();
        let settings = Settings { min_loss: dec!(500), min_share: dec!(0.05) };
        let found =
            scan(&ledger(), &closes, d("2026-12-05"), &settings, (dec!(0.24), dec!(0.15)), &BTreeMap::new()).unwrap();
        let (abc, vti) = (&found[0], &found[1]);
        // ABC has no replacement: the sale alone, its loss and the tax it saves.
        let o = orders(abc, dec!(80), None).unwrap();
        assert_eq!(o.len(), 1);
        assert_eq!(
            (o[0].side, o[0].quantity, o[0].amount, o[0].gain, o[0].tax),
            (Side::Sell, dec!(50), dec!(4000), dec!(-1000), dec!(-240))
        );
        assert_eq!(o[0].lot_id.as_deref(), Some("T3"));
        let row = o[0].row(d("2026-12-05"), 1, "harvest");
        assert_eq!(
            (row.lot_method, row.lot_ids.clone()),
            (Some(crate::ledger::types::LotMethod::Specific), vec!["T3".to_owned()])
        );
        // With a replacement at 33.33: 4,000 buys 120.0120 shares (rounded down), 3,999.99 spent.
        let mut replaced = abc.clone();
        replaced.replacement = Some("XYZ".into());
        let o = orders(&replaced, dec!(80), Some(dec!(33.33))).unwrap();
        assert_eq!(
            (o[1].side, o[1].symbol.as_str(), o[1].quantity, o[1].amount),
            (Side::Buy, "XYZ", dec!(120.0120), dec!(4000.00))
        );
        assert!(o[1].quantity * dec!(33.33) <= dec!(4000));
        // VTI is blocked by the IRA's VTSAX: refused, naming the lot and why.
        let err = orders(vti, dec!(150), Some(dec!(100))).unwrap_err();
        assert!(
            matches!(&err, DomainError::Rejected { field, problem, .. } if field == "lot_ids" && problem.contains("VTSAX")),
            "{err:?}"
        );
    }

    /// Two lots over 2025's closes, worked by hand. XYZ (100 shares, basis 10,000) closes at 89
    /// on 02-14: a 1,100 loss, harvested (basis 8,900), and XYZ not harvested again before
    /// 03-17 (02-28 and 03-14 pass by); on 03-31 it closes at 84: 8,400 against 8,900, a 500
    /// loss (5.6%), harvested. ABC (basis 5,000) only gains. 1,600 of a 15,000 start is 10.67%
    /// in all; over the 334 days (0.9144 years) 11.67% a year.
    #[test]
    fn a_back_test_counts_each_harvest_once_per_wash_sale_window_and_reports_the_literatures_yield() {
        let lots = vec![
            HeldLot { symbol: "XYZ".into(), quantity: dec!(100), basis: dec!(10000) },
            HeldLot { symbol: "ABC".into(), quantity: dec!(50), basis: dec!(5000) },
        ];
        let series = |points: &[(&str, Decimal)]| points.iter().map(|(day, c)| (d(day), *c)).collect::<Vec<_>>();
        let closes: BTreeMap<String, Vec<(NaiveDate, Decimal)>> = [
            (
                "XYZ".to_owned(),
                series(&[
                    ("2025-01-31", dec!(100)),
                    ("2025-02-14", dec!(89)),
                    ("2025-02-28", dec!(90)),
                    ("2025-03-14", dec!(85)),
                    ("2025-03-31", dec!(84)),
                    ("2025-12-31", dec!(120)),
                ]),
            ),
            ("ABC".to_owned(), series(&[("2025-01-31", dec!(100)), ("2025-12-31", dec!(110))])),
        ]
        .into();
        let s = Settings { min_loss: dec!(100), min_share: dec!(0.05) };
        let b = backtest(&lots, &closes, &s).unwrap();
        // 02-14: a 1,100 loss harvested (basis 8,900); 02-28 and 03-14 are inside the 31 days
        // (to 03-17); 03-31: 8,400 against 8,900, a 500 loss (5.6%) harvested.
        assert_eq!((b.start, b.end), (d("2025-01-31"), d("2025-12-31")));
        assert_eq!((b.starting_balance, b.harvested, b.harvests), (dec!(15000), dec!(1600), 2));
        assert_eq!(b.cumulative_yield, dec!(0.106667));
        assert_eq!(b.years, dec!(0.9144), "334 days");
        assert_eq!(b.annualized_yield, dec!(0.116652));
        assert_eq!(b.by_year, vec![YearHarvest { year: 2025, harvested: dec!(1600), harvests: 2 }]);
        // A symbol without closes is refused naming the period.
        let mut missing = closes.clone();
        missing.remove("ABC");
        assert!(matches!(backtest(&lots, &missing, &s), Err(DomainError::Rejected { field, .. }) if field == "from"));
    }

    #[test]
    fn share_classes_of_one_fund_are_identical_and_different_indexes_are_not() {
        assert!(identical("VTI", "VTSAX") && identical("VFIAX", "VOO") && identical("ABC", "ABC"));
        assert!(!identical("VTI", "ITOT") && !identical("VOO", "SCHX"));
        for (symbol, replacement, _) in REPLACEMENTS {
            assert!(!identical(symbol, replacement), "{symbol} and {replacement}");
        }
    }

    /// A harvest replayed through the ledger's own lot engine: selling any candidate the scan
    /// does not block today and buying its replacement with the proceeds makes no wash sale.
    fn harvested(lots: &[(usize, usize, u32, u32, usize)], closes_in: [u32; 4]) {
        const SYMBOLS: [&str; 4] = ["VTI", "VTSAX", "BND", "VOO"];
        const ACCOUNTS: [&str; 2] = ["Brokerage", "IRA"];
        const DATES: [&str; 6] = ["2024-02-01", "2026-03-02", "2026-10-20", "2026-11-05", "2026-11-20", "2026-12-01"];
        let mut ledger = Ledger::with_accounts(&[("Brokerage", AccountType::Taxable), ("IRA", AccountType::RothIra)]);
        let mut rows = vec![
            Trade::test_row(1, d("2024-01-02"), "Brokerage", Action::Deposit, None, dec!(1), dec!(10000000)),
            Trade::test_row(2, d("2024-01-02"), "IRA", Action::Deposit, None, dec!(1), dec!(10000000)),
        ];
        for (i, &(symbol, account, quantity, price, date)) in lots.iter().enumerate() {
            let (q, p) = (Decimal::from(quantity), Decimal::from(price));
            rows.push(Trade::test_row(
                i as u64 + 3,
                d(DATES[date]),
                ACCOUNTS[account],
                Action::Buy,
                Some(SYMBOLS[symbol]),
                q,
                p,
            ));
        }
        rows.sort_by_key(|t| t.trade_date);
        ledger.trades = rows;
        let mut closes: BTreeMap<String, Decimal> =
            SYMBOLS.iter().zip(closes_in).map(|(s, c)| ((*s).to_owned(), Decimal::from(c))).collect();
        // Replacements are priced too.
        for (_, replacement, _) in REPLACEMENTS {
            closes.entry((*replacement).to_owned()).or_insert(Decimal::from(100));
        }
        let as_of = d("2026-12-01");
        let settings = Settings { min_loss: Decimal::ZERO, min_share: Decimal::ZERO };
        let found = scan(&ledger, &closes, as_of, &settings, (dec!(0.32), dec!(0.15)), &BTreeMap::new()).unwrap();
        let next = ledger.trades.len() as u64 + 10;
        for c in found.iter().filter(|c| c.blocked.is_none()) {
            let mut replay = ledger.clone();
            let mut sale =
                Trade::test_row(next, as_of, &c.account, Action::Sell, Some(&c.symbol), c.quantity, closes[&c.symbol]);
            sale.lot_method = Some(crate::ledger::types::LotMethod::Specific);
            sale.lot_ids = vec![c.lot_id.clone()];
            replay.trades.push(sale);
            if let Some(r) = &c.replacement {
                let quantity = (c.value / closes[r]).round_dp(4);
                replay.trades.push(Trade::test_row(
                    next + 1,
                    as_of,
                    &c.account,
                    Action::Buy,
                    Some(r),
                    quantity,
                    closes[r],
                ));
            }
            let book = replay.book(Some(as_of)).unwrap();
            let washed: Vec<_> = book.wash_sales.iter().filter(|w| w.sale_id == format!("T{next}")).collect();
            assert!(washed.is_empty(), "{c:?} was not blocked, yet its sale is a wash sale: {washed:?}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]
        #[test]
        fn a_harvest_the_scan_allows_never_makes_a_wash_sale(
            lots in proptest::collection::vec((0usize..4, 0usize..2, 1u32..60, 20u32..200, 0usize..6), 1..12),
            closes in (20u32..200, 20u32..200, 20u32..200, 20u32..200),
        ) {
            harvested(&lots, [closes.0, closes.1, closes.2, closes.3]);
        }
    }
}
