//! The day's operations as an aggregate: each trading session's runs of cairn's own tasks
//! (fetching prices, checking drift, recomputing risk, verifying the log, …) recorded on the
//! session's stream `ops-<YYYY-MM-DD>` as `TaskStarted`, `TaskSucceeded`, `TaskFailed` and
//! `TaskSkipped`, so every run is auditable and a restarted server knows what is done.
//!
//! The rule that makes a run idempotent per (task, session): a task that succeeded is never
//! started again on that session ([`OpsDecider`] refuses it). A task started and never finished
//! (the server stopped mid-task) may start again, as the next attempt.
//!
//! The phases and their times in New York are one table, [`PHASES`]: the times are cairn's
//! house schedule around the NYSE's session (`crate::calendar`), the open and the close being
//! the session's own (13:00 on an early close).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveTime, Utc};
use serde::{Deserialize, Serialize};

use crate::calendar::{new_york, Session};
use crate::DomainError;

/// The schema version of every ops event type this code writes.
pub const SCHEMA_VERSION: u32 = 1;

/// A phase of the trading day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    PreMarket,
    MarketOpen,
    Midday,
    MarketClose,
    PostMarket,
}

/// When a phase runs: at a fixed time in New York, or at the session's open or close.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhaseTime {
    NewYork(u32, u32),
    Open,
    Close,
}

/// The phases in order, with their times: pre-market at 04:00 (when the US pre-market session
/// starts), the open and the close of the session (the close is 13:00 on an early-close day),
/// midday at 12:00 and post-market at 18:00 (after the vendors' end-of-day files).
pub const PHASES: &[(Phase, PhaseTime)] = &[
    (Phase::PreMarket, PhaseTime::NewYork(4, 0)),
    (Phase::MarketOpen, PhaseTime::Open),
    (Phase::Midday, PhaseTime::NewYork(12, 0)),
    (Phase::MarketClose, PhaseTime::Close),
    (Phase::PostMarket, PhaseTime::NewYork(18, 0)),
];

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PreMarket => "pre-market",
            Self::MarketOpen => "market-open",
            Self::Midday => "midday",
            Self::MarketClose => "market-close",
            Self::PostMarket => "post-market",
        }
    }

    /// The instant this phase runs in `session`.
    pub fn at(self, session: &Session) -> DateTime<Utc> {
        let time = PHASES.iter().find(|(p, _)| *p == self).map_or(PhaseTime::Open, |(_, t)| *t);
        match time {
            PhaseTime::Open => session.open,
            PhaseTime::Close => session.close,
            PhaseTime::NewYork(h, m) => {
                new_york(session.date, NaiveTime::from_hms_opt(h, m, 0).unwrap_or(NaiveTime::MIN))
            }
        }
    }

    /// The phases of `session` in order, with their instants.
    pub fn schedule(session: &Session) -> Vec<(Phase, DateTime<Utc>)> {
        PHASES.iter().map(|(p, _)| (*p, p.at(session))).collect()
    }
}

impl std::str::FromStr for Phase {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        PHASES.iter().map(|(p, _)| *p).find(|p| p.as_str() == s.trim()).ok_or_else(|| {
            format!("{s:?} is not a phase ({})", PHASES.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>().join(", "))
        })
    }
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What happened to a task on a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum OpsEvent {
    /// An attempt began.
    TaskStarted { task: String, phase: Phase, attempt: u32, at: DateTime<Utc> },
    /// The attempt finished its work: `summary` says what it did, in a line.
    TaskSucceeded { task: String, attempt: u32, at: DateTime<Utc>, duration_ms: u64, summary: String },
    /// The attempt failed; `retry` when another attempt follows.
    TaskFailed { task: String, attempt: u32, at: DateTime<Utc>, duration_ms: u64, error: String, retry: bool },
    /// The task did not run, and why: a dependency that did not succeed, a run missed beyond
    /// the grace, something not configured.
    TaskSkipped { task: String, phase: Phase, at: DateTime<Utc>, reason: String },
}

impl OpsEvent {
    pub fn event_type(&self) -> &'static str {
        match self {
            Self::TaskStarted { .. } => "TaskStarted",
            Self::TaskSucceeded { .. } => "TaskSucceeded",
            Self::TaskFailed { .. } => "TaskFailed",
            Self::TaskSkipped { .. } => "TaskSkipped",
        }
    }

    /// When it happened (the runner's clock).
    pub fn at(&self) -> DateTime<Utc> {
        match self {
            Self::TaskStarted { at, .. }
            | Self::TaskSucceeded { at, .. }
            | Self::TaskFailed { at, .. }
            | Self::TaskSkipped { at, .. } => *at,
        }
    }

    pub fn task(&self) -> &str {
        match self {
            Self::TaskStarted { task, .. }
            | Self::TaskSucceeded { task, .. }
            | Self::TaskFailed { task, .. }
            | Self::TaskSkipped { task, .. } => task,
        }
    }
}

