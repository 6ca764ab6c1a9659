//! Optimal execution: Almgren and Chriss (2000)'s worked example (their section 3.4 and
//! Table 1), the limits of the trajectory, the frontier's shape, the schedules and hand-worked
//! transaction-cost analyses.

use simulations::execution::{
    almgren_chriss, schedule, tca, AcRequest, Fill, FrontierRequest, Order, ScheduleRequest, Side, Strategy, TcaRequest,
};
use simulations::SimError;

/// Table 1 of the paper: X = 10⁶ shares, S0 = 50, σ = 0.95 $/share/day^½, ε = 0.0625,
/// γ = 2.5·10⁻⁷, η = 2.5·10⁻⁶, T = 5 days, N = 5, λ = 10⁻⁶. The drift α = 0.02 is in the table
/// but the frontier and trajectories of §2.4 and §3.4 are for zero drift; tests add it where
/// they need it.
fn paper(lambda: f64) -> AcRequest {
    AcRequest {
        shares: 1e6,
        horizon: 5.0,
        periods: 5,
        volatility: 0.95,
        drift: 0.0,
        fixed_cost: 0.0625,
        permanent_impact: 2.5e-7,
        temporary_impact: 2.5e-6,
        risk_aversion: lambda,
        price: Some(50.0),
        confidence: None,
        frontier: None,
    }
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs()).max(1e-300)
}

fn field(e: SimError) -> String {
    match e {
        SimError::Invalid { field, .. } => field,
    }
}

#[test]
fn paper_kappa_and_half_life() {
    let r = almgren_chriss(&paper(1e-6)).unwrap();
    // §3.4: "for the optimal strategy, κ ≈ 0.6/day, so κT ≈ 3".
    assert_eq!((r.kappa * 10.0).round(), 6.0, "κ = {}", r.kappa);
    assert_eq!(r.kappa_t.round(), 3.0, "κT = {}", r.kappa_t);
    // By hand: η̃ = 2.5e-6 − 2.5e-7·1/2 = 2.375e-6; κ̃² = 1e-6·0.9025/2.375e-6 = 0.38;
    // cosh κτ = 1 + κ̃²τ²/2 = 1.19, κ = ln(1.19 + √(1.19² − 1)) = 0.6070761632…/day; θ = 1/κ.
    assert!(close(r.eta_tilde, 2.375e-6, 1e-15));
    assert!(close(r.kappa_tilde_squared, 0.38, 1e-14));
    let kappa = (1.19f64 + (1.19f64 * 1.19 - 1.0).sqrt()).ln();
    assert!(close(r.kappa, kappa, 1e-14) && close(r.kappa, 0.607_076_163_247_062_7, 1e-12));
    assert!(close(r.half_life.unwrap(), 1.647_239_770_791_376_8, 1e-12));
}

#[test]
fn paper_trajectory_matches_equations_17_18_and_20() {
    let r = almgren_chriss(&paper(1e-6)).unwrap();
    let (x, t, tau, k) = (1e6f64, 5.0f64, 1.0f64, r.kappa);
    let traj = &r.trajectory;
    for j in 0..=5 {
        let tj = j as f64;
        // (17) x_j = sinh(κ(T − t_j))/sinh(κT)·X
        let want = (k * (t - tj)).sinh() / (k * t).sinh() * x;
        assert!((traj.holdings[j] - want).abs() < 1e-6, "x_{j}: {} vs {want}", traj.holdings[j]);
    }
    for j in 1..=5 {
        // (18) n_j = 2 sinh(κτ/2)/sinh(κT)·cosh(κ(T − t_{j−½}))·X
        let want = 2.0 * (0.5 * k * tau).sinh() / (k * t).sinh() * (k * (t - (j as f64 - 0.5))).cosh() * x;
        assert!((traj.trades[j - 1] - want).abs() < 1e-6, "n_{j}: {} vs {want}", traj.trades[j - 1]);
    }
    // (20): the closed forms of E and V.
    let (g, eps, eta_t, s) = (2.5e-7, 0.0625, 2.375e-6, 0.95f64);
    let sh = (k * t).sinh();
    let e = 0.5 * g * x * x
        + eps * x
        + eta_t * x * x * (0.5 * k * tau).tanh() * (tau * (2.0 * k * t).sinh() + 2.0 * t * (k * tau).sinh())
            / (2.0 * tau * tau * sh * sh);
    let v =
        0.5 * s * s * x * x * (tau * sh * (k * (t - tau)).cosh() - t * (k * tau).sinh()) / (sh * sh * (k * tau).sinh());
    assert!(close(traj.cost.expected, e, 1e-12), "E {} vs {e}", traj.cost.expected);
    assert!(close(traj.cost.variance, v, 1e-12), "V {} vs {v}", traj.cost.variance);
    // The numbers themselves (the sums of (8) and (5) in double precision, by hand in Python):
    // holdings 1e6, 541955.55, 289854.22, 147897.49, 62141.80, 0; E = $911,226.99,
    // V = 3.6412857e11 $², √V = $603,430.67.
    let want = [1e6, 541_955.554_373_922_3, 289_854.219_409_935_1, 147_897.487_821_723_2, 62_141.801_605_766_04, 0.0];
    for (a, b) in traj.holdings.iter().zip(want) {
        assert!((a - b).abs() < 1e-6, "{a} vs {b}");
    }
    assert!(close(traj.cost.expected, 911_226.986_303_793_2, 1e-12));
    assert!(close(traj.cost.variance, 364_128_572_058.141, 1e-12));
    assert!(traj.cost.expected_bps.is_some_and(|b| close(b, 911_226.986_303_793_2 / 5e7 * 1e4, 1e-12)));
    assert!(r.monotone);
}

