//! Execution benchmarks: the Almgren-Chriss efficient frontier, 100 values of λ over N = 100
//! periods with every trajectory's expected cost and variance. Target: under 10 ms; about
//! 0.7 ms on the 2-core development machine (with the trajectories returned or not).

use criterion::{criterion_group, criterion_main, Criterion};
use simulations::execution::{almgren_chriss, AcRequest, FrontierRequest};
use std::hint::black_box;
use std::time::Instant;

/// The paper's example (Almgren and Chriss 2000, Table 1) over 100 periods.
fn request(trajectories: bool) -> AcRequest {
    AcRequest {
        shares: 1e6,
        horizon: 5.0,
        periods: 100,
        volatility: 0.95,
        drift: 0.02,
        fixed_cost: 0.0625,
        permanent_impact: 2.5e-7,
        temporary_impact: 2.5e-6,
        risk_aversion: 1e-6,
        price: Some(50.0),
        confidence: Some(0.95),
        frontier: Some(FrontierRequest { points: 100, lambda_min: None, lambda_max: None, trajectories }),
    }
}

fn bench(c: &mut Criterion) {
    let plain = request(false);
    let with_paths = request(true);
    // One timed call, printed against the 10 ms target.
    let start = Instant::now();
    let r = almgren_chriss(&plain).expect("valid request");
    let once = start.elapsed();
    println!(
        "execution: 100-point frontier, N = 100: {:.1} µs for one call (target < 10 ms); {} points",
        once.as_secs_f64() * 1e6,
        r.frontier.map_or(0, |f| f.len())
    );
    let mut g = c.benchmark_group("execution");
    g.bench_function("frontier_100_points_n100", |b| {
        b.iter(|| almgren_chriss(black_box(&plain)).map_or(0.0, |r| r.trajectory.cost.expected))
    });
    g.bench_function("frontier_100_points_n100_with_trajectories", |b| {
        b.iter(|| almgren_chriss(black_box(&with_paths)).map_or(0.0, |r| r.trajectory.cost.expected))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
