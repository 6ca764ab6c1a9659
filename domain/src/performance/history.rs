//! A daily valuation history of some of a household's accounts, from its ledger rows and
//! closing prices: each calendar day's value, cash, external flows, income and fees. The
//! returns of [`super`] and the summaries of [`super::periods`] are computed from it.
//!
//! **Value.** At the end of each day: the accounts' cash plus every position at its symbol's
//! latest close on or before that day (in US dollars: a close in another currency at that
//! day's rate, see [`crate::fx`]). A symbol with no close yet is valued at its latest trade
//! price on or before the day (a buy, a sale or a transfer with a price); one with neither is
//! counted in `unpriced` and valued at nothing.
//!
//! **External flows** (what a return is measured net of), from the accounts' side, positive in:
//! - deposits and contributions: `+amount`; withdrawals: `-amount`;
//! - shares transferred in: `+shares × price`, and out: `-shares × price`, at the day's value
//!   of a share (as above; the row's own price when there is none). A transfer between two
//!   accounts that are both counted moves nothing: the two rows cancel.
//! - Everything else is the investment's own doing: buys, sales, dividends, interest,
//!   corporate actions, commissions and other trading costs.
//! - Fees (`fee` rows: advisory, custody, account fees) stay inside the portfolio for a return
//!   *net* of fees; for a return *gross* of fees they are counted as outflows (`fee_flow`), which
//!   is the GIPS definition (gross of investment management fees, net of trading costs).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::fx::Quotes;
use crate::ledger::lots::{timeline, Holding};
use crate::ledger::types::{Action, Trade};
use crate::ledger::Ledger;
use crate::DomainError;

/// Closing prices by symbol, looked up as "the latest close on or before a day".
#[derive(Debug, Clone, Default)]
pub struct Closes {
    by_symbol: HashMap<String, Vec<(NaiveDate, Decimal)>>,
}

impl Closes {
    /// Closes from `(symbol, day, close)` in any order; a later duplicate of a day wins.
    pub fn new(closes: impl IntoIterator<Item = (String, NaiveDate, Decimal)>) -> Self {
        let mut by_symbol: HashMap<String, BTreeMap<NaiveDate, Decimal>> = HashMap::new();
        for (symbol, day, close) in closes {
            by_symbol.entry(symbol).or_default().insert(day, close);
        }
        Self { by_symbol: by_symbol.into_iter().map(|(s, days)| (s, days.into_iter().collect())).collect() }
    }

    /// The latest close of `symbol` on or before `day`.
    pub fn on_or_before(&self, symbol: &str, day: NaiveDate) -> Option<Decimal> {
        let series = self.by_symbol.get(symbol)?;
        let n = series.partition_point(|(d, _)| *d <= day);
        n.checked_sub(1).map(|i| series[i].1)
    }

    /// The close of `symbol` dated `day`, if it has one.
    pub fn on(&self, symbol: &str, day: NaiveDate) -> Option<Decimal> {
        let series = self.by_symbol.get(symbol)?;
        series.binary_search_by_key(&day, |(d, _)| *d).ok().map(|i| series[i].1)
    }

    /// Records `close` as `symbol`'s close on `day`, replacing the one it had.
    pub fn insert(&mut self, symbol: &str, day: NaiveDate, close: Decimal) {
        let series = match self.by_symbol.get_mut(symbol) {
            Some(series) => series,
            None => self.by_symbol.entry(symbol.to_owned()).or_default(),
        };
        match series.last() {
            Some((last, _)) if *last < day => series.push((day, close)),
            None => series.push((day, close)),
            _ => match series.binary_search_by_key(&day, |(d, _)| *d) {
                Ok(i) => series[i].1 = close,
                Err(i) => series.insert(i, (day, close)),
            },
        }
    }

    /// Whether `symbol` has any close.
    pub fn has(&self, symbol: &str) -> bool {
        self.by_symbol.contains_key(symbol)
    }

