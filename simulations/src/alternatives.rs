//! Alternatives: private-equity commitment pacing with the Takahashi-Alexander (Yale) model
//! ([`pacing`]), crypto sizing by maximum Sharpe under caps ([`crypto`]), commodities' inflation
//! betas and the hedge weight they imply ([`inflation_beta`]), REIT sector allocation by
//! mean-variance utility ([`reit_sectors`]), and a whole portfolio's liquidity against its
//! requirements ([`liquidity`]).
//!
//! # Commitment pacing
//!
//! Takahashi, D. and S. Alexander (2002), "Illiquid Alternative Asset Fund Modeling", Journal
//! of Portfolio Management 28 (2), 90-100. A fund of commitment C and life L years, at age
//! t = 1, 2, …, L (age 1 is its vintage year):
//!
//! - contributions C_t = RC_t·(C − PIC_{t−1}), PIC the paid-in capital so far and RC_t the rate
//!   of contribution for age t (a schedule such as 25%, 33.3%, 50%, 100% of what is left; ages
//!   past the schedule use its last rate);
//! - distributions D_t = RD_t·NAV_{t−1}·(1 + G), with the rate of distribution
//!   RD_t = max(Y, (t/L)^B), B the bow and Y the yield (the minimum rate);
//! - NAV_t = NAV_{t−1}·(1 + G) + C_t − D_t, NAV_0 = 0.
//!
//! RD_t = max(Y, (t/L)^B) is the form implementations of the paper write beside its other
//! equations (the public repository jzhang1223/CBA's `ModelCalculations.py` gives
//! `RD = Max[Y, (t / L) ^ B]` with the same C_t, D_t and NAV_t); the paper's own page was not at
//! hand to check. Written as Y·(t/L)^B the rate would never reach 1 and the NAV would not run
//! off at the fund's end. With RD_L = 1, NAV_L = C_L: the fund ends
//! with no value once its commitment is paid in. Calls stop after age L; commitment still
//! unfunded then lapses and is reported.
//!
//! Several commitments (one a vintage year, or more) are summed per calendar year. The whole
//! portfolio is worth `portfolio_value` at the start of the first year and grows at
//! `portfolio_growth` a year; the NAV's share of it at each year's end is what a target
//! allocation to private equity is checked against.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{invalid, SimError};

/// The most commitments one pacing plan may have.
pub const MAX_COMMITMENTS: usize = 1_000;
/// The longest fund life, in years.
pub const MAX_LIFE: u32 = 100;
/// The most years a pacing projection may span.
pub const MAX_YEARS: u32 = 500;
/// The most assets, sectors or holdings one request may have.
pub const MAX_ASSETS: usize = 1_000;
/// The most observations one inflation series may have.
pub const MAX_OBSERVATIONS: usize = 100_000;

fn non_negative(field: &str, v: f64) -> Result<f64, SimError> {
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err(invalid(field, "must be a finite number at least 0"))
    }
}

fn unit(field: &str, v: f64) -> Result<f64, SimError> {
    if v.is_finite() && (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(invalid(field, "must be between 0 and 1"))
    }
}

/// Turns a value that overflowed (a finite input pushed past f64) into an error.
fn bounded(field: &str, v: f64) -> Result<f64, SimError> {
    if v.is_finite() {
        Ok(v)
    } else {
        Err(invalid(field, "the result overflows: use smaller numbers"))
    }
}

// ---------------------------------------------------------------------------------------------
// Takahashi-Alexander pacing
// ---------------------------------------------------------------------------------------------

/// The Takahashi-Alexander parameters of a fund.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FundModel {
    /// Rates of contribution RC_t by fund age (first entry for age 1), each a fraction between
    /// 0 and 1 of the commitment still unfunded; ages past the list use its last rate. 1 to 100
    /// rates; the paper's example is [0.25, 0.333, 0.5] then 0.5 on; a common one ends with 1.
    pub contribution_rates: Vec<f64>,
    /// Bow B, the shape of the distribution rate (t/L)^B: 0 or more, at most 100 (the paper
    /// uses 2.5).
    pub bow: f64,
    /// Yield Y, the minimum rate of distribution a year, between 0 and 1; 0 when absent.
    #[serde(default)]
    pub distribution_yield: f64,
    /// Life L of the fund in years, 1 to 100 (the paper uses 12).
    pub life: u32,
    /// Annual growth G of the NAV as a fraction (0.13 for 13%), above −1.
    pub growth: f64,
}

/// A commitment to a fund of one vintage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Commitment {
    /// Vintage: the calendar year of the fund's first capital call (its age 1).
    pub vintage: i32,
    /// Commitment C in currency units, 0 or more.
    pub amount: f64,
    /// The fund's parameters; the request's `model` when absent.
    #[serde(default)]
    pub model: Option<FundModel>,
}

