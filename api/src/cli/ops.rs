//! `cairn ops …`: the day's operations by hand, and what they did.

use anyhow::Context as _;
use clap::Subcommand;
use event_store::Store;

use super::{outln, with_newline, Format};

#[derive(Debug, Subcommand)]
pub(crate) enum OpsCmd {
    /// Runs a phase of a session now (pre-market, market-open, midday, market-close,
    /// post-market): each of its tasks not yet succeeded on that session, in order, with
    /// retries; a task whose dependency did not succeed is recorded as skipped. Every start and
    /// outcome is recorded on the session's stream `ops-<date>`. Prints each task's state; exits
    /// 1 when one failed.
    Run {
        #[arg(long)]
        phase: String,
        /// The session (YYYY-MM-DD); today's in New York when omitted. A day the NYSE is closed
        /// is refused, saying why.
        #[arg(long)]
        date: Option<chrono::NaiveDate>,
        /// The ops settings (TOML, an `[ops]` table; see the README); defaults without it.
        #[arg(long, env = "CAIRN_OPS")]
        ops: Option<std::path::PathBuf>,
        /// The market data providers, for the price tasks (skipped without them).
        #[arg(long, env = "CAIRN_PROVIDERS")]
        providers: Option<std::path::PathBuf>,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Each task of a session as recorded: phase, status, attempts, when it started and
    /// finished, how long it took, and its summary, error or reason.
    Status {
        /// The session (YYYY-MM-DD); today's in New York when omitted.
        #[arg(long)]
        date: Option<chrono::NaiveDate>,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
}

fn today() -> chrono::NaiveDate {
    workers::market::intraday::today()
}

pub(crate) async fn ops(store: Store, url: &str, cmd: OpsCmd) -> anyhow::Result<()> {
    let cx = commands::Context::new(store.clone());
    match cmd {
        OpsCmd::Run { phase, date, ops, providers, format } => {
            let phase: domain::ops::Phase = phase.parse().map_err(|e: String| anyhow::anyhow!("phase: {e}"))?;
            let date = date.unwrap_or_else(today);
            let session = domain::calendar::session(date).ok_or_else(|| {
                anyhow::anyhow!(
                    "date: {}",
                    domain::calendar::why_closed(date).unwrap_or_else(|| format!("{date} has no session"))
                )
            })?;
            let settings = match &ops {
                None => workers::ops::Settings::default(),
                Some(path) => {
                    let text =
                        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
                    api::config::ops_settings(&text, path)?
                }
            };
            let selector = match &providers {
                None => None,
                Some(path) => {
                    Some(std::sync::Arc::new(workers::market::config::load(path, &|k| std::env::var(k).ok())?.0))
                }
            };
            let env = workers::ops::Env {
                cx,
                db: projections::Db::open(url, false).await?,
                selector,
                settings,
                clock: std::sync::Arc::new(workers::ops::clock::SystemClock),
                metrics: Default::default(),
                follower: std::time::Duration::ZERO,
            };
            let runs = workers::ops::run_phase(&env, &session, phase).await?;
            let report = queries::reports::Report {
                name: "ops",
                columns: vec!["task", "phase", "status", "attempts", "detail"],
                rows: runs
                    .iter()
                    .map(|r| {
                        vec![
                            r.task.clone(),
                            r.phase.as_str().to_owned(),
                            r.status.as_str().to_owned(),
                            r.attempts.to_string(),
                            r.detail.clone().unwrap_or_default(),
                        ]
                    })
                    .collect(),
                totals: Vec::new(),
                summary: vec![("session", serde_json::json!(date)), ("phase", serde_json::json!(phase.as_str()))],
            };
            outln!("{}", with_newline(report.render(format.into())).trim_end())?;
            if runs.iter().any(|r| r.status == domain::ops::Status::Failed) {
                return Err(super::Failed(format!("a task of {phase} on {date} failed")).into());
            }
        }
        OpsCmd::Status { date, format } => {
            let date = date.unwrap_or_else(today);
            let state = commands::ops::state(&cx, date).await?;
            let report = queries::ops::report(date, &state);
            outln!("{}", with_newline(report.render(format.into())).trim_end())?;
        }
    }
    Ok(())
}
