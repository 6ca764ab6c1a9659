//! End-to-end: the `cairn` binary's commands on real SQLite files and PostgreSQL databases.

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

use common::{all_backends, append, cairn, run, sqlite, stderr, stdout};

#[test]
fn every_command_has_help() {
    let top = cairn().arg("--help").output().unwrap();
    assert!(top.status.success());
    for cmd in ["serve", "relay", "events", "verify", "bench"] {
        assert!(stdout(&top).contains(cmd), "--help lists {cmd}");
    }
    for args in [&["events", "tail", "--help"][..], &["bench", "append", "--help"], &["relay", "--help"]] {
        let o = cairn().args(args).output().unwrap();
        assert!(o.status.success(), "{args:?}");
        assert!(stdout(&o).contains("Usage:"), "{args:?}");
    }
}

#[tokio::test]
async fn verify_reports_the_count_and_tail_prints_json_lines() {
    for db in all_backends("verify and tail").await {
        let o = run(&db.url, &["verify"]);
        assert_eq!(stdout(&o).trim(), "ok 0 events");
        append(&db.store, "ledger-a", 3).await;
        append(&db.store, "user-b", 2).await;

        let o = run(&db.url, &["verify"]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(stdout(&o).trim(), "ok 5 events");

        let o = run(&db.url, &["events", "tail", "--from", "2"]);
        assert!(o.status.success(), "{}", stderr(&o));
        let lines: Vec<serde_json::Value> =
            stdout(&o).lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect();
        assert_eq!(lines.iter().map(|l| l["global_position"].as_u64().unwrap()).collect::<Vec<_>>(), vec![2, 3, 4, 5]);
        assert_eq!(lines[0]["event_type"], "Noted");
        assert_eq!(lines[0]["payload"]["n"], 1);
        assert_eq!(lines[0]["metadata"]["actor"], "e2e");
        assert_eq!(lines[3]["stream_id"], "user-b");

        let o = run(&db.url, &["events", "tail", "--stream", "user-b"]);
        let positions: Vec<u64> = stdout(&o)
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["global_position"].as_u64().unwrap())
            .collect();
        assert_eq!(positions, vec![4, 5]);
        db.remove().await;
    }
}

#[tokio::test]
async fn verify_exits_1_and_names_the_position_of_a_tampered_event() {
    let db = sqlite().await;
    append(&db.store, "ledger-a", 4).await;
    let file = db.url.trim_start_matches("sqlite://").to_owned();
    let edit = std::process::Command::new("sqlite3")
        .arg(&file)
        .arg("DROP TRIGGER events_refuse_update; UPDATE events SET stream_version = 9 WHERE global_position = 2;")
        .output();
    match edit {
        Ok(o) if o.status.success() => {}
        // Without the sqlite3 shell, tamper through the library's driver instead.
        _ => {
            use sqlx::Connection;
            let mut c = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
            sqlx::raw_sql(
                "DROP TRIGGER events_refuse_update; UPDATE events SET stream_version = 9 WHERE global_position = 2;",
            )
            .execute(&mut c)
            .await
            .unwrap();
        }
    }
    let o = run(&db.url, &["verify"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).starts_with("broken at position 2:"), "{}", stdout(&o));
    db.remove().await;
}

#[test]
fn a_bad_or_unreachable_database_is_one_clear_line_and_exit_2() {
    for url in ["mysql://nowhere/x", "postgres://postgres@127.0.0.1:1/cairn"] {
        let o = run(url, &["verify"]);
        assert_eq!(o.status.code(), Some(2), "{url}");
        let err = stderr(&o);
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(err.starts_with("error: cannot open database"), "{err}");
    }
    // An unreachable server is reported with the reason, not as a pool timing out.
    let o = run("postgres://postgres@127.0.0.1:1/cairn", &["verify"]);
    let err = stderr(&o);
    assert!(err.to_lowercase().contains("connection refused"), "{err}");
    assert!(!err.contains("timed out"), "{err}");
}

#[test]
fn the_default_database_is_created_by_the_first_write_and_never_by_a_read() {
    let dir = tempfile::tempdir().unwrap();
    let o = cairn().current_dir(dir.path()).arg("verify").output().unwrap();
    assert_eq!(o.status.code(), Some(2), "a mistyped or missing database is not an intact, empty one");
    assert!(stderr(&o).contains("no database at ./cairn-data/cairn.db"), "{}", stderr(&o));
    assert!(!dir.path().join("cairn-data/cairn.db").exists());
    std::fs::write(
        dir.path().join("t.csv"),
        "trade_date,account,account_type,action,symbol,quantity,price,fees\n2025-01-02,B,taxable,deposit,,1,10,0\n",
    )
    .unwrap();
    let o = cairn().current_dir(dir.path()).args(["ledger", "import", "t.csv", "--household", "h"]).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(dir.path().join("cairn-data/cairn.db").exists());
    let o = cairn().current_dir(dir.path()).arg("verify").output().unwrap();
    assert_eq!(stdout(&o).trim(), "ok 4 events");
}

