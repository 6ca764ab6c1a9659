//! Alternatives: hand-worked Takahashi-Alexander paths and the model's identities, crypto
//! sizing, inflation betas, REIT sectors and liquidity profiles.

use simulations::alternatives::*;
use simulations::SimError;

fn field(e: SimError) -> String {
    match e {
        SimError::Invalid { field, .. } => field,
    }
}

fn near(a: f64, b: f64, tol: f64) {
    assert!((a - b).abs() <= tol, "{a} vs {b}");
}

fn model() -> FundModel {
    FundModel {
        contribution_rates: vec![0.25, 0.333, 0.5, 1.0],
        bow: 2.5,
        distribution_yield: 0.0,
        life: 12,
        growth: 0.13,
    }
}

fn plan(commitments: Vec<Commitment>) -> PacingRequest {
    PacingRequest {
        model: model(),
        commitments,
        portfolio_value: None,
        portfolio_growth: 0.0,
        target_allocation: None,
        years: None,
    }
}

fn commit(vintage: i32, amount: f64) -> Commitment {
    Commitment { vintage, amount, model: None }
}

/// C = 100, RC = 25%, 33.3%, 50%, 100%, L = 12, B = 2.5, Y = 0, G = 13%, by hand:
/// age 1: C1 = 25, D1 = 0, NAV1 = 25;
/// age 2: C2 = 0.333·75 = 24.975, RD2 = (2/12)^2.5 = 0.0113402, D2 = 0.0113402·28.25 = 0.320361,
///        NAV2 = 28.25 + 24.975 − 0.320361 = 52.904639;
/// age 3: C3 = 0.5·50.025 = 25.0125, RD3 = 0.25^2.5 = 0.03125, grown 59.782242,
///        D3 = 1.868195, NAV3 = 59.782242 + 25.0125 − 1.868195 = 82.926547.
#[test]
fn takahashi_alexander_first_three_years_by_hand() {
    let r = pacing(&plan(vec![commit(2025, 100.0)])).unwrap();
    let f = &r.funds[0];
    near(f.contributions[0], 25.0, 1e-12);
    near(f.contributions[1], 24.975, 1e-12);
    near(f.contributions[2], 25.0125, 1e-12);
    near(f.distributions[0], 0.0, 1e-12);
    near(f.distributions[1], 0.320361, 1e-6);
    near(f.distributions[2], 1.868195, 1e-6);
    near(f.nav[0], 25.0, 1e-12);
    near(f.nav[1], 52.904639, 1e-6);
    near(f.nav[2], 82.926547, 1e-6);
    // Age 4 calls the rest: 100% of 25.0125.
    near(f.contributions[3], 25.0125, 1e-12);
    // Calendar totals for one fund are its path; net = D − C.
    assert_eq!(r.years.len(), 12);
    assert_eq!(r.years[0].year, 2025);
    near(r.years[2].net_cash_flow, 1.868195 - 25.0125, 1e-6);
    near(r.years[2].unfunded, 25.0125, 1e-9);
    near(r.years[3].unfunded, 0.0, 1e-9);
}

#[test]
fn identities_contributions_sum_to_commitment_and_nav_runs_off() {
    let r = pacing(&plan(vec![commit(2020, 250.0)])).unwrap();
    let f = &r.funds[0];
    near(f.contributions.iter().sum::<f64>(), 250.0, 1e-9);
    near(f.lapsed, 0.0, 1e-9);
    // RD_L = 1: everything is distributed in the last year.
    near(*f.nav.last().unwrap(), 0.0, 1e-9);
    // Cash in = cash out + value created: Σ D = Σ C + Σ G·NAV_{t−1}.
    let grown: f64 = f.nav.iter().take(11).map(|n| 0.13 * n).sum();
    near(f.distributions.iter().sum::<f64>(), 250.0 + grown, 1e-9);
    assert!(f.multiple.unwrap() > 1.0);
    // With G = 0 the fund returns exactly what it called.
    let mut p = plan(vec![commit(2020, 250.0)]);
    p.model.growth = 0.0;
    let f0 = &pacing(&p).unwrap().funds[0];
    near(f0.multiple.unwrap(), 1.0, 1e-12);
}

