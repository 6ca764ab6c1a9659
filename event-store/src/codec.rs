//! Encoding events: MessagePack payloads, typed decoding with upcasting, and the JSON view.
//!
//! Payloads are MessagePack maps with named fields (`rmp_serde::to_vec_named`), so an old
//! payload can be upcast field by field and rendered as readable JSON. A type that is stored
//! implements [`Event`]; when its shape changes, bump `SCHEMA_VERSION` and register an
//! [`Upcasters`] step from the old version to the next, so history is never rewritten.

use std::collections::HashMap;

use serde::de::DeserializeOwned;
use serde::Serialize;
use uuid::Uuid;

use crate::error::StoreError;
use crate::model::{Metadata, NewEvent, StoredEvent};

/// A type that is stored as an event.
pub trait Event: Serialize + DeserializeOwned {
    /// The name stored in the `event_type` column.
    const EVENT_TYPE: &'static str;
    /// The version of this shape; stored with every payload written by this code.
    const SCHEMA_VERSION: u32;
}

/// Encodes a value as a MessagePack map with named fields.
pub fn to_msgpack<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, StoreError> {
    // Room for a typical event up front, rather than growing from nothing a few bytes at a
    // time (a backfill encodes millions).
    let mut buf = Vec::with_capacity(256);
    rmp_serde::encode::write_named(&mut buf, value)
        .map_err(|e| StoreError::InvalidAppend(format!("cannot encode: {e}")))?;
    Ok(buf)
}

impl NewEvent {
    /// Builds a new event from a typed value.
    pub fn from_event<E: Event>(event_id: Uuid, event: &E, metadata: Metadata) -> Result<Self, StoreError> {
        Ok(Self {
            event_id,
            event_type: E::EVENT_TYPE.to_owned(),
            schema_version: E::SCHEMA_VERSION,
            payload: to_msgpack(event)?,
            metadata,
        })
    }
}

type UpcastFn = Box<dyn Fn(serde_json::Value) -> Result<serde_json::Value, String> + Send + Sync>;

/// Steps that turn a payload of `(event_type, version)` into one of `version + 1`.
#[derive(Default)]
pub struct Upcasters {
    steps: HashMap<(String, u32), UpcastFn>,
}

impl std::fmt::Debug for Upcasters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut keys: Vec<_> = self.steps.keys().collect();
        keys.sort();
        f.debug_struct("Upcasters").field("steps", &keys).finish()
    }
}

impl Upcasters {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers the step from `from_version` to `from_version + 1` of `event_type`.
    pub fn register(
        &mut self,
        event_type: &str,
        from_version: u32,
        step: impl Fn(serde_json::Value) -> Result<serde_json::Value, String> + Send + Sync + 'static,
    ) -> &mut Self {
        self.steps.insert((event_type.to_owned(), from_version), Box::new(step));
        self
    }

    /// Decodes a stored event as `E`, upcasting an old payload step by step.
    pub fn decode<E: Event>(&self, stored: &StoredEvent) -> Result<E, StoreError> {
        if stored.event_type != E::EVENT_TYPE {
            return Err(StoreError::Decode {
                position: stored.global_position,
                problem: format!("event type is {}, not {}", stored.event_type, E::EVENT_TYPE),
            });
        }
        self.decode_versioned(stored, E::SCHEMA_VERSION)
    }

    /// Decodes a payload into `T`, whose current shape is `current_version`, upcasting older
    /// payloads with the steps registered for the stored event type. For types that stand for
    /// several event types (an aggregate's event enum).
    pub fn decode_versioned<T: DeserializeOwned>(
        &self,
        stored: &StoredEvent,
        current_version: u32,
    ) -> Result<T, StoreError> {
        let fail = |problem: String| StoreError::Decode { position: stored.global_position, problem };
        if stored.schema_version == current_version {
            return rmp_serde::from_slice(&stored.payload).map_err(|e| fail(e.to_string()));
        }
        if stored.schema_version > current_version {
            return Err(fail(format!(
                "schema version {} is newer than this program knows ({current_version})",
                stored.schema_version
            )));
        }
        let mut value = msgpack_to_json(&stored.payload, Bytes::AsArrays).map_err(fail)?;
        for version in stored.schema_version..current_version {
            let step = self.steps.get(&(stored.event_type.clone(), version)).ok_or_else(|| {
                fail(format!("no upcaster from {} v{version} to v{}", stored.event_type, version + 1))
            })?;
            value = step(value).map_err(|e| fail(format!("upcasting v{version}: {e}")))?;
        }
        serde_json::from_value(value).map_err(|e| fail(e.to_string()))
    }
}

/// How binary MessagePack values (sealed personal data, hashes) become JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bytes {
    /// Arrays of numbers, which serde reads back into byte fields (for upcasting).
    AsArrays,
    /// Hex strings, for people.
    AsHex,
}

