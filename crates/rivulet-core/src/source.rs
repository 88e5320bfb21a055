//! What a source hands to the runtime: events, and the transaction boundaries at which the
//! runtime may checkpoint.

use crate::{ChangeEvent, Position};

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
