"""Reference fixtures for simulations::optimize, from PyPortfolioOpt, Riskfolio-Lib and cvxpy.

Data: the last 165 days (2022-11-04 .. 2023-07-05) of PyPortfolioOpt's own test data,
tests/resources/stock_prices.csv (robertmartin8/PyPortfolioOpt), committed as
simulations/tests/fixtures/portfolio/stock_prices.csv; SHLD has no prices in that window and is
dropped, leaving 19 assets. HRP and min-CVaR are also checked on seeded random return sets.

Every cvxpy problem is solved with CLARABEL at tight tolerances so that differences are the
methods, not loose solves. Writes simulations/tests/fixtures/portfolio/{estimators,
optimizers,hrp}.json. Run: python3 simulations/reference/portfolio.py
"""

import json
import os
import warnings

import cvxpy as cp
import numpy as np
import pandas as pd
import pypfopt
import riskfolio
import scipy
import sklearn
from pypfopt import (BlackLittermanModel, EfficientCVaR, EfficientFrontier, HRPOpt, expected_returns,
                     risk_models)

warnings.filterwarnings("ignore")
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "fixtures", "portfolio")
TIGHT = dict(tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12, max_iter=500)
VERSIONS = {
    "pypfopt": pypfopt.__version__ if hasattr(pypfopt, "__version__") else "1.6",
    "riskfolio": riskfolio.__version__, "cvxpy": cp.__version__, "numpy": np.__version__,
    "pandas": pd.__version__, "scipy": scipy.__version__, "sklearn": sklearn.__version__,
}

prices = pd.read_csv(os.path.join(OUT, "stock_prices.csv"), parse_dates=True, index_col="date")
prices = prices.drop(columns=["SHLD"])
TICKERS = list(prices.columns)
N = len(TICKERS)
RETURNS = expected_returns.returns_from_prices(prices)
MU = expected_returns.mean_historical_return(prices)
S = risk_models.sample_cov(prices)

SECTORS = {
    "tech": ["GOOG", "AAPL", "META", "AMZN", "AMD", "MA"],
    "financials": ["BAC", "JPM"],
    "energy": ["XOM", "RRC"],
    "consumer": ["WMT", "BBY", "SBUX", "UAA", "BABA", "GM"],
}


def ef(mu, cov, bounds=(0, 1)):
    return EfficientFrontier(mu, cov, weight_bounds=bounds, solver="CLARABEL", solver_options=TIGHT)


def weights_list(w):
    return [float(w[t]) for t in TICKERS]


def constraint_sets():
    """(name, request fields, function that adds the same constraints to an EfficientFrontier)."""
    cur = {t: 1.0 / N for t in TICKERS}
    sets = [
        ("long_only", {}, None, (0, 1)),
        ("bounds", {"bounds": [0.02, 0.15]}, None, (0.02, 0.15)),
        ("shorting", {"bounds": [-0.3, 0.6]}, None, (-0.3, 0.6)),
        ("groups", {"groups": [{"assets": SECTORS["tech"], "max": 0.3},
                               {"assets": SECTORS["energy"], "min": 0.1, "max": 0.25},
                               {"assets": SECTORS["financials"], "min": 0.05}]}, "groups", (0, 1)),
        ("turnover", {"current_weights": cur, "max_turnover": 0.4}, "turnover", (0, 1)),
        ("all", {"bounds": [0.0, 0.2],
                 "groups": [{"assets": SECTORS["tech"], "max": 0.35}, {"assets": SECTORS["energy"], "min": 0.05}],
                 "current_weights": cur, "max_turnover": 0.8}, "all", (0, 0.2)),
    ]
    return sets


def apply(e, kind):
    def sector(members, lo=None, hi=None):
        idx = [TICKERS.index(t) for t in members]
        if hi is not None:
            e.add_constraint(lambda w, idx=idx, hi=hi: cp.sum(w[idx]) <= hi)
        if lo is not None:
            e.add_constraint(lambda w, idx=idx, lo=lo: cp.sum(w[idx]) >= lo)
    w0 = np.full(N, 1.0 / N)
    if kind == "groups":
        sector(SECTORS["tech"], hi=0.3)
        sector(SECTORS["energy"], lo=0.1, hi=0.25)
        sector(SECTORS["financials"], lo=0.05)
    if kind == "turnover":
        e.add_constraint(lambda w: cp.norm(w - w0, 1) <= 0.4)
    if kind == "all":
        sector(SECTORS["tech"], hi=0.35)
        sector(SECTORS["energy"], lo=0.05)
        e.add_constraint(lambda w: cp.norm(w - w0, 1) <= 0.8)


