//! The monitoring rules run over every household: each household's snapshot of the read
//! models (`queries::monitoring`), the rules of `domain::monitoring` at the household's
//! thresholds, and the findings decided into alerts on its `alerts-<household>` stream
//! (raised, escalated, resolved: `domain::alerts`). [`delivery`] sends the alerts that are due.

pub mod delivery;
pub mod live;

use chrono::{DateTime, NaiveDate, Utc};
use commands::aggregate::Caller;
use commands::{CommandError, Context};
use domain::alerts::{AlertCommand, AlertEvent, Policy};
use domain::monitoring::Rule;
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
    /// Where the time went, in milliseconds: catching the read models up, reading the
    /// snapshots, loading each household's alerts and running the rules, recording the alerts.
    pub timings: Timings,
}

/// An evaluation's phases, in milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Timings {
    pub catch_up_ms: u64,
    pub snapshots_ms: u64,
    pub rules_ms: u64,
    pub record_ms: u64,
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
    #[error(transparent)]
    Report(#[from] queries::ledger::ReportError),
}

/// Households whose alerts are recorded in one transaction: few commits for an evaluation of
/// thousands, and the first alerts visible before the last households are evaluated.
const BATCH: usize = 500;

/// Records a batch of evaluations, counting what they decided.
async fn record(
    cx: &Context<Store>,
    batch: Vec<(String, AlertCommand)>,
    caller: &Caller,
    done: &mut Evaluated,
) -> Result<(), EvaluateError> {
    if batch.is_empty() {
        return Ok(());
    }
    for executed in commands::alerts::execute_many(cx, batch, caller).await? {
        for event in executed.events {
            match event {
                AlertEvent::AlertRaised { .. } => done.raised += 1,
                AlertEvent::AlertEscalated { .. } => done.escalated += 1,
                AlertEvent::AlertResolved { .. } => done.resolved += 1,
                _ => {}
            }
        }
    }
    Ok(())
}

/// Evaluates every rule for some households (by key: [`live`]'s, those a commit touched) or
/// for every one (`None`: the daily task's and `cairn alerts evaluate`'s) as of `as_of` and
/// records the alerts, at `at`. The read models are caught up to the log's head first (waiting
/// up to `follower` for the server's own projectors). With a `benchmark` (a symbol with daily
/// bars), its market regimes are classified once and every household's regime rule reads them.
pub async fn evaluate(
    cx: &Context<Store>,
    db: &Db,
    households: Option<&[String]>,
    as_of: NaiveDate,
    at: DateTime<Utc>,
    follower: std::time::Duration,
    benchmark: Option<&str>,
) -> Result<Evaluated, EvaluateError> {
    // The risk worker's table, which a database `serve` never ran on has not got yet (created
    // before a snapshot is pinned, which would not see it).
    projections::risk::open(db).await?;
    let ms = |t: std::time::Instant| t.elapsed().as_millis() as u64;
    let started = std::time::Instant::now();
    let head = cx.store().head().await.map_err(CommandError::from)?.map_or(0, |h| h.position);
    let mut position = u64::MAX;
    const READ: [&str; 3] = ["holdings", "prices", "valuation_history"];
    // Caught up side by side (as `serve`'s projectors run), so one's writes overlap another's
    // work; then each is pinned in order below, already caught up.
    let caught = futures::future::join_all(READ.map(|name| {
        let mut reader = Reader::with_db(cx.store().clone(), db.clone());
        async move { reader.at_least(name, head, follower).await.map(|_| ()) }
    }))
    .await;
    caught.into_iter().collect::<Result<Vec<()>, _>>()?;
    let mut reader = Reader::with_db(cx.store().clone(), db.clone());
    for name in READ {
        position = position.min(reader.at_least(name, head, follower).await?.checkpoint);
    }
    let snapshot_db = reader.db.clone();
    let caller = Caller { actor: "cairn monitoring".into(), source: "monitoring".into() };
    let mut done = Evaluated { position, ..Evaluated::default() };
    done.timings.catch_up_ms = ms(started);
    let t = std::time::Instant::now();
    let mut snapshots = queries::monitoring::snapshots(&snapshot_db, households, as_of).await?;
    if let Some(benchmark) = benchmark {
        let series = queries::monitoring::regime(&snapshot_db, benchmark, as_of).await?;
        for s in snapshots.values_mut() {
            s.regime.clone_from(&series);
        }
    }
    done.timings.snapshots_ms = ms(t);
    // Without a benchmark the regime rule is not evaluated, so its alerts are left as they are.
    let rules: Vec<Rule> = Rule::ALL.into_iter().filter(|r| benchmark.is_some() || *r != Rule::Regime).collect();
    let mut batch: Vec<(String, AlertCommand)> = Vec::with_capacity(BATCH);
    let mut recording = std::time::Duration::ZERO;
    let t = std::time::Instant::now();
    // Every household's alerts in one read: its own thresholds (`cairn rules set`), the
    // moderate profile's otherwise.
    let households: Vec<String> = snapshots.keys().cloned().collect();
    let alerts = commands::alerts::states(cx, &households).await?;
    for ((household, mut snapshot), alerts) in snapshots.into_iter().zip(alerts) {
        let thresholds = alerts.thresholds();
        // Its goals at its own return and volatility, with their on-track probability.
        let goals = std::mem::take(&mut snapshot.goals);
        snapshot.goals = queries::goals::assessed(&household, goals, &thresholds, as_of).await?;
        let findings = domain::monitoring::evaluate(&snapshot, &thresholds);
        done.households += 1;
        done.findings += findings.len();
        let command =
            AlertCommand::Evaluate { findings, rules: rules.clone(), position, at, policy: Policy::default() };
        batch.push((household, command));
        if batch.len() == BATCH {
            let r = std::time::Instant::now();
            record(cx, std::mem::take(&mut batch), &caller, &mut done).await?;
            recording += r.elapsed();
        }
    }
    let r = std::time::Instant::now();
    record(cx, batch, &caller, &mut done).await?;
    recording += r.elapsed();
    done.timings.record_ms = recording.as_millis() as u64;
    done.timings.rules_ms = ms(t).saturating_sub(done.timings.record_ms);
    Ok(done)
}
