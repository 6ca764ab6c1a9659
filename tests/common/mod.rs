//! Helpers for the end-to-end tests: fresh databases and a way to run the real `cairn` binary.

#![allow(dead_code, unreachable_pub)]

use std::process::{Command, Output};

use event_store::scratch::Scratch;
use event_store::{EventStore, ExpectedVersion, Metadata, NewEvent, Store, StreamId};
use uuid::Uuid;

/// The `cairn` binary cargo built for these tests.
pub fn cairn() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cairn"));
    c.env_remove("CAIRN_DATABASE_URL").env_remove("CAIRN_NATS_URL").env("RUST_LOG", "warn");
    // Keys go to a folder of this test process, never into the source tree (a test that names
    // its own master key file overrides this).
    let keys = std::env::temp_dir().join(format!("cairn-test-keys-{}", std::process::id()));
    c.env("CAIRN_MASTER_KEY_FILE", keys.join("master.key")).env_remove("CAIRN_JWT_KEY_FILE");
    c
}

/// Runs `cairn` against `url` with `args`.
pub fn run(url: &str, args: &[&str]) -> Output {
    cairn().arg("--database-url").arg(url).args(args).output().expect("run cairn")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A fresh database: its URL, an open store on it, and the scratch handle to remove it.
pub struct TestDb {
    pub url: String,
    pub store: Store,
    scratch: Scratch,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    pub async fn remove(self) {
        drop(self.store);
        self.scratch.remove().await.expect("remove scratch database");
    }
}

pub async fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().unwrap();
    let scratch = Scratch::create(&format!("sqlite://{}/cairn.db", dir.path().display())).await.unwrap();
    let store = Store::open(&scratch.url).await.unwrap();
    TestDb { url: scratch.url.clone(), store, scratch, _dir: Some(dir) }
}

pub async fn postgres(test: &str) -> Option<TestDb> {
    let Ok(url) = std::env::var("CAIRN_TEST_DATABASE_URL") else {
        skipped(&format!("{test} on PostgreSQL"), "CAIRN_TEST_DATABASE_URL");
        return None;
    };
    let scratch = Scratch::create(&url).await.unwrap();
    let store = Store::open(&scratch.url).await.unwrap();
    Some(TestDb { url: scratch.url.clone(), store, scratch, _dir: None })
}

pub async fn all_backends(test: &str) -> Vec<TestDb> {
    let mut v = vec![sqlite().await];
    v.extend(postgres(test).await);
    v
}

/// Appends `n` small events to `stream` and returns the last position.
pub async fn append(store: &Store, stream: &str, n: u64) -> u64 {
    let events: Vec<NewEvent> = (0..n)
        .map(|i| NewEvent {
            event_id: Uuid::now_v7(),
            event_type: "Noted".into(),
            schema_version: 1,
            payload: event_store::codec::to_msgpack(&serde_json::json!({ "n": i })).unwrap(),
            metadata: Metadata { actor: Some("e2e".into()), ..Default::default() },
        })
        .collect();
    store.append(&StreamId::new(stream).unwrap(), ExpectedVersion::Any, &events).await.unwrap().last_position
}

/// Says, past the test harness's output capture, that a test did not run here.
pub fn skipped(test: &str, variable: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "skipped: {test} ({variable} is not set)");
}

/// Settings for a server and CLI in a test's folder: keys there, and cheap password hashing
/// (the Argon2 defaults are for production).
pub fn server_env(dir: &std::path::Path) -> Vec<(String, String)> {
    vec![
        ("CAIRN_MASTER_KEY_FILE".into(), dir.join("master.key").display().to_string()),
        ("CAIRN_ARGON2_MEMORY_KIB".into(), "1024".into()),
        ("CAIRN_ARGON2_ITERATIONS".into(), "1".into()),
        ("CAIRN_ARGON2_PARALLELISM".into(), "1".into()),
    ]
}

/// Starts `cairn serve` on a free port against `url` with `env`, and returns the child and
/// its base URL (read from the log line naming its address). The server's errors are shown
/// with a failing test's output.
pub fn serve<K, V>(url: &str, env: impl IntoIterator<Item = (K, V)>) -> (std::process::Child, String)
where
    K: AsRef<std::ffi::OsStr>,
    V: AsRef<std::ffi::OsStr>,
{
    use std::io::{BufRead, BufReader};
    let mut child = cairn()
        .args(["--database-url", url, "serve", "--bind", "127.0.0.1:0"])
        .envs(env)
        .env("RUST_LOG", "info")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let err = BufReader::new(child.stderr.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in err.lines().map_while(Result::ok) {
            if line.contains("ERROR") || line.contains("projector failed") {
                eprintln!("server: {line}");
            }
            if let Some(addr) = line.split("addr=").nth(1) {
                let _ = tx.send(addr.split_whitespace().next().unwrap_or_default().to_owned());
            }
        }
    });
    let addr = rx.recv_timeout(std::time::Duration::from_secs(60)).expect("cairn serve reports its address");
    (child, format!("http://{addr}"))
}

/// A child process (a `cairn serve`) killed and reaped when dropped, so a test that fails
/// half-way leaves no server behind.
pub struct Kill(pub std::process::Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `command` with `stdin` fed to it, and its output.
pub fn with_input(mut command: Command, stdin: &str) -> Output {
    use std::io::Write as _;
    use std::process::Stdio;
    let mut child = command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

/// Runs `cairn` against `url` with `env`, feeding `stdin`; asserts success and returns stdout.
/// `cairn audit changes` of every event of `household`'s ledger and portfolios, as CSV.
pub fn household_changes(url: &str, env: &[(String, String)], household: &str) -> String {
    let args = ["audit", "changes", "--from", "2000-01-01", "--to", "2999-01-01", "--household", household];
    run_with_input(url, env, &[&args[..], &["--format", "csv"]].concat(), "")
}

pub fn run_with_input(url: &str, env: &[(String, String)], args: &[&str], stdin: &str) -> String {
    let mut command = cairn();
    command.arg("--database-url").arg(url).args(args).envs(env.iter().map(|(k, v)| (k, v)));
    let out = with_input(command, stdin);
    assert!(out.status.success(), "cairn {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    stdout(&out)
}

/// Registers a client user with `password` (before the server starts, with the CLI) and
/// returns its id.
pub fn register(
    url: &str,
    env: &[(String, String)],
    name: &str,
    email: &str,
    household: &str,
    password: &str,
) -> String {
    let out =
        run_with_input(url, env, &["user", "register", "--name", name, "--email", email, "--household", household], "");
    let id = serde_json::from_str::<serde_json::Value>(out.trim()).unwrap()["user_id"].as_str().unwrap().to_owned();
    run_with_input(url, env, &["user", "password", "--user", &id], &format!("{password}\n"));
    id
}

/// Signs in at the server `base` and returns the access token.
pub async fn login(base: &str, email: &str, password: &str) -> String {
    let login: serde_json::Value = reqwest::Client::new()
        .post(format!("{base}/v1/auth/login"))
        .json(&serde_json::json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    login["access_token"].as_str().unwrap_or_else(|| panic!("{login}")).to_owned()
}

/// Serves `app` (a vendor's replica) on a free port of 127.0.0.1 and returns its base URL.
pub async fn replica(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}
