//! The event store's own commands: `serve`, `relay`, `events tail`, `verify`, `bench`.

use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Subcommand;
use event_store::{codec, Direction, EventStore, Relay, RelayConfig, Store, StreamId};

use super::{outln, shutdown_signal, write_out};

#[derive(Debug, Subcommand)]
pub(crate) enum EventsCommand {
    /// Print events as JSON lines (type, stream, version, position, recorded-at, payload,
    /// metadata, hashes).
    Tail {
        /// First global position to print.
        #[arg(long, default_value_t = 1)]
        from: u64,
        /// Keep running and print events as they are committed.
        #[arg(long)]
        follow: bool,
        /// Only this stream (e.g. ledger-0190c6f2…).
        #[arg(long)]
        stream: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum BenchCommand {
    /// Append events and print {events_per_sec, latency_ms_p50, latency_ms_p99, …} as JSON,
    /// with the throughput of a bare multi-row INSERT of the same rows for comparison.
    Append {
        /// Events to append in all.
        #[arg(long, default_value_t = 100_000)]
        events: usize,
        /// Events per append.
        #[arg(long, default_value_t = 100)]
        batch: usize,
        /// Concurrent writers, each on its own streams.
        #[arg(long, default_value_t = 1)]
        writers: usize,
    },
    /// Generate a ledger CSV (trades over two years, random-walk prices, partial sells across
    /// accounts, so wash sales occur) and time importing it end to end; prints JSON. With
    /// --write FILE, only writes the file (to time `cairn ledger import FILE` yourself). With
    /// --format schwab, the same history as one account's Schwab export (a deposit that pays for
    /// it, buys, sells and dividends), imported as `ledger import --format schwab` would.
    Import {
        /// `csv` (the ledger CSV) or `schwab`.
        #[arg(long, default_value = "csv", value_parser = ["csv", "schwab"])]
        format: String,
        /// Rows in the file.
        #[arg(long, default_value_t = 100_000)]
        trades: usize,
        #[arg(long, default_value_t = 10)]
        accounts: usize,
        #[arg(long, default_value_t = 500)]
        symbols: usize,
        /// Write the generated file here instead of importing it.
        #[arg(long)]
        write: Option<std::path::PathBuf>,
    },
    /// Fill a store with household ledgers and daily bars (about --events events), then time a
    /// backup of it (MB/s of event data, beside the 200 MB/s target), `backup verify` (beside
    /// 60 s for 1,000,000 events), and a restore into a new store with the read models rebuilt
    /// (the recovery time, beside 60 s); prints JSON.
    Backup {
        #[arg(long, default_value_t = 1_000_000)]
        events: usize,
        #[arg(long, default_value_t = 200)]
        households: usize,
    },
    /// The Merkle tree kept beside the log: fill a log with --events events, time the first
    /// sync of the stored tree over it, then --proofs roots, inclusion proofs and consistency
    /// proofs at pseudo-random sizes and positions (p50/p99 ms beside the 1 ms target), and
    /// appends with the tree kept up (synced every second, as `serve` does, and every 100 ms)
    /// against appends without it (the ratios beside 0.9);
    /// prints JSON.
    Tree {
        #[arg(long, default_value_t = 1_000_000)]
        events: usize,
        #[arg(long, default_value_t = 1_000)]
        proofs: usize,
    },
    /// Fill a store with household ledgers and daily bars (about --events events), then time
    /// rebuilding the read models from position 0 (events/s) and reading one household's
    /// positions and lots (p50/p99 latency); prints JSON.
    Projections {
        #[arg(long, default_value_t = 1_000_000)]
        events: usize,
        #[arg(long, default_value_t = 200)]
        households: usize,
    },
    /// The HTTP API under load, in-process on a local port with the projectors following:
    /// GET positions of a household with about 2,000 open lots from --concurrency clients
    /// (requests/s, p50/p99 latency), then single trades POSTed by --writers clients, each to
    /// its own household (commands/s, p50/p99), then the queries again while the writers keep
    /// posting (`latency_while_writing`); prints JSON.
    Http {
        /// Position queries in all.
        #[arg(long, default_value_t = 20_000)]
        queries: usize,
        /// Concurrent query clients.
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        /// Single-trade commands in all.
        #[arg(long, default_value_t = 5_000)]
        trades: usize,
        /// Concurrent trade writers (one household each).
        #[arg(long, default_value_t = 8)]
        writers: usize,
    },
    /// Live quotes: the pipeline in process (Polygon JSON frames parsed, validated, cached and
    /// fanned out to --subscribers subscribers of 10 symbols each: quotes/s, p50/p99 latency
    /// from receipt to fan-out), then `/v1/stream/quotes` of an in-process server to --clients
    /// WebSocket clients subscribed to --symbols symbols (messages/s delivered), with one more
    /// client that never reads (its buffer stays bounded; the process's memory growth is
    /// shown); prints JSON.
    Quotes {
        #[arg(long, default_value_t = 1_000_000)]
        quotes: usize,
        #[arg(long, default_value_t = 100)]
        symbols: usize,
        #[arg(long, default_value_t = 100)]
        subscribers: usize,
        #[arg(long, default_value_t = 50)]
        clients: usize,
    },
    /// `market fetch` end to end from a local provider's directory: --symbols files of
    /// --years years of daily bars, fetched, checked against each symbol's history and recorded
    /// in one transaction (seconds, bars/s); prints JSON.
    Fetch {
        #[arg(long, default_value_t = 500)]
        symbols: usize,
        #[arg(long, default_value_t = 10)]
        years: u32,
    },
    /// Every monitoring rule over --households households (each holding 1 to 3 of --symbols
    /// symbols, with a 60/40 portfolio) after a day's prices are committed: seconds from the
    /// commit to the alerts recorded (read models caught up on the way) beside the 5 s target;
    /// then, with the projectors and the live alerts following as in `serve`, --live commits
    /// of one symbol's next close each, and every alert's latency from its commit to a live
    /// subscriber of the log (what a household's SSE stream reads; p50, p99 beside 500 ms);
    /// prints JSON.
    Alerts {
        #[arg(long, default_value_t = 10_000)]
        households: usize,
        #[arg(long, default_value_t = 50)]
        symbols: usize,
        #[arg(long, default_value_t = 20)]
        live: usize,
    },
    /// One household's daily performance over --years years (--accounts accounts, a deposit
    /// and a buy in each every month over --symbols symbols, a daily bar of every symbol): the
    /// p50 of --runs computations of `cairn performance` against a blend, and of the daily
    /// history alone, beside the 200 ms target; prints JSON.
    Performance {
        #[arg(long, default_value_t = 10)]
        years: u32,
        #[arg(long, default_value_t = 10)]
        accounts: usize,
        #[arg(long, default_value_t = 50)]
        symbols: usize,
        #[arg(long, default_value_t = 20)]
        runs: usize,
    },
    /// The tax planners' engines in memory on generated households (built by the ledger's own
    /// decider): the tax-loss harvesting scan over --households households of about --lots
    /// lots each on every core (seconds beside the 2 s target), --runs tax-aware rebalances
    /// of one household of --rebalance-lots lots with new cash (p50/p99 ms beside 10 ms), and
    /// a 41-year Roth conversion search (p50/p99 ms beside 100 ms);
    /// prints JSON.
    Tax {
        #[arg(long, default_value_t = 10_000)]
        households: usize,
        #[arg(long, default_value_t = 50)]
        lots: usize,
        #[arg(long, default_value_t = 200)]
        rebalance_lots: usize,
        #[arg(long, default_value_t = 50)]
        runs: usize,
    },
    /// A family's plan read back: every donor's gift and GST years and the estate tax were
    /// either spouse to die, over `members` members, three years of gifts and `entities` trusts
    /// and businesses (target 50 ms).
    Estate {
        #[arg(long, default_value_t = 20)]
        members: usize,
        /// Trusts and businesses (the family has 10).
        #[arg(long, default_value_t = 10)]
        entities: usize,
        #[arg(long, default_value_t = 50)]
        runs: usize,
    },
    /// Store events, then time reading and decoding all of them; prints JSON.
    Read {
        /// Events to store and read back.
        #[arg(long, default_value_t = 100_000)]
        events: usize,
    },
}

pub(crate) async fn serve(store: Store, url: &str, bind: SocketAddr, relay: Option<RelayConfig>) -> anyhow::Result<()> {
    let config = api::config::Config::from_env(url, bind, relay)?;
    let app = api::startup::Application::build_on(store, config).await?;
    tracing::info!(addr = %app.local_addr()?, "cairn serving");
    app.run_until_stopped(shutdown_signal()).await
}

pub(crate) async fn relay(store: Store, config: RelayConfig, once: bool) -> anyhow::Result<()> {
    let mut keys = event_store::relay::KeyShipper::connect(&config).await?;
    let relay = Relay::connect(store.clone(), config).await?;
    let (stats, keys_shipped) = if once {
        let stats = relay.run_until_caught_up().await?;
        (stats, keys.ship(&store).await?)
    } else {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let shipping = async {
            let mut stopped = stopped;
            keys.run(&store, async move {
                let _ = stopped.wait_for(|s| *s).await;
            })
            .await
        };
        let relaying = async {
            let stats = relay.run(shutdown_signal()).await;
            let _ = stop.send(true);
            stats
        };
        let (stats, shipped) = tokio::join!(relaying, shipping);
        shipped?;
        (stats?, 0)
    };
    outln!(
        "{}",
        serde_json::json!({
            "published": stats.published,
            "duplicates": stats.duplicates,
            "checkpoint": stats.checkpoint,
            "keys_shipped": keys_shipped,
        })
    )?;
    Ok(())
}

pub(crate) async fn tail(store: Store, from: u64, follow: bool, stream: Option<String>) -> anyhow::Result<()> {
    let stream = stream.map(StreamId::new).transpose().context("--stream")?;
    // One write per page; a closed pipe (e.g. `| head`) comes back as an error, which `main`
    // takes for the quiet end it is.
    let print = |page: &[event_store::StoredEvent]| -> std::io::Result<()> {
        let mut text = String::new();
        for e in page.iter().filter(|e| stream.as_ref().is_none_or(|s| *s == e.stream_id)) {
            text.push_str(&codec::to_json(e).to_string());
            text.push('\n');
        }
        if text.is_empty() {
            return Ok(());
        }
        write_out(format_args!("{text}"))
    };
    if follow {
        let mut sub = store.subscribe(from);
        loop {
            let batch = tokio::select! {
                b = sub.next_batch(1_000) => b?,
                () = shutdown_signal() => return Ok(()),
            };
            print(&batch)?;
        }
    }
    match &stream {
        Some(s) => {
            let mut version = 1;
            loop {
                let mut page = store.read_stream(s, version, Direction::Forwards, 1_000).await?;
                let Some(last) = page.last() else { break };
                version = last.stream_version + 1;
                page.retain(|e| e.global_position >= from);
                print(&page)?;
            }
        }
        None => {
            let mut position = from;
            loop {
                let page = store.read_all(position, 1_000).await?;
                let Some(last) = page.last() else { break };
                position = last.global_position + 1;
                print(&page)?;
            }
        }
    }
    Ok(())
}

pub(crate) async fn verify(store: Store, heads: Option<&std::path::Path>) -> ExitCode {
    let against_heads = match heads {
        None => Ok(None),
        Some(path) => super::proofs::verify_heads(&store, path).await.map(Some),
    };
    let against_heads = match against_heads {
        Ok(h) => h,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    match store.verify().await {
        Ok(v) => {
            let (printed, code) = match (v.broken, against_heads) {
                (Some(b), _) => (
                    outln!("broken at position {}: {b} ({} events before it are intact)", b.position(), v.checked),
                    ExitCode::from(1),
                ),
                (None, Some(Err(problem))) => (outln!("{problem}"), ExitCode::from(1)),
                (None, Some(Ok(held))) => (outln!("ok {} events; {held}", v.checked), ExitCode::SUCCESS),
                (None, None) => (outln!("ok {} events", v.checked), ExitCode::SUCCESS),
            };
            // The verdict is the exit code; a reader that has gone (`| head`) changes nothing.
            match printed {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    eprintln!("error: cannot write the result: {e}");
                    ExitCode::from(2)
                }
                _ => code,
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

pub(crate) async fn bench_cmd(database_url: &str, bench: &BenchCommand) -> anyhow::Result<()> {
    if let BenchCommand::Import { format, trades, accounts, symbols, write: Some(path) } = bench {
        let broker = commands::input::broker::Broker::from_name(format);
        std::fs::write(path, commands::bench::generate(broker, *trades, *accounts, *symbols))
            .with_context(|| format!("cannot write {}", path.display()))?;
        return Ok(());
    }
    let scratch = event_store::scratch::Scratch::create(database_url)
        .await
        .with_context(|| format!("cannot create a scratch database beside {database_url}"))?;
    let result = async {
        let store = Store::open(&scratch.url).await.with_context(|| format!("cannot open {}", scratch.url))?;
        let json = match *bench {
            BenchCommand::Append { events, batch, writers } => {
                serde_json::to_string(&event_store::bench::append(&store, events, batch, writers).await?)?
            }
            BenchCommand::Read { events } => serde_json::to_string(&event_store::bench::read(&store, events).await?)?,
            BenchCommand::Backup { events, households } => {
                super::bench::backup(&store, database_url, events, households).await?.to_string()
            }
            BenchCommand::Projections { events, households } => {
                super::bench::projections(&store, &scratch.url, events, households).await?.to_string()
            }
            BenchCommand::Performance { years, accounts, symbols, runs } => {
                super::bench::performance(&store, &scratch.url, years, accounts, symbols, runs).await?.to_string()
            }
            BenchCommand::Quotes { quotes, symbols, subscribers, clients } => {
                super::bench_market::quotes(&store, &scratch.url, quotes, symbols, subscribers, clients)
                    .await?
                    .to_string()
            }
            BenchCommand::Tree { events, proofs } => {
                serde_json::to_string(&event_store::bench::tree(&store, events, proofs).await?)?
            }
            BenchCommand::Alerts { households, symbols, live } => {
                super::bench_alerts::alerts(&store, &scratch.url, households, symbols, live).await?.to_string()
            }
            BenchCommand::Tax { households, lots, rebalance_lots, runs } => {
                tokio::task::spawn_blocking(move || super::bench_tax::tax(households, lots, rebalance_lots, runs))
                    .await??
                    .to_string()
            }
            BenchCommand::Estate { members, entities, runs } => {
                super::bench_tax::estate(&store, &scratch.url, members, entities, runs).await?.to_string()
            }
            BenchCommand::Fetch { symbols, years } => {
                super::bench_market::fetch(&store, symbols, years).await?.to_string()
            }
            BenchCommand::Http { queries, concurrency, trades, writers } => {
                super::bench::http(&store, &scratch.url, queries, concurrency, trades, writers).await?.to_string()
            }
            BenchCommand::Import { ref format, trades, accounts, symbols, .. } => {
                let broker = commands::input::broker::Broker::from_name(format);
                let cx = commands::Context::new(store.clone());
                let b = commands::bench::import(&cx, broker, trades, accounts, symbols).await?;
                let seconds = b.elapsed.as_secs_f64();
                serde_json::json!({
                    "backend": store.backend(),
                    "format": format,
                    "trades": b.trades,
                    "seconds": seconds,
                    "trades_per_sec": b.trades as f64 / seconds,
                    "events": b.outcome.events.len(),
                    "wash_sales": b.outcome.wash_sales_adjusted(),
                })
                .to_string()
            }
        };
        outln!("{json}")?;
        anyhow::Ok(())
    }
    .await;
    scratch.remove().await.context("removing the scratch database")?;
    result
}
