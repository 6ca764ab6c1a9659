//! A company's fundamentals ([`Fundamentals`]: figures from its income statement and balance
//! sheet, a few per-share figures, and a share price) and the financial ratios computed from
//! them ([`ratios`] → [`Ratios`]).
//!
//! Every figure is optional, because vendors omit fields. Every ratio is a [`Ratio`]: its value,
//! the formula it was computed by, and, when it has no value, the reason a person can read
//! (`missing: revenue`, `negative earnings`, `no interest expense`). A ratio whose denominator
//! is zero, or whose sign makes it meaningless, has no value: nothing here divides by zero,
//! returns an infinity or panics (an overflow of `Decimal`'s range is a reason as well).
//! Nothing is rounded: values carry `Decimal`'s 28 digits, and [`Ratio::rounded`] rounds one
//! for display.
//!
//! # The figures
//!
//! One [`Fundamentals`] describes one period: the balance-sheet figures are those at
//! `period_end`, and the income-statement figures (revenue, gross profit, operating income, net
//! income, interest expense) are those of the twelve months ending on `period_end` (a fiscal
//! year, or the trailing twelve months where a source adds up four quarters). The figures at
//! the start of the period (`total_assets_start`, `equity_start`: the balance sheet twelve
//! months earlier, i.e. the previous fiscal year's end) are optional and only serve averages.
//! The per-share figures (diluted EPS, dividends per share) are trailing twelve months' figures
//! as of `per_share_as_of` when a source gives them separately (a vendor's latest quarter), else
//! of the period. All amounts are in `currency`, the currency of the statements; the price must
//! be in the same currency (a listing quoted in another currency, such as an ADR, must be
//! converted first), and for an ADR the shares and per-share figures must be on the same basis.
//!
//! The price is the share price the price multiples use, with its date; a vendor's adapter
//! usually leaves it out and the caller fills it in from the latest recorded close.
//!
//! # The ratios
//!
//! Multiples (P/E, P/B, P/S, PEG, the current and quick ratios, debt-to-equity, interest
//! coverage, asset turnover) are plain numbers ("times"); the dividend yield, ROE, ROA and the
//! margins are fractions (`0.25` is 25 %). Market capitalization is price × shares outstanding.
//!
//! | Ratio | Formula | No value when |
//! |---|---|---|
//! | P/E | price / diluted EPS; without EPS, price × shares / net income | EPS (or net income) ≤ 0: `negative earnings` / `zero earnings`; neither EPS nor net income and shares: `EPS not reported …` |
//! | P/B | price / (equity / shares), computed as price × shares / equity | equity ≤ 0: `negative book value` / `zero book value` |
//! | P/S | price × shares / revenue | revenue ≤ 0 |
//! | PEG | P/E / expected annual EPS growth in percent | no P/E; growth ≤ 0 |
//! | Dividend yield | dividends per share / price | negative dividends (no dividends is a yield of 0) |
//! | ROE | net income / average equity | equity ≤ 0 (at the end or the start): `negative equity makes ROE meaningless` |
//! | ROA | net income / average total assets | total assets ≤ 0 |
//! | Gross, operating, net margin | gross profit, operating income, net income / revenue | revenue ≤ 0 |
//! | Current ratio | current assets / current liabilities | current liabilities ≤ 0 |
//! | Quick ratio | (cash + short-term investments + receivables) / current liabilities; without those, (current assets − inventory) / current liabilities | current liabilities ≤ 0 |
//! | Debt-to-equity | total debt / equity | equity ≤ 0 |
//! | Interest coverage | operating income (EBIT) / interest expense | interest expense 0: `no interest expense`; negative |
//! | Asset turnover | revenue / average total assets | total assets ≤ 0 |
//!
//! Every ratio also needs a price above 0 where it uses the price, shares outstanding above 0
//! where it uses them, and each of its inputs: a missing one is `missing: …`, naming all the
//! missing inputs at once. A negative numerator is kept (a loss gives a negative margin, ROE or
//! ROA; an operating loss a negative interest coverage): only denominators, and the earnings
//! under P/E and PEG, are held to a sign.
//!
//! # Conventions
//!
//! - **P/E is trailing and diluted**: the price over diluted EPS of the trailing twelve months.
//!   A P/E over negative earnings is not reported (as data vendors print "NM" or "—"), since a
//!   negative multiple does not rank with positive ones. Without a reported EPS it falls back to
//!   net income / shares outstanding (the formula says so), which ignores dilution and the
//!   weighting of shares over the year.
//! - **P/B** uses total shareholders' equity (common equity; preferred stock, if any, should be
//!   left out by the source) at the period's end, per share of the shares outstanding.
//! - **PEG** is P/E divided by the expected annual EPS growth rate **in percent** (a P/E of 30
//!   and growth of 15 % give 2), as it is quoted; growth at or below zero gives no PEG.
//! - **Dividend yield** uses the dividends declared per share over the trailing twelve months
//!   (not a forward annualized rate), over the price.
//! - **Averages** (ROE, ROA, asset turnover: a flow over a stock) are the simple average of the
//!   start and the end of the period, `(start + end) / 2`, when the start is given, and the end
//!   figure alone otherwise; the formula text says which. Both ends must be above 0 (a
//!   negative equity at either end makes an average equity, and ROE, meaningless).
//! - **Quick ratio** is the conservative acid test: only cash and equivalents, short-term
//!   (marketable) investments and receivables (all current receivables, trade and non-trade)
//!   count. When any of the three is missing it falls back to current assets less inventory,
//!   which also counts prepaid expenses and other current assets, and the formula says so.
//! - **Debt-to-equity** uses total debt (interest-bearing short- and long-term borrowings,
//!   current portion included), **not** total liabilities: payables, deferred revenue and other
//!   operating liabilities are not debt. `total_liabilities` is kept as a figure but no ratio here
//!   uses it.
//! - **Interest coverage** uses operating income as EBIT and interest expense as a positive
//!   amount; no interest expense gives no value (`no interest expense`), not infinity.
//! - **Margins** are over revenue (net sales); net margin uses net income attributable to
//!   common shareholders.
//!
//! # Sources
//!
//! - CFA Institute, CFA Program Curriculum Level I, "Financial Analysis Techniques" (the
//!   activity, liquidity, solvency and profitability ratios: asset turnover = revenue / average
//!   total assets; current ratio; quick ratio = (cash + short-term marketable investments +
//!   receivables) / current liabilities; debt-to-equity = total debt / total shareholders'
//!   equity; interest coverage = EBIT / interest payments; gross, operating and net margins;
//!   ROA = net income / average total assets; ROE = net income / average total equity).
//! - CFA Institute, CFA Program Curriculum Level II, "Market-Based Valuation: Price and
//!   Enterprise Value Multiples" (trailing P/E, P/B, P/S, the PEG ratio as P/E over the expected
//!   earnings growth rate in percent, dividend yield, and why a P/E over negative earnings is
//!   not meaningful).
//! - U.S. Securities and Exchange Commission, "Beginners' Guide to Financial Statements"
//!   (sec.gov, Office of Investor Education and Advocacy): what the balance-sheet and
//!   income-statement lines used here (current assets and liabilities, shareholders' equity,
//!   revenue, gross profit, operating income, net income, EPS) are.
//! - The worked example in the tests: Apple Inc., Form 10-K for the fiscal year ended
//!   September 30, 2023 (SEC EDGAR).