#[test]
fn vintages_sum_by_calendar_year_and_shares() {
    let mut p = plan(vec![commit(2025, 100.0), commit(2026, 100.0)]);
    p.portfolio_value = Some(1000.0);
    p.portfolio_growth = 0.05;
    p.target_allocation = Some(0.10);
    let r = pacing(&p).unwrap();
    assert_eq!(r.years.len(), 13);
    // 2026: fund A at age 2, fund B at age 1.
    let y = &r.years[1];
    near(y.calls, 24.975 + 25.0, 1e-9);
    near(y.nav, 52.904639 + 25.0, 1e-6);
    near(y.unfunded, 50.025 + 75.0, 1e-9);
    near(y.portfolio_value.unwrap(), 1000.0 * 1.05 * 1.05, 1e-9);
    near(y.nav_share.unwrap(), (52.904639 + 25.0) / 1102.5, 1e-8);
    near(y.gap_to_target.unwrap(), (52.904639 + 25.0) / 1102.5 - 0.10, 1e-8);
    near(y.exposure_share.unwrap(), (52.904639 + 25.0 + 125.025) / 1102.5, 1e-8);
}

#[test]
fn lapsed_commitment_and_paper_style_schedule() {
    // The paper's schedule ends at 50%: the last call never takes everything.
    let mut p = plan(vec![commit(2025, 100.0)]);
    p.model.contribution_rates = vec![0.25, 0.333, 0.5];
    p.model.life = 4;
    let f = &pacing(&p).unwrap().funds[0];
    near(f.contributions[3], 0.5 * 25.0125, 1e-12);
    near(f.lapsed, 0.5 * 25.0125, 1e-12);
    near(*f.nav.last().unwrap(), 0.5 * 25.0125, 1e-9);
}

#[test]
fn pacing_rejects_bad_input() {
    let mut p = plan(vec![commit(2025, 100.0)]);
    p.model.contribution_rates = vec![1.5];
    assert_eq!(field(pacing(&p).unwrap_err()), "model.contribution_rates");
    let mut p = plan(vec![commit(2025, f64::NAN)]);
    assert_eq!(field(pacing(&p).unwrap_err()), "commitments[0].amount");
    p = plan(vec![]);
    assert_eq!(field(pacing(&p).unwrap_err()), "commitments");
    p = plan(vec![commit(2025, 1e308), commit(2026, 1e308)]);
    p.model.growth = 10.0;
    assert!(pacing(&p).is_err());
    p = plan(vec![commit(0, 1.0), commit(90_000, 1.0)]);
    assert_eq!(field(pacing(&p).unwrap_err()), "commitments");
}

fn coin(name: &str, mu: f64, cap: Option<f64>, crypto: bool) -> CryptoAsset {
    CryptoAsset { name: name.into(), expected_return: mu, market_cap: cap, crypto, max_weight: None }
}

