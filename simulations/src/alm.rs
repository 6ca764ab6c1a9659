//! Asset-liability management for a defined-benefit pension plan: a stochastic projection of
//! the plan's assets against its liabilities ([`project`]) and the asset mix that minimises
//! the variance of the surplus return for a required surplus return ([`optimise`]).
//!
//! # The projection
//!
//! Each scenario draws, year by year, the economy from the economic scenario generator
//! ([`crate::scenario`], one step a year) and the asset classes' returns; every scenario has
//! its own random stream ([`crate::rng::path_rng`] of the seed and the scenario number) and
//! results are gathered in scenario order in fixed blocks, so the same seed gives the same
//! numbers on any number of threads. Simplifications, stated once:
//!
//! - **Today.** Every scenario starts from the same economy: `economy.initial` when given,
//!   else the `economy.start` regime's levels, else the regimes' levels weighted by the chain's
//!   long-run (stationary) shares. The regime itself is drawn as the generator draws it.
//! - **Discount rate.** Without `curve`, the liabilities are valued each year-end at one flat
//!   annually compounded rate per scenario-year: the scenario's short rate plus
//!   `discount_spread` (a term and credit spread), held within [−0.5, 1]; the liability value
//!   moves with the short rate.
//! - **Yield curve.** With `curve` (today's zero curve, [`crate::curve`]: zero rates, or par
//!   yields bootstrapped, read by its interpolation), each year-end t reads today's curve at the
//!   benefits' remaining tenors τ, moved with the scenario as one-factor Vasicek moves a curve
//!   (Vasicek 1977, "An Equilibrium Characterization of the Term Structure", Journal of
//!   Financial Economics 5(2): the zero rate at τ is affine in the short rate r with slope
//!   B(τ) = (1 − e^(−κτ))/(κτ)): with Δr = rₜ − r₀ the short rate's change since today, the
//!   zero rate at τ is R₀(τ) + Δr·B(τ) + `discount_spread`, held within [−0.5, 1], and a
//!   benefit τ years ahead is discounted by (1 + R/m)^(−mτ) (e^(−Rτ) when continuous). R₀ and
//!   the move are in the curve's `compounding` (annual by default, m a year), so a flat annual
//!   curve at today's short rate plus the spread with κ = 0 (B = 1: a parallel move) gives the
//!   flat rate above exactly. κ = `curve_mean_reversion`, 0.1 a year when absent: cairn's
//!   assumption, not an estimate (it moves a 10-year rate by 63% and a 30-year rate by 32% of
//!   the short rate's change). Simplifications: the curve does not roll down (the tenors are
//!   read on today's curve) and only the short rate moves it (one factor, no slope or
//!   curvature shocks of its own).
//! - **Liabilities.** The benefit cash flows (`benefits`, [`crate::liabilities::Flow`], in
//!   today's terms) are paid at the end of the plan year they fall in; a share `indexation` of
//!   each year's realised inflation is added to every benefit not yet paid (index factor
//!   Π(1 + indexation·πₜ), each factor at least 0.01), and future indexation is valued at the
//!   year's inflation: a flow τ years ahead is worth amount·I·((1 + indexation·π)/(1 + d))^τ
//!   (with a curve, amount·I·(1 + indexation·π)^τ·DF(τ), DF the moved curve's).
//!   New accruals (a `normal_cost` above 0, growing at `normal_cost_growth`) are added at each
//!   year's start to the benefits not yet paid in proportion, so the liability gains exactly
//!   the normal cost and keeps its shape.
//! - **Assets.** Annual gross returns are lognormal, exp(ln(1 + μ) − σ²/2 + σz) (so the
//!   expected gross return is 1 + μ), with z correlated through the Cholesky factor of the
//!   assets' correlation matrix (repaired to the nearest correlation matrix when not positive
//!   definite, with a warning). An asset with a `duration` D and `convexity` C (a bond or LDI
//!   sleeve) also returns −D·Δy + ½C·Δy², Δy the year's change in the rate at its duration:
//!   without a curve the change in the short rate Δr (the same rate that discounts the
//!   liabilities, so matching the liability's duration and convexity hedges it to second
//!   order), with a curve the change in the moved curve's zero rate at D years, Δr·B(D) (so a
//!   sleeve with the liability's duration still hedges most of its rate risk); a gross return
//!   is at least 0. The mix is rebalanced to the target weights at each year's start.
//! - **Minimum funding.** A simplification of IRC §430: at each year's start (the valuation
//!   date) the sponsor contributes the normal cost plus the funding shortfall (the funding
//!   target less the assets, when positive) amortised as level installments over
//!   `amortisation_years` paid at 0, 1, …, n − 1 years (§430(c)(2)), all paid at once:
//!   shortfall / ä, ä the present value of the n installments of 1. Without `segment_rates`
//!   the funding target is the liability as valued above and ä is at the year's discount rate:
//!   (1 − vⁿ)/(1 − v), v = 1/(1 + d), or with a curve Σ DF(j) on the moved curve. With
//!   `segment_rates` {first, second, third} the funding target is the same benefits (indexed
//!   as above) discounted as §430(h)(2)(B) says: a benefit paid within 5 years of the
//!   valuation date (τ < 5) at the first segment rate, from 5 to 20 years (5 ≤ τ < 20) at the
//!   second, later at the third, each (1 + s)^(−τ); and ä discounts each installment at the
//!   segment rate of when it is paid, as §430(c)(2) applies §430(h)(2)(B) (installments at 0-4
//!   years at the first rate, 5-19 at the second, 20 on at the third). The segment rates are
//!   the user's, held for the whole projection: §430(h)(2)(C)'s 24-month averages of the
//!   corporate bond yield curve's segments, within the corridor around their 25-year averages
//!   of §430(h)(2)(C)(iv), which the IRS publishes monthly in its notices (cairn carries no
//!   table of them). They set only the minimum contribution (each year's mean funding target
//!   is reported); the funded ratio, surplus and premiums stay on the market rate or curve.
//!   Left out: layered bases (the whole shortfall is re-amortised every year), funding
//!   balances (§430(f)), asset smoothing (§430(g)(3)), the at-risk loading (§430(i)), the
//!   excess-assets offset of the normal cost (§430(a)(2)) and the benefit restrictions of
//!   §436. `amortisation_years` is 15 by default, the period the American Rescue Plan Act of
//!   2021 (§9705) set for plan years from 2022 (the Pension Protection Act's was 7). If assets cannot pay a year's benefits, the sponsor contributes the difference at
//!   year end (counted as contribution).
//! - **PBGC premiums.** Each year: the flat-rate premium per participant plus the
//!   variable-rate premium, the rate per $1,000 of unfunded vested benefits capped at the
//!   per-participant cap times the participant count ([`pbgc_premium`]), at the rates of
//!   `pbgc_year` from [`domain::pbgc`] (the latest year by default), the flat rate and the cap
//!   grown by `premium_growth` a year (a proxy for the wage indexing of ERISA §4006(a)(3)(F)).
//!   Unfunded vested benefits are the start-of-year liability less assets (every benefit
//!   vested, valued at the plan's discount rate or curve, not PBGC's premium rates); the participant
//!   count is constant. Premiums are paid by the sponsor unless `premiums_from_assets`.
//! - **Measures.** Per year-end: funded ratio (assets / liability, at most 1,000,000) and
//!   surplus (assets − liability) percentiles 5/25/50/75/95, the probability that the funded
//!   ratio is below 1, and the surplus at risk: with ΔS the change in surplus from today to
//!   the year's end, SaR = E[ΔS] − q(ΔS), q the (1 − `confidence`) quantile, and the
//!   conditional SaR = E[ΔS] − E[ΔS | ΔS ≤ q] (the mean of the worst ⌈(1 − confidence)·n⌉
//!   scenarios), both in dollars, positive when the tail loses against the expectation.
//!   Overall: the probability that the funded ratio is below `threshold` at any year-end.
//!
//! # The optimisation
//!
//! Sharpe and Tint (1990, "Liabilities — A New Approach", Journal of Portfolio Management
//! 16(2)): with funded ratio f = A/L, the surplus return per dollar of assets is
//! R_S = wᵀR − R_L/f, its mean wᵀμ − μ_L/f and its variance
//! wᵀΣw − (2/f)wᵀc + σ_L²/f², cᵢ = ρ_{i,L}σᵢσ_L the assets' covariances with the liability
//! return. [`optimise`] minimises that variance subject to wᵀμ − μ_L/f ≥ the required surplus
//! return, w ≥ 0 and Σw = 1: a quadratic program solved by Clarabel.

