//! One typed configuration for the server, from flags and the environment. Secrets are held
//! as [`Secret`]s, whose `Debug` never shows them, so a logged or printed `Config` leaks none.
//!
//! | setting | flag / variable | default |
//! | --- | --- | --- |
//! | the store and read models | `--database-url` / `CAIRN_DATABASE_URL` | `sqlite://./cairn-data/cairn.db` |
//! | the address served | `--bind` / `CAIRN_BIND` | `127.0.0.1:8080` |
//! | the master key | `CAIRN_MASTER_KEY` (hex), else the file `CAIRN_MASTER_KEY_FILE` | `./cairn-data/master.key` (created when missing) |
//! | the JWT signing key | `CAIRN_JWT_KEY_FILE` | `jwt-ed25519.pem` beside the master key file |
//! | the audit key (signs tree heads) | `CAIRN_AUDIT_KEY_FILE` | `audit-ed25519.pem` beside the master key file |
//! | Argon2id cost | `CAIRN_ARGON2_MEMORY_KIB`, `_ITERATIONS`, `_PARALLELISM`, `_CONCURRENCY` | 64 MiB, 3, 4, 4 |
//! | the NATS relay | `--nats-url` / `CAIRN_NATS_URL` (and the stream and subject flags) | off |
//! | market data providers, the ingestion schedule | `CAIRN_PROVIDERS` (a TOML file; see the README) | off |
//! | the day's operations (phases and tasks) | `CAIRN_OPS` (a TOML file; see the README) | off |

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use commands::security::vault::MasterKey;
use event_store::RelayConfig;

use commands::security::password::HashCost;

/// Where the master key file is unless configured.
pub const DEFAULT_MASTER_KEY_FILE: &str = "./cairn-data/master.key";

/// A secret value: `Debug` shows `Secret([redacted])`, never the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value, for the one place that uses it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// Where the master key comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MasterKeySource {
    /// 64 hex characters (`CAIRN_MASTER_KEY`).
    Hex(Secret),
    /// A file holding it, created with a fresh key when missing (`CAIRN_MASTER_KEY_FILE`).
    File(PathBuf),
}

impl MasterKeySource {
    /// `CAIRN_MASTER_KEY`, else the file `CAIRN_MASTER_KEY_FILE`, else
    /// [`DEFAULT_MASTER_KEY_FILE`].
    pub fn from_env() -> Self {
        match std::env::var("CAIRN_MASTER_KEY") {
            Ok(hex) => Self::Hex(Secret::new(hex)),
            Err(_) => Self::File(key_file()),
        }
    }

    pub fn load(&self) -> anyhow::Result<MasterKey> {
        Ok(match self {
            Self::Hex(hex) => MasterKey::from_hex(hex.expose())?,
            Self::File(path) => MasterKey::load_or_create(path)?,
        })
    }
}

/// `CAIRN_MASTER_KEY_FILE`, or [`DEFAULT_MASTER_KEY_FILE`].
fn key_file() -> PathBuf {
    std::env::var("CAIRN_MASTER_KEY_FILE").unwrap_or_else(|_| DEFAULT_MASTER_KEY_FILE.into()).into()
}

/// The JWT signing key's file unless configured: `jwt-ed25519.pem` beside the master key file.
fn default_jwt_key_file(master_key_file: &Path) -> PathBuf {
    master_key_file.parent().map(Path::to_path_buf).unwrap_or_default().join("jwt-ed25519.pem")
}

/// The audit key's file (signing tree heads): `CAIRN_AUDIT_KEY_FILE`, else
/// `audit-ed25519.pem` beside the master key file.
pub fn audit_key_file() -> PathBuf {
    std::env::var("CAIRN_AUDIT_KEY_FILE")
        .map(PathBuf::from)
        .unwrap_or_else(|_| key_file().parent().map(Path::to_path_buf).unwrap_or_default().join("audit-ed25519.pem"))
}

