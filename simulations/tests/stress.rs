//! Stress tests and overlays: hand-worked numbers (Hull's beta and duration hedges, covered
//! interest parity, a put spread against two Black-Scholes-Merton puts, a small portfolio's
//! stress P&L, funded status and margin calls) and bad inputs named.

use simulations::curve::{Compounding, CurveSpec, Interpolation, Node};
use simulations::liabilities::{Flow, LiabilityRequest};
use simulations::options::{bsm, BsInput, OptionKind};
use simulations::overlays::{
    beta, currency, duration, overlay, tail, BetaRequest, CurrencyExposure, CurrencyRequest, DurationRequest,
    OverlayRequest, OverlayResult, TailRequest,
};
use simulations::stress::{
    scenarios, stress, AssetClass, CustomScenario, FuturesPosition, Holding, KeyRateDv01, Shocks, StressLiabilities,
    StressRequest,
};
use simulations::SimError;

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * a.abs().max(b.abs()).max(1.0)
}

fn field(e: SimError) -> String {
    match e {
        SimError::Invalid { field, .. } => field,
    }
}

// ---------------------------------------------------------------------------------------------
// Overlays
// ---------------------------------------------------------------------------------------------

/// Hull, "Options, Futures, and Other Derivatives", ch. 3, changing the beta of a portfolio:
/// a $5,050,000 portfolio with beta 1.5, S&P 500 futures at 1,010 on $250 times the index, so
/// one contract is 1,010 × 250 = $252,500. Hedging all of it: 1.5 × 5,050,000 / 252,500 = 30
/// contracts short; to beta 0.75: (0.75 − 1.5) × 5,050,000 / 252,500 = −15; to beta 2.0:
/// (2.0 − 1.5) × 5,050,000 / 252,500 = +10.
#[test]
fn hull_changing_the_beta_of_a_portfolio() {
    let req = |target: f64| BetaRequest {
        portfolio_value: 5_050_000.0,
        portfolio_beta: 1.5,
        target_beta: target,
        futures_price: 1_010.0,
        multiplier: 250.0,
    };
    for (target, n) in [(0.0, -30.0), (0.75, -15.0), (2.0, 10.0)] {
        let r = beta(&req(target)).unwrap();
        assert_eq!(r.contract_value, 252_500.0);
        assert!(close(r.contracts_exact, n, 1e-12), "{target}: {}", r.contracts_exact);
        assert_eq!(r.contracts, n);
        assert!(close(r.beta_after, target, 1e-12) && r.residual_beta.abs() < 1e-12);
        assert_eq!(r.notional, n * 252_500.0);
    }
    // Rounding: a $1,000,000 portfolio from beta 1.2 to 1.0 with E-minis at 5,000 ($50 a
    // point, $250,000 a contract): −0.2 × 1,000,000 / 250,000 = −0.8 → −1 contract, reaching
    // 1.2 − 250,000/1,000,000 = 0.95, a residual of +0.05.
    let r = beta(&BetaRequest {
        portfolio_value: 1e6,
        portfolio_beta: 1.2,
        target_beta: 1.0,
        futures_price: 5_000.0,
        multiplier: 50.0,
    })
    .unwrap();
    assert!(close(r.contracts_exact, -0.8, 1e-12) && r.contracts == -1.0);
    assert!(close(r.beta_after, 0.95, 1e-12) && close(r.residual_beta, 0.05, 1e-12));
}

