//! Reading through the read models, shared by the CLI's reports and the HTTP queries: catch a
//! projector up, then read one snapshot; and the audit trail, assembled once for both.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use domain::ledger::types::Trade;
use domain::ledger::{apply, Ledger, LedgerEvent};
use event_store::{codec, Direction, EventStore as _, Store, StoredEvent, StreamId, Upcasters};
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
            // A position beyond the head waits for the head: every position a client was given
            // is at most the head.
            let min_position = match self.until {
                Some(_) => min_position,
                None => min_position.min(self.store.head().await?.map_or(0, |h| h.position)),
            };
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

    /// For an as-of replay, refuses a household (its key) that had nothing recorded by the
    /// instant ([`NotYet`]): the replay would only show it empty, as if it had no ledger. A
    /// reader of the current read models accepts every household.
    pub async fn household_existed(&self, household: &str) -> anyhow::Result<()> {
        let (Some(until), Some(instant)) = (self.until, self.as_of) else { return Ok(()) };
        let stream = stream_id(&domain::streams::Stream::ledger(household)?)?;
        let first = self.store.read_stream(&stream, 1, Direction::Forwards, 1).await?.into_iter().next();
        match first {
            Some(e) if e.global_position <= until => Ok(()),
            first => Err(NotYet {
                household: domain::ledger::household_key(household),
                instant,
                first_recorded: first.map(|e| e.recorded_at),
            }
            .into()),
        }
    }
}

/// A household asked about as of an instant before its first event was recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotYet {
    pub household: String,
    pub instant: DateTime<Utc>,
    /// When its first event was recorded (`None`: nothing is recorded for it yet).
    pub first_recorded: Option<DateTime<Utc>>,
}

impl std::fmt::Display for NotYet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
        write!(f, "household {} did not exist at {} ", self.household, at(self.instant))?;
        match self.first_recorded {
            Some(first) => write!(f, "(its first event was recorded at {})", at(first)),
            None => f.write_str("(nothing has been recorded for it yet)"),
        }
    }
}

impl std::error::Error for NotYet {}

/// The store's id of a stream.
fn stream_id(stream: &domain::streams::Stream) -> anyhow::Result<StreamId> {
    Ok(StreamId::new(stream.id())?)
}

