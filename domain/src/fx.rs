//! Foreign currencies in valuations: which symbols a household's rows quote in another currency,
//! and how a close in that currency becomes US dollars.
//!
//! Rows in another currency are kept in dollars (see `Trade::currency`); a close is not: a
//! security traded in euros has its closes in euros. Its currency is the one its rows were
//! made in (the latest row that names one). A close becomes dollars at the exchange rate of its
//! day: the latest close on or before it of the pair `<CUR>.USD` (US dollars per unit: the
//! market data of the pair, one bar per day, e.g. `EUR.USD`: a rates file recorded by `cairn
//! market rates`, or bars imported like any other), else
//! the rate of the latest row in that currency on or before the day, else of the first such
//! row.
//!
//! A household reports its values and performance in its base currency (`Ledger::base_currency`,
//! US dollars unless set): each day's dollar figures are divided by that day's rate of the base
//! currency's pair (`EUR.USD` for a household in euros), flows included, so a return in euros
//! includes the dollar's moves against the euro. Rows, lots, gains and Form 8949 stay in dollars.

use std::collections::{BTreeSet, HashMap};

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::ledger::types::Trade;

/// The US dollar's code: rows are kept in it and it is the base currency unless one is set.
pub const USD: &str = "USD";

/// The symbol whose closes are the US dollars per unit of `currency` (`EUR.USD`).
pub fn pair(currency: &str) -> String {
    format!("{currency}.USD")
}

/// The currency of a pair's symbol (`EUR.USD` → `EUR`).
pub fn currency_of_pair(symbol: &str) -> Option<&str> {
    symbol.strip_suffix(".USD").filter(|c| crate::ledger::types::valid_currency(c))
}

/// Every symbol whose closes value `trades`: the symbols they name (held, traded, or the new
/// symbol of a corporate action) and the pair of each other currency they were made in.
pub fn priced_symbols(trades: &[Trade]) -> BTreeSet<String> {
    let mut symbols = BTreeSet::new();
    for t in trades {
        symbols.extend(t.symbol.iter().cloned());
        symbols.extend(t.new_symbol.iter().cloned());
        symbols.extend(t.currency.as_deref().map(pair));
    }
    symbols
}

/// The symbols a ledger's rows quote in another currency, and the rates on those rows.
#[derive(Debug, Clone, Default)]
pub struct Quotes {
    /// Symbol → its currency.
    currencies: HashMap<String, String>,
    /// Currency → (day, rate) of its rows, by day.
    row_rates: HashMap<String, Vec<(NaiveDate, Decimal)>>,
}

impl Quotes {
    /// From rows in any order.
    pub fn of(trades: &[Trade]) -> Self {
        let mut rows: Vec<&Trade> = trades.iter().filter(|t| t.currency.is_some()).collect();
        rows.sort_by_key(|t| (t.trade_date, t.seq()));
        let mut quotes = Self::default();
        for t in rows {
            let (Some(currency), Some(rate)) = (&t.currency, t.fx_rate) else { continue };
            for symbol in t.symbol.iter().chain(&t.new_symbol) {
                quotes.currencies.insert(symbol.clone(), currency.clone());
            }
            quotes.row_rates.entry(currency.clone()).or_default().push((t.trade_date, rate));
        }
        quotes
    }

    /// Whether any symbol is quoted in another currency.
    pub fn is_empty(&self) -> bool {
        self.currencies.is_empty()
    }

    /// The currency `symbol` is quoted in (`None`: US dollars).
    pub fn currency(&self, symbol: &str) -> Option<&str> {
        self.currencies.get(symbol).map(String::as_str)
    }

    /// The currencies of the rows, each once.
    pub fn currencies(&self) -> impl Iterator<Item = &str> {
        self.row_rates.keys().map(String::as_str)
    }

    /// US dollars per unit of `currency` on `day`: `market(pair, day)` (the pair's latest close
    /// on or before the day), else the rate of the latest row in the currency on or before the
    /// day, else of its first row.
    pub fn rate(
        &self,
        currency: &str,
        day: NaiveDate,
        market: impl Fn(&str, NaiveDate) -> Option<Decimal>,
    ) -> Option<Decimal> {
        market(&pair(currency), day).or_else(|| {
            let rates = self.row_rates.get(currency)?;
            let n = rates.partition_point(|(d, _)| *d <= day);
            rates.get(n.saturating_sub(1)).map(|(_, r)| *r)
        })
    }

    /// `close` of `symbol` on `day` in US dollars, and the rate used (`None` for a dollar
    /// symbol).
    pub fn in_dollars(
        &self,
        symbol: &str,
        close: Decimal,
        day: NaiveDate,
        market: impl Fn(&str, NaiveDate) -> Option<Decimal>,
    ) -> (Decimal, Option<Decimal>) {
        match self.currency(symbol).and_then(|c| self.rate(c, day, market)) {
            Some(rate) => (close * rate, Some(rate)),
            None => (close, None),
        }
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;
    use crate::ledger::types::Action;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 3, d).unwrap()
    }

    fn row(n: u64, date: NaiveDate, currency: Option<&str>, rate: Option<Decimal>) -> Trade {
        let mut t = Trade::test_row(n, date, "ibkr", Action::Buy, Some("SAP"), dec!(1), dec!(200));
        t.currency = currency.map(Into::into);
        t.fx_rate = rate;
        t
    }

    #[test]
    fn a_close_becomes_dollars_at_the_pairs_close_else_at_the_rows_rate() {
        let q = Quotes::of(&[
            row(2, day(10), Some("EUR"), Some(dec!(1.10))),
            row(1, day(3), Some("EUR"), Some(dec!(1.08))),
        ]);
        assert_eq!(q.currency("SAP"), Some("EUR"));
        assert_eq!(q.currency("VTI"), None);
        let no_market = |_: &str, _: NaiveDate| None;
        assert_eq!(q.in_dollars("SAP", dec!(180), day(5), no_market), (dec!(194.40), Some(dec!(1.08))));
        assert_eq!(q.in_dollars("SAP", dec!(180), day(12), no_market).1, Some(dec!(1.10)));
        assert_eq!(q.in_dollars("SAP", dec!(180), day(1), no_market).1, Some(dec!(1.08)), "before any row: the first");
        let market = |p: &str, _: NaiveDate| (p == "EUR.USD").then_some(dec!(1.2));
        assert_eq!(q.in_dollars("SAP", dec!(180), day(5), market), (dec!(216.0), Some(dec!(1.2))));
        assert_eq!(q.in_dollars("VTI", dec!(300), day(5), market), (dec!(300), None));
        assert_eq!(
            (pair("EUR"), currency_of_pair("EUR.USD"), currency_of_pair("BRK.B")),
            ("EUR.USD".into(), Some("EUR"), None)
        );
    }
}
