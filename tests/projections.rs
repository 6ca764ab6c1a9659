//! End-to-end: read models (incremental vs rebuilt digests, version bumps, serve keeping them
//! caught up), auditors' as-of replay, changes and KYC reports, and the standalone projector fed
//! from PostgreSQL through NATS into another database.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{all_backends, cairn, postgres, stderr, stdout, TestDb};
use event_store::scratch::Scratch;
use event_store::EventStore as _;
use sha2::Digest as _;

const HEADER: &str = "trade_date,account,account_type,action,symbol,quantity,price,fees\n";

/// Runs `cairn` on `db` with a master key file in `dir` and a fixed actor.
fn run(db: &TestDb, dir: &tempfile::TempDir, args: &[&str]) -> std::process::Output {
    cairn()
        .env("CAIRN_MASTER_KEY_FILE", dir.path().join("master.key"))
        .env("CAIRN_ACTOR", "auditor-ann")
        .arg("--database-url")
        .arg(&db.url)
        .args(args)
        .output()
        .unwrap()
}

fn ok(o: &std::process::Output) -> String {
    assert!(o.status.success(), "stderr: {}", stderr(o));
    stdout(o)
}

fn json(o: &std::process::Output) -> serde_json::Value {
    serde_json::from_str(ok(o).trim()).unwrap()
}

fn lines(o: &std::process::Output) -> Vec<serde_json::Value> {
    ok(o).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn file(dir: &tempfile::TempDir, name: &str, body: &str) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, body).unwrap();
    path.display().to_string()
}

/// Projector name → overall digest, from `projections digest` or `project` output.
fn digests(out: &[serde_json::Value]) -> BTreeMap<String, String> {
    out.iter()
        .map(|d| (d["projector"].as_str().unwrap().to_owned(), d["sha256"].as_str().unwrap().to_owned()))
        .collect()
}

/// A household with a wash sale, prices, a portfolio with a target and a user through KYC.
fn populate(db: &TestDb, dir: &tempfile::TempDir) -> String {
    let trades = file(
        dir,
        "smith.csv",
        &format!(
            "{HEADER}2025-01-06,Brokerage,taxable,buy,M,100,50,0\n\
             2025-05-01,Brokerage,,sell,M,100,40,0\n\
             2025-05-15,Brokerage,,buy,M,75,50,0\n\
             2025-05-20,Roth,roth_ira,buy,VTI,10,250,0\n"
        ),
    );
    ok(&run(db, dir, &["ledger", "import", &trades, "--household", "Smith"]));
    // A report in between: the read models are maintained incrementally from here on.
    ok(&run(db, dir, &["ledger", "lots", "--household", "Smith"]));
    ok(&run(db, dir, &["performance", "--household", "Smith", "--to", "2025-05-31"]));
    let prices = file(
        dir,
        "prices.csv",
        "date,symbol,open,high,low,close,volume\n2025-06-02,M,50,61,49,60,1000\n2025-06-02,VTI,250,301,249,300,500\n",
    );
    ok(&run(db, dir, &["market", "import", &prices]));
    let p = ["--household", "Smith", "--name", "Core"];
    ok(&run(db, dir, &[&["portfolio", "create"][..], &p, &["--accounts", "Brokerage,Roth"]].concat()));
    ok(&run(db, dir, &[&["portfolio", "target"][..], &p, &["--weights", "M=0.5,VTI=0.5"]].concat()));
    let reg = json(&run(
        db,
        dir,
        &["user", "register", "--name", "Ana Smith", "--email", "ana@example.com", "--household", "smith"],
    ));
    let id = reg["user_id"].as_str().unwrap().to_owned();
    ok(&run(db, dir, &["user", "kyc", "submit", "--user", &id, "--document", "passport:vault://docs/7"]));
    ok(&run(db, dir, &["user", "kyc", "review", "--user", &id, "--reviewer", "bo"]));
    ok(&run(db, dir, &["user", "kyc", "approve", "--user", &id, "--reviewer", "bo", "--expires", "2099-01-01"]));
    id
}

