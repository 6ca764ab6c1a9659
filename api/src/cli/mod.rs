//! The `cairn` subcommands, one module per area; shared helpers live here.

pub(crate) mod bench;
pub(crate) mod chart;
pub(crate) mod ledger;
pub(crate) mod market;
pub(crate) mod portfolio;
pub(crate) mod quant;
pub(crate) mod read;
pub(crate) mod simulate;
pub(crate) mod store;
pub(crate) mod user;

use commands::vault::MasterKey;

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
/// ./cairn-data/master.key, created with a fresh key when missing.
pub(crate) fn master_key() -> anyhow::Result<MasterKey> {
    if let Ok(hex) = std::env::var("CAIRN_MASTER_KEY") {
        return Ok(MasterKey::from_hex(&hex)?);
    }
    let path = std::env::var("CAIRN_MASTER_KEY_FILE").unwrap_or_else(|_| "./cairn-data/master.key".into());
    Ok(MasterKey::load_or_create(std::path::Path::new(&path))?)
}
