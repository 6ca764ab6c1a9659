//! The `cairn` subcommands, one module per area; shared helpers live here.

pub(crate) mod alerts;
pub(crate) mod backup;
pub(crate) mod bench;
pub(crate) mod bench_alerts;
pub(crate) mod bench_market;
pub(crate) mod bench_tax;
pub(crate) mod calendar;
pub(crate) mod chart;
pub(crate) mod estate;
pub(crate) mod goals;
pub(crate) mod ledger;
pub(crate) mod market;
pub(crate) mod ops;
pub(crate) mod performance;
pub(crate) mod portfolio;
pub(crate) mod proofs;
pub(crate) mod quant;
pub(crate) mod read;
pub(crate) mod recurring;
pub(crate) mod replica;
pub(crate) mod simulate;
pub(crate) mod store;
pub(crate) mod tax;
pub(crate) mod user;

use std::io::Write as _;

use commands::security::vault::MasterKey;

/// How a report is printed (`--format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    Json,
    Csv,
    Table,
}

impl From<Format> for queries::reports::Format {
    fn from(f: Format) -> Self {
        match f {
            Format::Json => Self::Json,
            Format::Csv => Self::Csv,
            Format::Table => Self::Table,
        }
    }
}

/// How the gains report is printed: as every report, or as TXF (Tax Exchange Format v042) for
/// tax software to import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum GainsFormat {
    Json,
    Csv,
    Table,
    Txf,
}

impl From<GainsFormat> for queries::reports::Format {
    fn from(f: GainsFormat) -> Self {
        match f {
            GainsFormat::Json => Self::Json,
            GainsFormat::Csv => Self::Csv,
            GainsFormat::Table => Self::Table,
            GainsFormat::Txf => Self::Txf,
        }
    }
}

/// Writes to standard output, the one place every command's output goes through (`out!` and
/// `outln!`). Errors come back, a closed pipe among them (`cairn … | head`): the command stops
/// there and [`closed_pipe`] lets `main` end it quietly, where `print!` would panic.
pub(crate) fn write_out(args: std::fmt::Arguments<'_>) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_fmt(args)?;
    out.flush()
}

/// `print!` through [`write_out`]: an `io::Result`.
macro_rules! out {
    ($($arg:tt)*) => { $crate::cli::write_out(format_args!($($arg)*)) };
}

/// `println!` through [`write_out`]: an `io::Result`.
macro_rules! outln {
    ($($arg:tt)*) => { $crate::cli::write_out(format_args!("{}\n", format_args!($($arg)*))) };
}

pub(crate) use {out, outln};

/// Whether an error is (or was caused by) writing to a pipe whose reader has gone: the
/// conventional end of `cairn … | head`, not a failure.
pub(crate) fn closed_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe))
}

/// Completes on Ctrl-C or SIGTERM.
pub(crate) async fn shutdown_signal() {
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

/// Who runs a command from this shell.
pub(crate) fn caller(source: &str) -> commands::ledger::Caller {
    commands::ledger::Caller {
        actor: std::env::var("CAIRN_ACTOR").or_else(|_| std::env::var("USER")).unwrap_or_else(|_| "cli".into()),
        source: source.to_owned(),
    }
}

pub(crate) fn with_newline(mut s: String) -> String {
    if !s.ends_with('\n') {
        s.push('\n');
    }
    s
}

/// The master key: CAIRN_MASTER_KEY (hex), or the file CAIRN_MASTER_KEY_FILE, by default
/// ./cairn-data/master.key, created with a fresh key when missing ([`api::config`]).
pub(crate) fn master_key() -> anyhow::Result<MasterKey> {
    api::config::MasterKeySource::from_env().load()
}

/// A check that ran and found something wrong (`ledger balances` with an assertion that does
/// not hold): the command exits 1, as `verify` does, not 2 (bad input).
#[derive(Debug)]
pub(crate) struct Failed(pub String);

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Failed {}
