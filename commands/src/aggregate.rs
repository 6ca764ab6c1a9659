//! The command loop every aggregate shares: fold a stream into state, decide, append with the
//! expected version, and decide again from fresh state when another writer appended first.

use serde::de::DeserializeOwned;
use serde::Serialize;
use uuid::Uuid;

use event_store::{Direction, EventStore, ExpectedVersion, Metadata, NewEvent, StoreError, StreamId, Upcasters};

use crate::CommandError;

/// How many times a command is decided again after a version conflict.
const MAX_ATTEMPTS: usize = 5;

/// What the loop needs to know of an aggregate.
pub trait Aggregate {
    type State: Default;
    type Event: Serialize + DeserializeOwned;
    /// The schema version of every event type this code writes.
    const SCHEMA_VERSION: u32;
    fn evolve(state: Self::State, event: &Self::Event) -> Self::State;
    fn event_type(event: &Self::Event) -> &'static str;
}

/// Who runs a command, and through what (stored in every event's metadata).
#[derive(Debug, Clone)]
pub struct Caller {
    pub actor: String,
    pub source: String,
}

/// Folds a stream into state. Returns the state and the stream's version (0 for none).
pub async fn load<A: Aggregate, S: EventStore>(store: &S, stream: &StreamId) -> Result<(A::State, u64), CommandError> {
    let upcasters = Upcasters::new();
    let mut state = A::State::default();
    let mut version = 0;
    loop {
        let page = store.read_stream(stream, version + 1, Direction::Forwards, 10_000).await?;
        if page.is_empty() {
            break;
        }
        for stored in &page {
            let event: A::Event = upcasters.decode_versioned(stored, A::SCHEMA_VERSION)?;
            state = A::evolve(state, &event);
            version = stored.stream_version;
        }
    }
    Ok((state, version))
}

/// The metadata every event of a command carries.
pub fn metadata(command_id: Uuid, caller: &Caller) -> Metadata {
    Metadata {
        correlation_id: Some(command_id),
        command_id: Some(command_id),
        actor: Some(caller.actor.clone()),
        source: Some(caller.source.clone()),
        ..Default::default()
    }
}

/// An aggregate's events, encoded for appending (fresh UUID v7 ids).
pub fn new_events<A: Aggregate>(events: &[A::Event], metadata: &Metadata) -> Result<Vec<NewEvent>, StoreError> {
    events
        .iter()
        .map(|e| {
            Ok(NewEvent {
                event_id: Uuid::now_v7(),
                event_type: A::event_type(e).to_owned(),
                schema_version: A::SCHEMA_VERSION,
                payload: event_store::codec::to_msgpack(e)?,
                metadata: metadata.clone(),
            })
        })
        .collect()
}

/// What a command appended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Executed<E> {
    /// The events appended; none when the decision was that nothing changes.
    pub events: Vec<E>,
    pub first_position: Option<u64>,
    pub last_position: Option<u64>,
    /// The stream's version after the command.
    pub stream_version: u64,
}

/// Loads `stream`, runs `decide` on its state, and appends the result with the expected
/// version; on a conflict it starts over, at most a few times. With `expected`, the caller's
/// own optimistic lock, a stream at any other version is a [`CommandError::Conflict`] and is
/// not retried.
pub async fn execute<A, S>(
    store: &S,
    stream: &StreamId,
    decide: impl Fn(&A::State) -> Result<Vec<A::Event>, domain::DomainError>,
    expected: Option<u64>,
    command_id: Uuid,
    caller: &Caller,
) -> Result<Executed<A::Event>, CommandError>
where
    A: Aggregate,
    S: EventStore,
{
    for attempt in 1..=MAX_ATTEMPTS {
        let (state, version) = load::<A, S>(store, stream).await?;
        if let Some(wanted) = expected.filter(|w| *w != version) {
            return Err(CommandError::Conflict { stream: stream.to_string(), expected: wanted, actual: version });
        }
        let events = decide(&state)?;
        if events.is_empty() {
            return Ok(Executed { events, first_position: None, last_position: None, stream_version: version });
        }
        let new_events = new_events::<A>(&events, &metadata(command_id, caller))?;
        let at = if version == 0 { ExpectedVersion::NoStream } else { ExpectedVersion::Exact(version) };
        match store.append(stream, at, &new_events).await {
            Ok(r) => {
                return Ok(Executed {
                    events,
                    first_position: Some(r.first_position),
                    last_position: Some(r.last_position),
                    stream_version: r.stream_version,
                })
            }
            Err(e) if e.is_conflict() && expected.is_none() => {
                tracing::info!(attempt, stream = %stream, "stream changed while deciding; deciding again");
            }
            Err(StoreError::Conflict { actual, .. }) if expected.is_some() => {
                return Err(CommandError::Conflict { stream: stream.to_string(), expected: version, actual })
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(CommandError::Contention(stream.to_string()))
}
