//! End-to-end: `cairn simulate` on the example plan and on bad plans.

mod common;

use common::{cairn, stderr, stdout};

fn example() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/retirement.toml")
}

fn simulate(args: &[&str]) -> std::process::Output {
    cairn().arg("simulate").args(args).output().unwrap()
}

#[test]
fn the_example_plan_runs_and_the_seed_fixes_the_result_on_any_thread_count() {
    let plan = example();
    let plan = plan.to_str().unwrap();
    let run = |threads: &str| {
        let o = simulate(&[plan, "--paths", "3000", "--threads", threads, "--format", "json"]);
        assert!(o.status.success(), "{}", stderr(&o));
        serde_json::from_str::<serde_json::Value>(stdout(&o).trim()).unwrap()
    };
    let one = run("1");
    let two = run("2");
    for key in [
        "bands",
        "spending_bands",
        "success_probability",
        "terminal_percentiles",
        "max_drawdown_percentiles",
        "horizon_risk",
        "variance",
        "accounts",
    ] {
        assert_eq!(one[key], two[key], "{key} is the same on one and two threads");
    }
    let bands = one["bands"].as_array().unwrap();
    assert_eq!(bands.len(), 40);
    for b in bands {
        let w: Vec<f64> = b["wealth"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        assert!(w.windows(2).all(|p| p[0] <= p[1]), "percentiles ascend: {w:?}");
    }
    let p = one["success_probability"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&p));
    assert_eq!(one["paths"], 3000);
    // Withdrawals from year 16 to 40, in today's money; the 5% spender takes less than the 95%.
    let spending = one["spending_bands"].as_array().unwrap();
    assert_eq!(spending.len(), 25);
    assert!(spending[10]["wealth"][0].as_f64().unwrap() <= spending[10]["wealth"][4].as_f64().unwrap());
    // Antithetic pairs and the control variate are on in the example: they must gain, and each
    // is reported alone beside both together.
    let factor = one["variance"]["reduction_factor"].as_f64().unwrap();
    assert!(factor > 1.0, "variance reduction {factor}");
    assert_eq!(one["variance"]["reduction"]["both"].as_f64(), Some(factor));
    for technique in ["antithetic", "control_variate"] {
        let f = one["variance"]["reduction"][technique].as_f64().unwrap();
        assert!(f >= 1.0, "{technique} alone: {f}");
    }
    // They gain little on this plan, and the output says why: what the plan does beyond the
    // normal draws that both techniques work on.
    let notes = one["variance"]["notes"].as_array().unwrap();
    let little = notes.iter().filter_map(|n| n.as_str()).find(|n| n.starts_with("little gain")).unwrap();
    for cause in ["skewed-t shocks", "jumps", "crashes", "withdrawals"] {
        assert!(little.contains(cause), "{cause} in {little}");
    }
    // VaR/CVaR at the default horizons and confidences: CVaR beyond VaR, 99% beyond 95%.
    let risk = one["horizon_risk"].as_array().unwrap();
    assert_eq!(risk.iter().map(|h| h["years"].as_u64().unwrap()).collect::<Vec<_>>(), [1, 5, 10]);
    for h in risk {
        let tail = h["tail"].as_array().unwrap();
        let var = |i: usize, k: &str| tail[i][k].as_f64().unwrap();
        assert!(var(0, "historical_cvar") >= var(0, "historical_var"));
        assert!(var(1, "historical_var") >= var(0, "historical_var"));
    }
    let table = simulate(&[plan, "--paths", "500", "--horizons", "3", "--confidence", "0.9"]);
    let text = stdout(&table);
    for part in [
        "probability of success:",
        "withdrawals (today's money)",
        "wealth (nominal)",
        "terminal wealth (nominal), 5/25/50/75/95%:",
        "portfolio return over 3 years",
        "90.0%",
        "variance reduced: antithetic alone",
        "control variate alone",
        "normal and Cornish-Fisher: log returns",
    ] {
        assert!(text.contains(part), "{part} in {text}");
    }
}

