//! The ops settings: a TOML file (`CAIRN_OPS` for `cairn serve`, `--ops` for `cairn ops run`)
//! with one `[ops]` table; every key may be left out.
//!
//! ```toml
//! [ops]
//! retries = 3                 # attempts of a task in all
//! backoff_seconds = 30        # the pause after the first failed attempt, doubled after each
//! grace_hours = 12            # a phase missed while the server was down runs on start if
//!                             # it is at most this late; beyond, its tasks are recorded skipped
//! symbols = ["SPY"]           # fetched besides the symbols held
//! lookback_days = 7           # each fetch asks for this many days before too
//! mode = "first"              # first | median | weighted_mean | best_source
//! skip = ["projections_digest"]           # tasks turned off (recorded as skipped)
//! benchmark = "SPY"           # the market regime rule's benchmark (fetched with `symbols`)
//! timeouts = { verify_chain = 7200 }      # seconds, per task
//! backup_dir = "/srv/cairn-backups"       # the post-market backup's folder (incremental)
//! backup_key_file = "/etc/cairn/backup.key"  # default: CAIRN_BACKUP_KEY_FILE, else beside
//!                                         # the master key
//!
//! [[ops.reconcile]]           # a broker's statement of positions to reconcile against,
//! household = "smith"         # read again each evening: date,account,symbol,quantity[,source]
//! file = "/srv/statements/smith-positions.csv"
//! ```

use std::collections::BTreeMap;
use std::time::Duration;

use domain::quality::QualityConfig;
use serde::Deserialize;

use crate::market::fetch::Mode;

/// How the day's operations run.
#[derive(Debug, Clone)]
pub struct Settings {
    pub retries: u32,
    pub backoff: Duration,
    pub grace: Duration,
    pub symbols: Vec<String>,
    pub lookback_days: u32,
    pub mode: Mode,
    pub quality: QualityConfig,
    pub skip: Vec<String>,
    pub timeouts: BTreeMap<String, Duration>,
    /// The broker position files the reconciliation task checks the ledger against.
    pub reconcile: Vec<Reconcile>,
    /// The symbol whose market regimes the monitoring's regime rule reads.
    pub benchmark: Option<String>,
    /// The folder the post-market backup grows (none: the task is skipped), and the backup
    /// key's file.
    pub backup_dir: Option<std::path::PathBuf>,
    pub backup_key_file: Option<std::path::PathBuf>,
    /// Whether `serve` evaluates the households each commit touches as it lands
    /// (`crate::alerts::live`), beside the monitoring task; on unless `live_alerts = false`.
    pub live_alerts: bool,
}

/// One household's broker statement of positions (`commands::input::positions`' format).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reconcile {
    pub household: String,
    pub file: std::path::PathBuf,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            retries: 3,
            backoff: Duration::from_secs(30),
            grace: Duration::from_secs(12 * 3600),
            symbols: Vec::new(),
            lookback_days: 7,
            mode: Mode::First,
            quality: QualityConfig::default(),
            skip: Vec::new(),
            timeouts: BTreeMap::new(),
            reconcile: Vec::new(),
            benchmark: None,
            backup_dir: None,
            backup_key_file: None,
            live_alerts: true,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    ops: Option<Table>,
    /// The delivery settings share the file (`crate::notify::config`).
    #[serde(default)]
    #[allow(dead_code)]
    notify: Option<toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    retries: Option<u32>,
    backoff_seconds: Option<f64>,
    grace_hours: Option<f64>,
    #[serde(default)]
    symbols: Vec<String>,
    lookback_days: Option<u32>,
    mode: Option<String>,
    #[serde(default)]
    skip: Vec<String>,
    #[serde(default)]
    timeouts: BTreeMap<String, u64>,
    #[serde(default)]
    reconcile: Vec<Reconcile>,
    benchmark: Option<String>,
    backup_dir: Option<std::path::PathBuf>,
    backup_key_file: Option<std::path::PathBuf>,
    live_alerts: Option<bool>,
}

