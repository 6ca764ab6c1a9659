//! Reading through the read models: `projections …`, `project`, `audit …`, and the shared
//! [`Reader`] that every report uses (catch up the projector, query, print, record the report).

use std::io::Write as _;
use std::time::Instant;

use anyhow::Context as _;
use queries::reports::{self, Report};

use super::Format;
use chrono::{DateTime, Utc};
use clap::Subcommand;
use event_store::{EventStore, Store};
use projections::db::Db;
use projections::people::{KYC_TRAIL, USERS};
use projections::query::records;
use projections::runner::Progress;
use projections::source::NatsFeed;
use projections::{Runner, Source};

use super::{caller, out, outln};

pub(crate) use queries::read::Reader;
use queries::read::CHANGE_COLUMNS;

/// Prints a report read through `reader` ([`queries::reports::deliver`]). JSON and CSV reports
/// carry their SHA-256 and are recorded as a `ReportGenerated` event; tables are for reading on
/// screen and are not recorded.
pub(crate) async fn emit(
    reader: &Reader,
    report: &Report,
    format: impl Into<reports::Format>,
    parameters: &[(&str, String)],
    position: u64,
) -> anyhow::Result<()> {
    let delivered = reports::deliver(report, format.into(), parameters, position, reader.instant());
    if let Some(event) = delivered.event {
        commands::report::record(&commands::Context::new(reader.store.clone()), event, &caller("cairn report")).await?;
    }
    out!("{}", delivered.text)?;
    Ok(())
}

#[derive(Debug, Subcommand)]
pub(crate) enum ProjectionsCmd {
    /// Each projector: the version this build projects, the version and generation in service,
    /// its checkpoint and lag behind the log, and a rebuild in progress. Moves no checkpoint and
    /// writes no row.
    Status,
    /// Rebuild from position 0 into a new generation while the current one keeps answering,
    /// then swap it in. Shows events/s and an ETA on stderr; prints a JSON line per projector.
    Rebuild {
        /// One projector (holdings, prices or people); all when omitted.
        name: Option<String>,
    },
    /// SHA-256 over each read model's rows in primary-key order (after catching up), per table
    /// and overall. Equal digests mean equal rows, whichever way they were built.
    Digest { name: Option<String> },
}

fn selected(name: Option<&str>) -> anyhow::Result<Vec<projections::Projection>> {
    Ok(match name {
        Some(n) => vec![projections::by_name(n)?],
        None => projections::all(),
    })
}

pub(crate) async fn projections_cmd(store: Store, url: &str, cmd: ProjectionsCmd) -> anyhow::Result<()> {
    let db = Db::open(url, false).await?;
    let head = store.head().await?.map_or(0, |h| h.position);
    match cmd {
        ProjectionsCmd::Status => {
            for p in projections::all() {
                let status = Runner::inspect(db.clone(), p).status(Some(head)).await?;
                outln!("{}", serde_json::to_value(&status)?)?;
            }
            outln!("{}", serde_json::json!({ "head": head, "prices_layout": db.time_series_layout().await }))?;
        }
        ProjectionsCmd::Rebuild { name } => {
            for p in selected(name.as_deref())? {
                let mut runner = Runner::open(db.clone(), p).await?;
                let generation = runner.start_shadow().await?;
                let started = Instant::now();
                let events =
                    runner.catch_up(&mut Source::store(store.clone()), &mut progress_bar(runner.name())).await?;
                eprintln!();
                let seconds = started.elapsed().as_secs_f64();
                outln!(
                    "{}",
                    serde_json::json!({
                        "projector": runner.name(),
                        "generation": generation,
                        "events": events,
                        "seconds": (seconds * 1000.0).round() / 1000.0,
                        "events_per_sec": (events as f64 / seconds.max(1e-9)).round(),
                    })
                )?;
            }
        }
        ProjectionsCmd::Digest { name } => {
            for p in selected(name.as_deref())? {
                let mut runner = Runner::open(db.clone(), p).await?;
                runner.catch_up(&mut Source::store(store.clone()), &mut |_| {}).await?;
                print_digest(&runner).await?;
            }
        }
    }
    Ok(())
}

