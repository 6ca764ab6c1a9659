//! Yahoo Finance's chart API, the JSON behind Yahoo's own charts. Yahoo publishes no
//! reference for it; the format below is the one its web pages and the widely used clients
//! read (e.g. yfinance, <https://github.com/ranaroussi/yfinance/blob/main/yfinance/scrapers/history.py>;
//! the retired public docs were <https://developer.yahoo.com/api/>). No key; Yahoo refuses
//! requests without a browser-like `User-Agent`, so give the shared client one.
//!
//! **Request**: `GET {base}/v8/finance/chart/{symbol}?period1={unix s}&period2={unix s}&interval=1d&events=div,splits`.
//! The symbol goes as Yahoo spells it (`AAPL`, `BRK-B`, `VOD.L`, `^GSPC`), except a cairn
//! currency pair (`EUR.USD`) which becomes Yahoo's `EURUSD=X`. `period1` is midnight UTC of
//! the day before `from` and `period2` midnight UTC two days after `to`, so that sessions
//! starting on the previous UTC day (Sydney, Tokyo) are included; the bars are then kept by
//! their exchange date. For bars, `period2` is two days after today when `to` is earlier, so
//! the answer names every split since `from` (see **Adjustment**).
//!
//! **Adjustment**: Yahoo's `open`…`close` are adjusted for splits, every day before a split
//! divided by its ratio as of today ("Close price adjusted for splits", the footnote of
//! Yahoo's historical data pages); `adjclose` is also adjusted for dividends. The adapter
//! brings the bars back to the prices traded with the splits of the same answer
//! (`domain::market::unadjust_splits`), so its bars are `Adjustment::Raw` like every other
//! adapter's.
//!
//! **Body**: `{"chart":{"result":[{"meta":{…},"timestamp":[…],"indicators":{"quote":[{"open":[…],"high":[…],"low":[…],"close":[…],"volume":[…]}],"adjclose":[{"adjclose":[…]}]},"events":{"dividends":{…},"splits":{…}}}],"error":null}}`.
//! The arrays run parallel to `timestamp`. A day whose open, high, low or close is `null` has
//! no bar (skipped); a `null` volume is 0. `adjclose` (split- and dividend-adjusted) goes to
//! `adj_close`; no VWAP. Should a date appear twice (the live session's bar next to the day's),
//! the later one is kept.
//!
//! **Time zone**: each timestamp is the session's start in Unix seconds; its date is the
//! calendar date in `meta.exchangeTimezoneName` (IANA, e.g. `America/New_York`,
//! `Australia/Sydney`), or, where that name is unknown, at `meta.gmtoffset` seconds from UTC.
//!
//! **Numbers**: Yahoo keeps prices as binary32 and prints them widened to binary64, so 185.64
//! arrives as `185.63999938964844`; a number that is exactly such a widened binary32 is read as
//! the shortest decimal that rounds to it (`185.64`), any other number exactly as written.
//!
//! **Corporate actions** (same request): `events.splits` `{date, numerator, denominator}` is a
//! split of `numerator` new for `denominator` old; `events.dividends` `{amount, date}` a cash
//! dividend with that ex-date; dates in the exchange's time zone as above.
//!
//! **Latest quote**: `GET {base}/v8/finance/chart/{symbol}?range=1d&interval=1d`:
//! `meta.regularMarketPrice` at `meta.regularMarketTime`.
//!
//! **Errors**: `{"chart":{"result":null,"error":{"code":"Not Found","description":"No data found, symbol may be delisted"}}}`
//! (with HTTP 404, or 200) is `NotFound`, as is a result without timestamps; an error coded
//! `Unauthorized` (Yahoo's "Invalid Crumb"/"Invalid Cookie", HTTP 401) is `Unauthorized`;
//! another error, a body that is not this JSON, arrays of the wrong length or a bar that
//! fails validation is `Invalid`; HTTP 429 is `RateLimited`; other statuses and transport
//! failures map as every adapter's do (see `providers/http.rs`).

