//! Alpha Vantage's daily adjusted time series
//! (<https://www.alphavantage.co/documentation/#dailyadj>), in JSON or CSV, and its fundamentals
//! (<https://www.alphavantage.co/documentation/#company-overview>, `#balance-sheet`,
//! `#income-statement`), in JSON.
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
//!
//! # Fundamentals
//!
//! [`Provider::fundamentals`](crate::market::Provider::fundamentals) makes three calls, in this
//! order, each `GET {base}/query?function={F}&symbol={SYMBOL}&apikey={key}` (three of the free
//! plan's 25 calls a day), and stops at the first that fails:
//!
//! 1. `OVERVIEW`: one flat object of the company's figures, as of its `LatestQuarter`.
//! 2. `BALANCE_SHEET`: `annualReports`, one object per fiscal year (`quarterlyReports` are not
//!    read).
//! 3. `INCOME_STATEMENT`: `annualReports` likewise.
//!
//! Values are JSON strings (a JSON number is read the same way): a number is read exactly from
//! its text into `Decimal`, and `"None"`, `"-"`, an empty string, `null` or an absent field are a
//! figure not reported (`None`), never zero. A value that is none of these is `Invalid`, naming the endpoint, the fiscal year
//! and the field. The period is the latest `fiscalDateEnding` that both statements have an
//! annual report for; the start-of-period figures (for averages) come from the balance sheet of
//! the fiscal year before it, when there is one. The figures, by
//! [`Fundamentals`] field:
//!
//! | Field | Alpha Vantage |
//! |---|---|
//! | `period_end` | `fiscalDateEnding` of the chosen annual reports |
//! | `per_share_as_of` | OVERVIEW `LatestQuarter` |
//! | `currency` | the reports' `reportedCurrency` (else OVERVIEW `Currency`) |
//! | `price`, `price_date` | not set: the caller fills in its latest close |
//! | `shares_outstanding` | OVERVIEW `SharesOutstanding` (the latest count), else the balance sheet's `commonStockSharesOutstanding` |
//! | `eps_diluted` | OVERVIEW `DilutedEPSTTM`, else `EPS` |
//! | `eps_growth_percent` | OVERVIEW `TrailingPE` (else `PERatio`) / `PEGRatio`: the growth Alpha Vantage's PEG implies |
//! | `dividends_per_share` | OVERVIEW `DividendPerShare` |
//! | `revenue`, `gross_profit`, `net_income`, `interest_expense` | income statement `totalRevenue`, `grossProfit`, `netIncome`, `interestExpense` |
//! | `operating_income` | income statement `operatingIncome`, else `ebit` |
//! | `total_assets`, `current_assets`, `inventory`, `receivables` | balance sheet `totalAssets`, `totalCurrentAssets`, `inventory`, `currentNetReceivables` |
//! | `cash`, `short_term_investments` | `cashAndCashEquivalentsAtCarryingValue`, `shortTermInvestments` |
//! | `current_liabilities`, `total_liabilities`, `equity` | `totalCurrentLiabilities`, `totalLiabilities`, `totalShareholderEquity` |
//! | `total_debt` | `shortTermDebt` + `longTermDebt` (none if either is not reported) |
//! | `total_assets_start`, `equity_start` | the previous fiscal year's `totalAssets`, `totalShareholderEquity` |
//!
//! Choices the table implies: the income-statement figures and the balance sheet are the latest
//! **fiscal year**, so the margins, ROE, ROA and turnover describe one audited year, while the
//! per-share figures (diluted EPS, dividends per share) are the trailing twelve months to the
//! latest quarter, which is what a P/E on today's price conventionally uses; `per_share_as_of`
//! records that date. Alpha Vantage does not say which period `DividendPerShare` covers; it is
//! taken as the trailing twelve months' dividends, as [`Fundamentals::dividends_per_share`] is.
//! `QuarterlyEarningsGrowthYOY` is one quarter's change on a year before, not the expected annual
//! growth PEG divides by, so the growth is the one Alpha Vantage's own `PEGRatio` implies (P/E /
//! PEG, on its price): with cairn's price the PEG is Alpha Vantage's rescaled to that price, and
//! without a positive `PEGRatio` and P/E there is no growth and no PEG. Total debt is the
//! interest-bearing debt as Alpha Vantage splits it, current (`shortTermDebt`) and non-current
//! (`longTermDebt`); `shortLongTermDebtTotal` is not used because it also counts
//! `capitalLeaseObligations` (in Alpha Vantage's documented IBM example, 58,396 M for fiscal
//! 2024 is `currentLongTermDebt` 5,089 + `longTermDebt` 49,884 + leases 3,423). Alpha Vantage
//! does not define its fields, so the sum is only as close to a filing's total debt as its
//! normalization is (in the same example `shortTermDebt` is 5,857 M against
//! `currentLongTermDebt`'s 5,089 M).
//!
//! **Answers**: an empty object `{}` (what Alpha Vantage answers for a symbol it has no
//! fundamentals for, an ETF's statements, a typo) is `NotFound`, as are an empty
//! `annualReports`, statements with no fiscal year in common, and a company whose statements
//! are in another currency than its listing (OVERVIEW `Currency`): such figures cannot share
//! ratios with a price without a conversion this adapter does not make. The balance sheet and
//! income statement in two currencies, a body that is not a JSON object, or a statement without
//! `annualReports` is `Invalid`. The error objects (`Error Message`, `Note`, `Information`) map
//! as for the daily series.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use domain::fundamentals::Fundamentals;
use domain::market::Bar;
use reqwest::Url;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::value::RawValue;

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

