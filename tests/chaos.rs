//! Chaos: `kill -9` at random moments of an append (a ledger import), a backup, a restore, a
//! read-model rebuild, and `serve` while its projectors catch up with an import, on SQLite and
//! PostgreSQL, `CAIRN_CHAOS_ROUNDS` times each (5 by default; the closing notes report 20).
//! After each kill: nothing acknowledged is lost, nothing is duplicated, the chain verifies
//! (and `verify --heads` against a signed head kept after every round), a
//! backup folder still verifies, a restore resumes to the source's exact root, and the read
//! models come back to a rebuild's digests. How many kills landed before the operation had
//! finished is printed for each backend.

mod common;

use std::time::Duration;

use common::{all_backends, run_with_input, server_env, sqlite};
use rand::Rng as _;
use serde_json::Value;

fn json(out: &str) -> Value {
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"))
}

fn rounds() -> usize {
    std::env::var("CAIRN_CHAOS_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(5)
}

/// A ledger file of `rows` purchases in one account, in one household.
fn ledger(rows: usize) -> String {
    let mut csv = String::from("trade_date,account,account_type,action,symbol,quantity,price,fees,description\n");
    csv.push_str("2025-01-02,Brokerage,taxable,deposit,,1,10000000,0,\n");
    for i in 0..rows {
        csv.push_str(&format!("2025-01-{:02},Brokerage,taxable,buy,S{:02},1,{},0,\n", 3 + i % 25, i % 40, 10 + i % 90));
    }
    csv
}

/// Runs cairn with `args`, killing it (SIGKILL) after a random pause of up to `most`; whether it
/// had finished first.
fn kill_at_random(env: &[(String, String)], args: &[&str], most: Duration) -> bool {
    let mut child = common::cairn()
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pause = rand::thread_rng().gen_range(0..most.as_millis().max(1) as u64);
    std::thread::sleep(Duration::from_millis(pause));
    let finished = matches!(child.try_wait(), Ok(Some(s)) if s.success());
    let _ = child.kill();
    let _ = child.wait();
    finished
}

/// Counts the events of each stream in `url`'s log, and checks no event id appears twice.
fn streams(url: &str, env: &[(String, String)]) -> std::collections::BTreeMap<String, usize> {
    let tail = run_with_input(url, env, &["events", "tail"], "");
    let mut ids = std::collections::BTreeSet::new();
    let mut counts = std::collections::BTreeMap::new();
    for line in tail.lines() {
        let e = json(line);
        assert!(ids.insert(e["event_id"].to_string()), "duplicated: {line}");
        *counts.entry(e["stream_id"].as_str().unwrap().to_owned()).or_insert(0) += 1;
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_nine_at_random_moments_loses_nothing_acknowledged() {
    for db in all_backends("chaos").await {
        let dir = tempfile::tempdir().unwrap();
        let env = server_env(dir.path());
        let cli = |url: &str, args: &[&str]| run_with_input(url, &env, args, "");
        let file = dir.path().join("ledger.csv");
        std::fs::write(&file, ledger(1_500)).unwrap();
        let f = file.to_str().unwrap();
        // Appends: each import is acknowledged (exit 0) or killed; a killed one left all of its
        // events (it had committed) or none, never part.
        // Each kill comes at a random moment within the operation's own duration, timed once.
        let timed = |args: &[&str]| {
            let t = std::time::Instant::now();
            cli(&db.url, args);
            t.elapsed()
        };
        let import_time = timed(&["ledger", "import", f, "--household", "whole"]);
        let whole = streams(&db.url, &env)["ledger-whole"];
        let mut acknowledged = std::collections::BTreeMap::new();
        let heads = dir.path().join("heads.jsonl");
        // Kills that landed before the operation had finished, by operation.
        let mut mid = std::collections::BTreeMap::<&str, usize>::new();
        for round in 0..rounds() {
            let household = format!("h{round}");
            let args = ["--database-url", &db.url, "ledger", "import", f, "--household", &household];
            let done = kill_at_random(&env, &args, import_time);
            *mid.entry("import").or_default() += usize::from(!done);
            let counts = streams(&db.url, &env);
            let stream = format!("ledger-{household}");
            match (done, counts.get(&stream)) {
                (_, Some(n)) => {
                    assert_eq!(*n, whole, "round {round}: part of a file");
                    acknowledged.insert(stream, *n);
                }
                (true, None) => panic!("round {round}: acknowledged, and nothing recorded"),
                (false, None) => {}
            }
            for (s, n) in &acknowledged {
                assert_eq!(counts.get(s), Some(n), "round {round}: {s} lost events");
            }
            assert!(cli(&db.url, &["verify"]).starts_with("ok "), "round {round}");
            // A signed head of the log as it stands; every head kept so far still holds.
            let mut kept = std::fs::read_to_string(&heads).unwrap_or_default();
            kept.push_str(&cli(&db.url, &["audit", "head"]));
            std::fs::write(&heads, kept).unwrap();
            let verified = cli(&db.url, &["verify", "--heads", heads.to_str().unwrap()]);
            assert!(verified.starts_with("ok "), "round {round}: {verified}");
        }
        let backups = dir.path().join("backups");
        let b = backups.to_str().unwrap();
        cli(&db.url, &["backup", "create", "--to", b]);
        cli(&db.url, &["ledger", "member", "--household", "h0", "--name", "A"]);
        let backup_time = timed(&["backup", "create", "--to", b]);
        // Backups: a killed one leaves the folder's last backup whole.
        for round in 0..rounds() {
            cli(&db.url, &["ledger", "member", "--household", "h0", "--name", &format!("B{round}")]);
            let done = kill_at_random(&env, &["--database-url", &db.url, "backup", "create", "--to", b], backup_time);
            *mid.entry("backup").or_default() += usize::from(!done);
            let ok = json(&cli(&db.url, &["backup", "verify", b]));
            assert_eq!(ok["ok"].as_bool(), Some(true), "round {round}: {ok}");
        }
        cli(&db.url, &["backup", "create", "--to", b]);
        let head = json(&cli(&db.url, &["audit", "head"]));
        let restore_time = {
            let target = sqlite().await;
            let t = timed(&["restore", b, "--to", &target.url]);
            target.remove().await;
            t
        };
        // Restores: a killed one is resumed with --force to the source's exact root.
        for round in 0..rounds() {
            let target = sqlite().await;
            let done = kill_at_random(&env, &["restore", b, "--to", &target.url], restore_time);
            *mid.entry("restore").or_default() += usize::from(!done);
            let resumed = json(&cli(&db.url, &["restore", b, "--to", &target.url, "--force"]));
            assert_eq!(resumed["root"], head["root"], "round {round}: {resumed}");
            assert_eq!(json(&cli(&target.url, &["audit", "head"]))["root"], head["root"], "round {round}");
            target.remove().await;
        }
        // Rebuilds: a killed one, then the read models again equal a rebuild's digests.
        let digests = |url: &str| -> Vec<String> {
            cli(url, &["projections", "digest"])
                .lines()
                .map(|l| json(l)["sha256"].as_str().unwrap().to_owned())
                .collect()
        };
        let before = digests(&db.url);
        let rebuild_time = timed(&["projections", "rebuild"]);
        for round in 0..rounds() {
            let done = kill_at_random(&env, &["--database-url", &db.url, "projections", "rebuild"], rebuild_time);
            *mid.entry("rebuild").or_default() += usize::from(!done);
            assert_eq!(digests(&db.url), before, "round {round}");
        }
        // Serve killed while its projectors catch up with an import the CLI wrote: what they
        // had applied, caught up the rest of the way, is exactly what a rebuild makes.
        for round in 0..rounds() {
            cli(&db.url, &["ledger", "import", f, "--household", &format!("s{round}")]);
            let serve = ["--database-url", &db.url, "serve", "--bind", "127.0.0.1:0"];
            let done = kill_at_random(&env, &serve, Duration::from_millis(2000));
            assert!(!done, "serve does not stop by itself");
            let caught_up = digests(&db.url);
            cli(&db.url, &["projections", "rebuild"]);
            assert_eq!(digests(&db.url), caught_up, "round {round}");
        }
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "chaos on {}: {} rounds each; kills before the operation finished: {mid:?}; serve killed {} times",
            db.url.split(':').next().unwrap_or_default(),
            rounds(),
            rounds()
        );
        db.remove().await;
    }
}
