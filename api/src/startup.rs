//! The one composition root: [`Application::build`] opens the store and the read models,
//! starts the projectors, the risk worker and the relay, wires the HTTP state and binds the
//! address. `cairn serve`, `cairn bench http` and the tests' in-process servers all start
//! here, so there is one way the pieces fit.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use event_store::Store;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::http::auth::token::Keys;
use crate::http::auth::Auth;
use crate::http::AppState;
use commands::security::password::Passwords;

/// A server with its workers, bound and not yet serving.
pub struct Application {
    server: crate::http::Application,
    state: AppState,
    stop: watch::Sender<bool>,
    tasks: Vec<(&'static str, JoinHandle<()>)>,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application").field("server", &self.server).field("tasks", &self.tasks.len()).finish()
    }
}

impl Application {
    /// Opens the store `config` names (creating and migrating it as needed) and builds on it.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let store = Store::open(&config.database_url)
            .await
            .with_context(|| format!("cannot open database {}", config.database_url))?;
        Self::build_on(store, config).await
    }

    /// Builds on a store already open (`serve` opened it to report errors its own way).
    pub async fn build_on(store: Store, config: Config) -> anyhow::Result<Self> {
        let (stop, stopping) = watch::channel(false);
        let mut tasks = Vec::new();
        if let Some(relay) = config.relay.clone() {
            tasks.push(("relay", tokio::spawn(workers::relay::follow(store.clone(), relay, stopping.clone()))));
        }
        let db = projections::Db::open(&config.database_url, false).await?;
        for p in projections::all() {
            tasks.push((
                "projector",
                tokio::spawn(projections::runner::follow(db.clone(), store.clone(), p, stopping.clone())),
            ));
        }
        // The risk worker: portfolio_risk rows recomputed as portfolios change.
        let risk = Arc::new(workers::risk::Metrics::default());
        if config.risk_worker {
            let worker = workers::risk::follow(db.clone(), store.clone(), risk.clone(), stopping.clone());
            tasks.push(("risk worker", tokio::spawn(worker)));
        }
        // Market data: the providers' file, and the ingestion worker when it has a schedule.
        let market = match &config.providers {
            None => workers::market::runtime::Runtime::default(),
            Some(path) => workers::market::runtime::Runtime::load(path)
                .with_context(|| format!("market data providers {}", path.display()))?,
        };
        let market = Arc::new(market);
        if let (Some(selector), Some(ingest)) = (&market.selector, &market.settings.ingest) {
            let worker = workers::market::ingest::run(
                commands::Context::new(store.clone()),
                selector.clone(),
                ingest.clone(),
                domain::quality::QualityConfig::default(),
                market.ingest.clone(),
                stopping.clone(),
            );
            tasks.push(("market data ingestion", tokio::spawn(worker)));
        }
        for task in market.spawn_streams(&stopping) {
            tasks.push(("live quote stream", task));
        }
        // Live quotes out to NATS (`cairn.quotes.<SYMBOL>`) when the relay's server is set.
        if let (Some(relay), false) = (&config.relay, market.streams.is_empty()) {
            // A server that does not answer delays the start by 5 s at most, never for good.
            let connecting = async_nats::ConnectOptions::new()
                .connection_timeout(std::time::Duration::from_secs(5))
                .connect(relay.nats_url.as_str());
            match connecting.await {
                Ok(client) => tasks.push((
                    "quotes to NATS",
                    workers::market::quotes::spawn_nats(market.hub.clone(), client, stopping.clone()),
                )),
                Err(e) => tracing::error!(error = %e, "live quotes will not reach NATS: cannot connect"),
            }
        }
        // Signed tree heads after commits, to the heads file, NATS and `GET /v1/audit/heads`.
        let heads = Arc::new(crate::audit::Heads::default());
        let nats = match &config.relay {
            Some(relay) => async_nats::ConnectOptions::new()
                .connection_timeout(std::time::Duration::from_secs(5))
                .connect(relay.nats_url.as_str())
                .await
                .map_err(|e| tracing::error!(error = %e, "tree heads will not reach NATS: cannot connect"))
                .ok(),
            None => None,
        };
        let witnesses =
            crate::audit::Witnesses { file: Some(crate::config::audit_heads_file()), nats, heads: heads.clone() };
        match crate::audit::key() {
            Ok(key) => {
                let publisher = crate::audit::publish(store.clone(), key, witnesses, stopping.clone());
                tasks.push(("tree heads", tokio::spawn(publisher)));
            }
            Err(e) => tracing::error!(error = %e, "no signed tree heads: the audit key cannot be read or made"),
        }
        // The day's operations, on the market's clock.
        let ops = Arc::new(workers::ops::OpsMetrics::default());
        let mut notify = None;
        if let Some(path) = &config.ops {
            let text = std::fs::read_to_string(path).with_context(|| format!("ops settings {}", path.display()))?;
            let base = path.parent().unwrap_or(std::path::Path::new("."));
            notify = workers::notify::config::parse(&text, base, |v| std::env::var(v).ok())
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            let settings = crate::config::ops_settings(&text, path)?;
            let env = workers::ops::Env {
                cx: commands::Context::new(store.clone()),
                db: db.clone(),
                selector: market.selector.clone(),
                settings,
                clock: Arc::new(workers::ops::clock::SystemClock),
                metrics: ops.clone(),
                follower: workers::ops::FOLLOWER,
            };
            if env.settings.live_alerts {
                let live = workers::alerts::live::Live {
                    cx: env.cx.clone(),
                    db: env.db.clone(),
                    clock: env.clock.clone(),
                    benchmark: env.settings.benchmark.clone(),
                    follower: env.follower,
                    metrics: ops.live.clone(),
                };
                tasks.push(("live alerts", tokio::spawn(workers::alerts::live::follow(live, stopping.clone()))));
            }
            let stopping = stopping.clone();
            tasks.push(("ops", tokio::spawn(async move { workers::ops::scheduler::run(&env, None, stopping).await })));
        }
        crate::http::idempotency::create_table(&db).await?;
        let vault = commands::security::vault::Vault::new(store.clone(), config.master_key.load()?);
        let keys = Keys::load_or_create(&config.jwt_key_file)
            .with_context(|| format!("JWT signing key {}", config.jwt_key_file.display()))?;
        let auth = Arc::new(Auth::new(keys, Passwords::new(config.hash_cost)?));
        // Alert notifications through the channels of `[notify]`, every minute.
        if let Some(settings) = notify {
            let worker = workers::alerts::delivery::run(
                commands::Context::new(store.clone()),
                db.clone(),
                vault.clone(),
                settings,
                Arc::new(workers::ops::clock::SystemClock),
                stopping.clone(),
            );
            tasks.push(("alert notifications", tokio::spawn(worker)));
        }
        let commands = commands::Context::new(store.clone());
        let state = AppState {
            store,
            commands,
            db,
            vault,
            auth,
            cache: Default::default(),
            stopping,
            risk,
            market,
            ops,
            heads,
        };
        let server = crate::http::Application::build(state.clone(), config.bind)
            .await
            .with_context(|| format!("cannot listen on {}", config.bind))?;
        Ok(Self { server, state, stop, tasks })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.server.local_addr()
    }

    /// What the handlers reach: the store, the read models, the vault, the password hasher.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// A handle that stops the server and its workers (send `true`).
    pub fn stopper(&self) -> watch::Sender<bool> {
        self.stop.clone()
    }

    /// Serves until `shutdown` completes (or the stopper is used), then stops the workers and
    /// waits for them and for the requests in flight.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let Self { server, state, stop, tasks } = self;
        let trigger = stop.clone();
        tokio::spawn(async move {
            shutdown.await;
            let _ = trigger.send(true);
        });
        let mut stopping = state.stopping.clone();
        drop(state);
        server
            .run(async move {
                let _ = stopping.wait_for(|s| *s).await;
            })
            .await?;
        let _ = stop.send(true);
        for (what, task) in tasks {
            task.await.with_context(|| format!("{what} task"))?;
        }
        Ok(())
    }
}