/// A commitment pacing plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PacingRequest {
    /// The fund parameters commitments use unless they give their own.
    pub model: FundModel,
    /// The commitments, 1 to 1,000.
    pub commitments: Vec<Commitment>,
    /// Total portfolio value (private equity included) at the start of the first year, in
    /// currency units; above 0. Absent: no NAV shares are reported.
    #[serde(default)]
    pub portfolio_value: Option<f64>,
    /// Annual growth of the total portfolio as a fraction, above −1; 0 when absent.
    #[serde(default)]
    pub portfolio_growth: f64,
    /// Target share of the total portfolio in private equity NAV (0 to 1), to report the gap;
    /// none when absent.
    #[serde(default)]
    pub target_allocation: Option<f64>,
    /// Years to report from the first vintage; until the last fund's life ends when absent.
    /// 1 to 500.
    #[serde(default)]
    pub years: Option<u32>,
}

/// One calendar year of a pacing projection (sums over the commitments).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct PacingYear {
    /// Calendar year.
    pub year: i32,
    /// Capital called (contributions) during the year, currency units.
    pub calls: f64,
    /// Distributions during the year, currency units.
    pub distributions: f64,
    /// Distributions less calls (the investor's net cash flow), currency units.
    pub net_cash_flow: f64,
    /// NAV at the year's end, currency units.
    pub nav: f64,
    /// Commitments made (vintage this year or earlier) still uncalled at the year's end,
    /// currency units; lapsed commitment of funds past their life is not counted.
    pub unfunded: f64,
    /// Total portfolio value at the year's end (start value grown by `portfolio_growth`), when
    /// `portfolio_value` is given.
    pub portfolio_value: Option<f64>,
    /// NAV as a fraction of the total portfolio, when `portfolio_value` is given.
    pub nav_share: Option<f64>,
    /// NAV plus unfunded commitments as a fraction of the total portfolio (the exposure once
    /// everything is called), when `portfolio_value` is given.
    pub exposure_share: Option<f64>,
    /// `nav_share` less `target_allocation`, when both are available.
    pub gap_to_target: Option<f64>,
}

/// One fund's path by age.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct FundPath {
    /// Vintage year of the commitment.
    pub vintage: i32,
    /// Commitment, currency units.
    pub commitment: f64,
    /// Contributions C_t by age 1..L, currency units.
    pub contributions: Vec<f64>,
    /// Distributions D_t by age 1..L, currency units.
    pub distributions: Vec<f64>,
    /// NAV_t at the end of ages 1..L, currency units.
    pub nav: Vec<f64>,
    /// Commitment never called by the end of the fund's life, currency units.
    pub lapsed: f64,
    /// Total distributions over total contributions (the multiple on paid-in capital); none
    /// when nothing was called.
    pub multiple: Option<f64>,
}

/// A commitment pacing projection.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct PacingResult {
    /// Totals by calendar year from the first vintage.
    pub years: Vec<PacingYear>,
    /// Each commitment's path, in the request's order.
    pub funds: Vec<FundPath>,
}

fn check_model(m: &FundModel, field: &str) -> Result<(), SimError> {
    let f = |name: &str| format!("{field}.{name}");
    if m.contribution_rates.is_empty() || m.contribution_rates.len() > MAX_LIFE as usize {
        return Err(invalid(f("contribution_rates"), "needs 1 to 100 rates"));
    }
    for r in &m.contribution_rates {
        unit(&f("contribution_rates"), *r)?;
    }
    if !(m.bow.is_finite() && (0.0..=100.0).contains(&m.bow)) {
        return Err(invalid(f("bow"), "must be between 0 and 100"));
    }
    unit(&f("distribution_yield"), m.distribution_yield)?;
    if m.life == 0 || m.life > MAX_LIFE {
        return Err(invalid(f("life"), "must be 1 to 100 years"));
    }
    if !(m.growth.is_finite() && m.growth > -1.0 && m.growth <= 10.0) {
        return Err(invalid(f("growth"), "must be above -1 and at most 10"));
    }
    Ok(())
}

/// One fund's Takahashi-Alexander path by age.
fn fund_path(vintage: i32, c: f64, m: &FundModel) -> FundPath {
    let l = m.life as usize;
    let (mut contributions, mut distributions, mut navs) =
        (Vec::with_capacity(l), Vec::with_capacity(l), Vec::with_capacity(l));
    let (mut paid, mut nav) = (0.0_f64, 0.0_f64);
    for t in 1..=l {
        let rc = m.contribution_rates[(t - 1).min(m.contribution_rates.len() - 1)];
        let call = rc * (c - paid).max(0.0);
        let rd = m.distribution_yield.max((t as f64 / l as f64).powf(m.bow));
        let grown = nav * (1.0 + m.growth);
        let dist = rd * grown;
        nav = grown + call - dist;
        paid += call;
        contributions.push(call);
        distributions.push(dist);
        navs.push(nav);
    }
    let called: f64 = contributions.iter().sum();
    let returned: f64 = distributions.iter().sum();
    FundPath {
        vintage,
        commitment: c,
        contributions,
        distributions,
        nav: navs,
        lapsed: (c - paid).max(0.0),
        multiple: (called > 0.0).then(|| returned / called),
    }
}