/// MessagePack to JSON, keeping binary values (which JSON lacks) as `bytes` says.
fn msgpack_to_json(payload: &[u8], bytes: Bytes) -> Result<serde_json::Value, String> {
    fn convert(v: rmpv::Value, bytes: Bytes) -> serde_json::Value {
        use serde_json::Value as J;
        match v {
            rmpv::Value::Nil => J::Null,
            rmpv::Value::Boolean(b) => J::Bool(b),
            rmpv::Value::Integer(i) => i.as_u64().map(J::from).or_else(|| i.as_i64().map(J::from)).unwrap_or(J::Null),
            rmpv::Value::F32(f) => J::from(f64::from(f)),
            rmpv::Value::F64(f) => J::from(f),
            rmpv::Value::String(s) => match s.into_str() {
                Some(s) => J::String(s),
                None => J::Null,
            },
            rmpv::Value::Binary(b) | rmpv::Value::Ext(_, b) => match bytes {
                Bytes::AsArrays => J::Array(b.into_iter().map(J::from).collect()),
                Bytes::AsHex => J::String(hex::encode(b)),
            },
            rmpv::Value::Array(items) => J::Array(items.into_iter().map(|i| convert(i, bytes)).collect()),
            rmpv::Value::Map(entries) => J::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| {
                        let key = match k {
                            rmpv::Value::String(s) => s.into_str().unwrap_or_default(),
                            other => other.to_string(),
                        };
                        (key, convert(v, bytes))
                    })
                    .collect(),
            ),
        }
    }
    let value = rmpv::decode::read_value(&mut &payload[..]).map_err(|e| e.to_string())?;
    Ok(convert(value, bytes))
}

/// Renders any event as JSON for people: type, stream, version, position, recorded-at,
/// payload (MessagePack turned into JSON), metadata and hashes (hex).
pub fn to_json(event: &StoredEvent) -> serde_json::Value {
    let payload = msgpack_to_json(&event.payload, Bytes::AsHex)
        .unwrap_or_else(|e| serde_json::json!({ "undecodable": e, "hex": hex::encode(&event.payload) }));
    let metadata = match event.metadata() {
        Ok(m) => serde_json::to_value(m).unwrap_or(serde_json::Value::Null),
        Err(e) => serde_json::json!({ "undecodable": e.to_string() }),
    };
    serde_json::json!({
        "global_position": event.global_position,
        "stream_id": event.stream_id.as_str(),
        "stream_version": event.stream_version,
        "event_id": event.event_id,
        "event_type": event.event_type,
        "schema_version": event.schema_version,
        "recorded_at": event.recorded_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "payload": payload,
        "metadata": metadata,
        "prev_hash": hex::encode(&event.prev_hash),
        "hash": hex::encode(&event.hash),
    })
}

/// The bytes the relay publishes for one event: the whole stored row, MessagePack-encoded.
pub fn to_wire(event: &StoredEvent) -> Vec<u8> {
    rmp_serde::to_vec_named(event).expect("a stored event always encodes")
}

/// Reads back what [`to_wire`] wrote.
pub fn from_wire(bytes: &[u8]) -> Result<StoredEvent, String> {
    rmp_serde::from_slice(bytes).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::{Deserialize, Serialize};

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct SealedV1 {
        #[serde(with = "serde_bytes")]
        secret: Vec<u8>,
        name: String,
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct SealedV2 {
        #[serde(with = "serde_bytes")]
        secret: Vec<u8>,
        full_name: String,
    }

    impl Event for SealedV2 {
        const EVENT_TYPE: &'static str = "Sealed";
        const SCHEMA_VERSION: u32 = 2;
    }

    #[test]
    fn payloads_with_binary_fields_upcast_and_render() {
        let v1 = SealedV1 { secret: vec![0, 1, 255], name: "x".into() };
        let stored = StoredEvent {
            global_position: 1,
            stream_id: crate::StreamId::new("t-1").unwrap(),
            stream_version: 1,
            event_id: Uuid::nil(),
            event_type: "Sealed".into(),
            schema_version: 1,
            payload: to_msgpack(&v1).unwrap(),
            metadata: to_msgpack(&Metadata::default()).unwrap(),
            recorded_at: chrono::DateTime::default(),
            prev_hash: vec![],
            hash: vec![],
        };
        let mut upcasters = Upcasters::new();
        upcasters.register("Sealed", 1, |mut v| {
            let name = v["name"].take();
            v.as_object_mut().ok_or("not a map")?.insert("full_name".into(), name);
            Ok(v)
        });
        let v2: SealedV2 = upcasters.decode(&stored).unwrap();
        assert_eq!(v2, SealedV2 { secret: vec![0, 1, 255], full_name: "x".into() });
        assert_eq!(to_json(&stored)["payload"]["secret"], "0001ff");
    }
}
