//! The store's contract, checked on SQLite and (when configured) PostgreSQL.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::{all_backends, noted, noted_batch, Noted};
use event_store::{Direction, EventStore, ExpectedVersion, Metadata, NewEvent, Store, StoreError, StreamId, Upcasters};
use uuid::Uuid;

fn stream(s: &str) -> StreamId {
    StreamId::new(s).unwrap()
}

/// Runs raw SQL against the store's database, as an administrator with direct access would.
async fn raw_sql(store: &Store, url: &str, sql: &str) -> Result<(), sqlx::Error> {
    use sqlx::Connection;
    match store {
        Store::Sqlite(_) => {
            let mut c = sqlx::SqliteConnection::connect(url).await?;
            sqlx::raw_sql(sql).execute(&mut c).await?;
        }
        Store::Postgres(_) => {
            let mut c = sqlx::PgConnection::connect(url).await?;
            sqlx::raw_sql(sql).execute(&mut c).await?;
        }
    }
    Ok(())
}

#[tokio::test]
async fn appended_events_read_back_forwards_and_backwards_with_versions_and_positions() {
    for db in all_backends("read_stream").await {
        let s = &db.store;
        let a = stream("ledger-a");
        let r = s.append(&a, ExpectedVersion::NoStream, &noted_batch(1, 3)).await.unwrap();
        assert_eq!((r.first_position, r.last_position, r.stream_version), (1, 3, 3));
        s.append(&stream("ledger-b"), ExpectedVersion::Any, &noted_batch(10, 1)).await.unwrap();
        let r = s.append(&a, ExpectedVersion::Exact(3), &noted_batch(4, 2)).await.unwrap();
        assert_eq!((r.first_position, r.last_position, r.stream_version), (5, 6, 5));

        let fwd = s.read_stream(&a, 2, Direction::Forwards, 10).await.unwrap();
        assert_eq!(fwd.iter().map(|e| e.stream_version).collect::<Vec<_>>(), vec![2, 3, 4, 5]);
        assert_eq!(fwd.iter().map(|e| e.global_position).collect::<Vec<_>>(), vec![2, 3, 5, 6]);
        let back = s.read_stream(&a, u64::MAX, Direction::Backwards, 2).await.unwrap();
        assert_eq!(back.iter().map(|e| e.stream_version).collect::<Vec<_>>(), vec![5, 4]);

        let all = s.read_all(3, 2).await.unwrap();
        assert_eq!(all.iter().map(|e| e.global_position).collect::<Vec<_>>(), vec![3, 4]);
        assert_eq!(all[1].stream_id.as_str(), "ledger-b");
        let decoded: Noted = Upcasters::new().decode(&all[0]).unwrap();
        assert_eq!(decoded, Noted { text: "note 3".into(), n: 3 });
        assert_eq!(all[0].metadata().unwrap().actor.as_deref(), Some("test"));
        assert_eq!(s.stream_version(&a).await.unwrap(), 5);
        assert_eq!(s.head().await.unwrap().unwrap().position, 6);
        db.remove().await;
    }
}