/// Hull, ch. 6, duration-based hedging: $10 million of bonds with duration 6.80 hedged with
/// Treasury bond futures at 93-02 ($93,062.50 a contract) whose CTD has duration 9.20:
/// N = 10,000,000 × 6.80 / (93,062.50 × 9.20) = 79.42 → 79 contracts short. In DV01 terms the
/// portfolio's DV01 is 10,000,000 × 6.80 × 0.0001 = 6,800 and a contract's 93,062.50 × 9.20
/// × 0.0001 = 85.6175 (Hull prices off the futures, so the conversion factor is 1 here).
#[test]
fn hull_duration_hedge_with_treasury_futures() {
    let r = duration(&DurationRequest {
        portfolio_dv01: None,
        portfolio_value: Some(10_000_000.0),
        portfolio_duration: Some(6.80),
        target_dv01: Some(0.0),
        target_duration: None,
        ctd_dv01: 93_062.50 * 9.20 * 1e-4,
        conversion_factor: None,
        futures_price: Some(93.0625),
        contract_size: None,
    })
    .unwrap();
    assert!(close(r.current_dv01, 6_800.0, 1e-12));
    assert!(close(r.futures_dv01, 85.6175, 1e-12));
    assert!(close(r.contracts_exact, -79.423_015_154_612_07, 1e-12), "{}", r.contracts_exact);
    assert_eq!(r.contracts, -79.0);
    // 6,800 − 79 × 85.6175 = 36.2175 left; the residual (target − after) is −36.2175.
    assert!(close(r.dv01_after, 36.2175, 1e-9) && close(r.residual_dv01, -36.2175, 1e-9));
    assert!(close(r.notional.unwrap(), -79.0 * 93_062.50, 1e-12));

    // With a conversion factor, by hand: $100m at duration 5 (DV01 50,000) to duration 7
    // (DV01 70,000) with a CTD DV01 of 65 per $100,000 face and CF 0.85: the future's DV01 is
    // 65/0.85 = 76.470588, N = 20,000/76.470588 = 261.54 → 262, DV01 after 50,000 + 262 ×
    // 76.470588 = 70,035.29, duration after 7.0035.
    let r = duration(&DurationRequest {
        portfolio_dv01: None,
        portfolio_value: Some(100e6),
        portfolio_duration: Some(5.0),
        target_dv01: None,
        target_duration: Some(7.0),
        ctd_dv01: 65.0,
        conversion_factor: Some(0.85),
        futures_price: None,
        contract_size: None,
    })
    .unwrap();
    assert!(close(r.futures_dv01, 76.470_588_235_294_1, 1e-12));
    assert!(close(r.contracts_exact, 261.538_461_538_461_5, 1e-12));
    assert_eq!(r.contracts, 262.0);
    assert!(close(r.dv01_after, 70_035.294_117_647_06, 1e-12));
    assert!(close(r.duration_after.unwrap(), 7.003_529_411_764_706, 1e-12));
    assert!(close(r.residual_dv01, -35.294_117_647_06, 1e-9));
    assert!(r.notional.is_none());
}

/// Covered interest parity by hand: EURUSD 1.10, USD 5%, EUR 3%, three months:
/// F = 1.10 × (1 + 0.05/4)/(1 + 0.03/4) = 1.10 × 1.0125/1.0075 = 1.1054590570…, 54.59 pips.
/// Half of $10m hedged: (S − F)/S = −0.005/1.0075 = −0.0049627792 a quarter, −0.0198511166 a
/// year: the hedge earns $99,255.58 a year on $5m (a negative cost).
#[test]
fn currency_hedge_by_covered_interest_parity() {
    let r = currency(&CurrencyRequest {
        exposures: vec![
            CurrencyExposure {
                currency: "EUR".into(),
                value: 10e6,
                spot: 1.10,
                domestic_rate: 0.05,
                foreign_rate: 0.03,
                hedge_ratio: Some(0.5),
            },
            CurrencyExposure {
                currency: "JPY".into(),
                value: 2e6,
                spot: 0.0067,
                domestic_rate: 0.05,
                foreign_rate: 0.001,
                hedge_ratio: None,
            },
        ],
        tenor: None,
        hedge_ratio: None,
    })
    .unwrap();
    let eur = &r.hedges[0];
    assert!(close(eur.forward, 1.105_459_057_071_960_3, 1e-14), "{}", eur.forward);
    assert!(close(eur.forward_points_pips, 54.590_570_719_6, 1e-9));
    assert_eq!(eur.hedged_value, 5e6);
    assert!(close(eur.foreign_notional, 5e6 / 1.10, 1e-14));
    assert!(close(eur.annual_cost_rate, -0.019_851_116_625_310_17, 1e-12));
    assert!(close(eur.annual_cost, -99_255.583_126_550_87, 1e-12));
    assert!(close(eur.cost_per_tenor, -99_255.583_126_550_87 / 4.0, 1e-12));
    // JPY, fully hedged by default: (1 − 1.0125/1.00025)/0.25 = −0.048987753… a year on $2m.
    let jpy = &r.hedges[1];
    assert_eq!(jpy.hedge_ratio, 1.0);
    let rate = (1.0 - 1.0125 / 1.00025) / 0.25;
    assert!(close(jpy.annual_cost_rate, rate, 1e-12) && close(rate, -0.048_987_753_061_734_57, 1e-12));
    assert!(close(r.annual_cost, -99_255.583_126_550_87 + 2e6 * rate, 1e-12));
    assert!(close(r.annual_cost_rate, r.annual_cost / 12e6, 1e-14));
    assert_eq!(r.total_hedged, 7e6);
}

