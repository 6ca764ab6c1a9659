//! ESG analytics: the SBTi finance tool's temperature aggregation tests reproduced, carbon
//! metrics worked by hand, validation naming the field.

use serde_json::{json, Value};
use simulations::esg::temperature::{aggregate, company_score};
use simulations::esg::{
    carbon, AggregationMethod, CarbonPrice, CarbonRequest, Company, Emissions, Holding, Scopes, TemperatureOptions,
    TemperatureScope, TimeFrame,
};
use simulations::SimError;

fn fixture() -> Value {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/esg/sbti_temperature_score.json"))
            .expect("fixture");
    serde_json::from_str(&text).expect("json")
}

fn method(name: &str) -> AggregationMethod {
    serde_json::from_value(json!(name)).expect("method")
}

#[test]
fn sbti_portfolio_aggregations_reproduce_the_tools_tests() {
    let f = fixture();
    let mut checked = 0;
    for case in f["cases"].as_array().unwrap() {
        let companies: Vec<Company> = serde_json::from_value(case["companies"].clone()).unwrap();
        let holdings: Vec<Holding> = serde_json::from_value(case["holdings"].clone()).unwrap();
        let tf: TimeFrame = serde_json::from_value(case["time_frame"].clone()).unwrap();
        let req = CarbonRequest {
            companies,
            companies_csv: None,
            holdings,
            scopes: Scopes::S1S2,
            temperature: Some(TemperatureOptions {
                time_frames: vec![tf],
                scopes: vec![TemperatureScope::S1S2],
                ..Default::default()
            }),
            carbon_price: None,
        };
        let out = carbon(&req).unwrap();
        for (name, want) in case["expected"].as_object().unwrap() {
            let m = method(name);
            let got = out.temperature.iter().find(|r| r.method == m).unwrap().score.unwrap();
            // assertAlmostEqual(places=2): |got − want| rounded to 2 places is 0.
            assert!((got - want.as_f64().unwrap()).abs() < 0.005, "{name} {tf:?}: {got} vs {want}");
            checked += 1;
        }
    }
    assert_eq!(checked, 18);
}

#[test]
fn sbti_s1s2s3_combination_reproduces_company_aa() {
    let f = fixture();
    let aa: Company = serde_json::from_value(f["company_aa_mid"].clone()).unwrap();
    let (s, d) = company_score(&aa, TimeFrame::Mid, TemperatureScope::S1S2S3, 3.2);
    assert!((s - f["company_aa_mid_s1s2s3"].as_f64().unwrap()).abs() < 0.005, "{s}");
    assert!((d - 0.5).abs() < 1e-12, "half the emissions carry the default: {d}");
}

fn company(id: &str, s1: f64, s2: f64, revenue: f64, evic: f64) -> Company {
    Company {
        id: id.into(),
        revenue: Some(revenue),
        emissions: Some(Emissions { scope1: Some(s1), scope2: Some(s2), scope3: None }),
        evic: Some(evic),
        market_cap: Some(evic),
        ..Default::default()
    }
}