def max_sharpe_cvxpy(mu, cov, rf, kind, bounds):
    """Cornuejols-Tütüncü with every constraint homogenised, turnover included
    (‖y − k·w0‖₁ ≤ τk; PyPortfolioOpt's own rewrite leaves w0 unscaled)."""
    y, k = cp.Variable(N), cp.Variable()
    lo, hi = bounds
    cons = [(np.asarray(mu) - rf) @ y == 1, cp.sum(y) == k, k >= 0, y >= lo * k, y <= hi * k]
    w0 = np.full(N, 1.0 / N)
    idx = lambda names: [TICKERS.index(t) for t in names]
    if kind == "groups":
        cons += [cp.sum(y[idx(SECTORS["tech"])]) <= 0.3 * k, cp.sum(y[idx(SECTORS["energy"])]) >= 0.1 * k,
                 cp.sum(y[idx(SECTORS["energy"])]) <= 0.25 * k, cp.sum(y[idx(SECTORS["financials"])]) >= 0.05 * k]
    if kind == "turnover":
        cons += [cp.norm(y - k * w0, 1) <= 0.4 * k]
    if kind == "all":
        cons += [cp.sum(y[idx(SECTORS["tech"])]) <= 0.35 * k, cp.sum(y[idx(SECTORS["energy"])]) >= 0.05 * k,
                 cp.norm(y - k * w0, 1) <= 0.8 * k]
    cp.Problem(cp.Minimize(cp.quad_form(y, np.asarray(cov), assume_PSD=True)), cons).solve(solver="CLARABEL", **TIGHT)
    return list(y.value / k.value)


def risk_parity_cvxpy(cov, kind, bounds):
    """min ½xᵀΣx − Σ (1/n) ln xᵢ with the constraints homogenised in 1ᵀx, then normalised."""
    x = cp.Variable(N)
    c = np.asarray(cov) / np.trace(np.asarray(cov)) * N * N
    s = cp.sum(x)
    lo, hi = bounds
    cons = [x >= lo * s, x <= hi * s]
    idx = lambda names: [TICKERS.index(t) for t in names]
    w0 = np.full(N, 1.0 / N)
    if kind == "groups":
        cons += [cp.sum(x[idx(SECTORS["tech"])]) <= 0.3 * s, cp.sum(x[idx(SECTORS["energy"])]) >= 0.1 * s,
                 cp.sum(x[idx(SECTORS["energy"])]) <= 0.25 * s, cp.sum(x[idx(SECTORS["financials"])]) >= 0.05 * s]
    if kind == "turnover":
        cons += [cp.norm(x - s * w0, 1) <= 0.4 * s]
    if kind == "all":
        cons += [cp.sum(x[idx(SECTORS["tech"])]) <= 0.35 * s, cp.sum(x[idx(SECTORS["energy"])]) >= 0.05 * s,
                 cp.norm(x - s * w0, 1) <= 0.8 * s]
    obj = 0.5 * cp.quad_form(x, c, assume_PSD=True) - cp.sum(cp.log(x)) / N
    cp.Problem(cp.Minimize(obj), cons).solve(solver="CLARABEL", **TIGHT)
    return list(x.value / x.value.sum())


def estimators():
    lw = risk_models.CovarianceShrinkage(prices)
    lw_cov = lw.ledoit_wolf()
    return {
        "versions": VERSIONS,
        "assets": TICKERS,
        "mean_historical_return": list(MU[TICKERS]),
        "sample_cov": S.loc[TICKERS, TICKERS].values.tolist(),
        "ledoit_wolf": lw_cov.loc[TICKERS, TICKERS].values.tolist(),
        "ledoit_wolf_shrinkage": float(lw.delta),
        "ewma": risk_models.exp_cov(prices, span=180).loc[TICKERS, TICKERS].values.tolist(),
        "ewma_span_60": risk_models.exp_cov(prices, span=60).loc[TICKERS, TICKERS].values.tolist(),
    }