use std::collections::BTreeMap;
use std::str::FromStr;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use domain::market::{unadjust_splits, Bar, Split};
use reqwest::Url;
use rust_decimal::Decimal;
use serde::de::Deserializer;
use serde::Deserialize;

use super::http::{with_timeout, Http};
use super::num::{decimal, from_binary32, from_text, Int, Num};
use super::{last_price, Vendor};
use crate::market::provider::{Capability, CorporateAction, ProviderError, Quote};

/// Yahoo Finance's chart API.
#[derive(Debug, Clone)]
pub struct Yahoo {
    http: Http,
}

/// A Yahoo price: exact, or the shortest decimal of a widened binary32 (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Price(Decimal);

impl<'de> Deserialize<'de> for Price {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        from_text(d, "a number", |text| decimal(text).map(|exact| Price(from_binary32(text, exact))))
    }
}

#[derive(Deserialize)]
struct Envelope {
    chart: Chart,
}

#[derive(Deserialize)]
struct Chart {
    result: Option<Vec<Series>>,
    error: Option<ChartError>,
}

#[derive(Deserialize)]
struct ChartError {
    code: Option<String>,
    description: Option<String>,
}

#[derive(Deserialize)]
struct Series {
    meta: Meta,
    #[serde(default)]
    timestamp: Vec<Int>,
    indicators: Option<Indicators>,
    #[serde(default)]
    events: Events,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Meta {
    exchange_timezone_name: Option<String>,
    gmtoffset: Option<Int>,
    regular_market_price: Option<Price>,
    regular_market_time: Option<Int>,
}

#[derive(Deserialize)]
struct Indicators {
    #[serde(default)]
    quote: Vec<Quotes>,
    #[serde(default)]
    adjclose: Vec<AdjCloses>,
}

#[derive(Deserialize, Default)]
struct Quotes {
    #[serde(default)]
    open: Vec<Option<Price>>,
    #[serde(default)]
    high: Vec<Option<Price>>,
    #[serde(default)]
    low: Vec<Option<Price>>,
    #[serde(default)]
    close: Vec<Option<Price>>,
    #[serde(default)]
    volume: Vec<Option<Num>>,
}

#[derive(Deserialize)]
struct AdjCloses {
    #[serde(default)]
    adjclose: Vec<Option<Price>>,
}

#[derive(Deserialize, Default)]
struct Events {
    #[serde(default)]
    dividends: BTreeMap<String, Dividend>,
    #[serde(default)]
    splits: BTreeMap<String, SplitEvent>,
}

#[derive(Deserialize)]
struct Dividend {
    amount: Price,
    date: Int,
}

#[derive(Deserialize)]
struct SplitEvent {
    date: Int,
    numerator: Num,
    denominator: Num,
}

/// The exchange's clock.
#[derive(Debug, Clone, Copy)]
enum Zone {
    Named(Tz),
    Fixed(FixedOffset),
}

impl Zone {
    fn date(self, unix: i64) -> Option<NaiveDate> {
        let at = DateTime::from_timestamp(unix, 0)?;
        Some(match self {
            Self::Named(tz) => at.with_timezone(&tz).date_naive(),
            Self::Fixed(offset) => at.with_timezone(&offset).date_naive(),
        })
    }
}

with_timeout!(Yahoo);

impl Yahoo {
    /// `name` is the `source` of its bars; `base_url` is `https://query1.finance.yahoo.com` in
    /// production.
    pub fn new(name: impl Into<String>, base_url: Url, client: reqwest::Client) -> Self {
        Self { http: Http::new(name, base_url, client) }
    }

    /// Yahoo's name for a cairn symbol: a currency pair `EUR.USD` is `EURUSD=X`; anything else
    /// goes as given.
    pub fn symbol(symbol: &str) -> String {
        let upper = symbol.trim().to_ascii_uppercase();
        match domain::fx::currency_of_pair(&upper) {
            Some(currency) => format!("{currency}USD=X"),
            None => upper,
        }
    }

