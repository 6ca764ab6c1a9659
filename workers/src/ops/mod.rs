//! cairn runs the day: each NYSE session's phases (`domain::ops::PHASES`: pre-market 04:00,
//! the open, midday 12:00, the close, post-market 18:00, New York time) run cairn's own tasks
//! ([`TASKS`]), every start, outcome and skip recorded on the session's stream `ops-<date>`.
//!
//! - **Order**: a phase's tasks run one after another by priority; a task whose dependency did
//!   not succeed on the session is skipped, saying which and why.
//! - **Retries**: a failed attempt is retried after a pause that doubles each time (the
//!   settings' `retries` attempts in all, 3 by default); each attempt has its task's timeout.
//! - **Idempotent per (task, session)**: a task that succeeded never runs again on that session
//!   (the decider refuses it); one started and never finished (the server stopped) runs again
//!   as the next attempt. So a restarted server, or `cairn ops run` by hand, resumes a phase.
//! - **Missed runs** ([`scheduler`]): on start, the phases that passed while the server was down
//!   run once each, oldest first, when they are within the grace; beyond it their tasks are
//!   recorded as skipped, never dropped silently.
//! - **Time** comes from a [`clock::Clock`]: the system's, or a simulated one in tests.

pub mod clock;
pub mod config;
pub mod scheduler;
mod tasks;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use commands::aggregate::Caller;
use commands::{CommandError, Context};
use domain::calendar::Session;
use domain::ops::{OpsCommand, OpsState, Phase, Status};
use projections::db::Db;

use crate::market::selector::Selector;
pub use config::Settings;

/// One task: its name, phase, the tasks that must have succeeded on the session before it, its
/// priority in the phase (lower first) and how long one attempt may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskSpec {
    pub name: &'static str,
    pub phase: Phase,
    pub after: &'static [&'static str],
    pub priority: u8,
    pub timeout: Duration,
}

/// The tasks of a session, in the order they run.
pub const TASKS: &[TaskSpec] = &[
    // Daily bars of every symbol held (and the configured ones) through the last session, from the providers.
    TaskSpec {
        name: "fetch_prices",
        phase: Phase::PreMarket,
        after: &[],
        priority: 10,
        timeout: Duration::from_secs(10 * 60),
    },
    // The last session's bars as recorded: symbols without one, flagged, refused.
    TaskSpec {
        name: "data_quality",
        phase: Phase::PreMarket,
        after: &["fetch_prices"],
        priority: 20,
        timeout: Duration::from_secs(5 * 60),
    },
    // Portfolios beyond their drift threshold.
    TaskSpec {
        name: "drift_check",
        phase: Phase::MarketOpen,
        after: &[],
        priority: 10,
        timeout: Duration::from_secs(5 * 60),
    },
    // Open lots in taxable accounts below their basis at the latest close.
    TaskSpec {
        name: "loss_scan",
        phase: Phase::MarketOpen,
        after: &[],
        priority: 20,
        timeout: Duration::from_secs(5 * 60),
    },
    // Every portfolio's VaR, CVaR and volatility computed again.
    TaskSpec {
        name: "portfolio_risk",
        phase: Phase::Midday,
        after: &[],
        priority: 10,
        timeout: Duration::from_secs(15 * 60),
    },
    // The session's own bars, from the providers.
    TaskSpec {
        name: "closing_prices",
        phase: Phase::MarketClose,
        after: &[],
        priority: 10,
        timeout: Duration::from_secs(10 * 60),
    },
    // Each household's value at the close and the day's gain.
    TaskSpec {
        name: "valuation_snapshot",
        phase: Phase::PostMarket,
        after: &["closing_prices"],
        priority: 10,
        timeout: Duration::from_secs(10 * 60),
    },
    // Every monitoring rule over every household at the close; findings raise, escalate and resolve alerts.
    TaskSpec {
        name: "monitoring",
        phase: Phase::PostMarket,
        after: &["valuation_snapshot"],
        priority: 15,
        timeout: Duration::from_secs(15 * 60),
    },
    // Each configured broker statement of positions recorded as balance assertions and checked
    // against the ledger; disagreements raise reconciliation alerts.
    TaskSpec {
        name: "reconciliation",
        phase: Phase::PostMarket,
        after: &[],
        priority: 12,
        timeout: Duration::from_secs(10 * 60),
    },
    // The session's tasks and outcomes as a report, recorded with its SHA-256 (ReportGenerated).
    TaskSpec {
        name: "daily_summary",
        phase: Phase::PostMarket,
        after: &["valuation_snapshot"],
        priority: 20,
        timeout: Duration::from_secs(5 * 60),
    },
    // The hash chain of the whole log recomputed.
    TaskSpec {
        name: "verify_chain",
        phase: Phase::PostMarket,
        after: &[],
        priority: 30,
        timeout: Duration::from_secs(60 * 60),
    },
    // Each read model against a rebuild from the log (equal digests).
    TaskSpec {
        name: "projections_digest",
        phase: Phase::PostMarket,
        after: &[],
        priority: 40,
        timeout: Duration::from_secs(60 * 60),
    },
    // The log's events since the last backup sealed into `backup_dir` (when configured), once
    // the chain is verified.
    TaskSpec {
        name: "backup",
        phase: Phase::PostMarket,
        after: &["verify_chain"],
        priority: 50,
        timeout: Duration::from_secs(2 * 60 * 60),
    },
];

