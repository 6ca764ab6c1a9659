//! End-to-end: `cairn ledger import`, `lots` and `gains` on SQLite files and PostgreSQL.

mod common;

use common::{all_backends, run, stderr, stdout};
use sha2::Digest as _;

const HEADER: &str =
    "trade_date,account,account_type,action,symbol,quantity,price,fees,lot_method,lot_ids,ratio,description\n";

fn write(dir: &tempfile::TempDir, name: &str, body: &str) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, format!("{HEADER}{body}")).unwrap();
    path.display().to_string()
}

fn json(o: &std::process::Output) -> serde_json::Value {
    assert!(o.status.success(), "stderr: {}", stderr(o));
    serde_json::from_str(stdout(o).trim()).unwrap()
}

/// The household's open lots (`cairn ledger lots`, with `extra` arguments), each as its
/// `columns`' text, sorted.
fn lot_columns(url: &str, household: &str, extra: &[&str], columns: &[&str]) -> Vec<Vec<String>> {
    let args = [&["ledger", "lots", "--household", household, "--format", "json"], extra].concat();
    let lots = json(&run(url, &args));
    let mut held: Vec<Vec<String>> = lots["lots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| columns.iter().map(|c| l[*c].as_str().unwrap().to_owned()).collect())
        .collect();
    held.sort();
    held
}

#[tokio::test]
async fn an_import_records_trades_and_reports_lots_and_wash_sale_gains() {
    for db in all_backends("ledger import").await {
        let dir = tempfile::tempdir().unwrap();
        // Publication 550, example 2, plus an IRA purchase and a split.
        let file = write(
            &dir,
            "smith.csv",
            "2025-01-06,Brokerage,taxable,buy,M,100,50,0,,,,\n\
             2025-05-01,Brokerage,,sell,M,100,40,0,,,,\n\
             2025-05-15,Brokerage,,buy,M,75,50,0,,,,\n\
             2025-05-20,Roth,roth_ira,buy,VTI,10,250,1.50,,,,\n\
             2025-06-02,Roth,,split,VTI,0,0,0,,,2:1,\n",
        );
        let o = json(&run(&db.url, &["ledger", "import", &file, "--household", "Smith"]));
        assert_eq!((o["rows"].as_u64(), o["wash_sales_adjusted"].as_u64()), (Some(5), Some(1)));
        assert_eq!(o["already_imported"], false);

        let again = json(&run(&db.url, &["ledger", "import", &file, "--household", "Smith"]));
        assert_eq!((again["already_imported"].as_bool(), again["events"].as_u64()), (Some(true), Some(0)));

        let lots = json(&run(&db.url, &["ledger", "lots", "--household", "Smith", "--format", "json"]));
        let lots = lots["lots"].as_array().unwrap();
        assert_eq!(lots.len(), 2);
        assert_eq!(lots[0]["symbol"], "M");
        assert_eq!(lots[0]["quantity"], "75");
        assert_eq!(lots[0]["adjusted_basis"], "4500.00");
        assert_eq!(lots[0]["acquired"], "2025-01-20", "the sold shares' 115 days are tacked on");
        assert_eq!((lots[1]["symbol"].as_str(), lots[1]["quantity"].as_str()), (Some("VTI"), Some("20")));
        assert_eq!(lots[1]["adjusted_basis"], "2501.50");

        let gains =
            json(&run(&db.url, &["ledger", "gains", "--household", "Smith", "--year", "2025", "--format", "json"]));
        let row = &gains["gains"][0];
        assert_eq!(row["description"], "100 M");
        assert_eq!((row["proceeds"].as_str(), row["cost_basis"].as_str()), (Some("4000.00"), Some("5000.00")));
        assert_eq!((row["adjustment_code"].as_str(), row["adjustment_amount"].as_str()), (Some("W"), Some("750.00")));
        assert_eq!((row["gain_loss"].as_str(), row["term"].as_str()), (Some("-250.00"), Some("short")));
        assert_eq!(gains["totals"]["short"]["gain_loss"], "-250.00");
        assert_eq!(gains["totals"]["long"]["gain_loss"], "0.00");

        let csv = run(&db.url, &["ledger", "gains", "--household", "Smith", "--year", "2025", "--format", "csv"]);
        let csv = stdout(&csv);
        assert!(csv.starts_with("description,account,date_acquired,date_sold,proceeds,cost_basis,"));
        // A CSV report ends with the SHA-256 of the lines above it.
        let (body, trailer) = csv.rsplit_once("# sha256:").unwrap();
        assert_eq!(trailer.trim(), hex::encode(sha2::Sha256::digest(body.as_bytes())));
        let table = run(&db.url, &["ledger", "lots", "--household", "Smith"]);
        assert!(stdout(&table).lines().next().unwrap().starts_with("lot_id  account"));

        // As of a trade date before the replacement purchase, the sale was a plain loss.
        let early = json(&run(
            &db.url,
            &["ledger", "lots", "--household", "Smith", "--as-of", "2025-05-10", "--format", "json"],
        ));
        assert_eq!(early["lots"].as_array().unwrap().len(), 0);
        // The ledger's 10 events, and one ReportGenerated per JSON or CSV report above.
        assert_eq!(stdout(&run(&db.url, &["verify"])).trim(), "ok 14 events");
        db.remove().await;
    }
}

#[tokio::test]
async fn a_bad_row_refuses_the_whole_file_naming_line_and_field() {
    for db in all_backends("ledger import errors").await {
        let dir = tempfile::tempdir().unwrap();
        let file = write(
            &dir,
            "bad.csv",
            "2025-01-06,Brokerage,taxable,buy,M,100,50,0,,,,\n\
             2025-05-01,Brokerage,,sell,M,101,40,0,,,,\n",
        );
        let o = run(&db.url, &["ledger", "import", &file, "--household", "Smith"]);
        assert_eq!(o.status.code(), Some(2));
        assert_eq!(stderr(&o).trim(), "error: line 3: quantity: 101 M to remove, but account Brokerage holds 100");
        let file = write(&dir, "bad2.csv", "2025-01-06,Brokerage,taxable,buy,M,100,fifty,0,,,,\n");
        let o = run(&db.url, &["ledger", "import", &file, "--household", "Smith"]);
        assert_eq!(stderr(&o).trim(), "error: line 2: price: \"fifty\" is not a decimal number");
        let file = write(&dir, "bad3.csv", "2025-01-06,Brokerage,,buy,M,100,50,0,,,,\n");
        let o = run(&db.url, &["ledger", "import", &file, "--household", "Smith"]);
        assert_eq!(stderr(&o).trim(), "error: line 2: account_type: required where account Brokerage first appears");
        assert_eq!(stdout(&run(&db.url, &["verify"])).trim(), "ok 0 events", "nothing was written");
        let o = run(&db.url, &["ledger", "lots", "--household", "Smith"]);
        assert_eq!(o.status.code(), Some(2));
        db.remove().await;
    }
}

#[tokio::test]
async fn a_late_file_reverses_a_recorded_wash_sale_with_new_events() {
    let db = common::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let first = write(
        &dir,
        "q1.csv",
        "2025-01-02,Brokerage,taxable,buy,X,10,10,0,,,,\n\
         2025-03-03,Brokerage,,sell,X,10,8,0,,,,\n\
         2025-03-20,Brokerage,,buy,X,10,8,0,,,,\n",
    );
    json(&run(&db.url, &["ledger", "import", &first, "--household", "Lee"]));
    let late = write(&dir, "late.csv", "2025-03-10,IRA,roth_ira,buy,X,10,8,0,,,,\n");
    let o = json(&run(&db.url, &["ledger", "import", &late, "--household", "Lee"]));
    assert_eq!((o["wash_sales_reversed"].as_u64(), o["wash_sales_adjusted"].as_u64()), (Some(1), Some(1)));
    // The IRA purchase came first: the loss is now gone for good, and the taxable lot keeps its cost.
    let lots = json(&run(&db.url, &["ledger", "lots", "--household", "Lee", "--format", "json"]));
    let brokerage = lots["lots"].as_array().unwrap().iter().find(|l| l["account"] == "Brokerage").unwrap().clone();
    assert_eq!(brokerage["adjusted_basis"], "80.00");
    // The JSON report was itself recorded, with the hash it carries.
    let all = stdout(&run(&db.url, &["events", "tail"]));
    let report: serde_json::Value = serde_json::from_str(all.lines().next_back().unwrap()).unwrap();
    assert_eq!(report["event_type"], "ReportGenerated");
    assert_eq!(report["payload"]["ReportGenerated"]["sha256"], lots["sha256"]);
    let tail = run(&db.url, &["events", "tail", "--stream", "ledger-lee"]);
    let types: Vec<String> = stdout(&tail)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["event_type"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        types.ends_with(&[
            "LedgerImported".into(),
            "AccountOpened".into(),
            "TradeRecorded".into(),
            "WashSaleReversed".into(),
            "WashSaleAdjusted".into()
        ]),
        "{types:?}"
    );
    db.remove().await;
}

#[tokio::test]
async fn the_wash_sale_register_is_in_sale_date_order() {
    let db = common::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    // T2, sold in June, is recorded first; a later file brings two March sales, T9 and T10.
    let june = write(
        &dir,
        "june.csv",
        "2025-01-06,Brokerage,taxable,buy,M,100,50,0,,,,\n\
         2025-06-02,Brokerage,,sell,M,100,40,0,,,,\n\
         2025-06-10,Brokerage,,buy,M,100,45,0,,,,\n",
    );
    json(&run(&db.url, &["ledger", "import", &june, "--household", "Ng"]));
    let march = write(
        &dir,
        "march.csv",
        "2025-01-02,Brokerage,,deposit,,1,1000,0,,,,\n\
         2025-01-02,Brokerage,,deposit,,1,1000,0,,,,\n\
         2025-02-03,Brokerage,,buy,N,10,20,0,,,,\n\
         2025-02-03,Brokerage,,buy,P,10,30,0,,,,\n\
         2025-02-04,Brokerage,,deposit,,1,1000,0,,,,\n\
         2025-03-03,Brokerage,,sell,P,10,25,0,,,,\n\
         2025-03-03,Brokerage,,sell,N,10,15,0,,,,\n\
         2025-03-10,Brokerage,,buy,N,10,16,0,,,,\n\
         2025-03-10,Brokerage,,buy,P,10,26,0,,,,\n",
    );
    let o = json(&run(&db.url, &["ledger", "import", &march, "--household", "Ng"]));
    assert_eq!(o["wash_sales_adjusted"], 2);
    let register = json(&run(&db.url, &["ledger", "wash-sales", "--household", "Ng", "--format", "json"]));
    let rows: Vec<(&str, &str, &str)> = register["wash_sales"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| (w["sale_date"].as_str().unwrap(), w["id"].as_str().unwrap(), w["symbol"].as_str().unwrap()))
        .collect();
    assert_eq!(
        rows,
        [("2025-03-03", "T9:T7:T12.1", "P"), ("2025-03-03", "T10:T6:T11.1", "N"), ("2025-06-02", "T2:T1:T3.1", "M")],
        "by sale date, then sale (T9 before T10)"
    );
    db.remove().await;
}

#[tokio::test]
async fn cancel_and_correct_change_the_reports_with_new_events() {
    for db in all_backends("ledger cancel and correct").await {
        let dir = tempfile::tempdir().unwrap();
        let file = write(
            &dir,
            "q1.csv",
            "2025-01-02,Brokerage,taxable,buy,X,10,10,0,,,,\n\
             2025-03-03,Brokerage,,sell,X,10,8,0,,,,\n\
             2025-03-20,Brokerage,,buy,X,10,8,0,,,,\n",
        );
        json(&run(&db.url, &["ledger", "import", &file, "--household", "Ng"]));
        let o = json(&run(
            &db.url,
            &["ledger", "correct", "--household", "Ng", "--trade", "T2", "--price", "7", "--reason", "typo"],
        ));
        assert_eq!((o["corrected"].as_str(), o["wash_sales_reversed"].as_u64()), (Some("T2"), Some(1)));
        let gains =
            json(&run(&db.url, &["ledger", "gains", "--household", "Ng", "--year", "2025", "--format", "json"]));
        assert_eq!(gains["gains"][0]["proceeds"], "70.00");
        assert_eq!(gains["gains"][0]["adjustment_amount"], "30.00");

        let o =
            json(&run(&db.url, &["ledger", "cancel", "--household", "Ng", "--trade", "T3", "--reason", "duplicate"]));
        assert_eq!(o["wash_sales_reversed"], 1);
        let gains =
            json(&run(&db.url, &["ledger", "gains", "--household", "Ng", "--year", "2025", "--format", "json"]));
        assert_eq!(
            (gains["gains"][0]["adjustment_code"].as_str(), gains["gains"][0]["gain_loss"].as_str()),
            (Some(""), Some("-30.00"))
        );

        let again = run(&db.url, &["ledger", "cancel", "--household", "Ng", "--trade", "T3", "--reason", "again"]);
        assert_eq!(again.status.code(), Some(2));
        assert_eq!(stderr(&again).trim(), "error: trade: T3 was cancelled (duplicate)");
        let bad = run(
            &db.url,
            &["ledger", "correct", "--household", "Ng", "--trade", "T1", "--quantity", "5", "--reason", "r"],
        );
        assert!(stderr(&bad).contains("recorded row T2, made invalid by this change"), "{}", stderr(&bad));
        db.remove().await;
    }
}

#[tokio::test]
async fn audit_changes_shows_a_correction_as_its_values_before_and_after() {
    let db = common::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        &dir,
        "q1.csv",
        "2025-01-02,Brokerage,taxable,buy,X,10,10,0,,,,\n\
         2025-03-03,Brokerage,,sell,X,10,8,0,,,,\n",
    );
    json(&run(&db.url, &["ledger", "import", &file, "--household", "Ng"]));
    let correct = |extra: &[&str]| {
        let args = [&["ledger", "correct", "--household", "Ng", "--trade", "T2"][..], extra].concat();
        json(&run(&db.url, &args));
    };
    correct(&["--quantity", "9", "--price", "7.5", "--reason", "typo"]);
    std::thread::sleep(std::time::Duration::from_millis(20));
    let between = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    std::thread::sleep(std::time::Duration::from_millis(20));
    correct(&["--price", "7.25", "--description", "broker confirm 2025-03-04", "--reason", "confirm"]);

    let corrections = |from: &str| -> Vec<String> {
        let changes = json(&run(
            &db.url,
            &["audit", "changes", "--from", from, "--to", "2999-01-01", "--household", "Ng", "--format", "json"],
        ));
        changes["changes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["event_type"] == "TradeCorrected")
            .map(|r| r["summary"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        corrections("2000-01-01"),
        [
            "trade_id=T2 quantity 10 → 9; price 8 → 7.5 reason=typo",
            "trade_id=T2 price 7.5 → 7.25; description none → broker confirm 2025-03-04 reason=confirm",
        ]
    );
    // A window holding only the second correction still shows the row as the first left it.
    assert_eq!(
        corrections(&between),
        ["trade_id=T2 price 7.5 → 7.25; description none → broker confirm 2025-03-04 reason=confirm"]
    );
    db.remove().await;
}

#[tokio::test]
async fn contributions_are_checked_against_the_members_limits_and_reported() {
    for db in all_backends("ledger contributions").await {
        let dir = tempfile::tempdir().unwrap();
        let o = json(&run(
            &db.url,
            &[
                "ledger",
                "member",
                "--household",
                "Diaz",
                "--name",
                "ana",
                "--born",
                "1972-08-09",
                "--hsa-coverage",
                "family",
            ],
        ));
        assert_eq!(o["member"], "ana");
        let path = dir.path().join("c.csv");
        std::fs::write(
            &path,
            "trade_date,account,account_type,action,symbol,quantity,price,fees,description,owner\n\
             2025-01-15,Ana 401k,traditional_401k,contribution,,1,20000,0,,ana\n\
             2025-01-15,Ana 401k,,contribution,,1,5000,0,employer match,\n\
             2025-03-01,Ana Roth,roth_ira,contribution,,1,8000,0,tax year 2025,ana\n\
             2025-03-02,Ana HSA,hsa,contribution,,1,8550,0,,ana\n",
        )
        .unwrap();
        json(&run(&db.url, &["ledger", "import", &path.display().to_string(), "--household", "Diaz"]));
        let r = json(&run(
            &db.url,
            &["ledger", "contributions", "--household", "Diaz", "--year", "2025", "--format", "json"],
        ));
        let rows = r["contributions"].as_array().unwrap();
        let find = |kind: &str| rows.iter().find(|x| x["limit_kind"] == kind).unwrap().clone();
        assert_eq!(
            (find("elective_deferral")["limit"].as_str(), find("elective_deferral")["remaining"].as_str()),
            (Some("31000.00"), Some("11000.00"))
        );
        assert_eq!(find("annual_additions")["contributed"], "25000.00");
        assert_eq!((find("ira")["limit"].as_str(), find("ira")["remaining"].as_str()), (Some("8000.00"), Some("0.00")));
        assert_eq!(find("hsa")["limit"], "8550.00", "family coverage; no catch-up before 55");

        let over = dir.path().join("over.csv");
        std::fs::write(
            &over,
            "trade_date,account,account_type,action,symbol,quantity,price,fees\n2025-04-01,Ana Roth,,contribution,,1,100,0\n",
        )
        .unwrap();
        let o = run(&db.url, &["ledger", "import", &over.display().to_string(), "--household", "Diaz"]);
        assert_eq!(o.status.code(), Some(2));
        assert_eq!(
            stderr(&o).trim(),
            "error: line 2: quantity: contribution of $100.00 to Ana Roth exceeds ana's 2025 IRA limit of $8000.00 \
             (age 53 at year end): $8000.00 already contributed, $0.00 remains"
        );
        db.remove().await;
    }
}

#[tokio::test]
async fn account_details_are_encrypted_shown_masked_and_closing_refuses_later_rows() {
    for db in all_backends("ledger accounts").await {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("master.key");
        let run = |args: &[&str]| {
            common::cairn()
                .env("CAIRN_MASTER_KEY_FILE", &key)
                .arg("--database-url")
                .arg(&db.url)
                .args(args)
                .output()
                .unwrap()
        };
        let file = write(
            &dir,
            "a.csv",
            "2025-01-02,Work 401k,traditional_401k,deposit,,1,100,0,,,,\n\
             2025-01-02,Old Brokerage,taxable,deposit,,1,50,0,,,,\n",
        );
        json(&run(&["ledger", "import", &file, "--household", "Roe"]));
        json(&run(&[
            "ledger",
            "account",
            "--household",
            "Roe",
            "--account",
            "Work 401k",
            "--institution",
            "Fidelity",
            "--account-number",
            "987654321",
            "--routing-number",
            "021000021",
            "--plaid-token",
            "access-sandbox-123",
            "--employer-match",
            "100:3,50:2",
            "--vesting",
            "graded:2:20",
        ]));
        json(&run(&["ledger", "household", "--household", "Roe", "--filing-status", "mfj"]));
        let tail = stdout(&run(&["events", "tail"]));
        assert!(!tail.contains("987654321") && !tail.contains("access-sandbox-123"), "numbers are sealed");

        let accounts = json(&run(&["ledger", "accounts", "--household", "Roe", "--format", "json"]));
        let work =
            accounts["accounts"].as_array().unwrap().iter().find(|a| a["account"] == "Work 401k").unwrap().clone();
        assert_eq!(
            (work["account_number"].as_str(), work["routing_number"].as_str()),
            (Some("****4321"), Some("****0021"))
        );
        assert_eq!(
            (work["plaid_linked"].as_str(), work["employer_match"].as_str()),
            (Some("true"), Some("100:3,50:2"))
        );
        assert_eq!((work["vesting"].as_str(), work["cash"].as_str()), (Some("graded:2:20"), Some("100.00")));

        let m = json(&run(&[
            "ledger",
            "match",
            "--household",
            "Roe",
            "--account",
            "Work 401k",
            "--pay",
            "100000",
            "--deferral",
            "5000",
            "--years-of-service",
            "3",
        ]));
        assert_eq!(
            (m["employer_match"].as_str(), m["vested_fraction"].as_str(), m["vested_match"].as_str()),
            (Some("4000.00"), Some("0.4"), Some("1600.00"))
        );

        let slow = run(&["ledger", "account", "--household", "Roe", "--account", "Work 401k", "--vesting", "cliff:5"]);
        assert!(stderr(&slow).contains("vests more slowly than IRC 411(a)(2)(B) allows"), "{}", stderr(&slow));

        json(&run(&["ledger", "close", "--household", "Roe", "--account", "Old Brokerage", "--on", "2025-06-30"]));
        let late = write(&dir, "late.csv", "2025-07-01,Old Brokerage,,deposit,,1,5,0,,,,\n");
        let o = run(&["ledger", "import", &late, "--household", "Roe"]);
        assert_eq!(stderr(&o).trim(), "error: line 2: account: Old Brokerage was closed on 2025-06-30");
        db.remove().await;
    }
}

fn write_raw(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    path.display().to_string()
}

#[tokio::test]
async fn the_same_rows_in_other_files_import_once() {
    for db in all_backends("duplicate rows").await {
        let dir = tempfile::tempdir().unwrap();
        let rows = "2025-01-06,Brokerage,taxable,buy,M,100,50,0,,,,\n\
                    2025-02-03,Brokerage,,buy,M,10,51,0,,,,\n\
                    2025-02-03,Brokerage,,buy,M,10,51,0,,,,\n";
        let lf = write(&dir, "lf.csv", rows);
        let o = json(&run(&db.url, &["ledger", "import", &lf, "--household", "Dup"]));
        assert_eq!((o["rows"].as_u64(), o["duplicates"].as_u64()), (Some(3), Some(0)), "{o}");

        // The same rows with CRLF endings, and with a byte-order mark: other bytes, same rows.
        let crlf = write_raw(&dir, "crlf.csv", format!("{HEADER}{rows}").replace('\n', "\r\n").as_bytes());
        let o = json(&run(&db.url, &["ledger", "import", &crlf, "--household", "Dup"]));
        assert_eq!((o["rows"].as_u64(), o["duplicates"].as_u64()), (Some(0), Some(3)), "{o}");
        let bom = write_raw(&dir, "bom.csv", format!("\u{feff}{HEADER}{rows}").as_bytes());
        let o = json(&run(&db.url, &["ledger", "import", &bom, "--household", "Dup"]));
        assert_eq!((o["rows"].as_u64(), o["duplicates"].as_u64()), (Some(0), Some(3)), "{o}");

        // An overlapping export: one row already recorded, one new, columns in another order.
        let overlap = dir.path().join("overlap.csv");
        std::fs::write(
            &overlap,
            "Account,Trade_Date,Action,Symbol,Quantity,Price,Fees,Account_Type\n\
             Brokerage,2025-02-03,buy,M,10,51.00,0,\n\
             Brokerage,2025-02-03,buy,M,10,51,0,\n\
             Brokerage,2025-02-03,buy,M,10,51,0,\n\
             Brokerage,2025-03-03,sell,M,20,55,0,\n",
        )
        .unwrap();
        let o = json(&run(&db.url, &["ledger", "import", overlap.to_str().unwrap(), "--household", "Dup"]));
        assert_eq!(
            (o["rows"].as_u64(), o["duplicates"].as_u64()),
            (Some(2), Some(2)),
            "a third copy of the twice-recorded buy is new, and so is the sale: {o}"
        );
        let lots = json(&run(&db.url, &["ledger", "lots", "--household", "Dup", "--format", "json"]));
        let held: rust_decimal::Decimal = lots["lots"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["quantity"].as_str().unwrap().parse::<rust_decimal::Decimal>().unwrap())
            .sum();
        assert_eq!(held, rust_decimal::Decimal::from(110), "100 + 3 x 10 bought, 20 sold");

        // --allow-duplicates records them anyway, and says so.
        let o = json(&run(&db.url, &["ledger", "import", &bom, "--household", "Dup", "--allow-duplicates"]));
        assert_eq!(
            (o["rows"].as_u64(), o["duplicates"].as_u64(), o["duplicates_recorded"].as_bool()),
            (Some(3), Some(3), Some(true))
        );

        // A broker's transaction id is the identity: same id, other fields, still a duplicate.
        let with_id = dir.path().join("ids.csv");
        std::fs::write(&with_id, "id,trade_date,account,account_type,action,symbol,quantity,price,fees\nB-1,2025-04-01,Brokerage,,buy,M,1,50,0\n").unwrap();
        let o = json(&run(&db.url, &["ledger", "import", with_id.to_str().unwrap(), "--household", "Dup"]));
        assert_eq!(o["rows"].as_u64(), Some(1));
        std::fs::write(&with_id, "ID,trade_date,account,account_type,action,symbol,quantity,price,fees\nB-1,2025-04-01,Brokerage,,buy,M,1,50.10,0\nB-2,2025-04-01,Brokerage,,buy,M,1,50.10,0\n").unwrap();
        let o = json(&run(&db.url, &["ledger", "import", with_id.to_str().unwrap(), "--household", "Dup"]));
        assert_eq!((o["rows"].as_u64(), o["duplicates"].as_u64()), (Some(1), Some(1)), "{o}");
        db.remove().await;
    }
}

#[tokio::test]
async fn line_numbers_are_the_editors_whatever_the_line_endings_blank_and_comment_lines() {
    let db = common::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    // Line 1 a comment, 2 the header, 3 blank, 4 a row, 5 blank, 6 a comment, 7 the bad row.
    let text = format!(
        "# exported 2025-06-30\n{HEADER}\n2025-01-06,Brokerage,taxable,buy,M,100,50,0,,,,\n\n# sales\n\
         2025-05-01,Brokerage,,sell,M,101,40,0,,,,\n"
    );
    for (name, body) in [("lf.csv", text.clone()), ("crlf.csv", text.replace('\n', "\r\n"))] {
        let file = write_raw(&dir, name, body.as_bytes());
        let o = run(&db.url, &["ledger", "import", &file, "--household", "Lines"]);
        assert_eq!(
            stderr(&o).trim(),
            "error: line 7: quantity: 101 M to remove, but account Brokerage holds 100",
            "{name}"
        );
    }
    // The line recorded with each row is the editor's too.
    let good = write_raw(&dir, "good.csv", text.replace(",101,", ",100,").replace('\n', "\r\n").as_bytes());
    json(&run(&db.url, &["ledger", "import", &good, "--household", "Lines"]));
    let tail = stdout(&run(&db.url, &["events", "tail", "--stream", "ledger-lines"]));
    let lines: Vec<u64> = tail
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["event_type"] == "TradeRecorded")
        .map(|e| e["payload"]["TradeRecorded"]["source_line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [4, 7]);
    db.remove().await;
}

#[tokio::test]
async fn an_import_reads_standard_input_and_refuses_unknown_columns_by_name() {
    let db = common::sqlite().await;
    let mut command = common::cairn();
    command.args(["--database-url", &db.url, "ledger", "import", "-", "--household", "Stdin"]);
    let o = common::with_input(
        command,
        "TRADE_DATE,Account,account_type,action,symbol,quantity,price,fees\n2025-01-06,B,taxable,buy,M,1,50,0\n",
    );
    assert_eq!(json(&o)["rows"].as_u64(), Some(1));
    let mut command = common::cairn();
    command.args(["--database-url", &db.url, "ledger", "import", "-", "--household", "Stdin"]);
    let o = common::with_input(command, "trade_date,account,account_type,action,symbol,quantity,price,fees,Colour\n");
    assert_eq!(stderr(&o).trim(), "error: line 1: header: unknown column \"Colour\"");
    db.remove().await;
}

#[test]
fn a_failed_import_creates_no_database_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("fresh");
    let url = format!("sqlite://{}/cairn.db", data.display());
    let file = write(&dir, "bad.csv", "2025-01-06,Brokerage,taxable,sell,M,100,50,0,,,,\n");
    let o = run(&url, &["ledger", "import", &file, "--household", "Smith"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(!data.join("cairn.db").exists(), "no database file is left behind");
    assert!(!data.exists(), "nor the folder made for it");
    let file = write(&dir, "good.csv", "2025-01-06,Brokerage,taxable,buy,M,100,50,0,,,,\n");
    json(&run(&url, &["ledger", "import", &file, "--household", "Smith"]));
    assert!(data.join("cairn.db").exists());
}

#[tokio::test]
async fn future_trades_are_refused_and_closed_days_and_overdrafts_are_warned_about() {
    let db = common::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(2)).date_naive();
    let file = write(&dir, "future.csv", &format!("{tomorrow},Brokerage,taxable,buy,M,1,50,0,,,,\n"));
    let o = run(&db.url, &["ledger", "import", &file, "--household", "Warn"]);
    let err = stderr(&o);
    assert!(err.starts_with(&format!("error: line 2: trade_date: {tomorrow} is in the future (today is ")), "{err}");
    assert!(err.contains("in America/New_York"), "{err}");

    // Saturday 5 July 2025 and Independence Day; the second buy overdraws the account.
    let file = write(
        &dir,
        "warn.csv",
        "2025-07-01,Brokerage,taxable,deposit,,1,1000,0,,,,\n\
         2025-07-04,Brokerage,,buy,M,10,50,0,,,,\n\
         2025-07-05,Brokerage,,buy,M,10,60,0,,,,\n\
         2025-07-07,Brokerage,,withdrawal,,1,100,0,,,,\n",
    );
    let o = json(&run(&db.url, &["ledger", "import", &file, "--household", "Warn"]));
    assert_eq!(o["rows"].as_u64(), Some(4));
    let warnings: Vec<(u64, String, String)> = o["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (w["line"].as_u64().unwrap(), w["field"].as_str().unwrap().into(), w["message"].as_str().unwrap().into())
        })
        .collect();
    assert_eq!(
        warnings,
        [
            (
                3,
                "trade_date".into(),
                "2025-07-04 is not an NYSE trading day (an NYSE holiday); recorded as given".into()
            ),
            (4, "trade_date".into(), "2025-07-05 is not an NYSE trading day (a Saturday); recorded as given".into()),
            (
                4,
                "account".into(),
                "takes account Brokerage's cash to -100.00 (below zero: margin, or a deposit not recorded)".into()
            ),
            (
                5,
                "account".into(),
                "takes account Brokerage's cash to -200.00 (below zero: margin, or a deposit not recorded)".into()
            ),
        ]
    );
    // A household in another time zone.
    json(&run(&db.url, &["ledger", "household", "--household", "Warn", "--time-zone", "Pacific/Kiritimati"]));
    let o = run(&db.url, &["ledger", "household", "--household", "Warn", "--time-zone", "Mars/Olympus"]);
    assert!(stderr(&o).contains("time_zone: \"Mars/Olympus\" is not an IANA time zone"), "{}", stderr(&o));
    db.remove().await;
}

#[tokio::test]
async fn concurrent_imports_into_one_household_all_succeed() {
    for db in all_backends("concurrent imports").await {
        let dir = tempfile::tempdir().unwrap();
        let first = write(&dir, "open.csv", "2025-01-02,Brokerage,taxable,deposit,,1,100000,0,,,,\n");
        json(&run(&db.url, &["ledger", "import", &first, "--household", "Busy"]));
        // Eight writers at once, none with a precondition: the server decides again until each
        // gets its turn, so none fails with a conflict.
        let children: Vec<_> = (0..8)
            .map(|i| {
                let file = write(
                    &dir,
                    &format!("w{i}.csv"),
                    &format!("2025-02-{:02},Brokerage,,buy,M,{},10,0,,,,\n", i + 3, i + 1),
                );
                common::cairn()
                    .args(["--database-url", &db.url, "ledger", "import", &file, "--household", "Busy"])
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for child in children {
            let o = child.wait_with_output().unwrap();
            assert_eq!(json(&o)["rows"].as_u64(), Some(1));
        }
        let lots = json(&run(&db.url, &["ledger", "lots", "--household", "Busy", "--format", "json"]));
        assert_eq!(lots["lots"].as_array().unwrap().len(), 8);
        db.remove().await;
    }
}

#[tokio::test]
async fn schwab_splits_name_changes_and_cash_in_lieu_are_sized_from_what_was_held() {
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/brokers/schwab-corporate-actions.csv");
    for db in all_backends("schwab corporate actions").await {
        let account = ["--account", "Schwab", "--account-type", "taxable", "--format", "schwab"];
        let import = |file: &str, household: &str| {
            let mut args = vec!["ledger", "import", file, "--household", household];
            args.extend_from_slice(&account);
            run(&db.url, &args)
        };
        let o = json(&import(sample, "Roe"));
        assert_eq!(o["rows"].as_u64(), Some(9), "{o}");

        let held = lot_columns(&db.url, "Roe", &[], &["symbol", "quantity", "adjusted_basis"]);
        // 101 ABC at 50 split 3:2 is 151.5; the half share went for the cash in lieu and 10
        // were journaled out: 141 keep 141/151.5 of the 5,050. XYZ 1:10 and OLDCO → NEWCO keep
        // their basis.
        assert_eq!(held, [["ABC", "141", "4700.00"], ["NEWCO", "40", "1000.00"], ["XYZ", "25", "1000.00"]]);

        let gains =
            json(&run(&db.url, &["ledger", "gains", "--household", "Roe", "--year", "2024", "--format", "json"]));
        let row = &gains["gains"][0];
        assert_eq!(row["description"], "0.5 ABC");
        assert_eq!((row["date_sold"].as_str(), row["proceeds"].as_str()), (Some("2024-06-12"), Some("37.50")));
        assert_eq!((row["cost_basis"].as_str(), row["gain_loss"].as_str()), (Some("16.67"), Some("20.83")));

        // A later download repeating the split and the cash in lieu records neither again.
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            path.display().to_string()
        };
        let header =
            "\"Date\",\"Action\",\"Symbol\",\"Description\",\"Quantity\",\"Price\",\"Fees & Comm\",\"Amount\"\n";
        let split = "\"06/12/2024\",\"Cash In Lieu\",\"ABC\",\"ABC HOLDINGS INC\",\"\",\"\",\"\",\"$37.50\"\n\
                     \"06/10/2024\",\"Stock Split\",\"ABC\",\"ABC HOLDINGS INC 3 FOR 2 STOCK SPLIT\",\"50\",\"\",\"\",\"\"\n";
        let again = write("again.csv", &format!("{header}{split}"));
        let o = json(&import(&again, "Roe"));
        assert_eq!((o["rows"].as_u64(), o["duplicates"].as_u64()), (Some(0), Some(2)));

        // A reverse split taking other than what the ledger holds is refused, naming its line.
        let text = std::fs::read_to_string(sample).unwrap().replace("\"-250\"", "\"-300\"");
        let short = write("short.csv", &text);
        let refused = import(&short, "Poe");
        assert!(!refused.status.success());
        assert!(
            stderr(&refused).contains(
                "line 7: quantity: the split took 300 XYZ, but Schwab held 250: record the missing rows first"
            ),
            "{}",
            stderr(&refused)
        );
        db.remove().await;
    }
}

#[tokio::test]
async fn a_schwab_export_imports_as_one_accounts_rows_once() {
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/brokers/schwab-transactions.csv");
    for db in all_backends("schwab import").await {
        let import = |file: &str, extra: &[&str]| {
            let mut args = vec!["ledger", "import", file, "--household", "Doe", "--format", "auto"];
            args.extend_from_slice(extra);
            run(&db.url, &args)
        };
        let account = ["--account", "Schwab Brokerage", "--account-type", "taxable"];
        let o = json(&import(sample, &account));
        assert_eq!((o["format"].as_str(), o["rows"].as_u64()), (Some("schwab"), Some(8)));
        assert_eq!(o["skipped"], serde_json::json!([]));
        let again = json(&import(sample, &account));
        assert_eq!(again["already_imported"], true);

        // A later download overlapping the first: two rows already recorded, one new.
        let dir = tempfile::tempdir().unwrap();
        let later = dir.path().join("later.csv");
        std::fs::write(
            &later,
            "\"Date\",\"Action\",\"Symbol\",\"Description\",\"Quantity\",\"Price\",\"Fees & Comm\",\"Amount\"\n\
             \"01/21/2025\",\"Buy\",\"SCHD\",\"SCHWAB US DIVIDEND EQUITY ETF\",\"10\",\"$27.50\",\"\",\"-$275.00\"\n\
             \"01/17/2025\",\"Sell\",\"VTI\",\"VANGUARD TOTAL STOCK MARKET ETF\",\"5\",\"$295.10\",\"$0.02\",\"$1,475.48\"\n\
             \"01/15/2025 as of 01/13/2025\",\"Qualified Dividend\",\"VTI\",\"VANGUARD TOTAL STOCK MARKET ETF\",\"\",\"\",\"\",\"$12.34\"\n",
        )
        .unwrap();
        let later = later.display().to_string();
        let o = json(&import(&later, &["--account", "Schwab Brokerage"]));
        assert_eq!((o["rows"].as_u64(), o["duplicates"].as_u64()), (Some(1), Some(2)));

        let held = lot_columns(&db.url, "Doe", &[], &["symbol", "quantity"]);
        let has = |s: &str, q: &str| held.iter().any(|l| l == &[s, q]);
        assert!(has("VTI", "995"), "{held:?}");
        assert!(has("SCHD", "0.4521") && has("SCHD", "10"));

        // An auditor traces a row to its file, format and line: the trade's command is the
        // import's, which names the file's digest and format.
        let events: Vec<serde_json::Value> = stdout(&run(&db.url, &["events", "tail", "--stream", "ledger-doe"]))
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let sell =
            events.iter().find(|e| e["payload"]["TradeRecorded"]["action"] == "sell").expect("the sale is recorded");
        assert_eq!(sell["payload"]["TradeRecorded"]["source_line"], 3, "the Sell is line 3 of the sample");
        let import = events
            .iter()
            .find(|e| {
                e["event_type"] == "LedgerImported" && e["metadata"]["command_id"] == sell["metadata"]["command_id"]
            })
            .expect("the import that recorded it");
        let digest = hex::encode(sha2::Sha256::digest(std::fs::read(sample).unwrap()));
        assert_eq!(
            (&import["payload"]["LedgerImported"]["format"], &import["payload"]["LedgerImported"]["file_sha256"]),
            (&serde_json::json!("schwab"), &serde_json::json!(digest))
        );

        // A Schwab export names its account; a ledger CSV takes no broker flags.
        let o = run(&db.url, &["ledger", "import", sample, "--household", "Doe", "--format", "schwab"]);
        assert_eq!(o.status.code(), Some(2));
        assert!(
            stderr(&o).contains(
                "--account: a Charles Schwab transaction history export needs the account its rows belong to"
            ),
            "{}",
            stderr(&o)
        );
        let file = write(&dir, "cairn.csv", "2025-01-06,Brokerage,taxable,buy,M,1,50,0,,,,\n");
        let o = run(&db.url, &["ledger", "import", &file, "--household", "Doe", "--skip-unknown"]);
        assert_eq!(o.status.code(), Some(2));
        assert!(stderr(&o).contains("--skip-unknown: only a broker export takes it"), "{}", stderr(&o));
    }
}

/// A later OFX download (2.x XML) overlapping `ofx-investment-v1.ofx`: the April fund sale again,
/// worded otherwise but with the same FITID, and a new buy.
const LATER_OFX: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<?OFX OFXHEADER="200" VERSION="220" SECURITY="NONE" OLDFILEUID="NONE" NEWFILEUID="NONE"?>
<OFX>
<SIGNONMSGSRSV1><SONRS><STATUS><CODE>0</CODE><SEVERITY>INFO</SEVERITY></STATUS>
<DTSERVER>20250510120000</DTSERVER><LANGUAGE>ENG</LANGUAGE></SONRS></SIGNONMSGSRSV1>
<INVSTMTMSGSRSV1><INVSTMTTRNRS><TRNUID>1002</TRNUID><STATUS><CODE>0</CODE><SEVERITY>INFO</SEVERITY></STATUS>
<INVSTMTRS><DTASOF>20250510</DTASOF><CURDEF>USD</CURDEF>
<INVACCTFROM><BROKERID>example.com</BROKERID><ACCTID>000012345</ACCTID></INVACCTFROM>
<INVTRANLIST><DTSTART>20250420</DTSTART><DTEND>20250510</DTEND>
<SELLMF><INVSELL><INVTRAN><FITID>T-0422-1</FITID><DTTRADE>20250422</DTTRADE><MEMO>REDEMPTION</MEMO></INVTRAN>
<SECID><UNIQUEID>922908710</UNIQUEID><UNIQUEIDTYPE>CUSIP</UNIQUEIDTYPE></SECID>
<UNITS>-5.0000</UNITS><UNITPRICE>530.0000</UNITPRICE><TOTAL>2650.00</TOTAL>
<SUBACCTSEC>CASH</SUBACCTSEC><SUBACCTFUND>CASH</SUBACCTFUND></INVSELL><SELLTYPE>SELL</SELLTYPE></SELLMF>
<BUYSTOCK><INVBUY><INVTRAN><FITID>T-0502-1</FITID><DTTRADE>20250502</DTTRADE><DTSETTLE>20250505</DTSETTLE></INVTRAN>
<SECID><UNIQUEID>00499A107</UNIQUEID><UNIQUEIDTYPE>CUSIP</UNIQUEIDTYPE></SECID>
<UNITS>10</UNITS><UNITPRICE>25.00</UNITPRICE><COMMISSION>4.95</COMMISSION><TOTAL>-254.95</TOTAL>
<SUBACCTSEC>CASH</SUBACCTSEC><SUBACCTFUND>CASH</SUBACCTFUND></INVBUY><BUYTYPE>BUY</BUYTYPE></BUYSTOCK>
</INVTRANLIST></INVSTMTRS></INVSTMTTRNRS></INVSTMTMSGSRSV1>
<SECLISTMSGSRSV1><SECLIST>
<STOCKINFO><SECINFO><SECID><UNIQUEID>00499A107</UNIQUEID><UNIQUEIDTYPE>CUSIP</UNIQUEIDTYPE></SECID>
<SECNAME>ACME WIDGETS INC</SECNAME><TICKER>ACME</TICKER></SECINFO></STOCKINFO>
<MFINFO><SECINFO><SECID><UNIQUEID>922908710</UNIQUEID><UNIQUEIDTYPE>CUSIP</UNIQUEIDTYPE></SECID>
<SECNAME>VANGUARD 500 INDEX FUND ADMIRAL</SECNAME><TICKER>VFIAX</TICKER></SECINFO></MFINFO>
</SECLIST></SECLISTMSGSRSV1>
</OFX>
"#;

#[tokio::test]
async fn an_ofx_statement_imports_each_transaction_once_across_overlapping_downloads() {
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/brokers/ofx-investment-v1.ofx");
    for db in all_backends("ofx import").await {
        let import = |file: &str, extra: &[&str]| {
            let mut args = vec!["ledger", "import", file, "--household", "Roe", "--format", "auto"];
            args.extend_from_slice(&["--account", "Example Brokerage"]);
            args.extend_from_slice(extra);
            run(&db.url, &args)
        };
        let o = json(&import(sample, &["--account-type", "taxable"]));
        assert_eq!(
            (o["format"].as_str(), o["rows"].as_u64(), o["duplicates"].as_u64()),
            (Some("ofx"), Some(15), Some(0)),
            "{o}"
        );
        assert_eq!(o["skipped"], serde_json::json!([]));

        let dir = tempfile::tempdir().unwrap();
        let later = dir.path().join("later.ofx");
        std::fs::write(&later, LATER_OFX).unwrap();
        let o = json(&import(&later.display().to_string(), &[]));
        assert_eq!(
            (o["format"].as_str(), o["rows"].as_u64(), o["duplicates"].as_u64()),
            (Some("ofx"), Some(1), Some(1)),
            "the sale is recorded once: {o}"
        );

        let held = lot_columns(&db.url, "Roe", &[], &["symbol", "quantity"]);
        let want =
            [["99999AAB7", "50"], ["ACME", "10"], ["ACME", "150"], ["VFIAX", "0.3"], ["VFIAX", "15"], ["VTI", "10"]];
        assert_eq!(
            held, want,
            "ACME: 100 split 2:1 less 50 sold, and 10 more; the fund's reinvested 0.3; a CUSIP-only security"
        );
    }
}

#[tokio::test]
async fn fidelity_and_vanguard_downloads_import_once_with_their_sweeps_listed_as_skipped() {
    let samples = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/brokers/");
    let (fidelity, vanguard) =
        (format!("{samples}fidelity-history.csv"), format!("{samples}vanguard-transactions.csv"));
    for db in all_backends("fidelity and vanguard import").await {
        let import = |file: &str, account: &str| {
            let args = ["ledger", "import", file, "--household", "Poe", "--format", "auto", "--account", account];
            run(&db.url, &[args.as_slice(), &["--account-type", "taxable"]].concat())
        };
        let skipped = |o: &serde_json::Value| -> Vec<(u64, String)> {
            let listed = o["skipped"].as_array().unwrap().iter();
            listed.map(|s| (s["line"].as_u64().unwrap(), s["why"].as_str().unwrap().to_owned())).collect()
        };

        let o = json(&import(&fidelity, "Fidelity Brokerage"));
        assert_eq!((o["format"].as_str(), o["rows"].as_u64()), (Some("fidelity"), Some(16)), "{o}");
        let listed = skipped(&o);
        assert_eq!(listed.iter().map(|(line, _)| *line).collect::<Vec<_>>(), [4, 10], "{listed:?}");
        assert!(listed[0].1.starts_with("pending") && listed[1].1.contains("(SPAXX) is cash"), "{listed:?}");
        assert_eq!(json(&import(&fidelity, "Fidelity Brokerage"))["already_imported"], true);

        let o = json(&import(&vanguard, "Vanguard Brokerage"));
        assert_eq!((o["format"].as_str(), o["rows"].as_u64()), (Some("vanguard"), Some(14)), "{o}");
        let listed = skipped(&o);
        assert_eq!(listed.iter().map(|(line, _)| *line).collect::<Vec<_>>(), [9, 15, 22, 25], "{listed:?}");
        assert!(listed.iter().all(|(_, why)| why.contains("settlement fund (VMFXX) is cash")), "{listed:?}");
        assert_eq!(json(&import(&vanguard, "Vanguard Brokerage"))["already_imported"], true);

        let held = lot_columns(&db.url, "Poe", &[], &["account", "symbol", "quantity"]);
        let want = [
            ["Fidelity Brokerage", "FCNTX", "50"],
            ["Fidelity Brokerage", "VTI", "0.32"],
            ["Fidelity Brokerage", "VTI", "100"],
            ["Fidelity Brokerage", "VXUS", "100"],
            ["Vanguard Brokerage", "BND", "60"],
            ["Vanguard Brokerage", "VTI", "0.15"],
            ["Vanguard Brokerage", "VTI", "10"],
            ["Vanguard Brokerage", "VTI", "50"],
        ];
        assert_eq!(
            held, want,
            "Fidelity: 150 VXUS less 50 sold, a reinvested 0.32 VTI; Vanguard: 80 BND less 20, 10 VTI transferred in"
        );
        // The money-market sweeps moved no cash: the cash is what the entries add up to (and,
        // at Vanguard, what the holdings section shows in VMFXX).
        let accounts = json(&run(&db.url, &["ledger", "accounts", "--household", "Poe", "--format", "json"]));
        let cash: Vec<(&str, &str)> = accounts["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| (a["account"].as_str().unwrap(), a["cash"].as_str().unwrap()))
            .collect();
        assert!(cash.contains(&("Fidelity Brokerage", "12798.26")), "{cash:?}");
        assert!(cash.contains(&("Vanguard Brokerage", "5171.59")), "{cash:?}");
    }
}

/// Four days worked by hand: 10,000 in and invested in 50 VTI at 200; VTI closes 200, 210, 205,
/// 220; a 20.00 qualified dividend on the 7th and 1,000 more on the 8th (counted at the start of
/// its day). Daily returns 0, +5 %, 10,270/10,500 - 1 and 12,020/11,270 - 1 link to 9.5345 %;
/// the gain is 12,020 - 11,000 = 1,020. SPY moves as VTI does from 100 on the 2nd: +10 %.
const PERFORMANCE_CSV: &str = "trade_date,account,account_type,action,symbol,quantity,price,fees,description\n\
2026-01-05,brokerage,taxable,deposit,,1,10000,0,\n\
2026-01-05,brokerage,,buy,VTI,50,200,0,\n\
2026-01-07,brokerage,,dividend,VTI,1,20,0,qualified dividend\n\
2026-01-08,brokerage,,deposit,,1,1000,0,\n";
const PERFORMANCE_BARS: &str = "date,symbol,open,high,low,close,volume\n\
2026-01-05,VTI,200,200,200,200,1\n2026-01-06,VTI,210,210,210,210,1\n\
2026-01-07,VTI,205,205,205,205,1\n2026-01-08,VTI,220,220,220,220,1\n\
2026-01-02,SPY,100,100,100,100,1\n2026-01-05,SPY,100,100,100,100,1\n2026-01-06,SPY,105,105,105,105,1\n\
2026-01-07,SPY,102.5,102.5,102.5,102.5,1\n2026-01-08,SPY,110,110,110,110,1\n";

#[tokio::test]
async fn performance_and_income_come_from_the_ledger_and_the_bars() {
    for db in all_backends("performance").await {
        let dir = tempfile::tempdir().unwrap();
        let (csv, bars) = (dir.path().join("ledger.csv"), dir.path().join("bars.csv"));
        std::fs::write(&csv, PERFORMANCE_CSV).unwrap();
        std::fs::write(&bars, PERFORMANCE_BARS).unwrap();
        assert!(run(&db.url, &["ledger", "import", &csv.display().to_string(), "--household", "Ng"]).status.success());
        assert!(run(&db.url, &["market", "import", &bars.display().to_string()]).status.success());

        let args = ["performance", "--household", "Ng", "--to", "2026-01-08", "--benchmark", "SPY", "--format", "json"];
        let p = json(&run(&db.url, &args));
        assert_eq!((p["inception"].as_str(), p["benchmark"].as_str()), (Some("2026-01-05"), Some("SPY")));
        let periods = p["periods"].as_array().unwrap();
        let names: Vec<&str> = periods.iter().map(|r| r["period"].as_str().unwrap()).collect();
        assert_eq!(names, ["mtd", "qtd", "ytd", "inception"], "no 1y, 3y or 5y on four days of history");
        let inception = &periods[3];
        let field = |k: &str| inception[k].as_str().unwrap_or_default().to_owned();
        assert_eq!(
            [field("opening"), field("closing"), field("net_flow"), field("gain"), field("income")],
            ["0.00", "12020.00", "11000.00", "1020.00", "20.00"]
        );
        assert_eq!(field("time_weighted"), "0.095345");
        assert_eq!(field("time_weighted_gross"), "0.095345", "no fee rows");
        assert_eq!(inception["annualized"], serde_json::Value::Null, "four days are not annualized");
        assert_eq!((field("benchmark_return"), field("excess")), ("0.100000".into(), "-0.004655".into()));
        let mwr: f64 = field("money_weighted").parse().unwrap();
        assert!((0.09..0.10).contains(&mwr), "most of the money was in for the whole rise: {mwr}");
        let series = p["series"].as_array().unwrap();
        assert_eq!(series.len(), 4);
        assert_eq!(
            (&series[3]["value"], &series[3]["net_contributions"], &series[3]["growth"]),
            (&serde_json::json!("12020.00"), &serde_json::json!("11000.00"), &serde_json::json!("1.095345"))
        );
        assert_eq!(series[3]["benchmark_growth"], "1.100000");

        // A custom period and the table.
        let o = run(&db.url, &["performance", "--household", "Ng", "--from", "2026-01-06", "--to", "2026-01-06"]);
        let table = stdout(&o);
        let custom = table.lines().find(|l| l.starts_with("custom")).unwrap_or_else(|| panic!("{table}"));
        assert!(custom.contains("10000.00") && custom.contains("10500.00") && custom.contains("0.050000"), "{custom}");

        let income = json(&run(&db.url, &["income", "--household", "Ng", "--to", "2026-01-08", "--format", "json"]));
        assert_eq!(income["rows"][0]["period"], "2026-01");
        assert_eq!(
            (&income["rows"][0]["qualified_dividends"], &income["rows"][0]["total"]),
            (&"20.00".into(), &"20.00".into())
        );
        assert_eq!((&income["cost_basis"], &income["yield_on_cost"]), (&"10000.00".into(), &"0.002000".into()));

        // Refusals name what is wrong.
        let refused = |args: &[&str], needle: &str| {
            let o = run(&db.url, args);
            assert_eq!(o.status.code(), Some(2), "{args:?}");
            assert!(stderr(&o).contains(needle), "{args:?}: {}", stderr(&o));
        };
        refused(&["performance", "--household", "Ng", "--account", "ira"], "no account labelled \"ira\"");
        refused(&["performance", "--household", "Ng", "--benchmark", "60% VTI / 30% BND"], "add up to 90%");
        refused(&["performance", "--household", "Ng", "--benchmark", "QQQ"], "no prices for QQQ");
        refused(&["performance", "--household", "Ng", "--to", "2999-01-01"], "after the household's today");
        refused(&["income", "--household", "Nobody"], "no ledger");
    }
}

/// Balance assertions: recorded once, checked at the end of their day, a mismatch reported with
/// its difference (exit 1) until the missing row arrives.
#[tokio::test]
async fn balance_assertions_are_checked_against_the_rows() {
    for db in all_backends("balances").await {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("ledger.csv");
        std::fs::write(&csv, PERFORMANCE_CSV).unwrap();
        assert!(run(&db.url, &["ledger", "import", &csv.display().to_string(), "--household", "Ng"]).status.success());
        let assert = |extra: &[&str]| {
            let mut args = vec!["ledger", "assert", "--household", "Ng", "--account", "brokerage"];
            args.extend_from_slice(extra);
            run(&db.url, &args)
        };
        let first = json(&assert(&["--date", "2026-01-07", "--symbol", "vti", "--quantity", "50"]));
        assert_eq!(first["recorded"], 1);
        assert_eq!(json(&assert(&["--date", "2026-01-07", "--symbol", "VTI", "--quantity", "50"]))["recorded"], 0);
        // 10,000 in, 10,000 invested, 20.00 of dividend on the 7th; the 1,000 of the 8th is not
        // yet counted. The statement says 1,020.00 on the 8th; the ledger knows of 1,020 too.
        // A statement of positions: cash on the 7th, and on the 8th; the 7th's VTI again.
        let positions = dir.path().join("positions.csv");
        std::fs::write(
            &positions,
            "date,account,symbol,quantity,source
2026-01-07,brokerage,cash,20.00,Jan statement
             2026-01-08,brokerage,,1045.50,
2026-01-07,brokerage,VTI,50,
",
        )
        .unwrap();
        let file = positions.display().to_string();
        let args = ["ledger", "assert", "--household", "Ng", "--file", &file, "--source", "download"];
        assert_eq!(json(&run(&db.url, &args))["recorded"], 2, "the VTI figure was recorded already");
        let broken = dir.path().join("broken.csv");
        std::fs::write(
            &broken,
            "date,account,symbol,quantity
2026-01-08,brokerage,VTI,many
",
        )
        .unwrap();
        let o = run(&db.url, &["ledger", "assert", "--household", "Ng", "--file", &broken.display().to_string()]);
        assert!(stderr(&o).contains("line 2: quantity"), "{}", stderr(&o));
        let o = run(&db.url, &["ledger", "balances", "--household", "Ng", "--format", "json"]);
        assert_eq!(o.status.code(), Some(1), "a mismatch fails the check: {}", stderr(&o));
        assert!(stderr(&o).contains("1 balance assertion(s) do not hold"), "{}", stderr(&o));
        let report: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
        let rows = report["balances"].as_array().unwrap();
        let seen: Vec<(String, String, String, String)> = rows
            .iter()
            .map(|r| {
                let s = |k: &str| r[k].as_str().unwrap().to_owned();
                (s("date"), s("holding"), s("difference"), s("status"))
            })
            .collect();
        assert_eq!(
            seen,
            [
                ("2026-01-07".into(), "cash".into(), "0.00".into(), "ok".into()),
                ("2026-01-07".into(), "VTI".into(), "0".into(), "ok".into()),
                ("2026-01-08".into(), "cash".into(), "-25.50".into(), "mismatch".into()),
            ]
        );
        // The missing row: a 25.50 interest payment on the 8th.
        let late = dir.path().join("late.csv");
        std::fs::write(&late, "trade_date,account,account_type,action,symbol,quantity,price,fees\n2026-01-08,brokerage,,interest,,1,25.50,0\n").unwrap();
        assert!(run(&db.url, &["ledger", "import", &late.display().to_string(), "--household", "Ng"]).status.success());
        let o = run(&db.url, &["ledger", "balances", "--household", "Ng"]);
        assert!(o.status.success(), "{}", stdout(&o));
        assert!(stdout(&o).contains("mismatches 0"), "{}", stdout(&o));

        let o = assert(&["--date", "2026-01-08", "--symbol", "VTI", "--quantity", "-1"]);
        assert_eq!(o.status.code(), Some(2));
        assert!(stderr(&o).contains("quantity"), "{}", stderr(&o));
    }
}

/// A made-up Interactive Brokers Flex Query (account U7654321, no real data) with section codes:
/// a deposit, a dollar buy of AAPL, a conversion of dollars into euros, 30 SAP bought on XETRA
/// at 180.50 EUR (1.0850 USD/EUR, 3.00 EUR commission), a euro dividend on SAP with its German
/// withholding tax, and 10 SAP sold at 190.00 EUR at that day's rate, 1.0920.
const IBKR_FLEX: &str = r#""BOF","U7654321","cairn activity","2","20250101","20250630","20250701;083000","2"
"BOA","U7654321"
"BOS","TRNT","Trades; trade date basis"
"HEADER","TRNT","ClientAccountID","CurrencyPrimary","FXRateToBase","AssetClass","Symbol","Description","ISIN","ListingExchange","TradeID","TransactionID","TradeDate","SettleDateTarget","Quantity","TradePrice","IBCommission","IBCommissionCurrency","Buy/Sell"
"DATA","TRNT","U7654321","USD","1","STK","AAPL","APPLE INC","US0378331005","NASDAQ","701001","28100001","20250310","20250311","10","220.00","-1.00","USD","BUY"
"DATA","TRNT","U7654321","USD","1","CASH","EUR.USD","EUR.USD","","IDEALFX","701002","28100002","20250313","20250317","-5500","1.0852","-2.00","USD","SELL"
"DATA","TRNT","U7654321","EUR","1.0850","STK","SAP","SAP SE","DE0007164600","IBIS","701003","28100003","20250314","20250318","30","180.50","-3.00","EUR","BUY"
"DATA","TRNT","U7654321","EUR","1.0920","STK","SAP","SAP SE","DE0007164600","IBIS","701004","28100004","20250616","20250618","-10","190.00","-3.00","EUR","SELL"
"EOS","TRNT","4"
"BOS","CTRN","Cash Transactions"
"HEADER","CTRN","ClientAccountID","CurrencyPrimary","FXRateToBase","Symbol","Description","DateTime","SettleDate","Amount","Type","TransactionID"
"DATA","CTRN","U7654321","USD","1","","CASH RECEIPTS / ELECTRONIC FUND TRANSFERS","20250303;000000","20250303","20000","Deposits/Withdrawals","28000001"
"DATA","CTRN","U7654321","EUR","1.0900","SAP","SAP(DE0007164600) CASH DIVIDEND EUR 2.20 PER SHARE (Ordinary Dividend)","20250516;202000","20250516","66.00","Dividends","28000002"
"DATA","CTRN","U7654321","EUR","1.0900","SAP","SAP(DE0007164600) CASH DIVIDEND EUR 2.20 PER SHARE - DE TAX","20250516;202000","20250516","-17.41","Withholding Tax","28000003"
"EOS","CTRN","3"
"EOA","U7654321"
"EOF","2"
"#;

/// The same account's query without section codes: each section its own header line.
const IBKR_FLEX_PLAIN: &str = "ClientAccountID,CurrencyPrimary,FXRateToBase,AssetClass,Symbol,TradeDate,Quantity,TradePrice,IBCommission,Buy/Sell,TransactionID\n\
U7654321,USD,1,STK,AAPL,2025-03-10,10,220.00,-1.00,BUY,28100001\n\
U7654321,EUR,1.0850,STK,SAP,2025-03-14,30,180.50,-3.00,BUY,28100003\n\
ClientAccountID,CurrencyPrimary,FXRateToBase,Symbol,Description,DateTime,Amount,Type,TransactionID\n\
U7654321,USD,1,,CASH RECEIPTS,2025-03-03,20000,Deposits/Withdrawals,28000001\n\
U7654321,USD,1,,USD CREDIT INT FOR MAR-2025,2025-04-03,4.21,Broker Interest Received,28000004\n";

#[tokio::test]
async fn ibkr_flex_query_with_currencies() {
    for db in all_backends("ibkr import").await {
        let dir = tempfile::tempdir().unwrap();
        let file = |name: &str, body: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, body).unwrap();
            path.display().to_string()
        };
        let import = |file: &str, household: &str, format: &str, extra: &[&str]| {
            let mut args = vec!["ledger", "import", file, "--household", household, "--format", format];
            args.extend_from_slice(&["--account", "IBKR", "--account-type", "taxable"]);
            args.extend_from_slice(extra);
            run(&db.url, &args)
        };
        let flex = file("flex.csv", IBKR_FLEX);
        let o = json(&import(&flex, "Ode", "ibkr", &[]));
        assert_eq!((o["format"].as_str(), o["rows"].as_u64()), (Some("ibkr"), Some(6)), "{o}");
        assert_eq!(
            o["skipped"],
            serde_json::json!([{
                "line": 6,
                "action": "SELL EUR.USD",
                "why": "a currency conversion: cairn keeps cash in US dollars"
            }]),
            "the conversion is listed, not refused"
        );
        assert_eq!(json(&import(&flex, "Ode", "ibkr", &[]))["already_imported"], true);

        // A later query overlapping the first: the sale again (its TransactionID already
        // recorded, however IBKR describes it now) and a new buy.
        let later = file(
            "later.csv",
            &IBKR_FLEX
                .replace("\"SAP SE\",\"DE0007164600\",\"IBIS\",\"701004", "\"SAP SE (XETRA)\",\"DE0007164600\",\"IBIS\",\"701004")
                .replace(
                    "\"EOS\",\"TRNT\",\"4\"",
                    "\"DATA\",\"TRNT\",\"U7654321\",\"USD\",\"1\",\"STK\",\"AAPL\",\"APPLE INC\",\"US0378331005\",\"NASDAQ\",\"701005\",\"28100005\",\"20250620\",\"20250623\",\"5\",\"200.00\",\"-1.00\",\"USD\",\"BUY\"\n\"EOS\",\"TRNT\",\"5\"",
                ),
        );
        let o = json(&import(&later, "Ode", "ibkr", &[]));
        assert_eq!((o["rows"].as_u64(), o["duplicates"].as_u64()), (Some(1), Some(6)), "only the new buy: {o}");

        let lots = |household: &str, extra: &[&str]| {
            lot_columns(&db.url, household, extra, &["symbol", "quantity", "adjusted_basis"])
        };
        let owned = |rows: &[(&str, &str, &str)]| -> Vec<Vec<String>> {
            rows.iter().map(|(s, q, b)| vec![s.to_string(), q.to_string(), b.to_string()]).collect()
        };
        // The SAP lot in dollars at the purchase's rate: 180.50 × 30 × 1.0850 + 3.00 × 1.0850 =
        // 5,875.275 + 3.255 = 5,878.53.
        assert_eq!(
            lots("Ode", &["--as-of", "2025-03-31"]),
            owned(&[("AAPL", "10", "2201.00"), ("SAP", "30", "5878.53")])
        );
        assert_eq!(
            lots("Ode", &[]),
            owned(&[("AAPL", "10", "2201.00"), ("AAPL", "5", "1001.00"), ("SAP", "20", "3919.02")]),
            "two thirds of the SAP lot are left"
        );

        // The sale's proceeds at its own rate: 10 × 190.00 × 1.0920 - 3.00 × 1.0920 = 2,074.80 -
        // 3.276 = 2,071.524; its basis a third of the lot's, 1,959.51.
        let gains =
            json(&run(&db.url, &["ledger", "gains", "--household", "Ode", "--year", "2025", "--format", "json"]));
        let rows = gains["gains"].as_array().unwrap();
        assert_eq!(rows.len(), 1, "{gains}");
        let sale = &rows[0];
        assert_eq!(sale["description"], "10 SAP");
        assert_eq!(
            (sale["date_acquired"].as_str(), sale["date_sold"].as_str()),
            (Some("2025-03-14"), Some("2025-06-16"))
        );
        assert_eq!(
            (sale["proceeds"].as_str(), sale["cost_basis"].as_str(), sale["gain_loss"].as_str()),
            (Some("2071.52"), Some("1959.51"), Some("112.01"))
        );
        assert_eq!(sale["term"], "short");

        // Cash in dollars: 20,000 - 2,201.00 - 5,878.53 + 66.00 × 1.09 (71.94) - 17.41 × 1.09
        // (18.9769) + 2,071.524 - 1,001.00 (the later buy) = 13,043.9571.
        let accounts = json(&run(&db.url, &["ledger", "accounts", "--household", "Ode", "--format", "json"]));
        let account = &accounts["accounts"][0];
        assert_eq!(
            (account["account"].as_str(), account["cash"].as_str()),
            (Some("IBKR"), Some("13043.96")),
            "{accounts}"
        );

        // `--format auto` knows the file, in either layout.
        let o = json(&import(&flex, "Ode Auto", "auto", &[]));
        assert_eq!((o["format"].as_str(), o["rows"].as_u64()), (Some("ibkr"), Some(6)), "{o}");
        assert_eq!(lots("Ode Auto", &["--as-of", "2025-03-31"]), lots("Ode", &["--as-of", "2025-03-31"]));
        let plain = file("plain.csv", IBKR_FLEX_PLAIN);
        let o = json(&import(&plain, "Ode Plain", "auto", &[]));
        assert_eq!((o["format"].as_str(), o["rows"].as_u64()), (Some("ibkr"), Some(4)), "{o}");
        assert_eq!(o["skipped"], serde_json::json!([]));
        assert_eq!(lots("Ode Plain", &[]), owned(&[("AAPL", "10", "2201.00"), ("SAP", "30", "5878.53")]));
        // The same transactions with section codes are already recorded, by TransactionID.
        let o = json(&import(&flex, "Ode Plain", "ibkr", &[]));
        assert_eq!((o["rows"].as_u64(), o["duplicates"].as_u64()), (Some(3), Some(3)), "{o}");

        // An account whose base currency is not the dollar: a USD line at 0.92.
        let before = stdout(&run(&db.url, &["verify"]));
        let euro_base = file(
            "euro-base.csv",
            &IBKR_FLEX.replace(
                "\"U7654321\",\"USD\",\"1\",\"STK\",\"AAPL\"",
                "\"U7654321\",\"USD\",\"0.92\",\"STK\",\"AAPL\"",
            ),
        );
        let o = import(&euro_base, "Ode Euro", "ibkr", &[]);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        let err = stderr(&o);
        assert!(err.contains("line 5: FXRateToBase: \"0.92\" for a line in USD"), "{err}");
        assert!(err.contains("must have USD as its base currency"), "{err}");
        assert_eq!(stdout(&run(&db.url, &["verify"])), before, "nothing was recorded");
        assert_eq!(run(&db.url, &["ledger", "lots", "--household", "Ode Euro"]).status.code(), Some(2));
        db.remove().await;
    }
}
