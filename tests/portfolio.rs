//! End-to-end: `cairn portfolio …` with its optimistic lock, on SQLite and PostgreSQL.

mod common;

use common::{all_backends, run, stderr, stdout};

fn json(o: &std::process::Output) -> serde_json::Value {
    assert!(o.status.success(), "stderr: {}", stderr(o));
    serde_json::from_str(stdout(o).trim()).unwrap()
}

#[tokio::test]
async fn a_portfolio_edit_against_an_old_version_is_refused() {
    for db in all_backends("portfolio").await {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.csv");
        std::fs::write(
            &file,
            "trade_date,account,account_type,action,symbol,quantity,price,fees\n\
             2025-01-02,Brokerage,taxable,deposit,,1,1000,0\n\
             2025-01-02,Roth,roth_ira,deposit,,1,1000,0\n",
        )
        .unwrap();
        json(&run(&db.url, &["ledger", "import", &file.display().to_string(), "--household", "Kim"]));
        let p = ["--household", "Kim", "--name", "Core"];
        let created =
            json(&run(&db.url, &[&["portfolio", "create"][..], &p, &["--accounts", "Brokerage,Roth"]].concat()));
        assert_eq!(created["version"], 1);
        let set = json(&run(
            &db.url,
            &[&["portfolio", "target"][..], &p, &["--weights", "VTI=0.6,BND=0.4", "--expected-version", "1"]].concat(),
        ));
        assert_eq!(set["version"], 2);
        // A second editor still holding version 1 is refused, and nothing changes.
        let stale = run(
            &db.url,
            &[&["portfolio", "drift"][..], &p, &["--threshold", "0.1", "--expected-version", "1"]].concat(),
        );
        assert_eq!(stale.status.code(), Some(2));
        assert_eq!(
            stderr(&stale).trim(),
            "error: conflict: portfolio-kim--core is at version 2, not 1; reload and try again"
        );
        let shown = json(&run(&db.url, &["portfolio", "show", "--household", "Kim", "--name", "Core"]));
        assert_eq!((shown["version"].as_u64(), shown["drift_threshold"].as_str()), (Some(2), Some("0.05")));
        assert_eq!(shown["target"]["VTI"], "0.6");

        let bad = run(&db.url, &[&["portfolio", "target"][..], &p, &["--weights", "VTI=0.6,BND=0.3"]].concat());
        assert_eq!(stderr(&bad).trim(), "error: weights: weights sum to 0.9, not 1");
        let bad = run(&db.url, &[&["portfolio", "accounts"][..], &p, &["--accounts", "Nope"]].concat());
        assert_eq!(stderr(&bad).trim(), "error: accounts: the household has no account \"Nope\"");
        json(&run(&db.url, &[&["portfolio", "auto-rebalance"][..], &p, &["on"]].concat()));
        let shown = json(&run(&db.url, &["portfolio", "show", "--household", "Kim", "--name", "Core"]));
        assert_eq!(shown["auto_rebalance"], true);
        db.remove().await;
    }
}

/// `cairn portfolio risk` of a holding whose close halves at a 2:1 split the ledger records:
/// the risk history is split-adjusted, so there is no -50% day and the VaR is that of the
/// symbol's small daily moves.
#[tokio::test]
async fn a_split_the_ledger_knows_is_not_a_loss_in_portfolio_risk() {
    for db in all_backends("portfolio split").await {
        let dir = tempfile::tempdir().unwrap();
        let ledger = dir.path().join("ledger.csv");
        std::fs::write(
            &ledger,
            "trade_date,account,account_type,action,symbol,quantity,price,fees,ratio\n\
             2025-01-02,Brokerage,taxable,buy,XYZ,10,100,0,\n\
             2025-03-03,Brokerage,,split,XYZ,0,0,0,2:1\n",
        )
        .unwrap();
        json(&run(&db.url, &["ledger", "import", &ledger.display().to_string(), "--household", "Ng"]));
        // Weekday closes moving at most 0.5% a day, halved from the split's day on.
        let mut csv = String::from("date,symbol,open,high,low,close,volume\n");
        let (mut day, mut close) = (chrono::NaiveDate::from_ymd_opt(2025, 1, 2).unwrap(), 100.0f64);
        let split = chrono::NaiveDate::from_ymd_opt(2025, 3, 3).unwrap();
        for i in 0..100 {
            while matches!(chrono::Datelike::weekday(&day), chrono::Weekday::Sat | chrono::Weekday::Sun) {
                day = day.succ_opt().unwrap();
            }
            close *= 1.0 + ((i * 7 % 11) as f64 / 5.0 - 1.0) * 0.005;
            let shown = if day >= split { close / 2.0 } else { close };
            csv.push_str(&format!("{day},XYZ,{shown:.4},{shown:.4},{shown:.4},{shown:.4},1000\n"));
            day = day.succ_opt().unwrap();
        }
        let bars = dir.path().join("bars.csv");
        std::fs::write(&bars, csv).unwrap();
        json(&run(&db.url, &["market", "import", &bars.display().to_string()]));
        // A second household holds the same symbol but its ledger has no split row.
        let unsplit = dir.path().join("unsplit.csv");
        std::fs::write(
            &unsplit,
            "trade_date,account,account_type,action,symbol,quantity,price,fees\n\
             2025-01-02,Brokerage,taxable,buy,XYZ,10,100,0\n",
        )
        .unwrap();
        json(&run(&db.url, &["ledger", "import", &unsplit.display().to_string(), "--household", "Ox"]));
        let risk = |household: &str| {
            let p = ["--household", household, "--name", "Core"];
            json(&run(&db.url, &[&["portfolio", "create"][..], &p, &["--accounts", "Brokerage"]].concat()));
            let report = json(&run(&db.url, &[&["portfolio", "risk"][..], &p, &["--format", "json"]].concat()));
            let measures: std::collections::BTreeMap<String, String> = report["risk"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| (m["measure"].as_str().unwrap().to_owned(), m["value"].as_str().unwrap().to_owned()))
                .collect();
            (report, measures)
        };
        let (_, without) = risk("Ox");
        let cvar: f64 = without["cvar_99_1d"].parse().unwrap();
        assert!(cvar > 0.4, "unknown to the ledger, the split is a -50% day: {without:?}");
        let (report, measures) = risk("Ng");
        let num = |k: &str| measures[k].parse::<f64>().unwrap_or_else(|_| panic!("{k}: {report}"));
        assert_eq!(num("observations"), 99.0, "{report}");
        // With the -50% day, the 99% CVaR (the worst day alone, of 99) would be 0.5.
        for k in ["var_95_1d", "cvar_95_1d", "var_99_1d", "cvar_99_1d", "parametric_var_99_1d"] {
            assert!(num(k) > 0.0 && num(k) < 0.01, "{k}: {report}");
        }
        assert!(num("var_99_21d") < 0.05 && num("volatility") < 0.15, "{report}");
        assert!(measures["basis"].contains("split-adjusted"), "{report}");
        db.remove().await;
    }
}

