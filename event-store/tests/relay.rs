//! The NATS JetStream relay against the real NATS server (CAIRN_TEST_NATS_URL).

mod common;

use std::collections::HashSet;
use std::time::Duration;

use async_nats::jetstream;
use common::{all_backends, noted_batch};
use event_store::{codec, EventStore, ExpectedVersion, Relay, RelayConfig, StreamId};
use futures::StreamExt;

fn nats_url(test: &str) -> Option<String> {
    let url = std::env::var("CAIRN_TEST_NATS_URL").ok();
    if url.is_none() {
        common::skipped(test, "CAIRN_TEST_NATS_URL");
    }
    url
}

/// A stream name and subject prefix no other test run uses.
fn fresh_config(url: &str) -> RelayConfig {
    let id = uuid::Uuid::now_v7().simple().to_string();
    RelayConfig {
        stream_name: format!("CAIRN_TEST_{id}"),
        subject_prefix: format!("cairntest_{id}.events"),
        batch: 50,
        ..RelayConfig::new(url)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_stopped_midway_and_restarted_delivers_every_event_once() {
    let Some(url) = nats_url("relay restart") else { return };
    for db in all_backends("relay restart").await {
        let store = db.store.clone();
        for (i, category) in ["ledger", "user", "market"].iter().enumerate() {
            let s = StreamId::new(format!("{category}-{i}")).unwrap();
            store.append(&s, ExpectedVersion::NoStream, &noted_batch(0, 200)).await.unwrap();
        }
        let config = fresh_config(&url);
        let name = config.checkpoint_name();

        // First run: stop it (abruptly) once it is part-way through.
        let relay = Relay::connect(store.clone(), config.clone()).await.unwrap();
        let run = tokio::spawn(async move { relay.run(std::future::pending()).await });
        while store.load_checkpoint(&name).await.unwrap() < 150 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        run.abort();
        let _ = run.await;
        let stopped_at = store.load_checkpoint(&name).await.unwrap();
        assert!((150..600).contains(&stopped_at), "stopped mid-way, at {stopped_at}");

        // More commits while it is down; and the checkpoint lost some progress, as if the
        // process had died after publishing but before saving: those get published again.
        store.append(&StreamId::new("ledger-late").unwrap(), ExpectedVersion::Any, &noted_batch(0, 100)).await.unwrap();
        store.save_checkpoint(&name, stopped_at - 100).await.unwrap();

        let relay = Relay::connect(store.clone(), config.clone()).await.unwrap();
        let stats = relay.run_until_caught_up().await.unwrap();
        assert_eq!(stats.checkpoint, 700);
        assert!(stats.duplicates >= 100, "republished events were deduplicated: {stats:?}");

        // A consumer reads the stream: every event once, in order, as stored.
        let js = jetstream::new(async_nats::connect(&url).await.unwrap());
        let mut stream = js.get_stream(&config.stream_name).await.unwrap();
        assert_eq!(stream.info().await.unwrap().state.messages, 700);
        let consumer = stream
            .create_consumer(jetstream::consumer::pull::Config {
                ack_policy: jetstream::consumer::AckPolicy::None,
                ..Default::default()
            })
            .await
            .unwrap();
        let mut messages = consumer.messages().await.unwrap();
        let stored = store.read_all(1, 1_000).await.unwrap();
        let mut ids = HashSet::new();
        for expected in &stored {
            let msg = tokio::time::timeout(Duration::from_secs(10), messages.next())
                .await
                .expect("message in time")
                .unwrap()
                .unwrap();
            let headers = msg.headers.as_ref().unwrap();
            let id = headers.get("Nats-Msg-Id").unwrap().as_str().to_owned();
            assert!(ids.insert(id.clone()), "duplicate message {id}");
            assert_eq!(id, expected.event_id.to_string());
            assert_eq!(msg.subject.as_str(), format!("{}.{}", config.subject_prefix, expected.stream_id.category()));
            assert_eq!(&codec::from_wire(&msg.payload).unwrap(), expected);
        }
        js.delete_stream(&config.stream_name).await.unwrap();
        db.remove().await;
    }
}

#[tokio::test]
async fn a_live_relay_publishes_new_commits_as_they_happen() {
    let Some(url) = nats_url("live relay") else { return };
    for db in all_backends("live relay").await {
        let store = db.store.clone();
        let config = fresh_config(&url);
        let relay = Relay::connect(store.clone(), config.clone()).await.unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let run = tokio::spawn(async move {
            relay
                .run(async {
                    let _ = stopped.await;
                })
                .await
        });
        let js = jetstream::new(async_nats::connect(&url).await.unwrap());
        let mut stream = js.get_stream(&config.stream_name).await.unwrap();
        store.append(&StreamId::new("ledger-live").unwrap(), ExpectedVersion::Any, &noted_batch(0, 5)).await.unwrap();
        let mut delivered = 0;
        for _ in 0..200 {
            delivered = stream.info().await.unwrap().state.messages;
            if delivered == 5 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        assert_eq!(delivered, 5);
        stop.send(()).unwrap();
        let stats = run.await.unwrap().unwrap();
        assert_eq!((stats.published, stats.checkpoint), (5, 5));
        assert_eq!(store.metrics().subscriber_positions().get(&config.checkpoint_name()), Some(&5));
        js.delete_stream(&config.stream_name).await.unwrap();
        db.remove().await;
    }
}
