//! What the PostgreSQL source records in a checkpoint besides the LSN: which tables it has
//! snapshotted, and a snapshot's progress (its plan, and which chunks are done under which
//! snapshot LSN).
//!
//! ```text
//!  Position { lsn, source_state: SourceState { tables, snapshot: Some(SnapshotState) } }
//!                                                   │
//!                         TablePlan { key, unit, chunks: [ChunkPlan { range, done_at }] }
//! ```
//!
//! A chunk read under a snapshot taken at LSN P holds its rows as of P: the stream must skip
//! changes to those rows that committed before P and deliver the rest. After an interruption,
//! the remaining chunks are read under a newer snapshot, so chunks may carry different LSNs; the
//! stream filter (`watermark.rs`) applies each chunk's own.

use std::sync::Arc;

use rivulet_core::{Lsn, TableId};
use serde::{Deserialize, Serialize};

use crate::SourceError;

/// Bumped when the meaning changes.
const STATE_VERSION: u32 = 1;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SourceState {
    pub version: u32,
    /// Tables whose existing rows were snapshotted (or are being), `schema.table` as in the
    /// catalog. Empty for pipelines that never snapshot.
    #[serde(default)]
    pub snapshotted: Vec<(String, String)>,
    /// Present while a snapshot runs, and afterwards while its watermarks still filter the
    /// stream; `None` once the stream has passed every chunk's LSN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<SnapshotState>,
}

impl SourceState {
    pub fn new() -> Self {
        SourceState {
            version: STATE_VERSION,
            snapshotted: Vec::new(),
            snapshot: None,
        }
    }

    pub fn from_position(state: Option<&Arc<serde_json::Value>>) -> Result<Self, SourceError> {
        match state {
            None => Ok(SourceState::new()),
            Some(v) => {
                let s: SourceState = serde_json::from_value((**v).clone()).map_err(|e| {
                    SourceError::setup(format!(
                        "the offsets file's source state is unreadable ({e}); move the offsets file away to start over"
                    ))
                })?;
                if s.version != STATE_VERSION {
                    return Err(SourceError::setup(format!(
                        "the offsets file's source state has version {} but this Rivulet reads version {STATE_VERSION}",
                        s.version
                    )));
                }
                Ok(s)
            }
        }
    }

    pub fn to_shared(&self) -> Arc<serde_json::Value> {
        // Serialising plain data into a Value cannot fail.
        Arc::new(serde_json::to_value(self).unwrap_or(serde_json::Value::Null))
    }

    pub fn has_snapshotted(&self, id: &TableId) -> bool {
        self.snapshotted
            .iter()
            .any(|(s, t)| *s == id.schema && *t == id.name)
    }
}

impl Default for SourceState {
    fn default() -> Self {
        Self::new()
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SnapshotState {
    /// Every chunk of every table is done.
    pub complete: bool,
    /// For tables added to a pipeline that was already streaming: the stream's position, where
    /// streaming resumes once they are read (their own changes are filtered by chunk LSN).
    /// `None` for an initial snapshot, which streams from its lowest chunk LSN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_position: Option<Lsn>,
    /// Tables in the order they are emitted.
    pub tables: Vec<TablePlan>,
}

impl SnapshotState {
    /// The lowest and highest LSN any chunk was read at (`None` if nothing is done).
    pub fn lsn_bounds(&self) -> Option<(Lsn, Lsn)> {
        let lsns = self
            .tables
            .iter()
            .flat_map(|t| t.chunks.iter().filter_map(|c| c.done_at));
        lsns.fold(None, |acc, l| match acc {
            None => Some((l, l)),
            Some((lo, hi)) => Some((lo.min(l), hi.max(l))),
        })
    }

    pub fn rows_done(&self) -> u64 {
        self.tables.iter().map(|t| t.rows_done).sum()
    }
}

/// How much of a table a checkpoint can record as done.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResumeUnit {
    /// Each chunk: the key can be placed in a chunk client-side (see `key_order.rs`).
    Chunk,
    /// The whole table: no primary key, or one whose ordering only the server knows.
    Table,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TablePlan {
    pub schema: String,
    pub name: String,
    /// Primary-key columns in key order (empty without a primary key).
    pub key: Vec<String>,
    /// Their SQL types (`format_type`), to cast the chunk bounds with.
    #[serde(default)]
    pub key_types: Vec<String>,
    pub unit: ResumeUnit,
    /// `pg_class.reltuples` (or a sampled estimate) when planned: for progress, not correctness.
    pub estimated_rows: u64,
    pub rows_done: u64,
    pub chunks: Vec<ChunkPlan>,
}

impl TablePlan {
    pub fn id(&self) -> TableId {
        TableId::new(self.schema.clone(), self.name.clone())
    }

    pub fn is_done(&self) -> bool {
        self.chunks.iter().all(|c| c.done_at.is_some())
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChunkPlan {
    pub range: ChunkRange,
    /// The snapshot LSN it was read under, once done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done_at: Option<Lsn>,
}

/// Which rows a chunk holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "by")]
pub enum ChunkRange {
    /// The whole table.
    All,
    /// Primary-key values (PostgreSQL's text form, in key order) with `lower < key <= upper`;
    /// `None` is unbounded.
    Key {
        lower: Option<Vec<String>>,
        upper: Option<Vec<String>>,
    },
    /// Heap pages `first <= page < end` (`end` unbounded when `None`): for tables without a
    /// primary key, read in parallel but resumed as a whole.
    Pages { first: u32, end: Option<u32> },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_a_position() {
        let mut s = SourceState::new();
        s.snapshotted.push(("public".into(), "t".into()));
        s.snapshot = Some(SnapshotState {
            complete: false,
            stream_position: None,
            tables: vec![TablePlan {
                schema: "public".into(),
                name: "t".into(),
                key: vec!["id".into()],
                key_types: vec!["integer".into()],
                unit: ResumeUnit::Chunk,
                estimated_rows: 10,
                rows_done: 5,
                chunks: vec![
                    ChunkPlan {
                        range: ChunkRange::Key {
                            lower: None,
                            upper: Some(vec!["5".into()]),
                        },
                        done_at: Some(Lsn(7)),
                    },
                    ChunkPlan {
                        range: ChunkRange::Key {
                            lower: Some(vec!["5".into()]),
                            upper: None,
                        },
                        done_at: None,
                    },
                ],
            }],
        });
        let shared = s.to_shared();
        let back = SourceState::from_position(Some(&shared)).unwrap();
        assert_eq!(back, s);
        assert_eq!(back.snapshot.unwrap().lsn_bounds(), Some((Lsn(7), Lsn(7))));
        assert!(SourceState::from_position(Some(&Arc::new(serde_json::json!({"version": 99})))).is_err());
    }
}
