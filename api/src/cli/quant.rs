//! `cairn quant …`: calculators for analysts, over JSON lines. Each reads one request per
//! line from stdin (or `--input FILE`) and writes one JSON result per line to stdout, in the
//! same order; a line that cannot be read or computed gets `{"line": N, "error": "..."}`
//! (N counts from 1) and the run goes on. Blank lines are skipped. Lines are computed in
//! parallel, in blocks, and written in order.

use std::fmt::Display;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use rayon::prelude::*;
use serde::de::DeserializeOwned;
use serde::Serialize;
use simulations::econometrics::{adf, coint, garch, signals};
use simulations::{
    alm, alternatives, bonds, curve, esg, execution, glide, ldi, liabilities, optimize, options, overlays, risk_budget,
    stress,
};

#[derive(Debug, Subcommand)]
pub(crate) enum QuantCmd {
    /// Black-Scholes-Merton price and Greeks of European options (continuous dividend yield).
    ///
    /// Request: {"kind": "call"|"put", "spot", "strike", "rate", "dividend", "volatility",
    /// "expiry"}: rate and dividend continuously compounded per year (0.05 is 5%; "dividend"
    /// may be left out: 0), volatility per year (0.2 is 20%), expiry in years. Every other
    /// field is required.
    ///
    /// Result: {"price", "delta", "gamma", "vega", "theta", "rho"}: Greeks per unit change;
    /// vega per 1.00 of volatility, theta per year of calendar time (the price's change as
    /// time passes, usually negative), rho per 1.00 of the rate.
    ///
    /// Example: examples/quant/black-scholes.jsonl.
    #[command(verbatim_doc_comment)]
    BlackScholes(LinesArgs),
    /// Implied volatility of European options (Jäckel's "Let's Be Rational", to about 1e-15).
    ///
    /// Request: {"kind": "call"|"put", "spot", "strike", "rate", "dividend", "expiry",
    /// "price"}: the black-scholes fields without "volatility", plus the option's price (its
    /// present value). Rate and dividend continuously compounded per year ("dividend" may be
    /// left out: 0), expiry in years.
    ///
    /// Result: {"volatility"}: per year (0.2 is 20%).
    ///
    /// A price at or below the intrinsic value of the discounted forward (for a call
    /// max(spot·e^(-dividend·expiry) - strike·e^(-rate·expiry), 0)) or at or above the upper
    /// bound (spot·e^(-dividend·expiry) for a call, strike·e^(-rate·expiry) for a put) has no
    /// volatility: the line gets an error naming "price" (also within 4 units of double
    /// rounding, 4·2.2e-16 of the larger discounted spot or strike, above the intrinsic value).
    ///
    /// Example: examples/quant/implied-vol.jsonl.
    #[command(verbatim_doc_comment)]
    ImpliedVol(LinesArgs),
    /// American options by the Bjerksund-Stensland approximations.
    ///
    /// Request: the black-scholes request, {"kind", "spot", "strike", "rate", "dividend" (0
    /// when left out), "volatility", "expiry"}, plus an optional "method": "bs1993" (the
    /// default: the flat exercise boundary of 1993, the method of QuantLib's
    /// BjerksundStenslandApproximationEngine, which it matches to 1e-10) or "bs2002" (the
    /// two-step boundary of 2002, usually closer to the true price; not in QuantLib). A put is
    /// priced as the call with spot and strike, rate and dividend swapped; where early
    /// exercise never pays (a call with dividend <= 0, a put with rate <= 0) the price is the
    /// European one. bs1993 refuses a call with rate < dividend < 0 (and a put with dividend
    /// < rate < 0), where the exercise region has two boundaries.
    ///
    /// Result: {"price", "delta", "gamma", "vega", "theta", "rho", "dividend_rho",
    /// "exercise_boundary"}, in the black-scholes units: vega per 1.00 of volatility, theta
    /// per year of calendar time, rho and dividend_rho per 1.00 of the rate and of the
    /// dividend yield. For bs1993 the Greeks are the exact derivatives of the approximate
    /// price (as QuantLib's engine returns them); for bs2002 they are central finite
    /// differences of its price (spot ±0.01%, gamma from spot ±0.1%, volatility, rate and
    /// dividend ±1e-5, expiry ±0.01%). exercise_boundary is the spot at which the
    /// approximation exercises at once (at or above it for a call, at or below it for a
    /// put), null where early exercise never pays.
    ///
    /// Example: examples/quant/american.jsonl.
    #[command(verbatim_doc_comment)]
    American(LinesArgs),
    /// Option strategies: analyse a named strategy, or propose strategies for a market view.
    ///
    /// Request, common fields: "spot", "volatility" (per year), "rate" and "dividend"
    /// (continuously compounded per year; default 0), "days" (calendar days to the expiry;
    /// years = days/365), "drift" (the price's expected growth per year for the probability
    /// of profit; default the rate, i.e. risk-neutral). Then either:
    ///
    /// - "strategy": one of covered_call, protective_put, collar, bull_call_spread,
    ///   bear_put_spread, long_straddle, long_strangle, butterfly, iron_condor,
    ///   iron_butterfly, calendar_spread; with optional "strikes" (ascending: covered_call
    ///   [call]; protective_put [put]; collar [put, call]; bull_call_spread [long call, short
    ///   call]; bear_put_spread [short put, long put]; long_straddle [strike]; long_strangle
    ///   [put, call]; butterfly (calls) and iron_butterfly [low, middle, high], equally
    ///   spaced; iron_condor [long put, short put, short call, long call]; calendar_spread
    ///   [strike], short the near call, long the far call); by default strikes are
    ///   spot·exp(k·volatility·sqrt(years)) for k a few multiples of one standard deviation,
    ///   rounded to 0.5 (spot < 25), 1 (spot < 200) or 5. "far_days": the calendar spread's
    ///   far expiry (default 2·days). "quantity": units of the underlying per leg (default
    ///   1; a listed contract is usually 100; the butterfly's middle leg is twice it).
    ///   "table": {"from", "to", "points"} adds a payoff table over that price grid.
    ///   Result: {"strategy", "legs": [{"instrument": "call"|"put"|"underlying", "strike",
    ///   "expiry" (years), "quantity", "side": "long"|"short", "premium" (per unit: the
    ///   Black-Scholes-Merton price, or the spot for the underlying)}], "horizon" (years to
    ///   the near expiry), "net_premium" (paid to open, the underlying included; negative for
    ///   a credit), "max_profit" and "max_loss" (at the horizon, max_loss a positive amount;
    ///   null where unbounded), "breakevens" (prices where the profit at the horizon is zero),
    ///   "probability_of_profit" (the price lognormal with the drift, less the dividend, and
    ///   the volatility), "greeks": {"delta", "gamma", "vega", "theta", "rho"} (sums over the
    ///   legs, the underlying's delta 1), "payoff_table": [{"price", "payoff" (the legs'
    ///   value), "profit" (payoff less net_premium)}] when asked}. At the horizon options
    ///   expiring then are worth their intrinsic value; the calendar spread's far call is
    ///   valued by Black-Scholes-Merton for the time left at the same volatility, rate and
    ///   dividend. Interest on the premium is ignored.
    ///
    /// - "view": bullish, bearish, neutral, volatile or range_bound; with "capital" (money
    ///   available) and "contract_size" (units per contract, default 100). The selector
    ///   builds candidates for the view (bullish: bull call spreads, covered call, collar,
    ///   protective put; bearish: bear put spreads; neutral: butterfly, iron butterfly,
    ///   calendar spread with the far expiry at 2·days; volatile: long straddle and
    ///   strangles; range_bound: iron condors, wide butterfly and iron butterfly) with strikes
    ///   from the volatility as above, sizes each to the most contracts whose capital
    ///   (contracts · contract_size · max(max loss, net premium) per unit) fits, leaves out
    ///   those that do not fit one contract or whose loss is unbounded, and ranks them by
    ///   score = probability_of_profit · reward_to_risk, where reward_to_risk = max_profit /
    ///   max_loss (for an unbounded profit, the profit at a two-standard-deviation move in the
    ///   better direction stands for max_profit).
    ///   Result: {"view", "proposals": [{"contracts", "capital_required", "reward_to_risk",
    ///   "score", "report": the named-strategy result for the whole position}]}, best first.
    ///
    /// Example: examples/quant/strategy.jsonl.
    #[command(verbatim_doc_comment)]
    Strategy(LinesArgs),
    /// Portfolio construction: mean-variance, maximum Sharpe, risk parity, HRP, Black-Litterman
    /// and minimum CVaR under bounds, group bounds and a turnover limit (solved with Clarabel;
    /// agrees with PyPortfolioOpt and Riskfolio-Lib).
    ///
    /// Request fields:
    ///   method             "max_sharpe" | "min_variance" | "efficient_return" | "efficient_risk" |
    ///                      "risk_parity" | "max_diversification" | "hrp" | "black_litterman" |
    ///                      "min_cvar" (required).
    ///   assets             asset names (required); every per-asset list follows this order.
    ///   Data, exactly one of:
    ///   prices             [[p per asset] per period], oldest first; simple returns are taken.
    ///   returns            [[r per asset] per period], simple per-period returns (0.01 is 1%).
    ///   covariance         annual covariance matrix; then expected_returns for the methods that
    ///                      need them (max_sharpe, efficient_*); min_cvar needs prices or returns.
    ///   expected_returns   annual expected returns per asset; default from prices/returns: the
    ///                      compounded mean historical return (1+r)^(frequency/T) − 1.
    ///   covariance_estimator "sample" (default) | "ledoit_wolf" (shrinkage towards the mean
    ///                      variance, scikit-learn's intensity) | "ewma" (exponentially weighted).
    ///   span               EWMA span in periods (default 180; α = 2/(span+1)).
    ///   frequency          periods per year (default 252) to annualise.
    ///   risk_free_rate     annual (default 0), for max_sharpe, the Sharpe ratio and BL's prior.
    ///   target_return      annual return for efficient_return (min variance with return ≥ it);
    ///                      an error if above the highest return the constraints allow.
    ///   target_risk        annual volatility for efficient_risk (max return with volatility ≤ it);
    ///                      an error if below the lowest volatility the constraints allow.
    ///   Constraints (weights always sum to 1; hrp takes none):
    ///   bounds             [lower, upper] for every asset, or {"name": [lower, upper]} (others
    ///                      [0, 1]); null is no bound. Default [0, 1] (long-only).
    ///   groups             [{"name"?, "assets": [names], "min"?, "max"?}]: bounds on each group's
    ///                      total weight (sectors).
    ///   current_weights    {"name": weight} held now (others 0), with
    ///   max_turnover       limit on Σ|w − current| (0.2 trades at most 20% of the portfolio).
    ///   Method-specific:
    ///   risk_budgets       risk_parity: {"name": budget} shares of variance (default equal).
    ///   market_caps        black_litterman: {"name": cap}, the prior π = δΣw_mkt + risk_free_rate.
    ///   risk_aversion      black_litterman: δ (default 1).
    ///   tau                black_litterman: τ (default 0.05).
    ///   views              black_litterman: [{"weights": {"name": coefficient}, "return": annual,
    ///                      "confidence"?: 0..1}]: {"AAPL": 1} is absolute, {"XOM": 1, "JPM": -1}
    ///                      relative; confidence sets Ω by Idzorek's method (none: τ·pΣpᵀ).
    ///   optimizer          black_litterman: the method run on the posterior returns and
    ///                      covariance (default "max_sharpe"; any of the mean-variance methods,
    ///                      risk_parity or max_diversification).
    ///   beta               min_cvar: confidence level (default 0.95); scenarios are the periods.
    ///
    /// Result: {"weights": {"name": w}, "expected_return"?, "volatility", "sharpe"?,
    /// "risk_contributions": {"name": share of variance, summing to 1}, and where they apply
    /// "diversification_ratio" (max_diversification), "cvar" and "var" (min_cvar: per-period
    /// losses as positive fractions), "prior_returns" and "posterior_returns" (black_litterman),
    /// "shrinkage" (ledoit_wolf intensity)}. Returns and volatility are annual, computed with the
    /// estimated (or posterior) expected returns and covariance; sharpe = (return − rf)/volatility.
    ///
    /// Errors name the field: "groups: infeasible with bounds", "target_return: ... above the
    /// highest expected return the constraints allow", "max_turnover: infeasible with bounds and
    /// groups".
    ///
    /// Example: examples/quant/optimize.jsonl.
    #[command(verbatim_doc_comment)]
    Optimize(LinesArgs),

