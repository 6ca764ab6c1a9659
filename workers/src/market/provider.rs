//! What every market-data adapter offers ([`Provider`]), what it answers with, and how it
//! fails ([`ProviderError`]), in terms the selector, the breaker and the ingestion share.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use domain::fundamentals::Fundamentals;
use domain::market::{Adjustment, Bar};
use futures::future::BoxFuture;
use rust_decimal::Decimal;

/// What a provider can serve; a request names what it needs and the selector skips providers
/// that cannot serve it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Capability {
    /// End-of-day bars over a range of days.
    DailyBars,
    /// The latest trade or quote.
    LatestQuote,
    /// Intraday aggregates (minute bars).
    Intraday,
    /// Splits and dividends.
    CorporateActions,
    /// Company fundamentals (earnings, book value, …).
    Fundamentals,
}

impl Capability {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DailyBars => "daily_bars",
            Self::LatestQuote => "latest_quote",
            Self::Intraday => "intraday",
            Self::CorporateActions => "corporate_actions",
            Self::Fundamentals => "fundamentals",
        }
    }
}

/// A vendor's API key: kept out of every `Debug` and `Display` (logs, errors, panics), read
/// only where a request is built ([`ApiKey::expose`]).
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: impl Into<String>) -> Self {
        Self(key.into())
    }

    /// The key itself, for the request that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// An intraday aggregate: the trading of one window of minutes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct IntradayBar {
    /// The start of the window.
    pub at: DateTime<Utc>,
    /// The window's open, high, low, close, volume and VWAP; `date` is the window's day in New
    /// York, `source` the provider's name; never an adjusted close.
    #[serde(flatten)]
    pub bar: Bar,
}

/// The lengths of intraday window a request may ask for, in minutes (an hour at most: Alpaca's
/// `{n}Min` timeframe takes 1 to 59, and 60 is its `1Hour`).
pub const INTRADAY_MINUTES: std::ops::RangeInclusive<u32> = 1..=60;

/// The latest quote of a symbol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quote {
    pub symbol: String,
    pub at: DateTime<Utc>,
    pub last: Option<Decimal>,
    pub bid: Option<Decimal>,
    pub ask: Option<Decimal>,
    pub size: Option<Decimal>,
    /// The provider it came from.
    pub source: String,
}

impl Quote {
    /// A quote of the best bid and ask.
    pub fn bid_ask(symbol: String, at: DateTime<Utc>, bid: Decimal, ask: Decimal, source: &str) -> Self {
        Self { symbol, at, last: None, bid: Some(bid), ask: Some(ask), size: None, source: source.to_owned() }
    }

    /// A trade (or a bar's close: no size) as the last price.
    pub fn trade(symbol: String, at: DateTime<Utc>, price: Decimal, size: Option<Decimal>, source: &str) -> Self {
        Self { symbol, at, last: Some(price), bid: None, ask: None, size, source: source.to_owned() }
    }
}

/// Where a live stream's quotes go (the quote hub): each frame's quotes as one batch, in the
/// order the vendor sent them.
pub trait QuoteSink: Send + Sync {
    fn deliver(&self, batch: Vec<Quote>);
}

/// A split or a dividend a provider reports: a suggestion for a household's ledger, never
/// booked silently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorporateAction {
    /// `new` shares for every `old` (2:1, 1:10), effective on `date`.
    Split { symbol: String, date: NaiveDate, new: Decimal, old: Decimal, source: String },
    /// A cash dividend per share, by its ex-date.
    Dividend { symbol: String, ex_date: NaiveDate, amount: Decimal, source: String },
}

/// How a call to a provider failed. The breaker counts every kind but `NotFound` and
/// `Unsupported` as a failure of the provider; the selector moves on to the next provider.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// The vendor's rate limit (HTTP 429, or its own "call frequency" answer), with the wait it
    /// asked for (`Retry-After`) when it gave one.
    #[error("{provider}: rate limited{}", retry_after.map(|d| format!(", retry after {} s", d.as_secs())).unwrap_or_default())]
    RateLimited { provider: String, retry_after: Option<Duration> },
    /// The key was refused (missing, invalid, or without the plan the call needs).
    #[error("{provider}: the API key was refused: {message}")]
    Unauthorized { provider: String, message: String },
    /// The vendor knows nothing for this symbol or range (an empty result, an unknown symbol).
    #[error("{provider}: no data: {message}")]
    NotFound { provider: String, message: String },
    /// The vendor could not answer: a connection error, a timeout, a 5xx.
    #[error("{provider}: unavailable: {message}")]
    Unavailable { provider: String, message: String },
    /// The vendor answered with a body that is not its documented format.
    #[error("{provider}: unreadable answer: {message}")]
    Invalid { provider: String, message: String },
    /// The provider does not offer this capability.
    #[error("{provider}: does not serve {}", capability.as_str())]
    Unsupported { provider: String, capability: Capability },
}

