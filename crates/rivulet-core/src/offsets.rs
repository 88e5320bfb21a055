//! Checkpoints and where they are kept: the offsets store records how far a pipeline has
//! durably delivered, atomically, so a restart resumes exactly there.
//!
//! ```text
//!  runtime ─ sink.flush(position) → sink state ─▶ OffsetStore::store(Checkpoint) ─▶ ack to the source
//! ```
//!
//! Two stores exist: a local file (the default, in the binary) and a compacted Kafka topic
//! (`rivulet-sink-kafka`), so a pipeline can move machines.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::Position;

/// Bumped when the meaning of a checkpoint changes.
pub const CHECKPOINT_VERSION: u32 = 1;

/// One pipeline's last durable point.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Checkpoint {
    pub version: u32,
    pub pipeline: String,
    /// What positions are relative to: a PostgreSQL system identifier, or a Kafka consumer
    /// group. A checkpoint of another source is refused.
    pub source_id: String,
    /// The slot (PostgreSQL) or topics (Kafka), for humans.
    pub source_detail: String,
    pub position: Position,
    /// What the sink needs to resume (e.g. the JSONL file's durable length).
    pub sink: serde_json::Value,
    /// Wall-clock time of the checkpoint (RFC 3339), for humans.
    pub updated_at: String,
}

/// A store failure, with the fix in the message.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct OffsetsError(pub String);

#[async_trait]
pub trait OffsetStore: Send + Sync {
    /// Where the checkpoints are, for logs ("file .rivulet/shop.offsets", "Kafka topic …").
    fn describe(&self) -> String;
    /// The last checkpoint of this pipeline, if any.
    async fn load(&self) -> Result<Option<Checkpoint>, OffsetsError>;
    /// Replaces it, durably and atomically.
    async fn store(&self, checkpoint: &Checkpoint) -> Result<(), OffsetsError>;
}
