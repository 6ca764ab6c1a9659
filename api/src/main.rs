//! `cairn`: the command line. Run `cairn --help`, or `cairn <command> --help`.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::Context as _;
use api::{reports, AppState, Application};
use clap::{Args, Parser, Subcommand};
use commands::vault::{MasterKey, Vault};
use domain::ledger::{LedgerEvent, TradeChange};
use event_store::{codec, Direction, EventStore, Relay, RelayConfig, Store, StreamId};

/// cairn: an event-sourced wealth-planning ledger.
///
/// Every change is an immutable, hash-chained event in an append-only store (an embedded
/// SQLite file by default, or PostgreSQL). Exit codes: 0 success, 1 verification failed,
/// 2 bad input or an unreachable database.
#[derive(Debug, Parser)]
#[command(name = "cairn", version, propagate_version = true)]
struct Cli {
    /// Where the events live: sqlite://PATH (created on first use) or postgres://USER@HOST:PORT/DB.
    #[arg(long, env = "CAIRN_DATABASE_URL", default_value = "sqlite://./cairn-data/cairn.db", global = true)]
    database_url: String,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve HTTP: /health (checks the store) and /metrics (Prometheus text). With
    /// CAIRN_NATS_URL set, also runs the NATS relay.
    Serve {
        /// Address to listen on.
        #[arg(long, env = "CAIRN_BIND", default_value = "127.0.0.1:8080")]
        bind: SocketAddr,
        #[command(flatten)]
        nats: NatsArgs,
        /// NATS server to relay committed events to (the relay runs only when this is set).
        #[arg(long, env = "CAIRN_NATS_URL")]
        nats_url: Option<String>,
    },
    /// Publish committed events, in order, to NATS JetStream (subject <prefix>.<category>,
    /// header Nats-Msg-Id = event id), resuming from the checkpoint stored in the database.
    Relay {
        /// NATS server URL.
        #[arg(long, env = "CAIRN_NATS_URL")]
        nats_url: String,
        #[command(flatten)]
        nats: NatsArgs,
        /// Publish what is committed now, then exit (instead of following new commits).
        #[arg(long)]
        once: bool,
    },
    /// Read the event log.
    #[command(subcommand)]
    Events(EventsCommand),
    /// Recompute the hash chain: prints `ok <count> events` (exit 0) or the first broken
    /// position (exit 1).
    Verify,
    /// The household ledger: import trades, list open lots, realized gains.
    #[command(subcommand)]
    Ledger(LedgerCommand),
    /// Portfolios: accounts of a household with a target allocation, a drift threshold and an
    /// auto-rebalance flag. Edits take --expected-version, the version `show` printed: an edit
    /// against an older version is refused (a conflict), so two editors cannot overwrite each other.
    #[command(subcommand)]
    Portfolio(PortfolioCmd),
    /// Users: registration (personal data encrypted per user), profile, risk profile, KYC,
    /// accreditation, MFA, roles, terms, erasure. The master key comes from CAIRN_MASTER_KEY
    /// (64 hex characters) or the file CAIRN_MASTER_KEY_FILE (default
    /// ./cairn-data/master.key, created on first use).
    #[command(subcommand)]
    User(UserCmd),
    /// Measure throughput in a scratch database beside --database-url (a new SQLite file in the
    /// same folder, or a new PostgreSQL database on the same server), removed afterwards.
    #[command(subcommand)]
    Bench(BenchCommand),
}

impl Command {
    /// Commands that never create the database: a mistyped path must not look like an empty,
    /// intact ledger.
    fn only_reads(&self) -> bool {
        match self {
            Command::Verify | Command::Events(_) => true,
            Command::Ledger(l) => matches!(
                l,
                LedgerCommand::Lots { .. }
                    | LedgerCommand::Gains { .. }
                    | LedgerCommand::Contributions { .. }
                    | LedgerCommand::Accounts { .. }
                    | LedgerCommand::Match { .. }
            ),
            Command::User(UserCmd::Show { .. }) | Command::Portfolio(PortfolioCmd::Show { .. }) => true,
            _ => false,
        }
    }
}

#[derive(Debug, Args)]
struct NatsArgs {
    /// JetStream stream to publish into (created if missing).
    #[arg(long, env = "CAIRN_NATS_STREAM", default_value = "CAIRN_EVENTS")]
    nats_stream: String,
    /// Subject prefix: events go to <prefix>.<category>.
    #[arg(long, env = "CAIRN_NATS_SUBJECT_PREFIX", default_value = "cairn.events")]
    nats_subject_prefix: String,
}

