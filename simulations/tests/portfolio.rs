//! simulations::optimize against PyPortfolioOpt, Riskfolio-Lib and cvxpy (fixtures from
//! simulations/reference/portfolio.py on PyPortfolioOpt's stock_prices.csv).

use nalgebra::DMatrix;
use serde_json::Value;
use simulations::optimize::{covariance, hrp, optimize, Request};

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/portfolio/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn matrix(v: &Value) -> DMatrix<f64> {
    let rows: Vec<Vec<f64>> = serde_json::from_value(v.clone()).unwrap();
    DMatrix::from_fn(rows.len(), rows[0].len(), |i, j| rows[i][j])
}

fn vector(v: &Value) -> Vec<f64> {
    serde_json::from_value(v.clone()).unwrap()
}

fn stock_returns() -> DMatrix<f64> {
    covariance::returns_from_prices(&matrix(&fixture("optimizers.json")["data"]["stock_prices"]))
}

fn max_rel(a: &DMatrix<f64>, b: &DMatrix<f64>) -> f64 {
    let scale = b.amax();
    (a - b).amax() / scale
}

#[test]
fn estimators_match_pyportfolioopt() {
    let f = fixture("estimators.json");
    let r = stock_returns();
    assert!(max_rel(&covariance::sample_cov(&r, 252.0), &matrix(&f["sample_cov"])) < 1e-12);
    let (lw, s) = covariance::ledoit_wolf(&r, 252.0);
    assert!(max_rel(&lw, &matrix(&f["ledoit_wolf"])) < 1e-12);
    assert!((s - f["ledoit_wolf_shrinkage"].as_f64().unwrap()).abs() < 1e-12);
    assert!(max_rel(&covariance::ewma_cov(&r, 180.0, 252.0), &matrix(&f["ewma"])) < 1e-12);
    assert!(max_rel(&covariance::ewma_cov(&r, 60.0, 252.0), &matrix(&f["ewma_span_60"])) < 1e-12);
    let mu = covariance::mean_historical_return(&r, 252.0);
    for (a, b) in mu.iter().zip(vector(&f["mean_historical_return"])) {
        assert!((a - b).abs() < 1e-12, "{a} {b}");
    }
}

/// Runs a fixture's request (its "data" replaced by the prices) through `optimize`.
fn run(case: &Value, data: &Value) -> simulations::optimize::Response {
    let mut req = case["request"].clone();
    let obj = req.as_object_mut().unwrap();
    let name = obj.remove("data").unwrap();
    obj.insert("prices".into(), data[name.as_str().unwrap()].clone());
    let req: Request = serde_json::from_value(req).unwrap();
    optimize(&req).unwrap_or_else(|e| panic!("{}: {e}", case["name"]))
}

#[test]
fn optimizers_match_the_references_to_1e_4_in_weights() {
    let f = fixture("optimizers.json");
    let mut worst = (0.0f64, String::new());
    let mut count = 0;
    for case in f["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let out = run(case, &f["data"]);
        let w: Vec<f64> = out.weights.0.iter().map(|(_, v)| *v).collect();
        assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-8, "{name}: weights sum to {}", w.iter().sum::<f64>());
        if let Some(cvar) = case["cvar"].as_f64() {
            let got = out.cvar.unwrap();
            assert!((got - cvar).abs() < 1e-7, "{name}: CVaR {got} vs {cvar}");
            if !case["unique"].as_bool().unwrap() {
                // The LP's optimal face is not a point: any optimal weights are right.
                continue;
            }
        }
        if let Some(post) = case.get("posterior_returns") {
            let got: Vec<f64> = out.posterior_returns.as_ref().unwrap().0.iter().map(|(_, v)| *v).collect();
            for (a, b) in got.iter().zip(vector(post)) {
                assert!((a - b).abs() < 1e-12, "{name}: posterior {a} vs {b}");
            }
        }
        let expected = vector(&case["weights"]);
        let err = w.iter().zip(&expected).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
        assert!(err < 1e-4, "{name}: max weight error {err}\n got {w:?}\n want {expected:?}");
        if err > worst.0 {
            worst = (err, name.to_owned());
        }
        count += 1;
    }
    assert!(count >= 70, "only {count} cases compared");
    eprintln!("{count} cases; worst weight error {:.2e} ({})", worst.0, worst.1);
}

