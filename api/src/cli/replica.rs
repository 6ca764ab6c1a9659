//! `cairn replicate` and `cairn promote`: a follower store fed from the relay's JetStream stream
//! that keeps an exact copy of the log (the same positions, event ids, instants and hashes;
//! every event's chain link checked as it is applied, stopping at a mismatch), read-only until
//! it is promoted. It also takes the primary's wrapped data keys from the relay's key-value
//! bucket (`event_store::relay::KeyShipper`): a key destroyed on the primary is destroyed here.
//! While it follows it listens to the primary's signed heads
//! (`cairn.audit.heads`) and remembers the largest one whose signature checks, so that a
//! promotion refuses a follower that is behind an acknowledged head unless forced, which then
//! records what was lost.

use std::time::Duration;

use anyhow::bail;
use event_store::{EventStore as _, Restorer, Store};
use futures::StreamExt as _;
use projections::source::{NatsFeed, Source};

use super::outln;

/// Events applied per transaction.
const BATCH: usize = 2_000;

fn source_name(nats_url: &str, stream: &str) -> String {
    format!("nats {nats_url} stream {stream}")
}

/// How far the follower is behind, for `/metrics` (`--metrics ADDR`).
#[derive(Debug, Default)]
struct Lag {
    position: u64,
    /// The last position the stream held when last read.
    stream_head: Option<u64>,
    /// The largest signed head seen.
    signed_head: u64,
    /// When the last event applied was recorded on the primary.
    recorded_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl Lag {
    /// The Prometheus text exposition of these figures.
    fn text(&self) -> String {
        let waiting = self.stream_head.unwrap_or(self.position).saturating_sub(self.position);
        let behind = self.signed_head.saturating_sub(self.position);
        let seconds = match self.recorded_at {
            Some(t) if waiting > 0 || behind > 0 => (chrono::Utc::now() - t).num_milliseconds().max(0) as f64 / 1e3,
            _ => 0.0,
        };
        let gauges: [(&str, &str, String); 6] = [
            ("cairn_replica_position", "The last position applied to the follower.", self.position.to_string()),
            (
                "cairn_replica_stream_head",
                "The last position the relay's stream held when it was last read.",
                self.stream_head.unwrap_or(self.position).to_string(),
            ),
            ("cairn_replica_lag_events", "Events in the relay's stream not yet applied.", waiting.to_string()),
            (
                "cairn_replica_signed_head",
                "The size of the largest signed tree head seen published by the primary.",
                self.signed_head.to_string(),
            ),
            (
                "cairn_replica_behind_signed_head",
                "Events in a signed head (acknowledged by the primary) not yet applied here.",
                behind.to_string(),
            ),
            (
                "cairn_replica_lag_seconds",
                "Seconds since the last event applied was recorded on the primary while events wait (0 when caught up).",
                format!("{seconds:.3}"),
            ),
        ];
        gauges
            .iter()
            .map(|(name, help, v)| format!("# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}\n"))
            .collect()
    }
}

/// Serves `GET /metrics` with the follower's lag on `addr`; logs the address bound.
async fn serve_lag(addr: std::net::SocketAddr, lag: std::sync::Arc<std::sync::Mutex<Lag>>) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("--metrics {addr}: cannot listen: {e}"))?;
    tracing::info!(addr = %listener.local_addr()?, "replica metrics");
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let text = lag.lock().map(|l| l.text()).unwrap_or_default();
            async move { ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], text) }
        }),
    );
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "replica metrics stopped");
        }
    });
    Ok(())
}

