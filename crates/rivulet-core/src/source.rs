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
