//! Portfolio optimizers on 100 assets with a covariance from five years of simulated daily
//! returns (a three-factor model with idiosyncratic noise): max Sharpe (target < 50 ms),
//! min variance, HRP and min CVaR over the 1,260 daily scenarios. Single-threaded.

use criterion::{criterion_group, criterion_main, Criterion};
use nalgebra::DMatrix;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use simulations::optimize::{covariance, cvar, hrp, mean_variance, Constraints};

fn returns(n: usize, t: usize) -> DMatrix<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let mut z = |s: f64| -> f64 { rng.sample::<f64, _>(StandardNormal) * s };
    let loadings: Vec<[f64; 3]> = (0..n).map(|_| [0.8 + z(0.3), z(0.5), z(0.5)]).collect();
    let drift: Vec<f64> = (0..n).map(|_| 0.0003 + z(0.0002)).collect();
    let idio: Vec<f64> = (0..n).map(|_| 0.01 + z(0.003).abs()).collect();
    let mut r = DMatrix::zeros(t, n);
    for i in 0..t {
        let f = [z(0.01), z(0.006), z(0.005)];
        for j in 0..n {
            let l = loadings[j];
            r[(i, j)] = drift[j] + l[0] * f[0] + l[1] * f[1] + l[2] * f[2] + z(idio[j]);
        }
    }
    r
}

fn bench(c: &mut Criterion) {
    let n = 100;
    let r = returns(n, 1260);
    let cov = covariance::sample_cov(&r, 252.0);
    let mu = covariance::mean_historical_return(&r, 252.0);
    let long_only = Constraints::long_only(n);
    let mut capped = Constraints::long_only(n);
    capped.upper = vec![0.05; n];
    c.bench_function("max_sharpe_100_assets", |b| {
        b.iter(|| mean_variance::max_sharpe(&cov, &mu, 0.02, &long_only).unwrap())
    });
    c.bench_function("max_sharpe_100_assets_capped_5pct", |b| {
        b.iter(|| mean_variance::max_sharpe(&cov, &mu, 0.02, &capped).unwrap())
    });
    c.bench_function("min_variance_100_assets", |b| b.iter(|| mean_variance::min_variance(&cov, &long_only).unwrap()));
    let corr = covariance::correlation(&r);
    let daily = covariance::sample_cov_raw(&r);
    c.bench_function("hrp_100_assets", |b| b.iter(|| hrp::hrp(&daily, &corr).unwrap()));
    c.bench_function("ledoit_wolf_100_assets_1260_days", |b| b.iter(|| covariance::ledoit_wolf(&r, 252.0)));
    let mut group = c.benchmark_group("slow");
    group.sample_size(10);
    group.bench_function("min_cvar_100_assets_1260_scenarios", |b| {
        b.iter(|| cvar::min_cvar(&r, 0.95, &long_only).unwrap())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