/// `cairn replicate --from-nats URL --to URL [--follow] [--metrics ADDR]`.
pub(crate) async fn replicate(
    nats_url: &str,
    stream: &str,
    subject_prefix: &str,
    to: &str,
    follow: bool,
    metrics: Option<std::net::SocketAddr>,
) -> anyhow::Result<()> {
    let target = Store::open(to).await.map_err(|e| anyhow::anyhow!("--to {to}: {e}"))?;
    let held = target.head().await?;
    match target.replica().await? {
        Some(r) if r.source != source_name(nats_url, stream) => {
            bail!("--to {to} follows {}, not {}", r.source, source_name(nats_url, stream))
        }
        Some(_) => {}
        None if held.is_some() => {
            bail!("--to {to} holds events and is not a replica: it is a primary; follow into an empty store")
        }
        None => target.mark_replica(&source_name(nats_url, stream)).await?,
    }
    // The primary's signed heads, checked with the audit key's public half when it is here.
    let trusted = super::proofs::public_key()?;
    let client = async_nats::connect(nats_url).await.map_err(|e| anyhow::anyhow!("--from-nats {nats_url}: {e}"))?;
    let mut heads = client.subscribe(api::audit::SUBJECT).await?;
    let js = async_nats::jetstream::new(client.clone());
    let bucket = event_store::relay::keys_bucket(&event_store::RelayConfig {
        stream_name: stream.to_owned(),
        ..event_store::RelayConfig::new(nats_url)
    });
    let mut keys = None;
    let feed = NatsFeed::connect(nats_url, stream, subject_prefix).await?;
    let mut source = Source::Nats(Box::new(feed));
    let mut restorer = Restorer::new(&target).await?;
    let lag = std::sync::Arc::new(std::sync::Mutex::new(Lag {
        position: restorer.next_position() - 1,
        signed_head: target.replica().await?.map_or(0, |r| r.head_size),
        recorded_at: held.as_ref().map(|h| h.recorded_at),
        ..Lag::default()
    }));
    if let Some(addr) = metrics {
        serve_lag(addr, lag.clone()).await?;
    }
    let (mut applied, mut keys_applied) = (0u64, 0u64);
    loop {
        let events = source.read(restorer.next_position(), BATCH).await?;
        if !events.is_empty() {
            restorer.push(&events).await.map_err(|e| anyhow::anyhow!("the follower stopped: {e}"))?;
            applied += events.len() as u64;
            if follow {
                tracing::info!(position = restorer.next_position() - 1, "replicated");
            }
        }
        // The primary's data keys: the bucket's entries when it first appears, then each change.
        if keys.is_none() {
            if let Ok(kv) = js.get_key_value(&bucket).await {
                let watch = kv.watch(">").await?;
                keys_applied += key_snapshot(&kv, &target, &bucket).await?;
                keys = Some((kv, watch));
            }
        }
        if let Some((_, watch)) = keys.as_mut() {
            while let Ok(Some(entry)) = tokio::time::timeout(Duration::from_millis(2), watch.next()).await {
                let entry = entry?;
                if entry.operation == async_nats::jetstream::kv::Operation::Put {
                    keys_applied += apply_key(&target, &bucket, &entry.key, &entry.value).await?;
                }
            }
        }
        // Heads published meanwhile.
        while let Ok(Some(message)) = tokio::time::timeout(Duration::from_millis(1), heads.next()).await {
            let Ok(head) = serde_json::from_slice::<super::proofs::SignedHead>(&message.payload) else { continue };
            let key = trusted.clone().unwrap_or_else(|| head.public_key.clone());
            if super::proofs::check_head(&head, &key).is_ok() {
                target.note_head_seen(head.size, &head.root).await?;
                if let Ok(mut l) = lag.lock() {
                    l.signed_head = l.signed_head.max(head.size);
                }
            }
        }
        let stream_head = source.head().await?;
        if let Ok(mut l) = lag.lock() {
            l.position = restorer.next_position() - 1;
            l.stream_head = stream_head.or(l.stream_head);
            l.recorded_at = events.last().map(|e| e.recorded_at).or(l.recorded_at);
        }
        if events.is_empty() && !follow {
            // Caught up: every key the primary had shipped by now.
            if let Some((kv, _)) = &keys {
                keys_applied += key_snapshot(kv, &target, &bucket).await?;
            }
            break;
        }
        if events.is_empty() {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let replica = target.replica().await?;
    outln!(
        "{}",
        serde_json::json!({
            "applied": applied,
            "keys_applied": keys_applied,
            "position": restorer.next_position() - 1,
            "head_seen": replica.as_ref().map(|r| r.head_size),
            "source": replica.map(|r| r.source),
        })
    )?;
    Ok(())
}

/// Applies every entry of the key bucket; returns how many.
async fn key_snapshot(kv: &async_nats::jetstream::kv::Store, target: &Store, bucket: &str) -> anyhow::Result<u64> {
    let names: Vec<String> = kv.keys().await?.collect::<Vec<_>>().await.into_iter().collect::<Result<_, _>>()?;
    let mut applied = 0;
    for name in names {
        if let Some(value) = kv.get(&name).await? {
            applied += apply_key(target, bucket, &name, &value).await?;
        }
    }
    Ok(applied)
}

/// Applies one shipped data key: stored when the follower has none for its subject, destroyed
/// when the primary destroyed it.
async fn apply_key(target: &Store, bucket: &str, name: &str, value: &[u8]) -> anyhow::Result<u64> {
    let record: event_store::KeyRecord = serde_json::from_slice(value)
        .map_err(|e| anyhow::anyhow!("{bucket}: entry {name}: not a data key record: {e}"))?;
    target.restore_data_keys(std::slice::from_ref(&record)).await?;
    if record.wrapped_key.is_none() {
        target.destroy_data_key(&record.subject).await?;
    }
    Ok(1)
}

/// `cairn promote`: the follower becomes a primary.
pub(crate) async fn promote(store: &Store, force: bool) -> anyhow::Result<()> {
    let Some(replica) = store.replica().await? else { bail!("this store is not a replica: nothing to promote") };
    let position = store.head().await?.map_or(0, |h| h.position);
    let lost = replica.head_size.saturating_sub(position);
    if lost > 0 && !force {
        bail!(
            "the follower holds {position} events, but the primary published a signed head of {}: events {}..={} \
             were acknowledged and are not here. Let it catch up, or --force to promote it and record the loss",
            replica.head_size,
            position + 1,
            replica.head_size
        );
    }
    if lost == 0 {
        if let Some(root) = &replica.head_root {
            if hex::encode(store.tree_root(replica.head_size).await?) != *root {
                bail!(
                    "the follower's first {} events do not give the root of the head it saw: it holds another log",
                    replica.head_size
                );
            }
        }
    }
    store.promote().await?;
    // The promotion on the log itself, with what was lost.
    let record = serde_json::json!({
        "source": replica.source,
        "position": position,
        "head_seen": replica.head_size,
        "lost_from": (lost > 0).then_some(position + 1),
        "lost_to": (lost > 0).then_some(replica.head_size),
    });
    let event = event_store::NewEvent {
        event_id: uuid::Uuid::now_v7(),
        event_type: "ReplicaPromoted".into(),
        schema_version: 1,
        payload: event_store::codec::to_msgpack(&record)?,
        metadata: event_store::Metadata { actor: Some(super::caller("cairn promote").actor), ..Default::default() },
    };
    let stream = event_store::StreamId::new("replica-promotions")?;
    store.append(&stream, event_store::ExpectedVersion::Any, &[event]).await?;
    outln!(
        "{}",
        serde_json::json!({
            "promoted": true,
            "position": position,
            "source": replica.source,
            "head_seen": replica.head_size,
            "lost": if lost > 0 { serde_json::json!({ "from": position + 1, "to": replica.head_size, "events": lost }) } else { serde_json::Value::Null },
        })
    )?;
    if lost > 0 {
        tracing::warn!(from = position + 1, to = replica.head_size, "promoted with acknowledged events missing");
    }
    Ok(())
}
