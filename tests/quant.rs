//! End-to-end: `cairn quant …` over JSON lines, from stdin and from --input, with the example
//! files of examples/quant/ and with bad lines.

mod common;

use common::{cairn, stderr, stdout, with_input};
use serde_json::Value;

fn example(command: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../examples/quant/{command}.jsonl"))
}

/// Runs `cairn quant COMMAND` with `input` on stdin; the results, one JSON value per line.
fn quant_stdin(command: &str, input: &str) -> Vec<Value> {
    let mut quant = cairn();
    quant.args(["quant", command]);
    let o = with_input(quant, input);
    assert!(o.status.success(), "{}", stderr(&o));
    parse(&stdout(&o))
}

/// Runs `cairn quant COMMAND --input` on the command's example file.
fn quant_example(command: &str) -> (Vec<Value>, String) {
    let path = example(command);
    let o = cairn().args(["quant", command, "--input"]).arg(&path).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    (parse(&stdout(&o)), std::fs::read_to_string(&path).unwrap())
}

fn parse(text: &str) -> Vec<Value> {
    text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect()
}

fn number(v: &Value, key: &str) -> f64 {
    v[key].as_f64().unwrap_or_else(|| panic!("{key} is a number in {v}"))
}

#[test]
fn black_scholes_example_file_gives_prices_and_greeks_satisfying_parity() {
    let (out, text) = quant_example("black-scholes");
    assert_eq!(out.len(), text.lines().filter(|l| !l.trim().is_empty()).count());
    for v in &out {
        for key in ["price", "delta", "gamma", "vega", "theta", "rho"] {
            assert!(number(v, key).is_finite(), "{key} in {v}");
        }
    }
    // The first request is the textbook at-the-money call: S = K = 100, r = 5%, sigma = 20%, T = 1.
    assert!((number(&out[0], "price") - 10.450_583_572_185_565).abs() < 1e-9);
    // Put-call parity on the same inputs through stdin.
    let call = r#"{"kind":"call","spot":100,"strike":110,"rate":0.04,"dividend":0.015,"volatility":0.3,"expiry":0.25}"#;
    let both = quant_stdin("black-scholes", &format!("{call}\n{}\n", call.replace("call", "put")));
    let parity = 100.0 * (-0.015f64 * 0.25).exp() - 110.0 * (-0.04f64 * 0.25).exp();
    assert!((number(&both[0], "price") - number(&both[1], "price") - parity).abs() < 1e-10);
}