use nalgebra::DMatrix;
use rand::Rng;
use rand_distr::StandardNormal;
use rayon::prelude::*;
use rust_decimal::prelude::ToPrimitive;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::correlation;
use crate::curve::{Compounding, Curve, CurveSpec};
use crate::liabilities::{internal_rate, Flow};
use crate::optimize::conic::{Failure, Program};
use crate::rng::path_rng;
use crate::scenario::{Economy, EconomyPath, Levels, PreparedEconomy};
use crate::stats::{percentiles, quantile};
use crate::{invalid, SimError};

/// The most years a projection may run.
pub const MAX_YEARS: u32 = 100;
/// The most scenarios a projection may run.
pub const MAX_SCENARIOS: usize = 100_000;
/// The most scenario-years a projection may keep (two numbers each).
pub const MAX_SCENARIO_YEARS: u64 = 5_000_000;
/// The most asset classes.
pub const MAX_ASSETS: usize = 50;
/// The most benefit payments.
pub const MAX_BENEFITS: usize = 10_000;
/// Funded ratios above this are reported as this.
pub const MAX_FUNDED_RATIO: f64 = 1e6;
/// The longest whole tenor a benefit can have (benefits fall within 100 years).
const MAX_WHOLE_TENOR: usize = 100;

/// Scenarios per block: the unit of parallel work, fixed so that sums never depend on the
/// thread count.
const BLOCK: usize = 64;

fn default_amortisation_years() -> u32 {
    15
}
fn default_confidence() -> f64 {
    0.95
}
fn default_threshold() -> f64 {
    0.8
}
/// κ of the curve's moves when a request gives none: cairn's assumption (see the module doc).
pub const DEFAULT_CURVE_MEAN_REVERSION: f64 = 0.1;
/// The segment boundaries of IRC §430(h)(2)(B), in years from the valuation date: the first
/// segment rate applies before the first, the second before the second, the third after.
pub const SEGMENT_BOUNDS: [f64; 2] = [5.0, 20.0];

/// The funding segment rates in force (IRC §430(h)(2)(C)), annual effective rates as the IRS
/// publishes them in its monthly notices.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SegmentRates {
    /// For benefits paid within 5 years of the valuation date, 0 to 0.25.
    pub first: f64,
    /// For benefits paid from 5 to 20 years, 0 to 0.25.
    pub second: f64,
    /// For benefits paid 20 years or more after it, 0 to 0.25.
    pub third: f64,
}

impl SegmentRates {
    /// The rate for a payment `tau` years after the valuation date (§430(h)(2)(B)).
    pub fn at(&self, tau: f64) -> f64 {
        if tau < SEGMENT_BOUNDS[0] {
            self.first
        } else if tau < SEGMENT_BOUNDS[1] {
            self.second
        } else {
            self.third
        }
    }
}

/// The Vasicek loading of the zero rate at `tau` years on the short rate, (1 − e^(−κτ))/(κτ),
/// 1 when κτ is 0 (Vasicek 1977; see the module doc).
pub fn vasicek_loading(kappa: f64, tau: f64) -> f64 {
    let x = kappa * tau;
    if x < 1e-8 {
        1.0 - x / 2.0
    } else {
        -(-x).exp_m1() / x
    }
}

/// One asset class of the plan.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AlmAsset {
    /// A label, repeated in the answer.
    pub name: String,
    /// Expected annual arithmetic return μ as a fraction (0.06 is 6%), from −0.5 to 1.
    pub expected_return: f64,
    /// Annual volatility σ of the lognormal return as a fraction, from 0 to 1.
    pub volatility: f64,
    /// Interest-rate duration in years (0 to 50; 0 when absent): the asset also returns
    /// −duration × the year's change in the short rate (with a `curve`, in the moved curve's
    /// zero rate at `duration` years).
    #[serde(default)]
    pub duration: f64,
    /// Convexity in years² (0 to 5,000; 0 when absent): the asset also returns
    /// ½ × convexity × the square of that change.
    #[serde(default)]
    pub convexity: f64,
    /// Target weight in the mix (0 to 1; the weights sum to 1), restored every year.
    pub weight: f64,
}

/// `project`'s input: a pension plan's assets, liabilities and funding, and the scenarios.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AlmRequest {
    /// Years to project, 1 to 100.
    pub years: u32,
    /// Number of scenarios, 1 to 100,000 (scenarios × years at most 5,000,000).
    pub scenarios: usize,
    /// Seed of the random streams; the same seed gives the same answer on any thread count
    /// (0 when absent).
    #[serde(default)]
    pub seed: u64,
    /// The economic scenario generator's economy (short rate and inflation); the built-in US
    /// calibration (`Economy::us_default`) when absent.
    #[serde(default)]
    pub economy: Option<Economy>,
    /// The asset classes with their target weights, 1 to 50.
    pub assets: Vec<AlmAsset>,
    /// Correlation of the assets' return shocks, one row per asset (independent when absent).
    #[serde(default)]
    pub correlation: Option<Vec<Vec<f64>>>,
    /// Market value of the assets today, in dollars (0 to 1e15); or give
    /// `initial_funded_ratio`.
    #[serde(default)]
    pub initial_assets: Option<f64>,
    /// The assets today as a multiple of today's liability value (0 to 100); instead of
    /// `initial_assets`.
    #[serde(default)]
    pub initial_funded_ratio: Option<f64>,
    /// The benefit payments in today's dollars at times in years from today (above 0, at most
    /// 100; 1 to 10,000 of them); some must fall after `years`.
    pub benefits: Vec<Flow>,
    /// Share of realised inflation added to unpaid benefits each year, 0 (nominal, the
    /// default) to 1 (fully indexed).
    #[serde(default)]
    pub indexation: f64,
    /// Spread added to the short rate to discount the liabilities, as a fraction (0.015 is
    /// 150 basis points), from −0.1 to 0.2; with a `curve`, added to its zero rates (give 0
    /// when the curve is the discount curve itself).
    pub discount_spread: f64,
    /// Today's zero curve for the liabilities, as `cairn quant curve` takes it (zero rates or
    /// par yields, compounding, interpolation); it moves with the short rate in each
    /// scenario-year (see the module documentation). When absent: the short rate plus the
    /// spread, flat.
    #[serde(default)]
    pub curve: Option<CurveSpec>,
    /// Mean reversion κ of the curve's moves, 0 to 2 a year (0.1 when absent; only with a
    /// `curve`): a change Δr in the short rate moves the zero rate at τ years by
    /// Δr·(1 − e^(−κτ))/(κτ), by Δr at every tenor when 0.
    #[serde(default)]
    pub curve_mean_reversion: Option<f64>,
    /// The IRC §430(h)(2)(C) segment rates in force, for the minimum required contribution
    /// only (see the module documentation); when absent, the minimum contribution uses the
    /// liabilities' own discounting.
    #[serde(default)]
    pub segment_rates: Option<SegmentRates>,
    /// Value of the benefits accrued in the first year, in dollars (0, a frozen plan, when
    /// absent); contributed and added to the liability every year.
    #[serde(default)]
    pub normal_cost: f64,
    /// Yearly growth of the normal cost as a fraction, −0.5 to 0.5 (0 when absent).
    #[serde(default)]
    pub normal_cost_growth: f64,
    /// Years over which a shortfall is amortised, 1 to 30 (15 when absent: §430(c)(2) as the
    /// American Rescue Plan Act of 2021, §9705, set it for plan years from 2022; 7 before).
    #[serde(default = "default_amortisation_years")]
    pub amortisation_years: u32,
    /// Participants for the PBGC premiums (0 to 1e9; 0 when absent: no premiums).
    #[serde(default)]
    pub participants: f64,
    /// Plan year whose PBGC single-employer rates apply (a year in `domain::pbgc`; the latest
    /// when absent).
    #[serde(default)]
    pub pbgc_year: Option<i32>,
    /// Yearly growth of the PBGC flat rate and cap as a fraction, 0 to 0.2 (0 when absent).
    #[serde(default)]
    pub premium_growth: f64,
    /// Whether the premiums are paid from the plan's assets (false when absent: by the
    /// sponsor).
    #[serde(default)]
    pub premiums_from_assets: bool,
    /// Confidence of the surplus at risk, above 0.5 and below 1 (0.95 when absent).
    #[serde(default = "default_confidence")]
    pub confidence: f64,
    /// Funded ratio whose crossing from above `probability_ever_below_threshold` counts, above
    /// 0 and at most 10 (0.8 when absent).
    #[serde(default = "default_threshold")]
    pub threshold: f64,
}

