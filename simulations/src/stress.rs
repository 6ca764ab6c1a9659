//! Stress tests: a portfolio (with optional liabilities and futures overlays) revalued under
//! historical and hypothetical scenarios, each a set of shocks per asset class.
//!
//! # Scenarios
//!
//! [`SCENARIOS`] holds the built-in tables: four historical episodes, with the index and the
//! window behind every number in a comment, and four hypothetical ones with their assumptions
//! stated. Figures marked "approximately" are rounded from memory of the published index
//! levels over the stated window and should be checked against the index provider's data
//! before they are relied upon; the rest are widely quoted calendar-year or peak-to-trough
//! figures. Returns are total returns in US dollars where the index has one, otherwise price
//! returns; spreads are option-adjusted spreads in basis points; Treasury yields are constant
//! maturity yields (H.15) in basis points. `parallel_up` and `parallel_down` move every
//! Treasury tenor by the request's `parallel_shift_bp` (100 by default) and nothing else.
//!
//! # Revaluation (first order, plus convexity where given)
//!
//! - Equities, real estate, commodities, gold, the US dollar index and cash: value × the
//!   class's return.
//! - Rate-sensitive holdings (Treasuries, investment grade, high yield, TIPS): with key-rate
//!   DV01s, −Σ DV01ₖ·Δyₖ (Δy in bp at the key rate's tenor); with a modified duration D,
//!   −V·D·Δy·10⁻⁴ + ½·V·C·(Δy·10⁻⁴)², Δy read at the tenor D. The scenario's curve shock is
//!   given at 2, 5, 10 and 30 years and read between them linearly in the tenor, flat outside.
//!   TIPS move with the real yield: the nominal shock less the breakeven change.
//! - Credit adds −V·SD·Δs·10⁻⁴, SD the spread duration (the duration by default) and Δs the
//!   investment-grade or high-yield spread change.
//! - Futures: Treasury futures −contracts·DV01·Δy at their tenor; index or commodity futures
//!   contracts·contract value·return. Their gains and losses are settled in cash (variation
//!   margin), so they add to the portfolio's value after the shock.
//! - Liabilities: from a present value with key-rate DV01s (or a duration), first order as
//!   above, −Σ DV01ₖ·Δyₖ, plus the inflation DV01 × the breakeven change, and, for liabilities
//!   discounted at corporate yields (US pension accounting, ASC 715), −DV01·Δs_IG; or, from a
//!   cash-flow stream ([`crate::liabilities::LiabilityRequest`]), revalued exactly on the curve
//!   with each node moved by the shock at its tenor.
//! - DV01s after the shock: each holding's and the liabilities' (when given as numbers) scale
//!   with their value (durations unchanged); a stream is revalued.
//! - Liquidity: the margin need is the variation margin (the futures' net loss, if any) plus
//!   the initial margin (its rate × |notional|, on the notional before the shock), set against
//!   the cash holdings and the liquid holdings after the shock.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::liabilities::{analyse, LiabilityRequest};
use crate::{invalid, SimError};

/// The most holdings, futures positions, key rates per position, or scenarios one request takes.
pub const MAX_ITEMS: usize = 10_000;
/// The most key-rate DV01s one position may give.
pub const MAX_KEY_RATES: usize = 100;
/// The most amount (value, DV01) accepted, in dollars.
const MAX_AMOUNT: f64 = 1e15;
/// The tenors, in years, at which a scenario gives its Treasury yield changes.
pub const TENORS: [f64; 4] = [2.0, 5.0, 10.0, 30.0];
const BP: f64 = 1e-4;

/// An asset class a scenario shocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AssetClass {
    /// US equity (S&P 500).
    UsEquity,
    /// International developed equity (MSCI EAFE, in USD).
    IntlEquity,
    /// Emerging-market equity (MSCI EM, in USD).
    EmEquity,
    /// US Treasuries: rate shocks only (needs a duration or key-rate DV01s).
    Treasury,
    /// Investment-grade credit: rate shocks and the IG spread change.
    InvestmentGrade,
    /// High yield: rate shocks and the HY spread change.
    HighYield,
    /// TIPS: the real yield change (nominal less breakeven).
    Tips,
    /// Real estate / REITs.
    RealEstate,
    /// Broad commodities.
    Commodities,
    /// Gold.
    Gold,
    /// A long US dollar index position.
    Usd,
    /// Cash and T-bills.
    Cash,
}

impl AssetClass {
    fn rate_sensitive(self) -> bool {
        matches!(self, Self::Treasury | Self::InvestmentGrade | Self::HighYield | Self::Tips)
    }
}

/// A scenario's shocks. Every field is 0 when absent.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Shocks {
    /// US equity return over the scenario (−0.34 is −34%), from −1 to 10.
    pub us_equity: f64,
    /// International developed equity return (USD), from −1 to 10.
    pub intl_equity: f64,
    /// Emerging-market equity return (USD), from −1 to 10.
    pub em_equity: f64,
    /// Investment-grade credit spread change, bp (−5,000 to 5,000).
    pub ig_spread_bp: f64,
    /// High-yield credit spread change, bp.
    pub hy_spread_bp: f64,
    /// 2-year Treasury yield change, bp.
    pub rate_2y_bp: f64,
    /// 5-year Treasury yield change, bp.
    pub rate_5y_bp: f64,
    /// 10-year Treasury yield change, bp.
    pub rate_10y_bp: f64,
    /// 30-year Treasury yield change, bp.
    pub rate_30y_bp: f64,
    /// Breakeven inflation change, bp (all tenors); TIPS real yields move by the nominal
    /// change less this.
    pub breakeven_bp: f64,
    /// Real estate / REIT return, from −1 to 10.
    pub real_estate: f64,
    /// Broad commodity return, from −1 to 10.
    pub commodities: f64,
    /// Gold return, from −1 to 10.
    pub gold: f64,
    /// US dollar index return, from −1 to 10.
    pub usd: f64,
    /// Cash (T-bill) return over the scenario, from −1 to 10.
    pub cash: f64,
}