/// A 95/80 put spread on an index at 4,000 (strikes 3,800 and 3,200) protecting $10m at beta
/// 1: 10,000,000/4,000 = 2,500 index units, 25 SPX-style contracts of 100. Its price is the
/// difference of two Black-Scholes-Merton puts (the short one at its own, skewed,
/// volatility); it pays 2,500 × 200 = $500,000 at −10% (3,600), 2,500 × 600 = $1.5m at −20%
/// (3,200), and no more below.
#[test]
fn put_spread_is_the_difference_of_two_bsm_puts() {
    let req = TailRequest {
        portfolio_value: 10e6,
        portfolio_beta: None,
        hedge_ratio: None,
        spot: 4_000.0,
        long_strike: 3_800.0,
        short_strike: 3_200.0,
        rate: 0.04,
        dividend: 0.015,
        volatility: 0.20,
        short_volatility: Some(0.26),
        expiry: 0.5,
        multiplier: Some(100.0),
        crash_moves: None,
    };
    let r = tail(&req).unwrap();
    let put = |k: f64, v: f64| {
        bsm(&BsInput {
            kind: OptionKind::Put,
            spot: 4_000.0,
            strike: k,
            rate: 0.04,
            dividend: 0.015,
            volatility: v,
            expiry: 0.5,
        })
        .price
    };
    assert_eq!(r.long_put, put(3_800.0, 0.20));
    assert_eq!(r.short_put, put(3_200.0, 0.26));
    assert_eq!(r.spread_price, put(3_800.0, 0.20) - put(3_200.0, 0.26));
    assert!(r.spread_price > 0.0 && r.spread_price < 600.0);
    assert_eq!(r.units, 2_500.0);
    assert_eq!(r.contracts, Some(25.0));
    assert!(close(r.cost, 2_500.0 * r.spread_price, 1e-15));
    assert!(close(r.cost_fraction, r.cost / 10e6, 1e-15));
    assert_eq!(r.max_payoff, 1.5e6);
    assert!(close(r.breakeven_level, 3_800.0 - r.spread_price, 1e-15));
    let payoffs: Vec<f64> = r.crashes.iter().map(|c| c.payoff).collect();
    assert_eq!(payoffs, vec![500_000.0, 1.5e6, 1.5e6, 1.5e6]);
    let c = &r.crashes[0];
    assert!(close(c.index_level, 3_600.0, 1e-15) && close(c.portfolio_change, -1e6, 1e-15));
    assert!(close(c.hedged_change, -1e6 + 500_000.0 - r.cost, 1e-12));
    assert!(close(c.payoff_per_cost.unwrap(), 500_000.0 / r.cost, 1e-12));
    // The tagged request reads from JSON and gives the same answer.
    let json = serde_json::json!({
        "kind": "tail", "portfolio_value": 10e6, "spot": 4000.0, "long_strike": 3800.0,
        "short_strike": 3200.0, "rate": 0.04, "dividend": 0.015, "volatility": 0.2,
        "short_volatility": 0.26, "expiry": 0.5, "multiplier": 100.0
    });
    let parsed: OverlayRequest = serde_json::from_value(json).unwrap();
    match overlay(&parsed).unwrap() {
        OverlayResult::Tail(t) => assert_eq!(t, r),
        other => panic!("{other:?}"),
    }
}

