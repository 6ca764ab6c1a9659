//! The econometrics engines against arch 8.0 and statsmodels 0.15 (fixtures written by
//! simulations/reference/econometrics.py).

use serde_json::Value;
use simulations::econometrics::adf::{adfuller, Autolag};
use simulations::econometrics::coint::{coint, CointRequest};
use simulations::econometrics::garch::{fit, Dist};
use simulations::econometrics::mackinnon::Trend;

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/econometrics/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

fn trend(s: &str) -> Trend {
    match s {
        "c" => Trend::Constant,
        "ct" => Trend::ConstantTrend,
        "n" => Trend::None,
        other => panic!("regression {other}"),
    }
}

fn autolag(v: &Value) -> Option<Autolag> {
    match v.as_str() {
        None => None,
        Some("aic") => Some(Autolag::Aic),
        Some("bic") => Some(Autolag::Bic),
        Some("t-stat") => Some(Autolag::TStat),
        Some(other) => panic!("autolag {other}"),
    }
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-300)
}

/// Every fit converged with a log-likelihood at least arch's; where arch reached the optimum
/// (its log-likelihood within 1e-7 of ours) parameters within 1e-3 relative or 1e-4 absolute
/// of arch and log-likelihood within 1e-4.
#[test]
fn garch_matches_arch_on_72_fits() {
    let mut worst = [0.0f64; 2];
    let (mut count, mut arch_short) = (0, 0);
    for file in ["garch_a.json", "garch_b.json"] {
        let fx = fixture(file);
        for case in fx["cases"].as_array().unwrap() {
            let r = floats(&case["returns"]);
            for (key, dist) in [("normal", Dist::Normal), ("t", Dist::StudentT)] {
                let want = &case[key];
                let got = fit(&r, dist).unwrap();
                count += 1;
                let label = format!("{} ({} returns) {key}", case["label"], r.len());
                assert!(got.converged, "{label}: not converged");
                let ll_want = want["loglik"].as_f64().unwrap();
                // Never a lower maximum than arch's (arch's corner optimum on the 612-return
                // regime-switching series included).
                assert!(got.loglik >= ll_want - 1e-4, "{label}: loglik {} below arch's {ll_want}", got.loglik);
                if got.loglik > ll_want + 1e-7 {
                    // arch's SLSQP (finite-difference gradients) stopped short where the
                    // likelihood is flat in nu; its parameters are not the optimum, so only
                    // the log-likelihood is compared.
                    arch_short += 1;
                    assert!(dist == Dist::StudentT, "{label}");
                    assert!(got.loglik >= ll_want - 1e-6, "{label}");
                    continue;
                }
                let mut pairs =
                    vec![(got.omega, &want["omega"]), (got.alpha, &want["alpha"]), (got.beta, &want["beta"])];
                if dist == Dist::StudentT {
                    pairs.push((got.nu.unwrap(), &want["nu"]));
                } else {
                    assert!(got.nu.is_none());
                }
                for (g, w) in pairs {
                    let w = w.as_f64().unwrap();
                    // 1.0 at the tolerance: 1e-3 relative or 1e-4 absolute, whichever is looser.
                    let err = (rel(g, w) / 1e-3).min((g - w).abs() / 1e-4);
                    worst[0] = worst[0].max(err);
                    assert!(err <= 1.0, "{label}: {g} vs arch {w}");
                }
                worst[1] = worst[1].max((ll_want - got.loglik).abs());
                assert!((got.loglik - ll_want).abs() <= 1e-4, "{label}: loglik {} vs arch {ll_want}", got.loglik);
                let f = &want["forecast"];
                for (g, k) in [(got.forecast.day1, "1"), (got.forecast.day5, "5"), (got.forecast.day20, "20")] {
                    assert!(rel(g, f[k].as_f64().unwrap()) < 1e-2, "{label}: forecast {k}: {g} vs {}", f[k]);
                }
                let annual = f["252"].as_f64().unwrap().sqrt();
                assert!(rel(got.forecast.annualized, annual) < 1e-2, "{label}: annualized");
            }
        }
    }
    assert_eq!(count, 72);
    assert!(arch_short <= 12, "{arch_short} fits where arch stopped short");
    eprintln!(
        "garch: {} fits compared, worst parameter error {:.3} of the tolerance, worst |loglik difference| {:.2e}; \
         {arch_short} fits where arch stopped short (our loglik higher); all converged, none below arch",
        count - arch_short,
        worst[0],
        worst[1]
    );
}

