//! `cairn backup create|verify` and `cairn restore` against real SQLite and PostgreSQL: a
//! backup grows incrementally, verifies whole, restores into either backend with the same chain,
//! Merkle root and read-model digests, stops at a position, refuses a store that holds events,
//! and any flipped byte in any of its files is caught, naming the file.

mod common;

use common::{all_backends, postgres, run_with_input, server_env, sqlite};
use serde_json::Value;

const LEDGER: &str = "trade_date,account,account_type,action,symbol,quantity,price,fees,description\n\
    2025-01-06,IRA,traditional_ira,deposit,,1,500000,0,\n\
    2025-01-06,Brokerage,taxable,deposit,,1,100000,0,\n\
    2025-01-07,Brokerage,taxable,buy,VTI,10,250,0,\n";

fn json(out: &str) -> Value {
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"))
}

/// Runs cairn with `env`, expecting it to fail; its stderr.
fn fails(env: &[(String, String)], args: &[&str]) -> String {
    let out = common::cairn().args(args).envs(env.iter().map(|(k, v)| (k, v))).output().unwrap();
    assert!(!out.status.success(), "cairn {args:?} should fail: {}", common::stdout(&out));
    common::stderr(&out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_grows_verifies_and_restores_into_either_backend() {
    for db in all_backends("backup and restore").await {
        let dir = tempfile::tempdir().unwrap();
        let env = server_env(dir.path());
        let cli = |url: &str, args: &[&str]| run_with_input(url, &env, args, "");
        let csv = dir.path().join("ledger.csv");
        std::fs::write(&csv, LEDGER).unwrap();
        cli(&db.url, &["ledger", "import", csv.to_str().unwrap(), "--household", "smith"]);
        // A user: personal data sealed under a data key, which the backup must carry.
        cli(&db.url, &["user", "register", "--name", "Ana Smith", "--email", "ana@smith.test", "--household", "smith"]);
        let backups = dir.path().join("backups");
        let b = backups.to_str().unwrap();
        let first = json(&cli(&db.url, &["backup", "create", "--to", b]));
        assert_eq!((first["from"].as_u64(), first["incremental"].as_bool()), (Some(1), Some(false)), "{first}");
        // More events, then an incremental backup: only those.
        cli(&db.url, &["ledger", "member", "--household", "smith", "--name", "Ana", "--born", "1960-06-15"]);
        let second = json(&cli(&db.url, &["backup", "create", "--to", b]));
        let size = second["to"].as_u64().unwrap();
        assert_eq!(second["from"].as_u64(), Some(first["to"].as_u64().unwrap() + 1), "{second}");
        assert_eq!((second["incremental"].as_bool(), second["segments"].as_u64()), (Some(true), Some(2)), "{second}");
        assert_eq!(second["digests"].as_u64(), Some(4), "the read models' digests at the head: {second}");

        // Verified whole, without a database.
        let ok = json(&run_with_input("sqlite:///nowhere/at/all.db", &env, &["backup", "verify", b], ""));
        assert_eq!(
            (ok["ok"].as_bool(), ok["events"].as_u64(), ok["keys"].as_u64()),
            (Some(true), Some(size), Some(1)),
            "{ok}"
        );
        assert_eq!(ok["digests_compared"].as_u64(), Some(4), "{ok}");

        // Restored into SQLite and into PostgreSQL: the same log, root and read models.
        let head = json(&cli(&db.url, &["audit", "head"]));
        let mut targets = vec![sqlite().await];
        targets.extend(postgres("restore into PostgreSQL").await);
        for target in &targets {
            let restored = json(&run_with_input(&db.url, &env, &["restore", b, "--to", &target.url], ""));
            assert_eq!(
                (restored["events"].as_u64(), restored["root"].as_str()),
                (Some(size), head["root"].as_str()),
                "{restored}"
            );
            let check = cli(&target.url, &["verify"]);
            assert!(check.starts_with(&format!("ok {size} events")), "{check}");
            let theirs = json(&cli(&target.url, &["audit", "head"]));
            assert_eq!(theirs["root"], head["root"]);
            let manifest: Value =
                serde_json::from_str(&std::fs::read_to_string(backups.join("manifest.json")).unwrap()).unwrap();
            assert_eq!(restored["digests"], manifest["digests"], "the read models rebuilt match the backup's");
            // The data key came along: the user's sealed profile opens.
            let users = cli(&target.url, &["user", "list"]);
            assert!(users.contains("ana@smith.test"), "{users}");
            // A store that holds events is refused.
            let refused = fails(&env, &["restore", b, "--to", &target.url]);
            assert!(refused.contains("already holds"), "{refused}");
        }

        // Up to a position, then resumed with --force to the end.
        let partial = sqlite().await;
        let cut = json(&cli(&db.url, &["restore", b, "--to", &partial.url, "--to-position", "3"]));
        assert_eq!((cut["events"].as_u64(), cut["to_position"].as_u64()), (Some(3), Some(3)), "{cut}");
        assert!(cli(&partial.url, &["verify"]).starts_with("ok 3 events"));
        let dry = json(&cli(&db.url, &["restore", b, "--to", &partial.url, "--dry-run"]));
        assert_eq!((dry["dry_run"].as_bool(), dry["events"].as_u64()), (Some(true), Some(size)), "{dry}");
        let rest = json(&cli(&db.url, &["restore", b, "--to", &partial.url, "--force"]));
        assert_eq!(rest["events"].as_u64(), Some(size - 3), "{rest}");
        assert_eq!(json(&cli(&partial.url, &["audit", "head"]))["root"], head["root"]);
        // A store whose log is shorter than the backup's cannot be backed up into it: the log was cut.
        let short = sqlite().await;
        cli(&db.url, &["restore", b, "--to", &short.url, "--to-position", "2"]);
        let cut_log = fails(&env, &["--database-url", &short.url, "backup", "create", "--to", b]);
        assert!(cut_log.contains("it was cut"), "{cut_log}");

        // Read models built from the whole log stop, saying so, when fed a log that moved
        // backwards (an older backup restored) or one rewritten under them.
        let models = dir.path().join("models.db");
        let models_url = format!("sqlite://{}", models.display());
        cli(&db.url, &["project", "--target", &models_url]);
        let behind = fails(&env, &["--database-url", &short.url, "project", "--target", &models_url]);
        assert!(behind.contains("the log moved backwards"), "{behind}");
        let other = sqlite().await;
        cli(&other.url, &["ledger", "import", csv.to_str().unwrap(), "--household", "jones"]);
        for name in ["A", "B", "C", "D", "E", "F", "G", "H"] {
            cli(&other.url, &["ledger", "member", "--household", "jones", "--name", name, "--born", "1970-01-01"]);
        }
        let rewritten = fails(&env, &["--database-url", &other.url, "project", "--target", &models_url]);
        assert!(rewritten.contains("the log was rewritten"), "{rewritten}");

        // Any flipped byte in any file is caught, naming the file.
        let mut files: Vec<String> =
            std::fs::read_dir(&backups).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        files.sort();
        assert!(files.len() >= 4, "{files:?}");
        for name in &files {
            let copy = dir.path().join(format!("copy-{name}"));
            std::fs::create_dir(&copy).unwrap();
            for f in &files {
                std::fs::copy(backups.join(f), copy.join(f)).unwrap();
            }
            let mut bytes = std::fs::read(copy.join(name)).unwrap();
            let middle = bytes.len() / 2;
            bytes[middle] ^= 0x20;
            std::fs::write(copy.join(name), &bytes).unwrap();
            let caught = fails(&env, &["backup", "verify", copy.to_str().unwrap()]);
            let named = if name == "manifest.json" { "manifest.json" } else { name.as_str() };
            assert!(caught.contains(named), "{name}: {caught}");
        }
        for t in targets {
            t.remove().await;
        }
        db.remove().await;
    }
}