    async fn chart(&self, symbol: &str, query: &[(&str, &str)]) -> Result<Series, ProviderError> {
        let url = self.http.url(&["v8", "finance", "chart", &Self::symbol(symbol)], query)?;
        let body = self.http.get(url, &[], &[]).await?;
        let envelope: Envelope =
            serde_json::from_slice(&body).map_err(|e| self.http.invalid(format!("not Yahoo's chart JSON: {e}")))?;
        if let Some(error) = envelope.chart.error {
            let code = error.code.unwrap_or_default();
            let message = format!("{code}: {}", error.description.unwrap_or_default());
            return Err(match code.as_str() {
                "Not Found" => self.http.not_found(message),
                "Unauthorized" => self.http.unauthorized(message),
                _ => self.http.invalid(message),
            });
        }
        envelope
            .chart
            .result
            .and_then(|r| r.into_iter().next())
            .ok_or_else(|| self.http.not_found("the chart has no result"))
    }

    /// The chart from the day before `from` to two days after `to` (see the module doc).
    async fn range(&self, symbol: &str, from: NaiveDate, to: NaiveDate) -> Result<Series, ProviderError> {
        let unix = |d: NaiveDate| Utc.from_utc_datetime(&d.and_time(NaiveTime::MIN)).timestamp().to_string();
        let period1 = unix(from.pred_opt().unwrap_or(from));
        let period2 = unix(to.succ_opt().and_then(|d| d.succ_opt()).unwrap_or(to));
        self.chart(
            symbol,
            &[("period1", &period1), ("period2", &period2), ("interval", "1d"), ("events", "div,splits")],
        )
        .await
    }

    fn zone(&self, meta: &Meta) -> Result<Zone, ProviderError> {
        if let Some(tz) = meta.exchange_timezone_name.as_deref().and_then(|n| Tz::from_str(n).ok()) {
            return Ok(Zone::Named(tz));
        }
        meta.gmtoffset
            .and_then(|Int(s)| i32::try_from(s).ok())
            .and_then(FixedOffset::east_opt)
            .map(Zone::Fixed)
            .ok_or_else(|| {
                self.http.invalid(format!(
                    "the chart names no known time zone ({:?}) and no gmtoffset",
                    meta.exchange_timezone_name
                ))
            })
    }

    fn date(&self, zone: Zone, unix: i64) -> Result<NaiveDate, ProviderError> {
        zone.date(unix).ok_or_else(|| self.http.invalid(format!("timestamp {unix} is out of range")))
    }

    /// The answer's splits.
    fn splits_of(&self, series: &Series, zone: Zone) -> Result<Vec<Split>, ProviderError> {
        let mut splits = Vec::new();
        for split in series.events.splits.values() {
            if split.numerator.0 <= Decimal::ZERO || split.denominator.0 <= Decimal::ZERO {
                return Err(self.http.invalid(format!(
                    "split {}/{} is not a ratio of positive numbers",
                    split.numerator.0, split.denominator.0
                )));
            }
            splits.push(Split {
                date: self.date(zone, split.date.0)?,
                new: split.numerator.0.normalize(),
                old: split.denominator.0.normalize(),
            });
        }
        Ok(splits)
    }