impl Shocks {
    /// The Treasury yield change in bp at `tenor` years: linear between 2, 5, 10 and 30
    /// years, flat outside.
    pub fn rate_at(&self, tenor: f64) -> f64 {
        let y = [self.rate_2y_bp, self.rate_5y_bp, self.rate_10y_bp, self.rate_30y_bp];
        if tenor <= TENORS[0] {
            return y[0];
        }
        for i in 1..4 {
            if tenor <= TENORS[i] {
                let w = (tenor - TENORS[i - 1]) / (TENORS[i] - TENORS[i - 1]);
                return y[i - 1] + w * (y[i] - y[i - 1]);
            }
        }
        y[3]
    }

    /// The return of a class that moves by a return (not by rates); `None` for the
    /// rate-sensitive classes.
    pub fn price_return(&self, class: AssetClass) -> Option<f64> {
        Some(match class {
            AssetClass::UsEquity => self.us_equity,
            AssetClass::IntlEquity => self.intl_equity,
            AssetClass::EmEquity => self.em_equity,
            AssetClass::RealEstate => self.real_estate,
            AssetClass::Commodities => self.commodities,
            AssetClass::Gold => self.gold,
            AssetClass::Usd => self.usd,
            AssetClass::Cash => self.cash,
            _ => return None,
        })
    }

    fn check(&self, at: &str) -> Result<(), SimError> {
        let returns = [
            ("us_equity", self.us_equity),
            ("intl_equity", self.intl_equity),
            ("em_equity", self.em_equity),
            ("real_estate", self.real_estate),
            ("commodities", self.commodities),
            ("gold", self.gold),
            ("usd", self.usd),
            ("cash", self.cash),
        ];
        for (f, x) in returns {
            if !(-1.0..=10.0).contains(&x) {
                return Err(invalid(format!("{at}.{f}"), format!("{x} is not a return from -1 to 10")));
            }
        }
        let bps = [
            ("ig_spread_bp", self.ig_spread_bp),
            ("hy_spread_bp", self.hy_spread_bp),
            ("rate_2y_bp", self.rate_2y_bp),
            ("rate_5y_bp", self.rate_5y_bp),
            ("rate_10y_bp", self.rate_10y_bp),
            ("rate_30y_bp", self.rate_30y_bp),
            ("breakeven_bp", self.breakeven_bp),
        ];
        for (f, x) in bps {
            if !(-5000.0..=5000.0).contains(&x) {
                return Err(invalid(format!("{at}.{f}"), format!("{x} is not a change from -5000 to 5000 bp")));
            }
        }
        Ok(())
    }
}

/// A built-in scenario.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Scenario {
    /// Its name in requests.
    pub name: &'static str,
    /// The window and the indices (historical) or the assumptions (hypothetical).
    pub description: &'static str,
    pub shocks: Shocks,
}

const ZERO: Shocks = Shocks {
    us_equity: 0.0,
    intl_equity: 0.0,
    em_equity: 0.0,
    ig_spread_bp: 0.0,
    hy_spread_bp: 0.0,
    rate_2y_bp: 0.0,
    rate_5y_bp: 0.0,
    rate_10y_bp: 0.0,
    rate_30y_bp: 0.0,
    breakeven_bp: 0.0,
    real_estate: 0.0,
    commodities: 0.0,
    gold: 0.0,
    usd: 0.0,
    cash: 0.0,
};

