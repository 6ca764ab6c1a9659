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
