//! Alpaca's market data API v2: historical bars
//! (<https://docs.alpaca.markets/reference/stockbarsingle-1>) and the latest trade
//! (<https://docs.alpaca.markets/reference/stocklatesttradesingle-1>).
//!
//! **Authentication**: two secrets, the key id and the secret key, in the headers
//! `APCA-API-KEY-ID` and `APCA-API-SECRET-KEY`
//! (<https://docs.alpaca.markets/docs/authentication-1>); without both every call is
//! `Unauthorized` without a request.
//!
//! **Request**: `GET {base}/v2/stocks/{SYMBOL}/bars?timeframe=1Day&start={RFC 3339}&end={RFC 3339}&adjustment=raw&feed=iex|sip|delayed_sip&limit=10000`,
//! then `&page_token={next_page_token}` while the answer has one. `start` is midnight
//! America/New_York of `from` and `end` the last second of `to` there, both written in UTC
//! (`2024-03-04T05:00:00Z`). `adjustment=raw`: traded prices, as the
//! [`Provider`](crate::market::Provider) contract wants; no adjusted close.
//!
//! **Body**: `{"bars":[{"t":"2024-01-02T05:00:00Z","o":…,"h":…,"l":…,"c":…,"v":…,"n":…,"vw":…}],"symbol":"AAPL","next_page_token":null}`:
//! `o`/`h`/`l`/`c` prices, `v` volume, `vw` VWAP (→ `vwap`), `n` (trades) not kept.
//!
//! **Time zone**: a daily bar's `t` is midnight US/Eastern in UTC (05:00Z in winter, 04:00Z in
//! summer), so its date is `t`'s date in America/New_York.
//!
//! **Intraday aggregates**: the same request with `timeframe={n}Min` (`1Hour` for 60) from
//! midnight to the last second of the day in New York: one bar per window that had trades,
//! `t` the window's start (pre-market and after-hours included).
//!
//! **Latest quote**: `GET {base}/v2/stocks/{SYMBOL}/trades/latest?feed=…`:
//! `{"symbol":"AAPL","trade":{"t":…,"p":…,"s":…,…}}` → `last` = `p`, `size` = `s`, at `t`.
//!
//! **Errors**: `"bars": []` or `null` on the first page (an unknown symbol, a range without
//! trading) is `NotFound`; HTTP 401 and 403 (`{"message":"forbidden."}`) are `Unauthorized`;
//! 422 (`{"message":"invalid start"}`: parameters refused) and 400 are `Invalid`, as is a
//! body that is not this JSON or a bar that fails validation; 429 is `RateLimited`; other
//! statuses and transport failures map as every adapter's do (see `providers/http.rs`).

use chrono::{DateTime, NaiveDate, NaiveTime, SecondsFormat, TimeZone, Utc};
use chrono_tz::America::New_York;
use domain::market::Bar;
use reqwest::header::HeaderName;
use reqwest::Url;
use serde::Deserialize;

use super::http::{with_timeout, Http, Page};
use super::{new_york_day, Aggregate, Trade, Vendor};
use crate::market::provider::{ApiKey, Capability, IntradayBar, ProviderError, Quote};

/// Which of Alpaca's feeds to read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AlpacaFeed {
    /// The IEX exchange only (the free plan).
    #[default]
    Iex,
    /// All US exchanges (a paid plan).
    Sip,
    /// All US exchanges, 15 minutes late.
    DelayedSip,
}

impl AlpacaFeed {
    fn as_str(self) -> &'static str {
        match self {
            Self::Iex => "iex",
            Self::Sip => "sip",
            Self::DelayedSip => "delayed_sip",
        }
    }
}

/// Alpaca's market data v2.
#[derive(Debug, Clone)]
pub struct Alpaca {
    http: Http,
    key_id: Option<ApiKey>,
    secret: Option<ApiKey>,
    feed: AlpacaFeed,
}

#[derive(Deserialize)]
struct Bars {
    #[serde(default)]
    bars: Option<Vec<Aggregate<String>>>,
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
struct LatestTrade {
    trade: Option<Trade<String>>,
}

with_timeout!(Alpaca);

impl Alpaca {
    /// `name` is the `source` of its bars; `base_url` is `https://data.alpaca.markets` in
    /// production; `key_id` and `secret` are the two halves of the API key.
    pub fn new(
        name: impl Into<String>,
        base_url: Url,
        key_id: Option<ApiKey>,
        secret: Option<ApiKey>,
        client: reqwest::Client,
    ) -> Self {
        Self { http: Http::new(name, base_url, client), key_id, secret, feed: AlpacaFeed::Iex }
    }