#[test]
fn carbon_metrics_by_hand() {
    // A: 1,000 t on $10M revenue (100 t/$M), EVIC $100M; B: 500 t on $50M (10 t/$M), no EVIC
    // but debt 20 + equity 30 = $50M; C: no emissions.
    let mut b = company("B", 400.0, 100.0, 50e6, 0.0);
    b.evic = None;
    b.total_debt = Some(20e6);
    b.total_equity = Some(30e6);
    b.market_cap = Some(50e6);
    b.pcaf_quality = Some(4);
    let mut a = company("A", 800.0, 200.0, 10e6, 100e6);
    a.pcaf_quality = Some(2);
    let c = Company { id: "C".into(), ..Default::default() };
    let req = CarbonRequest {
        companies: vec![a, b, c],
        companies_csv: None,
        holdings: vec![
            Holding { id: "A".into(), value: 10e6 },
            Holding { id: "B".into(), value: 5e6 },
            Holding { id: "C".into(), value: 5e6 },
        ],
        scopes: Scopes::S1S2,
        temperature: None,
        carbon_price: Some(CarbonPrice {
            prices: vec![100.0, 100.0],
            discount_rate: 0.0,
            pass_through: 0.5,
            include_scope2: false,
            emissions_growth: 0.0,
        }),
    };
    let out = carbon(&req).unwrap();
    let close = |a: f64, b: f64| (a - b).abs() < 1e-9 * b.abs().max(1.0);
    // WACI over covered A (10) and B (5): (10·100 + 5·10)/15 = 70.
    assert!(close(out.waci.value.unwrap(), 70.0), "{:?}", out.waci);
    assert!(close(out.waci.coverage, 0.75));
    // Financed: A 10/100·1000 = 100; B 5/50·500 = 50.
    assert!(close(out.financed_emissions.value.unwrap(), 150.0));
    // Footprint: 150 t / $15M = 10 t/$M; intensity: 150 / (0.1·10 + 0.1·50) = 25 t/$M.
    assert!(close(out.carbon_footprint.value.unwrap(), 10.0));
    assert!(close(out.carbon_intensity.value.unwrap(), 25.0));
    // Data quality: (10·2 + 5·4)/15.
    assert!(close(out.data_quality.value.unwrap(), 40.0 / 15.0));
    // Carbon VaR: A's scope 1 800 t × $100 × 2 years × 0.5 = $80,000 on $100M cap = 0.0008;
    // B: 400 × 100 × 2 × 0.5 = 40,000 on $50M = 0.0008; portfolio 0.0008 × $15M = $12,000.
    assert!(close(out.carbon_var.unwrap().value.unwrap(), 12_000.0));
    assert!(close(out.carbon_var_share.unwrap(), 0.0008));
    // Every default: 3.2 everywhere, WATS, all defaults.
    let wats = out.temperature.iter().find(|r| r.method == AggregationMethod::Wats).unwrap();
    assert!(close(wats.score.unwrap(), 3.2) && close(wats.default_share.unwrap(), 1.0));
    // MOTS needs C's emissions: reported, not an error.
    let mots = out.temperature.iter().find(|r| r.method == AggregationMethod::Mots).unwrap();
    assert!(mots.score.is_none() && mots.problem.as_deref().unwrap().contains('C'));
}

#[test]
fn wats_and_mots_by_hand() {
    let mut a = company("A", 100.0, 0.0, 1e6, 100.0);
    a.temperature = serde_json::from_value(json!([{"time_frame": "mid", "scope": "S1S2", "score": 1.5}])).unwrap();
    let b = company("B", 300.0, 0.0, 1e6, 100.0);
    let cs = vec![a, b];
    let held = vec![(0, 1.0), (1, 3.0)];
    let (s, d) = aggregate(&cs, &held, AggregationMethod::Wats, TimeFrame::Mid, TemperatureScope::S1S2, 3.2).unwrap();
    assert!((s - (1.5 + 3.0 * 3.2) / 4.0).abs() < 1e-12 && (d - 0.75).abs() < 1e-12);
    // MOTS: owned 1/100·100 = 1 and 3/100·300 = 9 → (1.5 + 9·3.2)/10.
    let (s, _) = aggregate(&cs, &held, AggregationMethod::Mots, TimeFrame::Mid, TemperatureScope::S1S2, 3.2).unwrap();
    assert!((s - (1.5 + 9.0 * 3.2) / 10.0).abs() < 1e-12);
}

fn field_of(e: SimError) -> String {
    match e {
        SimError::Invalid { field, .. } => field,
    }
}