    /// `symbol`'s closes, oldest first (empty when it has none).
    pub fn series(&self, symbol: &str) -> &[(NaiveDate, Decimal)] {
        self.by_symbol.get(symbol).map_or(&[], Vec::as_slice)
    }

    /// Sets `symbol`'s closes from a series in date order (as [`Closes::series`] gives it).
    pub fn set_series(&mut self, symbol: String, series: Vec<(NaiveDate, Decimal)>) {
        debug_assert!(series.windows(2).all(|w| w[0].0 < w[1].0), "a series in date order");
        self.by_symbol.insert(symbol, series);
    }

    /// The days on which `symbol` has a close, in order.
    pub fn days(&self, symbol: &str) -> impl Iterator<Item = (NaiveDate, Decimal)> + '_ {
        self.by_symbol.get(symbol).into_iter().flatten().copied()
    }
}

/// One day of the history, at the end of the day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Valuation {
    pub date: NaiveDate,
    /// Cash plus positions at market value.
    pub value: Decimal,
    pub cash: Decimal,
    /// Net external flow (see the module documentation), positive into the accounts.
    pub flow: Decimal,
    /// Money and shares that came in from outside (deposits, contributions, transfers in).
    pub inflow: Decimal,
    /// Money and shares that left (withdrawals, transfers out), as a positive amount.
    pub outflow: Decimal,
    /// `fee` rows' amounts: an outflow for a return gross of fees.
    pub fee_flow: Decimal,
    /// Every fee paid: `fee` rows, commissions and the other fees on every row.
    pub fees: Decimal,
    pub qualified_dividends: Decimal,
    pub ordinary_dividends: Decimal,
    pub interest: Decimal,
    /// Symbols held with neither a close nor a trade price, valued at nothing.
    pub unpriced: u32,
}

impl Valuation {
    /// The day in another currency, `usd_per_unit` US dollars to one unit of it (the day's
    /// rate, `crate::fx`): every amount divided by it, so that flows and income are in the
    /// currency of their day as the values are.
    pub fn in_currency(&self, usd_per_unit: Decimal) -> Valuation {
        let to = |usd: Decimal| usd / usd_per_unit;
        Valuation {
            value: to(self.value),
            cash: to(self.cash),
            flow: to(self.flow),
            inflow: to(self.inflow),
            outflow: to(self.outflow),
            fee_flow: to(self.fee_flow),
            fees: to(self.fees),
            qualified_dividends: to(self.qualified_dividends),
            ordinary_dividends: to(self.ordinary_dividends),
            interest: to(self.interest),
            ..*self
        }
    }

    /// Dividends and interest.
    pub fn income(&self) -> Decimal {
        self.qualified_dividends + self.ordinary_dividends + self.interest
    }
}

/// The valuation history of the accounts `only` (every account of the household when `None`)
/// for each calendar day from their first row to `end`. Empty when they have no rows on or
/// before `end`. Rows after `end` are not counted.
pub fn history(
    ledger: &Ledger,
    closes: &Closes,
    only: Option<&BTreeSet<String>>,
    end: NaiveDate,
) -> Result<Vec<Valuation>, DomainError> {
    Ok(replay(ledger, end)?.history(closes, only))
}

/// A ledger's rows up to a day run through the lot engine once, from which the history of
/// any set of its accounts is read ([`Replayed::history`]): the household's and each account's
/// cost one lot-engine run between them.
#[derive(Debug, Clone)]
pub struct Replayed {
    rows: Vec<Trade>,
    timeline: Vec<Holding>,
    end: NaiveDate,
}

/// The rows of `ledger` dated up to `end`, replayed by the lot engine.
pub fn replay(ledger: &Ledger, end: NaiveDate) -> Result<Replayed, DomainError> {
    let rows: Vec<_> = ledger.trades.iter().filter(|t| t.trade_date <= end).cloned().collect();
    let book = timeline(&ledger.accounts, &rows).map_err(|e| DomainError::Rejected {
        line: e.source_line,
        field: e.field.to_owned(),
        problem: format!("{} ({})", e.problem, e.trade_id),
    })?;
    Ok(Replayed { rows, timeline: book.timeline, end })
}