#[test]
fn paper_extremes_equations_10_11_and_13() {
    // λ = 0, the naïve strategy, is the straight line, with E and V of (10) and (11):
    // E = ½γX² + εX + (η − ½γτ)X²/T = 125,000 + 62,500 + 475,000 = $662,500;
    // V = ⅓σ²X²T(1 − 1/N)(1 − 1/2N) = ⅓·0.9025e12·5·0.8·0.9 = 1.083e12 $².
    let r = almgren_chriss(&paper(0.0)).unwrap();
    assert_eq!(r.trajectory.holdings, vec![1e6, 8e5, 6e5, 4e5, 2e5, 0.0]);
    assert!(close(r.trajectory.cost.expected, 662_500.0, 1e-14));
    assert!(close(r.trajectory.cost.variance, 1.083e12, 1e-14));
    assert_eq!(r.linear, r.trajectory.cost);
    assert_eq!(r.half_life, None);
    // §3.4: holding the position without trading, √V = σ√T·X = 2.12 $/share·10⁶ = $2.12M; the
    // paper calls this "precisely twice" the straight line's √V, which is $1.04M (only roughly).
    let held = 0.95 * 5f64.sqrt() * 1e6;
    assert_eq!((held / 1e4).round() / 100.0, 2.12);
    assert!((held / r.trajectory.cost.std_dev - 2.0).abs() < 0.05);
    // λ → ∞ sells everything in the first period, (13): E = εX + ηX²/τ = $2,562,500, V = 0.
    for lambda in [1.0, 1e30] {
        let r = almgren_chriss(&paper(lambda)).unwrap();
        assert!(close(r.trajectory.cost.expected, 2_562_500.0, 1e-5), "{}", r.trajectory.cost.expected);
        assert!(r.trajectory.cost.variance < 1e-6 * 1.083e12);
        assert!(r.trajectory.holdings.iter().all(|x| x.is_finite()));
    }
}

#[test]
fn paper_static_holding_and_value_at_risk() {
    // Table 1: "Static holdings 11,000 shares" for λ_u = 10⁻⁶ with α = 0.02: x̄ = α/(2λσ²)
    // = 0.02/(2·10⁻⁶·0.9025) = 11,080. (The text of §4.1 says "approximately x̄ = 1,100 shares,
    // or 0.11%", a factor of ten off the table and the formula.)
    let mut req = paper(1e-6);
    req.drift = 0.02;
    req.confidence = Some(0.95);
    let r = almgren_chriss(&req).unwrap();
    let xbar = r.static_holding.unwrap();
    assert!(close(xbar, 0.02 / (2e-6 * 0.9025), 1e-14));
    assert_eq!((xbar / 1000.0).round() * 1000.0, 11_000.0);
    // §3.4: a 95% confidence gives λ_v = 1.645; Var_p = E + λ_v √V (22).
    let c = r.trajectory.cost;
    let z = (c.value_at_risk.unwrap() - c.expected) / c.std_dev;
    assert_eq!((z * 1000.0).round() / 1000.0, 1.645);
    assert!(r.monotone);
}

