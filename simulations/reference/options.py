"""Reference fixtures for simulations::options, from QuantLib (and mpmath at 40 digits).

Writes simulations/tests/fixtures/options/{bsm,implied_vol,american}.json. Deterministic
(seeded). Run from the repository root: python3 simulations/reference/options.py

Every case uses flat curves and Actual365Fixed with the expiry a whole number of days after
the evaluation date, so QuantLib's year fraction is exactly days / 365, as in the Rust tests.
"""
import json
import math
import os
import sys

import mpmath as mp
import numpy as np
import QuantLib as ql

mp.mp.dps = 40
OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "options")
TODAY = ql.Date(15, 6, 2024)
ql.Settings.instance().evaluationDate = TODAY
DC = ql.Actual365Fixed()


def process(spot, rate, dividend, vol):
    return ql.BlackScholesMertonProcess(
        ql.QuoteHandle(ql.SimpleQuote(spot)),
        ql.YieldTermStructureHandle(ql.FlatForward(TODAY, dividend, DC)),
        ql.YieldTermStructureHandle(ql.FlatForward(TODAY, rate, DC)),
        ql.BlackVolTermStructureHandle(ql.BlackConstantVol(TODAY, ql.NullCalendar(), vol, DC)),
    )


def option(kind, strike, days, american=False):
    payoff = ql.PlainVanillaPayoff(ql.Option.Call if kind == "call" else ql.Option.Put, strike)
    exercise = ql.AmericanExercise(TODAY, TODAY + days) if american else ql.EuropeanExercise(TODAY + days)
    return ql.VanillaOption(payoff, exercise)


def mp_price(kind, s, k, r, q, t, v):
    st = mp.sqrt(t)
    d1 = (mp.log(s / k) + (r - q) * t) / (v * st) + v * st / 2
    sign = 1 if kind == "call" else -1
    return sign * (s * mp.exp(-q * t) * mp.ncdf(sign * d1) - k * mp.exp(-r * t) * mp.ncdf(sign * (d1 - v * st)))


def mp_bsm(kind, s, k, r, q, v, t):
    """Exact (40-digit) Black-Scholes-Merton price and Greeks of the given float inputs."""
    s, k, r, q, v, t = (mp.mpf(x) for x in (s, k, r, q, v, t))
    st = mp.sqrt(t)
    d1 = (mp.log(s / k) + (r - q) * t) / (v * st) + v * st / 2
    d2 = d1 - v * st
    dq, dr = mp.exp(-q * t), mp.exp(-r * t)
    n1 = mp.npdf(d1)
    sign = 1 if kind == "call" else -1
    nd1, nd2 = mp.ncdf(sign * d1), mp.ncdf(sign * d2)
    price = sign * (s * dq * nd1 - k * dr * nd2)
    delta = sign * dq * nd1
    gamma = dq * n1 / (s * v * st)
    vega = s * dq * n1 * st
    theta = -s * dq * n1 * v / (2 * st) - sign * r * k * dr * nd2 + sign * q * s * dq * nd1
    rho = sign * t * k * dr * nd2
    return {n: float(x) for n, x in zip(("price", "delta", "gamma", "vega", "theta", "rho"), (price, delta, gamma, vega, theta, rho))}


