//! The adapters, one module per vendor, each a [`Provider`] speaking the vendor's documented
//! wire format:
//!
//! | Module            | Vendor                         | Key                        | Serves                                         |
//! |-------------------|--------------------------------|----------------------------|------------------------------------------------|
//! | [`stooq`]         | Stooq daily CSV download       | none                       | daily bars                                     |
//! | [`alpha_vantage`] | Alpha Vantage (JSON or CSV)    | `apikey` query             | daily bars, splits and dividends, fundamentals |
//! | [`yahoo`]         | Yahoo Finance chart JSON       | none                       | daily bars, splits and dividends, price        |
//! | [`polygon`]       | Polygon.io aggregates          | `apiKey` query or bearer   | daily bars, intraday aggregates, last trade    |
//! | [`alpaca`]        | Alpaca market data v2          | key id and secret, headers | daily bars, intraday aggregates, latest trade  |
//! | [`local`]         | a directory of cairn bars CSVs | none                       | daily bars                                     |
//!
//! What they share: each adapter implements only `Vendor` (what it asks its vendor and how
//! it reads the answer), and [`Provider`] is written once, here, for all of them: the name,
//! the capabilities, an empty range answered `NotFound` before any call, the bars passed
//! through `finish`, the intraday aggregates through `finish_intraday` (the day kept, by time), and the corporate actions through `actions_in` (the range kept, by date),
//! and the fundamentals (where an adapter serves them) with `source` set to the name.
//! Every HTTP adapter (`http.rs`) is built from its configured name
//! (the `source` of its bars), a base URL (so tests and proxies can point it elsewhere), its
//! key(s) where the vendor needs one, and a shared [`reqwest::Client`]; `with_timeout` sets
//! the per-request timeout ([`DEFAULT_TIMEOUT`] otherwise). Transport failures, timeouts and
//! 5xx are `Unavailable`; 429 is `RateLimited` with its `Retry-After`; 401 and 403 are
//! `Unauthorized`; no message ever carries a key (URLs are shown without their query, echoed
//! keys are replaced by `***`). A key-needing adapter built without its key answers
//! `Unauthorized` without calling. Paged answers (Polygon, Alpaca) are followed by one loop
//! (`Http::pages`), CSV bodies read by one reader (`Http::csv`, numbering lines as
//! `commands`' CSV imports do), and Polygon's and Alpaca's bars and trades share their JSON
//! shape (`Aggregate`, `Trade`). Prices are read from the body's text into `Decimal`, never
//! through `f64`. Bars outside the asked days are dropped, the rest come back oldest first
//! with `source` set to the name, and each must pass [`domain::market::validate`] or the
//! whole answer is `Invalid`, naming the date. Their tests share `testing.rs`: an in-process
//! vendor server, and one check for each error mapping every adapter must keep.
//!
//! Build the shared client with `reqwest::redirect::Policy::none()`: no vendor here redirects
//! its API, and a redirect to another host would carry the query (Alpha Vantage's and
//! Polygon's keys) and Alpaca's key headers there (reqwest strips only `Authorization` and
//! cookies); a 3xx then answers `Invalid`.

pub mod alpaca;
pub mod alpha_vantage;
pub(crate) mod http;
pub mod local;
pub(crate) mod num;
pub mod polygon;
pub mod stooq;
#[cfg(test)]
pub(crate) mod testing;
pub mod yahoo;

pub use alpaca::{Alpaca, AlpacaFeed};
pub use alpha_vantage::{AlphaVantage, AlphaVantageFormat};
pub use http::DEFAULT_TIMEOUT;
pub use local::LocalDir;
pub use polygon::{KeyPlacement, Polygon};
pub use stooq::Stooq;
pub use yahoo::Yahoo;

use std::future::{ready, Future};

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::America::New_York;
use domain::fundamentals::Fundamentals;
use domain::market::{Adjustment, Bar};
use domain::DomainError;
use futures::future::BoxFuture;
use rust_decimal::Decimal;
use serde::Deserialize;