#[tokio::test]
async fn many_streams_read_back_in_one_call_each_from_its_own_version() {
    // A file's log (read in one transaction), PostgreSQL (one statement), and a log in memory
    // (read stream by stream).
    let memory = Store::open("sqlite::memory:").await.unwrap();
    let dbs = all_backends("read_streams").await;
    for s in dbs.iter().map(|db| &db.store).chain([&memory]) {
        s.append(&stream("alerts-a"), ExpectedVersion::NoStream, &noted_batch(1, 3)).await.unwrap();
        s.append(&stream("alerts-b"), ExpectedVersion::NoStream, &noted_batch(10, 2)).await.unwrap();
        s.append(&stream("alerts-a"), ExpectedVersion::Exact(3), &noted_batch(4, 1)).await.unwrap();
        let asked = [
            (stream("alerts-b"), 1),
            (stream("alerts-a"), 3),
            (stream("alerts-none"), 1),
            (stream("alerts-a"), 5),
            (stream("alerts-a"), 1),
        ];
        let read = s.read_streams(&asked).await.unwrap();
        let versions: Vec<Vec<u64>> = read.iter().map(|es| es.iter().map(|e| e.stream_version).collect()).collect();
        assert_eq!(versions, vec![vec![1, 2], vec![3, 4], vec![], vec![], vec![1, 2, 3, 4]], "in the order asked");
        assert!(read[0].iter().all(|e| e.stream_id.as_str() == "alerts-b"));
        // Exactly what reading each stream gives.
        let one = s.read_stream(&stream("alerts-a"), 3, Direction::Forwards, 10).await.unwrap();
        assert_eq!(read[1], one);
        assert!(s.read_streams(&[]).await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn a_wrong_expected_version_is_a_conflict_and_writes_nothing() {
    for db in all_backends("conflict").await {
        let s = &db.store;
        let a = stream("portfolio-1");
        s.append(&a, ExpectedVersion::NoStream, &noted_batch(1, 2)).await.unwrap();
        let err = s.append(&a, ExpectedVersion::Exact(1), &noted_batch(3, 5)).await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict { actual: 2, .. }), "{err}");
        let err = s.append(&a, ExpectedVersion::NoStream, &noted_batch(3, 1)).await.unwrap_err();
        assert!(err.is_conflict());
        assert_eq!(s.head().await.unwrap().unwrap().position, 2);
        assert_eq!(s.metrics().conflicts.load(std::sync::atomic::Ordering::Relaxed), 2);
        db.remove().await;
    }
}

#[tokio::test]
async fn reappending_the_same_event_ids_returns_the_original_result_without_duplicates() {
    for db in all_backends("idempotency").await {
        let s = &db.store;
        let a = stream("ledger-x");
        let batch = noted_batch(1, 3);
        let first = s.append(&a, ExpectedVersion::NoStream, &batch).await.unwrap();
        s.append(&a, ExpectedVersion::Exact(3), &noted_batch(4, 1)).await.unwrap();
        // A retry with the original expectation (now stale) and one with `Any` both replay.
        for expected in [ExpectedVersion::NoStream, ExpectedVersion::Any] {
            let again = s.append(&a, expected, &batch).await.unwrap();
            assert!(again.idempotent_replay);
            assert_eq!((again.first_position, again.last_position, again.stream_version), (1, 3, 3));
            assert_eq!(first.last_position, again.last_position);
        }
        assert_eq!(s.head().await.unwrap().unwrap().position, 4);
        db.remove().await;
    }
}

#[tokio::test]
async fn the_same_event_id_with_different_content_is_an_error() {
    for db in all_backends("idempotency mismatch").await {
        let s = &db.store;
        let a = stream("ledger-x");
        let original = noted(1);
        s.append(&a, ExpectedVersion::Any, std::slice::from_ref(&original)).await.unwrap();
        let mut altered = noted(2);
        altered.event_id = original.event_id;
        let err = s.append(&a, ExpectedVersion::Any, &[altered]).await.unwrap_err();
        assert!(matches!(err, StoreError::IdempotencyMismatch { event_id, .. } if event_id == original.event_id));
        // The same id in another stream is refused too.
        let err =
            s.append(&stream("ledger-y"), ExpectedVersion::Any, std::slice::from_ref(&original)).await.unwrap_err();
        assert!(matches!(err, StoreError::IdempotencyMismatch { .. }), "{err}");
        // A batch mixing a stored id with new ones is refused, and writes none of it.
        let err = s.append(&a, ExpectedVersion::Any, &[original, noted(3)]).await.unwrap_err();
        assert!(matches!(err, StoreError::IdempotencyMismatch { .. }), "{err}");
        assert_eq!(s.head().await.unwrap().unwrap().position, 1);
        db.remove().await;
    }
}

#[tokio::test]
async fn invalid_appends_are_refused_before_anything_is_written() {
    for db in all_backends("invalid appends").await {
        let s = &db.store;
        let a = stream("ledger-x");
        assert!(matches!(s.append(&a, ExpectedVersion::Any, &[]).await, Err(StoreError::InvalidAppend(_))));
        let e = noted(1);
        assert!(matches!(s.append(&a, ExpectedVersion::Any, &[e.clone(), e]).await, Err(StoreError::InvalidAppend(_))));
        assert!(s.head().await.unwrap().is_none());
        db.remove().await;
    }
}

#[tokio::test]
async fn the_database_refuses_update_and_delete_on_the_event_table() {
    for db in all_backends("append-only triggers").await {
        let s = &db.store;
        s.append(&stream("ledger-a"), ExpectedVersion::Any, &noted_batch(1, 2)).await.unwrap();
        for sql in [
            "UPDATE events SET event_type = 'Forged' WHERE global_position = 1",
            "DELETE FROM events WHERE global_position = 2",
        ] {
            let err = raw_sql(s, &db.scratch.url, sql).await.expect_err(sql);
            assert!(err.to_string().contains("append-only"), "{sql}: {err}");
        }
        if matches!(s, Store::Postgres(_)) {
            let err = raw_sql(s, &db.scratch.url, "TRUNCATE events").await.unwrap_err();
            assert!(err.to_string().contains("append-only"), "{err}");
        }
        assert_eq!(s.read_all(1, 10).await.unwrap().len(), 2);
        assert_eq!(s.verify().await.unwrap().broken, None);
        db.remove().await;
    }
}

#[tokio::test]
async fn verify_names_the_first_altered_position() {
    for db in all_backends("verify tampering").await {
        let s = &db.store;
        s.append(&stream("ledger-a"), ExpectedVersion::Any, &noted_batch(1, 5)).await.unwrap();
        let v = s.verify().await.unwrap();
        assert_eq!((v.checked, v.broken), (5, None));
        // Someone with database superuser rights bypasses the trigger and edits a payload.
        let sql = match s {
            Store::Sqlite(_) => {
                "DROP TRIGGER events_refuse_update; UPDATE events SET payload = x'80' WHERE global_position = 3"
            }
            Store::Postgres(_) => {
                "ALTER TABLE events DISABLE TRIGGER events_refuse_update_delete; \
                 UPDATE events SET payload = '\\x80' WHERE global_position = 3"
            }
        };
        raw_sql(s, &db.scratch.url, sql).await.unwrap();
        let v = s.verify().await.unwrap();
        assert_eq!(v.checked, 2);
        assert_eq!(v.broken.unwrap().position(), 3);
        db.remove().await;
    }
}

#[tokio::test]
async fn read_all_until_returns_the_log_as_it_stood_at_an_instant() {
    for db in all_backends("as-of reads").await {
        let s = &db.store;
        s.append(&stream("ledger-a"), ExpectedVersion::Any, &noted_batch(1, 3)).await.unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
        let cutoff = chrono::Utc::now();
        tokio::time::sleep(Duration::from_millis(5)).await;
        s.append(&stream("ledger-a"), ExpectedVersion::Any, &noted_batch(4, 2)).await.unwrap();
        let before = s.read_all_until(1, 100, cutoff).await.unwrap();
        assert_eq!(before.iter().map(|e| e.global_position).collect::<Vec<_>>(), vec![1, 2, 3]);
        assert!(before.iter().all(|e| e.recorded_at <= cutoff));
        assert_eq!(s.read_all_until(2, 1, cutoff).await.unwrap()[0].global_position, 2);
        assert!(s.read_all_until(4, 100, cutoff).await.unwrap().is_empty());
        assert_eq!(s.position_at(chrono::Utc::now()).await.unwrap(), 5);
        assert_eq!(s.position_at(cutoff - chrono::Duration::days(1)).await.unwrap(), 0);
        db.remove().await;
    }
}

#[tokio::test]
async fn a_subscription_catches_up_then_receives_new_commits_live() {
    for db in all_backends("subscription").await {
        let s = db.store.clone();
        s.append(&stream("ledger-a"), ExpectedVersion::Any, &noted_batch(1, 3)).await.unwrap();
        let mut sub = s.subscribe(2);
        assert_eq!(sub.next().await.unwrap().global_position, 2);
        assert_eq!(sub.next().await.unwrap().global_position, 3);
        let writer = tokio::spawn({
            let s = s.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(50)).await;
                s.append(&stream("ledger-b"), ExpectedVersion::Any, &noted_batch(4, 2)).await.unwrap();
            }
        });
        // Well under SQLite's one-second fallback tick: the in-process notification wakes it.
        let next = tokio::time::timeout(Duration::from_millis(900), sub.next()).await.expect("live event").unwrap();
        assert_eq!((next.global_position, next.stream_id.as_str()), (4, "ledger-b"));
        assert_eq!(sub.next().await.unwrap().global_position, 5);
        writer.await.unwrap();
        db.remove().await;
    }
}