    /// Zero-mean GARCH(1,1) by maximum likelihood, normal or Student-t errors, with forecasts.
    ///
    /// The model arch_model(returns, mean="Zero", vol="GARCH", p=1, q=1, dist=...) of the
    /// Python arch package fits: sigma2[t] = omega + alpha*r[t-1]^2 + beta*sigma2[t-1], started
    /// from arch's backcast; omega > 0, alpha, beta >= 0, alpha + beta <= 1, nu in [2.05, 500].
    /// The returns are rescaled internally; results are on the scale of the returns given.
    ///
    /// Request: {"returns": [r1, r2, ...], "dist": "normal"|"t"}: daily returns, oldest first,
    /// exactly as given (no mean is removed), at least 10.
    ///
    /// Result: {"omega", "alpha", "beta", "nu", "loglik", "converged", "forecast": {"1", "5",
    /// "20", "annualized"}}: omega in the returns' units squared; nu (degrees of freedom)
    /// only for "t"; loglik the log-likelihood of the returns given; converged whether the
    /// first-order (KKT) conditions hold at the result: gradient ~0 on the free parameters
    /// and pointing outward on the bounds that are active;
    /// forecast "1", "5", "20": variance of the return over the next 1, 5 and 20 days (sum of
    /// the daily variance forecasts, units squared); "annualized": volatility over the next
    /// 252 trading days, sqrt of the sum of the 252 daily variance forecasts (so it reflects
    /// today's volatility decaying toward the long-run level, not the long-run level alone).
    ///
    /// Example: examples/quant/garch.jsonl.
    #[command(verbatim_doc_comment)]
    Garch(LinesArgs),

    /// Augmented Dickey-Fuller unit-root test, as statsmodels' adfuller.
    ///
    /// Request: {"series": [x1, x2, ...], "regression": "c"|"ct"|"n", "autolag": "aic"|"bic"|
    /// "t-stat"|null, "maxlag": integer}: the series in levels, oldest first; regression the
    /// deterministic terms (constant, constant and trend, none; "c" when absent); autolag the
    /// lag rule ("aic" when absent; null uses maxlag lags); maxlag the largest lag (when
    /// absent, Schwert's ceil(12*(n/100)^(1/4)), capped at n/2 - terms - 1). With a rule, every
    /// lag 0..maxlag is fitted on the rows usable with maxlag lags and the chosen lag re-fitted
    /// on all usable rows.
    ///
    /// Result: {"stat", "pvalue", "usedlag", "nobs", "critical_values": {"1%", "5%", "10%"}}:
    /// the t statistic of the lagged level, MacKinnon's (1994) approximate p-value (small:
    /// reject the unit root), the lags used, the observations in the regression, MacKinnon's
    /// (2010) critical values for that many observations.
    ///
    /// Example: examples/quant/adf.jsonl.
    #[command(verbatim_doc_comment)]
    Adf(LinesArgs),

