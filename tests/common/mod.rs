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
