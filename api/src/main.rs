//! `cairn`: the command line. Run `cairn --help`, or `cairn <command> --help`.

// Output goes through `cli::write_out` (`out!`, `outln!`), which returns a closed pipe as an
// error instead of panicking as `print!` does.
#![deny(clippy::print_stdout)]

mod cli;

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use cli::alerts::{alerts, rules, AlertsCmd, RulesCmd};
use cli::backup::{backup, BackupCmd};
use cli::calendar::{calendar, CalendarCmd};
use cli::estate::{estate, EstateCmd};
use cli::goals::{goals, GoalsCmd};
use cli::ledger::{ledger, LedgerCommand};
use cli::market::{market, MarketCmd};
use cli::ops::{ops, OpsCmd};
use cli::performance::{holdings, income, performance, HoldingsArgs, IncomeArgs, PerformanceArgs};
use cli::portfolio::{portfolio, PortfolioCmd};
use cli::quant::{quant, QuantCmd};
use cli::read::{audit, project, projections_cmd, AuditCmd, ProjectArgs, ProjectionsCmd};
use cli::recurring::{recurring, RecurringCmd};
use cli::simulate::{economy, simulate, EconomyArgs, SimulateArgs};
use cli::store::{bench_cmd, relay, serve, tail, verify, BenchCommand, EventsCommand};
use cli::tax::{tax, TaxCmd};
use cli::user::{user, UserCmd};
use event_store::{RelayConfig, Store};

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
    /// Serve HTTP: /health (checks the store) and /metrics (Prometheus text), and keep the read
    /// models caught up. With CAIRN_NATS_URL set, also runs the NATS relay.
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
    /// header Nats-Msg-Id = event id), resuming from the checkpoint stored in the database; and
    /// ship the wrapped data keys to the key-value bucket <stream>_KEYS (one entry per subject,
    /// a destroyed key replacing its entry) for followers.
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
    /// position (exit 1). With --heads (a file of signed tree heads, one JSON per line, as
    /// `cairn audit head >> heads.jsonl` keeps them), also checks the log against every head:
    /// a log shorter than a head, or whose first events no longer give a head's root, fails
    /// (exit 1), naming the missing positions or the range the change is in. Heads are checked
    /// with the audit key's public half (CAIRN_AUDIT_KEY_FILE) when its file is here.
    Verify {
        #[arg(long)]
        heads: Option<std::path::PathBuf>,
    },
    /// The household ledger: import trades, list open lots, realized gains.
    #[command(subcommand)]
    Ledger(LedgerCommand),
    /// How a household (or one account) is doing: value, flows, gain, income, fees and returns
    /// per period (month, quarter and year to date, 1, 3 and 5 years, since inception, and
    /// --from): time-weighted net and gross of fees, money-weighted (XIRR) and Modified Dietz,
    /// against a benchmark with --benchmark. From the ledger and the prices read model.
    Performance(PerformanceArgs),
    /// Dividends (qualified and ordinary) and interest per month or year, the trailing twelve
    /// months' income and its yield on the cost of the positions held.
    Income(IncomeArgs),
    /// Consolidated holdings across the household's accounts at the latest close, described by
    /// the security master (`cairn market securities`), and the allocation by asset class,
    /// sector, region or account, cash included.
    Holdings(HoldingsArgs),
    /// Market data: daily bars recorded as events on one stream per symbol, and queries
    /// (latest, a date range, resampled to weeks or months).
    #[command(subcommand)]
    Market(MarketCmd),
    /// The NYSE's trading calendar: sessions (regular hours, early closes, holidays and special
    /// closings, with daylight saving time) and the next opening or closing. Needs no database.
    #[command(subcommand)]
    Calendar(CalendarCmd),
    /// The day's operations: each NYSE session's phases (pre-market 04:00, the open, midday
    /// 12:00, the close, post-market 18:00, New York time) and their tasks, recorded on the
    /// session's `ops-<date>` stream. `cairn serve` runs them by itself with CAIRN_OPS set.
    #[command(subcommand)]
    Ops(OpsCmd),
    /// Alerts: what the monitoring rules (drift, drawdown, goal progress, tax losses, risk
    /// breaches, concentration, cash drag, large flows, market regime) found, raised once per
    /// condition on the household's `alerts-<household>` stream; snooze and dismiss.
    #[command(subcommand)]
    Alerts(AlertsCmd),
    /// The monitoring rules' thresholds per household: a profile (conservative, moderate,
    /// aggressive) and settings overridden by name, recorded as events.
    #[command(subcommand)]
    Rules(RulesCmd),
    /// Goals: an amount wanted by a date (college, a house), funded by some accounts and a
    /// monthly contribution; how funded each is and the chance of reaching it (Monte Carlo).
    /// The goal-progress rule raises an alert when either falls below the household's floor.
    #[command(subcommand)]
    Goals(GoalsCmd),
    /// Standing instructions that buy by themselves: recurring purchases and dividend
    /// reinvestment, recorded on the household's ledger stream; the harvesting scan blocks a
    /// loss sale they would turn into a wash sale.
    #[command(subcommand)]
    Recurring(RecurringCmd),
    /// Tax planning: a year's federal income tax from the ledger (`estimate`), with the tables
    /// of 2024 to 2026 and their sources.
    #[command(subcommand)]
    Tax(TaxCmd),
    /// Estate planning: the federal estate tax if a member died this year (`tax`), from the
    /// household's accounts and a plan file, and lifetime gifts as Form 709 computes them
    /// (`gifts`), with the transfer-tax amounts of 2024 to 2026 and their sources.
    #[command(subcommand)]
    Estate(EstateCmd),
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
    /// The read models (projections): status, rebuild, digest. `cairn serve` keeps them caught
    /// up; every report also catches them up before it reads.
    #[command(subcommand)]
    Projections(ProjectionsCmd),
    /// Keep the read models in another database, fed from --database-url or from NATS
    /// JetStream (--from-nats, the relay's subjects); prints each projector's digest at the end.
    Project(ProjectArgs),
    /// Auditors: any report as of an instant, the changes recorded in a window, the KYC trail.
    /// JSON and CSV reports carry their SHA-256 and are themselves recorded (ReportGenerated).
    #[command(subcommand)]
    Audit(AuditCmd),
    /// Backups of the log: sealed (zstd, AES-256-GCM) segments with a signed manifest, made
    /// while `serve` runs and grown incrementally; `verify` checks one whole.
    #[command(subcommand)]
    Backup(BackupCmd),
    /// Follow a primary: a store fed from the relay's JetStream stream that keeps an exact copy
    /// of the log (same positions, ids, instants and hashes; each event's chain link checked as
    /// it is applied, stopping at a mismatch), the primary's wrapped data keys (from the bucket
    /// <stream>_KEYS; a key destroyed there is destroyed here), and the largest signed tree head
    /// the primary published. Read-only (writing commands and `serve` refuse it) until promoted;
    /// promoted, it needs the primary's master key file to read what those keys protect.
    Replicate {
        /// The relay's NATS server.
        #[arg(long, value_name = "URL")]
        from_nats: String,
        /// The follower: an empty store (`sqlite://PATH` or `postgres://…`), or this follower.
        #[arg(long, value_name = "URL")]
        to: String,
        #[command(flatten)]
        nats: NatsArgs,
        /// Keep following (otherwise stop once caught up).
        #[arg(long)]
        follow: bool,
        /// Serve the follower's lag as Prometheus gauges on `GET /metrics` at this address
        /// (`cairn_replica_position`, `_stream_head`, `_lag_events`, `_signed_head`,
        /// `_behind_signed_head`, `_lag_seconds`); the address bound is logged (`addr=`).
        #[arg(long, value_name = "ADDR")]
        metrics: Option<SocketAddr>,
    },
    /// Turn a caught-up follower (`--database-url`) into the primary. Refused when it holds
    /// fewer events than the last signed head it saw the primary publish (acknowledged events
    /// would be lost), unless `--force`; the promotion and any loss are recorded on the log
    /// (`ReplicaPromoted` on `replica-promotions`).
    Promote {
        #[arg(long)]
        force: bool,
    },
    /// Restore a backup (`cairn backup create`) into an empty store, SQLite or PostgreSQL,
    /// whole or up to an instant or a position, then rebuild the read models. Needs the backup
    /// key (`CAIRN_BACKUP_KEY_FILE`).
    Restore {
        /// The backup's folder.
        dir: std::path::PathBuf,
        /// The store to restore into: `sqlite://PATH` or `postgres://…`, empty.
        #[arg(long, value_name = "URL")]
        to: String,
        /// Restore the events recorded up to this instant (RFC 3339, or a day for its end, UTC).
        #[arg(long, value_name = "INSTANT", conflicts_with = "to_position")]
        to_time: Option<String>,
        /// Restore the events up to this position.
        #[arg(long, value_name = "N")]
        to_position: Option<u64>,
        /// Read and check the backup and say what would be restored; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Go on into a store that already holds events, when its log is a prefix of the
        /// backup's (a restore that was interrupted).
        #[arg(long)]
        force: bool,
    },
    /// Run a Monte Carlo simulation of a plan file (TOML; see examples/retirement.toml). Needs
    /// no database unless `--household`.
    Simulate(SimulateArgs),
    /// Run the economic scenario generator alone (see examples/economy.toml). Needs no
    /// database.
    Economy(EconomyArgs),
    /// Calculators for analysts over JSON lines (one request per line on stdin or --input, one
    /// result per line on stdout, `{"line": N, "error": "..."}` for a bad line): options,
    /// volatility and time-series models, portfolio optimizers. Needs no database.
    #[command(subcommand)]
    Quant(QuantCmd),
    /// Measure throughput in a scratch database beside --database-url (a new SQLite file in the
    /// same folder, or a new PostgreSQL database on the same server), removed afterwards.
    #[command(subcommand)]
    Bench(BenchCommand),
}