#[test]
fn paper_drift_gain_bound() {
    // §4.1: ατ Σ (x*_k − x⁰_k) = α x̄ T (1 − (τ/T) tanh(½κT)/tanh(½κτ)), the gain's upper bound.
    let mut with = paper(1e-6);
    with.drift = 0.02;
    let a = almgren_chriss(&with).unwrap();
    let b = almgren_chriss(&paper(1e-6)).unwrap();
    let gain: f64 = 0.02 * a.trajectory.holdings.iter().zip(&b.trajectory.holdings).map(|(x, y)| x - y).sum::<f64>();
    let (k, xbar) = (a.kappa, a.static_holding.unwrap());
    let want = 0.02 * xbar * 5.0 * (1.0 - 0.2 * (0.5 * k * 5.0).tanh() / (0.5 * k).tanh());
    assert!(close(gain, want, 1e-10), "{gain} vs {want}");
    // U⁰ − U* lies between 0 and that bound: U⁰ is the zero-drift trajectory's E + λV under
    // the drift model, E⁰ − ατ Σ x⁰_k + λV⁰.
    let u0 = b.trajectory.cost.utility - 0.02 * b.trajectory.holdings[1..].iter().sum::<f64>();
    let u_star = a.trajectory.cost.utility;
    assert!(u0 - u_star >= 0.0 && u0 - u_star <= gain, "{} {gain}", u0 - u_star);
}

#[test]
fn paper_figure_2_trajectories() {
    // Figure 2: (A) λ = 2·10⁻⁶ sells faster, (B) λ = 0 the straight line, (C) λ = −2·10⁻⁷ (a
    // trader who likes risk) postpones, "incurring both higher expected trading costs … and
    // higher variance".
    let a = almgren_chriss(&paper(2e-6)).unwrap();
    let b = almgren_chriss(&paper(0.0)).unwrap();
    let c = almgren_chriss(&paper(-2e-7)).unwrap();
    for j in 1..5 {
        assert!(a.trajectory.holdings[j] < b.trajectory.holdings[j]);
        assert!(c.trajectory.holdings[j] > b.trajectory.holdings[j]);
    }
    let (ea, eb, ec) = (a.trajectory.cost.expected, b.trajectory.cost.expected, c.trajectory.cost.expected);
    let (va, vb, vc) = (a.trajectory.cost.variance, b.trajectory.cost.variance, c.trajectory.cost.variance);
    assert!(ea > eb && va < vb);
    assert!(ec > eb && vc > vb);
    assert!(c.kappa < 0.0 && c.half_life.is_none() && c.monotone);
    // Below the floor (κT = π) there is no minimum.
    let e = almgren_chriss(&paper(-1e-4)).unwrap_err();
    assert_eq!(field(e), "risk_aversion");
}

#[test]
fn small_lambda_is_twap() {
    let twap = almgren_chriss(&paper(0.0)).unwrap();
    for lambda in [1e-18, 1e-14, 1e-300] {
        let r = almgren_chriss(&paper(lambda)).unwrap();
        // The gap from the line is O((κT)²)·X (about 0.005 shares at λ = 10⁻¹⁴, κT = 3·10⁻⁴).
        let tol = (1e6 * r.kappa_t * r.kappa_t).max(1e-6);
        for (x, y) in r.trajectory.holdings.iter().zip(&twap.trajectory.holdings) {
            assert!((x - y).abs() < tol, "λ = {lambda}: {x} vs {y}");
        }
        assert!(close(r.trajectory.cost.expected, 662_500.0, 1e-9));
    }
    // With drift too, the λ → 0 limit is the naïve line plus (α/4η̃)t(T − t).
    let mut req = paper(1e-16);
    req.drift = 0.02;
    let r = almgren_chriss(&req).unwrap();
    req.risk_aversion = 0.0;
    let naive = almgren_chriss(&req).unwrap();
    for (j, (x, y)) in r.trajectory.holdings.iter().zip(&naive.trajectory.holdings).enumerate() {
        let t = j as f64;
        let want = 1e6 * (1.0 - t / 5.0) + 0.02 / (4.0 * 2.375e-6) * t * (5.0 - t);
        assert!((y - want).abs() < 1e-6 && (x - y).abs() < 1e-2, "{x} {y} {want}");
    }
}

