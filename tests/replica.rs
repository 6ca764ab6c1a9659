//! `cairn replicate` and `cairn promote` against a real NATS JetStream: a follower keeps an exact
//! copy of the primary's log (same chain, same Merkle root), refuses writers, catches up on
//! what was relayed since, and is promoted only when it is not behind the last signed head it
//! saw the primary publish, unless forced, which records the loss. The primary's data keys
//! reach the follower too, erased ones erased.

mod common;

use common::{run_with_input, server_env, sqlite};
use serde_json::Value;

fn json(out: &str) -> Value {
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"))
}

const LEDGER: &str = "trade_date,account,account_type,action,symbol,quantity,price,fees,description\n\
    2025-01-06,Brokerage,taxable,deposit,,1,100000,0,\n\
    2025-01-07,Brokerage,taxable,buy,VTI,10,250,0,\n";

/// Two fresh stores, a primary holding smith's ledger and an empty follower, with the CLI's
/// environment naming a JetStream stream of their own.
struct Pair {
    primary: common::TestDb,
    follower: common::TestDb,
    dir: tempfile::TempDir,
    stream: String,
    env: Vec<(String, String)>,
}

impl Pair {
    async fn new(name: &str) -> Self {
        let (primary, follower) = (sqlite().await, sqlite().await);
        let dir = tempfile::tempdir().unwrap();
        let id = uuid::Uuid::now_v7().simple().to_string();
        let stream = format!("CAIRN_{}_{id}", name.to_ascii_uppercase());
        let mut env = server_env(dir.path());
        env.push(("CAIRN_NATS_STREAM".into(), stream.clone()));
        env.push(("CAIRN_NATS_SUBJECT_PREFIX".into(), format!("cairn{name}_{id}.events")));
        let csv = dir.path().join("ledger.csv");
        std::fs::write(&csv, LEDGER).unwrap();
        run_with_input(&primary.url, &env, &["ledger", "import", csv.to_str().unwrap(), "--household", "smith"], "");
        Self { primary, follower, dir, stream, env }
    }

