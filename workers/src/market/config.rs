//! The providers' configuration: a TOML file (`cairn market fetch --providers FILE`, or the
//! `CAIRN_PROVIDERS` environment variable) listing each vendor, read into a [`Selector`].
//!
//! ```toml
//! [[provider]]
//! name = "polygon"                   # the `source` its bars record
//! kind = "polygon"                   # polygon | alpaca | alpha_vantage | yahoo | stooq | local
//! base_url = "https://api.polygon.io"
//! key_env = "POLYGON_API_KEY"        # the key is read from this variable, never from the file
//! priority = 1                       # lower is asked first
//! timeout_seconds = 10
//! cost_per_call = "0.004"            # US dollars, for the providers' report
//! weight = "0.9"                    # reliability in (0, 1] for the consensus; 1 by default
//! rate_limit = { calls = 5, per_seconds = 60 }
//! breaker = { failure_rate_threshold = 50, minimum_number_of_calls = 10, window_calls = 20, wait_seconds = 60 }
//!
//! [[provider]]
//! name = "alpaca"
//! kind = "alpaca"
//! base_url = "https://data.alpaca.markets"
//! key_env = "APCA_API_KEY_ID"
//! secret_env = "APCA_API_SECRET_KEY"
//! feed = "iex"                       # iex | sip | delayed_sip
//! priority = 2
//!
//! [[provider]]
//! name = "archive"
//! kind = "local"
//! dir = "/srv/bars"                  # {dir}/{SYMBOL}.csv (cairn's bars layout) or .parquet
//! adjustment = "raw"                 # raw | splits: what the files' prices are (raw by default)
//! priority = 9
//!
//!
//! [ingest]                           # what `cairn serve` fetches by itself (optional)
//! symbols = ["VTI", "BND"]
//! at = "18:30"                       # each NYSE trading day at this time in `time_zone`
//! time_zone = "America/New_York"
//! # every_seconds = 900              # or: every so many seconds, whatever the day
//! lookback_days = 7                  # each run asks for the last days, so a missed run is filled
//! mode = "median"                    # first | median | weighted_mean | best_source
//!
//! [[stream]]                         # live quotes for `cairn serve` (optional, any number)
//! name = "polygon-live"              # the `source` of its quotes
//! kind = "polygon"                   # polygon | alpaca
//! url = "wss://socket.polygon.io/stocks"   # the vendor's default for the kind when omitted
//! key_env = "POLYGON_API_KEY"        # Alpaca: key_env and secret_env
//! symbols = ["VTI", "BND"]           # more are subscribed as clients ask for them
//! channels = ["quotes", "trades"]    # quotes | trades | bars (minute aggregates)
//! ```
//!
//! `mode` is also `cairn market fetch`'s default (`--mode` overrides it).
//!
//! Alpha Vantage takes `format = "json" | "csv"`; Polygon takes `key_in = "query" | "header"`;
//! a local directory takes `adjustment = "splits"` when its files hold a history adjusted for
//! splits (a vendor's adjusted download), which the selector then brings back to the prices
//! traded with a corporate-actions provider's splits. Every other kind knows its vendor's
//! adjustment.
//! A mistake names the provider and the field; a key variable that is not set is refused
//! when the provider needs a key.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rust_decimal::Decimal;
use serde::Deserialize;

use super::breaker::{self, CircuitBreaker, SlidingWindow};
use super::fetch::Mode;
use super::limiter::{self, TokenBucket};
use super::provider::{ApiKey, Provider};
use super::providers::alpaca::{Alpaca, AlpacaFeed};
use super::providers::alpha_vantage::{AlphaVantage, AlphaVantageFormat};
use super::providers::local::LocalDir;
use super::providers::polygon::{KeyPlacement, Polygon};
use super::providers::stooq::Stooq;
use super::providers::yahoo::Yahoo;
use super::selector::{Selector, Source};
use super::stream::{self, Channels, Protocol, StreamConfig};

