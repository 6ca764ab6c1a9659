//! End-to-end: `cairn user …` — registration with encrypted personal data, KYC, roles, MFA and
//! erasure by crypto-shredding, on SQLite and PostgreSQL.

mod common;

use common::{all_backends, cairn, stderr, stdout, TestDb};

/// Runs `cairn` with a master key file in `dir`.
fn run(db: &TestDb, dir: &tempfile::TempDir, args: &[&str]) -> std::process::Output {
    cairn()
        .env("CAIRN_MASTER_KEY_FILE", dir.path().join("master.key"))
        .arg("--database-url")
        .arg(&db.url)
        .args(args)
        .output()
        .unwrap()
}

fn json(o: &std::process::Output) -> serde_json::Value {
    assert!(o.status.success(), "stderr: {}", stderr(o));
    serde_json::from_str(stdout(o).trim()).unwrap()
}

#[tokio::test]
async fn personal_data_is_stored_encrypted_and_erasure_makes_it_unreadable_while_the_chain_verifies() {
    for db in all_backends("users").await {
        let dir = tempfile::tempdir().unwrap();
        let reg = json(&run(
            &db,
            &dir,
            &[
                "user",
                "register",
                "--name",
                "Ana Diaz",
                "--email",
                "ana@example.com",
                "--tax-id",
                "123-45-6789",
                "--household",
                "Diaz",
            ],
        ));
        let id = reg["user_id"].as_str().unwrap().to_owned();
        let shown = json(&run(&db, &dir, &["user", "show", "--user", &id]));
        assert_eq!((shown["name"].as_str(), shown["tax_id"].as_str()), (Some("Ana Diaz"), Some("123-45-6789")));
        assert_eq!(shown["roles"], serde_json::json!(["client"]));

        // The log holds only ciphertext.
        let tail = stdout(&run(&db, &dir, &["events", "tail"]));
        assert!(tail.contains("UserRegistered"));
        assert!(!tail.contains("123-45-6789") && !tail.contains("Ana Diaz") && !tail.contains("ana@example.com"));

        // KYC in order; out of order is refused with the current status.
        json(&run(&db, &dir, &["user", "kyc", "submit", "--user", &id, "--document", "passport:vault://docs/1"]));
        let early =
            run(&db, &dir, &["user", "kyc", "approve", "--user", &id, "--reviewer", "bo", "--expires", "2099-01-01"]);
        assert_eq!(early.status.code(), Some(2));
        assert_eq!(stderr(&early).trim(), "error: kyc: cannot approve while KYC is pending");
        json(&run(&db, &dir, &["user", "kyc", "review", "--user", &id, "--reviewer", "bo"]));
        json(&run(
            &db,
            &dir,
            &["user", "kyc", "approve", "--user", &id, "--reviewer", "bo", "--expires", "2099-01-01"],
        ));
        json(&run(&db, &dir, &["user", "role", "grant", "--user", &id, "--role", "advisor"]));
        let mfa = json(&run(&db, &dir, &["user", "mfa", "enable", "--user", &id]));
        assert_eq!(mfa["secret"].as_str().unwrap().len(), 32);
        json(&run(
            &db,
            &dir,
            &["user", "risk", "--user", &id, "--tolerance", "0.6", "--horizon", "25", "--federal-bracket", "0.24"],
        ));
        let shown = json(&run(&db, &dir, &["user", "show", "--user", &id]));
        assert_eq!((shown["kyc_status"].as_str(), shown["mfa_enabled"].as_bool()), (Some("approved"), Some(true)));
        assert_eq!(shown["roles"], serde_json::json!(["client", "advisor"]));
        assert_eq!(shown["risk_profile"]["horizon_years"], 25);

        // Another master key cannot open the data.
        let other = tempfile::tempdir().unwrap();
        let wrong = run(&db, &other, &["user", "show", "--user", &id]);
        assert_eq!(wrong.status.code(), Some(2));
        assert!(stderr(&wrong).contains("does not open"), "{}", stderr(&wrong));

        // The id in upper case is the same user, with the same key.
        json(&run(&db, &dir, &["user", "erase", "--user", &id.to_uppercase()]));
        let erased = json(&run(&db, &dir, &["user", "show", "--user", &id]));
        assert_eq!(
            (erased["erased"].as_bool(), erased["name"].is_null(), erased["tax_id"].is_null()),
            (Some(true), true, true)
        );
        assert_eq!(erased["kyc_status"], "approved", "the non-personal history stays readable");
        let after = run(&db, &dir, &["user", "terms", "--user", &id, "--terms-version", "3"]);
        assert!(stderr(&after).contains("erased"), "{}", stderr(&after));
        let verify = run(&db, &dir, &["verify"]);
        // The user's 8 events, and the sign-in email claimed at registration and released
        // at erasure.
        assert_eq!(stdout(&verify).trim(), "ok 10 events");
        // Erasing again finishes quietly (idempotent).
        json(&run(&db, &dir, &["user", "erase", "--user", &id]));
        // The email is free again once its user is erased (and taken while a user holds it).
        let again = json(&run(&db, &dir, &["user", "register", "--name", "Ana", "--email", "ANA@example.com"]));
        assert_ne!(again["user_id"].as_str(), Some(id.as_str()));
        let taken = run(&db, &dir, &["user", "register", "--name", "Ann", "--email", "ana@example.com"]);
        assert_eq!(stderr(&taken).trim(), "error: email: ana@example.com is already registered");
        db.remove().await;
    }
}

#[tokio::test]
async fn bad_user_input_names_the_field() {
    let db = common::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let o = run(&db, &dir, &["user", "register", "--name", "A", "--email", "not-an-email"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stderr(&o).trim(), "error: email: \"not-an-email\" is not an email address");
    let o = run(&db, &dir, &["user", "show", "--user", "nope"]);
    assert_eq!(stderr(&o).trim(), "error: user: \"nope\" is not a user id");
    let reg = json(&run(&db, &dir, &["user", "register", "--name", "B", "--email", "b@x.io"]));
    let id = reg["user_id"].as_str().unwrap().to_owned();
    let o = run(
        &db,
        &dir,
        &["user", "risk", "--user", &id, "--tolerance", "1.5", "--horizon", "5", "--federal-bracket", "0.1"],
    );
    assert_eq!(stderr(&o).trim(), "error: tolerance: must be between 0 and 1");
    db.remove().await;
}

#[tokio::test]
async fn a_new_email_moves_the_sign_in_name() {
    for db in common::all_backends("email change").await {
        let dir = tempfile::tempdir().unwrap();
        let register = |email: &str| run(&db, &dir, &["user", "register", "--name", "Bo", "--email", email]);
        let bo = json(&register("bo@example.com"))["user_id"].as_str().unwrap().to_owned();
        let other = json(&register("other@example.com"))["user_id"].as_str().unwrap().to_owned();
        let taken = run(&db, &dir, &["user", "profile", "--user", &other, "--email", "bo@example.com"]);
        assert_eq!(stderr(&taken).trim(), "error: email: bo@example.com is already registered");
        json(&run(&db, &dir, &["user", "profile", "--user", &bo, "--email", "bo@new.example.com"]));
        assert_eq!(json(&run(&db, &dir, &["user", "show", "--user", &bo]))["email"], "bo@new.example.com");
        // The old email is free; the new one is held.
        assert!(register("bo@example.com").status.success(), "the old email may be registered again");
        let again = register("BO@new.example.com");
        assert_eq!(stderr(&again).trim(), "error: email: BO@new.example.com is already registered");
        db.remove().await;
    }
}