async fn print_digest(runner: &Runner) -> anyhow::Result<()> {
    let (tables, all) = runner.digest().await?;
    let status = runner.status(None).await?;
    let tables: serde_json::Map<String, serde_json::Value> = tables
        .into_iter()
        .map(|(name, (rows, sha))| (name.to_owned(), serde_json::json!({ "rows": rows, "sha256": sha })))
        .collect();
    outln!(
        "{}",
        serde_json::json!({ "projector": runner.name(), "position": status.checkpoint, "tables": tables, "sha256": all })
    )?;
    Ok(())
}

/// A one-line progress bar on stderr: bar, events done of total, events/s, ETA.
fn progress_bar(name: &'static str) -> impl FnMut(Progress) + Send {
    move |p: Progress| {
        let secs = p.elapsed.as_secs_f64().max(1e-9);
        let rate = p.done as f64 / secs;
        let (bar, eta) = match p.total.filter(|t| *t > 0) {
            Some(total) => {
                let frac = (p.done as f64 / total as f64).min(1.0);
                let filled = (frac * 30.0).round() as usize;
                let left = total.saturating_sub(p.done) as f64 / rate.max(1.0);
                (
                    format!("[{}{}] {:>3.0}%", "#".repeat(filled), " ".repeat(30 - filled), frac * 100.0),
                    format!("ETA {left:.0}s"),
                )
            }
            None => (String::new(), String::new()),
        };
        let total = p.total.map(|t| format!("/{t}")).unwrap_or_default();
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r{name} {bar} {}{total} events  {rate:.0} events/s  {eta}   ", p.done);
        let _ = err.flush();
    }
}

/// `cairn project`: keep read models in another database, fed from the store or from NATS.
#[derive(Debug, clap::Args)]
pub(crate) struct ProjectArgs {
    /// The database the read models are written to (sqlite://PATH, created if missing, or
    /// postgres://…).
    #[arg(long, env = "CAIRN_PROJECT_TARGET")]
    target: String,
    /// Read events from this NATS server (the relay's JetStream stream) instead of from
    /// --database-url.
    #[arg(long)]
    from_nats: Option<String>,
    /// The relay's JetStream stream.
    #[arg(long, default_value = "CAIRN_EVENTS")]
    nats_stream: String,
    /// The relay's subject prefix.
    #[arg(long, default_value = "cairn.events")]
    nats_subject_prefix: String,
    /// Keep following new events (until Ctrl-C) instead of stopping when caught up.
    #[arg(long)]
    follow: bool,
    /// Only these projectors (holdings, prices, people); all when omitted.
    names: Vec<String>,
}

pub(crate) async fn project(database_url: &str, args: ProjectArgs) -> anyhow::Result<()> {
    let db = Db::open(&args.target, true).await.with_context(|| format!("--target {}", args.target))?;
    let projections = if args.names.is_empty() {
        projections::all()
    } else {
        args.names.iter().map(|n| projections::by_name(n)).collect::<Result<_, _>>()?
    };
    let mut runners = Vec::new();
    for p in projections {
        runners.push(Runner::open(db.clone(), p).await?);
    }
    // Each projector reads the feed from its own checkpoint, so each gets its own source.
    let mut sources = Vec::new();
    for _ in &runners {
        sources.push(match &args.from_nats {
            Some(url) => {
                Source::Nats(Box::new(NatsFeed::connect(url, &args.nats_stream, &args.nats_subject_prefix).await?))
            }
            None => Source::store(Store::open_existing(database_url).await?),
        });
    }
    let stop = super::shutdown_signal();
    tokio::pin!(stop);
    loop {
        for (runner, source) in runners.iter_mut().zip(&mut sources) {
            runner.catch_up(source, &mut |_| {}).await?;
        }
        if !args.follow {
            break;
        }
        tokio::select! {
            () = tokio::time::sleep(std::time::Duration::from_millis(500)) => {}
            () = &mut stop => break,
        }
    }
    for runner in &runners {
        print_digest(runner).await?;
    }
    Ok(())
}