/// Commitment pacing: each commitment's Takahashi-Alexander path and the totals per calendar
/// year (see the module's notes).
pub fn pacing(req: &PacingRequest) -> Result<PacingResult, SimError> {
    check_model(&req.model, "model")?;
    if req.commitments.is_empty() || req.commitments.len() > MAX_COMMITMENTS {
        return Err(invalid("commitments", "needs 1 to 1,000 commitments"));
    }
    for (i, c) in req.commitments.iter().enumerate() {
        non_negative(&format!("commitments[{i}].amount"), c.amount)?;
        if !(-100_000..=100_000).contains(&c.vintage) {
            return Err(invalid(format!("commitments[{i}].vintage"), "must be a calendar year"));
        }
        if let Some(m) = &c.model {
            check_model(m, &format!("commitments[{i}].model"))?;
        }
    }
    if let Some(v) = req.portfolio_value {
        if !(v.is_finite() && v > 0.0) {
            return Err(invalid("portfolio_value", "must be a finite number above 0"));
        }
    }
    if !(req.portfolio_growth.is_finite() && req.portfolio_growth > -1.0 && req.portfolio_growth <= 10.0) {
        return Err(invalid("portfolio_growth", "must be above -1 and at most 10"));
    }
    if let Some(t) = req.target_allocation {
        unit("target_allocation", t)?;
    }
    let first = req.commitments.iter().map(|c| c.vintage).min().unwrap_or(0);
    let last_end = req
        .commitments
        .iter()
        .map(|c| i64::from(c.vintage) + i64::from(c.model.as_ref().unwrap_or(&req.model).life) - 1)
        .max()
        .unwrap_or(0);
    let span = (last_end - i64::from(first) + 1) as u64;
    let years = match req.years {
        Some(y) if y == 0 || y > MAX_YEARS => return Err(invalid("years", "must be 1 to 500")),
        Some(y) => y as usize,
        None if span > u64::from(MAX_YEARS) => {
            return Err(invalid("commitments", "the vintages and lives span more than 500 years"))
        }
        None => span as usize,
    };

    let funds: Vec<FundPath> = req
        .commitments
        .iter()
        .map(|c| fund_path(c.vintage, c.amount, c.model.as_ref().unwrap_or(&req.model)))
        .collect();
    let mut out = Vec::with_capacity(years);
    let mut total = req.portfolio_value;
    for k in 0..years {
        let year = first + k as i32;
        let (mut calls, mut dists, mut nav, mut unfunded) = (0.0, 0.0, 0.0, 0.0);
        for f in &funds {
            if year < f.vintage {
                continue;
            }
            let age = (year - f.vintage) as usize; // 0-based
            if age < f.nav.len() {
                calls += f.contributions[age];
                dists += f.distributions[age];
                nav += f.nav[age];
                let paid: f64 = f.contributions[..=age].iter().sum();
                unfunded += (f.commitment - paid).max(0.0);
            }
        }
        total = total.map(|v| v * (1.0 + req.portfolio_growth));
        let nav_share = total.map(|v| nav / v);
        out.push(PacingYear {
            year,
            calls: bounded("commitments", calls)?,
            distributions: bounded("commitments", dists)?,
            net_cash_flow: bounded("commitments", dists - calls)?,
            nav: bounded("commitments", nav)?,
            unfunded: bounded("commitments", unfunded)?,
            portfolio_value: total.map(|v| bounded("portfolio_value", v)).transpose()?,
            nav_share,
            exposure_share: total.map(|v| bounded("commitments", (nav + unfunded) / v)).transpose()?,
            gap_to_target: nav_share.zip(req.target_allocation).map(|(s, t)| s - t),
        });
    }
    Ok(PacingResult { years: out, funds })
}

// ---------------------------------------------------------------------------------------------
// Crypto sizing
// ---------------------------------------------------------------------------------------------

/// An asset a crypto sizing may hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CryptoAsset {
    /// Name, reported with its weight.
    pub name: String,
    /// Expected annual return as a fraction.
    pub expected_return: f64,
    /// Market capitalisation in currency units; needed for a crypto asset when
    /// `min_market_cap` is above 0.
    #[serde(default)]
    pub market_cap: Option<f64>,
    /// Whether the asset is a crypto asset (subject to `max_weight`, `min_market_cap` and
    /// `max_crypto_share`); true when absent. False for the rest of a wider portfolio.
    #[serde(default = "yes")]
    pub crypto: bool,
    /// This asset's own cap on its weight (0 to 1), overriding `max_weight`; none when absent.
    #[serde(default)]
    pub max_weight: Option<f64>,
}

fn yes() -> bool {
    true
}