/// PBGC single-employer rates as applied, in dollars.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct PbgcRates {
    /// Plan year of the rates.
    pub year: i32,
    /// Flat-rate premium per participant, in the first projected year.
    pub flat_rate: f64,
    /// Variable-rate premium per $1,000 of unfunded vested benefits.
    pub vrp_per_1000_uvb: f64,
    /// Cap on the variable-rate premium per participant, in the first projected year.
    pub vrp_cap_per_participant: f64,
    /// Where the rates come from.
    pub source: String,
}

/// One year's PBGC premium, in dollars.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, JsonSchema)]
pub struct Premium {
    /// Participants × flat rate.
    pub flat: f64,
    /// min(rate × UVB / 1,000, cap × participants).
    pub variable: f64,
    /// flat + variable.
    pub total: f64,
    /// Whether the cap limited the variable-rate premium.
    pub capped: bool,
}

/// The PBGC premium of a plan with `participants` participants and `uvb` dollars of unfunded
/// vested benefits (negative counts as 0) at the given rates (dollars per participant, per
/// $1,000 of UVB, and the per-participant cap).
pub fn pbgc_premium(
    participants: f64,
    uvb: f64,
    flat_rate: f64,
    vrp_per_1000: f64,
    cap_per_participant: f64,
) -> Premium {
    let flat = participants * flat_rate;
    let uncapped = vrp_per_1000 * uvb.max(0.0) / 1000.0;
    let cap = cap_per_participant * participants;
    let variable = uncapped.min(cap);
    Premium { flat, variable, total: flat + variable, capped: uncapped > cap }
}

/// The plan today.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct AlmStart {
    /// Assets, in dollars.
    pub assets: f64,
    /// Present value of the benefits at today's discount rate or curve, in dollars.
    pub liability: f64,
    /// Today's funding target for the minimum contribution: the benefits at the segment rates
    /// when given, else the liability, in dollars.
    pub funding_target: f64,
    /// Assets / liability.
    pub funded_ratio: f64,
    /// Assets − liability, in dollars.
    pub surplus: f64,
    /// Today's discount rate: the short rate plus the spread (annual, as a fraction); with a
    /// curve, the flat annual rate that gives the same liability (its internal rate).
    pub discount_rate: f64,
    /// Today's short rate and inflation (annual, as fractions).
    pub short_rate: f64,
    pub inflation: f64,
    /// The liability's modified duration at today's rate, in years: −(dL/dd)/L; with a curve,
    /// for its zero rates moved together (in its compounding).
    pub liability_duration: f64,
    /// The liability's convexity at today's rate, in years²: (d²L/dd²)/L; with a curve, for
    /// its zero rates moved together.
    pub liability_convexity: f64,
    /// The target mix's duration, in years: Σ weight × duration.
    pub asset_duration: f64,
    /// The assets' dollar duration over the liability's: the share of the rate risk hedged.
    /// With a curve, the dollar sensitivities to the short rate's change: each asset's
    /// duration × B(duration), each benefit's tenor × B(tenor), so that a hedge set by
    /// `liability_duration` alone shows how far mean reversion leaves it from 1.
    pub hedge_ratio: f64,
}

/// One year-end across scenarios. Percentiles are the 5th, 25th, 50th, 75th and 95th.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct AlmYear {
    /// Years from today.
    pub year: u32,
    /// Funded ratio percentiles (assets / liability).
    pub funded_ratio: [f64; 5],
    /// Share of scenarios with a funded ratio below 1.
    pub probability_underfunded: f64,
    /// Surplus percentiles (assets − liability), in dollars.
    pub surplus: [f64; 5],
    /// Mean surplus, in dollars.
    pub mean_surplus: f64,
    /// E[ΔS] − q(ΔS), ΔS the surplus change since today, q its (1 − confidence) quantile, in
    /// dollars.
    pub surplus_at_risk: f64,
    /// E[ΔS] − E[ΔS | ΔS ≤ q], in dollars.
    pub conditional_surplus_at_risk: f64,
    /// Mean contribution of the year (normal cost, amortisation, benefit top-ups), in dollars.
    pub expected_contribution: f64,
    /// Mean PBGC premium of the year, in dollars.
    pub expected_premium: f64,
    /// Mean benefits paid in the year, in dollars.
    pub expected_benefits: f64,
    /// Mean assets and liability at the year-end, in dollars.
    pub mean_assets: f64,
    pub mean_liability: f64,
    /// Mean funding target the year's minimum contribution was set on, at the year's start
    /// (after the normal cost): at the segment rates when given, else the liability, in
    /// dollars.
    pub mean_funding_target: f64,
}

/// `project`'s answer.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct AlmResult {
    pub years: u32,
    pub scenarios: usize,
    pub start: AlmStart,
    pub by_year: Vec<AlmYear>,
    /// The funded ratio below which `probability_ever_below_threshold` counts.
    pub threshold: f64,
    /// Share of scenarios whose funded ratio is below `threshold` at some year-end.
    pub probability_ever_below_threshold: f64,
    /// Mean total contributions and premiums over the horizon, undiscounted, in dollars.
    pub expected_total_contributions: f64,
    pub expected_total_premiums: f64,
    pub pbgc: PbgcRates,
    /// Repairs made to the input (a correlation matrix), and other cautions.
    pub warnings: Vec<String>,
}