#[test]
fn a_bad_line_gets_an_error_naming_it_and_the_run_goes_on() {
    let good = r#"{"kind":"put","spot":50,"strike":55,"rate":0.03,"dividend":0,"volatility":0.4,"expiry":2}"#;
    let input = format!(
        "{good}\n{{\"kind\":\"straddle\",\"spot\":1}}\n\n{}\n{{\"kind\":\"call\"\n{good}\n",
        good.replace("\"spot\":50", "\"spot\":-5")
    );
    let out = quant_stdin("black-scholes", &input);
    assert_eq!(out.len(), 5, "{out:?}");
    assert!(number(&out[0], "price") > 5.0);
    assert_eq!(out[1]["line"], 2);
    assert_eq!(out[1]["error"], r#"kind: expected "call" or "put", got "straddle""#);
    assert_eq!(out[2], serde_json::json!({"line": 4, "error": "spot: must be a positive number"}));
    assert_eq!(out[3]["line"], 5);
    assert!(out[3]["error"].as_str().unwrap().starts_with("invalid JSON"), "{}", out[3]);
    assert_eq!(out[4], out[0]);
}

#[test]
fn a_missing_input_file_is_an_error() {
    let o = cairn().args(["quant", "black-scholes", "--input", "/nonexistent/requests.jsonl"]).output().unwrap();
    assert!(!o.status.success());
    assert!(stderr(&o).contains("cannot read /nonexistent/requests.jsonl"), "{}", stderr(&o));
}

fn sum_of(v: &Value) -> f64 {
    v.as_object().unwrap().values().map(|w| w.as_f64().unwrap()).sum()
}

#[test]
fn optimize_example_file_gives_fully_invested_weights_and_names_an_unreachable_target() {
    let (out, text) = quant_example("optimize");
    let requests: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(out.len(), requests.len());
    for (i, (request, v)) in requests.iter().zip(&out).enumerate() {
        if v.get("error").is_some() {
            assert_eq!(v["line"], i + 1);
            assert!(v["error"].as_str().unwrap().starts_with("target_return:"), "{v}");
            continue;
        }
        let weights = &v["weights"];
        assert_eq!(weights.as_object().unwrap().len(), request["assets"].as_array().unwrap().len());
        assert!((sum_of(weights) - 1.0).abs() < 1e-6, "line {}: {weights}", i + 1);
        assert!((sum_of(&v["risk_contributions"]) - 1.0).abs() < 1e-6, "line {}", i + 1);
        if request["method"] == "risk_parity" {
            for c in v["risk_contributions"].as_object().unwrap().values() {
                assert!((c.as_f64().unwrap() - 0.25).abs() < 1e-6, "equal risk contributions: {v}");
            }
        }
    }
    assert!(out.iter().any(|v| v.get("error").is_some()), "the example shows an error line");
}

#[test]
fn garch_fits_respect_the_constraints_and_report_nu_only_for_t() {
    let (out, text) = quant_example("garch");
    let requests: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(out.len(), requests.len());
    for (request, v) in requests.iter().zip(&out) {
        let (omega, alpha, beta) = (number(v, "omega"), number(v, "alpha"), number(v, "beta"));
        assert!(omega > 0.0 && alpha >= 0.0 && beta >= 0.0 && alpha + beta <= 1.0, "{v}");
        assert_eq!(v.get("nu").is_some(), request["dist"] == "t", "{v}");
        assert_eq!(v["converged"], true);
        let f = &v["forecast"];
        let (one, five, twenty) = (number(f, "1"), number(f, "5"), number(f, "20"));
        assert!(0.0 < one && one < five && five < twenty, "variances over longer horizons grow: {f}");
        assert!(number(f, "annualized") > 0.0);
    }
    let bad = quant_stdin(
        "garch",
        "{\"returns\":[0.01,-0.02],\"dist\":\"normal\"}\n{\"returns\":[0.01],\"dist\":\"cauchy\"}\n",
    );
    assert_eq!(bad[0]["line"], 1);
    assert!(bad[0]["error"].as_str().unwrap().starts_with("returns:"), "{}", bad[0]);
    assert_eq!(bad[1]["error"], r#"dist: expected "normal" or "t", got "cauchy""#);
}

#[test]
fn adf_and_coint_give_statsmodels_fields_with_their_own_critical_values() {
    let (adf, _) = quant_example("adf");
    for v in &adf {
        let cv = &v["critical_values"];
        assert!(number(cv, "1%") < number(cv, "5%") && number(cv, "5%") < number(cv, "10%"), "{v}");
        let p = number(v, "pvalue");
        assert!((0.0..=1.0).contains(&p));
        assert!(v["usedlag"].as_u64().is_some() && v["nobs"].as_u64().unwrap() > 0);
    }
    let (coint, _) = quant_example("coint");
    for v in &coint {
        // Engle-Granger's critical values for two series are further out than ADF's.
        assert!(number(&v["critical_values"], "5%") < -3.3, "{v}");
        assert!(number(v, "hedge_ratio").is_finite());
        assert!(v["half_life"].is_null() || number(v, "half_life") > 0.0);
    }
    assert!(number(&coint[0], "pvalue") < 0.01, "the example's first pair is cointegrated");
    let bad = quant_stdin("adf", "{\"series\":[1,2,3],\"regression\":\"q\"}\n");
    assert_eq!(bad[0]["line"], 1);
    assert_eq!(bad[0]["error"], r#"regression: expected one of "n", "c", "ct", got "q""#);
}

#[test]
fn signals_example_gives_mean_reversion_and_momentum() {
    let (out, text) = quant_example("signals");
    assert_eq!(out.len(), text.lines().count());
    for v in &out {
        let position = v["mean_reversion"]["position"].as_i64().unwrap();
        assert!((-1..=1).contains(&position));
        let signal = v["momentum"]["signal"].as_i64().unwrap();
        assert_eq!(signal as f64, number(&v["momentum"], "return").signum());
    }
}

#[test]
fn implied_vol_inverts_black_scholes_and_refuses_prices_outside_the_bounds() {
    let (out, _) = quant_example("implied-vol");
    assert!((number(&out[0], "volatility") - 0.2).abs() < 1e-12, "{}", out[0]);
    // Round trip through both commands, deep in and out of the money and near expiry.
    let cases = [(100.0, 0.2, 1.0), (100.0, 0.05, 0.01), (50.0, 0.6, 0.5), (200.0, 0.3, 2.0), (100.0, 1.5, 10.0)];
    let request = |strike: f64, expiry: f64| serde_json::json!({"kind": "put", "spot": 100, "strike": strike, "rate": 0.03, "dividend": 0.01, "expiry": expiry});
    let priced: Vec<String> = cases
        .iter()
        .map(|&(strike, vol, expiry)| {
            let mut r = request(strike, expiry);
            r["volatility"] = vol.into();
            r.to_string()
        })
        .collect();
    let prices = quant_stdin("black-scholes", &priced.join("\n"));
    let inverse: Vec<String> = cases
        .iter()
        .zip(&prices)
        .map(|(&(strike, _, expiry), p)| {
            let mut r = request(strike, expiry);
            r["price"] = p["price"].clone();
            r.to_string()
        })
        .collect();
    let vols = quant_stdin("implied-vol", &inverse.join("\n"));
    for ((_, vol, _), v) in cases.iter().zip(&vols) {
        assert!((number(v, "volatility") - vol).abs() < 1e-9 * vol, "{v} vs {vol}");
    }
    let below_intrinsic = r#"{"kind":"call","spot":150,"strike":100,"rate":0,"dividend":0,"expiry":1,"price":40}"#;
    let out = quant_stdin("implied-vol", below_intrinsic);
    assert_eq!(out[0]["line"], 1);
    assert!(out[0]["error"].as_str().unwrap().starts_with("price:"), "{}", out[0]);
}

#[test]
fn american_options_are_worth_at_least_the_european_ones() {
    let (out, text) = quant_example("american");
    for (line, v) in text.lines().zip(&out) {
        let mut request: Value = serde_json::from_str(line).unwrap();
        request.as_object_mut().unwrap().remove("method");
        let european = quant_stdin("black-scholes", &request.to_string());
        assert!(number(v, "price") >= number(&european[0], "price") - 1e-12, "{line}: {v}");
        for key in ["delta", "gamma", "vega", "theta", "rho", "dividend_rho"] {
            assert!(number(v, key).is_finite(), "{key} in {v}");
        }
    }
    // A call on a stock without dividends is never exercised early: the European price.
    let call = r#"{"kind":"call","spot":100,"strike":95,"rate":0.05,"dividend":0,"volatility":0.25,"expiry":1}"#;
    let (american, european) = (quant_stdin("american", call), quant_stdin("black-scholes", call));
    assert!((number(&american[0], "price") - number(&european[0], "price")).abs() < 1e-12);
    assert!(american[0]["exercise_boundary"].is_null());
}

#[test]
fn strategies_report_their_shape_and_the_selector_answers_a_view() {
    let (out, text) = quant_example("strategy");
    for (line, v) in text.lines().zip(&out) {
        let request: Value = serde_json::from_str(line).unwrap();
        if request.get("view").is_some() {
            let proposals = v["proposals"].as_array().unwrap();
            assert!(!proposals.is_empty(), "{v}");
            let scores: Vec<f64> = proposals.iter().map(|p| number(p, "score")).collect();
            assert!(scores.windows(2).all(|w| w[0] >= w[1]), "best first: {scores:?}");
            for p in proposals {
                assert!(number(p, "capital_required") <= number(&request, "capital") + 1e-9, "{p}");
            }
            continue;
        }
        assert_eq!(v["strategy"], request["strategy"]);
        assert!(!v["legs"].as_array().unwrap().is_empty());
        let p = number(v, "probability_of_profit");
        assert!((0.0..=1.0).contains(&p));
        for b in v["breakevens"].as_array().unwrap() {
            assert!(b.as_f64().unwrap() > 0.0);
        }
    }
    // The iron condor (first line): bounded both ways, two breakevens between its wings.
    let condor = &out[0];
    assert!(number(condor, "max_profit") > 0.0 && number(condor, "max_loss") > 0.0);
    let b: Vec<f64> = condor["breakevens"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect();
    assert_eq!(b.len(), 2);
    assert!(85.0 < b[0] && b[0] < 92.0 && 108.0 < b[1] && b[1] < 115.0, "{b:?}");
    let bad = quant_stdin("strategy", r#"{"strategy":"naked_lottery","spot":100,"volatility":0.2,"days":30}"#);
    assert!(bad[0]["error"].as_str().unwrap().contains("naked_lottery"), "{}", bad[0]);
}

#[test]
fn extreme_inputs_get_errors_not_nulls_or_crashes() {
    let adf = quant_stdin(
        "adf",
        "{\"series\":[1,2,3,5,4,6,7,8,9,10],\"maxlag\":18446744073709551615}\n{\"series\":[1,2,3,4,5,6,7,8,9,10],\"autolag\":null,\"maxlag\":0}\n",
    );
    assert!(adf[0]["error"].as_str().unwrap().starts_with("maxlag:"), "{}", adf[0]);
    assert!(adf[1]["error"].as_str().unwrap().starts_with("series:"), "a perfect fit: {}", adf[1]);
    let bs = quant_stdin(
        "black-scholes",
        r#"{"kind":"call","spot":100,"strike":100,"rate":1500,"dividend":0,"volatility":0.2,"expiry":1}"#,
    );
    assert!(bs[0]["error"].as_str().unwrap().starts_with("rate:"), "{}", bs[0]);
    let straddle = quant_stdin("strategy", r#"{"strategy":"long_straddle","spot":100,"volatility":100,"days":365}"#);
    assert!(straddle[0]["error"].as_str().unwrap().starts_with("volatility:"), "{}", straddle[0]);
    let optimize = quant_stdin(
        "optimize",
        r#"{"method":"max_sharpe","assets":["a","b"],"returns":[[0.01,-1.5],[0.02,0.01],[0.0,0.02]]}"#,
    );
    assert!(optimize[0]["error"].as_str().unwrap().starts_with("returns:"), "{}", optimize[0]);
    // Twenty equal prices whose computed mean is not exactly 0.1: constant, not a z-score.
    let constant = format!("{{\"prices\":[{}],\"window\":20}}", vec!["0.1"; 21].join(","));
    let signals = quant_stdin("signals", &constant);
    assert!(signals[0]["error"].as_str().unwrap().starts_with("prices:"), "{}", signals[0]);
}

#[test]
fn errors_name_the_field_and_say_what_was_wrong_in_the_requests_words() {
    let bs = r#"{"kind":"call","spot":100,"strike":100,"rate":0.05,"volatility":0.2,"expiry":1}"#;
    let with = |field: &str, value: &str| bs.replacen("\"spot\":100", &format!("\"spot\":100,\"{field}\":{value}"), 1);
    let lines = [
        bs.replace("\"spot\":100", "\"spot\":\"x\""),
        bs.replace("\"kind\":\"call\"", "\"kind\":5"),
        bs.replace("\"spot\":100", "\"spot\":null"),
        bs.replace(",\"strike\":100", ""),
        with("foo", "1"),
        "5".to_owned(),
    ];
    let out = quant_stdin("black-scholes", &lines.join("\n"));
    let errors: Vec<&str> = out.iter().map(|v| v["error"].as_str().unwrap_or("")).collect();
    assert_eq!(
        errors,
        [
            r#"spot: expected a number, got "x""#,
            r#"kind: expected "call" or "put", got 5"#,
            "spot: expected a number, got null",
            "strike: missing (required)",
            "foo: unknown field (the fields are kind, spot, strike, rate, dividend, volatility, expiry)",
            "expected a request object, got 5",
        ]
    );

    // Nested fields by their path; an untagged choice says what it takes.
    let (_, text) = quant_example("optimize");
    let request: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    let edited = |f: &dyn Fn(&mut Value)| {
        let mut r = request.clone();
        f(&mut r);
        r.to_string()
    };
    let lines = [
        edited(&|r| r["bounds"] = serde_json::json!("x")),
        edited(&|r| r["bounds"] = serde_json::json!([0, "a"])),
        edited(&|r| r["bounds"] = serde_json::json!({"GOLD": [0.1]})),
        edited(&|r| r["views"] = serde_json::json!([{"weights": {"GOLD": 1}}])),
        edited(&|r| r["method"] = serde_json::json!("max_sharp")),
        edited(&|r| r["assets"] = serde_json::json!("GOLD")),
    ];
    let out = quant_stdin("optimize", &lines.join("\n"));
    let errors: Vec<&str> = out.iter().map(|v| v["error"].as_str().unwrap_or("")).collect();
    assert_eq!(
        errors,
        [
            r#"bounds: expected [lower, upper] or {"asset": [lower, upper]}, got "x""#,
            r#"bounds[1]: expected a number, got "a""#,
            "bounds.GOLD: expected an array of length 2, got 1 value",
            "views[0].return: missing (required)",
            r#"method: expected one of "max_sharpe", "min_variance", "efficient_return", "efficient_risk", "risk_parity", "max_diversification", "hrp", "black_litterman", "min_cvar", got "max_sharp""#,
            r#"assets: expected an array, got "GOLD""#,
        ]
    );
    let adf = quant_stdin("adf", r#"{"series":[1,2,3,4,5,6,7,8,9,10],"maxlag":-1}"#);
    assert_eq!(adf[0]["error"], "maxlag: expected a whole number, 0 or more, got -1");
}

/// Runs `base` with `field` left out and with `field` set to `documented`, the default its
/// `--help` gives, and asserts both answers are the same (and not errors).
fn default_is_as_documented(command: &str, base: &Value, field: &str, documented: Value) {
    let mut without = base.clone();
    without.as_object_mut().unwrap().remove(field);
    let mut with = base.clone();
    with[field] = documented;
    let out = quant_stdin(command, &format!("{without}\n{with}\n"));
    assert!(out[0].get("error").is_none(), "{command} without {field}: {}", out[0]);
    assert_eq!(out[0], out[1], "{command}: {field} left out is its documented default");
}

#[test]
fn optional_fields_default_as_the_help_says() {
    use serde_json::json;
    let bs = json!({"kind": "call", "spot": 100, "strike": 95, "rate": 0.03, "dividend": 0.01, "volatility": 0.25, "expiry": 0.5});
    default_is_as_documented("black-scholes", &bs, "dividend", json!(0));
    let american = json!({"kind": "put", "spot": 100, "strike": 100, "rate": 0.05, "dividend": 0.01, "volatility": 0.25, "expiry": 1, "method": "bs2002"});
    default_is_as_documented("american", &american, "dividend", json!(0));
    default_is_as_documented("american", &american, "method", json!("bs1993"));
    let implied = json!({"kind": "put", "spot": 100, "strike": 110, "rate": 0.04, "dividend": 0.01, "expiry": 0.25, "price": 11.2});
    default_is_as_documented("implied-vol", &implied, "dividend", json!(0));

    let calendar = json!({"strategy": "calendar_spread", "spot": 100, "volatility": 0.25, "rate": 0.04, "dividend": 0.01, "days": 30, "far_days": 90, "quantity": 3, "drift": 0.1});
    for (field, documented) in [
        ("rate", json!(0)),
        ("dividend", json!(0)),
        ("far_days", json!(60)),
        ("quantity", json!(1)),
        ("drift", json!(0.04)),
    ] {
        default_is_as_documented("strategy", &calendar, field, documented);
    }
    let view = json!({"view": "bullish", "spot": 100, "volatility": 0.25, "rate": 0.04, "days": 30, "capital": 20000, "contract_size": 10});
    default_is_as_documented("strategy", &view, "contract_size", json!(100));

    let (_, adf) = quant_example("adf");
    let series: Value = serde_json::from_str(adf.lines().next().unwrap()).unwrap();
    let n = series["series"].as_array().unwrap().len() as f64;
    let schwert = (12.0 * (n / 100.0).powf(0.25)).ceil();
    let adf = json!({"series": series["series"], "regression": "ct", "autolag": "bic", "maxlag": 5});
    default_is_as_documented("adf", &adf, "regression", json!("c"));
    default_is_as_documented("adf", &adf, "autolag", json!("aic"));
    default_is_as_documented("adf", &adf, "maxlag", json!(schwert as u64));

    let (_, coint) = quant_example("coint");
    let pair: Value = serde_json::from_str(coint.lines().next().unwrap()).unwrap();
    let coint = json!({"y": pair["y"], "x": pair["x"], "window": 60, "entry": 1.5, "exit": 0.25});
    default_is_as_documented("coint", &coint, "entry", json!(2.0));
    default_is_as_documented("coint", &coint, "exit", json!(0.5));

    let (_, signals) = quant_example("signals");
    let prices: Value = serde_json::from_str(signals.lines().next().unwrap()).unwrap();
    let signals = json!({"prices": prices["prices"], "window": 60, "entry": 1.5, "exit": 0.3, "lookback": 126});
    for (field, documented) in
        [("window", json!(20)), ("entry", json!(2.0)), ("exit", json!(0.5)), ("lookback", json!(252))]
    {
        default_is_as_documented("signals", &signals, field, documented);
    }

    let (_, optimize) = quant_example("optimize");
    let example = |method: &str| -> Value {
        optimize.lines().map(|l| serde_json::from_str::<Value>(l).unwrap()).find(|r| r["method"] == method).unwrap()
    };
    let returns = example("hrp")["returns"].clone();
    let assets = example("hrp")["assets"].clone();
    let variance = json!({"method": "min_variance", "assets": assets, "returns": returns, "frequency": 52,
        "covariance_estimator": "ledoit_wolf", "bounds": [0.05, 0.5]});
    for (field, documented) in
        [("frequency", json!(252)), ("covariance_estimator", json!("sample")), ("bounds", json!([0, 1]))]
    {
        default_is_as_documented("optimize", &variance, field, documented);
    }
    default_is_as_documented("optimize", &example("max_sharpe"), "risk_free_rate", json!(0));
    let ewma = json!({"method": "min_variance", "assets": assets, "returns": returns, "covariance_estimator": "ewma", "span": 30});
    default_is_as_documented("optimize", &ewma, "span", json!(180));
    let cvar = json!({"method": "min_cvar", "assets": assets, "returns": returns, "beta": 0.9});
    default_is_as_documented("optimize", &cvar, "beta", json!(0.95));
    let mut bl = example("black_litterman");
    bl["tau"] = json!(0.1);
    bl["optimizer"] = json!("min_variance");
    for (field, documented) in [("risk_aversion", json!(1)), ("tau", json!(0.05)), ("optimizer", json!("max_sharpe"))] {
        default_is_as_documented("optimize", &bl, field, documented);
    }
}