impl NatsArgs {
    fn config(&self, url: &str) -> RelayConfig {
        RelayConfig {
            stream_name: self.nats_stream.clone(),
            subject_prefix: self.nats_subject_prefix.clone(),
            ..RelayConfig::new(url)
        }
    }
}

#[derive(Debug, Subcommand)]
enum EventsCommand {
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
enum LedgerCommand {
    /// Import a ledger CSV, all or nothing; importing the same file again records nothing.
    ///
    /// Columns: trade_date,account,account_type,action,symbol,quantity,price,fees and optionally
    /// settlement_date,lot_method,lot_ids,ratio,description,owner,new_symbol,fmv,allocation,
    /// commission,sec_fee,taf_fee,cusip,isin (README.md describes each). action is buy, sell,
    /// dividend, interest, deposit, withdrawal, fee, transfer_in, transfer_out, split,
    /// symbol_change, merger, spinoff or contribution. The household is created if missing; an
    /// account opens where its label first appears, with that row's account_type (taxable,
    /// traditional_401k, roth_401k, traditional_403b, traditional_ira, roth_ira, sep_ira,
    /// simple_ira, 529, hsa). A bad row refuses the whole file with `line N: <field>: <problem>`
    /// and exit code 2.
    Import {
        /// The CSV file.
        file: std::path::PathBuf,
        /// The household (created if missing).
        #[arg(long)]
        household: String,
        /// The file's format.
        #[arg(long, value_enum, default_value = "csv")]
        format: ImportFormat,
    },
    /// Void a recorded row (both halves of a paired transfer). The row stays in the history;
    /// lots, gains and wash sales are recomputed without it.
    Cancel {
        #[arg(long)]
        household: String,
        /// The row's id, as `cairn ledger lots` and `events tail` show it (e.g. T7).
        #[arg(long)]
        trade: String,
        /// Why (kept in the event).
        #[arg(long)]
        reason: String,
    },
    /// Replace fields of a recorded row; lots, gains and wash sales are recomputed.
    Correct {
        #[arg(long)]
        household: String,
        /// The row's id (e.g. T7).
        #[arg(long)]
        trade: String,
        /// Why (kept in the event).
        #[arg(long)]
        reason: String,
        #[arg(long)]
        trade_date: Option<chrono::NaiveDate>,
        #[arg(long)]
        settlement_date: Option<chrono::NaiveDate>,
        #[arg(long)]
        quantity: Option<rust_decimal::Decimal>,
        #[arg(long)]
        price: Option<rust_decimal::Decimal>,
        #[arg(long)]
        fees: Option<rust_decimal::Decimal>,
        /// fifo, lifo, hifo, specific or average.
        #[arg(long)]
        lot_method: Option<String>,
        /// Lot ids for specific identification, separated by spaces, commas or `;`.
        #[arg(long)]
        lot_ids: Option<String>,
        #[arg(long)]
        description: Option<String>,
    },
    /// Set the household's filing status: single, married_filing_jointly (mfj),
    /// married_filing_separately (mfs), head_of_household (hoh), qualifying_surviving_spouse (qss).
    Household {
        #[arg(long)]
        household: String,
        #[arg(long)]
        filing_status: String,
    },
    /// Record an account's details; numbers and tokens are encrypted with the household's key.
    /// Fields not given keep their value.
    Account {
        #[arg(long)]
        household: String,
        #[arg(long)]
        account: String,
        #[arg(long)]
        institution: Option<String>,
        #[arg(long)]
        account_number: Option<String>,
        #[arg(long)]
        routing_number: Option<String>,
        /// Plaid item id (kept in the clear) and access token (encrypted).
        #[arg(long)]
        plaid_item: Option<String>,
        #[arg(long)]
        plaid_token: Option<String>,
        /// Employer match tiers, RATE%:PAY%, e.g. 100:3,50:2 (100% of the first 3% of pay, 50% of the next 2%).
        #[arg(long)]
        employer_match: Option<String>,
        /// Vesting of employer money: immediate, cliff:YEARS or graded:START:PERCENT (e.g. graded:2:20).
        #[arg(long)]
        vesting: Option<String>,
    },
    /// Close an account that holds no shares; later rows for it are refused.
    Close {
        #[arg(long)]
        household: String,
        #[arg(long)]
        account: String,
        /// The closing date (YYYY-MM-DD).
        #[arg(long)]
        on: chrono::NaiveDate,
    },
    /// The household's accounts: type, owner, lot method, institution, masked numbers, plan
    /// terms, closing date and cash balance.
    Accounts {
        #[arg(long)]
        household: String,
        #[arg(long, value_enum, default_value = "table")]
        format: reports::Format,
    },
    /// The employer match on a year's deferrals under the account's formula, and how much of it
    /// is vested after the given years of service.
    Match {
        #[arg(long)]
        household: String,
        #[arg(long)]
        account: String,
        /// Annual pay.
        #[arg(long)]
        pay: rust_decimal::Decimal,
        /// The employee's deferrals for the year.
        #[arg(long)]
        deferral: rust_decimal::Decimal,
        #[arg(long, default_value_t = 0)]
        years_of_service: u32,
    },
    /// Record or update a household member: birth date (for catch-up limits) and HSA coverage.
    Member {
        #[arg(long)]
        household: String,
        /// The member's name, as used in the ledger CSV's `owner` column.
        #[arg(long)]
        name: String,
        /// Date of birth (YYYY-MM-DD).
        #[arg(long)]
        born: Option<chrono::NaiveDate>,
        /// self or family.
        #[arg(long)]
        hsa_coverage: Option<String>,
    },
    /// Contributions of a tax year against each member's limits (401(k)/403(b) deferrals with
    /// catch-ups, annual additions, SIMPLE, IRA, HSA; 529 totals).
    Contributions {
        #[arg(long)]
        household: String,
        #[arg(long)]
        year: i32,
        #[arg(long, value_enum, default_value = "table")]
        format: reports::Format,
    },
    /// Open tax lots: symbol, account, quantity, acquired date (after wash-sale tacking),
    /// adjusted basis.
    Lots {
        #[arg(long)]
        household: String,
        /// Only rows traded on or before this date (YYYY-MM-DD).
        #[arg(long)]
        as_of: Option<chrono::NaiveDate>,
        #[arg(long, value_enum, default_value = "table")]
        format: reports::Format,
    },
    /// Realized gains of a tax year, Form 8949 style (taxable accounts), with totals per term.
    Gains {
        #[arg(long)]
        household: String,
        #[arg(long)]
        year: i32,
        #[arg(long, value_enum, default_value = "table")]
        format: reports::Format,
    },
}

#[derive(Debug, Subcommand)]
enum UserCmd {
    /// Register a user; prints the new user id.
    Register {
        #[arg(long)]
        name: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        tax_id: Option<String>,
        #[arg(long)]
        born: Option<chrono::NaiveDate>,
        /// The household the user belongs to.
        #[arg(long)]
        household: Option<String>,
    },
    /// Show a user, personal data decrypted (or "erased").
    Show {
        #[arg(long)]
        user: String,
    },
    /// Change personal data; fields not given keep their value.
    Profile {
        #[arg(long)]
        user: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        tax_id: Option<String>,
        #[arg(long)]
        born: Option<chrono::NaiveDate>,
    },
    /// Set the risk profile: tolerance 0 to 1, horizon in years, marginal tax brackets as fractions.
    Risk {
        #[arg(long)]
        user: String,
        #[arg(long)]
        tolerance: rust_decimal::Decimal,
        #[arg(long)]
        horizon: u32,
        #[arg(long)]
        federal_bracket: rust_decimal::Decimal,
        #[arg(long, default_value = "0")]
        state_bracket: rust_decimal::Decimal,
    },
    /// KYC: submit → review → approve or reject; expire after the approval's date.
    Kyc {
        #[command(subcommand)]
        step: KycStep,
    },
    /// Record accredited-investor status: income, net_worth, professional or entity.
    Accredit {
        #[arg(long)]
        user: String,
        #[arg(long)]
        kind: String,
    },
    /// Turn MFA on (prints the new TOTP secret once) or off.
    Mfa {
        #[arg(long)]
        user: String,
        #[arg(value_parser = ["enable", "disable"])]
        action: String,
    },
    /// Grant or revoke a role: client, advisor, auditor, admin.
    Role {
        #[arg(long)]
        user: String,
        #[arg(value_parser = ["grant", "revoke"])]
        action: String,
        #[arg(long)]
        role: String,
    },
    /// Record acceptance of a terms version.
    Terms {
        #[arg(long)]
        user: String,
        /// The version of the terms accepted.
        #[arg(long = "terms-version")]
        terms_version: String,
    },
    /// Erase the user's personal data: records the request and destroys the user's data key.
    /// The events stay (the chain still verifies); the personal data becomes unreadable.
    Erase {
        #[arg(long)]
        user: String,
    },
}

#[derive(Debug, Args)]
struct PortfolioRef {
    #[arg(long)]
    household: String,
    /// The portfolio's name within the household.
    #[arg(long)]
    name: String,
    /// The version last seen (from `show`); the edit is refused if the portfolio changed since.
    #[arg(long)]
    expected_version: Option<u64>,
}

#[derive(Debug, Subcommand)]
enum PortfolioCmd {
    /// Create a portfolio over some of the household's accounts (labels, comma-separated).
    Create {
        #[command(flatten)]
        at: PortfolioRef,
        #[arg(long)]
        accounts: String,
    },
    /// Change the accounts the portfolio spans.
    Accounts {
        #[command(flatten)]
        at: PortfolioRef,
        #[arg(long)]
        accounts: String,
    },
    /// Set the target allocation: weights by asset class or symbol summing to exactly 1,
    /// e.g. --weights VTI=0.6,BND=0.4.
    Target {
        #[command(flatten)]
        at: PortfolioRef,
        #[arg(long)]
        weights: String,
    },
    /// Set the drift threshold (a fraction: 0.05 is 5 points; the default).
    Drift {
        #[command(flatten)]
        at: PortfolioRef,
        #[arg(long)]
        threshold: rust_decimal::Decimal,
    },
    /// Turn automatic rebalancing on or off.
    AutoRebalance {
        #[command(flatten)]
        at: PortfolioRef,
        #[arg(value_parser = ["on", "off"])]
        state: String,
    },
    /// Show the portfolio and its version.
    Show {
        #[arg(long)]
        household: String,
        #[arg(long)]
        name: String,
    },
}

#[derive(Debug, Subcommand)]
enum KycStep {
    /// Submit documents, each as kind:reference (e.g. passport:vault://docs/123).
    Submit {
        #[arg(long)]
        user: String,
        #[arg(long = "document", required = true)]
        documents: Vec<String>,
    },
    /// Start reviewing a pending submission.
    Review {
        #[arg(long)]
        user: String,
        #[arg(long)]
        reviewer: String,
    },
    /// Approve a submission under review, until an expiry date.
    Approve {
        #[arg(long)]
        user: String,
        #[arg(long)]
        reviewer: String,
        /// When the approval expires (YYYY-MM-DD).
        #[arg(long)]
        expires: chrono::NaiveDate,
    },
    /// Reject a submission under review, with the reason (the user may submit again).
    Reject {
        #[arg(long)]
        user: String,
        #[arg(long)]
        reviewer: String,
        #[arg(long)]
        reason: String,
    },
    /// Mark an approval expired (on or after its expiry date).
    Expire {
        #[arg(long)]
        user: String,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ImportFormat {
    Csv,
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
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
    /// --write FILE, only writes the file (to time `cairn ledger import FILE` yourself).
    Import {
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
    /// Store events, then time reading and decoding all of them; prints JSON.
    Read {
        /// Events to store and read back.
        #[arg(long, default_value_t = 100_000)]
        events: usize,
    },
}

// mimalloc, also standing in for C's malloc (the `override` feature) so that SQLite's own
// allocations are cheap too: large reads allocate on sqlx's SQLite worker thread and free on
// the runtime's threads, which glibc's malloc handles poorly.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let default_level =
        if matches!(cli.command, Command::Serve { .. } | Command::Relay { .. }) { "info" } else { "warn" };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level)),
        )
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    runtime.block_on(run(cli))
}