impl Command {
    /// File imports: all or nothing, down to the database file they would have created.
    fn is_import(&self) -> bool {
        matches!(
            self,
            Command::Ledger(LedgerCommand::Import { .. })
                | Command::Market(MarketCmd::Import { .. } | MarketCmd::Securities { .. })
        )
    }

    /// Commands that never create the database: a mistyped path must not look like an empty,
    /// intact ledger.
    fn only_reads(&self) -> bool {
        match self {
            Command::Verify { .. }
            | Command::Events(_)
            | Command::Projections(_)
            | Command::Audit(_)
            | Command::Backup(_)
            | Command::Performance(_)
            | Command::Income(_)
            | Command::Holdings(_)
            | Command::Ops(OpsCmd::Status { .. })
            | Command::Goals(GoalsCmd::List { .. })
            | Command::Recurring(RecurringCmd::List { .. }) => true,
            // Accepting a harvest records rows; every other tax command only reads.
            Command::Tax(TaxCmd::Harvest { accept, .. }) => accept.is_empty(),
            Command::Tax(_) => true,
            // Recording or removing a gift writes; every other estate command only reads.
            Command::Estate(e) => !matches!(
                e,
                EstateCmd::Gift { .. }
                    | EstateCmd::RemoveGift { .. }
                    | EstateCmd::Entity { .. }
                    | EstateCmd::RemoveEntity { .. }
            ),
            Command::Ledger(l) => matches!(
                l,
                LedgerCommand::Lots { .. }
                    | LedgerCommand::Gains { .. }
                    | LedgerCommand::Contributions { .. }
                    | LedgerCommand::Accounts { .. }
                    | LedgerCommand::Match { .. }
                    | LedgerCommand::Positions { .. }
                    | LedgerCommand::Value { .. }
                    | LedgerCommand::WashSales { .. }
                    | LedgerCommand::Balances { .. }
            ),
            Command::User(UserCmd::Show { .. } | UserCmd::List { .. })
            | Command::Portfolio(PortfolioCmd::Show { .. } | PortfolioCmd::Allocation(_) | PortfolioCmd::Risk(_))
            | Command::Market(MarketCmd::Bars { .. } | MarketCmd::Latest { .. } | MarketCmd::Indicators { .. }) => true,
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

// mimalloc, also standing in for C's malloc (the `override` feature) so that SQLite's own
// allocations are cheap too: large reads allocate on sqlx's SQLite worker thread and free on
// the runtime's threads, which glibc's malloc handles poorly. Built without transparent huge
// pages (`no_thp`): with them, every page mimalloc purged and used again was a fresh 2 MiB page
// for the kernel to zero, a third of a rebuild's CPU time (system time fell from about 3 s to
// 0.7 s in `projections rebuild holdings` over 418,000 events).
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
    if let Command::Project(args) = cli.command {
        return report(project(&cli.database_url, args).await);
    }
    if let Command::Restore { dir, to, to_time, to_position, dry_run, force } = &cli.command {
        let cut = match (to_time, to_position) {
            (Some(t), _) => match cli::read::instant(t, queries::instant::Bound::End) {
                Ok(at) => cli::backup::Cut::Time(at),
                Err(e) => return report(Err(anyhow::anyhow!("--to-time: {e}"))),
            },
            (None, Some(p)) => cli::backup::Cut::Position(*p),
            (None, None) => cli::backup::Cut::All,
        };
        return report(cli::backup::restore(dir, to, cut, *dry_run, *force).await);
    }
    if let Command::Replicate { from_nats, to, nats, follow, metrics } = &cli.command {
        return report(
            cli::replica::replicate(from_nats, &nats.nats_stream, &nats.nats_subject_prefix, to, *follow, *metrics)
                .await,
        );
    }
    if let Command::Backup(BackupCmd::Verify { dir }) = &cli.command {
        return report(cli::backup::verify_cmd(dir).await);
    }
    if let Command::Simulate(args) = cli.command {
        return report(simulate(args, &cli.database_url).await);
    }
    if let Command::Economy(args) = cli.command {
        return report(tokio::task::block_in_place(|| economy(args)));
    }
    if let Command::Calendar(cmd) = cli.command {
        return report(calendar(cmd));
    }
    if let Command::Audit(AuditCmd::CheckProof { proof, public_key, head }) = &cli.command {
        return report(check_proof(proof, public_key, head.as_deref()));
    }
    if let Command::Estate(cmd) = &cli.command {
        if cli::estate::needs_no_store(cmd) {
            if let Command::Estate(cmd) = cli.command {
                return report(tokio::task::block_in_place(|| cli::estate::offline(cmd)));
            }
        }
    }
    if let Command::Quant(cmd) = cli.command {
        return report(tokio::task::block_in_place(|| quant(cmd)));
    }
    // A writing command that creates the SQLite file and then fails removes it again (with the
    // folder, when it made that and left it empty): a refused import leaves nothing behind.
    let created: Vec<std::path::PathBuf> = if cli.command.is_import() {
        Store::sqlite_files(&cli.database_url).into_iter().filter(|f| !f.exists()).collect()
    } else {
        Vec::new()
    };
    let created_dir = created
        .last()
        .and_then(|db| db.parent())
        .filter(|d| !d.as_os_str().is_empty() && !d.exists())
        .map(std::path::Path::to_path_buf);
    let code = run_on_store(cli).await;
    if code != ExitCode::SUCCESS {
        for file in &created {
            let _ = std::fs::remove_file(file);
        }
        if let Some(dir) = created_dir {
            let _ = std::fs::remove_dir(dir); // only when empty
        }
    }
    code
}

/// `cairn audit check-proof`: no database, only the files and the key.
fn check_proof(proof: &std::path::Path, public_key: &str, head: Option<&std::path::Path>) -> anyhow::Result<()> {
    let read = |p: &std::path::Path| -> anyhow::Result<String> {
        if p.as_os_str() == "-" {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)?;
            Ok(s)
        } else {
            std::fs::read_to_string(p).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))
        }
    };
    let kept = head.map(read).transpose()?;
    let answer = cli::proofs::check(&read(proof)?, public_key, kept.as_deref())?;
    cli::write_out(format_args!("{answer}\n"))?;
    Ok(())
}

