//! Every metric Rivulet exports: its name, its labels, and the help text Prometheus shows.
//!
//! Every series also carries the `pipeline` label (added globally by the server). Counters end
//! in `_total`, durations are in seconds, sizes in bytes, as Prometheus names go.

use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};

/// Events handed to the sink. Labels: `table` (`schema.table`, or `(none)` for messages and
/// records of no table), `op` (Debezium's code: c, u, d, r, t, m, or tombstone, transaction,
/// heartbeat).
pub const EVENTS: &str = "rivulet_events_total";
/// Transactions (snapshot chunks during a snapshot) delivered.
pub const TRANSACTIONS: &str = "rivulet_transactions_total";
/// Batches handed to the sink (`Sink::write` calls).
pub const BATCHES: &str = "rivulet_batches_total";
/// Events per batch handed to the sink.
pub const BATCH_SIZE: &str = "rivulet_batch_size_events";
/// Bytes of change data read from the source (pgoutput payloads for PostgreSQL).
pub const SOURCE_BYTES: &str = "rivulet_source_bytes_total";
/// Errors, by `kind`: `source` / `sink` / `offsets` / `config`, with `_transient` for those the
/// runtime retries.
pub const ERRORS: &str = "rivulet_errors_total";
/// Reconnects after a lost source or sink connection.
pub const RESTARTS: &str = "rivulet_restarts_total";
/// How long a sink flush (making everything durable at a checkpoint) took.
pub const SINK_FLUSH_SECONDS: &str = "rivulet_sink_flush_seconds";
/// How long a `Sink::write` call took.
pub const SINK_WRITE_SECONDS: &str = "rivulet_sink_write_seconds";
/// Checkpoints recorded in the offsets store.
pub const CHECKPOINTS: &str = "rivulet_checkpoints_total";
/// From a transaction's commit on the source to its last event being handed to the sink.
pub const COMMIT_TO_DELIVERY_SECONDS: &str = "rivulet_commit_to_delivery_seconds";
/// Now minus the commit time of the last event delivered (heartbeats on an idle stream count):
/// how far behind the source the sink is. Computed when scraped.
pub const LAG_SECONDS: &str = "rivulet_lag_seconds";
/// Commit time of the last delivered event, seconds since the Unix epoch.
pub const LAST_EVENT_TIMESTAMP: &str = "rivulet_last_event_timestamp_seconds";
/// The highest source position read (a PostgreSQL LSN as a number).
pub const SOURCE_LSN: &str = "rivulet_source_lsn";
/// The position last confirmed to the source after a checkpoint (the slot's confirmed_flush_lsn).
pub const CONFIRMED_FLUSH_LSN: &str = "rivulet_confirmed_flush_lsn";
/// WAL the server keeps for the slot: `pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)`.
pub const SLOT_RETAINED_WAL: &str = "rivulet_slot_retained_wal_bytes";
/// 1 while the retained WAL is above `warn_retained_wal`.
pub const SLOT_RETAINED_WAL_WARNING: &str = "rivulet_slot_retained_wal_warning";
/// 1 while a process streams from the slot.
pub const SLOT_ACTIVE: &str = "rivulet_slot_active";
/// Snapshot rows delivered, per `table`.
pub const SNAPSHOT_ROWS_DONE: &str = "rivulet_snapshot_rows_done";
/// Snapshot rows expected (the planner's estimate, or the rows done if more), per `table`.
pub const SNAPSHOT_ROWS_TOTAL: &str = "rivulet_snapshot_rows_total";
/// 1 when `/health/ready` answers 200 (snapshotting or streaming).
pub const READY: &str = "rivulet_ready";
/// Heartbeats sent (`heartbeat_query` runs and idle position advances).
pub const HEARTBEATS: &str = "rivulet_heartbeats_total";

/// Registers help text and units with the installed recorder.
pub fn describe() {
    describe_counter!(EVENTS, "Events handed to the sink, by table and op");
    describe_counter!(
        TRANSACTIONS,
        "Transactions (snapshot chunks) delivered to the sink"
    );
    describe_counter!(BATCHES, "Batches handed to the sink");
    describe_histogram!(BATCH_SIZE, "Events per batch handed to the sink");
    describe_counter!(
        SOURCE_BYTES,
        Unit::Bytes,
        "Bytes of change data read from the source"
    );
    describe_counter!(ERRORS, "Errors by kind (_transient ones are retried)");
    describe_counter!(
        RESTARTS,
        "Restarts of the source and sink after a transient error"
    );
    describe_histogram!(
        SINK_FLUSH_SECONDS,
        Unit::Seconds,
        "Time to make the sink durable at a checkpoint"
    );
    describe_histogram!(SINK_WRITE_SECONDS, Unit::Seconds, "Time per sink write call");
    describe_counter!(CHECKPOINTS, "Checkpoints recorded in the offsets store");
    describe_histogram!(
        COMMIT_TO_DELIVERY_SECONDS,
        Unit::Seconds,
        "Source commit to delivery to the sink, per transaction"
    );
    describe_gauge!(
        LAG_SECONDS,
        Unit::Seconds,
        "Now minus the commit time of the last delivered event"
    );
    describe_gauge!(
        LAST_EVENT_TIMESTAMP,
        Unit::Seconds,
        "Commit time of the last delivered event (Unix seconds)"
    );
    describe_gauge!(SOURCE_LSN, "Highest source WAL position read");
    describe_gauge!(
        CONFIRMED_FLUSH_LSN,
        "WAL position confirmed to the source after the last checkpoint"
    );
    describe_gauge!(
        SLOT_RETAINED_WAL,
        Unit::Bytes,
        "WAL the server retains for the replication slot"
    );
    describe_gauge!(
        SLOT_RETAINED_WAL_WARNING,
        "1 while retained WAL exceeds warn_retained_wal"
    );
    describe_gauge!(SLOT_ACTIVE, "1 while a process streams from the slot");
    describe_gauge!(SNAPSHOT_ROWS_DONE, "Snapshot rows delivered, by table");
    describe_gauge!(SNAPSHOT_ROWS_TOTAL, "Snapshot rows expected, by table");
    describe_gauge!(READY, "1 while the pipeline is snapshotting or streaming");
    describe_counter!(
        HEARTBEATS,
        "Heartbeats: idle position advances and heartbeat_query runs"
    );
}

/// A WAL position as a metric value (exact up to 2^53 bytes of WAL: 8 PiB).
pub fn lsn_value(lsn: u64) -> f64 {
    lsn as f64
}
