//! Signed tree heads and the proofs an auditor checks alone, against real SQLite and
//! PostgreSQL: `cairn audit head`, `prove`, `consistency`, and `check-proof` with nothing but the
//! proof file and the audit public key (no database); an altered event, a forged head and a
//! proof that does not start from the auditor's kept head are each refused, saying why.

mod common;

use common::{all_backends, run_with_input, server_env};
use serde_json::Value;

fn json(out: &str) -> Value {
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"))
}

const LEDGER: &str = "trade_date,account,account_type,action,symbol,quantity,price,fees\n\
    2025-01-06,Brokerage,taxable,deposit,,1,10000,0\n\
    2025-01-06,Brokerage,taxable,buy,VTI,10,200,0\n\
    2025-02-03,Brokerage,taxable,sell,VTI,5,210,0\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_auditor_proves_an_event_and_that_the_log_extends_a_kept_head_without_the_database() {
    for db in all_backends("audit proofs").await {
        let dir = tempfile::tempdir().unwrap();
        let env = server_env(dir.path());
        let cli = |args: &[&str]| run_with_input(&db.url, &env, args, "");
        let file = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            path.display().to_string()
        };
        let ledger = file("ledger.csv", LEDGER);
        cli(&["ledger", "import", &ledger, "--household", "smith"]);

        // A head over the whole log, signed by the audit key created beside the master key.
        let kept = json(&cli(&["audit", "head"]));
        let size = kept["size"].as_u64().unwrap();
        assert!(size >= 5, "{kept}");
        assert!(dir.path().join("audit-ed25519.pem").exists(), "the audit key is a file of its own");
        let key = kept["public_key"].as_str().unwrap().to_owned();
        let kept_file = file("head.json", &kept.to_string());
        assert_eq!(json(&cli(&["audit", "head", "--size", &size.to_string()]))["root"], kept["root"], "the same root");

        // Offline: nothing but the file and the key (the database URL points nowhere).
        let check = |proof: &str, extra: &[&str]| {
            let out = common::cairn()
                .args(["--database-url", "sqlite:///nonexistent/nowhere.db", "audit", "check-proof", proof])
                .args(["--public-key", &key])
                .args(extra)
                .output()
                .unwrap();
            (out.status.success(), common::stdout(&out), common::stderr(&out))
        };
        let proved = cli(&["audit", "prove", "--position", "3"]);
        let proof = file("proof.json", &proved);
        let (ok, out, err) = check(&proof, &[]);
        assert!(ok, "{err}");
        let answer = json(&out);
        assert_eq!((answer["kind"].as_str(), answer["position"].as_u64()), (Some("inclusion"), Some(3)), "{answer}");
        assert_eq!(answer["head_root"], kept["root"]);

        // An altered event: its fields no longer give its hash.
        let mut altered = json(&proved);
        altered["event"]["stream_version"] = Value::from(altered["event"]["stream_version"].as_u64().unwrap() + 1);
        let (ok, _, err) = check(&file("altered.json", &altered.to_string()), &[]);
        assert!(!ok && err.contains("the event was altered"), "{err}");
        // A head whose size was changed after signing.
        let mut forged = json(&proved);
        forged["head"]["size"] = Value::from(size + 1);
        let (ok, _, err) = check(&file("forged.json", &forged.to_string()), &[]);
        assert!(!ok && err.contains("signature does not match"), "{err}");
        // Another key.
        let mut other = json(&proved);
        other["head"]["public_key"] = Value::from("00".repeat(32));
        let (ok, _, err) = check(&file("other.json", &other.to_string()), &[]);
        assert!(!ok && err.contains("not by the key given"), "{err}");

        // The log grows; the new log extends the kept head.
        let more = file("more.csv", "trade_date,account,account_type,action,symbol,quantity,price,fees\n2025-03-03,Brokerage,taxable,buy,BND,10,70,0\n");
        cli(&["ledger", "import", &more, "--household", "smith"]);
        let extended = cli(&["audit", "consistency", "--from-size", &size.to_string()]);
        let consistency = file("consistency.json", &extended);
        let (ok, out, err) = check(&consistency, &["--head", &kept_file]);
        assert!(ok, "{err}");
        let answer = json(&out);
        assert_eq!((answer["kind"].as_str(), answer["kept_head_checked"].as_bool()), (Some("consistency"), Some(true)));
        assert!(answer["head_size"].as_u64().unwrap() > size, "{answer}");
        // A proof from a smaller log does not start from the kept head.
        let smaller = file("smaller.json", &cli(&["audit", "consistency", "--from-size", &(size - 1).to_string()]));
        let (ok, _, err) = check(&smaller, &["--head", &kept_file]);
        assert!(!ok && err.contains("not from your head's"), "{err}");
        // A report records the tree head it was computed against: its position and the root
        // of the log up to it, the root `audit head --size` gives.
        let lots = json(&cli(&["ledger", "lots", "--household", "smith", "--format", "json"]));
        let position = lots["generated"]["position"].as_u64().unwrap();
        let tail = cli(&["events", "tail"]);
        let recorded: Value = serde_json::from_str(tail.lines().next_back().unwrap()).unwrap();
        let generated = &recorded["payload"]["ReportGenerated"];
        assert_eq!(
            (generated["sha256"].clone(), generated["position"].as_u64()),
            (lots["sha256"].clone(), Some(position))
        );
        let at = json(&cli(&["audit", "head", "--size", &position.to_string()]));
        assert_eq!(generated["tree_root"], at["root"], "{generated}");
        // verify --heads: the log against every head kept, both hold.
        let later = cli(&["audit", "head"]);
        let heads = file("heads.jsonl", &format!("{}\n{}", kept, later.trim()));
        let verified = cli(&["verify", "--heads", &heads]);
        assert!(verified.starts_with("ok ") && verified.contains("2 signed head(s) hold"), "{verified}");
        if db.url.starts_with("sqlite") {
            // Whoever can write the database deletes the last event: the chain alone still
            // verifies (nothing links forward from the last row), the heads catch it.
            use sqlx::Connection;
            let mut c = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
            let last: i64 =
                sqlx::query_scalar("SELECT MAX(global_position) FROM events").fetch_one(&mut c).await.unwrap();
            sqlx::raw_sql(&format!(
                "DROP TRIGGER events_refuse_delete; DELETE FROM events WHERE global_position = {last};"
            ))
            .execute(&mut c)
            .await
            .unwrap();
            c.close().await.unwrap();
            assert!(cli(&["verify"]).starts_with("ok "), "the chain alone does not see it");
            let out = common::cairn()
                .args(["--database-url", &db.url, "verify", "--heads", &heads])
                .envs(env.iter().map(|(k, v)| (k, v)))
                .output()
                .unwrap();
            let said = common::stdout(&out);
            assert_eq!(out.status.code(), Some(1), "{said}");
            assert!(said.contains(&format!("positions {last} to {last} are missing")), "{said}");
        }
        // Positions beyond the log are refused naming the flag.
        let out = common::cairn()
            .args(["--database-url", &db.url, "audit", "prove", "--position", "999"])
            .envs(env.iter().map(|(k, v)| (k, v)))
            .output()
            .unwrap();
        assert!(!out.status.success() && common::stderr(&out).contains("position"), "{}", common::stderr(&out));
        db.remove().await;
    }
}

