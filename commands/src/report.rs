//! Recording that a report was generated (`ReportGenerated`, on a new `report-<uuid>` stream).

use domain::report::ReportEvent;
use event_store::{EventStore, ExpectedVersion, StreamId};
use uuid::Uuid;

use crate::aggregate::{metadata, new_events, Caller};
use crate::{CommandError, Context};

/// Appends `event` on a stream of its own, with the Merkle root of the log up to the position
/// the report reflects; returns the stream id and the event's position.
pub async fn record<S: EventStore>(
    cx: &Context<S>,
    mut event: ReportEvent,
    caller: &Caller,
) -> Result<(StreamId, u64), CommandError> {
    let ReportEvent::ReportGenerated { position, tree_root, .. } = &mut event;
    if tree_root.is_none() {
        *tree_root = Some(hex::encode(cx.store().tree_root(*position).await?));
    }
    let command_id = Uuid::now_v7();
    let stream = StreamId::new(format!("report-{command_id}"))?;
    let events = new_events::<domain::report::ReportDecider>(&[event], &metadata(command_id, caller))?;
    let r = cx.store().append(&stream, ExpectedVersion::NoStream, &events).await?;
    Ok((stream, r.last_position))
}