#[test]
fn overlay_bad_inputs_are_named() {
    let bad_beta = BetaRequest {
        portfolio_value: 1e6,
        portfolio_beta: 1.0,
        target_beta: 0.0,
        futures_price: 5000.0,
        multiplier: 0.0,
    };
    assert_eq!(field(beta(&bad_beta).unwrap_err()), "multiplier");
    let bad_beta = BetaRequest { portfolio_beta: f64::NAN, multiplier: 50.0, ..bad_beta };
    assert_eq!(field(beta(&bad_beta).unwrap_err()), "portfolio_beta");
    let d = DurationRequest {
        portfolio_dv01: Some(1_000.0),
        portfolio_value: None,
        portfolio_duration: None,
        target_dv01: None,
        target_duration: Some(5.0),
        ctd_dv01: 80.0,
        conversion_factor: None,
        futures_price: None,
        contract_size: None,
    };
    assert_eq!(field(duration(&d).unwrap_err()), "portfolio_value");
    let d = DurationRequest { target_duration: None, target_dv01: Some(0.0), ctd_dv01: 0.0, ..d };
    assert_eq!(field(duration(&d).unwrap_err()), "ctd_dv01");
    // Tiny futures DV01 against a huge gap: too many contracts, named, not infinite.
    let d = DurationRequest { ctd_dv01: 1e-9, portfolio_dv01: Some(1e13), ..d };
    assert_eq!(field(duration(&d).unwrap_err()), "ctd_dv01");
    let c = CurrencyRequest {
        exposures: vec![CurrencyExposure {
            currency: "EUR".into(),
            value: 1e6,
            spot: -1.1,
            domestic_rate: 0.05,
            foreign_rate: 0.03,
            hedge_ratio: None,
        }],
        tenor: None,
        hedge_ratio: None,
    };
    assert_eq!(field(currency(&c).unwrap_err()), "exposures[0].spot");
    assert_eq!(field(currency(&CurrencyRequest { exposures: vec![], ..c }).unwrap_err()), "exposures");
    let t: TailRequest = serde_json::from_value(serde_json::json!({
        "portfolio_value": 1e6, "spot": 100.0, "long_strike": 90.0, "short_strike": 95.0,
        "rate": 0.03, "volatility": 0.2, "expiry": 1.0
    }))
    .unwrap();
    assert_eq!(field(tail(&t).unwrap_err()), "short_strike");
    let t = TailRequest { short_strike: 80.0, crash_moves: Some(vec![-0.1, -1.5]), ..t };
    assert_eq!(field(tail(&t).unwrap_err()), "crash_moves[1]");
    // Unknown fields are refused, inside the tagged enum too.
    let r: Result<OverlayRequest, _> = serde_json::from_value(serde_json::json!({
        "kind": "beta", "portfolio_value": 1e6, "portfolio_beta": 1.0, "target_beta": 0.0,
        "futures_price": 5000.0, "multiplier": 50.0, "colour": "red"
    }));
    assert!(r.unwrap_err().to_string().contains("colour"));
}

// ---------------------------------------------------------------------------------------------
// Stress
// ---------------------------------------------------------------------------------------------

fn holding(class: AssetClass, value: f64) -> Holding {
    Holding {
        name: None,
        asset_class: class,
        market_value: value,
        duration: None,
        convexity: None,
        key_rate_dv01s: vec![],
        spread_duration: None,
        liquid: None,
    }
}

