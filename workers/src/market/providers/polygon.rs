//! Polygon.io's aggregates (bars) API
//! (<https://polygon.io/docs/stocks/get_v2_aggs_ticker__stocksticker__range__multiplier___timespan___from___to>)
//! and last trade (<https://polygon.io/docs/stocks/get_v2_last_trade__stocksticker>).
//!
//! **Request**: `GET {base}/v2/aggs/ticker/{SYMBOL}/range/1/day/{from}/{to}?adjusted=false&sort=asc&limit=50000`
//! (dates `YYYY-MM-DD`), the key as the `apiKey` query parameter or, with
//! [`KeyPlacement::Header`], as `Authorization: Bearer {key}` (Polygon accepts both,
//! <https://polygon.io/docs/stocks/getting-started>). `adjusted=false`: the bars are the traded
//! prices, as the [`Provider`](crate::market::Provider) contract wants; Polygon gives no
//! adjusted close here.
//!
//! **Body**: `{"ticker":"AAPL","queryCount":…,"resultsCount":…,"adjusted":false,"results":[{"v":…,"vw":…,"o":…,"c":…,"h":…,"l":…,"t":…,"n":…}],"status":"OK","request_id":"…","next_url":"…"}`.
//! `o`/`h`/`l`/`c` are the prices, `v` the volume (sometimes in exponent form, `1.2034e+06`),
//! `vw` the VWAP (→ `vwap`), `n` (trades) is not kept. `status` `DELAYED` (a plan with delayed
//! data) is read like `OK`. While the body has a `next_url` (the same path with a `cursor`),
//! the next page is fetched from it, the key added again the same way; a `next_url` on
//! another host than the base is refused (`Invalid`) rather than sent the key.
//!
//! **Time zone**: `t` is the start of the aggregate window in Unix milliseconds; a daily
//! window starts at midnight US/Eastern, so the bar's date is `t`'s date in America/New_York.
//!
//! **Intraday aggregates**: the same request and body with `range/{n}/minute/{day}/{day}`:
//! one aggregate per window of `n` minutes that had trades, `t` the window's start, from the
//! pre-market (04:00 ET) to the end of after-hours (20:00 ET).
//!
//! **Latest quote**: `GET {base}/v2/last/trade/{SYMBOL}`: `{"results":{"p":…,"s":…,"t":<ns>,…},"status":"OK"}`
//! → `last` = `p`, `size` = `s`, at `t` (SIP timestamp, Unix nanoseconds).
//!
//! **Errors**: `resultsCount: 0` (an unknown ticker, a range without trading) is `NotFound`;
//! HTTP 401 `{"status":"ERROR","error":"Unknown API Key"}` and 403
//! `{"status":"NOT_AUTHORIZED","message":"You are not entitled to this data…"}` are
//! `Unauthorized`, as is a 200 with `status` `NOT_AUTHORIZED`; a 200 with `status` `ERROR`, a
//! body that is not this JSON or a bar that fails validation is `Invalid`; HTTP 429 is
//! `RateLimited`; other statuses and transport failures map as every adapter's do (see
//! `providers/http.rs`).

use chrono::{DateTime, NaiveDate, Utc};
use domain::market::Bar;
use reqwest::header::AUTHORIZATION;
use reqwest::Url;
use serde::Deserialize;

use super::http::{shown, with_timeout, Http, Page};
use super::num::Int;
use super::{new_york_day, Aggregate, Trade, Vendor};
use crate::market::provider::{ApiKey, Capability, IntradayBar, ProviderError, Quote};

/// How the key is sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum KeyPlacement {
    /// The `apiKey` query parameter.
    #[default]
    Query,
    /// `Authorization: Bearer {key}`.
    Header,
}

