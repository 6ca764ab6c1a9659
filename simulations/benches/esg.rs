//! The ESG optimiser on 500 assets: a one-factor covariance, WACI limit, SDG minimum, sector
//! caps and exclusions (target: under 200 ms).

use criterion::{criterion_group, criterion_main, Criterion};
use simulations::esg::{optimise, Company, Emissions, EsgScores, OptimiseRequest, ScoreKind, SdgShare, SectorCap};

fn request(n: usize) -> OptimiseRequest {
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
    OptimiseRequest {
        assets: companies.iter().map(|c| c.id.clone()).collect(),
        companies,
        expected_returns: mu,
        covariance,
        risk_aversion: 3.0,
        impact_weight: 0.0005,
        score: ScoreKind::Total,
        max_weight: 0.05,
        waci_limit: Some(1_500.0),
        min_sdg_share: Some(0.2),
        sector_caps: vec![SectorCap { sector: "energy".into(), max: 0.15 }],
        exclude: (0..n).step_by(50).map(|i| format!("C{i}")).collect(),
        frontier_points: None,
    }
}

fn bench(c: &mut Criterion) {
    let req = request(500);
    let out = optimise(&req).expect("solves");
    assert!((out.portfolio.weights.iter().sum::<f64>() - 1.0).abs() < 1e-6);
    let mut g = c.benchmark_group("esg");
    g.sample_size(10);
    g.bench_function("optimise_500_assets", |b| b.iter(|| optimise(&req).expect("solves")));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