#[tokio::test]
async fn tail_follow_prints_events_committed_by_another_process() {
    for db in all_backends("tail --follow").await {
        append(&db.store, "ledger-a", 1).await;
        let mut child = cairn()
            .args(["--database-url", &db.url, "events", "tail", "--follow"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                if tx.send(line.unwrap()).is_err() {
                    break;
                }
            }
        });
        let first: serde_json::Value =
            serde_json::from_str(&rx.recv_timeout(Duration::from_secs(20)).unwrap()).unwrap();
        assert_eq!(first["global_position"], 1);
        append(&db.store, "ledger-b", 2).await;
        for expected in [2, 3] {
            let line = rx.recv_timeout(Duration::from_secs(20)).expect("a followed event");
            let v: serde_json::Value = serde_json::from_str(&line).unwrap();
            assert_eq!(v["global_position"], expected);
            assert_eq!(v["stream_id"], "ledger-b");
        }
        child.kill().unwrap();
        let _ = child.wait();
        db.remove().await;
    }
}

#[tokio::test]
async fn bench_prints_throughput_as_json_and_leaves_no_scratch_database_behind() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/cairn.db", dir.path().display());
    let o = run(&url, &["bench", "append", "--events", "3000", "--batch", "100", "--writers", "2"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(r["events"], 3000);
    assert_eq!(r["appends"], 30);
    assert!(r["events_per_sec"].as_f64().unwrap() > 0.0);
    assert!(r["latency_ms_p99"].as_f64().unwrap() >= r["latency_ms_p50"].as_f64().unwrap());
    assert!(r["ratio_to_raw_insert"].as_f64().unwrap() > 0.0);

    let o = run(&url, &["bench", "read", "--events", "2000"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(r["events"], 2000);
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(left.is_empty(), "scratch files removed: {left:?}");
}

#[tokio::test]
async fn relay_once_publishes_everything_committed_to_nats() {
    let Ok(nats) = std::env::var("CAIRN_TEST_NATS_URL") else {
        common::skipped("cairn relay", "CAIRN_TEST_NATS_URL");
        return;
    };
    for db in all_backends("cairn relay").await {
        append(&db.store, "ledger-a", 7).await;
        let id = uuid::Uuid::now_v7().simple().to_string();
        let (stream, prefix) = (format!("CAIRN_E2E_{id}"), format!("cairne2e_{id}.events"));
        let args = ["relay", "--once", "--nats-url", &nats, "--nats-stream", &stream, "--nats-subject-prefix", &prefix];
        let o = run(&db.url, &args);
        assert!(o.status.success(), "{}", stderr(&o));
        let r: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
        assert_eq!((r["published"].as_u64(), r["checkpoint"].as_u64()), (Some(7), Some(7)));
        // A second run resumes from the checkpoint: nothing new to publish.
        let o = run(&db.url, &args);
        let r: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
        assert_eq!(r["published"], 0);
        let js = async_nats::jetstream::new(async_nats::connect(&nats).await.unwrap());
        assert_eq!(js.get_stream(&stream).await.unwrap().info().await.unwrap().state.messages, 7);
        js.delete_stream(&stream).await.unwrap();
        db.remove().await;
    }
}

/// Runs `cairn` with `args` as `cairn … | head -1` would: reads the first line of its output,
/// closes the pipe, and returns that line, the exit status and stderr.
fn first_line_then_close(url: &str, args: &[&str]) -> (String, std::process::ExitStatus, String) {
    let mut child = cairn()
        .arg("--database-url")
        .arg(url)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let out = child.wait_with_output().unwrap();
    (line, out.status, String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/cairn.db", dir.path().display());
    // 3,000 lots: every report below is far larger than a pipe's buffer, so the reader going
    // away after one line leaves the writer with most of it still to write.
    let mut csv = String::from("trade_date,account,account_type,action,symbol,quantity,price,fees\n");
    for i in 0..3000 {
        csv.push_str(&format!("2025-01-{:02},Brokerage,taxable,buy,S{},1,{},0\n", 2 + i % 20, i % 40, 10 + i % 7));
    }
    let file = dir.path().join("t.csv");
    std::fs::write(&file, csv).unwrap();
    // The import's summary goes to a reader that has already gone: the rows are recorded anyway.
    let mut import = cairn()
        .args(["--database-url", &url, "ledger", "import", &file.display().to_string(), "--household", "h"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(import.stdout.take());
    let o = import.wait_with_output().unwrap();
    assert_eq!((o.status.code(), stderr(&o)), (Some(0), String::new()));
    assert_eq!(stdout(&run(&url, &["verify"])).trim(), "ok 3003 events");

    for (args, first) in [
        (&["events", "tail"][..], "{\"event_id\""),
        (&["ledger", "lots", "--household", "h", "--format", "csv"], "lot_id,account,symbol,quantity"),
        (&["ledger", "lots", "--household", "h", "--format", "table"], "lot_id"),
        (&["audit", "changes", "--from", "2000-01-01", "--to", "2999-01-01", "--format", "csv"], "position,"),
    ] {
        let (line, status, err) = first_line_then_close(&url, args);
        assert!(line.starts_with(first), "{args:?}: {line:.80}");
        assert_eq!((status.code(), err.as_str()), (Some(0), ""), "{args:?} ends quietly");
    }
}