/// The built-in scenarios. `parallel_up` and `parallel_down` are listed with a 100 bp move;
/// a request's `parallel_shift_bp` sets it.
pub const SCENARIOS: [Scenario; 9] = [
    Scenario {
        name: "gfc_2008",
        description: "2008 financial crisis, 29 Aug 2008 to 9 Mar 2009 (the S&P 500's trough); \
                      figures approximate, from index levels over that window",
        shocks: Shocks {
            // S&P 500 price 1,282.83 (29 Aug 2008) to 676.53 (9 Mar 2009): −47.3%; with
            // dividends approximately −46%.
            us_equity: -0.46,
            // MSCI EAFE (USD), same window: approximately −48%.
            intl_equity: -0.48,
            // MSCI EM (USD), same window: approximately −45% (it troughed earlier, Oct 2008).
            em_equity: -0.45,
            // Bloomberg US Corporate (IG) OAS, approximately 290 bp to 590 bp: +300 bp.
            ig_spread_bp: 300.0,
            // ICE BofA US High Yield OAS, approximately 800 bp to 1,900 bp: +1,100 bp.
            hy_spread_bp: 1100.0,
            // Treasury constant-maturity yields (H.15), 29 Aug 2008 to 9 Mar 2009,
            // approximately: 2y 2.36% → 0.98%, 5y 3.10% → 1.88%, 10y 3.83% → 2.87%,
            // 30y 4.43% → 3.56%.
            rate_2y_bp: -140.0,
            rate_5y_bp: -120.0,
            rate_10y_bp: -95.0,
            rate_30y_bp: -85.0,
            // 10y breakeven (10y nominal less 10y TIPS yield), approximately 2.3% → 1.2%.
            breakeven_bp: -110.0,
            // FTSE Nareit All Equity REITs, same window: approximately −60%.
            real_estate: -0.60,
            // Bloomberg Commodity Index (total return), same window: approximately −45%.
            commodities: -0.45,
            // Gold (LBMA PM), approximately $833 → $920: +10%.
            gold: 0.10,
            // ICE US Dollar Index (DXY), approximately 77 → 89: +15%.
            usd: 0.15,
            // 3-month T-bills, about six months at under 1%: approximately +0.5%.
            cash: 0.005,
        },
    },
    Scenario {
        name: "taper_tantrum_2013",
        description: "2013 taper tantrum, 21 May 2013 (the day before Bernanke's testimony) to 24 Jun 2013; \
                      figures approximate",
        shocks: Shocks {
            // S&P 500 price 1,669.16 (21 May) to 1,573.09 (24 Jun): −5.8%.
            us_equity: -0.058,
            // MSCI EAFE (USD), same window: approximately −10%.
            intl_equity: -0.10,
            // MSCI EM (USD), same window: approximately −15%.
            em_equity: -0.15,
            // Bloomberg US Corporate OAS: approximately +25 bp.
            ig_spread_bp: 25.0,
            // ICE BofA US High Yield OAS: approximately +110 bp.
            hy_spread_bp: 110.0,
            // Treasury constant-maturity yields (H.15), approximately: 2y 0.24% → 0.41%,
            // 5y 0.90% → 1.44%, 10y 1.93% → 2.55%, 30y 3.18% → 3.55%.
            rate_2y_bp: 17.0,
            rate_5y_bp: 54.0,
            rate_10y_bp: 62.0,
            rate_30y_bp: 37.0,
            // 10y breakeven, approximately 2.3% → 2.0%.
            breakeven_bp: -30.0,
            // FTSE Nareit All Equity REITs: approximately −13%.
            real_estate: -0.13,
            // Bloomberg Commodity Index: approximately −5%.
            commodities: -0.05,
            // Gold (LBMA PM), approximately $1,378 → $1,277: −7%.
            gold: -0.07,
            // ICE US Dollar Index: approximately −1% (the dollar fell against the yen).
            usd: -0.01,
            cash: 0.0,
        },
    },
    Scenario {
        name: "covid_2020",
        description: "2020 COVID crash, 19 Feb 2020 (the S&P 500's high) to 23 Mar 2020 (its low)",
        shocks: Shocks {
            // S&P 500 price 3,386.15 to 2,237.40: −33.9%.
            us_equity: -0.339,
            // MSCI EAFE (USD), same window: approximately −33%.
            intl_equity: -0.33,
            // MSCI EM (USD), same window: approximately −31%.
            em_equity: -0.31,
            // Bloomberg US Corporate OAS, approximately 93 bp → 373 bp: +280 bp.
            ig_spread_bp: 280.0,
            // ICE BofA US High Yield OAS (FRED BAMLH0A0HYM2), approximately 3.6% → 10.9%.
            hy_spread_bp: 730.0,
            // Treasury constant-maturity yields (H.15), approximately: 2y 1.42% → 0.28%,
            // 5y 1.42% → 0.41%, 10y 1.56% → 0.76%, 30y 2.01% → 1.33%.
            rate_2y_bp: -114.0,
            rate_5y_bp: -101.0,
            rate_10y_bp: -80.0,
            rate_30y_bp: -68.0,
            // 10y breakeven (FRED T10YIE), approximately 1.67% → 0.87%.
            breakeven_bp: -80.0,
            // FTSE Nareit All Equity REITs: approximately −42%.
            real_estate: -0.42,
            // Bloomberg Commodity Index: approximately −20%.
            commodities: -0.20,
            // Gold (LBMA PM), approximately $1,611 → $1,554: −3.5%.
            gold: -0.035,
            // ICE US Dollar Index, approximately 99.4 → 102.5: +3%.
            usd: 0.03,
            cash: 0.0,
        },
    },
    Scenario {
        name: "rates_shock_2022",
        description: "2022 rates shock, calendar 2022 (31 Dec 2021 to 30 Dec 2022)",
        shocks: Shocks {
            // S&P 500 total return 2022: −18.1%.
            us_equity: -0.181,
            // MSCI EAFE net total return (USD) 2022: −14.5%.
            intl_equity: -0.145,
            // MSCI EM net total return (USD) 2022: −20.1%.
            em_equity: -0.201,
            // Bloomberg US Corporate OAS, approximately 92 bp → 130 bp.
            ig_spread_bp: 38.0,
            // ICE BofA US High Yield OAS (FRED BAMLH0A0HYM2), approximately 3.10% → 4.69%.
            hy_spread_bp: 159.0,
            // Treasury constant-maturity yields (H.15), year-end 2021 to year-end 2022:
            // 2y 0.73% → 4.41%, 5y 1.26% → 3.99%, 10y 1.52% → 3.88%, 30y 1.90% → 3.97%
            // (approximately, to a few bp).
            rate_2y_bp: 368.0,
            rate_5y_bp: 273.0,
            rate_10y_bp: 236.0,
            rate_30y_bp: 207.0,
            // 10y breakeven (FRED T10YIE), approximately 2.56% → 2.30%.
            breakeven_bp: -26.0,
            // FTSE Nareit All Equity REITs total return 2022: −24.9%.
            real_estate: -0.249,
            // Bloomberg Commodity Index total return 2022: +16.1%.
            commodities: 0.161,
            // Gold (LBMA PM), approximately $1,806 → $1,814: about 0%.
            gold: 0.0,
            // ICE US Dollar Index, 95.67 → 103.52: approximately +8.2%.
            usd: 0.082,
            // ICE BofA US 3-Month Treasury Bill index 2022: approximately +1.5%.
            cash: 0.015,
        },
    },
    Scenario {
        name: "stagflation",
        description: "Hypothetical stagflation (assumption, loosely 1973-74 and 2022): inflation and \
                      rates up, bear-flattening curve, equities and credit down, real assets up, dollar weaker",
        shocks: Shocks {
            us_equity: -0.20,
            intl_equity: -0.22,
            em_equity: -0.25,
            ig_spread_bp: 100.0,
            hy_spread_bp: 400.0,
            rate_2y_bp: 200.0,
            rate_5y_bp: 175.0,
            rate_10y_bp: 150.0,
            rate_30y_bp: 125.0,
            breakeven_bp: 100.0,
            real_estate: -0.15,
            commodities: 0.25,
            gold: 0.20,
            usd: -0.05,
            cash: 0.0,
        },
    },
    Scenario {
        name: "deflation",
        description:
            "Hypothetical deflationary bust (assumption, loosely 2008 and Japan in the 1990s): \
                      growth and inflation collapse, yields fall, equities and credit down, commodities down, dollar up",
        shocks: Shocks {
            us_equity: -0.25,
            intl_equity: -0.28,
            em_equity: -0.32,
            ig_spread_bp: 150.0,
            hy_spread_bp: 600.0,
            rate_2y_bp: -150.0,
            rate_5y_bp: -150.0,
            rate_10y_bp: -125.0,
            rate_30y_bp: -100.0,
            breakeven_bp: -150.0,
            real_estate: -0.30,
            commodities: -0.30,
            gold: -0.05,
            usd: 0.10,
            cash: 0.0,
        },
    },
    Scenario {
        name: "parallel_up",
        description: "Hypothetical parallel rise of every Treasury yield by parallel_shift_bp (100 bp by \
                      default); nothing else moves",
        shocks: Shocks { rate_2y_bp: 100.0, rate_5y_bp: 100.0, rate_10y_bp: 100.0, rate_30y_bp: 100.0, ..ZERO },
    },
    Scenario {
        name: "parallel_down",
        description: "Hypothetical parallel fall of every Treasury yield by parallel_shift_bp (100 bp by \
                      default); nothing else moves",
        shocks: Shocks { rate_2y_bp: -100.0, rate_5y_bp: -100.0, rate_10y_bp: -100.0, rate_30y_bp: -100.0, ..ZERO },
    },
    Scenario {
        name: "equity_crash_correlation_breakdown",
        description: "Hypothetical equity crash with a correlation breakdown (assumption): equities −30% or \
                  worse, credit spreads wide, and Treasuries do not rally (yields slightly up, as in \
                  the first days of March 2020 or in 2022), so bonds fail to hedge",
        shocks: Shocks {
            us_equity: -0.30,
            intl_equity: -0.32,
            em_equity: -0.35,
            ig_spread_bp: 200.0,
            hy_spread_bp: 700.0,
            rate_2y_bp: 0.0,
            rate_5y_bp: 10.0,
            rate_10y_bp: 25.0,
            rate_30y_bp: 25.0,
            breakeven_bp: -25.0,
            real_estate: -0.30,
            commodities: -0.20,
            gold: 0.0,
            usd: 0.05,
            cash: 0.0,
        },
    },
];