#[test]
fn frontier_shape() {
    for periods in [5, 100] {
        let mut req = paper(1e-6);
        req.periods = periods;
        req.frontier = Some(FrontierRequest { points: 100, lambda_min: None, lambda_max: None, trajectories: false });
        let r = almgren_chriss(&req).unwrap();
        let f = r.frontier.unwrap();
        assert_eq!(f.len(), 100);
        for w in f.windows(2) {
            // κ increases with λ; along the frontier V falls as E rises: E decreases as V
            // increases.
            assert!(w[1].lambda > w[0].lambda);
            assert!(w[1].kappa > w[0].kappa);
            assert!(w[1].variance < w[0].variance, "{} {}", w[0].variance, w[1].variance);
            assert!(w[1].expected > w[0].expected);
            assert!(w[0].holdings.is_none());
        }
        // The default bounds put κ̃T at 0.05 and 20, either side of the paper's λ.
        assert!(f[0].lambda < 1e-6 && f[99].lambda > 2e-6);
    }
    let mut req = paper(1e-6);
    req.frontier =
        Some(FrontierRequest { points: 3, lambda_min: Some(1e-7), lambda_max: Some(1e-5), trajectories: true });
    let f = almgren_chriss(&req).unwrap().frontier.unwrap();
    assert!(close(f[1].lambda, 1e-6, 1e-12));
    let direct = almgren_chriss(&paper(f[1].lambda)).unwrap();
    assert_eq!(f[1].holdings.as_ref().unwrap(), &direct.trajectory.holdings);
    assert_eq!(f[1].expected, direct.trajectory.cost.expected);
}

#[test]
fn buying_mirrors_selling() {
    let sell = almgren_chriss(&paper(1e-6)).unwrap();
    let mut req = paper(1e-6);
    req.shares = -1e6;
    let buy = almgren_chriss(&req).unwrap();
    for (b, s) in buy.trajectory.holdings.iter().zip(&sell.trajectory.holdings) {
        assert_eq!(*b, -*s);
    }
    assert!(close(buy.trajectory.cost.expected, sell.trajectory.cost.expected, 1e-14));
    assert!(close(buy.trajectory.cost.variance, sell.trajectory.cost.variance, 1e-14));
}

#[test]
fn large_kappa_t_stays_finite() {
    // κT in the thousands: sinh would overflow; the ratios must not.
    let mut req = paper(1e-2);
    req.periods = 2000;
    req.horizon = 2000.0;
    req.drift = 0.02;
    let r = almgren_chriss(&req).unwrap();
    assert!(r.kappa_t > 1000.0);
    assert!(r.trajectory.holdings.iter().all(|x| x.is_finite()));
    assert!(r.trajectory.cost.expected.is_finite() && r.trajectory.cost.variance.is_finite());
    // In the middle the holding sits at x̄.
    let mid = r.trajectory.holdings[1000];
    assert!(close(mid, r.static_holding.unwrap(), 1e-9), "{mid}");
}

#[test]
fn bad_inputs_name_their_field() {
    type Change = Box<dyn Fn(&mut AcRequest)>;
    let cases: Vec<(&str, Change)> = vec![
        ("shares", Box::new(|r| r.shares = 0.0)),
        ("horizon", Box::new(|r| r.horizon = -1.0)),
        ("periods", Box::new(|r| r.periods = 0)),
        ("volatility", Box::new(|r| r.volatility = 0.0)),
        ("fixed_cost", Box::new(|r| r.fixed_cost = -0.1)),
        ("permanent_impact", Box::new(|r| r.permanent_impact = -1.0)),
        ("temporary_impact", Box::new(|r| r.temporary_impact = 1e-7)), // η̃ < 0
        ("risk_aversion", Box::new(|r| r.risk_aversion = f64::NAN)),
        ("price", Box::new(|r| r.price = Some(0.0))),
        ("confidence", Box::new(|r| r.confidence = Some(1.0))),
        (
            "frontier.points",
            Box::new(|r| {
                r.frontier =
                    Some(FrontierRequest { points: 1, lambda_min: None, lambda_max: None, trajectories: false })
            }),
        ),
        (
            "frontier.lambda_max",
            Box::new(|r| {
                r.frontier = Some(FrontierRequest {
                    points: 5,
                    lambda_min: Some(1e-6),
                    lambda_max: Some(1e-7),
                    trajectories: false,
                })
            }),
        ),
        ("shares", Box::new(|r| r.shares = 1e200)),
        (
            "risk_aversion",
            Box::new(|r| {
                r.risk_aversion = 1e300;
                r.volatility = 1e10;
            }),
        ),
    ];
    for (name, change) in cases {
        let mut req = paper(1e-6);
        change(&mut req);
        assert_eq!(field(almgren_chriss(&req).unwrap_err()), name);
    }
    let unknown = serde_json::from_str::<AcRequest>(
        r#"{"shares":1,"horizon":1,"periods":1,"volatility":1,"permanent_impact":0,"temporary_impact":1,
            "risk_aversion":0,"typo":1}"#,
    );
    assert!(unknown.is_err());
    let ok = serde_json::from_str::<AcRequest>(
        r#"{"shares":1e6,"horizon":5,"periods":5,"volatility":0.95,"permanent_impact":2.5e-7,
            "temporary_impact":2.5e-6,"risk_aversion":1e-6,"fixed_cost":0.0625,"frontier":{"points":10}}"#,
    )
    .unwrap();
    let r = almgren_chriss(&ok).unwrap();
    assert_eq!(r.frontier.unwrap().len(), 10);
    assert!(serde_json::to_string(&r.trajectory).is_ok());
}