#[tokio::test]
async fn incremental_maintenance_and_a_full_rebuild_give_the_same_digest() {
    for db in all_backends("projections digest").await {
        let dir = tempfile::tempdir().unwrap();
        let user = populate(&db, &dir);

        // The read models answer the reports: valuations at the latest close, with the bar used.
        let positions = json(&run(&db, &dir, &["ledger", "positions", "--household", "Smith", "--format", "json"]));
        let m = positions["positions"].as_array().unwrap().iter().find(|p| p["symbol"] == "M").unwrap().clone();
        assert_eq!((m["quantity"].as_str(), m["market_value"].as_str()), (Some("75"), Some("4500.00")));
        assert_eq!(m["unrealized_gain"], "0.00", "basis 4,500 after the wash-sale adjustment");
        assert!(m["price_position"].as_str().unwrap().parse::<u64>().unwrap() > 0);
        // The daily history moved with the closes that came after it was built: 4,500 in M and
        // 3,000 in VTI, less the 7,250 the buys took beyond the sale's 4,000.
        let perf =
            json(&run(&db, &dir, &["performance", "--household", "Smith", "--to", "2025-06-03", "--format", "json"]));
        let series = perf["series"].as_array().unwrap();
        let value = |date: &str| series.iter().find(|d| d["date"] == date).map(|d| d["value"].clone());
        assert_eq!(
            value("2025-06-01"),
            Some(serde_json::json!("-1000.00")),
            "M and VTI at their last trade prices before the closes"
        );
        assert_eq!(value("2025-06-02"), Some(serde_json::json!("250.00")));
        assert_eq!(value("2025-06-03"), Some(serde_json::json!("250.00")), "carried to a day with no close");
        // 4,500 in M and 3,000 in VTI against 50/50: drift 0.1 over the 0.05 threshold.
        let alloc = json(&run(
            &db,
            &dir,
            &["portfolio", "allocation", "--household", "Smith", "--name", "Core", "--format", "json"],
        ));
        let rows = alloc["allocation"].as_array().unwrap();
        assert_eq!(
            (rows[0]["asset"].as_str(), rows[0]["weight"].as_str(), rows[0]["drift"].as_str()),
            (Some("M"), Some("0.6"), Some("0.1"))
        );
        assert_eq!(
            (rows[0]["beyond_threshold"].as_str(), rows[1]["beyond_threshold"].as_str()),
            (Some("true"), Some("true"))
        );
        assert_eq!(
            (alloc["needs_rebalancing"].as_bool(), alloc["drift_threshold"].as_str()),
            (Some(true), Some("0.05"))
        );
        let wash = json(&run(&db, &dir, &["ledger", "wash-sales", "--household", "Smith", "--format", "json"]));
        assert_eq!(wash["wash_sales"][0]["disallowed_loss"], "750.00");
        // Personal data is opened at query time only.
        let users = json(&run(&db, &dir, &["user", "list", "--format", "json"]));
        assert_eq!(
            (users["users"][0]["name"].as_str(), users["users"][0]["kyc_status"].as_str()),
            (Some("Ana Smith"), Some("approved"))
        );

        let before = digests(&lines(&run(&db, &dir, &["projections", "digest"])));
        assert_eq!(before.len(), 4);
        let rebuilt = lines(&run(&db, &dir, &["projections", "rebuild"]));
        assert!(rebuilt.iter().all(|r| r["generation"] == 2 && r["events"].as_u64().unwrap() > 10), "{rebuilt:?}");
        let after = digests(&lines(&run(&db, &dir, &["projections", "digest"])));
        assert_eq!(before, after, "a rebuild from position 0 gives exactly the incremental rows");

        // An older build's version in the registry: the next read rebuilds into a shadow
        // generation and swaps it in; the rows are the same.
        let sql = "UPDATE cairn_projectors SET version = 0 WHERE name = 'holdings'";
        match &db.store {
            event_store::Store::Sqlite(_) => {
                let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
                sqlx::query(sql).execute(&pool).await.unwrap();
                pool.close().await;
            }
            event_store::Store::Postgres(_) => {
                let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
                sqlx::query(sql).execute(&pool).await.unwrap();
                pool.close().await;
            }
        }
        ok(&run(&db, &dir, &["ledger", "lots", "--household", "Smith"]));
        let status = lines(&run(&db, &dir, &["projections", "status"]));
        let holdings = status.iter().find(|s| s["name"] == "holdings").unwrap();
        assert_eq!(
            (holdings["version"].as_i64(), holdings["generation"].as_i64()),
            (holdings["code_version"].as_i64(), Some(3))
        );
        assert!(holdings["rebuilding"].is_null());
        assert_eq!(digests(&lines(&run(&db, &dir, &["projections", "digest"])))["holdings"], before["holdings"]);

        // Erasure: the read model no longer opens the person.
        ok(&run(&db, &dir, &["user", "erase", "--user", &user]));
        let users = json(&run(&db, &dir, &["user", "list", "--format", "json"]));
        assert_eq!(
            (users["users"][0]["name"].as_str(), users["users"][0]["erased"].as_str()),
            (Some("erased"), Some("true"))
        );
        db.remove().await;
    }
}