/// Where a task stands on a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Started and not finished: running now, or interrupted.
    Running,
    Succeeded,
    /// The last attempt failed (and none follows unless `retry` said so).
    Failed,
    Skipped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Skipped => "skipped",
        }
    }
}

/// A task's state on a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskState {
    pub phase: Phase,
    pub status: Status,
    /// Attempts started.
    pub attempts: u32,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// The last attempt's duration.
    pub duration_ms: Option<u64>,
    /// The success's summary, the failure's error, or the skip's reason.
    pub detail: Option<String>,
    /// The last attempt failed and said another would follow (none started yet: the runner
    /// stopped in between, so the task is not finished).
    pub retry_pending: bool,
}

/// A session's tasks, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpsState {
    pub tasks: BTreeMap<String, TaskState>,
}

impl OpsState {
    /// Whether `task` succeeded on this session.
    pub fn succeeded(&self, task: &str) -> bool {
        self.tasks.get(task).is_some_and(|t| t.status == Status::Succeeded)
    }
}

/// What the runner states; the decider checks it against the session's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpsCommand {
    Start { task: String, phase: Phase, at: DateTime<Utc> },
    Succeed { task: String, at: DateTime<Utc>, duration_ms: u64, summary: String },
    Fail { task: String, at: DateTime<Utc>, duration_ms: u64, error: String, retry: bool },
    Skip { task: String, phase: Phase, at: DateTime<Utc>, reason: String },
}

/// The ops aggregate, one stream per session (`ops-<date>`).
pub struct OpsDecider;

impl crate::decider::Decider for OpsDecider {
    type State = OpsState;
    type Command = OpsCommand;
    type Event = OpsEvent;
    const SCHEMA_VERSION: u32 = SCHEMA_VERSION;

    fn decide(state: &OpsState, command: &OpsCommand) -> Result<Vec<OpsEvent>, DomainError> {
        let done = |task: &str| {
            DomainError::conflict("task", format!("{task} already succeeded on this session: it does not run twice"))
        };
        let running = |task: &str, attempt: &mut u32| match state.tasks.get(task) {
            Some(t) if t.status == Status::Running => {
                *attempt = t.attempts;
                Ok(())
            }
            _ => Err(DomainError::conflict("task", format!("{task} is not running"))),
        };
        Ok(vec![match command {
            OpsCommand::Start { task, phase, at } => {
                if state.succeeded(task) {
                    return Err(done(task));
                }
                let attempt = state.tasks.get(task).map_or(0, |t| t.attempts) + 1;
                OpsEvent::TaskStarted { task: task.clone(), phase: *phase, attempt, at: *at }
            }
            OpsCommand::Succeed { task, at, duration_ms, summary } => {
                let mut attempt = 0;
                running(task, &mut attempt)?;
                OpsEvent::TaskSucceeded {
                    task: task.clone(),
                    attempt,
                    at: *at,
                    duration_ms: *duration_ms,
                    summary: summary.clone(),
                }
            }
            OpsCommand::Fail { task, at, duration_ms, error, retry } => {
                let mut attempt = 0;
                running(task, &mut attempt)?;
                OpsEvent::TaskFailed {
                    task: task.clone(),
                    attempt,
                    at: *at,
                    duration_ms: *duration_ms,
                    error: error.clone(),
                    retry: *retry,
                }
            }
            OpsCommand::Skip { task, phase, at, reason } => {
                if state.succeeded(task) {
                    return Err(done(task));
                }
                OpsEvent::TaskSkipped { task: task.clone(), phase: *phase, at: *at, reason: reason.clone() }
            }
        }])
    }

    fn evolve(mut state: OpsState, event: &OpsEvent) -> OpsState {
        let entry = |state: &mut OpsState, task: &str, phase: Phase| -> TaskState {
            state.tasks.remove(task).unwrap_or(TaskState {
                phase,
                status: Status::Running,
                attempts: 0,
                started_at: None,
                finished_at: None,
                duration_ms: None,
                detail: None,
                retry_pending: false,
            })
        };
        let (task, t) = match event {
            OpsEvent::TaskStarted { task, phase, attempt, at } => {
                let mut t = entry(&mut state, task, *phase);
                (t.status, t.attempts, t.started_at, t.finished_at) = (Status::Running, *attempt, Some(*at), None);
                t.retry_pending = false;
                (task, t)
            }
            OpsEvent::TaskSucceeded { task, at, duration_ms, summary, .. } => {
                let mut t = entry(&mut state, task, Phase::PreMarket);
                (t.status, t.finished_at, t.duration_ms) = (Status::Succeeded, Some(*at), Some(*duration_ms));
                t.detail = Some(summary.clone());
                (task, t)
            }
            OpsEvent::TaskFailed { task, at, duration_ms, error, retry, .. } => {
                let mut t = entry(&mut state, task, Phase::PreMarket);
                (t.status, t.finished_at, t.duration_ms) = (Status::Failed, Some(*at), Some(*duration_ms));
                t.retry_pending = *retry;
                t.detail = Some(error.clone());
                (task, t)
            }
            OpsEvent::TaskSkipped { task, phase, at, reason } => {
                let mut t = entry(&mut state, task, *phase);
                (t.status, t.finished_at, t.detail) = (Status::Skipped, Some(*at), Some(reason.clone()));
                (task, t)
            }
        };
        state.tasks.insert(task.clone(), t);
        state
    }

