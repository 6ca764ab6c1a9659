//! Overlays: derivatives positions sized to change one exposure of a portfolio without
//! trading the portfolio itself.
//!
//! - Duration ([`DurationRequest`]): Treasury futures to move the portfolio's DV01 to a target.
//!   A bond future tracks its cheapest-to-deliver bond (CTD) divided by the CTD's conversion
//!   factor, so the future's DV01 is DV01_CTD / CF (per contract), and
//!   N = (DV01_target − DV01_portfolio) / DV01_futures, rounded to whole contracts; the
//!   residual is the DV01 the rounding leaves (Hull, "Options, Futures, and Other
//!   Derivatives", duration-based hedging with Treasury bond futures; Fabozzi, "Bond Markets,
//!   Analysis and Strategies", ch. on interest-rate futures).
//! - Currency ([`CurrencyRequest`]): each foreign exposure hedged at its hedge ratio with an
//!   outright forward; covered interest parity over the tenor τ with money-market (simple)
//!   interest, F = S·(1 + r_d·τ)/(1 + r_f·τ), S and F in domestic currency per unit of
//!   foreign; the forward points are F − S (also in pips, ×10⁴). Selling the foreign currency
//!   forward at F rather than S earns (F − S)/S over the tenor, so the hedge costs
//!   (S − F)/S per tenor on the hedged value, annualised by 1/τ (about r_f − r_d: negative, a
//!   gain, when domestic rates are higher). The cost assumes the hedge is rolled at unchanged
//!   rates.
//! - Beta ([`BetaRequest`]): index futures to move the portfolio's beta from β to β*:
//!   N = (β* − β)·V / (F·m), F the futures price and m its multiplier (Hull, "changing the
//!   beta of a portfolio"); rounded, with the beta reached and the residual.
//! - Tail ([`TailRequest`]): a put spread, long a put at K1 and short a put at K2 < K1, on
//!   enough index units to cover the portfolio's beta-weighted exposure; each put priced by
//!   Black-Scholes-Merton ([`crate::options::black_scholes`]). Reported: its cost in $ and as a
//!   fraction of the portfolio, its payoff at expiry at each crash level, min(max(K1 − S_T, 0),
//!   K1 − K2) per unit, against the portfolio's beta-implied loss, and the protection per unit
//!   of cost (payoff / cost).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::options::{black_scholes, BsInput, OptionKind};
use crate::{invalid, SimError};

const MAX_AMOUNT: f64 = 1e15;
const MAX_CONTRACTS: f64 = 1e9;
/// The most currency exposures or crash levels one request takes.
pub const MAX_ITEMS: usize = 10_000;
const BP: f64 = 1e-4;

/// One overlay to size: `{"kind": "duration" | "currency" | "beta" | "tail", ...}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OverlayRequest {
    Duration(DurationRequest),
    Currency(CurrencyRequest),
    Beta(BetaRequest),
    Tail(TailRequest),
}

/// The overlay sized, tagged with the request's `kind`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OverlayResult {
    Duration(DurationResult),
    Currency(CurrencyResult),
    Beta(BetaResult),
    Tail(TailResult),
}

/// Sizes an overlay.
pub fn overlay(req: &OverlayRequest) -> Result<OverlayResult, SimError> {
    Ok(match req {
        OverlayRequest::Duration(r) => OverlayResult::Duration(duration(r)?),
        OverlayRequest::Currency(r) => OverlayResult::Currency(currency(r)?),
        OverlayRequest::Beta(r) => OverlayResult::Beta(beta(r)?),
        OverlayRequest::Tail(r) => OverlayResult::Tail(tail(r)?),
    })
}

fn bounded(field: &str, x: f64, lo: f64, hi: f64, what: &str) -> Result<f64, SimError> {
    if (lo..=hi).contains(&x) {
        Ok(x)
    } else {
        Err(invalid(field, format!("{x} is not {what} from {lo} to {hi}")))
    }
}

fn positive(field: &str, x: f64, hi: f64) -> Result<f64, SimError> {
    if x > 0.0 && x <= hi {
        Ok(x)
    } else {
        Err(invalid(field, format!("{x} is not above 0 and at most {hi:e}")))
    }
}