    /// Engle-Granger cointegration of a pair, as statsmodels' coint, with trading figures.
    ///
    /// Request: {"y": [...], "x": [...], "window", "entry", "exit"}: two series (prices or log
    /// prices) of equal length, oldest first; optional z-score settings: window (points in the
    /// rolling mean and sample standard deviation; absent: the whole sample), entry (|z| that
    /// opens a position; 2.0) and exit (|z| under which it closes; 0.5).
    ///
    /// Result: {"stat", "pvalue", "hedge_ratio", "intercept", "half_life", "critical_values":
    /// {"1%", "5%", "10%"}, "zscore", "position"}: the ADF statistic (no constant, lag by AIC)
    /// of the residuals of the OLS of y on x and a constant (null when y and x are
    /// collinear); MacKinnon's p-value and 2010 critical values for two series (cointegration
    /// values, not ADF ones); the hedge ratio (units of x per unit of y) and intercept; the
    /// spread s = y - intercept - hedge_ratio*x reverts with half-life -ln 2 / ln(1 + b) in
    /// observations, b from the OLS of s[t] - s[t-1] on a constant and s[t-1] (null when b is
    /// not in (-1, 0): no reversion); zscore the spread's latest z-score (null when
    /// undefined); position what the rule leaves: 1 long the spread (buy y, sell hedge_ratio
    /// of x), -1 short it, 0 flat. The rule steps through time from flat: z > entry opens
    /// short, z < -entry opens long, |z| < exit closes.
    ///
    /// Example: examples/quant/coint.jsonl.
    #[command(verbatim_doc_comment)]
    Coint(LinesArgs),