/// Every figure says its unit: money nominal or in today's money, drawdowns and VaR as fractions.
#[test]
fn every_money_figure_says_whether_it_is_nominal_or_in_todays_money() {
    let plan = example();
    let o = simulate(&[plan.to_str().unwrap(), "--paths", "200", "--format", "json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    let units = &v["units"];
    for (field, unit) in [
        ("bands", "nominal"),
        ("spending_bands", "today's money"),
        ("terminal_mean", "nominal"),
        ("terminal_percentiles", "nominal"),
        ("variance", "nominal"),
        ("horizon_risk", "fraction of the portfolio's value"),
        ("max_drawdown_percentiles", "fraction of the running peak of nominal wealth"),
    ] {
        assert_eq!(units[field], unit, "{field}: {units}");
        assert!(!v[field].is_null(), "{field} is in the output");
    }
}

/// A plan without cash flows on a rebalanced mix of two geometric Brownian motions: each
/// technique alone shrinks the variance of the mean, and both together more than antithetic
/// pairs alone.
#[test]
fn the_variance_reduction_of_each_technique_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("gbm.toml");
    std::fs::write(
        &plan,
        "initial_wealth = 1000000.0\nyears = 10\npaths = 4000\nseed = 3\n\
         [variance_reduction]\nantithetic = true\ncontrol_variate = true\n\
         [model]\ncorrelation = [[1.0, 0.2], [0.2, 1.0]]\n\
         [[model.assets]]\nname = \"stocks\"\nexpected_return = 0.08\nvolatility = 0.25\nweight = 0.6\n\
         [[model.assets]]\nname = \"bonds\"\nexpected_return = 0.03\nvolatility = 0.08\nweight = 0.4\n",
    )
    .unwrap();
    let o = simulate(&[plan.to_str().unwrap(), "--format", "json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    let r = &v["variance"]["reduction"];
    let (a, c, both) =
        (r["antithetic"].as_f64().unwrap(), r["control_variate"].as_f64().unwrap(), r["both"].as_f64().unwrap());
    assert!(a > 1.5 && c > 10.0 && both > a, "antithetic {a}, control variate {c}, both {both}");
    assert_eq!(v["variance"]["reduction_factor"].as_f64(), Some(both));
    let notes = v["variance"]["notes"].as_array().unwrap();
    assert!(notes.iter().all(|n| !n.as_str().unwrap().starts_with("little gain")), "{}", v["variance"]);
    // The correlations behind the factors: pairs alone gain 1/(1 + rho), the control 1/(1 - rho^2).
    let pair = v["variance"]["pair_correlation"].as_f64().unwrap();
    let control = v["variance"]["control_correlation"].as_f64().unwrap();
    assert!((1.0 / (1.0 + pair) / a - 1.0).abs() < 0.01, "pairs correlate {pair}, antithetic {a}");
    assert!((1.0 / (1.0 - control * control) / c - 1.0).abs() < 0.01, "control correlates {control}, {c}");
    let text = stdout(&simulate(&[plan.to_str().unwrap()]));
    let line = text.lines().find(|l| l.starts_with("variance reduced:")).unwrap_or_else(|| panic!("{text}"));
    assert_eq!(
        line,
        format!("variance reduced: antithetic alone {a:.1}x, control variate alone {c:.1}x, both {both:.1}x")
    );
}

/// 80% volatility over 10 years: a normal fit to the simple compounded returns puts the 99%
/// VaR far beyond 100% of the value; fitted to the log returns and transformed back, no VaR or
/// CVaR of this long-only portfolio exceeds 1, and the output says on what basis.
#[test]
fn var_and_cvar_of_a_very_volatile_plan_never_exceed_the_portfolio() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("volatile.toml");
    std::fs::write(
        &plan,
        "initial_wealth = 100000.0\nyears = 10\npaths = 5000\nseed = 11\n\
         [model]\n[[model.assets]]\nname = \"wild\"\nexpected_return = 0.07\nvolatility = 0.8\nweight = 1.0\n",
    )
    .unwrap();
    let plan = plan.to_str().unwrap();
    let o = simulate(&[plan, "--horizons", "1,10", "--format", "json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    let risk = v["horizon_risk"].as_array().unwrap();
    assert_eq!(risk.len(), 2);
    let ten = &risk[1];
    assert_eq!(ten["years"], 10);
    // The normal fit to simple returns, -mean + sd z: here far above 1.
    let sd = ten["volatility"].as_f64().unwrap() * 10f64.sqrt();
    let simple_normal_var = -ten["mean"].as_f64().unwrap() + sd * 2.3263478740408408;
    assert!(simple_normal_var > 1.0, "{simple_normal_var}");
    for h in risk {
        assert!(h["basis"].as_str().unwrap().starts_with("log returns"), "{h}");
        for t in h["tail"].as_array().unwrap() {
            for k in [
                "historical_var",
                "historical_cvar",
                "parametric_var",
                "parametric_cvar",
                "cornish_fisher_var",
                "cornish_fisher_cvar",
            ] {
                let x = t[k].as_f64().unwrap_or_else(|| panic!("{k}: {t}"));
                assert!((0.0..=1.0).contains(&x), "{k} over {} years: {x}", h["years"]);
            }
        }
    }
    // The 10-year 99% normal VaR is the lognormal's: 1 - e^(m - 2.326 s), within sampling error
    // of 1 - e^(10 (ln 1.07 - 0.32) - 2.326 · 0.8 √10) = 0.99978.
    let var99 = ten["tail"][1]["parametric_var"].as_f64().unwrap();
    assert!((var99 - 0.99978).abs() < 6e-5, "{var99}");
    let text = stdout(&simulate(&[plan, "--horizons", "10"]));
    assert!(text.contains("normal and Cornish-Fisher: log returns"), "{text}");
}

/// A Cornish-Fisher map that is not monotone is reported as unavailable, with the reason, in
/// JSON and in the table, rather than as a number.
#[test]
fn an_unavailable_cornish_fisher_figure_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("crash.toml");
    std::fs::write(
        &plan,
        "initial_wealth = 100000.0\nyears = 5\npaths = 4000\nseed = 5\n\
         [model]\ncrashes = { annual_probability = 0.1, min_loss = 0.85, max_loss = 0.9 }\n\
         [[model.assets]]\nname = \"calm\"\nexpected_return = 0.05\nvolatility = 0.02\nweight = 1.0\n",
    )
    .unwrap();
    let plan = plan.to_str().unwrap();
    let o = simulate(&[plan, "--horizons", "1", "--format", "json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    let t = &v["horizon_risk"][0]["tail"][0];
    assert!(t["cornish_fisher_var"].is_null() && t["cornish_fisher_cvar"].is_null(), "{t}");
    let why = t["cornish_fisher_unavailable"].as_str().unwrap_or_else(|| panic!("{t}"));
    assert!(why.contains("not monotone"), "{why}");
    assert!(t["parametric_var"].as_f64().is_some(), "{t}");
    let text = stdout(&simulate(&[plan, "--horizons", "1"]));
    assert!(
        text.contains("n/a / n/a")
            && text.contains("Cornish-Fisher unavailable: the Cornish-Fisher quantile map is not monotone"),
        "{text}"
    );
}

/// Every file in examples/ runs with the command README.md gives for it, from the repository
/// root (examples/quant/*.jsonl are run by tests/quant.rs).
#[test]
fn every_example_runs_with_the_readme_command() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    // Commands in backticks that name an example file.
    let commands: Vec<&str> = readme
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|c| {
            (c.starts_with("cairn simulate examples/")
                || c.starts_with("cairn economy examples/")
                || (c.starts_with("cairn estate ") && c.contains(" --plan examples/")))
                && c.ends_with(".toml")
        })
        .collect();
    let mut examples: Vec<String> = std::fs::read_dir(root.join("examples"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    examples.sort();
    assert_eq!(
        examples,
        [
            "accounts.toml",
            "economy-plan.toml",
            "economy.toml",
            "education.toml",
            "estate.toml",
            "retirement.toml",
            "succession.toml"
        ]
    );
    for file in &examples {
        let named: Vec<&&str> = commands.iter().filter(|c| c.ends_with(&format!("examples/{file}"))).collect();
        assert!(!named.is_empty(), "README.md gives no command for examples/{file}: {commands:?}");
        // examples/estate.toml holds a table for each of five planners.
        if *file == "estate.toml" {
            let planners: Vec<&str> = named.iter().map(|c| c.split_whitespace().nth(2).unwrap()).collect();
            assert_eq!(planners, ["gifts", "grat", "charitable", "philanthropy", "strategies"], "{named:?}");
        }
        for command in named {
            run_example(&root, command, file);
        }
    }
}

/// Runs one README command of an example and checks it printed its planner's answer.
fn run_example(root: &std::path::Path, command: &str, file: &str) {
    let words: Vec<&str> = command.split_whitespace().collect();
    assert_eq!(words[0], "cairn");
    let o = cairn().args(&words[1..]).current_dir(root).output().unwrap();
    assert!(o.status.success(), "{command}: {}", stderr(&o));
    let out = stdout(&o);
    let expected = match words[1] {
        "economy" => "expansion",
        "estate" => match words[2] {
            "succession" => "installment_sale_to_idgt",
            "gifts" => "exclusion_left",
            "grat" => "remainder_at_expected_return",
            "charitable" => "remainder_value",
            "philanthropy" => "donor_advised_fund",
            "strategies" => "dynasty_trust",
            _ => "needed_at_enrolment",
        },
        _ => "probability of success:",
    };
    assert!(out.contains(expected), "{command}: {out}");
    if file == "accounts.toml" {
        assert!(out.contains("account projections at the accounts' assumed returns (nominal)"), "{command}: {out}");
        assert!(out.contains("medians by year (nominal"), "{command}: {out}");
    }
}

/// The fan chart comes out as SVG or PNG, chosen by the file's extension.
#[test]
fn the_fan_chart_is_drawn_as_svg_or_png() {
    let dir = tempfile::tempdir().unwrap();
    let plan = example();
    let (svg, png) = (dir.path().join("fan.svg"), dir.path().join("fan.png"));
    for file in [&svg, &png] {
        let o = simulate(&[plan.to_str().unwrap(), "--paths", "300", "--chart", file.to_str().unwrap()]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(
        text.starts_with("<svg") && text.contains("median") && text.contains("5-95%"),
        "{}",
        &text[..200.min(text.len())]
    );
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    // IHDR: width and height, big-endian, at bytes 16..24.
    assert_eq!(u32::from_be_bytes(bytes[16..20].try_into().unwrap()), 1000);
    assert_eq!(u32::from_be_bytes(bytes[20..24].try_into().unwrap()), 560);
    let o = simulate(&[plan.to_str().unwrap(), "--paths", "10", "--chart", "fan.gif"]);
    assert_eq!(stderr(&o).trim(), "error: --chart: fan.gif must end in .svg or .png");
}

/// A plan driven by the economic scenario generator runs, and the generator runs alone.
#[test]
fn the_economy_drives_a_plan_and_runs_alone() {
    let plan = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/economy-plan.toml");
    let o = simulate(&[plan.to_str().unwrap(), "--paths", "500", "--format", "json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert!((0.0..=1.0).contains(&v["success_probability"].as_f64().unwrap()));
    let o = cairn().args(["economy", "--years", "10", "--paths", "400", "--format", "json"]).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(v["bands"].as_array().unwrap().len(), 10);
    assert_eq!(v["regimes"][0], "expansion");
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/economy.toml");
    let o = cairn().args(["economy", file.to_str().unwrap(), "--years", "5", "--paths", "200"]).output().unwrap();
    assert!(stdout(&o).contains("expansion"), "{}", stdout(&o));
}

#[test]
fn bad_plans_are_refused_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let base = "initial_wealth = 1000.0\nyears = 10\n[model]\n[[model.assets]]\nname = \"a\"\nexpected_return = 0.05\nvolatility = 0.1\nweight = 0.5\n[[model.assets]]\nname = \"b\"\nexpected_return = 0.03\nvolatility = 0.05\nweight = 0.5\n";
    let unknown = write("unknown.toml", &format!("{base}colour = \"red\"\n"));
    let o = simulate(&[unknown.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("colour") && stderr(&o).contains("line"), "{}", stderr(&o));

    let asymmetric =
        write("asym.toml", &base.replace("[model]\n", "[model]\ncorrelation = [[1.0, 0.5], [0.4, 1.0]]\n"));
    let o = simulate(&[asymmetric.to_str().unwrap()]);
    assert_eq!(stderr(&o).trim(), "error: model.correlation: entry (1, 2) differs from (2, 1): not symmetric");

    let three = "[[model.assets]]\nname = \"c\"\nexpected_return = 0.04\nvolatility = 0.08\nweight = 0.0\n";
    let indefinite = write(
        "indefinite.toml",
        &format!(
            "{}{three}",
            base.replace("[model]\n", "[model]\ncorrelation = [[1.0, 1.0, 0.0], [1.0, 1.0, 1.0], [0.0, 1.0, 1.0]]\n")
        ),
    );
    let o = simulate(&[indefinite.to_str().unwrap(), "--paths", "200"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("warning: model.correlation is not positive definite; repaired"), "{}", stderr(&o));

    let rate = write("rate.toml", &format!("{base}[withdrawal]\nkind = \"fixed_percentage\"\nrate = 2.0\n"));
    let o = simulate(&[rate.to_str().unwrap()]);
    assert_eq!(stderr(&o).trim(), "error: withdrawal.rate: must be between 0 and 1");
    let income = write(
        "income.toml",
        &format!("{base}[cash_flows]\n[[cash_flows.income]]\nname = \"SS\"\nannual_amount = 1.0\nstart_age = 67\n"),
    );
    let o = simulate(&[income.to_str().unwrap()]);
    assert_eq!(stderr(&o).trim(), "error: age: cash_flows.income[0].start_age starts at an age");
}

/// examples/accounts.toml as one household: the accounts are the starting wealth, the plan's
/// success and after-tax wealth come from withdrawals taxed year by year, every money figure
/// says its unit, the same seed gives the same answer, and the order changes the taxes.
#[test]
fn a_household_plan_runs_its_accounts_withdrawals_and_taxes_as_one_model() {
    let plan = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/accounts.toml");
    let run = |extra: &[&str]| {
        let o = simulate(&[&[plan.to_str().unwrap(), "--paths", "400", "--format", "json"], extra].concat());
        assert!(o.status.success(), "{}", stderr(&o));
        serde_json::from_str::<serde_json::Value>(stdout(&o).trim()).unwrap()
    };
    let h = run(&[]);
    // 180,000 + 60,000 + 25,000 + 12,000 + 50,000: the 529's 30,000 pays for college.
    assert_eq!(h["starting_wealth"].as_f64(), Some(327_000.0));
    let p = h["success_probability"].as_f64().unwrap();
    assert!(p > 0.0 && p < 1.0, "{p}");
    for (field, unit) in [
        ("starting_wealth", "nominal"),
        ("bands", "nominal"),
        ("after_tax_bands", "today's money"),
        ("spending_bands", "today's money"),
        ("tax_bands", "today's money"),
        ("terminal_after_tax", "today's money"),
        ("terminal_after_tax_nominal", "nominal"),
        ("lifetime_tax", "today's money"),
        ("median_years", "nominal"),
        ("accounts", "nominal"),
    ] {
        assert_eq!(h["units"][field], unit, "{field}");
        assert!(!h[field].is_null(), "{field}");
    }
    // Spending starts in year 25 (2050), the year of retirement: 90,000 of today's money,
    // nominal in the medians (grown by 2.5% a year for 24 years).
    let years = h["median_years"].as_array().unwrap();
    assert_eq!(years.len(), 50);
    assert_eq!(years[23]["spending"].as_f64(), Some(0.0));
    let spending = years[24]["spending"].as_f64().unwrap();
    assert!((spending - 90_000.0 * 1.025f64.powi(24)).abs() < 0.01, "{spending}");
    assert_eq!(h["spending_bands"][0]["year"], 25);
    // Withdrawals pay tax in retirement; percentiles ascend.
    let tax = h["lifetime_tax"].as_array().unwrap();
    assert!(tax[2].as_f64().unwrap() > 0.0 && tax[0].as_f64() <= tax[4].as_f64(), "{tax:?}");
    let after = h["terminal_after_tax"].as_array().unwrap();
    assert!(after.windows(2).all(|w| w[0].as_f64() <= w[1].as_f64()), "{after:?}");
    assert!(h["method"].as_array().unwrap().iter().any(|m| m.as_str().unwrap().contains("12% bracket")));
    assert_eq!(run(&[])["after_tax_bands"], h["after_tax_bands"], "seeded: the same answer");
    // The same paths drawn taxable first: other withdrawals, other taxes.
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first.toml");
    let text = std::fs::read_to_string(&plan).unwrap();
    std::fs::write(&first, text.replace("order = \"bracket\"", "order = \"taxable_first\"")).unwrap();
    let o = simulate(&[first.to_str().unwrap(), "--paths", "400", "--format", "json"]);
    let t: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(t["order"], "taxable_first");
    assert_ne!(t["lifetime_tax"], h["lifetime_tax"]);
    // Both a starting wealth and accounts: refused, naming the field.
    std::fs::write(&first, format!("initial_wealth = 1000.0\n{text}")).unwrap();
    let o = simulate(&[first.to_str().unwrap()]);
    assert!(!o.status.success() && stderr(&o).contains("initial_wealth"), "{}", stderr(&o));
}