/// Every built-in scenario, in the order a request without `scenarios` runs them.
pub fn scenarios() -> &'static [Scenario] {
    &SCENARIOS
}

/// One key rate's DV01.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyRateDv01 {
    /// The key rate's tenor, years (above 0, at most 100).
    pub tenor: f64,
    /// Value gained when that rate falls one basis point, $ (signed; |x| at most 1e15).
    pub dv01: f64,
}

/// One holding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Holding {
    /// A name for the report ("holding N", counting from 1, when absent).
    #[serde(default)]
    pub name: Option<String>,
    /// The asset class whose shock moves it.
    pub asset_class: AssetClass,
    /// Market value, $ (|x| at most 1e15; negative for a short or a borrowing).
    pub market_value: f64,
    /// Modified duration, years (0 to 100): rate-sensitive classes only; give it or
    /// `key_rate_dv01s`.
    #[serde(default)]
    pub duration: Option<f64>,
    /// Convexity, years² (0 to 10,000), with `duration`; 0 when absent.
    #[serde(default)]
    pub convexity: Option<f64>,
    /// Key-rate DV01s, $ per bp, instead of `duration` (at most 100).
    #[serde(default)]
    pub key_rate_dv01s: Vec<KeyRateDv01>,
    /// Spread duration, years (0 to 100), for investment grade and high yield; the duration
    /// (or Σ key-rate DV01 / (value·0.0001)) when absent.
    #[serde(default)]
    pub spread_duration: Option<f64>,
    /// Whether it can be sold within days to meet margin calls; by default every class but
    /// real estate (direct property; set true for listed REITs).
    #[serde(default)]
    pub liquid: Option<bool>,
}

/// A futures position (an overlay) with its margin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FuturesPosition {
    /// A name for the report ("futures N" when absent).
    #[serde(default)]
    pub name: Option<String>,
    /// `treasury` for a bond future (moved by its DV01), or a class moved by a return
    /// (us_equity, intl_equity, em_equity, real_estate, commodities, gold, usd).
    pub underlying: AssetClass,
    /// Contracts, signed (negative is short); |x| at most 1e9.
    pub contracts: f64,
    /// Notional of one contract, $ (futures price × multiplier; for a Treasury future price
    /// / 100 × face), above 0 and at most 1e12.
    pub contract_value: f64,
    /// Treasury futures: $ per bp per contract (the cheapest-to-deliver's DV01 / its
    /// conversion factor); required for `treasury`.
    #[serde(default)]
    pub dv01_per_contract: Option<f64>,
    /// Treasury futures: the tenor, years, whose yield change moves it (10 by default).
    #[serde(default)]
    pub tenor: Option<f64>,
    /// Initial margin as a fraction of |notional| (0 to 1); 0 when absent.
    #[serde(default)]
    pub initial_margin_rate: f64,
}

/// The liabilities: a present value with its rate sensitivity, or a cash-flow stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StressLiabilities {
    /// Present value, $ (above 0, at most 1e15); with `duration` or `key_rate_dv01s`.
    #[serde(default)]
    pub present_value: Option<f64>,
    /// Modified duration, years (0 to 100), read at that tenor of the curve shock.
    #[serde(default)]
    pub duration: Option<f64>,
    /// Key-rate DV01s, $ per bp, instead of `duration`.
    #[serde(default)]
    pub key_rate_dv01s: Vec<KeyRateDv01>,
    /// Value gained when breakeven inflation rises one bp, $ (indexed liabilities); 0 when
    /// absent.
    #[serde(default)]
    pub inflation_dv01: Option<f64>,
    /// Whether the discount rate moves with investment-grade spreads as well as Treasury
    /// yields (US pension accounting discounts at AA corporate yields); false by default.
    #[serde(default)]
    pub discount_at_credit_spread: bool,
    /// A cash-flow stream on a curve instead of the above: revalued exactly, each curve node
    /// moved by the shock at its tenor (and the inflation by the breakeven change).
    #[serde(default)]
    pub stream: Option<LiabilityRequest>,
}

/// A scenario of the caller's own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomScenario {
    /// Its name in the report.
    pub name: String,
    /// Its assumptions, for the report; empty when absent.
    #[serde(default)]
    pub description: String,
    pub shocks: Shocks,
}

/// `stress`: a portfolio under scenarios.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StressRequest {
    /// The holdings (1 to 10,000).
    pub holdings: Vec<Holding>,
    /// Liabilities, for funded status and the duration mismatch; none when absent.
    #[serde(default)]
    pub liabilities: Option<StressLiabilities>,
    /// Futures overlays (at most 10,000); none when absent.
    #[serde(default)]
    pub futures: Vec<FuturesPosition>,
    /// Built-in scenarios to run, by name (gfc_2008, taper_tantrum_2013, covid_2020,
    /// rates_shock_2022, stagflation, deflation, parallel_up, parallel_down,
    /// equity_crash_correlation_breakdown); all of them when absent, none when empty.
    #[serde(default)]
    pub scenarios: Option<Vec<String>>,
    /// Scenarios of the caller's own, run after the built-in ones.
    #[serde(default)]
    pub custom: Vec<CustomScenario>,
    /// The size of the parallel_up / parallel_down moves, bp (0 to 1,000); 100 by default.
    #[serde(default)]
    pub parallel_shift_bp: Option<f64>,
}

