//! Change events: what every source emits and every sink receives.

use std::sync::Arc;

use crate::{Lsn, Row, TableSchema};

/// The operation of an event, with Debezium's one-letter codes.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// `r`: a row read by a snapshot.
    Read,
    /// `c`: insert.
    Create,
    /// `u`
    Update,
    /// `d`
    Delete,
    /// `t`
    Truncate,
    /// `m`: a logical decoding message (`pg_logical_emit_message`).
    Message,
    /// A forwarded tombstone (no Debezium op code of its own).
    Tombstone,
}

impl Op {
    pub fn code(self) -> &'static str {
        match self {
            Op::Read => "r",
            Op::Create => "c",
            Op::Update => "u",
            Op::Delete => "d",
            Op::Truncate => "t",
            Op::Message => "m",
            Op::Tombstone => "tombstone",
        }
    }
}

/// Debezium's `source.snapshot` marker.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum SnapshotMarker {
    /// A streamed change.
    #[default]
    False,
    /// A snapshot row that is neither the first nor the last.
    True,
    First,
    Last,
    /// The first row of a table other than the first table (Debezium's `first_in_data_collection`).
    FirstInDataCollection,
    /// The last row of a table other than the last table.
    LastInDataCollection,
}

impl SnapshotMarker {
    pub fn as_str(self) -> &'static str {
        match self {
            SnapshotMarker::False => "false",
            SnapshotMarker::True => "true",
            SnapshotMarker::First => "first",
            SnapshotMarker::Last => "last",
            SnapshotMarker::FirstInDataCollection => "first_in_data_collection",
            SnapshotMarker::LastInDataCollection => "last_in_data_collection",
        }
    }
}

/// Where an event came from: the fields of Debezium's `source` block that are not the table.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct SourceMeta {
    /// The WAL position of the change itself.
    pub lsn: Lsn,
    /// The end of the last transaction (or non-transactional message) the source finished before
    /// this event; Debezium's `lastCommitLsn` in `source.sequence`.
    pub last_commit_lsn: Option<Lsn>,
    /// Transaction id; `None` for non-transactional messages.
    pub txid: Option<u32>,
    /// Commit time of the transaction, microseconds since the Unix epoch.
    pub commit_time_us: i64,
    pub snapshot: SnapshotMarker,
    /// Replication origin of the transaction, when it has one.
    pub origin: Option<String>,
    pub origin_lsn: Option<Lsn>,
    /// The record this event was decoded from, when it arrived already encoded (a
    /// Debezium-format Kafka topic). Encoders that write that same format pass it through
    /// unchanged, so forwarding never alters a record.
    pub original: Option<Arc<OriginalRecord>>,
}

/// A record as it was read from a log (Kafka): where it was, and its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OriginalRecord {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    /// The key and value as they were (JSON text for Debezium topics); `None` for a null key or
    /// a tombstone.
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
}

/// A row change in one table.
#[derive(Clone, Debug, PartialEq)]
pub struct RowChange {
    pub table: Arc<TableSchema>,
    /// One of `Read`, `Create`, `Update`, `Delete`.
    pub op: Op,
    /// The old row: for deletes always; for updates when the replica identity sent it (full
    /// identity, or a key change). Columns the old row did not carry are `Value::Null`.
    pub before: Option<Row>,
    /// The new row, for reads, inserts and updates.
    pub after: Option<Row>,
}

/// A `TRUNCATE` of one table (a statement truncating several tables yields one event per table).
#[derive(Clone, Debug, PartialEq)]
pub struct Truncate {
    pub table: Arc<TableSchema>,
    pub cascade: bool,
    pub restart_identity: bool,
}

/// A logical decoding message written with `pg_logical_emit_message`.
#[derive(Clone, Debug, PartialEq)]
pub struct LogicalMessage {
    pub transactional: bool,
    pub prefix: String,
    pub content: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    Row(RowChange),
    Truncate(Truncate),
    Message(LogicalMessage),
    /// A tombstone read from a log (a null-valued Kafka record): it deletes nothing by itself,
    /// but forwarding sinks keep it. Sources of changes never emit it; encoders add their own.
    Tombstone,
}

/// One change, with where it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct ChangeEvent {
    pub change: Change,
    pub source: SourceMeta,
}

impl ChangeEvent {
    pub fn op(&self) -> Op {
        match &self.change {
            Change::Row(r) => r.op,
            Change::Truncate(_) => Op::Truncate,
            Change::Message(_) => Op::Message,
            Change::Tombstone => Op::Tombstone,
        }
    }

    /// The table the event belongs to, if any (messages and tombstones belong to none).
    pub fn table(&self) -> Option<&Arc<TableSchema>> {
        match &self.change {
            Change::Row(r) => Some(&r.table),
            Change::Truncate(t) => Some(&t.table),
            Change::Message(_) | Change::Tombstone => None,
        }
    }
}
