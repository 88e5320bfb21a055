//! Change events: what every source emits and every sink receives.

use std::sync::Arc;

use crate::{Lsn, Row, TableId, TableSchema};

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
    /// A transaction BEGIN/END record.
    Transaction,
    /// A heartbeat record.
    Heartbeat,
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
            Op::Transaction => "transaction",
            Op::Heartbeat => "heartbeat",
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
    /// Where the event sits in its transaction, when transaction metadata is on
    /// (`provide.transaction.metadata`): Debezium's `transaction` block.
    pub transaction: Option<TransactionRef>,
    /// The record this event was decoded from, when it arrived already encoded (a
    /// Debezium-format Kafka topic). Encoders that write that same format pass it through
    /// unchanged, so forwarding never alters a record.
    pub original: Option<Arc<OriginalRecord>>,
}

/// An event's place in its transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransactionRef {
    /// Debezium's transaction id at this event, `"<txid>:<the event's lsn>"`.
    pub id: Arc<str>,
    /// 1-based position among all the transaction's events.
    pub total_order: u64,
    /// 1-based position among the transaction's events of the same table.
    pub data_collection_order: u64,
}

/// A transaction boundary record (Debezium's transaction topic): BEGIN carries only the id,
/// END the counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransactionMarker {
    pub id: Arc<str>,
    /// END only: events in the transaction, in total and per table (in first-seen order).
    pub event_count: Option<u64>,
    pub data_collections: Vec<(TableId, u64)>,
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
    /// A transaction starts (only with transaction metadata on).
    TransactionBegin(TransactionMarker),
    /// A transaction ends, with its event counts.
    TransactionEnd(TransactionMarker),
    /// A heartbeat (`heartbeat.interval.ms`): proof of life on an idle stream.
    Heartbeat,
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
            Change::TransactionBegin(_) | Change::TransactionEnd(_) => Op::Transaction,
            Change::Heartbeat => Op::Heartbeat,
        }
    }

    /// The table the event belongs to, if any (messages and tombstones belong to none).
    pub fn table(&self) -> Option<&Arc<TableSchema>> {
        match &self.change {
            Change::Row(r) => Some(&r.table),
            Change::Truncate(t) => Some(&t.table),
            Change::Message(_)
            | Change::Tombstone
            | Change::TransactionBegin(_)
            | Change::TransactionEnd(_)
            | Change::Heartbeat => None,
        }
    }
}
