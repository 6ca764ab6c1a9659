//! Property tests: whatever sequence of appends, conflicts and retries writers produce, the log
//! stays gap-free, each stream's versions count up from 1, the chain verifies, refused appends
//! write nothing, and a retried batch returns its original result.

use std::collections::HashMap;

use event_store::{EventStore, ExpectedVersion, Metadata, NewEvent, Store, StreamId};
use proptest::prelude::*;
use uuid::Uuid;

#[derive(Debug, Clone)]
enum Op {
    /// Append `size` events to stream `stream`, expecting its true version (or one off).
    Append { stream: u8, size: u8, wrong_version: bool, any: bool },
    /// Re-send the batch appended `back` batches ago, unchanged.
    Retry { back: u8 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u8..4, 1u8..6, prop::bool::weighted(0.2), prop::bool::weighted(0.2))
            .prop_map(|(stream, size, wrong_version, any)| Op::Append { stream, size, wrong_version, any }),
        1 => (0u8..8).prop_map(|back| Op::Retry { back }),
    ]
}

fn batch(size: u8, seed: u64) -> Vec<NewEvent> {
    (0..size)
        .map(|i| NewEvent {
            event_id: Uuid::now_v7(),
            event_type: "Noted".into(),
            schema_version: 1,
            payload: vec![i, (seed % 251) as u8],
            metadata: Metadata::default(),
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn any_sequence_of_appends_and_retries_keeps_the_log_consistent(ops in prop::collection::vec(op(), 1..40)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let store = Store::open("sqlite::memory:").await.unwrap();
            let mut versions: HashMap<u8, u64> = HashMap::new();
            let mut done: Vec<(StreamId, Vec<NewEvent>, event_store::AppendResult)> = Vec::new();
            let mut head = 0u64;
            for (n, op) in ops.iter().enumerate() {
                match *op {
                    Op::Append { stream, size, wrong_version, any } => {
                        let id = StreamId::new(format!("prop-{stream}")).unwrap();
                        let current = versions.get(&stream).copied().unwrap_or(0);
                        let expected = match (any, wrong_version, current) {
                            (true, _, _) => ExpectedVersion::Any,
                            (false, false, 0) => ExpectedVersion::NoStream,
                            (false, false, v) => ExpectedVersion::Exact(v),
                            (false, true, v) => ExpectedVersion::Exact(v + 1),
                        };
                        let events = batch(size, n as u64);
                        match store.append(&id, expected, &events).await {
                            Ok(r) => {
                                prop_assert!(!wrong_version || any, "a wrong version was accepted");
                                prop_assert_eq!(r.first_position, head + 1);
                                prop_assert_eq!(r.last_position, head + u64::from(size));
                                prop_assert_eq!(r.stream_version, current + u64::from(size));
                                head = r.last_position;
                                versions.insert(stream, r.stream_version);
                                done.push((id, events, r));
                            }
                            Err(e) => {
                                prop_assert!(wrong_version && !any && e.is_conflict(), "unexpected error {}", e);
                            }
                        }
                    }
                    Op::Retry { back } => {
                        if done.is_empty() {
                            continue;
                        }
                        let i = done.len() - 1 - (back as usize % done.len());
                        let (id, events, original) = done[i].clone();
                        let again = store.append(&id, ExpectedVersion::Any, &events).await.unwrap();
                        prop_assert!(again.idempotent_replay);
                        prop_assert_eq!(
                            (again.first_position, again.last_position, again.stream_version),
                            (original.first_position, original.last_position, original.stream_version)
                        );
                    }
                }
            }
            // The log: positions 1..=head, each stream's versions 1..=n in position order.
            let all = store.read_all(1, 10_000).await.unwrap();
            prop_assert_eq!(all.iter().map(|e| e.global_position).collect::<Vec<_>>(), (1..=head).collect::<Vec<_>>());
            let mut seen: HashMap<&str, u64> = HashMap::new();
            for e in &all {
                let v = seen.entry(e.stream_id.as_str()).or_insert(0);
                *v += 1;
                prop_assert_eq!(e.stream_version, *v);
            }
            for (stream, version) in &versions {
                let id = StreamId::new(format!("prop-{stream}")).unwrap();
                prop_assert_eq!(store.stream_version(&id).await.unwrap(), *version);
            }
            let v = store.verify().await.unwrap();
            prop_assert_eq!((v.checked, v.broken), (head, None));
            Ok(())
        })?;
    }
}