#[tokio::test]
async fn concurrent_writers_with_the_same_expected_version_are_serialised_one_wins() {
    for db in all_backends("optimistic lock").await {
        let s = &db.store;
        let a = stream("portfolio-9");
        s.append(&a, ExpectedVersion::NoStream, &noted_batch(1, 1)).await.unwrap();
        let tries = (0..6).map(|i| {
            let s = s.clone();
            let a = a.clone();
            tokio::spawn(async move { s.append(&a, ExpectedVersion::Exact(1), &noted_batch(10 + i, 1)).await })
        });
        let mut won = 0;
        for t in tries {
            match t.await.unwrap() {
                Ok(_) => won += 1,
                Err(e) => assert!(e.is_conflict(), "{e}"),
            }
        }
        assert_eq!(won, 1);
        assert_eq!(s.stream_version(&a).await.unwrap(), 2);
        db.remove().await;
    }
}

/// The ordering invariant (DESIGN.md): 8 writers append 1,000 events each, in small batches,
/// to shared and private streams while a live subscriber runs. The subscriber must see every
/// position exactly once, in order, with no gap, and every appended event.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_live_subscriber_sees_every_position_once_in_order_under_concurrent_writers() {
    const WRITERS: u64 = 8;
    const PER_WRITER: u64 = 1_000;
    for db in all_backends("ordering invariant").await {
        let s = db.store.clone();
        let total = WRITERS * PER_WRITER;
        let reader = tokio::spawn({
            let mut sub = s.subscribe(1);
            async move {
                let mut seen = Vec::with_capacity(total as usize);
                while (seen.len() as u64) < total {
                    for e in sub.next_batch(500).await.unwrap() {
                        seen.push((e.global_position, e.event_id));
                    }
                }
                seen
            }
        });
        let mut writers = Vec::new();
        for w in 0..WRITERS {
            let s = s.clone();
            writers.push(tokio::spawn(async move {
                let mut ids = Vec::new();
                let mut written = 0;
                let mut i = 0u64;
                while written < PER_WRITER {
                    // Batches of 1 to 3; every third batch goes to a stream all writers share.
                    let n = (1 + (w + i) % 3).min(PER_WRITER - written);
                    let target = if i % 3 == 0 { format!("shared-{}", i % 2) } else { format!("own-{w}") };
                    let batch = noted_batch(w * 100_000 + written, n);
                    ids.extend(batch.iter().map(|e| e.event_id));
                    s.append(&stream(&target), ExpectedVersion::Any, &batch).await.unwrap();
                    written += n;
                    i += 1;
                }
                ids
            }));
        }
        let mut appended = HashSet::new();
        for w in writers {
            appended.extend(w.await.unwrap());
        }
        let seen = tokio::time::timeout(Duration::from_secs(120), reader).await.expect("subscriber finished").unwrap();
        let positions: Vec<u64> = seen.iter().map(|(p, _)| *p).collect();
        assert_eq!(positions, (1..=total).collect::<Vec<_>>(), "every position once, in order, no gap");
        let seen_ids: HashSet<Uuid> = seen.iter().map(|(_, id)| *id).collect();
        assert_eq!(seen_ids, appended);
        assert_eq!(s.verify().await.unwrap().broken, None);
        db.remove().await;
    }
}