/// One holding's profit and loss.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct HoldingPnl {
    pub name: String,
    pub asset_class: AssetClass,
    /// Value before the shock, $.
    pub value_before: f64,
    /// From the class's return (equities, real assets, dollar, cash), $.
    pub pnl_return: f64,
    /// From the Treasury (TIPS: real) yield changes, convexity included, $.
    pub pnl_rates: f64,
    /// From the credit spread change, $.
    pub pnl_spread: f64,
    /// The sum, $.
    pub pnl: f64,
    /// Value after the shock, $.
    pub value_after: f64,
}

/// One futures position's profit and loss.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct FuturesPnl {
    pub name: String,
    /// Notional before the shock (contracts × contract value), $.
    pub notional: f64,
    /// Profit and loss, $ (settled in cash as variation margin).
    pub pnl: f64,
    /// Initial margin, $: the rate × |notional|.
    pub initial_margin: f64,
}

/// Funded status before and after a scenario.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, JsonSchema)]
pub struct FundedChange {
    /// Liabilities' present value before and after, $.
    pub liabilities_before: f64,
    pub liabilities_after: f64,
    /// Assets over liabilities, before and after.
    pub funded_ratio_before: f64,
    pub funded_ratio_after: f64,
    /// Assets less liabilities, before and after, $.
    pub surplus_before: f64,
    pub surplus_after: f64,
    /// surplus_after − surplus_before, $.
    pub surplus_change: f64,
}

/// Rate sensitivity before and after a scenario, $ per bp (value gained when rates fall 1 bp).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, JsonSchema)]
pub struct Dv01Mismatch {
    /// The holdings' and futures' DV01.
    pub assets_before: f64,
    pub assets_after: f64,
    /// The liabilities' DV01 (0 without liabilities).
    pub liabilities_before: f64,
    pub liabilities_after: f64,
    /// Assets' DV01 − liabilities' DV01: positive gains when rates fall.
    pub mismatch_before: f64,
    pub mismatch_after: f64,
}

/// Margin calls against what can pay them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, JsonSchema)]
pub struct Liquidity {
    /// The futures' net loss, if any, $ (gains and losses netted across positions).
    pub variation_margin: f64,
    /// Σ initial margin, $.
    pub initial_margin: f64,
    /// variation_margin + initial_margin, $.
    pub margin_need: f64,
    /// Cash holdings after the shock, $.
    pub cash_available: f64,
    /// Liquid holdings after the shock (cash included), $.
    pub liquid_available: f64,
    /// liquid_available / margin_need; null without a margin need.
    pub coverage: Option<f64>,
    /// margin_need − cash_available when positive: what must be raised by selling assets, $.
    pub cash_shortfall: f64,
    /// margin_need − liquid_available when positive: what cannot be met from liquid assets, $.
    pub liquidity_shortfall: f64,
}

/// One scenario's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ScenarioResult {
    pub name: String,
    pub description: String,
    pub shocks: Shocks,
    pub holdings: Vec<HoldingPnl>,
    pub futures: Vec<FuturesPnl>,
    /// Σ holdings' P&L, $.
    pub holdings_pnl: f64,
    /// Σ futures' P&L, $.
    pub futures_pnl: f64,
    /// holdings_pnl + futures_pnl, $.
    pub total_pnl: f64,
    /// total_pnl / the portfolio's value before (null when that is 0).
    pub total_return: Option<f64>,
    /// The portfolio's value before and after (futures gains and losses in cash), $.
    pub value_before: f64,
    pub value_after: f64,
    /// Null without liabilities.
    pub funded_status: Option<FundedChange>,
    pub dv01: Dv01Mismatch,
    pub liquidity: Liquidity,
}

/// The portfolio under every scenario asked for.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct StressResult {
    /// Σ holdings' market value, $.
    pub portfolio_value: f64,
    pub scenarios: Vec<ScenarioResult>,
}

fn bounded(field: impl AsRef<str>, x: f64, lo: f64, hi: f64, what: &str) -> Result<f64, SimError> {
    if (lo..=hi).contains(&x) {
        Ok(x)
    } else {
        Err(invalid(field, format!("{x} is not {what} from {lo} to {hi}")))
    }
}

fn check_key_rates(at: &str, krs: &[KeyRateDv01]) -> Result<(), SimError> {
    if krs.len() > MAX_KEY_RATES {
        return Err(invalid(at, format!("{} key rates; at most {MAX_KEY_RATES}", krs.len())));
    }
    for (i, k) in krs.iter().enumerate() {
        if !(k.tenor > 0.0 && k.tenor <= 100.0) {
            return Err(invalid(
                format!("{at}[{i}].tenor"),
                format!("{} is not above 0 and at most 100 years", k.tenor),
            ));
        }
        bounded(format!("{at}[{i}].dv01"), k.dv01, -MAX_AMOUNT, MAX_AMOUNT, "an amount")?;
    }
    Ok(())
}

/// −Σ DV01ₖ·Δy(tenorₖ): the value change from a curve move, `extra` bp added at every tenor.
fn key_rate_pnl(krs: &[KeyRateDv01], s: &Shocks, extra: f64) -> f64 {
    krs.iter().map(|k| -k.dv01 * (s.rate_at(k.tenor) + extra)).sum()
}

/// A holding checked: its DV01 and spread DV01 before the shock.
struct Prepared {
    dv01: f64,
    spread_dv01: f64,
    liquid: bool,
}