/// What a task answered.
pub(crate) enum Outcome {
    /// Done: what it did, in a line.
    Done(String),
    /// It cannot run here (nothing configured for it): recorded as skipped, with why.
    NotConfigured(String),
}

/// Everything the tasks use.
pub struct Env {
    pub cx: Context,
    /// The read models' database.
    pub db: Db,
    pub selector: Option<Arc<Selector>>,
    pub settings: Settings,
    pub clock: Arc<dyn clock::Clock>,
    pub metrics: Arc<OpsMetrics>,
    /// How long a read waits for the server's own projectors to reach the log's head before
    /// catching them up itself ([`FOLLOWER`] in `serve`, none where no projector follows).
    pub follower: Duration,
}

/// [`Env::follower`] in `serve`, whose projectors follow the log.
pub const FOLLOWER: Duration = Duration::from_secs(2);

/// Each task's last outcome, and the live alerts' evaluations, for `/metrics`.
#[derive(Debug, Default)]
pub struct OpsMetrics {
    last: Mutex<BTreeMap<String, LastRun>>,
    pub live: Arc<crate::alerts::live::Metrics>,
}

/// A task's last outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastRun {
    pub status: Status,
    pub finished_unix: i64,
    pub duration_ms: u64,
    pub attempts: u32,
}

impl OpsMetrics {
    pub fn last(&self) -> BTreeMap<String, LastRun> {
        self.last.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn note(&self, task: &str, run: LastRun) {
        self.last.lock().unwrap_or_else(|e| e.into_inner()).insert(task.to_owned(), run);
    }
}

/// A task's state after a phase ran.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TaskRun {
    pub task: String,
    pub phase: Phase,
    pub status: Status,
    pub attempts: u32,
    pub detail: Option<String>,
}

fn caller() -> Caller {
    Caller { actor: "cairn ops".into(), source: "ops".into() }
}

/// The tasks of `phase`, in the order they run.
pub fn tasks_of(phase: Phase) -> Vec<&'static TaskSpec> {
    let mut tasks: Vec<&TaskSpec> = TASKS.iter().filter(|t| t.phase == phase).collect();
    tasks.sort_by_key(|t| t.priority);
    tasks
}

/// Whether every task of `phase` has an outcome on the session (succeeded, skipped, or failed
/// with no retry left): nothing of it is left to run.
pub fn phase_done(state: &OpsState, phase: Phase) -> bool {
    tasks_of(phase).iter().all(|t| {
        state.tasks.get(t.name).is_some_and(|s| match s.status {
            Status::Succeeded | Status::Skipped => true,
            Status::Failed => !s.retry_pending,
            Status::Running => false,
        })
    })
}