/// Version 1 of `TradeNoted` stored `qty` and `px` as strings and had no currency. This is a
/// payload exactly as the version-1 code wrote it (MessagePack, named fields).
const TRADE_NOTED_V1: &str = "83a673796d626f6ca3565449a3717479a23130a27078a63235302e3530";

#[derive(Debug, PartialEq, serde::Deserialize, serde::Serialize)]
struct TradeNotedV2 {
    symbol: String,
    quantity: String,
    price: String,
    currency: String,
}

impl event_store::Event for TradeNotedV2 {
    const EVENT_TYPE: &'static str = "TradeNoted";
    const SCHEMA_VERSION: u32 = 2;
}

#[tokio::test]
async fn an_old_payload_is_upcast_on_read_without_rewriting_history() {
    for db in all_backends("upcasting").await {
        let s = &db.store;
        let old = NewEvent {
            event_id: Uuid::now_v7(),
            event_type: "TradeNoted".into(),
            schema_version: 1,
            payload: hex::decode(TRADE_NOTED_V1).unwrap(),
            metadata: Metadata::default(),
        };
        s.append(&stream("ledger-u"), ExpectedVersion::Any, &[old]).await.unwrap();
        let stored = &s.read_all(1, 1).await.unwrap()[0];
        assert_eq!(stored.schema_version, 1);

        let mut upcasters = Upcasters::new();
        assert!(upcasters.decode::<TradeNotedV2>(stored).is_err(), "no step registered yet");
        upcasters.register("TradeNoted", 1, |mut v| {
            let o = v.as_object_mut().ok_or("not a map")?;
            let qty = o.remove("qty").ok_or("qty missing")?;
            let px = o.remove("px").ok_or("px missing")?;
            o.insert("quantity".into(), qty);
            o.insert("price".into(), px);
            o.insert("currency".into(), "USD".into());
            Ok(v)
        });
        let trade: TradeNotedV2 = upcasters.decode(stored).unwrap();
        assert_eq!(
            trade,
            TradeNotedV2 {
                symbol: "VTI".into(),
                quantity: "10".into(),
                price: "250.50".into(),
                currency: "USD".into()
            }
        );
        // The stored bytes are untouched, and the chain still verifies.
        assert_eq!(hex::encode(&s.read_all(1, 1).await.unwrap()[0].payload), TRADE_NOTED_V1);
        assert_eq!(s.verify().await.unwrap().broken, None);
        db.remove().await;
    }
}

