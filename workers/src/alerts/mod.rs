//! The monitoring rules run over every household: each household's snapshot of the read
//! models (`queries::monitoring`), the rules of `domain::monitoring` at the household's
//! thresholds, and the findings decided into alerts on its `alerts-<household>` stream
//! (raised, escalated, resolved: `domain::alerts`). [`delivery`] sends the alerts that are due.

pub mod delivery;

use chrono::{DateTime, NaiveDate, Utc};
use commands::aggregate::Caller;
use commands::{CommandError, Context};
use domain::alerts::{AlertCommand, AlertEvent, Policy};
use domain::monitoring::{evaluate, Rule};
use event_store::{EventStore as _, Store};
use projections::db::Db;
use queries::read::Reader;

/// What an evaluation of every household did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Evaluated {
    pub households: usize,
    pub findings: usize,
    pub raised: usize,
    pub escalated: usize,
    pub resolved: usize,
    /// The read models' position the findings reflect.
    pub position: u64,
}

/// Why an evaluation stopped.
#[derive(Debug, thiserror::Error)]
pub enum EvaluateError {
    #[error(transparent)]
    Command(#[from] CommandError),
    #[error(transparent)]
    Read(#[from] anyhow::Error),
    #[error(transparent)]
    Projection(#[from] projections::Error),
}

/// Evaluates every rule for every household as of `as_of` and records the alerts, at `at`.
/// The read models are caught up to the log's head first (waiting up to `follower` for the
/// server's own projectors).
pub async fn evaluate_all(
    cx: &Context<Store>,
    db: &Db,
    as_of: NaiveDate,
    at: DateTime<Utc>,
    follower: std::time::Duration,
) -> Result<Evaluated, EvaluateError> {
    // The risk worker's table, which a database `serve` never ran on has not got yet (created
    // before a snapshot is pinned, which would not see it).
    projections::risk::open(db).await?;
    let head = cx.store().head().await.map_err(CommandError::from)?.map_or(0, |h| h.position);
    let mut position = u64::MAX;
    let mut reader = Reader::with_db(cx.store().clone(), db.clone());
    for name in ["holdings", "prices", "valuation_history"] {
        position = position.min(reader.at_least(name, head, follower).await?.checkpoint);
    }
    let snapshot_db = reader.db.clone();
    let caller = Caller { actor: "cairn monitoring".into(), source: "monitoring".into() };
    let mut done = Evaluated { position, ..Evaluated::default() };
    for household in queries::monitoring::households(&snapshot_db).await? {
        let snapshot = queries::monitoring::snapshot(&snapshot_db, &household, as_of).await?;
        // The household's own thresholds (`cairn rules set`), the moderate profile's otherwise.
        let thresholds = commands::alerts::state(cx, &household).await?.thresholds();
        let findings = evaluate(&snapshot, &thresholds);
        done.households += 1;
        done.findings += findings.len();
        let command =
            AlertCommand::Evaluate { findings, rules: Rule::ALL.to_vec(), position, at, policy: Policy::default() };
        for event in commands::alerts::execute(cx, &household, &command, &caller).await?.events {
            match event {
                AlertEvent::AlertRaised { .. } => done.raised += 1,
                AlertEvent::AlertEscalated { .. } => done.escalated += 1,
                AlertEvent::AlertResolved { .. } => done.resolved += 1,
                _ => {}
            }
        }
    }
    Ok(done)
}