fn prepare(i: usize, h: &Holding) -> Result<Prepared, SimError> {
    let at = format!("holdings[{i}]");
    bounded(format!("{at}.market_value"), h.market_value, -MAX_AMOUNT, MAX_AMOUNT, "an amount")?;
    check_key_rates(&format!("{at}.key_rate_dv01s"), &h.key_rate_dv01s)?;
    let rate = h.asset_class.rate_sensitive();
    if !rate && (h.duration.is_some() || h.convexity.is_some() || !h.key_rate_dv01s.is_empty()) {
        return Err(invalid(
            format!("{at}.duration"),
            "only treasury, investment_grade, high_yield and tips holdings take a duration, convexity or key-rate DV01s",
        ));
    }
    let credit = matches!(h.asset_class, AssetClass::InvestmentGrade | AssetClass::HighYield);
    if h.spread_duration.is_some() && !credit {
        return Err(invalid(
            format!("{at}.spread_duration"),
            "only investment_grade and high_yield take a spread duration",
        ));
    }
    let dv01 = match (h.duration, h.key_rate_dv01s.is_empty()) {
        (Some(_), false) => return Err(invalid(format!("{at}.duration"), "give duration or key_rate_dv01s, not both")),
        (None, true) if rate => {
            return Err(invalid(format!("{at}.duration"), "a rate-sensitive holding needs duration or key_rate_dv01s"))
        }
        (None, true) => 0.0,
        (None, false) => {
            if h.convexity.is_some() {
                return Err(invalid(format!("{at}.convexity"), "convexity goes with duration, not key_rate_dv01s"));
            }
            h.key_rate_dv01s.iter().map(|k| k.dv01).sum()
        }
        (Some(d), true) => {
            h.market_value * bounded(format!("{at}.duration"), d, 0.0, 100.0, "a duration in years")? * BP
        }
    };
    if let Some(c) = h.convexity {
        bounded(format!("{at}.convexity"), c, 0.0, 10_000.0, "a convexity")?;
    }
    let spread_dv01 = match h.spread_duration {
        Some(sd) => {
            h.market_value * bounded(format!("{at}.spread_duration"), sd, 0.0, 100.0, "a duration in years")? * BP
        }
        None if credit => dv01,
        None => 0.0,
    };
    Ok(Prepared { dv01, spread_dv01, liquid: h.liquid.unwrap_or(h.asset_class != AssetClass::RealEstate) })
}

fn check_futures(i: usize, f: &FuturesPosition) -> Result<(), SimError> {
    let at = format!("futures[{i}]");
    bounded(format!("{at}.contracts"), f.contracts, -1e9, 1e9, "a number of contracts")?;
    if !(f.contract_value > 0.0 && f.contract_value <= 1e12) {
        return Err(invalid(
            format!("{at}.contract_value"),
            format!("{} is not above 0 and at most 1e12", f.contract_value),
        ));
    }
    bounded(format!("{at}.initial_margin_rate"), f.initial_margin_rate, 0.0, 1.0, "a fraction")?;
    match f.underlying {
        AssetClass::Treasury => {
            let d = f.dv01_per_contract.ok_or_else(|| {
                invalid(format!("{at}.dv01_per_contract"), "a treasury future needs its DV01 per contract")
            })?;
            bounded(format!("{at}.dv01_per_contract"), d, 0.0, 1e9, "a DV01 in $")?;
            if let Some(t) = f.tenor {
                if !(t > 0.0 && t <= 100.0) {
                    return Err(invalid(format!("{at}.tenor"), format!("{t} is not above 0 and at most 100 years")));
                }
            }
        }
        AssetClass::InvestmentGrade | AssetClass::HighYield | AssetClass::Tips | AssetClass::Cash => {
            return Err(invalid(
                format!("{at}.underlying"),
                "futures are on treasury or on a class moved by a return (equity, real_estate, commodities, gold, usd)",
            ))
        }
        _ => {
            if f.dv01_per_contract.is_some() || f.tenor.is_some() {
                return Err(invalid(format!("{at}.dv01_per_contract"), "only treasury futures take a DV01 and tenor"));
            }
        }
    }
    Ok(())
}

/// Liabilities reduced to what the scenarios need.
enum Liab<'a> {
    Numbers { pv: f64, key_rates: Vec<KeyRateDv01>, inflation_dv01: f64, spread: bool },
    Stream { req: &'a LiabilityRequest, pv: f64, dv01: f64, spread: bool },
}

fn prepare_liabilities(l: &StressLiabilities) -> Result<Liab<'_>, SimError> {
    if let Some(stream) = &l.stream {
        if l.present_value.is_some()
            || l.duration.is_some()
            || !l.key_rate_dv01s.is_empty()
            || l.inflation_dv01.is_some()
        {
            return Err(invalid("liabilities.stream", "give stream, or present_value with its DV01s, not both"));
        }
        let r = analyse(stream).map_err(|e| prefixed("liabilities.stream", e))?;
        return Ok(Liab::Stream {
            req: stream,
            pv: r.present_value,
            dv01: r.dv01,
            spread: l.discount_at_credit_spread,
        });
    }
    let pv = l.present_value.ok_or_else(|| invalid("liabilities.present_value", "give present_value or stream"))?;
    if !(pv > 0.0 && pv <= MAX_AMOUNT) {
        return Err(invalid("liabilities.present_value", format!("{pv} is not above 0 and at most 1e15")));
    }
    check_key_rates("liabilities.key_rate_dv01s", &l.key_rate_dv01s)?;
    let key_rates = match (l.duration, l.key_rate_dv01s.is_empty()) {
        (Some(_), false) => {
            return Err(invalid("liabilities.duration", "give duration or key_rate_dv01s, not both"));
        }
        (None, true) => return Err(invalid("liabilities.duration", "give duration or key_rate_dv01s")),
        (None, false) => l.key_rate_dv01s.clone(),
        (Some(d), true) => {
            let d = bounded("liabilities.duration", d, 0.0, 100.0, "a duration in years")?;
            vec![KeyRateDv01 { tenor: d.max(1e-9), dv01: pv * d * BP }]
        }
    };
    let inflation_dv01 =
        bounded("liabilities.inflation_dv01", l.inflation_dv01.unwrap_or(0.0), -MAX_AMOUNT, MAX_AMOUNT, "an amount")?;
    Ok(Liab::Numbers { pv, key_rates, inflation_dv01, spread: l.discount_at_credit_spread })
}

fn prefixed(prefix: &str, e: SimError) -> SimError {
    match e {
        SimError::Invalid { field, problem } => invalid(format!("{prefix}.{field}"), problem),
    }
}

