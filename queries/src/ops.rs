//! `cairn ops status` and the daily summary: a session's tasks as recorded on its `ops-<date>`
//! stream (`domain::ops`).

use chrono::{NaiveDate, SecondsFormat};
use domain::ops::{OpsState, PHASES};

use crate::reports::Report;

/// The session's tasks, by phase then name: phase, status, attempts, when the last attempt
/// started and finished, its duration, and its summary, error or reason.
pub fn report(date: NaiveDate, state: &OpsState) -> Report {
    let phase_order = |p| PHASES.iter().position(|(q, _)| *q == p).unwrap_or(usize::MAX);
    let mut tasks: Vec<_> = state.tasks.iter().collect();
    tasks.sort_by_key(|(name, t)| (phase_order(t.phase), t.started_at.or(t.finished_at), (*name).clone()));
    let at = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true)).unwrap_or_default()
    };
    let count = |s: domain::ops::Status| state.tasks.values().filter(|t| t.status == s).count();
    Report {
        name: "ops",
        columns: vec!["task", "phase", "status", "attempts", "started_at", "finished_at", "duration_ms", "detail"],
        rows: tasks
            .iter()
            .map(|(name, t)| {
                vec![
                    (*name).clone(),
                    t.phase.as_str().to_owned(),
                    t.status.as_str().to_owned(),
                    t.attempts.to_string(),
                    at(t.started_at),
                    at(t.finished_at),
                    t.duration_ms.map(|d| d.to_string()).unwrap_or_default(),
                    t.detail.clone().unwrap_or_default(),
                ]
            })
            .collect(),
        totals: Vec::new(),
        summary: vec![
            ("session", serde_json::json!(date)),
            ("succeeded", serde_json::json!(count(domain::ops::Status::Succeeded))),
            ("failed", serde_json::json!(count(domain::ops::Status::Failed))),
            ("skipped", serde_json::json!(count(domain::ops::Status::Skipped))),
            ("running", serde_json::json!(count(domain::ops::Status::Running))),
        ],
    }
}