/// A body of the fundamentals endpoints, or one of its reports: values by name, each as the
/// body wrote it.
type Object = BTreeMap<String, Box<RawValue>>;

/// The value `name` of `object` as text: a JSON string unescaped, any other JSON token as
/// written; `None` when absent or `null`.
fn text(object: &Object, name: &str) -> Option<String> {
    let raw = object.get(name)?.get();
    if raw == "null" {
        return None;
    }
    Some(serde_json::from_str::<String>(raw).unwrap_or_else(|_| raw.to_owned()))
}

/// The figure `name` of `object`: `None` when it is not reported (absent, `null`, `"None"`,
/// `"-"`, empty), else its exact value; the error names the field.
fn figure(object: &Object, name: &str) -> Result<Option<Decimal>, String> {
    match text(object, name) {
        None => Ok(None),
        Some(t) if matches!(t.trim(), "None" | "-" | "") => Ok(None),
        Some(t) => decimal(&t).map(Some).ok_or_else(|| format!("{name} {t:?} is not a number")),
    }
}

/// The date `name` of `object` (`YYYY-MM-DD`), `None` when it is not reported.
fn date(object: &Object, name: &str) -> Result<Option<NaiveDate>, String> {
    match text(object, name) {
        None => Ok(None),
        Some(t) if matches!(t.trim(), "None" | "-" | "") => Ok(None),
        Some(t) => NaiveDate::parse_from_str(t.trim(), "%Y-%m-%d")
            .map(Some)
            .map_err(|_| format!("{name} {t:?} is not a date (YYYY-MM-DD)")),
    }
}

/// A currency field, `None` when not reported.
fn currency(object: &Object, name: &str) -> Option<String> {
    text(object, name).map(|t| t.trim().to_owned()).filter(|t| !matches!(t.as_str(), "None" | "-" | ""))
}

/// `a + b` when both are reported.
fn sum(a: Option<Decimal>, b: Option<Decimal>) -> Option<Decimal> {
    a?.checked_add(b?)
}

/// The growth rate in percent that a P/E and a PEG ratio imply (`P/E / PEG`), when both are
/// above 0.
fn implied_growth(pe: Option<Decimal>, peg: Option<Decimal>) -> Option<Decimal> {
    let (pe, peg) = (pe?, peg?);
    if pe <= Decimal::ZERO || peg <= Decimal::ZERO {
        return None;
    }
    pe.checked_div(peg)
}

