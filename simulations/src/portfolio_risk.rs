//! The risk of a portfolio as it is held today: a daily return history built from its
//! holdings' split-adjusted price histories ([`adjusted_closes`]) at today's weights, VaR and
//! CVaR of that history (historical, and parametric normal over one day and over a horizon),
//! annualized volatility, and the Monte Carlo probability that the portfolio sustains the
//! classic "4% rule" withdrawal.
//!
//! The parametric figures are fitted to the daily log returns `ln(1 + r)` and stated as losses
//! of value, `1 − e^q` for the log-return quantile `q` ([`risk::LOG_BASIS`]); over `h` days the
//! log returns' mean is `h` times and their sd `√h` times the daily one. So no VaR or CVaR of
//! a long-only portfolio exceeds 1 (100% of its value), however volatile it is.
//!
//! The Monte Carlo plan of a portfolio that has none of its own ([`default_plan`]):
//! today's weights; each holding's expected return and volatility estimated from its daily
//! returns and shrunk towards a prior ([`PRIOR_RETURN`], [`PRIOR_VOLATILITY`]) with the weight
//! of the history growing with its length; correlations estimated from the aligned returns and
//! shrunk towards 0 the same way; 30 years of monthly steps; an inflation-adjusted withdrawal of
//! 4% of today's value every year, raised by 2.5% inflation; a fixed seed (1994, the year of
//! Bengen's 4% paper) and 2,000 paths, so the same inputs always give the same probability.
//!
//! Everything here is pure: the caller reads prices and holdings and converts them to `f64` at
//! the call.

use serde::Serialize;

use crate::monte_carlo::{self, Plan};
use crate::risk;
use crate::SimError;

/// Trading days per year (annualizing daily figures).
pub const TRADING_DAYS: f64 = 252.0;
/// The expected annual return of an asset whose history says little (arithmetic).
pub const PRIOR_RETURN: f64 = 0.06;
/// The annual volatility of an asset whose history says little.
pub const PRIOR_VOLATILITY: f64 = 0.16;
/// Daily observations worth as much as the prior for the mean (ten years: sample means of
/// daily returns are very noisy).
pub const MEAN_PRIOR_DAYS: f64 = 2520.0;
/// Daily observations worth as much as the prior for volatilities and correlations.
pub const VOLATILITY_PRIOR_DAYS: f64 = 60.0;
/// Fewest portfolio returns for VaR and volatility (fewer gives none, with a note).
pub const MIN_OBSERVATIONS: usize = 5;

/// One holding: its market value today, its daily bars and the splits of its symbol that the
/// ledger knows of.
#[derive(Debug, Clone, PartialEq)]
pub struct Holding {
    pub symbol: String,
    pub value: f64,
    pub bars: Vec<Bar>,
    pub splits: Vec<Split>,
}

/// A daily bar: its day number, its close and, when the source gives one, its adjusted close
/// (for splits and dividends).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bar {
    pub day: i64,
    pub close: f64,
    pub adj_close: Option<f64>,
}

/// A split of a symbol: from `day` (the ledger row's trade date, the first day priced after
/// it) every old share is `ratio` shares (2 for 2:1, 0.1 for a 1:10 reverse split).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Split {
    pub day: i64,
    pub ratio: f64,
}

/// The split-adjusted closes of one symbol by day (ascending, one per day): a level series
/// whose ratio from one bar to the next is the return a holder had. Between two bars that both
/// have an adjusted close the return is theirs (the source's adjustment, dividends included);
/// otherwise it is close to close, the later close multiplied by the ratio of every split on a
/// day after the earlier bar and up to the later one, so that a 2:1 split is not a −50% day.
/// The same split listed twice (a row in each account holding the symbol) counts once. Bars
/// without a positive finite close are dropped, an adjusted close that is not positive and
/// finite is ignored, and the last day of a repeated day wins. The series ends at the last
/// bar's adjusted close if it has one, else its close (only ratios matter).
pub fn adjusted_closes(bars: &[Bar], splits: &[Split]) -> Vec<(i64, f64)> {
    let valid = |x: f64| x.is_finite() && x > 0.0;
    let mut by_day: std::collections::BTreeMap<i64, Bar> = std::collections::BTreeMap::new();
    for b in bars.iter().filter(|b| valid(b.close)) {
        by_day.insert(b.day, Bar { adj_close: b.adj_close.filter(|a| valid(*a)), ..*b });
    }
    let mut known: Vec<(i64, u64)> =
        splits.iter().filter(|s| valid(s.ratio)).map(|s| (s.day, s.ratio.to_bits())).collect();
    known.sort_unstable();
    known.dedup();
    let bars: Vec<Bar> = by_day.into_values().collect();
    let Some(last) = bars.last() else { return Vec::new() };
    let mut levels = vec![0.0; bars.len()];
    levels[bars.len() - 1] = last.adj_close.unwrap_or(last.close);
    for i in (0..bars.len() - 1).rev() {
        let (a, b) = (bars[i], bars[i + 1]);
        let gross = match (a.adj_close, b.adj_close) {
            (Some(x), Some(y)) => y / x,
            _ => {
                let ratio: f64 = known
                    .iter()
                    .filter(|(day, _)| a.day < *day && *day <= b.day)
                    .map(|(_, r)| f64::from_bits(*r))
                    .product();
                b.close * ratio / a.close
            }
        };
        levels[i] = levels[i + 1] / gross;
    }
    bars.iter().zip(levels).map(|(b, l)| (b.day, l)).collect()
}