/// The request checked and turned into what the scenarios need.
struct Prepared {
    years: u32,
    seed: u64,
    economy: PreparedEconomy,
    r0: f64,
    pi0: f64,
    spread: f64,
    log_drift: Vec<f64>,
    sigma: Vec<f64>,
    duration: Vec<f64>,
    convexity: Vec<f64>,
    weight: Vec<f64>,
    /// Lower Cholesky factor, row-major.
    chol: Vec<f64>,
    times: Vec<f64>,
    amounts: Vec<f64>,
    indexation: f64,
    initial_assets: f64,
    normal_cost: f64,
    normal_cost_growth: f64,
    amortisation_years: u32,
    participants: f64,
    rates: (f64, f64, f64),
    premium_growth: f64,
    premiums_from_assets: bool,
    threshold: f64,
    /// For each year-end t (0, today, to `years`): the first benefit not yet paid.
    first_unpaid: Vec<usize>,
    /// Each benefit's time when a whole number of years (its tenors at year-ends are then
    /// whole too, and read by powers rather than exponentials).
    whole: Vec<Option<i32>>,
    /// Each asset's share of the year's short-rate change in its rate: B(duration) with a
    /// curve, else 1.
    loading: Vec<f64>,
    curve: Option<CurveModel>,
    segments: Option<SegmentModel>,
    /// Today's valuation.
    today: Valuation,
}

/// Today's curve as the scenarios move it, read at the tenors they need.
struct CurveModel {
    /// Compoundings a year of its rates (none: continuous).
    per_year: Option<f64>,
    /// Per year-end t, for each benefit not yet paid (from `first_unpaid[t]`): today's zero
    /// rate at its remaining tenor plus the spread, and the loading B at that tenor.
    base: Vec<Vec<f64>>,
    load: Vec<Vec<f64>>,
    /// The same at 1 to n − 1 years, for the amortisation installments.
    installment_base: Vec<f64>,
    installment_load: Vec<f64>,
}

impl CurveModel {
    fn new(
        curve: &Curve,
        compounding: Compounding,
        kappa: f64,
        spread: f64,
        times: &[f64],
        first_unpaid: &[usize],
        installments: u32,
    ) -> Self {
        let rate = |tau: f64| compounding.from_continuous(curve.zero(tau)) + spread;
        let at = |t: usize, f: &dyn Fn(f64) -> f64| -> Vec<f64> {
            times[first_unpaid[t]..].iter().map(|time| f(time - t as f64)).collect()
        };
        let years = first_unpaid.len();
        CurveModel {
            per_year: compounding.per_year(),
            base: (0..years).map(|t| at(t, &rate)).collect(),
            load: (0..years).map(|t| at(t, &|tau| vasicek_loading(kappa, tau))).collect(),
            installment_base: (1..installments).map(|j| rate(f64::from(j))).collect(),
            installment_load: (1..installments).map(|j| vasicek_loading(kappa, f64::from(j))).collect(),
        }
    }

    /// The discount factor over `tau` years (`whole` when a whole number) at the zero rate
    /// `rate`, held within [−0.5, 1], in the curve's compounding: (1 + R/m)^(−mτ), e^(−Rτ).
    fn discount(&self, rate: f64, tau: f64, whole: Option<i32>) -> f64 {
        let r = rate.clamp(-0.5, 1.0);
        match (self.per_year, whole) {
            (Some(m), Some(n)) => (1.0 + r / m).powi(-(m as i32) * n),
            (Some(m), None) => (-tau * m * (r / m).ln_1p()).exp(),
            (None, _) => (-tau * r).exp(),
        }
    }
}

/// The funding target's discounting at the segment rates, read at the tenors the scenarios
/// need.
struct SegmentModel {
    /// Per year-end t, for each benefit not yet paid: its discount factor at the segment rate
    /// of its remaining tenor, (1 + s)^(−τ).
    discount: Vec<Vec<f64>>,
    /// ä of the installments at the segment rates of when each is paid.
    annuity: f64,
}

impl SegmentModel {
    fn new(rates: SegmentRates, times: &[f64], first_unpaid: &[usize], installments: u32) -> Self {
        let v = |tau: f64| (-tau * rates.at(tau).ln_1p()).exp();
        SegmentModel {
            discount: first_unpaid
                .iter()
                .enumerate()
                .map(|(t, &first)| times[first..].iter().map(|time| v(time - t as f64)).collect())
                .collect(),
            annuity: (0..installments).map(|j| v(f64::from(j))).sum(),
        }
    }
}

/// A scenario-year's valuation at a year-end: the liability and the funding target per unit
/// of the benefits' scale, and ä of the installments for the next year's contribution.
#[derive(Debug, Clone, Copy, Default)]
struct Valuation {
    liability: f64,
    funding_target: f64,
    annuity: f64,
}

impl Prepared {
    /// The valuation at year-end `t` (0 today) at the short rate and the year's inflation.
    fn value_at(&self, t: usize, short_rate: f64, inflation: f64) -> Valuation {
        let first = self.first_unpaid[t];
        let at = t as f64;
        let step = index_step(self.indexation, inflation);
        let ln_step = step.ln();
        if self.curve.is_none() && self.segments.is_none() {
            let d = discount_rate(short_rate, self.spread);
            let liability = value(&self.times, &self.amounts, first, at, ln_step - d.ln_1p());
            return Valuation {
                liability,
                funding_target: liability,
                annuity: annuity_due(d, self.amortisation_years),
            };
        }
        // One pass over the benefits not yet paid: the indexation to come, step^τ, times the
        // moved curve's and the segment rates' discount factors.
        let dr = short_rate - self.r0;
        let (mut on_curve, mut target) = (0.0, 0.0);
        let (times, amounts, whole) = (&self.times[first..], &self.amounts[first..], &self.whole[first..]);
        // step^n for the whole tenors to come, by multiplication, when the segment rates need
        // it beside the curve's factor.
        let mut powers = [1.0; MAX_WHOLE_TENOR + 1];
        if self.segments.is_some() {
            let most = self.whole[first..].iter().flatten().max().map_or(0, |n| (n - t as i32).max(0) as usize);
            for n in 1..=most.min(MAX_WHOLE_TENOR) {
                powers[n] = powers[n - 1] * step;
            }
        }
        let grown = |tau: f64, whole: Option<i32>| match whole {
            Some(n) if (0..=MAX_WHOLE_TENOR as i32).contains(&n) => powers[n as usize],
            _ => (tau * ln_step).exp(),
        };
        // A benefit's indexation to come times its discount factor on the moved curve.
        let on = |c: &CurveModel, rate: f64, tau: f64, w: Option<i32>| match (c.per_year, w) {
            // Annual rates over whole years: ((1 + indexation·π)/(1 + R))^τ.
            (Some(1.0), Some(n)) => (step / (1.0 + rate.clamp(-0.5, 1.0))).powi(n),
            _ => w.map_or_else(|| (tau * ln_step).exp(), |n| step.powi(n)) * c.discount(rate, tau, w),
        };
        match (&self.curve, &self.segments) {
            (Some(c), None) => {
                let tables = c.base[t].iter().zip(&c.load[t]);
                for (((time, a), w), (b, l)) in times.iter().zip(amounts).zip(whole).zip(tables) {
                    on_curve += a * on(c, b + dr * l, time - at, w.map(|n| n - t as i32));
                }
            }
            (Some(c), Some(s)) => {
                let tables = c.base[t].iter().zip(&c.load[t]).zip(&s.discount[t]);
                for (((time, a), w), ((b, l), v)) in times.iter().zip(amounts).zip(whole).zip(tables) {
                    let (tau, w) = (time - at, w.map(|n| n - t as i32));
                    on_curve += a * on(c, b + dr * l, tau, w);
                    target += a * grown(tau, w) * v;
                }
            }
            (None, Some(s)) => {
                for (((time, a), w), v) in times.iter().zip(amounts).zip(whole).zip(&s.discount[t]) {
                    target += a * grown(time - at, w.map(|n| n - t as i32)) * v;
                }
            }
            (None, None) => {} // valued above
        }
        let (liability, annuity) = match &self.curve {
            None => {
                let d = discount_rate(short_rate, self.spread);
                (
                    value(&self.times, &self.amounts, first, at, ln_step - d.ln_1p()),
                    annuity_due(d, self.amortisation_years),
                )
            }
            Some(_) if self.segments.is_some() => (on_curve, 0.0),
            Some(c) => {
                let later: f64 = (c.installment_base.iter().zip(&c.installment_load))
                    .zip(1..)
                    .map(|((b, l), j)| c.discount(b + dr * l, f64::from(j), Some(j)))
                    .sum();
                (on_curve, 1.0 + later)
            }
        };
        match &self.segments {
            None => Valuation { liability, funding_target: liability, annuity },
            Some(s) => Valuation { liability, funding_target: target, annuity: s.annuity },
        }
    }
}