#[tokio::test]
async fn every_event_renders_as_json_for_people() {
    for db in all_backends("json view").await {
        let s = &db.store;
        s.append(&stream("ledger-j"), ExpectedVersion::Any, &noted_batch(7, 1)).await.unwrap();
        let e = &s.read_all(1, 1).await.unwrap()[0];
        let j = event_store::codec::to_json(e);
        assert_eq!(j["event_type"], "Noted");
        assert_eq!(j["stream_id"], "ledger-j");
        assert_eq!(j["global_position"], 1);
        assert_eq!(j["stream_version"], 1);
        assert_eq!(j["payload"]["text"], "note 7");
        assert_eq!(j["metadata"]["actor"], "test");
        assert_eq!(j["hash"].as_str().unwrap().len(), 64);
        assert_eq!(j["prev_hash"], "0".repeat(64));
        db.remove().await;
    }
}

#[tokio::test]
async fn checkpoints_are_stored_per_name() {
    for db in all_backends("checkpoints").await {
        let s = &db.store;
        assert_eq!(s.load_checkpoint("relay:A").await.unwrap(), 0);
        s.save_checkpoint("relay:A", 41).await.unwrap();
        s.save_checkpoint("relay:A", 42).await.unwrap();
        s.save_checkpoint("relay:B", 7).await.unwrap();
        assert_eq!(s.load_checkpoint("relay:A").await.unwrap(), 42);
        assert_eq!(s.load_checkpoint("relay:B").await.unwrap(), 7);
        db.remove().await;
    }
}