#[test]
fn validation_names_the_field() {
    let base = || CarbonRequest {
        companies: vec![company("A", 1.0, 1.0, 1e6, 1e6), company("B", 1.0, 1.0, 1e6, 1e6)],
        companies_csv: None,
        holdings: vec![Holding { id: "A".into(), value: 1.0 }],
        scopes: Scopes::S1S2,
        temperature: None,
        carbon_price: None,
    };
    let mut r = base();
    r.companies[1].emissions.as_mut().unwrap().scope1 = Some(-1.0);
    assert_eq!(field_of(carbon(&r).unwrap_err()), "companies[1].emissions.scope1");
    let mut r = base();
    r.companies[1].id = "A".into();
    assert_eq!(field_of(carbon(&r).unwrap_err()), "companies[1].id");
    let mut r = base();
    r.companies[0].sdg =
        serde_json::from_value(json!([{"goal": 7, "share": 0.6}, {"goal": 13, "share": 0.5}])).unwrap();
    assert_eq!(field_of(carbon(&r).unwrap_err()), "companies[0].sdg");
    let mut r = base();
    r.companies[0].sdg = serde_json::from_value(json!([{"goal": 7, "share": 1.5}])).unwrap();
    assert_eq!(field_of(carbon(&r).unwrap_err()), "companies[0].sdg[0].share");
    let mut r = base();
    r.companies[0].controversy = Some(6);
    assert_eq!(field_of(carbon(&r).unwrap_err()), "companies[0].controversy");
    let mut r = base();
    r.companies[0].scores =
        serde_json::from_value(json!({"environmental": 50.0, "social": 101.0, "governance": 1.0, "total": 1.0}))
            .unwrap();
    assert_eq!(field_of(carbon(&r).unwrap_err()), "companies[0].scores.social");
    let mut r = base();
    r.holdings[0].id = "Z".into();
    assert_eq!(field_of(carbon(&r).unwrap_err()), "holdings[0].id");
    let mut r = base();
    r.companies[0].pcaf_quality = Some(0);
    assert_eq!(field_of(carbon(&r).unwrap_err()), "companies[0].pcaf_quality");
    let unknown = serde_json::from_value::<CarbonRequest>(json!({"companies": [], "holdings": [], "extra": 1}));
    assert!(unknown.is_err());
}

#[test]
fn extreme_finite_inputs_stay_finite() {
    let mut a = company("A", 1e15, 1e15, 1.0, 1.0);
    a.market_cap = Some(1.0);
    let req = CarbonRequest {
        companies: vec![a],
        companies_csv: None,
        holdings: vec![Holding { id: "A".into(), value: 1e15 }],
        scopes: Scopes::S1S2,
        temperature: None,
        carbon_price: Some(CarbonPrice {
            prices: vec![10_000.0; 200],
            discount_rate: -0.5,
            pass_through: 0.0,
            include_scope2: true,
            emissions_growth: 1.0,
        }),
    };
    let out = carbon(&req).unwrap();
    let v = serde_json::to_value(&out).unwrap();
    assert!(!v.to_string().contains("null") || out.waci.value.unwrap().is_finite());
    for x in [out.waci.value, out.financed_emissions.value, out.carbon_footprint.value, out.carbon_var.unwrap().value] {
        assert!(x.unwrap().is_finite());
    }
}

fn scored(id: &str, sector: &str, total: f64) -> Company {
    Company {
        id: id.into(),
        sector: Some(sector.into()),
        scores: Some(simulations::esg::EsgScores { environmental: total, social: total, governance: total, total }),
        ..Default::default()
    }
}

#[test]
fn screens_exclude_and_explain() {
    use simulations::esg::{screen, BestInClass, ScoreKind, ScreenRequest, ThemeMinimum};
    let mut cs = vec![
        scored("OIL1", "energy", 60.0),
        scored("SOL1", "energy", 80.0),
        scored("SOL2", "energy", 70.0),
        scored("BNK1", "financials", 40.0),
        scored("BNK2", "financials", 90.0),
        scored("TOB1", "tobacco", 95.0),
    ];
    cs[3].controversy = Some(4);
    cs[4].norms_violation = true;
    cs[1].themes = vec!["clean energy".into()];
    cs[2].themes = vec!["clean energy".into()];
    let req = ScreenRequest {
        companies: cs,
        exclude_sectors: vec!["tobacco".into()],
        controversy_threshold: Some(4),
        exclude_norms_violations: true,
        best_in_class: Some(BestInClass { keep_share: 0.5, score: ScoreKind::Total }),
        holdings: Some(
            ["OIL1", "SOL1", "SOL2", "BNK1"].iter().map(|id| Holding { id: (*id).into(), value: 25.0 }).collect(),
        ),
        themes: vec![ThemeMinimum { theme: "clean energy".into(), min_share: 0.5 }],
        ..Default::default()
    };
    let out = screen(&req).unwrap();
    // Energy: 3 companies, keep ⌈1.5⌉ = 2: SOL1 (80) and SOL2 (70); OIL1 ranks 3rd.
    assert_eq!(out.passing, vec!["SOL1", "SOL2"]);
    let why = |id: &str| out.excluded.iter().find(|e| e.id == id).unwrap().reasons.join("; ");
    assert!(why("OIL1").contains("ranks 3 of 3"), "{}", why("OIL1"));
    assert!(why("BNK1").contains("controversy level 4"));
    assert!(why("BNK2").contains("norms"));
    assert!(why("TOB1").contains("tobacco"));
    // Held after exclusions: SOL1 and SOL2, both clean energy.
    assert!((out.themes[0].share - 1.0).abs() < 1e-12 && out.themes[0].met);
    let mut bad = req.clone();
    bad.best_in_class = Some(BestInClass { keep_share: 0.0, score: ScoreKind::Total });
    assert_eq!(field_of(screen(&bad).unwrap_err()), "best_in_class.keep_share");
}