    fn bars_of(&self, series: Series) -> Result<Vec<Bar>, ProviderError> {
        let zone = self.zone(&series.meta)?;
        let n = series.timestamp.len();
        let Some(mut indicators) = series.indicators else {
            return Ok(Vec::new());
        };
        let quotes = if indicators.quote.is_empty() { Quotes::default() } else { indicators.quote.swap_remove(0) };
        let adj = indicators.adjclose.into_iter().next().map(|a| a.adjclose);
        for (name, len) in [
            ("open", quotes.open.len()),
            ("high", quotes.high.len()),
            ("low", quotes.low.len()),
            ("close", quotes.close.len()),
            ("volume", quotes.volume.len()),
            ("adjclose", adj.as_ref().map_or(n, Vec::len)),
        ] {
            if len != n {
                return Err(self.http.invalid(format!("{name} has {len} values for {n} timestamps")));
            }
        }
        let mut by_date = BTreeMap::new();
        for (i, Int(unix)) in series.timestamp.iter().enumerate() {
            let (Some(open), Some(high), Some(low), Some(close)) =
                (quotes.open[i], quotes.high[i], quotes.low[i], quotes.close[i])
            else {
                continue;
            };
            let date = self.date(zone, *unix)?;
            let bar = Bar {
                date,
                open: open.0,
                high: high.0,
                low: low.0,
                close: close.0,
                volume: quotes.volume[i].map_or(Decimal::ZERO, |v| v.0),
                adj_close: adj.as_ref().and_then(|a| a[i]).map(|p| p.0),
                vwap: None,
                source: None,
            };
            by_date.insert(date, bar);
        }
        Ok(by_date.into_values().collect())
    }
}

impl Vendor for Yahoo {
    const SERVES: &'static [Capability] =
        &[Capability::DailyBars, Capability::CorporateActions, Capability::LatestQuote];

    fn source(&self) -> &str {
        &self.http.name
    }

    async fn bars(&self, symbol: &str, from: NaiveDate, to: NaiveDate) -> Result<Vec<Bar>, ProviderError> {
        // Every split since `from` (see the module doc): the answer runs to today.
        let series = self.range(symbol, from, to.max(Utc::now().date_naive())).await?;
        let zone = self.zone(&series.meta)?;
        let splits = self.splits_of(&series, zone)?;
        let mut bars = self.bars_of(series)?;
        unadjust_splits(&mut bars, &splits);
        Ok(bars)
    }

