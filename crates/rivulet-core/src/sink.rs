//! The Sink trait: the one interface every destination implements.
//!
//! A sink is small on purpose. The runtime owns batching, checkpoint timing, retries and the
//! offsets store; a sink only accepts events in order, makes them durable when asked, and tells
//! the runtime what it needs to resume (its `state`).
//!
//! ```text
//!  runtime:  open(state) ─▶ write(events)* ─▶ flush(position) ─▶ offsets store ─▶ slot confirmed
//!                              ▲                    │ returns new state
//!                              └────────────────────┘ (repeat)        ... close()
//! ```

use async_trait::async_trait;

use crate::{ChangeEvent, Position};

/// Whether retrying can help.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The destination may recover by itself (network, broker restart): retry with backoff.
    Transient,
    /// Retrying cannot help (bad configuration, incompatible data, a corrupt file).
    Definite,
}

impl ErrorKind {
    /// `Transient` when retrying can help, else `Definite`.
    pub fn transient_if(transient: bool) -> Self {
        if transient {
            ErrorKind::Transient
        } else {
            ErrorKind::Definite
        }
    }
}

/// A sink failure, with a message that says what went wrong and how to fix it.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct SinkError {
    pub kind: ErrorKind,
    pub message: String,
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl SinkError {
    pub fn definite(message: impl Into<String>) -> Self {
        SinkError {
            kind: ErrorKind::Definite,
            message: message.into(),
            source: None,
        }
    }

    pub fn transient(message: impl Into<String>) -> Self {
        SinkError {
            kind: ErrorKind::Transient,
            message: message.into(),
            source: None,
        }
    }

    /// A file-system failure. I/O errors on local files are treated as definite: a full disk or
    /// a permission problem needs a person.
    pub fn io(context: impl Into<String>, err: std::io::Error) -> Self {
        let context = context.into();
        SinkError {
            kind: ErrorKind::Definite,
            message: format!("{context}: {err}"),
            source: Some(Box::new(err)),
        }
    }
}

#[async_trait]
pub trait Sink: Send {
    /// A short name for logs and errors, e.g. `jsonl`.
    fn name(&self) -> &'static str;

    /// Prepares the sink. `state` is what [`Sink::flush`] returned at the last checkpoint, or
    /// `None` on a first run. A sink that stores its position together with its data (exactly-once
    /// sinks) returns that position; it then wins over the offsets store. Others return `None`.
    ///
    /// Anything the sink holds beyond `state` belongs to a transaction that was never
    /// checkpointed and must be discarded here (it will be delivered again).
    async fn open(&mut self, state: Option<serde_json::Value>) -> Result<Option<Position>, SinkError>;

    /// Accepts events in order. May buffer; nothing is durable until [`Sink::flush`].
    async fn write(&mut self, events: &[ChangeEvent]) -> Result<(), SinkError>;

    /// Makes every event written so far durable. The runtime calls it only at transaction
    /// boundaries; `position` is the end of the last transaction written. Returns the state to
    /// record with `position` in the offsets store.
    ///
    /// `position` may move on with no event written since the last flush: an idle stream's
    /// heartbeat (so the source can release WAL). A sink that stores its position with its data
    /// must record it anyway, or its older position would win on restart and fall behind the
    /// source's confirmed one.
    async fn flush(&mut self, position: &Position) -> Result<serde_json::Value, SinkError>;

    /// Releases resources at shutdown, after the final flush. Events written since that flush
    /// belong to an incomplete transaction and are dropped.
    async fn close(&mut self) -> Result<(), SinkError>;
}
