//! Alpha Vantage's daily adjusted time series
//! (<https://www.alphavantage.co/documentation/#dailyadj>), in JSON or CSV.
//!
//! **Request**: `GET {base}/query?function=TIME_SERIES_DAILY_ADJUSTED&symbol={SYMBOL}&outputsize=full&datatype=json|csv&apikey={key}`
//! (the symbol as given, e.g. `IBM`, `TSCO.LON`). One call answers the whole history, for both
//! [`Provider::daily_bars`](crate::market::Provider::daily_bars) and
//! [`Provider::corporate_actions`](crate::market::Provider::corporate_actions).
//!
//! **JSON body**: `"Meta Data"` (ignored) and `"Time Series (Daily)"`, an object keyed by
//! date (`YYYY-MM-DD`, the US/Eastern trading day: no conversion) whose values hold the
//! numbers as strings: `"1. open"`, `"2. high"`, `"3. low"`, `"4. close"` (unadjusted),
//! `"5. adjusted close"` (→ `adj_close`), `"6. volume"`, `"7. dividend amount"`,
//! `"8. split coefficient"`. **CSV body** (`datatype=csv`): the header
//! `timestamp,open,high,low,close,adjusted_close,volume,dividend_amount,split_coefficient`,
//! newest first; columns are found by name. No VWAP.
//!
//! **Corporate actions**: a split coefficient other than 1 is a split of `coefficient` new
//! shares for 1 old (4.0 → 4:1; a reverse split's 0.1 is written 1:10) on that date; a
//! dividend amount above 0 is a cash dividend with that date as its ex-date.
//!
//! **Errors**: Alpha Vantage answers most errors with HTTP 200 and a JSON object (also when
//! CSV was asked for): `"Note"` (the old "call frequency is 5 calls per minute") and an
//! `"Information"` about the rate limit (`"Our standard API rate limit is 25 requests per
//! day"`) are `RateLimited`; an `"Information"` or `"Error Message"` about the key (invalid,
//! missing, the `demo` key) or a premium endpoint is `Unauthorized`; `"Error Message": "Invalid
//! API call…"` (what an unknown symbol gets) is `NotFound`; any other error message, a body
//! that is neither format, or a bar that fails validation is `Invalid`. Statuses and
//! transport failures map as every adapter's do (see `providers/http.rs`); the key travels in the
//! query and so never appears in a message.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use domain::market::Bar;
use reqwest::Url;
use rust_decimal::Decimal;
use serde::Deserialize;

use super::http::{with_timeout, Http};
use super::num::decimal;
use super::{clip, Vendor};
use crate::market::provider::{ApiKey, Capability, CorporateAction, ProviderError};

/// The body Alpha Vantage is asked for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AlphaVantageFormat {
    #[default]
    Json,
    Csv,
}

impl AlphaVantageFormat {
    fn as_str(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Csv => "csv",
        }
    }
}

/// Alpha Vantage's `TIME_SERIES_DAILY_ADJUSTED`.
#[derive(Debug, Clone)]
pub struct AlphaVantage {
    http: Http,
    key: Option<ApiKey>,
    format: AlphaVantageFormat,
}

/// One day of the series.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Row {
    bar: Bar,
    dividend: Decimal,
    split: Decimal,
}

#[derive(Deserialize)]
struct Body {
    #[serde(rename = "Time Series (Daily)")]
    series: Option<BTreeMap<String, Day>>,
    #[serde(rename = "Error Message")]
    error: Option<String>,
    #[serde(rename = "Note")]
    note: Option<String>,
    #[serde(rename = "Information")]
    information: Option<String>,
}

#[derive(Deserialize)]
struct Day {
    #[serde(rename = "1. open")]
    open: String,
    #[serde(rename = "2. high")]
    high: String,
    #[serde(rename = "3. low")]
    low: String,
    #[serde(rename = "4. close")]
    close: String,
    #[serde(rename = "5. adjusted close")]
    adjusted_close: String,
    #[serde(rename = "6. volume")]
    volume: String,
    #[serde(rename = "7. dividend amount")]
    dividend: String,
    #[serde(rename = "8. split coefficient")]
    split: String,
}