/// Auditors' commands.
#[derive(Debug, Subcommand)]
pub(crate) enum AuditCmd {
    /// Run a read command exactly as the ledger knew it at INSTANT: the events recorded up to
    /// it are replayed into a temporary projection, and the command reads that. E.g.
    /// `cairn audit as-of 2025-04-15T00:00:00Z ledger gains --household smith --year 2024`.
    /// Read commands: ledger lots|gains|positions|value|wash-sales|contributions, portfolio allocation|risk,
    /// market bars|latest, audit kyc.
    AsOf {
        /// An RFC 3339 instant (2025-04-15T00:00:00Z), or a date for all of that day in UTC
        /// (2025-04-15 is 2025-04-15T23:59:59.999999Z, as over HTTP).
        instant: String,
        #[command(subcommand)]
        read: AsOfRead,
    },
    /// A signed tree head: the RFC 6962 Merkle root over the chain hashes of the log's first
    /// SIZE events (all of them), its time, and an Ed25519 signature with the audit key
    /// (CAIRN_AUDIT_KEY_FILE, default audit-ed25519.pem beside the master key file; created
    /// when missing). Keep it (`>> heads.jsonl`): a later log must extend it.
    Head {
        #[arg(long)]
        size: Option<u64>,
    },
    /// The event at a position and its inclusion proof against a signed head (of SIZE events,
    /// else the whole log), as one JSON file for `check-proof`.
    Prove {
        #[arg(long)]
        position: u64,
        #[arg(long)]
        size: Option<u64>,
    },
    /// The proof that the log's first TO_SIZE events (all of them) extend its first FROM_SIZE,
    /// with a signed head of the larger, as one JSON file for `check-proof`.
    Consistency {
        #[arg(long)]
        from_size: u64,
        #[arg(long)]
        to_size: Option<u64>,
    },
    /// Checks a proof file from `prove` or `consistency` with only the audit public key (hex,
    /// as heads carry it): the head's signature, the event's hash from its own fields, and the
    /// proof against the head. With --head (a head you kept), a consistency proof must start
    /// from exactly it. Opens no database; exits 2 when the proof fails, saying why.
    CheckProof {
        /// The proof file (`-`: standard input).
        proof: std::path::PathBuf,
        #[arg(long)]
        public_key: String,
        #[arg(long)]
        head: Option<std::path::PathBuf>,
    },
    /// Every event recorded in a window: position, time, stream, type, actor, command id,
    /// causation and a one-line summary.
    Changes {
        /// Start of the window (inclusive): RFC 3339 or a date (its first moment, UTC).
        #[arg(long)]
        from: String,
        /// End of the window (inclusive): RFC 3339 or a date (all of that day, to 23:59:59.999999 UTC).
        #[arg(long)]
        to: String,
        /// Only this household's ledger and portfolios.
        #[arg(long)]
        household: Option<String>,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// The security and activity log: registrations, MFA changes, role grants and revocations,
    /// profile changes and erasures, with who and when (logins and refused accesses join it with
    /// the HTTP API).
    Security {
        /// Only this user.
        #[arg(long)]
        user: Option<String>,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// The KYC report: every status change, who made it, when, with document references.
    Kyc {
        /// Only users whose current status is this (not_started, pending, in_review, approved,
        /// rejected, expired).
        #[arg(long)]
        status: Option<String>,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
}

/// The read commands `audit as-of` can replay.
#[derive(Debug, Subcommand)]
pub(crate) enum AsOfRead {
    #[command(subcommand)]
    Ledger(super::ledger::LedgerCommand),
    #[command(subcommand)]
    Portfolio(super::portfolio::PortfolioCmd),
    #[command(subcommand)]
    Market(super::market::MarketCmd),
    #[command(subcommand)]
    Audit(AsOfAudit),
}

/// The audit reports `audit as-of` can replay.
#[derive(Debug, Subcommand)]
pub(crate) enum AsOfAudit {
    /// The KYC report (see `audit kyc`).
    Kyc {
        #[arg(long)]
        status: Option<String>,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
}

/// Reads an instant ([`queries::instant`], as HTTP reads it): RFC 3339, or a day meaning all of
/// it in UTC.
pub(crate) fn instant(s: &str, bound: queries::instant::Bound) -> anyhow::Result<DateTime<Utc>> {
    Ok(queries::instant::parse(s, bound)?)
}

pub(crate) async fn audit(store: Store, url: &str, cmd: AuditCmd) -> anyhow::Result<()> {
    match cmd {
        AuditCmd::Head { size } => {
            let head = super::proofs::head(&store, size).await?;
            Ok(outln!("{}", serde_json::to_string(&head)?)?)
        }
        AuditCmd::Prove { position, size } => {
            let file = super::proofs::prove(&store, position, size).await?;
            Ok(outln!("{}", serde_json::to_string_pretty(&file)?)?)
        }
        AuditCmd::Consistency { from_size, to_size } => {
            let file = super::proofs::consistency(&store, from_size, to_size).await?;
            Ok(outln!("{}", serde_json::to_string_pretty(&file)?)?)
        }
        AuditCmd::CheckProof { .. } => anyhow::bail!("check-proof runs without a database"),
        AuditCmd::AsOf { instant: at, read } => {
            let at = instant(&at, queries::instant::Bound::End).context("INSTANT")?;
            let mut reader = Reader::as_of(store, at).await?;
            let household = match &read {
                AsOfRead::Ledger(cmd) => cmd.report_household(),
                AsOfRead::Portfolio(cmd) => cmd.report_household(),
                AsOfRead::Market(_) | AsOfRead::Audit(_) => None,
            };
            if let Some(h) = household {
                reader.household_existed(h).await?;
            }
            match read {
                AsOfRead::Ledger(cmd) => super::ledger::read(&mut reader, cmd).await,
                AsOfRead::Portfolio(cmd) => super::portfolio::read(&mut reader, cmd).await,
                AsOfRead::Market(cmd) => super::market::read(&mut reader, cmd).await,
                AsOfRead::Audit(AsOfAudit::Kyc { status, format }) => kyc(&mut reader, status, format).await,
            }
        }
        AuditCmd::Kyc { status, format } => kyc(&mut Reader::open(store, url).await?, status, format).await,
        AuditCmd::Security { user, format } => {
            let mut reader = Reader::open(store, url).await?;
            let position = reader.ready("people").await?;
            let filters: Vec<(&str, Option<String>)> = user.clone().map(|u| ("user_id", Some(u))).into_iter().collect();
            let rows = records(&reader.db, &projections::people::SECURITY_LOG, &filters).await?;
            let report = reports::table(
                "security",
                &rows,
                &[
                    ("user_id", "user_id", reports::Show::Raw),
                    ("position", "position", reports::Show::Raw),
                    ("kind", "kind", reports::Show::Raw),
                    ("detail", "detail", reports::Show::Raw),
                    ("actor", "actor", reports::Show::Raw),
                    ("at", "at", reports::Show::Raw),
                    ("recorded_at", "recorded_at", reports::Show::Raw),
                ],
            );
            let params: Vec<(&str, String)> = user.map(|u| ("user", u)).into_iter().collect();
            emit(&reader, &report, format, &params, position).await
        }
        AuditCmd::Changes { from, to, household, format } => {
            let (from_t, to_t) = (
                instant(&from, queries::instant::Bound::Start).context("--from")?,
                instant(&to, queries::instant::Bound::End).context("--to")?,
            );
            let mut reader = Reader::open(store.clone(), url).await?;
            let key = household.as_deref().map(domain::ledger::household_key);
            if key.is_some() {
                // The household's portfolios are named by the holdings read model.
                reader.ready("holdings").await?;
            }
            let (first, last) = queries::read::window(&store, Some(from_t), Some(to_t)).await?;
            let rows = queries::read::trail(&store, &reader.db, key.as_deref(), first, last).await?;
            let report = Report {
                name: "changes",
                columns: CHANGE_COLUMNS.to_vec(),
                rows,
                totals: Vec::new(),
                summary: Vec::new(),
            };
            let mut params = vec![("from", from_t.to_rfc3339()), ("to", to_t.to_rfc3339())];
            if let Some(h) = household {
                params.push(("household", h));
            }
            emit(&reader, &report, format, &params, last).await
        }
    }
}

async fn kyc(reader: &mut Reader, status: Option<String>, format: Format) -> anyhow::Result<()> {
    let position = reader.ready("people").await?;
    let mut trail = records(&reader.db, &KYC_TRAIL, &[]).await?;
    if let Some(s) = &status {
        let users = records(&reader.db, &USERS, &[("kyc_status", Some(s.clone()))]).await?;
        let ids: std::collections::BTreeSet<&str> = users.iter().map(|u| u.str("user_id")).collect();
        trail.retain(|r| ids.contains(r.str("user_id")));
    }
    let params: Vec<(&str, String)> = status.map(|s| ("status", s)).into_iter().collect();
    emit(reader, &reports::kyc(&trail), format, &params, position).await
}