    async fn actions(
        &self,
        symbol: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<CorporateAction>, ProviderError> {
        let series = self.range(symbol, from, to).await?;
        let zone = self.zone(&series.meta)?;
        let source = &self.http.name;
        let mut actions = Vec::new();
        for Split { date, new, old } in self.splits_of(&series, zone)? {
            actions.push(CorporateAction::Split { symbol: symbol.to_owned(), date, new, old, source: source.clone() });
        }
        for dividend in series.events.dividends.values() {
            actions.push(CorporateAction::Dividend {
                symbol: symbol.to_owned(),
                ex_date: self.date(zone, dividend.date.0)?,
                amount: dividend.amount.0.normalize(),
                source: source.clone(),
            });
        }
        Ok(actions)
    }

    async fn quote(&self, symbol: &str) -> Result<Quote, ProviderError> {
        let series = self.chart(symbol, &[("range", "1d"), ("interval", "1d")]).await?;
        let (Some(Price(last)), Some(Int(time))) = (series.meta.regular_market_price, series.meta.regular_market_time)
        else {
            return Err(self.http.not_found("the chart has no regularMarketPrice and regularMarketTime"));
        };
        let at = DateTime::from_timestamp(time, 0)
            .ok_or_else(|| self.http.invalid(format!("regularMarketTime {time} is out of range")))?;
        Ok(last_price(&self.http.name, symbol, at, last, None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::provider::Provider;
    use crate::market::providers::testing::{acme_actions, bar, d, day, fixture, serve, Reply, Subject};

    fn yahoo(base: Url) -> Yahoo {
        Yahoo::new("yahoo", base, reqwest::Client::new())
    }

    const YAHOO: Subject<Yahoo> =
        Subject { at: yahoo, symbol: "ACME", from: "2024-03-07", to: "2024-03-13", secrets: &[] };

    /// A bar whose adjusted close is its close.
    fn unadjusted(date: &str, ohlcv: [&str; 5]) -> Bar {
        Bar { adj_close: Some(d(ohlcv[3])), ..bar("yahoo", date, ohlcv) }
    }

    #[tokio::test]
    async fn bars_are_read_by_exchange_date_skipping_null_days_with_binary32_prices_recovered() {
        let server = serve(|_| Reply::ok(fixture("yahoo_acme.json"))).await;
        let bars = yahoo(server.base.clone()).daily_bars("ACME", day("2024-03-08"), day("2024-03-12")).await.unwrap();
        assert_eq!(
            bars,
            vec![
                unadjusted("2024-03-08", ["102.4", "104.15", "102.1", "103.8", "4988000"]),
                // 2024-03-11 is all nulls: no bar. 13:30 UTC after the DST change is 09:30 EDT.
                unadjusted("2024-03-12", ["103.95", "105.2", "103.5", "104.96", "6011200"]),
            ]
        );
        let seen = server.seen();
        assert_eq!(seen[0].path, "/v8/finance/chart/ACME");
        // period1: 2024-03-07T00:00Z; period2: two days after today, for every split since.
        let today = Utc::now().date_naive();
        let period2 = (today + chrono::Days::new(2)).and_time(NaiveTime::MIN).and_utc().timestamp().to_string();
        assert_eq!(
            (seen[0].q("period1"), seen[0].q("period2"), seen[0].q("interval"), seen[0].q("events")),
            (Some("1709769600"), Some(period2.as_str()), Some("1d"), Some("div,splits"))
        );
        // Corporate actions ask the range itself: 2024-03-14T00:00Z.
        yahoo(server.base.clone()).corporate_actions("ACME", day("2024-03-08"), day("2024-03-12")).await.unwrap();
        assert_eq!(server.seen()[1].q("period2"), Some("1710374400"));
    }

    #[tokio::test]
    async fn split_adjusted_prices_come_back_as_traded_with_the_answers_splits() {
        // Two sessions at 13:30 UTC (09:30 New York) and a 4-for-1 split on the second:
        // Yahoo shows the first day divided by 4, its volume times 4.
        let body = r#"{"chart":{"result":[{"meta":{"exchangeTimezoneName":"America/New_York"},
            "timestamp":[1598621400,1598880600],
            "events":{"splits":{"1598880600":{"date":1598880600,"numerator":4.0,"denominator":1.0,"splitRatio":"4:1"}}},
            "indicators":{"quote":[{"open":[126.0125,127.58],"high":[126.4425,131.0],"low":[124.5775,126.0],"close":[124.8075,129.04],"volume":[187629916,225702700]}],
            "adjclose":[{"adjclose":[122.5,126.7]}]}}],"error":null}}"#;
        let server = serve(move |_| Reply::ok(body)).await;
        let bars = yahoo(server.base.clone()).daily_bars("AAPL", day("2020-08-28"), day("2020-08-31")).await.unwrap();
        assert_eq!(
            bars,
            vec![
                Bar {
                    adj_close: Some(d("122.5")),
                    ..bar("yahoo", "2020-08-28", ["504.05", "505.77", "498.31", "499.23", "46907479"])
                },
                Bar {
                    adj_close: Some(d("126.7")),
                    ..bar("yahoo", "2020-08-31", ["127.58", "131", "126", "129.04", "225702700"])
                },
            ]
        );
    }

