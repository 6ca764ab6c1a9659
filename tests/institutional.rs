//! End-to-end: the institutional engines (yield curves, liabilities) through `cairn quant …`
//! with their example files, and through `POST /v1/quant/…` on a running server.

mod common;

use common::{cairn, run_with_input, server_env, stderr, stdout, with_input};
use serde_json::{json, Value};

fn example(command: &str) -> Vec<Value> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../examples/quant/{command}.jsonl"));
    let o = cairn().args(["quant", command, "--input"]).arg(&path).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&path).unwrap();
    let out: Vec<Value> = stdout(&o).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(out.len(), text.lines().filter(|l| !l.trim().is_empty()).count());
    for v in &out {
        assert!(v.get("error").is_none(), "{v}");
    }
    out
}

fn number(v: &Value, key: &str) -> f64 {
    v[key].as_f64().unwrap_or_else(|| panic!("{key} is a number in {v}"))
}

#[test]
fn the_curve_examples_reprice_their_par_bonds_and_read_between_nodes() {
    let out = example("curve");
    assert!(number(&out[0], "repricing_error") < 1e-12, "{}", out[0]);
    assert_eq!(out[0]["interpolation"], "monotone_convex");
    // Flat forward: at 3 years, −ln DF = 0.035·2 + 1 year of the 2-5 forward (0.13/3).
    let at3 = &out[1]["points"][1];
    let expected = (-(0.07 + 0.13 / 3.0_f64)).exp();
    assert!((number(at3, "discount_factor") - expected).abs() < 1e-15, "{at3}");
    // A bad line names its field and the run goes on.
    let mut quant = cairn();
    quant.args(["quant", "curve"]);
    let o = with_input(quant, "{\"curve\": {\"zero_rates\": [{\"tenor\": -1, \"rate\": 0.03}]}}\n");
    assert!(stdout(&o).contains("zero_rates[0].tenor"), "{}", stdout(&o));
}

#[test]
fn the_liabilities_examples_give_the_annuity_duration_and_the_funded_status() {
    let out = example("liabilities");
    // A 10-year level annuity at a flat 4%: Macaulay duration (1 + y)/y − n/((1 + y)ⁿ − 1).
    let closed = 1.04 / 0.04 - 10.0 / (1.04_f64.powi(10) - 1.0);
    assert!((number(&out[0], "macaulay_duration") - closed).abs() < 1e-9, "{}", out[0]);
    let keys: f64 = out[0]["key_rates"].as_array().unwrap().iter().map(|k| number(k, "dv01")).sum();
    assert!((keys - number(&out[0], "dv01")).abs() < 1e-6, "{}", out[0]);
    let funded = &out[1]["funded_status"];
    assert!((number(funded, "funded_ratio") - 70e6 / number(&out[1], "present_value")).abs() < 1e-12);
    assert!(number(&out[2], "inflation_dv01") > 0.0 && out[2]["funded_status"]["inflation_hedge_ratio"].is_number());
}

#[test]
fn the_hedge_examples_follow_the_glide_path_and_match_the_key_rates() {
    let out = example("hedge");
    // 77% funded: the glide path's first stage, a 40% hedge, met key by key within 2%.
    assert_eq!(out[0]["stage"]["hedge_ratio"], 0.4, "{}", out[0]);
    assert_eq!(out[0]["exact"], true);
    for k in out[0]["keys"].as_array().unwrap() {
        let (target, held) = (number(k, "target_dv01"), number(k, "hedge_dv01"));
        assert!((held - target).abs() <= 0.02 * target.abs() + 1e-6, "{k}");
    }
    assert!(number(&out[0], "total_cost") <= 80e6);
    // One strip cannot match three key rates: the nearest mix, marked so.
    assert_eq!(out[1]["exact"], false, "{}", out[1]);
}

#[test]
fn the_glide_path_factor_and_vol_target_examples_run() {
    let glide = example("glide-path");
    // Vanguard's published path beside the requested one, on the same paths.
    let vanguard = &glide[0]["evaluations"][1];
    assert_eq!(vanguard["name"], "vanguard_target_retirement");
    assert_eq!(vanguard["equity"][5], 0.9);
    assert!((vanguard["equity"][30].as_f64().unwrap() - 0.5).abs() < 1e-12, "{vanguard}");
    // 10 years out, 20-year decline from 80% to 50%: 65%, less 10 points of tolerance and
    // 0.3 × 0.3 of over-funding.
    assert!((glide[1]["evaluations"][0]["equity"][0].as_f64().unwrap() - 0.46).abs() < 1e-12, "{}", glide[1]);
    let factor = example("factor-risk");
    let shares: f64 = factor[0]["factor_contributions"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).sum();
    assert!((shares + number(&factor[0], "specific_contribution") - 1.0).abs() < 1e-12);
    for share in factor[1]["factor_contributions"].as_array().unwrap() {
        assert!((share.as_f64().unwrap() - 0.25).abs() < 1e-6, "{}", factor[1]);
    }
    let vol = example("vol-target");
    assert!(number(&vol[0], "scaled_volatility") < number(&vol[0], "realised_volatility"), "{}", vol[0]);
    assert!(vol[0]["leverage"].as_array().unwrap().iter().all(|l| l.as_f64().unwrap() <= 1.5));
}