    /// Mean-reversion and momentum signals of one price series.
    ///
    /// Request: {"prices": [...], "window", "entry", "exit", "lookback"}: positive prices,
    /// oldest first (at least 3); optional window (points in the rolling z-score; 20, or all
    /// prices when fewer), entry (2.0), exit (0.5), lookback (momentum horizon in points; 252,
    /// or all prices but one when fewer).
    ///
    /// Result: {"mean_reversion": {"zscore", "position"}, "momentum": {"lookback", "return",
    /// "signal", "strength"}}: zscore the latest price against the rolling window's mean and
    /// sample standard deviation; position what the entry/exit rule leaves (-1 sell: price
    /// rich, 1 buy: price cheap, 0 flat; z > entry opens -1, z < -entry opens 1, |z| < exit
    /// closes); return the log return over the lookback; signal its sign (1, 0, -1); strength
    /// the log return over its standard error (sample standard deviation of the daily log
    /// returns in the lookback times sqrt(lookback)), a t-like score.
    ///
    /// Example: examples/quant/signals.jsonl.
    #[command(verbatim_doc_comment)]
    Signals(LinesArgs),
    /// A yield curve from zero rates or par yields, read at any time.
    ///
    /// Request: {"curve": CURVE, "times": [years, …] (default: the nodes and 0.5, 1, 2, 3, 5,
    /// 7, 10, 15, 20, 25, 30 within them)}, where CURVE is
    ///   {"zero_rates": [{"tenor": years, "rate": 0.04}, …]  (ascending tenors), or
    ///    "par_yields": [{"tenor", "rate"}, …] with "coupon_frequency": 1|2|4|12 (2),
    ///    "compounding": "annual" (default) | "semiannual" | "quarterly" | "monthly" |
    ///                   "continuous" (of the zero rates given and answered),
    ///    "interpolation": "flat_forward" (default: constant forwards between nodes) |
    ///                     "linear_zero" | "monotone_convex" (Hagan-West 2006)}.
    /// Par yields are bootstrapped: a tenor up to one coupon period is one simple-interest
    /// payment, a longer one (a whole number of periods) a bond priced at par.
    ///
    /// Result: {"interpolation", "compounding", "nodes": [POINT], "points": [POINT],
    /// "repricing_error" (par yields: the largest |price − 1| of a par instrument)}, POINT =
    /// {"time", "zero_rate" (as compounded), "discount_factor", "forward" (instantaneous,
    /// continuous)}.
    ///
    /// Example: examples/quant/curve.jsonl.
    #[command(verbatim_doc_comment)]
    Curve(LinesArgs),
    /// Liability cash flows on a yield curve: present value, duration, convexity, key-rate
    /// DV01s, and the plan's funded status and hedge ratios.
    ///
    /// Request: {"curve": CURVE (as for `quant curve`), "cash_flows": [{"time": years,
    /// "amount"}, …] or "annuity": {"amount", "years", "start" (1), "growth" (0)},
    /// "inflation": expected inflation a year when the amounts are today's and indexed
    /// (optional), "assets": {"value", "dv01", "inflation_dv01"} (optional)}.
    ///
    /// Result: {"present_value", "total_payments", "internal_rate" (flat, annual),
    /// "macaulay_duration", "modified_duration", "convexity" (at the internal rate),
    /// "dv01" (value gained when the curve's input rates fall 1bp together),
    /// "effective_duration", "effective_convexity", "key_rates": [{"tenor", "dv01"}] (each
    /// input rate moved alone), "inflation_dv01" (indexed flows), "funded_status":
    /// {"assets", "funded_ratio", "surplus", "interest_rate_hedge_ratio",
    /// "inflation_hedge_ratio"} (with assets)}.
    ///
    /// Example: examples/quant/liabilities.jsonl.
    #[command(verbatim_doc_comment)]
    Liabilities(LinesArgs),
    /// The least-cost bond portfolio that hedges liabilities' key-rate DV01s, at a hedge
    /// ratio given or read from a de-risking glide path at the plan's funded ratio.
    ///
    /// Request: {"liabilities": a `quant liabilities` request (its "assets" give the funded
    /// ratio and the budget), "instruments": [{"name", "maturity" (years), "coupon" (0: a
    /// zero-coupon strip), "frequency" (2), "cost_bps" (0)}], "hedge_ratio" (else the glide
    /// path's, else 1), "glide_path": [{"funded_ratio", "hedge_ratio", "return_seeking"}]
    /// (the highest trigger reached applies), "tolerance" (0.02: how far each key's DV01 may
    /// miss its target, as a share of it)}.
    ///
    /// Result: {"liability_value", "liability_dv01", "funded_ratio", "stage", "hedge_ratio",
    /// "exact" (false: no mix meets every key, the least-squares mix instead), "holdings":
    /// [{"name", "price", "face", "market_value", "cost", "dv01_per_100"}], "keys":
    /// [{"tenor", "liability_dv01", "target_dv01", "hedge_dv01"}], "total_cost",
    /// "hedge_dv01", "achieved_hedge_ratio"}. A linear program solved with Clarabel.
    ///
    /// Example: examples/quant/hedge.jsonl.
    #[command(verbatim_doc_comment)]
    Hedge(LinesArgs),
    /// A pension plan's assets and liabilities projected over 10-30 years on thousands of
    /// scenarios of the economic scenario generator (short rate, inflation): funded-ratio and
    /// surplus percentiles per year, the probability of underfunding and of ever falling
    /// below a threshold, surplus at risk and conditional surplus at risk, contributions
    /// under a simplified minimum-funding rule (normal cost plus the shortfall amortised over
    /// 7 years, after IRC §430; the funding target at the §430(h)(2) segment rates when
    /// given) and PBGC premiums (domain::pbgc, by plan year). The liabilities are discounted
    /// at the short rate plus a spread, or on today's yield curve moved with the short rate
    /// (Vasicek loadings).
    ///
    /// Request: {"years", "scenarios", "seed", "economy" (as `cairn economy`'s; the US
    /// default), "assets": [{"name", "expected_return", "volatility", "duration" (bond
    /// sleeves move with the rate), "convexity", "weight"}], "correlation",
    /// "initial_assets" or "initial_funded_ratio", "benefits": [{"time", "amount"}],
    /// "indexation" (0-1), "discount_spread", "curve" (as `cairn quant curve`'s: zero_rates
    /// or par_yields, compounding, interpolation), "curve_mean_reversion" (0.1),
    /// "segment_rates": {"first", "second", "third"} (the IRS's, in force), "normal_cost",
    /// "normal_cost_growth", "amortisation_years" (7; 15 under ARPA 2021), "participants",
    /// "pbgc_year", "premium_growth", "premiums_from_assets", "confidence" (0.95),
    /// "threshold" (0.8)}.
    ///
    /// Result: {"start", "by_year": [funded-ratio and surplus percentiles, underfunding
    /// probability, surplus at risk, contributions, premiums, mean funding target],
    /// "probability_ever_below_threshold", "expected_total_contributions",
    /// "expected_total_premiums", "pbgc", "warnings"}.
    ///
    /// Example: examples/quant/alm.jsonl.
    #[command(verbatim_doc_comment)]
    Alm(LinesArgs),
    /// The asset mix with the least surplus-return variance for a required surplus return
    /// (long-only, fully invested; Clarabel), the liabilities a short position with their own
    /// expected return and volatility.
    ///
    /// Request: {"assets": [{"name", "expected_return", "volatility",
    /// "liability_correlation"}], "correlation", "liability": {"expected_return",
    /// "volatility"}, "funded_ratio" (1), "required_surplus_return"}.
    ///
    /// Example: examples/quant/alm-optimise.jsonl.
    #[command(verbatim_doc_comment)]
    AlmOptimise(LinesArgs),
    /// A fixed-rate bond at settlement: price from yield or yield from price, accrued
    /// interest, durations, convexity and basis point value, as QuantLib's BondFunctions
    /// compute them (its bond and day-count test cases reproduced).
    ///
    /// Request: {"bond": {"dated_date": "YYYY-MM-DD", "maturity", "coupon_rate" (0.05),
    /// "frequency": 1|2|4|12, "face" (100), "redemption" (100, percent of face),
    /// "day_count": "30/360" (Bond Basis) | "30/360-us" | "30e/360" | "act/act-icma" |
    /// "act/365f" | "act/360", "rule": "backward" (default) | "forward", "end_of_month"
    /// (false), "first_coupon_date", "next_to_last_date" (irregular periods),
    /// "ex_coupon_days" (0), "ex_coupon_business_days" (false)}, "settlement": "YYYY-MM-DD",
    /// one of "yield" | "clean_price" | "dirty_price" (per 100 of face), "compounding":
    /// "compounded" (default) | "continuous" | "simple", "yield_day_count" and
    /// "yield_frequency" (the bond's when absent)}. Dates are not moved for holidays.
    ///
    /// Result: {"clean_price", "dirty_price", "accrued_amount" (negative ex-coupon), "yield",
    /// "macaulay_duration" (compounded yields), "modified_duration", "simple_duration",
    /// "convexity", "bpv", "yield_value_basis_point", "cash_flows": [{"date", "kind",
    /// "amount", "paid_to_buyer", "time", "discount_factor", "present_value"}], …}.
    ///
    /// Example: examples/quant/bond.jsonl.
    #[command(verbatim_doc_comment)]
    Bond(LinesArgs),
    /// Almgren-Chriss (2000) optimal execution: the trajectory that minimises expected cost
    /// plus risk aversion times variance under linear permanent and temporary impact, and
    /// its efficient frontier (the paper's example reproduced).
    ///
    /// Request: {"shares" (X: positive sells, negative buys), "horizon" (T, in the time unit
    /// of the volatility, e.g. days), "periods" (N), "volatility" (σ, $/share per √time),
    /// "drift" (α, 0), "fixed_cost" (ε, half-spread and fees, 0), "permanent_impact" (γ),
    /// "temporary_impact" (η, above γτ/2), "risk_aversion" (λ per $), "price" (S0: costs
    /// also in bps), "confidence" (VaR E + z√V), "frontier": {"points" (50), "lambda_min",
    /// "lambda_max", "trajectories" (false)}}.
    ///
    /// Result: {"tau", "eta_tilde", "kappa", "half_life" (1/κ), "holdings" (x_0..x_N),
    /// "trades", "expected_cost", "variance", the straight line's cost beside it, "frontier":
    /// [{"risk_aversion", "expected_cost", "variance", …}] when asked, …}. Every field is
    /// in simulations::execution::AcResult and the OpenAPI document (POST
    /// /v1/quant/almgren-chriss).
    ///
    /// Example: examples/quant/almgren-chriss.jsonl.
    #[command(verbatim_doc_comment)]
    AlmgrenChriss(LinesArgs),
    /// An execution schedule priced under the Almgren-Chriss impact model: "twap" (equal
    /// slices), "vwap" (in proportion to an intraday volume "profile"), "pov" ("participation"
    /// of each bucket's forecast "volumes" until done) or "shortfall" (the Almgren-Chriss
    /// trajectory at "risk_aversion"), with the square-root impact estimate
    /// spread/2 + Y·σ_daily·S·√(Q/ADV) when "price" and "adv" are given.
    ///
    /// Request: the almgren-chriss fields (shares, horizon, periods, volatility, drift,
    /// fixed_cost, permanent_impact, temporary_impact, risk_aversion) plus "strategy",
    /// "profile", "volumes", "participation", "price", "adv", "daily_volatility", "spread",
    /// "impact_coefficient" (Y, 1).
    ///
    /// Result: {"strategy", "times", "trades", "holdings", "participation", "executed",
    /// "leftover" (pov), "buckets_used", "cost": {expected cost and variance},
    /// "square_root": {"fraction_of_adv", "half_spread", "impact", "per_share", "bps",
    /// "total"}}.
    ///
    /// Example: examples/quant/schedule.jsonl.
    #[command(verbatim_doc_comment)]
    Schedule(LinesArgs),
    /// Transaction-cost analysis of executed orders (Perold's implementation shortfall):
    /// per order the delay, spread, impact and opportunity costs and fees against the
    /// arrival price, in dollars and basis points, slippage against the interval VWAP and the
    /// close; per algorithm the value-weighted averages; and a best-execution summary.
    ///
    /// Request: {"orders": [{"id", "algorithm", "side": "buy"|"sell", "quantity",
    /// "arrival_price", "first_fill_mid", "half_spread", "fills": [{"quantity", "price"}],
    /// "interval_vwap", "close", "fees"}]}. A cost is positive when it hurts.
    ///
    /// Result: {"orders": [per-order costs], "algorithms": [per-algorithm totals],
    /// "summary": {cheapest against arrival and VWAP, share of orders beating VWAP}}.
    ///
    /// Example: examples/quant/tca.jsonl.
    #[command(verbatim_doc_comment)]
    Tca(LinesArgs),
    /// A target-date glide path evaluated beside Vanguard's published one on the same
    /// simulated markets.
    ///
    /// Request: {"path": {"start" (0.9), "decline_years" (25), "at_retirement" (0.5), "shape":
    /// "linear" | "convex" (falls late) | "concave" (falls early), "power" (2), "floor" and
    /// "after_years" (a "through" path; absent: "to"), "risk_shift" (−0.2 to 0.2),
    /// "funded_sensitivity" (share taken off per unit of funded status above 1)},
    /// "years_to_retirement", "retirement_years" (30), "wealth", "contribution" (yearly, in
    /// today's money), "withdrawal" (yearly in retirement, today's money), "inflation"
    /// (0.025), "funded_status" (1), "stock_return" (0.07), "bond_return" (0.04),
    /// "stock_volatility" (0.16), "bond_volatility" (0.06), "correlation" (0.1), "paths"
    /// (10,000), "seed" (1), "compare_published" (true)}.
    ///
    /// Result: {"evaluations": [{"name", "equity" (share by year), "success_probability",
    /// "mean_shortfall" (unpaid withdrawals, today's money, over failing paths),
    /// "median_at_retirement", "p5_at_retirement", "median_at_end", "p5_at_end"}], "source"}.
    ///
    /// Example: examples/quant/glide-path.jsonl.
    #[command(verbatim_doc_comment)]
    GlidePath(LinesArgs),
    /// Risk by factor and by asset under a factor model, or the weights meeting factor risk
    /// budgets.
    ///
    /// Request: {"assets", "factors", "exposures" (a row per asset), "factor_covariance",
    /// "specific_volatility" (per asset, 0), and "weights" to decompose or "budgets" (per
    /// factor) to solve for, "long_only" (false)}.
    ///
    /// Result: {"weights", "volatility", "exposures" (per factor), "factor_contributions",
    /// "specific_contribution", "asset_contributions"} (shares of variance).
    ///
    /// Example: examples/quant/factor-risk.jsonl.
    #[command(verbatim_doc_comment)]
    FactorRisk(LinesArgs),
    /// Volatility targeting with a leverage cap.
    ///
    /// Request: {"returns" (simple, per period, oldest first), "target" (annual volatility),
    /// "leverage_cap" (1.5), "periods_per_year" (252), "decay" (EWMA λ, 0.94), "warmup" (20
    /// periods seeding the forecast)}.
    ///
    /// Result: {"leverage", "scaled_returns" (after the warm-up), "realised_volatility",
    /// "scaled_volatility", "mean_leverage", "capped_periods"}.
    ///
    /// Example: examples/quant/vol-target.jsonl.
    #[command(verbatim_doc_comment)]
    VolTarget(LinesArgs),
    /// A portfolio (and its liabilities and futures overlays) under historical and
    /// hypothetical stress scenarios: 2008 financial crisis, 2013 taper tantrum, 2020 COVID
    /// crash, 2022 rates shock, stagflation, deflation, a parallel rates shift up and down,
    /// an equity crash with correlation breakdown, and the caller's own.
    ///
    /// Request: {"holdings": [{"name", "asset_class": "us_equity" | "intl_equity" |
    /// "em_equity" | "treasury" | "investment_grade" | "high_yield" | "tips" | "real_estate"
    /// | "commodities" | "gold" | "usd" | "cash", "market_value", "duration", "convexity",
    /// "spread_duration", "liquid"}], "liabilities": {"present_value", "duration"} or
    /// {"stream": a `quant liabilities` request}, "futures": [{"name", "underlying", "dv01_per_contract",
    /// "contracts", "contract_value", "tenor", "initial_margin_rate"}], "scenarios": [names]
    /// (all), "custom": [{"name", "description", "shocks"}], "parallel_shift_bp" (100)}.
    /// Each scenario's shocks (returns by class, Treasury yields at 2/5/10/30 years, credit
    /// spreads, breakevens) are a data table with its index, window and source in
    /// simulations/src/stress.rs.
    ///
    /// Result: per scenario the P&L of each holding (return, rates, spread) and in total,
    /// the futures' P&L, value before and after, funded ratio and surplus before and after,
    /// the DV01 mismatch before and after, and the margin needed against cash and liquid
    /// assets.
    ///
    /// Example: examples/quant/stress.jsonl.
    #[command(verbatim_doc_comment)]
    Stress(LinesArgs),
    /// An overlay sized and costed: {"kind": "duration"} Treasury futures to move DV01 to a
    /// target (futures DV01 = CTD DV01 / conversion factor), {"kind": "currency"} forward
    /// hedges at a hedge ratio with covered interest parity's forward points and annual cost,
    /// {"kind": "beta"} index futures to move beta to a target ((β* − β)·V / (F·m)), or
    /// {"kind": "tail"} a put spread priced with Black-Scholes-Merton (cost, payoff at crash
    /// levels, protection per unit of cost, breakeven). Every field: `simulations::overlays`
    /// and POST /v1/quant/overlay's schema.
    ///
    /// Example: examples/quant/overlay.jsonl.
    #[command(verbatim_doc_comment)]
    Overlay(LinesArgs),
    /// A portfolio's carbon: WACI (TCFD), PCAF financed emissions (attribution by EVIC),
    /// footprint and data quality, implied temperature scores aggregated as the SBTi finance
    /// tool does (WATS, TETS, MOTS, EOTS, ECOTS, AOTS, ROTS; 3.2 °C for companies without
    /// targets), and carbon VaR under a carbon-price path.
    ///
    /// Request: {"companies": [COMPANY], "holdings": [{"id", "value"}], "scopes": "S1" |
    /// "S1S2" (default) | "S1S2S3", "temperature": {"methods", "time_frames", "scopes",
    /// "default_score"}, "carbon_price": {"prices" ($/t a year), "discount_rate",
    /// "pass_through", "include_scope2", "emissions_growth"}}, COMPANY = {"id", "name",
    /// "sector", "scores": {"environmental", "social", "governance", "total"},
    /// "controversy" (0-5), "norms_violation", "revenue" ($), "emissions": {"scope1",
    /// "scope2", "scope3"} (tCO2e), "evic" ($), "total_debt", "total_equity", "market_cap",
    /// "sdg": [{"goal", "share"}], "themes", "temperature": [{"time_frame": "short" | "mid" |
    /// "long", "scope": "S1S2" | "S3" | "S1S2S3", "score"}], "pcaf_quality" (1-5)}. Every
    /// field and the result: POST /v1/quant/esg-carbon's schema.
    ///
    /// The companies may come from a provider CSV file instead: --companies FILE for every
    /// request, or one request's "companies_csv" (the file's text). The format: a header row
    /// of named columns (any order, ignoring case; only id required), one row per company:
    /// id,name,sector,e_score,s_score,g_score,esg_score,controversy,norms_violation,revenue,
    /// scope1,scope2,scope3,evic,total_debt,total_equity,market_cap,enterprise_value,cash,
    /// total_assets,sdg,themes,temperature,pcaf_quality. An empty cell is not reported; the
    /// four scores come together or not at all; norms_violation is true/false (yes/no, 1/0);
    /// lists sit in one cell separated by ";": sdg "SDG7:0.25;SDG13:0.1" (goal:share),
    /// themes "clean_energy;water", temperature "mid/S1S2:2.1;long/S1S2S3:2.7" (time frame/
    /// scope:°C). Lines starting with # and blank lines are skipped. A bad file is refused
    /// whole, naming the line and column: 'line 4, column scope1: not a number: "abc"'.
    ///
    /// Example: examples/quant/esg-carbon.jsonl; examples/quant/esg-companies.csv (the
    /// examples' companies as a provider file).
    #[command(verbatim_doc_comment)]
    EsgCarbon(EsgArgs),
    /// ESG screens: sector, controversy and norms exclusions, a minimum score, best-in-class
    /// by sector, and thematic minimums on holdings; the passing companies and why each
    /// other one failed.
    ///
    /// Request: {"companies", "exclude_sectors", "controversy_threshold",
    /// "exclude_norms_violations", "min_score", "best_in_class": {"keep_share", "score":
    /// "total" | "environmental" | "social" | "governance"}, "holdings", "themes":
    /// [{"theme", "min_share"}]}.
    ///
    /// The companies may come from a provider CSV file (--companies FILE, or the request's
    /// "companies_csv"): the format is in esg-carbon --help.
    ///
    /// Example: examples/quant/esg-screen.jsonl.
    #[command(verbatim_doc_comment)]
    EsgScreen(EsgArgs),
    /// Dual-objective optimisation (Clarabel): maximise μᵀw − γ·wᵀΣw + ι·(ESG or SDG score)ᵀw
    /// under a weight cap, a WACI limit, a minimum SDG-aligned share, sector caps and
    /// exclusions, with the frontier between the financial and the impact objective.
    ///
    /// Request: {"companies", "assets" (company ids), "expected_returns", "covariance" |
    /// "factor_model": {"exposures" (a row per asset), "factor_covariance",
    /// "specific_volatility"}, "risk_aversion", "impact_weight", "score", "max_weight",
    /// "waci_limit", "min_sdg_share", "sector_caps": [{"sector", "max"}], "exclude",
    /// "frontier_points"}. A factor model (Σ = B·F·Bᵀ + diag(d²)) solves far faster than a
    /// dense covariance of many assets: 500 assets in milliseconds.
    ///
    /// The companies may come from a provider CSV file (--companies FILE, or the request's
    /// "companies_csv"): the format is in esg-carbon --help.
    ///
    /// Example: examples/quant/esg-optimise.jsonl.
    #[command(verbatim_doc_comment)]
    EsgOptimise(EsgArgs),
    /// An impact report: value-weighted E, S and G scores, financed emissions and footprint
    /// with their equivalent in cars driven for a year (US EPA, 4.6 tCO2e), the temperature
    /// score, the SDG breakdown and the themes held.
    ///
    /// Request: {"companies", "holdings", "scopes", "temperature_method" (WATS),
    /// "default_temperature" (3.2)}.
    ///
    /// The companies may come from a provider CSV file (--companies FILE, or the request's
    /// "companies_csv"): the format is in esg-carbon --help.
    ///
    /// Example: examples/quant/impact-report.jsonl.
    #[command(verbatim_doc_comment)]
    ImpactReport(EsgArgs),
    /// Private-equity commitment pacing by the Takahashi-Alexander (Yale) model: calls as a
    /// rate of the remaining commitment by fund age, distributions as the greater of a yield
    /// and (age/life)^bow of the grown NAV, NAV growing at G; several vintages summed by
    /// calendar year (calls, distributions, net cash flow, NAV, unfunded), and the NAV's share
    /// of a growing portfolio against a target allocation. Over HTTP (POST
    /// /v1/quant/pe-pacing) a client must have accredited-investor status recorded (`cairn
    /// user accredit`; SEC Rule 501(a)).
    ///
    /// Example: examples/quant/pe-pacing.jsonl; every field: the endpoint's schema.
    #[command(verbatim_doc_comment)]
    PePacing(LinesArgs),
    /// Crypto sizing: maximum-Sharpe weights with a per-asset cap, a minimum market cap (the
    /// smaller are excluded, with the reason) and a cap on the crypto total inside a wider
    /// portfolio.
    ///
    /// Example: examples/quant/crypto.jsonl.
    #[command(verbatim_doc_comment)]
    Crypto(LinesArgs),
    /// Commodities as an inflation hedge: each asset's OLS inflation beta (t-stat, R²) and the
    /// weight that brings a portfolio's inflation beta to a target.
    ///
    /// Example: examples/quant/inflation-beta.jsonl.
    #[command(verbatim_doc_comment)]
    InflationBeta(LinesArgs),
    /// REIT sector allocation: the mean-variance weights of REIT sectors at a risk aversion,
    /// within bounds per sector.
    ///
    /// Example: examples/quant/reit-sectors.jsonl.
    #[command(verbatim_doc_comment)]
    ReitSectors(LinesArgs),
    /// A whole portfolio's liquidity: what can be sold within 1, 7, 30, 90 and 365 days
    /// (listed holdings by their days to sell; funds by lock-up, notice, redemption interval
    /// and gate, waiting a whole interval for the next dealing date; illiquid holdings never),
    /// each requirement ("at least min_share within within_days") met or not, and unfunded
    /// commitments against what can be sold within commitment_days (90).
    ///
    /// Request: {"holdings": [{"name", "value", "days" | "redemption_days", "notice_days",
    /// "lockup_days", "gate", "illiquid"}], "requirements": [{"within_days", "min_share"}],
    /// "unfunded_commitments", "commitment_days"}.
    ///
    /// Example: examples/quant/liquidity.jsonl.
    #[command(verbatim_doc_comment)]
    Liquidity(LinesArgs),
}