fn discount_rate(short_rate: f64, spread: f64) -> f64 {
    (short_rate + spread).clamp(-0.5, 1.0)
}

fn index_step(indexation: f64, inflation: f64) -> f64 {
    (1.0 + indexation * inflation).max(0.01)
}

/// Σ amount·e^(ln_g·(time − t)) over the flows from index `from`.
fn value(times: &[f64], amounts: &[f64], from: usize, t: f64, ln_g: f64) -> f64 {
    times[from..].iter().zip(&amounts[from..]).map(|(time, a)| a * (ln_g * (time - t)).exp()).sum()
}

fn finite_in(field: &str, x: f64, lo: f64, hi: f64) -> Result<f64, SimError> {
    if x.is_finite() && (lo..=hi).contains(&x) {
        Ok(x)
    } else {
        Err(invalid(field, format!("{x} is not from {lo} to {hi}")))
    }
}

/// Today's values of the economy: as documented in the module.
fn today(economy: &Economy, prep: &PreparedEconomy) -> Levels {
    if let Some(l) = economy.initial {
        return l;
    }
    if let Some(start) = &economy.start {
        if let Some(r) = economy.regimes.iter().find(|r| &r.name == start) {
            return Levels {
                gdp_growth: r.gdp_growth.level,
                inflation: r.inflation.level,
                unemployment: r.unemployment.level,
                short_rate: r.short_rate.level,
            };
        }
    }
    let w = prep.stationary();
    let avg = |f: &dyn Fn(&crate::scenario::EconomicRegime) -> f64| {
        economy.regimes.iter().zip(w).map(|(r, p)| p * f(r)).sum::<f64>()
    };
    Levels {
        gdp_growth: avg(&|r| r.gdp_growth.level),
        inflation: avg(&|r| r.inflation.level),
        unemployment: avg(&|r| r.unemployment.level),
        short_rate: avg(&|r| r.short_rate.level),
    }
}