async fn run(cli: Cli) -> ExitCode {
    if let Command::Bench(bench) = &cli.command {
        return report(bench_cmd(&cli.database_url, bench).await);
    }
    let store = match if cli.command.only_reads() {
        Store::open_existing(&cli.database_url).await
    } else {
        Store::open(&cli.database_url).await
    } {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: cannot open database {}: {e}", cli.database_url);
            return ExitCode::from(2);
        }
    };
    match cli.command {
        Command::Serve { bind, nats, nats_url } => report(serve(store, bind, nats_url.map(|u| nats.config(&u))).await),
        Command::Relay { nats_url, nats, once } => report(relay(store, nats.config(&nats_url), once).await),
        Command::Events(EventsCommand::Tail { from, follow, stream }) => {
            report(tail(store, from, follow, stream).await)
        }
        Command::Verify => verify(store).await,
        Command::Ledger(cmd) => report(ledger(store, cmd).await),
        Command::User(cmd) => report(user(store, cmd).await),
        Command::Portfolio(cmd) => report(portfolio(store, cmd).await),
        Command::Bench(_) => unreachable!("handled above"),
    }
}

fn report(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

async fn serve(store: Store, bind: SocketAddr, relay: Option<RelayConfig>) -> anyhow::Result<()> {
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let relay_task = relay.map(|config| tokio::spawn(relay_until_stopped(store.clone(), config, stopping.clone())));
    let app = Application::build(AppState { store }, bind).await.with_context(|| format!("cannot listen on {bind}"))?;
    tracing::info!(addr = %app.local_addr()?, "cairn serving");
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop.send(true);
    });
    let mut app_stopping = stopping;
    app.run(async move {
        let _ = app_stopping.wait_for(|s| *s).await;
    })
    .await?;
    if let Some(task) = relay_task {
        task.await.context("relay task")?;
    }
    Ok(())
}