with_timeout!(AlphaVantage);

impl AlphaVantage {
    /// `name` is the `source` of its bars; `base_url` is `https://www.alphavantage.co` in
    /// production; without a key every call is `Unauthorized` without a request.
    pub fn new(name: impl Into<String>, base_url: Url, key: Option<ApiKey>, client: reqwest::Client) -> Self {
        Self { http: Http::new(name, base_url, client), key, format: AlphaVantageFormat::Json }
    }

    /// The body to ask for (JSON unless set).
    pub fn with_format(mut self, format: AlphaVantageFormat) -> Self {
        self.format = format;
        self
    }

    /// The whole daily series of `symbol`, in no particular order.
    async fn series(&self, symbol: &str) -> Result<Vec<Row>, ProviderError> {
        let key = self.key.as_ref().ok_or_else(|| self.http.unauthorized("no API key is configured"))?;
        let url = self.http.url(
            &["query"],
            &[
                ("function", "TIME_SERIES_DAILY_ADJUSTED"),
                ("symbol", symbol.trim()),
                ("outputsize", "full"),
                ("datatype", self.format.as_str()),
                ("apikey", key.expose()),
            ],
        )?;
        let body = self.http.get(url, &[], &[key]).await?;
        let text = String::from_utf8_lossy(&body);
        let text = text.trim();
        if text.starts_with('{') {
            self.json(text, key)
        } else if self.format == AlphaVantageFormat::Csv {
            self.csv(text)
        } else {
            Err(self.http.invalid(format!("not Alpha Vantage's JSON: the body starts {:?}", clip(text))))
        }
    }

    fn json(&self, text: &str, key: &ApiKey) -> Result<Vec<Row>, ProviderError> {
        let body: Body = serde_json::from_str(text)
            .map_err(|e| self.http.invalid(format!("not Alpha Vantage's daily adjusted JSON: {e}")))?;
        if let Some(series) = body.series {
            return series
                .into_iter()
                .map(|(date, day)| {
                    self.row(
                        &date,
                        [
                            ("open", &day.open),
                            ("high", &day.high),
                            ("low", &day.low),
                            ("close", &day.close),
                            ("adjusted close", &day.adjusted_close),
                            ("volume", &day.volume),
                            ("dividend amount", &day.dividend),
                            ("split coefficient", &day.split),
                        ],
                    )
                })
                .collect();
        }
        Err(self.refusal(body.error, body.note, body.information, key))
    }

    fn csv(&self, text: &str) -> Result<Vec<Row>, ProviderError> {
        const COLUMNS: [&str; 9] = [
            "timestamp",
            "open",
            "high",
            "low",
            "close",
            "adjusted_close",
            "volume",
            "dividend_amount",
            "split_coefficient",
        ];
        let csv = self.http.csv(text.as_bytes())?;
        let mut index = [0; 9];
        for (slot, name) in index.iter_mut().zip(COLUMNS) {
            *slot = csv.column(name).ok_or_else(|| {
                self.http.invalid(format!("not Alpha Vantage's daily adjusted CSV: no {name:?} column"))
            })?;
        }
        let mut rows = Vec::new();
        for row in csv {
            let (line, record) = row?;
            let get = |i: usize| record.get(index[i]).unwrap_or_default();
            let fields = [1, 2, 3, 4, 5, 6, 7, 8].map(|i| (COLUMNS[i], get(i)));
            rows.push(self.row(get(0), fields).map_err(|e| match e {
                ProviderError::Invalid { provider, message } => {
                    ProviderError::Invalid { provider, message: format!("line {line}: {message}") }
                }
                other => other,
            })?);
        }
        Ok(rows)
    }