#[test]
fn the_stress_and_overlay_examples_run() {
    let stress = example("stress");
    let scenarios = stress[0]["scenarios"].as_array().unwrap();
    assert_eq!(scenarios.len(), 9, "{}", stress[0]);
    // +100bp: 25M × 16 × 1% less convexity's ½·3.2·1%²·25M, 12M × 7 × 1%, and 50 futures
    // × $260 × 100bp.
    let up = scenarios.iter().find(|s| s["name"] == "parallel_up").unwrap();
    let expected = -(25e6 * 0.16 - 0.5 * 3.2 * 1e-4 * 25e6) - 12e6 * 0.07 - 50.0 * 260.0 * 100.0;
    assert!((number(up, "total_pnl") - expected).abs() < 1e-6, "{up}");
    let overlay = example("overlay");
    // Hull's beta example: halving a 1.5 beta on $5,050,000 with futures at 1,010 × 250.
    assert_eq!(overlay[0]["contracts"], -15.0, "{}", overlay[0]);
    assert!(
        (number(&overlay[3], "spread_price") - (number(&overlay[3], "long_put") - number(&overlay[3], "short_put")))
            .abs()
            < 1e-9
    );
}

#[test]
fn the_esg_examples_measure_carbon_screen_optimise_and_report() {
    let carbon = example("esg-carbon");
    // WACI: Σ w·(scope 1+2)/revenue in $M: 0.3·860 + 0.4·8⅓ + 0.1·866⅔ + 0.2·2.5.
    let waci = 0.3 * 860.0 + 0.4 * (100_000.0 / 12_000.0) + 0.1 * (26e6 / 30_000.0) + 0.2 * 2.5;
    assert!((number(&carbon[0]["waci"], "value") - waci).abs() < 1e-9, "{}", carbon[0]["waci"]);
    let screen = example("esg-screen");
    assert_eq!(screen[0]["excluded"][0]["id"], "OILX", "{}", screen[0]);
    let optimised = example("esg-optimise");
    let p = &optimised[0]["portfolio"];
    assert!(p["weights"][2].as_f64().unwrap().abs() < 1e-6, "{p}");
    assert!(
        number(p, "waci") <= 400.0 + 1e-6
            && p["weights"].as_array().unwrap().iter().all(|w| w.as_f64().unwrap() <= 0.6 + 1e-6)
    );
    let report = example("impact-report");
    // Financed emissions over the EPA's 4.6 t a car-year.
    assert!(
        (number(&report[0], "cars_per_year") - number(&report[0]["financed_emissions"], "value") / 4.6).abs() < 1e-9
    );
}

#[test]
fn the_esg_commands_take_their_companies_from_a_provider_file() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/quant");
    let file = root.join("esg-companies.csv");
    for command in ["esg-carbon", "esg-screen", "esg-optimise", "impact-report"] {
        // The examples without their companies, given the same companies by the file: the
        // same answers.
        let with_json = example(command);
        let text = std::fs::read_to_string(root.join(format!("{command}.jsonl"))).unwrap();
        let without: String = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let mut request: Value = serde_json::from_str(l).unwrap();
                assert!(request.as_object_mut().unwrap().remove("companies").is_some());
                format!("{request}\n")
            })
            .collect();
        let mut quant = cairn();
        quant.args(["quant", command, "--companies"]).arg(&file);
        let o = with_input(quant, &without);
        assert!(o.status.success(), "{}", stderr(&o));
        let out: Vec<Value> = stdout(&o).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(out, with_json, "{command}");
    }
    // A request that carries its own companies is refused rather than silently replaced.
    let own = std::fs::read_to_string(root.join("esg-carbon.jsonl")).unwrap();
    let mut quant = cairn();
    quant.args(["quant", "esg-carbon", "--companies"]).arg(&file);
    let out: Value = serde_json::from_str(stdout(&with_input(quant, own.lines().next().unwrap())).trim()).unwrap();
    assert_eq!(out["line"], 1, "{out}");
    assert!(out["error"].as_str().unwrap().starts_with("companies: --companies "), "{out}");
    // A bad file stops the run before any request, naming the line and the column.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("companies.csv");
    let csv = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &bad,
        csv.replace(
            "SOFT,Softworks,technology,71,64,70,68,1,,12000000000,20000",
            "SOFT,Softworks,technology,71,64,70,68,1,,12000000000,abc",
        ),
    )
    .unwrap();
    let mut quant = cairn();
    quant.args(["quant", "esg-screen", "--companies"]).arg(&bad);
    let o = with_input(quant, "{}\n");
    assert!(!o.status.success());
    assert!(stdout(&o).is_empty(), "{}", stdout(&o));
    assert!(stderr(&o).contains("companies.csv: line 8, column scope1: not a number: \"abc\""), "{}", stderr(&o));
}

