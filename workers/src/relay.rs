//! The NATS JetStream relay as a long-running worker: publishes committed events to
//! `cairn.events.<category>` (`event_store::Relay`) for projectors and workers on other machines.

use event_store::{Relay, RelayConfig, Store};

/// The relay inside `serve`: a NATS outage must not take the HTTP server down, so it logs the
/// failure and reconnects every five seconds, resuming from its checkpoint, until shutdown.
pub async fn follow(store: Store, config: RelayConfig, mut stopping: tokio::sync::watch::Receiver<bool>) {
    loop {
        let result = match Relay::connect(store.clone(), config.clone()).await {
            Ok(relay) => {
                let stopped = stopping.clone();
                relay
                    .run(async move {
                        let mut stopped = stopped;
                        let _ = stopped.wait_for(|s| *s).await;
                    })
                    .await
            }
            Err(e) => Err(e),
        };
        match result {
            Ok(stats) if *stopping.borrow() => {
                tracing::info!(published = stats.published, checkpoint = stats.checkpoint, "relay stopped");
                return;
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "relay failed; reconnecting in 5 s"),
        }
        tokio::select! {
            () = tokio::time::sleep(std::time::Duration::from_secs(5)) => {}
            _ = stopping.wait_for(|s| *s) => return,
        }
    }
}