/// Where the requests come from.
#[derive(Debug, Args)]
pub(crate) struct LinesArgs {
    /// Read the requests from this file (JSON lines) instead of stdin.
    #[arg(long, value_name = "FILE")]
    input: Option<PathBuf>,
}

/// Where the requests come from, and a provider file of companies for all of them.
#[derive(Debug, Args)]
pub(crate) struct EsgArgs {
    #[command(flatten)]
    lines: LinesArgs,
    /// Give every request the companies of this provider CSV file (the format: esg-carbon
    /// --help). The file is read and checked whole first: a bad row stops the run with
    /// "FILE: line N, column C: problem". A request that carries its own "companies" or
    /// "companies_csv" is then refused (its line gets the error); the file never replaces
    /// them silently.
    #[arg(long, value_name = "FILE")]
    companies: Option<PathBuf>,
}

pub(crate) fn quant(cmd: QuantCmd) -> anyhow::Result<()> {
    match cmd {
        QuantCmd::BlackScholes(io) => run_lines(&io, |r: options::BsInput| options::black_scholes(&r)),
        QuantCmd::ImpliedVol(io) => {
            run_lines(&io, |r: options::implied::ImpliedVolInput| options::implied::implied_volatility(&r))
        }
        QuantCmd::American(io) => {
            run_lines(&io, |r: options::american::AmericanInput| options::american::american_request(&r))
        }
        QuantCmd::Strategy(io) => run_lines(&io, |r: options::strategy::StrategyRequest| options::strategy::run(&r)),
        QuantCmd::Optimize(io) => run_lines(&io, |r: optimize::Request| optimize::optimize(&r)),
        QuantCmd::Garch(io) => run_lines(&io, |r: garch::GarchRequest| garch::garch(&r)),
        QuantCmd::Adf(io) => run_lines(&io, |r: adf::AdfRequest| adf::adf(&r)),
        QuantCmd::Coint(io) => run_lines(&io, |r: coint::CointRequest| coint::coint(&r)),
        QuantCmd::Signals(io) => run_lines(&io, |r: signals::SignalsRequest| signals::signals(&r)),
        QuantCmd::Curve(io) => run_lines(&io, |r: curve::CurveRequest| curve::read(&r)),
        QuantCmd::Liabilities(io) => run_lines(&io, |r: liabilities::LiabilityRequest| liabilities::analyse(&r)),
        QuantCmd::Alm(io) => run_lines(&io, |r: alm::AlmRequest| alm::project(&r)),
        QuantCmd::AlmOptimise(io) => run_lines(&io, |r: alm::AlmOptRequest| alm::optimise(&r)),
        QuantCmd::Hedge(io) => run_lines(&io, |r: ldi::HedgeRequest| ldi::hedge(&r)),
        QuantCmd::Bond(io) => run_lines(&io, |r: bonds::BondRequest| bonds::analyse(&r)),
        QuantCmd::AlmgrenChriss(io) => run_lines(&io, |r: execution::AcRequest| execution::almgren_chriss(&r)),
        QuantCmd::Schedule(io) => run_lines(&io, |r: execution::ScheduleRequest| execution::schedule(&r)),
        QuantCmd::Tca(io) => run_lines(&io, |r: execution::TcaRequest| execution::tca(&r)),
        QuantCmd::GlidePath(io) => run_lines(&io, |r: glide::GlideRequest| glide::evaluate(&r)),
        QuantCmd::FactorRisk(io) => run_lines(&io, |r: risk_budget::FactorRequest| risk_budget::factors(&r)),
        QuantCmd::Stress(io) => run_lines(&io, |r: stress::StressRequest| stress::stress(&r)),
        QuantCmd::Overlay(io) => run_lines(&io, |r: overlays::OverlayRequest| overlays::overlay(&r)),
        QuantCmd::EsgCarbon(io) => run_esg(&io, esg::carbon),
        QuantCmd::EsgScreen(io) => run_esg(&io, esg::screen),
        QuantCmd::EsgOptimise(io) => run_esg(&io, esg::optimise),
        QuantCmd::ImpactReport(io) => run_esg(&io, esg::impact_report),
        QuantCmd::PePacing(io) => run_lines(&io, |r: alternatives::PacingRequest| alternatives::pacing(&r)),
        QuantCmd::Crypto(io) => run_lines(&io, |r: alternatives::CryptoRequest| alternatives::crypto(&r)),
        QuantCmd::InflationBeta(io) => {
            run_lines(&io, |r: alternatives::InflationRequest| alternatives::inflation_beta(&r))
        }
        QuantCmd::ReitSectors(io) => run_lines(&io, |r: alternatives::ReitRequest| alternatives::reit_sectors(&r)),
        QuantCmd::Liquidity(io) => run_lines(&io, |r: alternatives::LiquidityRequest| alternatives::liquidity(&r)),
        QuantCmd::VolTarget(io) => run_lines(&io, |r: risk_budget::VolTargetRequest| risk_budget::vol_target(&r)),
    }
}