/// A configuration that cannot be used, naming the provider (by position and name) and field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{where_}: {field}: {problem}")]
pub struct ConfigError {
    pub where_: String,
    pub field: String,
    pub problem: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    provider: Vec<Entry>,
    ingest: Option<IngestEntry>,
    #[serde(default)]
    stream: Vec<StreamEntry>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct StreamEntry {
    name: String,
    kind: String,
    url: Option<String>,
    key_env: Option<String>,
    secret_env: Option<String>,
    #[serde(default)]
    symbols: Vec<String>,
    channels: Option<Vec<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct IngestEntry {
    #[serde(default)]
    symbols: Vec<String>,
    at: Option<String>,
    time_zone: Option<String>,
    every_seconds: Option<u64>,
    lookback_days: Option<u32>,
    mode: Option<String>,
}

/// When and what `cairn serve` fetches by itself (`[ingest]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ingest {
    pub symbols: Vec<String>,
    pub when: When,
    /// Each run asks for this many days before today too (7 by default).
    pub lookback_days: u32,
    pub mode: Mode,
}

/// When the ingestion runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// Each NYSE trading day at this local time.
    Daily { at: chrono::NaiveTime, time_zone: chrono_tz::Tz },
    /// Every so often, whatever the day.
    Every(Duration),
}

/// The file's other settings: the mode `cairn market fetch` uses by default, the ingestion's
/// schedule when the file has an `[ingest]` table, and the live quote streams (`[[stream]]`).
#[derive(Debug, Default)]
pub struct Settings {
    pub mode: Mode,
    pub ingest: Option<Ingest>,
    pub streams: Vec<StreamConfig>,
}