fn prepare(req: &AlmRequest) -> Result<(Prepared, PbgcRates, Vec<String>), SimError> {
    if req.years == 0 || req.years > MAX_YEARS {
        return Err(invalid("years", format!("{} is not 1 to {MAX_YEARS}", req.years)));
    }
    if req.scenarios == 0 || req.scenarios > MAX_SCENARIOS {
        return Err(invalid("scenarios", format!("{} is not 1 to {MAX_SCENARIOS}", req.scenarios)));
    }
    if req.scenarios as u64 * u64::from(req.years) > MAX_SCENARIO_YEARS {
        return Err(invalid("scenarios", format!("scenarios × years is at most {MAX_SCENARIO_YEARS}")));
    }
    let n = req.assets.len();
    if n == 0 || n > MAX_ASSETS {
        return Err(invalid("assets", format!("{n} asset classes; give 1 to {MAX_ASSETS}")));
    }
    let mut warnings = Vec::new();
    for (i, a) in req.assets.iter().enumerate() {
        finite_in(&format!("assets[{i}].expected_return"), a.expected_return, -0.5, 1.0)?;
        finite_in(&format!("assets[{i}].volatility"), a.volatility, 0.0, 1.0)?;
        finite_in(&format!("assets[{i}].duration"), a.duration, 0.0, 50.0)?;
        finite_in(&format!("assets[{i}].convexity"), a.convexity, 0.0, 5000.0)?;
        finite_in(&format!("assets[{i}].weight"), a.weight, 0.0, 1.0)?;
    }
    let total: f64 = req.assets.iter().map(|a| a.weight).sum();
    if (total - 1.0).abs() > 1e-6 {
        return Err(invalid("assets", format!("the weights sum to {total}, not 1")));
    }
    let corr = match &req.correlation {
        None => DMatrix::identity(n, n),
        Some(rows) => correlation::check(rows, n, "correlation")?,
    };
    let (l, repaired) = correlation::factor(&corr);
    if let Some(change) = repaired {
        warnings.push(format!(
            "correlation is not positive definite: repaired to the nearest correlation matrix \
             (largest change {change:.4})"
        ));
    }
    if req.benefits.is_empty() || req.benefits.len() > MAX_BENEFITS {
        return Err(invalid("benefits", format!("{} payments; give 1 to {MAX_BENEFITS}", req.benefits.len())));
    }
    for (i, f) in req.benefits.iter().enumerate() {
        if !(f.time > 0.0 && f.time <= 100.0) {
            return Err(invalid(format!("benefits[{i}].time"), format!("{} is not above 0 and at most 100", f.time)));
        }
        if !(f.amount > 0.0 && f.amount <= 1e15) {
            return Err(invalid(
                format!("benefits[{i}].amount"),
                format!("{} is not above 0 (at most 1e15)", f.amount),
            ));
        }
    }
    let mut flows = req.benefits.clone();
    flows.sort_by(|a, b| a.time.total_cmp(&b.time));
    let last = flows.last().map_or(0.0, |f| f.time);
    if last <= f64::from(req.years) {
        return Err(invalid(
            "years",
            format!(
                "the last benefit is paid at {last} years: the liabilities must outlast the {} years projected",
                req.years
            ),
        ));
    }
    let indexation = finite_in("indexation", req.indexation, 0.0, 1.0)?;
    let spread = finite_in("discount_spread", req.discount_spread, -0.1, 0.2)?;
    let normal_cost = finite_in("normal_cost", req.normal_cost, 0.0, 1e15)?;
    let normal_cost_growth = finite_in("normal_cost_growth", req.normal_cost_growth, -0.5, 0.5)?;
    if !(1..=30).contains(&req.amortisation_years) {
        return Err(invalid("amortisation_years", format!("{} is not 1 to 30", req.amortisation_years)));
    }
    let kappa = match (&req.curve, req.curve_mean_reversion) {
        (_, None) => DEFAULT_CURVE_MEAN_REVERSION,
        (Some(_), Some(k)) => finite_in("curve_mean_reversion", k, 0.0, 2.0)?,
        (None, Some(_)) => return Err(invalid("curve_mean_reversion", "applies to a curve: give curve too")),
    };
    let curve = match &req.curve {
        None => None,
        Some(spec) => Some((
            Curve::build(spec)
                .map_err(|SimError::Invalid { field, problem }| invalid(format!("curve.{field}"), problem))?,
            spec.compounding,
        )),
    };
    if let Some(r) = req.segment_rates {
        for (field, x) in [("first", r.first), ("second", r.second), ("third", r.third)] {
            finite_in(&format!("segment_rates.{field}"), x, 0.0, 0.25)?;
        }
    }
    let participants = finite_in("participants", req.participants, 0.0, 1e9)?;
    let premium_growth = finite_in("premium_growth", req.premium_growth, 0.0, 0.2)?;
    let confidence = req.confidence;
    if !(confidence > 0.5 && confidence < 1.0) {
        return Err(invalid("confidence", format!("{confidence} is not above 0.5 and below 1")));
    }
    if !(req.threshold > 0.0 && req.threshold <= 10.0) {
        return Err(invalid("threshold", format!("{} is not above 0 and at most 10", req.threshold)));
    }
    let table = match req.pbgc_year {
        None => domain::pbgc::latest(),
        Some(y) => domain::pbgc::for_year(y).ok_or_else(|| {
            let years: Vec<String> = domain::pbgc::RATES.iter().map(|r| r.year.to_string()).collect();
            invalid("pbgc_year", format!("{y} is not in the PBGC table (years: {})", years.join(", ")))
        })?,
    };
    let dollars = |d: rust_decimal::Decimal| d.to_f64().unwrap_or(0.0);
    let pbgc = PbgcRates {
        year: table.year,
        flat_rate: dollars(table.flat_rate),
        vrp_per_1000_uvb: dollars(table.vrp_per_1000_uvb),
        vrp_cap_per_participant: dollars(table.vrp_cap_per_participant),
        source: table.source.to_owned(),
    };

    let economy = req.economy.clone().unwrap_or_else(Economy::us_default);
    let draft = PreparedEconomy::new(&economy, 1)?;
    let levels = today(&economy, &draft);
    let economy = Economy { initial: Some(levels), ..economy };
    let prepared_economy = PreparedEconomy::new(&economy, 1)?;
    warnings.extend(prepared_economy.warnings.iter().cloned());
    let r0 = levels.short_rate.max(economy.short_rate_floor);

    let times: Vec<f64> = flows.iter().map(|f| f.time).collect();
    let amounts: Vec<f64> = flows.iter().map(|f| f.amount).collect();
    let first_unpaid: Vec<usize> =
        (0..=req.years).map(|t| times.partition_point(|&time| time <= f64::from(t))).collect();
    let loading =
        req.assets.iter().map(|a| if curve.is_some() { vasicek_loading(kappa, a.duration) } else { 1.0 }).collect();
    let curve = curve.map(|(c, compounding)| {
        CurveModel::new(&c, compounding, kappa, spread, &times, &first_unpaid, req.amortisation_years)
    });
    if let Some(c) = &curve {
        if c.base.iter().flatten().any(|r| !(-0.5..=1.0).contains(r)) {
            warnings
                .push("the curve plus the spread is outside -0.5 to 1 at some benefit's tenor: held within it".into());
        }
    }
    let segments = req.segment_rates.map(|r| SegmentModel::new(r, &times, &first_unpaid, req.amortisation_years));
    let whole = times.iter().map(|t| (t.fract() == 0.0).then_some(*t as i32)).collect();
    let chol = (0..n).flat_map(|i| (0..n).map(move |j| (i, j))).map(|(i, j)| l[(i, j)]).collect();
    let mut prepared = Prepared {
        years: req.years,
        seed: req.seed,
        economy: prepared_economy,
        r0,
        pi0: levels.inflation,
        spread,
        log_drift: req.assets.iter().map(|a| a.expected_return.ln_1p() - a.volatility * a.volatility / 2.0).collect(),
        sigma: req.assets.iter().map(|a| a.volatility).collect(),
        duration: req.assets.iter().map(|a| a.duration).collect(),
        convexity: req.assets.iter().map(|a| a.convexity).collect(),
        weight: req.assets.iter().map(|a| a.weight).collect(),
        chol,
        times,
        amounts,
        indexation,
        initial_assets: 0.0,
        normal_cost,
        normal_cost_growth,
        amortisation_years: req.amortisation_years,
        participants,
        rates: (pbgc.flat_rate, pbgc.vrp_per_1000_uvb, pbgc.vrp_cap_per_participant),
        premium_growth,
        premiums_from_assets: req.premiums_from_assets,
        threshold: req.threshold,
        first_unpaid,
        whole,
        loading,
        curve,
        segments,
        today: Valuation::default(),
    };
    prepared.today = prepared.value_at(0, r0, levels.inflation);
    let l0 = prepared.today.liability;
    prepared.initial_assets = match (req.initial_assets, req.initial_funded_ratio) {
        (Some(a), None) => finite_in("initial_assets", a, 0.0, 1e15)?,
        (None, Some(f)) => finite_in("initial_funded_ratio", f, 0.0, 100.0)? * l0,
        _ => return Err(invalid("initial_assets", "give initial_assets or initial_funded_ratio (one of them)")),
    };
    Ok((prepared, pbgc, warnings))
}

/// Sums over a block's scenarios, per year.
#[derive(Debug, Clone, Copy, Default)]
struct Sums {
    contribution: f64,
    premium: f64,
    benefits: f64,
    assets: f64,
    liability: f64,
    funding_target: f64,
}

/// A block of scenarios: funded ratio and surplus per scenario-year (scenario-major), sums
/// per year and the count of scenarios that fell below the threshold.
struct Block {
    funded: Vec<f64>,
    surplus: Vec<f64>,
    sums: Vec<Sums>,
    below: usize,
}

/// ä over n years at rate d: (1 − vⁿ)/(1 − v), n as d → 0.
fn annuity_due(d: f64, n: u32) -> f64 {
    if d.abs() < 1e-9 {
        return f64::from(n);
    }
    let v = 1.0 / (1.0 + d);
    (1.0 - v.powi(n as i32)) / (1.0 - v)
}

fn simulate_block(p: &Prepared, first: usize, len: usize) -> Block {
    let years = p.years as usize;
    let n = p.weight.len();
    let mut block = Block {
        funded: Vec::with_capacity(len * years),
        surplus: Vec::with_capacity(len * years),
        sums: vec![Sums::default(); years],
        below: 0,
    };
    let mut z = vec![0.0; n];
    for s in first..first + len {
        let mut rng = path_rng(p.seed, s as u64);
        let mut economy = EconomyPath::new(&p.economy, &mut rng);
        let mut r_prev = p.r0;
        // Index factor × accrual scale of the benefits not yet paid.
        let mut scale = 1.0;
        let Valuation { mut liability, funding_target: mut target, mut annuity } = p.today;
        let mut assets = p.initial_assets;
        let mut fell = false;
        for (y, sums) in block.sums.iter_mut().enumerate() {
            let t = y + 1;
            let grown = (1.0 + p.normal_cost_growth).powi(y as i32);
            let nc = p.normal_cost * grown;
            if nc > 0.0 {
                let accrual = 1.0 + nc / liability;
                scale *= accrual;
                target *= accrual;
                liability += nc;
            }
            if p.segments.is_none() {
                target = liability;
            }
            let shortfall = (liability - assets).max(0.0);
            let mut contribution = nc + (target - assets).max(0.0) / annuity;
            let pg = (1.0 + p.premium_growth).powi(y as i32);
            let premium = pbgc_premium(p.participants, shortfall, p.rates.0 * pg, p.rates.1, p.rates.2 * pg).total;
            assets += contribution;
            if p.premiums_from_assets {
                assets = (assets - premium).max(0.0);
            }
            let m = economy.step(&mut rng);
            let dr = m.short_rate - r_prev;
            for zi in z.iter_mut() {
                *zi = rng.sample(StandardNormal);
            }
            let mut gross = 0.0;
            for i in 0..n {
                let row = &p.chol[i * n..i * n + i + 1];
                let e: f64 = row.iter().zip(&z).map(|(c, z)| c * z).sum();
                let dy = dr * p.loading[i];
                let r = ((p.log_drift[i] + p.sigma[i] * e).exp() - p.duration[i] * dy + 0.5 * p.convexity[i] * dy * dy)
                    .max(0.0);
                gross += p.weight[i] * r;
            }
            assets *= gross;
            let step = index_step(p.indexation, m.inflation);
            scale *= step;
            let benefits = scale * p.amounts[p.first_unpaid[y]..p.first_unpaid[t]].iter().sum::<f64>();
            if assets < benefits {
                contribution += benefits - assets;
                assets = 0.0;
            } else {
                assets -= benefits;
            }
            sums.funding_target += target;
            let v = p.value_at(t, m.short_rate, m.inflation);
            liability = scale * v.liability;
            target = scale * v.funding_target;
            annuity = v.annuity;
            let funded = (assets / liability).min(MAX_FUNDED_RATIO);
            fell |= funded < p.threshold;
            block.funded.push(funded);
            block.surplus.push(assets - liability);
            sums.contribution += contribution;
            sums.premium += premium;
            sums.benefits += benefits;
            sums.assets += assets;
            sums.liability += liability;
            r_prev = m.short_rate;
        }
        block.below += usize::from(fell);
    }
    block
}