impl Liab<'_> {
    fn before(&self) -> (f64, f64) {
        match self {
            Liab::Numbers { pv, key_rates, .. } => (*pv, key_rates.iter().map(|k| k.dv01).sum()),
            Liab::Stream { pv, dv01, .. } => (*pv, *dv01),
        }
    }

    /// Present value and DV01 after the shock.
    fn after(&self, s: &Shocks) -> Result<(f64, f64), SimError> {
        match self {
            Liab::Numbers { pv, key_rates, inflation_dv01, spread } => {
                let dv01: f64 = key_rates.iter().map(|k| k.dv01).sum();
                let extra = if *spread { s.ig_spread_bp } else { 0.0 };
                let new = pv + key_rate_pnl(key_rates, s, extra) + inflation_dv01 * s.breakeven_bp;
                // DV01 scales with the value (duration unchanged); a value driven to or below
                // zero keeps no rate risk.
                let after = if new > 0.0 { dv01 * new / pv } else { 0.0 };
                Ok((new, after))
            }
            Liab::Stream { req, spread, .. } => {
                let mut moved = (*req).clone();
                let extra = if *spread { s.ig_spread_bp } else { 0.0 };
                let nodes = if moved.curve.zero_rates.is_empty() {
                    &mut moved.curve.par_yields
                } else {
                    &mut moved.curve.zero_rates
                };
                for n in nodes.iter_mut() {
                    n.rate += (s.rate_at(n.tenor) + extra) * BP;
                }
                if let Some(i) = moved.inflation.as_mut() {
                    *i += s.breakeven_bp * BP;
                }
                let r = analyse(&moved).map_err(|e| {
                    prefixed("liabilities.stream", e).map_problem(|p| format!("{p} (after the scenario's shock)"))
                })?;
                Ok((r.present_value, r.dv01))
            }
        }
    }
}

trait MapProblem {
    fn map_problem(self, f: impl FnOnce(String) -> String) -> Self;
}

impl MapProblem for SimError {
    fn map_problem(self, f: impl FnOnce(String) -> String) -> Self {
        match self {
            SimError::Invalid { field, problem } => SimError::Invalid { field, problem: f(problem) },
        }
    }
}

fn holding_pnl(h: &Holding, p: &Prepared, s: &Shocks) -> (f64, f64, f64) {
    let v = h.market_value;
    if let Some(r) = s.price_return(h.asset_class) {
        return (v * r, 0.0, 0.0);
    }
    // TIPS move with the real yield: the nominal change less the breakeven change.
    let real = if h.asset_class == AssetClass::Tips { -s.breakeven_bp } else { 0.0 };
    let rates = match h.duration {
        Some(d) => {
            let dy = (s.rate_at(d) + real) * BP;
            -v * d * dy + 0.5 * v * h.convexity.unwrap_or(0.0) * dy * dy
        }
        None => key_rate_pnl(&h.key_rate_dv01s, s, real),
    };
    let spread = match h.asset_class {
        AssetClass::InvestmentGrade => -p.spread_dv01 * s.ig_spread_bp,
        AssetClass::HighYield => -p.spread_dv01 * s.hy_spread_bp,
        _ => 0.0,
    };
    (0.0, rates, spread)
}

fn futures_pnl(f: &FuturesPosition, s: &Shocks) -> f64 {
    match s.price_return(f.underlying) {
        Some(r) => f.contracts * f.contract_value * r,
        None => -f.contracts * f.dv01_per_contract.unwrap_or(0.0) * s.rate_at(f.tenor.unwrap_or(10.0)),
    }
}

fn futures_dv01(f: &FuturesPosition) -> f64 {
    if f.underlying == AssetClass::Treasury {
        f.contracts * f.dv01_per_contract.unwrap_or(0.0)
    } else {
        0.0
    }
}

/// The scenarios a request asks for, checked.
fn chosen(req: &StressRequest) -> Result<Vec<(String, String, Shocks)>, SimError> {
    let shift = bounded("parallel_shift_bp", req.parallel_shift_bp.unwrap_or(100.0), 0.0, 1000.0, "a shift in bp")?;
    let all = scenarios();
    let names: Vec<String> = match &req.scenarios {
        None => all.iter().map(|s| s.name.to_owned()).collect(),
        Some(n) => n.clone(),
    };
    if names.len() + req.custom.len() > MAX_ITEMS {
        return Err(invalid("scenarios", format!("at most {MAX_ITEMS} scenarios in all")));
    }
    let mut out = Vec::with_capacity(names.len() + req.custom.len());
    for (i, n) in names.iter().enumerate() {
        let sc = all.iter().find(|s| s.name == n).ok_or_else(|| {
            let known: Vec<&str> = all.iter().map(|s| s.name).collect();
            invalid(format!("scenarios[{i}]"), format!("unknown scenario {n:?}; known: {}", known.join(", ")))
        })?;
        let mut shocks = sc.shocks;
        let sign = match sc.name {
            "parallel_up" => Some(1.0),
            "parallel_down" => Some(-1.0),
            _ => None,
        };
        if let Some(sign) = sign {
            let m = sign * shift;
            (shocks.rate_2y_bp, shocks.rate_5y_bp, shocks.rate_10y_bp, shocks.rate_30y_bp) = (m, m, m, m);
        }
        out.push((sc.name.to_owned(), sc.description.to_owned(), shocks));
    }
    for (i, c) in req.custom.iter().enumerate() {
        if c.name.is_empty() || c.name.len() > 200 {
            return Err(invalid(format!("custom[{i}].name"), "give a name of 1 to 200 bytes"));
        }
        if c.description.len() > 10_000 {
            return Err(invalid(format!("custom[{i}].description"), "at most 10,000 bytes"));
        }
        c.shocks.check(&format!("custom[{i}].shocks"))?;
        out.push((c.name.clone(), c.description.clone(), c.shocks));
    }
    Ok(out)
}

