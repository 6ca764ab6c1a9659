//! Alternatives: private-equity commitment pacing with the Takahashi-Alexander (Yale) model
//! ([`pacing`]), crypto sizing by maximum Sharpe under caps ([`crypto`]), commodities' inflation
//! betas and the hedge weight they imply ([`inflation_beta`]), REIT sector allocation by
//! mean-variance utility ([`reit_sectors`]) and a whole portfolio's liquidity profile against
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
//! The paper states RD_t as max(Y, (t/L)^B); written as Y·(t/L)^B the rate would never reach 1
//! and the NAV would not run off at the fund's end. With RD_L = 1, NAV_L = C_L: the fund ends
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