/// Whole contracts, half away from zero, after checking the exact number is not absurd.
fn whole(field: &str, exact: f64) -> Result<f64, SimError> {
    if exact.abs() > MAX_CONTRACTS || !exact.is_finite() {
        return Err(invalid(field, format!("the overlay needs {exact:e} contracts; at most 1e9")));
    }
    Ok(exact.round())
}

// ---------------------------------------------------------------------------------------------
// Duration
// ---------------------------------------------------------------------------------------------

/// Treasury futures to move a portfolio's DV01 to a target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DurationRequest {
    /// The portfolio's DV01, $ per bp (value gained when yields fall 1 bp; |x| at most 1e13);
    /// or give `portfolio_value` and `portfolio_duration`.
    #[serde(default)]
    pub portfolio_dv01: Option<f64>,
    /// The portfolio's market value, $ (above 0, at most 1e15).
    #[serde(default)]
    pub portfolio_value: Option<f64>,
    /// The portfolio's modified duration, years (−100 to 100).
    #[serde(default)]
    pub portfolio_duration: Option<f64>,
    /// The DV01 wanted, $ per bp (0 hedges all the rate risk); or `target_duration`.
    #[serde(default)]
    pub target_dv01: Option<f64>,
    /// The modified duration wanted, years (−100 to 100), with `portfolio_value`.
    #[serde(default)]
    pub target_duration: Option<f64>,
    /// The cheapest-to-deliver bond's DV01 for one contract's face (e.g. $100,000), $ per bp
    /// (above 0, at most 1e9).
    pub ctd_dv01: f64,
    /// The CTD's conversion factor (above 0, at most 5); 1 when absent.
    #[serde(default)]
    pub conversion_factor: Option<f64>,
    /// The futures price, per 100 of face; when given, with `contract_size`, the notional.
    #[serde(default)]
    pub futures_price: Option<f64>,
    /// Face value of one contract, $ (100,000 by default: CBOT Treasury note and bond futures).
    #[serde(default)]
    pub contract_size: Option<f64>,
}

/// Treasury futures sized.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct DurationResult {
    /// The portfolio's DV01 before the overlay, $ per bp.
    pub current_dv01: f64,
    /// The DV01 wanted, $ per bp.
    pub target_dv01: f64,
    /// One contract's DV01: ctd_dv01 / conversion_factor, $ per bp.
    pub futures_dv01: f64,
    /// (target − current) / futures_dv01, unrounded (negative: sell).
    pub contracts_exact: f64,
    /// Whole contracts (negative: sell).
    pub contracts: f64,
    /// DV01 with the rounded overlay, $ per bp.
    pub dv01_after: f64,
    /// target − dv01_after: what the rounding leaves, $ per bp.
    pub residual_dv01: f64,
    /// Modified duration with the overlay, years (null without `portfolio_value`).
    pub duration_after: Option<f64>,
    /// contracts × futures_price/100 × contract_size, $ (null without `futures_price`).
    pub notional: Option<f64>,
}