/// $1.1m: $600k US equity, $300k Treasuries (duration 6, convexity 50), $100k investment
/// grade (duration 5, spread duration 4.5), $50k cash, $50k real estate (illiquid by default);
/// short 10 Treasury futures (DV01 80 each, $110,000 notional, 3% initial margin) and long 2
/// equity index futures ($250,000 each, 6% initial margin); liabilities of $1m with key-rate
/// DV01s of 600 at 10 years and 400 at 30, and an inflation DV01 of 100.
fn small_portfolio() -> StressRequest {
    StressRequest {
        holdings: vec![
            holding(AssetClass::UsEquity, 600_000.0),
            Holding { duration: Some(6.0), convexity: Some(50.0), ..holding(AssetClass::Treasury, 300_000.0) },
            Holding {
                name: Some("corporates".into()),
                duration: Some(5.0),
                spread_duration: Some(4.5),
                ..holding(AssetClass::InvestmentGrade, 100_000.0)
            },
            holding(AssetClass::Cash, 50_000.0),
            holding(AssetClass::RealEstate, 50_000.0),
        ],
        liabilities: Some(StressLiabilities {
            present_value: Some(1_000_000.0),
            duration: None,
            key_rate_dv01s: vec![KeyRateDv01 { tenor: 10.0, dv01: 600.0 }, KeyRateDv01 { tenor: 30.0, dv01: 400.0 }],
            inflation_dv01: Some(100.0),
            discount_at_credit_spread: false,
            stream: None,
        }),
        futures: vec![
            FuturesPosition {
                name: None,
                underlying: AssetClass::Treasury,
                contracts: -10.0,
                contract_value: 110_000.0,
                dv01_per_contract: Some(80.0),
                tenor: Some(10.0),
                initial_margin_rate: 0.03,
            },
            FuturesPosition {
                name: Some("ES".into()),
                underlying: AssetClass::UsEquity,
                contracts: 2.0,
                contract_value: 250_000.0,
                dv01_per_contract: None,
                tenor: None,
                initial_margin_rate: 0.06,
            },
        ],
        scenarios: Some(vec![]),
        custom: vec![CustomScenario {
            name: "hand".into(),
            description: String::new(),
            shocks: Shocks {
                us_equity: -0.20,
                ig_spread_bp: 100.0,
                rate_2y_bp: 50.0,
                rate_5y_bp: 60.0,
                rate_10y_bp: 80.0,
                rate_30y_bp: 100.0,
                breakeven_bp: 20.0,
                real_estate: -0.10,
                cash: 0.01,
                ..Shocks::default()
            },
        }],
        parallel_shift_bp: None,
    }
}