#[tokio::test]
async fn audit_as_of_shows_a_report_as_it_stood_before_a_late_correction() {
    for db in all_backends("audit as-of").await {
        let dir = tempfile::tempdir().unwrap();
        populate(&db, &dir);
        let gains = |extra: &[&str]| {
            let args = [extra, &["ledger", "gains", "--household", "smith", "--year", "2025", "--format", "json"][..]]
                .concat();
            json(&run(&db, &dir, &args))
        };
        let original = gains(&[]);
        assert_eq!(original["totals"]["short"]["gain_loss"], "-250.00");
        // The JSON carries the SHA-256 of everything else in it, compact with sorted keys.
        let mut unsigned = original.clone();
        let carried = unsigned.as_object_mut().unwrap().remove("sha256").unwrap();
        assert_eq!(carried.as_str().unwrap(), hex::encode(sha2::Sha256::digest(unsigned.to_string())));
        assert_eq!(original["generated"]["parameters"]["year"], "2025");
        tokio::time::sleep(Duration::from_millis(50)).await;
        let instant = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        tokio::time::sleep(Duration::from_millis(50)).await;
        // A late correction: the sale was at 45, not 40.
        ok(&run(
            &db,
            &dir,
            &[
                "ledger",
                "correct",
                "--household",
                "Smith",
                "--trade",
                "T2",
                "--price",
                "45",
                "--reason",
                "broker confirm",
            ],
        ));
        assert_eq!(gains(&[])["totals"]["short"]["proceeds"], "4500.00");

        let then = gains(&["audit", "as-of", &instant]);
        assert_eq!(then["gains"], original["gains"], "as the ledger knew it before the correction");
        assert_eq!(then["totals"], original["totals"]);
        assert_eq!(then["generated"]["as_of"].as_str().map(|s| s[..19].to_owned()), Some(instant[..19].to_owned()));
        let lots_then = json(&run(
            &db,
            &dir,
            &["audit", "as-of", &instant, "ledger", "lots", "--household", "Smith", "--format", "json"],
        ));
        assert_eq!(lots_then["lots"].as_array().unwrap().len(), 2);
        // A bare date is all of that day, as over HTTP: as of today, everything recorded today
        // is in, the correction included.
        let today = chrono::Utc::now().date_naive().to_string();
        let as_of_today = gains(&["audit", "as-of", &today]);
        assert_eq!(as_of_today["totals"]["short"]["proceeds"], "4500.00", "{as_of_today}");
        assert_eq!(
            as_of_today["generated"]["as_of"].as_str(),
            Some(format!("{today}T23:59:59.999999Z").as_str()),
            "the last microsecond of the day"
        );
        // Before anything was recorded the household did not exist, and the replay says so.
        let first = stdout(&run(&db, &dir, &["events", "tail", "--stream", "ledger-smith"]));
        let first: serde_json::Value = serde_json::from_str(first.lines().next().unwrap()).unwrap();
        let first = chrono::DateTime::parse_from_rfc3339(first["recorded_at"].as_str().unwrap()).unwrap();
        let expected = format!(
            "error: household smith did not exist at 2001-01-01T23:59:59.999999Z (its first event was recorded at {})",
            first.with_timezone(&chrono::Utc).to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
        );
        for read in [
            &["ledger", "lots", "--household", "Smith"][..],
            &["ledger", "gains", "--household", "Smith", "--year", "2000"],
            &["portfolio", "allocation", "--household", "Smith", "--name", "Core"],
            &["portfolio", "risk", "--household", "Smith", "--name", "Core"],
        ] {
            let early = run(&db, &dir, &[&["audit", "as-of", "2001-01-01"][..], read].concat());
            assert_eq!((early.status.code(), stderr(&early).trim()), (Some(2), expected.as_str()), "{read:?}");
        }
        let never = run(&db, &dir, &["audit", "as-of", "2001-01-01", "ledger", "lots", "--household", "Nobody"]);
        assert_eq!(
            stderr(&never).trim(),
            "error: household nobody did not exist at 2001-01-01T23:59:59.999999Z (nothing has been recorded for it yet)"
        );

        // The changes since the instant: the correction (and the reports), with actor and command id.
        let changes = json(&run(
            &db,
            &dir,
            &["audit", "changes", "--from", &instant, "--to", "2999-01-01", "--household", "Smith", "--format", "json"],
        ));
        let rows = changes["changes"].as_array().unwrap();
        let corrected = rows.iter().find(|r| r["event_type"] == "TradeCorrected").expect("the correction is listed");
        assert_eq!(corrected["actor"], "auditor-ann");
        assert!(!corrected["command_id"].as_str().unwrap().is_empty());
        assert_eq!(corrected["summary"], "trade_id=T2 price 40 → 45 reason=broker confirm", "before → after");
        assert!(rows.iter().all(|r| r["stream"] == "ledger-smith"), "only the household's streams: {rows:?}");

        // KYC: every change with who and when, documents referenced; filtered by current status.
        let kyc = json(&run(&db, &dir, &["audit", "kyc", "--format", "json"]));
        let trail = kyc["kyc"].as_array().unwrap();
        let statuses: Vec<&str> = trail.iter().map(|r| r["status"].as_str().unwrap()).collect();
        assert_eq!(statuses, ["pending", "in_review", "approved"]);
        assert_eq!(trail[0]["documents"], "passport:vault://docs/7");
        assert_eq!(trail[2]["actor"], "bo");
        let none = json(&run(&db, &dir, &["audit", "kyc", "--status", "rejected", "--format", "json"]));
        assert_eq!(none["kyc"].as_array().unwrap().len(), 0);
        // The security log: the registration, by whom and when.
        let security = json(&run(&db, &dir, &["audit", "security", "--format", "json"]));
        let first = &security["security"][0];
        assert_eq!((first["kind"].as_str(), first["actor"].as_str()), (Some("registered"), Some("auditor-ann")));
        db.remove().await;
    }
}

