//! The day's operations (`domain::ops`): a task's start, outcome or skip recorded on its
//! session's stream `ops-<date>`, and the session's state read back.

use chrono::NaiveDate;
use domain::ops::{OpsCommand, OpsDecider, OpsEvent, OpsState};
use domain::streams::Stream;
use event_store::EventStore;
use uuid::Uuid;

use crate::aggregate::{self, Caller};
use crate::{CommandError, Context};

/// Records `command` on the session of `date`; the event recorded (a refusal when the task
/// already succeeded on that session, or is not running).
pub async fn record<S: EventStore>(
    cx: &Context<S>,
    date: NaiveDate,
    command: &OpsCommand,
    caller: &Caller,
) -> Result<OpsEvent, CommandError> {
    let stream = crate::stream_id(&Stream::Ops(date))?;
    let executed = aggregate::execute::<OpsDecider, S>(
        cx,
        &stream,
        |state| <OpsDecider as domain::decider::Decider>::decide(state, command),
        None,
        Uuid::now_v7(),
        caller,
    )
    .await?;
    executed
        .events
        .into_iter()
        .next()
        .ok_or_else(|| CommandError::Rejected(domain::DomainError::conflict("task", "nothing was recorded")))
}

/// The session of `date`'s tasks as recorded.
pub async fn state<S: EventStore>(cx: &Context<S>, date: NaiveDate) -> Result<OpsState, CommandError> {
    let stream = crate::stream_id(&Stream::Ops(date))?;
    Ok(aggregate::load::<OpsDecider, S>(cx, &stream).await?.0)
}
