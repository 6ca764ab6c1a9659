"""Reference fixtures for `simulations::econometrics`, from arch and statsmodels.

Writes JSON under simulations/tests/fixtures/econometrics/:
- garch_a.json, garch_b.json: return series (simulated GARCH(1,1) with normal and Student-t
  shocks, varied parameters, 500-3000 days, plus fat-tailed regime-switching and jump series)
  with the zero-mean GARCH(1,1) fit of each under normal and Student-t errors.
- adf.json: random walks, stationary AR(1), trend-stationary and drifting series (50-3000
  points), each tested under every regression and lag rule, plus the macrodata series.
- coint.json: cointegrated and independent pairs with statsmodels' Engle-Granger test.

arch fits: `arch_model(r * scale, mean="Zero", vol="GARCH", p=1, q=1, dist=...)` where
scale is the power of ten arch's own `rescale=True` would pick, fitted with SLSQP at
options={"ftol": 1e-13, "maxiter": 2000} from arch's starting values and from a grid of
others (for t, with nu from 8 to 499: SLSQP stops short where the likelihood is flat in nu);
the best is restarted from its own optimum until the log-likelihood stops improving. The parameters are then put back on the scale of
the returns given (omega / scale**2) and the log-likelihood and forecasts are those of
`arch_model(r, ...).fix(params)` on the returns given, so the fixture is exactly the model
the issue names.

Run: python3 simulations/reference/econometrics.py (deterministic: fixed seeds).
"""

import json
import warnings
from pathlib import Path

import arch
import numpy as np
import pandas as pd
import scipy
import statsmodels
import statsmodels.api as sm
from arch import arch_model
from statsmodels.tsa.stattools import adfuller, coint

warnings.simplefilter("ignore")

OUT = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "econometrics"
VERSIONS = {
    "arch": arch.__version__,
    "statsmodels": statsmodels.__version__,
    "numpy": np.__version__,
    "scipy": scipy.__version__,
    "pandas": pd.__version__,
}


def rounded(x, digits=10):
    """Values as the fixture stores them (the reference sees exactly these)."""
    return np.array([float(f"{v:.{digits}g}") for v in x])


# ---------------------------------------------------------------- GARCH

def simulate_garch(rng, n, omega, alpha, beta, nu=None, burn=500):
    e = rng.standard_normal(n + burn) if nu is None else rng.standard_t(nu, n + burn) / np.sqrt(nu / (nu - 2))
    s2 = omega / (1 - alpha - beta)
    r = np.empty(n + burn)
    for t in range(n + burn):
        r[t] = np.sqrt(s2) * e[t]
        s2 = omega + alpha * r[t] ** 2 + beta * s2
    return r[burn:]


def fat_tailed(rng, n):
    """Regime-switching volatility with t(3) shocks and occasional jumps."""
    vol = 0.01
    r = np.empty(n)
    high = False
    for t in range(n):
        if rng.random() < (0.02 if not high else 0.05):
            high = not high
        vol = 0.97 * vol + 0.03 * (0.025 if high else 0.008)
        r[t] = vol * rng.standard_t(3) / np.sqrt(3.0)
        if rng.random() < 0.01:
            r[t] += rng.normal(0, 0.04)
    return r


def arch_scale(r):
    """The power of ten arch's `rescale=True` multiplies the data by."""
    orig = scale = float(np.var(r))
    rescale = 1.0
    while not 0.1 <= scale < 10000.0 and scale > 0:
        rescale = rescale * 10 if scale < 1.0 else rescale / 10
        scale = orig * rescale**2
    return rescale