/// Stops the server however the test ends.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn serve_keeps_the_read_models_caught_up() {
    for db in all_backends("serve projections").await {
        let dir = tempfile::tempdir().unwrap();
        let child = cairn()
            .env("CAIRN_MASTER_KEY_FILE", dir.path().join("master.key"))
            .args(["--database-url", &db.url, "serve", "--bind", "127.0.0.1:0"])
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let server = KillOnDrop(child);
        populate(&db, &dir);
        let head = db.store.head().await.unwrap().unwrap().position;
        // `projections status` changes nothing: only the server's projectors can move them.
        let mut caught_up = false;
        for _ in 0..100 {
            let status = lines(&run(&db, &dir, &["projections", "status"]));
            if status.iter().take(3).all(|s| s["checkpoint"].as_u64() >= Some(head)) {
                caught_up = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        drop(server);
        assert!(caught_up, "the server's projectors reached position {head}");
        db.remove().await;
    }
}

#[tokio::test]
async fn read_models_flow_from_postgres_through_nats_into_another_database() {
    let Ok(nats) = std::env::var("CAIRN_TEST_NATS_URL") else {
        common::skipped("project from NATS", "CAIRN_TEST_NATS_URL");
        return;
    };
    let Some(a) = postgres("project from NATS").await else { return };
    let dir = tempfile::tempdir().unwrap();
    populate(&a, &dir);
    let id = uuid::Uuid::now_v7().simple().to_string();
    let (stream, prefix) = (format!("CAIRN_TEST_{id}"), format!("cairntest_{id}.events"));
    let nats_flags = ["--nats-stream", stream.as_str(), "--nats-subject-prefix", prefix.as_str()];
    ok(&run(&a, &dir, &[&["relay", "--nats-url", nats.as_str(), "--once"][..], &nats_flags].concat()));

    let b = Scratch::create(&std::env::var("CAIRN_TEST_DATABASE_URL").unwrap()).await.unwrap();
    let projected = lines(&run(
        &a,
        &dir,
        &[&["project", "--target", b.url.as_str(), "--from-nats", nats.as_str()][..], &nats_flags].concat(),
    ));
    let in_a = lines(&run(&a, &dir, &["projections", "digest"]));
    // The relay ran before `projections digest` recorded nothing new; the positions agree.
    for (from_b, from_a) in projected.iter().zip(&in_a) {
        assert_eq!(from_b["projector"], from_a["projector"]);
        assert_eq!(from_b["position"], from_a["position"], "{from_b} vs {from_a}");
        assert_eq!(from_b["tables"], from_a["tables"], "table by table, B equals A");
    }
    assert_eq!(digests(&projected), digests(&in_a));
    assert!(in_a.iter().any(|d| d["tables"]["lots"]["rows"] == 2));
    b.remove().await.unwrap();
    a.remove().await;
}