def optimizer_cases():
    cases = []

    def add(name, request, weights, source, **extra):
        cases.append({"name": name, "request": request, "weights": [float(v) for v in weights],
                      "source": source, **extra})

    base = {"assets": TICKERS, "data": "stock_prices"}
    for est_name, cov in [("sample", S), ("ledoit_wolf", risk_models.CovarianceShrinkage(prices).ledoit_wolf()),
                          ("ewma", risk_models.exp_cov(prices))]:
        est = {} if est_name == "sample" else {"covariance_estimator": est_name}
        kinds = constraint_sets() if est_name == "sample" else constraint_sets()[:2]
        for cname, fields, kind, bounds in kinds:
            req = {**base, **est, **fields}
            e = ef(MU, cov, bounds); apply(e, kind); e.min_volatility()
            add(f"min_variance/{est_name}/{cname}", {**req, "method": "min_variance"}, weights_list(e.clean_weights(rounding=None)), "pypfopt")
            add(f"max_sharpe/{est_name}/{cname}", {**req, "method": "max_sharpe", "risk_free_rate": 0.02},
                max_sharpe_cvxpy(MU, cov, 0.02, kind, bounds), "cvxpy (PyPortfolioOpt's max_sharpe transformation)")
            if kind is None:
                e = ef(MU, cov, bounds); e.max_sharpe(risk_free_rate=0.02)
                add(f"max_sharpe_pypfopt/{est_name}/{cname}", {**req, "method": "max_sharpe", "risk_free_rate": 0.02},
                    weights_list(e.clean_weights(rounding=None)), "pypfopt")
            for target in [0.15, 0.30]:
                e = ef(MU, cov, bounds); apply(e, kind)
                try:
                    e.efficient_return(target)
                except Exception:
                    continue
                add(f"efficient_return/{est_name}/{cname}/{target}", {**req, "method": "efficient_return", "target_return": target},
                    weights_list(e.clean_weights(rounding=None)), "pypfopt")
            for target in [0.20, 0.28]:
                e = ef(MU, cov, bounds); apply(e, kind)
                try:
                    e.efficient_risk(target)
                except Exception:
                    continue
                add(f"efficient_risk/{est_name}/{cname}/{target}", {**req, "method": "efficient_risk", "target_risk": target},
                    weights_list(e.clean_weights(rounding=None)), "pypfopt")
            if est_name == "sample":
                sd = pd.Series(np.sqrt(np.diag(cov)), index=TICKERS)
                add(f"max_diversification/{cname}", {**req, "method": "max_diversification"},
                    max_sharpe_cvxpy(sd, cov, 0.0, kind, bounds), "cvxpy (max Sharpe with volatilities as returns)")
                if bounds[0] >= 0:
                    add(f"risk_parity/{cname}", {**req, "method": "risk_parity"}, risk_parity_cvxpy(cov, kind, bounds),
                        "cvxpy (Riskfolio-Lib's log-barrier formulation)")

    # Riskfolio-Lib's own risk parity and min CVaR on the same data.
    port = riskfolio.Portfolio(returns=RETURNS)
    port.assets_stats(method_mu="hist", method_cov="hist")
    port.solvers = ["CLARABEL"]
    w = port.rp_optimization(model="Classic", rm="MV", rf=0, b=None, hist=True)
    add("risk_parity/riskfolio", {**base, "method": "risk_parity"}, list(w["weights"][TICKERS]), "riskfolio")
    port.alpha = 0.05
    w_rf = port.optimization(model="Classic", rm="CVaR", obj="MinRisk", rf=0, l=0, hist=True)
    ec = EfficientCVaR(MU, RETURNS, beta=0.95, solver="CLARABEL", solver_options=TIGHT)
    ec.min_cvar()
    w_pp = weights_list(ec.clean_weights(rounding=None))
    add("min_cvar/pypfopt", {**base, "method": "min_cvar"}, w_pp, "pypfopt",
        cvar=float(ec.portfolio_performance()[1]), riskfolio_weights=list(w_rf["weights"][TICKERS]),
        unique=cvar_unique(RETURNS.values, 0.95, (0, 1)))
    ec = EfficientCVaR(MU, RETURNS, beta=0.9, weight_bounds=(0.0, 0.15), solver="CLARABEL", solver_options=TIGHT)
    ec.min_cvar()
    add("min_cvar/bounds", {**base, "method": "min_cvar", "beta": 0.9, "bounds": [0.0, 0.15]},
        weights_list(ec.clean_weights(rounding=None)), "pypfopt", cvar=float(ec.portfolio_performance()[1]),
        unique=cvar_unique(RETURNS.values, 0.9, (0, 0.15)))

    # Black-Litterman: made-up market caps (billions), absolute and relative views.
    mcaps = {t: float(c) for t, c in zip(TICKERS, np.linspace(50, 2500, N)[::-1])}
    P = np.zeros((3, N)); P[0, TICKERS.index("AAPL")] = 1
    P[1, TICKERS.index("XOM")] = 1; P[1, TICKERS.index("JPM")] = -1
    P[2, TICKERS.index("GOOG")] = 0.5; P[2, TICKERS.index("META")] = 0.5; P[2, TICKERS.index("AMZN")] = -1
    Q = np.array([0.20, 0.05, 0.02]); conf = [0.6, 0.3, 0.8]
    views = [{"weights": {t: float(P[k, i]) for i, t in enumerate(TICKERS) if P[k, i] != 0}, "return": float(Q[k]),
              "confidence": conf[k]} for k in range(3)]
    for delta, opt in [(2.5, "max_sharpe"), (1.0, "min_variance"), (3.0, "efficient_risk")]:
        bl = BlackLittermanModel(S, pi="market", market_caps=mcaps, risk_aversion=delta, Q=Q, P=P,
                                 omega="idzorek", view_confidences=conf, risk_free_rate=0.02)
        post, post_cov = bl.bl_returns(), bl.bl_cov()
        e = ef(post, post_cov)
        req = {**base, "method": "black_litterman", "market_caps": mcaps, "risk_aversion": delta, "views": views,
               "risk_free_rate": 0.02, "optimizer": opt}
        if opt == "max_sharpe":
            e.max_sharpe(risk_free_rate=0.02)
        elif opt == "min_variance":
            e.min_volatility()
        else:
            e.efficient_risk(0.25); req["target_risk"] = 0.25
        add(f"black_litterman/{opt}", req, weights_list(e.clean_weights(rounding=None)), "pypfopt",
            posterior_returns=list(post[TICKERS]))
    # A view without a confidence: He-Litterman's default omega.
    bl = BlackLittermanModel(S, pi="market", market_caps=mcaps, risk_aversion=2.0, absolute_views={"MA": 0.1})
    post = bl.bl_returns()
    e = ef(post, bl.bl_cov()); e.max_sharpe()
    add("black_litterman/default_omega", {**base, "method": "black_litterman", "market_caps": mcaps, "risk_aversion": 2.0,
        "views": [{"weights": {"MA": 1.0}, "return": 0.1}]}, weights_list(e.clean_weights(rounding=None)), "pypfopt",
        posterior_returns=list(post[TICKERS]))
    return cases


