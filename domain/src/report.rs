//! Reports are audited too: generating a report (CSV or JSON) records `ReportGenerated` on its
//! own stream (`report-<uuid>`) with who asked (in the metadata), what was asked, the global
//! position the report reflects, the Merkle root of the log up to it, and the SHA-256 the report
//! carries.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The schema version of every report event type this code writes.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReportEvent {
    ReportGenerated {
        /// The report's name (`gains`, `lots`, `kyc`, …).
        report: String,
        /// The command's flags, by name.
        parameters: BTreeMap<String, String>,
        /// `json` or `csv`.
        format: String,
        /// Hex SHA-256 that the report carries (see the README for what it covers).
        sha256: String,
        rows: u64,
        /// The last global position the report reflects.
        position: u64,
        /// For an auditor's replay, the instant the report was taken as of.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        as_of: Option<DateTime<Utc>>,
        /// The RFC 6962 Merkle root (hex) over the chain hashes of the log's first `position`
        /// events: with `position`, the tree head the report was computed against, so "these
        /// rows came from exactly these events" is provable (`cairn audit consistency
        /// --from-size position` shows a later log still holds them).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tree_root: Option<String>,
    },
}

/// Reports as a decider: the report generated is recorded as stated (each on a stream of its own).
pub struct ReportDecider;

impl crate::decider::Decider for ReportDecider {
    type State = ();
    type Command = ReportEvent;
    type Event = ReportEvent;
    const SCHEMA_VERSION: u32 = SCHEMA_VERSION;

    fn decide(_: &(), report: &ReportEvent) -> Result<Vec<ReportEvent>, crate::DomainError> {
        Ok(vec![report.clone()])
    }

    fn evolve(state: (), _: &ReportEvent) {
        state
    }

    fn event_type(event: &ReportEvent) -> &'static str {
        event.event_type()
    }
}

impl ReportEvent {
    pub fn event_type(&self) -> &'static str {
        match self {
            Self::ReportGenerated { .. } => "ReportGenerated",
        }
    }
}