    /// The feed to read (IEX unless set).
    pub fn with_feed(mut self, feed: AlpacaFeed) -> Self {
        self.feed = feed;
        self
    }

    async fn get(&self, url: Url) -> Result<Vec<u8>, ProviderError> {
        let (Some(key_id), Some(secret)) = (&self.key_id, &self.secret) else {
            return Err(self.http.unauthorized("the key id and the secret key are not both configured"));
        };
        let headers = [
            (HeaderName::from_static("apca-api-key-id"), key_id),
            (HeaderName::from_static("apca-api-secret-key"), secret),
        ];
        self.http.get(url, &headers, &[key_id, secret]).await
    }

    fn time(&self, t: &str) -> Result<DateTime<Utc>, ProviderError> {
        DateTime::parse_from_rfc3339(t)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| self.http.invalid(format!("t {t:?} is not an RFC 3339 time")))
    }

    /// One page of bars from `url`, each made an item by `item` with its `t`.
    async fn page<T>(
        &self,
        url: Url,
        item: impl Fn(&Aggregate<String>, DateTime<Utc>) -> T,
    ) -> Result<Page<T>, ProviderError> {
        let body = self.get(url).await?;
        let answer: Bars =
            serde_json::from_slice(&body).map_err(|e| self.http.invalid(format!("not Alpaca's bars JSON: {e}")))?;
        let items = answer
            .bars
            .unwrap_or_default()
            .iter()
            .map(|b| Ok(item(b, self.time(&b.t)?)))
            .collect::<Result<_, ProviderError>>()?;
        Ok(Page { items, next: answer.next_page_token })
    }

    /// Every bar of `symbol` in windows of `timeframe` (`1Day`, `5Min`) from midnight of
    /// `from` to the last second of `to` in New York, every page followed.
    async fn bars_of<T>(
        &self,
        symbol: &str,
        timeframe: &str,
        from: NaiveDate,
        to: NaiveDate,
        item: impl Fn(&Aggregate<String>, DateTime<Utc>) -> T + Copy,
    ) -> Result<Vec<T>, ProviderError> {
        let ticker = symbol.trim().to_ascii_uppercase();
        let start = new_york(from, NaiveTime::MIN);
        let end = new_york(to, NaiveTime::from_hms_opt(23, 59, 59).unwrap_or(NaiveTime::MIN));
        let nothing = || format!("no {timeframe} bars for {ticker} from {from} to {to}");
        self.http
            .pages("next_page_token", nothing, |token| {
                let mut query = vec![
                    ("timeframe", timeframe),
                    ("start", start.as_str()),
                    ("end", end.as_str()),
                    ("adjustment", "raw"),
                    ("feed", self.feed.as_str()),
                    ("limit", "10000"),
                ];
                if let Some(token) = &token {
                    query.push(("page_token", token));
                }
                let url = self.http.url(&["v2", "stocks", &ticker, "bars"], &query);
                async move { self.page(url?, item).await }
            })
            .await
    }
}