async fn run_on_store(cli: Cli) -> ExitCode {
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
    // A follower takes events only from its primary until it is promoted.
    if !cli.command.only_reads() && !matches!(cli.command, Command::Promote { .. }) {
        match store.replica().await {
            Ok(Some(r)) => {
                eprintln!(
                    "error: {} is a read-only replica (following {} since {}): `cairn promote` it first",
                    cli.database_url, r.source, r.since
                );
                return ExitCode::from(2);
            }
            Ok(None) => {}
            Err(e) => {
                eprintln!("error: cannot read the store's role: {e}");
                return ExitCode::from(2);
            }
        }
    }
    match cli.command {
        Command::Promote { force } => report(cli::replica::promote(&store, force).await),
        Command::Serve { bind, nats, nats_url } => {
            report(serve(store, &cli.database_url, bind, nats_url.map(|u| nats.config(&u))).await)
        }
        Command::Relay { nats_url, nats, once } => report(relay(store, nats.config(&nats_url), once).await),
        Command::Events(EventsCommand::Tail { from, follow, stream }) => {
            report(tail(store, from, follow, stream).await)
        }
        Command::Verify { heads } => verify(store, heads.as_deref()).await,
        Command::Ledger(cmd) => report(ledger(store, &cli.database_url, cmd).await),
        Command::User(cmd) => report(user(store, &cli.database_url, cmd).await),
        Command::Portfolio(cmd) => report(portfolio(store, &cli.database_url, cmd).await),
        Command::Market(cmd) => report(market(store, &cli.database_url, cmd).await),
        Command::Ops(cmd) => report(ops(store, &cli.database_url, cmd).await),
        Command::Alerts(cmd) => report(alerts(store, &cli.database_url, cmd).await),
        Command::Rules(cmd) => report(rules(store, cmd).await),
        Command::Goals(cmd) => report(goals(store, &cli.database_url, cmd).await),
        Command::Recurring(cmd) => report(recurring(store, &cli.database_url, cmd).await),
        Command::Tax(cmd) => report(tax(store, &cli.database_url, cmd).await),
        Command::Estate(cmd) => report(estate(store, &cli.database_url, cmd).await),
        Command::Performance(args) => report(performance(store, &cli.database_url, args).await),
        Command::Income(args) => report(income(store, &cli.database_url, args).await),
        Command::Holdings(args) => report(holdings(store, &cli.database_url, args).await),
        Command::Projections(cmd) => report(projections_cmd(store, &cli.database_url, cmd).await),
        Command::Audit(cmd) => report(audit(store, &cli.database_url, cmd).await),
        Command::Backup(cmd) => report(backup(store, &cli.database_url, cmd).await),
        Command::Bench(_)
        | Command::Project(_)
        | Command::Simulate(_)
        | Command::Restore { .. }
        | Command::Replicate { .. }
        | Command::Economy(_)
        | Command::Quant(_)
        | Command::Calendar(_) => {
            unreachable!("handled above")
        }
    }
}

/// The exit code of a command's result, with its error on stderr. A closed pipe on stdout
/// (`cairn … | head`) is the reader having had enough: exit 0, nothing printed.
fn report(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if cli::closed_pipe(&e) => ExitCode::SUCCESS,
        Err(e) if e.downcast_ref::<cli::Failed>().is_some() => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_definition_is_consistent() {
        <super::Cli as clap::CommandFactory>::command().debug_assert();
    }
}