fn two_assets() -> simulations::esg::OptimiseRequest {
    let mut a = company("A", 100.0, 0.0, 1e6, 1e6); // 100 t/$M
    a.scores = Some(simulations::esg::EsgScores { environmental: 20.0, social: 20.0, governance: 20.0, total: 20.0 });
    a.sector = Some("energy".into());
    let mut b = company("B", 10.0, 0.0, 1e6, 1e6); // 10 t/$M
    b.scores = Some(simulations::esg::EsgScores { environmental: 80.0, social: 80.0, governance: 80.0, total: 80.0 });
    b.sdg = serde_json::from_value(json!([{"goal": 7, "share": 0.5}])).unwrap();
    b.sector = Some("utilities".into());
    simulations::esg::OptimiseRequest {
        companies: vec![a, b],
        companies_csv: None,
        assets: vec!["A".into(), "B".into()],
        expected_returns: vec![0.10, 0.06],
        covariance: vec![vec![0.04, 0.0], vec![0.0, 0.01]],
        factor_model: None,
        risk_aversion: 2.0,
        impact_weight: 0.0,
        score: simulations::esg::ScoreKind::Total,
        max_weight: 1.0,
        waci_limit: None,
        min_sdg_share: None,
        sector_caps: vec![],
        exclude: vec![],
        frontier_points: None,
    }
}

#[test]
fn optimiser_matches_the_hand_solution() {
    use simulations::esg::optimise;
    // Unconstrained in the interior: w₁ = ((a₁ − a₂) + 2γσ₂²) / (2γ(σ₁² + σ₂²)), a = μ + ιs.
    let w1 = |r: &simulations::esg::OptimiseRequest| optimise(r).unwrap().portfolio.weights[0];
    let close = |x: f64, y: f64| (x - y).abs() < 1e-6;
    let r = two_assets();
    assert!(close(w1(&r), 0.4), "{}", w1(&r));
    let mut r = two_assets();
    r.impact_weight = 0.001; // a = (0.12, 0.14): w₁ = 0.02 / 0.2 = 0.1
    assert!(close(w1(&r), 0.1), "{}", w1(&r));
    // WACI ≤ 30: 100w₁ + 10(1 − w₁) ≤ 30 → w₁ ≤ 2/9.
    let mut r = two_assets();
    r.waci_limit = Some(30.0);
    let p = optimise(&r).unwrap().portfolio;
    assert!(close(p.weights[0], 2.0 / 9.0) && p.waci.unwrap() <= 30.0 + 1e-6, "{p:?}");
    // SDG share ≥ 0.45: 0.5(1 − w₁) ≥ 0.45 → w₁ ≤ 0.1.
    let mut r = two_assets();
    r.min_sdg_share = Some(0.45);
    let p = optimise(&r).unwrap().portfolio;
    assert!(close(p.weights[0], 0.1) && p.sdg_share >= 0.45 - 1e-7, "{p:?}");
    // Sector cap on energy 0.3, and a weight cap: both bind at 0.3 / 0.25.
    let mut r = two_assets();
    r.sector_caps = vec![simulations::esg::SectorCap { sector: "energy".into(), max: 0.3 }];
    assert!(close(w1(&r), 0.3));
    let mut r = two_assets();
    r.max_weight = 0.75; // w₂ ≤ 0.75 → w₁ ≥ 0.25; unconstrained 0.4 still holds
    assert!(close(w1(&r), 0.4));
    r.exclude = vec!["A".into()];
    assert!(optimise(&r).is_err(), "B alone cannot reach a weight of 1 under the 0.75 cap");
    r.max_weight = 1.0;
    assert!(close(w1(&r), 0.0));
    // Infeasible limits name the constraints.
    let mut r = two_assets();
    r.waci_limit = Some(5.0);
    assert_eq!(field_of(optimise(&r).unwrap_err()), "constraints");
}