impl AlphaVantage {
    /// The body of the fundamentals endpoint `function` for `symbol`: an object with data, its
    /// error objects mapped as the daily series' are, `{}` `NotFound`.
    async fn fundamentals_body(&self, function: &str, symbol: &str) -> Result<Object, ProviderError> {
        let key = self.key.as_ref().ok_or_else(|| self.http.unauthorized("no API key is configured"))?;
        let url = self
            .http
            .url(&["query"], &[("function", function), ("symbol", symbol.trim()), ("apikey", key.expose())])?;
        let body = self.http.get(url, &[], &[key]).await?;
        let body = String::from_utf8_lossy(&body);
        let object: Object = serde_json::from_str(body.trim()).map_err(|e| {
            self.http.invalid(format!("not Alpha Vantage's {function} JSON ({e}): the body starts {:?}", clip(&body)))
        })?;
        let said = |name: &str| text(&object, name);
        let (error, note, information) = (said("Error Message"), said("Note"), said("Information"));
        if error.is_some() || note.is_some() || information.is_some() {
            return Err(self.refusal(error, note, information, key));
        }
        if object.is_empty() {
            return Err(self.http.not_found(format!("{function}: no data for {:?}", symbol.trim())));
        }
        Ok(object)
    }

    /// The annual reports of a statement's body, by fiscal date; none is `NotFound`.
    fn annual_reports(&self, function: &str, body: &Object) -> Result<BTreeMap<NaiveDate, Object>, ProviderError> {
        let raw = body
            .get("annualReports")
            .ok_or_else(|| self.http.invalid(format!("{function}: an answer without annualReports")))?;
        let reports: Vec<Object> = serde_json::from_str(raw.get())
            .map_err(|e| self.http.invalid(format!("{function}: annualReports is not a list of objects: {e}")))?;
        let mut by_date = BTreeMap::new();
        for report in reports {
            let day = date(&report, "fiscalDateEnding")
                .map_err(|m| self.http.invalid(format!("{function}: {m}")))?
                .ok_or_else(|| self.http.invalid(format!("{function}: an annual report without fiscalDateEnding")))?;
            if by_date.insert(day, report).is_some() {
                return Err(self.http.invalid(format!("{function}: two annual reports for {day}")));
            }
        }
        if by_date.is_empty() {
            return Err(self.http.not_found(format!("{function}: no annual reports")));
        }
        Ok(by_date)
    }

    /// The fundamentals of `symbol` from its overview and latest annual statements (see the
    /// module docs); no price.
    async fn company(&self, symbol: &str) -> Result<Fundamentals, ProviderError> {
        let overview = self.fundamentals_body("OVERVIEW", symbol).await?;
        let balance = self.annual_reports("BALANCE_SHEET", &self.fundamentals_body("BALANCE_SHEET", symbol).await?)?;
        let income =
            self.annual_reports("INCOME_STATEMENT", &self.fundamentals_body("INCOME_STATEMENT", symbol).await?)?;
        let Some((&period_end, sheet)) = balance.iter().rev().find(|(day, _)| income.contains_key(day)) else {
            let latest = |reports: &BTreeMap<NaiveDate, Object>| reports.keys().next_back().copied();
            return Err(self.http.not_found(format!(
                "no fiscal year has both a balance sheet (latest {}) and an income statement (latest {})",
                latest(&balance).map(|d| d.to_string()).unwrap_or_default(),
                latest(&income).map(|d| d.to_string()).unwrap_or_default(),
            )));
        };
        let statement = &income[&period_end];
        let before = balance.range(..period_end).next_back();

        let invalid = |what: &str, m: String| self.http.invalid(format!("{what}: {m}"));
        let sheet_of = format!("BALANCE_SHEET {period_end}");
        let statement_of = format!("INCOME_STATEMENT {period_end}");
        let o = |name: &str| figure(&overview, name).map_err(|m| invalid("OVERVIEW", m));
        let b = |name: &str| figure(sheet, name).map_err(|m| invalid(&sheet_of, m));
        let i = |name: &str| figure(statement, name).map_err(|m| invalid(&statement_of, m));
        let start = |name: &str| match before {
            Some((day, report)) => figure(report, name).map_err(|m| invalid(&format!("BALANCE_SHEET {day}"), m)),
            None => Ok(None),
        };

        let reported = match (currency(sheet, "reportedCurrency"), currency(statement, "reportedCurrency")) {
            (Some(a), Some(b)) if !a.eq_ignore_ascii_case(&b) => {
                return Err(self
                    .http
                    .invalid(format!("the balance sheet of {period_end} is in {a} but the income statement in {b}")));
            }
            (a, b) => a.or(b),
        };
        let listed = currency(&overview, "Currency");
        if let (Some(reported), Some(listed)) = (&reported, &listed) {
            if !reported.eq_ignore_ascii_case(listed) {
                return Err(self.http.not_found(format!(
                    "{:?} is listed in {listed} but reports in {reported}: its figures and a price need a \
                     conversion this adapter does not make",
                    symbol.trim()
                )));
            }
        }

        Ok(Fundamentals {
            per_share_as_of: date(&overview, "LatestQuarter").map_err(|m| invalid("OVERVIEW", m))?,
            currency: reported.or(listed).map(|c| c.to_ascii_uppercase()),
            shares_outstanding: o("SharesOutstanding")?.or(b("commonStockSharesOutstanding")?),
            revenue: i("totalRevenue")?,
            gross_profit: i("grossProfit")?,
            operating_income: i("operatingIncome")?.or(i("ebit")?),
            net_income: i("netIncome")?,
            eps_diluted: o("DilutedEPSTTM")?.or(o("EPS")?),
            eps_growth_percent: implied_growth(o("TrailingPE")?.or(o("PERatio")?), o("PEGRatio")?),
            dividends_per_share: o("DividendPerShare")?,
            total_assets: b("totalAssets")?,
            total_assets_start: start("totalAssets")?,
            current_assets: b("totalCurrentAssets")?,
            inventory: b("inventory")?,
            cash: b("cashAndCashEquivalentsAtCarryingValue")?,
            short_term_investments: b("shortTermInvestments")?,
            receivables: b("currentNetReceivables")?,
            current_liabilities: b("totalCurrentLiabilities")?,
            total_liabilities: b("totalLiabilities")?,
            total_debt: sum(b("shortTermDebt")?, b("longTermDebt")?),
            equity: b("totalShareholderEquity")?,
            equity_start: start("totalShareholderEquity")?,
            interest_expense: i("interestExpense")?,
            ..Fundamentals::new(symbol.trim(), period_end, self.http.name.clone())
        })
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
    const SERVES: &'static [Capability] =
        &[Capability::DailyBars, Capability::CorporateActions, Capability::Fundamentals];

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

    async fn financials(&self, symbol: &str) -> Result<Fundamentals, ProviderError> {
        self.company(symbol).await
    }
}

#[cfg(test)]
mod tests {
    use domain::fundamentals::ratios;

