//! Goals end to end, against real SQLite and PostgreSQL: set over the CLI and HTTP (refusals
//! name the field, nothing is recorded), listed with the funded ratio computed from the
//! present-value formulas and the Monte Carlo probability (certain when nothing is random), the
//! same answer from both shells, and the goal-progress rule raising an alert from them.

mod common;

use common::{all_backends, register, run_with_input, server_env};
use serde_json::Value;

fn json(out: &str) -> Value {
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"))
}

/// `target / (1 + r)^(days / 365)`, and `c (1 − (1 + i)^−n) / i` at the monthly rate.
fn present_value(target: f64, r: f64, days: i64) -> f64 {
    target / (1.0 + r).powf(days as f64 / 365.0)
}

fn annuity(c: f64, r: f64, n: u32) -> f64 {
    let i = (1.0 + r).powf(1.0 / 12.0) - 1.0;
    c * (1.0 - (1.0 + i).powi(-(n as i32))) / i
}

fn dec(v: &Value) -> f64 {
    v.as_str().unwrap_or_else(|| panic!("{v}")).parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn goals_are_set_listed_and_watched_from_both_shells() {
    for db in all_backends("goals").await {
        let dir = tempfile::tempdir().unwrap();
        let env = server_env(dir.path());
        let cli = |args: &[&str]| run_with_input(&db.url, &env, args, "");
        // A 529 with 10,000 of cash and 200 VTI closing at 110: 32,000; a taxable account with
        // 8,000 of cash. The household is worth 40,000.
        let ledger = dir.path().join("ledger.csv");
        std::fs::write(
            &ledger,
            "trade_date,account,account_type,action,symbol,quantity,price,fees\n\
             2025-10-01,College,529,deposit,,1,30000,0\n\
             2025-10-01,College,529,buy,VTI,200,100,0\n\
             2025-10-01,Brokerage,taxable,deposit,,1,8000,0\n",
        )
        .unwrap();
        cli(&["ledger", "import", ledger.to_str().unwrap(), "--household", "smith"]);
        let bars = dir.path().join("bars.csv");
        std::fs::write(&bars, "date,symbol,open,high,low,close,volume\n2025-12-01,VTI,110,110,110,110,1000\n").unwrap();
        cli(&["market", "import", bars.to_str().unwrap()]);

        // College: 100,000 by 2036-09-01 from the 529 and 300 a month, at 6% and 12%.
        // House: 20,000 by 2028-12-01 from everything, at 5% with nothing random.
        let set = json(&cli(&[
            "goals",
            "set",
            "--household",
            "smith",
            "--name",
            "college",
            "--target",
            "100000",
            "--date",
            "2036-09-01",
            "--account",
            "College",
            "--monthly-contribution",
            "300",
            "--expected-return",
            "0.06",
            "--volatility",
            "0.12",
        ]));
        assert_eq!(set["recorded"], 1, "{set}");
        cli(&[
            "goals",
            "set",
            "--household",
            "smith",
            "--name",
            "house",
            "--target",
            "20000",
            "--date",
            "2028-12-01",
            "--expected-return",
            "0.05",
            "--volatility",
            "0",
        ]);
        // A goal on an account the household has not, or in the past, is refused naming the field.
        for (args, field) in [
            (vec!["--account", "Nowhere"], "accounts"),
            (vec!["--date", "2020-01-01"], "date"),
            (vec!["--target", "-5"], "target"),
        ] {
            let mut full = vec![
                "goals",
                "set",
                "--household",
                "smith",
                "--name",
                "boat",
                "--target",
                "50000",
                "--date",
                "2030-01-01",
            ];
            full.extend(args);
            let out = common::cairn()
                .args(["--database-url", &db.url])
                .args(&full)
                .envs(env.iter().map(|(k, v)| (k, v)))
                .output()
                .unwrap();
            assert!(!out.status.success() && common::stderr(&out).contains(field), "{field}: {}", common::stderr(&out));
        }

        let as_of = "2026-12-05";
        let listed = json(&cli(&["goals", "list", "--household", "smith", "--as-of", as_of, "--format", "json"]));
        let goals = listed.as_array().unwrap();
        assert_eq!(goals.iter().map(|g| g["name"].as_str().unwrap()).collect::<Vec<_>>(), ["college", "house"]);
        let (college, house) = (&goals[0], &goals[1]);
        assert_eq!((college["current"].as_str(), house["current"].as_str()), (Some("32000.00"), Some("40000.00")));
        // 2026-12-05 to 2036-09-01: 3,558 days and 116 whole months.
        assert_eq!(college["months"], 116);
        let pv = present_value(100_000.0, 0.06, 3_558);
        let contributions = annuity(300.0, 0.06, 116);
        assert!((dec(&college["present_value"]) - pv).abs() < 0.006, "{college} vs {pv}");
        assert!((dec(&college["contributions_value"]) - contributions).abs() < 0.006, "{college} vs {contributions}");
        let funded = (32_000.0 + contributions) / pv;
        assert!((dec(&college["funded_ratio"]) - funded).abs() < 1e-5, "{college} vs {funded}");
        let p = dec(&college["probability"]);
        assert!(p > 0.05 && p < 0.95, "an uncertain goal: {p}");
        // Nothing random: the house is reached for sure (40,000 > 20,000 / 1.05^2), at the
        // assumption given.
        assert_eq!(house["probability"], "1", "{house}");
        assert_eq!((house["assumed_return"].as_str(), house["assumed_volatility"].as_str()), (Some("0.05"), Some("0")));
        assert!(dec(&house["funded_ratio"]) > 1.0);

        // The rule: a floor of 99% makes the college goal short; the house stays quiet.
        cli(&["rules", "set", "--household", "smith", "--set", "goal_probability=0.99"]);
        cli(&["alerts", "evaluate", "--as-of", as_of]);
        let alerts = json(&cli(&["alerts", "list", "--household", "smith", "--format", "json"]));
        let goal_alerts: Vec<&Value> =
            alerts["alerts"].as_array().unwrap().iter().filter(|a| a["rule"] == "goal_progress").collect();
        assert_eq!(goal_alerts.len(), 1, "{alerts}");
        let id = goal_alerts[0]["id"].as_str().unwrap();
        assert!(id.contains("college"), "{id}");
        let shown = json(&cli(&["alerts", "show", "--household", "smith", "--id", id]));
        let values = &shown["finding"]["values"];
        assert_eq!(values["funded_ratio"], college["funded_ratio"], "{shown}");
        assert_eq!(values["probability"], college["probability"], "the rule reads the same estimate: {shown}");

        // Over HTTP: the same goals from the same day, a refusal naming its field, a removal.
        register(&db.url, &env, "Ana Smith", "ana@smith.test", "smith", "correct horse battery staple");
        let (child, base) = common::serve(&db.url, env.clone());
        let _server = common::Kill(child);
        let ana = common::login(&base, "ana@smith.test", "correct horse battery staple").await;
        let http = reqwest::Client::new();
        let today = json(&cli(&["goals", "list", "--household", "smith", "--format", "json"]));
        let answer: Value = http
            .get(format!("{base}/v1/households/smith/goals"))
            .bearer_auth(&ana)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(answer["goals"], today, "{answer}");
        let put = |name: &str, body: Value| {
            let request = http.put(format!("{base}/v1/households/smith/goals/{name}")).bearer_auth(&ana).json(&body);
            async move {
                let r = request.send().await.unwrap();
                (r.status().as_u16(), r.json::<Value>().await.unwrap())
            }
        };
        let (status, body) =
            put("boat", serde_json::json!({ "target": "50000", "date": "2031-06-01", "volatility": 2 })).await;
        assert_eq!((status, body["field"].as_str()), (422, Some("volatility")), "{body}");
        let (status, body) =
            put("boat", serde_json::json!({ "target": 50000, "date": "2031-06-01", "monthly_contribution": "250.50" }))
                .await;
        assert_eq!(status, 201, "{body}");
        let (status, _) =
            put("boat", serde_json::json!({ "target": 50000, "date": "2031-06-01", "monthly_contribution": "250.50" }))
                .await;
        assert_eq!(status, 200, "the same goal again records nothing");
        let removed =
            http.delete(format!("{base}/v1/households/smith/goals/college")).bearer_auth(&ana).send().await.unwrap();
        assert_eq!(removed.status().as_u16(), 201);
        let missing =
            http.delete(format!("{base}/v1/households/smith/goals/college")).bearer_auth(&ana).send().await.unwrap();
        assert_eq!(missing.status().as_u16(), 404);
        let after = json(&cli(&["goals", "list", "--household", "smith", "--format", "json"]));
        let names: Vec<&str> = after.as_array().unwrap().iter().map(|g| g["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["boat", "house"]);
        assert_eq!(after[0]["monthly_contribution"], "250.50");
        // Every change is in the audit trail.
        let changes = common::household_changes(&db.url, &env, "smith");
        for kind in ["GoalSet", "GoalRemoved"] {
            assert!(changes.contains(kind), "{kind} in {changes}");
        }
    }
}