/// Runs `phase` of `session` now: every task not yet succeeded on the session, in order, with
/// retries; returns each task's state afterwards.
pub async fn run_phase(env: &Env, session: &Session, phase: Phase) -> Result<Vec<TaskRun>, CommandError> {
    let date = session.date;
    for spec in tasks_of(phase) {
        let state = commands::ops::state(&env.cx, date).await?;
        if state.succeeded(spec.name) {
            continue;
        }
        let skip = |reason: String| OpsCommand::Skip { task: spec.name.into(), phase, at: env.clock.now(), reason };
        let already_skipped = |reason: &str| {
            state
                .tasks
                .get(spec.name)
                .is_some_and(|t| t.status == Status::Skipped && t.detail.as_deref() == Some(reason))
        };
        let blocked = spec.after.iter().find(|dep| !state.succeeded(dep)).map(|dep| {
            let status = state.tasks.get(*dep).map_or("did not run", |t| t.status.as_str());
            format!(
                "depends on {dep}, which {}",
                if status == "did not run" { status.to_owned() } else { format!("is {status}") }
            )
        });
        let off = env.settings.skip.iter().any(|s| s == spec.name).then(|| "turned off in the ops settings".to_owned());
        if let Some(reason) = off.or(blocked) {
            if !already_skipped(&reason) {
                commands::ops::record(&env.cx, date, &skip(reason), &caller()).await?;
            }
            continue;
        }
        attempt_all(env, session, spec).await?;
    }
    let state = commands::ops::state(&env.cx, date).await?;
    Ok(tasks_of(phase)
        .iter()
        .filter_map(|spec| {
            state.tasks.get(spec.name).map(|t| TaskRun {
                task: spec.name.to_owned(),
                phase,
                status: t.status,
                attempts: t.attempts,
                detail: t.detail.clone(),
            })
        })
        .collect())
}

/// One task's attempts until it succeeds, is skipped, or has no attempt left.
async fn attempt_all(env: &Env, session: &Session, spec: &TaskSpec) -> Result<(), CommandError> {
    let date = session.date;
    let attempts = env.settings.retries.max(1);
    let timeout = env.settings.timeouts.get(spec.name).copied().unwrap_or(spec.timeout);
    for n in 1..=attempts {
        let start = OpsCommand::Start { task: spec.name.into(), phase: spec.phase, at: env.clock.now() };
        match commands::ops::record(&env.cx, date, &start, &caller()).await {
            Ok(_) => {}
            // Another runner finished it meanwhile.
            Err(CommandError::Rejected(domain::DomainError::Conflict { .. })) => return Ok(()),
            Err(e) => return Err(e),
        }
        let began = Instant::now();
        let result = match tokio::time::timeout(timeout, perform(env, session, spec)).await {
            Ok(r) => r,
            Err(_) => Err(format!("did not finish within {} s", timeout.as_secs())),
        };
        let duration_ms = u64::try_from(began.elapsed().as_millis()).unwrap_or(u64::MAX);
        let at = env.clock.now();
        let task = spec.name.to_owned();
        let (command, status, done) = match result {
            Ok(Outcome::Done(summary)) => {
                tracing::info!(task = spec.name, %date, %summary, "ops task succeeded");
                (OpsCommand::Succeed { task, at, duration_ms, summary }, Status::Succeeded, true)
            }
            Ok(Outcome::NotConfigured(reason)) => {
                (OpsCommand::Skip { task, phase: spec.phase, at, reason }, Status::Skipped, true)
            }
            Err(error) => {
                let retry = n < attempts;
                tracing::warn!(task = spec.name, %date, attempt = n, retry, %error, "ops task failed");
                (OpsCommand::Fail { task, at, duration_ms, error, retry }, Status::Failed, !retry)
            }
        };
        commands::ops::record(&env.cx, date, &command, &caller()).await?;
        env.metrics.note(spec.name, LastRun { status, finished_unix: at.timestamp(), duration_ms, attempts: n });
        if done {
            return Ok(());
        }
        // 1, 2, 4, … times the first pause.
        let pause = env.settings.backoff.saturating_mul(1 << (n - 1).min(16));
        env.clock.sleep_until(env.clock.now() + chrono::Duration::from_std(pause).unwrap_or_default()).await;
    }
    Ok(())
}

/// Runs one attempt of `spec`'s work.
async fn perform(env: &Env, session: &Session, spec: &TaskSpec) -> Result<Outcome, String> {
    let previous = domain::calendar::previous_session(session.date);
    match spec.name {
        "fetch_prices" => tasks::prices(env, previous).await,
        "data_quality" => tasks::data_quality(env, session).await,
        "drift_check" => tasks::drift(env).await,
        "loss_scan" => tasks::losses(env, session).await,
        "portfolio_risk" => tasks::risk(env).await,
        "closing_prices" => tasks::prices(env, session.date).await,
        "valuation_snapshot" => tasks::valuation(env, session).await,
        "monitoring" => tasks::monitoring(env, session).await,
        "reconciliation" => tasks::reconcile(env).await,
        "daily_summary" => tasks::summary(env, session).await,
        "verify_chain" => tasks::verify(env.cx.store()).await,
        "projections_digest" => tasks::digests(env).await,
        "backup" => tasks::backup(env).await,
        other => Err(format!("{other} is not a task this build knows")),
    }
}