    /// A day from its date and its eight numbers (open, high, low, close, adjusted close,
    /// volume, dividend, split coefficient), by their names in the body.
    fn row(&self, date: &str, fields: [(&str, &str); 8]) -> Result<Row, ProviderError> {
        let day = NaiveDate::parse_from_str(date, "%Y-%m-%d")
            .map_err(|_| self.http.invalid(format!("{date:?} is not a date (YYYY-MM-DD)")))?;
        let mut v = [Decimal::ZERO; 8];
        for (slot, (name, text)) in v.iter_mut().zip(fields) {
            *slot =
                decimal(text).ok_or_else(|| self.http.invalid(format!("{date}: {name} {text:?} is not a number")))?;
        }
        let [open, high, low, close, adj, volume, dividend, split] = v;
        if split <= Decimal::ZERO {
            return Err(self.http.invalid(format!("{date}: split coefficient {split} is not above 0")));
        }
        let bar = Bar { date: day, open, high, low, close, volume, adj_close: Some(adj), vwap: None, source: None };
        Ok(Row { bar, dividend, split })
    }

    /// What an error object means.
    fn refusal(
        &self,
        error: Option<String>,
        note: Option<String>,
        information: Option<String>,
        key: &ApiKey,
    ) -> ProviderError {
        let scrub = |m: &str| super::http::scrub(m, &[key]);
        let about_key = |m: &str| {
            let m = m.to_ascii_lowercase();
            m.contains("apikey") || m.contains("api key") || m.contains("premium")
        };
        let rate = |m: &str| {
            let m = m.to_ascii_lowercase();
            m.contains("rate limit") || m.contains("call frequency") || m.contains("requests per")
        };
        if note.is_some() || information.as_deref().is_some_and(rate) {
            return ProviderError::RateLimited { provider: self.http.name.clone(), retry_after: None };
        }
        if let Some(m) = information.as_deref().or(error.as_deref()).filter(|m| about_key(m)) {
            return self.http.unauthorized(scrub(m));
        }
        if let Some(m) = error.as_deref().filter(|m| m.trim_start().starts_with("Invalid API call")) {
            return self.http.not_found(scrub(m));
        }
        match error.or(information) {
            Some(m) => self.http.invalid(scrub(&m)),
            None => self.http.invalid("an answer without \"Time Series (Daily)\" or an error message"),
        }
    }
}

/// A split coefficient as `(new, old)`: 4 → 4:1, 0.1 → 1:10 (when 1/coefficient is whole),
/// 1.5 → 1.5:1.
fn split_ratio(coefficient: Decimal) -> (Decimal, Decimal) {
    if coefficient < Decimal::ONE {
        if let Some(old) = Decimal::ONE.checked_div(coefficient).filter(|o| o.fract().is_zero()) {
            return (Decimal::ONE, old.normalize());
        }
    }
    (coefficient.normalize(), Decimal::ONE)
}

impl Vendor for AlphaVantage {
    const SERVES: &'static [Capability] = &[Capability::DailyBars, Capability::CorporateActions];

    fn source(&self) -> &str {
        &self.http.name
    }

    async fn bars(&self, symbol: &str, _: NaiveDate, _: NaiveDate) -> Result<Vec<Bar>, ProviderError> {
        Ok(self.series(symbol).await?.into_iter().map(|r| r.bar).collect())
    }