/// Two uncorrelated coins, r_f = 0: w ∝ Σ⁻¹μ = (0.5/0.64, 0.3/0.36) = (0.78125, 0.833333),
/// w₁ = 0.78125/1.614583 = 0.483871. A third coin below the minimum cap is left out.
#[test]
fn crypto_max_sharpe_with_exclusions_and_caps() {
    let mut req = CryptoRequest {
        assets: vec![
            coin("BTC", 0.5, Some(1e12), true),
            coin("ETH", 0.3, Some(4e11), true),
            coin("TINY", 2.0, Some(1e6), true),
        ],
        covariance: vec![vec![0.64, 0.0, 0.0], vec![0.0, 0.36, 0.0], vec![0.0, 0.0, 4.0]],
        risk_free_rate: 0.0,
        max_weight: 1.0,
        min_market_cap: 1e9,
        max_crypto_share: None,
    };
    let r = crypto(&req).unwrap();
    assert_eq!(r.weights.len(), 2);
    near(r.weights[0].weight, 0.78125 / (0.78125 + 0.3 / 0.36), 1e-6);
    assert_eq!(r.excluded.len(), 1);
    assert_eq!(r.excluded[0].name, "TINY");
    near(r.crypto_share, 1.0, 1e-9);
    // BTC's own 40% cap binds.
    req.assets[0].max_weight = Some(0.4);
    let r = crypto(&req).unwrap();
    near(r.weights[0].weight, 0.4, 1e-6);
    near(r.weights[1].weight, 0.6, 1e-6);
    // Caps that cannot sum to one.
    req.max_weight = 0.3;
    assert_eq!(field(crypto(&req).unwrap_err()), "max_weight");
}

/// BTC (μ 0.5, σ 0.8) inside a bond portfolio (μ 0.04, σ 0.05), uncorrelated: Σ⁻¹μ =
/// (0.78125, 16), so BTC gets 0.78125/16.78125 = 0.046555; a 2% crypto cap binds.
#[test]
fn crypto_total_cap_inside_wider_portfolio() {
    let mut req = CryptoRequest {
        assets: vec![coin("BTC", 0.5, Some(1e12), true), coin("Bonds", 0.04, None, false)],
        covariance: vec![vec![0.64, 0.0], vec![0.0, 0.0025]],
        risk_free_rate: 0.0,
        max_weight: 1.0,
        min_market_cap: 1e9,
        max_crypto_share: None,
    };
    let r = crypto(&req).unwrap();
    near(r.crypto_share, 0.78125 / 16.78125, 1e-6);
    req.max_crypto_share = Some(0.02);
    let r = crypto(&req).unwrap();
    near(r.crypto_share, 0.02, 1e-6);
    near(r.weights[1].weight, 0.98, 1e-6);
}

/// π = 1, 2, 3, 4 and r = 3, 5, 7, 10: S_xx = 5, S_xy = 11.5, β = 2.3, α = 0.5, residuals
/// 0.2, −0.1, −0.4, 0.3, SSR = 0.3, SST = 26.75, R² = 0.988785, se = √(0.15/5), t = 13.27906.
/// Portfolio β 0.5 to target 1: funded w = 0.5/1.8, overlay w = 0.5/2.3.
#[test]
fn inflation_beta_by_hand() {
    let req = InflationRequest {
        inflation: vec![1.0, 2.0, 3.0, 4.0],
        assets: vec![Series { name: "GSCI".into(), returns: vec![3.0, 5.0, 7.0, 10.0] }],
        portfolio_returns: None,
        portfolio_beta: Some(0.5),
        target_beta: 1.0,
    };
    let r = inflation_beta(&req).unwrap();
    let a = &r.assets[0];
    near(a.beta, 2.3, 1e-12);
    near(a.alpha, 0.5, 1e-12);
    near(a.r_squared, 1.0 - 0.3 / 26.75, 1e-12);
    near(a.t_stat.unwrap(), 2.3 / 0.03_f64.sqrt(), 1e-9);
    near(a.hedge_weight.unwrap(), 0.5 / 1.8, 1e-12);
    near(a.overlay_weight.unwrap(), 0.5 / 2.3, 1e-12);
    let mut bad = req.clone();
    bad.inflation = vec![2.0; 4];
    assert_eq!(field(inflation_beta(&bad).unwrap_err()), "inflation");
    bad = req.clone();
    bad.assets[0].returns.pop();
    assert_eq!(field(inflation_beta(&bad).unwrap_err()), "assets[0].returns");
    // The portfolio's own series: an exact fit has no t-stat.
    let mut p = req;
    p.portfolio_returns = Some(vec![0.5, 1.0, 1.5, 2.0]);
    let r = inflation_beta(&p).unwrap();
    near(r.portfolio_beta.unwrap(), 0.5, 1e-12);
    assert!(r.portfolio.unwrap().t_stat.is_none());
}

