//! Positions: how far a pipeline has durably delivered, the unit of every checkpoint.

use serde::{Deserialize, Serialize};

use crate::Lsn;

/// A point in the source's change stream that a checkpoint can name. Positions only ever sit at
/// transaction boundaries: everything up to and including the transaction ending at `lsn` has
/// been delivered, nothing after it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Position {
    /// The end of the last delivered transaction (its commit record's end). Replication resumes
    /// after it; a transaction whose commit LSN is below it is never delivered again.
    pub lsn: Lsn,
    /// The last delivered transaction's id, for humans reading the offsets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub txid: Option<u32>,
    /// Its commit time, microseconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit_time_us: Option<i64>,
}

impl Position {
    pub fn at(lsn: Lsn) -> Self {
        Position {
            lsn,
            txid: None,
            commit_time_us: None,
        }
    }
}