fn schedule_req(strategy: Strategy) -> ScheduleRequest {
    ScheduleRequest {
        strategy,
        shares: 1e6,
        horizon: 5.0,
        periods: Some(5),
        volatility: 0.95,
        drift: 0.0,
        fixed_cost: 0.0625,
        permanent_impact: 2.5e-7,
        temporary_impact: 2.5e-6,
        risk_aversion: 1e-6,
        profile: None,
        volumes: None,
        participation: None,
        price: Some(50.0),
        adv: None,
        daily_volatility: None,
        spread: None,
        impact_coefficient: None,
    }
}

#[test]
fn schedules() {
    let twap = schedule(&schedule_req(Strategy::Twap)).unwrap();
    assert_eq!(twap.trades, vec![2e5; 5]);
    assert!(close(twap.cost.expected, 662_500.0, 1e-14));
    let is = schedule(&schedule_req(Strategy::Shortfall)).unwrap();
    let ac = almgren_chriss(&paper(1e-6)).unwrap();
    assert_eq!(is.holdings, ac.trajectory.holdings);
    assert_eq!(is.cost.expected, ac.trajectory.cost.expected);
    // The shortfall trajectory has the lower E + λV.
    assert!(is.cost.utility < twap.cost.utility);

    // A flat profile is TWAP; a humped one trades 25/50/25.
    let mut req = schedule_req(Strategy::Vwap);
    req.profile = Some(vec![1.0; 5]);
    let flat = schedule(&req).unwrap();
    assert!(close(flat.cost.expected, twap.cost.expected, 1e-14));
    req.horizon = 3.0;
    req.profile = Some(vec![1e6, 2e6, 1e6]);
    let hump = schedule(&req).unwrap();
    assert_eq!(hump.trades, vec![2.5e5, 5e5, 2.5e5]);
    assert_eq!(hump.participation.unwrap(), vec![0.25; 3]);

    // POV at 10% of 100k, 200k, 300k: 45k shares take three buckets (10k, 20k, 15k); 70k
    // leaves 10k.
    let mut req = schedule_req(Strategy::Pov);
    req.volumes = Some(vec![1e5, 2e5, 3e5, 4e5]);
    req.participation = Some(0.1);
    req.shares = 45_000.0;
    let pov = schedule(&req).unwrap();
    assert_eq!(pov.trades, vec![1e4, 2e4, 1.5e4, 0.0]);
    assert_eq!((pov.buckets_used, pov.leftover, pov.executed), (3, 0.0, 45_000.0));
    req.shares = 110_000.0;
    let short = schedule(&req).unwrap();
    assert_eq!(short.trades, vec![1e4, 2e4, 3e4, 4e4]);
    assert_eq!((short.buckets_used, short.leftover, short.executed), (4, 10_000.0, 100_000.0));
    assert_eq!(short.holdings, vec![1e5, 9e4, 7e4, 4e4, 0.0]);

    // Square root: Q = 10⁶, ADV = 5·10⁶, σ_daily = 1.9% of $50, spread 1/8:
    // 0.0625 + 0.019·50·√0.2 = 0.0625 + 0.424853 = $0.487353/share = 97.47 bps, $487,353.
    let mut req = schedule_req(Strategy::Twap);
    req.adv = Some(5e6);
    req.daily_volatility = Some(0.019);
    let sq = schedule(&req).unwrap().square_root.unwrap();
    let impact = 0.019 * 50.0 * 0.2f64.sqrt();
    assert!(close(sq.impact, impact, 1e-14) && close(sq.impact, 0.424_852_915, 1e-8));
    assert!(close(sq.per_share, 0.0625 + impact, 1e-14));
    assert!(close(sq.bps, (0.0625 + impact) / 50.0 * 1e4, 1e-14));
    assert!(close(sq.total, (0.0625 + impact) * 1e6, 1e-14));

    // Missing inputs name their field.
    let mut req = schedule_req(Strategy::Vwap);
    assert_eq!(field(schedule(&req).unwrap_err()), "profile");
    req.profile = Some(vec![1.0, -1.0]);
    assert_eq!(field(schedule(&req).unwrap_err()), "profile[1]");
    let mut req = schedule_req(Strategy::Pov);
    req.volumes = Some(vec![1.0]);
    assert_eq!(field(schedule(&req).unwrap_err()), "participation");
    let mut req = schedule_req(Strategy::Twap);
    req.adv = Some(1e6);
    req.price = None;
    assert_eq!(field(schedule(&req).unwrap_err()), "price");
}

