//! A household's alerts (`domain::alerts`) on its stream `alerts-<household>`: an evaluation's
//! findings raising, escalating and resolving alerts, a person's snooze or dismissal, and each
//! delivery attempt.

use domain::alerts::{AlertCommand, AlertDecider, AlertEvent, Alerts};
use domain::streams::Stream;
use event_store::EventStore;
use uuid::Uuid;

use crate::aggregate::{self, Caller, Executed};
use crate::{CommandError, Context};

/// Decides `command` on the household's alerts and records what it decided.
pub async fn execute<S: EventStore>(
    cx: &Context<S>,
    household: &str,
    command: &AlertCommand,
    caller: &Caller,
) -> Result<Executed<AlertEvent>, CommandError> {
    let stream = crate::stream_id(&Stream::Alerts(domain::streams::HouseholdKey::new(household)?))?;
    aggregate::execute::<AlertDecider, S>(
        cx,
        &stream,
        |state| <AlertDecider as domain::decider::Decider>::decide(state, command),
        None,
        Uuid::now_v7(),
        caller,
    )
    .await
}

fn stream(household: &str) -> Result<event_store::StreamId, CommandError> {
    crate::stream_id(&Stream::Alerts(domain::streams::HouseholdKey::new(household)?))
}

/// The household's alerts as recorded.
pub async fn state<S: EventStore>(cx: &Context<S>, household: &str) -> Result<Alerts, CommandError> {
    Ok(aggregate::load::<AlertDecider, S>(cx, &stream(household)?).await?.0)
}

/// Many households' alerts as recorded, in the order given, read in one round trip.
pub async fn states<S: EventStore>(cx: &Context<S>, households: &[String]) -> Result<Vec<Alerts>, CommandError> {
    let streams = households.iter().map(|h| stream(h)).collect::<Result<Vec<_>, _>>()?;
    Ok(aggregate::load_many::<AlertDecider, S>(cx, &streams).await?.into_iter().map(|(s, _)| s).collect())
}

/// Decides one command on each of several households' alerts and records them all in one
/// transaction (all or nothing; a household whose decision is nothing writes nothing): an
/// evaluation of many households costs one commit, not one per household.
pub async fn execute_many<S: EventStore>(
    cx: &Context<S>,
    commands: Vec<(String, AlertCommand)>,
    caller: &Caller,
) -> Result<Vec<Executed<AlertEvent>>, CommandError> {
    let decisions = commands
        .into_iter()
        .map(|(household, command)| Ok((stream(&household)?, command)))
        .collect::<Result<Vec<_>, CommandError>>()?;
    aggregate::execute_many::<AlertDecider, S>(cx, &decisions, Uuid::now_v7(), caller).await
}