    async fn actions(&self, symbol: &str, _: NaiveDate, _: NaiveDate) -> Result<Vec<CorporateAction>, ProviderError> {
        let source = &self.http.name;
        let mut actions = Vec::new();
        for row in self.series(symbol).await? {
            if row.split != Decimal::ONE {
                let (new, old) = split_ratio(row.split);
                actions.push(CorporateAction::Split {
                    symbol: symbol.to_owned(),
                    date: row.bar.date,
                    new,
                    old,
                    source: source.clone(),
                });
            }
            if row.dividend > Decimal::ZERO {
                actions.push(CorporateAction::Dividend {
                    symbol: symbol.to_owned(),
                    ex_date: row.bar.date,
                    amount: row.dividend.normalize(),
                    source: source.clone(),
                });
            }
        }
        Ok(actions)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::provider::Provider;
    use crate::market::providers::testing::{acme_actions, bar, d, day, fixture, serve, Reply, Subject};

    const KEY: &str = "AVK3Y0000SECRET";

    fn av(base: Url) -> AlphaVantage {
        AlphaVantage::new("alpha_vantage", base, Some(ApiKey::new(KEY)), reqwest::Client::new())
    }

    fn av_csv(base: Url) -> AlphaVantage {
        av(base).with_format(AlphaVantageFormat::Csv)
    }

    const AV: Subject<AlphaVantage> =
        Subject { at: av, symbol: "ACME", from: "2024-03-04", to: "2024-03-08", secrets: &[KEY] };
    const AV_CSV: Subject<AlphaVantage> = Subject { at: av_csv, ..AV };

    fn expected() -> Vec<Bar> {
        let adjusted = |date: &str, ohlcv: [&str; 5], adj: &str| Bar {
            adj_close: Some(d(adj)),
            ..bar("alpha_vantage", date, ohlcv)
        };
        vec![
            adjusted("2024-03-05", ["404.0000", "408.1200", "401.5000", "406.8800", "1311200"], "101.5200"),
            adjusted("2024-03-06", ["102.0500", "103.2000", "101.4000", "102.9500", "5580100"], "102.7500"),
            adjusted("2024-03-07", ["102.7000", "103.0500", "101.8800", "102.3100", "5120350"], "102.3100"),
        ]
    }

    #[tokio::test]
    async fn json_bars_are_read_exactly_oldest_first_within_the_range() {
        let server = serve(|_| Reply::ok(fixture("alpha_vantage_acme.json"))).await;
        let bars = av(server.base.clone()).daily_bars("ACME", day("2024-03-05"), day("2024-03-07")).await.unwrap();
        assert_eq!(bars, expected());
        let seen = server.seen();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].path, "/query");
        assert_eq!(seen[0].q("function"), Some("TIME_SERIES_DAILY_ADJUSTED"));
        assert_eq!(seen[0].q("symbol"), Some("ACME"));
        assert_eq!(seen[0].q("outputsize"), Some("full"));
        assert_eq!(seen[0].q("datatype"), Some("json"));
        assert_eq!(seen[0].q("apikey"), Some(KEY));
    }

    #[tokio::test]
    async fn csv_bars_are_the_same_bars() {
        let server = serve(|_| Reply::ok(fixture("alpha_vantage_acme.csv"))).await;
        let bars = av_csv(server.base.clone()).daily_bars("ACME", day("2024-03-05"), day("2024-03-07")).await.unwrap();
        assert_eq!(bars, expected());
        assert_eq!(server.seen()[0].q("datatype"), Some("csv"));
    }

    #[tokio::test]
    async fn splits_and_dividends_come_from_fields_7_and_8() {
        for (format, file) in
            [(AlphaVantageFormat::Json, "alpha_vantage_acme.json"), (AlphaVantageFormat::Csv, "alpha_vantage_acme.csv")]
        {
            let server = serve(move |_| Reply::ok(fixture(file))).await;
            let actions = av(server.base.clone())
                .with_format(format)
                .corporate_actions("ACME", day("2024-03-01"), day("2024-03-31"))
                .await
                .unwrap();
            assert_eq!(actions, acme_actions("alpha_vantage"), "{format:?}");
        }
    }

    #[test]
    fn split_coefficients_become_ratios() {
        assert_eq!(split_ratio(d("4.0")), (d("4"), d("1")));
        assert_eq!(split_ratio(d("0.1")), (d("1"), d("10")));
        assert_eq!(split_ratio(d("0.25")), (d("1"), d("4")));
        assert_eq!(split_ratio(d("1.5")), (d("1.5"), d("1")));
    }

    #[tokio::test]
    async fn a_note_or_rate_limit_information_is_rate_limited() {
        let limited = ProviderError::RateLimited { provider: "alpha_vantage".into(), retry_after: None };
        let note = r#"{"Note": "Thank you for using Alpha Vantage! Our standard API call frequency is 5 calls per minute and 500 calls per day. Please visit https://www.alphavantage.co/premium/ if you would like to target a higher API call frequency."}"#;
        assert_eq!(AV.answer(Reply::ok(note)).await, limited);
        let info = r#"{"Information": "Thank you for using Alpha Vantage! Our standard API rate limit is 25 requests per day. Please subscribe to any of the premium plans at https://www.alphavantage.co/premium/ to instantly remove all daily rate limits."}"#;
        assert_eq!(AV.answer(Reply::ok(info)).await, limited);
        AV.assert_rate_limited("").await;
    }

    #[tokio::test]
    async fn key_and_plan_refusals_are_unauthorized() {
        for body in [
            r#"{"Error Message": "the parameter apikey is invalid or missing. Please claim your free API key on (https://www.alphavantage.co/support/#api-key). It should take less than 20 seconds."}"#,
            r#"{"Information": "Thank you for using Alpha Vantage! This is a premium endpoint. You may subscribe to any of the premium plans at https://www.alphavantage.co/premium/ to instantly unlock all premium endpoints"}"#,
            r#"{"Information": "The **demo** API key is for demo purposes only. Please claim your free API key at (https://www.alphavantage.co/support/#api-key) to explore our full API offerings. It takes fewer than 20 seconds."}"#,
        ] {
            assert!(matches!(AV.answer(Reply::ok(body)).await, ProviderError::Unauthorized { .. }), "{body}");
        }
        // Even in CSV mode the refusal is JSON.
        let err = AV_CSV.answer(Reply::ok(r#"{"Error Message": "the parameter apikey is invalid or missing."}"#)).await;
        assert!(matches!(err, ProviderError::Unauthorized { .. }), "{err}");
    }

    #[tokio::test]
    async fn no_key_is_unauthorized_without_a_call() {
        AV.assert_unauthorized_without_calling(|base| {
            AlphaVantage::new("alpha_vantage", base, None, reqwest::Client::new())
        })
        .await;
    }

    #[tokio::test]
    async fn an_unknown_symbol_or_an_empty_range_is_not_found() {
        let body = r#"{"Error Message": "Invalid API call. Please retry or visit the documentation (https://www.alphavantage.co/documentation/) for TIME_SERIES_DAILY_ADJUSTED."}"#;
        assert!(matches!(AV.answer(Reply::ok(body)).await, ProviderError::NotFound { .. }));
        let server = serve(|_| Reply::ok(fixture("alpha_vantage_acme.json"))).await;
        let err = av(server.base.clone()).daily_bars("ACME", day("2023-01-02"), day("2023-12-29")).await.unwrap_err();
        assert!(matches!(err, ProviderError::NotFound { .. }), "{err}");
    }

    #[tokio::test]
    async fn malformed_bodies_are_invalid() {
        let message = AV.invalid(Reply::ok("<html>maintenance</html>")).await;
        assert!(message.contains("not Alpha Vantage's JSON"), "{message}");
        let message =
            AV.invalid(Reply::ok(r#"{"Time Series (Daily)": {"2024-03-04": {"1. open": "402.0000"}}}"#)).await;
        assert!(message.contains("missing field"), "{message}");
        let bad = fixture("alpha_vantage_acme.json").replace("\"101.4000\"", "\"n/a\"");
        let message = AV.invalid(Reply::ok(bad)).await;
        assert!(message == "2024-03-06: low \"n/a\" is not a number", "{message}");
        let message = AV_CSV.invalid(Reply::ok(fixture("alpha_vantage_acme.csv").replace("5580100", "5.5.8"))).await;
        assert!(message == "line 4: 2024-03-06: volume \"5.5.8\" is not a number", "{message}");
        AV.invalid(Reply::ok("{}")).await;
    }

    #[tokio::test]
    async fn server_errors_and_refused_connections_are_unavailable_without_the_key() {
        let err = AV.assert_unavailable(500, "Internal Server Error").await;
        let text = format!("{err} {err:?}");
        assert!(!text.contains("apikey"), "{text}");
    }
}