/// A crypto sizing: the maximum-Sharpe portfolio over the assets kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CryptoRequest {
    /// The assets, 1 to 1,000.
    pub assets: Vec<CryptoAsset>,
    /// Covariance of annual returns, one row per asset in `assets`' order.
    pub covariance: Vec<Vec<f64>>,
    /// Risk-free rate, annual fraction; 0 when absent.
    #[serde(default)]
    pub risk_free_rate: f64,
    /// Cap on each crypto asset's weight (0 to 1); 1 when absent.
    #[serde(default = "one")]
    pub max_weight: f64,
    /// Crypto assets with a market cap below this (currency units) are excluded; 0 when absent.
    #[serde(default)]
    pub min_market_cap: f64,
    /// Cap on the crypto assets' total weight inside the wider portfolio (0 to 1); none when
    /// absent.
    #[serde(default)]
    pub max_crypto_share: Option<f64>,
}

fn one() -> f64 {
    1.0
}

/// An asset and its weight.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct AssetWeight {
    /// Name as given.
    pub name: String,
    /// Weight, a fraction of the portfolio.
    pub weight: f64,
}

/// An asset left out, and why.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Excluded {
    /// Name as given.
    pub name: String,
    /// Why it was left out.
    pub reason: String,
}

/// A crypto sizing's answer.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct CryptoResult {
    /// Weights of the assets kept, in the request's order (fractions summing to 1).
    pub weights: Vec<AssetWeight>,
    /// Assets left out, and why.
    pub excluded: Vec<Excluded>,
    /// Total weight of the crypto assets.
    pub crypto_share: f64,
    /// Expected annual return of the portfolio.
    pub expected_return: f64,
    /// Annual volatility of the portfolio.
    pub volatility: f64,
    /// (expected return − risk-free rate) / volatility; none at zero volatility.
    pub sharpe: Option<f64>,
}

fn matrix(field: &str, rows: &[Vec<f64>], n: usize) -> Result<nalgebra::DMatrix<f64>, SimError> {
    if rows.len() != n || rows.iter().any(|r| r.len() != n) {
        return Err(invalid(field, format!("must be {n}×{n}, one row and column per asset")));
    }
    if rows.iter().flatten().any(|v| !v.is_finite() || v.abs() > 1e12) {
        return Err(invalid(field, "must hold finite numbers of at most 1e12"));
    }
    let m = nalgebra::DMatrix::from_fn(n, n, |i, j| rows[i][j]);
    for i in 0..n {
        for j in 0..i {
            let scale = m[(i, i)].abs().max(m[(j, j)].abs()).max(1e-300);
            if (m[(i, j)] - m[(j, i)]).abs() > 1e-9 * scale {
                return Err(invalid(field, "must be symmetric"));
            }
        }
    }
    Ok(m)
}

fn rename(e: SimError, map: &[(&str, &str)]) -> SimError {
    let SimError::Invalid { field, problem } = e;
    let field = map.iter().find(|(from, _)| *from == field).map_or(field, |(_, to)| (*to).to_owned());
    SimError::Invalid { field, problem }
}