impl ProviderError {
    /// Whether the provider itself failed (what the breaker counts), as opposed to having
    /// nothing for this request.
    pub fn is_failure(&self) -> bool {
        !matches!(self, Self::NotFound { .. } | Self::Unsupported { .. })
    }
}

/// A market-data vendor behind its documented API. Bars come back oldest first, the prices of
/// [`Provider::adjustment`] in `open`/`high`/`low`/`close` (the prices traded, for every
/// adapter that can give them) with the vendor's split- and dividend-adjusted close in
/// `adj_close` where it gives one, and `source` set to the provider's name.
pub trait Provider: Send + Sync {
    /// The configured name (`polygon`, `stooq-backup`), which every bar it gives records as
    /// its `source`.
    fn name(&self) -> &str;

    fn capabilities(&self) -> &[Capability];

    /// What the bars' prices are: the prices traded ([`Adjustment::Raw`]), or a history
    /// adjusted for splits that the selector brings back to the prices traded before anything
    /// compares or records them (`Selector::daily_bars`).
    fn adjustment(&self) -> Adjustment {
        Adjustment::Raw
    }

    /// Daily bars of `symbol` for the days `from` to `to`, both included.
    fn daily_bars<'a>(
        &'a self,
        symbol: &'a str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> BoxFuture<'a, Result<Vec<Bar>, ProviderError>>;

    /// The latest quote of `symbol`.
    fn latest_quote<'a>(&'a self, symbol: &'a str) -> BoxFuture<'a, Result<Quote, ProviderError>> {
        let _ = symbol;
        Box::pin(async move {
            Err(ProviderError::Unsupported { provider: self.name().to_owned(), capability: Capability::LatestQuote })
        })
    }

    /// `minutes`-minute aggregates (within [`INTRADAY_MINUTES`]) of `symbol` on the New York
    /// day `date`, at the prices traded, oldest first, `source` set to the provider's name:
    /// every window the vendor has that day, the pre-market and after-hours ones included.
    fn intraday_bars<'a>(
        &'a self,
        symbol: &'a str,
        date: NaiveDate,
        minutes: u32,
    ) -> BoxFuture<'a, Result<Vec<IntradayBar>, ProviderError>> {
        let _ = (symbol, date, minutes);
        Box::pin(async move {
            Err(ProviderError::Unsupported { provider: self.name().to_owned(), capability: Capability::Intraday })
        })
    }

    /// Splits and dividends of `symbol` between `from` and `to`.
    fn corporate_actions<'a>(
        &'a self,
        symbol: &'a str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> BoxFuture<'a, Result<Vec<CorporateAction>, ProviderError>> {
        let _ = (symbol, from, to);
        Box::pin(async move {
            Err(ProviderError::Unsupported {
                provider: self.name().to_owned(),
                capability: Capability::CorporateActions,
            })
        })
    }

    /// The fundamentals of `symbol`: its latest fiscal period's statement figures and its
    /// per-share figures, `source` set to the provider's name. The price is usually left out
    /// ([`Fundamentals::price`] `None`): the caller sets it (cairn's latest close) before
    /// computing the ratios with [`domain::fundamentals::ratios`].
    fn fundamentals<'a>(&'a self, symbol: &'a str) -> BoxFuture<'a, Result<Fundamentals, ProviderError>> {
        let _ = symbol;
        Box::pin(async move {
            Err(ProviderError::Unsupported { provider: self.name().to_owned(), capability: Capability::Fundamentals })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_never_prints() {
        let key = ApiKey::new("sk-live-123456");
        assert_eq!(format!("{key:?} {key}"), "ApiKey(***) ***");
        assert_eq!(key.expose(), "sk-live-123456");
    }
}