/// [`run_lines`] for an ESG command: with `--companies FILE`, the file is parsed once and its
/// companies given to every request that has none of its own.
fn run_esg<Req, Resp>(
    args: &EsgArgs,
    f: impl Fn(&Req) -> Result<Resp, simulations::SimError> + Sync,
) -> anyhow::Result<()>
where
    Req: DeserializeOwned + esg::Universe,
    Resp: Serialize,
{
    let Some(path) = &args.companies else {
        return run_lines(&args.lines, |r: Req| f(&r));
    };
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let companies = esg::parse_companies_csv(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    run_lines(&args.lines, |mut r: Req| {
        if !r.companies_mut().is_empty() || r.companies_csv_mut().is_some() {
            return Err(simulations::SimError::Invalid {
                field: "companies".into(),
                problem: format!(
                    "--companies {} gives the companies: leave \"companies\" and \"companies_csv\" out of the request",
                    path.display()
                ),
            });
        }
        *r.companies_mut() = companies.clone();
        f(&r)
    })
}

/// Bytes read per block; a block's lines are computed in parallel and written in order.
const BLOCK_BYTES: usize = 4 << 20;
/// At most this many lines, or about this many bytes, per parallel task: short requests
/// (options) go in thousands, long ones (a GARCH fit on years of returns) a few at a time.
const TASK_LINES: usize = 2048;
const TASK_BYTES: usize = 64 << 10;

/// Reads JSON-lines requests, computes each with `f` and writes one JSON line per request.
fn run_lines<Req, Resp, E>(args: &LinesArgs, f: impl Fn(Req) -> Result<Resp, E> + Sync) -> anyhow::Result<()>
where
    Req: DeserializeOwned,
    Resp: Serialize,
    E: Display,
{
    let input: Box<dyn Read> = match &args.input {
        Some(path) => Box::new(std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?),
        None => Box::new(std::io::stdin().lock()),
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    process(BufReader::with_capacity(1 << 16, input), &mut out, &f)?;
    out.flush().context("cannot write the results")?;
    Ok(())
}

fn process<Req, Resp, E>(
    mut input: impl BufRead,
    out: &mut impl Write,
    f: &(impl Fn(Req) -> Result<Resp, E> + Sync),
) -> anyhow::Result<()>
where
    Req: DeserializeOwned,
    Resp: Serialize,
    E: Display,
{
    let mut block: Vec<u8> = Vec::with_capacity(BLOCK_BYTES + (1 << 16));
    let mut first_line = 1usize;
    loop {
        // Fill the block up to BLOCK_BYTES, then to the end of the line in progress.
        let mut eof = false;
        while block.len() < BLOCK_BYTES {
            let buf = input.fill_buf().context("cannot read the requests")?;
            if buf.is_empty() {
                eof = true;
                break;
            }
            let n = buf.len().min(BLOCK_BYTES - block.len());
            block.extend_from_slice(&buf[..n]);
            input.consume(n);
        }
        if !eof && input.read_until(b'\n', &mut block).context("cannot read the requests")? == 0 {
            eof = true;
        }
        // A byte-order mark (editors on Windows write one) is not part of the first request.
        if first_line == 1 && block.starts_with(b"\xEF\xBB\xBF") {
            block.drain(..3);
        }
        if block.is_empty() {
            return Ok(());
        }
        let lines: Vec<&[u8]> = block.strip_suffix(b"\n").unwrap_or(&block).split(|&b| b == b'\n').collect();
        let mut tasks: Vec<(usize, &[&[u8]])> = Vec::new();
        let (mut start, mut bytes) = (0, 0);
        for (i, line) in lines.iter().enumerate() {
            bytes += line.len() + 1;
            if i + 1 - start == TASK_LINES || bytes >= TASK_BYTES || i + 1 == lines.len() {
                tasks.push((start, &lines[start..=i]));
                (start, bytes) = (i + 1, 0);
            }
        }
        let outputs: Vec<Vec<u8>> = tasks
            .into_par_iter()
            .map(|(start, chunk)| {
                let mut buf = Vec::with_capacity(chunk.len() * 128);
                for (i, line) in chunk.iter().enumerate() {
                    answer(first_line + start + i, line, &mut buf, f);
                }
                buf
            })
            .collect();
        for buf in &outputs {
            out.write_all(buf).context("cannot write the results")?;
        }
        first_line += lines.len();
        block.clear();
        if eof {
            return Ok(());
        }
    }
}

/// Appends the answer to one line (nothing for a blank line).
fn answer<Req, Resp, E>(number: usize, line: &[u8], buf: &mut Vec<u8>, f: &impl Fn(Req) -> Result<Resp, E>)
where
    Req: DeserializeOwned,
    Resp: Serialize,
    E: Display,
{
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.iter().all(u8::is_ascii_whitespace) {
        return;
    }
    let result = match request::<Req>(line) {
        Err(message) => Err(message),
        // A panic is a bug, but it must not take the other lines' answers down with it.
        Ok(request) => match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(request))) {
            Ok(answer) => answer.map_err(|e| e.to_string()),
            Err(panic) => Err(format!(
                "internal error: {}",
                panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a calculation failed".into())
            )),
        },
    };
    let written = match result {
        Ok(response) => serde_json::to_writer(&mut *buf, &response).map_err(|e| e.to_string()),
        Err(message) => Err(message),
    };
    if let Err(message) = written {
        serde_json::to_writer(&mut *buf, &serde_json::json!({ "line": number, "error": message }))
            .expect("a JSON object of a number and a string always serializes");
    }
    buf.push(b'\n');
}