/// By hand, under the custom shock:
/// - equity 600,000 × −0.20 = −120,000;
/// - Treasuries: the yield change at 6 years is 60 + (6 − 5)/5 × (80 − 60) = 64 bp, so
///   −300,000 × 6 × 0.0064 + ½ × 300,000 × 50 × 0.0064² = −11,520 + 307.2 = −11,212.8;
/// - investment grade: at 5 years 60 bp, −100,000 × 5 × 0.006 = −3,000, and the spread
///   −100,000 × 4.5 × 0.01 = −4,500: −7,500;
/// - cash +500, real estate −5,000: holdings −143,212.8;
/// - futures: short Treasuries −(−10) × 80 × 80 = +64,000, long equity 2 × 250,000 × −0.2 =
///   −100,000: −36,000 net, the variation margin; initial margin 0.03 × 1,100,000 + 0.06 ×
///   500,000 = 63,000; the margin need 99,000 against cash of 50,500 (a cash shortfall of
///   48,500) and liquid assets of 480,000 + 288,787.2 + 92,500 + 50,500 = 911,787.2;
/// - total −179,212.8, value after 920,787.2;
/// - liabilities −(600 × 80 + 400 × 100) + 100 × 20 = −86,000: 914,000 after; funded ratio
///   1.1 → 920,787.2/914,000; surplus 100,000 → 6,787.2 (−93,212.8);
/// - DV01: assets 300,000 × 6 × 0.0001 + 100,000 × 5 × 0.0001 − 10 × 80 = 180 + 50 − 800 =
///   −570 before, 180 × 288,787.2/300,000 + 50 × 0.925 − 800 = −580.47768 after; liabilities
///   1,000 → 914; mismatch −1,570 → −1,494.47768.
#[test]
fn a_small_portfolio_by_hand() {
    let r = stress(&small_portfolio()).unwrap();
    assert_eq!(r.portfolio_value, 1_100_000.0);
    assert_eq!(r.scenarios.len(), 1);
    let s = &r.scenarios[0];
    let pnl: Vec<f64> = s.holdings.iter().map(|h| h.pnl).collect();
    let want = [-120_000.0, -11_212.8, -7_500.0, 500.0, -5_000.0];
    for (got, want) in pnl.iter().zip(want) {
        assert!(close(*got, want, 1e-12), "{got} vs {want}");
    }
    assert_eq!(s.holdings[0].name, "holding 1");
    assert_eq!(s.holdings[2].name, "corporates");
    assert!(close(s.holdings[2].pnl_rates, -3_000.0, 1e-12) && close(s.holdings[2].pnl_spread, -4_500.0, 1e-12));
    assert!(close(s.holdings_pnl, -143_212.8, 1e-12));
    assert!(close(s.futures[0].pnl, 64_000.0, 1e-12) && close(s.futures[1].pnl, -100_000.0, 1e-12));
    assert_eq!(s.futures[1].name, "ES");
    assert!(close(s.futures_pnl, -36_000.0, 1e-12));
    assert!(close(s.total_pnl, -179_212.8, 1e-12));
    assert!(close(s.value_after, 920_787.2, 1e-12));
    assert!(close(s.total_return.unwrap(), -179_212.8 / 1.1e6, 1e-12));

    let l = &s.liquidity;
    assert!(close(l.variation_margin, 36_000.0, 1e-12));
    assert!(close(l.initial_margin, 63_000.0, 1e-12));
    assert!(close(l.margin_need, 99_000.0, 1e-12));
    assert!(close(l.cash_available, 50_500.0, 1e-12));
    assert!(close(l.cash_shortfall, 48_500.0, 1e-12));
    assert!(close(l.liquid_available, 911_787.2, 1e-12));
    assert_eq!(l.liquidity_shortfall, 0.0);
    assert!(close(l.coverage.unwrap(), 911_787.2 / 99_000.0, 1e-12));

    let f = s.funded_status.unwrap();
    assert_eq!(f.liabilities_before, 1e6);
    assert!(close(f.liabilities_after, 914_000.0, 1e-12));
    assert!(close(f.funded_ratio_before, 1.1, 1e-15));
    assert!(close(f.funded_ratio_after, 920_787.2 / 914_000.0, 1e-12));
    assert!(close(f.surplus_before, 100_000.0, 1e-12));
    assert!(close(f.surplus_after, 6_787.2, 1e-9));
    assert!(close(f.surplus_change, -93_212.8, 1e-12));

    let d = s.dv01;
    assert!(close(d.assets_before, -570.0, 1e-12));
    assert!(close(d.assets_after, -580.477_68, 1e-12));
    assert_eq!(d.liabilities_before, 1_000.0);
    assert!(close(d.liabilities_after, 914.0, 1e-12));
    assert!(close(d.mismatch_before, -1_570.0, 1e-12));
    assert!(close(d.mismatch_after, -1_494.477_68, 1e-12));
}