fn check_adf(x: &[f64], t: &Value, label: &str, worst: &mut [f64; 2]) {
    let maxlag = t["maxlag"].as_u64().map(|m| m as usize);
    let got = adfuller(x, trend(t["regression"].as_str().unwrap()), maxlag, autolag(&t["autolag"])).unwrap();
    let what = format!("{label}: {t}");
    assert_eq!(got.usedlag as u64, t["usedlag"].as_u64().unwrap(), "{what}");
    assert_eq!(got.nobs as u64, t["nobs"].as_u64().unwrap(), "{what}");
    let (stat, p) = (t["stat"].as_f64().unwrap(), t["pvalue"].as_f64().unwrap());
    worst[0] = worst[0].max(rel(got.stat, stat));
    assert!(rel(got.stat, stat) <= 1e-8, "{what}: stat {}", got.stat);
    let perr = if p == 0.0 || p == 1.0 { (got.pvalue - p).abs() } else { rel(got.pvalue, p) };
    worst[1] = worst[1].max(perr);
    assert!(perr <= 1e-8, "{what}: pvalue {}", got.pvalue);
    let cv = &t["critical_values"];
    for (g, k) in [(got.critical_values.one, "1%"), (got.critical_values.five, "5%"), (got.critical_values.ten, "10%")]
    {
        assert!(rel(g, cv[k].as_f64().unwrap()) < 1e-12, "{what}: {k}");
    }
}

/// Statistic and p-value within 1e-8 relative of statsmodels' adfuller, lag and nobs equal.
#[test]
fn adf_matches_statsmodels_on_random_series_and_macrodata() {
    let fx = fixture("adf.json");
    let mut worst = [0.0f64; 2];
    let mut count = 0;
    for group in ["series", "macrodata"] {
        for s in fx[group].as_array().unwrap() {
            let x = floats(&s["series"]);
            for t in s["tests"].as_array().unwrap() {
                check_adf(&x, t, s["label"].as_str().unwrap(), &mut worst);
                count += 1;
            }
        }
    }
    assert!(count >= 500, "{count}");
    eprintln!("adf: {count} tests, worst relative error: stat {:.2e}, p-value {:.2e}", worst[0], worst[1]);
}

/// The published Stata values statsmodels tests against (macrodata CPI inflation and real
/// GDP), to their published digits.
#[test]
fn adf_reproduces_the_published_macrodata_values() {
    let fx = fixture("adf.json");
    for p in fx["published"].as_array().unwrap() {
        let name = p["series"].as_str().unwrap();
        let data =
            fx["macrodata"].as_array().unwrap().iter().find(|m| m["label"] == format!("macrodata {name}")).unwrap();
        let x = floats(&data["series"]);
        let maxlag = p["maxlag"].as_u64().unwrap() as usize;
        let got = adfuller(&x, trend(p["regression"].as_str().unwrap()), Some(maxlag), None).unwrap();
        assert!((got.stat - p["stat"].as_f64().unwrap()).abs() < 1e-5, "{p}: {}", got.stat);
        assert!((got.pvalue - p["pvalue"].as_f64().unwrap()).abs() < 1e-5, "{p}: {}", got.pvalue);
        let cv = floats(&p["critical_values"]);
        for (g, w) in [got.critical_values.one, got.critical_values.five, got.critical_values.ten].iter().zip(cv) {
            assert!((g - w).abs() < 1.5e-2, "{p}: {g} vs {w}"); // statsmodels checks Stata's (MacKinnon 1994) values to 2 decimals
        }
    }
}

/// Engle-Granger statistic, p-value and critical values as statsmodels' coint; hedge ratio
/// and half-life as numpy's least squares.
#[test]
fn coint_matches_statsmodels() {
    let fx = fixture("coint.json");
    let mut worst = 0.0f64;
    let mut reverting = 0;
    for p in fx["pairs"].as_array().unwrap() {
        let req = CointRequest { y: floats(&p["y"]), x: floats(&p["x"]), window: None, entry: None, exit: None };
        let got = coint(&req).unwrap();
        let label = p["label"].as_str().unwrap();
        let stat = p["stat"].as_f64().unwrap();
        worst = worst.max(rel(got.stat, stat));
        assert!(rel(got.stat, stat) < 1e-8, "{label}: stat {} vs {stat}", got.stat);
        assert!(rel(got.pvalue, p["pvalue"].as_f64().unwrap()) < 1e-8, "{label}: pvalue");
        assert!(rel(got.hedge_ratio, p["hedge_ratio"].as_f64().unwrap()) < 1e-9, "{label}: hedge ratio");
        assert!(rel(got.intercept, p["intercept"].as_f64().unwrap()) < 1e-8, "{label}: intercept");
        match p["half_life"].as_f64() {
            Some(h) => {
                reverting += 1;
                assert!(rel(got.half_life.unwrap(), h) < 1e-8, "{label}: half-life");
            }
            None => assert!(got.half_life.is_none(), "{label}: half-life {:?}", got.half_life),
        }
        let cv = floats(&p["critical_values"]);
        for (g, w) in [got.critical_values.one, got.critical_values.five, got.critical_values.ten].iter().zip(cv) {
            assert!(rel(*g, w) < 1e-12, "{label}: critical value");
        }
    }
    assert!(reverting >= 15);
    eprintln!("coint: worst relative stat error {worst:.2e}");
}