/// `serve` issues a signed head after commits (at most one a second) to its witnesses: the heads
/// file that `cairn verify --heads` reads, the NATS subject `cairn.audit.heads`, and
/// `GET /v1/audit/heads` for auditors; each head's root is the log's. Restarted over a log that was
/// truncated meanwhile, it signs nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_publishes_signed_heads_after_commits_to_its_witnesses() {
    use futures::StreamExt as _;
    let db = common::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let mut env = server_env(dir.path());
    let heads_file = dir.path().join("witness/heads.jsonl");
    std::fs::create_dir_all(heads_file.parent().unwrap()).unwrap();
    env.push(("CAIRN_AUDIT_HEADS_FILE".into(), heads_file.display().to_string()));
    let nats = std::env::var("CAIRN_TEST_NATS_URL").ok();
    let mut subscription = None;
    if let Some(url) = &nats {
        let id = uuid::Uuid::now_v7().simple().to_string();
        env.push(("CAIRN_NATS_URL".into(), url.clone()));
        env.push(("CAIRN_NATS_STREAM".into(), format!("CAIRN_HEADS_{id}")));
        env.push(("CAIRN_NATS_SUBJECT_PREFIX".into(), format!("cairnheads_{id}.events")));
        let client = async_nats::connect(url).await.unwrap();
        subscription = Some((client.subscribe("cairn.audit.heads").await.unwrap(), client));
    } else {
        common::skipped("tree heads on NATS", "CAIRN_TEST_NATS_URL");
    }
    let cli = |args: &[&str]| run_with_input(&db.url, &env, args, "");
    let ledger = dir.path().join("ledger.csv");
    std::fs::write(&ledger, LEDGER).unwrap();
    cli(&["ledger", "import", ledger.to_str().unwrap(), "--household", "smith"]);
    let auditor =
        common::register(&db.url, &env, "Ida Auditor", "ida@audit.test", "smith", "correct horse battery staple");
    cli(&["user", "role", "--user", &auditor, "grant", "--role", "auditor"]);
    let (child, base) = common::serve(&db.url, env.clone());
    let server = common::Kill(child);
    // A commit while the server runs: a head follows within the second.
    cli(&["ledger", "member", "--household", "smith", "--name", "Ana", "--born", "1960-06-15"]);
    let size = json(&cli(&["audit", "head"]))["size"].as_u64().unwrap();
    let mut last = Value::Null;
    for _ in 0..100 {
        let text = std::fs::read_to_string(&heads_file).unwrap_or_default();
        if let Some(line) = text.lines().last() {
            last = json(line);
            if last["size"].as_u64() == Some(size) {
                break;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(last["size"].as_u64(), Some(size), "{last}");
    let expected = json(&cli(&["audit", "head", "--size", &size.to_string()]));
    assert_eq!((&last["root"], &last["public_key"]), (&expected["root"], &expected["public_key"]));
    let verified = cli(&["verify", "--heads", heads_file.to_str().unwrap()]);
    assert!(verified.starts_with("ok ") && verified.contains("signed head(s) hold"), "{verified}");
    // Auditors read them over HTTP (the role matrix in tests/http.rs checks who may not).
    let token = common::login(&base, "ida@audit.test", "correct horse battery staple").await;
    let answer: Value = reqwest::Client::new()
        .get(format!("{base}/v1/audit/heads"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let heads = answer["heads"].as_array().unwrap();
    assert_eq!(heads.last().map(|h| &h["root"]), Some(&expected["root"]), "{answer}");
    assert_eq!(answer["public_key"], expected["public_key"]);
    // And on NATS: this server's heads (another test's server may publish on the subject too).
    if let Some((mut sub, _client)) = subscription {
        let mine = tokio::time::timeout(std::time::Duration::from_secs(10), async {
            while let Some(m) = sub.next().await {
                let h: Value = serde_json::from_slice(&m.payload).unwrap();
                if h["public_key"] == expected["public_key"] && h["size"].as_u64() == Some(size) {
                    return h;
                }
            }
            Value::Null
        })
        .await
        .unwrap();
        assert_eq!(mine["root"], expected["root"]);
    }
    drop(server);
    // Whoever can write the database deletes the last event while the server is down: the
    // restarted server does not sign the shorter log (it would extend no head it issued).
    {
        use sqlx::Connection;
        let mut c = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
        sqlx::raw_sql(&format!(
            "DROP TRIGGER events_refuse_delete; DELETE FROM events WHERE global_position = {size};"
        ))
        .execute(&mut c)
        .await
        .unwrap();
        c.close().await.unwrap();
    }
    let (child, _) = common::serve(&db.url, env.clone());
    let server = common::Kill(child);
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    drop(server);
    let text = std::fs::read_to_string(&heads_file).unwrap();
    let sizes: Vec<u64> = text.lines().map(|l| json(l)["size"].as_u64().unwrap()).collect();
    assert_eq!(sizes.last(), Some(&size), "no head of the truncated log: {sizes:?}");
    assert!(sizes.windows(2).all(|w| w[0] <= w[1]), "heads never shrink: {sizes:?}");
    db.remove().await;
}