/// Reads the settings from a file's text; an error names the key.
pub fn parse(text: &str) -> Result<Settings, String> {
    let file: File = toml::from_str(text).map_err(|e| format!("ops settings: {}", e.message()))?;
    let Some(t) = file.ops else { return Ok(Settings::default()) };
    let mut s = Settings::default();
    if let Some(r) = t.retries {
        if r == 0 {
            return Err("ops.retries: at least 1 (the first attempt counts)".into());
        }
        s.retries = r;
    }
    let seconds = |key: &str, v: f64| {
        Duration::try_from_secs_f64(v).map_err(|_| format!("ops.{key}: {v} is not a length of time of 0 or more"))
    };
    if let Some(b) = t.backoff_seconds {
        s.backoff = seconds("backoff_seconds", b)?;
    }
    if let Some(g) = t.grace_hours {
        s.grace = seconds("grace_hours", g * 3600.0)?;
    }
    s.symbols = t.symbols.iter().map(|x| x.trim().to_ascii_uppercase()).filter(|x| !x.is_empty()).collect();
    if let Some(l) = t.lookback_days {
        s.lookback_days = l;
    }
    if let Some(m) = &t.mode {
        s.mode = m.parse().map_err(|e: String| format!("ops.mode: {e}"))?;
    }
    let known = |name: &str| super::TASKS.iter().any(|x| x.name == name);
    for name in t.skip.iter().chain(t.timeouts.keys()) {
        if !known(name) {
            let names: Vec<&str> = super::TASKS.iter().map(|x| x.name).collect();
            return Err(format!("ops: {name:?} is not a task ({})", names.join(", ")));
        }
    }
    if let Some(r) = t.reconcile.iter().find(|r| r.household.trim().is_empty()) {
        return Err(format!("ops.reconcile: {} needs a household", r.file.display()));
    }
    s.reconcile = t.reconcile;
    s.benchmark = t.benchmark.map(|b| b.trim().to_ascii_uppercase()).filter(|b| !b.is_empty());
    // The benchmark's closes are fetched with the held symbols.
    if let Some(b) = &s.benchmark {
        if !s.symbols.contains(b) {
            s.symbols.push(b.clone());
        }
    }
    s.backup_dir = t.backup_dir;
    s.backup_key_file = t.backup_key_file;
    s.live_alerts = t.live_alerts.unwrap_or(true);
    s.skip = t.skip;
    s.timeouts = t.timeouts.into_iter().map(|(k, v)| (k, Duration::from_secs(v))).collect();
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_default_and_refuse_unknown_tasks_by_name() {
        let s = parse("[ops]\nretries = 5\nbackoff_seconds = 0.5\ngrace_hours = 36\nsymbols = [\" spy \"]\nskip = [\"verify_chain\"]\n").unwrap();
        assert_eq!((s.retries, s.backoff, s.grace), (5, Duration::from_millis(500), Duration::from_secs(36 * 3600)));
        assert_eq!((s.symbols, s.skip), (vec!["SPY".to_owned()], vec!["verify_chain".to_owned()]));
        assert_eq!(parse("").unwrap().retries, 3);
        assert!(parse("[ops]\nskip = [\"coffee\"]\n").unwrap_err().contains("\"coffee\" is not a task"));
        assert!(parse("[ops]\nretries = 0\n").unwrap_err().starts_with("ops.retries"));
        assert!(parse("[ops]\ncolour = 1\n").unwrap_err().contains("colour"));
        // The regime rule's benchmark is fetched with the other symbols.
        let s = parse("[ops]\nbenchmark = \" spy\"\nsymbols = [\"BND\"]\n").unwrap();
        assert_eq!((s.benchmark.as_deref(), s.symbols), (Some("SPY"), vec!["BND".to_owned(), "SPY".to_owned()]));
        // The file's [notify] table is the delivery settings', not an unknown key.
        assert!(parse("[ops]\nretries = 2\n[notify]\nevery_seconds = 5\n").is_ok());
        // Live alerts are on unless turned off.
        assert!(parse("[ops]\n").unwrap().live_alerts);
        assert!(!parse("[ops]\nlive_alerts = false\n").unwrap().live_alerts);
    }
}
