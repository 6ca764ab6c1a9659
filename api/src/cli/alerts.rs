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
    /// Runs every monitoring rule over every household now (as of `--as-of`, the latest day by
    /// default) and records the alerts; prints what it raised, escalated and resolved.
    Evaluate {
        #[arg(long)]
        as_of: Option<chrono::NaiveDate>,
    },
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
        AlertsCmd::Evaluate { as_of } => {
            let db = projections::Db::open(url, false).await?;
            let as_of = as_of.unwrap_or_else(workers::market::intraday::today);
            let done = workers::alerts::evaluate_all(&cx, &db, as_of, now, std::time::Duration::ZERO).await?;
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