/// Sizes a Treasury futures overlay.
pub fn duration(r: &DurationRequest) -> Result<DurationResult, SimError> {
    let value = r.portfolio_value.map(|v| positive("portfolio_value", v, MAX_AMOUNT)).transpose()?;
    let current_dv01 = match (r.portfolio_dv01, value, r.portfolio_duration) {
        (Some(d), None, None) => bounded("portfolio_dv01", d, -1e13, 1e13, "a DV01 in $")?,
        (None, Some(v), Some(d)) => v * bounded("portfolio_duration", d, -100.0, 100.0, "a duration in years")? * BP,
        (Some(_), _, Some(_)) => {
            return Err(invalid("portfolio_duration", "give portfolio_dv01 or portfolio_duration, not both"))
        }
        (None, None, _) => {
            return Err(invalid("portfolio_dv01", "give portfolio_dv01, or portfolio_value and portfolio_duration"))
        }
        (None, Some(_), None) => {
            return Err(invalid(
                "portfolio_duration",
                "give portfolio_duration with portfolio_value, or portfolio_dv01",
            ))
        }
        (Some(d), Some(_), None) => bounded("portfolio_dv01", d, -1e13, 1e13, "a DV01 in $")?,
    };
    let target_dv01 = match (r.target_dv01, r.target_duration) {
        (Some(t), None) => bounded("target_dv01", t, -1e13, 1e13, "a DV01 in $")?,
        (None, Some(d)) => {
            let v = value.ok_or_else(|| invalid("portfolio_value", "target_duration needs portfolio_value"))?;
            v * bounded("target_duration", d, -100.0, 100.0, "a duration in years")? * BP
        }
        (Some(_), Some(_)) => return Err(invalid("target_duration", "give target_dv01 or target_duration, not both")),
        (None, None) => return Err(invalid("target_dv01", "give target_dv01 or target_duration")),
    };
    let ctd = positive("ctd_dv01", r.ctd_dv01, 1e9)?;
    let cf = positive("conversion_factor", r.conversion_factor.unwrap_or(1.0), 5.0)?;
    let size = positive("contract_size", r.contract_size.unwrap_or(100_000.0), 1e12)?;
    let price = r.futures_price.map(|p| positive("futures_price", p, 10_000.0)).transpose()?;
    let futures_dv01 = ctd / cf;
    let contracts_exact = (target_dv01 - current_dv01) / futures_dv01;
    let contracts = whole("ctd_dv01", contracts_exact)?;
    let dv01_after = current_dv01 + contracts * futures_dv01;
    Ok(DurationResult {
        current_dv01,
        target_dv01,
        futures_dv01,
        contracts_exact,
        contracts,
        dv01_after,
        residual_dv01: target_dv01 - dv01_after,
        duration_after: value.map(|v| dv01_after / (v * BP)),
        notional: price.map(|p| contracts * p / 100.0 * size),
    })
}

// ---------------------------------------------------------------------------------------------
// Currency
// ---------------------------------------------------------------------------------------------

/// One foreign-currency exposure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CurrencyExposure {
    /// The currency's code, for the report (e.g. "EUR"; 1 to 20 bytes).
    pub currency: String,
    /// The exposure's value in domestic currency (above 0, at most 1e15).
    pub value: f64,
    /// Spot rate, domestic per unit of foreign (EURUSD 1.10 for a US investor), above 0.
    pub spot: f64,
    /// Domestic interest rate for the tenor, simple annual (0.05 is 5%; −0.5 to 1).
    pub domestic_rate: f64,
    /// Foreign interest rate for the tenor, simple annual (−0.5 to 1).
    pub foreign_rate: f64,
    /// Fraction hedged (0 to 1.5); the request's `hedge_ratio` when absent.
    #[serde(default)]
    pub hedge_ratio: Option<f64>,
}

/// Currency forwards hedging foreign exposures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CurrencyRequest {
    /// The exposures (1 to 10,000).
    pub exposures: Vec<CurrencyExposure>,
    /// The forwards' tenor, years (above 0, at most 2); 0.25 (three months) by default.
    #[serde(default)]
    pub tenor: Option<f64>,
    /// The hedge ratio for exposures that give none (0 to 1.5); 1 by default.
    #[serde(default)]
    pub hedge_ratio: Option<f64>,
}

/// One exposure's hedge.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct CurrencyHedge {
    pub currency: String,
    pub hedge_ratio: f64,
    /// value × hedge_ratio, domestic currency.
    pub hedged_value: f64,
    /// The foreign amount sold forward: hedged_value / spot.
    pub foreign_notional: f64,
    /// The forward rate S·(1 + r_d·τ)/(1 + r_f·τ), domestic per foreign.
    pub forward: f64,
    /// F − S, domestic per foreign.
    pub forward_points: f64,
    /// (F − S) × 10,000.
    pub forward_points_pips: f64,
    /// (S − F)/S × hedged_value: the cost over one tenor (negative: the hedge earns), domestic.
    pub cost_per_tenor: f64,
    /// (S − F)/S / τ: the cost a year as a fraction of the hedged value.
    pub annual_cost_rate: f64,
    /// annual_cost_rate × hedged_value, domestic.
    pub annual_cost: f64,
}