/// What to compute.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Confidence levels of VaR and CVaR.
    pub confidence: Vec<f64>,
    /// The longer horizon, in trading days (parametric normal: mean × h, sd × √h).
    pub horizon_days: u32,
    pub years: u32,
    /// The yearly withdrawal as a fraction of today's value, raised with inflation.
    pub withdrawal_rate: f64,
    pub inflation: f64,
    pub paths: usize,
    pub seed: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            confidence: vec![0.95, 0.99],
            horizon_days: 21,
            years: 30,
            withdrawal_rate: 0.04,
            inflation: 0.025,
            paths: 2_000,
            seed: 1_994,
        }
    }
}

/// VaR and CVaR at one confidence, as positive fractions of the portfolio's value (at most 1).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tail {
    pub confidence: f64,
    /// Of the daily returns themselves.
    pub historical_var: f64,
    pub historical_cvar: f64,
    /// One day, normal on the daily log returns ([`risk::lognormal_var`]).
    pub parametric_var: f64,
    pub parametric_cvar: f64,
    /// Over `horizon_days`, normal on the log returns (mean × h, sd × √h).
    pub horizon_var: f64,
    pub horizon_cvar: f64,
}

/// The assessment of one portfolio.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assessment {
    /// The share of the value whose holdings have a return history.
    pub coverage: f64,
    /// Daily portfolio returns used.
    pub observations: usize,
    /// The first and last day (day numbers) of the return history.
    pub first_day: Option<i64>,
    pub last_day: Option<i64>,
    pub volatility: Option<f64>,
    /// One per confidence, when there are enough observations.
    pub tail: Vec<Tail>,
    pub success_probability: Option<f64>,
    /// What the figures leave out or could not compute.
    pub notes: Vec<String>,
}

/// Daily simple returns of each series over the days on which every series has a close:
/// the common days, and per series the returns from each common day to the next.
pub fn aligned_returns(series: &[&[(i64, f64)]]) -> (Vec<i64>, Vec<Vec<f64>>) {
    let Some((first, rest)) = series.split_first() else { return (Vec::new(), Vec::new()) };
    let mut days: Vec<i64> = first.iter().map(|(d, _)| *d).collect();
    for s in rest {
        let have: std::collections::BTreeSet<i64> = s.iter().map(|(d, _)| *d).collect();
        days.retain(|d| have.contains(d));
    }
    let returns = series
        .iter()
        .map(|s| {
            let closes: std::collections::BTreeMap<i64, f64> = s.iter().copied().collect();
            days.windows(2).map(|w| closes[&w[1]] / closes[&w[0]] - 1.0).collect()
        })
        .collect();
    (days, returns)
}

/// The returns of a constant-mix portfolio: on each day, the weighted sum of the assets'
/// returns (weights as given, normally summing to 1).
pub fn portfolio_returns(asset_returns: &[Vec<f64>], weights: &[f64]) -> Vec<f64> {
    let n = asset_returns.first().map_or(0, Vec::len);
    (0..n).map(|t| asset_returns.iter().zip(weights).map(|(r, w)| w * r[t]).sum()).collect()
}

/// `sample` shrunk towards `prior`, the sample weighing `n / (n + prior_n)`.
pub fn shrink(sample: f64, prior: f64, n: usize, prior_n: f64) -> f64 {
    let w = n as f64 / (n as f64 + prior_n);
    w * sample + (1.0 - w) * prior
}