/// Revalues the portfolio, its futures and its liabilities under each scenario asked for.
pub fn stress(req: &StressRequest) -> Result<StressResult, SimError> {
    if req.holdings.is_empty() || req.holdings.len() > MAX_ITEMS {
        return Err(invalid("holdings", format!("{} holdings; give 1 to {MAX_ITEMS}", req.holdings.len())));
    }
    if req.futures.len() > MAX_ITEMS {
        return Err(invalid("futures", format!("{} positions; at most {MAX_ITEMS}", req.futures.len())));
    }
    let prepared = req.holdings.iter().enumerate().map(|(i, h)| prepare(i, h)).collect::<Result<Vec<_>, _>>()?;
    for (i, f) in req.futures.iter().enumerate() {
        check_futures(i, f)?;
    }
    let liab = req.liabilities.as_ref().map(prepare_liabilities).transpose()?;
    let scenarios = chosen(req)?;

    let names: Vec<String> = req
        .holdings
        .iter()
        .enumerate()
        .map(|(i, h)| h.name.clone().unwrap_or_else(|| format!("holding {}", i + 1)))
        .collect();
    let value_before: f64 = req.holdings.iter().map(|h| h.market_value).sum();
    let asset_dv01_before: f64 =
        prepared.iter().map(|p| p.dv01).sum::<f64>() + req.futures.iter().map(futures_dv01).sum::<f64>();
    let (liab_before, liab_dv01_before) = liab.as_ref().map_or((0.0, 0.0), Liab::before);
    let initial_margin: Vec<f64> =
        req.futures.iter().map(|f| f.initial_margin_rate * (f.contracts * f.contract_value).abs()).collect();
    let initial_total: f64 = initial_margin.iter().sum();

    let mut results = Vec::with_capacity(scenarios.len());
    for (name, description, s) in scenarios {
        let mut holdings = Vec::with_capacity(req.holdings.len());
        let (mut cash, mut liquid, mut dv01_after) = (0.0, 0.0, 0.0);
        for ((h, p), n) in req.holdings.iter().zip(&prepared).zip(&names) {
            let (pnl_return, pnl_rates, pnl_spread) = holding_pnl(h, p, &s);
            let pnl = pnl_return + pnl_rates + pnl_spread;
            let value_after = h.market_value + pnl;
            if h.asset_class == AssetClass::Cash {
                cash += value_after;
            }
            if p.liquid {
                liquid += value_after;
            }
            // DV01 scales with the value (duration unchanged).
            if p.dv01 != 0.0 && h.market_value != 0.0 {
                dv01_after += p.dv01 * value_after / h.market_value;
            }
            holdings.push(HoldingPnl {
                name: n.clone(),
                asset_class: h.asset_class,
                value_before: h.market_value,
                pnl_return,
                pnl_rates,
                pnl_spread,
                pnl,
                value_after,
            });
        }
        dv01_after += req.futures.iter().map(futures_dv01).sum::<f64>();
        let futures: Vec<FuturesPnl> = req
            .futures
            .iter()
            .enumerate()
            .zip(&initial_margin)
            .map(|((i, f), im)| FuturesPnl {
                name: f.name.clone().unwrap_or_else(|| format!("futures {}", i + 1)),
                notional: f.contracts * f.contract_value,
                pnl: futures_pnl(f, &s),
                initial_margin: *im,
            })
            .collect();
        let holdings_pnl: f64 = holdings.iter().map(|h| h.pnl).sum();
        let fut_pnl: f64 = futures.iter().map(|f| f.pnl).sum();
        let total_pnl = holdings_pnl + fut_pnl;
        let value_after = value_before + total_pnl;
        let (funded_status, liab_dv01_after) = match &liab {
            None => (None, 0.0),
            Some(l) => {
                let (pv_after, dv01) = l.after(&s)?;
                let ratio = |a: f64, l: f64| if l > 0.0 { a / l } else { f64::INFINITY };
                let fc = FundedChange {
                    liabilities_before: liab_before,
                    liabilities_after: pv_after,
                    funded_ratio_before: ratio(value_before, liab_before),
                    funded_ratio_after: ratio(value_after, pv_after),
                    surplus_before: value_before - liab_before,
                    surplus_after: value_after - pv_after,
                    surplus_change: (value_after - pv_after) - (value_before - liab_before),
                };
                if !fc.funded_ratio_after.is_finite() {
                    return Err(invalid(
                        "liabilities",
                        format!("scenario {name}: the liabilities' value falls to zero or below; the shock is too large for a first-order revaluation"),
                    ));
                }
                (Some(fc), dv01)
            }
        };
        let variation_margin = (-fut_pnl).max(0.0);
        let margin_need = variation_margin + initial_total;
        let liquidity = Liquidity {
            variation_margin,
            initial_margin: initial_total,
            margin_need,
            cash_available: cash,
            liquid_available: liquid,
            coverage: (margin_need > 0.0).then(|| liquid / margin_need),
            cash_shortfall: (margin_need - cash).max(0.0),
            liquidity_shortfall: (margin_need - liquid).max(0.0),
        };
        results.push(ScenarioResult {
            name,
            description,
            shocks: s,
            holdings,
            futures,
            holdings_pnl,
            futures_pnl: fut_pnl,
            total_pnl,
            total_return: (value_before != 0.0).then(|| total_pnl / value_before),
            value_before,
            value_after,
            funded_status,
            dv01: Dv01Mismatch {
                assets_before: asset_dv01_before,
                assets_after: dv01_after,
                liabilities_before: liab_dv01_before,
                liabilities_after: liab_dv01_after,
                mismatch_before: asset_dv01_before - liab_dv01_before,
                mismatch_after: dv01_after - liab_dv01_after,
            },
            liquidity,
        });
    }
    Ok(StressResult { portfolio_value: value_before, scenarios: results })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_scenario_is_within_bounds_and_uniquely_named() {
        let all = scenarios();
        for (i, s) in all.iter().enumerate() {
            s.shocks.check(s.name).unwrap();
            assert!(all[..i].iter().all(|t| t.name != s.name), "{} twice", s.name);
        }
        assert_eq!(all.len(), 9);
    }

    #[test]
    fn the_curve_shock_is_linear_between_tenors_and_flat_outside() {
        let s = Shocks { rate_2y_bp: 10.0, rate_5y_bp: 40.0, rate_10y_bp: 50.0, rate_30y_bp: 90.0, ..ZERO };
        assert_eq!(s.rate_at(0.5), 10.0);
        assert_eq!(s.rate_at(3.5), 25.0);
        assert_eq!(s.rate_at(20.0), 70.0);
        assert_eq!(s.rate_at(50.0), 90.0);
    }
}