/// Currency hedges sized and costed.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct CurrencyResult {
    pub tenor: f64,
    pub hedges: Vec<CurrencyHedge>,
    /// Σ exposures' value, domestic.
    pub total_exposure: f64,
    /// Σ hedged value, domestic.
    pub total_hedged: f64,
    /// Σ annual cost, domestic.
    pub annual_cost: f64,
    /// annual_cost / total_exposure.
    pub annual_cost_rate: f64,
}

/// Sizes and costs currency forwards.
pub fn currency(r: &CurrencyRequest) -> Result<CurrencyResult, SimError> {
    if r.exposures.is_empty() || r.exposures.len() > MAX_ITEMS {
        return Err(invalid("exposures", format!("{} exposures; give 1 to {MAX_ITEMS}", r.exposures.len())));
    }
    let tau = positive("tenor", r.tenor.unwrap_or(0.25), 2.0)?;
    let default_ratio = bounded("hedge_ratio", r.hedge_ratio.unwrap_or(1.0), 0.0, 1.5, "a hedge ratio")?;
    let mut hedges = Vec::with_capacity(r.exposures.len());
    for (i, e) in r.exposures.iter().enumerate() {
        let at = |f: &str| format!("exposures[{i}].{f}");
        if e.currency.is_empty() || e.currency.len() > 20 {
            return Err(invalid(at("currency"), "give a code of 1 to 20 bytes"));
        }
        let value = positive(&at("value"), e.value, MAX_AMOUNT)?;
        let spot = positive(&at("spot"), e.spot, 1e6)?;
        let rd = bounded(&at("domestic_rate"), e.domestic_rate, -0.5, 1.0, "a rate")?;
        let rf = bounded(&at("foreign_rate"), e.foreign_rate, -0.5, 1.0, "a rate")?;
        let h = bounded(&at("hedge_ratio"), e.hedge_ratio.unwrap_or(default_ratio), 0.0, 1.5, "a hedge ratio")?;
        // τ ≤ 2 and rates ≥ −0.5 keep 1 + r·τ ≥ 0; exactly 0 would divide by zero.
        if 1.0 + rf * tau <= 0.0 || 1.0 + rd * tau <= 0.0 {
            return Err(invalid(at("foreign_rate"), "1 + rate × tenor must be above 0"));
        }
        let forward = spot * (1.0 + rd * tau) / (1.0 + rf * tau);
        let hedged_value = value * h;
        let per_tenor = (spot - forward) / spot;
        let annual_cost_rate = per_tenor / tau;
        hedges.push(CurrencyHedge {
            currency: e.currency.clone(),
            hedge_ratio: h,
            hedged_value,
            foreign_notional: hedged_value / spot,
            forward,
            forward_points: forward - spot,
            forward_points_pips: (forward - spot) * 1e4,
            cost_per_tenor: per_tenor * hedged_value,
            annual_cost_rate,
            annual_cost: annual_cost_rate * hedged_value,
        });
    }
    let total_exposure: f64 = r.exposures.iter().map(|e| e.value).sum();
    let annual_cost: f64 = hedges.iter().map(|h| h.annual_cost).sum();
    Ok(CurrencyResult {
        tenor: tau,
        total_hedged: hedges.iter().map(|h| h.hedged_value).sum(),
        hedges,
        total_exposure,
        annual_cost,
        annual_cost_rate: annual_cost / total_exposure,
    })
}

// ---------------------------------------------------------------------------------------------
// Beta
// ---------------------------------------------------------------------------------------------

/// Index futures to move a portfolio's beta to a target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BetaRequest {
    /// The portfolio's market value V, $ (above 0, at most 1e15).
    pub portfolio_value: f64,
    /// Its beta to the futures' index (−10 to 10).
    pub portfolio_beta: f64,
    /// The beta wanted (−10 to 10; 0 hedges the market risk).
    pub target_beta: f64,
    /// The futures price F, index points (above 0, at most 1e9).
    pub futures_price: f64,
    /// $ per index point m (250 for the original S&P 500 contract, 50 for the E-mini).
    pub multiplier: f64,
}