/// Annual expected return and volatility of one asset from its daily returns, shrunk towards
/// the priors (the prior alone for fewer than two returns).
pub fn estimate_asset(returns: &[f64]) -> (f64, f64) {
    let (Ok(mean), Ok(sd)) = (crate::risk::mean(returns), crate::risk::sample_sd(returns)) else {
        return (PRIOR_RETURN, PRIOR_VOLATILITY);
    };
    let (n, var) = (returns.len(), sd * sd);
    let mu = shrink(mean * TRADING_DAYS, PRIOR_RETURN, n, MEAN_PRIOR_DAYS);
    let sigma2 = shrink(var * TRADING_DAYS, PRIOR_VOLATILITY * PRIOR_VOLATILITY, n, VOLATILITY_PRIOR_DAYS);
    (mu.clamp(-0.5, 0.5), sigma2.sqrt().clamp(0.01, 1.5))
}

/// The sample correlation of aligned returns, shrunk towards 0 off the diagonal (so it stays a
/// correlation matrix: a convex mix of one and the identity). A constant series correlates 0.
pub fn estimate_correlation(asset_returns: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let k = asset_returns.len();
    let n = asset_returns.first().map_or(0, Vec::len);
    let centred: Vec<Vec<f64>> = asset_returns
        .iter()
        .map(|r| {
            let m = if n == 0 { 0.0 } else { r.iter().sum::<f64>() / n as f64 };
            r.iter().map(|x| x - m).collect()
        })
        .collect();
    let norm: Vec<f64> = centred.iter().map(|c| c.iter().map(|x| x * x).sum::<f64>().sqrt()).collect();
    let w = n as f64 / (n as f64 + VOLATILITY_PRIOR_DAYS);
    (0..k)
        .map(|i| {
            (0..k)
                .map(|j| {
                    if i == j {
                        1.0
                    } else if norm[i] > 0.0 && norm[j] > 0.0 {
                        let dot: f64 = centred[i].iter().zip(&centred[j]).map(|(a, b)| a * b).sum();
                        (w * dot / (norm[i] * norm[j])).clamp(-1.0, 1.0)
                    } else {
                        0.0
                    }
                })
                .collect()
        })
        .collect()
}

/// The plan of a portfolio without one of its own (see the module documentation): assets
/// `(symbol, weight, expected return, volatility)`, their correlation, today's value.
pub fn default_plan(
    assets: &[(String, f64, f64, f64)],
    correlation: Vec<Vec<f64>>,
    value: f64,
    settings: &Settings,
) -> Result<Plan, SimError> {
    let assets: Vec<serde_json::Value> = assets
        .iter()
        .map(|(name, weight, mu, sigma)| {
            serde_json::json!({ "name": name, "expected_return": mu, "volatility": sigma, "weight": weight })
        })
        .collect();
    // Built from a document rather than the structs, so that fields the engine adds later (with
    // defaults) need no change here.
    let doc = serde_json::json!({
        "initial_wealth": value,
        "years": settings.years,
        "model": { "assets": assets, "correlation": correlation, "steps_per_year": 12 },
        "cash_flows": {
            "annual_withdrawal": value * settings.withdrawal_rate,
            "retire_after_years": 0,
            "inflation": settings.inflation,
        },
        "paths": settings.paths,
        "seed": settings.seed,
    });
    serde_json::from_value(doc).map_err(|e| SimError::Invalid { field: "plan".into(), problem: e.to_string() })
}