/// The file `serve` appends each signed tree head to (a witness outside the database, what
/// `cairn verify --heads` reads): `CAIRN_AUDIT_HEADS_FILE`, else `audit-heads.jsonl` beside the
/// master key file.
pub fn audit_heads_file() -> PathBuf {
    std::env::var("CAIRN_AUDIT_HEADS_FILE")
        .map(PathBuf::from)
        .unwrap_or_else(|_| key_file().parent().map(Path::to_path_buf).unwrap_or_default().join("audit-heads.jsonl"))
}

/// The backup key's file (sealing backups): `CAIRN_BACKUP_KEY_FILE`, else `backup.key` beside
/// the master key file. Keep a copy apart from the backups: without it they cannot be read.
pub fn backup_key_file() -> PathBuf {
    std::env::var("CAIRN_BACKUP_KEY_FILE")
        .map(PathBuf::from)
        .unwrap_or_else(|_| key_file().parent().map(Path::to_path_buf).unwrap_or_default().join("backup.key"))
}

/// The ops settings of `text` (read from `path`), the backup key's file defaulting to
/// [`backup_key_file`].
pub fn ops_settings(text: &str, path: &Path) -> anyhow::Result<workers::ops::Settings> {
    let mut s = workers::ops::config::parse(text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    s.backup_key_file.get_or_insert_with(backup_key_file);
    Ok(s)
}

/// Everything `cairn serve` (and the in-process servers of `bench http` and the tests) runs on.
#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: String,
    pub bind: SocketAddr,
    pub master_key: MasterKeySource,
    pub jwt_key_file: PathBuf,
    pub hash_cost: HashCost,
    /// Publish committed events to NATS JetStream.
    pub relay: Option<RelayConfig>,
    /// Run the risk worker beside the projectors (`serve` does).
    pub risk_worker: bool,
    /// The market data providers' file: their health on `/metrics`, and the ingestion worker
    /// when it has an `[ingest]` table.
    pub providers: Option<PathBuf>,
    /// The ops settings' file: when set, `serve` runs the day's phases (`workers::ops`).
    pub ops: Option<PathBuf>,
    /// The audit key that signs tree heads, and the file each head is appended to (none: the
    /// heads go to NATS and `GET /v1/audit/heads` only).
    pub audit_key_file: PathBuf,
    pub audit_heads_file: Option<PathBuf>,
}

impl Config {
    /// The server's settings from its flags and the environment (see the module documentation).
    pub fn from_env(database_url: &str, bind: SocketAddr, relay: Option<RelayConfig>) -> anyhow::Result<Self> {
        let master_key = MasterKeySource::from_env();
        let jwt_key_file = std::env::var("CAIRN_JWT_KEY_FILE")
            .map(PathBuf::from)
            .unwrap_or_else(|_| default_jwt_key_file(&key_file()));
        Ok(Self {
            database_url: database_url.to_owned(),
            bind,
            master_key,
            jwt_key_file,
            hash_cost: HashCost::from_env()?,
            relay,
            risk_worker: true,
            providers: std::env::var_os("CAIRN_PROVIDERS").filter(|p| !p.is_empty()).map(PathBuf::from),
            ops: std::env::var_os("CAIRN_OPS").filter(|p| !p.is_empty()).map(PathBuf::from),
            audit_key_file: audit_key_file(),
            audit_heads_file: Some(audit_heads_file()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let source = MasterKeySource::Hex(Secret::new("00".repeat(32)));
        let shown = format!("{source:?}");
        assert_eq!(shown, "Hex(Secret([redacted]))");
        assert!(!shown.contains("0000"));
    }

    #[test]
    fn the_jwt_key_sits_beside_the_master_key_file() {
        assert_eq!(
            default_jwt_key_file(Path::new("/var/lib/cairn/master.key")),
            PathBuf::from("/var/lib/cairn/jwt-ed25519.pem")
        );
        assert_eq!(default_jwt_key_file(Path::new("master.key")), PathBuf::from("jwt-ed25519.pem"));
    }
}