def mp_bs1993_call(s, x, r, q, v, t):
    """QuantLib's Bjerksund-Stensland (1993) call, its branches included, in mpmath."""
    var = v * v * t
    rfd, dd = mp.exp(-r * t), mp.exp(-q * t)
    bt, rt = mp.log(dd / rfd), mp.log(1 / rfd)
    sd = mp.sqrt(var)
    d1 = (mp.log(s / x) + bt) / sd + sd / 2
    european = s * dd * mp.ncdf(d1) - x * rfd * mp.ncdf(d1 - sd)
    immediate = max(s - x, 0)
    price = european
    if not (dd >= 1 and dd >= rfd):
        beta = (mp.mpf(0.5) - bt / var) + mp.sqrt((bt / var - mp.mpf(0.5)) ** 2 + 2 * rt / var)
        b_inf = beta / (beta - 1) * x
        b0 = x if q == 0 else max(x, rt / (rt - bt) * x)
        ht = -(bt + 2 * sd) * b0 / (b_inf - b0)
        i = b0 + (b_inf - b0) * (1 - mp.exp(ht))
        fwd = s * dd / rfd

        def phi(gamma, h):
            lam = -rt + gamma * bt + gamma * (gamma - 1) * var / 2
            d = -(mp.log(s / h) + (bt + (gamma - mp.mpf(0.5)) * var)) / sd
            kappa = 2 * bt / var + (2 * gamma - 1)
            return mp.exp(lam) * (mp.ncdf(d) - (i / s) ** kappa * mp.ncdf(d - 2 * mp.log(i / s) / sd))

        if s >= i:
            price = immediate
        elif mp.log(i / fwd) / sd <= 12.5:
            price = ((i - x) * (s / i) ** beta * (1 - phi(beta, i)) + s * phi(1, i) - s * phi(1, x)
                     - x * phi(0, i) + x * phi(0, x))
        if price < european:
            price = european
    if price < (s - x) * (1 + 10 * mp.mpf(2) ** -52):
        price = immediate
    return price


def mp_american(kind, s, k, r, q, v, t):
    """Price and Greeks (by 40-digit numerical differentiation) of the same approximation."""
    s, k, r, q, v, t = (mp.mpf(x) for x in (s, k, r, q, v, t))

    def price(s_, r_, q_, v_, t_):
        if kind == "call":
            return mp_bs1993_call(s_, k, r_, q_, v_, t_)
        return mp_bs1993_call(k, s_, q_, r_, v_, t_)

    h = mp.mpf(10) ** -15
    hs = s * mp.mpf(10) ** -10  # a second difference needs a wider step at 40 digits
    d = lambda f, x: (f(x + h) - f(x - h)) / (2 * h)
    out = {
        "price": price(s, r, q, v, t),
        "delta": d(lambda x: price(x, r, q, v, t), s),
        "gamma": (price(s + hs, r, q, v, t) - 2 * price(s, r, q, v, t) + price(s - hs, r, q, v, t)) / hs**2,
        "vega": d(lambda x: price(s, r, q, x, t), v),
        "theta": -d(lambda x: price(s, r, q, v, x), t),
        "rho": d(lambda x: price(s, x, q, v, t), r),
        "dividend_rho": d(lambda x: price(s, r, x, v, t), q),
    }
    return {n: float(x) for n, x in out.items()}


def random_case(rng, extreme=True):
    kind = "call" if rng.random() < 0.5 else "put"
    spot = float(np.round(100 * math.exp(rng.uniform(-2, 2)), 4))
    # Expiry: 1 day to 30 years, log-uniform.
    days = int(round(math.exp(rng.uniform(0, math.log(30 * 365)))))
    t = days / 365
    vol = float(np.round(math.exp(rng.uniform(math.log(0.01), math.log(3 if extreme else 1.5))), 6))
    rate = float(np.round(rng.uniform(-0.03, 0.12), 6))
    dividend = float(np.round(rng.uniform(-0.01, 0.08), 6))
    # Moneyness in standard deviations: deep in and out of the money included.
    z = rng.uniform(-8, 8) if extreme else rng.uniform(-3, 3)
    fwd = spot * math.exp((rate - dividend) * t)
    strike = float(np.round(fwd * math.exp(-z * vol * math.sqrt(t)), 6))
    strike = max(strike, 1e-4)
    return dict(kind=kind, spot=spot, strike=strike, rate=rate, dividend=dividend, volatility=vol, days=days)


def versions():
    return {"QuantLib": ql.__version__, "mpmath": mp.__version__, "numpy": np.__version__, "python": sys.version.split()[0]}


