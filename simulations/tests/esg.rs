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