    #[tokio::test]
    async fn a_session_starting_on_the_previous_utc_day_has_the_exchange_date() {
        // 2024-03-03T23:00:00Z is 10:00 on Monday 2024-03-04 in Sydney (AEDT, UTC+11).
        let body = r#"{"chart":{"result":[{"meta":{"currency":"AUD","symbol":"ACM.AX","gmtoffset":39600,"exchangeTimezoneName":"Australia/Sydney"},
            "timestamp":[1709506800],"indicators":{"quote":[{"open":[5.5],"high":[5.62],"low":[5.41],"close":[5.58],"volume":[1021300]}]}}],"error":null}}"#;
        let server = serve(move |_| Reply::ok(body)).await;
        let bars = yahoo(server.base.clone()).daily_bars("ACM.AX", day("2024-03-04"), day("2024-03-04")).await.unwrap();
        assert_eq!(bars.len(), 1);
        assert_eq!((bars[0].date, bars[0].close, bars[0].adj_close), (day("2024-03-04"), d("5.58"), None));
        // An unknown zone name falls back to gmtoffset.
        let body = body.replace("Australia/Sydney", "Mars/Olympus");
        let server = serve(move |_| Reply::ok(body.clone())).await;
        let bars = yahoo(server.base.clone()).daily_bars("ACM.AX", day("2024-03-04"), day("2024-03-04")).await.unwrap();
        assert_eq!(bars[0].date, day("2024-03-04"));
    }

    #[tokio::test]
    async fn splits_and_dividends_come_from_the_events() {
        let server = serve(|_| Reply::ok(fixture("yahoo_acme.json"))).await;
        let actions =
            yahoo(server.base.clone()).corporate_actions("ACME", day("2024-03-01"), day("2024-03-31")).await.unwrap();
        assert_eq!(actions, acme_actions("yahoo"));
    }

    #[tokio::test]
    async fn the_latest_quote_is_the_regular_market_price() {
        let server = serve(|_| Reply::ok(fixture("yahoo_acme.json"))).await;
        let quote = yahoo(server.base.clone()).latest_quote("EUR.USD").await.unwrap();
        assert_eq!(quote.last, Some(d("104.12")));
        assert_eq!(quote.at, DateTime::parse_from_rfc3339("2024-03-13T20:00:00Z").unwrap());
        let seen = server.seen();
        assert_eq!(seen[0].path, "/v8/finance/chart/EURUSD=X");
        assert_eq!((seen[0].q("range"), seen[0].q("interval")), (Some("1d"), Some("1d")));
    }

    #[tokio::test]
    async fn not_found_errors_and_empty_results_are_not_found() {
        let body = r#"{"chart":{"result":null,"error":{"code":"Not Found","description":"No data found, symbol may be delisted"}}}"#;
        for status in [404, 200] {
            let err = YAHOO.answer(Reply::new(status, body)).await;
            assert!(
                matches!(&err, ProviderError::NotFound { message, .. } if message.contains("symbol may be delisted")),
                "{err}"
            );
        }
        let empty = r#"{"chart":{"result":[{"meta":{"exchangeTimezoneName":"America/New_York"},"indicators":{"quote":[{}],"adjclose":[{}]}}],"error":null}}"#;
        assert!(matches!(YAHOO.answer(Reply::ok(empty)).await, ProviderError::NotFound { .. }));
    }

    #[tokio::test]
    async fn a_refused_crumb_is_unauthorized_and_429_rate_limited() {
        let body = r#"{"finance":{"result":null,"error":{"code":"Unauthorized","description":"Invalid Crumb"}}}"#;
        let err = YAHOO.answer(Reply::new(401, body)).await;
        assert!(
            matches!(&err, ProviderError::Unauthorized { message, .. } if message.contains("Invalid Crumb")),
            "{err}"
        );
        YAHOO.assert_rate_limited("Too Many Requests").await;
    }

    #[tokio::test]
    async fn malformed_bodies_are_invalid() {
        let message = YAHOO.invalid(Reply::ok("<!doctype html><title>Yahoo</title>")).await;
        assert!(message.starts_with("not Yahoo's chart JSON"), "{message}");
        let short = fixture("yahoo_acme.json").replace("\"volume\":[5120350,", "\"volume\":[");
        let message = YAHOO.invalid(Reply::ok(short)).await;
        assert!(message == "volume has 4 values for 5 timestamps", "{message}");
        let text = fixture("yahoo_acme.json").replace("102.30999755859375,103.8", "\"abc\",103.8");
        YAHOO.invalid(Reply::ok(text)).await;
    }

    #[tokio::test]
    async fn server_errors_and_refused_connections_are_unavailable() {
        YAHOO.assert_unavailable(500, "").await;
    }
}
