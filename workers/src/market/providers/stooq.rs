//! Stooq's daily CSV download, the file behind the "Download data in csv file" link of every
//! symbol's historical data page (<https://stooq.com/q/d/?s=aapl.us>; Stooq publishes no API
//! reference beyond that link). No key.
//!
//! **Request**: `GET {base}/q/d/l/?s={stooq symbol}&d1=YYYYMMDD&d2=YYYYMMDD&i=d` (`i=d`: daily).
//!
//! **Symbols** ([`Stooq::symbol`]): Stooq names a symbol in lower case with its market's
//! suffix. A cairn currency pair (`EUR.USD`, see `domain::fx`) becomes Stooq's pair `eurusd`;
//! an index (`^SPX`) and a symbol that already carries a Stooq market suffix (`.us`, `.uk`,
//! `.de`, `.jp`, `.hk`, `.pl`, `.hu`) are only lower-cased; anything else is a US ticker:
//! lower-cased, a share-class `.` or `/` written `-` as Stooq does, and `.us` appended
//! (`AAPL` → `aapl.us`, `BRK.B` → `brk-b.us`).
//!
//! **Body**: `Date,Open,High,Low,Close,Volume` then one line per trading day, dates
//! `YYYY-MM-DD` (the exchange's own trading day, so no time zone to convert), numbers in plain
//! decimal. Columns are found by name (ignoring case); indices and currencies have no `Volume`
//! (read as 0) and futures add an `OpenInt` (ignored). Stooq gives no adjusted close and no
//! VWAP. Stooq keeps its history adjusted for every split up to the day it is asked
//! ([`Adjustment::Splits`]) and publishes no splits, so the selector brings its bars back to
//! the prices traded with the splits of a provider that serves corporate actions, or, when
//! none gives them, uses them as sent with a note saying so (`Selector::traded`).
//!
//! **Errors**: the body `No data` (or an empty body, or a header without rows) is `NotFound`;
//! `Exceeded the daily hits limit` is `RateLimited` (without a wait: the limit is per day);
//! any other body that is not this CSV, a line that does not parse, or a bar that fails
//! validation is `Invalid`; HTTP statuses and transport failures map as every adapter's do
//! (see `providers/http.rs`).

use chrono::NaiveDate;
use domain::market::{Adjustment, Bar};
use reqwest::Url;
use rust_decimal::Decimal;

use super::http::{with_timeout, Http};
use super::num::decimal;
use super::{clip, Vendor};
use crate::market::provider::{Capability, ProviderError};

/// Stooq's daily CSV.
#[derive(Debug, Clone)]
pub struct Stooq {
    http: Http,
}

/// The Stooq market suffixes a symbol may already carry.
const MARKETS: [&str; 7] = ["us", "uk", "de", "jp", "hk", "pl", "hu"];

with_timeout!(Stooq);

impl Stooq {
    /// `name` is the `source` of its bars; `base_url` is `https://stooq.com` in production.
    pub fn new(name: impl Into<String>, base_url: Url, client: reqwest::Client) -> Self {
        Self { http: Http::new(name, base_url, client) }
    }

    /// Stooq's name for a cairn symbol (see the module doc).
    pub fn symbol(symbol: &str) -> String {
        let upper = symbol.trim().to_ascii_uppercase();
        if let Some(currency) = domain::fx::currency_of_pair(&upper) {
            return format!("{}usd", currency.to_ascii_lowercase());
        }
        let lower = upper.to_ascii_lowercase();
        if lower.starts_with('^') {
            return lower;
        }
        if let Some((_, market)) = lower.rsplit_once('.') {
            if MARKETS.contains(&market) {
                return lower;
            }
        }
        format!("{}.us", lower.replace(['.', '/'], "-"))
    }

    fn parse(&self, body: &[u8]) -> Result<Vec<Bar>, ProviderError> {
        let text = String::from_utf8_lossy(body);
        let trimmed = text.trim();
        if trimmed.is_empty() || trimmed.eq_ignore_ascii_case("no data") {
            return Err(self.http.not_found("Stooq has no data for this symbol"));
        }
        if trimmed.to_ascii_lowercase().contains("exceeded the daily hits limit") {
            return Err(ProviderError::RateLimited { provider: self.http.name.clone(), retry_after: None });
        }
        let first = trimmed.lines().next().unwrap_or_default();
        if !first.to_ascii_lowercase().starts_with("date,") {
            return Err(self.http.invalid(format!("not Stooq's CSV: the body starts {:?}", clip(first))));
        }
        let csv = self.http.csv(trimmed.as_bytes())?;
        let need =
            |name: &str| csv.column(name).ok_or_else(|| self.http.invalid(format!("the CSV has no {name:?} column")));
        let (date, open, high, low, close) =
            (need("Date")?, need("Open")?, need("High")?, need("Low")?, need("Close")?);
        let volume = csv.column("Volume");
        let mut bars = Vec::new();
        for row in csv {
            let (line, record) = row?;
            let field = |i: usize, name: &str| -> Result<Decimal, ProviderError> {
                let v = record.get(i).unwrap_or_default();
                decimal(v).ok_or_else(|| self.http.invalid(format!("line {line}: {name} {v:?} is not a number")))
            };
            let day = record.get(date).unwrap_or_default();
            bars.push(Bar {
                date: NaiveDate::parse_from_str(day, "%Y-%m-%d")
                    .map_err(|_| self.http.invalid(format!("line {line}: Date {day:?} is not YYYY-MM-DD")))?,
                open: field(open, "Open")?,
                high: field(high, "High")?,
                low: field(low, "Low")?,
                close: field(close, "Close")?,
                volume: volume.map_or(Ok(Decimal::ZERO), |i| field(i, "Volume"))?,
                adj_close: None,
                vwap: None,
                source: None,
            });
        }
        Ok(bars)
    }
}

