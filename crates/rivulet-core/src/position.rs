//! Positions: how far a pipeline has durably delivered, the unit of every checkpoint.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::Lsn;

/// A point in the source's change stream that a checkpoint can name. Positions only ever sit at
/// transaction boundaries (or, during a snapshot, at chunk boundaries): everything up to it has
/// been delivered, nothing after it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Position {
    /// The end of the last delivered transaction (its commit record's end). Replication resumes
    /// after it; a transaction whose commit LSN is below it is never delivered again. During a
    /// snapshot: the point the snapshot saw (changes committed before it are in the snapshot).
    pub lsn: Lsn,
    /// The last delivered transaction's id, for humans reading the offsets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub txid: Option<u32>,
    /// Its commit time, microseconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit_time_us: Option<i64>,
    /// What else the source needs to resume exactly here (snapshot progress, the tables it has
    /// snapshotted…). Opaque to the runtime and the sinks; shared, because every transaction's
    /// position carries it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_state: Option<Arc<serde_json::Value>>,
}

impl Position {
    pub fn at(lsn: Lsn) -> Self {
        Position {
            lsn,
            txid: None,
            commit_time_us: None,
            source_state: None,
        }
    }
}
