//! The Source trait beside [`crate::Sink`]: what every source hands to the runtime (events, and
//! the transaction boundaries at which the runtime may checkpoint) and how it is driven.
//!
//! ```text
//!  runtime:  connect (the source's crate) ─▶ Source::run(resume) ─▶ Vec<SourceItem> ─▶ delivery
//!                                              ▲ acks: the durable Position ◀──────────┘
//! ```
//!
//! A source confirms upstream (a slot's flush position, a consumer group's offsets) only what
//! an ack named: the runtime acks a position once the sink made it durable and the offsets
//! store recorded it.

use async_trait::async_trait;
use tokio::sync::{mpsc, watch};

use crate::{ChangeEvent, ErrorKind, Position};

/// One item of a source's output stream. Sources send them in batches (`Vec<SourceItem>`) over a
/// bounded channel, so a slow sink slows the source down instead of filling memory.
#[derive(Clone, Debug, PartialEq)]
pub enum SourceItem {
    Event(ChangeEvent),
    /// Every event before this item (since the previous `Commit`) belongs to a transaction that
    /// is now complete; `Position` names its end. Checkpoints happen only here.
    Commit(Position),
}

/// Why a source stopped without an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceEnd {
    /// Shutdown was requested.
    Shutdown,
    /// Everything before the requested end position was delivered (`--endpos`).
    EndPosition,
    /// The server ended the stream.
    ServerEnded,
    /// The runtime stopped listening (it failed, and reports why).
    ConsumerGone,
    /// A snapshot-only run finished (or had nothing to do).
    SnapshotComplete,
}

/// A source failure: whether retrying can help, and the source's own error, whose message
/// (what went wrong and how to fix it) is this error's message.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct SourceError {
    pub kind: ErrorKind,
    pub message: String,
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl SourceError {
    /// Wraps a source crate's error, keeping its message and the error itself as the cause.
    pub fn from_cause(kind: ErrorKind, cause: impl std::error::Error + Send + Sync + 'static) -> Self {
        SourceError {
            kind,
            message: cause.to_string(),
            source: Some(Box::new(cause)),
        }
    }

    pub fn is_transient(&self) -> bool {
        self.kind == ErrorKind::Transient
    }
}

/// Whether a checkpointed position lies inside a snapshot (the runtime then checkpoints every
/// snapshot chunk as it arrives).
pub type InSnapshot = fn(&Position) -> bool;

/// A connected source, ready to run. Each source crate builds its own (from its `[source]`
/// settings); the runtime knows only this.
#[async_trait]
pub trait Source: Send {
    /// What positions are relative to (a database system id, a consumer group): a checkpoint
    /// of another source cannot resume this one.
    fn source_id(&self) -> &str;

    /// Where it reads, for people (a slot, a list of topics).
    fn source_detail(&self) -> &str;

    /// How to tell positions inside a snapshot; sources without snapshots never have one.
    fn in_snapshot(&self) -> InSnapshot {
        |_| false
    }

    /// Produces batches into `out` from `resume` (after it; from the beginning when `None`)
    /// until `shutdown`, an end the source was asked to stop at, or an error. `acks` carries
    /// the durable position; it starts at `resume`. When the runtime stops listening the
    /// source returns [`SourceEnd::ConsumerGone`].
    async fn run(
        self: Box<Self>,
        resume: Option<Position>,
        out: mpsc::Sender<Vec<SourceItem>>,
        acks: watch::Receiver<Position>,
        shutdown: watch::Receiver<bool>,
    ) -> Result<SourceEnd, SourceError>;
}
