//! Options benchmarks: Black-Scholes-Merton price and Greeks, implied volatility (Let's Be
//! Rational), Bjerksund-Stensland American prices (1993 with its Greeks, 2002 price alone).
//! Targets: < 100 ns per option priced with all Greeks, < 500 ns per implied volatility.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use simulations::options::american::{bjerksund_stensland, bjerksund_stensland_2002};
use simulations::options::implied::{implied_volatility, ImpliedVolInput};
use simulations::options::{bsm, BsInput, OptionKind};
use std::hint::black_box;

/// A spread of options: calls and puts, in and out of the money, a week to ten years.
fn inputs() -> Vec<BsInput> {
    let mut v = Vec::new();
    for (i, strike) in [60.0, 85.0, 100.0, 115.0, 150.0].into_iter().enumerate() {
        for (j, expiry) in [7.0 / 365.0, 0.25, 1.0, 10.0].into_iter().enumerate() {
            for kind in [OptionKind::Call, OptionKind::Put] {
                v.push(BsInput {
                    kind,
                    spot: 100.0,
                    strike,
                    rate: 0.03,
                    dividend: 0.01,
                    volatility: 0.1 + 0.1 * ((i + j) % 4) as f64,
                    expiry,
                });
            }
        }
    }
    v
}

fn bench(c: &mut Criterion) {
    let options = inputs();
    let n = options.len() as u64;
    let mut g = c.benchmark_group("options");
    g.throughput(Throughput::Elements(n));
    g.bench_function("bsm_price_and_greeks", |b| {
        b.iter(|| options.iter().map(|o| bsm(black_box(o)).theta).sum::<f64>())
    });
    let requests: Vec<ImpliedVolInput> = options
        .iter()
        .map(|o| ImpliedVolInput::from_option(o, bsm(o).price))
        .filter(|r| implied_volatility(r).is_ok())
        .collect();
    g.throughput(Throughput::Elements(requests.len() as u64));
    g.bench_function("implied_volatility", |b| {
        b.iter_batched(
            || requests.clone(),
            |rs| rs.iter().map(|r| implied_volatility(black_box(r)).map_or(0.0, |v| v.volatility)).sum::<f64>(),
            BatchSize::SmallInput,
        )
    });
    g.throughput(Throughput::Elements(n));
    g.bench_function("american_bjerksund_stensland", |b| {
        b.iter(|| options.iter().filter_map(|o| bjerksund_stensland(black_box(o))).map(|a| a.price).sum::<f64>())
    });
    g.bench_function("american_bjerksund_stensland_2002_price", |b| {
        b.iter(|| options.iter().map(|o| bjerksund_stensland_2002(black_box(o))).sum::<f64>())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