/// The relay inside `serve`: a NATS outage must not take the HTTP server down, so it logs the
/// failure and reconnects every five seconds, resuming from its checkpoint, until shutdown.
async fn relay_until_stopped(store: Store, config: RelayConfig, mut stopping: tokio::sync::watch::Receiver<bool>) {
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

async fn relay(store: Store, config: RelayConfig, once: bool) -> anyhow::Result<()> {
    let relay = Relay::connect(store, config).await?;
    let stats = if once { relay.run_until_caught_up().await? } else { relay.run(shutdown_signal()).await? };
    println!(
        "{}",
        serde_json::json!({
            "published": stats.published,
            "duplicates": stats.duplicates,
            "checkpoint": stats.checkpoint,
        })
    );
    Ok(())
}

async fn tail(store: Store, from: u64, follow: bool, stream: Option<String>) -> anyhow::Result<()> {
    let stream = stream.map(StreamId::new).transpose().context("--stream")?;
    let mut out = std::io::stdout().lock();
    // A closed pipe (e.g. `| head`) ends the command quietly.
    let mut print = |e: &event_store::StoredEvent| -> bool {
        if stream.as_ref().is_some_and(|s| *s != e.stream_id) {
            return true;
        }
        writeln!(out, "{}", codec::to_json(e)).and_then(|()| if follow { out.flush() } else { Ok(()) }).is_ok()
    };
    if follow {
        let mut sub = store.subscribe(from);
        loop {
            let batch = tokio::select! {
                b = sub.next_batch(1_000) => b?,
                () = shutdown_signal() => return Ok(()),
            };
            if !batch.iter().all(&mut print) {
                return Ok(());
            }
        }
    }
    match &stream {
        Some(s) => {
            let mut version = 1;
            loop {
                let page = store.read_stream(s, version, Direction::Forwards, 1_000).await?;
                let Some(last) = page.last() else { break };
                version = last.stream_version + 1;
                if !page.iter().filter(|e| e.global_position >= from).all(&mut print) {
                    return Ok(());
                }
            }
        }
        None => {
            let mut position = from;
            loop {
                let page = store.read_all(position, 1_000).await?;
                let Some(last) = page.last() else { break };
                position = last.global_position + 1;
                if !page.iter().all(&mut print) {
                    return Ok(());
                }
            }
        }
    }
    Ok(())
}

async fn verify(store: Store) -> ExitCode {
    match store.verify().await {
        Ok(v) => match v.broken {
            None => {
                println!("ok {} events", v.checked);
                ExitCode::SUCCESS
            }
            Some(b) => {
                println!("broken at position {}: {b} ({} events before it are intact)", b.position(), v.checked);
                ExitCode::from(1)
            }
        },
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

async fn ledger(store: Store, cmd: LedgerCommand) -> anyhow::Result<()> {
    match cmd {
        LedgerCommand::Import { file, household, format: ImportFormat::Csv } => {
            let bytes = std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let o = commands::ledger::import_csv(&store, &household, &bytes, &caller("cairn ledger import")).await?;
            let rows = o.events.iter().filter(|e| matches!(e, LedgerEvent::TradeRecorded(_))).count();
            print_outcome(&o, serde_json::json!({ "rows": rows, "already_imported": o.events.is_empty() }));
        }
        LedgerCommand::Cancel { household, trade, reason } => {
            let o =
                commands::ledger::cancel(&store, &household, &trade, &reason, &caller("cairn ledger cancel")).await?;
            print_outcome(&o, serde_json::json!({ "cancelled": trade }));
        }
        LedgerCommand::Correct {
            household,
            trade,
            reason,
            trade_date,
            settlement_date,
            quantity,
            price,
            fees,
            lot_method,
            lot_ids,
            description,
        } => {
            let change = TradeChange {
                trade_date,
                settlement_date,
                quantity,
                price,
                fees,
                lot_method: lot_method
                    .map(|m| m.parse())
                    .transpose()
                    .map_err(|e: String| anyhow::anyhow!("--lot-method: {e}"))?,
                lot_ids: lot_ids
                    .map(|ids| ids.split([' ', ';', ',']).filter(|s| !s.is_empty()).map(str::to_owned).collect()),
                description,
            };
            let o =
                commands::ledger::correct(&store, &household, &trade, change, &reason, &caller("cairn ledger correct"))
                    .await?;
            print_outcome(&o, serde_json::json!({ "corrected": trade }));
        }
        LedgerCommand::Member { household, name, born, hsa_coverage } => {
            let coverage = hsa_coverage
                .map(|c| c.parse())
                .transpose()
                .map_err(|e: String| anyhow::anyhow!("--hsa-coverage: {e}"))?;
            let o =
                commands::ledger::set_member(&store, &household, &name, born, coverage, &caller("cairn ledger member"))
                    .await?;
            print_outcome(&o, serde_json::json!({ "member": name }));
        }
        LedgerCommand::Household { household, filing_status } => {
            let status = filing_status.parse().map_err(|e: String| anyhow::anyhow!("--filing-status: {e}"))?;
            let o = commands::ledger::set_filing_status(&store, &household, status, &caller("cairn ledger household"))
                .await?;
            print_outcome(&o, serde_json::json!({ "filing_status": filing_status }));
        }
        LedgerCommand::Account {
            household,
            account,
            institution,
            account_number,
            routing_number,
            plaid_item,
            plaid_token,
            employer_match,
            vesting,
        } => {
            let change = commands::ledger::AccountChange {
                institution,
                account_number,
                routing_number,
                plaid_item_id: plaid_item,
                plaid_access_token: plaid_token,
                employer_match: employer_match
                    .map(|m| m.parse())
                    .transpose()
                    .map_err(|e: String| anyhow::anyhow!("--employer-match: {e}"))?,
                vesting: vesting
                    .map(|v| v.parse())
                    .transpose()
                    .map_err(|e: String| anyhow::anyhow!("--vesting: {e}"))?,
            };
            let vault = Vault::new(store.clone(), master_key()?);
            let who = caller("cairn ledger account");
            let o = commands::ledger::set_account_details(&store, &vault, &household, &account, change, &who).await?;
            print_outcome(&o, serde_json::json!({ "account": account }));
        }
        LedgerCommand::Close { household, account, on } => {
            let o = commands::ledger::close_account(&store, &household, &account, on, &caller("cairn ledger close"))
                .await?;
            print_outcome(&o, serde_json::json!({ "closed": account }));
        }
        LedgerCommand::Accounts { household, format } => {
            let vault = Vault::new(store.clone(), master_key()?);
            let views = commands::ledger::accounts(&store, &vault, &household).await?;
            print!("{}", with_newline(reports::accounts(&views).render(format)));
        }
        LedgerCommand::Match { household, account, pay, deferral, years_of_service } => {
            let ledger = load_ledger(&store, &household).await?;
            let details = ledger.details.get(&account).cloned().unwrap_or_default();
            let formula = details
                .employer_match
                .ok_or_else(|| anyhow::anyhow!("account: {account} has no employer match formula; set one with `cairn ledger account --employer-match`"))?;
            let ceiling = rust_decimal::Decimal::from(1_000_000_000_000u64);
            if pay > ceiling || deferral > ceiling || deferral < rust_decimal::Decimal::ZERO {
                anyhow::bail!("--pay and --deferral must be between 0 and 1,000,000,000,000");
            }
            let matched = formula.employer_match(pay, deferral);
            let vested = details.vesting.map_or(rust_decimal::Decimal::ONE, |v| v.vested_fraction(years_of_service));
            println!(
                "{}",
                serde_json::json!({
                    "account": account,
                    "employer_match": reports::money(matched),
                    "vested_fraction": vested.normalize().to_string(),
                    "vested_match": reports::money(matched * vested),
                })
            );
        }
        LedgerCommand::Contributions { household, year, format } => {
            let ledger = load_ledger(&store, &household).await?;
            print!("{}", with_newline(reports::contributions(&ledger.contributions(Some(year))?).render(format)));
        }
        LedgerCommand::Lots { household, as_of, format } => {
            let book = load_book(&store, &household, as_of).await?;
            print!("{}", with_newline(reports::lots(&book).render(format)));
        }
        LedgerCommand::Gains { household, year, format } => {
            let book = load_book(&store, &household, None).await?;
            print!("{}", with_newline(reports::gains(&book, year).render(format)));
        }
    }
    Ok(())
}

async fn portfolio(store: Store, cmd: PortfolioCmd) -> anyhow::Result<()> {
    use domain::portfolio::PortfolioCommand as P;
    let list = |s: &str| s.split(',').map(str::trim).filter(|a| !a.is_empty()).map(str::to_owned).collect::<Vec<_>>();
    let (at, command) = match cmd {
        PortfolioCmd::Show { household, name } => {
            let (p, version) = commands::portfolio::show(&store, &household, &name).await?;
            let target: serde_json::Map<String, serde_json::Value> =
                p.target.iter().map(|(k, w)| (k.clone(), serde_json::Value::String(w.to_string()))).collect();
            println!(
                "{}",
                serde_json::json!({
                    "household": household,
                    "name": name,
                    "version": version,
                    "accounts": p.accounts,
                    "target": target,
                    "drift_threshold": p.drift_threshold.to_string(),
                    "auto_rebalance": p.auto_rebalance,
                })
            );
            return Ok(());
        }
        PortfolioCmd::Create { at, accounts } => {
            let command =
                P::Create { household: at.household.clone(), name: at.name.clone(), accounts: list(&accounts) };
            (at, command)
        }
        PortfolioCmd::Accounts { at, accounts } => {
            let command = P::SetAccounts(list(&accounts));
            (at, command)
        }
        PortfolioCmd::Target { at, weights } => {
            let command = P::SetTarget(commands::portfolio::parse_weights(&weights)?);
            (at, command)
        }
        PortfolioCmd::Drift { at, threshold } => (at, P::SetDriftThreshold(threshold)),
        PortfolioCmd::AutoRebalance { at, state } => (at, P::SetAutoRebalance(state == "on")),
    };
    let done = commands::portfolio::run(
        &store,
        &at.household,
        &at.name,
        command,
        at.expected_version,
        &caller("cairn portfolio"),
    )
    .await?;
    let types: Vec<&str> = done.events.iter().map(|e| e.event_type()).collect();
    println!("{}", serde_json::json!({ "events": types, "version": done.stream_version }));
    Ok(())
}

/// The master key: CAIRN_MASTER_KEY (hex), or the file CAIRN_MASTER_KEY_FILE, by default
/// ./cairn-data/master.key, created with a fresh key when missing.
fn master_key() -> anyhow::Result<MasterKey> {
    if let Ok(hex) = std::env::var("CAIRN_MASTER_KEY") {
        return Ok(MasterKey::from_hex(&hex)?);
    }
    let path = std::env::var("CAIRN_MASTER_KEY_FILE").unwrap_or_else(|_| "./cairn-data/master.key".into());
    Ok(MasterKey::load_or_create(std::path::Path::new(&path))?)
}

async fn user(store: Store, cmd: UserCmd) -> anyhow::Result<()> {
    use commands::user::{self as users, PersonalData};
    use domain::user::UserCommand as U;
    let vault = Vault::new(store.clone(), master_key()?);
    let who = caller("cairn user");
    let (user_id, done) = match cmd {
        UserCmd::Register { name, email, tax_id, born, household } => {
            let personal = PersonalData { name, email, tax_id, born };
            let id = users::register(&store, &vault, &personal, household, &who).await?;
            println!("{}", serde_json::json!({ "user_id": id }));
            return Ok(());
        }
        UserCmd::Show { user } => {
            let v = users::show(&store, &vault, &user).await?;
            println!(
                "{}",
                serde_json::json!({
                    "user_id": v.user_id,
                    "household": v.household,
                    "erased": v.erased,
                    "name": v.personal.as_ref().map(|p| p.name.clone()),
                    "email": v.personal.as_ref().map(|p| p.email.clone()),
                    "tax_id": v.personal.as_ref().and_then(|p| p.tax_id.clone()),
                    "born": v.personal.as_ref().and_then(|p| p.born),
                    "kyc_status": v.kyc.as_str(),
                    "kyc_expires": v.kyc_expires,
                    "risk_profile": v.risk,
                    "accreditation": v.accreditation,
                    "mfa_enabled": v.mfa_enabled,
                    "roles": v.roles,
                    "terms_version": v.terms_version,
                })
            );
            return Ok(());
        }
        UserCmd::Profile { user, name, email, tax_id, born } => {
            let change =
                PersonalData { name: name.unwrap_or_default(), email: email.unwrap_or_default(), tax_id, born };
            let done = users::update_profile(&store, &vault, &user, change, &who).await?;
            (user, done)
        }
        UserCmd::Risk { user, tolerance, horizon, federal_bracket, state_bracket } => {
            let profile = domain::user::RiskProfile {
                risk_tolerance: tolerance,
                horizon_years: horizon,
                federal_bracket,
                state_bracket,
            };
            let done = users::command(&store, &user, U::SetRiskProfile(profile), &who).await?;
            (user, done)
        }
        UserCmd::Kyc { step } => {
            let (user, command) = match step {
                KycStep::Submit { user, documents } => {
                    let documents = users::parse_documents(&documents)?;
                    (user, U::SubmitKyc { documents })
                }
                KycStep::Review { user, reviewer } => (user, U::StartKycReview { reviewer }),
                KycStep::Approve { user, reviewer, expires } => (user, U::ApproveKyc { reviewer, expires_at: expires }),
                KycStep::Reject { user, reviewer, reason } => (user, U::RejectKyc { reviewer, reason }),
                KycStep::Expire { user } => (user, U::ExpireKyc),
            };
            let done = users::command(&store, &user, command, &who).await?;
            (user, done)
        }
        UserCmd::Accredit { user, kind } => {
            let kind = kind.parse().map_err(|e: String| anyhow::anyhow!("--kind: {e}"))?;
            let done = users::command(&store, &user, U::VerifyAccreditation(kind), &who).await?;
            (user, done)
        }
        UserCmd::Mfa { user, action } => {
            if action == "enable" {
                let secret = users::enable_mfa(&store, &vault, &user, &who).await?;
                let uri = format!("otpauth://totp/cairn:{user}?secret={secret}&issuer=cairn");
                println!(
                    "{}",
                    serde_json::json!({ "user_id": user, "mfa_enabled": true, "secret": secret, "otpauth_uri": uri })
                );
                return Ok(());
            }
            let done = users::command(&store, &user, U::DisableMfa, &who).await?;
            (user, done)
        }
        UserCmd::Role { user, action, role } => {
            let role = role.parse().map_err(|e: String| anyhow::anyhow!("--role: {e}"))?;
            let by = who.actor.clone();
            let command = if action == "grant" { U::GrantRole { role, by } } else { U::RevokeRole { role, by } };
            let done = users::command(&store, &user, command, &who).await?;
            (user, done)
        }
        UserCmd::Terms { user, terms_version } => {
            let done = users::command(&store, &user, U::AcceptTerms { version: terms_version }, &who).await?;
            (user, done)
        }
        UserCmd::Erase { user } => {
            users::erase(&store, &vault, &user, &who.actor.clone(), &who).await?;
            println!("{}", serde_json::json!({ "user_id": user, "erased": true }));
            return Ok(());
        }
    };
    let types: Vec<&str> = done.events.iter().map(|e| e.event_type()).collect();
    println!("{}", serde_json::json!({ "user_id": user_id, "events": types, "last_position": done.last_position }));
    Ok(())
}

/// Who runs a command from this shell.
fn caller(source: &str) -> commands::ledger::Caller {
    commands::ledger::Caller {
        actor: std::env::var("CAIRN_ACTOR").or_else(|_| std::env::var("USER")).unwrap_or_else(|_| "cli".into()),
        source: source.to_owned(),
    }
}

/// Prints what a ledger command recorded as one JSON object, with `extra` fields merged in.
fn print_outcome(o: &commands::ledger::Outcome, extra: serde_json::Value) {
    let mut out = serde_json::json!({
        "household": o.household,
        "stream_id": o.stream_id,
        "events": o.events.len(),
        "wash_sales_adjusted": o.wash_sales_adjusted(),
        "wash_sales_reversed": o.wash_sales_reversed(),
        "first_position": o.first_position,
        "last_position": o.last_position,
    });
    if let (Some(out), serde_json::Value::Object(extra)) = (out.as_object_mut(), extra) {
        out.extend(extra);
    }
    println!("{out}");
}

fn with_newline(mut s: String) -> String {
    if !s.ends_with('\n') {
        s.push('\n');
    }
    s
}

async fn load_ledger(store: &Store, household: &str) -> anyhow::Result<domain::ledger::Ledger> {
    let (ledger, version) = commands::ledger::load(store, household).await?;
    if version == 0 {
        anyhow::bail!("household: no ledger for {household:?}; import one with `cairn ledger import`");
    }
    Ok(ledger)
}

async fn load_book(
    store: &Store,
    household: &str,
    as_of: Option<chrono::NaiveDate>,
) -> anyhow::Result<domain::ledger::lots::Book> {
    Ok(load_ledger(store, household).await?.book(as_of)?)
}

async fn bench_cmd(database_url: &str, bench: &BenchCommand) -> anyhow::Result<()> {
    if let BenchCommand::Import { trades, accounts, symbols, write: Some(path) } = bench {
        std::fs::write(path, commands::bench::generate_csv(*trades, *accounts, *symbols))
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
            BenchCommand::Import { trades, accounts, symbols, .. } => {
                let b = commands::bench::import(&store, trades, accounts, symbols).await?;
                let seconds = b.elapsed.as_secs_f64();
                serde_json::json!({
                    "backend": store.backend(),
                    "trades": b.trades,
                    "seconds": seconds,
                    "trades_per_sec": b.trades as f64 / seconds,
                    "events": b.outcome.events.len(),
                    "wash_sales": b.outcome.wash_sales_adjusted(),
                })
                .to_string()
            }
        };
        println!("{json}");
        anyhow::Ok(())
    }
    .await;
    scratch.remove().await.context("removing the scratch database")?;
    result
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_definition_is_consistent() {
        <super::Cli as clap::CommandFactory>::command().debug_assert();
    }
}