fn fill(quantity: f64, price: f64) -> Fill {
    Fill { time: None, quantity, price }
}

fn orders() -> Vec<Order> {
    vec![
        Order {
            id: Some("buy".into()),
            algorithm: Some("is".into()),
            side: Side::Buy,
            quantity: 10_000.0,
            arrival_price: 100.0,
            first_fill_mid: Some(100.10),
            half_spread: Some(0.02),
            fees: 80.0,
            interval_vwap: Some(100.20),
            close: Some(101.0),
            fills: vec![fill(4_000.0, 100.20), fill(4_000.0, 100.30)],
        },
        Order {
            id: Some("sell".into()),
            algorithm: Some("is".into()),
            side: Side::Sell,
            quantity: 5_000.0,
            arrival_price: 50.0,
            first_fill_mid: Some(49.95),
            half_spread: None,
            fees: 0.0,
            interval_vwap: Some(49.85),
            close: Some(49.0),
            fills: vec![fill(2_000.0, 49.90), fill(1_000.0, 49.80)],
        },
        Order {
            id: None,
            algorithm: Some("twap".into()),
            side: Side::Buy,
            quantity: 1_000.0,
            arrival_price: 20.0,
            first_fill_mid: None,
            half_spread: None,
            fees: 0.0,
            interval_vwap: Some(20.0),
            close: None,
            fills: vec![fill(1_000.0, 19.99)],
        },
    ]
}

#[test]
fn tca_buy_with_partial_fill() {
    let r = tca(&TcaRequest { orders: orders() }).unwrap();
    let b = &r.orders[0];
    // Buy 10,000 decided at $100.00; 8,000 filled at $100.20 and $100.30 (average $100.25)
    // from a first-fill mid of $100.10 with a 2¢ half-spread; close $101; fees $80.
    // delay = (100.10 − 100)·8,000 = $800; trading = (100.25 − 100.10)·8,000 = $1,200, of which
    // spread 0.02·8,000 = $160 and impact $1,040; opportunity = (101 − 100)·2,000 = $2,000;
    // shortfall = 800 + 1,200 + 2,000 + 80 = $4,080 = 40.8 bps of $1,000,000.
    assert_eq!(b.filled, 8_000.0);
    assert!(close(b.average_price.unwrap(), 100.25, 1e-14));
    assert!(close(b.delay.dollars, 800.0, 1e-9));
    assert!(close(b.trading.dollars, 1_200.0, 1e-9));
    assert!(close(b.spread.dollars, 160.0, 1e-9));
    assert!(close(b.impact.dollars, 1_040.0, 1e-9));
    assert!(close(b.opportunity.dollars, 2_000.0, 1e-12));
    assert!(close(b.shortfall.dollars, 4_080.0, 1e-9));
    assert!(close(b.shortfall.bps, 40.8, 1e-9));
    assert!(close(b.delay.bps + b.trading.bps + b.opportunity.bps + b.fees.bps, b.shortfall.bps, 1e-12));
    // Against VWAP $100.20: (100.25 − 100.20)/100.20 = +4.990 bps, $400 worse; against the
    // close: (100.25 − 101)/101 = −74.26 bps (better).
    assert!(close(b.vs_vwap_bps.unwrap(), 0.05 / 100.2 * 1e4, 1e-9));
    assert!(close(b.vs_vwap_dollars.unwrap(), 400.0, 1e-9));
    assert!(close(b.vs_close_bps.unwrap(), -0.75 / 101.0 * 1e4, 1e-9));
    assert_eq!(b.beat_vwap, Some(false));
    assert_eq!(b.fill_rate, 0.8);
}