/// Reads one request. A line that is not JSON gets serde_json's message and the column; a
/// value of the wrong shape gets `FIELD: expected …, got …`, the field named by its path in
/// the request (`spot`, `views[0].return`), in the words of `--help` rather than Rust's types.
fn request<Req: DeserializeOwned>(line: &[u8]) -> Result<Req, String> {
    // The quick way first; the error is explained only for the lines that have one.
    serde_json::from_slice(line).map_err(|e| explain::<Req>(line, &e))
}

fn explain<Req: DeserializeOwned>(line: &[u8], e: &serde_json::Error) -> String {
    // Every request is one line: "at line 1 column C" says nothing the column does not.
    let text = |e: &serde_json::Error| {
        let text = e.to_string();
        text.rsplit_once(" at line ").map_or(text.clone(), |(m, _)| m.to_owned())
    };
    let value: serde_json::Value = match serde_json::from_slice(line) {
        Ok(value) => value,
        Err(syntax) => return format!("invalid JSON: {} (column {})", text(&syntax), syntax.column()),
    };
    match serde_path_to_error::deserialize::<_, Req>(&value) {
        Ok(_) => text(e),
        Err(at) => {
            let path: Vec<&serde_path_to_error::Segment> = at.path().iter().collect();
            let message = text(at.inner());
            // A name (an enum) given as a number, array or object: serde says only "string or map".
            let (field, problem) =
                match message.strip_prefix("invalid type: ").and_then(|m| m.strip_suffix(", expected string or map")) {
                    Some(got) => {
                        (field_name(&path), format!("expected {}, got {}", names::<Req>(&value, &path), got_words(got)))
                    }
                    None => problem(&field_name(&path), &message),
                };
            if field.is_empty() {
                problem
            } else {
                format!("{field}: {problem}")
            }
        }
    }
}