/// The positions of the events recorded in a window of instants (`from` and `to` inclusive;
/// no `from` is the log's start, no `to` its head): `(first, last)`, empty when first > last.
pub async fn window(
    store: &Store,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> anyhow::Result<(u64, u64)> {
    let first = match from {
        Some(t) => store.position_at(t - chrono::Duration::microseconds(1)).await? + 1,
        None => 1,
    };
    let last = match to {
        Some(t) => store.position_at(t).await?,
        None => store.head().await?.map_or(0, |h| h.position),
    };
    Ok((first, last))
}

/// The audit trail between positions `first` and `last`: every event of the household (its
/// ledger and its portfolios, named by the `holdings` read model behind `db`), or of the whole
/// log when `household` is `None`, in log order, as [`change_rows`]. `cairn audit changes` and
/// `GET /v1/households/{h}/events` both answer with it.
pub async fn trail(
    store: &Store,
    db: &Db,
    household: Option<&str>,
    first: u64,
    last: u64,
) -> anyhow::Result<Vec<Vec<String>>> {
    let mut events = Vec::new();
    match household {
        Some(key) => {
            let mut streams = vec![stream_id(&domain::streams::Stream::ledger(key)?)?];
            let portfolios = projections::query::records(
                db,
                &projections::holdings::PORTFOLIOS,
                &[("household", Some(key.to_owned()))],
            )
            .await?;
            for p in &portfolios {
                streams.push(stream_id(&domain::streams::Stream::portfolio(key, p.str("name"))?)?);
            }
            for stream in &streams {
                let mut version = 1;
                loop {
                    let page = store.read_stream(stream, version, Direction::Forwards, 10_000).await?;
                    let Some(end) = page.last().map(|e| e.stream_version) else { break };
                    version = end + 1;
                    events.extend(page.into_iter().filter(|e| (first..=last).contains(&e.global_position)));
                }
            }
            events.sort_by_key(|e| e.global_position);
            events.retain(|e| belongs_to(e, key));
        }
        None => {
            let mut next = first;
            while next <= last {
                let page = store.read_range(next, last, 10_000).await?;
                let Some(end) = page.last().map(|e| e.global_position) else { break };
                next = end + 1;
                events.extend(page);
            }
        }
    }
    change_rows(store, &events).await
}

/// The columns of an audit-trail row.
pub const CHANGE_COLUMNS: [&str; 9] =
    ["position", "recorded_at", "stream", "event_type", "actor", "source", "command_id", "causation_id", "summary"];

/// Whether an event is about `household` (its ledger or one of its portfolios).
pub fn belongs_to(e: &StoredEvent, household: &str) -> bool {
    domain::streams::household_of(e.stream_id.as_str()) == Some(household)
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

/// The audit trail's rows for `events` (each as [`change_row`]), with every correction
/// (`TradeCorrected`) summarized as the fields it changed, each with its value before and after
/// (`trade_id=T2 quantity 100 → 90; price 50 → 49.5 reason=…`). The value before is the row as
/// it stood just before the correction: its stream's events folded in order up to it.
pub async fn change_rows(store: &Store, events: &[StoredEvent]) -> anyhow::Result<Vec<Vec<String>>> {
    let mut corrections: BTreeMap<&str, BTreeSet<u64>> = BTreeMap::new();
    for e in events.iter().filter(|e| e.event_type == "TradeCorrected") {
        corrections.entry(e.stream_id.as_str()).or_default().insert(e.stream_version);
    }
    let upcasters = Upcasters::new();
    let decode = |e: &StoredEvent| -> anyhow::Result<LedgerEvent> {
        Ok(upcasters.decode_versioned(e, domain::ledger::SCHEMA_VERSION)?)
    };
    // (stream, version of the correction) → the row it replaced.
    let mut replaced: HashMap<(&str, u64), Trade> = HashMap::new();
    for (stream, versions) in &corrections {
        let last = versions.last().copied().unwrap_or_default();
        let id = StreamId::new(*stream)?;
        let mut ledger = Ledger::default();
        let mut next = 1;
        while next <= last {
            let page = store.read_stream(&id, next, Direction::Forwards, 1_000).await?;
            let Some(end) = page.last().map(|e| e.stream_version) else { break };
            next = end + 1;
            for e in page.iter().take_while(|e| e.stream_version <= last) {
                let event = decode(e)?;
                if let LedgerEvent::TradeCorrected { trade, .. } = &event {
                    let before = ledger.trades.iter().find(|t| t.trade_id == trade.trade_id);
                    if let (true, Some(before)) = (versions.contains(&e.stream_version), before) {
                        replaced.insert((*stream, e.stream_version), before.clone());
                    }
                }
                ledger = apply(ledger, event);
            }
        }
    }
    events
        .iter()
        .map(|e| -> anyhow::Result<Vec<String>> {
            let mut row = change_row(e);
            if let Some(before) = replaced.get(&(e.stream_id.as_str(), e.stream_version)) {
                if let LedgerEvent::TradeCorrected { trade, reason } = decode(e)? {
                    row[CHANGE_COLUMNS.len() - 1] = correction_summary(before, &trade, &reason);
                }
            }
            Ok(row)
        })
        .collect()
}

/// A row's fields in the order [`Trade`] declares them, for listing what a correction changed
/// (any other field, such as `row_id`, is listed after these, by name).
const TRADE_FIELDS: [&str; 26] = [
    "trade_id",
    "account",
    "action",
    "symbol",
    "quantity",
    "price",
    "fees",
    "commission",
    "sec_fee",
    "taf_fee",
    "cusip",
    "isin",
    "currency",
    "fx_rate",
    "trade_date",
    "settlement_date",
    "lot_method",
    "lot_ids",
    "ratio",
    "new_symbol",
    "fmv",
    "allocation",
    "counterpart",
    "description",
    "source_line",
    "order_id",
];

/// `trade_id=T2 quantity 100 → 90; price 50 → 49.5 reason=…`: each field whose value differs,
/// before → after (`none` where a field has no value).
pub fn correction_summary(before: &Trade, after: &Trade, reason: &str) -> String {
    let fields = |t: &Trade| match serde_json::to_value(t) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    let (old, new) = (fields(before), fields(after));
    let shown = |v: Option<&serde_json::Value>| match v {
        None | Some(serde_json::Value::Null) => "none".to_owned(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Array(items)) if items.is_empty() => "none".to_owned(),
        Some(serde_json::Value::Array(items)) => {
            items.iter().map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned)).collect::<Vec<_>>().join(",")
        }
        Some(v) => v.to_string(),
    };
    let mut names: Vec<&str> = TRADE_FIELDS.to_vec();
    let others: BTreeSet<&str> =
        old.keys().chain(new.keys()).map(String::as_str).filter(|k| !TRADE_FIELDS.contains(k)).collect();
    names.extend(others);
    let changes: Vec<String> = names
        .into_iter()
        .filter(|k| old.get(*k) != new.get(*k))
        .map(|k| format!("{k} {} → {}", shown(old.get(k)), shown(new.get(k))))
        .collect();
    let changes = if changes.is_empty() { "no field changed".to_owned() } else { changes.join("; ") };
    format!("trade_id={} {changes} reason={reason}", after.trade_id)
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

#[cfg(test)]
mod tests {
    use super::*;
    use domain::ledger::types::{Action, LotMethod, Ratio};
    use rust_decimal::Decimal;

    fn trade() -> Trade {
        let day = chrono::NaiveDate::from_ymd_opt(2025, 3, 3).unwrap();
        Trade {
            trade_id: "T2".into(),
            account: "Brokerage".into(),
            action: Action::Sell,
            symbol: Some("M".into()),
            quantity: Decimal::from(100),
            price: Decimal::from(50),
            fees: Decimal::ZERO,
            commission: Decimal::ONE,
            sec_fee: Decimal::ONE,
            taf_fee: Decimal::ONE,
            cusip: Some("037833100".into()),
            isin: Some("US0378331005".into()),
            currency: None,
            fx_rate: None,
            trade_date: day,
            settlement_date: day,
            lot_method: Some(LotMethod::Fifo),
            lot_ids: vec!["T1".into()],
            ratio: Some("2:1".parse::<Ratio>().unwrap()),
            new_symbol: Some("N".into()),
            fmv: Some(Decimal::ONE),
            allocation: Some(Decimal::ONE),
            counterpart: Some("T3".into()),
            description: Some("x".into()),
            source_line: Some(3),
            order_id: Some("o".into()),
            row_id: Some("id:7".into()),
        }
    }

    #[test]
    fn a_correction_lists_each_changed_field_before_and_after_in_field_order() {
        let before = trade();
        let mut after = before.clone();
        after.price = "49.5".parse().unwrap();
        after.quantity = Decimal::from(90);
        after.description = None;
        assert_eq!(
            correction_summary(&before, &after, "broker confirm"),
            "trade_id=T2 quantity 100 → 90; price 50 → 49.5; description x → none reason=broker confirm"
        );
        assert_eq!(correction_summary(&before, &before, "r"), "trade_id=T2 no field changed reason=r");
    }

    #[test]
    fn every_field_of_a_row_has_its_place() {
        let serde_json::Value::Object(fields) = serde_json::to_value(trade()).unwrap() else { panic!() };
        let missing: Vec<&String> = fields.keys().filter(|k| !TRADE_FIELDS.contains(&k.as_str())).collect();
        assert_eq!(missing, ["row_id"], "only the row identity is listed after the others");
    }
}
