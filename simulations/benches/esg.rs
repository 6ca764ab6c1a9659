//! The ESG optimiser on 500 assets: a one-factor covariance, WACI limit, SDG minimum, sector
//! caps and exclusions (target: under 200 ms). The covariance is given dense and, the same
//! risk, as a factor model; each is solved with the variance in each form
//! ([`VarianceForm`]), side by side in one run, after checking that the answers agree.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use simulations::esg::{
    optimise, optimise_with, Company, Emissions, EsgScores, FactorModel, OptimiseRequest, ScoreKind, SdgShare,
    SectorCap, VarianceForm,
};

/// The dense request and the same risk as a one-factor model.
fn requests(n: usize) -> (OptimiseRequest, OptimiseRequest) {
    let mut x = 12345u64;
    let mut u = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x >> 11) as f64 / (1u64 << 53) as f64
    };
    let sectors = ["energy", "utilities", "tech", "health", "financials"];
    let mut companies = Vec::with_capacity(n);
    let (mut mu, mut beta, mut resid) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..n {
        let t = 20.0 + 70.0 * u();
        companies.push(Company {
            id: format!("C{i}"),
            sector: Some(sectors[i % 5].into()),
            scores: Some(EsgScores { environmental: t, social: t, governance: t, total: t }),
            revenue: Some(1e8 * (0.5 + u())),
            emissions: Some(Emissions { scope1: Some(1e4 * u() * u() * 30.0), scope2: Some(1e3 * u()), scope3: None }),
            sdg: vec![SdgShare { goal: 7, share: 0.5 * u() }],
            ..Default::default()
        });
        mu.push(0.03 + 0.08 * u());
        beta.push(0.6 + 0.8 * u());
        resid.push((0.1 + 0.3 * u()).powi(2));
    }
    let covariance = (0..n)
        .map(|i| (0..n).map(|j| 0.0324 * beta[i] * beta[j] + if i == j { resid[i] } else { 0.0 }).collect())
        .collect();
    let factor_model = FactorModel {
        exposures: beta.iter().map(|b| vec![*b]).collect(),
        factor_covariance: vec![vec![0.0324]],
        specific_volatility: resid.iter().map(|r: &f64| r.sqrt()).collect(),
    };
    let dense = OptimiseRequest {
        assets: companies.iter().map(|c| c.id.clone()).collect(),
        companies,
        companies_csv: None,
        expected_returns: mu,
        covariance,
        factor_model: None,
        risk_aversion: 3.0,
        impact_weight: 0.0005,
        score: ScoreKind::Total,
        max_weight: 0.05,
        waci_limit: Some(1_500.0),
        min_sdg_share: Some(0.2),
        sector_caps: vec![SectorCap { sector: "energy".into(), max: 0.15 }],
        exclude: (0..n).step_by(50).map(|i| format!("C{i}")).collect(),
        frontier_points: None,
    };
    let factor = OptimiseRequest { covariance: Vec::new(), factor_model: Some(factor_model), ..dense.clone() };
    (dense, factor)
}

fn bench(c: &mut Criterion) {
    let (dense, factor) = requests(500);
    let reference = optimise_with(&dense, VarianceForm::Dense).expect("solves").portfolio.weights;
    assert!((reference.iter().sum::<f64>() - 1.0).abs() < 1e-6);
    let forms = [("dense_p", VarianceForm::Dense), ("factored", VarianceForm::Factored)];
    for (input, req) in [("covariance", &dense), ("factor_model", &factor)] {
        for (name, form) in forms {
            let w = optimise_with(req, form).expect("solves").portfolio.weights;
            let gap = w.iter().zip(&reference).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
            println!("{input} {name}: largest weight difference from the dense form {gap:.1e}");
            assert!(gap < 1e-5, "{input} {name}: {gap}");
        }
    }
    let mut g = c.benchmark_group("esg");
    g.sample_size(10);
    // One element is one optimisation of the 500 assets.
    g.throughput(Throughput::Elements(1));
    // The dense covariance as optimise solves it (the dense P, as before) and the same risk as
    // a factor model (factored: z = Gᵀw, P diagonal).
    g.bench_function("optimise_500_assets", |b| b.iter(|| optimise(&dense).expect("solves")));
    g.bench_function("optimise_500_assets_factor_model", |b| b.iter(|| optimise(&factor).expect("solves")));
    // The other forms of each: the dense covariance by its Cholesky factor, the factor model's
    // Σ written out dense.
    g.bench_function("optimise_500_assets_covariance_factored", |b| {
        b.iter(|| optimise_with(&dense, VarianceForm::Factored).expect("solves"))
    });
    g.bench_function("optimise_500_assets_factor_model_dense_p", |b| {
        b.iter(|| optimise_with(&factor, VarianceForm::Dense).expect("solves"))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