/// `views[0].return`: map keys joined by dots, array indexes in brackets.
fn field_name(path: &[&serde_path_to_error::Segment]) -> String {
    let mut field = String::new();
    for segment in path {
        match segment {
            serde_path_to_error::Segment::Map { key } => {
                if !field.is_empty() {
                    field.push('.');
                }
                field.push_str(key);
            }
            serde_path_to_error::Segment::Seq { index } => field.push_str(&format!("[{index}]")),
            serde_path_to_error::Segment::Enum { .. } | serde_path_to_error::Segment::Unknown => {}
        }
    }
    field
}

/// The names a field of names (an enum) takes, as serde lists them for a name it does not
/// know: the request is read again with an empty name there.
fn names<Req: DeserializeOwned>(request: &serde_json::Value, path: &[&serde_path_to_error::Segment]) -> String {
    let mut probe = request.clone();
    let mut at = Some(&mut probe);
    for segment in path {
        at = match segment {
            serde_path_to_error::Segment::Map { key } => at.and_then(|v| v.get_mut(key.as_str())),
            serde_path_to_error::Segment::Seq { index } => at.and_then(|v| v.get_mut(*index)),
            serde_path_to_error::Segment::Enum { .. } | serde_path_to_error::Segment::Unknown => at,
        };
    }
    if let Some(v) = at {
        *v = serde_json::Value::String(String::new());
    }
    let listed = serde_path_to_error::deserialize::<_, Req>(&probe).err().and_then(|e| {
        let message = e.inner().to_string();
        let names = message.strip_prefix("unknown variant ``, expected ")?.to_owned();
        Some(names.replace('`', "\""))
    });
    listed.unwrap_or_else(|| "one of the names --help lists".to_owned())
}

/// The field (the path, or the path and the field a message names) and serde's message in
/// the words of the request's documentation.
fn problem(path: &str, message: &str) -> (String, String) {
    let child = |name: &str| if path.is_empty() { name.to_owned() } else { format!("{path}.{name}") };
    let quoted = |s: &str| s.split('`').nth(1).unwrap_or(s).to_owned();
    if let Some(rest) = message.strip_prefix("missing field ") {
        return (child(&quoted(rest)), "missing (required)".to_owned());
    }
    if let Some(rest) = message.strip_prefix("unknown field ") {
        let (name, known) = rest.split_once(", expected ").unwrap_or((rest, ""));
        let known = known.trim_start_matches("one of ").replace('`', "");
        let name = quoted(name);
        let field = if path.rsplit('.').next() == Some(name.as_str()) { path.to_owned() } else { child(&name) };
        let known = if known.is_empty() { String::new() } else { format!(" (the fields are {known})") };
        return (field, format!("unknown field{known}"));
    }
    if let Some(rest) = message.strip_prefix("unknown variant ") {
        let (got, names) = rest.split_once(", expected ").unwrap_or((rest, ""));
        let names = names.replace('`', "\"");
        return (path.to_owned(), format!("expected {names}, got \"{}\"", quoted(got)));
    }
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some((got, expected)) = message.strip_prefix(prefix).and_then(|r| r.rsplit_once(", expected ")) {
            return (path.to_owned(), format!("expected {}, got {}", expected_words(expected), got_words(got)));
        }
    }
    if let Some((got, expected)) = message.strip_prefix("invalid length ").and_then(|r| r.split_once(", expected ")) {
        let values = if got == "1" { "value" } else { "values" };
        return (path.to_owned(), format!("expected {}, got {got} {values}", expected_words(expected)));
    }
    (path.to_owned(), message.to_owned())
}

/// What serde expected, as the documentation says it: numbers, arrays and objects.
fn expected_words(expected: &str) -> String {
    match expected {
        "f64" | "f32" => "a number".to_owned(),
        "usize" | "u8" | "u16" | "u32" | "u64" => "a whole number, 0 or more".to_owned(),
        "i8" | "i16" | "i32" | "i64" => "a whole number".to_owned(),
        "a sequence" => "an array".to_owned(),
        "a map" => "an object".to_owned(),
        "fewer elements in array" => "fewer values".to_owned(),
        e if e.starts_with("struct ") => "an object".to_owned(),
        e => e.to_owned(),
    }
}

/// The value serde found, as JSON writes it.
fn got_words(got: &str) -> String {
    let inner = |s: &str| s.split('`').nth(1).unwrap_or(s).to_owned();
    match got {
        "null" | "unit value" => "null".to_owned(),
        "sequence" => "an array".to_owned(),
        "map" => "an object".to_owned(),
        g if g.starts_with("string ") => g["string ".len()..].to_owned(),
        g if g.starts_with("integer ") || g.starts_with("floating point ") || g.starts_with("boolean ") => inner(g),
        g => g.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(input: &str) -> Vec<serde_json::Value> {
        let mut out = Vec::new();
        process(input.as_bytes(), &mut out, &|r: options::BsInput| options::black_scholes(&r)).unwrap();
        String::from_utf8(out).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    }

    #[test]
    fn answers_in_order_with_errors_naming_the_line_and_field() {
        let good = r#"{"kind":"call","spot":100,"strike":100,"rate":0.05,"dividend":0,"volatility":0.2,"expiry":1}"#;
        let input =
            format!("{good}\n\n{{\"kind\":\"put\",\"spot\":100}}\nnot json\n{}\n{good}", good.replace("0.2", "-0.2"));
        let out = run(&input);
        assert_eq!(out.len(), 5);
        assert!((out[0]["price"].as_f64().unwrap() - 10.450_583_572_185_565).abs() < 1e-12);
        assert_eq!(out[1]["line"], 3);
        assert_eq!(out[1]["error"], "strike: missing (required)");
        assert_eq!(out[2]["line"], 4);
        assert!(out[2]["error"].as_str().unwrap().starts_with("invalid JSON"));
        assert_eq!(out[3], serde_json::json!({"line": 5, "error": "volatility: must be a positive number"}));
        assert_eq!(out[4], out[0]);
    }

    #[test]
    fn a_byte_order_mark_before_the_first_request_is_ignored() {
        let good = r#"{"kind":"call","spot":100,"strike":100,"rate":0.05,"dividend":0,"volatility":0.2,"expiry":1}"#;
        let out = run(&format!("\u{feff}{good}\n{good}\n"));
        assert_eq!(out.len(), 2);
        assert!(out[0].get("error").is_none(), "{}", out[0]);
        assert_eq!(out[0], out[1]);
        // Only at the very start: elsewhere it is the line's error.
        let out = run(&format!("{good}\n\u{feff}{good}\n"));
        assert_eq!(out[1]["line"], 2);
    }

    #[test]
    fn many_blocks_keep_order_and_line_numbers() {
        let line = |i: usize| {
            format!(
                r#"{{"kind":"call","spot":{},"strike":100,"rate":0.01,"dividend":0,"volatility":0.2,"expiry":1}}"#,
                if i % 1000 == 7 { -1.0 } else { 50.0 + i as f64 * 1e-3 }
            )
        };
        let n = 60_000; // about 6 MB: more than one block
        let input: String = (0..n).map(|i| line(i) + "\n").collect();
        let out = run(&input);
        assert_eq!(out.len(), n);
        for (i, v) in out.iter().enumerate() {
            if i % 1000 == 7 {
                assert_eq!(v["line"], i + 1);
            } else {
                assert!(v["price"].is_number(), "line {}: {v}", i + 1);
            }
        }
        assert!(out[n - 1]["price"].as_f64().unwrap() > out[0]["price"].as_f64().unwrap());
    }
}