impl Replayed {
    /// The history of the accounts `only` (every account when `None`) to the replay's end.
    pub fn history(&self, closes: &Closes, only: Option<&BTreeSet<String>>) -> Vec<Valuation> {
        let (rows, end) = (&self.rows, self.end);
        let counted = |account: &str| only.is_none_or(|set| set.contains(account));
        let account_of: HashMap<&str, &str> = rows.iter().map(|t| (t.trade_id.as_str(), t.account.as_str())).collect();
        let ordered = in_order(rows);
        let prices = Prices::new(&ordered, closes);
        let price = |symbol: &str, day: NaiveDate| prices.get(symbol, day);
        let changes: Vec<&Holding> = self.timeline.iter().filter(|h| counted(&h.account)).collect();
        let Some(first) = changes.first().map(|h| h.date) else { return Vec::new() };

        let mut cash: BTreeMap<&str, Decimal> = BTreeMap::new();
        // Shares per account and symbol, as the timeline last left them, and their total per
        // symbol, which is what a day's value needs.
        let mut shares: HashMap<(&str, &str), Decimal> = HashMap::new();
        let mut held: BTreeMap<&str, Decimal> = BTreeMap::new();
        let (mut next_change, mut next_row) = (0, 0);
        let counted_rows: Vec<_> = ordered.into_iter().filter(|t| counted(&t.account)).collect();
        let mut days = Vec::with_capacity(usize::try_from((end - first).num_days() + 1).unwrap_or(0));
        let mut date = first;
        while date <= end {
            let mut day = Valuation { date, ..Valuation::default() };
            while let Some(h) = changes.get(next_change).filter(|h| h.date == date) {
                match &h.symbol {
                    None => {
                        cash.insert(&h.account, h.quantity);
                    }
                    Some(symbol) => {
                        let before = shares.insert((&h.account, symbol), h.quantity).unwrap_or_default();
                        let total = held.entry(symbol).or_default();
                        *total += h.quantity - before;
                        if total.is_zero() {
                            held.remove(symbol.as_str());
                        }
                    }
                }
                next_change += 1;
            }
            while let Some(t) = counted_rows.get(next_row).filter(|t| t.trade_date == date) {
                let amount = t.quantity * t.price;
                day.fees += t.total_fees();
                match t.action {
                    Action::Deposit | Action::Contribution => {
                        day.flow += amount;
                        day.inflow += amount;
                    }
                    Action::Withdrawal => {
                        day.flow -= amount;
                        day.outflow += amount;
                    }
                    Action::TransferIn | Action::TransferOut => {
                        let paired_inside =
                            t.counterpart.as_deref().and_then(|c| account_of.get(c)).is_some_and(|a| counted(a));
                        if !paired_inside {
                            let each = t.symbol.as_deref().and_then(|s| price(s, date)).unwrap_or(t.price);
                            let worth = t.quantity * each;
                            if t.action == Action::TransferIn {
                                day.flow += worth;
                                day.inflow += worth;
                            } else {
                                day.flow -= worth;
                                day.outflow += worth;
                            }
                        }
                    }
                    Action::Fee => {
                        day.fee_flow += amount;
                        day.fees += amount;
                    }
                    Action::Dividend | Action::Interest => day.add_income(t),
                    _ => {}
                }
                next_row += 1;
            }
            day.cash = cash.values().copied().sum();
            let mut positions = Decimal::ZERO;
            for (symbol, quantity) in &held {
                match price(symbol, date) {
                    Some(p) => positions += *quantity * p,
                    None => day.unpriced += 1,
                }
            }
            day.value = day.cash + positions;
            days.push(day);
            date = match date.succ_opt() {
                Some(d) => d,
                None => break,
            };
        }
        days
    }

