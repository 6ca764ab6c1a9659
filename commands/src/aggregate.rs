//! The command loop every aggregate shares: fold a stream into state, decide, append with the
//! expected version, and decide again from fresh state when another writer appended first.
//!
//! Folded states are kept in the [`Context`]'s [`States`] by (aggregate type, stream) with the
//! version they reflect: loading a stream reads only the events after that version (a stream
//! only grows, so the cached state plus those events is the state). A command takes its
//! stream's entry out while it decides and puts the new state back after its append, so a long
//! ledger is not read and decoded whole for every trade.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::Mutex;

use domain::decider::Decider;
use serde::de::DeserializeOwned;
use serde::Serialize;
use uuid::Uuid;

use event_store::{
    Direction, EventStore, ExpectedVersion, Metadata, NewEvent, StoreError, StreamId, StreamWrite, Upcasters,
};

use crate::{CommandError, Context};

/// How long a command with no precondition of its own keeps deciding again while other writers
/// get to its stream first (it then fails with [`CommandError::Contention`]).
pub const RETRY_FOR: std::time::Duration = std::time::Duration::from_secs(10);

/// The pause before deciding again: growing from about 1 ms to at most about 64 ms, with a
/// jitter taken from the command id so that writers that collided do not collide again in step.
pub fn backoff(attempt: u32, command_id: Uuid) -> std::time::Duration {
    let base = 1u64 << attempt.min(6);
    let jitter = u64::from(command_id.as_bytes()[15] ^ (attempt as u8).wrapping_mul(151)) % (base + 1);
    std::time::Duration::from_millis(base / 2 + jitter)
}

/// What the loop needs of an aggregate: a [`Decider`] whose events are stored as MessagePack.
/// Every decider of the domain is one.
pub trait Aggregate: Decider<Event: Serialize + DeserializeOwned> {}

impl<D> Aggregate for D
where
    D: Decider,
    D::Event: Serialize + DeserializeOwned,
{
}

/// Who runs a command, and through what (stored in every event's metadata).
#[derive(Debug, Clone)]
pub struct Caller {
    pub actor: String,
    pub source: String,
}

/// Streams whose folded state is kept; past this the cache is emptied and fills again.
const CACHED_STREAMS: usize = 4096;

type Key = (TypeId, String);
type Entry = (Box<dyn Any + Send>, u64);

/// The folded states of one store's streams, by aggregate type and stream, each with the
/// version it reflects. A [`Context`] holds one beside its store, so two stores' states never
/// mix and nothing outlives the application that built it.
#[derive(Default)]
pub struct States(Mutex<HashMap<Key, Entry>>);

impl std::fmt::Debug for States {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("States").field("streams", &self.map().len()).finish()
    }
}

impl States {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Entry>> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The cached state of a stream: taken out (a command) or cloned (a read).
    fn cached<A: Aggregate>(&self, key: &Key, take: bool) -> Option<(A::State, u64)> {
        let mut map = self.map();
        let (state, version) = if take {
            map.remove(key)?
        } else {
            let (state, version) = map.get(key)?;
            (Box::new(state.downcast_ref::<A::State>()?.clone()) as Box<dyn Any + Send>, *version)
        };
        Some((*state.downcast::<A::State>().ok()?, version))
    }

    /// Keeps a stream's state at `version`, unless a newer one is kept already.
    fn keep<A: Aggregate>(&self, key: Key, state: A::State, version: u64) {
        let mut map = self.map();
        if map.len() >= CACHED_STREAMS {
            map.clear();
        }
        match map.get(&key) {
            Some((_, newer)) if *newer >= version => {}
            _ => {
                map.insert(key, (Box::new(state), version));
            }
        }
    }
}

fn key<A: Aggregate>(stream: &StreamId) -> Key {
    (TypeId::of::<A::State>(), stream.as_str().to_owned())
}

/// Folds a stream into state. Returns the state and the stream's version (0 for none).
pub async fn load<A: Aggregate, S: EventStore>(
    cx: &Context<S>,
    stream: &StreamId,
) -> Result<(A::State, u64), CommandError> {
    let key = key::<A>(stream);
    let (state, version) = catch_up::<A, S>(cx.store(), stream, cx.states.cached::<A>(&key, false)).await?;
    cx.states.keep::<A>(key, state.clone(), version);
    Ok((state, version))
}

/// The states of many streams of one aggregate and their versions, in the order given: each
/// read after its cached version, all in one round trip ([`EventStore::read_streams`]), and
/// kept.
pub async fn load_many<A: Aggregate, S: EventStore>(
    cx: &Context<S>,
    streams: &[StreamId],
) -> Result<Vec<(A::State, u64)>, CommandError> {
    let cached = streams.iter().map(|s| (s, cx.states.cached::<A>(&key::<A>(s), false))).collect();
    let loaded = catch_up_many::<A, S>(cx.store(), cached).await?;
    for (stream, (state, version)) in streams.iter().zip(&loaded) {
        cx.states.keep::<A>(key::<A>(stream), state.clone(), *version);
    }
    Ok(loaded)
}