/// Polygon.io's daily aggregates and last trade.
#[derive(Debug, Clone)]
pub struct Polygon {
    http: Http,
    key: Option<ApiKey>,
    placement: KeyPlacement,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Aggregates {
    status: Option<String>,
    results_count: Option<Int>,
    #[serde(default)]
    results: Option<Vec<Aggregate<Int>>>,
    #[serde(rename = "next_url")]
    next_url: Option<String>,
    error: Option<String>,
    message: Option<String>,
}

#[derive(Deserialize)]
struct LastTrade {
    status: Option<String>,
    results: Option<Trade<Int>>,
    error: Option<String>,
    message: Option<String>,
}

with_timeout!(Polygon);

impl Polygon {
    /// `name` is the `source` of its bars; `base_url` is `https://api.polygon.io` in
    /// production; without a key every call is `Unauthorized` without a request.
    pub fn new(name: impl Into<String>, base_url: Url, key: Option<ApiKey>, client: reqwest::Client) -> Self {
        Self { http: Http::new(name, base_url, client), key, placement: KeyPlacement::Query }
    }

    /// Where the key goes (the query unless set).
    pub fn with_key_placement(mut self, placement: KeyPlacement) -> Self {
        self.placement = placement;
        self
    }

    fn key(&self) -> Result<&ApiKey, ProviderError> {
        self.key.as_ref().ok_or_else(|| self.http.unauthorized("no API key is configured"))
    }

    /// `GET url` with the key where it is configured to go.
    async fn get(&self, mut url: Url) -> Result<Vec<u8>, ProviderError> {
        let key = self.key()?;
        let bearer;
        let headers = match self.placement {
            KeyPlacement::Query => {
                url.query_pairs_mut().append_pair("apiKey", key.expose());
                Vec::new()
            }
            KeyPlacement::Header => {
                bearer = ApiKey::new(format!("Bearer {}", key.expose()));
                vec![(AUTHORIZATION, &bearer)]
            }
        };
        self.http.get(url, &headers, &[key]).await
    }

    /// A 200 body's `status` other than `OK`/`DELAYED` as an error.
    fn status(&self, status: Option<&str>, error: Option<&str>, message: Option<&str>) -> Result<(), ProviderError> {
        let said = || {
            let said = error.or(message).unwrap_or("no message");
            self.key.as_ref().map_or_else(|| said.to_owned(), |k| super::http::scrub(said, &[k]))
        };
        match status {
            None | Some("OK" | "DELAYED") => Ok(()),
            Some("NOT_AUTHORIZED") => Err(self.http.unauthorized(said())),
            Some(other) => Err(self.http.invalid(format!("status {other}: {}", said()))),
        }
    }

    /// One page of aggregates from `url`, each made an item by `item` with the start of its
    /// window; `first` treats `resultsCount: 0` as no results.
    async fn page<T>(
        &self,
        url: Url,
        first: bool,
        item: impl Fn(&Aggregate<Int>, DateTime<Utc>) -> T,
    ) -> Result<Page<T>, ProviderError> {
        let body = self.get(url).await?;
        let aggs: Aggregates = serde_json::from_slice(&body)
            .map_err(|e| self.http.invalid(format!("not Polygon's aggregates JSON: {e}")))?;
        self.status(aggs.status.as_deref(), aggs.error.as_deref(), aggs.message.as_deref())?;
        let mut results = aggs.results.unwrap_or_default();
        if first && aggs.results_count == Some(Int(0)) {
            results.clear();
        }
        let items = results
            .iter()
            .map(|a| {
                let at = DateTime::from_timestamp_millis(a.t.0)
                    .ok_or_else(|| self.http.invalid(format!("t {} is out of range", a.t.0)))?;
                Ok(item(a, at))
            })
            .collect::<Result<_, ProviderError>>()?;
        Ok(Page { items, next: aggs.next_url })
    }