#[test]
fn frontier_trades_return_for_score() {
    use simulations::esg::optimise;
    let mut r = two_assets();
    r.frontier_points = Some(5);
    r.waci_limit = Some(80.0);
    let out = optimise(&r).unwrap();
    let f = &out.frontier;
    assert_eq!(f.len(), 5);
    // From the ι = 0 optimum (w₁ = 0.4, score 56) to the highest score (all B, 80).
    assert!((f[0].score - 56.0).abs() < 1e-4 && (f[4].score - 80.0).abs() < 1e-4, "{:?}", f);
    for k in 1..f.len() {
        assert!(f[k].score >= f[k - 1].score - 1e-9);
        assert!(f[k].financial_objective <= f[k - 1].financial_objective + 1e-9);
    }
    for p in f {
        let sum: f64 = p.weights.iter().sum();
        assert!((sum - 1.0).abs() < 1e-7 && p.weights.iter().all(|&w| (-1e-9..=1.0 + 1e-9).contains(&w)));
        assert!(p.waci.unwrap() <= 80.0 + 1e-6);
    }
}

#[test]
fn impact_report_weights_and_equivalents() {
    use simulations::esg::{impact_report, ImpactRequest, TCO2E_PER_CAR_YEAR};
    let mut r = two_assets();
    r.companies[0].themes = vec!["transition".into(), "transition".into()];
    let req = ImpactRequest {
        companies: r.companies,
        companies_csv: None,
        holdings: vec![Holding { id: "A".into(), value: 3e5 }, Holding { id: "B".into(), value: 1e5 }],
        scopes: Scopes::S1S2,
        temperature_method: AggregationMethod::Wats,
        default_temperature: 3.2,
    };
    let out = impact_report(&req).unwrap();
    assert!((out.scores.total.unwrap() - (0.75 * 20.0 + 0.25 * 80.0)).abs() < 1e-9);
    // Financed: 0.3·100 + 0.1·10 = 31 t → 31 / 4.6 cars.
    assert!((out.financed_emissions.value.unwrap() - 31.0).abs() < 1e-9);
    assert!((out.cars_per_year.unwrap() - 31.0 / TCO2E_PER_CAR_YEAR).abs() < 1e-9);
    assert!((out.sdg[&7] - 0.125).abs() < 1e-12 && (out.sdg_aligned - 0.125).abs() < 1e-12);
    assert!((out.themes["transition"] - 0.75).abs() < 1e-12);
    assert!((out.temperature[0].score.unwrap() - 3.2).abs() < 1e-12);
}

#[test]
fn the_provider_file_example_lists_the_json_examples_companies() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/quant");
    let csv = std::fs::read_to_string(format!("{root}/esg-companies.csv")).expect("example");
    let from_csv = simulations::esg::parse_companies_csv(&csv).expect("the example parses");
    for example in ["esg-carbon", "esg-screen", "esg-optimise", "impact-report"] {
        let text = std::fs::read_to_string(format!("{root}/{example}.jsonl")).expect("example");
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let request: Value = serde_json::from_str(line).unwrap();
            let companies: Vec<Company> = serde_json::from_value(request["companies"].clone()).unwrap();
            assert_eq!(from_csv, companies, "{example}");
        }
    }
    // The same request with the file in companies_csv gives the same answer.
    let text = std::fs::read_to_string(format!("{root}/esg-carbon.jsonl")).expect("example");
    let json: CarbonRequest = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    let by_csv = CarbonRequest { companies: Vec::new(), companies_csv: Some(csv.clone()), ..json.clone() };
    assert_eq!(carbon(&by_csv).unwrap(), carbon(&json).unwrap());
    let with_bad_line = csv.replace("SOFT,Softworks,technology,71", "SOFT,Softworks,technology,7l");
    let refused = carbon(&CarbonRequest { companies_csv: Some(with_bad_line), ..by_csv }).unwrap_err();
    assert_eq!(refused.to_string(), "companies_csv: line 8, column e_score: not a number: \"7l\"");
}