/// A stream and its cached state at a version, if any.
type Cached<'s, A> = (&'s StreamId, Option<(<A as Decider>::State, u64)>);

/// [`catch_up`] for many streams in one read.
async fn catch_up_many<A: Aggregate, S: EventStore>(
    store: &S,
    streams: Vec<Cached<'_, A>>,
) -> Result<Vec<(A::State, u64)>, CommandError> {
    let from: Vec<(StreamId, u64)> =
        streams.iter().map(|(s, cached)| ((*s).clone(), cached.as_ref().map_or(0, |(_, v)| *v) + 1)).collect();
    let read = store.read_streams(&from).await?;
    let upcasters = Upcasters::new();
    streams
        .into_iter()
        .zip(read)
        .map(|((_, cached), events)| {
            let (mut state, mut version) = cached.unwrap_or_default();
            for stored in &events {
                let event: A::Event = upcasters.decode_versioned(stored, A::SCHEMA_VERSION)?;
                state = A::evolve(state, &event);
                version = stored.stream_version;
            }
            Ok((state, version))
        })
        .collect()
}

/// Applies the stream's events after `from` (a cached state and its version, or nothing).
async fn catch_up<A: Aggregate, S: EventStore>(
    store: &S,
    stream: &StreamId,
    from: Option<(A::State, u64)>,
) -> Result<(A::State, u64), CommandError> {
    let upcasters = Upcasters::new();
    let (mut state, mut version) = from.unwrap_or_default();
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

/// What to expect of a stream last read at `version` (0: that it does not exist yet).
pub fn expect(version: u64) -> ExpectedVersion {
    if version == 0 {
        ExpectedVersion::NoStream
    } else {
        ExpectedVersion::Exact(version)
    }
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
/// version; on a conflict it starts over, after a short pause, for up to [`RETRY_FOR`]. With `expected`, the caller's
/// own optimistic lock, a stream at any other version is a [`CommandError::Conflict`] and is
/// not retried.
pub async fn execute<A, S>(
    cx: &Context<S>,
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
    let (store, states) = (cx.store(), &cx.states);
    let key = key::<A>(stream);
    retrying(stream.as_str(), command_id, || async {
        let (state, version) = catch_up::<A, S>(store, stream, states.cached::<A>(&key, true)).await?;
        if let Some(wanted) = expected.filter(|w| *w != version) {
            states.keep::<A>(key.clone(), state, version);
            return Err(CommandError::Conflict { stream: stream.to_string(), expected: wanted, actual: version });
        }
        let events = match decide(&state) {
            Ok(events) => events,
            Err(e) => {
                states.keep::<A>(key.clone(), state, version);
                return Err(e.into());
            }
        };
        if events.is_empty() {
            states.keep::<A>(key.clone(), state, version);
            return Ok(Attempt::Done(Executed {
                events,
                first_position: None,
                last_position: None,
                stream_version: version,
            }));
        }
        let new_events = new_events::<A>(&events, &metadata(command_id, caller))?;
        let appended = store.append(stream, expect(version), &new_events).await;
        match &appended {
            // An exact replay of stored events: the stream is past `version`; read it next time.
            Ok(r) if !r.idempotent_replay => {
                states.keep::<A>(key.clone(), events.iter().fold(state, A::evolve), r.stream_version);
            }
            Ok(_) => {}
            Err(_) => states.keep::<A>(key.clone(), state, version),
        }
        match appended {
            Ok(r) => Ok(Attempt::Done(Executed {
                events,
                first_position: Some(r.first_position),
                last_position: Some(r.last_position),
                stream_version: r.stream_version,
            })),
            Err(e) if e.is_conflict() && expected.is_none() => Ok(Attempt::Again),
            Err(StoreError::Conflict { actual, .. }) if expected.is_some() => {
                Err(CommandError::Conflict { stream: stream.to_string(), expected: version, actual })
            }
            Err(e) => Err(e.into()),
        }
    })
    .await
}

/// One command's decisions on several streams of one aggregate type, appended in one
/// transaction (all or nothing): each stream is loaded and decided on (a stream whose decision
/// is nothing is not written), then every stream is appended with its expected version; a
/// conflict on any starts the whole command over, as [`execute`] does. Returns what each stream
/// recorded, in the order given.
pub async fn execute_many<A, S>(
    cx: &Context<S>,
    decisions: &[(StreamId, A::Command)],
    command_id: Uuid,
    caller: &Caller,
) -> Result<Vec<Executed<A::Event>>, CommandError>
where
    A: Aggregate,
    A::Command: Sync,
    A::State: Sync,
    A::Event: Send,
    S: EventStore,
{
    let (store, states) = (cx.store(), &cx.states);
    let label = decisions.first().map_or("", |(s, _)| s.as_str());
    retrying(label, command_id, || async {
        let metadata = metadata(command_id, caller);
        // Every stream caught up in one read.
        let cached = decisions.iter().map(|(s, _)| (s, states.cached::<A>(&key::<A>(s), false))).collect();
        let loaded: Vec<(Key, A::State, u64)> = decisions
            .iter()
            .zip(catch_up_many::<A, S>(store, cached).await?)
            .map(|((stream, _), (state, version))| (key::<A>(stream), state, version))
            .collect();
        let outcomes = {
            let states: Vec<&A::State> = loaded.iter().map(|(_, state, _)| state).collect();
            decide_all::<A>(decisions, &states, &metadata)
        };
        let mut decided = Vec::with_capacity(decisions.len());
        for ((key, state, version), outcome) in loaded.into_iter().zip(outcomes) {
            let (events, encoded) = outcome?;
            decided.push((key, state, version, events, encoded));
        }
        let writes: Vec<StreamWrite<'_>> = decisions
            .iter()
            .zip(&decided)
            .filter(|(_, d)| !d.3.is_empty())
            .map(|((stream, _), d)| StreamWrite { stream, expected: expect(d.2), events: &d.4 })
            .collect();
        let appended = if writes.is_empty() { Vec::new() } else { store.append_many(&writes).await? };
        drop(writes);
        let mut appended = appended.into_iter();
        let mut done = Vec::with_capacity(decided.len());
        for (key, state, version, events, _) in decided {
            if events.is_empty() {
                done.push(Executed { events, first_position: None, last_position: None, stream_version: version });
                continue;
            }
            let r = appended.next().expect("one result per stream written");
            if !r.idempotent_replay {
                states.keep::<A>(key, events.iter().fold(state, A::evolve), r.stream_version);
            }
            done.push(Executed {
                events,
                first_position: Some(r.first_position),
                last_position: Some(r.last_position),
                stream_version: r.stream_version,
            });
        }
        Ok(Attempt::Done(done))
    })
    .await
}

/// From how many decisions [`execute_many`] decides on every core.
const PARALLEL_DECISIONS: usize = 16;

/// What one decision gave: its events and their stored form.
type Decided<E> = Result<(Vec<E>, Vec<NewEvent>), CommandError>;

/// Each decision's events and their encoding, in the decisions' order. Many decisions (a
/// backfill of hundreds of symbols, an import touching many households) are decided on every
/// core, each thread taking a contiguous share: a decision is pure and reads only its own
/// stream's state, so only the order of the results matters, and it is kept.
fn decide_all<A>(
    decisions: &[(StreamId, A::Command)],
    states: &[&A::State],
    metadata: &Metadata,
) -> Vec<Decided<A::Event>>
where
    A: Aggregate,
    A::Command: Sync,
    A::State: Sync,
    A::Event: Send,
{
    let one = |(command, state): (&A::Command, &A::State)| -> Decided<A::Event> {
        let events = A::decide(state, command)?;
        let encoded = new_events::<A>(&events, metadata)?;
        Ok((events, encoded))
    };
    let pairs: Vec<(&A::Command, &A::State)> =
        decisions.iter().map(|(_, command)| command).zip(states.iter().copied()).collect();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
    if threads < 2 || pairs.len() < PARALLEL_DECISIONS {
        return pairs.into_iter().map(one).collect();
    }
    let share = pairs.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let parts: Vec<_> =
            pairs.chunks(share).map(|part| scope.spawn(|| part.iter().copied().map(one).collect::<Vec<_>>())).collect();
        parts
            .into_iter()
            .flat_map(|part| part.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            .collect()
    })
}

/// One try of a command: done, or another writer got to a stream first.
enum Attempt<T> {
    Done(T),
    Again,
}

/// Runs `attempt` until it is done or fails, starting over after a conflict with a short pause
/// ([`backoff`]) for up to [`RETRY_FOR`]; then [`CommandError::Contention`] naming `stream`.
async fn retrying<T, F, Fut>(stream: &str, command_id: Uuid, mut attempt: F) -> Result<T, CommandError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Attempt<T>, CommandError>>,
{
    let started = std::time::Instant::now();
    for n in 1.. {
        match attempt().await {
            Ok(Attempt::Done(t)) => return Ok(t),
            Ok(Attempt::Again) => {}
            Err(CommandError::Store(e)) if e.is_conflict() => {}
            Err(e) => return Err(e),
        }
        if started.elapsed() >= RETRY_FOR {
            break;
        }
        tracing::debug!(attempt = n, stream, "a stream changed while deciding; deciding again");
        tokio::time::sleep(backoff(n, command_id)).await;
    }
    Err(CommandError::Contention(stream.to_owned()))
}