/// Crypto sizing: the maximum-Sharpe weights (Cornuejols-Tütüncü, Clarabel) over the assets
/// kept, long only, each crypto asset capped, crypto assets below the minimum market cap left
/// out, and the crypto total capped inside the wider portfolio.
pub fn crypto(req: &CryptoRequest) -> Result<CryptoResult, SimError> {
    use crate::optimize::{mean_variance, Constraints, Group};
    let n = req.assets.len();
    if n == 0 || n > MAX_ASSETS {
        return Err(invalid("assets", "needs 1 to 1,000 assets"));
    }
    let cov = matrix("covariance", &req.covariance, n)?;
    if !req.risk_free_rate.is_finite() || req.risk_free_rate.abs() > 1e6 {
        return Err(invalid("risk_free_rate", "must be a finite number"));
    }
    unit("max_weight", req.max_weight)?;
    non_negative("min_market_cap", req.min_market_cap)?;
    if let Some(c) = req.max_crypto_share {
        unit("max_crypto_share", c)?;
    }
    let mut keep = Vec::new();
    let mut excluded = Vec::new();
    for (i, a) in req.assets.iter().enumerate() {
        if !a.expected_return.is_finite() || a.expected_return.abs() > 1e6 {
            return Err(invalid(format!("assets[{i}].expected_return"), "must be a finite number"));
        }
        if let Some(m) = a.market_cap {
            non_negative(&format!("assets[{i}].market_cap"), m)?;
        }
        if let Some(w) = a.max_weight {
            unit(&format!("assets[{i}].max_weight"), w)?;
        }
        if a.crypto && req.min_market_cap > 0.0 {
            match a.market_cap {
                None => {
                    excluded.push(Excluded { name: a.name.clone(), reason: "no market cap given".into() });
                    continue;
                }
                Some(m) if m < req.min_market_cap => {
                    excluded.push(Excluded {
                        name: a.name.clone(),
                        reason: format!("market cap {m} below the minimum {}", req.min_market_cap),
                    });
                    continue;
                }
                _ => {}
            }
        }
        keep.push(i);
    }
    if keep.is_empty() {
        return Err(invalid("min_market_cap", "excludes every asset"));
    }
    let k = keep.len();
    let sub = nalgebra::DMatrix::from_fn(k, k, |a, b| cov[(keep[a], keep[b])]);
    let mu: Vec<f64> = keep.iter().map(|&i| req.assets[i].expected_return).collect();
    let upper: Vec<f64> = keep
        .iter()
        .map(|&i| {
            let a = &req.assets[i];
            a.max_weight.unwrap_or(if a.crypto { req.max_weight } else { 1.0 })
        })
        .collect();
    let members: Vec<usize> = (0..k).filter(|&j| req.assets[keep[j]].crypto).collect();
    let groups = match req.max_crypto_share {
        Some(cap) if !members.is_empty() => vec![Group { members: members.clone(), min: None, max: Some(cap) }],
        _ => Vec::new(),
    };
    let c = Constraints { lower: vec![0.0; k], upper, groups, turnover: None };
    let w = mean_variance::max_sharpe(&sub, &mu, req.risk_free_rate, &c).map_err(|e| {
        rename(e, &[("bounds", "max_weight"), ("groups", "max_crypto_share"), ("method", "covariance")])
    })?;
    let ret = mean_variance::dot(&mu, &w);
    let vol = mean_variance::quad(&sub, &w).max(0.0).sqrt();
    Ok(CryptoResult {
        weights: keep
            .iter()
            .zip(&w)
            .map(|(&i, &x)| AssetWeight { name: req.assets[i].name.clone(), weight: x })
            .collect(),
        excluded,
        crypto_share: members.iter().map(|&j| w[j]).sum(),
        expected_return: ret,
        volatility: vol,
        sharpe: (vol > 0.0).then(|| (ret - req.risk_free_rate) / vol),
    })
}

// ---------------------------------------------------------------------------------------------
// Inflation beta
// ---------------------------------------------------------------------------------------------

/// A return series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Series {
    /// Name, reported with the results.
    pub name: String,
    /// Returns (fractions), one per inflation observation, same periods.
    pub returns: Vec<f64>,
}

/// Inflation betas of assets (commodities) and the hedge each implies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InflationRequest {
    /// Inflation per period (fractions), 3 to 100,000 observations, not all equal.
    pub inflation: Vec<f64>,
    /// Assets' returns over the same periods, 1 to 1,000 series.
    pub assets: Vec<Series>,
    /// The portfolio's returns over the same periods, to estimate its inflation beta; none when
    /// absent.
    #[serde(default)]
    pub portfolio_returns: Option<Vec<f64>>,
    /// The portfolio's inflation beta when known (used when `portfolio_returns` is absent).
    #[serde(default)]
    pub portfolio_beta: Option<f64>,
    /// The inflation beta the hedged portfolio should have; 0 when absent.
    #[serde(default)]
    pub target_beta: f64,
}

/// An OLS regression of returns on inflation, r = α + β·π + ε.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct InflationBeta {
    /// Name as given ("portfolio" for the portfolio).
    pub name: String,
    /// Intercept α, return per period.
    pub alpha: f64,
    /// Slope β: return per unit of inflation.
    pub beta: f64,
    /// β over its standard error s/√Σ(π − π̄)², s² = SSR/(n − 2); none when the fit is exact.
    pub t_stat: Option<f64>,
    /// R² = 1 − SSR/SST; 1 when the returns are constant.
    pub r_squared: f64,
    /// Weight w of this asset, funded from the portfolio, with (1 − w)·β_p + w·β = target:
    /// w = (target − β_p)/(β − β_p); none without a portfolio beta or when β = β_p.
    pub hedge_weight: Option<f64>,
    /// Weight of this asset added as an overlay (unfunded), β_p + w·β = target:
    /// w = (target − β_p)/β; none without a portfolio beta or when β = 0.
    pub overlay_weight: Option<f64>,
}

/// Inflation betas and hedges.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct InflationResult {
    /// One regression per asset, in the request's order.
    pub assets: Vec<InflationBeta>,
    /// The portfolio's regression, when `portfolio_returns` is given.
    pub portfolio: Option<InflationBeta>,
    /// The portfolio beta the hedges use, when one is given or estimated.
    pub portfolio_beta: Option<f64>,
}

