//! Reading through the read models, shared by the CLI's reports and the HTTP queries: catch a
//! projector up, then read one snapshot.

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use event_store::{codec, EventStore as _, Store, StoredEvent};
use projections::db::Db;
use projections::{Runner, Source};

/// Where reports read from: the read models in the store's own database, caught up to its head,
/// or (for an auditor's as-of replay) a temporary SQLite file holding the projection of the
/// events recorded up to an instant.
pub struct Reader {
    pub store: Store,
    /// Where queries run: after [`Reader::ready`], one read snapshot of the read models.
    pub db: Db,
    /// Where projectors run.
    base: Db,
    until: Option<u64>,
    as_of: Option<DateTime<Utc>>,
    /// The folder of an as-of replay's temporary database, removed with the reader.
    _scratch: Option<tempfile::TempDir>,
}

impl Reader {
    pub async fn open(store: Store, url: &str) -> anyhow::Result<Self> {
        let db = Db::open(url, false).await?;
        Ok(Self { store, db: db.clone(), base: db, until: None, as_of: None, _scratch: None })
    }

    /// A reader over an open database (the server's).
    pub fn with_db(store: Store, db: Db) -> Self {
        Self { store, db: db.clone(), base: db, until: None, as_of: None, _scratch: None }
    }

    /// Pins one read snapshot and returns the position its rows of `name` reflect, catching
    /// the projector up first only when it is behind `min_position` (the server's projectors
    /// follow the log on their own; a client that just wrote at position N asks for N).
    /// The status is read in the snapshot: its checkpoint is the position the rows reflect,
    /// its generation the tables in service.
    ///
    /// `follower` is how long a projector following the log (serve's) gets to reach
    /// `min_position` before this reader catches it up itself (which would race it).
    pub async fn at_least(
        &mut self,
        name: &str,
        min_position: u64,
        follower: std::time::Duration,
    ) -> anyhow::Result<projections::Status> {
        if self.until.is_some() || min_position > 0 {
            let inspect = Runner::inspect(self.base.clone(), projections::by_name(name)?);
            let give_up = std::time::Instant::now() + follower;
            let mut checkpoint = inspect.status(None).await?.checkpoint;
            while self.until.is_none() && checkpoint < min_position && std::time::Instant::now() < give_up {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                checkpoint = inspect.status(None).await?.checkpoint;
            }
            if self.until.is_some() || checkpoint < min_position {
                self.ready(name).await?;
                return Ok(Runner::inspect(self.db.clone(), projections::by_name(name)?).status(None).await?);
            }
        }
        self.db = self.base.pinned().await?;
        Ok(Runner::inspect(self.db.clone(), projections::by_name(name)?).status(None).await?)
    }

    /// The ledger as it stood at `instant`: every event recorded at or before it, replayed into
    /// a temporary projection.
    pub async fn as_of(store: Store, instant: DateTime<Utc>) -> anyhow::Result<Self> {
        let until = store.position_at(instant).await?;
        let dir = tempfile::tempdir().context("cannot create a temporary folder for the replay")?;
        let db = Db::open(&format!("sqlite://{}/as-of.db", dir.path().display()), true).await?;
        Ok(Self { store, db: db.clone(), base: db, until: Some(until), as_of: Some(instant), _scratch: Some(dir) })
    }

    /// Catches the named projector up (to the head, or to the as-of cut), then pins one read
    /// snapshot for the report's queries and returns the last global position its rows reflect
    /// (read in that snapshot, so a projector writing meanwhile cannot make them disagree).
    pub async fn ready(&mut self, name: &str) -> anyhow::Result<u64> {
        let mut runner = Runner::open(self.base.clone(), projections::by_name(name)?).await?;
        let mut source = Source::Store { store: self.store.clone(), until: self.until };
        runner.catch_up(&mut source, &mut |_| {}).await?;
        self.db = self.base.pinned().await?;
        Ok(Runner::inspect(self.db.clone(), projections::by_name(name)?).status(None).await?.checkpoint)
    }

    /// The instant of an as-of replay.
    pub fn instant(&self) -> Option<DateTime<Utc>> {
        self.as_of
    }
}

/// The columns of an audit-trail row.
pub const CHANGE_COLUMNS: [&str; 9] =
    ["position", "recorded_at", "stream", "event_type", "actor", "source", "command_id", "causation_id", "summary"];

/// Whether an event is about `household` (its ledger or one of its portfolios).
pub fn belongs_to(e: &StoredEvent, household: &str) -> bool {
    let id = e.stream_id.as_str();
    id.strip_prefix("ledger-") == Some(household)
        || id.strip_prefix("portfolio-").and_then(|r| r.split_once("--")).map(|(h, _)| h) == Some(household)
}

/// An event as a row of the audit trail ([`CHANGE_COLUMNS`]).
pub fn change_row(e: &StoredEvent) -> Vec<String> {
    let meta = e.metadata().unwrap_or_default();
    let uuid = |u: Option<uuid::Uuid>| u.map(|u| u.to_string()).unwrap_or_default();
    vec![
        e.global_position.to_string(),
        e.recorded_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        e.stream_id.to_string(),
        e.event_type.clone(),
        meta.actor.unwrap_or_default(),
        meta.source.unwrap_or_default(),
        uuid(meta.command_id),
        uuid(meta.causation_id),
        summary(e),
    ]
}

/// A one-line summary of an event: its scalar fields, `name=value`, in payload order, without
/// sealed (binary) personal data.
pub fn summary(e: &StoredEvent) -> String {
    let json = codec::to_json(e);
    let payload = &json["payload"];
    // Externally tagged enums put the fields one level down, under the type's name.
    let fields = match payload.as_object() {
        Some(o) if o.len() == 1 && o.contains_key(&e.event_type) => &o[&e.event_type],
        _ => payload,
    };
    let mut parts = Vec::new();
    let mut add = |k: &str, v: &serde_json::Value| match v {
        serde_json::Value::String(s) => parts.push(format!("{k}={s}")),
        serde_json::Value::Number(n) => parts.push(format!("{k}={n}")),
        serde_json::Value::Bool(b) => parts.push(format!("{k}={b}")),
        _ => {}
    };
    match fields {
        serde_json::Value::Object(o) => {
            for (k, v) in o {
                match v {
                    serde_json::Value::Object(inner) => inner.iter().for_each(|(k2, v2)| add(k2, v2)),
                    v => add(k, v),
                }
            }
        }
        v => add("value", v),
    }
    parts.join(" ")
}