use crate::market::provider::{
    Capability, CorporateAction, IntradayBar, Provider, ProviderError, Quote, INTRADAY_MINUTES,
};
use num::Num;

/// What an adapter does itself: ask its vendor and read the answer. [`Provider`] is written
/// once for every adapter from it (below): its name is [`Vendor::source`], its capabilities
/// [`Vendor::SERVES`], an empty range of bars (or of corporate actions, where it serves them)
/// is `NotFound` before any call, the bars [`Vendor::bars`] reads go through [`finish`], the
/// actions [`Vendor::actions`] reads through [`actions_in`], and the fundamentals
/// [`Vendor::financials`] reads get their `source`.
pub(crate) trait Vendor: Send + Sync {
    /// What the adapter serves.
    const SERVES: &'static [Capability];

    /// The configured name, the `source` of its bars.
    fn source(&self) -> &str;

    /// [`Provider::adjustment`]: the prices traded unless the adapter says otherwise.
    fn adjustment(&self) -> Adjustment {
        Adjustment::Raw
    }

    /// The bars the vendor answers for `symbol` over the days `from` to `to` (never an empty
    /// range), in any order and maybe beyond the range: [`finish`] keeps, sorts and checks them.
    fn bars(
        &self,
        symbol: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> impl Future<Output = Result<Vec<Bar>, ProviderError>> + Send;

    /// The splits and dividends the vendor answers for `symbol` over the days `from` to `to`
    /// (never an empty range where the adapter serves them), in any order and maybe beyond the
    /// range: [`actions_in`] keeps and sorts them. `Unsupported` unless the adapter serves them.
    fn actions(
        &self,
        symbol: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> impl Future<Output = Result<Vec<CorporateAction>, ProviderError>> + Send {
        let _ = (symbol, from, to);
        ready(Err(unsupported(self.source(), Capability::CorporateActions)))
    }

    /// The `minutes`-minute aggregates the vendor answers for `symbol` on the New York day
    /// `date` (`minutes` within [`INTRADAY_MINUTES`]), in any order and maybe beyond the day:
    /// [`finish_intraday`] keeps, sorts and checks them. `Unsupported` unless the adapter
    /// serves them.
    fn intraday(
        &self,
        symbol: &str,
        date: NaiveDate,
        minutes: u32,
    ) -> impl Future<Output = Result<Vec<IntradayBar>, ProviderError>> + Send {
        let _ = (symbol, date, minutes);
        ready(Err(unsupported(self.source(), Capability::Intraday)))
    }

    /// [`Provider::latest_quote`]: `Unsupported` unless the adapter serves it.
    fn quote(&self, symbol: &str) -> impl Future<Output = Result<Quote, ProviderError>> + Send {
        let _ = symbol;
        ready(Err(unsupported(self.source(), Capability::LatestQuote)))
    }

    /// [`Provider::fundamentals`] (any `source`: it is set to the name): `Unsupported` unless
    /// the adapter serves them.
    fn financials(&self, symbol: &str) -> impl Future<Output = Result<Fundamentals, ProviderError>> + Send {
        let _ = symbol;
        ready(Err(unsupported(self.source(), Capability::Fundamentals)))
    }
}

/// What a [`Provider`] method answers.
type Answer<'a, T> = BoxFuture<'a, Result<T, ProviderError>>;

impl<V: Vendor> Provider for V {
    fn name(&self) -> &str {
        self.source()
    }

    fn capabilities(&self) -> &[Capability] {
        V::SERVES
    }

    fn adjustment(&self) -> Adjustment {
        Vendor::adjustment(self)
    }

    fn daily_bars<'a>(&'a self, symbol: &'a str, from: NaiveDate, to: NaiveDate) -> Answer<'a, Vec<Bar>> {
        Box::pin(async move {
            check_range(self.source(), from, to)?;
            let bars = self.bars(symbol, from, to).await?;
            finish(self.source(), bars, from, to)
        })
    }

    fn latest_quote<'a>(&'a self, symbol: &'a str) -> Answer<'a, Quote> {
        Box::pin(self.quote(symbol))
    }

    fn intraday_bars<'a>(&'a self, symbol: &'a str, date: NaiveDate, minutes: u32) -> Answer<'a, Vec<IntradayBar>> {
        Box::pin(async move {
            if V::SERVES.contains(&Capability::Intraday) && !INTRADAY_MINUTES.contains(&minutes) {
                return Err(ProviderError::NotFound {
                    provider: self.source().to_owned(),
                    message: format!(
                        "no {minutes}-minute aggregates: windows are {} to {} minutes",
                        INTRADAY_MINUTES.start(),
                        INTRADAY_MINUTES.end()
                    ),
                });
            }
            let bars = self.intraday(symbol, date, minutes).await?;
            finish_intraday(self.source(), bars, date)
        })
    }

    fn corporate_actions<'a>(
        &'a self,
        symbol: &'a str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Answer<'a, Vec<CorporateAction>> {
        Box::pin(async move {
            if V::SERVES.contains(&Capability::CorporateActions) {
                check_range(self.source(), from, to)?;
            }
            let actions = self.actions(symbol, from, to).await?;
            Ok(actions_in(actions, from, to))
        })
    }

    fn fundamentals<'a>(&'a self, symbol: &'a str) -> Answer<'a, Fundamentals> {
        Box::pin(async move {
            let mut fundamentals = self.financials(symbol).await?;
            fundamentals.source = self.source().to_owned();
            Ok(fundamentals)
        })
    }
}

fn unsupported(provider: &str, capability: Capability) -> ProviderError {
    ProviderError::Unsupported { provider: provider.to_owned(), capability }
}

/// A vendor's bars as every adapter answers them: those from `from` to `to` (both included),
/// oldest first, `source` set to `provider`, each valid (`domain::market::validate`), no date
/// twice; none left is `NotFound`.
fn finish(provider: &str, mut bars: Vec<Bar>, from: NaiveDate, to: NaiveDate) -> Result<Vec<Bar>, ProviderError> {
    bars.retain(|b| from <= b.date && b.date <= to);
    bars.sort_by_key(|b| b.date);
    if bars.is_empty() {
        return Err(ProviderError::NotFound {
            provider: provider.to_owned(),
            message: format!("no bars from {from} to {to}"),
        });
    }
    if let Some(pair) = bars.windows(2).find(|w| w[0].date == w[1].date) {
        return Err(ProviderError::Invalid {
            provider: provider.to_owned(),
            message: format!("two bars for {}", pair[0].date),
        });
    }
    for bar in &mut bars {
        bar.source = Some(provider.to_owned());
        domain::market::validate(0, bar).map_err(|e| ProviderError::Invalid {
            provider: provider.to_owned(),
            message: format!("the bar of {}: {}", bar.date, rule(&e)),
        })?;
    }
    Ok(bars)
}

/// A vendor's intraday aggregates as every adapter answers them: those of the New York day
/// `date`, oldest first, `source` set to `provider`, each valid (`domain::market::validate`),
/// no window twice; none left is `NotFound`.
fn finish_intraday(
    provider: &str,
    mut bars: Vec<IntradayBar>,
    date: NaiveDate,
) -> Result<Vec<IntradayBar>, ProviderError> {
    bars.retain(|b| b.bar.date == date);
    bars.sort_by_key(|b| b.at);
    if bars.is_empty() {
        return Err(ProviderError::NotFound {
            provider: provider.to_owned(),
            message: format!("no intraday aggregates on {date}"),
        });
    }
    let shown = |at: DateTime<Utc>| at.with_timezone(&New_York).format("%H:%M ET").to_string();
    if let Some(pair) = bars.windows(2).find(|w| w[0].at == w[1].at) {
        return Err(ProviderError::Invalid {
            provider: provider.to_owned(),
            message: format!("two aggregates at {}", shown(pair[0].at)),
        });
    }
    for b in &mut bars {
        b.bar.source = Some(provider.to_owned());
        domain::market::validate(0, &b.bar).map_err(|e| ProviderError::Invalid {
            provider: provider.to_owned(),
            message: format!("the aggregate at {}: {}", shown(b.at), rule(&e)),
        })?;
    }
    Ok(bars)
}

pub(crate) use domain::calendar::new_york_day;

/// A refused bar's reason without the line number `validate` was given.
fn rule(e: &DomainError) -> String {
    match e {
        DomainError::Rejected { field, problem, .. } => format!("{field} {problem}"),
        other => other.to_string(),
    }
}

/// The empty range `from` after `to`: nothing to ask for.
fn check_range(provider: &str, from: NaiveDate, to: NaiveDate) -> Result<(), ProviderError> {
    if from > to {
        return Err(ProviderError::NotFound {
            provider: provider.to_owned(),
            message: format!("the range {from} to {to} is empty"),
        });
    }
    Ok(())
}

/// Corporate actions from `from` to `to`, by date.
fn actions_in(mut actions: Vec<CorporateAction>, from: NaiveDate, to: NaiveDate) -> Vec<CorporateAction> {
    let date = |a: &CorporateAction| match a {
        CorporateAction::Split { date, .. } => *date,
        CorporateAction::Dividend { ex_date, .. } => *ex_date,
    };
    actions.retain(|a| (from..=to).contains(&date(a)));
    actions.sort_by_key(date);
    actions
}

/// A bar as Polygon and Alpaca write it: `t` (each its own time format), `o`/`h`/`l`/`c` the
/// prices, `v` the volume and `vw` the VWAP; their other fields (`n`, trades) are not kept.
#[derive(Deserialize)]
pub(crate) struct Aggregate<T> {
    pub(crate) t: T,
    o: Num,
    h: Num,
    l: Num,
    c: Num,
    v: Num,
    vw: Option<Num>,
}

impl<T> Aggregate<T> {
    /// The bar of `date` (the date of `t` where the vendor's day starts): no adjusted close.
    pub(crate) fn bar(&self, date: NaiveDate) -> Bar {
        Bar {
            date,
            open: self.o.0,
            high: self.h.0,
            low: self.l.0,
            close: self.c.0,
            volume: self.v.0,
            adj_close: None,
            vwap: self.vw.map(|v| v.0),
            source: None,
        }
    }

    /// The aggregate of the window starting at `at`.
    pub(crate) fn intraday(&self, at: DateTime<Utc>) -> IntradayBar {
        IntradayBar { at, bar: self.bar(new_york_day(at)) }
    }
}

/// A last trade as Polygon and Alpaca write it: `t` (each its own time format), the price `p`
/// and the size `s`.
#[derive(Deserialize)]
pub(crate) struct Trade<T> {
    pub(crate) t: T,
    p: Num,
    s: Option<Num>,
}

impl<T> Trade<T> {
    /// The quote of `symbol` from `provider`: the trade's price and size at `at`.
    pub(crate) fn quote(&self, provider: &str, symbol: &str, at: DateTime<Utc>) -> Quote {
        last_price(provider, symbol, at, self.p.0, self.s.map(|s| s.0))
    }
}

/// A quote that is only a last price (and maybe its size), without bid or ask.
pub(crate) fn last_price(
    provider: &str,
    symbol: &str,
    at: DateTime<Utc>,
    last: Decimal,
    size: Option<Decimal>,
) -> Quote {
    Quote { symbol: symbol.to_owned(), at, last: Some(last), bid: None, ask: None, size, source: provider.to_owned() }
}

/// The start of a body for a message: at most 80 characters.
pub(crate) fn clip(s: &str) -> String {
    s.chars().take(80).collect()
}

#[cfg(test)]
mod tests {
    use super::testing::refused_base;
    use super::*;

    #[tokio::test]
    async fn adapters_without_fundamentals_answer_unsupported_without_calling() {
        let stooq = Stooq::new("stooq", refused_base().await, reqwest::Client::new());
        assert!(!stooq.capabilities().contains(&Capability::Fundamentals));
        assert_eq!(
            stooq.fundamentals("ACME").await.unwrap_err(),
            ProviderError::Unsupported { provider: "stooq".into(), capability: Capability::Fundamentals }
        );
    }
}