def bsm_fixture(rng, n=800):
    cases = []
    for i in range(n):
        c = random_case(rng, extreme=i % 4 != 0)
        opt = option(c["kind"], c["strike"], c["days"])
        opt.setPricingEngine(ql.AnalyticEuropeanEngine(process(c["spot"], c["rate"], c["dividend"], c["volatility"])))
        c["quantlib"] = {
            "price": opt.NPV(), "delta": opt.delta(), "gamma": opt.gamma(),
            "vega": opt.vega(), "theta": opt.theta(), "rho": opt.rho(),
        }
        c["exact"] = mp_bsm(c["kind"], c["spot"], c["strike"], c["rate"], c["dividend"], c["volatility"], c["days"] / 365)
        cases.append(c)
    return {"versions": versions(), "engine": "AnalyticEuropeanEngine", "cases": cases}


def implied_vol_fixture(rng, n=400):
    cases = []
    while len(cases) < n:
        c = random_case(rng, extreme=False)
        proc = process(c["spot"], c["rate"], c["dividend"], c["volatility"])
        opt = option(c["kind"], c["strike"], c["days"])
        opt.setPricingEngine(ql.AnalyticEuropeanEngine(proc))
        price, vega = opt.NPV(), opt.vega()
        if not (price > 1e-8 and vega > 1e-6):
            continue
        try:
            iv = opt.impliedVolatility(price, proc, 1e-12, 500, 1e-7, 5.0)
        except RuntimeError:
            continue
        # The volatility that reproduces QuantLib's price exactly (its price carries its own
        # rounding, up to about 1e-11 relative deep in the tails).
        args = [mp.mpf(x) for x in (c["spot"], c["strike"], c["rate"], c["dividend"], c["days"] / 365)]
        exact = mp.findroot(lambda v: mp_price(c["kind"], *args, v) - mp.mpf(price), mp.mpf(iv))
        c.update(price=price, quantlib_volatility=iv, quantlib_vega=vega, quantlib_accuracy=1e-12,
                 exact_volatility=float(exact))
        cases.append(c)
    return {"versions": versions(), "method": "VanillaOption.impliedVolatility(accuracy=1e-12 on price)", "cases": cases}


def american_fixture(rng, n=600):
    cases = []
    while len(cases) < n:
        c = random_case(rng, extreme=False)
        opt = option(c["kind"], c["strike"], c["days"], american=True)
        opt.setPricingEngine(ql.BjerksundStenslandApproximationEngine(process(c["spot"], c["rate"], c["dividend"], c["volatility"])))
        try:
            c["quantlib"] = {
                "price": opt.NPV(), "delta": opt.delta(), "gamma": opt.gamma(), "vega": opt.vega(),
                "theta": opt.theta(), "rho": opt.rho(), "dividend_rho": opt.dividendRho(),
            }
        except RuntimeError:
            continue
        # A converged tree, for the 2002 approximation (QuantLib has no engine for it).
        tree = option(c["kind"], c["strike"], c["days"], american=True)
        tree.setPricingEngine(ql.BinomialVanillaEngine(process(c["spot"], c["rate"], c["dividend"], c["volatility"]), "lr", 2001))
        c["tree_lr_2001"] = tree.NPV()
        c["exact"] = mp_american(c["kind"], c["spot"], c["strike"], c["rate"], c["dividend"], c["volatility"], c["days"] / 365)
        cases.append(c)
    return {"versions": versions(), "engine": "BjerksundStenslandApproximationEngine (1993 flat boundary)", "cases": cases}


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, build, seed in (("bsm", bsm_fixture, 7001), ("implied_vol", implied_vol_fixture, 7002), ("american", american_fixture, 7003)):
        data = build(np.random.default_rng(seed))
        with open(os.path.join(OUT, f"{name}.json"), "w") as f:
            json.dump(data, f, indent=None, separators=(",", ":"))
            f.write("\n")
        print(name, len(data["cases"]))


if __name__ == "__main__":
    main()