impl Vendor for Stooq {
    const SERVES: &'static [Capability] = &[Capability::DailyBars];

    fn source(&self) -> &str {
        &self.http.name
    }

    fn adjustment(&self) -> Adjustment {
        Adjustment::Splits
    }

    async fn bars(&self, symbol: &str, from: NaiveDate, to: NaiveDate) -> Result<Vec<Bar>, ProviderError> {
        let s = Self::symbol(symbol);
        let (d1, d2) = (from.format("%Y%m%d").to_string(), to.format("%Y%m%d").to_string());
        let url = self.http.url(&["q", "d", "l", ""], &[("s", &s), ("d1", &d1), ("d2", &d2), ("i", "d")])?;
        let body = self.http.get(url, &[], &[]).await?;
        self.parse(&body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::provider::Provider;
    use crate::market::providers::testing::{bar, d, day, fixture, serve, Reply, Subject};

    fn stooq(base: Url) -> Stooq {
        Stooq::new("stooq", base, reqwest::Client::new())
    }

    const STOOQ: Subject<Stooq> =
        Subject { at: stooq, symbol: "ACME", from: "2024-01-02", to: "2024-01-05", secrets: &[] };

    #[test]
    fn symbols_map_to_stooq_names() {
        assert_eq!(Stooq::symbol("AAPL"), "aapl.us");
        assert_eq!(Stooq::symbol("brk.b"), "brk-b.us");
        assert_eq!(Stooq::symbol("BRK/B"), "brk-b.us");
        assert_eq!(Stooq::symbol("VOD.UK"), "vod.uk");
        assert_eq!(Stooq::symbol("^SPX"), "^spx");
        assert_eq!(Stooq::symbol("EUR.USD"), "eurusd");
    }

    #[tokio::test]
    async fn daily_bars_are_read_exactly_within_the_range_oldest_first() {
        let server = serve(|_| Reply::ok(fixture("stooq_acme.csv"))).await;
        let bars = stooq(server.base.clone()).daily_bars("ACME", day("2024-01-03"), day("2024-01-05")).await.unwrap();
        // The server sent 2024-01-02 too: outside the range, dropped.
        assert_eq!(
            bars.iter().map(|b| b.date).collect::<Vec<_>>(),
            [day("2024-01-03"), day("2024-01-04"), day("2024-01-05")]
        );
        assert_eq!(bars[1], bar("stooq", "2024-01-04", ["101.9", "101.9", "99.875", "100.4", "2210004"]));
        let seen = server.seen();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].path, "/q/d/l/");
        assert_eq!(
            (seen[0].q("s"), seen[0].q("d1"), seen[0].q("d2"), seen[0].q("i")),
            (Some("acme.us"), Some("20240103"), Some("20240105"), Some("d"))
        );
    }

    #[tokio::test]
    async fn an_index_without_volume_reads_volume_zero() {
        let body = "Date,Open,High,Low,Close\n2024-01-02,4745.2,4754.33,4722.67,4742.83\n";
        let server = serve(move |_| Reply::ok(body)).await;
        let bars = stooq(server.base.clone()).daily_bars("^SPX", day("2024-01-02"), day("2024-01-02")).await.unwrap();
        assert_eq!((bars[0].close, bars[0].volume), (d("4742.83"), Decimal::ZERO));
        assert_eq!(server.seen()[0].q("s"), Some("^spx"));
    }

    #[tokio::test]
    async fn no_data_an_empty_body_or_no_rows_is_not_found() {
        for body in ["No data", "", "Date,Open,High,Low,Close,Volume\n"] {
            let err = STOOQ.answer(Reply::ok(body)).await;
            assert!(matches!(err, ProviderError::NotFound { .. }), "{body:?}: {err}");
        }
    }

    #[tokio::test]
    async fn the_daily_hits_limit_is_a_rate_limit() {
        assert_eq!(
            STOOQ.answer(Reply::ok("Exceeded the daily hits limit")).await,
            ProviderError::RateLimited { provider: "stooq".into(), retry_after: None }
        );
        STOOQ.assert_rate_limited("").await;
    }

    #[tokio::test]
    async fn malformed_bodies_are_invalid_naming_the_problem() {
        let message = STOOQ.invalid(Reply::ok("<html><body>Stooq</body></html>")).await;
        assert!(message.contains("not Stooq's CSV"), "{message}");
        let message =
            STOOQ.invalid(Reply::ok("Date,Open,High,Low,Close,Volume\n2024-01-02,101.25,102.8,abc,102.1,10\n")).await;
        assert!(message == "line 2: Low \"abc\" is not a number", "{message}");
        let message = STOOQ
            .invalid(Reply::ok("Date,Open,High,Low,Close,Volume\n2024-01-02,101.25,102.8,100.05,103.1,10\n"))
            .await;
        assert!(message == "the bar of 2024-01-02: close is outside the day's low and high", "{message}");
    }

    #[tokio::test]
    async fn server_errors_and_refused_connections_are_unavailable() {
        STOOQ.assert_unavailable(500, "oops").await;
    }
}