/// Built-in scenarios: parallel_up at 50 bp moves only the rate-sensitive holdings, by hand
/// −300,000 × 6 × 0.005 + ½ × 300,000 × 50 × 0.005² = −8,812.5 on the Treasuries; every
/// built-in scenario runs on a portfolio of every class and gives finite numbers.
#[test]
fn built_in_scenarios_run_and_parallel_shifts_are_parametrised() {
    let mut req = small_portfolio();
    req.custom.clear();
    req.scenarios = Some(vec!["parallel_up".into(), "parallel_down".into()]);
    req.parallel_shift_bp = Some(50.0);
    let r = stress(&req).unwrap();
    let up = &r.scenarios[0];
    assert_eq!(up.shocks.rate_2y_bp, 50.0);
    assert!(close(up.holdings[1].pnl, -8_812.5, 1e-12));
    assert_eq!(up.holdings[0].pnl, 0.0);
    assert_eq!(r.scenarios[1].shocks.rate_30y_bp, -50.0);
    assert!(close(r.scenarios[1].holdings[1].pnl, 9_000.0 + 187.5, 1e-12));

    let mut all = small_portfolio();
    all.custom.clear();
    all.scenarios = None;
    for class in
        [AssetClass::IntlEquity, AssetClass::EmEquity, AssetClass::Commodities, AssetClass::Gold, AssetClass::Usd]
    {
        all.holdings.push(holding(class, 10_000.0));
    }
    all.holdings.push(Holding { duration: Some(4.0), ..holding(AssetClass::HighYield, 20_000.0) });
    all.holdings.push(Holding {
        key_rate_dv01s: vec![KeyRateDv01 { tenor: 7.0, dv01: 5.0 }],
        ..holding(AssetClass::Tips, 10_000.0)
    });
    let r = stress(&all).unwrap();
    assert_eq!(r.scenarios.len(), scenarios().len());
    for s in &r.scenarios {
        assert!(s.value_after.is_finite() && s.total_pnl.is_finite(), "{}", s.name);
        assert!(s.funded_status.unwrap().funded_ratio_after.is_finite());
    }
    let by = |n: &str| r.scenarios.iter().find(|s| s.name == n).unwrap();
    // 2022: equities and bonds fell together; TIPS: real yield at 7y = (273 + 2/5·(236 − 273))
    // − (−26) = 258.2 + 26 = 284.2 bp, so 5 × 284.2 = −1,421.
    let y22 = by("rates_shock_2022");
    assert!(y22.holdings[0].pnl < 0.0 && y22.holdings[1].pnl < 0.0);
    assert!(close(y22.holdings.last().unwrap().pnl, -1_421.0, 1e-12));
    // The correlation breakdown: equities down and Treasuries not rallying.
    let crash = by("equity_crash_correlation_breakdown");
    assert!(crash.holdings[0].pnl < 0.0 && crash.holdings[1].pnl <= 0.0);
    // COVID: the S&P 500's −33.9% on $600k.
    assert!(close(by("covid_2020").holdings[0].pnl, -203_400.0, 1e-12));
}

/// Liabilities as a cash-flow stream are revalued on the moved curve: $1m due in 10 years on
/// a flat 4% annual curve is worth 1,000,000/1.04¹⁰; 100 bp lower, 1,000,000/1.03¹⁰.
#[test]
fn a_liability_stream_is_revalued_on_the_shocked_curve() {
    let mut req = small_portfolio();
    req.custom.clear();
    req.futures.clear();
    req.scenarios = Some(vec!["parallel_down".into()]);
    req.liabilities = Some(StressLiabilities {
        present_value: None,
        duration: None,
        key_rate_dv01s: vec![],
        inflation_dv01: None,
        discount_at_credit_spread: false,
        stream: Some(LiabilityRequest {
            curve: CurveSpec {
                zero_rates: [1.0, 5.0, 10.0, 30.0].iter().map(|&tenor| Node { tenor, rate: 0.04 }).collect(),
                par_yields: vec![],
                coupon_frequency: None,
                compounding: Compounding::Annual,
                interpolation: Interpolation::FlatForward,
            },
            cash_flows: vec![Flow { time: 10.0, amount: 1e6 }],
            annuity: None,
            inflation: None,
            assets: None,
        }),
    });
    let r = stress(&req).unwrap();
    let f = r.scenarios[0].funded_status.unwrap();
    assert!(close(f.liabilities_before, 1e6 / 1.04_f64.powi(10), 1e-12));
    assert!(close(f.liabilities_after, 1e6 / 1.03_f64.powi(10), 1e-12));
    assert!(close(f.funded_ratio_after, r.scenarios[0].value_after / f.liabilities_after, 1e-15));
    // A zero-coupon's DV01 is about PV × 10/1.04 × 0.0001.
    let d = r.scenarios[0].dv01;
    assert!(close(d.liabilities_before, 1e6 / 1.04_f64.powi(10) * 10.0 / 1.04 * 1e-4, 1e-6));
    assert!(d.liabilities_after > d.liabilities_before);
}