def cvar_unique(r, beta, bounds):
    """Whether the min-CVaR weights are unique: the range of each weight over the optimal face."""
    T, n = r.shape
    w, a, u = cp.Variable(n), cp.Variable(), cp.Variable(T)
    obj = a + cp.sum(u) / (T * (1 - beta))
    cons = [u >= 0, r @ w + a + u >= 0, cp.sum(w) == 1, w >= bounds[0], w <= bounds[1]]
    best = cp.Problem(cp.Minimize(obj), cons).solve(solver="CLARABEL", **TIGHT)
    spread = 0.0
    for i in range(n):
        lo = cp.Problem(cp.Minimize(w[i]), cons + [obj <= best + 1e-10]).solve(solver="CLARABEL", **TIGHT)
        hi = cp.Problem(cp.Maximize(w[i]), cons + [obj <= best + 1e-10]).solve(solver="CLARABEL", **TIGHT)
        spread = max(spread, hi - lo)
    return bool(spread < 1e-5)


def hrp_cases():
    rng = np.random.default_rng(20240607)
    cases = []
    hw = HRPOpt(RETURNS).optimize()
    cases.append({"name": "stock_prices", "assets": TICKERS, "returns": RETURNS.values.tolist(),
                  "weights": [hw[t] for t in TICKERS]})
    hw = HRPOpt(cov_matrix=S).optimize()
    cases.append({"name": "stock_prices/covariance", "assets": TICKERS, "covariance": S.values.tolist(),
                  "weights": [hw[t] for t in TICKERS]})
    for k in range(40):
        n = int(rng.integers(3, 25))
        t = int(rng.integers(60, 160))
        f = rng.normal(size=(t, 3)) @ rng.normal(scale=0.5, size=(3, n))
        x = (f + rng.normal(size=(t, n))) * rng.uniform(0.005, 0.03, size=n)
        x = np.round(x, 6)
        names = [f"A{i:02d}" for i in range(n)]
        hw = HRPOpt(pd.DataFrame(x, columns=names)).optimize()
        cases.append({"name": f"random/{k}", "assets": names, "returns": x.tolist(), "weights": [hw[a] for a in names]})
    return {"versions": VERSIONS, "cases": cases}


def main():
    with open(os.path.join(OUT, "estimators.json"), "w") as f:
        json.dump(estimators(), f)
    with open(os.path.join(OUT, "optimizers.json"), "w") as f:
        json.dump({"versions": VERSIONS, "data": {"stock_prices": prices.values.tolist()}, "cases": optimizer_cases()}, f)
    with open(os.path.join(OUT, "hrp.json"), "w") as f:
        json.dump(hrp_cases(), f)


if __name__ == "__main__":
    main()