    /// The history of one sleeve of the accounts `only` (every account when `None`): their
    /// positions in `symbols` (an asset class's, say), measured as a portfolio of its own whose
    /// outside is the rest of the accounts (GIPS carve-outs with their own cash left out):
    /// - `value` is the sleeve's positions at market value (no cash);
    /// - `flow` is what crosses its edge: the cash a row of one of its symbols took from the
    ///   accounts (a buy's cost and costs, in) or gave them (a sale's proceeds, a dividend or
    ///   interest paid, a merger's cash: out), shares transferred across the accounts' edge at
    ///   the day's value, and a symbol change, merger or spin-off between one of its symbols
    ///   and another's at the day's value of the new shares;
    /// - income and fees are its symbols' rows'; `fee` rows belong to no sleeve.
    ///
    /// A dividend is thus paid out of the sleeve and counts in its return, as it counts in the
    /// household's.
    pub fn sleeve(
        &self,
        closes: &Closes,
        only: Option<&BTreeSet<String>>,
        symbols: &BTreeSet<String>,
    ) -> Vec<Valuation> {
        let counted = |account: &str| only.is_none_or(|set| set.contains(account));
        let inside = |symbol: Option<&String>| symbol.is_some_and(|s| symbols.contains(s));
        let ordered = in_order(&self.rows);
        let prices = Prices::new(&ordered, closes);
        let by_seq: HashMap<u64, &Trade> = ordered.iter().map(|t| (t.seq(), *t)).collect();
        let changes: Vec<(&Holding, &Trade)> = self
            .timeline
            .iter()
            .filter(|h| counted(&h.account))
            .filter_map(|h| Some((h, *by_seq.get(&h.seq)?)))
            .collect();
        let touches = |t: &Trade| inside(t.symbol.as_ref()) || inside(t.new_symbol.as_ref());
        let Some(first) = changes.iter().find(|(_, t)| touches(t)).map(|(h, _)| h.date) else { return Vec::new() };
        let rows: Vec<&Trade> =
            ordered.iter().copied().filter(|t| counted(&t.account) && inside(t.symbol.as_ref())).collect();

        let mut cash: HashMap<&str, Decimal> = HashMap::new();
        let mut shares: HashMap<(&str, &str), Decimal> = HashMap::new();
        let mut held: BTreeMap<&str, Decimal> = BTreeMap::new();
        let (mut next_change, mut next_row) = (0, 0);
        let mut days = Vec::with_capacity(usize::try_from((self.end - first).num_days() + 1).unwrap_or(0));
        let mut date = changes.first().map_or(first, |(h, _)| h.date);
        while date <= self.end {
            let mut day = Valuation { date, ..Valuation::default() };
            let cross = |day: &mut Valuation, amount: Decimal| {
                day.flow += amount;
                if amount > Decimal::ZERO {
                    day.inflow += amount;
                } else {
                    day.outflow -= amount;
                }
            };
            while let Some((h, t)) = changes.get(next_change).filter(|(h, _)| h.date == date) {
                next_change += 1;
                let Some(symbol) = &h.symbol else {
                    let before = cash.insert(&h.account, h.quantity).unwrap_or_default();
                    if inside(t.symbol.as_ref()) {
                        cross(&mut day, before - h.quantity);
                    }
                    continue;
                };
                let before = shares.insert((&h.account, symbol), h.quantity).unwrap_or_default();
                let delta = h.quantity - before;
                if delta.is_zero() {
                    continue;
                }
                let worth = |fallback: Decimal| delta * prices.get(symbol, date).unwrap_or(fallback);
                if symbols.contains(symbol) {
                    let total = held.entry(symbol).or_default();
                    *total += delta;
                    if total.is_zero() {
                        held.remove(symbol.as_str());
                    }
                    if matches!(t.action, Action::TransferIn | Action::TransferOut) {
                        cross(&mut day, worth(t.price));
                    }
                }
                // Value moved between this sleeve and another by a reorganization, at the day's
                // value of the new shares.
                let reorganized = matches!(t.action, Action::SymbolChange | Action::Merger | Action::Spinoff);
                if reorganized
                    && t.new_symbol.as_ref() == Some(symbol)
                    && inside(t.symbol.as_ref()) != inside(Some(symbol))
                {
                    let moved = worth(Decimal::ZERO);
                    cross(&mut day, if symbols.contains(symbol) { moved } else { -moved });
                }
            }
            while let Some(t) = rows.get(next_row).filter(|t| t.trade_date == date) {
                next_row += 1;
                day.fees += t.total_fees();
                if matches!(t.action, Action::Dividend | Action::Interest) {
                    day.add_income(t);
                }
            }
            for (symbol, quantity) in &held {
                match prices.get(symbol, date) {
                    Some(p) => day.value += *quantity * p,
                    None => day.unpriced += 1,
                }
            }
            if date >= first {
                days.push(day);
            }
            date = match date.succ_opt() {
                Some(d) => d,
                None => break,
            };
        }
        days
    }
}