#[test]
fn the_alm_examples_project_the_plan_and_find_the_least_risky_mix() {
    let alm = example("alm");
    let years = alm[0]["by_year"].as_array().unwrap();
    assert_eq!(years.len(), 30);
    for y in years {
        let p = y["funded_ratio"].as_array().unwrap();
        assert!(p.windows(2).all(|w| w[0].as_f64() <= w[1].as_f64()), "{y}");
        assert!((0.0..=1.0).contains(&number(y, "probability_underfunded")));
    }
    // The 2026 PBGC rates: $111 a participant flat, $52 per $1,000 unfunded, capped at $751.
    assert_eq!(alm[0]["pbgc"]["flat_rate"], 111.0, "{}", alm[0]["pbgc"]);
    // The second plan: on a par-yield curve, its minimum contributions at segment rates.
    let start = &alm[1]["start"];
    let years = alm[1]["by_year"].as_array().unwrap();
    assert_eq!(years.len(), 20);
    assert!(number(start, "funding_target") > 0.0 && number(start, "funding_target") != number(start, "liability"));
    assert!((0.03..0.07).contains(&number(start, "discount_rate")), "{start}");
    assert!(years.iter().all(|y| number(y, "mean_funding_target") > 0.0 && number(y, "expected_contribution") > 0.0));
    let opt = example("alm-optimise");
    let weights: f64 = opt[0]["weights"].as_array().unwrap().iter().map(|w| number(w, "weight")).sum();
    assert!(
        (weights - 1.0).abs() < 1e-9 && (number(&opt[0], "expected_surplus_return") - 0.005).abs() < 1e-9,
        "{}",
        opt[0]
    );
}

#[test]
fn the_alternatives_examples_pace_size_and_hedge() {
    let pacing = example("pe-pacing");
    // The first vintage's first year calls 25% of $20M.
    assert_eq!(number(&pacing[0]["years"][0], "calls"), 5e6, "{}", pacing[0]["years"][0]);
    let crypto = example("crypto");
    assert_eq!(crypto[0]["excluded"][0]["name"], "SMALL");
    assert!(number(&crypto[0], "crypto_share") <= 0.05 + 1e-9, "{}", crypto[0]);
    let beta = example("inflation-beta");
    assert!(number(&beta[0]["assets"][0], "beta") > 1.0, "{}", beta[0]);
    let liquid = example("liquidity");
    assert_eq!(liquid[0]["requirements"][0]["met"], true, "{}", liquid[0]);
    assert_eq!(liquid[0]["commitments_covered"], true, "{}", liquid[0]);
    let reits = example("reit-sectors");
    let total: f64 = reits[0]["weights"].as_array().unwrap().iter().map(|w| number(w, "weight")).sum();
    assert!((total - 1.0).abs() < 1e-9);
}

#[test]
fn the_bond_examples_solve_the_yield_and_trade_ex_coupon() {
    let out = example("bond");
    // The Treasury at 99.5 clean: priced again at the yield found, the same price.
    let y = number(&out[0], "yield");
    let line = format!(
        "{{\"bond\": {{\"dated_date\": \"2025-11-15\", \"maturity\": \"2035-11-15\", \"coupon_rate\": 0.0425, \"frequency\": 2, \"day_count\": \"act/act-icma\"}}, \"settlement\": \"2026-12-07\", \"yield\": {y}}}\n"
    );
    let mut quant = cairn();
    quant.args(["quant", "bond"]);
    let again: Value = serde_json::from_str(stdout(&with_input(quant, &line)).trim()).unwrap();
    assert!((number(&again, "clean_price") - 99.5).abs() < 1e-9, "{again}");
    // 30/360 from March 1 to December 7: 96 days of 5.5% on 1,000,000.
    assert!((number(&out[1], "accrued_amount") - 1.466_666_666_666_666_6).abs() < 1e-12, "{}", out[1]);
    // The gilt settles within seven business days of its coupon: ex-coupon, accrued negative.
    assert!(number(&out[2], "accrued_amount") < 0.0, "{}", out[2]);
    assert_eq!(out[2]["cash_flows"][0]["paid_to_buyer"], false, "{}", out[2]);
}