    fn event_type(event: &OpsEvent) -> &'static str {
        event.event_type()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::session;
    use crate::decider::testing::given;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn phases_follow_the_session_across_daylight_time_and_an_early_close() {
        let winter = session("2024-03-08".parse().unwrap()).unwrap();
        let times: Vec<(Phase, DateTime<Utc>)> = Phase::schedule(&winter);
        assert_eq!(
            times,
            [
                (Phase::PreMarket, at("2024-03-08T09:00:00Z")),
                (Phase::MarketOpen, at("2024-03-08T14:30:00Z")),
                (Phase::Midday, at("2024-03-08T17:00:00Z")),
                (Phase::MarketClose, at("2024-03-08T21:00:00Z")),
                (Phase::PostMarket, at("2024-03-08T23:00:00Z")),
            ]
        );
        let summer = session("2024-03-11".parse().unwrap()).unwrap();
        assert_eq!(Phase::PreMarket.at(&summer), at("2024-03-11T08:00:00Z"));
        let early = session("2025-11-28".parse().unwrap()).unwrap();
        assert_eq!(Phase::MarketClose.at(&early), at("2025-11-28T18:00:00Z"));
        assert_eq!("market-close".parse::<Phase>(), Ok(Phase::MarketClose));
        assert!("lunch".parse::<Phase>().unwrap_err().contains("pre-market, market-open"));
    }

    fn start(task: &str) -> OpsCommand {
        OpsCommand::Start { task: task.into(), phase: Phase::PreMarket, at: at("2024-03-08T09:00:00Z") }
    }

    #[test]
    fn a_task_that_succeeded_never_starts_again_on_its_session() {
        let started = OpsEvent::TaskStarted {
            task: "fetch_prices".into(),
            phase: Phase::PreMarket,
            attempt: 1,
            at: at("2024-03-08T09:00:00Z"),
        };
        let done = OpsEvent::TaskSucceeded {
            task: "fetch_prices".into(),
            attempt: 1,
            at: at("2024-03-08T09:00:05Z"),
            duration_ms: 5000,
            summary: "12 bars".into(),
        };
        let refused = given::<OpsDecider>(&[started.clone(), done]).when(&start("fetch_prices")).decided;
        assert!(matches!(refused, Err(DomainError::Conflict { .. })), "{refused:?}");
        // Interrupted (started, never finished): the next start is attempt 2.
        let again = given::<OpsDecider>(std::slice::from_ref(&started)).when(&start("fetch_prices")).decided.unwrap();
        assert!(matches!(&again[0], OpsEvent::TaskStarted { attempt: 2, .. }), "{again:?}");
        // Finishing a task that is not running is refused.
        let finish = OpsCommand::Succeed {
            task: "verify_chain".into(),
            at: at("2024-03-08T09:00:00Z"),
            duration_ms: 1,
            summary: String::new(),
        };
        assert!(given::<OpsDecider>(&[started]).when(&finish).decided.is_err());
    }

    #[test]
    fn the_state_keeps_each_tasks_last_outcome() {
        let events = [
            OpsEvent::TaskStarted {
                task: "t".into(),
                phase: Phase::Midday,
                attempt: 1,
                at: at("2024-03-08T17:00:00Z"),
            },
            OpsEvent::TaskFailed {
                task: "t".into(),
                attempt: 1,
                at: at("2024-03-08T17:00:01Z"),
                duration_ms: 1000,
                error: "timeout".into(),
                retry: true,
            },
            OpsEvent::TaskStarted {
                task: "t".into(),
                phase: Phase::Midday,
                attempt: 2,
                at: at("2024-03-08T17:00:03Z"),
            },
            OpsEvent::TaskSucceeded {
                task: "t".into(),
                attempt: 2,
                at: at("2024-03-08T17:00:04Z"),
                duration_ms: 900,
                summary: "ok".into(),
            },
        ];
        // Stopped after a failure that said another attempt follows: not finished.
        let between = <OpsDecider as crate::decider::Decider>::fold(&events[..2]);
        assert_eq!((between.tasks["t"].status, between.tasks["t"].retry_pending), (Status::Failed, true));
        let state = <OpsDecider as crate::decider::Decider>::fold(&events);
        let t = &state.tasks["t"];
        assert!(!t.retry_pending);
        assert_eq!((t.phase, t.status, t.attempts, t.duration_ms), (Phase::Midday, Status::Succeeded, 2, Some(900)));
        assert_eq!(t.detail.as_deref(), Some("ok"));
    }
}