#[test]
fn stress_bad_inputs_are_named() {
    let base = small_portfolio();
    let mut r = base.clone();
    r.holdings[1].duration = None;
    assert_eq!(field(stress(&r).unwrap_err()), "holdings[1].duration");
    let mut r = base.clone();
    r.holdings[0].duration = Some(3.0);
    assert_eq!(field(stress(&r).unwrap_err()), "holdings[0].duration");
    let mut r = base.clone();
    r.holdings[3].market_value = f64::INFINITY;
    assert_eq!(field(stress(&r).unwrap_err()), "holdings[3].market_value");
    let mut r = base.clone();
    r.scenarios = Some(vec!["gfc_2009".into()]);
    let e = stress(&r).unwrap_err();
    assert!(e.to_string().starts_with("scenarios[0]: unknown scenario \"gfc_2009\""), "{e}");
    let mut r = base.clone();
    r.custom[0].shocks.us_equity = -1.5;
    assert_eq!(field(stress(&r).unwrap_err()), "custom[0].shocks.us_equity");
    let mut r = base.clone();
    r.futures[0].dv01_per_contract = None;
    assert_eq!(field(stress(&r).unwrap_err()), "futures[0].dv01_per_contract");
    let mut r = base.clone();
    r.futures[1].underlying = AssetClass::HighYield;
    assert_eq!(field(stress(&r).unwrap_err()), "futures[1].underlying");
    let mut r = base.clone();
    r.liabilities.as_mut().unwrap().present_value = Some(-5.0);
    assert_eq!(field(stress(&r).unwrap_err()), "liabilities.present_value");
    let mut r = base.clone();
    r.holdings.clear();
    assert_eq!(field(stress(&r).unwrap_err()), "holdings");
    let mut r = base.clone();
    r.parallel_shift_bp = Some(f64::NAN);
    assert_eq!(field(stress(&r).unwrap_err()), "parallel_shift_bp");
    // Unknown fields are refused.
    let bad: Result<StressRequest, _> = serde_json::from_value(serde_json::json!({
        "holdings": [{"asset_class": "cash", "market_value": 1.0, "colour": "red"}]
    }));
    assert!(bad.unwrap_err().to_string().contains("colour"));
    // A shock large enough to wipe out first-order liabilities is named, not a NaN.
    let mut r = base;
    r.custom[0].shocks.rate_10y_bp = -5000.0;
    r.custom[0].shocks.rate_30y_bp = -5000.0;
    r.liabilities.as_mut().unwrap().key_rate_dv01s[0].dv01 = -600.0;
    r.liabilities.as_mut().unwrap().key_rate_dv01s[1].dv01 = -400.0;
    assert_eq!(field(stress(&r).unwrap_err()), "liabilities");
}

/// The request and result types give JSON schemas (the CLI's `--help` and the OpenAPI
/// document are built from them).
#[test]
fn schemas_are_generated() {
    for schema in [
        serde_json::to_value(schemars::schema_for!(StressRequest)).unwrap(),
        serde_json::to_value(schemars::schema_for!(simulations::stress::StressResult)).unwrap(),
        serde_json::to_value(schemars::schema_for!(OverlayRequest)).unwrap(),
        serde_json::to_value(schemars::schema_for!(OverlayResult)).unwrap(),
    ] {
        assert!(schema.to_string().len() > 200);
    }
    let s = serde_json::to_string(&schemars::schema_for!(OverlayRequest)).unwrap();
    assert!(s.contains("\"tail\"") && s.contains("ctd_dv01"));
}