def fit_garch(r, dist):
    c = arch_scale(r)
    model = arch_model(r * c, mean="Zero", vol="GARCH", p=1, q=1, dist=dist, rescale=False)
    opts = {"ftol": 1e-13, "maxiter": 2000}
    fits = [model.fit(disp="off", options=opts)]
    v = float(np.mean((r * c) ** 2))
    nus = [8.0, 30.0, 100.0, 499.0] if dist == "t" else [None]
    for a, p in [(0.05, 0.9), (0.1, 0.8), (0.02, 0.97), (0.2, 0.7), (0.08, 0.9)]:
        for nu in nus:
            sv = [v * (1 - p), a, p - a] + ([nu] if nu is not None else [])
            fits.append(model.fit(disp="off", options=opts, starting_values=np.array(sv)))
    best = max(fits, key=lambda f: f.loglikelihood)
    spread = max(abs(f.loglikelihood - best.loglikelihood) for f in fits)
    # SLSQP stops short along flat directions (nu far out); restart it from its own best
    # point until the log-likelihood stops improving.
    for _ in range(20):
        again = model.fit(disp="off", options=opts, starting_values=np.asarray(best.params))
        if again.loglikelihood <= best.loglikelihood + 1e-10:
            break
        best = again
    params = np.array(best.params, dtype=float)
    params[0] /= c**2
    fixed = arch_model(r, mean="Zero", vol="GARCH", p=1, q=1, dist=dist, rescale=False).fix(params)
    f = np.asarray(fixed.forecast(horizon=252, reindex=False).variance.values[-1], dtype=float)
    out = {
        "omega": params[0],
        "alpha": params[1],
        "beta": params[2],
        "loglik": float(fixed.loglikelihood),
        "converged": bool(best.convergence_flag == 0),
        "arch_scale": c,
        "loglik_spread_over_starts": spread,
        "forecast": {"1": f[0], "5": f[:5].sum(), "20": f[:20].sum(), "252": f.sum()},
    }
    if dist == "t":
        out["nu"] = params[3]
    return out


def garch_fixtures():
    rng = np.random.default_rng(20240701)
    cases = []
    for i in range(36):
        n = int(rng.integers(500, 3001))
        kind = i % 6
        if kind == 5:
            r = fat_tailed(rng, n)
            label = "regime-switching t(3) with jumps"
        else:
            alpha = float(rng.uniform(0.03, 0.2))
            beta = float(rng.uniform(0.6, 0.97 - alpha))
            sd = float(rng.choice([0.005, 0.01, 0.02, 1.0]))
            omega = sd**2 * (1 - alpha - beta)
            nu = None if kind in (0, 2) else float(rng.uniform(3.5, 15))
            r = simulate_garch(rng, n, omega, alpha, beta, nu)
            label = f"GARCH(omega={omega:.3g}, alpha={alpha:.3f}, beta={beta:.3f}, shocks={'normal' if nu is None else f't({nu:.2f})'})"
        r = rounded(r)
        case = {"label": label, "returns": r.tolist()}
        for dist in ("normal", "t"):
            case[dist] = fit_garch(r, dist)
        cases.append(case)
    for part, chunk in (("a", cases[:18]), ("b", cases[18:])):
        write(f"garch_{part}.json", {
            "versions": VERSIONS,
            "model": 'arch_model(r, mean="Zero", vol="GARCH", p=1, q=1, dist=...)',
            "fit": "SLSQP on r*arch_scale, options ftol=1e-13 maxiter=2000, best of arch's and 5 (normal) or 20 (t) other starts, "
                   "restarted from its best point until the log-likelihood stops improving; "
                   "loglik and forecasts from .fix(params) on r; forecast k = sum of the h=1..k variance forecasts",
            "cases": chunk,
        })


# ---------------------------------------------------------------- ADF

def adf_ref(x, regression, autolag, maxlag):
    res = adfuller(x, maxlag=maxlag, regression=regression, autolag=autolag, result_object=True)
    return {
        "regression": regression,
        "autolag": autolag,
        "maxlag": maxlag,
        "stat": res.statistic,
        "pvalue": res.pvalue,
        "usedlag": int(res.lags),
        "nobs": int(res.nobs),
        "critical_values": res.critical_values,
    }