#[test]
fn tca_sell_with_partial_fill() {
    let r = tca(&TcaRequest { orders: orders() }).unwrap();
    let s = &r.orders[1];
    // Sell 5,000 decided at $50; 3,000 filled at $49.90 ×2,000 and $49.80 ×1,000 (average
    // $49.8667) from a first-fill mid of $49.95; close $49.
    // delay = −(49.95 − 50)·3,000 = $150; trading = −(49.8667 − 49.95)·3,000 = $250;
    // opportunity = −(49 − 50)·2,000 = $2,000; shortfall $2,400 = 96 bps of $250,000.
    assert!(close(s.average_price.unwrap(), 149_600.0 / 3_000.0, 1e-14));
    assert!(close(s.delay.dollars, 150.0, 1e-9));
    assert!(close(s.trading.dollars, 250.0, 1e-9));
    assert_eq!(s.spread.dollars, 0.0);
    assert!(close(s.impact.dollars, 250.0, 1e-9));
    assert!(close(s.opportunity.dollars, 2_000.0, 1e-12));
    assert!(close(s.shortfall.dollars, 2_400.0, 1e-9));
    assert!(close(s.shortfall.bps, 96.0, 1e-9));
    // Sold above the VWAP of $49.85: −(49.8667 − 49.85)/49.85 = −3.343 bps, $50 better.
    assert!(close(s.vs_vwap_bps.unwrap(), -(149_600.0 / 3_000.0 - 49.85) / 49.85 * 1e4, 1e-9));
    assert!(close(s.vs_vwap_dollars.unwrap(), -50.0, 1e-6));
    assert_eq!(s.beat_vwap, Some(true));
    assert_eq!(r.orders[2].id, "2");
}

#[test]
fn tca_per_algorithm() {
    let r = tca(&TcaRequest { orders: orders() }).unwrap();
    assert_eq!(r.algorithms.len(), 2);
    let (is, twap) = (&r.algorithms[0], &r.algorithms[1]);
    assert_eq!((is.algorithm.as_str(), twap.algorithm.as_str()), ("is", "twap"));
    // "is": $4,080 + $2,400 = $6,480 on $1,250,000 = 51.84 bps; VWAP slippage weighted by
    // filled shares: (4.990·8,000 − 3.343·3,000)/11,000; one of two beat VWAP.
    assert_eq!(is.orders, 2);
    assert!(close(is.shortfall, 6_480.0, 1e-9));
    assert!(close(is.shortfall_bps, 51.84, 1e-9));
    let (b0, b1) = (r.orders[0].vs_vwap_bps.unwrap(), r.orders[1].vs_vwap_bps.unwrap());
    assert!(close(is.vs_vwap_bps.unwrap(), (b0 * 8_000.0 + b1 * 3_000.0) / 11_000.0, 1e-12));
    assert!(close(is.vs_vwap_dollars.unwrap(), 350.0, 1e-6));
    assert_eq!(is.beat_vwap_share, Some(0.5));
    // "twap": bought 1,000 at $19.99 against $20: −$10, −5 bps; beat VWAP.
    assert!(close(twap.shortfall, -10.0, 1e-9));
    assert!(close(twap.shortfall_bps, -5.0, 1e-9));
    assert!(close(twap.vs_vwap_bps.unwrap(), -5.0, 1e-9));
    // Best execution: twap was cheapest on both; 2 of 3 orders beat VWAP.
    assert_eq!(r.summary.cheapest_vs_arrival, "twap");
    assert_eq!(r.summary.cheapest_vs_vwap.as_deref(), Some("twap"));
    assert!(close(r.summary.beat_vwap_share.unwrap(), 2.0 / 3.0, 1e-15));
    assert!(close(r.summary.total_shortfall, 6_470.0, 1e-9));
    assert!(close(r.summary.total_shortfall_bps, 6_470.0 / 1_270_000.0 * 1e4, 1e-9));
}

