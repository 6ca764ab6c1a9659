//! When the phases run: at each session's phase instants (`domain::ops::Phase::at`), on the
//! [`Env`]'s clock, and on start for the phases missed while the server was down.
//!
//! Missed runs are coalesced as APScheduler's `coalesce` does: a missed phase runs once, not
//! once per instant missed. They are looked for from the last session that has any record (or
//! today's, on a first start) to now; a phase at most `grace` late runs, oldest first; a later
//! one has its unfinished tasks recorded as skipped, saying when it was due.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::America::New_York;
use domain::calendar::{session_on_or_after, sessions, Session};
use domain::ops::{Phase, Status};

use super::{phase_done, run_phase, tasks_of, Env};
use commands::CommandError;

/// How far back a start looks for a session with records (a server down longer catches up
/// only from there).
pub const LOOK_BACK_DAYS: i64 = 10;

/// The first phase strictly after `after`, with its session and instant.
pub fn next_phase(after: DateTime<Utc>) -> (Session, Phase, DateTime<Utc>) {
    let mut session = session_on_or_after(after.with_timezone(&New_York).date_naive());
    loop {
        if let Some((phase, at)) = Phase::schedule(&session).into_iter().find(|(_, at)| *at > after) {
            return (session, phase, at);
        }
        session = session_on_or_after(session.date + Duration::days(1));
    }
}

/// Runs the phases missed before now: see the module's doc. Returns the phases run and those
/// recorded as skipped.
pub async fn catch_up(env: &Env) -> Result<(Vec<(Session, Phase)>, Vec<(Session, Phase)>), CommandError> {
    let now = env.clock.now();
    let today = now.with_timezone(&New_York).date_naive();
    let window = sessions(today - Duration::days(LOOK_BACK_DAYS), today);
    let mut first = None;
    for s in window.iter().rev() {
        if !commands::ops::state(&env.cx, s.date).await?.tasks.is_empty() {
            first = Some(s.date);
            break;
        }
    }
    let grace = Duration::from_std(env.settings.grace).unwrap_or(Duration::MAX);
    let (mut ran, mut skipped) = (Vec::new(), Vec::new());
    for session in window.into_iter().filter(|s| s.date >= first.unwrap_or(today)) {
        for (phase, at) in Phase::schedule(&session) {
            if at > now {
                continue;
            }
            let state = commands::ops::state(&env.cx, session.date).await?;
            if phase_done(&state, phase) {
                continue;
            }
            if now - at <= grace {
                tracing::info!(session = %session.date, phase = phase.as_str(), "running a phase missed while the server was down");
                run_phase(env, &session, phase).await?;
                ran.push((session, phase));
            } else {
                let reason = format!(
                    "missed: due at {} while the server was not running, beyond the grace of {} h",
                    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    grace.num_minutes() as f64 / 60.0
                );
                for spec in tasks_of(phase) {
                    let unfinished = state
                        .tasks
                        .get(spec.name)
                        .is_none_or(|t| t.status == Status::Running || (t.status == Status::Failed && t.retry_pending));
                    if unfinished {
                        let skip = domain::ops::OpsCommand::Skip {
                            task: spec.name.into(),
                            phase,
                            at: now,
                            reason: reason.clone(),
                        };
                        commands::ops::record(&env.cx, session.date, &skip, &super::caller()).await?;
                    }
                }
                skipped.push((session, phase));
            }
        }
    }
    Ok((ran, skipped))
}

/// Catches up, then runs each phase at its instant until `stop` turns true (or, with `until`,
/// until the clock passes it: a simulated week). A phase that fails as a whole (the store) is
/// logged and the next phase still runs.
pub async fn run(env: &Env, until: Option<DateTime<Utc>>, mut stop: tokio::sync::watch::Receiver<bool>) {
    if let Err(e) = catch_up(env).await {
        tracing::error!(error = %e, "ops: catching up missed phases failed");
    }
    loop {
        let (session, phase, at) = next_phase(env.clock.now());
        if until.is_some_and(|u| at > u) {
            return;
        }
        tokio::select! {
            () = env.clock.sleep_until(at) => {}
            _ = stop.changed() => {}
        }
        if *stop.borrow() {
            return;
        }
        match run_phase(env, &session, phase).await {
            Ok(runs) => tracing::info!(
                session = %session.date,
                phase = phase.as_str(),
                succeeded = runs.iter().filter(|r| r.status == Status::Succeeded).count(),
                failed = runs.iter().filter(|r| r.status == Status::Failed).count(),
                "ops phase ran"
            ),
            Err(e) => tracing::error!(session = %session.date, phase = phase.as_str(), error = %e, "ops phase failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn the_next_phase_crosses_weekends_and_holidays() {
        // Friday 3 July 2026 is Independence Day observed: after Thursday's post-market comes
        // Monday 6 July's pre-market (04:00 EDT = 08:00Z).
        let (s, p, when) = next_phase(at("2026-07-02T22:00:00Z"));
        assert_eq!((s.date.to_string(), p, when), ("2026-07-06".into(), Phase::PreMarket, at("2026-07-06T08:00:00Z")));
        // During the day: the next phase of the same session.
        let (_, p, when) = next_phase(at("2026-07-06T13:30:00Z"));
        assert_eq!((p, when), (Phase::Midday, at("2026-07-06T16:00:00Z")));
    }
}