/// Index futures sized.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct BetaResult {
    /// F × m, $.
    pub contract_value: f64,
    /// (β* − β)·V / (F·m), unrounded (negative: sell).
    pub contracts_exact: f64,
    /// Whole contracts (negative: sell).
    pub contracts: f64,
    /// contracts × F × m, $.
    pub notional: f64,
    /// β + contracts·F·m / V.
    pub beta_after: f64,
    /// target − beta_after: what the rounding leaves.
    pub residual_beta: f64,
}

/// Sizes an index futures overlay.
pub fn beta(r: &BetaRequest) -> Result<BetaResult, SimError> {
    let v = positive("portfolio_value", r.portfolio_value, MAX_AMOUNT)?;
    let b = bounded("portfolio_beta", r.portfolio_beta, -10.0, 10.0, "a beta")?;
    let t = bounded("target_beta", r.target_beta, -10.0, 10.0, "a beta")?;
    let f = positive("futures_price", r.futures_price, 1e9)?;
    let m = positive("multiplier", r.multiplier, 1e6)?;
    let contract_value = f * m;
    let contracts_exact = (t - b) * v / contract_value;
    let contracts = whole("futures_price", contracts_exact)?;
    let beta_after = b + contracts * contract_value / v;
    Ok(BetaResult {
        contract_value,
        contracts_exact,
        contracts,
        notional: contracts * contract_value,
        beta_after,
        residual_beta: t - beta_after,
    })
}

// ---------------------------------------------------------------------------------------------
// Tail
// ---------------------------------------------------------------------------------------------

/// A put spread on an index protecting a portfolio.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TailRequest {
    /// The portfolio's market value, $ (above 0, at most 1e15).
    pub portfolio_value: f64,
    /// Its beta to the index (0 to 10); 1 when absent.
    #[serde(default)]
    pub portfolio_beta: Option<f64>,
    /// The fraction of the beta-weighted exposure to cover (above 0, at most 2); 1 when absent.
    #[serde(default)]
    pub hedge_ratio: Option<f64>,
    /// The index level today (above 0).
    pub spot: f64,
    /// K1, the long put's strike (above the short strike).
    pub long_strike: f64,
    /// K2, the short put's strike (above 0, below K1).
    pub short_strike: f64,
    /// Risk-free rate, continuously compounded (0.04 is 4%).
    pub rate: f64,
    /// The index's dividend yield, continuously compounded; 0 when absent.
    #[serde(default)]
    pub dividend: f64,
    /// Implied volatility of the long put (0.20 is 20%).
    pub volatility: f64,
    /// Implied volatility of the short put (skew); `volatility` when absent.
    #[serde(default)]
    pub short_volatility: Option<f64>,
    /// Years to expiry (above 0).
    pub expiry: f64,
    /// $ per index point of one option contract (100 for SPX options); when given the cover is
    /// rounded to whole contracts. Index units, unrounded, when absent.
    #[serde(default)]
    pub multiplier: Option<f64>,
    /// Index moves at expiry to show the payoff at (−0.2 is a 20% fall; −1 to 1, at most
    /// 10,000); −10%, −20%, −30% and −40% when absent.
    #[serde(default)]
    pub crash_moves: Option<Vec<f64>>,
}

/// The put spread at one crash level.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct CrashPayoff {
    /// The index move.
    pub index_move: f64,
    /// spot × (1 + move).
    pub index_level: f64,
    /// The spread's payoff at expiry, $.
    pub payoff: f64,
    /// payoff / portfolio value.
    pub payoff_fraction: f64,
    /// The portfolio's beta-implied change, value × beta × move, $.
    pub portfolio_change: f64,
    /// portfolio_change + payoff − cost, $.
    pub hedged_change: f64,
    /// payoff / cost: the protection per $ spent (null when the spread costs nothing).
    pub payoff_per_cost: Option<f64>,
}