fn ols(name: &str, field: &str, x: &[f64], y: &[f64]) -> Result<InflationBeta, SimError> {
    if y.len() != x.len() {
        return Err(invalid(field, format!("has {} returns for {} inflation observations", y.len(), x.len())));
    }
    if y.iter().any(|v| !v.is_finite() || v.abs() > 1e12) {
        return Err(invalid(field, "must hold finite numbers of at most 1e12"));
    }
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let sxx: f64 = x.iter().map(|v| (v - mx).powi(2)).sum();
    let sxy: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let sst: f64 = y.iter().map(|v| (v - my).powi(2)).sum();
    let beta = sxy / sxx;
    let alpha = my - beta * mx;
    let ssr: f64 = x.iter().zip(y).map(|(a, b)| (b - alpha - beta * a).powi(2)).sum();
    let se = (ssr / (n - 2.0) / sxx).sqrt();
    let exact = ssr <= 1e-24 * sst.max(1e-300);
    Ok(InflationBeta {
        name: name.to_owned(),
        alpha,
        beta,
        t_stat: (!exact && se > 0.0).then(|| beta / se),
        r_squared: if sst > 0.0 { (1.0 - ssr / sst).clamp(0.0, 1.0) } else { 1.0 },
        hedge_weight: None,
        overlay_weight: None,
    })
}

/// Inflation betas (OLS of each series on inflation) and, given the portfolio's beta, the
/// weight of each asset that brings it to `target_beta`.
pub fn inflation_beta(req: &InflationRequest) -> Result<InflationResult, SimError> {
    let x = &req.inflation;
    if x.len() < 3 || x.len() > MAX_OBSERVATIONS {
        return Err(invalid("inflation", "needs 3 to 100,000 observations"));
    }
    if x.iter().any(|v| !v.is_finite() || v.abs() > 1e6) {
        return Err(invalid("inflation", "must hold finite numbers of at most 1e6"));
    }
    let mx = x.iter().sum::<f64>() / x.len() as f64;
    if x.iter().map(|v| (v - mx).powi(2)).sum::<f64>() <= 1e-30 {
        return Err(invalid("inflation", "must vary: a constant series has no beta"));
    }
    if req.assets.is_empty() || req.assets.len() > MAX_ASSETS {
        return Err(invalid("assets", "needs 1 to 1,000 series"));
    }
    if req.assets.len().saturating_mul(x.len()) > 10_000_000 {
        return Err(invalid("assets", "at most 10,000,000 returns in all"));
    }
    finite("target_beta", req.target_beta)?;
    let portfolio = match &req.portfolio_returns {
        Some(r) => Some(ols("portfolio", "portfolio_returns", x, r)?),
        None => None,
    };
    let bp = match (&portfolio, req.portfolio_beta) {
        (Some(p), _) => Some(p.beta),
        (None, Some(b)) => Some(finite("portfolio_beta", b)?),
        (None, None) => None,
    };
    let mut assets = Vec::with_capacity(req.assets.len());
    for (i, s) in req.assets.iter().enumerate() {
        let mut b = ols(&s.name, &format!("assets[{i}].returns"), x, &s.returns)?;
        if let Some(bp) = bp {
            let gap = req.target_beta - bp;
            let ok = |v: f64| v.is_finite().then_some(v);
            b.hedge_weight = ((b.beta - bp).abs() > 1e-12).then(|| gap / (b.beta - bp)).and_then(ok);
            b.overlay_weight = (b.beta.abs() > 1e-12).then(|| gap / b.beta).and_then(ok);
        }
        assets.push(b);
    }
    Ok(InflationResult { assets, portfolio, portfolio_beta: bp })
}

fn finite(field: &str, v: f64) -> Result<f64, SimError> {
    if v.is_finite() && v.abs() <= 1e12 {
        Ok(v)
    } else {
        Err(invalid(field, "must be a finite number of at most 1e12"))
    }
}

// ---------------------------------------------------------------------------------------------
// REIT sectors
// ---------------------------------------------------------------------------------------------

/// A REIT sector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Sector {
    /// Name (office, industrial, residential, retail, data centres…).
    pub name: String,
    /// Expected annual return as a fraction.
    pub expected_return: f64,
    /// Annual volatility as a fraction, 0 or more.
    pub volatility: f64,
    /// Lowest weight (fraction); 0 when absent.
    #[serde(default)]
    pub min: f64,
    /// Highest weight (fraction); 1 when absent.
    #[serde(default = "one")]
    pub max: f64,
}

/// REIT sector allocation: maximise μᵀw − (δ/2)·wᵀΣw with Σw = 1 and the sectors' bounds,
/// Σ = diag(σ)·ρ·diag(σ).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReitRequest {
    /// The sectors, 1 to 1,000.
    pub sectors: Vec<Sector>,
    /// Correlations of the sectors' returns, one row per sector, ones on the diagonal.
    pub correlation: Vec<Vec<f64>>,
    /// Risk aversion δ, above 0 (about 2 to 4 for a typical investor).
    pub risk_aversion: f64,
}

/// The REIT allocation.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ReitResult {
    /// Sector weights, in the request's order, summing to 1.
    pub weights: Vec<AssetWeight>,
    /// Expected annual return of the allocation.
    pub expected_return: f64,
    /// Annual volatility of the allocation.
    pub volatility: f64,
    /// μᵀw − (δ/2)·wᵀΣw.
    pub utility: f64,
}