    /// Every aggregate of `symbol` from `from` to `to` in windows of `multiplier` `timespan`s
    /// (`1 day`, `5 minute`), every page followed.
    async fn aggregates<T>(
        &self,
        symbol: &str,
        (multiplier, timespan): (u32, &str),
        from: NaiveDate,
        to: NaiveDate,
        item: impl Fn(&Aggregate<Int>, DateTime<Utc>) -> T + Copy,
    ) -> Result<Vec<T>, ProviderError> {
        let symbol = symbol.trim().to_ascii_uppercase();
        let (m, f, t) = (multiplier.to_string(), from.to_string(), to.to_string());
        let first = self.http.url(
            &["v2", "aggs", "ticker", &symbol, "range", &m, timespan, &f, &t],
            &[("adjusted", "false"), ("sort", "asc"), ("limit", "50000")],
        )?;
        let nothing = || format!("no {m}-{timespan} aggregates for {symbol} from {from} to {to}");
        self.http
            .pages("next_url", nothing, |next_url| {
                let first = first.clone();
                async move {
                    match next_url {
                        None => self.page(first, true, item).await,
                        Some(next_url) => self.page(self.next(&next_url)?, false, item).await,
                    }
                }
            })
            .await
    }

    /// The next page's URL: `next_url` if it is on the base's host.
    fn next(&self, next_url: &str) -> Result<Url, ProviderError> {
        let url = Url::parse(next_url).map_err(|_| self.http.invalid("next_url is not a URL"))?;
        let base = self.http.base();
        if url.scheme() != base.scheme()
            || url.host_str() != base.host_str()
            || url.port_or_known_default() != base.port_or_known_default()
        {
            return Err(self.http.invalid(format!(
                "next_url {} is not on {}; the key is not sent there",
                shown(&url),
                shown(base)
            )));
        }
        Ok(url)
    }
}

impl Vendor for Polygon {
    const SERVES: &'static [Capability] = &[Capability::DailyBars, Capability::Intraday, Capability::LatestQuote];

    fn source(&self) -> &str {
        &self.http.name
    }

    async fn bars(&self, symbol: &str, from: NaiveDate, to: NaiveDate) -> Result<Vec<Bar>, ProviderError> {
        self.aggregates(symbol, (1, "day"), from, to, |a, at| a.bar(new_york_day(at))).await
    }

    async fn intraday(&self, symbol: &str, date: NaiveDate, minutes: u32) -> Result<Vec<IntradayBar>, ProviderError> {
        self.aggregates(symbol, (minutes, "minute"), date, date, |a, at| a.intraday(at)).await
    }

