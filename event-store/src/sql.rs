//! The statements both backends share. Placeholders are `$N`, which PostgreSQL and sqlx's
//! SQLite driver both accept; only the column types differ (SQLite keeps the event id as a
//! 16-byte BLOB and recorded-at as integer microseconds).

use crate::model::Direction;

macro_rules! columns {
    () => {
        "global_position, stream_id, stream_version, event_id, event_type, schema_version, \
         payload, metadata, recorded_at, prev_hash, hash"
    };
}
pub(crate) use columns;

pub(crate) const SELECT_HEAD: &str =
    "SELECT global_position, hash, recorded_at FROM events ORDER BY global_position DESC LIMIT 1";

pub(crate) const SELECT_STREAM_VERSION: &str = "SELECT MAX(stream_version) FROM events WHERE stream_id = $1";

/// `$1` stream, `$2` first version, `$3` limit.
pub(crate) fn select_stream(direction: Direction) -> &'static str {
    match direction {
        Direction::Forwards => concat!(
            "SELECT ",
            columns!(),
            " FROM events WHERE stream_id = $1 AND stream_version >= $2 ORDER BY stream_version ASC LIMIT $3"
        ),
        Direction::Backwards => concat!(
            "SELECT ",
            columns!(),
            " FROM events WHERE stream_id = $1 AND stream_version <= $2 ORDER BY stream_version DESC LIMIT $3"
        ),
    }
}

/// `$1` first position, `$2` last position, `$3` limit.
pub(crate) const SELECT_RANGE: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM events WHERE global_position >= $1 AND global_position <= $2 ORDER BY global_position LIMIT $3"
);

/// `$1` the instant. Recorded-at never decreases, so the newest row at or before it is the
/// highest position at or before it, found through the `recorded_at` index.
pub(crate) const SELECT_POSITION_AT: &str = "SELECT global_position FROM events WHERE recorded_at <= $1 \
     ORDER BY recorded_at DESC, global_position DESC LIMIT 1";

/// The columns an idempotent replay is judged by; the `WHERE` clause is the backend's.
pub(crate) const SELECT_EXISTING: &str =
    "SELECT event_id, stream_id, global_position, stream_version, event_type, schema_version, payload FROM events ";

pub(crate) const SELECT_CHECKPOINT: &str = "SELECT position FROM checkpoints WHERE name = $1";

/// `$1` name, `$2` position, `$3` now.
pub(crate) const UPSERT_CHECKPOINT: &str = "INSERT INTO checkpoints (name, position, updated_at) VALUES ($1, $2, $3) \
     ON CONFLICT (name) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at";

/// A position, version or limit as SQL's BIGINT (saturating: `u64::MAX` means "no bound").
pub(crate) fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}