use chrono::NaiveDate;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

/// A company's fundamentals for one period (see the module docs for what each figure covers).
/// Amounts are in `currency`, per-share figures per share, counts in shares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fundamentals {
    pub symbol: String,
    /// The end of the fiscal period: the date of the balance sheet, and the last day of the
    /// twelve months the income-statement figures cover.
    pub period_end: NaiveDate,
    /// The end of the trailing twelve months that diluted EPS and dividends per share cover,
    /// when the source gives them as of another date than `period_end` (its latest quarter).
    pub per_share_as_of: Option<NaiveDate>,
    /// The currency of the statements (ISO 4217, `USD`), which the price must be in too.
    pub currency: Option<String>,
    /// The share price the price multiples use.
    pub price: Option<Decimal>,
    /// The day of `price` (a close).
    pub price_date: Option<NaiveDate>,
    /// Common shares outstanding (the latest count the source gives).
    pub shares_outstanding: Option<Decimal>,
    /// Revenue (net sales) over the twelve months.
    pub revenue: Option<Decimal>,
    /// Revenue less the cost of revenue.
    pub gross_profit: Option<Decimal>,
    /// Operating income, used as EBIT.
    pub operating_income: Option<Decimal>,
    /// Net income attributable to common shareholders over the twelve months.
    pub net_income: Option<Decimal>,
    /// Diluted earnings per share, trailing twelve months.
    pub eps_diluted: Option<Decimal>,
    /// The expected annual EPS growth rate in percent, as quoted for the PEG ratio (`12` is
    /// 12 % a year).
    pub eps_growth_percent: Option<Decimal>,
    /// Dividends declared per share over the trailing twelve months (not a forward rate).
    pub dividends_per_share: Option<Decimal>,
    /// Total assets at `period_end`.
    pub total_assets: Option<Decimal>,
    /// Total assets at the start of the period (the previous period's end), for averages.
    pub total_assets_start: Option<Decimal>,
    pub current_assets: Option<Decimal>,
    pub inventory: Option<Decimal>,
    /// Cash and cash equivalents.
    pub cash: Option<Decimal>,
    /// Short-term (current) marketable investments.
    pub short_term_investments: Option<Decimal>,
    /// Current receivables, net (trade and non-trade).
    pub receivables: Option<Decimal>,
    pub current_liabilities: Option<Decimal>,
    /// Total liabilities (kept for display; debt-to-equity uses `total_debt`).
    pub total_liabilities: Option<Decimal>,
    /// Interest-bearing debt, short- and long-term (current portion included).
    pub total_debt: Option<Decimal>,
    /// Total shareholders' equity at `period_end`.
    pub equity: Option<Decimal>,
    /// Total shareholders' equity at the start of the period, for averages.
    pub equity_start: Option<Decimal>,
    /// Interest expense over the twelve months, as a positive amount.
    pub interest_expense: Option<Decimal>,
    /// Where the figures come from (a provider's name, or a filing).
    pub source: String,
}

impl Fundamentals {
    /// The fundamentals of `symbol` for the period ending `period_end` from `source`, with no
    /// figure yet.
    pub fn new(symbol: impl Into<String>, period_end: NaiveDate, source: impl Into<String>) -> Self {
        Self {
            symbol: symbol.into(),
            period_end,
            per_share_as_of: None,
            currency: None,
            price: None,
            price_date: None,
            shares_outstanding: None,
            revenue: None,
            gross_profit: None,
            operating_income: None,
            net_income: None,
            eps_diluted: None,
            eps_growth_percent: None,
            dividends_per_share: None,
            total_assets: None,
            total_assets_start: None,
            current_assets: None,
            inventory: None,
            cash: None,
            short_term_investments: None,
            receivables: None,
            current_liabilities: None,
            total_liabilities: None,
            total_debt: None,
            equity: None,
            equity_start: None,
            interest_expense: None,
            source: source.into(),
        }
    }
}