/// The put spread priced.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct TailResult {
    /// Black-Scholes-Merton price of the long put at K1, per index unit.
    pub long_put: f64,
    /// Black-Scholes-Merton price of the short put at K2, per index unit.
    pub short_put: f64,
    /// long_put − short_put, per index unit.
    pub spread_price: f64,
    /// Index units covered: hedge_ratio × beta × value / spot (whole contracts × multiplier
    /// when a multiplier is given).
    pub units: f64,
    /// units / multiplier (null without a multiplier).
    pub contracts: Option<f64>,
    /// units × spread_price, $.
    pub cost: f64,
    /// cost / portfolio value.
    pub cost_fraction: f64,
    /// units × (K1 − K2): the most it pays, $.
    pub max_payoff: f64,
    /// max_payoff / cost (null when the spread costs nothing).
    pub max_payoff_per_cost: Option<f64>,
    /// K1 − spread_price: the index level below which the spread pays back its cost.
    pub breakeven_level: f64,
    pub crashes: Vec<CrashPayoff>,
}

/// Prices a put-spread tail hedge.
pub fn tail(r: &TailRequest) -> Result<TailResult, SimError> {
    let v = positive("portfolio_value", r.portfolio_value, MAX_AMOUNT)?;
    let b = bounded("portfolio_beta", r.portfolio_beta.unwrap_or(1.0), 0.0, 10.0, "a beta")?;
    let h = positive("hedge_ratio", r.hedge_ratio.unwrap_or(1.0), 2.0)?;
    let spot = positive("spot", r.spot, 1e9)?;
    let k1 = positive("long_strike", r.long_strike, 1e9)?;
    let k2 = positive("short_strike", r.short_strike, 1e9)?;
    if k2 >= k1 {
        return Err(invalid("short_strike", format!("{k2} must be below the long strike {k1}")));
    }
    bounded("rate", r.rate, -1.0, 1.0, "a rate")?;
    bounded("dividend", r.dividend, -1.0, 1.0, "a yield")?;
    bounded("expiry", r.expiry, 1e-6, 50.0, "years")?;
    let vol_long = bounded("volatility", r.volatility, 1e-6, 5.0, "a volatility")?;
    let vol_short = bounded("short_volatility", r.short_volatility.unwrap_or(vol_long), 1e-6, 5.0, "a volatility")?;
    let put = |strike: f64, volatility: f64, field: &str| {
        black_scholes(&BsInput {
            kind: OptionKind::Put,
            spot,
            strike,
            rate: r.rate,
            dividend: r.dividend,
            volatility,
            expiry: r.expiry,
        })
        .map(|g| g.price)
        .map_err(|e| match e {
            SimError::Invalid { problem, .. } => invalid(field, problem),
        })
    };
    let long_put = put(k1, vol_long, "volatility")?;
    let short_put = put(k2, vol_short, "short_volatility")?;
    let spread_price = long_put - short_put;
    let raw_units = h * b * v / spot;
    let (units, contracts) = match r.multiplier {
        None => (raw_units, None),
        Some(m) => {
            let m = positive("multiplier", m, 1e6)?;
            let c = whole("multiplier", raw_units / m)?;
            (c * m, Some(c))
        }
    };
    let moves = r.crash_moves.clone().unwrap_or_else(|| vec![-0.1, -0.2, -0.3, -0.4]);
    if moves.len() > MAX_ITEMS {
        return Err(invalid("crash_moves", format!("{} moves; at most {MAX_ITEMS}", moves.len())));
    }
    let cost = units * spread_price;
    let per_cost = |x: f64| (cost > 0.0).then(|| x / cost);
    let mut crashes = Vec::with_capacity(moves.len());
    for (i, &m) in moves.iter().enumerate() {
        bounded(&format!("crash_moves[{i}]"), m, -1.0, 1.0, "an index move")?;
        let level = spot * (1.0 + m);
        let payoff = units * ((k1 - level).max(0.0) - (k2 - level).max(0.0));
        let portfolio_change = v * b * m;
        crashes.push(CrashPayoff {
            index_move: m,
            index_level: level,
            payoff,
            payoff_fraction: payoff / v,
            portfolio_change,
            hedged_change: portfolio_change + payoff - cost,
            payoff_per_cost: per_cost(payoff),
        });
    }
    let max_payoff = units * (k1 - k2);
    Ok(TailResult {
        long_put,
        short_put,
        spread_price,
        units,
        contracts,
        cost,
        cost_fraction: cost / v,
        max_payoff,
        max_payoff_per_cost: per_cost(max_payoff),
        breakeven_level: k1 - spread_price,
        crashes,
    })
}