/// Reads the `[ingest]` table and the `[[stream]]`s of a providers file's text, keys with
/// `env`.
pub fn settings(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Settings, ConfigError> {
    let file = read(text)?;
    let streams =
        file.stream.iter().enumerate().map(|(i, s)| stream(i, s, &file.stream[..i], env)).collect::<Result<_, _>>()?;
    let (mode, ingest) = ingest(&file)?;
    Ok(Settings { mode, ingest, streams })
}

/// The mode `cairn market fetch` uses unless told: the `[ingest]` table's, else `first`. The
/// `[[stream]]`s are not read, so their keys need not be set for a fetch.
pub fn fetch_mode(text: &str) -> Result<Mode, ConfigError> {
    Ok(ingest(&read(text)?)?.0)
}

fn read(text: &str) -> Result<File, ConfigError> {
    toml::from_str(text).map_err(|e| ConfigError {
        where_: "providers file".into(),
        field: "toml".into(),
        problem: e.message().to_owned(),
    })
}

/// The `[ingest]` table: the fetch mode (`first` without one) and the schedule.
fn ingest(file: &File) -> Result<(Mode, Option<Ingest>), ConfigError> {
    let Some(i) = &file.ingest else { return Ok((Mode::First, None)) };
    let fail = |field: &str, problem: String| ConfigError { where_: "ingest".into(), field: field.into(), problem };
    let mode = match &i.mode {
        None => Mode::First,
        Some(m) => m.parse().map_err(|e| fail("mode", e))?,
    };
    let when = match (i.every_seconds, &i.at) {
        (Some(_), Some(_)) => return Err(fail("at", "give at or every_seconds, not both".into())),
        (Some(0), None) => return Err(fail("every_seconds", "must be at least 1".into())),
        (Some(s), None) => When::Every(Duration::from_secs(s)),
        (None, at) => {
            let text = at.as_deref().unwrap_or("18:30");
            let at = chrono::NaiveTime::parse_from_str(text, "%H:%M")
                .map_err(|_| fail("at", format!("{text:?} is not a time of day (HH:MM)")))?;
            let zone = i.time_zone.as_deref().unwrap_or("America/New_York");
            let time_zone =
                zone.parse().map_err(|_| fail("time_zone", format!("{zone:?} is not an IANA time zone")))?;
            When::Daily { at, time_zone }
        }
    };
    let symbols: Vec<String> = i.symbols.iter().map(|s| s.trim().to_ascii_uppercase()).collect();
    if symbols.is_empty() || symbols.iter().any(String::is_empty) {
        return Err(fail("symbols", "name at least one symbol, none empty".into()));
    }
    Ok((mode, Some(Ingest { symbols, when, lookback_days: i.lookback_days.unwrap_or(7), mode })))
}

/// One `[[stream]]`, the `i`-th, after `before`.
fn stream(
    i: usize,
    s: &StreamEntry,
    before: &[StreamEntry],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<StreamConfig, ConfigError> {
    let fail = |field: &str, problem: String| ConfigError {
        where_: format!("stream {} ({})", i + 1, s.name),
        field: field.into(),
        problem,
    };
    if s.name.trim().is_empty() {
        return Err(fail("name", "must not be empty".into()));
    }
    if before.iter().any(|b| b.name == s.name) {
        return Err(fail("name", "is used by another stream".into()));
    }
    let (protocol, default_url) = match s.kind.as_str() {
        "polygon" => (Protocol::Polygon, stream::POLYGON_URL),
        "alpaca" => (Protocol::Alpaca, stream::ALPACA_IEX_URL),
        other => return Err(fail("kind", format!("{other:?} is not polygon or alpaca"))),
    };
    let key = |field: &str, var: &Option<String>| -> Result<Option<ApiKey>, ConfigError> {
        match var {
            None => Err(fail(field, format!("{} needs an API key: name its variable", s.kind))),
            Some(name) => env(name)
                .filter(|v| !v.is_empty())
                .map(|v| Some(ApiKey::new(v)))
                .ok_or_else(|| fail(field, format!("the environment variable {name} is not set"))),
        }
    };
    let mut config = StreamConfig::new(&s.name, protocol, s.url.as_deref().unwrap_or(default_url));
    if !(config.url.starts_with("ws://") || config.url.starts_with("wss://")) {
        return Err(fail("url", format!("{:?} is not a ws:// or wss:// URL", config.url)));
    }
    config.key = key("key_env", &s.key_env)?;
    if protocol == Protocol::Alpaca {
        config.secret = key("secret_env", &s.secret_env)?;
    }
    config.symbols = s.symbols.iter().map(|x| x.trim().to_ascii_uppercase()).filter(|x| !x.is_empty()).collect();
    if let Some(channels) = &s.channels {
        config.channels = Channels { quotes: false, trades: false, bars: false };
        for c in channels {
            match c.as_str() {
                "quotes" => config.channels.quotes = true,
                "trades" => config.channels.trades = true,
                "bars" => config.channels.bars = true,
                other => return Err(fail("channels", format!("{other:?} is not quotes, trades or bars"))),
            }
        }
    }
    Ok(config)
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    name: String,
    kind: String,
    base_url: Option<String>,
    key_env: Option<String>,
    secret_env: Option<String>,
    dir: Option<PathBuf>,
    #[serde(default = "default_priority")]
    priority: u32,
    timeout_seconds: Option<u64>,
    cost_per_call: Option<Decimal>,
    rate_limit: Option<RateLimit>,
    breaker: Option<BreakerEntry>,
    format: Option<String>,
    feed: Option<String>,
    key_in: Option<String>,
    weight: Option<Decimal>,
    adjustment: Option<String>,
}

fn default_priority() -> u32 {
    100
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
struct RateLimit {
    calls: u32,
    per_seconds: u32,
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct BreakerEntry {
    failure_rate_threshold: Option<f64>,
    slow_call_rate_threshold: Option<f64>,
    slow_call_seconds: Option<u64>,
    window_calls: Option<u32>,
    window_seconds: Option<u32>,
    minimum_number_of_calls: Option<u32>,
    wait_seconds: Option<u64>,
    permitted_calls_in_half_open: Option<u32>,
    backoff_multiplier: Option<f64>,
    max_wait_seconds: Option<u64>,
    jitter_factor: Option<f64>,
}

/// A provider as configured, for the providers' report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Configured {
    pub name: String,
    pub kind: String,
    pub priority: u32,
    pub cost_per_call: Option<Decimal>,
}

/// The breaker settings cairn uses where the file says nothing: resilience4j's, but for a
/// daily fetch (tens of calls, not thousands) a window of 20 calls, opening after 5.
pub fn default_breaker() -> breaker::Config {
    breaker::Config {
        sliding_window: SlidingWindow::CountBased { calls: 20 },
        minimum_number_of_calls: 5,
        slow_call_duration_threshold: Duration::from_secs(30),
        wait_duration_in_open_state: Duration::from_secs(60),
        permitted_calls_in_half_open: 2,
        backoff_multiplier: 2.0,
        max_wait_duration: Duration::from_secs(30 * 60),
        jitter_factor: 0.1,
        ..breaker::Config::default()
    }
}

/// Reads the file at `path` into a selector over its providers, reading keys with `env`
/// (`std::env::var` in the shells; a map in tests).
pub fn load(path: &Path, env: &dyn Fn(&str) -> Option<String>) -> Result<(Selector, Vec<Configured>), ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        where_: path.display().to_string(),
        field: "file".into(),
        problem: e.to_string(),
    })?;
    parse(&text, env)
}