/// One ratio: its value, or none and the reason; and the formula it was (or would have been)
/// computed by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ratio {
    pub value: Option<Decimal>,
    pub formula: &'static str,
    /// Why there is no value (`None` when there is one).
    pub reason: Option<String>,
}

impl Ratio {
    fn from(formula: &'static str, computed: Result<Decimal, String>) -> Self {
        match computed {
            Ok(value) => Self { value: Some(value), formula, reason: None },
            Err(reason) => Self { value: None, formula, reason: Some(reason) },
        }
    }

    /// The value rounded to `dp` decimal places for display, halves away from zero (`0.5` →
    /// `1`, `-0.5` → `-1`).
    pub fn rounded(&self, dp: u32) -> Option<Decimal> {
        self.value.map(|v| v.round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero))
    }
}

/// The ratios of one [`Fundamentals`] (see the module docs for each formula and convention).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ratios {
    pub price_to_earnings: Ratio,
    pub price_to_book: Ratio,
    pub price_to_sales: Ratio,
    pub peg: Ratio,
    pub dividend_yield: Ratio,
    pub return_on_equity: Ratio,
    pub return_on_assets: Ratio,
    pub gross_margin: Ratio,
    pub operating_margin: Ratio,
    pub net_margin: Ratio,
    pub current_ratio: Ratio,
    pub quick_ratio: Ratio,
    pub debt_to_equity: Ratio,
    pub interest_coverage: Ratio,
    pub asset_turnover: Ratio,
}