/// Projects the plan over the scenarios: see the module documentation for the model.
/// Runs on the current rayon pool; the answer does not depend on its thread count.
pub fn project(req: &AlmRequest) -> Result<AlmResult, SimError> {
    let (p, pbgc, warnings) = prepare(req)?;
    let scenarios = req.scenarios;
    let years = p.years as usize;
    let starts: Vec<usize> = (0..scenarios).step_by(BLOCK).collect();
    let blocks: Vec<Block> =
        starts.par_iter().map(|&first| simulate_block(&p, first, BLOCK.min(scenarios - first))).collect();

    let l0 = p.today.liability;
    let ln_step0 = index_step(p.indexation, p.pi0).ln();
    let asset_duration: f64 = p.weight.iter().zip(&p.duration).map(|(w, d)| w * d).sum();
    let (discount_rate0, liability_duration, liability_convexity, hedge_ratio) = match &p.curve {
        None => {
            let d0 = discount_rate(p.r0, p.spread);
            let ln_g0 = ln_step0 - d0.ln_1p();
            let weighted_time: f64 =
                p.times.iter().zip(&p.amounts).map(|(t, a)| t * a * (ln_g0 * t).exp()).sum::<f64>() / l0;
            let liability_duration = weighted_time / (1.0 + d0);
            let weighted_square: f64 =
                p.times.iter().zip(&p.amounts).map(|(t, a)| t * (t + 1.0) * a * (ln_g0 * t).exp()).sum::<f64>() / l0;
            let liability_convexity = weighted_square / ((1.0 + d0) * (1.0 + d0));
            let hedge_ratio = p.initial_assets * asset_duration / (l0 * liability_duration);
            (d0, liability_duration, liability_convexity, hedge_ratio)
        }
        Some(c) => {
            // dL/dR and d²L/dR² of each benefit's zero rate R in the curve's compounding (m a
            // year): DF = (1 + R/m)^(−mτ) gives −τ/(1 + R/m) and τ(τ + 1/m)/(1 + R/m)² per
            // dollar of value (−τ and τ² when continuous).
            let inv_m = c.per_year.map_or(0.0, |m| 1.0 / m);
            let (mut duration, mut convexity, mut sensitivity) = (0.0, 0.0, 0.0);
            for (k, (tau, a)) in p.times.iter().zip(&p.amounts).enumerate() {
                let base = c.base[0][k];
                let pv = a * (tau * ln_step0).exp() * c.discount(base, *tau, p.whole[k]);
                let g = 1.0 / (1.0 + base.clamp(-0.5, 1.0) * inv_m);
                duration += pv * tau * g;
                convexity += pv * tau * (tau + inv_m) * g * g;
                sensitivity += pv * tau * c.load[0][k] * g;
            }
            let indexed: Vec<Flow> = p
                .times
                .iter()
                .zip(&p.amounts)
                .map(|(t, a)| Flow { time: *t, amount: a * (t * ln_step0).exp() })
                .collect();
            let assets: f64 =
                p.weight.iter().zip(&p.duration).zip(&p.loading).map(|((w, d), b)| w * d * b).sum::<f64>();
            (internal_rate(&indexed, l0), duration / l0, convexity / l0, p.initial_assets * assets / sensitivity)
        }
    };
    let s0 = p.initial_assets - l0;
    let start = AlmStart {
        assets: p.initial_assets,
        liability: l0,
        funding_target: p.today.funding_target,
        funded_ratio: (p.initial_assets / l0).min(MAX_FUNDED_RATIO),
        surplus: s0,
        discount_rate: discount_rate0,
        short_rate: p.r0,
        inflation: p.pi0,
        liability_duration,
        liability_convexity,
        asset_duration,
        hedge_ratio,
    };

    let nf = scenarios as f64;
    let alpha = 1.0 - req.confidence;
    let tail = ((alpha * nf).ceil() as usize).clamp(1, scenarios);
    let column = |of: &dyn Fn(&Block) -> &Vec<f64>, y: usize| -> Vec<f64> {
        blocks.iter().flat_map(|b| of(b).chunks(years).map(move |row| row[y])).collect()
    };
    let by_year: Vec<AlmYear> = (0..years)
        .into_par_iter()
        .map(|y| {
            let funded = column(&|b| &b.funded, y);
            let underfunded = funded.iter().filter(|f| **f < 1.0).count() as f64 / nf;
            let mut change: Vec<f64> = column(&|b| &b.surplus, y).iter().map(|s| s - s0).collect();
            let mean_change = change.iter().sum::<f64>() / nf;
            change.sort_unstable_by(f64::total_cmp);
            let q = quantile(&change, alpha);
            let tail_mean = change[..tail].iter().sum::<f64>() / tail as f64;
            let surplus: Vec<f64> = change.iter().map(|c| c + s0).collect();
            let sums = blocks.iter().fold(Sums::default(), |acc, b| {
                let s = b.sums[y];
                Sums {
                    contribution: acc.contribution + s.contribution,
                    premium: acc.premium + s.premium,
                    benefits: acc.benefits + s.benefits,
                    assets: acc.assets + s.assets,
                    liability: acc.liability + s.liability,
                    funding_target: acc.funding_target + s.funding_target,
                }
            });
            AlmYear {
                year: y as u32 + 1,
                funded_ratio: percentiles(funded),
                probability_underfunded: underfunded,
                surplus: percentiles(surplus),
                mean_surplus: s0 + mean_change,
                surplus_at_risk: mean_change - q,
                conditional_surplus_at_risk: mean_change - tail_mean,
                expected_contribution: sums.contribution / nf,
                expected_premium: sums.premium / nf,
                expected_benefits: sums.benefits / nf,
                mean_assets: sums.assets / nf,
                mean_liability: sums.liability / nf,
                mean_funding_target: sums.funding_target / nf,
            }
        })
        .collect();
    let below: usize = blocks.iter().map(|b| b.below).sum();
    Ok(AlmResult {
        years: p.years,
        scenarios,
        start,
        expected_total_contributions: by_year.iter().map(|y| y.expected_contribution).sum(),
        expected_total_premiums: by_year.iter().map(|y| y.expected_premium).sum(),
        by_year,
        threshold: p.threshold,
        probability_ever_below_threshold: below as f64 / nf,
        pbgc,
        warnings,
    })
}