#[test]
fn hrp_weights_are_exactly_pyportfolioopts() {
    let f = fixture("hrp.json");
    let mut worst = 0.0f64;
    for case in f["cases"].as_array().unwrap() {
        let expected = vector(&case["weights"]);
        let mut req = serde_json::json!({"method": "hrp", "assets": case["assets"]});
        for key in ["returns", "covariance"] {
            if case.get(key).is_some() {
                req[key] = case[key].clone();
            }
        }
        let out = optimize(&serde_json::from_value(req).unwrap()).unwrap();
        for ((_, a), b) in out.weights.0.iter().zip(&expected) {
            let err = (a - b).abs();
            worst = worst.max(err);
            assert!(err < 1e-12, "{}: {a} vs {b}", case["name"]);
        }
    }
    eprintln!("HRP: {} cases, worst error {worst:.1e}", f["cases"].as_array().unwrap().len());
}

#[test]
fn hrp_order_follows_the_dendrogram() {
    let r = stock_returns();
    let corr = covariance::correlation(&r);
    let w = hrp::hrp(&covariance::sample_cov_raw(&r), &corr).unwrap();
    assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    assert!(w.iter().all(|&v| v > 0.0));
}

fn base(method: &str) -> Value {
    let f = fixture("optimizers.json");
    serde_json::json!({
        "method": method,
        "assets": ["GOOG","AAPL","META","BABA","AMZN","GE","AMD","WMT","BAC","GM","T","UAA","XOM","RRC","BBY","MA","PFE","JPM","SBUX"],
        "prices": f["data"]["stock_prices"],
    })
}

fn error_of(req: Value) -> String {
    optimize(&serde_json::from_value(req).unwrap()).unwrap_err().to_string()
}

#[test]
fn infeasible_constraints_name_the_field() {
    let mut r = base("min_variance");
    r["bounds"] = serde_json::json!([0.0, 0.04]);
    assert!(error_of(r).starts_with("bounds: infeasible"));
    let mut r = base("max_sharpe");
    r["groups"] = serde_json::json!([{"assets": ["GOOG", "AAPL"], "min": 0.5}, {"assets": ["AAPL", "XOM"], "max": 0.1},
                                     {"assets": ["GOOG"], "max": 0.2}]);
    assert_eq!(error_of(r), "groups: infeasible with bounds");
    let mut r = base("min_variance");
    r["current_weights"] = serde_json::json!({"GOOG": 1.0});
    r["max_turnover"] = serde_json::json!(0.1);
    r["bounds"] = serde_json::json!([0.0, 0.5]);
    assert_eq!(error_of(r), "max_turnover: infeasible with bounds and groups");
    let mut r = base("efficient_return");
    r["target_return"] = serde_json::json!(50.0);
    assert!(error_of(r).starts_with("target_return: 50 is above the highest expected return"));
    let mut r = base("efficient_risk");
    r["target_risk"] = serde_json::json!(0.01);
    assert!(error_of(r).starts_with("target_risk: 0.01 is below the lowest volatility"));
    let mut r = base("min_variance");
    r["groups"] = serde_json::json!([{"assets": ["NOPE"], "max": 0.1}]);
    assert_eq!(error_of(r), "groups: unknown asset \"NOPE\"");
}

#[test]
fn turnover_limit_holds_and_binds() {
    let mut r = base("max_sharpe");
    let n = 19.0;
    let cur: serde_json::Map<String, Value> =
        r["assets"].as_array().unwrap().iter().map(|a| (a.as_str().unwrap().to_owned(), (1.0 / n).into())).collect();
    r["current_weights"] = Value::Object(cur);
    r["max_turnover"] = serde_json::json!(0.25);
    let out = optimize(&serde_json::from_value(r).unwrap()).unwrap();
    let turnover: f64 = out.weights.0.iter().map(|(_, w)| (w - 1.0 / n).abs()).sum();
    assert!((turnover - 0.25).abs() < 1e-7, "turnover {turnover}");
}

#[test]
fn risk_parity_equalises_contributions_and_reports_them() {
    let out = optimize(&serde_json::from_value(base("risk_parity")).unwrap()).unwrap();
    for (_, rc) in &out.risk_contributions.0 {
        assert!((rc - 1.0 / 19.0).abs() < 1e-9, "{rc}");
    }
}