/// `time` on `date` in New York, in UTC, as RFC 3339.
fn new_york(date: NaiveDate, time: NaiveTime) -> String {
    let local = New_York.from_local_datetime(&date.and_time(time));
    // Clocks change at 02:00, so midnight and 23:59:59 always exist and are never doubled.
    let at = local.earliest().map_or_else(|| Utc.from_utc_datetime(&date.and_time(time)), |t| t.with_timezone(&Utc));
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

impl Vendor for Alpaca {
    const SERVES: &'static [Capability] = &[Capability::DailyBars, Capability::Intraday, Capability::LatestQuote];

    fn source(&self) -> &str {
        &self.http.name
    }

    async fn bars(&self, symbol: &str, from: NaiveDate, to: NaiveDate) -> Result<Vec<Bar>, ProviderError> {
        self.bars_of(symbol, "1Day", from, to, |b, t| b.bar(new_york_day(t))).await
    }

    async fn intraday(&self, symbol: &str, date: NaiveDate, minutes: u32) -> Result<Vec<IntradayBar>, ProviderError> {
        // Alpaca's timeframes: 1Min to 59Min, then hours.
        let timeframe = if minutes == 60 { "1Hour".to_owned() } else { format!("{minutes}Min") };
        self.bars_of(symbol, &timeframe, date, date, |b, t| b.intraday(t)).await
    }

    async fn quote(&self, symbol: &str) -> Result<Quote, ProviderError> {
        let ticker = symbol.trim().to_ascii_uppercase();
        let url = self.http.url(&["v2", "stocks", &ticker, "trades", "latest"], &[("feed", self.feed.as_str())])?;
        let body = self.get(url).await?;
        let latest: LatestTrade = serde_json::from_slice(&body)
            .map_err(|e| self.http.invalid(format!("not Alpaca's latest trade JSON: {e}")))?;
        let trade = latest.trade.ok_or_else(|| self.http.not_found(format!("no latest trade for {ticker}")))?;
        Ok(trade.quote(&self.http.name, symbol, self.time(&trade.t)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::provider::Provider;
    use crate::market::providers::testing::{bar, d, day, fixture, serve, Reply, Seen, Subject};

    const KEY_ID_VALUE: &str = "PKTEST0000KEYID";
    const SECRET_VALUE: &str = "s3cr3tS3CR3Tsecret";

    fn alpaca(base: Url) -> Alpaca {
        Alpaca::new(
            "alpaca",
            base,
            Some(ApiKey::new(KEY_ID_VALUE)),
            Some(ApiKey::new(SECRET_VALUE)),
            reqwest::Client::new(),
        )
    }

    fn pages(seen: &Seen) -> Reply {
        match seen.q("page_token") {
            None => Reply::ok(fixture("alpaca_acme_page1.json")),
            Some(_) => Reply::ok(fixture("alpaca_acme_page2.json")),
        }
    }

    const ALPACA: Subject<Alpaca> = Subject {
        at: alpaca,
        symbol: "ACME",
        from: "2024-03-04",
        to: "2024-03-11",
        secrets: &[KEY_ID_VALUE, SECRET_VALUE],
    };

    #[tokio::test]
    async fn pages_are_followed_with_both_keys_and_bars_dated_in_new_york() {
        let server = serve(pages).await;
        let bars = alpaca(server.base.clone())
            .with_feed(AlpacaFeed::Sip)
            .daily_bars("acme", day("2024-03-04"), day("2024-03-11"))
            .await
            .unwrap();
        let dates: Vec<String> = bars.iter().map(|b| b.date.to_string()).collect();
        assert_eq!(dates, ["2024-03-04", "2024-03-05", "2024-03-08", "2024-03-11"]);
        assert_eq!(
            bars[1],
            Bar {
                vwap: Some(d("405.902113")),
                ..bar("alpaca", "2024-03-05", ["404", "408.12", "401.5", "406.88", "1311200"])
            }
        );
        let seen = server.seen();
        assert_eq!(seen.len(), 2);
        for s in &seen {
            assert_eq!(s.path, "/v2/stocks/ACME/bars");
            assert_eq!(s.header("apca-api-key-id"), Some(KEY_ID_VALUE));
            assert_eq!(s.header("apca-api-secret-key"), Some(SECRET_VALUE));
            assert_eq!(
                (s.q("timeframe"), s.q("adjustment"), s.q("feed"), s.q("limit")),
                (Some("1Day"), Some("raw"), Some("sip"), Some("10000"))
            );
            // Midnight EST on the 4th; the last second of the 11th in EDT.
            assert_eq!((s.q("start"), s.q("end")), (Some("2024-03-04T05:00:00Z"), Some("2024-03-12T03:59:59Z")));
        }
        assert_eq!(seen[0].q("page_token"), None);
        assert_eq!(seen[1].q("page_token"), Some("QUNNRXxEfDIwMjQtMDMtMDVUMDU6MDA6MDAuMDAwMDAwMDAwWg=="));
    }

    #[tokio::test]
    async fn minute_bars_are_asked_for_the_whole_new_york_day() {
        let server = serve(|_| Reply::ok(fixture("alpaca_acme_minutes.json"))).await;
        let bars = alpaca(server.base.clone()).intraday_bars("ACME", day("2024-03-14"), 5).await.unwrap();
        assert_eq!(bars.len(), 3);
        assert_eq!(bars[2].at, DateTime::parse_from_rfc3339("2024-03-14T20:00:00Z").unwrap());
        assert_eq!((bars[2].bar.close, bars[2].bar.source.as_deref()), (d("101.8"), Some("alpaca")));
        let hour = alpaca(server.base.clone()).intraday_bars("ACME", day("2024-03-14"), 60).await.unwrap();
        assert_eq!(hour.len(), 3);
        let seen = server.seen();
        assert_eq!(seen[0].path, "/v2/stocks/ACME/bars");
        assert_eq!(
            (seen[0].q("timeframe"), seen[0].q("start"), seen[0].q("end"), seen[0].q("adjustment")),
            (Some("5Min"), Some("2024-03-14T04:00:00Z"), Some("2024-03-15T03:59:59Z"), Some("raw"))
        );
        assert_eq!(seen[1].q("timeframe"), Some("1Hour"));
    }

    #[tokio::test]
    async fn the_latest_trade_is_the_latest_quote() {
        let body = r#"{"symbol":"ACME","trade":{"t":"2024-03-13T19:59:59.987654321Z","x":"V","p":104.12,"s":100,"c":["@"],"i":52983525029461,"z":"C"}}"#;
        let server = serve(move |_| Reply::ok(body)).await;
        let quote = alpaca(server.base.clone()).latest_quote("ACME").await.unwrap();
        assert_eq!((quote.last, quote.size), (Some(d("104.12")), Some(d("100"))));
        assert_eq!(quote.at, DateTime::parse_from_rfc3339("2024-03-13T19:59:59.987654321Z").unwrap());
        let seen = server.seen();
        assert_eq!((seen[0].path.as_str(), seen[0].q("feed")), ("/v2/stocks/ACME/trades/latest", Some("iex")));
    }

    #[tokio::test]
    async fn no_bars_is_not_found() {
        for body in [
            r#"{"bars":[],"symbol":"NOPE","next_page_token":null}"#,
            r#"{"bars":null,"symbol":"NOPE","next_page_token":null}"#,
        ] {
            assert!(matches!(ALPACA.answer(Reply::ok(body)).await, ProviderError::NotFound { .. }), "{body}");
        }
    }

    #[tokio::test]
    async fn refused_keys_are_unauthorized_and_bad_parameters_invalid() {
        let err = ALPACA.answer(Reply::new(403, r#"{"message":"forbidden."}"#)).await;
        assert!(
            matches!(&err, ProviderError::Unauthorized { message, .. } if message.ends_with("forbidden.")),
            "{err}"
        );
        assert!(matches!(
            ALPACA.answer(Reply::new(401, r#"{"message":"unauthorized."}"#)).await,
            ProviderError::Unauthorized { .. }
        ));
        let message = ALPACA.invalid(Reply::new(422, r#"{"code":42210000,"message":"invalid start"}"#)).await;
        assert!(message.ends_with("invalid start"), "{message}");
        ALPACA
            .assert_unauthorized_without_calling(|base| {
                Alpaca::new("alpaca", base, Some(ApiKey::new(KEY_ID_VALUE)), None, reqwest::Client::new())
            })
            .await;
    }

    #[tokio::test]
    async fn rate_limits_carry_retry_after() {
        ALPACA.assert_rate_limited(r#"{"message":"too many requests."}"#).await;
    }

    #[tokio::test]
    async fn malformed_bodies_are_invalid() {
        let message = ALPACA.invalid(Reply::ok("<html>")).await;
        assert!(message.starts_with("not Alpaca's bars JSON"), "{message}");
        let bad_time = fixture("alpaca_acme_page2.json").replace("2024-03-08T05:00:00Z", "yesterday");
        let message = ALPACA.invalid(Reply::ok(bad_time)).await;
        assert!(message.contains("\"yesterday\""), "{message}");
        let low_above_high = fixture("alpaca_acme_page2.json").replace("\"l\":102.1", "\"l\":105.1");
        let message = ALPACA.invalid(Reply::ok(low_above_high)).await;
        assert!(message == "the bar of 2024-03-08: low is above high", "{message}");
    }

    #[tokio::test]
    async fn server_errors_and_refused_connections_are_unavailable() {
        ALPACA.assert_unavailable(500, "").await;
    }
}