/// A random 50-asset problem: three factors and specific risk, scores, intensities, SDG
/// shares and sectors, with every kind of constraint; the dense request and the same risk as
/// a factor model.
fn random_problem(seed: u64) -> (simulations::esg::OptimiseRequest, simulations::esg::OptimiseRequest) {
    use simulations::esg::{EsgScores, FactorModel, OptimiseRequest, ScoreKind, SdgShare, SectorCap};
    let mut x = seed;
    let mut u = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x >> 11) as f64 / (1u64 << 53) as f64
    };
    let (n, k) = (50, 3);
    let sectors = ["energy", "utilities", "tech", "health"];
    let mut companies = Vec::new();
    for i in 0..n {
        let t = 10.0 + 80.0 * u();
        let mut c = company(&format!("C{i}"), 1e5 * u() * u(), 1e4 * u(), 1e8 * (0.5 + u()), 1e9);
        c.scores = Some(EsgScores { environmental: t, social: 100.0 - t, governance: 50.0, total: t });
        c.sector = Some(sectors[i % 4].into());
        c.sdg = vec![SdgShare { goal: 7, share: 0.6 * u() }];
        companies.push(c);
    }
    let exposures: Vec<Vec<f64>> =
        (0..n).map(|_| (0..k).map(|j| if j == 0 { 0.5 + u() } else { u() - 0.5 }).collect()).collect();
    // F = AAᵀ/k + 0.01·I: positive definite.
    let a: Vec<Vec<f64>> = (0..k).map(|_| (0..k).map(|_| 0.2 * (u() - 0.5)).collect()).collect();
    let f: Vec<Vec<f64>> = (0..k)
        .map(|i| {
            (0..k).map(|j| (0..k).map(|t| a[i][t] * a[j][t]).sum::<f64>() + if i == j { 0.01 } else { 0.0 }).collect()
        })
        .collect();
    let specific: Vec<f64> = (0..n).map(|_| 0.1 + 0.2 * u()).collect();
    let covariance: Vec<Vec<f64>> = (0..n)
        .map(|i| {
            (0..n)
                .map(|j| {
                    let mut v = 0.0;
                    for p in 0..k {
                        for q in 0..k {
                            v += exposures[i][p] * f[p][q] * exposures[j][q];
                        }
                    }
                    v + if i == j { specific[i] * specific[i] } else { 0.0 }
                })
                .collect()
        })
        .collect();
    // Symmetric to the last bit, as a provider's matrix would be.
    let covariance: Vec<Vec<f64>> =
        (0..n).map(|i| (0..n).map(|j| if j < i { covariance[j][i] } else { covariance[i][j] }).collect()).collect();
    let dense = OptimiseRequest {
        assets: companies.iter().map(|c| c.id.clone()).collect(),
        companies,
        companies_csv: None,
        expected_returns: (0..n).map(|_| 0.02 + 0.1 * u()).collect(),
        covariance,
        factor_model: None,
        risk_aversion: 2.5,
        impact_weight: 0.0004,
        score: ScoreKind::Total,
        max_weight: 0.1,
        waci_limit: Some(400.0),
        min_sdg_share: Some(0.2),
        sector_caps: vec![SectorCap { sector: "energy".into(), max: 0.2 }],
        exclude: vec!["C3".into(), "C17".into()],
        frontier_points: Some(4),
    };
    let factor = OptimiseRequest {
        covariance: Vec::new(),
        factor_model: Some(FactorModel { exposures, factor_covariance: f, specific_volatility: specific }),
        ..dense.clone()
    };
    (dense, factor)
}

fn assert_same(a: &simulations::esg::OptimiseResult, b: &simulations::esg::OptimiseResult, what: &str) {
    let portfolios = std::iter::once((&a.portfolio, &b.portfolio)).chain(a.frontier.iter().zip(&b.frontier));
    assert_eq!(a.frontier.len(), b.frontier.len());
    for (p, q) in portfolios {
        let gap = p.weights.iter().zip(&q.weights).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
        assert!(gap < 1e-6, "{what}: weights differ by {gap}");
        assert!((p.financial_objective - q.financial_objective).abs() < 1e-9, "{what}: {p:?} {q:?}");
        assert!(
            (p.volatility - q.volatility).abs() < 1e-8 && (p.score - q.score).abs() < 1e-5,
            "{what}: volatility {} {}, score {} {}",
            p.volatility,
            q.volatility,
            p.score,
            q.score
        );
    }
}

