//! Rivulet's data model, shared by every source, transform and sink.
//!
//! ```text
//!  source ──▶ ChangeEvent { change: Row/Truncate/Message, source: SourceMeta } ──▶ sink
//!                 │                                                        │
//!                 └─ rows are Vec<Value>, aligned with TableSchema.columns  └─ reports a durable Position
//! ```
//!
//! Nothing here knows about a wire format: encodings (Debezium JSON, Arrow) live in the sinks'
//! crates, the PostgreSQL protocol lives in `rivulet-postgres`.

pub mod durable;
pub mod event;
pub mod fault;
pub mod lsn;
pub mod net;
pub mod offsets;
pub mod position;
pub mod schema;
pub mod sink;
pub mod source;
pub mod value;

pub use event::{
    Change, ChangeEvent, LogicalMessage, Op, OriginalRecord, RowChange, SnapshotMarker, SourceMeta,
    TransactionMarker, TransactionRef, Truncate,
};
pub use lsn::Lsn;
pub use offsets::{Checkpoint, OffsetStore, OffsetsError};
pub use position::{Partition, Position, Reach};
pub use schema::{Column, GeometricKind, PgType, ReplicaIdentity, TableId, TableSchema};
pub use sink::{ErrorKind, Sink, SinkError};
pub use source::{InSnapshot, Source, SourceEnd, SourceError, SourceItem};
pub use value::{Numeric, Row, Value};