impl Ratios {
    /// Every ratio with its name, in the order above (for a table).
    pub fn named(&self) -> [(&'static str, &Ratio); 15] {
        [
            ("price_to_earnings", &self.price_to_earnings),
            ("price_to_book", &self.price_to_book),
            ("price_to_sales", &self.price_to_sales),
            ("peg", &self.peg),
            ("dividend_yield", &self.dividend_yield),
            ("return_on_equity", &self.return_on_equity),
            ("return_on_assets", &self.return_on_assets),
            ("gross_margin", &self.gross_margin),
            ("operating_margin", &self.operating_margin),
            ("net_margin", &self.net_margin),
            ("current_ratio", &self.current_ratio),
            ("quick_ratio", &self.quick_ratio),
            ("debt_to_equity", &self.debt_to_equity),
            ("interest_coverage", &self.interest_coverage),
            ("asset_turnover", &self.asset_turnover),
        ]
    }
}

/// The formulas, as each [`Ratio`] states them.
pub mod formula {
    pub const PE: &str = "price / diluted EPS";
    pub const PE_FROM_NET_INCOME: &str = "price / (net income / shares outstanding)";
    pub const PB: &str = "price / (shareholders' equity / shares outstanding)";
    pub const PS: &str = "(price × shares outstanding) / revenue";
    pub const PEG: &str = "P/E / expected annual EPS growth (percent)";
    pub const DIVIDEND_YIELD: &str = "dividends per share (trailing twelve months) / price";
    pub const ROE_AVERAGE: &str = "net income / average shareholders' equity ((start + end) / 2)";
    pub const ROE_END: &str = "net income / shareholders' equity at the period's end";
    pub const ROA_AVERAGE: &str = "net income / average total assets ((start + end) / 2)";
    pub const ROA_END: &str = "net income / total assets at the period's end";
    pub const GROSS_MARGIN: &str = "gross profit / revenue";
    pub const OPERATING_MARGIN: &str = "operating income / revenue";
    pub const NET_MARGIN: &str = "net income / revenue";
    pub const CURRENT: &str = "current assets / current liabilities";
    pub const QUICK: &str = "(cash and equivalents + short-term investments + receivables) / current liabilities";
    pub const QUICK_FALLBACK: &str = "(current assets − inventory) / current liabilities (fallback: cash, short-term \
                                      investments or receivables not reported)";
    pub const DEBT_TO_EQUITY: &str = "total debt (short- and long-term, not total liabilities) / shareholders' equity";
    pub const INTEREST_COVERAGE: &str = "operating income (EBIT) / interest expense";
    pub const ASSET_TURNOVER_AVERAGE: &str = "revenue / average total assets ((start + end) / 2)";
    pub const ASSET_TURNOVER_END: &str = "revenue / total assets at the period's end";
}

/// Every ratio of `f` (see the module docs).
pub fn ratios(f: &Fundamentals) -> Ratios {
    use formula as fm;
    let price_to_earnings = price_to_earnings(f);
    let peg = Ratio::from(fm::PEG, peg(f, &price_to_earnings));
    let averaged = f.total_assets_start.is_some();
    Ratios {
        price_to_book: Ratio::from(fm::PB, price_to_book(f)),
        price_to_sales: Ratio::from(fm::PS, price_to_sales(f)),
        peg,
        dividend_yield: Ratio::from(fm::DIVIDEND_YIELD, dividend_yield(f)),
        return_on_equity: Ratio::from(
            if f.equity_start.is_some() { fm::ROE_AVERAGE } else { fm::ROE_END },
            return_on_equity(f),
        ),
        return_on_assets: Ratio::from(
            if averaged { fm::ROA_AVERAGE } else { fm::ROA_END },
            over_assets(f, ("net income", f.net_income)),
        ),
        gross_margin: Ratio::from(fm::GROSS_MARGIN, margin(f, ("gross profit", f.gross_profit))),
        operating_margin: Ratio::from(fm::OPERATING_MARGIN, margin(f, ("operating income", f.operating_income))),
        net_margin: Ratio::from(fm::NET_MARGIN, margin(f, ("net income", f.net_income))),
        current_ratio: Ratio::from(fm::CURRENT, current_ratio(f)),
        quick_ratio: quick_ratio(f),
        debt_to_equity: Ratio::from(fm::DEBT_TO_EQUITY, debt_to_equity(f)),
        interest_coverage: Ratio::from(fm::INTEREST_COVERAGE, interest_coverage(f)),
        asset_turnover: Ratio::from(
            if averaged { fm::ASSET_TURNOVER_AVERAGE } else { fm::ASSET_TURNOVER_END },
            over_assets(f, ("revenue", f.revenue)),
        ),
        price_to_earnings,
    }
}

/// Why a ratio has no value.
type Reason = String;

/// The values of `inputs`, or `missing: …` naming every one that is missing.
fn need<const N: usize>(inputs: [(&str, Option<Decimal>); N]) -> Result<[Decimal; N], Reason> {
    let missing: Vec<&str> = inputs.iter().filter(|(_, v)| v.is_none()).map(|(name, _)| *name).collect();
    if !missing.is_empty() {
        return Err(format!("missing: {}", missing.join(", ")));
    }
    Ok(inputs.map(|(_, v)| v.unwrap_or_default()))
}

/// `value` if it is above 0; else the reason `zero` (for 0) or `negative`.
fn positive(value: Decimal, zero: &str, negative: &str) -> Result<Decimal, Reason> {
    if value > Decimal::ZERO {
        Ok(value)
    } else if value.is_zero() {
        Err(zero.to_owned())
    } else {
        Err(negative.to_owned())
    }
}

fn div(numerator: Decimal, denominator: Decimal) -> Result<Decimal, Reason> {
    if denominator.is_zero() {
        return Err("division by zero".to_owned());
    }
    numerator.checked_div(denominator).ok_or_else(out_of_range)
}

fn mul(a: Decimal, b: Decimal) -> Result<Decimal, Reason> {
    a.checked_mul(b).ok_or_else(out_of_range)
}

fn add(a: Decimal, b: Decimal) -> Result<Decimal, Reason> {
    a.checked_add(b).ok_or_else(out_of_range)
}

fn out_of_range() -> Reason {
    "the result is beyond Decimal's range".to_owned()
}

fn price(value: Decimal) -> Result<Decimal, Reason> {
    positive(value, "zero price", "negative price")
}

fn shares(value: Decimal) -> Result<Decimal, Reason> {
    positive(value, "zero shares outstanding", "negative shares outstanding")
}

fn revenue(value: Decimal) -> Result<Decimal, Reason> {
    positive(value, "zero revenue", "negative revenue")
}

fn earnings(value: Decimal) -> Result<Decimal, Reason> {
    positive(value, "zero earnings", "negative earnings")
}

/// `(start + end) / 2` when the start is given, else `end`; each checked by `check` first.
fn average(
    end: Decimal,
    start: Option<Decimal>,
    check: impl Fn(Decimal, bool) -> Result<Decimal, Reason>,
) -> Result<Decimal, Reason> {
    let end = check(end, false)?;
    match start {
        Some(start) => div(add(check(start, true)?, end)?, Decimal::TWO),
        None => Ok(end),
    }
}

fn price_to_earnings(f: &Fundamentals) -> Ratio {
    use formula::{PE, PE_FROM_NET_INCOME};
    if let Some(eps) = f.eps_diluted {
        return Ratio::from(
            PE,
            need([("price", f.price)]).and_then(|[p]| {
                let eps = earnings(eps)?;
                div(price(p)?, eps)
            }),
        );
    }
    match (f.net_income, f.shares_outstanding) {
        (Some(net_income), Some(count)) => Ratio::from(
            PE_FROM_NET_INCOME,
            need([("price", f.price)]).and_then(|[p]| {
                let net_income = earnings(net_income)?;
                let count = shares(count)?;
                div(mul(price(p)?, count)?, net_income)
            }),
        ),
        (net_income, count) => {
            let lacking: Vec<&str> = [("net income", net_income), ("shares outstanding", count)]
                .iter()
                .filter(|(_, v)| v.is_none())
                .map(|(name, _)| *name)
                .collect();
            Ratio::from(PE, Err(format!("EPS not reported (nor {} to derive it)", lacking.join(" and "))))
        }
    }
}

fn price_to_book(f: &Fundamentals) -> Result<Decimal, Reason> {
    let [p, equity, count] =
        need([("price", f.price), ("shareholders' equity", f.equity), ("shares outstanding", f.shares_outstanding)])?;
    let p = price(p)?;
    let count = shares(count)?;
    let equity = positive(equity, "zero book value", "negative book value")?;
    div(mul(p, count)?, equity)
}

fn price_to_sales(f: &Fundamentals) -> Result<Decimal, Reason> {
    let [p, count, sales] =
        need([("price", f.price), ("shares outstanding", f.shares_outstanding), ("revenue", f.revenue)])?;
    let market_cap = mul(price(p)?, shares(count)?)?;
    div(market_cap, revenue(sales)?)
}

fn peg(f: &Fundamentals, pe: &Ratio) -> Result<Decimal, Reason> {
    let pe = match (pe.value, &pe.reason) {
        (Some(v), _) => v,
        (None, reason) => return Err(format!("no P/E ({})", reason.as_deref().unwrap_or("unknown"))),
    };
    let [growth] = need([("EPS growth rate", f.eps_growth_percent)])?;
    div(pe, positive(growth, "zero EPS growth", "negative EPS growth")?)
}

fn dividend_yield(f: &Fundamentals) -> Result<Decimal, Reason> {
    let [dps, p] = need([("dividends per share", f.dividends_per_share), ("price", f.price)])?;
    let p = price(p)?;
    if dps < Decimal::ZERO {
        return Err("negative dividends per share".to_owned());
    }
    div(dps, p)
}

fn return_on_equity(f: &Fundamentals) -> Result<Decimal, Reason> {
    let [net_income, equity] = need([("net income", f.net_income), ("shareholders' equity", f.equity)])?;
    let denominator = average(equity, f.equity_start, |v, start| {
        let at = if start { " at the start of the period" } else { "" };
        positive(v, &format!("zero equity{at}"), &format!("negative equity{at} makes ROE meaningless"))
    })?;
    div(net_income, denominator)
}

/// `numerator` over (average) total assets: ROA and asset turnover.
fn over_assets(f: &Fundamentals, numerator: (&str, Option<Decimal>)) -> Result<Decimal, Reason> {
    let [n, assets] = need([numerator, ("total assets", f.total_assets)])?;
    let denominator = average(assets, f.total_assets_start, |v, start| {
        let at = if start { " at the start of the period" } else { "" };
        positive(v, &format!("zero total assets{at}"), &format!("negative total assets{at}"))
    })?;
    div(n, denominator)
}

fn margin(f: &Fundamentals, numerator: (&str, Option<Decimal>)) -> Result<Decimal, Reason> {
    let [n, sales] = need([numerator, ("revenue", f.revenue)])?;
    div(n, revenue(sales)?)
}

fn current_liabilities(value: Decimal) -> Result<Decimal, Reason> {
    positive(value, "zero current liabilities", "negative current liabilities")
}

fn current_ratio(f: &Fundamentals) -> Result<Decimal, Reason> {
    let [assets, liabilities] =
        need([("current assets", f.current_assets), ("current liabilities", f.current_liabilities)])?;
    div(assets, current_liabilities(liabilities)?)
}

fn quick_ratio(f: &Fundamentals) -> Ratio {
    use formula::{QUICK, QUICK_FALLBACK};
    let parts = [
        ("cash and equivalents", f.cash),
        ("short-term investments", f.short_term_investments),
        ("receivables", f.receivables),
    ];
    if let Ok([cash, investments, receivables]) = need(parts) {
        return Ratio::from(
            QUICK,
            need([("current liabilities", f.current_liabilities)]).and_then(|[liabilities]| {
                let quick = add(add(cash, investments)?, receivables)?;
                div(quick, current_liabilities(liabilities)?)
            }),
        );
    }
    let fallback = [("current assets", f.current_assets), ("inventory", f.inventory)];
    match need(fallback) {
        Ok([assets, inventory]) => Ratio::from(
            QUICK_FALLBACK,
            need([("current liabilities", f.current_liabilities)]).and_then(|[liabilities]| {
                let quick = assets.checked_sub(inventory).ok_or_else(out_of_range)?;
                div(quick, current_liabilities(liabilities)?)
            }),
        ),
        Err(fallback_missing) => {
            let missing = need(parts).err().unwrap_or_default();
            Ratio::from(
                QUICK,
                Err(format!(
                    "{missing}, and for the fallback (current assets − inventory): {}",
                    fallback_missing.trim_start_matches("missing: ")
                )),
            )
        }
    }
}

fn debt_to_equity(f: &Fundamentals) -> Result<Decimal, Reason> {
    let [debt, equity] = need([("total debt", f.total_debt), ("shareholders' equity", f.equity)])?;
    div(debt, positive(equity, "zero equity", "negative equity makes debt-to-equity meaningless")?)
}

fn interest_coverage(f: &Fundamentals) -> Result<Decimal, Reason> {
    let [ebit, interest] = need([("operating income", f.operating_income), ("interest expense", f.interest_expense)])?;
    div(
        ebit,
        positive(interest, "no interest expense", "negative interest expense (it is given as a positive amount)")?,
    )
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    /// A million, as the 10-K's figures are in millions of dollars.
    const M: Decimal = dec!(1_000_000);

    /// Apple Inc., Form 10-K for the fiscal year ended September 30, 2023 (figures in millions
    /// but shares and per-share amounts; the price and the growth rate are illustrative).
    fn apple() -> Fundamentals {
        Fundamentals {
            currency: Some("USD".into()),
            price: Some(dec!(189.95)),
            price_date: Some(date("2023-11-30")),
            // Balance sheet, September 30, 2023: 15,550,061 thousand shares issued and outstanding.
            shares_outstanding: Some(dec!(15_550_061_000)),
            revenue: Some(dec!(383_285) * M),
            // "Gross margin" in Apple's income statement.
            gross_profit: Some(dec!(169_148) * M),
            operating_income: Some(dec!(114_301) * M),
            net_income: Some(dec!(96_995) * M),
            eps_diluted: Some(dec!(6.13)),
            eps_growth_percent: Some(dec!(8)),
            // Dividends declared per share in fiscal 2023: 0.23 + 0.23 + 0.24 + 0.24.
            dividends_per_share: Some(dec!(0.94)),
            total_assets: Some(dec!(352_583) * M),
            total_assets_start: Some(dec!(352_755) * M),
            current_assets: Some(dec!(143_566) * M),
            inventory: Some(dec!(6_331) * M),
            cash: Some(dec!(29_965) * M),
            // Current marketable securities.
            short_term_investments: Some(dec!(31_590) * M),
            // Accounts receivable, net (29,508) and vendor non-trade receivables (31,477): both
            // are current receivables.
            receivables: Some((dec!(29_508) + dec!(31_477)) * M),
            current_liabilities: Some(dec!(145_308) * M),
            total_liabilities: Some(dec!(290_437) * M),
            // Commercial paper 5,985 + term debt, current 9,822 + term debt, non-current 95,281.
            total_debt: Some((dec!(5_985) + dec!(9_822) + dec!(95_281)) * M),
            equity: Some(dec!(62_146) * M),
            equity_start: Some(dec!(50_672) * M),
            interest_expense: Some(dec!(3_933) * M),
            ..Fundamentals::new("AAPL", date("2023-09-30"), "Apple Inc. Form 10-K FY2023")
        }
    }

    fn value(r: &Ratio) -> Decimal {
        r.value.unwrap_or_else(|| panic!("{} has no value: {:?}", r.formula, r.reason))
    }

    fn reason(r: &Ratio) -> &str {
        assert_eq!(r.value, None, "{}", r.formula);
        r.reason.as_deref().unwrap()
    }

    /// `millions` million.
    fn m(millions: Decimal) -> Decimal {
        millions * M
    }

    #[test]
    fn apple_fiscal_2023_by_hand() {
        let r = ratios(&apple());
        let price = dec!(189.95);
        let market_cap = price * dec!(15_550_061_000);
        let average = |start: Decimal, end: Decimal| (m(start) + m(end)) / dec!(2);

        // Each value is exactly its formula written out in Decimal, and to six places the value
        // worked by hand (long division of the 10-K's figures).
        let checks = [
            (&r.price_to_earnings, price / dec!(6.13), dec!(30.986949)),
            (&r.price_to_book, market_cap / m(dec!(62_146)), dec!(47.528949)),
            (&r.price_to_sales, market_cap / m(dec!(383_285)), dec!(7.706365)),
            (&r.peg, price / dec!(6.13) / dec!(8), dec!(3.873369)),
            (&r.dividend_yield, dec!(0.94) / price, dec!(0.004949)),
            (&r.return_on_equity, m(dec!(96_995)) / average(dec!(50_672), dec!(62_146)), dec!(1.719495)),
            (&r.return_on_assets, m(dec!(96_995)) / average(dec!(352_755), dec!(352_583)), dec!(0.275031)),
            (&r.gross_margin, m(dec!(169_148)) / m(dec!(383_285)), dec!(0.441311)),
            (&r.operating_margin, m(dec!(114_301)) / m(dec!(383_285)), dec!(0.298214)),
            (&r.net_margin, m(dec!(96_995)) / m(dec!(383_285)), dec!(0.253062)),
            (&r.current_ratio, m(dec!(143_566)) / m(dec!(145_308)), dec!(0.988012)),
            (
                &r.quick_ratio,
                (m(dec!(29_965)) + m(dec!(31_590)) + m(dec!(29_508) + dec!(31_477))) / m(dec!(145_308)),
                dec!(0.843312),
            ),
            (&r.debt_to_equity, m(dec!(111_088)) / m(dec!(62_146)), dec!(1.787533)),
            (&r.interest_coverage, m(dec!(114_301)) / m(dec!(3_933)), dec!(29.062039)),
            (&r.asset_turnover, m(dec!(383_285)) / average(dec!(352_755), dec!(352_583)), dec!(1.086812)),
        ];
        for (ratio, formula, six_places) in checks {
            assert_eq!(ratio.value, Some(formula), "{}", ratio.formula);
            assert_eq!(ratio.reason, None, "{}", ratio.formula);
            assert_eq!(value(ratio).round_dp(6), six_places, "{}", ratio.formula);
        }
        assert_eq!(r.price_to_earnings.formula, formula::PE);
        assert_eq!(r.return_on_equity.formula, formula::ROE_AVERAGE);
        assert_eq!(r.return_on_assets.formula, formula::ROA_AVERAGE);
        assert_eq!(r.asset_turnover.formula, formula::ASSET_TURNOVER_AVERAGE);
        assert_eq!(r.quick_ratio.formula, formula::QUICK);
        assert_eq!(r.debt_to_equity.formula, formula::DEBT_TO_EQUITY);
        // Display rounding: halves away from zero.
        assert_eq!(r.return_on_equity.rounded(4), Some(dec!(1.7195)));
        assert_eq!(Ratio { value: Some(dec!(-0.125)), formula: "", reason: None }.rounded(2), Some(dec!(-0.13)));
        assert_eq!(r.named().len(), 15);
        assert!(r.named().iter().all(|(_, ratio)| ratio.value.is_some()));
    }

    #[test]
    fn without_the_start_of_the_period_the_end_figures_are_used() {
        let f = Fundamentals { equity_start: None, total_assets_start: None, ..apple() };
        let r = ratios(&f);
        assert_eq!(r.return_on_equity.value, Some(dec!(96_995) * M / (dec!(62_146) * M)));
        assert_eq!(r.return_on_equity.formula, formula::ROE_END);
        assert_eq!(r.return_on_assets.value, Some(dec!(96_995) * M / (dec!(352_583) * M)));
        assert_eq!(r.return_on_assets.formula, formula::ROA_END);
        assert_eq!(r.asset_turnover.formula, formula::ASSET_TURNOVER_END);
    }

    #[test]
    fn negative_or_zero_earnings_give_no_pe_and_no_peg() {
        let f = Fundamentals { eps_diluted: Some(dec!(-1.25)), ..apple() };
        let r = ratios(&f);
        assert_eq!(reason(&r.price_to_earnings), "negative earnings");
        assert_eq!(reason(&r.peg), "no P/E (negative earnings)");
        // A loss still has a margin, and the other multiples stand.
        assert!(r.price_to_book.value.is_some());
        let f = Fundamentals { eps_diluted: Some(dec!(0)), ..apple() };
        assert_eq!(reason(&ratios(&f).price_to_earnings), "zero earnings");
        let f = Fundamentals { eps_growth_percent: Some(dec!(-3)), ..apple() };
        assert_eq!(reason(&ratios(&f).peg), "negative EPS growth");
        let f = Fundamentals { eps_growth_percent: Some(dec!(0)), ..apple() };
        assert_eq!(reason(&ratios(&f).peg), "zero EPS growth");
        let f = Fundamentals { eps_growth_percent: None, ..apple() };
        assert_eq!(reason(&ratios(&f).peg), "missing: EPS growth rate");
    }

    #[test]
    fn without_eps_the_pe_comes_from_net_income_and_shares() {
        let f = Fundamentals { eps_diluted: None, ..apple() };
        let r = ratios(&f);
        assert_eq!(r.price_to_earnings.formula, formula::PE_FROM_NET_INCOME);
        assert_eq!(r.price_to_earnings.value, Some(dec!(189.95) * dec!(15_550_061_000) / (dec!(96_995) * M)));
        assert_eq!(value(&r.price_to_earnings).round_dp(6), dec!(30.452437));

        let f = Fundamentals { eps_diluted: None, net_income: Some(dec!(-5) * M), ..apple() };
        let r = ratios(&f);
        assert_eq!(reason(&r.price_to_earnings), "negative earnings");
        assert_eq!(value(&r.net_margin), dec!(-5) * M / (dec!(383_285) * M));

        let f = Fundamentals { eps_diluted: None, shares_outstanding: None, ..apple() };
        let r = ratios(&f);
        assert_eq!(reason(&r.price_to_earnings), "EPS not reported (nor shares outstanding to derive it)");
        assert_eq!(r.price_to_earnings.formula, formula::PE);
        let f = Fundamentals { eps_diluted: None, shares_outstanding: None, net_income: None, ..apple() };
        assert_eq!(
            reason(&ratios(&f).price_to_earnings),
            "EPS not reported (nor net income and shares outstanding to derive it)"
        );
    }

    #[test]
    fn zero_interest_is_no_coverage_not_infinity() {
        let f = Fundamentals { interest_expense: Some(dec!(0)), ..apple() };
        assert_eq!(reason(&ratios(&f).interest_coverage), "no interest expense");
        let f = Fundamentals { interest_expense: Some(dec!(-1)), ..apple() };
        assert!(reason(&ratios(&f).interest_coverage).starts_with("negative interest expense"));
        // An operating loss gives a negative coverage.
        let f = Fundamentals { operating_income: Some(dec!(-3_933) * M), ..apple() };
        assert_eq!(ratios(&f).interest_coverage.value, Some(dec!(-1)));
    }

    #[test]
    fn zero_revenue_gives_no_margins_sales_multiple_or_turnover() {
        for sales in [dec!(0), dec!(-1)] {
            let f = Fundamentals { revenue: Some(sales), ..apple() };
            let r = ratios(&f);
            let why = if sales.is_zero() { "zero revenue" } else { "negative revenue" };
            for ratio in [&r.gross_margin, &r.operating_margin, &r.net_margin, &r.price_to_sales] {
                assert_eq!(reason(ratio), why, "{}", ratio.formula);
            }
            // Asset turnover divides by assets, not revenue: it has a value (zero or negative).
            assert!(r.asset_turnover.value.is_some_and(|v| v <= Decimal::ZERO), "{:?}", r.asset_turnover);
        }
    }

    #[test]
    fn negative_equity_gives_no_book_multiple_roe_or_leverage() {
        let f = Fundamentals { equity: Some(dec!(-2_000) * M), ..apple() };
        let r = ratios(&f);
        assert_eq!(reason(&r.price_to_book), "negative book value");
        assert_eq!(reason(&r.return_on_equity), "negative equity makes ROE meaningless");
        assert_eq!(reason(&r.debt_to_equity), "negative equity makes debt-to-equity meaningless");
        // Negative equity at the start of the period spoils the average too.
        let f = Fundamentals { equity_start: Some(dec!(-1)), ..apple() };
        assert_eq!(
            reason(&ratios(&f).return_on_equity),
            "negative equity at the start of the period makes ROE meaningless"
        );
        let f = Fundamentals { equity: Some(dec!(0)), equity_start: None, ..apple() };
        let r = ratios(&f);
        assert_eq!(reason(&r.price_to_book), "zero book value");
        assert_eq!(reason(&r.return_on_equity), "zero equity");
        assert_eq!(reason(&r.debt_to_equity), "zero equity");
    }

    #[test]
    fn zero_shares_or_price_give_no_price_multiples() {
        let f = Fundamentals { shares_outstanding: Some(dec!(0)), ..apple() };
        let r = ratios(&f);
        assert_eq!(reason(&r.price_to_book), "zero shares outstanding");
        assert_eq!(reason(&r.price_to_sales), "zero shares outstanding");
        // P/E uses the reported EPS, not the share count.
        assert!(r.price_to_earnings.value.is_some());
        let f = Fundamentals { shares_outstanding: Some(dec!(0)), eps_diluted: None, ..apple() };
        assert_eq!(reason(&ratios(&f).price_to_earnings), "zero shares outstanding");

        let f = Fundamentals { price: Some(dec!(0)), ..apple() };
        let r = ratios(&f);
        for ratio in [&r.price_to_earnings, &r.price_to_book, &r.price_to_sales, &r.dividend_yield] {
            assert_eq!(reason(ratio), "zero price", "{}", ratio.formula);
        }
        assert_eq!(reason(&r.peg), "no P/E (zero price)");
    }

    #[test]
    fn missing_figures_are_named() {
        let f = Fundamentals::new("NONE", date("2024-12-31"), "test");
        let r = ratios(&f);
        assert_eq!(
            reason(&r.price_to_earnings),
            "EPS not reported (nor net income and shares outstanding to derive it)"
        );
        assert_eq!(reason(&r.price_to_book), "missing: price, shareholders' equity, shares outstanding");
        assert_eq!(reason(&r.price_to_sales), "missing: price, shares outstanding, revenue");
        assert_eq!(reason(&r.dividend_yield), "missing: dividends per share, price");
        assert_eq!(reason(&r.return_on_equity), "missing: net income, shareholders' equity");
        assert_eq!(reason(&r.return_on_assets), "missing: net income, total assets");
        assert_eq!(reason(&r.gross_margin), "missing: gross profit, revenue");
        assert_eq!(reason(&r.current_ratio), "missing: current assets, current liabilities");
        assert_eq!(
            reason(&r.quick_ratio),
            "missing: cash and equivalents, short-term investments, receivables, and for the fallback (current \
             assets − inventory): current assets, inventory"
        );
        assert_eq!(reason(&r.debt_to_equity), "missing: total debt, shareholders' equity");
        assert_eq!(reason(&r.interest_coverage), "missing: operating income, interest expense");
        assert_eq!(reason(&r.asset_turnover), "missing: revenue, total assets");

        // The adapter leaves the price out: only the price multiples lack it.
        let f = Fundamentals { price: None, ..apple() };
        let r = ratios(&f);
        assert_eq!(reason(&r.price_to_earnings), "missing: price");
        assert_eq!(reason(&r.peg), "no P/E (missing: price)");
        assert!(r.return_on_equity.value.is_some() && r.quick_ratio.value.is_some());
    }

    #[test]
    fn the_quick_ratio_falls_back_to_current_assets_less_inventory() {
        let f = Fundamentals { short_term_investments: None, ..apple() };
        let r = ratios(&f);
        assert_eq!(r.quick_ratio.formula, formula::QUICK_FALLBACK);
        assert_eq!(r.quick_ratio.value, Some((dec!(143_566) - dec!(6_331)) * M / (dec!(145_308) * M)));
        assert_eq!(value(&r.quick_ratio).round_dp(6), dec!(0.944442));
        let f = Fundamentals { short_term_investments: None, inventory: None, ..apple() };
        assert_eq!(
            reason(&ratios(&f).quick_ratio),
            "missing: short-term investments, and for the fallback (current assets − inventory): inventory"
        );
        let f = Fundamentals { current_liabilities: Some(dec!(0)), ..apple() };
        let r = ratios(&f);
        assert_eq!(reason(&r.quick_ratio), "zero current liabilities");
        assert_eq!(reason(&r.current_ratio), "zero current liabilities");
    }

    #[test]
    fn no_dividends_is_a_zero_yield() {
        let f = Fundamentals { dividends_per_share: Some(dec!(0)), ..apple() };
        assert_eq!(ratios(&f).dividend_yield.value, Some(dec!(0)));
        let f = Fundamentals { dividends_per_share: Some(dec!(-0.1)), ..apple() };
        assert_eq!(reason(&ratios(&f).dividend_yield), "negative dividends per share");
    }

    #[test]
    fn zero_total_assets_give_no_roa_or_turnover() {
        let f = Fundamentals { total_assets: Some(dec!(0)), total_assets_start: None, ..apple() };
        let r = ratios(&f);
        assert_eq!(reason(&r.return_on_assets), "zero total assets");
        assert_eq!(reason(&r.asset_turnover), "zero total assets");
        let f = Fundamentals { total_assets_start: Some(dec!(0)), ..apple() };
        assert_eq!(reason(&ratios(&f).return_on_assets), "zero total assets at the start of the period");
    }

    #[test]
    fn an_overflow_is_a_reason_not_a_panic() {
        let f = Fundamentals { price: Some(Decimal::MAX), shares_outstanding: Some(dec!(10)), ..apple() };
        let r = ratios(&f);
        assert_eq!(reason(&r.price_to_book), "the result is beyond Decimal's range");
        let f = Fundamentals { cash: Some(Decimal::MAX), short_term_investments: Some(Decimal::MAX), ..apple() };
        assert_eq!(reason(&ratios(&f).quick_ratio), "the result is beyond Decimal's range");
    }

    #[test]
    fn fundamentals_and_ratios_serialize_with_decimals_as_strings() {
        let f = apple();
        let text = serde_json::to_string(&f).unwrap();
        assert!(text.contains(r#""eps_diluted":"6.13""#), "{text}");
        assert_eq!(serde_json::from_str::<Fundamentals>(&text).unwrap(), f);
        // Figures a vendor left out may be absent from the JSON altogether.
        let sparse: Fundamentals =
            serde_json::from_str(r#"{"symbol":"X","period_end":"2024-12-31","source":"s","revenue":"10"}"#).unwrap();
        assert_eq!(sparse, Fundamentals { revenue: Some(dec!(10)), ..Fundamentals::new("X", date("2024-12-31"), "s") });
        let r = ratios(&Fundamentals { interest_expense: Some(dec!(0)), ..apple() });
        let text = serde_json::to_string(&r.interest_coverage).unwrap();
        assert_eq!(
            text,
            r#"{"value":null,"formula":"operating income (EBIT) / interest expense","reason":"no interest expense"}"#
        );
    }
}