// ---------------------------------------------------------------------------------------------
// Surplus optimisation
// ---------------------------------------------------------------------------------------------

/// An asset class for the surplus optimisation.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OptAsset {
    /// A label, repeated in the answer.
    pub name: String,
    /// Expected annual return as a fraction, from −1 to 1.
    pub expected_return: f64,
    /// Annual volatility as a fraction, from 0 to 2.
    pub volatility: f64,
    /// Correlation with the liability's return, from −1 to 1 (0 when absent).
    #[serde(default)]
    pub liability_correlation: f64,
}

/// The liability as a short position: the return of its value (growth at the discount rate
/// plus the effect of rate changes).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LiabilityReturn {
    /// Expected annual return of the liability value as a fraction, from −1 to 1.
    pub expected_return: f64,
    /// Its annual volatility as a fraction, from 0 to 2.
    pub volatility: f64,
}

/// `optimise`'s input.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AlmOptRequest {
    /// The asset classes, 1 to 50.
    pub assets: Vec<OptAsset>,
    /// Correlation of the assets' returns, one row per asset (independent when absent).
    #[serde(default)]
    pub correlation: Option<Vec<Vec<f64>>>,
    pub liability: LiabilityReturn,
    /// Assets / liability today, above 0 and at most 100 (1 when absent).
    #[serde(default)]
    pub funded_ratio: Option<f64>,
    /// The least expected surplus return wᵀμ − μ_L/f, as a fraction a year.
    pub required_surplus_return: f64,
}

/// One asset's weight.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct OptWeight {
    pub name: String,
    /// Share of the assets, 0 to 1.
    pub weight: f64,
}

/// `optimise`'s answer.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct AlmOptResult {
    /// The minimum surplus-variance mix, long-only, summing to 1.
    pub weights: Vec<OptWeight>,
    /// wᵀμ − μ_L/f, annual, as a fraction.
    pub expected_surplus_return: f64,
    /// √(wᵀΣw − (2/f)wᵀc + σ_L²/f²), annual, as a fraction.
    pub surplus_volatility: f64,
    /// The assets' expected return wᵀμ and volatility √(wᵀΣw).
    pub asset_expected_return: f64,
    pub asset_volatility: f64,
    /// The highest expected surplus return any long-only mix gives.
    pub max_surplus_return: f64,
    /// Whether the required surplus return binds (the answer would differ without it).
    pub return_constraint_binds: bool,
    /// Repairs made to the input (a correlation matrix).
    pub warnings: Vec<String>,
}

/// The long-only asset mix with the least surplus-return variance for the required surplus
/// return (see the module documentation).
pub fn optimise(req: &AlmOptRequest) -> Result<AlmOptResult, SimError> {
    let n = req.assets.len();
    if n == 0 || n > MAX_ASSETS {
        return Err(invalid("assets", format!("{n} asset classes; give 1 to {MAX_ASSETS}")));
    }
    for (i, a) in req.assets.iter().enumerate() {
        finite_in(&format!("assets[{i}].expected_return"), a.expected_return, -1.0, 1.0)?;
        finite_in(&format!("assets[{i}].volatility"), a.volatility, 0.0, 2.0)?;
        finite_in(&format!("assets[{i}].liability_correlation"), a.liability_correlation, -1.0, 1.0)?;
    }
    let mu_l = finite_in("liability.expected_return", req.liability.expected_return, -1.0, 1.0)?;
    let sigma_l = finite_in("liability.volatility", req.liability.volatility, 0.0, 2.0)?;
    let f = finite_in("funded_ratio", req.funded_ratio.unwrap_or(1.0), 1e-6, 100.0)?;
    let target = finite_in("required_surplus_return", req.required_surplus_return, -100.0, 100.0)?;
    // The assets' and the liability's correlations together, repaired if need be.
    let corr = match &req.correlation {
        None => DMatrix::identity(n, n),
        Some(rows) => correlation::check(rows, n, "correlation")?,
    };
    let full = DMatrix::from_fn(n + 1, n + 1, |i, j| match (i == n, j == n) {
        (true, true) => 1.0,
        (true, false) => req.assets[j].liability_correlation,
        (false, true) => req.assets[i].liability_correlation,
        (false, false) => corr[(i, j)],
    });
    let mut warnings = Vec::new();
    let (l, repaired) = correlation::factor(&full);
    let full = if let Some(change) = repaired {
        warnings.push(format!(
            "the correlations of the assets and the liability together are not positive definite: \
             repaired to the nearest correlation matrix (largest change {change:.4})"
        ));
        &l * l.transpose()
    } else {
        full
    };
    let sd: Vec<f64> = req.assets.iter().map(|a| a.volatility).chain([sigma_l]).collect();
    let cov = |i: usize, j: usize| full[(i, j)] * sd[i] * sd[j];
    let mu: Vec<f64> = req.assets.iter().map(|a| a.expected_return).collect();
    let max_return = mu.iter().copied().fold(f64::NEG_INFINITY, f64::max) - mu_l / f;
    if target > max_return + 1e-12 {
        return Err(invalid(
            "required_surplus_return",
            format!("{target} is above the highest expected surplus return of a long-only mix ({max_return:.6})"),
        ));
    }
    let build = |with_target: bool| {
        let mut p = Program::new(n);
        for j in 0..n {
            for i in 0..=j {
                p.add_p(i, j, 2.0 * cov(i, j));
            }
            p.add_q(j, -2.0 / f * cov(j, n));
            p.ge(vec![(j, 1.0)], 0.0);
        }
        p.eq((0..n).map(|i| (i, 1.0)).collect(), 1.0);
        if with_target {
            p.ge((0..n).map(|i| (i, mu[i])).collect(), target.min(max_return) + mu_l / f);
        }
        p
    };
    let explain = |e: Failure| match e {
        Failure::Infeasible => invalid("required_surplus_return", "no long-only mix reaches it"),
        _ => invalid("assets", "the solver did not converge"),
    };
    let raw = build(true).solve().map_err(explain)?;
    let mut w: Vec<f64> = raw.iter().map(|v| v.max(0.0)).collect();
    let sum: f64 = w.iter().sum();
    w.iter_mut().for_each(|v| *v = if *v < 1e-10 { 0.0 } else { *v / sum });
    let free = build(false).solve().map_err(explain)?;
    let quad = |w: &[f64]| (0..n).map(|i| (0..n).map(|j| w[i] * w[j] * cov(i, j)).sum::<f64>()).sum::<f64>();
    let surplus_variance = |w: &[f64]| {
        let cross: f64 = (0..n).map(|i| w[i] * cov(i, n)).sum();
        (quad(w) - 2.0 / f * cross + sigma_l * sigma_l / (f * f)).max(0.0)
    };
    let free_return: f64 = free.iter().zip(&mu).map(|(w, m)| w * m).sum::<f64>() - mu_l / f;
    let asset_return: f64 = w.iter().zip(&mu).map(|(w, m)| w * m).sum();
    Ok(AlmOptResult {
        weights: req.assets.iter().zip(&w).map(|(a, w)| OptWeight { name: a.name.clone(), weight: *w }).collect(),
        expected_surplus_return: asset_return - mu_l / f,
        surplus_volatility: surplus_variance(&w).sqrt(),
        asset_expected_return: asset_return,
        asset_volatility: quad(&w).max(0.0).sqrt(),
        max_surplus_return: max_return,
        return_constraint_binds: free_return < target - 1e-9,
        warnings,
    })
}