    async fn quote(&self, symbol: &str) -> Result<Quote, ProviderError> {
        let ticker = symbol.trim().to_ascii_uppercase();
        let url = self.http.url(&["v2", "last", "trade", &ticker], &[])?;
        let body = self.get(url).await?;
        let last: LastTrade = serde_json::from_slice(&body)
            .map_err(|e| self.http.invalid(format!("not Polygon's last trade JSON: {e}")))?;
        self.status(last.status.as_deref(), last.error.as_deref(), last.message.as_deref())?;
        let trade = last.results.ok_or_else(|| self.http.not_found(format!("no last trade for {ticker}")))?;
        Ok(trade.quote(&self.http.name, symbol, DateTime::from_timestamp_nanos(trade.t.0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::provider::Provider;
    use crate::market::providers::testing::{bar, d, day, fixture, serve, Reply, Seen, Subject};

    const KEY: &str = "pgK3yS3cr3t";

    fn polygon(base: Url) -> Polygon {
        Polygon::new("polygon", base, Some(ApiKey::new(KEY)), reqwest::Client::new())
    }

    const POLYGON: Subject<Polygon> =
        Subject { at: polygon, symbol: "ACME", from: "2024-03-04", to: "2024-03-11", secrets: &[KEY] };

    /// Page 1 without a cursor, page 2 with one; `next_url` on the server's own host.
    fn pages(seen: &Seen) -> Reply {
        if seen.q("cursor").is_some() {
            Reply::ok(fixture("polygon_acme_page2.json"))
        } else {
            Reply::ok(fixture("polygon_acme_page1.json").replace("{HOST}", seen.header("host").unwrap()))
        }
    }

    #[tokio::test]
    async fn pages_are_followed_and_bars_dated_in_new_york() {
        let server = serve(pages).await;
        let bars = polygon(server.base.clone()).daily_bars("acme", day("2024-03-04"), day("2024-03-11")).await.unwrap();
        let dates: Vec<String> = bars.iter().map(|b| b.date.to_string()).collect();
        // 2024-03-11T04:00Z (midnight EDT) is the 11th in New York.
        assert_eq!(dates, ["2024-03-04", "2024-03-05", "2024-03-06", "2024-03-07", "2024-03-08", "2024-03-11"]);
        assert_eq!(
            bars[0],
            Bar {
                vwap: Some(d("403.1187")),
                ..bar("polygon", "2024-03-04", ["402", "405.8", "399.1", "404.4", "1203400"])
            }
        );
        assert_eq!((bars[5].volume, bars[5].vwap), (d("4610000"), Some(d("103.9"))));

        let seen = server.seen();
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[0].path, "/v2/aggs/ticker/ACME/range/1/day/2024-03-04/2024-03-11");
        assert_eq!(
            (seen[0].q("adjusted"), seen[0].q("sort"), seen[0].q("limit"), seen[0].q("apiKey")),
            (Some("false"), Some("asc"), Some("50000"), Some(KEY))
        );
        assert_eq!(seen[1].path, "/v2/aggs/ticker/ACME/range/1/day/1709787600000/1710129600000");
        assert_eq!((seen[1].q("cursor"), seen[1].q("apiKey")), (Some("bGltaXQ9MyZzb3J0PWFzYw"), Some(KEY)));
    }

    #[tokio::test]
    async fn minute_aggregates_are_the_windows_of_the_new_york_day() {
        let server = serve(|_| Reply::ok(fixture("polygon_acme_minutes.json"))).await;
        let bars = polygon(server.base.clone()).intraday_bars("acme", day("2024-03-14"), 5).await.unwrap();
        let seen = server.seen();
        assert_eq!(seen[0].path, "/v2/aggs/ticker/ACME/range/5/minute/2024-03-14/2024-03-14");
        assert_eq!((seen[0].q("adjusted"), seen[0].q("apiKey")), (Some("false"), Some(KEY)));
        // 00:00 EDT on the 15th is the next day's: dropped.
        let times: Vec<String> = bars.iter().map(|b| b.at.to_rfc3339()).collect();
        assert_eq!(
            times,
            [
                "2024-03-14T12:00:00+00:00",
                "2024-03-14T13:30:00+00:00",
                "2024-03-14T13:35:00+00:00",
                "2024-03-14T20:00:00+00:00"
            ]
        );
        assert_eq!(
            bars[1].bar,
            Bar {
                vwap: Some(d("101.9")),
                ..bar("polygon", "2024-03-14", ["101.5", "102.4", "101.3", "102.2", "45000"])
            }
        );
        let err = polygon(server.base.clone()).intraday_bars("ACME", day("2024-03-14"), 61).await.unwrap_err();
        assert!(matches!(&err, ProviderError::NotFound { message, .. } if message.contains("1 to 60")), "{err}");
        assert_eq!(server.seen().len(), 1, "a window too long is not asked for");
        let twice = fixture("polygon_acme_minutes.json").replace("1710423300000", "1710423000000");
        let server = serve(move |_| Reply::ok(twice.clone())).await;
        let err = polygon(server.base.clone()).intraday_bars("ACME", day("2024-03-14"), 5).await.unwrap_err();
        assert!(
            matches!(&err, ProviderError::Invalid { message, .. } if message == "two aggregates at 09:30 ET"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn the_key_can_go_as_a_bearer_token() {
        let server = serve(pages).await;
        let bars = polygon(server.base.clone())
            .with_key_placement(KeyPlacement::Header)
            .daily_bars("ACME", day("2024-03-05"), day("2024-03-07"))
            .await
            .unwrap();
        assert_eq!(bars.len(), 3);
        for seen in server.seen() {
            assert_eq!(seen.header("authorization"), Some(format!("Bearer {KEY}").as_str()));
            assert_eq!(seen.q("apiKey"), None);
        }
    }

    #[tokio::test]
    async fn a_next_url_on_another_host_is_not_sent_the_key() {
        let server = serve(|_| Reply::ok(fixture("polygon_acme_page1.json").replace("{HOST}", "203.0.113.9"))).await;
        let err = POLYGON.error_at(server.base.clone()).await;
        assert!(matches!(&err, ProviderError::Invalid { message, .. } if message.contains("203.0.113.9")), "{err}");
        assert_eq!(server.seen().len(), 1);
    }

    #[tokio::test]
    async fn the_last_trade_is_the_latest_quote() {
        let body = r#"{"request_id":"f05562305bd26ced64b98ed68b3c5d96","results":{"T":"ACME","c":[37],"f":1710360000123456789,"i":"52983525029461","p":104.12,"q":1490,"r":202,"s":25,"t":1710359999987654321,"x":4,"y":1710359999987000000,"z":3},"status":"OK"}"#;
        let server = serve(move |_| Reply::ok(body)).await;
        let quote = polygon(server.base.clone()).latest_quote("ACME").await.unwrap();
        assert_eq!((quote.last, quote.size), (Some(d("104.12")), Some(d("25"))));
        assert_eq!(quote.at, DateTime::parse_from_rfc3339("2024-03-13T19:59:59.987654321Z").unwrap());
        let seen = server.seen();
        assert_eq!((seen[0].path.as_str(), seen[0].q("apiKey")), ("/v2/last/trade/ACME", Some(KEY)));
    }

    #[tokio::test]
    async fn no_results_is_not_found() {
        let body = r#"{"ticker":"NOPE","queryCount":0,"resultsCount":0,"adjusted":false,"status":"OK","request_id":"b8b7a0a4e1d64f3f"}"#;
        assert!(matches!(POLYGON.answer(Reply::ok(body)).await, ProviderError::NotFound { .. }));
    }

    #[tokio::test]
    async fn refused_keys_are_unauthorized() {
        let unknown = r#"{"status":"ERROR","request_id":"3c1b9f2e","error":"Unknown API Key"}"#;
        let err = POLYGON.answer(Reply::new(401, unknown)).await;
        assert!(
            matches!(&err, ProviderError::Unauthorized { message, .. } if message.ends_with("Unknown API Key")),
            "{err}"
        );
        let plan = r#"{"status":"NOT_AUTHORIZED","request_id":"9d0e4f1a","message":"You are not entitled to this data. Please upgrade your plan at https://polygon.io/pricing"}"#;
        assert!(matches!(POLYGON.answer(Reply::new(403, plan)).await, ProviderError::Unauthorized { .. }));
        assert!(matches!(POLYGON.answer(Reply::ok(plan)).await, ProviderError::Unauthorized { .. }));
        POLYGON
            .assert_unauthorized_without_calling(|base| Polygon::new("polygon", base, None, reqwest::Client::new()))
            .await;
    }

    #[tokio::test]
    async fn rate_limits_carry_retry_after() {
        let body = r#"{"status":"ERROR","request_id":"1f2e3d","error":"You've exceeded the maximum requests per minute, please wait or upgrade your subscription to continue. https://polygon.io/pricing"}"#;
        POLYGON.assert_rate_limited(body).await;
    }

    #[tokio::test]
    async fn malformed_bodies_are_invalid() {
        let message = POLYGON.invalid(Reply::ok("not json")).await;
        assert!(message.starts_with("not Polygon's aggregates JSON"), "{message}");
        let refused = r#"{"status":"ERROR","request_id":"x","error":"Could not parse the time parameter: 'from'."}"#;
        let message = POLYGON.invalid(Reply::ok(refused)).await;
        assert!(message.contains("from"), "{message}");
        let bad = fixture("polygon_acme_page2.json").replace("\"o\":102.7", "\"o\":\"x\"");
        POLYGON.invalid(Reply::ok(bad)).await;
        let outside = fixture("polygon_acme_page2.json").replace("\"vw\":103.9,", "\"vw\":111.5,");
        let message = POLYGON.invalid(Reply::ok(outside)).await;
        assert!(message == "the bar of 2024-03-11: vwap is outside the day's low and high", "{message}");
    }

    #[tokio::test]
    async fn server_errors_and_refused_connections_are_unavailable() {
        POLYGON.assert_unavailable(502, "Bad Gateway").await;
    }
}
