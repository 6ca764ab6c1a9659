//! Pension ALM benchmark: a 30-year, 10,000-scenario projection of a plan with 10 asset classes
//! (correlated lognormal returns, two duration sleeves), a 60-year benefit stream half indexed
//! to inflation, the US economy, minimum-funding contributions and PBGC premiums. Target: under
//! 2 s; about 76 ms (criterion's estimate; 0.14 s for the first, cold call) on the 2-core
//! development machine.

use criterion::{criterion_group, criterion_main, Criterion};
use simulations::alm::{project, AlmAsset, AlmRequest};
use simulations::liabilities::Flow;
use std::hint::black_box;
use std::time::Instant;

fn request() -> AlmRequest {
    let spec: [(&str, f64, f64, f64, f64); 10] = [
        ("us_large_cap", 0.070, 0.16, 0.0, 0.15),
        ("us_small_cap", 0.080, 0.21, 0.0, 0.05),
        ("intl_developed", 0.072, 0.17, 0.0, 0.08),
        ("emerging", 0.085, 0.23, 0.0, 0.04),
        ("real_estate", 0.065, 0.18, 0.0, 0.05),
        ("private_equity", 0.090, 0.25, 0.0, 0.05),
        ("long_treasury", 0.045, 0.11, 16.0, 0.25),
        ("long_credit", 0.055, 0.10, 13.0, 0.20),
        ("high_yield", 0.060, 0.09, 4.0, 0.08),
        ("cash", 0.035, 0.01, 0.25, 0.05),
    ];
    let assets = spec
        .iter()
        .map(|&(name, expected_return, volatility, duration, weight)| AlmAsset {
            name: name.into(),
            expected_return,
            volatility,
            duration,
            convexity: duration * duration * 1.5,
            weight,
        })
        .collect();
    // Equities correlated 0.7 with one another, bonds 0.6, across 0.2.
    let equity = |i: usize| i < 6;
    let correlation = (0..10)
        .map(|i| {
            (0..10)
                .map(|j| match (i == j, equity(i), equity(j)) {
                    (true, _, _) => 1.0,
                    (false, true, true) => 0.7,
                    (false, false, false) => 0.6,
                    _ => 0.2,
                })
                .collect()
        })
        .collect();
    AlmRequest {
        years: 30,
        scenarios: 10_000,
        seed: 42,
        economy: None,
        assets,
        correlation: Some(correlation),
        initial_assets: None,
        initial_funded_ratio: Some(0.92),
        benefits: (1..=60).map(|t| Flow { time: f64::from(t), amount: 1e7 * 0.97f64.powi(t) }).collect(),
        indexation: 0.5,
        discount_spread: 0.015,
        normal_cost: 2e6,
        normal_cost_growth: 0.03,
        amortisation_years: 7,
        participants: 5_000.0,
        pbgc_year: None,
        premium_growth: 0.03,
        premiums_from_assets: false,
        confidence: 0.95,
        threshold: 0.8,
    }
}

fn bench(c: &mut Criterion) {
    let req = request();
    // One timed call, printed against the 2 s target.
    let start = Instant::now();
    let r = project(&req).expect("valid request");
    let once = start.elapsed();
    let last = r.by_year.last().expect("30 years");
    println!(
        "alm: 30 years x 10,000 scenarios x 10 assets: {:.3} s for one call on {} threads (target < 2 s); \
         year 30 median funded ratio {:.3}, P(underfunded) {:.3}, P(ever below 80%) {:.3}",
        once.as_secs_f64(),
        rayon::current_num_threads(),
        last.funded_ratio[2],
        last.probability_underfunded,
        r.probability_ever_below_threshold
    );
    let mut g = c.benchmark_group("alm");
    g.sample_size(10);
    g.bench_function("project_30y_10k_scenarios_10_assets", |b| b.iter(|| project(black_box(&req))));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