/// Rows by date and recording order, as the lot engine replays them.
fn in_order(rows: &[Trade]) -> Vec<&Trade> {
    let mut ordered: Vec<&Trade> = rows.iter().collect();
    ordered.sort_by_key(|t| (t.trade_date, t.seq()));
    ordered
}

/// A symbol's price on a day in US dollars: its latest close on or before it (a close in
/// another currency at that day's rate, `crate::fx`), else its latest trade price (a buy, a
/// sale or a transfer with a price), else none.
struct Prices<'a> {
    closes: &'a Closes,
    quotes: Quotes,
    traded: HashMap<&'a str, Vec<(NaiveDate, Decimal)>>,
}

impl<'a> Prices<'a> {
    /// From the rows in replay order ([`in_order`]).
    fn new(ordered: &[&'a Trade], closes: &'a Closes) -> Self {
        let mut traded: HashMap<&str, Vec<(NaiveDate, Decimal)>> = HashMap::new();
        for t in ordered {
            let priced = matches!(t.action, Action::Buy | Action::Sell | Action::TransferIn | Action::TransferOut);
            if let (Some(symbol), true) = (&t.symbol, priced && t.price > Decimal::ZERO) {
                traded.entry(symbol.as_str()).or_default().push((t.trade_date, t.price));
            }
        }
        let rows: Vec<Trade> = ordered.iter().filter(|t| t.currency.is_some()).map(|t| (*t).clone()).collect();
        Self { closes, quotes: Quotes::of(&rows), traded }
    }

    fn get(&self, symbol: &str, day: NaiveDate) -> Option<Decimal> {
        let close = self.closes.on_or_before(symbol, day);
        let close = match close {
            Some(c) if !self.quotes.is_empty() => {
                Some(self.quotes.in_dollars(symbol, c, day, |pair, d| self.closes.on_or_before(pair, d)).0)
            }
            _ => close,
        };
        close.or_else(|| {
            let series = self.traded.get(symbol)?;
            let n = series.partition_point(|(d, _)| *d <= day);
            n.checked_sub(1).map(|i| series[i].1)
        })
    }
}

impl Valuation {
    /// Adds a dividend or interest row's amount to the day's income: a dividend is qualified
    /// when its description says so.
    fn add_income(&mut self, t: &Trade) {
        let amount = t.quantity * t.price;
        if t.action == Action::Interest {
            self.interest += amount;
            return;
        }
        if t.is_qualified_dividend() {
            self.qualified_dividends += amount;
        } else {
            self.ordinary_dividends += amount;
        }
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;
    use crate::ledger::types::{AccountInfo, AccountType, Trade};

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn row(
        n: u64,
        date: NaiveDate,
        account: &str,
        action: Action,
        symbol: Option<&str>,
        q: Decimal,
        p: Decimal,
    ) -> Trade {
        Trade::test_row(n, date, account, action, symbol, q, p)
    }

    fn ledger(trades: Vec<Trade>) -> Ledger {
        let mut l = Ledger::default();
        for (label, kind) in [("brokerage", AccountType::Taxable), ("ira", AccountType::RothIra)] {
            let info =
                AccountInfo { label: label.into(), account_type: kind, lot_method: Default::default(), owner: None };
            l.accounts.insert(label.into(), info);
        }
        l.trades = trades;
        l
    }

    proptest::proptest! {
        /// Whatever the deposits and withdrawals, an account that only ever holds cash earns
        /// nothing; and with one deposit and no flows after it, the time-weighted return is the
        /// change in value.
        #[test]
        fn cash_alone_earns_nothing_and_without_flows_twr_is_the_change_in_value(
            flows in proptest::collection::vec((0u32..60, 1u32..5000, proptest::bool::ANY), 1..20),
            closes in proptest::collection::vec(1u32..1000, 30),
        ) {
            let start = day(2026, 1, 5);
            let mut trades = vec![row(1, start, "brokerage", Action::Deposit, None, dec!(1), dec!(100000))];
            for (i, (offset, amount, out)) in flows.iter().enumerate() {
                let action = if *out { Action::Withdrawal } else { Action::Deposit };
                let date = start + chrono::Duration::days(i64::from(*offset));
                trades.push(row(i as u64 + 2, date, "brokerage", action, None, dec!(1), Decimal::from(*amount)));
            }
            let h = history(&ledger(trades), &Closes::default(), None, day(2026, 3, 31)).unwrap();
            let days: Vec<super::super::Day> = h.iter().map(|d| super::super::Day { value: d.value, flow: d.flow }).collect();
            for timing in [super::super::FlowTiming::StartOfDay, super::super::FlowTiming::EndOfDay] {
                proptest::prop_assert_eq!(super::super::time_weighted(Decimal::ZERO, &days, timing).0, Decimal::ZERO);
            }

            let invested = ledger(vec![
                row(1, start, "brokerage", Action::Deposit, None, dec!(1), dec!(10000)),
                row(2, start, "brokerage", Action::Buy, Some("VTI"), dec!(10), dec!(1000)),
            ]);
            let closes = Closes::new(
                closes.iter().enumerate().map(|(i, c)| ("VTI".to_owned(), start + chrono::Duration::days(i as i64), Decimal::from(*c))),
            );
            let h = history(&invested, &closes, None, start + chrono::Duration::days(29)).unwrap();
            let days: Vec<super::super::Day> = h.iter().map(|d| super::super::Day { value: d.value, flow: d.flow }).collect();
            let (twr, _) = super::super::time_weighted(Decimal::ZERO, &days, super::super::FlowTiming::StartOfDay);
            let change = h.last().unwrap().value / h[0].flow - Decimal::ONE;
            proptest::prop_assert!((twr - change).abs() < dec!(0.000000000001), "{} vs {}", twr, change);
        }
    }

    #[test]
    fn each_day_is_cash_plus_shares_at_the_latest_close_with_flows_and_income() {
        let l = ledger(vec![
            row(1, day(2026, 1, 5), "brokerage", Action::Deposit, None, dec!(1), dec!(10000)),
            row(2, day(2026, 1, 5), "brokerage", Action::Buy, Some("VTI"), dec!(40), dec!(200)),
            row(3, day(2026, 1, 7), "brokerage", Action::Dividend, Some("VTI"), dec!(1), dec!(25)),
            row(4, day(2026, 1, 8), "brokerage", Action::Withdrawal, None, dec!(1), dec!(1000)),
        ]);
        let closes = Closes::new([
            ("VTI".to_owned(), day(2026, 1, 5), dec!(201)),
            ("VTI".to_owned(), day(2026, 1, 6), dec!(205)),
            // no close on the 7th: the 6th's carries
            ("VTI".to_owned(), day(2026, 1, 8), dec!(210)),
        ]);
        let h = history(&l, &closes, None, day(2026, 1, 9)).unwrap();
        assert_eq!(h.len(), 5);
        assert_eq!(
            (h[0].date, h[0].value, h[0].cash, h[0].flow),
            (day(2026, 1, 5), dec!(10040), dec!(2000), dec!(10000))
        );
        assert_eq!(h[1].value, dec!(2000) + dec!(40) * dec!(205));
        assert_eq!((h[2].value, h[2].ordinary_dividends, h[2].flow), (dec!(2025) + dec!(8200), dec!(25), dec!(0)));
        assert_eq!((h[3].value, h[3].flow, h[3].outflow), (dec!(1025) + dec!(8400), dec!(-1000), dec!(1000)));
        assert_eq!(h[4].value, h[3].value, "a day without a close or a row keeps the value");
    }

    #[test]
    fn a_transfer_between_counted_accounts_is_no_flow_but_is_one_for_either_account_alone() {
        let mut out = row(3, day(2026, 2, 2), "brokerage", Action::TransferOut, Some("VTI"), dec!(10), dec!(0));
        let mut into = row(4, day(2026, 2, 2), "ira", Action::TransferIn, Some("VTI"), dec!(10), dec!(0));
        out.counterpart = Some("T4".into());
        into.counterpart = Some("T3".into());
        let l = ledger(vec![
            row(1, day(2026, 2, 1), "brokerage", Action::Deposit, None, dec!(1), dec!(1000)),
            row(2, day(2026, 2, 1), "brokerage", Action::Buy, Some("VTI"), dec!(10), dec!(100)),
            out,
            into,
        ]);
        let closes = Closes::new([("VTI".to_owned(), day(2026, 2, 2), dec!(110))]);
        let all = history(&l, &closes, None, day(2026, 2, 2)).unwrap();
        assert_eq!((all[1].value, all[1].flow), (dec!(1100), dec!(0)));
        let brokerage: BTreeSet<String> = ["brokerage".to_owned()].into();
        let b = history(&l, &closes, Some(&brokerage), day(2026, 2, 2)).unwrap();
        assert_eq!((b[1].value, b[1].flow, b[1].outflow), (dec!(0), dec!(-1100), dec!(1100)));
        let ira: BTreeSet<String> = ["ira".to_owned()].into();
        let i = history(&l, &closes, Some(&ira), day(2026, 2, 2)).unwrap();
        assert_eq!(i.len(), 1, "the IRA's history starts with the transfer");
        assert_eq!((i[0].value, i[0].flow), (dec!(1100), dec!(1100)));
    }

    #[test]
    fn a_sleeve_is_its_symbols_alone_with_buys_in_and_sales_and_income_out() {
        let mut sell = row(5, day(2026, 4, 3), "brokerage", Action::Sell, Some("VTI"), dec!(5), dec!(120));
        sell.commission = dec!(2);
        let l = ledger(vec![
            row(1, day(2026, 4, 1), "brokerage", Action::Deposit, None, dec!(1), dec!(10000)),
            row(2, day(2026, 4, 1), "brokerage", Action::Buy, Some("VTI"), dec!(10), dec!(100)),
            row(3, day(2026, 4, 1), "brokerage", Action::Buy, Some("BND"), dec!(10), dec!(50)),
            row(4, day(2026, 4, 2), "brokerage", Action::Dividend, Some("VTI"), dec!(1), dec!(10)),
            sell,
            row(6, day(2026, 4, 3), "brokerage", Action::Fee, None, dec!(1), dec!(30)),
        ]);
        let closes = Closes::new([
            ("VTI".to_owned(), day(2026, 4, 1), dec!(100)),
            ("VTI".to_owned(), day(2026, 4, 2), dec!(110)),
            ("VTI".to_owned(), day(2026, 4, 3), dec!(120)),
            ("BND".to_owned(), day(2026, 4, 1), dec!(50)),
        ]);
        let replayed = replay(&l, day(2026, 4, 3)).unwrap();
        let equity: BTreeSet<String> = ["VTI".to_owned()].into();
        let e = replayed.sleeve(&closes, None, &equity);
        let rows: Vec<_> = e.iter().map(|d| (d.value, d.flow, d.inflow, d.outflow, d.cash)).collect();
        assert_eq!(
            rows,
            [
                (dec!(1000), dec!(1000), dec!(1000), dec!(0), dec!(0)),
                // The dividend leaves the sleeve.
                (dec!(1100), dec!(-10), dec!(0), dec!(10), dec!(0)),
                // The sale's proceeds less its commission leave; the account's fee is not the sleeve's.
                (dec!(600), dec!(-598), dec!(0), dec!(598), dec!(0)),
            ]
        );
        assert_eq!((e[1].ordinary_dividends, e[2].fees, e[2].fee_flow), (dec!(10), dec!(2), dec!(0)));
        let days: Vec<super::super::Day> =
            e.iter().map(|d| super::super::Day { value: d.value, flow: d.flow }).collect();
        let (twr, _) = super::super::time_weighted(Decimal::ZERO, &days, super::super::FlowTiming::StartOfDay);
        // 1100 + 10 on 1000, then 600 + 598 on 1100.
        assert_eq!(twr, dec!(1110) / dec!(1000) * dec!(1198) / dec!(1100) - Decimal::ONE);

        let bonds: BTreeSet<String> = ["BND".to_owned()].into();
        let b = replayed.sleeve(&closes, None, &bonds);
        assert!(b.iter().all(|d| d.value == dec!(500)) && b.len() == 3);

        // A merger of VTI into BND moves the new shares' value from one sleeve to the other.
        let mut merger = row(7, day(2026, 4, 3), "brokerage", Action::Merger, Some("VTI"), dec!(0), dec!(0));
        merger.new_symbol = Some("BND".into());
        merger.ratio = Some(crate::ledger::types::Ratio { new: dec!(2), old: dec!(1) });
        let mut trades = l.trades.clone();
        trades.push(merger);
        let replayed = replay(&ledger(trades), day(2026, 4, 3)).unwrap();
        let (e, b) = (replayed.sleeve(&closes, None, &equity), replayed.sleeve(&closes, None, &bonds));
        // 5 VTI became 10 BND, worth 500 at BND's close.
        assert_eq!((e[2].value, e[2].flow), (dec!(0), dec!(-598) - dec!(500)));
        assert_eq!((b[2].value, b[2].flow), (dec!(1000), dec!(500)));
    }

    #[test]
    fn a_symbol_without_closes_is_valued_at_its_last_trade_price_and_fees_are_counted() {
        let mut buy = row(2, day(2026, 3, 2), "brokerage", Action::Buy, Some("XYZ"), dec!(5), dec!(20));
        buy.commission = dec!(1);
        let l = ledger(vec![
            row(1, day(2026, 3, 2), "brokerage", Action::Deposit, None, dec!(1), dec!(500)),
            buy,
            row(3, day(2026, 3, 3), "brokerage", Action::Fee, None, dec!(1), dec!(10)),
            row(4, day(2026, 3, 3), "brokerage", Action::TransferIn, Some("ABC"), dec!(1), dec!(0)),
        ]);
        let h = history(&l, &Closes::default(), None, day(2026, 3, 3)).unwrap();
        assert_eq!((h[0].value, h[0].fees, h[0].fee_flow), (dec!(499), dec!(1), dec!(0)));
        assert_eq!((h[1].fee_flow, h[1].fees, h[1].unpriced), (dec!(10), dec!(10), 1));
        assert_eq!(h[1].value, dec!(389) + dec!(100));
    }
}