/// [`load`] from the file's text.
pub fn parse(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<(Selector, Vec<Configured>), ConfigError> {
    let file = read(text)?;
    if file.provider.is_empty() {
        return Err(ConfigError {
            where_: "providers file".into(),
            field: "provider".into(),
            problem: "no [[provider]] is configured".into(),
        });
    }
    // No redirects: one would carry a key in its headers or query to another host.
    let client = reqwest::Client::builder()
        .user_agent(concat!("cairn/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| ConfigError { where_: "providers file".into(), field: "client".into(), problem: e.to_string() })?;
    let mut sources = Vec::with_capacity(file.provider.len());
    let mut configured = Vec::with_capacity(file.provider.len());
    for (i, entry) in file.provider.iter().enumerate() {
        let where_ = format!("provider {} ({})", i + 1, entry.name);
        let fail = |field: &str, problem: String| ConfigError { where_: where_.clone(), field: field.into(), problem };
        if entry.name.trim().is_empty() {
            return Err(fail("name", "must not be empty".into()));
        }
        if file.provider[..i].iter().any(|p| p.name == entry.name) {
            return Err(fail("name", "is used by another provider".into()));
        }
        let url = |default: Option<&str>| -> Result<reqwest::Url, ConfigError> {
            let text = entry.base_url.as_deref().or(default).ok_or_else(|| fail("base_url", "is required".into()))?;
            reqwest::Url::parse(text).map_err(|e| fail("base_url", format!("{text:?} is not a URL: {e}")))
        };
        let key = |field: &str, var: &Option<String>| -> Result<Option<ApiKey>, ConfigError> {
            match var {
                None => Ok(None),
                Some(name) => env(name)
                    .filter(|v| !v.is_empty())
                    .map(|v| Some(ApiKey::new(v)))
                    .ok_or_else(|| fail(field, format!("the environment variable {name} is not set"))),
            }
        };
        let needs_key = |field: &str, k: Option<ApiKey>| -> Result<Option<ApiKey>, ConfigError> {
            k.map(Some).ok_or_else(|| fail(field, format!("{} needs an API key: name its variable", entry.kind)))
        };
        let timeout = Duration::from_secs(entry.timeout_seconds.unwrap_or(30).max(1));
        if entry.adjustment.is_some() && entry.kind != "local" {
            return Err(fail(
                "adjustment",
                format!("only a local provider takes it: the {} adapter knows its vendor's prices", entry.kind),
            ));
        }
        let provider: Arc<dyn Provider> = match entry.kind.as_str() {
            "polygon" => {
                let placement = match entry.key_in.as_deref() {
                    None | Some("query") => KeyPlacement::Query,
                    Some("header") => KeyPlacement::Header,
                    Some(other) => return Err(fail("key_in", format!("{other:?} is not query or header"))),
                };
                let k = needs_key("key_env", key("key_env", &entry.key_env)?)?;
                Arc::new(
                    Polygon::new(&entry.name, url(Some("https://api.polygon.io"))?, k, client.clone())
                        .with_key_placement(placement)
                        .with_timeout(timeout),
                )
            }
            "alpaca" => {
                let feed = match entry.feed.as_deref() {
                    None | Some("iex") => AlpacaFeed::Iex,
                    Some("sip") => AlpacaFeed::Sip,
                    Some("delayed_sip") => AlpacaFeed::DelayedSip,
                    Some(other) => return Err(fail("feed", format!("{other:?} is not iex, sip or delayed_sip"))),
                };
                let id = needs_key("key_env", key("key_env", &entry.key_env)?)?;
                let secret = needs_key("secret_env", key("secret_env", &entry.secret_env)?)?;
                Arc::new(
                    Alpaca::new(&entry.name, url(Some("https://data.alpaca.markets"))?, id, secret, client.clone())
                        .with_feed(feed)
                        .with_timeout(timeout),
                )
            }
            "alpha_vantage" => {
                let format = match entry.format.as_deref() {
                    None | Some("json") => AlphaVantageFormat::Json,
                    Some("csv") => AlphaVantageFormat::Csv,
                    Some(other) => return Err(fail("format", format!("{other:?} is not json or csv"))),
                };
                let k = needs_key("key_env", key("key_env", &entry.key_env)?)?;
                Arc::new(
                    AlphaVantage::new(&entry.name, url(Some("https://www.alphavantage.co"))?, k, client.clone())
                        .with_format(format)
                        .with_timeout(timeout),
                )
            }
            "yahoo" => Arc::new(
                Yahoo::new(&entry.name, url(Some("https://query1.finance.yahoo.com"))?, client.clone())
                    .with_timeout(timeout),
            ),
            "stooq" => {
                Arc::new(Stooq::new(&entry.name, url(Some("https://stooq.com"))?, client.clone()).with_timeout(timeout))
            }
            "local" => {
                let dir = entry.dir.clone().ok_or_else(|| fail("dir", "is required for a local provider".into()))?;
                if !dir.is_dir() {
                    return Err(fail("dir", format!("{} is not a directory", dir.display())));
                }
                let adjustment = match &entry.adjustment {
                    Some(a) => a.parse().map_err(|e| fail("adjustment", e))?,
                    None => domain::market::Adjustment::Raw,
                };
                Arc::new(LocalDir::new(&entry.name, dir).with_adjustment(adjustment))
            }
            other => {
                return Err(fail(
                    "kind",
                    format!("{other:?} is not one of polygon, alpaca, alpha_vantage, yahoo, stooq, local"),
                ))
            }
        };
        let b = entry.breaker.unwrap_or_default();
        let defaults = default_breaker();
        let window = match (b.window_calls, b.window_seconds) {
            (Some(_), Some(_)) => return Err(fail("breaker", "give window_calls or window_seconds, not both".into())),
            (Some(calls), None) => SlidingWindow::CountBased { calls },
            (None, Some(seconds)) => SlidingWindow::TimeBased { seconds },
            (None, None) => defaults.sliding_window,
        };
        let config = breaker::Config {
            failure_rate_threshold: b.failure_rate_threshold.unwrap_or(defaults.failure_rate_threshold),
            slow_call_rate_threshold: b.slow_call_rate_threshold.unwrap_or(defaults.slow_call_rate_threshold),
            slow_call_duration_threshold: b
                .slow_call_seconds
                .map_or(defaults.slow_call_duration_threshold, Duration::from_secs),
            sliding_window: window,
            minimum_number_of_calls: b.minimum_number_of_calls.unwrap_or(defaults.minimum_number_of_calls),
            wait_duration_in_open_state: b
                .wait_seconds
                .map_or(defaults.wait_duration_in_open_state, Duration::from_secs),
            permitted_calls_in_half_open: b
                .permitted_calls_in_half_open
                .unwrap_or(defaults.permitted_calls_in_half_open),
            backoff_multiplier: b.backoff_multiplier.unwrap_or(defaults.backoff_multiplier),
            max_wait_duration: b.max_wait_seconds.map_or(defaults.max_wait_duration, Duration::from_secs),
            jitter_factor: b.jitter_factor.unwrap_or(defaults.jitter_factor),
        };
        let breaker = CircuitBreaker::new(&entry.name, config).map_err(|e| fail("breaker", e.to_string()))?;
        let limiter = match entry.rate_limit {
            None => None,
            Some(r) if r.calls == 0 || r.per_seconds == 0 => {
                return Err(fail("rate_limit", "calls and per_seconds must be at least 1".into()))
            }
            Some(r) => Some(
                TokenBucket::new(
                    &entry.name,
                    limiter::Config::new(r.calls, f64::from(r.calls) / f64::from(r.per_seconds)),
                )
                .map_err(|e| fail("rate_limit", e.to_string()))?,
            ),
        };
        let weight = entry.weight.unwrap_or(Decimal::ONE);
        if weight <= Decimal::ZERO || weight > Decimal::ONE {
            return Err(fail("weight", format!("{weight} is not in (0, 1]")));
        }
        sources.push(Source::new(provider, entry.priority, breaker, limiter).with_weight(weight));
        configured.push(Configured {
            name: entry.name.clone(),
            kind: entry.kind.clone(),
            priority: entry.priority,
            cost_per_call: entry.cost_per_call,
        });
    }
    Ok((Selector::new(sources), configured))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        (name == "POLYGON_API_KEY").then(|| "pk-secret".to_owned())
    }

    #[test]
    fn providers_are_read_in_priority_order() {
        let text = r#"
            [[provider]]
            name = "backup"
            kind = "stooq"
            base_url = "http://127.0.0.1:9"
            priority = 5

            [[provider]]
            name = "polygon"
            kind = "polygon"
            key_env = "POLYGON_API_KEY"
            priority = 1
            rate_limit = { calls = 5, per_seconds = 60 }
            breaker = { minimum_number_of_calls = 3, window_calls = 10, wait_seconds = 5 }
        "#;
        let (selector, configured) = parse(text, &env).unwrap();
        let names: Vec<&str> = selector.sources().iter().map(|s| s.name()).collect();
        assert_eq!(names, ["polygon", "backup"]);
        assert_eq!(configured.len(), 2);
        let polygon = &selector.sources()[0];
        assert_eq!(polygon.breaker.config().minimum_number_of_calls, 3);
        assert_eq!(polygon.limiter.as_ref().map(|l| l.config().capacity), Some(5));
    }

    #[test]
    fn a_local_directory_may_say_its_files_are_adjusted_for_splits() {
        let toml = "[[provider]]\nname = \"a\"\nkind = \"local\"\ndir = \"/\"\nadjustment = \"splits\"\n\n\
                    [[provider]]\nname = \"b\"\nkind = \"local\"\ndir = \"/\"\n";
        let (selector, _) = parse(toml, &|_| None).unwrap();
        let adjustments: Vec<_> = selector.sources().iter().map(|s| s.provider.adjustment()).collect();
        assert_eq!(adjustments, [domain::market::Adjustment::Splits, domain::market::Adjustment::Raw]);
    }

    #[test]
    fn mistakes_name_the_provider_and_the_field() {
        let cases = [
            ("[[provider]]\nname = \"p\"\nkind = \"bloomberg\"\n", "provider 1 (p): kind: \"bloomberg\" is not one of"),
            (
                "[[provider]]\nname = \"p\"\nkind = \"polygon\"\nkey_env = \"MISSING\"\n",
                "provider 1 (p): key_env: the environment variable MISSING is not set",
            ),
            ("[[provider]]\nname = \"p\"\nkind = \"polygon\"\n", "provider 1 (p): key_env: polygon needs an API key"),
            ("[[provider]]\nname = \"p\"\nkind = \"stooq\"\nbase_url = \"not a url\"\n", "provider 1 (p): base_url:"),
            ("[[provider]]\nname = \"p\"\nkind = \"local\"\n", "provider 1 (p): dir: is required"),
            (
                "[[provider]]\nname = \"p\"\nkind = \"stooq\"\ncolour = 1\n",
                "providers file: toml: unknown field `colour`",
            ),
            ("", "providers file: provider: no [[provider]] is configured"),
            (
                "[[provider]]\nname = \"p\"\nkind = \"stooq\"\nweight = \"1.5\"\n",
                "provider 1 (p): weight: 1.5 is not in (0, 1]",
            ),
            (
                "[[provider]]\nname = \"p\"\nkind = \"stooq\"\nadjustment = \"raw\"\n",
                "provider 1 (p): adjustment: only a local provider takes it",
            ),
            (
                "[[provider]]\nname = \"p\"\nkind = \"local\"\ndir = \"/\"\nadjustment = \"dividends\"\n",
                "provider 1 (p): adjustment: \"dividends\" is not one of raw, splits",
            ),
        ];
        for (text, want) in cases {
            let e = parse(text, &env).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(e.starts_with(want), "{text}: {e}");
        }
    }

    #[test]
    fn the_ingest_table_gives_the_schedule_and_the_mode() {
        let text = "[ingest]\nsymbols = [\"vti\", \"BND\"]\nat = \"18:45\"\nmode = \"median\"\n";
        let s = settings(text, &env).unwrap();
        let ingest = s.ingest.unwrap();
        assert_eq!(ingest.symbols, ["VTI", "BND"]);
        assert_eq!(s.mode, Mode::Consensus(domain::quality::Method::Median));
        assert_eq!(
            ingest.when,
            When::Daily {
                at: chrono::NaiveTime::from_hms_opt(18, 45, 0).unwrap(),
                time_zone: chrono_tz::America::New_York
            }
        );
        assert_eq!(ingest.lookback_days, 7);
        let e = settings("[ingest]\nsymbols = [\"VTI\"]\nat = \"6pm\"\n", &env).unwrap_err();
        assert_eq!(e.to_string(), "ingest: at: \"6pm\" is not a time of day (HH:MM)");
        let e = settings("[ingest]\nsymbols = [\"VTI\"]\nmode = \"mean\"\n", &env).unwrap_err();
        assert!(e.to_string().starts_with("ingest: mode: \"mean\" is not one of"), "{e}");
        let empty = settings("", &env).unwrap();
        assert!(empty.ingest.is_none() && empty.streams.is_empty() && empty.mode == Mode::First);
    }

    #[test]
    fn a_fetch_reads_the_ingest_mode_without_the_streams_keys() {
        let text = "[[stream]]\nname = \"live\"\nkind = \"polygon\"\nkey_env = \"UNSET_KEY\"\nsymbols = [\"vti\"]\n\n[ingest]\nsymbols = [\"VTI\"]\nmode = \"median\"\n";
        assert!(settings(text, &env).is_err(), "serve needs the stream's key");
        assert_eq!(fetch_mode(text).unwrap(), Mode::Consensus(domain::quality::Method::Median));
        assert_eq!(fetch_mode("").unwrap(), Mode::First);
    }

    #[test]
    fn streams_are_read_with_their_keys_and_channels() {
        let text = "[[stream]]\nname = \"live\"\nkind = \"polygon\"\nkey_env = \"POLYGON_API_KEY\"\nsymbols = [\"vti\"]\nchannels = [\"quotes\"]\n";
        let s = settings(text, &env).unwrap();
        let live = &s.streams[0];
        assert_eq!((live.name.as_str(), live.url.as_str()), ("live", stream::POLYGON_URL));
        assert_eq!(live.key.as_ref().map(ApiKey::expose), Some("pk-secret"));
        assert_eq!(live.symbols, ["VTI"]);
        assert!(live.channels.quotes && !live.channels.trades);
        let cases = [
            ("[[stream]]\nname = \"a\"\nkind = \"iex\"\n", "stream 1 (a): kind: \"iex\" is not polygon or alpaca"),
            ("[[stream]]\nname = \"a\"\nkind = \"polygon\"\n", "stream 1 (a): key_env: polygon needs an API key"),
            (
                "[[stream]]\nname = \"a\"\nkind = \"alpaca\"\nkey_env = \"POLYGON_API_KEY\"\nsecret_env = \"NOPE\"\n",
                "stream 1 (a): secret_env: the environment variable NOPE is not set",
            ),
            (
                "[[stream]]\nname = \"a\"\nkind = \"polygon\"\nkey_env = \"POLYGON_API_KEY\"\nurl = \"https://x\"\n",
                "stream 1 (a): url: \"https://x\" is not a ws:// or wss:// URL",
            ),
        ];
        for (text, want) in cases {
            let e = settings(text, &env).unwrap_err().to_string();
            assert!(e.starts_with(want), "{text}: {e}");
        }
    }
}