    use super::*;
    use crate::market::provider::Provider;
    use crate::market::providers::testing::{acme_actions, bar, d, day, fixture, serve, Reply, Seen, Subject};

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

    /// ACME's three fundamentals bodies, by `function`, each passed through `edit` (the
    /// function's name and the fixture's text).
    fn acme_fundamentals(edit: impl Fn(&str, String) -> String + Send + Sync + 'static) -> impl Fn(&Seen) -> Reply {
        move |seen: &Seen| {
            let function = seen.q("function").unwrap_or_default().to_owned();
            let file = match function.as_str() {
                "OVERVIEW" => "alpha_vantage_acme_overview.json",
                "BALANCE_SHEET" => "alpha_vantage_acme_balance_sheet.json",
                "INCOME_STATEMENT" => "alpha_vantage_acme_income_statement.json",
                other => return Reply::new(400, format!("unexpected function {other}")),
            };
            Reply::ok(edit(&function, fixture(file)))
        }
    }

    /// The error of ACME's fundamentals from a server answering `respond`, with the number of
    /// requests it saw; the key never shows in it.
    async fn fundamentals_error(respond: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> (ProviderError, usize) {
        let server = serve(respond).await;
        let err = av(server.base.clone()).fundamentals("ACME").await.unwrap_err();
        let text = format!("{err} {err:?}");
        assert!(!text.contains(KEY), "{text}");
        (err, server.seen().len())
    }

    /// ACME's fundamentals with the fixtures as they are.
    fn acme() -> Fundamentals {
        Fundamentals {
            per_share_as_of: Some(day("2024-03-31")),
            currency: Some("USD".into()),
            shares_outstanding: Some(d("400000000")),
            revenue: Some(d("40000000000")),
            gross_profit: Some(d("16000000000")),
            operating_income: Some(d("6000000000")),
            net_income: Some(d("4000000000")),
            eps_diluted: Some(d("5.05")),
            eps_growth_percent: Some(d("12")),
            dividends_per_share: Some(d("0.8")),
            total_assets: Some(d("50000000000")),
            total_assets_start: Some(d("46000000000")),
            current_assets: Some(d("20000000000")),
            inventory: Some(d("4000000000")),
            cash: Some(d("5000000000")),
            short_term_investments: Some(d("2000000000")),
            receivables: Some(d("6000000000")),
            current_liabilities: Some(d("10000000000")),
            total_liabilities: Some(d("30000000000")),
            total_debt: Some(d("13000000000")),
            equity: Some(d("20000000000")),
            equity_start: Some(d("18000000000")),
            interest_expense: Some(d("500000000")),
            ..Fundamentals::new("ACME", day("2023-12-31"), "alpha_vantage")
        }
    }

    #[tokio::test]
    async fn fundamentals_come_from_the_overview_and_the_latest_annual_statements() {
        let server = serve(acme_fundamentals(|_, body| body)).await;
        let provider = av(server.base.clone());
        assert!(provider.capabilities().contains(&Capability::Fundamentals));
        let f = provider.fundamentals(" ACME ").await.unwrap();
        assert_eq!(f, acme());
        let seen = server.seen();
        let functions: Vec<_> = seen.iter().map(|s| s.q("function").unwrap_or_default()).collect();
        assert_eq!(functions, ["OVERVIEW", "BALANCE_SHEET", "INCOME_STATEMENT"]);
        for request in &seen {
            assert_eq!(request.path, "/query");
            assert_eq!(request.q("symbol"), Some("ACME"));
            assert_eq!(request.q("apikey"), Some(KEY));
            assert_eq!(request.q("datatype"), None);
        }
    }

    #[tokio::test]
    async fn the_ratios_of_the_fetched_fundamentals_at_the_callers_price() {
        let server = serve(acme_fundamentals(|_, body| body)).await;
        let mut f = av(server.base.clone()).fundamentals("ACME").await.unwrap();
        assert_eq!(f.price, None);
        f.price = Some(d("102"));
        f.price_date = Some(day("2024-04-01"));
        let r = ratios(&f);
        let pe = d("102") / d("5.05");
        let expected = [
            (&r.price_to_earnings, pe),
            // 102 × 400 M = 40.8 B of market capitalization.
            (&r.price_to_book, d("2.04")),
            (&r.price_to_sales, d("1.02")),
            // The growth Alpha Vantage's PEG implies: 20.4 / 1.7 = 12 %.
            (&r.peg, pe / d("12")),
            (&r.dividend_yield, d("0.8") / d("102")),
            // 4 B over the average of 18 B and 20 B; over the average of 46 B and 50 B.
            (&r.return_on_equity, d("4") / d("19")),
            (&r.return_on_assets, d("4") / d("48")),
            (&r.gross_margin, d("0.4")),
            (&r.operating_margin, d("0.15")),
            (&r.net_margin, d("0.1")),
            (&r.current_ratio, d("2")),
            // (5 + 2 + 6) / 10.
            (&r.quick_ratio, d("1.3")),
            // (1 + 12) / 20.
            (&r.debt_to_equity, d("0.65")),
            (&r.interest_coverage, d("12")),
            (&r.asset_turnover, d("40") / d("48")),
        ];
        for (ratio, value) in expected {
            assert_eq!(ratio.value, Some(value), "{}: {:?}", ratio.formula, ratio.reason);
        }
        assert_eq!(r.price_to_earnings.rounded(2), Some(d("20.20")));
        assert_eq!(r.return_on_equity.rounded(4), Some(d("0.2105")));
    }

    #[tokio::test]
    async fn figures_alpha_vantage_does_not_report_are_none_and_their_ratios_say_so() {
        let server = serve(acme_fundamentals(|function, body| match function {
            "OVERVIEW" => body
                .replace(r#""DilutedEPSTTM": "5.05""#, r#""DilutedEPSTTM": "None""#)
                .replace(r#""PEGRatio": "1.7""#, r#""PEGRatio": "-""#)
                .replace(r#""SharesOutstanding": "400000000""#, r#""SharesOutstanding": "None""#),
            "BALANCE_SHEET" => body
                .replacen(r#""shortTermInvestments": "2000000000""#, r#""shortTermInvestments": "None""#, 1)
                .replacen(r#""shortTermDebt": "1000000000""#, r#""shortTermDebt": "None""#, 1),
            _ => body.replacen(r#""interestExpense": "500000000""#, r#""interestExpense": "None""#, 1),
        }))
        .await;
        let mut f = av(server.base.clone()).fundamentals("ACME").await.unwrap();
        assert_eq!(
            f,
            Fundamentals {
                // The EPS of the overview without DilutedEPSTTM; the balance sheet's share count.
                eps_diluted: Some(d("5.1")),
                shares_outstanding: Some(d("401000000")),
                eps_growth_percent: None,
                short_term_investments: None,
                total_debt: None,
                interest_expense: None,
                ..acme()
            }
        );
        f.price = Some(d("102"));
        let r = ratios(&f);
        assert_eq!(r.peg.reason.as_deref(), Some("missing: EPS growth rate"));
        assert_eq!(r.debt_to_equity.reason.as_deref(), Some("missing: total debt"));
        assert_eq!(r.interest_coverage.reason.as_deref(), Some("missing: interest expense"));
        // (20 − 4) / 10, the fallback without short-term investments.
        assert_eq!(r.quick_ratio.value, Some(d("1.6")));
        assert_eq!(r.quick_ratio.formula, domain::fundamentals::formula::QUICK_FALLBACK);
    }

    #[tokio::test]
    async fn without_an_earlier_balance_sheet_there_is_no_start_of_the_period() {
        let server = serve(acme_fundamentals(|function, body| {
            if function != "BALANCE_SHEET" {
                return body;
            }
            let mut v: serde_json::Value = serde_json::from_str(&body).unwrap();
            v["annualReports"].as_array_mut().unwrap().truncate(1);
            v.to_string()
        }))
        .await;
        let f = av(server.base.clone()).fundamentals("ACME").await.unwrap();
        assert_eq!(f, Fundamentals { total_assets_start: None, equity_start: None, ..acme() });
    }

    #[tokio::test]
    async fn the_period_is_the_latest_year_both_statements_have() {
        // An income statement a year behind: the balance sheets of 2022 and 2021 are used.
        let server = serve(acme_fundamentals(|function, body| {
            if function != "INCOME_STATEMENT" {
                return body;
            }
            let mut v: serde_json::Value = serde_json::from_str(&body).unwrap();
            v["annualReports"].as_array_mut().unwrap().remove(0);
            v.to_string()
        }))
        .await;
        let f = av(server.base.clone()).fundamentals("ACME").await.unwrap();
        assert_eq!(f.period_end, day("2022-12-31"));
        assert_eq!((f.total_assets, f.total_assets_start), (Some(d("46000000000")), Some(d("40000000000"))));
        assert_eq!(f.revenue, Some(d("37000000000")));

        let (err, _) = fundamentals_error(acme_fundamentals(|function, body| match function {
            "INCOME_STATEMENT" => {
                body.replace("\"2023-12-31\"", "\"2020-12-31\"").replace("\"2022-12-31\"", "\"2019-12-31\"")
            }
            _ => body,
        }))
        .await;
        assert!(matches!(&err, ProviderError::NotFound { message, .. } if message.contains("no fiscal year")), "{err}");
    }

    #[tokio::test]
    async fn an_empty_answer_is_not_found_and_stops_the_calls() {
        let (err, calls) = fundamentals_error(|_| Reply::ok("{}")).await;
        assert!(matches!(err, ProviderError::NotFound { .. }), "{err}");
        assert_eq!(calls, 1);
        let (err, calls) =
            fundamentals_error(acme_fundamentals(|f, body| if f == "BALANCE_SHEET" { "{}".into() } else { body }))
                .await;
        assert!(matches!(err, ProviderError::NotFound { .. }), "{err}");
        assert_eq!(calls, 2);
        let (err, _) = fundamentals_error(acme_fundamentals(|f, body| {
            if f == "INCOME_STATEMENT" {
                r#"{"symbol": "ACME", "annualReports": [], "quarterlyReports": []}"#.into()
            } else {
                body
            }
        }))
        .await;
        assert!(
            matches!(&err, ProviderError::NotFound { message, .. } if message == "INCOME_STATEMENT: no annual reports"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn fundamentals_error_objects_map_as_the_daily_series_does() {
        let note = r#"{"Note": "Thank you for using Alpha Vantage! Our standard API call frequency is 5 calls per minute and 500 calls per day."}"#;
        let info = r#"{"Information": "Thank you for using Alpha Vantage! Our standard API rate limit is 25 requests per day."}"#;
        let limited = ProviderError::RateLimited { provider: "alpha_vantage".into(), retry_after: None };
        for body in [note, info] {
            assert_eq!(fundamentals_error(move |_| Reply::ok(body)).await.0, limited);
            // Limited on the third call: no fundamentals.
            let (err, calls) =
                fundamentals_error(acme_fundamentals(
                    move |f, text| {
                        if f == "INCOME_STATEMENT" {
                            body.into()
                        } else {
                            text
                        }
                    },
                ))
                .await;
            assert_eq!((err, calls), (limited.clone(), 3));
        }
        let key = r#"{"Error Message": "the parameter apikey is invalid or missing. Please claim your free API key on (https://www.alphavantage.co/support/#api-key)."}"#;
        assert!(matches!(fundamentals_error(move |_| Reply::ok(key)).await.0, ProviderError::Unauthorized { .. }));
        let unknown = r#"{"Error Message": "Invalid API call. Please retry or visit the documentation (https://www.alphavantage.co/documentation/) for OVERVIEW."}"#;
        assert!(matches!(fundamentals_error(move |_| Reply::ok(unknown)).await.0, ProviderError::NotFound { .. }));
        let (err, _) = fundamentals_error(|_| Reply::new(429, "").header("Retry-After", "7")).await;
        assert_eq!(
            err,
            ProviderError::RateLimited {
                provider: "alpha_vantage".into(),
                retry_after: Some(std::time::Duration::from_secs(7))
            }
        );
        assert!(matches!(fundamentals_error(|_| Reply::new(503, "down")).await.0, ProviderError::Unavailable { .. }));
    }

    #[tokio::test]
    async fn fundamentals_without_a_key_make_no_call() {
        let server = serve(|_| Reply::ok("{}")).await;
        let provider = AlphaVantage::new("alpha_vantage", server.base.clone(), None, reqwest::Client::new());
        let err = provider.fundamentals("ACME").await.unwrap_err();
        assert!(matches!(err, ProviderError::Unauthorized { .. }), "{err}");
        assert!(server.seen().is_empty());
    }

    #[tokio::test]
    async fn malformed_fundamentals_are_invalid_naming_the_field() {
        let invalid = |err: ProviderError| match err {
            ProviderError::Invalid { message, .. } => message,
            other => panic!("not Invalid: {other}"),
        };
        let (err, _) = fundamentals_error(acme_fundamentals(|f, body| {
            if f == "BALANCE_SHEET" {
                body.replacen("\"50000000000\"", "\"5O000000000\"", 1)
            } else {
                body
            }
        }))
        .await;
        assert_eq!(invalid(err), "BALANCE_SHEET 2023-12-31: totalAssets \"5O000000000\" is not a number");
        let (err, _) = fundamentals_error(acme_fundamentals(|f, body| {
            if f == "OVERVIEW" {
                body.replace("\"2024-03-31\"", "\"31/03/2024\"")
            } else {
                body
            }
        }))
        .await;
        assert_eq!(invalid(err), "OVERVIEW: LatestQuarter \"31/03/2024\" is not a date (YYYY-MM-DD)");
        let (err, _) = fundamentals_error(acme_fundamentals(|f, body| {
            if f == "INCOME_STATEMENT" {
                r#"{"symbol": "ACME"}"#.into()
            } else {
                body
            }
        }))
        .await;
        assert_eq!(invalid(err), "INCOME_STATEMENT: an answer without annualReports");
        let (err, _) = fundamentals_error(|_| Reply::ok("<html>maintenance</html>")).await;
        assert!(invalid(err).starts_with("not Alpha Vantage's OVERVIEW JSON"));
        let (err, _) = fundamentals_error(acme_fundamentals(|f, body| {
            if f == "INCOME_STATEMENT" {
                body.replace("\"USD\"", "\"EUR\"")
            } else {
                body
            }
        }))
        .await;
        assert_eq!(invalid(err), "the balance sheet of 2023-12-31 is in USD but the income statement in EUR");
    }

    #[tokio::test]
    async fn statements_in_another_currency_than_the_listing_are_not_found() {
        let (err, _) = fundamentals_error(acme_fundamentals(|f, body| {
            if f == "OVERVIEW" {
                body
            } else {
                body.replace("\"USD\"", "\"TWD\"")
            }
        }))
        .await;
        assert!(
            matches!(&err, ProviderError::NotFound { message, .. } if message.contains("listed in USD but reports in TWD")),
            "{err}"
        );
    }
}
