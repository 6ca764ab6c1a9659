//! Shared by the store's integration tests: fresh databases for every backend this run has.

#![allow(dead_code, unreachable_pub)]

use event_store::scratch::Scratch;
use event_store::{Metadata, NewEvent, Store};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Says, past the test harness's output capture, that a test did not run here.
pub fn skipped(test: &str, variable: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "skipped: {test} ({variable} is not set)");
}

/// A fresh store, and the scratch database to remove when done.
pub struct TestDb {
    pub store: Store,
    pub scratch: Scratch,
}

impl TestDb {
    pub async fn remove(self) {
        drop(self.store);
        self.scratch.remove().await.expect("remove scratch database");
    }
}

pub async fn sqlite() -> TestDb {
    let base = format!("sqlite://{}/base.db", std::env::temp_dir().display());
    let scratch = Scratch::create(&base).await.expect("scratch sqlite");
    let store = Store::open(&scratch.url).await.expect("open sqlite");
    TestDb { store, scratch }
}

/// A fresh PostgreSQL database, or `None` (with a note) when CAIRN_TEST_DATABASE_URL is unset.
pub async fn postgres(test: &str) -> Option<TestDb> {
    let Ok(url) = std::env::var("CAIRN_TEST_DATABASE_URL") else {
        skipped(&format!("{test} on PostgreSQL"), "CAIRN_TEST_DATABASE_URL");
        return None;
    };
    let scratch = Scratch::create(&url).await.expect("create scratch postgres database");
    let store = Store::open(&scratch.url).await.expect("open postgres");
    Some(TestDb { store, scratch })
}

/// Every backend this run can reach: SQLite always, PostgreSQL when configured.
pub async fn all_backends(test: &str) -> Vec<TestDb> {
    let mut dbs = vec![sqlite().await];
    dbs.extend(postgres(test).await);
    dbs
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Noted {
    pub text: String,
    pub n: u64,
}

impl event_store::Event for Noted {
    const EVENT_TYPE: &'static str = "Noted";
    const SCHEMA_VERSION: u32 = 1;
}

pub fn noted(n: u64) -> NewEvent {
    NewEvent::from_event(
        Uuid::now_v7(),
        &Noted { text: format!("note {n}"), n },
        Metadata { actor: Some("test".into()), ..Default::default() },
    )
    .unwrap()
}

pub fn noted_batch(from: u64, count: u64) -> Vec<NewEvent> {
    (from..from + count).map(noted).collect()
}