    /// Deletes the stream and the stores.
    async fn remove(self, nats: &str) {
        let js = async_nats::jetstream::new(async_nats::connect(nats).await.unwrap());
        js.delete_stream(&self.stream).await.unwrap();
        let _ = js.delete_stream(format!("KV_{}_KEYS", self.stream)).await;
        drop(self.dir);
        self.primary.remove().await;
        self.follower.remove().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_copies_the_log_refuses_writers_and_is_promoted_only_when_nothing_is_lost() {
    let Ok(nats) = std::env::var("CAIRN_TEST_NATS_URL") else {
        common::skipped("replicate and promote", "CAIRN_TEST_NATS_URL");
        return;
    };
    let pair = Pair::new("replica").await;
    let (primary, follower, env) = (&pair.primary, &pair.follower, &pair.env);
    let cli = |url: &str, args: &[&str]| run_with_input(url, env, args, "");
    // Two clients with personal data under their own data keys; one is erased (its key
    // destroyed).
    let register = |name: &str, email: &str| {
        let args =
            ["user", "register", "--name", name, "--email", email, "--tax-id", "123-45-6789", "--household", "smith"];
        json(&cli(&primary.url, &args))["user_id"].as_str().unwrap().to_owned()
    };
    let (kept, erased) = (register("Ana Diaz", "ana@example.com"), register("Bo Li", "bo@example.com"));
    cli(&primary.url, &["user", "erase", "--user", &erased]);
    let shipped = json(&cli(&primary.url, &["relay", "--nats-url", &nats, "--once"]));
    assert!(shipped["keys_shipped"].as_u64() >= Some(2), "{shipped}");
    let replicate = |extra: &[&str]| {
        json(&cli(&primary.url, &[&["replicate", "--from-nats", &nats, "--to", &follower.url][..], extra].concat()))
    };
    let first = replicate(&[]);
    let size = json(&cli(&primary.url, &["audit", "head"]))["size"].as_u64().unwrap();
    assert_eq!((first["applied"].as_u64(), first["position"].as_u64()), (Some(size), Some(size)), "{first}");
    assert!(first["keys_applied"].as_u64() >= Some(2), "{first}");
    assert_eq!(
        json(&cli(&follower.url, &["audit", "head"]))["root"],
        json(&cli(&primary.url, &["audit", "head"]))["root"]
    );
    assert!(cli(&follower.url, &["verify"]).starts_with(&format!("ok {size} events")));
    // The follower reads the kept client's personal data with the primary's keys (and master
    // key); the erased one stays erased.
    let shown = json(&cli(&follower.url, &["user", "show", "--user", &kept]));
    assert_eq!(shown["name"].as_str(), Some("Ana Diaz"), "{shown}");
    let gone = json(&cli(&follower.url, &["user", "show", "--user", &erased]));
    assert_eq!((gone["erased"].as_bool(), gone["name"].is_null()), (Some(true), true), "{gone}");
    // Read-only: a writing command is refused; reading works.
    let out = common::cairn()
        .args(["--database-url", &follower.url, "ledger", "member", "--household", "smith", "--name", "X"])
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    assert!(!out.status.success() && common::stderr(&out).contains("read-only replica"), "{}", common::stderr(&out));
    assert!(cli(&follower.url, &["ledger", "positions", "--household", "smith"]).contains("VTI"));
    // More on the primary, relayed: the follower catches up from where it stood.
    cli(&primary.url, &["ledger", "member", "--household", "smith", "--name", "Ana", "--born", "1960-06-15"]);
    cli(&primary.url, &["relay", "--nats-url", &nats, "--once"]);
    let second = replicate(&[]);
    assert_eq!(second["applied"].as_u64(), Some(1), "{second}");
    // One more event acknowledged on the primary but never relayed, and its signed head
    // published while the follower listens: the follower is now behind an acknowledged head.
    cli(&primary.url, &["ledger", "member", "--household", "smith", "--name", "Ben", "--born", "1962-02-01"]);
    let head = cli(&primary.url, &["audit", "head"]);
    let mut child = common::cairn()
        .args(["--database-url", &primary.url, "replicate", "--from-nats", &nats, "--to", &follower.url, "--follow"])
        .args(["--metrics", "127.0.0.1:0"])
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env("RUST_LOG", "info")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let metrics = {
        use std::io::BufRead as _;
        let lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
        let addr = lines
            .map_while(Result::ok)
            .find_map(|l| l.split("addr=").nth(1).map(|a| a.split_whitespace().next().unwrap_or_default().to_owned()))
            .expect("replicate logs its metrics address");
        format!("http://{addr}/metrics")
    };
    let client = async_nats::connect(&nats).await.unwrap();
    let gauge = |text: &str, name: &str| {
        text.lines().find_map(|l| l.strip_prefix(&format!("{name} ")).map(str::to_owned)).unwrap_or_default()
    };
    let mut text = String::new();
    for _ in 0..50 {
        client.publish("cairn.audit.heads", head.trim().to_owned().into()).await.unwrap();
        client.flush().await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        text = reqwest::get(&metrics).await.unwrap().text().await.unwrap();
        if gauge(&text, "cairn_replica_behind_signed_head") == "1" {
            break;
        }
    }
    // Its lag on /metrics: caught up with the stream, one event behind the signed head.
    let head_size = json(&head)["size"].as_u64().unwrap();
    assert_eq!(gauge(&text, "cairn_replica_position"), (head_size - 1).to_string(), "{text}");
    assert_eq!(gauge(&text, "cairn_replica_lag_events"), "0", "{text}");
    assert_eq!(gauge(&text, "cairn_replica_signed_head"), head_size.to_string(), "{text}");
    assert_eq!(gauge(&text, "cairn_replica_behind_signed_head"), "1", "{text}");
    assert!(gauge(&text, "cairn_replica_lag_seconds").parse::<f64>().unwrap() > 0.0, "{text}");
    child.kill().unwrap();
    child.wait().unwrap();
    let promote = |force: bool| {
        let mut args = vec!["--database-url", &follower.url, "promote"];
        if force {
            args.push("--force");
        }
        common::cairn().args(&args).envs(env.iter().map(|(k, v)| (k, v))).output().unwrap()
    };
    let refused = promote(false);
    assert!(
        !refused.status.success() && common::stderr(&refused).contains("acknowledged and are not here"),
        "{}",
        common::stderr(&refused)
    );
    let forced = promote(true);
    assert!(forced.status.success(), "{}", common::stderr(&forced));
    let answer = json(&common::stdout(&forced));
    assert_eq!(answer["lost"]["events"].as_u64(), Some(1), "{answer}");
    // A primary now: it takes writers, and the promotion is on its log.
    cli(&follower.url, &["ledger", "member", "--household", "smith", "--name", "Cy"]);
    let tail = cli(&follower.url, &["events", "tail", "--stream", "replica-promotions"]);
    assert!(tail.contains("ReplicaPromoted"), "{tail}");
    drop(client);
    pair.remove(&nats).await;
}

/// The primary (`serve`, relaying to NATS and publishing signed heads) is killed with SIGKILL
/// after a run of acknowledged appends; its follower, caught up, is promoted: every acknowledged
/// event is there, in the same chain, and the promotion loses nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caught_up_follower_promoted_after_the_primary_is_killed_has_every_acknowledged_event() {
    let Ok(nats) = std::env::var("CAIRN_TEST_NATS_URL") else {
        common::skipped("failover after the primary is killed", "CAIRN_TEST_NATS_URL");
        return;
    };
    let pair = Pair::new("failover").await;
    let (primary, follower, env) = (&pair.primary, &pair.follower, &pair.env);
    let cli = |url: &str, args: &[&str]| run_with_input(url, env, args, "");
    let mut serve_env = env.clone();
    serve_env.push(("CAIRN_NATS_URL".into(), nats.clone()));
    let (server, _base) = common::serve(&primary.url, serve_env);
    let server = common::Kill(server);
    let follow = common::cairn()
        .args(["--database-url", &primary.url, "replicate", "--from-nats", &nats, "--to", &follower.url, "--follow"])
        .envs(env.iter().map(|(k, v)| (k, v)))
        .spawn()
        .unwrap();
    let follow = common::Kill(follow);
    // Acknowledged appends while both run.
    for n in 0..10 {
        cli(&primary.url, &["ledger", "member", "--household", "smith", "--name", &format!("M{n}")]);
    }
    let size = json(&cli(&primary.url, &["audit", "head"]))["size"].as_u64().unwrap();
    let mut held = 0;
    for _ in 0..200 {
        let out = common::cairn()
            .args(["--database-url", &follower.url, "audit", "head"])
            .envs(env.iter().map(|(k, v)| (k, v)))
            .output()
            .unwrap();
        held =
            serde_json::from_str::<Value>(common::stdout(&out).trim()).map_or(0, |h| h["size"].as_u64().unwrap_or(0));
        if held == size {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(held, size, "the follower caught up");
    // Give the primary's last head a moment to reach the follower, then kill both.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    drop(server); // SIGKILL
    drop(follow);
    let promoted = json(&cli(&follower.url, &["promote"]));
    assert_eq!((promoted["promoted"].as_bool(), promoted["lost"].is_null()), (Some(true), true), "{promoted}");
    assert_eq!(promoted["head_seen"].as_u64(), Some(size), "it saw the primary's last head: {promoted}");
    // Every acknowledged event, byte for byte in the chain.
    let events = |url: &str| -> Vec<(String, String)> {
        cli(url, &["events", "tail"])
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|e| e["stream_id"] != "replica-promotions")
            .map(|e| (e["event_id"].to_string(), e["hash"].to_string()))
            .collect()
    };
    assert_eq!(events(&follower.url), events(&primary.url));
    pair.remove(&nats).await;
}