#[tokio::test]
async fn allocation_shows_each_assets_drift_flag_and_the_portfolios_verdict_once() {
    let db = common::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let trades = dir.path().join("t.csv");
    std::fs::write(
        &trades,
        "trade_date,account,account_type,action,symbol,quantity,price,fees\n\
         2025-01-02,Brokerage,taxable,buy,M,100,40,0\n\
         2025-01-02,Brokerage,taxable,buy,N,10,16,0\n\
         2025-01-02,Brokerage,taxable,buy,P,10,26,0\n",
    )
    .unwrap();
    json(&run(&db.url, &["ledger", "import", &trades.display().to_string(), "--household", "Kim"]));
    let bars = dir.path().join("bars.csv");
    std::fs::write(
        &bars,
        "date,symbol,open,high,low,close,volume\n2025-01-03,M,45.125,45.125,45.125,45.125,1\n\
         2025-01-03,N,16,16,16,16,1\n2025-01-03,P,26,26,26,26,1\n",
    )
    .unwrap();
    json(&run(&db.url, &["market", "import", &bars.display().to_string()]));
    let p = ["--household", "Kim", "--name", "Core"];
    json(&run(&db.url, &[&["portfolio", "create"][..], &p, &["--accounts", "Brokerage"]].concat()));
    json(&run(&db.url, &[&["portfolio", "target"][..], &p, &["--weights", "M=0.8,N=0.1,P=0.1"]].concat()));

    // M is 0.11 over its target and N 0.07 under, beyond the 0.05 threshold; P, 0.047 under, is not.
    let report = json(&run(&db.url, &[&["portfolio", "allocation"][..], &p, &["--format", "json"]].concat()));
    assert_eq!((report["needs_rebalancing"].as_bool(), report["drift_threshold"].as_str()), (Some(true), Some("0.05")));
    let rows: Vec<(&str, &str, &str)> = report["allocation"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["asset"].as_str().unwrap(), r["drift"].as_str().unwrap(), r["beyond_threshold"].as_str().unwrap()))
        .collect();
    assert_eq!(rows, [("M", "0.11485", "true"), ("N", "-0.067562", "true"), ("P", "-0.047288", "false")]);
    assert!(report["allocation"][0].get("needs_rebalancing").is_none(), "the verdict is the portfolio's, not a column");

    let table = stdout(&run(&db.url, &[&["portfolio", "allocation"][..], &p].concat()));
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["asset", "market_value", "weight", "target", "drift", "beyond_threshold"]
    );
    assert_eq!(lines.len(), 5, "{table}");
    assert_eq!(lines[4], "allocation: drift_threshold 0.05, needs_rebalancing true");

    // A wider threshold: no asset is beyond it, and the portfolio needs nothing.
    json(&run(&db.url, &[&["portfolio", "drift"][..], &p, &["--threshold", "0.2"]].concat()));
    let report = json(&run(&db.url, &[&["portfolio", "allocation"][..], &p, &["--format", "json"]].concat()));
    assert_eq!((report["needs_rebalancing"].as_bool(), report["drift_threshold"].as_str()), (Some(false), Some("0.2")));
    assert!(report["allocation"].as_array().unwrap().iter().all(|r| r["beyond_threshold"] == "false"), "{report}");
    db.remove().await;
}
