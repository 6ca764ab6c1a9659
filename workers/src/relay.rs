//! The NATS JetStream relay as a long-running worker: publishes committed events to
//! `cairn.events.<category>` (`event_store::Relay`) for projectors and workers on other machines,
//! and ships the wrapped data keys to the key-value bucket beside the stream
//! (`event_store::relay::KeyShipper`) for followers.

use std::future::Future;

use event_store::relay::KeyShipper;
use event_store::{Relay, RelayConfig, RelayError, Store};
use tokio::sync::watch;

/// The relay inside `serve`: a NATS outage must not take the HTTP server down, so each of its
/// two parts logs a failure and reconnects every five seconds, resuming where it was, until
/// shutdown.
pub async fn follow(store: Store, config: RelayConfig, stopping: watch::Receiver<bool>) {
    let keys = {
        let (store, config) = (store.clone(), config.clone());
        supervise("key shipping", stopping.clone(), move |stopped| {
            let (store, config) = (store.clone(), config.clone());
            async move { KeyShipper::connect(&config).await?.run(&store, stopped).await }
        })
    };
    let events = supervise("relay", stopping, move |stopped| {
        let (store, config) = (store.clone(), config.clone());
        async move {
            let stats = Relay::connect(store, config).await?.run(stopped).await?;
            tracing::info!(published = stats.published, checkpoint = stats.checkpoint, "relay stopped");
            Ok(())
        }
    });
    tokio::join!(keys, events);
}

/// Runs `attempt` (handed a future that completes at shutdown) until shutdown, again five
/// seconds after each failure.
async fn supervise<F, Fut>(what: &str, mut stopping: watch::Receiver<bool>, mut attempt: F)
where
    F: FnMut(std::pin::Pin<Box<dyn Future<Output = ()> + Send>>) -> Fut,
    Fut: Future<Output = Result<(), RelayError>>,
{
    loop {
        let mut stopped = stopping.clone();
        let result = attempt(Box::pin(async move {
            let _ = stopped.wait_for(|s| *s).await;
        }))
        .await;
        if *stopping.borrow() {
            return;
        }
        if let Err(e) = result {
            tracing::warn!(error = %e, "{what} failed; reconnecting in 5 s");
        }
        tokio::select! {
            () = tokio::time::sleep(std::time::Duration::from_secs(5)) => {}
            _ = stopping.wait_for(|s| *s) => return,
        }
    }
}