/// REIT sector allocation by mean-variance utility (Clarabel).
pub fn reit_sectors(req: &ReitRequest) -> Result<ReitResult, SimError> {
    use crate::optimize::conic::Program;
    use crate::optimize::{mean_variance, Constraints, Scale};
    let n = req.sectors.len();
    if n == 0 || n > MAX_ASSETS {
        return Err(invalid("sectors", "needs 1 to 1,000 sectors"));
    }
    if !(req.risk_aversion.is_finite() && req.risk_aversion > 0.0 && req.risk_aversion <= 1e6) {
        return Err(invalid("risk_aversion", "must be a number above 0 and at most 1e6"));
    }
    let rho = matrix("correlation", &req.correlation, n)?;
    for i in 0..n {
        if (rho[(i, i)] - 1.0).abs() > 1e-9 || (0..n).any(|j| rho[(i, j)].abs() > 1.0 + 1e-9) {
            return Err(invalid("correlation", "needs ones on the diagonal and entries between -1 and 1"));
        }
    }
    for (i, s) in req.sectors.iter().enumerate() {
        finite(&format!("sectors[{i}].expected_return"), s.expected_return)?;
        if !(s.volatility.is_finite() && (0.0..=100.0).contains(&s.volatility)) {
            return Err(invalid(format!("sectors[{i}].volatility"), "must be between 0 and 100"));
        }
        unit(&format!("sectors[{i}].min"), s.min)?;
        unit(&format!("sectors[{i}].max"), s.max)?;
        if s.min > s.max {
            return Err(invalid(format!("sectors[{i}].min"), "is above max"));
        }
    }
    let sd: Vec<f64> = req.sectors.iter().map(|s| s.volatility).collect();
    let cov = nalgebra::DMatrix::from_fn(n, n, |i, j| sd[i] * rho[(i, j)] * sd[j]);
    let mu: Vec<f64> = req.sectors.iter().map(|s| s.expected_return).collect();
    let c = Constraints {
        lower: req.sectors.iter().map(|s| s.min).collect(),
        upper: req.sectors.iter().map(|s| s.max).collect(),
        groups: Vec::new(),
        turnover: None,
    };
    let lo: f64 = c.lower.iter().sum();
    let hi: f64 = c.upper.iter().sum();
    if lo > 1.0 + 1e-12 || hi < 1.0 - 1e-12 {
        return Err(invalid("sectors", "the bounds cannot sum to 1: mins above 1 in all or maxes below"));
    }
    let mut p = Program::new(n);
    for j in 0..n {
        for i in 0..=j {
            p.add_p(i, j, req.risk_aversion * cov[(i, j)]);
        }
        p.add_q(j, -mu[j]);
    }
    c.add_to(&mut p, n, &Scale::One)?;
    let w = c.solve(&p, n).map_err(|e| rename(e, &[("bounds", "sectors"), ("method", "correlation")]))?;
    let ret = mean_variance::dot(&mu, &w);
    let var = mean_variance::quad(&cov, &w).max(0.0);
    Ok(ReitResult {
        weights: req.sectors.iter().zip(&w).map(|(s, &x)| AssetWeight { name: s.name.clone(), weight: x }).collect(),
        expected_return: ret,
        volatility: var.sqrt(),
        utility: ret - 0.5 * req.risk_aversion * var,
    })
}

/// How soon a holding can be turned into cash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LiquidityHolding {
    pub name: String,
    /// Market value, $ (0 to 1e15).
    pub value: f64,
    /// Days to sell it in the market (0 for cash; 1 to 3 for listed securities); or give the
    /// fund terms below.
    pub days: Option<f64>,
    /// A fund's redemption interval in days (30 monthly, 90 quarterly, 365 yearly): the worst
    /// case waits a whole interval for the next dealing date.
    pub redemption_days: Option<f64>,
    /// Notice before a dealing date, days (0).
    pub notice_days: Option<f64>,
    /// Days left of a lock-up (0).
    pub lockup_days: Option<f64>,
    /// The share redeemable at each dealing date under a gate (1: none).
    pub gate: Option<f64>,
    /// A closed-end fund or direct holding with no redemption (private equity): never
    /// sellable within the horizons.
    #[serde(default)]
    pub illiquid: bool,
}

/// A requirement: at least `min_share` of the portfolio sellable within `within_days`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LiquidityRequirement {
    pub within_days: f64,
    pub min_share: f64,
}

/// `cairn quant liquidity`: a portfolio's liquidity profile and its requirements.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LiquidityRequest {
    pub holdings: Vec<LiquidityHolding>,
    #[serde(default)]
    pub requirements: Vec<LiquidityRequirement>,
    /// Unfunded commitments (capital still to be called), $, to be covered by what can be sold
    /// within `commitment_days` (90).
    #[serde(default)]
    pub unfunded_commitments: f64,
    pub commitment_days: Option<f64>,
}