def adf_fixtures():
    rng = np.random.default_rng(7)
    series = []
    for i in range(40):
        n = int(rng.choice([50, 80, 120, 250, 500, 1000, 2520, 3000])) if i >= 8 else [50, 60, 100, 252, 500, 1000, 2520, 3000][i]
        kind = i % 5
        e = rng.standard_normal(n)
        if kind == 0:
            x, label = np.cumsum(e), "random walk"
        elif kind == 1:
            phi = float(rng.uniform(0.3, 0.98))
            x = np.empty(n)
            x[0] = e[0]
            for t in range(1, n):
                x[t] = phi * x[t - 1] + e[t]
            label = f"AR(1) phi={phi:.3f}"
        elif kind == 2:
            x, label = 0.05 * np.arange(n) + np.convolve(e, [1, 0.6, 0.3])[:n], "trend-stationary MA(2)"
        elif kind == 3:
            x, label = np.cumsum(0.1 + e + 0.5 * np.r_[0, e[:-1]]), "random walk with drift, MA(1) increments"
        else:
            x, label = 100 * np.exp(np.cumsum(0.0003 + 0.01 * e)), "price level"
        x = rounded(x)
        tests = []
        for reg in ("c", "ct", "n"):
            for autolag in ("aic", "bic", "t-stat", None):
                tests.append(adf_ref(x, reg, autolag, None))
            ml = int(rng.integers(0, min(12, n // 2 - 3)))
            tests.append(adf_ref(x, reg, None, ml))
            tests.append(adf_ref(x, reg, "aic", ml + 2))
        series.append({"label": label, "series": x.tolist(), "tests": tests})

    data = sm.datasets.macrodata.load_pandas().data
    macro = []
    for name in ("infl", "realgdp"):
        x = data[name].values.astype(float)
        tests = [adf_ref(x, reg, al, ml) for reg in ("c", "ct", "n")
                 for al, ml in ((None, 1), (None, 4), ("aic", None), ("bic", None), ("t-stat", None))]
        macro.append({"label": f"macrodata {name}", "series": x.tolist(), "tests": tests})
    published = [
        # statsmodels' test_stattools (values from Stata): adfuller(infl, maxlag=1, autolag=None)
        {"series": "infl", "regression": "c", "maxlag": 1, "stat": -4.3346988, "pvalue": 0.00038661,
         "critical_values": [-3.476, -2.883, -2.573]},
        {"series": "infl", "regression": "ct", "maxlag": 1, "stat": -4.425093, "pvalue": 0.00199633,
         "critical_values": [-4.006, -3.437, -3.137]},
        {"series": "infl", "regression": "n", "maxlag": 1, "stat": -2.4511596, "pvalue": 0.013747,
         "critical_values": [-2.587, -1.950, -1.617]},
        # adfuller(realgdp, maxlag=4, autolag=None)
        {"series": "realgdp", "regression": "c", "maxlag": 4, "stat": 0.97505319, "pvalue": 0.99399563,
         "critical_values": [-3.476, -2.883, -2.573]},
        {"series": "realgdp", "regression": "ct", "maxlag": 4, "stat": -1.8566374, "pvalue": 0.67682968,
         "critical_values": [-4.007, -3.437, -3.137]},
        {"series": "realgdp", "regression": "n", "maxlag": 4, "stat": 3.5227498, "pvalue": 0.99999,
         "critical_values": [-2.587, -1.950, -1.617]},
    ]
    write("adf.json", {"versions": VERSIONS, "series": series, "macrodata": macro, "published": published})


# ---------------------------------------------------------------- cointegration

def coint_fixtures():
    rng = np.random.default_rng(11)
    pairs = []
    for i in range(30):
        n = int(rng.choice([100, 250, 500, 1000, 2000]))
        x = 50 + np.cumsum(rng.standard_normal(n))
        if i % 3 == 2:
            y = 20 + np.cumsum(rng.standard_normal(n))
            label = "independent random walks"
        else:
            phi = float(rng.uniform(0.5, 0.97))
            u = np.empty(n)
            u[0] = 0.0
            for t in range(1, n):
                u[t] = phi * u[t - 1] + rng.standard_normal()
            b = float(rng.uniform(0.5, 2.0))
            y = 3 + b * x + u
            label = f"cointegrated, beta={b:.3f}, spread AR(1) phi={phi:.3f}"
        x, y = rounded(x), rounded(y)
        stat, pvalue, crit = coint(y, x)
        X = np.column_stack([x, np.ones(n)])
        beta = np.linalg.lstsq(X, y, rcond=None)[0]
        s = y - X @ beta
        ds = np.diff(s)
        b = np.linalg.lstsq(np.column_stack([np.ones(n - 1), s[:-1]]), ds, rcond=None)[0][1]
        half_life = float(-np.log(2) / np.log1p(b)) if -1 < b < 0 else None
        pairs.append({
            "label": label, "y": y.tolist(), "x": x.tolist(),
            "stat": float(stat), "pvalue": float(pvalue), "hedge_ratio": float(beta[0]),
            "intercept": float(beta[1]), "half_life": half_life,
            "critical_values": [float(v) for v in crit],
        })
    write("coint.json", {"versions": VERSIONS, "call": "coint(y, x) (trend='c', autolag='aic')",
                         "half_life": "-ln 2 / ln(1 + b), b from OLS of diff(s) on [1, s[:-1]], s the OLS residual",
                         "pairs": pairs})


def write(name, obj):
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / name).write_text(json.dumps(obj, separators=(",", ":")) + "\n")
    print(name, (OUT / name).stat().st_size)


if __name__ == "__main__":
    import sys

    parts = sys.argv[1:] or ["adf", "coint", "garch"]
    for part in parts:
        {"adf": adf_fixtures, "coint": coint_fixtures, "garch": garch_fixtures}[part]()
