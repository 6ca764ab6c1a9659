//! `cairn alerts …`: the alerts the monitoring rules raised, and a person's answer to them.

use clap::Subcommand;
use event_store::Store;

use super::{caller, outln, with_newline, Format};

#[derive(Debug, Subcommand)]
pub(crate) enum AlertsCmd {
    /// Alerts of one household (or of all): id, rule, severity, state (open, dismissed,
    /// resolved), when raised, snoozed until, and the finding's message. Open and dismissed
    /// ones unless `--all`.
    List {
        #[arg(long)]
        household: Option<String>,
        /// Resolved alerts too.
        #[arg(long)]
        all: bool,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// One alert whole: its finding's values, the read-model position they reflect, each
    /// delivery.
    Show {
        #[arg(long)]
        household: String,
        #[arg(long)]
        id: String,
    },
    /// No notification of the alert before INSTANT (RFC 3339).
    Snooze {
        #[arg(long)]
        household: String,
        #[arg(long)]
        id: String,
        #[arg(long)]
        until: String,
    },
    /// The alert is seen: no notification while its condition lasts; it resolves when the
    /// condition clears.
    Dismiss {
        #[arg(long)]
        household: String,
        #[arg(long)]
        id: String,
    },
    /// A user's alert preferences: the channels they hear on and from which severity, quiet
    /// hours, daily caps, and the contacts used (phone, push devices; sealed in the log).
    #[command(subcommand)]
    Preferences(PreferencesCmd),
    /// Sends the notifications due now (or at `--at`) through the channels of `[notify]` in
    /// the ops file (`--config`, `CAIRN_OPS`), as `serve` does every minute; prints each one:
    /// sent, failed, held by quiet hours or skipped, and why.
    Deliver {
        #[arg(long, env = "CAIRN_OPS")]
        config: std::path::PathBuf,
        #[arg(long)]
        at: Option<String>,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Delivery statistics of a household's alerts per channel: tries, successes, failures.
    Stats {
        #[arg(long)]
        household: String,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Runs every monitoring rule over every household now (as of `--as-of`, the latest day by
    /// default) and records the alerts; prints what it raised, escalated and resolved.
    Evaluate {
        #[arg(long)]
        as_of: Option<chrono::NaiveDate>,
        /// The market regime rule's benchmark: a symbol with daily bars (at least 221 closes).
        #[arg(long)]
        benchmark: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum PreferencesCmd {
    /// The user's preferences and contacts, as JSON.
    Show {
        #[arg(long)]
        user: String,
    },
    /// Replaces the user's preferences. Channels: email, sms, push, webhook, in_app, each with
    /// the least severity it carries (`--channel email=warning --channel sms=critical`); text
    /// messages need `--phone` (E.164), push a `--device` token. Quiet hours
    /// (`--quiet 22:00-07:00 --time-zone America/New_York`, across midnight as here) hold
    /// notifications until they end, except critical ones with `--urgent-bypass`. Daily caps
    /// per channel (`--cap email=10`) default to email 20 and SMS 5.
    Set {
        #[arg(long)]
        user: String,
        #[arg(long = "channel", value_name = "CHANNEL=SEVERITY")]
        channels: Vec<String>,
        #[arg(long, value_name = "HH:MM-HH:MM")]
        quiet: Option<String>,
        #[arg(long, default_value = "UTC")]
        time_zone: String,
        #[arg(long)]
        urgent_bypass: bool,
        #[arg(long = "cap", value_name = "CHANNEL=N")]
        caps: Vec<String>,
        #[arg(long)]
        phone: Option<String>,
        #[arg(long = "device")]
        devices: Vec<String>,
    },
}

/// `NAME=VALUE` pairs of `field`, each value parsed.
fn pairs<K: std::str::FromStr<Err = String> + Ord, V: std::str::FromStr>(
    field: &str,
    given: &[String],
) -> anyhow::Result<std::collections::BTreeMap<K, V>>
where
    V::Err: std::fmt::Display,
{
    given
        .iter()
        .map(|pair| {
            let (k, v) =
                pair.split_once('=').ok_or_else(|| anyhow::anyhow!("{field}: {pair:?} is not CHANNEL=VALUE"))?;
            let k = k.parse::<K>().map_err(|e| anyhow::anyhow!("{field}: {e}"))?;
            let v = v.trim().parse::<V>().map_err(|e| anyhow::anyhow!("{field}: {v:?}: {e}"))?;
            Ok((k, v))
        })
        .collect()
}

/// `HH:MM-HH:MM` as quiet hours.
fn quiet_hours(text: &str, time_zone: String, urgent_bypass: bool) -> anyhow::Result<domain::alerts::QuietHours> {
    let time = |t: &str| {
        chrono::NaiveTime::parse_from_str(t.trim(), "%H:%M")
            .map_err(|_| anyhow::anyhow!("quiet: {text:?} is not HH:MM-HH:MM (22:00-07:00)"))
    };
    let (start, end) = text.split_once('-').ok_or_else(|| anyhow::anyhow!("quiet: {text:?} is not HH:MM-HH:MM"))?;
    Ok(domain::alerts::QuietHours { start: time(start)?, end: time(end)?, time_zone, urgent_bypass })
}

async fn preferences(store: Store, cmd: PreferencesCmd) -> anyhow::Result<()> {
    let cx = commands::Context::new(store.clone());
    let vault = commands::security::vault::Vault::new(store, super::master_key()?);
    match cmd {
        PreferencesCmd::Show { user } => {
            let (preferences, contacts) = commands::user::alert_preferences(&cx, &vault, &user).await?;
            outln!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({
                    "user": user, "preferences": preferences, "contacts": contacts,
                }))?
            )?;
        }
        PreferencesCmd::Set { user, channels, quiet, time_zone, urgent_bypass, caps, phone, devices } => {
            let preferences = domain::alerts::Preferences {
                channels: pairs("channel", &channels)?,
                quiet: quiet.map(|q| quiet_hours(&q, time_zone, urgent_bypass)).transpose()?,
                caps: pairs("cap", &caps)?,
            };
            let contacts = commands::user::AlertContacts { phone, devices };
            let who = caller("cairn alerts preferences set");
            let done = commands::user::set_alert_preferences(&cx, &vault, &user, preferences, contacts, &who).await?;
            outln!("{}", serde_json::json!({ "recorded": done.events.len() }))?;
        }
    }
    Ok(())
}

fn instant(field: &str, text: &str) -> anyhow::Result<chrono::DateTime<chrono::Utc>> {
    Ok(chrono::DateTime::parse_from_rfc3339(text)
        .map_err(|_| anyhow::anyhow!("{field}: {text:?} is not an RFC 3339 instant (2025-12-01T14:30:00Z)"))?
        .with_timezone(&chrono::Utc))
}

pub(crate) async fn alerts(store: Store, url: &str, cmd: AlertsCmd) -> anyhow::Result<()> {
    let cx = commands::Context::new(store.clone());
    let who = caller("cairn alerts");
    let now = chrono::Utc::now();
    match cmd {
        AlertsCmd::List { household, all, format } => {
            let households = match household {
                Some(h) => vec![domain::streams::household_key(&h)],
                None => queries::monitoring::households(&projections::Db::open(url, false).await?).await?,
            };
            let mut rows = Vec::new();
            for h in &households {
                let state = commands::alerts::state(&cx, h).await?;
                for a in state.alerts.values().filter(|a| all || a.state != domain::alerts::State::Resolved) {
                    rows.push(vec![
                        h.clone(),
                        a.id.clone(),
                        a.finding.rule.as_str().to_owned(),
                        a.finding.severity.as_str().to_owned(),
                        a.state.as_str().to_owned(),
                        a.raised_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                        a.snoozed_until
                            .filter(|u| *u > now)
                            .map(|u| u.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                            .unwrap_or_default(),
                        a.finding.message.clone(),
                    ]);
                }
            }
            let report = queries::reports::Report {
                name: "alerts",
                columns: vec!["household", "id", "rule", "severity", "state", "raised_at", "snoozed_until", "message"],
                rows,
                totals: Vec::new(),
                summary: Vec::new(),
            };
            outln!("{}", with_newline(report.render(format.into())).trim_end())?;
        }
        AlertsCmd::Show { household, id } => {
            let state = commands::alerts::state(&cx, &household).await?;
            let alert = state.alerts.get(&id).ok_or_else(|| anyhow::anyhow!("id: no alert {id} in {household}"))?;
            let deliveries: Vec<serde_json::Value> = alert
                .delivered
                .iter()
                .map(|((channel, to), at)| serde_json::json!({"channel": channel.as_str(), "recipient": to, "delivered_at": at}))
                .collect();
            let mut shown = serde_json::to_value(alert)?;
            shown["delivered"] = serde_json::Value::Array(deliveries);
            shown["attempts"] = serde_json::Value::Null;
            shown["undeliverable"] = serde_json::json!(alert
                .undeliverable
                .iter()
                .map(|(c, r)| format!("{}:{r}", c.as_str()))
                .collect::<Vec<_>>());
            outln!("{}", serde_json::to_string_pretty(&shown)?)?;
        }
        AlertsCmd::Snooze { household, id, until } => {
            let until = instant("until", &until)?;
            let command = domain::alerts::AlertCommand::Snooze { id, until, by: who.actor.clone(), at: now };
            let done = commands::alerts::execute(&cx, &household, &command, &who).await?;
            outln!("{}", serde_json::json!({ "recorded": done.events.len(), "until": until }))?;
        }
        AlertsCmd::Dismiss { household, id } => {
            let command = domain::alerts::AlertCommand::Dismiss { id, by: who.actor.clone(), at: now };
            let done = commands::alerts::execute(&cx, &household, &command, &who).await?;
            outln!("{}", serde_json::json!({ "recorded": done.events.len() }))?;
        }
        AlertsCmd::Preferences(cmd) => preferences(store, cmd).await?,
        AlertsCmd::Deliver { config, at, format } => {
            let text =
                std::fs::read_to_string(&config).map_err(|e| anyhow::anyhow!("config: {}: {e}", config.display()))?;
            let base = config.parent().unwrap_or(std::path::Path::new("."));
            let settings = workers::notify::config::parse(&text, base, |v| std::env::var(v).ok())
                .map_err(|e| anyhow::anyhow!("{}: {e}", config.display()))?
                .ok_or_else(|| anyhow::anyhow!("config: {} has no [notify] table", config.display()))?;
            let at = match at {
                Some(t) => instant("at", &t)?,
                None => now,
            };
            let db = projections::Db::open(url, false).await?;
            let vault = commands::security::vault::Vault::new(store, super::master_key()?);
            let done =
                workers::alerts::delivery::deliver_due(&cx, &db, &vault, &settings, at, std::time::Duration::ZERO)
                    .await?;
            let rows = done
                .outcomes
                .iter()
                .map(|o| {
                    vec![
                        o.household.clone(),
                        o.alert.clone(),
                        o.channel.as_str().to_owned(),
                        o.recipient.clone(),
                        o.outcome.to_owned(),
                        o.attempts.to_string(),
                        o.detail.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            let report = queries::reports::Report {
                name: "deliveries",
                columns: vec!["household", "alert", "channel", "recipient", "outcome", "attempts", "detail"],
                rows,
                totals: Vec::new(),
                summary: vec![
                    ("sent", serde_json::json!(done.sent)),
                    ("failed", serde_json::json!(done.failed)),
                    ("held", serde_json::json!(done.held)),
                    ("skipped", serde_json::json!(done.skipped)),
                ],
            };
            outln!("{}", with_newline(report.render(format.into())).trim_end())?;
        }
        AlertsCmd::Stats { household, format } => {
            let state = commands::alerts::state(&cx, &household).await?;
            let rows = state
                .stats
                .iter()
                .map(|(c, s)| {
                    vec![
                        c.as_str().to_owned(),
                        s.attempted.to_string(),
                        s.succeeded.to_string(),
                        s.failed.to_string(),
                        s.failed_permanently.to_string(),
                    ]
                })
                .collect();
            let report = queries::reports::Report {
                name: "delivery_stats",
                columns: vec!["channel", "attempted", "succeeded", "failed", "failed_permanently"],
                rows,
                totals: Vec::new(),
                summary: vec![("household", serde_json::json!(domain::streams::household_key(&household)))],
            };
            outln!("{}", with_newline(report.render(format.into())).trim_end())?;
        }
        AlertsCmd::Evaluate { as_of, benchmark } => {
            let db = projections::Db::open(url, false).await?;
            let as_of = as_of.unwrap_or_else(workers::market::intraday::today);
            let done =
                workers::alerts::evaluate(&cx, &db, None, as_of, now, std::time::Duration::ZERO, benchmark.as_deref())
                    .await?;
            outln!("{}", serde_json::to_string(&done)?)?;
        }
    }
    Ok(())
}

#[derive(Debug, Subcommand)]
pub(crate) enum RulesCmd {
    /// The household's monitoring thresholds: each setting, its value, the profile's default,
    /// and whether it is overridden.
    List {
        #[arg(long)]
        household: String,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Sets the household's profile (conservative, moderate, aggressive) and settings by name
    /// (`--set drift_asset=0.04 --set concentration=0.2`; `name=` takes one back to the
    /// profile's default). Recorded on the household's alerts stream (`ThresholdsSet`), so the
    /// thresholds in force when an alert fired are known as of any instant. A bad name or
    /// value is refused, naming it.
    Set {
        #[arg(long)]
        household: String,
        #[arg(long)]
        profile: Option<String>,
        #[arg(long = "set", value_name = "NAME=VALUE")]
        settings: Vec<String>,
    },
}

pub(crate) async fn rules(store: Store, cmd: RulesCmd) -> anyhow::Result<()> {
    let cx = commands::Context::new(store);
    match cmd {
        RulesCmd::List { household, format } => {
            let state = commands::alerts::state(&cx, &household).await?;
            let profile = state.profile.unwrap_or(domain::monitoring::Profile::Moderate);
            let defaults = domain::monitoring::Thresholds::of(profile);
            let now = state.thresholds();
            let rows = domain::monitoring::Thresholds::NAMES
                .iter()
                .map(|name| {
                    vec![
                        (*name).to_owned(),
                        now.get(name).unwrap_or_default(),
                        defaults.get(name).unwrap_or_default(),
                        state.overrides.contains_key(*name).to_string(),
                    ]
                })
                .collect();
            let report = queries::reports::Report {
                name: "rules",
                columns: vec!["setting", "value", "default", "overridden"],
                rows,
                totals: Vec::new(),
                summary: vec![
                    ("household", serde_json::json!(domain::streams::household_key(&household))),
                    ("profile", serde_json::json!(profile.as_str())),
                ],
            };
            outln!("{}", with_newline(report.render(format.into())).trim_end())?;
        }
        RulesCmd::Set { household, profile, settings } => {
            let profile = match profile {
                None => None,
                Some(p) => Some(p.parse::<domain::monitoring::Profile>()?),
            };
            let settings = settings
                .iter()
                .map(|s| {
                    s.split_once('=')
                        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                        .ok_or_else(|| anyhow::anyhow!("set: {s:?} is not NAME=VALUE"))
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let who = caller("cairn rules set");
            let command = domain::alerts::AlertCommand::SetThresholds {
                profile,
                settings,
                by: who.actor.clone(),
                at: chrono::Utc::now(),
            };
            let done = commands::alerts::execute(&cx, &household, &command, &who).await?;
            outln!("{}", serde_json::json!({ "recorded": done.events.len() }))?;
        }
    }
    Ok(())
}