/// Assesses a portfolio of `holdings` (see the module documentation). Holdings without a value
/// are left out; holdings with fewer than two closes are left out of the return history and
/// get the prior in the Monte Carlo plan, and each omission is noted.
pub fn assess(holdings: &[Holding], settings: &Settings) -> Assessment {
    let mut notes = Vec::new();
    let held: Vec<&Holding> = holdings.iter().filter(|h| h.value.is_finite() && h.value > 0.0).collect();
    let total: f64 = held.iter().map(|h| h.value).sum();
    let mut out = Assessment {
        coverage: 0.0,
        observations: 0,
        first_day: None,
        last_day: None,
        volatility: None,
        tail: Vec::new(),
        success_probability: None,
        notes: Vec::new(),
    };
    if held.is_empty() {
        out.notes.push("no priced holdings".into());
        return out;
    }
    // The return history: holdings with at least two closes, aligned on their common days.
    let closes: Vec<Vec<(i64, f64)>> = held.iter().map(|h| adjusted_closes(&h.bars, &h.splits)).collect();
    let (with_history, without): (Vec<usize>, Vec<usize>) = (0..held.len()).partition(|&i| closes[i].len() >= 2);
    for &i in &without {
        notes.push(format!("{}: no price history, left out of the return history", held[i].symbol));
    }
    let series: Vec<&[(i64, f64)]> = with_history.iter().map(|&i| closes[i].as_slice()).collect();
    let (days, asset_returns) = aligned_returns(&series);
    let covered: f64 = with_history.iter().map(|&i| held[i].value).sum();
    out.coverage = covered / total;
    let history_weights: Vec<f64> = with_history.iter().map(|&i| held[i].value / covered).collect();
    let returns = portfolio_returns(&asset_returns, &history_weights);
    out.observations = returns.len();
    if !returns.is_empty() {
        out.first_day = days.first().copied();
        out.last_day = days.last().copied();
    }
    match risk::summarize(&returns, TRADING_DAYS, &settings.confidence) {
        Ok(summary) if returns.len() >= MIN_OBSERVATIONS => {
            out.volatility = Some(summary.volatility);
            let h = f64::from(settings.horizon_days);
            // Returns from positive closes are above -100%, so the log returns exist.
            match summary.log_moments {
                Some(log) => {
                    let (m, sd) = (log.mean, log.sd);
                    out.tail = summary
                        .tail
                        .iter()
                        .map(|t| Tail {
                            confidence: t.confidence,
                            historical_var: t.historical_var,
                            historical_cvar: t.historical_cvar,
                            parametric_var: risk::lognormal_var(m, sd, t.confidence),
                            parametric_cvar: risk::lognormal_cvar(m, sd, t.confidence),
                            horizon_var: risk::lognormal_var(m * h, sd * h.sqrt(), t.confidence),
                            horizon_cvar: risk::lognormal_cvar(m * h, sd * h.sqrt(), t.confidence),
                        })
                        .collect();
                }
                None => notes.push("VaR: the daily returns have no log returns".into()),
            }
        }
        Ok(_) | Err(risk::RiskError::TooFew { .. } | risk::RiskError::Empty) => notes.push(format!(
            "{} daily returns on common days: at least {MIN_OBSERVATIONS} are needed for VaR",
            returns.len()
        )),
        Err(e) => notes.push(format!("VaR: {e}")),
    }
    // The Monte Carlo plan: every priced holding, history or not.
    let index_of = |i: usize| with_history.iter().position(|&j| j == i);
    let assets: Vec<(String, f64, f64, f64)> = (0..held.len())
        .map(|i| {
            let (mu, sigma) =
                index_of(i).map_or((PRIOR_RETURN, PRIOR_VOLATILITY), |k| estimate_asset(&asset_returns[k]));
            (held[i].symbol.clone(), held[i].value / total, mu, sigma)
        })
        .collect();
    let estimated = estimate_correlation(&asset_returns);
    let correlation: Vec<Vec<f64>> = (0..held.len())
        .map(|i| {
            (0..held.len())
                .map(|j| match (index_of(i), index_of(j)) {
                    _ if i == j => 1.0,
                    (Some(a), Some(b)) => estimated[a][b],
                    _ => 0.0,
                })
                .collect()
        })
        .collect();
    match default_plan(&assets, correlation, total, settings).and_then(|plan| monte_carlo::run(&plan, 1)) {
        Ok(outcome) => {
            out.success_probability = Some(outcome.success_probability);
            notes.extend(outcome.warnings);
        }
        Err(e) => notes.push(format!("Monte Carlo: {e}")),
    }
    out.notes = notes;
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) {
        assert!((a - b).abs() <= tol, "{a} vs {b}");
    }

    #[test]
    fn returns_are_aligned_on_the_days_every_series_has() {
        let a = [(1, 100.0), (2, 110.0), (3, 99.0), (5, 99.0)];
        let b = [(1, 50.0), (3, 55.0), (4, 60.0), (5, 66.0)];
        let (days, r) = aligned_returns(&[&a, &b]);
        assert_eq!(days, vec![1, 3, 5]);
        close(r[0][0], -0.01, 1e-12);
        close(r[0][1], 0.0, 1e-12);
        close(r[1][0], 0.1, 1e-12);
        close(r[1][1], 0.2, 1e-12);
        let p = portfolio_returns(&r, &[0.75, 0.25]);
        close(p[0], 0.75 * -0.01 + 0.25 * 0.1, 1e-12);
        close(p[1], 0.25 * 0.2, 1e-12);
        assert_eq!(aligned_returns(&[]), (vec![], vec![]));
    }

    #[test]
    fn estimates_shrink_towards_the_prior_when_history_is_short() {
        assert_eq!(estimate_asset(&[0.01]), (PRIOR_RETURN, PRIOR_VOLATILITY));
        // Ten days of +1%: the sample says 252% a year, the shrunk estimate stays near the prior.
        let (mu, sigma) = estimate_asset(&[0.01, 0.011, 0.009, 0.01, 0.01, 0.012, 0.008, 0.01, 0.01, 0.01]);
        assert!(mu > PRIOR_RETURN && mu < 0.1, "{mu}");
        assert!(sigma < PRIOR_VOLATILITY && sigma > 0.1, "{sigma}");
        let c = estimate_correlation(&[vec![0.01, -0.02, 0.03], vec![0.02, -0.04, 0.06], vec![0.0, 0.0, 0.0]]);
        assert_eq!(c[0][0], 1.0);
        close(c[0][1], 3.0 / 63.0, 1e-9);
        assert_eq!(c[0][2], 0.0);
    }

    fn walk(days: i64, start: f64, step: impl Fn(i64) -> f64) -> Vec<Bar> {
        let mut p = start;
        (0..days)
            .map(|d| {
                p *= 1.0 + step(d);
                Bar { day: d, close: p, adj_close: None }
            })
            .collect()
    }

    fn holding(symbol: &str, value: f64, bars: Vec<Bar>) -> Holding {
        Holding { symbol: symbol.into(), value, bars, splits: Vec::new() }
    }

    fn bar(day: i64, close: f64) -> Bar {
        Bar { day, close, adj_close: None }
    }

    #[test]
    fn closes_are_adjusted_for_known_splits_and_adjusted_closes() {
        // A 2:1 split on day 3: the close halves, the holder's wealth does not.
        let bars = [bar(1, 100.0), bar(2, 102.0), bar(3, 51.5), bar(5, 52.0)];
        let split = Split { day: 3, ratio: 2.0 };
        let adjusted = adjusted_closes(&bars, &[split]);
        let r: Vec<f64> = adjusted.windows(2).map(|w| w[1].1 / w[0].1 - 1.0).collect();
        close(r[0], 0.02, 1e-12);
        close(r[1], 103.0 / 102.0 - 1.0, 1e-12);
        close(r[2], 52.0 / 51.5 - 1.0, 1e-12);
        assert_eq!(adjusted.last(), Some(&(5, 52.0)));
        // Without the split it is a -50% day; the same split from two accounts counts once; a
        // split on a day without a bar applies to the return across it; 1:10 reverse splits too.
        close(adjusted_closes(&bars, &[])[2].1 / adjusted_closes(&bars, &[])[1].1, 51.5 / 102.0, 1e-12);
        assert_eq!(adjusted_closes(&bars, &[split, split]), adjusted);
        let gap = adjusted_closes(&bars, &[Split { day: 4, ratio: 2.0 }]);
        close(gap[3].1 / gap[2].1, 104.0 / 51.5, 1e-12);
        let reverse = adjusted_closes(&[bar(1, 1.0), bar(2, 10.5)], &[Split { day: 2, ratio: 0.1 }]);
        close(reverse[1].1 / reverse[0].1, 1.05, 1e-12);
        // Where both bars have an adjusted close, its ratio is the return (the source adjusted
        // for the split and a dividend already: the ledger's split is not applied again).
        let with_adj = [
            Bar { day: 1, close: 100.0, adj_close: Some(49.0) },
            Bar { day: 3, close: 51.0, adj_close: Some(51.0) },
            Bar { day: 4, close: 50.0, adj_close: None },
        ];
        let a = adjusted_closes(&with_adj, &[split]);
        close(a[1].1 / a[0].1, 51.0 / 49.0, 1e-12);
        close(a[2].1 / a[1].1, 50.0 / 51.0, 1e-12);
        // Unusable closes are dropped, an unusable adjusted close ignored.
        let bad = [bar(1, 10.0), bar(2, f64::NAN), Bar { day: 3, close: 11.0, adj_close: Some(-1.0) }, bar(4, 0.0)];
        assert_eq!(adjusted_closes(&bad, &[]), vec![(1, 10.0), (3, 11.0)]);
        assert!(adjusted_closes(&[], &[split]).is_empty());
    }

    /// A holding whose price halves at a 2:1 split the ledger knows of: its risk is that of
    /// its small daily moves, not of a -50% day.
    #[test]
    fn a_known_split_is_not_a_loss_in_the_risk_history() {
        let mut bars = walk(120, 100.0, |d| ((d * 5) % 9 - 4) as f64 / 1000.0);
        for b in bars.iter_mut().filter(|b| b.day >= 60) {
            b.close /= 2.0;
        }
        let settings = Settings { paths: 200, ..Settings::default() };
        let unadjusted = assess(&[holding("AAA", 1000.0, bars.clone())], &settings);
        // The -50% day is the worst of 119: the 99% CVaR averages it with the next worst.
        assert!(unadjusted.tail[1].historical_cvar > 0.2, "{:?}", unadjusted.tail);
        assert!(unadjusted.tail[1].parametric_var > 0.05, "{:?}", unadjusted.tail);
        let split = Holding { splits: vec![Split { day: 60, ratio: 2.0 }], ..holding("AAA", 1000.0, bars) };
        let a = assess(&[split], &settings);
        for t in &a.tail {
            assert!(t.historical_var < 0.01 && t.parametric_var < 0.01 && t.horizon_var < 0.05, "{t:?}");
        }
        assert!(a.volatility.unwrap() < 0.1, "{:?}", a.volatility);
    }

    /// Daily swings of +60% and -45%: the normal fit to simple returns would put the one-day
    /// 99% VaR above 100% and the 21-day one far above; on log returns every figure stays below 1.
    #[test]
    fn a_very_volatile_portfolio_never_loses_more_than_its_value() {
        let bars = walk(200, 100.0, |d| if d % 2 == 0 { 0.6 } else { -0.45 });
        let returns: Vec<f64> = bars.windows(2).map(|w| w[1].close / w[0].close - 1.0).collect();
        let (m, sd) = (risk::mean(&returns).unwrap(), risk::sample_sd(&returns).unwrap());
        assert!(risk::parametric_var(m, sd, 0.99) > 1.0);
        assert!(risk::parametric_var(m * 21.0, sd * 21f64.sqrt(), 0.99) > 3.0);
        let a = assess(&[holding("WILD", 1000.0, bars)], &Settings { paths: 200, ..Settings::default() });
        assert_eq!(a.tail.len(), 2);
        for t in &a.tail {
            let figures = [
                t.historical_var,
                t.historical_cvar,
                t.parametric_var,
                t.parametric_cvar,
                t.horizon_var,
                t.horizon_cvar,
            ];
            assert!(figures.iter().all(|x| (0.0..1.0).contains(x)), "{t:?}");
            assert!(t.horizon_cvar >= t.horizon_var && t.horizon_var > t.parametric_var, "{t:?}");
        }
    }

    #[test]
    fn a_portfolio_is_assessed_and_the_same_inputs_give_the_same_numbers() {
        let holdings = vec![
            holding("AAA", 6000.0, walk(300, 100.0, |d| ((d * 7) % 11 - 5) as f64 / 400.0)),
            holding("BBB", 4000.0, walk(300, 50.0, |d| ((d * 3) % 7 - 3) as f64 / 700.0)),
            holding("NEW", 0.0, vec![]),
            holding("IPO", 1000.0, vec![bar(299, 10.0)]),
        ];
        let a = assess(&holdings, &Settings::default());
        assert_eq!(a.observations, 299);
        close(a.coverage, 10_000.0 / 11_000.0, 1e-12);
        assert!(a.notes.iter().any(|n| n.contains("IPO")), "{:?}", a.notes);
        let t95 = &a.tail[0];
        assert!(t95.historical_var > 0.0 && t95.historical_var < 0.05, "{t95:?}");
        assert!(t95.historical_cvar >= t95.historical_var);
        assert!(a.tail[1].historical_var >= t95.historical_var);
        assert!(t95.horizon_var > t95.parametric_var);
        let p = a.success_probability.unwrap();
        assert!((0.0..=1.0).contains(&p));
        assert_eq!(assess(&holdings, &Settings::default()), a);
    }

    #[test]
    fn too_little_history_is_said_not_failed() {
        let a = assess(&[holding("X", 10.0, vec![bar(1, 1.0), bar(2, 1.1)])], &Settings::default());
        assert_eq!(a.observations, 1);
        assert!(a.tail.is_empty() && a.volatility.is_none());
        assert!(a.notes[0].contains("at least 5"), "{:?}", a.notes);
        assert!(a.success_probability.is_some());
        let none = assess(&[], &Settings::default());
        assert_eq!(none.notes, vec!["no priced holdings".to_owned()]);
    }
}