#[test]
fn the_execution_examples_reproduce_the_papers_example_and_analyse_fills() {
    let ac = example("almgren-chriss");
    // Almgren and Chriss §3.4: at λ = 10⁻⁶, κ ≈ 0.6 a day (cosh κ = 1.19 exactly), so κT ≈ 3.
    assert!((number(&ac[0], "kappa") - 1.19_f64.acosh()).abs() < 1e-12, "{}", ac[0]);
    // λ = 0 is the straight line, whose E is eq. (10): ½γX² + εX + (η̃/τ)X²/N = $662,500.
    assert!((number(&ac[1]["trajectory"]["cost"], "expected") - 662_500.0).abs() < 1e-6, "{}", ac[1]);
    let frontier = ac[1]["frontier"].as_array().unwrap();
    assert_eq!(frontier.len(), 20);
    let schedules = example("schedule");
    assert_eq!(schedules[0]["strategy"], "vwap");
    assert!(schedules[0]["square_root"]["bps"].as_f64().unwrap() > 0.0, "{}", schedules[0]);
    assert_eq!(schedules[1]["leftover"], 0.0);
    let tca = example("tca");
    // The buy: $800 delay, $1,200 trading, $2,000 of unfilled shares at the close, $80 fees.
    assert!((number(&tca[0]["orders"][0]["shortfall"], "dollars") - 4_080.0).abs() < 1e-9, "{}", tca[0]);
    assert_eq!(tca[0]["algorithms"].as_array().unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engines_answer_over_http_and_name_a_bad_field() {
    let db = common::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let env = server_env(dir.path());
    let ledger = dir.path().join("ledger.csv");
    std::fs::write(
        &ledger,
        "trade_date,account,account_type,action,symbol,quantity,price,fees\n2025-01-02,Cash,taxable,deposit,,1,100,0\n",
    )
    .unwrap();
    run_with_input(&db.url, &env, &["ledger", "import", ledger.to_str().unwrap(), "--household", "fund"], "");
    common::register(&db.url, &env, "Ina Stitute", "ina@fund.test", "fund", "correct horse battery staple");
    let (child, base) = common::serve(&db.url, env.clone());
    let _server = common::Kill(child);
    let token = common::login(&base, "ina@fund.test", "correct horse battery staple").await;
    let http = reqwest::Client::new();
    let post = |path: &str, body: Value| {
        let r = http.post(format!("{base}/v1/quant/{path}")).bearer_auth(&token).json(&body).send();
        async move {
            let r = r.await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let curve = json!({ "zero_rates": [{ "tenor": 1, "rate": 0.04 }, { "tenor": 30, "rate": 0.04 }] });
    let (status, body) =
        post("liabilities", json!({ "curve": curve, "annuity": { "amount": 100, "years": 10 } })).await;
    assert_eq!(status, 200, "{body}");
    let closed = 1.04 / 0.04 - 10.0 / (1.04_f64.powi(10) - 1.0);
    assert!((number(&body, "macaulay_duration") - closed).abs() < 1e-9, "{body}");
    let (status, body) = post("curve", json!({ "curve": curve, "times": [5] })).await;
    assert_eq!(status, 200, "{body}");
    assert!((number(&body["points"][0], "zero_rate") - 0.04).abs() < 1e-15, "{body}");
    let bond = json!({ "bond": { "dated_date": "2026-01-01", "maturity": "2031-01-01", "coupon_rate": 0.05, "frequency": 1, "day_count": "30/360" }, "settlement": "2026-01-01", "yield": 0.05 });
    let (status, body) = post("bond", bond).await;
    assert_eq!(status, 200, "{body}");
    assert!((number(&body, "clean_price") - 100.0).abs() < 1e-9, "{body}");
    let (status, body) = post("bond", json!({ "bond": { "dated_date": "2026-01-01", "maturity": "2025-01-01", "coupon_rate": 0.05, "frequency": 1, "day_count": "30/360" }, "settlement": "2026-01-01", "yield": 0.05 })).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["field"].as_str().unwrap().contains("maturity"), "{body}");
    let ac = json!({ "shares": 1e6, "horizon": 5, "periods": 5, "volatility": 0.95, "permanent_impact": 2.5e-7, "temporary_impact": 2.5e-6, "risk_aversion": 1e-6 });
    let (status, body) = post("almgren-chriss", ac).await;
    assert_eq!(status, 200, "{body}");
    assert!((number(&body, "kappa") - 1.19_f64.acosh()).abs() < 1e-12, "{body}");
    let hedge = json!({ "liabilities": { "curve": curve, "annuity": { "amount": 100, "years": 10 } }, "instruments": [{ "name": "1y", "maturity": 1 }, { "name": "30y", "maturity": 30 }], "tolerance": 0 });
    let (status, body) = post("hedge", hedge).await;
    assert_eq!((status, body["exact"].as_bool()), (200, Some(true)), "{body}");
    let (status, body) = post("tca", json!({ "orders": [] })).await;
    assert_eq!((status, body["field"].as_str()), (422, Some("orders")), "{body}");
    let (status, body) = post("schedule", json!({ "strategy": "pov", "shares": 10, "horizon": 1, "volatility": 1, "permanent_impact": 0, "temporary_impact": 1e-6, "volumes": [100], "participation": 2 })).await;
    assert_eq!((status, body["field"].as_str()), (422, Some("participation")), "{body}");
    // A value of the wrong kind and one the engine refuses are 422s naming the field.
    let (status, body) = post("curve", json!({ "curve": { "zero_rates": [{ "tenor": "x", "rate": 0.04 }] } })).await;
    assert_eq!((status, body["field"].as_str()), (422, Some("curve.zero_rates[0].tenor")), "{body}");
    let (status, body) =
        post("liabilities", json!({ "curve": curve, "cash_flows": [{ "time": 1, "amount": -5 }] })).await;
    assert_eq!((status, body["field"].as_str()), (422, Some("cash_flows[0].amount")), "{body}");
    // ESG companies as a provider CSV file: a bad cell is a 422 naming companies_csv and the
    // line; a good file answers as the JSON companies do.
    let companies = "id,sector,e_score,s_score,g_score,esg_score,revenue,scope1,scope2,evic\n\
                     A,utilities,40,50,60,50,1000000000,5000,1000,2000000000\n\
                     # a comment line\n\
                     B,tech,70,60,65,66,2000000000,x,500,8000000000\n";
    let holdings = json!([{ "id": "A", "value": 100 }, { "id": "B", "value": 300 }]);
    let (status, body) = post("esg-carbon", json!({ "companies_csv": companies, "holdings": holdings })).await;
    assert_eq!(
        (status, body["field"].as_str(), body["line"].as_u64()),
        (422, Some("companies_csv"), Some(4)),
        "{body}"
    );
    assert!(body["detail"].as_str().unwrap().contains("line 4, column scope1: not a number: \"x\""), "{body}");
    let (status, body) =
        post("esg-carbon", json!({ "companies_csv": companies.replace(",x,", ",2000,"), "holdings": holdings })).await;
    assert_eq!(status, 200, "{body}");
    // WACI: ¼·6,000/1,000 + ¾·2,500/2,000 tCO2e per $M.
    assert!((number(&body["waci"], "value") - (0.25 * 6.0 + 0.75 * 1.25)).abs() < 1e-12, "{body}");
    // Private-equity pacing: a client without recorded accredited-investor status is refused,
    // and served once an advisor records it (SEC Rule 501(a)).
    let pacing = json!({ "model": { "contribution_rates": [0.25, 0.5, 1.0], "bow": 2.5, "distribution_yield": 0.0, "life": 10, "growth": 0.1 }, "commitments": [{ "vintage": 2026, "amount": 1000000 }] });
    let (status, body) = post("pe-pacing", pacing.clone()).await;
    assert_eq!(status, 403, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("accredited"), "{body}");
    let me: Value = http.get(format!("{base}/v1/me")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    run_with_input(
        &db.url,
        &env,
        &["user", "accredit", "--user", me["user_id"].as_str().unwrap(), "--kind", "net_worth"],
        "",
    );
    let (status, body) = post("pe-pacing", pacing).await;
    assert_eq!(status, 200, "{body}");
    // Signed-in users only.
    let r = http.post(format!("{base}/v1/quant/curve")).json(&json!({ "curve": curve })).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 401);
    db.remove().await;
}