#[tokio::test]
async fn an_unreachable_or_malformed_database_url_is_a_clear_error() {
    let err = Store::open("mysql://x").await.unwrap_err();
    assert!(matches!(err, StoreError::InvalidUrl { .. }), "{err}");
    let err = Store::open("postgres://postgres@127.0.0.1:1/none").await.unwrap_err();
    assert!(matches!(err, StoreError::Database(_)), "{err}");
}

#[tokio::test]
async fn an_append_to_several_streams_is_all_or_nothing() {
    use event_store::StreamWrite;
    for db in all_backends("multi-stream append").await {
        let s = &db.store;
        let (a, b, c) = (stream("market-AAA"), stream("market-BBB"), stream("market-CCC"));
        s.append(&b, ExpectedVersion::NoStream, &noted_batch(0, 1)).await.unwrap();
        let (ea, eb, ec) = (noted_batch(1, 2), noted_batch(3, 1), noted_batch(4, 3));
        let writes = [
            StreamWrite { stream: &a, expected: ExpectedVersion::NoStream, events: &ea },
            StreamWrite { stream: &b, expected: ExpectedVersion::Exact(1), events: &eb },
            StreamWrite { stream: &c, expected: ExpectedVersion::Any, events: &ec },
        ];
        let results = s.append_many(&writes).await.unwrap();
        let spans: Vec<_> = results.iter().map(|r| (r.first_position, r.last_position, r.stream_version)).collect();
        assert_eq!(spans, vec![(2, 3, 2), (4, 4, 2), (5, 7, 3)]);
        assert_eq!(s.verify().await.unwrap(), event_store::Verification { checked: 7, broken: None });

        // Retrying the same writes replays them: same results, nothing new.
        let again = s.append_many(&writes).await.unwrap();
        assert!(again.iter().all(|r| r.idempotent_replay));
        assert_eq!(again.iter().map(|r| r.last_position).collect::<Vec<_>>(), vec![3, 4, 7]);

        // A replayed stream beside a fresh one: the replay keeps its result, the fresh one is
        // written after the head, chained to it.
        let d = stream("market-DDD");
        let ed = noted_batch(30, 2);
        let mixed = [
            StreamWrite { stream: &d, expected: ExpectedVersion::NoStream, events: &ed },
            StreamWrite { stream: &a, expected: ExpectedVersion::NoStream, events: &ea },
        ];
        let results = s.append_many(&mixed).await.unwrap();
        let spans: Vec<_> = results.iter().map(|r| (r.first_position, r.last_position, r.idempotent_replay)).collect();
        assert_eq!(spans, vec![(8, 9, false), (2, 3, true)]);
        assert_eq!(s.verify().await.unwrap(), event_store::Verification { checked: 9, broken: None });

        // A batch holding a new id and then a stored one is refused, and nothing of it written.
        let mixed = [noted_batch(20, 1)[0].clone(), ec[0].clone()];
        let err = s
            .append_many(&[StreamWrite { stream: &c, expected: ExpectedVersion::Any, events: &mixed }])
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::IdempotencyMismatch { .. }), "{err}");
        assert_eq!(s.head().await.unwrap().unwrap().position, 9, "nothing of it was written");

        // A stale expectation on one stream refuses the whole append.
        let (fresh_a, stale_b) = (noted_batch(10, 1), noted_batch(11, 1));
        let err = s
            .append_many(&[
                StreamWrite { stream: &a, expected: ExpectedVersion::Exact(2), events: &fresh_a },
                StreamWrite { stream: &b, expected: ExpectedVersion::Exact(1), events: &stale_b },
            ])
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Conflict { actual: 2, .. }), "{err}");
        assert_eq!(s.head().await.unwrap().unwrap().position, 9, "nothing of it was written");

        let err = s
            .append_many(&[
                StreamWrite { stream: &a, expected: ExpectedVersion::Any, events: &fresh_a },
                StreamWrite { stream: &a, expected: ExpectedVersion::Any, events: &stale_b },
            ])
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::InvalidAppend(_)), "{err}");
        db.remove().await;
    }
}