#[test]
fn tca_bad_inputs() {
    assert_eq!(field(tca(&TcaRequest { orders: vec![] }).unwrap_err()), "orders");
    let mut o = orders();
    o[0].close = None;
    assert_eq!(field(tca(&TcaRequest { orders: o }).unwrap_err()), "orders[0].close");
    let mut o = orders();
    o[1].fills.push(fill(5_000.0, 49.0));
    assert_eq!(field(tca(&TcaRequest { orders: o }).unwrap_err()), "orders[1].fills");
    let mut o = orders();
    o[2].fills[0].price = -1.0;
    assert_eq!(field(tca(&TcaRequest { orders: o }).unwrap_err()), "orders[2].fills[0].price");
    let mut o = orders();
    o[0].quantity = 1e308;
    o[0].fills = vec![fill(1e308, 1e10)];
    assert!(tca(&TcaRequest { orders: o }).is_err());
    let json =
        r#"{"orders":[{"side":"sell","quantity":100,"arrival_price":10,"fills":[{"quantity":100,"price":9.9}]}]}"#;
    let req: TcaRequest = serde_json::from_str(json).unwrap();
    let r = tca(&req).unwrap();
    assert!(close(r.orders[0].shortfall.dollars, 10.0, 1e-9));
    assert!(serde_json::from_str::<TcaRequest>(r#"{"orders":[],"extra":1}"#).is_err());
}

/// Extreme but finite inputs: every call either names a field or returns finite numbers.
#[test]
fn extreme_inputs_never_give_nan_or_infinity() {
    let values = [0.0, -1.0, 1e-300, 1e-12, 1e-6, 0.5, 1.0, 7.0, 1e6, 1e12, 1e300, -1e300];
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut pick = || {
        state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        values[(state >> 33) as usize % values.len()]
    };
    let all_finite = |c: &simulations::execution::Cost| {
        [Some(c.expected), Some(c.variance), Some(c.std_dev), Some(c.utility), c.expected_bps, c.value_at_risk]
            .iter()
            .flatten()
            .all(|v| v.is_finite())
    };
    let (mut ok, mut refused) = (0, 0);
    for i in 0..20_000 {
        let req = AcRequest {
            shares: pick(),
            horizon: pick(),
            periods: 1 + (i % 7) as u32 * 3,
            volatility: pick(),
            drift: pick(),
            fixed_cost: pick().abs(),
            permanent_impact: pick().abs(),
            temporary_impact: pick(),
            risk_aversion: pick(),
            price: Some(50.0),
            confidence: Some(0.99),
            frontier: (i % 5 == 0).then_some(FrontierRequest {
                points: 4,
                lambda_min: None,
                lambda_max: None,
                trajectories: true,
            }),
        };
        match almgren_chriss(&req) {
            Err(_) => refused += 1,
            Ok(r) => {
                ok += 1;
                let t = &r.trajectory;
                assert!(
                    t.holdings.iter().chain(&t.trades).chain(&t.times).all(|v| v.is_finite())
                        && all_finite(&t.cost)
                        && all_finite(&r.linear)
                        && [r.tau, r.eta_tilde, r.kappa, r.kappa_t, r.kappa_tilde_squared]
                            .iter()
                            .all(|v| v.is_finite())
                        && [r.half_life, r.static_holding].iter().flatten().all(|v| v.is_finite()),
                    "{req:?} gave {r:?}"
                );
                for p in r.frontier.iter().flatten() {
                    assert!(
                        [p.lambda, p.kappa, p.expected, p.variance, p.std_dev].iter().all(|v| v.is_finite())
                            && p.half_life.is_none_or(f64::is_finite)
                            && p.holdings.iter().flatten().all(|v| v.is_finite()),
                        "{req:?} gave {p:?}"
                    );
                }
            }
        }
        let mut s = schedule_req([Strategy::Twap, Strategy::Vwap, Strategy::Pov, Strategy::Shortfall][i % 4]);
        s.shares = req.shares;
        s.volatility = req.volatility;
        s.drift = req.drift;
        s.temporary_impact = req.temporary_impact;
        s.risk_aversion = req.risk_aversion;
        s.profile = Some(vec![pick().abs(), pick().abs(), 1.0]);
        s.volumes = Some(vec![pick().abs(), pick().abs()]);
        s.participation = Some(0.25);
        s.adv = Some(pick().abs());
        if let Ok(r) = schedule(&s) {
            assert!(
                r.holdings.iter().chain(&r.trades).all(|v| v.is_finite())
                    && all_finite(&r.cost)
                    && r.participation.iter().flatten().all(|v| v.is_finite())
                    && r.square_root
                        .is_none_or(|q| [q.per_share, q.bps, q.total, q.impact].iter().all(|v| v.is_finite())),
                "{s:?} gave {r:?}"
            );
        }
    }
    assert!(ok > 100 && refused > 100, "{ok} accepted, {refused} refused");
}

/// The requests describe themselves (their doc comments become `--help` and OpenAPI).
#[test]
fn schemas_carry_the_field_docs() {
    for schema in [
        serde_json::to_value(schemars::schema_for!(AcRequest)).unwrap(),
        serde_json::to_value(schemars::schema_for!(ScheduleRequest)).unwrap(),
        serde_json::to_value(schemars::schema_for!(TcaRequest)).unwrap(),
    ] {
        let props = schema["properties"].as_object().unwrap();
        for (name, p) in props {
            assert!(p.get("description").is_some_and(|d| d.as_str().is_some_and(|s| s.len() > 10)), "{name}: {p}");
        }
        assert_eq!(schema["additionalProperties"], serde_json::Value::Bool(false));
    }
    let result = serde_json::to_value(schemars::schema_for!(simulations::execution::TcaResult)).unwrap();
    assert!(result["properties"]["summary"].is_object());
}