#[test]
fn every_form_of_the_variance_gives_the_dense_forms_answer() {
    use simulations::esg::{optimise, optimise_with, VarianceForm};
    for seed in [7, 11, 2024] {
        let (dense, factor) = random_problem(seed);
        let reference = optimise_with(&dense, VarianceForm::Dense).unwrap();
        assert!(reference.portfolio.waci.unwrap() <= 400.0 + 1e-6 && reference.portfolio.sdg_share >= 0.2 - 1e-7);
        assert!(reference.portfolio.weights[3].abs() < 1e-7 && reference.frontier.len() == 4);
        assert_same(&reference, &optimise(&dense).unwrap(), "dense covariance");
        // The Cholesky factor of the dense covariance in the constraints.
        assert_same(&reference, &optimise_with(&dense, VarianceForm::Factored).unwrap(), "dense covariance, factored");
        // The same risk as a factor model, in both forms.
        for form in [VarianceForm::Dense, VarianceForm::Factored] {
            assert_same(&reference, &optimise_with(&factor, form).unwrap(), &format!("factor model, {form:?}"));
        }
    }
    // A singular covariance (no specific risk: rank 3 of 50) has no Cholesky factor; its
    // square root by eigenvalues gives the same answer.
    let (_, mut factor) = random_problem(5);
    factor.factor_model.as_mut().unwrap().specific_volatility = Vec::new();
    factor.max_weight = 0.3;
    let reference = optimise_with(&factor, VarianceForm::Dense).unwrap();
    let dense = simulations::esg::OptimiseRequest {
        covariance: (0..50)
            .map(|i| {
                let fm = factor.factor_model.as_ref().unwrap();
                let (b, f) = (&fm.exposures, &fm.factor_covariance);
                (0..50)
                    .map(|j| {
                        let (lo, hi) = (i.min(j), i.max(j));
                        (0..3)
                            .flat_map(|p| (0..3).map(move |q| (p, q)))
                            .map(|(p, q)| b[lo][p] * f[p][q] * b[hi][q])
                            .sum()
                    })
                    .collect()
            })
            .collect(),
        factor_model: None,
        ..factor.clone()
    };
    let got = optimise_with(&dense, VarianceForm::Factored).unwrap();
    let gap =
        got.portfolio.weights.iter().zip(&reference.portfolio.weights).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
    assert!(gap < 1e-5, "{gap}");
    assert!((got.portfolio.financial_objective - reference.portfolio.financial_objective).abs() < 1e-8);
}

#[test]
fn the_risk_model_is_checked_and_named() {
    use simulations::esg::optimise;
    let (dense, factor) = random_problem(3);
    let both = simulations::esg::OptimiseRequest { covariance: dense.covariance.clone(), ..factor.clone() };
    assert_eq!(field_of(optimise(&both).unwrap_err()), "factor_model");
    let neither = simulations::esg::OptimiseRequest { covariance: Vec::new(), factor_model: None, ..dense.clone() };
    assert_eq!(field_of(optimise(&neither).unwrap_err()), "covariance");
    let mut r = factor.clone();
    r.factor_model.as_mut().unwrap().exposures[4].pop();
    assert_eq!(field_of(optimise(&r).unwrap_err()), "factor_model.exposures[4]");
    let mut r = factor.clone();
    r.factor_model.as_mut().unwrap().factor_covariance[0][1] += 0.5;
    assert_eq!(field_of(optimise(&r).unwrap_err()), "factor_model.factor_covariance[1][0]");
    let mut r = factor.clone();
    r.factor_model.as_mut().unwrap().specific_volatility[9] = -0.1;
    assert_eq!(field_of(optimise(&r).unwrap_err()), "factor_model.specific_volatility[9]");
    let mut r = factor.clone();
    r.factor_model.as_mut().unwrap().factor_covariance =
        vec![vec![0.04, 0.05, 0.0], vec![0.05, 0.04, 0.0], vec![0.0, 0.0, 0.01]];
    let e = optimise(&r).unwrap_err();
    assert_eq!(field_of(e.clone()), "factor_model.factor_covariance", "{e}");
    assert!(e.to_string().contains("positive semidefinite"), "{e}");
    // An indefinite dense covariance has no factor: refused by name.
    let mut r = two_assets();
    r.covariance = vec![vec![0.01, 0.05], vec![0.05, 0.01]];
    let e = simulations::esg::optimise_with(&r, simulations::esg::VarianceForm::Factored).unwrap_err();
    assert_eq!(field_of(e.clone()), "covariance", "{e}");
    assert!(e.to_string().contains("positive semidefinite"), "{e}");
}
