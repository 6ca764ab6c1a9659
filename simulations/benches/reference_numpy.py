#!/usr/bin/env python3
"""The reference for `cairn simulate`'s speed: a straightforward vectorized NumPy
implementation of the same model (correlated Student-t shocks, Markov regimes, compensated
Merton jumps, monthly steps, a rebalanced portfolio with inflation-adjusted withdrawals),
looping over time steps and vectorized over paths.

    python3 simulations/benches/reference_numpy.py simulations/benches/reference.toml [PATHS]

Prints the seconds taken and the probability of success (which should agree with
`cairn simulate` on the same plan to within sampling error). Needs numpy.
"""
import sys
import time
import tomllib

import numpy as np


def run(plan, paths):
    m = plan["model"]
    assets = m["assets"]
    n = len(assets)
    steps = m.get("steps_per_year", 12)
    dt = 1.0 / steps
    w = np.array([a["weight"] for a in assets])
    corr = np.array(m.get("correlation", np.eye(n).tolist()))
    chol = np.linalg.cholesky(corr)
    nu = m["shocks"]["degrees_of_freedom"] if m["shocks"]["kind"] == "student_t" else None
    jumps = m.get("jumps")
    lam = jumps["intensity"] if jumps else 0.0
    kappa = lam * (np.exp(jumps["mean"] + 0.5 * jumps["volatility"] ** 2) - 1.0) if jumps else 0.0
    if "regimes" in m:
        states = m["regimes"]["states"]
        mu = np.array([s["expected_returns"] for s in states])
        sigma = np.array([s["volatilities"] for s in states])
        cum = np.cumsum(np.array(m["regimes"]["transition"]), axis=1)
        p = np.array(m["regimes"]["transition"])
        vals, vecs = np.linalg.eig(p.T)
        pi = np.real(vecs[:, np.argmin(np.abs(vals - 1.0))])
        pi = pi / pi.sum()
    else:
        mu = np.array([[a["expected_return"] for a in assets]])
        sigma = np.array([[a["volatility"] for a in assets]])
        cum = np.ones((1, 1))
        pi = np.ones(1)
    drift = (np.log1p(mu) - 0.5 * sigma**2 - kappa) * dt
    vol = sigma * np.sqrt(dt)

    rng = np.random.default_rng(plan.get("seed", 0))
    cf = plan.get("cash_flows", {})
    wealth = np.full(paths, plan["initial_wealth"])
    alive = np.ones(paths, dtype=bool)
    regime = np.searchsorted(np.cumsum(pi), rng.random(paths), side="right").clip(max=len(pi) - 1)
    bands = []
    for year in range(plan["years"]):
        level = (1.0 + cf.get("inflation", 0.0)) ** year
        if year < cf.get("retire_after_years", 0):
            flow = cf.get("annual_contribution", 0.0) * level / steps
        else:
            flow = -cf.get("annual_withdrawal", 0.0) * level / steps
        for _ in range(steps):
            z = rng.standard_normal((paths, n)) @ chol.T
            if nu is not None:
                z *= np.sqrt((nu - 2.0) / rng.chisquare(nu, paths))[:, None]
            r = drift[regime] + vol[regime] * z
            if jumps:
                k = rng.poisson(lam * dt, paths)
                r += (k * jumps["mean"] + jumps["volatility"] * np.sqrt(k) * rng.standard_normal(paths))[:, None]
            gross = np.exp(r) @ w
            wealth = np.where(alive, wealth * gross + flow, 0.0)
            alive &= wealth > 0.0
            wealth = np.where(alive, wealth, 0.0)
            if len(pi) > 1:
                regime = (rng.random(paths)[:, None] > cum[regime]).sum(axis=1).clip(max=len(pi) - 1)
        bands.append(np.percentile(wealth, [5, 25, 50, 75, 95]))
    return alive.mean(), bands


def main():
    with open(sys.argv[1], "rb") as f:
        plan = tomllib.load(f)
    paths = int(sys.argv[2]) if len(sys.argv) > 2 else plan.get("paths", 10000)
    started = time.perf_counter()
    success, bands = run(plan, paths)
    seconds = time.perf_counter() - started
    print(f'{{"paths": {paths}, "seconds": {seconds:.3f}, "success_probability": {success:.4f}, '
          f'"median_final": {bands[-1][2]:.0f}}}')


if __name__ == "__main__":
    main()