/// What can be sold within a horizon.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, JsonSchema)]
pub struct LiquidityBucket {
    pub within_days: f64,
    pub value: f64,
    pub share: f64,
}

/// A requirement checked.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, JsonSchema)]
pub struct RequirementCheck {
    pub within_days: f64,
    pub min_share: f64,
    pub share: f64,
    pub met: bool,
}

/// The portfolio's liquidity.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct LiquidityResult {
    pub total: f64,
    /// Sellable within 1, 7, 30, 90 and 365 days.
    pub profile: Vec<LiquidityBucket>,
    pub requirements: Vec<RequirementCheck>,
    /// What can be sold within `commitment_days` over the unfunded commitments (null without
    /// commitments), and whether it covers them.
    pub commitment_coverage: Option<f64>,
    pub commitments_covered: Option<bool>,
}

/// The share of a holding sellable within `horizon` days.
fn sellable(h: &LiquidityHolding, horizon: f64) -> f64 {
    if h.illiquid {
        return 0.0;
    }
    match (h.days, h.redemption_days) {
        (Some(d), _) => {
            if d <= horizon {
                1.0
            } else {
                0.0
            }
        }
        (None, Some(interval)) => {
            let first = h.lockup_days.unwrap_or(0.0) + h.notice_days.unwrap_or(0.0) + interval;
            if horizon < first {
                return 0.0;
            }
            // One gated share at the first dealing date, and one more at each after it.
            let gate = h.gate.unwrap_or(1.0);
            let dealings = ((horizon - first) / interval).floor() + 1.0;
            (gate * dealings).min(1.0)
        }
        (None, None) => 0.0,
    }
}

/// A portfolio's liquidity profile, its requirements and its commitments' coverage.
pub fn liquidity(req: &LiquidityRequest) -> Result<LiquidityResult, SimError> {
    if req.holdings.is_empty() || req.holdings.len() > MAX_ASSETS {
        return Err(invalid("holdings", format!("give 1 to {MAX_ASSETS} holdings")));
    }
    for (i, h) in req.holdings.iter().enumerate() {
        let field = |name: &str| format!("holdings[{i}].{name}");
        if !(0.0..=1e15).contains(&h.value) {
            return Err(invalid(field("value"), format!("{} is not 0 to 1e15", h.value)));
        }
        if h.days.is_none() && h.redemption_days.is_none() && !h.illiquid {
            return Err(invalid(field("days"), "give days, a fund's redemption_days, or illiquid"));
        }
        for (name, v, lo, most) in [
            ("days", h.days, 0.0, 3650.0),
            ("redemption_days", h.redemption_days, 1.0, 3650.0),
            ("notice_days", h.notice_days, 0.0, 3650.0),
            ("lockup_days", h.lockup_days, 0.0, 36_500.0),
            ("gate", h.gate, 0.01, 1.0),
        ] {
            if let Some(v) = v {
                if !(lo..=most).contains(&v) {
                    return Err(invalid(field(name), format!("{v} is not {lo} to {most}")));
                }
            }
        }
    }
    for (i, r) in req.requirements.iter().enumerate() {
        if !(0.0..=36_500.0).contains(&r.within_days) || !(0.0..=1.0).contains(&r.min_share) {
            return Err(invalid(format!("requirements[{i}]"), "within_days 0 to 36,500 and min_share 0 to 1"));
        }
    }
    let commitment_days = req.commitment_days.unwrap_or(90.0);
    if !(0.0..=1e15).contains(&req.unfunded_commitments) {
        return Err(invalid("unfunded_commitments", "must be 0 to 1e15"));
    }
    if !(0.0..=36_500.0).contains(&commitment_days) {
        return Err(invalid("commitment_days", format!("{commitment_days} is not 0 to 36,500")));
    }
    let total: f64 = req.holdings.iter().map(|h| h.value).sum();
    let within = |days: f64| req.holdings.iter().map(|h| h.value * sellable(h, days)).sum::<f64>();
    let share = |v: f64| if total > 0.0 { v / total } else { 0.0 };
    let profile = [1.0, 7.0, 30.0, 90.0, 365.0]
        .iter()
        .map(|&d| {
            let value = within(d);
            LiquidityBucket { within_days: d, value, share: share(value) }
        })
        .collect();
    let requirements = req
        .requirements
        .iter()
        .map(|r| {
            let s = share(within(r.within_days));
            RequirementCheck {
                within_days: r.within_days,
                min_share: r.min_share,
                share: s,
                met: s + 1e-12 >= r.min_share,
            }
        })
        .collect();
    let (commitment_coverage, commitments_covered) = if req.unfunded_commitments > 0.0 {
        let liquid = within(commitment_days);
        (Some(liquid / req.unfunded_commitments), Some(liquid >= req.unfunded_commitments))
    } else {
        (None, None)
    };
    Ok(LiquidityResult { total, profile, requirements, commitment_coverage, commitments_covered })
}