/// Two uncorrelated sectors, δ = 4: w₁ = (μ₁ − μ₂ + δσ₂²)/(δ(σ₁² + σ₂²)) = (0.02 + 0.04)/0.2 = 0.3.
#[test]
fn reit_sectors_closed_form_and_bounds() {
    let sector = |name: &str, mu: f64, sd: f64| Sector {
        name: name.into(),
        expected_return: mu,
        volatility: sd,
        min: 0.0,
        max: 1.0,
    };
    let mut req = ReitRequest {
        sectors: vec![sector("Industrial", 0.08, 0.2), sector("Residential", 0.06, 0.1)],
        correlation: vec![vec![1.0, 0.0], vec![0.0, 1.0]],
        risk_aversion: 4.0,
    };
    let r = reit_sectors(&req).unwrap();
    near(r.weights[0].weight, 0.3, 1e-6);
    near(r.expected_return, 0.3 * 0.08 + 0.7 * 0.06, 1e-6);
    req.sectors[0].max = 0.2;
    let r = reit_sectors(&req).unwrap();
    near(r.weights[0].weight, 0.2, 1e-6);
    req.sectors[1].max = 0.5;
    assert_eq!(field(reit_sectors(&req).unwrap_err()), "sectors");
    req.sectors[1].max = 1.0;
    req.correlation[0][1] = 2.0;
    req.correlation[1][0] = 2.0;
    assert_eq!(field(reit_sectors(&req).unwrap_err()), "correlation");
}

/// A listed fund, a quarterly hedge fund with 30 days' notice and a 25% gate, and a private
/// equity stake: by hand, 60 sellable within 7 days; the hedge fund's first quarter-end comes
/// after 30 + 90 = 120 days (a quarter of it), a second at 210 and a third at 300, so 75% of
/// it by a year; nothing of the private equity.
#[test]
fn the_liquidity_profile_counts_notice_gates_and_lockups() {
    let holding = |name: &str, value: f64| LiquidityHolding {
        name: name.into(),
        value,
        days: None,
        redemption_days: None,
        notice_days: None,
        lockup_days: None,
        gate: None,
        illiquid: false,
    };
    let req = LiquidityRequest {
        holdings: vec![
            LiquidityHolding { days: Some(2.0), ..holding("index fund", 60.0) },
            LiquidityHolding {
                redemption_days: Some(90.0),
                notice_days: Some(30.0),
                gate: Some(0.25),
                ..holding("hedge fund", 20.0)
            },
            LiquidityHolding { illiquid: true, ..holding("buyout fund", 20.0) },
        ],
        requirements: vec![
            LiquidityRequirement { within_days: 7.0, min_share: 0.5 },
            LiquidityRequirement { within_days: 365.0, min_share: 0.8 },
        ],
        unfunded_commitments: 70.0,
        commitment_days: None,
    };
    let r = liquidity(&req).unwrap();
    let shares: Vec<f64> = r.profile.iter().map(|b| b.value).collect();
    assert_eq!(shares, vec![0.0, 60.0, 60.0, 60.0, 60.0 + 20.0 * 0.75]);
    assert!(r.requirements[0].met && !r.requirements[1].met);
    // 60 sellable within 90 days against 70 to be called: not covered.
    near(r.commitment_coverage.unwrap(), 60.0 / 70.0, 1e-12);
    assert_eq!(r.commitments_covered, Some(false));
    let mut bad = req.clone();
    bad.holdings[1].gate = Some(2.0);
    assert_eq!(field(liquidity(&bad).unwrap_err()), "holdings[1].gate");
}
